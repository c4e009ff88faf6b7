//! The guard: one call decides a tool call, one more records its outcome (SPEC §1-§5, §7).
//!
//! Chain order for orders: Arguments -> SafetyMode -> RiskGate (an open gate blocks outright) ->
//! RiskLimits -> RiskGate (a HalfOpen breaker's one trial, and the pass that clears the streak:
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
//!   checked; no gate, limit or quota applies and none moves.
//! - Metrics move exactly once per call: at `decide` for calls it finishes, at `record` otherwise.
//!   Malformed arguments move only `trading_orders_total{status="rejected"}`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axon_metrics::{BackendLabel, ErrorKindLabel, RejectionSource, SideLabel, StatusLabel, ToolLabel, TradingMetrics};

use crate::args::{self, OrderType, Side, TimeInForce};
use crate::clock::Clock;
use axon_feed::MarketFeed;
use crate::gate::{BreakerState, GateChain, GateConfig};
use axon_json::{push_integer, push_json_number, push_json_str};
use crate::limits::{self, DailyCounter, RiskLimits};
use crate::rejection::{Code, Rejection, Source};
use crate::tokens::{PendingOrder, TokenStore, DEFAULT_MAX_PENDING, DEFAULT_TOKEN_TTL_MS};

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
    pub gates: Vec<GateConfig>,
    pub backend: BackendLabel,
    pub confirm_ttl_ms: i64,
    pub max_pending_confirms: usize,
    pub max_args_bytes: usize,
    /// How long market data fetched on demand (not pushed by the backend) stays usable.
    pub market_data_max_age_ms: i64,
}

impl Default for GuardConfig {
    fn default() -> Self {
        Self {
            mode: SafetyMode::DryRun,
            limits: RiskLimits::default(),
            gates: Vec::new(),
            backend: BackendLabel::Mock,
            confirm_ttl_ms: DEFAULT_TOKEN_TTL_MS,
            max_pending_confirms: DEFAULT_MAX_PENDING,
            max_args_bytes: args::DEFAULT_MAX_ARGS_BYTES,
            market_data_max_age_ms: 1_000,
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
    Cancel { order_id: String },
    Replace { order_id: String, price: Option<f64>, quantity: Option<f64> },
    Query { symbol: Option<String> },
    /// Read the venue's book: `levels` per side (1..=50, checked by the parser).
    BookSnapshot { symbol: String, levels: u32 },
    /// Read positions with their unrealized PnL, and today's realized PnL.
    Pnl { symbol: Option<String> },
    /// End the model's turn for this bar or live cycle.
    FinishBar { note: Option<String> },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Finished without a backend (DryRun, PendingConfirm): the OrderAck JSON for the agent.
    Done { ack_json: String, status: DoneStatus },
    Rejected(Rejection),
    /// Approved: perform `action` on the backend, then `record(ticket, ..)`.
    Send { ticket: u64, action: Action },
    /// Fetch reference price, position and open orders for `symbol`, `update_market`, decide again
    /// with `refreshed = true`.
    NeedMarket { symbol: String },
    /// Fetch open orders, `learn_order` them, decide again with `refreshed = true`.
    NeedOrder { order_id: String },
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
    pub const ALL: [AckStatus; 5] = [AckStatus::New, AckStatus::PartiallyFilled, AckStatus::Filled, AckStatus::Cancelled, AckStatus::Replaced];

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
    Acked { order_id: &'a str, status: AckStatus },
    Failed { kind: ErrorKindLabel, message: &'a str },
}

/// Market data for one symbol, as a backend reports it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MarketUpdate {
    pub reference_price: Option<f64>,
    pub position: f64,
    pub open_buy_quantity: f64,
    pub open_sell_quantity: f64,
}

#[derive(Debug, Clone, Copy)]
struct MarketState {
    price: f64,
    position: f64,
    open_buy: f64,
    open_sell: f64,
    /// `None`: pushed by the backend (live, never stale); `Some(t)`: fetched at `t`.
    fetched_at_ms: Option<i64>,
    known: bool,
    inflight_buy: f64,
    inflight_sell: f64,
    /// Exposure of orders whose outcome is unknown (a timeout, a dropped connection, an unusable
    /// ack): they may rest at the venue, so they count until a snapshot fetched afterwards shows
    /// whether they do (it then reports them as open orders or position, or not at all).
    uncertain_buy: f64,
    uncertain_sell: f64,
    /// Set by an unknown outcome: pushed data alone is not enough until a fetched snapshot arrives.
    must_fetch: bool,
}

impl Default for MarketState {
    fn default() -> Self {
        Self {
            price: f64::NAN,
            position: 0.0,
            open_buy: 0.0,
            open_sell: 0.0,
            fetched_at_ms: None,
            known: false,
            inflight_buy: 0.0,
            inflight_sell: 0.0,
            uncertain_buy: 0.0,
            uncertain_sell: 0.0,
            must_fetch: false,
        }
    }
}

impl MarketState {
    /// Unknown again: the next call that needs it asks instead of trusting stale data.
    fn forget(&mut self) {
        self.known = false;
        self.price = f64::NAN;
    }

    fn fresh(&self, now_ms: i64, max_age_ms: i64) -> bool {
        self.known && !self.must_fetch && self.fetched_at_ms.is_none_or(|t| now_ms - t <= max_age_ms)
    }

    /// Signed exposure on `side` if everything open and in flight on that side fills.
    fn exposure(&self, side: Side) -> f64 {
        match side {
            Side::Buy => self.position + self.open_buy + self.inflight_buy + self.uncertain_buy,
            Side::Sell => self.position - self.open_sell - self.inflight_sell - self.uncertain_sell,
        }
    }

    fn add_inflight(&mut self, side: Side, quantity: f64) {
        match side {
            Side::Buy => self.inflight_buy += quantity,
            Side::Sell => self.inflight_sell += quantity,
        }
    }

    /// An order whose outcome is unknown keeps its exposure until a fetched snapshot accounts for it.
    fn add_uncertain(&mut self, side: Side, quantity: f64) {
        match side {
            Side::Buy => self.uncertain_buy += quantity,
            Side::Sell => self.uncertain_sell += quantity,
        }
        self.must_fetch = true;
    }
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

/// An order as the shared chain checks it (see [`Guard::check_order`]).
struct ChainOrder<'a> {
    tool: ToolKind,
    /// The symbol's market slot; `None` for a symbol this guard may not trade.
    market: Option<u32>,
    symbol: &'a str,
    side: Side,
    /// Quantity and price the notional limit values (price NaN: none known).
    quantity: f64,
    price: f64,
    no_price: NoPrice<'a>,
    /// Signed change of the position if the order fills.
    position_delta: f64,
    /// A new order takes a daily order slot; a replace does not.
    new_order: bool,
}

/// What the notional limit says when it has no price.
enum NoPrice<'a> {
    MarketOrder,
    Replace(&'a str),
}

/// The order id of an ack the guard writes: one it makes up, or the order's own (a replace).
enum AckId<'a> {
    Generated,
    Given(&'a str),
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
    orders: HashMap<String, KnownOrder>,
    daily_orders: DailyCounter,
    daily_cancels: DailyCounter,
    gates: GateChain,
    tokens: TokenStore,
    slots: Vec<Slot>,
    free_slots: Vec<u32>,
    id_prefix: String,
    /// Reused for the ids of DryRun and PendingConfirm acks (no allocation per ack).
    id_scratch: String,
    id_seq: u64,
    dry_seq: u64,
}

impl Guard {
    pub fn new(config: GuardConfig, clock: Arc<dyn Clock>, metrics: Arc<TradingMetrics>) -> Result<Self, GuardError> {
        config.limits.validate().map_err(GuardError::InvalidConfig)?;
        for gate in &config.gates {
            gate.validate().map_err(GuardError::InvalidConfig)?;
        }
        if config.confirm_ttl_ms <= 0 {
            return Err(GuardError::InvalidConfig("safety.confirm_ttl_ms must be > 0".into()));
        }
        if config.max_args_bytes == 0 || config.max_pending_confirms == 0 || config.market_data_max_age_ms < 0 {
            return Err(GuardError::InvalidConfig("max_args_bytes and max_pending_confirms must be > 0, market_data_max_age_ms >= 0".into()));
        }
        let mut prefix = [0u8; 4];
        getrandom::fill(&mut prefix).map_err(|e| GuardError::InvalidConfig(format!("OS RNG unavailable: {e}")))?;
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
            orders: HashMap::new(),
            daily_orders: DailyCounter::default(),
            daily_cancels: DailyCounter::default(),
            slots: Vec::with_capacity(64),
            free_slots: Vec::with_capacity(64),
            id_prefix: prefix.iter().map(|b| format!("{b:02x}")).collect(),
            id_seq: 0,
            dry_seq: 0,
            id_scratch: String::new(),
            config,
        };
        for symbol in guard.config.limits.allowed_symbols.clone().unwrap_or_default() {
            guard.intern(&symbol);
        }
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

    // ---- symbols and market data -------------------------------------------------------------

    fn intern(&mut self, symbol: &str) -> Option<u32> {
        if let Some(i) = self.find_symbol(symbol) {
            return Some(i);
        }
        if self.symbols.len() >= MAX_DYNAMIC_SYMBOLS.max(self.config.limits.allowed_symbols.as_ref().map_or(0, Vec::len)) {
            return None;
        }
        let index = self.symbols.len() as u32;
        self.symbols.push(symbol.into());
        self.symbol_index.insert(symbol.into(), index);
        self.market.push(MarketState::default());
        Some(index)
    }

    #[inline]
    fn find_symbol(&self, symbol: &str) -> Option<u32> {
        if self.symbols.len() <= LINEAR_SCAN_SYMBOLS {
            self.symbols.iter().position(|s| &**s == symbol).map(|i| i as u32)
        } else {
            self.symbol_index.get(symbol).copied()
        }
    }

    /// The symbol's index if this guard may trade it.
    fn tradable(&mut self, symbol: &str) -> Option<u32> {
        if self.dynamic_symbols {
            self.intern(symbol)
        } else {
            self.find_symbol(symbol)
        }
    }

    /// The slot market data for `symbol` is kept in, or `None` when the guard does not track the
    /// symbol (not allowed, or no room for one more): updates for it would be ignored. A slot never
    /// changes, so callers may cache it and use [`Guard::update_market_at`].
    pub fn market_slot(&mut self, symbol: &str) -> Option<u32> {
        self.tradable(symbol)
    }

    /// The symbol a market slot was given to, if it was.
    pub fn market_symbol(&self, slot: u32) -> Option<&str> {
        self.symbols.get(slot as usize).map(|s| &**s)
    }

    /// Record market data for `symbol`. `pushed`: the backend pushes every change (never stale);
    /// otherwise the data was fetched now and ages out after `market_data_max_age_ms`.
    pub fn update_market(&mut self, symbol: &str, update: MarketUpdate, pushed: bool) -> Result<(), GuardError> {
        let price = validate_market(symbol, update)?;
        let Some(index) = self.tradable(symbol) else { return Ok(()) };
        self.pull_feed(index);
        self.store_market(index, price, update, pushed);
        Ok(())
    }

    /// [`Guard::update_market`] for a slot from [`Guard::market_slot`] (no symbol lookup).
    pub fn update_market_at(&mut self, slot: u32, update: MarketUpdate, pushed: bool) -> Result<(), GuardError> {
        let symbol = self.symbols.get(slot as usize).ok_or_else(|| GuardError::InvalidMarketData(format!("market slot {slot} does not exist")))?;
        let price = validate_market(symbol, update)?;
        self.pull_feed(slot);
        self.store_market(slot, price, update, pushed);
        Ok(())
    }

    /// The shared memory pushed market data can be written to instead of calling
    /// [`Guard::update_market_at`] (created on the first call, one row per possible market slot).
    pub fn market_feed(&mut self) -> MarketFeed {
        let slots = if self.dynamic_symbols { MAX_DYNAMIC_SYMBOLS } else { self.symbols.len() };
        if self.feed.is_none() {
            self.feed_seen = vec![0.0; slots];
        }
        self.feed.get_or_insert_with(|| MarketFeed::new(slots)).clone()
    }

    /// Take the slot's feed row if it changed since it was last taken (see `axon_feed`).
    #[inline]
    fn pull_feed(&mut self, index: u32) {
        let Some(feed) = &self.feed else { return };
        let i = index as usize;
        if i >= feed.slots() || feed.version(i) == self.feed_seen[i] {
            return;
        }
        let row = feed.row(i);
        self.feed_seen[i] = row.version;
        let update = MarketUpdate {
            reference_price: if row.reference_price.is_nan() { None } else { Some(row.reference_price) },
            position: row.position,
            open_buy_quantity: row.open_buy,
            open_sell_quantity: row.open_sell,
        };
        match validate_market(&self.symbols[i], update) {
            Ok(price) => self.store_market(index, price, update, true),
            Err(_) => self.market[i].forget(),
        }
    }

    fn store_market(&mut self, index: u32, price: f64, update: MarketUpdate, pushed: bool) {
        let fetched_at_ms = if pushed { None } else { Some(self.clock.now_ms()) };
        let state = &mut self.market[index as usize];
        state.price = price;
        state.position = update.position;
        state.open_buy = update.open_buy_quantity;
        state.open_sell = update.open_sell_quantity;
        state.fetched_at_ms = fetched_at_ms;
        state.known = true;
        if !pushed {
            // A snapshot fetched after an unknown outcome shows the order (open or filled) or not.
            state.uncertain_buy = 0.0;
            state.uncertain_sell = 0.0;
            state.must_fetch = false;
        }
    }

    /// Forget what is known about `symbol` (e.g. after the backend pushed something invalid), so the
    /// next call that needs it asks again instead of trusting stale data.
    pub fn invalidate_market(&mut self, symbol: &str) {
        if let Some(index) = self.find_symbol(symbol) {
            self.pull_feed(index);
            self.market[index as usize].forget();
        }
    }

    /// Update only the reference price (a ticker push), keeping everything else.
    pub fn update_reference_price(&mut self, symbol: &str, price: f64) -> Result<(), GuardError> {
        if !(price.is_finite() && price > 0.0) {
            return Err(GuardError::InvalidMarketData(format!("reference_price of {symbol} must be finite and > 0, got {price}")));
        }
        if let Some(index) = self.tradable(symbol) {
            self.pull_feed(index);
            self.market[index as usize].price = price;
        }
        Ok(())
    }

    /// Learn (or update) a resting order, so a replace can be checked against it.
    pub fn learn_order(&mut self, order_id: &str, symbol: &str, side: Side, price: f64, remaining: f64) {
        let Some(index) = self.tradable(symbol) else { return };
        if !(remaining > 0.0 && remaining.is_finite()) {
            self.orders.remove(order_id);
            return;
        }
        if self.orders.len() >= MAX_KNOWN_ORDERS && !self.orders.contains_key(order_id) {
            // A cache: anything evicted is fetched again on demand.
            self.orders.clear();
        }
        self.orders.insert(order_id.to_owned(), KnownOrder { symbol: index, side, price, remaining });
    }

    pub fn forget_order(&mut self, order_id: &str) {
        self.orders.remove(order_id);
    }

    pub fn known_order(&self, order_id: &str) -> Option<KnownOrder> {
        self.orders.get(order_id).copied()
    }

    pub fn update_daily_pnl(&mut self, daily_pnl: f64) {
        let now = self.clock.now_ms();
        self.gates.update_pnl(now, daily_pnl);
    }

    pub fn reset_gate(&mut self) {
        self.gates.reset();
    }

    pub fn breaker_state(&mut self) -> Option<BreakerState> {
        let now = self.clock.now_ms();
        self.gates.breakers.first_mut().map(|b| b.state(now))
    }

    pub fn pnl_breaker_open(&mut self) -> Option<bool> {
        let now = self.clock.now_ms();
        self.gates.pnl.first_mut().map(|p| p.is_open(now))
    }

    pub fn gate_openings(&self) -> u64 {
        self.gates.openings()
    }

    pub fn daily_orders(&mut self) -> u64 {
        let count = self.daily_orders.count(self.clock.now_ms());
        self.metrics.set_daily_orders(count as i64);
        count
    }

    pub fn daily_cancels(&mut self) -> u64 {
        self.daily_cancels.count(self.clock.now_ms())
    }

    /// The UTC day (days since the epoch) the daily counts belong to.
    pub fn daily_day(&mut self) -> i64 {
        self.daily_orders.day(self.clock.now_ms())
    }

    /// Carry the daily counts of `day` over a restart (see [`DailyCounter::restore`]): a process
    /// that restarts mid-day keeps counting towards `max_daily_orders` / `max_daily_cancels`.
    pub fn restore_daily_counts(&mut self, day: i64, orders: u64, cancels: u64) {
        let now = self.clock.now_ms();
        self.daily_orders.restore(now, day, orders);
        self.daily_cancels.restore(now, day, cancels);
        self.metrics.set_daily_orders(self.daily_orders.count(now) as i64);
    }

    pub fn pending_confirms(&self) -> usize {
        self.tokens.len()
    }

    pub fn inflight(&self) -> usize {
        self.slots.len() - self.free_slots.len()
    }

    // ---- decide -----------------------------------------------------------------------------

    pub fn decide(&mut self, tool: ToolKind, args: &str, refreshed: bool) -> Decision {
        let started = Instant::now();
        let now = self.clock.now_ms();
        match tool {
            ToolKind::PlaceOrder => self.decide_place(args, refreshed, now, started),
            ToolKind::CancelOrder => self.decide_cancel(args, now, started),
            ToolKind::ReplaceOrder => self.decide_replace(args, refreshed, now, started),
            ToolKind::QueryPortfolio => match args::parse_query_portfolio(args, self.config.max_args_bytes) {
                Ok(a) => {
                    let ticket = self.open_ticket(Inflight {
                        tool,
                        side: SideLabel::None,
                        symbol: None,
                        exposure: None,
                        order_day: None,
                        cancel_day: None,
                        learn: Learn::Nothing,
                    });
                    Decision::Send { ticket, action: Action::Query { symbol: a.symbol.map(|s| s.into_owned()) } }
                }
                Err(r) => self.reject_arguments(tool, r),
            },
            ToolKind::GetBookSnapshot => match args::parse_book_snapshot(args, self.config.max_args_bytes) {
                Ok(a) => self.send_read(tool, Action::BookSnapshot { symbol: a.symbol.into_owned(), levels: a.levels }),
                Err(r) => self.reject_arguments(tool, r),
            },
            ToolKind::GetPnl => match args::parse_pnl(args, self.config.max_args_bytes) {
                Ok(a) => self.send_read(tool, Action::Pnl { symbol: a.symbol.map(Cow::into_owned) }),
                Err(r) => self.reject_arguments(tool, r),
            },
            ToolKind::FinishBar => match args::parse_finish_bar(args, self.config.max_args_bytes) {
                Ok(a) => self.send_read(tool, Action::FinishBar { note: a.note.map(Cow::into_owned) }),
                Err(r) => self.reject_arguments(tool, r),
            },
        }
    }

    /// A read tool's approved call: a ticket with nothing to reserve or learn (settled by `record`,
    /// which times it), in every mode; gates and limits do not apply to reads.
    fn send_read(&mut self, tool: ToolKind, action: Action) -> Decision {
        let ticket = self.open_ticket(Inflight {
            tool,
            side: SideLabel::None,
            symbol: None,
            exposure: None,
            order_day: None,
            cancel_day: None,
            learn: Learn::Nothing,
        });
        Decision::Send { ticket, action }
    }

    fn decide_place(&mut self, raw: &str, refreshed: bool, now: i64, started: Instant) -> Decision {
        const TOOL: ToolKind = ToolKind::PlaceOrder;
        let a = match args::parse_place_order(raw, self.config.max_args_bytes) {
            Ok(a) => a,
            Err(r) => return self.reject_arguments(TOOL, r),
        };
        let market = self.tradable(&a.symbol);
        let limits = &self.config.limits;
        let needs_price = a.order_type == OrderType::Market && limits.max_order_notional.is_some();
        let needs_position = limits.max_position_abs.is_some();
        if let Some(index) = market {
            self.pull_feed(index);
            let state = &self.market[index as usize];
            if !refreshed && (needs_price || needs_position) && !state.fresh(now, self.config.market_data_max_age_ms) {
                return Decision::NeedMarket { symbol: a.symbol.into_owned() };
            }
        }
        let price = match (a.order_type, market) {
            (OrderType::Limit, _) => a.price.unwrap_or(f64::NAN),
            (OrderType::Market, Some(index)) => self.market[index as usize].price,
            (OrderType::Market, None) => f64::NAN,
        };
        let order = ChainOrder {
            tool: TOOL,
            market,
            symbol: &a.symbol,
            side: a.side,
            quantity: a.quantity,
            price,
            no_price: NoPrice::MarketOrder,
            position_delta: a.side.sign() * a.quantity,
            new_order: true,
        };
        let (sends, index) = match self.check_order(&order, a.confirm_token.as_deref(), || pending_place(&a), now, started) {
            Ok(checked) => checked,
            Err(rejected) => return rejected,
        };
        let side = side_label(a.side);
        if !sends {
            return self.propose(TOOL, side, pending_place(&a), AckId::Generated, Some(&a.symbol), a.side, a.quantity, now, started);
        }

        // Reservation: checked above under the same &mut borrow, so it cannot fail here.
        let order_day = match self.daily_orders.try_reserve(now, self.config.limits.max_daily_orders) {
            Ok(day) => day,
            Err(would_be) => {
                let r = limits::daily_orders_rejection(would_be, self.config.limits.max_daily_orders.unwrap_or(0));
                return self.reject(TOOL, side, r, started);
            }
        };
        self.metrics.set_daily_orders(self.daily_orders.count(now) as i64);
        self.market[index as usize].add_inflight(a.side, a.quantity);
        let client_order_id = match &a.client_order_id {
            Some(id) => id.clone().into_owned(),
            None => {
                self.id_seq += 1;
                generated_id("axon", &self.id_prefix, self.id_seq)
            }
        };
        let learn_price = if a.order_type == OrderType::Limit { price } else { f64::NAN };
        let order = OrderToSend {
            symbol: Arc::clone(&self.symbols[index as usize]),
            market_slot: index,
            side: a.side,
            quantity: a.quantity,
            order_type: a.order_type,
            price: a.price,
            stop_loss: a.stop_loss,
            take_profit: a.take_profit,
            time_in_force: a.time_in_force,
            client_order_id,
        };
        let ticket = self.open_ticket(Inflight {
            tool: TOOL,
            side,
            symbol: Some(index),
            exposure: Some((order.side, order.quantity)),
            order_day: Some(order_day),
            cancel_day: None,
            learn: if learn_price.is_nan() {
                Learn::Nothing
            } else {
                Learn::Resting(KnownOrder { symbol: index, side: order.side, price: learn_price, remaining: order.quantity })
            },
        });
        Decision::Send { ticket, action: Action::Place(order) }
    }

    fn decide_cancel(&mut self, raw: &str, now: i64, started: Instant) -> Decision {
        const TOOL: ToolKind = ToolKind::CancelOrder;
        let a = match args::parse_cancel_order(raw, self.config.max_args_bytes) {
            Ok(a) => a,
            Err(r) => return self.reject_arguments(TOOL, r),
        };
        let known = self.orders.get(a.order_id.as_ref()).copied();
        let side = known.map_or(SideLabel::None, |o| side_label(o.side));
        let limit = self.config.limits.max_daily_cancels;
        if let Err(would_be) = self.daily_cancels.has_room(now, limit) {
            let r = limits::daily_cancels_rejection(would_be, limit.unwrap_or(0));
            return self.reject_without_breaker(TOOL, side, r, started);
        }
        if self.config.mode == SafetyMode::DryRun {
            let symbol = known.map(|o| self.symbols[o.symbol as usize].to_string());
            let ack = self.ack_json_with_id(&a.order_id, symbol.as_deref(), known.map(|o| o.side), known.map(|o| o.remaining), DoneStatus::DryRun.as_str(), now, None);
            return self.finish(TOOL, side, ack, DoneStatus::DryRun, started);
        }
        let cancel_day = match self.daily_cancels.try_reserve(now, limit) {
            Ok(day) => day,
            Err(would_be) => return self.reject_without_breaker(TOOL, side, limits::daily_cancels_rejection(would_be, limit.unwrap_or(0)), started),
        };
        let order_id = a.order_id.into_owned();
        let ticket = self.open_ticket(Inflight {
            tool: TOOL,
            side,
            symbol: known.map(|o| o.symbol),
            exposure: None,
            order_day: None,
            cancel_day: Some(cancel_day),
            learn: Learn::Forget(order_id.clone()),
        });
        Decision::Send { ticket, action: Action::Cancel { order_id } }
    }

    fn decide_replace(&mut self, raw: &str, refreshed: bool, now: i64, started: Instant) -> Decision {
        const TOOL: ToolKind = ToolKind::ReplaceOrder;
        let a = match args::parse_replace_order(raw, self.config.max_args_bytes) {
            Ok(a) => a,
            Err(r) => return self.reject_arguments(TOOL, r),
        };
        let Some(order) = self.orders.get(a.order_id.as_ref()).copied() else {
            if !refreshed {
                return Decision::NeedOrder { order_id: a.order_id.into_owned() };
            }
            let r = Rejection::new(Source::Backend, Code::BackendRejected, format!("order '{}' is not an open order", a.order_id));
            return self.reject(TOOL, SideLabel::None, r, started);
        };
        let needs_position = self.config.limits.max_position_abs.is_some();
        self.pull_feed(order.symbol);
        if !refreshed && needs_position && !self.market[order.symbol as usize].fresh(now, self.config.market_data_max_age_ms) {
            return Decision::NeedMarket { symbol: self.symbols[order.symbol as usize].to_string() };
        }
        let new_price = a.price.unwrap_or(order.price);
        let new_quantity = a.quantity.unwrap_or(order.remaining);
        let growth = (new_quantity - order.remaining).max(0.0);
        let symbol = Arc::clone(&self.symbols[order.symbol as usize]);
        let bound = || PendingOrder::Replace { order_id: a.order_id.to_string(), price: a.price, quantity: a.quantity };
        let check = ChainOrder {
            tool: TOOL,
            // A known order's symbol was interned through `tradable`, so this guard may trade it.
            market: Some(order.symbol),
            symbol: &symbol,
            side: order.side,
            quantity: new_quantity,
            price: new_price,
            no_price: NoPrice::Replace(&a.order_id),
            position_delta: order.side.sign() * growth,
            new_order: false,
        };
        let sends = match self.check_order(&check, a.confirm_token.as_deref(), bound, now, started) {
            Ok((sends, _)) => sends,
            Err(rejected) => return rejected,
        };
        let side = side_label(order.side);
        if !sends {
            return self.propose(TOOL, side, bound(), AckId::Given(&a.order_id), Some(&symbol), order.side, new_quantity, now, started);
        }
        self.market[order.symbol as usize].add_inflight(order.side, growth);
        let order_id = a.order_id.into_owned();
        let ticket = self.open_ticket(Inflight {
            tool: TOOL,
            side,
            symbol: Some(order.symbol),
            exposure: Some((order.side, growth)),
            order_day: None,
            cancel_day: None,
            learn: Learn::Replaced(order_id.clone(), KnownOrder { price: new_price, remaining: new_quantity, ..order }),
        });
        Decision::Send { ticket, action: Action::Replace { order_id, price: a.price, quantity: a.quantity } }
    }

    /// The chain an order passes, the same for a new order and a replace (as a risk engine shares
    /// its checks between submit and modify): SafetyMode (a confirmation redeems its token) ->
    /// RiskGate (an open gate blocks outright) -> RiskLimits (symbol, notional, position, daily
    /// orders for a new order) -> RiskGate (the breaker's trial and pass, see [`Guard::pass_gates`]).
    /// Returns whether the order is sent (Direct, or a confirmed TwoPhase order) and its market
    /// slot, or the rejection.
    fn check_order(&mut self, o: &ChainOrder<'_>, token: Option<&str>, bound: impl Fn() -> PendingOrder, now: i64, started: Instant) -> Result<(bool, u32), Decision> {
        let side = side_label(o.side);
        // SafetyMode
        let confirming = match (token, self.config.mode) {
            (Some(token), SafetyMode::TwoPhase) => {
                if let Err(r) = self.tokens.redeem(now, token, &bound()) {
                    return Err(self.reject(o.tool, side, r, started));
                }
                true
            }
            (Some(_), mode) => return Err(self.reject(o.tool, side, token_outside_two_phase(mode), started)),
            (None, _) => false,
        };
        let sends = confirming || self.config.mode == SafetyMode::Direct;

        // RiskGate, the part that blocks outright: an open breaker rejects everything.
        if let Err(r) = self.gates.precheck(now) {
            return Err(self.reject(o.tool, side, r, started));
        }

        // RiskLimits
        let Some(index) = o.market else {
            let r = Rejection::new(Source::RiskLimits, Code::SymbolNotAllowed, format!("symbol '{}' not in allowed list", o.symbol));
            return Err(self.reject(o.tool, side, r, started));
        };
        if self.config.limits.max_order_notional.is_some() {
            if o.price.is_nan() {
                let message = match o.no_price {
                    NoPrice::MarketOrder => format!("no reference price for '{}' to value a Market order", o.symbol),
                    NoPrice::Replace(order_id) => format!("no price for order '{order_id}' to value the replace"),
                };
                return Err(self.reject(o.tool, side, Rejection::new(Source::RiskLimits, Code::NoReferencePrice, message), started));
            }
            if let Err(r) = limits::check_notional(&self.config.limits, o.quantity, o.price) {
                return Err(self.reject(o.tool, side, r, started));
            }
        }
        if self.config.limits.max_position_abs.is_some() {
            let state = self.market[index as usize];
            if let Err(r) = position_check(&self.config.limits, &state, o.symbol, o.side, o.position_delta) {
                return Err(self.reject(o.tool, side, r, started));
            }
        }
        if o.new_order {
            if let Err(would_be) = self.daily_orders.has_room(now, self.config.limits.max_daily_orders) {
                let r = limits::daily_orders_rejection(would_be, self.config.limits.max_daily_orders.unwrap_or(0));
                return Err(self.reject(o.tool, side, r, started));
            }
        }

        // RiskGate: the breaker's trial and its pass (an unconfirmed proposal is neither).
        if let Err(r) = self.pass_gates(sends, now) {
            return Err(self.reject(o.tool, side, r, started));
        }
        Ok((sends, index))
    }

    /// The answer to an order that passed the chain but is not sent: PendingConfirm with a token
    /// bound to its fields (TwoPhase) or the DryRun ack.
    #[allow(clippy::too_many_arguments)]
    fn propose(&mut self, tool: ToolKind, label: SideLabel, bound: PendingOrder, id: AckId<'_>, symbol: Option<&str>, side: Side, quantity: f64, now: i64, started: Instant) -> Decision {
        let (status, token) = if self.config.mode == SafetyMode::TwoPhase {
            match self.tokens.issue(now, bound) {
                Ok(token) => (DoneStatus::PendingConfirm, Some(token)),
                Err(r) => return self.reject(tool, label, r, started),
            }
        } else {
            (DoneStatus::DryRun, None)
        };
        let ack = match id {
            AckId::Generated => {
                let kind = if status == DoneStatus::PendingConfirm { "pending" } else { "dryrun" };
                self.ack_json(kind, symbol, Some(side), Some(quantity), status.as_str(), now, token.as_deref())
            }
            AckId::Given(order_id) => self.ack_json_with_id(order_id, symbol, Some(side), Some(quantity), status.as_str(), now, token.as_deref()),
        };
        self.finish(tool, label, ack, status, started)
    }

    /// The gate step of an order that passed the limits. Only a call whose outcome is final counts
    /// as a pass (clears the breaker's streak, takes and passes its HalfOpen trial): an order sent
    /// to the venue (`sends`: Direct, or a confirmed TwoPhase one) or a DryRun order, which stands in
    /// for one. A TwoPhase proposal sends nothing, so it moves nothing; the open-breaker block it
    /// needs already ran in `precheck`.
    fn pass_gates(&mut self, sends: bool, now: i64) -> Result<(), Rejection> {
        if !sends && self.config.mode == SafetyMode::TwoPhase {
            return Ok(());
        }
        self.gates.check(now)?;
        self.gates.on_pass(now);
        Ok(())
    }

    // ---- record -----------------------------------------------------------------------------

    /// Settle a `Send` decision. Returns the agent-facing rejection for a failed backend call.
    pub fn record(&mut self, ticket: u64, outcome: Outcome<'_>, elapsed_seconds: f64) -> Result<Option<Rejection>, GuardError> {
        let inflight = self.close_ticket(ticket)?;
        Ok(self.settle(inflight, outcome, elapsed_seconds))
    }

    /// The outcome of a closed ticket: release its exposure, count it, learn or give back. An
    /// unknown outcome keeps both its daily slot and its exposure (as uncertain, see `MarketState`).
    fn settle(&mut self, inflight: Inflight, outcome: Outcome<'_>, elapsed_seconds: f64) -> Option<Rejection> {
        if let (Some(index), Some((side, quantity))) = (inflight.symbol, inflight.exposure) {
            let state = &mut self.market[index as usize];
            state.add_inflight(side, -quantity);
            // Float sums drift; never let released exposure go negative.
            state.inflight_buy = state.inflight_buy.max(0.0);
            state.inflight_sell = state.inflight_sell.max(0.0);
            if matches!(outcome, Outcome::Failed { kind, .. } if !definite_failure(kind)) {
                state.add_uncertain(side, quantity);
            }
        }
        let label = inflight.tool.label();
        self.metrics.observe_duration(label, elapsed_seconds);
        match outcome {
            Outcome::Acked { order_id, status } => {
                self.learn_from_ack(&inflight.learn, order_id, status);
                self.metrics.inc_orders(label, inflight.side, StatusLabel::Success);
                None
            }
            Outcome::Failed { kind, message } => {
                if definite_failure(kind) {
                    let now = self.clock.now_ms();
                    if let Some(day) = inflight.order_day {
                        self.daily_orders.release(now, day);
                        self.metrics.set_daily_orders(self.daily_orders.count(now) as i64);
                    }
                    if let Some(day) = inflight.cancel_day {
                        self.daily_cancels.release(now, day);
                    }
                }
                self.metrics.inc_orders(label, inflight.side, StatusLabel::Failed);
                self.metrics.inc_backend_error(self.config.backend, kind);
                Some(backend_rejection(kind, message))
            }
        }
    }

    /// Settle a successful `Send` and write the agent's OrderAck JSON: id, status, quantity and time
    /// as the backend acknowledged them; symbol and side of the order the ticket stands for (the
    /// backend's, `symbol`/`side`, only where the ticket has none, as for a cancel of an order the
    /// guard did not know).
    #[allow(clippy::too_many_arguments)]
    pub fn record_ack(
        &mut self,
        ticket: u64,
        order_id: &str,
        status: AckStatus,
        symbol: Option<&str>,
        side: Option<Side>,
        quantity: f64,
        timestamp_ms: i64,
        elapsed_seconds: f64,
    ) -> Result<String, GuardError> {
        let inflight = self.close_ticket(ticket)?;
        let own_symbol = inflight.symbol.and_then(|i| self.symbols.get(i as usize)).map(|s| &**s);
        let own_side = match inflight.side {
            SideLabel::Buy => Some(Side::Buy),
            SideLabel::Sell => Some(Side::Sell),
            SideLabel::None => None,
        };
        let json = order_ack_json(order_id, own_symbol.or(symbol), own_side.or(side), Some(quantity), status.as_str(), timestamp_ms, None);
        self.settle(inflight, Outcome::Acked { order_id, status }, elapsed_seconds);
        Ok(json)
    }

    fn learn_from_ack(&mut self, learn: &Learn, order_id: &str, status: AckStatus) {
        match learn {
            Learn::Resting(known) if matches!(status, AckStatus::New | AckStatus::PartiallyFilled) => {
                self.orders.insert(order_id.to_owned(), *known);
            }
            Learn::Forget(old_id) => {
                self.orders.remove(old_id);
            }
            Learn::Replaced(old_id, known) => {
                self.orders.remove(old_id);
                if !matches!(status, AckStatus::Filled | AckStatus::Cancelled) {
                    self.orders.insert(order_id.to_owned(), *known);
                }
            }
            Learn::Resting(_) | Learn::Nothing => {}
        }
    }

    // ---- helpers ----------------------------------------------------------------------------

    fn open_ticket(&mut self, inflight: Inflight) -> u64 {
        let index = match self.free_slots.pop() {
            Some(i) => i,
            None => {
                self.slots.push(Slot { generation: 0, inflight: None });
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
        let slot = self.slots.get_mut(index).filter(|s| s.generation == generation).ok_or(GuardError::UnknownTicket(ticket))?;
        let inflight = slot.inflight.take().ok_or(GuardError::UnknownTicket(ticket))?;
        self.free_slots.push(index as u32);
        Ok(inflight)
    }

    fn reject_arguments(&mut self, tool: ToolKind, r: Rejection) -> Decision {
        self.metrics.inc_orders(tool.label(), SideLabel::None, StatusLabel::Rejected);
        Decision::Rejected(r)
    }

    fn reject(&mut self, tool: ToolKind, side: SideLabel, r: Rejection, started: Instant) -> Decision {
        if r.source == Source::RiskLimits {
            self.gates.on_risk_rejection(self.clock.now_ms());
        }
        self.reject_without_breaker(tool, side, r, started)
    }

    fn reject_without_breaker(&mut self, tool: ToolKind, side: SideLabel, r: Rejection, started: Instant) -> Decision {
        match r.source {
            Source::RiskLimits => self.metrics.inc_risk_rejection(RejectionSource::RiskLimits),
            Source::RiskGate => {
                self.metrics.inc_risk_rejection(RejectionSource::RiskGate);
                self.metrics.inc_gate_blocked();
            }
            Source::SafetyMode => self.metrics.inc_risk_rejection(RejectionSource::SafetyMode),
            Source::Arguments | Source::Backend => {}
        }
        self.metrics.inc_orders(tool.label(), side, StatusLabel::Rejected);
        self.metrics.observe_duration(tool.label(), started.elapsed().as_secs_f64());
        Decision::Rejected(r)
    }

    fn finish(&mut self, tool: ToolKind, side: SideLabel, ack_json: String, status: DoneStatus, started: Instant) -> Decision {
        self.metrics.inc_orders(tool.label(), side, StatusLabel::Success);
        self.metrics.observe_duration(tool.label(), started.elapsed().as_secs_f64());
        Decision::Done { ack_json, status }
    }

    #[allow(clippy::too_many_arguments)]
    fn ack_json(&mut self, id_kind: &str, symbol: Option<&str>, side: Option<Side>, quantity: Option<f64>, status: &str, now: i64, token: Option<&str>) -> String {
        self.dry_seq += 1;
        let mut id = std::mem::take(&mut self.id_scratch);
        id.clear();
        push_generated_id(&mut id, id_kind, &self.id_prefix, self.dry_seq);
        let json = self.ack_json_with_id(&id, symbol, side, quantity, status, now, token);
        self.id_scratch = id;
        json
    }

    #[allow(clippy::too_many_arguments)]
    fn ack_json_with_id(&self, order_id: &str, symbol: Option<&str>, side: Option<Side>, quantity: Option<f64>, status: &str, now: i64, token: Option<&str>) -> String {
        order_ack_json(order_id, symbol, side, quantity, status, now, token)
    }
}

/// Market data must be finite, open quantities non-negative, a known price positive; returns the
/// reference price (NaN when unknown).
fn validate_market(symbol: &str, update: MarketUpdate) -> Result<f64, GuardError> {
    let finite = |name: &str, v: f64| if v.is_finite() { Ok(v) } else { Err(GuardError::InvalidMarketData(format!("{name} of {symbol} must be finite"))) };
    finite("position", update.position)?;
    if finite("open_buy_quantity", update.open_buy_quantity)? < 0.0 || finite("open_sell_quantity", update.open_sell_quantity)? < 0.0 {
        return Err(GuardError::InvalidMarketData(format!("open quantities of {symbol} must be >= 0")));
    }
    match update.reference_price {
        Some(p) if p.is_finite() && p > 0.0 => Ok(p),
        Some(p) => Err(GuardError::InvalidMarketData(format!("reference_price of {symbol} must be finite and > 0, got {p}"))),
        None => Ok(f64::NAN),
    }
}

/// The OrderAck JSON of SPEC §2 (`{"order_id","symbol","side","quantity","status","timestamp_ms"}`
/// plus `confirm_token` when pending), written in one buffer: it is on every call's hot path.
#[allow(clippy::too_many_arguments)]
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

pub fn order_ack_json(order_id: &str, symbol: Option<&str>, side: Option<Side>, quantity: Option<f64>, status: &str, timestamp_ms: i64, token: Option<&str>) -> String {
    let mut out = String::with_capacity(192);
    out.push_str("{\"order_id\":");
    push_json_str(&mut out, order_id);
    out.push_str(",\"symbol\":");
    match symbol {
        Some(symbol) => push_json_str(&mut out, symbol),
        None => out.push_str("null"),
    }
    out.push_str(",\"side\":");
    out.push_str(side.map_or("null", |s| if s == Side::Buy { "\"Buy\"" } else { "\"Sell\"" }));
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

/// A failure that proves the order does not exist at the venue (its slot and exposure go back).
fn definite_failure(kind: ErrorKindLabel) -> bool {
    matches!(kind, ErrorKindLabel::Rejected | ErrorKindLabel::InsufficientFunds | ErrorKindLabel::SymbolNotFound)
}

/// Fail-closed: without a known position the limit cannot be evaluated, so it rejects.
fn position_check(limits: &RiskLimits, state: &MarketState, symbol: &str, side: Side, delta: f64) -> Result<(), Rejection> {
    if !state.known {
        return Err(Rejection::new(Source::RiskLimits, Code::MaxPositionAbs, format!("position of '{symbol}' is unknown, so max_position_abs cannot be checked")));
    }
    limits::check_position(limits, state.exposure(side), delta)
}

fn side_label(side: Side) -> SideLabel {
    match side {
        Side::Buy => SideLabel::Buy,
        Side::Sell => SideLabel::Sell,
    }
}

fn pending_place(a: &args::PlaceOrderArgs<'_>) -> PendingOrder {
    PendingOrder::Place {
        symbol: a.symbol.to_string(),
        side: a.side,
        quantity: a.quantity,
        order_type: a.order_type,
        price: a.price,
        stop_loss: a.stop_loss,
        take_profit: a.take_profit,
        time_in_force: a.time_in_force,
        client_order_id: a.client_order_id.as_ref().map(|s| s.to_string()),
    }
}

fn token_outside_two_phase(mode: SafetyMode) -> Rejection {
    Rejection::new(Source::SafetyMode, Code::ConfirmTokenInvalid, format!("confirm_token is only accepted in TwoPhase mode (mode is {})", mode.as_str()))
}

/// The agent-facing error for a failed backend call. `message` comes from the backend, which must
/// already have removed anything secret from it.
pub fn backend_rejection(kind: ErrorKindLabel, message: &str) -> Rejection {
    let code = match kind {
        ErrorKindLabel::Network => Code::BackendNetwork,
        ErrorKindLabel::Rejected => Code::BackendRejected,
        ErrorKindLabel::Timeout => Code::BackendTimeout,
        ErrorKindLabel::InsufficientFunds => Code::BackendInsufficientFunds,
        ErrorKindLabel::SymbolNotFound => Code::BackendSymbolNotFound,
        ErrorKindLabel::Other => Code::BackendOther,
    };
    let detail: String = message.chars().take(500).collect();
    Rejection::new(Source::Backend, code, format!("{}: {detail}", kind.as_str()))
}

