//! `trading_risk_rejections_total{source, code}`: the metrics crate's `code` labels are this
//! crate's `Code::ALL`, every refusal the counter sees lands on a series exported from the first
//! scrape, and a refusal through the `Guard` moves exactly its own `{source, code}` series.

use std::collections::HashSet;
use std::sync::Arc;

use axon_metrics::{RejectionCode, RejectionSource, Series, TradingMetrics, RISK_REJECTION_SERIES};
use axon_risk::clock::MS_PER_DAY;
use axon_risk::{
    Code, Decision, Denial, GateConfig, Guard, GuardConfig, ManualClock, MarketUpdate, OrderType,
    PricePurpose, RateWindow, RiskLimits, SafetyMode, Side, Source, StateFailure, ToolKind,
};

/// The counter's `source` label, for the three sources it counts.
fn counted_source(source: Source) -> Option<RejectionSource> {
    match source {
        Source::RiskLimits => Some(RejectionSource::RiskLimits),
        Source::RiskGate => Some(RejectionSource::RiskGate),
        Source::SafetyMode => Some(RejectionSource::SafetyMode),
        Source::Arguments | Source::Backend => None,
    }
}

#[test]
fn code_labels_are_code_all_in_lower_snake_case_in_the_same_order() {
    assert_eq!(Code::ALL.len(), RejectionCode::ALL.len());
    for (i, code) in Code::ALL.iter().enumerate() {
        let label = code.metric_label();
        assert_eq!(label, RejectionCode::ALL[i], "{code:?}");
        assert_eq!(label.as_str(), code.as_str().to_ascii_lowercase());
    }
}

/// One refusal of each kind the three counted sources produce (the Arguments and Backend ones
/// are never counted here).
fn counted_refusals() -> Vec<Denial> {
    let symbol = || "BTC-USDT".to_owned();
    vec![
        Denial::SymbolNotAllowed { symbol: symbol() },
        Denial::OrderNotional {
            notional: 6e4,
            limit: 5e4,
        },
        Denial::NoReferencePrice {
            symbol: symbol(),
            purpose: PricePurpose::PriceCollar,
        },
        Denial::NoReplacePrice {
            order_id: "7".to_owned(),
        },
        Denial::PositionAbs {
            projected: 11.0,
            limit: 10.0,
        },
        Denial::PositionUnknown { symbol: symbol() },
        Denial::DailyOrders {
            would_be: 4,
            limit: 3,
        },
        Denial::DailyCancels {
            would_be: 4,
            limit: 3,
        },
        Denial::OrderQuantity {
            quantity: 6.0,
            limit: 5.0,
        },
        Denial::MinOrderNotional {
            notional: 5.0,
            limit: 10.0,
        },
        Denial::StaleReferencePrice {
            symbol: symbol(),
            price: 2e4,
            age_ms: 61_000,
            max_age_ms: 60_000,
        },
        Denial::PriceCollar {
            price: 2.2e4,
            bps: 1000.0,
            reference: 2e4,
            collar_bps: 500.0,
        },
        Denial::DailyLoss {
            daily_pnl: -6e3,
            limit: 5e3,
        },
        Denial::OpenOrders {
            symbol: symbol(),
            would_be: 51,
            limit: 50,
            resting: 50,
            inflight: 0,
            uncertain: 0,
        },
        Denial::DuplicateOrder {
            symbol: symbol(),
            side: Side::Buy,
            order_type: OrderType::Limit,
            quantity: 0.5,
            price: Some(2e4),
            age_ms: 10,
            window_ms: 10_000,
        },
        Denial::SelfTrade {
            side: Side::Sell,
            price: None,
            resting_id: "r1".to_owned(),
            resting_price: 19_990.0,
            symbol: symbol(),
        },
        Denial::RateLimited {
            would_be: 11,
            window: RateWindow::Second,
            limit: 10,
        },
        Denial::BreakerOpen {
            rejections: 5,
            cooldown_remaining_ms: 0,
        },
        Denial::PnlBreakerOpen {
            daily_pnl: -600.0,
            floor: -500.0,
        },
        Denial::StateUnavailable {
            why: StateFailure::Unreachable,
        },
        Denial::ReduceOnly {
            position: 1.0,
            projected: 1.5,
        },
        Denial::TradingHalted,
        Denial::ReduceOnlyPositionUnknown { symbol: symbol() },
        Denial::PendingConfirmLimit { pending: 100 },
        Denial::TokenUnavailable {
            detail: "no entropy".to_owned(),
        },
        Denial::TokenInvalid,
        Denial::TokenOutsideTwoPhase {
            mode: SafetyMode::Direct,
        },
        Denial::TokenExpired {
            expired_ms_ago: 1,
            ttl_ms: 300_000,
        },
        Denial::TokenArgsMismatch,
    ]
}

#[test]
fn every_counted_refusal_lands_on_an_exported_series_and_none_is_stale() {
    let listed: HashSet<(RejectionSource, RejectionCode)> =
        RISK_REJECTION_SERIES.iter().copied().collect();
    let mut produced = HashSet::new();
    for denial in counted_refusals() {
        let source = counted_source(denial.source()).unwrap_or_else(|| {
            panic!("{denial:?} is not counted by trading_risk_rejections_total")
        });
        let pair = (source, denial.code().metric_label());
        assert!(
            listed.contains(&pair),
            "{denial:?} -> {pair:?} not exported at 0"
        );
        produced.insert(pair);
    }
    let stale: Vec<_> = listed.difference(&produced).collect();
    assert!(stale.is_empty(), "listed but never produced: {stale:?}");
}

const T0: i64 = 19_000 * MS_PER_DAY + 3_600_000;

fn guard(mode: SafetyMode, gates: Vec<GateConfig>) -> (Guard, Arc<TradingMetrics>) {
    let metrics = Arc::new(TradingMetrics::new());
    let config = GuardConfig {
        mode,
        limits: RiskLimits {
            allowed_symbols: Some(vec!["BTC-USDT".into()]),
            max_order_notional: Some(50_000.0),
            ..RiskLimits::default()
        },
        gates,
        ..GuardConfig::default()
    };
    let mut guard =
        Guard::new(config, Arc::new(ManualClock::new(T0)), metrics.clone()).expect("valid config");
    let flat = MarketUpdate {
        reference_price: Some(20_000.0),
        position: 0.0,
        open_buy_quantity: 0.0,
        open_sell_quantity: 0.0,
    };
    guard
        .update_market("BTC-USDT", flat, true)
        .expect("valid market data");
    (guard, metrics)
}

fn refused(decision: Decision) -> Code {
    match decision {
        Decision::Rejected(r) => r.code(),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// The non-zero `trading_risk_rejections_total` series.
fn moved(metrics: &TradingMetrics) -> Vec<(RejectionSource, RejectionCode, u64)> {
    metrics
        .counter_series()
        .into_iter()
        .filter_map(|(series, value)| match series {
            Series::RiskRejections { source, code } if value > 0 => Some((source, code, value)),
            _ => None,
        })
        .collect()
}

const OVER_NOTIONAL: &str = r#"{"symbol":"BTC-USDT","side":"Buy","quantity":3,"price":20000}"#;
const SYMBOL_REFUSED: &str = r#"{"symbol":"DOGE-USDT","side":"Buy","quantity":1,"price":1}"#;

#[test]
fn a_refusal_through_the_guard_moves_exactly_its_source_and_code() {
    let gates = vec![GateConfig::RejectionCircuitBreaker {
        threshold: 2,
        cooldown_ms: 60_000,
    }];
    let (mut g, metrics) = guard(SafetyMode::Direct, gates);
    assert_eq!(
        refused(g.decide(ToolKind::PlaceOrder, OVER_NOTIONAL, false)),
        Code::MaxOrderNotional
    );
    assert_eq!(
        moved(&metrics),
        vec![(
            RejectionSource::RiskLimits,
            RejectionCode::MaxOrderNotional,
            1
        )]
    );
    assert_eq!(
        refused(g.decide(ToolKind::PlaceOrder, SYMBOL_REFUSED, false)),
        Code::SymbolNotAllowed
    );
    // Two RiskLimits refusals opened the breaker: the next order is blocked by the gate.
    assert_eq!(
        refused(g.decide(ToolKind::PlaceOrder, OVER_NOTIONAL, false)),
        Code::CircuitBreakerOpen
    );
    assert_eq!(
        moved(&metrics),
        vec![
            (
                RejectionSource::RiskLimits,
                RejectionCode::SymbolNotAllowed,
                1
            ),
            (
                RejectionSource::RiskLimits,
                RejectionCode::MaxOrderNotional,
                1
            ),
            (
                RejectionSource::RiskGate,
                RejectionCode::CircuitBreakerOpen,
                1
            ),
        ]
    );
    assert_eq!(metrics.risk_rejections(RejectionSource::RiskLimits), 2);
    assert_eq!(metrics.gate_blocked(), 1);

    let (mut two_phase, metrics) = guard(SafetyMode::TwoPhase, Vec::new());
    let forged = r#"{"symbol":"BTC-USDT","side":"Buy","quantity":1,"price":20000,"confirm_token":"0b0a7a3e-6f61-4c2b-9d7e-1c2d3e4f5a6b"}"#;
    assert_eq!(
        refused(two_phase.decide(ToolKind::PlaceOrder, forged, false)),
        Code::ConfirmTokenInvalid
    );
    assert_eq!(
        moved(&metrics),
        vec![(
            RejectionSource::SafetyMode,
            RejectionCode::ConfirmTokenInvalid,
            1
        )]
    );
    // Malformed arguments are not a risk rejection.
    assert_eq!(
        refused(two_phase.decide(ToolKind::PlaceOrder, r#"{"symbol":"BTC-USDT"}"#, false)),
        Code::InvalidArguments
    );
    assert_eq!(moved(&metrics).len(), 1);
}
