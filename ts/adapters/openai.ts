// `axon-llm/openai`: the guarded tools in the shapes the `openai` package takes: Chat Completions
// `tools`, Responses `tools`, and `runTools`-ready functions. Strict by default (the schemas are in
// strict form). A refusal is the call's result (the ToolError JSON), so `runTools` goes on and the
// model reads the code. Only types are imported from `openai`: nothing is loaded at run time.
import type { ChatCompletionFunctionTool } from 'openai/resources/chat/completions';
import type { FunctionTool as ResponsesFunctionTool } from 'openai/resources/responses/responses';

import { runTool, schemaCopy, toolList, type ToolSource } from './shared';
import type { JsonSchema } from '../tool-types';

export { callTool } from './shared';
export type { ToolSource } from './shared';

export interface OpenAIToolsOptions {
  /** Strict function calling: the model's arguments always match the schema (default true). */
  strict?: boolean;
}

/** `client.chat.completions.create({ tools: chatCompletionsTools(tools), ... })`. */
export function chatCompletionsTools(source: ToolSource, options: OpenAIToolsOptions = {}): ChatCompletionFunctionTool[] {
  return toolList(source).map((tool) => ({
    type: 'function',
    function: { name: tool.name, description: tool.description, parameters: schemaCopy(tool), strict: options.strict ?? true },
  }));
}

/** `client.responses.create({ tools: responsesTools(tools), ... })`. */
export function responsesTools(source: ToolSource, options: OpenAIToolsOptions = {}): ResponsesFunctionTool[] {
  return toolList(source).map((tool) => ({
    type: 'function',
    name: tool.name,
    description: tool.description,
    parameters: schemaCopy(tool),
    strict: options.strict ?? true,
  }));
}

/**
 * A `runTools` function tool without `parse`. Written out rather than the SDK's
 * `RunnableToolFunctionWithoutParse`, whose runner classes differ between the SDK's CommonJS and
 * ESM declarations: this structural shape fits `runTools` from either.
 */
export interface RunnableGuardedTool {
  type: 'function';
  function: {
    name: string;
    description: string;
    parameters: JsonSchema;
    strict: boolean;
    /** The model's raw argument string in, the tool's JSON or the ToolError JSON out. */
    function: (args: string) => Promise<string>;
  };
}

/**
 * `client.chat.completions.runTools({ tools: runnableTools(tools), ... })`. The model's argument
 * string goes to the guard untouched (no `parse`): the guard's parser is the validator.
 */
export function runnableTools(source: ToolSource, options: OpenAIToolsOptions = {}): RunnableGuardedTool[] {
  return toolList(source).map((tool) => ({
    type: 'function',
    function: {
      name: tool.name,
      description: tool.description,
      parameters: schemaCopy(tool),
      strict: options.strict ?? true,
      function: (args: string) => runTool(tool, args),
    },
  }));
}
