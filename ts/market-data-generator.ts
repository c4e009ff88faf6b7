// Seeded, realistic OHLCV bars for the embedded default run (the project's own data; the real
// data sets stay in ../shared/data for tests). Same options and seed give identical bars.
//
// Model: log returns with GARCH(1,1) volatility clustering, a three-state drift regime (bull,
// bear, sideways) that switches as a Markov chain, rare Student-t-like jumps for fat tails, and
// intrabar paths of several sub-steps so high/low come from a path, not from noise around close.
// Volume rises with the bar's absolute move and the current volatility.
import type { BarSeries } from './backtest/series';

export interface GeneratorOptions {
  seed?: number;
  bars?: number;
  startPrice?: number;
  startMs?: number;
  intervalMs?: number;
  tickSize?: number;
  lotSize?: number;
  /** Long-run volatility per bar (standard deviation of log return). */
  barVolatility?: number;
}

/** xoshiro128** seeded through splitmix32: fast, small state, good statistical quality. */
export class SeededRandom {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spare: number | undefined;

  constructor(seed: number) {
    let x = seed >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
  }

  /** Uniform in [0, 1). */
  next(): number {
    const result = Math.imul(this.rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = this.rotl(this.s3, 11);
    return result / 4_294_967_296;
  }

  /** Standard normal (Box-Muller, the spare value kept for the next call). */
  normal(): number {
    if (this.spare !== undefined) {
      const value = this.spare;
      this.spare = undefined;
      return value;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const radius = Math.sqrt(-2 * Math.log(u));
    this.spare = radius * Math.sin(2 * Math.PI * v);
    return radius * Math.cos(2 * Math.PI * v);
  }

  private rotl(x: number, k: number): number {
    return ((x << k) | (x >>> (32 - k))) >>> 0;
  }
}

const REGIME_DRIFT = [0.00002, -0.00002, 0] as const; // per bar: bull, bear, sideways
const REGIME_STAY = 0.995; // expected regime length ~200 bars
const SUB_STEPS = 8;

function decimalsOf(step: number): number {
  return Math.max(0, Math.ceil(-Math.log10(step) - 1e-9));
}

export function generateBars(options: GeneratorOptions = {}): BarSeries {
  const n = options.bars ?? 5_000;
  const tick = options.tickSize ?? 0.1;
  const lot = options.lotSize ?? 0.001;
  const interval = options.intervalMs ?? 300_000;
  const start = options.startMs ?? Date.UTC(2024, 0, 1);
  const longRunVol = options.barVolatility ?? 0.0025;
  if (!(Number.isInteger(n) && n > 0)) throw new RangeError(`bars must be a positive integer, got ${n}`);
  if (!(tick > 0 && lot > 0 && interval > 0 && longRunVol > 0)) throw new RangeError('tickSize, lotSize, intervalMs and barVolatility must be > 0');
  const random = new SeededRandom(options.seed ?? 42);
  const round = (price: number) => Math.max(tick, Math.round(price / tick) * tick);
  const priceDecimals = decimalsOf(tick);
  const fix = (price: number) => Number(round(price).toFixed(priceDecimals));

  const timestamp = new Float64Array(n);
  const open = new Float64Array(n);
  const high = new Float64Array(n);
  const low = new Float64Array(n);
  const close = new Float64Array(n);
  const volume = new Float64Array(n);

  // GARCH(1,1): variance = omega + alpha * shock^2 + beta * variance; persistence alpha + beta = 0.97.
  const alpha = 0.07;
  const beta = 0.9;
  const omega = longRunVol * longRunVol * (1 - alpha - beta);
  let variance = longRunVol * longRunVol;
  let regime = 2;
  let price = fix(options.startPrice ?? 20_000);

  for (let i = 0; i < n; i += 1) {
    if (random.next() > REGIME_STAY) regime = Math.floor(random.next() * 3);
    const sigma = Math.sqrt(variance);
    let shock = sigma * random.normal();
    if (random.next() < 0.002) shock += sigma * 6 * (random.next() < 0.5 ? -1 : 1); // rare jump
    const drift = REGIME_DRIFT[regime] as number;

    const barOpen = price;
    const target = Math.log(barOpen) + drift + shock;
    // Intrabar path: a Brownian bridge from open to the bar's close, so high/low come from a path
    // while the close-to-close return stays exactly drift + shock.
    const steps = new Float64Array(SUB_STEPS + 1);
    for (let s = 1; s <= SUB_STEPS; s += 1) steps[s] = (steps[s - 1] as number) + (sigma / Math.sqrt(SUB_STEPS)) * random.normal();
    const endNoise = steps[SUB_STEPS] as number;
    let barHigh = barOpen;
    let barLow = barOpen;
    let path = barOpen;
    for (let s = 1; s <= SUB_STEPS; s += 1) {
      const bridge = (steps[s] as number) - (endNoise * s) / SUB_STEPS;
      path = Math.exp(Math.log(barOpen) + ((target - Math.log(barOpen)) * s) / SUB_STEPS + bridge);
      barHigh = Math.max(barHigh, path);
      barLow = Math.min(barLow, path);
    }
    const barClose = fix(path);
    timestamp[i] = start + i * interval;
    open[i] = barOpen;
    close[i] = barClose;
    high[i] = Math.max(fix(barHigh), barOpen, barClose);
    low[i] = Math.min(fix(barLow), barOpen, barClose);
    const move = Math.abs(Math.log(barClose / barOpen));
    const baseVolume = 40 * (1 + move / longRunVol) * (sigma / longRunVol) * Math.exp(0.4 * random.normal());
    volume[i] = Math.max(lot, Math.round(baseVolume / lot) * lot);

    const realized = Math.log(barClose / barOpen) - drift;
    variance = omega + alpha * realized * realized + beta * variance;
    price = barClose;
  }

  return {
    kind: 'bars',
    source: `generated(seed=${options.seed ?? 42})`,
    length: n,
    timestamp,
    open,
    high,
    low,
    close,
    volume,
    priceDecimals,
    quantityDecimals: decimalsOf(lot),
  };
}
