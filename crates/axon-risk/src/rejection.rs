//! Denials as data: every way a tool call can be refused, as a typed value.
//!
//! Invariants:
//! - A refusal is a [`Denial`]: one variant per reason, carrying the numbers and names its text
//!   words (`OrderNotional { notional, limit }`). Its [`Code`] and [`Source`] come from a `match`
//!   on the variant, so there is no table to keep in sync.
//! - Text is made only at the edge ([`Denial::message`], `Display`, [`Rejection::to_json`]), when
//!   the binding hands the refusal to JavaScript; the chain itself never formats a message.
//! - A message always starts with its source's name followed by `": "`
//!   (`RiskLimits: order notional 60000 exceeds limit 50000`), and `error_type` is
//!   `InvalidArguments` exactly when the source is `Arguments`.
//! - Free-form text is carried only where it comes from outside (a backend's error, serde's own
//!   diagnostics, the OS RNG's error); everything the chain decides is a number or a name.

use std::fmt;

use axon_metrics::{ErrorKindLabel, RejectionCode};

use crate::args::{OrderType, Side};
use crate::guard::SafetyMode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Arguments,
    SafetyMode,
    RiskLimits,
    RiskGate,
    Backend,
}

impl Source {
    pub const ALL: [Source; 5] = [
        Source::Arguments,
        Source::SafetyMode,
        Source::RiskLimits,
        Source::RiskGate,
        Source::Backend,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Source::Arguments => "Arguments",
            Source::SafetyMode => "SafetyMode",
            Source::RiskLimits => "RiskLimits",
            Source::RiskGate => "RiskGate",
            Source::Backend => "Backend",
        }
    }

    pub fn error_type(self) -> &'static str {
        if self == Source::Arguments {
            "InvalidArguments"
        } else {
            "ExecutionFailed"
        }
    }
}

macro_rules! codes {
    ($($variant:ident => $text:literal),+ $(,)?) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Code { $($variant),+ }
        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant),+];
            pub fn as_str(self) -> &'static str { match self { $(Code::$variant => $text),+ } }
        }
    };
}

codes! {
    InvalidArguments => "INVALID_ARGUMENTS",
    SymbolNotAllowed => "SYMBOL_NOT_ALLOWED",
    MaxOrderNotional => "MAX_ORDER_NOTIONAL",
    MaxPositionAbs => "MAX_POSITION_ABS",
    MaxDailyOrders => "MAX_DAILY_ORDERS",
    MaxDailyCancels => "MAX_DAILY_CANCELS",
    NoReferencePrice => "NO_REFERENCE_PRICE",
    CircuitBreakerOpen => "CIRCUIT_BREAKER_OPEN",
    PnlBreakerOpen => "PNL_BREAKER_OPEN",
    ConfirmTokenInvalid => "CONFIRM_TOKEN_INVALID",
    ConfirmTokenExpired => "CONFIRM_TOKEN_EXPIRED",
    ConfirmArgsMismatch => "CONFIRM_ARGS_MISMATCH",
    PendingConfirmLimit => "PENDING_CONFIRM_LIMIT",
    BackendNetwork => "BACKEND_NETWORK",
    BackendRejected => "BACKEND_REJECTED",
    BackendTimeout => "BACKEND_TIMEOUT",
    BackendInsufficientFunds => "BACKEND_INSUFFICIENT_FUNDS",
    BackendSymbolNotFound => "BACKEND_SYMBOL_NOT_FOUND",
    BackendOther => "BACKEND_OTHER",
    PriceCollar => "PRICE_COLLAR",
    StaleReferencePrice => "STALE_REFERENCE_PRICE",
    MaxOrderQuantity => "MAX_ORDER_QUANTITY",
    MinOrderNotional => "MIN_ORDER_NOTIONAL",
    RateLimited => "RATE_LIMITED",
    DuplicateOrder => "DUPLICATE_ORDER",
    MaxOpenOrders => "MAX_OPEN_ORDERS",
    SelfTrade => "SELF_TRADE",
    StateUnavailable => "STATE_UNAVAILABLE",
    ReduceOnly => "REDUCE_ONLY",
    TradingHalted => "TRADING_HALTED",
}

impl Code {
    /// The `code` label of `trading_risk_rejections_total` (this code in lower snake case). A
    /// `match`, not a lookup by text: counting stays a fixed array index, and a new code does not
    /// compile until it has a label.
    pub fn metric_label(self) -> RejectionCode {
        match self {
            Code::InvalidArguments => RejectionCode::InvalidArguments,
            Code::SymbolNotAllowed => RejectionCode::SymbolNotAllowed,
            Code::MaxOrderNotional => RejectionCode::MaxOrderNotional,
            Code::MaxPositionAbs => RejectionCode::MaxPositionAbs,
            Code::MaxDailyOrders => RejectionCode::MaxDailyOrders,
            Code::MaxDailyCancels => RejectionCode::MaxDailyCancels,
            Code::NoReferencePrice => RejectionCode::NoReferencePrice,
            Code::CircuitBreakerOpen => RejectionCode::CircuitBreakerOpen,
            Code::PnlBreakerOpen => RejectionCode::PnlBreakerOpen,
            Code::ConfirmTokenInvalid => RejectionCode::ConfirmTokenInvalid,
            Code::ConfirmTokenExpired => RejectionCode::ConfirmTokenExpired,
            Code::ConfirmArgsMismatch => RejectionCode::ConfirmArgsMismatch,
            Code::PendingConfirmLimit => RejectionCode::PendingConfirmLimit,
            Code::BackendNetwork => RejectionCode::BackendNetwork,
            Code::BackendRejected => RejectionCode::BackendRejected,
            Code::BackendTimeout => RejectionCode::BackendTimeout,
            Code::BackendInsufficientFunds => RejectionCode::BackendInsufficientFunds,
            Code::BackendSymbolNotFound => RejectionCode::BackendSymbolNotFound,
            Code::BackendOther => RejectionCode::BackendOther,
            Code::PriceCollar => RejectionCode::PriceCollar,
            Code::StaleReferencePrice => RejectionCode::StaleReferencePrice,
            Code::MaxOrderQuantity => RejectionCode::MaxOrderQuantity,
            Code::MinOrderNotional => RejectionCode::MinOrderNotional,
            Code::RateLimited => RejectionCode::RateLimited,
            Code::DuplicateOrder => RejectionCode::DuplicateOrder,
            Code::MaxOpenOrders => RejectionCode::MaxOpenOrders,
            Code::SelfTrade => RejectionCode::SelfTrade,
            Code::StateUnavailable => RejectionCode::StateUnavailable,
            Code::ReduceOnly => RejectionCode::ReduceOnly,
            Code::TradingHalted => RejectionCode::TradingHalted,
        }
    }
}

/// Why a tool call is refused. Construct the variant with its numbers; the text is made by
/// [`Denial::message`] (or `Display`) only when the refusal leaves the core.
#[derive(Debug, Clone, PartialEq)]
pub enum Denial {
    /// The model's arguments are not acceptable (source `Arguments`).
    InvalidArgument(ArgumentProblem),

    // RiskLimits: the static limits.
    SymbolNotAllowed {
        symbol: String,
    },
    OrderNotional {
        notional: f64,
        limit: f64,
    },
    /// No reference price to value or check an order against.
    NoReferencePrice {
        symbol: String,
        purpose: PricePurpose,
    },
    /// A replace that changes only the quantity of an order whose price is not known.
    NoReplacePrice {
        order_id: String,
    },
    PositionAbs {
        projected: f64,
        limit: f64,
    },
    /// Fail closed: without a known position `max_position_abs` cannot be evaluated.
    PositionUnknown {
        symbol: String,
    },
    DailyOrders {
        would_be: u64,
        limit: u64,
    },
    DailyCancels {
        would_be: u64,
        limit: u64,
    },

    // RiskLimits: the market-access controls.
    OrderQuantity {
        quantity: f64,
        limit: f64,
    },
    MinOrderNotional {
        notional: f64,
        limit: f64,
    },
    StaleReferencePrice {
        symbol: String,
        price: f64,
        age_ms: i64,
        max_age_ms: i64,
    },
    PriceCollar {
        price: f64,
        /// Unrounded; the text rounds it to two decimals.
        bps: f64,
        reference: f64,
        collar_bps: f64,
    },
    /// `max_daily_loss` reached (code `PNL_BREAKER_OPEN`, source `RiskLimits`).
    DailyLoss {
        daily_pnl: f64,
        limit: f64,
    },
    OpenOrders {
        symbol: String,
        would_be: u64,
        limit: u32,
        resting: u64,
        inflight: u32,
        uncertain: u32,
    },
    DuplicateOrder {
        symbol: String,
        side: Side,
        order_type: OrderType,
        quantity: f64,
        price: Option<f64>,
        age_ms: i64,
        window_ms: i64,
    },
    SelfTrade {
        side: Side,
        /// `None` for a Market order.
        price: Option<f64>,
        resting_id: String,
        resting_price: f64,
        symbol: String,
    },
    RateLimited {
        would_be: u64,
        window: RateWindow,
        limit: u32,
    },

    // RiskGate.
    BreakerOpen {
        rejections: u32,
        cooldown_remaining_ms: i64,
    },
    PnlBreakerOpen {
        daily_pnl: f64,
        floor: f64,
    },
    /// The shared risk state could not be read or written: fail closed, nothing is sent.
    StateUnavailable {
        why: StateFailure,
    },
    /// Trading state REDUCING: the order would not reduce the absolute position.
    ReduceOnly {
        position: f64,
        projected: f64,
    },
    /// Trading state HALTED: nothing but cancels.
    TradingHalted,
    /// Trading state REDUCING without a known position: the order cannot be shown to reduce it.
    ReduceOnlyPositionUnknown {
        symbol: String,
    },

    // SafetyMode: two-phase confirmation.
    PendingConfirmLimit {
        pending: usize,
    },
    /// The OS RNG failed; `detail` is its error text.
    TokenUnavailable {
        detail: String,
    },
    TokenInvalid,
    TokenOutsideTwoPhase {
        mode: SafetyMode,
    },
    TokenExpired {
        expired_ms_ago: i64,
        ttl_ms: i64,
    },
    TokenArgsMismatch,

    // Backend.
    NotAnOpenOrder {
        order_id: String,
    },
    /// A failed backend call; `detail` comes from the backend (already free of secrets).
    Backend {
        kind: ErrorKindLabel,
        detail: String,
    },
}

/// What a missing reference price was needed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PricePurpose {
    /// `max_order_notional` of a Market order.
    ValueMarketOrder,
    MinOrderNotional,
    PriceCollar,
}

impl PricePurpose {
    fn as_str(self) -> &'static str {
        match self {
            PricePurpose::ValueMarketOrder => "value a Market order",
            PricePurpose::MinOrderNotional => "value a Market order against min_order_notional",
            PricePurpose::PriceCollar => "check the price collar",
        }
    }
}

/// The throttle window that is full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateWindow {
    Second,
    Minute,
}

/// Why the risk state store did not answer usefully. No free text: a store address may carry a
/// password, and the agent only needs to know the order was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateFailure {
    Unreachable,
    Timeout { timeout_ms: u64 },
    InvalidReply,
}

impl fmt::Display for StateFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StateFailure::Unreachable => f.write_str("unreachable"),
            StateFailure::Timeout { timeout_ms } => write!(f, "no answer within {timeout_ms} ms"),
            StateFailure::InvalidReply => f.write_str("invalid reply"),
        }
    }
}

/// What is wrong with the model's arguments. Each names the field where there is one.
#[derive(Debug, Clone, PartialEq)]
pub enum ArgumentProblem {
    TooLarge {
        bytes: usize,
        limit: usize,
    },
    NotAnObject {
        got: &'static str,
    },
    /// Not JSON; `detail` is the parser's text (position removed).
    InvalidJson {
        detail: String,
    },
    /// The parser failed inside the value of `field` (a number out of range, NaN).
    UnreadableValue {
        field: String,
        detail: String,
    },
    UnknownField {
        field: String,
        expected: Vec<&'static str>,
    },
    MissingField {
        field: &'static str,
    },
    WrongType {
        field: &'static str,
        expected: ValueType,
        got: &'static str,
    },
    NotOneOf {
        field: &'static str,
        options: &'static [&'static str],
        /// The value as JSON, truncated.
        got: String,
    },
    /// A failure only serde sees (a duplicate field); its text names the field.
    Serde {
        detail: String,
    },
    NotPositive {
        field: &'static str,
        got: f64,
    },
    PriceRequired,
    PriceOnMarketOrder,
    /// A stop-loss or take-profit on the wrong side of the limit price.
    BracketSide {
        field: &'static str,
        value: f64,
        price: f64,
        side: Side,
        must_be: Bound,
    },
    BadSymbol {
        field: &'static str,
        /// The value, truncated.
        got: String,
        max_len: usize,
    },
    BadId {
        field: &'static str,
        max_len: usize,
    },
    ReplaceNeedsChange,
    BookLevels {
        got: f64,
        max: u32,
    },
    NoteTooLong {
        chars: usize,
        max: usize,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    String,
    Number,
}

/// Which side of the limit price a bracket price must be on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    Below,
    Above,
}

impl ArgumentProblem {
    /// The field the problem is about, when there is one.
    pub fn field(&self) -> Option<&str> {
        match self {
            ArgumentProblem::UnreadableValue { field, .. }
            | ArgumentProblem::UnknownField { field, .. } => Some(field),
            ArgumentProblem::MissingField { field }
            | ArgumentProblem::WrongType { field, .. }
            | ArgumentProblem::NotOneOf { field, .. }
            | ArgumentProblem::NotPositive { field, .. }
            | ArgumentProblem::BracketSide { field, .. }
            | ArgumentProblem::BadSymbol { field, .. }
            | ArgumentProblem::BadId { field, .. } => Some(field),
            ArgumentProblem::PriceRequired | ArgumentProblem::PriceOnMarketOrder => Some("price"),
            ArgumentProblem::BookLevels { .. } => Some("levels"),
            ArgumentProblem::NoteTooLong { .. } => Some("note"),
            ArgumentProblem::TooLarge { .. }
            | ArgumentProblem::NotAnObject { .. }
            | ArgumentProblem::InvalidJson { .. }
            | ArgumentProblem::Serde { .. }
            | ArgumentProblem::ReplaceNeedsChange => None,
        }
    }
}

impl fmt::Display for ArgumentProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgumentProblem::TooLarge { bytes, limit } => write!(
                f,
                "arguments: payload of {bytes} bytes exceeds limit of {limit} bytes"
            ),
            ArgumentProblem::NotAnObject { got } => {
                write!(f, "arguments must be a JSON object, got {got}")
            }
            ArgumentProblem::InvalidJson { detail } => write!(f, "invalid JSON: {detail}"),
            ArgumentProblem::UnreadableValue { field, detail } => {
                write!(f, "field `{field}`: {detail}")
            }
            ArgumentProblem::UnknownField { field, expected } => write!(
                f,
                "unknown field `{field}`, expected one of: {}",
                expected.join(", ")
            ),
            ArgumentProblem::MissingField { field } => write!(f, "missing field `{field}`"),
            ArgumentProblem::WrongType {
                field,
                expected,
                got,
            } => {
                let expected = match expected {
                    ValueType::String => "a string",
                    ValueType::Number => "a number",
                };
                write!(f, "field `{field}` must be {expected}, got {got}")
            }
            ArgumentProblem::NotOneOf {
                field,
                options,
                got,
            } => {
                write!(f, "field `{field}` must be one of ")?;
                for (i, option) in options.iter().enumerate() {
                    let comma = if i == 0 { "" } else { ", " };
                    write!(f, "{comma}\"{option}\"")?;
                }
                write!(f, ", got {got}")
            }
            ArgumentProblem::Serde { detail } => f.write_str(detail),
            ArgumentProblem::NotPositive { field, got } => write!(
                f,
                "field `{field}` must be a finite number > 0, got {}",
                Num(*got)
            ),
            ArgumentProblem::PriceRequired => {
                f.write_str("field `price` is required for Limit orders")
            }
            ArgumentProblem::PriceOnMarketOrder => f.write_str(
                "field `price` must not be set for Market orders (they execute at the market)",
            ),
            ArgumentProblem::BracketSide {
                field,
                value,
                price,
                side,
                must_be,
            } => {
                let bound = match must_be {
                    Bound::Below => "below",
                    Bound::Above => "above",
                };
                write!(
                    f,
                    "field `{field}` {} must be {bound} price {} for a {} order",
                    Num(*value),
                    Num(*price),
                    side.as_str()
                )
            }
            ArgumentProblem::BadSymbol {
                field,
                got,
                max_len,
            } => write!(
                f,
                "field `{field}` must be 1-{max_len} characters of A-Z, 0-9, '-', '/', '_', '.', ':' (e.g. \"BTC-USDT\"), got \"{got}\""
            ),
            ArgumentProblem::BadId { field, max_len } => write!(
                f,
                "field `{field}` must be 1-{max_len} printable ASCII characters"
            ),
            ArgumentProblem::ReplaceNeedsChange => {
                f.write_str("replace_order needs field `price` and/or field `quantity`")
            }
            ArgumentProblem::BookLevels { got, max } => write!(
                f,
                "field `levels` must be a whole number from 1 to {max}, got {}",
                Num(*got)
            ),
            ArgumentProblem::NoteTooLong { chars, max } => write!(
                f,
                "field `note` must be at most {max} characters, got {chars}"
            ),
        }
    }
}

impl Denial {
    pub fn source(&self) -> Source {
        match self {
            Denial::InvalidArgument(_) => Source::Arguments,
            Denial::SymbolNotAllowed { .. }
            | Denial::OrderNotional { .. }
            | Denial::NoReferencePrice { .. }
            | Denial::NoReplacePrice { .. }
            | Denial::PositionAbs { .. }
            | Denial::PositionUnknown { .. }
            | Denial::DailyOrders { .. }
            | Denial::DailyCancels { .. }
            | Denial::OrderQuantity { .. }
            | Denial::MinOrderNotional { .. }
            | Denial::StaleReferencePrice { .. }
            | Denial::PriceCollar { .. }
            | Denial::DailyLoss { .. }
            | Denial::OpenOrders { .. }
            | Denial::DuplicateOrder { .. }
            | Denial::SelfTrade { .. }
            | Denial::RateLimited { .. } => Source::RiskLimits,
            Denial::BreakerOpen { .. }
            | Denial::PnlBreakerOpen { .. }
            | Denial::StateUnavailable { .. }
            | Denial::ReduceOnly { .. }
            | Denial::TradingHalted
            | Denial::ReduceOnlyPositionUnknown { .. } => Source::RiskGate,
            Denial::PendingConfirmLimit { .. }
            | Denial::TokenUnavailable { .. }
            | Denial::TokenInvalid
            | Denial::TokenOutsideTwoPhase { .. }
            | Denial::TokenExpired { .. }
            | Denial::TokenArgsMismatch => Source::SafetyMode,
            Denial::NotAnOpenOrder { .. } | Denial::Backend { .. } => Source::Backend,
        }
    }

    pub fn code(&self) -> Code {
        match self {
            Denial::InvalidArgument(_) => Code::InvalidArguments,
            Denial::SymbolNotAllowed { .. } => Code::SymbolNotAllowed,
            Denial::OrderNotional { .. } => Code::MaxOrderNotional,
            Denial::NoReferencePrice { .. } | Denial::NoReplacePrice { .. } => {
                Code::NoReferencePrice
            }
            Denial::PositionAbs { .. } | Denial::PositionUnknown { .. } => Code::MaxPositionAbs,
            Denial::DailyOrders { .. } => Code::MaxDailyOrders,
            Denial::DailyCancels { .. } => Code::MaxDailyCancels,
            Denial::OrderQuantity { .. } => Code::MaxOrderQuantity,
            Denial::MinOrderNotional { .. } => Code::MinOrderNotional,
            Denial::StaleReferencePrice { .. } => Code::StaleReferencePrice,
            Denial::PriceCollar { .. } => Code::PriceCollar,
            Denial::DailyLoss { .. } | Denial::PnlBreakerOpen { .. } => Code::PnlBreakerOpen,
            Denial::OpenOrders { .. } => Code::MaxOpenOrders,
            Denial::DuplicateOrder { .. } => Code::DuplicateOrder,
            Denial::SelfTrade { .. } => Code::SelfTrade,
            Denial::RateLimited { .. } => Code::RateLimited,
            Denial::BreakerOpen { .. } => Code::CircuitBreakerOpen,
            Denial::StateUnavailable { .. } => Code::StateUnavailable,
            Denial::ReduceOnly { .. } | Denial::ReduceOnlyPositionUnknown { .. } => {
                Code::ReduceOnly
            }
            Denial::TradingHalted => Code::TradingHalted,
            Denial::PendingConfirmLimit { .. } => Code::PendingConfirmLimit,
            Denial::TokenUnavailable { .. }
            | Denial::TokenInvalid
            | Denial::TokenOutsideTwoPhase { .. } => Code::ConfirmTokenInvalid,
            Denial::TokenExpired { .. } => Code::ConfirmTokenExpired,
            Denial::TokenArgsMismatch => Code::ConfirmArgsMismatch,
            Denial::NotAnOpenOrder { .. } => Code::BackendRejected,
            Denial::Backend { kind, .. } => match kind {
                ErrorKindLabel::Network => Code::BackendNetwork,
                ErrorKindLabel::Rejected => Code::BackendRejected,
                ErrorKindLabel::Timeout => Code::BackendTimeout,
                ErrorKindLabel::InsufficientFunds => Code::BackendInsufficientFunds,
                ErrorKindLabel::SymbolNotFound => Code::BackendSymbolNotFound,
                ErrorKindLabel::Other => Code::BackendOther,
            },
        }
    }

    pub fn error_type(&self) -> &'static str {
        self.source().error_type()
    }

    /// The agent-facing text: `<Source>: <detail>`.
    pub fn message(&self) -> String {
        // Most messages fit: one allocation instead of a doubling per write.
        let mut text = String::with_capacity(128);
        // Writing to a String cannot fail; every Display above only writes.
        let _ = fmt::write(&mut text, format_args!("{self}"));
        text
    }

    /// The detail after `<Source>: `.
    fn write_detail(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Denial::InvalidArgument(problem) => write!(f, "{problem}"),
            Denial::SymbolNotAllowed { symbol } => {
                write!(f, "symbol '{symbol}' not in allowed list")
            }
            Denial::OrderNotional { notional, limit } => write!(
                f,
                "order notional {} exceeds limit {}",
                Num(*notional),
                Num(*limit)
            ),
            Denial::NoReferencePrice { symbol, purpose } => write!(
                f,
                "no reference price for '{symbol}' to {}",
                purpose.as_str()
            ),
            Denial::NoReplacePrice { order_id } => {
                write!(f, "no price for order '{order_id}' to value the replace")
            }
            Denial::PositionAbs { projected, limit } => write!(
                f,
                "projected position {} exceeds max abs {}",
                Num(*projected),
                Num(*limit)
            ),
            Denial::PositionUnknown { symbol } => write!(
                f,
                "position of '{symbol}' is unknown, so max_position_abs cannot be checked"
            ),
            Denial::DailyOrders { would_be, limit } => {
                write!(f, "daily order count {would_be} exceeds limit {limit}")
            }
            Denial::DailyCancels { would_be, limit } => {
                write!(f, "daily cancel count {would_be} exceeds limit {limit}")
            }
            Denial::OrderQuantity { quantity, limit } => write!(
                f,
                "order quantity {} exceeds max_order_quantity {}",
                Num(*quantity),
                Num(*limit)
            ),
            Denial::MinOrderNotional { notional, limit } => write!(
                f,
                "order notional {} is below min_order_notional {}",
                Num(*notional),
                Num(*limit)
            ),
            Denial::StaleReferencePrice {
                symbol,
                price,
                age_ms,
                max_age_ms,
            } => write!(
                f,
                "reference price {} of '{symbol}' is {age_ms} ms old, max_reference_age_ms {max_age_ms}",
                Num(*price)
            ),
            Denial::PriceCollar {
                price,
                bps,
                reference,
                collar_bps,
            } => write!(
                f,
                "limit price {} is {} bps from reference price {}, price_collar_bps {}",
                Num(*price),
                Num((bps * 100.0).round() / 100.0),
                Num(*reference),
                Num(*collar_bps)
            ),
            Denial::DailyLoss { daily_pnl, limit } => write!(
                f,
                "daily loss {} exceeds max_daily_loss {} (daily_pnl={})",
                Num(-daily_pnl),
                Num(*limit),
                Num(*daily_pnl)
            ),
            Denial::OpenOrders {
                symbol,
                would_be,
                limit,
                resting,
                inflight,
                uncertain,
            } => write!(
                f,
                "open orders on '{symbol}' would be {would_be}, max_open_orders {limit} ({resting} resting, {inflight} in flight, {uncertain} of unknown outcome)"
            ),
            Denial::DuplicateOrder {
                symbol,
                side,
                order_type,
                quantity,
                price,
                age_ms,
                window_ms,
            } => {
                write!(
                    f,
                    "the same order ({symbol} {} {} {}",
                    side.as_str(),
                    order_type.as_str(),
                    Num(*quantity)
                )?;
                if let Some(price) = price {
                    write!(f, " @ {}", Num(*price))?;
                }
                write!(
                    f,
                    ") was sent {age_ms} ms ago, within duplicate_window_ms {window_ms}"
                )
            }
            Denial::SelfTrade {
                side,
                price,
                resting_id,
                resting_price,
                symbol,
            } => {
                let opposite = match side {
                    Side::Buy => Side::Sell,
                    Side::Sell => Side::Buy,
                };
                write!(f, "{} ", side.as_str())?;
                match price {
                    Some(p) => write!(f, "at {}", Num(*p))?,
                    None => f.write_str("Market")?,
                }
                write!(
                    f,
                    " would cross this account's resting {} order '{resting_id}' at {} on '{symbol}' (self_trade_prevention = reject)",
                    opposite.as_str(),
                    Num(*resting_price)
                )
            }
            Denial::RateLimited {
                would_be,
                window,
                limit,
            } => {
                let (span, key) = match window {
                    RateWindow::Second => ("1 s", "max_orders_per_second"),
                    RateWindow::Minute => ("60 s", "max_orders_per_minute"),
                };
                write!(f, "{would_be} orders in {span} exceeds {key} {limit}")
            }
            Denial::BreakerOpen {
                rejections,
                cooldown_remaining_ms,
            } => write!(
                f,
                "circuit breaker open (rejections={rejections}, cooldown_remaining_ms={cooldown_remaining_ms})"
            ),
            Denial::PnlBreakerOpen { daily_pnl, floor } => write!(
                f,
                "pnl circuit breaker open (daily_pnl={}, floor={})",
                Num(*daily_pnl),
                Num(*floor)
            ),
            Denial::StateUnavailable { why } => write!(
                f,
                "risk state store unavailable ({why}): order not sent"
            ),
            Denial::ReduceOnly {
                position,
                projected,
            } => write!(
                f,
                "trading state REDUCING: order would move position from {} to {}",
                Num(*position),
                Num(*projected)
            ),
            Denial::TradingHalted => f.write_str("trading is HALTED: only cancels are accepted"),
            Denial::ReduceOnlyPositionUnknown { symbol } => write!(
                f,
                "trading state REDUCING: position of '{symbol}' is unknown, so the order cannot be shown to reduce it"
            ),
            Denial::PendingConfirmLimit { pending } => write!(
                f,
                "{pending} orders already await confirmation; confirm or let them expire"
            ),
            Denial::TokenUnavailable { detail } => {
                write!(f, "cannot draw a confirm token from the OS RNG: {detail}")
            }
            Denial::TokenInvalid => f.write_str("confirm_token is unknown or already used"),
            Denial::TokenOutsideTwoPhase { mode } => write!(
                f,
                "confirm_token is only accepted in TwoPhase mode (mode is {})",
                mode.as_str()
            ),
            Denial::TokenExpired {
                expired_ms_ago,
                ttl_ms,
            } => write!(
                f,
                "confirm_token expired {expired_ms_ago} ms ago (ttl {ttl_ms} ms)"
            ),
            Denial::TokenArgsMismatch => f.write_str(
                "confirm_token was issued for different order fields; the token is now void",
            ),
            Denial::NotAnOpenOrder { order_id } => {
                write!(f, "order '{order_id}' is not an open order")
            }
            Denial::Backend { kind, detail } => write!(f, "{}: {detail}", kind.as_str()),
        }
    }
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.source().as_str())?;
        self.write_detail(f)
    }
}

/// A refused tool call. Not an error of the library: a normal outcome the agent can act on.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    pub denial: Denial,
}

impl From<Denial> for Rejection {
    fn from(denial: Denial) -> Self {
        Self { denial }
    }
}

impl From<ArgumentProblem> for Rejection {
    fn from(problem: ArgumentProblem) -> Self {
        Denial::InvalidArgument(problem).into()
    }
}

impl Rejection {
    pub fn source(&self) -> Source {
        self.denial.source()
    }

    pub fn code(&self) -> Code {
        self.denial.code()
    }

    pub fn error_type(&self) -> &'static str {
        self.denial.error_type()
    }

    /// The agent-facing text (made here, at the edge).
    pub fn message(&self) -> String {
        self.denial.message()
    }

    /// The `ToolError.toJSON()` shape of SPEC §2.
    pub fn to_json(&self) -> String {
        format!(
            "{{\"error_type\":\"{}\",\"source\":\"{}\",\"code\":\"{}\",\"message\":{}}}",
            self.error_type(),
            self.source().as_str(),
            self.code().as_str(),
            json_string(&self.message())
        )
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.denial.fmt(f)
    }
}

/// A JSON string literal (quotes included).
pub fn json_string(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_owned())
}

/// A number in a message: shortest form, float noise beyond 10 decimals trimmed (`0.6`, not
/// `0.6000000000000001`; `60000`, not `60000.0`). Formats on the stack: wording a refusal
/// allocates only the message itself.
#[derive(Debug, Clone, Copy)]
pub struct Num(pub f64);

impl fmt::Display for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = self.0;
        if !value.is_finite() {
            return write!(f, "{value}");
        }
        let mut digits = StackText::default();
        if fmt::write(&mut digits, format_args!("{value:.10}")).is_ok() {
            return write_trimmed(f, digits.as_str());
        }
        // Past the buffer (|value| around 1e53 and up): the same text, on the heap.
        write_trimmed(f, &format!("{value:.10}"))
    }
}

fn write_trimmed(f: &mut fmt::Formatter<'_>, digits: &str) -> fmt::Result {
    let trimmed = digits.trim_end_matches('0').trim_end_matches('.');
    f.write_str(if trimmed == "-0" { "0" } else { trimmed })
}

/// A fixed buffer for [`Num`]'s digits.
struct StackText {
    bytes: [u8; 64],
    len: usize,
}

impl Default for StackText {
    fn default() -> Self {
        Self {
            bytes: [0; 64],
            len: 0,
        }
    }
}

impl StackText {
    fn as_str(&self) -> &str {
        // Only whole `&str`s are ever appended, so the prefix is valid UTF-8.
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }
}

impl fmt::Write for StackText {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let end = self.len + text.len();
        let room = self.bytes.get_mut(self.len..end).ok_or(fmt::Error)?;
        room.copy_from_slice(text.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_starts_with_source_and_json_escapes() {
        let r = Rejection::from(ArgumentProblem::NotOneOf {
            field: "symbol",
            options: &["x"],
            got: "\"y\"".to_owned(),
        });
        assert!(r.message().starts_with("Arguments: "));
        let v: serde_json::Value = serde_json::from_str(&r.to_json()).expect("valid json");
        assert_eq!(v["error_type"], "InvalidArguments");
        assert_eq!(v["code"], "INVALID_ARGUMENTS");
        assert_eq!(
            v["message"],
            "Arguments: field `symbol` must be one of \"x\", got \"y\""
        );
    }

    #[test]
    fn numbers_are_trimmed() {
        let text = |value: f64| Num(value).to_string();
        assert_eq!(text(60000.0), "60000");
        assert_eq!(text(0.1 + 0.5), "0.6");
        assert_eq!(text(0.1 + 0.2), "0.3");
        assert_eq!(text(-0.0000000000001), "0");
        assert_eq!(text(12.5), "12.5");
        assert_eq!(text(-1200.5), "-1200.5");
        assert_eq!(text(f64::NAN), "NaN");
        assert_eq!(text(f64::INFINITY), "inf");
        // Past the stack buffer: the same digits.
        assert_eq!(
            text(1e60),
            "999999999999999949387135297074018866963645011013410073083904"
        );
        assert_eq!(text(-1e300).len(), 302);
    }

    /// One of every variant (the `match` below has no wildcard: a new variant does not compile
    /// until it is added here).
    fn one_of_each() -> Vec<Denial> {
        let symbol = || "BTC-USDT".to_owned();
        vec![
            Denial::InvalidArgument(ArgumentProblem::MissingField { field: "side" }),
            Denial::SymbolNotAllowed { symbol: symbol() },
            Denial::OrderNotional {
                notional: 6e4,
                limit: 5e4,
            },
            Denial::NoReferencePrice {
                symbol: symbol(),
                purpose: PricePurpose::PriceCollar,
            },
            Denial::NoReplacePrice {
                order_id: "7".to_owned(),
            },
            Denial::PositionAbs {
                projected: 11.0,
                limit: 10.0,
            },
            Denial::PositionUnknown { symbol: symbol() },
            Denial::DailyOrders {
                would_be: 4,
                limit: 3,
            },
            Denial::DailyCancels {
                would_be: 4,
                limit: 3,
            },
            Denial::OrderQuantity {
                quantity: 6.0,
                limit: 5.0,
            },
            Denial::MinOrderNotional {
                notional: 5.0,
                limit: 10.0,
            },
            Denial::StaleReferencePrice {
                symbol: symbol(),
                price: 2e4,
                age_ms: 61_000,
                max_age_ms: 60_000,
            },
            Denial::PriceCollar {
                price: 2.2e4,
                bps: 1000.004,
                reference: 2e4,
                collar_bps: 500.0,
            },
            Denial::DailyLoss {
                daily_pnl: -6e3,
                limit: 5e3,
            },
            Denial::OpenOrders {
                symbol: symbol(),
                would_be: 51,
                limit: 50,
                resting: 48,
                inflight: 1,
                uncertain: 1,
            },
            Denial::DuplicateOrder {
                symbol: symbol(),
                side: Side::Buy,
                order_type: OrderType::Limit,
                quantity: 0.5,
                price: Some(2e4),
                age_ms: 10,
                window_ms: 10_000,
            },
            Denial::SelfTrade {
                side: Side::Sell,
                price: None,
                resting_id: "r1".to_owned(),
                resting_price: 19_990.0,
                symbol: symbol(),
            },
            Denial::RateLimited {
                would_be: 11,
                window: RateWindow::Second,
                limit: 10,
            },
            Denial::BreakerOpen {
                rejections: 5,
                cooldown_remaining_ms: 0,
            },
            Denial::PnlBreakerOpen {
                daily_pnl: -600.0,
                floor: -500.0,
            },
            Denial::StateUnavailable {
                why: StateFailure::Unreachable,
            },
            Denial::ReduceOnly {
                position: 1.0,
                projected: 1.5,
            },
            Denial::TradingHalted,
            Denial::ReduceOnlyPositionUnknown { symbol: symbol() },
            Denial::PendingConfirmLimit { pending: 100 },
            Denial::TokenUnavailable {
                detail: "no entropy".to_owned(),
            },
            Denial::TokenInvalid,
            Denial::TokenOutsideTwoPhase {
                mode: SafetyMode::Direct,
            },
            Denial::TokenExpired {
                expired_ms_ago: 1,
                ttl_ms: 2,
            },
            Denial::TokenArgsMismatch,
            Denial::NotAnOpenOrder {
                order_id: "7".to_owned(),
            },
            Denial::Backend {
                kind: ErrorKindLabel::Timeout,
                detail: "no answer in 5000 ms".to_owned(),
            },
        ]
    }

    fn index(denial: &Denial) -> usize {
        match denial {
            Denial::InvalidArgument(_) => 0,
            Denial::SymbolNotAllowed { .. } => 1,
            Denial::OrderNotional { .. } => 2,
            Denial::NoReferencePrice { .. } => 3,
            Denial::NoReplacePrice { .. } => 4,
            Denial::PositionAbs { .. } => 5,
            Denial::PositionUnknown { .. } => 6,
            Denial::DailyOrders { .. } => 7,
            Denial::DailyCancels { .. } => 8,
            Denial::OrderQuantity { .. } => 9,
            Denial::MinOrderNotional { .. } => 10,
            Denial::StaleReferencePrice { .. } => 11,
            Denial::PriceCollar { .. } => 12,
            Denial::DailyLoss { .. } => 13,
            Denial::OpenOrders { .. } => 14,
            Denial::DuplicateOrder { .. } => 15,
            Denial::SelfTrade { .. } => 16,
            Denial::RateLimited { .. } => 17,
            Denial::BreakerOpen { .. } => 18,
            Denial::PnlBreakerOpen { .. } => 19,
            Denial::StateUnavailable { .. } => 20,
            Denial::ReduceOnly { .. } => 21,
            Denial::TradingHalted => 22,
            Denial::PendingConfirmLimit { .. } => 23,
            Denial::TokenUnavailable { .. } => 24,
            Denial::TokenInvalid => 25,
            Denial::TokenOutsideTwoPhase { .. } => 26,
            Denial::TokenExpired { .. } => 27,
            Denial::TokenArgsMismatch => 28,
            Denial::NotAnOpenOrder { .. } => 29,
            Denial::Backend { .. } => 30,
            Denial::ReduceOnlyPositionUnknown { .. } => 31,
        }
    }

    /// The module's invariant, for every variant: the text starts with `<Source>: `, the JSON
    /// carries the same code, source and text, and `error_type` is `InvalidArguments` exactly
    /// for `Arguments`.
    #[test]
    fn every_variant_words_itself_after_its_source() {
        let all = one_of_each();
        let mut seen: Vec<usize> = all.iter().map(index).collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen, (0..=31).collect::<Vec<_>>(), "one sample per variant");
        assert_eq!(all.len(), seen.len());
        for denial in all {
            let r = Rejection::from(denial.clone());
            let message = r.message();
            let prefix = format!("{}: ", r.source().as_str());
            assert!(message.starts_with(&prefix), "{message}");
            assert!(message.len() > prefix.len(), "{message}");
            assert_eq!(
                r.error_type() == "InvalidArguments",
                r.source() == Source::Arguments
            );
            let json: serde_json::Value = serde_json::from_str(&r.to_json()).expect("json");
            assert_eq!(json["code"], r.code().as_str());
            assert_eq!(json["source"], r.source().as_str());
            assert_eq!(json["message"], message.as_str());
            assert_eq!(denial.to_string(), message);
        }
    }

    /// The refusals the shared-state and trading-state work will raise: their code, source and
    /// exact text.
    #[test]
    fn state_and_trading_state_refusals_word_their_numbers() {
        let cases = [
            (
                Denial::StateUnavailable {
                    why: StateFailure::Timeout { timeout_ms: 250 },
                },
                Code::StateUnavailable,
                "RiskGate: risk state store unavailable (no answer within 250 ms): order not sent",
            ),
            (
                Denial::StateUnavailable {
                    why: StateFailure::Unreachable,
                },
                Code::StateUnavailable,
                "RiskGate: risk state store unavailable (unreachable): order not sent",
            ),
            (
                Denial::StateUnavailable {
                    why: StateFailure::InvalidReply,
                },
                Code::StateUnavailable,
                "RiskGate: risk state store unavailable (invalid reply): order not sent",
            ),
            (
                Denial::ReduceOnly {
                    position: 2.0,
                    projected: -0.5,
                },
                Code::ReduceOnly,
                "RiskGate: trading state REDUCING: order would move position from 2 to -0.5",
            ),
            (
                Denial::TradingHalted,
                Code::TradingHalted,
                "RiskGate: trading is HALTED: only cancels are accepted",
            ),
        ];
        for (denial, code, text) in cases {
            let r = Rejection::from(denial);
            assert_eq!(
                (r.code(), r.source(), r.error_type(), r.message().as_str()),
                (code, Source::RiskGate, "ExecutionFailed", text)
            );
        }
        assert_eq!(Code::StateUnavailable.as_str(), "STATE_UNAVAILABLE");
        assert_eq!(Code::ReduceOnly.as_str(), "REDUCE_ONLY");
        assert_eq!(Code::TradingHalted.as_str(), "TRADING_HALTED");
    }

    /// A store verdict (code + numbers) becomes the same text the in-process chain words.
    #[test]
    fn variants_built_from_numbers_word_them_like_the_chain() {
        let cases = [
            (
                Denial::DailyOrders {
                    would_be: 4,
                    limit: 3,
                },
                "RiskLimits: daily order count 4 exceeds limit 3",
            ),
            (
                Denial::PositionAbs {
                    projected: 0.1 + 0.2,
                    limit: 0.25,
                },
                "RiskLimits: projected position 0.3 exceeds max abs 0.25",
            ),
            (
                Denial::BreakerOpen {
                    rejections: 5,
                    cooldown_remaining_ms: 1200,
                },
                "RiskGate: circuit breaker open (rejections=5, cooldown_remaining_ms=1200)",
            ),
            (
                Denial::TokenExpired {
                    expired_ms_ago: 7,
                    ttl_ms: 30_000,
                },
                "SafetyMode: confirm_token expired 7 ms ago (ttl 30000 ms)",
            ),
            (
                Denial::DailyLoss {
                    daily_pnl: -1200.5,
                    limit: 1000.0,
                },
                "RiskLimits: daily loss 1200.5 exceeds max_daily_loss 1000 (daily_pnl=-1200.5)",
            ),
        ];
        for (denial, text) in cases {
            assert_eq!(denial.to_string(), text);
            assert!(text.starts_with(denial.source().as_str()));
        }
    }
}
