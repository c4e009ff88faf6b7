// The day-count file's format and its durable write: today's order and cancel counts that survive a
// restart. The runbook (§2.2) leaves the in-memory DailyCounter to reset on restart; a trading
// process that crash-loops would then get a fresh `max_daily_orders` on every restart. With a file,
// the count is written before an order or cancel is sent (write-ahead: a crash after sending can
// never lose it) and carried over at startup. The file store (ts/state/file-store.ts) adds the
// lock that keeps it to one process.
//
// Invariants: reading refuses (with an error naming the file and the problem) every state it cannot
// trust, so the start fails instead of trading on a count of 0: a damaged file, a duplicate key
// (JSON.parse would keep the last one), a day after today (a future day or one written in
// milliseconds would be ignored by the guard), and a location where the count cannot be written
// (every order would be refused later). A write goes to a temp name no other writer can share
// (`<path>.<pid>.<uuid>.tmp`), is fsync'd, renamed over the file and the folder fsync'd: a crash,
// kill -9 included, leaves the old or the new counts, both whole.
import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

import { z } from 'zod';

import { describeZodError } from './zod-issues';

const DAY_MS = 86_400_000;

const countsSchema = z.strictObject({
  /** UTC day: days since the Unix epoch. */
  day: z.number().int().nonnegative(),
  orders: z.number().int().nonnegative(),
  cancels: z.number().int().nonnegative(),
});

export type DailyCounts = z.infer<typeof countsSchema>;

/** Keys that appear more than once in a flat JSON object's text (decoded, so `"ord\u0065rs"` is `orders`). */
function duplicateKeys(text: string): string[] {
  const seen = new Set<string>();
  const duplicates = new Set<string>();
  for (const match of text.matchAll(/"((?:[^"\\]|\\.)*)"\s*:/g)) {
    let key: string;
    try {
      key = JSON.parse(`"${match[1] ?? ''}"`) as string;
    } catch {
      continue; // not a valid key: JSON.parse of the whole text reports it
    }
    if (seen.has(key)) duplicates.add(key);
    seen.add(key);
  }
  return [...duplicates];
}

/** A temp name in `path`'s folder that no other writer (process or call) can share. */
export function uniqueTempPath(path: string): string {
  return `${path}.${process.pid}.${randomUUID()}.tmp`;
}

/** fsync of `path`'s folder: a rename lives in the folder, and without this a power cut can undo it. */
function fsyncFolder(path: string): void {
  const dir = openSync(dirname(path), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

/** Write `text` to `path` atomically and durably: unique temp file, fsync, rename, fsync of the folder. */
export function writeFileDurably(path: string, text: string): void {
  const temp = uniqueTempPath(path);
  const fd = openSync(temp, 'wx');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    unlinkSync(temp);
    throw error;
  }
  closeSync(fd);
  renameSync(temp, path);
  fsyncFolder(path);
}

/**
 * The saved counts at `path`; `undefined` when there is no file yet. Throws an error naming the
 * file and the problem when the file cannot be trusted. `nowMs` is the clock "today" is read from:
 * a saved day may be at most one day after it (a host whose clock is slightly behind the writer's).
 */
export function readDailyCounts(path: string, nowMs: () => number = Date.now): DailyCounts | undefined {
  if (!existsSync(path)) return undefined;
  const text = readFileSync(path, 'utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`daily counts file ${path} is not valid JSON (${(error as Error).message}); fix or remove it knowingly`, { cause: error });
  }
  const duplicates = duplicateKeys(text);
  if (duplicates.length > 0) {
    throw new Error(`daily counts file ${path}: ${duplicates.map((key) => `${key}: written more than once`).join('; ')}; fix or remove it knowingly`);
  }
  const result = countsSchema.safeParse(parsed);
  if (!result.success) throw new Error(`daily counts file ${path}: ${describeZodError(result.error, '(file)')}`);
  const today = Math.floor(nowMs() / DAY_MS);
  if (result.data.day > today + 1) {
    const hint = result.data.day > 1e9 ? ' (it looks like milliseconds; the day is days since 1970-01-01 UTC)' : '';
    throw new Error(`daily counts file ${path}: day: ${result.data.day} is after today (${today})${hint}; fix or remove it knowingly`);
  }
  return result.data;
}

/** Replace the counts at `path` atomically and durably. */
export function writeDailyCounts(path: string, counts: DailyCounts): void {
  writeFileDurably(path, `${JSON.stringify(counts)}\n`);
}

/** The folder exists and a file can be created in it (what a write needs), or an error naming the file and why. */
export function checkCountsWritable(path: string): void {
  const folder = dirname(path);
  let isFolder: boolean;
  try {
    isFolder = statSync(folder).isDirectory();
  } catch (error) {
    throw new Error(`daily counts file ${path}: its folder ${folder} cannot be used (${(error as NodeJS.ErrnoException).code ?? String(error)}); create it or choose another path`, {
      cause: error,
    });
  }
  if (!isFolder) throw new Error(`daily counts file ${path}: ${folder} is not a folder`);
  const probe = uniqueTempPath(path);
  try {
    closeSync(openSync(probe, 'wx'));
    unlinkSync(probe);
  } catch (error) {
    throw new Error(`daily counts file ${path}: counts cannot be written there (${(error as NodeJS.ErrnoException).code ?? String(error)}); every order would be refused`, {
      cause: error,
    });
  }
}
