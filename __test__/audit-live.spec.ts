// The audit of a live run of the real program (a local Binance-speaking venue, the real `openai`
// client against a local model server): every record is on disk before the program asks the model
// again, a venue error quoting the API key reaches the audit scrubbed and the chain verifies, and a
// second run continues the same chain.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { startFakeBinance, type FakeBinance } from './support/fake-binance';
import { startFakeOpenAI, type FakeOpenAI } from './support/openai-server';

const CLI = join(__dirname, '..', 'dist', 'ts', 'cli.js');
const KEY = 'audit-live-key-7Hq2Wm9Zx4Rt';
const SECRET = 'audit-live-secret-3Np8Vc1Lk6';

let venue: FakeBinance | undefined;
let model: FakeOpenAI | undefined;
afterEach(async () => {
  await venue?.close();
  await model?.close();
  venue = undefined;
  model = undefined;
});

function runProgram(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH } });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  return new Promise((resolve) => {
    child.on('exit', (code) => {
      resolve({ code, out, err });
    });
  });
}

const records = (path: string) =>
  (existsSync(path) ? readFileSync(path, 'utf8') : '')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { seq: number; kind: string; ok?: boolean; result?: string });

describe('audit of a live run', () => {
  it('each record is written before the model is asked again, a key echoed by the venue is scrubbed before hashing, the chain verifies and a second run continues it', async () => {
    venue = await startFakeBinance({ apiKey: KEY, apiSecret: SECRET, balances: { USDT: 100_000, BTC: 0 } });
    // Every order is refused with an error quoting the API key the venue was sent.
    venue.inject('POST /api/v3/order', { kind: 'respond', status: 401, body: ({ apiKeyHeader }) => ({ code: -2015, msg: `Invalid API-key ${String(apiKeyHeader)}, IP, or permissions` }) }, 100);
    const dir = mkdtempSync(join(tmpdir(), 'axon-audit-live-'));
    const audit = join(dir, 'audit.jsonl');
    // What the audit file held when each model request arrived.
    const onDisk: Array<{ model: number; tool: number }> = [];
    model = await startFakeOpenAI((_request, index) => {
      const now = records(audit);
      onDisk.push({ model: now.filter((r) => r.kind === 'model').length, tool: now.filter((r) => r.kind === 'tool').length });
      return index % 2 === 0 ? { toolCalls: [{ name: 'place_order', arguments: '{"symbol":"BTC-USDT","side":"Buy","quantity":0.01,"price":19000}' }] } : { content: 'wait' };
    });
    const config = join(dir, 'config.toml');
    writeFileSync(
      config,
      `[trading]\nbackend = "exchange"\napi_key = "${KEY}"\napi_secret = "${SECRET}"\nbase_url = "${venue.baseUrl}"\ntimeout_ms = 9000\n` +
        `[safety]\nmode = "Direct"\n[risk]\nallowed_symbols = ["BTC-USDT"]\nmax_order_notional = 50000.0\ndaily_counts_file = "${join(dir, 'daily-counts.json')}"\n` +
        `[llm]\nprovider = "openai"\nmodel = "local"\nbase_url = "${model.baseURL}"\napi_key = "sk-local-audit"\nmax_retries = 0\n` +
        `[agent]\ninterval_ms = 10\nmax_cycles = 3\naudit = "${audit}"\nsummary_json = "${join(dir, 'summary.json')}"\n`,
    );

    const first = await runProgram(['--config', config]);
    expect(first.code, first.err).toBe(0);
    const written = records(audit);
    const tools = written.filter((r) => r.kind === 'tool');
    expect(tools.length).toBeGreaterThan(0);
    // Each model request found every earlier model call and tool call already in the file.
    expect(onDisk.length).toBe(written.filter((r) => r.kind === 'model').length);
    onDisk.forEach((seen, index) => {
      expect(seen.model, `request ${index}`).toBe(index);
    });
    expect(onDisk.at(-1)?.tool).toBe(tools.length);
    // The venue's answer quoted the key: the audit holds the refusal, not the key.
    const text = readFileSync(audit, 'utf8');
    expect(text).not.toContain(KEY);
    expect(text).not.toContain(SECRET);
    expect(tools.every((r) => r.ok === false && (r.result ?? '').includes('[redacted]'))).toBe(true);
    const verified = spawnSync(process.execPath, [CLI, 'audit', 'verify', audit], { encoding: 'utf8' });
    expect(verified.status, verified.stdout).toBe(0);
    expect(verified.stdout).toContain(`seq 1..${written.length},`);

    const second = await runProgram(['--config', config]);
    expect(second.code, second.err).toBe(0);
    const both = records(audit);
    expect(both.length).toBeGreaterThan(written.length);
    expect(both.map((r) => r.seq)).toEqual(both.map((_, i) => i + 1));
    const again = spawnSync(process.execPath, [CLI, 'audit', 'verify', audit], { encoding: 'utf8' });
    expect(again.status, again.stdout).toBe(0);
    expect(again.stdout).toContain(`seq 1..${both.length},`);
  });

  it('a breaker reset by hand (SIGUSR2) is an audit record, in the chain and in audit show', async () => {
    venue = await startFakeBinance({ apiKey: KEY, apiSecret: SECRET, balances: { USDT: 100_000, BTC: 0 } });
    // An order over the notional limit every observation: two refusals open the breaker.
    model = await startFakeOpenAI((request) =>
      request.messages[request.messages.length - 1]?.role === 'tool'
        ? { content: 'noted' }
        : { toolCalls: [{ name: 'place_order', arguments: '{"symbol":"BTC-USDT","side":"Buy","quantity":5,"order_type":"Market"}' }] },
    );
    const dir = mkdtempSync(join(tmpdir(), 'axon-audit-reset-'));
    const audit = join(dir, 'audit.jsonl');
    const config = join(dir, 'config.toml');
    writeFileSync(
      config,
      `[trading]\nbackend = "exchange"\napi_key = "${KEY}"\napi_secret = "${SECRET}"\nbase_url = "${venue.baseUrl}"\n` +
        `[safety]\nmode = "Direct"\n[risk]\nallowed_symbols = ["BTC-USDT"]\nmax_order_notional = 50000.0\ndaily_counts_file = "none"\n` +
        `[gate]\ntype = "RejectionCircuitBreaker"\nthreshold = 2\ncooldown_ms = 3600000\n` +
        `[llm]\nprovider = "openai"\nmodel = "local"\nbase_url = "${model.baseURL}"\napi_key = "sk-local-audit"\nmax_retries = 0\n` +
        `[agent]\ninterval_ms = 20\nmax_cycles = 0\naudit = "${audit}"\nsummary_json = "${join(dir, 'summary.json')}"\n`,
    );
    const child = spawn(process.execPath, [CLI, '--config', config], { env: { PATH: process.env.PATH, LOG_LEVEL: 'info' } });
    let err = '';
    let phase: 'waiting-open' | 'reset-sent' | 'stopping' = 'waiting-open';
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      if (phase === 'waiting-open' && err.includes('circuit breaker open')) {
        phase = 'reset-sent';
        child.kill('SIGUSR2');
      } else if (phase === 'reset-sent' && err.includes('circuit breaker reset by hand')) {
        phase = 'stopping';
        child.kill('SIGTERM');
      }
    });
    const code = await new Promise<number | null>((resolve) => {
      child.on('exit', resolve);
    });
    expect(code, err).toBe(0);
    expect(phase).toBe('stopping');
    const resets = records(audit).filter((r) => r.kind === 'reset');
    expect(resets).toEqual([expect.objectContaining({ kind: 'reset', what: 'gate', by: 'signal', reason: 'SIGUSR2' })]);
    const shown = spawnSync(process.execPath, [CLI, 'audit', 'show', audit], { encoding: 'utf8' });
    expect(shown.status, shown.stdout).toBe(0);
    expect(shown.stdout).toMatch(/ {2}resets by hand: 1\n {4}\d{4}-\d\d-\d\dT[\d:.]+Z gate by signal: SIGUSR2\n/);
  }, 60_000);

  it('[agent] audit_max_bytes rotates the live audit and the chain verifies across files; the summary keeps the head, which catches whole records cut from the end', async () => {
    venue = await startFakeBinance({ apiKey: KEY, apiSecret: SECRET, balances: { USDT: 100_000, BTC: 0 } });
    model = await startFakeOpenAI((request) =>
      request.messages[request.messages.length - 1]?.role === 'tool'
        ? { content: 'noted' }
        : { toolCalls: [{ name: 'place_order', arguments: '{"symbol":"BTC-USDT","side":"Buy","quantity":0.01,"price":19000}' }] },
    );
    const dir = mkdtempSync(join(tmpdir(), 'axon-audit-rotate-'));
    const audit = join(dir, 'audit.jsonl');
    const summaryPath = join(dir, 'summary.json');
    const config = join(dir, 'config.toml');
    writeFileSync(
      config,
      `[trading]\nbackend = "exchange"\napi_key = "${KEY}"\napi_secret = "${SECRET}"\nbase_url = "${venue.baseUrl}"\n` +
        `[safety]\nmode = "DryRun"\n[risk]\nallowed_symbols = ["BTC-USDT"]\nmax_order_notional = 50000.0\ndaily_counts_file = "none"\n` +
        `[llm]\nprovider = "openai"\nmodel = "local"\nbase_url = "${model.baseURL}"\napi_key = "sk-local-audit"\nmax_retries = 0\n` +
        `[agent]\ninterval_ms = 10\nmax_cycles = 8\naudit = "${audit}"\naudit_max_bytes = 4096\nsummary_json = "${summaryPath}"\n`,
    );
    const run = await runProgram(['--config', config]);
    expect(run.code, run.err).toBe(0);
    const files = readdirSync(dir)
      .map((name) => /^audit(?:\.(\d+))?\.jsonl$/.exec(name))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ index: Number(m[1] ?? 0), path: join(dir, m[0]) }))
      .sort((a, b) => a.index - b.index);
    expect(files.length).toBeGreaterThan(1);
    for (const file of files) expect(statSync(file.path).size).toBeLessThanOrEqual(4096);
    const verified = spawnSync(process.execPath, [CLI, 'audit', 'verify', audit], { encoding: 'utf8' });
    expect(verified.status, verified.stdout).toBe(0);

    // The head the run kept outside the audit is the last record's seq and hash.
    const last = files.at(-1)!.path;
    const lines = readFileSync(last, 'utf8').split('\n').filter(Boolean);
    const lastLine = lines.at(-1)!;
    const { auditHead } = JSON.parse(readFileSync(summaryPath, 'utf8')) as { auditHead: string };
    expect(auditHead).toBe(`${(JSON.parse(lastLine) as { seq: number }).seq}:${createHash('sha256').update(lastLine).digest('hex')}`);
    expect(run.out).toContain(`audit head      ${auditHead}`);
    const anchored = spawnSync(process.execPath, [CLI, 'audit', 'verify', '--head', auditHead, audit], { encoding: 'utf8' });
    expect(anchored.status, anchored.stdout + anchored.stderr).toBe(0);

    // Cut the last whole record: the chain alone still links, the kept head does not.
    writeFileSync(last, lines.slice(0, -1).map((line) => `${line}\n`).join(''));
    const cut = spawnSync(process.execPath, [CLI, 'audit', 'verify', '--head', auditHead, audit], { encoding: 'utf8' });
    expect(cut.status).not.toBe(0);
  });
});
