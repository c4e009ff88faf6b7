// The tools in the shapes LLM APIs take them, and a dispatcher for the model's tool calls.
import { ToolError } from './errors';
import type { JsonSchema } from './schemas';
import type { Tool } from './tools';

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
  /** The ack's status (New, Filled, DryRun, ...) for order tools that succeeded. */
  status?: string;
  /** The ToolError code when refused or failed. */
  code?: string;
}

const ACK_START = '{"order_id":';
const STATUS_KEY = '"status":"';

/** The status of a ToolAck JSON (`{"order_id":…,"status":"Filled",…}`), else undefined. */
export function ackStatus(content: string): string | undefined {
  if (!content.startsWith(ACK_START)) return undefined;
  const at = content.lastIndexOf(STATUS_KEY);
  if (at < 0) return undefined;
  const from = at + STATUS_KEY.length;
  let end = from;
  for (; end < content.length; end += 1) {
    const lower = content.charCodeAt(end) | 0x20; // ASCII letters fold to a-z; nothing else lands there
    if (lower < 0x61 || lower > 0x7a) break;
  }
  return end > from && content.charCodeAt(end) === 0x22 ? content.slice(from, end) : undefined;
}

/**
 * Run the model's call of `name` with `args`. Never throws for the model's mistakes: an unknown
 * tool or a refusal comes back as ToolError JSON the model can read and act on.
 */
export function dispatchToolCall(tools: readonly Tool[], name: string, args: string): Promise<ToolCallOutcome> {
  const tool = tools.find((t) => t.name === name);
  if (tool === undefined) {
    const error = new ToolError({
      error_type: 'InvalidArguments',
      source: 'Arguments',
      code: 'INVALID_ARGUMENTS',
      message: `Arguments: unknown tool '${name.slice(0, 64)}', expected one of: ${tools.map((t) => t.name).join(', ')}`,
    });
    return Promise.resolve(refused(error));
  }
  // Plain handlers rather than an async frame: once per tool call, in the agent loop's hot path.
  let call: Promise<string>;
  try {
    call = tool.execute(args);
  } catch (error) {
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- passed on exactly as thrown
    call = Promise.reject(error); // a synchronous throw counts as a rejection, as in an async function
  }
  return Promise.resolve(call).then(succeeded, refusedOrRethrown);
}

function succeeded(content: string): ToolCallOutcome {
  const status = ackStatus(content);
  return status === undefined ? { ok: true, content } : { ok: true, content, status };
}

function refused(error: ToolError): ToolCallOutcome {
  return { ok: false, content: JSON.stringify(error.toJSON()), code: error.code };
}

function refusedOrRethrown(error: unknown): ToolCallOutcome {
  if (error instanceof ToolError) return refused(error);
  throw error;
}
