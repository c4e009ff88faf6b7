//! `NativeMetrics`: the shared lock-free registry, its snapshot and Prometheus text, and the
//! queue of change events that the TypeScript `TradingMetrics` drains for `setCallback`.

use std::sync::Arc;

use axon_metrics::{
    MetricEvent, Series, ToolLabel, TradingMetrics, DAILY_ORDERS_COUNT, DURATION_BUCKETS,
    TOOL_EXECUTE_DURATION_SECONDS, TRADING_STATE,
};
use napi::Result;
use napi_derive::napi;

use crate::contain;

#[napi]
#[derive(Debug)]
pub struct NativeMetrics {
    pub(crate) inner: Arc<TradingMetrics>,
}

fn series_key(name: &str, labels: &[(&str, &str)]) -> String {
    if labels.is_empty() {
        return name.to_owned();
    }
    let inner: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    format!("{name}{{{}}}", inner.join(","))
}

fn labels_json(labels: &[(&str, &str)]) -> serde_json::Value {
    serde_json::Value::Object(
        labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), serde_json::Value::from(*v)))
            .collect(),
    )
}

fn series_labels(series: &Series) -> Vec<(&'static str, &'static str)> {
    series.labels()
}

#[napi]
impl NativeMetrics {
    #[napi(constructor)]
    pub fn new() -> Self {
        Self {
            inner: Arc::new(TradingMetrics::new()),
        }
    }

    #[napi]
    pub fn prometheus_text(&self) -> Result<String> {
        contain("prometheusText", || Ok(self.inner.prometheus_text()))
    }

    /// JSON: `{counters: {series: value}, gauges: {...}, histograms: {series: {buckets: {le: n}, sum, count}}}`.
    #[napi]
    pub fn snapshot_json(&self) -> Result<String> {
        contain("snapshot", || {
            let mut counters = serde_json::Map::new();
            for (series, value) in self.inner.counter_series() {
                counters.insert(
                    series_key(series.name(), &series_labels(&series)),
                    value.into(),
                );
            }
            let mut histograms = serde_json::Map::new();
            for tool in ToolLabel::ALL {
                let snap = self.inner.duration(tool);
                let mut buckets = serde_json::Map::new();
                for (bound, count) in DURATION_BUCKETS.iter().zip(snap.cumulative_buckets) {
                    buckets.insert(axon_metrics::format_float(*bound), count.into());
                }
                buckets.insert("+Inf".into(), snap.count.into());
                histograms.insert(
                    series_key(TOOL_EXECUTE_DURATION_SECONDS, &[("tool", tool.as_str())]),
                    serde_json::json!({ "buckets": buckets, "sum": snap.sum_seconds, "count": snap.count }),
                );
            }
            let gauges = serde_json::json!({
                DAILY_ORDERS_COUNT: self.inner.daily_orders(),
                TRADING_STATE: self.inner.trading_state(),
            });
            Ok(serde_json::json!({ "counters": counters, "gauges": gauges, "histograms": histograms }).to_string())
        })
    }

    #[napi]
    pub fn set_listening(&self, on: bool) {
        self.inner.set_listening(on);
    }

    /// JSON array of `{type, name, labels, value}` change events, oldest first.
    #[napi]
    pub fn drain_events_json(&self) -> Result<String> {
        contain("drainEvents", || {
            let events: Vec<serde_json::Value> = self
                .inner
                .drain_events()
                .into_iter()
                .map(|event| match event {
                    MetricEvent::CounterInc { series } => serde_json::json!({
                        "type": "CounterInc", "name": series.name(), "labels": labels_json(&series.labels()), "value": 1
                    }),
                    MetricEvent::HistogramObserve { tool, seconds } => serde_json::json!({
                        "type": "HistogramObserve", "name": TOOL_EXECUTE_DURATION_SECONDS, "labels": { "tool": tool.as_str() }, "value": seconds
                    }),
                    MetricEvent::GaugeSet { gauge, value } => serde_json::json!({
                        "type": "GaugeSet", "name": gauge.as_str(), "labels": {}, "value": value
                    }),
                })
                .collect();
            Ok(serde_json::Value::Array(events).to_string())
        })
    }
}
