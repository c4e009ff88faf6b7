// The file store's own promises (single process): it keeps today's daily_counts_file format, refuses
// files it cannot trust, writes through unique temp names, and takes over only a lock whose holder
// is provably gone. (Across processes: __test__/state-replicas.spec.ts.)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { basename, join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { StateConfigError, StateLockedError, StateUnavailable } from '../ts/state/errors';
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

/** Files beside `path` whose name starts with its own (temps, locks). */
function siblings(path: string): string[] {
  return readdirSync(dir).filter((name) => name.startsWith(`${basename(path)}.`));
}

describe('file store', () => {
  it("reads and writes today's daily_counts_file format, and the counts survive a close and reopen", async () => {
    const path = fresh(JSON.stringify({ day: TODAY, orders: 7, cancels: 2 }));
    const first = FileStateStore.open({ path, nowMs: () => NOON });
    expect(first.load()).toEqual({ day: TODAY, orders: 7, cancels: 2 });
    first.save({ day: TODAY, orders: 8, cancels: 2 });
    // The format an older build's DailyCountsFile reads: nothing added.
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ day: TODAY, orders: 8, cancels: 2 });
    await first.close();
    expect(existsSync(`${path}.lock`)).toBe(false);
    const second = FileStateStore.open({ path, nowMs: () => NOON });
    expect(second.load()).toEqual({ day: TODAY, orders: 8, cancels: 2 });
    await second.close();
    const none = FileStateStore.open({ path: fresh(), nowMs: () => NOON });
    expect(none.load()).toBeUndefined();
    await none.close();
  });

  it('every save goes through a temp name of its own and leaves none behind', async () => {
    const path = fresh();
    const store = FileStateStore.open({ path, nowMs: () => NOON });
    for (let orders = 1; orders <= 20; orders++) store.save({ day: TODAY, orders, cancels: 0 });
    expect(siblings(path)).toEqual([`${basename(path)}.lock`]);
    expect(store.load()).toEqual({ day: TODAY, orders: 20, cancels: 0 });
    await store.close();
  });

  it('removes temps a dead writer left, keeps those of live ones', async () => {
    const path = fresh();
    const dead = `${path}.${deadPid()}.0b7c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3.tmp`;
    const alive = `${path}.${process.pid}.1b7c1d2e-3f40-4a5b-8c6d-7e8f90a1b2c3.tmp`;
    writeFileSync(dead, '{"day": 1, "orders": ');
    writeFileSync(alive, '{}');
    const store = FileStateStore.open({ path, nowMs: () => NOON });
    expect([existsSync(dead), existsSync(alive)]).toEqual([false, true]);
    rmSync(alive);
    await store.close();
  });

  it('refuses a file it cannot trust, naming the file and the problem, and leaves no lock behind', async () => {
    const damaged = fresh('{"day": 1, "orders": ');
    expect(() => FileStateStore.open({ path: damaged, nowMs: () => NOON })).toThrow(/not valid JSON/);
    expect(() => FileStateStore.open({ path: damaged, nowMs: () => NOON })).toThrow(damaged);
    expect(() => FileStateStore.open({ path: fresh(JSON.stringify({ day: TODAY + 5, orders: 1, cancels: 0 })), nowMs: () => NOON })).toThrow(/day: \d+ is after today/);
    expect(() => FileStateStore.open({ path: fresh(JSON.stringify({ version: 1, state: { day: TODAY } })), nowMs: () => NOON })).toThrow(/version/);
    expect(() => FileStateStore.open({ path: fresh('{"day": 1, "orders": 1, "orders": 9, "cancels": 0}'), nowMs: () => NOON })).toThrow(/orders: written more than once/);
    expect(() => FileStateStore.open({ path: join(dir, 'no-such-folder', 'counts.json') })).toThrow(/its folder .* cannot be used \(ENOENT\)/);
    expect(() => FileStateStore.open({ path: '' })).toThrow(StateConfigError);
    // No lock was left by the failed opens: the file can be fixed and opened.
    expect(siblings(damaged)).toEqual([]);
    writeFileSync(damaged, JSON.stringify({ day: TODAY, orders: 1, cancels: 0 }));
    await FileStateStore.open({ path: damaged, nowMs: () => NOON }).close();
  });

  it('one holder at a time: a second open fails naming the holder; after close it opens', async () => {
    const path = fresh();
    const holder = FileStateStore.open({ path });
    expect(() => FileStateStore.open({ path })).toThrow(StateLockedError);
    expect(() => FileStateStore.open({ path })).toThrow(new RegExp(`locked by pid ${process.pid} on ${hostname().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(started `));
    await holder.ping();
    await holder.close();
    await expect(holder.ping()).rejects.toThrow(StateUnavailable);
    expect(() => {
      holder.save({ day: TODAY, orders: 1, cancels: 0 });
    }).toThrow(/is closed/);
    await FileStateStore.open({ path }).close();
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

  it('a lock that no longer names this process is left alone at close, and ping says so', async () => {
    const path = fresh();
    const store = FileStateStore.open({ path });
    const intruder = { pid: 1, hostname: 'other-host.example', startedAtMs: NOON };
    writeFileSync(`${path}.lock`, JSON.stringify(intruder));
    await expect(store.ping()).rejects.toThrow(/no longer names this process \(pid 1 on other-host\.example\)/);
    await store.close();
    expect(JSON.parse(readFileSync(`${path}.lock`, 'utf8'))).toEqual(intruder);
  });
});
