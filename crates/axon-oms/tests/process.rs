//! Tests against the real `axon-oms` binary over HTTP (hand-written HTTP/1.1
//! over `std::net::TcpStream`): kill -9 durability, concurrent idempotent
//! submits, request validation, `POST /shutdown`, SIGTERM drain, replace and
//! marks.
mod common;

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::Duration;

struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(journal: &Path) -> Server {
    let (child, port) = common::spawn_oms(journal);
    Server { child, port }
}

/// One request; returns (status, headers (lower-case), JSON body).
fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> std::io::Result<(u16, String, Value)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let body = body.unwrap_or("");
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes())?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp)?;
    let text = String::from_utf8_lossy(&resp).to_string();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "no header end"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "bad status line"))?;
    let v = serde_json::from_str(body)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    Ok((status, head.to_ascii_lowercase(), v))
}

fn ok(port: u16, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
    let (s, _, v) = http(port, method, path, &[], body).expect("request");
    (s, v)
}

fn order_body(qty: f64) -> String {
    json!({"symbol":"BTC-USD","side":"Buy","quantity":qty,"order_type":"Limit","price":100.0,"client_order_id":"cli"}).to_string()
}

fn submit(port: u16, key: &str, qty: f64) -> std::io::Result<(u16, Value)> {
    http(
        port,
        "POST",
        "/orders",
        &[("Idempotency-Key", key)],
        Some(&order_body(qty)),
    )
    .map(|(s, _, v)| (s, v))
}

#[test]
fn kill_9_loses_no_acknowledged_order() {
    let dir = common::TempDir::new("kill9");
    let journal = dir.join("journal.bin");
    let srv = start(&journal);
    let port = srv.port;

    // Sequential history with transitions and fills.
    let mut ids = Vec::new();
    for i in 0..10 {
        let (s, o) = submit(port, &format!("seq-{i}"), 2.0).expect("submit");
        assert_eq!(s, 201, "{o}");
        ids.push(o["id"].as_str().expect("id").to_string());
    }
    for id in &ids[..6] {
        assert_eq!(
            ok(
                port,
                "POST",
                &format!("/orders/{id}/transition"),
                Some(r#"{"status":"submitted"}"#)
            )
            .0,
            200
        );
        assert_eq!(
            ok(
                port,
                "POST",
                &format!("/orders/{id}/transition"),
                Some(r#"{"status":"acknowledged"}"#)
            )
            .0,
            200
        );
    }
    assert_eq!(
        ok(
            port,
            "POST",
            &format!("/orders/{}/fills", ids[0]),
            Some(r#"{"quantity":2,"price":99.5}"#)
        )
        .0,
        200
    );
    assert_eq!(
        ok(
            port,
            "POST",
            &format!("/orders/{}/fills", ids[1]),
            Some(r#"{"quantity":0.5,"price":100}"#)
        )
        .0,
        200
    );
    assert_eq!(
        ok(port, "POST", &format!("/orders/{}/cancel", ids[2]), None).0,
        200
    );
    let (_, before_orders) = ok(port, "GET", "/orders", None);
    let (_, before_portfolio) = ok(port, "GET", "/portfolio", None);

    // Concurrent writers while we kill -9.
    let acked: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let writers: Vec<_> = (0..4)
        .map(|t| {
            let acked = Arc::clone(&acked);
            std::thread::spawn(move || {
                for i in 0.. {
                    let key = format!("w{t}-{i}");
                    match submit(port, &key, 1.0) {
                        Ok((201, o)) => acked
                            .lock()
                            .expect("lock")
                            .push((key, o["id"].as_str().unwrap_or("").to_string())),
                        _ => break,
                    }
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    drop(srv); // Child::kill = SIGKILL on Unix
    for w in writers {
        w.join().expect("writer");
    }
    let acked = acked.lock().expect("lock").clone();
    assert!(
        !acked.is_empty(),
        "writers got no acknowledgement before the kill"
    );

    let srv = start(&journal);
    let port = srv.port;
    let (_, all) = ok(port, "GET", "/orders", None);
    let all = all["orders"].as_array().expect("orders").clone();
    // Everything acknowledged before the kill is there, unchanged where it was final.
    let before = before_orders["orders"].as_array().expect("orders");
    assert_eq!(&all[..before.len()], &before[..]);
    for (key, id) in &acked {
        let (s, o) = ok(port, "GET", &format!("/orders/{id}"), None);
        assert_eq!(s, 200, "acknowledged order {id} lost");
        assert_eq!(o["idempotency_key"], json!(key));
        // and the key still maps to it
        let (s, again) = submit(port, key, 1.0).expect("resubmit");
        assert_eq!((s, again["id"].as_str()), (200, Some(id.as_str())));
    }
    assert_eq!(ok(port, "GET", "/portfolio", None).1, before_portfolio);
    let (_, open) = ok(port, "GET", "/orders?status=open", None);
    assert!(open["orders"]
        .as_array()
        .expect("orders")
        .iter()
        .all(|o| o["status"] != "filled" && o["status"] != "cancelled"));
}

#[test]
fn fifty_concurrent_submits_one_key_make_one_order() {
    let dir = common::TempDir::new("conc");
    let journal = dir.join("journal.bin");
    let srv = start(&journal);
    let port = srv.port;
    let barrier = Arc::new(std::sync::Barrier::new(50));
    let handles: Vec<_> = (0..50)
        .map(|_| {
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                submit(port, "one-key", 3.0).expect("submit")
            })
        })
        .collect();
    let results: Vec<(u16, Value)> = handles
        .into_iter()
        .map(|h| h.join().expect("join"))
        .collect();
    let created = results.iter().filter(|(s, _)| *s == 201).count();
    let replayed = results.iter().filter(|(s, _)| *s == 200).count();
    assert_eq!((created, replayed), (1, 49));
    assert!(results.iter().all(|(_, o)| o["id"] == results[0].1["id"]));
    let (_, all) = ok(port, "GET", "/orders", None);
    assert_eq!(all["orders"].as_array().map(Vec::len), Some(1));
    // same key, different fields -> 409
    let (s, e) = submit(port, "one-key", 4.0).expect("conflict");
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (409, Some("IDEMPOTENCY_CONFLICT"))
    );
}

#[test]
fn validation_errors_name_the_field_and_shutdown_exits() {
    let dir = common::TempDir::new("valid");
    let journal = dir.join("journal.bin");
    let mut srv = start(&journal);
    let port = srv.port;
    assert_eq!(
        ok(port, "GET", "/healthz", None),
        (200, json!({"status":"ok"}))
    );

    let field_err = |headers: &[(&str, &str)], body: &str| {
        let (s, _, v) = http(port, "POST", "/orders", headers, Some(body)).expect("req");
        assert_eq!(s, 400, "{v}");
        assert_eq!(v["error"]["code"], "INVALID_FIELD", "{v}");
        v["error"]["field"].as_str().unwrap_or("").to_string()
    };
    let k = [("Idempotency-Key", "v1")];
    assert_eq!(
        field_err(
            &k,
            r#"{"symbol":"X","side":"Buy","quantity":-1,"order_type":"Limit","price":1,"client_order_id":"c"}"#
        ),
        "quantity"
    );
    assert_eq!(
        field_err(
            &k,
            r#"{"symbol":"X","side":"Buy","quantity":1,"order_type":"Limit","client_order_id":"c"}"#
        ),
        "price"
    );
    assert_eq!(
        field_err(
            &k,
            r#"{"symbol":"X","side":"Hold","quantity":1,"order_type":"Limit","price":1,"client_order_id":"c"}"#
        ),
        "side"
    );
    assert_eq!(
        field_err(
            &k,
            r#"{"symbol":"X","side":"Buy","quantity":1,"order_type":"Limit","price":1,"client_order_id":"c","extra":true}"#
        ),
        "extra"
    );
    assert_eq!(
        field_err(
            &[],
            r#"{"symbol":"X","side":"Buy","quantity":1,"order_type":"Limit","price":1,"client_order_id":"c"}"#
        ),
        "idempotency_key"
    );
    // key in the body works
    let (s, _, o) = http(port, "POST", "/orders", &[], Some(r#"{"symbol":"X","side":"Sell","quantity":1,"order_type":"Market","client_order_id":"c","idempotency_key":"body-key"}"#)).expect("req");
    assert_eq!(s, 201, "{o}");
    let id = o["id"].as_str().expect("id").to_string();
    let (s, e) = ok(
        port,
        "POST",
        &format!("/orders/{id}/fills"),
        Some(r#"{"quantity":1,"price":1}"#),
    );
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (409, Some("ILLEGAL_TRANSITION"))
    );
    let (s, e) = ok(
        port,
        "POST",
        &format!("/orders/{id}/transition"),
        Some(r#"{"status":"filled"}"#),
    );
    assert_eq!((s, e["error"]["field"].as_str()), (400, Some("status")));
    let (s, e) = ok(port, "POST", "/orders", Some("{not json"));
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (400, Some("INVALID_JSON"))
    );
    let (s, _) = ok(port, "GET", "/orders/ord-99999999", None);
    assert_eq!(s, 404);
    let big = "x".repeat(70 * 1024);
    let (s, e) = ok(port, "POST", "/orders", Some(&big));
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (413, Some("PAYLOAD_TOO_LARGE"))
    );

    assert_eq!(ok(port, "POST", "/shutdown", None).0, 200);
    let exited = wait_exit(&mut srv.child, Duration::from_secs(3));
    assert!(
        exited.is_some_and(|s| s.success()),
        "server did not exit cleanly: {exited:?}"
    );
}

fn wait_exit(child: &mut Child, within: Duration) -> Option<std::process::ExitStatus> {
    let deadline = std::time::Instant::now() + within;
    while std::time::Instant::now() < deadline {
        if let Ok(Some(st)) = child.try_wait() {
            return Some(st);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}

#[test]
fn sigterm_refuses_new_connections_finishes_in_flight_and_exits_0() {
    let dir = common::TempDir::new("sigterm");
    let journal = dir.join("journal.bin");
    let mut srv = start(&journal);
    let port = srv.port;
    assert_eq!(submit(port, "before", 1.0).expect("submit").0, 201);

    // An in-flight request: head and half the body sent, the rest after SIGTERM.
    let body = order_body(2.0);
    let (first, rest) = body.split_at(body.len() / 2);
    let mut inflight = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    inflight
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        inflight,
        "POST /orders HTTP/1.1\r\nHost: localhost\r\nIdempotency-Key: inflight\r\nContent-Length: {}\r\n\r\n{first}",
        body.len()
    )
    .expect("write head");
    // Once /healthz answers, the accept loop has handed the in-flight connection to a thread.
    assert_eq!(ok(port, "GET", "/healthz", None).0, 200);

    let status = Command::new("kill")
        .args(["-TERM", &srv.child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    let mut refused = false;
    for _ in 0..200 {
        if TcpStream::connect(("127.0.0.1", port)).is_err() {
            refused = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(refused, "new connections still accepted after SIGTERM");
    assert!(
        srv.child.try_wait().expect("try_wait").is_none(),
        "exited before the in-flight request finished"
    );

    inflight.write_all(rest.as_bytes()).expect("write rest");
    let mut resp = String::new();
    inflight.read_to_string(&mut resp).expect("read response");
    assert!(resp.starts_with("HTTP/1.1 201 "), "{resp}");

    let exited = wait_exit(&mut srv.child, Duration::from_secs(5));
    assert!(
        exited.is_some_and(|s| s.code() == Some(0)),
        "no clean exit after SIGTERM: {exited:?}"
    );
    drop(srv);

    let srv = start(&journal);
    let (_, all) = ok(srv.port, "GET", "/orders", None);
    let keys: Vec<&str> = all["orders"]
        .as_array()
        .expect("orders")
        .iter()
        .filter_map(|o| o["idempotency_key"].as_str())
        .collect();
    assert_eq!(keys, ["before", "inflight"]);
}

#[test]
fn replace_and_marks_over_http() {
    let dir = common::TempDir::new("replace");
    let journal = dir.join("journal.bin");
    let srv = start(&journal);
    let port = srv.port;
    let (_, o) = submit(port, "k", 2.0).expect("submit");
    let id = o["id"].as_str().expect("id").to_string();
    let path = format!("/orders/{id}/replace");
    let key = [("Idempotency-Key", "rep-1")];
    let (s, h, new) = http(
        port,
        "POST",
        &path,
        &key,
        Some(r#"{"price":99.5,"quantity":3}"#),
    )
    .expect("replace");
    assert_eq!(s, 201, "{new}");
    assert!(!h.contains("idempotent-replayed"));
    assert_eq!(new["replaces"], json!(id));
    assert_eq!(
        (new["price"].as_f64(), new["quantity"].as_f64()),
        (Some(99.5), Some(3.0))
    );
    let (_, old) = ok(port, "GET", &format!("/orders/{id}"), None);
    assert_eq!(old["status"], "cancelled");
    assert_eq!(old["replaced_by"], new["id"]);
    // a retry with the same key replays; without a key it is refused
    let (s, h, again) = http(
        port,
        "POST",
        &path,
        &key,
        Some(r#"{"price":99.5,"quantity":3}"#),
    )
    .expect("retry");
    assert_eq!((s, &again), (200, &new));
    assert!(h.contains("idempotent-replayed: true"));
    let (s, e) = ok(port, "POST", &path, Some(r#"{"price":98}"#));
    assert_eq!(
        (s, e["error"]["field"].as_str()),
        (400, Some("idempotency_key"))
    );
    let (s, e) = http(
        port,
        "POST",
        &path,
        &[("Idempotency-Key", "rep-2")],
        Some(r#"{"price":98}"#),
    )
    .map(|(s, _, v)| (s, v))
    .expect("illegal");
    assert_eq!(
        (s, e["error"]["code"].as_str()),
        (409, Some("ILLEGAL_TRANSITION"))
    );
    let (_, all) = ok(port, "GET", "/orders", None);
    assert_eq!(all["orders"].as_array().map(Vec::len), Some(2));

    // marks: none, then the mark; a symbol with '/' arrives percent-encoded
    assert_eq!(
        ok(port, "GET", "/marks/BTC-USD", None),
        (200, json!({"symbol":"BTC-USD","price":null,"source":null}))
    );
    let (s, _) = ok(
        port,
        "POST",
        "/marks",
        Some(r#"{"symbol":"BTC/USD","price":101.25}"#),
    );
    assert_eq!(s, 200);
    assert_eq!(
        ok(port, "GET", "/marks/BTC%2FUSD", None),
        (
            200,
            json!({"symbol":"BTC/USD","price":101.25,"source":"mark"})
        )
    );
    let (s, e) = ok(
        port,
        "POST",
        "/marks",
        Some(r#"{"symbol":"BTC-USD","price":-1}"#),
    );
    assert_eq!((s, e["error"]["field"].as_str()), (400, Some("price")));
    let (s, e) = ok(port, "GET", "/marks/A%20B", None);
    assert_eq!((s, e["error"]["field"].as_str()), (400, Some("symbol")));
}

/// Read one response (status, lower-cased head, JSON body) off a kept-alive connection.
fn read_response(r: &mut BufReader<TcpStream>) -> std::io::Result<(u16, String, Value)> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!("connection closed after {head:?}"),
            ));
        }
        if line == "\r\n" {
            break;
        }
        head.push_str(&line.to_ascii_lowercase());
    }
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, head.clone()))?;
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, head.clone()))?;
    let mut body = vec![0u8; len];
    r.read_exact(&mut body)?;
    let v = serde_json::from_slice(&body)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
    Ok((status, head, v))
}

fn place_request(key: &str, qty: f64) -> String {
    let body = order_body(qty);
    format!(
        "POST /orders HTTP/1.1\r\nHost: t\r\nIdempotency-Key: {key}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

fn keep_alive(port: u16) -> BufReader<TcpStream> {
    let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    BufReader::new(s)
}

#[test]
fn keep_alive_connections_serve_many_requests_interleaved_and_pipelined() {
    let dir = common::TempDir::new("keepalive");
    let srv = start(&dir.join("journal.bin"));
    let (mut a, mut b) = (keep_alive(srv.port), keep_alive(srv.port));
    let mut ids = Vec::new();
    for i in 0..5 {
        for (name, conn) in [("a", &mut a), ("b", &mut b)] {
            conn.get_mut()
                .write_all(place_request(&format!("{name}{i}"), 1.0).as_bytes())
                .expect("write");
            let (s, head, o) = read_response(conn).expect("answer on the same connection");
            assert_eq!(s, 201, "{o}");
            assert!(!head.contains("connection: close"), "{head}");
            ids.push(o["id"].as_str().expect("id").to_string());
        }
    }
    // Three requests in one write: three answers, in order, on the same connection.
    let pipelined = format!(
        "{}GET /orders/{} HTTP/1.1\r\nHost: t\r\n\r\n{}",
        place_request("a0", 1.0),
        ids[3],
        place_request("p1", 1.0)
    );
    a.get_mut().write_all(pipelined.as_bytes()).expect("write");
    let (s, head, o) = read_response(&mut a).expect("first");
    assert_eq!((s, o["id"].as_str()), (200, Some(ids[0].as_str())));
    assert!(head.contains("idempotent-replayed: true"), "{head}");
    let (s, _, o) = read_response(&mut a).expect("second");
    assert_eq!((s, o["id"].as_str()), (200, Some(ids[3].as_str())));
    let (s, _, o) = read_response(&mut a).expect("third");
    assert_eq!((s, o["id"].as_str()), (201, Some("ord-00000011")));
    // An error answer keeps the connection usable too.
    b.get_mut()
        .write_all(
            b"GET /nowhere HTTP/1.1\r\nHost: t\r\n\r\nGET /healthz HTTP/1.1\r\nHost: t\r\n\r\n",
        )
        .expect("write");
    let (s, _, e) = read_response(&mut b).expect("404");
    assert_eq!((s, e["error"]["code"].as_str()), (404, Some("NOT_FOUND")));
    assert_eq!(read_response(&mut b).expect("healthz").0, 200);
}

#[test]
fn sigterm_drains_keep_alive_connections_and_exits_0() {
    let dir = common::TempDir::new("drain");
    let journal = dir.join("journal.bin");
    let mut srv = start(&journal);
    let (mut idle, mut busy) = (keep_alive(srv.port), keep_alive(srv.port));
    for (key, conn) in [("idle", &mut idle), ("busy", &mut busy)] {
        conn.get_mut()
            .write_all(place_request(key, 1.0).as_bytes())
            .expect("write");
        assert_eq!(read_response(conn).expect("answer").0, 201);
    }
    // `busy` has a request in flight (head and half the body) when SIGTERM comes.
    let req = place_request("in-flight", 2.0);
    let (first, rest) = req.split_at(req.len() - 10);
    busy.get_mut().write_all(first.as_bytes()).expect("write");
    assert_eq!(ok(srv.port, "GET", "/healthz", None).0, 200);
    let status = Command::new("kill")
        .args(["-TERM", &srv.child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
    // The idle connection is closed by the drain (EOF, no answer)...
    let mut buf = String::new();
    assert_eq!(idle.read_line(&mut buf).expect("read idle"), 0, "{buf}");
    // ...the in-flight request is answered, then its connection closes.
    busy.get_mut()
        .write_all(rest.as_bytes())
        .expect("write rest");
    let (s, head, o) = read_response(&mut busy).expect("in-flight answer");
    assert_eq!(s, 201, "{o}");
    assert!(head.contains("connection: close"), "{head}");
    assert_eq!(busy.read_line(&mut buf).expect("read busy"), 0, "{buf}");
    let exited = wait_exit(&mut srv.child, Duration::from_secs(5));
    assert!(
        exited.is_some_and(|s| s.code() == Some(0)),
        "no clean exit after SIGTERM: {exited:?}"
    );
    drop(srv);
    let srv = start(&journal);
    let (_, all) = ok(srv.port, "GET", "/orders", None);
    assert_eq!(all["orders"].as_array().map(Vec::len), Some(3));
}

#[test]
fn a_connection_over_the_limit_is_answered_busy_and_the_others_keep_working() {
    let dir = common::TempDir::new("busy");
    let srv = start(&dir.join("journal.bin"));
    // 256 kept-alive connections, each proven accepted by an answer.
    let mut open: Vec<_> = (0..256)
        .map(|_| {
            let mut c = keep_alive(srv.port);
            c.get_mut()
                .write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
                .expect("write");
            assert_eq!(read_response(&mut c).expect("healthz").0, 200);
            c
        })
        .collect();
    let mut extra = keep_alive(srv.port);
    extra
        .get_mut()
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        .expect("write");
    let (s, _, e) = read_response(&mut extra).expect("busy answer");
    assert_eq!((s, e["error"]["code"].as_str()), (503, Some("BUSY")));
    // The admitted connections still work; closing one frees its slot.
    let first = &mut open[0];
    first
        .get_mut()
        .write_all(place_request("still-works", 1.0).as_bytes())
        .expect("write");
    assert_eq!(read_response(first).expect("place").0, 201);
    drop(open.pop());
    let mut freed = None;
    // The server notices the close asynchronously: retry until a slot is free.
    for _ in 0..500 {
        let (s, _) = ok(srv.port, "GET", "/healthz", None);
        if s == 200 {
            freed = Some(s);
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(freed, Some(200), "a closed connection never freed its slot");
}
