//! Denials as data: every way a tool call can be refused, with its machine-readable code.
//!
//! Invariant: a [`Rejection`]'s message always starts with its source's name followed by `": "`
//! (`RiskLimits: order notional 60000 exceeds limit 50000`), and `error_type` is `InvalidArguments`
//! exactly when the source is `Arguments`.

use std::fmt;

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
    ReduceOnly => "REDUCE_ONLY",
    TradingHalted => "TRADING_HALTED",
}

/// A refused tool call. Not an error of the library: a normal outcome the agent can act on.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    pub source: Source,
    pub code: Code,
    pub message: String,
}

impl Rejection {
    pub fn new(source: Source, code: Code, detail: impl fmt::Display) -> Self {
        Self {
            source,
            code,
            message: format!("{}: {detail}", source.as_str()),
        }
    }

    pub fn arguments(detail: impl fmt::Display) -> Self {
        Self::new(Source::Arguments, Code::InvalidArguments, detail)
    }

    pub fn error_type(&self) -> &'static str {
        self.source.error_type()
    }

    /// The `ToolError.toJSON()` shape of SPEC §2.
    pub fn to_json(&self) -> String {
        format!(
            "{{\"error_type\":\"{}\",\"source\":\"{}\",\"code\":\"{}\",\"message\":{}}}",
            self.error_type(),
            self.source.as_str(),
            self.code.as_str(),
            json_string(&self.message)
        )
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// A JSON string literal (quotes included).
pub fn json_string(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_owned())
}

/// Numbers in messages: shortest form, float noise beyond 10 decimals trimmed (`0.6`, not
/// `0.6000000000000001`; `60000`, not `60000.0`).
pub fn fmt_num(value: f64) -> String {
    if !value.is_finite() {
        return format!("{value}");
    }
    let rounded = format!("{value:.10}");
    let trimmed = rounded.trim_end_matches('0').trim_end_matches('.');
    if trimmed == "-0" {
        "0".to_owned()
    } else {
        trimmed.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_starts_with_source_and_json_escapes() {
        let r = Rejection::arguments("field `symbol` must be a string \"x\"");
        assert!(r.message.starts_with("Arguments: "));
        let v: serde_json::Value = serde_json::from_str(&r.to_json()).expect("valid json");
        assert_eq!(v["error_type"], "InvalidArguments");
        assert_eq!(v["code"], "INVALID_ARGUMENTS");
        assert_eq!(v["message"], r.message.as_str());
    }

    #[test]
    fn numbers_are_trimmed() {
        assert_eq!(fmt_num(60000.0), "60000");
        assert_eq!(fmt_num(0.1 + 0.5), "0.6");
        assert_eq!(fmt_num(0.1 + 0.2), "0.3");
        assert_eq!(fmt_num(-0.0000000000001), "0");
        assert_eq!(fmt_num(12.5), "12.5");
    }
}
