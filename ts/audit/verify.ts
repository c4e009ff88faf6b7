// Checking an audit chain (format in chain.ts) and naming the first record that breaks it. Invariants:
// - Every byte is checked: each line's SHA-256 is taken over the bytes read, never over re-encoded JSON.
// - The first break is reported, as `file:line (seq N)` of the record to blame, with what happened
//   to it: `modified`, `removed` (the first record after the gap is named), `inserted`, `reordered`,
//   `torn` (a last line without its line end), `missing-file` (a rotated file is absent).
// - Diagnosis uses the neighbours: a record is intact when the next record links to its hash, so a
//   changed record is told apart from a changed `prev` in the record after it.
// - Without `head`, records cut from the very end of the last file cannot be seen (nothing after
//   them names them); with `head` (the seq:hash a writer reported), they can.
import { readFileSync } from 'node:fs';

import { chainFilePath, discoverChainFiles, GENESIS_PREV, hashLine, readChainFields, ROTATION_KIND, type ChainFields } from './chain';

export type AuditBreakKind = 'modified' | 'removed' | 'inserted' | 'reordered' | 'torn' | 'missing-file' | 'head-not-found';

export interface AuditBreak {
  kind: AuditBreakKind;
  file: string;
  /** 1-based line in `file` (for `missing-file`, the first line of the file after the gap). */
  line: number;
  seq?: number;
  message: string;
}

export interface AuditEntry {
  file: string;
  line: number;
  bytes: Buffer;
  hash: string;
  /** The chain fields, or why the line is not a chain record. */
  fields: ChainFields | { problem: string };
  /** The last line of a file that does not end in `\n`. */
  torn: boolean;
}

export interface AuditVerification {
  files: string[];
  records: number;
  /** The last record checked (seq 0 and the genesis hash when there is none). */
  head: { seq: number; hash: string };
  /** The first break, when the chain does not verify. */
  failure?: AuditBreak;
}

/** The files to read: the paths as given, or, for one path, that file and its rotated files (`audit.1.jsonl`...). */
export function resolveAuditFiles(paths: readonly string[]): { files: string[]; missing?: { index: number; path: string } } {
  if (paths.length !== 1) return { files: [...paths] };
  const base = paths[0] as string;
  const found = discoverChainFiles(base);
  const files = found.files.map((f) => f.path);
  // An absent base is read (and reported) as given, not silently skipped.
  if (!files.includes(base)) files.unshift(base);
  return found.missing === undefined ? { files } : { files, missing: found.missing };
}

/** Every line of the files, in order. A file that cannot be read throws an error naming it. */
export function readAuditEntries(files: readonly string[]): AuditEntry[] {
  const entries: AuditEntry[] = [];
  for (const file of files) {
    let content: Buffer;
    try {
      content = readFileSync(file);
    } catch (error) {
      throw new Error(`audit error: ${file}: cannot be read: ${(error as Error).message}`, { cause: error });
    }
    let from = 0;
    let line = 0;
    while (from < content.length) {
      const end = content.indexOf(0x0a, from);
      const bytes = content.subarray(from, end === -1 ? content.length : end);
      line += 1;
      entries.push({ file, line, bytes, hash: hashLine(bytes), fields: readChainFields(bytes), torn: end === -1 });
      from = end === -1 ? content.length : end + 1;
    }
  }
  return entries;
}

const where = (e: AuditEntry, seq?: number) => `${e.file}:${e.line}${seq === undefined ? '' : ` (seq ${seq})`}`;
const fieldsOf = (e: AuditEntry | undefined): ChainFields | undefined => (e === undefined || 'problem' in e.fields ? undefined : e.fields);

interface Link {
  seq: number;
  hash: string;
}

/** Whether `next` is the record right after `link`. */
const follows = (link: Link, next: ChainFields | undefined) => next !== undefined && next.seq === link.seq + 1 && next.prev === link.hash;

/** Check the chain through `files` (in order). `head`, if given, is the `seq:hash` or hash the chain must reach. */
export function verifyAuditChain(paths: readonly string[], options: { head?: string } = {}): AuditVerification {
  const { files, missing } = resolveAuditFiles(paths);
  const entries = readAuditEntries(files);
  let last: Link = { seq: 0, hash: GENESIS_PREV };
  let fileIndex = 0;
  const result = (failure?: AuditBreak): AuditVerification => ({ files, records: entries.length, head: last, ...(failure === undefined ? {} : { failure }) });
  for (let i = 0; i < entries.length; i += 1) {
    const entry = entries[i] as AuditEntry;
    const fields = fieldsOf(entry);
    if (entry.torn) {
      return result({ kind: 'torn', file: entry.file, line: entry.line, ...(fields === undefined ? {} : { seq: fields.seq }), message: `${where(entry)}: the last line has no line end: the file was truncated or a write was cut short` });
    }
    if (fields === undefined) {
      const problem = (entry.fields as { problem: string }).problem;
      return result({ kind: 'modified', file: entry.file, line: entry.line, message: `${where(entry)}: not a chain record (${problem}): modified, inserted, or written before the audit was hash-chained` });
    }
    const startsFile = i > 0 && entries[i - 1]?.file !== entry.file;
    if (startsFile && fields.kind === ROTATION_KIND && fields.fileIndex !== undefined) {
      if (fields.fileIndex > fileIndex + 1) {
        const gone = missing?.path ?? chainFilePath(files[0] as string, fileIndex + 1);
        return result({
          kind: 'missing-file',
          file: entry.file,
          line: entry.line,
          seq: fields.seq,
          message: `${gone} is missing: ${where(entry, fields.seq)} opens file ${fields.fileIndex} of the chain but the file before it was file ${fileIndex} (records seq ${last.seq + 1}..${fields.seq - 1} are gone)`,
        });
      }
      fileIndex = fields.fileIndex;
    }
    if (follows(last, fields)) {
      last = { seq: fields.seq, hash: entry.hash };
      continue;
    }
    return result(diagnose(entries, i, last));
  }
  if (missing !== undefined) {
    return result({ kind: 'missing-file', file: missing.path, line: 0, message: `${missing.path} is missing while later files of the chain exist` });
  }
  if (options.head !== undefined) {
    const failure = checkHead(entries, last, options.head);
    if (failure !== undefined) return result(failure);
  }
  return result();
}

/** The record to blame when entry `i` does not follow `last` (every record before it is intact). */
function diagnose(entries: readonly AuditEntry[], i: number, last: Link): AuditBreak {
  const entry = entries[i] as AuditEntry;
  const fields = fieldsOf(entry) as ChainFields;
  const before = i > 0 ? (entries[i - 1] as AuditEntry) : undefined;
  const beforeFields = fieldsOf(before);
  const next = fieldsOf(entries[i + 1]);
  const expected = last.seq + 1;
  const blame = (kind: AuditBreakKind, e: AuditEntry, seq: number | undefined, message: string): AuditBreak => ({ kind, file: e.file, line: e.line, ...(seq === undefined ? {} : { seq }), message: `${where(e, seq)}: ${message}` });
  const linksToBefore = fields.prev === last.hash;

  if (fields.seq === expected) {
    // The right seq with the wrong prev: the record before was changed, this one was, or this one is a forgery.
    if (next !== undefined && next.seq === expected && next.prev === last.hash) {
      return blame('inserted', entry, fields.seq, `inserted: it does not follow the record before it, and the next line carries the same seq and does`);
    }
    if (before !== undefined && beforeFields !== undefined && follows({ seq: fields.seq, hash: entry.hash }, next)) {
      return blame('modified', before, beforeFields.seq, `modified: the record after it (${where(entry, fields.seq)}) names a different hash for it`);
    }
    if (before === undefined) return blame('modified', entry, fields.seq, `modified: the first record of the chain must have prev ${GENESIS_PREV.slice(0, 8)}...`);
    return blame('modified', entry, fields.seq, next === undefined
      ? `does not follow the record before it: this record's prev, or the record before it (${where(before, beforeFields?.seq)}), was modified`
      : 'modified: it does not follow the record before it, and the record after it does not follow it');
  }
  if (linksToBefore) return blame('modified', entry, fields.seq, `modified: it follows the record before it by hash but its seq should be ${expected}`);
  const laterWithSameSeq = entries.slice(i + 1).some((e) => fieldsOf(e)?.seq === fields.seq);
  if (fields.seq > expected) {
    const expectedAt = entries.slice(i + 1).find((e) => fieldsOf(e)?.seq === expected);
    if (laterWithSameSeq) return blame('inserted', entry, fields.seq, `inserted: seq ${fields.seq} appears again later, and seq ${expected} was expected here`);
    if (expectedAt !== undefined) return blame('reordered', entry, fields.seq, `reordered: seq ${expected} was expected here and comes later, at ${where(expectedAt)}`);
    const range = fields.seq - 1 === expected ? `seq ${expected} is` : `seqs ${expected}..${fields.seq - 1} are`;
    const gap = before === undefined ? 'before the first line' : `between ${where(before, beforeFields?.seq)} and this line`;
    return blame('removed', entry, fields.seq, `record(s) removed: ${range} missing ${gap}`);
  }
  // A seq already used: a copy of an earlier record, a forgery, or a record moved back.
  if (before !== undefined && beforeFields !== undefined && fields.seq === beforeFields.seq && fields.prev === beforeFields.prev) {
    if (entry.hash === before.hash) return blame('inserted', entry, fields.seq, 'inserted: a repeat of the line before');
    if (follows({ seq: fields.seq, hash: entry.hash }, next)) return blame('inserted', before, beforeFields.seq, `inserted: the next line carries the same seq and place in the chain, and the record after it follows that one`);
    return blame('inserted', entry, fields.seq, `inserted: the line before carries the same seq and place in the chain`);
  }
  const earlier = entries.slice(0, i).find((e) => fieldsOf(e)?.seq === fields.seq);
  return blame('inserted', entry, fields.seq, `inserted or moved: seq ${expected} was expected${earlier === undefined ? '' : `; seq ${fields.seq} is already at ${where(earlier)}`}`);
}

/** Parse `seq:hash` or `hash`. */
function parseHead(text: string): { seq?: number; hash: string } {
  const match = /^(?:(\d+):)?([0-9a-f]{64})$/.exec(text.trim());
  if (match === null) throw new Error(`audit error: --head must be HASH or SEQ:HASH (64 lowercase hex digits), got '${text}'`);
  return match[1] === undefined ? { hash: match[2] as string } : { seq: Number(match[1]), hash: match[2] as string };
}

/** The chain must contain the record `head` names (records after it were appended later and are fine). */
function checkHead(entries: readonly AuditEntry[], last: Link, headText: string): AuditBreak | undefined {
  const head = parseHead(headText);
  const at = entries.find((e) => e.hash === head.hash);
  const atSeq = fieldsOf(at)?.seq;
  if (at !== undefined && (head.seq === undefined || atSeq === head.seq)) return undefined;
  const tail = entries[entries.length - 1];
  const file = tail?.file ?? '(no file)';
  const line = (tail?.line ?? 0) + 1;
  return {
    kind: 'head-not-found',
    file,
    line,
    message: `${file}:${line}: the head ${head.seq === undefined ? '' : `seq ${head.seq} `}${head.hash.slice(0, 12)}... is not in the chain, which ends at seq ${last.seq}: records at the end were removed, or the chain was rewritten`,
  };
}
