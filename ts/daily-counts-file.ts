// Daily order and cancel counts that survive a restart. The runbook (§2.2) leaves the in-memory
// DailyCounter to reset on restart; a trading process that crash-loops would then get a fresh
// `max_daily_orders` on every restart. With a file, the count is written before an order or cancel
// is sent (write-ahead: a crash after sending can never lose it) and carried over at startup.
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

import { z } from 'zod';

import { describeZodError } from './zod-issues';

const countsSchema = z.strictObject({
  /** UTC day: days since the Unix epoch. */
  day: z.number().int().nonnegative(),
  orders: z.number().int().nonnegative(),
  cancels: z.number().int().nonnegative(),
});

export type DailyCounts = z.infer<typeof countsSchema>;

export class DailyCountsFile {
  constructor(readonly path: string) {}

  /** The saved counts; `undefined` when there is no file yet. A damaged file is an error (fail closed). */
  load(): DailyCounts | undefined {
    if (!existsSync(this.path)) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(this.path, 'utf8'));
    } catch (error) {
      throw new Error(`daily counts file ${this.path} is not valid JSON (${(error as Error).message}); fix or remove it knowingly`);
    }
    const result = countsSchema.safeParse(parsed);
    if (!result.success) {
      throw new Error(`daily counts file ${this.path}: ${describeZodError(result.error, '(file)')}`);
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
}
