//! Error type of the OMS.
//!
//! Invariant: every fallible operation returns an [`OmsError`]; when an
//! operation returns an error, no in-memory state and no journal record has
//! changed (except [`OmsError::Journal`], after which the journal is poisoned
//! and refuses further writes until the process reopens it).

use crate::order::OrderStatus;
use std::fmt;

/// Errors returned by the OMS core.
#[derive(Debug, Clone, PartialEq)]
pub enum OmsError {
    /// A request field is missing, malformed or out of range.
    InvalidField { field: String, message: String },
    /// No order with this id.
    OrderNotFound(String),
    /// The state machine forbids `from -> to`.
    IllegalTransition {
        id: String,
        from: OrderStatus,
        to: OrderStatus,
    },
    /// The idempotency key was already used with different order fields.
    IdempotencyConflict {
        key: String,
        existing_order_id: String,
    },
    /// The fill would take the filled quantity above the order quantity.
    Overfill {
        id: String,
        quantity: f64,
        filled: f64,
        fill: f64,
    },
    /// Journal I/O failure or corruption that is not a torn tail.
    Journal(String),
}

impl OmsError {
    pub(crate) fn field(field: &str, message: impl Into<String>) -> Self {
        OmsError::InvalidField {
            field: field.to_string(),
            message: message.into(),
        }
    }

    /// Stable machine-readable code (used by the HTTP API).
    pub fn code(&self) -> &'static str {
        match self {
            OmsError::InvalidField { .. } => "INVALID_FIELD",
            OmsError::OrderNotFound(_) => "ORDER_NOT_FOUND",
            OmsError::IllegalTransition { .. } => "ILLEGAL_TRANSITION",
            OmsError::IdempotencyConflict { .. } => "IDEMPOTENCY_CONFLICT",
            OmsError::Overfill { .. } => "OVERFILL",
            OmsError::Journal(_) => "JOURNAL_ERROR",
        }
    }
}

impl fmt::Display for OmsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OmsError::InvalidField { field, message } => write!(f, "invalid field `{field}`: {message}"),
            OmsError::OrderNotFound(id) => write!(f, "order `{id}` not found"),
            OmsError::IllegalTransition { id, from, to } => {
                write!(f, "order `{id}`: illegal transition {from} -> {to}")
            }
            OmsError::IdempotencyConflict { key, existing_order_id } => write!(
                f,
                "idempotency key `{key}` was already used for order `{existing_order_id}` with different fields"
            ),
            OmsError::Overfill { id, quantity, filled, fill } => write!(
                f,
                "order `{id}`: fill of {fill} would exceed quantity {quantity} (already filled {filled})"
            ),
            OmsError::Journal(m) => write!(f, "journal error: {m}"),
        }
    }
}

impl std::error::Error for OmsError {}
