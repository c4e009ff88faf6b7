// MockTradingBackend: a tiny in-memory venue (SPEC §6) with balances, signed positions, resting
// limit orders, fills, reference prices and failure injection. It pushes every change through
// `subscribe`, like a venue's user-data stream: market state per symbol and today's PnL.
//
// Its book (`getOrderBook`) is what rests on it: the mock has no other traders, so the only
// liquidity it holds is the resting limit orders, aggregated by price. No synthetic quote: a
// marketable order fills in full at the reference price, which no finite ladder would describe
// honestly; the reference price itself is what `get_pnl` marks positions at.
//
// An order call costs O(1) in the number of orders it has seen: open quantities and locked cash
// are kept per symbol as orders change (not summed over the book), and the fill list and client-id
// memory keep the most recent `historyLimit` entries, like a venue's retention window. (Moving a
// price walks the open orders, if that symbol has any; listing open orders copies them.) Both
// histories are columns of numbers (order numbers, symbol indexes), so what they retain is no
// garbage for the collector to copy: only the remembered client id strings themselves.
import { BackendError } from '../../errors';
import { ClientIdWindow } from '../client-id-window';
import type {
  Balance,
  BackendEvent,
  ErrorKind,
  OpenOrder,
  OrderAck,
  OrderBook,
  OrderBookLevel,
  OrderRequest,
  PnlReport,
  Portfolio,
  Position,
  ReplaceRequest,
  Side,
  SubscribeTopics,
  SyncOrderOps,
  TradingBackend,
} from '../../types';

export type MockOperation =
  | 'placeOrder'
  | 'cancelOrder'
  | 'replaceOrder'
  | 'getBalance'
  | 'getPositions'
  | 'getReferencePrice'
  | 'getOpenOrders'
  | 'getOrderBook'
  | 'getPnl';

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
   * How a call waits out `latencyMs` (default a real timer). A test passes its own to decide when
   * the venue answers.
   */
  delay?: (ms: number) => Promise<void>;
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
  symbol: string;
  /** Position in `marketList` (what the history columns store instead of the symbol). */
  index: number;
  /** Reference price; a symbol without one is unknown to the venue. */
  price: number | undefined;
  /** Signed position and its average entry price. */
  position: number;
  averagePrice: number;
  /** Remaining quantity of the symbol's open orders per side, and how many there are. */
  openBuy: number;
  openSell: number;
  orders: number;
  /** PnL realized by fills on `realizedDay` (UTC days since the epoch), before fees (the mock charges none). */
  realizedToday: number;
  realizedDay: number;
}

/** An order of this venue: its number (`mock-<number>`) and symbol record ride along. */
interface MockOrder extends OpenOrder {
  readonly number: number;
  readonly market: MockMarket;
}

/** The statuses a place can end in, by the index the ack history stores. */
const PLACE_STATUSES = ['New', 'Filled', 'Cancelled'] as const;
type PlaceStatus = (typeof PLACE_STATUSES)[number];

/** Typed-array columns of a ring of at most `limit` rows, grown by doubling as rows are written. */
class RingColumns<K extends string> {
  private rows: number;
  readonly columns: Record<K, Float64Array>;

  constructor(
    names: readonly K[],
    private readonly limit: number,
  ) {
    this.rows = Math.min(limit, 256);
    this.columns = Object.fromEntries(names.map((name) => [name, new Float64Array(this.rows)])) as Record<K, Float64Array>;
  }

  /** Make `row` writable. */
  reserve(row: number): void {
    if (row < this.rows) return;
    this.rows = Math.min(this.limit, Math.max(row + 1, this.rows * 2));
    for (const name of Object.keys(this.columns) as K[]) {
      const grown = new Float64Array(this.rows);
      grown.set(this.columns[name]);
      this.columns[name] = grown;
    }
  }
}

const SIDE_CODES: readonly Side[] = ['Buy', 'Sell'];

export class MockTradingBackend implements TradingBackend {
  readonly name = 'mock' as const;
  /** The most recent fills (no object per fill until someone reads them). */
  private readonly fillHistory: RingColumns<'order' | 'market' | 'side' | 'price' | 'quantity' | 'timestampMs'>;
  private fillCount = 0;
  /** Calls per operation, including failed ones. */
  readonly calls: Record<MockOperation, number> = {
    placeOrder: 0,
    cancelOrder: 0,
    replaceOrder: 0,
    getBalance: 0,
    getPositions: 0,
    getReferencePrice: 0,
    getOpenOrders: 0,
    getOrderBook: 0,
    getPnl: 0,
  };
  private cash: number;
  private readonly quoteAsset: string;
  private readonly markets = new Map<string, MockMarket>();
  private readonly marketList: MockMarket[] = [];
  private readonly open = new Map<string, MockOrder>();
  /** Quote currency held by resting buys. */
  private locked = 0;
  private readonly historyLimit: number;
  /** Client ids placed recently; each window slot's ack is a row of `ackHistory`. */
  private readonly clientIds: ClientIdWindow;
  private readonly ackHistory: RingColumns<'order' | 'market' | 'side' | 'quantity' | 'filled' | 'status' | 'timestampMs'>;
  private accepted = 0;
  private readonly injected: Injected[] = [];
  private readonly listeners = new Set<(event: BackendEvent) => void>();
  private readonly pnlListeners = new Set<(event: BackendEvent) => void>();
  private readonly latencyMs: number;
  private readonly delay: (ms: number) => Promise<void>;
  private readonly synchronous: boolean;
  private readonly now: () => number;
  private nextId = 1;
  private pnlDay = Number.NaN;
  private dayStartEquity = 0;

  constructor(options: MockBackendOptions = {}) {
    this.cash = options.cash ?? 1_000_000;
    this.quoteAsset = options.quoteAsset ?? 'USDT';
    this.latencyMs = options.latencyMs ?? 0;
    this.delay = options.delay ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.synchronous = options.synchronous ?? true;
    this.now = options.now ?? Date.now;
    this.historyLimit = options.historyLimit ?? 10_000;
    if (!(Number.isInteger(this.historyLimit) && this.historyLimit > 0)) throw new RangeError(`historyLimit must be a positive integer, got ${this.historyLimit}`);
    this.clientIds = new ClientIdWindow(this.historyLimit);
    this.ackHistory = new RingColumns(['order', 'market', 'side', 'quantity', 'filled', 'status', 'timestampMs'], this.historyLimit);
    this.fillHistory = new RingColumns(['order', 'market', 'side', 'price', 'quantity', 'timestampMs'], this.historyLimit);
    for (const [symbol, price] of Object.entries(options.referencePrices ?? {})) this.market(symbol).price = price;
    this.dailyPnl(); // the first day starts at the initial equity
  }

  /** Fail the next `count` calls of `operation` (or of any operation) with `kind`. */
  injectFailure(operation: MockOperation | 'any', kind: ErrorKind, count = 1, message = `injected ${kind} failure`): void {
    this.injected.push({ operation, kind, remaining: count, message });
  }

  /** The most recent `historyLimit` fills, oldest first (a snapshot). */
  get fills(): MockFill[] {
    const c = this.fillHistory.columns;
    const n = Math.min(this.fillCount, this.historyLimit);
    const first = this.fillCount - n;
    const out: MockFill[] = new Array<MockFill>(n);
    for (let k = 0; k < n; k++) {
      const i = (first + k) % this.historyLimit;
      out[k] = {
        orderId: `mock-${c.order[i] as number}`,
        symbol: (this.marketList[c.market[i] as number] as MockMarket).symbol,
        side: SIDE_CODES[c.side[i] as number] as Side,
        price: c.price[i] as number,
        quantity: c.quantity[i] as number,
        timestampMs: c.timestampMs[i] as number,
      };
    }
    return out;
  }

  /** Move the market: resting limits the new price trades through fill at their limit price. */
  setReferencePrice(symbol: string, price: number): void {
    if (!(Number.isFinite(price) && price > 0)) throw new RangeError(`price must be finite and > 0, got ${price}`);
    const market = this.market(symbol);
    market.price = price;
    if (market.orders > 0) for (const order of [...this.open.values()]) {
      if (order.market !== market) continue;
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
    const known = this.clientIds.find(request.clientOrderId);
    if (known >= 0) return this.rememberedAck(known); // idempotent on client order id
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
    const number = this.nextId++;
    const order: MockOrder = {
      orderId: `mock-${number}`,
      number,
      market,
      clientOrderId: request.clientOrderId,
      symbol: request.symbol,
      side: request.side,
      price: request.price ?? reference,
      quantity: request.quantity,
      remaining: request.quantity,
    };
    const now = this.now();
    let status: PlaceStatus;
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
    this.remember(request.clientOrderId, order, status, now);
    return this.ack(order, status, now);
  }

  private cancel(orderId: string): OrderAck {
    this.enter('cancelOrder');
    const order = this.open.get(orderId);
    if (order === undefined) throw new BackendError('rejected', `order ${orderId} is not open`);
    const market = order.market;
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
    const market = order.market;
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
    return [...this.open.values()].filter((o) => symbol === undefined || o.symbol === symbol).map(openOrderCopy);
  }

  /** The resting orders of `symbol` aggregated by price, best first, at most `levels` per side. */
  async getOrderBook(symbol: string, levels: number): Promise<OrderBook> {
    if (this.latencyMs > 0) await this.sleep();
    this.enter('getOrderBook');
    const market = this.markets.get(symbol);
    if (market?.price === undefined) throw new BackendError('symbol_not_found', `unknown symbol ${symbol}`);
    const bids = new Map<number, number>();
    const asks = new Map<number, number>();
    if (market.orders > 0) {
      for (const order of this.open.values()) {
        if (order.market !== market) continue;
        const side = order.side === 'Buy' ? bids : asks;
        side.set(order.price, (side.get(order.price) ?? 0) + order.remaining);
      }
    }
    const levelsOf = (side: Map<number, number>, falling: boolean): OrderBookLevel[] =>
      [...side]
        .sort(([a], [b]) => (falling ? b - a : a - b))
        .slice(0, levels)
        // Sums of floats drift (0.1 + 0.2): 12 significant digits is every quantity the mock was given.
        .map(([price, quantity]) => ({ price, quantity: Number(quantity.toPrecision(12)) }));
    return { symbol, bids: levelsOf(bids, true), asks: levelsOf(asks, false), timestampMs: this.now() };
  }

  /** Positions at their reference prices, and what fills realized today (UTC). */
  async getPnl(): Promise<PnlReport> {
    if (this.latencyMs > 0) await this.sleep();
    this.enter('getPnl');
    const now = this.now();
    const today = Math.floor(now / 86_400_000);
    const realizedPnlToday: Record<string, number> = {};
    for (const m of this.markets.values()) if (m.realizedDay === today && m.realizedToday !== 0) realizedPnlToday[m.symbol] = m.realizedToday;
    const positions = [...this.markets.values()]
      .filter((m) => m.position !== 0)
      .map((m) => ({ symbol: m.symbol, quantity: m.position, entryPrice: m.averagePrice, markPrice: m.price ?? null }));
    return { positions, realizedPnlToday, timestampMs: now };
  }

  /** Orders resting now (synchronous view for tests). */
  openOrders(): OpenOrder[] {
    return [...this.open.values()].map(openOrderCopy);
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
      market = { symbol, index: this.marketList.length, price: undefined, position: 0, averagePrice: 0, openBuy: 0, openSell: 0, orders: 0, realizedToday: 0, realizedDay: Number.NaN };
      this.markets.set(symbol, market);
      this.marketList.push(market);
    }
    return market;
  }

  /** Put `order` on the book with its remaining quantity (and cash, for a buy). */
  private rest(order: MockOrder, market: MockMarket): void {
    this.open.set(order.orderId, order);
    this.changeResting(order, market, 1);
  }

  /** Take `order` off the book. */
  private unrest(order: MockOrder, market: MockMarket): void {
    if (this.open.delete(order.orderId)) this.changeResting(order, market, -1);
  }

  private changeResting(order: MockOrder, market: MockMarket, sign: 1 | -1): void {
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

  /** Remember a placed order's ack under its client id (forgetting the oldest beyond the window). */
  private remember(clientOrderId: string, order: MockOrder, status: PlaceStatus, timestampMs: number): void {
    const slot = this.clientIds.add(clientOrderId);
    this.ackHistory.reserve(slot);
    const c = this.ackHistory.columns;
    c.order[slot] = order.number;
    c.market[slot] = order.market.index;
    c.side[slot] = order.side === 'Buy' ? 0 : 1;
    c.quantity[slot] = order.quantity;
    c.filled[slot] = order.quantity - order.remaining;
    c.status[slot] = PLACE_STATUSES.indexOf(status);
    c.timestampMs[slot] = timestampMs;
    this.accepted += 1;
  }

  /** The ack a remembered place returned, rebuilt from its row. */
  private rememberedAck(slot: number): OrderAck {
    const c = this.ackHistory.columns;
    return {
      orderId: `mock-${c.order[slot] as number}`,
      symbol: (this.marketList[c.market[slot] as number] as MockMarket).symbol,
      side: SIDE_CODES[c.side[slot] as number] as Side,
      quantity: c.quantity[slot] as number,
      status: PLACE_STATUSES[c.status[slot] as number] as PlaceStatus,
      timestampMs: c.timestampMs[slot] as number,
      filledQuantity: c.filled[slot],
    };
  }

  /** Fill what remains of `order` at `price` (the mock fills whole); `resting`: it is on the book now. */
  private fill(order: MockOrder, market: MockMarket, price: number, timestampMs: number, resting: boolean): void {
    const quantity = order.remaining;
    const signed = order.side === 'Buy' ? quantity : -quantity;
    const held = market.position;
    const next = held + signed;
    if (held !== 0 && Math.sign(signed) !== Math.sign(held)) {
      // The part of the fill that closes the held position realizes its gain against the entry.
      const day = Math.floor(timestampMs / 86_400_000);
      if (day !== market.realizedDay) {
        market.realizedDay = day;
        market.realizedToday = 0;
      }
      market.realizedToday += (price - market.averagePrice) * Math.min(quantity, Math.abs(held)) * Math.sign(held);
    }
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
  private recordFill(order: MockOrder, price: number, quantity: number, timestampMs: number): void {
    const i = this.fillCount % this.historyLimit;
    this.fillCount += 1;
    this.fillHistory.reserve(i);
    const c = this.fillHistory.columns;
    c.order[i] = order.number;
    c.market[i] = order.market.index;
    c.side[i] = order.side === 'Buy' ? 0 : 1;
    c.price[i] = price;
    c.quantity[i] = quantity;
    c.timestampMs[i] = timestampMs;
  }

  private ack(order: MockOrder, status: OrderAck['status'], timestampMs: number): OrderAck {
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
    return this.delay(this.latencyMs);
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

  private emitOrder(order: MockOrder, remaining: number): void {
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

/** What callers see of an order: the public fields only. */
function openOrderCopy(order: MockOrder): OpenOrder {
  const { orderId, clientOrderId, symbol, side, price, quantity, remaining } = order;
  return { orderId, clientOrderId, symbol, side, price, quantity, remaining };
}
