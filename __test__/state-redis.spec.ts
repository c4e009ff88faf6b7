// The Redis store's failure model against a real redis-server: slower than timeout_ms, gone,
// answering garbage, or having forgotten the script -> StateUnavailable or a transparent EVAL,
// never a grant and never a client stuck in a broken state.
import { createServer, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { StateConfigError, StateUnavailable } from '../ts/state/errors';
import { RedisStateStore, type RoundTrip } from '../ts/state/redis-store';
import type { PlaceRequest } from '../ts/state/store';
import { RedisServer } from './support/redis-server';

let redis: RedisServer;
let admin: Redis;

beforeAll(async () => {
  redis = await RedisServer.start();
  admin = new Redis(redis.url);
});

afterAll(async () => {
  admin.disconnect();
  await redis.stop();
});

const order: PlaceRequest = { symbol: 'BTCUSDT', side: 'buy', quantity: 1, limits: { maxDailyOrders: 10 }, breaker: {} };

/** The first whole RESP command in `buffer` (its words and its length), or undefined while it is incomplete. */
function nextCommand(buffer: Buffer): { words: string[]; length: number } | undefined {
  let at = 0;
  const line = (): string | undefined => {
    const end = buffer.indexOf('\r\n', at);
    if (end < 0) return undefined;
    const text = buffer.toString('latin1', at, end);
    at = end + 2;
    return text;
  };
  const header = line();
  if (header === undefined) return undefined;
  const words: string[] = [];
  for (let i = 0; i < Number(header.slice(1)); i++) {
    const size = line();
    if (size === undefined) return undefined;
    const length = Number(size.slice(1));
    if (buffer.length < at + length + 2) return undefined;
    words.push(buffer.toString('latin1', at, at + length));
    at += length + 2;
  }
  return { words, length: at };
}

/** A loopback server that speaks just enough RESP to pass ioredis's ready check, then answers `reply` to every other command. */
async function fakeRedis(reply: string): Promise<{ close: () => Promise<void>; url: string }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket: Socket) => {
    sockets.add(socket);
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (let command = nextCommand(pending); command; command = nextCommand(pending)) {
        pending = pending.subarray(command.length);
        const name = (command.words[0] ?? '').toLowerCase();
        if (name === 'info') {
          const info = 'redis_version:7.0.0\r\nloading:0\r\n';
          socket.write(`$${info.length}\r\n${info}\r\n`);
        } else if (name === 'client') socket.write('+OK\r\n');
        else if (name === 'script') socket.write('$40\r\n0000000000000000000000000000000000000000\r\n');
        else socket.write(reply);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const close = (): Promise<void> =>
    new Promise((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => {
        resolve();
      });
    });
  return { close, url: `redis://127.0.0.1:${port}` };
}

describe('redis store failure model', () => {
  it('an answer slower than timeout_ms is StateUnavailable (timeout); the next call after Redis answers again is granted', async () => {
    const samples: RoundTrip[] = [];
    const store = await RedisStateStore.open({ url: redis.url, account: 'slow', timeoutMs: 100, observe: (sample) => samples.push(sample) });
    // Once CLIENT PAUSE has answered, Redis holds every other command until the pause ends: the
    // store's call cannot be answered within its 100 ms (ordering by Redis's own reply, no sleep).
    await admin.call('CLIENT', 'PAUSE', '1500', 'ALL');
    const refused = await store.reservePlace(order).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(StateUnavailable);
    expect(refused).toMatchObject({ why: 'timeout', code: 'STATE_UNAVAILABLE', message: expect.stringContaining('timeout_ms 100') as unknown });
    await admin.ping(); // answered when the pause is over
    expect((await store.reservePlace(order)).ok).toBe(true);
    // What metrics get: one sample per script call, the timeout counted as such.
    expect(samples.map((s) => [s.op, s.outcome])).toEqual([
      ['place', 'timeout'],
      ['place', 'ok'],
    ]);
    expect(samples.every((s) => s.seconds > 0)).toBe(true);
    await store.close();
  });

  it('nothing listening: open fails with StateUnavailable (unreachable)', async () => {
    const { close, url } = await fakeRedis('');
    await close(); // the port is now closed
    await expect(RedisStateStore.open({ url, account: 'gone', timeoutMs: 200 })).rejects.toMatchObject({ name: 'StateUnavailable', why: 'unreachable' });
  });

  it('a server answering something that is not a verdict is StateUnavailable (garbage), not a grant', async () => {
    const { close, url } = await fakeRedis(':42\r\n');
    const store = await RedisStateStore.open({ url, account: 'garbage', timeoutMs: 500 });
    await expect(store.reservePlace(order)).rejects.toMatchObject({ name: 'StateUnavailable', why: 'garbage' });
    await expect(store.snapshot()).rejects.toBeInstanceOf(StateUnavailable);
    await close();
    await store.close();
  });

  it('a key of the wrong type (someone else wrote it) is StateUnavailable naming the error', async () => {
    await admin.set('{clobbered}:breaker', 'not a hash');
    const store = await RedisStateStore.open({ url: redis.url, account: 'clobbered', timeoutMs: 500 });
    await expect(store.reservePlace({ ...order, breaker: { rejection: { threshold: 3, cooldownMs: 10 } } })).rejects.toThrow(/WRONGTYPE/);
    await store.close();
  });

  it('SCRIPT FLUSH (a restarted or failed-over Redis): the call falls back to EVAL and is answered', async () => {
    const store = await RedisStateStore.open({ url: redis.url, account: 'flushed', timeoutMs: 500 });
    expect((await store.reservePlace(order)).ok).toBe(true);
    await admin.script('FLUSH');
    expect((await store.reservePlace(order)).ok).toBe(true);
    expect((await store.snapshot()).dailyOrders).toBe(2);
    await store.close();
  });

  it('all keys of an account share its hash tag and the optional prefix', async () => {
    const dayBefore = Math.floor(Date.now() / 86_400_000);
    const store = await RedisStateStore.open({ url: redis.url, account: 'tagged', keyPrefix: 'axon:', timeoutMs: 500 });
    const granted = await store.proposePlace({ ...order, fieldsHash: 'h' });
    expect(granted.ok).toBe(true);
    expect((await store.reservePlace(order)).ok).toBe(true);
    await store.recordDailyPnl(-1);
    const keys = await admin.keys('*tagged*');
    expect(keys.length).toBeGreaterThanOrEqual(6);
    for (const key of keys) expect(key).toMatch(/^axon:\{tagged\}:/);
    // Today's counters expire after the day (and one more for hosts with a slightly slow clock).
    const orders = keys.find((key) => key.includes(':orders:')) ?? '';
    const day = Number(orders.slice(orders.lastIndexOf(':') + 1));
    // The key is named by the day of the call (read around it: the test may straddle midnight).
    expect([dayBefore, Math.floor(Date.now() / 86_400_000)]).toContain(day);
    expect(await admin.pexpiretime(orders)).toBe((day + 2) * 86_400_000);
    await store.close();
  });

  it('AOF everysec: what reached the disk before a kill -9 of Redis is there after the restart; the store reconnects by itself', async () => {
    const server = await RedisServer.start({ aof: 'everysec' });
    try {
      const store = await RedisStateStore.open({ url: server.url, account: 'durable', timeoutMs: 1_000 });
      for (let i = 0; i < 10; i++) expect((await store.reservePlace(order)).ok).toBe(true);
      // A rewrite writes and fsyncs the whole dataset: a point where everysec has certainly flushed.
      const direct = new Redis(server.url);
      await direct.bgrewriteaof();
      for (let i = 0; i < 2_000 && /aof_rewrite_in_progress:1|aof_rewrite_scheduled:1/.test(await direct.info('persistence')); i++) await sleep(10);
      direct.disconnect();
      await server.kill9();
      await expect(store.reservePlace(order)).rejects.toBeInstanceOf(StateUnavailable);
      await server.restart();
      let snapshot: Awaited<ReturnType<RedisStateStore['snapshot']>> | undefined;
      for (let i = 0; i < 2_000 && !snapshot; i++) snapshot = await store.snapshot().catch(() => (sleep(10).then(() => undefined)));
      expect(snapshot?.dailyOrders).toBe(10);
      await store.close();
    } finally {
      await server.stop();
    }
  });

  it('bad options name the key and connect nothing', async () => {
    await expect(RedisStateStore.open({ url: redis.url, account: 'a{b}', timeoutMs: 100 })).rejects.toThrow(StateConfigError);
    await expect(RedisStateStore.open({ url: redis.url, account: 'a{b}' })).rejects.toThrow(/account/);
    await expect(RedisStateStore.open({ url: 'http://127.0.0.1:1', account: 'a' })).rejects.toThrow(/url/);
    await expect(RedisStateStore.open({ url: redis.url, account: 'a', timeoutMs: 0 })).rejects.toThrow(/timeoutMs/);
  });
});
