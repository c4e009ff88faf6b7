// A symbol's price or quantity grid (tick or lot). Values cross the engine boundary as floats and
// must be on the grid; here they are checked the way the engine checks them, counted in integer
// units, and turned back into the canonical float (16727.3, not 16727.300000000003).

/** Same tolerance as the engine's `SymbolSpec` conversion. */
const GRID_TOLERANCE = 1e-9;
const EPSILON = Number.EPSILON;

export class Grid {
  /** Increment (tick or lot size). */
  readonly step: number;
  /** 10^decimals when the step is a power of ten (exact decimal conversion), else 0. */
  private readonly scale: number;

  constructor(step: number, readonly field: 'price' | 'quantity') {
    if (!(Number.isFinite(step) && step > 0)) throw new RangeError(`${field} step must be finite and > 0, got ${step}`);
    this.step = step;
    const decimals = -Math.log10(step);
    const rounded = Math.round(decimals);
    this.scale = Math.abs(decimals - rounded) < 1e-12 && rounded >= 0 && rounded <= 15 ? 10 ** rounded : 0;
  }

  /** Grid with step 10^-decimals. */
  static decimal(decimals: number, field: 'price' | 'quantity'): Grid {
    return new Grid(10 ** -decimals, field);
  }

  /** Whole units for an on-grid value, NaN when off the grid (or not finite / not > 0). */
  units(value: number): number {
    if (!(Number.isFinite(value) && value > 0)) return Number.NaN;
    const ratio = value / this.step;
    const n = Math.round(ratio);
    const tolerance = Math.max(GRID_TOLERANCE, 8 * EPSILON * ratio);
    return Math.abs(ratio - n) <= tolerance && n >= 1 ? n : Number.NaN;
  }

  /** Units of the nearest grid point (for values that need not be on the grid, e.g. seeding around a price). */
  nearestUnits(value: number): number {
    return Math.round(value / this.step);
  }

  /** The canonical float for `units`. */
  value(units: number): number {
    return this.scale > 0 ? units / this.scale : units * this.step;
  }

  /** Snap an engine-reported value (already on the grid up to float noise) to its canonical float. */
  canonical(value: number): number {
    return this.value(Math.round(value / this.step));
  }
}
