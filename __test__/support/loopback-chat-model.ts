// A tiny LangChain chat model that speaks OpenAI Chat Completions over HTTP (no @langchain/openai
// in node_modules): `bindTools` formats tools the way LangChain formats them for OpenAI
// (`convertToOpenAITool`), and the reply's tool calls become LangChain tool calls.
import { BaseChatModel, type BaseChatModelCallOptions, type BindToolsInput } from '@langchain/core/language_models/chat_models';
import { AIMessage, ToolMessage, type AIMessageChunk, type BaseMessage } from '@langchain/core/messages';
import type { ChatResult } from '@langchain/core/outputs';
import type { Runnable } from '@langchain/core/runnables';
import type { BaseLanguageModelInput } from '@langchain/core/language_models/base';
import { convertToOpenAITool } from '@langchain/core/utils/function_calling';

export interface LoopbackCallOptions extends BaseChatModelCallOptions {
  tools?: ReturnType<typeof convertToOpenAITool>[];
}

interface WireToolCall {
  id: string;
  function: { name: string; arguments: string };
}

function wireMessage(message: BaseMessage): Record<string, unknown> {
  const text = typeof message.content === 'string' ? message.content : JSON.stringify(message.content);
  if (AIMessage.isInstance(message)) {
    const calls = message.tool_calls ?? [];
    return {
      role: 'assistant',
      content: text === '' ? null : text,
      ...(calls.length > 0 ? { tool_calls: calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: JSON.stringify(c.args) } })) } : {}),
    };
  }
  if (ToolMessage.isInstance(message)) return { role: 'tool', tool_call_id: message.tool_call_id, content: text };
  if (message.type === 'human') return { role: 'user', content: text };
  if (message.type === 'system') return { role: 'system', content: text };
  throw new Error(`loopback chat model: unsupported message type ${message.type}`);
}

export class LoopbackChatModel extends BaseChatModel<LoopbackCallOptions> {
  constructor(private readonly baseURL: string) {
    super({});
  }

  _llmType(): string {
    return 'loopback-openai';
  }

  override bindTools(tools: BindToolsInput[], kwargs?: Partial<LoopbackCallOptions>): Runnable<BaseLanguageModelInput, AIMessageChunk, LoopbackCallOptions> {
    return this.withConfig({ ...kwargs, tools: tools.map((tool) => convertToOpenAITool(tool)) });
  }

  async _generate(messages: BaseMessage[], options: this['ParsedCallOptions']): Promise<ChatResult> {
    const response = await fetch(`${this.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-test', messages: messages.map(wireMessage), ...(options.tools === undefined ? {} : { tools: options.tools }) }),
    });
    const body = (await response.json()) as { choices: Array<{ message: { content: string | null; tool_calls?: WireToolCall[] } }> };
    const reply = body.choices[0]?.message;
    const message = new AIMessage({
      content: reply?.content ?? '',
      tool_calls: (reply?.tool_calls ?? []).map((call) => ({ id: call.id, name: call.function.name, args: JSON.parse(call.function.arguments) as Record<string, unknown>, type: 'tool_call' as const })),
    });
    return { generations: [{ text: reply?.content ?? '', message }] };
  }
}
