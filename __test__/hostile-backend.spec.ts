// A backend that answers garbage (issue 18 items 3 and 4): malformed push events from a timer, and
// acks, getters and order ops that are unusable. The host lives, every call is settled and the
// guard fails closed.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { BackendError, dispatchToolCall, MockTradingBackend, type OrderAck, type OrderRequest, type SyncOrderOps, type TradingBackend } from '../ts/index';
import { parseBackendEvent, parseOrderAck } from '../ts/backend-answers';
import { ack, limit, rejection, setup, T0 } from './harness';

const DIST = join(__dirname, '..', 'dist', 'ts', 'index.js');

/**
 * Runs in its own Node process (built package): a mock venue whose push feed also delivers, from
 * timers, `null`, a market event with a numeric symbol, a market event with a non-numeric position
 * for a traded symbol and an order event with a numeric id. Prints what it saw as one JSON line.
 */
const HOSTILE_FEED_PROGRAM = `
const { createTradingTools, MockTradingBackend, jsonLineLogger } = require(${JSON.stringify(DIST)});
const lines = [];
class HostileFeed extends MockTradingBackend {
  subscribe(listener, topics) {
    this.hostile = listener;
    return super.subscribe(listener, topics);
  }
}
const backend = new HostileFeed({ referencePrices: { 'BTC-USDT': 20000 }, now: () => ${T0} });
const tools = createTradingTools({
  backend,
  mode: 'Direct',
  risk: { maxPositionAbs: 10 },
  clockStartMs: ${T0},
  logger: jsonLineLogger({ level: 'trace', write: (line) => lines.push(line) }),
});
const order = (qty) => JSON.stringify({ symbol: 'BTC-USDT', side: 'Buy', quantity: qty, price: 19000 });
const bad = [
  null,
  { type: 'market', symbol: 42, referencePrice: 20000, position: 0, openBuyQuantity: 0, openSellQuantity: 0 },
  { type: 'market', symbol: 'BTC-USDT', referencePrice: 20000, position: 'lots', openBuyQuantity: 0, openSellQuantity: 0 },
  { type: 'order', orderId: 7, symbol: 'BTC-USDT', side: 'Buy', price: 1, remaining: 1 },
];
backend.setReferencePrice('BTC-USDT', 20000); // a valid push: the guard trades on pushed data
tools.placeOrder.execute(order(1)).then((first) => {
  const fetchesBefore = backend.calls.getReferencePrice;
  const next = () => {
    if (bad.length > 0) {
      backend.hostile(bad.shift());
      setTimeout(next, 1);
      return;
    }
    tools.placeOrder.execute(order(1)).then((second) => {
      console.log(JSON.stringify({ first: JSON.parse(first).status, second: JSON.parse(second).status, fetchesBefore, fetchesAfter: backend.calls.getReferencePrice, lines }));
      tools.close();
    });
  };
  setTimeout(next, 1);
});
`;

describe('malformed push events (issue 18.3)', () => {
  it('null, a numeric symbol, a bad field: logged as BackendError, the symbol fails closed, the process lives', () => {
    const dir = mkdtempSync(join(tmpdir(), 'axon-hostile-'));
    const program = join(dir, 'hostile-feed.cjs');
    writeFileSync(program, HOSTILE_FEED_PROGRAM);
    const run = spawnSync(process.execPath, [program], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const seen = JSON.parse(run.stdout) as { first: string; second: string; fetchesBefore: number; fetchesAfter: number; lines: string[] };
    expect([seen.first, seen.second]).toEqual(['New', 'New']);
    const errors = seen.lines.map((line) => JSON.parse(line) as { level: string; msg: string }).filter((l) => l.level === 'error');
    expect(errors.map((e) => e.msg)).toEqual([
      expect.stringMatching(/^BackendError: invalid event from mock: \(event\): /),
      expect.stringMatching(/^BackendError: invalid market event from mock: symbol: /),
      expect.stringMatching(/^BackendError: invalid market event from mock: position: /),
      expect.stringMatching(/^BackendError: invalid order event from mock: orderId: /),
    ]);
    // The bad push for BTC-USDT made the guard forget its pushed data: the next order fetched it.
    expect(seen.fetchesBefore).toBe(0);
    expect(seen.fetchesAfter).toBe(1);
  });
});

/**
 * The mock venue with its place answered by `answer` (given the request and a function that really
 * places it), through its promises or its `syncOrders`; `push: false` removes its push feed, so the
 * guard works on fetched snapshots only.
 */
function hostileVenue(synchronous: boolean, push: boolean, answer: (place: () => OrderAck) => unknown): { venue: MockTradingBackend; backend: TradingBackend } {
  const venue = new MockTradingBackend({ referencePrices: { 'BTC-USDT': 20_000 }, now: () => T0 });
  const ops = venue.syncOrders as SyncOrderOps;
  const place = ops.placeOrder.bind(ops);
  const hostile = (request: OrderRequest) => answer(() => place(request)) as OrderAck;
  const backend = Object.create(venue) as MockTradingBackend;
  if (synchronous) {
    ops.placeOrder = hostile;
  } else {
    Object.defineProperty(backend, 'syncOrders', { value: undefined });
    backend.placeOrder = (request) => Promise.resolve().then(() => hostile(request));
  }
  if (!push) Object.defineProperty(backend, 'subscribe', { value: undefined });
  return { venue, backend };
}

/** The mock venue without its push feed: the guard fetches snapshots. */
function pulledVenue(): { venue: MockTradingBackend; backend: MockTradingBackend } {
  const venue = new MockTradingBackend({ referencePrices: { 'BTC-USDT': 20_000 }, now: () => T0 });
  const backend = Object.create(venue) as MockTradingBackend;
  Object.defineProperty(backend, 'subscribe', { value: undefined });
  return { venue, backend };
}

describe('unusable backend answers (issue 18.4)', () => {
  for (const synchronous of [false, true]) {
    const via = synchronous ? 'syncOrders' : 'promises';

    it(`a null ack or one without a string order id settles the call as BACKEND_OTHER, slot kept (${via})`, async () => {
      for (const [bad, field] of [
        [null, '(the order call)'],
        [{ orderId: 42, symbol: 'BTC-USDT', side: 'Buy', quantity: 0.1, status: 'New', timestampMs: T0 }, 'orderId'],
      ] as const) {
        const { backend } = hostileVenue(synchronous, true, () => bad);
        const { tools, lines } = setup({ mode: 'Direct', backend, risk: { maxPositionAbs: 10 } });
        const error = await rejection(tools.placeOrder, limit('BTC-USDT', 'Buy', 0.1, 19_000));
        expect(error.code).toBe('BACKEND_OTHER');
        expect(error.message.startsWith(`Backend: other: mock answered the order call unusably: ${field}: `)).toBe(true);
        expect(tools.state()).toMatchObject({ inflight: 0, dailyOrders: 1 });
        expect(lines.some((l) => l.includes('"level":"error"') && l.includes('BackendError (other)'))).toBe(true);
        // Trading goes on: the next call is decided, not locked.
        expect((await ack(tools.queryPortfolio, '{}')).balances).toBeDefined();
      }
    });

    it(`an unknown outcome keeps its exposure until a fetched snapshot shows whether the order rests (${via})`, async () => {
      // The venue placed the order but its ack is unusable: the next order sees it and is refused.
      const placedAnyway = hostileVenue(synchronous, false, (place) => (place(), null));
      const first = setup({ mode: 'Direct', backend: placedAnyway.backend, risk: { maxPositionAbs: 1 } });
      expect((await rejection(first.tools.placeOrder, limit('BTC-USDT', 'Buy', 1, 19_000))).code).toBe('BACKEND_OTHER');
      const fetches = placedAnyway.venue.calls.getPositions;
      const refused = await rejection(first.tools.placeOrder, limit('BTC-USDT', 'Buy', 1, 19_000));
      expect([refused.code, refused.message]).toEqual(['MAX_POSITION_ABS', 'RiskLimits: projected position 2 exceeds max abs 1']);
      expect(placedAnyway.venue.calls.getPositions).toBe(fetches + 1);
      expect(placedAnyway.venue.openOrders()).toHaveLength(1);

      // The venue never placed it: the snapshot shows nothing, the exposure is released.
      let hostile = true;
      const neverPlaced = hostileVenue(synchronous, false, (place) => (hostile ? { status: 'New' } : place()));
      const second = setup({ mode: 'Direct', backend: neverPlaced.backend, risk: { maxPositionAbs: 1 } });
      expect((await rejection(second.tools.placeOrder, limit('BTC-USDT', 'Buy', 1, 19_000))).code).toBe('BACKEND_OTHER');
      expect(neverPlaced.venue.openOrders()).toHaveLength(0);
      hostile = false;
      expect((await ack(second.tools.placeOrder, limit('BTC-USDT', 'Buy', 1, 19_000))).status).toBe('New');
      expect(second.tools.state()).toMatchObject({ inflight: 0, dailyOrders: 2 });
    });
  }

  it('a syncOrders getter that throws settles the call as BACKEND_OTHER; dispatchToolCall does not throw', async () => {
    const venue = new MockTradingBackend({ referencePrices: { 'BTC-USDT': 20_000 }, now: () => T0 });
    let broken = true;
    Object.defineProperty(venue, 'syncOrders', {
      get(this: MockTradingBackend): SyncOrderOps | undefined {
        if (broken) throw new Error('sync ops unavailable');
        const ops: unknown = Reflect.get(MockTradingBackend.prototype, 'syncOrders', this);
        return ops as SyncOrderOps | undefined;
      },
    });
    const { tools } = setup({ mode: 'Direct', backend: venue, risk: { maxPositionAbs: 1 } });
    const outcome = await dispatchToolCall(tools.tools, 'place_order', limit('BTC-USDT', 'Buy', 1, 19_000));
    expect(outcome).toMatchObject({ ok: false, code: 'BACKEND_OTHER' });
    expect(JSON.parse(outcome.content)).toMatchObject({ code: 'BACKEND_OTHER', message: 'Backend: other: sync ops unavailable' });
    expect(tools.state()).toMatchObject({ inflight: 0, dailyOrders: 1 });
    broken = false;
    expect((await ack(tools.placeOrder, limit('BTC-USDT', 'Buy', 1, 19_000))).status).toBe('New');
  });

  it('getters that throw or answer garbage: the order fails closed, the query fails as BACKEND_OTHER naming the field', async () => {
    const { backend } = pulledVenue();
    const { tools, lines } = setup({ mode: 'Direct', backend, risk: { maxPositionAbs: 1 } });
    backend.getPositions = () => Promise.resolve([{ symbol: 'BTC-USDT', quantity: 'none' }] as never);
    const unknown = await rejection(tools.placeOrder, limit('BTC-USDT', 'Buy', 1, 19_000));
    expect(unknown.message).toBe("RiskLimits: position of 'BTC-USDT' is unknown, so max_position_abs cannot be checked");
    expect(lines.some((l) => l.includes('getPositions') && l.includes('0.quantity'))).toBe(true);
    backend.getPortfolio = () => Promise.resolve(null as never);
    const query = await dispatchToolCall(tools.tools, 'query_portfolio', '{}');
    expect(query).toMatchObject({ ok: false, code: 'BACKEND_OTHER' });
    expect((JSON.parse(query.content) as { message: string }).message).toMatch(/^Backend: other: mock answered getPortfolio unusably: \(getPortfolio\): /);
    expect(tools.state()).toMatchObject({ inflight: 0, dailyOrders: 0 });
  });
});

describe('the redact hook', () => {
  it('removes a secret a backend echoed from the ToolError, the outcome and every log line', async () => {
    const secret = 'sk-live-7f3a9c2e41b8d6f0';
    const redact = (text: string) => text.replaceAll(secret, '[redacted]');
    const { backend } = pulledVenue();
    Object.defineProperty(backend, 'syncOrders', { value: undefined });
    backend.placeOrder = () => Promise.reject(new BackendError('network', `proxy error: Authorization: Bearer ${secret}`));
    backend.getPositions = () => Promise.reject(new Error(`401 for key ${secret}`));
    const { tools, lines } = setup({ mode: 'Direct', backend, risk: { maxPositionAbs: 10 }, redact });
    const failed = await rejection(tools.placeOrder, limit('BTC-USDT', 'Buy', 0.1, 19_000)); // the fetch fails: fail closed
    expect(failed.code).toBe('MAX_POSITION_ABS');
    backend.getPositions = () => Promise.resolve([]);
    const outcome = await dispatchToolCall(tools.tools, 'place_order', limit('BTC-USDT', 'Buy', 0.1, 19_000));
    expect(outcome).toMatchObject({ ok: false, code: 'BACKEND_NETWORK' });
    expect(JSON.parse(outcome.content)).toMatchObject({ message: 'Backend: network: proxy error: Authorization: Bearer [redacted]' });
    const error = await rejection(tools.placeOrder, limit('BTC-USDT', 'Buy', 0.1, 19_000));
    expect(error.message).toBe('Backend: network: proxy error: Authorization: Bearer [redacted]');
    expect(lines.filter((l) => l.includes('[redacted]')).length).toBeGreaterThanOrEqual(3);
    for (const text of [...lines, outcome.content, error.message]) expect(text).not.toContain(secret);
  });
});

describe('backend answer parsing', () => {
  const ack = { orderId: 'o-1', symbol: 'BTC-USDT', side: 'Buy', quantity: 1, status: 'New', timestampMs: T0 };
  const event = { type: 'market', symbol: 'BTC-USDT', referencePrice: 20_000, position: 0, openBuyQuantity: 0, openSellQuantity: 0 };

  it('accepts the contract and refuses every near miss, naming the field', () => {
    expect(parseOrderAck(ack, 'mock')).toEqual(ack);
    expect(parseOrderAck({ ...ack, filledQuantity: 0.5, averagePrice: 1, extra: true }, 'mock')).toMatchObject({ ...ack, filledQuantity: 0.5 });
    for (const [bad, field] of [
      [{ ...ack, orderId: '' }, 'orderId'],
      [{ ...ack, symbol: 7 }, 'symbol'],
      [{ ...ack, side: 'buy' }, 'side'],
      [{ ...ack, quantity: Number.POSITIVE_INFINITY }, 'quantity'],
      [{ ...ack, quantity: Number.NaN }, 'quantity'],
      [{ ...ack, quantity: '1' }, 'quantity'],
      [{ ...ack, timestampMs: undefined }, 'timestampMs'],
      [{ ...ack, averagePrice: null }, 'averagePrice'],
    ] as const) {
      expect(() => parseOrderAck(bad, 'mock'), field).toThrow(new RegExp(`^mock answered the order call unusably: ${field}: `));
    }
    expect(() => parseOrderAck({ ...ack, status: 'Accepted' }, 'mock')).toThrow('mock acknowledged order o-1 with an unknown status "Accepted"');

    expect(parseBackendEvent(event)).toEqual({ ok: true, event });
    expect(parseBackendEvent({ ...event, referencePrice: null }).ok).toBe(true);
    for (const [bad, field] of [
      [{ ...event, referencePrice: Number.NaN }, 'referencePrice'],
      [{ ...event, position: Number.NEGATIVE_INFINITY }, 'position'],
      [{ ...event, symbol: '' }, 'symbol'],
      [{ type: 'order', orderId: 'o', symbol: 'BTC-USDT', side: 'Sell', price: 1, remaining: 1, clientOrderId: 3 }, 'clientOrderId'],
      [{ type: 'pnl', dailyPnl: '5' }, 'dailyPnl'],
    ] as const) {
      const parsed = parseBackendEvent(bad);
      expect(parsed.ok, field).toBe(false);
      if (!parsed.ok) expect(parsed.reason.startsWith(`${field}: `), parsed.reason).toBe(true);
    }
    expect(parseBackendEvent({ type: 'fill' })).toMatchObject({ ok: false, what: 'event' });
  });
});
