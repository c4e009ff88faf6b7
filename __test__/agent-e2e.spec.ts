// The agent loop end to end: real data and generated data, the scripted provider and the real
// `openai` client against a local OpenAI-compatible server, through the guarded tools into the
// backtest backend; the summary must match the audit file.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import type { AuditRecord } from '../ts/agent/audit';
import { runAgentBacktest } from '../ts/agent/run-backtest';
import { loadBars } from '../ts/backtest/load-bars';
import { barSeriesFromColumns, type BarSeries } from '../ts/backtest/series';
import { OpenAIProvider } from '../ts/llm/openai-provider';
import type { LlmProvider } from '../ts/llm/types';
import { ScriptedProvider } from '../ts/llm/scripted-provider';
import { generateBars } from '../ts/market-data-generator';
import { RUNBOOK_RISK } from './harness';
import { startFakeOpenAI, type FakeOpenAI } from './support/openai-server';
import { sharedDataFile } from '../bench/shared-data';

const BTC = sharedDataFile('btc-usdt-5m.csv');
const GATE = { type: 'RejectionCircuitBreaker', threshold: 5, cooldownMs: 60_000 } as const;

let server: FakeOpenAI | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function auditOf(path: string): AuditRecord[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as AuditRecord);
}

function firstBars(bars: BarSeries, n: number): BarSeries {
  return barSeriesFromColumns({
    source: `${bars.source}[0..${n}]`,
    timestamp: bars.timestamp.slice(0, n),
    open: bars.open.slice(0, n),
    high: bars.high.slice(0, n),
    low: bars.low.slice(0, n),
    close: bars.close.slice(0, n),
    volume: bars.volume.slice(0, n),
    priceDecimals: bars.priceDecimals,
    quantityDecimals: bars.quantityDecimals,
  });
}

function expectSummaryMatchesAudit(records: AuditRecord[], summary: { modelCalls: number; ordersByStatus: Record<string, number>; rejectionsByCode: Record<string, number>; promptTokens: number }) {
  const models = records.filter((r): r is Extract<AuditRecord, { kind: 'model' }> => r.kind === 'model' && r.error === undefined);
  const tools = records.filter((r): r is Extract<AuditRecord, { kind: 'tool' }> => r.kind === 'tool');
  expect(models).toHaveLength(summary.modelCalls);
  expect(models.reduce((n, r) => n + r.prompt_tokens, 0)).toBe(summary.promptTokens);
  const byCode: Record<string, number> = {};
  const byStatus: Record<string, number> = {};
  for (const t of tools) {
    if (t.ok) {
      const status = (JSON.parse(t.result) as { status?: string }).status;
      if (status !== undefined) byStatus[status] = (byStatus[status] ?? 0) + 1;
    } else {
      byCode[t.code as string] = (byCode[t.code as string] ?? 0) + 1;
    }
  }
  expect(byStatus).toEqual(summary.ordersByStatus);
  expect(byCode).toEqual(summary.rejectionsByCode);
}

describe('agent loop end to end', () => {
  it('scripted provider over all 10,999 real BTC bars: orders fill, guardrails stop the mistakes, summary = audit', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'axon-e2e-'));
    const audit = join(dir, 'audit.jsonl');
    const run = await runAgentBacktest({
      data: loadBars(BTC),
      symbol: 'BTC-USDT',
      provider: new ScriptedProvider(),
      mode: 'Direct',
      risk: RUNBOOK_RISK,
      gate: GATE,
      cash: 100_000,
      auditPath: audit,
    });
    const s = run.summary;
    expect(s.bars).toBe(10_999);
    expect(s.provider).toBe('scripted');
    expect(s.trades).toBeGreaterThan(20);
    expect(s.ordersByStatus.Filled).toBeGreaterThan(20);
    expect(s.rejectionsByCode.MAX_ORDER_NOTIONAL).toBeGreaterThan(0);
    expect(s.rejectionsByCode.SYMBOL_NOT_ALLOWED).toBeGreaterThan(0);
    expect(s.rejectionsByCode.CIRCUIT_BREAKER_OPEN ?? 0).toBeGreaterThan(0);
    expect(s.breakerOpenings).toBeGreaterThan(0);
    expect(s.finalEquity).toBeCloseTo(100_000 + s.pnl, 6);
    expect(Number.isFinite(s.sharpe)).toBe(true);
    expectSummaryMatchesAudit(auditOf(audit), s);
  }, 120_000);

  it('TwoPhase: the scripted model confirms each proposal with its token, and trades as it would in Direct', async () => {
    const run = (mode: 'Direct' | 'TwoPhase') =>
      runAgentBacktest({ data: generateBars({ seed: 9, bars: 2_000 }), symbol: 'BTC-USDT', provider: new ScriptedProvider(), risk: RUNBOOK_RISK, gate: GATE, cash: 100_000, mode });
    const direct = await run('Direct');
    const twoPhase = await run('TwoPhase');
    expect(direct.summary.trades).toBeGreaterThan(5);
    const fills = (r: typeof direct) => r.result.fills.map((f) => [f.step, f.side, f.price, f.quantity]);
    expect(fills(twoPhase)).toEqual(fills(direct));
    // Every placed order was first a proposal; refusals happen at proposal time, as in Direct.
    expect(twoPhase.summary.ordersByStatus.PendingConfirm).toBe(twoPhase.summary.ordersByStatus.Filled);
    expect(twoPhase.summary.rejectionsByCode).toEqual(direct.summary.rejectionsByCode);
  }, 60_000);

  it('a stop decides nothing more: an aborted run asks the model nothing, and a stop mid-run shows it no later bar', async () => {
    const base = { data: generateBars({ seed: 9, bars: 2_000 }), symbol: 'BTC-USDT', risk: RUNBOOK_RISK, gate: GATE, cash: 100_000, mode: 'Direct' as const };
    const aborted = new AbortController();
    aborted.abort();
    const none = await runAgentBacktest({ ...base, provider: new ScriptedProvider(), signal: aborted.signal });
    expect(none.summary.modelCalls).toBe(0);
    expect(none.summary.stoppedEarly).toBe(true);

    // Stop while the model answers its 300th bar (a bar's first call carries [system, observation]):
    // no later bar reaches the model, across the loop's periodic yields to the event loop too.
    const midway = new AbortController();
    const scripted = new ScriptedProvider();
    let barsAsked = 0;
    const provider: LlmProvider = {
      name: scripted.name,
      model: scripted.model,
      complete: (messages, specs, signal, view) => {
        if (messages.length === 2) barsAsked += 1;
        if (barsAsked === 300) midway.abort();
        return scripted.complete(messages, specs, signal, view);
      },
    };
    const run = await runAgentBacktest({ ...base, provider, signal: midway.signal });
    expect(run.summary.stoppedEarly).toBe(true);
    expect(barsAsked).toBe(300);
  }, 60_000);

  it('generated data runs the same way and is deterministic', async () => {
    const once = async () =>
      (
        await runAgentBacktest({
          data: generateBars({ seed: 42, bars: 3_000 }),
          symbol: 'BTC-USDT',
          provider: new ScriptedProvider(),
          risk: RUNBOOK_RISK,
          gate: GATE,
          cash: 100_000,
        })
      ).summary;
    const a = await once();
    const b = await once();
    expect(a).toEqual(b);
    expect(a.trades).toBeGreaterThan(0);
  }, 60_000);

  it('openai client: orders reach the backend, the ToolError JSON reaches the next request, the breaker opens', async () => {
    // The model: buy once, then keep proposing an oversized order; after 5 refusals the breaker opens.
    server = await startFakeOpenAI((request) => {
      const last = request.messages[request.messages.length - 1];
      if (last?.role === 'tool') return { content: 'ok' };
      const bar = (JSON.parse(last?.content as string) as { bars: unknown[] }).bars.length;
      if (bar === 3) return { toolCalls: [{ name: 'place_order', arguments: '{"symbol":"BTC-USDT","side":"Buy","quantity":0.01,"order_type":"Market"}' }] };
      if (bar >= 10 && bar < 20) return { toolCalls: [{ name: 'place_order', arguments: '{"symbol":"BTC-USDT","side":"Buy","quantity":5,"order_type":"Market"}' }] };
      return { content: 'hold' };
    });
    const dir = mkdtempSync(join(tmpdir(), 'axon-e2e-'));
    const audit = join(dir, 'audit.jsonl');
    const run = await runAgentBacktest({
      data: firstBars(loadBars(BTC), 40),
      symbol: 'BTC-USDT',
      provider: new OpenAIProvider({ model: 'fake-gpt', apiKey: 'sk-local', baseURL: server.baseURL, maxRetries: 0 }),
      risk: RUNBOOK_RISK,
      gate: { type: 'RejectionCircuitBreaker', threshold: 5, cooldownMs: 3_600_000 },
      cash: 100_000,
      historyBars: 50,
      auditPath: audit,
    });
    const s = run.summary;
    expect(s.provider).toBe('openai');
    expect(s.ordersByStatus).toEqual({ Filled: 1 });
    expect(run.result.fills).toHaveLength(1);
    expect(s.rejectionsByCode).toEqual({ MAX_ORDER_NOTIONAL: 5, CIRCUIT_BREAKER_OPEN: 5 });
    expect(s.breakerOpenings).toBe(1);
    expect(s.tokensEstimated).toBe(false);
    // The refusal reached the model in the very next request, as a tool message.
    const refusedAt = server.requests.findIndex((r) => r.messages.some((m) => m.role === 'tool' && (m.content ?? '').includes('MAX_ORDER_NOTIONAL')));
    expect(refusedAt).toBeGreaterThan(0);
    const toolMessage = server.requests[refusedAt]?.messages.find((m) => m.role === 'tool');
    expect(JSON.parse(toolMessage?.content as string)).toEqual({
      error_type: 'ExecutionFailed',
      source: 'RiskLimits',
      code: 'MAX_ORDER_NOTIONAL',
      message: expect.stringMatching(/^RiskLimits: order notional \d+(\.\d+)? exceeds limit 50000$/),
    });
    // ...and again in the next bar's observation, as last_results.
    const nextObservation = JSON.parse(server.requests[refusedAt + 1]?.messages[1]?.content as string) as { last_results: Array<{ ok: boolean }> };
    expect(nextObservation.last_results).toEqual([expect.objectContaining({ tool: 'place_order', ok: false })]);
    expectSummaryMatchesAudit(auditOf(audit), s);
  }, 60_000);

  it('an in-process provider answers without a promise; its throw is a failed model call, not a crash', async () => {
    const seen: string[] = [];
    const provider: LlmProvider = {
      name: 'in-process',
      model: 'rule',
      complete: () => Promise.reject(new Error('complete must not be called when completeInProcess exists')),
      completeInProcess: (messages) => {
        const last = messages[messages.length - 1];
        seen.push(last?.role ?? '?');
        if (last?.role !== 'user') return { message: { role: 'assistant', content: 'ok' }, usage: { promptTokens: 1, completionTokens: 1, estimated: true } };
        if (seen.filter((role) => role === 'user').length % 2 === 0) throw new Error('rule failed');
        const call = { id: `c${seen.length}`, type: 'function' as const, function: { name: 'place_order', arguments: '{"symbol":"BTC-USDT","side":"Buy","quantity":0.01,"order_type":"Market"}' } };
        return { message: { role: 'assistant', content: null, tool_calls: [call] }, usage: { promptTokens: 1, completionTokens: 1, estimated: true } };
      },
    };
    const run = await runAgentBacktest({ data: firstBars(loadBars(BTC), 6), symbol: 'BTC-USDT', provider, risk: RUNBOOK_RISK, cash: 100_000 });
    expect(run.summary.modelErrors).toBe(3); // bars 2, 4, 6
    expect(run.result.fills.map((f) => f.step)).toEqual([0, 2, 4]);
    expect(run.summary.modelCalls).toBe(6); // three bars x (order + answer to its result)
    expect(seen).toEqual(['user', 'tool', 'user', 'user', 'tool', 'user', 'user', 'tool', 'user']);
  }, 30_000);

  it('a model that does not answer in time: the call is aborted, the bar passes without trading', async () => {
    // The second request is answered only after the run: the timeout decides, whatever the machine's speed.
    let release!: () => void;
    const runOver = new Promise<void>((resolve) => {
      release = resolve;
    });
    server = await startFakeOpenAI((_request, index) =>
      index === 1
        ? { until: runOver, toolCalls: [{ name: 'place_order', arguments: '{"symbol":"BTC-USDT","side":"Buy","quantity":0.01,"order_type":"Market"}' }] }
        : { content: 'hold' },
    );
    const run = await runAgentBacktest({
      data: firstBars(loadBars(BTC), 4),
      symbol: 'BTC-USDT',
      provider: new OpenAIProvider({ model: 'slow-gpt', apiKey: 'sk-local', baseURL: server.baseURL, maxRetries: 0 }),
      risk: RUNBOOK_RISK,
      cash: 100_000,
      modelTimeoutMs: 200,
    });
    release();
    expect(run.summary.modelErrors).toBe(1);
    expect(run.summary.modelCalls).toBe(3);
    expect(run.result.fills).toHaveLength(0);
  }, 30_000);
});
