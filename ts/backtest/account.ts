// The agent's account over a replay: cash and the symbol's position (a BacktestPortfolio), the log
// of every fill booked into it, the equity curve, the equity the current UTC day of the replay
// clock began with, and the reports read from them (get_pnl, the run summary).
// Invariants:
// - fills are booked only through `bookFill`, in the order they happen, each moving cash and
//   position together and appending one BacktestFill (so the log sums to the account);
// - equity[i] is cash + position x reference price after step i and the agent's calls during it,
//   NaN for steps not replayed;
// - the day-start equity is the equity at the last step before the replay clock's UTC day changed
//   (the starting cash on the first day).
import type { PnlReport, Position } from '../types';
import type { AgentOrder } from './agent-order';
import { BacktestPortfolio, type PositionState } from './portfolio';
import type { ReplayCursor } from './replay-cursor';
import { maxDrawdown, realizedSince, type BacktestFill, type BacktestResult } from './report';
import type { VenueTerms } from './venue';

const DAY_MS = 86_400_000;

export class BacktestAccount {
  readonly portfolio: BacktestPortfolio;
  readonly position: PositionState;
  /** Equity after each step; NaN for steps not replayed yet. */
  readonly equity: Float64Array;
  /** Every agent fill so far, in order. */
  readonly fills: BacktestFill[] = [];
  private day = Number.NaN;
  private dayStartEquity: number;

  constructor(
    cash: number,
    steps: number,
    private readonly terms: VenueTerms,
    private readonly cursor: ReplayCursor,
  ) {
    this.portfolio = new BacktestPortfolio(cash, terms.quoteAsset);
    this.position = this.portfolio.position(terms.symbol, terms.lotGrid);
    this.dayStartEquity = this.portfolio.cash;
    this.equity = new Float64Array(steps).fill(Number.NaN);
  }

  get cash(): number {
    return this.portfolio.cash;
  }

  /** Signed position in base units. */
  positionQuantity(): number {
    return this.terms.lotGrid.value(this.position.lots);
  }

  /** Cash plus the position at the reference price. */
  currentEquity(): number {
    const lots = this.position.lots;
    return lots === 0 ? this.portfolio.cash : this.portfolio.cash + this.terms.lotGrid.value(lots) * this.cursor.price;
  }

  /** Equity now minus equity when the current UTC day (of the replay clock) began. */
  dailyPnl(): number {
    return this.currentEquity() - this.dayStartEquity;
  }

  /** Called before the step at `timestampMs` is applied: a new UTC day starts counting from the equity now. */
  enterStep(timestampMs: number): void {
    const day = Math.floor(timestampMs / DAY_MS);
    if (day === this.day) return;
    if (this.cursor.started) this.dayStartEquity = this.currentEquity();
    this.day = day;
  }

  /** Equity of the current step, after its data or an agent call changed the account. */
  recordEquity(): void {
    this.equity[this.cursor.step] = this.currentEquity();
  }

  /** Book one fill of `order` at `price` for `lots`; returns the quantity booked (base units). */
  bookFill(order: AgentOrder, price: number, lots: number, liquidity: 'maker' | 'taker', seq: number): number {
    const terms = this.terms;
    const effect = this.portfolio.applyFill(this.position, order.side, price, lots, liquidity === 'maker' ? terms.makerBps : terms.takerBps);
    this.fills.push({
      seq,
      step: this.cursor.step,
      timestampMs: this.cursor.timestampMs,
      orderId: order.orderId,
      clientOrderId: order.clientOrderId,
      symbol: terms.symbol,
      side: order.side,
      price,
      quantity: effect.quantity,
      liquidity,
      fee: effect.fee,
      realizedPnl: effect.realized,
      cashAfter: this.portfolio.cash,
      positionAfter: terms.lotGrid.value(this.position.lots),
    });
    return effect.quantity;
  }

  positions(): Position[] {
    if (this.position.lots === 0) return [];
    return [{ symbol: this.terms.symbol, quantity: this.terms.lotGrid.value(this.position.lots), averagePrice: this.position.averagePrice }];
  }

  /** `get_pnl`: the position at the reference price, and what fills realized since the replay clock's UTC midnight (before fees). */
  pnlReport(): PnlReport {
    const symbol = this.terms.symbol;
    const nowMs = this.cursor.timestampMs;
    const quantity = this.terms.lotGrid.value(this.position.lots);
    const positions = quantity === 0 ? [] : [{ symbol, quantity, entryPrice: this.position.averagePrice, markPrice: this.cursor.price }];
    const dayStartMs = Math.floor(nowMs / DAY_MS) * DAY_MS;
    return { positions, realizedPnlToday: { [symbol]: realizedSince(this.fills, dayStartMs) }, timestampMs: nowMs };
  }

  /** Summary of the replay so far (`startMs`: the data's first timestamp; `orders`: orders accepted). */
  summary(startMs: number, orders: number): BacktestResult {
    const symbol = this.terms.symbol;
    const steps = this.cursor.step + 1;
    const price = this.cursor.price;
    const mark = (of: string): number | null => (of === symbol && steps > 0 ? price : null);
    const finalEquity = steps > 0 ? this.currentEquity() : this.portfolio.cash;
    return {
      symbol,
      steps,
      startMs,
      endMs: steps > 0 ? this.cursor.timestampMs : Number.NaN,
      initialCash: this.portfolio.initialCash,
      cash: this.portfolio.cash,
      position: this.terms.lotGrid.value(this.position.lots),
      averagePrice: this.position.averagePrice,
      lastPrice: steps > 0 ? price : null,
      realizedPnl: this.portfolio.realizedPnl(),
      unrealizedPnl: this.portfolio.unrealizedPnl(mark),
      fees: this.portfolio.fees(),
      finalEquity,
      netPnl: finalEquity - this.portfolio.initialCash,
      maxDrawdown: maxDrawdown(this.equity, steps),
      equity: this.equity.slice(0, steps),
      fills: this.fills.slice(),
      orders,
    };
  }
}
