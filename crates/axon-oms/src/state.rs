//! In-memory OMS state and the events that change it.
//!
//! Invariants:
//! - State changes only through [`State::apply`] of an [`Event`]; `apply`
//!   validates the whole event first and mutates nothing when it returns `Err`.
//!   [`State::check`] is the same validation without mutation, so the OMS can
//!   check, journal, then apply.
//! - `apply` is deterministic: replaying the same events from
//!   [`State::default`] yields an identical (`==`) state. Order ids
//!   (`ord-00000001`, ...) are carried in the event and strictly increase:
//!   the next id is one above the highest id ever written (a
//!   [`Event::Recovered`] raises it past ids a recovery could not keep), never
//!   derived from the number of orders held, so an id is never handed out twice.
//! - One idempotency key maps to exactly one order. Keys named by a
//!   [`Event::Recovered`] (used by records a recovery could not keep) stay
//!   taken: a submit or replace under one is [`OmsError::IdempotencyKeyLost`].
//! - A replace is one event: the old order is cancelled (`replaced_by` set)
//!   and a new order is created (`replaces` set) with the next order id, under
//!   its own idempotency key, for the same symbol, side, type and client order
//!   id. Its quantity is the new total minus what the old order already filled
//!   (the old order keeps its fills), so the new total must exceed the filled
//!   quantity. Only open orders can be replaced; only Limit orders take a price.
//! - Marks (reference prices posted by whoever knows the market) are events
//!   too, so they survive restarts. The reference price of a symbol is its
//!   mark, else its last fill price, else none.
//! - Fills: only on `Acknowledged`/`PartiallyFilled` orders, quantity and price
//!   finite and > 0, never above the remaining quantity (overfill refused),
//!   never through the limit price; cash and every position stay finite.
//!   Buys debit cash by `qty * price` and add `qty` to the signed position;
//!   sells do the reverse. The average entry price is the VWAP of the open
//!   position; reducing it realizes PnL, flipping it restarts at the fill price.

use crate::error::OmsError;
use crate::order::{
    positive_finite, validate_id, validate_symbol, NewOrder, Order, OrderStatus, OrderType, Side,
    QTY_EPSILON,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};

/// A journaled state change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Event {
    /// A new order was accepted (state `New`).
    Submit {
        order_id: String,
        idempotency_key: String,
        order: NewOrder,
        ts_ms: u64,
    },
    /// A status change (submitted, acknowledged, rejected, cancelled).
    Transition {
        order_id: String,
        to: OrderStatus,
        reason: Option<String>,
        ts_ms: u64,
    },
    /// An execution.
    Fill {
        order_id: String,
        quantity: f64,
        price: f64,
        ts_ms: u64,
    },
    /// Cancel `order_id` and create `new_order_id` with the new price and/or
    /// total quantity, atomically.
    Replace {
        order_id: String,
        new_order_id: String,
        idempotency_key: String,
        price: Option<f64>,
        quantity: Option<f64>,
        ts_ms: u64,
    },
    /// A mark (reference) price for a symbol.
    Mark {
        symbol: String,
        price: f64,
        ts_ms: u64,
    },
    /// Written by `axon-oms --recover` after the records it kept: what the
    /// damaged journal (kept aside as `damaged_file`) held that could not be kept.
    Recovered {
        damaged_file: String,
        /// Ids at or below this were (or may have been) handed out.
        highest_order_id: Option<String>,
        /// Keys of records that were damaged or did not replay.
        lost_idempotency_keys: Vec<String>,
        /// Damaged stretches and set-aside records (for the audit trail).
        damaged_stretches: usize,
        set_aside_records: usize,
        ts_ms: u64,
    },
}

/// Where a reference price comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceSource {
    Mark,
    LastFill,
}

/// A signed position in one symbol.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Position {
    pub symbol: String,
    /// Signed quantity: > 0 long, < 0 short.
    pub quantity: f64,
    /// Average entry price of the open quantity (0 when flat).
    pub avg_entry_price: f64,
    /// PnL realized by reducing/closing the position, in quote currency.
    pub realized_pnl: f64,
}

/// Cash (quote currency, starts at 0 — it is the net cash flow) and positions.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Portfolio {
    pub cash: f64,
    pub positions: Vec<Position>,
}

/// The whole OMS state.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct State {
    orders: Vec<Order>,
    by_id: HashMap<String, usize>,
    by_key: HashMap<String, usize>,
    cash: f64,
    positions: BTreeMap<String, Position>,
    marks: BTreeMap<String, f64>,
    last_fills: BTreeMap<String, f64>,
    /// Number of the highest order id ever written (0: none).
    highest_order_number: u64,
    /// Keys a recovery could not keep the records of.
    lost_keys: HashSet<String>,
}

/// Format the id of the `n`-th order (1-based).
pub fn order_id(n: u64) -> String {
    format!("ord-{n:08}")
}

/// The number of an order id in canonical form (`ord-` and at least 8 digits,
/// no superfluous leading zeros), else `None`.
pub fn order_number(id: &str) -> Option<u64> {
    let n: u64 = id.strip_prefix("ord-")?.parse().ok()?;
    (order_id(n) == id).then_some(n)
}

/// The order a replace of `old` creates (ignores `old`'s status; the caller checks it).
pub fn replacement(
    old: &Order,
    price: Option<f64>,
    quantity: Option<f64>,
) -> Result<NewOrder, OmsError> {
    if price.is_none() && quantity.is_none() {
        return Err(OmsError::field(
            "price",
            "price and/or quantity is required",
        ));
    }
    if let Some(q) = quantity {
        positive_finite("quantity", q)?;
        if q <= old.filled_quantity + old.quantity * QTY_EPSILON {
            return Err(OmsError::field(
                "quantity",
                format!(
                    "new total {q} must be above the filled quantity {}",
                    old.filled_quantity
                ),
            ));
        }
    }
    let order = NewOrder {
        symbol: old.symbol.clone(),
        side: old.side,
        quantity: quantity.map_or_else(|| old.remaining(), |q| q - old.filled_quantity),
        order_type: old.order_type,
        price: price.or(old.price),
        client_order_id: old.client_order_id.clone(),
    };
    order.validate()?;
    Ok(order)
}

fn new_order(id: &str, key: &str, order: &NewOrder, ts_ms: u64) -> Order {
    Order {
        id: id.to_string(),
        idempotency_key: key.to_string(),
        symbol: order.symbol.clone(),
        side: order.side,
        quantity: order.quantity,
        order_type: order.order_type,
        price: order.price,
        client_order_id: order.client_order_id.clone(),
        status: OrderStatus::New,
        filled_quantity: 0.0,
        avg_fill_price: 0.0,
        reject_reason: None,
        created_at_ms: ts_ms,
        updated_at_ms: ts_ms,
        replaces: None,
        replaced_by: None,
    }
}

/// The position after a signed fill (the caller checks finiteness).
fn next_position(pos: &Position, signed_qty: f64, price: f64) -> Position {
    let old = pos.quantity;
    let q = signed_qty.abs();
    let mut p = pos.clone();
    let scale = old.abs().max(q);
    if old == 0.0 || old.signum() == signed_qty.signum() {
        p.avg_entry_price = (old.abs() * pos.avg_entry_price + q * price) / (old.abs() + q);
        p.quantity = old + signed_qty;
    } else {
        let closed = q.min(old.abs());
        p.realized_pnl += closed * (price - pos.avg_entry_price) * old.signum();
        let new = old + signed_qty;
        if new.abs() <= scale * QTY_EPSILON {
            p.quantity = 0.0;
            p.avg_entry_price = 0.0;
        } else {
            p.quantity = new;
            if q > old.abs() {
                p.avg_entry_price = price; // flipped side
            }
        }
    }
    p
}

impl State {
    /// All orders in creation order.
    pub fn orders(&self) -> &[Order] {
        &self.orders
    }

    /// Order by id.
    pub fn order(&self, id: &str) -> Option<&Order> {
        self.by_id.get(id).and_then(|&i| self.orders.get(i))
    }

    /// Order by idempotency key.
    pub fn order_by_key(&self, key: &str) -> Option<&Order> {
        self.by_key.get(key).and_then(|&i| self.orders.get(i))
    }

    /// Id the next submitted order will get: one above the highest ever written.
    pub fn next_order_id(&self) -> String {
        order_id(self.highest_order_number + 1)
    }

    /// Whether a recovery reserved `key` (its record could not be kept).
    pub fn is_lost_key(&self, key: &str) -> bool {
        self.lost_keys.contains(key)
    }

    /// The mark of `symbol`, else its last fill price.
    pub fn reference_price(&self, symbol: &str) -> Option<(f64, PriceSource)> {
        self.marks
            .get(symbol)
            .map(|&p| (p, PriceSource::Mark))
            .or_else(|| {
                self.last_fills
                    .get(symbol)
                    .map(|&p| (p, PriceSource::LastFill))
            })
    }

    /// Cash and positions (flat positions with realized PnL are kept).
    pub fn portfolio(&self) -> Portfolio {
        Portfolio {
            cash: self.cash,
            positions: self.positions.values().cloned().collect(),
        }
    }

    fn order_for(&self, id: &str) -> Result<(usize, &Order), OmsError> {
        self.by_id
            .get(id)
            .and_then(|&i| self.orders.get(i).map(|o| (i, o)))
            .ok_or_else(|| OmsError::OrderNotFound(id.to_string()))
    }

    /// Validate `ev` against the current state without changing anything.
    pub fn check(&self, ev: &Event) -> Result<(), OmsError> {
        self.plan(ev).map(|_| ())
    }

    /// Validate and apply `ev`. On `Err`, nothing changed.
    pub fn apply(&mut self, ev: &Event) -> Result<(), OmsError> {
        let plan = self.plan(ev)?;
        match plan {
            Plan::Insert(order) => self.insert(*order),
            Plan::Update {
                idx,
                order,
                cash,
                position,
                fill_price,
            } => {
                if let Some(p) = fill_price {
                    self.last_fills.insert(order.symbol.clone(), p);
                }
                if let Some(slot) = self.orders.get_mut(idx) {
                    *slot = *order;
                }
                if let Some(c) = cash {
                    self.cash = c;
                }
                if let Some(p) = position {
                    self.positions.insert(p.symbol.clone(), p);
                }
            }
            Plan::Replace { idx, old, new } => {
                if let Some(slot) = self.orders.get_mut(idx) {
                    *slot = *old;
                }
                self.insert(*new);
            }
            Plan::Mark { symbol, price } => {
                self.marks.insert(symbol, price);
            }
            Plan::Reserve { highest, keys } => {
                self.highest_order_number = self.highest_order_number.max(highest);
                self.lost_keys.extend(keys);
            }
        }
        Ok(())
    }

    fn insert(&mut self, order: Order) {
        if let Some(n) = order_number(&order.id) {
            self.highest_order_number = self.highest_order_number.max(n);
        }
        let idx = self.orders.len();
        self.by_id.insert(order.id.clone(), idx);
        self.by_key.insert(order.idempotency_key.clone(), idx);
        self.orders.push(order);
    }

    /// A new order under `key` with id `order_id` is allowed (key unused and
    /// not lost, id above every id written so far).
    fn check_new(&self, order_id: &str, key: &str) -> Result<(), OmsError> {
        validate_id("idempotency_key", key)?;
        if let Some(existing) = self.order_by_key(key) {
            return Err(OmsError::IdempotencyConflict {
                key: key.to_string(),
                existing_order_id: existing.id.clone(),
            });
        }
        if self.lost_keys.contains(key) {
            return Err(OmsError::IdempotencyKeyLost {
                key: key.to_string(),
            });
        }
        if order_number(order_id).is_none_or(|n| n <= self.highest_order_number) {
            return Err(OmsError::Journal(format!(
                "event carries order id {order_id}, expected one from {} on",
                self.next_order_id()
            )));
        }
        Ok(())
    }

    /// Compute the full effect of `ev` (pure).
    fn plan(&self, ev: &Event) -> Result<Plan, OmsError> {
        match ev {
            Event::Submit {
                order_id,
                idempotency_key,
                order,
                ts_ms,
            } => {
                order.validate()?;
                self.check_new(order_id, idempotency_key)?;
                Ok(Plan::Insert(Box::new(new_order(
                    order_id,
                    idempotency_key,
                    order,
                    *ts_ms,
                ))))
            }
            Event::Replace {
                order_id,
                new_order_id,
                idempotency_key,
                price,
                quantity,
                ts_ms,
            } => {
                let (idx, cur) = self.order_for(order_id)?;
                if !cur.status.can_transition(OrderStatus::Cancelled) {
                    return Err(OmsError::IllegalTransition {
                        id: order_id.clone(),
                        from: cur.status,
                        to: OrderStatus::Cancelled,
                    });
                }
                let request = replacement(cur, *price, *quantity)?;
                self.check_new(new_order_id, idempotency_key)?;
                let mut old = cur.clone();
                old.status = OrderStatus::Cancelled;
                old.updated_at_ms = *ts_ms;
                old.replaced_by = Some(new_order_id.clone());
                let mut new = new_order(new_order_id, idempotency_key, &request, *ts_ms);
                new.replaces = Some(order_id.clone());
                Ok(Plan::Replace {
                    idx,
                    old: Box::new(old),
                    new: Box::new(new),
                })
            }
            Event::Recovered {
                highest_order_id,
                lost_idempotency_keys,
                ..
            } => {
                let highest = match highest_order_id {
                    None => 0,
                    Some(id) => order_number(id).ok_or_else(|| {
                        OmsError::field("highest_order_id", format!("`{id}` is not an order id"))
                    })?,
                };
                Ok(Plan::Reserve {
                    highest,
                    keys: lost_idempotency_keys
                        .iter()
                        .filter(|k| !self.by_key.contains_key(*k))
                        .cloned()
                        .collect(),
                })
            }
            Event::Mark { symbol, price, .. } => {
                validate_symbol(symbol)?;
                positive_finite("price", *price)?;
                Ok(Plan::Mark {
                    symbol: symbol.clone(),
                    price: *price,
                })
            }
            Event::Transition {
                order_id,
                to,
                reason,
                ts_ms,
            } => {
                let (idx, cur) = self.order_for(order_id)?;
                if matches!(
                    to,
                    OrderStatus::New | OrderStatus::PartiallyFilled | OrderStatus::Filled
                ) {
                    return Err(OmsError::field(
                        "status",
                        format!("`{to}` cannot be set directly (use submit or fills)"),
                    ));
                }
                if !cur.status.can_transition(*to) {
                    return Err(OmsError::IllegalTransition {
                        id: order_id.clone(),
                        from: cur.status,
                        to: *to,
                    });
                }
                if let Some(r) = reason {
                    if r.len() > 1024 {
                        return Err(OmsError::field("reason", "must be at most 1024 bytes"));
                    }
                }
                let mut order = cur.clone();
                order.status = *to;
                order.updated_at_ms = *ts_ms;
                if *to == OrderStatus::Rejected {
                    order.reject_reason = reason.clone();
                }
                Ok(Plan::Update {
                    idx,
                    order: Box::new(order),
                    cash: None,
                    position: None,
                    fill_price: None,
                })
            }
            Event::Fill {
                order_id,
                quantity,
                price,
                ts_ms,
            } => {
                let (idx, cur) = self.order_for(order_id)?;
                positive_finite("quantity", *quantity)?;
                positive_finite("price", *price)?;
                let tol = cur.quantity * QTY_EPSILON;
                let new_filled = cur.filled_quantity + quantity;
                let completes = new_filled >= cur.quantity - tol;
                let target = if completes {
                    OrderStatus::Filled
                } else {
                    OrderStatus::PartiallyFilled
                };
                if !cur.status.can_transition(target) {
                    return Err(OmsError::IllegalTransition {
                        id: order_id.clone(),
                        from: cur.status,
                        to: target,
                    });
                }
                if new_filled > cur.quantity + tol {
                    return Err(OmsError::Overfill {
                        id: order_id.clone(),
                        quantity: cur.quantity,
                        filled: cur.filled_quantity,
                        fill: *quantity,
                    });
                }
                if let (OrderType::Limit, Some(limit)) = (cur.order_type, cur.price) {
                    let ptol = limit * QTY_EPSILON;
                    match cur.side {
                        Side::Buy if *price > limit + ptol => {
                            return Err(OmsError::field(
                                "price",
                                format!("fill price {price} is above the buy limit {limit}"),
                            ))
                        }
                        Side::Sell if *price < limit - ptol => {
                            return Err(OmsError::field(
                                "price",
                                format!("fill price {price} is below the sell limit {limit}"),
                            ))
                        }
                        _ => {}
                    }
                }
                let notional = quantity * price;
                let (signed, cash) = match cur.side {
                    Side::Buy => (*quantity, self.cash - notional),
                    Side::Sell => (-*quantity, self.cash + notional),
                };
                let default_pos = Position {
                    symbol: cur.symbol.clone(),
                    ..Position::default()
                };
                let pos = self.positions.get(&cur.symbol).unwrap_or(&default_pos);
                let new_pos = next_position(pos, signed, *price);
                let mut order = cur.clone();
                let filled = if completes { cur.quantity } else { new_filled };
                order.avg_fill_price = (cur.filled_quantity * cur.avg_fill_price
                    + quantity * price)
                    / (cur.filled_quantity + quantity);
                order.filled_quantity = filled;
                order.status = target;
                order.updated_at_ms = *ts_ms;
                let all_finite = [
                    notional,
                    cash,
                    new_pos.quantity,
                    new_pos.avg_entry_price,
                    new_pos.realized_pnl,
                    order.avg_fill_price,
                ]
                .iter()
                .all(|v| v.is_finite());
                if !all_finite {
                    return Err(OmsError::field("price", "fill notional overflows"));
                }
                Ok(Plan::Update {
                    idx,
                    order: Box::new(order),
                    cash: Some(cash),
                    position: Some(new_pos),
                    fill_price: Some(*price),
                })
            }
        }
    }
}

#[derive(Debug)]
enum Plan {
    Insert(Box<Order>),
    Update {
        idx: usize,
        order: Box<Order>,
        cash: Option<f64>,
        position: Option<Position>,
        fill_price: Option<f64>,
    },
    Replace {
        idx: usize,
        old: Box<Order>,
        new: Box<Order>,
    },
    Mark {
        symbol: String,
        price: f64,
    },
    Reserve {
        highest: u64,
        keys: Vec<String>,
    },
}
