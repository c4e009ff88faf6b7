// `[state]` in the real program (dist/ts/cli.js as a process): the store is opened before anything
// trades, so a file locked by a live process or an unreachable Redis stops the start with a clear
// error and a non-zero exit; a dead process's lock is taken over and the start log says whose; the
// deprecated `daily_counts_file` still works and the start log says what to write instead; the lock
// is released at the end; `--self-check` opens the store, times a round trip, or names the failure.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { FileStateStore } from '../ts/state/file-store';
import { RedisStateStore } from '../ts/state/redis-store';
import { deadPort } from './support/oms-server';
import { startFakeOpenAI, type FakeOpenAI } from './support/openai-server';
import { RedisServer } from './support/redis-server';

const CLI = join(__dirname, '..', 'dist', 'ts', 'cli.js');
let dir: string;
let redis: RedisServer;
let model: FakeOpenAI;
let configs = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'axon-state-program-'));
  redis = await RedisServer.start();
  // A model that buys 0.01 BTC at market on every observation: one order per cycle.
  model = await startFakeOpenAI((request) =>
    request.messages[request.messages.length - 1]?.role === 'tool'
      ? { content: 'noted' }
      : { toolCalls: [{ name: 'place_order', arguments: '{"symbol":"BTC-USDT","side":"Buy","quantity":0.01,"order_type":"Market"}' }] },
  );
});

afterAll(async () => {
  await model.close();
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A live run on the mock venue: two observations (one order each), then the summary; `risk` adds `[risk]` keys, `state` a `[state]` table. */
function config(options: { risk?: string; state?: string; maxDailyOrders?: number; maxOrderNotional?: number; gate?: string } = {}): string {
  const n = ++configs;
  const path = join(dir, `config-${n}.toml`);
  writeFileSync(
    path,
    [
      '[trading]\nbackend = "mock"',
      '[safety]\nmode = "Direct"',
      `[risk]\nallowed_symbols = ["BTC-USDT"]\nmax_order_notional = ${(options.maxOrderNotional ?? 50_000).toFixed(1)}\nmax_daily_orders = ${options.maxDailyOrders ?? 10}\n${options.risk ?? ''}`,
      '[mock]\nreference_prices = { "BTC-USDT" = 20000 }',
      `[llm]\nprovider = "openai"\nmodel = "local-gpt"\nbase_url = "${model.baseURL}"\napi_key = "sk-local"\nmax_retries = 0`,
      `[agent]\ninterval_ms = 1\nmax_cycles = 2\naudit = "${join(dir, `audit-${n}.jsonl`)}"\nsummary_json = "${join(dir, `summary-${n}.json`)}"`,
      options.gate ?? '',
      options.state ?? '',
    ].join('\n'),
  );
  return path;
}

function program(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH, LOG_LEVEL: 'info' } });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('exit', (code) => {
      resolve({ code, out, err });
    });
  });
}

/** A pid that surely belongs to no live process: a child that has already exited. */
function deadPid(): number {
  return Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
}

describe('[state] type = "file" in the program', () => {
  it('a file another live process holds stops the start, naming the holder; nothing is traded', async () => {
    const path = join(dir, 'held.json');
    const held = FileStateStore.open({ path });
    try {
      const run = await program(['--config', config({ state: `[state]\ntype = "file"\npath = "${path}"` })]);
      expect(run.code).toBe(1);
      expect(run.err).toContain(`llm-trading-agent: risk state file ${path} is locked by pid ${process.pid} on ${hostname()}`);
      expect(run.out).toBe('');
      expect(existsSync(path)).toBe(false);
    } finally {
      await held.close();
    }
  });

  it("a dead process's lock is taken over (the start log says whose), the counts are written, the lock released at the end", async () => {
    const path = join(dir, 'stale.json');
    const dead = { pid: deadPid(), hostname: hostname(), startedAtMs: Date.UTC(2026, 11, 4, 9) };
    writeFileSync(`${path}.lock`, JSON.stringify(dead));
    const run = await program(['--config', config({ state: `[state]\ntype = "file"\npath = "${path}"` })]);
    expect(run.code, run.err).toBe(0);
    expect(run.err).toContain(`risk state file ${path}: took over the lock of pid ${dead.pid} on ${hostname()} (started 2026-12-04T09:00:00.000Z), which is no longer running`);
    expect(run.err).toContain(`risk state: file ${path} (lock ${path}.lock; one process)`);
    expect(existsSync(`${path}.lock`)).toBe(false);
    const summary = JSON.parse(readFileSync(join(dir, `summary-${configs}.json`), 'utf8')) as { ordersByStatus: Record<string, number> };
    expect(summary.ordersByStatus).toEqual({ Filled: 2 });
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ orders: 2, cancels: 0 });
  });

  it('the deprecated risk.daily_counts_file still works and the start log says what to write instead; both at once is refused', async () => {
    const path = join(dir, 'legacy.json');
    const run = await program(['--config', config({ risk: `daily_counts_file = "${path}"` })]);
    expect(run.code, run.err).toBe(0);
    expect(run.err).toContain(`config: risk.daily_counts_file is deprecated; it still works and means [state] type = \\"file\\", path = \\"${path}\\": write that instead`);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ orders: 2 });
    const both = await program(['--config', config({ risk: `daily_counts_file = "${path}"`, state: '[state]\ntype = "memory"' })]);
    expect(both.code).toBe(1);
    expect(both.err).toContain('config error: risk.daily_counts_file: set either [state] or risk.daily_counts_file');
  });

  it('a bad [state] key is named', async () => {
    const run = await program(['--config', config({ state: '[state]\ntype = "redis"\nurl = "redis://127.0.0.1:1"\naccount = "a"\ntimeout_ms = 0' })]);
    expect(run.code).toBe(1);
    expect(run.err).toMatch(/config error: state\.timeout_ms: /);
  });
});

describe('[state] type = "redis" in the program', () => {
  it('two runs on one account share the daily count: the second stops at max_daily_orders counted over both', async () => {
    const state = `[state]\ntype = "redis"\nurl = "${redis.url}"\naccount = "acct-program"\nkey_prefix = "axon:"`;
    const first = await program(['--config', config({ state })]);
    expect(first.code, first.err).toBe(0);
    expect(first.err).toContain(`risk state: redis ${redis.url} account acct-program key prefix axon: (timeout 250 ms)`);
    const store = await RedisStateStore.open({ url: redis.url, account: 'acct-program', keyPrefix: 'axon:' });
    try {
      expect((await store.snapshot()).dailyOrders).toBe(2);
      // A second run (another replica, or the same one restarted) with a limit of 3: one more order, then refused.
      const second = await program(['--config', config({ state, maxDailyOrders: 3 })]);
      expect(second.code, second.err).toBe(0);
      const summary = JSON.parse(readFileSync(join(dir, `summary-${configs}.json`), 'utf8')) as { ordersByStatus: Record<string, number>; rejectionsByCode: Record<string, number> };
      expect(summary.ordersByStatus).toEqual({ Filled: 1 });
      expect(summary.rejectionsByCode).toEqual({ MAX_DAILY_ORDERS: 1 });
      expect((await store.snapshot()).dailyOrders).toBe(3);
    } finally {
      await store.close();
    }
  });

  it("the summary's breaker openings are the account's (the tools' own breaker is not the one that opens)", async () => {
    // Every order is over the notional limit: refused by the chain alone, reported to the shared
    // streak; with threshold 1 the account's breaker opens at the first one.
    const state = `[state]\ntype = "redis"\nurl = "${redis.url}"\naccount = "acct-breaker"`;
    const gate = '[gate]\ntype = "RejectionCircuitBreaker"\nthreshold = 1\ncooldown_ms = 3600000';
    const run = await program(['--config', config({ state, gate, maxOrderNotional: 100 })]);
    expect(run.code, run.err).toBe(0);
    const summary = JSON.parse(readFileSync(join(dir, `summary-${configs}.json`), 'utf8')) as { breakerOpenings: number; rejectionsByCode: Record<string, number> };
    expect(summary.rejectionsByCode.MAX_ORDER_NOTIONAL).toBeGreaterThanOrEqual(1);
    expect(summary.breakerOpenings).toBe(1);
    expect(run.out).toContain('breaker opened  1 time(s)');
    const store = await RedisStateStore.open({ url: redis.url, account: 'acct-breaker' });
    try {
      expect((await store.snapshot()).breaker).toMatchObject({ state: 'Open', openings: 1 });
    } finally {
      await store.close();
    }
  });

  it('two MCP servers on one account share its limits through a redis state: the second order of the day is refused on the other server', async () => {
    const state = `[state]\ntype = "redis"\nurl = "${redis.url}"\naccount = "acct-mcp-${Date.now()}"`;
    const servers = [config({ state, maxDailyOrders: 1 }), config({ state, maxDailyOrders: 1 })].map((path) => {
      const child = spawn(process.execPath, [CLI, 'mcp', '--config', path, '--http', '0'], { env: { PATH: process.env.PATH, LOG_LEVEL: 'warn' } });
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      const url = new Promise<string>((resolve, reject) => {
        let err = '';
        child.stderr.on('data', (chunk: Buffer) => {
          err += chunk.toString();
          const found = /over Streamable HTTP at (http:\/\/\S+)/.exec(err);
          if (found !== null) resolve(found[1] as string);
        });
        void exited.then((code) => {
          reject(new Error(`mcp exited with ${code}: ${err}`));
        });
      });
      return { child, exited, url };
    });
    try {
      const answers: string[] = [];
      for (const server of servers) {
        const client = new Client({ name: 'state-program-spec', version: '1.0.0' });
        await client.connect(new StreamableHTTPClientTransport(new URL(await server.url)));
        const result = (await client.callTool({ name: 'place_order', arguments: { symbol: 'BTC-USDT', side: 'Buy', quantity: 0.01, price: 19_000 } })) as { isError?: boolean; structuredContent?: { code?: string; status?: string } };
        answers.push(result.isError === true ? String(result.structuredContent?.code) : String(result.structuredContent?.status));
        await client.close();
      }
      expect(answers).toEqual(['New', 'MAX_DAILY_ORDERS']);
    } finally {
      for (const server of servers) {
        server.child.kill('SIGTERM');
        expect(await server.exited).toBe(0);
      }
    }
  });

  it('--kill with a redis state halts the account for every replica, not only the tools it makes', async () => {
    const account = `acct-kill-${Date.now()}`;
    const run = await program(['--kill', '--config', config({ state: `[state]\ntype = "redis"\nurl = "${redis.url}"\naccount = "${account}"` })]);
    expect(run.code, run.err).toBe(0);
    expect(run.out).toContain(`kill: account ${account}: HALTED in the shared risk state`);
    const store = await RedisStateStore.open({ url: redis.url, account });
    try {
      expect(await store.tradingState()).toMatchObject({ state: 'HALTED', source: 'cli' });
    } finally {
      await store.close();
    }
  });

  it('an unreachable Redis stops the start with STATE_UNAVAILABLE words and a non-zero exit', async () => {
    const url = `redis://127.0.0.1:${await deadPort()}`;
    const run = await program(['--config', config({ state: `[state]\ntype = "redis"\nurl = "${url}"\naccount = "acct-1"\ntimeout_ms = 300` })]);
    expect(run.code).toBe(1);
    expect(run.err).toContain(`llm-trading-agent: cannot start: risk state redis ${url} account acct-1 (timeout 300 ms): risk state store (redis) unavailable: `);
    expect(run.out).toBe('');
  });
});

describe('--self-check and [state]', () => {
  it('reaches Redis and times the round trip; a dead Redis is a failure naming where', async () => {
    const up = await program(['--self-check', '--config', config({ state: `[state]\ntype = "redis"\nurl = "${redis.url}"\naccount = "acct-sc"\nkey_prefix = "axon:"` })]);
    expect(up.out).toMatch(new RegExp(`ok {3}risk state: redis ${redis.url} account acct-sc key prefix axon: \\(timeout 250 ms\\): reachable, round trip \\d+\\.\\d\\d ms\\n`));
    expect(up.code).toBe(0);
    const url = `redis://127.0.0.1:${await deadPort()}`;
    const down = await program(['--self-check', '--config', config({ state: `[state]\ntype = "redis"\nurl = "${url}"\naccount = "acct-sc"\ntimeout_ms = 300` })]);
    expect(down.out).toContain(`FAIL risk state: redis ${url} account acct-sc (timeout 300 ms): `);
    expect(down.code).toBe(1);
  });

  it('takes and releases the file lock; a file held by a live process is a failure naming it', async () => {
    const path = join(dir, 'self-check.json');
    const state = `[state]\ntype = "file"\npath = "${path}"`;
    const free = await program(['--self-check', '--config', config({ state })]);
    expect(free.out).toMatch(/ok {3}risk state: file .* lock taken, folder writable, round trip \d+\.\d\d ms\n/);
    expect(existsSync(`${path}.lock`)).toBe(false);
    const held = FileStateStore.open({ path });
    try {
      const busy = await program(['--self-check', '--config', config({ state })]);
      expect(busy.out).toContain(`FAIL risk state: file ${path} (lock ${path}.lock; one process): risk state file ${path} is locked by pid ${process.pid}`);
      expect(busy.code).toBe(1);
    } finally {
      await held.close();
    }
  });
});
