// The agent loop's own overhead on all 10,999 real BTC bars: one observation and one guarded tool
// call per bar (a provider that answers every observation with a small market order, alternating
// sides; in-process, so it reads the loop's ObservationView like the stock scripted provider),
// through the backtest backend. Also the stock scripted provider for reference.
// Run: npm run bench:agent
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { runAgentBacktest } from '../ts/agent/run-backtest';
import { loadBars } from '../ts/backtest/load-bars';
import { ScriptedProvider } from '../ts/llm/scripted-provider';
import type { ChatMessage, LlmProvider, ModelReply, ObservationView, ToolSpec } from '../ts/llm/types';
import { sharedDataFile } from './shared-data';

const DATA = sharedDataFile('btc-usdt-5m.csv');
const ROUNDS = 5;
/** Untimed runs first: V8 tiers the loop's code up over the first tens of thousands of bars. */
const WARMUP_ROUNDS = 2;

/** One tool call per observation; the tool result ends the bar. */
class EveryBarProvider implements LlmProvider {
  readonly name = 'every-bar';
  readonly model = 'bench';
  private n = 0;
  complete(messages: readonly ChatMessage[], tools: readonly ToolSpec[], _signal?: AbortSignal, view?: ObservationView): Promise<ModelReply> {
    return Promise.resolve(this.completeInProcess(messages, tools, view));
  }

  /** In-process like the stock scripted provider: the loop calls this without a promise. */
  completeInProcess(messages: readonly ChatMessage[], _tools: readonly ToolSpec[], view?: ObservationView): ModelReply {
    const last = messages[messages.length - 1];
    const usage = { promptTokens: 0, completionTokens: 0, estimated: true };
    if (last?.role !== 'user') return { message: { role: 'assistant', content: 'ok' }, usage };
    // Like the stock scripted provider: the loop's numbers, not a re-parse of the JSON it just wrote.
    const observation = view ?? (JSON.parse(last.content) as { symbol: string });
    this.n += 1;
    const side = this.n % 2 === 0 ? 'Sell' : 'Buy';
    const args = `{"symbol":"${observation.symbol}","side":"${side}","quantity":0.01,"order_type":"Market"}`;
    return {
      message: { role: 'assistant', content: null, tool_calls: [{ id: `c${this.n}`, type: 'function', function: { name: 'place_order', arguments: args } }] },
      usage,
    };
  }
}

async function measure(label: string, provider: () => LlmProvider): Promise<{ label: string; best: number; median: number; toolCalls: number }> {
  const data = loadBars(DATA);
  const rates: number[] = [];
  let toolCalls = 0;
  for (let round = 0; round < WARMUP_ROUNDS + ROUNDS; round += 1) {
    const started = process.hrtime.bigint();
    const run = await runAgentBacktest({
      data,
      symbol: 'BTC-USDT',
      provider: provider(),
      risk: { allowedSymbols: ['BTC-USDT'], maxOrderNotional: 50_000, maxPositionAbs: 10 },
      gate: { type: 'RejectionCircuitBreaker', threshold: 5, cooldownMs: 60_000 },
      cash: 10_000_000,
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (round >= WARMUP_ROUNDS) rates.push(run.summary.bars / seconds);
    toolCalls = run.stats.toolCalls;
  }
  rates.sort((a, b) => a - b);
  return { label, best: rates[rates.length - 1] as number, median: rates[Math.floor(rates.length / 2)] as number, toolCalls };
}

async function main(): Promise<void> {
  const results = [
    await measure('one observation + one tool call per bar', () => new EveryBarProvider()),
    await measure('stock scripted provider (MA crossover)', () => new ScriptedProvider()),
  ];
  console.log(`agent loop over 10,999 real bars, ${ROUNDS} timed rounds each after ${WARMUP_ROUNDS} untimed`);
  console.log('variant                                     best bars/s   median bars/s   tool calls   target');
  for (const r of results) {
    const target = r.label.startsWith('one observation') ? `>= 50,000 ${r.median >= 50_000 ? 'PASS' : 'MISS'}` : '';
    console.log(`${r.label.padEnd(42)} ${Math.round(r.best).toLocaleString('en-US').padStart(12)} ${Math.round(r.median).toLocaleString('en-US').padStart(15)} ${String(r.toolCalls).padStart(12)}   ${target}`);
  }
  mkdirSync(join(__dirname, '..', '..', 'bench', 'results'), { recursive: true });
  writeFileSync(join(__dirname, '..', '..', 'bench', 'results', 'agent-loop.json'), `${JSON.stringify(results, null, 2)}\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
