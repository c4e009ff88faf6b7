//! The runbook's `./target/release/llm-trading-agent`: finds this workspace's Node program and
//! becomes it (see the crate docs for the invariants).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use axon_llm::{check_built, locate, node_executable, Program};

fn program() -> Result<Program, axon_llm::LaunchError> {
    let home = std::env::var_os("AXON_LLM_HOME").map(PathBuf::from);
    let exe = std::env::current_exe().ok();
    // The workspace root this binary was compiled in: crates/axon-llm/../..
    let compiled_in = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let root = locate(home, exe.as_deref(), &compiled_in)?;
    check_built(&root.canonicalize().unwrap_or(root))
}

fn main() -> ExitCode {
    let program = match program() {
        Ok(program) => program,
        Err(error) => {
            eprintln!("llm-trading-agent: {error}");
            return ExitCode::from(2);
        }
    };
    let node = node_executable(std::env::var_os("AXON_LLM_NODE"));
    let mut command = Command::new(&node);
    command.arg(&program.cli).args(std::env::args_os().skip(1));
    run(command, &node)
}

#[cfg(unix)]
fn run(mut command: Command, node: &std::ffi::OsStr) -> ExitCode {
    use std::os::unix::process::CommandExt;
    // Only returns on failure: on success this process is Node now.
    let error = command.exec();
    eprintln!(
        "llm-trading-agent: cannot start {}: {error} (install Node >= 20.19 or set AXON_LLM_NODE)",
        node.to_string_lossy()
    );
    ExitCode::from(2)
}

#[cfg(not(unix))]
fn run(mut command: Command, node: &std::ffi::OsStr) -> ExitCode {
    match command.status() {
        Ok(status) => ExitCode::from(
            status
                .code()
                .and_then(|c| u8::try_from(c).ok())
                .unwrap_or(1),
        ),
        Err(error) => {
            eprintln!("llm-trading-agent: cannot start {}: {error} (install Node >= 20.19 or set AXON_LLM_NODE)", node.to_string_lossy());
            ExitCode::from(2)
        }
    }
}
