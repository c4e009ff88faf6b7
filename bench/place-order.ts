// place_order throughput and latency: native guard (napi) in DryRun (plain, and with every
// market-access control of issue 16 on) and Direct-on-mock, stated
// against the Rust core alone (criterion's `guard_decide_dry_run_from_json`, when `npm run
// bench:rust` has run) and the floor of a native call (an empty one, measured in this run).
// Sequential awaited calls on one core.
//   npm run bench          (tsc, then node dist/bench/place-order.js)
// Writes bench/results/place-order.json. Never exits non-zero for a missed target.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';

import { createTradingTools, MockTradingBackend, silentLogger, type GateOptions, type RiskOptions, type TradingTools } from '../ts/index';
import { native } from '../ts/native/index';
import { ALLOWED_SYMBOLS, generateInputs, MAX_ORDER_NOTIONAL, REFERENCE_PRICES } from './inputs';

const INPUT_COUNT = 100_000;
const WARMUP_CALLS = 50_000;
const ROUNDS = 4; // throughput rounds, interleaved between the variants compared
const CALLS_PER_ROUND = 100_000;
const LATENCY_CALLS = 100_000;
const FLOOR_CALLS = 5_000_000;
/** Criterion's estimate of the Rust guard deciding a DryRun place_order from its JSON. */
const CRITERION_ESTIMATES = join(__dirname, '..', '..', 'target', 'criterion', 'guard_decide_dry_run_from_json', 'new', 'estimates.json');
const TARGETS = { dryRun: 400_000, direct: 200_000 };

const RISK: RiskOptions = { allowedSymbols: ALLOWED_SYMBOLS, maxOrderNotional: MAX_ORDER_NOTIONAL, maxPositionAbs: 1e9, maxDailyOrders: 4_000_000_000 };
/**
 * The same limits with all seven controls of issue 16 on, each set so that the valid inputs pass it
 * (limit prices are within 50 bps of the reference, quantities 0.001-140, notionals >= 30; a DryRun
 * order takes no throttle, duplicate or open-order count, and the mock's daily PnL stays 0). The
 * reference prices are pushed once, so their allowed age spans the whole run: a refresh would
 * measure the mock's fetch, not the chain.
 */
const RISK_ALL_CONTROLS: RiskOptions = {
  ...RISK,
  priceCollarBps: 100,
  maxReferenceAgeMs: 3_600_000,
  maxOrderQuantity: 1_000,
  minOrderNotional: 10,
  maxOrdersPerSecond: 100,
  maxOrdersPerMinute: 3_000,
  duplicateWindowMs: 10_000,
  maxOpenOrders: 50,
  selfTradePrevention: 'reject',
  maxDailyLoss: 1_000_000,
};
// High enough that the ~10% risk rejections, spread through the mix, never open it.
const GATE: GateOptions = { type: 'RejectionCircuitBreaker', threshold: 20, cooldownMs: 60_000 };

type Execute = (args: string) => Promise<string>;

interface Variant {
  name: string;
  execute: Execute;
  /** Where the next call's input comes from (each variant walks the same sequence). */
  cursor: number;
  roundNs: number[];
  roundCalls: number[];
  rejected: number;
  latencies?: Float64Array;
  check(): string;
}

const mix = generateInputs(INPUT_COUNT);
const INPUTS = mix.inputs;

function venue(): MockTradingBackend {
  return new MockTradingBackend({ cash: 1e15, referencePrices: { ...REFERENCE_PRICES } });
}

/** Push reference prices to the guard (as a live venue feed would), so no call waits for a fetch. */
function prime(backend: MockTradingBackend): void {
  for (const [symbol, price] of Object.entries(REFERENCE_PRICES)) backend.setReferencePrice(symbol, price);
}

function nativeVariant(name: string, mode: 'DryRun' | 'Direct', risk: RiskOptions = RISK): Variant {
  const backend = venue();
  const tools: TradingTools = createTradingTools({ backend, mode, risk, gate: GATE, logger: silentLogger });
  prime(backend);
  return {
    name,
    execute: (args) => tools.placeOrder.execute(args),
    cursor: 0,
    roundNs: [],
    roundCalls: [],
    rejected: 0,
    check: () => {
      const s = tools.state();
      return `breaker=${s.breaker} openings=${s.gateOpenings} inflight=${s.inflight}`;
    },
  };
}

/** ns per call of the empty native call (the best of three passes: the floor, not an average). */
function napiFloorNs(): number {
  const emptyCall = native.emptyCall;
  let best = Number.POSITIVE_INFINITY;
  for (let pass = 0; pass < 3; pass++) {
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < FLOOR_CALLS; k++) emptyCall();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / FLOOR_CALLS);
  }
  return best;
}

/** Criterion's mean for the Rust guard alone, in ns, if `npm run bench:rust` has run here. */
function criterionNs(): number | null {
  if (!existsSync(CRITERION_ESTIMATES)) return null;
  const estimates = JSON.parse(readFileSync(CRITERION_ESTIMATES, 'utf8')) as { mean?: { point_estimate?: number } };
  return estimates.mean?.point_estimate ?? null;
}

/** `count` sequential awaited calls; returns elapsed ns. */
async function run(v: Variant, count: number): Promise<number> {
  const execute = v.execute;
  const n = INPUTS.length;
  let cursor = v.cursor;
  let rejected = 0;
  const t0 = process.hrtime.bigint();
  for (let k = 0; k < count; k++) {
    try {
      await execute(INPUTS[cursor] as string);
    } catch {
      rejected++;
    }
    if (++cursor === n) cursor = 0;
  }
  const ns = Number(process.hrtime.bigint() - t0);
  v.cursor = cursor;
  v.rejected += rejected;
  return ns;
}

/** Per-call latency, each call timed on its own. */
async function sampleLatency(v: Variant, count: number): Promise<void> {
  const execute = v.execute;
  const out = new Float64Array(count);
  const n = INPUTS.length;
  let cursor = v.cursor;
  for (let k = 0; k < count; k++) {
    const args = INPUTS[cursor] as string;
    const t0 = process.hrtime.bigint();
    try {
      await execute(args);
    } catch {
      // a rejection is a normal outcome
    }
    out[k] = Number(process.hrtime.bigint() - t0);
    if (++cursor === n) cursor = 0;
  }
  v.cursor = cursor;
  v.latencies = out.sort();
}

function percentileUs(sorted: Float64Array | undefined, p: number): number {
  if (sorted === undefined || sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return (sorted[index] as number) / 1000;
}

function callsPerSec(v: Variant): number {
  const ns = v.roundNs.reduce((a, b) => a + b, 0);
  const calls = v.roundCalls.reduce((a, b) => a + b, 0);
  return calls / (ns / 1e9);
}

/** Warm every variant, then interleave the measured rounds so background load hits all alike. */
async function measure(variants: Variant[]): Promise<void> {
  for (const v of variants) await run(v, WARMUP_CALLS);
  for (let r = 0; r < ROUNDS; r++) {
    for (const v of variants) {
      v.roundNs.push(await run(v, CALLS_PER_ROUND));
      v.roundCalls.push(CALLS_PER_ROUND);
    }
  }
  for (const v of variants) await sampleLatency(v, LATENCY_CALLS);
}

function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

async function main(): Promise<void> {
  const started = Date.now();
  console.log(
    `place_order bench: node ${process.version}, ${availableParallelism()} cpus (${cpus()[0]?.model ?? '?'}); ` +
      `${INPUT_COUNT.toLocaleString('en-US')} seeded inputs: ${mix.valid} valid, ${mix.rejectNotional} over notional, ${mix.rejectSymbol} symbol not allowed`,
  );

  const floorNs = napiFloorNs();
  const rustNs = criterionNs();
  const dryNative = nativeVariant('native DryRun', 'DryRun');
  const dryAllControls = nativeVariant('native DryRun, every control on', 'DryRun', RISK_ALL_CONTROLS);
  const directNative = nativeVariant('native Direct (mock)', 'Direct');
  await measure([dryNative, dryAllControls, directNative]);

  const rows = [
    { v: dryNative, target: TARGETS.dryRun },
    { v: dryAllControls, target: TARGETS.dryRun },
    { v: directNative, target: TARGETS.direct },
  ].map(({ v, target }) => {
    const rate = callsPerSec(v);
    const rounds = v.roundNs.map((ns, i) => Math.round((v.roundCalls[i] as number) / (ns / 1e9)));
    return {
      variant: v.name,
      callsPerSec: Math.round(rate),
      nsPerCall: Math.round(1e9 / rate),
      roundCallsPerSec: rounds,
      p50Us: Number(percentileUs(v.latencies, 0.5).toFixed(2)),
      p99Us: Number(percentileUs(v.latencies, 0.99).toFixed(2)),
      p999Us: Number(percentileUs(v.latencies, 0.999).toFixed(2)),
      calls: v.roundCalls.reduce((a, b) => a + b, 0),
      rejectedShare: Number((v.rejected / (WARMUP_CALLS + ROUNDS * CALLS_PER_ROUND)).toFixed(4)),
      target,
      verdict: rate >= target ? 'PASS' : 'MISS',
      state: v.check(),
    };
  });

  console.log('');
  console.log(`${'variant'.padEnd(34)}${'calls/s'.padStart(11)}${'ns/call'.padStart(9)}${'p50 us'.padStart(9)}${'p99 us'.padStart(9)}   target`);
  for (const r of rows) {
    console.log(`${r.variant.padEnd(34)}${fmtInt(r.callsPerSec).padStart(11)}${fmtInt(r.nsPerCall).padStart(9)}${r.p50Us.toFixed(2).padStart(9)}${r.p99Us.toFixed(2).padStart(9)}   >= ${fmtInt(r.target)}  ${r.verdict}`);
  }
  const [plainDry, controlsDry] = [rows[0], rows[1]];
  if (plainDry !== undefined && controlsDry !== undefined && plainDry.rejectedShare !== controlsDry.rejectedShare) {
    console.log(`WARNING: with every control on ${controlsDry.rejectedShare} of calls were refused against ${plainDry.rejectedShare} without: a control refuses valid inputs, so that row measures refusals`);
  }
  console.log(`floor: an empty native call costs ${floorNs.toFixed(1)} ns (best of 3 x ${fmtInt(FLOOR_CALLS)} calls, this run)`);
  console.log(
    rustNs === null
      ? 'Rust core alone: not measured here (run `npm run bench:rust`; criterion guard_decide_dry_run_from_json)'
      : `Rust core alone (criterion guard_decide_dry_run_from_json): ${rustNs.toFixed(0)} ns; native DryRun spends ${fmtInt((rows[0]?.nsPerCall ?? 0) - rustNs - floorNs)} ns per call beyond the core and the floor (promise, argument string, logging checks)`,
  );
  console.log(`rounds (calls/s): ${rows.map((r) => `${r.variant}: ${r.roundCallsPerSec.map(fmtInt).join(' / ')}`).join('; ')}`);
  console.log(`state after run: ${rows.map((r) => `${r.variant}: ${r.state}`).join('; ')}`);
  console.log(`(${((Date.now() - started) / 1000).toFixed(1)} s)`);

  const results = {
    benchmark: 'place_order.execute, sequential awaited calls, one core',
    date: new Date().toISOString(),
    node: process.version,
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? null,
    inputs: { count: INPUT_COUNT, seed: 42, valid: mix.valid, rejectNotional: mix.rejectNotional, rejectSymbol: mix.rejectSymbol },
    config: { risk: RISK, riskAllControls: RISK_ALL_CONTROLS, gate: GATE, referencePrices: REFERENCE_PRICES },
    method: {
      warmupCalls: WARMUP_CALLS,
      rounds: ROUNDS,
      callsPerRound: CALLS_PER_ROUND,
      latencyCalls: LATENCY_CALLS,
      note: 'calls/s over interleaved rounds; p50/p99 from a separate pass timing each call with process.hrtime.bigint()',
    },
    results: rows,
    napiFloorNs: Number(floorNs.toFixed(2)),
    criterionGuardDecideNs: rustNs === null ? null : Number(rustNs.toFixed(1)),
  };
  const dir = join(__dirname, '..', '..', 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'place-order.json'), `${JSON.stringify(results, null, 2)}\n`);
  console.log(`results: ${join(dir, 'place-order.json')}`);
  process.exit(0); // the guards' deadline timers must not hold the process open
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
