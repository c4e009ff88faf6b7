// `llm-trading-agent mcp` as a process, driven by the MCP SDK's own Client over stdio and over
// Streamable HTTP: the tools with their schemas and annotations, acks as structuredContent,
// refusals as isError with the ToolError JSON, TwoPhase confirmed through elicitation (one order
// at a real venue over loopback) or declined (none), and what the HTTP endpoint lets in.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema, type CallToolResult, type ElicitResult } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';

import type { AuditRecord } from '../ts/agent/audit';
import { MockTradingBackend } from '../ts/backends/mock';
import { createTradingTools } from '../ts/tools';
import { startFakeBinance, type FakeBinance } from './support/fake-binance';

const CLI = join(__dirname, '..', 'dist', 'ts', 'cli.js');
const KEY = 'mcp-key-5e6f7a8b9c0d';
const SECRET = 'mcp-secret-1a2b3c4d5e6f';
const TOKEN = 'mcp-token-0123456789abcdef';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

/** The names and schemas the tools have in-process: what the server must list. */
function localTools() {
  const tools = createTradingTools({ backend: new MockTradingBackend() });
  const list = tools.tools.map((tool) => ({ name: tool.name, parameters: tool.parameters }));
  tools.close();
  return list;
}

function mockConfig(mode: 'DryRun' | 'TwoPhase' | 'Direct'): string {
  const dir = mkdtempSync(join(tmpdir(), 'axon-mcp-'));
  const path = join(dir, 'config.toml');
  writeFileSync(
    path,
    `[trading]\nbackend = "mock"\n[safety]\nmode = "${mode}"\n[risk]\nallowed_symbols = ["BTC-USDT"]\nmax_order_notional = 50000.0\ndaily_counts_file = "none"\n[agent]\naudit = "${join(dir, 'audit.jsonl')}"\n`,
  );
  return path;
}

/** A TwoPhase config on the exchange backend pointed at the loopback Binance venue. */
function venueConfig(venue: FakeBinance): string {
  const dir = mkdtempSync(join(tmpdir(), 'axon-mcp-'));
  const path = join(dir, 'config.toml');
  writeFileSync(
    path,
    [
      '[trading]',
      'backend = "exchange"',
      'api_key = "${AXON_API_KEY}"',
      'api_secret = "${AXON_API_SECRET}"',
      'testnet = true',
      `base_url = "${venue.baseUrl}"`,
      '[safety]',
      'mode = "TwoPhase"',
      '[risk]',
      'allowed_symbols = ["BTC-USDT"]',
      'max_order_notional = 50000.0',
      `daily_counts_file = "${join(dir, 'daily-counts.json')}"`,
      '[agent]',
      `audit = "${join(dir, 'audit.jsonl')}"`,
    ].join('\n'),
  );
  return path;
}

/** The tool records the server audited next to `config`: [tool, ok, code or status]. */
function audited(config: string): [string, boolean, string][] {
  return readFileSync(join(dirname(config), 'audit.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as AuditRecord)
    .filter((r): r is Extract<AuditRecord, { kind: 'tool' }> => r.kind === 'tool')
    .map((r) => [r.tool, r.ok, r.code ?? (JSON.parse(r.result) as { status?: string }).status ?? 'read']);
}

const childEnv = (extra: Record<string, string> = {}): Record<string, string> => ({
  PATH: process.env.PATH ?? '',
  LOG_LEVEL: 'info',
  AXON_API_KEY: KEY,
  AXON_API_SECRET: SECRET,
  ...extra,
});

async function stdioClient(config: string, capabilities: ConstructorParameters<typeof Client>[1] = {}) {
  const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, 'mcp', '--config', config], env: childEnv(), stderr: 'pipe' });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const client = new Client({ name: 'mcp-spec', version: '1.0.0' }, capabilities);
  await client.connect(transport);
  cleanups.push(() => client.close());
  return { client, stderr: () => stderr };
}

/** Start `mcp --http 0 ...`; resolves once it prints the URL it serves. */
function startHttp(config: string, extraArgs: string[] = [], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [CLI, 'mcp', '--config', config, '--http', '0', ...extraArgs], { env: childEnv(env) });
  let stderr = '';
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const url = new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      const found = /over Streamable HTTP at (http:\/\/\S+)/.exec(stderr);
      if (found !== null) resolve(found[1] as string);
    });
    void exited.then((code) => { reject(new Error(`mcp exited with ${code}: ${stderr}`)); });
  });
  cleanups.push(async () => {
    child.kill('SIGTERM');
    await exited;
  });
  return { child, url, exited, output: () => ({ stdout, stderr }) };
}

async function httpClient(url: string, capabilities: ConstructorParameters<typeof Client>[1] = {}, token?: string) {
  const transport = new StreamableHTTPClientTransport(new URL(url), token === undefined ? {} : { requestInit: { headers: { Authorization: `Bearer ${token}` } } });
  const client = new Client({ name: 'mcp-spec', version: '1.0.0' }, capabilities);
  await client.connect(transport);
  cleanups.push(() => client.close());
  return client;
}

const call = (client: Client, name: string, args: Record<string, unknown>) => client.callTool({ name, arguments: args }) as Promise<CallToolResult>;

/** The ToolError of a refusal, after checking its text and structuredContent agree. */
function refusalOf(result: CallToolResult): { code: string; source: string; message: string } {
  expect(result.isError).toBe(true);
  const first = result.content[0];
  expect(first?.type).toBe('text');
  const fromText = JSON.parse((first as { text: string }).text) as Record<string, string>;
  expect(result.structuredContent).toEqual(fromText);
  return fromText as { code: string; source: string; message: string };
}

function ackOf(result: CallToolResult): Record<string, unknown> {
  expect(result.isError ?? false).toBe(false);
  expect(result.structuredContent).toBeDefined();
  expect(JSON.parse((result.content[0] as { text: string }).text)).toEqual(result.structuredContent);
  return result.structuredContent as Record<string, unknown>;
}

/** Lists and calls every tool of a DryRun server on the mock backend. */
async function exerciseDryRunTools(client: Client): Promise<void> {
  const { tools } = await client.listTools();
  const expected = localTools();
  expect(tools.map((t) => t.name)).toEqual(expected.map((t) => t.name));
  for (const tool of tools) {
    // The tool's own JSON Schema, not a conversion of it.
    expect(tool.inputSchema).toEqual(expected.find((t) => t.name === tool.name)?.parameters);
    expect(tool.outputSchema).toBeDefined();
    const hints = tool.annotations ?? {};
    expect(hints.readOnlyHint === true || hints.destructiveHint === true, tool.name).toBe(true);
  }
  const byName = new Map(tools.map((t) => [t.name, t]));
  for (const name of ['place_order', 'cancel_order', 'replace_order']) {
    expect(byName.get(name)?.annotations).toMatchObject({ destructiveHint: true, readOnlyHint: false });
  }
  expect(byName.get('query_portfolio')?.annotations).toMatchObject({ readOnlyHint: true });
  expect(byName.get('query_portfolio')?.annotations?.destructiveHint).toBeUndefined();

  const placed = ackOf(await call(client, 'place_order', { symbol: 'BTC-USDT', side: 'Buy', quantity: 0.1, price: 49_000 }));
  expect(placed).toMatchObject({ symbol: 'BTC-USDT', side: 'Buy', quantity: 0.1, status: 'DryRun' });
  expect(ackOf(await call(client, 'cancel_order', { order_id: 'mock-7' }))).toMatchObject({ order_id: 'mock-7', status: 'DryRun' });
  const portfolio = ackOf(await call(client, 'query_portfolio', {}));
  expect(portfolio).toEqual({ balances: [{ asset: 'USDT', free: 100_000, locked: 0 }], positions: [], open_orders: [] });

  // The read tools (the client checks each structuredContent against the tool's outputSchema).
  for (const name of ['get_book_snapshot', 'get_pnl', 'finish_bar']) {
    expect(byName.get(name)?.annotations, name).toMatchObject({ readOnlyHint: true });
  }
  // The config's mock has no price for BTC-USDT: it knows no such market (the book is read over HTTP below).
  expect(refusalOf(await call(client, 'get_book_snapshot', { symbol: 'BTC-USDT', levels: 5 }))).toMatchObject({ code: 'BACKEND_SYMBOL_NOT_FOUND' });
  expect(ackOf(await call(client, 'get_pnl', { symbol: null }))).toMatchObject({ positions: [], total_unrealized_pnl: 0, realized_pnl_today: 0 });
  expect(ackOf(await call(client, 'finish_bar', { note: 'nothing to do' }))).toEqual({
    finished: true,
    note: 'nothing to do',
    mode: 'DryRun',
    orders_today: 0,
    cancels_today: 0,
    pending_confirms: 0,
    breaker: null,
  });
  expect(refusalOf(await call(client, 'get_book_snapshot', { symbol: 'BTC-USDT', levels: 51 }))).toMatchObject({
    code: 'INVALID_ARGUMENTS',
    message: 'Arguments: field `levels` must be a whole number from 1 to 50, got 51',
  });

  expect(refusalOf(await call(client, 'replace_order', { order_id: 'mock-7', price: 48_000 }))).toMatchObject({ source: 'Backend', code: 'BACKEND_REJECTED' });
  expect(refusalOf(await call(client, 'place_order', { symbol: 'ETH-USDT', side: 'Buy', quantity: 0.1, price: 1_000 }))).toEqual({
    error_type: 'ExecutionFailed',
    source: 'RiskLimits',
    code: 'SYMBOL_NOT_ALLOWED',
    message: "RiskLimits: symbol 'ETH-USDT' not in allowed list",
  });
  // A malformed argument gets the guard's own message (the server does not validate first).
  const malformed = refusalOf(await call(client, 'place_order', { symbol: 'BTC-USDT', side: 'Buy', quantity: -1, price: 49_000 }));
  expect(malformed).toMatchObject({ source: 'Arguments', code: 'INVALID_ARGUMENTS' });
  expect(malformed.message).toContain('quantity');

  const risk = await client.readResource({ uri: 'axon://risk-state' });
  const state = JSON.parse((risk.contents[0] as { text: string }).text) as { mode: string; limits: { risk: Record<string, unknown> }; state: { mode: string } };
  expect(state.mode).toBe('DryRun');
  expect(state.limits.risk).toMatchObject({ allowedSymbols: ['BTC-USDT'], maxOrderNotional: 50_000 });
  expect(state.state.mode).toBe('DryRun');
  const resource = await client.readResource({ uri: 'axon://portfolio' });
  expect(JSON.parse((resource.contents[0] as { text: string }).text)).toEqual(portfolio);
}

describe('llm-trading-agent mcp over stdio', () => {
  it('lists the tools with their schemas and annotations, answers acks as structuredContent and refusals as isError', async () => {
    const config = mockConfig('DryRun');
    const { client, stderr } = await stdioClient(config);
    await exerciseDryRunTools(client);
    // Every call is in the audit trail, refusals with their code.
    expect(audited(config)).toEqual([
      ['place_order', true, 'DryRun'],
      ['cancel_order', true, 'DryRun'],
      ['query_portfolio', true, 'read'],
      ['get_book_snapshot', false, 'BACKEND_SYMBOL_NOT_FOUND'],
      ['get_pnl', true, 'read'],
      ['finish_bar', true, 'read'],
      ['get_book_snapshot', false, 'INVALID_ARGUMENTS'],
      ['replace_order', false, 'BACKEND_REJECTED'],
      ['place_order', false, 'SYMBOL_NOT_ALLOWED'],
      ['place_order', false, 'INVALID_ARGUMENTS'],
    ]);
    // Logs went to stderr (the protocol on stdout kept working throughout).
    expect(stderr()).toContain('"msg":"RiskLimits: symbol');
  });

  it('writes only JSON-RPC messages on stdout; its logs go to stderr', async () => {
    const child: ChildProcessWithoutNullStreams = spawn(process.execPath, [CLI, 'mcp', '--config', mockConfig('DryRun')], { env: childEnv({ LOG_LEVEL: 'debug' }) });
    cleanups.push(() => Promise.resolve(child.kill('SIGTERM')));
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const lines: string[] = [];
    const answered = new Map<number, () => void>();
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line);
      const id = (JSON.parse(line) as { id?: number }).id;
      if (id !== undefined) answered.get(id)?.();
    });
    const request = (id: number, method: string, params: object) => {
      const done = new Promise<void>((resolve) => answered.set(id, resolve));
      child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
      return done;
    };
    await request(1, 'initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } });
    child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
    await request(2, 'tools/call', { name: 'place_order', arguments: { symbol: 'ETH-USDT', side: 'Buy', quantity: 1, price: 1 } });
    await request(3, 'tools/call', { name: 'place_order', arguments: { symbol: 'BTC-USDT', side: 'Buy', quantity: 0.1, price: 49_000 } });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    child.stdin.end();
    expect(await exited).toBe(0);

    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines) expect(JSON.parse(line)).toMatchObject({ jsonrpc: '2.0' });
    // Both decisions were logged, as JSON lines on stderr.
    expect(stderr).toMatch(/\{"level":"warn".*"msg":"RiskLimits: symbol 'ETH-USDT' not in allowed list"\}/);
    expect(stderr).toMatch(/\{"level":"info".*"msg":"DryRun: place_order -> DryRun"/);
  });
});

describe('llm-trading-agent mcp operator signals', () => {
  it('SIGUSR2 resets the breaker by hand, audited and logged; SIGTERM then exits 0', async () => {
    const config = mockConfig('DryRun');
    const child = spawn(process.execPath, [CLI, 'mcp', '--config', config], { env: childEnv() });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    cleanups.push(async () => {
      child.kill('SIGKILL');
      await exited;
    });
    let stderr = '';
    const waiting: (() => void)[] = [];
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      for (const check of waiting) check();
    });
    const seen = (text: string) =>
      new Promise<void>((resolve) => {
        const check = () => {
          if (stderr.includes(text)) resolve();
        };
        waiting.push(check);
        check();
      });
    await seen('over stdio');
    child.kill('SIGUSR2');
    await seen('RiskGate: circuit breaker reset by hand');
    const records = readFileSync(join(dirname(config), 'audit.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as AuditRecord);
    expect(records).toMatchObject([{ kind: 'reset', what: 'gate', by: 'signal', reason: 'SIGUSR2' }]);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});

describe('llm-trading-agent mcp command line', () => {
  const run = (args: string[]) => spawnSync(process.execPath, [CLI, 'mcp', ...args], { env: childEnv(), encoding: 'utf8' });

  it('names what is wrong and writes nothing on stdout', () => {
    const config = mockConfig('DryRun');
    const backtest = join(mkdtempSync(join(tmpdir(), 'axon-mcp-')), 'backtest.toml');
    writeFileSync(backtest, '[trading]\nbackend = "backtest"\n');
    const cases: [string[], number, string][] = [
      [[], 2, 'mcp: --config PATH is required'],
      [['--config', config, '--host', '127.0.0.1'], 2, 'mcp: --host applies only with --http PORT'],
      [['--config', config, '--http', '70000'], 2, "mcp: --http must be a port number 0-65535, got '70000'"],
      [['--config', config, '--verbose'], 2, "Unknown option '--verbose'"],
      [['--config', join(tmpdir(), 'no-such-axon-config.toml')], 1, 'cannot read'],
      [['--config', backtest], 1, 'mcp: [trading] backend = "backtest" replays market data and cannot be served'],
    ];
    for (const [args, status, message] of cases) {
      const result = run(args);
      expect(result.status, args.join(' ')).toBe(status);
      expect(result.stderr, args.join(' ')).toContain(message);
      expect(result.stdout, args.join(' ')).toBe('');
    }
    const help = run(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('usage: llm-trading-agent mcp --config PATH [--http PORT [--host ADDR] [--token-env VAR]]');
  });
});

describe('llm-trading-agent mcp over Streamable HTTP', () => {
  it('SIGUSR1 halts the served tools (no inspector opened), audited: a place is refused with TRADING_HALTED', async () => {
    const config = mockConfig('DryRun');
    const server = startHttp(config);
    const client = await httpClient(await server.url);
    expect((await call(client, 'place_order', { symbol: 'BTC-USDT', side: 'Buy', quantity: 0.01, price: 19_000 })).isError).toBeFalsy();
    server.child.kill('SIGUSR1');
    // The halt is synchronous in the signal handler: the next call after the log line sees it.
    while (!server.output().stderr.includes('SIGUSR1: trading HALTED')) await new Promise((resolve) => setImmediate(resolve));
    expect(server.output().stderr).not.toContain('Debugger listening');
    const refused = refusalOf(await call(client, 'place_order', { symbol: 'BTC-USDT', side: 'Buy', quantity: 0.01, price: 19_000 }));
    expect(refused).toMatchObject({ code: 'TRADING_HALTED', source: 'RiskGate' });
    await client.close();
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    const records = readFileSync(join(dirname(config), 'audit.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as AuditRecord);
    expect(records.filter((r) => r.kind === 'state')).toMatchObject([{ kind: 'state', from: 'ACTIVE', to: 'HALTED', source: 'signal', reason: 'SIGUSR1' }]);
  });

  it('lists and calls the tools like stdio', async () => {
    const server = startHttp(mockConfig('DryRun'));
    const url = await server.url;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    const client = await httpClient(url);
    await exerciseDryRunTools(client);
    await client.close();
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(server.output().stdout).toBe('');
  });

  it('refuses to bind a non-loopback address without a token, naming what is missing', async () => {
    const config = mockConfig('DryRun');
    const noToken = startHttp(config, ['--host', '0.0.0.0']);
    await expect(noToken.url).rejects.toThrow(/--host 0\.0\.0\.0 is not a loopback address: an access token is required; pass --token-env VAR/);
    expect(await noToken.exited).toBe(2);

    const unset = startHttp(config, ['--host', '0.0.0.0', '--token-env', 'AXON_MCP_TOKEN']);
    await expect(unset.url).rejects.toThrow(/--token-env AXON_MCP_TOKEN: environment variable AXON_MCP_TOKEN is not set/);
    expect(await unset.exited).toBe(2);

    const short = startHttp(config, ['--host', '0.0.0.0', '--token-env', 'AXON_MCP_TOKEN'], { AXON_MCP_TOKEN: 'short' });
    await expect(short.url).rejects.toThrow(/the token must be at least 16 characters/);
    expect(await short.exited).toBe(2);
  });

  it('with a token, answers 401 to a request without it or with another one, and serves the right one', async () => {
    const server = startHttp(mockConfig('DryRun'), ['--host', '0.0.0.0', '--token-env', 'AXON_MCP_TOKEN'], { AXON_MCP_TOKEN: TOKEN });
    const url = (await server.url).replace('0.0.0.0', '127.0.0.1');
    const initialize = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    });
    const headers = { 'Content-Type': 'application/json', Accept: 'application/json, text/event-stream' };
    for (const authorization of [undefined, `Bearer ${TOKEN.slice(0, -1)}x`, `Bearer ${TOKEN}x`, `Basic ${TOKEN}`, TOKEN]) {
      const response = await fetch(url, { method: 'POST', headers: authorization === undefined ? headers : { ...headers, Authorization: authorization }, body: initialize });
      expect(response.status, String(authorization)).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
      await response.text();
    }
    await expect(httpClient(url)).rejects.toThrow(/Unauthorized: a valid bearer token is required/);
    const client = await httpClient(url, {}, TOKEN);
    expect((await client.listTools()).tools.length).toBe(localTools().length);
    expect(ackOf(await call(client, 'query_portfolio', {}))).toMatchObject({ open_orders: [] });
    expect(server.output().stderr).not.toContain(TOKEN);
  });

  it('on loopback, refuses a request whose Host or Origin names another machine (DNS rebinding)', async () => {
    const url = new URL(await startHttp(mockConfig('DryRun')).url);
    const { request } = await import('node:http');
    const status = (headers: Record<string, string>) =>
      new Promise<number>((resolve, reject) => {
        const req = request({ host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'Content-Type': 'application/json', ...headers } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end('{}');
      });
    expect(await status({ Host: `attacker.example:${url.port}` })).toBe(403);
    expect(await status({ Origin: 'http://attacker.example' })).toBe(403);
    // The same request from this machine gets past those checks (400: it is no initialize).
    expect(await status({ Origin: `http://localhost:${url.port}` })).toBe(400);
  });
});

describe('TwoPhase through MCP elicitation, against a venue over loopback', () => {
  async function venue(): Promise<FakeBinance> {
    const started = await startFakeBinance({ apiKey: KEY, apiSecret: SECRET, balances: { USDT: 100_000, BTC: 0 } });
    cleanups.push(() => started.close());
    return started;
  }
  const order = { symbol: 'BTC-USDT', side: 'Buy', quantity: 0.01, price: 19_000 };

  it('a client that accepts gets exactly one order placed (over HTTP), and the model never sees the token', async () => {
    const binance = await venue();
    const config = venueConfig(binance);
    const server = startHttp(config);
    const asked: ElicitResult[] = [];
    const messages: string[] = [];
    const client = new Client({ name: 'mcp-spec', version: '1.0.0' }, { capabilities: { elicitation: { form: {} } } });
    client.setRequestHandler(ElicitRequestSchema, (request) => {
      messages.push(request.params.message);
      const answer: ElicitResult = { action: 'accept', content: {} };
      asked.push(answer);
      return answer;
    });
    await client.connect(new StreamableHTTPClientTransport(new URL(await server.url)));
    cleanups.push(() => client.close());

    const result = await call(client, 'place_order', order);
    const ack = ackOf(result);
    expect(ack).toMatchObject({ symbol: 'BTC-USDT', side: 'Buy', quantity: 0.01, status: 'New' });
    expect(JSON.stringify(result)).not.toContain('confirm_token');
    expect(asked).toHaveLength(1);
    expect(messages[0]).toContain('TwoPhase: confirm place_order symbol="BTC-USDT" side="Buy" quantity=0.01 price=19000');

    expect(binance.orders).toHaveLength(1);
    expect(binance.orders[0]).toMatchObject({ symbol: 'BTCUSDT', side: 'BUY', origQty: 0.01, price: 19_000, status: 'NEW' });
    const portfolio = ackOf(await call(client, 'query_portfolio', { symbol: 'BTC-USDT' })) as { open_orders: { order_id: string }[] };
    expect(portfolio.open_orders.map((o) => o.order_id)).toEqual([ack.order_id]);
    // The order rests on the venue's book, which the read tool shows (no confirmation asked for a read).
    const book = ackOf(await call(client, 'get_book_snapshot', { symbol: 'BTC-USDT', levels: 1 }));
    expect(book).toMatchObject({ symbol: 'BTC-USDT', bids: [{ price: 19_000, quantity: 0.01 }], asks: [] });
    expect(asked).toHaveLength(1);
    // The token was used up by the one confirming call; the order counts against today's limit.
    const risk = await client.readResource({ uri: 'axon://risk-state' });
    expect(JSON.parse((risk.contents[0] as { text: string }).text)).toMatchObject({ mode: 'TwoPhase', state: { dailyOrders: 1, pendingConfirms: 0 } });
    // Audited: the proposal, the one confirming call, the reads.
    expect(audited(config)).toEqual([
      ['place_order', true, 'PendingConfirm'],
      ['place_order', true, 'New'],
      ['query_portfolio', true, 'read'],
      ['get_book_snapshot', true, 'read'],
    ]);
  }, 60_000);

  it('a client that declines or dismisses gets nothing placed (over stdio)', async () => {
    const binance = await venue();
    const answers: ElicitResult['action'][] = ['decline', 'cancel'];
    const client = new Client({ name: 'mcp-spec', version: '1.0.0' }, { capabilities: { elicitation: {} } });
    client.setRequestHandler(ElicitRequestSchema, () => ({ action: answers.shift() ?? 'decline' }));
    const config = venueConfig(binance);
    const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, 'mcp', '--config', config], env: childEnv(), stderr: 'pipe' });
    await client.connect(transport);
    cleanups.push(() => client.close());

    expect(refusalOf(await call(client, 'place_order', order))).toMatchObject({ source: 'SafetyMode', code: 'USER_DECLINED' });
    const dismissed = refusalOf(await call(client, 'place_order', order));
    expect(dismissed).toMatchObject({ source: 'SafetyMode', code: 'USER_CANCELLED' });
    expect(dismissed.message).toContain('nothing was sent');
    expect(answers).toHaveLength(0);
    expect(binance.orders).toHaveLength(0);
    expect(ackOf(await call(client, 'query_portfolio', {}))).toMatchObject({ open_orders: [] });
    expect(audited(config)).toEqual([
      ['place_order', true, 'PendingConfirm'],
      ['place_order', false, 'USER_DECLINED'],
      ['place_order', true, 'PendingConfirm'],
      ['place_order', false, 'USER_CANCELLED'],
      ['query_portfolio', true, 'read'],
    ]);
  }, 60_000);

  it('without elicitation, answers PendingConfirm with the token; confirming with it places one order', async () => {
    const binance = await venue();
    const { client } = await stdioClient(venueConfig(binance));
    const pending = ackOf(await call(client, 'place_order', order));
    expect(pending.status).toBe('PendingConfirm');
    expect(typeof pending.confirm_token).toBe('string');
    expect(binance.orders).toHaveLength(0);
    const confirmed = ackOf(await call(client, 'place_order', { ...order, confirm_token: pending.confirm_token }));
    expect(confirmed).toMatchObject({ status: 'New' });
    expect(binance.orders).toHaveLength(1);
    // The token is single-use: a second confirm is refused and places nothing more.
    expect(refusalOf(await call(client, 'place_order', { ...order, confirm_token: pending.confirm_token }))).toMatchObject({ code: 'CONFIRM_TOKEN_INVALID' });
    expect(binance.orders).toHaveLength(1);
  }, 60_000);
});

describe('without @modelcontextprotocol/sdk installed', () => {
  /** This checkout linked into a temp folder whose node_modules has everything but the MCP SDK. */
  function installWithoutSdk(): string {
    const root = join(__dirname, '..');
    const app = mkdtempSync(join(tmpdir(), 'axon-mcp-nosdk-'));
    const addons = readdirSync(root).filter((name) => /^axon-llm\..+\.node$/.test(name));
    for (const entry of ['package.json', 'index.js', 'dist', ...addons]) symlinkSync(join(root, entry), join(app, entry));
    const modules = join(app, 'node_modules');
    mkdirSync(modules);
    for (const name of readdirSync(join(root, 'node_modules'))) {
      if (name.startsWith('.') || name === '@modelcontextprotocol') continue;
      if (!name.startsWith('@')) {
        symlinkSync(join(root, 'node_modules', name), join(modules, name));
        continue;
      }
      mkdirSync(join(modules, name));
      for (const inner of readdirSync(join(root, 'node_modules', name))) symlinkSync(join(root, 'node_modules', name, inner), join(modules, name, inner));
    }
    return app;
  }
  // Symlinks resolved where they are, not where they point: the SDK in this checkout stays out of reach.
  const node = (app: string, args: string[]) =>
    spawnSync(process.execPath, ['--preserve-symlinks', '--preserve-symlinks-main', ...args], { cwd: app, env: childEnv(), encoding: 'utf8' });

  it('the package and the other commands load; mcp fails naming the package to install', () => {
    const app = installWithoutSdk();
    const probe = node(app, ['-e', "require.resolve('@modelcontextprotocol/sdk/server/mcp.js')"]);
    expect(probe.status, 'the SDK must be unreachable from the temp install').not.toBe(0);

    const loaded = node(app, ['-e', "require('./dist/ts/index.js'); require('./dist/ts/cli.js'); console.log(Object.keys(require.cache).some((p) => p.includes('modelcontextprotocol')))"]);
    expect(loaded.stderr).toBe('');
    expect(loaded.stdout.trim()).toBe('false');
    expect(node(app, [join(app, 'dist', 'ts', 'cli.js'), '--version']).status).toBe(0);

    const mcp = node(app, [join(app, 'dist', 'ts', 'cli.js'), 'mcp', '--config', mockConfig('DryRun')]);
    expect(mcp.status).toBe(1);
    expect(mcp.stderr).toContain('mcp needs the optional package "@modelcontextprotocol/sdk": npm install @modelcontextprotocol/sdk');
    expect(mcp.stdout).toBe('');
  });
});
