//! Columnar batches: many operations in one call, written into caller-owned outputs. One loop
//! ([`MatchingEngine::run_batch`]) runs every batch; two formats feed it:
//!
//! - [`BatchOps`] ([`lots`]): prices in ticks, quantities in lots, `u64` order ids; results as
//!   [`OpResult`]s and fills as [`Fill`]s. For Rust callers.
//! - [`FloatBatch`] ([`float`]): prices and quantities in real units, `f64` order ids (with
//!   references to orders added earlier in the same call); results and fills as rows of `f64`
//!   ([`RESULT_STRIDE`], [`FILL_STRIDE`]). The layout of the Node binding's typed arrays: the binding
//!   only turns typed arrays into slices and calls [`MatchingEngine::execute_float_batch`].
//!
//! # Operations
//! `op` `0` limit add, `1` market, `2` cancel, `3` replace; `side` `0` buy, `1` sell; `tif` `0`
//! GTC, `1` IOC, `2` FOK (market GTC = IOC); `flags` bit 0 = post-only (limit GTC only), other bits
//! must be 0. A replace's `price`/`quantity` are the new price and open quantity; fields an op does
//! not use may hold anything.
//!
//! # Results
//! Per operation: order id (new id for limit/market, target for cancel/replace; 0 for a
//! limit/market that failed), status, reason, filled and remaining quantity, and the range of its
//! fills in the fills output:
//!
//! | `status`                 | meaning                                                        |
//! |--------------------------|----------------------------------------------------------------|
//! | `0` [`STATUS_NEW`]       | resting, no fill in this op                                    |
//! | `1` [`STATUS_PARTIAL`]   | filled partly in this op, remainder resting                    |
//! | `2` [`STATUS_FILLED`]    | completely filled                                              |
//! | `3` [`STATUS_CANCELLED`] | IOC/market remainder cancelled, or cancel op succeeded (remaining = cancelled, filled = filled before) |
//! | `4` [`STATUS_REJECTED`]  | `reason` = `1` FOK not fillable, `2` post-only would cross; nothing changed |
//! | `5` [`STATUS_ERROR`]     | `reason` = [`EngineError::code`]; nothing changed              |
//!
//! # Invariants
//! - One loop: both formats run [`MatchingEngine::run_batch`], and each op calls the very
//!   `submit` / `cancel` / `replace` of the single-call API, so outcomes, ids and fills are those of
//!   the same ops sent one by one.
//! - A format converts an op before the engine sees it (in the order side, tif, flags, symbol,
//!   quantity, price; grid conversion through [`crate::SymbolSpec`] only); a conversion error is a
//!   status-5 row, changes nothing and does not stop the batch.
//! - An operation runs only if the results output has a row for it **and** the fills output has
//!   room for its worst-case number of fills (computed read-only before it runs: the resting orders
//!   on the opposite side, or when those could overflow the room, the makers its price crosses).
//!   Otherwise the batch stops *before* it ([`BatchSummary::stop`]) with everything before it
//!   applied and nothing of it; the caller drains the outputs and calls again with the rest. An op
//!   that needs more fill room than the whole fills output can never run: give more room.
//! - Only malformed input as a whole (columns of different lengths, a range outside them) fails
//!   the call, before any operation runs.
//! - No heap allocation, no hashing per operation; outputs are caller-owned.

mod float;
mod lots;

pub use float::{
    fill_row, order_id_from_f64, units_from_f64, FloatBatch, FILL_COLUMNS, FILL_STRIDE,
    RESULT_COLUMNS, RESULT_STRIDE, STOP_COMPLETED, STOP_FILLS_FULL, STOP_RESULTS_FULL,
};
pub use lots::BatchOps;

use crate::engine::MatchingEngine;
use crate::error::EngineError;
use crate::symbol::SymbolSpec;
use crate::types::{
    FillSink, OrderId, OrderRequest, OrderStatus, OrderType, RejectReason, Side, SubmitResult,
    SymbolId,
};

/// `op` code: limit add.
pub const OP_LIMIT: u8 = 0;
/// `op` code: market order.
pub const OP_MARKET: u8 = 1;
/// `op` code: cancel.
pub const OP_CANCEL: u8 = 2;
/// `op` code: replace.
pub const OP_REPLACE: u8 = 3;
/// `flags` bit: post-only.
pub const FLAG_POST_ONLY: u8 = 1;

/// Resting, no fill.
pub const STATUS_NEW: u8 = 0;
/// Partially filled, remainder resting.
pub const STATUS_PARTIAL: u8 = 1;
/// Completely filled.
pub const STATUS_FILLED: u8 = 2;
/// Remainder cancelled / cancel succeeded.
pub const STATUS_CANCELLED: u8 = 3;
/// Business rejection (see `reason`).
pub const STATUS_REJECTED: u8 = 4;
/// Invalid operation (see `reason` = error code).
pub const STATUS_ERROR: u8 = 5;

/// Per-operation result of a [`BatchOps`] batch (see module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(C)]
pub struct OpResult {
    /// Order id (new id for limit/market, target id for cancel/replace; 0 on
    /// error for limit/market).
    pub order_id: u64,
    /// Lots filled by this op (cancel: lots filled before the cancel).
    pub filled_lots: u64,
    /// Lots resting / cancelled / untouched after this op.
    pub remaining_lots: u64,
    /// Index of this op's first fill in the `fills` output.
    pub fills_start: u32,
    /// Number of fills produced by this op.
    pub fills_len: u32,
    /// Status code (`STATUS_*`).
    pub status: u8,
    /// Reject reason (status 4) or error code (status 5); 0 otherwise.
    pub reason: u8,
}

/// Why a batch call returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BatchStop {
    /// Every operation was executed.
    Completed,
    /// `results` is full.
    ResultsFull,
    /// The next operation might not fit into the remaining `fills` room.
    FillsFull,
}

/// What a batch call did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BatchSummary {
    /// Operations executed (= results written), a prefix of the input.
    pub ops_done: usize,
    /// Fills written to the start of `fills`.
    pub fills_written: usize,
    /// Why it returned.
    pub stop: BatchStop,
}

/// One operation, converted to engine units.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Op {
    Submit(OrderRequest),
    Cancel(OrderId),
    Replace {
        id: OrderId,
        symbol: SymbolId,
        side: Side,
        price_ticks: i64,
        qty_lots: u64,
    },
}

/// What one op did, in engine units (`fills_start` / `fills_len` index the fills output).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Outcome {
    pub order_id: OrderId,
    pub status: u8,
    pub reason: u8,
    pub filled_lots: u64,
    pub remaining_lots: u64,
    pub fills_start: usize,
    pub fills_len: usize,
}

/// A batch format: its input, converted one op at a time, and its outputs.
pub(crate) trait BatchIo {
    /// Fill sink writing fill rows of one symbol from a given row of the fills output.
    type Fills<'s>: FillSink
    where
        Self: 's;
    /// Operations in this call.
    fn len(&self) -> usize;
    /// Result rows the results output holds.
    fn result_room(&self) -> usize;
    /// Fill rows the fills output holds.
    fn fill_room(&self) -> usize;
    /// Convert op `row` against the engine's current state (results of earlier rows are written).
    fn op(&self, row: usize, engine: &MatchingEngine) -> Result<Op, EngineError>;
    /// A sink writing fills of the symbol `spec` from fill row `at` on.
    fn fills(&mut self, at: usize, spec: &SymbolSpec) -> Self::Fills<'_>;
    /// Fill rows a sink from [`fills`](Self::fills) wrote.
    fn written(sink: &Self::Fills<'_>) -> usize;
    /// Write the result row of an op that ran, in the units of `spec`.
    fn done(&mut self, row: usize, outcome: &Outcome, spec: &SymbolSpec);
    /// Write the status-5 row of op `row`, whose fills would have started at `fills_start`.
    fn failed(&mut self, row: usize, error: EngineError, fills_start: usize);
}

#[inline(always)]
fn reason_of(status: OrderStatus) -> u8 {
    match status {
        OrderStatus::Rejected(RejectReason::FokNotFillable) => RejectReason::FokNotFillable as u8,
        OrderStatus::Rejected(RejectReason::PostOnlyWouldCross) => {
            RejectReason::PostOnlyWouldCross as u8
        }
        _ => 0,
    }
}

#[inline(always)]
fn outcome_of(r: &SubmitResult, fills_start: usize, fills_len: usize) -> Outcome {
    Outcome {
        order_id: r.order_id,
        status: r.status.code(),
        reason: reason_of(r.status),
        filled_lots: r.filled_lots,
        remaining_lots: r.remaining_lots,
        fills_start,
        fills_len,
    }
}

impl MatchingEngine {
    /// Worst-case fills of a taker on `side` of `symbol` (see the module invariants): the orders
    /// resting on the opposite side when they fit in `room` (O(1)), else the makers its price
    /// crosses until its quantity is covered. Read-only.
    #[inline(always)]
    fn fill_bound(
        &self,
        symbol: u32,
        side: Side,
        market: bool,
        price_ticks: i64,
        qty_lots: u64,
        room: u64,
    ) -> u64 {
        let Some(book) = self.books.get(symbol as usize) else {
            return 0;
        };
        let makers = book.side(side.opposite()).order_count;
        if makers <= room {
            makers
        } else {
            self.max_fills_for(symbol, side, market, price_ticks, qty_lots)
        }
    }

    /// The batch loop: run `io`'s ops in order, writing one result row per op and the fills of
    /// each op after those of the ops before it, until done or an output is full.
    pub(crate) fn run_batch<Io: BatchIo>(&mut self, io: &mut Io) -> BatchSummary {
        let ops = io.len();
        let rows = io.result_room();
        let fill_room = io.fill_room();
        let mut done = 0usize;
        let mut fills = 0usize;
        let mut stop = BatchStop::Completed;
        while done < ops {
            if done >= rows {
                stop = BatchStop::ResultsFull;
                break;
            }
            let op = match io.op(done, self) {
                Ok(op) => op,
                Err(error) => {
                    io.failed(done, error, fills);
                    done += 1;
                    continue;
                }
            };
            let room = (fill_room - fills) as u64;
            let ran = match op {
                Op::Cancel(id) => self.cancel(id).map(|o| {
                    let outcome = Outcome {
                        order_id: id,
                        status: STATUS_CANCELLED,
                        reason: 0,
                        filled_lots: o.original_lots - o.remaining_lots,
                        remaining_lots: o.remaining_lots,
                        fills_start: fills,
                        fills_len: 0,
                    };
                    (outcome, o.symbol)
                }),
                Op::Submit(req) => {
                    // A post-only order never trades.
                    let bound = if req.post_only {
                        0
                    } else {
                        self.fill_bound(
                            req.symbol.0,
                            req.side,
                            req.order_type == OrderType::Market,
                            req.price_ticks,
                            req.qty_lots,
                            room,
                        )
                    };
                    if bound > room {
                        stop = BatchStop::FillsFull;
                        break;
                    }
                    match self.books.get(req.symbol.0 as usize) {
                        None => Err(EngineError::UnknownSymbol(req.symbol.0)),
                        Some(book) => {
                            let spec = book.spec;
                            let mut sink = io.fills(fills, &spec);
                            let r = self.submit(&req, &mut sink);
                            let n = Io::written(&sink);
                            r.map(|r| (outcome_of(&r, fills, n), req.symbol))
                        }
                    }
                }
                Op::Replace {
                    id,
                    symbol,
                    side,
                    price_ticks,
                    qty_lots,
                } => {
                    let bound = self.fill_bound(symbol.0, side, false, price_ticks, qty_lots, room);
                    if bound > room {
                        stop = BatchStop::FillsFull;
                        break;
                    }
                    let spec = self.books[symbol.0 as usize].spec;
                    let mut sink = io.fills(fills, &spec);
                    let r = self.replace(id, price_ticks, qty_lots, &mut sink);
                    let n = Io::written(&sink);
                    r.map(|r| (outcome_of(&r, fills, n), symbol))
                }
            };
            match ran {
                Ok((outcome, symbol)) => {
                    fills += outcome.fills_len;
                    io.done(done, &outcome, &self.books[symbol.0 as usize].spec);
                }
                Err(error) => io.failed(done, error, fills),
            }
            done += 1;
        }
        BatchSummary {
            ops_done: done,
            fills_written: fills,
            stop,
        }
    }
}
