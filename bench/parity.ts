// Parity of the pure-TS rendering (pure-guard.ts) with the native guard: the same inputs through
// both, on manual clocks, compared call by call (ack JSON, or rejection code and message) and by
// the metrics they leave behind.
import { createTradingTools, MockTradingBackend, silentLogger, ToolError, type GateOptions, type RiskOptions, type TradingTools } from '../ts/index';
import { ALLOWED_SYMBOLS, MAX_ORDER_NOTIONAL, REFERENCE_PRICES } from './inputs';
import { createPureTools, type PureGateOptions, type PureTools } from './pure-guard';

type Outcome = { ok: true; ack: string } | { ok: false; code: string; message: string };

export interface ParityMismatch {
  scenario: string;
  args: string;
  native: Outcome;
  pure: Outcome;
}

export interface ParityReport {
  inputs: number;
  codesAgree: number;
  identical: number;
  metricsAgree: boolean;
  mismatches: ParityMismatch[];
  metricMismatches: string[];
}

/** One step of a scenario: move both clocks (optional), then call place_order. */
interface Step {
  clockMs?: number;
  args: string;
}

interface Scenario {
  name: string;
  mode: 'DryRun' | 'Direct';
  risk: RiskOptions;
  gate: GateOptions;
  /** Push reference prices to the guards before the first call. */
  prime: boolean;
  steps: Step[];
}

const T0 = Date.UTC(2025, 0, 15, 23, 59, 59, 0); // one second before a UTC midnight

async function outcome(execute: (args: string) => Promise<string>, args: string): Promise<Outcome> {
  try {
    return { ok: true, ack: await execute(args) };
  } catch (error) {
    if (!(error instanceof ToolError)) throw error;
    return { ok: false, code: error.code, message: error.message };
  }
}

function venue(): MockTradingBackend {
  return new MockTradingBackend({ cash: 1e15, referencePrices: { ...REFERENCE_PRICES }, now: () => T0 });
}

function prime(backend: MockTradingBackend): void {
  for (const [symbol, price] of Object.entries(REFERENCE_PRICES)) backend.setReferencePrice(symbol, price);
}

async function runNative(s: Scenario): Promise<{ outcomes: Outcome[]; tools: TradingTools }> {
  const backend = venue();
  const tools = createTradingTools({ backend, mode: s.mode, risk: s.risk, gate: s.gate, logger: silentLogger, clockStartMs: T0 });
  if (s.prime) prime(backend);
  const outcomes: Outcome[] = [];
  for (const step of s.steps) {
    if (step.clockMs !== undefined) tools.setClockMs(step.clockMs);
    outcomes.push(await outcome(tools.placeOrder.execute, step.args));
  }
  return { outcomes, tools };
}

async function runPure(s: Scenario, idPrefix: string): Promise<{ outcomes: Outcome[]; tools: PureTools }> {
  const backend = venue();
  const tools = createPureTools({
    mode: s.mode,
    backend: 'mock',
    venue: backend,
    logger: silentLogger,
    allowedSymbols: s.risk.allowedSymbols,
    maxOrderNotional: s.risk.maxOrderNotional,
    maxPositionAbs: s.risk.maxPositionAbs,
    maxDailyOrders: s.risk.maxDailyOrders,
    gates: [s.gate as PureGateOptions],
    manualClockMs: T0,
    idPrefix,
  });
  if (s.prime) prime(backend);
  const outcomes: Outcome[] = [];
  for (const step of s.steps) {
    if (step.clockMs !== undefined) tools.setClockMs(step.clockMs);
    outcomes.push(await outcome(tools.placeOrder.execute, step.args));
  }
  return { outcomes, tools };
}

/** The native guard's random id prefix, read off an ack ("dryrun-<prefix>-1" or a client order id). */
function prefixOf(outcomes: Outcome[]): string {
  for (const o of outcomes) {
    if (!o.ok) continue;
    const m = /"order_id":"dryrun-([0-9a-f]{8})-/.exec(o.ack);
    if (m !== null) return m[1] as string;
  }
  return '00000000';
}

// Malformed, hostile and boundary arguments (the serde_json diagnostics, every field rule).
const VALID = '"symbol":"BTC-USDT","side":"Buy","quantity":1';
export const EDGE_CASES: string[] = [
  `{${VALID},"price":50100}`,
  `{${VALID},"order_type":"Market","time_in_force":"IOC"}`,
  `{${VALID},"price":50100,"stop_loss":49000,"take_profit":52000,"time_in_force":"FOK","client_order_id":"my-id_1"}`,
  `{"symbol":"ETH-USDT","side":"Sell","quantity":3,"price":2990,"stop_loss":3100,"take_profit":2800}`,
  `{${VALID},"price":1,"stop_loss":[1e999]}`,
  `["BTC-USDT","Buy",1,"Market"]`,
  `["BTC-USDT","Buy",1]`,
  `["BTC-USDT","Buy"]`,
  `["BTC-USDT","Buy",1,"Market",null,null,null,"GTC",null,null,5]`,
  `{"symbol":"BTC-USDT","side":{"Buy":null},"quantity":1,"price":50000}`,
  `{"symbol":"BTC-USDT","side":{"Buy":null,"x":1},"quantity":1,"price":50000}`,
  `{"symbol":"BTC-USDT","side":{"Buy":1},"quantity":1,"price":50000}`,
  `{"symbol":"BTC-USDT","side":{},"quantity":1,"price":50000}`,
  `{"symbol":"BTC-USDT","side":["Buy"],"quantity":1,"price":50000}`,
  `{${VALID},"price":1,"order_type":null}`,
  `{${VALID},"price":1,"time_in_force":null}`,
  `{"symbol":"BTC-USDT","side":null,"quantity":1,"price":1}`,
  `{"symbol":"BTC-USDT","side":"Buy","quantity":"x","quantity":1,"price":1}`,
  `{${VALID},"quantity":2,"price":1}`,
  `{"symbol":5,"symbol":"BTC-USDT","side":"Buy","quantity":1,"price":1}`,
  `{"symbol":"BTC-USDT","side":"buy","side":"Buy","quantity":1,"price":1}`,
  `{"symbol":"BTC-USDT","side":"Buy","quantity":1,"price":true,"price":1}`,
  `{"symbol":"BTC-USDT","side":"Buy","quantity":1,"price":1.5,"price":2,"order_type":{"Market":null},"order_type":"Limit"}`,
  `{${VALID},"price":1,"zeta":1,"alpha":2}`,
  `{${VALID},"price":1,"${'k'.repeat(70)}":1}`,
  `{${VALID},"price":1,"ключ":1,"Zeta":2}`,
  `{${VALID},"price":1,"__proto__":1}`,
  `{"symbol":"BTC-USDT","side":"Buy","quantity":1e999,"price":1}`,
  `{"symbol":"BTC-USDT","side":Buy,"quantity":1,"price":1}`,
  `{"symbol":"BTC-USDT",\n  "side": Buy,\n "quantity":1}`,
  `{"symbol":"BTC-USDT","side":"Buy","quantity":1,"price":1`,
  `{"symbol":"BTC-USDT","side":"Buy","quantity":1,"price":1}x`,
  `{"symbol":"BTC-USDT","side":"Buy","quantity":1,"price":1,}`,
  `{"symbol":"BTC-USDT" "side":"Buy"}`,
  `{symbol:1}`,
  `{"symbol":"BTC-USDT","side":"Buy","quantity":01,"price":1}`,
  `{"symbol":"BTC-USDT","side":"Buy","quantity":-0,"price":1}`,
  `{"symbol":"BTC-USDT","side":"Buy","quantity":1.,"price":1}`,
  `{"symbol":"BTC-USDT","side":"Buy","quantity":1.5e,"price":1}`,
  `{"symbol":"BTC-USDT","side":"Buy","quantity":-,"price":1}`,
  `{"symbol":"BTC-USDT","side":"Buy","quantity":tru,"price":1}`,
  `{"symbol":"BTC-USDT","side":"Buy","quantity":nul`,
  `{"a":[1,2,1e999]}`,
  `{"a":${'['.repeat(200)}${']'.repeat(200)}}`,
  `{${VALID},"price":1,"client_order_id":"a\\u0000b"}`,
  `{${VALID},"price":1,"client_order_id":""}`,
  `{${VALID},"price":1,"client_order_id":"${'x'.repeat(65)}"}`,
  `{${VALID},"price":1,"client_order_id":"has space"}`,
  `{${VALID},"price":1,"client_order_id":"é"}`,
  `{${VALID},"price":1,"client_order_id":"\\ud800"}`,
  `{${VALID},"price":1,"client_order_id":"\\udc00"}`,
  `{${VALID},"price":1,"client_order_id":"\\ud800\\u0041"}`,
  `{${VALID},"price":1,"client_order_id":"\\ud83d\\ude00"}`,
  `{${VALID},"price":1,"client_order_id":"\\x"}`,
  `{${VALID},"price":1,"client_order_id":"\\u12"}`,
  `{${VALID},"price":1,"client_order_id":"\\u12G4"}`,
  `{${VALID},"price":1,"client_order_id":"a\tb"}`,
  `{${VALID},"price":1,"confirm_token":"abc"}`,
  `{"symbol":"btc","side":"Buy","quantity":1,"price":1}`,
  `{"symbol":"${'A'.repeat(45)}","side":"Buy","quantity":1,"price":1}`,
  `{"symbol":"BTC-\uD800","side":"Buy","quantity":1,"price":1}`,
  `{"symbol":"DOGE-USDT","side":"Buy","quantity":1,"price":1}`,
  `{"symbol":"BTC-USDT","side":"Buy","quantity":1,"price":100,"stop_loss":120}`,
  `{"symbol":"BTC-USDT","side":"Buy","quantity":1,"price":100,"take_profit":80}`,
  `{"symbol":"BTC-USDT","side":"Sell","quantity":1,"price":100,"stop_loss":80}`,
  `{"symbol":"BTC-USDT","side":"Sell","quantity":1,"price":100,"take_profit":120}`,
  `{"symbol":"BTC-USDT","side":"Buy","quantity":1,"price":0.1,"stop_loss":0.30000000000000004}`,
  `{${VALID},"order_type":"Market","price":1}`,
  `{${VALID},"order_type":"Market","stop_loss":-1}`,
  `{${VALID},"order_type":"market"}`,
  `{${VALID},"order_type":"${'M'.repeat(50)}"}`,
  `{${VALID},"order_type":5.5}`,
  `{${VALID},"order_type":1e300}`,
  `{${VALID},"order_type":-7}`,
  `{${VALID},"order_type":{"b":1,"a":[true,null]}}`,
  `{"symbol":"BTC-USDT","side":"Buy","quantity":1e-7,"order_type":"Market"}`,
  `{"symbol":"BTC-USDT","side":"Buy","quantity":1e21,"price":1}`,
  `{"symbol":"BTC-USDT","side":"Buy","quantity":1e-7,"price":1e-7}`,
  `{"symbol":"BTC-USDT","side":"Buy","quantity":123456789012345678901234567890,"price":1}`,
  `{"symbol":"BTC-USDT","side":"Buy","quantity":0.30000000000000004,"price":50000}`,
  `{"symbol":"BTC-USDT","side":"Buy","quantity":1.00000000000000000000001,"price":50000}`,
  `{"symbol":"BTC-USDT","side":"Buy","quantity":5e-324,"price":50000}`,
  `{"symbol":"BTC-USDT","side":"Buy","quantity":1E0,"price":5e4}`,
  `{"symbol":"BTC-USDT","side":"Buy","quantity":-1,"price":1}`,
  `{"symbol":"BTC-USDT","side":"Buy","quantity":0.00048828125,"price":50000}`,
  `{${VALID},"price":1,"time_in_force":"gtc"}`,
  `{${VALID},"price":1,"time_in_force":5}`,
  `{"symbol":"BTC-USDT","side":"Buy","quantity":true,"price":1}`,
  `{"symbol":5,"side":"Buy","quantity":true,"price":1}`,
  `{"side":"Buy","quantity":1,"price":1}`,
  `{"symbol":"BTC-USDT","side":"Buy"}`,
  `"hello"`,
  `null`,
  `1`,
  `[]`,
  `{}`,
  ``,
  `   `,
  `\uFEFF{}`,
  `{${VALID},"price":50000}  \n`,
  `{"symbol":"BTC-\\u0055SDT","side":"Buy","quantity":1,"price":50000}`,
  `{${VALID},"price":1,"pr\\u0069ce":2}`,
  `{"symbol":"BTC-USDT","side":"Buy","quantity":1,"price":1,"client_order_id":"\\"quoted\\""}`,
  `{"symbol":"${'A'.repeat(70_000)}"}`,
  `{"symbol":"ETH-USDT","side":"Sell","quantity":0.1,"price":0.2}`,
];

function breakerSteps(): Step[] {
  const over = (q: number) => `{"symbol":"BTC-USDT","side":"Buy","quantity":${q},"price":1000}`;
  const ok = `{"symbol":"BTC-USDT","side":"Buy","quantity":0.5,"price":1000}`;
  const bad = `{"symbol":"SOL-USDT","side":"Buy","quantity":1,"price":1}`;
  return [
    { args: over(2) },
    { args: bad },
    { args: ok }, // clears the streak
    { args: over(1.00000048828125) }, // a fmt_num rounding tie
    { args: over(3) },
    { args: `{"symbol":"BTC-USDT","side":"Buy","quantity":1,"price":1000.00048828125}` }, // opens (threshold 3)
    { args: ok }, // blocked
    { clockMs: T0 + 400, args: ok }, // blocked, 600 ms left
    { clockMs: T0 + 400, args: `{"symbol":"BTC-USDT","side":"Buy","quantity":1,"price":1,"confirm_token":"x"}` }, // SafetyMode first
    { clockMs: T0 + 1000, args: ok }, // HalfOpen trial passes -> Closed (and a new UTC day)
    { args: over(2) },
    { args: over(2) },
    { args: over(2) }, // open again
    { clockMs: T0 + 2100, args: over(5) }, // HalfOpen trial risk-rejected -> Open
    { clockMs: T0 + 2100, args: ok },
    { clockMs: T0 + 3200, args: ok }, // trial passes
    { args: ok },
  ];
}

function directSteps(): Step[] {
  const buy = (q: number) => `{"symbol":"BTC-USDT","side":"Buy","quantity":${q},"order_type":"Market"}`;
  const sell = (q: number) => `{"symbol":"BTC-USDT","side":"Sell","quantity":${q},"order_type":"Market"}`;
  return [
    { args: buy(1) },
    { args: buy(1.5) },
    { args: buy(1) }, // position 3.5 > 3
    { args: `{"symbol":"BTC-USDT","side":"Buy","quantity":0.5,"price":40000}` }, // rests (not marketable): open buy 0.5
    { args: buy(0.1) }, // 2.5 + 0.5 open + 0.1 > 3
    { args: sell(1) },
    { args: `{"symbol":"ETH-USDT","side":"Sell","quantity":2,"price":2900,"client_order_id":"cid-1"}` }, // 5th order today
    { args: sell(0.1) }, // daily limit
    { args: `{"symbol":"ETH-USDT","side":"Sell","quantity":2,"price":2900,"client_order_id":"cid-1","confirm_token":"t"}` },
    { clockMs: T0 + 1500, args: sell(0.1) }, // next UTC day
    { args: `{"symbol":"XRP-USDT","side":"Buy","quantity":1,"price":1}` },
    { args: `{"symbol":"BTC-USDT","side":"Buy","quantity":30,"order_type":"Market"}` },
  ];
}

function dynamicSteps(): Step[] {
  return [
    { args: `{"symbol":"BTC-USDT","side":"Buy","quantity":1,"order_type":"Market"}` }, // fetches market data
    { args: `{"symbol":"XRP-USDT","side":"Buy","quantity":1,"order_type":"Market"}` }, // no reference price
    { args: `{"symbol":"XRP-USDT","side":"Buy","quantity":1,"price":0.5}` },
    { args: `{"symbol":"ETH-USDT","side":"Sell","quantity":11,"price":3000}` }, // position limit 10
    { clockMs: T0 + 5000, args: `{"symbol":"BTC-USDT","side":"Sell","quantity":2,"order_type":"Market"}` }, // stale: fetched again, notional 100k ok
    { args: `{"symbol":"BTC-USDT","side":"Sell","quantity":2.1,"order_type":"Market"}` },
  ];
}

function compareCounters(native: Record<string, number>, pure: Record<string, number>, scenario: string, out: string[]): void {
  const keys = new Set([...Object.keys(native), ...Object.keys(pure)]);
  for (const key of keys) {
    if ((native[key] ?? 0) !== (pure[key] ?? 0)) out.push(`${scenario}: ${key} native=${native[key] ?? 0} pure=${pure[key] ?? 0}`);
  }
}

export async function runParity(sample: readonly string[]): Promise<ParityReport> {
  const gate: GateOptions = { type: 'RejectionCircuitBreaker', threshold: 20, cooldownMs: 60_000 };
  const scenarios: Scenario[] = [
    {
      name: 'bench-sample+edge-cases',
      mode: 'DryRun',
      risk: { allowedSymbols: ALLOWED_SYMBOLS, maxOrderNotional: MAX_ORDER_NOTIONAL, maxPositionAbs: 1e9, maxDailyOrders: 4_000_000_000 },
      gate,
      prime: true,
      steps: [...sample, ...EDGE_CASES].map((args) => ({ args })),
    },
    {
      name: 'breaker',
      mode: 'DryRun',
      risk: { allowedSymbols: ALLOWED_SYMBOLS, maxOrderNotional: 1000 },
      gate: { type: 'RejectionCircuitBreaker', threshold: 3, cooldownMs: 1000 },
      prime: true,
      steps: breakerSteps(),
    },
    {
      name: 'direct-daily-position',
      mode: 'Direct',
      risk: { allowedSymbols: ALLOWED_SYMBOLS, maxOrderNotional: 1e6, maxPositionAbs: 3, maxDailyOrders: 5 },
      gate,
      prime: true,
      steps: directSteps(),
    },
    {
      name: 'dynamic-symbols-fetched-market',
      mode: 'DryRun',
      risk: { maxOrderNotional: 100_000, maxPositionAbs: 10 },
      gate,
      prime: false,
      steps: dynamicSteps(),
    },
  ];
  const report: ParityReport = { inputs: 0, codesAgree: 0, identical: 0, metricsAgree: true, mismatches: [], metricMismatches: [] };
  for (const s of scenarios) {
    const native = await runNative(s);
    const pure = await runPure(s, prefixOf(native.outcomes)); // each native guard draws its own id prefix
    s.steps.forEach((step, i) => {
      const n = native.outcomes[i] as Outcome;
      const p = pure.outcomes[i] as Outcome;
      report.inputs++;
      const sameCode = n.ok === p.ok && (n.ok || (p.ok === false && n.code === p.code));
      const same = sameCode && (n.ok ? n.ack === (p as { ack: string }).ack : n.message === (p as { message: string }).message);
      if (sameCode) report.codesAgree++;
      if (same) report.identical++;
      else report.mismatches.push({ scenario: s.name, args: step.args.length > 200 ? `${step.args.slice(0, 200)}...` : step.args, native: n, pure: p });
    });
    const nativeSnapshot = native.tools.metrics.snapshot();
    compareCounters(nativeSnapshot.counters, pure.tools.guard.metrics.counters(), s.name, report.metricMismatches);
    const nativeCount = nativeSnapshot.histograms['trading_tool_execute_duration_seconds{tool="place"}']?.count ?? 0;
    const pureCount = pure.tools.guard.metrics.count[0] ?? 0;
    if (nativeCount !== pureCount) report.metricMismatches.push(`${s.name}: duration count native=${nativeCount} pure=${pureCount}`);
    const nativeDaily = nativeSnapshot.gauges.trading_daily_orders_count ?? 0;
    if (nativeDaily !== pure.tools.guard.metrics.dailyOrders) {
      report.metricMismatches.push(`${s.name}: daily gauge native=${nativeDaily} pure=${pure.tools.guard.metrics.dailyOrders}`);
    }
    if ((native.tools.state().breaker ?? undefined) !== pure.tools.guard.breakerState()) {
      report.metricMismatches.push(`${s.name}: breaker native=${native.tools.state().breaker} pure=${pure.tools.guard.breakerState()}`);
    }
    native.tools.close();
    pure.tools.close();
  }
  report.metricsAgree = report.metricMismatches.length === 0;
  return report;
}
