// The adapters serve whatever tools they are given, named and described by the tool objects: a
// subset in another order comes out as exactly that subset, in that order, in every shape.
import { convertToOpenAITool } from '@langchain/core/utils/function_calling';
import { describe, expect, it } from 'vitest';

import { aiSdkTools } from '../../ts/adapters/ai-sdk';
import { anthropicRunnableTools, anthropicTools } from '../../ts/adapters/anthropic';
import { chatCompletionsTools, responsesTools, runnableTools } from '../../ts/adapters/openai';
import { agentsTools } from '../../ts/adapters/openai-agents';
import { langChainTools } from '../../ts/adapters/langchain';
import { venue } from '../support/adapter-scenarios';

describe('adapters over any tool list', () => {
  it('every shape lists exactly the tools given, by their own names, descriptions and schemas', () => {
    const { tools } = venue('Direct');
    const chosen = [tools.queryPortfolio, tools.cancelOrder];
    const names = chosen.map((t) => t.name);
    expect(Object.keys(aiSdkTools(chosen))).toEqual(names);
    expect(chatCompletionsTools(chosen).map((t) => [t.function.name, t.function.description, t.function.parameters])).toEqual(chosen.map((t) => [t.name, t.description, t.parameters]));
    expect(responsesTools(chosen).map((t) => t.name)).toEqual(names);
    expect(runnableTools(chosen).map((t) => t.function.name)).toEqual(names);
    expect(agentsTools(chosen).map((t) => [t.name, t.description, t.parameters])).toEqual(chosen.map((t) => [t.name, t.description, t.parameters]));
    expect(langChainTools(chosen).map((t) => convertToOpenAITool(t).function.name)).toEqual(names);
    expect(anthropicTools(chosen).map((t) => [t.name, t.input_schema])).toEqual(chosen.map((t) => [t.name, t.parameters]));
    expect(anthropicRunnableTools(chosen).map((t) => t.name)).toEqual(names);
    tools.close();
  });

  it('a schema handed to a framework is a copy: nothing a framework does to it reaches the tool', () => {
    const { tools } = venue('Direct');
    const before = JSON.stringify(tools.placeOrder.parameters);
    const [chat] = chatCompletionsTools([tools.placeOrder]);
    if (chat === undefined) throw new Error('no tool');
    chat.function.parameters = { mutated: true };
    const [anthropic] = anthropicTools([tools.placeOrder]);
    anthropic?.input_schema.required?.push('mutated');
    expect(JSON.stringify(tools.placeOrder.parameters)).toBe(before);
    tools.close();
  });

  it("each adapter's run function answers a query with the tool's own JSON", async () => {
    const { tools } = venue('Direct');
    const expected = await tools.queryPortfolio.execute('{"symbol":null}');
    const [runnable] = runnableTools([tools.queryPortfolio]);
    expect(await runnable?.function.function('{"symbol":null}')).toBe(expected);
    const [lc] = langChainTools([tools.queryPortfolio]);
    expect(await lc?.invoke({ symbol: null })).toBe(expected);
    const [anthropic] = anthropicRunnableTools([tools.queryPortfolio]);
    expect(await anthropic?.run({ symbol: null })).toBe(expected);
    const ai = aiSdkTools([tools.queryPortfolio]).query_portfolio;
    expect(await ai?.execute?.({ symbol: null }, { toolCallId: 'call-1', messages: [] })).toBe(expected);
    tools.close();
  });
});
