//! The engine-unit batch format: prices in ticks, quantities in lots, results as [`OpResult`]s and
//! fills as [`Fill`]s (the loop and its invariants: [`crate::batch`]).
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
//! Invariant: `results[i]` describes `op[i]`; `fills[..fills_written]` holds every fill in `seq`
//! order.

use super::{BatchIo, BatchSummary, Op, OpResult, Outcome, FLAG_POST_ONLY, STATUS_ERROR};
use super::{OP_CANCEL, OP_LIMIT, OP_MARKET, OP_REPLACE};
use crate::engine::MatchingEngine;
use crate::error::EngineError;
use crate::symbol::SymbolSpec;
use crate::types::{Fill, FillSink, OrderId, OrderRequest, OrderType, Side, SymbolId, TimeInForce};

/// Columnar batch input in engine units (layout in the module docs).
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

struct LotsIo<'a, 'o> {
    ops: &'a BatchOps<'a>,
    results: &'o mut [OpResult],
    fills: &'o mut [Fill],
}

/// Fill sink into a `[Fill]` slice; room is guaranteed by the loop's worst-case bound.
struct SliceSink<'a> {
    buf: &'a mut [Fill],
    len: usize,
}

impl FillSink for SliceSink<'_> {
    #[inline(always)]
    fn push_fill(&mut self, fill: Fill) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = fill;
            self.len += 1;
        } else {
            debug_assert!(false, "batch fill bound violated");
        }
    }
}

impl BatchIo for LotsIo<'_, '_> {
    type Fills<'s>
        = SliceSink<'s>
    where
        Self: 's;

    fn len(&self) -> usize {
        self.ops.len()
    }

    fn result_room(&self) -> usize {
        self.results.len()
    }

    fn fill_room(&self) -> usize {
        self.fills.len()
    }

    #[inline(always)]
    fn op(&self, i: usize, engine: &MatchingEngine) -> Result<Op, EngineError> {
        let ops = self.ops;
        match ops.op[i] {
            code @ (OP_LIMIT | OP_MARKET) => {
                let side = Side::from_code(ops.side[i])
                    .ok_or(EngineError::InvalidField { field: "side" })?;
                let tif = TimeInForce::from_code(ops.tif[i])
                    .ok_or(EngineError::InvalidField { field: "tif" })?;
                let flags = ops.flags[i];
                if flags & !FLAG_POST_ONLY != 0 {
                    return Err(EngineError::InvalidField { field: "flags" });
                }
                let market = code == OP_MARKET;
                Ok(Op::Submit(OrderRequest {
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
                }))
            }
            OP_CANCEL => Ok(Op::Cancel(OrderId(ops.order_id[i]))),
            OP_REPLACE => {
                let id = OrderId(ops.order_id[i]);
                let (symbol, side) = engine
                    .live_order_side(id)
                    .ok_or(EngineError::UnknownOrder(id.0))?;
                Ok(Op::Replace {
                    id,
                    symbol: SymbolId(symbol),
                    side,
                    price_ticks: ops.price_ticks[i],
                    qty_lots: ops.qty_lots[i],
                })
            }
            _ => Err(EngineError::InvalidField { field: "op" }),
        }
    }

    fn fills(&mut self, at: usize, _spec: &SymbolSpec) -> SliceSink<'_> {
        SliceSink {
            buf: &mut self.fills[at..],
            len: 0,
        }
    }

    fn written(sink: &SliceSink<'_>) -> usize {
        sink.len
    }

    fn done(&mut self, i: usize, o: &Outcome, _spec: &SymbolSpec) {
        self.results[i] = OpResult {
            order_id: o.order_id.0,
            filled_lots: o.filled_lots,
            remaining_lots: o.remaining_lots,
            fills_start: o.fills_start as u32,
            fills_len: o.fills_len as u32,
            status: o.status,
            reason: o.reason,
        };
    }

    fn failed(&mut self, i: usize, error: EngineError, fills_start: usize) {
        let order_id = match self.ops.op[i] {
            OP_CANCEL | OP_REPLACE => self.ops.order_id[i],
            _ => 0,
        };
        self.results[i] = OpResult {
            order_id,
            fills_start: fills_start as u32,
            status: STATUS_ERROR,
            reason: error.code(),
            ..OpResult::default()
        };
    }
}

impl MatchingEngine {
    /// Execute a batch in engine units (layout in [`BatchOps`]'s module, loop and invariants in
    /// [`crate::batch`]). Writes `results[..ops_done]` and `fills[..fills_written]`. Fails only if
    /// the input slices have different lengths (then nothing runs).
    pub fn execute_batch(
        &mut self,
        ops: &BatchOps<'_>,
        results: &mut [OpResult],
        fills: &mut [Fill],
    ) -> Result<BatchSummary, EngineError> {
        ops.check()?;
        Ok(self.run_batch(&mut LotsIo {
            ops,
            results,
            fills,
        }))
    }
}
