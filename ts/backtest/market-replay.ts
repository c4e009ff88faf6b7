// The market-data replay: applies the series one bar or print at a time. A step drops the previous
// step's seeded liquidity, fills the resting agent orders the data trades through, moves the
// reference price, records the step's equity and pushes `market` + `pnl`.
// Invariants:
// - steps are applied in data order, each once; the cursor is written only here;
// - last step's seeded ladder is out of the book before the new data matches agent orders (the
//   ladder never trades with the data);
// - the data of step i matches only orders resting before it (no look-ahead: an order placed in
//   step i's hook first meets step i + 1), and the reference price moves after the matching;
// - bars: a resting buy at p fills when low <= p (`through`: low < p), a sell when high >= p
//   (> p), in full; prints: the same against the print's price, up to its amount floored to the lot
//   grid, shared in price-time priority.
import type { BacktestAccount } from './account';
import type { BacktestEvents } from './events';
import type { OpenExposure } from './exposure';
import type { SeededLiquidity } from './liquidity';
import type { AgentOrderLifecycle } from './order-lifecycle';
import type { ReplayCursor } from './replay-cursor';
import type { BarSeries, MarketSeries, TradeSeries } from './series';
import type { VenueTerms } from './venue';

export class MarketReplay {
  private readonly bars: BarSeries | null;
  private readonly trades: TradeSeries | null;

  constructor(
    private readonly data: MarketSeries,
    private readonly terms: VenueTerms,
    private readonly cursor: ReplayCursor,
    private readonly account: BacktestAccount,
    private readonly exposure: OpenExposure,
    private readonly orders: AgentOrderLifecycle,
    private readonly liquidity: SeededLiquidity,
    private readonly events: BacktestEvents,
  ) {
    this.bars = data.kind === 'bars' ? data : null;
    this.trades = data.kind === 'trades' ? data : null;
  }

  /** Timestamp of the next step, NaN when the data is exhausted. */
  nextTimestampMs(): number {
    const next = this.cursor.step + 1;
    return next < this.data.length ? (this.data.timestamp[next] as number) : Number.NaN;
  }

  get done(): boolean {
    return this.cursor.step >= this.data.length - 1;
  }

  /** Apply the next bar or print. False at the end of the data. */
  advance(): boolean {
    const cursor = this.cursor;
    const i = cursor.step + 1;
    if (i >= this.data.length) return false;
    const ts = this.data.timestamp[i] as number;
    this.account.enterStep(ts);
    cursor.step = i;
    cursor.timestampMs = ts;
    if (this.liquidity.active) this.liquidity.purge();
    const exposure = this.exposure;
    if (this.bars !== null) {
      const bars = this.bars;
      if (exposure.openBuyLots > 0) this.orders.fillThrough('Buy', this.buyThreshold(bars.low[i] as number), exposure.openBuyLots);
      if (exposure.openSellLots > 0) this.orders.fillThrough('Sell', this.sellThreshold(bars.high[i] as number), exposure.openSellLots);
      cursor.price = bars.close[i] as number;
    } else {
      const trades = this.trades as TradeSeries;
      if (exposure.openBuyLots > 0 || exposure.openSellLots > 0) {
        const price = trades.price[i] as number;
        const printLots = Math.floor((trades.amount[i] as number) / this.terms.lotGrid.step + 1e-9);
        if (printLots > 0 && exposure.openBuyLots > 0) this.orders.fillThrough('Buy', this.buyThreshold(price), Math.min(printLots, exposure.openBuyLots));
        if (printLots > 0 && exposure.openSellLots > 0) this.orders.fillThrough('Sell', this.sellThreshold(price), Math.min(printLots, exposure.openSellLots));
      }
      cursor.price = trades.price[i] as number;
    }
    this.account.recordEquity();
    this.events.stateChanged(true);
    return true;
  }

  /** Lowest agent bid price (ticks) the data at `low` trades: bids at or above it fill. */
  private buyThreshold(low: number): number {
    const step = this.terms.priceGrid.step;
    const ticks = Math.ceil(low / step - 1e-9);
    return this.terms.fillRule === 'touch' ? ticks : Math.floor(low / step + 1e-9) + 1;
  }

  /** Highest agent ask price (ticks) the data at `high` trades: asks at or below it fill. */
  private sellThreshold(high: number): number {
    const step = this.terms.priceGrid.step;
    const ticks = Math.floor(high / step + 1e-9);
    return this.terms.fillRule === 'touch' ? ticks : Math.ceil(high / step - 1e-9) - 1;
  }
}
