// axon-llm/langchain with the real @langchain/core (tools, messages, bindTools formatting) and a
// tiny chat model over a loopback OpenAI: the guard, not LangChain's schema check, judges the
// arguments, so the model gets the guard's message.
import { HumanMessage, type BaseMessage } from '@langchain/core/messages';
import { convertToOpenAITool } from '@langchain/core/utils/function_calling';
import { afterEach, describe, expect, it } from 'vitest';

import { langChainTools } from '../../ts/adapters/langchain';
import { GOOD_ORDER, guardRefusal, MALFORMED_ORDER, REFUSED_ORDER, venue } from '../support/adapter-scenarios';
import { lastConfirmToken, startFakeOpenAIWire, type FakeOpenAIWire, type WireReply, type WireRequest } from '../support/fake-openai-wire';
import { LoopbackChatModel } from '../support/loopback-chat-model';

let fake: FakeOpenAIWire | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

/** The usual agent loop: invoke the model, run each tool call with tool.invoke(call), repeat. */
async function agentLoop(tools: ReturnType<typeof venue>['tools'], baseURL: string, prompt: string): Promise<string> {
  const lcTools = langChainTools(tools);
  const model = new LoopbackChatModel(baseURL).bindTools(lcTools);
  const messages: BaseMessage[] = [new HumanMessage(prompt)];
  for (let turn = 0; turn < 5; turn += 1) {
    const reply = await model.invoke(messages);
    messages.push(reply);
    if ((reply.tool_calls ?? []).length === 0) return typeof reply.content === 'string' ? reply.content : '';
    for (const call of reply.tool_calls ?? []) {
      const tool = lcTools.find((candidate) => candidate.name === call.name);
      if (tool === undefined) throw new Error(`no tool ${call.name}`);
      messages.push(await tool.invoke(call));
    }
  }
  throw new Error('the model did not stop');
}

const oneCall =
  (args: string) =>
  (request: WireRequest): WireReply =>
    request.toolOutputs.length === 0 ? { toolCalls: [{ name: 'place_order', arguments: args }] } : { text: 'done' };

describe('axon-llm/langchain', () => {
  it('shows the model each tool with its real JSON Schema', () => {
    const { tools } = venue('DryRun');
    const formatted = langChainTools(tools).map((tool) => convertToOpenAITool(tool));
    expect(formatted).toEqual(tools.tools.map((t) => ({ type: 'function', function: { name: t.name, description: t.description, parameters: t.parameters } })));
    tools.close();
  });

  it("a refusal is the tool's result: the ToolError JSON with its code reaches the model", async () => {
    const { tools, backend } = venue('Direct');
    fake = await startFakeOpenAIWire(oneCall(REFUSED_ORDER));
    expect(await agentLoop(tools, fake.baseURL, 'buy doge')).toBe('done');
    expect(fake.requests[0]?.toolNames).toEqual(tools.tools.map((t) => t.name));
    const sent = JSON.parse(fake.requests[1]?.toolOutputs[0] ?? '') as unknown;
    expect(sent).toEqual(await guardRefusal(REFUSED_ORDER));
    expect(sent).toMatchObject({ code: 'SYMBOL_NOT_ALLOWED' });
    expect(backend.calls.placeOrder).toBe(0);
    tools.close();
  });

  it("a malformed argument gets the guard's message, not LangChain's schema error", async () => {
    const { tools } = venue('Direct');
    fake = await startFakeOpenAIWire(oneCall(MALFORMED_ORDER));
    await agentLoop(tools, fake.baseURL, 'buy');
    const sent = fake.requests[1]?.toolOutputs[0] ?? '';
    expect(JSON.parse(sent)).toEqual(await guardRefusal(MALFORMED_ORDER));
    expect(sent).not.toContain('did not match expected schema');
    tools.close();
  });

  it('an unknown field and a missing field are the guard\'s to name too', async () => {
    const { tools } = venue('Direct');
    const [place] = langChainTools(tools);
    const unknown = await place?.invoke({ symbol: 'BTC-USDT', side: 'Buy', quantity: 1, price: 20_000, leverage: 10 });
    const refusal = JSON.parse(unknown ?? '') as { code: string; message: string };
    expect(refusal.code).toBe('INVALID_ARGUMENTS');
    expect(refusal.message).toContain('unknown field `leverage`');
    const missing = await place?.invoke({ symbol: 'BTC-USDT', side: 'Buy', price: 20_000 });
    expect(JSON.parse(missing ?? '')).toMatchObject({ code: 'INVALID_ARGUMENTS', message: 'Arguments: missing field `quantity`' });
    tools.close();
  });

  it('TwoPhase: propose, the model confirms with the token, exactly one order placed', async () => {
    const { tools, backend } = venue('TwoPhase');
    fake = await startFakeOpenAIWire((request) => {
      const token = lastConfirmToken(request.toolOutputs);
      if (request.toolOutputs.length === 0) return { toolCalls: [{ name: 'place_order', arguments: GOOD_ORDER }] };
      if (request.toolOutputs.length === 1 && token !== undefined) return { toolCalls: [{ name: 'place_order', arguments: GOOD_ORDER.replace('"confirm_token":null', `"confirm_token":"${token}"`) }] };
      return { text: 'confirmed' };
    });
    expect(await agentLoop(tools, fake.baseURL, 'buy')).toBe('confirmed');
    expect(fake.requests.at(-1)?.toolOutputs.map((o) => (JSON.parse(o) as { status: string }).status)).toEqual(['PendingConfirm', expect.stringMatching(/^(New|Filled)$/)]);
    expect(backend.calls.placeOrder).toBe(1);
    tools.close();
  });
});
