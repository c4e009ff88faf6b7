// A readable summary of an audit chain: what the agent did (orders by status, refusals by code,
// model calls), trading-state changes and resets by hand, the period covered, and whether the chain
// verifies. Records are read with zod by kind; a line that is not a record of a known shape is
// counted as unreadable, never skipped silently.
import { z } from 'zod';

import { ROTATION_KIND } from './chain';
import { readAuditEntries, type AuditVerification } from './verify';

const toolSchema = z.object({ kind: z.literal('tool'), time_ms: z.number(), tool: z.string(), ok: z.boolean(), result: z.string(), code: z.string().optional() });
const modelSchema = z.object({ kind: z.literal('model'), time_ms: z.number(), prompt_tokens: z.number(), completion_tokens: z.number(), tool_calls: z.number(), error: z.string().optional() });
const stateSchema = z.object({ kind: z.literal('state'), time_ms: z.number(), from: z.string(), to: z.string(), source: z.string(), reason: z.string().optional() });
const resetSchema = z.object({ kind: z.literal('reset'), time_ms: z.number(), what: z.string(), by: z.string(), reason: z.string().optional() });
const anySchema = z.object({ kind: z.string(), time_ms: z.number().optional() });
const ackSchema = z.object({ status: z.string() });

export interface AuditSummary {
  files: string[];
  records: number;
  unreadable: number;
  byKind: Map<string, number>;
  firstTimeMs?: number;
  lastTimeMs?: number;
  toolCalls: Map<string, number>;
  ordersByStatus: Map<string, number>;
  refusalsByCode: Map<string, number>;
  model: { calls: number; errors: number; promptTokens: number; completionTokens: number; toolCalls: number };
  stateChanges: Array<{ timeMs: number; from: string; to: string; source: string; reason?: string }>;
  resets: Array<{ timeMs: number; what: string; by: string; reason?: string }>;
}

const bump = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Summarise the records of `files` (in order). */
export function summarizeAudit(files: readonly string[]): AuditSummary {
  const summary: AuditSummary = {
    files: [...files],
    records: 0,
    unreadable: 0,
    byKind: new Map(),
    toolCalls: new Map(),
    ordersByStatus: new Map(),
    refusalsByCode: new Map(),
    model: { calls: 0, errors: 0, promptTokens: 0, completionTokens: 0, toolCalls: 0 },
    stateChanges: [],
    resets: [],
  };
  const seeTime = (timeMs: number) => {
    summary.firstTimeMs = Math.min(summary.firstTimeMs ?? timeMs, timeMs);
    summary.lastTimeMs = Math.max(summary.lastTimeMs ?? timeMs, timeMs);
  };
  for (const entry of readAuditEntries(files)) {
    summary.records += 1;
    const value = parseJson(entry.bytes.toString('utf8'));
    const any = anySchema.safeParse(value);
    if (!any.success) {
      summary.unreadable += 1;
      continue;
    }
    bump(summary.byKind, any.data.kind);
    if (any.data.kind !== ROTATION_KIND && any.data.time_ms !== undefined) seeTime(any.data.time_ms);
    const tool = toolSchema.safeParse(value);
    if (tool.success) {
      bump(summary.toolCalls, tool.data.tool);
      if (tool.data.code !== undefined) bump(summary.refusalsByCode, tool.data.code);
      const ack = tool.data.ok ? ackSchema.safeParse(parseJson(tool.data.result)) : undefined;
      if (ack?.success === true) bump(summary.ordersByStatus, ack.data.status);
      continue;
    }
    const model = modelSchema.safeParse(value);
    if (model.success) {
      summary.model.calls += 1;
      if (model.data.error !== undefined) summary.model.errors += 1;
      summary.model.promptTokens += model.data.prompt_tokens;
      summary.model.completionTokens += model.data.completion_tokens;
      summary.model.toolCalls += model.data.tool_calls;
      continue;
    }
    const state = stateSchema.safeParse(value);
    if (state.success) {
      const { time_ms, from, to, source, reason } = state.data;
      summary.stateChanges.push({ timeMs: time_ms, from, to, source, ...(reason === undefined ? {} : { reason }) });
      continue;
    }
    const reset = resetSchema.safeParse(value);
    if (reset.success) {
      const { time_ms, what, by, reason } = reset.data;
      summary.resets.push({ timeMs: time_ms, what, by, ...(reason === undefined ? {} : { reason }) });
      continue;
    }
    if (['tool', 'model', 'state', 'reset'].includes(any.data.kind)) summary.unreadable += 1;
  }
  return summary;
}

const iso = (ms: number | undefined) => (ms === undefined ? '-' : Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : String(ms));
const counts = (map: Map<string, number>) =>
  map.size === 0
    ? 'none'
    : [...map.entries()]
        .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
        .map(([key, n]) => `${key} ${n}`)
        .join(', ');

/** The summary as text, led by the chain's verdict. */
export function formatAuditSummary(summary: AuditSummary, verification: AuditVerification): string {
  const lines = [
    `audit: ${summary.files.join(', ')}`,
    verification.failure === undefined
      ? `  chain:          verified, ${verification.head.seq === 0 ? 'no records yet' : `seq 1..${verification.head.seq}, head ${verification.head.seq}:${verification.head.hash}`}`
      : `  chain:          BROKEN (${verification.failure.kind}) ${verification.failure.message}`,
    `  records:        ${summary.records}${summary.unreadable > 0 ? ` (${summary.unreadable} unreadable)` : ''}: ${counts(summary.byKind)}`,
    `  period:         ${iso(summary.firstTimeMs)} .. ${iso(summary.lastTimeMs)}`,
    `  model calls:    ${summary.model.calls} (${summary.model.errors} failed), ${summary.model.promptTokens} prompt + ${summary.model.completionTokens} completion tokens, ${summary.model.toolCalls} tool calls asked`,
    `  tool calls:     ${counts(summary.toolCalls)}`,
    `  orders:         ${counts(summary.ordersByStatus)}`,
    `  refusals:       ${counts(summary.refusalsByCode)}`,
    `  state changes:  ${summary.stateChanges.length === 0 ? 'none' : summary.stateChanges.length}`,
    ...summary.stateChanges.map((s) => `    ${iso(s.timeMs)} ${s.from} -> ${s.to} by ${s.source}${s.reason === undefined ? '' : `: ${s.reason}`}`),
    `  resets by hand: ${summary.resets.length === 0 ? 'none' : summary.resets.length}`,
    ...summary.resets.map((r) => `    ${iso(r.timeMs)} ${r.what} by ${r.by}${r.reason === undefined ? '' : `: ${r.reason}`}`),
  ];
  return lines.join('\n');
}
