// Benchmark of the Redis risk-state store alone: what one sent order costs in the store, i.e. one
// reservePlace + one settle(accepted), on loopback Redis (the cost through the tools, against
// memory mode, is bench/state-orders.ts).
// Reports per process: p50/p99 of reservePlace alone (what an order waits for before it is sent)
// and of reservePlace + settle (the whole store cost of one order), sequential, one order at a
// time as an agent sends; and sent orders/s with 32 orders in flight; with 1 and with 3 processes
// on the same account at once.
//
//   npx tsc -p tsconfig.json && node dist/bench/state-store.js            # starts its own redis-server
//   REDIS_URL=redis://127.0.0.1:6379 node dist/bench/state-store.js       # or uses yours
//   ORDERS=20000 (per process and phase)
import { type ChildProcess, fork } from 'node:child_process';

import { RedisStateStore } from '../ts/state/redis-store';
import type { PlaceRequest, RiskStateStore } from '../ts/state/store';
import { startRedis } from './redis-server';

const ORDERS = Number(process.env.ORDERS ?? 20_000);
const IN_FLIGHT = 32;

interface Figures {
  /** reservePlace alone: added before the order is sent. */
  reserveP50Us: number;
  reserveP99Us: number;
  /** reservePlace + settle. */
  p50Us: number;
  p99Us: number;
  ordersPerSecond: number;
}

interface ChildReport {
  redis: Figures;
}

const request: PlaceRequest = {
  symbol: 'BTCUSDT',
  side: 'buy',
  quantity: 1,
  limits: { maxDailyOrders: 1e12, maxPositionAbs: 1e15 },
  breaker: { rejection: { threshold: 5, cooldownMs: 60_000 } },
};

let sequence = 0;
/** One sent order; returns when its reservation was granted (ns, hrtime). */
async function sendOne(store: RiskStateStore): Promise<bigint> {
  const verdict = await store.reservePlace(request);
  const granted = process.hrtime.bigint();
  if (!verdict.ok) throw new Error(`refused: ${verdict.reason}`);
  await store.settle(verdict.reservation, { kind: 'accepted', orderId: `o-${process.pid}-${++sequence}`, filledQuantity: 1, restingQuantity: 0 });
  return granted;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? Number.NaN;
}

async function measure(store: RiskStateStore): Promise<Figures> {
  for (let i = 0; i < 2_000; i++) await sendOne(store); // warm-up: JIT, connection, script cache
  const samples: number[] = [];
  const reserves: number[] = [];
  for (let i = 0; i < ORDERS; i++) {
    const start = process.hrtime.bigint();
    const granted = await sendOne(store);
    samples.push(Number(process.hrtime.bigint() - start) / 1_000);
    reserves.push(Number(granted - start) / 1_000);
  }
  samples.sort((a, b) => a - b);
  reserves.sort((a, b) => a - b);
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next++ < ORDERS) await sendOne(store);
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return {
    reserveP50Us: percentile(reserves, 50),
    reserveP99Us: percentile(reserves, 99),
    p50Us: percentile(samples, 50),
    p99Us: percentile(samples, 99),
    ordersPerSecond: ORDERS / seconds,
  };
}

async function child(): Promise<void> {
  const url = process.env.BENCH_REDIS_URL ?? '';
  const redis = await RedisStateStore.open({ url, account: process.env.BENCH_ACCOUNT ?? 'bench', timeoutMs: 5_000 });
  const report: ChildReport = { redis: await measure(redis) };
  await redis.close();
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
  return `${label.padEnd(24)} reserve p50 ${us(f.reserveP50Us)} p99 ${us(f.reserveP99Us)} | +settle p50 ${us(f.p50Us)} p99 ${us(f.p99Us)} | ${Math.round(f.ordersPerSecond).toString().padStart(6)} orders/s (${IN_FLIGHT} in flight)`;
}

async function main(): Promise<void> {
  if (process.argv[2] === 'child') return child();
  const own = process.env.REDIS_URL ? undefined : await startRedis();
  const url = process.env.REDIS_URL ?? own?.url ?? '';
  try {
    console.log(`risk state store: reservePlace + settle(accepted) per sent order, ${ORDERS} orders per process and phase, node ${process.version}`);
    for (const processes of [1, 3]) {
      const reports = await runChildren(processes, url, `bench-${processes}-${Date.now()}`);
      console.log(`\n${processes} process${processes > 1 ? 'es' : ''} on one account at once:`);
      reports.forEach((r, i) => {
        console.log(row(`  #${i + 1} redis (loopback)`, r.redis));
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
