// `[state]` configuration: the default is the chain's in-process state (nothing to open); each
// other type opens its store; a bad key is named and nothing is opened (no lock file, no connection).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { parseConfig } from '../ts/config';
import { scrubSecrets } from '../ts/secrets';
import { MEMORY_STATE, StateConfigError, StateUnavailable, describeState, openStateStore, parseStateConfig } from '../ts/state';
import { RedisServer } from './support/redis-server';

let redis: RedisServer;
let dir: string;

beforeAll(async () => {
  redis = await RedisServer.start();
  dir = mkdtempSync(join(tmpdir(), 'axon-state-config-'));
});

afterAll(async () => {
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('[state] configuration', () => {
  it('absent means memory; each type opens its own store', async () => {
    expect(parseStateConfig(undefined)).toEqual({ type: 'memory' });
    expect(await openStateStore(undefined)).toBe(MEMORY_STATE);
    const path = join(dir, 'risk-state.json');
    const file = await openStateStore({ type: 'file', path });
    expect([file.kind, existsSync(`${path}.lock`)]).toEqual(['file', true]);
    await file.close();
    expect(existsSync(`${path}.lock`)).toBe(false);
    const shared = await openStateStore({ type: 'redis', url: redis.url, account: 'main', key_prefix: 'axon:' });
    if (shared.kind !== 'redis') throw new Error(`expected the redis store, got ${shared.kind}`);
    expect((await shared.reservePlace({ symbol: 'BTCUSDT', side: 'buy', quantity: 1, limits: {}, breaker: {} })).ok).toBe(true);
    await shared.close();
  });

  it('describes where the state lives without its secrets', () => {
    expect(describeState(parseStateConfig(undefined))).toMatch(/^memory \(this process only/);
    expect(describeState(parseStateConfig({ type: 'file', path: '/var/lib/axon/counts.json' }))).toBe('file /var/lib/axon/counts.json (lock /var/lib/axon/counts.json.lock; one process)');
    const shown = describeState(parseStateConfig({ type: 'redis', url: 'redis://agent:hunter2@10.0.0.5:6379/0', account: 'acct-1', key_prefix: 'axon:' }));
    expect(shown).toBe('redis redis://agent:***@10.0.0.5:6379/0 account acct-1 key prefix axon: (timeout 250 ms)');
  });

  it('bad keys are named, unknown keys refused, nothing opened', async () => {
    expect(() => parseStateConfig({ type: 'redis', url: redis.url })).toThrow(/account/);
    expect(() => parseStateConfig({ type: 'redis', url: redis.url, account: 'a', timeout_ms: -5 })).toThrow(/timeout_ms/);
    expect(() => parseStateConfig({ type: 'redis', url: redis.url, account: 'a', timeoutMs: 5 })).toThrow(/timeoutMs/);
    expect(() => parseStateConfig({ type: 'sqlite' })).toThrow(StateConfigError);
    const path = join(dir, 'never.json');
    await expect(openStateStore({ type: 'file', path, extra: 1 })).rejects.toThrow(/extra/);
    expect(existsSync(`${path}.lock`)).toBe(false);
  });

  it('a Redis that does not answer stops the start with StateUnavailable', async () => {
    const down = await RedisServer.start();
    await down.stop();
    await expect(openStateStore({ type: 'redis', url: down.url, account: 'a', timeout_ms: 200 })).rejects.toBeInstanceOf(StateUnavailable);
  });

  it('[state] in the program config: snake_case keys named as state.<key>; daily_counts_file maps to it', () => {
    const base = '[trading]\nbackend = "mock"\n';
    expect(parseConfig(base)).toMatchObject({ state: { type: 'file', path: 'daily-counts.json' }, state_from: 'default' });
    expect(parseConfig(`${base}[risk]\ndaily_counts_file = "none"\n`)).toMatchObject({ state: { type: 'memory' }, state_from: 'daily_counts_file', risk: { daily_counts_file: 'none' } });
    expect(parseConfig(`${base}[risk]\ndaily_counts_file = "/tmp/c.json"\n`)).toMatchObject({ state: { type: 'file', path: '/tmp/c.json' }, state_from: 'daily_counts_file' });
    const redisConfig = parseConfig(`${base}[state]\ntype = "redis"\nurl = "redis://10.0.0.5:6379"\naccount = "acct-1"\n`);
    expect(redisConfig).toMatchObject({ state: { type: 'redis', url: 'redis://10.0.0.5:6379', account: 'acct-1', timeout_ms: 250 }, state_from: 'state', risk: { daily_counts_file: 'none' } });
    expect(() => parseConfig(`${base}[state]\ntype = "redis"\nurl = "http://x"\naccount = "a"\n`)).toThrow(/config error: state\.url: expected a redis:\/\/ or rediss:\/\/ URL/);
    expect(() => parseConfig(`${base}[state]\ntype = "file"\npath = "x.json"\ntimeout_ms = 5\n`)).toThrow(/state\.timeout_ms: unknown key/);
    expect(() => parseConfig(`${base}[state]\ntype = "redis"\nurl = "redis://h"\naccount = "has space"\n`)).toThrow(/state\.account: /);
    expect(() => parseConfig(`${base}[state]\ntype = "sqlite"\n`)).toThrow(/state\.type: /);
    expect(() => parseConfig(`${base}[risk]\ndaily_counts_file = "a.json"\n[state]\ntype = "memory"\n`)).toThrow(/risk\.daily_counts_file: set either \[state\] or risk\.daily_counts_file/);
  });

  it('a password in the Redis URL is a secret: scrubbed from anything printed, hidden where the state is described', () => {
    const config = parseConfig('[trading]\nbackend = "mock"\n[state]\ntype = "redis"\nurl = "redis://agent:s3cret-pass-123@10.0.0.5:6379"\naccount = "a"\n');
    expect(scrubSecrets('redis said: NOAUTH for s3cret-pass-123')).not.toContain('s3cret-pass-123');
    expect(describeState(config.state)).toBe('redis redis://agent:***@10.0.0.5:6379 account a (timeout 250 ms)');
  });
});
