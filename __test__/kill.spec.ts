// The kill switch and the trading states in the real program (issue 16), as processes: SIGUSR1
// halts a running live agent, the admin endpoint changes the state and kills (mock, OMS), and
// `llm-trading-agent --kill` cancels every open order of the account (OMS, a Binance-speaking venue).
// Each waits on what the program writes, never on time; each run's audit chain still verifies.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';

import { afterEach, describe, expect, it } from 'vitest';

import { AuditLog, type AuditRecord } from '../ts/agent/audit';
import { liveCommand, type LiveSummary } from '../ts/agent/live-command';
import { loadConfig } from '../ts/config';
import { ExchangeTradingBackend } from '../ts/backends/exchange';
import { OmsTradingBackend } from '../ts/backends/oms';
import { startFakeBinance, type FakeBinance } from './support/fake-binance';
import { ADMIN_TOKEN, admin, adminUrl, answersTool, auditRecords, auditVerify, observationAfter, CLI, liveConfig, placedOrderIds, restingBuyer, startProgram } from './support/live-program';
import { deadPort, startOms, type OmsServer } from './support/oms-server';
import { startFakeOpenAI, type FakeOpenAI } from './support/openai-server';

let model: FakeOpenAI | undefined;
let oms: OmsServer | undefined;
let venue: FakeBinance | undefined;
afterEach(async () => {
  await model?.close();
  await oms?.kill('SIGTERM');
  await venue?.close();
  model = undefined;
  oms = undefined;
  venue = undefined;
});

type ToolRecord = Extract<AuditRecord, { kind: 'tool' }>;
const ADMIN = '[admin]\nlisten = "127.0.0.1:0"\n';

/** Resolves when the model has been told the outcome of `count` orders. */
function ordersSeen(count: number): { seen: Promise<void>; script: (script: ReturnType<typeof restingBuyer>) => ReturnType<typeof restingBuyer> } {
  let resolve!: () => void;
  const seen = new Promise<void>((r) => (resolve = r));
  let answered = 0;
  return {
    seen,
    script: (inner) => (request) => {
      if (answersTool(request)) {
        answered += 1;
        if (answered === count) resolve();
      }
      return inner(request);
    },
  };
}

describe('SIGUSR1', () => {
  it('halts a running live agent: the next place is refused with TRADING_HALTED, visible in the audit, which still verifies', async () => {
    // A model that places a resting buy on every observation.
    const first = ordersSeen(1);
    model = await startFakeOpenAI(first.script(restingBuyer(1_000)));
    const setup = liveConfig({ backend: 'mock', modelUrl: model.baseURL });
    const program = startProgram(['--config', setup.config]);
    await first.seen;
    program.child.kill('SIGUSR1');
    await program.stderrMatch(/trading state ACTIVE -> HALTED \(by signal: SIGUSR1\)/);
    await program.stderrMatch(/TRADING_HALTED/);
    program.child.kill('SIGTERM');
    const { code, out, err } = await program.finished;
    expect(code, err).toBe(0);
    expect(err).toContain('SIGUSR1: trading HALTED (was ACTIVE)');
    expect(out).toContain('  trading state   HALTED at the end');
    expect((JSON.parse(readFileSync(join(setup.dir, 'summary.json'), 'utf8')) as LiveSummary).tradingState).toBe('HALTED');

    const records = auditRecords(setup.auditPath);
    const haltAt = records.findIndex((r) => r.kind === 'state');
    expect(records[haltAt]).toMatchObject({ kind: 'state', from: 'ACTIVE', to: 'HALTED', source: 'signal', reason: 'SIGUSR1' });
    const before = records.slice(0, haltAt).filter((r): r is ToolRecord => r.kind === 'tool' && r.tool === 'place_order');
    const after = records.slice(haltAt).filter((r): r is ToolRecord => r.kind === 'tool' && r.tool === 'place_order');
    expect(before.length).toBeGreaterThanOrEqual(1);
    expect(before.every((r) => r.ok)).toBe(true);
    expect(after.length).toBeGreaterThanOrEqual(1);
    expect(after.every((r) => !r.ok && r.code === 'TRADING_HALTED')).toBe(true);
    const verified = auditVerify(setup.auditPath);
    expect(verified.code, verified.out).toBe(0);
    const show = spawnSync(process.execPath, [CLI, 'audit', 'show', setup.auditPath], { encoding: 'utf8' });
    expect(show.status, show.stderr).toBe(0);
    expect(show.stdout).toContain('state changes:  1');
    expect(show.stdout).toMatch(/ ACTIVE -> HALTED by signal: SIGUSR1\n/);
  }, 60_000);
});

describe('SIGUSR1 in process', () => {
  it('a SIGUSR1 that arrives while the run is still starting is held and halts the run once the tools exist', async () => {
    model = await startFakeOpenAI(restingBuyer(1));
    const setup = liveConfig({ backend: 'mock', modelUrl: model.baseURL, maxCycles: 2 });
    const sink = () => new Writable({ write: (_chunk, _encoding, done) => done() });
    const before = process.listenerCount('SIGUSR1');
    const run = liveCommand({ config: loadConfig(setup.config, {}), out: sink(), err: sink(), env: {} });
    // liveCommand is still starting (its first await): the listener is there, the tools not yet handed to it.
    expect(process.listenerCount('SIGUSR1')).toBe(before + 1);
    process.emit('SIGUSR1', 'SIGUSR1');
    expect(await run).toBe(0);
    expect(process.listenerCount('SIGUSR1')).toBe(before);
    const records = auditRecords(setup.auditPath);
    expect(records[0]).toMatchObject({ kind: 'state', from: 'ACTIVE', to: 'HALTED', source: 'signal' });
    const places = records.filter((r): r is ToolRecord => r.kind === 'tool' && r.tool === 'place_order');
    expect(places.map((r) => r.code)).toEqual(['TRADING_HALTED']);
  }, 60_000);
});

describe('admin endpoint of the running program', () => {
  it('on the mock: 401 without the token, a state change, then POST /kill cancels the resting orders; the audit verifies', async () => {
    const placed = ordersSeen(2);
    model = await startFakeOpenAI(placed.script(restingBuyer(2)));
    const setup = liveConfig({ backend: 'mock', modelUrl: model.baseURL, extra: ADMIN });
    const program = startProgram(['--config', setup.config], { AXON_ADMIN_TOKEN: ADMIN_TOKEN });
    const url = await adminUrl(program);
    expect((await admin(url, 'GET', '/state', undefined, '')).status).toBe(401);
    expect((await admin(url, 'GET', '/state', undefined, 'not-the-token-0123456789')).status).toBe(401);
    expect(await admin(url, 'GET', '/state')).toEqual({ status: 200, body: { state: 'ACTIVE' } });
    await placed.seen;
    const ids = placedOrderIds(model.requests);
    expect(ids).toHaveLength(2);
    expect(await admin(url, 'POST', '/state', { state: 'REDUCING', reason: 'desk review' })).toEqual({ status: 200, body: { previous: 'ACTIVE', state: 'REDUCING' } });
    const killed = await admin(url, 'POST', '/kill', { reason: 'operator drill' });
    expect(killed).toEqual({ status: 200, body: { state: 'HALTED', cancelled: ids, failed: [] } });
    // The next observation shows the venue with nothing resting.
    const after = model.requests.length;
    await program.stderrMatch(/"msg":"RiskGate: cancelAll by admin/);
    const observation = await observationAfter(model.requests, after);
    program.child.kill('SIGTERM');
    const { code, err } = await program.finished;
    expect(code, err).toBe(0);
    expect(observation.open_orders).toEqual([]);

    const records = auditRecords(setup.auditPath).filter((r) => r.kind === 'state' || r.kind === 'cancel_all');
    expect(records).toEqual([
      expect.objectContaining({ kind: 'state', from: 'ACTIVE', to: 'REDUCING', source: 'admin', reason: 'desk review' }),
      expect.objectContaining({ kind: 'state', from: 'REDUCING', to: 'HALTED', source: 'admin', reason: 'operator drill' }),
      expect.objectContaining({ kind: 'cancel_all', source: 'admin', cancelled: ids, failed: [] }),
    ]);
    const verified = auditVerify(setup.auditPath);
    expect(verified.code, verified.out).toBe(0);
  }, 60_000);

  it('on the OMS: POST /kill cancels the orders the agent placed there', async () => {
    oms = await startOms();
    expect((await oms.call('POST', '/marks', { symbol: 'BTC-USDT', price: 20_000 })).status).toBe(200);
    const placed = ordersSeen(2);
    model = await startFakeOpenAI(placed.script(restingBuyer(2)));
    const setup = liveConfig({ backend: 'oms', omsUrl: oms.url, modelUrl: model.baseURL, extra: ADMIN });
    const program = startProgram(['--config', setup.config], { AXON_ADMIN_TOKEN: ADMIN_TOKEN });
    const url = await adminUrl(program);
    await placed.seen;
    const ids = placedOrderIds(model.requests);
    expect(ids).toHaveLength(2);
    const killed = await admin(url, 'POST', '/kill');
    expect(killed).toEqual({ status: 200, body: { state: 'HALTED', cancelled: ids, failed: [] } });
    program.child.kill('SIGTERM');
    const { code, err } = await program.finished;
    expect(code, err).toBe(0);
    const orders = (await oms.call('GET', '/orders?status=all')).body.orders as Array<{ id?: string; order_id?: string; status: string }>;
    expect(orders).toHaveLength(2);
    expect(orders.map((o) => o.status.toLowerCase())).toEqual(['cancelled', 'cancelled']);
  }, 60_000);

  it('refuses to start without the token in the environment, naming the key and the variable', () => {
    const setup = liveConfig({ backend: 'mock', modelUrl: 'http://127.0.0.1:9/v1', extra: ADMIN });
    const run = spawnSync(process.execPath, [CLI, '--config', setup.config], { encoding: 'utf8', env: { PATH: process.env.PATH } });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('admin.token_env: environment variable AXON_ADMIN_TOKEN is not set');
    const short = spawnSync(process.execPath, [CLI, '--config', setup.config], { encoding: 'utf8', env: { PATH: process.env.PATH, AXON_ADMIN_TOKEN: 'short' } });
    expect(short.status).toBe(1);
    expect(short.stderr).toContain('at least 16 are needed');
  });
});

describe('llm-trading-agent --kill', () => {
  function killConfig(backend: string, extra: string): string {
    const dir = mkdtempSync(join(tmpdir(), 'axon-kill-'));
    const path = join(dir, 'config.toml');
    writeFileSync(path, `[trading]\nbackend = "${backend}"\n${extra}\n[agent]\naudit = "${join(dir, 'audit.jsonl')}"\n`);
    return path;
  }

  it('on the OMS: cancels every open order of the account, prints them, exits 0; a second run finds nothing', async () => {
    oms = await startOms();
    const client = new OmsTradingBackend({ baseUrl: oms.url });
    const ids: string[] = [];
    for (const [symbol, price] of [['BTC-USDT', 19_000], ['BTC-USDT', 19_100], ['ETH-USDT', 1_400]] as const) {
      ids.push((await client.placeOrder({ symbol, side: 'Buy', orderType: 'Limit', timeInForce: 'GTC', quantity: 0.1, price, clientOrderId: `seed-${price}` })).orderId);
    }
    expect(await client.getOpenOrders()).toHaveLength(3);
    const config = killConfig('oms', `base_url = "${oms.url}"`);
    const run = spawnSync(process.execPath, [CLI, '--kill', '--config', config], { encoding: 'utf8', env: { PATH: process.env.PATH } });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toContain(`kill: oms: 3 open order(s) cancelled: ${ids.join(', ')}`);
    expect(await client.getOpenOrders()).toEqual([]);
    const auditPath = join(dirname(config), 'audit.jsonl');
    expect(auditRecords(auditPath)).toEqual([
      expect.objectContaining({ kind: 'state', from: 'ACTIVE', to: 'HALTED', source: 'cli', reason: '--kill' }),
      expect.objectContaining({ kind: 'cancel_all', source: 'cli', cancelled: ids, failed: [] }),
    ]);
    // The running agent holds the audit file: the kill goes on, unaudited, and says so.
    const held = new AuditLog(auditPath);
    try {
      const again = spawnSync(process.execPath, [CLI, '--kill', '--config', config], { encoding: 'utf8', env: { PATH: process.env.PATH } });
      expect(again.status, again.stderr).toBe(0);
      expect(again.stdout).toContain('kill: oms: 0 open order(s) cancelled');
      expect(again.stderr).toContain('llm-trading-agent --kill: not audited: ');
      expect(again.stderr).toContain('AUDIT_IN_USE');
    } finally {
      held.close();
    }
    expect(auditVerify(auditPath).code).toBe(0);
  }, 60_000);

  it('with [admin] on a fixed port: halts the running agent through its endpoint first, then sweeps the account; none answering is said, not a failure', async () => {
    oms = await startOms();
    expect((await oms.call('POST', '/marks', { symbol: 'BTC-USDT', price: 20_000 })).status).toBe(200);
    const port = await deadPort();
    // The agent places a resting buy on every observation until it is halted.
    const placed = ordersSeen(2);
    model = await startFakeOpenAI(placed.script(restingBuyer(1_000)));
    const setup = liveConfig({ backend: 'oms', omsUrl: oms.url, modelUrl: model.baseURL, extra: `[admin]\nlisten = "127.0.0.1:${port}"\n` });
    const agent = startProgram(['--config', setup.config], { AXON_ADMIN_TOKEN: ADMIN_TOKEN });
    await adminUrl(agent);
    await placed.seen;
    // Not spawnSync: the agent's model answers from this process's event loop.
    const kill = await startProgram(['--kill', '--config', setup.config], { AXON_ADMIN_TOKEN: ADMIN_TOKEN, LOG_LEVEL: 'warn' }).finished;
    expect(kill.code, `${kill.out}${kill.err}`).toBe(0);
    const byAgent = new RegExp(`kill: running agent at http://127\\.0\\.0\\.1:${port}/kill: HALTED, (\\d+) open order\\(s\\) cancelled\n`).exec(kill.out);
    expect(Number(byAgent?.[1]), kill.out).toBeGreaterThanOrEqual(2);
    expect(kill.out).toContain('kill: oms: 0 open order(s) cancelled');
    expect(kill.out).not.toContain(ADMIN_TOKEN);
    await agent.stderrMatch(/trading state ACTIVE -> HALTED \(by admin: --kill\)/);
    await agent.stderrMatch(/TRADING_HALTED/);
    agent.child.kill('SIGTERM');
    const stopped = await agent.finished;
    expect(stopped.code, stopped.err).toBe(0);
    const orders = (await oms.call('GET', '/orders?status=all')).body.orders as Array<{ status: string }>;
    expect(orders.length).toBeGreaterThanOrEqual(2);
    expect(orders.every((o) => o.status.toLowerCase() === 'cancelled')).toBe(true);
    // The agent is gone: said, and the sweep alone decides the exit.
    const alone = await startProgram(['--kill', '--config', setup.config], { AXON_ADMIN_TOKEN: ADMIN_TOKEN, LOG_LEVEL: 'warn' }).finished;
    expect(alone.code, alone.err).toBe(0);
    expect(alone.out).toContain(`kill: no agent answering at http://127.0.0.1:${port}/kill (`);
  }, 60_000);

  it('on a Binance-speaking venue: a cancel the venue fails is printed and the exit is 1; the others are cancelled', async () => {
    const KEY = 'kill-key-0a1b2c3d4e5f';
    const SECRET = 'kill-secret-6f5e4d3c2b1a';
    venue = await startFakeBinance({ apiKey: KEY, apiSecret: SECRET, balances: { USDT: 100_000, BTC: 0 } });
    const client = new ExchangeTradingBackend({ exchange: 'binance', apiKey: KEY, apiSecret: SECRET, testnet: true, urls: venue.baseUrl, timeoutMs: 5_000 });
    for (const price of [19_000, 19_100]) await client.placeOrder({ symbol: 'BTC-USDT', side: 'Buy', orderType: 'Limit', timeInForce: 'GTC', quantity: 0.01, price, clientOrderId: `seed-${price}` });
    expect(venue.orders.filter((o) => o.status === 'NEW')).toHaveLength(2);
    venue.inject('DELETE /api/v3/order', { kind: 'http5xx', status: 503 }, 1);
    const config = killConfig('exchange', `api_key = "\${AXON_API_KEY}"\napi_secret = "\${AXON_API_SECRET}"\ntestnet = true\nbase_url = "${venue.baseUrl}"`);
    // Not spawnSync: the venue answers from this process's event loop.
    const { code, out, err } = await startProgram(['--kill', '--config', config], { AXON_API_KEY: KEY, AXON_API_SECRET: SECRET, LOG_LEVEL: 'warn' }).finished;
    const run = { stdout: out, stderr: err };
    expect(code, `${out}${err}`).toBe(1);
    expect(run.stdout, run.stderr).toContain('kill: exchange: 1 open order(s) cancelled');
    expect(run.stdout).toContain('kill: 1 cancel(s) FAILED (these orders may still rest on the venue):');
    expect(venue.orders.map((o) => o.status).sort()).toEqual(['CANCELED', 'NEW']);
    for (const text of [run.stdout, run.stderr]) {
      expect(text).not.toContain(KEY);
      expect(text).not.toContain(SECRET);
    }
  }, 60_000);

  it('refuses a backtest config (no venue outside its own run)', () => {
    const run = spawnSync(process.execPath, [CLI, '--kill', '--config', killConfig('backtest', '')], { encoding: 'utf8', env: { PATH: process.env.PATH } });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain('--kill is for live backends (exchange, oms, mock)');
    expect(spawnSync(process.execPath, [CLI, 'backtest', '--kill'], { encoding: 'utf8' }).status).toBe(2);
  });
});
