// Trading states through the real tools over the real mock venue (issue 16): REDUCING admits only
// orders that reduce the position (counting what already works on the same side), HALTED admits
// only cancels, in every safety mode; changes are logged, exported as the `trading_state` gauge and
// handed to `onTradingStateChange`.
import { describe, expect, it } from 'vitest';

import { MockTradingBackend, type SafetyModeName, type TradingStateChange } from '../ts/index';
import { servePrometheus } from '../ts/prometheus-endpoint';
import { ack, limit, market, rejection, setup, T0 } from './harness';

const ORDER_CALLS = (backend: MockTradingBackend) => backend.calls.placeOrder + backend.calls.replaceOrder;

function logged(lines: string[], level: string): Array<Record<string, unknown>> {
  return lines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((record) => record.level === level);
}

describe('REDUCING: only orders that reduce the absolute position', () => {
  it('long: a sell that would flip to short is refused, one that reduces passes; resting and in-flight sells count', async () => {
    const { tools, backend, metrics } = setup({ mode: 'Direct' });
    expect((await ack(tools.placeOrder, market('BTC-USDT', 'Buy', 1))).status).toBe('Filled');
    expect(tools.setTradingState('REDUCING', { source: 'test' })).toBe('ACTIVE');

    const flip = await rejection(tools.placeOrder, market('BTC-USDT', 'Sell', 1.5));
    expect([flip.code, flip.source, flip.message]).toEqual(['REDUCE_ONLY', 'RiskGate', 'RiskGate: trading state REDUCING: order would move position from 1 to -0.5']);
    const adds = await rejection(tools.placeOrder, limit('BTC-USDT', 'Buy', 0.1, 19_000));
    expect(adds.message).toBe('RiskGate: trading state REDUCING: order would move position from 1 to 1.1');

    // 0.6 rests to sell above the market: only 0.4 more may be sold, whichever way it is split.
    expect((await ack(tools.placeOrder, limit('BTC-USDT', 'Sell', 0.6, 21_000))).status).toBe('New');
    const together = await rejection(tools.placeOrder, limit('BTC-USDT', 'Sell', 0.5, 21_500));
    expect(together.message).toBe('RiskGate: trading state REDUCING: order would move position from 1 to -0.1');
    expect((await ack(tools.placeOrder, market('BTC-USDT', 'Sell', 0.4))).status).toBe('Filled');
    // Position 0.6 with 0.6 resting to sell: nothing more can be sold.
    expect((await rejection(tools.placeOrder, market('BTC-USDT', 'Sell', 0.01))).code).toBe('REDUCE_ONLY');
    expect(backend.fills.map((f) => [f.side, f.quantity])).toEqual([
      ['Buy', 1],
      ['Sell', 0.4],
    ]);
    expect(metrics.prometheus()).toContain('trading_risk_rejections_total{source="risk_gate",code="reduce_only"} 4\n');
    expect(metrics.prometheus()).not.toMatch(/^trading_risk_rejections_total\{source="risk_limits",[^}]*\} [1-9]/m);
    tools.close();
  });

  it('short: a buy that would flip to long is refused, one that covers passes; a flat position admits nothing', async () => {
    const { tools } = setup({ mode: 'Direct' });
    expect((await ack(tools.placeOrder, market('ETH-USDT', 'Sell', 2))).status).toBe('Filled');
    tools.setTradingState('REDUCING', { source: 'test', reason: 'wind down' });
    const flip = await rejection(tools.placeOrder, market('ETH-USDT', 'Buy', 2.5));
    expect([flip.code, flip.message]).toEqual(['REDUCE_ONLY', 'RiskGate: trading state REDUCING: order would move position from -2 to 0.5']);
    expect((await rejection(tools.placeOrder, market('ETH-USDT', 'Sell', 0.1))).code).toBe('REDUCE_ONLY');
    expect((await ack(tools.placeOrder, market('ETH-USDT', 'Buy', 2))).status).toBe('Filled');
    const flat = await rejection(tools.placeOrder, market('ETH-USDT', 'Buy', 0.1));
    expect(flat.message).toBe('RiskGate: trading state REDUCING: order would move position from 0 to 0.1');
    tools.close();
  });

  it('fails closed: a position that cannot be fetched refuses with REDUCE_ONLY, nothing is sent', async () => {
    const { tools, backend } = setup({ mode: 'Direct', tradingState: 'REDUCING' });
    backend.injectFailure('getPositions', 'network');
    const unknown = await rejection(tools.placeOrder, market('BTC-USDT', 'Sell', 0.1));
    expect([unknown.code, unknown.message]).toEqual([
      'REDUCE_ONLY',
      "RiskGate: trading state REDUCING: position of 'BTC-USDT' is unknown, so the order cannot be shown to reduce it",
    ]);
    expect(backend.calls.placeOrder).toBe(0);
    tools.close();
  });

  it('a replace that would add to the position is refused; one that stays reducing passes', async () => {
    const { tools } = setup({ mode: 'Direct' });
    await ack(tools.placeOrder, market('BTC-USDT', 'Buy', 1));
    const bid = await ack(tools.placeOrder, limit('BTC-USDT', 'Buy', 0.5, 19_000));
    const ask = await ack(tools.placeOrder, limit('BTC-USDT', 'Sell', 0.5, 21_000));
    tools.setTradingState('REDUCING', { source: 'test' });
    expect((await rejection(tools.replaceOrder, `{"order_id":"${String(bid.order_id)}","price":19500}`)).code).toBe('REDUCE_ONLY');
    expect((await ack(tools.replaceOrder, `{"order_id":"${String(ask.order_id)}","price":20500,"quantity":1}`)).status).toBe('Replaced');
    const grows = await rejection(tools.replaceOrder, `{"order_id":"${String(ask.order_id)}","quantity":1.2}`);
    expect(grows.code).toBe('REDUCE_ONLY');
    tools.close();
  });
});

describe('HALTED: nothing but cancels', () => {
  for (const mode of ['DryRun', 'TwoPhase', 'Direct'] as const satisfies readonly SafetyModeName[]) {
    it(`${mode}: place and replace refused with TRADING_HALTED before the venue is asked anything; cancel passes`, async () => {
      const backend = new MockTradingBackend({ referencePrices: { 'BTC-USDT': 20_000 }, now: () => T0 });
      const resting = backend.syncOrders?.placeOrder({ symbol: 'BTC-USDT', side: 'Buy', quantity: 0.1, orderType: 'Limit', price: 19_000, timeInForce: 'GTC', clientOrderId: 'seed' });
      const { tools, metrics } = setup({ mode, backend, risk: { maxPositionAbs: 5, priceCollarBps: 1_000 } });
      tools.setTradingState('HALTED', { source: 'test' });
      const reads = () => backend.calls.getReferencePrice + backend.calls.getPositions + backend.calls.getOpenOrders;
      expect(reads()).toBe(0);
      const place = await rejection(tools.placeOrder, limit('BTC-USDT', 'Buy', 0.1, 19_500));
      expect([place.code, place.source, place.message]).toEqual(['TRADING_HALTED', 'RiskGate', 'RiskGate: trading is HALTED: only cancels are accepted']);
      const replace = await rejection(tools.replaceOrder, `{"order_id":"${String(resting?.orderId)}","price":19100}`);
      expect(replace.code).toBe('TRADING_HALTED');
      expect(reads()).toBe(0);
      expect(ORDER_CALLS(backend)).toBe(1); // the seed only
      const cancelled = await ack(tools.cancelOrder, `{"order_id":"${String(resting?.orderId)}"}`);
      expect(cancelled.status).toBe(mode === 'DryRun' ? 'DryRun' : 'Cancelled');
      expect(metrics.prometheus()).toContain('trading_risk_rejections_total{source="risk_gate",code="trading_halted"} 2\n');
      tools.close();
    });
  }

  it('a confirmation arriving while HALTED is refused and its token is spent', async () => {
    const { tools, backend } = setup({ mode: 'TwoPhase' });
    const pending = await ack(tools.placeOrder, limit('BTC-USDT', 'Buy', 0.1, 19_000));
    tools.setTradingState('HALTED', { source: 'test' });
    const confirm = limit('BTC-USDT', 'Buy', 0.1, 19_000, `,"confirm_token":"${String(pending.confirm_token)}"`);
    expect((await rejection(tools.placeOrder, confirm)).code).toBe('TRADING_HALTED');
    tools.setTradingState('ACTIVE', { source: 'test' });
    expect((await rejection(tools.placeOrder, confirm)).code).toBe('CONFIRM_TOKEN_INVALID');
    expect(backend.calls.placeOrder).toBe(0);
    tools.close();
  });
});

describe('setTradingState', () => {
  it('returns the previous state, moves the trading_state gauge, logs and reports each change once', async () => {
    const changes: TradingStateChange[] = [];
    const { tools, metrics, lines } = setup({ mode: 'Direct', onTradingStateChange: (change) => changes.push(change) });
    expect(tools.tradingState()).toBe('ACTIVE');
    expect(metrics.prometheus()).toContain('# TYPE trading_state gauge\ntrading_state 0\n');
    expect(tools.setTradingState('REDUCING', { source: 'api', reason: 'drawdown' })).toBe('ACTIVE');
    expect(metrics.prometheus()).toContain('trading_state 1\n');
    expect(tools.setTradingState('HALTED', { source: 'admin' })).toBe('REDUCING');
    expect(tools.setTradingState('HALTED', { source: 'admin' })).toBe('HALTED'); // a repeat changes nothing
    expect(metrics.prometheus()).toContain('trading_state 2\n');
    expect(metrics.snapshot().gauges.trading_state).toBe(2);
    expect(tools.tradingState()).toBe('HALTED');
    expect(changes.map(({ from, to, source, reason }) => ({ from, to, source, reason }))).toEqual([
      { from: 'ACTIVE', to: 'REDUCING', source: 'api', reason: 'drawdown' },
      { from: 'REDUCING', to: 'HALTED', source: 'admin', reason: undefined },
    ]);
    expect(changes.every((c) => Number.isInteger(c.timeMs) && c.timeMs > 0)).toBe(true);
    const warns = logged(lines, 'warn').filter((r) => r.from !== undefined);
    expect(warns.map((r) => [r.msg, r.from, r.to, r.source])).toEqual([
      ['RiskGate: trading state ACTIVE -> REDUCING (by api: drawdown)', 'ACTIVE', 'REDUCING', 'api'],
      ['RiskGate: trading state REDUCING -> HALTED (by admin)', 'REDUCING', 'HALTED', 'admin'],
    ]);
    expect(tools.setTradingState('ACTIVE', { source: 'api' })).toBe('HALTED');
    expect((await ack(tools.placeOrder, market('BTC-USDT', 'Buy', 0.1))).status).toBe('Filled');
    tools.close();
  });

  it('the Prometheus endpoint serves the gauge with the other metrics (a real HTTP scrape)', async () => {
    const { tools, metrics } = setup({ mode: 'DryRun' });
    const endpoint = await servePrometheus(metrics, 'prometheus:http://127.0.0.1:0/metrics');
    try {
      tools.setTradingState('REDUCING', { source: 'test' });
      const text = await (await fetch(endpoint.url)).text();
      expect(text).toContain('# TYPE trading_state gauge\ntrading_state 1\n');
      expect(text).toContain('# TYPE trading_daily_orders_count gauge\n');
    } finally {
      await endpoint.close();
      tools.close();
    }
  });

  it('metric callbacks see the gauge as a GaugeSet event', async () => {
    const { tools, metrics } = setup({ mode: 'DryRun' });
    const events: Array<{ name: string; value: number }> = [];
    metrics.setCallback((event) => events.push(event));
    tools.setTradingState('HALTED', { source: 'test' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(events).toContainEqual({ type: 'GaugeSet', name: 'trading_state', labels: {}, value: 2 });
    tools.close();
  });

  it('bad input is a TypeError naming the field, and changes nothing', () => {
    const changes: TradingStateChange[] = [];
    const { tools } = setup({ onTradingStateChange: (change) => changes.push(change) });
    expect(() => tools.setTradingState('STOPPED' as 'HALTED', { source: 'api' })).toThrow(/setTradingState: state: .*ACTIVE/);
    expect(() => tools.setTradingState('HALTED', { source: '' })).toThrow(/setTradingState: source/);
    expect(() => tools.setTradingState('HALTED', { source: 'api', extra: 1 } as unknown as { source: string })).toThrow(/extra/);
    expect(tools.tradingState()).toBe('ACTIVE');
    expect(changes).toEqual([]);
    tools.close();
  });

  it('a throwing onTradingStateChange is logged and the change stands', () => {
    const { tools, lines } = setup({
      onTradingStateChange: () => {
        throw new Error('audit disk full');
      },
    });
    expect(tools.setTradingState('HALTED', { source: 'api' })).toBe('ACTIVE');
    expect(tools.tradingState()).toBe('HALTED');
    expect(logged(lines, 'error').map((r) => r.msg)).toEqual(['onTradingStateChange threw (the change stands): Error: audit disk full']);
    tools.close();
  });

  it('the tradingState option sets the initial state, reported once with source config', async () => {
    const changes: TradingStateChange[] = [];
    const { tools, metrics } = setup({ mode: 'Direct', tradingState: 'HALTED', onTradingStateChange: (change) => changes.push(change) });
    expect(tools.tradingState()).toBe('HALTED');
    expect(metrics.prometheus()).toContain('trading_state 2\n');
    expect(changes.map(({ from, to, source }) => [from, to, source])).toEqual([['ACTIVE', 'HALTED', 'config']]);
    expect((await rejection(tools.placeOrder, market('BTC-USDT', 'Buy', 0.1))).code).toBe('TRADING_HALTED');
    expect(() => setup({ tradingState: 'PAUSED' as 'HALTED' })).toThrow(/tradingState/);
    tools.close();
  });

  it('haltOnPnlBreaker: the PnL breaker opening halts trading (source pnl-breaker)', async () => {
    const changes: TradingStateChange[] = [];
    const { tools, backend } = setup({ mode: 'Direct', risk: { maxDailyLoss: 500 }, haltOnPnlBreaker: true, onTradingStateChange: (change) => changes.push(change) });
    await ack(tools.placeOrder, market('BTC-USDT', 'Buy', 1));
    backend.setReferencePrice('BTC-USDT', 19_600); // -400: within the limit
    expect(tools.tradingState()).toBe('ACTIVE');
    backend.setReferencePrice('BTC-USDT', 19_400); // -600: the breaker opens
    expect(tools.tradingState()).toBe('HALTED');
    expect(changes.map(({ to, source }) => [to, source])).toEqual([['HALTED', 'pnl-breaker']]);
    expect((await rejection(tools.placeOrder, market('BTC-USDT', 'Sell', 1))).code).toBe('TRADING_HALTED');
    expect(() => setup({ haltOnPnlBreaker: true })).toThrow(/haltOnPnlBreaker needs a PnL breaker/);
    tools.close();
  });
});
