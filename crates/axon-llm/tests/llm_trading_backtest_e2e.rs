//! The program's main job through the runbook's binary: an agent backtest over the real bars,
//! and a SIGTERM from the service manager that ends it cleanly with its reports written.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::{agent, backtest_config, btc_bars, scratch, text};

#[test]
fn backtest_over_the_real_bars_writes_consistent_reports() {
    let dir = scratch("backtest");
    let config = backtest_config(&dir, &btc_bars(), "");
    let output = agent()
        .args(["backtest", "--config"])
        .arg(&config)
        .output()
        .expect("run");
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    let summary = std::fs::read_to_string(dir.join("summary.json")).expect("summary.json");
    assert!(summary.contains("\"provider\": \"scripted\""), "{summary}");
    assert!(summary.contains("\"bars\": 10999"), "{summary}");
    let audit = std::fs::read_to_string(dir.join("audit.jsonl")).expect("audit.jsonl");
    assert!(
        audit.lines().count() > 10_999,
        "one model record per bar at least"
    );
    let report = std::fs::read_to_string(dir.join("report.html")).expect("report.html");
    assert!(
        report.starts_with("<!doctype html>") || report.starts_with("<!DOCTYPE html>"),
        "{}",
        &report[..60.min(report.len())]
    );
    assert!(
        !report.contains("<script src="),
        "the report is self-contained"
    );
}

#[test]
fn sigterm_finishes_the_bar_in_flight_writes_the_reports_and_exits_0() {
    let dir = scratch("sigterm");
    // Enough generated bars that the run is still going when the signal arrives.
    let config = backtest_config(&dir, std::path::Path::new("generated"), "bars = 300000");
    let mut child = agent()
        .args(["backtest", "--config"])
        .arg(&config)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // The audit file grows once bars are being processed; then the service manager stops us.
    let audit = dir.join("audit.jsonl");
    let started = std::time::Instant::now();
    while std::fs::metadata(&audit).map(|m| m.len()).unwrap_or(0) < 100_000 {
        assert!(
            started.elapsed().as_secs() < 120,
            "the backtest never got going"
        );
        assert!(
            child.try_wait().expect("wait").is_none(),
            "exited before the signal"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // The launcher exec'd Node, so this pid is the program itself.
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());
    let mut stderr = String::new();
    for line in BufReader::new(child.stderr.take().expect("stderr")).lines() {
        stderr.push_str(&line.expect("line"));
        stderr.push('\n');
    }
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(0), "{stderr}");
    let summary =
        std::fs::read_to_string(dir.join("summary.json")).expect("summary.json written on SIGTERM");
    assert!(summary.contains("\"stoppedEarly\": true"), "{summary}");
    let last = std::fs::read_to_string(&audit).expect("audit");
    assert!(
        last.ends_with('\n'),
        "the audit file ends with a whole record"
    );
}
