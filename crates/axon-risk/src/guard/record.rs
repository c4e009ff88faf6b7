//! Settling a sent call: exposure released or kept, daily slots given back on a definite
//! rejection, the order cache taught by the ack.

use super::*;

impl Guard {
    /// Settle a `Send` decision. Returns the agent-facing rejection for a failed backend call.
    pub fn record(
        &mut self,
        ticket: u64,
        outcome: Outcome<'_>,
        elapsed_seconds: f64,
    ) -> Result<Option<Rejection>, GuardError> {
        let inflight = self.close_ticket(ticket)?;
        Ok(self.settle(inflight, outcome, elapsed_seconds))
    }

    /// The outcome of a closed ticket: release its exposure, count it, learn or give back. An
    /// unknown outcome keeps both its daily slot and its exposure (as uncertain, see `MarketState`).
    fn settle(
        &mut self,
        inflight: Inflight,
        outcome: Outcome<'_>,
        elapsed_seconds: f64,
    ) -> Option<Rejection> {
        if let (Some(index), Some((side, quantity))) = (inflight.symbol, inflight.exposure) {
            let state = &mut self.market[index as usize];
            state.add_inflight(side, -quantity);
            // Float sums drift; never let released exposure go negative.
            state.inflight_buy = state.inflight_buy.max(0.0);
            state.inflight_sell = state.inflight_sell.max(0.0);
            if matches!(outcome, Outcome::Failed { kind, .. } if !definite_failure(kind)) {
                state.add_uncertain(side, quantity);
            }
        }
        if let Outcome::Failed { kind, .. } = outcome {
            self.controls.settle(
                inflight.controls,
                definite_failure(kind),
                !definite_failure(kind),
            );
        } else {
            self.controls.settle(inflight.controls, false, false);
        }
        let label = inflight.tool.label();
        self.metrics.observe_duration(label, elapsed_seconds);
        match outcome {
            Outcome::Acked { order_id, status } => {
                self.learn_from_ack(&inflight.learn, order_id, status);
                self.metrics
                    .inc_orders(label, inflight.side, StatusLabel::Success);
                None
            }
            Outcome::Failed { kind, message } => {
                if definite_failure(kind) {
                    let now = self.clock.now_ms();
                    if let Some(day) = inflight.order_day {
                        self.daily_orders.release(now, day);
                        self.metrics
                            .set_daily_orders(self.daily_orders.count(now) as i64);
                    }
                    if let Some(day) = inflight.cancel_day {
                        self.daily_cancels.release(now, day);
                    }
                }
                self.metrics
                    .inc_orders(label, inflight.side, StatusLabel::Failed);
                self.metrics.inc_backend_error(self.config.backend, kind);
                Some(backend_rejection(kind, message))
            }
        }
    }

    /// Settle a successful `Send` and write the agent's OrderAck JSON: id, status, quantity and time
    /// as the backend acknowledged them; symbol and side of the order the ticket stands for (the
    /// backend's, `symbol`/`side`, only where the ticket has none, as for a cancel of an order the
    /// guard did not know).
    #[allow(clippy::too_many_arguments)]
    pub fn record_ack(
        &mut self,
        ticket: u64,
        order_id: &str,
        status: AckStatus,
        symbol: Option<&str>,
        side: Option<Side>,
        quantity: f64,
        timestamp_ms: i64,
        elapsed_seconds: f64,
    ) -> Result<String, GuardError> {
        let inflight = self.close_ticket(ticket)?;
        let own_symbol = inflight
            .symbol
            .and_then(|i| self.symbols.get(i as usize))
            .map(|s| &**s);
        let own_side = match inflight.side {
            SideLabel::Buy => Some(Side::Buy),
            SideLabel::Sell => Some(Side::Sell),
            SideLabel::None => None,
        };
        let json = order_ack_json(
            order_id,
            own_symbol.or(symbol),
            own_side.or(side),
            Some(quantity),
            status.as_str(),
            timestamp_ms,
            None,
        );
        self.settle(
            inflight,
            Outcome::Acked { order_id, status },
            elapsed_seconds,
        );
        Ok(json)
    }

    fn learn_from_ack(&mut self, learn: &Learn, order_id: &str, status: AckStatus) {
        match learn {
            Learn::Resting(known)
                if matches!(status, AckStatus::New | AckStatus::PartiallyFilled) =>
            {
                self.insert_order(order_id, *known);
            }
            Learn::Forget(old_id) => {
                self.remove_order(old_id);
            }
            Learn::Replaced(old_id, known) => {
                self.remove_order(old_id);
                if !matches!(status, AckStatus::Filled | AckStatus::Cancelled) {
                    self.insert_order(order_id, *known);
                }
            }
            Learn::Resting(_) | Learn::Nothing => {}
        }
    }
}

/// A failure that proves the order does not exist at the venue (its slot and exposure go back).
fn definite_failure(kind: ErrorKindLabel) -> bool {
    matches!(
        kind,
        ErrorKindLabel::Rejected
            | ErrorKindLabel::InsufficientFunds
            | ErrorKindLabel::SymbolNotFound
    )
}
