// The duplicate-order window and the open-order count with a shared risk state (issues 15 + 16):
// `duplicate_window_ms` and `max_open_orders` hold for the ACCOUNT, not per process. Real tools instances, each on its own mock venue, trade one
// account through a real redis-server (random loopback port); the store's clock is injected and
// shared, so "within the window" is exact and nothing here waits for real time.
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

const account = (risk: TradingToolsOptions['risk']) => sharedAccount(redis, 'dupes', risk);

type Replica = SharedReplica;

const placed = (replicas: Replica[]): number => replicas.reduce((sum, r) => sum + r.backend.calls.placeOrder, 0);

/** A buy below the market: it rests. */
const order = limit('BTC-USDT', 'Buy', 0.01, 19_000);
const duplicateText = (ageMs: number) => `RiskLimits: the same order (BTC-USDT Buy Limit 0.01 @ 19000) was sent ${ageMs} ms ago, within duplicate_window_ms 5000`;

const RISK = { allowedSymbols: ['BTC-USDT'], maxOrderNotional: 50_000, duplicateWindowMs: 5_000 };

describe('duplicate-order window on a shared risk state', () => {
  it('the same order from three instances, 300 concurrent calls: exactly one reaches a venue; the window ends for every instance at once', async () => {
    const acct = account(RISK);
    const replicas = [await acct.replica(), await acct.replica(), await acct.replica()];
    const results = await Promise.all(replicas.flatMap((r) => Array.from({ length: 100 }, () => r.tools.placeOrder.call(order))));
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(placed(replicas)).toBe(1);
    const refusals = results.flatMap((r) => (r.ok ? [] : [r.error]));
    expect(refusals).toHaveLength(299);
    for (const error of refusals) expect([error.code, error.source, error.message]).toEqual(['DUPLICATE_ORDER', 'RiskLimits', duplicateText(0)]);

    // The model repeats itself after a timeout, on any instance: just inside the window, refused.
    acct.clock.now = acct.clock.start + 4_999;
    for (const r of replicas) {
      const refused = await rejection(r.tools.placeOrder, order);
      expect([refused.code, refused.message]).toEqual(['DUPLICATE_ORDER', duplicateText(4_999)]);
    }
    // Another price is another order: it passes at once.
    await ack(replicas[1]!.tools.placeOrder, limit('BTC-USDT', 'Buy', 0.01, 19_001));
    expect(placed(replicas)).toBe(2);
    // Just outside (t0 + 5000): the same order passes once more, on one instance, and not twice.
    acct.clock.now = acct.clock.start + 5_000;
    await ack(replicas[2]!.tools.placeOrder, order);
    expect((await rejection(replicas[0]!.tools.placeOrder, order)).code).toBe('DUPLICATE_ORDER');
    expect(placed(replicas)).toBe(3);
    await acct.close();
  });

  it("an order one instance's venue definitely rejected never existed: another instance may send it at once; a timeout keeps it", async () => {
    const acct = account(RISK);
    const [a, b] = [await acct.replica(), await acct.replica()];
    a.backend.injectFailure('placeOrder', 'rejected');
    expect((await rejection(a.tools.placeOrder, order)).code).not.toBe('DUPLICATE_ORDER');
    await acct.settled();
    await ack(b.tools.placeOrder, order);
    // b's venue accepted it: a previous order for a too.
    expect((await rejection(a.tools.placeOrder, order)).code).toBe('DUPLICATE_ORDER');

    // A timeout (unknown outcome: it may rest) keeps the order a previous one, for every instance.
    const other = limit('BTC-USDT', 'Buy', 0.02, 19_000);
    a.backend.injectFailure('placeOrder', 'timeout');
    await a.tools.placeOrder.call(other);
    const refused = await rejection(b.tools.placeOrder, other);
    expect([refused.code, refused.message]).toEqual(['DUPLICATE_ORDER', 'RiskLimits: the same order (BTC-USDT Buy Limit 0.02 @ 19000) was sent 0 ms ago, within duplicate_window_ms 5000']);
    acct.clock.now = acct.clock.start + 20_001; // past the unknown order's lease, so close() finds none left
    await acct.close();
  });
});

describe('open-order count on a shared risk state', () => {
  it('max_open_orders = 5 across three instances, 300 concurrent resting orders: exactly 5 reach the venues; a cancel on one instance frees a slot for another', async () => {
    const acct = account({ allowedSymbols: ['BTC-USDT'], maxOrderNotional: 50_000, maxOpenOrders: 5 });
    const replicas = [await acct.replica(), await acct.replica(), await acct.replica()];
    const results = await Promise.all(replicas.flatMap((r) => Array.from({ length: 100 }, () => r.tools.placeOrder.call(order))));
    expect(results.filter((r) => r.ok)).toHaveLength(5);
    expect(placed(replicas)).toBe(5);
    const refusals = results.flatMap((r) => (r.ok ? [] : [r.error]));
    expect(refusals).toHaveLength(295);
    for (const error of refusals) {
      expect([error.code, error.source]).toEqual(['MAX_OPEN_ORDERS', 'RiskLimits']);
      expect(error.message).toMatch(/^RiskLimits: open orders on 'BTC-USDT' would be 6, max_open_orders 5 \(/);
    }
    await acct.settled();
    // All five rest now, on whichever venues: every instance is refused, the count names them resting.
    for (const r of replicas) {
      const refused = await rejection(r.tools.placeOrder, order);
      expect(refused.code).toBe('MAX_OPEN_ORDERS');
    }
    const holder = replicas.find((r) => r.backend.calls.placeOrder > 0)!;
    const other = replicas.find((r) => r !== holder)!;
    const id = holder.backend.openOrders()[0]!.orderId;
    await ack(holder.tools.cancelOrder, `{"order_id":"${id}"}`);
    // The close is reported to the store after the answer: wait until its resting buy is gone.
    while (Math.abs(((await holder.store.snapshot()).exposure['BTC-USDT']?.restingBuy ?? 0) - 0.04) > 1e-9) await new Promise((resolve) => setTimeout(resolve, 5));
    await ack(other.tools.placeOrder, order);
    expect((await rejection(other.tools.placeOrder, order)).code).toBe('MAX_OPEN_ORDERS');
    expect(placed(replicas)).toBe(6);
    await acct.close();
  });
});
