// The backtest venue's push feed (`TradingBackend.subscribe`): who listens (PnL only to those who
// asked), and what was pushed last, so that every step pushes market state and PnL while an agent
// call pushes only what changed (a resting limit changes no PnL).
// Invariants: only listeners that asked for PnL hear `pnl`; an unsubscribed listener hears nothing
// more; the feed builds no event while nobody listens (callers check `active`).
import type { BackendEvent } from '../types';

type Listener = (event: BackendEvent) => void;

export class BacktestPushFeed {
  private readonly listeners = new Set<Listener>();
  private readonly pnlListeners = new Set<Listener>();
  /** What the last pushed `market` / `pnl` events said. */
  private readonly sent = { step: -1, lots: 0, buy: 0, sell: 0, pnl: Number.NaN };

  /** Someone listens: events are worth building. */
  get active(): boolean {
    return this.listeners.size > 0;
  }

  /**
   * Add a listener. Once the replay has started (`current` given) it hears the present state at
   * once: the market event and, when it asked for PnL, today's PnL.
   */
  subscribe(listener: Listener, pnl: boolean, current: { market: () => BackendEvent; dailyPnl: () => number } | undefined): () => void {
    this.listeners.add(listener);
    if (pnl) this.pnlListeners.add(listener);
    if (current !== undefined) {
      listener(current.market());
      if (pnl) listener({ type: 'pnl', dailyPnl: current.dailyPnl() });
    }
    return () => {
      this.listeners.delete(listener);
      this.pnlListeners.delete(listener);
    };
  }

  emit(event: BackendEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  /**
   * Push `market` when the position, open quantities (in lots) or step index changed since the
   * last push, and `pnl` when it changed; `step` (a new replay step) pushes both regardless.
   */
  // Numbers rather than a state object: called on every step.
  pushState(step: boolean, stepIndex: number, lots: number, buy: number, sell: number, market: () => BackendEvent, dailyPnl: () => number): void {
    const sent = this.sent;
    if (step || sent.lots !== lots || sent.buy !== buy || sent.sell !== sell || sent.step !== stepIndex) {
      sent.lots = lots;
      sent.buy = buy;
      sent.sell = sell;
      sent.step = stepIndex;
      this.emit(market());
    }
    if (this.pnlListeners.size === 0) return;
    const pnl = dailyPnl();
    if (step || pnl !== sent.pnl) {
      sent.pnl = pnl;
      const event: BackendEvent = { type: 'pnl', dailyPnl: pnl };
      for (const listener of this.pnlListeners) listener(event);
    }
  }

  clear(): void {
    this.listeners.clear();
    this.pnlListeners.clear();
  }
}
