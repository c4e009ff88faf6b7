//! `axon-oms --port 8080 --journal PATH [--host 127.0.0.1]`
//!
//! Opens (and replays) the journal, binds the HTTP API (see `axon_oms::api`),
//! prints `listening on HOST:PORT` on stdout (useful with `--port 0`), and
//! serves until `POST /shutdown`, SIGTERM or SIGINT: then it stops accepting,
//! lets in-flight requests finish (up to `api::DRAIN_TIMEOUT`) and exits 0.
//! SIGKILL is safe too: every acknowledged change is fsync'd before its response.
//!
//! A corrupt journal (not just a torn tail) is refused: exit 2, the offset and
//! record named on stderr, the file untouched. `axon-oms --journal PATH
//! --recover` rebuilds it (see `axon_oms::recovery`), prints its report and
//! exits 0 without serving; then start the service as usual.

use axon_oms::{api, Oms};
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::signal::unix::{self, SignalKind};

const USAGE: &str = "usage: axon-oms --port PORT --journal PATH [--host 127.0.0.1]\n       axon-oms --journal PATH --recover";

fn run() -> Result<(), String> {
    let mut port: Option<u16> = None;
    let mut journal: Option<String> = None;
    let mut host = "127.0.0.1".to_string();
    let mut recover = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = |name: &str| {
            args.next()
                .ok_or_else(|| format!("{name} needs a value\n{USAGE}"))
        };
        match a.as_str() {
            "--port" => {
                port = Some(
                    val("--port")?
                        .parse()
                        .map_err(|_| format!("invalid --port\n{USAGE}"))?,
                )
            }
            "--journal" => journal = Some(val("--journal")?),
            "--host" => host = val("--host")?,
            "--recover" => recover = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    let journal = journal.ok_or_else(|| format!("--journal is required\n{USAGE}"))?;
    if recover {
        let report = axon_oms::recovery::recover(&journal).map_err(|e| e.to_string())?;
        println!("{report}");
        return Ok(());
    }
    let port = port.ok_or_else(|| format!("--port is required\n{USAGE}"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(serve(journal, host, port))?;
    eprintln!("axon-oms: shut down");
    Ok(())
}

async fn serve(journal: String, host: String, port: u16) -> Result<(), String> {
    // Registered before anything else so an early SIGTERM is a clean stop too.
    let signal = |kind: SignalKind| {
        unix::signal(kind).map_err(|e| format!("cannot handle signal {kind:?}: {e}"))
    };
    let (mut term, mut int) = (
        signal(SignalKind::terminate())?,
        signal(SignalKind::interrupt())?,
    );
    let stop = async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    };
    let oms = Oms::open(&journal).map_err(|e| e.to_string())?;
    eprintln!(
        "axon-oms: replayed {} records from {journal} (truncated {} bytes of torn tail)",
        oms.recovered_records(),
        oms.truncated_bytes()
    );
    let listener = TcpListener::bind((host.as_str(), port))
        .await
        .map_err(|e| format!("cannot bind {host}:{port}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    println!("listening on {addr}");
    let _ = std::io::stdout().flush();
    api::serve(listener, Arc::new(oms), stop)
        .await
        .map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("axon-oms: {e}");
            ExitCode::from(2)
        }
    }
}
