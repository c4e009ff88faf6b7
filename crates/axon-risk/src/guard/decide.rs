//! Deciding a tool call: one chain for place and replace, the cancel and query decisions.

use std::borrow::Cow;

use super::market::position_check;
use super::shared::{
    duplicate_key, fields_hash, refusal_rejection, state_failure, state_unavailable, RefusedOrder,
};
use super::*;
use crate::rejection::StateFailure;

/// An order as the shared chain checks it (see [`Guard::check_order`]).
struct ChainOrder<'a> {
    tool: ToolKind,
    /// The symbol's market slot; `None` for a symbol this guard may not trade.
    market: Option<u32>,
    symbol: &'a str,
    side: Side,
    order_type: OrderType,
    /// Quantity and price the notional limit values (price NaN: none known).
    quantity: f64,
    price: f64,
    no_price: NoPrice<'a>,
    /// Signed change of the position if the order fills.
    position_delta: f64,
    /// A new order takes a daily order slot; a replace does not.
    new_order: bool,
    /// Shared mode: the store reservation id of a new order (`place:<client order id>`).
    reservation_id: Option<&'a str>,
}

/// What the notional limit says when it has no price.
enum NoPrice<'a> {
    MarketOrder,
    Replace(&'a str),
}

/// The order id of an ack the guard writes: one it makes up, or the order's own (a replace).
enum AckId<'a> {
    Generated,
    Given(&'a str),
}

impl Guard {
    pub fn decide(&mut self, tool: ToolKind, args: &str, refreshed: bool) -> Decision {
        let started = Instant::now();
        let now = self.clock.now_ms();
        match tool {
            ToolKind::PlaceOrder => self.decide_place(args, refreshed, now, started),
            ToolKind::CancelOrder => self.decide_cancel(args, now, started),
            ToolKind::ReplaceOrder => self.decide_replace(args, refreshed, now, started),
            ToolKind::QueryPortfolio => {
                match args::parse_query_portfolio(args, self.config.max_args_bytes) {
                    Ok(a) => {
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
                        Decision::Send {
                            ticket,
                            action: Action::Query {
                                symbol: a.symbol.map(|s| s.into_owned()),
                            },
                        }
                    }
                    Err(r) => self.reject_arguments(tool, r),
                }
            }
            ToolKind::GetBookSnapshot => {
                let parsed = args::parse_book_snapshot(args, self.config.max_args_bytes);
                self.decide_read(
                    tool,
                    parsed.map(|a| Action::BookSnapshot {
                        symbol: a.symbol.into_owned(),
                        levels: a.levels,
                    }),
                )
            }
            ToolKind::GetPnl => {
                let parsed = args::parse_pnl(args, self.config.max_args_bytes);
                self.decide_read(
                    tool,
                    parsed.map(|a| Action::Pnl {
                        symbol: a.symbol.map(Cow::into_owned),
                    }),
                )
            }
            ToolKind::FinishBar => {
                let parsed = args::parse_finish_bar(args, self.config.max_args_bytes);
                self.decide_read(
                    tool,
                    parsed.map(|a| Action::FinishBar {
                        note: a.note.map(Cow::into_owned),
                    }),
                )
            }
        }
    }

    fn decide_place(&mut self, raw: &str, refreshed: bool, now: i64, started: Instant) -> Decision {
        const TOOL: ToolKind = ToolKind::PlaceOrder;
        let a = match args::parse_place_order(raw, self.config.max_args_bytes) {
            Ok(a) => a,
            Err(r) => return self.reject_arguments(TOOL, r),
        };
        let market = self.tradable(&a.symbol);
        let limits = &self.config.limits;
        let controls = &self.config.controls;
        let needs_price = (a.order_type == OrderType::Market
            && (limits.max_order_notional.is_some() || controls.min_order_notional.is_some()))
            || controls.needs_reference();
        // The position limit needs the venue's position in every mode: in shared mode the store
        // checks the account's orders in flight on every replica, and this check the position the
        // venue reports (opened outside these tools too), so both must pass. REDUCING needs it too.
        let needs_position = limits.max_position_abs.is_some() || self.reducing();
        if let (Some(index), false) = (market, self.halted()) {
            self.pull_feed(index);
            let state = &self.market[index as usize];
            let unusable = (needs_price || needs_position)
                && !state.fresh(now, self.config.market_data_max_age_ms);
            if !refreshed && (unusable || self.controls.reference_stale(state.price_at_ms, now)) {
                return Decision::NeedMarket {
                    symbol: a.symbol.into_owned(),
                };
            }
        }
        let price = match (a.order_type, market) {
            (OrderType::Limit, _) => a.price.unwrap_or(f64::NAN),
            (OrderType::Market, Some(index)) => self.market[index as usize].price,
            (OrderType::Market, None) => f64::NAN,
        };
        // Shared mode: the reservation is named by the client order id (made up here if the call
        // has none; the re-run gets it back with the verdict), so a retried call never reserves
        // twice. A caller's id is this guard's (its random prefix) and bound to the order's fields:
        // another replica, or another order under the same id, reserves its own.
        let reservation_id = if self.shared() {
            Some(match (&a.client_order_id, &self.verdict) {
                (Some(id), _) => format!(
                    "place:{}:{id}:{}",
                    self.id_prefix,
                    &fields_hash(&pending_place(&a))[..16]
                ),
                (None, Some(StateVerdict::Granted { reservation_id, .. })) => {
                    reservation_id.clone()
                }
                (None, _) => {
                    self.id_seq += 1;
                    format!(
                        "place:{}",
                        generated_id("axon", &self.id_prefix, self.id_seq)
                    )
                }
            })
        } else {
            None
        };
        let order = ChainOrder {
            tool: TOOL,
            market,
            symbol: &a.symbol,
            side: a.side,
            order_type: a.order_type,
            quantity: a.quantity,
            price,
            no_price: NoPrice::MarketOrder,
            position_delta: a.side.sign() * a.quantity,
            new_order: true,
            reservation_id: reservation_id.as_deref(),
        };
        let (sends, index) = match self.check_order(
            &order,
            a.confirm_token.as_deref(),
            || pending_place(&a),
            now,
            started,
        ) {
            Ok(checked) => checked,
            Err(rejected) => return rejected,
        };
        let side = side_label(a.side);
        if !sends {
            return self.propose(
                TOOL,
                side,
                pending_place(&a),
                AckId::Generated,
                Some(&a.symbol),
                a.side,
                a.quantity,
                now,
                started,
            );
        }

        // Reservation: checked above under the same &mut borrow, so it cannot fail here. In shared
        // mode the store holds the account's count; this one counts the process's own orders.
        let local_limit = if self.shared() {
            None
        } else {
            self.config.limits.max_daily_orders
        };
        let order_day = match self.daily_orders.try_reserve(now, local_limit) {
            Ok(day) => day,
            Err(would_be) => {
                let r = limits::daily_orders_rejection(
                    would_be,
                    self.config.limits.max_daily_orders.unwrap_or(0),
                );
                return self.reject(TOOL, side, r, started);
            }
        };
        self.metrics
            .set_daily_orders(self.daily_orders.count(now) as i64);
        self.market[index as usize].add_inflight(a.side, a.quantity);
        let taken = self.controls.on_send_order(
            &control_order(
                index,
                &a.symbol,
                a.side,
                a.order_type,
                a.quantity,
                a.price,
                true,
            ),
            now,
        );
        let client_order_id = match (&a.client_order_id, &reservation_id) {
            (Some(id), _) => id.clone().into_owned(),
            // Only a made-up id (no fields suffix) is read back from the reservation.
            (None, Some(reserved)) => reserved.trim_start_matches("place:").to_owned(),
            (None, None) => {
                self.id_seq += 1;
                generated_id("axon", &self.id_prefix, self.id_seq)
            }
        };
        let learn_price = if a.order_type == OrderType::Limit {
            price
        } else {
            f64::NAN
        };
        let order = OrderToSend {
            symbol: Arc::clone(&self.symbols[index as usize]),
            market_slot: index,
            side: a.side,
            quantity: a.quantity,
            order_type: a.order_type,
            price: a.price,
            stop_loss: a.stop_loss,
            take_profit: a.take_profit,
            time_in_force: a.time_in_force,
            client_order_id,
        };
        let ticket = self.open_ticket(Inflight {
            tool: TOOL,
            side,
            symbol: Some(index),
            exposure: Some((order.side, order.quantity)),
            order_day: Some(order_day),
            cancel_day: None,
            learn: if learn_price.is_nan() {
                Learn::Nothing
            } else {
                Learn::Resting(KnownOrder {
                    symbol: index,
                    side: order.side,
                    price: learn_price,
                    remaining: order.quantity,
                })
            },
            controls: taken,
        });
        Decision::Send {
            ticket,
            action: Action::Place(order),
        }
    }

    fn decide_cancel(&mut self, raw: &str, now: i64, started: Instant) -> Decision {
        const TOOL: ToolKind = ToolKind::CancelOrder;
        let a = match args::parse_cancel_order(raw, self.config.max_args_bytes) {
            Ok(a) => a,
            Err(r) => return self.reject_arguments(TOOL, r),
        };
        let known = self.orders.get(a.order_id.as_ref()).copied();
        let side = known.map_or(SideLabel::None, |o| side_label(o.side));
        let shared = self.shared();
        // In shared mode the store holds the account's cancel count (asked below).
        let limit = if shared {
            None
        } else {
            self.config.limits.max_daily_cancels
        };
        if let Err(would_be) = self.daily_cancels.has_room(now, limit) {
            let r = limits::daily_cancels_rejection(would_be, limit.unwrap_or(0));
            return self.reject_without_breaker(TOOL, side, r, started);
        }
        if let Err(r) = self.controls.check_rate(now) {
            return self.reject_without_breaker(TOOL, side, r, started);
        }
        if self.config.mode == SafetyMode::DryRun {
            let symbol = known.map(|o| self.symbols[o.symbol as usize].to_string());
            let ack = order_ack_json(
                &a.order_id,
                symbol.as_deref(),
                known.map(|o| o.side),
                known.map(|o| o.remaining),
                DoneStatus::DryRun.as_str(),
                now,
                None,
            );
            return self.finish(TOOL, side, ack, DoneStatus::DryRun, started);
        }
        if shared {
            let refusal = match self.verdict.take() {
                None => {
                    return Decision::NeedState(Box::new(StateRequest {
                        op: StateOp::Cancel,
                        symbol: None,
                        side: None,
                        quantity: 0.0,
                        daily_slot: true,
                        token: None,
                        fields_hash: None,
                        reservation_id: format!("cancel:{}:{}", self.id_prefix, a.order_id),
                        max_orders_per_second: self.config.controls.max_orders_per_second,
                        max_orders_per_minute: self.config.controls.max_orders_per_minute,
                        duplicate_key: None,
                        duplicate_window_ms: None,
                        max_open_orders: None,
                    }))
                }
                Some(StateVerdict::Granted { .. }) => None,
                Some(StateVerdict::Refused { code, numbers }) => {
                    Some(refusal_rejection(&code, &numbers, None))
                }
                Some(StateVerdict::Unavailable { why, timeout_ms }) => {
                    Some(state_unavailable(state_failure(&why, timeout_ms)))
                }
            };
            if let Some(r) = refusal {
                return self.reject_without_breaker(TOOL, side, r, started);
            }
        }
        let cancel_day = match self.daily_cancels.try_reserve(now, limit) {
            Ok(day) => day,
            Err(would_be) => {
                return self.reject_without_breaker(
                    TOOL,
                    side,
                    limits::daily_cancels_rejection(would_be, limit.unwrap_or(0)),
                    started,
                )
            }
        };
        self.controls.on_send_other(now);
        let order_id = a.order_id.into_owned();
        let ticket = self.open_ticket(Inflight {
            tool: TOOL,
            side,
            symbol: known.map(|o| o.symbol),
            exposure: None,
            order_day: None,
            cancel_day: Some(cancel_day),
            learn: Learn::Forget(order_id.clone()),
            controls: Taken::default(),
        });
        Decision::Send {
            ticket,
            action: Action::Cancel { order_id },
        }
    }

    fn decide_replace(
        &mut self,
        raw: &str,
        refreshed: bool,
        now: i64,
        started: Instant,
    ) -> Decision {
        const TOOL: ToolKind = ToolKind::ReplaceOrder;
        let a = match args::parse_replace_order(raw, self.config.max_args_bytes) {
            Ok(a) => a,
            Err(r) => return self.reject_arguments(TOOL, r),
        };
        let Some(order) = self.orders.get(a.order_id.as_ref()).copied() else {
            if self.halted() {
                // Refused whatever the order is: no need to look it up at the venue.
                let r = trading_state::halted_rejection();
                return self.reject(TOOL, SideLabel::None, r, started);
            }
            if !refreshed {
                return Decision::NeedOrder {
                    order_id: a.order_id.into_owned(),
                };
            }
            let r = Denial::NotAnOpenOrder {
                order_id: a.order_id.into_owned(),
            }
            .into();
            return self.reject(TOOL, SideLabel::None, r, started);
        };
        let needs_market = self.config.limits.max_position_abs.is_some()
            || self.config.controls.needs_reference()
            || self.reducing();
        self.pull_feed(order.symbol);
        let state = &self.market[order.symbol as usize];
        let unusable = needs_market && !state.fresh(now, self.config.market_data_max_age_ms);
        if !refreshed
            && !self.halted()
            && (unusable || self.controls.reference_stale(state.price_at_ms, now))
        {
            return Decision::NeedMarket {
                symbol: self.symbols[order.symbol as usize].to_string(),
            };
        }
        let new_price = a.price.unwrap_or(order.price);
        let new_quantity = a.quantity.unwrap_or(order.remaining);
        let growth = (new_quantity - order.remaining).max(0.0);
        let symbol = Arc::clone(&self.symbols[order.symbol as usize]);
        let bound = || PendingOrder::Replace {
            order_id: a.order_id.to_string(),
            price: a.price,
            quantity: a.quantity,
        };
        let check = ChainOrder {
            tool: TOOL,
            // A known order's symbol was interned through `tradable`, so this guard may trade it.
            market: Some(order.symbol),
            symbol: &symbol,
            side: order.side,
            order_type: OrderType::Limit,
            quantity: new_quantity,
            price: new_price,
            no_price: NoPrice::Replace(&a.order_id),
            position_delta: order.side.sign() * growth,
            new_order: false,
            reservation_id: None,
        };
        let sends = match self.check_order(&check, a.confirm_token.as_deref(), bound, now, started)
        {
            Ok((sends, _)) => sends,
            Err(rejected) => return rejected,
        };
        let side = side_label(order.side);
        if !sends {
            return self.propose(
                TOOL,
                side,
                bound(),
                AckId::Given(&a.order_id),
                Some(&symbol),
                order.side,
                new_quantity,
                now,
                started,
            );
        }
        self.market[order.symbol as usize].add_inflight(order.side, growth);
        self.controls.on_send_other(now);
        let order_id = a.order_id.into_owned();
        let ticket = self.open_ticket(Inflight {
            tool: TOOL,
            side,
            symbol: Some(order.symbol),
            exposure: Some((order.side, growth)),
            order_day: None,
            cancel_day: None,
            learn: Learn::Replaced(
                order_id.clone(),
                KnownOrder {
                    price: new_price,
                    remaining: new_quantity,
                    ..order
                },
            ),
            controls: Taken::default(),
        });
        Decision::Send {
            ticket,
            action: Action::Replace {
                order_id,
                price: a.price,
                quantity: a.quantity,
            },
        }
    }

    /// The chain an order passes, the same for a new order and a replace (as a risk engine shares
    /// its checks between submit and modify): SafetyMode (a confirmation redeems its token) ->
    /// RiskGate (the trading state; an open gate blocks outright) -> RiskLimits (symbol, notional, position, daily
    /// orders for a new order, then the market-access controls of `controls`) -> RiskGate (the breaker's trial and pass, see [`Guard::pass_gates`]).
    /// Returns whether the order is sent (Direct, or a confirmed TwoPhase order) and its market
    /// slot, or the rejection.
    fn check_order(
        &mut self,
        o: &ChainOrder<'_>,
        token: Option<&str>,
        bound: impl Fn() -> PendingOrder,
        now: i64,
        started: Instant,
    ) -> Result<(bool, u32), Decision> {
        let side = side_label(o.side);
        let shared = self.shared();
        // SafetyMode (in shared mode the store redeems the token, after the static checks)
        let confirming = match (token, self.config.mode) {
            (Some(_), SafetyMode::TwoPhase) if shared => true,
            (Some(token), SafetyMode::TwoPhase) => {
                if let Err(r) = self.tokens.redeem(now, token, &bound()) {
                    return Err(self.reject(o.tool, side, r, started));
                }
                true
            }
            (Some(_), mode) => {
                return Err(self.reject(o.tool, side, token_outside_two_phase(mode), started))
            }
            (None, _) => false,
        };
        let sends = confirming || self.config.mode == SafetyMode::Direct;

        // RiskGate: the trading state (HALTED, REDUCING).
        if let Err(r) = self.check_trading_state(o.market, o.symbol, o.side, o.position_delta) {
            return Err(self.reject(o.tool, side, r, started));
        }

        // RiskGate, the part that blocks outright: an open breaker rejects everything.
        if !shared {
            if let Err(r) = self.gates.precheck(now) {
                return Err(self.reject(o.tool, side, r, started));
            }
        }

        // RiskLimits
        let Some(index) = o.market else {
            let r = Denial::SymbolNotAllowed {
                symbol: o.symbol.to_owned(),
            }
            .into();
            return Err(self.reject(o.tool, side, r, started));
        };
        if self.config.limits.max_order_notional.is_some() {
            if o.price.is_nan() {
                let denial = match o.no_price {
                    NoPrice::MarketOrder => Denial::NoReferencePrice {
                        symbol: o.symbol.to_owned(),
                        purpose: PricePurpose::ValueMarketOrder,
                    },
                    NoPrice::Replace(order_id) => Denial::NoReplacePrice {
                        order_id: order_id.to_owned(),
                    },
                };
                return Err(self.reject(o.tool, side, denial.into(), started));
            }
            if let Err(r) = limits::check_notional(&self.config.limits, o.quantity, o.price) {
                return Err(self.reject(o.tool, side, r, started));
            }
        }
        // Also in shared mode (see `decide_place`): the venue's view here, the account's in the store.
        if self.config.limits.max_position_abs.is_some() {
            let state = self.market[index as usize];
            if let Err(r) = position_check(
                &self.config.limits,
                &state,
                o.symbol,
                o.side,
                o.position_delta,
            ) {
                return Err(self.reject(o.tool, side, r, started));
            }
        }
        if o.new_order && !shared {
            if let Err(would_be) = self
                .daily_orders
                .has_room(now, self.config.limits.max_daily_orders)
            {
                let r = limits::daily_orders_rejection(
                    would_be,
                    self.config.limits.max_daily_orders.unwrap_or(0),
                );
                return Err(self.reject(o.tool, side, r, started));
            }
        }
        let state = &self.market[index as usize];
        let reference = Reference {
            price: state.price,
            stored_at_ms: state.price_at_ms,
        };
        let limit_price = if o.order_type == OrderType::Limit {
            Some(o.price)
        } else {
            None
        };
        let control = control_order(
            index,
            o.symbol,
            o.side,
            o.order_type,
            o.quantity,
            limit_price,
            o.new_order,
        );
        if let Err(r) = self.controls.check(&control, reference, &self.orders, now) {
            return Err(self.reject(o.tool, side, r, started));
        }
        if shared {
            return self
                .shared_checks(o, token, bound, sends, started)
                .map(|()| (sends, index));
        }

        // RiskGate: the breaker's trial and its pass (an unconfirmed proposal is neither).
        if let Err(r) = self.pass_gates(sends, now) {
            return Err(self.reject(o.tool, side, r, started));
        }
        Ok((sends, index))
    }

    /// Shared mode, after the static checks: ask the store (`NeedState`), or take its verdict in
    /// the re-run (a refusal is the chain's own rejection; a granted proposal leaves its token).
    fn shared_checks(
        &mut self,
        o: &ChainOrder<'_>,
        token: Option<&str>,
        bound: impl Fn() -> PendingOrder,
        sends: bool,
        started: Instant,
    ) -> Result<(), Decision> {
        let side = side_label(o.side);
        let order = RefusedOrder {
            symbol: o.symbol,
            side: o.side,
            order_type: o.order_type,
            quantity: o.quantity,
            price: (o.order_type == OrderType::Limit).then_some(o.price),
        };
        let refusal = match self.verdict.take() {
            None => {
                let hash = fields_hash(&bound());
                // Only a new order can repeat one (a replace is not a new order), as locally.
                let duplicate_window_ms = self
                    .config
                    .controls
                    .duplicate_window_ms
                    .filter(|_| o.new_order);
                let reservation_id = match (o.reservation_id, &o.no_price) {
                    (Some(id), _) => id.to_owned(),
                    (None, NoPrice::Replace(order_id)) => {
                        format!("replace:{order_id}:{}", &hash[..16])
                    }
                    (None, NoPrice::MarketOrder) => format!("place:{}", &hash[..16]),
                };
                let two_phase = self.config.mode == SafetyMode::TwoPhase;
                return Err(Decision::NeedState(Box::new(StateRequest {
                    op: if sends {
                        StateOp::Place
                    } else {
                        StateOp::Propose
                    },
                    symbol: Some(o.symbol.to_owned()),
                    side: Some(o.side),
                    quantity: o.position_delta.abs(),
                    daily_slot: o.new_order,
                    token: token.map(str::to_owned),
                    fields_hash: two_phase.then_some(hash),
                    reservation_id,
                    max_orders_per_second: self.config.controls.max_orders_per_second,
                    max_orders_per_minute: self.config.controls.max_orders_per_minute,
                    duplicate_key: duplicate_window_ms.map(|_| duplicate_key(&order)),
                    duplicate_window_ms,
                    max_open_orders: self.config.controls.max_open_orders.filter(|_| o.new_order),
                })));
            }
            Some(StateVerdict::Granted { token, .. }) => {
                self.granted_token = token;
                return Ok(());
            }
            Some(StateVerdict::Refused { code, numbers }) => {
                refusal_rejection(&code, &numbers, Some(&order))
            }
            Some(StateVerdict::Unavailable { why, timeout_ms }) => {
                state_unavailable(state_failure(&why, timeout_ms))
            }
        };
        Err(self.reject_without_breaker(o.tool, side, refusal, started))
    }

    /// The answer to an order that passed the chain but is not sent: PendingConfirm with a token
    /// bound to its fields (TwoPhase) or the DryRun ack.
    #[allow(clippy::too_many_arguments)]
    fn propose(
        &mut self,
        tool: ToolKind,
        label: SideLabel,
        bound: PendingOrder,
        id: AckId<'_>,
        symbol: Option<&str>,
        side: Side,
        quantity: f64,
        now: i64,
        started: Instant,
    ) -> Decision {
        let (status, token) = if self.config.mode == SafetyMode::TwoPhase && self.shared() {
            // The store issued the token (see `shared_checks`); a grant without one is no verdict.
            match self.granted_token.take() {
                Some(token) => (DoneStatus::PendingConfirm, Some(token)),
                None => {
                    return self.reject_without_breaker(
                        tool,
                        label,
                        state_unavailable(StateFailure::InvalidReply),
                        started,
                    )
                }
            }
        } else if self.config.mode == SafetyMode::TwoPhase {
            match self.tokens.issue(now, bound) {
                Ok(token) => (DoneStatus::PendingConfirm, Some(token)),
                Err(r) => return self.reject(tool, label, r, started),
            }
        } else {
            (DoneStatus::DryRun, None)
        };
        let ack = match id {
            AckId::Generated => {
                let kind = if status == DoneStatus::PendingConfirm {
                    "pending"
                } else {
                    "dryrun"
                };
                self.ack_json(
                    kind,
                    symbol,
                    Some(side),
                    Some(quantity),
                    status.as_str(),
                    now,
                    token.as_deref(),
                )
            }
            AckId::Given(order_id) => order_ack_json(
                order_id,
                symbol,
                Some(side),
                Some(quantity),
                status.as_str(),
                now,
                token.as_deref(),
            ),
        };
        self.finish(tool, label, ack, status, started)
    }

    /// The gate step of an order that passed the limits. Only a call whose outcome is final counts
    /// as a pass (clears the breaker's streak, takes and passes its HalfOpen trial): an order sent
    /// to the venue (`sends`: Direct, or a confirmed TwoPhase one) or a DryRun order, which stands in
    /// for one. A TwoPhase proposal sends nothing, so it moves nothing; the open-breaker block it
    /// needs already ran in `precheck`.
    fn pass_gates(&mut self, sends: bool, now: i64) -> Result<(), Rejection> {
        if !sends && self.config.mode == SafetyMode::TwoPhase {
            return Ok(());
        }
        self.gates.check(now)?;
        self.gates.on_pass(now);
        Ok(())
    }
}

fn pending_place(a: &args::PlaceOrderArgs<'_>) -> PendingOrder {
    PendingOrder::Place {
        symbol: a.symbol.to_string(),
        side: a.side,
        quantity: a.quantity,
        order_type: a.order_type,
        price: a.price,
        stop_loss: a.stop_loss,
        take_profit: a.take_profit,
        time_in_force: a.time_in_force,
        client_order_id: a.client_order_id.as_ref().map(|s| s.to_string()),
    }
}

fn token_outside_two_phase(mode: SafetyMode) -> Rejection {
    Denial::TokenOutsideTwoPhase { mode }.into()
}
