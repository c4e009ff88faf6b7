// Seeded liquidity: a ladder of maker orders placed in the engine around the current price so that
// marketable agent orders trade through real price-time matching. Seeding is lazy (only when an
// agent order could trade against it, or the agent asks for the book) and lasts one replay step:
// the next step removes what is left before it fills resting agent orders against the new data.
import { BATCH_FLAG_POST_ONLY, BATCH_OP, RESULT_STRIDE, type BatchInput, type BatchOutput, type MatchingEngine } from '../matching';
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

/** Engine `lastResult` status codes (order of `SubmitResult.status`). */
const STATUS_NEW = 0;
const STATUS_CANCELLED = 3;

/** Columns for up to `rows` batch ops, allocated once. */
function batchColumns(rows: number): BatchInput {
  return {
    op: new Uint8Array(rows),
    symbol: new Uint32Array(rows),
    side: new Uint8Array(rows),
    price: new Float64Array(rows),
    quantity: new Float64Array(rows),
    timeInForce: new Uint8Array(rows),
    flags: new Uint8Array(rows),
    orderId: new Float64Array(rows),
  };
}

export class SeededLiquidity {
  /** Engine ids of seeded orders still resting, with their remaining lots. */
  private readonly resting = new Map<number, number>();
  /** Replay step the seeded orders belong to (-1: none in the book). */
  seededStep = -1;
  /** The ladder goes in, and what is left of it comes out, in one native call each. */
  private readonly seedBatch: BatchInput;
  private readonly purgeBatch: BatchInput;
  private readonly output: BatchOutput;

  constructor(
    private readonly engine: MatchingEngine,
    private readonly symbolId: number,
    private readonly priceGrid: Grid,
    private readonly lotGrid: Grid,
    readonly options: ResolvedLiquidity,
  ) {
    const rows = 2 * options.levels;
    this.seedBatch = batchColumns(rows);
    this.seedBatch.symbol.fill(symbolId);
    this.seedBatch.flags.fill(BATCH_FLAG_POST_ONLY); // op 0 = limit, tif 0 = GTC already
    this.purgeBatch = batchColumns(rows);
    this.purgeBatch.op.fill(BATCH_OP.Cancel);
    // Post-only seeding and cancels never fill: the fills buffer only has to exist.
    this.output = { results: new Float64Array(rows * RESULT_STRIDE), fills: new Float64Array(0) };
  }

  get active(): boolean {
    return this.seededStep >= 0;
  }

  /**
   * Place the ladder for `step` around `centerTicks` as post-only GTC orders. A level that would
   * cross a resting agent order is skipped (post-only rejection), so seeding itself never trades.
   */
  seed(step: number, centerTicks: number): void {
    const { bestBid, bestAsk, stepTicks, sizeLots } = ladderFor(centerTicks, this.priceGrid, this.lotGrid, this.options);
    const size = this.lotGrid.value(sizeLots);
    const batch = this.seedBatch;
    let rows = 0;
    for (let level = 0; level < this.options.levels; level++) {
      batch.side[rows] = 1;
      batch.price[rows] = this.priceGrid.value(bestAsk + level * stepTicks);
      batch.quantity[rows] = size;
      rows += 1;
      const bid = bestBid - level * stepTicks;
      if (bid >= 1) {
        batch.side[rows] = 0;
        batch.price[rows] = this.priceGrid.value(bid);
        batch.quantity[rows] = size;
        rows += 1;
      }
    }
    batch.end = rows;
    const { processed } = this.engine.executeBatch(batch, this.output);
    const results = this.output.results;
    for (let i = 0; i < processed; i++) {
      // A level that would cross a resting agent order is refused (post-only); it never trades.
      if (results[i * RESULT_STRIDE + 1] === STATUS_NEW) this.resting.set(results[i * RESULT_STRIDE] as number, sizeLots);
    }
    this.seededStep = step;
  }

  /** Account a fill against a maker order; false when the maker is not a seeded order. */
  consumed(makerOrderId: number, lots: number): boolean {
    const left = this.resting.get(makerOrderId);
    if (left === undefined) return false;
    if (left <= lots) this.resting.delete(makerOrderId);
    else this.resting.set(makerOrderId, left - lots);
    return true;
  }

  /** Remove every seeded order still resting. */
  purge(): void {
    const batch = this.purgeBatch;
    let rows = 0;
    for (const id of this.resting.keys()) batch.orderId[rows++] = id;
    if (rows > 0) {
      batch.end = rows;
      const { processed } = this.engine.executeBatch(batch, this.output);
      const results = this.output.results;
      for (let i = 0; i < processed; i++) {
        if (results[i * RESULT_STRIDE + 1] !== STATUS_CANCELLED) throw new Error(`backtest: seeded order ${batch.orderId[i]} could not be removed (status ${results[i * RESULT_STRIDE + 1]})`);
      }
    }
    this.resting.clear();
    this.seededStep = -1;
  }
}
