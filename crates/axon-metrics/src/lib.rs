//! Lock-free metrics primitives for the six trading metrics of SPEC §7 and the `trading_state`
//! gauge (issue 16).
//!
//! Invariants:
//! - Every series is a fixed slot chosen by enum labels at compile time: recording is one atomic
//!   add (counter), one atomic store (gauge) or two atomic adds plus one for the bucket (histogram).
//!   No lock, no allocation, no hashing on the recording path.
//! - Counters only ever increase; the two gauges (daily orders, trading state) may go down.
//! - A risk rejection is counted once, under its `{source, code}`; a source's total (what
//!   `sum by (source)` reads, [`TradingMetrics::risk_rejections`]) is the sum over its codes.
//! - Histogram buckets are cumulative only at exposition time; each observation increments exactly one
//!   raw bucket (the first bound `>=` the value, or `+Inf`), so `count == sum(raw buckets)` at rest.
//! - Change events are collected only while a listener is attached (one relaxed load otherwise);
//!   the event queue is the only lock and is never taken when no listener is attached.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;

mod labels;
pub use labels::{
    BackendLabel, ErrorKindLabel, RejectionCode, RejectionSource, SideLabel, StatusLabel,
    ToolLabel, RISK_REJECTION_SERIES,
};

/// Bucket upper bounds (seconds) of `trading_tool_execute_duration_seconds`.
pub const DURATION_BUCKETS: [f64; 8] = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0];

pub const ORDERS_TOTAL: &str = "trading_orders_total";
pub const RISK_REJECTIONS_TOTAL: &str = "trading_risk_rejections_total";
pub const RISK_GATE_BLOCKED_TOTAL: &str = "trading_risk_gate_blocked_total";
pub const BACKEND_ERRORS_TOTAL: &str = "trading_backend_errors_total";
pub const TOOL_EXECUTE_DURATION_SECONDS: &str = "trading_tool_execute_duration_seconds";
pub const DAILY_ORDERS_COUNT: &str = "trading_daily_orders_count";
pub const TRADING_STATE: &str = "trading_state";

/// The gauges, each one value without labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GaugeName {
    /// `trading_daily_orders_count`: orders sent to a backend today (UTC).
    DailyOrders,
    /// `trading_state`: 0 ACTIVE, 1 REDUCING, 2 HALTED.
    TradingState,
}

impl GaugeName {
    pub fn as_str(self) -> &'static str {
        match self {
            GaugeName::DailyOrders => DAILY_ORDERS_COUNT,
            GaugeName::TradingState => TRADING_STATE,
        }
    }
}

/// A monotonically increasing counter.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    #[inline]
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    #[inline]
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// An integer gauge.
#[derive(Debug, Default)]
pub struct Gauge(AtomicI64);

impl Gauge {
    #[inline]
    pub fn set(&self, value: i64) {
        self.0.store(value, Ordering::Relaxed);
    }
    #[inline]
    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A fixed-bucket histogram of seconds. The sum is kept in nanoseconds so it can be an integer add.
#[derive(Debug, Default)]
pub struct Histogram {
    raw_buckets: [AtomicU64; DURATION_BUCKETS.len() + 1],
    sum_nanos: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    #[inline]
    pub fn observe(&self, seconds: f64) {
        let seconds = if seconds.is_finite() && seconds > 0.0 {
            seconds
        } else {
            0.0
        };
        let slot = DURATION_BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(DURATION_BUCKETS.len());
        self.raw_buckets[slot].fetch_add(1, Ordering::Relaxed);
        // Saturating float-to-int conversion: an absurd duration cannot wrap the sum.
        self.sum_nanos
            .fetch_add((seconds * 1e9) as u64, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> HistogramSnapshot {
        let mut cumulative = [0u64; DURATION_BUCKETS.len()];
        let mut running = 0;
        for (i, bucket) in self
            .raw_buckets
            .iter()
            .take(DURATION_BUCKETS.len())
            .enumerate()
        {
            running += bucket.load(Ordering::Relaxed);
            cumulative[i] = running;
        }
        HistogramSnapshot {
            cumulative_buckets: cumulative,
            sum_seconds: self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9,
            count: self.count.load(Ordering::Relaxed),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HistogramSnapshot {
    /// Cumulative counts for each bound of [`DURATION_BUCKETS`]; `+Inf` is `count`.
    pub cumulative_buckets: [u64; DURATION_BUCKETS.len()],
    pub sum_seconds: f64,
    pub count: u64,
}

/// One change pushed to a listener.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MetricEvent {
    CounterInc { series: Series },
    HistogramObserve { tool: ToolLabel, seconds: f64 },
    GaugeSet { gauge: GaugeName, value: i64 },
}

/// A counter series: metric plus its labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Series {
    Orders {
        tool: ToolLabel,
        side: SideLabel,
        status: StatusLabel,
    },
    RiskRejections {
        source: RejectionSource,
        code: RejectionCode,
    },
    RiskGateBlocked,
    BackendErrors {
        backend: BackendLabel,
        kind: ErrorKindLabel,
    },
}

impl Series {
    pub fn name(&self) -> &'static str {
        match self {
            Series::Orders { .. } => ORDERS_TOTAL,
            Series::RiskRejections { .. } => RISK_REJECTIONS_TOTAL,
            Series::RiskGateBlocked => RISK_GATE_BLOCKED_TOTAL,
            Series::BackendErrors { .. } => BACKEND_ERRORS_TOTAL,
        }
    }

    /// Label pairs in exposition order.
    pub fn labels(&self) -> Vec<(&'static str, &'static str)> {
        match *self {
            Series::Orders { tool, side, status } => {
                vec![
                    ("tool", tool.as_str()),
                    ("side", side.as_str()),
                    ("status", status.as_str()),
                ]
            }
            Series::RiskRejections { source, code } => {
                vec![("source", source.as_str()), ("code", code.as_str())]
            }
            Series::RiskGateBlocked => vec![],
            Series::BackendErrors { backend, kind } => {
                vec![("backend", backend.as_str()), ("kind", kind.as_str())]
            }
        }
    }
}

/// The registry of all SPEC §7 metrics. Share it with `Arc`; every method takes `&self`.
#[derive(Debug)]
pub struct TradingMetrics {
    orders: [Counter; ToolLabel::ORDER_TOOLS.len() * SideLabel::ALL.len() * StatusLabel::ALL.len()],
    risk_rejections: [Counter; RISK_REJECTION_SLOTS],
    risk_gate_blocked: Counter,
    backend_errors: [Counter; BackendLabel::ALL.len() * ErrorKindLabel::ALL.len()],
    duration: [Histogram; ToolLabel::ALL.len()],
    daily_orders: Gauge,
    trading_state: Gauge,
    listening: AtomicBool,
    events: Mutex<Vec<MetricEvent>>,
}

impl Default for TradingMetrics {
    fn default() -> Self {
        Self::new()
    }
}

const RISK_REJECTION_SLOTS: usize = RejectionSource::ALL.len() * RejectionCode::ALL.len();

const fn risk_rejection_slot(source: RejectionSource, code: RejectionCode) -> usize {
    source as usize * RejectionCode::ALL.len() + code as usize
}

/// Slots of [`RISK_REJECTION_SERIES`]: exported even at 0.
const RISK_REJECTION_LISTED: [bool; RISK_REJECTION_SLOTS] = {
    let mut listed = [false; RISK_REJECTION_SLOTS];
    let mut i = 0;
    while i < RISK_REJECTION_SERIES.len() {
        let (source, code) = RISK_REJECTION_SERIES[i];
        listed[risk_rejection_slot(source, code)] = true;
        i += 1;
    }
    listed
};

/// Upper bound on queued change events while a listener is slow to drain; older events are dropped
/// (and counted) rather than growing memory without bound.
pub const MAX_QUEUED_EVENTS: usize = 65_536;

impl TradingMetrics {
    pub fn new() -> Self {
        Self {
            orders: Default::default(),
            risk_rejections: std::array::from_fn(|_| Counter::default()),
            risk_gate_blocked: Counter::default(),
            backend_errors: Default::default(),
            duration: Default::default(),
            daily_orders: Gauge::default(),
            trading_state: Gauge::default(),
            listening: AtomicBool::new(false),
            events: Mutex::new(Vec::new()),
        }
    }

    fn orders_slot(tool: ToolLabel, side: SideLabel, status: StatusLabel) -> usize {
        // Read tools have no orders series; callers never pass one (see `inc_orders`).
        (tool.index() * SideLabel::ALL.len() + side.index()) * StatusLabel::ALL.len()
            + status.index()
    }

    fn backend_slot(backend: BackendLabel, kind: ErrorKindLabel) -> usize {
        backend.index() * ErrorKindLabel::ALL.len() + kind.index()
    }

    #[inline(always)]
    fn emit(&self, event: MetricEvent) {
        if self.listening.load(Ordering::Relaxed) {
            self.enqueue(event);
        }
    }

    /// Out of line: recording without a listener stays a load, an add and a test.
    #[cold]
    #[inline(never)]
    fn enqueue(&self, event: MetricEvent) {
        let mut queue = self
            .events
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if queue.len() < MAX_QUEUED_EVENTS {
            queue.push(event);
        }
    }

    /// `trading_orders_total{tool,side,status}`. Read-only tools have no orders series.
    #[inline]
    pub fn inc_orders(&self, tool: ToolLabel, side: SideLabel, status: StatusLabel) {
        if !tool.is_order_tool() {
            return;
        }
        self.orders[Self::orders_slot(tool, side, status)].inc();
        self.emit(MetricEvent::CounterInc {
            series: Series::Orders { tool, side, status },
        });
    }

    /// `trading_risk_rejections_total{source,code}`.
    #[inline]
    pub fn inc_risk_rejection(&self, source: RejectionSource, code: RejectionCode) {
        self.risk_rejections[risk_rejection_slot(source, code)].inc();
        self.emit(MetricEvent::CounterInc {
            series: Series::RiskRejections { source, code },
        });
    }

    #[inline]
    pub fn inc_gate_blocked(&self) {
        self.risk_gate_blocked.inc();
        self.emit(MetricEvent::CounterInc {
            series: Series::RiskGateBlocked,
        });
    }

    #[inline]
    pub fn inc_backend_error(&self, backend: BackendLabel, kind: ErrorKindLabel) {
        self.backend_errors[Self::backend_slot(backend, kind)].inc();
        self.emit(MetricEvent::CounterInc {
            series: Series::BackendErrors { backend, kind },
        });
    }

    #[inline]
    pub fn observe_duration(&self, tool: ToolLabel, seconds: f64) {
        self.duration[tool.index()].observe(seconds);
        self.emit(MetricEvent::HistogramObserve { tool, seconds });
    }

    #[inline]
    pub fn set_daily_orders(&self, value: i64) {
        if self.daily_orders.get() != value {
            self.daily_orders.set(value);
            self.emit(MetricEvent::GaugeSet {
                gauge: GaugeName::DailyOrders,
                value,
            });
        }
    }

    /// `trading_state`: 0 ACTIVE, 1 REDUCING, 2 HALTED (the guard's numbering).
    #[inline]
    pub fn set_trading_state(&self, value: i64) {
        if self.trading_state.get() != value {
            self.trading_state.set(value);
            self.emit(MetricEvent::GaugeSet {
                gauge: GaugeName::TradingState,
                value,
            });
        }
    }

    pub fn orders(&self, tool: ToolLabel, side: SideLabel, status: StatusLabel) -> u64 {
        if !tool.is_order_tool() {
            return 0;
        }
        self.orders[Self::orders_slot(tool, side, status)].get()
    }

    /// One `{source, code}` series.
    pub fn risk_rejection(&self, source: RejectionSource, code: RejectionCode) -> u64 {
        self.risk_rejections[risk_rejection_slot(source, code)].get()
    }

    /// Every refusal of `source`, whatever its code (`sum by (source)`).
    pub fn risk_rejections(&self, source: RejectionSource) -> u64 {
        RejectionCode::ALL
            .iter()
            .map(|code| self.risk_rejection(source, *code))
            .sum()
    }

    pub fn gate_blocked(&self) -> u64 {
        self.risk_gate_blocked.get()
    }

    pub fn backend_errors(&self, backend: BackendLabel, kind: ErrorKindLabel) -> u64 {
        self.backend_errors[Self::backend_slot(backend, kind)].get()
    }

    pub fn duration(&self, tool: ToolLabel) -> HistogramSnapshot {
        self.duration[tool.index()].snapshot()
    }

    pub fn daily_orders(&self) -> i64 {
        self.daily_orders.get()
    }

    pub fn trading_state(&self) -> i64 {
        self.trading_state.get()
    }

    /// Start or stop collecting change events. Stopping discards what was queued.
    pub fn set_listening(&self, on: bool) {
        self.listening.store(on, Ordering::Relaxed);
        if !on {
            self.events
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .clear();
        }
    }

    pub fn is_listening(&self) -> bool {
        self.listening.load(Ordering::Relaxed)
    }

    /// Take every queued change event, oldest first.
    pub fn drain_events(&self) -> Vec<MetricEvent> {
        std::mem::take(
            &mut *self
                .events
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        )
    }

    /// Every counter series with its value, in a stable order. Backend-error series appear only once
    /// non-zero (30 mostly irrelevant backend x kind pairs would be noise), and so do risk-rejection
    /// pairs outside [`RISK_REJECTION_SERIES`]; all others always appear, so rate() and alerts work
    /// from the first scrape.
    pub fn counter_series(&self) -> Vec<(Series, u64)> {
        let mut out = Vec::with_capacity(64);
        for tool in ToolLabel::ORDER_TOOLS {
            for side in SideLabel::ALL {
                for status in StatusLabel::ALL {
                    out.push((
                        Series::Orders { tool, side, status },
                        self.orders(tool, side, status),
                    ));
                }
            }
        }
        for source in RejectionSource::ALL {
            for code in RejectionCode::ALL {
                let value = self.risk_rejection(source, code);
                if value > 0 || RISK_REJECTION_LISTED[risk_rejection_slot(source, code)] {
                    out.push((Series::RiskRejections { source, code }, value));
                }
            }
        }
        out.push((Series::RiskGateBlocked, self.gate_blocked()));
        for backend in BackendLabel::ALL {
            for kind in ErrorKindLabel::ALL {
                let value = self.backend_errors(backend, kind);
                if value > 0 {
                    out.push((Series::BackendErrors { backend, kind }, value));
                }
            }
        }
        out
    }

    /// Prometheus text exposition format 0.0.4 of every metric.
    pub fn prometheus_text(&self) -> String {
        let mut out = String::with_capacity(8 * 1024);
        let series = self.counter_series();
        // Every family gets its header even with no series yet, so every SPEC name is always there.
        for name in [
            ORDERS_TOTAL,
            RISK_REJECTIONS_TOTAL,
            RISK_GATE_BLOCKED_TOTAL,
            BACKEND_ERRORS_TOTAL,
        ] {
            write_header(&mut out, name, "counter");
            for (s, value) in series.iter().filter(|(s, _)| s.name() == name) {
                write_sample(&mut out, name, "", &s.labels(), &value.to_string());
            }
        }
        write_header(&mut out, TOOL_EXECUTE_DURATION_SECONDS, "histogram");
        for tool in ToolLabel::ALL {
            let snap = self.duration(tool);
            let labels = [("tool", tool.as_str())];
            for (bound, cumulative) in DURATION_BUCKETS.iter().zip(snap.cumulative_buckets) {
                let le = format_float(*bound);
                write_sample(
                    &mut out,
                    TOOL_EXECUTE_DURATION_SECONDS,
                    "_bucket",
                    &[labels[0], ("le", &le)],
                    &cumulative.to_string(),
                );
            }
            write_sample(
                &mut out,
                TOOL_EXECUTE_DURATION_SECONDS,
                "_bucket",
                &[labels[0], ("le", "+Inf")],
                &snap.count.to_string(),
            );
            write_sample(
                &mut out,
                TOOL_EXECUTE_DURATION_SECONDS,
                "_sum",
                &labels,
                &format_float(snap.sum_seconds),
            );
            write_sample(
                &mut out,
                TOOL_EXECUTE_DURATION_SECONDS,
                "_count",
                &labels,
                &snap.count.to_string(),
            );
        }
        write_header(&mut out, DAILY_ORDERS_COUNT, "gauge");
        write_sample(
            &mut out,
            DAILY_ORDERS_COUNT,
            "",
            &[],
            &self.daily_orders().to_string(),
        );
        write_header(&mut out, TRADING_STATE, "gauge");
        write_sample(
            &mut out,
            TRADING_STATE,
            "",
            &[],
            &self.trading_state().to_string(),
        );
        out
    }
}

fn help_for(name: &str) -> &'static str {
    match name {
        ORDERS_TOTAL => "Trading tool calls by tool, side and outcome.",
        RISK_REJECTIONS_TOTAL => "Tool calls rejected by the risk chain, by stage and code.",
        RISK_GATE_BLOCKED_TOTAL => {
            "Tool calls blocked by a risk gate (circuit breaker, trading state HALTED or REDUCING)."
        }
        BACKEND_ERRORS_TOTAL => "Backend call failures by backend and error kind.",
        TOOL_EXECUTE_DURATION_SECONDS => {
            "Wall time of a trading tool call, risk chain and backend included."
        }
        DAILY_ORDERS_COUNT => "Orders sent to a backend today (UTC).",
        TRADING_STATE => {
            "Trading state: 0 ACTIVE, 1 REDUCING (reduce-only), 2 HALTED (cancels only)."
        }
        _ => "",
    }
}

fn write_header(out: &mut String, name: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {}", help_for(name));
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn write_sample(out: &mut String, name: &str, suffix: &str, labels: &[(&str, &str)], value: &str) {
    out.push_str(name);
    out.push_str(suffix);
    if !labels.is_empty() {
        out.push('{');
        for (i, (key, val)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            // Label values are fixed enum words; none needs escaping.
            let _ = write!(out, "{key}=\"{val}\"");
        }
        out.push('}');
    }
    out.push(' ');
    out.push_str(value);
    out.push('\n');
}

/// Shortest float text that Prometheus parses back to the same value (`0.001`, `1`, `5`).
pub fn format_float(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_and_bounds_inclusive() {
        let h = Histogram::default();
        for v in [0.0005, 0.001, 0.002, 0.7, 9.0] {
            h.observe(v);
        }
        let s = h.snapshot();
        assert_eq!(s.cumulative_buckets, [2, 3, 3, 3, 3, 3, 4, 4]);
        assert_eq!(s.count, 5);
        assert!((s.sum_seconds - 9.7035).abs() < 1e-9);
    }

    #[test]
    fn non_finite_observation_counts_as_zero() {
        let h = Histogram::default();
        h.observe(f64::NAN);
        h.observe(-1.0);
        let s = h.snapshot();
        assert_eq!(s.count, 2);
        assert_eq!(s.cumulative_buckets[0], 2);
        assert_eq!(s.sum_seconds, 0.0);
    }

    #[test]
    fn orders_series_are_independent() {
        let m = TradingMetrics::new();
        m.inc_orders(ToolLabel::Place, SideLabel::Buy, StatusLabel::Success);
        m.inc_orders(ToolLabel::Place, SideLabel::Buy, StatusLabel::Success);
        m.inc_orders(ToolLabel::Cancel, SideLabel::None, StatusLabel::Rejected);
        assert_eq!(
            m.orders(ToolLabel::Place, SideLabel::Buy, StatusLabel::Success),
            2
        );
        assert_eq!(
            m.orders(ToolLabel::Cancel, SideLabel::None, StatusLabel::Rejected),
            1
        );
        let total: u64 = m
            .counter_series()
            .iter()
            .filter(|(s, _)| s.name() == ORDERS_TOTAL)
            .map(|(_, v)| v)
            .sum();
        assert_eq!(total, 3);
    }

    #[test]
    fn a_risk_rejection_moves_exactly_its_source_and_code() {
        let m = TradingMetrics::new();
        m.set_listening(true);
        m.inc_risk_rejection(RejectionSource::RiskLimits, RejectionCode::PriceCollar);
        m.inc_risk_rejection(RejectionSource::RiskLimits, RejectionCode::PriceCollar);
        m.inc_risk_rejection(RejectionSource::RiskGate, RejectionCode::PnlBreakerOpen);
        let non_zero: Vec<(Series, u64)> = m
            .counter_series()
            .into_iter()
            .filter(|(_, v)| *v > 0)
            .collect();
        assert_eq!(
            non_zero,
            vec![
                (
                    Series::RiskRejections {
                        source: RejectionSource::RiskLimits,
                        code: RejectionCode::PriceCollar
                    },
                    2
                ),
                (
                    Series::RiskRejections {
                        source: RejectionSource::RiskGate,
                        code: RejectionCode::PnlBreakerOpen
                    },
                    1
                ),
            ]
        );
        assert_eq!(m.risk_rejections(RejectionSource::RiskLimits), 2);
        assert_eq!(m.risk_rejections(RejectionSource::RiskGate), 1);
        assert_eq!(m.risk_rejections(RejectionSource::SafetyMode), 0);
        assert_eq!(
            m.risk_rejection(RejectionSource::RiskLimits, RejectionCode::PnlBreakerOpen),
            0
        );
        assert_eq!(
            m.drain_events()[2],
            MetricEvent::CounterInc {
                series: Series::RiskRejections {
                    source: RejectionSource::RiskGate,
                    code: RejectionCode::PnlBreakerOpen
                }
            }
        );
    }

    #[test]
    fn listed_rejection_pairs_show_at_zero_and_others_only_once_counted() {
        let m = TradingMetrics::new();
        let rejection_series = |m: &TradingMetrics| -> Vec<(RejectionSource, RejectionCode)> {
            m.counter_series()
                .into_iter()
                .filter_map(|(s, _)| match s {
                    Series::RiskRejections { source, code } => Some((source, code)),
                    _ => None,
                })
                .collect()
        };
        let fresh = rejection_series(&m);
        assert_eq!(fresh.len(), RISK_REJECTION_SERIES.len());
        for pair in RISK_REJECTION_SERIES {
            assert!(fresh.contains(&pair), "{pair:?} missing at 0");
        }
        // A pair the chain does not produce today is still exported once counted.
        let unlisted = (RejectionSource::SafetyMode, RejectionCode::PriceCollar);
        assert!(!fresh.contains(&unlisted));
        m.inc_risk_rejection(unlisted.0, unlisted.1);
        assert!(rejection_series(&m).contains(&unlisted));
        let text = m.prometheus_text();
        assert!(text.contains(
            "trading_risk_rejections_total{source=\"safety_mode\",code=\"price_collar\"} 1\n"
        ));
        assert!(text.contains(
            "trading_risk_rejections_total{source=\"risk_limits\",code=\"max_order_notional\"} 0\n"
        ));
        assert!(!text.contains("code=\"backend_"));
    }

    #[test]
    fn trading_state_gauge_emits_only_on_change() {
        let m = TradingMetrics::new();
        m.set_listening(true);
        m.set_trading_state(0);
        m.set_trading_state(2);
        m.set_trading_state(2);
        m.set_trading_state(1);
        assert_eq!(m.trading_state(), 1);
        assert_eq!(
            m.drain_events(),
            vec![
                MetricEvent::GaugeSet {
                    gauge: GaugeName::TradingState,
                    value: 2
                },
                MetricEvent::GaugeSet {
                    gauge: GaugeName::TradingState,
                    value: 1
                }
            ]
        );
    }

    #[test]
    fn events_only_while_listening() {
        let m = TradingMetrics::new();
        m.inc_gate_blocked();
        assert!(m.drain_events().is_empty());
        m.set_listening(true);
        m.inc_gate_blocked();
        m.set_daily_orders(3);
        m.set_daily_orders(3);
        assert_eq!(
            m.drain_events(),
            vec![
                MetricEvent::CounterInc {
                    series: Series::RiskGateBlocked
                },
                MetricEvent::GaugeSet {
                    gauge: GaugeName::DailyOrders,
                    value: 3
                }
            ]
        );
        assert!(m.drain_events().is_empty());
    }

    #[test]
    fn prometheus_text_has_every_metric_and_exact_values() {
        let m = TradingMetrics::new();
        m.inc_orders(ToolLabel::Place, SideLabel::Sell, StatusLabel::Failed);
        m.inc_backend_error(BackendLabel::Mock, ErrorKindLabel::Timeout);
        m.observe_duration(ToolLabel::Place, 0.02);
        m.set_daily_orders(7);
        m.set_trading_state(2);
        let text = m.prometheus_text();
        for name in [
            ORDERS_TOTAL,
            RISK_REJECTIONS_TOTAL,
            RISK_GATE_BLOCKED_TOTAL,
            BACKEND_ERRORS_TOTAL,
            TOOL_EXECUTE_DURATION_SECONDS,
            DAILY_ORDERS_COUNT,
            TRADING_STATE,
        ] {
            assert!(text.contains(&format!("# TYPE {name} ")), "{name} missing");
        }
        assert!(text
            .contains("trading_orders_total{tool=\"place\",side=\"sell\",status=\"failed\"} 1\n"));
        assert!(
            text.contains("trading_backend_errors_total{backend=\"mock\",kind=\"timeout\"} 1\n")
        );
        assert!(!text.contains("kind=\"network\""));
        let fresh = TradingMetrics::new().prometheus_text();
        assert!(fresh.contains("# TYPE trading_backend_errors_total counter\n# HELP trading_tool_execute_duration_seconds"));
        assert!(text.contains(
            "trading_tool_execute_duration_seconds_bucket{tool=\"place\",le=\"0.01\"} 0\n"
        ));
        assert!(text.contains(
            "trading_tool_execute_duration_seconds_bucket{tool=\"place\",le=\"0.05\"} 1\n"
        ));
        assert!(text.contains("trading_tool_execute_duration_seconds_count{tool=\"place\"} 1\n"));
        assert!(text.contains("trading_daily_orders_count 7\n"));
        assert!(text.contains("# TYPE trading_state gauge\ntrading_state 2\n"));
        assert!(TradingMetrics::new()
            .prometheus_text()
            .contains("trading_state 0\n"));
    }
}
