// The risk chain on a shared risk state (issue 15): real tools over real mock venues, several tools
// instances trading ONE account through a real redis-server (random loopback port). The account-wide
// checks are decided by the store's script and worded by the Rust chain; the static checks stay
// local. Time that matters to the store (day, cooldowns, leases) comes from an injected clock.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createTradingTools, jsonLineLogger, MockTradingBackend, TradingMetrics, type TradingToolsOptions } from '../ts/index';
import { RedisStateStore, type RoundTrip } from '../ts/state/redis-store';
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

/**
 * The store's clock: the same instant for every replica of a test, moved by hand. It starts at
 * today's real UTC noon: the day's keys expire two days after the store's day, so a clock far in
 * the past would have Redis drop them at once.
 */
class Clock {
  now = Math.floor(Date.now() / DAY_MS) * DAY_MS + DAY_MS / 2;
  read = (): number => this.now;
}

const RISK = { allowedSymbols: ['BTC-USDT'], maxOrderNotional: 50_000 };

/** One account on the test's Redis; each `replica()` is a tools instance with its own venue and its own store connection. */
async function account(options: Partial<TradingToolsOptions> = {}) {
  const name = `chain-${++accounts}`;
  const clock = new Clock();
  const samples: RoundTrip[] = [];
  const opened: RedisStateStore[] = [];
  const open = () => RedisStateStore.open({ url: redis.url, account: name, nowMs: clock.read, observe: (s) => samples.push(s) });
  const replica = async (extra: Partial<TradingToolsOptions> = {}) => {
    const store = await open();
    opened.push(store);
    const backend = new MockTradingBackend({ referencePrices: { 'BTC-USDT': 20_000 }, now: () => T0 });
    const metrics = new TradingMetrics();
    const lines: string[] = [];
    const logger = jsonLineLogger({ level: 'trace', write: (line) => lines.push(line) });
    const tools = createTradingTools({ mode: 'Direct', clockStartMs: T0, logger, risk: RISK, ...options, ...extra, backend, metrics, state: store });
    return { tools, backend, metrics, lines, store };
  };
  const observer = await open();
  opened.push(observer);
  const close = () => Promise.all(opened.map((store) => store.close()));
  return { name, clock, samples, replica, observer, close };
}

/**
 * Waits until `condition` holds: a replica reports a static refusal to the shared streak without
 * making the refusal wait, so another replica's connection may see it a moment later.
 */
async function eventually(condition: () => Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 5));
}

const fine = (quantity = 0.01, extra = '') => limit('BTC-USDT', 'Buy', quantity, 20_000, extra);

describe('shared risk state on redis: one account, several tools instances', () => {
  it('the daily order limit holds exactly across two instances placing concurrently', async () => {
    const acct = await account({ risk: { ...RISK, maxDailyOrders: 10 } });
    const [a, b] = [await acct.replica(), await acct.replica()];
    const calls = Array.from({ length: 15 }, () => [a.tools.placeOrder.call(fine()), b.tools.placeOrder.call(fine())]).flat();
    const results = await Promise.all(calls);
    const accepted = results.filter((r) => r.ok).length;
    expect(accepted).toBe(10);
    expect(a.backend.acceptedOrders() + b.backend.acceptedOrders()).toBe(10);
    const refusals = results.flatMap((r) => (r.ok ? [] : [r.error]));
    expect(refusals).toHaveLength(20);
    for (const error of refusals) {
      expect([error.code, error.source, error.message]).toEqual(['MAX_DAILY_ORDERS', 'RiskLimits', 'RiskLimits: daily order count 11 exceeds limit 10']);
    }
    expect((await acct.observer.snapshot()).dailyOrders).toBe(10);
    // The chain counted them as refusals (metrics come from Rust, as for a local refusal).
    const rejected = a.metrics.snapshot().counters['trading_risk_rejections_total{source="risk_limits",code="max_daily_orders"}'] ?? 0;
    expect(rejected + (b.metrics.snapshot().counters['trading_risk_rejections_total{source="risk_limits",code="max_daily_orders"}'] ?? 0)).toBe(20);
    await acct.close();
  });

  it('a retried call with the same client order id reserves once', async () => {
    const acct = await account({ risk: { ...RISK, maxDailyOrders: 5 } });
    const a = await acct.replica();
    // The venue holds the first send: the reservation is live when the retry arrives.
    const first = a.tools.placeOrder.call(fine(0.01, ',"client_order_id":"retry-1"'));
    const second = a.tools.placeOrder.call(fine(0.01, ',"client_order_id":"retry-1"'));
    await Promise.all([first, second]);
    await eventually(async () => (await acct.observer.snapshot()).reservations.length === 0);
    expect((await acct.observer.snapshot()).dailyOrders).toBe(1);
    await acct.close();
  });

  it('TwoPhase: proposed on A, confirmed on B places once; the same token on C is CONFIRM_TOKEN_INVALID', async () => {
    const acct = await account({ mode: 'TwoPhase' });
    const [a, b, c] = [await acct.replica(), await acct.replica(), await acct.replica()];
    const pending = await ack(a.tools.placeOrder, fine());
    expect(pending.status).toBe('PendingConfirm');
    const token = pending.confirm_token as string;
    expect(token).toMatch(/^[0-9a-f-]{36}$/);
    const placed = await ack(b.tools.placeOrder, fine(0.01, `,"confirm_token":"${token}"`));
    expect(placed.status).toBe('Filled');
    expect([a.backend.acceptedOrders(), b.backend.acceptedOrders(), c.backend.acceptedOrders()]).toEqual([0, 1, 0]);
    const again = await rejection(c.tools.placeOrder, fine(0.01, `,"confirm_token":"${token}"`));
    expect([again.code, again.source, again.message]).toEqual(['CONFIRM_TOKEN_INVALID', 'SafetyMode', 'SafetyMode: confirm_token is unknown or already used']);
    // Bound to the fields: a token confirmed with another quantity is void.
    const other = (await ack(a.tools.placeOrder, fine())).confirm_token as string;
    expect((await rejection(b.tools.placeOrder, fine(0.02, `,"confirm_token":"${other}"`))).code).toBe('CONFIRM_ARGS_MISMATCH');
    expect(c.backend.acceptedOrders() + b.backend.acceptedOrders()).toBe(1);
    await acct.close();
  });

  it('the breaker opens for every instance after threshold refusals spread over them, and lets one HalfOpen trial through', async () => {
    const acct = await account({ risk: { ...RISK, maxPositionAbs: 1 }, gate: { type: 'RejectionCircuitBreaker', threshold: 3, cooldownMs: 60_000 } });
    const [a, b] = [await acct.replica(), await acct.replica()];
    // A refusal by the store (position) on A, a static one (notional, decided locally) on B, a store one on A.
    expect((await rejection(a.tools.placeOrder, fine(2))).code).toBe('MAX_POSITION_ABS');
    expect((await rejection(b.tools.placeOrder, fine(3))).code).toBe('MAX_ORDER_NOTIONAL');
    await eventually(async () => (await acct.observer.snapshot()).breaker.streak === 2);
    expect((await acct.observer.snapshot()).breaker.state).toBe('Closed');
    expect((await rejection(a.tools.placeOrder, fine(2))).code).toBe('MAX_POSITION_ABS');
    for (const replica of [a, b]) {
      const blocked = await rejection(replica.tools.placeOrder, fine());
      expect([blocked.code, blocked.source, blocked.message]).toEqual(['CIRCUIT_BREAKER_OPEN', 'RiskGate', 'RiskGate: circuit breaker open (rejections=3, cooldown_remaining_ms=60000)']);
      expect(replica.lines.some((line) => line.includes('circuit breaker open'))).toBe(true);
    }
    // HalfOpen: the trial (refused by the position limit) reopens it for both.
    acct.clock.now += 60_000;
    expect((await rejection(b.tools.placeOrder, fine(2))).code).toBe('MAX_POSITION_ABS');
    expect((await rejection(a.tools.placeOrder, fine())).code).toBe('CIRCUIT_BREAKER_OPEN');
    // Next cooldown: a trial that passes closes it for both.
    acct.clock.now += 60_000;
    await ack(a.tools.placeOrder, fine());
    await ack(b.tools.placeOrder, fine());
    expect((await acct.observer.snapshot()).breaker).toMatchObject({ state: 'Closed', streak: 0, openings: 2 });
    // resetGate on one replica closes it for all.
    for (let i = 0; i < 3; i += 1) await rejection(a.tools.placeOrder, fine(3));
    // A's next call is decided after its own reports reached the store (ordered per process).
    expect((await rejection(a.tools.placeOrder, fine())).code).toBe('CIRCUIT_BREAKER_OPEN');
    expect((await rejection(b.tools.placeOrder, fine())).code).toBe('CIRCUIT_BREAKER_OPEN');
    await a.tools.resetGate();
    await ack(b.tools.placeOrder, fine());
    await acct.close();
  });

  it('a TwoPhase proposal neither clears the shared streak nor closes the breaker (only a sent order does)', async () => {
    const acct = await account({ mode: 'TwoPhase', risk: { ...RISK, maxPositionAbs: 1 }, gate: { type: 'RejectionCircuitBreaker', threshold: 3, cooldownMs: 60_000 } });
    const [a, b] = [await acct.replica(), await acct.replica()];
    expect((await rejection(a.tools.placeOrder, fine(2))).code).toBe('MAX_POSITION_ABS');
    expect((await rejection(b.tools.placeOrder, fine(2))).code).toBe('MAX_POSITION_ABS');
    expect((await ack(a.tools.placeOrder, fine())).status).toBe('PendingConfirm');
    expect((await rejection(b.tools.placeOrder, fine(2))).code).toBe('MAX_POSITION_ABS');
    expect((await rejection(a.tools.placeOrder, fine())).code).toBe('CIRCUIT_BREAKER_OPEN');
    await acct.close();
  });

  it('settles by the outcome: a backend rejection gives the slot back, a timeout keeps it', async () => {
    const acct = await account({ risk: { ...RISK, maxDailyOrders: 2 } });
    const a = await acct.replica();
    a.backend.injectFailure('placeOrder', 'rejected');
    expect((await rejection(a.tools.placeOrder, fine())).code).toBe('BACKEND_REJECTED');
    // The settle is reported after the answer: the slot comes back once it lands.
    await eventually(async () => (await acct.observer.snapshot()).dailyOrders === 0);
    a.backend.injectFailure('placeOrder', 'timeout');
    expect((await rejection(a.tools.placeOrder, fine())).code).toBe('BACKEND_TIMEOUT');
    const afterTimeout = await acct.observer.snapshot();
    expect(afterTimeout.dailyOrders).toBe(1);
    expect(afterTimeout.reservations).toHaveLength(1); // its exposure counts until the lease ends
    await ack(a.tools.placeOrder, fine());
    expect((await rejection(a.tools.placeOrder, fine())).code).toBe('MAX_DAILY_ORDERS');
    expect(a.backend.acceptedOrders()).toBe(1);
    await acct.close();
  });

  it('exposure follows the venue: a resting order counts, its cancel releases it (and takes a cancel slot)', async () => {
    const acct = await account({ risk: { ...RISK, maxPositionAbs: 1, maxDailyCancels: 1 } });
    const [a, b] = [await acct.replica(), await acct.replica()];
    const resting = await ack(a.tools.placeOrder, limit('BTC-USDT', 'Buy', 1, 19_000));
    expect(resting.status).toBe('New');
    expect((await rejection(b.tools.placeOrder, limit('BTC-USDT', 'Buy', 0.5, 19_000))).message).toBe('RiskLimits: projected position 1.5 exceeds max abs 1');
    await ack(a.tools.cancelOrder, `{"order_id":"${resting.order_id as string}"}`);
    // A's report of the cancel lands on its own connection; B (another connection) waits for it.
    await eventually(async () => (await acct.observer.snapshot()).exposure['BTC-USDT']?.restingBuy === 0);
    await ack(b.tools.placeOrder, limit('BTC-USDT', 'Buy', 0.5, 19_000));
    const second = (await b.backend.getOpenOrders())[0]?.orderId ?? '';
    const cancel = await rejection(a.tools.cancelOrder, `{"order_id":"${second}"}`);
    expect([cancel.code, cancel.message]).toEqual(['MAX_DAILY_CANCELS', 'RiskLimits: daily cancel count 2 exceeds limit 1']);
    await acct.close();
  });

  it('a replace reserves its growth (no daily slot); the grown order rests at its new size', async () => {
    const acct = await account({ risk: { ...RISK, maxPositionAbs: 1, maxDailyOrders: 1 } });
    const a = await acct.replica();
    const placed = await ack(a.tools.placeOrder, limit('BTC-USDT', 'Buy', 0.6, 19_000));
    const id = placed.order_id as string;
    const tooMuch = await rejection(a.tools.replaceOrder, `{"order_id":"${id}","quantity":1.2}`);
    expect([tooMuch.code, tooMuch.message]).toEqual(['MAX_POSITION_ABS', 'RiskLimits: projected position 1.2 exceeds max abs 1']);
    // The daily order limit (1, used) does not apply to a replace.
    await ack(a.tools.replaceOrder, `{"order_id":"${id}","quantity":0.9}`);
    await eventually(async () => (await acct.observer.snapshot()).reservations.length === 0);
    const snapshot = await acct.observer.snapshot();
    expect(snapshot.dailyOrders).toBe(1);
    expect(snapshot.exposure['BTC-USDT']).toMatchObject({ restingBuy: 0.9, inflightBuy: 0 });
    await acct.close();
  });

  it("the PnL breaker is the account's: a daily PnL below the floor refuses every instance", async () => {
    const acct = await account({ gate: { type: 'PnlCircuitBreaker', dailyPnlFloor: -100 } });
    const [a, b] = [await acct.replica(), await acct.replica()];
    await ack(a.tools.placeOrder, fine());
    await acct.observer.recordDailyPnl(-250.5);
    for (const replica of [a, b]) {
      const refused = await rejection(replica.tools.placeOrder, fine());
      expect([refused.code, refused.source, refused.message]).toEqual(['PNL_BREAKER_OPEN', 'RiskGate', 'RiskGate: pnl circuit breaker open (daily_pnl=-250.5, floor=-100)']);
    }
    await acct.close();
  });

  it('DryRun decides on the local view: no store round trip', async () => {
    const acct = await account({ mode: 'DryRun', risk: { ...RISK, maxDailyOrders: 1 } });
    const a = await acct.replica();
    const before = acct.samples.length;
    expect((await ack(a.tools.placeOrder, fine())).status).toBe('DryRun');
    expect((await rejection(a.tools.placeOrder, fine(5))).code).toBe('MAX_ORDER_NOTIONAL');
    expect(acct.samples.length).toBe(before);
    await acct.close();
  });
});

describe('shared risk state on redis: fail closed', () => {
  it('STATE_UNAVAILABLE while Redis is down (nothing reaches the venue), trading resumes when it is back', async () => {
    const own = await RedisServer.start();
    const metrics = new TradingMetrics();
    const lines: string[] = [];
    const backend = new MockTradingBackend({ referencePrices: { 'BTC-USDT': 20_000 }, now: () => T0 });
    const tools = createTradingTools({
      mode: 'Direct',
      clockStartMs: T0,
      risk: { ...RISK, maxDailyOrders: 100 },
      gate: { type: 'RejectionCircuitBreaker', threshold: 5, cooldownMs: 60_000 },
      backend,
      metrics,
      logger: jsonLineLogger({ level: 'trace', write: (line) => lines.push(line) }),
      state: { type: 'redis', url: own.url, account: 'down-1', timeoutMs: 200 },
    });
    try {
      await ack(tools.placeOrder, fine());
      await own.kill9();
      for (let i = 0; i < 3; i += 1) {
        const refused = await rejection(tools.placeOrder, fine());
        expect([refused.code, refused.source]).toEqual(['STATE_UNAVAILABLE', 'RiskGate']);
        expect(refused.message, JSON.stringify(lines.slice(-3))).toMatch(/^RiskGate: risk state store unavailable \((unreachable|no answer within 200 ms)\): order not sent$/);
      }
      expect(backend.acceptedOrders()).toBe(1);
      expect(metrics.snapshot().counters['trading_risk_rejections_total{source="risk_gate",code="state_unavailable"}']).toBe(3);
      // A static refusal is answered at once; its report to the shared streak fails, logged and counted.
      expect((await rejection(tools.placeOrder, fine(5))).code).toBe('MAX_ORDER_NOTIONAL');
      await eventually(() => Promise.resolve(lines.some((line) => line.includes('risk rejection not recorded in the shared breaker streak'))));
      expect(await metrics.prometheusText()).toMatch(/trading_state_store_errors_total\{op="reject",why="(unreachable|timeout)"\} 1/);
      expect(lines.filter((line) => line.includes('RiskGate: risk state store unavailable')).length).toBeGreaterThanOrEqual(3);
      const text = await metrics.prometheusText();
      expect(text).toMatch(/trading_state_store_errors_total\{op="place",why="(unreachable|timeout)"\} [1-9]/);
      expect(text).toMatch(/trading_state_store_round_trip_seconds_count\{op="place"\} [1-9]/);
      await own.restart();
      // The client reconnects by itself: calls are refused until it has, then go through.
      let result = await tools.placeOrder.call(fine());
      while (!result.ok && result.error.code === 'STATE_UNAVAILABLE') {
        await new Promise((resolve) => setTimeout(resolve, 20));
        result = await tools.placeOrder.call(fine());
      }
      expect(result.ok).toBe(true);
      expect(backend.acceptedOrders()).toBe(2);
    } finally {
      tools.close();
      await own.stop();
    }
  });
});

describe('file state through the tools', () => {
  it('keeps the day counts in a locked file: a second tools instance on it fails naming the holder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'axon-file-state-'));
    const path = join(dir, 'counts.json');
    const backend = new MockTradingBackend({ referencePrices: { 'BTC-USDT': 20_000 }, now: () => T0 });
    const options = { mode: 'Direct', risk: { ...RISK, maxDailyOrders: 5 }, backend, logger: jsonLineLogger({ level: 'silent' }), state: { type: 'file', path } } as const;
    const tools = createTradingTools(options);
    try {
      await ack(tools.placeOrder, fine());
      await ack(tools.placeOrder, fine());
      expect(JSON.parse(readFileSync(path, 'utf8')) as unknown).toMatchObject({ orders: 2 });
      expect(() => createTradingTools(options)).toThrow(new RegExp(`locked by pid ${process.pid}`));
      expect(() => createTradingTools({ ...options, state: { type: 'file', path: join(dir, 'other.json') }, dailyCountsFile: path })).toThrow(
        'axon-llm: invalid trading tools options: dailyCountsFile is the memory state\'s day-count file; with state file leave it out',
      );
      expect(existsSync(join(dir, 'other.json.lock'))).toBe(false);
      // Options only the native guard refuses: the file state it had opened gives its lock back.
      expect(() => createTradingTools({ ...options, state: { type: 'file', path: join(dir, 'third.json') }, clockStartMs: 9e15 })).toThrow(/manual_clock_ms/);
      await eventually(() => Promise.resolve(!existsSync(join(dir, 'third.json.lock'))));
    } finally {
      tools.close();
    }
    // Closed: the lock is given back, and the next instance starts from the saved counts.
    await eventually(() => Promise.resolve(!existsSync(`${path}.lock`)));
    const next = createTradingTools(options);
    expect(next.state().dailyOrders).toBe(2);
    next.close();
    rmSync(dir, { recursive: true, force: true });
  });
});
