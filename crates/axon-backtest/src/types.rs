//! Plain value types shared by the engine, the batch API and callers.
//!
//! Invariants:
//! - All types here are `Copy` values with no interior references; none of
//!   them allocates.
//! - [`OrderId`] packs `generation << 32 | slot_index`. Generations start at 1
//!   and are bumped every time a slot is released, so an id that has been
//!   filled/cancelled/rejected is *stale* until that one slot has been reused
//!   [`MAX_GENERATION`] times, and `OrderId(0)` is never valid.
//! - Generations stay in `1..=MAX_GENERATION` (20 bits: after `MAX_GENERATION`
//!   the next one is 1), so every id is below 2^52 and survives a round trip
//!   through an `f64` (a JavaScript number) exactly.
//! - [`Fill::seq`] is global to one engine, starts at 1 and strictly increases
//!   across all symbols; `Fill::price_ticks` is always the maker's resting
//!   price.

/// Dense symbol handle returned by [`crate::MatchingEngine::add_symbol`]
/// (0, 1, 2, ... in registration order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SymbolId(pub u32);

/// Largest slot generation; generations wrap from here back to 1, which keeps
/// every [`OrderId`] below 2^52 (exact as an `f64`).
pub const MAX_GENERATION: u32 = (1 << 20) - 1;

/// Largest value an [`OrderId`] can take (`< 2^52`).
pub const MAX_ORDER_ID: u64 = ((MAX_GENERATION as u64) << 32) | u32::MAX as u64;

/// Order handle: `generation << 32 | slot_index` (see module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct OrderId(pub u64);

impl OrderId {
    #[inline]
    pub(crate) const fn new(slot: u32, generation: u32) -> Self {
        OrderId(((generation as u64) << 32) | slot as u64)
    }
    #[inline]
    pub(crate) const fn slot(self) -> u32 {
        self.0 as u32
    }
    #[inline]
    pub(crate) const fn generation(self) -> u32 {
        (self.0 >> 32) as u32
    }
    /// Next generation of a slot: `+1`, wrapping from [`MAX_GENERATION`] to 1
    /// (never 0, never above 20 bits).
    #[inline(always)]
    pub(crate) const fn next_generation(generation: u32) -> u32 {
        if generation >= MAX_GENERATION {
            1
        } else {
            generation + 1
        }
    }
    /// Raw `u64` representation (what the batch API uses).
    #[inline]
    pub const fn as_u64(self) -> u64 {
        self.0
    }
}

/// Order side. Batch code: `0 = Buy`, `1 = Sell`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[repr(u8)]
pub enum Side {
    /// Bid.
    #[default]
    Buy = 0,
    /// Ask.
    Sell = 1,
}

impl Side {
    /// The other side.
    #[inline]
    pub const fn opposite(self) -> Side {
        match self {
            Side::Buy => Side::Sell,
            Side::Sell => Side::Buy,
        }
    }
    /// Decode a batch code.
    #[inline]
    pub const fn from_code(c: u8) -> Option<Side> {
        match c {
            0 => Some(Side::Buy),
            1 => Some(Side::Sell),
            _ => None,
        }
    }
}

/// Order type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum OrderType {
    /// Has a limit price; may rest (GTC).
    #[default]
    Limit,
    /// No price; never rests (unfilled remainder is cancelled).
    Market,
}

/// Time in force. Batch code: `0 = Gtc`, `1 = Ioc`, `2 = Fok`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(u8)]
pub enum TimeInForce {
    /// Good till cancelled: the remainder of a limit order rests.
    #[default]
    Gtc = 0,
    /// Immediate or cancel: fill what crosses now, cancel the rest.
    Ioc = 1,
    /// Fill or kill: fill entirely now or do nothing at all.
    Fok = 2,
}

impl TimeInForce {
    /// Decode a batch code.
    #[inline]
    pub const fn from_code(c: u8) -> Option<TimeInForce> {
        match c {
            0 => Some(TimeInForce::Gtc),
            1 => Some(TimeInForce::Ioc),
            2 => Some(TimeInForce::Fok),
            _ => None,
        }
    }
}

/// A new order. Prices in ticks, quantities in lots (see
/// [`crate::SymbolSpec`] for conversion).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OrderRequest {
    /// Symbol.
    pub symbol: SymbolId,
    /// Side.
    pub side: Side,
    /// Limit or market.
    pub order_type: OrderType,
    /// Time in force. For market orders `Gtc` behaves like `Ioc`.
    pub tif: TimeInForce,
    /// Limit price in ticks (`> 0`); ignored for market orders.
    pub price_ticks: i64,
    /// Quantity in lots (`> 0`).
    pub qty_lots: u64,
    /// Post-only: only valid on `Limit` + `Gtc`; rejected if it would cross.
    pub post_only: bool,
}

impl OrderRequest {
    /// GTC limit order.
    pub const fn limit(symbol: SymbolId, side: Side, price_ticks: i64, qty_lots: u64) -> Self {
        Self {
            symbol,
            side,
            order_type: OrderType::Limit,
            tif: TimeInForce::Gtc,
            price_ticks,
            qty_lots,
            post_only: false,
        }
    }
    /// Market order (never rests).
    pub const fn market(symbol: SymbolId, side: Side, qty_lots: u64) -> Self {
        Self {
            symbol,
            side,
            order_type: OrderType::Market,
            tif: TimeInForce::Ioc,
            price_ticks: 0,
            qty_lots,
            post_only: false,
        }
    }
    /// Set the time in force.
    pub const fn with_tif(mut self, tif: TimeInForce) -> Self {
        self.tif = tif;
        self
    }
    /// Mark post-only.
    pub const fn with_post_only(mut self) -> Self {
        self.post_only = true;
        self
    }
}

/// One execution between a resting maker and an incoming taker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(C)]
pub struct Fill {
    /// Global, strictly increasing across all symbols, starting at 1.
    pub seq: u64,
    /// Resting order.
    pub maker_order_id: OrderId,
    /// Incoming (or crossing replaced) order.
    pub taker_order_id: OrderId,
    /// Execution price = maker's price, in ticks.
    pub price_ticks: i64,
    /// Executed lots (`> 0`).
    pub qty_lots: u64,
    /// Symbol.
    pub symbol: SymbolId,
    /// Side of the taker.
    pub taker_side: Side,
}

/// Why an order was rejected (a business outcome, not an error).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum RejectReason {
    /// FOK could not be filled entirely; nothing happened.
    FokNotFillable = 1,
    /// Post-only order (or replace of one) would have crossed; nothing happened.
    PostOnlyWouldCross = 2,
}

/// Outcome of a submit / replace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    /// Resting, no fill in this operation.
    New,
    /// Some fills in this operation, remainder resting.
    PartiallyFilled,
    /// Completely filled; the id is no longer live.
    Filled,
    /// IOC/market remainder cancelled (`filled_lots` may be > 0), or, for
    /// [`crate::MatchingEngine::cancel`] in the batch API, the order was cancelled.
    Cancelled,
    /// Rejected without any state change.
    Rejected(RejectReason),
}

impl OrderStatus {
    /// Batch status code (see [`crate::batch`]).
    pub const fn code(self) -> u8 {
        match self {
            OrderStatus::New => 0,
            OrderStatus::PartiallyFilled => 1,
            OrderStatus::Filled => 2,
            OrderStatus::Cancelled => 3,
            OrderStatus::Rejected(_) => 4,
        }
    }
    /// True if the order is resting after the operation.
    pub const fn is_resting(self) -> bool {
        matches!(self, OrderStatus::New | OrderStatus::PartiallyFilled)
    }
}

/// Result of [`crate::MatchingEngine::submit`] / [`crate::MatchingEngine::replace`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SubmitResult {
    /// Id assigned to the order (also for non-resting and rejected orders;
    /// such ids are already stale when returned).
    pub order_id: OrderId,
    /// Outcome.
    pub status: OrderStatus,
    /// Lots filled by this operation.
    pub filled_lots: u64,
    /// Lots not filled by this operation: resting (New/PartiallyFilled),
    /// cancelled (Cancelled), or untouched (Rejected). 0 when Filled.
    pub remaining_lots: u64,
}

/// Aggregated price level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct LevelInfo {
    /// Level price in ticks.
    pub price_ticks: i64,
    /// Sum of remaining lots of all orders at the level.
    pub total_lots: u64,
    /// Number of resting orders at the level.
    pub order_count: u32,
}

/// Snapshot of a resting order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OpenOrder {
    /// Id.
    pub id: OrderId,
    /// Symbol.
    pub symbol: SymbolId,
    /// Side.
    pub side: Side,
    /// Resting price in ticks.
    pub price_ticks: i64,
    /// Lots still open.
    pub remaining_lots: u64,
    /// Original lots: `filled + remaining` (a replace resets it to
    /// `filled_so_far + new_qty`).
    pub original_lots: u64,
    /// Post-only flag given at submission.
    pub post_only: bool,
}

/// Both sides of a book, best level first.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Depth {
    /// Bids, highest price first.
    pub bids: Vec<LevelInfo>,
    /// Asks, lowest price first.
    pub asks: Vec<LevelInfo>,
}

/// Destination for fills. Implemented for `Vec<Fill>` (push) and
/// [`FnSink`] (callback). The engine calls `push_fill` in `seq` order.
pub trait FillSink {
    /// Receive one fill.
    fn push_fill(&mut self, fill: Fill);
}

impl FillSink for Vec<Fill> {
    #[inline]
    fn push_fill(&mut self, fill: Fill) {
        self.push(fill);
    }
}

/// Adapts a closure into a [`FillSink`].
#[derive(Debug)]
pub struct FnSink<F>(pub F);

impl<F: FnMut(Fill)> FillSink for FnSink<F> {
    #[inline]
    fn push_fill(&mut self, fill: Fill) {
        (self.0)(fill);
    }
}

/// A sink that discards fills (useful for benchmarks).
#[derive(Debug, Default, Clone, Copy)]
pub struct NullSink;

impl FillSink for NullSink {
    #[inline]
    fn push_fill(&mut self, _fill: Fill) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_id_packing() {
        let id = OrderId::new(7, 3);
        assert_eq!(id.slot(), 7);
        assert_eq!(id.generation(), 3);
        assert_eq!(id.as_u64(), (3u64 << 32) | 7);
    }

    #[test]
    fn generations_wrap_within_20_bits() {
        assert_eq!(OrderId::next_generation(1), 2);
        assert_eq!(OrderId::next_generation(MAX_GENERATION - 1), MAX_GENERATION);
        assert_eq!(OrderId::next_generation(MAX_GENERATION), 1);
        // Defensive: anything out of range also restarts at 1.
        assert_eq!(OrderId::next_generation(u32::MAX), 1);
        let top = OrderId::new(u32::MAX, MAX_GENERATION);
        assert_eq!(top.as_u64(), MAX_ORDER_ID);
        const { assert!(MAX_ORDER_ID < 1u64 << 52) };
        assert_eq!((MAX_ORDER_ID as f64) as u64, MAX_ORDER_ID);
    }

    #[test]
    fn codes_round_trip() {
        assert_eq!(Side::from_code(0), Some(Side::Buy));
        assert_eq!(Side::from_code(1), Some(Side::Sell));
        assert_eq!(Side::from_code(2), None);
        assert_eq!(TimeInForce::from_code(2), Some(TimeInForce::Fok));
        assert_eq!(TimeInForce::from_code(3), None);
        assert_eq!(Side::Buy.opposite(), Side::Sell);
    }
}
