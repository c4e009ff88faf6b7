// The tools in the shapes LLM APIs take them, and a dispatcher for the model's tool calls.
import type { ToolErrorJson } from './errors';
import type { JsonSchema } from './schemas';
import type { Tool, ToolCallResult } from './tools';

/** OpenAI Chat Completions `tools` entry (also accepted by OpenAI-compatible servers). */
export interface OpenAIFunctionTool {
  type: 'function';
  function: { name: string; description: string; parameters: JsonSchema; strict?: boolean };
}

/**
 * The tools as Chat Completions `tools`. `strict: true` asks for strict function calling (the
 * schemas are in strict form); without it no `strict` key is sent. `axon-llm/openai` has the
 * Responses shape and `runTools` functions too.
 */
export function toOpenAITools(tools: readonly Tool[], options: { strict?: boolean } = {}): OpenAIFunctionTool[] {
  return tools.map((tool) => ({
    type: 'function',
    function: {
      name: tool.name,
      description: tool.description,
      parameters: tool.parameters,
      ...(options.strict === undefined ? {} : { strict: options.strict }),
    },
  }));
}

export interface ToolCallOutcome {
  ok: boolean;
  /** What to send back to the model: the tool's JSON result, or the ToolError JSON. */
  content: string;
  /** The ack's status (New, Filled, DryRun, ...) for order tools that succeeded (from the result, not the text). */
  status?: string;
  /** The ToolError code when refused or failed. */
  code?: string;
}

/**
 * Run the model's call of `name` with `args`. Never throws for the model's mistakes: an unknown
 * tool or a refusal comes back as ToolError JSON the model can read and act on.
 */
export function dispatchToolCall(tools: readonly Tool[], name: string, args: string): Promise<ToolCallOutcome> {
  const tool = tools.find((t) => t.name === name);
  if (tool === undefined) {
    const error: ToolErrorJson = {
      error_type: 'InvalidArguments',
      source: 'Arguments',
      code: 'INVALID_ARGUMENTS',
      message: `Arguments: unknown tool '${name.slice(0, 64)}', expected one of: ${tools.map((t) => t.name).join(', ')}`,
    };
    return Promise.resolve(refused(error));
  }
  // The data path: a refusal or a backend's failure is a result, not an exception to catch.
  return tool.call(args).then(outcome);
}

function outcome(result: ToolCallResult): ToolCallOutcome {
  if (!result.ok) return refused(result.error);
  return result.status === undefined ? { ok: true, content: result.ack } : { ok: true, content: result.ack, status: result.status };
}

function refused(error: ToolErrorJson): ToolCallOutcome {
  const { error_type, source, code, message } = error;
  return { ok: false, content: JSON.stringify({ error_type, source, code, message }), code };
}
