//! HTTP/1.1 JSON API on tokio + hyper: keep-alive (and pipelining), the
//! requests of all connections served concurrently.
//!
//! Endpoints (all bodies JSON, all responses `application/json`):
//!
//! | Method & path                 | Body                                                     | Success            |
//! |-------------------------------|----------------------------------------------------------|--------------------|
//! | `GET /healthz`                | –                                                        | 200 `{"status":"ok"}` |
//! | `POST /orders`                | `symbol, side, quantity, order_type, price?, client_order_id, idempotency_key?` | 201 order (new) / 200 order (replayed, header `Idempotent-Replayed: true`) |
//! | `GET /orders?status=S`        | – (`S` = `open` \| `all` \| a status; default `all`)     | 200 `{"orders":[...]}` |
//! | `GET /orders/{id}`            | –                                                        | 200 order          |
//! | `POST /orders/{id}/cancel`    | empty or `{}`                                            | 200 order          |
//! | `POST /orders/{id}/transition`| `status` (`submitted`\|`acknowledged`\|`rejected`\|`cancelled`), `reason?` | 200 order |
//! | `POST /orders/{id}/fills`     | `quantity, price`                                        | 200 order          |
//! | `POST /orders/{id}/replace`   | `price?, quantity?` (new total; one required), `idempotency_key?` | 201 new order / 200 same (replayed) |
//! | `POST /marks`                 | `symbol, price`                                          | 200 `{"symbol","price","source":"mark"}` |
//! | `GET /marks/{symbol}`         | – (symbol percent-encoded)                               | 200 `{"symbol","price":n\|null,"source":"mark"\|"last_fill"\|null}` |
//! | `GET /portfolio`              | –                                                        | 200 `{"cash":n,"positions":[{symbol,quantity,avg_entry_price,realized_pnl}]}` |
//! | `POST /shutdown`              | –                                                        | 200 `{"status":"shutting_down"}`, then the server stops accepting |
//!
//! The idempotency key (orders and replaces) comes from header
//! `Idempotency-Key` or field `idempotency_key` (if both are given they must
//! be equal).
//!
//! Errors: `{"error":{"code":C,"field":F?,"message":M}}` with
//! 400 `INVALID_JSON` / `INVALID_FIELD` (unknown fields too, naming the field),
//! 404 `NOT_FOUND` / `ORDER_NOT_FOUND`, 405 `METHOD_NOT_ALLOWED`,
//! 409 `ILLEGAL_TRANSITION` / `IDEMPOTENCY_CONFLICT` / `OVERFILL`,
//! 411 `LENGTH_REQUIRED`, 413 `PAYLOAD_TOO_LARGE`, 500 `JOURNAL_ERROR`,
//! 503 `BUSY`. A head above [`MAX_HEAD`] (431) or bytes that are not HTTP/1.1
//! (400) are refused by hyper itself, with an empty body.
//!
//! Invariants: a 2xx response to a mutating request is written only after the
//! change is fsync'd to the journal (see [`crate::Oms`]; handlers run on
//! tokio's blocking pool, so an fsync never stalls the async workers); no
//! input makes a handler panic; bodies above [`MAX_BODY`] are refused unread.
//!
//! Shutdown: `POST /shutdown` or the future given to [`serve`] (the binary's
//! SIGTERM/SIGINT) stops the accept loop and closes the listener at once, so
//! new connections are refused; requests in flight finish (their connections
//! then close), idle keep-alive connections are closed, for at most
//! [`DRAIN_TIMEOUT`]. SIGKILL is safe too: every acknowledged change was
//! fsync'd before its response, and a torn journal tail is cut on the next
//! start.

use crate::{NewOrder, Oms, OmsError, OrderFilter, OrderStatus, OrderType, Side};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Body, Bytes, Incoming};
use hyper::header::HeaderValue;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use serde_json::{json, Map, Value};
use std::convert::Infallible;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// Largest accepted request body.
pub const MAX_BODY: usize = 64 * 1024;
/// Largest accepted request line + headers.
pub const MAX_HEAD: usize = 16 * 1024;
/// Most connections handled at once.
pub const MAX_CONNECTIONS: usize = 256;
/// How long shutdown waits for in-flight requests.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a connection may take to send a request head (an idle
/// keep-alive connection is closed after this long), and then its body.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// A parsed request.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub method: String,
    /// Path without the query string.
    pub path: String,
    pub query: Vec<(String, String)>,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A response: status, JSON body, extra headers.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub body: Value,
    pub headers: Vec<(String, String)>,
}

impl Response {
    fn json(status: u16, body: Value) -> Self {
        Response {
            status,
            body,
            headers: Vec::new(),
        }
    }

    fn error(status: u16, code: &str, field: Option<&str>, message: impl Into<String>) -> Self {
        let mut e = Map::new();
        e.insert("code".into(), Value::from(code));
        if let Some(f) = field {
            e.insert("field".into(), Value::from(f));
        }
        e.insert("message".into(), Value::from(message.into()));
        Response::json(status, json!({ "error": e }))
    }

    fn field(field: &str, message: impl Into<String>) -> Self {
        Response::error(400, "INVALID_FIELD", Some(field), message)
    }
}

impl From<OmsError> for Response {
    fn from(e: OmsError) -> Self {
        let status = match &e {
            OmsError::InvalidField { .. } => 400,
            OmsError::OrderNotFound(_) => 404,
            OmsError::IllegalTransition { .. }
            | OmsError::IdempotencyConflict { .. }
            | OmsError::Overfill { .. }
            | OmsError::IdempotencyKeyLost { .. } => 409,
            OmsError::Journal(_) | OmsError::JournalCorrupt(_) => 500,
        };
        let field = match &e {
            OmsError::InvalidField { field, .. } => Some(field.as_str()),
            _ => None,
        };
        Response::error(status, e.code(), field, e.to_string())
    }
}

/// Parse the body as a JSON object whose keys are all in `allowed`.
/// An empty body is an empty object.
fn body_object(req: &Request, allowed: &[&str]) -> Result<Map<String, Value>, Response> {
    if req.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    let v: Value = serde_json::from_slice(&req.body).map_err(|e| {
        Response::error(
            400,
            "INVALID_JSON",
            None,
            format!("body is not valid JSON: {e}"),
        )
    })?;
    let Value::Object(m) = v else {
        return Err(Response::error(
            400,
            "INVALID_JSON",
            None,
            "body must be a JSON object",
        ));
    };
    if let Some(k) = m.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(Response::field(
            k,
            format!("unknown field; allowed: {}", allowed.join(", ")),
        ));
    }
    Ok(m)
}

fn req_str(m: &Map<String, Value>, f: &str) -> Result<String, Response> {
    match m.get(f) {
        None | Some(Value::Null) => Err(Response::field(f, "is required")),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(Response::field(f, "must be a string")),
    }
}

fn opt_str(m: &Map<String, Value>, f: &str) -> Result<Option<String>, Response> {
    match m.get(f) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(Response::field(f, "must be a string")),
    }
}

fn opt_num(m: &Map<String, Value>, f: &str) -> Result<Option<f64>, Response> {
    match m.get(f) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_f64()
            .filter(|x| x.is_finite())
            .map(Some)
            .ok_or_else(|| Response::field(f, "must be a finite number")),
        Some(_) => Err(Response::field(f, "must be a number")),
    }
}

fn req_num(m: &Map<String, Value>, f: &str) -> Result<f64, Response> {
    opt_num(m, f)?.ok_or_else(|| Response::field(f, "is required"))
}

fn order_json(o: &crate::Order) -> Value {
    serde_json::to_value(o).unwrap_or(Value::Null)
}

fn post_order(oms: &Oms, req: &Request) -> Result<Response, Response> {
    let m = body_object(
        req,
        &[
            "symbol",
            "side",
            "quantity",
            "order_type",
            "price",
            "client_order_id",
            "idempotency_key",
        ],
    )?;
    let symbol = req_str(&m, "symbol")?;
    let side = match req_str(&m, "side")?.as_str() {
        "Buy" => Side::Buy,
        "Sell" => Side::Sell,
        _ => return Err(Response::field("side", "must be \"Buy\" or \"Sell\"")),
    };
    let quantity = req_num(&m, "quantity")?;
    let order_type = match req_str(&m, "order_type")?.as_str() {
        "Limit" => OrderType::Limit,
        "Market" => OrderType::Market,
        _ => {
            return Err(Response::field(
                "order_type",
                "must be \"Limit\" or \"Market\"",
            ))
        }
    };
    let price = opt_num(&m, "price")?;
    let client_order_id = req_str(&m, "client_order_id")?;
    let key = idempotency_key(req, &m)?;
    let s = oms.submit(
        &key,
        NewOrder {
            symbol,
            side,
            quantity,
            order_type,
            price,
            client_order_id,
        },
    )?;
    Ok(created_or_replayed(&s))
}

/// From header `Idempotency-Key` or field `idempotency_key` (equal if both).
fn idempotency_key(req: &Request, m: &Map<String, Value>) -> Result<String, Response> {
    match (
        req.header("idempotency-key"),
        opt_str(m, "idempotency_key")?,
    ) {
        (Some(h), Some(f)) if h != f => Err(Response::field(
            "idempotency_key",
            "differs from the Idempotency-Key header",
        )),
        (Some(h), _) => Ok(h.to_string()),
        (None, Some(f)) => Ok(f),
        (None, None) => Err(Response::field(
            "idempotency_key",
            "is required (header Idempotency-Key or field idempotency_key)",
        )),
    }
}

fn created_or_replayed(s: &crate::Submitted) -> Response {
    let mut r = Response::json(if s.created { 201 } else { 200 }, order_json(&s.order));
    if !s.created {
        r.headers
            .push(("Idempotent-Replayed".into(), "true".into()));
    }
    r
}

fn replace(oms: &Oms, id: &str, req: &Request) -> Result<Response, Response> {
    let m = body_object(req, &["price", "quantity", "idempotency_key"])?;
    let key = idempotency_key(req, &m)?;
    let s = oms.replace(&key, id, opt_num(&m, "price")?, opt_num(&m, "quantity")?)?;
    Ok(created_or_replayed(&s))
}

fn post_mark(oms: &Oms, req: &Request) -> Result<Response, Response> {
    let m = body_object(req, &["symbol", "price"])?;
    let symbol = req_str(&m, "symbol")?;
    let price = req_num(&m, "price")?;
    oms.mark(&symbol, price)?;
    Ok(Response::json(
        200,
        json!({ "symbol": symbol, "price": price, "source": "mark" }),
    ))
}

fn get_mark(oms: &Oms, raw_symbol: &str) -> Result<Response, Response> {
    let symbol = percent_decode(raw_symbol)
        .ok_or_else(|| Response::field("symbol", "is not valid percent-encoded UTF-8"))?;
    crate::order::validate_symbol(&symbol)?;
    let (price, source) = match oms.reference_price(&symbol) {
        Some((p, s)) => (
            Value::from(p),
            serde_json::to_value(s).unwrap_or(Value::Null),
        ),
        None => (Value::Null, Value::Null),
    };
    Ok(Response::json(
        200,
        json!({ "symbol": symbol, "price": price, "source": source }),
    ))
}

/// Decode `%XX` escapes (a symbol like `BTC/USDT` arrives as `BTC%2FUSDT`).
fn percent_decode(s: &str) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hex = [bytes.next()?, bytes.next()?];
            out.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
        } else {
            out.push(b);
        }
    }
    String::from_utf8(out).ok()
}

fn list_orders(oms: &Oms, req: &Request) -> Result<Response, Response> {
    let mut filter = OrderFilter::All;
    for (k, v) in &req.query {
        if k != "status" {
            return Err(Response::field(
                k,
                "unknown query parameter; allowed: status",
            ));
        }
        filter = match v.as_str() {
            "open" => OrderFilter::Open,
            "all" => OrderFilter::All,
            s => OrderFilter::Status(OrderStatus::parse(s).ok_or_else(|| {
                Response::field("status", "must be open, all, new, submitted, acknowledged, partially_filled, filled, cancelled or rejected")
            })?),
        };
    }
    let orders: Vec<Value> = oms.orders(filter).iter().map(order_json).collect();
    Ok(Response::json(200, json!({ "orders": orders })))
}

fn transition(oms: &Oms, id: &str, req: &Request) -> Result<Response, Response> {
    let m = body_object(req, &["status", "reason"])?;
    let to = match req_str(&m, "status")?.as_str() {
        "submitted" => OrderStatus::Submitted,
        "acknowledged" => OrderStatus::Acknowledged,
        "rejected" => OrderStatus::Rejected,
        "cancelled" => OrderStatus::Cancelled,
        _ => {
            return Err(Response::field(
                "status",
                "must be submitted, acknowledged, rejected or cancelled",
            ))
        }
    };
    let reason = opt_str(&m, "reason")?;
    Ok(Response::json(
        200,
        order_json(&oms.transition(id, to, reason)?),
    ))
}

fn fill(oms: &Oms, id: &str, req: &Request) -> Result<Response, Response> {
    let m = body_object(req, &["quantity", "price"])?;
    let q = req_num(&m, "quantity")?;
    let p = req_num(&m, "price")?;
    Ok(Response::json(200, order_json(&oms.fill(id, q, p)?)))
}

/// Route one request. `shutdown` is set by `POST /shutdown`.
pub fn handle(oms: &Oms, req: &Request, shutdown: &AtomicBool) -> Response {
    let segs: Vec<&str> = req.path.trim_start_matches('/').split('/').collect();
    let m = req.method.as_str();
    let not_allowed = || {
        Response::error(
            405,
            "METHOD_NOT_ALLOWED",
            None,
            format!("{m} not allowed on {}", req.path),
        )
    };
    let res = match segs.as_slice() {
        ["healthz"] => match m {
            "GET" => Ok(Response::json(200, json!({ "status": "ok" }))),
            _ => Err(not_allowed()),
        },
        ["orders"] => match m {
            "POST" => post_order(oms, req),
            "GET" => list_orders(oms, req),
            _ => Err(not_allowed()),
        },
        ["orders", id] => match m {
            "GET" => oms
                .order(id)
                .map(|o| Response::json(200, order_json(&o)))
                .ok_or_else(|| OmsError::OrderNotFound(id.to_string()).into()),
            _ => Err(not_allowed()),
        },
        ["orders", id, "cancel"] => match m {
            "POST" => body_object(req, &[])
                .and_then(|_| Ok(Response::json(200, order_json(&oms.cancel(id)?)))),
            _ => Err(not_allowed()),
        },
        ["orders", id, "transition"] => match m {
            "POST" => transition(oms, id, req),
            _ => Err(not_allowed()),
        },
        ["orders", id, "fills"] => match m {
            "POST" => fill(oms, id, req),
            _ => Err(not_allowed()),
        },
        ["orders", id, "replace"] => match m {
            "POST" => replace(oms, id, req),
            _ => Err(not_allowed()),
        },
        ["marks"] => match m {
            "POST" => post_mark(oms, req),
            _ => Err(not_allowed()),
        },
        ["marks", symbol] => match m {
            "GET" => get_mark(oms, symbol),
            _ => Err(not_allowed()),
        },
        ["portfolio"] => match m {
            "GET" => Ok(Response::json(
                200,
                serde_json::to_value(oms.portfolio()).unwrap_or(Value::Null),
            )),
            _ => Err(not_allowed()),
        },
        ["shutdown"] => match m {
            "POST" => {
                shutdown.store(true, Ordering::SeqCst);
                Ok(Response::json(200, json!({ "status": "shutting_down" })))
            }
            _ => Err(not_allowed()),
        },
        _ => Err(Response::error(
            404,
            "NOT_FOUND",
            None,
            format!("no route for {}", req.path),
        )),
    };
    res.unwrap_or_else(|e| e)
}

/// Everything a request needs besides the OMS: the shutdown flag set by
/// `POST /shutdown` and the wake-up of the accept loop that goes with it.
#[derive(Debug, Default)]
struct Stop {
    requested: AtomicBool,
    wake: Notify,
}

impl Stop {
    fn request(&self) {
        self.requested.store(true, Ordering::SeqCst);
        // notify_one keeps a permit if the accept loop is not waiting right now.
        self.wake.notify_one();
    }
}

fn refusal(status: u16, code: &str, message: String) -> Response {
    Response::error(status, code, None, message)
}

/// Turn a hyper request into a [`Request`], reading the body (at most
/// [`MAX_BODY`] bytes; a chunked body is refused unread).
async fn read_request(req: hyper::Request<Incoming>) -> Result<Request, Response> {
    let (parts, body) = req.into_parts();
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).trim().to_string(),
            )
        })
        .collect();
    if parts.headers.contains_key(hyper::header::TRANSFER_ENCODING) {
        return Err(refusal(
            411,
            "LENGTH_REQUIRED",
            "chunked bodies are not supported; send Content-Length".into(),
        ));
    }
    let declared = body.size_hint().upper().unwrap_or(0);
    if declared > MAX_BODY as u64 {
        return Err(refusal(
            413,
            "PAYLOAD_TOO_LARGE",
            format!("body exceeds {MAX_BODY} bytes"),
        ));
    }
    let body = tokio::time::timeout(READ_TIMEOUT, Limited::new(body, MAX_BODY).collect())
        .await
        .map_err(|_| {
            refusal(
                400,
                "BAD_REQUEST",
                format!("body not received within {READ_TIMEOUT:?}"),
            )
        })?
        .map_err(|e| refusal(400, "BAD_REQUEST", format!("cannot read body: {e}")))?
        .to_bytes()
        .to_vec();
    let query = parts
        .uri
        .query()
        .unwrap_or("")
        .split('&')
        .filter(|s| !s.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (k.to_string(), v.to_string())
        })
        .collect();
    Ok(Request {
        method: parts.method.as_str().to_string(),
        path: parts.uri.path().trim_end_matches('/').to_string(),
        query,
        headers,
        body,
    })
}

fn to_hyper(r: Response) -> hyper::Response<Full<Bytes>> {
    let body = serde_json::to_vec(&r.body).unwrap_or_else(|_| b"null".to_vec());
    let mut out = hyper::Response::new(Full::new(Bytes::from(body)));
    *out.status_mut() =
        hyper::StatusCode::from_u16(r.status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    let headers = out.headers_mut();
    headers.insert(
        hyper::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    for (k, v) in &r.headers {
        if let (Ok(k), Ok(v)) = (
            hyper::header::HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            headers.insert(k, v);
        }
    }
    out
}

/// Answer one request. The handler runs on the blocking pool: it takes the
/// OMS lock and fsyncs the journal, which must not stall the async workers.
async fn respond(
    oms: Arc<Oms>,
    stop: Arc<Stop>,
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    let resp = match read_request(req).await {
        Ok(req) => {
            let stop2 = Arc::clone(&stop);
            tokio::task::spawn_blocking(move || handle(&oms, &req, &stop2.requested))
                .await
                .unwrap_or_else(|e| {
                    refusal(
                        500,
                        "INTERNAL_ERROR",
                        format!("request handler failed: {e}"),
                    )
                })
        }
        Err(r) => r,
    };
    if stop.requested.load(Ordering::SeqCst) {
        stop.request();
    }
    Ok(to_hyper(resp))
}

/// Counts a connection as active until dropped.
#[derive(Debug)]
struct Active(Arc<AtomicUsize>);

impl Drop for Active {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Answer 503 `BUSY` on a connection over the limit and close it.
async fn refuse_busy(mut stream: TcpStream) {
    let body = serde_json::to_vec(&refusal(503, "BUSY", "too many connections".into()).body)
        .unwrap_or_default();
    let head = format!(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(&body).await;
    let _ = stream.shutdown().await;
}

/// Serve HTTP/1.1 (keep-alive, requests of all connections concurrently)
/// until `stop` completes (the binary passes SIGTERM/SIGINT) or `POST
/// /shutdown`; then close the listener at once (new connections are refused),
/// let in-flight requests finish and idle connections close, for at most
/// [`DRAIN_TIMEOUT`]. At most [`MAX_CONNECTIONS`] connections at once; one
/// more is answered 503 `BUSY`.
pub async fn serve(
    listener: TcpListener,
    oms: Arc<Oms>,
    stop: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let shutdown = Arc::new(Stop::default());
    let graceful = GracefulShutdown::new();
    let active = Arc::new(AtomicUsize::new(0));
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .max_buf_size(MAX_HEAD.max(8192))
        .header_read_timeout(READ_TIMEOUT);
    tokio::pin!(stop);
    loop {
        let accepted = tokio::select! {
            () = &mut stop => break,
            () = shutdown.wake.notified() => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            // Out of descriptors and the like: back off instead of spinning.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        if active.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
            active.fetch_sub(1, Ordering::SeqCst);
            tokio::spawn(refuse_busy(stream));
            continue;
        }
        let guard = Active(Arc::clone(&active));
        let _ = stream.set_nodelay(true);
        let (oms, stop) = (Arc::clone(&oms), Arc::clone(&shutdown));
        let service = service_fn(move |req| respond(Arc::clone(&oms), Arc::clone(&stop), req));
        let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            let _ = conn.await;
            drop(guard);
        });
    }
    // Refuse new connections right away instead of leaving them in the backlog.
    drop(listener);
    // In-flight requests finish (their changes are durable either way); idle
    // keep-alive connections are closed.
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown()).await;
    Ok(())
}
