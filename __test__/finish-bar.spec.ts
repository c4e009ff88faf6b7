// finish_bar in the agent loop: a successful call ends the model's turn for the bar (the calls after
// it in the same reply are not run, the model is not asked again until the next observation); a
// refused one does not. The scripted provider can end its bars with it.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { AgentLoop } from '../ts/agent/loop';
import { AuditLog } from '../ts/agent/audit';
import { ScriptedProvider } from '../ts/llm/scripted-provider';
import type { ChatMessage, LlmProvider, ModelReply, ToolCall } from '../ts/llm/types';
import { BacktestReplay, BacktestTradingBackend, createTradingTools, loadBars, silentLogger } from '../ts/index';
import { sharedDataFile } from '../bench/shared-data';
import { limit, setup } from './harness';

/** A model that answers from a script, one reply per call, and records what it was sent. */
function scriptedModel(replies: ToolCall[][]): LlmProvider & { seen: ChatMessage[][] } {
  const seen: ChatMessage[][] = [];
  return {
    name: 'test-script',
    model: 'test',
    seen,
    complete(messages): Promise<ModelReply> {
      seen.push([...messages]);
      const calls = replies.shift() ?? [];
      const message = calls.length === 0 ? { role: 'assistant' as const, content: 'done' } : { role: 'assistant' as const, content: null, tool_calls: calls };
      return Promise.resolve({ message, usage: { promptTokens: 1, completionTokens: 1, estimated: true } });
    },
  };
}

const call = (id: string, name: string, args: string): ToolCall => ({ id, type: 'function', function: { name, arguments: args } });

describe('finish_bar in the agent loop', () => {
  it('ends the bar: the two calls after it are not executed and the model is not asked again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'axon-finish-'));
    try {
      const { tools, backend } = setup({ mode: 'Direct' });
      const provider = scriptedModel([
        [
          call('c1', 'place_order', limit('BTC-USDT', 'Buy', 0.1, 19_000)),
          call('c2', 'finish_bar', '{"note":"one bid is enough"}'),
          call('c3', 'place_order', limit('BTC-USDT', 'Buy', 0.2, 18_000)),
          call('c4', 'cancel_order', '{"order_id":"mock-1"}'),
        ],
        [call('c5', 'place_order', limit('BTC-USDT', 'Buy', 0.3, 17_000))],
      ]);
      const audit = new AuditLog(join(dir, 'audit.jsonl'));
      const loop = new AgentLoop({ provider, tools, maxStepsPerBar: 3, audit });
      await loop.act('{"observation":1}', 0, 1_000);
      audit.flush();

      expect(backend.calls.placeOrder).toBe(1);
      expect(backend.calls.cancelOrder).toBe(0);
      expect(backend.openOrders().map((o) => o.price)).toEqual([19_000]);
      expect(provider.seen).toHaveLength(1);
      expect(loop.stats).toMatchObject({ modelCalls: 1, toolCalls: 2, toolCallsSkipped: 2, finishedBars: 1 });
      expect(loop.lastToolResults.map((r) => [r.tool, r.ok])).toEqual([
        ['place_order', true],
        ['finish_bar', true],
      ]);
      expect(JSON.parse(loop.lastToolResults[1]?.content as string)).toMatchObject({ finished: true, note: 'one bid is enough', orders_today: 1 });
      const records = readFileSync(join(dir, 'audit.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { kind: string; tool?: string; ok?: boolean });
      expect(records.filter((r) => r.kind === 'tool').map((r) => [r.tool, r.ok])).toEqual([
        ['place_order', true],
        ['finish_bar', true],
      ]);

      // The next bar starts afresh: the model is asked and its call runs.
      await loop.act('{"observation":2}', 1, 2_000);
      expect(backend.calls.placeOrder).toBe(2);
      audit.close();
      tools.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a refused finish_bar does not end the bar: the model reads the refusal and goes on', async () => {
    const { tools, backend } = setup({ mode: 'Direct' });
    const provider = scriptedModel([
      [call('c1', 'finish_bar', '{"reason":"bored"}'), call('c2', 'place_order', limit('BTC-USDT', 'Buy', 0.1, 19_000))],
      [call('c3', 'finish_bar', '{"note":null}'), call('c4', 'place_order', limit('BTC-USDT', 'Buy', 0.1, 18_000))],
    ]);
    const loop = new AgentLoop({ provider, tools, maxStepsPerBar: 3 });
    await loop.act('{"observation":1}', 0, 1_000);
    expect(backend.calls.placeOrder).toBe(1);
    expect(provider.seen).toHaveLength(2);
    const refusal = provider.seen[1]?.find((m) => m.role === 'tool' && m.tool_call_id === 'c1');
    expect(JSON.parse(refusal?.content as string)).toMatchObject({ code: 'INVALID_ARGUMENTS', message: 'Arguments: unknown field `reason`, expected one of: note' });
    expect(loop.stats).toMatchObject({ modelCalls: 2, toolCalls: 3, toolCallsSkipped: 1, finishedBars: 1 });
    tools.close();
  });

  it('the scripted provider with finishBar ends every bar with it and trades exactly as without', async () => {
    const bars = loadBars(sharedDataFile('btc-usdt-5m.csv'));
    const run = async (finishBar: boolean) => {
      const backend = new BacktestTradingBackend({ symbol: 'BTC-USDT', data: bars, cash: 100_000 });
      const tools = createTradingTools({ backend, mode: 'Direct', clockStartMs: bars.timestamp[0], logger: silentLogger });
      const loop = new AgentLoop({ provider: new ScriptedProvider({ finishBar, probeEvery: 1_000_000 }), tools });
      await new BacktestReplay(backend, { clock: tools, onStep: loop.onStep }).run({ maxSteps: 400 });
      tools.close();
      return { stats: loop.stats, fills: backend.fills.length };
    };
    const plain = await run(false);
    const finishing = await run(true);
    expect(plain.fills).toBeGreaterThan(0);
    // Same trades either way: finish_bar only ends turns.
    expect(finishing.fills).toBe(plain.fills);
    expect(finishing.stats.ordersByStatus).toEqual(plain.stats.ordersByStatus);
    expect(finishing.stats.finishedBars).toBe(finishing.stats.observations);
    expect(plain.stats.finishedBars).toBe(0);
    expect(finishing.stats.toolCalls).toBe(plain.stats.toolCalls + finishing.stats.observations);
    // A bar that traded took two model calls either way (order, then text or finish_bar); a bar
    // that did not trade took one (text, or finish_bar).
    expect(finishing.stats.modelCalls).toBe(plain.stats.modelCalls);
  });
});
