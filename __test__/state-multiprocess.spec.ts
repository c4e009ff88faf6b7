// The store's promises across real processes: every replica is a child process with its own store
// (its own Redis connection, or the file), hammering the same account at once. A real redis-server
// is started by the test on a random loopback port; kill -9 hits replicas and Redis itself.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { StateLockedError } from '../ts/state/errors';
import { FileStateStore } from '../ts/state/file-store';
import { RedisStateStore } from '../ts/state/redis-store';
import type { PlaceRequest, StateSnapshot } from '../ts/state/store';
import { RedisServer } from './support/redis-server';
import { Replica, compileWorker, removeWorker } from './support/state-replicas';

const LEASE_MS = 60_000;
let workerJs: string;
let redis: RedisServer;
let scratch: string;
let accounts = 0;
const live: Replica[] = [];

beforeAll(async () => {
  workerJs = compileWorker();
  redis = await RedisServer.start();
  scratch = mkdtempSync(join(tmpdir(), 'axon-state-mp-'));
}, 120_000);

afterAll(async () => {
  await Promise.all(live.map((replica) => replica.kill9()));
  await redis.stop();
  rmSync(scratch, { recursive: true, force: true });
  removeWorker(workerJs);
});

function request(overrides: Partial<PlaceRequest> = {}): PlaceRequest {
  return { symbol: 'BTCUSDT', side: 'buy', quantity: 1, limits: {}, breaker: {}, leaseMs: LEASE_MS, ...overrides };
}

async function replicas(count: number, server: RedisServer, account: string): Promise<Replica[]> {
  const started = await Promise.all(Array.from({ length: count }, () => Replica.start(workerJs, { type: 'redis', url: server.url, account, timeoutMs: 10_000 })));
  live.push(...started);
  return started;
}

async function observer(server: RedisServer, account: string, offsetMs = 0): Promise<RedisStateStore> {
  return RedisStateStore.open({ url: server.url, account, timeoutMs: 10_000, nowMs: () => Date.now() + offsetMs });
}

async function waitFor(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 2_000; i++) {
    if (await condition()) return;
    await sleep(10);
  }
  throw new Error(`gave up waiting for ${what}`);
}

function tally(verdicts: { ok: boolean; reason?: string }[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of verdicts) {
    const key = v.ok ? 'granted' : (v.reason ?? '?');
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

describe('redis store across 3 replica processes', () => {
  it('3 x 1,000 concurrent reservations with maxDailyOrders = 100 grant exactly 100', async () => {
    const account = `mp-${++accounts}`;
    const group = await replicas(3, redis, account);
    const results = await Promise.all(group.map((r) => r.call({ op: 'burst', count: 1_000, request: request({ limits: { maxDailyOrders: 100 } }), settle: 'none' })));
    const all = results.flatMap((r) => r.verdicts);
    expect(tally(all)).toEqual({ granted: 100, MAX_DAILY_ORDERS: 2_900 });
    expect(group.reduce((sum, r) => sum + r.granted.size, 0)).toBe(100);
    const store = await observer(redis, account);
    expect((await store.snapshot()).dailyOrders).toBe(100);
    await store.close();
    await Promise.all(group.map((r) => r.stop()));
  });

  it('3 x 1,000 concurrent buys of 1 with maxPositionAbs = 100 grant exactly 100', async () => {
    const account = `mp-${++accounts}`;
    const group = await replicas(3, redis, account);
    const results = await Promise.all(group.map((r) => r.call({ op: 'burst', count: 1_000, request: request({ limits: { maxPositionAbs: 100 } }), settle: 'none' })));
    expect(tally(results.flatMap((r) => r.verdicts))).toEqual({ granted: 100, MAX_POSITION_ABS: 2_900 });
    const store = await observer(redis, account);
    expect((await store.snapshot()).exposure.BTCUSDT?.inflightBuy).toBe(100);
    await store.close();
    await Promise.all(group.map((r) => r.stop()));
  });

  it('a TwoPhase token issued on A is redeemed once on B; the same token on C is invalid', async () => {
    const account = `mp-${++accounts}`;
    const [a, b, c] = await replicas(3, redis, account);
    if (!a || !b || !c) throw new Error('three replicas');
    const { token } = await a.call({ op: 'propose', fieldsHash: 'fields-1' });
    expect(token).toMatch(/^[0-9a-f-]{36}$/);
    const confirm = request({ token: { redeem: token ?? '', fieldsHash: 'fields-1' } });
    const [onB, onC] = await Promise.all([b.call({ op: 'place', request: confirm }), c.call({ op: 'place', request: confirm })]);
    // Sent at once: exactly one of them wins, whichever Redis ran first.
    expect(tally([...onB.verdicts, ...onC.verdicts])).toEqual({ granted: 1, CONFIRM_TOKEN_INVALID: 1 });
    expect((await c.call({ op: 'place', request: confirm })).verdicts).toEqual([{ ok: false, reason: 'CONFIRM_TOKEN_INVALID', numbers: {} }]);
    await Promise.all([a, b, c].map((r) => r.stop()));
  });

  it('the breaker opens for every replica after threshold refusals spread over them; one HalfOpen trial; reset for all', async () => {
    const account = `mp-${++accounts}`;
    const group = await replicas(3, redis, account);
    const breaker = { rejection: { threshold: 9, cooldownMs: 60_000 } };
    const refused = request({ limits: { maxDailyOrders: 0 }, breaker });
    const fine = request({ breaker });
    const opening = await Promise.all(group.map((r) => r.call({ op: 'burst', count: 3, request: refused, settle: 'none' })));
    expect(tally(opening.flatMap((r) => r.verdicts))).toEqual({ MAX_DAILY_ORDERS: 9 });
    const blocked = await Promise.all(group.map((r) => r.call({ op: 'place', request: fine })));
    expect(tally(blocked.flatMap((r) => r.verdicts))).toEqual({ CIRCUIT_BREAKER_OPEN: 3 });
    // Cooldown over in every replica's clock: 300 concurrent calls, exactly one reaches the limits.
    await Promise.all(group.map((r) => r.call({ op: 'advance', ms: 60_000 })));
    const trial = await Promise.all(group.map((r) => r.call({ op: 'burst', count: 100, request: refused, settle: 'none' })));
    expect(tally(trial.flatMap((r) => r.verdicts))).toEqual({ MAX_DAILY_ORDERS: 1, CIRCUIT_BREAKER_OPEN: 299 });
    const store = await observer(redis, account, 60_000);
    expect((await store.snapshot()).breaker).toMatchObject({ state: 'Open', openings: 2 });
    await store.resetBreaker();
    const after = await Promise.all(group.map((r) => r.call({ op: 'burst', count: 10, request: fine, settle: 'none' })));
    expect(tally(after.flatMap((r) => r.verdicts))).toEqual({ granted: 30 });
    await store.close();
    await Promise.all(group.map((r) => r.stop()));
  });

  it('kill -9 of replicas mid-burst, 20 rounds: the shared count never below what they sent; no reservation outlives its lease', async () => {
    const account = `mp-${++accounts}`;
    const store = await observer(redis, account);
    const everyone: Replica[] = [];
    for (let round = 0; round < 20; round++) {
      const group = await replicas(3, redis, account);
      everyone.push(...group);
      for (const r of group) r.startLoop({ op: 'loop', request: request({ limits: { maxDailyOrders: 1_000_000, maxPositionAbs: 1e9 } }), settle: 'mixed' });
      const [victim, ...others] = group;
      if (!victim) throw new Error('three replicas');
      const before = victim.granted.size;
      await waitFor(() => victim.granted.size >= before + 30, 'the victim to be mid-burst');
      await victim.kill9();
      await Promise.all(others.map((r) => r.kill9())); // the others die mid-burst too
      const sent = everyone.reduce((sum, r) => sum + r.granted.size - r.releasing.size, 0);
      const snap = await store.snapshot();
      expect(snap.dailyOrders).toBeGreaterThanOrEqual(sent);
      const now = Date.now();
      for (const reservation of snap.reservations) expect(reservation.leaseUntilMs).toBeLessThanOrEqual(now + LEASE_MS);
    }
    // One lease later (the observer's clock), nothing the dead replicas reserved is left in flight.
    const later = await observer(redis, account, LEASE_MS + 1);
    const snap: StateSnapshot = await later.snapshot();
    expect(snap.reservations).toEqual([]);
    expect(snap.exposure.BTCUSDT?.inflightBuy).toBe(0);
    expect(snap.dailyOrders).toBeGreaterThanOrEqual(everyone.reduce((sum, r) => sum + r.granted.size - r.releasing.size, 0));
    await Promise.all([store.close(), later.close()]);
  }, 120_000);
});

describe('redis killed and restarted under 3 replicas (AOF appendfsync always)', () => {
  it('refuses with STATE_UNAVAILABLE while Redis is down, grants nothing, keeps every grant, resumes by itself', async () => {
    const server = await RedisServer.start({ aof: 'always' });
    try {
      const account = 'mp-outage';
      const group = await replicas(3, server, account);
      const generous = request({ limits: { maxDailyOrders: 1_000_000 } });
      const bursts = group.map((r) => r.call({ op: 'burst', count: 5_000, request: generous, settle: 'none' }));
      await waitFor(() => group.every((r) => r.granted.size > 0), 'grants from every replica');
      await server.kill9();
      const midBurst = (await Promise.all(bursts)).flatMap((r) => r.verdicts);
      // Every call was either granted before the kill or refused: nothing else, nothing lost.
      expect(Object.keys(tally(midBurst)).sort()).toEqual(['STATE_UNAVAILABLE', 'granted']);
      const grantedBefore = group.reduce((sum, r) => sum + r.granted.size, 0);
      const down = await Promise.all(group.map((r) => r.call({ op: 'burst', count: 50, request: generous, settle: 'none' })));
      expect(tally(down.flatMap((r) => r.verdicts))).toEqual({ STATE_UNAVAILABLE: 150 });
      expect(group.reduce((sum, r) => sum + r.granted.size, 0)).toBe(grantedBefore);

      await server.restart();
      for (const replica of group) {
        await waitFor(async () => (await replica.call({ op: 'place', request: generous })).verdicts[0]?.ok === true, 'the replica to trade again');
      }
      const store = await observer(server, account);
      // appendfsync always: every grant a replica heard of was on disk before its answer.
      expect((await store.snapshot()).dailyOrders).toBeGreaterThanOrEqual(grantedBefore + 3);
      await store.close();
      await Promise.all(group.map((r) => r.stop()));
    } finally {
      await server.stop();
    }
  }, 120_000);
});

describe('file store across processes', () => {
  it('a second process on the same file fails to start, naming the holder', async () => {
    const path = join(scratch, 'held.json');
    const held = FileStateStore.open({ path });
    try {
      await expect(Replica.start(workerJs, { type: 'file', path })).rejects.toThrow(new RegExp(`locked by pid ${process.pid} on `));
      expect(() => FileStateStore.open({ path })).toThrow(StateLockedError);
    } finally {
      await held.close();
    }
  });

  it('kill -9 mid-write, 5 rounds: the file stays readable, the lock of the dead pid is taken over, no grant is lost', async () => {
    const path = join(scratch, 'crash.json');
    let granted = 0;
    for (let round = 0; round < 5; round++) {
      const writer = await Replica.start(workerJs, { type: 'file', path });
      live.push(writer);
      writer.startLoop({ op: 'loop', request: request({ limits: { maxDailyOrders: 1_000_000 } }), settle: 'mixed' });
      await waitFor(() => writer.granted.size >= 60, 'the writer to be mid-burst');
      await writer.kill9();
      granted = Math.max(granted, ...[...writer.granted].map(Number));
      expect(existsSync(`${path}.lock`)).toBe(true);
      expect(() => JSON.parse(readFileSync(path, 'utf8')) as unknown).not.toThrow();
      const reopened = FileStateStore.open({ path });
      expect(reopened.tookOverFrom?.pid).toBe(writer.pid);
      expect(readdirSync(scratch).filter((name) => name.endsWith('.tmp'))).toEqual([]);
      expect(reopened.load()?.orders).toBeGreaterThanOrEqual(granted);
      await reopened.close();
    }
  }, 120_000);
});
