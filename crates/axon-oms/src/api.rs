//! HTTP/1.1 JSON API over `std::net` (no extra crates).
//!
//! Endpoints (all bodies JSON, all responses `application/json`,
//! `Connection: close` — one request per connection):
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
//! 411 `LENGTH_REQUIRED`, 413 `PAYLOAD_TOO_LARGE`, 431 `HEADERS_TOO_LARGE`,
//! 500 `JOURNAL_ERROR`, 503 `BUSY`.
//!
//! Invariants: a 2xx response to a mutating request is written only after the
//! change is fsync'd to the journal (see [`crate::Oms`]); no input makes a
//! handler panic; bodies above [`MAX_BODY`] are refused unread.
//!
//! Shutdown: `POST /shutdown` (or the caller setting the flag, e.g. the binary
//! on SIGTERM) stops the accept loop, closes the listener so new connections
//! are refused, and waits up to [`DRAIN_TIMEOUT`] for in-flight requests.
//! SIGKILL is safe too: every acknowledged change was fsync'd before its
//! response, and a torn journal tail is truncated on the next start.

use crate::{NewOrder, Oms, OmsError, OrderFilter, OrderStatus, OrderType, Side};
use serde_json::{json, Map, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Largest accepted request body.
pub const MAX_BODY: usize = 64 * 1024;
/// Largest accepted request line + headers.
pub const MAX_HEAD: usize = 16 * 1024;
/// Most connections handled at once.
pub const MAX_CONNECTIONS: usize = 256;
/// How long shutdown waits for in-flight requests.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

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

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        411 => "Length Required",
        413 => "Payload Too Large",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        _ => "Unknown",
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

/// Read one request from `stream`. `Err` carries the response to send.
pub fn read_request(stream: &mut impl Read) -> Result<Request, Response> {
    let mut reader = BufReader::new(stream.take((MAX_HEAD + MAX_BODY + 1) as u64));
    let mut head_len = 0usize;
    let mut line = String::new();
    let mut read_line = |reader: &mut BufReader<_>, line: &mut String| -> Result<(), Response> {
        line.clear();
        let n = reader
            .by_ref()
            .take((MAX_HEAD - head_len.min(MAX_HEAD) + 1) as u64)
            .read_line(line)
            .map_err(|e| {
                Response::error(
                    400,
                    "BAD_REQUEST",
                    None,
                    format!("cannot read request: {e}"),
                )
            })?;
        head_len += n;
        if head_len > MAX_HEAD {
            return Err(Response::error(
                431,
                "HEADERS_TOO_LARGE",
                None,
                format!("request head exceeds {MAX_HEAD} bytes"),
            ));
        }
        if n == 0 {
            return Err(Response::error(
                400,
                "BAD_REQUEST",
                None,
                "unexpected end of request",
            ));
        }
        Ok(())
    };
    read_line(&mut reader, &mut line)?;
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(Response::error(
            400,
            "BAD_REQUEST",
            None,
            "malformed request line",
        ));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(Response::error(
            400,
            "BAD_REQUEST",
            None,
            "only HTTP/1.x is supported",
        ));
    }
    let (path, qs) = target.split_once('?').unwrap_or((target, ""));
    let mut req = Request {
        method: method.to_string(),
        path: path.trim_end_matches('/').to_string(),
        query: qs
            .split('&')
            .filter(|s| !s.is_empty())
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                (k.to_string(), v.to_string())
            })
            .collect(),
        ..Request::default()
    };
    loop {
        read_line(&mut reader, &mut line)?;
        let l = line.trim_end_matches(['\r', '\n']);
        if l.is_empty() {
            break;
        }
        let Some((k, v)) = l.split_once(':') else {
            return Err(Response::error(
                400,
                "BAD_REQUEST",
                None,
                "malformed header line",
            ));
        };
        req.headers
            .push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
    }
    if req.header("transfer-encoding").is_some() {
        return Err(Response::error(
            411,
            "LENGTH_REQUIRED",
            None,
            "chunked bodies are not supported; send Content-Length",
        ));
    }
    let len = match req.header("content-length") {
        None => 0,
        Some(v) => v
            .parse::<usize>()
            .map_err(|_| Response::error(400, "BAD_REQUEST", None, "invalid Content-Length"))?,
    };
    if len > MAX_BODY {
        return Err(Response::error(
            413,
            "PAYLOAD_TOO_LARGE",
            None,
            format!("body exceeds {MAX_BODY} bytes"),
        ));
    }
    let mut body = vec![0u8; len];
    reader
        .read_exact(&mut body)
        .map_err(|e| Response::error(400, "BAD_REQUEST", None, format!("cannot read body: {e}")))?;
    req.body = body;
    Ok(req)
}

/// Serialize a response.
pub fn write_response(stream: &mut impl Write, r: &Response) -> std::io::Result<()> {
    let body = serde_json::to_vec(&r.body).unwrap_or_else(|_| b"null".to_vec());
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        r.status,
        reason(r.status),
        body.len()
    );
    for (k, v) in &r.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(&body)?;
    stream.flush()
}

fn serve_conn(oms: &Oms, mut stream: TcpStream, shutdown: &AtomicBool) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
    let resp = match read_request(&mut stream) {
        Ok(req) => handle(oms, &req, shutdown),
        Err(r) => r,
    };
    let _ = write_response(&mut stream, &resp);
    let _ = stream.shutdown(std::net::Shutdown::Write);
}

/// Serve until `POST /shutdown` (or `shutdown` is set by the caller, e.g. on
/// SIGTERM); then refuse new connections and drain in-flight ones.
/// Each connection gets a thread; at most [`MAX_CONNECTIONS`] at once.
pub fn serve(
    listener: TcpListener,
    oms: Arc<Oms>,
    shutdown: Arc<AtomicBool>,
) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let active = Arc::new(AtomicUsize::new(0));
    while !shutdown.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((mut stream, _)) => {
                if active.load(Ordering::SeqCst) >= MAX_CONNECTIONS {
                    let _ = stream.set_nonblocking(false);
                    let _ = write_response(
                        &mut stream,
                        &Response::error(503, "BUSY", None, "too many connections"),
                    );
                    continue;
                }
                active.fetch_add(1, Ordering::SeqCst);
                let (oms2, shutdown2, active2) =
                    (Arc::clone(&oms), Arc::clone(&shutdown), Arc::clone(&active));
                let spawned = std::thread::Builder::new()
                    .name("axon-oms-conn".into())
                    .spawn(move || {
                        serve_conn(&oms2, stream, &shutdown2);
                        active2.fetch_sub(1, Ordering::SeqCst);
                    });
                if spawned.is_err() {
                    active.fetch_sub(1, Ordering::SeqCst);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(10))
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
    // Refuse new connections right away instead of leaving them in the backlog.
    drop(listener);
    // Let in-flight requests finish (their changes are durable either way).
    let deadline = Instant::now() + DRAIN_TIMEOUT;
    while active.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(())
}
