// `type = "file"`: the Rust chain's own day counts made durable, for ONE process on one host. It
// replaces `daily_counts_file` and keeps that file's format (`{day, orders, cancels}`, see
// ts/daily-counts-file.ts): what it persists is what the guard restores at start, its daily order
// and cancel counts. The limits themselves stay in the chain (no copy of them here).
//
// Invariants:
// - One process per file: `<path>.lock` is created with O_EXCL and holds pid, hostname and start
//   time. A second process fails to open with StateLockedError naming the holder. A lock left by a
//   dead pid on this host is taken over (`tookOverFrom` says whose it was, for the start log): the
//   dead lock is removed only under `<path>.lock.takeover` (O_EXCL), moved aside and checked first,
//   so processes racing for it never remove each other's new lock and exactly one gets it. A lock
//   from another host is never taken over (its pid cannot be checked from here): remove it
//   knowingly. `close` removes the lock only while it still names this process.
// - Every save goes to a unique temp file (`<path>.<pid>.<uuid>.tmp`), is fsync'd, renamed over the
//   file and the folder fsync'd before `save` returns: a crash (kill -9 included) leaves the old or
//   the new counts, both whole. Temp files a killed writer left are removed by the next open.
// - A file that cannot be trusted (bad JSON, unknown fields, a duplicate key, a day after
//   tomorrow) or a folder where it cannot be written stops the open with an error naming the file
//   and the problem (fail closed), and no lock is left behind.
import { randomUUID } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';

import { z } from 'zod';

import { checkCountsWritable, readDailyCounts, writeDailyCounts, type DailyCounts } from '../daily-counts-file';
import { StateConfigError, StateLockedError, StateUnavailable } from './errors';

export type { DailyCounts } from '../daily-counts-file';

export interface FileStoreOptions {
  path: string;
  /** Clock "today" is read from when the file is checked (Unix ms), default Date.now. */
  nowMs?: () => number;
}

const holderSchema = z.strictObject({ pid: z.number().int().positive(), hostname: z.string(), startedAtMs: z.number().int().nonnegative() });
export type LockHolder = z.infer<typeof holderSchema>;

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

function errorCode(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? String(error);
}

function readHolder(lockPath: string): LockHolder | undefined {
  try {
    const parsed = holderSchema.safeParse(JSON.parse(readFileSync(lockPath, 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined; // vanished or half-written between open and read
  }
}

function sameHolder(a: LockHolder | undefined, b: LockHolder): boolean {
  return a !== undefined && a.pid === b.pid && a.hostname === b.hostname && a.startedAtMs === b.startedAtMs;
}

/** Creates `lockPath` with O_EXCL holding `me`; false when it exists already. */
function createLock(path: string, lockPath: string, me: LockHolder): boolean {
  let fd: number;
  try {
    fd = openSync(lockPath, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new StateConfigError(`risk state file ${path}: cannot create its lock ${lockPath} (${errorCode(error)})`, { cause: error });
  }
  try {
    writeSync(fd, JSON.stringify(me));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  const dir = openSync(dirname(lockPath), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
  return true;
}

/** Blocks this thread for `ms` (a lock being written by another process is readable a moment later). */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** The holder a lock names; one being created right now is given a moment to be written. */
function readHolderPatiently(lockPath: string): LockHolder | undefined {
  for (let attempt = 0; attempt < 20; attempt++) {
    const holder = readHolder(lockPath);
    if (holder !== undefined) return holder;
    pause(5);
  }
  return undefined;
}

/**
 * Removes the lock of `dead` (a dead pid on this host) under the takeover mutex `<lock>.takeover`
 * (O_EXCL), so that two processes taking over at once can never remove each other's new lock.
 * Returns false when another live process is taking over right now (it will hold the lock).
 */
function removeDeadLock(path: string, lockPath: string, dead: LockHolder, me: LockHolder): boolean {
  const mutex = `${lockPath}.takeover`;
  if (!createLock(path, mutex, me)) {
    const taker = readHolderPatiently(mutex);
    if (taker !== undefined && pidAlive(taker.pid)) return false;
    // Left by a process that died mid-takeover: remove it and try again from the top.
    try {
      unlinkSync(mutex);
    } catch {
      // removed by another process already
    }
    return true;
  }
  try {
    // Under the mutex: the lock is still the dead one's (moved aside first, so a live lock that
    // appeared meanwhile is put back untouched, never deleted).
    const stale = `${lockPath}.stale.${process.pid}.${randomUUID()}`;
    try {
      renameSync(lockPath, stale);
    } catch {
      return true; // gone already: create it from the top
    }
    const moved = readHolder(stale);
    if (moved !== undefined && !sameHolder(moved, dead)) {
      try {
        linkSync(stale, lockPath); // link: never over a lock created meanwhile
      } catch {
        // a lock exists again: whoever holds it keeps it
      }
    }
    unlinkSync(stale);
    return true;
  } finally {
    unlinkSync(mutex);
  }
}

/** Takes `<path>.lock` or throws StateLockedError; returns the dead holder it replaced, if any. */
function acquireLock(path: string, me: LockHolder): { lockPath: string; tookOverFrom: LockHolder | undefined } {
  const lockPath = `${path}.lock`;
  let tookOverFrom: LockHolder | undefined;
  for (let attempt = 0; attempt < 50; attempt++) {
    if (createLock(path, lockPath, me)) return { lockPath, tookOverFrom };
    const holder = readHolderPatiently(lockPath);
    if (!holder) {
      throw new StateConfigError(`risk state file ${path}: lock ${lockPath} exists but does not name its holder; if no process uses the file, remove the lock knowingly`);
    }
    if (holder.hostname !== me.hostname || pidAlive(holder.pid)) throw new StateLockedError(path, holder);
    // A dead pid on this host: take over. Whoever then creates the lock (O_EXCL) holds it; the
    // others find a live holder and are refused.
    if (removeDeadLock(path, lockPath, holder, me)) tookOverFrom = holder;
    else pause(10); // another live process is taking over: its lock (or its failure) shows next round
  }
  const holder = readHolder(lockPath);
  if (holder) throw new StateLockedError(path, holder);
  throw new StateConfigError(`risk state file ${path}: could not take its lock ${lockPath}`);
}

/** Temp files a killed writer left (`<file>.<pid>.<uuid>.tmp` of a pid no longer alive); called with the lock held. */
function removeLeftoverTemps(path: string): void {
  const prefix = `${basename(path)}.`;
  for (const name of readdirSync(dirname(path))) {
    const match = name.startsWith(prefix) ? /^(\d+)\.[0-9a-f-]{36}\.tmp$/.exec(name.slice(prefix.length)) : null;
    if (match && !pidAlive(Number(match[1]))) unlinkSync(join(dirname(path), name));
  }
}

/**
 * The day counts of one process, locked and durable. The tools call `load()` once at creation (the
 * guard restores what it returns) and `save()` before anything that used a daily slot is sent.
 */
export class FileStateStore {
  readonly kind = 'file';
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly lockPath: string,
    private readonly holder: LockHolder,
    /** The dead process whose lock was taken over at open, for the start log. */
    readonly tookOverFrom: LockHolder | undefined,
    private readonly nowMs: () => number,
  ) {}

  /**
   * Locks the file and checks it (readable and trusted, its folder writable); throws
   * StateLockedError when another live process holds it, an Error naming the file otherwise.
   */
  static open(options: FileStoreOptions): FileStateStore {
    if (typeof options.path !== 'string' || options.path === '') throw new StateConfigError('state.path: must be a non-empty string');
    const nowMs = options.nowMs ?? Date.now;
    checkCountsWritable(options.path);
    const me: LockHolder = { pid: process.pid, hostname: hostname(), startedAtMs: Date.now() };
    const { lockPath, tookOverFrom } = acquireLock(options.path, me);
    try {
      removeLeftoverTemps(options.path);
      readDailyCounts(options.path, nowMs);
      return new FileStateStore(options.path, lockPath, me, tookOverFrom, nowMs);
    } catch (error) {
      unlinkSync(lockPath);
      throw error;
    }
  }

  /** The saved counts (`undefined`: no file yet); throws, naming the file, when it cannot be trusted. */
  load(): DailyCounts | undefined {
    this.checkOpen();
    return readDailyCounts(this.path, this.nowMs);
  }

  /** Replaces the counts durably before returning; throws (StateUnavailable 'io') when that fails. */
  save(counts: DailyCounts): void {
    this.checkOpen();
    try {
      writeDailyCounts(this.path, counts);
    } catch (error) {
      throw new StateUnavailable('io', `risk state file ${this.path}: cannot write (${errorCode(error)})`, { cause: error });
    }
  }

  /** Self-check: the lock still names this process and the folder takes a write. */
  ping(): Promise<void> {
    return new Promise((resolve) => {
      this.checkOpen();
      const holder = readHolder(this.lockPath);
      if (!sameHolder(holder, this.holder)) {
        throw new StateUnavailable('io', `risk state file ${this.path}: its lock ${this.lockPath} no longer names this process (${holder ? `pid ${holder.pid} on ${holder.hostname}` : 'missing'})`);
      }
      checkCountsWritable(this.path);
      resolve();
    });
  }

  /** Where it is, for the start log and the self-check. */
  describe(): string {
    return `file ${this.path} (lock ${this.lockPath}, pid ${this.holder.pid})`;
  }

  /** Releases the lock (only while it still names this process; a missing one is fine). */
  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      if (sameHolder(readHolder(this.lockPath), this.holder)) {
        try {
          unlinkSync(this.lockPath);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        }
      }
    }
    return Promise.resolve();
  }

  private checkOpen(): void {
    if (this.closed) throw new StateUnavailable('io', `risk state file ${this.path} is closed`);
  }
}
