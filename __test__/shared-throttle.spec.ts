// The order-rate throttle with a shared risk state (issues 15 + 16): `max_orders_per_second` holds
// for the ACCOUNT, not per process. Real tools instances, each on its own mock venue, trade one
// account through a real redis-server (random loopback port); the store's clock is injected and
// shared, so "within one second" is exact and nothing here waits for real time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createTradingTools, jsonLineLogger, MockTradingBackend, TradingMetrics, type TradingToolsOptions } from '../ts/index';
import { RedisStateStore } from '../ts/state/redis-store';
import { ack, DAY_MS, limit, rejection, T0 } from './harness';
import { RedisServer } from './support/redis-server';

let redis: RedisServer;
let accounts = 0;

beforeAll(async () => {
  redis = await RedisServer.start();
});

afterAll(async () => {
  await redis.stop();
});

/** The account's clock (every replica's store reads it): today's UTC noon, so the day's keys live. */
class Clock {
  readonly start = Math.floor(Date.now() / DAY_MS) * DAY_MS + DAY_MS / 2;
  now = this.start;
  read = (): number => this.now;
}

/** One account; each `replica()` is a tools instance with its own venue and its own store connection. */
async function account(risk: TradingToolsOptions['risk']) {
  const name = `throttle-${++accounts}`;
  const clock = new Clock();
  const opened: RedisStateStore[] = [];
  const lines: string[] = [];
  const replica = async () => {
    const store = await RedisStateStore.open({ url: redis.url, account: name, nowMs: clock.read });
    opened.push(store);
    const backend = new MockTradingBackend({ referencePrices: { 'BTC-USDT': 20_000 }, now: () => T0 });
    const logger = jsonLineLogger({ level: 'warn', write: (line) => lines.push(line) });
    const tools = createTradingTools({ mode: 'Direct', clockStartMs: T0, risk, backend, logger, metrics: new TradingMetrics(), state: store });
    return { tools, backend, store };
  };
  // Settles are reported after the answer: closed once they landed (no reservation left), so no report is cut off.
  const close = async () => {
    const observer = opened[0];
    while (observer !== undefined && (await observer.snapshot()).reservations.length > 0) await new Promise((resolve) => setTimeout(resolve, 5));
    await Promise.all(opened.map((store) => store.close()));
    expect(lines.filter((line) => line.includes('STATE_UNAVAILABLE'))).toEqual([]);
  };
  return { clock, replica, close };
}

type Replica = Awaited<ReturnType<Awaited<ReturnType<typeof account>>['replica']>>;

/** Every order message the venues received: places, replaces and cancels. */
const sent = (replicas: Replica[]): number => replicas.reduce((sum, r) => sum + r.backend.calls.placeOrder + r.backend.calls.replaceOrder + r.backend.calls.cancelOrder, 0);

/** A buy below the market: it rests, so it can be replaced and cancelled. */
const resting = limit('BTC-USDT', 'Buy', 0.01, 19_000);

const RISK = { allowedSymbols: ['BTC-USDT'], maxOrderNotional: 50_000, maxOrdersPerSecond: 5 };

describe('order-rate throttle on a shared risk state', () => {
  it('max_orders_per_second = 5 across three instances, 1,002 concurrent calls: exactly 5 orders reach the venues in one second, the next second admits again', async () => {
    const acct = await account(RISK);
    const replicas = [await acct.replica(), await acct.replica(), await acct.replica()];
    // 3 x 334 concurrent calls: 1,002 in flight at once against the account's one window.
    const burst = () => Promise.all(replicas.flatMap((r) => Array.from({ length: 334 }, () => r.tools.placeOrder.call(resting))));

    const first = await burst();
    expect(first.filter((r) => r.ok)).toHaveLength(5);
    expect(sent(replicas)).toBe(5);
    const refusals = first.flatMap((r) => (r.ok ? [] : [r.error]));
    expect(refusals).toHaveLength(997);
    for (const error of refusals) {
      expect([error.code, error.source, error.message]).toEqual(['RATE_LIMITED', 'RiskLimits', 'RiskLimits: 6 orders in 1 s exceeds max_orders_per_second 5']);
    }

    // Just inside the same second of the shared clock: still full, on every instance.
    acct.clock.now = acct.clock.start + 999;
    for (const r of replicas) expect((await rejection(r.tools.placeOrder, resting)).code).toBe('RATE_LIMITED');
    expect(sent(replicas)).toBe(5);

    // The next second: the first five left the window, five more pass and no more.
    acct.clock.now = acct.clock.start + 1_000;
    const second = await burst();
    expect(second.filter((r) => r.ok)).toHaveLength(5);
    expect(sent(replicas)).toBe(10);
    await acct.close();
  });

  it("replaces and cancels count in the account's window too: one instance's sends refuse another's place", async () => {
    const acct = await account({ ...RISK, maxOrdersPerSecond: 3 });
    const [a, b] = [await acct.replica(), await acct.replica()];
    const placed = await ack(a.tools.placeOrder, resting);
    const id = placed.order_id as string;
    expect((await ack(a.tools.replaceOrder, `{"order_id":"${id}","price":19001}`)).status).toBe('Replaced');
    await ack(a.tools.cancelOrder, `{"order_id":"${id}"}`);
    // Three sends on A within the second: B's place is refused, worded as the local throttle words it.
    const refused = await rejection(b.tools.placeOrder, resting);
    expect([refused.code, refused.message]).toEqual(['RATE_LIMITED', 'RiskLimits: 4 orders in 1 s exceeds max_orders_per_second 3']);
    expect(sent([a, b])).toBe(3);
    // The next second of the shared clock admits it.
    acct.clock.now = acct.clock.start + 1_000;
    await ack(b.tools.placeOrder, resting);
    expect(b.backend.calls.placeOrder).toBe(1);
    expect(sent([a, b])).toBe(4);
    await acct.close();
  });
});
