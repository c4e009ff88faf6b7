// Any OpenAI-compatible chat completions endpoint (OpenAI, DeepSeek, Ollama, vLLM) through the
// official `openai` package, with native tool calling.
import OpenAI from 'openai';

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

export class OpenAIProvider implements LlmProvider {
  readonly name = 'openai';
  readonly cancellable = true;
  readonly model: string;
  private readonly client: OpenAI;
  private readonly temperature: number | undefined;
  private readonly maxTokens: number | undefined;

  constructor(options: OpenAIProviderOptions) {
    this.model = options.model;
    this.temperature = options.temperature;
    this.maxTokens = options.maxTokens;
    this.client = new OpenAI({
      apiKey: options.apiKey,
      baseURL: options.baseURL,
      timeout: options.timeoutMs ?? 60_000,
      maxRetries: options.maxRetries ?? 2,
    });
  }

  async complete(messages: readonly ChatMessage[], tools: readonly ToolSpec[], signal?: AbortSignal): Promise<ModelReply> {
    const response = await this.client.chat.completions.create(
      {
        model: this.model,
        messages: messages as OpenAI.Chat.Completions.ChatCompletionMessageParam[],
        tools: tools as OpenAI.Chat.Completions.ChatCompletionTool[],
        tool_choice: tools.length > 0 ? 'auto' : undefined,
        temperature: this.temperature,
        max_tokens: this.maxTokens,
      },
      { signal },
    );
    const choice = response.choices[0];
    if (choice === undefined) throw new Error(`model ${this.model} returned no choices`);
    const toolCalls: ToolCall[] = (choice.message.tool_calls ?? [])
      .filter((call): call is OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall => call.type === 'function')
      .map((call) => ({ id: call.id, type: 'function', function: { name: call.function.name, arguments: call.function.arguments } }));
    return {
      message: { role: 'assistant', content: choice.message.content ?? null, ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}) },
      usage: {
        promptTokens: response.usage?.prompt_tokens ?? 0,
        completionTokens: response.usage?.completion_tokens ?? 0,
        estimated: response.usage === undefined,
      },
    };
  }
}
