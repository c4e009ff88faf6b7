// The engine of one tool call: decided by one native call (parse, safety mode, limits, gate,
// reservation) and settled by one more; this module only does the I/O in between (the backend
// call, its deadline, validation of what it answers, logs, the daily counts file), and the trading
// state's edge: changes logged and handed to `onTradingStateChange`, the kill switch (`cancelAll`).
// With a shared risk state (`state: redis`) a call that passed the static checks takes one store
// round trip in between (NEED_STATE -> ./shared-state -> decideWithVerdict); DryRun never does.
// There the trading state is the account's: a change is written to the store, and the store's
// verdicts carry the account's state, adopted before the chain re-runs (ts/state/README.md).
import { performance } from 'node:perf_hooks';

import { cancelEveryOpenOrder } from './cancel-all';
import { DeadlineRace } from './deadline';
import { BackendError, ToolError, type ToolErrorJson } from './errors';
import { jsonLineLogger, type Logger } from './log';
import { parseBackendEvent, parseOpenOrders, parseOrderAck, parsePortfolio, parsePositions, parseReferencePrice } from './backend-answers';
import { TradingMetrics } from './metrics';
import { DecisionKind, NativeGuardHandle, TOOL_INDEX, type DecisionAction, type ToolName } from './native/guard';
import type { GuardState } from './native/index';
import { bookSnapshotJson, finishBarJson, isReadAction, pnlJson } from './read-tools';
import { SharedRiskState } from './shared-state';
import { FileStateStore } from './state/file-store';
import { RedisStateStore } from './state/redis-store';
import type { AccountTradingState, BreakerConfig, Reservation, SettleOutcome } from './state/store';
import { isSharedStore, type DayCountsState, type GateOptions, type OpenedRiskState, type ParsedToolsOptions } from './tool-options';
import type { ToolCallResult } from './tools';
import type { OrderAck, OrderRequest, ReplaceRequest, SafetyModeName, SyncOrderOps, TradingBackend } from './types';
import { scrubSecrets } from './secrets';
import { stateChangeBySchema, tradingStateSchema, type CancelAllResult, type StateChangeBy, type TradingState, type TradingStateChange } from './trading-state';
import { describeZodError } from './zod-issues';

/** What a promise rejects with: an Error, as thrown when it is one (native and backend errors are). */
function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function unwrap(result: ToolCallResult): string {
  if (result.ok) return result.ack;
  throw new ToolError(result.error);
}

function invalidArguments(message: string): ToolCallResult {
  return { ok: false, error: { error_type: 'InvalidArguments', source: 'Arguments', code: 'INVALID_ARGUMENTS', message: `Arguments: ${message}` } };
}

/** A shared-state call's reservation and, once the backend answered, how the store settles it. */
interface Settlement {
  reservation: Reservation;
  /** The exposure the reservation holds (an order's quantity, a replace's growth). */
  quantity: number;
  outcome?: SettleOutcome;
  /** A cancel's order, no longer resting once the venue acknowledged the cancel. */
  closedOrderId?: string;
}

/** A backend failure that proves the order does not exist (as the guard's `definite_failure`). */
const DEFINITE_FAILURES: ReadonlySet<string> = new Set(['rejected', 'insufficient_funds', 'symbol_not_found']);

/** The order operations, returning `R` (a promise from the async backend, an ack from `syncOrders`). */
interface OrderOps<R> {
  placeOrder(request: OrderRequest): R;
  cancelOrder(orderId: string): R;
  replaceOrder(request: ReplaceRequest): R;
}

export class GuardedTools {
  private readonly guard: NativeGuardHandle;
  private readonly backend: TradingBackend;
  readonly metrics: TradingMetrics;
  private readonly logger: Logger;
  readonly mode: SafetyModeName;
  private readonly deadlines: DeadlineRace;
  /** PnL events feed only a PnL breaker; without one they are skipped (a native call per fill saved). */
  private readonly hasPnlGate: boolean;
  private readonly unsubscribe: () => void;
  private readonly dailyCounts: Pick<DayCountsState, 'load' | 'save'> | undefined;
  /** The shared risk state (`state: redis` or an opened shared store); undefined in memory and file mode. */
  private readonly shared: SharedRiskState | undefined;
  /**
   * Shared state: orders this process is cancelling. A venue push that an order no longer rests
   * does not say whether it filled or was cancelled; for these it was cancelled.
   */
  private readonly cancelling = new Set<string>();
  /** A file state the tools opened themselves (closed with them). */
  private readonly ownFileState: FileStateStore | undefined;
  /** Client id of the order being handed to the backend (only during that synchronous call). */
  private placingClientId: string | undefined;
  private readonly redact: (text: string) => string;
  private readonly onTradingStateChange: ((change: TradingStateChange) => void) | undefined;
  private readonly haltOnPnlBreaker: boolean;
  /** The kill switch's run in progress: a second `cancelAll` meanwhile joins it. */
  private cancelAllRun: Promise<CancelAllResult> | undefined;
  /** Async order calls on their way to the backend (deadline-raced): `cancelAll` lets them land first. */
  private readonly orderCalls = new Set<Promise<unknown>>();

  constructor(o: ParsedToolsOptions) {
    this.backend = o.backend;
    this.metrics = o.metrics ?? new TradingMetrics();
    this.logger = o.logger ?? jsonLineLogger();
    this.mode = o.mode;
    this.redact = o.redact ?? scrubSecrets;
    this.deadlines = new DeadlineRace(
      o.backendTimeoutMs,
      () => new BackendError('timeout', `${o.backend.name} did not answer within ${o.backendTimeoutMs} ms`),
      o.deadlineClock,
    );
    const gates = Array.isArray(o.gate) ? o.gate : [o.gate];
    this.hasPnlGate = gates.some((gate) => gate.type === 'PnlCircuitBreaker') || o.risk.maxDailyLoss !== undefined;
    if (o.haltOnPnlBreaker && !this.hasPnlGate) {
      throw new TypeError('axon-llm: invalid trading tools options: haltOnPnlBreaker needs a PnL breaker (a PnlCircuitBreaker gate or risk.maxDailyLoss)');
    }
    this.haltOnPnlBreaker = o.haltOnPnlBreaker;
    this.onTradingStateChange = o.onTradingStateChange;
    // Checked before anything is opened (a file lock, a connection) or created.
    const stateType = 'type' in o.state ? o.state.type : o.state.kind;
    if (o.dailyCountsFile !== undefined && stateType !== 'memory') {
      throw new TypeError(`axon-llm: invalid trading tools options: dailyCountsFile is the memory state's day-count file; with state ${stateType} leave it out`);
    }
    // `dailyCountsFile` is the file state under its old name: locked and written the same way.
    const state = this.openState(o.dailyCountsFile === undefined ? o.state : { type: 'file', path: o.dailyCountsFile });
    let ownFileState: FileStateStore | undefined;
    if (state instanceof FileStateStore && !isOpenedByCaller(o.state)) ownFileState = state;
    this.ownFileState = ownFileState;
    if (state !== undefined && (typeof state === 'function' || isSharedStore(state))) {
      this.shared = new SharedRiskState({
        store: state,
        limits: { maxDailyOrders: o.risk.maxDailyOrders, maxPositionAbs: o.risk.maxPositionAbs, maxDailyCancels: o.risk.maxDailyCancels },
        breaker: sharedBreaker(gates),
        leaseMs: 2 * o.backendTimeoutMs,
        tokenTtlMs: o.confirmTtlMs,
        logger: this.logger,
      });
    }
    const releaseOwnState = (): void => {
      ownFileState?.close().catch(() => undefined); // its lock only: nothing was written yet
    };
    try {
      this.guard = new NativeGuardHandle(
        {
          mode: o.mode,
          backend: o.backend.name,
          allowedSymbols: o.risk.allowedSymbols,
          maxOrderNotional: o.risk.maxOrderNotional,
          maxPositionAbs: o.risk.maxPositionAbs,
          maxDailyOrders: o.risk.maxDailyOrders,
          maxDailyCancels: o.risk.maxDailyCancels,
          maxOrderQuantity: o.risk.maxOrderQuantity,
          minOrderNotional: o.risk.minOrderNotional,
          priceCollarBps: o.risk.priceCollarBps,
          maxReferenceAgeMs: o.risk.maxReferenceAgeMs,
          maxOpenOrders: o.risk.maxOpenOrders,
          duplicateWindowMs: o.risk.duplicateWindowMs,
          maxOrdersPerSecond: o.risk.maxOrdersPerSecond,
          maxOrdersPerMinute: o.risk.maxOrdersPerMinute,
          selfTradePrevention: o.risk.selfTradePrevention,
          maxDailyLoss: o.risk.maxDailyLoss,
          gates,
          confirmTtlMs: o.confirmTtlMs,
          maxArgsBytes: o.maxArgsBytes,
          marketDataMaxAgeMs: o.marketDataMaxAgeMs,
          manualClockMs: o.clockStartMs,
          sharedState: this.shared !== undefined,
          tradingState: o.tradingState,
        },
        this.metrics.native,
      );
    } catch (error) {
      releaseOwnState();
      throw error;
    }
    const dayCounts = state !== undefined && typeof state !== 'function' && state.kind === 'file' && !isSharedStore(state) ? state : undefined;
    if (dayCounts !== undefined) {
      this.dailyCounts = dayCounts;
      try {
        const saved = this.dailyCounts.load();
        if (saved !== undefined) this.guard.restoreDailyCounts(saved.day, saved.orders, saved.cancels);
      } catch (error) {
        this.guard.destroy();
        releaseOwnState();
        throw error;
      }
    }
    this.unsubscribe =
      o.backend.subscribe?.(
        (event) => {
          this.onBackendEvent(event);
        },
        { pnl: this.hasPnlGate },
      ) ?? (() => undefined);
    if (o.tradingState !== 'ACTIVE') this.announceStateChange({ from: 'ACTIVE', to: o.tradingState, source: 'config', timeMs: Date.now() });
  }

  tradingState(): TradingState {
    return this.guard.tradingState();
  }

  /**
   * Change the trading state; returns the previous one. A change (not a repeat of the current
   * state) is logged (warn) and handed to `onTradingStateChange`. Bad arguments are a TypeError
   * naming the field; nothing changes then. With a shared store the state (a repeat too: the
   * account may differ) is also written for the account, see `flushTradingState`.
   */
  setTradingState(state: TradingState, by: StateChangeBy): TradingState {
    const to = tradingStateSchema.safeParse(state);
    if (!to.success) throw new TypeError(`axon-llm: setTradingState: ${describeZodError(to.error, 'state')}`);
    const who = stateChangeBySchema.safeParse(by);
    if (!who.success) throw new TypeError(`axon-llm: setTradingState: ${describeZodError(who.error, '(by)')}`);
    const from = this.guard.setTradingState(to.data);
    this.metrics.notify();
    const timeMs = Date.now();
    const reason = who.data.reason === undefined ? {} : { reason: who.data.reason };
    if (from !== to.data) this.announceStateChange({ from, to: to.data, source: who.data.source, ...reason, timeMs });
    // Failures are logged (and counted by the store's observe hook) in SharedRiskState; the local state stands.
    this.shared?.writeTradingState({ state: to.data, source: who.data.source, ...reason, timeMs }).catch(() => undefined);
    return from;
  }

  /**
   * Resolves once the account's store has this process's last trading state change (at once
   * without a shared store); rejects with StateUnavailable when the store cannot take it (the
   * change stays pending and goes out before the next store call).
   */
  flushTradingState(): Promise<void> {
    return this.shared?.flushTradingState() ?? Promise.resolve();
  }

  /**
   * The account's trading state, written by another replica: this process adopts it (the guard's
   * state, the gauge, a log line and `onTradingStateChange` with source `account`). Returns
   * whether the state changed.
   */
  private adoptAccountState(account: AccountTradingState | undefined): boolean {
    if (account === undefined) return false;
    const from = this.guard.setTradingState(account.state);
    if (from === account.state) return false;
    this.metrics.notify();
    const why = `set by ${account.source}${account.reason === undefined ? '' : `: ${account.reason}`}`;
    this.announceStateChange({ from, to: account.state, source: 'account', reason: why, timeMs: Date.now() });
    return true;
  }

  /**
   * Shared store, a place or replace while this process is not ACTIVE: the chain would refuse it
   * without asking the store, so the account's state is read first (another replica may have
   * resumed trading). A store that cannot answer leaves this process's state as it is (fail closed).
   */
  private async runAfterAccountState(name: ToolName, args: string): Promise<ToolCallResult> {
    try {
      this.adoptAccountState(await this.shared?.readTradingState());
    } catch {
      // Logged by SharedRiskState; the local state decides.
    }
    return this.run(name, args, false);
  }

  private announceStateChange(change: TradingStateChange): void {
    const why = change.reason === undefined ? '' : `: ${change.reason}`;
    this.logger.log('warn', {
      msg: `RiskGate: trading state ${change.from} -> ${change.to} (by ${change.source}${why})`,
      mode: this.mode,
      from: change.from,
      to: change.to,
      source: change.source,
      ...(change.reason === undefined ? {} : { reason: change.reason }),
    });
    if (this.onTradingStateChange === undefined) return;
    try {
      this.onTradingStateChange(change);
    } catch (error) {
      this.logger.log('error', { msg: `onTradingStateChange threw (the change stands): ${String(error)}`, mode: this.mode });
    }
  }

  /**
   * The kill switch: HALTED first (synchronously, before this returns), then every open order of the
   * account cancelled on the backend (see ./cancel-all: no gate, daily limit or throttle applies).
   * Order calls already on their way are let land first (each within its deadline), so an order
   * sent just before the halt is listed and cancelled too. A call while one runs joins it (same
   * result; nothing is cancelled twice).
   */
  cancelAll(by: StateChangeBy): Promise<CancelAllResult> {
    try {
      this.setTradingState('HALTED', by);
    } catch (error) {
      return Promise.reject(asError(error));
    }
    this.cancelAllRun ??= this.runCancelAll(by).finally(() => {
      this.cancelAllRun = undefined;
    });
    return this.cancelAllRun;
  }

  private async runCancelAll(by: StateChangeBy): Promise<CancelAllResult> {
    await Promise.allSettled(this.orderCalls);
    const symbols = new Set<string>();
    let result: CancelAllResult;
    try {
      result = await cancelEveryOpenOrder({
        backend: this.backend,
        withDeadline: (work) => this.deadlines.run(work),
        onCancelled: (order) => {
          symbols.add(order.symbol);
          this.forgetOrder(order.orderId);
        },
        describe: (error) => this.backendText(error instanceof Error ? error.message : String(error)),
      });
    } catch (error) {
      const message = this.backendText(`BackendError: cancelAll by ${by.source}: trading is HALTED but the open orders of ${this.backend.name} could not be listed: ${error instanceof Error ? error.message : String(error)}`);
      this.logger.log('error', { msg: message, mode: this.mode, backend: this.backend.name });
      throw new BackendError(error instanceof BackendError ? error.kind : 'other', message);
    } finally {
      // Open quantities changed at the venue: the next order asks for a fresh snapshot.
      for (const symbol of symbols) this.distrustMarket(symbol);
    }
    // Shared state: the answer says whether the account has the HALTED (awaited after the cancels, which never wait for the store).
    if (this.shared !== undefined) {
      result.accountHalted = await this.shared.flushTradingState().then(
        () => true,
        () => false,
      );
    }
    this.logger.log(result.failed.length === 0 ? 'warn' : 'error', {
      msg: `RiskGate: cancelAll by ${by.source}: ${result.cancelled.length} open orders cancelled, ${result.failed.length} failed${result.accountHalted === false ? '; the account is NOT halted on the other replicas (risk state store unavailable)' : ''}`,
      mode: this.mode,
      backend: this.backend.name,
      cancelled: result.cancelled,
      failed: result.failed,
    });
    return result;
  }

  /** Write today's counts before anything that used a daily slot leaves the process. */
  private saveDailyCounts(): void {
    if (this.dailyCounts === undefined) return;
    const state = this.guard.state();
    this.dailyCounts.save({ day: this.guard.dailyDay(), orders: state.dailyOrders, cancels: state.dailyCancels });
  }

  /**
   * Close every gate by hand (runbook §3.1: `gate.reset()`); with a shared state, for every
   * replica (resolves once the store has it, rejects with StateUnavailable when it cannot answer).
   */
  resetGate(): Promise<void> {
    this.guard.resetGate();
    this.logger.log('warn', { msg: 'RiskGate: circuit breaker reset by hand', mode: this.mode });
    const shared = this.shared;
    if (shared === undefined) return Promise.resolve();
    return shared.resetBreaker().catch((error: unknown) => {
      this.logger.log('error', { msg: `RiskGate: risk state store unavailable: the shared circuit breaker was not reset for the other replicas: ${String(error)}`, mode: this.mode });
      throw error;
    });
  }

  /**
   * The configured state, opened: nothing for memory, the locked day-count file for `file`, a
   * shared store (or its opener: Redis is opened on first use) for `redis`.
   */
  private openState(option: ParsedToolsOptions['state']): OpenedRiskState | (() => Promise<RedisStateStore>) | undefined {
    if (!('type' in option)) return option;
    switch (option.type) {
      case 'memory':
        return undefined;
      case 'file':
        return FileStateStore.open({ path: option.path });
      case 'redis':
        return () =>
          RedisStateStore.open({
            url: option.url,
            account: option.account,
            ...(option.keyPrefix === undefined ? {} : { keyPrefix: option.keyPrefix }),
            ...(option.timeoutMs === undefined ? {} : { timeoutMs: option.timeoutMs }),
            observe: (sample) => {
              this.metrics.observeStateStore(sample);
            },
          });
    }
  }

  state(): GuardState {
    return this.guard.state();
  }

  setClockMs(ms: number): void {
    this.guard.setClockMs(ms);
  }

  /** Stop listening to the backend's push feed and free the native guard; a state the tools opened is closed. */
  close(): void {
    this.unsubscribe();
    this.guard.destroy();
    this.shared?.close().catch((error: unknown) => {
      this.logger.log('error', { msg: `RiskGate: risk state store not closed cleanly: ${String(error)}`, mode: this.mode });
    });
    this.ownFileState?.close().catch((error: unknown) => {
      this.logger.log('error', { msg: `risk state file not closed cleanly: ${String(error)}`, mode: this.mode });
    });
  }

  /**
   * A push from the backend. Never throws (it runs on the backend's stack, often a timer's): a bad
   * event is logged as a BackendError and the symbol it names loses its pushed data (fail closed).
   */
  private onBackendEvent(value: unknown): void {
    const parsed = parseBackendEvent(value);
    if (!parsed.ok) {
      this.distrustMarket(parsed.symbol);
      this.logger.log('error', { msg: this.backendText(`BackendError: invalid ${parsed.what} from ${this.backend.name}: ${parsed.reason}`), mode: this.mode });
      return;
    }
    const event = parsed.event;
    try {
      switch (event.type) {
        case 'market':
          this.guard.updateMarket(event.symbol, event.referencePrice, event.position, event.openBuyQuantity, event.openSellQuantity, true);
          break;
        case 'order':
          if (this.shared !== undefined) {
            // What left a resting order counts as filled (position), unless this process cancelled it.
            const cancelled = event.remaining === 0 && this.cancelling.has(event.orderId);
            this.shared.orderProgress(
              cancelled ? { orderId: event.orderId, filledQuantity: 0, closed: true } : { orderId: event.orderId, filledQuantity: 0, remaining: event.remaining, closed: event.remaining === 0 },
            );
          }
          if (event.remaining > 0) {
            // The order this tool call is placing right now: its ack teaches the guard (one native call saved).
            if (event.clientOrderId !== undefined && event.clientOrderId === this.placingClientId) break;
            this.guard.learnOrder(event.orderId, event.symbol, event.side, event.price, event.remaining);
          } else {
            this.guard.forgetOrder(event.orderId);
          }
          break;
        case 'pnl':
          if (this.hasPnlGate) this.guard.updateDailyPnl(event.dailyPnl);
          this.shared?.recordDailyPnl(event.dailyPnl);
          if (this.haltOnPnlBreaker) this.haltIfPnlBreakerOpen(event.dailyPnl);
          break;
      }
    } catch (error) {
      // Fail closed: never keep trusting what was pushed before a bad event.
      this.distrustMarket(event.type === 'pnl' ? undefined : event.symbol);
      this.logger.log('error', { msg: this.backendText(`BackendError: invalid ${event.type} event from ${this.backend.name}: ${String(error)}`), mode: this.mode });
    }
  }

  /** `haltOnPnlBreaker`: a PnL event that leaves the PnL breaker open halts trading (once). */
  private haltIfPnlBreakerOpen(dailyPnl: number): void {
    if (this.guard.tradingState() === 'HALTED' || this.guard.state().pnlBreakerOpen !== true) return;
    this.setTradingState('HALTED', { source: 'pnl-breaker', reason: `PnL breaker open at daily PnL ${dailyPnl}` });
  }

  /** Forget a resting order (if the guard still lives: `close` may have come meanwhile). */
  private forgetOrder(orderId: string): void {
    try {
      this.guard.forgetOrder(orderId);
    } catch (error) {
      this.logger.log('error', { msg: `cannot forget order ${orderId}: ${String(error)}`, mode: this.mode });
    }
  }

  /** Forget the pushed market data of `symbol` (if the guard still lives: a push may come after `close`). */
  private distrustMarket(symbol: string | undefined): void {
    if (symbol === undefined) return;
    try {
      this.guard.invalidateMarket(symbol);
    } catch (error) {
      this.logger.log('error', { msg: this.backendText(`BackendError: cannot invalidate market data of ${symbol}: ${String(error)}`), mode: this.mode });
    }
  }

  /** Text that came from a backend, with the configured secrets removed. */
  private backendText(text: string): string {
    try {
      return this.redact(text);
    } catch {
      return '[backend message withheld: redact failed]';
    }
  }

  /** `Tool.execute`: the model's contract (a refusal rejects with `ToolError`). */
  execute(name: ToolName, args: string): Promise<string> {
    let result: ToolCallResult | Promise<ToolCallResult>;
    try {
      result = this.run(name, args);
    } catch (error) {
      return Promise.reject(asError(error));
    }
    if (result instanceof Promise) return result.then(unwrap);
    return result.ok ? Promise.resolve(result.ack) : Promise.resolve(result).then(unwrap);
  }

  /** `Tool.call`: typed arguments, the outcome as data. */
  call(name: ToolName, args: object | string): Promise<ToolCallResult> {
    let text: string;
    try {
      text = typeof args === 'string' ? args : JSON.stringify(args);
    } catch (error) {
      return Promise.resolve(invalidArguments(`arguments cannot be written as JSON: ${String(error)}`));
    }
    try {
      const result = this.run(name, text);
      return result instanceof Promise ? result : Promise.resolve(result);
    } catch (error) {
      return Promise.reject(asError(error));
    }
  }

  /**
   * One tool call. A call the guard decides on its own (DryRun, a refusal) is answered
   * synchronously with no promise and no async frame; only a refresh or a backend call awaits.
   */
  private run(name: ToolName, args: string, syncAccountState = true, retried = false): ToolCallResult | Promise<ToolCallResult> {
    if (typeof args !== 'string') return invalidArguments(`arguments must be a JSON string, got ${typeof args}`);
    if (syncAccountState && this.shared !== undefined && this.mode !== 'DryRun' && (name === 'place_order' || name === 'replace_order') && this.guard.tradingState() !== 'ACTIVE') {
      return this.runAfterAccountState(name, args);
    }
    const tool = TOOL_INDEX[name];
    let text: string;
    try {
      text = this.guard.decide(tool, args, false);
    } catch (error) {
      this.metrics.notify();
      throw error;
    }
    const kind = this.guard.kind();
    // A call the guard settles itself is timed by the guard; the clock is read here only for one
    // that goes on to the backend (its time is dominated by the backend's, ms against the µs spent so far).
    if (kind === DecisionKind.NeedMarket || kind === DecisionKind.NeedOrder) return this.runAfterRefresh(name, tool, args, text, kind, performance.now(), retried);
    if (kind === DecisionKind.NeedState) return this.runWithState(name, tool, args, text, performance.now(), retried);
    return this.settle(name, text, kind === DecisionKind.Send ? performance.now() : Number.NaN);
  }

  /**
   * Shared state: the static checks passed; ask the store, let the chain decide again with its
   * verdict, then send; the reservation is settled by the outcome (reported, see ./shared-state).
   */
  private async runWithState(name: ToolName, tool: number, args: string, requestText: string, started: number, retried = false): Promise<ToolCallResult> {
    const shared = this.shared;
    if (shared === undefined) throw new Error('axon-llm: the guard asked for the shared state, but none is configured');
    const request = this.guard.stateRequest(requestText);
    const { verdict, reservation, account } = await shared.ask(request);
    // The account's trading state first, so the chain re-runs under it: HALTED refuses with
    // TRADING_HALTED. REDUCING needs the venue's position, which a call decided as ACTIVE may not
    // have fetched: that call gives its grant back and is decided again from the start (once).
    if (this.adoptAccountState(account) && account?.state === 'REDUCING' && verdict.kind === 'granted' && !retried) {
      if (reservation !== undefined) shared.settle(reservation, { kind: 'rejected' });
      return this.run(name, args, false, true);
    }
    let text: string;
    try {
      text = this.guard.decideWithVerdict(tool, args, verdict);
    } catch (error) {
      this.metrics.notify();
      if (reservation !== undefined) shared.settle(reservation, { kind: 'rejected' });
      throw error;
    }
    if (this.guard.kind() !== DecisionKind.Send) {
      // A grant the re-run refused on a static check (the market moved meanwhile): give it back.
      if (reservation !== undefined) shared.settle(reservation, { kind: 'rejected' });
      return this.settle(name, text, started, undefined, verdict.kind === 'refused');
    }
    const settlement: Settlement | undefined = reservation === undefined ? undefined : { reservation, quantity: request.quantity };
    const result = await this.settle(name, text, started, settlement);
    // Reported, not awaited: the agent's answer does not wait for the store (see ./shared-state).
    if (settlement !== undefined) {
      shared.settle(settlement.reservation, settlement.outcome ?? { kind: 'unknown' });
      if (settlement.closedOrderId !== undefined) shared.closeOrder(settlement.closedOrderId);
    }
    if (request.op === 'cancel') this.cancelling.delete(text);
    return result;
  }

  /** The guard needs market data or an order it does not know: fetch it, then decide again. */
  private async runAfterRefresh(name: ToolName, tool: number, args: string, need: string, kind: number, started: number, retried = false): Promise<ToolCallResult> {
    if (kind === DecisionKind.NeedMarket) await this.refreshMarket(need);
    else await this.refreshOrders();
    let text: string;
    try {
      text = this.guard.decide(tool, args, true);
    } catch (error) {
      this.metrics.notify();
      throw error;
    }
    if (this.guard.kind() === DecisionKind.NeedState) return this.runWithState(name, tool, args, text, started, retried);
    return this.settle(name, text, started);
  }

  /**
   * Act on a decision: answer it, refuse it, or send it to the backend. `settlement`: the shared
   * store's reservation, given its outcome here. `storeRefused`: the refusal is the store's (its
   * breaker already counted it); any other RiskLimits refusal is reported to the shared streak.
   */
  private settle(name: ToolName, text: string, started: number, settlement?: Settlement, storeRefused = false): ToolCallResult | Promise<ToolCallResult> {
    const guard = this.guard;
    switch (guard.kind()) {
      case DecisionKind.Done: {
        if (this.logger.isEnabled('info')) this.logDone(name, text);
        this.metrics.notify();
        return { ok: true, ack: text, status: guard.doneStatus() };
      }
      case DecisionKind.Send: {
        // Read the decision now: the buffer is reused by the next call once this one awaits.
        const ticket = guard.ticket();
        const action = guard.action();
        const read = isReadAction(action);
        if (this.dailyCounts !== undefined && !read) {
          try {
            this.saveDailyCounts();
          } catch (cause) {
            // Not durable, so not sent: the call fails (its slot stays counted, conservatively).
            return this.failed(name, ticket, new BackendError('other', `daily counts not saved: ${String(cause)}`), started);
          }
        }
        let sync: SyncOrderOps | undefined;
        try {
          sync = read ? undefined : this.backend.syncOrders;
        } catch (cause) {
          // A getter that throws is the backend's fault like a call that throws: settled, unknown outcome.
          return this.failed(name, ticket, cause, started);
        }
        if (sync !== undefined && !read) return this.sendSync(name, ticket, sync, action, text, started, settlement);
        return this.send(name, ticket, read, this.callBackend(action, text), started, settlement);
      }
      default: {
        const error = guard.refusal(text);
        if (this.shared !== undefined && !storeRefused && error.source === 'RiskLimits' && this.mode !== 'DryRun') this.shared.recordRiskRejection();
        this.logRejection(name, error);
        this.metrics.notify();
        return { ok: false, error };
      }
    }
  }

  private async send(name: ToolName, ticket: number, read: boolean, call: Promise<unknown>, started: number, settlement?: Settlement): Promise<ToolCallResult> {
    let result: unknown;
    const raced = this.deadlines.run(call);
    if (!read) this.trackOrderCall(raced);
    try {
      result = await raced;
    } catch (cause) {
      this.metrics.notify();
      return this.backendFailure(name, ticket, cause, started, settlement);
    }
    try {
      if (read) {
        this.guard.recordRead(ticket, (performance.now() - started) / 1000);
        if (this.logger.isEnabled('info')) this.logger.log('info', { msg: `${this.mode}: ${name} -> answered`, tool: name, mode: this.mode });
        return { ok: true, ack: result as string };
      }
      return this.settleAck(name, ticket, result, started, settlement);
    } finally {
      this.metrics.notify();
    }
  }

  /** Keep `call` in `orderCalls` until it settles (cancelAll waits for it). */
  private trackOrderCall(call: Promise<unknown>): void {
    const calls = this.orderCalls;
    calls.add(call);
    const done = (): void => {
      calls.delete(call);
    };
    call.then(done, done);
  }

  /**
   * An in-process backend's order call: no promise to wait for and no deadline to race (a
   * synchronous call cannot outlive one); settled at once, failures exactly as in `send`.
   */
  private sendSync(name: ToolName, ticket: number, ops: SyncOrderOps, action: 'place' | 'cancel' | 'replace', text: string, started: number, settlement?: Settlement): ToolCallResult {
    try {
      let result: unknown;
      try {
        result = this.orderCall(ops, action, text);
      } catch (cause) {
        return this.backendFailure(name, ticket, cause, started, settlement);
      }
      return this.settleAck(name, ticket, result, started, settlement);
    } finally {
      this.metrics.notify();
    }
  }

  /** Settle a SEND decision as failed before anything was sent. */
  private failed(name: ToolName, ticket: number, cause: unknown, started: number): ToolCallResult {
    try {
      return this.backendFailure(name, ticket, cause, started);
    } finally {
      this.metrics.notify();
    }
  }

  /** A backend call that failed (or timed out): settle the ticket, answer the agent-facing refusal. */
  private backendFailure(name: ToolName, ticket: number, cause: unknown, started: number, settlement?: Settlement): ToolCallResult {
    const kind = cause instanceof BackendError ? cause.kind : 'other';
    // A definite rejection gives the shared slot and exposure back; anything else may have reached the venue.
    if (settlement !== undefined) settlement.outcome = { kind: DEFINITE_FAILURES.has(kind) ? 'rejected' : 'unknown' };
    const message = this.backendText(cause instanceof Error ? cause.message : String(cause));
    const error = this.guard.recordFailure(ticket, kind, message, (performance.now() - started) / 1000);
    this.logger.log('error', { msg: `BackendError (${kind}): ${error.message}`, tool: name, mode: this.mode, code: error.code, backend: this.backend.name });
    return { ok: false, error };
  }

  /** Settle an order call by what the backend answered; an unusable answer is an unknown outcome. */
  private settleAck(name: ToolName, ticket: number, answer: unknown, started: number, settlement?: Settlement): ToolCallResult {
    let result: OrderAck;
    try {
      result = parseOrderAck(answer, this.backend.name);
    } catch (cause) {
      return this.backendFailure(name, ticket, cause, started, settlement);
    }
    if (result.status === 'Rejected') {
      return this.backendFailure(name, ticket, new BackendError('rejected', `${this.backend.name} rejected order ${result.orderId}`), started, settlement);
    }
    const ackJson = this.guard.recordAck(ticket, result, (performance.now() - started) / 1000, name === 'cancel_order');
    if (settlement !== undefined) {
      settlement.outcome = this.acceptedOutcome(name, result, settlement.quantity);
      if (name === 'cancel_order') settlement.closedOrderId = result.orderId;
    }
    if (this.logger.isEnabled('info')) {
      this.logger.log('info', {
        msg: `${this.mode}: ${name} ${result.side} ${result.quantity} ${result.symbol} -> ${result.status}`,
        tool: name,
        mode: this.mode,
        order_id: result.orderId,
        status: result.status,
      });
    }
    return { ok: true, ack: ackJson, status: result.status };
  }

  /**
   * How the store settles an accepted call: a new order's filled part moves to the position and
   * what rests to resting; a replace's growth joins the order's resting quantity; a cancel only
   * ends its reservation (and the cancelled order stops resting, reported as progress).
   */
  private acceptedOutcome(name: ToolName, ack: OrderAck, reserved: number): SettleOutcome {
    const rests = ack.status === 'New' || ack.status === 'PartiallyFilled' || ack.status === 'Replaced';
    switch (name) {
      case 'cancel_order':
        return { kind: 'accepted', orderId: ack.orderId, filledQuantity: 0, restingQuantity: 0 };
      case 'replace_order':
        return { kind: 'accepted', orderId: ack.orderId, filledQuantity: 0, restingQuantity: rests ? reserved : 0 };
      default: {
        const filled = Math.min(reserved, Math.max(0, ack.filledQuantity ?? (ack.status === 'Filled' ? reserved : 0)));
        return { kind: 'accepted', orderId: ack.orderId, filledQuantity: filled, restingQuantity: rests ? reserved - filled : 0 };
      }
    }
  }

  /**
   * Run an order action (place, cancel, replace) of a SEND decision on `ops`: the backend's async
   * methods or, for an in-process backend, its synchronous ones. Reads the decision synchronously.
   */
  private orderCall<R>(ops: OrderOps<R>, action: 'place' | 'cancel' | 'replace', text: string): R {
    switch (action) {
      case 'place': {
        const clientOrderId = text;
        const request = this.guard.placeRequest(clientOrderId);
        // Events the backend pushes while this synchronous part runs may be about this very order.
        this.placingClientId = clientOrderId;
        try {
          return ops.placeOrder(request);
        } finally {
          this.placingClientId = undefined;
        }
      }
      case 'cancel':
        if (this.shared !== undefined) this.cancelling.add(text);
        return ops.cancelOrder(text);
      case 'replace':
        return ops.replaceOrder(this.guard.replaceRequest(text));
    }
  }

  /** Start the backend call a SEND decision asks for (synchronously reading the decision). Read results are already agent-facing JSON. */
  private callBackend(action: DecisionAction, text: string): Promise<unknown> {
    try {
      switch (action) {
        case 'query':
          return this.portfolioJson(text === '' ? undefined : text);
        case 'book_snapshot':
          return bookSnapshotJson(this.backend, text, this.guard.levels());
        case 'pnl':
          return pnlJson(this.backend, text === '' ? undefined : text);
        case 'finish_bar':
          return Promise.resolve(finishBarJson(text === '' ? undefined : text, this.mode, this.guard.state()));
        default:
          return this.orderCall<Promise<OrderAck>>(this.backend, action, text);
      }
    } catch (error) {
      // A backend that throws synchronously fails like one that rejects.
      return Promise.reject(asError(error));
    }
  }

  private async portfolioJson(symbol: string | undefined): Promise<string> {
    const name = this.backend.name;
    const [portfolioAnswer, openOrdersAnswer] = await Promise.all([this.backend.getPortfolio(), this.backend.getOpenOrders()]);
    const portfolio = parsePortfolio(portfolioAnswer, name);
    const openOrders = parseOpenOrders(openOrdersAnswer, name);
    const assets = symbol === undefined ? undefined : new Set(symbol.split(/[-/]/));
    return JSON.stringify({
      balances: portfolio.balances.filter((b) => assets === undefined || assets.has(b.asset)),
      positions: portfolio.positions
        .filter((p) => symbol === undefined || p.symbol === symbol)
        .map((p) => ({ symbol: p.symbol, quantity: p.quantity, average_price: p.averagePrice })),
      open_orders: openOrders
        .filter((o) => symbol === undefined || o.symbol === symbol)
        .map((o) => ({ order_id: o.orderId, symbol: o.symbol, side: o.side, price: o.price, quantity: o.quantity, remaining: o.remaining })),
    });
  }

  /** Fetch what the guard needs for `symbol`. On failure the guard stays without data and rejects (fail-closed). */
  private async refreshMarket(symbol: string): Promise<void> {
    try {
      const [priceAnswer, positionsAnswer, openOrdersAnswer] = await this.deadlines.run(
        Promise.all([this.backend.getReferencePrice(symbol), this.backend.getPositions(), this.backend.getOpenOrders(symbol)]),
      );
      const name = this.backend.name;
      const price = parseReferencePrice(priceAnswer, name);
      const positions = parsePositions(positionsAnswer, name);
      const openOrders = parseOpenOrders(openOrdersAnswer, name);
      let openBuyQuantity = 0;
      let openSellQuantity = 0;
      for (const order of openOrders) {
        if (order.symbol !== symbol) continue;
        // The snapshot teaches the resting orders too: max_open_orders and self-trade prevention count them.
        this.guard.learnOrder(order.orderId, order.symbol, order.side, order.price, order.remaining);
        if (order.side === 'Buy') openBuyQuantity += order.remaining;
        else openSellQuantity += order.remaining;
      }
      const position = positions.find((p) => p.symbol === symbol)?.quantity ?? 0;
      this.guard.updateMarket(symbol, price, position, openBuyQuantity, openSellQuantity, false);
    } catch (error) {
      this.logger.log('warn', { msg: this.backendText(`BackendError: cannot fetch market data for ${symbol}: ${String(error)}`), mode: this.mode, backend: this.backend.name });
    }
  }

  private async refreshOrders(): Promise<void> {
    try {
      for (const order of parseOpenOrders(await this.deadlines.run(this.backend.getOpenOrders()), this.backend.name)) {
        this.guard.learnOrder(order.orderId, order.symbol, order.side, order.price, order.remaining);
      }
    } catch (error) {
      this.logger.log('warn', { msg: this.backendText(`BackendError: cannot fetch open orders: ${String(error)}`), mode: this.mode, backend: this.backend.name });
    }
  }

  private logDone(name: ToolName, ackJson: string): void {
    const ack = JSON.parse(ackJson) as { status: string; order_id: string };
    this.logger.log('info', { msg: `${this.mode}: ${name} -> ${ack.status}`, tool: name, mode: this.mode, order_id: ack.order_id, status: ack.status });
  }

  private logRejection(name: ToolName, error: ToolErrorJson): void {
    if (!this.logger.isEnabled('warn')) return;
    this.logger.log('warn', { msg: error.message, tool: name, mode: this.mode, source: error.source, code: error.code });
  }
}

/** The shared breaker's configuration from the gates (the store keeps one rejection breaker). */
function sharedBreaker(gates: readonly GateOptions[]): BreakerConfig {
  const breaker: BreakerConfig = {};
  for (const gate of gates) {
    if (gate.type === 'RejectionCircuitBreaker') {
      if (breaker.rejection !== undefined) throw new TypeError('axon-llm: invalid trading tools options: a shared state keeps one RejectionCircuitBreaker; configure one');
      breaker.rejection = { threshold: gate.threshold, cooldownMs: gate.cooldownMs };
    } else if (gate.type === 'PnlCircuitBreaker') {
      breaker.pnlFloor = breaker.pnlFloor === undefined ? gate.dailyPnlFloor : Math.max(breaker.pnlFloor, gate.dailyPnlFloor);
    }
  }
  return breaker;
}

/** Whether `state` is a state the caller opened (the caller closes it), rather than a config. */
function isOpenedByCaller(state: ParsedToolsOptions['state']): boolean {
  return !('type' in state);
}
