//! Memory shared between Rust and JavaScript: a fixed run of f64 cells that JS views as a
//! Float64Array (exported once), so per-call results and inputs cross without a typed-array
//! argument (whose napi-rs borrow bookkeeping costs more than the call itself).
//!
//! Invariants:
//! - The cells live until both the Rust owner and the JS view are gone (the view's finalizer holds
//!   an `Arc`).
//! - Rust touches the cells only through relaxed atomic loads and stores (plain moves on x86-64),
//!   so no `&` or `&mut` to memory JS writes ever exists.
//! - A runtime that copies external buffers is refused: the memory must really be shared.
//! - The cells go to JavaScript at most once (V8 refuses two ArrayBuffers over the same memory);
//!   clones share that state.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use napi::bindgen_prelude::Float64ArraySlice;
use napi::{Env, Error, Result, Status};

#[derive(Debug, Clone)]
pub(crate) struct SharedCells {
    cells: Arc<[AtomicU64]>,
    exported: Arc<AtomicBool>,
}

impl SharedCells {
    pub fn new(len: usize) -> Self {
        Self::from_arc((0..len).map(|_| AtomicU64::new(0)).collect())
    }

    /// Cells already owned elsewhere (e.g. a core type's shared memory).
    pub fn from_arc(cells: Arc<[AtomicU64]>) -> Self {
        SharedCells {
            cells,
            exported: Arc::new(AtomicBool::new(false)),
        }
    }

    #[inline(always)]
    pub fn get(&self, at: usize) -> f64 {
        f64::from_bits(self.cells[at].load(Ordering::Relaxed))
    }

    #[inline(always)]
    pub fn set_row(&self, at: usize, row: &[f64]) {
        for (cell, v) in self.cells[at..at + row.len()].iter().zip(row) {
            cell.store(v.to_bits(), Ordering::Relaxed);
        }
    }

    /// A Float64Array over the cells, once; `what` names them in the error of a second call.
    #[allow(unsafe_code)]
    pub fn export<'env>(&self, env: &Env, what: &str) -> Result<Float64ArraySlice<'env>> {
        if self.exported.load(Ordering::Relaxed) {
            return Err(Error::new(
                Status::InvalidArg,
                format!("the {what} was already taken; keep the first one"),
            ));
        }
        let owner = Arc::clone(&self.cells);
        let data = owner.as_ptr() as *mut f64;
        let len = owner.len();
        // SAFETY: `data` points to `len` initialised 8-byte cells owned by `owner`, which the
        // finalizer holds (and drops) exactly when V8 releases the ArrayBuffer, so the memory
        // outlives every JS view. `AtomicU64` has the size and alignment of `f64`; Rust only
        // touches these cells through atomics (module invariants).
        let view = unsafe {
            Float64ArraySlice::from_external(env, data, len, owner, |_, owner| drop(owner))
        }?;
        if view.as_ptr() != data.cast_const() {
            return Err(Error::new(
                Status::GenericFailure,
                "this runtime copies external buffers; axon needs memory shared with JavaScript"
                    .to_owned(),
            ));
        }
        self.exported.store(true, Ordering::Relaxed);
        Ok(view)
    }
}
