//! Node binding of `axon-backtest`: engines in a per-thread arena behind numeric handles, free
//! functions taking plain numbers, a result buffer shared with JS, and caller-owned typed arrays
//! for batches.
//!
//! Invariants:
//! - Every exported function runs inside [`crate::contain`]; a panic poisons that engine (it refuses
//!   every later call) and reaches JS as an `Error`, never an abort.
//! - An error (bad number, off-grid price/quantity, unknown symbol or order) throws a JS `Error`
//!   naming the field and leaves the engine unchanged: all float -> tick/lot conversion and code
//!   decoding happens before the engine is touched, and the engine itself changes nothing on `Err`.
//! - The per-call path (`engineSubmit`, `engineCancel`, `engineReplace`) creates no JS object: it
//!   takes numbers, returns one number and writes its details into the engine's result buffer (a
//!   Float64Array over Rust-owned memory, taken once with `engineResultBuffer`); after warm-up it
//!   performs no heap allocation. These three and the ladder calls are also installed as raw N-API
//!   callbacks (see [`crate::raw`]) that skip napi-rs's per-call borrow bookkeeping and call the
//!   same functions.
//! - Order ids are exact JS numbers: the engine keeps them below 2^52 (20-bit generations) and ids
//!   coming from JS must be whole numbers in `[0, MAX_ORDER_ID]`.
//! - The batch path executes a prefix of the input and writes results and fills into caller-owned
//!   Float64Arrays, with the same outcomes, ids and fills as the same ops sent one by one.
//! - No `unsafe` here: typed-array arguments are written through [`crate::writable_f64`], the result
//!   buffer is [`SharedCells`], the raw entry points live in [`crate::raw`].
//!
//! Result buffer layout (`OUT_LEN` = 16 + 7 x `OUT_FILL_ROWS` numbers):
//! - `[0..6)` last submit/replace: orderId, status, reason, filledQty, remainingQty, fillCount
//! - `[6..8)` last batch: fill rows written, stop code (0 done, 1 results full, 2 fills full)
//! - `[8..15)` order info (cancel, order): orderId, symbol, side, price, remainingQty, originalQty,
//!   postOnly; level info (best): price, quantity, orders
//! - `[16..)` the first fills of the last submit/replace, `FILL_STRIDE` numbers each: seq,
//!   makerOrderId, takerOrderId, symbol, price, quantity, takerSide. The rest via `engineReadFills`.
//!
//! Status codes: 0 New, 1 PartiallyFilled, 2 Filled, 3 Cancelled, 4 Rejected (reason 1 FOK not
//! fillable, 2 post-only would cross), 5 error (batch only; reason = `EngineError::code`).

// The layout constants are exported to JS by #[napi]; a test build does not export them.
#![cfg_attr(test, allow(dead_code))]

use std::cell::RefCell;

use axon_backtest::batch::{OP_CANCEL, OP_LIMIT, OP_MARKET, OP_REPLACE, STATUS_ERROR};
use axon_backtest::FillSink;
use axon_backtest::{
    EngineError, Fill, Ladder, LevelInfo, MatchingEngine, OpenOrder, OrderId, OrderRequest,
    OrderStatus, OrderType, RejectReason, Side, SubmitResult, SymbolId, SymbolSpec, TimeInForce,
    MAX_EXACT_UNITS, MAX_ORDER_ID,
};
use napi::bindgen_prelude::Float64ArraySlice;

use crate::raw::shared::SharedCells;
use napi::{Env, Error, Result, Status};
use napi_derive::napi;

use crate::contain;
use crate::handles::{with_live, Handles, Poisonable};

/// Numbers per fill row (result buffer tail, `engineReadFills`, batch `fills`).
#[napi]
pub const FILL_STRIDE: u32 = 7;
/// Numbers per batch result row.
#[napi]
pub const RESULT_STRIDE: u32 = 7;
/// Start of the fills area in the result buffer.
#[napi]
pub const OUT_FILLS: u32 = 16;
/// Start of the order/level info area in the result buffer.
#[napi]
pub const OUT_INFO: u32 = 8;
/// Fill rows of the last submit/replace kept in the engine's result buffer.
#[napi]
pub const OUT_FILL_ROWS: u32 = 64;
/// Length of the engine's result buffer.
#[napi]
pub const OUT_LEN: u32 = OUT_FILLS + FILL_STRIDE * OUT_FILL_ROWS;
/// Largest engine capacity accepted (72 bytes per slot are allocated up front: ~4.8 GB).
#[napi]
pub const MAX_ENGINE_CAPACITY: u32 = 1 << 26;

const FS: usize = FILL_STRIDE as usize;
const RS: usize = RESULT_STRIDE as usize;
const INFO: usize = OUT_INFO as usize;
const FILLS_AT: usize = OUT_FILLS as usize;
/// Map an engine error to a JS error whose message names the input (JS spelling first).
/// Units of `value` on a grid of `step`, exactly as the engine checks an order's price or
/// quantity; NaN when off the grid, not finite, not > 0 or out of range.
#[napi]
pub fn grid_units(step: f64, value: f64) -> f64 {
    axon_backtest::grid_units(value, step, "value").map_or(f64::NAN, |units| units as f64)
}

/// The integer that units of a `step` grid are divided by to read back as the canonical float
/// (as the engine reports them), or 0 when they are multiplied by `step` instead.
#[napi]
pub fn grid_divisor(step: f64) -> f64 {
    axon_backtest::grid_divisor(step).unwrap_or(0.0)
}

pub(crate) fn map_engine_error(err: EngineError) -> Error {
    let message = match err.field() {
        Some(field) => format!("{}: {err}", js_field(field)),
        None => err.to_string(),
    };
    Error::new(Status::InvalidArg, message)
}

fn js_field(field: &str) -> &str {
    match field {
        "order_id" => "orderId",
        "post_only" => "postOnly",
        "tick_size" => "tickSize",
        "lot_size" => "lotSize",
        "tif" => "timeInForce",
        "order_type" => "orderType",
        "price_ticks" => "price",
        "qty_lots" => "quantity",
        "best_bid_ticks" => "bestBidTicks",
        "best_ask_ticks" => "bestAskTicks",
        "step_ticks" => "stepTicks",
        "size_lots" => "sizeLots",
        other => other,
    }
}

fn invalid(message: String) -> Error {
    Error::new(Status::InvalidArg, message)
}

struct EngineSlot {
    engine: MatchingEngine,
    /// The result buffer (see `SharedCells`), viewed by JS once exported.
    out: SharedCells,
    specs: Vec<SymbolSpec>,
    /// Fills of the last per-call submit/replace (read by `engineReadFills`).
    fills: Vec<Fill>,
    /// Scratch for `engineDepth` (reused, no allocation after the first call).
    levels: Vec<LevelInfo>,
    /// Ids of the seeded liquidity ladder (`engineSeedLadder`) until `engineRemoveLadder`.
    ladder: Vec<OrderId>,
    poisoned: bool,
}

impl Poisonable for Box<EngineSlot> {
    fn poisoned(&mut self) -> &mut bool {
        &mut self.poisoned
    }
}

thread_local! {
    /// Engines behind index handles (see `handles`).
    static ENGINES: RefCell<Handles<Box<EngineSlot>>> = RefCell::new(Handles::default());
}

fn unknown_handle(handle: f64) -> Error {
    invalid(format!(
        "engine handle {handle} is not a live matching engine (destroyed, or from another thread)"
    ))
}

/// Run `f` on the engine behind `handle`, containing panics; a panic poisons that engine.
#[inline(always)]
fn with_engine<T>(
    handle: f64,
    what: &str,
    f: impl FnOnce(&mut EngineSlot) -> Result<T>,
) -> Result<T> {
    with_live(
        &ENGINES,
        handle,
        what,
        unknown_handle,
        "matching engine is unusable after an internal panic; create a new one",
        |slot| f(slot),
    )
}

/// A whole number in `[0, max]`, else `InvalidField { field }`.
#[inline(always)]
fn whole(v: f64, max: f64, field: &'static str) -> std::result::Result<u64, EngineError> {
    // `as` truncates (saturating); equal back means a whole number. Cheaper than `fract`, which is
    // a libm call on baseline x86-64.
    if v >= 0.0 && v <= max && (v as u64) as f64 == v {
        Ok(v as u64)
    } else {
        Err(EngineError::InvalidField { field })
    }
}

#[inline(always)]
fn parse_order_id(v: f64) -> std::result::Result<OrderId, EngineError> {
    whole(v, MAX_ORDER_ID as f64, "order_id").map(OrderId)
}

#[inline(always)]
fn side_code(c: u8) -> std::result::Result<Side, EngineError> {
    Side::from_code(c).ok_or(EngineError::InvalidField { field: "side" })
}

#[inline(always)]
fn tif_code(c: u8) -> std::result::Result<TimeInForce, EngineError> {
    TimeInForce::from_code(c).ok_or(EngineError::InvalidField { field: "tif" })
}

/// Small code from a JS number (`255` is out of every code range, so it reports the field).
#[inline(always)]
fn small_code(v: f64) -> u8 {
    if (0.0..255.0).contains(&v) && f64::from(v as u8) == v {
        v as u8
    } else {
        255
    }
}

impl EngineSlot {
    #[inline(always)]
    fn spec(&self, symbol: u32) -> std::result::Result<&SymbolSpec, EngineError> {
        self.specs
            .get(symbol as usize)
            .ok_or(EngineError::UnknownSymbol(symbol))
    }

    /// Decode and convert a new order. Check order: side, tif, flags, symbol, quantity, price
    /// (the order in which the engine's batch path checks them).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn request(
        &self,
        symbol: std::result::Result<u32, EngineError>,
        side: u8,
        market: bool,
        price: f64,
        quantity: f64,
        tif: u8,
        post_only: bool,
    ) -> std::result::Result<OrderRequest, EngineError> {
        let side = side_code(side)?;
        let tif = tif_code(tif)?;
        let symbol = symbol?;
        let spec = self.spec(symbol)?;
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

    /// Symbol, new ticks and lots of a replace of the live order `id`.
    #[inline(always)]
    fn replace_args(
        &self,
        id: OrderId,
        price: f64,
        quantity: f64,
    ) -> std::result::Result<(u32, i64, u64), EngineError> {
        let order = self
            .engine
            .order(id)
            .ok_or(EngineError::UnknownOrder(id.0))?;
        let spec = self.spec(order.symbol.0)?;
        let ticks = spec.price_to_ticks(price)?;
        let lots = spec.qty_to_lots(quantity)?;
        Ok((order.symbol.0, ticks, lots))
    }

    #[inline(always)]
    fn fill_row(&self, fill: &Fill) -> [f64; FS] {
        let spec = &self.specs[fill.symbol.0 as usize];
        [
            fill.seq as f64,
            fill.maker_order_id.0 as f64,
            fill.taker_order_id.0 as f64,
            f64::from(fill.symbol.0),
            spec.ticks_to_price(fill.price_ticks),
            spec.lots_to_qty(fill.qty_lots),
            f64::from(fill.taker_side as u8),
        ]
    }

    /// Write a per-call submit/replace result (header + the fills that fit) into the result buffer.
    #[inline(always)]
    fn write_call(&self, symbol: u32, r: &SubmitResult) {
        let spec = &self.specs[symbol as usize];
        self.out.set_row(
            0,
            &[
                r.order_id.0 as f64,
                f64::from(r.status.code()),
                f64::from(reason_code(r.status)),
                spec.lots_to_qty(r.filled_lots),
                spec.lots_to_qty(r.remaining_lots),
                self.fills.len() as f64,
            ],
        );
        for (k, fill) in self.fills.iter().take(OUT_FILL_ROWS as usize).enumerate() {
            self.out.set_row(FILLS_AT + k * FS, &self.fill_row(fill));
        }
    }

    fn write_order(&self, o: &OpenOrder) {
        let spec = &self.specs[o.symbol.0 as usize];
        self.out.set_row(
            INFO,
            &[
                o.id.0 as f64,
                f64::from(o.symbol.0),
                f64::from(o.side as u8),
                spec.ticks_to_price(o.price_ticks),
                spec.lots_to_qty(o.remaining_lots),
                spec.lots_to_qty(o.original_lots),
                if o.post_only { 1.0 } else { 0.0 },
            ],
        );
    }
}

#[inline(always)]
fn reason_code(status: OrderStatus) -> u8 {
    match status {
        OrderStatus::Rejected(RejectReason::FokNotFillable) => RejectReason::FokNotFillable as u8,
        OrderStatus::Rejected(RejectReason::PostOnlyWouldCross) => {
            RejectReason::PostOnlyWouldCross as u8
        }
        _ => 0,
    }
}

/// Create an engine able to hold `capacity` resting orders (all memory is allocated here);
/// returns its handle.
#[napi]
pub fn engine_create(capacity: f64) -> Result<f64> {
    contain("engineCreate", || {
        if !(capacity >= 1.0
            && capacity <= f64::from(MAX_ENGINE_CAPACITY)
            && capacity.fract() == 0.0)
        {
            return Err(invalid(format!(
                "capacity must be a whole number in [1, {MAX_ENGINE_CAPACITY}], got {capacity}"
            )));
        }
        let slot = Box::new(EngineSlot {
            engine: MatchingEngine::with_capacity(capacity as usize),
            out: SharedCells::new(OUT_LEN as usize),
            specs: Vec::new(),
            fills: Vec::with_capacity(64),
            levels: Vec::new(),
            ladder: Vec::new(),
            poisoned: false,
        });
        Ok(ENGINES.with(|arena| arena.borrow_mut().insert(slot)))
    })
}

/// Free an engine and all its memory. Idempotent; later calls with the handle fail.
#[napi]
pub fn engine_destroy(handle: f64) {
    ENGINES.with(|arena| arena.borrow_mut().remove(handle));
}

/// Register a symbol; returns its id (0, 1, 2, ...).
#[napi]
pub fn engine_add_symbol(handle: f64, tick_size: f64, lot_size: f64) -> Result<u32> {
    with_engine(handle, "engineAddSymbol", |s| {
        let spec = SymbolSpec::new(tick_size, lot_size).map_err(map_engine_error)?;
        let id = s.engine.add_symbol(spec).map_err(map_engine_error)?;
        s.specs.push(spec);
        Ok(id.0)
    })
}

/// The engine's result buffer (`OUT_LEN` numbers, layout in the module docs) as a Float64Array
/// over memory shared with the engine. Can be taken once per engine; the per-call functions write
/// into it instead of creating JS objects.
#[napi]
pub fn engine_result_buffer(env: &Env, handle: f64) -> Result<Float64ArraySlice<'_>> {
    with_engine(handle, "engineResultBuffer", |s| {
        s.out.export(env, "result buffer of this engine")
    })
}

/// Submit an order (side 0 Buy / 1 Sell, orderType 0 Limit / 1 Market, tif 0 GTC / 1 IOC / 2 FOK;
/// price ignored for market orders). Returns the order id; writes the result and the first fills
/// into the result buffer. Throws on invalid input, with nothing changed.
#[napi]
#[allow(clippy::too_many_arguments)]
pub fn engine_submit(
    handle: f64,
    symbol: f64,
    side: f64,
    order_type: f64,
    price: f64,
    quantity: f64,
    tif: f64,
    post_only: bool,
) -> Result<f64> {
    with_engine(handle, "engineSubmit", |s| {
        let market = match small_code(order_type) {
            0 => false,
            1 => true,
            _ => {
                return Err(map_engine_error(EngineError::InvalidField {
                    field: "order_type",
                }))
            }
        };
        let symbol = whole(symbol, f64::from(u32::MAX), "symbol").map(|v| v as u32);
        let req = s
            .request(
                symbol,
                small_code(side),
                market,
                price,
                quantity,
                small_code(tif),
                post_only,
            )
            .map_err(map_engine_error)?;
        s.fills.clear();
        let r = s
            .engine
            .submit(&req, &mut s.fills)
            .map_err(map_engine_error)?;
        s.write_call(req.symbol.0, &r);
        Ok(r.order_id.0 as f64)
    })
}

/// Cancel a live order; returns its remaining (cancelled) quantity and writes its state just
/// before the cancel into the info area of the result buffer. Throws on an unknown or stale id,
/// with nothing changed.
#[napi]
pub fn engine_cancel(handle: f64, order_id: f64) -> Result<f64> {
    with_engine(handle, "engineCancel", |s| {
        let id = parse_order_id(order_id).map_err(map_engine_error)?;
        let o = s.engine.cancel(id).map_err(map_engine_error)?;
        s.write_order(&o);
        Ok(s.specs[o.symbol.0 as usize].lots_to_qty(o.remaining_lots))
    })
}

/// A whole number of ticks or lots as exact `i64` (|v| <= 2^53), else `InvalidField { field }`.
fn whole_signed(v: f64, field: &'static str) -> std::result::Result<i64, EngineError> {
    const EXACT: f64 = 9_007_199_254_740_992.0;
    if v.abs() <= EXACT && (v as i64) as f64 == v {
        Ok(v as i64)
    } else {
        Err(EngineError::InvalidField { field })
    }
}

/// Seed a liquidity ladder on `symbol` in engine units: post-only GTC makers, ask level `k` at
/// `bestAskTicks + k * stepTicks`, bid level `k` at `bestBidTicks - k * stepTicks` (bids below one
/// tick left out), `sizeLots` each. A level that would cross a resting order is skipped. The
/// engine keeps the ids until `engineRemoveLadder`. Returns how many levels rest.
#[napi]
pub fn engine_seed_ladder(
    handle: f64,
    symbol: u32,
    best_bid_ticks: f64,
    best_ask_ticks: f64,
    step_ticks: f64,
    size_lots: f64,
    levels: u32,
) -> Result<f64> {
    with_engine(handle, "engineSeedLadder", |s| {
        let ladder = Ladder {
            best_bid_ticks: whole_signed(best_bid_ticks, "best_bid_ticks")
                .map_err(map_engine_error)?,
            best_ask_ticks: whole_signed(best_ask_ticks, "best_ask_ticks")
                .map_err(map_engine_error)?,
            step_ticks: whole_signed(step_ticks, "step_ticks").map_err(map_engine_error)?,
            size_lots: whole(size_lots, MAX_EXACT_UNITS as f64, "size_lots")
                .map_err(map_engine_error)?,
            levels,
        };
        let rested = s
            .engine
            .seed_ladder(SymbolId(symbol), &ladder, &mut s.ladder)
            .map_err(map_engine_error)?;
        Ok(rested as f64)
    })
}

/// Cancel what is left of the seeded ladder (levels filled completely are gone already) and
/// forget its ids. Returns how many orders were cancelled.
#[napi]
pub fn engine_remove_ladder(handle: f64) -> Result<f64> {
    with_engine(handle, "engineRemoveLadder", |s| {
        let cancelled = s.engine.cancel_resting(&s.ladder);
        s.ladder.clear();
        Ok(cancelled as f64)
    })
}

/// Replace a live order's price and open quantity (priority rules of the engine); same result
/// buffer writes and return value as `engineSubmit`.
#[napi]
pub fn engine_replace(handle: f64, order_id: f64, price: f64, quantity: f64) -> Result<f64> {
    with_engine(handle, "engineReplace", |s| {
        let id = parse_order_id(order_id).map_err(map_engine_error)?;
        let (symbol, ticks, lots) = s
            .replace_args(id, price, quantity)
            .map_err(map_engine_error)?;
        s.fills.clear();
        let r = s
            .engine
            .replace(id, ticks, lots, &mut s.fills)
            .map_err(map_engine_error)?;
        s.write_call(symbol, &r);
        Ok(r.order_id.0 as f64)
    })
}

/// Copy the fills of the last submit/replace, from index `start`, into `out` (`FILL_STRIDE`
/// numbers each, as many as fit); returns how many were copied.
#[napi]
pub fn engine_read_fills(handle: f64, start: u32, mut out: Float64ArraySlice<'_>) -> Result<u32> {
    with_engine(handle, "engineReadFills", |s| {
        let out = crate::writable_f64(&mut out);
        let from = (start as usize).min(s.fills.len());
        let mut n = 0u32;
        for (fill, row) in s.fills[from..].iter().zip(out.chunks_exact_mut(FS)) {
            row.copy_from_slice(&s.fill_row(fill));
            n += 1;
        }
        Ok(n)
    })
}

/// Look up a live order: writes it into the info area of the result buffer and returns true, or
/// returns false (unknown, stale, not resting, or not a valid id).
#[napi]
pub fn engine_order(handle: f64, order_id: f64) -> Result<bool> {
    with_engine(handle, "engineOrder", |s| {
        let Ok(id) = parse_order_id(order_id) else {
            return Ok(false);
        };
        match s.engine.order(id) {
            Some(o) => {
                s.write_order(&o);
                Ok(true)
            }
            None => Ok(false),
        }
    })
}

/// Best level of one side (0 bids, 1 asks): writes price, quantity, orders into the info area of
/// the result buffer and returns true, or returns false for an empty side.
#[napi]
pub fn engine_best(handle: f64, symbol: f64, side: u32) -> Result<bool> {
    with_engine(handle, "engineBest", |s| {
        let symbol = whole(symbol, f64::from(u32::MAX), "symbol").map_err(map_engine_error)? as u32;
        let side = side_code(side.min(255) as u8).map_err(map_engine_error)?;
        let level = s
            .engine
            .best(SymbolId(symbol), side)
            .map_err(map_engine_error)?;
        match level {
            Some(l) => {
                let spec = &s.specs[symbol as usize];
                s.out.set_row(
                    INFO,
                    &[
                        spec.ticks_to_price(l.price_ticks),
                        spec.lots_to_qty(l.total_lots),
                        f64::from(l.order_count),
                    ],
                );
                Ok(true)
            }
            None => Ok(false),
        }
    })
}

/// Up to `levels` levels of one side (0 bids, 1 asks), best first, as (price, quantity, orders)
/// triples into `out` (at most `out.length / 3` levels); returns how many were written.
#[napi]
pub fn engine_depth(
    handle: f64,
    symbol: f64,
    side: u32,
    levels: u32,
    mut out: Float64ArraySlice<'_>,
) -> Result<u32> {
    with_engine(handle, "engineDepth", |s| {
        let symbol = whole(symbol, f64::from(u32::MAX), "symbol").map_err(map_engine_error)? as u32;
        let out = crate::writable_f64(&mut out);
        let side = side_code(side.min(255) as u8).map_err(map_engine_error)?;
        let n = (levels as usize).min(out.len() / 3);
        let mut scratch = std::mem::take(&mut s.levels);
        let result = s
            .engine
            .depth_into(SymbolId(symbol), side, n, &mut scratch)
            .map_err(map_engine_error);
        if result.is_ok() {
            let spec = &s.specs[symbol as usize];
            for (l, row) in scratch.iter().zip(out.chunks_exact_mut(3)) {
                row[0] = spec.ticks_to_price(l.price_ticks);
                row[1] = spec.lots_to_qty(l.total_lots);
                row[2] = f64::from(l.order_count);
            }
        }
        let written = scratch.len() as u32;
        s.levels = scratch;
        result.map(|()| written)
    })
}

/// Number of resting orders (all symbols).
#[napi]
pub fn engine_open_order_count(handle: f64) -> Result<f64> {
    with_engine(handle, "engineOpenOrderCount", |s| {
        Ok(s.engine.open_order_count() as f64)
    })
}

/// What one batch call did.
struct BatchSummaryOut {
    /// Ops executed (= result rows written), the prefix `[start, start + processed)` of the input.
    processed: usize,
    /// Fill rows written to the start of `fills`.
    fills: usize,
    /// 0 completed, 1 `results` full, 2 `fills` might not hold the next op.
    stop: u8,
}

/// True if the byte ranges of `a` and `b` overlap.
fn overlaps<A, B>(a: &[A], b: &[B]) -> bool {
    let (a0, a1) = (
        a.as_ptr() as usize,
        a.as_ptr() as usize + std::mem::size_of_val(a),
    );
    let (b0, b1) = (
        b.as_ptr() as usize,
        b.as_ptr() as usize + std::mem::size_of_val(b),
    );
    a0 < b1 && b0 < a1 && !a.is_empty() && !b.is_empty()
}

/// Execute ops `[start, end)` of a columnar batch (op 0 limit, 1 market, 2 cancel, 3 replace;
/// price/quantity in real units; flags bit 0 = post-only). `orderId` (cancel, replace) is an engine
/// order id, or `-(k + 1)` for the order created by op `k` of the same call (`start <= k < i`).
/// Result row `i` (`RESULT_STRIDE` numbers: orderId, status, reason, filledQty, remainingQty,
/// fillStart, fillCount) describes op `start + i`; fills go to `fills` from row 0. Stops before an
/// op when `results` is full or `fills` might not hold that op's fills; an invalid op gets status
/// 5 and does not stop the batch. Returns the number of ops executed and writes the fill rows
/// written and the stop code (0 completed, 1 results full, 2 fills full) into `[6]` and `[7]` of
/// the result buffer. Throws (nothing executed) if the columns have different lengths or an output
/// overlaps another array.
#[napi]
#[allow(clippy::too_many_arguments)]
pub fn engine_execute_batch(
    handle: f64,
    op: &[u8],
    symbol: &[u32],
    side: &[u8],
    price: &[f64],
    quantity: &[f64],
    tif: &[u8],
    flags: &[u8],
    order_id: &[f64],
    start: u32,
    end: u32,
    mut results: Float64ArraySlice<'_>,
    mut fills: Float64ArraySlice<'_>,
) -> Result<f64> {
    with_engine(handle, "engineExecuteBatch", |s| {
        let results = crate::writable_f64(&mut results);
        let fills = crate::writable_f64(&mut fills);
        let n = op.len();
        for (field, len) in [
            ("symbol", symbol.len()),
            ("side", side.len()),
            ("price", price.len()),
            ("quantity", quantity.len()),
            ("timeInForce", tif.len()),
            ("flags", flags.len()),
            ("orderId", order_id.len()),
        ] {
            if len != n {
                return Err(invalid(format!(
                    "batch column {field} has length {len}, op has {n}"
                )));
            }
        }
        if overlaps(results, fills) {
            return Err(invalid(
                "batch results and fills must not overlap".to_owned(),
            ));
        }
        for (field, input) in [
            ("op", (op.as_ptr() as usize, op.len())),
            ("symbol", (symbol.as_ptr() as usize, symbol.len() * 4)),
            ("side", (side.as_ptr() as usize, side.len())),
            ("price", (price.as_ptr() as usize, price.len() * 8)),
            ("quantity", (quantity.as_ptr() as usize, quantity.len() * 8)),
            ("timeInForce", (tif.as_ptr() as usize, tif.len())),
            ("flags", (flags.as_ptr() as usize, flags.len())),
            ("orderId", (order_id.as_ptr() as usize, order_id.len() * 8)),
        ] {
            let bytes = (input.0, input.0 + input.1);
            for out in [
                (results.as_ptr() as usize, results.len() * 8),
                (fills.as_ptr() as usize, fills.len() * 8),
            ] {
                if input.1 > 0 && out.1 > 0 && bytes.0 < out.0 + out.1 && out.0 < bytes.1 {
                    return Err(invalid(format!(
                        "batch input {field} overlaps an output array"
                    )));
                }
            }
        }
        let start = start as usize;
        let end = (end as usize).min(n);
        if start > end {
            return Err(invalid(format!("batch start {start} is after end {end}")));
        }
        let cols = Columns {
            op,
            symbol,
            side,
            price,
            quantity,
            tif,
            flags,
            order_id,
        };
        let summary = s.run_batch(&cols, start, end, results, fills);
        s.out
            .set_row(6, &[summary.fills as f64, f64::from(summary.stop)]);
        Ok(summary.processed as f64)
    })
}

struct Columns<'a> {
    op: &'a [u8],
    symbol: &'a [u32],
    side: &'a [u8],
    price: &'a [f64],
    quantity: &'a [f64],
    tif: &'a [u8],
    flags: &'a [u8],
    order_id: &'a [f64],
}

impl EngineSlot {
    /// The target of cancel/replace op `i`: an engine id, or `-(k + 1)` = the order created by op
    /// `k` of this call, read from its result row (`done` = ops executed so far). A reference to
    /// an op not executed yet fails here; the caller re-checks the op once those ran.
    #[inline(always)]
    fn target(
        c: &Columns<'_>,
        i: usize,
        start: usize,
        done: usize,
        results: &[f64],
    ) -> std::result::Result<OrderId, EngineError> {
        let v = c.order_id[i];
        if v >= 0.0 {
            return parse_order_id(v);
        }
        let k = whole(-v - 1.0, (i as f64) - 1.0, "order_id")? as usize;
        if k < start {
            return Err(EngineError::InvalidField { field: "order_id" });
        }
        if k >= done {
            return Err(EngineError::UnknownOrder(0));
        }
        parse_order_id(results[(k - start) * RS])
    }

    /// Convert op `i` to (symbol, ticks, lots, id) against the engine's current state.
    #[inline(always)]
    fn convert(
        &self,
        c: &Columns<'_>,
        i: usize,
        start: usize,
        done: usize,
        results: &[f64],
    ) -> std::result::Result<(u32, i64, u64, u64), EngineError> {
        match c.op[i] {
            code @ (OP_LIMIT | OP_MARKET) => {
                if c.flags[i] & !axon_backtest::batch::FLAG_POST_ONLY != 0 {
                    // Report like the engine: side and tif are checked before flags.
                    side_code(c.side[i])?;
                    tif_code(c.tif[i])?;
                    return Err(EngineError::InvalidField { field: "flags" });
                }
                let r = self.request(
                    Ok(c.symbol[i]),
                    c.side[i],
                    code == OP_MARKET,
                    c.price[i],
                    c.quantity[i],
                    c.tif[i],
                    c.flags[i] & axon_backtest::batch::FLAG_POST_ONLY != 0,
                )?;
                Ok((r.symbol.0, r.price_ticks, r.qty_lots, 0))
            }
            // The engine's cancel validates the id (and reports the symbol).
            OP_CANCEL => Ok((0, 0, 0, Self::target(c, i, start, done, results)?.0)),
            OP_REPLACE => {
                let id = Self::target(c, i, start, done, results)?;
                let (symbol, ticks, lots) = self.replace_args(id, c.price[i], c.quantity[i])?;
                Ok((symbol, ticks, lots, id.0))
            }
            _ => Err(EngineError::InvalidField { field: "op" }),
        }
    }

    /// Run ops `[start, end)`, writing result rows and fill rows straight into the outputs.
    ///
    /// Each op calls the same engine method as the per-call path (so outcomes, ids and fills are
    /// identical) with a sink writing fill rows into `fills`. Fill room: the engine's worst-case
    /// fill count for the op (read-only, as in its own `execute_batch`) must fit in the room left,
    /// or the batch stops before that op with nothing of it applied.
    fn run_batch(
        &mut self,
        c: &Columns<'_>,
        start: usize,
        end: usize,
        results: &mut [f64],
        fills: &mut [f64],
    ) -> BatchSummaryOut {
        let max_rows = results.len() / RS;
        let max_fills = fills.len() / FS;
        let mut done = start;
        let mut fills_out = 0usize;
        let mut stop = 0u8;
        while done < end {
            let row_at = (done - start) * RS;
            if done - start >= max_rows {
                stop = 1;
                break;
            }
            let i = done;
            let op = c.op[i];
            let converted = self.convert(c, i, start, done, results);
            let (sym, ticks, lots, id) = match converted {
                Ok(v) => v,
                Err(e) => {
                    let id = if matches!(op, OP_CANCEL | OP_REPLACE) {
                        Self::target(c, i, start, done, results)
                            .map_or(c.order_id[i], |id| id.0 as f64)
                    } else {
                        0.0
                    };
                    results[row_at..row_at + RS].copy_from_slice(&[
                        id,
                        f64::from(STATUS_ERROR),
                        f64::from(e.code()),
                        0.0,
                        0.0,
                        fills_out as f64,
                        0.0,
                    ]);
                    done += 1;
                    continue;
                }
            };
            let row: [f64; RS] = if op == OP_CANCEL {
                match self.engine.cancel(OrderId(id)) {
                    Ok(o) => {
                        let spec = &self.specs[o.symbol.0 as usize];
                        [
                            id as f64,
                            f64::from(axon_backtest::batch::STATUS_CANCELLED),
                            0.0,
                            spec.lots_to_qty(o.original_lots - o.remaining_lots),
                            spec.lots_to_qty(o.remaining_lots),
                            fills_out as f64,
                            0.0,
                        ]
                    }
                    Err(e) => [
                        id as f64,
                        f64::from(STATUS_ERROR),
                        f64::from(e.code()),
                        0.0,
                        0.0,
                        fills_out as f64,
                        0.0,
                    ],
                }
            } else {
                let side = if op == OP_REPLACE {
                    self.engine.order(OrderId(id)).map_or(Side::Buy, |o| o.side)
                } else {
                    Side::from_code(c.side[i]).unwrap_or(Side::Buy)
                };
                let post_only =
                    op != OP_REPLACE && c.flags[i] & axon_backtest::batch::FLAG_POST_ONLY != 0;
                // Worst case, read-only: a post-only order never trades; an order makes at most
                // one fill per resting maker on the other side (O(1)), and only when that could
                // overflow the room is the engine's exact bound walked (the crossing makers).
                let room = (max_fills - fills_out) as u64;
                let bound = if post_only {
                    0
                } else {
                    let makers = self
                        .engine
                        .side_stats(SymbolId(sym), side.opposite())
                        .map_or(0, |(_, orders)| orders);
                    if makers <= room {
                        makers
                    } else {
                        self.engine
                            .max_fills_for(sym, side, op == OP_MARKET, ticks, lots)
                    }
                };
                if bound > room {
                    stop = 2;
                    break;
                }
                let mut sink = RowSink {
                    out: &mut fills[fills_out * FS..],
                    specs: &self.specs,
                    rows: 0,
                };
                let outcome = if op == OP_REPLACE {
                    self.engine.replace(OrderId(id), ticks, lots, &mut sink)
                } else {
                    let req = OrderRequest {
                        symbol: SymbolId(sym),
                        side,
                        order_type: if op == OP_MARKET {
                            OrderType::Market
                        } else {
                            OrderType::Limit
                        },
                        tif: TimeInForce::from_code(c.tif[i]).unwrap_or(TimeInForce::Gtc),
                        price_ticks: ticks,
                        qty_lots: lots,
                        post_only,
                    };
                    self.engine.submit(&req, &mut sink)
                };
                let n = sink.rows;
                let row = match outcome {
                    Ok(r) => {
                        let spec = &self.specs[sym as usize];
                        [
                            r.order_id.0 as f64,
                            f64::from(r.status.code()),
                            f64::from(reason_code(r.status)),
                            spec.lots_to_qty(r.filled_lots),
                            spec.lots_to_qty(r.remaining_lots),
                            fills_out as f64,
                            n as f64,
                        ]
                    }
                    Err(e) => [
                        if op == OP_REPLACE { id as f64 } else { 0.0 },
                        f64::from(STATUS_ERROR),
                        f64::from(e.code()),
                        0.0,
                        0.0,
                        fills_out as f64,
                        0.0,
                    ],
                };
                fills_out += n;
                row
            };
            results[row_at..row_at + RS].copy_from_slice(&row);
            done += 1;
        }
        BatchSummaryOut {
            processed: done - start,
            fills: fills_out,
            stop,
        }
    }
}

/// Fill sink writing scaled `FILL_STRIDE` rows into a caller's Float64Array. Room is guaranteed
/// by the caller (the engine's worst-case fill count for the op).
struct RowSink<'a> {
    out: &'a mut [f64],
    specs: &'a [SymbolSpec],
    rows: usize,
}

impl FillSink for RowSink<'_> {
    #[inline(always)]
    fn push_fill(&mut self, fill: Fill) {
        let at = self.rows * FS;
        if let Some(row) = self.out.get_mut(at..at + FS) {
            let spec = &self.specs[fill.symbol.0 as usize];
            row.copy_from_slice(&[
                fill.seq as f64,
                fill.maker_order_id.0 as f64,
                fill.taker_order_id.0 as f64,
                f64::from(fill.symbol.0),
                spec.ticks_to_price(fill.price_ticks),
                spec.lots_to_qty(fill.qty_lots),
                f64::from(fill.taker_side as u8),
            ]);
            self.rows += 1;
        } else {
            debug_assert!(false, "batch fill room bound violated");
        }
    }
}
