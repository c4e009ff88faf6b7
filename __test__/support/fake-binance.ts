// A local Binance spot REST venue for tests: the real `ccxt` client talks to it over loopback.
// It serves the endpoints ccxt's binance uses for markets, tickers, balances and orders, checks
// signed requests as Binance does (X-MBX-APIKEY, HMAC-SHA256 over the query/body, timestamp and
// recvWindow), keeps a real book and balances, and injects faults on demand.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface FakeSymbol {
  base: string;
  quote: string;
  tickSize: string;
  stepSize: string;
  minQty: string;
  minNotional: string;
  price: number;
}

export interface FakeBinanceOptions {
  apiKey: string;
  apiSecret: string;
  symbols?: Record<string, FakeSymbol>;
  balances?: Record<string, number>;
  /** The venue's clock runs this far ahead of the host's (for timestamp-window rejections). */
  clockOffsetMs?: number;
}

export type Fault =
  /**
   * Handle the request (an order IS created), then never answer: the connection stays open until
   * the client gives up (its timeout decides, whatever the machine's speed) or the venue closes.
   */
  | { kind: 'silent' }
  /** Handle the request, then destroy the socket without answering. */
  | { kind: 'drop' }
  | { kind: 'http5xx'; status?: number }
  | { kind: 'rate-limit'; retryAfterSeconds?: number }
  | { kind: 'insufficient' }
  | { kind: 'bad-symbol' }
  /**
   * Handle the request (an order IS created), then answer `body(...)` with `status` (default 200):
   * hostile payloads, or an error body that echoes the request's credentials as gateways do.
   */
  | { kind: 'respond'; status?: number; body: (context: RespondContext) => unknown };

export interface RespondContext {
  /** What the venue would have answered. */
  result: unknown;
  apiKeyHeader: string | undefined;
  params: Record<string, string>;
}

export interface RecordedRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  apiKeyHeader: string | undefined;
}

export interface FakeOrder {
  symbol: string;
  orderId: number;
  clientOrderId: string;
  price: number;
  origQty: number;
  executedQty: number;
  cummulativeQuoteQty: number;
  status: 'NEW' | 'PARTIALLY_FILLED' | 'FILLED' | 'CANCELED' | 'EXPIRED';
  timeInForce: string;
  type: 'LIMIT' | 'MARKET';
  side: 'BUY' | 'SELL';
  time: number;
  updateTime: number;
}

export interface FakeBinance {
  /** REST root (no path): pass as the backend's `urls`. */
  baseUrl: string;
  requests: RecordedRequest[];
  /** Every order the venue accepted, in order of arrival. */
  orders: FakeOrder[];
  balances: Map<string, { free: number; locked: number }>;
  /** Fail the next matching request (`method path`, e.g. `POST /api/v3/order`). */
  inject(route: string, fault: Fault, count?: number): void;
  setPrice(symbol: string, price: number): void;
  /**
   * Other traders' resting liquidity on `symbol` (`[price, quantity]` levels), served by
   * `GET /api/v3/depth` together with the open orders placed here (both never trade: a book view).
   */
  setDepth(symbol: string, depth: { bids: Array<[number, number]>; asks: Array<[number, number]> }): void;
  /** Requests to `method path` so far. */
  count(route: string): number;
  /** Resolves once `count` requests to `method path` have arrived (at once if they already have). */
  requestsSeen(route: string, count: number): Promise<void>;
  close(): Promise<void>;
}

export const DEFAULT_SYMBOLS: Record<string, FakeSymbol> = {
  BTCUSDT: { base: 'BTC', quote: 'USDT', tickSize: '0.01', stepSize: '0.00001', minQty: '0.00001', minNotional: '5', price: 20_000 },
  ETHUSDT: { base: 'ETH', quote: 'USDT', tickSize: '0.01', stepSize: '0.0001', minQty: '0.0001', minNotional: '5', price: 1_500 },
};

const PUBLIC = new Set(['/api/v3/ping', '/api/v3/time', '/api/v3/exchangeInfo', '/api/v3/ticker/price', '/api/v3/ticker/24hr', '/api/v3/ticker', '/api/v3/depth']);

class VenueError extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    msg: string,
  ) {
    super(msg);
  }
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const decimals = (step: string): number => (step.includes('.') ? step.replace(/0+$/, '').split('.')[1]?.length ?? 0 : 0);
const isMultiple = (value: number, step: string): boolean => {
  const scaled = value / Number(step);
  return Math.abs(scaled - Math.round(scaled)) < 1e-6;
};
const fmt = (value: number, places = 8): string => value.toFixed(places);

export async function startFakeBinance(options: FakeBinanceOptions): Promise<FakeBinance> {
  const symbols = options.symbols ?? DEFAULT_SYMBOLS;
  const prices = new Map(Object.entries(symbols).map(([id, s]) => [id, s.price]));
  const balances = new Map<string, { free: number; locked: number }>();
  for (const [asset, free] of Object.entries(options.balances ?? { USDT: 100_000, BTC: 1, ETH: 0 })) balances.set(asset, { free, locked: 0 });
  const requests: RecordedRequest[] = [];
  const orders: FakeOrder[] = [];
  const faults: Array<{ route: string; fault: Fault; remaining: number }> = [];
  const sockets = new Set<Socket>();
  const requestWaiters: Array<{ route: string; count: number; arrived: () => void }> = [];
  const countOf = (route: string) => requests.filter((r) => `${r.method} ${r.path}` === route).length;
  let nextId = 1000;

  const balance = (asset: string) => {
    let b = balances.get(asset);
    if (b === undefined) {
      b = { free: 0, locked: 0 };
      balances.set(asset, b);
    }
    return b;
  };

  /** Every execution, as `GET /api/v3/myTrades` lists them (no commission: the fake charges none). */
  const trades: Array<{ symbol: string; id: number; orderId: number; price: number; qty: number; time: number; isBuyer: boolean }> = [];

  const fill = (order: FakeOrder, price: number): void => {
    const s = symbols[order.symbol] as FakeSymbol;
    const quantity = order.origQty - order.executedQty;
    trades.push({ symbol: order.symbol, id: trades.length + 1, orderId: order.orderId, price, qty: quantity, time: Date.now(), isBuyer: order.side === 'BUY' });
    const quote = balance(s.quote);
    const base = balance(s.base);
    if (order.side === 'BUY') {
      if (order.type === 'LIMIT') quote.locked -= quantity * order.price;
      else quote.free -= quantity * price;
      if (order.type === 'LIMIT') quote.free += quantity * (order.price - price);
      base.free += quantity;
    } else {
      if (order.type === 'LIMIT') base.locked -= quantity;
      else base.free -= quantity;
      quote.free += quantity * price;
    }
    order.executedQty = order.origQty;
    order.cummulativeQuoteQty += quantity * price;
    order.status = 'FILLED';
    order.updateTime = Date.now();
  };

  const crosses = (order: FakeOrder, price: number): boolean => (order.side === 'BUY' ? price <= order.price : price >= order.price);

  const orderJson = (o: FakeOrder) => ({
    symbol: o.symbol,
    orderId: o.orderId,
    orderListId: -1,
    clientOrderId: o.clientOrderId,
    price: fmt(o.price),
    origQty: fmt(o.origQty),
    executedQty: fmt(o.executedQty),
    cummulativeQuoteQty: fmt(o.cummulativeQuoteQty),
    status: o.status,
    timeInForce: o.timeInForce,
    type: o.type,
    side: o.side,
    stopPrice: '0.00000000',
    icebergQty: '0.00000000',
    time: o.time,
    updateTime: o.updateTime,
    isWorking: true,
    workingTime: o.time,
    origQuoteOrderQty: '0.00000000',
    selfTradePreventionMode: 'EXPIRE_MAKER',
  });

  const symbolOf = (params: Record<string, string>): FakeSymbol & { id: string } => {
    const id = params.symbol;
    const s = id === undefined ? undefined : symbols[id];
    if (id === undefined || s === undefined) throw new VenueError(400, -1121, 'Invalid symbol.');
    return { ...s, id };
  };

  const findOrder = (params: Record<string, string>): FakeOrder => {
    const { id } = symbolOf(params);
    const order = orders.find(
      (o) =>
        o.symbol === id &&
        ((params.orderId !== undefined && String(o.orderId) === params.orderId) ||
          (params.origClientOrderId !== undefined && o.clientOrderId === params.origClientOrderId)),
    );
    if (order === undefined) throw new VenueError(400, -2013, 'Order does not exist.');
    return order;
  };

  const newOrder = (params: Record<string, string>) => {
    const s = symbolOf(params);
    const type: string | undefined = params.type;
    const side: string | undefined = params.side;
    if ((type !== 'LIMIT' && type !== 'MARKET') || (side !== 'BUY' && side !== 'SELL')) throw new VenueError(400, -1116, 'Invalid orderType.');
    const quantity = Number(params.quantity);
    if (!(quantity > 0) || !isMultiple(quantity, s.stepSize) || quantity < Number(s.minQty)) throw new VenueError(400, -1013, 'Filter failure: LOT_SIZE');
    const reference = prices.get(s.id) as number;
    const price = type === 'LIMIT' ? Number(params.price) : reference;
    if (type === 'LIMIT' && (!(price > 0) || !isMultiple(price, s.tickSize))) throw new VenueError(400, -1013, 'Filter failure: PRICE_FILTER');
    if (quantity * price < Number(s.minNotional)) throw new VenueError(400, -1013, 'Filter failure: NOTIONAL');
    const clientOrderId = params.newClientOrderId ?? `fake-${nextId}`;
    if (orders.some((o) => o.clientOrderId === clientOrderId && (o.status === 'NEW' || o.status === 'PARTIALLY_FILLED'))) {
      throw new VenueError(400, -2010, 'Duplicate order sent.');
    }
    const quote = balance(s.quote);
    const base = balance(s.base);
    if (side === 'BUY' ? quote.free < quantity * price - 1e-9 : base.free < quantity - 1e-12) {
      throw new VenueError(400, -2010, 'Account has insufficient balance for requested action.');
    }
    const now = Date.now();
    const order: FakeOrder = {
      symbol: s.id,
      orderId: nextId++,
      clientOrderId,
      price: type === 'LIMIT' ? price : 0,
      origQty: quantity,
      executedQty: 0,
      cummulativeQuoteQty: 0,
      status: 'NEW',
      timeInForce: params.timeInForce ?? 'GTC',
      type,
      side,
      time: now,
      updateTime: now,
    };
    orders.push(order);
    if (type === 'LIMIT') {
      if (side === 'BUY') {
        quote.free -= quantity * price;
        quote.locked += quantity * price;
      } else {
        base.free -= quantity;
        base.locked += quantity;
      }
    }
    if (type === 'MARKET' || crosses(order, reference)) fill(order, reference);
    else if (order.timeInForce !== 'GTC') cancel(order, 'EXPIRED');
    return { ...orderJson(order), transactTime: now, fills: [] };
  };

  const cancel = (order: FakeOrder, status: 'CANCELED' | 'EXPIRED'): void => {
    const s = symbols[order.symbol] as FakeSymbol;
    const remaining = order.origQty - order.executedQty;
    if (order.side === 'BUY') {
      balance(s.quote).locked -= remaining * order.price;
      balance(s.quote).free += remaining * order.price;
    } else {
      balance(s.base).locked -= remaining;
      balance(s.base).free += remaining;
    }
    order.status = status;
    order.updateTime = Date.now();
  };

  const isOpen = (o: FakeOrder) => o.status === 'NEW' || o.status === 'PARTIALLY_FILLED';
  const otherDepth = new Map<string, { bids: Array<[number, number]>; asks: Array<[number, number]> }>();
  let depthUpdateId = 1;

  /** Binance's depth answer: every resting quantity by price, best first, at most `limit` levels. */
  const depthOf = (params: Record<string, string>) => {
    const s = symbolOf(params);
    const limit = Number(params.limit ?? 100);
    if (![5, 10, 20, 50, 100, 500, 1000, 5000].includes(limit)) throw new VenueError(400, -1100, `Illegal characters found in parameter 'limit'; legal range is '5, 10, 20, 50, 100, 500, 1000, 5000'.`);
    const levels = { BUY: new Map<number, number>(), SELL: new Map<number, number>() };
    const others = otherDepth.get(s.id);
    for (const [price, quantity] of others?.bids ?? []) levels.BUY.set(price, (levels.BUY.get(price) ?? 0) + quantity);
    for (const [price, quantity] of others?.asks ?? []) levels.SELL.set(price, (levels.SELL.get(price) ?? 0) + quantity);
    for (const o of orders) {
      if (o.symbol !== s.id || !isOpen(o) || o.type !== 'LIMIT') continue;
      const side = levels[o.side];
      side.set(o.price, (side.get(o.price) ?? 0) + o.origQty - o.executedQty);
    }
    const out = (side: Map<number, number>, falling: boolean) =>
      [...side]
        .sort(([a], [b]) => (falling ? b - a : a - b))
        .slice(0, limit)
        .map(([price, quantity]) => [fmt(price, decimals(s.tickSize)), fmt(quantity)]);
    depthUpdateId += 1;
    return { lastUpdateId: depthUpdateId, bids: out(levels.BUY, true), asks: out(levels.SELL, false) };
  };

  const route = (method: string, path: string, params: Record<string, string>): unknown => {
    switch (`${method} ${path}`) {
      case 'GET /api/v3/ping':
        return {};
      case 'GET /api/v3/time':
        return { serverTime: Date.now() };
      case 'GET /api/v3/exchangeInfo':
        return {
          timezone: 'UTC',
          serverTime: Date.now(),
          rateLimits: [],
          exchangeFilters: [],
          symbols: Object.entries(symbols).map(([id, s]) => ({
            symbol: id,
            status: 'TRADING',
            baseAsset: s.base,
            baseAssetPrecision: 8,
            quoteAsset: s.quote,
            quotePrecision: 8,
            quoteAssetPrecision: 8,
            baseCommissionPrecision: 8,
            quoteCommissionPrecision: 8,
            orderTypes: ['LIMIT', 'MARKET'],
            icebergAllowed: false,
            ocoAllowed: false,
            isSpotTradingAllowed: true,
            isMarginTradingAllowed: false,
            filters: [
              { filterType: 'PRICE_FILTER', minPrice: s.tickSize, maxPrice: '1000000.00000000', tickSize: s.tickSize },
              { filterType: 'LOT_SIZE', minQty: s.minQty, maxQty: '9000.00000000', stepSize: s.stepSize },
              { filterType: 'NOTIONAL', minNotional: s.minNotional, applyMinToMarket: true, maxNotional: '9000000.00000000', applyMaxToMarket: false, avgPriceMins: 5 },
            ],
            permissions: [],
            permissionSets: [['SPOT']],
            defaultSelfTradePreventionMode: 'EXPIRE_MAKER',
            allowedSelfTradePreventionModes: ['EXPIRE_MAKER'],
          })),
        };
      case 'GET /api/v3/depth':
        return depthOf(params);
      case 'GET /api/v3/ticker/price': {
        const s = symbolOf(params);
        return { symbol: s.id, price: fmt(prices.get(s.id) as number, decimals(s.tickSize)) };
      }
      case 'GET /api/v3/ticker/24hr':
      case 'GET /api/v3/ticker': {
        const s = symbolOf(params);
        const last = fmt(prices.get(s.id) as number, decimals(s.tickSize));
        const now = Date.now();
        return {
          symbol: s.id,
          priceChange: '0',
          priceChangePercent: '0',
          weightedAvgPrice: last,
          prevClosePrice: last,
          lastPrice: last,
          lastQty: '0',
          bidPrice: last,
          bidQty: '1',
          askPrice: last,
          askQty: '1',
          openPrice: last,
          highPrice: last,
          lowPrice: last,
          volume: '0',
          quoteVolume: '0',
          openTime: now - 86_400_000,
          closeTime: now,
          firstId: 0,
          lastId: 0,
          count: 0,
        };
      }
      case 'GET /api/v3/account':
        return {
          makerCommission: 10,
          takerCommission: 10,
          canTrade: true,
          canWithdraw: false,
          canDeposit: false,
          updateTime: Date.now(),
          accountType: 'SPOT',
          balances: [...balances].map(([asset, b]) => ({ asset, free: fmt(b.free), locked: fmt(b.locked) })),
          permissions: ['SPOT'],
        };
      case 'POST /api/v3/order':
        return newOrder(params);
      case 'GET /api/v3/order':
        return orderJson(findOrder(params));
      case 'DELETE /api/v3/order': {
        const order = findOrder(params);
        if (!isOpen(order)) throw new VenueError(400, -2011, 'Unknown order sent.');
        cancel(order, 'CANCELED');
        return { ...orderJson(order), origClientOrderId: order.clientOrderId };
      }
      case 'GET /api/v3/myTrades': {
        const s = symbolOf(params);
        const since = params.startTime === undefined ? 0 : Number(params.startTime);
        return trades
          .filter((t) => t.symbol === s.id && t.time >= since)
          .map((t) => ({
            symbol: t.symbol,
            id: t.id,
            orderId: t.orderId,
            orderListId: -1,
            price: fmt(t.price, decimals(s.tickSize)),
            qty: fmt(t.qty),
            quoteQty: fmt(t.price * t.qty),
            commission: '0',
            commissionAsset: s.quote,
            time: t.time,
            isBuyer: t.isBuyer,
            isMaker: false,
            isBestMatch: true,
          }));
      }
      case 'GET /api/v3/openOrders':
        return orders.filter((o) => isOpen(o) && (params.symbol === undefined || o.symbol === params.symbol)).map(orderJson);
      default:
        throw new VenueError(404, -1000, `unknown endpoint ${method} ${path}`);
    }
  };

  /** Binance's checks for SIGNED endpoints; throws the error it would answer. */
  const authenticate = (request: IncomingMessage, payload: string, params: Record<string, string>): void => {
    const key = request.headers['x-mbx-apikey'];
    if (typeof key !== 'string' || key === '') throw new VenueError(401, -2014, 'API-key format invalid.');
    if (key !== options.apiKey) throw new VenueError(401, -2015, 'Invalid API-key, IP, or permissions for action.');
    const index = payload.lastIndexOf('&signature=');
    const signature = index < 0 ? '' : payload.slice(index + '&signature='.length);
    const expected = createHmac('sha256', options.apiSecret).update(payload.slice(0, Math.max(index, 0))).digest('hex');
    const given = Buffer.from(signature, 'utf8');
    if (given.length !== expected.length || !timingSafeEqual(given, Buffer.from(expected, 'utf8'))) {
      throw new VenueError(400, -1022, 'Signature for this request is not valid.');
    }
    const timestamp = Number(params.timestamp);
    const recvWindow = Number(params.recvWindow ?? 5000);
    const now = Date.now() + (options.clockOffsetMs ?? 0);
    if (!Number.isFinite(timestamp) || timestamp > now + 1000 || now - timestamp > recvWindow) {
      throw new VenueError(400, -1021, 'Timestamp for this request is outside of the recvWindow.');
    }
  };

  const takeFault = (key: string): Fault | undefined => {
    const index = faults.findIndex((f) => f.route === key);
    if (index < 0) return undefined;
    const entry = faults[index] as (typeof faults)[number];
    entry.remaining -= 1;
    if (entry.remaining <= 0) faults.splice(index, 1);
    return entry.fault;
  };

  const send = (response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    if (response.destroyed) return;
    response.writeHead(status, { 'content-type': 'application/json;charset=UTF-8', ...headers }).end(JSON.stringify(body));
  };

  const server: Server = createServer((request, response) => {
    void (async () => {
      const url = new URL(request.url ?? '/', 'http://127.0.0.1');
      const method = request.method ?? 'GET';
      const body = await readBody(request);
      const signedPayload = method === 'GET' || method === 'DELETE' ? url.search.slice(1) : body;
      const params: Record<string, string> = Object.fromEntries(new URLSearchParams(method === 'GET' || method === 'DELETE' ? url.search : body));
      requests.push({ method, path: url.pathname, params, apiKeyHeader: request.headers['x-mbx-apikey'] as string | undefined });
      for (let i = requestWaiters.length - 1; i >= 0; i -= 1) {
        const waiter = requestWaiters[i] as (typeof requestWaiters)[number];
        if (countOf(waiter.route) < waiter.count) continue;
        requestWaiters.splice(i, 1);
        waiter.arrived();
      }
      const key = `${method} ${url.pathname}`;
      const fault = takeFault(key);
      try {
        if (fault?.kind === 'http5xx') {
          send(response, fault.status ?? 503, { code: -1001, msg: 'Internal error; unable to process your request. Please try again.' });
          return;
        }
        if (fault?.kind === 'rate-limit') {
          send(response, 429, { code: -1003, msg: 'Too many requests.' }, { 'retry-after': String(fault.retryAfterSeconds ?? 1) });
          return;
        }
        if (!PUBLIC.has(url.pathname)) authenticate(request, signedPayload, params);
        if (fault?.kind === 'insufficient') throw new VenueError(400, -2010, 'Account has insufficient balance for requested action.');
        if (fault?.kind === 'bad-symbol') throw new VenueError(400, -1121, 'Invalid symbol.');
        const result = route(method, url.pathname, params);
        if (fault?.kind === 'respond') {
          send(response, fault.status ?? 200, fault.body({ result, apiKeyHeader: request.headers['x-mbx-apikey'] as string | undefined, params }));
          return;
        }
        if (fault?.kind === 'drop') {
          request.socket.destroy();
          return;
        }
        if (fault?.kind === 'silent') return;
        send(response, 200, result);
      } catch (error) {
        if (error instanceof VenueError) send(response, error.status, { code: error.code, msg: error.message });
        else send(response, 500, { code: -1000, msg: String(error) });
      }
    })();
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    orders,
    balances,
    inject: (routeKey, fault, count = 1) => faults.push({ route: routeKey, fault, remaining: count }),
    setPrice: (symbol, price) => {
      prices.set(symbol, price);
      for (const order of orders) if (order.symbol === symbol && isOpen(order) && order.type === 'LIMIT' && crosses(order, price)) fill(order, order.price);
    },
    setDepth: (symbol, depth) => {
      otherDepth.set(symbol, depth);
    },
    count: countOf,
    requestsSeen: (routeKey, count) =>
      new Promise<void>((arrived) => {
        if (countOf(routeKey) >= count) arrived();
        else requestWaiters.push({ route: routeKey, count, arrived });
      }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
