// Order-book throughput: this engine (Rust via napi, one call per op and typed-array batches)
// against the npm order books `nodejs-order-book` and `hft-limit-order-book`, on one seeded mixed
// stream run in the same process. Plus the RSS of 1,000,000 resting orders in this engine.
//   npm run bench:book      (tsc, then node --expose-gc dist/bench/order-book.js)
//   BOOK_OPS=200000 BOOK_ROUNDS=1 npm run bench:book     (shorter: fewer ops, one round)
// Writes bench/results/order-book.json. Prints PASS/MISS against the targets, never fails.
//
// Stream (seed 20240601): 70% limit add, 20% cancel of a live order, 10% market; one symbol,
// tick 0.01, lot 1; limit prices 100.00 +- 1..100 ticks (skewed toward the touch, ~3% crossing),
// sizes 1..10 lots, market sizes 1..49 lots (the book grows slowly: ~+0.05 orders per op). "Live" is decided while generating, by replaying
// the stream through this engine (untimed), so every cancel targets a resting order in every
// price-time engine; each book's final depth is compared afterwards.
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';

import * as axon from '../ts/engine';
import { MatchingEngine, type BatchInput } from '../ts/engine';
import { rng } from './inputs';

// Plain locals: the compiled `export *` re-exports are getters, too slow for hot loops.
const { createBatchInput, fillMakerOrderId, resultOrderId, resultStatusCode } = axon;
const FILL_STRIDE = axon.FILL_STRIDE;
const RESULT_STRIDE = axon.RESULT_STRIDE;
const STATUS_ERROR = axon.STATUS_CODES.indexOf('Error');

const OPS = Number(process.env.BOOK_OPS ?? 1_000_000);
const WARMUP_OPS = Math.min(100_000, Math.floor(OPS / 5));
const ROUNDS = Math.max(1, Number(process.env.BOOK_ROUNDS ?? 3));
const SEED = 20240601;
const MEMORY_ORDERS = 1_000_000;
const TARGETS = { perCallRatio: 10, batchRatio: 30, memoryMb: 100 };
const TICK = 0.01;
const MID_TICKS = 10_000;

/** The subset of both npm books' API used here (their published typings point at a missing file). */
interface PeerOrderBook {
  limit(o: { side: 'buy' | 'sell'; id: string; size: number; price: number }): { err: unknown };
  market(o: { side: 'buy' | 'sell'; size: number }): { err: unknown };
  cancel(id: string): unknown;
  depth(): [[number, number][], [number, number][]];
}
type PeerCtor = new () => PeerOrderBook;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const NodejsOrderBook = (require('nodejs-order-book') as { OrderBook: PeerCtor }).OrderBook;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const HftOrderBook = (require('hft-limit-order-book') as { OrderBook: PeerCtor }).OrderBook;

const gc: () => void = (globalThis as { gc?: () => void }).gc ?? (() => undefined);


const OP_LIMIT = axon.BATCH_OP.Limit;
const OP_CANCEL = axon.BATCH_OP.Cancel;
const OP_MARKET = axon.BATCH_OP.Market;

interface Stream {
  n: number;
  op: Uint8Array;
  side: Uint8Array;
  price: Float64Array;
  size: Float64Array;
  /** Cancel: index of the limit op that created the target order. */
  ref: Int32Array;
  /** Peer order ids, built before timing ('o' + op index; limits only). */
  ids: string[];
  counts: { limit: number; cancel: number; market: number };
}

/** Generate the stream, deciding cancel targets by replaying it through this engine (untimed). */
function generate(n: number): Stream {
  const r = rng(SEED);
  const s: Stream = {
    n,
    op: new Uint8Array(n),
    side: new Uint8Array(n),
    price: new Float64Array(n),
    size: new Float64Array(n),
    ref: new Int32Array(n).fill(-1),
    ids: new Array<string>(n),
    counts: { limit: 0, cancel: 0, market: 0 },
  };
  const eng = new MatchingEngine({ capacity: n + 16 });
  const sym = eng.addSymbol({ tickSize: TICK, lotSize: 1 });
  const idOf = new Float64Array(n);
  // Live set: order id -> op index, with O(1) random pick and removal.
  const live: number[] = [];
  const pos = new Map<number, number>();
  const remove = (id: number): void => {
    const p = pos.get(id);
    if (p === undefined) return;
    const last = live.pop()!;
    if (last !== id) {
      live[p] = last;
      pos.set(last, p);
    }
    pos.delete(id);
  };
  const opIndexOf = new Map<number, number>();
  const fills = new Float64Array(4096 * FILL_STRIDE);
  for (let i = 0; i < n; i++) {
    const u = r();
    const side = r() < 0.5 ? 0 : 1;
    let op = u < 0.7 ? OP_LIMIT : u < 0.9 ? OP_CANCEL : OP_MARKET;
    if (op === OP_CANCEL && live.length === 0) op = OP_LIMIT;
    s.op[i] = op;
    s.side[i] = side;
    if (op === OP_LIMIT) {
      const away = Math.floor(r() * r() * 100) - 2; // -2..97 ticks from the mid, mostly close
      const ticks = side === 0 ? MID_TICKS - away : MID_TICKS + away;
      s.price[i] = ticks / 100;
      s.size[i] = 1 + Math.floor(r() * 10);
      s.ids[i] = `o${i}`;
      s.counts.limit++;
    } else if (op === OP_MARKET) {
      s.size[i] = 1 + Math.floor(r() * 49);
      s.counts.market++;
    } else {
      const id = live[Math.floor(r() * live.length)]!;
      s.ref[i] = opIndexOf.get(id)!;
      s.counts.cancel++;
    }
    // Replay through the engine to keep the live set exact.
    if (op === OP_CANCEL) {
      const id = idOf[s.ref[i]!]!;
      eng.cancelFast(id);
      remove(id);
      opIndexOf.delete(id);
      continue;
    }
    const id = eng.submitFast(sym, side, op === OP_MARKET ? 1 : 0, s.price[i]!, s.size[i]!, 0, false);
    idOf[i] = id;
    const count = eng.fillCount;
    if (count > 0) {
      const rows = count <= 4096 ? eng.readFillsInto(fills) : 0;
      if (rows !== count) throw new Error('fill buffer too small while generating');
      for (let k = 0; k < rows; k++) {
        const maker = fillMakerOrderId(fills, k);
        if (eng.order(maker) === null) remove(maker);
      }
    }
    if (op === OP_LIMIT && eng.last.statusCode <= 1) {
      pos.set(id, live.length);
      live.push(id);
      opIndexOf.set(id, i);
    }
  }
  eng.destroy();
  return s;
}

interface Run {
  name: string;
  ops: number;
  /** Median of the rounds (the ratio uses it). */
  seconds: number;
  opsPerSec: number;
  roundSeconds: number[];
  failedCancels: number;
  restingBid: number;
  restingAsk: number;
  note: string;
  calls?: number;
}

function sumSide(levels: { quantity: number }[] | [number, number][]): number {
  let total = 0;
  for (const l of levels) total += Array.isArray(l) ? l[1] : l.quantity;
  return total;
}

function time(fn: () => void): number {
  gc();
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** This engine, one native call per op (`submitFast` / `cancelFast`). */
function runPerCall(s: Stream, n: number): { seconds: number; engine: MatchingEngine; failed: number } {
  const eng = new MatchingEngine({ capacity: n + 16 });
  const sym = eng.addSymbol({ tickSize: TICK, lotSize: 1 });
  const idOf = new Float64Array(n);
  let failed = 0;
  const { op, side, price, size, ref } = s;
  const seconds = time(() => {
    for (let i = 0; i < n; i++) {
      const o = op[i]!;
      if (o === OP_CANCEL) {
        try {
          eng.cancelFast(idOf[ref[i]!]!);
        } catch {
          failed++;
        }
      } else {
        idOf[i] = eng.submitFast(sym, side[i]! as 0 | 1, o as 0 | 1, price[i]!, size[i]!, 0, false);
      }
    }
  });
  return { seconds, engine: eng, failed };
}

/**
 * This engine in typed-array batches of up to `maxBatch` ops. A cancel's target is the engine id
 * returned by an earlier call, or, for an order added in the same call, the in-batch reference
 * `-(k + 1)` (op `k`), resolved natively. No id is known in advance.
 */
function runBatch(s: Stream, n: number, maxBatch: number): { seconds: number; engine: MatchingEngine; failed: number; calls: number } {
  const eng = new MatchingEngine({ capacity: n + 16 });
  eng.addSymbol({ tickSize: TICK, lotSize: 1 });
  // Columns in engine layout (built before timing, like the peers' string ids).
  const input: BatchInput = createBatchInput(n);
  input.op.set(s.op.subarray(0, n));
  input.side.set(s.side.subarray(0, n));
  input.price.set(s.price.subarray(0, n));
  input.quantity.set(s.size.subarray(0, n));
  const results = new Float64Array(maxBatch * RESULT_STRIDE);
  const output = { results, fills: new Float64Array(maxBatch * 4 * FILL_STRIDE) };
  const idOf = new Float64Array(n);
  const { op, ref } = s;
  const orderId = input.orderId;
  let failed = 0;
  let calls = 0;
  const seconds = time(() => {
    let start = 0;
    while (start < n) {
      const end = Math.min(n, start + maxBatch);
      for (let i = start; i < end; i++) {
        if (op[i] === OP_CANCEL) {
          const target = ref[i]!;
          orderId[i] = target >= start ? -(target + 1) : idOf[target]!;
        }
      }
      input.start = start;
      input.end = end;
      const r = eng.executeBatch(input, output);
      calls++;
      for (let j = 0; j < r.processed; j++) {
        idOf[start + j] = resultOrderId(results, j);
        if (resultStatusCode(results, j) === STATUS_ERROR) failed++;
      }
      start += r.processed;
    }
  });
  return { seconds, engine: eng, failed, calls };
}

/** An npm book, one call per op, with the string ids built before timing. */
function runPeer(Ctor: PeerCtor, s: Stream, n: number): { seconds: number; book: PeerOrderBook; failed: number } {
  const book = new Ctor();
  let failed = 0;
  const { op, side, price, size, ref, ids } = s;
  const seconds = time(() => {
    for (let i = 0; i < n; i++) {
      const o = op[i]!;
      const sd = side[i] === 0 ? 'buy' : 'sell';
      if (o === OP_LIMIT) {
        book.limit({ side: sd, id: ids[i]!, size: size[i]!, price: price[i]! });
      } else if (o === OP_MARKET) {
        book.market({ side: sd, size: size[i]! });
      } else if (book.cancel(ids[ref[i]!]!) === undefined) {
        failed++;
      }
    }
  });
  return { seconds, book, failed };
}

function engineRun(name: string, n: number, r: { seconds: number; engine: MatchingEngine; failed: number; calls?: number }, note: string): Run {
  const d = r.engine.depth(0, 1_000_000);
  const run: Run = {
    name,
    ops: n,
    seconds: r.seconds,
    opsPerSec: n / r.seconds,
    roundSeconds: [r.seconds],
    failedCancels: r.failed,
    restingBid: sumSide(d.bids),
    restingAsk: sumSide(d.asks),
    note,
  };
  if (r.calls !== undefined) run.calls = r.calls;
  r.engine.destroy();
  return run;
}

function peerRun(name: string, n: number, r: { seconds: number; book: PeerOrderBook; failed: number }, note: string): Run {
  const [asks, bids] = r.book.depth();
  return { name, ops: n, seconds: r.seconds, opsPerSec: n / r.seconds, roundSeconds: [r.seconds], failedCancels: r.failed, restingBid: sumSide(bids), restingAsk: sumSide(asks), note };
}

/** RSS growth for MEMORY_ORDERS resting orders (one batch of non-crossing limits, 2,000 levels). */
function memory(): { orders: number; rssDeltaMb: number; bytesPerOrder: number } {
  const n = MEMORY_ORDERS;
  const input = createBatchInput(n);
  for (let i = 0; i < n; i++) {
    const bid = i % 2 === 0;
    input.op[i] = OP_LIMIT;
    input.side[i] = bid ? 0 : 1;
    input.price[i] = (bid ? MID_TICKS - 1 - (i % 1000) : MID_TICKS + 1 + (i % 1000)) / 100;
    input.quantity[i] = 1;
  }
  const output = { results: new Float64Array(65_536 * RESULT_STRIDE), fills: new Float64Array(1024 * FILL_STRIDE) };
  gc();
  gc();
  const before = process.memoryUsage().rss;
  const eng = new MatchingEngine({ capacity: n });
  eng.addSymbol({ tickSize: TICK, lotSize: 1 });
  let start = 0;
  while (start < n) {
    input.start = start;
    start += eng.executeBatch(input, output).processed;
  }
  gc();
  gc();
  const after = process.memoryUsage().rss;
  const resting = eng.openOrderCount();
  eng.destroy();
  if (resting !== n) throw new Error(`expected ${n} resting orders, got ${resting}`);
  return { orders: n, rssDeltaMb: (after - before) / 2 ** 20, bytesPerOrder: (after - before) / n };
}

function fmt(x: number): string {
  return Math.round(x).toLocaleString('en-US');
}

function main(): void {
  const t0 = Date.now();
  const stream = generate(OPS);
  console.log(
    `stream: ${fmt(OPS)} ops (${fmt(stream.counts.limit)} limit, ${fmt(stream.counts.cancel)} cancel, ${fmt(stream.counts.market)} market), seed ${SEED}, generated in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
  // Warm-up on a prefix (fresh instances), then the timed runs on fresh instances.
  runPerCall(stream, WARMUP_OPS).engine.destroy();
  runBatch(stream, WARMUP_OPS, 65_536).engine.destroy();
  runPeer(NodejsOrderBook, stream, WARMUP_OPS);
  runPeer(HftOrderBook, stream, WARMUP_OPS);

  const variants: { run: () => Run }[] = [
    {
      run: () =>
        engineRun('axon engine, per call (submitFast/cancelFast)', OPS, runPerCall(stream, OPS), 'one napi call per op; details in the shared result buffer (engine.last)'),
    },
    {
      run: () =>
        engineRun(
          'axon engine, batch (executeBatch)',
          OPS,
          runBatch(stream, OPS, 65_536),
          'typed-array batches of 65,536 ops; cancels name ids from earlier calls or -(k+1) for an order added by op k of the same call',
        ),
    },
    { run: () => peerRun('nodejs-order-book', OPS, runPeer(NodejsOrderBook, stream, OPS), 'limit()/market()/cancel(id) with string ids built before timing') },
    { run: () => peerRun('hft-limit-order-book', OPS, runPeer(HftOrderBook, stream, OPS), 'same API and adaptation as nodejs-order-book') },
  ];
  // Rounds interleaved across the engines (a shared machine's load hits all of them alike).
  const rounds: Run[][] = variants.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    variants.forEach((v, i) => rounds[i]!.push(v.run()));
  }
  const runs: Run[] = rounds.map((rs) => {
    const secs = rs.map((r) => r.seconds).sort((a, b) => a - b);
    const median = secs[Math.floor(secs.length / 2)]!;
    const last = rs[rs.length - 1]!;
    return { ...last, seconds: median, opsPerSec: OPS / median, roundSeconds: rs.map((r) => r.seconds) };
  });

  const base = runs[2]!.opsPerSec;
  const ref = runs[0]!;
  console.log('');
  console.log(`median of ${ROUNDS} interleaved rounds, ${fmt(OPS)} ops each`);
  console.log('| engine | ops/s | vs nodejs-order-book | seconds (rounds) | failed cancels | resting bid/ask qty |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const r of runs) {
    const secs = r.roundSeconds.map((x) => x.toFixed(2)).join(', ');
    console.log(`| ${r.name} | ${fmt(r.opsPerSec)} | ${(r.opsPerSec / base).toFixed(1)}x | ${r.seconds.toFixed(2)} (${secs}) | ${r.failedCancels} | ${fmt(r.restingBid)} / ${fmt(r.restingAsk)} |`);
  }
  const sameBook = runs.map((r) => r.restingBid === ref.restingBid && r.restingAsk === ref.restingAsk);
  console.log('');
  runs.forEach((r, i) => {
    if (!sameBook[i]) console.log(`NOTE: ${r.name} ends with a different book than the per-call engine (${r.restingBid}/${r.restingAsk} vs ${ref.restingBid}/${ref.restingAsk})`);
    if (r.calls !== undefined) console.log(`${r.name}: ${fmt(r.calls)} native batch calls`);
  });

  const mem = memory();
  const perCallRatio = runs[0]!.opsPerSec / base;
  const batchRatio = runs[1]!.opsPerSec / base;
  const verdict = (ok: boolean): string => (ok ? 'PASS' : 'MISS');
  const checks = {
    perCall: { ratio: perCallRatio, target: TARGETS.perCallRatio, pass: perCallRatio >= TARGETS.perCallRatio },
    batch: { ratio: batchRatio, target: TARGETS.batchRatio, pass: batchRatio >= TARGETS.batchRatio },
    memory: { rssDeltaMb: mem.rssDeltaMb, target: TARGETS.memoryMb, pass: mem.rssDeltaMb <= TARGETS.memoryMb },
  };
  console.log(`per call vs nodejs-order-book: ${perCallRatio.toFixed(1)}x (target >= ${TARGETS.perCallRatio}x) ${verdict(checks.perCall.pass)}`);
  console.log(`batch vs nodejs-order-book:    ${batchRatio.toFixed(1)}x (target >= ${TARGETS.batchRatio}x) ${verdict(checks.batch.pass)}`);
  console.log(
    `memory: ${fmt(mem.orders)} resting orders = ${mem.rssDeltaMb.toFixed(1)} MB RSS (${mem.bytesPerOrder.toFixed(0)} B/order; target <= ${TARGETS.memoryMb} MB) ${verdict(checks.memory.pass)}`,
  );

  const result = {
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    stream: { ops: OPS, seed: SEED, ...stream.counts, tick: TICK, lot: 1, mid: MID_TICKS / 100, warmupOps: WARMUP_OPS, rounds: ROUNDS },
    runs: runs.map((r) => ({ ...r, ratioVsNodejsOrderBook: r.opsPerSec / base, sameFinalBookAsPerCall: r.restingBid === ref.restingBid && r.restingAsk === ref.restingAsk })),
    memory: mem,
    checks,
    notes: [
      'Same process, same stream, fresh instance per timed run after a warm-up on a prefix; median of interleaved rounds.',
      'Peers use string ids; they are created before timing. Peer cancel returns undefined for an unknown id (counted as failed).',
      'Batch ids are never known in advance: a cancel names an id returned by an earlier call, or references the adding op of the same call as -(k+1).',
    ],
  };
  const dir = join(__dirname, '..', '..', 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'order-book.json'), `${JSON.stringify(result, null, 2)}\n`);
  console.log(`\nwrote ${join(dir, 'order-book.json')}`);
}

main();
