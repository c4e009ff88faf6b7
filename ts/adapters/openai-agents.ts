// `axon-llm/openai-agents`: the guarded tools as OpenAI Agents SDK function tools (strict). The
// Agents SDK passes JSON-schema arguments through without validating them: the guard does, and a
// refusal is the tool's output (the ToolError JSON), not the SDK's generic "An error occurred".
// In TwoPhase mode `needsApproval` turns an order into a run interruption: `state.approve(item)`
// and run again proposes and confirms it in one go; `state.reject(item)` sends nothing.
import { tool, type FunctionTool } from '@openai/agents';

import { approvalWanted, runApproved, runTool, schemaCopy, takesConfirmToken, toolList, type ApprovalOptions, type ToolSource } from './shared';
import type { JsonSchema } from '../tool-types';

export type { ApprovalOptions, ToolSource } from './shared';

/** One guarded tool for an `Agent({ tools })`. */
export type AgentsTradingTool = FunctionTool<unknown, JsonSchema, string>;

/** `new Agent({ name, instructions, tools: agentsTools(tools) })`. */
export function agentsTools(source: ToolSource, options: ApprovalOptions = {}): AgentsTradingTool[] {
  const approval = approvalWanted(source, options);
  return toolList(source).map((guarded) => {
    const approved = approval && takesConfirmToken(guarded);
    return tool({
      name: guarded.name,
      description: guarded.description,
      parameters: schemaCopy(guarded),
      strict: true,
      needsApproval: approved,
      execute: (input: unknown) => (approved ? runApproved(guarded, input) : runTool(guarded, input)),
    });
  });
}
