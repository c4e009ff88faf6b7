// axon-llm/openai with the real `openai` client against a loopback OpenAI: `runTools` over Chat
// Completions, and a hand-written Responses loop with the Responses tool shape.
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';

import { callTool, chatCompletionsTools, responsesTools, runnableTools } from '../../ts/adapters/openai';
import { GOOD_ORDER, guardRefusal, MALFORMED_ORDER, REFUSED_ORDER, venue } from '../support/adapter-scenarios';
import { lastConfirmToken, startFakeOpenAIWire, type FakeOpenAIWire, type WireReply, type WireRequest } from '../support/fake-openai-wire';

let fake: FakeOpenAIWire | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

const oneCall =
  (args: string) =>
  (request: WireRequest): WireReply =>
    request.toolOutputs.length === 0 ? { toolCalls: [{ name: 'place_order', arguments: args }] } : { text: 'done' };

/** Proposes GOOD_ORDER, confirms with the token it gets back, then stops. */
function confirmingModel(request: WireRequest): WireReply {
  const token = lastConfirmToken(request.toolOutputs);
  if (request.toolOutputs.length === 0) return { toolCalls: [{ name: 'place_order', arguments: GOOD_ORDER }] };
  if (request.toolOutputs.length === 1 && token !== undefined) {
    return { toolCalls: [{ name: 'place_order', arguments: GOOD_ORDER.replace('"confirm_token":null', `"confirm_token":"${token}"`) }] };
  }
  return { text: 'confirmed' };
}

/** A Responses API loop written by hand: create, answer each function call with callTool, repeat. */
async function responsesLoop(client: OpenAI, tools: ReturnType<typeof venue>['tools'], prompt: string): Promise<string> {
  const input: OpenAI.Responses.ResponseInput = [{ role: 'user', content: prompt }];
  for (let turn = 0; turn < 5; turn += 1) {
    const response = await client.responses.create({ model: 'gpt-test', input, tools: responsesTools(tools) });
    const calls = response.output.filter((item) => item.type === 'function_call');
    if (calls.length === 0) return response.output_text;
    input.push(...calls);
    for (const call of calls) input.push({ type: 'function_call_output', call_id: call.call_id, output: await callTool(tools, call.name, call.arguments) });
  }
  throw new Error('the model did not stop');
}

describe('axon-llm/openai tool shapes', () => {
  it('Chat Completions and Responses shapes carry every tool, strict by default', () => {
    const { tools } = venue('DryRun');
    const chat = chatCompletionsTools(tools);
    const responses = responsesTools(tools, { strict: false });
    expect(chat.map((t) => t.function.name)).toEqual(tools.tools.map((t) => t.name));
    expect(chat.every((t) => t.function.strict === true)).toBe(true);
    expect(chat[0]?.function.parameters).toEqual(tools.placeOrder.parameters);
    expect(responses.map((t) => [t.type, t.name, t.strict])).toEqual(tools.tools.map((t) => ['function', t.name, false]));
    tools.close();
  });
});

describe('axon-llm/openai runTools (Chat Completions)', () => {
  it("keeps the run going on a refusal and sends its ToolError JSON with the code to the model", async () => {
    const { tools, backend } = venue('Direct');
    fake = await startFakeOpenAIWire(oneCall(REFUSED_ORDER));
    const client = new OpenAI({ baseURL: fake.baseURL, apiKey: 'test-key' });
    const runner = client.chat.completions.runTools({ model: 'gpt-test', messages: [{ role: 'user', content: 'buy doge' }], tools: runnableTools(tools) });
    expect(await runner.finalContent()).toBe('done');
    expect(fake.requests[1]?.body.tools).toEqual(chatCompletionsTools(tools));
    const sent = JSON.parse(fake.requests[1]?.toolOutputs[0] ?? '') as unknown;
    expect(sent).toEqual(await guardRefusal(REFUSED_ORDER));
    expect(sent).toMatchObject({ code: 'SYMBOL_NOT_ALLOWED' });
    expect(backend.calls.placeOrder).toBe(0);
    tools.close();
  });

  it("gives the model the guard's own message for a malformed argument", async () => {
    const { tools } = venue('Direct');
    fake = await startFakeOpenAIWire(oneCall(MALFORMED_ORDER));
    const client = new OpenAI({ baseURL: fake.baseURL, apiKey: 'test-key' });
    await client.chat.completions.runTools({ model: 'gpt-test', messages: [{ role: 'user', content: 'buy' }], tools: runnableTools(tools) }).done();
    expect(JSON.parse(fake.requests[1]?.toolOutputs[0] ?? '')).toEqual(await guardRefusal(MALFORMED_ORDER));
    tools.close();
  });

  it('without strict, even unparseable JSON reaches the guard and comes back with its message', async () => {
    // (With strict tools the openai client itself parses the arguments of a strict function call.)
    const { tools } = venue('Direct');
    const broken = '{"symbol":"BTC-USDT","side":"Buy","quantity":NaN}';
    fake = await startFakeOpenAIWire(oneCall(broken));
    const client = new OpenAI({ baseURL: fake.baseURL, apiKey: 'test-key' });
    await client.chat.completions.runTools({ model: 'gpt-test', messages: [{ role: 'user', content: 'buy' }], tools: runnableTools(tools, { strict: false }) }).done();
    expect(JSON.parse(fake.requests[1]?.toolOutputs[0] ?? '')).toEqual(await guardRefusal(broken));
    const refusal = await guardRefusal(broken);
    expect(refusal.code).toBe('INVALID_ARGUMENTS');
    expect(refusal.message).toContain('quantity');
    tools.close();
  });

  it('TwoPhase: propose, the model confirms with the token, exactly one order placed', async () => {
    const { tools, backend } = venue('TwoPhase');
    fake = await startFakeOpenAIWire(confirmingModel);
    const client = new OpenAI({ baseURL: fake.baseURL, apiKey: 'test-key' });
    const runner = client.chat.completions.runTools({ model: 'gpt-test', messages: [{ role: 'user', content: 'buy' }], tools: runnableTools(tools) });
    expect(await runner.finalContent()).toBe('confirmed');
    expect(fake.requests.at(-1)?.toolOutputs.map((o) => (JSON.parse(o) as { status: string }).status)).toEqual(['PendingConfirm', expect.stringMatching(/^(New|Filled)$/)]);
    expect(backend.calls.placeOrder).toBe(1);
    tools.close();
  });
});

describe('axon-llm/openai Responses loop', () => {
  it('a refusal, a malformed argument and an unknown tool all come back as ToolError JSON', async () => {
    const { tools, backend } = venue('Direct');
    fake = await startFakeOpenAIWire((request) =>
      request.toolOutputs.length === 0
        ? {
            toolCalls: [
              { name: 'place_order', arguments: REFUSED_ORDER },
              { name: 'place_order', arguments: MALFORMED_ORDER },
              { name: 'withdraw_funds', arguments: '{}' },
            ],
          }
        : { text: 'done' },
    );
    const client = new OpenAI({ baseURL: fake.baseURL, apiKey: 'test-key' });
    expect(await responsesLoop(client, tools, 'trade')).toBe('done');
    const outputs = (fake.requests[1]?.toolOutputs ?? []).map((o) => JSON.parse(o) as { code: string; message: string });
    expect(outputs[0]).toEqual(await guardRefusal(REFUSED_ORDER));
    expect(outputs[1]).toEqual(await guardRefusal(MALFORMED_ORDER));
    expect(outputs[2]?.code).toBe('INVALID_ARGUMENTS');
    expect(outputs[2]?.message).toContain("unknown tool 'withdraw_funds'");
    expect(fake.requests[0]?.body.tools).toEqual(responsesTools(tools));
    expect(backend.calls.placeOrder).toBe(0);
    tools.close();
  });

  it('TwoPhase: propose then confirm over Responses, exactly one order placed', async () => {
    const { tools, backend } = venue('TwoPhase');
    fake = await startFakeOpenAIWire(confirmingModel);
    const client = new OpenAI({ baseURL: fake.baseURL, apiKey: 'test-key' });
    expect(await responsesLoop(client, tools, 'buy')).toBe('confirmed');
    expect(backend.calls.placeOrder).toBe(1);
    tools.close();
  });
});
