// A loopback OpenAI: Chat Completions (`/v1/chat/completions`) and Responses (`/v1/responses`),
// non-streaming, with function tool calls. The real client packages (openai, @ai-sdk/openai, the
// Agents SDK) talk to it over HTTP; each test scripts the model's turns from what the request
// carries (the tool outputs so far) and reads back the exact request bodies the server received.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type WireApi = 'chat' | 'responses';

/** One request as received, with the tool outputs it carries back to the model, in order. */
export interface WireRequest {
  api: WireApi;
  body: Record<string, unknown>;
  /** Raw text of the body, as sent. */
  raw: string;
  toolOutputs: string[];
  /** Names of the tools the request offers. */
  toolNames: string[];
}

export interface WireToolCall {
  name: string;
  /** The arguments exactly as the model "wrote" them (a JSON text, possibly malformed). */
  arguments: string;
}

export interface WireReply {
  text?: string;
  toolCalls?: WireToolCall[];
}

export interface FakeOpenAIWire {
  baseURL: string;
  requests: WireRequest[];
  close(): Promise<void>;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Text of a content field: a string, or the text parts of an array. */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((part) => (isRecord(part) && typeof part.text === 'string' ? part.text : '')).join('');
  return '';
}

function toolOutputs(api: WireApi, body: Record<string, unknown>): string[] {
  if (api === 'chat') {
    const messages = Array.isArray(body.messages) ? body.messages : [];
    return messages.filter((m): m is Record<string, unknown> => isRecord(m) && m.role === 'tool').map((m) => contentText(m.content));
  }
  const input = Array.isArray(body.input) ? body.input : [];
  return input.filter((item): item is Record<string, unknown> => isRecord(item) && item.type === 'function_call_output').map((item) => contentText(item.output));
}

function toolNames(api: WireApi, body: Record<string, unknown>): string[] {
  const tools = Array.isArray(body.tools) ? body.tools : [];
  return tools.map((tool) => {
    if (!isRecord(tool)) return '';
    if (api === 'chat' && isRecord(tool.function)) return String(tool.function.name);
    return String(tool.name);
  });
}

let sequence = 0;

function chatCompletion(model: unknown, reply: WireReply): unknown {
  const calls = (reply.toolCalls ?? []).map((call) => ({ id: `call_${++sequence}`, type: 'function', function: call }));
  return {
    id: `chatcmpl-${++sequence}`,
    object: 'chat.completion',
    created: 1_700_000_000,
    model,
    choices: [
      {
        index: 0,
        finish_reason: calls.length > 0 ? 'tool_calls' : 'stop',
        logprobs: null,
        message: { role: 'assistant', content: reply.text ?? null, refusal: null, ...(calls.length > 0 ? { tool_calls: calls } : {}) },
      },
    ],
    usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
  };
}

function response(model: unknown, reply: WireReply): unknown {
  const output: unknown[] = [];
  if (reply.text !== undefined) {
    output.push({
      type: 'message',
      id: `msg_${++sequence}`,
      role: 'assistant',
      status: 'completed',
      content: [{ type: 'output_text', text: reply.text, annotations: [], logprobs: [] }],
    });
  }
  for (const call of reply.toolCalls ?? []) {
    output.push({ type: 'function_call', id: `fc_${++sequence}`, call_id: `call_${sequence}`, name: call.name, arguments: call.arguments, status: 'completed' });
  }
  return {
    id: `resp_${++sequence}`,
    object: 'response',
    created_at: 1_700_000_000,
    status: 'completed',
    model,
    output,
    output_text: reply.text ?? '',
    error: null,
    incomplete_details: null,
    instructions: null,
    metadata: {},
    parallel_tool_calls: true,
    temperature: 1,
    top_p: 1,
    tool_choice: 'auto',
    tools: [],
    usage: { input_tokens: 10, input_tokens_details: { cached_tokens: 0 }, output_tokens: 5, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 15 },
  };
}

export async function startFakeOpenAIWire(script: (request: WireRequest, index: number) => WireReply): Promise<FakeOpenAIWire> {
  const requests: WireRequest[] = [];
  const server: Server = createServer((request, res) => {
    void (async () => {
      const api: WireApi | undefined = request.url === '/v1/chat/completions' ? 'chat' : request.url === '/v1/responses' ? 'responses' : undefined;
      if (request.method !== 'POST' || api === undefined) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"not found"}}');
        return;
      }
      const raw = await readBody(request);
      const body = JSON.parse(raw) as Record<string, unknown>;
      const received: WireRequest = { api, body, raw, toolOutputs: toolOutputs(api, body), toolNames: toolNames(api, body) };
      requests.push(received);
      let reply: WireReply;
      try {
        reply = script(received, requests.length - 1);
      } catch (error) {
        res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `script failed: ${String(error)}`, type: 'server_error' } }));
        return;
      }
      const answer = api === 'chat' ? chatCompletion(body.model, reply) : response(body.model, reply);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

/** The token of the last PendingConfirm ack among the tool outputs, for a scripted model that confirms. */
export function lastConfirmToken(outputs: readonly string[]): string | undefined {
  for (let i = outputs.length - 1; i >= 0; i -= 1) {
    const match = /"status":"PendingConfirm","timestamp_ms":\d+,"confirm_token":"([^"]+)"/.exec(outputs[i] ?? '');
    if (match !== null) return match[1];
  }
  return undefined;
}
