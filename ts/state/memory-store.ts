// `type = "memory"`: today's single-process behaviour behind the store contract. No network;
// every call is one synchronous step of the engine, so it is atomic within the process.
import { randomUUID } from 'node:crypto';

import * as engine from './engine';
import { checkBreaker, checkCancel, checkOutcome, checkPlace, checkPnl, checkProgress, checkPropose, checkReservation } from './requests';
import type { BreakerConfig, CancelRequest, PlaceRequest, PlaceVerdict, ProposeRequest, ProposeVerdict, Reservation, RiskStateStore, SettleOutcome, SettleResult, StateSnapshot } from './store';
import { utcDay } from './store';

export interface MemoryStoreOptions {
  /** Clock (Unix ms), default Date.now; tests inject one to cross UTC midnight and leases. */
  nowMs?: () => number;
}

/**
 * The engine behind an in-process store. `mutate` runs one step on the state; the file store
 * overrides it to persist the state after each step.
 */
export class MemoryStateStore implements RiskStateStore {
  readonly kind: 'memory' | 'file' = 'memory';
  protected readonly nowMs: () => number;
  protected state: engine.EngineState;

  constructor(options: MemoryStoreOptions = {}, initial?: engine.EngineState) {
    this.nowMs = options.nowMs ?? Date.now;
    this.state = initial ?? engine.emptyState(utcDay(this.nowMs()));
  }

  /** One atomic step on the state (the file store persists it after each). */
  protected step<T>(run: (state: engine.EngineState, now: number) => T): T {
    return run(this.state, this.nowMs());
  }

  /** Runs `body` as a promise: a bad request rejects it instead of throwing at the call site. */
  private call<T>(body: () => T): Promise<T> {
    return new Promise((resolve) => {
      resolve(body());
    });
  }

  reservePlace(request: PlaceRequest): Promise<PlaceVerdict> {
    return this.call(() => {
      const r = checkPlace(request);
      return this.step((state, now) => engine.reservePlace(state, now, { ...r, reservationId: r.reservationId ?? randomUUID() }));
    });
  }

  proposePlace(request: ProposeRequest): Promise<ProposeVerdict> {
    return this.call(() => {
      const r = checkPropose(request);
      return this.step((state, now) => engine.proposePlace(state, now, { ...r, token: randomUUID() }));
    });
  }

  reserveCancel(request: CancelRequest): Promise<PlaceVerdict> {
    return this.call(() => {
      const r = checkCancel(request);
      return this.step((state, now) => engine.reserveCancel(state, now, { ...r, reservationId: r.reservationId ?? randomUUID() }));
    });
  }

  settle(reservation: Reservation, outcome: SettleOutcome): Promise<SettleResult> {
    return this.call(() => {
      const held = checkReservation(reservation);
      const o = checkOutcome(outcome);
      return this.step((state, now) => engine.settle(state, now, held, o));
    });
  }

  orderProgress(update: { orderId: string; filledQuantity: number; closed: boolean }): Promise<void> {
    return this.call(() => {
      const u = checkProgress(update);
      this.step((state) => {
        engine.orderProgress(state, u);
      });
    });
  }

  recordRiskRejection(breaker: BreakerConfig): Promise<void> {
    return this.call(() => {
      const b = checkBreaker(breaker);
      this.step((state, now) => {
        engine.onRiskRejection(state, now, b);
      });
    });
  }

  recordDailyPnl(dailyPnl: number): Promise<void> {
    return this.call(() => {
      const value = checkPnl(dailyPnl);
      this.step((state, now) => {
        engine.recordDailyPnl(state, now, value);
      });
    });
  }

  resetBreaker(): Promise<void> {
    return this.call(() => {
      this.step((state) => {
        engine.resetBreaker(state);
      });
    });
  }

  resetDailyCounts(day?: number): Promise<void> {
    return this.call(() => {
      this.step((state, now) => {
        engine.resetDailyCounts(state, now, day ?? utcDay(now));
      });
    });
  }

  snapshot(): Promise<StateSnapshot> {
    return this.call(() => this.step((state, now) => engine.snapshot(state, now)));
  }

  ping(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
