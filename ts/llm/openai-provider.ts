// Any OpenAI-compatible chat completions endpoint (OpenAI, DeepSeek, Ollama, vLLM) through the
// official `openai` package, with native tool calling.
// - `openai` is an optional peer dependency: loaded when the first provider is built, with an error
//   naming the package when it is missing. No type of it appears in this module's declarations.
// - The endpoint is a trust boundary: its answer is validated (zod) before the loop sees it.
// - Every error it throws is scrubbed of the process's secrets (the API key is registered when the
//   provider is built): gateways echo the `Authorization` header in their error bodies.
import { z } from 'zod';

import { requireOptional } from '../optional-package';
import { registerSecrets, scrubSecrets } from '../secrets';
import { describeZodError } from '../zod-issues';
import type { ChatMessage, LlmProvider, ModelReply, ToolCall, ToolSpec } from './types';

export interface OpenAIProviderOptions {
  model: string;
  apiKey: string;
  baseURL?: string;
  timeoutMs?: number;
  maxRetries?: number;
  temperature?: number;
  maxTokens?: number;
}

/** The part of the `openai` client this provider calls; the answer is `unknown` until validated. */
interface ChatClient {
  chat: { completions: { create(body: Record<string, unknown>, options: { signal?: AbortSignal }): Promise<unknown> } };
}

type LogFn = (message: string, ...rest: unknown[]) => void;

interface OpenAIModule {
  OpenAI: new (options: {
    apiKey: string;
    baseURL?: string;
    timeout: number;
    maxRetries: number;
    logger: { error: LogFn; warn: LogFn; info: LogFn; debug: LogFn };
  }) => ChatClient;
}

let openaiModule: OpenAIModule | undefined;
function loadOpenAI(): OpenAIModule {
  openaiModule ??= requireOptional('openai', 'the openai provider') as OpenAIModule;
  return openaiModule;
}

/** A failed model call; the message is scrubbed, `status` is the HTTP status when there was one. */
export class ModelCallError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'ModelCallError';
  }
}

/** The options as the constructor checks them (a timer above 24 h would fire after 1 ms in Node). */
const optionsSchema = z.strictObject({
  model: z.string().min(1),
  apiKey: z.string().min(1),
  baseURL: z.url().optional(),
  timeoutMs: z.number().int().min(1).max(86_400_000).optional(),
  maxRetries: z.number().int().nonnegative().max(100).optional(),
  temperature: z.number().min(0).max(2).optional(),
  maxTokens: z.number().int().positive().optional(),
});

const toolCallSchema = z.object({
  id: z.string().min(1),
  type: z.string(),
  function: z.object({ name: z.string(), arguments: z.string() }).optional(),
});

const completionSchema = z.object({
  choices: z.array(
    z.object({
      message: z.object({
        content: z.string().nullish(),
        tool_calls: z.array(toolCallSchema).nullish(),
      }),
    }),
  ),
  usage: z.object({ prompt_tokens: z.number().int().nonnegative(), completion_tokens: z.number().int().nonnegative() }).nullish(),
});

/** The SDK's own diagnostics, scrubbed, on stderr (it may print request details). */
const scrubbedConsole =
  (write: (...args: unknown[]) => void): LogFn =>
  (message, ...rest) => {
    write(scrubSecrets([message, ...rest.map((item) => (typeof item === 'string' ? item : JSON.stringify(item)))].join(' ')));
  };

export class OpenAIProvider implements LlmProvider {
  readonly name = 'openai';
  readonly cancellable = true;
  readonly model: string;
  private readonly client: ChatClient;
  private readonly temperature: number | undefined;
  private readonly maxTokens: number | undefined;

  constructor(options: OpenAIProviderOptions) {
    const checked = optionsSchema.safeParse(options);
    if (!checked.success) throw new TypeError(`axon-llm: openai provider options: ${describeZodError(checked.error, '(options)')}`);
    this.model = options.model;
    this.temperature = options.temperature;
    this.maxTokens = options.maxTokens;
    registerSecrets(options.apiKey);
    const { OpenAI } = loadOpenAI();
    this.client = new OpenAI({
      apiKey: options.apiKey,
      baseURL: options.baseURL,
      timeout: options.timeoutMs ?? 60_000,
      maxRetries: options.maxRetries ?? 2,
      logger: {
        error: scrubbedConsole(console.error),
        warn: scrubbedConsole(console.warn),
        info: scrubbedConsole(console.info),
        debug: scrubbedConsole(console.debug),
      },
    });
  }

  async complete(messages: readonly ChatMessage[], tools: readonly ToolSpec[], signal?: AbortSignal): Promise<ModelReply> {
    let raw: unknown;
    try {
      raw = await this.client.chat.completions.create(
        {
          model: this.model,
          messages,
          tools,
          tool_choice: tools.length > 0 ? 'auto' : undefined,
          temperature: this.temperature,
          max_tokens: this.maxTokens,
        },
        { signal },
      );
    } catch (error) {
      // Scrubbed whole (the SDK puts the endpoint's error body in the message).
      const status = (error as { status?: unknown } | null)?.status;
      const name = error instanceof Error ? error.constructor.name : 'Error';
      const text = error instanceof Error ? error.message : String(error);
      throw new ModelCallError(scrubSecrets(`${name}: ${text}`), typeof status === 'number' ? status : undefined);
    }
    const parsed = completionSchema.safeParse(raw);
    if (!parsed.success) {
      throw new ModelCallError(scrubSecrets(`model ${this.model} answered with a payload axon-llm does not understand: ${describeZodError(parsed.error, '(answer)')}`));
    }
    const response = parsed.data;
    const choice = response.choices[0];
    if (choice === undefined) throw new ModelCallError(`model ${this.model} returned no choices`);
    const toolCalls: ToolCall[] = (choice.message.tool_calls ?? []).flatMap((call) =>
      call.type === 'function' && call.function !== undefined
        ? [{ id: call.id, type: 'function' as const, function: { name: call.function.name, arguments: call.function.arguments } }]
        : [],
    );
    return {
      message: { role: 'assistant', content: choice.message.content ?? null, ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}) },
      usage: {
        promptTokens: response.usage?.prompt_tokens ?? 0,
        completionTokens: response.usage?.completion_tokens ?? 0,
        estimated: response.usage == null,
      },
    };
  }
}
