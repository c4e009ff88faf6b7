// ExchangeTradingBackend: the real ccxt client against a local Binance spot REST venue on
// loopback (signed requests, a real book and balances, injected faults). No mocks of ccxt.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { BackendError, ExchangeTradingBackend, type TradingBackend } from '../ts/index';
import { ack, limit, market, rejection, setup } from './harness';
import { startFakeBinance, type FakeBinance } from './support/fake-binance';

const API_KEY = 'kX9pTestApiKey0123456789abcdefABCDEFkey';
const API_SECRET = 'sQ7zTestSecret9876543210zyxwvuZYXWVUsecret';

let venue: FakeBinance;

beforeEach(async () => {
  venue = await startFakeBinance({ apiKey: API_KEY, apiSecret: API_SECRET });
});

afterEach(async () => {
  await venue.close();
});

function backend(overrides: { apiSecret?: string; apiKey?: string; timeoutMs?: number } = {}): ExchangeTradingBackend {
  return new ExchangeTradingBackend({
    exchange: 'binance',
    apiKey: overrides.apiKey ?? API_KEY,
    apiSecret: overrides.apiSecret ?? API_SECRET,
    timeoutMs: overrides.timeoutMs ?? 2_000,
    urls: venue.baseUrl,
  });
}

function direct(b: TradingBackend = backend()) {
  return setup({ backend: b, mode: 'Direct', backendTimeoutMs: 8_000, clockStartMs: undefined });
}

const orderPosts = () => venue.count('POST /api/v3/order');

function assertNoSecrets(texts: string[]): void {
  for (const text of texts) {
    expect(text).not.toContain(API_KEY);
    expect(text).not.toContain(API_SECRET);
  }
}

describe('ExchangeTradingBackend over ccxt against a Binance REST venue', () => {
  it('places a resting limit, shows it in the portfolio and cancels it', async () => {
    const { tools, metrics, lines } = direct();
    const placed = await ack(tools.placeOrder, limit('BTC-USDT', 'Buy', 0.01, 19_000));
    expect(placed.status).toBe('New');
    expect(venue.orders).toHaveLength(1);
    const order = venue.orders[0]!;
    expect(order).toMatchObject({ symbol: 'BTCUSDT', side: 'BUY', type: 'LIMIT', price: 19_000, origQty: 0.01, status: 'NEW' });
    expect(order.clientOrderId).toMatch(/\S/);
    // the signed POST carried the key header and the guard's client order id
    const post = venue.requests.find((r) => r.method === 'POST' && r.path === '/api/v3/order')!;
    expect(post.apiKeyHeader).toBe(API_KEY);
    expect(post.params.newClientOrderId).toBe(order.clientOrderId);
    expect(venue.balances.get('USDT')).toEqual({ free: 100_000 - 190, locked: 190 });

    const portfolio = JSON.parse(await tools.queryPortfolio.execute('{}')) as {
      balances: Array<{ asset: string; free: number; locked: number }>;
      positions: Array<{ symbol: string; quantity: number; average_price: number }>;
      open_orders: Array<{ order_id: string; symbol: string; side: string; price: number; remaining: number }>;
    };
    expect(portfolio.open_orders).toEqual([
      { order_id: String(order.orderId), symbol: 'BTC-USDT', side: 'Buy', price: 19_000, quantity: 0.01, remaining: 0.01 },
    ]);
    expect(portfolio.balances).toContainEqual({ asset: 'USDT', free: 99_810, locked: 190 });
    expect(portfolio.positions).toEqual([{ symbol: 'BTC-USDT', quantity: 1, average_price: 0 }]);

    const cancelled = await ack(tools.cancelOrder, `{"order_id":"${String(placed.order_id)}"}`);
    expect(cancelled.status).toBe('Cancelled');
    expect(order.status).toBe('CANCELED');
    expect(venue.balances.get('USDT')).toEqual({ free: 100_000, locked: 0 });
    expect(venue.count('DELETE /api/v3/order')).toBe(1);
    assertNoSecrets([...lines, metrics.prometheus()]);
    tools.close();
  });

  it('fills a market buy at the venue price and derives the spot position from balances', async () => {
    const { tools } = direct();
    const filled = await ack(tools.placeOrder, market('BTC-USDT', 'Buy', 0.5));
    expect(filled).toMatchObject({ status: 'Filled' });
    expect(venue.orders[0]).toMatchObject({ type: 'MARKET', status: 'FILLED', executedQty: 0.5 });
    const portfolio = JSON.parse(await tools.queryPortfolio.execute('{"symbol":"BTC-USDT"}')) as {
      balances: Array<{ asset: string; free: number }>;
      positions: Array<{ symbol: string; quantity: number }>;
    };
    expect(portfolio.positions).toEqual([{ symbol: 'BTC-USDT', quantity: 1.5, average_price: 0 }]);
    expect(portfolio.balances).toContainEqual({ asset: 'USDT', free: 90_000, locked: 0 });
    tools.close();
  });

  it('replaces as cancel + new order with a new client order id', async () => {
    const { tools } = direct();
    const placed = await ack(tools.placeOrder, limit('ETH-USDT', 'Buy', 1, 1_400));
    const replaced = await ack(tools.replaceOrder, `{"order_id":"${String(placed.order_id)}","price":1450.5,"quantity":2}`);
    expect(replaced.status).toBe('Replaced');
    expect(venue.orders).toHaveLength(2);
    const [old, fresh] = venue.orders;
    expect(old!.status).toBe('CANCELED');
    expect(fresh).toMatchObject({ symbol: 'ETHUSDT', price: 1_450.5, origQty: 2, status: 'NEW' });
    expect(fresh!.clientOrderId).not.toBe(old!.clientOrderId);
    expect(String(replaced.order_id)).toBe(String(fresh!.orderId));
    tools.close();
  });

  it('accept-then-timeout: the venue is asked for the client id and no second order is placed', async () => {
    const { tools, lines } = direct(backend({ timeoutMs: 300 }));
    venue.inject('POST /api/v3/order', { kind: 'silent' });
    const result = await ack(tools.placeOrder, limit('BTC-USDT', 'Buy', 0.01, 19_000));
    expect(venue.orders).toHaveLength(1); // exactly one order at the venue
    expect(orderPosts()).toBe(1); // no retry: the query found it
    expect(venue.count('GET /api/v3/order')).toBe(1);
    const lookup = venue.requests.find((r) => r.method === 'GET' && r.path === '/api/v3/order')!;
    expect(lookup.params.origClientOrderId).toBe(venue.orders[0]!.clientOrderId);
    expect(result).toMatchObject({ status: 'New', order_id: String(venue.orders[0]!.orderId) });
    assertNoSecrets(lines);
    tools.close();
  });

  it('accept-then-timeout with the lookup also timing out: BACKEND_TIMEOUT and still one order', async () => {
    const { tools, metrics } = direct(backend({ timeoutMs: 300 }));
    venue.inject('POST /api/v3/order', { kind: 'silent' });
    venue.inject('GET /api/v3/order', { kind: 'silent' });
    const error = await rejection(tools.placeOrder, limit('BTC-USDT', 'Buy', 0.01, 19_000));
    expect(error.code).toBe('BACKEND_TIMEOUT');
    expect(venue.count('GET /api/v3/order')).toBe(1);
    expect(orderPosts()).toBe(1); // unknown outcome: never re-sent
    expect(venue.orders).toHaveLength(1);
    expect(metrics.prometheus()).toContain('trading_backend_errors_total{backend="exchange",kind="timeout"} 1');
    tools.close();
  });

  it('a dropped connection after the order was accepted is recovered the same way', async () => {
    const { tools } = direct(backend({ timeoutMs: 1_000 }));
    venue.inject('POST /api/v3/order', { kind: 'drop' });
    const result = await ack(tools.placeOrder, market('ETH-USDT', 'Buy', 1));
    expect(venue.orders).toHaveLength(1);
    expect(orderPosts()).toBe(1);
    expect(result).toMatchObject({ status: 'Filled', order_id: String(venue.orders[0]!.orderId) });
    tools.close();
  });

  it('a 5xx before the order exists: not found at the venue, retried exactly once', async () => {
    const { tools } = direct();
    venue.inject('POST /api/v3/order', { kind: 'http5xx', status: 503 });
    const result = await ack(tools.placeOrder, limit('BTC-USDT', 'Sell', 0.1, 21_000));
    expect(venue.count('GET /api/v3/order')).toBe(1);
    expect(orderPosts()).toBe(2);
    expect(venue.orders).toHaveLength(1);
    expect(result.status).toBe('New');
    const posts = venue.requests.filter((r) => r.method === 'POST');
    expect(posts[0]!.params.newClientOrderId).toBe(posts[1]!.params.newClientOrderId);
    tools.close();
  });

  it('a wrong secret is refused by the venue (signature) and reported as a backend error of kind other', async () => {
    const wrong = backend({ apiSecret: 'not-the-secret-at-all-0000000000' });
    const { tools, metrics, lines } = direct(wrong);
    const error = await rejection(tools.queryPortfolio, '{}');
    expect(error.code).toBe('BACKEND_OTHER');
    expect(error.message).toContain('Signature for this request is not valid');
    expect(metrics.prometheus()).toContain('trading_backend_errors_total{backend="exchange",kind="other"} 1');
    await expect(wrong.getBalance()).rejects.toMatchObject({ kind: 'other' });
    expect(venue.orders).toHaveLength(0);
    assertNoSecrets([...lines, error.message, metrics.prometheus(), 'not-the-secret-at-all-0000000000']);
    for (const line of lines) expect(line).not.toContain('not-the-secret-at-all');
    tools.close();
  });

  it('a wrong key is refused (-2015) as kind other', async () => {
    await expect(backend({ apiKey: 'someone-elses-key' }).getBalance()).rejects.toMatchObject({ kind: 'other', message: expect.stringContaining('Invalid API-key') as string });
  });

  it('a request outside the venue timestamp window (-1021) is kind other, not retried as network', async () => {
    const skewed = await startFakeBinance({ apiKey: API_KEY, apiSecret: API_SECRET, clockOffsetMs: 60_000 });
    try {
      const b = new ExchangeTradingBackend({ apiKey: API_KEY, apiSecret: API_SECRET, urls: skewed.baseUrl });
      await expect(b.getBalance()).rejects.toMatchObject({ kind: 'other', message: expect.stringContaining('recvWindow') as string });
      const error = await b
        .placeOrder({ symbol: 'BTC-USDT', side: 'Buy', quantity: 0.01, orderType: 'Limit', price: 19_000, timeInForce: 'GTC', clientOrderId: 'skew-1' })
        .catch((e: unknown) => e as BackendError);
      expect(error).toMatchObject({ kind: 'other' });
      expect(skewed.count('POST /api/v3/order')).toBe(1);
      expect(skewed.count('GET /api/v3/order')).toBe(0);
      expect(skewed.orders).toHaveLength(0);
    } finally {
      await skewed.close();
    }
  });

  it('maps venue errors to the SPEC kinds and counts them per kind', async () => {
    const { tools, metrics, lines } = direct();
    const messages: string[] = [];

    const funds = await rejection(tools.placeOrder, limit('BTC-USDT', 'Buy', 9, 19_000)); // 171,000 USDT > 100,000
    expect(funds.code).toBe('BACKEND_INSUFFICIENT_FUNDS');
    messages.push(funds.message);

    venue.inject('POST /api/v3/order', { kind: 'bad-symbol' });
    const symbol = await rejection(tools.placeOrder, limit('ETH-USDT', 'Buy', 1, 1_400));
    expect(symbol.code).toBe('BACKEND_SYMBOL_NOT_FOUND');
    messages.push(symbol.message);

    venue.inject('GET /api/v3/account', { kind: 'rate-limit', retryAfterSeconds: 1 });
    const limited = await rejection(tools.queryPortfolio, '{}');
    expect(limited.code).toBe('BACKEND_NETWORK');
    messages.push(limited.message);

    // the failed query's sibling read (throttled by ccxt's rate limiter) must land before the next fault
    await venue.requestsSeen('GET /api/v3/openOrders', 1);
    expect(venue.count('GET /api/v3/openOrders')).toBe(1);
    venue.inject('GET /api/v3/openOrders', { kind: 'http5xx', status: 502 });
    const down = await rejection(tools.queryPortfolio, '{}');
    expect(down.code).toBe('BACKEND_NETWORK');
    messages.push(down.message);

    const unknownOrder = await rejection(tools.cancelOrder, '{"order_id":"424242"}');
    expect(unknownOrder.code).toBe('BACKEND_REJECTED'); // not open at the venue: nothing sent to DELETE
    expect(unknownOrder.message).toContain('order 424242 is not open');
    expect(venue.count('DELETE /api/v3/order')).toBe(0);
    messages.push(unknownOrder.message);

    const text = metrics.prometheus();
    expect(text).toContain('trading_backend_errors_total{backend="exchange",kind="insufficient_funds"} 1');
    expect(text).toContain('trading_backend_errors_total{backend="exchange",kind="symbol_not_found"} 1');
    expect(text).toContain('trading_backend_errors_total{backend="exchange",kind="network"} 2');
    expect(text).toContain('trading_backend_errors_total{backend="exchange",kind="rejected"} 1');
    assertNoSecrets([...lines, ...messages, text]);
    expect(venue.orders).toHaveLength(0);
    tools.close();
  });

  it('a read that outlasts the client timeout is kind timeout', async () => {
    const { tools, metrics } = direct(backend({ timeoutMs: 200 }));
    venue.inject('GET /api/v3/account', { kind: 'silent' });
    const error = await rejection(tools.queryPortfolio, '{}');
    expect(error.code).toBe('BACKEND_TIMEOUT');
    expect(metrics.prometheus()).toContain('trading_backend_errors_total{backend="exchange",kind="timeout"} 1');
    tools.close();
  });

  it('refuses off-grid price, off-step quantity and a small notional before sending any order', async () => {
    const { tools, lines } = direct();
    const price = await rejection(tools.placeOrder, limit('BTC-USDT', 'Buy', 0.01, 19_000.005));
    expect(price.code).toBe('BACKEND_REJECTED');
    expect(price.message).toMatch(/price 19000\.005 is not a multiple of the price tick 0\.01/);
    const quantity = await rejection(tools.placeOrder, limit('BTC-USDT', 'Buy', 0.000015, 19_000));
    expect(quantity.message).toMatch(/quantity 0\.000015 is not a multiple of the amount step 0\.00001/);
    const notional = await rejection(tools.placeOrder, limit('BTC-USDT', 'Buy', 0.0002, 19_000));
    expect(notional.message).toMatch(/below the minimum notional 5/);
    expect(orderPosts()).toBe(0); // the venue saw no order request
    assertNoSecrets(lines);
    tools.close();
  });

  it('an unknown symbol is symbol_not_found before any order request', async () => {
    const b = backend();
    const error = await b
      .placeOrder({ symbol: 'DOGE-USDT', side: 'Buy', quantity: 100, orderType: 'Limit', price: 0.1, timeInForce: 'GTC', clientOrderId: 'c1' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect((error as BackendError).kind).toBe('symbol_not_found');
    await expect(b.getReferencePrice('DOGE-USDT')).rejects.toMatchObject({ kind: 'symbol_not_found' });
    expect(await b.getReferencePrice('ETH-USDT')).toBe(1_500);
    expect(orderPosts()).toBe(0);
    expect(venue.requests.every((r) => r.path === '/api/v3/exchangeInfo' || r.path === '/api/v3/ticker/24hr')).toBe(true);
  });

  it('testnet switches ccxt to the sandbox; urls override the REST base after it', () => {
    const sandbox = new ExchangeTradingBackend({ apiKey: API_KEY, apiSecret: API_SECRET, testnet: true });
    const api = sandbox.client.urls.api as Record<string, string>;
    expect(api.public).toBe('https://testnet.binance.vision/api/v3');
    expect(api.private).toBe('https://testnet.binance.vision/api/v3');
    const local = new ExchangeTradingBackend({ apiKey: API_KEY, apiSecret: API_SECRET, testnet: true, urls: 'http://127.0.0.1:9' });
    expect((local.client.urls.api as Record<string, string>).private).toBe('http://127.0.0.1:9/api/v3');
    const okx = new ExchangeTradingBackend({ exchange: 'okx', apiKey: API_KEY, apiSecret: API_SECRET, password: 'pass', testnet: true });
    expect(okx.client.id).toBe('okx');
    expect(okx.name).toBe('exchange');
    expect(() => new ExchangeTradingBackend({ apiKey: '', apiSecret: API_SECRET })).toThrow(/apiKey and apiSecret/);
  });

  it('a limit order resting at the venue fills when the price trades through it', async () => {
    const b = backend();
    const placed = await b.placeOrder({ symbol: 'BTC-USDT', side: 'Sell', quantity: 0.5, orderType: 'Limit', price: 21_000, timeInForce: 'GTC', clientOrderId: 'sell-1' });
    expect(placed).toMatchObject({ status: 'New', symbol: 'BTC-USDT', side: 'Sell', quantity: 0.5 });
    expect((await b.getOpenOrders())[0]).toMatchObject({ clientOrderId: 'sell-1', remaining: 0.5, price: 21_000 });
    venue.setPrice('BTCUSDT', 21_500);
    expect(await b.getOpenOrders()).toEqual([]);
    expect(await b.getPositions()).toEqual([{ symbol: 'BTC-USDT', quantity: 0.5, averagePrice: 0 }]);
    expect((await b.getBalance()).find((x) => x.asset === 'USDT')).toEqual({ asset: 'USDT', free: 110_500, locked: 0 });
  });
});
