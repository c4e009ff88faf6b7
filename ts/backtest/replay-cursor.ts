// Where the replay stands: the step applied last, its time and the reference price. Written only by
// the market-data replay (MarketReplay.advance); read by the order lifecycle (fill records, acks,
// the ladder's center), the account (equity at the reference price) and the event fan-out.
// Invariants: before the first step `step` is -1 and `timestampMs` / `price` are NaN; afterwards
// `step` indexes the data, `timestampMs` is that step's timestamp and `price` its close (bars) or
// print price (trades), set after the step's data has matched resting agent orders.
import { BackendError } from '../errors';

export class ReplayCursor {
  step = -1;
  timestampMs = Number.NaN;
  price = Number.NaN;

  get started(): boolean {
    return this.step >= 0;
  }

  /** Refuse what needs a reference price before any data has been replayed. */
  requireStarted(): void {
    if (this.step < 0) throw new BackendError('rejected', 'backtest: no market data replayed yet (step the replay first)');
  }
}
