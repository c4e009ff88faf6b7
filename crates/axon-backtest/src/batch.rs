//! Columnar batch API (designed for a future Node/napi binding).
//!
//! # Input layout ([`BatchOps`])
//! Eight parallel slices, all of the same length `n` (one entry per
//! operation, executed in index order):
//!
//! | slice         | type  | meaning                                                     |
//! |---------------|-------|-------------------------------------------------------------|
//! | `op`          | `u8`  | `0` limit add, `1` market, `2` cancel, `3` replace          |
//! | `symbol`      | `u32` | symbol id (limit, market)                                   |
//! | `side`        | `u8`  | `0` buy, `1` sell (limit, market)                           |
//! | `price_ticks` | `i64` | limit price (limit) / new price (replace); else ignored     |
//! | `qty_lots`    | `u64` | quantity (limit, market) / new open quantity (replace)      |
//! | `tif`         | `u8`  | `0` GTC, `1` IOC, `2` FOK (limit, market; market GTC = IOC) |
//! | `flags`       | `u8`  | bit 0 = post-only (limit GTC only); other bits must be 0    |
//! | `order_id`    | `u64` | target order (cancel, replace); else ignored                |
//!
//! Fields marked "ignored" for an op may hold anything.
//!
//! # Output layout
//! - `results[i]` ([`OpResult`], `#[repr(C)]`) describes operation `i`:
//!   `order_id`, `filled_lots`, `remaining_lots`, `fills_start`/`fills_len`
//!   (the range of this op's fills in `fills`), `status` and `reason`:
//!
//!   | `status`              | meaning                                                        |
//!   |-----------------------|----------------------------------------------------------------|
//!   | `0` [`STATUS_NEW`]     | resting, no fill in this op                                    |
//!   | `1` [`STATUS_PARTIAL`] | filled partly in this op, remainder resting                    |
//!   | `2` [`STATUS_FILLED`]  | completely filled                                              |
//!   | `3` [`STATUS_CANCELLED`]| IOC/market remainder cancelled, or cancel op succeeded (`remaining_lots` = cancelled lots, `filled_lots` = filled before) |
//!   | `4` [`STATUS_REJECTED`]| `reason` = `1` FOK not fillable, `2` post-only would cross; nothing changed |
//!   | `5` [`STATUS_ERROR`]   | `reason` = [`EngineError::code`]; nothing changed              |
//!
//! - `fills[..fills_written]` receives every [`Fill`] (`#[repr(C)]`) in
//!   `seq` order.
//!
//! # Invariants
//! - No heap allocation per operation; outputs are caller-owned.
//! - An operation is executed only if `results` has room for it **and**
//!   `fills` has room for its worst-case number of fills (computed read-only
//!   from level order counts before executing). Otherwise the batch stops
//!   *before* that operation ([`BatchSummary::stop`]) with everything before
//!   it applied and nothing of it applied; the caller drains the outputs and
//!   calls again with the remaining suffix. If a single operation needs more
//!   fill room than the whole `fills` slice, it can never run: give a bigger
//!   slice (or use [`MatchingEngine::submit`] with a `Vec`).
//! - A failing operation (status 5) changes nothing and does not stop the
//!   batch; only mismatched slice lengths make the whole call fail, before
//!   any operation runs.
//! - Results are identical to calling `submit`/`cancel`/`replace` one by one.

use crate::engine::MatchingEngine;
use crate::error::EngineError;
use crate::types::{
    Fill, FillSink, OrderId, OrderRequest, OrderStatus, OrderType, RejectReason, Side,
    SubmitResult, SymbolId, TimeInForce,
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

/// Columnar batch input (see module docs for the layout).
#[derive(Debug, Clone, Copy)]
pub struct BatchOps<'a> {
    /// Operation codes.
    pub op: &'a [u8],
    /// Symbol ids.
    pub symbol: &'a [u32],
    /// Side codes.
    pub side: &'a [u8],
    /// Prices in ticks.
    pub price_ticks: &'a [i64],
    /// Quantities in lots.
    pub qty_lots: &'a [u64],
    /// Time-in-force codes.
    pub tif: &'a [u8],
    /// Flag bits.
    pub flags: &'a [u8],
    /// Target order ids.
    pub order_id: &'a [u64],
}

impl BatchOps<'_> {
    /// Number of operations.
    pub fn len(&self) -> usize {
        self.op.len()
    }
    /// True if there is no operation.
    pub fn is_empty(&self) -> bool {
        self.op.is_empty()
    }
    fn check(&self) -> Result<(), EngineError> {
        let n = self.op.len();
        let lens = [
            ("symbol", self.symbol.len()),
            ("side", self.side.len()),
            ("price_ticks", self.price_ticks.len()),
            ("qty_lots", self.qty_lots.len()),
            ("tif", self.tif.len()),
            ("flags", self.flags.len()),
            ("order_id", self.order_id.len()),
        ];
        for (field, l) in lens {
            if l != n {
                return Err(EngineError::BatchLengthMismatch { field });
            }
        }
        Ok(())
    }
}

/// Per-operation result (see module docs).
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

struct SliceSink<'a> {
    buf: &'a mut [Fill],
    len: usize,
}

impl FillSink for SliceSink<'_> {
    #[inline(always)]
    fn push_fill(&mut self, fill: Fill) {
        // Room is guaranteed by the pre-check in `execute_batch`.
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = fill;
            self.len += 1;
        } else {
            debug_assert!(false, "batch fill bound violated");
        }
    }
}

fn from_submit(r: &SubmitResult) -> OpResult {
    OpResult {
        order_id: r.order_id.0,
        filled_lots: r.filled_lots,
        remaining_lots: r.remaining_lots,
        fills_start: 0,
        fills_len: 0,
        status: r.status.code(),
        reason: match r.status {
            OrderStatus::Rejected(RejectReason::FokNotFillable) => {
                RejectReason::FokNotFillable as u8
            }
            OrderStatus::Rejected(RejectReason::PostOnlyWouldCross) => {
                RejectReason::PostOnlyWouldCross as u8
            }
            _ => 0,
        },
    }
}

fn from_error(order_id: u64, e: EngineError) -> OpResult {
    OpResult {
        order_id,
        status: STATUS_ERROR,
        reason: e.code(),
        ..OpResult::default()
    }
}

impl MatchingEngine {
    /// Decode op `i` of `ops` into an order request (limit/market only).
    fn decode_order(
        ops: &BatchOps<'_>,
        i: usize,
        market: bool,
    ) -> Result<OrderRequest, EngineError> {
        let side =
            Side::from_code(ops.side[i]).ok_or(EngineError::InvalidField { field: "side" })?;
        let tif =
            TimeInForce::from_code(ops.tif[i]).ok_or(EngineError::InvalidField { field: "tif" })?;
        let flags = ops.flags[i];
        if flags & !FLAG_POST_ONLY != 0 {
            return Err(EngineError::InvalidField { field: "flags" });
        }
        Ok(OrderRequest {
            symbol: SymbolId(ops.symbol[i]),
            side,
            order_type: if market {
                OrderType::Market
            } else {
                OrderType::Limit
            },
            tif,
            price_ticks: if market { 0 } else { ops.price_ticks[i] },
            qty_lots: ops.qty_lots[i],
            post_only: flags & FLAG_POST_ONLY != 0,
        })
    }

    /// Execute a columnar batch (layout in the [module docs](crate::batch)).
    /// Writes `results[..ops_done]` and `fills[..fills_written]`. Fails only
    /// if the input slices have different lengths (then nothing runs).
    pub fn execute_batch(
        &mut self,
        ops: &BatchOps<'_>,
        results: &mut [OpResult],
        fills: &mut [Fill],
    ) -> Result<BatchSummary, EngineError> {
        ops.check()?;
        let mut sink = SliceSink { buf: fills, len: 0 };
        let n = ops.len();
        let mut done = 0usize;
        let mut stop = BatchStop::Completed;
        while done < n {
            let i = done;
            let Some(out) = results.get_mut(i) else {
                stop = BatchStop::ResultsFull;
                break;
            };
            let room = (sink.buf.len() - sink.len) as u64;
            let op = ops.op[i];
            // Worst-case fill count (read-only) before executing anything.
            let bound = match op {
                OP_LIMIT | OP_MARKET => match Side::from_code(ops.side[i]) {
                    Some(side) => self.max_fills_for(
                        ops.symbol[i],
                        side,
                        op == OP_MARKET,
                        ops.price_ticks[i],
                        ops.qty_lots[i],
                    ),
                    None => 0,
                },
                OP_REPLACE => match self.live_order_side(OrderId(ops.order_id[i])) {
                    Some((sym, side)) => {
                        self.max_fills_for(sym, side, false, ops.price_ticks[i], ops.qty_lots[i])
                    }
                    None => 0,
                },
                _ => 0,
            };
            if bound > room {
                stop = BatchStop::FillsFull;
                break;
            }
            let start = sink.len;
            let mut r = match op {
                OP_LIMIT | OP_MARKET => match Self::decode_order(ops, i, op == OP_MARKET)
                    .and_then(|req| self.submit(&req, &mut sink))
                {
                    Ok(r) => from_submit(&r),
                    Err(e) => from_error(0, e),
                },
                OP_CANCEL => match self.cancel(OrderId(ops.order_id[i])) {
                    Ok(o) => OpResult {
                        order_id: o.id.0,
                        filled_lots: o.original_lots - o.remaining_lots,
                        remaining_lots: o.remaining_lots,
                        status: STATUS_CANCELLED,
                        ..OpResult::default()
                    },
                    Err(e) => from_error(ops.order_id[i], e),
                },
                OP_REPLACE => {
                    match self.replace(
                        OrderId(ops.order_id[i]),
                        ops.price_ticks[i],
                        ops.qty_lots[i],
                        &mut sink,
                    ) {
                        Ok(r) => from_submit(&r),
                        Err(e) => from_error(ops.order_id[i], e),
                    }
                }
                _ => from_error(0, EngineError::InvalidField { field: "op" }),
            };
            r.fills_start = start as u32;
            r.fills_len = (sink.len - start) as u32;
            *out = r;
            done += 1;
        }
        Ok(BatchSummary {
            ops_done: done,
            fills_written: sink.len,
            stop,
        })
    }
}
