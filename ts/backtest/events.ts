// The venue's event fan-out (`TradingBackend.subscribe`): turns the replay's state into `order`,
// `market` and `pnl` events on the push feed (BacktestPushFeed keeps the listeners and what was
// pushed last).
// Invariants: nothing is built while nobody listens; a replay step pushes `market` and `pnl`
// (pushed data is never older than the step), an agent call only what changed; an `order` event
// says what is still open (0 once the order has left the book); a listener added after the first
// step hears the present state at once.
import type { BackendEvent, SubscribeTopics } from '../types';
import type { BacktestAccount } from './account';
import type { AgentOrder } from './agent-order';
import type { OpenExposure } from './exposure';
import { BacktestPushFeed } from './push-feed';
import type { ReplayCursor } from './replay-cursor';
import type { VenueTerms } from './venue';

export class BacktestEvents {
  private readonly feed = new BacktestPushFeed();
  // Built once: the feed calls them only when it pushes.
  private readonly marketNow = (): BackendEvent => this.marketEvent();
  private readonly dailyPnlNow = (): number => this.account.dailyPnl();
  private readonly current = { market: this.marketNow, dailyPnl: this.dailyPnlNow };

  constructor(
    private readonly terms: VenueTerms,
    private readonly cursor: ReplayCursor,
    private readonly account: BacktestAccount,
    private readonly exposure: OpenExposure,
  ) {}

  /** Someone listens. */
  get active(): boolean {
    return this.feed.active;
  }

  subscribe(listener: (event: BackendEvent) => void, topics: SubscribeTopics): () => void {
    return this.feed.subscribe(listener, topics.pnl === true, this.cursor.started ? this.current : undefined);
  }

  /** `order` changed (rested, partly filled, left the book); `remaining`: its open quantity, 0 once it left. */
  orderChanged(order: AgentOrder, remaining = this.terms.lotGrid.value(order.quantityLots - order.filledLots)): void {
    if (!this.feed.active) return;
    this.feed.emit({ type: 'order', orderId: order.orderId, symbol: this.terms.symbol, side: order.side, price: order.price, remaining, clientOrderId: order.clientOrderId });
  }

  /** Push `market` and `pnl`: after a replay step (`step`) both, after an agent call what changed. */
  stateChanged(step: boolean): void {
    if (!this.feed.active) return;
    const exposure = this.exposure;
    this.feed.pushState(step, this.cursor.step, this.account.position.lots, exposure.openBuyLots, exposure.openSellLots, this.marketNow, this.dailyPnlNow);
  }

  clear(): void {
    this.feed.clear();
  }

  private marketEvent(): BackendEvent {
    const lotGrid = this.terms.lotGrid;
    return {
      type: 'market',
      symbol: this.terms.symbol,
      referencePrice: this.cursor.started ? this.cursor.price : null,
      position: lotGrid.value(this.account.position.lots),
      openBuyQuantity: lotGrid.value(this.exposure.openBuyLots),
      openSellQuantity: lotGrid.value(this.exposure.openSellLots),
    };
  }
}
