//! The real-unit batch format, the layout of the Node binding's typed arrays: prices and
//! quantities as `f64` in real units, converted on the symbol's grid ([`SymbolSpec`], the one
//! grid); results and fills as rows of `f64` (the loop and its invariants: [`crate::batch`]).
//!
//! | column     | type  | meaning                                                              |
//! |------------|-------|----------------------------------------------------------------------|
//! | `op`       | `u8`  | `0` limit, `1` market, `2` cancel, `3` replace                       |
//! | `symbol`   | `u32` | symbol id (limit, market)                                            |
//! | `side`     | `u8`  | `0` buy, `1` sell (limit, market)                                    |
//! | `price`    | `f64` | limit price / replace's new price, real units; else ignored          |
//! | `quantity` | `f64` | quantity / replace's new open quantity, real units                   |
//! | `tif`      | `u8`  | `0` GTC, `1` IOC, `2` FOK (limit, market)                            |
//! | `flags`    | `u8`  | bit 0 = post-only (limit GTC only); other bits must be 0             |
//! | `order_id` | `f64` | target (cancel, replace): an order id, or `-(k + 1)` for the order   |
//! |            |       | created by op `k` of the same call (`start <= k < i`)                |
//!
//! Invariants:
//! - Ops `[start, end)` run; result row `i` ([`RESULT_STRIDE`] numbers, [`RESULT_COLUMNS`])
//!   describes op `start + i`; fill rows ([`FILL_STRIDE`] numbers, [`FILL_COLUMNS`]) start at row
//!   0 and `fill_start` counts from there.
//! - Quantities and prices are written as the symbol's canonical floats
//!   ([`SymbolSpec::ticks_to_price`], [`SymbolSpec::lots_to_qty`]); a fill row also carries them in
//!   engine units (`PriceTicks`, `QuantityLots`, exact: at most 2^53), so a host that keeps units
//!   never converts a float back; ids, codes and counts as exact whole numbers.
//! - An order id read from a float must be a whole number in `[0, MAX_ORDER_ID]`; a reference
//!   `-(k + 1)` must name an op of this call before the current one (else `InvalidField
//!   { field: "order_id" }`) and resolves to the id in that op's result row.
//! - A failed op's row names its target for cancel/replace (the resolved id, or the raw value when
//!   it does not resolve) and 0 otherwise.

use super::{BatchIo, BatchStop, BatchSummary, Op, Outcome, FLAG_POST_ONLY, STATUS_ERROR};
use super::{OP_CANCEL, OP_LIMIT, OP_MARKET, OP_REPLACE};
use crate::engine::MatchingEngine;
use crate::error::EngineError;
use crate::symbol::{SymbolSpec, MAX_EXACT_UNITS};
use crate::types::{
    Fill, FillSink, OrderId, OrderRequest, OrderType, Side, SymbolId, TimeInForce, MAX_ORDER_ID,
};

/// Names of a result row's numbers, in order.
pub const RESULT_COLUMNS: [&str; 7] = [
    "OrderId",
    "Status",
    "Reason",
    "FilledQuantity",
    "RemainingQuantity",
    "FillStart",
    "FillCount",
];
/// Numbers per result row.
pub const RESULT_STRIDE: usize = RESULT_COLUMNS.len();

/// Names of a fill row's numbers, in order.
pub const FILL_COLUMNS: [&str; 9] = [
    "Seq",
    "MakerOrderId",
    "TakerOrderId",
    "Symbol",
    "Price",
    "Quantity",
    "TakerSide",
    "PriceTicks",
    "QuantityLots",
];
/// Numbers per fill row.
pub const FILL_STRIDE: usize = FILL_COLUMNS.len();

/// [`BatchStop`] as a number: completed.
pub const STOP_COMPLETED: u8 = 0;
/// [`BatchStop`] as a number: the results output is full.
pub const STOP_RESULTS_FULL: u8 = 1;
/// [`BatchStop`] as a number: the fills output might not hold the next op.
pub const STOP_FILLS_FULL: u8 = 2;

impl BatchStop {
    /// `STOP_*` number.
    pub const fn code(self) -> u8 {
        match self {
            BatchStop::Completed => STOP_COMPLETED,
            BatchStop::ResultsFull => STOP_RESULTS_FULL,
            BatchStop::FillsFull => STOP_FILLS_FULL,
        }
    }
}

/// A columnar batch in real units (layout in the module docs).
#[derive(Debug, Clone, Copy)]
pub struct FloatBatch<'a> {
    /// Operation codes.
    pub op: &'a [u8],
    /// Symbol ids.
    pub symbol: &'a [u32],
    /// Side codes.
    pub side: &'a [u8],
    /// Prices, real units.
    pub price: &'a [f64],
    /// Quantities, real units.
    pub quantity: &'a [f64],
    /// Time-in-force codes.
    pub tif: &'a [u8],
    /// Flag bits.
    pub flags: &'a [u8],
    /// Targets: order ids, or `-(k + 1)` references.
    pub order_id: &'a [f64],
    /// First op to run.
    pub start: usize,
    /// One past the last op to run.
    pub end: usize,
}

impl FloatBatch<'_> {
    fn check(&self) -> Result<(), EngineError> {
        let n = self.op.len();
        let lens = [
            ("symbol", self.symbol.len()),
            ("side", self.side.len()),
            ("price", self.price.len()),
            ("quantity", self.quantity.len()),
            ("tif", self.tif.len()),
            ("flags", self.flags.len()),
            ("order_id", self.order_id.len()),
        ];
        for (field, l) in lens {
            if l != n {
                return Err(EngineError::BatchLengthMismatch { field });
            }
        }
        if self.end > n {
            return Err(EngineError::InvalidField { field: "end" });
        }
        if self.start > self.end {
            return Err(EngineError::InvalidField { field: "start" });
        }
        Ok(())
    }
}

/// A whole number in `[0, max]`, else `InvalidField { field }`.
#[inline(always)]
fn whole(v: f64, max: f64, field: &'static str) -> Result<u64, EngineError> {
    // `as` truncates (saturating); equal back means a whole number. Cheaper than `fract`, which is
    // a libm call on baseline x86-64.
    // `max` is below 2^53, so the `i64` conversions (single instructions) are exact.
    if v >= 0.0 && v <= max && (v as i64) as f64 == v {
        Ok(v as i64 as u64)
    } else {
        Err(EngineError::InvalidField { field })
    }
}

/// An order id given as a float: a whole number in `[0, MAX_ORDER_ID]`, else
/// `InvalidField { field: "order_id" }`.
#[inline(always)]
pub fn order_id_from_f64(v: f64) -> Result<OrderId, EngineError> {
    whole(v, MAX_ORDER_ID as f64, "order_id").map(OrderId)
}

/// An id, sequence number or row index as a float: all are below 2^63 (ids below 2^52, so
/// exact), where the signed conversion is one instruction.
#[inline(always)]
fn count_f64(v: u64) -> f64 {
    v as i64 as f64
}

/// A fill as a row of [`FILL_STRIDE`] numbers ([`FILL_COLUMNS`]) in the units of `spec`.
#[inline(always)]
pub fn fill_row(fill: &Fill, spec: &SymbolSpec) -> [f64; FILL_STRIDE] {
    [
        count_f64(fill.seq),
        count_f64(fill.maker_order_id.0),
        count_f64(fill.taker_order_id.0),
        f64::from(fill.symbol.0),
        spec.ticks_to_price(fill.price_ticks),
        spec.lots_to_qty(fill.qty_lots),
        f64::from(fill.taker_side as u8),
        fill.price_ticks as f64,
        count_f64(fill.qty_lots),
    ]
}

/// Whole engine units (ticks or lots) given as a float, checked as [`SymbolSpec`] checks a real
/// value: `NonFinite`, `NonPositive` (0 or less), `OutOfRange` (above [`MAX_EXACT_UNITS`]),
/// `OffGrid` (a fraction of a unit), each naming `field`.
#[inline(always)]
pub fn units_from_f64(v: f64, field: &'static str) -> Result<u64, EngineError> {
    if !v.is_finite() {
        return Err(EngineError::NonFinite { field });
    }
    if v <= 0.0 {
        return Err(EngineError::NonPositive { field });
    }
    if v > MAX_EXACT_UNITS as f64 {
        return Err(EngineError::OutOfRange { field });
    }
    // 0 < v <= 2^53: the `i64` round trip is exact and equal back only for a whole number.
    if (v as i64) as f64 != v {
        return Err(EngineError::OffGrid { field });
    }
    Ok(v as i64 as u64)
}

impl MatchingEngine {
    /// A new order from engine units given as floats (price in ticks, quantity in lots; for a
    /// host that keeps units), checked in the order side, tif, symbol, quantity, price as
    /// [`float_request`](Self::float_request) checks real units (a market order's price is
    /// ignored). Nothing changes.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub fn units_request(
        &self,
        symbol: u32,
        side: u8,
        market: bool,
        price_ticks: f64,
        qty_lots: f64,
        tif: u8,
        post_only: bool,
    ) -> Result<OrderRequest, EngineError> {
        let side = Side::from_code(side).ok_or(EngineError::InvalidField { field: "side" })?;
        let tif = TimeInForce::from_code(tif).ok_or(EngineError::InvalidField { field: "tif" })?;
        if self.books.get(symbol as usize).is_none() {
            return Err(EngineError::UnknownSymbol(symbol));
        }
        let qty_lots = units_from_f64(qty_lots, "quantity")?;
        let price_ticks = if market {
            0
        } else {
            units_from_f64(price_ticks, "price")? as i64
        };
        Ok(OrderRequest {
            symbol: SymbolId(symbol),
            side,
            order_type: if market {
                OrderType::Market
            } else {
                OrderType::Limit
            },
            tif,
            price_ticks,
            qty_lots,
            post_only,
        })
    }

    /// Symbol of the live order `id` and its new ticks and lots, given as floats, for a replace
    /// in engine units. `UnknownOrder` if `id` is not resting. Nothing changes.
    #[inline(always)]
    pub fn units_replace(
        &self,
        id: OrderId,
        price_ticks: f64,
        qty_lots: f64,
    ) -> Result<(SymbolId, i64, u64), EngineError> {
        let (symbol, _) = self
            .live_order_side(id)
            .ok_or(EngineError::UnknownOrder(id.0))?;
        let ticks = units_from_f64(price_ticks, "price")? as i64;
        let lots = units_from_f64(qty_lots, "quantity")?;
        Ok((SymbolId(symbol), ticks, lots))
    }

    /// A new order from real units, checked in the order side, tif, symbol, quantity, price
    /// (a market order's price is ignored). Nothing changes.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub fn float_request(
        &self,
        symbol: u32,
        side: u8,
        market: bool,
        price: f64,
        quantity: f64,
        tif: u8,
        post_only: bool,
    ) -> Result<OrderRequest, EngineError> {
        let side = Side::from_code(side).ok_or(EngineError::InvalidField { field: "side" })?;
        let tif = TimeInForce::from_code(tif).ok_or(EngineError::InvalidField { field: "tif" })?;
        let spec = &self
            .books
            .get(symbol as usize)
            .ok_or(EngineError::UnknownSymbol(symbol))?
            .spec;
        let qty_lots = spec.qty_to_lots(quantity)?;
        let price_ticks = if market {
            0
        } else {
            spec.price_to_ticks(price)?
        };
        Ok(OrderRequest {
            symbol: SymbolId(symbol),
            side,
            order_type: if market {
                OrderType::Market
            } else {
                OrderType::Limit
            },
            tif,
            price_ticks,
            qty_lots,
            post_only,
        })
    }

    /// Symbol, side, new ticks and new lots of a replace of the live order `id` from real units.
    /// `UnknownOrder` if `id` is not resting. Nothing changes.
    #[inline(always)]
    pub fn float_replace(
        &self,
        id: OrderId,
        price: f64,
        quantity: f64,
    ) -> Result<(SymbolId, Side, i64, u64), EngineError> {
        let (symbol, side) = self
            .live_order_side(id)
            .ok_or(EngineError::UnknownOrder(id.0))?;
        let spec = &self.books[symbol as usize].spec;
        let ticks = spec.price_to_ticks(price)?;
        let lots = spec.qty_to_lots(quantity)?;
        Ok((SymbolId(symbol), side, ticks, lots))
    }

    /// Execute ops `[batch.start, batch.end)` of a real-unit batch (layout in [`FloatBatch`]'s
    /// module, loop and invariants in [`crate::batch`]): result rows into `results` from row 0,
    /// fill rows into `fills` from row 0. Fails, running nothing, only if the columns have
    /// different lengths or the range is outside them.
    pub fn execute_float_batch(
        &mut self,
        batch: &FloatBatch<'_>,
        results: &mut [f64],
        fills: &mut [f64],
    ) -> Result<BatchSummary, EngineError> {
        batch.check()?;
        // Every column cut to the ops that run, all of one length: indexing them by row needs
        // no bounds check the optimizer cannot drop.
        let run = batch.start..batch.end;
        let columns = FloatBatch {
            op: &batch.op[run.clone()],
            symbol: &batch.symbol[run.clone()],
            side: &batch.side[run.clone()],
            price: &batch.price[run.clone()],
            quantity: &batch.quantity[run.clone()],
            tif: &batch.tif[run.clone()],
            flags: &batch.flags[run.clone()],
            order_id: &batch.order_id[run],
            ..*batch
        };
        Ok(self.run_batch(&mut FloatIo {
            columns: &columns,
            results,
            fills,
        }))
    }
}

/// A batch whose columns hold exactly the ops `[start, end)`: row `r` is op `start + r`.
struct FloatIo<'a, 'o> {
    columns: &'a FloatBatch<'a>,
    results: &'o mut [f64],
    fills: &'o mut [f64],
}

impl FloatIo<'_, '_> {
    /// The target of cancel/replace op `start + row`: an order id, or `-(k + 1)` = the order in
    /// the result row of op `k` of this call.
    #[inline(always)]
    fn target(&self, row: usize) -> Result<OrderId, EngineError> {
        let b = self.columns;
        let v = b.order_id[row];
        if v >= 0.0 {
            return order_id_from_f64(v);
        }
        let i = b.start + row;
        let k = whole(-v - 1.0, (i as f64) - 1.0, "order_id")? as usize;
        if k < b.start {
            return Err(EngineError::InvalidField { field: "order_id" });
        }
        order_id_from_f64(self.results[(k - b.start) * RESULT_STRIDE])
    }
}

/// Fill sink writing rows in the units of one symbol; room is guaranteed by the loop's bound.
struct RowSink<'a> {
    out: &'a mut [f64],
    spec: SymbolSpec,
    rows: usize,
}

impl FillSink for RowSink<'_> {
    #[inline(always)]
    fn push_fill(&mut self, fill: Fill) {
        let at = self.rows * FILL_STRIDE;
        if let Some(row) = self.out.get_mut(at..at + FILL_STRIDE) {
            row.copy_from_slice(&fill_row(&fill, &self.spec));
            self.rows += 1;
        } else {
            debug_assert!(false, "batch fill bound violated");
        }
    }
}

impl BatchIo for FloatIo<'_, '_> {
    type Fills<'s>
        = RowSink<'s>
    where
        Self: 's;

    fn len(&self) -> usize {
        self.columns.op.len()
    }

    fn result_room(&self) -> usize {
        self.results.len() / RESULT_STRIDE
    }

    fn fill_room(&self) -> usize {
        self.fills.len() / FILL_STRIDE
    }

    #[inline(always)]
    fn op(&self, row: usize, engine: &MatchingEngine) -> Result<Op, EngineError> {
        let b = self.columns;
        let i = row;
        match b.op[i] {
            code @ (OP_LIMIT | OP_MARKET) => {
                let flags = b.flags[i];
                if flags & !FLAG_POST_ONLY != 0 {
                    // Reported as the single-call path would: side and tif come first.
                    Side::from_code(b.side[i])
                        .ok_or(EngineError::InvalidField { field: "side" })?;
                    TimeInForce::from_code(b.tif[i])
                        .ok_or(EngineError::InvalidField { field: "tif" })?;
                    return Err(EngineError::InvalidField { field: "flags" });
                }
                engine
                    .float_request(
                        b.symbol[i],
                        b.side[i],
                        code == OP_MARKET,
                        b.price[i],
                        b.quantity[i],
                        b.tif[i],
                        flags & FLAG_POST_ONLY != 0,
                    )
                    .map(Op::Submit)
            }
            OP_CANCEL => self.target(row).map(Op::Cancel),
            OP_REPLACE => {
                let id = self.target(row)?;
                let (symbol, side, price_ticks, qty_lots) =
                    engine.float_replace(id, b.price[i], b.quantity[i])?;
                Ok(Op::Replace {
                    id,
                    symbol,
                    side,
                    price_ticks,
                    qty_lots,
                })
            }
            _ => Err(EngineError::InvalidField { field: "op" }),
        }
    }

    fn fills(&mut self, at: usize, spec: &SymbolSpec) -> RowSink<'_> {
        RowSink {
            out: &mut self.fills[at * FILL_STRIDE..],
            spec: *spec,
            rows: 0,
        }
    }

    fn written(sink: &RowSink<'_>) -> usize {
        sink.rows
    }

    #[inline(always)]
    fn done(&mut self, row: usize, o: &Outcome, spec: &SymbolSpec) {
        let at = row * RESULT_STRIDE;
        self.results[at..at + RESULT_STRIDE].copy_from_slice(&[
            count_f64(o.order_id.0),
            f64::from(o.status),
            f64::from(o.reason),
            spec.lots_to_qty(o.filled_lots),
            spec.lots_to_qty(o.remaining_lots),
            count_f64(o.fills_start as u64),
            count_f64(o.fills_len as u64),
        ]);
    }

    fn failed(&mut self, row: usize, error: EngineError, fills_start: usize) {
        let order_id = match self.columns.op[row] {
            OP_CANCEL | OP_REPLACE => self
                .target(row)
                .map_or(self.columns.order_id[row], |id| count_f64(id.0)),
            _ => 0.0,
        };
        let at = row * RESULT_STRIDE;
        self.results[at..at + RESULT_STRIDE].copy_from_slice(&[
            order_id,
            f64::from(STATUS_ERROR),
            f64::from(error.code()),
            0.0,
            0.0,
            count_f64(fills_start as u64),
            0.0,
        ]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_checked_as_real_values_are() {
        let spec = SymbolSpec::new(0.01, 0.001).expect("valid spec");
        // The same bad value in units and in real units gets the same error.
        let pairs = [
            (0.0, 0.0),
            (-3.0, -0.003),
            (1.5, 0.0015),
            (f64::NAN, f64::NAN),
            (f64::INFINITY, f64::INFINITY),
            (MAX_EXACT_UNITS as f64 * 2.0, 1e14),
        ];
        for (units, real) in pairs {
            assert_eq!(
                units_from_f64(units, "quantity"),
                spec.qty_to_lots(real).map(|_| 0),
                "{units} lots vs {real}"
            );
        }
        assert_eq!(units_from_f64(1.0, "quantity"), Ok(1));
        assert_eq!(
            units_from_f64(MAX_EXACT_UNITS as f64, "price"),
            Ok(MAX_EXACT_UNITS)
        );
    }

    #[test]
    fn a_units_request_is_the_float_request_of_the_same_order() {
        let mut engine = MatchingEngine::with_capacity(8);
        let symbol = engine
            .add_symbol(SymbolSpec::new(0.5, 0.001).expect("valid spec"))
            .expect("a symbol");
        for (side, market, tif, post_only) in [(0, false, 0, true), (1, true, 1, false)] {
            let by_units =
                engine.units_request(symbol.0, side, market, 201.0, 2500.0, tif, post_only);
            let by_float = engine.float_request(symbol.0, side, market, 100.5, 2.5, tif, post_only);
            assert_eq!(by_units, by_float);
        }
        let id = engine
            .submit(
                &engine
                    .units_request(symbol.0, 0, false, 200.0, 1000.0, 0, false)
                    .expect("a valid order"),
                &mut Vec::new(),
            )
            .expect("rests")
            .order_id;
        assert_eq!(
            engine.units_replace(id, 203.0, 7.0),
            engine
                .float_replace(id, 101.5, 0.007)
                .map(|(symbol, _, ticks, lots)| (symbol, ticks, lots))
        );
        assert_eq!(
            engine.units_replace(OrderId(id.0 + 1), 203.0, 7.0),
            Err(EngineError::UnknownOrder(id.0 + 1))
        );
    }
}
