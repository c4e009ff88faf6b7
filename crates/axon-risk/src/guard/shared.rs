//! Shared risk state (issue 15): the account-wide part of the chain decided by a store that every
//! replica of one account shares (Redis), with the store's verdict fed back into the ONE chain.
//!
//! In shared mode (`GuardConfig::shared_state`, any mode but DryRun) the account-wide checks are
//! NOT decided from this process's state: the TwoPhase token redeem/issue, the rejection breaker
//! (precheck, HalfOpen trial, pass), the PnL breaker, the position limit's exposure, daily orders
//! and daily cancels. Everything else (arguments, mode, symbol, notional, the market-access
//! controls) is decided here as always. A call that passes those static checks is answered
//! [`Decision::NeedState`] carrying a [`StateRequest`]; the caller asks the store (one atomic
//! script call) and calls [`Guard::decide_with_verdict`] with the answer, which re-runs the same
//! `check_order` with the [`StateVerdict`] standing in for the shared checks:
//! - a refusal becomes the chain's own rejection (same code, text, metrics as a local refusal);
//!   the store already moved the shared breaker, so the local one never moves in shared mode;
//! - a grant becomes `Send` (the caller keeps the store's reservation with the ticket and settles
//!   it by the outcome) or, for a TwoPhase proposal, the PendingConfirm ack with the store's token;
//! - the store unreachable becomes `STATE_UNAVAILABLE` (source RiskGate): nothing is sent.
//!
//! Invariants:
//! - A static check that refuses in the re-run (state moved while the store answered) refuses
//!   the call; the caller then gives the reservation back (settle `rejected`).
//! - `NeedState` has no side effect (no slot, no token, no metric): like `NeedMarket`.
//! - The reservation id is derived from the call (`place:<client order id>`, `cancel:<order id>`,
//!   `replace:<order id>:<fields hash>`), so a retried call finds its live reservation instead of
//!   reserving twice; a place without a client order id gets one here, and the re-run sends the
//!   order under that same id (it comes back with the verdict).
//! - The fields hash binding a TwoPhase token is SHA-256 of the bound order's canonical form, the
//!   same in every replica of one build.
//! - Differences from the local chain, by construction: a static refusal never reaches the store,
//!   so it does not consume a presented confirm token, and an open shared breaker is reported only
//!   after the static checks passed (the caller records static RiskLimits refusals in the shared
//!   streak, see ts/guarded-tools.ts).

use std::fmt::Write as _;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::args::Side;
use crate::limits;
use crate::rejection::{fmt_num, Code, Rejection, Source};
use crate::tokens::PendingOrder;

/// What a shared-state request asks of the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateOp {
    /// Reserve an order to send (a new order, a replace's growth, a TwoPhase confirmation).
    Place,
    /// The TwoPhase first phase: the same checks, then a token instead of a reservation.
    Propose,
    /// Reserve a daily cancel slot.
    Cancel,
}

impl StateOp {
    pub fn as_str(self) -> &'static str {
        match self {
            StateOp::Place => "place",
            StateOp::Propose => "propose",
            StateOp::Cancel => "cancel",
        }
    }
}

/// The request of a [`super::Decision::NeedState`].
#[derive(Debug, Clone, PartialEq)]
pub struct StateRequest {
    pub op: StateOp,
    /// The order's symbol and side (none for a cancel).
    pub symbol: Option<String>,
    pub side: Option<Side>,
    /// Exposure the order adds if it fills: the quantity of a new order, a replace's growth (>= 0).
    pub quantity: f64,
    /// Whether the order takes a daily order slot (a new order does; a replace does not).
    pub daily_slot: bool,
    /// A TwoPhase confirmation: the token presented.
    pub token: Option<String>,
    /// Hash of the bound order fields (proposals and confirmations).
    pub fields_hash: Option<String>,
    pub reservation_id: String,
}

impl StateRequest {
    /// The request as JSON (camelCase, the store contract's names); strings are ASCII-checked ids
    /// and symbols, written through serde_json all the same.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(192);
        out.push_str("{\"op\":\"");
        out.push_str(self.op.as_str());
        out.push('"');
        if let Some(symbol) = &self.symbol {
            let _ = write!(out, ",\"symbol\":{}", crate::rejection::json_string(symbol));
        }
        if let Some(side) = self.side {
            out.push_str(if side == Side::Buy {
                ",\"side\":\"buy\""
            } else {
                ",\"side\":\"sell\""
            });
        }
        out.push_str(",\"quantity\":");
        axon_json::push_json_number(&mut out, self.quantity);
        out.push_str(",\"dailySlot\":");
        out.push_str(if self.daily_slot { "true" } else { "false" });
        if let Some(token) = &self.token {
            let _ = write!(out, ",\"token\":{}", crate::rejection::json_string(token));
        }
        if let Some(hash) = &self.fields_hash {
            let _ = write!(out, ",\"fieldsHash\":\"{hash}\"");
        }
        let _ = write!(
            out,
            ",\"reservationId\":{}}}",
            crate::rejection::json_string(&self.reservation_id)
        );
        out
    }
}

/// The store's answer, as the caller hands it to [`super::Guard::decide_with_verdict`] (JSON,
/// `kind` tagged): `granted` (a reservation, or a token for a proposal), `refused` (the code and
/// numbers; the text is the chain's), `unavailable` (why the store could not answer).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum StateVerdict {
    Granted {
        #[serde(rename = "reservationId")]
        reservation_id: String,
        #[serde(default)]
        token: Option<String>,
    },
    Refused {
        code: String,
        #[serde(default)]
        numbers: std::collections::HashMap<String, f64>,
    },
    Unavailable {
        why: String,
    },
}

impl StateVerdict {
    pub fn parse(json: &str) -> Result<Self, String> {
        serde_json::from_str(json).map_err(|e| format!("state verdict: {e}"))
    }
}

/// The store could not answer: nothing is sent (fail closed).
pub fn state_unavailable(why: &str) -> Rejection {
    Rejection::new(
        Source::RiskGate,
        Code::StateUnavailable,
        format!("risk state store unavailable ({why}): order not sent"),
    )
}

/// The chain's rejection for a store refusal: the same code and text the local check words. A
/// refusal whose numbers are missing is an answer the chain cannot trust: STATE_UNAVAILABLE.
pub fn refusal_rejection(
    code: &str,
    numbers: &std::collections::HashMap<String, f64>,
) -> Rejection {
    let n = |name: &str| numbers.get(name).copied().filter(|v| v.is_finite());
    let garbage = || state_unavailable("garbage");
    match code {
        "MAX_DAILY_ORDERS" => match (n("wouldBe"), n("limit")) {
            (Some(would_be), Some(limit)) => {
                limits::daily_orders_rejection(would_be as u64, limit as u64)
            }
            _ => garbage(),
        },
        "MAX_DAILY_CANCELS" => match (n("wouldBe"), n("limit")) {
            (Some(would_be), Some(limit)) => {
                limits::daily_cancels_rejection(would_be as u64, limit as u64)
            }
            _ => garbage(),
        },
        "MAX_POSITION_ABS" => match (n("projected"), n("limit")) {
            (Some(projected), Some(limit)) => Rejection::new(
                Source::RiskLimits,
                Code::MaxPositionAbs,
                format!(
                    "projected position {} exceeds max abs {}",
                    fmt_num(projected),
                    fmt_num(limit)
                ),
            ),
            _ => garbage(),
        },
        "CIRCUIT_BREAKER_OPEN" => match (n("rejections"), n("cooldownRemainingMs")) {
            (Some(rejections), Some(remaining)) => Rejection::new(
                Source::RiskGate,
                Code::CircuitBreakerOpen,
                format!(
                    "circuit breaker open (rejections={}, cooldown_remaining_ms={})",
                    rejections as u64,
                    remaining.max(0.0) as i64
                ),
            ),
            _ => garbage(),
        },
        "PNL_BREAKER_OPEN" => match (n("dailyPnl"), n("floor")) {
            (Some(pnl), Some(floor)) => Rejection::new(
                Source::RiskGate,
                Code::PnlBreakerOpen,
                format!(
                    "pnl circuit breaker open (daily_pnl={}, floor={})",
                    fmt_num(pnl),
                    fmt_num(floor)
                ),
            ),
            _ => garbage(),
        },
        "CONFIRM_TOKEN_INVALID" => Rejection::new(
            Source::SafetyMode,
            Code::ConfirmTokenInvalid,
            "confirm_token is unknown or already used",
        ),
        "CONFIRM_TOKEN_EXPIRED" => match (n("expiredMsAgo"), n("ttlMs")) {
            (Some(ago), Some(ttl)) => Rejection::new(
                Source::SafetyMode,
                Code::ConfirmTokenExpired,
                format!(
                    "confirm_token expired {} ms ago (ttl {} ms)",
                    ago as i64, ttl as i64
                ),
            ),
            _ => garbage(),
        },
        "CONFIRM_ARGS_MISMATCH" => Rejection::new(
            Source::SafetyMode,
            Code::ConfirmArgsMismatch,
            "confirm_token was issued for different order fields; the token is now void",
        ),
        "PENDING_CONFIRM_LIMIT" => match n("pending") {
            Some(pending) => Rejection::new(
                Source::SafetyMode,
                Code::PendingConfirmLimit,
                format!(
                    "{} orders already await confirmation; confirm or let them expire",
                    pending as u64
                ),
            ),
            None => garbage(),
        },
        _ => garbage(),
    }
}

/// SHA-256 (hex) of the bound order's canonical form: `Debug` of [`PendingOrder`] writes every
/// field, numbers in Rust's shortest round-trip form, so equal orders hash equal in every replica.
pub fn fields_hash(order: &PendingOrder) -> String {
    let digest = Sha256::digest(format!("{order:?}").as_bytes());
    let mut out = String::with_capacity(64);
    for byte in digest {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{OrderType, TimeInForce};

    fn order(quantity: f64) -> PendingOrder {
        PendingOrder::Place {
            symbol: "BTC-USD".into(),
            side: Side::Buy,
            quantity,
            order_type: OrderType::Limit,
            price: Some(100.0),
            stop_loss: None,
            take_profit: None,
            time_in_force: TimeInForce::GTC,
            client_order_id: None,
        }
    }

    #[test]
    fn fields_hash_is_stable_and_binds_every_field() {
        assert_eq!(fields_hash(&order(1.0)), fields_hash(&order(1.0)));
        assert_ne!(
            fields_hash(&order(1.0)),
            fields_hash(&order(1.0000000000000002))
        );
        assert_eq!(fields_hash(&order(1.0)).len(), 64);
    }

    #[test]
    fn refusals_word_like_the_local_chain() {
        let numbers = |pairs: &[(&str, f64)]| {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), *v))
                .collect::<std::collections::HashMap<_, _>>()
        };
        let r = refusal_rejection(
            "MAX_DAILY_ORDERS",
            &numbers(&[("wouldBe", 101.0), ("limit", 100.0)]),
        );
        assert_eq!(r, limits::daily_orders_rejection(101, 100));
        let r = refusal_rejection(
            "CIRCUIT_BREAKER_OPEN",
            &numbers(&[("rejections", 3.0), ("cooldownRemainingMs", 910.0)]),
        );
        assert_eq!(
            r.message,
            "RiskGate: circuit breaker open (rejections=3, cooldown_remaining_ms=910)"
        );
        // Numbers missing: not a verdict the chain trusts.
        let r = refusal_rejection("MAX_POSITION_ABS", &numbers(&[("limit", 5.0)]));
        assert_eq!(r.code, Code::StateUnavailable);
        assert_eq!(
            r.message,
            "RiskGate: risk state store unavailable (garbage): order not sent"
        );
        assert_eq!(
            refusal_rejection("NOPE", &numbers(&[])).code,
            Code::StateUnavailable
        );
    }

    #[test]
    fn request_json_names_the_contract_fields() {
        let request = StateRequest {
            op: StateOp::Place,
            symbol: Some("BTC-USD".into()),
            side: Some(Side::Sell),
            quantity: 0.5,
            daily_slot: true,
            token: None,
            fields_hash: None,
            reservation_id: "place:a\"b".into(),
        };
        let v: serde_json::Value = serde_json::from_str(&request.to_json()).expect("json");
        assert_eq!(v["op"], "place");
        assert_eq!(v["side"], "sell");
        assert_eq!(v["quantity"], 0.5);
        assert_eq!(v["dailySlot"], true);
        assert_eq!(v["reservationId"], "place:a\"b");
    }

    #[test]
    fn verdicts_parse_strictly() {
        assert_eq!(
            StateVerdict::parse(r#"{"kind":"granted","reservationId":"place:x"}"#),
            Ok(StateVerdict::Granted {
                reservation_id: "place:x".into(),
                token: None
            })
        );
        assert!(StateVerdict::parse(r#"{"kind":"granted"}"#).is_err());
        assert!(StateVerdict::parse(r#"{"kind":"maybe"}"#).is_err());
    }
}
