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
}
