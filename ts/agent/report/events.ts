// What a report reads from a run's tool-call records: orders per UTC day (as `max_daily_orders`
// counts them), refusals by code over time with a sample message, and circuit-breaker openings.
import type { ToolAuditRecord } from './audit-records';

export const DAY_MS = 86_400_000;

/** Consecutive UTC-aligned buckets of `widthMs` covering [startMs, endMs]; `first` counts buckets since the epoch. */
export interface TimeAxis {
  first: number;
  count: number;
  widthMs: number;
}

export function timeAxis(startMs: number, endMs: number, widthMs: number): TimeAxis {
  const first = Math.floor(startMs / widthMs);
  const last = Math.max(first, Math.floor(endMs / widthMs));
  return { first, count: last - first + 1, widthMs };
}

/** UTC days: the buckets `max_daily_orders` counts in. */
export function dayAxis(startMs: number, endMs: number): TimeAxis {
  return timeAxis(startMs, endMs, DAY_MS);
}

/** Bucket widths for a refusal timeline, finest first (a minute to a day). */
const TIMELINE_WIDTHS_MS = [60_000, 300_000, 900_000, 3_600_000, 14_400_000, DAY_MS];
const TIMELINE_MAX_BUCKETS = 400;

/** The finest buckets that cover the span in at most TIMELINE_MAX_BUCKETS (days past that). */
export function timelineAxis(startMs: number, endMs: number): TimeAxis {
  const width = TIMELINE_WIDTHS_MS.find((w) => timeAxis(startMs, endMs, w).count <= TIMELINE_MAX_BUCKETS) ?? DAY_MS;
  return timeAxis(startMs, endMs, width);
}

/** Each bucket's start, in UTC seconds (the chart's time). */
export function axisTimes(axis: TimeAxis): number[] {
  return Array.from({ length: axis.count }, (_, i) => ((axis.first + i) * axis.widthMs) / 1000);
}

/** The bucket of a time, clamped (a record a few ms outside the run's span stays on the axis). */
function bucketIndex(axis: TimeAxis, ms: number): number {
  return Math.min(axis.count - 1, Math.max(0, Math.floor(ms / axis.widthMs) - axis.first));
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function stringField(object: Record<string, unknown> | undefined, key: string): string | undefined {
  const value = object?.[key];
  return typeof value === 'string' ? value : undefined;
}

function numberField(object: Record<string, unknown> | undefined, key: string): number | undefined {
  const value = object?.[key];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** Backend failures after which the order may exist: the guard keeps their daily slot. */
const SLOT_KEPT_CODES = new Set(['BACKEND_TIMEOUT', 'BACKEND_NETWORK', 'BACKEND_OTHER']);
/** Acks of orders that were not sent (no daily slot taken). */
const UNSENT_STATUSES = new Set(['DryRun', 'PendingConfirm']);

/** Whether a record is a place_order that took a daily order slot (what `max_daily_orders` limits). */
export function tookDailyOrderSlot(record: ToolAuditRecord): boolean {
  if (record.tool !== 'place_order') return false;
  if (!record.ok) return record.code !== undefined && SLOT_KEPT_CODES.has(record.code);
  const status = stringField(parseObject(record.result), 'status');
  return status === undefined || !UNSENT_STATUSES.has(status);
}

export function dailyOrders(records: readonly ToolAuditRecord[], axis: TimeAxis): number[] {
  const counts = new Array<number>(axis.count).fill(0);
  for (const record of records) if (tookDailyOrderSlot(record)) {
    const day = bucketIndex(axis, record.time_ms);
    counts[day] = (counts[day] ?? 0) + 1;
  }
  return counts;
}

export interface RefusalsByCode {
  code: string;
  count: number;
  /** The first refusal's message, as the agent received it. */
  sample: string;
  /** Count per bucket of the axis. */
  perBucket: number[];
}

function refusalMessage(record: ToolAuditRecord): string {
  return stringField(parseObject(record.result), 'message') ?? record.result;
}

/** Refusals and failures by ToolError code, most frequent first. */
export function refusalsByCode(records: readonly ToolAuditRecord[], axis: TimeAxis): RefusalsByCode[] {
  const byCode = new Map<string, RefusalsByCode>();
  for (const record of records) {
    if (record.code === undefined) continue;
    let entry = byCode.get(record.code);
    if (entry === undefined) {
      entry = { code: record.code, count: 0, sample: refusalMessage(record), perBucket: new Array<number>(axis.count).fill(0) };
      byCode.set(record.code, entry);
    }
    entry.count += 1;
    const bucket = bucketIndex(axis, record.time_ms);
    entry.perBucket[bucket] = (entry.perBucket[bucket] ?? 0) + 1;
  }
  return [...byCode.values()].sort((a, b) => b.count - a.count || (a.code < b.code ? -1 : 1));
}

export interface BreakerOpening {
  /** When it opened: exact for the rejection breaker when its cooldown is known, else the tripping (or first refused) call. */
  timeMs: number;
  breaker: 'rejection' | 'pnl';
  cause: string;
  /** Calls it refused while this opening lasted. */
  refused: number;
}

const ORDER_TOOLS = new Set(['place_order', 'replace_order', 'cancel_order']);
const STREAK = /rejections=(\d+)/;
const REMAINING = /cooldown_remaining_ms=(\d+)/;

function describeStreak(refusals: readonly ToolAuditRecord[]): string {
  if (refusals.length === 0) return 'refusals before this run';
  const counts = new Map<string, number>();
  for (const r of refusals) counts.set(r.code as string, (counts.get(r.code as string) ?? 0) + 1);
  const parts = [...counts].map(([code, n]) => (n === 1 ? code : `${code} ×${n}`));
  return `${refusals.length} consecutive risk refusal${refusals.length === 1 ? '' : 's'}: ${parts.join(', ')}`;
}

/**
 * Breaker openings seen in the records. An opening shows itself by the calls it refuses, and one
 * ends only through a call that gets past the gate (a HalfOpen trial, or any call after a reset),
 * so refusals with nothing else in between belong to one opening. Its cause is the streak of
 * risk refusals before it (the refusal names the streak's length); its time is exact for the
 * rejection breaker when the cooldown is known (the refusal names what is left of it), else the
 * tripping call's. An opening that refused no call leaves no record: the caller compares with the
 * guard's own count.
 */
export function breakerOpenings(records: readonly ToolAuditRecord[], cooldownMs?: number): BreakerOpening[] {
  const openings: BreakerOpening[] = [];
  let streak: ToolAuditRecord[] = [];
  let current: BreakerOpening | undefined;
  for (const record of records) {
    if (!ORDER_TOOLS.has(record.tool)) continue;
    const breaker = record.code === 'CIRCUIT_BREAKER_OPEN' ? 'rejection' : record.code === 'PNL_BREAKER_OPEN' ? 'pnl' : undefined;
    if (breaker === undefined) {
      // Arguments are refused before the gate is asked: such a call says nothing about it.
      if (record.code === 'INVALID_ARGUMENTS') continue;
      current = undefined;
      if (record.ok || record.code?.startsWith('BACKEND_') === true) streak = [];
      else if (record.code !== undefined) streak.push(record);
      continue;
    }
    if (current?.breaker === breaker && (breaker === 'rejection' || Math.floor(current.timeMs / DAY_MS) === Math.floor(record.time_ms / DAY_MS))) {
      current.refused += 1;
      continue;
    }
    const message = refusalMessage(record);
    if (breaker === 'pnl') {
      current = { timeMs: record.time_ms, breaker, cause: message, refused: 1 };
    } else {
      const length = Number(STREAK.exec(message)?.[1] ?? streak.length);
      const cause = streak.slice(Math.max(0, streak.length - length));
      const remaining = Number(REMAINING.exec(message)?.[1] ?? Number.NaN);
      const exact = Number.isFinite(remaining) && cooldownMs !== undefined ? record.time_ms + remaining - cooldownMs : undefined;
      current = { timeMs: exact ?? cause[cause.length - 1]?.time_ms ?? record.time_ms, breaker, cause: describeStreak(cause), refused: 1 };
    }
    openings.push(current);
    streak = [];
  }
  return openings;
}

export interface AckedOrder {
  timeMs: number;
  symbol: string;
  side: string;
  quantity: number;
  status: string;
  /** The order's limit price, when it had one. */
  price: number | undefined;
}

/** Orders a venue acknowledged (live runs have no fill list; these stand in for trades). */
export function ackedOrders(records: readonly ToolAuditRecord[]): AckedOrder[] {
  const out: AckedOrder[] = [];
  for (const record of records) {
    if (record.tool !== 'place_order' || !record.ok) continue;
    const ack = parseObject(record.result);
    const status = stringField(ack, 'status') ?? '';
    if (UNSENT_STATUSES.has(status)) continue;
    const args = parseObject(record.args);
    out.push({
      timeMs: record.time_ms,
      symbol: stringField(ack, 'symbol') ?? stringField(args, 'symbol') ?? '',
      side: stringField(ack, 'side') ?? stringField(args, 'side') ?? '',
      quantity: numberField(ack, 'quantity') ?? numberField(args, 'quantity') ?? Number.NaN,
      status,
      price: numberField(ack, 'price') ?? numberField(args, 'price'),
    });
  }
  return out;
}
