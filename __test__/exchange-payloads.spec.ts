// ccxt payloads are validated, not cast (issue 17 item 7): the real ccxt client against the local
// Binance venue answering hostile payloads. What the backend does not understand is a
// BackendError naming the field; an unknown side never becomes Buy, a missing price never 0, and
// nothing unvalidated reaches the guard.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { BackendError, ExchangeTradingBackend } from '../ts/index';
import { ack, limit, rejection, setup } from './harness';
import { DEFAULT_SYMBOLS, startFakeBinance, type FakeBinance, type FakeSymbol, type RespondContext } from './support/fake-binance';

const API_KEY = 'pl-PayloadKey0123456789abcdefABCDEF';
const API_SECRET = 'pl-PayloadSecret9876543210zyxwvuZYX';

let venue: FakeBinance;
beforeEach(async () => {
  venue = await startFakeBinance({ apiKey: API_KEY, apiSecret: API_SECRET });
});
afterEach(async () => {
  await venue.close();
});

const backend = () => new ExchangeTradingBackend({ apiKey: API_KEY, apiSecret: API_SECRET, urls: venue.baseUrl, timeoutMs: 5_000 });

async function backendError(promise: Promise<unknown>): Promise<BackendError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(BackendError);
    return error as BackendError;
  }
  throw new Error('expected a BackendError');
}

type Json = Record<string, unknown>;
/** Rewrite each order of an open-orders answer. */
const eachOrder = (edit: (order: Json) => Json) => ({ result }: RespondContext) => (result as Json[]).map(edit);

describe('ccxt payloads the exchange backend reads', () => {
  it('an open order with an unknown side is a BackendError, not a Buy', async () => {
    const b = backend();
    await b.placeOrder({ symbol: 'BTC-USDT', side: 'Sell', quantity: 0.01, orderType: 'Limit', price: 25_000, timeInForce: 'GTC', clientOrderId: 'c-side-1' });
    expect(await b.getOpenOrders()).toMatchObject([{ side: 'Sell', price: 25_000 }]);
    venue.inject('GET /api/v3/openOrders', { kind: 'respond', body: eachOrder((o) => ({ ...o, side: 'SHORT' })) });
    const error = await backendError(b.getOpenOrders());
    expect(error.kind).toBe('other');
    expect(error.message).toContain('the open orders');
    expect(error.message).toContain('side');
  });

  it('an open order without a price is a BackendError, not a price of 0', async () => {
    const b = backend();
    await b.placeOrder({ symbol: 'BTC-USDT', side: 'Buy', quantity: 0.01, orderType: 'Limit', price: 19_000, timeInForce: 'GTC', clientOrderId: 'c-price-1' });
    venue.inject('GET /api/v3/openOrders', { kind: 'respond', body: eachOrder((o) => Object.fromEntries(Object.entries(o).filter(([key]) => key !== 'price'))) });
    const error = await backendError(b.getOpenOrders());
    expect(error.message).toMatch(/open order \d+ without its price/);
    // A price that is not a number at all
    venue.inject('GET /api/v3/openOrders', { kind: 'respond', body: eachOrder((o) => ({ ...o, price: 'cheap' })) });
    expect((await backendError(b.getOpenOrders())).kind).toBe('other');
  });

  it('query_portfolio on a hostile open-orders answer is BACKEND_OTHER naming the payload: no made-up order reaches the model', async () => {
    const { tools, lines } = setup({ backend: backend(), mode: 'Direct', backendTimeoutMs: 8_000, clockStartMs: undefined });
    const placed = await ack(tools.placeOrder, limit('BTC-USDT', 'Buy', 0.01, 19_000));
    venue.inject('GET /api/v3/openOrders', { kind: 'respond', body: eachOrder((o) => ({ ...o, side: 'SHORT', origQty: '-3' })) }, 10);
    const error = await rejection(tools.queryPortfolio, '{}');
    expect(error.code).toBe('BACKEND_OTHER');
    expect(error.message).toContain('does not understand');
    expect(placed.status).toBe('New');
    expect(lines.join('\n')).not.toContain('SHORT');
    tools.close();
  });

  it('a new-order ack whose side, status or fill the backend cannot read is a BackendError (the order may exist: kind other)', async () => {
    const b = backend();
    const order = (id: string) => b.placeOrder({ symbol: 'BTC-USDT', side: 'Buy', quantity: 0.01, orderType: 'Limit', price: 19_000, timeInForce: 'GTC', clientOrderId: id });
    venue.inject('POST /api/v3/order', { kind: 'respond', body: ({ result }) => ({ ...(result as Json), side: 'SELL' }) });
    expect((await backendError(order('c-ack-1'))).message).toMatch(/order \d+ as a Sell, not a Buy/);
    venue.inject('POST /api/v3/order', { kind: 'respond', body: ({ result }) => ({ ...(result as Json), status: 'BANANA' }) });
    expect((await backendError(order('c-ack-2'))).message).toContain('status');
    venue.inject('POST /api/v3/order', { kind: 'respond', body: ({ result }) => ({ ...(result as Json), executedQty: '5.00000000' }) });
    expect((await backendError(order('c-ack-3'))).message).toContain('filled: filled exceeds amount');
    venue.inject('POST /api/v3/order', { kind: 'respond', body: ({ result }) => ({ ...(result as Json), symbol: 'ETHUSDT' }) });
    expect((await backendError(order('c-ack-4'))).message).toMatch(/for ETH\/USDT, not BTC\/USDT/);
    venue.inject('POST /api/v3/order', { kind: 'respond', body: () => 'accepted' });
    expect((await backendError(order('c-ack-5'))).kind).toBe('other');
  });

  it('balances and tickers: a negative or non-numeric amount, a negative last price, are BackendErrors', async () => {
    const b = backend();
    venue.inject('GET /api/v3/account', {
      kind: 'respond',
      body: ({ result }) => ({ ...(result as Json), balances: [{ asset: 'USDT', free: '-100.0', locked: '0' }] }),
    });
    const balance = await backendError(b.getBalance());
    expect(balance.message).toContain('the balance');
    expect(balance.message).toContain('USDT');
    venue.inject('GET /api/v3/ticker/price', { kind: 'respond', body: ({ result }) => ({ ...(result as Json), price: '-5' }) });
    venue.inject('GET /api/v3/ticker/24hr', { kind: 'respond', body: ({ result }) => ({ ...(result as Json), lastPrice: '-5', prevClosePrice: '-5' }) });
    venue.inject('GET /api/v3/ticker', { kind: 'respond', body: ({ result }) => ({ ...(result as Json), lastPrice: '-5', prevClosePrice: '-5' }) });
    const ticker = await backendError(b.getReferencePrice('BTC-USDT'));
    expect(ticker.message).toContain('the ticker of BTC/USDT');
    // Sane answers still work afterwards.
    expect(await b.getReferencePrice('BTC-USDT')).toBe(20_000);
  });

  it('a market whose tick the backend cannot read refuses orders on it (naming the field); the other markets trade', async () => {
    await venue.close();
    venue = await startFakeBinance({
      apiKey: API_KEY,
      apiSecret: API_SECRET,
      symbols: { ...DEFAULT_SYMBOLS, BTCUSDT: { ...(DEFAULT_SYMBOLS.BTCUSDT as FakeSymbol), tickSize: '-0.01' } },
    });
    const b = backend();
    const error = await backendError(b.placeOrder({ symbol: 'BTC-USDT', side: 'Buy', quantity: 0.01, orderType: 'Limit', price: 19_000, timeInForce: 'GTC', clientOrderId: 'c-mkt-1' }));
    expect(error.kind).toBe('other');
    expect(error.message).toContain('market BTC-USDT');
    expect(error.message).toContain('precision.price');
    expect(venue.count('POST /api/v3/order')).toBe(0);
    const eth = await b.placeOrder({ symbol: 'ETH-USDT', side: 'Buy', quantity: 0.1, orderType: 'Limit', price: 1_400, timeInForce: 'GTC', clientOrderId: 'c-mkt-2' });
    expect(eth.status).toBe('New');
  });
});

describe('exchange backend options', () => {
  it('a timeout a Node timer cannot keep, or an unknown option, is refused naming the option', () => {
    const make = (extra: Record<string, unknown>) => () => new ExchangeTradingBackend({ apiKey: API_KEY, apiSecret: API_SECRET, ...extra });
    expect(make({ timeoutMs: 9_000_000_000 })).toThrow('axon-llm: exchange backend options: timeoutMs: Too big: expected number to be <=86400000');
    expect(make({ timeoutMs: 0 })).toThrow(/timeoutMs: /);
    expect(make({ exchange: 'ftx' })).toThrow(/exchange: /);
    expect(make({ timeoutMS: 5 })).toThrow('axon-llm: exchange backend options: timeoutMS: unknown key');
    expect(make({ apiSecret: '' })).toThrow('axon-llm: the exchange backend needs apiKey and apiSecret');
  });
});
