//! The guard: one call decides a tool call, one more records its outcome (SPEC §1-§5, §7).
//!
//! Chain order for orders: Arguments -> SafetyMode -> RiskGate (the trading state of
//! `trading_state`, then an open gate blocks outright) ->
//! RiskLimits (static limits, then the market-access controls of `controls`) -> RiskGate (a HalfOpen breaker's one trial, and the pass that clears the streak:
//! only for an order that is sent, or a DryRun order; never for a TwoPhase proposal) -> reservation.
//! One chain (`check_order`) serves `place_order` and `replace_order`; each adds only what is its
//! own (a new order's daily slot and client id; a replace's known order and growth).
//!
//! Invariants:
//! - `decide` either rejects with no side effect on quotas, or (for a call that goes to a backend)
//!   takes its daily slot and in-flight exposure in the same `&mut self` call that checked them, so
//!   concurrent callers can never overshoot a limit. A `NeedMarket`/`NeedOrder` answer has no side
//!   effect at all (no token consumed, no slot taken, no metric moved): the caller fetches and asks again.
//! - Every `Send` decision carries a ticket; `record` settles it exactly once. A definite backend
//!   rejection (rejected, insufficient_funds, symbol_not_found) gives the daily slot back; an unknown
//!   outcome (network, timeout, other) keeps it, because the order may exist at the venue.
//! - Exposure for `max_position_abs` is position + open orders on the same side (as the backend
//!   reports them) + in-flight orders this guard has sent and not yet settled + orders of unknown
//!   outcome, which count until a snapshot fetched after the outcome (never a push alone) shows
//!   whether they rest. Fail-closed: a limit needing data that cannot be had rejects.
//! - Cancels reduce risk: they are never blocked by a gate and never move the breaker; they count
//!   against `max_daily_cancels`. The read tools (`query_portfolio`, `get_book_snapshot`,
//!   `get_pnl`, `finish_bar`) are allowed in every mode, DryRun included: only their arguments are
//!   checked; no gate, limit or quota applies and none moves (see `reads`).
//! - Metrics move exactly once per call: at `decide` for calls it finishes, at `record` otherwise.
//!   Malformed arguments move only `trading_orders_total{status="rejected"}`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axon_metrics::{
    BackendLabel, ErrorKindLabel, RejectionSource, SideLabel, StatusLabel, ToolLabel,
    TradingMetrics,
};

use crate::args::{self, OrderType, Side, TimeInForce};
use crate::clock::Clock;
use crate::controls::{ControlOrder, Controls, ControlsConfig, Reference, Taken};
use crate::gate::{BreakerState, GateChain, GateConfig};
use crate::limits::{self, DailyCounter, RiskLimits};
use crate::rejection::{Denial, PricePurpose, Rejection, Source};
use crate::tokens::{PendingOrder, TokenStore, DEFAULT_MAX_PENDING, DEFAULT_TOKEN_TTL_MS};
use axon_feed::MarketFeed;
use axon_json::{push_integer, push_json_number, push_json_str};

mod decide;
mod market;
mod reads;
mod record;
pub mod shared;
mod trading_state;

use market::MarketState;
pub use shared::{StateOp, StateRequest, StateVerdict};
pub use trading_state::TradingState;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SafetyMode {
    #[default]
    DryRun,
    TwoPhase,
    Direct,
}

impl SafetyMode {
    pub fn as_str(self) -> &'static str {
        match self {
            SafetyMode::DryRun => "DryRun",
            SafetyMode::TwoPhase => "TwoPhase",
            SafetyMode::Direct => "Direct",
        }
    }
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "DryRun" => Some(SafetyMode::DryRun),
            "TwoPhase" => Some(SafetyMode::TwoPhase),
            "Direct" => Some(SafetyMode::Direct),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolKind {
    PlaceOrder,
    CancelOrder,
    ReplaceOrder,
    QueryPortfolio,
    GetBookSnapshot,
    GetPnl,
    FinishBar,
}

impl ToolKind {
    pub const ALL: [ToolKind; 7] = [
        ToolKind::PlaceOrder,
        ToolKind::CancelOrder,
        ToolKind::ReplaceOrder,
        ToolKind::QueryPortfolio,
        ToolKind::GetBookSnapshot,
        ToolKind::GetPnl,
        ToolKind::FinishBar,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ToolKind::PlaceOrder => "place_order",
            ToolKind::CancelOrder => "cancel_order",
            ToolKind::ReplaceOrder => "replace_order",
            ToolKind::QueryPortfolio => "query_portfolio",
            ToolKind::GetBookSnapshot => "get_book_snapshot",
            ToolKind::GetPnl => "get_pnl",
            ToolKind::FinishBar => "finish_bar",
        }
    }

    fn label(self) -> ToolLabel {
        match self {
            ToolKind::PlaceOrder => ToolLabel::Place,
            ToolKind::CancelOrder => ToolLabel::Cancel,
            ToolKind::ReplaceOrder => ToolLabel::Replace,
            ToolKind::QueryPortfolio => ToolLabel::Query,
            ToolKind::GetBookSnapshot => ToolLabel::BookSnapshot,
            ToolKind::GetPnl => ToolLabel::Pnl,
            ToolKind::FinishBar => ToolLabel::FinishBar,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct GuardConfig {
    pub mode: SafetyMode,
    pub limits: RiskLimits,
    /// The market-access controls (see `controls`).
    pub controls: ControlsConfig,
    pub gates: Vec<GateConfig>,
    pub backend: BackendLabel,
    pub confirm_ttl_ms: i64,
    pub max_pending_confirms: usize,
    pub max_args_bytes: usize,
    /// How long market data fetched on demand (not pushed by the backend) stays usable.
    pub market_data_max_age_ms: i64,
    /// The account-wide checks are decided by a shared store (see `shared`); DryRun keeps
    /// deciding them from this process's own state.
    pub shared_state: bool,
    /// The trading state the guard starts in (see `trading_state`).
    pub trading_state: TradingState,
}

impl Default for GuardConfig {
    fn default() -> Self {
        Self {
            mode: SafetyMode::DryRun,
            limits: RiskLimits::default(),
            controls: ControlsConfig::default(),
            gates: Vec::new(),
            backend: BackendLabel::Mock,
            confirm_ttl_ms: DEFAULT_TOKEN_TTL_MS,
            max_pending_confirms: DEFAULT_MAX_PENDING,
            max_args_bytes: args::DEFAULT_MAX_ARGS_BYTES,
            market_data_max_age_ms: 1_000,
            shared_state: false,
            trading_state: TradingState::Active,
        }
    }
}

/// Misuse of the guard (a bug in the caller), as opposed to a denial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuardError {
    InvalidConfig(String),
    UnknownTicket(u64),
    InvalidMarketData(String),
}

impl std::fmt::Display for GuardError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GuardError::InvalidConfig(m) => write!(f, "invalid guard config: {m}"),
            GuardError::UnknownTicket(t) => write!(f, "ticket {t} is unknown or already recorded"),
            GuardError::InvalidMarketData(m) => write!(f, "invalid market data: {m}"),
        }
    }
}

impl std::error::Error for GuardError {}

/// An order the risk chain approved for a backend, normalized.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderToSend {
    pub symbol: Arc<str>,
    /// The symbol's market slot ([`Guard::market_slot`]): callers may name the symbol by it.
    pub market_slot: u32,
    pub side: Side,
    pub quantity: f64,
    pub order_type: OrderType,
    pub price: Option<f64>,
    pub stop_loss: Option<f64>,
    pub take_profit: Option<f64>,
    pub time_in_force: TimeInForce,
    /// The caller's id, or one the guard made up so that a retried send can be recognized.
    pub client_order_id: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Place(OrderToSend),
    Cancel {
        order_id: String,
    },
    Replace {
        order_id: String,
        price: Option<f64>,
        quantity: Option<f64>,
    },
    Query {
        symbol: Option<String>,
    },
    /// Read the venue's book: `levels` per side (1..=50, checked by the parser).
    BookSnapshot {
        symbol: String,
        levels: u32,
    },
    /// Read positions with their unrealized PnL, and today's realized PnL.
    Pnl {
        symbol: Option<String>,
    },
    /// End the model's turn for this bar or live cycle.
    FinishBar {
        note: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Finished without a backend (DryRun, PendingConfirm): the OrderAck JSON for the agent.
    Done {
        ack_json: String,
        status: DoneStatus,
    },
    Rejected(Rejection),
    /// Approved: perform `action` on the backend, then `record(ticket, ..)`.
    Send {
        ticket: u64,
        action: Action,
    },
    /// Fetch reference price, position and open orders for `symbol`, `update_market`, decide again
    /// with `refreshed = true`.
    NeedMarket {
        symbol: String,
    },
    /// Fetch open orders, `learn_order` them, decide again with `refreshed = true`.
    NeedOrder {
        order_id: String,
    },
    /// Shared mode: the static checks passed; ask the store, then `decide_with_verdict`. Boxed:
    /// the request is the largest variant, and it comes with a store round trip anyway.
    NeedState(Box<StateRequest>),
}

/// Status of an ack the guard writes itself, without a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DoneStatus {
    DryRun,
    PendingConfirm,
}

impl DoneStatus {
    pub const ALL: [DoneStatus; 2] = [DoneStatus::DryRun, DoneStatus::PendingConfirm];

    pub fn as_str(self) -> &'static str {
        match self {
            DoneStatus::DryRun => "DryRun",
            DoneStatus::PendingConfirm => "PendingConfirm",
        }
    }
}

/// Status of a backend acknowledgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckStatus {
    New,
    PartiallyFilled,
    Filled,
    Cancelled,
    Replaced,
}

impl AckStatus {
    pub const ALL: [AckStatus; 5] = [
        AckStatus::New,
        AckStatus::PartiallyFilled,
        AckStatus::Filled,
        AckStatus::Cancelled,
        AckStatus::Replaced,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AckStatus::New => "New",
            AckStatus::PartiallyFilled => "PartiallyFilled",
            AckStatus::Filled => "Filled",
            AckStatus::Cancelled => "Cancelled",
            AckStatus::Replaced => "Replaced",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome<'a> {
    Acked {
        order_id: &'a str,
        status: AckStatus,
    },
    Failed {
        kind: ErrorKindLabel,
        message: &'a str,
    },
}

/// Market data for one symbol, as a backend reports it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MarketUpdate {
    pub reference_price: Option<f64>,
    pub position: f64,
    pub open_buy_quantity: f64,
    pub open_sell_quantity: f64,
}

/// A resting order known to the guard (placed through it, or learned from the backend).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KnownOrder {
    pub symbol: u32,
    pub side: Side,
    pub price: f64,
    pub remaining: f64,
}

#[derive(Debug, Clone)]
struct Inflight {
    tool: ToolKind,
    side: SideLabel,
    symbol: Option<u32>,
    exposure: Option<(Side, f64)>,
    order_day: Option<i64>,
    cancel_day: Option<i64>,
    /// What the order cache learns on success.
    learn: Learn,
    /// What the market-access controls took for it.
    controls: Taken,
}

#[derive(Debug, Clone)]
enum Learn {
    Nothing,
    /// A placed limit order rests under the id the backend acknowledges.
    Resting(KnownOrder),
    Forget(String),
    /// The old id is gone; the order rests (possibly under a new id) with these fields.
    Replaced(String, KnownOrder),
}

#[derive(Debug)]
struct Slot {
    generation: u32,
    inflight: Option<Inflight>,
}

const MAX_DYNAMIC_SYMBOLS: usize = 4096;
const MAX_KNOWN_ORDERS: usize = 100_000;
const LINEAR_SCAN_SYMBOLS: usize = 8;

#[derive(Debug)]
pub struct Guard {
    config: GuardConfig,
    clock: Arc<dyn Clock>,
    metrics: Arc<TradingMetrics>,
    /// Shared with every `OrderToSend` that names the symbol (no allocation per order).
    symbols: Vec<Arc<str>>,
    symbol_index: HashMap<Box<str>, u32>,
    dynamic_symbols: bool,
    market: Vec<MarketState>,
    /// Pushed market data in shared memory (see `axon_feed`), and the version last taken per slot.
    feed: Option<MarketFeed>,
    feed_seen: Vec<f64>,
    /// When each feed row was last looked at: a row found changed was written after that time, so
    /// its price is stamped with it (its age is never understated).
    feed_checked_ms: Vec<i64>,
    orders: HashMap<String, KnownOrder>,
    daily_orders: DailyCounter,
    daily_cancels: DailyCounter,
    controls: Controls,
    gates: GateChain,
    trading_state: TradingState,
    tokens: TokenStore,
    slots: Vec<Slot>,
    free_slots: Vec<u32>,
    id_prefix: String,
    /// Reused for the ids of DryRun and PendingConfirm acks (no allocation per ack).
    id_scratch: String,
    id_seq: u64,
    dry_seq: u64,
    /// The store's verdict while `decide_with_verdict` re-runs the chain (see `shared`).
    verdict: Option<StateVerdict>,
    /// A granted proposal's token, from the verdict to the PendingConfirm ack.
    granted_token: Option<String>,
}

impl Guard {
    pub fn new(
        config: GuardConfig,
        clock: Arc<dyn Clock>,
        metrics: Arc<TradingMetrics>,
    ) -> Result<Self, GuardError> {
        config
            .limits
            .validate()
            .map_err(GuardError::InvalidConfig)?;
        config
            .controls
            .validate()
            .map_err(GuardError::InvalidConfig)?;
        for gate in &config.gates {
            gate.validate().map_err(GuardError::InvalidConfig)?;
        }
        if config.confirm_ttl_ms <= 0 {
            return Err(GuardError::InvalidConfig(
                "safety.confirm_ttl_ms must be > 0".into(),
            ));
        }
        if config.max_args_bytes == 0
            || config.max_pending_confirms == 0
            || config.market_data_max_age_ms < 0
        {
            return Err(GuardError::InvalidConfig(
                "max_args_bytes and max_pending_confirms must be > 0, market_data_max_age_ms >= 0"
                    .into(),
            ));
        }
        let mut prefix = [0u8; 4];
        getrandom::fill(&mut prefix)
            .map_err(|e| GuardError::InvalidConfig(format!("OS RNG unavailable: {e}")))?;
        let controls = Controls::new(config.controls.clone(), config.market_data_max_age_ms);
        let controls = if config.shared_state && config.mode != SafetyMode::DryRun {
            controls.with_shared_store()
        } else {
            controls
        };
        let mut guard = Self {
            tokens: TokenStore::new(config.confirm_ttl_ms, config.max_pending_confirms),
            gates: GateChain::new(&config.gates),
            dynamic_symbols: config.limits.allowed_symbols.is_none(),
            clock,
            metrics,
            symbols: Vec::new(),
            symbol_index: HashMap::new(),
            market: Vec::new(),
            feed: None,
            feed_seen: Vec::new(),
            feed_checked_ms: Vec::new(),
            orders: HashMap::new(),
            daily_orders: DailyCounter::default(),
            daily_cancels: DailyCounter::default(),
            controls,
            trading_state: config.trading_state,
            slots: Vec::with_capacity(64),
            free_slots: Vec::with_capacity(64),
            id_prefix: prefix.iter().map(|b| format!("{b:02x}")).collect(),
            id_seq: 0,
            dry_seq: 0,
            id_scratch: String::new(),
            verdict: None,
            granted_token: None,
            config,
        };
        for symbol in guard
            .config
            .limits
            .allowed_symbols
            .clone()
            .unwrap_or_default()
        {
            guard.intern(&symbol);
        }
        guard.metrics.set_trading_state(guard.trading_state.gauge());
        Ok(guard)
    }

    pub fn config(&self) -> &GuardConfig {
        &self.config
    }

    pub fn mode(&self) -> SafetyMode {
        self.config.mode
    }

    pub fn metrics(&self) -> &Arc<TradingMetrics> {
        &self.metrics
    }

    /// Whether the account-wide checks go to the shared store (never in DryRun).
    fn shared(&self) -> bool {
        self.config.shared_state && self.config.mode != SafetyMode::DryRun
    }

    /// Re-run the chain for a call answered `NeedState`, with the store's `verdict` (JSON, see
    /// [`StateVerdict`]) standing in for the shared checks. Market and order data are taken as
    /// they are now (no second `NeedMarket`/`NeedOrder`).
    pub fn decide_with_verdict(
        &mut self,
        tool: ToolKind,
        args: &str,
        verdict: &str,
    ) -> Result<Decision, GuardError> {
        if !self.shared() {
            return Err(GuardError::InvalidConfig(
                "decide_with_verdict needs shared_state and a mode other than DryRun".into(),
            ));
        }
        self.verdict = Some(StateVerdict::parse(verdict).map_err(GuardError::InvalidConfig)?);
        let decision = self.decide(tool, args, true);
        self.verdict = None;
        self.granted_token = None;
        Ok(decision)
    }

    // ---- helpers ----------------------------------------------------------------------------

    fn open_ticket(&mut self, inflight: Inflight) -> u64 {
        let index = match self.free_slots.pop() {
            Some(i) => i,
            None => {
                self.slots.push(Slot {
                    generation: 0,
                    inflight: None,
                });
                (self.slots.len() - 1) as u32
            }
        };
        let slot = &mut self.slots[index as usize];
        slot.generation = slot.generation.wrapping_add(1) & 0x000f_ffff;
        slot.inflight = Some(inflight);
        // Fits in 52 bits, so the ticket is exact as a JS number.
        (u64::from(slot.generation) << 32) | u64::from(index)
    }

    fn close_ticket(&mut self, ticket: u64) -> Result<Inflight, GuardError> {
        let index = (ticket & 0xffff_ffff) as usize;
        let generation = (ticket >> 32) as u32;
        let slot = self
            .slots
            .get_mut(index)
            .filter(|s| s.generation == generation)
            .ok_or(GuardError::UnknownTicket(ticket))?;
        let inflight = slot
            .inflight
            .take()
            .ok_or(GuardError::UnknownTicket(ticket))?;
        self.free_slots.push(index as u32);
        Ok(inflight)
    }

    fn reject_arguments(&mut self, tool: ToolKind, r: Rejection) -> Decision {
        self.metrics
            .inc_orders(tool.label(), SideLabel::None, StatusLabel::Rejected);
        Decision::Rejected(r)
    }

    fn reject(
        &mut self,
        tool: ToolKind,
        side: SideLabel,
        r: Rejection,
        started: Instant,
    ) -> Decision {
        // In shared mode the store keeps the breaker (the caller records this refusal there).
        if r.source() == Source::RiskLimits && !self.shared() {
            self.gates.on_risk_rejection(self.clock.now_ms());
        }
        self.reject_without_breaker(tool, side, r, started)
    }

    fn reject_without_breaker(
        &mut self,
        tool: ToolKind,
        side: SideLabel,
        r: Rejection,
        started: Instant,
    ) -> Decision {
        let code = r.code().metric_label();
        match r.source() {
            Source::RiskLimits => self
                .metrics
                .inc_risk_rejection(RejectionSource::RiskLimits, code),
            Source::RiskGate => {
                self.metrics
                    .inc_risk_rejection(RejectionSource::RiskGate, code);
                self.metrics.inc_gate_blocked();
            }
            Source::SafetyMode => self
                .metrics
                .inc_risk_rejection(RejectionSource::SafetyMode, code),
            Source::Arguments | Source::Backend => {}
        }
        self.metrics
            .inc_orders(tool.label(), side, StatusLabel::Rejected);
        self.metrics
            .observe_duration(tool.label(), started.elapsed().as_secs_f64());
        Decision::Rejected(r)
    }

    fn finish(
        &mut self,
        tool: ToolKind,
        side: SideLabel,
        ack_json: String,
        status: DoneStatus,
        started: Instant,
    ) -> Decision {
        self.metrics
            .inc_orders(tool.label(), side, StatusLabel::Success);
        self.metrics
            .observe_duration(tool.label(), started.elapsed().as_secs_f64());
        Decision::Done { ack_json, status }
    }

    #[allow(clippy::too_many_arguments)]
    fn ack_json(
        &mut self,
        id_kind: &str,
        symbol: Option<&str>,
        side: Option<Side>,
        quantity: Option<f64>,
        status: &str,
        now: i64,
        token: Option<&str>,
    ) -> String {
        self.dry_seq += 1;
        let mut id = std::mem::take(&mut self.id_scratch);
        id.clear();
        push_generated_id(&mut id, id_kind, &self.id_prefix, self.dry_seq);
        let json = order_ack_json(&id, symbol, side, quantity, status, now, token);
        self.id_scratch = id;
        json
    }
}

/// `kind-prefix-seq`: the ids the guard makes (client order ids, DryRun and pending order ids).
fn generated_id(kind: &str, prefix: &str, seq: u64) -> String {
    let mut id = String::with_capacity(kind.len() + prefix.len() + 22);
    push_generated_id(&mut id, kind, prefix, seq);
    id
}

/// `kind-prefix-seq`, the shape of every id the guard makes up.
fn push_generated_id(out: &mut String, kind: &str, prefix: &str, seq: u64) {
    out.push_str(kind);
    out.push('-');
    out.push_str(prefix);
    out.push('-');
    push_integer(out, seq as i64);
}

/// The OrderAck JSON of SPEC §2 (`{"order_id","symbol","side","quantity","status","timestamp_ms"}`
/// plus `confirm_token` when pending), written in one buffer: it is on every call's hot path.
pub fn order_ack_json(
    order_id: &str,
    symbol: Option<&str>,
    side: Option<Side>,
    quantity: Option<f64>,
    status: &str,
    timestamp_ms: i64,
    token: Option<&str>,
) -> String {
    let mut out = String::with_capacity(192);
    out.push_str("{\"order_id\":");
    push_json_str(&mut out, order_id);
    out.push_str(",\"symbol\":");
    match symbol {
        Some(symbol) => push_json_str(&mut out, symbol),
        None => out.push_str("null"),
    }
    out.push_str(",\"side\":");
    out.push_str(side.map_or("null", |s| {
        if s == Side::Buy {
            "\"Buy\""
        } else {
            "\"Sell\""
        }
    }));
    out.push_str(",\"quantity\":");
    match quantity {
        Some(q) => push_json_number(&mut out, q),
        None => out.push_str("null"),
    }
    out.push_str(",\"status\":");
    push_json_str(&mut out, status);
    out.push_str(",\"timestamp_ms\":");
    push_integer(&mut out, timestamp_ms);
    if let Some(token) = token {
        out.push_str(",\"confirm_token\":");
        push_json_str(&mut out, token);
    }
    out.push('}');
    out
}

fn control_order<'a>(
    market: u32,
    symbol: &'a str,
    side: Side,
    order_type: OrderType,
    quantity: f64,
    limit_price: Option<f64>,
    new_order: bool,
) -> ControlOrder<'a> {
    ControlOrder {
        market,
        symbol,
        side,
        order_type,
        quantity,
        limit_price,
        new_order,
    }
}

fn side_label(side: Side) -> SideLabel {
    match side {
        Side::Buy => SideLabel::Buy,
        Side::Sell => SideLabel::Sell,
    }
}

/// The agent-facing error for a failed backend call. `message` comes from the backend, which must
/// already have removed anything secret from it.
pub fn backend_rejection(kind: ErrorKindLabel, message: &str) -> Rejection {
    Denial::Backend {
        kind,
        detail: message.chars().take(500).collect(),
    }
    .into()
}
