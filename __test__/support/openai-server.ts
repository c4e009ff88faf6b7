// A local OpenAI-compatible chat completions server for tests: the real `openai` client talks to
// it over loopback; each test scripts the replies and inspects the requests it received.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ChatRequest {
  model: string;
  messages: Array<{ role: string; content: string | null; tool_calls?: unknown[]; tool_call_id?: string }>;
  tools?: Array<{ type: string; function: { name: string } }>;
  [key: string]: unknown;
}

export interface ScriptedReply {
  content?: string | null;
  toolCalls?: Array<{ name: string; arguments: string }>;
  /** Answer with this HTTP status and an error body instead. */
  status?: number;
  /** The error body's message (default `scripted <status>`); gateways echo request headers here. */
  errorMessage?: (headers: IncomingMessage['headers']) => string;
  /** Answer only once this settles (the test decides when the model answers). */
  until?: Promise<unknown>;
}

export interface FakeOpenAI {
  baseURL: string;
  requests: ChatRequest[];
  authorization: Array<string | undefined>;
  close(): Promise<void>;
}

async function body(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startFakeOpenAI(script: (request: ChatRequest, index: number) => ScriptedReply): Promise<FakeOpenAI> {
  const requests: ChatRequest[] = [];
  const authorization: Array<string | undefined> = [];
  let callId = 0;
  const server: Server = createServer((request, response) => {
    void (async () => {
      if (request.method !== 'POST' || request.url !== '/v1/chat/completions') {
        response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"not found"}}');
        return;
      }
      const parsed = JSON.parse(await body(request)) as ChatRequest;
      requests.push(parsed);
      authorization.push(request.headers.authorization);
      const reply = script(parsed, requests.length - 1);
      if (reply.until !== undefined) await reply.until.catch(() => undefined);
      // The client may have given up meanwhile (the request itself is already consumed, hence destroyed).
      if (response.destroyed || response.socket?.destroyed === true) return;
      if (reply.status !== undefined) {
        response.writeHead(reply.status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: reply.errorMessage?.(request.headers) ?? `scripted ${reply.status}`, type: 'server_error' } }));
        return;
      }
      const toolCalls = (reply.toolCalls ?? []).map((call) => ({ id: `call_${++callId}`, type: 'function', function: call }));
      const promptChars = JSON.stringify(parsed.messages).length;
      response.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          id: `chatcmpl-${requests.length}`,
          object: 'chat.completion',
          created: 1_700_000_000,
          model: parsed.model,
          choices: [
            {
              index: 0,
              finish_reason: toolCalls.length > 0 ? 'tool_calls' : 'stop',
              message: { role: 'assistant', content: reply.content ?? null, ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}) },
            },
          ],
          usage: { prompt_tokens: Math.ceil(promptChars / 4), completion_tokens: 7 * (toolCalls.length + 1), total_tokens: 0 },
        }),
      );
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    authorization,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      }),
  };
}
