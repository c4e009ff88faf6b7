// The native guard behind an index handle (free functions are several times cheaper to call than
// napi class methods). The handle is freed by `destroy()` or, failing that, by the GC.
import { ACK_STATUS_INDEX, FEED_STRIDE, native, type GuardState, type NativeMetrics } from './native';
import type { OrderAck } from './types';

type GuardOptions = Parameters<typeof native.guardCreate>[0];
type NativeToolError = ReturnType<typeof native.guardRecordFailure>;

const finalizer = new FinalizationRegistry<number>((handle) => native.guardDestroy(handle));

export class NativeGuardHandle {
  private readonly handle: number;
  /** The last decision's numbers (see `Slot`), in memory the guard writes; overwritten by every `decide`. */
  readonly decision: Float64Array;

  constructor(options: GuardOptions, metrics: NativeMetrics) {
    this.handle = native.guardCreate(options, metrics);
    finalizer.register(this, this.handle, this);
    this.decision = native.guardDecisionBuffer(this.handle);
  }

  /** Decide a tool call: its numbers land in `decision`, its string is returned. */
  decide(tool: number, args: string, refreshed: boolean): string {
    return native.guardDecide(this.handle, tool, args, refreshed);
  }

  /**
   * Settle a success; returns the OrderAck JSON for the agent. The ack's symbol and side are sent
   * only with `withOrderFields` (a cancel: the guard may not know the order); otherwise the ticket's
   * own order supplies them (one string less across the boundary).
   */
  recordAck(ticket: number, ack: OrderAck, elapsedSeconds: number, withOrderFields: boolean): string {
    const status = ACK_STATUS_INDEX.get(ack.status);
    if (status === undefined) throw new TypeError(`backend ack status must be one of ${[...ACK_STATUS_INDEX.keys()].join(', ')}, got ${String(ack.status)}`);
    const side = withOrderFields ? (ack.side === 'Buy' ? 0 : ack.side === 'Sell' ? 1 : 2) : 2;
    return native.guardRecordAck(this.handle, ticket, ack.orderId, status, withOrderFields ? ack.symbol : undefined, side, ack.quantity, ack.timestampMs, elapsedSeconds);
  }

  /** Settle a read-only call (query_portfolio). */
  recordRead(ticket: number, elapsedSeconds: number): void {
    native.guardRecordRead(this.handle, ticket, elapsedSeconds);
  }

  recordFailure(ticket: number, kind: string, message: string, elapsedSeconds: number): NativeToolError {
    return native.guardRecordFailure(this.handle, ticket, kind, message, elapsedSeconds);
  }

  /** Market slots by symbol (-1: not tracked); a slot never changes once the guard gave it. */
  private readonly marketSlots = new Map<string, number>();
  /** Symbols by market slot: one string per symbol, however many decisions name it. */
  private readonly slotSymbols: string[] = [];

  /** The symbol of a market slot a decision named (asked of the guard once per slot). */
  marketSymbol(slot: number): string {
    let symbol = this.slotSymbols[slot];
    if (symbol === undefined) {
      symbol = native.guardMarketSymbol(this.handle, slot);
      this.slotSymbols[slot] = symbol;
      this.marketSlots.set(symbol, slot);
    }
    return symbol;
  }

  /** Pushed market data in memory shared with the guard (taken on the first push). */
  private feed: Float64Array | undefined;

  /**
   * Market data for `symbol`. Pushed data that is plainly valid goes into the shared feed (a few
   * stores; the guard takes it when it next needs the symbol); fetched data, and anything the
   * guard should refuse with its own error, goes through a native call.
   */
  updateMarket(symbol: string, referencePrice: number | null, position: number, openBuy: number, openSell: number, pushed: boolean): void {
    let slot = this.marketSlots.get(symbol);
    if (slot === undefined) {
      slot = native.guardMarketSlot(this.handle, symbol);
      this.marketSlots.set(symbol, slot);
    }
    // An untracked symbol's data would be ignored: no call at all.
    if (slot < 0) return;
    // Number.isFinite does not coerce: a string or NaN takes the native path and its named error.
    const valid =
      Number.isFinite(position) &&
      Number.isFinite(openBuy) &&
      openBuy >= 0 &&
      Number.isFinite(openSell) &&
      openSell >= 0 &&
      (referencePrice === null || (Number.isFinite(referencePrice) && referencePrice > 0));
    if (pushed && valid) {
      this.feed ??= native.guardMarketFeed(this.handle);
      const at = slot * FEED_STRIDE;
      const feed = this.feed;
      feed[at] = referencePrice ?? Number.NaN;
      feed[at + 1] = position;
      feed[at + 2] = openBuy;
      feed[at + 3] = openSell;
      feed[at + 4] = (feed[at + 4] as number) + 1;
      return;
    }
    native.guardUpdateMarketAt(this.handle, slot, referencePrice ?? Number.NaN, position, openBuy, openSell, pushed);
  }

  invalidateMarket(symbol: string): void {
    native.guardInvalidateMarket(this.handle, symbol);
  }

  learnOrder(orderId: string, symbol: string, side: string, price: number, remaining: number): void {
    native.guardLearnOrder(this.handle, orderId, symbol, side, price, remaining);
  }

  forgetOrder(orderId: string): void {
    native.guardForgetOrder(this.handle, orderId);
  }

  /** Carry counts saved on `day` over a restart (today's only; never lowers a count). */
  restoreDailyCounts(day: number, orders: number, cancels: number): void {
    native.guardRestoreDailyCounts(this.handle, day, orders, cancels);
  }

  /** UTC day (days since the epoch) of the daily counts. */
  dailyDay(): number {
    return native.guardDailyDay(this.handle);
  }

  updateDailyPnl(dailyPnl: number): void {
    native.guardUpdateDailyPnl(this.handle, dailyPnl);
  }

  resetGate(): void {
    native.guardResetGate(this.handle);
  }

  state(): GuardState {
    return native.guardState(this.handle);
  }

  /** The manual clock's cell shared with the guard (taken on first use). */
  private clockCell: Float64Array | undefined;

  /** Move the manual clock: one store into memory the guard reads, no native call. */
  setClockMs(ms: number): void {
    if (!(Number.isInteger(ms) && Math.abs(ms) < 9e15)) throw new RangeError(`ms must be a whole number of milliseconds, got ${ms}`);
    this.clockCell ??= native.guardClockBuffer(this.handle);
    this.clockCell[0] = ms;
  }

  destroy(): void {
    // Later calls ask the native side again, which refuses the dead handle.
    this.clockCell = undefined;
    this.feed = undefined;
    finalizer.unregister(this);
    native.guardDestroy(this.handle);
  }
}
