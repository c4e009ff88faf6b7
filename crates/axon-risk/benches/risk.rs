//! Risk chain costs: the static limit checks, the breaker check, argument parsing, and a whole
//! `Guard::decide` from a JSON string, passing and refused (targets: risk check <= 50 ns, breaker
//! check <= 10 ns).
use std::sync::Arc;

use axon_metrics::TradingMetrics;
use axon_risk::gate::RejectionCircuitBreaker;
use axon_risk::limits::{check_notional, check_position, DailyCounter};
use axon_risk::{
    args, ControlsConfig, Guard, GuardConfig, ManualClock, MarketUpdate, RiskLimits, SafetyMode,
    ToolKind,
};
use criterion::{black_box, criterion_group, criterion_main, Criterion};

const NOW: i64 = 1_672_677_900_000;
const ORDER: &str = r#"{"symbol":"BTC-USDT","side":"Buy","quantity":0.5,"price":20000}"#;
const OVER_NOTIONAL: &str = r#"{"symbol":"BTC-USDT","side":"Buy","quantity":5,"price":20000}"#;

fn limits() -> RiskLimits {
    RiskLimits {
        allowed_symbols: Some(vec!["BTC-USDT".into(), "ETH-USDT".into()]),
        max_order_notional: Some(50_000.0),
        max_position_abs: Some(10.0),
        max_daily_orders: Some(1_000_000),
        max_daily_cancels: None,
    }
}

fn risk(c: &mut Criterion) {
    let limits = limits();
    let mut daily = DailyCounter::default();
    c.bench_function("risk_limits_check", |b| {
        b.iter(|| {
            check_notional(&limits, black_box(0.5), black_box(20_000.0)).is_ok()
                && check_position(&limits, black_box(1.5), black_box(0.5)).is_ok()
                && daily
                    .has_room(black_box(NOW), limits.max_daily_orders)
                    .is_ok()
        })
    });

    let mut breaker = RejectionCircuitBreaker::new(5, 60_000);
    c.bench_function("breaker_check", |b| {
        b.iter(|| {
            let verdict = breaker.check(black_box(NOW)).is_ok();
            breaker.on_pass(NOW);
            verdict
        })
    });

    c.bench_function("args_parse_place_order", |b| {
        b.iter(|| args::parse_place_order(black_box(ORDER), 65_536).is_ok())
    });

    let clock = ManualClock::new(NOW);
    let config = GuardConfig {
        mode: SafetyMode::DryRun,
        limits: limits.clone(),
        ..GuardConfig::default()
    };
    let mut guard =
        Guard::new(config, Arc::new(clock), Arc::new(TradingMetrics::new())).expect("valid config");
    let flat = MarketUpdate {
        reference_price: Some(20_000.0),
        position: 0.0,
        open_buy_quantity: 0.0,
        open_sell_quantity: 0.0,
    };
    guard
        .update_market("BTC-USDT", flat, true)
        .expect("valid market data");
    c.bench_function("guard_decide_dry_run_from_json", |b| {
        b.iter(|| guard.decide(ToolKind::PlaceOrder, black_box(ORDER), false))
    });

    // A refusal (notional 100000 over the 50000 limit; no breaker configured, so every call takes
    // the same path), up to the text the binding hands to JavaScript.
    c.bench_function("guard_decide_rejection_notional", |b| {
        b.iter(
            || match guard.decide(ToolKind::PlaceOrder, black_box(OVER_NOTIONAL), false) {
                axon_risk::Decision::Rejected(r) => r.message(),
                _ => unreachable!("the order is over the notional limit"),
            },
        )
    });

    // Every market-access control on, each passing (a DryRun order takes no count, so the same
    // order stays no duplicate and under every rate): the cost of the checks themselves.
    let controls = ControlsConfig {
        max_order_quantity: Some(5.0),
        min_order_notional: Some(10.0),
        price_collar_bps: Some(500.0),
        max_reference_age_ms: Some(60_000),
        max_open_orders: Some(50),
        duplicate_window_ms: Some(10_000),
        max_orders_per_second: Some(10),
        max_orders_per_minute: Some(300),
        self_trade_reject: true,
        max_daily_loss: Some(5_000.0),
    };
    let config = GuardConfig {
        mode: SafetyMode::DryRun,
        limits: limits.clone(),
        controls,
        ..GuardConfig::default()
    };
    let mut guard = Guard::new(
        config,
        Arc::new(ManualClock::new(NOW)),
        Arc::new(TradingMetrics::new()),
    )
    .expect("valid config");
    guard
        .update_market("BTC-USDT", flat, true)
        .expect("valid market data");
    guard.learn_order(
        "resting-sell",
        "BTC-USDT",
        axon_risk::Side::Sell,
        21_000.0,
        1.0,
    );
    guard.update_daily_pnl(-100.0);
    assert!(
        matches!(
            guard.decide(ToolKind::PlaceOrder, ORDER, false),
            axon_risk::Decision::Done { .. }
        ),
        "every control passes"
    );
    c.bench_function("guard_decide_dry_run_from_json_all_controls", |b| {
        b.iter(|| guard.decide(ToolKind::PlaceOrder, black_box(ORDER), false))
    });
}

criterion_group!(benches, risk);
criterion_main!(benches);
