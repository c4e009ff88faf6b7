//! Unit tests for the engine rules.
//!
//! Invariant exercised throughout: after every operation the structural
//! invariants of `book.rs` hold (`check_invariants`), and every error leaves a
//! bit-identical observable state (`state` snapshot comparison).

#![allow(clippy::manual_is_multiple_of)] // MSRV 1.85 lacks is_multiple_of

use crate::batch::*;
use crate::*;

const A: SymbolId = SymbolId(0);
const B: SymbolId = SymbolId(1);

fn engine(cap: usize) -> MatchingEngine {
    let mut e = MatchingEngine::with_capacity(cap);
    let spec = SymbolSpec::new(0.01, 1.0).expect("spec");
    assert_eq!(e.add_symbol(spec), Ok(A));
    assert_eq!(e.add_symbol(spec), Ok(B));
    e
}

/// Full observable state of both symbols.
fn state(e: &MatchingEngine) -> String {
    let mut s = String::new();
    for sym in [A, B] {
        s += &format!("{:?}\n", e.depth(sym, usize::MAX));
        for side in [Side::Buy, Side::Sell] {
            for o in e.open_orders(sym, side).expect("sym") {
                s += &format!("{o:?}\n");
            }
        }
    }
    s += &format!("seq={} open={}", e.last_seq(), e.open_order_count());
    s
}

fn lim(
    e: &mut MatchingEngine,
    sym: SymbolId,
    side: Side,
    px: i64,
    q: u64,
) -> (SubmitResult, Vec<Fill>) {
    let mut f = Vec::new();
    let r = e
        .submit(&OrderRequest::limit(sym, side, px, q), &mut f)
        .expect("submit");
    e.check_invariants();
    (r, f)
}

fn sub(e: &mut MatchingEngine, req: OrderRequest) -> (SubmitResult, Vec<Fill>) {
    let mut f = Vec::new();
    let r = e.submit(&req, &mut f).expect("submit");
    e.check_invariants();
    (r, f)
}

fn fills_summary(f: &[Fill]) -> Vec<(OrderId, i64, u64)> {
    f.iter()
        .map(|f| (f.maker_order_id, f.price_ticks, f.qty_lots))
        .collect()
}

#[test]
fn rests_and_reports_best() {
    let mut e = engine(16);
    let (r, f) = lim(&mut e, A, Side::Buy, 100, 5);
    assert_eq!(r.status, OrderStatus::New);
    assert_eq!((r.filled_lots, r.remaining_lots), (0, 5));
    assert!(f.is_empty());
    lim(&mut e, A, Side::Buy, 100, 3);
    lim(&mut e, A, Side::Buy, 99, 1);
    lim(&mut e, A, Side::Sell, 102, 2);
    assert_eq!(
        e.best_bid(A),
        Ok(Some(LevelInfo {
            price_ticks: 100,
            total_lots: 8,
            order_count: 2
        }))
    );
    assert_eq!(
        e.best_ask(A),
        Ok(Some(LevelInfo {
            price_ticks: 102,
            total_lots: 2,
            order_count: 1
        }))
    );
    assert_eq!(e.best_bid(B), Ok(None));
    let d = e.depth(A, 10).expect("depth");
    assert_eq!(d.bids.len(), 2);
    assert_eq!(
        d.bids[1],
        LevelInfo {
            price_ticks: 99,
            total_lots: 1,
            order_count: 1
        }
    );
    assert_eq!(e.depth(A, 1).expect("depth").bids.len(), 1);
    let o = e.order(r.order_id).expect("open");
    assert_eq!(
        (
            o.symbol,
            o.side,
            o.price_ticks,
            o.remaining_lots,
            o.original_lots
        ),
        (A, Side::Buy, 100, 5, 5)
    );
    assert_eq!(e.best_bid(SymbolId(9)), Err(EngineError::UnknownSymbol(9)));
}

#[test]
fn price_priority_across_levels() {
    let mut e = engine(16);
    let (a1, _) = lim(&mut e, A, Side::Sell, 103, 1);
    let (a2, _) = lim(&mut e, A, Side::Sell, 101, 1);
    let (a3, _) = lim(&mut e, A, Side::Sell, 102, 1);
    let (r, f) = lim(&mut e, A, Side::Buy, 103, 3);
    assert_eq!(r.status, OrderStatus::Filled);
    assert_eq!(
        fills_summary(&f),
        vec![
            (a2.order_id, 101, 1),
            (a3.order_id, 102, 1),
            (a1.order_id, 103, 1)
        ]
    );
    assert!(f
        .iter()
        .all(|x| x.taker_order_id == r.order_id && x.taker_side == Side::Buy));
    // Sell side taker hits highest bid first.
    let (b1, _) = lim(&mut e, A, Side::Buy, 90, 1);
    let (b2, _) = lim(&mut e, A, Side::Buy, 95, 1);
    let (_, f) = lim(&mut e, A, Side::Sell, 80, 2);
    assert_eq!(
        fills_summary(&f),
        vec![(b2.order_id, 95, 1), (b1.order_id, 90, 1)]
    );
}

#[test]
fn time_priority_within_level_and_partial_fills() {
    let mut e = engine(16);
    let (m1, _) = lim(&mut e, A, Side::Sell, 100, 2);
    let (m2, _) = lim(&mut e, A, Side::Sell, 100, 3);
    let (m3, _) = lim(&mut e, A, Side::Sell, 100, 4);
    let (r, f) = lim(&mut e, A, Side::Buy, 100, 4);
    assert_eq!(r.status, OrderStatus::Filled);
    assert_eq!(
        fills_summary(&f),
        vec![(m1.order_id, 100, 2), (m2.order_id, 100, 2)]
    );
    assert_eq!(e.order(m1.order_id), None);
    let o2 = e.order(m2.order_id).expect("partially filled maker");
    assert_eq!((o2.remaining_lots, o2.original_lots), (1, 3));
    // Taker larger than book: partial fill then rest.
    let (r, f) = lim(&mut e, A, Side::Buy, 100, 10);
    assert_eq!(r.status, OrderStatus::PartiallyFilled);
    assert_eq!((r.filled_lots, r.remaining_lots), (5, 5));
    assert_eq!(
        fills_summary(&f),
        vec![(m2.order_id, 100, 1), (m3.order_id, 100, 4)]
    );
    assert_eq!(e.best_ask(A), Ok(None));
    assert_eq!(
        e.best_bid(A),
        Ok(Some(LevelInfo {
            price_ticks: 100,
            total_lots: 5,
            order_count: 1
        }))
    );
    let o = e.order(r.order_id).expect("rests");
    assert_eq!((o.remaining_lots, o.original_lots), (5, 10));
}

#[test]
fn limit_does_not_trade_through_its_price() {
    let mut e = engine(16);
    lim(&mut e, A, Side::Sell, 101, 5);
    let (r, f) = lim(&mut e, A, Side::Buy, 100, 5);
    assert_eq!(r.status, OrderStatus::New);
    assert!(f.is_empty());
}

#[test]
fn ioc_remainder_cancelled() {
    let mut e = engine(16);
    lim(&mut e, A, Side::Sell, 100, 2);
    lim(&mut e, A, Side::Sell, 105, 2);
    let (r, f) = sub(
        &mut e,
        OrderRequest::limit(A, Side::Buy, 101, 5).with_tif(TimeInForce::Ioc),
    );
    assert_eq!(r.status, OrderStatus::Cancelled);
    assert_eq!((r.filled_lots, r.remaining_lots), (2, 3));
    assert_eq!(f.len(), 1);
    assert_eq!(e.best_bid(A), Ok(None));
    assert_eq!(e.order(r.order_id), None);
    // IOC that does not cross: nothing happens, cancelled entirely.
    let before = state(&e);
    let (r, f) = sub(
        &mut e,
        OrderRequest::limit(A, Side::Buy, 101, 5).with_tif(TimeInForce::Ioc),
    );
    assert_eq!(
        (r.status, r.filled_lots, r.remaining_lots),
        (OrderStatus::Cancelled, 0, 5)
    );
    assert!(f.is_empty());
    assert_eq!(state(&e), before);
}

#[test]
fn fok_all_or_nothing() {
    let mut e = engine(16);
    lim(&mut e, A, Side::Sell, 100, 2);
    lim(&mut e, A, Side::Sell, 101, 2);
    lim(&mut e, A, Side::Sell, 103, 10);
    let before = state(&e);
    // 5 lots available at <= 102 is only 4: rejected, nothing changes.
    let (r, f) = sub(
        &mut e,
        OrderRequest::limit(A, Side::Buy, 102, 5).with_tif(TimeInForce::Fok),
    );
    assert_eq!(
        r.status,
        OrderStatus::Rejected(RejectReason::FokNotFillable)
    );
    assert_eq!((r.filled_lots, r.remaining_lots), (0, 5));
    assert!(f.is_empty());
    assert_eq!(state(&e), before);
    // Exactly fillable.
    let (r, f) = sub(
        &mut e,
        OrderRequest::limit(A, Side::Buy, 102, 4).with_tif(TimeInForce::Fok),
    );
    assert_eq!(r.status, OrderStatus::Filled);
    assert_eq!(f.len(), 2);
    // Market FOK.
    let before = state(&e);
    let (r, _) = sub(
        &mut e,
        OrderRequest::market(A, Side::Buy, 11).with_tif(TimeInForce::Fok),
    );
    assert_eq!(
        r.status,
        OrderStatus::Rejected(RejectReason::FokNotFillable)
    );
    assert_eq!(state(&e), before);
    let (r, _) = sub(
        &mut e,
        OrderRequest::market(A, Side::Buy, 10).with_tif(TimeInForce::Fok),
    );
    assert_eq!(r.status, OrderStatus::Filled);
}

#[test]
fn post_only() {
    let mut e = engine(16);
    lim(&mut e, A, Side::Sell, 100, 2);
    let before = state(&e);
    let (r, f) = sub(
        &mut e,
        OrderRequest::limit(A, Side::Buy, 100, 1).with_post_only(),
    );
    assert_eq!(
        r.status,
        OrderStatus::Rejected(RejectReason::PostOnlyWouldCross)
    );
    assert!(f.is_empty());
    assert_eq!(state(&e), before);
    let (r, _) = sub(
        &mut e,
        OrderRequest::limit(A, Side::Buy, 99, 1).with_post_only(),
    );
    assert_eq!(r.status, OrderStatus::New);
    assert!(e.order(r.order_id).expect("rests").post_only);
    // Invalid combinations are errors.
    let before = state(&e);
    let mut f = Vec::new();
    assert_eq!(
        e.submit(
            &OrderRequest::market(A, Side::Buy, 1).with_post_only(),
            &mut f
        ),
        Err(EngineError::InvalidField { field: "post_only" })
    );
    assert_eq!(
        e.submit(
            &OrderRequest::limit(A, Side::Buy, 90, 1)
                .with_post_only()
                .with_tif(TimeInForce::Ioc),
            &mut f
        ),
        Err(EngineError::InvalidField { field: "post_only" })
    );
    assert_eq!(state(&e), before);
}

#[test]
fn market_never_rests() {
    let mut e = engine(16);
    let (r, f) = sub(&mut e, OrderRequest::market(A, Side::Buy, 3));
    assert_eq!(
        (r.status, r.filled_lots, r.remaining_lots),
        (OrderStatus::Cancelled, 0, 3)
    );
    assert!(f.is_empty());
    lim(&mut e, A, Side::Sell, 100, 1);
    lim(&mut e, A, Side::Sell, 200, 1);
    // GTC market behaves like IOC: sweeps any price, remainder cancelled.
    let (r, f) = sub(
        &mut e,
        OrderRequest::market(A, Side::Buy, 3).with_tif(TimeInForce::Gtc),
    );
    assert_eq!(
        (r.status, r.filled_lots, r.remaining_lots),
        (OrderStatus::Cancelled, 2, 1)
    );
    assert_eq!(
        f.iter().map(|f| f.price_ticks).collect::<Vec<_>>(),
        vec![100, 200]
    );
    assert_eq!(e.open_order_count(), 0);
    assert_eq!(e.best_bid(A), Ok(None));
}

#[test]
fn cancel_and_stale_ids() {
    let mut e = engine(16);
    let (r1, _) = lim(&mut e, A, Side::Buy, 100, 5);
    let (r2, _) = lim(&mut e, A, Side::Buy, 100, 6);
    let o = e.cancel(r1.order_id).expect("cancel");
    e.check_invariants();
    assert_eq!((o.remaining_lots, o.price_ticks), (5, 100));
    assert_eq!(
        e.best_bid(A),
        Ok(Some(LevelInfo {
            price_ticks: 100,
            total_lots: 6,
            order_count: 1
        }))
    );
    let before = state(&e);
    assert_eq!(
        e.cancel(r1.order_id),
        Err(EngineError::UnknownOrder(r1.order_id.0))
    );
    // Slot reuse does not revive the old id.
    let (r3, _) = lim(&mut e, A, Side::Buy, 98, 1);
    assert_eq!(r3.order_id.slot(), r1.order_id.slot());
    assert_ne!(r3.order_id, r1.order_id);
    assert_eq!(e.order(r1.order_id), None);
    let mut f = Vec::new();
    assert_eq!(
        e.replace(r1.order_id, 100, 1, &mut f),
        Err(EngineError::UnknownOrder(r1.order_id.0))
    );
    e.cancel(r3.order_id).expect("cancel r3");
    assert_eq!(state(&e), before);
    // Ids of filled / non-resting orders are stale.
    let (t, _) = lim(&mut e, A, Side::Sell, 100, 6);
    assert_eq!(t.status, OrderStatus::Filled);
    assert!(e.cancel(t.order_id).is_err());
    assert!(e.cancel(r2.order_id).is_err());
    assert!(e.cancel(OrderId(0)).is_err());
    assert!(e.cancel(OrderId(u64::MAX)).is_err());
    // Cancel of the last order of a level removes the level.
    assert_eq!(e.depth(A, 10).expect("depth"), Depth::default());
}

#[test]
fn cancel_middle_of_queue_keeps_fifo() {
    let mut e = engine(16);
    let ids: Vec<_> = (0..4)
        .map(|_| lim(&mut e, A, Side::Sell, 100, 1).0.order_id)
        .collect();
    e.cancel(ids[1]).expect("cancel");
    e.cancel(ids[3]).expect("cancel tail");
    e.check_invariants();
    let (_, f) = lim(&mut e, A, Side::Buy, 100, 2);
    assert_eq!(
        f.iter().map(|f| f.maker_order_id).collect::<Vec<_>>(),
        vec![ids[0], ids[2]]
    );
}

#[test]
fn replace_qty_down_keeps_priority() {
    let mut e = engine(16);
    let (m1, _) = lim(&mut e, A, Side::Sell, 100, 5);
    let (m2, _) = lim(&mut e, A, Side::Sell, 100, 5);
    let mut f = Vec::new();
    let r = e.replace(m1.order_id, 100, 2, &mut f).expect("replace");
    e.check_invariants();
    assert_eq!(
        (r.order_id, r.status, r.remaining_lots),
        (m1.order_id, OrderStatus::New, 2)
    );
    assert!(f.is_empty());
    assert_eq!(e.best_ask(A).expect("sym").expect("lvl").total_lots, 7);
    let (_, f) = lim(&mut e, A, Side::Buy, 100, 3);
    assert_eq!(
        fills_summary(&f),
        vec![(m1.order_id, 100, 2), (m2.order_id, 100, 1)]
    );
    // Same qty, same price: no-op, keeps priority.
    let (m3, _) = lim(&mut e, A, Side::Sell, 100, 1);
    e.replace(m2.order_id, 100, 4, &mut Vec::new())
        .expect("same");
    let (_, f) = lim(&mut e, A, Side::Buy, 100, 1);
    assert_eq!(f[0].maker_order_id, m2.order_id);
    let _ = m3;
}

#[test]
fn replace_qty_up_loses_priority() {
    let mut e = engine(16);
    let (m1, _) = lim(&mut e, A, Side::Sell, 100, 1);
    let (m2, _) = lim(&mut e, A, Side::Sell, 100, 1);
    let mut f = Vec::new();
    let r = e.replace(m1.order_id, 100, 3, &mut f).expect("replace");
    e.check_invariants();
    assert_eq!((r.status, r.remaining_lots), (OrderStatus::New, 3));
    let (_, f) = lim(&mut e, A, Side::Buy, 100, 2);
    assert_eq!(
        fills_summary(&f),
        vec![(m2.order_id, 100, 1), (m1.order_id, 100, 1)]
    );
    let o = e.order(m1.order_id).expect("open");
    assert_eq!((o.remaining_lots, o.original_lots), (2, 3));
}

#[test]
fn replace_price_change_loses_priority() {
    let mut e = engine(16);
    let (m1, _) = lim(&mut e, A, Side::Sell, 101, 1);
    let (m2, _) = lim(&mut e, A, Side::Sell, 100, 1);
    let mut f = Vec::new();
    e.replace(m1.order_id, 100, 1, &mut f).expect("replace");
    e.check_invariants();
    assert_eq!(e.depth(A, 5).expect("d").asks.len(), 1);
    let (_, f) = lim(&mut e, A, Side::Buy, 100, 2);
    assert_eq!(
        fills_summary(&f),
        vec![(m2.order_id, 100, 1), (m1.order_id, 100, 1)]
    );
    // Moving away and back also loses priority.
    let (m3, _) = lim(&mut e, A, Side::Sell, 100, 1);
    let (m4, _) = lim(&mut e, A, Side::Sell, 100, 1);
    e.replace(m3.order_id, 100, 1, &mut Vec::new())
        .expect("noop"); // keeps
    e.replace(m3.order_id, 102, 1, &mut Vec::new())
        .expect("away");
    e.replace(m3.order_id, 100, 1, &mut Vec::new())
        .expect("back");
    let (_, f) = lim(&mut e, A, Side::Buy, 100, 1);
    assert_eq!(f[0].maker_order_id, m4.order_id);
}

#[test]
fn replace_crossing_matches() {
    let mut e = engine(16);
    let (ask, _) = lim(&mut e, A, Side::Sell, 105, 2);
    let (bid, _) = lim(&mut e, A, Side::Buy, 100, 5);
    let mut f = Vec::new();
    let r = e.replace(bid.order_id, 106, 5, &mut f).expect("replace");
    e.check_invariants();
    assert_eq!(r.status, OrderStatus::PartiallyFilled);
    assert_eq!((r.filled_lots, r.remaining_lots), (2, 3));
    assert_eq!(f.len(), 1);
    assert_eq!(
        (f[0].maker_order_id, f[0].taker_order_id, f[0].price_ticks),
        (ask.order_id, bid.order_id, 105)
    );
    let o = e.order(bid.order_id).expect("rests");
    assert_eq!(
        (o.price_ticks, o.remaining_lots, o.original_lots),
        (106, 3, 5)
    );
    // Fully filled by replace: id becomes stale.
    let (ask2, _) = lim(&mut e, A, Side::Sell, 110, 1);
    let r = e.replace(ask2.order_id, 106, 1, &mut f).expect("replace");
    assert_eq!(r.status, OrderStatus::Filled);
    assert_eq!(e.order(ask2.order_id), None);
    e.check_invariants();
}

#[test]
fn replace_post_only_crossing_rejected() {
    let mut e = engine(16);
    lim(&mut e, A, Side::Sell, 105, 2);
    let (b, _) = sub(
        &mut e,
        OrderRequest::limit(A, Side::Buy, 100, 1).with_post_only(),
    );
    let before = state(&e);
    let r = e
        .replace(b.order_id, 105, 1, &mut Vec::new())
        .expect("replace");
    assert_eq!(
        r.status,
        OrderStatus::Rejected(RejectReason::PostOnlyWouldCross)
    );
    assert_eq!(state(&e), before);
    let r = e
        .replace(b.order_id, 104, 1, &mut Vec::new())
        .expect("replace");
    assert_eq!(r.status, OrderStatus::New);
}

#[test]
fn invalid_inputs_leave_book_unchanged() {
    let mut e = engine(16);
    let (b, _) = lim(&mut e, A, Side::Buy, 100, 5);
    lim(&mut e, A, Side::Buy, 99, 1);
    lim(&mut e, A, Side::Sell, 101, 5);
    let before = state(&e);
    let mut f = Vec::new();
    let bad = [
        (
            OrderRequest::limit(A, Side::Buy, 0, 1),
            EngineError::NonPositive { field: "price" },
        ),
        (
            OrderRequest::limit(A, Side::Buy, -5, 1),
            EngineError::NonPositive { field: "price" },
        ),
        (
            OrderRequest::limit(A, Side::Buy, 101, 0),
            EngineError::NonPositive { field: "quantity" },
        ),
        (
            OrderRequest::market(A, Side::Buy, 0),
            EngineError::NonPositive { field: "quantity" },
        ),
        (
            OrderRequest::limit(SymbolId(7), Side::Buy, 100, 1),
            EngineError::UnknownSymbol(7),
        ),
        (
            OrderRequest::limit(A, Side::Buy, 90, u64::MAX),
            EngineError::QuantityOverflow,
        ),
    ];
    for (req, err) in bad {
        assert_eq!(e.submit(&req, &mut f), Err(err));
    }
    assert_eq!(
        e.replace(b.order_id, 0, 1, &mut f),
        Err(EngineError::NonPositive { field: "price" })
    );
    assert_eq!(
        e.replace(b.order_id, 100, 0, &mut f),
        Err(EngineError::NonPositive { field: "quantity" })
    );
    assert_eq!(
        e.replace(b.order_id, 100, u64::MAX, &mut f),
        Err(EngineError::QuantityOverflow)
    );
    assert!(f.is_empty());
    assert_eq!(state(&e), before);
    // Float boundary: off-grid / NaN / negative never reach the book.
    let spec = *e.spec(A).expect("spec");
    assert_eq!(
        spec.price_to_ticks(1.005),
        Err(EngineError::OffGrid { field: "price" })
    );
    assert_eq!(
        spec.price_to_ticks(f64::NAN),
        Err(EngineError::NonFinite { field: "price" })
    );
    assert_eq!(
        spec.qty_to_lots(-1.0),
        Err(EngineError::NonPositive { field: "quantity" })
    );
    assert_eq!(
        spec.qty_to_lots(1.5),
        Err(EngineError::OffGrid { field: "quantity" })
    );
    assert_eq!(state(&e), before);
}

#[test]
fn seq_monotonic_across_symbols() {
    let mut e = engine(64);
    let mut all = Vec::new();
    for i in 0..10 {
        let sym = if i % 2 == 0 { A } else { B };
        let mut f = Vec::new();
        e.submit(&OrderRequest::limit(sym, Side::Sell, 100 + i, 2), &mut f)
            .expect("s");
        e.submit(&OrderRequest::limit(sym, Side::Buy, 200, 3), &mut f)
            .expect("s");
        all.extend(f);
    }
    assert!(!all.is_empty());
    assert_eq!(all[0].seq, 1);
    for w in all.windows(2) {
        assert_eq!(w[1].seq, w[0].seq + 1);
    }
    assert!(all.iter().any(|f| f.symbol == A) && all.iter().any(|f| f.symbol == B));
    assert_eq!(e.last_seq(), all.len() as u64);
}

#[test]
fn capacity_exhaustion() {
    let mut e = engine(3);
    let (a, _) = lim(&mut e, A, Side::Sell, 100, 1);
    lim(&mut e, A, Side::Sell, 101, 1);
    lim(&mut e, B, Side::Buy, 50, 1);
    let before = state(&e);
    let mut f = Vec::new();
    assert_eq!(
        e.submit(&OrderRequest::limit(A, Side::Buy, 99, 1), &mut f),
        Err(EngineError::CapacityExceeded { capacity: 3 })
    );
    assert_eq!(
        e.submit(&OrderRequest::limit(A, Side::Sell, 100, 1), &mut f),
        Err(EngineError::CapacityExceeded { capacity: 3 })
    );
    assert_eq!(state(&e), before);
    // Non-resting orders still work at capacity (the reserved slot).
    let (r, _) = sub(
        &mut e,
        OrderRequest::market(A, Side::Buy, 5).with_tif(TimeInForce::Fok),
    );
    assert_eq!(
        r.status,
        OrderStatus::Rejected(RejectReason::FokNotFillable)
    );
    let (r, _) = sub(
        &mut e,
        OrderRequest::limit(B, Side::Buy, 10, 1).with_tif(TimeInForce::Ioc),
    );
    assert_eq!(r.status, OrderStatus::Cancelled);
    // A crossing order that frees a maker can rest its remainder.
    let (r, f) = lim(&mut e, A, Side::Buy, 100, 4);
    assert_eq!((r.status, r.filled_lots), (OrderStatus::PartiallyFilled, 1));
    assert_eq!(f[0].maker_order_id, a.order_id);
    assert_eq!(e.open_order_count(), 3);
    // Replace at capacity reuses its own slot.
    e.replace(r.order_id, 99, 9, &mut Vec::new())
        .expect("replace");
    e.check_invariants();
    e.cancel(r.order_id).expect("cancel");
    lim(&mut e, A, Side::Buy, 99, 1);
}

#[test]
fn deterministic_ids_and_fills() {
    fn run() -> String {
        let mut e = engine(32);
        let mut out = String::new();
        let mut f = Vec::new();
        let mut x = 12345u64;
        for _ in 0..500 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let side = if x >> 63 == 0 { Side::Buy } else { Side::Sell };
            let px = 95 + ((x >> 20) % 10) as i64;
            let sym = SymbolId(((x >> 40) % 2) as u32);
            let r = e.submit(
                &OrderRequest::limit(sym, side, px, 1 + (x >> 50) % 5),
                &mut f,
            );
            out += &format!("{r:?}\n");
            if (x >> 30) % 3 == 0 {
                if let Some(o) = e.open_orders(sym, side.opposite()).expect("sym").next() {
                    out += &format!("{:?}\n", e.cancel(o.id));
                }
            }
        }
        out + &format!("{f:?}")
    }
    assert_eq!(run(), run());
}

#[test]
fn open_orders_priority_order() {
    let mut e = engine(16);
    let (b1, _) = lim(&mut e, A, Side::Buy, 99, 1);
    let (b2, _) = lim(&mut e, A, Side::Buy, 100, 1);
    let (b3, _) = lim(&mut e, A, Side::Buy, 99, 1);
    let ids: Vec<_> = e
        .open_orders(A, Side::Buy)
        .expect("s")
        .map(|o| o.id)
        .collect();
    assert_eq!(ids, vec![b2.order_id, b1.order_id, b3.order_id]);
    assert_eq!(e.side_stats(A, Side::Buy), Ok((2, 3)));
}

#[test]
fn fn_sink_and_null_sink() {
    let mut e = engine(16);
    lim(&mut e, A, Side::Sell, 100, 1);
    lim(&mut e, A, Side::Sell, 100, 1);
    let mut n = 0;
    e.submit(
        &OrderRequest::limit(A, Side::Buy, 100, 1),
        &mut FnSink(|_f: Fill| n += 1),
    )
    .expect("s");
    assert_eq!(n, 1);
    e.submit(&OrderRequest::limit(A, Side::Buy, 100, 1), &mut NullSink)
        .expect("s");
    assert_eq!(e.last_seq(), 2);
}

#[test]
fn many_levels_find_paths() {
    // Exercise the binary-search part of SideBook::find (> 8 levels).
    let mut e = engine(1024);
    let mut ids = Vec::new();
    for i in 0..100i64 {
        let px = 1000 + (i * 37) % 100;
        ids.push(lim(&mut e, A, Side::Sell, px, 1).0.order_id);
        ids.push(lim(&mut e, A, Side::Buy, px - 500, 1).0.order_id);
    }
    for (k, id) in ids.iter().enumerate() {
        if k % 3 == 0 {
            e.cancel(*id).expect("cancel");
            e.check_invariants();
        }
    }
    let asks: Vec<_> = e
        .depth(A, 1000)
        .expect("d")
        .asks
        .iter()
        .map(|l| l.price_ticks)
        .collect();
    assert!(asks.windows(2).all(|w| w[0] < w[1]));
    let (r, f) = sub(&mut e, OrderRequest::market(A, Side::Buy, 1000));
    assert_eq!(r.filled_lots as usize, f.len());
    assert!(f.windows(2).all(|w| w[0].price_ticks <= w[1].price_ticks));
    e.check_invariants();
}

// ---------------------------------------------------------------- batch

struct Ops {
    op: Vec<u8>,
    symbol: Vec<u32>,
    side: Vec<u8>,
    price: Vec<i64>,
    qty: Vec<u64>,
    tif: Vec<u8>,
    flags: Vec<u8>,
    id: Vec<u64>,
}

impl Ops {
    fn new() -> Self {
        Ops {
            op: vec![],
            symbol: vec![],
            side: vec![],
            price: vec![],
            qty: vec![],
            tif: vec![],
            flags: vec![],
            id: vec![],
        }
    }
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        op: u8,
        symbol: u32,
        side: u8,
        price: i64,
        qty: u64,
        tif: u8,
        flags: u8,
        id: u64,
    ) -> &mut Self {
        self.op.push(op);
        self.symbol.push(symbol);
        self.side.push(side);
        self.price.push(price);
        self.qty.push(qty);
        self.tif.push(tif);
        self.flags.push(flags);
        self.id.push(id);
        self
    }
    fn view(&self) -> BatchOps<'_> {
        BatchOps {
            op: &self.op,
            symbol: &self.symbol,
            side: &self.side,
            price_ticks: &self.price,
            qty_lots: &self.qty,
            tif: &self.tif,
            flags: &self.flags,
            order_id: &self.id,
        }
    }
}

#[test]
fn batch_matches_single_calls() {
    let mut e = engine(64);
    let mut ops = Ops::new();
    ops.push(OP_LIMIT, 0, 1, 100, 5, 0, 0, 0)
        .push(OP_LIMIT, 0, 1, 101, 5, 0, 0, 0)
        .push(OP_LIMIT, 0, 0, 101, 7, 0, 0, 0) // crosses 2 levels
        .push(OP_MARKET, 0, 0, 0, 10, 0, 0, 0) // remainder cancelled
        .push(OP_LIMIT, 0, 0, 90, 1, 0, FLAG_POST_ONLY, 0)
        .push(OP_LIMIT, 0, 1, 90, 1, 2, 0, 0) // FOK 1 @ 90: fillable
        .push(OP_LIMIT, 0, 9, 90, 1, 0, 0, 0) // bad side
        .push(OP_CANCEL, 0, 0, 0, 0, 0, 0, 12345) // unknown
        .push(7, 0, 0, 0, 0, 0, 0, 0) // bad op
        .push(OP_LIMIT, 0, 0, 95, 3, 0, 0, 0);
    let mut res = vec![OpResult::default(); 16];
    let mut fills = vec![Fill::default(); 16];
    let s = e
        .execute_batch(&ops.view(), &mut res, &mut fills)
        .expect("batch");
    e.check_invariants();
    assert_eq!(s.stop, BatchStop::Completed);
    assert_eq!(s.ops_done, 10);
    assert_eq!(s.fills_written, 4);
    assert_eq!((res[0].status, res[0].remaining_lots), (STATUS_NEW, 5));
    assert_eq!(
        (
            res[2].status,
            res[2].filled_lots,
            res[2].fills_start,
            res[2].fills_len
        ),
        (STATUS_FILLED, 7, 0, 2)
    );
    assert_eq!(
        (res[3].status, res[3].filled_lots, res[3].remaining_lots),
        (STATUS_CANCELLED, 3, 7)
    );
    assert_eq!((res[3].fills_start, res[3].fills_len), (2, 1));
    assert_eq!(res[4].status, STATUS_NEW);
    assert_eq!(res[5].status, STATUS_FILLED);
    assert_eq!(fills[3].maker_order_id.0, res[4].order_id);
    assert_eq!(
        (res[6].status, res[6].reason),
        (
            STATUS_ERROR,
            EngineError::InvalidField { field: "side" }.code()
        )
    );
    assert_eq!(
        (res[7].status, res[7].reason),
        (STATUS_ERROR, EngineError::UnknownOrder(0).code())
    );
    assert_eq!(res[8].status, STATUS_ERROR);
    assert_eq!(res[9].status, STATUS_NEW);
    // cancel + replace through batch
    let mut ops2 = Ops::new();
    ops2.push(OP_REPLACE, 0, 0, 96, 2, 0, 0, res[9].order_id)
        .push(OP_CANCEL, 0, 0, 0, 0, 0, 0, res[9].order_id)
        .push(OP_CANCEL, 0, 0, 0, 0, 0, 0, res[9].order_id);
    let s = e
        .execute_batch(&ops2.view(), &mut res, &mut fills)
        .expect("batch");
    assert_eq!(s.ops_done, 3);
    assert_eq!((res[0].status, res[0].remaining_lots), (STATUS_NEW, 2));
    assert_eq!(
        (res[1].status, res[1].remaining_lots),
        (STATUS_CANCELLED, 2)
    );
    assert_eq!(res[2].status, STATUS_ERROR);
    e.check_invariants();

    // Same stream through the single-call API gives the same fills.
    let mut e2 = engine(64);
    let mut f2 = Vec::new();
    let reqs = [
        OrderRequest::limit(A, Side::Sell, 100, 5),
        OrderRequest::limit(A, Side::Sell, 101, 5),
        OrderRequest::limit(A, Side::Buy, 101, 7),
        OrderRequest::market(A, Side::Buy, 10),
        OrderRequest::limit(A, Side::Buy, 90, 1).with_post_only(),
        OrderRequest::limit(A, Side::Sell, 90, 1).with_tif(TimeInForce::Fok),
    ];
    for r in &reqs {
        e2.submit(r, &mut f2).expect("s");
    }
    assert_eq!(&fills[..4], &f2[..]);
}

#[test]
fn batch_stops_when_outputs_full() {
    let mut e = engine(64);
    let mut ops = Ops::new();
    for _ in 0..4 {
        ops.push(OP_LIMIT, 0, 1, 100, 1, 0, 0, 0);
    }
    ops.push(OP_MARKET, 0, 0, 0, 4, 0, 0, 0);
    ops.push(OP_LIMIT, 0, 1, 100, 1, 0, 0, 0);
    let mut res = vec![OpResult::default(); 3];
    let mut fills = vec![Fill::default(); 2];
    let v = ops.view();
    let s = e.execute_batch(&v, &mut res, &mut fills).expect("b");
    assert_eq!((s.ops_done, s.stop), (3, BatchStop::ResultsFull));
    let mut res = vec![OpResult::default(); 8];
    let rest = BatchOps {
        op: &v.op[3..],
        symbol: &v.symbol[3..],
        side: &v.side[3..],
        price_ticks: &v.price_ticks[3..],
        qty_lots: &v.qty_lots[3..],
        tif: &v.tif[3..],
        flags: &v.flags[3..],
        order_id: &v.order_id[3..],
    };
    let before = state(&e);
    let s = e.execute_batch(&rest, &mut res, &mut fills).expect("b");
    // 4th limit runs; the market needs up to 4 fills but only 2 fit.
    assert_eq!(
        (s.ops_done, s.stop, s.fills_written),
        (1, BatchStop::FillsFull, 0)
    );
    assert_ne!(state(&e), before);
    let mut fills = vec![Fill::default(); 4];
    let rest2 = BatchOps {
        op: &rest.op[1..],
        symbol: &rest.symbol[1..],
        side: &rest.side[1..],
        price_ticks: &rest.price_ticks[1..],
        qty_lots: &rest.qty_lots[1..],
        tif: &rest.tif[1..],
        flags: &rest.flags[1..],
        order_id: &rest.order_id[1..],
    };
    let s = e.execute_batch(&rest2, &mut res, &mut fills).expect("b");
    assert_eq!(
        (s.ops_done, s.stop, s.fills_written),
        (2, BatchStop::Completed, 4)
    );
    // Length mismatch fails before running anything.
    let before = state(&e);
    let bad = BatchOps {
        qty_lots: &[],
        ..rest2
    };
    assert_eq!(
        e.execute_batch(&bad, &mut res, &mut fills),
        Err(EngineError::BatchLengthMismatch { field: "qty_lots" })
    );
    assert_eq!(state(&e), before);
}

#[test]
fn ladder_recentres_and_far_prices() {
    // Prices far apart (beyond the ladder window) on both sides, best moving
    // across windows, levels removed by cancel and by matching.
    let mut e = engine(4096);
    let prices = [
        100i64, 5_000, 100_000, 10, 2_000_000, 1, 600, 1_100, 99_999, 7,
    ];
    let mut ids = Vec::new();
    for &p in &prices {
        ids.push(lim(&mut e, A, Side::Sell, p + 3_000_000, 2).0.order_id);
        ids.push(lim(&mut e, A, Side::Buy, p, 2).0.order_id);
    }
    let max_px = i64::MAX / 2;
    ids.push(lim(&mut e, A, Side::Sell, max_px, 1).0.order_id);
    e.cancel(ids[2]).expect("cancel");
    e.check_invariants();
    // Sweep asks across windows.
    let (r, f) = sub(
        &mut e,
        OrderRequest::limit(A, Side::Buy, 3_000_700, 100).with_tif(TimeInForce::Ioc),
    );
    assert_eq!(r.filled_lots, 2 * 5); // 3_000_001, _007, _010, _100, _600 (5 levels)
    assert!(f.windows(2).all(|w| w[0].price_ticks <= w[1].price_ticks));
    // Sweep bids across windows.
    let (_, f) = sub(&mut e, OrderRequest::market(A, Side::Sell, 1000));
    assert!(f.windows(2).all(|w| w[0].price_ticks >= w[1].price_ticks));
    assert_eq!(e.best_bid(A), Ok(None));
    // Pseudo-random wide-range activity.
    let mut x = 99u64;
    let mut live = Vec::new();
    for _ in 0..3000 {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let r = x >> 33;
        let side = if r & 1 == 0 { Side::Buy } else { Side::Sell };
        let px = 1 + ((r >> 1) % 5000) as i64 * if (r >> 20) % 7 == 0 { 997 } else { 1 };
        if (r >> 24) % 4 == 0 && !live.is_empty() {
            let id = live.swap_remove(((r >> 3) as usize) % live.len());
            let _ = e.cancel(id);
        } else if let Ok(res) = e.submit(
            &OrderRequest::limit(B, side, px, 1 + (r >> 40) % 5),
            &mut Vec::new(),
        ) {
            if res.status.is_resting() {
                live.push(res.order_id);
            }
        }
        e.check_invariants();
    }
}

/// Generations wrap within 20 bits on every release path (cancel, maker
/// filled, taker filled/rejected), so ids stay below 2^52 forever, and a
/// stale id is still refused right after the wrap.
#[test]
fn ids_stay_below_2_pow_52_across_generation_wrap() {
    let mut e = engine(1);
    let mut sink = NullSink;
    let mut max_id = 0u64;
    let mut prev: Option<OrderId> = None;
    let mut wrapped = false;
    // Capacity 1 = two slots: the maker's slot is released by its cancel,
    // the taker's by its fill, once per iteration each.
    for _ in 0..(MAX_GENERATION as usize + 10) {
        let maker = e
            .submit(&OrderRequest::limit(A, Side::Sell, 100, 2), &mut sink)
            .expect("rest");
        let taker = e
            .submit(&OrderRequest::market(A, Side::Buy, 1), &mut sink)
            .expect("take");
        assert_eq!(taker.status, OrderStatus::Filled);
        e.cancel(maker.order_id).expect("cancel live maker");
        assert_eq!(
            e.cancel(maker.order_id),
            Err(EngineError::UnknownOrder(maker.order_id.0))
        );
        for id in [maker.order_id, taker.order_id] {
            max_id = max_id.max(id.0);
            assert!(id.0 < 1u64 << 52, "id {:#x} not exact as f64", id.0);
            assert!(id.generation() >= 1 && id.generation() <= MAX_GENERATION);
        }
        if let Some(p) = prev {
            if maker.order_id.generation() < p.generation() {
                wrapped = true;
            }
        }
        prev = Some(maker.order_id);
    }
    assert!(wrapped, "the generation never wrapped");
    assert!(max_id <= MAX_ORDER_ID);
    assert_eq!(e.open_order_count(), 0);
    e.check_invariants();
}

/// The real-unit format runs the same loop as the engine-unit one: the same stream, cut into calls
/// by outputs too small for it (both stop reasons), gives the same summaries, rows and fills (in
/// real units) and leaves the same books.
#[test]
fn float_batch_runs_the_same_ops_as_the_lots_batch() {
    let spec = SymbolSpec::new(0.01, 1.0).expect("spec");
    let (mut lots_engine, mut float_engine) = (engine(4096), engine(4096));
    let mut x = 7u64;
    let mut next = move || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        x >> 33
    };
    let mut known: Vec<u64> = Vec::new();
    let mut stops = std::collections::HashSet::new();
    for call in 0..60 {
        let mut ops = Ops::new();
        for _ in 0..200 {
            let r = next();
            let (sym, side) = ((r % 2) as u32, ((r >> 1) % 2) as u8);
            let px = if side == 0 {
                10_000 - (r >> 2) % 30
            } else {
                9_995 + (r >> 2) % 30
            } as i64;
            let qty = 1 + (r >> 8) % 9;
            let target = match known.len() {
                0 => 1,
                n => known[(r >> 12) as usize % n],
            };
            match (r >> 20) % 100 {
                0..=54 => ops.push(
                    OP_LIMIT,
                    sym,
                    side,
                    px,
                    qty,
                    ((r >> 27) % 3) as u8 * u8::from((r >> 29) % 4 == 0),
                    0,
                    0,
                ),
                55..=64 => ops.push(OP_MARKET, sym, side, 0, qty * 4, 0, 0, 0),
                65..=84 => ops.push(OP_CANCEL, 0, 0, 0, 0, 0, 0, target),
                85..=96 => ops.push(OP_REPLACE, 0, 0, px, qty, 0, 0, target),
                97 => ops.push(OP_LIMIT, sym, 4, px, qty, 0, 0, 0),
                98 => ops.push(OP_LIMIT, 9, side, px, qty, 0, 0, 0),
                _ => ops.push(OP_LIMIT, sym, side, px, qty, 0, 2, 0),
            };
        }
        let prices: Vec<f64> = ops.price.iter().map(|&t| spec.ticks_to_price(t)).collect();
        let quantities: Vec<f64> = ops.qty.iter().map(|&l| spec.lots_to_qty(l)).collect();
        let ids: Vec<f64> = ops.id.iter().map(|&id| id as f64).collect();
        let (rows, mut fill_rows) = if call % 2 == 0 {
            (150, 1000)
        } else {
            (1000, 12)
        };
        let mut start = 0;
        while start < ops.op.len() {
            let mut results = vec![OpResult::default(); rows];
            let mut fills = vec![Fill::default(); fill_rows];
            let view = ops.view();
            let rest = BatchOps {
                op: &view.op[start..],
                symbol: &view.symbol[start..],
                side: &view.side[start..],
                price_ticks: &view.price_ticks[start..],
                qty_lots: &view.qty_lots[start..],
                tif: &view.tif[start..],
                flags: &view.flags[start..],
                order_id: &view.order_id[start..],
            };
            let lots = lots_engine
                .execute_batch(&rest, &mut results, &mut fills)
                .expect("lots batch");
            let mut float_results = vec![0.0; rows * RESULT_STRIDE];
            let mut float_fills = vec![0.0; fill_rows * FILL_STRIDE];
            let batch = FloatBatch {
                op: &ops.op,
                symbol: &ops.symbol,
                side: &ops.side,
                price: &prices,
                quantity: &quantities,
                tif: &ops.tif,
                flags: &ops.flags,
                order_id: &ids,
                start,
                end: ops.op.len(),
            };
            let float = float_engine
                .execute_float_batch(&batch, &mut float_results, &mut float_fills)
                .expect("float batch");
            assert_eq!(float, lots);
            stops.insert(format!("{:?}", lots.stop));
            for (k, r) in results[..lots.ops_done].iter().enumerate() {
                let want = [
                    r.order_id as f64,
                    f64::from(r.status),
                    f64::from(r.reason),
                    spec.lots_to_qty(r.filled_lots),
                    spec.lots_to_qty(r.remaining_lots),
                    f64::from(r.fills_start),
                    f64::from(r.fills_len),
                ];
                assert_eq!(
                    float_results[k * RESULT_STRIDE..(k + 1) * RESULT_STRIDE],
                    want,
                    "op {}",
                    start + k
                );
                if r.status <= STATUS_PARTIAL && ops.op[start + k] <= OP_MARKET {
                    known.push(r.order_id);
                }
            }
            for (k, f) in fills[..lots.fills_written].iter().enumerate() {
                assert_eq!(
                    float_fills[k * FILL_STRIDE..(k + 1) * FILL_STRIDE],
                    fill_row(f, &spec)
                );
            }
            if lots.ops_done == 0 {
                // An op that needs more fill room than the whole output: give it more.
                assert_eq!(lots.stop, BatchStop::FillsFull);
                fill_rows = 100_000;
            }
            start += lots.ops_done;
        }
        lots_engine.check_invariants();
    }
    assert_eq!(state(&float_engine), state(&lots_engine));
    let expected: std::collections::HashSet<String> = ["Completed", "ResultsFull", "FillsFull"]
        .map(String::from)
        .into();
    assert_eq!(stops, expected);
}

/// A reference `-(k + 1)` names the order of op `k` of the same call; one to an op of another
/// call, to the op itself or later, or not a whole number, is an error row naming the raw value.
#[test]
fn float_batch_references_earlier_ops_of_the_same_call() {
    let mut e = engine(64);
    let ops = [
        OP_LIMIT, OP_REPLACE, OP_CANCEL, OP_CANCEL, OP_CANCEL, OP_CANCEL,
    ];
    let ids = [0.0, -1.0, -1.0, -1.0, -5.0, -1.5];
    let batch = FloatBatch {
        op: &ops,
        symbol: &[0; 6],
        side: &[1; 6],
        price: &[101.0, 101.5, 0.0, 0.0, 0.0, 0.0],
        quantity: &[2.0, 3.0, 0.0, 0.0, 0.0, 0.0],
        tif: &[0; 6],
        flags: &[0; 6],
        order_id: &ids,
        start: 0,
        end: 6,
    };
    let mut results = vec![0.0; 6 * RESULT_STRIDE];
    let s = e
        .execute_float_batch(&batch, &mut results, &mut [])
        .expect("batch");
    assert_eq!(
        (s.ops_done, s.fills_written, s.stop),
        (6, 0, BatchStop::Completed)
    );
    let row =
        |results: &[f64], k: usize| results[k * RESULT_STRIDE..(k + 1) * RESULT_STRIDE].to_vec();
    let id = row(&results, 0)[0];
    assert_eq!(row(&results, 1), [id, 0.0, 0.0, 0.0, 3.0, 0.0, 0.0]);
    assert_eq!(row(&results, 2), [id, 3.0, 0.0, 0.0, 3.0, 0.0, 0.0]);
    assert_eq!(
        row(&results, 3)[..3],
        [id, 5.0, f64::from(EngineError::UnknownOrder(0).code())]
    );
    let invalid = f64::from(EngineError::InvalidField { field: "" }.code());
    assert_eq!(row(&results, 4)[..3], [-5.0, 5.0, invalid]);
    assert_eq!(row(&results, 5)[..3], [-1.5, 5.0, invalid]);
    // From op 2 on, op 0 is another call's: its reference is refused.
    let later = FloatBatch {
        start: 2,
        end: 3,
        ..batch
    };
    e.execute_float_batch(&later, &mut results, &mut [])
        .expect("batch");
    assert_eq!(row(&results, 0)[..3], [-1.0, 5.0, invalid]);
    // Mismatched columns fail before anything runs.
    let short = FloatBatch {
        flags: &[0; 5],
        ..batch
    };
    let before = state(&e);
    assert_eq!(
        e.execute_float_batch(&short, &mut results, &mut []),
        Err(EngineError::BatchLengthMismatch { field: "flags" })
    );
    assert_eq!(state(&e), before);
}
