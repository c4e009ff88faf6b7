// The order-rate throttle with a shared risk state (issues 15 + 16): `max_orders_per_second` holds
// for the ACCOUNT, not per process. Real tools instances, each on its own mock venue, trade one
// account through a real redis-server (random loopback port); the store's clock is injected and
// shared, so "within one second" is exact and nothing here waits for real time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { TradingToolsOptions } from '../ts/index';
import { ack, limit, rejection } from './harness';
import { RedisServer } from './support/redis-server';
import { sharedAccount, type SharedReplica } from './support/shared-account';

let redis: RedisServer;

beforeAll(async () => {
  redis = await RedisServer.start();
});

afterAll(async () => {
  await redis.stop();
});

const account = (risk: TradingToolsOptions['risk']) => sharedAccount(redis, 'throttle', risk);

type Replica = SharedReplica;

/** Every order message the venues received: places, replaces and cancels. */
const sent = (replicas: Replica[]): number => replicas.reduce((sum, r) => sum + r.backend.calls.placeOrder + r.backend.calls.replaceOrder + r.backend.calls.cancelOrder, 0);

/** A buy below the market: it rests, so it can be replaced and cancelled. */
const resting = limit('BTC-USDT', 'Buy', 0.01, 19_000);

const RISK = { allowedSymbols: ['BTC-USDT'], maxOrderNotional: 50_000, maxOrdersPerSecond: 5 };

describe('order-rate throttle on a shared risk state', () => {
  it('max_orders_per_second = 5 across three instances, 1,002 concurrent calls: exactly 5 orders reach the venues in one second, the next second admits again', async () => {
    const acct = account(RISK);
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
    const acct = account({ ...RISK, maxOrdersPerSecond: 3 });
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
