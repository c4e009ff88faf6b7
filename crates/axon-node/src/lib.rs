//! Node binding of the axon risk core. Converts types and errors at the edge, nothing more.
//!
//! Invariants:
//! - Every exported function runs inside [`contain`]: a Rust panic becomes a JS `Error`, never an
//!   abort of the Node process. A guard that panicked is poisoned and refuses every later call
//!   (fail-closed: its counters may be mid-update).
//! - One native call per decision (`decide`) and one per outcome (`recordAck` / `recordFailure`).

#![allow(clippy::new_without_default)]
// The exported functions are called from JavaScript only: a `cargo test` build of this crate sees
// no Rust caller for them.
#![cfg_attr(test, allow(dead_code))]

use std::panic::{catch_unwind, AssertUnwindSafe};

use napi::bindgen_prelude::{Float64Array, Float64ArraySlice};
use napi::{Env, Error, Result, Status};
use napi_derive::napi;

mod guard;
mod handles;
mod matching;
mod metrics;
mod raw;

pub use metrics::NativeMetrics;

/// Installs the raw entry points of [`raw`] over the `#[napi]` exports of the same name.
#[napi(module_exports)]
pub fn install_raw_calls(env: Env, exports: napi::bindgen_prelude::Object<'_>) -> Result<()> {
    use napi::JsValue;
    raw::install(env.raw(), exports.raw())
}

pub(crate) fn invalid(message: impl Into<String>) -> Error {
    Error::new(Status::InvalidArg, message.into())
}

thread_local! {
    /// Set while a deliberate diagnostic panic runs, so the hook stays quiet for it.
    static QUIET_PANIC: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// One line per real panic on stderr (the default hook's backtrace hint is noise for a contained
/// panic); nothing for the deliberate one of `triggerNativePanic`.
fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            if !QUIET_PANIC.with(std::cell::Cell::get) {
                eprintln!("axon native panic (contained, surfaced as a JS error): {info}");
            }
        }));
    });
}

/// Run `f`, turning a panic into a JS error.
pub(crate) fn contain<T>(what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    install_panic_hook();
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => {
            let detail = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            Err(Error::new(
                Status::GenericFailure,
                format!("axon native panic in {what}: {detail}"),
            ))
        }
    }
}

/// Diagnostic: panics inside the containment wrapper, so callers (tests, `--self-check`) can prove a
/// Rust panic reaches JS as an exception and the process survives.
#[napi]
pub fn trigger_native_panic(message: String) -> Result<()> {
    QUIET_PANIC.with(|quiet| quiet.set(true));
    let result = contain("triggerNativePanic", || panic!("{message}"));
    QUIET_PANIC.with(|quiet| quiet.set(false));
    result
}

/// Write access to a caller-owned Float64Array for the duration of one native call. Sound because
/// the slice borrows the argument (it cannot outlive the call), JS is single-threaded and runs no
/// code during the call (nothing here calls back into JS), and no other live slice aliases it (the
/// engine's batch path refuses outputs that overlap its other array arguments).
#[allow(unsafe_code)]
pub(crate) fn writable_f64<'a>(array: &'a mut Float64ArraySlice<'_>) -> &'a mut [f64] {
    // SAFETY: see above; napi-rs offers no safe mutable view of a borrowed typed array.
    unsafe { array.as_mut() }
}

/// Rows of numbers as JSON arrays, each followed by a comma (`[c0,c1,...],`, numbers exactly as
/// `JSON.stringify` prints them), row `i` taking `columns[k][i]` for rows `0..starts.length - 1`;
/// `starts` gets where each row begins and, last, the end. For observations that show a window of
/// rows: one slice of this text instead of formatting every row again.
#[napi]
pub fn rows_json(columns: Vec<Float64Array>, mut starts: Float64ArraySlice<'_>) -> Result<String> {
    contain("rowsJson", || {
        let starts = writable_f64(&mut starts);
        let rows = starts
            .len()
            .checked_sub(1)
            .ok_or_else(|| invalid("starts must have room for rows + 1 numbers"))?;
        if columns.is_empty() {
            return Err(invalid("columns must not be empty"));
        }
        if let Some((k, column)) = columns.iter().enumerate().find(|(_, c)| c.len() < rows) {
            return Err(invalid(format!(
                "columns[{k}] has {} rows, starts asks for {rows}",
                column.len()
            )));
        }
        let slices: Vec<&[f64]> = columns.iter().map(|c| &**c).collect();
        let mut out = String::with_capacity(rows * (columns.len() * 12 + 3));
        axon_json::push_rows_json(&mut out, &slices, rows, starts);
        Ok(out)
    })
}

/// Does nothing: the floor of a native call, measured by `npm run bench` next to the guard.
/// Installed as a raw Node-API callback (`src/raw/`), like `guardDecide`.
#[napi]
pub fn empty_call() {}

/// What this addon is: crate version, target, profile and compiler.
#[napi]
pub fn build_info() -> String {
    format!(
        "axon-node {} ({}, {}, {})",
        env!("CARGO_PKG_VERSION"),
        env!("AXON_BUILD_TARGET"),
        env!("AXON_BUILD_PROFILE"),
        env!("AXON_BUILD_RUSTC")
    )
}
