// The agent loop's model deadline on a manual clock: a model that does not answer in time is
// aborted and the observation passes without trading, whatever the machine's speed; a late answer
// changes nothing; one that answers in time is acted on and leaves no timer behind.
import { describe, expect, it } from 'vitest';

import { AgentLoop } from '../ts/agent/loop';
import type { ChatMessage, LlmProvider, ModelReply } from '../ts/llm/types';
import { setup } from './harness';
import { ManualClock } from './support/manual-clock';

const usage = { promptTokens: 1, completionTokens: 1, estimated: true };
const placeOrder: ModelReply = {
  message: {
    role: 'assistant',
    content: null,
    tool_calls: [{ id: 'c1', type: 'function', function: { name: 'place_order', arguments: '{"symbol":"BTC-USDT","side":"Buy","quantity":0.01,"order_type":"Market"}' } }],
  },
  usage,
};
const noted: ModelReply = { message: { role: 'assistant', content: 'noted' }, usage };

/** A remote model the test answers by hand: each call waits until `answer` is called. */
function handAnsweredModel() {
  const calls: Array<{ messages: readonly ChatMessage[]; signal: AbortSignal | undefined; answer: (reply: ModelReply) => void }> = [];
  const provider: LlmProvider = {
    name: 'by-hand',
    model: 'test',
    cancellable: true,
    complete: (messages, _tools, signal) => new Promise<ModelReply>((answer) => calls.push({ messages, signal, answer })),
  };
  return { provider, calls };
}

/** Let settled promises run their handlers. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('AgentLoop model deadline', () => {
  it('aborts a model that does not answer within modelTimeoutMs; the bar passes without trading, a late answer is ignored', async () => {
    const clock = new ManualClock();
    const { tools, backend } = setup({ mode: 'Direct' });
    const { provider, calls } = handAnsweredModel();
    const errors: unknown[] = [];
    const loop = new AgentLoop({ provider, tools, modelTimeoutMs: 1_000, deadlineClock: clock, onModelError: (error) => errors.push(error) });
    let acted = false;
    const acting = loop.act('{"observation":1}', 0, 0).then(() => {
      acted = true;
    });
    await settle();
    expect(calls).toHaveLength(1);
    clock.advance(999);
    await settle();
    expect(acted).toBe(false); // still waiting for the model
    expect(calls[0]?.signal?.aborted).toBe(false);
    clock.advance(1);
    await acting;
    expect(calls[0]?.signal?.aborted).toBe(true); // the HTTP request is cancelled, not left running
    expect(String(errors[0])).toBe('Error: model did not answer within 1000 ms');
    expect(loop.stats).toMatchObject({ modelCalls: 0, modelErrors: 1, toolCalls: 0 });
    expect(clock.activeTimers).toBe(0);
    // The model answers after all, with an order: nobody is listening any more.
    calls[0]?.answer(placeOrder);
    await settle();
    expect(backend.calls.placeOrder).toBe(0);
    expect(loop.stats.toolCalls).toBe(0);
    expect(loop.lastToolResults).toEqual([]);
  });

  it('a model that answers in time is acted on, its follow-up timed afresh, and the sweep stops after it', async () => {
    const clock = new ManualClock();
    const { tools, backend } = setup({ mode: 'Direct' });
    const { provider, calls } = handAnsweredModel();
    const loop = new AgentLoop({ provider, tools, modelTimeoutMs: 1_000, deadlineClock: clock });
    const acting = loop.act('{"observation":1}', 0, 0);
    await settle();
    clock.advance(900);
    calls[0]?.answer(placeOrder);
    await settle();
    expect(calls).toHaveLength(2); // the tool result goes back to the model
    expect(calls[1]?.messages.at(-1)).toMatchObject({ role: 'tool', tool_call_id: 'c1' });
    clock.advance(900); // 1,800 ms since the first call, 900 since this one
    calls[1]?.answer(noted);
    await acting;
    expect(calls.map((c) => c.signal?.aborted)).toEqual([false, false]);
    expect(loop.stats).toMatchObject({ modelCalls: 2, modelErrors: 0, toolCalls: 1, ordersByStatus: { Filled: 1 } });
    expect(backend.calls.placeOrder).toBe(1);
    clock.advance(100); // the next sweep finds nothing in flight and stops
    expect(clock.activeTimers).toBe(0);
  });
});
