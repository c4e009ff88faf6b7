//! `axon-backtest`: a multi-symbol L1 price-time-priority matching engine.
//!
//! Pure Rust, no I/O, no `unsafe`, no dependencies.
//!
//! Crate-wide invariants:
//! - Prices are integer ticks (`i64`, `> 0`) and quantities integer lots
//!   (`u64`, `> 0`) inside the engine; [`SymbolSpec`] converts from/to `f64`
//!   and rejects off-grid, zero, negative and non-finite values.
//! - Matching is price-time priority: best price first, FIFO within a level,
//!   fills at the maker's price; a resting order is in exactly one level list.
//! - Every `Err` leaves the engine unchanged; business rejections (FOK not
//!   fillable, post-only would cross) are `Ok` results with
//!   [`OrderStatus::Rejected`] and also change nothing.
//! - [`Fill::seq`] is global and strictly increasing across symbols.
//! - Deterministic: identical call sequences give identical outputs.
//! - The submit/cancel/replace hot path performs no heap allocation and no
//!   hashing: orders live in a preallocated arena addressed by
//!   generation-checked [`OrderId`]s. Generations wrap within 20 bits, so
//!   every id is `< 2^52` and exact as a JavaScript number.
//!
//! ```
//! use axon_backtest::*;
//! let mut eng = MatchingEngine::with_capacity(1024);
//! let spec = SymbolSpec::new(0.01, 0.001).unwrap();
//! let btc = eng.add_symbol(spec).unwrap();
//! let mut fills = Vec::new();
//! let px = spec.price_to_ticks(100.25).unwrap();
//! let sell = eng.submit(&OrderRequest::limit(btc, Side::Sell, px, 5), &mut fills).unwrap();
//! assert_eq!(sell.status, OrderStatus::New);
//! let buy = eng.submit(&OrderRequest::market(btc, Side::Buy, 3), &mut fills).unwrap();
//! assert_eq!(buy.status, OrderStatus::Filled);
//! assert_eq!(fills[0].qty_lots, 3);
//! assert_eq!(fills[0].maker_order_id, sell.order_id);
//! assert_eq!(eng.best_ask(btc).unwrap().unwrap().total_lots, 2);
//! ```

pub mod batch;
mod book;
mod engine;
mod error;
mod ladder;
mod symbol;
mod types;

#[cfg(test)]
mod tests;

pub use batch::{BatchOps, BatchStop, BatchSummary, FloatBatch, OpResult};
pub use engine::{MatchingEngine, OpenOrders, DEFAULT_CAPACITY, MAX_CAPACITY};
pub use error::EngineError;
pub use ladder::Ladder;
pub use symbol::{grid_divisor, grid_units, u64_to_f64, SymbolSpec, MAX_EXACT_UNITS};
pub use types::{
    Depth, Fill, FillSink, FnSink, LevelInfo, NullSink, OpenOrder, OrderId, OrderRequest,
    OrderStatus, OrderType, RejectReason, Side, SubmitResult, SymbolId, TimeInForce,
    MAX_GENERATION, MAX_ORDER_ID,
};
