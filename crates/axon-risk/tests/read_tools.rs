//! The read tools (`get_book_snapshot`, `get_pnl`, `finish_bar`) through the public `Guard` API:
//! arguments checked by the parser, then a read ticket in every mode, whatever the gates say, with
//! no quota taken and no order metric moved.

use std::sync::Arc;

use axon_metrics::{SideLabel, StatusLabel, ToolLabel, TradingMetrics};
use axon_risk::clock::MS_PER_DAY;
use axon_risk::{
    AckStatus, Action, BreakerState, Code, Decision, GateConfig, Guard, GuardConfig, ManualClock,
    Outcome, RiskLimits, SafetyMode, Source, ToolKind,
};

const T0: i64 = 19_000 * MS_PER_DAY + 3_600_000;

fn guard(mode: SafetyMode, gates: Vec<GateConfig>) -> (Guard, Arc<TradingMetrics>) {
    let metrics = Arc::new(TradingMetrics::new());
    let limits = RiskLimits {
        allowed_symbols: Some(vec!["BTC-USDT".into()]),
        max_order_notional: Some(1_000.0),
        max_daily_orders: Some(1),
        ..RiskLimits::default()
    };
    let config = GuardConfig {
        mode,
        limits,
        gates,
        ..GuardConfig::default()
    };
    let guard =
        Guard::new(config, Arc::new(ManualClock::new(T0)), metrics.clone()).expect("valid config");
    (guard, metrics)
}

fn read(guard: &mut Guard, tool: ToolKind, args: &str) -> Action {
    match guard.decide(tool, args, false) {
        Decision::Send { ticket, action } => {
            guard
                .record(
                    ticket,
                    Outcome::Acked {
                        order_id: "",
                        status: AckStatus::New,
                    },
                    0.002,
                )
                .expect("ticket");
            action
        }
        other => panic!("{} {args}: expected a read, got {other:?}", tool.name()),
    }
}

#[test]
fn reads_run_in_every_mode_with_their_arguments() {
    for mode in [SafetyMode::DryRun, SafetyMode::TwoPhase, SafetyMode::Direct] {
        let (mut g, metrics) = guard(mode, vec![]);
        assert_eq!(
            read(
                &mut g,
                ToolKind::GetBookSnapshot,
                r#"{"symbol":"BTC-USDT","levels":5}"#
            ),
            Action::BookSnapshot {
                symbol: "BTC-USDT".into(),
                levels: 5
            }
        );
        // Reading a symbol the guard may not trade is harmless: reads check no limit.
        assert_eq!(
            read(
                &mut g,
                ToolKind::GetBookSnapshot,
                r#"{"symbol":"DOGE-USDT","levels":null}"#
            ),
            Action::BookSnapshot {
                symbol: "DOGE-USDT".into(),
                levels: 10
            }
        );
        assert_eq!(
            read(&mut g, ToolKind::GetPnl, ""),
            Action::Pnl { symbol: None }
        );
        assert_eq!(
            read(&mut g, ToolKind::GetPnl, r#"{"symbol":"BTC-USDT"}"#),
            Action::Pnl {
                symbol: Some("BTC-USDT".into())
            }
        );
        assert_eq!(
            read(&mut g, ToolKind::FinishBar, r#"{"note":"flat"}"#),
            Action::FinishBar {
                note: Some("flat".into())
            }
        );
        assert_eq!(
            read(&mut g, ToolKind::FinishBar, "{}"),
            Action::FinishBar { note: None }
        );
        assert_eq!(
            metrics.duration(ToolLabel::BookSnapshot).count,
            2,
            "{mode:?}"
        );
        assert_eq!(metrics.duration(ToolLabel::Pnl).count, 2);
        assert_eq!(metrics.duration(ToolLabel::FinishBar).count, 2);
        assert_eq!(
            metrics.orders(
                ToolLabel::BookSnapshot,
                SideLabel::None,
                StatusLabel::Success
            ),
            0,
            "reads have no orders series"
        );
        assert_eq!(g.daily_orders(), 0);
        assert_eq!(g.inflight(), 0, "every read ticket was settled");
    }
}

#[test]
fn reads_pass_an_open_breaker_and_never_move_it() {
    let (mut g, _) = guard(
        SafetyMode::Direct,
        vec![GateConfig::RejectionCircuitBreaker {
            threshold: 1,
            cooldown_ms: 60_000,
        }],
    );
    let too_big = r#"{"symbol":"BTC-USDT","side":"Buy","quantity":1,"price":5000}"#;
    assert!(matches!(
        g.decide(ToolKind::PlaceOrder, too_big, false),
        Decision::Rejected(_)
    ));
    assert_eq!(g.breaker_state(), Some(BreakerState::Open));
    read(
        &mut g,
        ToolKind::GetBookSnapshot,
        r#"{"symbol":"BTC-USDT"}"#,
    );
    read(&mut g, ToolKind::GetPnl, "{}");
    read(&mut g, ToolKind::FinishBar, "");
    assert_eq!(
        g.breaker_state(),
        Some(BreakerState::Open),
        "a read is neither a pass nor a rejection"
    );
    match g.decide(
        ToolKind::PlaceOrder,
        r#"{"symbol":"BTC-USDT","side":"Buy","quantity":0.01,"price":5000}"#,
        false,
    ) {
        Decision::Rejected(r) => assert_eq!(r.code(), Code::CircuitBreakerOpen),
        other => panic!("expected the open breaker, got {other:?}"),
    }
}

#[test]
fn bad_read_arguments_are_refused_naming_the_field() {
    let (mut g, metrics) = guard(
        SafetyMode::Direct,
        vec![GateConfig::RejectionCircuitBreaker {
            threshold: 1,
            cooldown_ms: 60_000,
        }],
    );
    for (tool, args, expected) in [
        (
            ToolKind::GetBookSnapshot,
            r#"{"symbol":"BTC-USDT","levels":0}"#,
            "field `levels` must be a whole number from 1 to 50, got 0",
        ),
        (
            ToolKind::GetBookSnapshot,
            r#"{"symbol":"BTC-USDT","levels":51}"#,
            "field `levels` must be a whole number from 1 to 50, got 51",
        ),
        (
            ToolKind::GetBookSnapshot,
            r#"{"symbol":"BTC-USDT","levels":2.5}"#,
            "field `levels` must be a whole number from 1 to 50, got 2.5",
        ),
        (
            ToolKind::GetBookSnapshot,
            r#"{"symbol":"BTC-USDT","levels":"5"}"#,
            "field `levels` must be a number, got string",
        ),
        (
            ToolKind::GetBookSnapshot,
            r#"{"symbol":"BTC-USDT","side":"Buy"}"#,
            "unknown field `side`",
        ),
        (
            ToolKind::GetPnl,
            r#"{"symbol":"BTC-USDT","since":1}"#,
            "unknown field `since`",
        ),
        (
            ToolKind::FinishBar,
            r#"{"note":["a"]}"#,
            "field `note` must be a string, got array",
        ),
    ] {
        match g.decide(tool, args, false) {
            Decision::Rejected(r) => {
                assert_eq!(
                    (r.source(), r.code()),
                    (Source::Arguments, Code::InvalidArguments),
                    "{args}"
                );
                assert!(
                    r.message().starts_with("Arguments: ") && r.message().contains(expected),
                    "{args}: {}",
                    r.message()
                );
            }
            other => panic!("{args}: expected a refusal, got {other:?}"),
        }
    }
    assert_eq!(
        g.breaker_state(),
        Some(BreakerState::Closed),
        "a malformed read is no risk rejection"
    );
    assert_eq!(metrics.duration(ToolLabel::BookSnapshot).count, 0);
}
