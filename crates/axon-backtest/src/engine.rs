//! The matching engine: submit / cancel / replace and book queries.
//!
//! Matching rules and invariants:
//! - **Price-time priority.** An aggressive order trades against the best
//!   opposite price first (lowest ask for a buy, highest bid for a sell), and
//!   within a price level against the oldest order first (FIFO). It keeps
//!   trading level by level while its limit crosses (`ask <= limit` for a buy,
//!   `bid >= limit` for a sell; market orders cross everything) and it has
//!   quantity left. Each fill executes at the **maker's** price.
//! - A resting order is in exactly one level list (its own price on its own
//!   side of its own symbol) and never crosses the opposite side: after every
//!   call, `best_bid < best_ask` for every symbol.
//! - **Time in force.** GTC limit remainders rest at the back of their level.
//!   IOC and market remainders never rest (reported as `Cancelled`). FOK checks
//!   fillability *before* touching the book, using level totals only, and
//!   either fills completely or is `Rejected(FokNotFillable)` with nothing
//!   changed. Post-only (limit + GTC only) that would cross is
//!   `Rejected(PostOnlyWouldCross)` with nothing changed.
//! - **Replace.** Same price and quantity not increased: quantity is reduced
//!   in place and time priority is kept. Any price change or quantity increase
//!   removes the order and re-enters it with the same id at the back of the
//!   (new) level; if the new price crosses, it first matches as a GTC taker
//!   (fills carry its id as `taker_order_id`). `new_qty` is the new *open*
//!   quantity; `original_lots` becomes `filled_so_far + new_qty`.
//! - **Errors change nothing.** Every validation (symbol, id, price, quantity,
//!   flags, overflow, capacity) happens before the first mutation; an `Err`
//!   leaves books, arena, id generations and the fill sequence untouched and
//!   emits no fill.
//! - **Capacity.** At most `capacity` orders rest. A GTC order that would
//!   rest without crossing while the book is full gets `CapacityExceeded`.
//!   (A crossing order that still has a remainder has fully consumed at least
//!   one maker, which frees a slot, so it can always rest.)
//! - **Sequence.** `Fill::seq` is engine-global, starts at 1 and increases by
//!   exactly one per fill, across all symbols.
//! - **Determinism.** No hashing, clocks or randomness: the same sequence of
//!   calls on an engine created with the same capacity and symbols yields
//!   identical ids, results and fills.
//! - **Hot path.** No heap allocation on submit/cancel/replace (fills go to a
//!   caller-supplied [`FillSink`]; the arena and level slab are preallocated),
//!   except amortised growth of a side's level index when it reaches a new
//!   maximum number of distinct price levels.

use crate::book::{SideBook, Store, NIL};
use crate::error::EngineError;
use crate::symbol::SymbolSpec;
use crate::types::{
    Depth, Fill, FillSink, LevelInfo, OpenOrder, OrderId, OrderRequest, OrderStatus, OrderType,
    RejectReason, Side, SubmitResult, SymbolId, TimeInForce,
};

/// Default capacity used by [`MatchingEngine::new`].
pub const DEFAULT_CAPACITY: usize = 1 << 16;

/// Largest supported capacity (slot indices are `u32`, `u32::MAX` is the
/// null link, and one extra slot is reserved).
pub const MAX_CAPACITY: usize = (u32::MAX - 2) as usize;

const LEVEL_RESERVE: usize = 64;

#[derive(Debug, Clone)]
pub(crate) struct Book {
    pub spec: SymbolSpec,
    pub bids: SideBook,
    pub asks: SideBook,
}

impl Book {
    /// (own side, opposite side) for an order on `side`.
    #[inline(always)]
    pub fn sides_mut(&mut self, side: Side) -> (&mut SideBook, &mut SideBook) {
        match side {
            Side::Buy => (&mut self.bids, &mut self.asks),
            Side::Sell => (&mut self.asks, &mut self.bids),
        }
    }
    #[inline(always)]
    pub fn side(&self, side: Side) -> &SideBook {
        match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        }
    }
}

/// Multi-symbol L1 price-time-priority matching engine. See module docs.
#[derive(Debug, Clone)]
pub struct MatchingEngine {
    pub(crate) books: Vec<Book>,
    pub(crate) store: Store,
    capacity: usize,
}

impl Default for MatchingEngine {
    fn default() -> Self {
        Self::new()
    }
}

impl MatchingEngine {
    /// Engine with [`DEFAULT_CAPACITY`] resting orders.
    pub fn new() -> Self {
        Self::with_capacity(DEFAULT_CAPACITY)
    }

    /// Engine able to hold `orders` resting orders; the arena and level slab
    /// are allocated once here. `orders` is clamped to [`MAX_CAPACITY`].
    pub fn with_capacity(orders: usize) -> Self {
        let capacity = orders.min(MAX_CAPACITY);
        Self {
            books: Vec::new(),
            store: Store::new(capacity),
            capacity,
        }
    }

    /// Register a symbol; ids are dense and assigned in order (0, 1, ...).
    /// Allocates the symbol's two level indexes and tick ladders (~8 KiB).
    pub fn add_symbol(&mut self, spec: SymbolSpec) -> Result<SymbolId, EngineError> {
        let id = u32::try_from(self.books.len())
            .map_err(|_| EngineError::OutOfRange { field: "symbol" })?;
        self.books.push(Book {
            spec,
            bids: SideBook::new(Side::Buy, LEVEL_RESERVE),
            asks: SideBook::new(Side::Sell, LEVEL_RESERVE),
        });
        Ok(SymbolId(id))
    }

    /// Spec of a registered symbol.
    pub fn spec(&self, symbol: SymbolId) -> Option<&SymbolSpec> {
        self.books.get(symbol.0 as usize).map(|b| &b.spec)
    }

    /// Number of registered symbols.
    pub fn symbol_count(&self) -> usize {
        self.books.len()
    }

    /// Maximum number of resting orders.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Number of resting orders (all symbols).
    pub fn open_order_count(&self) -> usize {
        self.store.resting
    }

    /// Sequence number of the last fill emitted (0 if none).
    pub fn last_seq(&self) -> u64 {
        self.store.seq
    }

    #[inline(always)]
    fn book(&self, symbol: SymbolId) -> Result<&Book, EngineError> {
        self.books
            .get(symbol.0 as usize)
            .ok_or(EngineError::UnknownSymbol(symbol.0))
    }

    /// Submit a new order. Fills are pushed to `sink` in `seq` order.
    ///
    /// Errors (nothing changed): `UnknownSymbol`, `NonPositive{"quantity"}`,
    /// `NonPositive{"price"}` (limit only), `InvalidField{"post_only"}`
    /// (post-only on a market or non-GTC order), `QuantityOverflow`,
    /// `CapacityExceeded`.
    #[inline]
    pub fn submit<S: FillSink + ?Sized>(
        &mut self,
        req: &OrderRequest,
        sink: &mut S,
    ) -> Result<SubmitResult, EngineError> {
        let sym = req.symbol.0;
        let book = self
            .books
            .get_mut(sym as usize)
            .ok_or(EngineError::UnknownSymbol(sym))?;
        let qty = req.qty_lots;
        if qty == 0 {
            return Err(EngineError::NonPositive { field: "quantity" });
        }
        let is_market = req.order_type == OrderType::Market;
        if !is_market && req.price_ticks <= 0 {
            return Err(EngineError::NonPositive { field: "price" });
        }
        let may_rest = !is_market && req.tif == TimeInForce::Gtc;
        if req.post_only && !may_rest {
            return Err(EngineError::InvalidField { field: "post_only" });
        }
        let store = &mut self.store;
        let (own, opp) = book.sides_mut(req.side);
        let threshold = if is_market {
            i64::MIN
        } else {
            opp.rank_of(req.price_ticks)
        };
        let crosses = matches!(opp.best_rank(), Some(r) if r >= threshold);
        if may_rest && own.total_lots.checked_add(qty).is_none() {
            return Err(EngineError::QuantityOverflow);
        }
        let reject = if req.post_only && crosses {
            Some(RejectReason::PostOnlyWouldCross)
        } else if req.tif == TimeInForce::Fok && !store.fillable(opp, threshold, qty) {
            Some(RejectReason::FokNotFillable)
        } else {
            None
        };
        if let Some(reason) = reject {
            // The order gets an id, which is immediately stale.
            let i = store.alloc_slot();
            let order_id = store.id_of(i);
            store.release_slot(i);
            return Ok(SubmitResult {
                order_id,
                status: OrderStatus::Rejected(reason),
                filled_lots: 0,
                remaining_lots: qty,
            });
        }
        if may_rest && !crosses && store.resting >= self.capacity {
            return Err(EngineError::CapacityExceeded {
                capacity: self.capacity,
            });
        }

        let i = store.alloc_slot();
        let order_id = store.id_of(i);
        let remaining = if crosses {
            match_against(
                store, opp, req.symbol, req.side, threshold, qty, order_id, sink,
            )
        } else {
            qty
        };
        let filled = qty - remaining;
        let status = if remaining == 0 {
            store.release_slot(i);
            OrderStatus::Filled
        } else if may_rest {
            debug_assert!(store.resting < self.capacity);
            let s = &mut store.slots[i as usize];
            s.price = req.price_ticks;
            s.remaining = remaining;
            s.original = qty;
            s.symbol = sym;
            s.side = req.side;
            s.post_only = req.post_only;
            store.append(own, i);
            if filled == 0 {
                OrderStatus::New
            } else {
                OrderStatus::PartiallyFilled
            }
        } else {
            store.release_slot(i);
            OrderStatus::Cancelled
        };
        Ok(SubmitResult {
            order_id,
            status,
            filled_lots: filled,
            remaining_lots: remaining,
        })
    }

    /// Cancel a resting order; returns its state just before cancellation.
    /// Errors with `UnknownOrder` (nothing changed) if the id is not live.
    #[inline]
    pub fn cancel(&mut self, id: OrderId) -> Result<OpenOrder, EngineError> {
        let i = self
            .store
            .lookup(id)
            .ok_or(EngineError::UnknownOrder(id.0))?;
        let snap = self.snapshot(i);
        let s = &self.store.slots[i as usize];
        let book = &mut self.books[s.symbol as usize];
        let (own, _) = book.sides_mut(s.side);
        self.store.unlink(own, i);
        self.store.release_slot(i);
        Ok(snap)
    }

    /// Replace a resting order's price and/or open quantity (see module docs
    /// for priority rules). The order keeps its id. Fills (if the new price
    /// crosses) are pushed to `sink`.
    ///
    /// Errors (nothing changed): `UnknownOrder`, `NonPositive{"price"}`,
    /// `NonPositive{"quantity"}`, `QuantityOverflow`. A post-only order whose
    /// new price would cross is `Rejected(PostOnlyWouldCross)` and stays
    /// unchanged.
    pub fn replace<S: FillSink + ?Sized>(
        &mut self,
        id: OrderId,
        new_price_ticks: i64,
        new_qty_lots: u64,
        sink: &mut S,
    ) -> Result<SubmitResult, EngineError> {
        let i = self
            .store
            .lookup(id)
            .ok_or(EngineError::UnknownOrder(id.0))?;
        if new_price_ticks <= 0 {
            return Err(EngineError::NonPositive { field: "price" });
        }
        if new_qty_lots == 0 {
            return Err(EngineError::NonPositive { field: "quantity" });
        }
        let store = &mut self.store;
        let o = store.slots[i as usize];
        let book = &mut self.books[o.symbol as usize];
        let (own, opp) = book.sides_mut(o.side);

        if new_price_ticks == o.price && new_qty_lots <= o.remaining {
            // Reduce in place: keeps time priority.
            let d = o.remaining - new_qty_lots;
            let s = &mut store.slots[i as usize];
            s.remaining = new_qty_lots;
            s.original -= d;
            store.levels[o.level as usize].total -= d;
            own.total_lots -= d;
            return Ok(SubmitResult {
                order_id: id,
                status: OrderStatus::New,
                filled_lots: 0,
                remaining_lots: new_qty_lots,
            });
        }

        let threshold = opp.rank_of(new_price_ticks);
        let crosses = matches!(opp.best_rank(), Some(r) if r >= threshold);
        if o.post_only && crosses {
            return Ok(SubmitResult {
                order_id: id,
                status: OrderStatus::Rejected(RejectReason::PostOnlyWouldCross),
                filled_lots: 0,
                remaining_lots: o.remaining,
            });
        }
        if (own.total_lots - o.remaining)
            .checked_add(new_qty_lots)
            .is_none()
        {
            return Err(EngineError::QuantityOverflow);
        }

        let filled_before = o.original - o.remaining;
        store.unlink(own, i);
        let remaining = if crosses {
            match_against(
                store,
                opp,
                SymbolId(o.symbol),
                o.side,
                threshold,
                new_qty_lots,
                id,
                sink,
            )
        } else {
            new_qty_lots
        };
        let filled = new_qty_lots - remaining;
        let status = if remaining == 0 {
            store.release_slot(i);
            OrderStatus::Filled
        } else {
            let s = &mut store.slots[i as usize];
            s.price = new_price_ticks;
            s.remaining = remaining;
            s.original = filled_before + new_qty_lots;
            store.append(own, i);
            if filled == 0 {
                OrderStatus::New
            } else {
                OrderStatus::PartiallyFilled
            }
        };
        Ok(SubmitResult {
            order_id: id,
            status,
            filled_lots: filled,
            remaining_lots: remaining,
        })
    }

    fn snapshot(&self, i: u32) -> OpenOrder {
        let s = &self.store.slots[i as usize];
        OpenOrder {
            id: self.store.id_of(i),
            symbol: SymbolId(s.symbol),
            side: s.side,
            price_ticks: s.price,
            remaining_lots: s.remaining,
            original_lots: s.original,
            post_only: s.post_only,
        }
    }

    /// Look up a resting order; `None` if unknown, stale or not resting.
    pub fn order(&self, id: OrderId) -> Option<OpenOrder> {
        self.store.lookup(id).map(|i| self.snapshot(i))
    }

    fn level_info(&self, side: &SideBook, k: usize) -> LevelInfo {
        let key = side.keys[k];
        let l = &self.store.levels[key.level as usize];
        LevelInfo {
            price_ticks: side.price_of(key.rank),
            total_lots: l.total,
            order_count: l.count,
        }
    }

    /// Best level on `side` (highest bid / lowest ask).
    pub fn best(&self, symbol: SymbolId, side: Side) -> Result<Option<LevelInfo>, EngineError> {
        let sb = self.book(symbol)?.side(side);
        Ok(match sb.keys.len() {
            0 => None,
            n => Some(self.level_info(sb, n - 1)),
        })
    }

    /// Highest bid level.
    pub fn best_bid(&self, symbol: SymbolId) -> Result<Option<LevelInfo>, EngineError> {
        self.best(symbol, Side::Buy)
    }

    /// Lowest ask level.
    pub fn best_ask(&self, symbol: SymbolId) -> Result<Option<LevelInfo>, EngineError> {
        self.best(symbol, Side::Sell)
    }

    /// Write up to `n_levels` levels of `side`, best first, into `out`
    /// (cleared first). Allocation-free if `out` has capacity.
    pub fn depth_into(
        &self,
        symbol: SymbolId,
        side: Side,
        n_levels: usize,
        out: &mut Vec<LevelInfo>,
    ) -> Result<(), EngineError> {
        let sb = self.book(symbol)?.side(side);
        out.clear();
        let n = sb.keys.len();
        for k in (n.saturating_sub(n_levels)..n).rev() {
            out.push(self.level_info(sb, k));
        }
        Ok(())
    }

    /// Up to `n_levels` levels of both sides, best first.
    pub fn depth(&self, symbol: SymbolId, n_levels: usize) -> Result<Depth, EngineError> {
        let mut d = Depth::default();
        self.depth_into(symbol, Side::Buy, n_levels, &mut d.bids)?;
        self.depth_into(symbol, Side::Sell, n_levels, &mut d.asks)?;
        Ok(d)
    }

    /// Resting orders of one side in priority order (best price first, FIFO
    /// within a level).
    pub fn open_orders(&self, symbol: SymbolId, side: Side) -> Result<OpenOrders<'_>, EngineError> {
        let sb = self.book(symbol)?.side(side);
        Ok(OpenOrders {
            engine: self,
            side: sb,
            next_key: sb.keys.len(),
            cur: NIL,
        })
    }

    /// Number of levels and resting orders on one side.
    pub fn side_stats(&self, symbol: SymbolId, side: Side) -> Result<(usize, u64), EngineError> {
        let sb = self.book(symbol)?.side(side);
        Ok((sb.keys.len(), sb.order_count))
    }

    /// Upper bound on the fills an order could generate right now (0 for
    /// invalid requests): the orders on the crossing opposite levels, until
    /// their lots cover `qty`. Read-only; batch callers size their fill room
    /// with it before executing.
    pub fn max_fills_for(
        &self,
        symbol: u32,
        side: Side,
        is_market: bool,
        price: i64,
        qty: u64,
    ) -> u64 {
        let Some(book) = self.books.get(symbol as usize) else {
            return 0;
        };
        if qty == 0 || (!is_market && price <= 0) {
            return 0; // the op will be refused before matching
        }
        let opp = book.side(side.opposite());
        let threshold = if is_market {
            i64::MIN
        } else {
            opp.rank_of(price)
        };
        self.store.max_fills(opp, threshold, qty)
    }

    /// Side/symbol/price of a live order (batch helper).
    pub(crate) fn live_order_side(&self, id: OrderId) -> Option<(u32, Side)> {
        self.store.lookup(id).map(|i| {
            let s = &self.store.slots[i as usize];
            (s.symbol, s.side)
        })
    }

    #[cfg(test)]
    pub(crate) fn check_invariants(&self) {
        let mut sides = Vec::new();
        for (i, b) in self.books.iter().enumerate() {
            sides.push((i as u32, &b.bids, Side::Buy));
            sides.push((i as u32, &b.asks, Side::Sell));
            if let (Some(b), Some(a)) = (b.bids.best_rank(), b.asks.best_rank()) {
                assert!(b < -a, "book crossed: bid {b} ask {}", -a);
            }
        }
        self.store.check_invariants(&sides);
        assert!(self.store.resting <= self.capacity);
    }
}

/// Match `qty` of a taker on `taker_side` against `opp` while the best rank is
/// `>= threshold`. Returns the unfilled quantity. The taker is not in the book.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn match_against<S: FillSink + ?Sized>(
    store: &mut Store,
    opp: &mut SideBook,
    symbol: SymbolId,
    taker_side: Side,
    threshold: i64,
    mut qty: u64,
    taker: OrderId,
    sink: &mut S,
) -> u64 {
    let Store {
        slots,
        free_slot,
        levels,
        free_level,
        resting,
        seq,
    } = store;
    // Hot counters live in locals for the duration of the sweep.
    let mut seq_l = *seq;
    let mut free_l = *free_slot;
    let mut released = 0usize;
    while qty > 0 {
        let Some(&key) = opp.keys.last() else {
            break;
        };
        if key.rank < threshold {
            break;
        }
        let price = opp.price_of(key.rank);
        let lvl = &mut levels[key.level as usize];
        let start_qty = qty;
        let mut head = lvl.head;
        let mut gone = 0u32;
        loop {
            let maker = &mut slots[head as usize];
            let q = qty.min(maker.remaining);
            seq_l += 1;
            sink.push_fill(Fill {
                seq: seq_l,
                maker_order_id: OrderId::new(head, maker.generation),
                taker_order_id: taker,
                price_ticks: price,
                qty_lots: q,
                symbol,
                taker_side,
            });
            qty -= q;
            if q < maker.remaining {
                // Taker exhausted inside this maker.
                maker.remaining -= q;
                break;
            }
            // Maker fully filled: release it (bump generation, push on the
            // free list) and advance the FIFO head.
            let next = maker.next;
            maker.generation = OrderId::next_generation(maker.generation);
            maker.remaining = 0;
            maker.resting = false;
            maker.next = free_l;
            free_l = head;
            gone += 1;
            head = next;
            if next == NIL || qty == 0 {
                break;
            }
        }
        released += gone as usize;
        opp.order_count -= u64::from(gone);
        let consumed = start_qty - qty;
        if head == NIL {
            // Level emptied: drop it from the index and the slab.
            opp.keys.pop();
            opp.ladder_clear(key.rank);
            *lvl = crate::book::Level {
                total: 0,
                head: *free_level,
                tail: NIL,
                count: 0,
            };
            *free_level = key.level;
        } else {
            slots[head as usize].prev = NIL;
            lvl.head = head;
            lvl.count -= gone;
            lvl.total -= consumed;
        }
        opp.total_lots -= consumed;
    }
    *seq = seq_l;
    *free_slot = free_l;
    *resting -= released;
    qty
}

/// Iterator over one side's resting orders in priority order; see
/// [`MatchingEngine::open_orders`].
#[derive(Debug, Clone)]
pub struct OpenOrders<'a> {
    engine: &'a MatchingEngine,
    side: &'a SideBook,
    /// Keys `[..next_key]` are not yet visited (visited from the end).
    next_key: usize,
    /// Next slot in the current level, or NIL.
    cur: u32,
}

impl Iterator for OpenOrders<'_> {
    type Item = OpenOrder;

    fn next(&mut self) -> Option<OpenOrder> {
        if self.cur == NIL {
            if self.next_key == 0 {
                return None;
            }
            self.next_key -= 1;
            let k = self.side.keys[self.next_key];
            self.cur = self.engine.store.levels[k.level as usize].head;
        }
        let i = self.cur;
        self.cur = self.engine.store.slots[i as usize].next;
        Some(self.engine.snapshot(i))
    }
}
