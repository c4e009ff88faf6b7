// Funds checks for the backtest venue: pure arithmetic over numbers the backend already holds, so the
// per-order path calls plain functions (no objects built per order). The backend decides what is free;
// these decide whether it is enough and word the refusal.
// Invariants: no state and no allocation; a refusal is BackendError 'insufficient_funds' naming what
// is needed and what is free.
import { BackendError } from '../errors';
import { EngineLevelInfo, LEVEL_STRIDE } from '../native/layout';
import type { Grid } from './grid';
import { show } from './show-number';

/** Cash a buy of `notional` needs: the notional plus the larger of the two fees. */
export function notionalWithFee(notional: number, makerBps: number, takerBps: number): number {
  return notional * (1 + Math.max(makerBps, takerBps) / 10_000);
}

/** Refuse a buy that needs more than the free cash (1e-9 slack for float sums). */
export function requireFreeCash(need: number, free: number, quoteAsset: string): void {
  if (need > free + 1e-9) {
    throw new BackendError('insufficient_funds', `backtest: need ${show(need)} ${quoteAsset} (notional + fee), have ${show(free)} free`);
  }
}

/** Refuse a sell (with short selling off) of more lots than the position holds free of open sells. */
export function requireFreeHolding(lots: number, freeLots: number, lotGrid: Grid, baseAsset: string): void {
  if (lots > freeLots) {
    throw new BackendError(
      'insufficient_funds',
      `backtest: selling ${show(lotGrid.value(lots))} ${baseAsset} needs that much held, have ${show(lotGrid.value(Math.max(0, freeLots)))} free (short selling is off)`,
    );
  }
}

/**
 * What buying `quantity` costs walking `levels` ask rows best first, as `MatchingEngine.depthInto`
 * writes them (`LEVEL_STRIDE` numbers each, in the generated layout's `EngineLevelInfo` order);
 * what the rows cannot fill is not charged.
 */
export function askWalkCost(asks: Float64Array, levels: number, quantity: number): number {
  let left = quantity;
  let cost = 0;
  for (let i = 0; i < levels && left > 0; i++) {
    const row = i * LEVEL_STRIDE;
    const take = Math.min(left, asks[row + EngineLevelInfo.Quantity] as number);
    cost += take * (asks[row + EngineLevelInfo.Price] as number);
    left -= take;
  }
  return cost;
}
