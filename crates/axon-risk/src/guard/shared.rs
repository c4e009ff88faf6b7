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
//! - The reservation id is derived from the call (`place:<guard prefix>:<client order id>:<fields
//!   hash>`, `cancel:<guard prefix>:<order id>`, `replace:<order id>:<fields hash>`), so a call
//!   retried on this replica finds its live reservation instead of reserving twice; the same id on
//!   another replica, or another order under the same id, reserves its own (counted twice rather
//!   than once too few). A replace is named by its order and fields only: two replicas sending the
//!   same replace leave the order at the same size, one growth. A place without a client order id
//!   gets one here (`place:<made-up id>`, unique to this guard), and the re-run sends the order
//!   under that same id (it comes back with the verdict).
//! - The fields hash binding a TwoPhase token is SHA-256 of the bound order's canonical form, the
//!   same in every replica of one build.
//! - The order-rate throttle (`max_orders_per_second` / `max_orders_per_minute`) is the account's:
//!   every request carries the limits and the store keeps one sliding window per account, counting
//!   each granted place, replace and cancel once (a retried reservation id is not counted again);
//!   a proposal is checked against it and takes nothing, as locally. The local window is off.
//! - The duplicate window (`duplicate_window_ms`) is the account's: a new order's request carries
//!   [`duplicate_key`] (SHA-256 of symbol, side, type, price and quantity, the same in every
//!   replica) and the window; the store refuses a key granted less than the window ago and
//!   forgets it when that order is definitely rejected, as `Controls::settle`. The refusal is
//!   worded from the order's own fields (the store sends only `ageMs` and `windowMs`).
//! - The open-order count (`max_open_orders`) is also the account's: a new order's request carries
//!   the limit and the store counts the symbol's resting orders (as the tools saw them placed and
//!   closed) plus its live new-order reservations (in flight, or of unknown outcome until the lease
//!   ends). The local count stays on as well (it sees what the venue reports and this process's
//!   unknown outcomes until a fetch): both must pass, as for the position.
//! - Differences from the local chain, by construction: a static refusal never reaches the store,
//!   so it does not consume a presented confirm token, and an open shared breaker is reported only
//!   after the static checks passed (the caller records static RiskLimits refusals in the shared
//!   streak, see ts/guarded-tools.ts).

use std::collections::HashMap;
use std::fmt::Write as _;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::args::{OrderType, Side};
use crate::rejection::{Denial, RateWindow, Rejection, StateFailure};
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
    /// The throttle's limits (`max_orders_per_second`, `max_orders_per_minute`), decided by the
    /// store over the account's window.
    pub max_orders_per_second: Option<u32>,
    pub max_orders_per_minute: Option<u32>,
    /// A new order under the duplicate window: its [`duplicate_key`] and `duplicate_window_ms`.
    pub duplicate_key: Option<String>,
    pub duplicate_window_ms: Option<i64>,
    /// A new order under `max_open_orders`: the store counts the account's open orders of the
    /// symbol (resting + in flight, of every replica).
    pub max_open_orders: Option<u32>,
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
        if let Some(max) = self.max_orders_per_second {
            let _ = write!(out, ",\"maxOrdersPerSecond\":{max}");
        }
        if let Some(max) = self.max_orders_per_minute {
            let _ = write!(out, ",\"maxOrdersPerMinute\":{max}");
        }
        if let (Some(key), Some(window)) = (&self.duplicate_key, self.duplicate_window_ms) {
            let _ = write!(
                out,
                ",\"duplicateKey\":\"{key}\",\"duplicateWindowMs\":{window}"
            );
        }
        if let Some(max) = self.max_open_orders {
            let _ = write!(out, ",\"maxOpenOrders\":{max}");
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
        numbers: HashMap<String, f64>,
    },
    Unavailable {
        why: String,
        /// The store's timeout, for a `timeout`.
        #[serde(default, rename = "timeoutMs")]
        timeout_ms: Option<u64>,
    },
}

impl StateVerdict {
    pub fn parse(json: &str) -> Result<Self, String> {
        serde_json::from_str(json).map_err(|e| format!("state verdict: {e}"))
    }
}

/// Why the store did not answer, as the caller names it (`StateUnavailable.why` of ts/state):
/// `timeout` (with the store's `timeout_ms`), `unreachable`, `garbage` (an answer that is no
/// verdict); anything else is an answer the chain cannot read either.
pub fn state_failure(why: &str, timeout_ms: Option<u64>) -> StateFailure {
    match (why, timeout_ms) {
        ("timeout", Some(timeout_ms)) => StateFailure::Timeout { timeout_ms },
        ("unreachable" | "io", _) => StateFailure::Unreachable,
        _ => StateFailure::InvalidReply,
    }
}

/// The store could not answer: nothing is sent (fail closed).
pub fn state_unavailable(why: StateFailure) -> Rejection {
    Denial::StateUnavailable { why }.into()
}

/// The order a place or proposal asked the store about: a `DUPLICATE_ORDER` refusal is worded
/// with its fields, as the local refusal.
#[derive(Debug, Clone, Copy)]
pub struct RefusedOrder<'a> {
    pub symbol: &'a str,
    pub side: Side,
    pub order_type: OrderType,
    pub quantity: f64,
    /// The limit price (`None` for a Market order).
    pub price: Option<f64>,
}

/// What makes two new orders "the same order" for the duplicate window (symbol, side, type, limit
/// price and quantity, numbers by their exact bits), as SHA-256 hex: equal in every replica.
pub fn duplicate_key(order: &RefusedOrder<'_>) -> String {
    let mut hasher = Sha256::new();
    hasher.update((order.symbol.len() as u64).to_le_bytes());
    hasher.update(order.symbol.as_bytes());
    hasher.update([order.side as u8, order.order_type as u8]);
    hasher.update(order.price.map_or(0, f64::to_bits).to_le_bytes());
    hasher.update(order.quantity.to_bits().to_le_bytes());
    let mut out = String::with_capacity(64);
    for byte in hasher.finalize() {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// The chain's denial for a store refusal: the variant the local check builds, from the code and
/// numbers (so the text, source and metrics are the chain's); `order` is the place or proposal
/// refused (`None` for a cancel). A refusal whose numbers are missing or out of range, or a
/// duplicate without an order, is an answer the chain cannot trust: STATE_UNAVAILABLE (invalid
/// reply).
pub fn refusal_rejection(
    code: &str,
    numbers: &HashMap<String, f64>,
    order: Option<&RefusedOrder<'_>>,
) -> Rejection {
    let n = |name: &str| numbers.get(name).copied().filter(|v| v.is_finite());
    let count = |name: &str| n(name).filter(|v| *v >= 0.0 && v.fract() == 0.0);
    let denial = match code {
        "MAX_DAILY_ORDERS" => count("wouldBe")
            .zip(count("limit"))
            .map(|(would_be, limit)| Denial::DailyOrders {
                would_be: would_be as u64,
                limit: limit as u64,
            }),
        "MAX_DAILY_CANCELS" => count("wouldBe")
            .zip(count("limit"))
            .map(|(would_be, limit)| Denial::DailyCancels {
                would_be: would_be as u64,
                limit: limit as u64,
            }),
        "MAX_POSITION_ABS" => n("projected")
            .zip(n("limit"))
            .map(|(projected, limit)| Denial::PositionAbs { projected, limit }),
        "CIRCUIT_BREAKER_OPEN" => {
            count("rejections")
                .zip(count("cooldownRemainingMs"))
                .map(|(rejections, remaining)| Denial::BreakerOpen {
                    rejections: rejections.min(f64::from(u32::MAX)) as u32,
                    cooldown_remaining_ms: remaining as i64,
                })
        }
        "PNL_BREAKER_OPEN" => n("dailyPnl")
            .zip(n("floor"))
            .map(|(daily_pnl, floor)| Denial::PnlBreakerOpen { daily_pnl, floor }),
        "RATE_LIMITED" => count("wouldBe")
            .zip(count("limit"))
            .zip(count("windowMs"))
            .and_then(|((would_be, limit), window_ms)| {
                let window = match window_ms as i64 {
                    1_000 => RateWindow::Second,
                    60_000 => RateWindow::Minute,
                    _ => return None,
                };
                let limit = u32::try_from(limit as u64).ok()?;
                Some(Denial::RateLimited {
                    would_be: would_be as u64,
                    window,
                    limit,
                })
            }),
        "DUPLICATE_ORDER" => {
            count("ageMs")
                .zip(count("windowMs"))
                .zip(order)
                .map(|((age_ms, window_ms), o)| Denial::DuplicateOrder {
                    symbol: o.symbol.to_owned(),
                    side: o.side,
                    order_type: o.order_type,
                    quantity: o.quantity,
                    price: o.price,
                    age_ms: age_ms as i64,
                    window_ms: window_ms as i64,
                })
        }
        "MAX_OPEN_ORDERS" => count("wouldBe")
            .zip(count("limit"))
            .zip(count("resting").zip(count("inflight")))
            .zip(order)
            .and_then(|(((would_be, limit), (resting, inflight)), o)| {
                Some(Denial::OpenOrders {
                    symbol: o.symbol.to_owned(),
                    would_be: would_be as u64,
                    limit: u32::try_from(limit as u64).ok()?,
                    resting: resting as u64,
                    inflight: u32::try_from(inflight as u64).ok()?,
                    uncertain: u32::try_from(count("uncertain").unwrap_or(0.0) as u64).ok()?,
                })
            }),
        "CONFIRM_TOKEN_INVALID" => Some(Denial::TokenInvalid),
        "CONFIRM_TOKEN_EXPIRED" => {
            count("expiredMsAgo")
                .zip(count("ttlMs"))
                .map(|(ago, ttl)| Denial::TokenExpired {
                    expired_ms_ago: ago as i64,
                    ttl_ms: ttl as i64,
                })
        }
        "CONFIRM_ARGS_MISMATCH" => Some(Denial::TokenArgsMismatch),
        "PENDING_CONFIRM_LIMIT" => count("pending").map(|pending| Denial::PendingConfirmLimit {
            pending: pending as usize,
        }),
        _ => None,
    };
    denial.map_or_else(
        || state_unavailable(StateFailure::InvalidReply),
        Rejection::from,
    )
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
    use crate::rejection::Code;

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
                .collect::<HashMap<_, _>>()
        };
        let r = refusal_rejection(
            "MAX_DAILY_ORDERS",
            &numbers(&[("wouldBe", 101.0), ("limit", 100.0)]),
            None,
        );
        assert_eq!(r, crate::limits::daily_orders_rejection(101, 100));
        let r = refusal_rejection(
            "CIRCUIT_BREAKER_OPEN",
            &numbers(&[("rejections", 3.0), ("cooldownRemainingMs", 910.0)]),
            None,
        );
        assert_eq!(
            r.message(),
            "RiskGate: circuit breaker open (rejections=3, cooldown_remaining_ms=910)"
        );
        // Numbers missing or not counts: not a verdict the chain trusts.
        for (code, bad) in [
            ("MAX_POSITION_ABS", numbers(&[("limit", 5.0)])),
            (
                "MAX_DAILY_ORDERS",
                numbers(&[("wouldBe", -1.0), ("limit", 5.0)]),
            ),
            ("NOPE", numbers(&[])),
            // A duplicate names the order's fields: without the order it cannot be worded.
            (
                "DUPLICATE_ORDER",
                numbers(&[("ageMs", 10.0), ("windowMs", 100.0)]),
            ),
        ] {
            let r = refusal_rejection(code, &bad, None);
            assert_eq!(r.code(), Code::StateUnavailable);
            assert_eq!(
                r.message(),
                "RiskGate: risk state store unavailable (invalid reply): order not sent"
            );
        }
        assert_eq!(
            state_unavailable(state_failure("timeout", Some(250))).message(),
            "RiskGate: risk state store unavailable (no answer within 250 ms): order not sent"
        );
        assert_eq!(
            state_failure("unreachable", None),
            StateFailure::Unreachable
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
            max_orders_per_second: Some(5),
            max_orders_per_minute: None,
            duplicate_key: Some("ab".repeat(32)),
            duplicate_window_ms: Some(5_000),
            max_open_orders: Some(3),
        };
        let v: serde_json::Value = serde_json::from_str(&request.to_json()).expect("json");
        assert_eq!(v["op"], "place");
        assert_eq!(v["side"], "sell");
        assert_eq!(v["quantity"], 0.5);
        assert_eq!(v["dailySlot"], true);
        assert_eq!(v["reservationId"], "place:a\"b");
        assert_eq!(v["maxOrdersPerSecond"], 5);
        assert!(v.get("maxOrdersPerMinute").is_none());
        assert_eq!(v["duplicateKey"], "ab".repeat(32));
        assert_eq!(v["duplicateWindowMs"], 5_000);
        assert_eq!(v["maxOpenOrders"], 3);
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
