//! The guard in shared-state mode through its public API: static checks local, the account-wide
//! ones answered `NeedState` and decided again with the store's verdict (see `guard::shared`).

use std::sync::Arc;

use axon_metrics::{RejectionSource, TradingMetrics};
use axon_risk::clock::MS_PER_DAY;
use axon_risk::guard::{StateOp, StateRequest};
use axon_risk::{
    Action, Code, Decision, DoneStatus, GateConfig, Guard, GuardConfig, ManualClock, MarketUpdate,
    RiskLimits, SafetyMode, Side, Source, ToolKind,
};

const T0: i64 = 19_000 * MS_PER_DAY + 3_600_000;
const ORDER: &str = r#"{"symbol":"BTC-USDT","side":"Buy","quantity":0.5,"price":20000}"#;

fn guard(mode: SafetyMode) -> (Guard, Arc<TradingMetrics>) {
    let metrics = Arc::new(TradingMetrics::new());
    let config = GuardConfig {
        mode,
        limits: RiskLimits {
            allowed_symbols: Some(vec!["BTC-USDT".into()]),
            max_order_notional: Some(50_000.0),
            max_position_abs: Some(1.0),
            max_daily_orders: Some(1),
            max_daily_cancels: None,
        },
        gates: vec![GateConfig::RejectionCircuitBreaker {
            threshold: 1,
            cooldown_ms: 60_000,
        }],
        shared_state: true,
        ..GuardConfig::default()
    };
    let mut guard =
        Guard::new(config, Arc::new(ManualClock::new(T0)), metrics.clone()).expect("valid");
    venue(&mut guard, 0.0);
    (guard, metrics)
}

/// The venue's view pushed to the guard: a price and this account's position on BTC-USDT.
fn venue(guard: &mut Guard, position: f64) {
    let update = MarketUpdate {
        reference_price: Some(20_000.0),
        position,
        open_buy_quantity: 0.0,
        open_sell_quantity: 0.0,
    };
    guard
        .update_market("BTC-USDT", update, true)
        .expect("valid market data");
}

#[test]
fn a_position_the_venue_reports_is_checked_here_before_the_store_is_asked() {
    // 0.8 held at the venue (opened outside these tools: the store's position would start at 0);
    // a buy of 0.5 would make 1.3 against max 1: refused here, the store never asked.
    let (mut g, metrics) = guard(SafetyMode::Direct);
    venue(&mut g, 0.8);
    match g.decide(ToolKind::PlaceOrder, ORDER, false) {
        Decision::Rejected(r) => {
            assert_eq!(r.code(), Code::MaxPositionAbs);
            assert_eq!(
                r.message(),
                "RiskLimits: projected position 1.3 exceeds max abs 1"
            );
        }
        other => panic!("expected MAX_POSITION_ABS before any store request, got {other:?}"),
    }
    assert_eq!(metrics.risk_rejections(RejectionSource::RiskLimits), 1);
    // A sell that reduces it is asked of the store as usual.
    let sell = r#"{"symbol":"BTC-USDT","side":"Sell","quantity":0.5,"price":20000}"#;
    assert_eq!(
        need_state(g.decide(ToolKind::PlaceOrder, sell, false)).op,
        StateOp::Place
    );
}

fn need_state(decision: Decision) -> StateRequest {
    match decision {
        Decision::NeedState(request) => *request,
        other => panic!("expected NeedState, got {other:?}"),
    }
}

#[test]
fn static_checks_stay_local_and_the_shared_ones_are_asked_of_the_store() {
    let (mut g, metrics) = guard(SafetyMode::Direct);
    // The venue's position is checked here; the account's orders in flight are the store's.
    let request = need_state(g.decide(ToolKind::PlaceOrder, ORDER, false));
    assert_eq!(request.op, StateOp::Place);
    assert_eq!(request.side, Some(Side::Buy));
    assert_eq!(request.quantity, 0.5);
    assert!(request.daily_slot);
    assert!(request.reservation_id.starts_with("place:axon-"));
    // Asking moved nothing.
    assert_eq!(metrics.risk_rejections(RejectionSource::RiskLimits), 0);
    // A static refusal is decided here (and the local breaker, unused in shared mode, stays Closed).
    let big = r#"{"symbol":"BTC-USDT","side":"Buy","quantity":5,"price":20000}"#;
    match g.decide(ToolKind::PlaceOrder, big, false) {
        Decision::Rejected(r) => assert_eq!(r.code(), Code::MaxOrderNotional),
        other => panic!("expected a rejection, got {other:?}"),
    }
    let granted = format!(
        r#"{{"kind":"granted","reservationId":"{}"}}"#,
        request.reservation_id
    );
    match g
        .decide_with_verdict(ToolKind::PlaceOrder, ORDER, &granted)
        .expect("verdict")
    {
        Decision::Send {
            action: Action::Place(order),
            ..
        } => assert_eq!(
            format!("place:{}", order.client_order_id),
            request.reservation_id,
            "the order is sent under the id its reservation was named by"
        ),
        other => panic!("expected Send, got {other:?}"),
    }
    // The local daily limit (1) is not consulted: the store holds the account's count.
    need_state(g.decide(ToolKind::PlaceOrder, ORDER, false));
    // A caller's client id names the reservation together with the order's fields: a retry
    // finds it again, another order under the same id does not.
    let with_id = |quantity: &str| {
        format!(
            r#"{{"symbol":"BTC-USDT","side":"Buy","quantity":{quantity},"price":20000,"client_order_id":"order-1"}}"#
        )
    };
    let first = need_state(g.decide(ToolKind::PlaceOrder, &with_id("0.5"), false)).reservation_id;
    let retry = need_state(g.decide(ToolKind::PlaceOrder, &with_id("0.5"), false)).reservation_id;
    let other = need_state(g.decide(ToolKind::PlaceOrder, &with_id("0.25"), false)).reservation_id;
    assert!(first.starts_with("place:") && first.contains(":order-1:"));
    // Another replica (another guard) never finds this replica's reservation.
    let (mut elsewhere, _) = guard(SafetyMode::Direct);
    let there =
        need_state(elsewhere.decide(ToolKind::PlaceOrder, &with_id("0.5"), false)).reservation_id;
    assert_ne!(first, there);
    assert_eq!(first, retry);
    assert_ne!(first, other);
}

#[test]
fn a_store_refusal_is_the_chains_own_rejection() {
    let (mut g, metrics) = guard(SafetyMode::Direct);
    need_state(g.decide(ToolKind::PlaceOrder, ORDER, false));
    let refused =
        r#"{"kind":"refused","code":"MAX_DAILY_ORDERS","numbers":{"wouldBe":2,"limit":1}}"#;
    match g
        .decide_with_verdict(ToolKind::PlaceOrder, ORDER, refused)
        .expect("verdict")
    {
        Decision::Rejected(r) => {
            assert_eq!(
                (r.source(), r.code()),
                (Source::RiskLimits, Code::MaxDailyOrders)
            );
            assert_eq!(
                r.message(),
                "RiskLimits: daily order count 2 exceeds limit 1"
            );
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert_eq!(metrics.risk_rejections(RejectionSource::RiskLimits), 1);
    let down = r#"{"kind":"unavailable","why":"timeout","timeoutMs":250}"#;
    match g
        .decide_with_verdict(ToolKind::PlaceOrder, ORDER, down)
        .expect("verdict")
    {
        Decision::Rejected(r) => {
            assert_eq!(
                (r.source(), r.code()),
                (Source::RiskGate, Code::StateUnavailable)
            );
            assert_eq!(
                r.message(),
                "RiskGate: risk state store unavailable (no answer within 250 ms): order not sent"
            );
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert_eq!(metrics.risk_rejections(RejectionSource::RiskGate), 1);
    assert!(g
        .decide_with_verdict(ToolKind::PlaceOrder, ORDER, "{}")
        .is_err());
}

#[test]
fn two_phase_proposals_take_the_stores_token_and_dry_run_stays_local() {
    let (mut g, _) = guard(SafetyMode::TwoPhase);
    let request = need_state(g.decide(ToolKind::PlaceOrder, ORDER, false));
    assert_eq!(request.op, StateOp::Propose);
    let hash = request.fields_hash.clone().expect("bound fields");
    assert_eq!(hash.len(), 64);
    let token = "6f1c1f0e-2a3b-4c5d-8e9f-0a1b2c3d4e5f";
    let granted = format!(
        r#"{{"kind":"granted","reservationId":"{}","token":"{token}"}}"#,
        request.reservation_id
    );
    match g
        .decide_with_verdict(ToolKind::PlaceOrder, ORDER, &granted)
        .expect("verdict")
    {
        Decision::Done { ack_json, status } => {
            assert_eq!(status, DoneStatus::PendingConfirm);
            assert!(ack_json.contains(token));
        }
        other => panic!("expected PendingConfirm, got {other:?}"),
    }
    // The confirmation carries the token and the same fields hash to the store.
    let confirm = format!(
        r#"{{"symbol":"BTC-USDT","side":"Buy","quantity":0.5,"price":20000,"confirm_token":"{token}"}}"#
    );
    let request = need_state(g.decide(ToolKind::PlaceOrder, &confirm, false));
    assert_eq!(request.op, StateOp::Place);
    assert_eq!(request.token.as_deref(), Some(token));
    assert_eq!(request.fields_hash.as_deref(), Some(hash.as_str()));

    let (mut dry, _) = guard(SafetyMode::DryRun);
    dry.update_market(
        "BTC-USDT",
        axon_risk::MarketUpdate {
            reference_price: Some(20_000.0),
            position: 0.0,
            open_buy_quantity: 0.0,
            open_sell_quantity: 0.0,
        },
        true,
    )
    .expect("market");
    assert!(matches!(
        dry.decide(ToolKind::PlaceOrder, ORDER, false),
        Decision::Done { .. }
    ));
    assert!(dry
        .decide_with_verdict(
            ToolKind::PlaceOrder,
            ORDER,
            r#"{"kind":"unavailable","why":"unreachable"}"#
        )
        .is_err());
}

/// A guard with only the throttle on (2 orders a second); `shared` chooses the store or the local window.
fn throttled(shared: bool) -> Guard {
    let config = GuardConfig {
        mode: SafetyMode::Direct,
        limits: RiskLimits {
            allowed_symbols: Some(vec!["BTC-USDT".into()]),
            ..RiskLimits::default()
        },
        controls: axon_risk::ControlsConfig {
            max_orders_per_second: Some(2),
            ..axon_risk::ControlsConfig::default()
        },
        shared_state: shared,
        ..GuardConfig::default()
    };
    let mut guard = Guard::new(
        config,
        Arc::new(ManualClock::new(T0)),
        Arc::new(TradingMetrics::new()),
    )
    .expect("valid");
    venue(&mut guard, 0.0);
    guard
}

#[test]
fn the_throttle_is_the_stores_in_shared_mode_and_its_refusal_is_worded_as_the_local_one() {
    // The local window refuses the third order within one second: that text is the reference.
    let mut local = throttled(false);
    for _ in 0..2 {
        assert!(matches!(
            local.decide(ToolKind::PlaceOrder, ORDER, false),
            Decision::Send { .. }
        ));
    }
    let local_refusal = match local.decide(ToolKind::PlaceOrder, ORDER, false) {
        Decision::Rejected(r) => r,
        other => panic!("expected the local RATE_LIMITED, got {other:?}"),
    };
    assert_eq!(local_refusal.code(), Code::RateLimited);

    // Shared: every request carries the limits, and the local window decides nothing (three
    // grants in the same millisecond are three sends; the store counts the account's).
    let mut g = throttled(true);
    for _ in 0..3 {
        let request = need_state(g.decide(ToolKind::PlaceOrder, ORDER, false));
        assert_eq!(
            (request.max_orders_per_second, request.max_orders_per_minute),
            (Some(2), None)
        );
        let json: serde_json::Value = serde_json::from_str(&request.to_json()).expect("json");
        assert_eq!(json["maxOrdersPerSecond"], 2);
        let granted = format!(
            r#"{{"kind":"granted","reservationId":"{}"}}"#,
            request.reservation_id
        );
        assert!(matches!(
            g.decide_with_verdict(ToolKind::PlaceOrder, ORDER, &granted)
                .expect("verdict"),
            Decision::Send { .. }
        ));
    }
    let cancel = r#"{"order_id":"venue-1"}"#;
    let request = need_state(g.decide(ToolKind::CancelOrder, cancel, false));
    assert_eq!(request.op, StateOp::Cancel);
    assert_eq!(request.max_orders_per_second, Some(2));

    // The store's RATE_LIMITED is the local refusal, word for word, for a place and a cancel.
    let refused = r#"{"kind":"refused","code":"RATE_LIMITED","numbers":{"wouldBe":3,"windowMs":1000,"limit":2}}"#;
    need_state(g.decide(ToolKind::PlaceOrder, ORDER, false));
    match g
        .decide_with_verdict(ToolKind::PlaceOrder, ORDER, refused)
        .expect("verdict")
    {
        Decision::Rejected(r) => {
            assert_eq!(r, local_refusal);
            assert_eq!(
                (r.source(), r.message()),
                (
                    Source::RiskLimits,
                    "RiskLimits: 3 orders in 1 s exceeds max_orders_per_second 2".into()
                )
            );
        }
        other => panic!("expected RATE_LIMITED, got {other:?}"),
    }
    need_state(g.decide(ToolKind::CancelOrder, cancel, false));
    match g
        .decide_with_verdict(ToolKind::CancelOrder, cancel, refused)
        .expect("verdict")
    {
        Decision::Rejected(r) => assert_eq!(r, local_refusal),
        other => panic!("expected RATE_LIMITED, got {other:?}"),
    }
    let minute = r#"{"kind":"refused","code":"RATE_LIMITED","numbers":{"wouldBe":61,"windowMs":60000,"limit":60}}"#;
    need_state(g.decide(ToolKind::PlaceOrder, ORDER, false));
    match g
        .decide_with_verdict(ToolKind::PlaceOrder, ORDER, minute)
        .expect("verdict")
    {
        Decision::Rejected(r) => assert_eq!(
            r.message(),
            "RiskLimits: 61 orders in 60 s exceeds max_orders_per_minute 60"
        ),
        other => panic!("expected RATE_LIMITED, got {other:?}"),
    }
    // A window the chain has no words for is no verdict it trusts.
    let odd = r#"{"kind":"refused","code":"RATE_LIMITED","numbers":{"wouldBe":3,"windowMs":500,"limit":2}}"#;
    need_state(g.decide(ToolKind::PlaceOrder, ORDER, false));
    match g
        .decide_with_verdict(ToolKind::PlaceOrder, ORDER, odd)
        .expect("verdict")
    {
        Decision::Rejected(r) => assert_eq!(r.code(), Code::StateUnavailable),
        other => panic!("expected STATE_UNAVAILABLE, got {other:?}"),
    }
}

/// A guard with only the duplicate window on (5 s); `shared` chooses the store or the local window.
fn deduplicating(shared: bool) -> (Guard, Arc<ManualClock>) {
    let config = GuardConfig {
        mode: SafetyMode::Direct,
        limits: RiskLimits {
            allowed_symbols: Some(vec!["BTC-USDT".into()]),
            ..RiskLimits::default()
        },
        controls: axon_risk::ControlsConfig {
            duplicate_window_ms: Some(5_000),
            ..axon_risk::ControlsConfig::default()
        },
        shared_state: shared,
        ..GuardConfig::default()
    };
    let clock = Arc::new(ManualClock::new(T0));
    let mut guard =
        Guard::new(config, clock.clone(), Arc::new(TradingMetrics::new())).expect("valid");
    venue(&mut guard, 0.0);
    (guard, clock)
}

#[test]
fn the_duplicate_window_is_the_stores_in_shared_mode_and_its_refusal_is_worded_as_the_local_one() {
    // The local window refuses the same order 1234 ms later: that text is the reference.
    let (mut local, clock) = deduplicating(false);
    assert!(matches!(
        local.decide(ToolKind::PlaceOrder, ORDER, false),
        Decision::Send { .. }
    ));
    clock.advance(1_234);
    let local_refusal = match local.decide(ToolKind::PlaceOrder, ORDER, false) {
        Decision::Rejected(r) => r,
        other => panic!("expected the local DUPLICATE_ORDER, got {other:?}"),
    };
    assert_eq!(
        local_refusal.message(),
        "RiskLimits: the same order (BTC-USDT Buy Limit 0.5 @ 20000) was sent 1234 ms ago, within duplicate_window_ms 5000"
    );

    // Shared: the local window decides nothing (the same order twice is asked of the store twice),
    // and every new order's request carries its key and the window.
    let (mut g, _) = deduplicating(true);
    let mut keys = Vec::new();
    for _ in 0..2 {
        let request = need_state(g.decide(ToolKind::PlaceOrder, ORDER, false));
        assert_eq!(request.duplicate_window_ms, Some(5_000));
        let json: serde_json::Value = serde_json::from_str(&request.to_json()).expect("json");
        assert_eq!(json["duplicateWindowMs"], 5_000);
        assert_eq!(
            json["duplicateKey"].as_str(),
            request.duplicate_key.as_deref()
        );
        keys.push(request.duplicate_key.clone().expect("a key"));
        let granted = format!(
            r#"{{"kind":"granted","reservationId":"{}"}}"#,
            request.reservation_id
        );
        assert!(matches!(
            g.decide_with_verdict(ToolKind::PlaceOrder, ORDER, &granted)
                .expect("verdict"),
            Decision::Send { .. }
        ));
    }
    // The key is the order's fields, the same in another replica; any field changes it.
    let (mut other_replica, _) = deduplicating(true);
    let key_of = |g: &mut Guard, order: &str| {
        need_state(g.decide(ToolKind::PlaceOrder, order, false))
            .duplicate_key
            .expect("a key")
    };
    assert_eq!(keys[0], keys[1]);
    assert_eq!(keys[0].len(), 64);
    assert_eq!(key_of(&mut other_replica, ORDER), keys[0]);
    for different in [
        r#"{"symbol":"BTC-USDT","side":"Sell","quantity":0.5,"price":20000}"#,
        r#"{"symbol":"BTC-USDT","side":"Buy","quantity":0.6,"price":20000}"#,
        r#"{"symbol":"BTC-USDT","side":"Buy","quantity":0.5,"price":20001}"#,
        r#"{"symbol":"BTC-USDT","side":"Buy","quantity":0.5,"order_type":"Market"}"#,
    ] {
        assert_ne!(
            key_of(&mut other_replica, different),
            keys[0],
            "{different}"
        );
    }

    // The store's DUPLICATE_ORDER is the local refusal, word for word (source, code, text).
    let refused =
        r#"{"kind":"refused","code":"DUPLICATE_ORDER","numbers":{"ageMs":1234,"windowMs":5000}}"#;
    need_state(g.decide(ToolKind::PlaceOrder, ORDER, false));
    match g
        .decide_with_verdict(ToolKind::PlaceOrder, ORDER, refused)
        .expect("verdict")
    {
        Decision::Rejected(r) => {
            assert_eq!(r, local_refusal);
            assert_eq!(
                (r.source(), r.code()),
                (Source::RiskLimits, Code::DuplicateOrder)
            );
        }
        other => panic!("expected DUPLICATE_ORDER, got {other:?}"),
    }
    // Numbers the chain cannot word are no verdict it trusts.
    let odd =
        r#"{"kind":"refused","code":"DUPLICATE_ORDER","numbers":{"ageMs":-1,"windowMs":5000}}"#;
    need_state(g.decide(ToolKind::PlaceOrder, ORDER, false));
    match g
        .decide_with_verdict(ToolKind::PlaceOrder, ORDER, odd)
        .expect("verdict")
    {
        Decision::Rejected(r) => assert_eq!(r.code(), Code::StateUnavailable),
        other => panic!("expected STATE_UNAVAILABLE, got {other:?}"),
    }
}

#[test]
fn the_open_order_count_is_asked_of_the_store_and_its_refusal_is_worded_as_the_local_one() {
    let config = |shared| GuardConfig {
        mode: SafetyMode::Direct,
        limits: RiskLimits {
            allowed_symbols: Some(vec!["BTC-USDT".into()]),
            ..RiskLimits::default()
        },
        controls: axon_risk::ControlsConfig {
            max_open_orders: Some(1),
            ..axon_risk::ControlsConfig::default()
        },
        shared_state: shared,
        ..GuardConfig::default()
    };
    let new_guard = |shared| {
        let mut g = Guard::new(
            config(shared),
            Arc::new(ManualClock::new(T0)),
            Arc::new(TradingMetrics::new()),
        )
        .expect("valid");
        venue(&mut g, 0.0);
        g
    };
    // The local count: one order in flight, the second is refused; that text is the reference.
    let mut local = new_guard(false);
    assert!(matches!(
        local.decide(ToolKind::PlaceOrder, ORDER, false),
        Decision::Send { .. }
    ));
    let local_refusal = match local.decide(ToolKind::PlaceOrder, ORDER, false) {
        Decision::Rejected(r) => r,
        other => panic!("expected the local MAX_OPEN_ORDERS, got {other:?}"),
    };
    assert_eq!(
        local_refusal.message(),
        "RiskLimits: open orders on 'BTC-USDT' would be 2, max_open_orders 1 (0 resting, 1 in flight, 0 of unknown outcome)"
    );

    // Shared: a new order's request carries the limit; the store's refusal is the local text.
    let mut g = new_guard(true);
    let request = need_state(g.decide(ToolKind::PlaceOrder, ORDER, false));
    assert_eq!(request.max_open_orders, Some(1));
    let json: serde_json::Value = serde_json::from_str(&request.to_json()).expect("json");
    assert_eq!(json["maxOpenOrders"], 1);
    let refused = r#"{"kind":"refused","code":"MAX_OPEN_ORDERS","numbers":{"wouldBe":2,"limit":1,"resting":0,"inflight":1,"uncertain":0}}"#;
    match g
        .decide_with_verdict(ToolKind::PlaceOrder, ORDER, refused)
        .expect("verdict")
    {
        Decision::Rejected(r) => {
            assert_eq!(r, local_refusal);
            assert_eq!(r.source(), Source::RiskLimits);
        }
        other => panic!("expected MAX_OPEN_ORDERS, got {other:?}"),
    }
    // Numbers missing: no verdict the chain trusts.
    let odd = r#"{"kind":"refused","code":"MAX_OPEN_ORDERS","numbers":{"wouldBe":2,"limit":1}}"#;
    need_state(g.decide(ToolKind::PlaceOrder, ORDER, false));
    match g
        .decide_with_verdict(ToolKind::PlaceOrder, ORDER, odd)
        .expect("verdict")
    {
        Decision::Rejected(r) => assert_eq!(r.code(), Code::StateUnavailable),
        other => panic!("expected STATE_UNAVAILABLE, got {other:?}"),
    }
}
