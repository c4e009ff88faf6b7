//! Market-access pre-trade controls (issue 16): max quantity and min notional per order, a price
//! collar around a fresh reference price, max open orders per symbol, duplicate orders, an
//! order-rate throttle, self-trade prevention and a max daily loss. They run inside the one order
//! chain (`Guard::check_order`, after the static limits) and refuse with source `RiskLimits`.
//!
//! Invariants:
//! - Every control is optional (`None` / `false`: off) and fail-closed: one that needs a value it
//!   cannot have rejects (no reference price: `NO_REFERENCE_PRICE`; one older than the allowed
//!   age: `STALE_REFERENCE_PRICE`).
//! - [`Controls::check`] takes nothing. The guard takes counts ([`Controls::on_send_order`],
//!   [`Controls::on_send_other`]) in the same `&mut` call that checked them, and only for a call
//!   that goes to a backend: DryRun orders and TwoPhase proposals are checked against the counts
//!   but take nothing (as the daily order count, SPEC §3). No two concurrent callers can both take
//!   the last open-order slot or the last throttle slot.
//! - Open orders of a symbol = resting orders the guard knows (placed through it or learned from
//!   the backend) + new orders in flight + orders whose outcome is unknown (a timeout: they may
//!   rest, so they count until a snapshot fetched afterwards shows what rests).
//! - Duplicate: a new order with the same symbol, side, type, price and quantity as one sent
//!   within `duplicate_window_ms` (still in flight, acknowledged, or of unknown outcome: an LLM
//!   that repeats itself after a timeout). One the chain refused or the venue definitely rejected
//!   never existed, so it is no previous order. With a shared risk state
//!   ([`Controls::with_shared_store`]) the window is the account's, kept by the store: this
//!   process neither checks nor records previous orders.
//! - Throttle: sliding windows (1 s and 60 s) over the send times of places, replaces and cancels
//!   on the guard's clock. A send that then fails still counts: the venue received the message.
//!   Counting cancels is the one place a cancel can be refused by a rate; nothing else blocks it.
//!   With a shared risk state ([`Controls::with_shared_store`]) the window is the account's, kept
//!   by the store (crates/axon-risk/src/guard/shared.rs): this process neither checks nor records.
//! - Reference age is measured from the time the guard stored the price (pushed, fetched or a
//!   ticker update) on its clock; a row of the shared-memory feed counts from the last time the
//!   guard looked at that row before it changed (the write came later: the age is never understated). A stale reference first makes the guard fetch a fresh one
//!   (`NeedMarket`); only when the refreshed call still has a stale one is it refused. A
//!   reference the backend does not have at all is `NO_REFERENCE_PRICE`, as for the notional. `price_collar_bps` without `max_reference_age_ms` uses the
//!   guard's `market_data_max_age_ms`.
//! - Self-trade: an order that would cross one of this account's resting orders the guard knows on
//!   the same symbol (a Buy at or above an own resting Sell; a Sell at or below an own resting
//!   Buy; a Market order against any own resting order of the other side).
//! - Daily loss: today's PnL (UTC day, realized + unrealized as the backend reports it); a new UTC
//!   day starts at 0. Loss equal to the limit passes, any more is refused (`PNL_BREAKER_OPEN`).

use std::collections::{HashMap, VecDeque};

use crate::args::{OrderType, Side};
use crate::clock::utc_day;
use crate::guard::KnownOrder;
use crate::limits::exceeds;
use crate::rejection::{Denial, PricePurpose, RateWindow, Rejection};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ControlsConfig {
    pub max_order_quantity: Option<f64>,
    pub min_order_notional: Option<f64>,
    pub price_collar_bps: Option<f64>,
    pub max_reference_age_ms: Option<i64>,
    pub max_open_orders: Option<u32>,
    pub duplicate_window_ms: Option<i64>,
    pub max_orders_per_second: Option<u32>,
    pub max_orders_per_minute: Option<u32>,
    /// `self_trade_prevention = "reject"`.
    pub self_trade_reject: bool,
    pub max_daily_loss: Option<f64>,
}

impl ControlsConfig {
    /// Misuse (not a denial): a limit that is negative, NaN or infinite.
    pub fn validate(&self) -> Result<(), String> {
        let amounts = [
            ("max_order_quantity", self.max_order_quantity),
            ("min_order_notional", self.min_order_notional),
            ("price_collar_bps", self.price_collar_bps),
            ("max_daily_loss", self.max_daily_loss),
        ];
        for (key, value) in amounts {
            if let Some(v) = value {
                if !v.is_finite() || v < 0.0 {
                    return Err(format!("risk.{key} must be a finite number >= 0, got {v}"));
                }
            }
        }
        for (key, value) in [
            ("max_reference_age_ms", self.max_reference_age_ms),
            ("duplicate_window_ms", self.duplicate_window_ms),
        ] {
            if let Some(v) = value {
                if v < 0 {
                    return Err(format!("risk.{key} must be >= 0, got {v}"));
                }
            }
        }
        Ok(())
    }

    /// The collar (and the freshness of a Market order's reference) is on.
    pub fn needs_reference(&self) -> bool {
        self.price_collar_bps.is_some() || self.max_reference_age_ms.is_some()
    }
}

/// An order as the controls check it.
#[derive(Debug, Clone, Copy)]
pub struct ControlOrder<'a> {
    pub market: u32,
    pub symbol: &'a str,
    pub side: Side,
    pub order_type: OrderType,
    pub quantity: f64,
    /// The limit price (`None` for a Market order).
    pub limit_price: Option<f64>,
    /// A new order (a replace is not: it neither adds an open order nor repeats one).
    pub new_order: bool,
}

/// The reference price as the guard holds it: NaN when none is known.
#[derive(Debug, Clone, Copy)]
pub struct Reference {
    pub price: f64,
    pub stored_at_ms: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct OrderKey {
    market: u32,
    side: u8,
    order_type: u8,
    price_bits: u64,
    quantity_bits: u64,
}

impl OrderKey {
    fn of(o: &ControlOrder<'_>) -> Self {
        Self {
            market: o.market,
            side: o.side as u8,
            order_type: o.order_type as u8,
            price_bits: o.limit_price.map_or(0, f64::to_bits),
            quantity_bits: o.quantity.to_bits(),
        }
    }
}

/// What a sent order took, so that its outcome can give it back.
#[derive(Debug, Clone, Copy, Default)]
pub struct Taken {
    /// Counted as an open order in flight on this market.
    open_order: Option<u32>,
    /// Remembered as a previous order (key, sent at).
    duplicate: Option<(OrderKey, i64)>,
}

#[derive(Debug, Clone, Copy, Default)]
struct OpenCounts {
    resting_buy: u32,
    resting_sell: u32,
    inflight: u32,
    uncertain: u32,
}

impl OpenCounts {
    fn total(&self) -> u64 {
        u64::from(self.resting_buy)
            + u64::from(self.resting_sell)
            + u64::from(self.inflight)
            + u64::from(self.uncertain)
    }
}

const MINUTE_MS: i64 = 60_000;
const SECOND_MS: i64 = 1_000;
/// Previous orders kept before expired ones are first swept (the window decides what counts, not
/// this); after a sweep the next one waits for twice what is left, so sweeping stays amortized O(1).
const RECENT_SWEEP_AT: usize = 4_096;

#[derive(Debug)]
pub struct Controls {
    config: ControlsConfig,
    reference_max_age_ms: i64,
    open: Vec<OpenCounts>,
    recent: HashMap<OrderKey, i64>,
    recent_sweep_at: usize,
    /// Send times within the widest throttle window, oldest first.
    sends: VecDeque<i64>,
    /// Shared risk state: the account's store keeps the throttle window (see `guard::shared`), so
    /// this process neither checks nor records sends.
    rate_shared: bool,
    /// Shared risk state: the account's store keeps the duplicate window (see `guard::shared`).
    duplicates_shared: bool,
    loss_day: i64,
    daily_pnl: f64,
}

impl Controls {
    pub fn new(config: ControlsConfig, market_data_max_age_ms: i64) -> Self {
        Self {
            reference_max_age_ms: config
                .max_reference_age_ms
                .unwrap_or(market_data_max_age_ms),
            config,
            open: Vec::new(),
            recent: HashMap::new(),
            recent_sweep_at: RECENT_SWEEP_AT,
            sends: VecDeque::new(),
            rate_shared: false,
            duplicates_shared: false,
            loss_day: i64::MIN,
            daily_pnl: 0.0,
        }
    }

    pub fn config(&self) -> &ControlsConfig {
        &self.config
    }

    /// The throttle and the duplicate window are decided by the shared store (shared mode): they
    /// pass here, and neither sends nor previous orders are recorded here.
    pub fn with_shared_store(mut self) -> Self {
        self.rate_shared = true;
        self.duplicates_shared = true;
        self
    }

    fn counts(&mut self, market: u32) -> &mut OpenCounts {
        let i = market as usize;
        if i >= self.open.len() {
            self.open.resize(i + 1, OpenCounts::default());
        }
        &mut self.open[i]
    }

    /// Every control for an order that passed the static limits. Takes nothing.
    #[allow(clippy::neg_cmp_op_on_partial_ord)]
    pub fn check(
        &mut self,
        o: &ControlOrder<'_>,
        reference: Reference,
        orders: &HashMap<String, KnownOrder>,
        now: i64,
    ) -> Result<(), Rejection> {
        let c = &self.config;
        if let Some(max) = c.max_order_quantity {
            if exceeds(o.quantity, max) {
                return Err(Denial::OrderQuantity {
                    quantity: o.quantity,
                    limit: max,
                }
                .into());
            }
        }
        if let Some(min) = c.min_order_notional {
            let price = o.limit_price.unwrap_or(reference.price);
            if price.is_nan() {
                return Err(no_reference(o.symbol, PricePurpose::MinOrderNotional));
            }
            let notional = o.quantity * price;
            // Negated on purpose: NaN is below every minimum (fail closed).
            if !(notional >= min - min.abs() * 1e-9 - 1e-12) {
                return Err(Denial::MinOrderNotional {
                    notional,
                    limit: min,
                }
                .into());
            }
        }
        if c.needs_reference() {
            self.check_reference(o, reference, now)?;
        }
        if let Some(max_loss) = self.config.max_daily_loss {
            self.roll_loss_day(now);
            if exceeds(-self.daily_pnl, max_loss) {
                return Err(Denial::DailyLoss {
                    daily_pnl: self.daily_pnl,
                    limit: max_loss,
                }
                .into());
            }
        }
        if let (Some(max), true) = (self.config.max_open_orders, o.new_order) {
            let counts = *self.counts(o.market);
            if counts.total() >= u64::from(max) {
                return Err(Denial::OpenOrders {
                    symbol: o.symbol.to_owned(),
                    would_be: counts.total() + 1,
                    limit: max,
                    resting: u64::from(counts.resting_buy) + u64::from(counts.resting_sell),
                    inflight: counts.inflight,
                    uncertain: counts.uncertain,
                }
                .into());
            }
        }
        if let (Some(window), true, false) = (
            self.config.duplicate_window_ms,
            o.new_order,
            self.duplicates_shared,
        ) {
            if let Some(&sent_at) = self.recent.get(&OrderKey::of(o)) {
                let age = now - sent_at;
                if age < window {
                    return Err(Denial::DuplicateOrder {
                        symbol: o.symbol.to_owned(),
                        side: o.side,
                        order_type: o.order_type,
                        quantity: o.quantity,
                        price: o.limit_price,
                        age_ms: age,
                        window_ms: window,
                    }
                    .into());
                }
            }
        }
        if self.config.self_trade_reject {
            self.check_self_trade(o, orders)?;
        }
        self.check_rate(now)
    }

    fn check_reference(
        &self,
        o: &ControlOrder<'_>,
        reference: Reference,
        now: i64,
    ) -> Result<(), Rejection> {
        if reference.price.is_nan() {
            return Err(no_reference(o.symbol, PricePurpose::PriceCollar));
        }
        let age = now.saturating_sub(reference.stored_at_ms);
        if age > self.reference_max_age_ms {
            return Err(Denial::StaleReferencePrice {
                symbol: o.symbol.to_owned(),
                price: reference.price,
                age_ms: age,
                max_age_ms: self.reference_max_age_ms,
            }
            .into());
        }
        if let (Some(collar), Some(price)) = (self.config.price_collar_bps, o.limit_price) {
            let bps = (price - reference.price).abs() / reference.price * 10_000.0;
            if exceeds(bps, collar) {
                return Err(Denial::PriceCollar {
                    price,
                    bps,
                    reference: reference.price,
                    collar_bps: collar,
                }
                .into());
            }
        }
        Ok(())
    }

    fn check_self_trade(
        &mut self,
        o: &ControlOrder<'_>,
        orders: &HashMap<String, KnownOrder>,
    ) -> Result<(), Rejection> {
        let counts = *self.counts(o.market);
        let (opposite, opposite_count) = match o.side {
            Side::Buy => (Side::Sell, counts.resting_sell),
            Side::Sell => (Side::Buy, counts.resting_buy),
        };
        if opposite_count == 0 {
            return Ok(());
        }
        let crosses = |resting: f64| match (o.limit_price, o.side) {
            (None, _) => true,
            (Some(p), Side::Buy) => p >= resting,
            (Some(p), Side::Sell) => p <= resting,
        };
        let hit = orders
            .iter()
            .find(|(_, k)| k.symbol == o.market && k.side == opposite && crosses(k.price));
        match hit {
            None => Ok(()),
            Some((id, k)) => Err(Denial::SelfTrade {
                side: o.side,
                price: o.limit_price,
                resting_id: id.clone(),
                resting_price: k.price,
                symbol: o.symbol.to_owned(),
            }
            .into()),
        }
    }

    /// The collar needs a reference younger than the one stored at `stored_at_ms`: the guard asks
    /// the backend for a fresh one before it refuses with `STALE_REFERENCE_PRICE`.
    pub fn reference_stale(&self, stored_at_ms: i64, now: i64) -> bool {
        self.config.needs_reference()
            && now.saturating_sub(stored_at_ms) > self.reference_max_age_ms
    }

    /// The throttle alone (a cancel passes only this control). With a shared store it always
    /// passes here: the store decides it for the account.
    pub fn check_rate(&mut self, now: i64) -> Result<(), Rejection> {
        let (per_second, per_minute) = (
            self.config.max_orders_per_second,
            self.config.max_orders_per_minute,
        );
        if self.rate_shared || (per_second.is_none() && per_minute.is_none()) {
            return Ok(());
        }
        self.expire_sends(now);
        if let Some(max) = per_minute {
            let in_minute = self.sends.len() as u64;
            if in_minute >= u64::from(max) {
                return Err(Denial::RateLimited {
                    would_be: in_minute + 1,
                    window: RateWindow::Minute,
                    limit: max,
                }
                .into());
            }
        }
        if let Some(max) = per_second {
            let in_second = self
                .sends
                .iter()
                .rev()
                .take_while(|&&t| t > now - SECOND_MS)
                .count() as u64;
            if in_second >= u64::from(max) {
                return Err(Denial::RateLimited {
                    would_be: in_second + 1,
                    window: RateWindow::Second,
                    limit: max,
                }
                .into());
            }
        }
        Ok(())
    }

    fn expire_sends(&mut self, now: i64) {
        let span = if self.config.max_orders_per_minute.is_some() {
            MINUTE_MS
        } else {
            SECOND_MS
        };
        while self.sends.front().is_some_and(|&t| t <= now - span) {
            self.sends.pop_front();
        }
    }

    fn take_rate(&mut self, now: i64) {
        if !self.rate_shared
            && (self.config.max_orders_per_second.is_some()
                || self.config.max_orders_per_minute.is_some())
        {
            self.sends.push_back(now);
        }
    }

    /// A new order leaves for the backend: it is in flight, a previous order, and one more send.
    pub fn on_send_order(&mut self, o: &ControlOrder<'_>, now: i64) -> Taken {
        self.take_rate(now);
        let mut taken = Taken::default();
        if self.config.max_open_orders.is_some() {
            self.counts(o.market).inflight += 1;
            taken.open_order = Some(o.market);
        }
        if let (Some(window), false) = (self.config.duplicate_window_ms, self.duplicates_shared) {
            if self.recent.len() >= self.recent_sweep_at {
                self.recent.retain(|_, &mut sent_at| now - sent_at < window);
                self.recent_sweep_at = RECENT_SWEEP_AT.max(2 * self.recent.len());
            }
            let key = OrderKey::of(o);
            self.recent.insert(key, now);
            taken.duplicate = Some((key, now));
        }
        taken
    }

    /// A replace or a cancel leaves for the backend: one more send.
    pub fn on_send_other(&mut self, now: i64) {
        self.take_rate(now);
    }

    /// The outcome of a sent order: `definite_failure` (it does not exist), `unknown` (it may).
    pub fn settle(&mut self, taken: Taken, definite_failure: bool, unknown: bool) {
        if let Some(market) = taken.open_order {
            let counts = self.counts(market);
            counts.inflight = counts.inflight.saturating_sub(1);
            if unknown {
                counts.uncertain += 1;
            }
        }
        if let (Some((key, sent_at)), true) = (taken.duplicate, definite_failure) {
            if self.recent.get(&key) == Some(&sent_at) {
                self.recent.remove(&key);
            }
        }
    }

    /// A snapshot fetched from the backend shows which orders rest: none is uncertain any more.
    pub fn on_fetched(&mut self, market: u32) {
        if let Some(counts) = self.open.get_mut(market as usize) {
            counts.uncertain = 0;
        }
    }

    pub fn on_resting_added(&mut self, order: &KnownOrder) {
        let counts = self.counts(order.symbol);
        match order.side {
            Side::Buy => counts.resting_buy += 1,
            Side::Sell => counts.resting_sell += 1,
        }
    }

    pub fn on_resting_removed(&mut self, order: &KnownOrder) {
        let counts = self.counts(order.symbol);
        match order.side {
            Side::Buy => counts.resting_buy = counts.resting_buy.saturating_sub(1),
            Side::Sell => counts.resting_sell = counts.resting_sell.saturating_sub(1),
        }
    }

    pub fn on_resting_cleared(&mut self) {
        for counts in &mut self.open {
            counts.resting_buy = 0;
            counts.resting_sell = 0;
        }
    }

    fn roll_loss_day(&mut self, now: i64) {
        let today = utc_day(now);
        if today != self.loss_day {
            self.loss_day = today;
            self.daily_pnl = 0.0;
        }
    }

    /// Today's realized plus unrealized PnL as the backend reports it (non-finite values ignored).
    pub fn update_daily_pnl(&mut self, now: i64, daily_pnl: f64) {
        self.roll_loss_day(now);
        if daily_pnl.is_finite() {
            self.daily_pnl = daily_pnl;
        }
    }

    /// The daily loss limit is reached (its breaker is open).
    pub fn loss_breaker_open(&mut self, now: i64) -> Option<bool> {
        let max_loss = self.config.max_daily_loss?;
        self.roll_loss_day(now);
        Some(exceeds(-self.daily_pnl, max_loss))
    }

    /// Open orders counted on `market` (resting + in flight + unknown outcome).
    pub fn open_orders(&self, market: u32) -> u64 {
        self.open.get(market as usize).map_or(0, OpenCounts::total)
    }
}

fn no_reference(symbol: &str, purpose: PricePurpose) -> Rejection {
    Denial::NoReferencePrice {
        symbol: symbol.to_owned(),
        purpose,
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::MS_PER_DAY;
    use crate::rejection::Code;

    const T0: i64 = 20_000 * MS_PER_DAY + 5_000;

    fn order(quantity: f64, limit_price: Option<f64>) -> ControlOrder<'static> {
        ControlOrder {
            market: 0,
            symbol: "BTC-USDT",
            side: Side::Buy,
            order_type: if limit_price.is_some() {
                OrderType::Limit
            } else {
                OrderType::Market
            },
            quantity,
            limit_price,
            new_order: true,
        }
    }

    fn fresh(price: f64) -> Reference {
        Reference {
            price,
            stored_at_ms: T0,
        }
    }

    fn controls(config: ControlsConfig) -> Controls {
        config.validate().expect("valid");
        Controls::new(config, 1_000)
    }

    fn code(r: Result<(), Rejection>) -> Code {
        r.expect_err("refused").code()
    }

    #[test]
    fn quantity_and_min_notional_at_their_boundaries() {
        let mut c = controls(ControlsConfig {
            max_order_quantity: Some(1.5),
            min_order_notional: Some(10.0),
            ..Default::default()
        });
        let none = HashMap::new();
        assert!(c
            .check(&order(1.5, Some(100.0)), fresh(100.0), &none, T0)
            .is_ok());
        let r = c
            .check(&order(1.5000001, Some(100.0)), fresh(100.0), &none, T0)
            .expect_err("over");
        assert_eq!(
            (r.code(), r.message().as_str()),
            (
                Code::MaxOrderQuantity,
                "RiskLimits: order quantity 1.5000001 exceeds max_order_quantity 1.5"
            )
        );
        assert!(
            c.check(&order(0.1, Some(100.0)), fresh(100.0), &none, T0)
                .is_ok(),
            "notional exactly 10"
        );
        let r = c
            .check(&order(0.0999, Some(100.0)), fresh(100.0), &none, T0)
            .expect_err("under");
        assert_eq!(
            r.message(),
            "RiskLimits: order notional 9.99 is below min_order_notional 10"
        );
        assert_eq!(
            code(c.check(&order(0.1, None), fresh(99.0), &none, T0)),
            Code::MinOrderNotional,
            "Market at the reference"
        );
        assert_eq!(
            code(c.check(&order(0.1, None), fresh(f64::NAN), &none, T0)),
            Code::NoReferencePrice
        );
    }

    #[test]
    fn collar_needs_a_fresh_reference() {
        let mut c = controls(ControlsConfig {
            price_collar_bps: Some(100.0),
            max_reference_age_ms: Some(2_000),
            ..Default::default()
        });
        let none = HashMap::new();
        assert!(
            c.check(&order(1.0, Some(20_200.0)), fresh(20_000.0), &none, T0)
                .is_ok(),
            "exactly 100 bps"
        );
        let r = c
            .check(&order(1.0, Some(20_202.0)), fresh(20_000.0), &none, T0)
            .expect_err("outside");
        assert_eq!(r.message(), "RiskLimits: limit price 20202 is 101 bps from reference price 20000, price_collar_bps 100");
        assert!(c
            .check(&order(1.0, Some(19_800.0)), fresh(20_000.0), &none, T0)
            .is_ok());
        assert!(c
            .check(
                &order(1.0, None),
                Reference {
                    price: 20_000.0,
                    stored_at_ms: T0 - 2_000
                },
                &none,
                T0
            )
            .is_ok());
        let r = c
            .check(
                &order(1.0, None),
                Reference {
                    price: 20_000.0,
                    stored_at_ms: T0 - 2_001,
                },
                &none,
                T0,
            )
            .expect_err("stale");
        assert_eq!(r.message(), "RiskLimits: reference price 20000 of 'BTC-USDT' is 2001 ms old, max_reference_age_ms 2000");
        assert_eq!(
            code(c.check(&order(1.0, Some(20_000.0)), fresh(f64::NAN), &none, T0)),
            Code::NoReferencePrice
        );
    }

    #[test]
    fn open_orders_count_inflight_resting_and_unknown() {
        let mut c = controls(ControlsConfig {
            max_open_orders: Some(2),
            ..Default::default()
        });
        let none = HashMap::new();
        let o = order(1.0, Some(100.0));
        let first = c.on_send_order(&o, T0);
        c.on_resting_added(&KnownOrder {
            symbol: 0,
            side: Side::Sell,
            price: 101.0,
            remaining: 1.0,
        });
        let r = c.check(&o, fresh(100.0), &none, T0).expect_err("full");
        assert_eq!(r.message(), "RiskLimits: open orders on 'BTC-USDT' would be 3, max_open_orders 2 (1 resting, 1 in flight, 0 of unknown outcome)");
        c.settle(first, false, true);
        assert_eq!(c.open_orders(0), 2, "a timeout may rest");
        c.on_fetched(0);
        assert!(c.check(&o, fresh(100.0), &none, T0).is_ok());
        assert!(
            c.check(
                &ControlOrder {
                    new_order: false,
                    ..o
                },
                fresh(100.0),
                &none,
                T0
            )
            .is_ok(),
            "a replace adds none"
        );
    }

    #[test]
    fn duplicates_within_the_window_and_failed_ones_forgotten() {
        let mut c = controls(ControlsConfig {
            duplicate_window_ms: Some(5_000),
            ..Default::default()
        });
        let none = HashMap::new();
        let o = order(0.5, Some(20_000.0));
        let taken = c.on_send_order(&o, T0);
        let r = c
            .check(&o, fresh(1.0), &none, T0 + 4_999)
            .expect_err("duplicate");
        assert_eq!(r.message(), "RiskLimits: the same order (BTC-USDT Buy Limit 0.5 @ 20000) was sent 4999 ms ago, within duplicate_window_ms 5000");
        assert!(
            c.check(&o, fresh(1.0), &none, T0 + 5_000).is_ok(),
            "window over"
        );
        assert!(
            c.check(&order(0.5, Some(20_000.5)), fresh(1.0), &none, T0 + 1)
                .is_ok(),
            "another price"
        );
        c.settle(taken, false, true);
        assert!(
            c.check(&o, fresh(1.0), &none, T0 + 1).is_err(),
            "a timeout is still a previous order"
        );
        let again = c.on_send_order(&order(2.0, None), T0);
        c.settle(again, true, false);
        assert!(
            c.check(&order(2.0, None), fresh(1.0), &none, T0 + 1)
                .is_ok(),
            "a rejected order never existed"
        );
    }

    #[test]
    fn sweeping_previous_orders_drops_only_expired_ones() {
        let mut c = controls(ControlsConfig {
            duplicate_window_ms: Some(1_000),
            ..Default::default()
        });
        let none = HashMap::new();
        for i in 0..5_000 {
            c.on_send_order(&order(1.0 + f64::from(i), Some(1.0)), T0);
        }
        assert_eq!(
            code(c.check(&order(1.0, Some(1.0)), fresh(1.0), &none, T0 + 999)),
            Code::DuplicateOrder,
            "kept through the sweep at 4,096"
        );
        for i in 0..5_000 {
            c.on_send_order(&order(1.0 + f64::from(i), Some(2.0)), T0 + 1_000);
        }
        assert!(
            c.recent.len() < 10_000,
            "the first 5,000 expired and were swept"
        );
        assert!(c
            .check(&order(1.0, Some(1.0)), fresh(1.0), &none, T0 + 1_000)
            .is_ok());
    }

    #[test]
    fn throttle_slides_over_one_second_and_one_minute() {
        let mut c = controls(ControlsConfig {
            max_orders_per_second: Some(3),
            max_orders_per_minute: Some(5),
            ..Default::default()
        });
        for _ in 0..3 {
            c.check_rate(T0).expect("room");
            c.on_send_other(T0);
        }
        let r = c.check_rate(T0 + 999).expect_err("4th in 1 s");
        assert_eq!(
            r.message(),
            "RiskLimits: 4 orders in 1 s exceeds max_orders_per_second 3"
        );
        c.check_rate(T0 + 1_000).expect("window slid");
        c.on_send_other(T0 + 1_000);
        c.on_send_other(T0 + 1_000);
        let r = c.check_rate(T0 + 59_999).expect_err("6th in 60 s");
        assert_eq!(
            r.message(),
            "RiskLimits: 6 orders in 60 s exceeds max_orders_per_minute 5"
        );
        c.check_rate(T0 + 60_000)
            .expect("the first three left the minute");
    }

    #[test]
    fn self_trade_against_own_resting_orders_only_when_crossing() {
        let mut c = controls(ControlsConfig {
            self_trade_reject: true,
            ..Default::default()
        });
        let mut orders = HashMap::new();
        let sell = KnownOrder {
            symbol: 0,
            side: Side::Sell,
            price: 20_050.0,
            remaining: 1.0,
        };
        orders.insert("s1".to_owned(), sell);
        c.on_resting_added(&sell);
        assert!(c
            .check(&order(1.0, Some(20_049.99)), fresh(1.0), &orders, T0)
            .is_ok());
        let r = c
            .check(&order(1.0, Some(20_050.0)), fresh(1.0), &orders, T0)
            .expect_err("crosses");
        assert_eq!(r.message(), "RiskLimits: Buy at 20050 would cross this account's resting Sell order 's1' at 20050 on 'BTC-USDT' (self_trade_prevention = reject)");
        assert_eq!(
            code(c.check(&order(1.0, None), fresh(1.0), &orders, T0)),
            Code::SelfTrade
        );
        let other_market = ControlOrder {
            market: 1,
            ..order(1.0, Some(30_000.0))
        };
        assert!(c.check(&other_market, fresh(1.0), &orders, T0).is_ok());
    }

    #[test]
    fn daily_loss_opens_at_the_limit_and_resets_at_utc_midnight() {
        let mut c = controls(ControlsConfig {
            max_daily_loss: Some(1_000.0),
            ..Default::default()
        });
        let none = HashMap::new();
        let o = order(1.0, Some(1.0));
        c.update_daily_pnl(T0, -1_000.0);
        assert!(
            c.check(&o, fresh(1.0), &none, T0).is_ok(),
            "a loss equal to the limit passes"
        );
        c.update_daily_pnl(T0, -1_000.5);
        let r = c.check(&o, fresh(1.0), &none, T0).expect_err("over");
        assert_eq!(
            (r.code(), r.message().as_str()),
            (
                Code::PnlBreakerOpen,
                "RiskLimits: daily loss 1000.5 exceeds max_daily_loss 1000 (daily_pnl=-1000.5)"
            )
        );
        let midnight = (utc_day(T0) + 1) * MS_PER_DAY;
        assert!(c.check(&o, fresh(1.0), &none, midnight - 1).is_err());
        assert!(
            c.check(&o, fresh(1.0), &none, midnight).is_ok(),
            "a new UTC day starts at 0"
        );
        assert_eq!(c.loss_breaker_open(midnight), Some(false));
    }

    fn guard(mode: crate::SafetyMode, controls: ControlsConfig) -> crate::Guard {
        use std::sync::Arc;
        let config = crate::GuardConfig {
            mode,
            controls,
            ..Default::default()
        };
        let clock = Arc::new(crate::ManualClock::new(T0));
        let mut guard =
            crate::Guard::new(config, clock, Arc::new(axon_metrics::TradingMetrics::new()))
                .expect("valid");
        let flat = crate::MarketUpdate {
            reference_price: Some(100.0),
            position: 0.0,
            open_buy_quantity: 0.0,
            open_sell_quantity: 0.0,
        };
        guard.update_market("BTC-USDT", flat, true).expect("valid");
        guard
    }

    const ORDER: &str = r#"{"symbol":"BTC-USDT","side":"Buy","quantity":1,"price":100}"#;

    #[test]
    fn the_guard_takes_counts_only_for_sent_orders_and_gives_back_a_rejected_one() {
        use crate::{Decision, Outcome, SafetyMode, ToolKind};
        let on = ControlsConfig {
            duplicate_window_ms: Some(1_000),
            max_open_orders: Some(1),
            max_orders_per_second: Some(1),
            ..Default::default()
        };
        let mut dry = guard(SafetyMode::DryRun, on.clone());
        for _ in 0..3 {
            assert!(
                matches!(
                    dry.decide(ToolKind::PlaceOrder, ORDER, false),
                    Decision::Done { .. }
                ),
                "DryRun takes no count"
            );
        }
        let mut direct = guard(SafetyMode::Direct, on);
        let Decision::Send { ticket, .. } = direct.decide(ToolKind::PlaceOrder, ORDER, false)
        else {
            panic!("sent")
        };
        assert_eq!(direct.open_orders("BTC-USDT"), 1);
        let Decision::Rejected(r) = direct.decide(ToolKind::PlaceOrder, ORDER, false) else {
            panic!("refused")
        };
        assert_eq!(
            r.code(),
            Code::MaxOpenOrders,
            "open orders are checked before duplicates"
        );
        let failure = Outcome::Failed {
            kind: axon_metrics::ErrorKindLabel::Rejected,
            message: "no",
        };
        direct.record(ticket, failure, 0.0).expect("settled");
        assert_eq!(direct.open_orders("BTC-USDT"), 0);
        let Decision::Rejected(r) = direct.decide(ToolKind::PlaceOrder, ORDER, false) else {
            panic!("refused")
        };
        assert_eq!(
            r.code(),
            Code::RateLimited,
            "the rejected order was not a duplicate, but it was a message to the venue"
        );
    }

    #[test]
    fn a_feed_row_is_as_old_as_the_last_look_before_it_changed() {
        use crate::{Decision, SafetyMode, ToolKind};
        use std::sync::Arc;
        let clock = crate::ManualClock::new(T0);
        let controls = ControlsConfig {
            price_collar_bps: Some(100.0),
            max_reference_age_ms: Some(1_000),
            ..Default::default()
        };
        let config = crate::GuardConfig {
            mode: SafetyMode::DryRun,
            controls,
            ..Default::default()
        };
        let mut guard = crate::Guard::new(
            config,
            Arc::new(clock.clone()),
            Arc::new(axon_metrics::TradingMetrics::new()),
        )
        .expect("valid");
        let slot = guard.market_slot("BTC-USDT").expect("tradable") as usize;
        let feed = guard.market_feed();
        feed.push(slot, Some(100.0), 0.0, 0.0, 0.0);
        // Never looked at before: the row's age is unknown, so the guard asks for a fresh snapshot.
        assert!(matches!(
            guard.decide(ToolKind::PlaceOrder, ORDER, false),
            Decision::NeedMarket { .. }
        ));
        guard
            .update_market(
                "BTC-USDT",
                crate::MarketUpdate {
                    reference_price: Some(100.0),
                    position: 0.0,
                    open_buy_quantity: 0.0,
                    open_sell_quantity: 0.0,
                },
                false,
            )
            .expect("valid");
        assert!(matches!(
            guard.decide(ToolKind::PlaceOrder, ORDER, true),
            Decision::Done { .. }
        ));
        // Written some time after that look (at T0 + 1,500 or at T0: the guard cannot tell), read at
        // T0 + 1,500: counted from T0, so too old for the collar.
        feed.push(slot, Some(100.5), 0.0, 0.0, 0.0);
        clock.set(T0 + 1_500);
        assert!(matches!(
            guard.decide(ToolKind::PlaceOrder, ORDER, false),
            Decision::NeedMarket { .. }
        ));
        let Decision::Rejected(r) = guard.decide(ToolKind::PlaceOrder, ORDER, true) else {
            panic!("refused")
        };
        assert_eq!(r.message(), "RiskLimits: reference price 100.5 of 'BTC-USDT' is 1500 ms old, max_reference_age_ms 1000");
        // Looked at again now and unchanged since: no newer write, but its age is still the first look's.
        clock.set(T0 + 1_600);
        let Decision::Rejected(r) = guard.decide(ToolKind::PlaceOrder, ORDER, true) else {
            panic!("refused")
        };
        assert_eq!(r.code(), Code::StaleReferencePrice);
    }

    #[test]
    fn bad_config_names_the_key() {
        let bad = ControlsConfig {
            price_collar_bps: Some(-1.0),
            ..Default::default()
        };
        assert_eq!(
            bad.validate(),
            Err("risk.price_collar_bps must be a finite number >= 0, got -1".to_owned())
        );
        let bad = ControlsConfig {
            duplicate_window_ms: Some(-5),
            ..Default::default()
        };
        assert_eq!(
            bad.validate(),
            Err("risk.duplicate_window_ms must be >= 0, got -5".to_owned())
        );
    }
}
