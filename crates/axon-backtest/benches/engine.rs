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
//! - `float_batch_book_stream`: the stream of `npm run bench:book` (same generator and seed: 70%
//!   limit, 20% cancel of a live order, 10% market; tick 0.01, lot 1) through
//!   `execute_float_batch` in calls of 65,536 ops, as the Node binding runs it (cancels of orders
//!   added in the same call as `-(k + 1)`); throughput in ops/s.
//!
//! Run: `cargo bench -p axon-backtest -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::time::{Duration, Instant};

use axon_backtest::batch::{FILL_STRIDE, OP_CANCEL, OP_LIMIT, OP_MARKET, RESULT_STRIDE};
use axon_backtest::*;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

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

/// `bench/inputs.ts`'s `rng` (mulberry32): the same numbers as the Node bench.
struct Mulberry32(u32);
impl Mulberry32 {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x6d2b_79f5);
        let mut t = self.0;
        t = (t ^ (t >> 15)).wrapping_mul(t | 1);
        t ^= t.wrapping_add((t ^ (t >> 7)).wrapping_mul(t | 61));
        f64::from(t ^ (t >> 14)) / 4_294_967_296.0
    }
}

/// `bench/order-book.ts`'s stream: op, side, price, size, and for a cancel the index of the limit
/// op that added its target (decided by replaying the stream through the engine).
struct BookStream {
    op: Vec<u8>,
    side: Vec<u8>,
    price: Vec<f64>,
    size: Vec<f64>,
    target: Vec<usize>,
}

fn book_stream(n: usize) -> BookStream {
    const MID_TICKS: f64 = 10_000.0;
    let mut r = Mulberry32(20_240_601);
    let mut s = BookStream {
        op: vec![0; n],
        side: vec![0; n],
        price: vec![0.0; n],
        size: vec![0.0; n],
        target: vec![usize::MAX; n],
    };
    let mut e = MatchingEngine::with_capacity(n + 16);
    let spec = SymbolSpec::new(0.01, 1.0).expect("spec");
    e.add_symbol(spec).expect("sym");
    let mut live: Vec<u64> = Vec::new();
    let mut pos = std::collections::HashMap::new();
    let mut op_of = std::collections::HashMap::new();
    let mut fills: Vec<Fill> = Vec::new();
    let remove = |id: u64, live: &mut Vec<u64>, pos: &mut std::collections::HashMap<u64, usize>| {
        if let Some(p) = pos.remove(&id) {
            let last = live.pop().expect("live");
            if last != id {
                live[p] = last;
                pos.insert(last, p);
            }
        }
    };
    for i in 0..n {
        let u = r.next();
        let side = if r.next() < 0.5 { 0 } else { 1 };
        let mut op = if u < 0.7 {
            OP_LIMIT
        } else if u < 0.9 {
            OP_CANCEL
        } else {
            OP_MARKET
        };
        if op == OP_CANCEL && live.is_empty() {
            op = OP_LIMIT;
        }
        s.op[i] = op;
        s.side[i] = side;
        if op == OP_LIMIT {
            let away = (r.next() * r.next() * 100.0).floor() - 2.0;
            let ticks = if side == 0 {
                MID_TICKS - away
            } else {
                MID_TICKS + away
            };
            s.price[i] = ticks / 100.0;
            s.size[i] = 1.0 + (r.next() * 10.0).floor();
        } else if op == OP_MARKET {
            s.size[i] = 1.0 + (r.next() * 49.0).floor();
        } else {
            let id = live[(r.next() * live.len() as f64) as usize];
            s.target[i] = op_of[&id];
            e.cancel(OrderId(id)).expect("live order");
            remove(id, &mut live, &mut pos);
            continue;
        }
        let req = if op == OP_MARKET {
            OrderRequest::market(
                SymbolId(0),
                Side::from_code(side).expect("side"),
                s.size[i] as u64,
            )
        } else {
            let ticks = spec.price_to_ticks(s.price[i]).expect("on grid");
            OrderRequest::limit(
                SymbolId(0),
                Side::from_code(side).expect("side"),
                ticks,
                s.size[i] as u64,
            )
        };
        fills.clear();
        let res = e.submit(&req, &mut fills).expect("submit");
        for f in &fills {
            if e.order(f.maker_order_id).is_none() {
                remove(f.maker_order_id.0, &mut live, &mut pos);
            }
        }
        if op == OP_LIMIT && res.status.is_resting() {
            pos.insert(res.order_id.0, live.len());
            live.push(res.order_id.0);
            op_of.insert(res.order_id.0, i);
        }
    }
    s
}

fn bench_float_batch(c: &mut Criterion) {
    const N: usize = 200_000;
    const CALL: usize = 65_536;
    let s = book_stream(N);
    let symbol = vec![0u32; N];
    let zeros = vec![0u8; N];
    let mut order_id = vec![0.0f64; N];
    let mut id_of = vec![0.0f64; N];
    let mut results = vec![0.0f64; CALL * RESULT_STRIDE];
    let mut fills = vec![0.0f64; CALL * 4 * FILL_STRIDE];
    let mut group = c.benchmark_group("float_batch_book_stream");
    group.throughput(Throughput::Elements(N as u64));
    group.sample_size(20);
    group.bench_function("ops", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let mut e = MatchingEngine::with_capacity(N + 16);
                e.add_symbol(SymbolSpec::new(0.01, 1.0).expect("spec"))
                    .expect("sym");
                let t = Instant::now();
                let mut start = 0;
                while start < N {
                    let end = N.min(start + CALL);
                    for (i, target) in order_id.iter_mut().enumerate().take(end).skip(start) {
                        if s.op[i] == OP_CANCEL {
                            let k = s.target[i];
                            *target = if k >= start {
                                -(k as f64) - 1.0
                            } else {
                                id_of[k]
                            };
                        }
                    }
                    let batch = FloatBatch {
                        op: &s.op,
                        symbol: &symbol,
                        side: &s.side,
                        price: &s.price,
                        quantity: &s.size,
                        tif: &zeros,
                        flags: &zeros,
                        order_id: &order_id,
                        start,
                        end,
                    };
                    let done = e
                        .execute_float_batch(&batch, &mut results, &mut fills)
                        .expect("batch");
                    for j in 0..done.ops_done {
                        id_of[start + j] = results[j * RESULT_STRIDE];
                    }
                    start += done.ops_done;
                }
                total += t.elapsed();
                black_box(&e);
            }
            total
        })
    });
    group.finish();
}

criterion_group!(
    benches,
    bench_resting_add,
    bench_cancel,
    bench_cross,
    bench_mixed,
    bench_float_batch
);
criterion_main!(benches);
