// MockTradingBackend: a tiny in-memory venue (SPEC §6) with balances, signed positions, resting
// limit orders, fills, reference prices and failure injection. It pushes every change through
// `subscribe`, like a venue's user-data stream: market state per symbol and today's PnL.
//
// An order call costs O(1) in the number of orders it has seen: open quantities and locked cash
// are kept per symbol as orders change (not summed over the book), and the fill list and client-id
// memory keep the most recent `historyLimit` entries, like a venue's retention window. (Moving a
// price walks the open orders, if that symbol has any; listing open orders copies them.)
import { BackendError } from '../errors';
import type {
  Balance,
  BackendEvent,
  ErrorKind,
  OpenOrder,
  OrderAck,
  OrderRequest,
  Portfolio,
  Position,
  ReplaceRequest,
  Side,
  SubscribeTopics,
  SyncOrderOps,
  TradingBackend,
} from '../types';

export type MockOperation =
  | 'placeOrder'
  | 'cancelOrder'
  | 'replaceOrder'
  | 'getBalance'
  | 'getPositions'
  | 'getReferencePrice'
  | 'getOpenOrders';

export interface MockFill {
  orderId: string;
  symbol: string;
  side: Side;
  price: number;
  quantity: number;
  timestampMs: number;
}

export interface MockBackendOptions {
  /** Quote-currency cash, default 1,000,000. */
  cash?: number;
  quoteAsset?: string;
  referencePrices?: Record<string, number>;
  /** Delay every call by this many ms (default 0: resolves on the next microtask). */
  latencyMs?: number;
  /**
   * Offer `syncOrders` (default true, unless `latencyMs` > 0): the tools then place, cancel and
   * replace without promises. `false` makes every order call asynchronous, like a remote venue.
   */
  synchronous?: boolean;
  now?: () => number;
  /**
   * Fills and client order ids remembered (the most recent ones), default 10,000. A place that
   * repeats a client id within that window returns the first ack instead of a second order.
   */
  historyLimit?: number;
}

interface Injected {
  operation: MockOperation | 'any';
  kind: ErrorKind;
  remaining: number;
  message: string;
}

/** Everything kept per symbol: one lookup per order instead of one per concern. */
interface MockMarket {
  /** Reference price; a symbol without one is unknown to the venue. */
  price: number | undefined;
  /** Signed position and its average entry price. */
  position: number;
  averagePrice: number;
  /** Remaining quantity of the symbol's open orders per side, and how many there are. */
  openBuy: number;
  openSell: number;
  orders: number;
}

export class MockTradingBackend implements TradingBackend {
  readonly name = 'mock' as const;
  /** The most recent fills, one column per field (no object per fill until someone reads them). */
  private readonly fillColumns = { orderId: [] as string[], symbol: [] as string[], side: [] as Side[], price: [] as number[], quantity: [] as number[], timestampMs: [] as number[] };
  /** Where the next fill overwrites the oldest once `historyLimit` fills are kept. */
  private fillNext = 0;
  /** Calls per operation, including failed ones. */
  readonly calls: Record<MockOperation, number> = {
    placeOrder: 0,
    cancelOrder: 0,
    replaceOrder: 0,
    getBalance: 0,
    getPositions: 0,
    getReferencePrice: 0,
    getOpenOrders: 0,
  };
  private cash: number;
  private readonly quoteAsset: string;
  private readonly markets = new Map<string, MockMarket>();
  private readonly open = new Map<string, OpenOrder>();
  /** Quote currency held by resting buys. */
  private locked = 0;
  private readonly byClientId = new Map<string, OrderAck>();
  private readonly historyLimit: number;
  private readonly clientIdRing: Array<string | undefined> = [];
  private accepted = 0;
  private readonly injected: Injected[] = [];
  private readonly listeners = new Set<(event: BackendEvent) => void>();
  private readonly pnlListeners = new Set<(event: BackendEvent) => void>();
  private readonly latencyMs: number;
  private readonly synchronous: boolean;
  private readonly now: () => number;
  private nextId = 1;
  private pnlDay = Number.NaN;
  private dayStartEquity = 0;

  constructor(options: MockBackendOptions = {}) {
    this.cash = options.cash ?? 1_000_000;
    this.quoteAsset = options.quoteAsset ?? 'USDT';
    this.latencyMs = options.latencyMs ?? 0;
    this.synchronous = options.synchronous ?? true;
    this.now = options.now ?? Date.now;
    this.historyLimit = options.historyLimit ?? 10_000;
    if (!(Number.isInteger(this.historyLimit) && this.historyLimit > 0)) throw new RangeError(`historyLimit must be a positive integer, got ${this.historyLimit}`);
    for (const [symbol, price] of Object.entries(options.referencePrices ?? {})) this.market(symbol).price = price;
    this.dailyPnl(); // the first day starts at the initial equity
  }

  /** Fail the next `count` calls of `operation` (or of any operation) with `kind`. */
  injectFailure(operation: MockOperation | 'any', kind: ErrorKind, count = 1, message = `injected ${kind} failure`): void {
    this.injected.push({ operation, kind, remaining: count, message });
  }

  /** The most recent `historyLimit` fills, oldest first (a snapshot). */
  get fills(): MockFill[] {
    const c = this.fillColumns;
    const n = c.orderId.length;
    const out: MockFill[] = new Array<MockFill>(n);
    for (let k = 0; k < n; k++) {
      const i = n < this.historyLimit ? k : (this.fillNext + k) % n;
      out[k] = { orderId: c.orderId[i] as string, symbol: c.symbol[i] as string, side: c.side[i] as Side, price: c.price[i] as number, quantity: c.quantity[i] as number, timestampMs: c.timestampMs[i] as number };
    }
    return out;
  }

  /** Move the market: resting limits the new price trades through fill at their limit price. */
  setReferencePrice(symbol: string, price: number): void {
    if (!(Number.isFinite(price) && price > 0)) throw new RangeError(`price must be finite and > 0, got ${price}`);
    const market = this.market(symbol);
    market.price = price;
    if (market.orders > 0) for (const order of [...this.open.values()]) {
      if (order.symbol !== symbol) continue;
      const crosses = order.side === 'Buy' ? price <= order.price : price >= order.price;
      if (crosses) this.fill(order, market, order.price, this.now(), true);
    }
    this.emitMarket(symbol, market);
  }

  subscribe(listener: (event: BackendEvent) => void, topics: SubscribeTopics = {}): () => void {
    this.listeners.add(listener);
    if (topics.pnl === true) this.pnlListeners.add(listener);
    return () => {
      this.listeners.delete(listener);
      this.pnlListeners.delete(listener);
    };
  }

  /** Without latency every call completes in-process: the order calls without promises (see `TradingBackend.syncOrders`). */
  get syncOrders(): SyncOrderOps | undefined {
    return this.latencyMs > 0 || !this.synchronous ? undefined : this.syncOps;
  }

  private readonly syncOps: SyncOrderOps = {
    placeOrder: (request) => this.place(request),
    cancelOrder: (orderId) => this.cancel(orderId),
    replaceOrder: (request) => this.replace(request),
  };

  async placeOrder(request: OrderRequest): Promise<OrderAck> {
    if (this.latencyMs > 0) await this.sleep();
    return this.place(request);
  }

  async cancelOrder(orderId: string): Promise<OrderAck> {
    if (this.latencyMs > 0) await this.sleep();
    return this.cancel(orderId);
  }

  async replaceOrder(request: ReplaceRequest): Promise<OrderAck> {
    if (this.latencyMs > 0) await this.sleep();
    return this.replace(request);
  }

  private place(request: OrderRequest): OrderAck {
    this.enter('placeOrder');
    const known = this.byClientId.get(request.clientOrderId);
    if (known !== undefined) return known; // idempotent on client order id
    const market = this.markets.get(request.symbol);
    const reference = market?.price;
    if (market === undefined || reference === undefined) throw new BackendError('symbol_not_found', `unknown symbol ${request.symbol}`);
    const marketable =
      request.orderType === 'Market' ||
      (request.side === 'Buy' ? (request.price as number) >= reference : (request.price as number) <= reference);
    const fillPrice = reference; // marketable orders take the reference price
    const notional = request.quantity * (marketable ? fillPrice : (request.price as number));
    if (request.side === 'Buy' && notional > this.availableCash()) {
      throw new BackendError('insufficient_funds', `need ${notional} ${this.quoteAsset}, have ${this.availableCash()}`);
    }
    const order: OpenOrder = {
      orderId: `mock-${this.nextId++}`,
      clientOrderId: request.clientOrderId,
      symbol: request.symbol,
      side: request.side,
      price: request.price ?? reference,
      quantity: request.quantity,
      remaining: request.quantity,
    };
    const now = this.now();
    let status: OrderAck['status'];
    if (marketable) {
      this.fill(order, market, fillPrice, now, false);
      status = 'Filled';
    } else if (request.orderType === 'Limit' && request.timeInForce === 'GTC') {
      this.rest(order, market);
      this.emitOrder(order, order.remaining);
      status = 'New';
    } else {
      status = 'Cancelled'; // IOC/FOK that cannot trade now
    }
    this.emitMarket(request.symbol, market);
    const ack = this.ack(order, status, now);
    this.remember(request.clientOrderId, ack);
    return ack;
  }

  private cancel(orderId: string): OrderAck {
    this.enter('cancelOrder');
    const order = this.open.get(orderId);
    if (order === undefined) throw new BackendError('rejected', `order ${orderId} is not open`);
    const market = this.marketOf(order);
    this.unrest(order, market);
    this.emitOrder(order, 0);
    this.emitMarket(order.symbol, market);
    return this.ack(order, 'Cancelled', this.now());
  }

  private replace(request: ReplaceRequest): OrderAck {
    this.enter('replaceOrder');
    const order = this.open.get(request.orderId);
    if (order === undefined) throw new BackendError('rejected', `order ${request.orderId} is not open`);
    const filled = order.quantity - order.remaining;
    const quantity = request.quantity ?? order.quantity;
    if (quantity <= filled) throw new BackendError('rejected', `new quantity ${quantity} is not above the filled ${filled}`);
    const market = this.marketOf(order);
    this.unrest(order, market);
    order.price = request.price ?? order.price;
    order.quantity = quantity;
    order.remaining = quantity - filled;
    this.rest(order, market);
    this.emitOrder(order, order.remaining);
    const reference = market.price;
    const now = this.now();
    if (reference !== undefined && (order.side === 'Buy' ? reference <= order.price : reference >= order.price)) {
      this.fill(order, market, order.price, now, true);
    }
    this.emitMarket(order.symbol, market);
    return this.ack(order, order.remaining === 0 ? 'Filled' : 'Replaced', now);
  }

  async getBalance(): Promise<Balance[]> {
    if (this.latencyMs > 0) await this.sleep();
    this.enter('getBalance');
    return this.balances();
  }

  async getPositions(): Promise<Position[]> {
    if (this.latencyMs > 0) await this.sleep();
    this.enter('getPositions');
    return this.positionList();
  }

  async getPortfolio(): Promise<Portfolio> {
    const [balances, positions] = await Promise.all([this.getBalance(), this.getPositions()]);
    return { balances, positions };
  }

  async getReferencePrice(symbol: string): Promise<number | null> {
    if (this.latencyMs > 0) await this.sleep();
    this.enter('getReferencePrice');
    return this.markets.get(symbol)?.price ?? null;
  }

  async getOpenOrders(symbol?: string): Promise<OpenOrder[]> {
    if (this.latencyMs > 0) await this.sleep();
    this.enter('getOpenOrders');
    return [...this.open.values()].filter((o) => symbol === undefined || o.symbol === symbol).map((o) => ({ ...o }));
  }

  /** Orders resting now (synchronous view for tests). */
  openOrders(): OpenOrder[] {
    return [...this.open.values()].map((o) => ({ ...o }));
  }

  /** Every order the venue accepted (resting, filled or cancelled), by client order id. */
  acceptedOrders(): number {
    return this.accepted;
  }

  position(symbol: string): number {
    return this.markets.get(symbol)?.position ?? 0;
  }

  private balances(): Balance[] {
    return [{ asset: this.quoteAsset, free: this.availableCash(), locked: this.lockedCash() }];
  }

  private positionList(): Position[] {
    return [...this.markets]
      .filter(([, m]) => m.position !== 0)
      .map(([symbol, m]) => ({ symbol, quantity: m.position, averagePrice: m.averagePrice }));
  }

  private lockedCash(): number {
    return this.locked;
  }

  private availableCash(): number {
    return this.cash - this.locked;
  }

  /** The symbol's record, created on first use. */
  private market(symbol: string): MockMarket {
    let market = this.markets.get(symbol);
    if (market === undefined) {
      market = { price: undefined, position: 0, averagePrice: 0, openBuy: 0, openSell: 0, orders: 0 };
      this.markets.set(symbol, market);
    }
    return market;
  }

  /** The record of an order's symbol (one exists: orders are only taken on known symbols). */
  private marketOf(order: OpenOrder): MockMarket {
    return this.market(order.symbol);
  }

  /** Put `order` on the book with its remaining quantity (and cash, for a buy). */
  private rest(order: OpenOrder, market: MockMarket): void {
    this.open.set(order.orderId, order);
    this.changeResting(order, market, 1);
  }

  /** Take `order` off the book. */
  private unrest(order: OpenOrder, market: MockMarket): void {
    if (this.open.delete(order.orderId)) this.changeResting(order, market, -1);
  }

  private changeResting(order: OpenOrder, market: MockMarket, sign: 1 | -1): void {
    market.orders += sign;
    if (order.side === 'Buy') {
      market.openBuy += sign * order.remaining;
      this.locked += sign * order.remaining * order.price;
    } else {
      market.openSell += sign * order.remaining;
    }
    // Sums of floats drift: a symbol without open orders, or an empty book, is exactly zero again.
    if (market.orders === 0) {
      market.openBuy = 0;
      market.openSell = 0;
    }
    if (this.open.size === 0) this.locked = 0;
  }

  private remember(clientOrderId: string, ack: OrderAck): void {
    // A ring of the ids in arrival order says which to forget (a Map's own oldest-first iteration
    // walks over every deleted slot: quadratic over a long run).
    const slot = this.accepted % this.historyLimit;
    const forgotten = this.clientIdRing[slot];
    if (forgotten !== undefined) this.byClientId.delete(forgotten);
    this.clientIdRing[slot] = clientOrderId;
    this.byClientId.set(clientOrderId, ack);
    this.accepted += 1;
  }

  /** Fill what remains of `order` at `price` (the mock fills whole); `resting`: it is on the book now. */
  private fill(order: OpenOrder, market: MockMarket, price: number, timestampMs: number, resting: boolean): void {
    const quantity = order.remaining;
    const signed = order.side === 'Buy' ? quantity : -quantity;
    const held = market.position;
    const next = held + signed;
    market.averagePrice =
      next === 0 ? 0 : Math.sign(next) === Math.sign(held) && Math.abs(next) > Math.abs(held)
        ? (market.averagePrice * held + price * signed) / next
        : Math.sign(next) === Math.sign(held) ? market.averagePrice : price;
    market.position = next;
    this.cash -= signed * price;
    if (resting) this.unrest(order, market);
    order.remaining = 0;
    this.recordFill(order, price, quantity, timestampMs);
    if (resting) this.emitOrder(order, 0);
  }

  /** Keep a fill in the columns: appended until `historyLimit`, then over the oldest. */
  private recordFill(order: OpenOrder, price: number, quantity: number, timestampMs: number): void {
    const c = this.fillColumns;
    let i = c.orderId.length;
    if (i >= this.historyLimit) {
      i = this.fillNext;
      this.fillNext = (i + 1) % this.historyLimit;
    }
    c.orderId[i] = order.orderId;
    c.symbol[i] = order.symbol;
    c.side[i] = order.side;
    c.price[i] = price;
    c.quantity[i] = quantity;
    c.timestampMs[i] = timestampMs;
  }

  private ack(order: OpenOrder, status: OrderAck['status'], timestampMs: number): OrderAck {
    return {
      orderId: order.orderId,
      symbol: order.symbol,
      side: order.side,
      quantity: order.quantity,
      status,
      timestampMs,
      filledQuantity: order.quantity - order.remaining,
    };
  }

  private sleep(): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, this.latencyMs));
  }

  /** Count the call and throw an injected failure if one is due. Synchronous: no extra tick. */
  private enter(operation: MockOperation): void {
    this.calls[operation] += 1;
    if (this.injected.length === 0) return;
    const index = this.injected.findIndex((f) => f.operation === operation || f.operation === 'any');
    if (index >= 0) {
      const failure = this.injected[index] as Injected;
      failure.remaining -= 1;
      if (failure.remaining <= 0) this.injected.splice(index, 1);
      throw new BackendError(failure.kind, failure.message);
    }
  }

  private emit(event: BackendEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  private emitOrder(order: OpenOrder, remaining: number): void {
    if (this.listeners.size === 0) return;
    const { orderId, symbol, side, price, clientOrderId } = order;
    this.emit({ type: 'order', orderId, symbol, side, price, remaining, clientOrderId });
  }

  private emitMarket(symbol: string, market: MockMarket): void {
    if (this.listeners.size === 0) return;
    this.emit({
      type: 'market',
      symbol,
      referencePrice: market.price ?? null,
      position: market.position,
      openBuyQuantity: market.openBuy,
      openSellQuantity: market.openSell,
    });
    if (this.pnlListeners.size === 0) return;
    const pnl: BackendEvent = { type: 'pnl', dailyPnl: this.dailyPnl() };
    for (const listener of this.pnlListeners) listener(pnl);
  }

  /** Equity (cash + positions at reference prices) minus equity when the UTC day was first seen. */
  dailyPnl(): number {
    let equity = this.cash;
    for (const m of this.markets.values()) equity += m.position * (m.price ?? m.averagePrice);
    const day = Math.floor(this.now() / 86_400_000);
    if (day !== this.pnlDay) {
      this.pnlDay = day;
      this.dayStartEquity = equity;
    }
    return equity - this.dayStartEquity;
  }
}
