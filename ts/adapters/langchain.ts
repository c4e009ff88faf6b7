// `axon-llm/langchain`: the guarded tools as LangChain structured tools (`bindTools`, ToolNode,
// agents). LangChain validates a tool's input against its schema before the tool runs and answers a
// mismatch with a generic "did not match expected schema"; here the guard is the validator, so the
// model gets the guard's message naming the field. The schema handed to LangChain is a Standard
// JSON Schema: it shows the model the tool's real JSON Schema (`~standard.jsonSchema`) and accepts
// any input when validated, leaving the checking to the guard. A refusal is the tool's result.
import { DynamicStructuredTool } from '@langchain/core/tools';

import { runTool, schemaCopy, toolList, type ToolSource } from './shared';
import type { JsonSchema } from '../tool-types';
import type { Tool } from '../tools';

export type { ToolSource } from './shared';

/**
 * Standard Schema V1 + Standard JSON Schema V1: the JSON Schema for the model, no validation of
 * its own (every value is passed on as is, to the guard).
 */
export interface GuardValidatedSchema {
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: 'axon-llm';
    readonly validate: (value: unknown) => { readonly value: unknown };
    readonly jsonSchema: { readonly input: () => JsonSchema; readonly output: () => JsonSchema };
  };
}

export function guardValidatedSchema(tool: Tool): GuardValidatedSchema {
  const schema = schemaCopy(tool);
  return {
    '~standard': {
      version: 1,
      vendor: 'axon-llm',
      validate: (value: unknown) => ({ value }),
      jsonSchema: { input: () => schema, output: () => schema },
    },
  };
}

/** One guarded tool for LangChain: any input in (the guard checks it), the tool's JSON or ToolError JSON out. */
export type LangChainTradingTool = DynamicStructuredTool<GuardValidatedSchema, unknown, unknown, string>;

/** `model.bindTools(langChainTools(tools))`, then `tool.invoke(toolCall)` for each call. */
export function langChainTools(source: ToolSource): LangChainTradingTool[] {
  return toolList(source).map(
    (guarded): LangChainTradingTool =>
      new DynamicStructuredTool<GuardValidatedSchema, unknown, unknown, string>({
        name: guarded.name,
        description: guarded.description,
        schema: guardValidatedSchema(guarded),
        func: (input: unknown) => runTool(guarded, input),
      }),
  );
}
