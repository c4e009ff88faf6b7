//! Error type of the OMS.
//!
//! Invariant: every fallible operation returns an [`OmsError`]; when an
//! operation returns an error, no in-memory state and no journal record has
//! changed (except [`OmsError::Journal`], after which the journal is poisoned
//! and refuses further writes until the process reopens it).

use crate::order::OrderStatus;
use std::fmt;
use std::path::PathBuf;

/// Where a journal is corrupt (see [`crate::journal`] for what counts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Corruption {
    pub path: PathBuf,
    /// Byte offset of the first damaged record.
    pub offset: u64,
    /// Its 1-based record number.
    pub record: usize,
    pub reason: String,
    /// Valid records found after it (they would be lost by a cut).
    pub valid_records_after: usize,
    /// Damaged stretches in the whole file.
    pub damaged_stretches: usize,
}

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
    /// The key was used by a journal record that a recovery could not keep
    /// (damaged or not replayable): its order may exist, so the key stays taken.
    IdempotencyKeyLost { key: String },
    /// Journal I/O failure, or a record that does not replay.
    Journal(String),
    /// The journal is corrupt (not a torn tail): nothing was changed.
    JournalCorrupt(Box<Corruption>),
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
            OmsError::IdempotencyKeyLost { .. } => "IDEMPOTENCY_KEY_LOST",
            OmsError::Journal(_) => "JOURNAL_ERROR",
            OmsError::JournalCorrupt(_) => "JOURNAL_CORRUPT",
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
            OmsError::IdempotencyKeyLost { key } => write!(
                f,
                "idempotency key `{key}` belongs to a journal record lost to corruption (see the recovery); \
                 its order may exist at the venue: reconcile, then use a new key"
            ),
            OmsError::Journal(m) => write!(f, "journal error: {m}"),
            OmsError::JournalCorrupt(c) => write!(
                f,
                "journal {path} is corrupt at byte offset {offset} (record {record}, counting from 1): {reason}; \
                 {after} valid record(s) follow it ({stretches} damaged stretch(es) in all). \
                 Nothing was changed and the service did not start. \
                 To recover, run `axon-oms --journal {path} --recover`: it keeps every record whose checksum \
                 is valid, sets aside (and names) those that no longer replay, moves the damaged file aside \
                 as {path}.damaged-<time> (never deleted), and reserves every order id and idempotency key \
                 found anywhere in it",
                path = c.path.display(),
                offset = c.offset,
                record = c.record,
                reason = c.reason,
                after = c.valid_records_after,
                stretches = c.damaged_stretches,
            ),
        }
    }
}

impl std::error::Error for OmsError {}
