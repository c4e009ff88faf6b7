// Daily order and cancel counts that survive a restart. The runbook (§2.2) leaves the in-memory
// DailyCounter to reset on restart; a trading process that crash-loops would then get a fresh
// `max_daily_orders` on every restart. With a file, the count is written before an order or cancel
// is sent (write-ahead: a crash after sending can never lose it) and carried over at startup.
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';

import { z } from 'zod';

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
      const issue = result.error.issues[0];
      throw new Error(`daily counts file ${this.path}: ${issue?.path.join('.') || '(file)'}: ${issue?.message ?? 'invalid'}`);
    }
    return result.data;
  }

  /** Replace the file atomically and durably (temp file, fsync, rename). */
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
  }
}
