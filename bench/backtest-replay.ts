// Backtest replay throughput over the real btc-usdt-5m.csv (10,999 bars):
//   (a) bare replay, no orders          target >= 1,000,000 bars/s
//   (b) one guarded place_order per bar  target >=   100,000 bars/s
//       (createTradingTools, Direct mode, silentLogger; alternating GTC limits 0.1% either side of
//        the close, so orders rest, fill when the range trades through them, and the book grows)
// Each variant runs several rounds on a fresh backend; best and median bars/s are reported.
// Writes bench/results/backtest-replay.json. Prints PASS/MISS; never exits non-zero for a miss.
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

import { BacktestReplay, BacktestTradingBackend, createTradingTools, loadBars, silentLogger, type BarSeries } from '../ts/index';
import { sharedDataFile } from './shared-data';

const DATA = sharedDataFile('btc-usdt-5m.csv');
const TARGET_BARE = 1_000_000;
const TARGET_GUARDED = 100_000;
const ROUNDS_BARE = 30;
const ROUNDS_GUARDED = 7;
const WARMUP_RUNS = 3;

interface Variant {
  name: string;
  /** null: informational, no target. */
  target: number | null;
  rounds: number[];
  fills: number;
  orders: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function bare(bars: BarSeries): Promise<{ rate: number; fills: number; orders: number }> {
  const backend = new BacktestTradingBackend({ symbol: 'BTC-USDT', data: bars });
  const replay = new BacktestReplay(backend);
  const started = performance.now();
  const result = await replay.run();
  const elapsed = performance.now() - started;
  backend.destroy();
  if (result.steps !== bars.length) throw new Error(`replayed ${result.steps} of ${bars.length} bars`);
  return { rate: (bars.length / elapsed) * 1000, fills: result.fills.length, orders: result.orders };
}

async function guarded(bars: BarSeries): Promise<{ rate: number; fills: number; orders: number }> {
  const backend = new BacktestTradingBackend({ symbol: 'BTC-USDT', data: bars, cash: 10_000_000 });
  const tools = createTradingTools({ backend, mode: 'Direct', clockStartMs: bars.timestamp[0], logger: silentLogger });
  // Arguments prepared up front: the bench measures the replay and the guarded call, not string building.
  const args: string[] = new Array<string>(bars.length);
  for (let i = 0; i < bars.length; i++) {
    const close = bars.close[i] as number;
    const buy = i % 2 === 0;
    const price = Math.round(close * (buy ? 0.999 : 1.001) * 10) / 10;
    args[i] = `{"symbol":"BTC-USDT","side":"${buy ? 'Buy' : 'Sell'}","quantity":0.001,"price":${price}}`;
  }
  const place = tools.placeOrder;
  const replay = new BacktestReplay(backend, {
    clock: tools,
    onStep: (step) => place.execute(args[step.index] as string).then(() => undefined),
  });
  const started = performance.now();
  const result = await replay.run();
  const elapsed = performance.now() - started;
  tools.close();
  backend.destroy();
  if (result.steps !== bars.length || result.orders !== bars.length) throw new Error(`replayed ${result.steps} bars, ${result.orders} orders`);
  return { rate: (bars.length / elapsed) * 1000, fills: result.fills.length, orders: result.orders };
}

/** The same orders straight into the backend (no guard), to show what the tools layer adds. */
async function backendOnly(bars: BarSeries): Promise<{ rate: number; fills: number; orders: number }> {
  const backend = new BacktestTradingBackend({ symbol: 'BTC-USDT', data: bars, cash: 10_000_000 });
  const replay = new BacktestReplay(backend, {
    onStep: (step) => {
      const close = step.price;
      const buy = step.index % 2 === 0;
      return backend
        .placeOrder({
          symbol: 'BTC-USDT',
          side: buy ? 'Buy' : 'Sell',
          quantity: 0.001,
          orderType: 'Limit',
          price: Math.round(close * (buy ? 0.999 : 1.001) * 10) / 10,
          timeInForce: 'GTC',
          clientOrderId: `c${step.index}`,
        })
        .then(() => undefined);
    },
  });
  const started = performance.now();
  const result = await replay.run();
  const elapsed = performance.now() - started;
  backend.destroy();
  return { rate: (bars.length / elapsed) * 1000, fills: result.fills.length, orders: result.orders };
}

async function measure(name: string, target: number | null, rounds: number, run: () => Promise<{ rate: number; fills: number; orders: number }>): Promise<Variant> {
  for (let w = 0; w < WARMUP_RUNS; w++) await run(); // V8 tiers the per-bar code up over the first runs
  const rates: number[] = [];
  let last = { rate: 0, fills: 0, orders: 0 };
  for (let r = 0; r < rounds; r++) {
    last = await run();
    rates.push(last.rate);
  }
  return { name, target, rounds: rates, fills: last.fills, orders: last.orders };
}

async function main(): Promise<void> {
  const bars = loadBars(DATA);
  const variants = [
    await measure('(a) bare replay, no orders', TARGET_BARE, ROUNDS_BARE, () => bare(bars)),
    await measure('(b) guarded place_order per bar', TARGET_GUARDED, ROUNDS_GUARDED, () => guarded(bars)),
    await measure('(info) same orders, backend only', null, ROUNDS_GUARDED, () => backendOnly(bars)),
  ];
  console.log(`backtest replay of ${bars.source}: ${fmt(bars.length)} bars`);
  console.log(`${'variant'.padEnd(34)}${'best bars/s'.padStart(14)}${'median'.padStart(14)}   target`);
  const rows = variants.map((v) => {
    const best = Math.max(...v.rounds);
    const med = median(v.rounds);
    const verdict = v.target === null ? null : med >= v.target ? 'PASS' : 'MISS';
    const target = v.target === null ? '(no target)' : `>= ${fmt(v.target)} (median)  ${verdict ?? ''}`;
    console.log(`${v.name.padEnd(34)}${fmt(best).padStart(14)}${fmt(med).padStart(14)}   ${target}`);
    return {
      variant: v.name,
      bestBarsPerSec: Math.round(best),
      medianBarsPerSec: Math.round(med),
      target: v.target,
      verdict,
      rounds: v.rounds.map(Math.round),
      ordersPerRound: v.orders,
      fillsPerRound: v.fills,
    };
  });
  const results = {
    benchmark: 'BacktestReplay.run over btc-usdt-5m.csv',
    date: new Date().toISOString(),
    node: process.version,
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? null,
    bars: bars.length,
    method: {
      note: 'bars/s = bars / wall time of replay.run() on a fresh backend per round, after one warm-up round; verdict on the median',
      guardedOrder: 'Direct mode, silentLogger, GTC limit 0.001 BTC alternating Buy at close x 0.999 / Sell at close x 1.001 (rounded to the 0.1 tick), awaited per bar',
    },
    results: rows,
  };
  const dir = join(__dirname, '..', '..', 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'backtest-replay.json'), `${JSON.stringify(results, null, 2)}\n`);
  console.log(`results: ${join(dir, 'backtest-replay.json')}`);
  process.exit(0); // the guards' deadline timers must not hold the process open
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
