// `axon-llm/anthropic`: the guarded tools for the Anthropic Messages API: tool definitions, the
// `tool_result` blocks for a reply's `tool_use` blocks, and runnable tools for
// `client.beta.messages.toolRunner`. A refusal is the tool's result (the ToolError JSON; flagged
// `is_error` in the blocks built here), never a throw. Only types are imported from the SDK.
import type { BetaRunnableTool } from '@anthropic-ai/sdk/lib/tools/BetaRunnableTool';
import type { ContentBlock, Tool as AnthropicTool, ToolResultBlockParam } from '@anthropic-ai/sdk/resources/messages';

import { isToolErrorJson } from '../tool-types';
import { callTool, runTool, schemaCopy, toolList, type ToolSource } from './shared';

export type { ToolSource } from './shared';

export interface AnthropicToolsOptions {
  /** Anthropic strict tool use: inputs always match the schema (default false: not every model takes it). */
  strict?: boolean;
}

/** `client.messages.create({ tools: anthropicTools(tools), ... })`. */
export function anthropicTools(source: ToolSource, options: AnthropicToolsOptions = {}): AnthropicTool[] {
  return toolList(source).map((tool) => ({
    name: tool.name,
    description: tool.description,
    input_schema: schemaCopy(tool),
    ...(options.strict === undefined ? {} : { strict: options.strict }),
  }));
}

/**
 * The user turn's `tool_result` blocks for every `tool_use` block of a reply, in order. A refusal
 * (or an unknown tool) is its ToolError JSON with `is_error: true`.
 */
export async function anthropicToolResults(source: ToolSource, content: readonly ContentBlock[]): Promise<ToolResultBlockParam[]> {
  const results: ToolResultBlockParam[] = [];
  for (const block of content) {
    if (block.type !== 'tool_use') continue;
    const text = await callTool(source, block.name, block.input);
    results.push({ type: 'tool_result', tool_use_id: block.id, content: text, ...(refused(text) ? { is_error: true } : {}) });
  }
  return results;
}

function refused(text: string): boolean {
  return text.startsWith('{"error_type":') && isToolErrorJson(JSON.parse(text));
}

/** `client.beta.messages.toolRunner({ tools: anthropicRunnableTools(tools), ... })`. */
export function anthropicRunnableTools(source: ToolSource, options: AnthropicToolsOptions = {}): Array<BetaRunnableTool<unknown>> {
  return toolList(source).map((tool) => ({
    type: 'custom',
    name: tool.name,
    description: tool.description,
    input_schema: schemaCopy(tool),
    ...(options.strict === undefined ? {} : { strict: options.strict }),
    // The guard parses and validates: the input goes to it as the model wrote it.
    parse: (input: unknown) => input,
    run: (input: unknown) => runTool(tool, input),
  }));
}
