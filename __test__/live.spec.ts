// `llm-trading-agent --config PATH` on a live backend, as a process: the runbook's config pointed at
// a local Binance-speaking venue, the real `openai` client against a local model server; orders
// reach the venue through the risk chain, refusals reach the model, SIGTERM ends the run cleanly.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import type { AuditRecord } from '../ts/agent/audit';
import type { LiveSummary } from '../ts/agent/live-command';
import type { Observation } from '../ts/agent/observation';
import { startFakeBinance, type FakeBinance } from './support/fake-binance';
import { startOms, type OmsServer } from './support/oms-server';
import { startFakeOpenAI, type FakeOpenAI } from './support/openai-server';

const CLI = join(__dirname, '..', 'dist', 'ts', 'cli.js');
const KEY = 'live-key-4c1d2e3f4a5b';
const SECRET = 'live-secret-9f8e7d6c5b4a';

let venue: FakeBinance | undefined;
let model: FakeOpenAI | undefined;
let oms: OmsServer | undefined;
afterEach(async () => {
  await venue?.close();
  await model?.close();
  await oms?.kill('SIGTERM');
  venue = undefined;
  model = undefined;
  oms = undefined;
});

/** The runbook's config, pointed at the local venue, in Direct mode, with the given extras. */
function liveConfig(dir: string, baseUrl: string, llm: string, agent: string): string {
  const runbook = readFileSync(join(__dirname, '..', 'examples', 'runbook-config.toml'), 'utf8');
  const text = runbook
    .replace('testnet = true # Testnet', `testnet = true # Testnet\nbase_url = "${baseUrl}"`)
    .replace('mode = "TwoPhase"', 'mode = "Direct"')
    .replace('max_daily_orders = 100', `max_daily_orders = 100\ndaily_counts_file = "${join(dir, 'daily-counts.json')}"`)
    .concat(`\n[llm]\n${llm}\n[agent]\naudit = "${join(dir, 'audit.jsonl')}"\nsummary_json = "${join(dir, 'summary.json')}"\n${agent}\n`);
  const path = join(dir, 'config.toml');
  writeFileSync(path, text);
  return path;
}

interface Finished {
  code: number | null;
  out: string;
  err: string;
}

function start(config: string, onStderr?: (text: string) => void) {
  const child = spawn(process.execPath, [CLI, '--config', config], {
    env: { PATH: process.env.PATH, AXON_API_KEY: KEY, AXON_API_SECRET: SECRET, LOG_LEVEL: 'info' },
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString();
    onStderr?.(err);
  });
  const finished = new Promise<Finished>((resolve) => {
    child.on('exit', (code) => {
      resolve({ code, out, err });
    });
  });
  return { child, finished };
}

const audit = (dir: string) =>
  readFileSync(join(dir, 'audit.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as AuditRecord);

describe('llm-trading-agent --config on a live backend', () => {
  it('observes the venue, trades through the risk chain, and the refusal reaches the model', async () => {
    venue = await startFakeBinance({ apiKey: KEY, apiSecret: SECRET, balances: { USDT: 100_000, BTC: 0 } });
    let observations = 0;
    model = await startFakeOpenAI((request) => {
      const last = request.messages[request.messages.length - 1];
      if (last?.role === 'tool') return { content: 'noted' };
      observations += 1;
      if (observations === 3) return { toolCalls: [{ name: 'place_order', arguments: '{"symbol":"BTC-USDT","side":"Buy","quantity":0.01,"order_type":"Market"}' }] };
      // 5 BTC at 20,000 is 100,000: over the runbook's 50,000 notional limit.
      if (observations === 5) return { toolCalls: [{ name: 'place_order', arguments: '{"symbol":"BTC-USDT","side":"Buy","quantity":5,"order_type":"Market"}' }] };
      return { content: 'hold' };
    });
    const dir = mkdtempSync(join(tmpdir(), 'axon-live-'));
    const config = liveConfig(dir, venue.baseUrl, `provider = "openai"\nmodel = "local-gpt"\nbase_url = "${model.baseURL}"\napi_key = "sk-local"`, 'interval_ms = 20\nmax_cycles = 8');
    const { code, out, err } = await start(config).finished;
    expect(code, err).toBe(0);

    // Exactly one order reached the venue: the refused one never left the process.
    expect(venue.orders).toHaveLength(1);
    expect(venue.orders[0]).toMatchObject({ symbol: 'BTCUSDT', side: 'BUY', type: 'MARKET', origQty: 0.01, status: 'FILLED' });

    // The refusal came back to the model as ToolError JSON, and again in the next observation.
    const refusedAt = model.requests.findIndex((r) => r.messages.some((m) => m.role === 'tool' && (m.content ?? '').includes('MAX_ORDER_NOTIONAL')));
    expect(refusedAt).toBeGreaterThan(0);
    const next = JSON.parse(model.requests[refusedAt + 1]?.messages[1]?.content as string) as Observation;
    expect(next.last_results).toEqual([expect.objectContaining({ tool: 'place_order', ok: false })]);
    // The venue's state is what the model sees: the bought 0.01 BTC and a price history.
    expect(next.position).toBeCloseTo(0.01, 10);
    expect(next.bars.length).toBeGreaterThanOrEqual(6);
    expect(next.bars.every((bar) => bar[4] === 20_000)).toBe(true);

    const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as LiveSummary;
    expect(summary).toMatchObject({ backend: 'exchange', mode: 'Direct', cycles: 8, provider: 'openai', observeErrors: 0, stoppedBySignal: false });
    expect(summary.ordersByStatus).toEqual({ Filled: 1 });
    expect(summary.rejectionsByCode).toEqual({ MAX_ORDER_NOTIONAL: 1 });
    // Today's order count is on disk for the next start.
    expect(JSON.parse(readFileSync(join(dir, 'daily-counts.json'), 'utf8'))).toMatchObject({ orders: 1, cancels: 0 });
    const records = audit(dir);
    expect(records.filter((r) => r.kind === 'model')).toHaveLength(summary.modelCalls);
    expect(records.filter((r): r is Extract<AuditRecord, { kind: 'tool' }> => r.kind === 'tool').map((r) => r.ok)).toEqual([true, false]);
    expect(out).toContain('live agent: BTC-USDT on exchange (Direct), 8 observations, provider openai');
    expect(err).toContain('"msg":"RiskLimits: order notional');
    for (const text of [out, err, readFileSync(join(dir, 'audit.jsonl'), 'utf8'), JSON.stringify(summary)]) {
      expect(text).not.toContain(KEY);
      expect(text).not.toContain(SECRET);
    }
  }, 60_000);

  it('a venue that fails is logged as BackendError and the observation is skipped, not traded on', async () => {
    venue = await startFakeBinance({ apiKey: KEY, apiSecret: SECRET, balances: { USDT: 100_000, BTC: 0 } });
    venue.inject('GET /api/v3/account', { kind: 'http5xx', status: 503 }, 2);
    model = await startFakeOpenAI((request) =>
      request.messages[request.messages.length - 1]?.role === 'tool'
        ? { content: 'noted' }
        : { toolCalls: [{ name: 'place_order', arguments: '{"symbol":"BTC-USDT","side":"Buy","quantity":0.01,"order_type":"Market"}' }] },
    );
    const dir = mkdtempSync(join(tmpdir(), 'axon-live-'));
    const config = liveConfig(dir, venue.baseUrl, `provider = "openai"\nmodel = "local-gpt"\nbase_url = "${model.baseURL}"\napi_key = "sk-local"\nmax_retries = 0`, 'interval_ms = 10\nmax_cycles = 3');
    const { code, err } = await start(config).finished;
    expect(code, err).toBe(0);
    const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as LiveSummary;
    expect(summary.observeErrors).toBe(2);
    expect(summary.observations).toBe(1);
    expect(venue.orders).toHaveLength(1);
    expect(err).toMatch(/"msg":"BackendError \((network|other)\): observation skipped/);
  }, 60_000);

  it('SIGTERM lets the observation in flight finish, its tool calls included, writes the summary and exits 0', async () => {
    venue = await startFakeBinance({ apiKey: KEY, apiSecret: SECRET, balances: { USDT: 100_000, BTC: 0 } });
    // The service manager stops the program while the model is answering the second observation;
    // the model answers (with an order) only once the program has said it heard the signal.
    const program: { stop?: () => void } = {};
    let heard!: () => void;
    const stopHeard = new Promise<void>((resolve) => {
      heard = resolve;
    });
    let observations = 0;
    model = await startFakeOpenAI((request) => {
      if (request.messages[request.messages.length - 1]?.role === 'tool') return { content: 'noted' };
      observations += 1;
      if (observations < 2) return { content: 'hold' };
      program.stop?.();
      return { until: stopHeard, toolCalls: [{ name: 'place_order', arguments: '{"symbol":"BTC-USDT","side":"Buy","quantity":0.01,"order_type":"Market"}' }] };
    });
    const dir = mkdtempSync(join(tmpdir(), 'axon-live-'));
    const config = liveConfig(dir, venue.baseUrl, `provider = "openai"\nbase_url = "${model.baseURL}"\napi_key = "sk-local"`, 'interval_ms = 10\nmax_cycles = 0');
    const started = start(config, (err) => {
      if (err.includes('"msg":"stop requested: finishing the observation in flight"')) heard();
    });
    program.stop = () => started.child.kill('SIGTERM');
    const { code, out, err } = await started.finished;
    expect(code, err).toBe(0);
    const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as LiveSummary;
    expect(summary).toMatchObject({ stoppedBySignal: true, cycles: 2, observations: 2, observeErrors: 0 });
    // The observation in flight ran to its end: the order, then the model's answer to its result.
    expect(summary.modelCalls).toBe(3);
    expect(summary.ordersByStatus).toEqual({ Filled: 1 });
    expect(venue.orders).toHaveLength(1);
    expect(model.requests).toHaveLength(3);
    expect(out).toContain('[stopped by signal]');
    const records = audit(dir);
    expect(records.filter((r) => r.kind === 'model')).toHaveLength(summary.modelCalls);
    expect(records.filter((r): r is Extract<AuditRecord, { kind: 'tool' }> => r.kind === 'tool').map((r) => r.ok)).toEqual([true]);
  }, 60_000);

  it('runs against the OMS service: orders land in axon-oms, a restart keeps counting the day', async () => {
    oms = await startOms();
    expect((await oms.call('POST', '/marks', { symbol: 'BTC-USDT', price: 20_000 })).status).toBe(200);
    let observations = 0;
    model = await startFakeOpenAI((request) => {
      const last = request.messages[request.messages.length - 1];
      if (last?.role === 'tool') return { content: 'noted' };
      observations += 1;
      return { toolCalls: [{ name: 'place_order', arguments: `{"symbol":"BTC-USDT","side":"Buy","quantity":0.01,"price":${19_000 + observations}}` }] };
    });
    const dir = mkdtempSync(join(tmpdir(), 'axon-live-oms-'));
    const runbook = readFileSync(join(__dirname, '..', 'examples', 'runbook-config.toml'), 'utf8');
    const config = join(dir, 'config.toml');
    writeFileSync(
      config,
      runbook
        .replace('backend = "exchange"', 'backend = "oms"')
        .replace('testnet = true # Testnet', `testnet = true # Testnet\nbase_url = "${oms.url}"`)
        .replace('mode = "TwoPhase"', 'mode = "Direct"')
        .replace('max_daily_orders = 100', `max_daily_orders = 3\ndaily_counts_file = "${join(dir, 'daily-counts.json')}"`)
        .concat(`\n[llm]\nprovider = "openai"\nbase_url = "${model.baseURL}"\napi_key = "sk-local"\n[agent]\naudit = "${join(dir, 'audit.jsonl')}"\nsummary_json = "${join(dir, 'summary.json')}"\ninterval_ms = 10\nmax_cycles = 2\n`),
    );
    const first = await start(config).finished;
    expect(first.code, first.err).toBe(0);
    // The restarted program may place only one more today: the third of max_daily_orders = 3.
    const second = await start(config).finished;
    expect(second.code, second.err).toBe(0);
    const orders = (await oms.call('GET', '/orders?status=all')).body.orders as Array<{ symbol: string; side: string; price: number; status: string }>;
    expect(orders.map((o) => o.price)).toEqual([19_001, 19_002, 19_003]);
    expect(orders.every((o) => o.symbol === 'BTC-USDT' && o.side === 'Buy')).toBe(true);
    const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as LiveSummary;
    expect(summary).toMatchObject({ backend: 'oms', cycles: 2 });
    expect(summary.rejectionsByCode).toEqual({ MAX_DAILY_ORDERS: 1 });
  }, 60_000);

  it('SIGUSR2 closes an open breaker by hand (runbook §3.1 gate.reset())', async () => {
    venue = await startFakeBinance({ apiKey: KEY, apiSecret: SECRET, balances: { USDT: 100_000, BTC: 0 } });
    // A model that keeps proposing an order over the notional limit: five refusals open the breaker.
    model = await startFakeOpenAI((request) =>
      request.messages[request.messages.length - 1]?.role === 'tool'
        ? { content: 'noted' }
        : { toolCalls: [{ name: 'place_order', arguments: '{"symbol":"BTC-USDT","side":"Buy","quantity":5,"order_type":"Market"}' }] },
    );
    const dir = mkdtempSync(join(tmpdir(), 'axon-live-'));
    const config = liveConfig(dir, venue.baseUrl, `provider = "openai"\nbase_url = "${model.baseURL}"\napi_key = "sk-local"`, 'interval_ms = 20\nmax_cycles = 0');
    let phase: 'waiting-open' | 'reset-sent' | 'stopping' = 'waiting-open';
    const { child, finished } = start(config, (err) => {
      if (phase === 'waiting-open' && err.includes('circuit breaker open')) {
        phase = 'reset-sent';
        child.kill('SIGUSR2');
      } else if (phase === 'reset-sent') {
        const afterReset = err.slice(err.indexOf('circuit breaker reset by hand'));
        if (err.includes('circuit breaker reset by hand') && afterReset.includes('order notional')) {
          phase = 'stopping';
          child.kill('SIGTERM');
        }
      }
    });
    const { code, err } = await finished;
    expect(code, err).toBe(0);
    expect(phase).toBe('stopping');
    expect(err).toContain('"msg":"RiskGate: circuit breaker reset by hand"');
    const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as LiveSummary;
    expect(summary.rejectionsByCode.MAX_ORDER_NOTIONAL).toBeGreaterThanOrEqual(6);
    expect(summary.rejectionsByCode.CIRCUIT_BREAKER_OPEN).toBeGreaterThanOrEqual(1);
    expect(venue.orders).toHaveLength(0);
  }, 60_000);
});
