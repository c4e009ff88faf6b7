// A real HTTP scrape of the metrics endpoint answers with every SPEC §7 name and the process metrics.
import { afterEach, describe, expect, it } from 'vitest';

import { parsePrometheusTarget, servePrometheus, type PrometheusEndpoint } from '../ts/prometheus-endpoint';
import { limit, market, rejection, RUNBOOK_RISK, setup } from './harness';

let endpoint: PrometheusEndpoint | undefined;
afterEach(async () => {
  await endpoint?.close();
  endpoint = undefined;
});

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
    expect(text).toContain('trading_risk_rejections_total{source="risk_limits"} 1\n');
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
});
