//! Strict parsing of the LLM's tool arguments (SPEC §2).
//!
//! Invariants:
//! - Input is one JSON object of at most `max_bytes` bytes; unknown, duplicate, missing or mistyped
//!   fields, non-finite or non-positive numbers and wrong enum case are all rejected with a message
//!   naming the field. Nothing is coerced: `"1"` is not a number and `"buy"` is not `"Buy"`.
//! - The happy path is one borrowed serde pass with no allocation for plain strings. Only a failed
//!   parse pays for a second, diagnostic pass that finds the field to name.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::Value;

use crate::rejection::{ArgumentProblem, Bound, Rejection, ValueType};

pub const DEFAULT_MAX_ARGS_BYTES: usize = 64 * 1024;
const MAX_SYMBOL_LEN: usize = 32;
const MAX_ID_LEN: usize = 64;
/// `get_book_snapshot`: levels per side, at most (and the default when absent).
pub const MAX_BOOK_LEVELS: u32 = 50;
pub const DEFAULT_BOOK_LEVELS: u32 = 10;
/// `finish_bar`: the note goes to the audit trail and the logs; keep it a note.
pub const MAX_NOTE_CHARS: usize = 500;

/// Implements `Deserialize` from a JSON string only. Serde's derive would also take the map form
/// (`{"Buy":null}`) of an externally tagged enum; an order side must be exactly `"Buy"` or `"Sell"`.
macro_rules! string_enum {
    ($name:ident { $($variant:ident),+ }) => {
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct Visit;
                impl serde::de::Visitor<'_> for Visit {
                    type Value = $name;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str(concat!("one of" $(, " \"", stringify!($variant), "\"")+))
                    }
                    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<$name, E> {
                        match text {
                            $(stringify!($variant) => Ok($name::$variant),)+
                            other => Err(E::unknown_variant(other, &[$(stringify!($variant)),+])),
                        }
                    }
                }
                deserializer.deserialize_str(Visit)
            }
        }
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Buy,
    Sell,
}
string_enum!(Side { Buy, Sell });

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Buy => "Buy",
            Side::Sell => "Sell",
        }
    }
    /// +1 for Buy, -1 for Sell.
    pub fn sign(self) -> f64 {
        match self {
            Side::Buy => 1.0,
            Side::Sell => -1.0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrderType {
    #[default]
    Limit,
    Market,
}
string_enum!(OrderType { Limit, Market });

impl OrderType {
    pub fn as_str(self) -> &'static str {
        match self {
            OrderType::Limit => "Limit",
            OrderType::Market => "Market",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeInForce {
    #[default]
    GTC,
    IOC,
    FOK,
}
string_enum!(TimeInForce { GTC, IOC, FOK });

impl TimeInForce {
    pub fn as_str(self) -> &'static str {
        match self {
            TimeInForce::GTC => "GTC",
            TimeInForce::IOC => "IOC",
            TimeInForce::FOK => "FOK",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaceOrderArgs<'a> {
    #[serde(borrow)]
    pub symbol: Cow<'a, str>,
    pub side: Side,
    pub quantity: f64,
    #[serde(default, deserialize_with = "null_as_default")]
    pub order_type: OrderType,
    #[serde(default)]
    pub price: Option<f64>,
    #[serde(default)]
    pub stop_loss: Option<f64>,
    #[serde(default)]
    pub take_profit: Option<f64>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub time_in_force: TimeInForce,
    #[serde(default, borrow)]
    pub confirm_token: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    pub client_order_id: Option<Cow<'a, str>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CancelOrderArgs<'a> {
    #[serde(borrow)]
    pub order_id: Cow<'a, str>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplaceOrderArgs<'a> {
    #[serde(borrow)]
    pub order_id: Cow<'a, str>,
    #[serde(default)]
    pub price: Option<f64>,
    #[serde(default)]
    pub quantity: Option<f64>,
    #[serde(default, borrow)]
    pub confirm_token: Option<Cow<'a, str>>,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueryPortfolioArgs<'a> {
    #[serde(default, borrow)]
    pub symbol: Option<Cow<'a, str>>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBookSnapshotArgs<'a> {
    #[serde(borrow)]
    symbol: Cow<'a, str>,
    #[serde(default)]
    levels: Option<f64>,
}

/// `get_book_snapshot` arguments, validated: `levels` is a whole number in 1..=[`MAX_BOOK_LEVELS`].
#[derive(Debug, Clone, PartialEq)]
pub struct BookSnapshotArgs<'a> {
    pub symbol: Cow<'a, str>,
    pub levels: u32,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PnlArgs<'a> {
    #[serde(default, borrow)]
    pub symbol: Option<Cow<'a, str>>,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FinishBarArgs<'a> {
    #[serde(default, borrow)]
    pub note: Option<Cow<'a, str>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Str,
    Num,
    Enum(&'static [&'static str]),
}

struct FieldSpec {
    name: &'static str,
    kind: Kind,
    required: bool,
}

const fn field(name: &'static str, kind: Kind, required: bool) -> FieldSpec {
    FieldSpec {
        name,
        kind,
        required,
    }
}

const SIDES: &[&str] = &["Buy", "Sell"];
const ORDER_TYPES: &[&str] = &["Limit", "Market"];
const TIFS: &[&str] = &["GTC", "IOC", "FOK"];

const PLACE_FIELDS: &[FieldSpec] = &[
    field("symbol", Kind::Str, true),
    field("side", Kind::Enum(SIDES), true),
    field("quantity", Kind::Num, true),
    field("order_type", Kind::Enum(ORDER_TYPES), false),
    field("price", Kind::Num, false),
    field("stop_loss", Kind::Num, false),
    field("take_profit", Kind::Num, false),
    field("time_in_force", Kind::Enum(TIFS), false),
    field("confirm_token", Kind::Str, false),
    field("client_order_id", Kind::Str, false),
];
const CANCEL_FIELDS: &[FieldSpec] = &[field("order_id", Kind::Str, true)];
const REPLACE_FIELDS: &[FieldSpec] = &[
    field("order_id", Kind::Str, true),
    field("price", Kind::Num, false),
    field("quantity", Kind::Num, false),
    field("confirm_token", Kind::Str, false),
];
const QUERY_FIELDS: &[FieldSpec] = &[field("symbol", Kind::Str, false)];
const BOOK_FIELDS: &[FieldSpec] = &[
    field("symbol", Kind::Str, true),
    field("levels", Kind::Num, false),
];
const PNL_FIELDS: &[FieldSpec] = &[field("symbol", Kind::Str, false)];
const FINISH_FIELDS: &[FieldSpec] = &[field("note", Kind::Str, false)];

/// Optional fields treat `null` as absent, as models often send it.
fn null_as_default<'de, D: serde::Deserializer<'de>, T: Deserialize<'de> + Default>(
    deserializer: D,
) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

fn check_size(args: &str, max_bytes: usize) -> Result<(), Rejection> {
    if args.len() > max_bytes {
        return Err(ArgumentProblem::TooLarge {
            bytes: args.len(),
            limit: max_bytes,
        }
        .into());
    }
    Ok(())
}

fn parse_with<'a, T: Deserialize<'a>>(
    args: &'a str,
    max_bytes: usize,
    fields: &[FieldSpec],
) -> Result<T, Rejection> {
    check_size(args, max_bytes)?;
    // Serde's struct derive also accepts a JSON array of the fields in order; arguments are named.
    if args.trim_start().as_bytes().first() == Some(&b'[') {
        return Err(ArgumentProblem::NotAnObject { got: "array" }.into());
    }
    serde_json::from_str::<T>(args).map_err(|err| diagnose(args, fields, &err))
}

/// Second pass over a failed parse: name the offending field.
fn diagnose(args: &str, fields: &[FieldSpec], err: &serde_json::Error) -> Rejection {
    let value: Value = match serde_json::from_str(args) {
        Ok(value) => value,
        Err(syntax) => {
            let detail = strip_position(&syntax.to_string());
            return match key_before(args, syntax.line(), syntax.column()) {
                // Inside a value (a number out of range, NaN): name the field being read.
                Some(field) if !detail.starts_with("EOF") && !detail.starts_with("trailing") => {
                    ArgumentProblem::UnreadableValue { field, detail }.into()
                }
                _ => ArgumentProblem::InvalidJson { detail }.into(),
            };
        }
    };
    let Value::Object(map) = value else {
        return ArgumentProblem::NotAnObject {
            got: type_name(&value),
        }
        .into();
    };
    for key in map.keys() {
        if !fields.iter().any(|f| f.name == key.as_str()) {
            return ArgumentProblem::UnknownField {
                field: truncate(key, 64),
                expected: fields.iter().map(|f| f.name).collect(),
            }
            .into();
        }
    }
    for spec in fields {
        match map.get(spec.name) {
            None if spec.required => {
                return ArgumentProblem::MissingField { field: spec.name }.into()
            }
            None | Some(Value::Null) if !spec.required => {}
            None => {}
            Some(v) => {
                let ok = match spec.kind {
                    Kind::Str => v.is_string(),
                    Kind::Num => v.is_number(),
                    Kind::Enum(options) => v.as_str().is_some_and(|s| options.contains(&s)),
                };
                if !ok {
                    let wrong_type = |expected| ArgumentProblem::WrongType {
                        field: spec.name,
                        expected,
                        got: type_name(v),
                    };
                    return match spec.kind {
                        Kind::Str => wrong_type(ValueType::String),
                        Kind::Num => wrong_type(ValueType::Number),
                        Kind::Enum(options) => ArgumentProblem::NotOneOf {
                            field: spec.name,
                            options,
                            got: truncate(&v.to_string(), 40),
                        },
                    }
                    .into();
                }
            }
        }
    }
    // Only serde-specific failures remain (e.g. a duplicate field): its text names the field.
    ArgumentProblem::Serde {
        detail: strip_position(&err.to_string()),
    }
    .into()
}

fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

/// The object key whose value the parser was reading at (line, column), if one can be seen.
fn key_before(args: &str, line: usize, column: usize) -> Option<String> {
    let line_start: usize = args
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let offset = (line_start + column).min(args.len());
    let head = args.get(..offset)?;
    let colon = head.rfind(':')?;
    let before = head[..colon].trim_end().strip_suffix('"')?;
    let open = before.rfind('"')?;
    let key = &before[open + 1..];
    (!key.is_empty() && key.len() <= 64 && !key.contains(['{', '}', ','])).then(|| key.to_owned())
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn truncate(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        text.to_owned()
    } else {
        format!("{}...", text.chars().take(max_chars).collect::<String>())
    }
}

fn positive(name: &'static str, value: f64) -> Result<(), Rejection> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(ArgumentProblem::NotPositive {
            field: name,
            got: value,
        }
        .into())
    }
}

fn positive_opt(name: &'static str, value: Option<f64>) -> Result<(), Rejection> {
    value.map_or(Ok(()), |v| positive(name, v))
}

fn symbol_text(name: &'static str, symbol: &str) -> Result<(), Rejection> {
    let ok = !symbol.is_empty()
        && symbol.len() <= MAX_SYMBOL_LEN
        && symbol.bytes().all(|b| {
            b.is_ascii_uppercase()
                || b.is_ascii_digit()
                || matches!(b, b'-' | b'/' | b'_' | b'.' | b':')
        });
    if ok {
        Ok(())
    } else {
        Err(ArgumentProblem::BadSymbol {
            field: name,
            got: truncate(symbol, 40),
            max_len: MAX_SYMBOL_LEN,
        }
        .into())
    }
}

fn id_text(name: &'static str, id: &str) -> Result<(), Rejection> {
    let ok = !id.is_empty() && id.len() <= MAX_ID_LEN && id.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        Ok(())
    } else {
        Err(ArgumentProblem::BadId {
            field: name,
            max_len: MAX_ID_LEN,
        }
        .into())
    }
}

pub fn parse_place_order(args: &str, max_bytes: usize) -> Result<PlaceOrderArgs<'_>, Rejection> {
    let a: PlaceOrderArgs<'_> = parse_with(args, max_bytes, PLACE_FIELDS)?;
    symbol_text("symbol", &a.symbol)?;
    positive("quantity", a.quantity)?;
    positive_opt("price", a.price)?;
    positive_opt("stop_loss", a.stop_loss)?;
    positive_opt("take_profit", a.take_profit)?;
    match (a.order_type, a.price) {
        (OrderType::Limit, None) => return Err(ArgumentProblem::PriceRequired.into()),
        (OrderType::Market, Some(_)) => return Err(ArgumentProblem::PriceOnMarketOrder.into()),
        _ => {}
    }
    if let Some(price) = a.price {
        let (below, above) = match a.side {
            Side::Buy => (a.stop_loss, a.take_profit),
            Side::Sell => (a.take_profit, a.stop_loss),
        };
        if let Some(low) = below.filter(|v| *v >= price) {
            let name = if a.side == Side::Buy {
                "stop_loss"
            } else {
                "take_profit"
            };
            return Err(ArgumentProblem::BracketSide {
                field: name,
                value: low,
                price,
                side: a.side,
                must_be: Bound::Below,
            }
            .into());
        }
        if let Some(high) = above.filter(|v| *v <= price) {
            let name = if a.side == Side::Buy {
                "take_profit"
            } else {
                "stop_loss"
            };
            return Err(ArgumentProblem::BracketSide {
                field: name,
                value: high,
                price,
                side: a.side,
                must_be: Bound::Above,
            }
            .into());
        }
    }
    if let Some(id) = &a.client_order_id {
        id_text("client_order_id", id)?;
    }
    if let Some(token) = &a.confirm_token {
        id_text("confirm_token", token)?;
    }
    Ok(a)
}

pub fn parse_cancel_order(args: &str, max_bytes: usize) -> Result<CancelOrderArgs<'_>, Rejection> {
    let a: CancelOrderArgs<'_> = parse_with(args, max_bytes, CANCEL_FIELDS)?;
    id_text("order_id", &a.order_id)?;
    Ok(a)
}

pub fn parse_replace_order(
    args: &str,
    max_bytes: usize,
) -> Result<ReplaceOrderArgs<'_>, Rejection> {
    let a: ReplaceOrderArgs<'_> = parse_with(args, max_bytes, REPLACE_FIELDS)?;
    id_text("order_id", &a.order_id)?;
    positive_opt("price", a.price)?;
    positive_opt("quantity", a.quantity)?;
    if a.price.is_none() && a.quantity.is_none() {
        return Err(ArgumentProblem::ReplaceNeedsChange.into());
    }
    if let Some(token) = &a.confirm_token {
        id_text("confirm_token", token)?;
    }
    Ok(a)
}

/// An empty or blank argument string means "no filter": the tool has no required field.
pub fn parse_query_portfolio(
    args: &str,
    max_bytes: usize,
) -> Result<QueryPortfolioArgs<'_>, Rejection> {
    if args.trim().is_empty() {
        return Ok(QueryPortfolioArgs::default());
    }
    let a: QueryPortfolioArgs<'_> = parse_with(args, max_bytes, QUERY_FIELDS)?;
    if let Some(symbol) = &a.symbol {
        symbol_text("symbol", symbol)?;
    }
    Ok(a)
}

pub fn parse_book_snapshot(
    args: &str,
    max_bytes: usize,
) -> Result<BookSnapshotArgs<'_>, Rejection> {
    let a: RawBookSnapshotArgs<'_> = parse_with(args, max_bytes, BOOK_FIELDS)?;
    symbol_text("symbol", &a.symbol)?;
    let levels = match a.levels {
        None => DEFAULT_BOOK_LEVELS,
        Some(n) if n.fract() == 0.0 && (1.0..=f64::from(MAX_BOOK_LEVELS)).contains(&n) => n as u32,
        Some(n) => {
            return Err(ArgumentProblem::BookLevels {
                got: n,
                max: MAX_BOOK_LEVELS,
            }
            .into());
        }
    };
    Ok(BookSnapshotArgs {
        symbol: a.symbol,
        levels,
    })
}

/// An empty or blank argument string means "every position".
pub fn parse_pnl(args: &str, max_bytes: usize) -> Result<PnlArgs<'_>, Rejection> {
    if args.trim().is_empty() {
        return Ok(PnlArgs::default());
    }
    let a: PnlArgs<'_> = parse_with(args, max_bytes, PNL_FIELDS)?;
    if let Some(symbol) = &a.symbol {
        symbol_text("symbol", symbol)?;
    }
    Ok(a)
}

/// An empty or blank argument string means "no note".
pub fn parse_finish_bar(args: &str, max_bytes: usize) -> Result<FinishBarArgs<'_>, Rejection> {
    if args.trim().is_empty() {
        return Ok(FinishBarArgs::default());
    }
    let a: FinishBarArgs<'_> = parse_with(args, max_bytes, FINISH_FIELDS)?;
    if let Some(note) = &a.note {
        let chars = note.chars().count();
        if chars > MAX_NOTE_CHARS {
            return Err(ArgumentProblem::NoteTooLong {
                chars,
                max: MAX_NOTE_CHARS,
            }
            .into());
        }
    }
    Ok(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: usize = DEFAULT_MAX_ARGS_BYTES;

    fn place_err(args: &str) -> String {
        parse_place_order(args, MAX)
            .expect_err("must reject")
            .message()
    }

    #[test]
    fn accepts_a_full_limit_order_with_defaults() {
        let a = parse_place_order(
            r#"{"symbol":"BTC-USDT","side":"Buy","quantity":0.5,"price":20000}"#,
            MAX,
        )
        .expect("valid");
        assert_eq!(a.order_type, OrderType::Limit);
        assert_eq!(a.time_in_force, TimeInForce::GTC);
        assert_eq!(a.price, Some(20000.0));
    }

    #[test]
    fn names_the_field_in_every_failure() {
        assert!(
            place_err(r#"{"symbol":"BTC-USDT","side":"Buy","quantity":"1","price":1}"#)
                .contains("field `quantity` must be a number, got string")
        );
        assert!(
            place_err(r#"{"symbol":"BTC-USDT","side":"buy","quantity":1,"price":1}"#)
                .contains("field `side` must be one of \"Buy\", \"Sell\"")
        );
        assert!(place_err(
            r#"{"symbol":"BTC-USDT","side":"Buy","quantity":1,"price":1,"leverage":10}"#
        )
        .contains("unknown field `leverage`"));
        assert!(place_err(r#"{"symbol":"BTC-USDT","side":"Buy","price":1}"#)
            .contains("missing field `quantity`"));
        assert!(
            place_err(r#"{"symbol":"BTC-USDT","side":"Buy","quantity":1e309,"price":1}"#)
                .contains("field `quantity`")
        );
        assert!(
            place_err(r#"{"symbol":"BTC-USDT","side":"Buy","quantity":0,"price":1}"#)
                .contains("field `quantity` must be a finite number > 0")
        );
        assert!(
            place_err(r#"{"symbol":"BTC-USDT","side":"Buy","quantity":1}"#)
                .contains("field `price` is required for Limit orders")
        );
        assert!(place_err(
            r#"{"symbol":"BTC-USDT","side":"Buy","quantity":1,"quantity":2,"price":1}"#
        )
        .contains("duplicate field `quantity`"));
        assert!(
            place_err(r#"{"symbol":"BTC-USDT","side":"Buy","quantity":NaN,"price":1}"#)
                .starts_with("Arguments: ")
        );
        assert!(place_err(r#"[1,2]"#).contains("must be a JSON object, got array"));
        assert!(place_err(r#" ["BTC-USDT","Buy",1,"Market"]"#)
            .contains("must be a JSON object, got array"));
        assert!(
            place_err(r#"{"symbol":"BTC-USDT","side":{"Buy":null},"quantity":1,"price":1}"#)
                .contains("field `side` must be one of")
        );
        assert!(place_err(r#"{"symbol":"BTC-USDT","side":"Buy","quantity":1,"price":1,"time_in_force":{"IOC":[]}}"#).contains("field `time_in_force`"));
        assert!(place_err(
            r#"{"symbol":"BTC-USDT","side":"Buy","quantity":1,"price":100,"stop_loss":120}"#
        )
        .contains("field `stop_loss` 120 must be below price 100"));
    }

    #[test]
    fn null_optional_fields_mean_absent() {
        let a = parse_place_order(r#"{"symbol":"BTC-USDT","side":"Buy","quantity":1,"price":2,"order_type":null,"time_in_force":null,"stop_loss":null}"#, MAX)
            .expect("nulls are absent");
        assert_eq!(
            (a.order_type, a.time_in_force, a.stop_loss),
            (OrderType::Limit, TimeInForce::GTC, None)
        );
        assert!(
            place_err(r#"{"symbol":null,"side":"Buy","quantity":1,"price":2}"#).contains("symbol")
        );
    }

    #[test]
    fn oversize_payload_is_rejected_before_parsing() {
        let big = format!("{{\"symbol\":\"{}\"}}", "A".repeat(1 << 20));
        assert!(place_err(&big).contains("exceeds limit of 65536 bytes"));
    }

    #[test]
    fn replace_needs_a_change_and_query_accepts_blank() {
        assert!(parse_replace_order(r#"{"order_id":"1"}"#, MAX).is_err());
        assert_eq!(
            parse_replace_order(r#"{"order_id":"1","quantity":2}"#, MAX)
                .expect("valid")
                .quantity,
            Some(2.0)
        );
        assert_eq!(
            parse_query_portfolio("  ", MAX).expect("valid").symbol,
            None
        );
        assert!(parse_query_portfolio(r#"{"symbol":5}"#, MAX).is_err());
    }

    #[test]
    fn book_snapshot_levels_are_a_whole_number_from_1_to_50() {
        let err = |args: &str| {
            parse_book_snapshot(args, MAX)
                .expect_err("must reject")
                .message()
        };
        assert_eq!(
            parse_book_snapshot(r#"{"symbol":"BTC-USDT"}"#, MAX)
                .expect("valid")
                .levels,
            DEFAULT_BOOK_LEVELS
        );
        assert_eq!(
            parse_book_snapshot(r#"{"symbol":"BTC-USDT","levels":null}"#, MAX)
                .expect("null is absent")
                .levels,
            DEFAULT_BOOK_LEVELS
        );
        assert_eq!(
            parse_book_snapshot(r#"{"symbol":"BTC-USDT","levels":50}"#, MAX)
                .expect("valid")
                .levels,
            50
        );
        assert_eq!(
            parse_book_snapshot(r#"{"symbol":"BTC-USDT","levels":1}"#, MAX)
                .expect("valid")
                .levels,
            1
        );
        for bad in ["0", "51", "2.5", "-1", "1e3"] {
            let message = err(&format!(r#"{{"symbol":"BTC-USDT","levels":{bad}}}"#));
            assert!(
                message.contains("field `levels` must be a whole number from 1 to 50"),
                "{bad}: {message}"
            );
        }
        assert!(err(r#"{"symbol":"BTC-USDT","levels":"5"}"#)
            .contains("field `levels` must be a number, got string"));
        assert!(
            err(r#"{"symbol":"BTC-USDT","levels":5,"depth":5}"#).contains("unknown field `depth`")
        );
        assert!(err(r#"{"symbol":"BTC-USDT","levels":5,"levels":6}"#)
            .contains("duplicate field `levels`"));
        assert!(err(r#"{"levels":5}"#).contains("missing field `symbol`"));
        assert!(err(r#"{"symbol":"btc"}"#).contains("field `symbol`"));
    }

    #[test]
    fn pnl_and_finish_bar_take_blank_or_their_one_optional_field() {
        assert_eq!(parse_pnl("", MAX).expect("blank").symbol, None);
        assert_eq!(
            parse_pnl(r#"{"symbol":null}"#, MAX).expect("null").symbol,
            None
        );
        assert_eq!(
            parse_pnl(r#"{"symbol":"ETH-USDT"}"#, MAX)
                .expect("valid")
                .symbol
                .as_deref(),
            Some("ETH-USDT")
        );
        assert!(parse_pnl(r#"{"symbol":1}"#, MAX)
            .expect_err("number")
            .message()
            .contains("field `symbol` must be a string"));
        assert!(parse_pnl(r#"{"sym":"X"}"#, MAX)
            .expect_err("unknown")
            .message()
            .contains("unknown field `sym`"));
        assert_eq!(parse_finish_bar(" ", MAX).expect("blank").note, None);
        assert_eq!(
            parse_finish_bar(r#"{"note":"flat, waiting"}"#, MAX)
                .expect("valid")
                .note
                .as_deref(),
            Some("flat, waiting")
        );
        assert!(parse_finish_bar(r#"{"note":5}"#, MAX)
            .expect_err("number")
            .message()
            .contains("field `note` must be a string"));
        let long = format!(r#"{{"note":"{}"}}"#, "x".repeat(MAX_NOTE_CHARS + 1));
        assert!(parse_finish_bar(&long, MAX)
            .expect_err("long")
            .message()
            .contains("field `note` must be at most 500 characters"));
    }
}
