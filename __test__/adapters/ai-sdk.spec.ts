// axon-llm/ai-sdk with the real AI SDK (`ai` 6 + @ai-sdk/openai 3) against a loopback OpenAI that
// speaks Chat Completions and Responses: what the model gets back is read from the HTTP bodies.
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, stepCountIs, type ModelMessage, type ToolApprovalResponse } from 'ai';
import { afterEach, describe, expect, it } from 'vitest';

import { aiSdkTools } from '../../ts/adapters/ai-sdk';
import { GOOD_ORDER, guardRefusal, MALFORMED_ORDER, REFUSED_ORDER, venue } from '../support/adapter-scenarios';
import { T0 } from '../harness';
import { lastConfirmToken, startFakeOpenAIWire, type FakeOpenAIWire, type WireApi } from '../support/fake-openai-wire';

let fake: FakeOpenAIWire | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

function model(api: WireApi, baseURL: string) {
  const provider = createOpenAI({ baseURL, apiKey: 'test-key' });
  return api === 'chat' ? provider.chat('gpt-test') : provider.responses('gpt-test');
}

/** A model that makes one place_order call with `args`, then answers in text. */
async function oneCall(api: WireApi, args: string) {
  fake = await startFakeOpenAIWire((request) => (request.toolOutputs.length === 0 ? { toolCalls: [{ name: 'place_order', arguments: args }] } : { text: 'done' }));
  return fake;
}

describe.each(['chat', 'responses'] as const)('axon-llm/ai-sdk over %s', (api) => {
  it('offers every tool under its own name with its strict schema', async () => {
    const { tools } = venue('Direct');
    const server = await oneCall(api, GOOD_ORDER);
    await generateText({ model: model(api, server.baseURL), tools: aiSdkTools(tools), prompt: 'trade', stopWhen: stepCountIs(3) });
    expect(server.requests[0]?.toolNames).toEqual(tools.tools.map((t) => t.name));
    tools.close();
  });

  it('runs the read tools (book, pnl, finish_bar) through the guard; a bad levels reaches the model as the guard says it', async () => {
    const { tools, backend } = venue('TwoPhase');
    await backend.placeOrder({ symbol: 'BTC-USDT', side: 'Buy', quantity: 0.2, orderType: 'Limit', price: 19_500, timeInForce: 'GTC', clientOrderId: 'resting-1' });
    fake = await startFakeOpenAIWire((request) =>
      request.toolOutputs.length === 0
        ? {
            toolCalls: [
              { name: 'get_book_snapshot', arguments: '{"symbol":"BTC-USDT","levels":3}' },
              { name: 'get_pnl', arguments: '{"symbol":null}' },
              { name: 'get_book_snapshot', arguments: '{"symbol":"BTC-USDT","levels":51}' },
              { name: 'finish_bar', arguments: '{"note":"looked only"}' },
            ],
          }
        : { text: 'done' },
    );
    const set = aiSdkTools(tools);
    expect([set.get_book_snapshot?.needsApproval, set.get_pnl?.needsApproval, set.finish_bar?.needsApproval]).toEqual([false, false, false]);
    await generateText({ model: model(api, fake.baseURL), tools: set, prompt: 'look', stopWhen: stepCountIs(3) });
    const outputs = (fake.requests[1]?.toolOutputs ?? []).map((text) => JSON.parse(text) as Record<string, unknown>);
    expect(outputs[0]).toEqual({ symbol: 'BTC-USDT', bids: [{ price: 19_500, quantity: 0.2 }], asks: [], as_of_ms: T0 });
    expect(outputs[1]).toEqual({ positions: [], total_unrealized_pnl: 0, realized_pnl_today: 0, as_of_ms: T0 });
    expect(outputs[2]).toMatchObject({ code: 'INVALID_ARGUMENTS', message: 'Arguments: field `levels` must be a whole number from 1 to 50, got 51' });
    expect(outputs[3]).toMatchObject({ finished: true, note: 'looked only', mode: 'TwoPhase' });
    expect(tools.state().pendingConfirms).toBe(0);
    tools.close();
  });

  it("sends a refusal's ToolError JSON, code included, to the model as the tool result", async () => {
    const { tools, backend } = venue('Direct');
    const server = await oneCall(api, REFUSED_ORDER);
    const result = await generateText({ model: model(api, server.baseURL), tools: aiSdkTools(tools), prompt: 'buy doge', stopWhen: stepCountIs(3) });
    expect(result.text).toBe('done');
    expect(server.requests).toHaveLength(2);
    const sent = JSON.parse(server.requests[1]?.toolOutputs[0] ?? '') as unknown;
    expect(sent).toEqual(await guardRefusal(REFUSED_ORDER));
    expect(sent).toMatchObject({ code: 'SYMBOL_NOT_ALLOWED', source: 'RiskLimits' });
    expect(backend.calls.placeOrder).toBe(0);
    tools.close();
  });

  it("answers a malformed argument with the guard's own message", async () => {
    const { tools, backend } = venue('Direct');
    const server = await oneCall(api, MALFORMED_ORDER);
    await generateText({ model: model(api, server.baseURL), tools: aiSdkTools(tools), prompt: 'buy', stopWhen: stepCountIs(3) });
    const sent = JSON.parse(server.requests[1]?.toolOutputs[0] ?? '') as { code: string; message: string };
    expect(sent).toEqual(await guardRefusal(MALFORMED_ORDER));
    expect(sent.message).toBe('Arguments: field `side` must be one of "Buy", "Sell", got "buy"');
    expect(backend.calls.placeOrder).toBe(0);
    tools.close();
  });

  it('TwoPhase through needsApproval: an approved order is proposed and confirmed, placed exactly once', async () => {
    const { tools, backend } = venue('TwoPhase');
    fake = await startFakeOpenAIWire((request) => (request.toolOutputs.length === 0 ? { toolCalls: [{ name: 'place_order', arguments: GOOD_ORDER }] } : { text: 'placed' }));
    const set = aiSdkTools(tools);
    expect(set.place_order?.needsApproval).toBe(true);
    expect(set.query_portfolio?.needsApproval).toBe(false);
    const messages: ModelMessage[] = [{ role: 'user', content: 'buy 0.1 BTC' }];
    const first = await generateText({ model: model(api, fake.baseURL), tools: set, messages, stopWhen: stepCountIs(3) });
    const requests = first.content.filter((part) => part.type === 'tool-approval-request');
    expect(requests).toHaveLength(1);
    expect(requests[0]?.toolCall.toolName).toBe('place_order');
    expect(backend.calls.placeOrder).toBe(0); // nothing proposed or sent before the human answers
    expect(tools.state().pendingConfirms).toBe(0);

    const approvals: ToolApprovalResponse[] = requests.map((part) => ({ type: 'tool-approval-response', approvalId: part.approvalId, approved: true }));
    const second = await generateText({
      model: model(api, fake.baseURL),
      tools: set,
      messages: [...messages, ...first.response.messages, { role: 'tool', content: approvals }],
      stopWhen: stepCountIs(3),
    });
    expect(second.text).toBe('placed');
    expect(backend.calls.placeOrder).toBe(1);
    expect(tools.state().pendingConfirms).toBe(0); // the token was used, not left pending
    expect(backend.openOrders().length + backend.fills.length).toBe(1);
    const ack = JSON.parse(fake.requests.at(-1)?.toolOutputs.at(-1) ?? '') as { status: string; confirm_token?: string };
    expect(['New', 'Filled']).toContain(ack.status);
    expect(ack.confirm_token).toBeUndefined(); // the model never handles the token
    tools.close();
  });

  it('TwoPhase through needsApproval: a denied order sends nothing', async () => {
    const { tools, backend } = venue('TwoPhase');
    fake = await startFakeOpenAIWire((request, index) => (index === 0 ? { toolCalls: [{ name: 'place_order', arguments: GOOD_ORDER }] } : { text: `ok ${request.toolOutputs.length}` }));
    const set = aiSdkTools(tools);
    const messages: ModelMessage[] = [{ role: 'user', content: 'buy' }];
    const first = await generateText({ model: model(api, fake.baseURL), tools: set, messages, stopWhen: stepCountIs(3) });
    const denials: ToolApprovalResponse[] = first.content
      .filter((part) => part.type === 'tool-approval-request')
      .map((part) => ({ type: 'tool-approval-response', approvalId: part.approvalId, approved: false, reason: 'not now' }));
    expect(denials).toHaveLength(1);
    await generateText({ model: model(api, fake.baseURL), tools: set, messages: [...messages, ...first.response.messages, { role: 'tool', content: denials }], stopWhen: stepCountIs(3) });
    expect(backend.calls.placeOrder).toBe(0);
    expect(tools.state().pendingConfirms).toBe(0);
    tools.close();
  });

  it('TwoPhase without approval: the model confirms with the token it was given, one order', async () => {
    const { tools, backend } = venue('TwoPhase');
    fake = await startFakeOpenAIWire((request) => {
      const token = lastConfirmToken(request.toolOutputs);
      if (request.toolOutputs.length === 0) return { toolCalls: [{ name: 'place_order', arguments: GOOD_ORDER }] };
      if (request.toolOutputs.length === 1 && token !== undefined) {
        return { toolCalls: [{ name: 'place_order', arguments: GOOD_ORDER.replace('"confirm_token":null', `"confirm_token":"${token}"`) }] };
      }
      return { text: 'confirmed' };
    });
    const result = await generateText({ model: model(api, fake.baseURL), tools: aiSdkTools(tools, { needsApproval: false }), prompt: 'buy', stopWhen: stepCountIs(5) });
    expect(result.text).toBe('confirmed');
    expect(fake.requests.map((r) => r.toolOutputs.map((o) => (JSON.parse(o) as { status: string }).status))).toEqual([[], ['PendingConfirm'], ['PendingConfirm', expect.stringMatching(/^(New|Filled)$/)]]);
    expect(backend.calls.placeOrder).toBe(1);
    tools.close();
  });
});
