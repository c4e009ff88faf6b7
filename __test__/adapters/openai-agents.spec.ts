// axon-llm/openai-agents with the real Agents SDK (@openai/agents 0.20: its OpenAIProvider, with the
// openai client it bundles, over Responses and Chat Completions) against a loopback OpenAI.
import { Agent, OpenAIProvider, run, setTracingDisabled, type Model } from '@openai/agents';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import { agentsTools } from '../../ts/adapters/openai-agents';
import { GOOD_ORDER, guardRefusal, MALFORMED_ORDER, REFUSED_ORDER, venue } from '../support/adapter-scenarios';
import { lastConfirmToken, startFakeOpenAIWire, type FakeOpenAIWire, type WireApi } from '../support/fake-openai-wire';

let fake: FakeOpenAIWire | undefined;
beforeAll(() => {
  setTracingDisabled(true);
});
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

function model(api: WireApi, baseURL: string): Promise<Model> {
  return new OpenAIProvider({ baseURL, apiKey: 'test-key', useResponses: api === 'responses' }).getModel('gpt-test');
}

async function oneCall(args: string): Promise<FakeOpenAIWire> {
  fake = await startFakeOpenAIWire((request) => (request.toolOutputs.length === 0 ? { toolCalls: [{ name: 'place_order', arguments: args }] } : { text: 'done' }));
  return fake;
}

describe.each(['responses', 'chat'] as const)('axon-llm/openai-agents over %s', (api) => {
  it("a refusal is the tool's output: the ToolError JSON with its code reaches the model", async () => {
    const { tools, backend } = venue('Direct');
    const server = await oneCall(REFUSED_ORDER);
    const agent = new Agent({ name: 'trader', instructions: 'Trade.', tools: agentsTools(tools), model: await model(api, server.baseURL) });
    const result = await run(agent, 'buy doge');
    expect(result.finalOutput).toBe('done');
    expect(server.requests[0]?.toolNames).toEqual(tools.tools.map((t) => t.name));
    const sent = JSON.parse(server.requests[1]?.toolOutputs[0] ?? '') as unknown;
    expect(sent).toEqual(await guardRefusal(REFUSED_ORDER));
    expect(sent).toMatchObject({ code: 'SYMBOL_NOT_ALLOWED' });
    expect(backend.calls.placeOrder).toBe(0);
    tools.close();
  });

  it("a malformed argument comes back with the guard's own message", async () => {
    const { tools } = venue('Direct');
    const server = await oneCall(MALFORMED_ORDER);
    const agent = new Agent({ name: 'trader', instructions: 'Trade.', tools: agentsTools(tools), model: await model(api, server.baseURL) });
    await run(agent, 'buy');
    expect(JSON.parse(server.requests[1]?.toolOutputs[0] ?? '')).toEqual(await guardRefusal(MALFORMED_ORDER));
    tools.close();
  });

  it('TwoPhase as an interruption: approve, run again, exactly one order placed', async () => {
    const { tools, backend } = venue('TwoPhase');
    fake = await startFakeOpenAIWire((request) => (request.toolOutputs.length === 0 ? { toolCalls: [{ name: 'place_order', arguments: GOOD_ORDER }] } : { text: 'placed' }));
    const agent = new Agent({ name: 'trader', instructions: 'Trade.', tools: agentsTools(tools), model: await model(api, fake.baseURL) });
    const first = await run(agent, 'buy 0.1 BTC');
    expect(first.interruptions.map((item) => item.name)).toEqual(['place_order']);
    expect(backend.calls.placeOrder).toBe(0);
    expect(tools.state().pendingConfirms).toBe(0);
    for (const item of first.interruptions) first.state.approve(item);
    const second = await run(agent, first.state);
    expect(second.finalOutput).toBe('placed');
    expect(backend.calls.placeOrder).toBe(1);
    expect(tools.state().pendingConfirms).toBe(0); // the token was used, not left pending
    const ack = JSON.parse(fake.requests.at(-1)?.toolOutputs.at(-1) ?? '') as { status: string; confirm_token?: string };
    expect(['New', 'Filled']).toContain(ack.status);
    expect(ack.confirm_token).toBeUndefined();
    tools.close();
  });

  it('TwoPhase as an interruption: reject sends nothing', async () => {
    const { tools, backend } = venue('TwoPhase');
    fake = await startFakeOpenAIWire((request) => (request.toolOutputs.length === 0 ? { toolCalls: [{ name: 'place_order', arguments: GOOD_ORDER }] } : { text: 'not placed' }));
    const agent = new Agent({ name: 'trader', instructions: 'Trade.', tools: agentsTools(tools), model: await model(api, fake.baseURL) });
    const first = await run(agent, 'buy');
    for (const item of first.interruptions) first.state.reject(item);
    expect((await run(agent, first.state)).finalOutput).toBe('not placed');
    expect(backend.calls.placeOrder).toBe(0);
    expect(tools.state().pendingConfirms).toBe(0);
    tools.close();
  });

  it('TwoPhase without approval: the model confirms with its token, one order', async () => {
    const { tools, backend } = venue('TwoPhase');
    fake = await startFakeOpenAIWire((request) => {
      const token = lastConfirmToken(request.toolOutputs);
      if (request.toolOutputs.length === 0) return { toolCalls: [{ name: 'place_order', arguments: GOOD_ORDER }] };
      if (request.toolOutputs.length === 1 && token !== undefined) return { toolCalls: [{ name: 'place_order', arguments: GOOD_ORDER.replace('"confirm_token":null', `"confirm_token":"${token}"`) }] };
      return { text: 'confirmed' };
    });
    const agent = new Agent({ name: 'trader', instructions: 'Trade.', tools: agentsTools(tools, { needsApproval: false }), model: await model(api, fake.baseURL) });
    expect((await run(agent, 'buy')).finalOutput).toBe('confirmed');
    expect(backend.calls.placeOrder).toBe(1);
    tools.close();
  });
});

describe('axon-llm/openai-agents wire check', () => {
  it('each API is the one the fake server saw', async () => {
    for (const api of ['responses', 'chat'] as const) {
      const { tools } = venue('DryRun');
      const server = await oneCall(GOOD_ORDER);
      await run(new Agent({ name: 'trader', instructions: 'Trade.', tools: agentsTools(tools), model: await model(api, server.baseURL) }), 'buy');
      expect(server.requests.map((r) => r.api)).toEqual([api, api]);
      await server.close();
      fake = undefined;
      tools.close();
    }
  });
});
