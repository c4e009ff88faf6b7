//! Seeded liquidity ladders: maker orders a backtest places around the current price so that
//! marketable orders trade through real price-time matching, then removes again.
//!
//! Invariants:
//! - Seeding never trades: every ladder order is a post-only GTC limit, so a level that would
//!   cross a resting order is rejected (its id is consumed and stale, like any rejected submit)
//!   and the rest of the ladder still goes in.
//! - Order of entry is fixed (ask level 0, bid level 0, ask level 1, bid level 1, ...), so ids,
//!   time priority and every later fill are deterministic and identical to submitting the same
//!   orders one by one.
//! - Removal cancels exactly the ladder orders still resting; ids that have filled completely are
//!   stale (generation-checked) and skipped, never confused with a newer order.

use crate::engine::MatchingEngine;
use crate::error::EngineError;
use crate::types::{NullSink, OrderId, OrderRequest, OrderStatus, Side, SymbolId};

/// Where a ladder sits, in ticks and lots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ladder {
    /// Best bid; level `k` is `best_bid_ticks - k * step_ticks` (levels below one tick are left out).
    pub best_bid_ticks: i64,
    /// Best ask; level `k` is `best_ask_ticks + k * step_ticks`.
    pub best_ask_ticks: i64,
    /// Distance between levels (`> 0`).
    pub step_ticks: i64,
    /// Quantity of every level (`> 0`).
    pub size_lots: u64,
    /// Levels per side.
    pub levels: u32,
}

impl MatchingEngine {
    /// Place `ladder` on `symbol`; the ids of the orders that now rest are appended to `placed`.
    /// Returns how many rest. Every error (unknown symbol, a non-positive step, size or ask, a
    /// level price out of range, no capacity for the whole ladder) comes before anything is placed;
    /// only a side's lot total overflowing `u64` could stop it part way.
    pub fn seed_ladder(
        &mut self,
        symbol: SymbolId,
        ladder: &Ladder,
        placed: &mut Vec<OrderId>,
    ) -> Result<usize, EngineError> {
        self.spec(symbol)
            .ok_or(EngineError::UnknownSymbol(symbol.0))?;
        if ladder.step_ticks <= 0 {
            return Err(EngineError::NonPositive {
                field: "step_ticks",
            });
        }
        if ladder.size_lots == 0 {
            return Err(EngineError::NonPositive { field: "size_lots" });
        }
        if ladder.best_ask_ticks <= 0 {
            return Err(EngineError::NonPositive {
                field: "best_ask_ticks",
            });
        }
        // The farthest ask must be a valid price: then every offset below is too.
        i64::from(ladder.levels.saturating_sub(1))
            .checked_mul(ladder.step_ticks)
            .and_then(|span| ladder.best_ask_ticks.checked_add(span))
            .ok_or(EngineError::InvalidField {
                field: "step_ticks",
            })?;
        let room = self.capacity() - self.open_order_count();
        if room < 2 * ladder.levels as usize {
            return Err(EngineError::CapacityExceeded {
                capacity: self.capacity(),
            });
        }
        let mut rested = 0;
        for level in 0..i64::from(ladder.levels) {
            let offset = level * ladder.step_ticks;
            rested += self.seed_level(
                symbol,
                Side::Sell,
                ladder.best_ask_ticks + offset,
                ladder.size_lots,
                placed,
            )?;
            let bid = ladder.best_bid_ticks.saturating_sub(offset);
            if bid >= 1 {
                rested += self.seed_level(symbol, Side::Buy, bid, ladder.size_lots, placed)?;
            }
        }
        Ok(rested)
    }

    fn seed_level(
        &mut self,
        symbol: SymbolId,
        side: Side,
        price_ticks: i64,
        size_lots: u64,
        placed: &mut Vec<OrderId>,
    ) -> Result<usize, EngineError> {
        let request = OrderRequest::limit(symbol, side, price_ticks, size_lots).with_post_only();
        let result = self.submit(&request, &mut NullSink)?;
        if result.status == OrderStatus::New {
            placed.push(result.order_id);
            return Ok(1);
        }
        Ok(0)
    }

    /// Cancel every order of `ids` that is still resting; returns how many were.
    pub fn cancel_resting(&mut self, ids: &[OrderId]) -> usize {
        ids.iter().filter(|&&id| self.cancel(id).is_ok()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::symbol::SymbolSpec;

    fn engine() -> (MatchingEngine, SymbolId) {
        let mut e = MatchingEngine::with_capacity(256);
        let s = e
            .add_symbol(SymbolSpec::new(0.01, 0.001).expect("ok"))
            .expect("ok");
        (e, s)
    }

    #[test]
    fn ladder_rests_both_sides_in_fixed_order_and_leaves_cleanly() {
        let (mut e, s) = engine();
        let mut ids = Vec::new();
        let ladder = Ladder {
            best_bid_ticks: 99,
            best_ask_ticks: 101,
            step_ticks: 2,
            size_lots: 5,
            levels: 3,
        };
        assert_eq!(e.seed_ladder(s, &ladder, &mut ids).expect("ok"), 6);
        assert_eq!(e.best_bid(s).expect("ok").expect("ok").price_ticks, 99);
        assert_eq!(e.best_ask(s).expect("ok").expect("ok").price_ticks, 101);
        let prices: Vec<i64> = ids
            .iter()
            .map(|&id| e.order(id).expect("ok").price_ticks)
            .collect();
        assert_eq!(prices, [101, 99, 103, 97, 105, 95]);
        assert_eq!(e.cancel_resting(&ids), 6);
        assert_eq!(e.open_order_count(), 0);
    }

    #[test]
    fn ladder_skips_levels_that_would_cross_and_bids_below_one_tick() {
        let (mut e, s) = engine();
        let resting = e
            .submit(&OrderRequest::limit(s, Side::Buy, 102, 1), &mut NullSink)
            .expect("ok")
            .order_id;
        let mut ids = Vec::new();
        let ladder = Ladder {
            best_bid_ticks: 2,
            best_ask_ticks: 101,
            step_ticks: 1,
            size_lots: 1,
            levels: 3,
        };
        // Asks 101 and 102 would cross the resting bid at 102: post-only rejects them. Bids 2, 1 rest, 0 is left out.
        assert_eq!(e.seed_ladder(s, &ladder, &mut ids).expect("ok"), 3);
        assert_eq!(e.open_order_count(), 4);
        assert_eq!(e.best_ask(s).expect("ok").expect("ok").price_ticks, 103);
        e.cancel_resting(&ids);
        assert_eq!(e.open_order_count(), 1);
        assert!(e.order(resting).is_some());
    }

    #[test]
    fn filled_ladder_orders_are_skipped_on_removal() {
        let (mut e, s) = engine();
        let mut ids = Vec::new();
        e.seed_ladder(
            s,
            &Ladder {
                best_bid_ticks: 99,
                best_ask_ticks: 101,
                step_ticks: 1,
                size_lots: 2,
                levels: 2,
            },
            &mut ids,
        )
        .expect("ok");
        let mut fills = Vec::new();
        e.submit(&OrderRequest::market(s, Side::Buy, 3), &mut fills)
            .expect("ok"); // all of ask 101, 1 lot of ask 102
        assert_eq!(fills.len(), 2);
        // A new order may reuse the filled order's slot: its id differs by generation and stays.
        let other = e
            .submit(&OrderRequest::limit(s, Side::Sell, 150, 1), &mut NullSink)
            .expect("ok")
            .order_id;
        assert_eq!(e.cancel_resting(&ids), 3);
        assert_eq!(e.open_order_count(), 1);
        assert!(e.order(other).is_some());
    }

    #[test]
    fn bad_ladders_are_refused_before_anything_rests() {
        let (mut e, s) = engine();
        let good = Ladder {
            best_bid_ticks: 99,
            best_ask_ticks: 101,
            step_ticks: 1,
            size_lots: 1,
            levels: 2,
        };
        let cases = [
            (SymbolId(9), good, EngineError::UnknownSymbol(9)),
            (
                s,
                Ladder {
                    step_ticks: 0,
                    ..good
                },
                EngineError::NonPositive {
                    field: "step_ticks",
                },
            ),
            (
                s,
                Ladder {
                    size_lots: 0,
                    ..good
                },
                EngineError::NonPositive { field: "size_lots" },
            ),
            (
                s,
                Ladder {
                    best_ask_ticks: 0,
                    ..good
                },
                EngineError::NonPositive {
                    field: "best_ask_ticks",
                },
            ),
            (
                s,
                Ladder {
                    step_ticks: i64::MAX / 2,
                    levels: 4,
                    ..good
                },
                EngineError::InvalidField {
                    field: "step_ticks",
                },
            ),
            (
                s,
                Ladder {
                    levels: 129,
                    ..good
                },
                EngineError::CapacityExceeded { capacity: 256 },
            ),
        ];
        for (symbol, ladder, expected) in cases {
            let mut ids = Vec::new();
            assert_eq!(
                e.seed_ladder(symbol, &ladder, &mut ids)
                    .expect_err("refused"),
                expected
            );
            assert!(ids.is_empty());
            assert_eq!(e.open_order_count(), 0);
        }
    }
}
