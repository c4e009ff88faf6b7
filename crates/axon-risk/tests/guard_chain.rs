//! Every rule, mode and gate transition of SPEC §3-§5 through the public `Guard` API.

use std::sync::Arc;

use axon_metrics::{
    BackendLabel, ErrorKindLabel, RejectionSource, SideLabel, StatusLabel, ToolLabel,
    TradingMetrics,
};
use axon_risk::clock::MS_PER_DAY;
use axon_risk::{
    AckStatus, Action, BreakerState, Code, Decision, GateConfig, Guard, GuardConfig, ManualClock,
    MarketUpdate, Outcome, RiskLimits, SafetyMode, Source, ToolKind,
};

const T0: i64 = 19_000 * MS_PER_DAY + 3_600_000;

struct Harness {
    guard: Guard,
    clock: ManualClock,
    metrics: Arc<TradingMetrics>,
}

fn harness(mode: SafetyMode, limits: RiskLimits, gates: Vec<GateConfig>) -> Harness {
    let clock = ManualClock::new(T0);
    let metrics = Arc::new(TradingMetrics::new());
    let config = GuardConfig {
        mode,
        limits,
        gates,
        ..GuardConfig::default()
    };
    let guard = Guard::new(config, Arc::new(clock.clone()), metrics.clone()).expect("valid config");
    Harness {
        guard,
        clock,
        metrics,
    }
}

fn runbook_limits() -> RiskLimits {
    RiskLimits {
        allowed_symbols: Some(vec!["BTC-USDT".into(), "ETH-USDT".into()]),
        max_order_notional: Some(50_000.0),
        max_position_abs: Some(10.0),
        max_daily_orders: Some(100),
        max_daily_cancels: None,
    }
}

fn flat(h: &mut Harness, symbol: &str, price: Option<f64>) {
    let update = MarketUpdate {
        reference_price: price,
        position: 0.0,
        open_buy_quantity: 0.0,
        open_sell_quantity: 0.0,
    };
    h.guard
        .update_market(symbol, update, true)
        .expect("valid market data");
}

fn limit(symbol: &str, side: &str, qty: f64, price: f64) -> String {
    format!(r#"{{"symbol":"{symbol}","side":"{side}","quantity":{qty},"price":{price}}}"#)
}

fn rejected(d: Decision) -> axon_risk::Rejection {
    match d {
        Decision::Rejected(r) => r,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

fn sent(d: Decision) -> (u64, Action) {
    match d {
        Decision::Send { ticket, action } => (ticket, action),
        other => panic!("expected Send, got {other:?}"),
    }
}

fn done(d: Decision) -> serde_json::Value {
    match d {
        Decision::Done { ack_json, .. } => serde_json::from_str(&ack_json).expect("ack is JSON"),
        other => panic!("expected Done, got {other:?}"),
    }
}

fn ack(h: &mut Harness, ticket: u64, id: &str) {
    assert_eq!(
        h.guard
            .record(
                ticket,
                Outcome::Acked {
                    order_id: id,
                    status: AckStatus::New
                },
                0.001
            )
            .expect("ticket"),
        None
    );
}

#[test]
fn dry_run_evaluates_the_chain_but_sends_nothing_and_uses_no_quota() {
    let mut h = harness(SafetyMode::DryRun, runbook_limits(), vec![]);
    flat(&mut h, "BTC-USDT", Some(20_000.0));
    let ack = done(h.guard.decide(
        ToolKind::PlaceOrder,
        &limit("BTC-USDT", "Buy", 1.0, 20_000.0),
        false,
    ));
    assert_eq!(ack["status"], "DryRun");
    assert_eq!(ack["symbol"], "BTC-USDT");
    assert_eq!(ack["side"], "Buy");
    assert_eq!(ack["quantity"], 1.0);
    assert_eq!(ack["timestamp_ms"], T0);
    assert_eq!(h.guard.daily_orders(), 0);
    let r = rejected(h.guard.decide(
        ToolKind::PlaceOrder,
        &limit("BTC-USDT", "Buy", 3.0, 20_000.0),
        false,
    ));
    assert_eq!(
        (r.code(), r.message().as_str()),
        (
            Code::MaxOrderNotional,
            "RiskLimits: order notional 60000 exceeds limit 50000"
        )
    );
    assert_eq!(
        h.metrics
            .orders(ToolLabel::Place, SideLabel::Buy, StatusLabel::Success),
        1
    );
    assert_eq!(
        h.metrics
            .orders(ToolLabel::Place, SideLabel::Buy, StatusLabel::Rejected),
        1
    );
}

#[test]
fn direct_sends_and_records() {
    let mut h = harness(SafetyMode::Direct, runbook_limits(), vec![]);
    flat(&mut h, "BTC-USDT", Some(20_000.0));
    let (ticket, action) = sent(h.guard.decide(
        ToolKind::PlaceOrder,
        &limit("BTC-USDT", "Sell", 0.5, 21_000.0),
        false,
    ));
    let Action::Place(order) = action else {
        panic!("place")
    };
    assert_eq!(order.quantity, 0.5);
    assert!(order.client_order_id.starts_with("axon-"));
    assert_eq!(h.guard.market_symbol(order.market_slot), Some("BTC-USDT"));
    assert_eq!(h.guard.market_slot("BTC-USDT"), Some(order.market_slot));
    assert_eq!(h.guard.market_symbol(99), None);
    assert_eq!(h.guard.daily_orders(), 1);
    assert_eq!(h.metrics.daily_orders(), 1);
    ack(&mut h, ticket, "venue-1");
    assert_eq!(
        h.guard.known_order("venue-1").map(|o| o.remaining),
        Some(0.5)
    );
    assert!(
        h.guard
            .record(
                ticket,
                Outcome::Acked {
                    order_id: "x",
                    status: AckStatus::New
                },
                0.0
            )
            .is_err(),
        "a ticket settles once"
    );
    assert_eq!(
        h.metrics
            .orders(ToolLabel::Place, SideLabel::Sell, StatusLabel::Success),
        1
    );
}

#[test]
fn symbol_rules() {
    let mut h = harness(SafetyMode::Direct, runbook_limits(), vec![]);
    let r = rejected(h.guard.decide(
        ToolKind::PlaceOrder,
        &limit("DOGE-USDT", "Buy", 1.0, 0.1),
        false,
    ));
    assert_eq!(
        (r.code(), r.message().as_str()),
        (
            Code::SymbolNotAllowed,
            "RiskLimits: symbol 'DOGE-USDT' not in allowed list"
        )
    );
    let mut empty = harness(
        SafetyMode::Direct,
        RiskLimits {
            allowed_symbols: Some(vec![]),
            ..Default::default()
        },
        vec![],
    );
    assert_eq!(
        rejected(empty.guard.decide(
            ToolKind::PlaceOrder,
            &limit("BTC-USDT", "Buy", 1.0, 1.0),
            false
        ))
        .code(),
        Code::SymbolNotAllowed
    );
    let mut open = harness(SafetyMode::Direct, RiskLimits::default(), vec![]);
    sent(open.guard.decide(
        ToolKind::PlaceOrder,
        &limit("ANY-THING", "Buy", 1.0, 1.0),
        false,
    ));
}

#[test]
fn market_orders_need_a_reference_price() {
    let mut h = harness(SafetyMode::Direct, runbook_limits(), vec![]);
    let market = r#"{"symbol":"ETH-USDT","side":"Buy","quantity":2,"order_type":"Market"}"#;
    assert_eq!(
        h.guard.decide(ToolKind::PlaceOrder, market, false),
        Decision::NeedMarket {
            symbol: "ETH-USDT".into()
        }
    );
    assert_eq!(
        h.metrics
            .orders(ToolLabel::Place, SideLabel::Buy, StatusLabel::Rejected),
        0,
        "asking for data moves nothing"
    );
    let r = rejected(h.guard.decide(ToolKind::PlaceOrder, market, true));
    assert_eq!(
        (r.code(), r.message().as_str()),
        (
            Code::NoReferencePrice,
            "RiskLimits: no reference price for 'ETH-USDT' to value a Market order"
        )
    );
    flat(&mut h, "ETH-USDT", Some(30_000.0));
    assert_eq!(
        rejected(h.guard.decide(ToolKind::PlaceOrder, market, false)).message(),
        "RiskLimits: order notional 60000 exceeds limit 50000"
    );
    flat(&mut h, "ETH-USDT", Some(1_500.0));
    sent(h.guard.decide(ToolKind::PlaceOrder, market, false));
}

#[test]
fn fetched_market_data_ages_out_but_pushed_data_does_not() {
    let mut h = harness(SafetyMode::Direct, runbook_limits(), vec![]);
    let update = MarketUpdate {
        reference_price: Some(100.0),
        position: 0.0,
        open_buy_quantity: 0.0,
        open_sell_quantity: 0.0,
    };
    h.guard
        .update_market("BTC-USDT", update, false)
        .expect("valid");
    let order = limit("BTC-USDT", "Buy", 1.0, 100.0);
    assert!(matches!(
        h.guard.decide(ToolKind::PlaceOrder, &order, false),
        Decision::Send { .. }
    ));
    h.clock.advance(1_001);
    assert!(matches!(
        h.guard.decide(ToolKind::PlaceOrder, &order, false),
        Decision::NeedMarket { .. }
    ));
    h.guard
        .update_market("BTC-USDT", update, true)
        .expect("valid");
    h.clock.advance(10_000_000);
    assert!(matches!(
        h.guard.decide(ToolKind::PlaceOrder, &order, false),
        Decision::Send { .. }
    ));
    assert!(h
        .guard
        .update_market(
            "BTC-USDT",
            MarketUpdate {
                position: f64::NAN,
                ..update
            },
            true
        )
        .is_err());
}

#[test]
fn pushed_data_through_the_shared_feed_is_taken_in_order_and_fails_closed() {
    let mut h = harness(SafetyMode::Direct, runbook_limits(), vec![]);
    let feed = h.guard.market_feed();
    let slot = h.guard.market_slot("ETH-USDT").expect("allowed") as usize;
    let market = |qty: f64| {
        format!(r#"{{"symbol":"ETH-USDT","side":"Buy","quantity":{qty},"order_type":"Market"}}"#)
    };
    // Nothing pushed yet: the guard asks.
    assert!(matches!(
        h.guard.decide(ToolKind::PlaceOrder, &market(1.0), false),
        Decision::NeedMarket { .. }
    ));
    // A push is a few stores; the next decision takes it (pushed data never ages).
    feed.push(slot, Some(3_000.0), 0.0, 0.0, 0.0);
    h.clock.advance(10 * MS_PER_DAY);
    assert_eq!(
        rejected(h.guard.decide(ToolKind::PlaceOrder, &market(20.0), false)).message(),
        "RiskLimits: order notional 60000 exceeds limit 50000"
    );
    feed.push(slot, Some(3_000.0), 9.5, 0.0, 0.0);
    assert_eq!(
        rejected(h.guard.decide(ToolKind::PlaceOrder, &market(1.0), false)).code(),
        Code::MaxPositionAbs
    );
    // A fetched update after a push is newer: the older push never overrides it.
    feed.push(slot, Some(3_000.0), 9.5, 0.0, 0.0);
    let fetched = MarketUpdate {
        reference_price: Some(1_000.0),
        position: 0.0,
        open_buy_quantity: 0.0,
        open_sell_quantity: 0.0,
    };
    h.guard
        .update_market("ETH-USDT", fetched, false)
        .expect("valid");
    let (ticket, _) = sent(h.guard.decide(ToolKind::PlaceOrder, &market(1.0), false));
    ack(&mut h, ticket, "eth-1");
    // An invalid row fails closed: the slot is unknown until data comes again.
    feed.push(slot, Some(3_000.0), f64::NAN, 0.0, 0.0);
    assert!(matches!(
        h.guard.decide(ToolKind::PlaceOrder, &market(1.0), false),
        Decision::NeedMarket { .. }
    ));
    feed.push(slot, Some(-5.0), 0.0, 0.0, 0.0);
    assert!(matches!(
        h.guard.decide(ToolKind::PlaceOrder, &market(1.0), false),
        Decision::NeedMarket { .. }
    ));
    feed.push(slot, None, 0.0, 0.0, 0.0);
    let r = rejected(h.guard.decide(ToolKind::PlaceOrder, &market(1.0), false));
    assert_eq!(r.code(), Code::NoReferencePrice);
    // The feed is one object per guard, one row per allowed symbol.
    assert_eq!(h.guard.market_feed().slots(), 2);
    assert!(Arc::ptr_eq(h.guard.market_feed().cells(), feed.cells()));
}

#[test]
fn position_limit_counts_position_open_orders_and_inflight() {
    let limits = RiskLimits {
        max_position_abs: Some(0.5),
        ..Default::default()
    };
    let mut h = harness(SafetyMode::Direct, limits, vec![]);
    let update = MarketUpdate {
        reference_price: Some(100.0),
        position: 0.2,
        open_buy_quantity: 0.1,
        open_sell_quantity: 0.0,
    };
    h.guard
        .update_market("BTC-USDT", update, true)
        .expect("valid");
    let (ticket, _) = sent(h.guard.decide(
        ToolKind::PlaceOrder,
        &limit("BTC-USDT", "Buy", 0.1, 100.0),
        false,
    ));
    let r = rejected(h.guard.decide(
        ToolKind::PlaceOrder,
        &limit("BTC-USDT", "Buy", 0.2, 100.0),
        false,
    ));
    assert_eq!(
        (r.code(), r.message().as_str()),
        (
            Code::MaxPositionAbs,
            "RiskLimits: projected position 0.6 exceeds max abs 0.5"
        )
    );
    h.guard
        .record(
            ticket,
            Outcome::Failed {
                kind: ErrorKindLabel::Rejected,
                message: "no",
            },
            0.0,
        )
        .expect("ticket");
    sent(h.guard.decide(
        ToolKind::PlaceOrder,
        &limit("BTC-USDT", "Buy", 0.2, 100.0),
        false,
    ));
    // Selling from +0.2 to -0.3 is within 0.5; to -0.8 is not.
    sent(h.guard.decide(
        ToolKind::PlaceOrder,
        &limit("BTC-USDT", "Sell", 0.5, 100.0),
        false,
    ));
    let r = rejected(h.guard.decide(
        ToolKind::PlaceOrder,
        &limit("BTC-USDT", "Sell", 0.5, 100.0),
        false,
    ));
    assert_eq!(
        r.message(),
        "RiskLimits: projected position -0.8 exceeds max abs 0.5"
    );
}

#[test]
fn daily_counts_carried_over_a_restart_count_today_only() {
    let limits = RiskLimits {
        max_daily_orders: Some(3),
        max_daily_cancels: Some(5),
        ..Default::default()
    };
    let order = limit("BTC-USDT", "Buy", 1.0, 1.0);
    let mut before = harness(SafetyMode::Direct, limits.clone(), vec![]);
    sent(before.guard.decide(ToolKind::PlaceOrder, &order, false));
    sent(before.guard.decide(ToolKind::PlaceOrder, &order, false));
    let (day, orders, cancels) = (
        before.guard.daily_day(),
        before.guard.daily_orders(),
        before.guard.daily_cancels(),
    );
    assert_eq!((day, orders), (19_000, 2));

    // The restarted process: same day, the saved counts apply (and never lower a higher count).
    let mut after = harness(SafetyMode::Direct, limits.clone(), vec![]);
    after.guard.restore_daily_counts(day, orders, cancels);
    assert_eq!(
        after.metrics.daily_orders(),
        2,
        "the gauge shows the carried count"
    );
    sent(after.guard.decide(ToolKind::PlaceOrder, &order, false));
    let r = rejected(after.guard.decide(ToolKind::PlaceOrder, &order, false));
    assert_eq!(
        r.message(),
        "RiskLimits: daily order count 4 exceeds limit 3"
    );
    after.guard.restore_daily_counts(day, 1, 0);
    assert_eq!(after.guard.daily_orders(), 3);

    // Counts saved yesterday are not today's.
    let mut next_day = harness(SafetyMode::Direct, limits, vec![]);
    next_day.guard.restore_daily_counts(day - 1, 3, 5);
    assert_eq!(
        (
            next_day.guard.daily_orders(),
            next_day.guard.daily_cancels()
        ),
        (0, 0)
    );
}

#[test]
fn daily_orders_reserve_atomically_release_on_definite_rejection_and_reset_at_utc_midnight() {
    let limits = RiskLimits {
        max_daily_orders: Some(2),
        ..Default::default()
    };
    let mut h = harness(SafetyMode::Direct, limits, vec![]);
    let order = limit("BTC-USDT", "Buy", 1.0, 1.0);
    let (t1, _) = sent(h.guard.decide(ToolKind::PlaceOrder, &order, false));
    let (t2, _) = sent(h.guard.decide(ToolKind::PlaceOrder, &order, false));
    let r = rejected(h.guard.decide(ToolKind::PlaceOrder, &order, false));
    assert_eq!(
        (r.code(), r.message().as_str()),
        (
            Code::MaxDailyOrders,
            "RiskLimits: daily order count 3 exceeds limit 2"
        )
    );
    let backend = h
        .guard
        .record(
            t1,
            Outcome::Failed {
                kind: ErrorKindLabel::Timeout,
                message: "no answer in 5000 ms",
            },
            0.0,
        )
        .expect("ticket");
    let backend = backend.expect("a backend rejection");
    assert_eq!(
        (backend.code(), backend.source()),
        (Code::BackendTimeout, Source::Backend)
    );
    assert_eq!(backend.message(), "Backend: timeout: no answer in 5000 ms");
    assert_eq!(h.guard.daily_orders(), 2, "unknown outcome keeps the slot");
    h.guard
        .record(
            t2,
            Outcome::Failed {
                kind: ErrorKindLabel::InsufficientFunds,
                message: "balance",
            },
            0.0,
        )
        .expect("ticket");
    assert_eq!(
        h.guard.daily_orders(),
        1,
        "definite rejection gives the slot back"
    );
    sent(h.guard.decide(ToolKind::PlaceOrder, &order, false));
    rejected(h.guard.decide(ToolKind::PlaceOrder, &order, false));
    h.clock.set(19_001 * MS_PER_DAY - 1);
    rejected(h.guard.decide(ToolKind::PlaceOrder, &order, false));
    h.clock.set(19_001 * MS_PER_DAY);
    sent(h.guard.decide(ToolKind::PlaceOrder, &order, false));
    assert_eq!(h.guard.daily_orders(), 1);
    assert_eq!(
        h.metrics
            .backend_errors(BackendLabel::Mock, ErrorKindLabel::Timeout),
        1
    );
}

#[test]
fn daily_cancels_are_limited_and_never_gated() {
    let limits = RiskLimits {
        max_daily_cancels: Some(5),
        ..Default::default()
    };
    let gates = vec![GateConfig::RejectionCircuitBreaker {
        threshold: 1,
        cooldown_ms: 60_000,
    }];
    let mut h = harness(SafetyMode::Direct, limits, gates);
    for i in 0..5 {
        sent(h.guard.decide(
            ToolKind::CancelOrder,
            &format!(r#"{{"order_id":"o{i}"}}"#),
            false,
        ));
    }
    let r = rejected(
        h.guard
            .decide(ToolKind::CancelOrder, r#"{"order_id":"o6"}"#, false),
    );
    assert_eq!(
        (r.code(), r.message().as_str()),
        (
            Code::MaxDailyCancels,
            "RiskLimits: daily cancel count 6 exceeds limit 5"
        )
    );
    assert_eq!(
        h.guard.breaker_state(),
        Some(BreakerState::Closed),
        "cancels never move the breaker"
    );
}

#[test]
fn two_phase_token_rules() {
    let mut h = harness(SafetyMode::TwoPhase, runbook_limits(), vec![]);
    flat(&mut h, "BTC-USDT", Some(20_000.0));
    let order = limit("BTC-USDT", "Buy", 1.0, 20_000.0);
    let pending = done(h.guard.decide(ToolKind::PlaceOrder, &order, false));
    assert_eq!(pending["status"], "PendingConfirm");
    let token = pending["confirm_token"].as_str().expect("token").to_owned();
    assert_eq!(h.guard.daily_orders(), 0, "first phase takes no quota");
    let with = |qty: f64, token: &str| {
        format!(
            r#"{{"symbol":"BTC-USDT","side":"Buy","quantity":{qty},"price":20000,"confirm_token":"{token}"}}"#
        )
    };

    let r = rejected(
        h.guard
            .decide(ToolKind::PlaceOrder, &with(2.0, &token), false),
    );
    assert_eq!(
        (r.code(), r.source()),
        (Code::ConfirmArgsMismatch, Source::SafetyMode)
    );
    assert!(r.message().starts_with("SafetyMode: "));
    let r = rejected(
        h.guard
            .decide(ToolKind::PlaceOrder, &with(1.0, &token), false),
    );
    assert_eq!(
        r.code(),
        Code::ConfirmTokenInvalid,
        "a mismatch voids the token"
    );

    let token = done(h.guard.decide(ToolKind::PlaceOrder, &order, false))["confirm_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let (ticket, _) = sent(
        h.guard
            .decide(ToolKind::PlaceOrder, &with(1.0, &token), false),
    );
    ack(&mut h, ticket, "o1");
    assert_eq!(
        rejected(
            h.guard
                .decide(ToolKind::PlaceOrder, &with(1.0, &token), false)
        )
        .code(),
        Code::ConfirmTokenInvalid,
        "single use"
    );

    let token = done(h.guard.decide(ToolKind::PlaceOrder, &order, false))["confirm_token"]
        .as_str()
        .expect("token")
        .to_owned();
    h.clock.advance(300_000);
    assert_eq!(
        rejected(
            h.guard
                .decide(ToolKind::PlaceOrder, &with(1.0, &token), false)
        )
        .code(),
        Code::ConfirmTokenExpired
    );

    let r = rejected(h.guard.decide(
        ToolKind::PlaceOrder,
        &with(1.0, "0b0a7a3e-6f61-4c2b-9d7e-1c2d3e4f5a6b"),
        false,
    ));
    assert_eq!(r.code(), Code::ConfirmTokenInvalid);
    assert_eq!(h.metrics.risk_rejections(RejectionSource::SafetyMode), 5);
}

#[test]
fn two_phase_reruns_the_chain_at_confirm() {
    let limits = RiskLimits {
        max_daily_orders: Some(1),
        ..runbook_limits()
    };
    let mut h = harness(SafetyMode::TwoPhase, limits, vec![]);
    flat(&mut h, "BTC-USDT", Some(20_000.0));
    let order = limit("BTC-USDT", "Buy", 1.0, 20_000.0);
    let t1 = done(h.guard.decide(ToolKind::PlaceOrder, &order, false))["confirm_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let t2 = done(h.guard.decide(ToolKind::PlaceOrder, &order, false))["confirm_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let confirm = |t: &str| {
        format!(
            r#"{{"symbol":"BTC-USDT","side":"Buy","quantity":1,"price":20000,"confirm_token":"{t}"}}"#
        )
    };
    sent(h.guard.decide(ToolKind::PlaceOrder, &confirm(&t1), false));
    let r = rejected(h.guard.decide(ToolKind::PlaceOrder, &confirm(&t2), false));
    assert_eq!(
        r.code(),
        Code::MaxDailyOrders,
        "limits re-checked at confirm time"
    );
}

#[test]
fn tokens_are_refused_outside_two_phase() {
    let mut h = harness(SafetyMode::Direct, RiskLimits::default(), vec![]);
    let args = r#"{"symbol":"BTC-USDT","side":"Buy","quantity":1,"price":1,"confirm_token":"0b0a7a3e-6f61-4c2b-9d7e-1c2d3e4f5a6b"}"#;
    let r = rejected(h.guard.decide(ToolKind::PlaceOrder, args, false));
    assert_eq!(
        r.message(),
        "SafetyMode: confirm_token is only accepted in TwoPhase mode (mode is Direct)"
    );
}

#[test]
fn rejection_breaker_transitions_through_the_guard() {
    let gates = vec![GateConfig::RejectionCircuitBreaker {
        threshold: 5,
        cooldown_ms: 60_000,
    }];
    let mut h = harness(SafetyMode::Direct, runbook_limits(), gates);
    flat(&mut h, "BTC-USDT", Some(20_000.0));
    let too_big = limit("BTC-USDT", "Buy", 5.0, 20_000.0);
    let fine = limit("BTC-USDT", "Buy", 0.1, 20_000.0);
    for _ in 0..4 {
        rejected(h.guard.decide(ToolKind::PlaceOrder, &too_big, false));
    }
    let (t, _) = sent(h.guard.decide(ToolKind::PlaceOrder, &fine, false));
    h.guard
        .record(
            t,
            Outcome::Failed {
                kind: ErrorKindLabel::Network,
                message: "down",
            },
            0.0,
        )
        .expect("ticket");
    // The unknown outcome makes the guard ask for a snapshot; it shows no such order, then pushes resume.
    let snapshot = MarketUpdate {
        reference_price: Some(20_000.0),
        position: 0.0,
        open_buy_quantity: 0.0,
        open_sell_quantity: 0.0,
    };
    h.guard
        .update_market("BTC-USDT", snapshot, false)
        .expect("valid");
    flat(&mut h, "BTC-USDT", Some(20_000.0));
    for _ in 0..4 {
        rejected(h.guard.decide(ToolKind::PlaceOrder, &too_big, false));
    }
    assert_eq!(
        h.guard.breaker_state(),
        Some(BreakerState::Closed),
        "a pass cleared the streak; backend errors do not count"
    );
    rejected(h.guard.decide(ToolKind::PlaceOrder, &too_big, false));
    assert_eq!(h.guard.breaker_state(), Some(BreakerState::Open));
    h.clock.advance(17_863);
    let r = rejected(h.guard.decide(ToolKind::PlaceOrder, &fine, false));
    assert_eq!(
        (r.code(), r.source()),
        (Code::CircuitBreakerOpen, Source::RiskGate)
    );
    assert_eq!(
        r.message(),
        "RiskGate: circuit breaker open (rejections=5, cooldown_remaining_ms=42137)"
    );
    assert_eq!(h.metrics.gate_blocked(), 1);
    h.clock.advance(42_137);
    assert_eq!(h.guard.breaker_state(), Some(BreakerState::HalfOpen));
    rejected(h.guard.decide(ToolKind::PlaceOrder, &too_big, false));
    assert_eq!(
        h.guard.breaker_state(),
        Some(BreakerState::Open),
        "a rejected trial reopens"
    );
    h.clock.advance(60_000);
    sent(h.guard.decide(ToolKind::PlaceOrder, &fine, false));
    assert_eq!(
        h.guard.breaker_state(),
        Some(BreakerState::Closed),
        "a passing trial closes"
    );
    for _ in 0..5 {
        rejected(h.guard.decide(ToolKind::PlaceOrder, &too_big, false));
    }
    h.guard.reset_gate();
    assert_eq!(h.guard.breaker_state(), Some(BreakerState::Closed));
    sent(h.guard.decide(ToolKind::PlaceOrder, &fine, false));
    assert_eq!(h.guard.gate_openings(), 3);
}

#[test]
fn pnl_breaker_blocks_below_floor_until_utc_midnight() {
    let gates = vec![GateConfig::PnlCircuitBreaker {
        daily_pnl_floor: -1_000.0,
    }];
    let mut h = harness(SafetyMode::Direct, RiskLimits::default(), gates);
    let order = limit("BTC-USDT", "Buy", 1.0, 1.0);
    h.guard.update_daily_pnl(-1_200.0);
    let r = rejected(h.guard.decide(ToolKind::PlaceOrder, &order, false));
    assert_eq!(
        (r.code(), r.message().as_str()),
        (
            Code::PnlBreakerOpen,
            "RiskGate: pnl circuit breaker open (daily_pnl=-1200, floor=-1000)"
        )
    );
    h.clock.set(19_001 * MS_PER_DAY);
    sent(h.guard.decide(ToolKind::PlaceOrder, &order, false));
}

#[test]
fn replace_is_checked_against_the_known_order() {
    let mut h = harness(SafetyMode::Direct, runbook_limits(), vec![]);
    flat(&mut h, "BTC-USDT", Some(20_000.0));
    assert_eq!(
        h.guard.decide(
            ToolKind::ReplaceOrder,
            r#"{"order_id":"o1","quantity":2}"#,
            false
        ),
        Decision::NeedOrder {
            order_id: "o1".into()
        }
    );
    let r = rejected(h.guard.decide(
        ToolKind::ReplaceOrder,
        r#"{"order_id":"o1","quantity":2}"#,
        true,
    ));
    assert_eq!(
        (r.source(), r.code()),
        (Source::Backend, Code::BackendRejected)
    );
    let (t, _) = sent(h.guard.decide(
        ToolKind::PlaceOrder,
        &limit("BTC-USDT", "Buy", 1.0, 20_000.0),
        false,
    ));
    ack(&mut h, t, "o1");
    let r = rejected(h.guard.decide(
        ToolKind::ReplaceOrder,
        r#"{"order_id":"o1","quantity":3}"#,
        false,
    ));
    assert_eq!(
        r.message(),
        "RiskLimits: order notional 60000 exceeds limit 50000"
    );
    let (t, action) = sent(h.guard.decide(
        ToolKind::ReplaceOrder,
        r#"{"order_id":"o1","price":19000}"#,
        false,
    ));
    assert_eq!(
        action,
        Action::Replace {
            order_id: "o1".into(),
            price: Some(19_000.0),
            quantity: None
        }
    );
    h.guard
        .record(
            t,
            Outcome::Acked {
                order_id: "o2",
                status: AckStatus::Replaced,
            },
            0.0,
        )
        .expect("ticket");
    assert!(h.guard.known_order("o1").is_none());
    assert_eq!(h.guard.known_order("o2").map(|o| o.price), Some(19_000.0));
}

#[test]
fn malformed_arguments_move_only_the_rejection_count() {
    let mut h = harness(
        SafetyMode::Direct,
        runbook_limits(),
        vec![GateConfig::RejectionCircuitBreaker {
            threshold: 1,
            cooldown_ms: 1,
        }],
    );
    for args in [
        "",
        "{",
        "null",
        r#"{"symbol":"BTC-USDT"}"#,
        r#"{"symbol":"BTC-USDT","side":"Buy","quantity":-1,"price":1}"#,
    ] {
        let r = rejected(h.guard.decide(ToolKind::PlaceOrder, args, false));
        assert_eq!(
            (r.code(), r.source(), r.error_type()),
            (
                Code::InvalidArguments,
                Source::Arguments,
                "InvalidArguments"
            ),
            "{args}"
        );
    }
    assert_eq!(
        h.metrics
            .orders(ToolLabel::Place, SideLabel::None, StatusLabel::Rejected),
        5
    );
    assert_eq!(h.metrics.duration(ToolLabel::Place).count, 0);
    assert_eq!(h.metrics.risk_rejections(RejectionSource::RiskLimits), 0);
    assert_eq!(h.guard.breaker_state(), Some(BreakerState::Closed));
    assert_eq!(h.guard.daily_orders(), 0);
}

#[test]
fn misuse_is_an_error_not_a_denial() {
    let clock = Arc::new(ManualClock::new(T0));
    let metrics = Arc::new(TradingMetrics::new());
    let bad = GuardConfig {
        limits: RiskLimits {
            max_order_notional: Some(f64::NAN),
            ..Default::default()
        },
        ..GuardConfig::default()
    };
    let err = Guard::new(bad, clock.clone(), metrics.clone()).expect_err("NaN limit");
    assert!(err.to_string().contains("risk.max_order_notional"));
    let bad = GuardConfig {
        gates: vec![GateConfig::RejectionCircuitBreaker {
            threshold: 0,
            cooldown_ms: 1,
        }],
        ..GuardConfig::default()
    };
    assert!(Guard::new(bad, clock, metrics)
        .expect_err("zero threshold")
        .to_string()
        .contains("gate.threshold"));
}

#[test]
fn unknown_position_rejects_instead_of_assuming_flat() {
    let limits = RiskLimits {
        max_position_abs: Some(1.0),
        ..Default::default()
    };
    let mut h = harness(SafetyMode::Direct, limits, vec![]);
    let order = limit("BTC-USDT", "Buy", 0.1, 100.0);
    assert!(matches!(
        h.guard.decide(ToolKind::PlaceOrder, &order, false),
        Decision::NeedMarket { .. }
    ));
    let r = rejected(h.guard.decide(ToolKind::PlaceOrder, &order, true));
    assert_eq!(r.code(), Code::MaxPositionAbs);
    assert!(r
        .message()
        .starts_with("RiskLimits: position of 'BTC-USDT' is unknown"));
}

#[test]
fn ack_json_escapes_ids_the_agent_chose() {
    let mut h = harness(SafetyMode::DryRun, RiskLimits::default(), vec![]);
    let ack = done(
        h.guard
            .decide(ToolKind::CancelOrder, r#"{"order_id":"a\"b\\c"}"#, false),
    );
    assert_eq!(ack["order_id"], "a\"b\\c");
    assert_eq!(ack["status"], "DryRun");
    assert_eq!(ack["symbol"], serde_json::Value::Null);
}

#[test]
fn an_open_breaker_rejects_everything_with_its_own_message() {
    let gates = vec![GateConfig::RejectionCircuitBreaker {
        threshold: 2,
        cooldown_ms: 60_000,
    }];
    let mut h = harness(SafetyMode::Direct, runbook_limits(), gates);
    flat(&mut h, "BTC-USDT", Some(20_000.0));
    let too_big = limit("BTC-USDT", "Buy", 5.0, 20_000.0);
    rejected(h.guard.decide(ToolKind::PlaceOrder, &too_big, false));
    rejected(h.guard.decide(ToolKind::PlaceOrder, &too_big, false));
    assert_eq!(h.guard.breaker_state(), Some(BreakerState::Open));
    let r = rejected(h.guard.decide(ToolKind::PlaceOrder, &too_big, false));
    assert_eq!(
        r.code(),
        Code::CircuitBreakerOpen,
        "the gate answers before the limits while open"
    );
    assert_eq!(
        rejected(h.guard.decide(
            ToolKind::PlaceOrder,
            &limit("DOGE-USDT", "Buy", 1.0, 1.0),
            false
        ))
        .code(),
        Code::CircuitBreakerOpen
    );
}

#[test]
fn two_phase_governs_replace_too() {
    let mut h = harness(SafetyMode::TwoPhase, runbook_limits(), vec![]);
    flat(&mut h, "BTC-USDT", Some(20_000.0));
    h.guard
        .learn_order("o1", "BTC-USDT", axon_risk::Side::Buy, 19_000.0, 0.5);
    let pending = done(h.guard.decide(
        ToolKind::ReplaceOrder,
        r#"{"order_id":"o1","quantity":1}"#,
        false,
    ));
    assert_eq!(pending["status"], "PendingConfirm");
    let token = pending["confirm_token"].as_str().expect("token").to_owned();
    let other = format!(r#"{{"order_id":"o1","quantity":2,"confirm_token":"{token}"}}"#);
    assert_eq!(
        rejected(h.guard.decide(ToolKind::ReplaceOrder, &other, false)).code(),
        Code::ConfirmArgsMismatch
    );
    let token = done(h.guard.decide(
        ToolKind::ReplaceOrder,
        r#"{"order_id":"o1","quantity":1}"#,
        false,
    ))["confirm_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let confirm = format!(r#"{{"order_id":"o1","quantity":1,"confirm_token":"{token}"}}"#);
    let (_, action) = sent(h.guard.decide(ToolKind::ReplaceOrder, &confirm, false));
    assert_eq!(
        action,
        Action::Replace {
            order_id: "o1".into(),
            price: None,
            quantity: Some(1.0)
        }
    );
}

#[test]
fn market_slots_take_updates_by_number_and_validate_them_the_same() {
    let mut h = harness(SafetyMode::Direct, runbook_limits(), vec![]);
    let btc = h
        .guard
        .market_slot("BTC-USDT")
        .expect("an allowed symbol has a slot");
    assert_eq!(
        h.guard.market_slot("BTC-USDT"),
        Some(btc),
        "slots never change"
    );
    assert_eq!(
        h.guard.market_slot("DOGE-USDT"),
        None,
        "a symbol outside the allowed list is not tracked"
    );
    let update = MarketUpdate {
        reference_price: Some(20_000.0),
        position: 0.0,
        open_buy_quantity: 0.0,
        open_sell_quantity: 0.0,
    };
    h.guard.update_market_at(btc, update, true).expect("valid");
    let (ticket, _) = sent(h.guard.decide(
        ToolKind::PlaceOrder,
        r#"{"symbol":"BTC-USDT","side":"Buy","quantity":1,"order_type":"Market"}"#,
        false,
    ));
    ack(&mut h, ticket, "m-1");
    let bad = MarketUpdate {
        position: f64::NAN,
        ..update
    };
    let error = h
        .guard
        .update_market_at(btc, bad, true)
        .expect_err("NaN position");
    assert_eq!(
        error.to_string(),
        h.guard
            .update_market("BTC-USDT", bad, true)
            .expect_err("same rule")
            .to_string()
    );
    assert!(
        error
            .to_string()
            .contains("position of BTC-USDT must be finite"),
        "{error}"
    );
    assert!(
        h.guard.update_market_at(99, update, true).is_err(),
        "an unknown slot is misuse"
    );
}

#[test]
fn an_unknown_outcome_keeps_its_exposure_until_a_fetched_snapshot_accounts_for_it() {
    let limits = RiskLimits {
        max_position_abs: Some(1.0),
        ..Default::default()
    };
    let mut h = harness(SafetyMode::Direct, limits, vec![]);
    flat(&mut h, "BTC-USDT", Some(100.0));
    let (ticket, _) = sent(h.guard.decide(
        ToolKind::PlaceOrder,
        &limit("BTC-USDT", "Buy", 1.0, 100.0),
        false,
    ));
    h.guard
        .record(
            ticket,
            Outcome::Failed {
                kind: ErrorKindLabel::Other,
                message: "unusable ack",
            },
            0.0,
        )
        .expect("ticket");
    assert_eq!(h.guard.inflight(), 0, "settled");
    assert_eq!(
        h.guard.daily_orders(),
        1,
        "the slot is kept: the order may exist"
    );
    // A push alone does not prove the order absent: the guard asks for a snapshot.
    flat(&mut h, "BTC-USDT", Some(100.0));
    match h.guard.decide(
        ToolKind::PlaceOrder,
        &limit("BTC-USDT", "Buy", 1.0, 100.0),
        false,
    ) {
        Decision::NeedMarket { symbol } => assert_eq!(symbol, "BTC-USDT"),
        other => panic!("expected NeedMarket, got {other:?}"),
    }
    // Without a snapshot (the fetch failed) the order still counts.
    let r = rejected(h.guard.decide(
        ToolKind::PlaceOrder,
        &limit("BTC-USDT", "Buy", 1.0, 100.0),
        true,
    ));
    assert_eq!(
        r.message(),
        "RiskLimits: projected position 2 exceeds max abs 1"
    );
    // A snapshot that shows the order resting: counted once, as an open order.
    let resting = MarketUpdate {
        reference_price: Some(100.0),
        position: 0.0,
        open_buy_quantity: 1.0,
        open_sell_quantity: 0.0,
    };
    h.guard
        .update_market("BTC-USDT", resting, false)
        .expect("valid");
    let r = rejected(h.guard.decide(
        ToolKind::PlaceOrder,
        &limit("BTC-USDT", "Buy", 0.5, 100.0),
        false,
    ));
    assert_eq!(
        r.message(),
        "RiskLimits: projected position 1.5 exceeds max abs 1"
    );
    // A snapshot that shows no such order: the exposure is gone.
    let (ticket, _) = sent(h.guard.decide(
        ToolKind::PlaceOrder,
        &limit("BTC-USDT", "Sell", 1.0, 100.0),
        false,
    ));
    h.guard
        .record(
            ticket,
            Outcome::Failed {
                kind: ErrorKindLabel::Timeout,
                message: "late",
            },
            0.0,
        )
        .expect("ticket");
    let r = rejected(h.guard.decide(
        ToolKind::PlaceOrder,
        &limit("BTC-USDT", "Sell", 1.5, 100.0),
        true,
    ));
    assert_eq!(
        r.message(),
        "RiskLimits: projected position -2.5 exceeds max abs 1"
    );
    let absent = MarketUpdate {
        reference_price: Some(100.0),
        position: 0.0,
        open_buy_quantity: 0.0,
        open_sell_quantity: 0.0,
    };
    h.guard
        .update_market("BTC-USDT", absent, false)
        .expect("valid");
    sent(h.guard.decide(
        ToolKind::PlaceOrder,
        &limit("BTC-USDT", "Sell", 1.0, 100.0),
        false,
    ));
    // A definite rejection proves the order absent at once.
    let (ticket, _) = sent(h.guard.decide(
        ToolKind::PlaceOrder,
        &limit("BTC-USDT", "Buy", 1.0, 100.0),
        false,
    ));
    h.guard
        .record(
            ticket,
            Outcome::Failed {
                kind: ErrorKindLabel::Rejected,
                message: "no",
            },
            0.0,
        )
        .expect("ticket");
    sent(h.guard.decide(
        ToolKind::PlaceOrder,
        &limit("BTC-USDT", "Buy", 1.0, 100.0),
        false,
    ));
}

#[test]
fn two_phase_proposals_neither_clear_the_breaker_streak_nor_take_its_trial() {
    let gates = vec![GateConfig::RejectionCircuitBreaker {
        threshold: 3,
        cooldown_ms: 60_000,
    }];
    let mut h = harness(SafetyMode::TwoPhase, runbook_limits(), gates);
    flat(&mut h, "BTC-USDT", Some(20_000.0));
    let too_big = limit("BTC-USDT", "Buy", 5.0, 20_000.0);
    let fine = limit("BTC-USDT", "Buy", 0.1, 20_000.0);
    // An agent alternating bad orders with proposals it never confirms trips the breaker.
    for _ in 0..2 {
        rejected(h.guard.decide(ToolKind::PlaceOrder, &too_big, false));
        assert_eq!(
            done(h.guard.decide(ToolKind::PlaceOrder, &fine, false))["status"],
            "PendingConfirm"
        );
    }
    rejected(h.guard.decide(ToolKind::PlaceOrder, &too_big, false));
    assert_eq!(h.guard.breaker_state(), Some(BreakerState::Open));
    // Open: proposals are blocked like everything else.
    assert_eq!(
        rejected(h.guard.decide(ToolKind::PlaceOrder, &fine, false)).code(),
        Code::CircuitBreakerOpen
    );

    // HalfOpen: proposals neither take the one trial nor close the breaker.
    h.clock.advance(60_000);
    let first = done(h.guard.decide(ToolKind::PlaceOrder, &fine, false));
    let token = first["confirm_token"].as_str().expect("token").to_owned();
    done(h.guard.decide(ToolKind::PlaceOrder, &fine, false));
    assert_eq!(h.guard.breaker_state(), Some(BreakerState::HalfOpen));
    // The confirmed order reaches the venue: it is the trial, and it closes the breaker.
    let confirm = format!(
        r#"{{"symbol":"BTC-USDT","side":"Buy","quantity":0.1,"price":20000,"confirm_token":"{token}"}}"#
    );
    sent(h.guard.decide(ToolKind::PlaceOrder, &confirm, false));
    assert_eq!(h.guard.breaker_state(), Some(BreakerState::Closed));

    // A proposal the limits refuse in HalfOpen reopens the breaker, as any refused call does.
    for _ in 0..3 {
        rejected(h.guard.decide(ToolKind::PlaceOrder, &too_big, false));
    }
    h.clock.advance(60_000);
    assert_eq!(h.guard.breaker_state(), Some(BreakerState::HalfOpen));
    rejected(h.guard.decide(ToolKind::PlaceOrder, &too_big, false));
    assert_eq!(h.guard.breaker_state(), Some(BreakerState::Open));

    // Replace proposals follow the same rule.
    h.guard.reset_gate();
    h.guard
        .learn_order("o1", "BTC-USDT", axon_risk::Side::Buy, 20_000.0, 0.1);
    for _ in 0..2 {
        rejected(h.guard.decide(ToolKind::PlaceOrder, &too_big, false));
        assert_eq!(
            done(h.guard.decide(
                ToolKind::ReplaceOrder,
                r#"{"order_id":"o1","quantity":0.2}"#,
                false
            ))["status"],
            "PendingConfirm"
        );
    }
    rejected(h.guard.decide(ToolKind::PlaceOrder, &too_big, false));
    assert_eq!(h.guard.breaker_state(), Some(BreakerState::Open));
}

#[test]
fn dry_run_orders_count_as_passes_as_direct_orders_would() {
    let gates = vec![GateConfig::RejectionCircuitBreaker {
        threshold: 3,
        cooldown_ms: 60_000,
    }];
    let mut h = harness(SafetyMode::DryRun, runbook_limits(), gates);
    flat(&mut h, "BTC-USDT", Some(20_000.0));
    let too_big = limit("BTC-USDT", "Buy", 5.0, 20_000.0);
    let fine = limit("BTC-USDT", "Buy", 0.1, 20_000.0);
    // A DryRun order is the call's final outcome (nothing will confirm it): it clears the streak.
    for _ in 0..3 {
        rejected(h.guard.decide(ToolKind::PlaceOrder, &too_big, false));
        assert_eq!(
            done(h.guard.decide(ToolKind::PlaceOrder, &fine, false))["status"],
            "DryRun"
        );
    }
    assert_eq!(h.guard.breaker_state(), Some(BreakerState::Closed));
    for _ in 0..3 {
        rejected(h.guard.decide(ToolKind::PlaceOrder, &too_big, false));
    }
    h.clock.advance(60_000);
    // ... and is the HalfOpen trial: exactly one, which closes the breaker.
    done(h.guard.decide(ToolKind::PlaceOrder, &fine, false));
    assert_eq!(h.guard.breaker_state(), Some(BreakerState::Closed));
}
