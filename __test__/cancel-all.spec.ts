// The kill switch (`tools.cancelAll`, issue 16) on the four backends with real parts: the in-memory
// mock, the backtest venue on real market data, the real axon-oms process over HTTP and the real
// ccxt client against a Binance REST venue on loopback. Each: every open order cancelled, the tools
// HALTED, later places refused, a second concurrent call cancels nothing twice.
import { afterEach, describe, expect, it } from 'vitest';

import { sharedDataFile } from '../bench/shared-data';
import {
  BacktestTradingBackend,
  BackendError,
  ExchangeTradingBackend,
  loadBars,
  MockTradingBackend,
  OmsTradingBackend,
  type CancelAllResult,
  type TradingBackend,
  type TradingStateChange,
  type TradingTools,
} from '../ts/index';
import { ack, limit, rejection, setup, T0 } from './harness';
import { startFakeBinance } from './support/fake-binance';
import { startOms } from './support/oms-server';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function direct(backend: TradingBackend, extra: Parameters<typeof setup>[0] = {}) {
  const changes: TradingStateChange[] = [];
  const harness = setup({ backend, mode: 'Direct', backendTimeoutMs: 8_000, onTradingStateChange: (change) => changes.push(change), ...extra });
  cleanups.push(() => {
    harness.tools.close();
    return Promise.resolve();
  });
  return { ...harness, changes };
}

/** Places resting limit buys well below the market; returns their order ids. */
async function rest(tools: TradingTools, orders: Array<[symbol: string, price: number]>): Promise<string[]> {
  const ids: string[] = [];
  for (const [symbol, price] of orders) {
    const placed = await ack(tools.placeOrder, limit(symbol, 'Buy', 0.01, price));
    expect(placed.status).toBe('New');
    ids.push(String(placed.order_id));
  }
  return ids;
}

/** Two kill switches at once: the second joins the first, so both report the same and nothing is cancelled twice. */
async function killTwice(tools: TradingTools): Promise<CancelAllResult> {
  const [first, second] = await Promise.all([tools.cancelAll({ source: 'test', reason: 'kill' }), tools.cancelAll({ source: 'admin' })]);
  expect(second).toEqual(first);
  return first;
}

async function expectHalted(tools: TradingTools, changes: TradingStateChange[], symbol: string): Promise<void> {
  expect(tools.tradingState()).toBe('HALTED');
  expect(changes.map(({ from, to, source, reason }) => ({ from, to, source, reason }))).toEqual([{ from: 'ACTIVE', to: 'HALTED', source: 'test', reason: 'kill' }]);
  expect((await rejection(tools.placeOrder, limit(symbol, 'Buy', 0.01, 1_000))).code).toBe('TRADING_HALTED');
}

describe('cancelAll on the mock', () => {
  it('cancels every open order of every symbol, halts, refuses later places; limits and throttle do not stop it', async () => {
    const backend = new MockTradingBackend({ referencePrices: { 'BTC-USDT': 20_000, 'ETH-USDT': 1_500 }, now: () => T0, synchronous: false });
    // The daily cancel limit and the throttle are exhausted by the places: a kill switch still works.
    const { tools, changes, metrics } = direct(backend, { risk: { maxDailyCancels: 0, maxOrdersPerSecond: 3 } });
    const ids = await rest(tools, [
      ['BTC-USDT', 19_000],
      ['ETH-USDT', 1_400],
      ['BTC-USDT', 18_000],
    ]);
    expect((await rejection(tools.cancelOrder, `{"order_id":"${ids[0] ?? ''}"}`)).code).toBe('MAX_DAILY_CANCELS');
    const result = await killTwice(tools);
    expect(result).toEqual({ cancelled: ids, failed: [] });
    expect(backend.calls.cancelOrder).toBe(3);
    expect(await backend.getOpenOrders()).toEqual([]);
    await expectHalted(tools, changes, 'BTC-USDT');
    expect(backend.calls.placeOrder).toBe(3);
    expect(metrics.prometheus()).toContain('trading_state 2\n');
    // A later call finds nothing left to cancel.
    expect(await tools.cancelAll({ source: 'test' })).toEqual({ cancelled: [], failed: [] });
  });

  it('a cancel that fails is reported, not thrown; the others go through', async () => {
    const backend = new MockTradingBackend({ referencePrices: { 'BTC-USDT': 20_000 }, now: () => T0 });
    const { tools } = direct(backend);
    const ids = await rest(tools, [
      ['BTC-USDT', 19_000],
      ['BTC-USDT', 18_000],
    ]);
    backend.injectFailure('cancelOrder', 'network', 1, 'connection reset by venue');
    const result = await tools.cancelAll({ source: 'test' });
    expect(result.failed).toEqual([{ orderId: ids[0], error: 'connection reset by venue' }]);
    expect(result.cancelled).toEqual([ids[1]]);
    expect((await backend.getOpenOrders()).map((o) => o.orderId)).toEqual([ids[0]]);
    // The operator can run it again for what is left.
    expect(await tools.cancelAll({ source: 'test' })).toEqual({ cancelled: [ids[0]], failed: [] });
  });

  it('when the open orders cannot be listed it rejects with a BackendError, and trading stays HALTED', async () => {
    const backend = new MockTradingBackend({ referencePrices: { 'BTC-USDT': 20_000 }, now: () => T0 });
    const { tools, lines } = direct(backend);
    await rest(tools, [['BTC-USDT', 19_000]]);
    backend.injectFailure('getOpenOrders', 'timeout', 1, 'venue busy');
    const error = await tools.cancelAll({ source: 'test' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect((error as BackendError).kind).toBe('timeout');
    expect((error as BackendError).message).toMatch(/trading is HALTED but the open orders of mock could not be listed: venue busy/);
    expect(tools.tradingState()).toBe('HALTED');
    expect(lines.some((line) => line.includes('could not be listed'))).toBe(true);
  });

  it('an order sent before the halt is waited for, listed and cancelled', async () => {
    const held: Array<() => void> = [];
    let hold = true;
    const backend = new MockTradingBackend({
      referencePrices: { 'BTC-USDT': 20_000 },
      now: () => T0,
      latencyMs: 1,
      delay: () => (hold ? new Promise<void>((resolve) => held.push(resolve)) : Promise.resolve()),
    });
    const { tools } = direct(backend);
    const placing = tools.placeOrder.execute(limit('BTC-USDT', 'Buy', 0.01, 19_000));
    expect(held).toHaveLength(1); // the place is at the venue's door
    hold = false;
    const killing = tools.cancelAll({ source: 'test' });
    expect(tools.tradingState()).toBe('HALTED');
    held[0]?.();
    const placed = JSON.parse(await placing) as { order_id: string; status: string };
    expect(placed.status).toBe('New');
    expect(await killing).toEqual({ cancelled: [placed.order_id], failed: [] });
    expect(await backend.getOpenOrders()).toEqual([]);
  });
});

describe('cancelAll and close', () => {
  it('a cancel the venue confirms after the tools were closed is still reported as cancelled', async () => {
    const held: Array<() => void> = [];
    let hold = false;
    const backend = new MockTradingBackend({
      referencePrices: { 'BTC-USDT': 20_000 },
      now: () => T0,
      latencyMs: 1,
      delay: () => (hold ? new Promise<void>((resolve) => held.push(resolve)) : Promise.resolve()),
    });
    const { tools, lines } = setup({ backend, mode: 'Direct' });
    const ids = await rest(tools, [['BTC-USDT', 19_000]]);
    hold = true;
    const killing = tools.cancelAll({ source: 'test' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(held).toHaveLength(1); // the listing waits at the venue's door
    held.shift()?.();
    await new Promise((resolve) => setImmediate(resolve));
    expect(held).toHaveLength(1); // now the cancel does
    tools.close();
    held.shift()?.();
    expect(await killing).toEqual({ cancelled: ids, failed: [] });
    hold = false;
    expect(await backend.getOpenOrders()).toEqual([]);
    expect(lines.some((line) => line.includes(`cannot forget order ${ids[0] ?? ''}`))).toBe(true);
  });
});

describe('cancelAll on the backtest venue (real BTC bars)', () => {
  it('cancels the agent orders resting on the book and halts', async () => {
    const bars = loadBars(sharedDataFile('btc-usdt-5m.csv'));
    const backend = new BacktestTradingBackend({ symbol: 'BTC-USDT', data: bars, cash: 100_000 });
    cleanups.push(() => {
      backend.destroy();
      return Promise.resolve();
    });
    const { tools, changes } = direct(backend, { clockStartMs: bars.timestamp[0] });
    expect(backend.advance()).toBe(true);
    const price = backend.price;
    const ids = await rest(tools, [
      ['BTC-USDT', Math.floor(price * 0.9)],
      ['BTC-USDT', Math.floor(price * 0.8)],
      ['BTC-USDT', Math.floor(price * 0.7)],
    ]);
    expect((await backend.getOpenOrders()).map((o) => o.orderId)).toEqual(ids);
    expect(await killTwice(tools)).toEqual({ cancelled: ids, failed: [] });
    expect(await backend.getOpenOrders()).toEqual([]);
    expect(backend.balances()[0]?.locked).toBe(0);
    await expectHalted(tools, changes, 'BTC-USDT');
  });
});

describe('cancelAll on axon-oms (real process, HTTP)', () => {
  it('cancels every open order at the OMS and halts; a concurrent second call cancels nothing twice', async () => {
    const server = await startOms();
    cleanups.push(() => server.kill());
    const { tools, changes } = direct(new OmsTradingBackend({ baseUrl: server.url, timeoutMs: 2_000 }), { clockStartMs: undefined });
    const ids = await rest(tools, [
      ['BTC-USDT', 19_000],
      ['ETH-USDT', 1_400],
      ['BTC-USDT', 18_000],
    ]);
    // One order was acknowledged by the venue connector: still open, still cancelled.
    for (const status of ['submitted', 'acknowledged']) expect((await server.call('POST', `/orders/${ids[1] ?? ''}/transition`, { status })).status).toBe(200);
    expect(await killTwice(tools)).toEqual({ cancelled: ids, failed: [] });
    const { body } = await server.call('GET', '/orders');
    const stored = body.orders as Array<{ id: string; status: string }>;
    expect(stored.map((o) => [o.id, o.status])).toEqual(ids.map((id) => [id, 'cancelled']));
    await expectHalted(tools, changes, 'BTC-USDT');
    expect(((await server.call('GET', '/orders')).body.orders as unknown[]).length).toBe(3);
  });
});

describe('cancelAll on a Binance REST venue (real ccxt, loopback)', () => {
  const API_KEY = 'kX9pTestApiKey0123456789abcdefABCDEFkey';
  const API_SECRET = 'sQ7zTestSecret9876543210zyxwvuZYXWVUsecret';

  async function venueAndTools() {
    const venue = await startFakeBinance({ apiKey: API_KEY, apiSecret: API_SECRET });
    cleanups.push(() => venue.close());
    const backend = new ExchangeTradingBackend({ exchange: 'binance', apiKey: API_KEY, apiSecret: API_SECRET, timeoutMs: 2_000, urls: venue.baseUrl });
    return { venue, ...direct(backend, { clockStartMs: undefined }) };
  }

  it('lists the open orders of every symbol, cancels each once and halts', async () => {
    const { venue, tools, changes } = await venueAndTools();
    const ids = await rest(tools, [
      ['BTC-USDT', 19_000],
      ['ETH-USDT', 1_400],
    ]);
    expect(await killTwice(tools)).toEqual({ cancelled: ids, failed: [] });
    expect(venue.count('GET /api/v3/openOrders')).toBe(1);
    const listing = venue.requests.find((r) => r.path === '/api/v3/openOrders');
    expect(listing?.params.symbol).toBeUndefined(); // one call for every symbol
    expect(venue.count('DELETE /api/v3/order')).toBe(2);
    expect(venue.orders.map((o) => o.status)).toEqual(['CANCELED', 'CANCELED']);
    await expectHalted(tools, changes, 'ETH-USDT');
    expect(venue.count('POST /api/v3/order')).toBe(2);
  });

  it('a venue error on one cancel is reported with its scrubbed message; the other order is cancelled', async () => {
    const { venue, tools, lines } = await venueAndTools();
    const ids = await rest(tools, [
      ['BTC-USDT', 19_000],
      ['BTC-USDT', 18_000],
    ]);
    venue.inject('DELETE /api/v3/order', { kind: 'http5xx', status: 503 });
    const result = await tools.cancelAll({ source: 'test' });
    expect(result.cancelled).toEqual([ids[1]]);
    expect(result.failed.map((f) => f.orderId)).toEqual([ids[0]]);
    expect(result.failed[0]?.error).toMatch(/\S/);
    for (const text of [...lines, JSON.stringify(result)]) {
      expect(text).not.toContain(API_KEY);
      expect(text).not.toContain(API_SECRET);
    }
    expect(venue.orders.map((o) => o.status)).toEqual(['NEW', 'CANCELED']);
  });
});
