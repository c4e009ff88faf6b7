// ExchangeTradingBackend: real venues (Binance, OKX spot) through the `ccxt` package (SPEC §6).
//
// - Symbols: the agent's `BTC-USDT` maps to ccxt's `BTC/USDT` (and back) from the loaded markets; an
//   unknown symbol is `symbol_not_found` before any order request.
// - The market's price tick, amount step, minimum amount and minimum notional are checked before
//   sending (kind `rejected`, the message names the field and the limit).
// - Every order carries the guard's client order id. When a place times out or the connection drops
//   after sending, the venue is asked for that client id before anything else: found -> its ack;
//   not found -> exactly one retry with the same client id. A place never produces a second order.
// - ccxt errors map to the SPEC kinds; every message is scrubbed of the process's secrets (the API
//   key and secret included) before it is cut to 500 characters.
// - Every ccxt payload read (markets, orders, balances, tickers) is validated (zod) before use: what
//   it does not understand is a `BackendError` (kind `other`) naming the field. An unknown side never
//   becomes `Buy`, a missing price never becomes 0, and nothing unvalidated reaches the guard.
// - `ccxt` is an optional peer dependency, loaded when the first backend is built; without it the
//   constructor says which package to install. No ccxt type appears in this module's declarations.
// - Spot positions are derived from balances: quantity = total of the base asset against
//   `quoteAsset`; `averagePrice` is 0 because a spot balance carries no entry price.
// - `replaceOrder` is cancel + new order with a new client id. It is NOT atomic on spot Binance: a
//   fill can land between the two, and if the new order fails the old one is already gone.
// - Market orders: the amount step and minimum amount are checked locally; the minimum notional
//   needs a price, so the venue's own filter decides (its refusal maps to `rejected`).
// - A 429 (ccxt DDoSProtection) is `network` and is not retried here: the request was not processed.
// - `stopLoss`/`takeProfit` of a request are not sent (spot Binance would need separate orders).
// - No `subscribe`: the guard fetches market data on demand.
import { randomUUID } from 'node:crypto';

import { z } from 'zod';

import { BackendError } from '../../errors';
import { requireOptional } from '../../optional-package';
import { registerSecrets, scrubSecrets } from '../../secrets';
import type { Balance, ErrorKind, OpenOrder, OrderAck, OrderBook, OrderBookLevel, OrderRequest, PnlReport, Portfolio, Position, ReplaceRequest, Side, TradingBackend } from '../../types';
import { describeZodError } from '../../zod-issues';

export type ExchangeId = 'binance' | 'okx';

export interface ExchangeBackendOptions {
  /** Default `binance`. */
  exchange?: ExchangeId;
  apiKey: string;
  apiSecret: string;
  /** OKX API passphrase. */
  password?: string;
  /** Use the venue's sandbox (ccxt `setSandboxMode(true)`). */
  testnet?: boolean;
  /** Per-request timeout (ccxt `timeout`), default 10,000 ms. Keep it below the tools' `backendTimeoutMs`. */
  timeoutMs?: number;
  /**
   * Override of the REST base: a root URL (`http://127.0.0.1:8080`, mapped to the API sections the
   * venue uses) or entries merged into ccxt's `urls.api` as they are.
   */
  urls?: string | Record<string, string>;
  /** The quote asset positions are valued against (default `USDT`). */
  quoteAsset?: string;
}

/**
 * The part of a ccxt exchange instance this backend calls, typed here so that no ccxt type reaches
 * the package's declarations (a consumer without ccxt must compile). Answers are `unknown` until
 * validated.
 */
export interface ExchangeClient {
  readonly id: string;
  urls: { api?: unknown; [key: string]: unknown };
  setSandboxMode(enabled: boolean): void;
  loadMarkets(): Promise<unknown>;
  amountToPrecision(symbol: string, amount: number): unknown;
  createOrder(symbol: string, type: string, side: string, amount: number, price?: number, params?: Record<string, unknown>): Promise<unknown>;
  cancelOrder(id: string, symbol?: string): Promise<unknown>;
  fetchOrder(id: string | undefined, symbol?: string, params?: Record<string, unknown>): Promise<unknown>;
  fetchOpenOrders(symbol?: string): Promise<unknown>;
  fetchBalance(): Promise<unknown>;
  fetchTicker(symbol: string): Promise<unknown>;
  fetchOrderBook(symbol: string, limit?: number): Promise<unknown>;
  fetchMyTrades(symbol?: string, since?: number, limit?: number): Promise<unknown>;
}

type ErrorClass = abstract new (...args: never[]) => Error;

/** `instanceof` without narrowing: ccxt's error classes share one structural type here. */
const isA = (value: unknown, cls: ErrorClass): boolean => value instanceof cls;

/** The ccxt module as this backend uses it: two venues and the error classes it maps. */
interface CcxtModule {
  binance: new (config: Record<string, unknown>) => ExchangeClient;
  okx: new (config: Record<string, unknown>) => ExchangeClient;
  OperationFailed: ErrorClass;
  InvalidNonce: ErrorClass;
  DDoSProtection: ErrorClass;
  RequestTimeout: ErrorClass;
  InsufficientFunds: ErrorClass;
  BadSymbol: ErrorClass;
  InvalidOrder: ErrorClass;
  OrderNotFound: ErrorClass;
}

let ccxtModule: CcxtModule | undefined;
/** ccxt takes about half a second to load and is optional: only backends that use it load it. */
function loadCcxt(): CcxtModule {
  // The module's shape is ccxt's public API; its payloads are what gets validated.
  ccxtModule ??= requireOptional('ccxt', 'the exchange backend') as CcxtModule;
  return ccxtModule;
}

/** The options as the constructor checks them (a timer above 24 h would fire after 1 ms in Node). */
const optionsSchema = z.strictObject({
  exchange: z.enum(['binance', 'okx']).optional(),
  apiKey: z.string().min(1),
  apiSecret: z.string().min(1),
  password: z.string().optional(),
  testnet: z.boolean().optional(),
  timeoutMs: z.number().int().min(1).max(86_400_000).optional(),
  urls: z.union([z.string().min(1), z.record(z.string(), z.string())]).optional(),
  quoteAsset: z.string().min(1).optional(),
});

// --- ccxt payloads, as far as this backend reads them ------------------------------------------

const price = z.number().positive();
const amount = z.number().nonnegative();

const marketSchema = z.object({
  symbol: z.string().min(1),
  base: z.string().min(1),
  quote: z.string().min(1),
  spot: z.boolean().nullish(),
  precision: z.object({ price: price.nullish(), amount: price.nullish() }).nullish(),
  limits: z
    .object({
      amount: z.object({ min: amount.nullish() }).nullish(),
      cost: z.object({ min: amount.nullish() }).nullish(),
    })
    .nullish(),
});
type Market = z.infer<typeof marketSchema>;

const orderSchema = z
  .object({
    id: z.string().min(1),
    clientOrderId: z.string().nullish(),
    symbol: z.string().min(1).nullish(),
    side: z.enum(['buy', 'sell']).nullish(),
    status: z.enum(['open', 'closed', 'canceled', 'expired', 'rejected']).nullish(),
    amount: amount.nullish(),
    filled: amount.nullish(),
    remaining: amount.nullish(),
    // Binance reports a market order's price as 0: 0 is "none" (read only through `positivePrice`).
    price: amount.nullish(),
    average: amount.nullish(),
    timestamp: z.number().int().nonnegative().nullish(),
  })
  .refine((o) => o.amount == null || o.filled == null || o.filled <= o.amount * (1 + 1e-9), {
    error: 'filled exceeds amount',
    path: ['filled'],
  })
  .refine((o) => o.amount == null || o.remaining == null || o.remaining <= o.amount * (1 + 1e-9), {
    error: 'remaining exceeds amount',
    path: ['remaining'],
  });
type CcxtOrder = z.infer<typeof orderSchema>;

const assetAmounts = z.record(z.string(), amount.nullish());
const balanceSchema = z.object({ free: assetAmounts.nullish(), used: assetAmounts.nullish(), total: assetAmounts.nullish() });

const tickerSchema = z.object({ last: price.nullish(), close: price.nullish() });
/** ccxt's unified order book: `[price, amount]` levels (some venues add an order count), best first. */
const bookLevel = z.tuple([price, amount], z.unknown());
const orderBookSchema = z.object({ bids: z.array(bookLevel), asks: z.array(bookLevel), timestamp: z.number().int().nonnegative().nullish() });
/** ccxt's unified trade, the fields an entry price is worked out from. */
const myTradeSchema = z.object({ timestamp: z.number().int().nonnegative(), side: z.enum(['buy', 'sell']), price, amount });
/** Trades asked for per symbol: an account's history beyond this is not walked (the entry is then unknown). */
const MY_TRADES_LIMIT = 1000;

/**
 * The average entry of the position `trades` (oldest first) build from flat, by average cost: a
 * buy adds at its price, a sell reduces at the average (crossing zero opens at the trade price).
 */
function entryFromTrades(trades: ReadonlyArray<z.infer<typeof myTradeSchema>>): { quantity: number; averagePrice: number } {
  let quantity = 0;
  let averagePrice = 0;
  for (const t of trades) {
    const signed = t.side === 'buy' ? t.amount : -t.amount;
    const next = quantity + signed;
    if (quantity === 0 || Math.sign(next) !== Math.sign(quantity)) averagePrice = next === 0 ? 0 : t.price;
    else if (Math.abs(next) > Math.abs(quantity)) averagePrice = (averagePrice * quantity + t.price * signed) / next;
    quantity = next;
  }
  return { quantity, averagePrice };
}

/** Depth sizes every venue takes (Binance refuses others): a request asks for the next one up and keeps what was asked. */
const DEPTH_LIMITS = [5, 10, 20, 50] as const;

/** What the guard learns about an order the backend has seen, kept for cancels and replaces. */
interface KnownOrder {
  symbol: string;
  side?: Side;
  quantity?: number;
}

const toSide = (side: 'buy' | 'sell'): Side => (side === 'sell' ? 'Sell' : 'Buy');
const positivePrice = (value: number | null | undefined): number | undefined => (typeof value === 'number' && value > 0 ? value : undefined);

/** Binance accepts `^[.A-Z:/a-z0-9_-]{1,36}$`. */
const newClientId = (): string => `axr${randomUUID().replace(/-/g, '').slice(0, 29)}`;

export class ExchangeTradingBackend implements TradingBackend {
  readonly name = 'exchange' as const;
  /** The ccxt instance (for inspection; do not log it: it holds the keys). */
  readonly client: ExchangeClient;
  private readonly ccxt: CcxtModule;
  private readonly quoteAsset: string;
  private marketsLoaded: Promise<void> | undefined;
  /** Agent symbol (`BTC-USDT`) -> the venue's market, validated. */
  private readonly markets = new Map<string, Market>();
  /** Agent symbol -> why its market was not understood (an order on it is refused, naming why). */
  private readonly badMarkets = new Map<string, string>();
  private readonly fromVenue = new Map<string, string>();
  /** Venue order id -> what is known of it (cancel and fetch need the symbol). */
  private readonly knownOrders = new Map<string, KnownOrder>();

  constructor(options: ExchangeBackendOptions) {
    const checked = optionsSchema.safeParse(options);
    if (!checked.success) {
      if (checked.error.issues.some((issue) => issue.path[0] === 'apiKey' || issue.path[0] === 'apiSecret')) {
        throw new TypeError('axon-llm: the exchange backend needs apiKey and apiSecret');
      }
      throw new TypeError(`axon-llm: exchange backend options: ${describeZodError(checked.error, '(options)')}`);
    }
    const id = options.exchange ?? 'binance';
    registerSecrets(options.apiKey, options.apiSecret, options.password);
    this.quoteAsset = options.quoteAsset ?? 'USDT';
    const config: Record<string, unknown> = {
      apiKey: options.apiKey,
      secret: options.apiSecret,
      timeout: options.timeoutMs ?? 10_000,
      enableRateLimit: true,
      options:
        id === 'binance'
          ? {
              defaultType: 'spot',
              fetchMarkets: { types: ['spot'] },
              fetchCurrencies: false,
              fetchMargins: false,
              adjustForTimeDifference: false,
              fetchOpenOrders: { warnWithoutSymbol: false },
              warnOnFetchOpenOrdersWithoutSymbol: false,
            }
          : { defaultType: 'spot', fetchMarkets: { types: ['spot'] }, fetchCurrencies: false },
    };
    if (options.password !== undefined) config.password = options.password;
    const ccxt = loadCcxt();
    this.ccxt = ccxt;
    this.client = new (id === 'binance' ? ccxt.binance : ccxt.okx)(config);
    if (options.testnet === true) this.client.setSandboxMode(true);
    if (options.urls !== undefined) {
      const api = { ...(this.client.urls.api as Record<string, string>) };
      if (typeof options.urls === 'string') {
        const root = options.urls.replace(/\/+$/, '');
        if (id === 'binance') Object.assign(api, { public: `${root}/api/v3`, private: `${root}/api/v3`, v1: `${root}/api/v1` });
        else api.rest = root;
      } else {
        Object.assign(api, options.urls);
      }
      this.client.urls.api = api;
    }
  }

  async placeOrder(request: OrderRequest): Promise<OrderAck> {
    const market = await this.market(request.symbol);
    this.checkOrder(request.symbol, market, request.quantity, request.orderType === 'Limit' ? request.price : undefined);
    const expected: KnownOrder = { symbol: market.symbol, side: request.side, quantity: request.quantity };
    const send = async () => this.order(await this.createOrder(market, request), 'the new order');
    try {
      return this.ack(await send(), request.symbol, expected);
    } catch (error) {
      if (!this.ambiguous(error)) throw this.map(error);
      // The order may exist: ask the venue for its client id before any retry.
      let known: CcxtOrder | undefined;
      try {
        known = this.order(await this.client.fetchOrder(undefined, market.symbol, { clientOrderId: request.clientOrderId }), 'the order looked up by client id');
      } catch (query) {
        if (query instanceof BackendError) throw this.map(query); // an answer not understood: the outcome stays unknown
        if (!isA(query, this.ccxt.OrderNotFound)) throw this.map(error); // still unknown: report the first failure
      }
      if (known !== undefined) {
        if (known.clientOrderId != null && known.clientOrderId !== request.clientOrderId) {
          throw new BackendError('other', `${this.client.id} answered the lookup of client id ${request.clientOrderId} with order ${known.id} of client id ${known.clientOrderId}`);
        }
        return this.ack(known, request.symbol, expected);
      }
      try {
        return this.ack(await send(), request.symbol, expected);
      } catch (retry) {
        throw this.map(retry);
      }
    }
  }

  async cancelOrder(orderId: string): Promise<OrderAck> {
    const symbol = await this.symbolOfOrder(orderId);
    try {
      const order = this.order(await this.client.cancelOrder(orderId, symbol), `the cancel of order ${orderId}`);
      const ack = this.ack({ ...order, status: order.status ?? 'canceled' }, this.agentSymbol(symbol), this.knownOrders.get(orderId));
      return { ...ack, status: 'Cancelled' };
    } catch (error) {
      throw this.map(error);
    }
  }

  /** Cancel + new order with a new client id: not atomic on spot Binance (see the header). */
  async replaceOrder(request: ReplaceRequest): Promise<OrderAck> {
    const symbol = await this.symbolOfOrder(request.orderId);
    const agentSymbol = this.agentSymbol(symbol);
    const market = await this.market(agentSymbol);
    let old: CcxtOrder;
    try {
      old = this.order(await this.client.fetchOrder(request.orderId, symbol), `order ${request.orderId}`);
    } catch (error) {
      throw this.map(error);
    }
    if (old.status !== 'open') throw new BackendError('rejected', `order ${request.orderId} is not open`);
    const side = this.required(old.side, 'side', `order ${request.orderId}`);
    const filled = old.filled ?? 0;
    const quantity = request.quantity ?? this.required(old.amount, 'amount', `order ${request.orderId}`);
    const price = request.price ?? this.required(positivePrice(old.price), 'price', `order ${request.orderId}`);
    if (!(quantity > filled)) throw new BackendError('rejected', `new quantity ${quantity} is not above the filled ${filled}`);
    const remaining = this.precise(symbol, quantity - filled);
    this.checkOrder(agentSymbol, market, remaining, price);
    let cancelled: CcxtOrder;
    try {
      cancelled = this.order(await this.client.cancelOrder(request.orderId, symbol), `the cancel of order ${request.orderId}`);
    } catch (error) {
      throw this.map(error);
    }
    const stillToPlace = this.precise(symbol, quantity - (cancelled.filled ?? filled));
    const known: KnownOrder = { symbol, side: toSide(side), quantity: old.amount ?? quantity };
    if (!(stillToPlace > 0)) return { ...this.ack(cancelled, agentSymbol, known), status: 'Filled' };
    const ack = await this.placeOrder({
      symbol: agentSymbol,
      side: toSide(side),
      quantity: stillToPlace,
      orderType: 'Limit',
      price,
      timeInForce: 'GTC',
      clientOrderId: newClientId(),
    });
    return { ...ack, status: ack.status === 'New' ? 'Replaced' : ack.status };
  }

  async getBalance(): Promise<Balance[]> {
    let raw: unknown;
    try {
      raw = await this.client.fetchBalance();
    } catch (error) {
      throw this.map(error);
    }
    const balance = this.understood(balanceSchema, raw, 'the balance');
    const free = balance.free ?? {};
    const used = balance.used ?? {};
    const total = balance.total ?? {};
    return Object.keys(total)
      .filter((asset) => (total[asset] ?? 0) !== 0 || (free[asset] ?? 0) !== 0)
      .map((asset) => ({ asset, free: free[asset] ?? 0, locked: used[asset] ?? 0 }));
  }

  /** Spot: one long position per non-quote asset held (free + locked); averagePrice 0 (unknown). */
  async getPositions(): Promise<Position[]> {
    const [balances] = await Promise.all([this.getBalance(), this.loadMarkets()]);
    return this.positionsFrom(balances);
  }

  /** One balance request serves both halves. */
  async getPortfolio(): Promise<Portfolio> {
    const [balances] = await Promise.all([this.getBalance(), this.loadMarkets()]);
    return { balances, positions: this.positionsFrom(balances) };
  }

  private positionsFrom(balances: Balance[]): Position[] {
    const positions: Position[] = [];
    for (const b of balances) {
      if (b.asset === this.quoteAsset) continue;
      const symbol = `${b.asset}-${this.quoteAsset}`;
      const quantity = b.free + b.locked;
      if (this.markets.has(symbol) && quantity !== 0) positions.push({ symbol, quantity, averagePrice: 0 });
    }
    return positions;
  }

  async getReferencePrice(symbol: string): Promise<number | null> {
    const market = await this.market(symbol);
    let raw: unknown;
    try {
      raw = await this.client.fetchTicker(market.symbol);
    } catch (error) {
      throw this.map(error);
    }
    const ticker = this.understood(tickerSchema, raw, `the ticker of ${market.symbol}`);
    return ticker.last ?? ticker.close ?? null;
  }

  /** `get_book_snapshot`: ccxt's `fetchOrderBook`; the venue's time when it gives one, else when the answer arrived. */
  async getOrderBook(symbol: string, levels: number): Promise<OrderBook> {
    const market = await this.market(symbol);
    const limit = DEPTH_LIMITS.find((n) => n >= levels) ?? 50;
    let raw: unknown;
    try {
      raw = await this.client.fetchOrderBook(market.symbol, limit);
    } catch (error) {
      throw this.map(error);
    }
    const book = this.understood(orderBookSchema, raw, `the order book of ${market.symbol}`);
    const side = (list: typeof book.bids): OrderBookLevel[] => list.slice(0, levels).map(([p, quantity]) => ({ price: p, quantity }));
    return { symbol, bids: side(book.bids), asks: side(book.asks), timestampMs: book.timestamp ?? Date.now() };
  }

  /**
   * `get_pnl` on spot: the assets held (as `getPositions`) marked at their tickers. A spot balance
   * carries no entry price: it is worked out from the account's trades (`fetchMyTrades`), and only
   * when they account for the whole balance (a deposit, a withdrawal or history beyond the last
   * 1,000 trades leaves it `null`, and the tool then leaves unrealized PnL `null` rather than
   * guess). Realized PnL today stays `null`: a symbol sold out today is no longer held, so the
   * trades of every market would have to be asked for.
   */
  async getPnl(): Promise<PnlReport> {
    const positions = await this.getPositions();
    const valued = await Promise.all(
      positions.map(async (p) => {
        const [mark, entry] = await Promise.all([this.getReferencePrice(p.symbol), this.entryPrice(p.symbol, p.quantity)]);
        return { symbol: p.symbol, quantity: p.quantity, entryPrice: entry, markPrice: mark };
      }),
    );
    return { positions: valued, realizedPnlToday: null, timestampMs: Date.now() };
  }

  /** The average entry of `held` from the account's trades, or `null` when they do not account for it. */
  private async entryPrice(symbol: string, held: number): Promise<number | null> {
    const market = await this.market(symbol);
    let raw: unknown;
    try {
      raw = await this.client.fetchMyTrades(market.symbol, undefined, MY_TRADES_LIMIT);
    } catch (error) {
      throw this.map(error);
    }
    const trades = this.understood(z.array(myTradeSchema), raw, `the trades of ${market.symbol}`);
    if (trades.length >= MY_TRADES_LIMIT) return null;
    const walked = entryFromTrades([...trades].sort((a, b) => a.timestamp - b.timestamp));
    const step = market.precision?.amount ?? 1e-12;
    return Math.abs(walked.quantity - held) < step / 2 && walked.averagePrice > 0 ? walked.averagePrice : null;
  }

  async getOpenOrders(symbol?: string): Promise<OpenOrder[]> {
    const market = symbol === undefined ? undefined : await this.market(symbol);
    await this.loadMarkets();
    let raw: unknown;
    try {
      raw = await this.client.fetchOpenOrders(market?.symbol);
    } catch (error) {
      throw this.map(error);
    }
    const orders = this.understood(z.array(orderSchema), raw, 'the open orders');
    // Every order is checked before any is learnt: one bad entry refuses the whole answer.
    const open = orders.map((o): OpenOrder & { venueSymbol: string } => {
      const what = `open order ${o.id}`;
      const venueSymbol = this.required(o.symbol, 'symbol', what);
      const quantity = this.required(o.amount, 'amount', what);
      const remaining = o.remaining ?? quantity - this.required(o.filled, 'filled', what);
      return {
        orderId: o.id,
        ...(o.clientOrderId ? { clientOrderId: o.clientOrderId } : {}),
        symbol: this.agentSymbol(venueSymbol),
        venueSymbol,
        side: toSide(this.required(o.side, 'side', what)),
        price: this.required(positivePrice(o.price), 'price', what),
        quantity,
        remaining,
      };
    });
    return open.map(({ venueSymbol, ...order }) => {
      this.knownOrders.set(order.orderId, { symbol: venueSymbol, side: order.side, quantity: order.quantity });
      return order;
    });
  }

  // --- internals -------------------------------------------------------------------------------

  private loadMarkets(): Promise<void> {
    this.marketsLoaded ??= (async () => {
      let raw: unknown;
      try {
        raw = await this.client.loadMarkets();
      } catch (error) {
        this.marketsLoaded = undefined; // try again next time
        throw this.map(error);
      }
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
        this.marketsLoaded = undefined;
        throw new BackendError('other', `${this.client.id} answered the markets with something that is not a table of markets`);
      }
      for (const [key, entry] of Object.entries(raw)) {
        const parsed = marketSchema.safeParse(entry);
        if (!parsed.success) {
          // One market not understood makes that market unusable, not the venue.
          const view = entry as { base?: unknown; quote?: unknown; spot?: unknown } | null;
          if (view?.spot === false) continue;
          const agent = typeof view?.base === 'string' && typeof view.quote === 'string' ? `${view.base}-${view.quote}` : key.replace('/', '-');
          this.badMarkets.set(agent, describeZodError(parsed.error, '(market)'));
          continue;
        }
        const m = parsed.data;
        if (m.spot !== true) continue;
        const agent = `${m.base}-${m.quote}`;
        this.markets.set(agent, m);
        this.fromVenue.set(m.symbol, agent);
      }
    })();
    return this.marketsLoaded;
  }

  private async market(symbol: string): Promise<Market> {
    await this.loadMarkets();
    const market = this.markets.get(symbol);
    if (market !== undefined) return market;
    const problem = this.badMarkets.get(symbol);
    if (problem !== undefined) throw new BackendError('other', `${this.client.id} describes market ${symbol} in a way axon-llm does not understand: ${problem}`);
    throw new BackendError('symbol_not_found', `unknown symbol ${symbol} on ${this.client.id}`);
  }

  private agentSymbol(venueSymbol: string): string {
    return this.fromVenue.get(venueSymbol) ?? venueSymbol.replace('/', '-');
  }

  /** Price tick, amount step and minimums of the market, before anything is sent. */
  private checkOrder(symbol: string, market: Market, quantity: number, price: number | undefined): void {
    const tick = market.precision?.price;
    const step = market.precision?.amount;
    const minAmount = market.limits?.amount?.min;
    const minCost = market.limits?.cost?.min;
    const offGrid = (value: number, increment: number): boolean => {
      const scaled = value / increment;
      return Math.abs(scaled - Math.round(scaled)) > 1e-9 * Math.max(1, Math.abs(scaled));
    };
    if (typeof step === 'number' && offGrid(quantity, step)) {
      throw new BackendError('rejected', `quantity ${quantity} is not a multiple of the amount step ${step} for ${symbol}`);
    }
    if (typeof minAmount === 'number' && quantity < minAmount) {
      throw new BackendError('rejected', `quantity ${quantity} is below the minimum amount ${minAmount} for ${symbol}`);
    }
    if (price !== undefined) {
      if (typeof tick === 'number' && offGrid(price, tick)) {
        throw new BackendError('rejected', `price ${price} is not a multiple of the price tick ${tick} for ${symbol}`);
      }
      if (typeof minCost === 'number' && quantity * price < minCost) {
        throw new BackendError('rejected', `notional ${quantity * price} (quantity x price) is below the minimum notional ${minCost} for ${symbol}`);
      }
    }
  }

  /** `quantity` on the market's amount grid, as ccxt rounds it. */
  private precise(venueSymbol: string, quantity: number): number {
    const value = Number(this.client.amountToPrecision(venueSymbol, quantity));
    if (!Number.isFinite(value)) throw new BackendError('other', `ccxt rounded the amount ${quantity} of ${venueSymbol} to something that is not a number`);
    return value;
  }

  private createOrder(market: Market, request: OrderRequest): Promise<unknown> {
    const params: Record<string, unknown> = { clientOrderId: request.clientOrderId };
    if (request.orderType === 'Limit') params.timeInForce = request.timeInForce;
    return this.client.createOrder(
      market.symbol,
      request.orderType === 'Limit' ? 'limit' : 'market',
      request.side === 'Buy' ? 'buy' : 'sell',
      request.quantity,
      request.orderType === 'Limit' ? request.price : undefined,
      params,
    );
  }

  private async symbolOfOrder(orderId: string): Promise<string> {
    const known = this.knownOrders.get(orderId);
    if (known !== undefined) return known.symbol;
    await this.getOpenOrders(); // learns the symbols of every open order
    const found = this.knownOrders.get(orderId);
    if (found === undefined) throw new BackendError('rejected', `order ${orderId} is not open`);
    return found.symbol;
  }

  /** A payload validated against `schema`, or a `BackendError` naming what was not understood. */
  private understood<T>(schema: z.ZodType<T>, payload: unknown, what: string): T {
    const parsed = schema.safeParse(payload);
    if (parsed.success) return parsed.data;
    throw new BackendError('other', `${this.client.id} answered ${what} with a payload axon-llm does not understand: ${describeZodError(parsed.error, '(payload)')}`);
  }

  private order(payload: unknown, what: string): CcxtOrder {
    return this.understood(orderSchema, payload, what);
  }

  private required<T>(value: T | null | undefined, field: string, what: string): T {
    if (value === null || value === undefined) throw new BackendError('other', `${this.client.id} answered ${what} without its ${field}`);
    return value;
  }

  /**
   * The ack of a validated order. A field the venue leaves out is taken from what was asked
   * (`expected`: the request, or the order as last seen); a field that contradicts it, or is
   * missing with nothing to take it from, is a `BackendError`.
   */
  private ack(order: CcxtOrder, agentSymbol: string, expected: KnownOrder | undefined): OrderAck {
    const what = `order ${order.id}`;
    const venueSymbol = order.symbol ?? expected?.symbol ?? this.markets.get(agentSymbol)?.symbol ?? agentSymbol;
    if (expected !== undefined && order.symbol != null && order.symbol !== expected.symbol) {
      throw new BackendError('other', `${this.client.id} answered ${what} for ${order.symbol}, not ${expected.symbol}`);
    }
    const side = order.side == null ? this.required(expected?.side, 'side', what) : toSide(order.side);
    if (expected?.side !== undefined && side !== expected.side) throw new BackendError('other', `${this.client.id} answered ${what} as a ${side}, not a ${expected.side}`);
    const quantity = order.amount ?? this.required(expected?.quantity, 'amount', what);
    const filled = order.filled ?? 0;
    this.knownOrders.set(order.id, { symbol: venueSymbol, side, quantity });
    let status: OrderAck['status'];
    switch (order.status) {
      case 'closed':
        status = 'Filled';
        break;
      case 'canceled':
      case 'expired':
        status = 'Cancelled';
        break;
      case 'rejected':
        status = 'Rejected';
        break;
      default:
        status = filled > 0 ? 'PartiallyFilled' : 'New';
    }
    const ack: OrderAck = {
      orderId: order.id,
      symbol: agentSymbol,
      side,
      quantity,
      status,
      timestampMs: order.timestamp ?? Date.now(),
      filledQuantity: filled,
    };
    const average = positivePrice(order.average);
    if (average !== undefined) ack.averagePrice = average;
    return ack;
  }

  /** A failure after which the order may exist at the venue. */
  private ambiguous(error: unknown): boolean {
    const ccxt = this.ccxt;
    // OperationFailed: ccxt's base of NetworkError, also what a venue "internal error" (-1001) becomes.
    return isA(error, ccxt.OperationFailed) && !isA(error, ccxt.InvalidNonce) && !isA(error, ccxt.DDoSProtection);
  }

  /** A ccxt (or any) error as a `BackendError` of the SPEC kind, scrubbed of every secret, then cut. */
  private map(error: unknown): BackendError {
    if (error instanceof BackendError) {
      const message = scrubSecrets(error.message);
      return message === error.message ? error : new BackendError(error.kind, message);
    }
    const ccxt = this.ccxt;
    let kind: ErrorKind;
    if (isA(error, ccxt.RequestTimeout)) kind = 'timeout';
    else if (isA(error, ccxt.InvalidNonce)) kind = 'other';
    else if (isA(error, ccxt.OperationFailed)) kind = 'network'; // NetworkError, DDoSProtection, 5xx
    else if (isA(error, ccxt.InsufficientFunds)) kind = 'insufficient_funds';
    else if (isA(error, ccxt.BadSymbol)) kind = 'symbol_not_found';
    else if (isA(error, ccxt.InvalidOrder)) kind = 'rejected'; // includes OrderNotFound
    else kind = 'other'; // AuthenticationError, PermissionDenied, ExchangeError, ...
    const name = error instanceof Error ? error.constructor.name : 'Error';
    const text = error instanceof Error ? error.message : String(error);
    // Scrubbed whole, then cut: a secret straddling the cut would otherwise leak its first part.
    // No `cause`: the original error may carry the request (headers with the key).
    return new BackendError(kind, scrubSecrets(`${name}: ${text}`).slice(0, 500));
  }
}
