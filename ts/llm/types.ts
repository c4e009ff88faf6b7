// The model side of the agent loop: chat messages with native tool calling (OpenAI shape).

export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export type ChatMessage =
  | { role: 'system'; content: string }
  | { role: 'user'; content: string }
  | { role: 'assistant'; content: string | null; tool_calls?: ToolCall[] }
  | { role: 'tool'; tool_call_id: string; content: string };

export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  /** True when the provider does not count tokens and these are estimates (characters / 4). */
  estimated: boolean;
}

export interface ModelReply {
  message: Extract<ChatMessage, { role: 'assistant' }>;
  usage: TokenUsage;
}

export interface ToolSpec {
  type: 'function';
  function: { name: string; description: string; parameters: Readonly<Record<string, unknown>> };
}

export interface LlmProvider {
  /** `openai` | `scripted`: reports say which one ran. */
  readonly name: string;
  readonly model: string;
  /** The call does I/O that `signal` can abort (the loop then gives each call its own signal). */
  readonly cancellable?: boolean;
  /**
   * `observation`: what the last user message's JSON says, as numbers, for in-process providers
   * (a stand-in need not parse the text it was just handed); providers that talk to a model ignore it.
   */
  complete(messages: readonly ChatMessage[], tools: readonly ToolSpec[], signal?: AbortSignal, observation?: ObservationView): Promise<ModelReply>;
  /**
   * The same answer without a promise, for providers that run in-process and decide at once. The
   * loop then calls this instead of `complete`: no promise to wait for and no timeout to race (a
   * synchronous call cannot outlive one). A throw counts as a failed model call.
   */
  completeInProcess?(messages: readonly ChatMessage[], tools: readonly ToolSpec[], observation?: ObservationView): ModelReply;
}

/** The parts of an observation an in-process provider decides on (same data as its JSON). */
export interface ObservationView {
  readonly symbol: string;
  readonly position: number;
  /** Number of open orders. */
  readonly openOrders: number;
  /** Closing prices of the observation's bars, oldest first. */
  readonly closes: ArrayLike<number>;
}

/** Rough token estimate for providers that report none. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
