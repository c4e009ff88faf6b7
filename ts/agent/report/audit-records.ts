// Reading an audit file back for a report: the records one run appended (from a byte offset taken
// before the run, since the file is shared by every run that names it). A line that does not parse
// is an error naming the file, the line and the key: a report never silently drops a refusal.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

import { z } from 'zod';

import { describeZodError } from '../../zod-issues';

const toolRecordSchema = z.object({
  kind: z.literal('tool'),
  time_ms: z.number(),
  step: z.number().int(),
  tool: z.string(),
  args: z.string(),
  ok: z.boolean(),
  result: z.string(),
  code: z.string().optional(),
});

/** Other kinds (model calls, and any kind added later) only need to say what they are. */
const otherRecordSchema = z.object({ kind: z.string() });

export type ToolAuditRecord = z.output<typeof toolRecordSchema>;

/** The file's size now: where the next run's records will start. 0 when it does not exist yet. */
export function auditFileOffset(path: string): number {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
  try {
    return fstatSync(fd).size;
  } finally {
    closeSync(fd);
  }
}

function readFrom(path: string, offset: number): string {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const length = Math.max(0, size - offset);
    const buffer = Buffer.alloc(length);
    let read = 0;
    while (read < length) {
      const n = readSync(fd, buffer, read, length - read, offset + read);
      if (n === 0) break;
      read += n;
    }
    return buffer.subarray(0, read).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** Tool-call records (in file order) appended to `path` at or after byte `offset`. */
export function readToolRecords(path: string, offset = 0): ToolAuditRecord[] {
  const text = readFrom(path, offset);
  const records: ToolAuditRecord[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i += 1) {
    const line = lines[i] as string;
    if (line.trim() === '') continue;
    const where = `${path}: record ${i + 1} of this run`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new Error(`audit error: ${where} is not JSON: ${(error as Error).message}`, { cause: error });
    }
    const other = otherRecordSchema.safeParse(value);
    if (!other.success) throw new Error(`audit error: ${where}: ${describeZodError(other.error, '(record)')}`);
    if (other.data.kind !== 'tool') continue;
    const tool = toolRecordSchema.safeParse(value);
    if (!tool.success) throw new Error(`audit error: ${where}: ${describeZodError(tool.error, '(record)')}`);
    records.push(tool.data);
  }
  return records;
}
