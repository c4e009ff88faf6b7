//! Trading states (issue 16): `ACTIVE` (normal), `REDUCING` (reduce-only), `HALTED` (cancels only),
//! checked for every place and replace.
//!
//! Invariants:
//! - The check runs in the one order chain (`check_order`) right after SafetyMode, in every safety
//!   mode (a DryRun answers what would happen), with source RiskGate: `TRADING_HALTED` for any place
//!   or replace while HALTED, `REDUCE_ONLY` for an order that does not reduce the position while
//!   REDUCING. It never moves the rejection breaker (only RiskLimits refusals do); it counts as a
//!   RiskGate refusal in `trading_risk_rejections_total` like any gate.
//! - Cancels and the read tools are never checked: taking risk off must work in every state.
//! - REDUCING admits an order only when, if it and everything already working on its side fill, the
//!   position moves toward zero without crossing it: with `exposure` = position - (resting + in
//!   flight + unknown outcome) on the sell side (+ on the buy side), the projected position
//!   `exposure + delta` must lie between 0 and the position (inclusive, float noise tolerated), and
//!   the order's side must be opposite to the position. So several reducing orders, however split and
//!   however many are in flight, can never flip the position together. Working orders on the other
//!   side (placed before the change) are not netted: they are the operator's to cancel.
//! - A position of zero admits nothing; an unknown position (no fresh market data) refuses: fail
//!   closed. REDUCING needs fresh market data like the position limit (the `NeedMarket` path).
//! - A replace is checked with its growth only (a shrink counts as no change, conservatively); a
//!   replace of an order on the position's side (one that adds to it) is refused, price-only too.
//! - HALTED refuses before any market data or unknown order is asked for: a halted place or
//!   replace never reaches the venue, not even for a snapshot.
//! - Changing the state is `Guard::set_trading_state`: it sets the `trading_state` gauge (0, 1, 2)
//!   and returns the previous state; logging and the audit are the caller's (the tools).
//! - The state checked here is this guard's. With a shared risk state (Redis) the host keeps it in
//!   step with the account's (ts/shared-state.ts adopts the state every store answer carries
//!   before the chain re-runs, and writes local changes to the store), so a halt on one replica
//!   holds on all; without one, each process is halted on its own.

use super::market::MarketState;
use super::*;

/// The trading state of a guard; its number is the `trading_state` gauge's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TradingState {
    #[default]
    Active,
    Reducing,
    Halted,
}

impl TradingState {
    pub const ALL: [TradingState; 3] = [
        TradingState::Active,
        TradingState::Reducing,
        TradingState::Halted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TradingState::Active => "ACTIVE",
            TradingState::Reducing => "REDUCING",
            TradingState::Halted => "HALTED",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The `trading_state` gauge value: 0 ACTIVE, 1 REDUCING, 2 HALTED.
    pub fn gauge(self) -> i64 {
        self as i64
    }
}

impl Guard {
    pub fn trading_state(&self) -> TradingState {
        self.trading_state
    }

    /// Change the trading state; returns the previous one. Takes effect for the next decision.
    pub fn set_trading_state(&mut self, state: TradingState) -> TradingState {
        self.metrics.set_trading_state(state.gauge());
        std::mem::replace(&mut self.trading_state, state)
    }

    /// HALTED: a place or replace is refused whatever the market says, so it asks for no data.
    #[inline]
    pub(super) fn halted(&self) -> bool {
        self.trading_state == TradingState::Halted
    }

    /// REDUCING needs the position (fresh, like the position limit).
    #[inline]
    pub(super) fn reducing(&self) -> bool {
        self.trading_state == TradingState::Reducing
    }

    /// The trading-state step of the chain for an order on `market` (see the module docs).
    /// `delta`: the signed change of the position if the order fills (a replace: its growth).
    #[inline]
    pub(super) fn check_trading_state(
        &self,
        market: Option<u32>,
        symbol: &str,
        side: Side,
        delta: f64,
    ) -> Result<(), Rejection> {
        match self.trading_state {
            TradingState::Active => Ok(()),
            TradingState::Halted => Err(halted_rejection()),
            // A symbol this guard may not trade is refused by the limits right after.
            TradingState::Reducing => match market {
                Some(index) => reduce_only(&self.market[index as usize], symbol, side, delta),
                None => Ok(()),
            },
        }
    }
}

pub(super) fn halted_rejection() -> Rejection {
    Denial::TradingHalted.into()
}

/// REDUCING: `delta` on `side` must move the position toward zero without crossing it, counting
/// everything already working on that side.
fn reduce_only(state: &MarketState, symbol: &str, side: Side, delta: f64) -> Result<(), Rejection> {
    if !state.known {
        return Err(Denial::ReduceOnlyPositionUnknown {
            symbol: symbol.to_owned(),
        }
        .into());
    }
    let position = state.position;
    let projected = state.exposure(side) + delta;
    // Reducing: the order's side is against the position, and what would be taken off (position
    // minus projected, measured toward zero) is at most the position itself. NaN refuses.
    let against = position * side.sign() < 0.0;
    let taken_off = (position - projected) * position.signum();
    if against && !limits::exceeds(taken_off, position.abs()) {
        return Ok(());
    }
    Err(Denial::ReduceOnly {
        position,
        projected,
    }
    .into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rejection::Code;

    fn state(position: f64, open_buy: f64, open_sell: f64) -> MarketState {
        MarketState {
            price: 100.0,
            position,
            open_buy,
            open_sell,
            known: true,
            ..MarketState::default()
        }
    }

    fn code(r: Result<(), Rejection>) -> Option<&'static str> {
        r.err().map(|r| r.code().as_str())
    }

    #[test]
    fn long_position_sell_reduces_until_flat_and_no_further() {
        let long = state(1.0, 0.0, 0.0);
        assert_eq!(code(reduce_only(&long, "BTC", Side::Sell, -0.4)), None);
        assert_eq!(code(reduce_only(&long, "BTC", Side::Sell, -1.0)), None);
        let flip = reduce_only(&long, "BTC", Side::Sell, -1.5).expect_err("flips");
        assert_eq!(flip.code(), Code::ReduceOnly);
        assert_eq!(flip.source(), Source::RiskGate);
        assert_eq!(
            flip.message(),
            "RiskGate: trading state REDUCING: order would move position from 1 to -0.5"
        );
        let adds = reduce_only(&long, "BTC", Side::Buy, 0.1).expect_err("adds");
        assert_eq!(
            adds.message(),
            "RiskGate: trading state REDUCING: order would move position from 1 to 1.1"
        );
    }

    #[test]
    fn short_position_buy_reduces_until_flat_and_no_further() {
        let short = state(-2.0, 0.0, 0.0);
        assert_eq!(code(reduce_only(&short, "BTC", Side::Buy, 2.0)), None);
        assert_eq!(
            code(reduce_only(&short, "BTC", Side::Buy, 2.5)),
            Some("REDUCE_ONLY")
        );
        assert_eq!(
            code(reduce_only(&short, "BTC", Side::Sell, -0.1)),
            Some("REDUCE_ONLY")
        );
    }

    #[test]
    fn working_orders_on_the_same_side_count_so_several_cannot_flip_together() {
        // Long 1 with 0.7 already resting to sell: only 0.3 more may be sold.
        let mut long = state(1.0, 5.0, 0.7);
        assert_eq!(code(reduce_only(&long, "BTC", Side::Sell, -0.3)), None);
        assert_eq!(
            code(reduce_only(&long, "BTC", Side::Sell, -0.31)),
            Some("REDUCE_ONLY")
        );
        // In-flight and unknown-outcome sells count the same way.
        long.inflight_sell = 0.2;
        long.uncertain_sell = 0.1;
        assert_eq!(
            code(reduce_only(&long, "BTC", Side::Sell, -0.01)),
            Some("REDUCE_ONLY")
        );
        long.uncertain_sell = 0.0;
        assert_eq!(code(reduce_only(&long, "BTC", Side::Sell, -0.1)), None);
    }

    #[test]
    fn float_noise_at_the_boundary_passes() {
        let long = state(0.3, 0.0, 0.1 + 0.1);
        assert_eq!(code(reduce_only(&long, "BTC", Side::Sell, -0.1)), None);
    }

    #[test]
    fn flat_unknown_or_nan_positions_refuse() {
        let flat = state(0.0, 0.0, 0.0);
        assert_eq!(
            code(reduce_only(&flat, "BTC", Side::Sell, -0.1)),
            Some("REDUCE_ONLY")
        );
        assert_eq!(
            code(reduce_only(&flat, "BTC", Side::Buy, 0.1)),
            Some("REDUCE_ONLY")
        );
        let unknown = MarketState::default();
        let r = reduce_only(&unknown, "BTC", Side::Sell, -0.1).expect_err("unknown");
        assert_eq!(r.code(), Code::ReduceOnly);
        assert!(r.message().contains("position of 'BTC' is unknown"));
        let nan = state(1.0, 0.0, f64::NAN);
        assert_eq!(
            code(reduce_only(&nan, "BTC", Side::Sell, -0.1)),
            Some("REDUCE_ONLY")
        );
    }

    mod through_the_guard {
        use super::super::*;
        use crate::clock::ManualClock;
        use crate::rejection::Code;
        use axon_metrics::RejectionSource;

        const T0: i64 = 1_672_677_900_000;

        fn guard(mode: SafetyMode, state: TradingState) -> (Guard, Arc<TradingMetrics>) {
            let metrics = Arc::new(TradingMetrics::new());
            let config = GuardConfig {
                mode,
                trading_state: state,
                ..GuardConfig::default()
            };
            let guard = Guard::new(config, Arc::new(ManualClock::new(T0)), metrics.clone())
                .expect("valid config");
            (guard, metrics)
        }

        fn market(guard: &mut Guard, position: f64, open_sell: f64) {
            let update = MarketUpdate {
                reference_price: Some(100.0),
                position,
                open_buy_quantity: 0.0,
                open_sell_quantity: open_sell,
            };
            guard
                .update_market("BTC-USDT", update, false)
                .expect("valid market data");
        }

        fn order(side: &str, quantity: f64) -> String {
            format!(r#"{{"symbol":"BTC-USDT","side":"{side}","quantity":{quantity},"price":100}}"#)
        }

        fn code(d: Decision) -> Option<&'static str> {
            match d {
                Decision::Rejected(r) => Some(r.code().as_str()),
                _ => None,
            }
        }

        #[test]
        fn halted_refuses_place_and_replace_in_every_mode_without_asking_for_data_and_passes_cancels(
        ) {
            for mode in [SafetyMode::DryRun, SafetyMode::TwoPhase, SafetyMode::Direct] {
                let (mut g, metrics) = guard(mode, TradingState::Halted);
                assert_eq!(metrics.trading_state(), 2);
                let place = g.decide(ToolKind::PlaceOrder, &order("Buy", 1.0), false);
                let Decision::Rejected(r) = place else {
                    panic!("{mode:?}: expected TRADING_HALTED, got {place:?}")
                };
                assert_eq!(
                    (r.code(), r.source()),
                    (Code::TradingHalted, Source::RiskGate)
                );
                g.learn_order("o-1", "BTC-USDT", Side::Buy, 99.0, 1.0);
                let replace = g.decide(
                    ToolKind::ReplaceOrder,
                    r#"{"order_id":"o-1","price":98}"#,
                    false,
                );
                assert_eq!(code(replace), Some("TRADING_HALTED"), "{mode:?}");
                let cancel = g.decide(ToolKind::CancelOrder, r#"{"order_id":"o-1"}"#, false);
                assert_eq!(code(cancel), None, "{mode:?}: a cancel passes");
                assert_eq!(
                    metrics.risk_rejections(RejectionSource::RiskGate),
                    2,
                    "{mode:?}"
                );
            }
        }

        #[test]
        fn reducing_asks_for_the_position_then_admits_only_reducing_orders() {
            let (mut g, metrics) = guard(SafetyMode::Direct, TradingState::Reducing);
            assert_eq!(metrics.trading_state(), 1);
            assert!(matches!(
                g.decide(ToolKind::PlaceOrder, &order("Sell", 0.5), false),
                Decision::NeedMarket { .. }
            ));
            // Long 1 with 0.5 already resting to sell.
            market(&mut g, 1.0, 0.5);
            assert!(matches!(
                g.decide(ToolKind::PlaceOrder, &order("Sell", 0.5), true),
                Decision::Send { .. }
            ));
            // That sell is in flight now: even 0.1 more would flip the position.
            assert_eq!(
                code(g.decide(ToolKind::PlaceOrder, &order("Sell", 0.1), true)),
                Some("REDUCE_ONLY")
            );
            assert_eq!(
                code(g.decide(ToolKind::PlaceOrder, &order("Buy", 0.1), true)),
                Some("REDUCE_ONLY")
            );
            // The rejection breaker does not see trading-state refusals.
            assert_eq!(metrics.risk_rejections(RejectionSource::RiskLimits), 0);
        }

        #[test]
        fn set_trading_state_returns_the_previous_one_and_moves_the_gauge() {
            let (mut g, metrics) = guard(SafetyMode::DryRun, TradingState::Active);
            assert_eq!(metrics.trading_state(), 0);
            assert_eq!(
                g.set_trading_state(TradingState::Halted),
                TradingState::Active
            );
            assert_eq!(metrics.trading_state(), 2);
            assert_eq!(
                code(g.decide(ToolKind::PlaceOrder, &order("Buy", 1.0), false)),
                Some("TRADING_HALTED")
            );
            assert_eq!(
                g.set_trading_state(TradingState::Active),
                TradingState::Halted
            );
            assert_eq!(g.trading_state(), TradingState::Active);
            assert_eq!(metrics.trading_state(), 0);
            assert_eq!(
                code(g.decide(ToolKind::PlaceOrder, &order("Buy", 1.0), false)),
                None
            );
        }
    }

    #[test]
    fn states_parse_and_number_as_the_gauge() {
        for (i, s) in TradingState::ALL.into_iter().enumerate() {
            assert_eq!(TradingState::parse(s.as_str()), Some(s));
            assert_eq!(s.gauge(), i as i64);
        }
        assert_eq!(TradingState::parse("halted"), None);
        assert_eq!(
            halted_rejection().message(),
            "RiskGate: trading is HALTED: only cancels are accepted"
        );
    }
}
