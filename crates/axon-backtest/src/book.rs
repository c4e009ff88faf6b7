//! Storage: the preallocated order arena, the price-level slab and the
//! per-side sorted level index.
//!
//! Layout:
//! - **Order arena** (`Store::slots`): `capacity + 1` slots allocated once.
//!   Free slots form a singly linked free list through `Slot::next`. The one
//!   extra slot guarantees that an incoming order can always be given an id
//!   even when `capacity` orders are resting (it is released again if the
//!   order does not rest).
//! - **Level slab** (`Store::levels`): `capacity + 1` levels allocated once,
//!   free list through `Level::head`. A level's FIFO is an intrusive doubly
//!   linked list of slots (`Slot::prev` / `Slot::next`), `head` = oldest
//!   (highest time priority), `tail` = newest.
//! - **Side index** (`SideBook::keys`): a `Vec<LevelKey>` sorted by *rank*
//!   ascending, where `rank = price` for bids and `rank = -price` for asks, so
//!   the best level is always `keys.last()` (O(1) best price, O(1) pop of an
//!   emptied best level, O(log n) lookup of any level; inserts/removals near
//!   the top of book move only a few keys).
//! - **Tick ladder** (`SideBook::ladder`): a dense window of `LADDER` ranks
//!   (`ladder_base ..ladder_base + LADDER`) mapping rank -> level index, kept
//!   around the best price. It makes "find the level of this price" O(1) for
//!   prices near the top of book; prices outside the window fall back to a
//!   binary search of `keys`. The window is re-centred (O(LADDER)) only when a
//!   level is created outside it while the best price is outside it too.
//!
//! Invariants (checked by `Store::check_invariants` in tests):
//! - A resting order is linked in exactly one level list, the level of its
//!   own symbol/side/price, and `Slot::resting` is true exactly for those
//!   slots; a slot is either resting, on the free list, or (transiently,
//!   inside one engine call) the in-flight taker.
//! - Within a level, list order is time priority (arrival order, or the time
//!   of the last priority-losing replace).
//! - Every level in a side index is non-empty; `Level::total` / `count` equal
//!   the sum / number of its orders' `remaining`; `SideBook::total_lots` /
//!   `order_count` equal the sums over its levels. Prices in `keys` are
//!   unique and strictly ordered.
//! - Every resting order has `remaining > 0`.
//! - The ladder is exact inside its window: for every rank `r` in the window,
//!   `ladder[r - ladder_base]` is the level with rank `r` if `keys` has one,
//!   else `NIL`.
//! - A slot's generation is bumped each time it is released, so ids of
//!   released orders are stale; generations wrap within 20 bits (see
//!   [`crate::types::MAX_GENERATION`]).
//! - No allocation happens here after construction except amortised growth of
//!   a side's `keys` vector when it reaches a new maximum number of levels.

use crate::types::{OrderId, Side};

/// Null link.
pub(crate) const NIL: u32 = u32::MAX;

/// One order slot in the arena (48 bytes).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Slot {
    pub price: i64,
    pub remaining: u64,
    pub original: u64,
    pub prev: u32,
    /// Next in level FIFO, or next free slot while on the free list.
    pub next: u32,
    pub level: u32,
    pub generation: u32,
    pub symbol: u32,
    pub side: Side,
    pub post_only: bool,
    pub resting: bool,
}

impl Slot {
    const EMPTY: Slot = Slot {
        price: 0,
        remaining: 0,
        original: 0,
        prev: NIL,
        next: NIL,
        level: NIL,
        generation: 1,
        symbol: 0,
        side: Side::Buy,
        post_only: false,
        resting: false,
    };
}

/// One price level (FIFO head/tail + aggregates).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Level {
    pub total: u64,
    /// Oldest order, or next free level while on the free list.
    pub head: u32,
    pub tail: u32,
    pub count: u32,
}

impl Level {
    const EMPTY: Level = Level {
        total: 0,
        head: NIL,
        tail: NIL,
        count: 0,
    };
}

/// Entry of a side's sorted level index.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LevelKey {
    pub rank: i64,
    pub level: u32,
}

/// One side of one symbol's book.
#[derive(Debug, Clone)]
pub(crate) struct SideBook {
    /// Sorted ascending by rank; best level last.
    pub keys: Vec<LevelKey>,
    /// Dense rank -> level window (see module docs).
    ladder: Vec<u32>,
    ladder_base: i64,
    pub total_lots: u64,
    pub order_count: u64,
    pub is_bid: bool,
}

/// Width of the tick ladder window (ranks).
const LADDER: usize = 1024;
/// Lowest / highest allowed `ladder_base` so that the window never overflows.
const BASE_MIN: i64 = -i64::MAX;
const BASE_MAX: i64 = i64::MAX - LADDER as i64;

impl SideBook {
    pub fn new(side: Side, reserve_levels: usize) -> Self {
        Self {
            keys: Vec::with_capacity(reserve_levels),
            ladder: vec![NIL; LADDER],
            // Window starts at an extreme where no level can be (no price
            // maps there for bids; asks need price ~ i64::MAX), all NIL.
            ladder_base: BASE_MIN,
            total_lots: 0,
            order_count: 0,
            is_bid: side == Side::Buy,
        }
    }

    /// Rank of a price on this side (higher rank = better).
    #[inline(always)]
    pub fn rank_of(&self, price: i64) -> i64 {
        if self.is_bid {
            price
        } else {
            // Prices are > 0, so negation cannot overflow.
            -price
        }
    }

    /// Price of a rank on this side.
    #[inline(always)]
    pub fn price_of(&self, rank: i64) -> i64 {
        if self.is_bid {
            rank
        } else {
            -rank
        }
    }

    /// Rank of the best level, if any.
    #[inline(always)]
    pub fn best_rank(&self) -> Option<i64> {
        self.keys.last().map(|k| k.rank)
    }

    /// Offset of `rank` in the ladder window, if inside it.
    #[inline(always)]
    fn ladder_offset(&self, rank: i64) -> Option<usize> {
        // Exact: the window [base, base + LADDER) never overflows i64 and
        // ranks lie in [-i64::MAX, i64::MAX], so a rank below base wraps to
        // a value >= LADDER.
        let off = rank.wrapping_sub(self.ladder_base) as u64;
        if off < LADDER as u64 {
            Some(off as usize)
        } else {
            None
        }
    }

    /// Level index for `rank` if the ladder knows the answer:
    /// `Some(level)` / `Some(NIL)` (definitely absent) inside the window,
    /// `None` outside it.
    #[inline(always)]
    pub fn ladder_get(&self, rank: i64) -> Option<u32> {
        self.ladder_offset(rank).map(|o| self.ladder[o])
    }

    /// Insert a new level key at position `k` and update the ladder.
    #[inline]
    pub fn insert_level(&mut self, k: usize, rank: i64, level: u32) {
        self.keys.insert(k, LevelKey { rank, level });
        match self.ladder_offset(rank) {
            Some(o) => self.ladder[o] = level,
            None => {
                let best = self.keys[self.keys.len() - 1].rank;
                if self.ladder_offset(best).is_none() {
                    self.recentre(best);
                }
            }
        }
    }

    /// Forget the ladder entry of a removed level.
    #[inline(always)]
    pub fn ladder_clear(&mut self, rank: i64) {
        if let Some(o) = self.ladder_offset(rank) {
            self.ladder[o] = NIL;
        }
    }

    /// Remove the key of the (now empty) level with `rank`.
    #[inline]
    pub fn remove_level(&mut self, rank: i64) {
        match self.find(rank) {
            Ok(k) => {
                self.keys.remove(k);
            }
            Err(_) => debug_assert!(false, "resting order's level missing from index"),
        }
        self.ladder_clear(rank);
    }

    /// Rebuild the ladder window centred on `best`. O(LADDER + levels in it).
    #[cold]
    fn recentre(&mut self, best: i64) {
        self.ladder_base = best
            .saturating_sub((LADDER / 2) as i64)
            .clamp(BASE_MIN, BASE_MAX);
        self.ladder.fill(NIL);
        for i in (0..self.keys.len()).rev() {
            let k = self.keys[i];
            match self.ladder_offset(k.rank) {
                Some(o) => self.ladder[o] = k.level,
                None if k.rank < self.ladder_base => break,
                None => {}
            }
        }
    }

    /// Position of `rank` in `keys`: `Ok(i)` if present, `Err(i)` = insertion
    /// point. Scans the top few levels linearly (where almost all activity
    /// happens), then binary-searches the rest.
    #[inline]
    pub fn find(&self, rank: i64) -> Result<usize, usize> {
        const LINEAR: usize = 8;
        let keys = &self.keys;
        let n = keys.len();
        let lo = n.saturating_sub(LINEAR);
        let mut i = n;
        while i > lo {
            let r = keys[i - 1].rank;
            if r == rank {
                return Ok(i - 1);
            }
            if r < rank {
                return Err(i);
            }
            i -= 1;
        }
        // Every key in keys[lo..] is > rank.
        keys[..lo].binary_search_by(|k| k.rank.cmp(&rank))
    }
}

/// Arena + level slab + global counters.
#[derive(Debug, Clone)]
pub(crate) struct Store {
    pub slots: Vec<Slot>,
    pub free_slot: u32,
    pub levels: Vec<Level>,
    pub free_level: u32,
    /// Number of resting orders.
    pub resting: usize,
    /// Last fill sequence number emitted (0 = none yet).
    pub seq: u64,
}

#[inline(always)]
fn bump(generation: u32) -> u32 {
    OrderId::next_generation(generation)
}

impl Store {
    /// `capacity` = maximum number of resting orders (must be < u32::MAX - 1).
    pub fn new(capacity: usize) -> Self {
        let n = capacity + 1;
        let mut slots = vec![Slot::EMPTY; n];
        for (i, s) in slots.iter_mut().enumerate() {
            s.next = if i + 1 < n { (i + 1) as u32 } else { NIL };
        }
        let mut levels = vec![Level::EMPTY; n];
        for (i, l) in levels.iter_mut().enumerate() {
            l.head = if i + 1 < n { (i + 1) as u32 } else { NIL };
        }
        Self {
            slots,
            free_slot: 0,
            levels,
            free_level: 0,
            resting: 0,
            seq: 0,
        }
    }

    /// Index of the resting order `id`, if `id` is live.
    #[inline(always)]
    pub fn lookup(&self, id: OrderId) -> Option<u32> {
        let i = id.slot();
        match self.slots.get(i as usize) {
            Some(s) if s.generation == id.generation() && s.resting => Some(i),
            _ => None,
        }
    }

    /// Pop a free slot. There is always one (see module docs).
    #[inline(always)]
    pub fn alloc_slot(&mut self) -> u32 {
        let i = self.free_slot;
        debug_assert_ne!(i, NIL, "arena invariant: a free slot always exists");
        self.free_slot = self.slots[i as usize].next;
        i
    }

    /// Return a slot to the free list, invalidating its id.
    #[inline(always)]
    pub fn release_slot(&mut self, i: u32) {
        let s = &mut self.slots[i as usize];
        s.generation = bump(s.generation);
        s.resting = false;
        s.prev = NIL;
        s.level = NIL;
        s.next = self.free_slot;
        self.free_slot = i;
    }

    #[inline(always)]
    pub fn id_of(&self, i: u32) -> OrderId {
        OrderId::new(i, self.slots[i as usize].generation)
    }

    /// Append slot `i` (fields price/remaining/side already set) at the back
    /// of its price level on `side`, creating the level if needed, and mark
    /// it resting.
    #[inline]
    pub fn append(&mut self, side: &mut SideBook, i: u32) {
        let (price, qty) = {
            let s = &self.slots[i as usize];
            (s.price, s.remaining)
        };
        let rank = side.rank_of(price);
        // O(1) via the ladder near the top of book; binary search otherwise
        // (and for the insertion point of a new level).
        let found = match side.ladder_get(rank) {
            Some(li) if li != NIL => Ok(li),
            _ => side.find(rank).map(|k| side.keys[k].level),
        };
        let li = match found {
            Ok(li) => {
                let tail = self.levels[li as usize].tail;
                self.slots[tail as usize].next = i;
                let s = &mut self.slots[i as usize];
                s.prev = tail;
                s.next = NIL;
                let l = &mut self.levels[li as usize];
                l.tail = i;
                l.total += qty;
                l.count += 1;
                li
            }
            Err(k) => {
                let li = self.free_level;
                debug_assert_ne!(li, NIL, "level slab invariant: levels <= resting orders");
                let l = &mut self.levels[li as usize];
                self.free_level = l.head;
                *l = Level {
                    total: qty,
                    head: i,
                    tail: i,
                    count: 1,
                };
                let s = &mut self.slots[i as usize];
                s.prev = NIL;
                s.next = NIL;
                side.insert_level(k, rank, li);
                li
            }
        };
        let s = &mut self.slots[i as usize];
        s.level = li;
        s.resting = true;
        side.total_lots += qty;
        side.order_count += 1;
        self.resting += 1;
    }

    /// Unlink resting slot `i` from its level on `side` (removing the level
    /// if it becomes empty) and mark it not resting. Does not release it.
    #[inline]
    pub fn unlink(&mut self, side: &mut SideBook, i: u32) {
        let (prev, next, li, qty, price) = {
            let s = &self.slots[i as usize];
            (s.prev, s.next, s.level, s.remaining, s.price)
        };
        if prev != NIL {
            self.slots[prev as usize].next = next;
        } else {
            self.levels[li as usize].head = next;
        }
        if next != NIL {
            self.slots[next as usize].prev = prev;
        } else {
            self.levels[li as usize].tail = prev;
        }
        let l = &mut self.levels[li as usize];
        l.total -= qty;
        l.count -= 1;
        let empty = l.count == 0;
        side.total_lots -= qty;
        side.order_count -= 1;
        self.resting -= 1;
        let s = &mut self.slots[i as usize];
        s.resting = false;
        s.prev = NIL;
        s.next = NIL;
        s.level = NIL;
        if empty {
            side.remove_level(side.rank_of(price));
            self.release_level(li);
        }
    }

    #[inline(always)]
    fn release_level(&mut self, li: u32) {
        let l = &mut self.levels[li as usize];
        l.head = self.free_level;
        l.tail = NIL;
        l.count = 0;
        l.total = 0;
        self.free_level = li;
    }

    /// Can `qty` be filled entirely against levels of `opp` with rank >=
    /// `threshold`? Read-only.
    #[inline]
    pub fn fillable(&self, opp: &SideBook, threshold: i64, qty: u64) -> bool {
        let mut need = qty;
        for k in opp.keys.iter().rev() {
            if k.rank < threshold {
                break;
            }
            let t = self.levels[k.level as usize].total;
            if t >= need {
                return true;
            }
            need -= t;
        }
        false
    }

    /// Upper bound on the number of fills matching `qty` against `opp` with
    /// rank >= `threshold` could produce. Read-only.
    #[inline]
    pub fn max_fills(&self, opp: &SideBook, threshold: i64, qty: u64) -> u64 {
        let mut need = qty;
        let mut fills = 0u64;
        for k in opp.keys.iter().rev() {
            if k.rank < threshold || need == 0 {
                break;
            }
            let l = &self.levels[k.level as usize];
            fills += u64::from(l.count);
            need = need.saturating_sub(l.total);
        }
        fills
    }

    /// Verify every structural invariant listed in the module docs. Test
    /// helper; O(capacity).
    #[cfg(test)]
    pub fn check_invariants(&self, books: &[(u32, &SideBook, Side)]) {
        let mut seen = vec![false; self.slots.len()];
        let mut resting = 0usize;
        for &(sym, side, s) in books {
            let mut tot = 0u64;
            let mut cnt = 0u64;
            for w in side.keys.windows(2) {
                assert!(w[0].rank < w[1].rank, "keys strictly ascending");
            }
            for (o, &l) in side.ladder.iter().enumerate() {
                let rank = side.ladder_base + o as i64;
                let expect = side.find(rank).map(|k| side.keys[k].level).unwrap_or(NIL);
                assert_eq!(l, expect, "ladder exact inside its window");
            }
            for k in &side.keys {
                let l = &self.levels[k.level as usize];
                assert!(l.count > 0, "no empty level in index");
                let mut i = l.head;
                let mut prev = NIL;
                let mut lt = 0u64;
                let mut lc = 0u32;
                while i != NIL {
                    let o = &self.slots[i as usize];
                    assert!(!seen[i as usize], "order in two lists");
                    seen[i as usize] = true;
                    assert!(o.resting && o.remaining > 0);
                    assert_eq!(o.prev, prev);
                    assert_eq!(o.level, k.level);
                    assert_eq!(o.symbol, sym);
                    assert_eq!(o.side, s);
                    assert_eq!(side.rank_of(o.price), k.rank);
                    assert!(o.remaining <= o.original);
                    lt += o.remaining;
                    lc += 1;
                    prev = i;
                    i = o.next;
                }
                assert_eq!(l.tail, prev);
                assert_eq!(l.total, lt);
                assert_eq!(l.count, lc);
                tot += lt;
                cnt += u64::from(lc);
            }
            assert_eq!(side.total_lots, tot);
            assert_eq!(side.order_count, cnt);
            resting += cnt as usize;
        }
        assert_eq!(self.resting, resting);
        for (i, s) in self.slots.iter().enumerate() {
            assert_eq!(s.resting, seen[i], "resting flag matches list membership");
        }
        // Free list covers every non-resting slot exactly once.
        let mut free = 0usize;
        let mut i = self.free_slot;
        while i != NIL {
            assert!(!seen[i as usize]);
            free += 1;
            assert!(free <= self.slots.len(), "free list cycle");
            i = self.slots[i as usize].next;
        }
        assert_eq!(free + resting, self.slots.len());
    }
}
