//! Node binding of `axon-backtest`: engines in a per-thread arena behind numeric handles, free
//! functions taking plain numbers, a result buffer shared with JS, and caller-owned typed arrays
//! for batches.
//!
//! Invariants:
//! - Every exported function runs inside [`crate::contain`]; a panic poisons that engine (it refuses
//!   every later call) and reaches JS as an `Error`, never an abort.
//! - An error (bad number, off-grid price/quantity, unknown symbol or order) throws a JS `Error`
//!   naming the field and leaves the engine unchanged: every number is decoded and converted (on
//!   the engine's own grid: `float_request`, `float_replace`) before the engine is touched, and the
//!   engine itself changes nothing on `Err`.
//! - `engineSubmitUnits` / `engineReplaceUnits` are the same calls in engine units (ticks, lots)
//!   for hosts that keep units: checked as whole numbers (`units_request`, `units_replace`), never
//!   converted through a float grid; every result (slots, fill rows, levels) carries units too.
//! - The per-call path (`engineSubmit`, `engineCancel`, `engineReplace`, and their units twins) creates no JS object: it
//!   takes numbers, returns one number and writes its details into the engine's result buffer (a
//!   Float64Array over Rust-owned memory, taken once with `engineResultBuffer`); after warm-up it
//!   performs no heap allocation. These three and the ladder calls are also installed as raw N-API
//!   callbacks (see [`crate::raw`]) that skip napi-rs's per-call borrow bookkeeping and call the
//!   same functions.
//! - Order ids are exact JS numbers: the engine keeps them below 2^52 (20-bit generations) and ids
//!   coming from JS must be whole numbers in `[0, MAX_ORDER_ID]`.
//! - One batch engine: `engineExecuteBatch` checks the typed arrays (lengths, no output overlapping
//!   another array) and runs axon-backtest's batch loop on them (`execute_float_batch`); this file
//!   has no loop of its own.
//! - The result buffer's layout, the row strides and every code are those of
//!   [`crate::raw::layout::engine`], from which `ts/native/layout.ts` is generated.
//! - No `unsafe` here: typed-array arguments are written through [`crate::writable_f64`], the result
//!   buffer is [`SharedCells`], the raw entry points live in [`crate::raw`].

use std::cell::RefCell;

use axon_backtest::batch::{order_id_from_f64, FloatBatch, FILL_STRIDE};
use axon_backtest::{
    EngineError, Fill, Ladder, LevelInfo, MatchingEngine, OpenOrder, OrderId, OrderRequest,
    OrderStatus, Side, SubmitResult, SymbolId, SymbolSpec, TimeInForce, MAX_EXACT_UNITS,
};
use napi::bindgen_prelude::Float64ArraySlice;

use crate::raw::layout::engine::{
    slot, FILLS_AT, INFO_AT, INLINE_FILL_ROWS, LEVEL_INFO_NAMES, LEVEL_STRIDE, RESULT_BUFFER_LEN,
};
use crate::raw::shared::SharedCells;
use napi::{Env, Error, Result, Status};
use napi_derive::napi;

use crate::contain;
use crate::handles::{with_live, Handles, Poisonable};

/// Largest engine capacity accepted (72 bytes per slot are allocated up front: ~4.8 GB).
#[napi]
pub const MAX_ENGINE_CAPACITY: u32 = 1 << 26;

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

/// Map an engine error to a JS error whose message names the input (JS spelling first).
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

/// A symbol id from a JS number.
#[inline(always)]
fn symbol_id(v: f64) -> std::result::Result<u32, EngineError> {
    whole(v, f64::from(u32::MAX), "symbol").map(|v| v as u32)
}

#[inline(always)]
fn side_code(c: u8) -> std::result::Result<Side, EngineError> {
    Side::from_code(c).ok_or(EngineError::InvalidField { field: "side" })
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
    /// One submit of the per-call API: the codes decoded and checked in the engine's order (side
    /// and time in force before the symbol), the request built by `build` (floats or units), the
    /// order submitted, its result written to the buffer; returns the order id.
    #[inline(always)]
    fn submit_decoded(
        &mut self,
        symbol: f64,
        side: f64,
        order_type: f64,
        tif: f64,
        build: impl FnOnce(
            &MatchingEngine,
            u32,
            u8,
            bool,
            u8,
        ) -> std::result::Result<OrderRequest, EngineError>,
    ) -> Result<f64> {
        let market = match small_code(order_type) {
            0 => false,
            1 => true,
            _ => {
                return Err(map_engine_error(EngineError::InvalidField {
                    field: "order_type",
                }))
            }
        };
        let (side, tif) = (small_code(side), small_code(tif));
        let req = match symbol_id(symbol) {
            Ok(symbol) => build(&self.engine, symbol, side, market, tif),
            // Reported as the engine orders its checks: side and time in force first.
            Err(bad_symbol) => side_code(side)
                .and(TimeInForce::from_code(tif).ok_or(EngineError::InvalidField { field: "tif" }))
                .and(Err(bad_symbol)),
        }
        .map_err(map_engine_error)?;
        self.fills.clear();
        let r = self
            .engine
            .submit(&req, &mut self.fills)
            .map_err(map_engine_error)?;
        self.write_call(req.symbol, &r);
        Ok(r.order_id.0 as f64)
    }

    /// One replace of the per-call API once its new price and size are in units: replaced, the
    /// result written to the buffer; returns the order id.
    #[inline(always)]
    fn replace_checked(
        &mut self,
        id: OrderId,
        symbol: SymbolId,
        ticks: i64,
        lots: u64,
    ) -> Result<f64> {
        self.fills.clear();
        let r = self
            .engine
            .replace(id, ticks, lots, &mut self.fills)
            .map_err(map_engine_error)?;
        self.write_call(symbol, &r);
        Ok(r.order_id.0 as f64)
    }

    /// The grid of a registered symbol (every id the engine reports is one).
    #[inline(always)]
    fn spec(&self, symbol: SymbolId) -> &SymbolSpec {
        self.engine
            .spec(symbol)
            .expect("the engine reports registered symbols only")
    }

    /// Write a per-call submit/replace result (header + the fills that fit) into the result buffer.
    #[inline(always)]
    fn write_call(&self, symbol: SymbolId, r: &SubmitResult) {
        let spec = self.spec(symbol);
        let mut header = [0.0; slot::BATCH_FILLS];
        header[slot::ORDER_ID] = r.order_id.0 as f64;
        header[slot::STATUS] = f64::from(r.status.code());
        header[slot::REASON] = f64::from(reason_code(r.status));
        header[slot::FILLED_QUANTITY] = spec.lots_to_qty(r.filled_lots);
        header[slot::REMAINING_QUANTITY] = spec.lots_to_qty(r.remaining_lots);
        header[slot::FILL_COUNT] = self.fills.len() as f64;
        header[slot::FILLED_LOTS] = r.filled_lots as f64;
        header[slot::REMAINING_LOTS] = r.remaining_lots as f64;
        self.out.set_row(0, &header);
        for (k, fill) in self.fills.iter().take(INLINE_FILL_ROWS).enumerate() {
            self.out.set_row(
                FILLS_AT + k * FILL_STRIDE,
                &axon_backtest::batch::fill_row(fill, spec),
            );
        }
    }

    /// Write an order into the info area (`ORDER_INFO_NAMES` order).
    fn write_order(&self, o: &OpenOrder) {
        let spec = self.spec(o.symbol);
        self.out.set_row(
            INFO_AT,
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

/// A level as `LEVEL_INFO_NAMES` numbers: price, quantity, orders, price ticks, quantity lots (a
/// depth row is the first `LEVEL_STRIDE` of them).
fn level_row(l: &LevelInfo, spec: &SymbolSpec) -> [f64; LEVEL_INFO_NAMES.len()] {
    [
        spec.ticks_to_price(l.price_ticks),
        spec.lots_to_qty(l.total_lots),
        f64::from(l.order_count),
        l.price_ticks as f64,
        l.total_lots as f64,
    ]
}

#[inline(always)]
fn reason_code(status: OrderStatus) -> u8 {
    match status {
        OrderStatus::Rejected(reason) => reason as u8,
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
            out: SharedCells::new(RESULT_BUFFER_LEN),
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
        Ok(id.0)
    })
}

/// The engine's result buffer (`RESULT_BUFFER_LEN` numbers, layout in `raw::layout::engine`) as a Float64Array
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
        s.submit_decoded(
            symbol,
            side,
            order_type,
            tif,
            |engine, symbol, side, market, tif| {
                engine.float_request(symbol, side, market, price, quantity, tif, post_only)
            },
        )
    })
}

/// `engineSubmit` in engine units: `priceTicks` whole ticks, `lots` whole lots (each > 0 and at
/// most 2^53; the price of a market order is ignored), checked in the same order with the same
/// errors as a price or quantity off the grid. No float is read back onto the grid: the engine
/// takes the units as they are. Same result buffer writes and return value.
#[napi]
#[allow(clippy::too_many_arguments)]
pub fn engine_submit_units(
    handle: f64,
    symbol: f64,
    side: f64,
    order_type: f64,
    price_ticks: f64,
    lots: f64,
    tif: f64,
    post_only: bool,
) -> Result<f64> {
    with_engine(handle, "engineSubmitUnits", |s| {
        s.submit_decoded(
            symbol,
            side,
            order_type,
            tif,
            |engine, symbol, side, market, tif| {
                engine.units_request(symbol, side, market, price_ticks, lots, tif, post_only)
            },
        )
    })
}

/// Cancel a live order; returns its remaining (cancelled) quantity and writes its state just
/// before the cancel into the info area of the result buffer. Throws on an unknown or stale id,
/// with nothing changed.
#[napi]
pub fn engine_cancel(handle: f64, order_id: f64) -> Result<f64> {
    with_engine(handle, "engineCancel", |s| {
        let id = order_id_from_f64(order_id).map_err(map_engine_error)?;
        let o = s.engine.cancel(id).map_err(map_engine_error)?;
        s.write_order(&o);
        Ok(s.spec(o.symbol).lots_to_qty(o.remaining_lots))
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
        let id = order_id_from_f64(order_id).map_err(map_engine_error)?;
        let (symbol, _, ticks, lots) = s
            .engine
            .float_replace(id, price, quantity)
            .map_err(map_engine_error)?;
        s.replace_checked(id, symbol, ticks, lots)
    })
}

/// `engineReplace` in engine units (`priceTicks`, `lots`: whole, > 0, at most 2^53; same errors
/// as off-grid values); same result buffer writes and return value.
#[napi]
pub fn engine_replace_units(
    handle: f64,
    order_id: f64,
    price_ticks: f64,
    lots: f64,
) -> Result<f64> {
    with_engine(handle, "engineReplaceUnits", |s| {
        let id = order_id_from_f64(order_id).map_err(map_engine_error)?;
        let (symbol, ticks, lots) = s
            .engine
            .units_replace(id, price_ticks, lots)
            .map_err(map_engine_error)?;
        s.replace_checked(id, symbol, ticks, lots)
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
        for (fill, row) in s.fills[from..]
            .iter()
            .zip(out.chunks_exact_mut(FILL_STRIDE))
        {
            row.copy_from_slice(&axon_backtest::batch::fill_row(fill, s.spec(fill.symbol)));
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
        let Ok(id) = order_id_from_f64(order_id) else {
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
        let symbol = SymbolId(symbol_id(symbol).map_err(map_engine_error)?);
        let side = side_code(side.min(255) as u8).map_err(map_engine_error)?;
        let level = s.engine.best(symbol, side).map_err(map_engine_error)?;
        match level {
            Some(l) => {
                s.out.set_row(INFO_AT, &level_row(&l, s.spec(symbol)));
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
        let symbol = SymbolId(symbol_id(symbol).map_err(map_engine_error)?);
        let out = crate::writable_f64(&mut out);
        let side = side_code(side.min(255) as u8).map_err(map_engine_error)?;
        let n = (levels as usize).min(out.len() / LEVEL_STRIDE);
        let mut scratch = std::mem::take(&mut s.levels);
        let result = s
            .engine
            .depth_into(symbol, side, n, &mut scratch)
            .map_err(map_engine_error);
        if result.is_ok() {
            let spec = s.spec(symbol);
            for (l, row) in scratch.iter().zip(out.chunks_exact_mut(LEVEL_STRIDE)) {
                row.copy_from_slice(&level_row(l, spec)[..LEVEL_STRIDE]);
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

/// Execute ops `[start, end)` of a columnar batch (layout: axon-backtest's `batch::float` module;
/// op 0 limit, 1 market, 2 cancel, 3 replace; price/quantity in real units; flags bit 0 =
/// post-only; `orderId` an engine order id or `-(k + 1)` for the order created by op `k` of the
/// same call). Result rows (`RESULT_STRIDE` numbers) go to `results` from row 0, fill rows to
/// `fills` from row 0. Stops before an op when `results` is full or `fills` might not hold that
/// op's fills; an invalid op gets status `Error` and does not stop the batch. Returns the number
/// of ops executed and writes the fill rows written and the stop code into the result buffer
/// (`BatchFills`, `BatchStop`). Throws (nothing executed) if the columns have different lengths
/// or an output overlaps another array.
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
        if overlaps(results, fills) {
            return Err(invalid(
                "batch results and fills must not overlap".to_owned(),
            ));
        }
        let inputs: [(&str, usize, usize); 8] = [
            ("op", op.as_ptr() as usize, op.len()),
            ("symbol", symbol.as_ptr() as usize, symbol.len() * 4),
            ("side", side.as_ptr() as usize, side.len()),
            ("price", price.as_ptr() as usize, price.len() * 8),
            ("quantity", quantity.as_ptr() as usize, quantity.len() * 8),
            ("timeInForce", tif.as_ptr() as usize, tif.len()),
            ("flags", flags.as_ptr() as usize, flags.len()),
            ("orderId", order_id.as_ptr() as usize, order_id.len() * 8),
        ];
        for (field, at, bytes) in inputs {
            for output in [results as &[f64], fills as &[f64]] {
                let (out_at, out_bytes) = (output.as_ptr() as usize, std::mem::size_of_val(output));
                if bytes > 0 && out_bytes > 0 && at < out_at + out_bytes && out_at < at + bytes {
                    return Err(invalid(format!(
                        "batch input {field} overlaps an output array"
                    )));
                }
            }
        }
        let n = op.len();
        let end = (end as usize).min(n);
        let start = start as usize;
        if start > end {
            return Err(invalid(format!("batch start {start} is after end {end}")));
        }
        let batch = FloatBatch {
            op,
            symbol,
            side,
            price,
            quantity,
            tif,
            flags,
            order_id,
            start,
            end,
        };
        let summary = s
            .engine
            .execute_float_batch(&batch, results, fills)
            .map_err(|e| match e {
                EngineError::BatchLengthMismatch { field } => invalid(format!(
                    "batch column {} has a different length than op ({n})",
                    js_field(field)
                )),
                other => map_engine_error(other),
            })?;
        s.out.set_row(
            slot::BATCH_FILLS,
            &[summary.fills_written as f64, f64::from(summary.stop.code())],
        );
        Ok(summary.ops_done as f64)
    })
}

/// True if the byte ranges of `a` and `b` overlap.
fn overlaps(a: &[f64], b: &[f64]) -> bool {
    let (a0, b0) = (a.as_ptr() as usize, b.as_ptr() as usize);
    let (a1, b1) = (a0 + std::mem::size_of_val(a), b0 + std::mem::size_of_val(b));
    a0 < b1 && b0 < a1 && !a.is_empty() && !b.is_empty()
}
