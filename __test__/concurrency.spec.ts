// 1,000 concurrent place_order calls against max_daily_orders = 100: exactly 100 reach the venue,
// with and without a throwing metrics callback.
import { describe, expect, it } from 'vitest';

import { MockTradingBackend, ToolError, TradingMetrics } from '../ts/index';
import { setup, T0 } from './harness';

async function storm(withThrowingCallback: boolean) {
  // The venue answers only when the test releases it, and the test releases only what is waiting
  // at the time: the 1,000 calls overlap while in flight whatever the machine's speed.
  const waiting: Array<() => void> = [];
  const delay = () => new Promise<void>((answer) => waiting.push(answer));
  const backend = new MockTradingBackend({ referencePrices: { 'BTC-USDT': 20_000 }, latencyMs: 1, delay, now: () => T0 });
  const warnings: unknown[] = [];
  const metrics = new TradingMetrics({ onCallbackError: (error) => warnings.push(error) });
  const { tools } = setup({ mode: 'Direct', backend, metrics, risk: { maxDailyOrders: 100, maxPositionAbs: 1_000 } });
  let callbackCalls = 0;
  if (withThrowingCallback) {
    metrics.setCallback(() => {
      callbackCalls += 1;
      throw new Error('dashboard exploded');
    });
  }
  const calls = Array.from({ length: 1_000 }, (_, i) =>
    tools.placeOrder.execute(`{"symbol":"BTC-USDT","side":"${i % 2 === 0 ? 'Buy' : 'Sell'}","quantity":0.01,"price":${i % 2 === 0 ? 19_000 : 21_000}}`),
  );
  let settled: PromiseSettledResult<string>[] | undefined;
  void Promise.allSettled(calls).then((outcomes) => {
    settled = outcomes;
  });
  let peakInflight = 0;
  while (settled === undefined) {
    await new Promise((resolve) => setImmediate(resolve));
    peakInflight = Math.max(peakInflight, tools.state().inflight);
    for (const answer of waiting.splice(0)) answer();
  }
  await new Promise((resolve) => setImmediate(resolve));
  return { settled, backend, metrics, tools, warnings, callbackCalls, peakInflight };
}

describe('concurrency', () => {
  for (const withThrowingCallback of [false, true]) {
    it(`exactly 100 of 1,000 concurrent orders reach the venue${withThrowingCallback ? ' with a throwing metrics callback' : ''}`, async () => {
      const { settled, backend, metrics, tools, warnings, callbackCalls, peakInflight } = await storm(withThrowingCallback);
      expect(peakInflight).toBe(100); // every order the limit let through was at the venue at once
      const fulfilled = settled.filter((s) => s.status === 'fulfilled');
      const rejected = settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected');
      expect(fulfilled).toHaveLength(100);
      expect(rejected).toHaveLength(900);
      for (const r of rejected) {
        expect(r.reason).toBeInstanceOf(ToolError);
        expect((r.reason as ToolError).code).toBe('MAX_DAILY_ORDERS');
      }
      expect(backend.calls.placeOrder).toBe(100);
      expect(backend.openOrders()).toHaveLength(100);
      expect(tools.state()).toMatchObject({ dailyOrders: 100, inflight: 0 });
      const snap = metrics.snapshot();
      expect(snap.gauges.trading_daily_orders_count).toBe(100);
      expect(snap.counters['trading_risk_rejections_total{source="risk_limits",code="max_daily_orders"}']).toBe(900);
      const success = (snap.counters['trading_orders_total{tool="place",side="buy",status="success"}'] ?? Number.NaN) + (snap.counters['trading_orders_total{tool="place",side="sell",status="success"}'] ?? Number.NaN);
      expect(success).toBe(100);
      if (withThrowingCallback) {
        expect(callbackCalls).toBeGreaterThanOrEqual(1_000 + 100 + 100); // every counter, observation and gauge change
        expect(warnings).toHaveLength(1); // reported once
      }
    });
  }
});
