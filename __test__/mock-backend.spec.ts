// The in-memory venue and the tools' handling of its failures: injected kinds, timeouts, idempotent
// client ids, push events keeping the guard's view current.
import { describe, expect, it } from 'vitest';

import { BackendError, MockTradingBackend, type BackendEvent, type SyncOrderOps, type TradingBackend } from '../ts/index';
import { ack, limit, market, rejection, setup, T0 } from './harness';
import { ManualClock } from './support/manual-clock';

/** One turn of the event loop: promises the test released get to run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('MockTradingBackend', () => {
  it('rests, fills on a price move, tracks position, cash and fills', async () => {
    const backend = new MockTradingBackend({ cash: 100_000, referencePrices: { 'BTC-USDT': 20_000 }, now: () => T0 });
    const resting = await backend.placeOrder({ symbol: 'BTC-USDT', side: 'Buy', quantity: 1, orderType: 'Limit', price: 19_000, timeInForce: 'GTC', clientOrderId: 'a' });
    expect(resting.status).toBe('New');
    expect((await backend.getBalance())[0]).toEqual({ asset: 'USDT', free: 81_000, locked: 19_000 });
    backend.setReferencePrice('BTC-USDT', 18_900);
    expect(backend.openOrders()).toEqual([]);
    expect(backend.fills).toEqual([{ orderId: resting.orderId, symbol: 'BTC-USDT', side: 'Buy', price: 19_000, quantity: 1, timestampMs: T0 }]);
    expect(await backend.getPositions()).toEqual([{ symbol: 'BTC-USDT', quantity: 1, averagePrice: 19_000 }]);
    const sold = await backend.placeOrder({ symbol: 'BTC-USDT', side: 'Sell', quantity: 1, orderType: 'Market', timeInForce: 'GTC', clientOrderId: 'b' });
    expect(sold.status).toBe('Filled');
    expect(await backend.getPositions()).toEqual([]);
    expect((await backend.getBalance())[0]?.free).toBe(100_000 - 19_000 + 18_900);
  });

  it('is idempotent on the client order id', async () => {
    const backend = new MockTradingBackend({ referencePrices: { 'BTC-USDT': 20_000, 'ETH-USDT': 1_000 } });
    const request = { symbol: 'BTC-USDT', side: 'Buy' as const, quantity: 1, orderType: 'Limit' as const, price: 1, timeInForce: 'GTC' as const, clientOrderId: 'same' };
    const first = await backend.placeOrder(request);
    const sold = await backend.placeOrder({ symbol: 'ETH-USDT', side: 'Sell', quantity: 2.5, orderType: 'Market', timeInForce: 'GTC', clientOrderId: 'eth' });
    expect(await backend.placeOrder(request)).toEqual(first);
    // The remembered ack is the first one, field for field, even after the order changed.
    await backend.cancelOrder(first.orderId);
    expect(await backend.placeOrder(request)).toEqual({ ...first, status: 'New', filledQuantity: 0 });
    expect(await backend.placeOrder({ ...request, symbol: 'ETH-USDT', clientOrderId: 'eth' })).toEqual(sold);
    expect(sold).toMatchObject({ symbol: 'ETH-USDT', side: 'Sell', quantity: 2.5, status: 'Filled', filledQuantity: 2.5 });
    expect(backend.openOrders()).toHaveLength(0);
    expect(backend.acceptedOrders()).toBe(2);
  });

  it('remembers client ids within its history window, and forgets the oldest beyond it', async () => {
    const backend = new MockTradingBackend({ cash: 1e9, referencePrices: { 'BTC-USDT': 20_000 }, historyLimit: 3 });
    const order = (id: string) => ({ symbol: 'BTC-USDT', side: 'Buy' as const, quantity: 0.1, orderType: 'Market' as const, timeInForce: 'GTC' as const, clientOrderId: id });
    const first = await backend.placeOrder(order('a'));
    await backend.placeOrder(order('b'));
    const c = await backend.placeOrder(order('c'));
    expect(await backend.placeOrder(order('a'))).toEqual(first); // still in the window
    const d = await backend.placeOrder(order('d')); // pushes `a` out
    const again = await backend.placeOrder(order('a'));
    expect(again.orderId).not.toBe(first.orderId);
    expect(backend.acceptedOrders()).toBe(5);
    // The fill history keeps the 3 most recent fills, oldest first.
    expect(backend.fills.map((f) => f.orderId)).toEqual([c.orderId, d.orderId, again.orderId]);
    expect(() => new MockTradingBackend({ historyLimit: 0 })).toThrow(/historyLimit/);
  });

  it('keeps open quantities and locked cash right through rest, replace, fill and cancel', async () => {
    const backend = new MockTradingBackend({ cash: 100_000, referencePrices: { 'BTC-USDT': 20_000, 'ETH-USDT': 1_000 } });
    const events: BackendEvent[] = [];
    backend.subscribe((event) => events.push(event));
    const lastMarket = (symbol: string) => events.filter((e) => e.type === 'market' && e.symbol === symbol).at(-1);
    // Kept incrementally, so equal to the book's sums up to float rounding; an empty book is exactly 0.
    const expectOpen = (symbol: string, buy: number, sell: number) => {
      const m = lastMarket(symbol) as Extract<BackendEvent, { type: 'market' }>;
      expect(m.openBuyQuantity).toBeCloseTo(buy, 12);
      expect(m.openSellQuantity).toBeCloseTo(sell, 12);
    };
    const place = (symbol: string, side: 'Buy' | 'Sell', quantity: number, price: number, id: string) =>
      backend.placeOrder({ symbol, side, quantity, orderType: 'Limit', price, timeInForce: 'GTC', clientOrderId: id });
    const b1 = await place('BTC-USDT', 'Buy', 0.1, 19_000, 'b1');
    await place('BTC-USDT', 'Buy', 0.2, 18_000, 'b2');
    await place('BTC-USDT', 'Sell', 0.3, 21_000, 's1');
    await place('ETH-USDT', 'Buy', 2, 900, 'e1');
    expectOpen('BTC-USDT', 0.3, 0.3);
    expect((await backend.getBalance())[0]).toEqual({ asset: 'USDT', free: 100_000 - 1_900 - 3_600 - 1_800, locked: 1_900 + 3_600 + 1_800 });
    await backend.replaceOrder({ orderId: b1.orderId, quantity: 0.5 });
    expectOpen('BTC-USDT', 0.7, 0.3);
    backend.setReferencePrice('BTC-USDT', 18_500); // fills the 0.5 @ 19,000
    expect(lastMarket('BTC-USDT')).toMatchObject({ position: 0.5 });
    expectOpen('BTC-USDT', 0.2, 0.3);
    expect((await backend.getBalance())[0]?.locked).toBeCloseTo(3_600 + 1_800, 9);
    for (const o of backend.openOrders()) await backend.cancelOrder(o.orderId);
    expect(lastMarket('BTC-USDT')).toMatchObject({ openBuyQuantity: 0, openSellQuantity: 0 });
    expect(lastMarket('ETH-USDT')).toMatchObject({ openBuyQuantity: 0, openSellQuantity: 0 });
    expect((await backend.getBalance())[0]).toEqual({ asset: 'USDT', free: 100_000 - 0.5 * 19_000, locked: 0 });
  });

  it('pushes pnl events only to listeners that ask for them', async () => {
    const backend = new MockTradingBackend({ referencePrices: { 'BTC-USDT': 20_000 } });
    const plain: BackendEvent[] = [];
    const withPnl: BackendEvent[] = [];
    backend.subscribe((e) => plain.push(e));
    const stop = backend.subscribe((e) => withPnl.push(e), { pnl: true });
    await backend.placeOrder({ symbol: 'BTC-USDT', side: 'Buy', quantity: 1, orderType: 'Market', timeInForce: 'GTC', clientOrderId: 'p' });
    backend.setReferencePrice('BTC-USDT', 19_000);
    expect(plain.map((e) => e.type)).toEqual(['market', 'market']);
    expect(withPnl.filter((e) => e.type === 'pnl').at(-1)).toEqual({ type: 'pnl', dailyPnl: -1_000 });
    stop();
    backend.setReferencePrice('BTC-USDT', 19_500);
    expect(withPnl.filter((e) => e.type === 'pnl')).toHaveLength(2);
  });

  it('IOC that cannot trade is cancelled, never rests', async () => {
    const backend = new MockTradingBackend({ referencePrices: { 'BTC-USDT': 20_000 } });
    const ioc = await backend.placeOrder({ symbol: 'BTC-USDT', side: 'Buy', quantity: 1, orderType: 'Limit', price: 1, timeInForce: 'IOC', clientOrderId: 'i' });
    expect(ioc.status).toBe('Cancelled');
    expect(backend.openOrders()).toEqual([]);
  });

  it('injects failures by operation, kind and count', async () => {
    const backend = new MockTradingBackend({ referencePrices: { 'BTC-USDT': 20_000 } });
    backend.injectFailure('getReferencePrice', 'network', 2, 'link down');
    await expect(backend.getReferencePrice('BTC-USDT')).rejects.toMatchObject({ kind: 'network', message: 'link down' });
    await expect(backend.getReferencePrice('BTC-USDT')).rejects.toBeInstanceOf(BackendError);
    expect(await backend.getReferencePrice('BTC-USDT')).toBe(20_000);
    expect(backend.calls.getReferencePrice).toBe(3);
  });

  it('insufficient funds and unknown symbols are definite rejections', async () => {
    const backend = new MockTradingBackend({ cash: 10, referencePrices: { 'BTC-USDT': 20_000 } });
    await expect(backend.placeOrder({ symbol: 'BTC-USDT', side: 'Buy', quantity: 1, orderType: 'Market', timeInForce: 'GTC', clientOrderId: 'x' })).rejects.toMatchObject({ kind: 'insufficient_funds' });
    await expect(backend.placeOrder({ symbol: 'NOPE-USDT', side: 'Buy', quantity: 1, orderType: 'Market', timeInForce: 'GTC', clientOrderId: 'y' })).rejects.toMatchObject({ kind: 'symbol_not_found' });
  });
});

describe('tools over the mock', () => {
  it('a backend slower than backendTimeoutMs fails as BACKEND_TIMEOUT and keeps the daily slot', async () => {
    // The venue answers only when the test lets it, and the tools' deadline runs on a clock the test
    // moves: the deadline alone decides, with no real wait, whatever the machine's speed.
    const waiting: Array<{ ms: number; answer: () => void }> = [];
    const delay = (ms: number) => new Promise<void>((answer) => waiting.push({ ms, answer }));
    const backend = new MockTradingBackend({ referencePrices: { 'BTC-USDT': 20_000 }, latencyMs: 200, delay, now: () => T0 });
    const clock = new ManualClock();
    const { tools, metrics } = setup({ mode: 'Direct', backend, backendTimeoutMs: 50, risk: { maxDailyOrders: 5 }, deadlineClock: clock });
    let settled = false;
    const outcome = rejection(tools.placeOrder, market('BTC-USDT', 'Buy', 0.1)).finally(() => {
      settled = true;
    });
    for (let turn = 0; turn < 100 && waiting.length === 0; turn++) await settle();
    expect(waiting).toHaveLength(1); // the order call is at the venue, held there
    expect(clock.activeTimers).toBe(1); // its deadline is swept on the test's clock
    clock.advance(49);
    await settle();
    expect(settled).toBe(false); // 1 ms short of the deadline: still waiting for the venue
    expect(tools.state()).toMatchObject({ inflight: 1 });
    clock.advance(1);
    const error = await outcome;
    expect([error.code, error.message]).toEqual(['BACKEND_TIMEOUT', 'Backend: timeout: mock did not answer within 50 ms']);
    expect(clock.activeTimers).toBe(0); // nothing left in flight: the sweep stopped
    expect(waiting.map((w) => w.ms)).toEqual([200]); // the order call was still waiting out its latency
    expect(backend.calls.placeOrder).toBe(0);
    expect(tools.state()).toMatchObject({ dailyOrders: 1, inflight: 0 });
    expect(metrics.snapshot().counters['trading_backend_errors_total{backend="mock",kind="timeout"}']).toBe(1);
    // The venue answers late: the order exists there, and the timed-out call stays reported once.
    waiting[0]?.answer();
    await settle();
    expect(backend.calls.placeOrder).toBe(1);
    expect(backend.acceptedOrders()).toBe(1);
    expect(tools.state()).toMatchObject({ dailyOrders: 1, inflight: 0 });
    expect(metrics.snapshot().counters['trading_backend_errors_total{backend="mock",kind="timeout"}']).toBe(1);
    expect(metrics.snapshot().counters['trading_orders_total{tool="place",side="buy",status="success"}']).toBe(0);
  });

  it('a deadlineClock without now() and every() is refused naming the option', () => {
    const halfClock = { now: () => 0 } as unknown as ManualClock;
    expect(() => setup({ mode: 'Direct', deadlineClock: halfClock })).toThrow(
      /^axon-llm: invalid trading tools options: deadlineClock: deadlineClock must have now\(\) and every\(intervalMs, tick\)/,
    );
  });

  // Each failure runs through both ways the tools call a backend: its promises (a remote venue) and
  // its synchronous `syncOrders` (an in-process one).
  for (const synchronous of [false, true]) {
    const via = synchronous ? 'syncOrders' : 'promises';

    it(`a backend that throws a non-BackendError is reported as BACKEND_OTHER (${via})`, async () => {
      const backend = new MockTradingBackend({ referencePrices: { 'BTC-USDT': 20_000 }, synchronous });
      const broken = new TypeError('undefined is not a function');
      if (synchronous) {
        (backend.syncOrders as SyncOrderOps).placeOrder = () => {
          throw broken;
        };
      } else {
        backend.placeOrder = () => Promise.reject(broken);
      }
      const { tools } = setup({ mode: 'Direct', backend });
      const error = await rejection(tools.placeOrder, market('BTC-USDT', 'Buy', 0.1));
      expect([error.code, error.message]).toEqual(['BACKEND_OTHER', 'Backend: other: undefined is not a function']);
      expect(tools.state().inflight).toBe(0);
    });

    it(`an ack with a status outside the contract fails the call and settles it, nothing left in flight (${via})`, async () => {
      const backend = new MockTradingBackend({ referencePrices: { 'BTC-USDT': 20_000 }, synchronous });
      if (synchronous) {
        const ops = backend.syncOrders as SyncOrderOps;
        const place = ops.placeOrder.bind(ops);
        ops.placeOrder = (request) => ({ ...place(request), status: 'Accepted' as 'New' });
      } else {
        const place = backend.placeOrder.bind(backend);
        backend.placeOrder = async (request) => ({ ...(await place(request)), status: 'Accepted' as 'New' });
      }
      const { tools } = setup({ mode: 'Direct', backend, risk: { maxDailyOrders: 5 } });
      const error = await rejection(tools.placeOrder, market('BTC-USDT', 'Buy', 0.1));
      expect(error.code).toBe('BACKEND_OTHER');
      expect(error.message).toMatch(/^Backend: other: mock acknowledged order mock-1 with an unknown status "Accepted"$/);
      // The order may exist at the venue: its daily slot stays taken, and the ticket is settled.
      expect(tools.state()).toMatchObject({ inflight: 0, dailyOrders: 1 });
    });
  }

  it('offers syncOrders only when it can answer at once', () => {
    expect(new MockTradingBackend().syncOrders).toBeDefined();
    expect(new MockTradingBackend({ synchronous: false }).syncOrders).toBeUndefined();
    expect(new MockTradingBackend({ latencyMs: 5 }).syncOrders).toBeUndefined();
  });

  it('an acknowledged cancel echoes the venue\'s symbol and side even for an order the guard never saw', async () => {
    const backend = new MockTradingBackend({ referencePrices: { 'BTC-USDT': 20_000 } });
    const resting = await backend.placeOrder({ symbol: 'BTC-USDT', side: 'Sell', quantity: 1, orderType: 'Limit', price: 25_000, timeInForce: 'GTC', clientOrderId: 'outside' });
    const { tools } = setup({ mode: 'Direct', backend });
    const cancelled = await ack(tools.cancelOrder, JSON.stringify({ order_id: resting.orderId }));
    expect(cancelled).toMatchObject({ order_id: resting.orderId, symbol: 'BTC-USDT', side: 'Sell', status: 'Cancelled' });
    const placed = await ack(tools.placeOrder, market('BTC-USDT', 'Buy', 0.1));
    expect(placed).toMatchObject({ symbol: 'BTC-USDT', side: 'Buy', quantity: 0.1, status: 'Filled' });
  });

  it('market data that cannot be fetched rejects (fail-closed), it is never assumed', async () => {
    const venue = new MockTradingBackend({ referencePrices: { 'BTC-USDT': 20_000 } });
    // The same venue without a push feed: the tools must fetch what the guard needs.
    const polled: TradingBackend = {
      name: 'mock',
      placeOrder: (r) => venue.placeOrder(r),
      cancelOrder: (id) => venue.cancelOrder(id),
      replaceOrder: (r) => venue.replaceOrder(r),
      getBalance: () => venue.getBalance(),
      getPositions: () => venue.getPositions(),
      getPortfolio: () => venue.getPortfolio(),
      getReferencePrice: (symbol) => venue.getReferencePrice(symbol),
      getOpenOrders: () => venue.getOpenOrders(),
    };
    const { tools } = setup({ mode: 'Direct', backend: polled, risk: { maxPositionAbs: 1 } });
    venue.injectFailure('getPositions', 'network');
    const error = await rejection(tools.placeOrder, limit('BTC-USDT', 'Buy', 0.1, 20_000));
    expect(error.code).toBe('MAX_POSITION_ABS');
    expect(error.message).toBe("RiskLimits: position of 'BTC-USDT' is unknown, so max_position_abs cannot be checked");
    expect(venue.calls.placeOrder).toBe(0);
    expect((await ack(tools.placeOrder, limit('BTC-USDT', 'Buy', 0.1, 20_000))).status).toBe('Filled');
    expect(venue.calls.getPositions).toBe(2);
  });

  it('query_portfolio filters by symbol and shows open orders', async () => {
    const { tools } = setup({ mode: 'Direct' });
    await ack(tools.placeOrder, market('BTC-USDT', 'Buy', 0.25));
    await ack(tools.placeOrder, limit('ETH-USDT', 'Buy', 1, 1_000));
    const all = JSON.parse(await tools.queryPortfolio.execute('')) as { positions: unknown[]; open_orders: unknown[] };
    expect(all.positions).toEqual([{ symbol: 'BTC-USDT', quantity: 0.25, average_price: 20_000 }]);
    expect(all.open_orders).toHaveLength(1);
    const eth = JSON.parse(await tools.queryPortfolio.execute('{"symbol":"ETH-USDT"}')) as { positions: unknown[]; open_orders: Array<{ symbol: string }> };
    expect(eth.positions).toEqual([]);
    expect(eth.open_orders.map((o) => o.symbol)).toEqual(['ETH-USDT']);
  });
});

describe('a backend pushing invalid market data', () => {
  it('makes the guard forget the symbol and fetch again, never trust the old push', async () => {
    const venue = new MockTradingBackend({ referencePrices: { 'BTC-USDT': 20_000 } });
    let push: ((event: BackendEvent) => void) | undefined;
    const feed: TradingBackend = Object.assign(Object.create(venue) as MockTradingBackend, {
      subscribe: (listener: (event: BackendEvent) => void) => {
        push = listener;
        return () => undefined;
      },
    });
    const { tools, lines } = setup({ mode: 'Direct', backend: feed, risk: { maxPositionAbs: 1 } });
    // NaN, and a number sent as a string (a loose backend), are both refused, never coerced.
    for (const bad of [{ position: Number.NaN }, { openBuyQuantity: '0.5' as unknown as number }]) {
      lines.length = 0;
      push?.({ type: 'market', symbol: 'BTC-USDT', referencePrice: 20_000, position: 0, openBuyQuantity: 0, openSellQuantity: 0 });
      push?.({ type: 'market', symbol: 'BTC-USDT', referencePrice: 20_000, position: 0, openBuyQuantity: 0, openSellQuantity: 0, ...bad });
      expect(lines.some((l) => l.includes('BackendError: invalid market event'))).toBe(true);
      const before = venue.calls.getPositions;
      await ack(tools.placeOrder, market('BTC-USDT', 'Buy', 0.1));
      expect(venue.calls.getPositions).toBe(before + 1); // fetched, not trusted
    }
  });
});
