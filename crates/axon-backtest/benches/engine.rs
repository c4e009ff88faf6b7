//! Criterion benches for the matching engine hot paths.
//!
//! - `resting_add`: non-crossing GTC limit into a book of ~10k resting orders
//!   (200 levels). Adds are timed in blocks of 1000; the matching cancels that
//!   keep the book size stable run outside the timed region.
//! - `cancel`: cancel of orders inside that book (random order within the
//!   block); the re-adds run outside the timed region.
//! - `cross_1_3_levels`: aggressive limit buy consuming exactly 1, 2 or 3 full
//!   ask levels (2 makers per level, so 2–6 fills) into a reused `Vec<Fill>`;
//!   the consumed levels are replenished outside the timed region.
//! - `mixed_stream`: per-op cost of 70% limit add / 20% cancel / 10% market.
//!
//! Run: `cargo bench -p axon-backtest -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::time::{Duration, Instant};

use axon_backtest::*;
use criterion::{criterion_group, criterion_main, Criterion};

const SYM: SymbolId = SymbolId(0);
const BLOCK: usize = 1000;

struct Lcg(u64);
impl Lcg {
    #[inline]
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

/// Book with 5k bids on 100 levels (9900..=9999) and 5k asks on 100 levels
/// (10001..=10100), 50 orders per level.
fn ten_k_book(capacity: usize) -> MatchingEngine {
    let mut e = MatchingEngine::with_capacity(capacity);
    e.add_symbol(SymbolSpec::new(0.01, 1.0).expect("spec"))
        .expect("sym");
    let mut sink = NullSink;
    for k in 0..50 {
        for i in 0..100 {
            let q = 1 + ((i + k) % 7) as u64;
            e.submit(&OrderRequest::limit(SYM, Side::Buy, 9900 + i, q), &mut sink)
                .expect("bid");
            e.submit(
                &OrderRequest::limit(SYM, Side::Sell, 10001 + i, q),
                &mut sink,
            )
            .expect("ask");
        }
    }
    e
}

fn bench_resting_add(c: &mut Criterion) {
    let mut e = ten_k_book(1 << 15);
    let mut rng = Lcg(1);
    let reqs: Vec<OrderRequest> = (0..BLOCK)
        .map(|_| {
            let side = if rng.next() & 1 == 0 {
                Side::Buy
            } else {
                Side::Sell
            };
            let off = (rng.next() % 100) as i64;
            let px = if side == Side::Buy {
                9999 - off
            } else {
                10001 + off
            };
            OrderRequest::limit(SYM, side, px, 1 + rng.next() % 9)
        })
        .collect();
    let mut ids = Vec::with_capacity(BLOCK);
    let mut sink = NullSink;
    c.bench_function("resting_add", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut done = 0u64;
            while done < iters {
                let n = ((iters - done) as usize).min(BLOCK);
                ids.clear();
                let t = Instant::now();
                for r in &reqs[..n] {
                    let res = e.submit(black_box(r), &mut sink).expect("add");
                    ids.push(res.order_id);
                }
                total += t.elapsed();
                for id in &ids {
                    e.cancel(*id).expect("cancel");
                }
                done += n as u64;
            }
            total
        })
    });
}

fn bench_cancel(c: &mut Criterion) {
    let mut e = ten_k_book(1 << 15);
    let mut rng = Lcg(2);
    let reqs: Vec<OrderRequest> = (0..BLOCK)
        .map(|_| {
            let side = if rng.next() & 1 == 0 {
                Side::Buy
            } else {
                Side::Sell
            };
            let off = (rng.next() % 100) as i64;
            let px = if side == Side::Buy {
                9999 - off
            } else {
                10001 + off
            };
            OrderRequest::limit(SYM, side, px, 1 + rng.next() % 9)
        })
        .collect();
    // Cancel in a scrambled order (not LIFO/FIFO).
    let mut perm: Vec<usize> = (0..BLOCK).collect();
    for i in (1..BLOCK).rev() {
        let j = (rng.next() as usize) % (i + 1);
        perm.swap(i, j);
    }
    let mut ids = Vec::with_capacity(BLOCK);
    let mut sink = NullSink;
    c.bench_function("cancel", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut done = 0u64;
            while done < iters {
                let n = ((iters - done) as usize).min(BLOCK);
                ids.clear();
                for r in &reqs {
                    ids.push(e.submit(r, &mut sink).expect("add").order_id);
                }
                let t = Instant::now();
                for &p in perm.iter().filter(|&&p| p < n) {
                    black_box(e.cancel(black_box(ids[p])).expect("cancel"));
                }
                total += t.elapsed();
                for &p in perm.iter().filter(|&&p| p >= n) {
                    e.cancel(ids[p]).expect("cancel rest");
                }
                done += n as u64;
            }
            total
        })
    });
}

fn bench_cross(c: &mut Criterion) {
    // Asks: 2000 levels from 10001, 2 makers x 5 lots each; bids: 5k resting.
    const LEVELS: i64 = 2000;
    let mut e = MatchingEngine::with_capacity(1 << 15);
    e.add_symbol(SymbolSpec::new(0.01, 1.0).expect("spec"))
        .expect("sym");
    let mut sink = NullSink;
    for i in 0..LEVELS {
        for _ in 0..2 {
            e.submit(
                &OrderRequest::limit(SYM, Side::Sell, 10001 + i, 5),
                &mut sink,
            )
            .expect("ask");
        }
    }
    for k in 0..5000 {
        e.submit(
            &OrderRequest::limit(SYM, Side::Buy, 9999 - (k % 100), 3),
            &mut sink,
        )
        .expect("bid");
    }
    let mut fills: Vec<Fill> = Vec::with_capacity(64);
    // Takers consume 1, 2, 3 levels in turn; 500 takers use 1000 levels.
    const TAKERS: usize = 500;
    c.bench_function("cross_1_3_levels", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut done = 0u64;
            while done < iters {
                let n = ((iters - done) as usize).min(TAKERS);
                let mut px = 10001i64;
                let t = Instant::now();
                for k in 0..n {
                    let levels = 1 + (k % 3) as i64;
                    let top = px + levels - 1;
                    fills.clear();
                    let r = e
                        .submit(
                            black_box(&OrderRequest::limit(
                                SYM,
                                Side::Buy,
                                top,
                                10 * levels as u64,
                            )),
                            &mut fills,
                        )
                        .expect("cross");
                    debug_assert_eq!(r.status, OrderStatus::Filled);
                    black_box(&fills);
                    px = top + 1;
                }
                total += t.elapsed();
                // Replenish consumed levels (untimed).
                for p in (10001..px).rev() {
                    for _ in 0..2 {
                        e.submit(&OrderRequest::limit(SYM, Side::Sell, p, 5), &mut sink)
                            .expect("refill");
                    }
                }
                done += n as u64;
            }
            total
        })
    });
}

fn bench_mixed(c: &mut Criterion) {
    let mut e = ten_k_book(1 << 20);
    let mut rng = Lcg(3);
    const RING: usize = 8192;
    let mut ring: Vec<OrderId> = vec![OrderId(0); RING];
    let mut head = 0usize;
    let mut fills: Vec<Fill> = Vec::with_capacity(256);
    c.bench_function("mixed_stream_per_op", |b| {
        b.iter(|| {
            let x = rng.next();
            let roll = x % 100;
            let side = if (x >> 8) & 1 == 0 {
                Side::Buy
            } else {
                Side::Sell
            };
            fills.clear();
            if roll < 70 {
                let off = ((x >> 9) % 100) as i64;
                let px = if side == Side::Buy {
                    9999 - off
                } else {
                    10001 + off
                };
                let q = 1 + (x >> 20) % 9;
                if let Ok(r) = e.submit(&OrderRequest::limit(SYM, side, px, q), &mut fills) {
                    ring[head % RING] = r.order_id;
                    head += 1;
                }
            } else if roll < 90 {
                let id = ring[((x >> 9) as usize) % RING];
                let _ = black_box(e.cancel(id));
            } else {
                let q = 10 + (x >> 9) % 51; // ~balances the lots added
                let _ = black_box(e.submit(&OrderRequest::market(SYM, side, q), &mut fills));
            }
            black_box(&fills);
        })
    });
}

criterion_group!(
    benches,
    bench_resting_add,
    bench_cancel,
    bench_cross,
    bench_mixed
);
criterion_main!(benches);
