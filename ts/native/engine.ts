// The matching engine's shared result buffer and its batch and fill rows, read by name: the only
// TypeScript that indexes them. Every slot, stride and code comes from the generated ./layout
// (crates/axon-node/src/raw/layout/engine.rs).
import type { BookLevel, EngineFill, EngineFillUnits, EngineLevelUnits, EngineOpenOrder } from '../matching';
import {
  BATCH_STOPS,
  BatchResultColumn,
  ENGINE_FILLS_AT,
  ENGINE_INFO_AT,
  ENGINE_SIDES,
  EngineLevelInfo,
  EngineOrderInfo,
  EngineSlot,
  FILL_STRIDE,
  FillColumn,
  LEVEL_STRIDE,
  RESULT_STRIDE,
} from './layout';

export { FILL_STRIDE, INLINE_FILL_ROWS, RESULT_STRIDE } from './layout';

/** Fill row `row` of a `FILL_STRIDE` array as an object. */
export function fillAt(fills: Float64Array, row: number): EngineFill {
  const o = row * FILL_STRIDE;
  return {
    seq: fills[o + FillColumn.Seq] as number,
    makerOrderId: fills[o + FillColumn.MakerOrderId] as number,
    takerOrderId: fills[o + FillColumn.TakerOrderId] as number,
    symbol: fills[o + FillColumn.Symbol] as number,
    price: fills[o + FillColumn.Price] as number,
    quantity: fills[o + FillColumn.Quantity] as number,
    takerSide: ENGINE_SIDES[fills[o + FillColumn.TakerSide] as number] as EngineFill['takerSide'],
  };
}

/** Fill row `row` of a `FILL_STRIDE` array in engine units (ticks, lots), as the engine has them. */
export function fillUnitsAt(fills: Float64Array, row: number): EngineFillUnits {
  const o = row * FILL_STRIDE;
  return {
    seq: fills[o + FillColumn.Seq] as number,
    makerOrderId: fills[o + FillColumn.MakerOrderId] as number,
    priceTicks: fills[o + FillColumn.PriceTicks] as number,
    lots: fills[o + FillColumn.QuantityLots] as number,
  };
}

/** Depth row `row` (`LEVEL_STRIDE` numbers from `at`, as `engineDepth` writes them) as an object. */
export function levelAt(levels: Float64Array, row: number, at = 0): BookLevel {
  const o = at + row * LEVEL_STRIDE;
  return {
    price: levels[o + EngineLevelInfo.Price] as number,
    quantity: levels[o + EngineLevelInfo.Quantity] as number,
    orders: levels[o + EngineLevelInfo.Orders] as number,
  };
}

// Offsets as module constants for the readers below, which callers run once per op or order:
// V8 folds a constant binding, where `BatchResultColumn.OrderId` stays two property loads.
const FILL_STRIDE_ROWS = FILL_STRIDE;
const FILL_MAKER_ORDER_ID = FillColumn.MakerOrderId;
const RESULT_STRIDE_ROWS = RESULT_STRIDE;
const { OrderId: RESULT_ORDER_ID, Status: RESULT_STATUS } = BatchResultColumn;
const {
  OrderId: SLOT_ORDER_ID,
  Status: SLOT_STATUS,
  Reason: SLOT_REASON,
  FilledQuantity: SLOT_FILLED,
  RemainingQuantity: SLOT_REMAINING,
  FillCount: SLOT_FILL_COUNT,
  FilledLots: SLOT_FILLED_LOTS,
  RemainingLots: SLOT_REMAINING_LOTS,
  BatchFills: SLOT_BATCH_FILLS,
  BatchStop: SLOT_BATCH_STOP,
} = EngineSlot;

/** The maker order id of fill row `row` of a `FILL_STRIDE` array. */
export function fillMakerOrderId(fills: Float64Array, row: number): number {
  return fills[row * FILL_STRIDE_ROWS + FILL_MAKER_ORDER_ID] as number;
}

/** The order id of batch result row `row` (the new order, or a cancel's/replace's target). */
export function resultOrderId(results: Float64Array, row: number): number {
  return results[row * RESULT_STRIDE_ROWS + RESULT_ORDER_ID] as number;
}

/** The status code of batch result row `row`: an index of `ENGINE_STATUSES`. */
export function resultStatusCode(results: Float64Array, row: number): number {
  return results[row * RESULT_STRIDE_ROWS + RESULT_STATUS] as number;
}

/**
 * The engine's result buffer: what the last submit/replace did (order id, status and reason
 * codes, filled and remaining quantity as floats and in lots, fill count, its first fills), the last batch's fill count
 * and stop code, and the order or level the last query named.
 */
export class EngineResults {
  constructor(private readonly buf: Float64Array) {}

  get orderId(): number {
    return this.buf[SLOT_ORDER_ID] as number;
  }

  /** An index of `STATUS_CODES`. */
  get statusCode(): number {
    return this.buf[SLOT_STATUS] as number;
  }

  /** 0 none, 1 FOK not fillable, 2 post-only would cross (an index of `ENGINE_REJECT_REASONS`). */
  get reasonCode(): number {
    return this.buf[SLOT_REASON] as number;
  }

  get filledQuantity(): number {
    return this.buf[SLOT_FILLED] as number;
  }

  get remainingQuantity(): number {
    return this.buf[SLOT_REMAINING] as number;
  }

  /** `filledQuantity` in lots. */
  get filledLots(): number {
    return this.buf[SLOT_FILLED_LOTS] as number;
  }

  /** `remainingQuantity` in lots. */
  get remainingLots(): number {
    return this.buf[SLOT_REMAINING_LOTS] as number;
  }

  get fillCount(): number {
    return this.buf[SLOT_FILL_COUNT] as number;
  }

  get batchFills(): number {
    return this.buf[SLOT_BATCH_FILLS] as number;
  }

  /** Why the last batch returned: an index of `BATCH_STOPS` (0 done, 1 results full, 2 fills full). */
  get batchStopCode(): number {
    return this.buf[SLOT_BATCH_STOP] as number;
  }

  /** Why the last batch returned, by name. */
  get batchStop(): (typeof BATCH_STOPS)[number] {
    return BATCH_STOPS[this.batchStopCode] ?? 'Completed';
  }

  /** The first `min(fillCount, INLINE_FILL_ROWS)` fills of the last submit/replace, `FILL_STRIDE` numbers each. */
  inlineFills(): Float64Array {
    return this.buf.subarray(ENGINE_FILLS_AT);
  }

  /** The order the last `engineCancel` / `engineOrder` named. */
  openOrder(): EngineOpenOrder {
    const b = this.buf;
    const at = ENGINE_INFO_AT;
    return {
      orderId: b[at + EngineOrderInfo.OrderId] as number,
      symbol: b[at + EngineOrderInfo.Symbol] as number,
      side: ENGINE_SIDES[b[at + EngineOrderInfo.Side] as number] as EngineOpenOrder['side'],
      price: b[at + EngineOrderInfo.Price] as number,
      remainingQuantity: b[at + EngineOrderInfo.RemainingQuantity] as number,
      originalQuantity: b[at + EngineOrderInfo.OriginalQuantity] as number,
    };
  }

  /** The level the last `engineBest` named. */
  level(): BookLevel {
    return levelAt(this.buf, 0, ENGINE_INFO_AT);
  }

  /** The level the last `engineBest` named, in engine units. */
  levelUnits(): EngineLevelUnits {
    const at = ENGINE_INFO_AT;
    return {
      priceTicks: this.buf[at + EngineLevelInfo.PriceTicks] as number,
      lots: this.buf[at + EngineLevelInfo.QuantityLots] as number,
      orders: this.buf[at + EngineLevelInfo.Orders] as number,
    };
  }
}
