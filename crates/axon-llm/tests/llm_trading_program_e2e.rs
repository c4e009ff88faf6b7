//! The runbook's health checks (§2.1 step 3) on the binary `cargo build --workspace` produces:
//! `--version`, `--self-check` on the runbook's own config, and config errors naming the key.

mod common;

use common::{agent, backtest_config, btc_bars, scratch, text, workspace_root};

#[test]
fn version_names_the_package_and_the_native_build() {
    let output = agent().arg("--version").output().expect("run");
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    let expected = format!(
        "llm-trading-agent {} (native: axon-node {}",
        env!("CARGO_PKG_VERSION"),
        env!("CARGO_PKG_VERSION")
    );
    assert!(out.starts_with(&expected), "{out}");
    assert!(out.contains("rustc"), "{out}");
}

#[test]
fn self_check_on_the_runbook_config_checks_everything_and_hides_the_keys() {
    // No venue is reachable from this test (and the keys are fake): every local finding passes and
    // the exchange finding fails plainly, so the check exits non-zero.
    let output = agent()
        .args(["--self-check", "--config"])
        .arg(workspace_root().join("examples/runbook-config.toml"))
        .env("AXON_API_KEY", "runbook-key-7f3a9c")
        .env("AXON_API_SECRET", "runbook-secret-0b1e2d")
        .output()
        .expect("run");
    let out = text(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    for finding in [
        "ok   config:",
        "ok   native addon:",
        "ok   risk check:",
        "ok   circuit breaker:",
        "ok   matching engine:",
        "ok   panic containment:",
    ] {
        assert!(out.contains(finding), "missing {finding:?} in\n{out}");
    }
    assert!(
        out.contains("FAIL backend: exchange: cannot use binance testnet"),
        "{out}"
    );
    assert!(out.contains("self-check failed: 1 problem(s)"), "{out}");
    assert!(
        !out.contains("runbook-key-7f3a9c") && !out.contains("runbook-secret-0b1e2d"),
        "a key leaked:\n{out}"
    );
}

#[test]
fn self_check_passes_on_a_backtest_config_with_real_data() {
    let dir = scratch("self-check");
    let config = backtest_config(&dir, &btc_bars(), "");
    let output = agent()
        .args(["--self-check", "--config"])
        .arg(&config)
        .output()
        .expect("run");
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    assert!(out.contains("self-check passed"), "{out}");
}

#[test]
fn a_missing_variable_and_an_unknown_key_are_named() {
    let output = agent()
        .args(["--self-check", "--config"])
        .arg(workspace_root().join("examples/runbook-config.toml"))
        .env_remove("AXON_API_KEY")
        .env("AXON_API_SECRET", "s")
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output).contains("AXON_API_KEY"), "{}", text(&output));

    let dir = scratch("unknown-key");
    let config = backtest_config(&dir, &btc_bars(), "max_leverage = 3");
    let output = agent().arg("--config").arg(&config).output().expect("run");
    assert_ne!(output.status.code(), Some(0));
    assert!(text(&output).contains("max_leverage"), "{}", text(&output));
}
