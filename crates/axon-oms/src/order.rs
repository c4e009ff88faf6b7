//! Orders and the order state machine.
//!
//! Invariants:
//! - The only legal transitions are those of [`OrderStatus::can_transition`]:
//!   `New -> Submitted -> Acknowledged -> PartiallyFilled* -> Filled`
//!   (`Acknowledged -> Filled` directly is legal too), plus
//!   `New|Submitted|Acknowledged|PartiallyFilled -> Cancelled` and
//!   `New|Submitted -> Rejected`. `Filled`, `Cancelled` and `Rejected` are
//!   terminal. Anything else is refused with an error naming both states.
//! - A validated [`NewOrder`] has a non-empty bounded symbol, a finite
//!   quantity > 0, a finite price > 0 iff it is a `Limit` order (no price for
//!   `Market`), and non-empty bounded client order id / idempotency key.
//! - For every stored order `0 <= filled_quantity <= quantity`.

use crate::error::OmsError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Maximum length of a symbol.
pub const MAX_SYMBOL_LEN: usize = 32;
/// Maximum length of a client order id or idempotency key.
pub const MAX_ID_LEN: usize = 128;
/// Relative tolerance used when comparing filled quantities.
pub const QTY_EPSILON: f64 = 1e-9;

/// Buy or sell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Side {
    Buy,
    Sell,
}

/// Limit or market.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrderType {
    Limit,
    Market,
}

/// Lifecycle state of an order. Serialized in snake_case (`"partially_filled"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    New,
    Submitted,
    Acknowledged,
    PartiallyFilled,
    Filled,
    Cancelled,
    Rejected,
}

impl OrderStatus {
    /// All states, in lifecycle order.
    pub const ALL: [OrderStatus; 7] = [
        OrderStatus::New,
        OrderStatus::Submitted,
        OrderStatus::Acknowledged,
        OrderStatus::PartiallyFilled,
        OrderStatus::Filled,
        OrderStatus::Cancelled,
        OrderStatus::Rejected,
    ];

    /// Whether `self -> to` is a legal transition.
    pub fn can_transition(self, to: OrderStatus) -> bool {
        use OrderStatus::*;
        matches!(
            (self, to),
            (New, Submitted)
                | (Submitted, Acknowledged)
                | (Acknowledged, PartiallyFilled)
                | (Acknowledged, Filled)
                | (PartiallyFilled, PartiallyFilled)
                | (PartiallyFilled, Filled)
                | (New | Submitted | Acknowledged | PartiallyFilled, Cancelled)
                | (New | Submitted, Rejected)
        )
    }

    /// Terminal states accept no further transition.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            OrderStatus::Filled | OrderStatus::Cancelled | OrderStatus::Rejected
        )
    }

    /// Open = not terminal.
    pub fn is_open(self) -> bool {
        !self.is_terminal()
    }

    /// snake_case name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::New => "new",
            OrderStatus::Submitted => "submitted",
            OrderStatus::Acknowledged => "acknowledged",
            OrderStatus::PartiallyFilled => "partially_filled",
            OrderStatus::Filled => "filled",
            OrderStatus::Cancelled => "cancelled",
            OrderStatus::Rejected => "rejected",
        }
    }

    /// Parse a snake_case name.
    pub fn parse(s: &str) -> Option<OrderStatus> {
        OrderStatus::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

impl fmt::Display for OrderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The client-supplied fields of an order. Two submits with the same
/// idempotency key must carry equal `NewOrder`s.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewOrder {
    pub symbol: String,
    pub side: Side,
    pub quantity: f64,
    pub order_type: OrderType,
    pub price: Option<f64>,
    pub client_order_id: String,
}

pub(crate) fn positive_finite(field: &str, v: f64) -> Result<(), OmsError> {
    if !v.is_finite() {
        return Err(OmsError::field(field, "must be a finite number"));
    }
    if v <= 0.0 {
        return Err(OmsError::field(field, "must be > 0"));
    }
    Ok(())
}

pub(crate) fn validate_id(field: &str, v: &str) -> Result<(), OmsError> {
    if v.trim().is_empty() {
        return Err(OmsError::field(field, "must be a non-empty string"));
    }
    if v.len() > MAX_ID_LEN {
        return Err(OmsError::field(
            field,
            format!("must be at most {MAX_ID_LEN} bytes"),
        ));
    }
    if v.chars().any(char::is_control) {
        return Err(OmsError::field(
            field,
            "must not contain control characters",
        ));
    }
    Ok(())
}

pub(crate) fn validate_symbol(symbol: &str) -> Result<(), OmsError> {
    if symbol.is_empty() || symbol.len() > MAX_SYMBOL_LEN {
        return Err(OmsError::field(
            "symbol",
            format!("must be 1..={MAX_SYMBOL_LEN} bytes"),
        ));
    }
    if !symbol
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./:".contains(c))
    {
        return Err(OmsError::field(
            "symbol",
            "may contain only ASCII letters, digits and - _ . / :",
        ));
    }
    Ok(())
}

impl NewOrder {
    /// Validate all fields; the error names the first offending field.
    pub fn validate(&self) -> Result<(), OmsError> {
        validate_symbol(&self.symbol)?;
        positive_finite("quantity", self.quantity)?;
        match (self.order_type, self.price) {
            (OrderType::Limit, None) => {
                return Err(OmsError::field("price", "is required for Limit orders"))
            }
            (OrderType::Limit, Some(p)) => positive_finite("price", p)?,
            (OrderType::Market, Some(_)) => {
                return Err(OmsError::field("price", "must be absent for Market orders"))
            }
            (OrderType::Market, None) => {}
        }
        validate_id("client_order_id", &self.client_order_id)
    }
}

/// A stored order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub id: String,
    pub idempotency_key: String,
    pub symbol: String,
    pub side: Side,
    pub quantity: f64,
    pub order_type: OrderType,
    pub price: Option<f64>,
    pub client_order_id: String,
    pub status: OrderStatus,
    pub filled_quantity: f64,
    /// Volume-weighted average fill price (0 while unfilled).
    pub avg_fill_price: f64,
    /// Reason supplied with a rejection, if any.
    pub reject_reason: Option<String>,
    pub created_at_ms: u64,
    pub updated_at_ms: u64,
    /// The order this one replaced (set on the order a replace created).
    pub replaces: Option<String>,
    /// The order that replaced this one (set on the order a replace cancelled).
    pub replaced_by: Option<String>,
}

impl Order {
    /// The client-supplied fields, for idempotency comparison.
    pub fn request(&self) -> NewOrder {
        NewOrder {
            symbol: self.symbol.clone(),
            side: self.side,
            quantity: self.quantity,
            order_type: self.order_type,
            price: self.price,
            client_order_id: self.client_order_id.clone(),
        }
    }

    /// Quantity not yet filled.
    pub fn remaining(&self) -> f64 {
        (self.quantity - self.filled_quantity).max(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use OrderStatus::*;

    #[test]
    fn every_transition_pair() {
        let legal = [
            (New, Submitted),
            (Submitted, Acknowledged),
            (Acknowledged, PartiallyFilled),
            (Acknowledged, Filled),
            (PartiallyFilled, PartiallyFilled),
            (PartiallyFilled, Filled),
            (New, Cancelled),
            (Submitted, Cancelled),
            (Acknowledged, Cancelled),
            (PartiallyFilled, Cancelled),
            (New, Rejected),
            (Submitted, Rejected),
        ];
        let mut n_legal = 0;
        for from in OrderStatus::ALL {
            for to in OrderStatus::ALL {
                let expected = legal.contains(&(from, to));
                assert_eq!(from.can_transition(to), expected, "{from} -> {to}");
                n_legal += usize::from(expected);
            }
        }
        assert_eq!(n_legal, legal.len());
        for t in [Filled, Cancelled, Rejected] {
            assert!(t.is_terminal());
            assert!(OrderStatus::ALL.iter().all(|&to| !t.can_transition(to)));
        }
    }

    #[test]
    fn status_names_roundtrip() {
        for s in OrderStatus::ALL {
            assert_eq!(OrderStatus::parse(s.as_str()), Some(s));
            assert_eq!(
                serde_json::to_value(s).ok(),
                Some(serde_json::Value::String(s.as_str().into()))
            );
        }
        assert_eq!(OrderStatus::parse("open"), None);
    }

    fn base() -> NewOrder {
        NewOrder {
            symbol: "BTC-USD".into(),
            side: Side::Buy,
            quantity: 1.5,
            order_type: OrderType::Limit,
            price: Some(100.0),
            client_order_id: "c1".into(),
        }
    }

    fn bad_field(o: NewOrder) -> String {
        match o.validate() {
            Err(OmsError::InvalidField { field, .. }) => field,
            other => panic!("expected InvalidField, got {other:?}"),
        }
    }

    #[test]
    fn validation_names_field() {
        assert!(base().validate().is_ok());
        for q in [0.0, -1.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert_eq!(
                bad_field(NewOrder {
                    quantity: q,
                    ..base()
                }),
                "quantity"
            );
            assert_eq!(
                bad_field(NewOrder {
                    price: Some(q),
                    ..base()
                }),
                "price"
            );
        }
        assert_eq!(
            bad_field(NewOrder {
                price: None,
                ..base()
            }),
            "price"
        );
        assert_eq!(
            bad_field(NewOrder {
                order_type: OrderType::Market,
                ..base()
            }),
            "price"
        );
        assert!(NewOrder {
            order_type: OrderType::Market,
            price: None,
            ..base()
        }
        .validate()
        .is_ok());
        assert_eq!(
            bad_field(NewOrder {
                symbol: String::new(),
                ..base()
            }),
            "symbol"
        );
        assert_eq!(
            bad_field(NewOrder {
                symbol: "A B".into(),
                ..base()
            }),
            "symbol"
        );
        assert_eq!(
            bad_field(NewOrder {
                symbol: "X".repeat(33),
                ..base()
            }),
            "symbol"
        );
        assert_eq!(
            bad_field(NewOrder {
                client_order_id: " ".into(),
                ..base()
            }),
            "client_order_id"
        );
        assert_eq!(
            bad_field(NewOrder {
                client_order_id: "x".repeat(129),
                ..base()
            }),
            "client_order_id"
        );
    }
}
