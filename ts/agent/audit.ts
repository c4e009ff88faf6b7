// Append-only, tamper-evident audit trail: one JSON line per tool call, model call, trading-state
// change, kill switch or reset by hand. Each line is scrubbed of the process's secrets (a model or venue error can
// echo a key) BEFORE it is chained: the hash covers the scrubbed bytes, which are the bytes on disk.
// Each line carries `seq` and `prev` (the SHA-256 of the line before): see ../audit/chain.ts for the
// format, ../audit/writer.ts for durability, reopening and rotation, `llm-trading-agent audit` to
// verify and summarise a file.
import { scrubSecrets } from '../secrets';
import { AuditChainWriter, type AuditDurability, type AuditHead } from '../audit/writer';

export { AuditChainError, type AuditDurability, type AuditErrorCode, type AuditHead } from '../audit/writer';

/**
 * The fields of each kind of record, by kind. Open to new kinds: a module that audits something new
 * adds its kind by declaration merging (`declare module './audit' { interface AuditRecordKinds { ... } }`);
 * `audit verify` accepts any kind, `audit show` counts kinds it does not know.
 */
export interface AuditRecordKinds {
  /** A tool call through the guarded tools and its outcome (the backend's ack, or the refusal). */
  tool: { time_ms: number; step: number; tool: string; args: string; ok: boolean; result: string; code?: string };
  /** A model call (the decision) and its cost. */
  model: { time_ms: number; step: number; provider: string; prompt_tokens: number; completion_tokens: number; tool_calls: number; error?: string };
  /** A trading-state change (`ACTIVE`, `REDUCING`, `HALTED`...), by whom (`config`, `api`, `signal`, `breaker`...). */
  state: { time_ms: number; from: string; to: string; source: string; reason?: string };
  /**
   * The kill switch ran (`POST /kill`, the dead-man timer): the trading state is HALTED and these
   * open orders of the account were cancelled; `failed` are the cancels the venue did not take;
   * `error` says why nothing was cancelled when the open orders could not be listed.
   */
  cancel_all: { time_ms: number; source: string; reason?: string; cancelled: string[]; failed: Array<{ order_id: string; error: string }>; error?: string };
  /** Something an operator reset by hand (a breaker, a daily count...). */
  reset: { time_ms: number; what: string; by: string; reason?: string };
}

export type AuditRecordKind = keyof AuditRecordKinds;

export type AuditRecord = { [K in AuditRecordKind]: { kind: K } & AuditRecordKinds[K] }[AuditRecordKind];

export interface AuditLogOptions {
  /**
   * `per-record`: each record is written and fsync'd before `write` returns (live runs: what was
   * decided is on disk before it is acted on). `batched` (default): written every `flushEvery`
   * records and at flush/close, fsync'd at close (backtests write thousands).
   */
  durability?: AuditDurability;
  /** Batched: records buffered before a write (default 512). */
  flushEvery?: number;
  /** Rotate to `audit.1.jsonl`, `audit.2.jsonl`... before a file would exceed this many bytes (default: never). */
  maxBytes?: number;
}

const DEFAULT_FLUSH_EVERY = 512;

export class AuditLog {
  private readonly writer: AuditChainWriter | undefined;
  /** The chain's first file (rotated files are named after it). */
  readonly path: string | undefined;

  /**
   * `path` undefined: keep nothing (tests and benchmarks that do not need a file). A number as the
   * second argument is `flushEvery`; 1 means `per-record` durability (what live runs ask for).
   * Opening continues the chain on disk, or throws `AuditChainError` when its tail cannot be trusted.
   */
  constructor(path?: string, options: number | AuditLogOptions = {}) {
    this.path = path;
    const { durability, flushEvery = DEFAULT_FLUSH_EVERY, maxBytes } = typeof options === 'number' ? { flushEvery: options } : options;
    const resolved: AuditDurability = durability ?? (flushEvery === 1 ? 'per-record' : 'batched');
    this.writer = path === undefined ? undefined : new AuditChainWriter(path, { durability: resolved, flushEvery, ...(maxBytes === undefined ? {} : { maxBytes }) });
  }

  /** Whether records are kept (callers skip building them otherwise). */
  get enabled(): boolean {
    return this.writer !== undefined;
  }

  /** The last record written (seq and hash of its line): keep it elsewhere to anchor `audit verify --head`. */
  get head(): AuditHead | undefined {
    return this.writer?.head;
  }

  /** The file being appended to (the chain's first file until it rotates). */
  get currentPath(): string | undefined {
    return this.writer?.currentPath;
  }

  write(record: AuditRecord): void {
    if (this.writer === undefined) return;
    if ('seq' in record || 'prev' in record) throw new Error(`audit error: a ${record.kind} record cannot set seq or prev (the chain sets them)`);
    this.writer.append(scrubSecrets(JSON.stringify(record)));
  }

  flush(): void {
    this.writer?.flush();
  }

  close(): void {
    this.writer?.close();
  }
}
