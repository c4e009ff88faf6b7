// ExchangeTradingBackend: real venues (Binance, OKX spot) through the `ccxt` package (SPEC §6).
//
// - Symbols: the agent's `BTC-USDT` maps to ccxt's `BTC/USDT` (and back) from the loaded markets; an
//   unknown symbol is `symbol_not_found` before any order request.
// - The market's price tick, amount step, minimum amount and minimum notional are checked before
//   sending (kind `rejected`, the message names the field and the limit).
// - Every order carries the guard's client order id. When a place times out or the connection drops
//   after sending, the venue is asked for that client id before anything else: found -> its ack;
//   not found -> exactly one retry with the same client id. A place never produces a second order.
// - ccxt errors map to the SPEC kinds; the API key and secret are scrubbed from every message.
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

import type * as Ccxt from 'ccxt';

import { BackendError } from '../errors';
import type { Balance, ErrorKind, OpenOrder, OrderAck, OrderRequest, Portfolio, Position, ReplaceRequest, Side, TradingBackend } from '../types';

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

type CcxtOrder = Awaited<ReturnType<Ccxt.Exchange['fetchOrder']>>;
type CcxtMarket = NonNullable<Ccxt.Market>;

let ccxtModule: typeof Ccxt | undefined;
/** ccxt takes about half a second to load: only backends that use it pay for it. */
function loadCcxt(): typeof Ccxt {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  ccxtModule ??= require('ccxt') as typeof Ccxt;
  return ccxtModule;
}

/** Binance accepts `^[.A-Z:/a-z0-9_-]{1,36}$`. */
const newClientId = (): string => `axr${randomUUID().replace(/-/g, '').slice(0, 29)}`;

export class ExchangeTradingBackend implements TradingBackend {
  readonly name = 'exchange' as const;
  /** The ccxt instance (for inspection; do not log it: it holds the keys). */
  readonly client: Ccxt.Exchange;
  private readonly ccxt: typeof Ccxt;
  private readonly secrets: string[];
  private readonly quoteAsset: string;
  private markets: Promise<void> | undefined;
  private readonly toVenue = new Map<string, string>();
  private readonly fromVenue = new Map<string, string>();
  /** Venue order id -> ccxt symbol (cancel and fetch need the symbol). */
  private readonly orderSymbols = new Map<string, string>();

  constructor(options: ExchangeBackendOptions) {
    const id = options.exchange ?? 'binance';
    if (id !== 'binance' && id !== 'okx') throw new TypeError(`axon-llm: unsupported exchange ${String(id)}`);
    if (typeof options.apiKey !== 'string' || options.apiKey === '' || typeof options.apiSecret !== 'string' || options.apiSecret === '') {
      throw new TypeError('axon-llm: the exchange backend needs apiKey and apiSecret');
    }
    const raw = [options.apiKey, options.apiSecret, ...(options.password ? [options.password] : [])];
    // Also their URL-encoded forms (a venue may echo a query string back).
    this.secrets = [...new Set(raw.flatMap((secret) => [secret, encodeURIComponent(secret)]))].sort((a, b) => b.length - a.length);
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
    const Ctor = (id === 'binance' ? ccxt.binance : ccxt.okx) as unknown as new (config: Record<string, unknown>) => Ccxt.Exchange;
    this.client = new Ctor(config);
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
      (this.client.urls as Record<string, unknown>).api = api;
    }
  }

  async placeOrder(request: OrderRequest): Promise<OrderAck> {
    const market = await this.market(request.symbol);
    this.checkOrder(request.symbol, market, request.quantity, request.orderType === 'Limit' ? request.price : undefined);
    const send = () => this.createOrder(market, request);
    try {
      return this.ack(await send(), request.symbol);
    } catch (error) {
      if (!this.ambiguous(error)) throw this.map(error);
      // The order may exist: ask the venue for its client id before any retry.
      let known: CcxtOrder | undefined;
      try {
        known = await this.client.fetchOrder(undefined as unknown as string, market.symbol, { clientOrderId: request.clientOrderId });
      } catch (query) {
        if (!(query instanceof this.ccxt.OrderNotFound)) throw this.map(error); // still unknown: report the first failure
      }
      if (known !== undefined) return this.ack(known, request.symbol);
      try {
        return this.ack(await send(), request.symbol);
      } catch (retry) {
        throw this.map(retry);
      }
    }
  }

  async cancelOrder(orderId: string): Promise<OrderAck> {
    const symbol = await this.symbolOfOrder(orderId);
    try {
      const order = await this.client.cancelOrder(orderId, symbol);
      const ack = this.ack({ ...order, status: order.status ?? 'canceled' } as CcxtOrder, this.agentSymbol(symbol));
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
      old = await this.client.fetchOrder(request.orderId, symbol);
    } catch (error) {
      throw this.map(error);
    }
    if (old.status !== 'open') throw new BackendError('rejected', `order ${request.orderId} is not open`);
    const filled = old.filled ?? 0;
    const quantity = request.quantity ?? old.amount ?? 0;
    const price = request.price ?? old.price;
    if (!(quantity > filled)) throw new BackendError('rejected', `new quantity ${quantity} is not above the filled ${filled}`);
    const remaining = Number(this.client.amountToPrecision(symbol, quantity - filled));
    this.checkOrder(agentSymbol, market, remaining, price);
    let cancelled: CcxtOrder;
    try {
      cancelled = await this.client.cancelOrder(request.orderId, symbol);
    } catch (error) {
      throw this.map(error);
    }
    const stillToPlace = Number(this.client.amountToPrecision(symbol, quantity - (cancelled.filled ?? filled)));
    if (!(stillToPlace > 0)) return { ...this.ack(cancelled, agentSymbol), status: 'Filled' };
    const ack = await this.placeOrder({
      symbol: agentSymbol,
      side: old.side === 'sell' ? 'Sell' : 'Buy',
      quantity: stillToPlace,
      orderType: 'Limit',
      price,
      timeInForce: 'GTC',
      clientOrderId: newClientId(),
    });
    return { ...ack, status: ack.status === 'New' ? 'Replaced' : ack.status };
  }

  async getBalance(): Promise<Balance[]> {
    try {
      const balance = await this.client.fetchBalance();
      const free = (balance.free ?? {}) as unknown as Record<string, number | undefined>;
      const used = (balance.used ?? {}) as unknown as Record<string, number | undefined>;
      const total = (balance.total ?? {}) as unknown as Record<string, number | undefined>;
      return Object.keys(total)
        .filter((asset) => (total[asset] ?? 0) !== 0 || (free[asset] ?? 0) !== 0)
        .map((asset) => ({ asset, free: free[asset] ?? 0, locked: used[asset] ?? 0 }));
    } catch (error) {
      throw this.map(error);
    }
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
      if (this.toVenue.has(symbol) && quantity !== 0) positions.push({ symbol, quantity, averagePrice: 0 });
    }
    return positions;
  }

  async getReferencePrice(symbol: string): Promise<number | null> {
    const market = await this.market(symbol);
    try {
      const ticker = await this.client.fetchTicker(market.symbol);
      const last = ticker.last ?? ticker.close;
      return typeof last === 'number' && Number.isFinite(last) && last > 0 ? last : null;
    } catch (error) {
      throw this.map(error);
    }
  }

  async getOpenOrders(symbol?: string): Promise<OpenOrder[]> {
    const market = symbol === undefined ? undefined : await this.market(symbol);
    await this.loadMarkets();
    let orders: CcxtOrder[];
    try {
      orders = await this.client.fetchOpenOrders(market?.symbol);
    } catch (error) {
      throw this.map(error);
    }
    return orders.map((o) => {
      const symbol = String(o.symbol ?? '');
      this.orderSymbols.set(String(o.id), symbol);
      const quantity = o.amount ?? 0;
      return {
        orderId: String(o.id),
        ...(o.clientOrderId ? { clientOrderId: o.clientOrderId } : {}),
        symbol: this.agentSymbol(symbol),
        side: (o.side === 'sell' ? 'Sell' : 'Buy') as Side,
        price: o.price ?? 0,
        quantity,
        remaining: o.remaining ?? quantity - (o.filled ?? 0),
      };
    });
  }

  // --- internals -------------------------------------------------------------------------------

  private loadMarkets(): Promise<void> {
    this.markets ??= (async () => {
      try {
        const markets = await this.client.loadMarkets();
        for (const m of Object.values(markets)) {
          if (m === undefined || m.spot !== true) continue;
          const agent = `${m.base}-${m.quote}`;
          this.toVenue.set(agent, m.symbol);
          this.fromVenue.set(m.symbol, agent);
        }
      } catch (error) {
        this.markets = undefined; // try again next time
        throw this.map(error);
      }
    })();
    return this.markets;
  }

  private async market(symbol: string): Promise<CcxtMarket> {
    await this.loadMarkets();
    const venue = this.toVenue.get(symbol);
    if (venue === undefined) throw new BackendError('symbol_not_found', `unknown symbol ${symbol} on ${this.client.id}`);
    return this.client.market(venue) as CcxtMarket;
  }

  private agentSymbol(venueSymbol: string): string {
    return this.fromVenue.get(venueSymbol) ?? venueSymbol.replace('/', '-');
  }

  /** Price tick, amount step and minimums of the market, before anything is sent. */
  private checkOrder(symbol: string, market: CcxtMarket, quantity: number, price: number | undefined): void {
    const tick = market.precision?.price;
    const step = market.precision?.amount;
    const minAmount = market.limits?.amount?.min;
    const minCost = market.limits?.cost?.min;
    const offGrid = (value: number, increment: number): boolean => {
      const scaled = value / increment;
      return Math.abs(scaled - Math.round(scaled)) > 1e-9 * Math.max(1, Math.abs(scaled));
    };
    if (typeof step === 'number' && step > 0 && offGrid(quantity, step)) {
      throw new BackendError('rejected', `quantity ${quantity} is not a multiple of the amount step ${step} for ${symbol}`);
    }
    if (typeof minAmount === 'number' && quantity < minAmount) {
      throw new BackendError('rejected', `quantity ${quantity} is below the minimum amount ${minAmount} for ${symbol}`);
    }
    if (price !== undefined) {
      if (typeof tick === 'number' && tick > 0 && offGrid(price, tick)) {
        throw new BackendError('rejected', `price ${price} is not a multiple of the price tick ${tick} for ${symbol}`);
      }
      if (typeof minCost === 'number' && quantity * price < minCost) {
        throw new BackendError('rejected', `notional ${quantity * price} (quantity x price) is below the minimum notional ${minCost} for ${symbol}`);
      }
    }
  }

  private async createOrder(market: CcxtMarket, request: OrderRequest): Promise<CcxtOrder> {
    const params: Record<string, unknown> = { clientOrderId: request.clientOrderId };
    if (request.orderType === 'Limit') params.timeInForce = request.timeInForce;
    const order = await this.client.createOrder(
      market.symbol,
      request.orderType === 'Limit' ? 'limit' : 'market',
      request.side === 'Buy' ? 'buy' : 'sell',
      request.quantity,
      request.orderType === 'Limit' ? request.price : undefined,
      params,
    );
    return order;
  }

  private async symbolOfOrder(orderId: string): Promise<string> {
    const known = this.orderSymbols.get(orderId);
    if (known !== undefined) return known;
    await this.getOpenOrders(); // learns the symbols of every open order
    const found = this.orderSymbols.get(orderId);
    if (found === undefined) throw new BackendError('rejected', `order ${orderId} is not open`);
    return found;
  }

  private ack(order: CcxtOrder, agentSymbol: string): OrderAck {
    const orderId = String(order.id);
    this.orderSymbols.set(orderId, order.symbol ?? this.toVenue.get(agentSymbol) ?? agentSymbol);
    const quantity = order.amount ?? 0;
    const filled = order.filled ?? 0;
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
      orderId,
      symbol: agentSymbol,
      side: order.side === 'sell' ? 'Sell' : 'Buy',
      quantity,
      status,
      timestampMs: order.timestamp ?? Date.now(),
      filledQuantity: filled,
    };
    if (typeof order.average === 'number' && order.average > 0) ack.averagePrice = order.average;
    return ack;
  }

  /** A failure after which the order may exist at the venue. */
  private ambiguous(error: unknown): boolean {
    const ccxt = this.ccxt;
    // OperationFailed: ccxt's base of NetworkError, also what a venue "internal error" (-1001) becomes.
    return error instanceof ccxt.OperationFailed && !(error instanceof ccxt.InvalidNonce) && !(error instanceof ccxt.DDoSProtection);
  }

  private scrub(text: string): string {
    let out = text;
    for (const secret of this.secrets) if (secret.length > 0) out = out.split(secret).join('[redacted]');
    return out;
  }

  /** A ccxt (or any) error as a `BackendError` of the SPEC kind, with the credentials scrubbed. */
  private map(error: unknown): BackendError {
    if (error instanceof BackendError) {
      const message = this.scrub(error.message);
      return message === error.message ? error : new BackendError(error.kind, message);
    }
    const ccxt = this.ccxt;
    let kind: ErrorKind;
    if (error instanceof ccxt.RequestTimeout) kind = 'timeout';
    else if (error instanceof ccxt.InvalidNonce) kind = 'other';
    else if (error instanceof ccxt.OperationFailed) kind = 'network'; // NetworkError, DDoSProtection, 5xx
    else if (error instanceof ccxt.InsufficientFunds) kind = 'insufficient_funds';
    else if (error instanceof ccxt.BadSymbol) kind = 'symbol_not_found';
    else if (error instanceof ccxt.InvalidOrder) kind = 'rejected'; // includes OrderNotFound
    else kind = 'other'; // AuthenticationError, PermissionDenied, ExchangeError, ...
    const name = error instanceof Error ? error.constructor.name : 'Error';
    const text = error instanceof Error ? error.message : String(error);
    // No `cause`: the original error may carry the request (headers with the key).
    return new BackendError(kind, this.scrub(`${name}: ${text}`.slice(0, 500)));
  }
}
