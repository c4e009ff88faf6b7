// TradingMetrics: the SPEC §7 registry (native, lock-free) with its three outlets: a push callback,
// a pull snapshot and Prometheus text. Beside it, the risk-state store's round trips (issue 15) in a
// prom-client registry, made on the first round trip (memory mode never pays for it):
// `trading_state_store_round_trip_seconds{op}` and `trading_state_store_errors_total{op,why}`.
import { Counter, Histogram, Registry } from 'prom-client';

import { native, type NativeMetrics } from './native/index';
import type { RoundTrip } from './state/redis-store';

export type MetricEventType = 'CounterInc' | 'HistogramObserve' | 'GaugeSet';

export interface MetricEvent {
  type: MetricEventType;
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface HistogramSnapshot {
  /** Cumulative counts keyed by upper bound (`"0.001"` ... `"5"`, `"+Inf"`). */
  buckets: Record<string, number>;
  sum: number;
  count: number;
}

export interface MetricsSnapshot {
  /** Keyed by Prometheus series, e.g. `trading_orders_total{tool="place",side="buy",status="success"}`. */
  counters: Record<string, number>;
  gauges: Record<string, number>;
  histograms: Record<string, HistogramSnapshot>;
}

export type MetricsCallback = (event: MetricEvent) => void;

/** Round trips to a loopback Redis take ~0.1 ms; the store's timeout is 250 ms by default. */
const ROUND_TRIP_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.25, 1];

class StateStoreMetrics {
  readonly registry = new Registry();
  readonly roundTrip = new Histogram({
    name: 'trading_state_store_round_trip_seconds',
    help: 'Round trip of one risk-state store call (one Redis script call), by operation',
    labelNames: ['op'],
    buckets: ROUND_TRIP_BUCKETS,
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: 'trading_state_store_errors_total',
    help: 'Risk-state store calls that failed (the call is refused with STATE_UNAVAILABLE), by operation and why',
    labelNames: ['op', 'why'],
    registers: [this.registry],
  });
}

export class TradingMetrics {
  /** @internal shared with every guard built on this registry. */
  readonly native: NativeMetrics = new native.NativeMetrics();
  private callback: MetricsCallback | undefined;
  private flushScheduled = false;
  private callbackFailure: unknown;
  private readonly onCallbackError: (error: unknown) => void;
  private readonly schedule: (flush: () => void) => void;
  private stateStore: StateStoreMetrics | undefined;
  /** State-store events for the callback, delivered after the native ones of the same flush. */
  private stateEvents: MetricEvent[] = [];

  /**
   * `schedule` runs the delivery of queued events on a later turn (default `setImmediate`; a test
   * may hold it to see what a tool call does before delivery).
   */
  constructor(options: { onCallbackError?: (error: unknown) => void; schedule?: (flush: () => void) => void } = {}) {
    this.schedule = options.schedule ?? ((flush) => setImmediate(flush));
    this.onCallbackError =
      options.onCallbackError ??
      ((error) => {
        process.emitWarning(`axon-llm: metrics callback threw (reported once, keeps running): ${String(error)}`, 'AxonMetricsWarning');
      });
  }

  /**
   * Push every change to `callback` (one callback; `undefined` detaches). Events are delivered in
   * order on a later turn of the event loop, so a slow or throwing callback never delays or breaks
   * a tool call. A throwing callback is reported once and keeps receiving events.
   */
  setCallback(callback: MetricsCallback | undefined): void {
    this.callback = callback;
    this.callbackFailure = undefined;
    this.native.setListening(callback !== undefined);
  }

  /** @internal called by the tools after each native call that may have moved a metric. */
  notify(): void {
    if (this.callback === undefined || this.flushScheduled) return;
    this.flushScheduled = true;
    this.schedule(() => {
      this.flush();
    });
  }

  /**
   * One risk-state store call (the `observe` hook of `openStateStore`): its round trip, and an
   * error when it did not answer (`why`: timeout, unreachable, garbage).
   */
  observeStateStore(sample: RoundTrip): void {
    this.stateStore ??= new StateStoreMetrics();
    this.stateStore.roundTrip.observe({ op: sample.op }, sample.seconds);
    if (sample.outcome !== 'ok') this.stateStore.errors.inc({ op: sample.op, why: sample.outcome });
    if (this.callback === undefined) return;
    this.stateEvents.push({ type: 'HistogramObserve', name: 'trading_state_store_round_trip_seconds', labels: { op: sample.op }, value: sample.seconds });
    if (sample.outcome !== 'ok') this.stateEvents.push({ type: 'CounterInc', name: 'trading_state_store_errors_total', labels: { op: sample.op, why: sample.outcome }, value: 1 });
    this.notify();
  }

  /** Deliver queued events now. */
  flush(): void {
    this.flushScheduled = false;
    const callback = this.callback;
    if (callback === undefined) return;
    const events = JSON.parse(this.native.drainEventsJson()) as MetricEvent[];
    if (this.stateEvents.length > 0) {
      events.push(...this.stateEvents);
      this.stateEvents = [];
    }
    for (const event of events) {
      try {
        callback(event);
      } catch (error) {
        if (this.callbackFailure === undefined) {
          this.callbackFailure = error;
          this.onCallbackError(error);
        }
      }
    }
  }

  snapshot(): MetricsSnapshot {
    return JSON.parse(this.native.snapshotJson()) as MetricsSnapshot;
  }

  /** Prometheus text exposition format 0.0.4 (the SPEC §7 series). */
  prometheus(): string {
    return this.native.prometheusText();
  }

  /** Prometheus text of every series: SPEC §7 and, once the tools used a store, the store's. */
  async prometheusText(): Promise<string> {
    const native = this.native.prometheusText();
    return this.stateStore === undefined ? native : native + (await this.stateStore.registry.metrics());
  }
}
