//! Recording cost of the metrics primitives (target: counter increment <= 5 ns).
use axon_metrics::{
    RejectionCode, RejectionSource, SideLabel, StatusLabel, ToolLabel, TradingMetrics,
};
use criterion::{black_box, criterion_group, criterion_main, Criterion};

fn recording(c: &mut Criterion) {
    let metrics = TradingMetrics::new();
    c.bench_function("counter_increment", |b| {
        b.iter(|| {
            metrics.inc_orders(
                black_box(ToolLabel::Place),
                black_box(SideLabel::Buy),
                black_box(StatusLabel::Success),
            )
        })
    });
    // The {source, code} slot is one multiply-add on two enum indices: the same cost as above.
    c.bench_function("risk_rejection_increment", |b| {
        b.iter(|| {
            metrics.inc_risk_rejection(
                black_box(RejectionSource::RiskLimits),
                black_box(RejectionCode::PriceCollar),
            )
        })
    });
    c.bench_function("histogram_observe", |b| {
        b.iter(|| metrics.observe_duration(black_box(ToolLabel::Place), black_box(0.0042)))
    });
    c.bench_function("gauge_set", |b| {
        let mut i = 0i64;
        b.iter(|| {
            i += 1;
            metrics.set_daily_orders(black_box(i))
        })
    });
}

criterion_group!(benches, recording);
criterion_main!(benches);
