// The shared risk state's promises at the TOOL level, across real processes: every replica is a
// child process running createTradingTools on its own mock venue, all trading one account through
// a real redis-server (random loopback port; kill -9 hits replicas and Redis itself). What reached
// the venues is counted from each venue's ledger (written before the venue takes the order), so
// the sums hold even for a replica that was killed.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { FileStateStore } from '../ts/state/file-store';
import { RedisStateStore } from '../ts/state/redis-store';
import type { RiskOptions } from '../ts/tools';
import { Replica, compileReplicaWorker, removeReplicaWorker, tally } from './support/replica-processes';
import type { ReplicaConfig } from './support/replica-worker';
import { RedisServer } from './support/redis-server';

const BUY = { symbol: 'BTC-USDT', side: 'Buy', quantity: 0.001, order_type: 'Market' };
let workerJs: string;
let redis: RedisServer;
let scratch: string;
let accounts = 0;
let ledgers = 0;
const live: Replica[] = [];

beforeAll(async () => {
  workerJs = compileReplicaWorker();
  redis = await RedisServer.start();
  scratch = mkdtempSync(join(tmpdir(), 'axon-state-replicas-'));
}, 120_000);

afterAll(async () => {
  await Promise.all(live.map((replica) => replica.kill9()));
  await redis.stop();
  rmSync(scratch, { recursive: true, force: true });
  removeReplicaWorker(workerJs);
});

interface Group {
  account: string;
  server: RedisServer;
  config: Omit<ReplicaConfig, 'ledger' | 'state'>;
}

function group(risk: RiskOptions, extra: Partial<Group['config']> = {}, server = redis): Group {
  return { account: `acct-${++accounts}`, server, config: { mode: 'Direct', risk: { allowedSymbols: ['BTC-USDT'], ...risk }, backendTimeoutMs: 5_000, ...extra } };
}

async function replica(g: Group): Promise<Replica> {
  const started = await Replica.start(workerJs, {
    ...g.config,
    state: { type: 'redis', url: g.server.url, account: g.account, timeoutMs: 5_000 },
    ledger: join(scratch, `ledger-${++ledgers}.txt`),
  });
  live.push(started);
  return started;
}

async function replicas(g: Group, count: number): Promise<Replica[]> {
  return Promise.all(Array.from({ length: count }, () => replica(g)));
}

/** The account as Redis holds it, seen with a clock `offsetMs` ahead. */
async function snapshot(g: Group, offsetMs = 0) {
  const store = await RedisStateStore.open({ url: g.server.url, account: g.account, timeoutMs: 5_000, nowMs: () => Date.now() + offsetMs });
  try {
    return await store.snapshot();
  } finally {
    await store.close();
  }
}

async function waitFor(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 3_000; i++) {
    if (await condition()) return;
    await sleep(10);
  }
  throw new Error(`gave up waiting for ${what}`);
}

const sum = (group: Replica[]): number => group.reduce((total, r) => total + r.venueOrders, 0);

describe('3 replica processes on one Redis account', () => {
  it('3 x 1,000 concurrent place_order with max_daily_orders = 100: exactly 100 reach the venues', async () => {
    const g = group({ maxDailyOrders: 100 });
    const three = await replicas(g, 3);
    const results = (await Promise.all(three.map((r) => r.call({ op: 'burst', count: 1_000, args: BUY })))).flat();
    expect(tally(results)).toEqual({ sent: 100, MAX_DAILY_ORDERS: 2_900 });
    expect(sum(three)).toBe(100);
    expect((await snapshot(g)).dailyOrders).toBe(100);
    await Promise.all(three.map((r) => r.stop()));
  }, 60_000);

  it('3 x 1,000 concurrent buys of 1 with max_position_abs = 100: exactly 100 reach the venues', async () => {
    const g = group({ maxPositionAbs: 100 });
    const three = await replicas(g, 3);
    const results = (await Promise.all(three.map((r) => r.call({ op: 'burst', count: 1_000, args: { ...BUY, quantity: 1 } })))).flat();
    expect(tally(results)).toEqual({ sent: 100, MAX_POSITION_ABS: 2_900 });
    expect(sum(three)).toBe(100);
    // An accepted order's settle goes out after the agent has its answer: the fills land in the position shortly.
    await waitFor(async () => (await snapshot(g)).exposure['BTC-USDT']?.position === 100, 'the 100 fills in the shared position');
    expect((await snapshot(g)).exposure['BTC-USDT']).toMatchObject({ position: 100, inflightBuy: 0 });
    await Promise.all(three.map((r) => r.stop()));
  }, 60_000);

  it('TwoPhase: proposed on A, confirmed on B -> placed once; the same token on C -> CONFIRM_TOKEN_INVALID', async () => {
    const g = group({ maxDailyOrders: 10 }, { mode: 'TwoPhase' });
    const [a, b, c] = await replicas(g, 3);
    if (!a || !b || !c) throw new Error('three replicas');
    const order = { symbol: 'BTC-USDT', side: 'Buy', quantity: 0.01, price: 19_000 };
    const [proposal] = await a.call({ op: 'call', args: order });
    if (!proposal?.ok) throw new Error(`expected a proposal, got ${JSON.stringify(proposal)}`);
    const token = (JSON.parse(proposal.ack) as { confirm_token?: string }).confirm_token;
    expect(token).toMatch(/^[0-9a-f-]{36}$/);
    const confirm = { ...order, confirm_token: token };
    // Sent at once: exactly one of them wins, whichever Redis ran first.
    const [onB, onC] = await Promise.all([b.call({ op: 'call', args: confirm }), c.call({ op: 'call', args: confirm })]);
    expect(tally([...onB, ...onC])).toEqual({ sent: 1, CONFIRM_TOKEN_INVALID: 1 });
    expect(tally(await c.call({ op: 'call', args: confirm }))).toEqual({ CONFIRM_TOKEN_INVALID: 1 });
    expect([a.venueOrders, b.venueOrders + c.venueOrders]).toEqual([0, 1]);
    await Promise.all([a, b, c].map((r) => r.stop()));
  }, 60_000);

  it('the breaker opens for every replica after threshold refusals spread over them; one HalfOpen trial; reset for all', async () => {
    const g = group({ maxDailyOrders: 0, maxOrderNotional: 50_000 }, { gate: { type: 'RejectionCircuitBreaker', threshold: 9, cooldownMs: 60_000 } });
    const [a, b, c] = await replicas(g, 3);
    if (!a || !b || !c) throw new Error('three replicas');
    const overNotional = { symbol: 'BTC-USDT', side: 'Buy', quantity: 5, price: 20_000 };
    const order = { symbol: 'BTC-USDT', side: 'Buy', quantity: 0.01, price: 19_000 };
    // 3 static refusals on A (decided by A's chain alone, reported to the shared streak), 3 + 2
    // daily-limit refusals on B and C, the ninth on A: it is decided after A's reports landed.
    expect(tally(await a.call({ op: 'burst', count: 3, args: overNotional }))).toEqual({ MAX_ORDER_NOTIONAL: 3 });
    expect(tally(await b.call({ op: 'burst', count: 3, args: order }))).toEqual({ MAX_DAILY_ORDERS: 3 });
    expect(tally(await c.call({ op: 'burst', count: 2, args: order }))).toEqual({ MAX_DAILY_ORDERS: 2 });
    expect(tally(await a.call({ op: 'call', args: order }))).toEqual({ MAX_DAILY_ORDERS: 1 });
    const blocked = await Promise.all([a, b, c].map((r) => r.call({ op: 'call', args: order })));
    expect(tally(blocked.flat())).toEqual({ CIRCUIT_BREAKER_OPEN: 3 });
    expect((await snapshot(g)).breaker).toMatchObject({ state: 'Open', openings: 1 });
    // Cooldown over on every replica's clock: 300 concurrent calls, exactly one is the trial (refused by the limit: Open again).
    await Promise.all([a, b, c].map((r) => r.call({ op: 'advance', ms: 60_000 })));
    const trial = await Promise.all([a, b, c].map((r) => r.call({ op: 'burst', count: 100, args: order })));
    expect(tally(trial.flat())).toEqual({ MAX_DAILY_ORDERS: 1, CIRCUIT_BREAKER_OPEN: 299 });
    expect((await snapshot(g, 60_000)).breaker).toMatchObject({ state: 'Open', openings: 2 });
    // resetGate on one replica closes the shared breaker for all: the limit answers again everywhere.
    await b.call({ op: 'reset-gate' });
    const after = await Promise.all([a, b, c].map((r) => r.call({ op: 'call', args: order })));
    expect(tally(after.flat())).toEqual({ MAX_DAILY_ORDERS: 3 });
    expect(sum([a, b, c])).toBe(0);
    await Promise.all([a, b, c].map((r) => r.stop()));
  }, 60_000);

  it('kill -9 of a replica mid-burst, 20 rounds: the shared count is never below what the venues received; no reservation outlives its lease', async () => {
    // backendTimeoutMs 500: the lease of a reservation is 1 s.
    const leaseMs = 1_000;
    const g = group({ maxDailyOrders: 1_000_000, maxPositionAbs: 1e9 }, { backendTimeoutMs: leaseMs / 2 });
    const running = await replicas(g, 3);
    const everyone = [...running];
    for (const r of running) r.startLoop(BUY);
    for (let round = 0; round < 20; round++) {
      const victim = running[round % 3] as Replica;
      const spare = replica(g); // starts while the victim trades
      const before = victim.venueOrders;
      await waitFor(() => victim.venueOrders >= before + 30, 'the victim to be mid-burst');
      await victim.kill9();
      const received = sum(everyone); // read before the count: the count can only have grown since
      const snap = await snapshot(g);
      expect(snap.dailyOrders).toBeGreaterThanOrEqual(received);
      const now = Date.now();
      for (const reservation of snap.reservations) expect(reservation.leaseUntilMs).toBeLessThanOrEqual(now + leaseMs);
      const replacement = await spare;
      replacement.startLoop(BUY);
      running[round % 3] = replacement;
      everyone.push(replacement);
    }
    await Promise.all(running.map((r) => r.kill9()));
    const received = sum(everyone);
    // One lease later (the observer's clock), nothing the dead replicas reserved is left in flight.
    const later = await snapshot(g, leaseMs + 1);
    expect(later.reservations).toEqual([]);
    expect(later.exposure['BTC-USDT']?.inflightBuy).toBe(0);
    expect(later.dailyOrders).toBeGreaterThanOrEqual(received);
  }, 120_000);
});

describe('Redis killed and restarted under 3 replicas (AOF appendfsync always)', () => {
  it('refuses with STATE_UNAVAILABLE while Redis is down and sends nothing; trading resumes by itself when it is back', async () => {
    const server = await RedisServer.start({ aof: 'always' });
    try {
      const g = group({ maxDailyOrders: 1_000_000 }, {}, server);
      const three = await replicas(g, 3);
      const bursts = three.map((r) => r.call({ op: 'burst', count: 3_000, args: BUY }));
      await waitFor(() => three.every((r) => r.venueOrders > 0), 'orders from every replica');
      await server.kill9();
      const midBurst = (await Promise.all(bursts)).flat();
      // Every call was either sent before the kill or refused: nothing else.
      expect(Object.keys(tally(midBurst)).sort()).toEqual(['STATE_UNAVAILABLE', 'sent']);
      const sentBefore = sum(three);
      expect(sentBefore).toBe(tally(midBurst).sent);
      const down = await Promise.all(three.map((r) => r.call({ op: 'burst', count: 50, args: BUY })));
      expect(tally(down.flat())).toEqual({ STATE_UNAVAILABLE: 150 });
      expect(sum(three)).toBe(sentBefore);

      await server.restart();
      for (const r of three) {
        await waitFor(async () => (await r.call({ op: 'call', args: BUY }))[0]?.ok === true, 'the replica to trade again');
      }
      // appendfsync always: every slot taken before an order was sent was on disk before the answer.
      expect((await snapshot(g)).dailyOrders).toBeGreaterThanOrEqual(sum(three));
      await Promise.all(three.map((r) => r.stop()));
    } finally {
      await server.stop();
    }
  }, 120_000);
});

describe('file state across processes', () => {
  function fileReplica(path: string): Promise<Replica> {
    return Replica.start(workerJs, {
      mode: 'Direct',
      risk: { allowedSymbols: ['BTC-USDT'], maxDailyOrders: 1_000_000 },
      backendTimeoutMs: 5_000,
      state: { type: 'file', path },
      ledger: join(scratch, `ledger-${++ledgers}.txt`),
    });
  }

  it('a second process on the same file fails to start, naming the holder', async () => {
    const path = join(scratch, 'held.json');
    const first = await fileReplica(path);
    live.push(first);
    await expect(fileReplica(path)).rejects.toThrow(new RegExp(`locked by pid ${first.pid} on `));
    await first.stop();
    expect(existsSync(`${path}.lock`)).toBe(false);
  }, 60_000);

  it("5 processes racing for a dead process's lock: exactly one takes it over, the others fail naming it", async () => {
    const path = join(scratch, 'contested.json');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    writeFileSync(`${path}.lock`, JSON.stringify({ pid: Number(dead.stdout), hostname: hostname(), startedAtMs: Date.now() }));
    // Each holds what it got until the parent closes its stdin, so no one can win after another let go.
    const script = `const { FileStateStore } = require(${JSON.stringify(join(__dirname, '..', 'dist', 'ts', 'state', 'file-store.js'))});
      let store; try { store = FileStateStore.open({ path: ${JSON.stringify(path)} }); process.stdout.write('won ' + process.pid + '\\n'); }
      catch (error) { process.stdout.write('lost ' + error.message + '\\n'); }
      process.stdin.on('end', () => { if (store) store.close(); }).resume();`;
    const children = Array.from({ length: 5 }, () => spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'] }));
    const lines = await Promise.all(
      children.map(
        (child) =>
          new Promise<string>((resolve) => {
            let out = '';
            child.stdout.on('data', (chunk: Buffer) => {
              out += chunk.toString();
              if (out.endsWith('\n')) resolve(out.trim());
            });
          }),
      ),
    );
    const winners = lines.filter((line) => line.startsWith('won '));
    expect(winners).toHaveLength(1);
    const winner = Number(winners[0]?.slice(4));
    expect(JSON.parse(readFileSync(`${path}.lock`, 'utf8'))).toMatchObject({ pid: winner });
    for (const line of lines.filter((l) => l.startsWith('lost '))) expect(line).toContain(`is locked by pid ${winner} on `);
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            child.once('exit', () => {
              resolve();
            });
            child.stdin.end();
          }),
      ),
    );
    expect(existsSync(`${path}.lock`)).toBe(false);
  }, 60_000);

  it('kill -9 mid-burst, 5 rounds: the file stays readable, its count never below what the venue received, the lock taken over', async () => {
    const path = join(scratch, 'crash.json');
    let received = 0;
    for (let round = 0; round < 5; round++) {
      const writer = await fileReplica(path);
      live.push(writer);
      writer.startLoop(BUY);
      await waitFor(() => writer.venueOrders >= 60, 'the writer to be mid-burst');
      await writer.kill9();
      received += writer.venueOrders;
      const counts = JSON.parse(readFileSync(path, 'utf8')) as { orders: number };
      expect(counts.orders).toBeGreaterThanOrEqual(received);
      const reopened = FileStateStore.open({ path });
      expect(reopened.tookOverFrom?.pid).toBe(writer.pid);
      expect(reopened.load()?.orders).toBe(counts.orders);
      await reopened.close();
    }
  }, 120_000);
});
