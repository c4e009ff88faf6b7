// `axon-llm/ai-sdk`: the guarded tools as a Vercel AI SDK `ToolSet` for generateText/streamText.
// A refusal is the tool's result (the ToolError JSON text), so the model reads its code and message.
// The AI SDK does not validate the arguments against the schema (`jsonSchema` without `validate`):
// the guard does, and its message names the field. In TwoPhase mode the AI SDK's `needsApproval`
// asks the human; an approved call is proposed and confirmed in one go (see ./shared.ts).
import { jsonSchema, tool, type Tool as AiSdkTool } from 'ai';

import { approvalWanted, runApproved, runTool, schemaCopy, takesConfirmToken, toolList, type ApprovalOptions, type ToolSource } from './shared';

export type { ApprovalOptions, ToolSource } from './shared';

/** One guarded tool for the AI SDK: the model's arguments in, the tool's JSON (or ToolError JSON) out. */
export type AiSdkTradingTool = AiSdkTool<Record<string, unknown>, string>;

export interface AiSdkToolsOptions extends ApprovalOptions {
  /** OpenAI-style strict schema adherence, for providers that support it (default true: the schemas are strict-ready). */
  strict?: boolean;
}

/** `generateText({ model, tools: aiSdkTools(tools), ... })`. Keys are the tools' names. */
export function aiSdkTools(source: ToolSource, options: AiSdkToolsOptions = {}): Record<string, AiSdkTradingTool> {
  const approval = approvalWanted(source, options);
  const set: Record<string, AiSdkTradingTool> = {};
  for (const guarded of toolList(source)) {
    const approved = approval && takesConfirmToken(guarded);
    set[guarded.name] = tool<Record<string, unknown>, string>({
      description: guarded.description,
      inputSchema: jsonSchema<Record<string, unknown>>(schemaCopy(guarded)),
      strict: options.strict ?? true,
      needsApproval: approved,
      execute: (input) => (approved ? runApproved(guarded, input) : runTool(guarded, input)),
    });
  }
  return set;
}
