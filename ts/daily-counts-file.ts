// Daily order and cancel counts that survive a restart. The runbook (§2.2) leaves the in-memory
// DailyCounter to reset on restart; a trading process that crash-loops would then get a fresh
// `max_daily_orders` on every restart. With a file, the count is written before an order or cancel
// is sent (write-ahead: a crash after sending can never lose it) and carried over at startup.
//
// Invariants: `load` refuses (with an error naming the file and the problem) every state it cannot
// trust, so the start fails instead of trading on a count of 0: a damaged file, a duplicate key
// (JSON.parse would keep the last one), a day after today (a future day or one written in
// milliseconds would be ignored by the guard), and a location where the count cannot be written
// (every order would be refused later).
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

export interface DailyCountsFileOptions {
  /**
   * The clock "today" is read from (Unix ms), default `Date.now`. A saved day may be at most one
   * day after it (a host whose clock is slightly behind the one that wrote the file).
   */
  nowMs?: () => number;
}

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

export class DailyCountsFile {
  private readonly nowMs: () => number;

  constructor(
    readonly path: string,
    options: DailyCountsFileOptions = {},
  ) {
    this.nowMs = options.nowMs ?? Date.now;
  }

  /**
   * The saved counts; `undefined` when there is no file yet. Throws when the file cannot be trusted
   * or the counts could not be written there (fail closed, at start rather than at the first order).
   */
  load(): DailyCounts | undefined {
    this.checkWritable();
    if (!existsSync(this.path)) return undefined;
    const text = readFileSync(this.path, 'utf8');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new Error(`daily counts file ${this.path} is not valid JSON (${(error as Error).message}); fix or remove it knowingly`, { cause: error });
    }
    const duplicates = duplicateKeys(text);
    if (duplicates.length > 0) {
      throw new Error(`daily counts file ${this.path}: ${duplicates.map((key) => `${key}: written more than once`).join('; ')}; fix or remove it knowingly`);
    }
    const result = countsSchema.safeParse(parsed);
    if (!result.success) {
      throw new Error(`daily counts file ${this.path}: ${describeZodError(result.error, '(file)')}`);
    }
    const today = Math.floor(this.nowMs() / DAY_MS);
    if (result.data.day > today + 1) {
      const hint = result.data.day > 1e9 ? ' (it looks like milliseconds; the day is days since 1970-01-01 UTC)' : '';
      throw new Error(`daily counts file ${this.path}: day: ${result.data.day} is after today (${today})${hint}; fix or remove it knowingly`);
    }
    return result.data;
  }

  /** Replace the file atomically and durably (temp file, fsync, rename, fsync of the directory). */
  save(counts: DailyCounts): void {
    const temp = `${this.path}.tmp`;
    const fd = openSync(temp, 'w');
    try {
      writeSync(fd, `${JSON.stringify(counts)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, this.path);
    // The rename lives in the directory: without this, a power cut can bring back the old count.
    const dir = openSync(dirname(this.path), 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  }

  /** The folder exists and a file can be created in it (what `save` needs), or an error naming the file and why. */
  private checkWritable(): void {
    const folder = dirname(this.path);
    let isFolder: boolean;
    try {
      isFolder = statSync(folder).isDirectory();
    } catch (error) {
      throw new Error(`daily counts file ${this.path}: its folder ${folder} cannot be used (${(error as NodeJS.ErrnoException).code ?? String(error)}); create it or choose another path`, {
        cause: error,
      });
    }
    if (!isFolder) throw new Error(`daily counts file ${this.path}: ${folder} is not a folder`);
    const probe = `${this.path}.tmp`;
    try {
      closeSync(openSync(probe, 'w'));
      unlinkSync(probe);
    } catch (error) {
      throw new Error(`daily counts file ${this.path}: counts cannot be written there (${(error as NodeJS.ErrnoException).code ?? String(error)}); every order would be refused`, {
        cause: error,
      });
    }
  }
}
