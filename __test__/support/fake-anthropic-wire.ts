// A loopback Anthropic Messages API (`POST /v1/messages`, non-streaming) with `tool_use` blocks.
// The real @anthropic-ai/sdk talks to it; each test scripts the model's turns from the
// `tool_result` blocks a request carries and reads back the exact request bodies.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface AnthropicToolResult {
  tool_use_id: string;
  content: string;
  is_error: boolean;
}

export interface AnthropicWireRequest {
  body: Record<string, unknown>;
  toolResults: AnthropicToolResult[];
  toolNames: string[];
}

export interface AnthropicWireReply {
  text?: string;
  toolUses?: Array<{ name: string; input: unknown }>;
}

export interface FakeAnthropicWire {
  baseURL: string;
  requests: AnthropicWireRequest[];
  close(): Promise<void>;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function resultText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((block) => (isRecord(block) && typeof block.text === 'string' ? block.text : '')).join('');
  return '';
}

function toolResults(body: Record<string, unknown>): AnthropicToolResult[] {
  const results: AnthropicToolResult[] = [];
  for (const message of Array.isArray(body.messages) ? body.messages : []) {
    if (!isRecord(message) || message.role !== 'user' || !Array.isArray(message.content)) continue;
    for (const block of message.content) {
      if (isRecord(block) && block.type === 'tool_result') {
        results.push({ tool_use_id: String(block.tool_use_id), content: resultText(block.content), is_error: block.is_error === true });
      }
    }
  }
  return results;
}

let sequence = 0;

export async function startFakeAnthropicWire(script: (request: AnthropicWireRequest, index: number) => AnthropicWireReply): Promise<FakeAnthropicWire> {
  const requests: AnthropicWireRequest[] = [];
  const server: Server = createServer((request, res) => {
    void (async () => {
      if (request.method !== 'POST' || request.url?.split('?')[0] !== '/v1/messages') {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"type":"error","error":{"type":"not_found_error","message":"not found"}}');
        return;
      }
      const body = JSON.parse(await readBody(request)) as Record<string, unknown>;
      const tools = Array.isArray(body.tools) ? body.tools : [];
      const received: AnthropicWireRequest = { body, toolResults: toolResults(body), toolNames: tools.map((t) => (isRecord(t) ? String(t.name) : '')) };
      requests.push(received);
      const reply = script(received, requests.length - 1);
      const content: unknown[] = [];
      if (reply.text !== undefined) content.push({ type: 'text', text: reply.text });
      for (const use of reply.toolUses ?? []) content.push({ type: 'tool_use', id: `toolu_${++sequence}`, name: use.name, input: use.input });
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          id: `msg_${++sequence}`,
          type: 'message',
          role: 'assistant',
          model: body.model,
          content,
          stop_reason: (reply.toolUses ?? []).length > 0 ? 'tool_use' : 'end_turn',
          stop_sequence: null,
          usage: { input_tokens: 10, output_tokens: 5 },
        }),
      );
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}`,
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
