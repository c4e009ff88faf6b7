// A real HTTP scrape of the metrics endpoint answers with every SPEC §7 name and the process metrics.
import { afterEach, describe, expect, it } from 'vitest';

import { TradingMetrics, type ToolError } from '../ts/index';
import { parsePrometheusTarget, servePrometheus, type PrometheusEndpoint } from '../ts/prometheus-endpoint';
import { ack, limit, market, rejection, RUNBOOK_RISK, setup, T0 } from './harness';

let endpoint: PrometheusEndpoint | undefined;
afterEach(async () => {
  await endpoint?.close();
  endpoint = undefined;
});

const REJECTIONS = /^trading_risk_rejections_total\{source="(\w+)",code="(\w+)"\} (\d+)$/gm;

/** Every `trading_risk_rejections_total` series of one real scrape, as `source/code` -> value. */
async function scrapeRejections(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(url)).text();
  return new Map([...text.matchAll(REJECTIONS)].map((m) => [`${m[1] as string}/${m[2] as string}`, Number(m[3])]));
}

/** The series that moved between two scrapes, with how much. */
function moved(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [series, value] of after) {
    const delta = value - (before.get(series) ?? 0);
    if (delta !== 0) out[series] = delta;
  }
  return out;
}

describe('prometheus endpoint', () => {
  it('parses the runbook target', () => {
    expect(parsePrometheusTarget('prometheus:http://localhost:9100/metrics')).toEqual({ host: 'localhost', port: 9100, path: '/metrics' });
    expect(() => parsePrometheusTarget('prometheus:https://x/metrics')).toThrow(/prometheus:http/);
  });

  it('serves every SPEC §7 metric with live values over HTTP', async () => {
    const { tools, metrics } = setup({ mode: 'Direct', risk: RUNBOOK_RISK });
    endpoint = await servePrometheus(metrics, 'prometheus:http://127.0.0.1:0/metrics');
    await tools.placeOrder.execute(market('BTC-USDT', 'Buy', 0.1));
    await rejection(tools.placeOrder, limit('BTC-USDT', 'Buy', 5, 20_000));
    const response = await fetch(endpoint.url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await response.text();
    for (const name of [
      'trading_orders_total',
      'trading_risk_rejections_total',
      'trading_risk_gate_blocked_total',
      'trading_backend_errors_total',
      'trading_tool_execute_duration_seconds',
      'trading_daily_orders_count',
    ]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
    expect(text).toContain('trading_orders_total{tool="place",side="buy",status="success"} 1\n');
    expect(text).toContain('trading_risk_rejections_total{source="risk_limits",code="max_order_notional"} 1\n');
    expect(text).toContain('trading_daily_orders_count 1\n');
    expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(text).toMatch(/^nodejs_heap_size_used_bytes \d/m);
  });

  it('answers 404 elsewhere and 405 to other methods', async () => {
    const { metrics } = setup();
    endpoint = await servePrometheus(metrics, 'prometheus:http://127.0.0.1:0/metrics');
    expect((await fetch(endpoint.url.replace('/metrics', '/other'))).status).toBe(404);
    expect((await fetch(endpoint.url, { method: 'POST' })).status).toBe(405);
    const head = await fetch(endpoint.url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('a refusal of each control moves exactly its {source, code} series, and a passing order none', async () => {
    const metrics = new TradingMetrics();
    endpoint = await servePrometheus(metrics, 'prometheus:http://127.0.0.1:0/metrics');
    const url = endpoint.url;
    // Every market-access control of issue 16 on one account.
    const { tools, backend } = setup({
      mode: 'Direct',
      metrics,
      risk: {
        maxOrderQuantity: 2,
        minOrderNotional: 100,
        priceCollarBps: 500,
        maxReferenceAgeMs: 60_000,
        maxOrdersPerSecond: 2,
        duplicateWindowMs: 10_000,
        maxOpenOrders: 3,
        selfTradePrevention: 'reject',
        maxDailyLoss: 1_000,
      },
    });
    const first = await scrapeRejections(url);
    let before = first;
    /** Runs one call and checks, by a scrape, that it moved exactly `series` (nothing for a pass). */
    async function expectMoves(call: () => Promise<unknown>, series: string | undefined): Promise<void> {
      const outcome = await call().then(
        () => undefined,
        (error: unknown) => error as ToolError,
      );
      const after = await scrapeRejections(url);
      if (series === undefined) {
        expect(outcome, 'the call passes').toBeUndefined();
        expect(moved(before, after)).toEqual({});
      } else {
        const [source, code] = series.split('/') as [string, string];
        expect(outcome?.code, series).toBe(code.toUpperCase()); // the label is the agent's code
        expect(outcome?.source.replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase()).toBe(source);
        expect(moved(before, after), series).toEqual({ [series]: 1 });
      }
      before = after;
    }
    const place = (args: string) => () => tools.placeOrder.execute(args);

    await expectMoves(place(limit('BTC-USDT', 'Buy', 0.1, 21_500)), 'risk_limits/price_collar'); // 750 bps out
    await expectMoves(place(limit('BTC-USDT', 'Buy', 3, 20_000)), 'risk_limits/max_order_quantity');
    await expectMoves(place(limit('BTC-USDT', 'Buy', 0.001, 20_000)), 'risk_limits/min_order_notional');
    await expectMoves(place(limit('BTC-USDT', 'Sell', 0.1, 20_500)), undefined); // rests above the market
    await expectMoves(place(limit('BTC-USDT', 'Buy', 0.1, 20_600)), 'risk_limits/self_trade');
    await expectMoves(place(limit('BTC-USDT', 'Buy', 0.1, 19_500)), undefined); // rests below
    await expectMoves(place(limit('BTC-USDT', 'Buy', 0.1, 19_500)), 'risk_limits/duplicate_order');
    tools.setClockMs(T0 + 1_000); // a new second for the throttle
    await expectMoves(place(limit('BTC-USDT', 'Buy', 0.1, 19_400)), undefined); // the third open order
    await expectMoves(place(limit('BTC-USDT', 'Buy', 0.1, 19_300)), 'risk_limits/max_open_orders');
    tools.setClockMs(T0 + 2_000);
    await expectMoves(place(limit('ETH-USDT', 'Buy', 0.1, 1_490)), undefined);
    await expectMoves(place(limit('ETH-USDT', 'Buy', 0.1, 1_480)), undefined);
    await expectMoves(place(limit('ETH-USDT', 'Buy', 0.1, 1_470)), 'risk_limits/rate_limited'); // third in 1 s
    tools.setClockMs(T0 + 3_000);
    await expectMoves(place(market('ETH-USDT', 'Buy', 1)), undefined);
    backend.setReferencePrice('ETH-USDT', 400); // the venue pushes the loss: more than 1,000 today
    await expectMoves(place(limit('ETH-USDT', 'Buy', 0.5, 400)), 'risk_limits/pnl_breaker_open');

    // The gate and the safety mode, on two more tool sets sharing the same registry.
    const gated = setup({ mode: 'Direct', metrics, risk: { maxOrderQuantity: 1 }, gate: { type: 'RejectionCircuitBreaker', threshold: 1, cooldownMs: 60_000 } });
    await expectMoves(() => gated.tools.placeOrder.execute(limit('BTC-USDT', 'Buy', 2, 20_000)), 'risk_limits/max_order_quantity');
    await expectMoves(() => gated.tools.placeOrder.execute(limit('BTC-USDT', 'Buy', 0.5, 20_000)), 'risk_gate/circuit_breaker_open');
    const halted = setup({ mode: 'Direct', metrics });
    halted.tools.setTradingState('HALTED', { source: 'test' });
    await expectMoves(() => halted.tools.placeOrder.execute(limit('BTC-USDT', 'Buy', 0.5, 19_000)), 'risk_gate/trading_halted');
    halted.tools.close();
    const twoPhase = setup({ mode: 'TwoPhase', metrics });
    const order = limit('BTC-USDT', 'Buy', 0.5, 19_000);
    const proposal = await ack(twoPhase.tools.placeOrder, order);
    const token = `,"confirm_token":"${proposal.confirm_token as string}"`;
    await expectMoves(() => twoPhase.tools.placeOrder.execute(limit('BTC-USDT', 'Buy', 0.6, 19_000, token)), 'safety_mode/confirm_args_mismatch');
    await expectMoves(() => twoPhase.tools.placeOrder.execute(limit('BTC-USDT', 'Buy', 0.5, 19_000, ',"confirm_token":"0b0a7a3e-6f61-4c2b-9d7e-1c2d3e4f5a6b"')), 'safety_mode/confirm_token_invalid');

    // Every series that moved was exported at 0 by the first scrape, and `sum by (source)` adds up.
    for (const series of before.keys()) expect(first.has(series), series).toBe(true);
    const bySource = (source: string) => [...before].filter(([series]) => series.startsWith(`${source}/`)).reduce((sum, [, v]) => sum + v, 0);
    expect([bySource('risk_limits'), bySource('risk_gate'), bySource('safety_mode')]).toEqual([9, 2, 2]);
    for (const set of [tools, gated.tools, twoPhase.tools]) set.close();
  });
});
