// The backtest venue on the real data, through the guarded tools: buy-and-hold PnL against an
// independent calculation, conservation of cash + position value by every fill, determinism,
// bar-range and trade-print fill rules.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { describe, expect, it } from 'vitest';

import {
  BacktestReplay,
  BacktestTradingBackend,
  createTradingTools,
  loadBars,
  loadTrades,
  silentLogger,
  ToolError,
  type BacktestBackendOptions,
  type BacktestFill,
  type BackendEvent,
  type BarSeries,
  type StepContext,
  type TradingTools,
} from '../ts/index';
import { ack, limit, market, rejection } from './harness';
import { sharedDataFile } from '../bench/shared-data';

const DATA = dirname(sharedDataFile('btc-usdt-5m.csv'));
const BTC_PATH = join(DATA, 'btc-usdt-5m.csv');
const ETH_TRADES_PATH = join(DATA, 'eth-usdt-trades.csv');
const bars = loadBars(BTC_PATH);

type Row = [number, number, number, number, number, number];
/** The CSV read without the loader, for independent expectations. */
const rawRows = readFileSync(BTC_PATH, 'utf8')
  .trimEnd()
  .split('\n')
  .slice(1)
  .map((line) => line.split(',').map(Number) as Row);

const LIQUIDITY = { levels: 5, spreadBps: 2, levelStepBps: 1, sizePerLevel: 0.5 };
const FEES = { makerBps: 2, takerBps: 5 };

function setupReplay(options: Partial<BacktestBackendOptions> = {}, data: BarSeries = bars) {
  const backend = new BacktestTradingBackend({ symbol: 'BTC-USDT', data, cash: 100_000, fees: FEES, liquidity: LIQUIDITY, ...options });
  const tools = createTradingTools({ backend, mode: 'Direct', clockStartMs: data.timestamp[0], logger: silentLogger });
  return { backend, tools };
}

const round = (x: number, decimals: number) => Math.round(x * 10 ** decimals) / 10 ** decimals;

describe('buy and hold over btc-usdt-5m.csv through the guarded tools', () => {
  it('one Market buy at the first bar ends with the independently computed PnL', async () => {
    const { backend, tools } = setupReplay();
    const acks: Record<string, unknown>[] = [];
    const replay = new BacktestReplay(backend, {
      clock: tools,
      onStep: async (step) => {
        if (step.index === 0) acks.push(await ack(tools.placeOrder, market('BTC-USDT', 'Buy', 1.2)));
      },
    });
    const result = await replay.run();

    // Independent: the ladder around the first close (tick 0.1): best ask max(1, round(close x 2bps / 2 / tick))
    // ticks above the close, levels round(close x 1bp / tick) ticks apart, 0.5 BTC each.
    const firstClose = (rawRows[0] as Row)[4];
    const lastClose = (rawRows[rawRows.length - 1] as Row)[4];
    const half = Math.max(1, Math.round((firstClose * 2) / 20_000 / 0.1));
    const step = Math.max(1, Math.round((firstClose * 1) / 10_000 / 0.1));
    const prices = [0, 1, 2].map((k) => round(firstClose + (half + k * step) * 0.1, 1));
    expect(prices).toEqual([16727.8, 16729.5, 16731.2]);
    const quantities = [0.5, 0.5, 0.2];
    const cost = prices.reduce((sum, p, k) => sum + p * (quantities[k] as number), 0);
    const fee = (cost * 5) / 10_000;
    const expectedPnl = -cost - fee + 1.2 * lastClose;

    expect(acks[0]).toMatchObject({ status: 'Filled', symbol: 'BTC-USDT', side: 'Buy', quantity: 1.2, timestamp_ms: bars.timestamp[0] });
    expect(result.fills.map((f) => [f.price, f.quantity, f.liquidity, f.step])).toEqual(prices.map((p, k) => [p, quantities[k], 'taker', 0]));
    expect(result.steps).toBe(10_999);
    expect(result.lastPrice).toBe(lastClose);
    expect(result.position).toBe(1.2);
    expect(result.averagePrice).toBeCloseTo(cost / 1.2, 8);
    expect(result.fees).toBeCloseTo(fee, 9);
    expect(result.netPnl).toBeCloseTo(expectedPnl, 6);
    expect(result.finalEquity).toBeCloseTo(100_000 + expectedPnl, 6);
    expect(result.equity[10_998]).toBeCloseTo(100_000 + expectedPnl, 6);
    expect(result.unrealizedPnl - result.fees).toBeCloseTo(expectedPnl, 6);
    expect(result.realizedPnl).toBe(0);
    // The query tool sees the same account.
    const portfolio = JSON.parse(await tools.queryPortfolio.execute('{}')) as { positions: unknown[]; balances: { free: number }[] };
    expect(portfolio.positions).toEqual([{ symbol: 'BTC-USDT', quantity: 1.2, average_price: result.averagePrice }]);
    expect(portfolio.balances[0]?.free).toBeCloseTo(100_000 - cost - fee, 8);
    tools.close();
    backend.destroy();
  });
});

/** A busy agent: market and limit orders on both sides, replaces and cancels, through the tools. */
async function activeStrategy(tools: TradingTools, step: StepContext): Promise<void> {
  const i = step.index;
  const close = step.price;
  const tick = (x: number) => round(Math.round(x / 0.1) * 0.1, 1);
  try {
    if (i % 97 === 0) await tools.placeOrder.execute(market('BTC-USDT', i % 194 === 0 ? 'Buy' : 'Sell', 0.7));
    if (i % 13 === 0) await tools.placeOrder.execute(limit('BTC-USDT', 'Buy', 0.05, tick(close * 0.998)));
    if (i % 17 === 0) await tools.placeOrder.execute(limit('BTC-USDT', 'Sell', 0.05, tick(close * 1.002)));
    if (i % 29 === 0) await tools.placeOrder.execute(limit('BTC-USDT', 'Buy', 0.3, tick(close * 1.0005))); // marketable limit
    if (i % 31 === 0) {
      const open = step.backend.openOrders();
      const oldest = open[0];
      if (oldest !== undefined) {
        if (i % 62 === 0) await tools.cancelOrder.execute(`{"order_id":"${oldest.orderId}"}`);
        else await tools.replaceOrder.execute(`{"order_id":"${oldest.orderId}","price":${tick(close)}}`);
      }
    }
  } catch (error) {
    if (!(error instanceof ToolError)) throw error;
  }
}

/** Orders that rested through a bar whose range reached them (should be none: they must have filled). */
const missedFills: string[] = [];

function checkNothingLeftCrossed(step: StepContext): void {
  const bar = step.bar;
  if (bar === null) return;
  for (const o of step.backend.openOrders()) {
    if (o.side === 'Buy' ? o.price >= bar.low : o.price <= bar.high) missedFills.push(`${step.index}: ${o.orderId} ${o.side} @${o.price}`);
  }
}

async function runActive(steps = 4000) {
  const { backend, tools } = setupReplay({ cash: 1_000_000 });
  const events: BackendEvent[] = [];
  backend.subscribe((event) => events.push(event), { pnl: true });
  const replay = new BacktestReplay(backend, {
    clock: tools,
    onStep: (step) => {
      checkNothingLeftCrossed(step); // before the agent acts, every open order predates this bar
      return activeStrategy(tools, step);
    },
  });
  const result = await replay.run({ maxSteps: steps });
  tools.close();
  return { backend, result, events };
}

describe('accounting on an active replay', () => {
  it('every fill conserves cash + position value up to its fee; equity moves only by price and fees', async () => {
    const { backend, result } = await runActive();
    expect(result.fills.length).toBeGreaterThan(200);
    expect(new Set(result.fills.map((f) => f.liquidity))).toEqual(new Set(['maker', 'taker']));
    let cash = 1_000_000;
    let position = 0;
    for (const fill of result.fills) {
      const signed = fill.side === 'Buy' ? fill.quantity : -fill.quantity;
      const expectedFee = (fill.price * fill.quantity * (fill.liquidity === 'maker' ? 2 : 5)) / 10_000;
      expect(fill.fee).toBeCloseTo(expectedFee, 9);
      // Value at the fill price before and after: only the fee leaves.
      const before = cash + position * fill.price;
      const after = fill.cashAfter + fill.positionAfter * fill.price;
      expect(after - before).toBeCloseTo(-fill.fee, 6);
      expect(fill.positionAfter).toBeCloseTo(position + signed, 9);
      cash = fill.cashAfter;
      position = fill.positionAfter;
    }
    // Bar to bar: equity changes by the held position times the price move, plus each fill's
    // (mark - fill price) x signed quantity, minus its fee.
    const byStep = new Map<number, BacktestFill[]>();
    for (const f of result.fills) byStep.set(f.step, [...(byStep.get(f.step) ?? []), f]);
    let held = 0;
    for (let i = 0; i < result.steps; i++) {
      const close = (rawRows[i] as Row)[4];
      const previous = i === 0 ? 1_000_000 : (result.equity[i - 1] as number);
      const previousClose = i === 0 ? close : (rawRows[i - 1] as Row)[4];
      let expected = previous + held * (close - previousClose);
      for (const f of byStep.get(i) ?? []) {
        const signed = f.side === 'Buy' ? f.quantity : -f.quantity;
        expected += signed * (close - f.price) - f.fee;
        held += signed;
      }
      expect(result.equity[i]).toBeCloseTo(expected, 5);
    }
    expect(result.finalEquity).toBeCloseTo(result.initialCash + result.realizedPnl + result.unrealizedPnl - result.fees, 6);
    expect(missedFills).toEqual([]);
    expect(result.fills.filter((f) => f.liquidity === 'maker').length).toBeGreaterThan(100);
    backend.destroy();
  });

  it('replaying twice gives identical fills, equity and events', async () => {
    const a = await runActive(3000);
    const b = await runActive(3000);
    const strip = (fills: readonly BacktestFill[]) =>
      fills.map((fill) => {
        const rest: Partial<BacktestFill> = { ...fill };
        delete rest.clientOrderId;
        return rest;
      });
    expect(strip(b.result.fills)).toEqual(strip(a.result.fills));
    expect(Array.from(b.result.equity)).toEqual(Array.from(a.result.equity));
    // Client ids carry each guard's random prefix; everything else in the events is the replay's.
    const withoutClientIds = (events: readonly BackendEvent[]) => events.map((e) => (e.type === 'order' ? { ...e, clientOrderId: undefined } : e));
    expect(withoutClientIds(b.events)).toEqual(withoutClientIds(a.events));
    expect(b.result.finalEquity).toBe(a.result.finalEquity);
    a.backend.destroy();
    b.backend.destroy();
  });
});

describe('fill rules', () => {
  it('a resting bar-data limit fills at its price on the first later bar whose range trades through it', async () => {
    const { backend, tools } = setupReplay();
    await new BacktestReplay(backend, { clock: tools }).run({ maxSteps: 1 });
    const buyAt = 16_690.0;
    const sellAt = 16_760.0;
    const buy = await ack(tools.placeOrder, limit('BTC-USDT', 'Buy', 0.25, buyAt));
    const sell = await ack(tools.placeOrder, limit('BTC-USDT', 'Sell', 0.25, sellAt));
    expect([buy.status, sell.status]).toEqual(['New', 'New']);
    const firstLow = rawRows.findIndex((r, i) => i > 0 && r[3] <= buyAt);
    const firstHigh = rawRows.findIndex((r, i) => i > 0 && r[2] >= sellAt);
    await new BacktestReplay(backend, { clock: tools }).run({ maxSteps: Math.max(firstLow, firstHigh) + 5 });
    const fills = backend.fills.map((f) => [f.orderId, f.step, f.price, f.quantity, f.liquidity]);
    expect(fills).toEqual(
      [
        [buy.order_id, firstLow, buyAt, 0.25, 'maker'],
        [sell.order_id, firstHigh, sellAt, 0.25, 'maker'],
      ].sort((x, y) => (x[1] as number) - (y[1] as number)),
    );
    tools.close();
    backend.destroy();
  });

  it("fillRule 'through' needs the range to pass the price, not just touch it", async () => {
    // A bar whose low equals the limit: filled under 'touch', not under 'through'.
    const at = rawRows.findIndex((r, i) => i > 1 && r[3] < (rawRows[i - 1] as Row)[4]);
    const price = (rawRows[at] as Row)[3];
    for (const fillRule of ['touch', 'through'] as const) {
      const backend = new BacktestTradingBackend({ symbol: 'BTC-USDT', data: bars, fees: FEES, liquidity: LIQUIDITY, fillRule });
      const replay = new BacktestReplay(backend);
      await replay.run({ maxSteps: at });
      backend.place({ symbol: 'BTC-USDT', side: 'Buy', quantity: 0.1, orderType: 'Limit', price, timeInForce: 'GTC', clientOrderId: 'c1' });
      await replay.step();
      const filledAtTouch = backend.fills.some((f) => f.step === at);
      expect([fillRule, filledAtTouch]).toEqual([fillRule, fillRule === 'touch']);
      backend.destroy();
    }
  });

  it('trade prints fill a resting limit only when a print crosses it, up to the print amount', async () => {
    const trades = loadTrades(ETH_TRADES_PATH);
    const rows = readFileSync(ETH_TRADES_PATH, 'utf8').trimEnd().split('\n').slice(1).map((l) => l.split(','));
    const prices = rows.map((r) => Number(r[3]));
    const amounts = rows.map((r) => Number(r[4]));
    const backend = new BacktestTradingBackend({ symbol: 'ETH-USDT', data: trades, cash: 100_000, fees: FEES, liquidity: LIQUIDITY });
    const tools = createTradingTools({ backend, mode: 'Direct', clockStartMs: trades.timestamp[0], logger: silentLogger });
    const replay = new BacktestReplay(backend, { clock: tools });
    await replay.run({ maxSteps: 1 });
    // A bid three ticks under the low of the first 100 prints: its first crossing print is later.
    const bidPrice = round(Math.min(...prices.slice(0, 100)) - 0.03, 2);
    const crossing = prices.map((p, i) => (i > 0 && p <= bidPrice ? i : -1)).filter((i) => i >= 0);
    expect(crossing.length).toBeGreaterThan(0);
    const quantity = round(amounts[crossing[0] as number]! + 1, 3); // more than the first crossing print
    const placed = await ack(tools.placeOrder, limit('ETH-USDT', 'Buy', quantity, bidPrice));
    expect(placed.status).toBe('New');
    await replay.run();
    // Independent: walk the prints, filling min(amount, remaining) at the bid on each crossing print.
    const expected: [number, number][] = [];
    let left = quantity;
    for (const i of crossing) {
      if (left <= 1e-12) break;
      const take = round(Math.min(Math.floor((amounts[i] as number) * 1000 + 1e-9) / 1000, left), 3);
      if (take > 0) expected.push([i, take]);
      left = round(left - take, 3);
    }
    expect(backend.fills.map((f) => [f.step, f.quantity])).toEqual(expected);
    expect(backend.fills.every((f) => f.price === bidPrice && f.liquidity === 'maker')).toBe(true);
    expect(backend.fills[0]?.step).toBe(crossing[0]);
    expect(expected.length).toBeGreaterThan(1); // the first print could not fill it all
    tools.close();
    backend.destroy();
  });
});

describe('the backend as the agent sees it', () => {
  it('pushes market and pnl events every step, so the guard never asks; pnl restarts each UTC day', async () => {
    const { backend, tools } = setupReplay();
    const events: BackendEvent[] = [];
    backend.subscribe((e) => events.push(e), { pnl: true });
    const calls = { positions: 0, reference: 0 };
    const getPositions = backend.getPositions.bind(backend);
    const getReferencePrice = backend.getReferencePrice.bind(backend);
    backend.getPositions = () => ((calls.positions += 1), getPositions());
    backend.getReferencePrice = (s: string) => ((calls.reference += 1), getReferencePrice(s));
    const replay = new BacktestReplay(backend, {
      clock: tools,
      onStep: async (step) => {
        if (step.index === 3) await tools.placeOrder.execute(market('BTC-USDT', 'Buy', 1));
      },
    });
    await replay.run({ maxSteps: 600 });
    expect(calls).toEqual({ positions: 0, reference: 0 });
    const markets = events.filter((e) => e.type === 'market');
    expect(markets.length).toBe(601); // one per step, one after the order
    expect(markets[600]).toMatchObject({ symbol: 'BTC-USDT', referencePrice: (rawRows[599] as Row)[4], position: 1, openBuyQuantity: 0 });
    // The first bar of a new UTC day reports only that bar's change.
    const dayStart = rawRows.findIndex((r, i) => i > 0 && Math.floor(r[0] / 86_400_000) !== Math.floor((rawRows[i - 1] as Row)[0] / 86_400_000));
    const pnls = events.filter((e): e is Extract<BackendEvent, { type: 'pnl' }> => e.type === 'pnl');
    const r = backend.result();
    // One pnl per step, plus one after the order at step 3.
    const pnlAtStep = (i: number) => pnls[i <= 3 ? i : i + 1]?.dailyPnl;
    expect(pnlAtStep(dayStart)).toBeCloseTo((r.equity[dayStart] as number) - (r.equity[dayStart - 1] as number), 8);
    expect(pnlAtStep(dayStart - 1)).toBeCloseTo((r.equity[dayStart - 1] as number) - 100_000, 8);
    tools.close();
    backend.destroy();
  });

  it('off-grid prices and quantities, unknown symbols and missing funds are clear backend errors', async () => {
    const { backend, tools } = setupReplay();
    await new BacktestReplay(backend, { clock: tools }).run({ maxSteps: 1 });
    const offTick = await rejection(tools.placeOrder, limit('BTC-USDT', 'Buy', 0.1, 16700.05));
    expect([offTick.code, offTick.source]).toEqual(['BACKEND_REJECTED', 'Backend']);
    expect(offTick.message).toContain('price 16700.05 is off the BTC-USDT tick grid (tick size 0.1)');
    const offLot = await rejection(tools.placeOrder, limit('BTC-USDT', 'Buy', 0.0001, 16700));
    expect(offLot.message).toContain('quantity 0.0001 is off the BTC-USDT lot grid (lot size 0.001)');
    const unknown = await rejection(tools.placeOrder, limit('ETH-USDT', 'Buy', 1, 1500));
    expect(unknown.code).toBe('BACKEND_SYMBOL_NOT_FOUND');
    const poor = await rejection(tools.placeOrder, limit('BTC-USDT', 'Buy', 10, 16700));
    expect(poor.code).toBe('BACKEND_INSUFFICIENT_FUNDS');
    expect(poor.message).toMatch(/need 167\d+\.?\d* USDT \(notional \+ fee\), have 100000 free/);
    const bracket = await rejection(tools.placeOrder, limit('BTC-USDT', 'Buy', 0.1, 16700, ',"stop_loss":16000'));
    expect(bracket.message).toContain('stop_loss/take_profit orders are not supported');
    expect(backend.fills).toHaveLength(0);
    tools.close();
    backend.destroy();
  });

  it('cancel and replace through the tools; replace to a crossing price trades at once', async () => {
    const { backend, tools } = setupReplay();
    await new BacktestReplay(backend, { clock: tools }).run({ maxSteps: 1 });
    const a = await ack(tools.placeOrder, limit('BTC-USDT', 'Buy', 0.2, 16600));
    const b = await ack(tools.placeOrder, limit('BTC-USDT', 'Buy', 0.3, 16610));
    expect(backend.balances()[0]?.locked).toBeCloseTo(0.2 * 16600 + 0.3 * 16610, 8);
    expect(await ack(tools.cancelOrder, `{"order_id":"${a.order_id as string}"}`)).toMatchObject({ status: 'Cancelled' });
    const replaced = await ack(tools.replaceOrder, `{"order_id":"${b.order_id as string}","price":16620,"quantity":0.4}`);
    expect(replaced.status).toBe('Replaced');
    expect(backend.openOrders()).toEqual([expect.objectContaining({ orderId: b.order_id, price: 16620, quantity: 0.4, remaining: 0.4 })]);
    const crossed = await ack(tools.replaceOrder, `{"order_id":"${b.order_id as string}","price":16740}`);
    expect(crossed.status).toBe('Filled');
    expect(backend.fills.map((f) => [f.price, f.quantity, f.liquidity])).toEqual([[16727.8, 0.4, 'taker']]);
    expect(backend.openOrders()).toEqual([]);
    expect(backend.balances()[0]?.locked).toBe(0);
    const again = await rejection(tools.cancelOrder, `{"order_id":"${b.order_id as string}"}`);
    expect(again.code).toBe('BACKEND_REJECTED');
    tools.close();
    backend.destroy();
  });

  it('market remainders beyond the ladder are cancelled; FOK is all or nothing; IOC never rests; shorts can be off', async () => {
    const backend = new BacktestTradingBackend({ symbol: 'BTC-USDT', data: bars, fees: FEES, liquidity: LIQUIDITY, allowShort: false });
    await new BacktestReplay(backend).run({ maxSteps: 1 });
    const order = (side: 'Buy' | 'Sell', quantity: number, orderType: 'Limit' | 'Market', timeInForce: 'GTC' | 'IOC' | 'FOK', price?: number) =>
      ({ symbol: 'BTC-USDT', side, quantity, orderType, timeInForce, clientOrderId: `c${side}${quantity}${timeInForce}`, ...(price === undefined ? {} : { price }) }) as const;
    const big = backend.place(order('Buy', 6, 'Market', 'GTC'));
    expect([big.status, big.filledQuantity]).toEqual(['Cancelled', 2.5]); // 5 levels x 0.5
    expect(big.averagePrice).toBeCloseTo(backend.fills.reduce((s, f) => s + f.price * f.quantity, 0) / 2.5, 9);
    // The ladder's asks are used up: a FOK buy cannot fill completely and changes nothing.
    expect(() => backend.place(order('Buy', 0.1, 'Limit', 'FOK', 16800))).toThrow(/FOK order for 0.1 BTC-USDT cannot be filled completely/);
    expect(backend.positionQuantity()).toBe(2.5);
    const ioc = backend.place(order('Buy', 0.1, 'Limit', 'IOC', 16000));
    expect([ioc.status, ioc.filledQuantity]).toEqual(['Cancelled', 0]);
    expect(backend.openOrders()).toEqual([]);
    let refusal: unknown;
    try {
      backend.place(order('Sell', 2.6, 'Market', 'GTC'));
    } catch (error) {
      refusal = error;
    }
    expect(refusal).toMatchObject({ kind: 'insufficient_funds', message: expect.stringContaining('selling 2.6 BTC needs that much held, have 2.5 free') as string });
    expect(backend.place(order('Sell', 2.5, 'Market', 'GTC')).status).toBe('Filled');
    expect(backend.positionQuantity()).toBe(0);
    backend.destroy();
  });

  it('a retried send returns the first ack; only the exact order id names an order', async () => {
    const backend = new BacktestTradingBackend({ symbol: 'BTC-USDT', data: bars, fees: FEES, liquidity: LIQUIDITY });
    await new BacktestReplay(backend).run({ maxSteps: 1 });
    const rest = (clientOrderId: string, price: number) => backend.place({ symbol: 'BTC-USDT', side: 'Buy', quantity: 0.01, orderType: 'Limit', price, timeInForce: 'GTC', clientOrderId });
    const acks = Array.from({ length: 1_500 }, (_, k) => rest(`retry-${k}`, 15_000 + k / 10));
    expect(acks[11]?.orderId).toBe('bt-12');
    // Retries long after, even once the order has changed, return exactly the first ack and place nothing.
    backend.cancel('bt-12');
    for (const k of [0, 11, 1_023, 1_024, 1_499]) expect(rest(`retry-${k}`, 1)).toBe(acks[k]);
    expect(backend.result().orders).toBe(1_500);
    expect(backend.openOrders()).toHaveLength(1_499);
    for (const id of ['bt-012', 'bt-1.0', 'bt-0', 'bt-', 'bt-1e1', ' bt-1', 'BT-1', 'xbt-1', 'bt-1501', 'bt-12']) {
      expect(() => backend.cancel(id), id).toThrow(new RegExp(`order ${id.replace(/[.$]/g, '\\$&')} is not open`));
    }
    expect(() => backend.cancel('bt-12')).toThrow(/order bt-12 is not open \(Cancelled\)/);
    expect(backend.cancel('bt-10').status).toBe('Cancelled');
    backend.destroy();
  });

  it('bookSnapshot shows the seeded ladder and the agent orders; nothing is seeded without orders', async () => {
    const backend = new BacktestTradingBackend({ symbol: 'BTC-USDT', data: bars, fees: FEES, liquidity: LIQUIDITY });
    const replay = new BacktestReplay(backend);
    await replay.run({ maxSteps: 1000 });
    expect(backend.engineOpenOrders()).toBe(0);
    backend.place({ symbol: 'BTC-USDT', side: 'Buy', quantity: 0.1, orderType: 'Limit', price: 16000, timeInForce: 'GTC', clientOrderId: 'x' });
    expect(backend.engineOpenOrders()).toBe(1); // a non-marketable limit needs no liquidity
    const close = backend.price;
    const book = backend.bookSnapshot('BTC-USDT', 3);
    const half = Math.max(1, Math.round((close * 2) / 20_000 / 0.1));
    const step = Math.max(1, Math.round((close * 1) / 10_000 / 0.1));
    expect(book.asks).toEqual([0, 1, 2].map((k) => ({ price: round(close + (half + k * step) * 0.1, 1), quantity: 0.5, orders: 1 })));
    expect(book.bids[0]).toEqual({ price: round(close - half * 0.1, 1), quantity: 0.5, orders: 1 });
    expect(backend.engineOpenOrders()).toBe(11);
    await replay.step();
    expect(backend.engineOpenOrders()).toBe(1); // the next step removes last step's ladder
    backend.destroy();
  });
});
