// BacktestTradingBackend: the `backtest` venue (SPEC §6). Agent orders go into the native L1
// matching engine; replayed market data (OHLCV bars or trade prints) moves the price, fills resting
// agent orders and seeds liquidity for marketable ones. Every change is pushed through `subscribe`.
import { ClientIdWindow } from '../backends/client-id-window';
import { BackendError } from '../errors';
import { MatchingEngine, type EngineFill, type SubmitResult } from '../matching';
import type {
  AckStatus,
  Balance,
  BackendEvent,
  OpenOrder,
  OrderAck,
  OrderBook,
  OrderBookLevel,
  OrderRequest,
  OrderType,
  PnlReport,
  Portfolio,
  Position,
  ReplaceRequest,
  Side,
  SubscribeTopics,
  SyncOrderOps,
  TimeInForce,
  TradingBackend,
} from '../types';
import { agentOrderId, agentOrderNumber, type AgentOrder } from './agent-order';
import { askWalkCost, notionalWithFee, requireFreeCash, requireFreeHolding } from './funds';
import { Grid } from './grid';
import { resolveLiquidity, SeededLiquidity, ladderFor } from './liquidity';
import { baseOf, nonNegative, quoteOf, type BacktestBackendOptions, type FillRule } from './options';
import { BacktestPortfolio, type PositionState } from './portfolio';
import { BacktestPushFeed } from './push-feed';
import { maxDrawdown, realizedSince, type BacktestFill, type BacktestResult } from './report';
import type { BarSeries, MarketSeries, TradeSeries } from './series';
import { show } from './show-number';

export type { BacktestBackendOptions, BacktestFees, FillRule } from './options';
export type { BacktestFill, BacktestResult } from './report';

export interface BookSnapshotLevel {
  price: number;
  quantity: number;
  orders: number;
}

export interface BookSnapshot {
  symbol: string;
  timestampMs: number;
  bids: BookSnapshotLevel[];
  asks: BookSnapshotLevel[];
}

const DAY_MS = 86_400_000;
const NO_FILLS: readonly EngineFill[] = [];
/** `engine.last.statusCode` codes. */
const STATUS_NAMES = ['New', 'PartiallyFilled', 'Filled', 'Cancelled', 'Rejected'] as const;
const REASON_FOK_NOT_FILLABLE = 1;
/** Extra depth levels read when pricing a market buy for the funds check. */
const DEPTH_SLACK = 64;

function engineRefusal(error: unknown): BackendError {
  if (error instanceof BackendError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new BackendError('rejected', `backtest: matching engine refused the order: ${message}`, { cause: error });
}

/**
 * The `backtest` venue. Rules:
 * - Grid: the tick is 10^-(most price decimals in the data) and the lot 10^-(most volume/amount
 *   decimals), unless `tickSize` / `lotSize` say otherwise. An agent price or quantity off the grid is
 *   refused (`BackendError('rejected')` naming the value and the grid); nothing is rounded silently.
 * - A step applies one bar or print: last step's seeded liquidity is removed, resting agent orders
 *   the data trades through are filled, the reference price becomes the close / print price.
 * - Bars: a resting buy at p fills when the bar's low <= p (`fillRule: 'through'`: low < p), a sell
 *   when high >= p (> p), in full, at p (the maker's price), maker fee. Prints: a buy at p fills when
 *   a print's price <= p (< p), a sell when >= p (> p), up to the print's amount (floored to the lot
 *   grid) shared in price-time priority; at p, maker fee. A print's aggressor side is not used.
 * - Marketable agent orders (market orders, limits at or through the ladder's best price) trade
 *   against a ladder seeded around the reference price (`liquidity`), placed only when such an
 *   order (or `bookSnapshot`) needs it, by price-time matching in the engine at the makers' prices,
 *   taker fee. Ladder levels are post-only: they never trade against resting agent orders. What a
 *   market order cannot fill from the ladder is cancelled.
 * - A non-marketable order placed during a step's hook rests and is first matched against the
 *   next step's data (no look-ahead: the current bar's range is already history).
 * - The agent's own orders can match each other (no self-trade prevention); both sides are booked.
 * - Buys need free cash (cash - resting buy notional) for notional + fee; sells are unlimited with
 *   `allowShort` (default), else need the position not already committed to resting sells.
 * - Acks: `New` / `PartiallyFilled` while resting, `Filled`, or `Cancelled` for an IOC / market
 *   remainder (with `filledQuantity` and `averagePrice` when something traded). A FOK that cannot
 *   fill completely is refused as `rejected`. stop_loss / take_profit are refused.
 */
export class BacktestTradingBackend implements TradingBackend {
  readonly name = 'backtest' as const;
  readonly symbol: string;
  readonly quoteAsset: string;
  readonly baseAsset: string;
  readonly data: MarketSeries;
  readonly priceGrid: Grid;
  readonly lotGrid: Grid;
  readonly makerBps: number;
  readonly takerBps: number;
  readonly fillRule: FillRule;
  readonly allowShort: boolean;
  /** Equity after each step; NaN for steps not replayed yet. */
  readonly equity: Float64Array;
  private readonly fillLog: BacktestFill[] = [];

  private readonly engine: MatchingEngine;
  private readonly symbolId: number;
  private readonly liquidity: SeededLiquidity;
  private readonly portfolio: BacktestPortfolio;
  private readonly position: PositionState;
  private readonly bars: BarSeries | null;
  private readonly trades: TradeSeries | null;
  private readonly feed = new BacktestPushFeed();
  /** Every agent order of the run; `bt-<n>` is `orders[n - 1]`. */
  private readonly orders: AgentOrder[] = [];
  private readonly resting = new Map<number, AgentOrder>();
  /** Client ids of the run's orders (never forgotten: a retried send must find its order). */
  private readonly clientIds = new ClientIdWindow(Number.MAX_SAFE_INTEGER);
  /** The ack each place returned, by its client id's slot. */
  private readonly placeAcks: OrderAck[] = [];
  private stepIndex = -1;
  private nowMs = Number.NaN;
  private mark = Number.NaN;
  private openBuyLots = 0;
  private openSellLots = 0;
  /** Cached best resting agent bid/ask in ticks (±Infinity: none; NaN: ask the engine). */
  private bestBidTicks = Number.NEGATIVE_INFINITY;
  private bestAskTicks = Number.POSITIVE_INFINITY;
  private lockedNotional = 0;
  private day = Number.NaN;
  private dayStartEquity: number;
  private destroyed = false;

  constructor(options: BacktestBackendOptions) {
    if (typeof options.symbol !== 'string' || options.symbol === '') throw new TypeError('symbol must be a non-empty string');
    const data = options.data;
    if (data.length === 0) throw new RangeError(`${data.source}: no data rows`);
    this.symbol = options.symbol;
    this.quoteAsset = options.quoteAsset ?? quoteOf(options.symbol);
    this.baseAsset = baseOf(options.symbol);
    this.data = data;
    this.bars = data.kind === 'bars' ? data : null;
    this.trades = data.kind === 'trades' ? data : null;
    this.priceGrid = options.tickSize !== undefined ? new Grid(options.tickSize, 'price') : Grid.decimal(data.priceDecimals, 'price');
    this.lotGrid = options.lotSize !== undefined ? new Grid(options.lotSize, 'quantity') : Grid.decimal(data.quantityDecimals, 'quantity');
    this.makerBps = nonNegative(options.fees?.makerBps ?? 2, 'fees.makerBps');
    this.takerBps = nonNegative(options.fees?.takerBps ?? 5, 'fees.takerBps');
    // Checked at run time too: JavaScript callers are not held to the type.
    const fillRule: string = options.fillRule ?? 'touch';
    if (fillRule !== 'touch' && fillRule !== 'through') throw new RangeError(`fillRule must be 'touch' or 'through', got ${fillRule}`);
    this.fillRule = fillRule;
    this.allowShort = options.allowShort ?? true;
    this.portfolio = new BacktestPortfolio(options.cash ?? 1_000_000, this.quoteAsset);
    this.position = this.portfolio.position(this.symbol, this.lotGrid);
    this.dayStartEquity = this.portfolio.cash;
    this.equity = new Float64Array(data.length).fill(Number.NaN);
    this.engine = new MatchingEngine(options.capacity === undefined ? {} : { capacity: options.capacity });
    this.symbolId = this.engine.addSymbol({ tickSize: this.priceGrid.step, lotSize: this.lotGrid.step });
    this.liquidity = new SeededLiquidity(this.engine, this.symbolId, this.priceGrid, this.lotGrid, resolveLiquidity(options.liquidity));
  }

  // ---- replay --------------------------------------------------------------------------------

  /** Steps in the data (bars or prints). */
  get length(): number {
    return this.data.length;
  }

  /** Index of the current step, -1 before the first. */
  get step(): number {
    return this.stepIndex;
  }

  /** Timestamp of the current bar (its open time, as in the data) or print; NaN before the first step. */
  get timestampMs(): number {
    return this.nowMs;
  }

  /** Current reference price (last close or last trade), NaN before the first step. */
  get price(): number {
    return this.mark;
  }

  /** Timestamp of the next step, NaN when the data is exhausted. */
  nextTimestampMs(): number {
    const next = this.stepIndex + 1;
    return next < this.data.length ? (this.data.timestamp[next] as number) : Number.NaN;
  }

  get done(): boolean {
    return this.stepIndex >= this.data.length - 1;
  }

  /**
   * Apply the next bar or print: drop last step's seeded liquidity, fill resting agent orders the
   * data trades through, move the price, record equity and push `market` + `pnl`. False at the end.
   */
  advance(): boolean {
    const i = this.stepIndex + 1;
    if (i >= this.data.length) return false;
    this.ensureAlive();
    const ts = this.data.timestamp[i] as number;
    const day = Math.floor(ts / DAY_MS);
    if (day !== this.day) {
      // Today's PnL counts from the equity the account had when the UTC day began.
      if (this.stepIndex >= 0) this.dayStartEquity = this.currentEquity();
      this.day = day;
    }
    this.stepIndex = i;
    this.nowMs = ts;
    if (this.liquidity.active) this.liquidity.purge();
    if (this.bars !== null) {
      const bars = this.bars;
      if (this.openBuyLots > 0) this.sweep('Buy', this.buyThreshold(bars.low[i] as number), this.openBuyLots);
      if (this.openSellLots > 0) this.sweep('Sell', this.sellThreshold(bars.high[i] as number), this.openSellLots);
      this.mark = bars.close[i] as number;
    } else {
      const trades = this.trades as TradeSeries;
      if (this.openBuyLots > 0 || this.openSellLots > 0) {
        const price = trades.price[i] as number;
        const printLots = Math.floor((trades.amount[i] as number) / this.lotGrid.step + 1e-9);
        if (printLots > 0 && this.openBuyLots > 0) this.sweep('Buy', this.buyThreshold(price), Math.min(printLots, this.openBuyLots));
        if (printLots > 0 && this.openSellLots > 0) this.sweep('Sell', this.sellThreshold(price), Math.min(printLots, this.openSellLots));
      }
      this.mark = trades.price[i] as number;
    }
    this.equity[i] = this.currentEquity();
    if (this.feed.active) this.emitState(true);
    return true;
  }

  /** Lowest agent bid price (ticks) the data at `low` trades: bids at or above it fill. */
  private buyThreshold(low: number): number {
    const ticks = Math.ceil(low / this.priceGrid.step - 1e-9);
    return this.fillRule === 'touch' ? ticks : Math.floor(low / this.priceGrid.step + 1e-9) + 1;
  }

  /** Highest agent ask price (ticks) the data at `high` trades: asks at or below it fill. */
  private sellThreshold(high: number): number {
    const ticks = Math.floor(high / this.priceGrid.step + 1e-9);
    return this.fillRule === 'touch' ? ticks : Math.ceil(high / this.priceGrid.step - 1e-9) - 1;
  }

  /**
   * Trade resting agent orders on `side` priced at or beyond `thresholdTicks` (bids >= / asks <=),
   * up to `lots`, by sending the market's side through the engine as an IOC limit: real price-time
   * priority among the agent's orders, each filled at its own price.
   */
  private sweep(side: Side, thresholdTicks: number, lots: number): void {
    if (thresholdTicks < 1) return;
    const best = this.bestAgentTicks(side);
    if (side === 'Buy' ? best < thresholdTicks : best > thresholdTicks) return;
    const fills = this.submitToEngine(side === 'Buy' ? 'Sell' : 'Buy', 'Limit', thresholdTicks, lots, 'IOC');
    this.applyFills(fills, null);
  }

  /**
   * Best resting agent price on `side` in ticks (-Infinity / +Infinity when none), from a cache
   * kept up to date as orders rest and re-read from the engine after anything leaves the book.
   * Only read while no seeded liquidity is in the book (step start), so the engine's best is the agent's.
   */
  private bestAgentTicks(side: Side): number {
    if (side === 'Buy') {
      if (Number.isNaN(this.bestBidTicks)) {
        const level = this.engine.bestBid(this.symbolId);
        this.bestBidTicks = level === null ? Number.NEGATIVE_INFINITY : this.priceGrid.nearestUnits(level.price);
      }
      return this.bestBidTicks;
    }
    if (Number.isNaN(this.bestAskTicks)) {
      const level = this.engine.bestAsk(this.symbolId);
      this.bestAskTicks = level === null ? Number.POSITIVE_INFINITY : this.priceGrid.nearestUnits(level.price);
    }
    return this.bestAskTicks;
  }

  /**
   * One order into the engine through the numeric call (no result object): the outcome is in
   * `engine.last`, the fills are returned. Engine errors become `BackendError('rejected')`.
   */
  private submitToEngine(side: Side, orderType: OrderType, priceTicks: number, lots: number, timeInForce: TimeInForce): readonly EngineFill[] {
    try {
      this.engine.submitFast(
        this.symbolId,
        side === 'Buy' ? 0 : 1,
        orderType === 'Limit' ? 0 : 1,
        orderType === 'Limit' ? this.priceGrid.value(priceTicks) : 0,
        this.lotGrid.value(lots),
        timeInForce === 'GTC' ? 0 : timeInForce === 'IOC' ? 1 : 2,
        false,
      );
    } catch (error) {
      throw engineRefusal(error);
    }
    return this.engine.last.fillCount === 0 ? NO_FILLS : this.engine.readFills();
  }

  // ---- TradingBackend ----------------------------------------------------------------------

  subscribe(listener: (event: BackendEvent) => void, topics: SubscribeTopics = {}): () => void {
    const current = this.stepIndex >= 0 ? { market: () => this.marketEvent(), dailyPnl: () => this.dailyPnl() } : undefined;
    return this.feed.subscribe(listener, topics.pnl === true, current);
  }

  /** The order calls without promises (see `TradingBackend.syncOrders`): the engine is in-process. */
  readonly syncOrders: SyncOrderOps = {
    placeOrder: (request) => this.place(request),
    cancelOrder: (orderId) => this.cancel(orderId),
    replaceOrder: (request) => this.replace(request),
  };

  async placeOrder(request: OrderRequest): Promise<OrderAck> {
    return this.place(request);
  }

  /** Synchronous `placeOrder` (same rules), for agent loops that need no promise per order. */
  place(request: OrderRequest): OrderAck {
    this.ensureAlive();
    const known = this.clientIds.find(request.clientOrderId);
    if (known >= 0) return this.placeAcks[known] as OrderAck; // a retried send: the order already exists
    this.checkSymbol(request.symbol);
    this.ensureStarted();
    if (request.stopLoss !== undefined || request.takeProfit !== undefined) {
      throw new BackendError('rejected', 'backtest: stop_loss/take_profit orders are not supported; place the exit as its own order');
    }
    const lots = this.lotsOf(request.quantity);
    const isMarket = request.orderType === 'Market';
    let priceTicks = 0;
    if (!isMarket) {
      if (request.price === undefined) throw new BackendError('rejected', 'backtest: a Limit order needs a price');
      priceTicks = this.ticksOf(request.price);
    }
    const marketable = isMarket || this.crossesLadder(request.side, priceTicks);
    if (marketable) this.ensureSeeded();
    this.checkFunds(request.side, lots, isMarket ? null : priceTicks);

    const fills = this.submitToEngine(request.side, request.orderType, priceTicks, lots, request.timeInForce);
    const outcome = this.engine.last;
    const status = STATUS_NAMES[outcome.statusCode] ?? 'Rejected';
    if (status === 'Rejected') {
      throw new BackendError(
        'rejected',
        outcome.reasonCode === REASON_FOK_NOT_FILLABLE
          ? `backtest: FOK order for ${show(request.quantity)} ${request.symbol} cannot be filled completely now`
          : `backtest: order rejected by the matching engine (reason ${outcome.reasonCode})`,
      );
    }
    const order: AgentOrder = {
      orderId: agentOrderId(this.orders.length + 1),
      engineId: outcome.orderId,
      clientOrderId: request.clientOrderId,
      side: request.side,
      orderType: request.orderType,
      price: isMarket ? 0 : this.priceGrid.value(priceTicks),
      quantityLots: lots,
      filledLots: 0,
      filledValue: 0,
      resting: false,
      status,
    };
    const remainingLots = this.lotGrid.nearestUnits(outcome.remainingQuantity);
    this.orders.push(order);
    this.applyFills(fills, order);
    if ((status === 'New' || status === 'PartiallyFilled') && remainingLots > 0) {
      order.resting = true;
      this.resting.set(order.engineId, order);
      this.addOpen(order, remainingLots);
      this.emitOrder(order);
    }
    this.afterAgentChange();
    const ack = this.ack(order, order.status);
    this.placeAcks[this.clientIds.add(request.clientOrderId)] = ack;
    return ack;
  }

  async cancelOrder(orderId: string): Promise<OrderAck> {
    return this.cancel(orderId);
  }

  /** Synchronous `cancelOrder`. */
  cancel(orderId: string): OrderAck {
    this.ensureAlive();
    const order = this.openOrder(orderId);
    try {
      this.engine.cancelFast(order.engineId);
    } catch (error) {
      throw engineRefusal(error);
    }
    this.releaseOpen(order, order.quantityLots - order.filledLots);
    this.closeOrder(order, 'Cancelled');
    this.afterAgentChange();
    return this.ack(order, 'Cancelled');
  }

  async replaceOrder(request: ReplaceRequest): Promise<OrderAck> {
    return this.replace(request);
  }

  /**
   * Synchronous `replaceOrder`. `quantity` is the new total quantity (it must exceed what has
   * filled; the open part becomes quantity - filled). A new price that crosses trades at once.
   */
  replace(request: ReplaceRequest): OrderAck {
    this.ensureAlive();
    const order = this.openOrder(request.orderId);
    const totalLots = request.quantity === undefined ? order.quantityLots : this.lotsOf(request.quantity);
    if (totalLots <= order.filledLots) {
      throw new BackendError(
        'rejected',
        `backtest: new quantity ${show(this.lotGrid.value(totalLots))} is not above the ${show(this.lotGrid.value(order.filledLots))} already filled`,
      );
    }
    const priceTicks = request.price === undefined ? this.priceGrid.nearestUnits(order.price) : this.ticksOf(request.price);
    const openLots = totalLots - order.filledLots;
    if (this.crossesLadder(order.side, priceTicks)) this.ensureSeeded();
    if (order.side === 'Buy') {
      // Funds: the replaced order's own lock is released first.
      const held = this.lotGrid.value(order.quantityLots - order.filledLots) * order.price;
      this.checkFunds('Buy', openLots, priceTicks, held);
    } else {
      this.checkFunds('Sell', openLots, priceTicks, 0, order.quantityLots - order.filledLots);
    }
    const price = this.priceGrid.value(priceTicks);
    let result: SubmitResult;
    try {
      result = this.engine.replace(order.engineId, price, this.lotGrid.value(openLots));
    } catch (error) {
      throw engineRefusal(error);
    }
    // The engine took the order out and re-entered it: unbook the old open part first.
    this.releaseOpen(order, order.quantityLots - order.filledLots);
    this.resting.delete(order.engineId);
    order.resting = false;
    order.price = price;
    order.quantityLots = totalLots;
    this.applyFills(result.fills, order);
    const remainingLots = this.lotGrid.nearestUnits(result.remainingQuantity);
    let status: AckStatus;
    if (remainingLots > 0 && (result.status === 'New' || result.status === 'PartiallyFilled')) {
      order.resting = true;
      this.resting.set(order.engineId, order);
      this.addOpen(order, remainingLots);
      order.status = order.filledLots > 0 ? 'PartiallyFilled' : 'New';
      this.emitOrder(order);
      status = 'Replaced';
    } else {
      order.status = order.filledLots >= order.quantityLots ? 'Filled' : 'Cancelled';
      this.emitOrder(order, 0); // no longer open
      status = order.status;
    }
    this.afterAgentChange();
    return this.ack(order, status);
  }

  async getBalance(): Promise<Balance[]> {
    return this.balances();
  }

  async getPositions(): Promise<Position[]> {
    return this.positions();
  }

  async getPortfolio(): Promise<Portfolio> {
    const [balances, positions] = await Promise.all([this.getBalance(), this.getPositions()]);
    return { balances, positions };
  }

  async getReferencePrice(symbol: string): Promise<number | null> {
    this.checkSymbol(symbol);
    return this.stepIndex >= 0 ? this.mark : null;
  }

  async getOpenOrders(symbol?: string): Promise<OpenOrder[]> {
    if (symbol !== undefined) this.checkSymbol(symbol);
    return this.openOrders();
  }

  // ---- synchronous views -------------------------------------------------------------------

  balances(): Balance[] {
    const locked = this.openBuyLots > 0 ? this.lockedNotional : 0;
    return [{ asset: this.quoteAsset, free: this.portfolio.cash - locked, locked }];
  }

  positions(): Position[] {
    if (this.position.lots === 0) return [];
    return [{ symbol: this.symbol, quantity: this.lotGrid.value(this.position.lots), averagePrice: this.position.averagePrice }];
  }

  /** Agent orders resting now (what `openOrders()` would list). */
  openOrderCount(): number {
    return this.resting.size;
  }

  openOrders(): OpenOrder[] {
    return [...this.resting.values()].map((o) => ({
      orderId: o.orderId,
      clientOrderId: o.clientOrderId,
      symbol: this.symbol,
      side: o.side,
      price: o.price,
      quantity: this.lotGrid.value(o.quantityLots),
      remaining: this.lotGrid.value(o.quantityLots - o.filledLots),
    }));
  }

  /** Every agent fill so far, in order. */
  get fills(): readonly BacktestFill[] {
    return this.fillLog;
  }

  /** Orders resting in the engine now (agent + seeded), for diagnostics. */
  engineOpenOrders(): number {
    return this.engine.openOrderCount();
  }

  /** Signed position in base units. */
  positionQuantity(): number {
    return this.lotGrid.value(this.position.lots);
  }

  get cash(): number {
    return this.portfolio.cash;
  }

  /** Cash plus the position at the current price. */
  currentEquity(): number {
    const lots = this.position.lots;
    return lots === 0 ? this.portfolio.cash : this.portfolio.cash + this.lotGrid.value(lots) * this.mark;
  }

  /** Equity now minus equity when the current UTC day (of the replay clock) began. */
  dailyPnl(): number {
    return this.currentEquity() - this.dayStartEquity;
  }

  /**
   * The book the agent would see now: seeded liquidity around the current price (placed if not
   * yet there) and the agent's own resting orders, best first.
   */
  bookSnapshot(symbol: string, levels = 10): BookSnapshot {
    this.ensureAlive();
    this.checkSymbol(symbol);
    this.ensureStarted();
    if (!(Number.isInteger(levels) && levels >= 1)) throw new BackendError('rejected', `backtest: levels must be a whole number >= 1, got ${levels}`);
    this.ensureSeeded();
    const depth = this.engine.depth(this.symbolId, levels);
    const level = (l: { price: number; quantity: number; orders: number }): BookSnapshotLevel => ({
      price: this.priceGrid.canonical(l.price),
      quantity: this.lotGrid.canonical(l.quantity),
      orders: l.orders,
    });
    return { symbol: this.symbol, timestampMs: this.nowMs, bids: depth.bids.map(level), asks: depth.asks.map(level) };
  }

  /**
   * `get_book_snapshot`: the book as this venue's matching engine holds it now, which is what a
   * marketable order would trade against: the ladder seeded around the current price (placed if
   * not yet there, as a marketable order would place it) and the agent's own resting orders,
   * aggregated by price. Time is the replay clock.
   */
  async getOrderBook(symbol: string, levels: number): Promise<OrderBook> {
    const snapshot = this.bookSnapshot(symbol, levels);
    const plain = (l: BookSnapshotLevel): OrderBookLevel => ({ price: l.price, quantity: l.quantity });
    return { symbol: snapshot.symbol, bids: snapshot.bids.map(plain), asks: snapshot.asks.map(plain), timestampMs: snapshot.timestampMs };
  }

  /** `get_pnl`: the position at the current price, and what fills realized since the replay clock's UTC midnight (before fees). */
  async getPnl(): Promise<PnlReport> {
    this.ensureAlive();
    this.ensureStarted();
    const quantity = this.lotGrid.value(this.position.lots);
    const positions = quantity === 0 ? [] : [{ symbol: this.symbol, quantity, entryPrice: this.position.averagePrice, markPrice: this.mark }];
    const dayStartMs = Math.floor(this.nowMs / DAY_MS) * DAY_MS;
    return { positions, realizedPnlToday: { [this.symbol]: realizedSince(this.fillLog, dayStartMs) }, timestampMs: this.nowMs };
  }

  /** Summary of the replay so far. */
  result(): BacktestResult {
    const steps = this.stepIndex + 1;
    const mark = (symbol: string): number | null => (symbol === this.symbol && steps > 0 ? this.mark : null);
    const finalEquity = steps > 0 ? this.currentEquity() : this.portfolio.cash;
    return {
      symbol: this.symbol,
      steps,
      startMs: this.data.timestamp[0] as number,
      endMs: steps > 0 ? this.nowMs : Number.NaN,
      initialCash: this.portfolio.initialCash,
      cash: this.portfolio.cash,
      position: this.lotGrid.value(this.position.lots),
      averagePrice: this.position.averagePrice,
      lastPrice: steps > 0 ? this.mark : null,
      realizedPnl: this.portfolio.realizedPnl(),
      unrealizedPnl: this.portfolio.unrealizedPnl(mark),
      fees: this.portfolio.fees(),
      finalEquity,
      netPnl: finalEquity - this.portfolio.initialCash,
      maxDrawdown: maxDrawdown(this.equity, steps),
      equity: this.equity.slice(0, steps),
      fills: this.fillLog.slice(),
      orders: this.orders.length,
    };
  }

  /** Free the native engine; the backend is unusable afterwards. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.engine.destroy();
    this.feed.clear();
  }

  // ---- internals ---------------------------------------------------------------------------

  private ensureAlive(): void {
    if (this.destroyed) throw new BackendError('other', 'backtest: backend destroyed');
  }

  private checkSymbol(symbol: string): void {
    if (symbol !== this.symbol) throw new BackendError('symbol_not_found', `backtest: unknown symbol ${symbol} (this replay trades ${this.symbol})`);
  }

  private ensureStarted(): void {
    if (this.stepIndex < 0) throw new BackendError('rejected', 'backtest: no market data replayed yet (step the replay first)');
  }

  private lotsOf(quantity: number): number {
    const lots = this.lotGrid.units(quantity);
    if (Number.isNaN(lots)) {
      throw new BackendError(
        'rejected',
        `backtest: quantity ${show(quantity)} is off the ${this.symbol} lot grid (lot size ${show(this.lotGrid.step)}); use a positive multiple of the lot size`,
      );
    }
    return lots;
  }

  private ticksOf(price: number): number {
    const ticks = this.priceGrid.units(price);
    if (Number.isNaN(ticks)) {
      throw new BackendError(
        'rejected',
        `backtest: price ${show(price)} is off the ${this.symbol} tick grid (tick size ${show(this.priceGrid.step)}); use a positive multiple of the tick size`,
      );
    }
    return ticks;
  }

  /** Would a limit at `priceTicks` trade against this step's seeded ladder? */
  private crossesLadder(side: Side, priceTicks: number): boolean {
    const ladder = ladderFor(this.priceGrid.nearestUnits(this.mark), this.priceGrid, this.lotGrid, this.liquidity.options);
    return side === 'Buy' ? priceTicks >= ladder.bestAsk : priceTicks <= ladder.bestBid;
  }

  private ensureSeeded(): void {
    if (this.liquidity.seededStep === this.stepIndex) return;
    if (this.liquidity.active) this.liquidity.purge();
    this.liquidity.seed(this.stepIndex, this.priceGrid.nearestUnits(this.mark));
  }

  /**
   * Buys need free cash for the notional plus the taker fee (market buys are priced by walking the
   * book); without `allowShort`, sells need the position minus what open sells already commit.
   */
  private checkFunds(side: Side, lots: number, priceTicks: number | null, releasedNotional = 0, releasedSellLots = 0): void {
    if (side === 'Buy') {
      const notional = priceTicks === null ? this.marketBuyCost(lots) : this.lotGrid.value(lots) * this.priceGrid.value(priceTicks);
      const locked = this.openBuyLots > 0 ? this.lockedNotional : 0;
      requireFreeCash(notionalWithFee(notional, this.makerBps, this.takerBps), this.portfolio.cash - locked + releasedNotional, this.quoteAsset);
    } else if (!this.allowShort) {
      requireFreeHolding(lots, this.position.lots - this.openSellLots + releasedSellLots, this.lotGrid, this.baseAsset);
    }
  }

  /** What a market buy of `lots` would cost against the book now (the unfillable rest is not charged). */
  private marketBuyCost(lots: number): number {
    this.askScratch ??= new Float64Array((this.liquidity.options.levels + DEPTH_SLACK) * 3);
    const levels = this.engine.depthInto(this.symbolId, 'Sell', this.askScratch);
    return askWalkCost(this.askScratch, levels, this.lotGrid.value(lots));
  }

  /** Rows of [price, quantity, orders] for `marketBuyCost`, allocated on first use. */
  private askScratch: Float64Array | undefined;

  /** The order `bt-<n>` names (only that exact spelling), if this run placed it. */
  private orderById(orderId: string): AgentOrder | undefined {
    const number = agentOrderNumber(orderId);
    return number > 0 ? this.orders[number - 1] : undefined;
  }

  private openOrder(orderId: string): AgentOrder {
    const order = this.orderById(orderId);
    if (order === undefined || !order.resting) {
      throw new BackendError('rejected', `backtest: order ${orderId} is not open${order === undefined ? '' : ` (${order.status})`}`);
    }
    return order;
  }

  /** Book fills: agent makers (from the engine's resting ids) and the agent taker `taker`, if any. */
  private applyFills(fills: readonly EngineFill[], taker: AgentOrder | null): void {
    for (const fill of fills) {
      const lots = this.lotGrid.nearestUnits(fill.quantity);
      const price = this.priceGrid.canonical(fill.price);
      const maker = this.resting.get(fill.makerOrderId);
      // A maker that is not an agent order is seeded liquidity: nothing to book for it.
      if (maker !== undefined) {
        this.fillOrder(maker, price, lots, 'maker', fill.seq);
        this.releaseOpen(maker, lots);
        if (maker.filledLots >= maker.quantityLots) this.closeOrder(maker, 'Filled');
        else {
          maker.status = 'PartiallyFilled';
          this.emitOrder(maker);
        }
      }
      if (taker !== null) this.fillOrder(taker, price, lots, 'taker', fill.seq);
    }
  }

  private fillOrder(order: AgentOrder, price: number, lots: number, liquidity: 'maker' | 'taker', seq: number): void {
    const effect = this.portfolio.applyFill(this.position, order.side, price, lots, liquidity === 'maker' ? this.makerBps : this.takerBps);
    order.filledLots += lots;
    order.filledValue += price * effect.quantity;
    this.fillLog.push({
      seq,
      step: this.stepIndex,
      timestampMs: this.nowMs,
      orderId: order.orderId,
      clientOrderId: order.clientOrderId,
      symbol: this.symbol,
      side: order.side,
      price,
      quantity: effect.quantity,
      liquidity,
      fee: effect.fee,
      realizedPnl: effect.realized,
      cashAfter: this.portfolio.cash,
      positionAfter: this.lotGrid.value(this.position.lots),
    });
  }

  private addOpen(order: AgentOrder, lots: number): void {
    const ticks = this.priceGrid.nearestUnits(order.price);
    if (order.side === 'Buy') {
      this.openBuyLots += lots;
      this.lockedNotional += this.lotGrid.value(lots) * order.price;
      if (!Number.isNaN(this.bestBidTicks)) this.bestBidTicks = Math.max(this.bestBidTicks, ticks);
    } else {
      this.openSellLots += lots;
      if (!Number.isNaN(this.bestAskTicks)) this.bestAskTicks = Math.min(this.bestAskTicks, ticks);
    }
  }

  private releaseOpen(order: AgentOrder, lots: number): void {
    if (!order.resting || lots <= 0) return;
    if (order.side === 'Buy') {
      this.openBuyLots -= lots;
      this.lockedNotional = this.openBuyLots === 0 ? 0 : this.lockedNotional - this.lotGrid.value(lots) * order.price;
      this.bestBidTicks = this.openBuyLots === 0 ? Number.NEGATIVE_INFINITY : Number.NaN;
    } else {
      this.openSellLots -= lots;
      this.bestAskTicks = this.openSellLots === 0 ? Number.POSITIVE_INFINITY : Number.NaN;
    }
  }

  /** A resting order left the book (filled or cancelled): forget it and tell listeners. */
  private closeOrder(order: AgentOrder, status: AckStatus): void {
    order.resting = false;
    order.status = status;
    this.resting.delete(order.engineId);
    this.emitOrder(order, 0);
  }

  private afterAgentChange(): void {
    this.equity[this.stepIndex] = this.currentEquity();
    if (this.feed.active) this.emitState();
  }

  private ack(order: AgentOrder, status: AckStatus): OrderAck {
    const filledQuantity = this.lotGrid.value(order.filledLots);
    const ack: OrderAck = {
      orderId: order.orderId,
      symbol: this.symbol,
      side: order.side,
      quantity: this.lotGrid.value(order.quantityLots),
      status,
      timestampMs: this.nowMs,
      filledQuantity,
    };
    if (order.filledLots > 0) ack.averagePrice = order.filledValue / filledQuantity;
    return ack;
  }

  private emitOrder(order: AgentOrder, remaining = this.lotGrid.value(order.quantityLots - order.filledLots)): void {
    if (!this.feed.active) return;
    this.feed.emit({ type: 'order', orderId: order.orderId, symbol: this.symbol, side: order.side, price: order.price, remaining, clientOrderId: order.clientOrderId });
  }

  private marketEvent(): BackendEvent {
    return {
      type: 'market',
      symbol: this.symbol,
      referencePrice: this.stepIndex >= 0 ? this.mark : null,
      position: this.lotGrid.value(this.position.lots),
      openBuyQuantity: this.lotGrid.value(this.openBuyLots),
      openSellQuantity: this.lotGrid.value(this.openSellLots),
    };
  }

  /** Push `market` and `pnl`: each step both (pushed data is never older than the step), after an agent call what changed. */
  private emitState(step = false): void {
    this.feed.pushState(step, this.stepIndex, this.position.lots, this.openBuyLots, this.openSellLots, this.marketNow, this.dailyPnlNow);
  }

  private readonly marketNow = (): BackendEvent => this.marketEvent();
  private readonly dailyPnlNow = (): number => this.dailyPnl();
}
