// `llm-trading-agent audit verify|show PATH...`: check an audit chain, or summarise it.
// Exit codes: 0 the chain verifies, 1 it does not (the first broken record is named) or a file
// cannot be read, 2 a usage error.
import { parseArgs } from 'node:util';

import { formatAuditSummary, summarizeAudit } from './show';
import { verifyAuditChain } from './verify';

export const AUDIT_USAGE = `usage: llm-trading-agent audit verify [--head [SEQ:]HASH] PATH...
       llm-trading-agent audit show PATH...
  verify   check the hash chain; exit 1 naming the first record (file:line, seq) that was
           modified, removed, inserted or reordered, or a torn last line or a missing file
  show     summarise the records (orders by status, refusals by code, model calls, state
           changes, resets by hand, first/last time) after the chain's verdict; exit 1 if it is broken
  PATH     one path: that file and its rotated files (audit.jsonl, audit.1.jsonl, ...);
           several paths: those files, in the order given
  --head   the last record's seq:hash kept elsewhere: records cut from the end are then caught`;

export interface AuditCommandIo {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
}

export function auditCommand(argv: readonly string[], io: AuditCommandIo): number {
  let values: { head?: string; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: [...argv], options: { head: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true }));
  } catch (error) {
    io.err.write(`audit: ${(error as Error).message}\n${AUDIT_USAGE}\n`);
    return 2;
  }
  if (values.help === true) {
    io.out.write(`${AUDIT_USAGE}\n`);
    return 0;
  }
  const [action, ...paths] = positionals;
  const usage = (message: string) => {
    io.err.write(`audit: ${message}\n${AUDIT_USAGE}\n`);
    return 2;
  };
  if (action !== 'verify' && action !== 'show') return usage(action === undefined ? 'verify or show is required' : `unknown action '${action}'`);
  if (paths.length === 0) return usage(`${action}: at least one PATH is required`);
  if (action === 'show' && values.head !== undefined) return usage('--head applies to verify only');
  if (values.head !== undefined && !/^(?:\d+:)?[0-9a-f]{64}$/.test(values.head)) return usage(`--head must be HASH or SEQ:HASH (64 lowercase hex digits), got '${values.head}'`);
  try {
    const verification = verifyAuditChain(paths, values.head === undefined ? {} : { head: values.head });
    if (action === 'show') {
      io.out.write(`${formatAuditSummary(summarizeAudit(verification.files), verification)}\n`);
      return verification.failure === undefined ? 0 : 1;
    }
    if (verification.failure !== undefined) {
      const { failure } = verification;
      io.out.write(`audit verify: FAILED: ${failure.kind} at ${failure.file}:${failure.line}${failure.seq === undefined ? '' : ` (seq ${failure.seq})`}\n  ${failure.message}\n`);
      return 1;
    }
    const { files, records, head } = verification;
    const range = head.seq === 0 ? 'no records yet' : `seq 1..${head.seq}, head ${head.seq}:${head.hash}`;
    io.out.write(`audit verify: OK: ${records} records in ${files.length} file(s) (${files.join(', ')}), ${range}\n`);
    return 0;
  } catch (error) {
    io.err.write(`${(error as Error).message}\n`);
    return 1;
  }
}
