//! Writes a guard [`Decision`] into the numbers of the decision buffer (see [`super::layout`]) and
//! the one string that travels as the return value.
//!
//! Why numbers: a JS object per decision costs a key lookup and a map transition per property,
//! several times the whole risk check. The string is: DONE the OrderAck JSON, REJECTED the
//! message, SEND place the client order id (the symbol is named by slot `Market`), SEND
//! cancel/replace the order id, SEND query and pnl the symbol filter (empty for none), SEND
//! book_snapshot the symbol (slot `Levels` the levels), SEND finish_bar the note (empty for none),
//! NEED_MARKET the symbol, NEED_ORDER the order id, NEED_STATE the store request as JSON (see
//! `axon_risk::guard::shared`; a store round trip follows, so JSON costs nothing that matters).
//!
//! Invariant: every slot a decision does not give is NaN (the buffer is reset per decision).

use axon_risk::{Action, Code, Decision, Source};

use super::layout::{action, kind, slot, DECISION_SLOTS};

fn opt(value: Option<f64>) -> f64 {
    value.unwrap_or(f64::NAN)
}

pub(crate) fn write_decision(decision: Decision, out: &mut [f64; DECISION_SLOTS]) -> String {
    match decision {
        Decision::Done { ack_json, status } => {
            out[slot::KIND] = kind::DONE;
            out[slot::STATUS] = f64::from(status as u32);
            ack_json
        }
        Decision::Rejected(r) => {
            out[slot::KIND] = kind::REJECTED;
            let (code, source) = (r.code(), r.source());
            out[slot::CODE] = Code::ALL.iter().position(|c| *c == code).unwrap_or(0) as f64;
            out[slot::SOURCE] = Source::ALL.iter().position(|s| *s == source).unwrap_or(0) as f64;
            // The refusal's text is made here, at the edge, from the typed denial.
            r.message()
        }
        Decision::Send { ticket, action } => {
            out[slot::KIND] = kind::SEND;
            out[slot::TICKET] = ticket as f64;
            match action {
                Action::Place(o) => {
                    out[slot::ACTION] = action::PLACE;
                    out[slot::SIDE] = f64::from(o.side as u32);
                    out[slot::QUANTITY] = o.quantity;
                    out[slot::ORDER_TYPE] = f64::from(o.order_type as u32);
                    out[slot::PRICE] = opt(o.price);
                    out[slot::STOP_LOSS] = opt(o.stop_loss);
                    out[slot::TAKE_PROFIT] = opt(o.take_profit);
                    out[slot::TIME_IN_FORCE] = f64::from(o.time_in_force as u32);
                    out[slot::MARKET] = f64::from(o.market_slot);
                    o.client_order_id
                }
                Action::Cancel { order_id } => {
                    out[slot::ACTION] = action::CANCEL;
                    order_id
                }
                Action::Replace {
                    order_id,
                    price,
                    quantity,
                } => {
                    out[slot::ACTION] = action::REPLACE;
                    out[slot::QUANTITY] = opt(quantity);
                    out[slot::PRICE] = opt(price);
                    order_id
                }
                Action::Query { symbol } => {
                    out[slot::ACTION] = action::QUERY;
                    symbol.unwrap_or_default()
                }
                Action::BookSnapshot { symbol, levels } => {
                    out[slot::ACTION] = action::BOOK_SNAPSHOT;
                    out[slot::LEVELS] = f64::from(levels);
                    symbol
                }
                Action::Pnl { symbol } => {
                    out[slot::ACTION] = action::PNL;
                    symbol.unwrap_or_default()
                }
                Action::FinishBar { note } => {
                    out[slot::ACTION] = action::FINISH_BAR;
                    note.unwrap_or_default()
                }
            }
        }
        Decision::NeedMarket { symbol } => {
            out[slot::KIND] = kind::NEED_MARKET;
            symbol
        }
        Decision::NeedOrder { order_id } => {
            out[slot::KIND] = kind::NEED_ORDER;
            order_id
        }
        Decision::NeedState(request) => {
            out[slot::KIND] = kind::NEED_STATE;
            request.to_json()
        }
    }
}
