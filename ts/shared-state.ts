// The tools' side of the shared risk state (issue 15): where the Rust chain and the store meet.
// The chain decides; this module only carries its request to the store and the store's verdict
// back (see crates/axon-risk/src/guard/shared.rs), and reports outcomes to the store. No limit is
// checked here.
//
// - `ask`: one store call per NEED_STATE decision (reservePlace / proposePlace / reserveCancel),
//   answered as the verdict the guard takes. A store that cannot answer (StateUnavailable: down,
//   slower than timeout_ms, garbage) is the verdict `unavailable`: the chain refuses the call with
//   STATE_UNAVAILABLE and nothing is sent; the next call asks again, so trading resumes by itself.
// - Side reports (a static RiskLimits refusal for the shared breaker streak, order progress, daily
//   PnL, a cancel's closed order) are queued in order and never make a call wait; a failure is
//   logged (with the runbook's words) and counted in trading_state_store_errors_total through the
//   store's observe hook. This process's next `ask` runs after its queued reports, so its own
//   refusals reach the streak before its next order is decided.
// - `settle` is awaited by the tool call (the answer the agent gets is already settled in the
//   store); an `unknown` outcome needs no call (the reservation stays counted until its lease).
import { StateUnavailable } from './state/errors';
import type { BreakerConfig, OrderProgress, PlaceLimits, Reservation, RiskStateStore, SettleOutcome } from './state/store';
import type { StateRequest, StateVerdict } from './native/guard';
import type { Logger } from './log';

export interface SharedStateOptions {
  /** The store, or how to open it (a config given to `createTradingTools`: opened on first use, retried after a failure). */
  store: RiskStateStore | (() => Promise<RiskStateStore>);
  limits: PlaceLimits & { maxDailyCancels?: number };
  breaker: BreakerConfig;
  /** Lease of a reservation: twice the backend timeout (an order can be in flight that long). */
  leaseMs: number;
  /** TwoPhase token lifetime, as the local chain's `confirmTtlMs`. */
  tokenTtlMs: number | undefined;
  logger: Logger;
}

export class SharedRiskState {
  private store: RiskStateStore | undefined;
  private opening: Promise<RiskStateStore> | undefined;
  private readonly open: (() => Promise<RiskStateStore>) | undefined;
  /** Queued side reports: the tail of the chain, and how many are still running. */
  private tail: Promise<void> = Promise.resolve();
  private queued = 0;

  constructor(private readonly o: SharedStateOptions) {
    if (typeof o.store === 'function') this.open = o.store;
    else this.store = o.store;
  }

  /** Whether the tools opened the store (then they close it). */
  get ownsStore(): boolean {
    return this.open !== undefined;
  }

  private opened(): Promise<RiskStateStore> {
    if (this.store !== undefined) return Promise.resolve(this.store);
    const open = this.open;
    if (open === undefined) return Promise.reject(new StateUnavailable('unreachable', 'risk state store is closed'));
    this.opening ??= open().then(
      (store) => {
        this.store = store;
        return store;
      },
      (error: unknown) => {
        this.opening = undefined; // the next call tries again
        throw error;
      },
    );
    return this.opening;
  }

  /** The store's verdict on a NEED_STATE request (never throws: a failure is `unavailable`). */
  async ask(request: StateRequest): Promise<{ verdict: StateVerdict; reservation?: Reservation }> {
    if (this.queued > 0) await this.tail;
    const { limits, breaker } = this.o;
    try {
      const store = await this.opened();
      if (request.op === 'cancel') {
        const v = await store.reserveCancel({ limits: { maxDailyCancels: limits.maxDailyCancels }, leaseMs: this.o.leaseMs, reservationId: request.reservationId });
        return v.ok ? { verdict: { kind: 'granted', reservationId: v.reservation.id }, reservation: v.reservation } : { verdict: { kind: 'refused', code: v.reason, numbers: v.numbers } };
      }
      const symbol = request.symbol ?? '';
      const side = request.side ?? 'buy';
      const placeLimits = { maxDailyOrders: limits.maxDailyOrders, maxPositionAbs: limits.maxPositionAbs };
      if (request.op === 'propose') {
        const v = await store.proposePlace({
          symbol,
          side,
          quantity: request.quantity,
          limits: placeLimits,
          breaker,
          fieldsHash: request.fieldsHash ?? '',
          dailySlot: request.dailySlot,
          ...(this.o.tokenTtlMs === undefined ? {} : { ttlMs: this.o.tokenTtlMs }),
        });
        return v.ok ? { verdict: { kind: 'granted', reservationId: request.reservationId, token: v.token } } : { verdict: { kind: 'refused', code: v.reason, numbers: v.numbers } };
      }
      const v = await store.reservePlace({
        symbol,
        side,
        quantity: request.quantity,
        limits: placeLimits,
        breaker,
        leaseMs: this.o.leaseMs,
        reservationId: request.reservationId,
        dailySlot: request.dailySlot,
        ...(request.token === undefined ? {} : { token: { redeem: request.token, fieldsHash: request.fieldsHash ?? '' } }),
      });
      return v.ok ? { verdict: { kind: 'granted', reservationId: v.reservation.id }, reservation: v.reservation } : { verdict: { kind: 'refused', code: v.reason, numbers: v.numbers } };
    } catch (error) {
      const why = error instanceof StateUnavailable ? error.why : 'garbage';
      this.logFailure(`${request.op} not decided`, error);
      const timeoutMs = why === 'timeout' ? (this.store as { timeoutMs?: unknown } | undefined)?.timeoutMs : undefined;
      return { verdict: typeof timeoutMs === 'number' ? { kind: 'unavailable', why, timeoutMs } : { kind: 'unavailable', why } };
    }
  }

  /** Settle a reservation by the call's outcome; a failure is logged (the lease ends it). */
  async settle(reservation: Reservation, outcome: SettleOutcome): Promise<void> {
    // Nothing changes for an unknown outcome: the slot and the exposure count until the lease ends.
    if (outcome.kind === 'unknown') return;
    try {
      const store = await this.opened();
      await store.settle(reservation, outcome);
    } catch (error) {
      this.logFailure(`reservation ${reservation.id} not settled (${outcome.kind}); it counts until its lease ends`, error);
    }
  }

  /** A static RiskLimits refusal the chain decided alone: the shared streak moves (queued). */
  recordRiskRejection(): void {
    const breaker = this.o.breaker;
    if (breaker.rejection === undefined) return;
    this.enqueue('risk rejection not recorded in the shared breaker streak', (store) => store.recordRiskRejection(breaker));
  }

  /** A cancelled order stops resting (awaited by the cancel call; a failure is logged). */
  async closeOrder(orderId: string): Promise<void> {
    try {
      const store = await this.opened();
      await store.orderProgress({ orderId, filledQuantity: 0, closed: true });
    } catch (error) {
      this.logFailure(`cancelled order ${orderId} still counted as resting`, error);
    }
  }

  orderProgress(update: OrderProgress): void {
    this.enqueue(`progress of order ${update.orderId} not recorded`, (store) => store.orderProgress(update));
  }

  recordDailyPnl(dailyPnl: number): void {
    if (this.o.breaker.pnlFloor === undefined) return;
    this.enqueue('daily PnL not recorded', (store) => store.recordDailyPnl(dailyPnl));
  }

  /** `tools.resetGate()`: the shared breaker closes for every replica. Rejects when the store cannot answer. */
  async resetBreaker(): Promise<void> {
    const store = await this.opened();
    await store.resetBreaker();
  }

  /** Waits for the queued reports, then closes the store if the tools opened it. */
  async close(): Promise<void> {
    await this.tail;
    if (this.open !== undefined && this.store !== undefined) await this.store.close();
    this.store = undefined;
  }

  private enqueue(what: string, report: (store: RiskStateStore) => Promise<void>): void {
    this.queued++;
    this.tail = this.tail
      .then(async () => report(await this.opened()))
      .catch((error: unknown) => {
        this.logFailure(what, error);
      })
      .finally(() => {
        this.queued--;
      });
  }

  private logFailure(what: string, error: unknown): void {
    const detail = error instanceof Error ? error.message : String(error);
    this.o.logger.log('error', { msg: `RiskGate: risk state store unavailable: ${what}: ${detail}`, source: 'RiskGate', code: 'STATE_UNAVAILABLE' });
  }
}
