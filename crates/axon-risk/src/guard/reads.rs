//! The read tools that reach past the guard (`get_book_snapshot`, `get_pnl`, `finish_bar`).
//!
//! Invariants: only the arguments are checked (a refusal names the field and moves no metric: read
//! tools have no `trading_orders_total` series); an accepted read is a `Send` with a ticket that
//! reserves, learns and exposes nothing, in every mode, whatever the gates say; settling it
//! (`record`) observes its duration under its own tool label and counts no order.

use super::*;

impl Guard {
    /// A read tool's parsed arguments: a read ticket, or the parser's refusal.
    pub(super) fn decide_read(
        &mut self,
        tool: ToolKind,
        parsed: Result<Action, Rejection>,
    ) -> Decision {
        match parsed {
            Ok(action) => {
                let ticket = self.open_ticket(Inflight {
                    tool,
                    side: SideLabel::None,
                    symbol: None,
                    exposure: None,
                    order_day: None,
                    cancel_day: None,
                    learn: Learn::Nothing,
                    controls: Taken::default(),
                });
                Decision::Send { ticket, action }
            }
            Err(r) => self.reject_arguments(tool, r),
        }
    }
}
