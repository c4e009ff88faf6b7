//! The guard's Node API: options, handles, decisions and outcomes, market data, state. Converts
//! types and errors at the edge; the rules are axon-risk's.

use std::cell::RefCell;
use std::sync::Arc;

use axon_metrics::{BackendLabel, ErrorKindLabel};
use axon_risk::{
    AckStatus, Clock, ControlsConfig, GateConfig, Guard, GuardConfig, GuardError, MarketUpdate,
    Outcome, RiskLimits, SafetyMode, Side, SystemClock, ToolKind, TradingState,
};
use napi::bindgen_prelude::Float64ArraySlice;
use napi::{Env, Error, Result, Status};
use napi_derive::napi;

use crate::raw::decision::write_decision;
use crate::raw::layout::{DECISION_SLOTS, SIDE_NONE};
use crate::raw::shared::SharedCells;
use crate::{contain, handles, invalid, raw, NativeMetrics};

fn map_guard_error(err: GuardError) -> Error {
    Error::new(Status::InvalidArg, err.to_string())
}

#[napi(object)]
#[derive(Debug, Clone)]
pub struct GateOptions {
    /// `AlwaysOpen` | `RejectionCircuitBreaker` | `PnlCircuitBreaker`
    #[napi(js_name = "type")]
    pub kind: String,
    pub threshold: Option<u32>,
    pub cooldown_ms: Option<f64>,
    pub daily_pnl_floor: Option<f64>,
}

#[napi(object)]
#[derive(Debug, Clone)]
pub struct GuardOptions {
    /// `DryRun` | `TwoPhase` | `Direct`
    pub mode: String,
    pub allowed_symbols: Option<Vec<String>>,
    pub max_order_notional: Option<f64>,
    pub max_position_abs: Option<f64>,
    pub max_daily_orders: Option<u32>,
    pub max_daily_cancels: Option<u32>,
    pub max_order_quantity: Option<f64>,
    pub min_order_notional: Option<f64>,
    pub price_collar_bps: Option<f64>,
    pub max_reference_age_ms: Option<f64>,
    pub max_open_orders: Option<u32>,
    pub duplicate_window_ms: Option<f64>,
    pub max_orders_per_second: Option<u32>,
    pub max_orders_per_minute: Option<u32>,
    /// `reject` (the only mode): refuse an order that would cross this account's own resting order.
    pub self_trade_prevention: Option<String>,
    pub max_daily_loss: Option<f64>,
    pub gates: Option<Vec<GateOptions>>,
    /// Metrics label: `mock` | `exchange` | `oms` | `backtest` | `other`.
    pub backend: String,
    pub confirm_ttl_ms: Option<f64>,
    pub max_pending_confirms: Option<u32>,
    pub max_args_bytes: Option<u32>,
    pub market_data_max_age_ms: Option<f64>,
    /// When set, the guard runs on a manual clock starting at this Unix ms (tests, backtests).
    pub manual_clock_ms: Option<f64>,
    /// The account-wide checks go to a shared store: `guardDecide` answers `NeedState` and
    /// `guardDecideWithVerdict` finishes the call (see `axon_risk::guard::shared`).
    pub shared_state: Option<bool>,
    /// `ACTIVE` (default) | `REDUCING` | `HALTED`: the trading state the guard starts in.
    pub trading_state: Option<String>,
}

fn gate_config(g: &GateOptions) -> Result<GateConfig> {
    match g.kind.as_str() {
        "AlwaysOpen" => Ok(GateConfig::AlwaysOpen),
        "RejectionCircuitBreaker" => Ok(GateConfig::RejectionCircuitBreaker {
            threshold: g.threshold.ok_or_else(|| invalid("gate.threshold is required for RejectionCircuitBreaker"))?,
            cooldown_ms: g.cooldown_ms.ok_or_else(|| invalid("gate.cooldown_ms is required for RejectionCircuitBreaker"))? as i64,
        }),
        "PnlCircuitBreaker" => Ok(GateConfig::PnlCircuitBreaker {
            daily_pnl_floor: g.daily_pnl_floor.ok_or_else(|| invalid("gate.daily_pnl_floor is required for PnlCircuitBreaker"))?,
        }),
        other => Err(invalid(format!(
            "gate.type must be AlwaysOpen, RejectionCircuitBreaker or PnlCircuitBreaker, got {other:?}"
        ))),
    }
}

fn whole_ms(key: &str, value: f64) -> Result<i64> {
    if value.is_finite() && value.fract() == 0.0 && value.abs() < 9e15 {
        Ok(value as i64)
    } else {
        Err(invalid(format!(
            "{key} must be a whole number of milliseconds, got {value}"
        )))
    }
}

fn trading_state(key: &str, text: &str) -> Result<TradingState> {
    TradingState::parse(text).ok_or_else(|| {
        invalid(format!(
            "{key} must be ACTIVE, REDUCING or HALTED, got {text:?}"
        ))
    })
}

fn guard_config(o: &GuardOptions) -> Result<GuardConfig> {
    let defaults = GuardConfig::default();
    let mode = SafetyMode::parse(&o.mode).ok_or_else(|| {
        invalid(format!(
            "safety.mode must be DryRun, TwoPhase or Direct, got {:?}",
            o.mode
        ))
    })?;
    let backend = BackendLabel::parse(&o.backend).unwrap_or(BackendLabel::Other);
    let gates = o
        .gates
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(gate_config)
        .collect::<Result<Vec<_>>>()?;
    Ok(GuardConfig {
        mode,
        limits: RiskLimits {
            allowed_symbols: o.allowed_symbols.clone(),
            max_order_notional: o.max_order_notional,
            max_position_abs: o.max_position_abs,
            max_daily_orders: o.max_daily_orders.map(u64::from),
            max_daily_cancels: o.max_daily_cancels.map(u64::from),
        },
        controls: ControlsConfig {
            max_order_quantity: o.max_order_quantity,
            min_order_notional: o.min_order_notional,
            price_collar_bps: o.price_collar_bps,
            max_reference_age_ms: o
                .max_reference_age_ms
                .map(|v| whole_ms("risk.max_reference_age_ms", v))
                .transpose()?,
            max_open_orders: o.max_open_orders,
            duplicate_window_ms: o
                .duplicate_window_ms
                .map(|v| whole_ms("risk.duplicate_window_ms", v))
                .transpose()?,
            max_orders_per_second: o.max_orders_per_second,
            max_orders_per_minute: o.max_orders_per_minute,
            self_trade_reject: match o.self_trade_prevention.as_deref() {
                None => false,
                Some("reject") => true,
                Some(other) => {
                    return Err(invalid(format!(
                        "risk.self_trade_prevention must be \"reject\", got {other:?}"
                    )))
                }
            },
            max_daily_loss: o.max_daily_loss,
        },
        gates,
        backend,
        confirm_ttl_ms: o
            .confirm_ttl_ms
            .map(|v| whole_ms("safety.confirm_ttl_ms", v))
            .transpose()?
            .unwrap_or(defaults.confirm_ttl_ms),
        max_pending_confirms: o
            .max_pending_confirms
            .map_or(defaults.max_pending_confirms, |v| v as usize),
        max_args_bytes: o
            .max_args_bytes
            .map_or(defaults.max_args_bytes, |v| v as usize),
        market_data_max_age_ms: o
            .market_data_max_age_ms
            .map(|v| whole_ms("market_data_max_age_ms", v))
            .transpose()?
            .unwrap_or(defaults.market_data_max_age_ms),
        shared_state: o.shared_state.unwrap_or(false),
        trading_state: o
            .trading_state
            .as_deref()
            .map(|s| trading_state("trading_state", s))
            .transpose()?
            .unwrap_or(defaults.trading_state),
    })
}

fn tool_kind(tool: u32) -> Result<ToolKind> {
    ToolKind::ALL.get(tool as usize).copied().ok_or_else(|| {
        invalid(format!(
            "tool index {tool} is not 0-{}",
            ToolKind::ALL.len() - 1
        ))
    })
}

fn parse_side(side: &str) -> Result<Side> {
    match side {
        "Buy" => Ok(Side::Buy),
        "Sell" => Ok(Side::Sell),
        other => Err(invalid(format!("side must be Buy or Sell, got {other:?}"))),
    }
}

#[napi(object)]
#[derive(Debug)]
pub struct NativeToolError {
    pub error_type: String,
    pub source: String,
    pub code: String,
    pub message: String,
}

#[napi(object)]
#[derive(Debug)]
pub struct GuardState {
    pub mode: String,
    /// `Closed` | `Open` | `HalfOpen`, when a rejection breaker is configured.
    pub breaker: Option<String>,
    pub pnl_breaker_open: Option<bool>,
    pub gate_openings: f64,
    pub daily_orders: f64,
    pub daily_cancels: f64,
    pub pending_confirms: u32,
    pub inflight: u32,
}

struct GuardSlot {
    guard: Guard,
    manual_clock: Option<SharedClock>,
    /// The numbers of the last decision (see `guardDecisionBuffer`).
    decision: SharedCells,
    /// The guard's market feed as shared cells, once asked for (see `guardMarketFeed`).
    feed: Option<SharedCells>,
    poisoned: bool,
}

/// A manual clock whose one cell (Unix ms as an f64) JS can also write through a Float64Array
/// (`guardClockBuffer`): moving a backtest's clock then costs no native call. Rust only reads it,
/// through relaxed atomic loads; a value that is not a whole number reads as the nearest `i64`
/// toward zero (NaN as 0), and `NativeGuardHandle.setClockMs` validates before writing.
#[derive(Debug, Clone)]
struct SharedClock(SharedCells);

impl SharedClock {
    fn new(start_ms: i64) -> Self {
        let cells = SharedCells::new(1);
        cells.set_row(0, &[start_ms as f64]);
        SharedClock(cells)
    }
}

impl Clock for SharedClock {
    fn now_ms(&self) -> i64 {
        self.0.get(0) as i64
    }
}

impl handles::Poisonable for GuardSlot {
    fn poisoned(&mut self) -> &mut bool {
        &mut self.poisoned
    }
}

thread_local! {
    /// Guards behind index handles (see `handles`).
    static GUARDS: RefCell<handles::Handles<GuardSlot>> = RefCell::new(handles::Handles::default());
}

fn unknown_handle(handle: f64) -> Error {
    invalid(format!(
        "guard handle {handle} is not a live guard (destroyed, or from another thread)"
    ))
}

/// Run `f` on the guard behind `handle`, containing panics; a panic poisons that guard.
fn with_guard<T>(
    handle: f64,
    what: &str,
    f: impl FnOnce(&mut GuardSlot) -> Result<T>,
) -> Result<T> {
    handles::with_live(
        &GUARDS,
        handle,
        what,
        unknown_handle,
        "axon guard is unusable after an internal panic; create a new one",
        f,
    )
}

/// Create a guard (the risk chain of one tool set); returns its handle.
#[napi]
pub fn guard_create(options: GuardOptions, metrics: &NativeMetrics) -> Result<f64> {
    contain("guardCreate", || {
        let config = guard_config(&options)?;
        let manual_clock = options
            .manual_clock_ms
            .map(|ms| whole_ms("manual_clock_ms", ms))
            .transpose()?
            .map(SharedClock::new);
        let clock: Arc<dyn Clock> = match &manual_clock {
            Some(c) => Arc::new(c.clone()),
            None => Arc::new(SystemClock),
        };
        let guard =
            Guard::new(config, clock, Arc::clone(&metrics.inner)).map_err(map_guard_error)?;
        let slot = GuardSlot {
            guard,
            manual_clock,
            decision: SharedCells::new(DECISION_SLOTS),
            feed: None,
            poisoned: false,
        };
        Ok(GUARDS.with(|arena| arena.borrow_mut().insert(slot)))
    })
}

/// Free a guard. Idempotent; later calls with the handle fail.
#[napi]
pub fn guard_destroy(handle: f64) {
    GUARDS.with(|arena| arena.borrow_mut().remove(handle));
}

/// Decide a tool call (an index of `TOOLS` in `raw/layout.rs`: 0 place_order ... 6 finish_bar); the
/// decision's numbers go into the guard's decision buffer (`guardDecisionBuffer`), its string is
/// returned.
/// Also installed as a raw Node-API callback (`src/raw.rs`).
#[napi]
pub fn guard_decide(handle: f64, tool: u32, args: String, refreshed: bool) -> Result<String> {
    decide(handle, tool, &args, refreshed)
}

pub(crate) fn decide(handle: f64, tool: u32, args: &str, refreshed: bool) -> Result<String> {
    with_guard(handle, "guardDecide", |s| {
        let mut out = [f64::NAN; DECISION_SLOTS];
        let text = write_decision(s.guard.decide(tool_kind(tool)?, args, refreshed), &mut out);
        s.decision.set_row(0, &out);
        Ok(text)
    })
}

/// Finish a call `guardDecide` answered `NeedState`: the same chain again, with the store's
/// verdict (JSON: `{"kind":"granted","reservationId",token?}` | `{"kind":"refused","code",
/// "numbers"}` | `{"kind":"unavailable","why"}`) standing in for the shared checks. Written to
/// the decision buffer like `guardDecide`.
#[napi]
pub fn guard_decide_with_verdict(
    handle: f64,
    tool: u32,
    args: String,
    verdict: String,
) -> Result<String> {
    with_guard(handle, "guardDecideWithVerdict", |s| {
        let mut out = [f64::NAN; DECISION_SLOTS];
        let decision = s
            .guard
            .decide_with_verdict(tool_kind(tool)?, &args, &verdict)
            .map_err(map_guard_error)?;
        let text = write_decision(decision, &mut out);
        s.decision.set_row(0, &out);
        Ok(text)
    })
}

/// The guard's decision numbers (`DECISION_SLOTS` cells, see `raw/layout.rs`) as a
/// Float64Array shared with it: every `guardDecide` writes there. Only once per guard.
#[napi]
pub fn guard_decision_buffer(env: &Env, handle: f64) -> Result<Float64ArraySlice<'_>> {
    with_guard(handle, "guardDecisionBuffer", |s| {
        s.decision.export(env, "decision buffer of this guard")
    })
}

/// Settle a successful backend call; returns the agent-facing OrderAck JSON (built natively:
/// cheaper than a JSON.stringify of a fresh object). `status` indexes `ackStatuses()`. Symbol and
/// side are those of the order the ticket stands for; `symbol` and `side` (0 Buy, 1 Sell, 2 none)
/// fill in only where it has none (a cancel of an order the guard did not know). Also installed as
/// a raw Node-API callback (`src/raw.rs`).
#[napi]
#[allow(clippy::too_many_arguments)]
pub fn guard_record_ack(
    handle: f64,
    ticket: f64,
    order_id: String,
    status: u32,
    symbol: Option<String>,
    side: u32,
    quantity: f64,
    timestamp_ms: f64,
    elapsed_seconds: f64,
) -> Result<String> {
    record_ack(
        handle,
        ticket,
        &order_id,
        status,
        symbol.as_deref(),
        side,
        quantity,
        timestamp_ms,
        elapsed_seconds,
    )
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn record_ack(
    handle: f64,
    ticket: f64,
    order_id: &str,
    status: u32,
    symbol: Option<&str>,
    side: u32,
    quantity: f64,
    timestamp_ms: f64,
    elapsed_seconds: f64,
) -> Result<String> {
    let status = *AckStatus::ALL.get(status as usize).ok_or_else(|| {
        invalid(format!(
            "status must index ACK_STATUSES (0..{}), got {status}",
            AckStatus::ALL.len()
        ))
    })?;
    let side = match side {
        SIDE_NONE => None,
        index => Some(*raw::layout::SIDES.get(index as usize).ok_or_else(|| {
            invalid(format!(
                "side must index SIDES or be {SIDE_NONE} (none), got {index}"
            ))
        })?),
    };
    with_guard(handle, "guardRecordAck", |s| {
        s.guard
            .record_ack(
                ticket as u64,
                order_id,
                status,
                symbol,
                side,
                quantity,
                timestamp_ms as i64,
                elapsed_seconds,
            )
            .map_err(map_guard_error)
    })
}

/// Settle a read-only call (query_portfolio, get_book_snapshot, get_pnl, finish_bar).
#[napi]
pub fn guard_record_read(handle: f64, ticket: f64, elapsed_seconds: f64) -> Result<()> {
    with_guard(handle, "guardRecordRead", |s| {
        s.guard
            .record(
                ticket as u64,
                Outcome::Acked {
                    order_id: "",
                    status: AckStatus::New,
                },
                elapsed_seconds,
            )
            .map_err(map_guard_error)?;
        Ok(())
    })
}

/// Settle a failed backend call; returns the agent-facing error.
#[napi]
pub fn guard_record_failure(
    handle: f64,
    ticket: f64,
    kind: String,
    message: String,
    elapsed_seconds: f64,
) -> Result<NativeToolError> {
    with_guard(handle, "guardRecordFailure", |s| {
        let kind = ErrorKindLabel::parse(&kind).unwrap_or(ErrorKindLabel::Other);
        let rejection = s
            .guard
            .record(
                ticket as u64,
                Outcome::Failed {
                    kind,
                    message: &message,
                },
                elapsed_seconds,
            )
            .map_err(map_guard_error)?
            .unwrap_or_else(|| axon_risk::guard::backend_rejection(kind, &message));
        Ok(NativeToolError {
            error_type: rejection.error_type().to_owned(),
            source: rejection.source().as_str().to_owned(),
            code: rejection.code().as_str().to_owned(),
            message: rejection.message(),
        })
    })
}

/// The guard's market slot for `symbol`, or -1 when it does not track the symbol (updates for it
/// would be ignored). Slots never change: cache them and use `guardUpdateMarketAt` or the feed.
#[napi]
pub fn guard_market_slot(handle: f64, symbol: String) -> Result<i32> {
    with_guard(handle, "guardMarketSlot", |s| {
        Ok(s.guard.market_slot(&symbol).map_or(-1, |slot| slot as i32))
    })
}

/// The symbol of a market slot (as a place decision names it), or an error for a slot the guard
/// never gave out.
#[napi]
pub fn guard_market_symbol(handle: f64, slot: u32) -> Result<String> {
    with_guard(handle, "guardMarketSymbol", |s| {
        s.guard
            .market_symbol(slot)
            .map(str::to_owned)
            .ok_or_else(|| invalid(format!("market slot {slot} does not exist")))
    })
}

/// Market data for a slot from `guardMarketSlot` (see `Guard::update_market`): numbers only across
/// the boundary.
#[napi]
pub fn guard_update_market_at(
    handle: f64,
    slot: u32,
    reference_price: f64,
    position: f64,
    open_buy_quantity: f64,
    open_sell_quantity: f64,
    pushed: bool,
) -> Result<()> {
    with_guard(handle, "guardUpdateMarketAt", |s| {
        let update = MarketUpdate {
            reference_price: (!reference_price.is_nan()).then_some(reference_price),
            position,
            open_buy_quantity,
            open_sell_quantity,
        };
        s.guard
            .update_market_at(slot, update, pushed)
            .map_err(map_guard_error)
    })
}

/// Forget the market data of `symbol`: the next call that needs it fetches it again.
#[napi]
pub fn guard_invalidate_market(handle: f64, symbol: String) -> Result<()> {
    with_guard(handle, "guardInvalidateMarket", |s| {
        s.guard.invalidate_market(&symbol);
        Ok(())
    })
}

#[napi]
pub fn guard_learn_order(
    handle: f64,
    order_id: String,
    symbol: String,
    side: String,
    price: f64,
    remaining: f64,
) -> Result<()> {
    with_guard(handle, "guardLearnOrder", |s| {
        s.guard
            .learn_order(&order_id, &symbol, parse_side(&side)?, price, remaining);
        Ok(())
    })
}

#[napi]
pub fn guard_forget_order(handle: f64, order_id: String) -> Result<()> {
    with_guard(handle, "guardForgetOrder", |s| {
        s.guard.forget_order(&order_id);
        Ok(())
    })
}

#[napi]
pub fn guard_update_daily_pnl(handle: f64, daily_pnl: f64) -> Result<()> {
    with_guard(handle, "guardUpdateDailyPnl", |s| {
        s.guard.update_daily_pnl(daily_pnl);
        Ok(())
    })
}

/// Close every gate by hand (the runbook's `gate.reset()`).
#[napi]
pub fn guard_reset_gate(handle: f64) -> Result<()> {
    with_guard(handle, "guardResetGate", |s| {
        s.guard.reset_gate();
        Ok(())
    })
}

#[napi]
pub fn guard_state(handle: f64) -> Result<GuardState> {
    with_guard(handle, "guardState", |s| {
        let g = &mut s.guard;
        Ok(GuardState {
            mode: g.mode().as_str().to_owned(),
            breaker: g.breaker_state().map(|b| b.as_str().to_owned()),
            // The PnL breaker is open when a PnlCircuitBreaker gate or `max_daily_loss` says so.
            pnl_breaker_open: match (g.pnl_breaker_open(), g.loss_breaker_open()) {
                (None, None) => None,
                (gate, loss) => Some(gate.unwrap_or(false) || loss.unwrap_or(false)),
            },
            gate_openings: g.gate_openings() as f64,
            daily_orders: g.daily_orders() as f64,
            daily_cancels: g.daily_cancels() as f64,
            pending_confirms: g.pending_confirms() as u32,
            inflight: g.inflight() as u32,
        })
    })
}

/// The guard's trading state: `ACTIVE` | `REDUCING` | `HALTED`.
#[napi]
pub fn guard_trading_state(handle: f64) -> Result<String> {
    with_guard(handle, "guardTradingState", |s| {
        Ok(s.guard.trading_state().as_str().to_owned())
    })
}

/// Change the trading state (sets the `trading_state` gauge); returns the previous one.
#[napi]
pub fn guard_set_trading_state(handle: f64, state: String) -> Result<String> {
    let state = trading_state("state", &state)?;
    with_guard(handle, "guardSetTradingState", |s| {
        Ok(s.guard.set_trading_state(state).as_str().to_owned())
    })
}

/// Carry daily counts saved on `day` over a restart (today's only; never lowers a count).
#[napi]
pub fn guard_restore_daily_counts(handle: f64, day: f64, orders: f64, cancels: f64) -> Result<()> {
    with_guard(handle, "guardRestoreDailyCounts", |s| {
        for (name, value) in [("day", day), ("orders", orders), ("cancels", cancels)] {
            if !(value.is_finite() && value >= 0.0 && value.fract() == 0.0) {
                return Err(invalid(format!(
                    "{name} must be a non-negative integer, got {value}"
                )));
            }
        }
        s.guard
            .restore_daily_counts(day as i64, orders as u64, cancels as u64);
        Ok(())
    })
}

/// The UTC day (days since the epoch) of the guard's daily counts.
#[napi]
pub fn guard_daily_day(handle: f64) -> Result<f64> {
    with_guard(handle, "guardDailyDay", |s| Ok(s.guard.daily_day() as f64))
}

/// The manual clock's cell (Unix ms) as a one-number Float64Array shared with the guard: writing
/// a whole number of ms to it moves the clock, without a native call.
/// Only for guards created with `manualClockMs`, and only once per guard.
#[napi]
pub fn guard_clock_buffer(env: &Env, handle: f64) -> Result<Float64ArraySlice<'_>> {
    with_guard(handle, "guardClockBuffer", |s| {
        let clock = s.manual_clock.as_ref().ok_or_else(|| {
            invalid("this guard runs on the system clock; pass manualClockMs to control time")
        })?;
        clock.0.export(env, "clock buffer of this guard")
    })
}

/// The guard's pushed-market-data feed as a Float64Array shared with it: per market slot
/// (`guardMarketSlot`) a row of `[referencePrice (NaN: none), position, openBuyQuantity,
/// openSellQuantity, version]`; write the four values, then a larger version, and the guard takes
/// the row (validated, fail-closed) when it next needs that symbol. Only once per guard.
#[napi]
pub fn guard_market_feed(env: &Env, handle: f64) -> Result<Float64ArraySlice<'_>> {
    with_guard(handle, "guardMarketFeed", |s| {
        let feed = match &s.feed {
            Some(feed) => feed.clone(),
            None => {
                let feed = SharedCells::from_arc(Arc::clone(s.guard.market_feed().cells()));
                s.feed = Some(feed.clone());
                feed
            }
        };
        feed.export(env, "market feed of this guard")
    })
}
