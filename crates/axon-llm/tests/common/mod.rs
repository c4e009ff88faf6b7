//! Runs the built `llm-trading-agent` the way the runbook does. The Node program must be built
//! (`npm install` / `npm run build`); otherwise the launcher's refusal fails these tests plainly.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

/// The real bars: `../shared/data` beside the workspace, or in the folder `AXON_SHARED` points to.
pub fn btc_bars() -> PathBuf {
    let shared = std::env::var_os("AXON_SHARED")
        .map_or_else(|| workspace_root().join("../shared"), PathBuf::from);
    let path = shared.join("data/btc-usdt-5m.csv");
    assert!(
        path.is_file(),
        "market data {} not found: clone beside shared/ or set AXON_SHARED",
        path.display()
    );
    path
}

pub fn agent() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_llm-trading-agent"));
    command.env_remove("AXON_LLM_HOME").env("LOG_LEVEL", "warn");
    command
}

pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("llm-trading-e2e-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

pub fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A backtest config over `data` that writes its reports into `dir`.
pub fn backtest_config(dir: &Path, data: &Path, extra: &str) -> PathBuf {
    let config = format!(
        r#"[trading]
backend = "backtest"
[safety]
mode = "Direct"
[risk]
max_order_notional = 50000.0
max_daily_orders = 100
max_position_abs = 10.0
allowed_symbols = ["BTC-USDT", "ETH-USDT"]
[gate]
type = "RejectionCircuitBreaker"
threshold = 5
cooldown_ms = 60000
[llm]
provider = "scripted"
[backtest]
data = "{data}"
report = "{dir}/report.html"
summary_json = "{dir}/summary.json"
audit = "{dir}/audit.jsonl"
{extra}
"#,
        data = data.display(),
        dir = dir.display(),
    );
    let path = dir.join("config.toml");
    std::fs::write(&path, config).expect("write config");
    path
}
