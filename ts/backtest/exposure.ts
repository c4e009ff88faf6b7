// What the agent's resting orders commit, kept as running sums so that the per-order funds check
// and each replay step read numbers instead of walking the book: open buy and sell lots, the cash
// resting buys lock, and the best resting agent price per side; and the funds check a new or
// replaced order must pass against them (buys: free cash for notional + fee; sells, when short
// selling is off: the position not already committed to resting sells).
// Invariants:
// - openBuyLots / openSellLots are the open lots of the resting agent orders on each side
//   (changed only by `add` when an order rests and `release` when lots leave the book);
// - lockedNotional is the sum of open lots x price of resting buys, reset to exactly 0 when none
//   rest (float drift does not carry over);
// - a cached best price is exact or NaN (re-read from the engine on next use); it is read only
//   while no seeded liquidity is in the book (step start), so the engine's best is the agent's.
import type { MatchingEngine } from '../matching';
import { LEVEL_STRIDE } from '../native/layout';
import type { Side } from '../types';
import type { BacktestAccount } from './account';
import type { AgentOrder } from './agent-order';
import { askWalkCost, notionalWithFee, requireFreeCash, requireFreeHolding } from './funds';
import type { VenueTerms } from './venue';

/** Extra depth levels read when pricing a market buy for the funds check. */
const DEPTH_SLACK = 64;

export class OpenExposure {
  private buyLots = 0;
  private sellLots = 0;
  private lockedNotional = 0;
  /** Cached best resting agent bid/ask in ticks (±Infinity: none; NaN: ask the engine). */
  private bestBidTicks = Number.NEGATIVE_INFINITY;
  private bestAskTicks = Number.POSITIVE_INFINITY;
  /** Depth rows (`LEVEL_STRIDE` numbers each) for `marketBuyCost`, allocated on first use. */
  private askScratch: Float64Array | undefined;

  constructor(
    private readonly terms: VenueTerms,
    private readonly account: BacktestAccount,
    private readonly engine: MatchingEngine,
    private readonly symbolId: number,
    private readonly ladderLevels: number,
  ) {}

  get openBuyLots(): number {
    return this.buyLots;
  }

  get openSellLots(): number {
    return this.sellLots;
  }

  /** Cash the resting buys lock. */
  lockedCash(): number {
    return this.buyLots > 0 ? this.lockedNotional : 0;
  }

  /** `lots` of `order` now rest in the book. */
  add(order: AgentOrder, lots: number): void {
    const ticks = order.priceTicks;
    if (order.side === 'Buy') {
      this.buyLots += lots;
      this.lockedNotional += this.terms.lotGrid.value(lots) * order.price;
      if (!Number.isNaN(this.bestBidTicks)) this.bestBidTicks = Math.max(this.bestBidTicks, ticks);
    } else {
      this.sellLots += lots;
      if (!Number.isNaN(this.bestAskTicks)) this.bestAskTicks = Math.min(this.bestAskTicks, ticks);
    }
  }

  /** `lots` of the resting `order` left the book (filled, cancelled or taken out to be replaced). */
  release(order: AgentOrder, lots: number): void {
    if (!order.resting || lots <= 0) return;
    if (order.side === 'Buy') {
      this.buyLots -= lots;
      this.lockedNotional = this.buyLots === 0 ? 0 : this.lockedNotional - this.terms.lotGrid.value(lots) * order.price;
      this.bestBidTicks = this.buyLots === 0 ? Number.NEGATIVE_INFINITY : Number.NaN;
    } else {
      this.sellLots -= lots;
      this.bestAskTicks = this.sellLots === 0 ? Number.POSITIVE_INFINITY : Number.NaN;
    }
  }

  /** Best resting agent price on `side` in ticks (-Infinity / +Infinity when none). */
  bestAgentTicks(side: Side): number {
    if (side === 'Buy') {
      if (Number.isNaN(this.bestBidTicks)) {
        const level = this.engine.bestUnits(this.symbolId, 'Buy');
        this.bestBidTicks = level === null ? Number.NEGATIVE_INFINITY : level.priceTicks;
      }
      return this.bestBidTicks;
    }
    if (Number.isNaN(this.bestAskTicks)) {
      const level = this.engine.bestUnits(this.symbolId, 'Sell');
      this.bestAskTicks = level === null ? Number.POSITIVE_INFINITY : level.priceTicks;
    }
    return this.bestAskTicks;
  }

  /**
   * Buys need free cash for the notional plus the fee (market buys, `priceTicks` null, are priced
   * by walking the book); without `allowShort`, sells need the position minus what open sells
   * already commit. `releasedNotional` / `releasedSellLots`: what a replaced order frees first.
   */
  checkFunds(side: Side, lots: number, priceTicks: number | null, releasedNotional = 0, releasedSellLots = 0): void {
    const terms = this.terms;
    if (side === 'Buy') {
      const notional = priceTicks === null ? this.marketBuyCost(lots) : terms.lotGrid.value(lots) * terms.priceGrid.value(priceTicks);
      requireFreeCash(notionalWithFee(notional, terms.makerBps, terms.takerBps), this.account.cash - this.lockedCash() + releasedNotional, terms.quoteAsset);
    } else if (!terms.allowShort) {
      requireFreeHolding(lots, this.account.position.lots - this.sellLots + releasedSellLots, terms.lotGrid, terms.baseAsset);
    }
  }

  /** What a market buy of `lots` would cost against the book now (the unfillable rest is not charged). */
  private marketBuyCost(lots: number): number {
    this.askScratch ??= new Float64Array((this.ladderLevels + DEPTH_SLACK) * LEVEL_STRIDE);
    const levels = this.engine.depthInto(this.symbolId, 'Sell', this.askScratch);
    return askWalkCost(this.askScratch, levels, this.terms.lotGrid.value(lots));
  }
}
