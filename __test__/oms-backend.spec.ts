// OmsTradingBackend against the real axon-oms binary on loopback (real processes, real HTTP, a
// journal on disk). The test plays the venue connector: it moves orders and posts fills and marks.
import { afterEach, describe, expect, it } from 'vitest';

import { BackendError, OmsTradingBackend, type OrderRequest, type TradingBackend } from '../ts/index';
import { omsBackendFromConfig, omsRequestTimeoutMs } from '../ts/backends/from-config';
import { parseConfig, toolsOptionsFromConfig } from '../ts/config';
import { ack, limit, market, rejection, RUNBOOK_RISK, setup } from './harness';
import { deadPort, startLossyProxy, startOms, startSilentServer, type OmsServer } from './support/oms-server';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function oms(options: { journal?: string; port?: number } = {}): Promise<OmsServer> {
  const server = await startOms(options);
  cleanups.push(() => server.kill());
  return server;
}

/** Direct mode, runbook limits; market data re-read on every call so a new mark counts at once. */
function direct(backend: TradingBackend) {
  const harness = setup({ backend, mode: 'Direct', risk: RUNBOOK_RISK, backendTimeoutMs: 8_000, clockStartMs: undefined, marketDataMaxAgeMs: 0 });
  cleanups.push(() => {
    harness.tools.close();
    return Promise.resolve();
  });
  return harness;
}

type OmsOrder = { id: string; status: string; idempotency_key: string; quantity: number; price: number | null; replaces: string | null; replaced_by: string | null };

async function orders(server: OmsServer): Promise<OmsOrder[]> {
  const { status, body } = await server.call('GET', '/orders');
  expect(status).toBe(200);
  return body.orders as OmsOrder[];
}

async function venueAck(server: OmsServer, id: string): Promise<void> {
  for (const status of ['submitted', 'acknowledged']) {
    expect((await server.call('POST', `/orders/${id}/transition`, { status })).status).toBe(200);
  }
}

const request = (clientOrderId: string): OrderRequest => ({
  symbol: 'BTC-USDT',
  side: 'Buy',
  quantity: 0.1,
  orderType: 'Limit',
  price: 19_000,
  timeInForce: 'GTC',
  clientOrderId,
});

describe('OmsTradingBackend against axon-oms', () => {
  it('lifecycle through the guarded tools: place, venue ack + fill, portfolio, replace, cancel, Market orders priced by mark or last fill', async () => {
    const server = await oms();
    const { tools, metrics } = direct(new OmsTradingBackend({ baseUrl: server.url, timeoutMs: 2_000 }));

    const placed = await ack(tools.placeOrder, limit('BTC-USDT', 'Buy', 0.5, 20_000, ',"client_order_id":"life-1"'));
    expect(placed.status).toBe('New');
    const id = String(placed.order_id);
    const stored = (await server.call('GET', `/orders/${id}`)).body;
    expect(stored).toMatchObject({ status: 'new', symbol: 'BTC-USDT', side: 'Buy', quantity: 0.5, order_type: 'Limit', price: 20_000, client_order_id: 'life-1', idempotency_key: 'life-1' });

    await venueAck(server, id);
    expect((await server.call('POST', `/orders/${id}/fills`, { quantity: 0.2, price: 19_990 })).status).toBe(200);
    const portfolio = JSON.parse(await tools.queryPortfolio.execute('{"symbol":"BTC-USDT"}')) as Record<string, unknown>;
    expect(portfolio.positions).toEqual([{ symbol: 'BTC-USDT', quantity: 0.2, average_price: 19_990 }]);
    expect(portfolio.open_orders).toEqual([{ order_id: id, symbol: 'BTC-USDT', side: 'Buy', price: 20_000, quantity: 0.5, remaining: 0.5 - 0.2 }]);
    expect(portfolio.balances).toEqual([{ asset: 'USDT', free: -0.2 * 19_990, locked: 0 }]);

    const replaced = await ack(tools.replaceOrder, `{"order_id":"${id}","price":19950,"quantity":0.8}`);
    expect(replaced.status).toBe('Replaced');
    const newId = String(replaced.order_id);
    expect(newId).not.toBe(id);
    const [old, fresh] = await orders(server);
    expect(old).toMatchObject({ id, status: 'cancelled', replaced_by: newId });
    expect(fresh).toMatchObject({ id: newId, status: 'new', price: 19_950, replaces: id });
    expect(fresh?.quantity).toBeCloseTo(0.6, 12); // new total 0.8 minus the 0.2 already filled

    const cancelled = await ack(tools.cancelOrder, `{"order_id":"${newId}"}`);
    expect(cancelled.status).toBe('Cancelled');
    expect((await server.call('GET', `/orders/${newId}`)).body.status).toBe('cancelled');

    // No mark and no fill for ETH-USDT: fail closed, nothing reaches the OMS.
    const before = (await orders(server)).length;
    const unpriced = await rejection(tools.placeOrder, market('ETH-USDT', 'Buy', 1));
    expect(unpriced.code).toBe('NO_REFERENCE_PRICE');
    expect(await orders(server)).toHaveLength(before);

    // The mark prices Market orders: 2 x 30,000 is over the 50,000 notional limit, 1 x 30,000 is not.
    expect((await server.call('POST', '/marks', { symbol: 'ETH-USDT', price: 30_000 })).status).toBe(200);
    const over = await rejection(tools.placeOrder, market('ETH-USDT', 'Buy', 2));
    expect([over.code, over.message]).toEqual(['MAX_ORDER_NOTIONAL', 'RiskLimits: order notional 60000 exceeds limit 50000']);
    const priced = await ack(tools.placeOrder, market('ETH-USDT', 'Buy', 1));
    expect(priced.status).toBe('New');
    expect((await server.call('GET', `/orders/${String(priced.order_id)}`)).body).toMatchObject({ order_type: 'Market', price: null, symbol: 'ETH-USDT' });

    // Without a mark, the last fill price (19,990) values a BTC Market order.
    const byLastFill = await rejection(tools.placeOrder, market('BTC-USDT', 'Sell', 3));
    expect([byLastFill.code, byLastFill.message]).toEqual(['MAX_ORDER_NOTIONAL', 'RiskLimits: order notional 59970 exceeds limit 50000']);
    expect(metrics.prometheus()).not.toMatch(/trading_backend_errors_total\{backend="oms",kind="\w+"\} [1-9]/);
  });

  it('50 concurrent submits with one idempotency key make exactly one order (backend and tool)', async () => {
    const server = await oms();
    const backend = new OmsTradingBackend({ baseUrl: server.url, timeoutMs: 5_000 });
    const acks = await Promise.all(Array.from({ length: 50 }, () => backend.placeOrder(request('same-key'))));
    expect(new Set(acks.map((a) => a.orderId)).size).toBe(1);
    expect(await orders(server)).toHaveLength(1);

    const { tools } = direct(backend);
    const args = limit('BTC-USDT', 'Buy', 0.1, 19_000, ',"client_order_id":"tool-key"');
    const answers = await Promise.allSettled(Array.from({ length: 50 }, () => tools.placeOrder.execute(args)));
    const ids = answers.map((a) => (a.status === 'fulfilled' ? (JSON.parse(a.value) as { order_id: string }).order_id : `failed: ${String(a.reason)}`));
    expect(new Set(ids).size).toBe(1);
    expect(ids[0]).not.toBe(acks[0]?.orderId);
    const all = await orders(server);
    expect(all.map((o) => o.idempotency_key)).toEqual(['same-key', 'tool-key']);
    // Same key, different fields: refused, not a second order.
    const conflict = await backend.placeOrder({ ...request('same-key'), quantity: 0.2 }).catch((e: unknown) => e);
    expect(conflict).toBeInstanceOf(BackendError);
    expect((conflict as BackendError).kind).toBe('rejected');
    expect((conflict as BackendError).message).toContain('IDEMPOTENCY_CONFLICT');
    expect(await orders(server)).toHaveLength(2);
  });

  it('kill -9 mid-stream: every acknowledged order survives the restart, retried submits make no duplicates', async () => {
    const first = await startOms();
    const backend = new OmsTradingBackend({ baseUrl: first.url, timeoutMs: 1_000, retries: 1, retryBackoffMs: 20 });
    const { tools } = direct(backend);
    const acked = new Map<string, string>();
    const attempted: string[] = [];
    const service = { killed: false };
    let failuresAfterKill = 0;
    let tenAcknowledged!: () => void;
    const tenAcked = new Promise<void>((resolve) => {
      tenAcknowledged = resolve;
    });
    const stream = (async () => {
      for (let i = 0; attempted.length < 40 && failuresAfterKill < 3; i += 1) {
        const key = `stream-${i}`;
        attempted.push(key);
        try {
          const answer = await ack(tools.placeOrder, limit('BTC-USDT', 'Buy', 0.01, 19_000, `,"client_order_id":"${key}"`));
          acked.set(key, String(answer.order_id));
          if (acked.size === 10) tenAcknowledged();
        } catch {
          if (service.killed) failuresAfterKill += 1;
        }
      }
    })();
    await Promise.race([tenAcked, stream]); // the kill lands mid-stream, right after the 10th ack
    expect(acked.size).toBe(10);
    expect(await first.kill('SIGKILL')).toBeNull();
    service.killed = true;
    await stream;
    expect(failuresAfterKill).toBe(3); // the stream really ran into the dead service
    expect(attempted.length).toBeGreaterThan(acked.size);

    const second = await oms({ journal: first.journal, port: first.port });
    const recovered = await orders(second);
    for (const [key, id] of acked) {
      expect(recovered.find((o) => o.id === id)?.idempotency_key, `acknowledged ${key} -> ${id}`).toBe(key);
    }
    // The agent retries every key it sent; the OMS keeps one order per key.
    for (const key of attempted) {
      const answer = await ack(tools.placeOrder, limit('BTC-USDT', 'Buy', 0.01, 19_000, `,"client_order_id":"${key}"`));
      if (acked.has(key)) expect(String(answer.order_id)).toBe(acked.get(key));
    }
    const after = await orders(second);
    expect(after.map((o) => o.idempotency_key).sort()).toEqual([...attempted].sort());
  });

  it('a lost answer is retried with the same key: one order; a retried cancel that already went through is a success', async () => {
    const server = await oms();
    const proxy = await startLossyProxy(server.port);
    cleanups.push(() => proxy.close());
    const backend = new OmsTradingBackend({ baseUrl: proxy.url, timeoutMs: 2_000, retries: 2, retryBackoffMs: 10 });

    proxy.loseAnswers(1);
    const placed = await backend.placeOrder(request('lossy-1'));
    expect(proxy.forwarded).toBe(2);
    expect(await orders(server)).toHaveLength(1);
    expect((await orders(server))[0]?.id).toBe(placed.orderId);

    proxy.loseAnswers(1);
    const cancelled = await backend.cancelOrder(placed.orderId);
    expect(cancelled.status).toBe('Cancelled');
    expect(proxy.forwarded).toBe(2 + 3); // cancel, cancel again (409), re-read

    // A cancel of an already cancelled order on the first attempt is still a refusal.
    await expect(backend.cancelOrder(placed.orderId)).rejects.toMatchObject({ kind: 'rejected' });

    const fresh = await backend.placeOrder(request('lossy-2'));
    proxy.loseAnswers(1);
    const replaced = await backend.replaceOrder({ orderId: fresh.orderId, price: 18_500 });
    expect(replaced.status).toBe('Replaced');
    const all = await orders(server);
    expect(all).toHaveLength(3); // lossy-1, lossy-2 and exactly one replacement
    expect(all[2]).toMatchObject({ id: replaced.orderId, price: 18_500, replaces: fresh.orderId });
  });

  it('a dead service fails fast as network; a silent one as timeout; both counted per kind', async () => {
    const port = await deadPort();
    const url = `http://127.0.0.1:${port}`;
    const dead = direct(new OmsTradingBackend({ baseUrl: url, timeoutMs: 2_000 }));
    const error = await rejection(dead.tools.queryPortfolio, '{}');
    expect(error.toJSON()).toMatchObject({ error_type: 'ExecutionFailed', source: 'Backend', code: 'BACKEND_NETWORK' });
    expect(error.message).toContain(`axon-oms not reachable at ${url} (connection refused)`);
    expect(dead.metrics.prometheus()).toContain('trading_backend_errors_total{backend="oms",kind="network"} 1');
    await expect(new OmsTradingBackend({ baseUrl: url }).placeOrder(request('dead'))).rejects.toMatchObject({ kind: 'network' });

    const silent = await startSilentServer();
    cleanups.push(() => silent.close());
    const slow = new OmsTradingBackend({ baseUrl: silent.url, timeoutMs: 300, retries: 1, retryBackoffMs: 10 });
    await expect(slow.placeOrder(request('silent-1'))).rejects.toMatchObject({ kind: 'timeout' });
    expect(silent.requests).toHaveLength(2); // one retry, with the same idempotency key
    for (const head of silent.requests) expect(head.toLowerCase()).toContain('idempotency-key: silent-1');
    const timedOut = direct(slow);
    const timeout = await rejection(timedOut.tools.queryPortfolio, '{}');
    expect(timeout.code).toBe('BACKEND_TIMEOUT');
    expect(timedOut.metrics.prometheus()).toContain('trading_backend_errors_total{backend="oms",kind="timeout"} 1');
  });

  it('from a config, every retry fits in the tool deadline: nothing reaches the OMS after the call is reported', async () => {
    expect(omsRequestTimeoutMs(10_000, 2, 100)).toBe(3_233);
    const silent = await startSilentServer();
    cleanups.push(() => silent.close());
    const config = parseConfig(`[trading]\nbackend = "oms"\nbase_url = "${silent.url}"\ntimeout_ms = 900\n[safety]\nmode = "Direct"\n`);
    const backend = omsBackendFromConfig(config);
    // Every call the tools make, so the test can wait for the backend itself to give up.
    const calls: Array<Promise<unknown>> = [];
    const track = <T>(call: Promise<T>): Promise<T> => {
      calls.push(call);
      return call;
    };
    const getPortfolio = backend.getPortfolio.bind(backend);
    const getOpenOrders = backend.getOpenOrders.bind(backend);
    backend.getPortfolio = () => track(getPortfolio());
    backend.getOpenOrders = (symbol) => track(getOpenOrders(symbol));
    const { tools } = setup({ backend, ...toolsOptionsFromConfig(config), clockStartMs: undefined });
    cleanups.push(() => {
      tools.close();
      return Promise.resolve();
    });
    const error = await rejection(tools.queryPortfolio, '{}');
    expect(error.code).toBe('BACKEND_TIMEOUT');
    const attempts = silent.requests.length;
    expect(attempts).toBeGreaterThanOrEqual(3); // the retries ran, inside the deadline
    // Not a fixed wait: until the backend has given up on each call, however long that takes; a
    // retry scheduled past the deadline would have reached the service by then.
    const outcomes = await Promise.allSettled(calls);
    expect(outcomes.map((o) => (o.status === 'rejected' ? (o.reason as BackendError).kind : 'answered'))).toEqual(['timeout', 'timeout']);
    expect(silent.requests).toHaveLength(attempts);
  });

  it('validates its options', () => {
    expect(() => new OmsTradingBackend({ baseUrl: 'not a url' })).toThrow(/baseUrl/);
    expect(() => new OmsTradingBackend({ timeoutMs: 0 })).toThrow(/timeoutMs/);
    expect(() => new OmsTradingBackend({ retries: -1 })).toThrow(/retries/);
    expect(new OmsTradingBackend().baseUrl).toBe('http://127.0.0.1:8080');
  });
});
