// `type = "file"`: the memory store's state, persisted durably after every change, for ONE process
// on one host (it replaces `daily_counts_file` and still reads that file's {day, orders, cancels}).
//
// Invariants:
// - One process per file: `<path>.lock` is created with O_EXCL and holds pid, hostname and start
//   time. A second process fails to open with an error naming the holder. A lock left by a dead pid
//   on this host is taken over (and `tookOverFrom` says whose it was); a lock from another host is
//   never taken over (its pid cannot be checked from here): remove it knowingly.
// - Every change is written to a unique temp file, fsync'd, renamed over the file and the folder
//   fsync'd, before the call returns: a crash (kill -9 included) leaves the old or the new state,
//   both whole; a grant is never reported before it is on disk. Temp files a killed writer left
//   are removed by the next open.
// - A file that cannot be trusted (bad JSON, unknown fields, a day after tomorrow) stops the open
//   with an error naming the file and the problem (fail closed), as DailyCountsFile does.
import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';

import { z } from 'zod';

import { DailyCountsFile } from '../daily-counts-file';
import { describeZodError } from '../zod-issues';
import type { EngineState } from './engine';
import { emptyState } from './engine';
import { StateConfigError, StateLockedError, StateUnavailable } from './errors';
import { MemoryStateStore } from './memory-store';
import { utcDay } from './store';

export interface FileStoreOptions {
  path: string;
  nowMs?: () => number;
}

const holderSchema = z.strictObject({ pid: z.number().int().positive(), hostname: z.string(), startedAtMs: z.number().int().nonnegative() });
type LockHolder = z.infer<typeof holderSchema>;

const amount = z.number().refine(Number.isFinite, 'expected a finite number');
const side = z.enum(['buy', 'sell']);
const stateSchema = z.strictObject({
  day: z.number().int().nonnegative(),
  orders: z.number().int().nonnegative(),
  cancels: z.number().int().nonnegative(),
  breaker: z.strictObject({ state: z.enum(['Closed', 'Open', 'HalfOpen']), streak: z.number().int().nonnegative(), openUntilMs: amount, openings: z.number().int().nonnegative() }),
  pnl: z.strictObject({ day: z.number().int(), value: amount }).nullable(),
  exposure: z.record(z.string(), z.strictObject({ position: amount, restingBuy: amount, restingSell: amount, inflightBuy: amount, inflightSell: amount })),
  reservations: z.record(
    z.string(),
    z.strictObject({ kind: z.enum(['place', 'cancel']), day: z.number().int(), symbol: z.string().optional(), side: side.optional(), quantity: amount.optional(), leaseUntilMs: amount }),
  ),
  resting: z.record(z.string(), z.strictObject({ symbol: z.string(), side, remaining: amount })),
  tokens: z.record(z.string(), z.strictObject({ fieldsHash: z.string(), expiresAtMs: amount, ttlMs: amount })),
});
const fileSchema = z.strictObject({ version: z.literal(1), state: stateSchema });

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

function fsyncFolder(path: string): void {
  const dir = openSync(dirname(path), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

/** Write `text` to `path` atomically and durably through a temp file no other writer can share. */
function writeDurably(path: string, text: string): void {
  const temp = `${path}.${process.pid}.${randomUUID()}.tmp`;
  const fd = openSync(temp, 'wx');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
  fsyncFolder(path);
}

function readHolder(lockPath: string): LockHolder | undefined {
  try {
    const parsed = holderSchema.safeParse(JSON.parse(readFileSync(lockPath, 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined; // vanished or half-written between open and read
  }
}

/** Takes `<path>.lock` or throws StateLockedError; returns the dead holder it replaced, if any. */
function acquireLock(path: string): { lockPath: string; tookOverFrom: LockHolder | undefined } {
  const lockPath = `${path}.lock`;
  const me: LockHolder = { pid: process.pid, hostname: hostname(), startedAtMs: Date.now() };
  let tookOverFrom: LockHolder | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx');
      try {
        writeSync(fd, JSON.stringify(me));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      fsyncFolder(lockPath);
      return { lockPath, tookOverFrom };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new StateConfigError(`risk state file ${path}: cannot create its lock ${lockPath} (${(error as NodeJS.ErrnoException).code ?? String(error)})`, { cause: error });
      }
    }
    const holder = readHolder(lockPath);
    if (!holder) {
      throw new StateConfigError(`risk state file ${path}: lock ${lockPath} exists but does not name its holder; if no process uses the file, remove the lock knowingly`);
    }
    if (holder.hostname !== me.hostname || pidAlive(holder.pid)) throw new StateLockedError(path, holder);
    // A dead pid on this host: take over. Another process racing us for the same stale lock sees
    // either this one's new lock (alive: refused) or nothing (and creates it under O_EXCL).
    const stale = `${lockPath}.stale.${process.pid}.${randomUUID()}`;
    try {
      renameSync(lockPath, stale);
      const moved = readHolder(stale);
      unlinkSync(stale);
      if (moved && moved.pid === holder.pid && moved.startedAtMs === holder.startedAtMs) tookOverFrom = holder;
      else if (moved) throw new StateLockedError(path, moved); // a live process won the race meanwhile
    } catch (error) {
      if (error instanceof StateLockedError) throw error;
      // Renamed by a racing process first: try again from the top.
    }
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

function loadState(path: string, nowMs: () => number): EngineState {
  const today = utcDay(nowMs());
  if (!existsSync(path)) return emptyState(today);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new StateConfigError(`risk state file ${path} is not valid JSON (${(error as Error).message}); fix or remove it knowingly`, { cause: error });
  }
  if (typeof parsed === 'object' && parsed !== null && !('version' in parsed)) {
    // Today's daily_counts_file format, read with its own checks (duplicate keys, future days).
    const counts = new DailyCountsFile(path, { nowMs }).load();
    const state = emptyState(today);
    if (counts && counts.day === today) {
      state.orders = counts.orders;
      state.cancels = counts.cancels;
    }
    return state;
  }
  const result = fileSchema.safeParse(parsed);
  if (!result.success) throw new StateConfigError(`risk state file ${path}: ${describeZodError(result.error, '(file)')}`);
  const state = result.data.state;
  if (state.day > today + 1) throw new StateConfigError(`risk state file ${path}: day: ${state.day} is after today (${today}); fix or remove it knowingly`);
  return state;
}

export class FileStateStore extends MemoryStateStore {
  override readonly kind = 'file';
  private written: string;
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly lockPath: string,
    /** The dead process whose lock was taken over at open, for the start log. */
    readonly tookOverFrom: LockHolder | undefined,
    nowMs: (() => number) | undefined,
    initial: EngineState,
  ) {
    super(nowMs ? { nowMs } : {}, initial);
    this.written = JSON.stringify({ version: 1, state: initial });
  }

  /** Locks the file and loads it; throws StateLockedError when another live process holds it. */
  static open(options: FileStoreOptions): FileStateStore {
    if (typeof options.path !== 'string' || options.path === '') throw new StateConfigError('state (file): path must be a non-empty string');
    const { lockPath, tookOverFrom } = acquireLock(options.path);
    try {
      removeLeftoverTemps(options.path);
      const initial = loadState(options.path, options.nowMs ?? Date.now);
      const store = new FileStateStore(options.path, lockPath, tookOverFrom, options.nowMs, initial);
      store.persist(); // proves the location is writable now, not at the first order
      return store;
    } catch (error) {
      unlinkSync(lockPath);
      throw error;
    }
  }

  protected override step<T>(run: (state: EngineState, now: number) => T): T {
    if (this.closed) throw new StateUnavailable('io', `risk state file ${this.path} is closed`);
    const result = super.step(run);
    this.persist();
    return result;
  }

  private persist(): void {
    const text = JSON.stringify({ version: 1, state: this.state });
    if (text === this.written && existsSync(this.path)) return;
    try {
      writeDurably(this.path, `${text}\n`);
    } catch (error) {
      // The step already changed memory: reload what is on disk so memory never runs ahead of it.
      this.state = loadState(this.path, this.nowMs);
      throw new StateUnavailable('io', `risk state file ${this.path}: cannot write (${(error as NodeJS.ErrnoException).code ?? String(error)})`, { cause: error });
    }
    this.written = text;
  }

  override close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      unlinkSync(this.lockPath);
    }
    return Promise.resolve();
  }
}
