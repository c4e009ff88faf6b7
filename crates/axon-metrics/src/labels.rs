//! Label values of the SPEC §7 metrics as closed enums.
//!
//! Invariant: `index()` is dense from 0 and `ALL[i].index() == i`, so a label set maps to a fixed
//! array slot without hashing.

macro_rules! label_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: [$name; [$($text),+].len()] = [$($name::$variant),+];

            #[inline]
            pub fn index(self) -> usize {
                self as usize
            }

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
        }
    };
}

label_enum!(
    /// `tool` label. The read tools (`Query` and after) exist only on the duration histogram.
    ToolLabel {
        Place => "place",
        Cancel => "cancel",
        Replace => "replace",
        Query => "query",
        BookSnapshot => "book_snapshot",
        Pnl => "pnl",
        FinishBar => "finish_bar",
    }
);

impl ToolLabel {
    /// Tools that have a `trading_orders_total` series.
    pub const ORDER_TOOLS: [ToolLabel; 3] =
        [ToolLabel::Place, ToolLabel::Cancel, ToolLabel::Replace];

    /// Whether the tool changes orders (and so has a `trading_orders_total` series).
    #[inline]
    pub fn is_order_tool(self) -> bool {
        matches!(
            self,
            ToolLabel::Place | ToolLabel::Cancel | ToolLabel::Replace
        )
    }
}

label_enum!(SideLabel { Buy => "buy", Sell => "sell", None => "none" });
label_enum!(StatusLabel { Success => "success", Rejected => "rejected", Failed => "failed" });
label_enum!(RejectionSource { RiskLimits => "risk_limits", RiskGate => "risk_gate", SafetyMode => "safety_mode" });
label_enum!(
    /// `code` label of `trading_risk_rejections_total`: a refusal's machine code (SPEC §2) in lower
    /// snake case. Same codes, same order as axon-risk's `Code::ALL` (a test there checks it, and
    /// `Code::metric_label` maps one onto the other by an exhaustive `match`). The Arguments and
    /// Backend codes are listed so the mapping is total, but the guard never counts them here.
    RejectionCode {
        InvalidArguments => "invalid_arguments",
        SymbolNotAllowed => "symbol_not_allowed",
        MaxOrderNotional => "max_order_notional",
        MaxPositionAbs => "max_position_abs",
        MaxDailyOrders => "max_daily_orders",
        MaxDailyCancels => "max_daily_cancels",
        NoReferencePrice => "no_reference_price",
        CircuitBreakerOpen => "circuit_breaker_open",
        PnlBreakerOpen => "pnl_breaker_open",
        ConfirmTokenInvalid => "confirm_token_invalid",
        ConfirmTokenExpired => "confirm_token_expired",
        ConfirmArgsMismatch => "confirm_args_mismatch",
        PendingConfirmLimit => "pending_confirm_limit",
        BackendNetwork => "backend_network",
        BackendRejected => "backend_rejected",
        BackendTimeout => "backend_timeout",
        BackendInsufficientFunds => "backend_insufficient_funds",
        BackendSymbolNotFound => "backend_symbol_not_found",
        BackendOther => "backend_other",
        PriceCollar => "price_collar",
        StaleReferencePrice => "stale_reference_price",
        MaxOrderQuantity => "max_order_quantity",
        MinOrderNotional => "min_order_notional",
        RateLimited => "rate_limited",
        DuplicateOrder => "duplicate_order",
        MaxOpenOrders => "max_open_orders",
        SelfTrade => "self_trade",
        StateUnavailable => "state_unavailable",
        ReduceOnly => "reduce_only",
        TradingHalted => "trading_halted",
    }
);

/// The `{source, code}` pairs of `trading_risk_rejections_total` the risk chain produces. They are
/// exported from the first scrape, at 0, so `rate()` and alerts see the first refusal; any other
/// pair is exported once it is non-zero, so nothing counted is ever hidden. axon-risk tests that
/// every refusal of these three sources lands on a listed pair and that no pair is stale.
pub const RISK_REJECTION_SERIES: [(RejectionSource, RejectionCode); 24] = {
    use RejectionCode as C;
    use RejectionSource::{RiskGate, RiskLimits, SafetyMode};
    [
        (RiskLimits, C::SymbolNotAllowed),
        (RiskLimits, C::MaxOrderNotional),
        (RiskLimits, C::MaxPositionAbs),
        (RiskLimits, C::MaxDailyOrders),
        (RiskLimits, C::MaxDailyCancels),
        (RiskLimits, C::NoReferencePrice),
        (RiskLimits, C::PnlBreakerOpen),
        (RiskLimits, C::PriceCollar),
        (RiskLimits, C::StaleReferencePrice),
        (RiskLimits, C::MaxOrderQuantity),
        (RiskLimits, C::MinOrderNotional),
        (RiskLimits, C::RateLimited),
        (RiskLimits, C::DuplicateOrder),
        (RiskLimits, C::MaxOpenOrders),
        (RiskLimits, C::SelfTrade),
        (RiskGate, C::CircuitBreakerOpen),
        (RiskGate, C::PnlBreakerOpen),
        (RiskGate, C::StateUnavailable),
        (RiskGate, C::ReduceOnly),
        (RiskGate, C::TradingHalted),
        (SafetyMode, C::ConfirmTokenInvalid),
        (SafetyMode, C::ConfirmTokenExpired),
        (SafetyMode, C::ConfirmArgsMismatch),
        (SafetyMode, C::PendingConfirmLimit),
    ]
};

label_enum!(
    /// `backend` label; `Other` covers user-written backends.
    BackendLabel { Mock => "mock", Exchange => "exchange", Oms => "oms", Backtest => "backtest", Other => "other" }
);
label_enum!(ErrorKindLabel {
    Network => "network",
    Rejected => "rejected",
    Timeout => "timeout",
    InsufficientFunds => "insufficient_funds",
    SymbolNotFound => "symbol_not_found",
    Other => "other",
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_are_dense_and_round_trip() {
        for (i, kind) in ErrorKindLabel::ALL.iter().enumerate() {
            assert_eq!(kind.index(), i);
            assert_eq!(ErrorKindLabel::parse(kind.as_str()), Some(*kind));
        }
        assert_eq!(BackendLabel::parse("nope"), None);
    }

    #[test]
    fn rejection_codes_are_lower_snake_case_and_round_trip() {
        for (i, code) in RejectionCode::ALL.iter().enumerate() {
            assert_eq!(code.index(), i);
            assert_eq!(RejectionCode::parse(code.as_str()), Some(*code));
            assert!(
                code.as_str()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{code:?}"
            );
        }
    }

    #[test]
    fn exported_rejection_pairs_are_distinct_and_never_arguments_or_backend_codes() {
        for (i, pair) in RISK_REJECTION_SERIES.iter().enumerate() {
            assert!(!RISK_REJECTION_SERIES[..i].contains(pair), "{pair:?} twice");
            let code = pair.1.as_str();
            assert!(
                code != "invalid_arguments" && !code.starts_with("backend_"),
                "{code}"
            );
        }
    }
}
