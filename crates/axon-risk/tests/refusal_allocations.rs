//! A refusal is data until the edge: the chain refuses without allocating, and wording the
//! refusal allocates once (the message). Counted per thread by a counting global allocator, so
//! the other tests of this binary running in parallel do not disturb the count.

// Counting allocations means implementing `GlobalAlloc`, an unsafe trait; it only forwards to
// `System`.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::Arc;

use axon_metrics::TradingMetrics;
use axon_risk::{
    Code, Decision, Guard, GuardConfig, ManualClock, MarketUpdate, Rejection, RiskLimits,
    SafetyMode, ToolKind,
};

struct CountingAllocator;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static COUNTING: CountingAllocator = CountingAllocator;

/// Allocations (and reallocations) made on this thread by `run`.
fn allocations<T>(run: impl FnOnce() -> T) -> (T, u64) {
    let before = ALLOCATIONS.with(Cell::get);
    let out = run();
    (out, ALLOCATIONS.with(Cell::get) - before)
}

fn guard() -> Guard {
    let config = GuardConfig {
        mode: SafetyMode::DryRun,
        limits: RiskLimits {
            allowed_symbols: Some(vec!["BTC-USDT".into()]),
            max_order_notional: Some(50_000.0),
            max_position_abs: Some(3.0),
            max_daily_orders: Some(100),
            max_daily_cancels: None,
        },
        ..GuardConfig::default()
    };
    let mut guard = Guard::new(
        config,
        Arc::new(ManualClock::new(1_672_677_900_000)),
        Arc::new(TradingMetrics::new()),
    )
    .expect("valid config");
    let flat = MarketUpdate {
        reference_price: Some(20_000.0),
        position: 0.0,
        open_buy_quantity: 0.0,
        open_sell_quantity: 0.0,
    };
    guard
        .update_market("BTC-USDT", flat, true)
        .expect("valid market data");
    guard
}

fn refusal(decision: Decision) -> Rejection {
    match decision {
        Decision::Rejected(r) => r,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn the_chain_refuses_without_allocating_and_the_text_costs_one_allocation() {
    let cases = [
        (
            r#"{"symbol":"BTC-USDT","side":"Buy","quantity":2.5,"price":30000}"#,
            Code::MaxOrderNotional,
            "RiskLimits: order notional 75000 exceeds limit 50000",
        ),
        (
            r#"{"symbol":"BTC-USDT","side":"Sell","quantity":3.1,"price":10000}"#,
            Code::MaxPositionAbs,
            "RiskLimits: projected position -3.1 exceeds max abs 3",
        ),
    ];
    for (order, code, text) in cases {
        let mut guard = guard();
        // The first call may size the guard's own tables and metric series.
        refusal(guard.decide(ToolKind::PlaceOrder, order, false));
        let (rejection, in_chain) =
            allocations(|| refusal(guard.decide(ToolKind::PlaceOrder, order, false)));
        assert_eq!(rejection.code(), code);
        assert_eq!(in_chain, 0, "{text}: the chain allocated while refusing");
        let (message, wording) = allocations(|| rejection.message());
        assert_eq!(message, text);
        assert_eq!(wording, 1, "{text}: wording took more than the message");
    }
}
