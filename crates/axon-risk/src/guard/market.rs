//! Symbols and market data of the guard: market slots, fetched and pushed data (the shared feed),
//! in-flight and uncertain exposure.

use super::*;

#[derive(Debug, Clone, Copy)]
pub(super) struct MarketState {
    pub(super) price: f64,
    pub(super) position: f64,
    pub(super) open_buy: f64,
    pub(super) open_sell: f64,
    /// `None`: pushed by the backend (live, never stale); `Some(t)`: fetched at `t`.
    pub(super) fetched_at_ms: Option<i64>,
    /// When the guard stored `price` (pushed, fetched or a ticker update): the reference's age.
    pub(super) price_at_ms: i64,
    pub(super) known: bool,
    pub(super) inflight_buy: f64,
    pub(super) inflight_sell: f64,
    /// Exposure of orders whose outcome is unknown (a timeout, a dropped connection, an unusable
    /// ack): they may rest at the venue, so they count until a snapshot fetched afterwards shows
    /// whether they do (it then reports them as open orders or position, or not at all).
    pub(super) uncertain_buy: f64,
    pub(super) uncertain_sell: f64,
    /// Set by an unknown outcome: pushed data alone is not enough until a fetched snapshot arrives.
    pub(super) must_fetch: bool,
}

impl Default for MarketState {
    fn default() -> Self {
        Self {
            price: f64::NAN,
            position: 0.0,
            open_buy: 0.0,
            open_sell: 0.0,
            fetched_at_ms: None,
            price_at_ms: i64::MIN,
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
    pub(super) fn forget(&mut self) {
        self.known = false;
        self.price = f64::NAN;
    }

    pub(super) fn fresh(&self, now_ms: i64, max_age_ms: i64) -> bool {
        self.known
            && !self.must_fetch
            && self.fetched_at_ms.is_none_or(|t| now_ms - t <= max_age_ms)
    }

    /// Signed exposure on `side` if everything open and in flight on that side fills.
    pub(super) fn exposure(&self, side: Side) -> f64 {
        match side {
            Side::Buy => self.position + self.open_buy + self.inflight_buy + self.uncertain_buy,
            Side::Sell => self.position - self.open_sell - self.inflight_sell - self.uncertain_sell,
        }
    }

    pub(super) fn add_inflight(&mut self, side: Side, quantity: f64) {
        match side {
            Side::Buy => self.inflight_buy += quantity,
            Side::Sell => self.inflight_sell += quantity,
        }
    }

    /// An order whose outcome is unknown keeps its exposure until a fetched snapshot accounts for it.
    pub(super) fn add_uncertain(&mut self, side: Side, quantity: f64) {
        match side {
            Side::Buy => self.uncertain_buy += quantity,
            Side::Sell => self.uncertain_sell += quantity,
        }
        self.must_fetch = true;
    }
}

impl Guard {
    pub(super) fn intern(&mut self, symbol: &str) -> Option<u32> {
        if let Some(i) = self.find_symbol(symbol) {
            return Some(i);
        }
        if self.symbols.len()
            >= MAX_DYNAMIC_SYMBOLS.max(
                self.config
                    .limits
                    .allowed_symbols
                    .as_ref()
                    .map_or(0, Vec::len),
            )
        {
            return None;
        }
        let index = self.symbols.len() as u32;
        self.symbols.push(symbol.into());
        self.symbol_index.insert(symbol.into(), index);
        self.market.push(MarketState::default());
        Some(index)
    }

    #[inline]
    pub(super) fn find_symbol(&self, symbol: &str) -> Option<u32> {
        if self.symbols.len() <= LINEAR_SCAN_SYMBOLS {
            self.symbols
                .iter()
                .position(|s| &**s == symbol)
                .map(|i| i as u32)
        } else {
            self.symbol_index.get(symbol).copied()
        }
    }

    /// The symbol's index if this guard may trade it.
    pub(super) fn tradable(&mut self, symbol: &str) -> Option<u32> {
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
    pub fn update_market(
        &mut self,
        symbol: &str,
        update: MarketUpdate,
        pushed: bool,
    ) -> Result<(), GuardError> {
        let price = validate_market(symbol, update)?;
        let Some(index) = self.tradable(symbol) else {
            return Ok(());
        };
        self.pull_feed(index);
        self.store_market(index, price, update, pushed);
        Ok(())
    }

    /// [`Guard::update_market`] for a slot from [`Guard::market_slot`] (no symbol lookup).
    pub fn update_market_at(
        &mut self,
        slot: u32,
        update: MarketUpdate,
        pushed: bool,
    ) -> Result<(), GuardError> {
        let symbol = self.symbols.get(slot as usize).ok_or_else(|| {
            GuardError::InvalidMarketData(format!("market slot {slot} does not exist"))
        })?;
        let price = validate_market(symbol, update)?;
        self.pull_feed(slot);
        self.store_market(slot, price, update, pushed);
        Ok(())
    }

    /// The shared memory pushed market data can be written to instead of calling
    /// [`Guard::update_market_at`] (created on the first call, one row per possible market slot).
    pub fn market_feed(&mut self) -> MarketFeed {
        let slots = if self.dynamic_symbols {
            MAX_DYNAMIC_SYMBOLS
        } else {
            self.symbols.len()
        };
        if self.feed.is_none() {
            self.feed_seen = vec![0.0; slots];
            self.feed_checked_ms = vec![i64::MIN; slots];
        }
        self.feed
            .get_or_insert_with(|| MarketFeed::new(slots))
            .clone()
    }

    /// Take the slot's feed row if it changed since it was last taken (see `axon_feed`).
    #[inline]
    pub(super) fn pull_feed(&mut self, index: u32) {
        let Some(feed) = &self.feed else { return };
        let i = index as usize;
        if i >= feed.slots() {
            return;
        }
        let written_after = std::mem::replace(&mut self.feed_checked_ms[i], self.clock.now_ms());
        if feed.version(i) == self.feed_seen[i] {
            return;
        }
        let row = feed.row(i);
        self.feed_seen[i] = row.version;
        let update = MarketUpdate {
            reference_price: if row.reference_price.is_nan() {
                None
            } else {
                Some(row.reference_price)
            },
            position: row.position,
            open_buy_quantity: row.open_buy,
            open_sell_quantity: row.open_sell,
        };
        match validate_market(&self.symbols[i], update) {
            Ok(price) => {
                self.store_market(index, price, update, true);
                self.market[i].price_at_ms = written_after;
            }
            Err(_) => self.market[i].forget(),
        }
    }

    pub(super) fn store_market(
        &mut self,
        index: u32,
        price: f64,
        update: MarketUpdate,
        pushed: bool,
    ) {
        let now = self.clock.now_ms();
        let fetched_at_ms = if pushed { None } else { Some(now) };
        let state = &mut self.market[index as usize];
        state.price = price;
        state.price_at_ms = now;
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
            self.controls.on_fetched(index);
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
            return Err(GuardError::InvalidMarketData(format!(
                "reference_price of {symbol} must be finite and > 0, got {price}"
            )));
        }
        if let Some(index) = self.tradable(symbol) {
            self.pull_feed(index);
            let now = self.clock.now_ms();
            let state = &mut self.market[index as usize];
            state.price = price;
            state.price_at_ms = now;
        }
        Ok(())
    }

    /// Learn (or update) a resting order, so a replace can be checked against it.
    pub fn learn_order(
        &mut self,
        order_id: &str,
        symbol: &str,
        side: Side,
        price: f64,
        remaining: f64,
    ) {
        let Some(index) = self.tradable(symbol) else {
            return;
        };
        if !(remaining > 0.0 && remaining.is_finite()) {
            self.remove_order(order_id);
            return;
        }
        self.insert_order(
            order_id,
            KnownOrder {
                symbol: index,
                side,
                price,
                remaining,
            },
        );
    }

    pub fn forget_order(&mut self, order_id: &str) {
        self.remove_order(order_id);
    }

    /// The order cache changes only here, so the open-order counts of `controls` follow it.
    pub(super) fn insert_order(&mut self, order_id: &str, order: KnownOrder) {
        if self.orders.len() >= MAX_KNOWN_ORDERS && !self.orders.contains_key(order_id) {
            // A cache: anything evicted is fetched again on demand.
            self.orders.clear();
            self.controls.on_resting_cleared();
        }
        if let Some(old) = self.orders.insert(order_id.to_owned(), order) {
            self.controls.on_resting_removed(&old);
        }
        self.controls.on_resting_added(&order);
    }

    pub(super) fn remove_order(&mut self, order_id: &str) {
        if let Some(old) = self.orders.remove(order_id) {
            self.controls.on_resting_removed(&old);
        }
    }

    pub fn known_order(&self, order_id: &str) -> Option<KnownOrder> {
        self.orders.get(order_id).copied()
    }

    pub fn update_daily_pnl(&mut self, daily_pnl: f64) {
        let now = self.clock.now_ms();
        self.gates.update_pnl(now, daily_pnl);
        self.controls.update_daily_pnl(now, daily_pnl);
    }

    /// `max_daily_loss` is reached (`None` when it is not configured).
    pub fn loss_breaker_open(&mut self) -> Option<bool> {
        let now = self.clock.now_ms();
        self.controls.loss_breaker_open(now)
    }

    /// Open orders counted against `max_open_orders` on `symbol` (resting, in flight, unknown outcome).
    pub fn open_orders(&self, symbol: &str) -> u64 {
        self.find_symbol(symbol)
            .map_or(0, |i| self.controls.open_orders(i))
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
        self.metrics
            .set_daily_orders(self.daily_orders.count(now) as i64);
    }

    pub fn pending_confirms(&self) -> usize {
        self.tokens.len()
    }

    pub fn inflight(&self) -> usize {
        self.slots.len() - self.free_slots.len()
    }
}

/// Market data must be finite, open quantities non-negative, a known price positive; returns the
/// reference price (NaN when unknown).
fn validate_market(symbol: &str, update: MarketUpdate) -> Result<f64, GuardError> {
    let finite = |name: &str, v: f64| {
        if v.is_finite() {
            Ok(v)
        } else {
            Err(GuardError::InvalidMarketData(format!(
                "{name} of {symbol} must be finite"
            )))
        }
    };
    finite("position", update.position)?;
    if finite("open_buy_quantity", update.open_buy_quantity)? < 0.0
        || finite("open_sell_quantity", update.open_sell_quantity)? < 0.0
    {
        return Err(GuardError::InvalidMarketData(format!(
            "open quantities of {symbol} must be >= 0"
        )));
    }
    match update.reference_price {
        Some(p) if p.is_finite() && p > 0.0 => Ok(p),
        Some(p) => Err(GuardError::InvalidMarketData(format!(
            "reference_price of {symbol} must be finite and > 0, got {p}"
        ))),
        None => Ok(f64::NAN),
    }
}

/// Fail-closed: without a known position the limit cannot be evaluated, so it rejects.
pub(super) fn position_check(
    limits: &RiskLimits,
    state: &MarketState,
    symbol: &str,
    side: Side,
    delta: f64,
) -> Result<(), Rejection> {
    if !state.known {
        return Err(Denial::PositionUnknown {
            symbol: symbol.to_owned(),
        }
        .into());
    }
    limits::check_position(limits, state.exposure(side), delta)
}
