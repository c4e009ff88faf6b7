// Seeded liquidity: a ladder of maker orders placed in the engine around the current price so that
// marketable agent orders trade through real price-time matching. Seeding is lazy (only when an
// agent order could trade against it, or the agent asks for the book) and lasts one replay step:
// the next step removes what is left before it fills resting agent orders against the new data.
// Invariants: at most one step's ladder is in the book (`seededStep`); ladder orders are post-only, so
// seeding never trades and the ladder never fills a resting agent order.
import type { MatchingEngine } from '../matching';
import type { Side } from '../types';
import type { Grid } from './grid';

export interface LiquidityOptions {
  /** Price levels per side (default 10). */
  levels?: number;
  /** Best ask minus best bid, in bps of the price (default 2). Each side is at least one tick from the price. */
  spreadBps?: number;
  /** Distance between consecutive levels, in bps of the price (default 1, at least one tick). */
  levelStepBps?: number;
  /** Base quantity per level (default 1), rounded down to the lot grid, at least one lot. */
  sizePerLevel?: number;
}

export interface ResolvedLiquidity {
  levels: number;
  spreadBps: number;
  levelStepBps: number;
  sizePerLevel: number;
}

export function resolveLiquidity(options: LiquidityOptions = {}): ResolvedLiquidity {
  const resolved = {
    levels: options.levels ?? 10,
    spreadBps: options.spreadBps ?? 2,
    levelStepBps: options.levelStepBps ?? 1,
    sizePerLevel: options.sizePerLevel ?? 1,
  };
  if (!(Number.isInteger(resolved.levels) && resolved.levels >= 1 && resolved.levels <= 1000)) {
    throw new RangeError(`liquidity.levels must be a whole number in [1, 1000], got ${resolved.levels}`);
  }
  for (const key of ['spreadBps', 'levelStepBps'] as const) {
    if (!(Number.isFinite(resolved[key]) && resolved[key] >= 0)) throw new RangeError(`liquidity.${key} must be finite and >= 0, got ${resolved[key]}`);
  }
  if (!(Number.isFinite(resolved.sizePerLevel) && resolved.sizePerLevel > 0)) {
    throw new RangeError(`liquidity.sizePerLevel must be finite and > 0, got ${resolved.sizePerLevel}`);
  }
  return resolved;
}

/** Where the ladder sits for a center price, in price units (ticks). */
export interface Ladder {
  /** Best bid in ticks (levels below step down by `stepTicks`). */
  bestBid: number;
  /** Best ask in ticks. */
  bestAsk: number;
  stepTicks: number;
  sizeLots: number;
}

/**
 * The ladder around `centerTicks`: best bid/ask `max(1, round(price x spreadBps / 2 / 10^4 / tick))`
 * ticks below/above the price, levels `max(1, round(price x levelStepBps / 10^4 / tick))` ticks apart.
 */
export function ladderFor(centerTicks: number, priceGrid: Grid, lotGrid: Grid, options: ResolvedLiquidity): Ladder {
  const price = priceGrid.value(centerTicks);
  const halfSpread = Math.max(1, Math.round((price * options.spreadBps) / 20_000 / priceGrid.step));
  const stepTicks = Math.max(1, Math.round((price * options.levelStepBps) / 10_000 / priceGrid.step));
  const sizeLots = Math.max(1, Math.floor(options.sizePerLevel / lotGrid.step + 1e-9));
  return { bestBid: centerTicks - halfSpread, bestAsk: centerTicks + halfSpread, stepTicks, sizeLots };
}

export class SeededLiquidity {
  /** Replay step the seeded orders belong to (-1: none in the book). */
  seededStep = -1;

  constructor(
    private readonly engine: MatchingEngine,
    private readonly symbolId: number,
    private readonly priceGrid: Grid,
    private readonly lotGrid: Grid,
    readonly options: ResolvedLiquidity,
  ) {}

  get active(): boolean {
    return this.seededStep >= 0;
  }

  /**
   * Place the ladder for `step` around `centerTicks` as post-only GTC orders, in one native call
   * (the engine keeps their ids). A level that would cross a resting agent order is skipped
   * (post-only rejection), so seeding itself never trades.
   */
  seed(step: number, centerTicks: number): void {
    const { bestBid, bestAsk, stepTicks, sizeLots } = ladderFor(centerTicks, this.priceGrid, this.lotGrid, this.options);
    this.engine.seedLadder(this.symbolId, bestBid, bestAsk, stepTicks, sizeLots, this.options.levels);
    this.seededStep = step;
  }

  /** Would a limit on `side` at `priceTicks` trade against the ladder seeded around `price`? */
  crosses(side: Side, priceTicks: number, price: number): boolean {
    const ladder = ladderFor(this.priceGrid.nearestUnits(price), this.priceGrid, this.lotGrid, this.options);
    return side === 'Buy' ? priceTicks >= ladder.bestAsk : priceTicks <= ladder.bestBid;
  }

  /** Have `step`'s ladder in the book: seeded around `price` unless this step's is there already. */
  ensureSeeded(step: number, price: number): void {
    if (this.seededStep === step) return;
    if (this.active) this.purge();
    this.seed(step, this.priceGrid.nearestUnits(price));
  }

  /** Remove every seeded order still resting (fully filled ones are gone already). */
  purge(): void {
    this.engine.removeLadder();
    this.seededStep = -1;
  }
}
