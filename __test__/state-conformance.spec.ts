// The Redis store's contract, scenario by scenario, on a real redis-server: these scenarios are the
// Lua script's spec (the in-process state is the Rust chain's own; the tool-level conformance spec,
// __test__/state-tools-conformance.spec.ts, runs the same scenarios through the tools in memory
// and redis mode). Time comes from an injected clock (UTC midnight, leases, cooldowns, token
// TTLs) — nothing here waits.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { StateConfigError } from '../ts/state/errors';
import { RedisStateStore } from '../ts/state/redis-store';
import type { BreakerConfig, PlaceRequest, PlaceVerdict, Reservation, RiskStateStore } from '../ts/state/store';
import { DAY_MS } from '../ts/state/store';
import { RedisServer } from './support/redis-server';

/**
 * Today's 12:00 UTC: the store's keys expire by the store's day (the end of the next day), so a
 * clock fixed on a past date would see Redis drop what it just wrote.
 */
const TODAY_START = Math.floor(Date.now() / DAY_MS) * DAY_MS;
const NOON = TODAY_START + DAY_MS / 2;

class Clock {
  constructor(public now: number) {}
  read = (): number => this.now;
}

let redis: RedisServer;
let accounts = 0;

beforeAll(async () => {
  redis = await RedisServer.start();
});

afterAll(async () => {
  await redis.stop();
});

type Factory = (clock: Clock) => Promise<RiskStateStore>;

const factories: [string, Factory][] = [
  ['redis', (clock) => RedisStateStore.open({ url: redis.url, account: `acct-${++accounts}`, keyPrefix: 'conf:', nowMs: clock.read })],
];

function place(overrides: Partial<PlaceRequest> = {}): PlaceRequest {
  return { symbol: 'BTCUSDT', side: 'buy', quantity: 1, limits: {}, breaker: {}, ...overrides };
}

function granted(verdict: PlaceVerdict): Reservation {
  if (!verdict.ok) throw new Error(`expected a grant, got ${verdict.reason} ${JSON.stringify(verdict.numbers)}`);
  return verdict.reservation;
}

describe.each(factories)('%s store', (_name, open) => {
  async function withStore(body: (store: RiskStateStore, clock: Clock) => Promise<void>): Promise<void> {
    const clock = new Clock(NOON);
    const store = await open(clock);
    try {
      await body(store, clock);
    } finally {
      await store.close();
    }
  }

  it('grants exactly maxDailyOrders a day; a definite rejection gives the slot back, an unknown outcome keeps it', () =>
    withStore(async (store) => {
      const limits = { maxDailyOrders: 3 };
      const first = granted(await store.reservePlace(place({ limits })));
      granted(await store.reservePlace(place({ limits })));
      const third = granted(await store.reservePlace(place({ limits })));
      expect(await store.reservePlace(place({ limits }))).toEqual({ ok: false, reason: 'MAX_DAILY_ORDERS', numbers: { wouldBe: 4, limit: 3 } });
      expect(await store.settle(first, { kind: 'rejected' })).toBe('settled');
      expect((await store.snapshot()).dailyOrders).toBe(2);
      const fourth = granted(await store.reservePlace(place({ limits })));
      expect(await store.settle(third, { kind: 'unknown' })).toBe('settled');
      expect(await store.settle(fourth, { kind: 'accepted', orderId: 'o-4', filledQuantity: 1, restingQuantity: 0 })).toBe('settled');
      expect((await store.snapshot()).dailyOrders).toBe(3);
      expect((await store.reservePlace(place({ limits }))).ok).toBe(false);
    }));

  it('counts per UTC day: a new day starts at 0 and a slot from yesterday released today changes nothing', () =>
    withStore(async (store, clock) => {
      const limits = { maxDailyOrders: 2 };
      clock.now = TODAY_START + DAY_MS - 1;
      const yesterday = granted(await store.reservePlace(place({ limits })));
      granted(await store.reservePlace(place({ limits })));
      expect((await store.reservePlace(place({ limits }))).ok).toBe(false);
      clock.now = TODAY_START + DAY_MS;
      const today = granted(await store.reservePlace(place({ limits })));
      expect(today.day).toBe(yesterday.day + 1);
      expect(await store.settle(yesterday, { kind: 'rejected' })).toBe('settled');
      const snap = await store.snapshot();
      expect(snap.day).toBe(Math.floor(clock.now / DAY_MS));
      expect(snap.dailyOrders).toBe(1);
    }));

  it('exposure = position + resting + in flight per side, |projected| <= maxPositionAbs', () =>
    withStore(async (store) => {
      const limits = { maxPositionAbs: 10 };
      const buy6 = granted(await store.reservePlace(place({ quantity: 6, limits })));
      expect(await store.reservePlace(place({ quantity: 5, limits }))).toEqual({ ok: false, reason: 'MAX_POSITION_ABS', numbers: { projected: 11, limit: 10 } });
      // The sell side does not count the buys in flight: -9 is within 10.
      const sell9 = granted(await store.reservePlace(place({ side: 'sell', quantity: 9, limits })));
      await store.settle(sell9, { kind: 'rejected' });
      // 2 filled at once, 4 resting: exposure on the buy side stays 6.
      await store.settle(buy6, { kind: 'accepted', orderId: 'o-1', filledQuantity: 2, restingQuantity: 4 });
      expect((await store.snapshot()).exposure.BTCUSDT).toEqual({ position: 2, restingBuy: 4, restingSell: 0, inflightBuy: 0, inflightSell: 0 });
      expect((await store.reservePlace(place({ quantity: 4.5, limits }))).ok).toBe(false);
      await store.orderProgress({ orderId: 'o-1', filledQuantity: 1, closed: true });
      // position 3, the 3 resting are gone: 3 + 7 = 10 fits, 10.5 would not.
      expect((await store.snapshot()).exposure.BTCUSDT).toEqual({ position: 3, restingBuy: 0, restingSell: 0, inflightBuy: 0, inflightSell: 0 });
      expect(await store.reservePlace(place({ quantity: 7.5, limits }))).toEqual({ ok: false, reason: 'MAX_POSITION_ABS', numbers: { projected: 10.5, limit: 10 } });
      granted(await store.reservePlace(place({ quantity: 7, limits })));
      // A sell of 13 from position 3 projects -10: allowed; 13.5 is not.
      expect((await store.reservePlace(place({ side: 'sell', quantity: 13.5, limits }))).ok).toBe(false);
      granted(await store.reservePlace(place({ side: 'sell', quantity: 13, limits })));
    }));

  it('an unknown outcome keeps the exposure until the lease ends; then the lease releases it and the slot stays counted', () =>
    withStore(async (store, clock) => {
      const limits = { maxPositionAbs: 5, maxDailyOrders: 10 };
      const held = granted(await store.reservePlace(place({ quantity: 5, limits, leaseMs: 1_000 })));
      expect(held.leaseUntilMs).toBe(NOON + 1_000);
      await store.settle(held, { kind: 'unknown' });
      expect((await store.reservePlace(place({ quantity: 1, limits }))).ok).toBe(false);
      clock.now = NOON + 999;
      expect((await store.snapshot()).reservations.map((r) => r.id)).toEqual([held.id]);
      clock.now = NOON + 1_000;
      const snap = await store.snapshot();
      expect(snap.reservations).toEqual([]);
      expect(snap.exposure.BTCUSDT?.inflightBuy).toBe(0);
      expect(snap.dailyOrders).toBe(1); // the refused one took no slot
      // Too late to give the slot back: the lease already decided (fail closed).
      expect(await store.settle(held, { kind: 'rejected' })).toBe('expired');
      expect((await store.snapshot()).dailyOrders).toBe(1);
      granted(await store.reservePlace(place({ quantity: 5, limits })));
    }));

  it('sells: partial fills move resting exposure to the position; a late ack after an unknown outcome settles it', () =>
    withStore(async (store) => {
      const limits = { maxPositionAbs: 10, maxDailyOrders: 5 };
      const sell = granted(await store.reservePlace(place({ side: 'sell', quantity: 8, limits })));
      expect(await store.settle(sell, { kind: 'unknown' })).toBe('settled');
      // The venue answers later after all: the ack settles the same reservation.
      expect(await store.settle(sell, { kind: 'accepted', orderId: 's-1', filledQuantity: 0, restingQuantity: 8 })).toBe('settled');
      await store.orderProgress({ orderId: 's-1', filledQuantity: 3, closed: false });
      await store.orderProgress({ orderId: 's-1', filledQuantity: 2.5, closed: false });
      expect((await store.snapshot()).exposure.BTCUSDT).toEqual({ position: -5.5, restingBuy: 0, restingSell: 2.5, inflightBuy: 0, inflightSell: 0 });
      // Sell side counts what rests: -5.5 - 2.5 - 2.5 = -10.5, refused; a buy of 16 projects -5.5 + 16 = 10.5, refused.
      expect((await store.reservePlace(place({ side: 'sell', quantity: 2.5, limits }))).ok).toBe(false);
      expect(await store.reservePlace(place({ quantity: 16, limits }))).toEqual({ ok: false, reason: 'MAX_POSITION_ABS', numbers: { projected: 10.5, limit: 10 } });
      // A fill larger than what rests moves only what rests; an unknown order id changes nothing.
      await store.orderProgress({ orderId: 's-1', filledQuantity: 99, closed: false });
      await store.orderProgress({ orderId: 'nope', filledQuantity: 1, closed: true });
      expect((await store.snapshot()).exposure.BTCUSDT).toEqual({ position: -8, restingBuy: 0, restingSell: 0, inflightBuy: 0, inflightSell: 0 });
      expect((await store.snapshot()).dailyOrders).toBe(1);
    }));

  it('a request repeated with the same reservationId reserves once', () =>
    withStore(async (store) => {
      const limits = { maxDailyOrders: 5, maxPositionAbs: 10 };
      const first = granted(await store.reservePlace(place({ quantity: 4, limits, reservationId: 'retry-1' })));
      const again = granted(await store.reservePlace(place({ quantity: 4, limits, reservationId: 'retry-1' })));
      expect(again).toEqual(first);
      const snap = await store.snapshot();
      expect(snap.dailyOrders).toBe(1);
      expect(snap.exposure.BTCUSDT?.inflightBuy).toBe(4);
    }));

  it('rejection breaker: opens after threshold risk refusals, blocks before the limits, one HalfOpen trial, reset for all', () =>
    withStore(async (store, clock) => {
      const breaker: BreakerConfig = { rejection: { threshold: 3, cooldownMs: 1_000 } };
      const full = { maxDailyOrders: 0 };
      // A pass clears the streak: 2 refusals, a grant, 2 refusals stay Closed.
      for (let i = 0; i < 2; i++) expect((await store.reservePlace(place({ limits: full, breaker }))).ok).toBe(false);
      granted(await store.reservePlace(place({ breaker })));
      expect((await store.snapshot()).breaker.streak).toBe(0);
      await store.recordRiskRejection(breaker); // a static refusal decided by the core (notional)
      expect((await store.reservePlace(place({ limits: full, breaker }))).ok).toBe(false);
      expect((await store.snapshot()).breaker.state).toBe('Closed');
      expect(await store.reservePlace(place({ limits: full, breaker }))).toMatchObject({ reason: 'MAX_DAILY_ORDERS' });
      expect((await store.snapshot()).breaker).toEqual({ state: 'Open', streak: 3, openUntilMs: NOON + 1_000, openings: 1 });
      clock.now = NOON + 400;
      expect(await store.reservePlace(place({ breaker }))).toEqual({ ok: false, reason: 'CIRCUIT_BREAKER_OPEN', numbers: { rejections: 3, cooldownRemainingMs: 600 } });
      // HalfOpen: the trial is refused by the limits -> Open again; the next call is blocked by the breaker.
      clock.now = NOON + 1_000;
      expect((await store.snapshot()).breaker.state).toBe('HalfOpen');
      expect(await store.reservePlace(place({ limits: full, breaker }))).toMatchObject({ reason: 'MAX_DAILY_ORDERS' });
      expect(await store.reservePlace(place({ breaker }))).toMatchObject({ reason: 'CIRCUIT_BREAKER_OPEN' });
      expect((await store.snapshot()).breaker).toMatchObject({ state: 'Open', openings: 2, openUntilMs: NOON + 2_000 });
      // HalfOpen again: a trial that passes closes it; the next calls pass.
      clock.now = NOON + 2_000;
      granted(await store.reservePlace(place({ breaker })));
      expect((await store.snapshot()).breaker).toMatchObject({ state: 'Closed', streak: 0 });
      for (let i = 0; i < 3; i++) await store.recordRiskRejection(breaker);
      expect((await store.snapshot()).breaker.state).toBe('Open');
      await store.resetBreaker();
      expect((await store.snapshot()).breaker).toMatchObject({ state: 'Closed', streak: 0 });
      granted(await store.reservePlace(place({ breaker })));
    }));

  it('PnL breaker: blocks while today\'s PnL is below the floor, a new UTC day starts at 0', () =>
    withStore(async (store, clock) => {
      const breaker: BreakerConfig = { pnlFloor: -100 };
      await store.recordDailyPnl(-100);
      granted(await store.reservePlace(place({ breaker })));
      await store.recordDailyPnl(-100.5);
      expect(await store.reservePlace(place({ breaker }))).toEqual({ ok: false, reason: 'PNL_BREAKER_OPEN', numbers: { dailyPnl: -100.5, floor: -100 } });
      clock.now = NOON + DAY_MS;
      expect((await store.snapshot()).dailyPnl).toBeUndefined();
      granted(await store.reservePlace(place({ breaker })));
    }));

  it('TwoPhase tokens: redeemable once, bound to the fields hash, expiring by TTL, bounded', () =>
    withStore(async (store, clock) => {
      const proposal = { symbol: 'BTCUSDT', side: 'buy' as const, quantity: 1, limits: {}, breaker: {}, fieldsHash: 'h-1', ttlMs: 5_000 };
      const issued = await store.proposePlace(proposal);
      if (!issued.ok) throw new Error(issued.reason);
      expect(issued.expiresAtMs).toBe(NOON + 5_000);
      expect((await store.snapshot()).dailyOrders).toBe(0); // a proposal reserves nothing
      granted(await store.reservePlace(place({ token: { redeem: issued.token, fieldsHash: 'h-1' } })));
      expect(await store.reservePlace(place({ token: { redeem: issued.token, fieldsHash: 'h-1' } }))).toEqual({ ok: false, reason: 'CONFIRM_TOKEN_INVALID', numbers: {} });
      // Other fields: refused, and the token is void.
      const second = await store.proposePlace(proposal);
      if (!second.ok) throw new Error(second.reason);
      expect(await store.reservePlace(place({ token: { redeem: second.token, fieldsHash: 'h-2' } }))).toEqual({ ok: false, reason: 'CONFIRM_ARGS_MISMATCH', numbers: {} });
      expect((await store.reservePlace(place({ token: { redeem: second.token, fieldsHash: 'h-1' } }))).ok).toBe(false);
      const third = await store.proposePlace(proposal);
      if (!third.ok) throw new Error(third.reason);
      clock.now = NOON + 5_250;
      expect(await store.reservePlace(place({ token: { redeem: third.token, fieldsHash: 'h-1' } }))).toEqual({ ok: false, reason: 'CONFIRM_TOKEN_EXPIRED', numbers: { expiredMsAgo: 250, ttlMs: 5_000 } });
      // Bounded: two pending is the limit; expired ones are purged before refusing.
      expect((await store.proposePlace({ ...proposal, maxPending: 2 })).ok).toBe(true);
      expect((await store.proposePlace({ ...proposal, maxPending: 2 })).ok).toBe(true);
      expect(await store.proposePlace({ ...proposal, maxPending: 2 })).toEqual({ ok: false, reason: 'PENDING_CONFIRM_LIMIT', numbers: { pending: 2 } });
      clock.now += 5_000;
      expect((await store.proposePlace({ ...proposal, maxPending: 2 })).ok).toBe(true);
    }));

  it('a proposal is checked like an order: limits refuse it and move the breaker', () =>
    withStore(async (store) => {
      const breaker: BreakerConfig = { rejection: { threshold: 1, cooldownMs: 60_000 } };
      const refused = await store.proposePlace({ symbol: 'ETHUSDT', side: 'sell', quantity: 3, limits: { maxPositionAbs: 2 }, breaker, fieldsHash: 'h' });
      expect(refused).toEqual({ ok: false, reason: 'MAX_POSITION_ABS', numbers: { projected: -3, limit: 2 } });
      expect(await store.proposePlace({ symbol: 'ETHUSDT', side: 'sell', quantity: 1, limits: {}, breaker, fieldsHash: 'h' })).toMatchObject({ reason: 'CIRCUIT_BREAKER_OPEN' });
    }));

  it('daily cancels: limited per day, a definite rejection gives the slot back, never touch the breaker', () =>
    withStore(async (store) => {
      const first = granted(await store.reserveCancel({ limits: { maxDailyCancels: 1 } }));
      expect(first.kind).toBe('cancel');
      expect(await store.reserveCancel({ limits: { maxDailyCancels: 1 } })).toEqual({ ok: false, reason: 'MAX_DAILY_CANCELS', numbers: { wouldBe: 2, limit: 1 } });
      await store.settle(first, { kind: 'rejected' });
      granted(await store.reserveCancel({ limits: { maxDailyCancels: 1 } }));
      expect((await store.snapshot()).breaker.streak).toBe(0);
      expect((await store.snapshot()).dailyCancels).toBe(1);
    }));

  it('order-rate throttle: one sliding second per account over places, replaces and cancels, boundary just inside / just outside', () =>
    withStore(async (store, clock) => {
      const limits = { maxOrdersPerSecond: 3 };
      // t0: a place, t0+400: a replace's growth (no daily slot), t0+999: a cancel -> 3 sends.
      granted(await store.reservePlace(place({ limits, reservationId: 'p-1' })));
      clock.now = NOON + 400;
      granted(await store.reservePlace(place({ quantity: 0, dailySlot: false, limits, reservationId: 'r-1' })));
      clock.now = NOON + 999;
      granted(await store.reserveCancel({ limits, reservationId: 'c-1' }));
      // A retried request (same reservation id, still live) is the same grant, not a 4th send.
      granted(await store.reservePlace(place({ limits, reservationId: 'p-1' })));
      // Just inside the second of the first send (t0 + 999): the 4th is refused, for a cancel too.
      expect(await store.reservePlace(place({ limits, reservationId: 'p-2' }))).toEqual({ ok: false, reason: 'RATE_LIMITED', numbers: { wouldBe: 4, windowMs: 1000, limit: 3 } });
      expect(await store.reserveCancel({ limits, reservationId: 'c-2' })).toEqual({ ok: false, reason: 'RATE_LIMITED', numbers: { wouldBe: 4, windowMs: 1000, limit: 3 } });
      // A proposal is checked against the window and takes nothing.
      expect(await store.proposePlace({ symbol: 'BTCUSDT', side: 'buy', quantity: 1, limits, breaker: {}, fieldsHash: 'h' })).toMatchObject({ ok: false, reason: 'RATE_LIMITED' });
      // Just outside (t0 + 1000): the first send left the window; one more fits, then it is full again.
      clock.now = NOON + 1_000;
      granted(await store.reservePlace(place({ limits, reservationId: 'p-3' })));
      expect(await store.reservePlace(place({ limits, reservationId: 'p-4' }))).toMatchObject({ ok: false, reason: 'RATE_LIMITED', numbers: { wouldBe: 4 } });
      expect((await store.snapshot()).dailyOrders).toBe(2);
    }));

  it('order-rate throttle: the minute window is checked first; a place refusal moves the breaker, a cancel refusal does not', () =>
    withStore(async (store, clock) => {
      const breaker: BreakerConfig = { rejection: { threshold: 2, cooldownMs: 60_000 } };
      const limits = { maxOrdersPerSecond: 1, maxOrdersPerMinute: 2 };
      granted(await store.reservePlace(place({ limits, breaker })));
      clock.now = NOON + 30_000;
      granted(await store.reservePlace(place({ limits, breaker })));
      clock.now = NOON + 59_999;
      expect(await store.reserveCancel({ limits })).toEqual({ ok: false, reason: 'RATE_LIMITED', numbers: { wouldBe: 3, windowMs: 60_000, limit: 2 } });
      expect((await store.snapshot()).breaker.streak).toBe(0);
      expect(await store.reservePlace(place({ limits, breaker }))).toEqual({ ok: false, reason: 'RATE_LIMITED', numbers: { wouldBe: 3, windowMs: 60_000, limit: 2 } });
      expect((await store.snapshot()).breaker).toMatchObject({ state: 'Closed', streak: 1 });
      // t0 + 60 s: the first send is out of the minute; the second (30 s ago) is not in the last second.
      clock.now = NOON + 60_000;
      granted(await store.reservePlace(place({ limits, breaker })));
      expect((await store.snapshot()).breaker.streak).toBe(0);
      // Without limits nothing is counted or refused.
      granted(await store.reservePlace(place()));
    }));

  it('duplicate window: the same order key within the window is refused for the account, just inside / just outside; a retry is the same grant', () =>
    withStore(async (store, clock) => {
      const breaker: BreakerConfig = { rejection: { threshold: 5, cooldownMs: 60_000 } };
      const same = { key: 'a'.repeat(64), windowMs: 5_000 };
      granted(await store.reservePlace(place({ duplicate: same, breaker, reservationId: 'p-1' })));
      // A retried request (same live reservation id) is the same grant, not its own duplicate.
      clock.now = NOON + 4_999;
      expect(granted(await store.reservePlace(place({ duplicate: same, breaker, reservationId: 'p-1' }))).id).toBe('p-1');
      // Just inside the window: refused with the numbers the chain words it with; the streak moves.
      expect(await store.reservePlace(place({ duplicate: same, breaker, reservationId: 'p-2' }))).toEqual({ ok: false, reason: 'DUPLICATE_ORDER', numbers: { ageMs: 4_999, windowMs: 5_000 } });
      expect((await store.snapshot()).breaker.streak).toBe(1);
      // A proposal is checked against it, and records nothing: another key's proposal leaves that key free.
      expect(await store.proposePlace({ symbol: 'BTCUSDT', side: 'buy', quantity: 1, limits: {}, breaker: {}, fieldsHash: 'h', duplicate: same })).toMatchObject({ ok: false, reason: 'DUPLICATE_ORDER' });
      const other = { key: 'b'.repeat(64), windowMs: 5_000 };
      expect(await store.proposePlace({ symbol: 'BTCUSDT', side: 'buy', quantity: 1, limits: {}, breaker: {}, fieldsHash: 'h', duplicate: other })).toMatchObject({ ok: true });
      granted(await store.reservePlace(place({ duplicate: other, breaker, reservationId: 'b-1' })));
      expect((await store.snapshot()).breaker.streak).toBe(0);
      // Just outside (t0 + 5000): the first grant left the window.
      clock.now = NOON + 5_000;
      granted(await store.reservePlace(place({ duplicate: same, reservationId: 'p-3' })));
      expect((await store.snapshot()).dailyOrders).toBe(3);
    }));

  it('duplicate window: a definite rejection forgets the order, an unknown outcome keeps it, an older rejection does not forget a later grant', () =>
    withStore(async (store, clock) => {
      const same = { key: 'c'.repeat(64), windowMs: 5_000 };
      const first = granted(await store.reservePlace(place({ duplicate: same, reservationId: 'p-1' })));
      expect(await store.settle(first, { kind: 'rejected' })).toBe('settled');
      // The venue rejected it: it never existed, so the same order passes at once.
      const second = granted(await store.reservePlace(place({ duplicate: same, reservationId: 'p-2' })));
      expect(await store.settle(second, { kind: 'unknown' })).toBe('settled');
      clock.now = NOON + 10;
      expect(await store.reservePlace(place({ duplicate: same, reservationId: 'p-3' }))).toEqual({ ok: false, reason: 'DUPLICATE_ORDER', numbers: { ageMs: 10, windowMs: 5_000 } });
      // p-2 (unknown, still leased) is out of the window at t0 + 5000; p-4 is granted, then p-2's
      // late definite rejection must not forget p-4.
      clock.now = NOON + 5_000;
      granted(await store.reservePlace(place({ duplicate: same, reservationId: 'p-4' })));
      expect(await store.settle(second, { kind: 'rejected' })).toBe('settled');
      clock.now = NOON + 5_001;
      expect(await store.reservePlace(place({ duplicate: same, reservationId: 'p-5' }))).toEqual({ ok: false, reason: 'DUPLICATE_ORDER', numbers: { ageMs: 1, windowMs: 5_000 } });
      // A bad key is a request error naming the field, and nothing is reserved.
      const before = (await store.snapshot()).dailyOrders;
      await expect(store.reservePlace(place({ duplicate: { key: 'not-hex', windowMs: 5_000 } }))).rejects.toThrow(/duplicate\.key/);
      expect((await store.snapshot()).dailyOrders).toBe(before);
    }));

  it('open orders: resting + live new-order reservations of the symbol, per account; settle rules as the chain', () =>
    withStore(async (store, clock) => {
      const breaker: BreakerConfig = { rejection: { threshold: 5, cooldownMs: 60_000 } };
      const limits = { maxOpenOrders: 2 };
      const resting = granted(await store.reservePlace(place({ limits, breaker, reservationId: 'p-1' })));
      const inflight = granted(await store.reservePlace(place({ limits, breaker, reservationId: 'p-2' })));
      expect(await store.settle(resting, { kind: 'accepted', orderId: 'o-1', filledQuantity: 0, restingQuantity: 1 })).toBe('settled');
      // A retry is the same grant; a third order is refused with the chain's numbers; the streak moves.
      expect(granted(await store.reservePlace(place({ limits, breaker, reservationId: 'p-2' }))).id).toBe('p-2');
      expect(await store.reservePlace(place({ limits, breaker, reservationId: 'p-3' }))).toEqual({ ok: false, reason: 'MAX_OPEN_ORDERS', numbers: { wouldBe: 3, limit: 2, resting: 1, inflight: 1, uncertain: 0 } });
      expect((await store.snapshot()).breaker.streak).toBe(1);
      // Another symbol has its own count; a replace's growth is no new order; a proposal is checked.
      granted(await store.reservePlace(place({ symbol: 'ETHUSDT', limits, reservationId: 'e-1' })));
      granted(await store.reservePlace(place({ quantity: 0, dailySlot: false, limits, reservationId: 'r-1' })));
      expect(await store.proposePlace({ symbol: 'BTCUSDT', side: 'buy', quantity: 1, limits, breaker: {}, fieldsHash: 'h' })).toMatchObject({ ok: false, reason: 'MAX_OPEN_ORDERS' });
      // A definite rejection releases its slot; a fill that leaves nothing resting too.
      expect(await store.settle(inflight, { kind: 'rejected' })).toBe('settled');
      const filled = granted(await store.reservePlace(place({ limits, reservationId: 'p-4' })));
      expect(await store.settle(filled, { kind: 'accepted', orderId: 'o-4', filledQuantity: 1, restingQuantity: 0 })).toBe('settled');
      const unknown = granted(await store.reservePlace(place({ limits, reservationId: 'p-5' })));
      expect(unknown.id).toBe('p-5');
      // Unknown outcome: counted while its lease lives (it may rest).
      expect(await store.reservePlace(place({ limits, reservationId: 'p-6' }))).toMatchObject({ ok: false, reason: 'MAX_OPEN_ORDERS', numbers: { resting: 1, inflight: 1 } });
      // The resting order closes (cancelled or filled): its slot is free.
      await store.orderProgress({ orderId: 'o-1', filledQuantity: 0, closed: true });
      clock.now = NOON + 1;
      granted(await store.reservePlace(place({ limits, reservationId: 'p-7' })));
    }));

  it('the runbook reset of a day\'s counters sets orders and cancels back to 0', () =>
    withStore(async (store) => {
      granted(await store.reservePlace(place()));
      granted(await store.reserveCancel({ limits: {} }));
      await store.resetDailyCounts();
      const snap = await store.snapshot();
      expect([snap.dailyOrders, snap.dailyCancels]).toEqual([0, 0]);
    }));

  it('a bad request is refused naming the field, and nothing is reserved or consumed', () =>
    withStore(async (store) => {
      await expect(store.reservePlace(place({ quantity: -1 }))).rejects.toThrow(StateConfigError);
      await expect(store.reservePlace(place({ quantity: Number.NaN }))).rejects.toThrow(/quantity/);
      await expect(store.reservePlace(place({ symbol: 'BTC USDT' }))).rejects.toThrow(/symbol/);
      await expect(store.reservePlace(place({ limits: { maxDailyOrders: 1.5 } }))).rejects.toThrow(/maxDailyOrders/);
      await expect(store.reservePlace(place({ limits: { maxOrdersPerSecond: -1 } }))).rejects.toThrow(/maxOrdersPerSecond/);
      await expect(store.reserveCancel({ limits: { maxOrdersPerMinute: 0.5 } })).rejects.toThrow(/maxOrdersPerMinute/);
      await expect(store.reservePlace(place({ breaker: { rejection: { threshold: 0, cooldownMs: 1 } } }))).rejects.toThrow(/threshold/);
      await expect(store.settle({ id: 'x', kind: 'place', day: 1, leaseUntilMs: 1 }, { kind: 'accepted', orderId: 'o', filledQuantity: -1, restingQuantity: 0 })).rejects.toThrow(/filledQuantity/);
      await expect(store.recordDailyPnl(Number.POSITIVE_INFINITY)).rejects.toThrow(/dailyPnl/);
      const snap = await store.snapshot();
      expect([snap.dailyOrders, snap.reservations.length]).toEqual([0, 0]);
    }));
});
