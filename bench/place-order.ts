// place_order throughput and latency: native guard (napi) in DryRun and Direct-on-mock, against a
// pure-TypeScript rendering of the same checks. Sequential awaited calls on one core.
//   npm run bench          (tsc, then node dist/bench/place-order.js)
// Writes bench/results/place-order.json. Never exits non-zero for a missed target.
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';

import { createTradingTools, MockTradingBackend, silentLogger, type GateOptions, type RiskOptions, type TradingTools } from '../ts/index';
import { ALLOWED_SYMBOLS, generateInputs, MAX_ORDER_NOTIONAL, REFERENCE_PRICES } from './inputs';
import { runParity } from './parity';
import { createPureTools, type PureTools } from './pure-guard';

const INPUT_COUNT = 100_000;
const WARMUP_CALLS = 50_000;
const ROUNDS = 4; // throughput rounds, interleaved between the variants compared
const CALLS_PER_ROUND = 100_000;
const LATENCY_CALLS = 100_000;
const PARITY_SAMPLE = 3_000;
const TARGETS = { dryRun: 400_000, direct: 200_000 };

const RISK: RiskOptions = { allowedSymbols: ALLOWED_SYMBOLS, maxOrderNotional: MAX_ORDER_NOTIONAL, maxPositionAbs: 1e9, maxDailyOrders: 4_000_000_000 };
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

function nativeVariant(name: string, mode: 'DryRun' | 'Direct'): Variant {
  const backend = venue();
  const tools: TradingTools = createTradingTools({ backend, mode, risk: RISK, gate: GATE, logger: silentLogger });
  prime(backend);
  return {
    name,
    execute: tools.placeOrder.execute,
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

function pureVariant(name: string, mode: 'DryRun' | 'Direct'): Variant {
  const backend = venue();
  const tools: PureTools = createPureTools({
    mode,
    backend: 'mock',
    venue: backend,
    logger: silentLogger,
    allowedSymbols: RISK.allowedSymbols,
    maxOrderNotional: RISK.maxOrderNotional,
    maxPositionAbs: RISK.maxPositionAbs,
    maxDailyOrders: RISK.maxDailyOrders,
    gates: [{ type: 'RejectionCircuitBreaker', threshold: 20, cooldownMs: 60_000 }],
  });
  prime(backend);
  return {
    name,
    execute: tools.placeOrder.execute,
    cursor: 0,
    roundNs: [],
    roundCalls: [],
    rejected: 0,
    check: () => `breaker=${tools.guard.breakerState()}`,
  };
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

  // Parity first: the pure-TS rendering must decide exactly like the native guard.
  const parity = await runParity(INPUTS.slice(0, PARITY_SAMPLE));

  const dryNative = nativeVariant('native DryRun', 'DryRun');
  const dryPure = pureVariant('pure-TS DryRun', 'DryRun');
  await measure([dryNative, dryPure]);
  const directNative = nativeVariant('native Direct (mock)', 'Direct');
  const directPure = pureVariant('pure-TS Direct (mock)', 'Direct');
  await measure([directNative, directPure]);

  const rows = [
    { v: dryNative, target: TARGETS.dryRun },
    { v: dryPure, target: undefined },
    { v: directNative, target: TARGETS.direct },
    { v: directPure, target: undefined },
  ].map(({ v, target }) => {
    const rate = callsPerSec(v);
    const rounds = v.roundNs.map((ns, i) => Math.round((v.roundCalls[i] as number) / (ns / 1e9)));
    return {
      variant: v.name,
      callsPerSec: Math.round(rate),
      roundCallsPerSec: rounds,
      p50Us: Number(percentileUs(v.latencies, 0.5).toFixed(2)),
      p99Us: Number(percentileUs(v.latencies, 0.99).toFixed(2)),
      p999Us: Number(percentileUs(v.latencies, 0.999).toFixed(2)),
      calls: v.roundCalls.reduce((a, b) => a + b, 0),
      rejectedShare: Number((v.rejected / (WARMUP_CALLS + ROUNDS * CALLS_PER_ROUND)).toFixed(4)),
      target: target ?? null,
      verdict: target === undefined ? null : rate >= target ? 'PASS' : 'MISS',
      state: v.check(),
    };
  });
  const ratio = callsPerSec(dryNative) / callsPerSec(dryPure);
  const directRatio = callsPerSec(directNative) / callsPerSec(directPure);

  console.log('');
  console.log(`${'variant'.padEnd(24)}${'calls/s'.padStart(11)}${'p50 us'.padStart(9)}${'p99 us'.padStart(9)}   target`);
  for (const r of rows) {
    const target = r.target === null ? '(peer)' : `>= ${fmtInt(r.target)}  ${r.verdict}`;
    console.log(`${r.variant.padEnd(24)}${fmtInt(r.callsPerSec).padStart(11)}${r.p50Us.toFixed(2).padStart(9)}${r.p99Us.toFixed(2).padStart(9)}   ${target}`);
  }
  console.log(`ratio native/pure-TS DryRun: ${ratio.toFixed(2)}x   (Direct: ${directRatio.toFixed(2)}x)`);
  console.log(`rounds (calls/s): ${rows.map((r) => `${r.variant}: ${r.roundCallsPerSec.map(fmtInt).join(' / ')}`).join('; ')}`);
  console.log(`state after run: ${rows.map((r) => `${r.variant}: ${r.state}`).join('; ')}`);
  console.log(`parity: ${parity.codesAgree}/${parity.inputs} inputs agree (ack or rejection code); ${parity.identical}/${parity.inputs} byte-identical (ack JSON or message); metrics ${parity.metricsAgree ? 'identical' : 'DIFFER'}`);
  for (const m of parity.mismatches.slice(0, 10)) console.log(`  mismatch [${m.scenario}] ${m.args}\n    native: ${JSON.stringify(m.native)}\n    pure:   ${JSON.stringify(m.pure)}`);
  for (const m of parity.metricMismatches.slice(0, 10)) console.log(`  metrics: ${m}`);
  console.log(`(${((Date.now() - started) / 1000).toFixed(1)} s)`);

  const results = {
    benchmark: 'place_order.execute, sequential awaited calls, one core',
    date: new Date().toISOString(),
    node: process.version,
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? null,
    inputs: { count: INPUT_COUNT, seed: 42, valid: mix.valid, rejectNotional: mix.rejectNotional, rejectSymbol: mix.rejectSymbol },
    config: { risk: RISK, gate: GATE, referencePrices: REFERENCE_PRICES },
    method: {
      warmupCalls: WARMUP_CALLS,
      rounds: ROUNDS,
      callsPerRound: CALLS_PER_ROUND,
      latencyCalls: LATENCY_CALLS,
      note: 'calls/s over interleaved rounds; p50/p99 from a separate pass timing each call with process.hrtime.bigint()',
    },
    results: rows,
    ratioNativeOverPureDryRun: Number(ratio.toFixed(3)),
    ratioNativeOverPureDirect: Number(directRatio.toFixed(3)),
    parity: {
      inputs: parity.inputs,
      codesAgree: parity.codesAgree,
      identical: parity.identical,
      metricsAgree: parity.metricsAgree,
      mismatches: parity.mismatches.slice(0, 50),
      metricMismatches: parity.metricMismatches,
    },
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
