// The embedded default data: deterministic, valid OHLCV, and with the statistical shape of real
// markets (fat tails, volatility clustering) rather than white noise.
import { describe, expect, it } from 'vitest';

import { generateBars, SeededRandom } from '../ts/market-data-generator';

function logReturns(close: Float64Array): number[] {
  const out: number[] = [];
  for (let i = 1; i < close.length; i += 1) out.push(Math.log((close[i] as number) / (close[i - 1] as number)));
  return out;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

describe('market data generator', () => {
  it('is deterministic per seed and differs across seeds', () => {
    const a = generateBars({ seed: 7, bars: 500 });
    const b = generateBars({ seed: 7, bars: 500 });
    const c = generateBars({ seed: 8, bars: 500 });
    expect(Buffer.from(a.close.buffer).equals(Buffer.from(b.close.buffer))).toBe(true);
    expect(Buffer.from(a.volume.buffer).equals(Buffer.from(b.volume.buffer))).toBe(true);
    expect(Buffer.from(a.close.buffer).equals(Buffer.from(c.close.buffer))).toBe(false);
  });

  it('the PRNG is uniform enough', () => {
    const random = new SeededRandom(1);
    const buckets = new Array<number>(10).fill(0);
    for (let i = 0; i < 100_000; i += 1) {
      const bucket = Math.floor(random.next() * 10);
      buckets[bucket] = (buckets[bucket] ?? 0) + 1;
    }
    for (const count of buckets) expect(Math.abs(count - 10_000)).toBeLessThan(400);
  });

  it('bars are valid OHLCV on the tick and lot grid, evenly spaced', () => {
    const bars = generateBars({ seed: 42, bars: 5_000, tickSize: 0.1, lotSize: 0.001, intervalMs: 300_000 });
    expect(bars.length).toBe(5_000);
    for (let i = 0; i < bars.length; i += 1) {
      const [o, h, l, c, v] = [bars.open[i], bars.high[i], bars.low[i], bars.close[i], bars.volume[i]] as number[];
      expect(l).toBeLessThanOrEqual(Math.min(o as number, c as number));
      expect(h).toBeGreaterThanOrEqual(Math.max(o as number, c as number));
      expect(l).toBeGreaterThan(0);
      expect(v).toBeGreaterThan(0);
      expect(Math.abs((c as number) * 10 - Math.round((c as number) * 10))).toBeLessThan(1e-6);
      if (i > 0) expect((bars.timestamp[i] as number) - (bars.timestamp[i - 1] as number)).toBe(300_000);
    }
    expect(bars.priceDecimals).toBe(1);
    expect(bars.quantityDecimals).toBe(3);
  });

  it('has fat tails and volatility clustering, like real 5-minute returns', () => {
    const returns = logReturns(generateBars({ seed: 42, bars: 20_000 }).close);
    const mu = mean(returns);
    const variance = mean(returns.map((r) => (r - mu) ** 2));
    const kurtosis = mean(returns.map((r) => (r - mu) ** 4)) / variance ** 2;
    expect(kurtosis).toBeGreaterThan(4); // a normal distribution has 3
    const abs = returns.map(Math.abs);
    const absMean = mean(abs);
    let num = 0;
    let den = 0;
    for (let i = 1; i < abs.length; i += 1) num += ((abs[i] as number) - absMean) * ((abs[i - 1] as number) - absMean);
    for (const x of abs) den += (x - absMean) ** 2;
    expect(num / den).toBeGreaterThan(0.1); // |r| autocorrelation: calm and wild stretches
    const lag1 = returns.slice(1).reduce((acc, r, i) => acc + (r - mu) * ((returns[i] as number) - mu), 0) / (variance * returns.length);
    expect(Math.abs(lag1)).toBeLessThan(0.05); // but no free lunch in the returns themselves
  });

  it('rejects bad options naming them', () => {
    expect(() => generateBars({ bars: 0 })).toThrow(/bars must be a positive integer/);
    expect(() => generateBars({ tickSize: 0 })).toThrow(/tickSize/);
  });
});
