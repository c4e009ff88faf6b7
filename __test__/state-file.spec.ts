// The file store's own promises (single process): it keeps reading today's daily_counts_file
// format, refuses files it cannot trust, and takes over only a lock whose holder is provably gone.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { StateConfigError, StateLockedError } from '../ts/state/errors';
import { FileStateStore } from '../ts/state/file-store';
import { DAY_MS } from '../ts/state/store';

const NOON = Date.UTC(2026, 11, 4, 12);
const TODAY = Math.floor(NOON / DAY_MS);
let dir: string;
let files = 0;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'axon-state-file-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function fresh(content?: string): string {
  const path = join(dir, `state-${++files}.json`);
  if (content !== undefined) writeFileSync(path, content);
  return path;
}

/** A pid that surely belongs to no live process: a child that has already exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

describe('file store', () => {
  it("carries over today's counts from the daily_counts_file format, and ignores yesterday's", async () => {
    const today = FileStateStore.open({ path: fresh(JSON.stringify({ day: TODAY, orders: 7, cancels: 2 })), nowMs: () => NOON });
    const snap = await today.snapshot();
    expect([snap.dailyOrders, snap.dailyCancels]).toEqual([7, 2]);
    const verdict = await today.reservePlace({ symbol: 'BTCUSDT', side: 'buy', quantity: 1, limits: { maxDailyOrders: 8 }, breaker: {} });
    expect(verdict.ok).toBe(true);
    expect(await today.reservePlace({ symbol: 'BTCUSDT', side: 'buy', quantity: 1, limits: { maxDailyOrders: 8 }, breaker: {} })).toMatchObject({ reason: 'MAX_DAILY_ORDERS' });
    await today.close();
    const yesterday = FileStateStore.open({ path: fresh(JSON.stringify({ day: TODAY - 1, orders: 7, cancels: 2 })), nowMs: () => NOON });
    expect((await yesterday.snapshot()).dailyOrders).toBe(0);
    await yesterday.close();
  });

  it('the state survives a close and reopen (written through on every change)', async () => {
    const path = fresh();
    const first = FileStateStore.open({ path, nowMs: () => NOON });
    await first.reservePlace({ symbol: 'ETHUSDT', side: 'sell', quantity: 2.5, limits: {}, breaker: {} });
    await first.recordRiskRejection({ rejection: { threshold: 5, cooldownMs: 1 } });
    await first.close();
    const second = FileStateStore.open({ path, nowMs: () => NOON });
    const snap = await second.snapshot();
    expect(snap.dailyOrders).toBe(1);
    expect(snap.exposure.ETHUSDT?.inflightSell).toBe(2.5);
    expect(snap.breaker.streak).toBe(1);
    await second.close();
  });

  it('refuses a file it cannot trust, naming the file and the problem, and leaves no lock behind', () => {
    const damaged = fresh('{"day": 1, "orders": ');
    expect(() => FileStateStore.open({ path: damaged, nowMs: () => NOON })).toThrow(/not valid JSON/);
    expect(() => FileStateStore.open({ path: damaged, nowMs: () => NOON })).toThrow(damaged);
    expect(() => FileStateStore.open({ path: fresh(JSON.stringify({ day: TODAY + 5, orders: 1, cancels: 0 })), nowMs: () => NOON })).toThrow(/after today/);
    expect(() => FileStateStore.open({ path: fresh(JSON.stringify({ version: 1, state: { day: TODAY } })), nowMs: () => NOON })).toThrow(StateConfigError);
    expect(() => FileStateStore.open({ path: fresh('{"day": 1, "orders": 1, "orders": 9, "cancels": 0}'), nowMs: () => NOON })).toThrow(/orders: written more than once/);
    // No lock was left by the failed opens: the file can be fixed and opened.
    writeFileSync(damaged, JSON.stringify({ day: TODAY, orders: 1, cancels: 0 }));
    return FileStateStore.open({ path: damaged, nowMs: () => NOON }).close();
  });

  it('takes over the lock of a dead pid on this host and says whose it was', async () => {
    const path = fresh();
    const holder = { pid: deadPid(), hostname: hostname(), startedAtMs: NOON };
    writeFileSync(`${path}.lock`, JSON.stringify(holder));
    const store = FileStateStore.open({ path });
    expect(store.tookOverFrom).toEqual(holder);
    expect(JSON.parse(readFileSync(`${path}.lock`, 'utf8'))).toMatchObject({ pid: process.pid, hostname: hostname() });
    await store.close();
  });

  it('never takes over a lock held by another host: the error names the holder', () => {
    const path = fresh();
    writeFileSync(`${path}.lock`, JSON.stringify({ pid: deadPid(), hostname: 'other-host.example', startedAtMs: NOON }));
    expect(() => FileStateStore.open({ path })).toThrow(StateLockedError);
    expect(() => FileStateStore.open({ path })).toThrow(/locked by pid \d+ on other-host\.example/);
  });
});
