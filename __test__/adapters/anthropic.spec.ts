// axon-llm/anthropic with the real @anthropic-ai/sdk against a loopback Messages API: the beta
// toolRunner with the runnable tools, and a hand-written loop with the tool definitions.
import Anthropic from '@anthropic-ai/sdk';
import type { MessageParam } from '@anthropic-ai/sdk/resources/messages';
import { afterEach, describe, expect, it } from 'vitest';

import { anthropicRunnableTools, anthropicToolResults, anthropicTools } from '../../ts/adapters/anthropic';
import { GOOD_ORDER, guardRefusal, MALFORMED_ORDER, REFUSED_ORDER, venue } from '../support/adapter-scenarios';
import { lastConfirmToken } from '../support/fake-openai-wire';
import { startFakeAnthropicWire, type AnthropicWireReply, type AnthropicWireRequest, type FakeAnthropicWire } from '../support/fake-anthropic-wire';

let fake: FakeAnthropicWire | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

const input = (args: string): unknown => JSON.parse(args);

const oneCall =
  (args: string) =>
  (request: AnthropicWireRequest): AnthropicWireReply =>
    request.toolResults.length === 0 ? { toolUses: [{ name: 'place_order', input: input(args) }] } : { text: 'done' };

function confirmingModel(request: AnthropicWireRequest): AnthropicWireReply {
  const token = lastConfirmToken(request.toolResults.map((r) => r.content));
  if (request.toolResults.length === 0) return { toolUses: [{ name: 'place_order', input: input(GOOD_ORDER) }] };
  if (request.toolResults.length === 1 && token !== undefined) return { toolUses: [{ name: 'place_order', input: { ...(input(GOOD_ORDER) as object), confirm_token: token } }] };
  return { text: 'confirmed' };
}

function runner(tools: ReturnType<typeof venue>['tools'], baseURL: string, prompt: string) {
  const client = new Anthropic({ baseURL, apiKey: 'test-key' });
  // The runner is thenable: awaiting it runs the loop to the model's final message.
  return client.beta.messages.toolRunner({ model: 'claude-test', max_tokens: 512, messages: [{ role: 'user', content: prompt }], tools: anthropicRunnableTools(tools) });
}

async function handLoop(tools: ReturnType<typeof venue>['tools'], baseURL: string, prompt: string): Promise<string> {
  const client = new Anthropic({ baseURL, apiKey: 'test-key' });
  const messages: MessageParam[] = [{ role: 'user', content: prompt }];
  for (let turn = 0; turn < 5; turn += 1) {
    const reply = await client.messages.create({ model: 'claude-test', max_tokens: 512, messages, tools: anthropicTools(tools) });
    if (reply.stop_reason !== 'tool_use') return reply.content.map((block) => (block.type === 'text' ? block.text : '')).join('');
    messages.push({ role: 'assistant', content: reply.content });
    messages.push({ role: 'user', content: await anthropicToolResults(tools, reply.content) });
  }
  throw new Error('the model did not stop');
}

describe('axon-llm/anthropic toolRunner', () => {
  it("a refusal is the tool's result: the ToolError JSON with its code reaches the model", async () => {
    const { tools, backend } = venue('Direct');
    fake = await startFakeAnthropicWire(oneCall(REFUSED_ORDER));
    const final = await runner(tools, fake.baseURL, 'buy doge');
    expect(final.content).toEqual([{ type: 'text', text: 'done' }]);
    expect(fake.requests[0]?.toolNames).toEqual(tools.tools.map((t) => t.name));
    const sent = fake.requests[1]?.toolResults[0];
    expect(JSON.parse(sent?.content ?? '')).toEqual(await guardRefusal(REFUSED_ORDER));
    expect(JSON.parse(sent?.content ?? '')).toMatchObject({ code: 'SYMBOL_NOT_ALLOWED' });
    expect(backend.calls.placeOrder).toBe(0);
    tools.close();
  });

  it("a malformed argument comes back with the guard's own message", async () => {
    const { tools } = venue('Direct');
    fake = await startFakeAnthropicWire(oneCall(MALFORMED_ORDER));
    await runner(tools, fake.baseURL, 'buy');
    expect(JSON.parse(fake.requests[1]?.toolResults[0]?.content ?? '')).toEqual(await guardRefusal(MALFORMED_ORDER));
    tools.close();
  });

  it('TwoPhase: propose, the model confirms with the token, exactly one order placed', async () => {
    const { tools, backend } = venue('TwoPhase');
    fake = await startFakeAnthropicWire(confirmingModel);
    const final = await runner(tools, fake.baseURL, 'buy');
    expect(final.content).toEqual([{ type: 'text', text: 'confirmed' }]);
    // The runner keeps the conversation in a server-side `thread`: each request carries only the new turns.
    const statuses = fake.requests.flatMap((r) => r.toolResults.map((result) => (JSON.parse(result.content) as { status: string }).status));
    expect(statuses).toEqual(['PendingConfirm', expect.stringMatching(/^(New|Filled)$/)]);
    expect(backend.calls.placeOrder).toBe(1);
    tools.close();
  });
});

describe('axon-llm/anthropic tool definitions and results (hand-written loop)', () => {
  it('a refusal and a malformed argument come back as ToolError JSON flagged is_error; an ack is not', async () => {
    const { tools, backend } = venue('Direct');
    fake = await startFakeAnthropicWire((request) =>
      request.toolResults.length === 0
        ? {
            toolUses: [
              { name: 'place_order', input: input(REFUSED_ORDER) },
              { name: 'place_order', input: input(MALFORMED_ORDER) },
              { name: 'place_order', input: input(GOOD_ORDER) },
            ],
          }
        : { text: 'done' },
    );
    expect(await handLoop(tools, fake.baseURL, 'trade')).toBe('done');
    const [refused, malformed, placed] = fake.requests[1]?.toolResults ?? [];
    expect(JSON.parse(refused?.content ?? '')).toEqual(await guardRefusal(REFUSED_ORDER));
    expect(JSON.parse(malformed?.content ?? '')).toEqual(await guardRefusal(MALFORMED_ORDER));
    expect([refused?.is_error, malformed?.is_error, placed?.is_error]).toEqual([true, true, false]);
    expect(JSON.parse(placed?.content ?? '')).toMatchObject({ symbol: 'BTC-USDT', side: 'Buy' });
    expect(fake.requests[0]?.body.tools).toEqual(anthropicTools(tools));
    expect(backend.calls.placeOrder).toBe(1);
    tools.close();
  });

  it('TwoPhase: propose then confirm in a hand-written loop, exactly one order placed', async () => {
    const { tools, backend } = venue('TwoPhase');
    fake = await startFakeAnthropicWire(confirmingModel);
    expect(await handLoop(tools, fake.baseURL, 'buy')).toBe('confirmed');
    expect(backend.calls.placeOrder).toBe(1);
    tools.close();
  });
});
