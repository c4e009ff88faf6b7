// `[state]` configuration: the default is today's in-process store; each type opens its store;
// a bad key is named and nothing is opened (no lock file, no connection).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { StateConfigError, StateUnavailable, openStateStore, parseStateConfig } from '../ts/state';
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
    const memory = await openStateStore(undefined);
    expect(memory.kind).toBe('memory');
    const path = join(dir, 'risk-state.json');
    const file = await openStateStore({ type: 'file', path });
    expect([file.kind, existsSync(`${path}.lock`)]).toEqual(['file', true]);
    await file.close();
    const shared = await openStateStore({ type: 'redis', url: redis.url, account: 'main', key_prefix: 'axon:' });
    expect(shared.kind).toBe('redis');
    expect((await shared.reservePlace({ symbol: 'BTCUSDT', side: 'buy', quantity: 1, limits: {}, breaker: {} })).ok).toBe(true);
    await shared.close();
    await memory.close();
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
});
