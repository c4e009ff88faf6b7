// Observations for live runs: what the venue says now (reference price, portfolio, open orders),
// with recent bars built from the prices sampled at each observation (a venue-independent history:
// every backend has a reference price, few share a candle API).
import type { TradingBackend } from '../types';
import type { Observation } from './observation';

type Bar = Observation['bars'][number];

export class LiveObserver {
  private readonly bars: Bar[] = [];
  private readonly quoteAsset: string;

  constructor(
    private readonly backend: TradingBackend,
    private readonly symbol: string,
    private readonly historyBars: number,
  ) {
    // `BTC-USDT` is valued in USDT.
    this.quoteAsset = symbol.slice(symbol.lastIndexOf('-') + 1);
  }

  /** One observation (venue reads run concurrently); a venue error rejects and nothing is kept. */
  async observe(nowMs: number, lastResults: Observation['last_results']): Promise<Observation> {
    const [price, portfolio, openOrders] = await Promise.all([
      this.backend.getReferencePrice(this.symbol),
      this.backend.getPortfolio(),
      this.backend.getOpenOrders(this.symbol),
    ]);
    if (price !== null) {
      this.bars.push([nowMs, price, price, price, price, 0]);
      if (this.bars.length > this.historyBars) this.bars.shift();
    }
    const position = portfolio.positions.find((p) => p.symbol === this.symbol)?.quantity ?? 0;
    const quote = portfolio.balances.find((b) => b.asset === this.quoteAsset);
    const cash = quote === undefined ? 0 : quote.free + quote.locked;
    return {
      time_ms: nowMs,
      symbol: this.symbol,
      bars: [...this.bars],
      position,
      cash,
      equity: cash + position * (price ?? 0),
      open_orders: openOrders.map((o) => ({ order_id: o.orderId, side: o.side, price: o.price, remaining: o.remaining })),
      last_results: lastResults,
    };
  }
}
