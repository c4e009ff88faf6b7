// The audit hash chain: what a record line is, what is hashed, and how the files of one chain are named.
//
// Invariants:
// - A record is one line of UTF-8 JSON ending in `\n`, and it begins `{"seq":N,"prev":"H",` followed by
//   the record's own fields (already scrubbed of secrets). The writer composes that text itself, so
//   `seq` and `prev` are never touched by the scrubber.
// - `seq` is 1 for the first record of a chain and grows by exactly 1 per record, across files.
// - `prev` is the SHA-256 (lowercase hex) of the exact bytes of the previous record's line, without
//   its `\n`; the first record of a chain has `prev` = 64 zeros (`GENESIS_PREV`). Hashing bytes, not
//   parsed JSON, means any change to a line (a byte, a space, a key order) breaks the next link.
// - A chain lives in `BASE` (e.g. `audit.jsonl`), then `audit.1.jsonl`, `audit.2.jsonl`... Files are
//   never renamed: the highest index is the one being written. The first record of every file after
//   the first is a `rotation` record naming the file's index, the previous file and the previous
//   file's last seq; its `prev` is the hash of that file's last line.
// - What the chain proves: no record before the last one was changed, removed, inserted or moved
//   without rewriting every later record. Removing records at the very end, or rewriting the whole
//   tail, can only be seen against a head (last seq and hash) kept somewhere else: `AuditLog.head`,
//   `audit verify --head`.
import { hash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';

import { z } from 'zod';

/** `prev` of the first record of a chain. */
export const GENESIS_PREV = '0'.repeat(64);

/** The kind of the first record of every file after the first. */
export const ROTATION_KIND = 'rotation';

/** The SHA-256 (hex) of a record line's bytes, without its line end. */
export function hashLine(line: Buffer | string): string {
  // One-shot hash (Node >= 20.12): a third of createHash's cost per line, which a backtest pays ~10k times.
  return hash('sha256', line, 'hex');
}

/**
 * The line (without `\n`) of record `seq` whose predecessor hashes to `prev`; `body` is the record's
 * own JSON object text, already scrubbed.
 */
export function chainLine(seq: number, prev: string, body: string): string {
  if (!body.startsWith('{') || !body.endsWith('}')) throw new Error(`audit error: a record must be a JSON object, got ${body.slice(0, 40)}`);
  const rest = body.slice(1);
  return `{"seq":${seq},"prev":"${prev}"${rest === '}' ? '' : ','}${rest}`;
}

const chainFieldsSchema = z.object({
  seq: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  prev: z.string().regex(/^[0-9a-f]{64}$/, 'not a 64-digit lowercase hex SHA-256'),
  kind: z.string().min(1),
  file_index: z.number().int().positive().optional(),
});

/** The fields of a record line the chain needs. */
export interface ChainFields {
  seq: number;
  prev: string;
  kind: string;
  /** Only on `rotation` records: the index of the file this record opens. */
  fileIndex?: number;
}

/** A line's chain fields, or why it is not a chain record (not JSON, a field missing or malformed). */
export function readChainFields(line: Buffer): ChainFields | { problem: string } {
  let value: unknown;
  try {
    value = JSON.parse(line.toString('utf8'));
  } catch {
    return { problem: 'not JSON' };
  }
  const parsed = chainFieldsSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = issue === undefined || issue.path.length === 0 ? '(record)' : issue.path.map(String).join('.');
    return { problem: `${key}: ${issue?.message ?? 'invalid'}` };
  }
  const { seq, prev, kind, file_index } = parsed.data;
  return kind === ROTATION_KIND && file_index !== undefined ? { seq, prev, kind, fileIndex: file_index } : { seq, prev, kind };
}

/** Splits a chain's base path into the parts its rotated files are named from. */
function nameParts(base: string): { dir: string; stem: string; ext: string } {
  const ext = extname(base);
  return { dir: dirname(base), stem: basename(base, ext), ext };
}

/** File `index` of the chain that starts at `base`: 0 is `base` itself, then `audit.1.jsonl`... */
export function chainFilePath(base: string, index: number): string {
  if (index === 0) return base;
  const { dir, stem, ext } = nameParts(base);
  return join(dir, `${stem}.${index}${ext}`);
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The files of the chain that starts at `base`, by index; `missing` is the first index with no file below the highest. */
export interface ChainFiles {
  /** Existing files in chain order (index 0 = base, when it exists). */
  files: Array<{ index: number; path: string }>;
  /** The first file that should exist and does not (a gap below the highest index). */
  missing?: { index: number; path: string };
}

/** Find `base` and its rotated files (`stem.N.ext`) in its folder. */
export function discoverChainFiles(base: string): ChainFiles {
  const { dir, stem, ext } = nameParts(base);
  const rotated = new RegExp(`^${escapeRegExp(stem)}\\.([1-9][0-9]*)${escapeRegExp(ext)}$`);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { files: [] };
    throw error;
  }
  const indices = new Set<number>();
  for (const name of names) {
    if (name === basename(base)) indices.add(0);
    const match = rotated.exec(name);
    if (match?.[1] !== undefined) indices.add(Number(match[1]));
  }
  const highest = Math.max(-1, ...indices);
  const files: ChainFiles['files'] = [];
  let missing: ChainFiles['missing'];
  for (let index = 0; index <= highest; index += 1) {
    const path = chainFilePath(base, index);
    if (indices.has(index)) files.push({ index, path });
    else missing ??= { index, path };
  }
  return missing === undefined ? { files } : { files, missing };
}
