// The exported types are the frameworks' types without a cast: a tool's JsonSchema is an Agents SDK
// strict parameters object, an Anthropic input_schema, an MCP inputSchema and an AI SDK JSONSchema7;
// a tool's JSON parses into ToolResult, narrowed by isToolErrorJson. (tsc checks the assignments:
// `npx tsc -p __test__/tsconfig.json`.)
import type { Tool as AnthropicTool } from '@anthropic-ai/sdk/resources/messages';
import type { Tool as McpTool } from '@modelcontextprotocol/sdk/types.js';
import type { JsonSchemaDefinition } from '@openai/agents';
import { jsonSchema } from 'ai';
import { describe, expect, expectTypeOf, it } from 'vitest';

import { isToolErrorJson, type JsonSchema, type ToolAck, type ToolErrorJson, type ToolResult } from '../../ts/index';
import { setup } from '../harness';

describe('exported types', () => {
  it('a JsonSchema is what the Agents SDK, Anthropic, MCP and the AI SDK take', () => {
    const { tools } = setup({ mode: 'DryRun' });
    const schema: JsonSchema = tools.placeOrder.parameters;
    const agents: JsonSchemaDefinition['schema'] = schema;
    const anthropic: AnthropicTool = { name: tools.placeOrder.name, description: tools.placeOrder.description, input_schema: schema };
    const mcp: McpTool = { name: tools.placeOrder.name, inputSchema: schema };
    const aiSdk = jsonSchema(schema);
    expect([agents, anthropic.input_schema, mcp.inputSchema, aiSdk.jsonSchema]).toEqual([schema, schema, schema, schema]);
    tools.close();
  });

  it('a tool call parses into ToolResult and narrows to the ack or the refusal', async () => {
    const { tools } = setup({ mode: 'DryRun', risk: { allowedSymbols: ['BTC-USDT'] } });
    const outcomes: ToolResult[] = [];
    for (const args of ['{"symbol":"BTC-USDT","side":"Buy","quantity":1,"price":20000}', '{"symbol":"ETH-USDT","side":"Buy","quantity":1,"price":1500}']) {
      try {
        outcomes.push(JSON.parse(await tools.placeOrder.execute(args)) as ToolAck);
      } catch (error) {
        outcomes.push(JSON.parse(JSON.stringify(error)) as ToolErrorJson);
      }
    }
    const [ack, refusal] = outcomes;
    if (ack === undefined || isToolErrorJson(ack)) throw new Error('expected an ack');
    expectTypeOf(ack).toEqualTypeOf<ToolAck>();
    expect(ack.status).toBe('DryRun');
    if (refusal === undefined || !isToolErrorJson(refusal)) throw new Error('expected a refusal');
    expectTypeOf(refusal).toEqualTypeOf<ToolErrorJson>();
    expect(refusal.code).toBe('SYMBOL_NOT_ALLOWED');
    tools.close();
  });
});
