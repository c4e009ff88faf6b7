//! `target/release/llm-trading-agent`: the runbook's binary for this workspace.
//!
//! The runbook (§1.2, §2.1, §4.1) builds with `cargo build --workspace --release` and then runs
//! `./target/release/llm-trading-agent --version | --self-check | --config PATH`. The program itself
//! is the Node program of this workspace (`dist/ts/cli.js`, over the native addon); this crate finds
//! it and hands the process over to it.
//!
//! Invariants:
//! - The program that runs is the one of the workspace this binary was built from (or the one
//!   `AXON_LLM_HOME` names): never some other `axon-llm` found on `PATH`.
//! - A stale build never runs: when a TypeScript source is newer than the compiled JavaScript, or a
//!   Rust source of the addon is newer than the addon, the launcher refuses and names the command
//!   that rebuilds (`npm run build`). After `git checkout` of another tag that is exactly the case
//!   where an upgrade would otherwise silently keep running the old code.
//! - On Unix the launcher `exec`s Node: same pid, so signals from systemd or k8s (SIGTERM) reach the
//!   program directly and its exit status is the process's exit status.

use std::ffi::OsString;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Crates whose code is in the native addon, relative to the workspace root. Their `src/`,
/// `build.rs` and `Cargo.toml` count as the addon's sources (tests and benches do not).
const ADDON_CRATES: [&str; 4] = [
    "crates/axon-node",
    "crates/axon-risk",
    "crates/axon-metrics",
    "crates/axon-backtest",
];

/// Why the program cannot be started.
#[derive(Debug, PartialEq, Eq)]
pub enum LaunchError {
    /// No directory with the `axon-llm` package was found.
    NotFound { searched: Vec<PathBuf> },
    /// The workspace is there but a build output is missing.
    NotBuilt { root: PathBuf, missing: String },
    /// A source is newer than what was built from it.
    Stale {
        root: PathBuf,
        source: PathBuf,
        output: PathBuf,
    },
}

impl fmt::Display for LaunchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFound { searched } => {
                let list: Vec<String> = searched.iter().map(|p| p.display().to_string()).collect();
                write!(
                    f,
                    "cannot find the axon-llm program (a directory whose package.json is named \"axon-llm\"); searched: {}; set AXON_LLM_HOME to the workspace root",
                    list.join(", ")
                )
            }
            Self::NotBuilt { root, missing } => write!(
                f,
                "the program in {} is not built ({missing} is missing): run `npm install` (or `npm run build`) there first",
                root.display()
            ),
            Self::Stale { root, source, output } => write!(
                f,
                "the build in {} is older than its sources ({} is newer than {}): run `npm run build` there first",
                root.display(),
                source.display(),
                output.display()
            ),
        }
    }
}

impl std::error::Error for LaunchError {}

/// A program ready to run: the workspace root and its compiled entry point.
#[derive(Debug, PartialEq, Eq)]
pub struct Program {
    pub root: PathBuf,
    pub cli: PathBuf,
}

/// Whether `dir` holds the `axon-llm` package.
fn is_package_root(dir: &Path) -> bool {
    let Ok(text) = fs::read_to_string(dir.join("package.json")) else {
        return false;
    };
    text.contains("\"name\": \"axon-llm\"")
}

/// The workspace root: `home` when given (it must be the package), else the nearest ancestor of the
/// executable's directory, else the workspace this crate was compiled in.
pub fn locate(
    home: Option<PathBuf>,
    exe: Option<&Path>,
    compiled_in: &Path,
) -> Result<PathBuf, LaunchError> {
    let mut searched = Vec::new();
    if let Some(home) = home {
        if is_package_root(&home) {
            return Ok(home);
        }
        searched.push(home);
        return Err(LaunchError::NotFound { searched });
    }
    let ancestors = exe
        .and_then(Path::parent)
        .into_iter()
        .flat_map(Path::ancestors);
    for dir in ancestors.chain(std::iter::once(compiled_in)) {
        if is_package_root(dir) {
            return Ok(dir.to_path_buf());
        }
        searched.push(dir.to_path_buf());
    }
    Err(LaunchError::NotFound { searched })
}

fn modified(path: &Path) -> Option<SystemTime> {
    fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// The newest file under `dir` whose name satisfies `keep` (directories `node_modules`, `target`
/// and hidden ones are skipped).
fn newest(dir: &Path, keep: &dyn Fn(&Path) -> bool) -> Option<(SystemTime, PathBuf)> {
    let mut best: Option<(SystemTime, PathBuf)> = None;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        let Ok(entries) = fs::read_dir(&current) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                if !(name.starts_with('.') || name == "node_modules" || name == "target") {
                    stack.push(path);
                }
            } else if keep(&path) {
                if let Some(time) = modified(&path) {
                    if best.as_ref().is_none_or(|(t, _)| time > *t) {
                        best = Some((time, path));
                    }
                }
            }
        }
    }
    best
}

fn has_extension(path: &Path, extension: &str) -> bool {
    path.extension().is_some_and(|e| e == extension)
}

/// The addon file napi builds into the workspace root (`axon-llm.<platform>.node`).
fn addon_in(root: &Path) -> Option<PathBuf> {
    let entries = fs::read_dir(root).ok()?;
    entries.flatten().map(|e| e.path()).find(|p| {
        has_extension(p, "node")
            && p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("axon-llm."))
    })
}

/// Checks that `root` is built and that the build is not older than its sources.
pub fn check_built(root: &Path) -> Result<Program, LaunchError> {
    let cli = root.join("dist/ts/cli.js");
    if !cli.is_file() {
        return Err(LaunchError::NotBuilt {
            root: root.to_path_buf(),
            missing: "dist/ts/cli.js".into(),
        });
    }
    let stale = |source: (SystemTime, PathBuf), output: (SystemTime, PathBuf)| {
        (source.0 > output.0).then(|| LaunchError::Stale {
            root: root.to_path_buf(),
            source: source.1,
            output: output.1,
        })
    };
    let ts_sources = root.join("ts");
    if ts_sources.is_dir() {
        let source = newest(&ts_sources, &|p| has_extension(p, "ts"));
        let output = newest(&root.join("dist/ts"), &|p| has_extension(p, "js"));
        if let (Some(source), Some(output)) = (source, output) {
            if let Some(error) = stale(source, output) {
                return Err(error);
            }
        }
    }
    if root.join("crates").is_dir() {
        let Some(addon) = addon_in(root) else {
            return Err(LaunchError::NotBuilt {
                root: root.to_path_buf(),
                missing: "the native addon axon-llm.<platform>.node".into(),
            });
        };
        let source = ADDON_CRATES
            .iter()
            .flat_map(|dir| {
                let dir = root.join(dir);
                let files = ["Cargo.toml", "build.rs"].map(|f| dir.join(f));
                let manifests = files
                    .into_iter()
                    .filter_map(|f| modified(&f).map(|t| (t, f)));
                manifests.chain(newest(&dir.join("src"), &|p| has_extension(p, "rs")))
            })
            .max_by_key(|(time, _)| *time);
        if let (Some(source), Some(time)) = (source, modified(&addon)) {
            if let Some(error) = stale(source, (time, addon)) {
                return Err(error);
            }
        }
    }
    Ok(Program {
        root: root.to_path_buf(),
        cli,
    })
}

/// The Node executable: `AXON_LLM_NODE` when set, else `node` from `PATH`.
pub fn node_executable(configured: Option<OsString>) -> OsString {
    configured
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "node".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("axon-llm-launcher-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("scratch dir");
        dir
    }

    fn write(path: &Path, text: &str) {
        fs::create_dir_all(path.parent().expect("parent")).expect("dirs");
        fs::write(path, text).expect("write");
    }

    fn set_age(path: &Path, seconds_ago: u64) {
        let file = fs::File::options().write(true).open(path).expect("open");
        file.set_modified(SystemTime::now() - Duration::from_secs(seconds_ago))
            .expect("set mtime");
    }

    fn built_workspace(name: &str) -> PathBuf {
        let root = scratch(name);
        write(
            &root.join("package.json"),
            "{\n  \"name\": \"axon-llm\",\n  \"version\": \"0.1.0\"\n}\n",
        );
        write(&root.join("ts/cli.ts"), "");
        write(&root.join("crates/axon-risk/src/lib.rs"), "");
        write(&root.join("dist/ts/cli.js"), "");
        write(&root.join("axon-llm.linux-x64-gnu.node"), "");
        set_age(&root.join("ts/cli.ts"), 100);
        set_age(&root.join("crates/axon-risk/src/lib.rs"), 100);
        set_age(&root.join("dist/ts/cli.js"), 50);
        set_age(&root.join("axon-llm.linux-x64-gnu.node"), 50);
        root
    }

    #[test]
    fn finds_the_workspace_above_the_executable() {
        let root = built_workspace("locate");
        let exe = root.join("target/release/llm-trading-agent");
        assert_eq!(
            locate(None, Some(&exe), Path::new("/nonexistent")),
            Ok(root.clone())
        );
        let elsewhere = scratch("elsewhere").join("bin/llm-trading-agent");
        assert_eq!(locate(None, Some(&elsewhere), &root), Ok(root));
    }

    #[test]
    fn a_wrong_home_is_an_error_naming_it() {
        let dir = scratch("wrong-home");
        let error =
            locate(Some(dir.clone()), None, Path::new("/nonexistent")).expect_err("not a package");
        assert!(
            error.to_string().contains(&dir.display().to_string()),
            "{error}"
        );
        assert!(error.to_string().contains("AXON_LLM_HOME"), "{error}");
    }

    #[test]
    fn a_fresh_build_is_accepted() {
        let root = built_workspace("fresh");
        let program = check_built(&root).expect("built");
        assert_eq!(program.cli, root.join("dist/ts/cli.js"));
    }

    #[test]
    fn missing_outputs_are_named() {
        let root = built_workspace("missing");
        fs::remove_file(root.join("axon-llm.linux-x64-gnu.node")).expect("rm");
        let error = check_built(&root).expect_err("no addon");
        assert!(error.to_string().contains("native addon"), "{error}");
        fs::remove_file(root.join("dist/ts/cli.js")).expect("rm");
        let error = check_built(&root).expect_err("no cli");
        assert!(error.to_string().contains("dist/ts/cli.js"), "{error}");
        assert!(error.to_string().contains("npm install"), "{error}");
    }

    #[test]
    fn a_source_newer_than_its_build_refuses_to_run() {
        let root = built_workspace("stale-ts");
        write(&root.join("ts/agent/loop.ts"), "changed");
        let error = check_built(&root).expect_err("stale ts");
        assert!(
            matches!(&error, LaunchError::Stale { source, .. } if source.ends_with("ts/agent/loop.ts")),
            "{error}"
        );
        assert!(error.to_string().contains("npm run build"), "{error}");

        let root = built_workspace("stale-rs");
        write(
            &root.join("crates/axon-risk/tests/new_test.rs"),
            "tests are not in the addon",
        );
        write(
            &root.join("crates/axon-risk/benches/new_bench.rs"),
            "nor are benches",
        );
        check_built(&root).expect("a new test or bench does not make the addon stale");
        write(&root.join("crates/axon-risk/src/limits.rs"), "changed");
        let error = check_built(&root).expect_err("stale rust");
        assert!(
            matches!(&error, LaunchError::Stale { output, .. } if output.ends_with("axon-llm.linux-x64-gnu.node")),
            "{error}"
        );
        let root = built_workspace("stale-manifest");
        write(&root.join("crates/axon-node/Cargo.toml"), "[package]");
        assert!(
            matches!(check_built(&root), Err(LaunchError::Stale { .. })),
            "a changed manifest changes the build"
        );
    }

    #[test]
    fn node_defaults_to_path_lookup() {
        assert_eq!(node_executable(None), OsString::from("node"));
        assert_eq!(node_executable(Some("".into())), OsString::from("node"));
        assert_eq!(
            node_executable(Some("/opt/node/bin/node".into())),
            OsString::from("/opt/node/bin/node")
        );
    }
}
