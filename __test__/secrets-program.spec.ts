// No secret leaves the real program (issue 18 item 2): `llm-trading-agent` as a process, live on a
// Binance-speaking venue and as a backtest, with every secret of its config planted in every echo
// path: an OpenAI-compatible endpoint that echoes the Authorization header in its error bodies, a
// venue whose errors quote the API key (straddling the 500-character cut) and the secret. Every
// output (stdout, stderr, audit.jsonl, the summary, the report, the requests the model received) is
// searched for ANY 8-character piece of each secret.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { startFakeBinance, type FakeBinance } from './support/fake-binance';
import { startFakeOpenAI, type FakeOpenAI } from './support/openai-server';
import { leaks } from './support/secret-pieces';

const CLI = join(__dirname, '..', 'dist', 'ts', 'cli.js');
const SECRETS = {
  // No two share an 8-character piece, so a leak is attributed to the right secret.
  venueKey: 'Vk3hQ9zLm2Xc7RtB8nWp4JsD6yFa1GeK5uHv0TqYbNc',
  venueSecret: 'sE7rTy2uIo9pAs4dFg6hJk1lZx3cVb8nMq5wEr0tYuI',
  llmKey: 'sk-live-Qw8eRt3yUi6oPa1sDf9gHj4kLz7xCv2bNm5',
  metricsPassword: 'mPw4Zq8Xr1Tc6Vn3Bj9',
};

let venue: FakeBinance | undefined;
let model: FakeOpenAI | undefined;
afterEach(async () => {
  await venue?.close();
  await model?.close();
  venue = undefined;
  model = undefined;
});

interface Finished {
  code: number | null;
  out: string;
  err: string;
}

function runProgram(args: string[]): Promise<Finished> {
  const child = spawn(process.execPath, [CLI, ...args], {
    env: { PATH: process.env.PATH, VENUE_KEY: SECRETS.venueKey, VENUE_SECRET: SECRETS.venueSecret, LLM_KEY: SECRETS.llmKey, LOG_LEVEL: 'info' },
  });
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

/** The model endpoint: `echo(index)` decides which requests fail with the Authorization header quoted back. */
async function echoingModel(echo: (index: number) => boolean): Promise<FakeOpenAI> {
  return startFakeOpenAI((_request, index) =>
    echo(index)
      ? {
          status: 401,
          errorMessage: (headers) => {
            const authorization = String(headers.authorization);
            return `Incorrect API key. Authorization: ${authorization}; key ${authorization.replace(/^Bearer /, '')}; headers ${JSON.stringify(headers)}`;
          },
        }
      : { toolCalls: [{ name: 'place_order', arguments: '{"symbol":"BTC-USDT","side":"Buy","quantity":0.01,"price":19000}' }] },
  );
}

/** A venue error quoting the key three times around offset ~480 (one copy straddles any cut near 500) and the secret. */
const venueEcho = (apiKeyHeader: string | undefined) => ({
  code: -2015,
  msg: `secret=${SECRETS.venueSecret}${'.'.repeat(380)}${String(apiKeyHeader)} ${String(apiKeyHeader)} ${String(apiKeyHeader)} secret=${SECRETS.venueSecret} X-MBX-APIKEY: ${String(apiKeyHeader)}`,
});

const read = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8') : '');

describe('llm-trading-agent never prints a secret', () => {
  it('live: model and venue errors echoing every credential reach no output', async () => {
    venue = await startFakeBinance({ apiKey: SECRETS.venueKey, apiSecret: SECRETS.venueSecret, balances: { USDT: 100_000, BTC: 0 } });
    // The first two observations fail on the account read; every order is answered with the echo.
    venue.inject('GET /api/v3/account', { kind: 'respond', status: 401, body: ({ apiKeyHeader }) => venueEcho(apiKeyHeader) }, 2);
    venue.inject('POST /api/v3/order', { kind: 'respond', status: 401, body: ({ apiKeyHeader }) => venueEcho(apiKeyHeader) }, 100);
    model = await echoingModel((index) => index % 2 === 1);
    const dir = mkdtempSync(join(tmpdir(), 'axon-secrets-live-'));
    const config = join(dir, 'config.toml');
    writeFileSync(
      config,
      `[trading]\nbackend = "exchange"\napi_key = "\${VENUE_KEY}"\napi_secret = "\${VENUE_SECRET}"\nbase_url = "${venue.baseUrl}"\ntimeout_ms = 9000\n` +
        `[safety]\nmode = "Direct"\n[risk]\nallowed_symbols = ["BTC-USDT"]\nmax_order_notional = 50000.0\ndaily_counts_file = "${join(dir, 'daily-counts.json')}"\n` +
        `[metrics]\ncallback = "prometheus:http://ops:${SECRETS.metricsPassword}@127.0.0.1:0/metrics"\n` +
        `[llm]\nprovider = "openai"\nmodel = "echo"\nbase_url = "${model.baseURL}"\napi_key = "\${LLM_KEY}"\nmax_retries = 0\n` +
        `[agent]\ninterval_ms = 10\nmax_cycles = 5\naudit = "${join(dir, 'audit.jsonl')}"\nsummary_json = "${join(dir, 'summary.json')}"\n`,
    );
    const run = await runProgram(['--config', config]);
    expect(run.code, run.err).toBe(0);
    const audit = read(join(dir, 'audit.jsonl'));
    // Every echo path was exercised: skipped observations, failed model calls, refused orders.
    expect(run.err).toContain('observation skipped');
    expect(audit).toContain('"kind":"model"');
    expect(audit).toContain('Incorrect API key');
    expect(audit).toContain('"kind":"tool"');
    expect(venue.count('POST /api/v3/order')).toBeGreaterThan(0);
    expect(model.authorization.every((header) => header === `Bearer ${SECRETS.llmKey}`)).toBe(true);
    const outputs = {
      stdout: run.out,
      stderr: run.err,
      audit,
      summary: read(join(dir, 'summary.json')),
      dailyCounts: read(join(dir, 'daily-counts.json')),
      report: read(join(dir, 'report.html')),
      'requests to the model': JSON.stringify(model.requests),
    };
    expect(leaks(SECRETS, outputs)).toEqual([]);
  });

  it('backtest: a model endpoint echoing the key on every call leaks it nowhere', async () => {
    model = await echoingModel((index) => index % 3 !== 0);
    const dir = mkdtempSync(join(tmpdir(), 'axon-secrets-backtest-'));
    const config = join(dir, 'config.toml');
    writeFileSync(
      config,
      `[trading]\nbackend = "backtest"\n[safety]\nmode = "Direct"\n[risk]\nallowed_symbols = ["BTC-USDT"]\nmax_order_notional = 50000.0\n` +
        `[llm]\nprovider = "openai"\nmodel = "echo"\nbase_url = "${model.baseURL}"\napi_key = "\${LLM_KEY}"\nmax_retries = 0\n` +
        `[backtest]\nbars = 120\nreport = "${join(dir, 'report.html')}"\nsummary_json = "${join(dir, 'summary.json')}"\naudit = "${join(dir, 'audit.jsonl')}"\n`,
    );
    const run = await runProgram(['backtest', '--config', config]);
    expect(run.code, run.err).toBe(0);
    const audit = read(join(dir, 'audit.jsonl'));
    expect(audit.split('\n').filter((l) => l.includes('Incorrect API key')).length).toBeGreaterThan(50);
    const outputs = {
      stdout: run.out,
      stderr: run.err,
      audit,
      summary: read(join(dir, 'summary.json')),
      report: read(join(dir, 'report.html')),
      'requests to the model': JSON.stringify(model.requests),
    };
    expect(leaks({ llmKey: SECRETS.llmKey }, outputs)).toEqual([]);
  });

  it('--self-check: a venue refusing the keys with an error quoting them prints no piece of either', async () => {
    venue = await startFakeBinance({ apiKey: SECRETS.venueKey, apiSecret: SECRETS.venueSecret });
    venue.inject('GET /api/v3/account', { kind: 'respond', status: 401, body: ({ apiKeyHeader }) => venueEcho(apiKeyHeader) }, 10);
    const dir = mkdtempSync(join(tmpdir(), 'axon-secrets-check-'));
    const config = join(dir, 'config.toml');
    writeFileSync(config, `[trading]\nbackend = "exchange"\napi_key = "\${VENUE_KEY}"\napi_secret = "\${VENUE_SECRET}"\nbase_url = "${venue.baseUrl}"\n`);
    const run = await runProgram(['--self-check', '--config', config]);
    expect(run.code).toBe(1);
    expect(run.out).toMatch(/FAIL backend: exchange: cannot use binance at http:\/\/127\.0\.0\.1:\d+: AuthenticationError: binance/);
    expect(leaks(SECRETS, { stdout: run.out, stderr: run.err })).toEqual([]);
  });
});
