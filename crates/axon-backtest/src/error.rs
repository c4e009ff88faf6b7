//! Engine errors.
//!
//! Invariants:
//! - An [`EngineError`] is returned only for *invalid requests* (bad input,
//!   unknown symbol/order, capacity exhausted). Business outcomes such as
//!   "FOK not fillable" or "post-only would cross" are **not** errors; they
//!   are reported through [`crate::OrderStatus::Rejected`].
//! - Whenever an engine method returns `Err(_)`, the engine state (books,
//!   arena, fill sequence counter, id generations) is exactly as it was before
//!   the call and no fill has been emitted.
//! - Variants that concern a specific input name it through a `field`
//!   (`"price"`, `"quantity"`, `"tick_size"`, `"lot_size"`, `"side"`,
//!   `"tif"`, `"flags"`, `"op"`, `"post_only"`, ...).

use core::fmt;

/// Why a request was refused. See the module docs: an error never changes
/// engine state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EngineError {
    /// The symbol id was never registered.
    UnknownSymbol(u32),
    /// The order id is unknown, stale (already filled/cancelled, slot reused)
    /// or refers to an order that is not resting.
    UnknownOrder(u64),
    /// A floating-point input was NaN or infinite.
    NonFinite {
        /// Offending input.
        field: &'static str,
    },
    /// An input that must be strictly positive was zero or negative.
    NonPositive {
        /// Offending input.
        field: &'static str,
    },
    /// A price or quantity was not an integer multiple of the tick/lot size.
    OffGrid {
        /// Offending input.
        field: &'static str,
    },
    /// A value is too large to be represented exactly (ticks/lots above 2^53).
    OutOfRange {
        /// Offending input.
        field: &'static str,
    },
    /// An enum code or flag combination is invalid (e.g. side code 7,
    /// post-only on a market order).
    InvalidField {
        /// Offending input.
        field: &'static str,
    },
    /// The order would have to rest but the arena already holds `capacity`
    /// resting orders.
    CapacityExceeded {
        /// Maximum number of resting orders.
        capacity: usize,
    },
    /// Resting the quantity would overflow the per-side `u64` lot total.
    QuantityOverflow,
    /// Batch input slices do not all have the same length.
    BatchLengthMismatch {
        /// First slice whose length differs from `op`.
        field: &'static str,
    },
}

impl EngineError {
    /// Stable numeric code used by the batch API (`OpResult::reason` when
    /// `status == STATUS_ERROR`). Never 0.
    pub const fn code(&self) -> u8 {
        match self {
            EngineError::UnknownSymbol(_) => 1,
            EngineError::UnknownOrder(_) => 2,
            EngineError::NonFinite { .. } => 3,
            EngineError::NonPositive { .. } => 4,
            EngineError::OffGrid { .. } => 5,
            EngineError::OutOfRange { .. } => 6,
            EngineError::InvalidField { .. } => 7,
            EngineError::CapacityExceeded { .. } => 8,
            EngineError::QuantityOverflow => 9,
            EngineError::BatchLengthMismatch { .. } => 10,
        }
    }

    /// Names of the error kinds by [`code`](Self::code): `NAMES[code - 1]`.
    pub const NAMES: [&'static str; 10] = [
        "UnknownSymbol",
        "UnknownOrder",
        "NonFinite",
        "NonPositive",
        "OffGrid",
        "OutOfRange",
        "InvalidField",
        "CapacityExceeded",
        "QuantityOverflow",
        "BatchLengthMismatch",
    ];

    /// The variant's name (as in [`NAMES`](Self::NAMES)).
    pub const fn name(&self) -> &'static str {
        Self::NAMES[self.code() as usize - 1]
    }

    /// The input field this error is about, if any.
    pub const fn field(&self) -> Option<&'static str> {
        match self {
            EngineError::NonFinite { field }
            | EngineError::NonPositive { field }
            | EngineError::OffGrid { field }
            | EngineError::OutOfRange { field }
            | EngineError::InvalidField { field }
            | EngineError::BatchLengthMismatch { field } => Some(field),
            EngineError::UnknownSymbol(_) => Some("symbol"),
            EngineError::UnknownOrder(_) => Some("order_id"),
            EngineError::QuantityOverflow => Some("quantity"),
            EngineError::CapacityExceeded { .. } => None,
        }
    }
}

impl fmt::Display for EngineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EngineError::UnknownSymbol(s) => write!(f, "unknown symbol id {s}"),
            EngineError::UnknownOrder(id) => {
                write!(f, "unknown, stale or non-resting order id {id:#x}")
            }
            EngineError::NonFinite { field } => {
                write!(f, "{field} must be finite (got NaN or infinity)")
            }
            EngineError::NonPositive { field } => write!(f, "{field} must be greater than zero"),
            EngineError::OffGrid { field } => {
                write!(f, "{field} is not a multiple of the symbol's increment")
            }
            EngineError::OutOfRange { field } => {
                write!(f, "{field} is too large to represent exactly")
            }
            EngineError::InvalidField { field } => {
                write!(f, "invalid value or combination for {field}")
            }
            EngineError::CapacityExceeded { capacity } => {
                write!(f, "order capacity exceeded ({capacity} resting orders)")
            }
            EngineError::QuantityOverflow => {
                write!(f, "quantity would overflow the book's lot total")
            }
            EngineError::BatchLengthMismatch { field } => {
                write!(f, "batch slice {field} has a different length than op")
            }
        }
    }
}

impl std::error::Error for EngineError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_field() {
        let e = EngineError::OffGrid { field: "price" };
        assert!(e.to_string().contains("price"));
        let e = EngineError::NonPositive { field: "tick_size" };
        assert!(e.to_string().contains("tick_size"));
        assert_eq!(e.field(), Some("tick_size"));
        let e = EngineError::NonFinite { field: "quantity" };
        assert!(e.to_string().contains("quantity"));
    }

    #[test]
    fn codes_are_distinct_and_nonzero() {
        let all = [
            EngineError::UnknownSymbol(0),
            EngineError::UnknownOrder(0),
            EngineError::NonFinite { field: "" },
            EngineError::NonPositive { field: "" },
            EngineError::OffGrid { field: "" },
            EngineError::OutOfRange { field: "" },
            EngineError::InvalidField { field: "" },
            EngineError::CapacityExceeded { capacity: 0 },
            EngineError::QuantityOverflow,
            EngineError::BatchLengthMismatch { field: "" },
        ];
        assert_eq!(all.len(), EngineError::NAMES.len());
        for (i, a) in all.iter().enumerate() {
            assert_ne!(a.code(), 0);
            // The name is the variant's own (its Debug spelling starts with it).
            assert!(
                format!("{a:?}").starts_with(a.name()),
                "{a:?} named {}",
                a.name()
            );
            for b in &all[i + 1..] {
                assert_ne!(a.code(), b.code());
            }
        }
    }
}
