// The market-access pre-trade controls (issue 16) through the public tools on the in-memory venue:
// each at its boundary (just inside passes, just outside is refused with its code and a message
// naming the numbers), the collar with a stale and a missing reference, the open-order count and
// the throttle exact under 1,000 concurrent calls on a held venue, the daily loss across UTC
// midnight, and an LLM loop that repeats one order 20 times after timeouts placing it once.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { AgentLoop } from '../ts/agent/loop';
import { ConfigError, parseConfig, toolsOptionsFromConfig } from '../ts/config';
import { BackendError, MockTradingBackend, ToolError, type OrderAck, type OrderRequest, type TradingTools } from '../ts/index';
import type { LlmProvider, ModelReply } from '../ts/llm/types';
import { activeLimits } from '../ts/self-check';
import { ack, DAY_MS, limit, market, rejection, setup, T0 } from './harness';

type Refusal = [code: string, message: string];

async function refusal(tools: TradingTools, args: string, tool: 'placeOrder' | 'cancelOrder' | 'replaceOrder' = 'placeOrder'): Promise<Refusal> {
  const error = await rejection(tools[tool], args);
  expect(error.source).toBe('RiskLimits');
  return [error.code, error.message];
}

/** Every RiskLimits refusal, whatever its code (`sum by (source)`). */
function riskLimitRejections(tools: { metrics: { snapshot(): { counters: Record<string, number> } } }): number {
  return Object.entries(tools.metrics.snapshot().counters)
    .filter(([series]) => series.startsWith('trading_risk_rejections_total{source="risk_limits",'))
    .reduce((sum, [, value]) => sum + value, 0);
}

/**
 * 1,000 place_order calls at once on a venue that answers only when the test releases what is
 * waiting, so every call the guard lets through is in flight at the same time (as in
 * concurrency.spec.ts).
 */
async function storm(tools: TradingTools, waiting: Array<() => void>, order: (i: number) => string) {
  const calls = Array.from({ length: 1_000 }, (_, i) => tools.placeOrder.execute(order(i)));
  let settled: PromiseSettledResult<string>[] | undefined;
  void Promise.allSettled(calls).then((outcomes) => {
    settled = outcomes;
  });
  let peakInflight = 0;
  while (settled === undefined) {
    await new Promise((resolve) => setImmediate(resolve));
    peakInflight = Math.max(peakInflight, tools.state().inflight);
    for (const answer of waiting.splice(0)) answer();
  }
  const codes = settled.map((s) => (s.status === 'fulfilled' ? 'ok' : (s.reason as ToolError).code));
  return { codes, peakInflight, refused: settled.filter((s): s is PromiseRejectedResult => s.status === 'rejected') };
}

function heldVenue() {
  const waiting: Array<() => void> = [];
  const delay = () => new Promise<void>((answer) => waiting.push(answer));
  const backend = new MockTradingBackend({ referencePrices: { 'BTC-USDT': 20_000 }, latencyMs: 1, delay, now: () => T0 });
  return { backend, waiting };
}

const count = (codes: string[], code: string) => codes.filter((c) => c === code).length;

describe('max_order_quantity and min_order_notional', () => {
  it('refuse just outside their limits, naming the numbers; Market orders are valued at the reference', async () => {
    const { tools, backend } = setup({ mode: 'Direct', risk: { maxOrderQuantity: 1.5, minOrderNotional: 100 } });
    expect((await ack(tools.placeOrder, limit('BTC-USDT', 'Buy', 1.5, 19_000))).status).toBe('New');
    expect(await refusal(tools, limit('BTC-USDT', 'Buy', 1.5000001, 19_000))).toEqual([
      'MAX_ORDER_QUANTITY',
      'RiskLimits: order quantity 1.5000001 exceeds max_order_quantity 1.5',
    ]);
    expect((await ack(tools.placeOrder, limit('BTC-USDT', 'Buy', 0.005, 20_000))).status).toBeDefined(); // exactly 100
    expect(await refusal(tools, limit('BTC-USDT', 'Buy', 0.00499, 20_000))).toEqual([
      'MIN_ORDER_NOTIONAL',
      'RiskLimits: order notional 99.8 is below min_order_notional 100',
    ]);
    expect((await ack(tools.placeOrder, market('BTC-USDT', 'Buy', 0.005))).status).toBe('Filled');
    expect(await refusal(tools, market('BTC-USDT', 'Buy', 0.004))).toEqual(['MIN_ORDER_NOTIONAL', 'RiskLimits: order notional 80 is below min_order_notional 100']);
    expect(await refusal(tools, market('SOL-USDT', 'Buy', 1))).toEqual([
      'NO_REFERENCE_PRICE',
      "RiskLimits: no reference price for 'SOL-USDT' to value a Market order against min_order_notional",
    ]);
    expect(backend.calls.placeOrder).toBe(3);
    expect(riskLimitRejections(tools)).toBe(4);
  });
});

describe('price collar', () => {
  it('a limit price within N bps of a fresh reference passes, one bps more is refused', async () => {
    const { tools } = setup({ mode: 'Direct', risk: { priceCollarBps: 100, maxReferenceAgeMs: 5_000 } });
    await ack(tools.placeOrder, limit('BTC-USDT', 'Buy', 0.01, 20_200));
    expect(await refusal(tools, limit('BTC-USDT', 'Buy', 0.01, 20_201))).toEqual([
      'PRICE_COLLAR',
      'RiskLimits: limit price 20201 is 100.5 bps from reference price 20000, price_collar_bps 100',
    ]);
    await ack(tools.placeOrder, limit('BTC-USDT', 'Sell', 0.01, 19_800));
    expect((await refusal(tools, limit('BTC-USDT', 'Sell', 0.01, 19_799)))[0]).toBe('PRICE_COLLAR');
  });

  it('a stale reference is fetched again; one that cannot be refreshed is refused as STALE, a missing one as NO_REFERENCE_PRICE', async () => {
    const { tools, backend } = setup({ mode: 'Direct', risk: { priceCollarBps: 100, maxReferenceAgeMs: 5_000 } });
    await ack(tools.placeOrder, market('BTC-USDT', 'Buy', 0.01)); // the reference is stored at T0
    tools.setClockMs(T0 + 5_000);
    // Exactly the allowed age passes; the venue pushes the fill's market data, stored at T0 + 5000.
    await ack(tools.placeOrder, market('BTC-USDT', 'Buy', 0.01));
    tools.setClockMs(T0 + 10_001);
    backend.injectFailure('getReferencePrice', 'network', 2);
    expect(await refusal(tools, market('BTC-USDT', 'Buy', 0.01))).toEqual([
      'STALE_REFERENCE_PRICE',
      "RiskLimits: reference price 20000 of 'BTC-USDT' is 5001 ms old, max_reference_age_ms 5000",
    ]);
    expect((await refusal(tools, limit('BTC-USDT', 'Buy', 0.01, 20_000)))[0]).toBe('STALE_REFERENCE_PRICE');
    // The venue answers again: the next call fetches a fresh reference and passes.
    expect((await ack(tools.placeOrder, market('BTC-USDT', 'Buy', 0.01))).status).toBe('Filled');
    expect(await refusal(tools, limit('SOL-USDT', 'Buy', 1, 10))).toEqual(['NO_REFERENCE_PRICE', "RiskLimits: no reference price for 'SOL-USDT' to check the price collar"]);
    expect(backend.calls.placeOrder).toBe(3);
    expect(backend.calls.getReferencePrice).toBeGreaterThanOrEqual(3); // two failed refreshes, one that worked
  });
});

describe('replace_order passes the same controls', () => {
  it('a replace outside the collar, over the quantity or past the throttle is refused; one within passes', async () => {
    const { tools, backend } = setup({ mode: 'Direct', risk: { priceCollarBps: 100, maxOrderQuantity: 1, maxOrdersPerSecond: 3 } });
    const placed = await ack(tools.placeOrder, limit('BTC-USDT', 'Buy', 0.5, 19_900));
    const id = placed.order_id as string;
    expect(await refusal(tools, `{"order_id":"${id}","price":19799}`, 'replaceOrder')).toEqual([
      'PRICE_COLLAR',
      'RiskLimits: limit price 19799 is 100.5 bps from reference price 20000, price_collar_bps 100',
    ]);
    expect((await refusal(tools, `{"order_id":"${id}","quantity":1.01}`, 'replaceOrder'))[0]).toBe('MAX_ORDER_QUANTITY');
    expect((await ack(tools.replaceOrder, `{"order_id":"${id}","price":19800}`)).status).toBe('Replaced');
    await ack(tools.cancelOrder, `{"order_id":"${backend.openOrders()[0]?.orderId as string}"}`); // the third send
    expect((await refusal(tools, limit('BTC-USDT', 'Buy', 0.5, 19_900)))[0]).toBe('RATE_LIMITED');
    expect(backend.calls.placeOrder).toBe(1);
  });
});

describe('max_open_orders', () => {
  it('counts resting and in-flight orders per symbol exactly under 1,000 concurrent calls', async () => {
    const { backend, waiting } = heldVenue();
    const { tools } = setup({ mode: 'Direct', backend, risk: { maxOpenOrders: 100 } });
    const { codes, peakInflight, refused } = await storm(tools, waiting, () => limit('BTC-USDT', 'Buy', 0.01, 19_000));
    expect(peakInflight).toBe(100);
    expect(count(codes, 'ok')).toBe(100);
    expect(count(codes, 'MAX_OPEN_ORDERS')).toBe(900);
    expect((refused[0]?.reason as ToolError).message).toBe(
      "RiskLimits: open orders on 'BTC-USDT' would be 101, max_open_orders 100 (0 resting, 100 in flight, 0 of unknown outcome)",
    );
    expect(backend.openOrders()).toHaveLength(100);
    expect(await refusal(tools, limit('BTC-USDT', 'Buy', 0.01, 19_000))).toEqual([
      'MAX_OPEN_ORDERS',
      "RiskLimits: open orders on 'BTC-USDT' would be 101, max_open_orders 100 (100 resting, 0 in flight, 0 of unknown outcome)",
    ]);
    // One cancelled: exactly one more fits.
    const cancelling = tools.cancelOrder.execute(`{"order_id":"${backend.openOrders()[0]?.orderId as string}"}`);
    for (;;) {
      await new Promise((resolve) => setImmediate(resolve));
      const released = waiting.splice(0);
      for (const answer of released) answer();
      if (released.length > 0) break;
    }
    await cancelling;
    const placing = tools.placeOrder.execute(limit('BTC-USDT', 'Buy', 0.01, 19_000));
    while (waiting.length === 0) await new Promise((resolve) => setImmediate(resolve));
    for (const answer of waiting.splice(0)) answer();
    expect(JSON.parse(await placing)).toMatchObject({ status: 'New' });
    expect((await refusal(tools, limit('BTC-USDT', 'Buy', 0.01, 19_000)))[0]).toBe('MAX_OPEN_ORDERS');
  });
});

describe('duplicate orders', () => {
  it('the same order within the window is refused; another price, quantity or a later time passes; a venue-rejected one does not count', async () => {
    const { tools, backend } = setup({ mode: 'Direct', risk: { duplicateWindowMs: 10_000 } });
    const order = limit('BTC-USDT', 'Buy', 0.5, 19_000);
    await ack(tools.placeOrder, order);
    tools.setClockMs(T0 + 9_999);
    expect(await refusal(tools, order)).toEqual([
      'DUPLICATE_ORDER',
      'RiskLimits: the same order (BTC-USDT Buy Limit 0.5 @ 19000) was sent 9999 ms ago, within duplicate_window_ms 10000',
    ]);
    await ack(tools.placeOrder, limit('BTC-USDT', 'Buy', 0.5, 19_000.5));
    await ack(tools.placeOrder, limit('BTC-USDT', 'Buy', 0.6, 19_000));
    tools.setClockMs(T0 + 10_000);
    await ack(tools.placeOrder, order);
    backend.injectFailure('placeOrder', 'rejected');
    const other = limit('BTC-USDT', 'Sell', 0.5, 21_000);
    expect((await rejection(tools.placeOrder, other)).code).toBe('BACKEND_REJECTED');
    expect((await ack(tools.placeOrder, other)).status).toBe('New'); // the rejected one never existed
    expect(backend.openOrders()).toHaveLength(5);
  });

  it('an LLM loop that repeats the same order 20 times after timeouts places it once', async () => {
    /** The venue takes the order but its answer is lost: the agent sees a timeout every time. */
    class LostAnswers extends MockTradingBackend {
      override async placeOrder(request: OrderRequest): Promise<OrderAck> {
        await super.placeOrder(request);
        throw new BackendError('timeout', 'mock did not answer within 10000 ms');
      }
    }
    const backend = new LostAnswers({ referencePrices: { 'BTC-USDT': 20_000 }, now: () => T0, synchronous: false });
    const { tools } = setup({ mode: 'Direct', backend, risk: { duplicateWindowMs: 60_000 } });
    const usage = { promptTokens: 1, completionTokens: 1, estimated: true };
    let modelCalls = 0;
    const repeater: LlmProvider = {
      name: 'scripted-repeater',
      model: 'test',
      cancellable: false,
      complete: () => {
        modelCalls += 1;
        const args = '{"symbol":"BTC-USDT","side":"Buy","quantity":0.25,"price":19500}';
        const reply: ModelReply = {
          message: { role: 'assistant', content: null, tool_calls: [{ id: `c${modelCalls}`, type: 'function', function: { name: 'place_order', arguments: args } }] },
          usage,
        };
        return Promise.resolve(reply);
      },
    };
    const loop = new AgentLoop({ provider: repeater, tools, maxStepsPerBar: 20 });
    await loop.act('{"observation":1}', 0, T0);
    expect(modelCalls).toBe(20);
    expect(loop.stats.toolCalls).toBe(20);
    expect(loop.stats.rejectionsByCode).toEqual({ BACKEND_TIMEOUT: 1, DUPLICATE_ORDER: 19 });
    expect(backend.calls.placeOrder).toBe(1);
    expect(backend.openOrders()).toHaveLength(1);
  });
});

describe('order-rate throttle', () => {
  it('places, replaces and cancels share the windows; exact under 1,000 concurrent calls; the windows slide on the guard clock', async () => {
    const { backend, waiting } = heldVenue();
    const { tools } = setup({ mode: 'Direct', backend, risk: { maxOrdersPerSecond: 50, maxOrdersPerMinute: 120 } });
    const first = await storm(tools, waiting, (i) => limit('BTC-USDT', 'Buy', 0.01, 19_000 - i));
    expect(first.peakInflight).toBe(50);
    expect(count(first.codes, 'ok')).toBe(50);
    expect(count(first.codes, 'RATE_LIMITED')).toBe(950);
    expect((first.refused[0]?.reason as ToolError).message).toBe('RiskLimits: 51 orders in 1 s exceeds max_orders_per_second 50');
    expect(backend.calls.placeOrder).toBe(50);
    const id = backend.openOrders()[0]?.orderId as string;
    expect(await refusal(tools, `{"order_id":"${id}"}`, 'cancelOrder')).toEqual(['RATE_LIMITED', 'RiskLimits: 51 orders in 1 s exceeds max_orders_per_second 50']);

    tools.setClockMs(T0 + 999);
    expect((await refusal(tools, limit('BTC-USDT', 'Buy', 0.01, 18_000)))[0]).toBe('RATE_LIMITED');
    tools.setClockMs(T0 + 1_000);
    const second = await storm(tools, waiting, (i) => limit('BTC-USDT', 'Buy', 0.01, 17_000 - i));
    expect(count(second.codes, 'ok')).toBe(50);
    tools.setClockMs(T0 + 2_000);
    const third = await storm(tools, waiting, (i) => limit('BTC-USDT', 'Buy', 0.01, 15_000 - i));
    expect(count(third.codes, 'ok')).toBe(20);
    expect((third.refused[0]?.reason as ToolError).message).toBe('RiskLimits: 121 orders in 60 s exceeds max_orders_per_minute 120');
    expect(backend.calls.placeOrder).toBe(120);
    tools.setClockMs(T0 + 60_000);
    const cancelling = tools.cancelOrder.execute(`{"order_id":"${id}"}`);
    while (waiting.length === 0) await new Promise((resolve) => setImmediate(resolve));
    for (const answer of waiting.splice(0)) answer();
    expect(JSON.parse(await cancelling)).toMatchObject({ status: 'Cancelled' });
  });
});

describe('self-trade prevention', () => {
  it('refuses an order that would cross this account’s own resting order, and only that', async () => {
    const { tools, backend } = setup({ mode: 'Direct', risk: { selfTradePrevention: 'reject' } });
    const sell = await ack(tools.placeOrder, limit('BTC-USDT', 'Sell', 0.1, 21_000));
    expect(sell.status).toBe('New');
    await ack(tools.placeOrder, limit('BTC-USDT', 'Buy', 0.1, 19_000)); // rests below
    expect(await refusal(tools, limit('BTC-USDT', 'Buy', 0.1, 21_000))).toEqual([
      'SELF_TRADE',
      `RiskLimits: Buy at 21000 would cross this account's resting Sell order '${sell.order_id as string}' at 21000 on 'BTC-USDT' (self_trade_prevention = reject)`,
    ]);
    expect((await refusal(tools, market('BTC-USDT', 'Buy', 0.1)))[0]).toBe('SELF_TRADE');
    expect((await refusal(tools, limit('BTC-USDT', 'Sell', 0.1, 19_000)))[0]).toBe('SELF_TRADE');
    expect((await ack(tools.placeOrder, limit('BTC-USDT', 'Buy', 0.1, 20_999.99))).status).toBeDefined();
    await ack(tools.cancelOrder, `{"order_id":"${sell.order_id as string}"}`);
    expect((await ack(tools.placeOrder, limit('BTC-USDT', 'Buy', 0.1, 21_000))).status).toBe('Filled');
    expect(backend.calls.placeOrder).toBe(4);
  });
});

describe('max_daily_loss', () => {
  it('opens the PnL breaker past the loss, keeps cancels open, and resets at UTC midnight', async () => {
    const backend = new MockTradingBackend({ referencePrices: { 'BTC-USDT': 20_000 }, now: () => T0 });
    let push: ((event: { type: 'pnl'; dailyPnl: number }) => void) | undefined;
    const feed = Object.assign(backend, {
      subscribe: (listener: (event: { type: 'pnl'; dailyPnl: number }) => void, topics?: { pnl?: boolean }) => {
        if (topics?.pnl === true) push = listener;
        return () => undefined;
      },
    });
    const { tools } = setup({ mode: 'Direct', backend: feed, risk: { maxDailyLoss: 1_000 } });
    expect(push).toBeDefined(); // max_daily_loss subscribes to the pnl events without a PnL gate
    const resting = await ack(tools.placeOrder, limit('BTC-USDT', 'Buy', 0.01, 19_000));
    push?.({ type: 'pnl', dailyPnl: -1_000 });
    await ack(tools.placeOrder, limit('BTC-USDT', 'Buy', 0.01, 19_001)); // a loss equal to the limit
    push?.({ type: 'pnl', dailyPnl: -1_000.5 });
    expect(await refusal(tools, market('BTC-USDT', 'Sell', 0.01))).toEqual([
      'PNL_BREAKER_OPEN',
      'RiskLimits: daily loss 1000.5 exceeds max_daily_loss 1000 (daily_pnl=-1000.5)',
    ]);
    expect(tools.state().pnlBreakerOpen).toBe(true);
    expect((await ack(tools.cancelOrder, `{"order_id":"${resting.order_id as string}"}`)).status).toBe('Cancelled');
    const midnight = (Math.floor(T0 / DAY_MS) + 1) * DAY_MS;
    tools.setClockMs(midnight - 1);
    expect((await refusal(tools, market('BTC-USDT', 'Sell', 0.01)))[0]).toBe('PNL_BREAKER_OPEN');
    tools.setClockMs(midnight);
    expect(tools.state().pnlBreakerOpen).toBe(false);
    expect((await ack(tools.placeOrder, market('BTC-USDT', 'Sell', 0.01))).status).toBe('Filled');
  });
});

describe('[risk] config of the controls', () => {
  const text = `[trading]
backend = "mock"
[risk]
max_order_quantity = 2.5
min_order_notional = 10.0
price_collar_bps = 150.0
max_reference_age_ms = 3000
max_open_orders = 20
duplicate_window_ms = 30000
max_orders_per_second = 5
max_orders_per_minute = 100
self_trade_prevention = "reject"
max_daily_loss = 2500.0
`;

  it('maps every key to the tools options, which build, and --self-check lists each active one', () => {
    const config = parseConfig(text, {});
    const options = toolsOptionsFromConfig(config);
    expect(options.risk).toEqual({
      maxOrderQuantity: 2.5,
      minOrderNotional: 10,
      priceCollarBps: 150,
      maxReferenceAgeMs: 3_000,
      maxOpenOrders: 20,
      duplicateWindowMs: 30_000,
      maxOrdersPerSecond: 5,
      maxOrdersPerMinute: 100,
      selfTradePrevention: 'reject',
      maxDailyLoss: 2_500,
    });
    const { tools } = setup({ ...options, mode: 'Direct' });
    expect(tools.state().pnlBreakerOpen).toBe(false);
    expect(activeLimits(config)).toBe(
      'max_order_quantity=2.5, min_order_notional=10, price_collar_bps=150, max_reference_age_ms=3000, max_open_orders=20, duplicate_window_ms=30000, max_orders_per_second=5, max_orders_per_minute=100, self_trade_prevention=reject, max_daily_loss=2500',
    );
  });

  it('the real program\'s --self-check prints the active limits on one line', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'axon-controls-')), 'controls.toml');
    writeFileSync(file, text);
    const cli = join(__dirname, '..', 'dist', 'ts', 'cli.js');
    const result = spawnSync(process.execPath, [cli, '--self-check', '--config', file], { encoding: 'utf8', env: { PATH: process.env.PATH } });
    expect(result.stdout).toContain(
      'ok   risk limits: max_order_quantity=2.5, min_order_notional=10, price_collar_bps=150, max_reference_age_ms=3000, max_open_orders=20, duplicate_window_ms=30000, max_orders_per_second=5, max_orders_per_minute=100, self_trade_prevention=reject, max_daily_loss=2500',
    );
    // And one line per control, on or off, naming its keys and the codes it refuses with.
    expect(result.stdout).toContain('ok   control price collar: on: price_collar_bps=150, max_reference_age_ms=3000 -> refused with PRICE_COLLAR, STALE_REFERENCE_PRICE');
    expect(result.stdout).toContain('ok   control order-rate throttle: on: max_orders_per_second=5, max_orders_per_minute=100 -> refused with RATE_LIMITED');
    expect(result.stdout).toContain('ok   control self-trade prevention: on: self_trade_prevention=reject -> refused with SELF_TRADE');
    expect(result.stdout.match(/^ok {3}control /gm)).toHaveLength(8);
    expect(result.status).toBe(0);
  });

  it('a bad value is refused naming the key', () => {
    for (const [key, value] of [
      ['price_collar_bps', '-1.0'],
      ['self_trade_prevention', '"allow"'],
      ['max_open_orders', '1.5'],
      ['duplicate_window_ms', '-1'],
    ] as const) {
      expect(() => parseConfig(`[trading]\nbackend = "mock"\n[risk]\n${key} = ${value}\n`, {})).toThrow(ConfigError);
      expect(() => parseConfig(`[trading]\nbackend = "mock"\n[risk]\n${key} = ${value}\n`, {})).toThrow(`risk.${key}`);
    }
  });
});
