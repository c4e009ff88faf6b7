// A symbol's price or quantity grid (tick or lot), as the matching engine has it: whether a value
// is on the grid and how many units it is are the engine's own check (axon-backtest
// `grid_units`, one native call), and units read back as the engine reports them (divided by
// the integer inverse of the step when there is one: 16727.3, not 16727.300000000003).
import { native } from '../native/index';

export class Grid {
  /** Increment (tick or lot size). */
  readonly step: number;
  /** The integer units are divided by to read back as the canonical float; 0: multiply by `step`. */
  private readonly divisor: number;

  constructor(
    step: number,
    readonly field: 'price' | 'quantity',
  ) {
    if (!(Number.isFinite(step) && step > 0)) throw new RangeError(`${field} step must be finite and > 0, got ${step}`);
    this.step = step;
    this.divisor = native.gridDivisor(step);
  }

  /** Grid with step 10^-decimals. */
  static decimal(decimals: number, field: 'price' | 'quantity'): Grid {
    return new Grid(10 ** -decimals, field);
  }

  /** Whole units for an on-grid value, NaN when off the grid (or not finite / not > 0). */
  units(value: number): number {
    return typeof value === 'number' ? native.gridUnits(this.step, value) : Number.NaN;
  }

  /**
   * Units of the nearest grid point, for market data that need not be on the grid (seeding around
   * a traded price); never for what the engine reports, which comes in units already.
   */
  nearestUnits(value: number): number {
    return Math.round(value / this.step);
  }

  /** The canonical float for `units`. */
  value(units: number): number {
    return this.divisor > 0 ? units / this.divisor : units * this.step;
  }
}
