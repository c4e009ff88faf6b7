// Benchmark of the shared risk state per SENT order through the tools: `place_order` on the
// in-process mock venue (Direct mode, market buys that fill), memory mode (the Rust chain's own
// state) vs redis mode (one Lua script call to reserve, one to settle, on loopback Redis), in the
// same process and run. Reports per process: p50/p99 of one order at a time (as an agent sends)
// and what Redis adds at those percentiles; sent orders/s with 32 calls in flight; with 1 and with
// 3 processes trading one account at once.
//
//   npm run build:ts && node dist/bench/state-orders.js          # starts its own redis-server
//   REDIS_URL=redis://127.0.0.1:6379 node dist/bench/state-orders.js
//   ORDERS=20000 (per process and phase)
import { type ChildProcess, fork } from 'node:child_process';

import { MockTradingBackend } from '../ts/backends/mock';
import { RedisStateStore } from '../ts/state/redis-store';
import { createTradingTools, type TradingTools } from '../ts/tools';
import { startRedis } from './redis-server';

const ORDERS = Number(process.env.ORDERS ?? 20_000);
const IN_FLIGHT = 32;
const ORDER = JSON.stringify({ symbol: 'BTC-USDT', side: 'Buy', quantity: 0.001, order_type: 'Market' });

interface Figures {
  p50Us: number;
  p99Us: number;
  ordersPerSecond: number;
}

interface ChildReport {
  memory: Figures;
  redis: Figures;
}

const silent = { log: () => undefined, isEnabled: () => false };

function tools(state?: RedisStateStore): TradingTools {
  return createTradingTools({
    backend: new MockTradingBackend({ cash: 1e15, referencePrices: { 'BTC-USDT': 20_000 } }),
    mode: 'Direct',
    risk: { allowedSymbols: ['BTC-USDT'], maxDailyOrders: 0xffff_ffff, maxPositionAbs: 1e12 },
    logger: silent,
    ...(state ? { state } : {}),
  });
}

async function sendOne(t: TradingTools): Promise<void> {
  const result = await t.placeOrder.call(ORDER);
  if (!result.ok) throw new Error(`refused: ${result.error.code}: ${result.error.message}`);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? Number.NaN;
}

async function measure(t: TradingTools): Promise<Figures> {
  for (let i = 0; i < 2_000; i++) await sendOne(t); // warm-up: JIT, connection, script cache, market data
  const samples: number[] = [];
  for (let i = 0; i < ORDERS; i++) {
    const start = process.hrtime.bigint();
    await sendOne(t);
    samples.push(Number(process.hrtime.bigint() - start) / 1_000);
  }
  samples.sort((a, b) => a - b);
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next++ < ORDERS) await sendOne(t);
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { p50Us: percentile(samples, 50), p99Us: percentile(samples, 99), ordersPerSecond: ORDERS / seconds };
}

async function child(): Promise<void> {
  const inMemory = tools();
  const memory = await measure(inMemory);
  inMemory.close();
  const store = await RedisStateStore.open({ url: process.env.BENCH_REDIS_URL ?? '', account: process.env.BENCH_ACCOUNT ?? 'bench', timeoutMs: 5_000 });
  const shared = tools(store);
  const redis = await measure(shared);
  shared.close();
  await store.close();
  const report: ChildReport = { memory, redis };
  process.send?.(report);
}

function runChildren(count: number, url: string, account: string): Promise<ChildReport[]> {
  const children: ChildProcess[] = Array.from({ length: count }, () => fork(__filename, ['child'], { env: { ...process.env, BENCH_REDIS_URL: url, BENCH_ACCOUNT: account } }));
  return Promise.all(
    children.map(
      (c) =>
        new Promise<ChildReport>((resolve, reject) => {
          c.once('message', (report: ChildReport) => {
            resolve(report);
          });
          c.once('exit', (code) => {
            if (code !== 0) reject(new Error(`bench child exited with ${String(code)}`));
          });
        }),
    ),
  );
}

const us = (value: number): string => `${value.toFixed(1).padStart(7)} µs`;

function row(label: string, f: Figures): string {
  return `${label.padEnd(22)} p50 ${us(f.p50Us)}  p99 ${us(f.p99Us)} | ${Math.round(f.ordersPerSecond).toString().padStart(6)} sent orders/s (${IN_FLIGHT} in flight)`;
}

async function main(): Promise<void> {
  if (process.argv[2] === 'child') return child();
  const own = process.env.REDIS_URL ? undefined : await startRedis();
  const url = process.env.REDIS_URL ?? own?.url ?? '';
  try {
    console.log(`place_order per sent order (mock venue, Direct, market buys), memory vs redis mode, ${ORDERS} orders per process and phase, node ${process.version}`);
    for (const processes of [1, 3]) {
      const reports = await runChildren(processes, url, `bench-orders-${processes}-${Date.now()}`);
      console.log(`\n${processes} process${processes > 1 ? 'es' : ''} on one account at once:`);
      reports.forEach((r, i) => {
        console.log(row(`  #${i + 1} memory`, r.memory));
        console.log(row(`  #${i + 1} redis (loopback)`, r.redis));
        console.log(`  #${i + 1} added by redis   p50 ${us(r.redis.p50Us - r.memory.p50Us)}  p99 ${us(r.redis.p99Us - r.memory.p99Us)}`);
      });
    }
  } finally {
    own?.stop();
  }
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
