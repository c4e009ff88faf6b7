// The real `openai` client against a local OpenAI-compatible server: tool calls out, tool results
// (including ToolError JSON) back in the next request, tokens counted.
import { afterEach, describe, expect, it } from 'vitest';

import { dispatchToolCall, toOpenAITools } from '../ts/index';
import { OpenAIProvider } from '../ts/llm/openai-provider';
import type { ChatMessage } from '../ts/llm/types';
import { RUNBOOK_RISK, setup } from './harness';
import { startFakeOpenAI, type FakeOpenAI } from './support/openai-server';

let server: FakeOpenAI | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('OpenAIProvider', () => {
  it('sends tools and messages, returns tool calls, and the ToolError reaches the next request', async () => {
    server = await startFakeOpenAI((_request, index) =>
      index === 0
        ? { toolCalls: [{ name: 'place_order', arguments: '{"symbol":"BTC-USDT","side":"Buy","quantity":5,"price":20000}' }] }
        : { content: 'understood, the order was too large' },
    );
    const provider = new OpenAIProvider({ model: 'test-model', apiKey: 'sk-test-123', baseURL: server.baseURL, maxRetries: 0 });
    const { tools, backend } = setup({ mode: 'Direct', risk: RUNBOOK_RISK });
    const specs = toOpenAITools(tools.tools);
    const messages: ChatMessage[] = [
      { role: 'system', content: 'You trade BTC-USDT.' },
      { role: 'user', content: '{"close":20000}' },
    ];
    const first = await provider.complete(messages, specs);
    expect(first.message.tool_calls).toHaveLength(1);
    expect(first.usage.estimated).toBe(false);
    expect(first.usage.promptTokens).toBeGreaterThan(0);
    messages.push(first.message);
    for (const call of first.message.tool_calls ?? []) {
      const outcome = await dispatchToolCall(tools.tools, call.function.name, call.function.arguments);
      messages.push({ role: 'tool', tool_call_id: call.id, content: outcome.content });
    }
    const second = await provider.complete(messages, specs);
    expect(second.message.content).toBe('understood, the order was too large');

    const [req1, req2] = server.requests;
    expect(req1?.model).toBe('test-model');
    expect(req1?.tools?.map((t) => t.function.name)).toEqual(['place_order', 'cancel_order', 'replace_order', 'query_portfolio', 'get_book_snapshot', 'get_pnl', 'finish_bar']);
    expect(server.authorization[0]).toBe('Bearer sk-test-123');
    const toolMessage = req2?.messages.find((m) => m.role === 'tool');
    expect(JSON.parse(toolMessage?.content as string)).toEqual({
      error_type: 'ExecutionFailed',
      source: 'RiskLimits',
      code: 'MAX_ORDER_NOTIONAL',
      message: 'RiskLimits: order notional 100000 exceeds limit 50000',
    });
    expect(backend.calls.placeOrder).toBe(0);
  });

  it('retries a 5xx and surfaces a persistent failure as an error', async () => {
    server = await startFakeOpenAI((_request, index) => (index === 0 ? { status: 503 } : { content: 'ok' }));
    const provider = new OpenAIProvider({ model: 'm', apiKey: 'k', baseURL: server.baseURL, maxRetries: 1 });
    expect((await provider.complete([{ role: 'user', content: 'hi' }], [])).message.content).toBe('ok');
    expect(server.requests).toHaveLength(2);
    await server.close();
    server = await startFakeOpenAI(() => ({ status: 500 }));
    const failing = new OpenAIProvider({ model: 'm', apiKey: 'k', baseURL: server.baseURL, maxRetries: 0 });
    await expect(failing.complete([{ role: 'user', content: 'hi' }], [])).rejects.toThrow(/500/);
  });

  it('an answer that is not a chat completion is a model error naming the field, not a TypeError', async () => {
    const { createServer } = await import('node:http');
    const hostile = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: 'x', choices: { 0: 'nope' }, usage: { prompt_tokens: -1 } }));
    });
    await new Promise<void>((resolve) => hostile.listen(0, '127.0.0.1', resolve));
    const { port } = hostile.address() as import('node:net').AddressInfo;
    try {
      const provider = new OpenAIProvider({ model: 'm', apiKey: 'sk-hostile-answer', baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 0 });
      await expect(provider.complete([{ role: 'user', content: 'hi' }], [])).rejects.toThrow(
        /^model m answered with a payload axon-llm does not understand: choices: .*usage\.prompt_tokens: /,
      );
    } finally {
      await new Promise<void>((resolve) => {
        hostile.close(() => {
          resolve();
        });
      });
    }
  });

  it('options a Node timer cannot keep are refused naming the option', () => {
    expect(() => new OpenAIProvider({ model: 'm', apiKey: 'sk-x-options', timeoutMs: 3_000_000_000 })).toThrow(/^axon-llm: openai provider options: timeoutMs: /);
    expect(() => new OpenAIProvider({ model: '', apiKey: 'sk-x-options' })).toThrow(/options: model: /);
  });
});
