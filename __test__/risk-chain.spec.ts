// SPEC §3-§5 through the public tools: every mode, limit and gate transition with its exact code
// and message, against the in-memory venue.
import { describe, expect, it } from 'vitest';

import { MockTradingBackend } from '../ts/index';
import { ack, DAY_MS, limit, market, rejection, RUNBOOK_RISK, setup, T0 } from './harness';

describe('safety modes', () => {
  it('DryRun evaluates the chain, never calls the backend, uses no quota', async () => {
    const { tools, backend } = setup({ mode: 'DryRun', risk: RUNBOOK_RISK });
    const result = await ack(tools.placeOrder, limit('BTC-USDT', 'Buy', 1, 20_000));
    expect(result).toMatchObject({ symbol: 'BTC-USDT', side: 'Buy', quantity: 1, status: 'DryRun', timestamp_ms: T0 });
    const error = await rejection(tools.placeOrder, limit('BTC-USDT', 'Buy', 3, 20_000));
    expect(error.toJSON()).toEqual({
      error_type: 'ExecutionFailed',
      source: 'RiskLimits',
      code: 'MAX_ORDER_NOTIONAL',
      message: 'RiskLimits: order notional 60000 exceeds limit 50000',
    });
    expect(backend.calls.placeOrder).toBe(0);
    expect(backend.acceptedOrders()).toBe(0);
    expect(tools.state().dailyOrders).toBe(0);
  });

  it('Direct places on the venue after the chain', async () => {
    const { tools, backend } = setup({ mode: 'Direct', risk: RUNBOOK_RISK });
    const result = await ack(tools.placeOrder, limit('BTC-USDT', 'Buy', 0.5, 19_000));
    expect(result).toMatchObject({ status: 'New', symbol: 'BTC-USDT', quantity: 0.5 });
    expect(backend.openOrders()).toHaveLength(1);
    expect(backend.openOrders()[0]?.clientOrderId).toMatch(/^axon-[0-9a-f]{8}-1$/);
    expect(tools.state().dailyOrders).toBe(1);
  });

  it('TwoPhase: PendingConfirm with a v4 token; placed only by the same fields; single use; bound; expires', async () => {
    const { tools, backend } = setup({ mode: 'TwoPhase', risk: RUNBOOK_RISK });
    const order = limit('BTC-USDT', 'Buy', 1, 20_000);
    const pending = await ack(tools.placeOrder, order);
    expect(pending.status).toBe('PendingConfirm');
    const token = pending.confirm_token as string;
    expect(token).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(backend.calls.placeOrder).toBe(0);

    const mismatch = await rejection(tools.placeOrder, limit('BTC-USDT', 'Buy', 2, 20_000, `,"confirm_token":"${token}"`));
    expect([mismatch.code, mismatch.source]).toEqual(['CONFIRM_ARGS_MISMATCH', 'SafetyMode']);
    expect(mismatch.message.startsWith('SafetyMode: ')).toBe(true);

    const token2 = (await ack(tools.placeOrder, order)).confirm_token as string;
    expect(token2).not.toBe(token);
    const placed = await ack(tools.placeOrder, limit('BTC-USDT', 'Buy', 1, 20_000, `,"confirm_token":"${token2}"`));
    expect(placed.status).toBe('Filled');
    expect(backend.calls.placeOrder).toBe(1);
    const reused = await rejection(tools.placeOrder, limit('BTC-USDT', 'Buy', 1, 20_000, `,"confirm_token":"${token2}"`));
    expect(reused.code).toBe('CONFIRM_TOKEN_INVALID');

    const token3 = (await ack(tools.placeOrder, order)).confirm_token as string;
    tools.setClockMs(T0 + 300_000);
    const expired = await rejection(tools.placeOrder, limit('BTC-USDT', 'Buy', 1, 20_000, `,"confirm_token":"${token3}"`));
    expect(expired.code).toBe('CONFIRM_TOKEN_EXPIRED');
    expect(backend.calls.placeOrder).toBe(1);
  });

  it('TwoPhase re-runs the risk chain at confirm time', async () => {
    const { tools } = setup({ mode: 'TwoPhase', risk: { ...RUNBOOK_RISK, maxDailyOrders: 1 } });
    const order = limit('BTC-USDT', 'Buy', 0.1, 20_000);
    const t1 = (await ack(tools.placeOrder, order)).confirm_token as string;
    const t2 = (await ack(tools.placeOrder, order)).confirm_token as string;
    await ack(tools.placeOrder, limit('BTC-USDT', 'Buy', 0.1, 20_000, `,"confirm_token":"${t1}"`));
    const second = await rejection(tools.placeOrder, limit('BTC-USDT', 'Buy', 0.1, 20_000, `,"confirm_token":"${t2}"`));
    expect(second.message).toBe('RiskLimits: daily order count 2 exceeds limit 1');
  });
});

describe('risk limits', () => {
  it('allowed symbols: listed only; an empty list rejects all', async () => {
    const { tools } = setup({ mode: 'Direct', risk: RUNBOOK_RISK });
    const error = await rejection(tools.placeOrder, limit('DOGE-USDT', 'Buy', 100, 0.1));
    expect([error.code, error.message]).toEqual(['SYMBOL_NOT_ALLOWED', "RiskLimits: symbol 'DOGE-USDT' not in allowed list"]);
    const none = setup({ mode: 'Direct', risk: { allowedSymbols: [] } });
    expect((await rejection(none.tools.placeOrder, limit('BTC-USDT', 'Buy', 1, 1))).code).toBe('SYMBOL_NOT_ALLOWED');
  });

  it('Market notional uses the backend reference price, and NO_REFERENCE_PRICE without one', async () => {
    const { tools, backend } = setup({ mode: 'Direct', risk: { ...RUNBOOK_RISK, allowedSymbols: ['BTC-USDT', 'SOL-USDT'] } });
    const big = await rejection(tools.placeOrder, market('BTC-USDT', 'Buy', 3));
    expect(big.message).toBe('RiskLimits: order notional 60000 exceeds limit 50000');
    const unknown = await rejection(tools.placeOrder, market('SOL-USDT', 'Buy', 1));
    expect([unknown.code, unknown.message]).toEqual(['NO_REFERENCE_PRICE', "RiskLimits: no reference price for 'SOL-USDT' to value a Market order"]);
    expect(backend.calls.getReferencePrice).toBe(2);
    backend.setReferencePrice('SOL-USDT', 100);
    expect((await ack(tools.placeOrder, market('SOL-USDT', 'Buy', 1))).status).toBe('Filled');
  });

  it('max position: abs(position + open + in-flight + delta), Buy +qty, Sell -qty', async () => {
    const { tools, backend } = setup({ mode: 'Direct', risk: { maxPositionAbs: 0.5 } });
    await ack(tools.placeOrder, market('BTC-USDT', 'Buy', 0.3));
    expect(backend.position('BTC-USDT')).toBe(0.3);
    const over = await rejection(tools.placeOrder, limit('BTC-USDT', 'Buy', 0.3, 19_000));
    expect([over.code, over.message]).toEqual(['MAX_POSITION_ABS', 'RiskLimits: projected position 0.6 exceeds max abs 0.5']);
    await ack(tools.placeOrder, limit('BTC-USDT', 'Buy', 0.2, 19_000)); // rests: 0.3 held + 0.2 open
    expect((await rejection(tools.placeOrder, limit('BTC-USDT', 'Buy', 0.1, 19_000))).message).toBe(
      'RiskLimits: projected position 0.6 exceeds max abs 0.5',
    );
    await ack(tools.placeOrder, market('BTC-USDT', 'Sell', 0.8)); // 0.3 -> -0.5
    expect((await rejection(tools.placeOrder, market('BTC-USDT', 'Sell', 0.1))).message).toBe(
      'RiskLimits: projected position -0.6 exceeds max abs 0.5',
    );
  });

  it('max daily orders: count, release on a definite backend rejection, keep on timeout, reset at UTC midnight', async () => {
    const { tools, backend } = setup({ mode: 'Direct', risk: { maxDailyOrders: 2 } });
    backend.injectFailure('placeOrder', 'insufficient_funds');
    const funds = await rejection(tools.placeOrder, market('BTC-USDT', 'Buy', 0.1));
    expect([funds.code, funds.source, funds.error_type]).toEqual(['BACKEND_INSUFFICIENT_FUNDS', 'Backend', 'ExecutionFailed']);
    expect(tools.state().dailyOrders).toBe(0);
    backend.injectFailure('placeOrder', 'timeout');
    expect((await rejection(tools.placeOrder, market('BTC-USDT', 'Buy', 0.1))).code).toBe('BACKEND_TIMEOUT');
    expect(tools.state().dailyOrders).toBe(1);
    await ack(tools.placeOrder, market('BTC-USDT', 'Buy', 0.1));
    const third = await rejection(tools.placeOrder, market('BTC-USDT', 'Buy', 0.1));
    expect([third.code, third.message]).toEqual(['MAX_DAILY_ORDERS', 'RiskLimits: daily order count 3 exceeds limit 2']);
    const midnight = Math.ceil(T0 / DAY_MS) * DAY_MS;
    tools.setClockMs(midnight - 1);
    expect((await rejection(tools.placeOrder, market('BTC-USDT', 'Buy', 0.1))).code).toBe('MAX_DAILY_ORDERS');
    tools.setClockMs(midnight);
    await ack(tools.placeOrder, market('BTC-USDT', 'Buy', 0.1));
    expect(tools.state().dailyOrders).toBe(1);
  });

  it('max daily cancels', async () => {
    const { tools, backend } = setup({ mode: 'Direct', risk: { maxDailyCancels: 5 } });
    for (let i = 0; i < 6; i += 1) await ack(tools.placeOrder, limit('BTC-USDT', 'Buy', 0.01, 10_000 + i));
    const ids = backend.openOrders().map((o) => o.orderId);
    for (const id of ids.slice(0, 5)) expect((await ack(tools.cancelOrder, `{"order_id":"${id}"}`)).status).toBe('Cancelled');
    const sixth = await rejection(tools.cancelOrder, `{"order_id":"${ids[5]}"}`);
    expect([sixth.code, sixth.message]).toEqual(['MAX_DAILY_CANCELS', 'RiskLimits: daily cancel count 6 exceeds limit 5']);
    expect(backend.openOrders()).toHaveLength(1);
  });

  it('replace passes the same chain against the original order', async () => {
    const { tools, backend } = setup({ mode: 'Direct', risk: RUNBOOK_RISK });
    await ack(tools.placeOrder, limit('BTC-USDT', 'Buy', 1, 19_000));
    const id = backend.openOrders()[0]?.orderId as string;
    const tooBig = await rejection(tools.replaceOrder, `{"order_id":"${id}","quantity":3}`);
    expect(tooBig.message).toBe('RiskLimits: order notional 57000 exceeds limit 50000');
    expect((await ack(tools.replaceOrder, `{"order_id":"${id}","price":19500}`)).status).toBe('Replaced');
    expect(backend.openOrders()[0]?.price).toBe(19_500);
    const missing = await rejection(tools.replaceOrder, '{"order_id":"nope","price":1}');
    expect([missing.source, missing.code]).toEqual(['Backend', 'BACKEND_REJECTED']);
  });

  it('learns orders placed outside the tools before checking a replace', async () => {
    const backend = new MockTradingBackend({ referencePrices: { 'BTC-USDT': 20_000 } });
    await backend.placeOrder({ symbol: 'BTC-USDT', side: 'Sell', quantity: 2, orderType: 'Limit', price: 21_000, timeInForce: 'GTC', clientOrderId: 'ext-1' });
    const { tools } = setup({ mode: 'Direct', backend, risk: RUNBOOK_RISK });
    const id = backend.openOrders()[0]?.orderId as string;
    expect((await rejection(tools.replaceOrder, `{"order_id":"${id}","quantity":3}`)).message).toBe('RiskLimits: order notional 63000 exceeds limit 50000');
  });
});

describe('gates', () => {
  const gate = { type: 'RejectionCircuitBreaker', threshold: 5, cooldownMs: 60_000 } as const;

  it('RejectionCircuitBreaker: Closed -> Open -> HalfOpen (one trial) -> Open / Closed, and reset()', async () => {
    const { tools, backend, lines } = setup({ mode: 'Direct', risk: RUNBOOK_RISK, gate });
    const tooBig = limit('BTC-USDT', 'Buy', 5, 20_000);
    const fine = limit('BTC-USDT', 'Buy', 0.01, 20_000);
    for (let i = 0; i < 4; i += 1) await rejection(tools.placeOrder, tooBig);
    backend.injectFailure('placeOrder', 'network');
    expect((await rejection(tools.placeOrder, fine)).code).toBe('BACKEND_NETWORK');
    await rejection(tools.placeOrder, tooBig);
    expect(tools.state().breaker).toBe('Closed'); // the pass cleared the streak; a backend error is no risk rejection
    for (let i = 0; i < 4; i += 1) await rejection(tools.placeOrder, tooBig);
    expect(tools.state().breaker).toBe('Open');
    tools.setClockMs(T0 + 17_863);
    const blocked = await rejection(tools.placeOrder, fine);
    expect([blocked.code, blocked.source, blocked.message]).toEqual([
      'CIRCUIT_BREAKER_OPEN',
      'RiskGate',
      'RiskGate: circuit breaker open (rejections=5, cooldown_remaining_ms=42137)',
    ]);
    expect(lines.some((l) => l.includes('circuit breaker open'))).toBe(true);
    tools.setClockMs(T0 + 60_000);
    expect(tools.state().breaker).toBe('HalfOpen');
    await rejection(tools.placeOrder, tooBig);
    expect(tools.state().breaker).toBe('Open');
    tools.setClockMs(T0 + 120_000);
    await ack(tools.placeOrder, fine);
    expect(tools.state().breaker).toBe('Closed');
    for (let i = 0; i < 5; i += 1) await rejection(tools.placeOrder, tooBig);
    expect(tools.state().breaker).toBe('Open');
    await tools.resetGate();
    expect(tools.state().breaker).toBe('Closed');
    await ack(tools.placeOrder, fine);
    expect(tools.state().gateOpenings).toBe(3);
  });

  it('cancels are never blocked by an open breaker', async () => {
    const { tools, backend } = setup({ mode: 'Direct', risk: RUNBOOK_RISK, gate: { ...gate, threshold: 1 } });
    await ack(tools.placeOrder, limit('BTC-USDT', 'Buy', 0.1, 10_000));
    await rejection(tools.placeOrder, limit('BTC-USDT', 'Buy', 5, 20_000));
    expect(tools.state().breaker).toBe('Open');
    const id = backend.openOrders()[0]?.orderId as string;
    expect((await ack(tools.cancelOrder, `{"order_id":"${id}"}`)).status).toBe('Cancelled');
  });

  it('PnlCircuitBreaker opens below the floor and resets at UTC midnight', async () => {
    const backend = new MockTradingBackend({ referencePrices: { 'BTC-USDT': 20_000 } });
    let push: ((event: { type: 'pnl'; dailyPnl: number }) => void) | undefined;
    const feed = Object.assign(backend, {
      subscribe: (listener: (event: { type: 'pnl'; dailyPnl: number }) => void) => {
        push = listener;
        return () => undefined;
      },
    });
    const { tools } = setup({ mode: 'Direct', backend: feed, gate: { type: 'PnlCircuitBreaker', dailyPnlFloor: -1_000 } });
    push?.({ type: 'pnl', dailyPnl: -1_200 });
    const blocked = await rejection(tools.placeOrder, market('BTC-USDT', 'Buy', 0.01));
    expect([blocked.code, blocked.message]).toEqual(['PNL_BREAKER_OPEN', 'RiskGate: pnl circuit breaker open (daily_pnl=-1200, floor=-1000)']);
    tools.setClockMs(Math.ceil(T0 / DAY_MS) * DAY_MS);
    expect((await ack(tools.placeOrder, market('BTC-USDT', 'Buy', 0.01))).status).toBe('Filled');
  });
});

describe('PnL breaker on the mock venue', () => {
  it('opens from the venue\'s own PnL events when a position loses more than the floor', async () => {
    let now = T0;
    const backend = new MockTradingBackend({ referencePrices: { 'BTC-USDT': 20_000 }, now: () => now });
    const { tools } = setup({ mode: 'Direct', backend, gate: { type: 'PnlCircuitBreaker', dailyPnlFloor: -1_000 } });
    await ack(tools.placeOrder, market('BTC-USDT', 'Buy', 1));
    backend.setReferencePrice('BTC-USDT', 19_500);
    expect(backend.dailyPnl()).toBe(-500);
    await ack(tools.placeOrder, market('BTC-USDT', 'Sell', 0.1));
    backend.setReferencePrice('BTC-USDT', 18_800);
    expect(backend.dailyPnl()).toBeCloseTo(-1_130, 9);
    const blocked = await rejection(tools.placeOrder, market('BTC-USDT', 'Sell', 0.1));
    expect(blocked.message).toBe('RiskGate: pnl circuit breaker open (daily_pnl=-1130, floor=-1000)');
    now = Math.ceil(T0 / DAY_MS) * DAY_MS;
    tools.setClockMs(now);
    expect((await ack(tools.placeOrder, market('BTC-USDT', 'Sell', 0.1))).status).toBe('Filled');
  });
});

describe('structured logs', () => {
  it('carry the runbook words: mode, RiskLimits, RiskGate, circuit breaker open, BackendError', async () => {
    const { tools, backend, lines } = setup({ mode: 'Direct', risk: RUNBOOK_RISK, gate: { type: 'RejectionCircuitBreaker', threshold: 1, cooldownMs: 1_000 } });
    await ack(tools.placeOrder, market('BTC-USDT', 'Buy', 0.1));
    backend.injectFailure('placeOrder', 'network', 1, 'connection reset');
    await rejection(tools.placeOrder, market('BTC-USDT', 'Buy', 0.1));
    await rejection(tools.placeOrder, market('BTC-USDT', 'Buy', 5));
    await rejection(tools.placeOrder, market('BTC-USDT', 'Buy', 0.1));
    const records = lines.map((l) => JSON.parse(l) as { level: string; msg: string; mode: string });
    expect(records.every((r) => r.mode === 'Direct')).toBe(true);
    expect(records.map((r) => r.msg)).toEqual([
      'Direct: place_order Buy 0.1 BTC-USDT -> Filled',
      'BackendError (network): Backend: network: connection reset',
      'RiskLimits: order notional 100000 exceeds limit 50000',
      'RiskGate: circuit breaker open (rejections=1, cooldown_remaining_ms=1000)',
    ]);
    expect(records.map((r) => r.level)).toEqual(['info', 'error', 'warn', 'warn']);
  });
});
