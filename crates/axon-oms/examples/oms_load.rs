//! Load generator for a running `axon-oms`: requests/s and latency
//! percentiles of "place + read" (`POST /orders` then `GET /orders/{id}`).
//!
//! ```text
//! cargo run --release -p axon-oms --example oms_load -- --addr 127.0.0.1:PORT \
//!     [--connections 16] [--pairs 500]
//! ```
//!
//! Each connection is one thread doing `--pairs` place + read pairs in turn,
//! each place under a fresh idempotency key. Connections are kept alive while
//! the server allows it; a server that answers `Connection: close` costs a new
//! TCP connection per request, and that cost is part of the measured latency
//! (it is what a client of such a server pays). Every answer is checked
//! (201 for a place, 200 for a read of the same id): a wrong one aborts.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

struct Conn {
    addr: String,
    reader: Option<BufReader<TcpStream>>,
    reconnects: u64,
}

impl Conn {
    fn stream(&mut self) -> std::io::Result<&mut BufReader<TcpStream>> {
        if self.reader.is_none() {
            let s = TcpStream::connect(&self.addr)?;
            s.set_nodelay(true)?;
            s.set_read_timeout(Some(Duration::from_secs(30)))?;
            self.reader = Some(BufReader::new(s));
            self.reconnects += 1;
        }
        self.reader
            .as_mut()
            .ok_or_else(|| std::io::Error::other("no connection"))
    }

    /// One request; returns (status, body).
    fn call(
        &mut self,
        method: &str,
        path: &str,
        key: Option<&str>,
        body: &str,
    ) -> std::io::Result<(u16, String)> {
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: bench\r\nContent-Length: {}\r\n",
            body.len()
        );
        if let Some(k) = key {
            req.push_str(&format!("Idempotency-Key: {k}\r\n"));
        }
        req.push_str("\r\n");
        req.push_str(body);
        let reader = self.stream()?;
        reader.get_mut().write_all(req.as_bytes())?;
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other(format!("bad status line {line:?}")))?;
        let mut content_length = 0usize;
        let mut close = false;
        loop {
            line.clear();
            reader.read_line(&mut line)?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
                if k == "content-length" {
                    content_length = v.parse().map_err(std::io::Error::other)?;
                } else if k == "connection" && v.eq_ignore_ascii_case("close") {
                    close = true;
                }
            }
        }
        let mut body = vec![0u8; content_length];
        reader.read_exact(&mut body)?;
        if close {
            self.reader = None;
        }
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn order_id(body: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    v["id"].as_str().map(str::to_string)
}

fn worker(
    addr: String,
    conn_no: usize,
    pairs: usize,
    run: u128,
) -> Result<(Vec<Duration>, Vec<Duration>, u64), String> {
    let mut conn = Conn {
        addr,
        reader: None,
        reconnects: 0,
    };
    let body = r#"{"symbol":"BTC-USD","side":"Buy","quantity":1,"order_type":"Limit","price":100,"client_order_id":"bench"}"#;
    let (mut place, mut read) = (Vec::with_capacity(pairs), Vec::with_capacity(pairs));
    for i in 0..pairs {
        let key = format!("bench-{run}-{conn_no}-{i}");
        let t = Instant::now();
        let (status, answer) = conn
            .call("POST", "/orders", Some(&key), body)
            .map_err(|e| format!("place: {e}"))?;
        place.push(t.elapsed());
        let id = order_id(&answer)
            .filter(|_| status == 201)
            .ok_or_else(|| format!("place answered {status} {answer}"))?;
        let t = Instant::now();
        let (status, answer) = conn
            .call("GET", &format!("/orders/{id}"), None, "")
            .map_err(|e| format!("read: {e}"))?;
        read.push(t.elapsed());
        if status != 200 || order_id(&answer).as_deref() != Some(id.as_str()) {
            return Err(format!("read answered {status} {answer}"));
        }
    }
    Ok((place, read, conn.reconnects))
}

fn main() -> Result<(), String> {
    let usage = "usage: oms_load --addr HOST:PORT [--connections N] [--pairs N]";
    let (mut addr, mut connections, mut pairs) = (None, 16usize, 500usize);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let value = args
            .next()
            .ok_or_else(|| format!("{a} needs a value\n{usage}"))?;
        match a.as_str() {
            "--addr" => addr = Some(value),
            "--connections" => {
                connections = value
                    .parse()
                    .map_err(|_| format!("invalid --connections\n{usage}"))?
            }
            "--pairs" => {
                pairs = value
                    .parse()
                    .map_err(|_| format!("invalid --pairs\n{usage}"))?
            }
            _ => return Err(format!("unknown argument {a}\n{usage}")),
        }
    }
    let addr = addr.ok_or_else(|| format!("--addr is required\n{usage}"))?;
    // Keys unique per run, so a rerun against the same journal creates fresh orders.
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let started = Instant::now();
    let handles: Vec<_> = (0..connections)
        .map(|c| {
            let addr = addr.clone();
            std::thread::spawn(move || worker(addr, c, pairs, run))
        })
        .collect();
    let (mut place, mut read, mut reconnects) = (Vec::new(), Vec::new(), 0u64);
    for h in handles {
        let (p, r, n) = h.join().map_err(|_| "worker panicked".to_string())??;
        place.extend(p);
        read.extend(r);
        reconnects += n;
    }
    let elapsed = started.elapsed();
    let mut all: Vec<Duration> = place.iter().chain(&read).copied().collect();
    place.sort();
    read.sort();
    all.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{connections} connections x {pairs} pairs: {} requests in {:.2} s = {:.0} requests/s ({} TCP connections opened)",
        all.len(),
        elapsed.as_secs_f64(),
        all.len() as f64 / elapsed.as_secs_f64(),
        reconnects
    );
    for (name, v) in [("place", &place), ("read", &read), ("all", &all)] {
        println!(
            "{name:>5}: p50 {:.3} ms  p99 {:.3} ms  max {:.3} ms",
            ms(percentile(v, 50.0)),
            ms(percentile(v, 99.0)),
            ms(percentile(v, 100.0))
        );
    }
    Ok(())
}
