// The matching engine's shared result buffer and fill rows, read by name: the only TypeScript that
// indexes them (layout: the binding's constants, crates/axon-node/src/matching.rs).
import type { BookLevel, EngineFill, EngineOpenOrder } from '../matching';
import { native } from './index';

export const FILL_STRIDE = native.FILL_STRIDE;
export const RESULT_STRIDE = native.RESULT_STRIDE;
const OUT_INFO = native.OUT_INFO;
const OUT_FILLS = native.OUT_FILLS;
/** Fills of a submit/replace the result buffer holds itself; more are read with `engineReadFills`. */
export const INLINE_FILL_ROWS = native.OUT_FILL_ROWS;

const SIDES = ['Buy', 'Sell'] as const;

/** Fill row `row` of a `FILL_STRIDE` array as an object. */
export function fillAt(fills: Float64Array, row: number): EngineFill {
  const o = row * FILL_STRIDE;
  return {
    seq: fills[o] as number,
    makerOrderId: fills[o + 1] as number,
    takerOrderId: fills[o + 2] as number,
    symbol: fills[o + 3] as number,
    price: fills[o + 4] as number,
    quantity: fills[o + 5] as number,
    takerSide: SIDES[fills[o + 6] as number] as EngineFill['takerSide'],
  };
}

/**
 * The engine's result buffer: what the last submit/replace did (order id, status and reason
 * codes, filled and remaining quantity, fill count, its first fills), the last batch's fill count
 * and stop code, and the order or level the last query named.
 */
export class EngineResults {
  constructor(private readonly buf: Float64Array) {}

  get orderId(): number {
    return this.buf[0] as number;
  }

  /** An index of `STATUS_CODES`. */
  get statusCode(): number {
    return this.buf[1] as number;
  }

  /** 0 none, 1 FOK not fillable, 2 post-only would cross. */
  get reasonCode(): number {
    return this.buf[2] as number;
  }

  get filledQuantity(): number {
    return this.buf[3] as number;
  }

  get remainingQuantity(): number {
    return this.buf[4] as number;
  }

  get fillCount(): number {
    return this.buf[5] as number;
  }

  get batchFills(): number {
    return this.buf[6] as number;
  }

  /** 0 done, 1 results full, 2 fills full. */
  get batchStopCode(): number {
    return this.buf[7] as number;
  }

  /** The first `min(fillCount, INLINE_FILL_ROWS)` fills of the last submit/replace, `FILL_STRIDE` numbers each. */
  inlineFills(): Float64Array {
    return this.buf.subarray(OUT_FILLS);
  }

  /** The order the last `engineCancel` / `engineOrder` named. */
  openOrder(): EngineOpenOrder {
    const b = this.buf;
    return {
      orderId: b[OUT_INFO] as number,
      symbol: b[OUT_INFO + 1] as number,
      side: SIDES[b[OUT_INFO + 2] as number] as EngineOpenOrder['side'],
      price: b[OUT_INFO + 3] as number,
      remainingQuantity: b[OUT_INFO + 4] as number,
      originalQuantity: b[OUT_INFO + 5] as number,
    };
  }

  /** The level the last `engineBest` named. */
  level(): BookLevel {
    const b = this.buf;
    return { price: b[OUT_INFO] as number, quantity: b[OUT_INFO + 1] as number, orders: b[OUT_INFO + 2] as number };
  }
}
