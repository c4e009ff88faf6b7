//! A damaged journal against the real `axon-oms` binary over loopback HTTP.
//!
//! Each test builds a history with the real service, killing it with SIGKILL
//! between writes (every answer it gave was fsync'd first), damages the
//! journal, and checks what the next start does: a torn tail or garbage after
//! the last record is cut and the service starts; a flipped bit anywhere
//! (first, middle, last record) is refused with the offset and record named
//! and the file untouched, and `--recover` brings back every other
//! acknowledged order, keeps every idempotency key (a retry never creates a
//! second order) and never hands an id out twice.
mod common;

use axon_oms::journal::{encode_record, scan};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_axon-oms");

struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(journal: &Path) -> Server {
        let (child, port) = common::spawn_oms(journal);
        Server { child, port }
    }

    /// SIGKILL (what `Child::kill` sends on Unix) and reap.
    fn kill_9(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("wait");
    }

    /// One request on its own connection; (status, JSON body).
    fn call(&self, method: &str, path: &str, key: Option<&str>, body: &str) -> (u16, Value) {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let key = key.map_or(String::new(), |k| format!("Idempotency-Key: {k}\r\n"));
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n{key}Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .expect("write");
        let mut resp = String::new();
        s.read_to_string(&mut resp).expect("read");
        let (head, body) = resp.split_once("\r\n\r\n").expect("head");
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("status");
        (status, serde_json::from_str(body).expect("json body"))
    }

    fn submit(&self, key: &str) -> (u16, Value) {
        let body = json!({"symbol":"BTC-USD","side":"Buy","quantity":2,"order_type":"Limit","price":100,"client_order_id":key});
        self.call("POST", "/orders", Some(key), &body.to_string())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Acknowledged orders: (idempotency key, order id), in creation order.
type Acked = Vec<(String, String)>;

/// A history written by the real service, killed with SIGKILL twice between
/// writes. The journal's records are, in order: submit a0, submit a1, submit
/// a2, transition a0 submitted, transition a0 acknowledged, fill a0 (after the
/// first kill), submit b0, submit b1, submit b2 (the last record).
fn build(journal: &Path) -> Acked {
    let mut acked = Acked::new();
    let srv = Server::start(journal);
    for k in ["a0", "a1", "a2"] {
        let (s, o) = srv.submit(k);
        assert_eq!(s, 201, "{o}");
        acked.push((k.into(), o["id"].as_str().expect("id").into()));
    }
    let a0 = acked[0].1.clone();
    for to in ["submitted", "acknowledged"] {
        let (s, o) = srv.call(
            "POST",
            &format!("/orders/{a0}/transition"),
            None,
            &json!({ "status": to }).to_string(),
        );
        assert_eq!(s, 200, "{o}");
    }
    srv.kill_9();
    let srv = Server::start(journal);
    let (s, o) = srv.call(
        "POST",
        &format!("/orders/{a0}/fills"),
        None,
        r#"{"quantity":0.5,"price":99}"#,
    );
    assert_eq!(s, 200, "{o}");
    for k in ["b0", "b1", "b2"] {
        let (s, o) = srv.submit(k);
        assert_eq!(s, 201, "{o}");
        acked.push((k.into(), o["id"].as_str().expect("id").into()));
    }
    srv.kill_9();
    acked
}

/// Flip bit 0 of the first digit of `"ts_ms":` in record `index` (0-based):
/// the payload stays valid JSON and its key and ids stay readable, only the
/// checksum can tell.
fn flip_timestamp_bit(journal: &Path, index: usize) -> Vec<u8> {
    let mut bytes = std::fs::read(journal).expect("read");
    let span = scan(&bytes).records[index].clone();
    let payload = &bytes[span.payload.clone()];
    let at = payload
        .windows(8)
        .position(|w| w == b"\"ts_ms\":")
        .expect("ts_ms")
        + 8;
    bytes[span.payload.start + at] ^= 1;
    std::fs::write(journal, &bytes).expect("write");
    bytes
}

/// Start the service on a journal it must refuse: its exit status and stderr.
/// Fails (instead of hanging) if it starts listening.
fn start_refused(journal: &Path) -> (std::process::ExitStatus, String) {
    let mut child = Command::new(BIN)
        .args(["--port", "0", "--journal"])
        .arg(journal)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn axon-oms");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read stdout");
    if !line.is_empty() {
        let _ = child.kill();
        let _ = child.wait();
        panic!("started on a corrupt journal: {line}");
    }
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read stderr");
    (child.wait().expect("wait"), stderr)
}

fn run(args: &[&str], journal: &Path) -> Output {
    Command::new(BIN)
        .args(args)
        .arg("--journal")
        .arg(journal)
        .output()
        .expect("run axon-oms")
}

/// Every acknowledged order is back, except `lost` whose key is refused (409
/// IDEMPOTENCY_KEY_LOST, never a second order); a new order gets an id above
/// every id ever handed out.
fn check_after_recovery(journal: &Path, acked: &Acked, lost: &str) {
    let srv = Server::start(journal);
    for (key, id) in acked {
        let (s, o) = srv.submit(key);
        if key == lost {
            assert_eq!(
                (s, o["error"]["code"].as_str()),
                (409, Some("IDEMPOTENCY_KEY_LOST")),
                "retry of the damaged record's key {key}: {o}"
            );
        } else {
            assert_eq!(
                (s, o["id"].as_str()),
                (200, Some(id.as_str())),
                "retry of acknowledged key {key}: {o}"
            );
            assert_eq!(srv.call("GET", &format!("/orders/{id}"), None, "").0, 200);
        }
    }
    let (s, o) = srv.submit("fresh");
    assert_eq!(s, 201, "{o}");
    assert_eq!(o["id"], json!("ord-00000007"), "an id was handed out twice");
}

/// Refused untouched, recovered, then checked.
fn refuse_then_recover(record: usize, lost: &str) {
    let dir = common::TempDir::new(&format!("corrupt-{record}"));
    let journal = dir.join("oms.journal");
    let acked = build(&journal);
    let offset = scan(&std::fs::read(&journal).expect("read")).records[record].offset;
    let damaged = flip_timestamp_bit(&journal, record);

    let (status, stderr) = start_refused(&journal);
    assert_eq!(status.code(), Some(2), "{stderr}");
    for needle in [
        format!("byte offset {offset} "),
        format!("(record {}, counting from 1)", record + 1),
        "bad checksum".to_string(),
        "--recover".to_string(),
    ] {
        assert!(stderr.contains(&needle), "{needle:?} not in {stderr}");
    }
    assert_eq!(
        std::fs::read(&journal).expect("read"),
        damaged,
        "the refusal changed the file"
    );

    let out = run(&["--recover"], &journal);
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{report} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let aside: Vec<_> = std::fs::read_dir(dir.path())
        .expect("ls")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().contains(".damaged-"))
        .collect();
    assert_eq!(aside.len(), 1, "{report}");
    assert_eq!(
        std::fs::read(&aside[0]).expect("read"),
        damaged,
        "damaged file not kept as it was"
    );
    assert!(
        report.contains(&format!("record {}", record + 1)),
        "{report}"
    );
    check_after_recovery(&journal, &acked, lost);
    // A second recovery finds a sound journal and changes nothing.
    let before = std::fs::read(&journal).expect("read");
    assert!(run(&["--recover"], &journal).status.success());
    assert_eq!(std::fs::read(&journal).expect("read"), before);
}

#[test]
fn flipped_bit_in_the_first_record_is_refused_and_recovered() {
    // Record 0 is a0's submit: its later transitions and fill are set aside.
    refuse_then_recover(0, "a0");
}

#[test]
fn flipped_bit_in_a_middle_record_is_refused_and_recovered() {
    // Record 6 is b0's submit, written after the first SIGKILL.
    refuse_then_recover(6, "b0");
}

#[test]
fn flipped_bit_in_the_last_record_is_refused_and_recovered() {
    // Record 8 is b2's submit, the last record: complete, fsync'd, acknowledged.
    refuse_then_recover(8, "b2");
}

/// A cut tail leaves every acknowledged order, key and id as it was. `round`
/// 0 creates order 7 under key `fresh`; later rounds find it again.
fn starts_with_everything(journal: &Path, acked: &Acked, expect_cut: usize, round: usize) {
    let before = std::fs::read(journal).expect("read").len();
    let srv = Server::start(journal);
    assert_eq!(
        std::fs::metadata(journal).expect("meta").len() as usize,
        before - expect_cut
    );
    for (key, id) in acked {
        let (s, o) = srv.submit(key);
        assert_eq!(
            (s, o["id"].as_str()),
            (200, Some(id.as_str())),
            "{key}: {o}"
        );
    }
    let (s, o) = srv.submit("fresh");
    let status = if round == 0 { 201 } else { 200 };
    assert_eq!((s, o["id"].as_str()), (status, Some("ord-00000007")), "{o}");
}

#[test]
fn a_record_cut_mid_write_is_a_torn_tail_and_is_cut() {
    let dir = common::TempDir::new("torn");
    let journal = dir.join("oms.journal");
    let acked = build(&journal);
    // What a kill during the next append leaves: part of a record whose fsync
    // never returned, so nobody was answered.
    let next = encode_record(br#"{"type":"mark","symbol":"BTC-USD","price":101.0,"ts_ms":1}"#)
        .expect("encode");
    for (round, cut) in [3, 8, next.len() / 2, next.len() - 1]
        .into_iter()
        .enumerate()
    {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&journal)
            .expect("open");
        f.write_all(&next[..cut]).expect("append");
        drop(f);
        starts_with_everything(&journal, &acked, cut, round);
    }
}

#[test]
fn garbage_after_the_last_record_is_cut() {
    let dir = common::TempDir::new("garbage");
    let journal = dir.join("oms.journal");
    let acked = build(&journal);
    for (round, garbage) in [vec![0xABu8; 100], vec![0u8; 4096]].into_iter().enumerate() {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&journal)
            .expect("open");
        f.write_all(&garbage).expect("append");
        drop(f);
        starts_with_everything(&journal, &acked, garbage.len(), round);
    }
}
