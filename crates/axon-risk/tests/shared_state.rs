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
        Decision::NeedState(request) => request,
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
