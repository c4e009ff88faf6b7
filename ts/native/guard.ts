// The native guard behind an index handle (free functions are several times cheaper to call than
// napi class methods). The handle is freed by `destroy()` or, failing that, by the GC. The last
// decision's numbers are read here and nowhere else (slots from the generated ./layout).
import type { ToolErrorJson } from '../errors';
import type { TradingState } from '../trading-state';
import type { OrderAck, OrderRequest, ReplaceRequest } from '../types';
import { native, rejectionOf, type GuardState, type NativeMetrics } from './index';
import { ACK_STATUSES, ACTIONS, DONE_STATUSES, FEED_STRIDE, ORDER_TYPES, SIDES, Slot, TIME_IN_FORCES, TOOLS } from './layout';

export { DecisionKind } from './layout';
export type DecisionAction = (typeof ACTIONS)[number];
export type DoneStatus = (typeof DONE_STATUSES)[number];
export type ToolName = (typeof TOOLS)[number];

/** `OrderAck.status` -> the number `guardRecordAck` takes. */
const ACK_STATUS_INDEX: ReadonlyMap<string, number> = new Map(ACK_STATUSES.map((status, index) => [status, index]));
/** Tool name -> the number `guardDecide` takes. */
export const TOOL_INDEX = Object.fromEntries(TOOLS.map((name, index) => [name, index])) as Record<ToolName, number>;

/**
 * What a NEED_STATE decision asks of the shared store (axon_risk::guard::shared::StateRequest):
 * `place` reserves (a new order, a replace's growth with `dailySlot` false, a TwoPhase confirmation
 * with `token`), `propose` asks for a token bound to `fieldsHash`, `cancel` takes a cancel slot.
 */
export interface StateRequest {
  op: 'place' | 'propose' | 'cancel';
  symbol?: string;
  side?: 'buy' | 'sell';
  quantity: number;
  dailySlot: boolean;
  token?: string;
  fieldsHash?: string;
  reservationId: string;
  /** The order-rate throttle's limits: the store decides it over the account's window. */
  maxOrdersPerSecond?: number;
  maxOrdersPerMinute?: number;
  /** A new order under the duplicate window: the chain's key of its fields and the window. */
  duplicateKey?: string;
  duplicateWindowMs?: number;
  /** A new order under `max_open_orders`: the store counts the account's open orders of the symbol. */
  maxOpenOrders?: number;
}

/** The store's answer as the guard takes it; a refusal carries numbers only (the text is the chain's). */
export type StateVerdict =
  | { kind: 'granted'; reservationId: string; token?: string }
  | { kind: 'refused'; code: string; numbers: Record<string, number> }
  | { kind: 'unavailable'; why: string; timeoutMs?: number };

/** A decision number the guard leaves NaN when the call did not give it. */
function optional(value: number): number | undefined {
  return Number.isNaN(value) ? undefined : value;
}

type GuardOptions = Parameters<typeof native.guardCreate>[0];

const finalizer = new FinalizationRegistry<number>((handle) => {
  native.guardDestroy(handle);
});

export class NativeGuardHandle {
  private readonly handle: number;
  /** The last decision's numbers (see `Slot`), in memory the guard writes; overwritten by every `decide`. */
  readonly decision: Float64Array;

  constructor(options: GuardOptions, metrics: NativeMetrics) {
    this.handle = native.guardCreate(options, metrics);
    finalizer.register(this, this.handle, this);
    this.decision = native.guardDecisionBuffer(this.handle);
  }

  /** Decide a tool call: its numbers land in `decision` (read them with the methods below), its string is returned. */
  decide(tool: number, args: string, refreshed: boolean): string {
    return native.guardDecide(this.handle, tool, args, refreshed);
  }

  /**
   * Finish a call `decide` answered `NeedState`: the chain again with the store's verdict (see
   * `StateVerdict`) standing in for the shared checks; the decision lands as for `decide`.
   */
  decideWithVerdict(tool: number, args: string, verdict: StateVerdict): string {
    return native.guardDecideWithVerdict(this.handle, tool, args, JSON.stringify(verdict));
  }

  /** A NEED_STATE decision's request; `text` is the string `decide` returned (JSON the guard wrote). */
  stateRequest(text: string): StateRequest {
    return JSON.parse(text) as StateRequest;
  }

  /** The last decision's `DecisionKind`. */
  kind(): number {
    return this.decision[Slot.Kind] as number;
  }

  /** A SEND decision's ticket. */
  ticket(): number {
    return this.decision[Slot.Ticket] as number;
  }

  /** A SEND decision's action. */
  action(): DecisionAction {
    return ACTIONS[this.decision[Slot.Action] as number] as DecisionAction;
  }

  /** A SEND book_snapshot decision's levels per side. */
  levels(): number {
    return this.decision[Slot.Levels] as number;
  }

  /** A DONE decision's status. */
  doneStatus(): DoneStatus {
    return DONE_STATUSES[this.decision[Slot.Status] as number] as DoneStatus;
  }

  /** A REJECTED decision's refusal; `message` is the string `decide` returned. */
  refusal(message: string): ToolErrorJson {
    return rejectionOf(this.decision[Slot.Code] as number, this.decision[Slot.Source] as number, message);
  }

  /** A SEND place decision's order; `clientOrderId` is the string `decide` returned. */
  placeRequest(clientOrderId: string): OrderRequest {
    const out = this.decision;
    return {
      symbol: this.marketSymbol(out[Slot.Market] as number),
      side: SIDES[out[Slot.Side] as number] as OrderRequest['side'],
      quantity: out[Slot.Quantity] as number,
      orderType: ORDER_TYPES[out[Slot.OrderType] as number] as OrderRequest['orderType'],
      price: optional(out[Slot.Price] as number),
      stopLoss: optional(out[Slot.StopLoss] as number),
      takeProfit: optional(out[Slot.TakeProfit] as number),
      timeInForce: TIME_IN_FORCES[out[Slot.TimeInForce] as number] as OrderRequest['timeInForce'],
      clientOrderId,
    };
  }

  /** A SEND replace decision's request; `orderId` is the string `decide` returned. */
  replaceRequest(orderId: string): ReplaceRequest {
    return { orderId, price: optional(this.decision[Slot.Price] as number), quantity: optional(this.decision[Slot.Quantity] as number) };
  }

  /**
   * Settle a success; returns the OrderAck JSON for the agent. The ack's symbol and side are sent
   * only with `withOrderFields` (a cancel: the guard may not know the order); otherwise the ticket's
   * own order supplies them (one string less across the boundary).
   */
  recordAck(ticket: number, ack: OrderAck, elapsedSeconds: number, withOrderFields: boolean): string {
    const status = ACK_STATUS_INDEX.get(ack.status);
    if (status === undefined) throw new TypeError(`backend ack status must be one of ${[...ACK_STATUS_INDEX.keys()].join(', ')}, got ${ack.status}`);
    const side = withOrderFields && SIDES.includes(ack.side) ? SIDES.indexOf(ack.side) : SIDES.length;
    return native.guardRecordAck(this.handle, ticket, ack.orderId, status, withOrderFields ? ack.symbol : undefined, side, ack.quantity, ack.timestampMs, elapsedSeconds);
  }

  /** Settle a read-only call (query_portfolio, get_book_snapshot, get_pnl, finish_bar). */
  recordRead(ticket: number, elapsedSeconds: number): void {
    native.guardRecordRead(this.handle, ticket, elapsedSeconds);
  }

  /** Settle a failure; returns the agent-facing refusal. */
  recordFailure(ticket: number, kind: string, message: string, elapsedSeconds: number): ToolErrorJson {
    const e = native.guardRecordFailure(this.handle, ticket, kind, message, elapsedSeconds);
    return { error_type: e.errorType as ToolErrorJson['error_type'], source: e.source as ToolErrorJson['source'], code: e.code, message: e.message };
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

  tradingState(): TradingState {
    return native.guardTradingState(this.handle) as TradingState;
  }

  /** Change the trading state (the guard sets the `trading_state` gauge); returns the previous one. */
  setTradingState(state: TradingState): TradingState {
    return native.guardSetTradingState(this.handle, state) as TradingState;
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
