// The three read tools (get_book_snapshot, get_pnl, finish_bar) on every backend with real parts:
// the in-memory mock, the backtest engine over the shared BTC bars, the real ccxt client against the
// loopback fake Binance, and the real axon-oms binary. Plus what the guard promises for reads:
// arguments refused naming the field, reads in DryRun and past an open breaker, their metric.
import { afterEach, describe, expect, it } from 'vitest';

import {
  BacktestReplay,
  BacktestTradingBackend,
  createTradingTools,
  ExchangeTradingBackend,
  loadBars,
  MockTradingBackend,
  OmsTradingBackend,
  silentLogger,
  ToolError,
  type BookSnapshotResult,
  type FinishBarResult,
  type PnlResult,
  type Tool,
  type TradingBackend,
} from '../ts/index';
import { sharedDataFile } from '../bench/shared-data';
import { ack, limit, market, rejection, RUNBOOK_RISK, setup, T0 } from './harness';
import { startFakeBinance } from './support/fake-binance';
import { startOms } from './support/oms-server';

const cleanups: Array<() => Promise<unknown> | undefined> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function read<T>(tool: Tool, args: unknown): Promise<T> {
  return JSON.parse(await tool.execute(typeof args === 'string' ? args : JSON.stringify(args))) as T;
}

describe('get_book_snapshot, get_pnl and finish_bar on the mock', () => {
  it('the book is the resting orders aggregated by price, best first, cut to levels', async () => {
    const { tools } = setup({ mode: 'Direct' });
    await ack(tools.placeOrder, limit('BTC-USDT', 'Buy', 0.1, 19_900));
    await ack(tools.placeOrder, limit('BTC-USDT', 'Buy', 0.2, 19_900));
    await ack(tools.placeOrder, limit('BTC-USDT', 'Buy', 0.3, 19_800));
    await ack(tools.placeOrder, limit('BTC-USDT', 'Buy', 0.4, 19_700));
    await ack(tools.placeOrder, limit('BTC-USDT', 'Sell', 0.5, 20_300));
    await ack(tools.placeOrder, limit('BTC-USDT', 'Sell', 0.6, 20_100));
    await ack(tools.placeOrder, limit('ETH-USDT', 'Sell', 9, 1_600));
    const book = await read<BookSnapshotResult>(tools.getBookSnapshot, { symbol: 'BTC-USDT', levels: 2 });
    expect(book).toEqual({
      symbol: 'BTC-USDT',
      bids: [
        { price: 19_900, quantity: 0.3 },
        { price: 19_800, quantity: 0.3 },
      ],
      asks: [
        { price: 20_100, quantity: 0.6 },
        { price: 20_300, quantity: 0.5 },
      ],
      as_of_ms: T0,
    });
    const all = await read<BookSnapshotResult>(tools.getBookSnapshot, { symbol: 'BTC-USDT', levels: null });
    expect(all.bids.map((l) => l.price)).toEqual([19_900, 19_800, 19_700]);
    const unknown = await rejection(tools.getBookSnapshot, '{"symbol":"XRP-USDT"}');
    expect(unknown.toJSON()).toMatchObject({ source: 'Backend', code: 'BACKEND_SYMBOL_NOT_FOUND' });
    tools.close();
  });

  it('pnl values positions at the reference price and counts what fills realized today', async () => {
    const { tools, backend } = setup({ mode: 'Direct' });
    await ack(tools.placeOrder, market('BTC-USDT', 'Buy', 2));
    await ack(tools.placeOrder, market('ETH-USDT', 'Sell', 10));
    backend.setReferencePrice('BTC-USDT', 21_000);
    await ack(tools.placeOrder, market('BTC-USDT', 'Sell', 0.5)); // realizes (21000 - 20000) x 0.5
    backend.setReferencePrice('ETH-USDT', 1_400);
    const pnl = await read<PnlResult>(tools.getPnl, {});
    expect(pnl).toEqual({
      positions: [
        { symbol: 'BTC-USDT', quantity: 1.5, entry_price: 20_000, mark_price: 21_000, unrealized_pnl: 1_500, unrealized_pnl_pct: 5 },
        { symbol: 'ETH-USDT', quantity: -10, entry_price: 1_500, mark_price: 1_400, unrealized_pnl: 1_000, unrealized_pnl_pct: 6.66666666667 },
      ],
      total_unrealized_pnl: 2_500,
      realized_pnl_today: 500,
      as_of_ms: T0,
    });
    const eth = await read<PnlResult>(tools.getPnl, { symbol: 'ETH-USDT' });
    expect(eth.positions.map((p) => p.symbol)).toEqual(['ETH-USDT']);
    expect([eth.total_unrealized_pnl, eth.realized_pnl_today]).toEqual([1_000, 0]);
    backend.injectFailure('getPnl', 'network');
    expect((await rejection(tools.getPnl, '')).toJSON()).toMatchObject({ code: 'BACKEND_NETWORK', message: 'Backend: network: injected network failure' });
    tools.close();
  });

  it('finish_bar answers a summary of where the guard stands, without calling the backend', async () => {
    const { tools, backend } = setup({ mode: 'Direct', gate: { type: 'RejectionCircuitBreaker', threshold: 3, cooldownMs: 60_000 } });
    await ack(tools.placeOrder, limit('BTC-USDT', 'Buy', 0.1, 19_000));
    const callsBefore = JSON.stringify(backend.calls);
    const summary = await read<FinishBarResult>(tools.finishBar, { note: 'one bid resting' });
    expect(summary).toEqual({ finished: true, note: 'one bid resting', mode: 'Direct', orders_today: 1, cancels_today: 0, pending_confirms: 0, breaker: 'Closed' });
    expect(await read<FinishBarResult>(tools.finishBar, '')).toMatchObject({ note: null });
    expect(JSON.stringify(backend.calls)).toBe(callsBefore);
    tools.close();
  });

  it('a backend without getOrderBook / getPnl gets a BACKEND_OTHER refusal naming the tool', async () => {
    const mock = new MockTradingBackend({ referencePrices: { 'BTC-USDT': 20_000 }, now: () => T0 });
    // A user's own backend: the required methods only.
    const own: TradingBackend = {
      name: 'mock',
      placeOrder: (r) => mock.placeOrder(r),
      cancelOrder: (id) => mock.cancelOrder(id),
      replaceOrder: (r) => mock.replaceOrder(r),
      getBalance: () => mock.getBalance(),
      getPositions: () => mock.getPositions(),
      getPortfolio: () => mock.getPortfolio(),
      getReferencePrice: (s) => mock.getReferencePrice(s),
      getOpenOrders: (s) => mock.getOpenOrders(s),
    };
    const { tools } = setup({ backend: own, mode: 'Direct' });
    expect((await rejection(tools.getBookSnapshot, '{"symbol":"BTC-USDT"}')).toJSON()).toEqual({
      error_type: 'ExecutionFailed',
      source: 'Backend',
      code: 'BACKEND_OTHER',
      message: 'Backend: other: get_book_snapshot is not supported by the mock backend (it has no order book)',
    });
    expect((await rejection(tools.getPnl, '{}')).message).toBe('Backend: other: get_pnl is not supported by the mock backend (it has no PnL report)');
    tools.close();
  });

  it('a position the venue cannot value makes the total null, never a partial sum', async () => {
    const mock = new MockTradingBackend({ referencePrices: { 'BTC-USDT': 20_000 }, now: () => T0 });
    const report = {
      positions: [
        { symbol: 'BTC-USDT', quantity: 1, entryPrice: 19_000, markPrice: 20_000 },
        { symbol: 'ETH-USDT', quantity: 2, entryPrice: 1_500, markPrice: null },
        { symbol: 'XRP-USDT', quantity: -100, entryPrice: null, markPrice: 0.5 },
      ],
      realizedPnlToday: null,
      timestampMs: T0,
    };
    const partial = Object.assign(Object.create(mock) as MockTradingBackend, { getPnl: () => Promise.resolve(report) });
    const { tools } = setup({ backend: partial, mode: 'Direct' });
    const all = await read<PnlResult>(tools.getPnl, {});
    expect(all.positions.map((p) => [p.symbol, p.unrealized_pnl, p.unrealized_pnl_pct])).toEqual([
      ['BTC-USDT', 1_000, 5.26315789474],
      ['ETH-USDT', null, null],
      ['XRP-USDT', null, null],
    ]);
    expect([all.total_unrealized_pnl, all.realized_pnl_today]).toEqual([null, null]);
    expect(await read<PnlResult>(tools.getPnl, { symbol: 'BTC-USDT' })).toMatchObject({ total_unrealized_pnl: 1_000 });
    tools.close();
  });

  it('an unusable book from a backend is refused naming what is wrong, never passed on', async () => {
    const mock = new MockTradingBackend({ referencePrices: { 'BTC-USDT': 20_000 }, now: () => T0 });
    const answers: unknown[] = [
      { symbol: 'BTC-USDT', bids: [{ price: 1, quantity: 1 }, { price: 2, quantity: 1 }], asks: [], timestampMs: T0 },
      { symbol: 'BTC-USDT', bids: [{ price: Number.NaN, quantity: 1 }], asks: [], timestampMs: T0 },
      { symbol: 'ETH-USDT', bids: [], asks: [], timestampMs: T0 },
    ];
    const hostile = Object.assign(Object.create(mock) as MockTradingBackend, { getOrderBook: () => Promise.resolve(answers.shift()) });
    const { tools } = setup({ backend: hostile, mode: 'Direct' });
    const args = '{"symbol":"BTC-USDT"}';
    expect((await rejection(tools.getBookSnapshot, args)).message).toContain('bids[1] is not below bids[0] (bids must be best first)');
    expect((await rejection(tools.getBookSnapshot, args)).message).toContain('getOrderBook');
    expect((await rejection(tools.getBookSnapshot, args)).message).toContain('answered getOrderBook for ETH-USDT, not BTC-USDT');
    tools.close();
  });
});

describe('the guard path of the read tools', () => {
  it('bad arguments are InvalidArguments naming the field, and nothing reaches the backend', async () => {
    const { tools, backend } = setup({ mode: 'Direct' });
    const cases: Array<[Tool, string, string]> = [
      [tools.getBookSnapshot, '{"symbol":"BTC-USDT","levels":0}', 'Arguments: field `levels` must be a whole number from 1 to 50, got 0'],
      [tools.getBookSnapshot, '{"symbol":"BTC-USDT","levels":51}', 'Arguments: field `levels` must be a whole number from 1 to 50, got 51'],
      [tools.getBookSnapshot, '{"symbol":"BTC-USDT","levels":2.5}', 'Arguments: field `levels` must be a whole number from 1 to 50, got 2.5'],
      [tools.getBookSnapshot, '{"symbol":"BTC-USDT","levels":"5"}', 'Arguments: field `levels` must be a number, got string'],
      [tools.getBookSnapshot, '{"symbol":"BTC-USDT","levels":5,"side":"Buy"}', 'Arguments: unknown field `side`, expected one of: symbol, levels'],
      [tools.getBookSnapshot, '{"levels":5}', 'Arguments: missing field `symbol`'],
      [tools.getPnl, '{"symbol":"BTC-USDT","days":1}', 'Arguments: unknown field `days`, expected one of: symbol'],
      [tools.getPnl, '{"symbol":7}', 'Arguments: field `symbol` must be a string, got number'],
      [tools.finishBar, '{"note":{"why":"x"}}', 'Arguments: field `note` must be a string, got object'],
      [tools.finishBar, '{"reason":"x"}', 'Arguments: unknown field `reason`, expected one of: note'],
    ];
    for (const [tool, args, message] of cases) {
      const error = await rejection(tool, args);
      expect(error.toJSON(), args).toEqual({ error_type: 'InvalidArguments', source: 'Arguments', code: 'INVALID_ARGUMENTS', message });
    }
    expect([backend.calls.getOrderBook, backend.calls.getPnl]).toEqual([0, 0]);
    tools.close();
  });

  it('reads work in DryRun and while the breaker is open, and never move it', async () => {
    for (const mode of ['DryRun', 'TwoPhase', 'Direct'] as const) {
      const { tools, backend } = setup({ mode, risk: RUNBOOK_RISK, gate: { type: 'RejectionCircuitBreaker', threshold: 2, cooldownMs: 60_000 } });
      backend.setReferencePrice('BTC-USDT', 20_000);
      expect((await read<BookSnapshotResult>(tools.getBookSnapshot, { symbol: 'BTC-USDT', levels: 1 })).symbol).toBe('BTC-USDT');
      for (let i = 0; i < 2; i++) expect((await rejection(tools.placeOrder, limit('BTC-USDT', 'Buy', 5, 20_000))).code).toBe('MAX_ORDER_NOTIONAL');
      expect(tools.state().breaker, mode).toBe('Open');
      expect((await rejection(tools.placeOrder, limit('BTC-USDT', 'Buy', 0.1, 20_000))).code).toBe('CIRCUIT_BREAKER_OPEN');
      const book = await read<BookSnapshotResult>(tools.getBookSnapshot, { symbol: 'BTC-USDT', levels: 50 });
      expect(book).toEqual({ symbol: 'BTC-USDT', bids: [], asks: [], as_of_ms: T0 });
      expect(await read<PnlResult>(tools.getPnl, { symbol: null })).toMatchObject({ positions: [], total_unrealized_pnl: 0 });
      expect(await read<FinishBarResult>(tools.finishBar, { note: 'breaker open, waiting' })).toMatchObject({ mode, breaker: 'Open', orders_today: 0 });
      expect(tools.state().breaker).toBe('Open');
      expect([backend.calls.getOrderBook, backend.calls.getPnl], mode).toEqual([2, 1]);
      tools.close();
    }
  });

  it('each read is timed under its own tool label, counts no order and is logged', async () => {
    const { tools, metrics, lines } = setup({ mode: 'DryRun' });
    await tools.getBookSnapshot.execute('{"symbol":"BTC-USDT"}');
    await tools.getPnl.execute('{}');
    await tools.getPnl.execute('{}');
    await tools.finishBar.execute('{}');
    await rejection(tools.getPnl, '{"symbol":1}');
    const snapshot = metrics.snapshot();
    const count = (tool: string) => snapshot.histograms[`trading_tool_execute_duration_seconds{tool="${tool}"}`]?.count;
    expect([count('book_snapshot'), count('pnl'), count('finish_bar'), count('place')]).toEqual([1, 2, 1, 0]);
    const orders = Object.entries(snapshot.counters).filter(([series, value]) => series.startsWith('trading_orders_total') && value > 0);
    expect(orders).toEqual([]);
    expect(metrics.prometheus()).toContain('trading_tool_execute_duration_seconds_count{tool="pnl"} 2');
    // Logged like every call: an answered read at info, a refused one at warn with its code.
    const logged = lines.map((line) => JSON.parse(line) as { level: string; msg: string; tool?: string; code?: string });
    expect(logged.filter((l) => l.tool === 'finish_bar').map((l) => [l.level, l.msg])).toEqual([['info', 'DryRun: finish_bar -> answered']]);
    expect(logged.filter((l) => l.tool === 'get_pnl').map((l) => [l.level, l.code])).toEqual([
      ['info', undefined],
      ['info', undefined],
      ['warn', 'INVALID_ARGUMENTS'],
    ]);
    tools.close();
  });
});

describe('read tools on the backtest engine (btc-usdt-5m.csv)', () => {
  it('the book is the seeded ladder plus the agent orders; pnl follows the fills and the close', async () => {
    const bars = loadBars(sharedDataFile('btc-usdt-5m.csv'));
    const liquidity = { levels: 5, spreadBps: 2, levelStepBps: 1, sizePerLevel: 0.5 };
    const backend = new BacktestTradingBackend({ symbol: 'BTC-USDT', data: bars, cash: 100_000, liquidity });
    const tools = createTradingTools({ backend, mode: 'Direct', clockStartMs: bars.timestamp[0], logger: silentLogger });
    cleanups.push(() => {
      tools.close();
      return undefined;
    });
    const seen: Array<{ step: number; book?: BookSnapshotResult; pnl?: PnlResult }> = [];
    let restingBid = Number.NaN;
    const replay = new BacktestReplay(backend, {
      clock: tools,
      onStep: async (step) => {
        if (step.index === 0) {
          await expect(read(tools.getPnl, {})).resolves.toMatchObject({ positions: [], total_unrealized_pnl: 0, realized_pnl_today: 0 });
          await ack(tools.placeOrder, market('BTC-USDT', 'Buy', 1));
          restingBid = Math.floor((bars.low[0] as number) * 0.9);
          await ack(tools.placeOrder, limit('BTC-USDT', 'Buy', 0.25, restingBid));
          seen.push({ step: 0, book: await read<BookSnapshotResult>(tools.getBookSnapshot, { symbol: 'BTC-USDT', levels: 50 }) });
        }
        if (step.index === 5) seen.push({ step: 5, pnl: await read<PnlResult>(tools.getPnl, { symbol: 'BTC-USDT' }) });
        if (step.index === 6) {
          await ack(tools.placeOrder, market('BTC-USDT', 'Sell', 0.4));
          seen.push({ step: 6, pnl: await read<PnlResult>(tools.getPnl, {}) });
        }
      },
    });
    await replay.run({ maxSteps: 7 });

    const book = seen[0]?.book as BookSnapshotResult;
    const close0 = bars.close[0] as number;
    expect(book.symbol).toBe('BTC-USDT');
    expect(book.as_of_ms).toBe(bars.timestamp[0]);
    // What the engine holds: the ladder around the close (what the market buy did not take) and the agent's bid.
    expect(book.bids.at(-1)).toEqual({ price: restingBid, quantity: 0.25 });
    expect(book.bids.slice(0, -1)).toHaveLength(5);
    expect(book.asks.length).toBeGreaterThan(0);
    for (const side of [book.bids, book.asks]) for (const level of side) expect(level.quantity).toBeGreaterThan(0);
    expect(book.bids.map((l) => l.price)).toEqual([...book.bids.map((l) => l.price)].sort((a, b) => b - a));
    expect(book.asks.map((l) => l.price)).toEqual([...book.asks.map((l) => l.price)].sort((a, b) => a - b));
    expect(book.bids[0]?.price).toBeLessThan(close0);
    expect(book.asks[0]?.price).toBeGreaterThan(close0);

    // The market buy of 1 took two ladder levels of 0.5: its entry is their average.
    const buys = backend.fills.filter((f) => f.side === 'Buy');
    const sell = backend.fills.find((f) => f.side === 'Sell');
    expect(buys.reduce((sum, f) => sum + f.quantity, 0)).toBeCloseTo(1, 9);
    const entry = buys.reduce((sum, f) => sum + f.price * f.quantity, 0);
    const close5 = bars.close[5] as number;
    const at5 = seen[1]?.pnl as PnlResult;
    expect(at5.positions).toHaveLength(1);
    expect(at5.positions[0]).toMatchObject({ symbol: 'BTC-USDT', quantity: 1, mark_price: close5 });
    expect(at5.positions[0]?.entry_price).toBeCloseTo(entry, 6);
    expect(at5.positions[0]?.unrealized_pnl).toBeCloseTo(close5 - entry, 6);
    expect(at5.positions[0]?.unrealized_pnl_pct).toBeCloseTo(((close5 - entry) / entry) * 100, 6);
    expect(at5.total_unrealized_pnl).toBeCloseTo(close5 - entry, 6);
    expect([at5.realized_pnl_today, at5.as_of_ms]).toEqual([0, bars.timestamp[5]]);

    expect(sell?.side).toBe('Sell');
    const at6 = seen[2]?.pnl as PnlResult;
    expect(at6.realized_pnl_today).toBeCloseTo(((sell?.price as number) - entry) * 0.4, 6);
    expect(at6.realized_pnl_today).toBeCloseTo(sell?.realizedPnl as number, 9);
    expect(at6.positions[0]).toMatchObject({ quantity: 0.6, mark_price: bars.close[6] });
    expect(at6.positions[0]?.entry_price).toBeCloseTo(entry, 6);
  });
});

describe('read tools on the exchange backend (ccxt against the fake Binance)', () => {
  it('get_book_snapshot is fetchOrderBook: other traders and our own bids, best first, cut to levels', async () => {
    const venue = await startFakeBinance({ apiKey: 'kX9pTestApiKey0123456789abcdefABCDEFkey', apiSecret: 'sQ7zTestSecret9876543210zyxwvuZYXWVUsecret' });
    cleanups.push(() => venue.close());
    const backend = new ExchangeTradingBackend({
      exchange: 'binance',
      apiKey: 'kX9pTestApiKey0123456789abcdefABCDEFkey',
      apiSecret: 'sQ7zTestSecret9876543210zyxwvuZYXWVUsecret',
      timeoutMs: 2_000,
      urls: venue.baseUrl,
    });
    const { tools } = setup({ backend, mode: 'Direct', backendTimeoutMs: 8_000, clockStartMs: undefined });
    cleanups.push(() => {
      tools.close();
      return undefined;
    });
    venue.setDepth('BTCUSDT', {
      bids: [[19_999.5, 0.8], [19_999, 1.2], [19_998, 2], [19_990, 3]],
      asks: [[20_000.5, 0.7], [20_001, 1.1], [20_003, 4]],
    });
    await ack(tools.placeOrder, limit('BTC-USDT', 'Buy', 0.01, 19_999));
    const book = await read<BookSnapshotResult>(tools.getBookSnapshot, { symbol: 'BTC-USDT', levels: 3 });
    expect(book.symbol).toBe('BTC-USDT');
    expect(book.bids).toEqual([
      { price: 19_999.5, quantity: 0.8 },
      { price: 19_999, quantity: 1.21 },
      { price: 19_998, quantity: 2 },
    ]);
    expect(book.asks).toEqual([
      { price: 20_000.5, quantity: 0.7 },
      { price: 20_001, quantity: 1.1 },
      { price: 20_003, quantity: 4 },
    ]);
    expect(Number.isInteger(book.as_of_ms) && book.as_of_ms > 0).toBe(true);
    const depth = venue.requests.filter((r) => r.path === '/api/v3/depth');
    expect(depth.map((r) => [r.params.symbol, r.params.limit])).toEqual([['BTCUSDT', '5']]);
    expect(depth[0]?.apiKeyHeader).toBeUndefined();

    // Spot: holdings at their ticker, the entry from the account's trades when they account for the
    // whole balance. The BTC was deposited (no trade): its entry is unknown, so no PnL is made up.
    await ack(tools.placeOrder, market('ETH-USDT', 'Buy', 0.01));
    venue.setPrice('ETHUSDT', 1_550);
    const pnl = await read<PnlResult>(tools.getPnl, {});
    expect(pnl.positions).toEqual([
      { symbol: 'BTC-USDT', quantity: 1, entry_price: null, mark_price: 20_000, unrealized_pnl: null, unrealized_pnl_pct: null },
      { symbol: 'ETH-USDT', quantity: 0.01, entry_price: 1_500, mark_price: 1_550, unrealized_pnl: 0.5, unrealized_pnl_pct: 3.33333333333 },
    ]);
    expect([pnl.total_unrealized_pnl, pnl.realized_pnl_today]).toEqual([null, null]);
    expect(await read<PnlResult>(tools.getPnl, { symbol: 'ETH-USDT' })).toMatchObject({ total_unrealized_pnl: 0.5 });
    // A sell reduces at the average cost: the rest keeps its entry.
    await ack(tools.placeOrder, market('ETH-USDT', 'Sell', 0.004));
    expect((await read<PnlResult>(tools.getPnl, { symbol: 'ETH-USDT' })).positions).toEqual([
      { symbol: 'ETH-USDT', quantity: 0.006, entry_price: 1_500, mark_price: 1_550, unrealized_pnl: 0.3, unrealized_pnl_pct: 3.33333333333 },
    ]);
    expect(venue.requests.filter((r) => r.path === '/api/v3/myTrades').every((r) => r.apiKeyHeader !== undefined)).toBe(true);

    venue.inject('GET /api/v3/depth', { kind: 'bad-symbol' });
    expect((await rejection(tools.getBookSnapshot, '{"symbol":"BTC-USDT"}')).code).toMatch(/^BACKEND_/);
    venue.inject('GET /api/v3/depth', { kind: 'respond', body: () => ({ lastUpdateId: 1, bids: [['abc', '1']], asks: [] }) });
    const garbled = await rejection(tools.getBookSnapshot, '{"symbol":"BTC-USDT"}');
    expect(garbled.code).toBe('BACKEND_OTHER');
    expect(garbled.message).toContain('the order book of BTC/USDT');
  });
});

describe('read tools on the OMS backend (the real axon-oms binary)', () => {
  it('get_pnl from the OMS positions and marks; get_book_snapshot refused: the OMS keeps no book', async () => {
    const server = await startOms();
    cleanups.push(() => server.kill());
    const { tools } = setup({ backend: new OmsTradingBackend({ baseUrl: server.url, timeoutMs: 2_000 }), mode: 'Direct', backendTimeoutMs: 8_000, clockStartMs: undefined });
    cleanups.push(() => {
      tools.close();
      return undefined;
    });
    const placed = await ack(tools.placeOrder, limit('BTC-USDT', 'Buy', 0.5, 19_000));
    const id = placed.order_id as string;
    for (const status of ['submitted', 'acknowledged']) expect((await server.call('POST', `/orders/${id}/transition`, { status })).status).toBe(200);
    expect((await server.call('POST', `/orders/${id}/fills`, { quantity: 0.5, price: 19_000 })).status).toBe(200);
    expect((await server.call('POST', '/marks', { symbol: 'BTC-USDT', price: 19_500 })).status).toBe(200);
    const pnl = await read<PnlResult>(tools.getPnl, { symbol: 'BTC-USDT' });
    expect(pnl.positions).toEqual([{ symbol: 'BTC-USDT', quantity: 0.5, entry_price: 19_000, mark_price: 19_500, unrealized_pnl: 250, unrealized_pnl_pct: 2.63157894737 }]);
    expect([pnl.total_unrealized_pnl, pnl.realized_pnl_today]).toEqual([250, null]);
    const refused = await rejection(tools.getBookSnapshot, '{"symbol":"BTC-USDT","levels":5}');
    expect(refused).toBeInstanceOf(ToolError);
    expect(refused.toJSON()).toEqual({
      error_type: 'ExecutionFailed',
      source: 'Backend',
      code: 'BACKEND_OTHER',
      message: 'Backend: other: get_book_snapshot is not supported by the oms backend (it has no order book)',
    });
  });
});
