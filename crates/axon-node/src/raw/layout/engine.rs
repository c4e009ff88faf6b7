//! The matching engine's part of the boundary: the slots of its result buffer (last submit or
//! replace, last batch, order and level info, inline fills), the rows of a batch's results and
//! fills, and every code they carry.
//!
//! Invariants:
//! - Rows, strides and codes are axon-backtest's own (`batch::RESULT_COLUMNS`, `FILL_COLUMNS`,
//!   `STATUS_*`, `OP_*`, `EngineError::NAMES`, ...): listed from there, or checked against them by
//!   the tests below, so the engine, the binding and TypeScript cannot disagree.
//! - Prices and quantities the engine reports come both as the symbol's canonical floats and in
//!   engine units (ticks, lots: exact whole numbers), so a host that keeps units reads them as
//!   they are, with no float read back onto the grid.
//! - The result buffer's slots are named once here; `crate::matching` writes them through
//!   [`slot`], [`INFO_AT`] and [`FILLS_AT`], and `ts/native/engine.ts` reads the generated names.

use axon_backtest::batch::{
    FILL_COLUMNS, FILL_STRIDE, FLAG_POST_ONLY, RESULT_COLUMNS, RESULT_STRIDE,
};
use axon_backtest::EngineError;

use super::list;

/// Slots of the engine's result buffer, in order (`[name, meaning]`).
pub const RESULT_SLOT_NAMES: [(&str, &str); 10] = [
    ("OrderId", "last submit/replace: the order id"),
    (
        "Status",
        "last submit/replace: an index of `ENGINE_STATUSES`",
    ),
    (
        "Reason",
        "last submit/replace: an index of `ENGINE_REJECT_REASONS` (0: none)",
    ),
    ("FilledQuantity", "last submit/replace: quantity filled"),
    (
        "RemainingQuantity",
        "last submit/replace: quantity resting, cancelled or untouched",
    ),
    ("FillCount", "last submit/replace: its number of fills"),
    (
        "FilledLots",
        "last submit/replace: `FilledQuantity` in lots",
    ),
    (
        "RemainingLots",
        "last submit/replace: `RemainingQuantity` in lots",
    ),
    ("BatchFills", "last batch: fill rows written"),
    ("BatchStop", "last batch: an index of `BATCH_STOPS`"),
];

pub mod slot {
    pub const ORDER_ID: usize = 0;
    pub const STATUS: usize = 1;
    pub const REASON: usize = 2;
    pub const FILLED_QUANTITY: usize = 3;
    pub const REMAINING_QUANTITY: usize = 4;
    pub const FILL_COUNT: usize = 5;
    pub const FILLED_LOTS: usize = 6;
    pub const REMAINING_LOTS: usize = 7;
    pub const BATCH_FILLS: usize = 8;
    pub const BATCH_STOP: usize = 9;
}

/// Start of the order info (`engineCancel`, `engineOrder`) or level info (`engineBest`).
pub const INFO_AT: usize = RESULT_SLOT_NAMES.len();
/// Order info from [`INFO_AT`], in order.
pub const ORDER_INFO_NAMES: [&str; 7] = [
    "OrderId",
    "Symbol",
    "Side",
    "Price",
    "RemainingQuantity",
    "OriginalQuantity",
    "PostOnly",
];
/// Level info from [`INFO_AT`], in order.
pub const LEVEL_INFO_NAMES: [&str; 5] =
    ["Price", "Quantity", "Orders", "PriceTicks", "QuantityLots"];
/// Numbers per depth row (`engineDepth`): the first of [`LEVEL_INFO_NAMES`] (price, quantity,
/// orders: the public row of `depthInto`); the units are in the level info of `engineBest` only.
pub const LEVEL_STRIDE: usize = 3;
/// Start of the first fills of the last submit/replace.
pub const FILLS_AT: usize = 24;
/// Fill rows of the last submit/replace the result buffer holds.
pub const INLINE_FILL_ROWS: usize = 64;
/// Numbers in the result buffer.
pub const RESULT_BUFFER_LEN: usize = FILLS_AT + FILL_STRIDE * INLINE_FILL_ROWS;

/// Status codes of a submit/replace and of a batch row (`Error`: batch only).
pub const STATUSES: [&str; 6] = [
    "New",
    "PartiallyFilled",
    "Filled",
    "Cancelled",
    "Rejected",
    "Error",
];
/// Reason codes of a `Rejected` status (0: none).
pub const REJECT_REASONS: [Option<&str>; 3] =
    [None, Some("FokNotFillable"), Some("PostOnlyWouldCross")];
/// Batch `op` codes.
pub const BATCH_OPS: [&str; 4] = ["Limit", "Market", "Cancel", "Replace"];
/// Why a batch returned, by `BatchStop::code`.
pub const BATCH_STOPS: [&str; 3] = ["Completed", "ResultsFull", "FillsFull"];
/// Side codes of the engine (orders, fills, batch `side`).
pub const SIDES: [&str; 2] = ["Buy", "Sell"];
/// Order type codes of `engineSubmit`.
pub const ORDER_TYPES: [&str; 2] = ["Limit", "Market"];
/// Time-in-force codes of `engineSubmit` and batch `timeInForce`.
pub const TIME_IN_FORCES: [&str; 3] = ["GTC", "IOC", "FOK"];

fn object(names: impl IntoIterator<Item = (String, Option<String>)>) -> String {
    let mut out = String::from("{\n");
    for (index, (name, doc)) in names.into_iter().enumerate() {
        if let Some(doc) = doc {
            out.push_str(&format!("  /** {doc} */\n"));
        }
        out.push_str(&format!("  {name}: {index},\n"));
    }
    out.push_str("} as const");
    out
}

fn plain(names: &[&str]) -> String {
    object(names.iter().map(|n| ((*n).to_owned(), None)))
}

fn strings(names: impl IntoIterator<Item = Option<&'static str>>) -> String {
    list(names.into_iter().map(|n| match n {
        Some(n) => format!("'{n}'"),
        None => "null".to_owned(),
    }))
}

/// The engine's part of `ts/native/layout.ts`.
pub fn typescript() -> String {
    let error_names = std::iter::once(None).chain(EngineError::NAMES.iter().copied().map(Some));
    let lines: [(&str, &str, String); 21] = [
        (
            "EngineSlot",
            "Slots of the matching engine's result buffer (`engineResultBuffer`).",
            object(
                RESULT_SLOT_NAMES
                    .iter()
                    .map(|(name, doc)| ((*name).to_owned(), Some((*doc).to_owned()))),
            ),
        ),
        (
            "ENGINE_INFO_AT",
            "Start of the order info (`engineCancel`, `engineOrder`) or level info (`engineBest`).",
            INFO_AT.to_string(),
        ),
        (
            "EngineOrderInfo",
            "Order info, from `ENGINE_INFO_AT`.",
            plain(&ORDER_INFO_NAMES),
        ),
        (
            "EngineLevelInfo",
            "Level info, from `ENGINE_INFO_AT`.",
            plain(&LEVEL_INFO_NAMES),
        ),
        (
            "LEVEL_STRIDE",
            "Numbers per depth row (`engineDepth`): the first of `EngineLevelInfo` (price, quantity, orders).",
            LEVEL_STRIDE.to_string(),
        ),
        (
            "ENGINE_FILLS_AT",
            "Start of the first fills (`FILL_STRIDE` numbers each) of the last submit/replace.",
            FILLS_AT.to_string(),
        ),
        (
            "INLINE_FILL_ROWS",
            "Fill rows the result buffer holds; more are read with `engineReadFills`.",
            INLINE_FILL_ROWS.to_string(),
        ),
        (
            "ENGINE_RESULT_LEN",
            "Numbers in the result buffer.",
            RESULT_BUFFER_LEN.to_string(),
        ),
        (
            "BatchResultColumn",
            "A batch result row (`FillStart` counts from the call's first fill row).",
            plain(&RESULT_COLUMNS),
        ),
        (
            "RESULT_STRIDE",
            "Numbers per batch result row.",
            RESULT_STRIDE.to_string(),
        ),
        (
            "FillColumn",
            "A fill row (batch fills, inline fills, `engineReadFills`).",
            plain(&FILL_COLUMNS),
        ),
        (
            "FILL_STRIDE",
            "Numbers per fill row.",
            FILL_STRIDE.to_string(),
        ),
        (
            "ENGINE_STATUSES",
            "`EngineSlot.Status` and `BatchResultColumn.Status` (`Error`: batch only).",
            strings(STATUSES.iter().copied().map(Some)),
        ),
        (
            "ENGINE_REJECT_REASONS",
            "`Reason` of a `Rejected` status (index 0: none).",
            strings(REJECT_REASONS),
        ),
        (
            "ENGINE_ERRORS",
            "`Reason` of a batch row with status `Error`: the engine error's kind (index 0: none).",
            strings(error_names),
        ),
        ("BatchOp", "Batch `op` codes.", plain(&BATCH_OPS)),
        (
            "BATCH_FLAG_POST_ONLY",
            "Batch `flags` bit: post-only.",
            FLAG_POST_ONLY.to_string(),
        ),
        (
            "BATCH_STOPS",
            "`EngineSlot.BatchStop`: why the last batch returned.",
            strings(BATCH_STOPS.iter().copied().map(Some)),
        ),
        (
            "ENGINE_SIDES",
            "Engine side codes (orders, fills, batch `side`).",
            strings(SIDES.iter().copied().map(Some)),
        ),
        (
            "ENGINE_ORDER_TYPES",
            "Order type codes of `engineSubmit`.",
            strings(ORDER_TYPES.iter().copied().map(Some)),
        ),
        (
            "ENGINE_TIME_IN_FORCES",
            "Time-in-force codes of `engineSubmit` and batch `timeInForce`.",
            strings(TIME_IN_FORCES.iter().copied().map(Some)),
        ),
    ];
    let mut out = String::from("\n// Matching engine.\n\n");
    for (name, doc, value) in lines {
        out.push_str(&format!("/** {doc} */\nexport const {name} = {value};\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use axon_backtest::batch::{
        OP_CANCEL, OP_LIMIT, OP_MARKET, OP_REPLACE, STATUS_CANCELLED, STATUS_ERROR, STATUS_FILLED,
        STATUS_NEW, STATUS_PARTIAL, STATUS_REJECTED,
    };
    use axon_backtest::{BatchStop, OrderStatus, RejectReason, Side, TimeInForce};

    #[test]
    fn result_slots_follow_their_names() {
        let named = [
            ("OrderId", slot::ORDER_ID),
            ("Status", slot::STATUS),
            ("Reason", slot::REASON),
            ("FilledQuantity", slot::FILLED_QUANTITY),
            ("RemainingQuantity", slot::REMAINING_QUANTITY),
            ("FillCount", slot::FILL_COUNT),
            ("FilledLots", slot::FILLED_LOTS),
            ("RemainingLots", slot::REMAINING_LOTS),
            ("BatchFills", slot::BATCH_FILLS),
            ("BatchStop", slot::BATCH_STOP),
        ];
        assert_eq!(named.len(), RESULT_SLOT_NAMES.len());
        for (name, index) in named {
            assert_eq!(RESULT_SLOT_NAMES[index].0, name);
        }
        // Order and level info fit between the slots and the inline fills.
        assert!(INFO_AT + ORDER_INFO_NAMES.len().max(LEVEL_INFO_NAMES.len()) <= FILLS_AT);
        // A depth row is the head of the level info: price, quantity, orders.
        assert_eq!(
            LEVEL_INFO_NAMES[..LEVEL_STRIDE],
            ["Price", "Quantity", "Orders"]
        );
    }

    #[test]
    fn codes_are_the_engines() {
        let statuses = [
            (STATUS_NEW, OrderStatus::New),
            (STATUS_PARTIAL, OrderStatus::PartiallyFilled),
            (STATUS_FILLED, OrderStatus::Filled),
            (STATUS_CANCELLED, OrderStatus::Cancelled),
            (
                STATUS_REJECTED,
                OrderStatus::Rejected(RejectReason::FokNotFillable),
            ),
        ];
        for (code, status) in statuses {
            assert_eq!(status.code(), code);
            assert!(format!("{status:?}").starts_with(STATUSES[code as usize]));
        }
        assert_eq!(STATUSES[STATUS_ERROR as usize], "Error");
        assert_eq!(STATUSES.len(), STATUS_ERROR as usize + 1);
        for reason in [
            RejectReason::FokNotFillable,
            RejectReason::PostOnlyWouldCross,
        ] {
            assert_eq!(
                REJECT_REASONS[reason as usize],
                Some(format!("{reason:?}").as_str())
            );
        }
        for (code, name) in [
            (OP_LIMIT, "Limit"),
            (OP_MARKET, "Market"),
            (OP_CANCEL, "Cancel"),
            (OP_REPLACE, "Replace"),
        ] {
            assert_eq!(BATCH_OPS[code as usize], name);
        }
        for stop in [
            BatchStop::Completed,
            BatchStop::ResultsFull,
            BatchStop::FillsFull,
        ] {
            assert_eq!(BATCH_STOPS[stop.code() as usize], format!("{stop:?}"));
        }
        for (code, name) in SIDES.iter().enumerate() {
            let side = Side::from_code(code as u8).expect("a side code");
            assert_eq!(format!("{side:?}"), *name);
        }
        assert_eq!(Side::from_code(SIDES.len() as u8), None);
        for (code, name) in TIME_IN_FORCES.iter().enumerate() {
            let tif = TimeInForce::from_code(code as u8).expect("a tif code");
            assert_eq!(format!("{tif:?}").to_uppercase(), *name);
        }
        assert_eq!(TimeInForce::from_code(TIME_IN_FORCES.len() as u8), None);
    }
}
