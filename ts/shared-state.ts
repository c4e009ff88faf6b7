// The tools' side of the shared risk state (issue 15): where the Rust chain and the store meet.
// The chain decides; this module only carries its request to the store and the store's verdict
// back (see crates/axon-risk/src/guard/shared.rs), and reports outcomes to the store. No limit is
// checked here.
//
// - `ask`: one store call per NEED_STATE decision (reservePlace / proposePlace / reserveCancel),
//   answered as the verdict the guard takes. A store that cannot answer (StateUnavailable: down,
//   slower than timeout_ms, garbage) is the verdict `unavailable`: the chain refuses the call with
//   STATE_UNAVAILABLE and nothing is sent; the next call asks again, so trading resumes by itself.
// - Reports (a reservation settled by the call's outcome, a static RiskLimits refusal for the
//   shared breaker streak, order progress, daily PnL, a cancel's closed order) never make a call
//   wait: each is issued at once on the store's one connection and its failure is logged (with the
//   runbook's words) and counted in trading_state_store_errors_total through the observe hook.
//   Redis runs one connection's commands in the order they were sent, so this process's next
//   `ask` is decided after its earlier reports (its own refusals are in the streak before its next
//   order). Another replica may decide a call before a report lands: a late settle or close still
//   counts what it would give back (fail closed; an accepted order's in-flight exposure is the
//   same exposure as its position and resting part), while a late streak report can let one more
//   of another replica's calls be decided before the breaker opens.
// - An accepted order's settle goes out on the next turn of the event loop, after the agent has its
//   answer (a sent order's latency is then one round trip, not one and a part): until it lands the
//   order's whole quantity counts as in flight, which is never less exposure than its position and
//   resting part. A rejection's settle (a slot given back) and a cancel's close go out at once, so
//   this process's next decision sees them as memory mode would.
// - An `unknown` outcome needs no call: the reservation stays counted until its lease ends.
// - The account's trading state (issue 16): `writeTradingState` writes a change of this process's
//   state (one script call); every later `ask` of this process goes out after it on the same
//   connection, so its verdict already carries the change. A write that fails is logged and
//   counted, stays pending, and is sent again before this process's next store call (so a HALTED
//   that could not be written halts the account as soon as the store answers again; meanwhile this
//   process stays HALTED on its own). An answer carries the account's state as `account` only when
//   it is news: no write of this process is pending or was issued after the question, and it is no
//   older than the last one seen.
import { StateUnavailable } from './state/errors';
import type { AccountTradingState, BreakerConfig, OrderProgress, PlaceLimits, Reservation, RiskStateStore, SettleOutcome, TradingStateWrite } from './state/store';
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
  /** Reports issued and not yet answered (awaited by `close`). */
  private readonly reports = new Set<Promise<void>>();
  /** This process's last trading state change the store has not confirmed (failed or in flight). */
  private pendingWrite: TradingStateWrite | undefined;
  /** The write in flight, if any (a later write waits for it: the store gets them in order). */
  private writing: Promise<void> | undefined;
  /** Trading state writes issued by this process; an answer to a question asked before the last one is no news. */
  private writes = 0;
  /** The `seq` of the newest account trading state seen. */
  private seenSeq = 0;

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

  /**
   * The store's verdict on a NEED_STATE request (never throws: a failure is `unavailable`), and the
   * account's trading state when it is news (see the header).
   */
  async ask(request: StateRequest): Promise<{ verdict: StateVerdict; reservation?: Reservation; account?: AccountTradingState }> {
    const asked = this.writes;
    try {
      const answer = await this.askStore(request);
      const account = this.news(answer.tradingState, asked);
      return account === undefined ? answer : { ...answer, account };
    } catch (error) {
      const why = error instanceof StateUnavailable ? error.why : 'garbage';
      this.logFailure(`${request.op} not decided`, error);
      const timeoutMs = why === 'timeout' ? (this.store as { timeoutMs?: unknown } | undefined)?.timeoutMs : undefined;
      return { verdict: typeof timeoutMs === 'number' ? { kind: 'unavailable', why, timeoutMs } : { kind: 'unavailable', why } };
    }
  }

  /**
   * Write a change of this process's trading state for the account. Resolves once the store has
   * it; rejects (after logging) when it cannot answer: the change then stays pending and is sent
   * again before this process's next store call, or by `flushTradingState`.
   */
  writeTradingState(change: TradingStateWrite): Promise<void> {
    this.writes += 1;
    this.pendingWrite = change;
    return this.flushTradingState();
  }

  /** Send the pending trading state change, if any (waits for one in flight); rejects when the store cannot take it. */
  async flushTradingState(): Promise<void> {
    while (this.writing !== undefined) await this.writing.catch(() => undefined);
    const change = this.pendingWrite;
    if (change === undefined) return;
    const write = (async () => {
      const store = await this.opened();
      const record = await store.setTradingState(change);
      // A newer change issued meanwhile stays pending (it is sent next).
      if (this.pendingWrite === change) this.pendingWrite = undefined;
      this.seenSeq = Math.max(this.seenSeq, record.seq);
    })();
    this.writing = write;
    try {
      await write;
    } catch (error) {
      this.logFailure(`trading state ${change.state} (by ${change.source}) not written for the account; this process keeps it and sends it again before its next store call`, error);
      throw error;
    } finally {
      if (this.writing === write) this.writing = undefined;
    }
    // A change issued while this one was in flight.
    if (this.pendingWrite !== undefined) await this.flushTradingState();
  }

  /** The account's trading state when it is news (undefined otherwise); a pending write of this process is sent first. */
  async readTradingState(): Promise<AccountTradingState | undefined> {
    const asked = this.writes;
    await this.flushTradingState();
    const store = await this.opened();
    return this.news(await store.tradingState(), asked);
  }

  /** `state` if it may replace this process's own: nothing of ours pending or issued since `asked`, and not older than one seen. */
  private news(state: AccountTradingState | undefined, asked: number): AccountTradingState | undefined {
    if (state === undefined || this.pendingWrite !== undefined || this.writes !== asked || state.seq < this.seenSeq) return undefined;
    this.seenSeq = state.seq;
    return state;
  }

  private async askStore(request: StateRequest): Promise<{ verdict: StateVerdict; reservation?: Reservation; tradingState?: AccountTradingState }> {
    const { limits, breaker } = this.o;
    // A trading state change of this process goes first (only a round trip when one is pending).
    if (this.pendingWrite !== undefined || this.writing !== undefined) await this.flushTradingState();
    const store = await this.opened();
    // The throttle's limits come with the chain's request (the guard's own config).
    const rate = {
      ...(request.maxOrdersPerSecond === undefined ? {} : { maxOrdersPerSecond: request.maxOrdersPerSecond }),
      ...(request.maxOrdersPerMinute === undefined ? {} : { maxOrdersPerMinute: request.maxOrdersPerMinute }),
    };
    if (request.op === 'cancel') {
      const v = await store.reserveCancel({ limits: { maxDailyCancels: limits.maxDailyCancels, ...rate }, leaseMs: this.o.leaseMs, reservationId: request.reservationId });
      return v.ok
        ? { verdict: { kind: 'granted', reservationId: v.reservation.id }, reservation: v.reservation, ...withState(v.tradingState) }
        : { verdict: { kind: 'refused', code: v.reason, numbers: v.numbers }, ...withState(v.tradingState) };
    }
    const symbol = request.symbol ?? '';
    const side = request.side ?? 'buy';
    const placeLimits = {
      maxDailyOrders: limits.maxDailyOrders,
      maxPositionAbs: limits.maxPositionAbs,
      ...rate,
      ...(request.maxOpenOrders === undefined ? {} : { maxOpenOrders: request.maxOpenOrders }),
    };
    // The duplicate window's key (computed by the chain) and window, for a new order.
    const duplicate = request.duplicateKey === undefined || request.duplicateWindowMs === undefined ? {} : { duplicate: { key: request.duplicateKey, windowMs: request.duplicateWindowMs } };
    if (request.op === 'propose') {
      const v = await store.proposePlace({
        symbol,
        side,
        quantity: request.quantity,
        limits: placeLimits,
        breaker,
        fieldsHash: request.fieldsHash ?? '',
        dailySlot: request.dailySlot,
        ...duplicate,
        ...(this.o.tokenTtlMs === undefined ? {} : { ttlMs: this.o.tokenTtlMs }),
      });
      return v.ok
        ? { verdict: { kind: 'granted', reservationId: request.reservationId, token: v.token }, ...withState(v.tradingState) }
        : { verdict: { kind: 'refused', code: v.reason, numbers: v.numbers }, ...withState(v.tradingState) };
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
      ...duplicate,
      ...(request.token === undefined ? {} : { token: { redeem: request.token, fieldsHash: request.fieldsHash ?? '' } }),
    });
    return v.ok
      ? { verdict: { kind: 'granted', reservationId: v.reservation.id }, reservation: v.reservation, ...withState(v.tradingState) }
      : { verdict: { kind: 'refused', code: v.reason, numbers: v.numbers }, ...withState(v.tradingState) };
  }

  /** Settle a reservation by the call's outcome (a report); a failure is logged and the lease ends it. */
  settle(reservation: Reservation, outcome: SettleOutcome): void {
    // Nothing changes for an unknown outcome: the slot and the exposure count until the lease ends.
    if (outcome.kind === 'unknown') return;
    const what = `reservation ${reservation.id} not settled (${outcome.kind}); it counts until its lease ends`;
    const send = async (store: RiskStateStore): Promise<void> => {
      await store.settle(reservation, outcome);
    };
    if (outcome.kind === 'accepted' && reservation.kind === 'place') this.report(what, send, 'next turn');
    else this.report(what, send);
  }

  /** A static RiskLimits refusal the chain decided alone: the shared streak moves (queued). */
  recordRiskRejection(): void {
    const breaker = this.o.breaker;
    if (breaker.rejection === undefined) return;
    this.report('risk rejection not recorded in the shared breaker streak', (store) => store.recordRiskRejection(breaker));
  }

  /** A cancelled order stops resting. */
  closeOrder(orderId: string): void {
    this.orderProgress({ orderId, filledQuantity: 0, closed: true });
  }

  orderProgress(update: OrderProgress): void {
    this.report(`progress of order ${update.orderId} not recorded`, (store) => store.orderProgress(update));
  }

  recordDailyPnl(dailyPnl: number): void {
    if (this.o.breaker.pnlFloor === undefined) return;
    this.report('daily PnL not recorded', (store) => store.recordDailyPnl(dailyPnl));
  }

  /** `tools.resetGate()`: the shared breaker closes for every replica. Rejects when the store cannot answer. */
  async resetBreaker(): Promise<void> {
    const store = await this.opened();
    await store.resetBreaker();
  }

  /** Every report issued so far has been answered (or has failed and been logged). */
  async idle(): Promise<void> {
    while (this.reports.size > 0) await Promise.all(this.reports);
  }

  /** Waits for the reports, then closes the store if the tools opened it. */
  async close(): Promise<void> {
    await this.idle();
    await this.writing?.catch(() => undefined);
    if (this.open !== undefined && this.store !== undefined) await this.store.close();
    this.store = undefined;
  }

  /**
   * Issue a report now (its command goes out before any later `ask` of this process), or on the
   * next turn of the event loop (after the caller's answer; see the header for when that is safe).
   */
  private report(what: string, send: (store: RiskStateStore) => Promise<void>, when: 'now' | 'next turn' = 'now'): void {
    const ready = when === 'now' ? this.opened() : new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.opened());
    const sent: Promise<void> = ready
      .then(send)
      .catch((error: unknown) => {
        this.logFailure(what, error);
      })
      .finally(() => {
        this.reports.delete(sent);
      });
    this.reports.add(sent);
  }

  private logFailure(what: string, error: unknown): void {
    const detail = error instanceof Error ? error.message : String(error);
    this.o.logger.log('error', { msg: `RiskGate: risk state store unavailable: ${what}: ${detail}`, source: 'RiskGate', code: 'STATE_UNAVAILABLE' });
  }
}

function withState(tradingState: AccountTradingState | undefined): { tradingState?: AccountTradingState } {
  return tradingState === undefined ? {} : { tradingState };
}
