// Appending to an audit chain (see chain.ts for the format). Invariants:
// - Records are only ever appended; a file is opened with O_APPEND, a rotated file with O_EXCL
//   (an existing file of that name is never written into).
// - Opening continues the chain: the next record's seq and prev come from the last record on disk.
//   A last file whose tail is torn (no final line end), whose last record is not a chain record, or
//   whose last record does not link to the one before it is refused (`AuditChainError`, with a
//   code): appending after a tail nobody can vouch for would bless it. Opening reads only the tail;
//   `audit verify` checks every record.
// - `per-record` durability: `append` returns after the line is written and fsync'd. `batched`:
//   lines are written every `flushEvery` records and on flush/close, fsync'd once at close.
// - A rotation writes and fsyncs the previous file's pending lines, then the new file's rotation
//   record, before any other record goes to the new file.
// - After a failed write the writer refuses everything (the file's tail is unknown).
// - One writer per chain: `BASE.lock` holds the writer's pid while it is open (two writers would
//   interleave two chains). A lock whose process is gone (a crash) is taken over; one held by a
//   live process refuses the open (`AUDIT_IN_USE`). Pids are only meaningful on one host/namespace.
import { closeSync, existsSync, fstatSync, fsyncSync, openSync, readFileSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname } from 'node:path';

import { chainFilePath, chainLine, discoverChainFiles, GENESIS_PREV, hashLine, readChainFields, ROTATION_KIND } from './chain';

export type AuditErrorCode = 'AUDIT_TAIL_TORN' | 'AUDIT_CHAIN_BROKEN' | 'AUDIT_FILE_MISSING' | 'AUDIT_FILE_EXISTS' | 'AUDIT_IN_USE' | 'AUDIT_WRITE_FAILED';

/** An audit chain that cannot be appended to; `code` says why, `path` which file. */
export class AuditChainError extends Error {
  override readonly name = 'AuditChainError';
  constructor(
    readonly code: AuditErrorCode,
    readonly path: string,
    detail: string,
  ) {
    super(`audit error (${code}): ${path}: ${detail}`);
  }
}

export type AuditDurability = 'per-record' | 'batched';

export interface AuditChainWriterOptions {
  /** `per-record`: fsync'd before `append` returns (live runs). `batched`: written in batches (backtests). */
  durability: AuditDurability;
  /** Batched: lines buffered before a write. */
  flushEvery: number;
  /** Start a new file before a record would take the current one past this many bytes. */
  maxBytes?: number;
}

/** The last record written: what a later verification can be anchored to. */
export interface AuditHead {
  seq: number;
  hash: string;
}

const TAIL_CHUNK = 64 * 1024;

/** The last `count` complete lines of a file ending in `\n` (fewer when the file has fewer). */
function lastLines(path: string, count: number): Buffer[] {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    let start = size;
    let tail = Buffer.alloc(0);
    const complete = () => {
      let found = 0;
      for (let i = tail.length - 2; i >= 0; i -= 1) if (tail[i] === 0x0a && ++found === count) return true;
      return false;
    };
    while (start > 0 && !complete()) {
      const length = Math.min(TAIL_CHUNK, start);
      start -= length;
      const chunk = Buffer.alloc(length);
      let read = 0;
      while (read < length) {
        const n = readSync(fd, chunk, read, length - read, start + read);
        if (n === 0) break;
        read += n;
      }
      tail = Buffer.concat([chunk.subarray(0, read), tail]);
    }
    // When the read stopped early, the first piece is a partial line: it is never among the last `count`.
    return splitLines(tail.subarray(0, tail.length - 1)).slice(-count);
  } finally {
    closeSync(fd);
  }
}

function splitLines(bytes: Buffer): Buffer[] {
  const lines: Buffer[] = [];
  let from = 0;
  for (let i = bytes.indexOf(0x0a); i !== -1; i = bytes.indexOf(0x0a, from)) {
    lines.push(bytes.subarray(from, i));
    from = i + 1;
  }
  lines.push(bytes.subarray(from));
  return lines;
}

function fileSize(path: string): number {
  const fd = openSync(path, 'r');
  try {
    return fstatSync(fd).size;
  } finally {
    closeSync(fd);
  }
}

function lastByte(path: string, size: number): number {
  const fd = openSync(path, 'r');
  try {
    const byte = Buffer.alloc(1);
    readSync(fd, byte, 0, 1, size - 1);
    return byte[0] as number;
  } finally {
    closeSync(fd);
  }
}

const GENESIS_HEAD: AuditHead = { seq: 0, hash: GENESIS_PREV };

/** Where the next record of the chain at `base` goes, read from the files on disk. */
interface ChainPosition {
  index: number;
  path: string;
  size: number;
  head: AuditHead;
  /** The file is a rotated one still without its rotation record (a crash right after creating it). */
  needsRotationRecord: boolean;
}

/**
 * The head of a non-empty chain file, checked as far as the tail goes. `before` gives the head the
 * file continues (the previous file's, or the genesis) when the file holds a single record.
 */
function fileHead(path: string, size: number, before: () => AuditHead): AuditHead {
  if (lastByte(path, size) !== 0x0a) {
    throw new AuditChainError('AUDIT_TAIL_TORN', path, `the last record is torn (no line end at byte ${size}): a write was cut short or the file was truncated; run 'llm-trading-agent audit verify' and move the file aside to start a new chain`);
  }
  const lines = lastLines(path, 2);
  const last = lines[lines.length - 1] as Buffer;
  const fields = readChainFields(last);
  if ('problem' in fields) {
    throw new AuditChainError('AUDIT_CHAIN_BROKEN', path, `the last record is not a chain record (${fields.problem}): written before the audit was hash-chained, or modified; move the file aside to start a new chain`);
  }
  const previous = lines.length === 2 ? readChainFields(lines[0] as Buffer) : undefined;
  const expected: AuditHead | undefined =
    previous === undefined ? before() : 'problem' in previous ? undefined : { seq: previous.seq, hash: hashLine(lines[0] as Buffer) };
  if (expected === undefined || fields.seq !== expected.seq + 1 || fields.prev !== expected.hash) {
    throw new AuditChainError('AUDIT_CHAIN_BROKEN', path, `the last record (seq ${fields.seq}) does not follow the record before it: the tail was modified; run 'llm-trading-agent audit verify'`);
  }
  return { seq: fields.seq, hash: hashLine(last) };
}

function chainPosition(base: string): ChainPosition {
  const found = discoverChainFiles(base);
  if (found.missing !== undefined) {
    throw new AuditChainError('AUDIT_FILE_MISSING', found.missing.path, `file ${found.missing.index} of the chain at ${base} is missing while later ones exist: the chain cannot be continued`);
  }
  const last = found.files[found.files.length - 1];
  if (last === undefined) return { index: 0, path: base, size: 0, head: GENESIS_HEAD, needsRotationRecord: false };
  const size = fileSize(last.path);
  if (size > 0) return { index: last.index, path: last.path, size, head: fileHead(last.path, size, () => headBefore(base, last.index)), needsRotationRecord: false };
  if (last.index === 0) return { index: 0, path: base, size: 0, head: GENESIS_HEAD, needsRotationRecord: false };
  // An empty rotated file (a crash right after creating it): continue from the file before it.
  return { index: last.index, path: last.path, size: 0, head: headBefore(base, last.index), needsRotationRecord: true };
}

/** The head that file `index` of the chain continues: the genesis, or the previous file's checked head. */
function headBefore(base: string, index: number): AuditHead {
  if (index === 0) return GENESIS_HEAD;
  const path = chainFilePath(base, index - 1);
  const size = fileSize(path);
  if (size === 0) throw new AuditChainError('AUDIT_CHAIN_BROKEN', path, 'is empty but a later file of the chain exists');
  return fileHead(path, size, () => headBefore(base, index - 1));
}

function writeAll(fd: number, text: string): void {
  const bytes = Buffer.from(text, 'utf8');
  let written = 0;
  while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
}

function syncFolder(path: string): void {
  const fd = openSync(dirname(path), 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Take `base`.lock for this process; returns the lock's path. */
function lockChain(base: string): string {
  const lock = `${base}.lock`;
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const fd = openSync(lock, 'wx');
      try {
        writeAll(fd, `${process.pid}\n`);
      } finally {
        closeSync(fd);
      }
      return lock;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    let holder = Number.NaN;
    try {
      holder = Number.parseInt(readFileSync(lock, 'utf8'), 10);
    } catch {
      // removed meanwhile, or unreadable: judged below as not held
    }
    if (Number.isSafeInteger(holder) && holder > 0 && processAlive(holder)) {
      throw new AuditChainError('AUDIT_IN_USE', base, `another writer (pid ${holder}${holder === process.pid ? ', this process' : ''}) has the chain open (${lock}): two writers would interleave two chains`);
    }
    try {
      unlinkSync(lock); // left by a writer that is gone
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  throw new AuditChainError('AUDIT_IN_USE', base, `${lock} is being taken by another process`);
}

/** Appends scrubbed record bodies to the chain that starts at `base`. */
export class AuditChainWriter {
  private fd: number | undefined;
  private index: number;
  private filePath: string;
  /** Bytes in the current file, pending lines included. */
  private fileBytes: number;
  private lastHead: AuditHead;
  private pending: string[] = [];
  private failure: Error | undefined;
  private lock: string | undefined;

  constructor(
    readonly base: string,
    private readonly options: AuditChainWriterOptions,
  ) {
    if (options.maxBytes !== undefined && !(Number.isSafeInteger(options.maxBytes) && options.maxBytes > 0)) {
      throw new Error(`audit error: maxBytes must be a positive integer, got ${options.maxBytes}`);
    }
    if (!(Number.isSafeInteger(options.flushEvery) && options.flushEvery > 0)) {
      throw new Error(`audit error: flushEvery must be a positive integer, got ${options.flushEvery}`);
    }
    this.lock = lockChain(base);
    try {
      const position = chainPosition(base);
      this.index = position.index;
      this.filePath = position.path;
      this.fileBytes = position.size;
      this.lastHead = position.head;
      const created = !existsSync(position.path);
      this.fd = openSync(position.path, 'a');
      // A new file's name must survive a crash as well as its records.
      if (created && options.durability === 'per-record') syncFolder(position.path);
      if (position.needsRotationRecord) this.writeRotationRecord(chainFilePath(base, position.index - 1));
    } catch (error) {
      if (this.fd !== undefined) closeSync(this.fd);
      this.fd = undefined;
      this.releaseLock();
      throw error;
    }
  }

  /** The file records are appended to now. */
  get currentPath(): string {
    return this.filePath;
  }

  /** The last record appended (seq 0 and the genesis hash before the first). */
  get head(): AuditHead {
    return { ...this.lastHead };
  }

  /** Append one record; `body` is its JSON object text, already scrubbed. */
  append(body: string): void {
    const fd = this.usable();
    let line = chainLine(this.lastHead.seq + 1, this.lastHead.hash, body);
    const max = this.options.maxBytes;
    if (max !== undefined && this.fileBytes > 0 && this.fileBytes + Buffer.byteLength(line) + 1 > max) {
      this.rotate();
      line = chainLine(this.lastHead.seq + 1, this.lastHead.hash, body);
    }
    this.lastHead = { seq: this.lastHead.seq + 1, hash: hashLine(line) };
    this.fileBytes += Buffer.byteLength(line) + 1;
    this.pending.push(line);
    if (this.options.durability === 'per-record') this.writePending(fd, true);
    else if (this.pending.length >= this.options.flushEvery) this.writePending(fd, false);
  }

  /** Write the buffered lines (fsync'd in per-record mode). */
  flush(): void {
    if (this.fd === undefined || this.pending.length === 0) return;
    this.writePending(this.usable(), this.options.durability === 'per-record');
  }

  /** Write, fsync and close; later calls do nothing. */
  close(): void {
    const fd = this.fd;
    if (fd === undefined) return;
    try {
      if (this.failure === undefined) this.writePending(fd, true);
    } finally {
      this.fd = undefined;
      closeSync(fd);
      this.releaseLock();
    }
  }

  private releaseLock(): void {
    if (this.lock === undefined) return;
    try {
      unlinkSync(this.lock);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    this.lock = undefined;
  }

  private usable(): number {
    if (this.failure !== undefined) {
      throw new AuditChainError('AUDIT_WRITE_FAILED', this.filePath, `an earlier write failed (${this.failure.message}); no record is appended after a tail nobody can vouch for`);
    }
    if (this.fd === undefined) throw new AuditChainError('AUDIT_WRITE_FAILED', this.filePath, 'the audit log is closed');
    return this.fd;
  }

  private writePending(fd: number, sync: boolean): void {
    try {
      if (this.pending.length > 0) writeAll(fd, `${this.pending.join('\n')}\n`);
      this.pending = [];
      if (sync) fsyncSync(fd);
    } catch (error) {
      this.failure = error as Error;
      throw new AuditChainError('AUDIT_WRITE_FAILED', this.filePath, (error as Error).message);
    }
  }

  /** Close the current file durably and open the next one with its rotation record. */
  private rotate(): void {
    const fd = this.usable();
    this.writePending(fd, true);
    closeSync(fd);
    this.fd = undefined;
    const previous = this.filePath;
    this.index += 1;
    this.filePath = chainFilePath(this.base, this.index);
    try {
      this.fd = openSync(this.filePath, 'wx');
    } catch (error) {
      const exists = (error as NodeJS.ErrnoException).code === 'EEXIST';
      this.failure = error as Error;
      throw new AuditChainError(exists ? 'AUDIT_FILE_EXISTS' : 'AUDIT_WRITE_FAILED', this.filePath, exists ? 'the next file of the chain already exists: it is not overwritten or appended to' : (error as Error).message);
    }
    this.fileBytes = 0;
    this.writeRotationRecord(previous);
  }

  private writeRotationRecord(previousPath: string): void {
    const body = JSON.stringify({ kind: ROTATION_KIND, file_index: this.index, previous_file: basename(previousPath), previous_seq: this.lastHead.seq });
    const line = chainLine(this.lastHead.seq + 1, this.lastHead.hash, body);
    this.lastHead = { seq: this.lastHead.seq + 1, hash: hashLine(line) };
    this.fileBytes += Buffer.byteLength(line) + 1;
    this.pending.push(line);
    this.writePending(this.usable(), true);
    syncFolder(this.filePath);
  }
}
