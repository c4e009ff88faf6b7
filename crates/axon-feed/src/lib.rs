//! The pushed-market-data feed: shared memory a host (the Node binding) writes backend pushes
//! into, read by the guard when it next needs that symbol. A push then costs a few stores, not a
//! call into the guard.
//!
//! Layout: one row of [`FEED_STRIDE`] f64 cells per market slot (`Guard::market_slot`):
//! `[reference_price (NaN: none), position, open_buy_quantity, open_sell_quantity, version]`.
//! The writer stores the four values, then a larger `version`.
//!
//! Invariants:
//! - The guard ingests a row only when its version differs from the last one it took, and always
//!   before it reads or overwrites that slot's market state (a decision, a fetched update, an
//!   invalidation, a ticker price), so an older push never overrides newer data.
//! - A row ingested is validated exactly like `Guard::update_market`; an invalid row makes the
//!   slot unknown (fail closed: the next decision needing it asks the backend again).
//! - Pushed data never goes stale (as with `update_market(.., pushed = true)`).
//! - Cells are atomics read with relaxed loads: the writer is the host thread that also calls the
//!   guard, so program order is the only ordering needed; no `&mut` to the cells ever exists.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Cells per slot: price, position, open buy, open sell, version.
pub const FEED_STRIDE: usize = 5;

/// Rows of pushed market data shared with a host (see the module docs).
#[derive(Debug, Clone)]
pub struct MarketFeed(Arc<[AtomicU64]>);

/// One row as read from the feed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FeedRow {
    pub reference_price: f64,
    pub position: f64,
    pub open_buy: f64,
    pub open_sell: f64,
    pub version: f64,
}

impl MarketFeed {
    pub fn new(slots: usize) -> Self {
        MarketFeed(
            (0..slots * FEED_STRIDE)
                .map(|i| {
                    AtomicU64::new(if i % FEED_STRIDE == 0 {
                        f64::NAN.to_bits()
                    } else {
                        0
                    })
                })
                .collect(),
        )
    }

    /// The cells, for a host to hand out as memory it writes (e.g. a JS Float64Array).
    pub fn cells(&self) -> &Arc<[AtomicU64]> {
        &self.0
    }

    /// Number of slots.
    pub fn slots(&self) -> usize {
        self.0.len() / FEED_STRIDE
    }

    #[inline]
    fn cell(&self, at: usize) -> f64 {
        f64::from_bits(self.0[at].load(Ordering::Relaxed))
    }

    #[inline]
    pub fn version(&self, slot: usize) -> f64 {
        self.cell(slot * FEED_STRIDE + 4)
    }

    pub fn row(&self, slot: usize) -> FeedRow {
        let at = slot * FEED_STRIDE;
        FeedRow {
            reference_price: self.cell(at),
            position: self.cell(at + 1),
            open_buy: self.cell(at + 2),
            open_sell: self.cell(at + 3),
            version: self.cell(at + 4),
        }
    }

    /// Write a row as a host would (tests and Rust hosts): values first, then the next version.
    pub fn push(
        &self,
        slot: usize,
        reference_price: Option<f64>,
        position: f64,
        open_buy: f64,
        open_sell: f64,
    ) {
        let at = slot * FEED_STRIDE;
        let next = self.version(slot) + 1.0;
        for (offset, value) in [
            reference_price.unwrap_or(f64::NAN),
            position,
            open_buy,
            open_sell,
            next,
        ]
        .into_iter()
        .enumerate()
        {
            self.0[at + offset].store(value.to_bits(), Ordering::Relaxed);
        }
    }
}
