// Append-only audit trail: one JSON line per tool call and per model call. Buffered (a backtest
// makes thousands of calls) and flushed on `flush()`/`close()`; never rewritten. Each line is
// scrubbed of the process's secrets before it is buffered (a model or venue error can echo a key).
import { closeSync, openSync, writeSync } from 'node:fs';

import { scrubSecrets } from '../secrets';

export type AuditRecord =
  | { kind: 'tool'; time_ms: number; step: number; tool: string; args: string; ok: boolean; result: string; code?: string }
  | { kind: 'model'; time_ms: number; step: number; provider: string; prompt_tokens: number; completion_tokens: number; tool_calls: number; error?: string };

export class AuditLog {
  private readonly fd: number | undefined;
  private buffer: string[] = [];
  readonly path: string | undefined;

  /** `path` undefined: keep nothing (tests and benchmarks that do not need a file). */
  constructor(path?: string, private readonly flushEvery = 512) {
    this.path = path;
    this.fd = path === undefined ? undefined : openSync(path, 'a');
  }

  /** Whether records are kept (callers skip building them otherwise). */
  get enabled(): boolean {
    return this.fd !== undefined;
  }

  write(record: AuditRecord): void {
    if (this.fd === undefined) return;
    this.buffer.push(scrubSecrets(JSON.stringify(record)));
    if (this.buffer.length >= this.flushEvery) this.flush();
  }

  flush(): void {
    if (this.fd === undefined || this.buffer.length === 0) return;
    writeSync(this.fd, `${this.buffer.join('\n')}\n`);
    this.buffer = [];
  }

  close(): void {
    this.flush();
    if (this.fd !== undefined) closeSync(this.fd);
  }
}
