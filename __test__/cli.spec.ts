// The program's ops surface as the runbook runs it: --version, --self-check, config errors.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { omsBackendFromConfig } from '../ts/backends/from-config';
import { parseConfig } from '../ts/config';
import { startFakeBinance } from './support/fake-binance';
import { deadPort, startOms } from './support/oms-server';
import { sharedDataFile } from '../bench/shared-data';

const CLI = join(__dirname, '..', 'dist', 'ts', 'cli.js');
const run = (args: string[], env: NodeJS.ProcessEnv = {}) => {
  const result = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH, ...env } });
  return { code: result.status, out: result.stdout, err: result.stderr };
};

describe('llm-trading-agent', () => {
  it('--version prints the package version and the native build', () => {
    const { code, out } = run(['--version']);
    expect(code).toBe(0);
    const version = (JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;
    expect(out).toMatch(new RegExp(`^llm-trading-agent ${version.replace(/\./g, '\\.')} \\(native: axon-node \\S+ \\(x86_64-unknown-linux-gnu, release, rustc `));
  });

  it('--self-check passes on the built-in defaults and prints each finding', () => {
    const { code, out, err } = run(['--self-check']);
    expect(code).toBe(0);
    for (const what of ['config', 'native addon', 'risk check', 'circuit breaker', 'matching engine', 'panic containment', 'backend']) expect(out).toContain(`ok   ${what}: `);
    expect(out).toContain('self-check passed');
    expect(err).toBe('');
  });

  it('--self-check fails plainly on a config problem', () => {
    const dir = mkdtempSync(join(tmpdir(), 'axon-cli-'));
    const bad = join(dir, 'bad.toml');
    writeFileSync(bad, '[trading]\nbackend = "mock"\n[risk]\nmax_notional = 1\n');
    const { code, out } = run(['--self-check', '--config', bad]);
    expect(code).toBe(1);
    expect(out).toContain('FAIL config: config error: risk.max_notional: unknown key');
    const { out: missingVar } = run(['--self-check', '--config', join(__dirname, '..', 'examples', 'runbook-config.toml')]);
    expect(missingVar).toContain('FAIL config: config error: trading.api_key: environment variable AXON_API_KEY is not set');
  });

  it('--self-check on the runbook example reports every stage and never prints the secrets', () => {
    const { out } = run(['--self-check', '--config', join(__dirname, '..', 'examples', 'runbook-config.toml')], {
      AXON_API_KEY: 'live-key-abc',
      AXON_API_SECRET: 'live-secret-xyz',
    });
    expect(out).toContain('ok   config: ');
    expect(out).toContain('backend=exchange, mode=TwoPhase, gate=RejectionCircuitBreaker');
    expect(out).not.toContain('live-key-abc');
    expect(out).not.toContain('live-secret-xyz');
  });

  it('--self-check on a backtest config checks the data: rows, period, and a bad row by its line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'axon-cli-data-'));
    const data = sharedDataFile('btc-usdt-5m.csv');
    const config = (path: string) => {
      const file = join(dir, `${Math.random().toString(36).slice(2)}.toml`);
      writeFileSync(file, `[trading]\nbackend = "backtest"\n[backtest]\ndata = "${path}"\n`);
      return file;
    };
    const good = run(['--self-check', '--config', config(data)]);
    expect(good.code).toBe(0);
    expect(good.out).toMatch(/ok {3}backend: backtest: data file .*btc-usdt-5m\.csv: 10999 bars, \d{4}-\d\d-\d\dT.* \.\. \d{4}-\d\d-\d\dT.*, every row valid/);
    const lines = readFileSync(data, 'utf8').split('\n');
    const bad = join(dir, 'bad.csv');
    // Line 5: high below low.
    const cells = (lines[4] as string).split(',');
    [cells[2], cells[3]] = [cells[3] as string, cells[2] as string];
    writeFileSync(bad, [...lines.slice(0, 4), cells.join(','), ...lines.slice(5, 50)].join('\n'));
    const broken = run(['--self-check', '--config', config(bad)]);
    expect(broken.code).toBe(1);
    expect(broken.out).toMatch(/FAIL backend: backtest: .*bad\.csv:5: high \S+ < low \S+/);
  });

  it('an unknown flag is a usage error', () => {
    const { code, err } = run(['--yolo']);
    expect(code).toBe(2);
    expect(err).toContain('usage: llm-trading-agent');
  });
});

describe('llm-trading-agent backtest', () => {
  it('runs the embedded default and writes summary, report and audit', () => {
    const dir = mkdtempSync(join(tmpdir(), 'axon-bt-'));
    const config = join(dir, 'config.toml');
    writeFileSync(
      config,
      `[trading]\nbackend = "backtest"\n[safety]\nmode = "Direct"\n[risk]\nmax_order_notional = 50000.0\nallowed_symbols = ["BTC-USDT"]\n[gate]\ntype = "RejectionCircuitBreaker"\nthreshold = 5\ncooldown_ms = 60000\n[backtest]\nbars = 1500\nreport = "${join(dir, 'report.html')}"\nsummary_json = "${join(dir, 'summary.json')}"\naudit = "${join(dir, 'audit.jsonl')}"\n`,
    );
    const { code, out } = run(['backtest', '--config', config]);
    expect(code).toBe(0);
    expect(out).toContain('agent backtest: BTC-USDT on generated(seed=42), 1500 bars, provider scripted');
    const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as { bars: number; modelCalls: number };
    expect(summary.bars).toBe(1500);
    expect(readFileSync(join(dir, 'audit.jsonl'), 'utf8').split('\n').filter(Boolean).length).toBeGreaterThanOrEqual(summary.modelCalls);
    expect(readFileSync(join(dir, 'report.html'), 'utf8')).toContain('<div class="chart" id="equity-chart">');
  });

  it('SIGINT finishes the bar in flight, writes the reports and exits 0', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'axon-bt-'));
    const config = join(dir, 'config.toml');
    writeFileSync(
      config,
      `[trading]\nbackend = "backtest"\n[safety]\nmode = "Direct"\n[backtest]\nbars = 400000\nreport = "${join(dir, 'report.html')}"\nsummary_json = "${join(dir, 'summary.json')}"\naudit = "${join(dir, 'audit.jsonl')}"\n`,
    );
    const child = spawn(process.execPath, [CLI, 'backtest', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH, LOG_LEVEL: 'info' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    // Read every log line (a full pipe blocks the child's synchronous stderr writes); the first order
    // it logs says the run is under way: that is when the operator interrupts it.
    let interrupted = false;
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      if (!interrupted && err.includes('"msg":"Direct: place_order ')) {
        interrupted = true;
        child.kill('SIGINT');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code, err.slice(-2_000)).toBe(0);
    expect(interrupted).toBe(true);
    expect(out).toContain('[stopped early]');
    const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as { bars: number; stoppedEarly: boolean; modelCalls: number };
    expect(summary.stoppedEarly).toBe(true);
    expect(summary.bars).toBeGreaterThan(0);
    expect(summary.bars).toBeLessThan(400_000);
    expect(readFileSync(join(dir, 'report.html'), 'utf8')).toMatch(/^<!doctype html>/i);
    // The audit holds whole records of exactly the bars run: every model call, none past the last bar.
    const audit = readFileSync(join(dir, 'audit.jsonl'), 'utf8');
    expect(audit.endsWith('\n')).toBe(true);
    const records = audit.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as { kind: string; step: number });
    expect(records.filter((r) => r.kind === 'model')).toHaveLength(summary.modelCalls);
    expect(records.reduce((last, r) => Math.max(last, r.step), -1)).toBeLessThan(summary.bars);
  }, 60_000);
});

describe('llm-trading-agent --self-check against a venue', () => {
  it('passes with the runbook config pointed at a reachable venue, and fails plainly with a wrong secret', async () => {
    const venue = await startFakeBinance({ apiKey: 'runbook-key-0123456789', apiSecret: 'runbook-secret-abcdefghij' });
    try {
      const dir = mkdtempSync(join(tmpdir(), 'axon-sc-'));
      const config = join(dir, 'config.toml');
      const runbook = readFileSync(join(__dirname, '..', 'examples', 'runbook-config.toml'), 'utf8');
      writeFileSync(config, runbook.replace('testnet = true # Testnet', `testnet = true # Testnet\nbase_url = "${venue.baseUrl}"`));
      const runAsync = (env: NodeJS.ProcessEnv) =>
        new Promise<{ code: number | null; out: string }>((resolve) => {
          const child = spawn(process.execPath, [CLI, '--self-check', '--config', config], { env: { PATH: process.env.PATH, ...env } });
          let out = '';
          child.stdout.on('data', (chunk: Buffer) => {
            out += chunk.toString();
          });
          child.on('exit', (code) => {
            resolve({ code, out });
          });
        });
      const good = await runAsync({ AXON_API_KEY: 'runbook-key-0123456789', AXON_API_SECRET: 'runbook-secret-abcdefghij' });
      expect(good.out).toMatch(/ok {3}backend: exchange: binance testnet at http:\/\/127\.0\.0\.1:\d+ reachable, keys accepted \(\d+ balances\)/);
      expect(good.code).toBe(0);
      const bad = await runAsync({ AXON_API_KEY: 'runbook-key-0123456789', AXON_API_SECRET: 'not-the-secret-zzzzzzzz' });
      expect(bad.code).toBe(1);
      expect(bad.out).toContain('FAIL backend: exchange: cannot use binance testnet');
      expect(bad.out).not.toContain('not-the-secret-zzzzzzzz');
      expect(bad.out).not.toContain('runbook-key-0123456789');
    } finally {
      await venue.close();
    }
  }, 60_000);
});

describe('llm-trading-agent --self-check against axon-oms', () => {
  const omsConfig = (baseUrl: string): string => {
    const path = join(mkdtempSync(join(tmpdir(), 'axon-sc-oms-')), 'config.toml');
    writeFileSync(path, `[trading]\nbackend = "oms"\nbase_url = "${baseUrl}"\ntimeout_ms = 2000\n`);
    return path;
  };

  it('reports the service reachable via /healthz, and an unreachable one with the runbook hint', async () => {
    const oms = await startOms();
    try {
      const up = run(['--self-check', '--config', omsConfig(oms.url)]);
      expect(up.out).toContain(`ok   backend: oms: axon-oms reachable at ${oms.url}\n`);
      expect(up.code).toBe(0);
    } finally {
      await oms.kill();
    }
    const url = `http://127.0.0.1:${await deadPort()}`;
    const down = run(['--self-check', '--config', omsConfig(url)]);
    expect(down.out).toContain(`FAIL backend: oms: axon-oms not reachable at ${url} (connection refused): check the axon-oms service status / port\n`);
    expect(down.code).toBe(1);
  }, 60_000);

  it('uses [trading] base_url and timeout_ms, defaulting to http://127.0.0.1:8080', () => {
    expect(omsBackendFromConfig(parseConfig('[trading]\nbackend = "oms"\n')).baseUrl).toBe('http://127.0.0.1:8080');
    expect(omsBackendFromConfig(parseConfig('[trading]\nbackend = "oms"\nbase_url = "http://10.0.0.7:9090/"\n')).baseUrl).toBe('http://10.0.0.7:9090');
  });
});
