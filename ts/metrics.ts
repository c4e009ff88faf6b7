// TradingMetrics: the SPEC §7 registry (native, lock-free) with its three outlets: a push callback,
// a pull snapshot and Prometheus text.
import { native, type NativeMetrics } from './native/index';

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

export class TradingMetrics {
  /** @internal shared with every guard built on this registry. */
  readonly native: NativeMetrics = new native.NativeMetrics();
  private callback: MetricsCallback | undefined;
  private flushScheduled = false;
  private callbackFailure: unknown;
  private readonly onCallbackError: (error: unknown) => void;
  private readonly schedule: (flush: () => void) => void;

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

  /** Deliver queued events now. */
  flush(): void {
    this.flushScheduled = false;
    const callback = this.callback;
    if (callback === undefined) return;
    const events = JSON.parse(this.native.drainEventsJson()) as MetricEvent[];
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

  /** Prometheus text exposition format 0.0.4. */
  prometheus(): string {
    return this.native.prometheusText();
  }
}
