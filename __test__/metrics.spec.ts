// SPEC §7: after a scripted sequence the snapshot and the Prometheus text hold exactly the expected
// values; the push callback sees every change and can neither break nor block a tool call.
import { describe, expect, it } from 'vitest';

import { TradingMetrics, type MetricEvent } from '../ts/index';
import { ack, limit, market, rejection, RUNBOOK_RISK, setup } from './harness';


async function scripted() {
  const metrics = new TradingMetrics();
  const events: MetricEvent[] = [];
  metrics.setCallback((event) => events.push(event));
  const { tools, backend } = setup({ mode: 'Direct', metrics, risk: RUNBOOK_RISK, gate: { type: 'RejectionCircuitBreaker', threshold: 2, cooldownMs: 60_000 } });
  await ack(tools.placeOrder, market('BTC-USDT', 'Buy', 0.5)); // place buy success
  await ack(tools.placeOrder, limit('ETH-USDT', 'Sell', 2, 1_600)); // place sell success (rests)
  await rejection(tools.placeOrder, '{"symbol":"BTC-USDT"'); // place none rejected (arguments)
  backend.injectFailure('placeOrder', 'timeout');
  await rejection(tools.placeOrder, market('ETH-USDT', 'Sell', 1)); // place sell failed + backend error
  await rejection(tools.placeOrder, market('BTC-USDT', 'Buy', 9)); // risk_limits
  await rejection(tools.placeOrder, limit('DOGE-USDT', 'Sell', 1, 1)); // risk_limits -> breaker opens
  await rejection(tools.placeOrder, market('BTC-USDT', 'Buy', 0.1)); // risk_gate
  const id = backend.openOrders()[0]?.orderId as string;
  await rejection(tools.replaceOrder, `{"order_id":"${id}","price":1650}`); // replace is gated too: risk_gate
  return { metrics, events, tools };
}

describe('metrics', () => {
  it('snapshot holds exactly the expected values after a scripted sequence', async () => {
    const { metrics } = await scripted();
    const snap = metrics.snapshot();
    const nonZero = Object.fromEntries(Object.entries(snap.counters).filter(([, v]) => v !== 0));
    expect(nonZero).toEqual({
      'trading_orders_total{tool="place",side="buy",status="success"}': 1,
      'trading_orders_total{tool="place",side="sell",status="success"}': 1,
      'trading_orders_total{tool="place",side="none",status="rejected"}': 1,
      'trading_orders_total{tool="place",side="sell",status="failed"}': 1,
      'trading_orders_total{tool="place",side="buy",status="rejected"}': 2,
      'trading_orders_total{tool="place",side="sell",status="rejected"}': 1,
      'trading_orders_total{tool="replace",side="sell",status="rejected"}': 1,
      'trading_risk_rejections_total{source="risk_limits",code="max_order_notional"}': 1,
      'trading_risk_rejections_total{source="risk_limits",code="symbol_not_allowed"}': 1,
      'trading_risk_rejections_total{source="risk_gate",code="circuit_breaker_open"}': 2,
      'trading_risk_gate_blocked_total': 1 + 1,
      'trading_backend_errors_total{backend="mock",kind="timeout"}': 1,
    });
    expect(snap.gauges).toEqual({ trading_daily_orders_count: 3, trading_state: 0 });
    const place = snap.histograms['trading_tool_execute_duration_seconds{tool="place"}'];
    expect(place?.count).toBe(6); // every place call except the malformed one
    expect(place?.buckets['+Inf']).toBe(6);
    expect(snap.histograms['trading_tool_execute_duration_seconds{tool="replace"}']?.count).toBe(1);
    expect(snap.histograms['trading_tool_execute_duration_seconds{tool="cancel"}']?.count).toBe(0);
  });

  it('Prometheus text carries every SPEC §7 name with the same values', async () => {
    const { metrics } = await scripted();
    const text = metrics.prometheus();
    for (const [name, type] of [
      ['trading_orders_total', 'counter'],
      ['trading_risk_rejections_total', 'counter'],
      ['trading_risk_gate_blocked_total', 'counter'],
      ['trading_backend_errors_total', 'counter'],
      ['trading_tool_execute_duration_seconds', 'histogram'],
      ['trading_daily_orders_count', 'gauge'],
    ]) {
      expect(text).toContain(`# TYPE ${name} ${type}\n`);
    }
    const samples = new Map(
      text
        .split('\n')
        .filter((line) => line !== '' && !line.startsWith('#'))
        .map((line) => {
          const at = line.lastIndexOf(' ');
          return [line.slice(0, at), Number(line.slice(at + 1))] as const;
        }),
    );
    expect(samples.get('trading_orders_total{tool="place",side="buy",status="rejected"}')).toBe(2);
    expect(samples.get('trading_orders_total{tool="cancel",side="none",status="success"}')).toBe(0);
    expect(samples.get('trading_risk_gate_blocked_total')).toBe(2);
    expect(samples.get('trading_risk_rejections_total{source="risk_gate",code="circuit_breaker_open"}')).toBe(2);
    // A code no call has hit yet is there at 0, so rate() and alerts see its first refusal.
    expect(samples.get('trading_risk_rejections_total{source="safety_mode",code="confirm_token_invalid"}')).toBe(0);
    expect(samples.get('trading_backend_errors_total{backend="mock",kind="timeout"}')).toBe(1);
    expect(samples.get('trading_tool_execute_duration_seconds_count{tool="place"}')).toBe(6);
    expect(samples.get('trading_tool_execute_duration_seconds_bucket{tool="place",le="+Inf"}')).toBe(6);
    expect(samples.get('trading_daily_orders_count')).toBe(3);
    const buckets = ['0.001', '0.005', '0.01', '0.05', '0.1', '0.5', '1', '5'].map(
      (le) => samples.get(`trading_tool_execute_duration_seconds_bucket{tool="place",le="${le}"}`) as number,
    );
    expect(buckets.every((v, i) => i === 0 || v >= (buckets[i - 1] as number))).toBe(true);
  });

  it('the callback receives every change, in order, as CounterInc / HistogramObserve / GaugeSet', async () => {
    const { metrics, events } = await scripted();
    await new Promise((resolve) => setImmediate(resolve));
    metrics.flush();
    const counted = events.filter((e) => e.type === 'CounterInc').length;
    const snapTotal = Object.values(metrics.snapshot().counters).reduce((a, b) => a + b, 0);
    expect(counted).toBe(snapTotal);
    expect(events.filter((e) => e.type === 'HistogramObserve')).toHaveLength(7);
    expect(events.filter((e) => e.type === 'GaugeSet').map((e) => e.value)).toEqual([1, 2, 3]);
    expect(events[0]).toEqual({ type: 'GaugeSet', name: 'trading_daily_orders_count', labels: {}, value: 1 });
    expect(events).toContainEqual({ type: 'CounterInc', name: 'trading_backend_errors_total', labels: { backend: 'mock', kind: 'timeout' }, value: 1 });
    expect(events).toContainEqual({ type: 'CounterInc', name: 'trading_risk_rejections_total', labels: { source: 'risk_limits', code: 'symbol_not_allowed' }, value: 1 });
  });

  // Speed is not measured here: the callback never runs inside a tool call, so however slow it is, it
  // cannot delay one (the per-call cost of delivery is in the benchmarks).
  it('a slow callback never delays a tool call: it runs only after the call has resolved', async () => {
    const metrics = new TradingMetrics();
    let callResolved = false;
    let resolvedWhenCalledBack: boolean | undefined;
    metrics.setCallback(() => {
      resolvedWhenCalledBack ??= callResolved;
    });
    const { tools } = setup({ mode: 'DryRun', metrics });
    await tools.placeOrder.execute(limit('BTC-USDT', 'Buy', 1, 1));
    callResolved = true;
    expect(resolvedWhenCalledBack).toBeUndefined(); // not run yet when the call resolved
    await new Promise((resolve) => setImmediate(resolve));
    expect(resolvedWhenCalledBack).toBe(true);
  });

  it('events wait for the scheduled delivery: one per burst of changes, in order', async () => {
    const scheduled: Array<() => void> = [];
    const metrics = new TradingMetrics({ schedule: (flush) => scheduled.push(flush) });
    const events: MetricEvent[] = [];
    metrics.setCallback((event) => events.push(event));
    const { tools } = setup({ mode: 'Direct', metrics });
    await ack(tools.placeOrder, market('BTC-USDT', 'Buy', 0.5));
    await ack(tools.placeOrder, market('BTC-USDT', 'Sell', 0.5));
    expect(events).toEqual([]); // both calls answered; nothing delivered yet
    expect(scheduled).toHaveLength(1); // the second call's changes join the pending delivery
    scheduled.shift()?.();
    expect(events.filter((e) => e.type === 'CounterInc' && e.name === 'trading_orders_total').map((e) => e.labels.side)).toEqual(['buy', 'sell']);
    expect(events.filter((e) => e.type === 'GaugeSet').map((e) => e.value)).toEqual([1, 2]);
    await ack(tools.placeOrder, market('BTC-USDT', 'Buy', 0.1));
    expect(scheduled).toHaveLength(1); // a new burst after a delivery schedules a new one
  });

  it('detaching the callback stops delivery', async () => {
    const metrics = new TradingMetrics();
    const events: MetricEvent[] = [];
    metrics.setCallback((e) => events.push(e));
    metrics.setCallback(undefined);
    const { tools } = setup({ mode: 'DryRun', metrics });
    await tools.placeOrder.execute(limit('BTC-USDT', 'Buy', 1, 1));
    await new Promise((resolve) => setImmediate(resolve));
    expect(events).toEqual([]);
  });
});
