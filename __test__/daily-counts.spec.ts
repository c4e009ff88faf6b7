// Daily counts across restarts: a process that restarts mid-day keeps counting towards
// max_daily_orders / max_daily_cancels; the count is on disk before the order leaves the process.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { createTradingTools, MockTradingBackend, silentLogger, TradingMetrics, type SyncOrderOps, type TradingTools } from '../ts/index';
import { ack, DAY_MS, limit, rejection, T0 } from './harness';

const file = () => join(mkdtempSync(join(tmpdir(), 'axon-daily-')), 'daily-counts.json');

function tools(backend: MockTradingBackend, dailyCountsFile: string, clockStartMs = T0, metrics = new TradingMetrics()): TradingTools {
  return createTradingTools({
    backend,
    mode: 'Direct',
    risk: { allowedSymbols: ['BTC-USDT'], maxDailyOrders: 3, maxDailyCancels: 2 },
    logger: silentLogger,
    clockStartMs,
    dailyCountsFile,
    metrics,
  });
}

describe('daily counts file', () => {
  it('a restart mid-day carries the order and cancel counts over', async () => {
    const path = file();
    const backend = new MockTradingBackend({ referencePrices: { 'BTC-USDT': 20_000 }, now: () => T0 });
    const first = tools(backend, path);
    const a = await ack(first.placeOrder, limit('BTC-USDT', 'Buy', 0.1, 19_000));
    await ack(first.placeOrder, limit('BTC-USDT', 'Buy', 0.1, 19_000));
    await ack(first.cancelOrder, JSON.stringify({ order_id: a.order_id }));
    first.close();
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ day: Math.floor(T0 / DAY_MS), orders: 2, cancels: 1 });

    const metrics = new TradingMetrics();
    const second = tools(backend, path, T0 + 60_000, metrics);
    expect(second.state()).toMatchObject({ dailyOrders: 2, dailyCancels: 1 });
    expect(metrics.snapshot().gauges.trading_daily_orders_count).toBe(2);
    const b = await ack(second.placeOrder, limit('BTC-USDT', 'Buy', 0.1, 19_000));
    expect((await rejection(second.placeOrder, limit('BTC-USDT', 'Buy', 0.1, 19_000))).message).toBe('RiskLimits: daily order count 4 exceeds limit 3');
    await ack(second.cancelOrder, JSON.stringify({ order_id: b.order_id }));
    expect((await rejection(second.cancelOrder, JSON.stringify({ order_id: 'mock-2' }))).code).toBe('MAX_DAILY_CANCELS');
    expect(backend.acceptedOrders()).toBe(3);
    second.close();
  });

  it('two tools on one dailyCountsFile at once: the second fails to start naming the holder (each would count alone); closing the first frees it', () => {
    const path = file();
    const backend = new MockTradingBackend({ referencePrices: { 'BTC-USDT': 20_000 }, now: () => T0 });
    const first = tools(backend, path);
    expect(() => tools(backend, path)).toThrow(new RegExp(`${path}.*pid ${process.pid}`));
    first.close();
    tools(backend, path).close();
  });

  it('the count is on disk before the venue sees the order', async () => {
    const path = file();
    const seenOnDisk: number[] = [];
    const backend = new MockTradingBackend({ referencePrices: { 'BTC-USDT': 20_000 }, now: () => T0 });
    const ops = backend.syncOrders as SyncOrderOps;
    const place = ops.placeOrder.bind(ops);
    ops.placeOrder = (request) => {
      seenOnDisk.push((JSON.parse(readFileSync(path, 'utf8')) as { orders: number }).orders);
      return place(request);
    };
    const t = tools(backend, path);
    await ack(t.placeOrder, limit('BTC-USDT', 'Buy', 0.1, 19_000));
    await ack(t.placeOrder, limit('BTC-USDT', 'Buy', 0.1, 19_000));
    expect(seenOnDisk).toEqual([1, 2]);
    t.close();
  });

  it('counts saved on an earlier UTC day do not count today', async () => {
    const path = file();
    writeFileSync(path, JSON.stringify({ day: Math.floor(T0 / DAY_MS) - 1, orders: 3, cancels: 2 }));
    const backend = new MockTradingBackend({ referencePrices: { 'BTC-USDT': 20_000 }, now: () => T0 });
    const t = tools(backend, path);
    expect(t.state()).toMatchObject({ dailyOrders: 0, dailyCancels: 0 });
    await ack(t.placeOrder, limit('BTC-USDT', 'Buy', 0.1, 19_000));
    t.close();
  });

  it('a damaged file stops the start (fail closed), naming the file and the key', () => {
    const backend = new MockTradingBackend({ referencePrices: { 'BTC-USDT': 20_000 } });
    const garbage = file();
    writeFileSync(garbage, '{"day": 19000, "orders": ');
    expect(() => tools(backend, garbage)).toThrow(new RegExp(`daily counts file ${garbage.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is not valid JSON`));
    const negative = file();
    writeFileSync(negative, JSON.stringify({ day: 19_000, orders: -5, cancels: 0 }));
    expect(() => tools(backend, negative)).toThrow(/daily counts file .*: orders: /);
  });

  it('a count that cannot be written stops the order before the venue (its folder removed after the start)', async () => {
    const backend = new MockTradingBackend({ referencePrices: { 'BTC-USDT': 20_000 }, now: () => T0 });
    const path = file();
    const t = tools(backend, path);
    rmSync(dirname(path), { recursive: true });
    const error = await rejection(t.placeOrder, limit('BTC-USDT', 'Buy', 0.1, 19_000));
    expect(error.message).toMatch(/daily counts not saved/);
    expect(backend.calls.placeOrder).toBe(0);
    expect(existsSync(path)).toBe(false);
    t.close();
  });

  // Issue 18 item 7: states the guard would silently read as a count of 0 fail the start instead.
  const escaped = (path: string) => path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

  it('a day after today fails the start naming the file and the key (a far future day, a day written in milliseconds)', () => {
    const backend = new MockTradingBackend({ referencePrices: { 'BTC-USDT': 20_000 } });
    const future = file();
    writeFileSync(future, JSON.stringify({ day: 99_999, orders: 100, cancels: 0 }));
    expect(() => tools(backend, future)).toThrow(new RegExp(`^daily counts file ${escaped(future)}: day: 99999 is after today \\(\\d+\\)`));
    const millis = file();
    writeFileSync(millis, JSON.stringify({ day: T0, orders: 100, cancels: 0 }));
    expect(() => tools(backend, millis)).toThrow(/day: 1672677900000 is after today \(\d+\) \(it looks like milliseconds/);
  });

  it('a duplicate key fails the start (JSON.parse would keep the last value, here 0)', () => {
    const backend = new MockTradingBackend({ referencePrices: { 'BTC-USDT': 20_000 } });
    const path = file();
    writeFileSync(path, `{"day":${Math.floor(T0 / DAY_MS)},"orders":100,"orders":0,"cancels":0}`);
    expect(() => tools(backend, path)).toThrow(new RegExp(`^daily counts file ${escaped(path)}: orders: written more than once`));
    const spelled = file();
    writeFileSync(spelled, `{"day":${Math.floor(T0 / DAY_MS)},"orders":100,"ord\\u0065rs":0,"cancels":0}`);
    expect(() => tools(backend, spelled)).toThrow(/orders: written more than once/);
  });

  it('a location where the count cannot be written fails the start, naming the file (not every order later)', () => {
    const backend = new MockTradingBackend({ referencePrices: { 'BTC-USDT': 20_000 } });
    const missing = join(tmpdir(), 'axon-no-such-dir', String(process.pid), 'daily-counts.json');
    expect(() => tools(backend, missing)).toThrow(new RegExp(`^daily counts file ${escaped(missing)}: its folder .* cannot be used \\(ENOENT\\)`));
    const notAFolder = file();
    writeFileSync(notAFolder, '');
    const inside = join(notAFolder, 'daily-counts.json');
    expect(() => tools(backend, inside)).toThrow(new RegExp(`^daily counts file ${escaped(inside)}: `));
    expect(backend.calls.placeOrder).toBe(0);
  });

  it('a day of today or earlier still loads (yesterday counts nothing today; today carries over)', () => {
    const backend = new MockTradingBackend({ referencePrices: { 'BTC-USDT': 20_000 } });
    const path = file();
    writeFileSync(path, JSON.stringify({ day: Math.floor(Date.now() / DAY_MS), orders: 2, cancels: 1 }));
    const t = createTradingTools({ backend, mode: 'Direct', risk: { maxDailyOrders: 3 }, logger: silentLogger, dailyCountsFile: path });
    expect(t.state()).toMatchObject({ dailyOrders: 2, dailyCancels: 1 });
    t.close();
  });
});
