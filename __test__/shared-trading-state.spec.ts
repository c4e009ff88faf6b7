// The trading state of an account traded by several replicas (issues 15 + 16): with a shared risk
// state on Redis, HALTED / REDUCING / ACTIVE set on one tools instance holds for every instance of
// the account. Real redis-server (random loopback port), real tools, each instance with its own
// mock venue and its own store connection; the refusals are the Rust chain's (TRADING_HALTED,
// REDUCE_ONLY), adopted from the store's verdict.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createTradingTools, jsonLineLogger, MockTradingBackend, TradingMetrics, type TradingStateChange, type TradingToolsOptions } from '../ts/index';
import { RedisStateStore } from '../ts/state/redis-store';
import { ack, limit, market, rejection, T0 } from './harness';
import { RedisServer } from './support/redis-server';

let redis: RedisServer;
let accounts = 0;

beforeAll(async () => {
  redis = await RedisServer.start();
});

afterAll(async () => {
  await redis.stop();
});

const RISK = { allowedSymbols: ['BTC-USDT'], maxOrderNotional: 50_000 };
const ORDER_CALLS = (backend: MockTradingBackend) => backend.calls.placeOrder + backend.calls.replaceOrder;

/** One account on the test's Redis; each `replica()` is a tools instance with its own venue and its own store connection. */
function account() {
  const name = `halt-${++accounts}`;
  const opened: RedisStateStore[] = [];
  const replica = async (extra: Partial<TradingToolsOptions> = {}) => {
    const metrics = new TradingMetrics();
    const store = await RedisStateStore.open({ url: redis.url, account: name, observe: (sample) => metrics.observeStateStore(sample) });
    opened.push(store);
    const backend = new MockTradingBackend({ referencePrices: { 'BTC-USDT': 20_000 }, now: () => T0 });
    const lines: string[] = [];
    const changes: TradingStateChange[] = [];
    const logger = jsonLineLogger({ level: 'trace', write: (line) => lines.push(line) });
    const tools = createTradingTools({
      mode: 'Direct',
      clockStartMs: T0,
      logger,
      risk: RISK,
      onTradingStateChange: (change) => changes.push(change),
      ...extra,
      backend,
      metrics,
      state: store,
    });
    return { tools, backend, metrics, lines, changes, store };
  };
  const close = () => Promise.all(opened.map((store) => store.close()));
  return { name, replica, close };
}

const buy = (quantity = 0.01) => limit('BTC-USDT', 'Buy', quantity, 20_000);

describe('the trading state is the account\'s when the risk state is shared', () => {
  it('HALTED set on A: a place on B is refused with TRADING_HALTED by the chain and B\'s venue gets nothing; cancels still pass on B', async () => {
    const acct = account();
    const [a, b] = [await acct.replica(), await acct.replica()];
    const resting = await ack(b.tools.placeOrder, limit('BTC-USDT', 'Buy', 0.01, 19_000));
    expect(resting.status).toBe('New');
    const sentBefore = ORDER_CALLS(b.backend);

    expect(a.tools.setTradingState('HALTED', { source: 'operator', reason: 'venue incident' })).toBe('ACTIVE');
    await a.tools.flushTradingState();
    const halted = await rejection(b.tools.placeOrder, buy());
    expect([halted.code, halted.source, halted.message]).toEqual(['TRADING_HALTED', 'RiskGate', 'RiskGate: trading is HALTED: only cancels are accepted']);
    expect(ORDER_CALLS(b.backend)).toBe(sentBefore);
    // B adopted the account's state like any change: gauge, log line, hook (source account).
    expect(b.tools.tradingState()).toBe('HALTED');
    expect(b.changes).toEqual([{ from: 'ACTIVE', to: 'HALTED', source: 'account', reason: 'set by operator: venue incident', timeMs: expect.any(Number) as number }]);
    expect(b.metrics.prometheus()).toContain('trading_state 2\n');
    expect(b.lines.some((line) => line.includes('RiskGate: trading state ACTIVE -> HALTED (by account: set by operator: venue incident)'))).toBe(true);
    expect(b.metrics.prometheus()).toContain('trading_risk_rejections_total{source="risk_gate",code="trading_halted"} 1\n');
    // No slot or exposure was taken by the refused place.
    await eventually(async () => (await a.store.snapshot()).reservations.length === 0);
    expect((await a.store.snapshot()).dailyOrders).toBe(1);
    // A later place on B (now HALTED locally) reads the account first and is refused the same way.
    expect((await rejection(b.tools.placeOrder, buy())).code).toBe('TRADING_HALTED');
    expect((await rejection(b.tools.replaceOrder, `{"order_id":"${String(resting.order_id)}","quantity":0.02}`)).code).toBe('TRADING_HALTED');
    expect(ORDER_CALLS(b.backend)).toBe(sentBefore);
    // Taking risk off still works.
    expect((await ack(b.tools.cancelOrder, `{"order_id":"${String(resting.order_id)}"}`)).status).toBe('Cancelled');
    a.tools.close();
    b.tools.close();
    await acct.close();
  });

  it('cancelAll on A halts B too; ACTIVE set on A resumes B', async () => {
    const acct = account();
    const [a, b, c] = [await acct.replica(), await acct.replica(), await acct.replica()];
    expect((await ack(a.tools.placeOrder, limit('BTC-USDT', 'Buy', 0.01, 19_000))).status).toBe('New');
    const killed = await a.tools.cancelAll({ source: 'kill', reason: '--kill' });
    expect(killed).toEqual({ cancelled: [expect.any(String) as string], failed: [], accountHalted: true });
    for (const replica of [b, c]) {
      expect((await rejection(replica.tools.placeOrder, buy())).code).toBe('TRADING_HALTED');
      expect(ORDER_CALLS(replica.backend)).toBe(0);
    }

    a.tools.setTradingState('ACTIVE', { source: 'operator', reason: 'incident over' });
    await a.tools.flushTradingState();
    // B is HALTED on its own until it hears from the account: its next place reads it and is sent.
    expect(b.tools.tradingState()).toBe('HALTED');
    expect((await ack(b.tools.placeOrder, buy())).status).toBe('Filled');
    expect(b.tools.tradingState()).toBe('ACTIVE');
    expect(b.changes.map((change) => [change.from, change.to, change.source])).toEqual([
      ['ACTIVE', 'HALTED', 'account'],
      ['HALTED', 'ACTIVE', 'account'],
    ]);
    expect(b.backend.acceptedOrders()).toBe(1);
    a.tools.close();
    b.tools.close();
    c.tools.close();
    await acct.close();
  });

  it('REDUCING set on A applies on B: the Rust REDUCE_ONLY check against B\'s venue position', async () => {
    const acct = account();
    const [a, b] = [await acct.replica(), await acct.replica()];
    expect((await ack(b.tools.placeOrder, market('BTC-USDT', 'Buy', 1))).status).toBe('Filled');
    a.tools.setTradingState('REDUCING', { source: 'operator', reason: 'wind down' });
    await a.tools.flushTradingState();
    const flip = await rejection(b.tools.placeOrder, market('BTC-USDT', 'Sell', 1.5));
    expect([flip.code, flip.source, flip.message]).toEqual(['REDUCE_ONLY', 'RiskGate', 'RiskGate: trading state REDUCING: order would move position from 1 to -0.5']);
    expect(b.tools.tradingState()).toBe('REDUCING');
    expect((await rejection(b.tools.placeOrder, buy())).code).toBe('REDUCE_ONLY');
    expect((await ack(b.tools.placeOrder, market('BTC-USDT', 'Sell', 0.4))).status).toBe('Filled');
    expect(b.backend.fills.map((fill) => [fill.side, fill.quantity])).toEqual([
      ['Buy', 1],
      ['Sell', 0.4],
    ]);
    // The refused places gave their reservations back: only the two sent orders hold daily slots
    // (settles are reports on B's connection: wait until they landed).
    await eventually(async () => (await a.store.snapshot()).reservations.length === 0);
    expect((await a.store.snapshot()).dailyOrders).toBe(2);
    a.tools.close();
    b.tools.close();
    await acct.close();
  });

  it('the account\'s state survives a new tools instance (a restart) on the same account', async () => {
    const acct = account();
    const a = await acct.replica();
    a.tools.setTradingState('HALTED', { source: 'admin' });
    await a.tools.flushTradingState();
    a.tools.close();
    const restarted = await acct.replica();
    expect(restarted.tools.tradingState()).toBe('ACTIVE'); // its config, until the account answers
    expect((await rejection(restarted.tools.placeOrder, buy())).code).toBe('TRADING_HALTED');
    expect(restarted.backend.calls.placeOrder).toBe(0);
    expect(restarted.tools.tradingState()).toBe('HALTED');
    expect(await restarted.store.tradingState()).toMatchObject({ state: 'HALTED', from: 'ACTIVE', source: 'admin' });
    restarted.tools.close();
    await acct.close();
  });

  it('Redis down while setting HALTED: the process is HALTED anyway, the failure is logged and counted, and the account gets it once Redis answers', async () => {
    const own = await RedisServer.start();
    try {
      const name = `down-${++accounts}`;
      const metrics = new TradingMetrics();
      const open = () => RedisStateStore.open({ url: own.url, account: name, timeoutMs: 200, observe: (sample) => metrics.observeStateStore(sample) });
      const store = await open();
      const backend = new MockTradingBackend({ referencePrices: { 'BTC-USDT': 20_000 }, now: () => T0 });
      const lines: string[] = [];
      const tools = createTradingTools({ mode: 'Direct', clockStartMs: T0, risk: RISK, backend, metrics, state: store, logger: jsonLineLogger({ level: 'trace', write: (line) => lines.push(line) }) });
      expect((await ack(tools.placeOrder, buy())).status).toBe('Filled');

      await own.kill9();
      expect(tools.setTradingState('HALTED', { source: 'signal', reason: 'SIGUSR1' })).toBe('ACTIVE');
      await expect(tools.flushTradingState()).rejects.toMatchObject({ name: 'StateUnavailable' });
      expect(tools.tradingState()).toBe('HALTED');
      expect((await rejection(tools.placeOrder, buy())).code).toBe('TRADING_HALTED');
      expect(backend.calls.placeOrder).toBe(1);
      expect(lines.some((line) => line.includes('RiskGate: risk state store unavailable: trading state HALTED (by signal) not written for the account'))).toBe(true);
      expect(await metrics.prometheusText()).toMatch(/^trading_state_store_errors_total\{op="trading_set",why="[a-z]+"\} [1-9]/m);
      // The kill switch says the account did not get it (its cancels still ran on this venue).
      expect(await tools.cancelAll({ source: 'kill' })).toEqual({ cancelled: [], failed: [], accountHalted: false });

      // Redis back: the pending HALTED goes out before this process's next store call, and another replica sees it.
      await own.restart();
      const other = await open();
      const otherBackend = new MockTradingBackend({ referencePrices: { 'BTC-USDT': 20_000 }, now: () => T0 });
      const otherTools = createTradingTools({ mode: 'Direct', clockStartMs: T0, risk: RISK, backend: otherBackend, state: other, logger: jsonLineLogger({ level: 'error', write: () => undefined }) });
      await eventually(async () => {
        try {
          await tools.flushTradingState();
          return true;
        } catch {
          return false;
        }
      });
      expect((await rejection(otherTools.placeOrder, buy())).code).toBe('TRADING_HALTED');
      expect(otherBackend.calls.placeOrder).toBe(0);
      tools.close();
      otherTools.close();
      await Promise.all([store.close(), other.close()]);
    } finally {
      await own.stop();
    }
  });
});

describe('the store\'s trading state (script level)', () => {
  it('HALTED refuses place and propose before any check (a presented token stays valid, no slot), never a cancel; writes keep from, source, reason and a growing seq', async () => {
    const store = await RedisStateStore.open({ url: redis.url, account: `script-${++accounts}` });
    const order = { symbol: 'BTC-USDT', side: 'buy' as const, quantity: 1, limits: { maxDailyOrders: 5 }, breaker: { rejection: { threshold: 1, cooldownMs: 60_000 } } };
    expect(await store.tradingState()).toBeUndefined();
    const issued = await store.proposePlace({ ...order, fieldsHash: 'h' });
    if (!issued.ok) throw new Error(issued.reason);
    expect(issued).not.toHaveProperty('tradingState');

    const halted = await store.setTradingState({ state: 'HALTED', source: 'operator', reason: 'incident', timeMs: 1_000 });
    expect(halted).toEqual({ state: 'HALTED', from: 'ACTIVE', source: 'operator', reason: 'incident', timeMs: 1_000, seq: 1 });
    expect(await store.reservePlace({ ...order, token: { redeem: issued.token, fieldsHash: 'h' } })).toEqual({ ok: false, reason: 'TRADING_HALTED', numbers: {}, tradingState: halted });
    expect(await store.proposePlace({ ...order, fieldsHash: 'h2' })).toEqual({ ok: false, reason: 'TRADING_HALTED', numbers: {}, tradingState: halted });
    const cancel = await store.reserveCancel({ limits: {} });
    expect(cancel).toMatchObject({ ok: true, tradingState: halted });
    let snapshot = await store.snapshot();
    expect([snapshot.dailyOrders, snapshot.pendingTokens, snapshot.breaker.streak]).toEqual([0, 1, 0]);

    const active = await store.setTradingState({ state: 'ACTIVE', source: 'operator', timeMs: 2_000 });
    expect(active).toEqual({ state: 'ACTIVE', from: 'HALTED', source: 'operator', timeMs: 2_000, seq: 2 });
    // The token was not consumed by the halted attempt.
    expect(await store.reservePlace({ ...order, token: { redeem: issued.token, fieldsHash: 'h' } })).toMatchObject({ ok: true, tradingState: active });
    snapshot = await store.snapshot();
    expect([snapshot.dailyOrders, snapshot.pendingTokens]).toEqual([1, 0]);
    await expect(store.setTradingState({ state: 'PAUSED' as 'HALTED', source: 'x', timeMs: 1 })).rejects.toThrow(/state/);
    await store.close();
  });
});

/** Waits until `condition` holds (the client reconnects to a restarted Redis in the background). */
async function eventually(condition: () => Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 20));
}
