// The audit log's hash chain on real files: what each line carries, reopening, refusing a tail that
// cannot be trusted, durability modes, rotation across files, and secrets scrubbed before hashing.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, statSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { AuditChainError, AuditLog, type AuditRecord } from '../ts/agent/audit';
import { GENESIS_PREV } from '../ts/audit/chain';
import { summarizeAudit } from '../ts/audit/show';
import { verifyAuditChain } from '../ts/audit/verify';
import { parseConfig } from '../ts/config';

// A kind added by another module, as it would add it: the log takes it, typed.
declare module '../ts/agent/audit' {
  interface AuditRecordKinds {
    kill_switch: { time_ms: number; cancelled: number };
  }
}

const dir = () => mkdtempSync(join(tmpdir(), 'axon-audit-'));
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
/** A file's lines as raw bytes (without their line ends), so hashes are taken over what is on disk. */
const rawLines = (path: string): Buffer[] => {
  const bytes = readFileSync(path);
  const lines: Buffer[] = [];
  let from = 0;
  for (let i = bytes.indexOf(0x0a); i !== -1; i = bytes.indexOf(0x0a, from)) {
    lines.push(bytes.subarray(from, i));
    from = i + 1;
  }
  return lines;
};
const parsed = (path: string) => rawLines(path).map((l) => JSON.parse(l.toString('utf8')) as { seq: number; prev: string; kind: string } & Record<string, unknown>);

const tool = (n: number, result = `{"order_id":"o-${n}","status":"Filled"}`): AuditRecord => ({
  kind: 'tool',
  time_ms: 1_700_000_000_000 + n,
  step: n,
  tool: 'place_order',
  args: `{"symbol":"BTC-USDT","side":"Buy","quantity":${n}}`,
  ok: true,
  result,
});

function writeRecords(path: string, count: number, from = 1, options?: ConstructorParameters<typeof AuditLog>[1]): void {
  const log = new AuditLog(path, options);
  for (let n = from; n < from + count; n += 1) log.write(tool(n));
  log.close();
}

describe('audit hash chain', () => {
  it('each line carries seq from 1 and the SHA-256 of the previous line bytes, the first the genesis; record fields are kept', () => {
    const path = join(dir(), 'audit.jsonl');
    const log = new AuditLog(path);
    log.write(tool(1));
    log.write({ kind: 'model', time_ms: 5, step: 1, provider: 'scripted', prompt_tokens: 10, completion_tokens: 2, tool_calls: 1 });
    log.write({ kind: 'state', time_ms: 6, from: 'ACTIVE', to: 'HALTED', source: 'signal', reason: 'SIGUSR1' });
    log.write({ kind: 'kill_switch', time_ms: 7, cancelled: 3 });
    log.close();
    const lines = rawLines(path);
    const records = parsed(path);
    expect(records.map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    expect(records[0]?.prev).toBe(GENESIS_PREV);
    for (let i = 1; i < lines.length; i += 1) expect(records[i]?.prev).toBe(sha256(lines[i - 1] as Buffer));
    expect(records[0]).toMatchObject({ ...tool(1) });
    expect(records[2]).toMatchObject({ kind: 'state', from: 'ACTIVE', to: 'HALTED', source: 'signal' });
    expect(records[3]).toMatchObject({ kind: 'kill_switch', cancelled: 3 });
    expect(log.head).toEqual({ seq: 4, hash: sha256(lines[3] as Buffer) });
    expect(verifyAuditChain([path]).failure).toBeUndefined();
    expect(summarizeAudit([path]).byKind.get('kill_switch')).toBe(1);
  });

  it('a record cannot set seq or prev itself', () => {
    const log = new AuditLog(join(dir(), 'audit.jsonl'));
    const forged: AuditRecord = Object.assign(tool(1), { seq: 99 });
    expect(() => {
      log.write(forged);
    }).toThrow('audit error: a tool record cannot set seq or prev');
    log.close();
  });

  it('reopening continues the chain where the file ends (seq and prev), and the whole file verifies', () => {
    const path = join(dir(), 'audit.jsonl');
    writeRecords(path, 3);
    const lastLine = rawLines(path)[2] as Buffer;
    const log = new AuditLog(path);
    expect(log.head).toEqual({ seq: 3, hash: sha256(lastLine) });
    log.write(tool(4));
    log.write(tool(5));
    log.close();
    const records = parsed(path);
    expect(records.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(records[3]?.prev).toBe(sha256(lastLine));
    expect(verifyAuditChain([path])).toMatchObject({ records: 5, head: { seq: 5 } });
    expect(verifyAuditChain([path]).failure).toBeUndefined();
  });

  it('a torn tail refuses to be appended to (AUDIT_TAIL_TORN) and the file is left as it was', () => {
    const path = join(dir(), 'audit.jsonl');
    writeRecords(path, 4);
    truncateSync(path, statSync(path).size - 7);
    const before = readFileSync(path);
    let error: unknown;
    try {
      new AuditLog(path).close();
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(AuditChainError);
    expect(error).toMatchObject({ code: 'AUDIT_TAIL_TORN', path });
    expect((error as Error).message).toContain('the last record is torn');
    expect(readFileSync(path).equals(before)).toBe(true);
  });

  it('a tail whose last record does not follow the one before, or a file written before the chain, refuses to be appended to (AUDIT_CHAIN_BROKEN)', () => {
    const path = join(dir(), 'audit.jsonl');
    writeRecords(path, 4);
    const text = readFileSync(path, 'utf8').replace('"step":3,', '"step":30,');
    writeFileSync(path, text);
    expect(() => new AuditLog(path)).toThrow(expect.objectContaining({ code: 'AUDIT_CHAIN_BROKEN', message: expect.stringContaining('does not follow the record before it') as string }) as Error);
    expect(readFileSync(path, 'utf8')).toBe(text);

    const legacy = join(dir(), 'audit.jsonl');
    writeFileSync(legacy, `${JSON.stringify(tool(1))}\n`);
    expect(() => new AuditLog(legacy)).toThrow(expect.objectContaining({ code: 'AUDIT_CHAIN_BROKEN', message: expect.stringContaining('seq: ') as string }) as Error);
  });

  it('one writer per chain: a second open while the first is open is refused (AUDIT_IN_USE); a lock left by a process that is gone is taken over', () => {
    const path = join(dir(), 'audit.jsonl');
    const first = new AuditLog(path);
    first.write(tool(1));
    expect(() => new AuditLog(path)).toThrow(expect.objectContaining({ code: 'AUDIT_IN_USE', message: expect.stringContaining(`pid ${process.pid}, this process`) as string }) as Error);
    first.write(tool(2));
    first.close();
    expect(existsSync(`${path}.lock`)).toBe(false);
    // A writer that died without closing left its pid behind.
    const gone = spawnSync(process.execPath, ['-e', '']).pid;
    writeFileSync(`${path}.lock`, `${gone}\n`);
    writeRecords(path, 1, 3);
    expect(parsed(path).map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(existsSync(`${path}.lock`)).toBe(false);
  });

  it('per-record durability: each record is in the file when write returns; batched: only every flushEvery records and at close', () => {
    const live = join(dir(), 'audit.jsonl');
    const perRecord = new AuditLog(live, { durability: 'per-record' });
    perRecord.write(tool(1));
    expect(parsed(live).map((r) => r.seq)).toEqual([1]);
    perRecord.write(tool(2));
    expect(parsed(live).map((r) => r.seq)).toEqual([1, 2]);
    perRecord.close();
    // The numeric form live runs use today (flushEvery 1) is per-record.
    const legacyLive = join(dir(), 'audit.jsonl');
    const one = new AuditLog(legacyLive, 1);
    one.write(tool(1));
    expect(parsed(legacyLive)).toHaveLength(1);
    one.close();

    const backtest = join(dir(), 'audit.jsonl');
    const batched = new AuditLog(backtest, { durability: 'batched', flushEvery: 3 });
    batched.write(tool(1));
    batched.write(tool(2));
    expect(existsSync(backtest) ? readFileSync(backtest, 'utf8') : '').toBe('');
    batched.write(tool(3));
    expect(parsed(backtest)).toHaveLength(3);
    batched.write(tool(4));
    batched.close();
    expect(parsed(backtest).map((r) => r.seq)).toEqual([1, 2, 3, 4]);
    expect(verifyAuditChain([backtest]).failure).toBeUndefined();
  });

  it('a planted secret in a tool result is scrubbed before hashing: it never reaches the file and the chain verifies', () => {
    const planted = 'audit-secret-Q1W2E3R4T5Y6U7';
    parseConfig(`[trading]\nbackend = "mock"\n[llm]\napi_key = "${planted}"\n`, {});
    const path = join(dir(), 'audit.jsonl');
    const log = new AuditLog(path, 1);
    log.write(tool(1, `{"error_type":"BackendError","message":"venue said 401 for key ${planted}"}`));
    log.write({ kind: 'model', time_ms: 2, step: 1, provider: 'openai', prompt_tokens: 0, completion_tokens: 0, tool_calls: 0, error: `Authorization: Bearer ${planted}` });
    log.write(tool(3));
    log.close();
    const text = readFileSync(path, 'utf8');
    expect(text).not.toContain(planted);
    expect(text).toContain('venue said 401 for key [redacted]');
    const records = parsed(path);
    expect(records[1]?.prev).toBe(sha256(rawLines(path)[0] as Buffer));
    expect(verifyAuditChain([path]).failure).toBeUndefined();
  });
});

describe('audit verify names the record to blame', () => {
  /** A 10-record chain, then `edit` applied to its lines; returns the first break. */
  function breakAfter(edit: (lines: string[]) => string[]) {
    const path = join(dir(), 'audit.jsonl');
    writeRecords(path, 10);
    const lines = readFileSync(path, 'utf8').split('\n').slice(0, -1);
    writeFileSync(path, `${edit(lines).join('\n')}\n`);
    return verifyAuditChain([path]).failure;
  }
  const change = (line: string) => line.replace('"ok":true', '"ok":false');

  it.each([
    ['the first line changed', (l: string[]) => [change(l[0] as string), ...l.slice(1)], { kind: 'modified', line: 1, seq: 1 }],
    ['the first line deleted', (l: string[]) => l.slice(1), { kind: 'removed', line: 1, seq: 2 }],
    ['a middle line changed', (l: string[]) => l.map((x, i) => (i === 4 ? change(x) : x)), { kind: 'modified', line: 5, seq: 5 }],
    ['a prev field changed', (l: string[]) => l.map((x, i) => (i === 4 ? x.replace(/"prev":"./, '"prev":"f') : x)), { kind: 'modified', line: 5, seq: 5 }],
    ['a seq field changed', (l: string[]) => l.map((x, i) => (i === 4 ? x.replace('"seq":5', '"seq":50') : x)), { kind: 'modified', line: 5, seq: 50 }],
    ['the last two lines swapped', (l: string[]) => [...l.slice(0, 8), l[9] as string, l[8] as string], { kind: 'reordered', line: 9, seq: 10 }],
    ['a line repeated', (l: string[]) => [...l.slice(0, 4), l[3] as string, ...l.slice(4)], { kind: 'inserted', line: 5, seq: 4 }],
    ['three lines removed', (l: string[]) => [...l.slice(0, 3), ...l.slice(6)], { kind: 'removed', line: 4, seq: 7 }],
  ])('%s', (_name, edit, expected) => {
    expect(breakAfter(edit)).toMatchObject(expected);
  });

  it('the last record of the chain is covered only by a head kept elsewhere', () => {
    const path = join(dir(), 'audit.jsonl');
    const log = new AuditLog(path);
    for (let n = 1; n <= 5; n += 1) log.write(tool(n));
    log.close();
    const head = log.head as { seq: number; hash: string };
    const lines = readFileSync(path, 'utf8').split('\n');
    lines[4] = change(lines[4] as string);
    writeFileSync(path, lines.join('\n'));
    expect(verifyAuditChain([path]).failure).toBeUndefined();
    expect(verifyAuditChain([path], { head: `${head.seq}:${head.hash}` }).failure).toMatchObject({ kind: 'head-not-found', line: 6 });
  });
});

describe('audit rotation', () => {
  const MAX = 2_000;

  function rotatedChain(): { folder: string; base: string; files: string[] } {
    const folder = dir();
    const base = join(folder, 'audit.jsonl');
    writeRecords(base, 12, 1, { maxBytes: MAX });
    writeRecords(base, 12, 13, { maxBytes: MAX }); // reopened: continues in the last file
    const files = [base, ...[1, 2, 3, 4, 5, 6, 7, 8].map((n) => join(folder, `audit.${n}.jsonl`)).filter((f) => existsSync(f))];
    return { folder, base, files };
  }

  it('rotates by size into audit.1.jsonl, audit.2.jsonl...; each file opens with a rotation record naming the previous file, its last seq and hash', () => {
    const { base, files } = rotatedChain();
    expect(files.length).toBeGreaterThanOrEqual(4);
    for (const file of files) expect(statSync(file).size).toBeLessThanOrEqual(MAX);
    for (let i = 1; i < files.length; i += 1) {
      const previousLines = rawLines(files[i - 1] as string);
      const previous = parsed(files[i - 1] as string).at(-1);
      const first = parsed(files[i] as string)[0];
      expect(first).toMatchObject({ kind: 'rotation', file_index: i, previous_file: i === 1 ? 'audit.jsonl' : `audit.${i - 1}.jsonl`, previous_seq: previous?.seq });
      expect(first?.seq).toBe((previous?.seq ?? 0) + 1);
      expect(first?.prev).toBe(sha256(previousLines.at(-1) as Buffer));
    }
    const all = files.flatMap(parsed);
    expect(all.map((r) => r.seq)).toEqual(all.map((_, i) => i + 1));
    expect(all.filter((r) => r.kind === 'tool').map((r) => r.step)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
    // One path: the rotated files are found; the same files in order verify too.
    expect(verifyAuditChain([base])).toMatchObject({ files, records: all.length });
    expect(verifyAuditChain([base]).failure).toBeUndefined();
    expect(verifyAuditChain(files).failure).toBeUndefined();
  });

  it('a middle file removed fails naming it, whether the files are found or given', () => {
    const { base, files } = rotatedChain();
    const middle = files[2] as string;
    unlinkSync(middle);
    expect(verifyAuditChain([base]).failure).toMatchObject({ kind: 'missing-file', file: files[3], line: 1, message: expect.stringContaining(`${middle} is missing`) as string });
    expect(verifyAuditChain(files.filter((f) => f !== middle)).failure).toMatchObject({ kind: 'missing-file', message: expect.stringContaining(`${middle} is missing`) as string });
    // And the writer will not continue a chain with a hole in it.
    expect(() => new AuditLog(base, { maxBytes: MAX })).toThrow(expect.objectContaining({ code: 'AUDIT_FILE_MISSING', path: middle }) as Error);
  });

  it('a change to the last record of a rotated file is named there: the rotation record of the next file gives it away', () => {
    const { base, files } = rotatedChain();
    const lines = readFileSync(base, 'utf8').split('\n');
    const last = lines.length - 1; // the text after the final line end is ''
    lines[last - 1] = (lines[last - 1] as string).replace('"ok":true', '"ok":false');
    writeFileSync(base, lines.join('\n'));
    expect(verifyAuditChain([base]).failure).toMatchObject({ kind: 'modified', file: base, line: last });
    expect(verifyAuditChain(files).failure).toMatchObject({ kind: 'modified', file: base, line: last });
  });

  it('an empty last file (a crash right after a rotation created it) is continued from the file before it', () => {
    const { base, files } = rotatedChain();
    const next = join(base, '..', `audit.${files.length}.jsonl`);
    appendFileSync(next, '');
    writeRecords(base, 1, 25, { maxBytes: MAX });
    expect(parsed(next)[0]).toMatchObject({ kind: 'rotation', file_index: files.length });
    expect(verifyAuditChain([base])).toMatchObject({ files: [...files, next] });
    expect(verifyAuditChain([base]).failure).toBeUndefined();
  });
});
