//! The numbers both sides of the boundary must agree on, in one place: the guard's decision
//! buffer (slots, kinds), the market feed's stride and every enum that crosses as a number
//! (actions, sides, order types, time in force, codes, sources, ack statuses, tools); the matching
//! engine's result buffer, batch rows and codes in [`engine`].
//!
//! Invariants:
//! - `ts/native/layout.ts` is generated from this module ([`typescript`]) and committed; the test
//!   `generated_typescript_layout_is_committed` fails when it differs (regenerate with
//!   `AXON_WRITE_LAYOUT=1 cargo test -p axon-node generated_typescript_layout`).
//! - An enum's number is its index in the list here, and the list is the Rust enum's own `ALL`
//!   (or checked against its discriminants by the tests): a new variant moves both sides at once.

// Most lists are read only by the generator, which runs in the tests.
#![cfg_attr(not(test), allow(dead_code))]

pub mod engine;

use axon_risk::{
    AckStatus, Code, DoneStatus, OrderType, Side, Source, TimeInForce, ToolKind,
    FEED_STRIDE as RISK_FEED_STRIDE,
};

/// Slots of the guard's decision buffer, in order (`[name, meaning]`).
pub const DECISION_SLOT_NAMES: [(&str, &str); 15] = [
    ("Kind", "a `DecisionKind`"),
    (
        "Ticket",
        "SEND: the ticket `recordAck` / `recordFailure` settle",
    ),
    ("Action", "SEND: an index of `ACTIONS`"),
    ("Side", "SEND place: an index of `SIDES`"),
    ("Quantity", "SEND place, replace (NaN: unchanged)"),
    ("OrderType", "SEND place: an index of `ORDER_TYPES`"),
    ("Price", "SEND place, replace (NaN: none / unchanged)"),
    ("StopLoss", "SEND place (NaN: none)"),
    ("TakeProfit", "SEND place (NaN: none)"),
    ("TimeInForce", "SEND place: an index of `TIME_IN_FORCES`"),
    ("Code", "REJECTED: an index of `CODES`"),
    ("Source", "REJECTED: an index of `SOURCES`"),
    (
        "Market",
        "SEND place: the symbol's market slot (`guardMarketSymbol`)",
    ),
    ("Status", "DONE: an index of `DONE_STATUSES`"),
    ("Levels", "SEND book_snapshot: levels per side (1-50)"),
];

pub mod slot {
    pub const KIND: usize = 0;
    pub const TICKET: usize = 1;
    pub const ACTION: usize = 2;
    pub const SIDE: usize = 3;
    pub const QUANTITY: usize = 4;
    pub const ORDER_TYPE: usize = 5;
    pub const PRICE: usize = 6;
    pub const STOP_LOSS: usize = 7;
    pub const TAKE_PROFIT: usize = 8;
    pub const TIME_IN_FORCE: usize = 9;
    pub const CODE: usize = 10;
    pub const SOURCE: usize = 11;
    pub const MARKET: usize = 12;
    pub const STATUS: usize = 13;
    pub const LEVELS: usize = 14;
}

pub const DECISION_SLOTS: usize = DECISION_SLOT_NAMES.len();

/// Decision kinds (slot `Kind`), by number.
pub const DECISION_KINDS: [&str; 6] = [
    "Done",
    "Rejected",
    "Send",
    "NeedMarket",
    "NeedOrder",
    "NeedState",
];

pub mod kind {
    pub const DONE: f64 = 0.0;
    pub const REJECTED: f64 = 1.0;
    pub const SEND: f64 = 2.0;
    pub const NEED_MARKET: f64 = 3.0;
    pub const NEED_ORDER: f64 = 4.0;
    pub const NEED_STATE: f64 = 5.0;
}

/// Actions of a SEND decision (slot `Action`), by number.
pub const ACTIONS: [&str; 7] = [
    "place",
    "cancel",
    "replace",
    "query",
    "book_snapshot",
    "pnl",
    "finish_bar",
];

pub mod action {
    pub const PLACE: f64 = 0.0;
    pub const CANCEL: f64 = 1.0;
    pub const REPLACE: f64 = 2.0;
    pub const QUERY: f64 = 3.0;
    pub const BOOK_SNAPSHOT: f64 = 4.0;
    pub const PNL: f64 = 5.0;
    pub const FINISH_BAR: f64 = 6.0;
}

pub const SIDES: [Side; 2] = [Side::Buy, Side::Sell];
pub const ORDER_TYPES: [OrderType; 2] = [OrderType::Limit, OrderType::Market];
pub const TIME_IN_FORCES: [TimeInForce; 3] = [TimeInForce::GTC, TimeInForce::IOC, TimeInForce::FOK];

/// Cells per market slot in the guard's feed: price (NaN: none), position, open buy quantity,
/// open sell quantity, version.
pub const FEED_STRIDE: usize = RISK_FEED_STRIDE;

/// `guardRecordAck`'s side argument for "the ticket's own side" (after `SIDES`).
pub const SIDE_NONE: u32 = SIDES.len() as u32;

fn list(items: impl IntoIterator<Item = String>) -> String {
    let items: Vec<String> = items.into_iter().collect();
    format!("[{}] as const", items.join(", "))
}

fn quoted(text: &str) -> String {
    format!("'{text}'")
}

/// `ts/native/layout.ts`, as generated from this module.
pub fn typescript() -> String {
    let mut out = String::new();
    out.push_str(
        "// Generated from crates/axon-node/src/raw/layout.rs (`typescript()`): do not edit.\n",
    );
    out.push_str("// Regenerate: AXON_WRITE_LAYOUT=1 cargo test -p axon-node generated_typescript_layout\n\n");
    out.push_str("/** Slots of the guard's decision buffer. */\nexport const Slot = {\n");
    for (index, (name, meaning)) in DECISION_SLOT_NAMES.iter().enumerate() {
        out.push_str(&format!("  /** {meaning} */\n  {name}: {index},\n"));
    }
    out.push_str("} as const;\n\n");
    out.push_str(&format!(
        "export const DECISION_SLOTS = {DECISION_SLOTS};\n\n"
    ));
    out.push_str("/** Slot `Kind` of a decision. */\nexport const DecisionKind = {\n");
    for (index, name) in DECISION_KINDS.iter().enumerate() {
        out.push_str(&format!("  {name}: {index},\n"));
    }
    out.push_str("} as const;\n\n");
    let lines: [(&str, &str, String); 10] = [
        ("ACTIONS", "Slot `Action` of a SEND decision.", list(ACTIONS.iter().map(|a| quoted(a)))),
        ("SIDES", "Slot `Side`; `guardRecordAck` takes `SIDES.length` for none.", list(SIDES.iter().map(|s| quoted(s.as_str())))),
        ("ORDER_TYPES", "Slot `OrderType`.", list(ORDER_TYPES.iter().map(|t| quoted(t.as_str())))),
        ("TIME_IN_FORCES", "Slot `TimeInForce`.", list(TIME_IN_FORCES.iter().map(|t| quoted(t.as_str())))),
        ("CODES", "Slot `Code` of a REJECTED decision: SPEC §2 machine codes.", list(Code::ALL.iter().map(|c| quoted(c.as_str())))),
        (
            "SOURCES",
            "Slot `Source` of a REJECTED decision: `[source, error_type]`.",
            list(Source::ALL.iter().map(|s| format!("['{}', '{}']", s.as_str(), s.error_type()))),
        ),
        ("ACK_STATUSES", "The `status` argument of `guardRecordAck`.", list(AckStatus::ALL.iter().map(|s| quoted(s.as_str())))),
        ("DONE_STATUSES", "Slot `Status` of a DONE decision.", list(DoneStatus::ALL.iter().map(|s| quoted(s.as_str())))),
        ("TOOLS", "The `tool` argument of `guardDecide`.", list(ToolKind::ALL.iter().map(|t| quoted(t.name())))),
        ("FEED_STRIDE", "Cells per market slot of the feed: price (NaN: none), position, open buy, open sell, version.", FEED_STRIDE.to_string()),
    ];
    for (name, doc, value) in lines {
        out.push_str(&format!("/** {doc} */\nexport const {name} = {value};\n"));
    }
    out.push_str(&engine::typescript());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../ts/native/layout.ts");

    #[test]
    fn generated_typescript_layout_is_committed() {
        let generated = typescript();
        if std::env::var_os("AXON_WRITE_LAYOUT").is_some() {
            std::fs::write(COMMITTED, &generated).expect("write ts/native/layout.ts");
        }
        let committed = std::fs::read_to_string(COMMITTED).expect("ts/native/layout.ts exists");
        assert!(committed == generated, "ts/native/layout.ts differs from crates/axon-node/src/raw/layout.rs: regenerate it (AXON_WRITE_LAYOUT=1)");
    }

    #[test]
    fn slot_constants_follow_the_slot_names() {
        let named = [
            ("Kind", slot::KIND),
            ("Ticket", slot::TICKET),
            ("Action", slot::ACTION),
            ("Side", slot::SIDE),
            ("Quantity", slot::QUANTITY),
            ("OrderType", slot::ORDER_TYPE),
            ("Price", slot::PRICE),
            ("StopLoss", slot::STOP_LOSS),
            ("TakeProfit", slot::TAKE_PROFIT),
            ("TimeInForce", slot::TIME_IN_FORCE),
            ("Code", slot::CODE),
            ("Source", slot::SOURCE),
            ("Market", slot::MARKET),
            ("Status", slot::STATUS),
            ("Levels", slot::LEVELS),
        ];
        assert_eq!(named.len(), DECISION_SLOTS);
        for (name, index) in named {
            assert_eq!(DECISION_SLOT_NAMES[index].0, name);
        }
        let kinds = [
            kind::DONE,
            kind::REJECTED,
            kind::SEND,
            kind::NEED_MARKET,
            kind::NEED_ORDER,
            kind::NEED_STATE,
        ];
        assert_eq!(kinds.len(), DECISION_KINDS.len());
        for (index, value) in kinds.into_iter().enumerate() {
            assert_eq!(value, index as f64);
        }
        let actions = [
            action::PLACE,
            action::CANCEL,
            action::REPLACE,
            action::QUERY,
            action::BOOK_SNAPSHOT,
            action::PNL,
            action::FINISH_BAR,
        ];
        assert_eq!(actions.len(), ACTIONS.len());
        for (index, value) in actions.into_iter().enumerate() {
            assert_eq!(value, index as f64);
        }
    }

    #[test]
    fn enum_numbers_are_their_discriminants() {
        // The decision writer sends `side as u32` etc.: the lists must be in declaration order.
        for (index, side) in SIDES.iter().enumerate() {
            assert_eq!(*side as usize, index);
        }
        for (index, order_type) in ORDER_TYPES.iter().enumerate() {
            assert_eq!(*order_type as usize, index);
        }
        for (index, tif) in TIME_IN_FORCES.iter().enumerate() {
            assert_eq!(*tif as usize, index);
        }
        for (index, status) in DoneStatus::ALL.iter().enumerate() {
            assert_eq!(*status as usize, index);
        }
    }
}
