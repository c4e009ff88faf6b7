// `createMcpServer` as a library (`axon-llm/mcp`), in-process over the SDK's linked in-memory
// transports: it serves whatever tools it is given (annotations from the name table, destructive
// for a name it does not know), and a TwoPhase confirmation that cannot be obtained sends nothing.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { ElicitRequestSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';

import { MockTradingBackend } from '../ts/backends/mock';
import { ToolError } from '../ts/errors';
import { createMcpServer, serveMcpHttp, toolAnnotations, type CreateMcpServerOptions, type McpServedTool, type McpToolRecord, type McpTradingTools } from '../ts/mcp';
import { createTradingTools, type TradingTools } from '../ts/tools';

const opened: { close(): unknown }[] = [];
afterEach(async () => {
  for (const item of opened.splice(0).reverse()) await item.close();
});

function guarded(mode: 'DryRun' | 'TwoPhase' | 'Direct'): { tools: TradingTools; backend: MockTradingBackend } {
  const backend = new MockTradingBackend({ referencePrices: { 'BTC-USDT': 50_000 } });
  const tools = createTradingTools({ backend, mode, risk: { allowedSymbols: ['BTC-USDT'] } });
  opened.push(tools);
  return { tools, backend };
}

async function connect(tools: McpTradingTools, client: Client, options: CreateMcpServerOptions = {}): Promise<Client> {
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  const server = createMcpServer(tools, { confirmTimeoutMs: 5_000, ...options });
  await server.connect(serverSide);
  await client.connect(clientSide);
  opened.push(client, server);
  return client;
}

const call = (client: Client, name: string, args: Record<string, unknown>) => client.callTool({ name, arguments: args }) as Promise<CallToolResult>;

describe('createMcpServer', () => {
  it('serves any number of tools; a name the table does not know is announced as destructive', async () => {
    const { tools } = guarded('DryRun');
    const echo = (name: string): McpServedTool => ({
      name,
      description: `${name} for the spec`,
      parameters: { type: 'object', properties: { note: { type: ['string', 'null'] } }, required: ['note'], additionalProperties: false },
      execute: (args) => Promise.resolve(JSON.stringify({ seen: JSON.parse(args) as unknown })),
    });
    const served: McpTradingTools = { tools: [...tools.tools, echo('rebalance_everything')], mode: tools.mode, state: () => tools.state() };
    const client = await connect(served, new Client({ name: 'spec', version: '1' }));

    const listed = (await client.listTools()).tools;
    expect(listed.map((t) => t.name)).toEqual([...tools.tools.map((t) => t.name), 'rebalance_everything']);
    const byName = new Map(listed.map((t) => [t.name, t]));
    expect(byName.get('get_pnl')?.annotations).toMatchObject({ readOnlyHint: true });
    expect(byName.get('rebalance_everything')?.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true });
    expect(toolAnnotations('rebalance_everything')).toMatchObject({ destructiveHint: true });
    // A tool whose results the table does not describe: no outputSchema, its JSON object still structured.
    expect(byName.get('rebalance_everything')?.outputSchema).toBeUndefined();
    const result = await call(client, 'rebalance_everything', { note: 'hi' });
    expect(result.structuredContent).toEqual({ seen: { note: 'hi' } });

    await expect(call(client, 'no_such_tool', {})).rejects.toThrow(/unknown tool 'no_such_tool', expected one of: place_order/);
  });

  it('a refusal thrown by any tool comes back as isError with its ToolError JSON; another failure is a protocol error', async () => {
    const { tools } = guarded('DryRun');
    const refusing: McpServedTool = {
      name: 'read_news',
      description: 'refuses',
      parameters: { type: 'object', properties: {} },
      execute: () => Promise.reject(new ToolError({ error_type: 'ExecutionFailed', source: 'Backend', code: 'BACKEND_NETWORK', message: 'Backend: network: down' })),
    };
    const broken: McpServedTool = { ...refusing, name: 'read_weather', execute: () => Promise.reject(new Error('bug')) };
    const client = await connect({ tools: [...tools.tools, refusing, broken], mode: tools.mode, state: () => tools.state() }, new Client({ name: 'spec', version: '1' }));
    const refused = await call(client, 'read_news', {});
    expect(refused.isError).toBe(true);
    expect(refused.structuredContent).toEqual({ error_type: 'ExecutionFailed', source: 'Backend', code: 'BACKEND_NETWORK', message: 'Backend: network: down' });
    await expect(call(client, 'read_weather', {})).rejects.toThrow(/bug/);
  });

  it('records every call; a record that cannot be kept is logged and the client still gets the result', async () => {
    const { tools, backend } = guarded('Direct');
    const records: McpToolRecord[] = [];
    const logged: string[] = [];
    const client = await connect(tools, new Client({ name: 'spec', version: '1' }), {
      onToolResult: (record) => {
        records.push(record);
        if (records.length === 2) throw new Error('disk full');
      },
      logger: { isEnabled: () => true, log: (_level, record) => logged.push(record.msg) },
    });
    const args = { symbol: 'BTC-USDT', side: 'Buy', quantity: 0.1, price: 49_000 };
    expect((await call(client, 'place_order', args)).structuredContent).toMatchObject({ status: 'New' });
    expect((await call(client, 'place_order', args)).structuredContent).toMatchObject({ status: 'New' });
    expect((await call(client, 'place_order', { ...args, symbol: 'ETH-USDT' })).isError).toBe(true);
    expect(records.map((r) => [r.tool, r.ok, r.code, JSON.parse(r.args) as unknown])).toEqual([
      ['place_order', true, undefined, args],
      ['place_order', true, undefined, args],
      ['place_order', false, 'SYMBOL_NOT_ALLOWED', { ...args, symbol: 'ETH-USDT' }],
    ]);
    expect(backend.openOrders()).toHaveLength(2);
    expect(logged).toEqual(['mcp: the record of a place_order call was not kept: Error: disk full']);
  });

  it('refuses a tool whose parameters are not an object schema, naming it', () => {
    const { tools } = guarded('DryRun');
    const bad: McpServedTool = { name: 'odd', description: '', parameters: { type: 'array' }, execute: () => Promise.resolve('{}') };
    expect(() => createMcpServer({ tools: [...tools.tools, bad], mode: tools.mode, state: () => tools.state() })).toThrow(/tool odd: parameters must be a JSON Schema of type "object"/);
  });

  it('TwoPhase: a confirmation that fails (the client errs) sends nothing and says so', async () => {
    const { tools, backend } = guarded('TwoPhase');
    const client = new Client({ name: 'spec', version: '1' }, { capabilities: { elicitation: { form: {} } } });
    client.setRequestHandler(ElicitRequestSchema, () => {
      throw new Error('the confirmation dialog crashed');
    });
    await connect(tools, client);
    const result = await call(client, 'place_order', { symbol: 'BTC-USDT', side: 'Buy', quantity: 0.1, price: 49_000 });
    expect(result.isError).toBe(true);
    expect(result.structuredContent).toMatchObject({ source: 'SafetyMode', code: 'CONFIRMATION_FAILED' });
    expect(JSON.stringify(result)).not.toContain('confirm_token');
    expect(backend.openOrders()).toEqual([]);
    expect(tools.state().dailyOrders).toBe(0);
  });

  it('TwoPhase: the user sees every field quoted (a model-chosen string cannot pose as another field), and an accept sends exactly that order', async () => {
    const { tools, backend } = guarded('TwoPhase');
    const messages: string[] = [];
    const client = new Client({ name: 'spec', version: '1' }, { capabilities: { elicitation: {} } });
    client.setRequestHandler(ElicitRequestSchema, (request) => {
      messages.push(request.params.message);
      return { action: 'accept' };
    });
    await connect(tools, client);
    const sneaky = 'x"quantity=0.001';
    const result = await call(client, 'place_order', { symbol: 'BTC-USDT', side: 'Buy', quantity: 0.5, price: 49_000, client_order_id: sneaky });
    expect(result.structuredContent).toMatchObject({ status: 'New', quantity: 0.5 });
    expect(messages).toEqual([`TwoPhase: confirm place_order symbol="BTC-USDT" side="Buy" quantity=0.5 price=49000 client_order_id=${JSON.stringify(sneaky)}? Accept sends it to the venue; decline drops it.`]);
    expect(backend.openOrders()).toMatchObject([{ clientOrderId: sneaky, quantity: 0.5, price: 49_000 }]);
  });

  it('elicitConfirmations: false answers PendingConfirm with the token even to a client that can elicit', async () => {
    const { tools, backend } = guarded('TwoPhase');
    const client = new Client({ name: 'spec', version: '1' }, { capabilities: { elicitation: {} } });
    client.setRequestHandler(ElicitRequestSchema, () => {
      throw new Error('must not be asked');
    });
    await connect(tools, client, { elicitConfirmations: false });
    const result = await call(client, 'place_order', { symbol: 'BTC-USDT', side: 'Buy', quantity: 0.1, price: 49_000 });
    expect(result.structuredContent).toMatchObject({ status: 'PendingConfirm' });
    expect(typeof (result.structuredContent as { confirm_token?: unknown }).confirm_token).toBe('string');
    expect(backend.openOrders()).toEqual([]);
  });

  it('replace_order in TwoPhase is confirmed the same way (any tool that answers PendingConfirm)', async () => {
    const { tools, backend } = guarded('TwoPhase');
    let asked = 0;
    const client = new Client({ name: 'spec', version: '1' }, { capabilities: { elicitation: {} } });
    client.setRequestHandler(ElicitRequestSchema, () => {
      asked += 1;
      return { action: 'accept' };
    });
    await connect(tools, client);
    const placed = await call(client, 'place_order', { symbol: 'BTC-USDT', side: 'Buy', quantity: 0.5, price: 49_000 });
    const orderId = (placed.structuredContent as { order_id: string }).order_id;
    const replaced = await call(client, 'replace_order', { order_id: orderId, price: 48_000 });
    expect(replaced.isError ?? false).toBe(false);
    expect(asked).toBe(2);
    expect(backend.openOrders()).toMatchObject([{ price: 48_000, quantity: 0.5 }]);
  });
});

describe('serveMcpHttp', () => {
  it('keeps at most maxSessions sessions: a new client closes the least recently used one', async () => {
    const { tools } = guarded('DryRun');
    const served = await serveMcpHttp(() => createMcpServer(tools), { port: 0, maxSessions: 1 });
    opened.push({ close: () => served.close() });
    const first = new Client({ name: 'first', version: '1' });
    await first.connect(new StreamableHTTPClientTransport(new URL(served.url)));
    opened.push(first);
    expect((await first.listTools()).tools.length).toBe(tools.tools.length);
    const second = new Client({ name: 'second', version: '1' });
    await second.connect(new StreamableHTTPClientTransport(new URL(served.url)));
    opened.push(second);
    expect((await second.listTools()).tools.length).toBe(tools.tools.length);
    await expect(first.listTools()).rejects.toThrow(/Session not found/);
  });

  it('answers 413 to a body over maxBodyBytes, 404 off the endpoint path, 405 to other methods', async () => {
    const { tools } = guarded('DryRun');
    const served = await serveMcpHttp(() => createMcpServer(tools), { port: 0, maxBodyBytes: 1_000 });
    opened.push({ close: () => served.close() });
    const post = (url: string, body: string) => fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body });
    expect((await post(served.url, JSON.stringify({ padding: 'x'.repeat(2_000) }))).status).toBe(413);
    expect((await post(served.url.replace('/mcp', '/other'), '{}')).status).toBe(404);
    expect((await fetch(served.url, { method: 'PUT', body: '{}' })).status).toBe(405);
    expect((await post(served.url, 'not json')).status).toBe(400);
  });

  it('refuses a non-loopback host without a token and a short token, naming the option', async () => {
    const { tools } = guarded('DryRun');
    await expect(serveMcpHttp(() => createMcpServer(tools), { port: 0, host: '0.0.0.0' })).rejects.toThrow(/host 0\.0\.0\.0 is not a loopback address: serving it requires the token option/);
    await expect(serveMcpHttp(() => createMcpServer(tools), { port: 0, token: 'too-short' })).rejects.toThrow(/token must be at least 16 characters, got 9/);
  });
});
