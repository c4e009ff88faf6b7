// L1 price-time matching engine (Rust `axon-backtest`) for Node.
//
// Two speeds:
// - Convenient: `submit`, `cancel`, `replace`, `bestBid`, `depth`, ... take and return plain
//   objects (one allocation per result, strings for enums).
// - Fast: `submitFast` / `cancelFast` / `replaceFast` (and `submitUnits` / `replaceUnits`, in
//   ticks and lots, for callers that keep engine units) take numbers, return the order id (or the
//   cancelled quantity) and leave details in memory shared with the engine, read by name through
//   `last` (`last.orderId`, `last.statusCode`, ...; no object per call); fills via `fillCount`,
//   `readFillsInto` or `readFills`.
//   `executeBatch` runs columnar typed arrays in one native call (a million orders = a handful of
//   calls) and writes results and fills into caller-owned typed arrays.
//
// Errors: bad input (NaN, negative, zero, off the tick/lot grid, unknown symbol or order id, bad
// enum code) throws an Error whose message names the field; nothing changes in the book. Business
// outcomes (FOK not fillable, post-only would cross) are results with status 'Rejected'.
//
// Order ids are whole JS numbers below 2^52 (exact); an id is stale once its order is filled,
// cancelled or rejected, until its slot has been reused 2^20 - 1 times.
import { native } from './native/index';
import { EngineResults, FILL_STRIDE, fillAt, fillUnitsAt, INLINE_FILL_ROWS, levelAt, RESULT_STRIDE } from './native/engine';
import {
  BATCH_FLAG_POST_ONLY,
  BatchOp,
  ENGINE_ERRORS,
  ENGINE_ORDER_TYPES,
  ENGINE_REJECT_REASONS,
  ENGINE_SIDES,
  ENGINE_STATUSES,
  ENGINE_TIME_IN_FORCES,
  LEVEL_STRIDE,
} from './native/layout';

export { EngineResults, FILL_STRIDE, fillAt, RESULT_STRIDE };
export { fillMakerOrderId, resultOrderId, resultStatusCode } from './native/engine';

export interface SymbolSpec {
  tickSize: number;
  lotSize: number;
}
export interface EngineOrder {
  symbol: number;
  side: 'Buy' | 'Sell';
  orderType?: 'Limit' | 'Market';
  price?: number;
  quantity: number;
  timeInForce?: 'GTC' | 'IOC' | 'FOK';
  postOnly?: boolean;
}
export interface EngineFill {
  seq: number;
  makerOrderId: number;
  takerOrderId: number;
  symbol: number;
  price: number;
  quantity: number;
  takerSide: 'Buy' | 'Sell';
}
/** A fill in engine units: `priceTicks` ticks of the symbol's tick size, `lots` lots of its lot size. */
export interface EngineFillUnits {
  seq: number;
  makerOrderId: number;
  priceTicks: number;
  lots: number;
}
/** A book level in engine units. */
export interface EngineLevelUnits {
  priceTicks: number;
  lots: number;
  orders: number;
}
export type OrderStatusName = 'New' | 'PartiallyFilled' | 'Filled' | 'Cancelled' | 'Rejected';
export type RejectReasonName = 'FokNotFillable' | 'PostOnlyWouldCross';
export interface SubmitResult {
  orderId: number;
  status: OrderStatusName;
  reason?: RejectReasonName;
  filledQuantity: number;
  remainingQuantity: number;
  fills: EngineFill[];
}
export interface BookLevel {
  price: number;
  quantity: number;
  orders: number;
}
export interface EngineOpenOrder {
  orderId: number;
  symbol: number;
  side: 'Buy' | 'Sell';
  price: number;
  remainingQuantity: number;
  originalQuantity: number;
}

/**
 * Columnar batch input: column `i` of every array is operation `i`; all arrays have the same length.
 * Ops `[start, end)` run in index order (default: all).
 *
 * | column      | type         | meaning                                                          |
 * |-------------|--------------|------------------------------------------------------------------|
 * | op          | Uint8Array   | `BATCH_OP`: 0 limit, 1 market, 2 cancel, 3 replace               |
 * | symbol      | Uint32Array  | symbol id (limit, market)                                        |
 * | side        | Uint8Array   | 0 Buy, 1 Sell (limit, market)                                    |
 * | price       | Float64Array | limit price / replace's new price, real units; else ignored      |
 * | quantity    | Float64Array | quantity / replace's new open quantity, real units               |
 * | timeInForce | Uint8Array   | 0 GTC, 1 IOC, 2 FOK (limit, market)                              |
 * | flags       | Uint8Array   | bit 0 = post-only (limit GTC only); other bits must be 0         |
 * | orderId     | Float64Array | target (cancel, replace): an order id, or `-(k + 1)` for the     |
 * |             |              | order created by op `k` of the same call (`start <= k < i`)      |
 */
export interface BatchInput {
  op: Uint8Array;
  symbol: Uint32Array;
  side: Uint8Array;
  price: Float64Array;
  quantity: Float64Array;
  timeInForce: Uint8Array;
  flags: Uint8Array;
  orderId: Float64Array;
  /** First op to run (default 0). */
  start?: number;
  /** One past the last op to run (default `op.length`). */
  end?: number;
}

/**
 * Caller-owned batch outputs (reuse them across calls).
 * - `results`: `RESULT_STRIDE` numbers per executed op, row `i` for op `start + i`:
 *   orderId, status (`STATUS_CODES` index; 5 = error), reason (1 FokNotFillable, 2
 *   PostOnlyWouldCross; for status 5 the engine error code), filledQuantity, remainingQuantity,
 *   fillStart (row in `fills`), fillCount. A cancel row has status 3 with remainingQuantity = the
 *   cancelled quantity and filledQuantity = what had filled before.
 * - `fills`: `FILL_STRIDE` numbers per fill, in execution order: seq, makerOrderId, takerOrderId,
 *   symbol, price, quantity, takerSide (0 Buy, 1 Sell), priceTicks, quantityLots (the price and
 *   quantity in engine units).
 */
export interface BatchOutput {
  results: Float64Array;
  fills: Float64Array;
}

export interface BatchSummary {
  /** Ops executed: `[start, start + processed)`. Resume from `start + processed` after a stop. */
  processed: number;
  /** Fill rows written to the start of `output.fills`. */
  fills: number;
  /** Why it stopped early: `results` full, or `fills` might not hold the next op's fills. */
  stopped?: 'FillsFull' | 'ResultsFull';
}

export const BATCH_OP = BatchOp;
export { BATCH_FLAG_POST_ONLY };
/** Status codes of `last.statusCode` and batch results (5 = error, batch only). */
export const STATUS_CODES = ENGINE_STATUSES;
/** Engine error kinds by the code of a batch row with status 5 (index 0: none). */
export const BATCH_ERROR_CODES = ENGINE_ERRORS;

const DEFAULT_CAPACITY = 1 << 16;

/** Typed arrays for a batch of `n` ops (zeroed: every op a buy limit of symbol 0 until set). */
export function createBatchInput(n: number): BatchInput {
  return {
    op: new Uint8Array(n),
    symbol: new Uint32Array(n),
    side: new Uint8Array(n),
    price: new Float64Array(n),
    quantity: new Float64Array(n),
    timeInForce: new Uint8Array(n),
    flags: new Uint8Array(n),
    orderId: new Float64Array(n),
  };
}

/** Outputs with room for `ops` result rows and `fills` fill rows. */
export function createBatchOutput(ops: number, fills: number): BatchOutput {
  return { results: new Float64Array(ops * RESULT_STRIDE), fills: new Float64Array(fills * FILL_STRIDE) };
}

function code<T extends string>(value: T | undefined, names: readonly T[], fallback: T | undefined, field: string): number {
  const i = names.indexOf((value ?? fallback) as T);
  if (i < 0) throw new Error(`${field} must be one of ${names.join(', ')}, got ${JSON.stringify(value)}`);
  return i;
}

const BATCH_COLUMNS = [
  ['op', Uint8Array],
  ['symbol', Uint32Array],
  ['side', Uint8Array],
  ['price', Float64Array],
  ['quantity', Float64Array],
  ['timeInForce', Uint8Array],
  ['flags', Uint8Array],
  ['orderId', Float64Array],
] as const;

const registry = new FinalizationRegistry<number>((handle) => native.engineDestroy(handle));

export class MatchingEngine {
  private handle: number;
  /** What the last submit/replace (and batch, and query) left in memory shared with the engine, by name. */
  readonly last: EngineResults;

  constructor(options: { capacity?: number } = {}) {
    this.handle = native.engineCreate(options.capacity ?? DEFAULT_CAPACITY);
    this.last = new EngineResults(native.engineResultBuffer(this.handle));
    registry.register(this, this.handle, this);
  }

  /** Register a symbol; ids are 0, 1, 2, ... in registration order. */
  addSymbol(spec: SymbolSpec): number {
    return native.engineAddSymbol(this.handle, spec.tickSize, spec.lotSize);
  }

  /** Submit an order; the result object includes its fills. */
  submit(order: EngineOrder): SubmitResult {
    const side = code(order.side, ENGINE_SIDES, undefined, 'side');
    const orderType = code(order.orderType, ENGINE_ORDER_TYPES, 'Limit', 'orderType');
    const tif = code(order.timeInForce, ENGINE_TIME_IN_FORCES, 'GTC', 'timeInForce');
    const postOnly = order.postOnly ?? false;
    if (typeof postOnly !== 'boolean') throw new Error(`postOnly must be a boolean, got ${JSON.stringify(postOnly)}`);
    const price = orderType === 1 ? 0 : (order.price ?? Number.NaN);
    native.engineSubmit(this.handle, order.symbol, side, orderType, price, order.quantity, tif, postOnly);
    return this.resultObject();
  }

  /**
   * Submit with numeric codes (side 0 Buy / 1 Sell, orderType 0 Limit / 1 Market, tif 0 GTC /
   * 1 IOC / 2 FOK; price ignored for market orders). Returns the order id; details in
   * `last`, fills via `readFillsInto` / `readFills`.
   */
  submitFast(symbol: number, side: 0 | 1, orderType: 0 | 1, price: number, quantity: number, tif: 0 | 1 | 2, postOnly: boolean): number {
    return native.engineSubmit(this.handle, symbol, side, orderType, price, quantity, tif, postOnly);
  }

  /**
   * `submitFast` in engine units, for callers that keep prices in ticks and quantities in lots:
   * `priceTicks` and `lots` whole numbers > 0 (at most 2^53; the price of a market order is
   * ignored), else the same Error a price or quantity off the grid gets. The engine takes them as
   * they are (no float); `last.filledLots` / `last.remainingLots` and `readFillUnits` report units.
   */
  submitUnits(symbol: number, side: 0 | 1, orderType: 0 | 1, priceTicks: number, lots: number, tif: 0 | 1 | 2, postOnly: boolean): number {
    return native.engineSubmitUnits(this.handle, symbol, side, orderType, priceTicks, lots, tif, postOnly);
  }

  /**
   * Seed a liquidity ladder on `symbol`, in engine units (ticks of the tick size, lots of the lot
   * size): post-only GTC makers, ask level k at `bestAskTicks + k * stepTicks`, bid level k at
   * `bestBidTicks - k * stepTicks` (bids below one tick left out), `sizeLots` each, entered ask 0,
   * bid 0, ask 1, ... A level that would cross a resting order is skipped, so seeding never
   * trades. The engine keeps the ladder's ids until `removeLadder`. Returns how many levels rest.
   */
  seedLadder(symbol: number, bestBidTicks: number, bestAskTicks: number, stepTicks: number, sizeLots: number, levels: number): number {
    return native.engineSeedLadder(this.handle, symbol, bestBidTicks, bestAskTicks, stepTicks, sizeLots, levels);
  }

  /** Cancel what is left of the seeded ladder; returns how many orders were still resting. */
  removeLadder(): number {
    return native.engineRemoveLadder(this.handle);
  }

  /** Number of fills of the last submit/replace. */
  get fillCount(): number {
    return this.last.fillCount;
  }

  /**
   * Copy the fills of the last submit/replace (`FILL_STRIDE` numbers each) into `out` from row
   * `offset`; returns how many were copied (limited by the room in `out`).
   */
  readFillsInto(out: Float64Array, offset = 0): number {
    const count = this.last.fillCount;
    const rows = Math.min(count, Math.floor(out.length / FILL_STRIDE) - offset);
    if (rows <= 0) return 0;
    if (count <= INLINE_FILL_ROWS) {
      out.set(this.last.inlineFills().subarray(0, rows * FILL_STRIDE), offset * FILL_STRIDE);
      return rows;
    }
    return native.engineReadFills(this.handle, 0, out.subarray(offset * FILL_STRIDE, (offset + rows) * FILL_STRIDE));
  }

  /** The fills of the last submit/replace as objects. */
  readFills(): EngineFill[] {
    const count = this.last.fillCount;
    let src = this.last.inlineFills();
    if (count > INLINE_FILL_ROWS) {
      src = new Float64Array(count * FILL_STRIDE);
      native.engineReadFills(this.handle, 0, src);
    }
    const fills = new Array<EngineFill>(count);
    for (let i = 0; i < count; i++) fills[i] = fillAt(src, i);
    return fills;
  }

  /** The fills of the last submit/replace in engine units (ticks, lots). */
  readFillUnits(): EngineFillUnits[] {
    const count = this.last.fillCount;
    let src = this.last.inlineFills();
    if (count > INLINE_FILL_ROWS) {
      src = new Float64Array(count * FILL_STRIDE);
      native.engineReadFills(this.handle, 0, src);
    }
    const fills = new Array<EngineFillUnits>(count);
    for (let i = 0; i < count; i++) fills[i] = fillUnitsAt(src, i);
    return fills;
  }

  /** Cancel a live order; returns its state just before the cancel. Throws on an unknown/stale id. */
  cancel(orderId: number): EngineOpenOrder {
    native.engineCancel(this.handle, orderId);
    return this.last.openOrder();
  }

  /** Cancel a live order; returns the cancelled (remaining) quantity. Throws on an unknown/stale id. */
  cancelFast(orderId: number): number {
    return native.engineCancel(this.handle, orderId);
  }

  /**
   * Replace a live order's price and open quantity. Same price and no larger quantity keeps time
   * priority; anything else re-queues it (same id) and may trade if the new price crosses.
   */
  replace(orderId: number, price: number, quantity: number): SubmitResult {
    native.engineReplace(this.handle, orderId, price, quantity);
    return this.resultObject();
  }

  /** `replace` without the result object: returns the order id, details in `last`. */
  replaceFast(orderId: number, price: number, quantity: number): number {
    return native.engineReplace(this.handle, orderId, price, quantity);
  }

  /** `replaceFast` in engine units (`priceTicks`, `lots`: whole, > 0; same errors as off-grid values). */
  replaceUnits(orderId: number, priceTicks: number, lots: number): number {
    return native.engineReplaceUnits(this.handle, orderId, priceTicks, lots);
  }

  /** The best level of one side in engine units, or null when that side is empty. */
  bestUnits(symbol: number, side: 'Buy' | 'Sell'): EngineLevelUnits | null {
    return native.engineBest(this.handle, symbol, side === 'Buy' ? 0 : 1) ? this.last.levelUnits() : null;
  }

  bestBid(symbol: number): BookLevel | null {
    return native.engineBest(this.handle, symbol, 0) ? this.last.level() : null;
  }

  bestAsk(symbol: number): BookLevel | null {
    return native.engineBest(this.handle, symbol, 1) ? this.last.level() : null;
  }

  /**
   * One side's levels, best first, into `out` as [price, quantity, orders] rows (as many as fit);
   * returns how many were written. No objects: for callers that walk the book often.
   */
  depthInto(symbol: number, side: 'Buy' | 'Sell', out: Float64Array): number {
    return native.engineDepth(this.handle, symbol, side === 'Buy' ? 0 : 1, Math.floor(out.length / LEVEL_STRIDE), out);
  }

  /** Up to `levels` levels per side, best first. */
  depth(symbol: number, levels: number): { bids: BookLevel[]; asks: BookLevel[] } {
    return this.depthRows(symbol, levels, levelAt);
  }

  /** A live (resting) order, or null if the id is unknown, stale or not resting. */
  order(orderId: number): EngineOpenOrder | null {
    return native.engineOrder(this.handle, orderId) ? this.last.openOrder() : null;
  }

  openOrderCount(): number {
    return native.engineOpenOrderCount(this.handle);
  }

  /**
   * Run ops `[input.start, input.end)` in one native call; results and fills go to `output` (layout
   * on `BatchOutput`). An invalid op gets status 5 and does not stop the batch. Throws (nothing
   * executed) if the columns are not the documented typed arrays of one length, or an output
   * array overlaps another array.
   */
  executeBatch(input: BatchInput, output: BatchOutput): BatchSummary {
    for (const [field, type] of BATCH_COLUMNS) {
      if (!(input[field] instanceof type)) throw new TypeError(`batch input ${field} must be a ${type.name}`);
    }
    if (!(output.results instanceof Float64Array)) throw new TypeError('batch output results must be a Float64Array');
    if (!(output.fills instanceof Float64Array)) throw new TypeError('batch output fills must be a Float64Array');
    const start = input.start ?? 0;
    const end = input.end ?? input.op.length;
    for (const [field, v] of [
      ['start', start],
      ['end', end],
    ] as const) {
      if (!(Number.isInteger(v) && v >= 0 && v <= input.op.length)) {
        throw new RangeError(`batch ${field} must be a whole number in [0, ${input.op.length}], got ${v}`);
      }
    }
    const processed = native.engineExecuteBatch(
      this.handle,
      input.op,
      input.symbol,
      input.side,
      input.price,
      input.quantity,
      input.timeInForce,
      input.flags,
      input.orderId,
      start,
      end,
      output.results,
      output.fills,
    );
    const fills = this.last.batchFills;
    const stop = this.last.batchStop;
    return stop === 'Completed' ? { processed, fills } : { processed, fills, stopped: stop };
  }

  /** Free the engine's memory now (otherwise when this object is garbage collected). Later calls throw. */
  destroy(): void {
    native.engineDestroy(this.handle);
    registry.unregister(this);
  }

  private depthRows<L>(symbol: number, levels: number, row: (out: Float64Array, i: number) => L): { bids: L[]; asks: L[] } {
    if (!(Number.isInteger(levels) && levels >= 0 && levels <= 1_000_000)) {
      throw new Error(`levels must be a whole number in [0, 1000000], got ${levels}`);
    }
    const out = new Float64Array(levels * LEVEL_STRIDE);
    const read = (side: number): L[] => {
      const n = native.engineDepth(this.handle, symbol, side, levels, out);
      const result = new Array<L>(n);
      for (let i = 0; i < n; i++) result[i] = row(out, i);
      return result;
    };
    const bids = read(0);
    return { bids, asks: read(1) };
  }

  private resultObject(): SubmitResult {
    const last = this.last;
    const reason = ENGINE_REJECT_REASONS[last.reasonCode] ?? undefined;
    const result: SubmitResult = {
      orderId: last.orderId,
      status: ENGINE_STATUSES[last.statusCode] as OrderStatusName,
      filledQuantity: last.filledQuantity,
      remainingQuantity: last.remainingQuantity,
      fills: last.fillCount === 0 ? [] : this.readFills(),
    };
    if (reason !== undefined) result.reason = reason;
    return result;
  }
}
