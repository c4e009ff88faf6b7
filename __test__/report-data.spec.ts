// What the report draws, checked against the parts that produce it: breaker openings read from
// the real guard's refusals (with its own count and clock), daily order slots as the guard counts
// them, candles of real market data aggregated only past MAX_POINTS, and audit files read back
// from a run's offset, a damaged line named by its record and key.
import { appendFileSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { auditFileOffset, backtestReportData, MAX_POINTS, readToolRecords, renderReportPage, type ToolAuditRecord } from '../ts/agent/report';
import { breakerOpenings, dailyOrders, dayAxis } from '../ts/agent/report/events';
import { liveCommand } from '../ts/agent/live-command';
import { runAgentBacktest } from '../ts/agent/run-backtest';
import { parseConfig } from '../ts/config';
import { loadBars } from '../ts/backtest/load-bars';
import { loadTrades } from '../ts/backtest/load-trades';
import { MockTradingBackend } from '../ts/backends/mock';
import { ScriptedProvider } from '../ts/llm/scripted-provider';
import { silentLogger } from '../ts/log';
import { dispatchToolCall } from '../ts/tool-formats';
import { createTradingTools, type TradingTools } from '../ts/tools';
import { sharedDataFile } from '../bench/shared-data';
import { RUNBOOK_RISK } from './harness';

const T0 = Date.UTC(2025, 0, 6, 9, 0, 0);
const VALID = '{"symbol":"BTC-USDT","side":"Buy","quantity":0.01,"order_type":"Market"}';
const TOO_BIG = '{"symbol":"BTC-USDT","side":"Buy","quantity":5,"order_type":"Market"}';
const MARKUP = '{"symbol":"<b>x</b>","side":"Buy","quantity":1,"order_type":"Market"}';

/** Real guarded tools on a mock venue with a manual clock; each call recorded as the agent loop records it. */
function guardedVenue(mode: 'Direct' | 'DryRun' = 'Direct') {
  const tools: TradingTools = createTradingTools({
    backend: new MockTradingBackend({ referencePrices: { 'BTC-USDT': 20_000 } }),
    mode,
    risk: { maxOrderNotional: 50_000, allowedSymbols: ['BTC-USDT'] },
    gate: { type: 'RejectionCircuitBreaker', threshold: 2, cooldownMs: 1_000 },
    clockStartMs: T0,
    logger: silentLogger,
  });
  const records: ToolAuditRecord[] = [];
  const call = async (atMs: number, args: string) => {
    tools.setClockMs(atMs);
    const outcome = await dispatchToolCall(tools.tools, 'place_order', args);
    records.push({ kind: 'tool', time_ms: atMs, step: records.length, tool: 'place_order', args, ok: outcome.ok, result: outcome.content, ...(outcome.code === undefined ? {} : { code: outcome.code }) });
    return outcome;
  };
  return { tools, records, call };
}

describe('breaker openings from the refusals', () => {
  it('finds each opening that refused a call, with the exact time and the streak that tripped it; an opening that refused nothing is left to the guard count', async () => {
    const { tools, records, call } = guardedVenue();
    await call(T0, TOO_BIG);
    await call(T0 + 10, TOO_BIG); // streak 2: opens at T0+10
    expect((await call(T0 + 20, VALID)).code).toBe('CIRCUIT_BREAKER_OPEN');
    expect((await call(T0 + 30, MARKUP)).code).toBe('INVALID_ARGUMENTS'); // refused before the gate: not an end of the opening
    expect((await call(T0 + 40, VALID)).code).toBe('CIRCUIT_BREAKER_OPEN');
    await call(T0 + 1_010, TOO_BIG); // HalfOpen trial refused by the limits: reopens at T0+1010
    expect((await call(T0 + 1_020, VALID)).code).toBe('CIRCUIT_BREAKER_OPEN');
    expect((await call(T0 + 2_020, VALID)).ok).toBe(true); // trial passes: closed
    await call(T0 + 2_030, TOO_BIG);
    await call(T0 + 2_040, TOO_BIG); // opens at T0+2040, and no call comes while it is open
    expect((await call(T0 + 3_050, VALID)).ok).toBe(true);
    expect(tools.state().gateOpenings).toBe(3);

    expect(breakerOpenings(records, 1_000)).toEqual([
      { timeMs: T0 + 10, breaker: 'rejection', cause: '2 consecutive risk refusals: MAX_ORDER_NOTIONAL ×2', refused: 2 },
      { timeMs: T0 + 1_010, breaker: 'rejection', cause: '1 consecutive risk refusal: MAX_ORDER_NOTIONAL', refused: 1 },
    ]);
    // Without the cooldown the time is the tripping call's (the same here: the audit time is the guard's clock).
    expect(breakerOpenings(records).map((b) => b.timeMs)).toEqual([T0 + 10, T0 + 1_010]);
    tools.close();
  });

  it('daily orders count what max_daily_orders counts: sent orders, not DryRun acks nor refusals', async () => {
    for (const mode of ['Direct', 'DryRun'] as const) {
      const { tools, records, call } = guardedVenue(mode);
      await call(T0, VALID);
      await call(T0 + 1, TOO_BIG);
      await call(T0 + 2, VALID);
      await call(T0 + 86_400_000, VALID); // the next UTC day
      const counts = dailyOrders(records, dayAxis(T0, T0 + 86_400_000));
      expect(counts).toEqual(mode === 'Direct' ? [2, 1] : [0, 0]);
      expect(counts[1]).toBe(tools.state().dailyOrders); // the guard's count for the current day
      tools.close();
    }
  });
});

describe('candles of real market data', () => {
  it.each([
    ['btc-usdt-5m.csv (11,000 bars: more than MAX_POINTS)', () => loadBars(sharedDataFile('btc-usdt-5m.csv'))],
    ['eth-usdt-trades.csv (prints, several per second)', () => loadTrades(sharedDataFile('eth-usdt-trades.csv'))],
    ['xrp-usdt-1h.csv (100 bars: one candle each)', () => loadBars(sharedDataFile('xrp-usdt-1h.csv'))],
  ])('%s: increasing times, each candle the range of its bars, fills on candles, equity to the end', async (_name, load) => {
    const data = load();
    const run = await runAgentBacktest({ data, symbol: 'BTC-USDT', provider: new ScriptedProvider({ burstEvery: 600 }), risk: RUNBOOK_RISK, cash: 100_000 });
    const report = backtestReportData(run, data, []);
    const candles = report.charts.candles;
    if (candles === null) throw new Error('no candles');
    expect(candles.time.length).toBeLessThanOrEqual(MAX_POINTS);
    for (let i = 1; i < candles.time.length; i += 1) expect(candles.time[i]).toBeGreaterThan(candles.time[i - 1] as number);
    const perBar = data.kind === 'bars' && data.length <= MAX_POINTS;
    expect(candles.bucketSeconds === 0).toBe(perBar);
    if (perBar) expect(candles.time.length).toBe(data.length);

    // Each candle is the open, extremes and close of the steps whose time falls in it.
    const width = candles.bucketSeconds === 0 ? 1 : candles.bucketSeconds;
    const [open, high, low, close] = data.kind === 'bars' ? [data.open, data.high, data.low, data.close] : [data.price, data.price, data.price, data.price];
    const expected = new Map<number, { open: number; high: number; low: number; close: number }>();
    for (let i = 0; i < data.length; i += 1) {
      const t = perBar ? Math.floor((data.timestamp[i] as number) / 1000) : Math.floor((data.timestamp[i] as number) / 1000 / width) * width;
      const c = expected.get(t);
      if (c === undefined) expected.set(t, { open: open[i] as number, high: high[i] as number, low: low[i] as number, close: close[i] as number });
      else expected.set(t, { open: c.open, high: Math.max(c.high, high[i] as number), low: Math.min(c.low, low[i] as number), close: close[i] as number });
    }
    expect(candles.time).toEqual([...expected.keys()]);
    expect(candles.open).toEqual([...expected.values()].map((c) => c.open));
    expect(candles.high).toEqual([...expected.values()].map((c) => c.high));
    expect(candles.low).toEqual([...expected.values()].map((c) => c.low));
    expect(candles.close).toEqual([...expected.values()].map((c) => c.close));

    const times = new Set(candles.time);
    expect(report.charts.fills).toHaveLength(run.result.fills.length);
    expect(report.charts.fills.every((f) => times.has(f.time))).toBe(true);
    expect(report.charts.equity?.equity.at(-1)).toBe(run.summary.finalEquity);
    expect(Math.min(...(report.charts.equity?.drawdownPct ?? []))).toBeCloseTo(-run.summary.maxDrawdownPct, 9);
    expect(report.largestTrades.length).toBe(Math.min(20, run.result.fills.length));
    // The page is one self-contained file whatever the data.
    expect(renderReportPage(report)).not.toMatch(/<script[^>]+src=/);
  }, 60_000);
});

describe('audit records read back', () => {
  it("reads only a run's records (from the offset taken before it) and names a damaged record and its key", () => {
    const dir = mkdtempSync(join(tmpdir(), 'axon-audit-read-'));
    const path = join(dir, 'audit.jsonl');
    expect(auditFileOffset(path)).toBe(0); // not there yet
    const tool = (code: string) => JSON.stringify({ seq: 1, prev: 'x', kind: 'tool', time_ms: T0, step: 0, tool: 'place_order', args: '{}', ok: false, result: '{}', code });
    writeFileSync(path, `${tool('EARLIER')}\n`);
    const offset = auditFileOffset(path);
    appendFileSync(path, `${JSON.stringify({ kind: 'model', time_ms: T0, step: 0, provider: 'p', prompt_tokens: 1, completion_tokens: 1, tool_calls: 1 })}\n${tool('THIS_RUN')}\n`);
    expect(readToolRecords(path, offset).map((r) => r.code)).toEqual(['THIS_RUN']);
    expect(readToolRecords(path).map((r) => r.code)).toEqual(['EARLIER', 'THIS_RUN']);

    appendFileSync(path, `${JSON.stringify({ kind: 'tool', time_ms: 'soon', step: 0, tool: 'place_order', args: '{}', ok: true, result: '{}' })}\n`);
    expect(() => readToolRecords(path, offset)).toThrow(`audit error: ${path}: record 3 of this run: time_ms: Invalid input: expected number, received string`);
    appendFileSync(path, 'not json\n');
    expect(() => readToolRecords(path, auditFileOffset(path) - 'not json\n'.length)).toThrow(/audit error: .*record 1 of this run is not JSON/);
  });
});

describe('records that are not the whole run', () => {
  it('the report says so, naming each code whose count differs, instead of drawing a quiet hole', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'axon-report-partial-'));
    const auditPath = join(dir, 'audit.jsonl');
    const data = loadBars(sharedDataFile('btc-usdt-5m.csv'));
    const run = await runAgentBacktest({ data, symbol: 'BTC-USDT', provider: new ScriptedProvider({ burstEvery: 600 }), risk: RUNBOOK_RISK, cash: 100_000, auditPath });
    const records = readToolRecords(auditPath);
    const counted = run.summary.rejectionsByCode;
    expect(Object.keys(counted).length).toBeGreaterThan(0);
    expect(backtestReportData(run, data, records).warnings).toEqual([]);

    const lastRefusal = records.map((r) => r.code !== undefined).lastIndexOf(true);
    const code = records[lastRefusal]?.code as string;
    const partial = backtestReportData(run, data, records.slice(0, lastRefusal));
    expect(partial.warnings).toHaveLength(1);
    expect(partial.warnings[0]).toContain(`${code}: ${(counted[code] ?? 0) - 1} in the audit file, ${counted[code] ?? 0} counted by the run`);
    expect(renderReportPage(partial)).toContain('<p class="warning">The audit records read for this report do not match');
  }, 60_000);
});

describe('a live run whose report cannot be written', () => {
  it('still prints its summary and exits 0, saying which file is missing and why', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'axon-live-noreport-'));
    const config = parseConfig(
      `[trading]\nbackend = "mock"\n[risk]\ndaily_counts_file = "none"\n[agent]\ninterval_ms = 1\nmax_cycles = 2\naudit = "${join(dir, 'audit.jsonl')}"\nsummary_json = "${join(dir, 'live-summary.json')}"\n`,
      {},
    );
    const out = new PassThrough();
    const err = new PassThrough();
    let printed = '';
    let logged = '';
    out.on('data', (chunk: Buffer) => (printed += chunk.toString()));
    err.on('data', (chunk: Buffer) => (logged += chunk.toString()));
    const report = join(dir, 'no-such-dir', 'live-report.html');
    const code = await liveCommand({ config, report, out, err, env: {}, backend: new MockTradingBackend({ referencePrices: { 'BTC-USDT': 20_000 } }) });
    expect(code).toBe(0);
    expect(printed).toContain('live agent: BTC-USDT on mock (DryRun), 2 observations');
    expect(printed).toContain(`wrote ${join(dir, 'live-summary.json')}, ${join(dir, 'audit.jsonl')}\n`);
    expect(logged).toContain(`llm-trading-agent: ${report} not written: ENOENT`);
    expect(existsSync(join(dir, 'live-summary.json'))).toBe(true);
  });
});
