// BacktestTradingBackend: the `backtest` venue (SPEC §6), composed of one part per job. It holds no
// state of its own beyond `destroyed`: the venue's terms (venue.ts), where the replay stands
// (replay-cursor.ts), the data replay (market-replay.ts), the agent-order lifecycle
// (order-lifecycle.ts), what resting orders commit and the funds check (exposure.ts), the account
// and its reports (account.ts), the event fan-out (events.ts) and the seeded ladder (liquidity.ts)
// all share one native matching engine, which this class creates and frees.
// Invariants: after `destroy()` the order calls, `advance` (while data is left), `getPnl` and
// `bookSnapshot` refuse (BackendError 'other'); the public API is the TradingBackend contract plus
// the synchronous calls and views below.
import { BackendError } from '../errors';
import { MatchingEngine } from '../matching';
import type {
  Balance,
  BackendEvent,
  OpenOrder,
  OrderAck,
  OrderBook,
  OrderBookLevel,
  OrderRequest,
  PnlReport,
  Portfolio,
  Position,
  ReplaceRequest,
  SubscribeTopics,
  SyncOrderOps,
  TradingBackend,
} from '../types';
import { BacktestAccount } from './account';
import { readBookSnapshot, type BookSnapshot, type BookSnapshotLevel } from './book-snapshot';
import { BacktestEvents } from './events';
import { OpenExposure } from './exposure';
import type { Grid } from './grid';
import { resolveLiquidity, SeededLiquidity } from './liquidity';
import { MarketReplay } from './market-replay';
import type { BacktestBackendOptions, FillRule } from './options';
import { AgentOrderLifecycle } from './order-lifecycle';
import { ReplayCursor } from './replay-cursor';
import type { BacktestFill, BacktestResult } from './report';
import type { MarketSeries } from './series';
import { VenueTerms } from './venue';

export type { BacktestBackendOptions, BacktestFees, FillRule } from './options';
export type { BacktestFill, BacktestResult } from './report';
export type { BookSnapshot, BookSnapshotLevel } from './book-snapshot';

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

  private readonly terms: VenueTerms;
  private readonly engine: MatchingEngine;
  private readonly symbolId: number;
  private readonly liquidity: SeededLiquidity;
  private readonly cursor = new ReplayCursor();
  private readonly account: BacktestAccount;
  private readonly exposure: OpenExposure;
  private readonly events: BacktestEvents;
  private readonly orders: AgentOrderLifecycle;
  private readonly replay: MarketReplay;
  private destroyed = false;

  constructor(options: BacktestBackendOptions) {
    const terms = new VenueTerms(options);
    this.terms = terms;
    this.symbol = terms.symbol;
    this.quoteAsset = terms.quoteAsset;
    this.baseAsset = terms.baseAsset;
    this.data = options.data;
    this.priceGrid = terms.priceGrid;
    this.lotGrid = terms.lotGrid;
    this.makerBps = terms.makerBps;
    this.takerBps = terms.takerBps;
    this.fillRule = terms.fillRule;
    this.allowShort = terms.allowShort;
    this.account = new BacktestAccount(options.cash ?? 1_000_000, this.data.length, terms, this.cursor);
    this.equity = this.account.equity;
    this.engine = new MatchingEngine(options.capacity === undefined ? {} : { capacity: options.capacity });
    this.symbolId = this.engine.addSymbol({ tickSize: terms.priceGrid.step, lotSize: terms.lotGrid.step });
    this.liquidity = new SeededLiquidity(this.engine, this.symbolId, terms.priceGrid, terms.lotGrid, resolveLiquidity(options.liquidity));
    this.exposure = new OpenExposure(terms, this.account, this.engine, this.symbolId, this.liquidity.options.levels);
    this.events = new BacktestEvents(terms, this.cursor, this.account, this.exposure);
    this.orders = new AgentOrderLifecycle(terms, this.engine, this.symbolId, this.liquidity, this.cursor, this.account, this.exposure, this.events);
    this.replay = new MarketReplay(this.data, terms, this.cursor, this.account, this.exposure, this.orders, this.liquidity, this.events);
  }

  // ---- replay --------------------------------------------------------------------------------

  /** Steps in the data (bars or prints). */
  get length(): number {
    return this.data.length;
  }

  /** Index of the current step, -1 before the first. */
  get step(): number {
    return this.cursor.step;
  }

  /** Timestamp of the current bar (its open time, as in the data) or print; NaN before the first step. */
  get timestampMs(): number {
    return this.cursor.timestampMs;
  }

  /** Current reference price (last close or last trade), NaN before the first step. */
  get price(): number {
    return this.cursor.price;
  }

  /** Timestamp of the next step, NaN when the data is exhausted. */
  nextTimestampMs(): number {
    return this.replay.nextTimestampMs();
  }

  get done(): boolean {
    return this.replay.done;
  }

  /**
   * Apply the next bar or print: drop last step's seeded liquidity, fill resting agent orders the
   * data trades through, move the price, record equity and push `market` + `pnl`. False at the end.
   */
  advance(): boolean {
    // At the end of the data a destroyed backend still answers false.
    if (this.destroyed && !this.replay.done) this.ensureAlive();
    return this.replay.advance();
  }

  // ---- TradingBackend ----------------------------------------------------------------------

  subscribe(listener: (event: BackendEvent) => void, topics: SubscribeTopics = {}): () => void {
    return this.events.subscribe(listener, topics);
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
    return this.orders.place(request);
  }

  async cancelOrder(orderId: string): Promise<OrderAck> {
    return this.cancel(orderId);
  }

  /** Synchronous `cancelOrder`. */
  cancel(orderId: string): OrderAck {
    this.ensureAlive();
    return this.orders.cancel(orderId);
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
    return this.orders.replace(request);
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
    this.terms.checkSymbol(symbol);
    return this.cursor.started ? this.cursor.price : null;
  }

  async getOpenOrders(symbol?: string): Promise<OpenOrder[]> {
    if (symbol !== undefined) this.terms.checkSymbol(symbol);
    return this.openOrders();
  }

  // ---- synchronous views -------------------------------------------------------------------

  balances(): Balance[] {
    const locked = this.exposure.lockedCash();
    return [{ asset: this.quoteAsset, free: this.account.cash - locked, locked }];
  }

  positions(): Position[] {
    return this.account.positions();
  }

  /** Agent orders resting now (what `openOrders()` would list). */
  openOrderCount(): number {
    return this.orders.openOrderCount;
  }

  openOrders(): OpenOrder[] {
    return this.orders.openOrders();
  }

  /** Every agent fill so far, in order. */
  get fills(): readonly BacktestFill[] {
    return this.account.fills;
  }

  /** Orders resting in the engine now (agent + seeded), for diagnostics. */
  engineOpenOrders(): number {
    return this.engine.openOrderCount();
  }

  /** Signed position in base units. */
  positionQuantity(): number {
    return this.account.positionQuantity();
  }

  get cash(): number {
    return this.account.cash;
  }

  /** Cash plus the position at the current price. */
  currentEquity(): number {
    return this.account.currentEquity();
  }

  /** Equity now minus equity when the current UTC day (of the replay clock) began. */
  dailyPnl(): number {
    return this.account.dailyPnl();
  }

  /**
   * The book the agent would see now: seeded liquidity around the current price (placed if not
   * yet there) and the agent's own resting orders, best first.
   */
  bookSnapshot(symbol: string, levels = 10): BookSnapshot {
    this.ensureAlive();
    this.terms.checkSymbol(symbol);
    this.cursor.requireStarted();
    if (!(Number.isInteger(levels) && levels >= 1)) throw new BackendError('rejected', `backtest: levels must be a whole number >= 1, got ${levels}`);
    this.liquidity.ensureSeeded(this.cursor.step, this.cursor.price);
    return readBookSnapshot(this.engine, this.symbolId, this.terms, levels, this.cursor.timestampMs);
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
    this.cursor.requireStarted();
    return this.account.pnlReport();
  }

  /** Summary of the replay so far. */
  result(): BacktestResult {
    return this.account.summary(this.data.timestamp[0] as number, this.orders.orderCount);
  }

  /** Free the native engine; the backend is unusable afterwards. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.engine.destroy();
    this.events.clear();
  }

  private ensureAlive(): void {
    if (this.destroyed) throw new BackendError('other', 'backtest: backend destroyed');
  }
}
