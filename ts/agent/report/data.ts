// The numbers a report draws, built from a run: candles on the bars' own timestamps (aggregated
// into time buckets only past MAX_POINTS), fills as markers, equity against buy-and-hold with its
// drawdown, the orders placed per UTC day and the refusals by code over time (from the audit records).
import type { MarketSeries } from '../../backtest/series';
import type { AgentBacktestRun } from '../run-backtest';
import type { ToolAuditRecord } from './audit-records';
import { ackedOrders, axisTimes, breakerOpenings, dailyOrders, dayAxis, refusalsByCode, timelineAxis, type BreakerOpening, type RefusalsByCode } from './events';

/** Points per time series at most (a chart of more draws no better and the file grows). */
export const MAX_POINTS = 10_000;
/** Bucket widths (seconds) tried in order when the data has to be aggregated. */
const BUCKET_SECONDS = [1, 5, 15, 30, 60, 300, 900, 1_800, 3_600, 14_400, 86_400, 604_800];
export const LARGEST_TRADES = 20;

export interface CandleData {
  /** UTC seconds, strictly increasing (what the chart library takes). */
  time: number[];
  open: number[];
  high: number[];
  low: number[];
  close: number[];
  /** 0: one candle per bar of the data; else the width of the time buckets bars/prints were merged into. */
  bucketSeconds: number;
}

export interface FillMarker {
  time: number;
  side: 'Buy' | 'Sell';
  price: number;
  quantity: number;
}

export interface EquityData {
  time: number[];
  equity: number[];
  /** The starting cash put into the instrument at the first close (no fees). */
  buyAndHold: number[];
  /** (equity - running peak) / peak, in percent (0 or below); the worst of each bucket. */
  drawdownPct: number[];
}

export interface DailyData {
  /** UTC midnight of each day, in seconds. */
  time: number[];
  orders: number[];
  maxDailyOrders: number | null;
}

export interface RefusalTimeline {
  /** Start of each bucket, UTC seconds. */
  time: number[];
  bucketSeconds: number;
  series: Array<{ code: string; counts: number[] }>;
}

export interface ChartData {
  candles: CandleData | null;
  fills: FillMarker[];
  equity: EquityData | null;
  daily: DailyData;
  refusals: RefusalTimeline;
}

export interface TradeRow {
  timeMs: number;
  side: string;
  symbol: string;
  price: number | undefined;
  quantity: number;
  notional: number | undefined;
  detail: string;
}

export interface ReportData {
  kind: 'backtest' | 'live';
  title: string;
  /** One line under the title. */
  subtitle: string;
  summary: Array<[string, string]>;
  charts: ChartData;
  refusals: Array<Omit<RefusalsByCode, 'perBucket'>>;
  largestTrades: TradeRow[];
  tradesCaption: string;
  breakerOpenings: BreakerOpening[];
  /** The guard's own count of openings (the records show only those that refused a call). */
  breakerOpeningsCounted: number;
  /** Where the audit records disagree with the run's own counts (shown above everything). */
  warnings: string[];
}

export interface ReportLimits {
  maxDailyOrders?: number;
  /** The rejection breaker's cooldown: opening times exact from its refusals. */
  breakerCooldownMs?: number;
}

/** Step index -> bucket index, and each bucket's time in UTC seconds. */
interface Buckets {
  ofStep: Uint32Array;
  time: number[];
  bucketSeconds: number;
}

function bucketize(timestampMs: Float64Array, steps: number, perBarAllowed: boolean): Buckets {
  const ofStep = new Uint32Array(steps);
  if (perBarAllowed && steps <= MAX_POINTS) {
    const time: number[] = [];
    let distinct = true;
    for (let i = 0; i < steps && distinct; i += 1) {
      const t = Math.floor((timestampMs[i] as number) / 1000);
      if (time.length > 0 && t <= (time[time.length - 1] as number)) distinct = false;
      time.push(t);
      ofStep[i] = i;
    }
    if (distinct) return { ofStep, time, bucketSeconds: 0 };
  }
  const first = Math.floor((timestampMs[0] ?? 0) / 1000);
  const last = Math.floor((timestampMs[Math.max(0, steps - 1)] ?? 0) / 1000);
  const width = BUCKET_SECONDS.find((b) => Math.floor(last / b) - Math.floor(first / b) + 1 <= MAX_POINTS) ?? Math.ceil((last - first + 1) / MAX_POINTS);
  const time: number[] = [];
  for (let i = 0; i < steps; i += 1) {
    const t = Math.floor(Math.floor((timestampMs[i] as number) / 1000) / width) * width;
    if (time.length === 0 || t > (time[time.length - 1] as number)) time.push(t);
    ofStep[i] = time.length - 1;
  }
  return { ofStep, time, bucketSeconds: width };
}

function candles(data: MarketSeries, steps: number, buckets: Buckets): CandleData {
  const n = buckets.time.length;
  const open: number[] = new Array<number>(n);
  const high: number[] = new Array<number>(n).fill(Number.NEGATIVE_INFINITY);
  const low: number[] = new Array<number>(n).fill(Number.POSITIVE_INFINITY);
  const close: number[] = new Array<number>(n);
  const [o, h, l, c] = data.kind === 'bars' ? [data.open, data.high, data.low, data.close] : [data.price, data.price, data.price, data.price];
  let previous = -1;
  for (let i = 0; i < steps; i += 1) {
    const b = buckets.ofStep[i] as number;
    if (b !== previous) open[b] = o[i] as number;
    previous = b;
    high[b] = Math.max(high[b] as number, h[i] as number);
    low[b] = Math.min(low[b] as number, l[i] as number);
    close[b] = c[i] as number;
  }
  return { time: buckets.time, open, high, low, close, bucketSeconds: buckets.bucketSeconds };
}

function equityData(run: AgentBacktestRun, buckets: Buckets): EquityData {
  const steps = run.result.steps;
  const n = buckets.time.length;
  const equity = new Array<number>(n);
  const buyAndHold = new Array<number>(n);
  const drawdownPct = new Array<number>(n).fill(0);
  const firstPrice = run.prices[0] as number;
  const units = firstPrice > 0 ? run.result.initialCash / firstPrice : 0;
  let peak = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < steps; i += 1) {
    const b = buckets.ofStep[i] as number;
    const e = run.result.equity[i] as number;
    peak = Math.max(peak, e);
    equity[b] = e;
    buyAndHold[b] = units * (run.prices[i] as number);
    const dd = peak > 0 ? ((e - peak) / peak) * 100 : 0;
    if (dd < (drawdownPct[b] as number)) drawdownPct[b] = dd;
  }
  return { time: buckets.time, equity, buyAndHold, drawdownPct };
}

function overTime(records: readonly ToolAuditRecord[], startMs: number, endMs: number, limits: ReportLimits) {
  const days = dayAxis(startMs, endMs);
  const timeline = timelineAxis(startMs, endMs);
  const refusals = refusalsByCode(records, timeline);
  const daily: DailyData = { time: axisTimes(days), orders: dailyOrders(records, days), maxDailyOrders: limits.maxDailyOrders ?? null };
  const refusalTimeline: RefusalTimeline = {
    time: axisTimes(timeline),
    bucketSeconds: timeline.widthMs / 1000,
    series: refusals.map((r) => ({ code: r.code, counts: r.perBucket })),
  };
  return { daily, refusalTimeline, refusals };
}

/**
 * The refusals the records hold against the run's own counts: a difference means the records are
 * not the whole run (an audit file rotated or cut under it), and the report must say so, not
 * draw a quiet hole.
 */
function auditWarnings(refusals: readonly RefusalsByCode[], counted: Record<string, number>): string[] {
  const seen = new Map(refusals.map((r) => [r.code, r.count]));
  const codes = [...new Set([...seen.keys(), ...Object.keys(counted)])].sort();
  const differing = codes.filter((code) => (seen.get(code) ?? 0) !== (counted[code] ?? 0));
  if (differing.length === 0) return [];
  const detail = differing.map((code) => `${code}: ${seen.get(code) ?? 0} in the audit file, ${counted[code] ?? 0} counted by the run`).join('; ');
  return [`The audit records read for this report do not match the run's own refusal counts (${detail}). The charts and tables below show only what the audit file holds.`];
}

const money = (v: number) => (Number.isFinite(v) ? v.toLocaleString('en-US', { maximumFractionDigits: 2, minimumFractionDigits: 2 }) : 'n/a');
const counts = (c: Record<string, number>) => Object.entries(c).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
const iso = (ms: number) => (Number.isFinite(ms) ? new Date(ms).toISOString().replace('.000Z', 'Z') : 'n/a');

/** A backtest's report: its data, the run and the tool records it appended to its audit file. */
export function backtestReportData(run: AgentBacktestRun, data: MarketSeries, records: readonly ToolAuditRecord[], limits: ReportLimits = {}): ReportData {
  const s = run.summary;
  const steps = run.result.steps;
  const buckets = bucketize(data.timestamp, steps, data.kind === 'bars');
  const equity = steps > 0 ? equityData(run, buckets) : null;
  // A run stopped before its first bar has no end time: its day axis is its first day.
  const { daily, refusalTimeline, refusals } = overTime(records, s.startMs, Number.isFinite(s.endMs) ? s.endMs : s.startMs, limits);
  const buyAndHoldEnd = equity?.buyAndHold[equity.buyAndHold.length - 1] ?? s.initialCash;
  const fills = run.result.fills;
  const largest = [...fills].sort((a, b) => b.price * b.quantity - a.price * a.quantity).slice(0, LARGEST_TRADES);
  return {
    kind: 'backtest',
    title: `Agent backtest: ${s.symbol}`,
    subtitle: `provider ${s.provider} (${s.model}), data ${s.data}, ${s.bars} bars, ${iso(s.startMs)} to ${iso(s.endMs)}${s.stoppedEarly ? ' [stopped early]' : ''}`,
    summary: [
      ['Return', `${money(s.returnPct)} %  (final equity ${money(s.finalEquity)} from ${money(s.initialCash)})`],
      ['Buy and hold', `${money(((buyAndHoldEnd - s.initialCash) / s.initialCash) * 100)} %  (${money(buyAndHoldEnd)})`],
      ['PnL', `${money(s.pnl)}  (realized ${money(s.realizedPnl)}, unrealized ${money(s.unrealizedPnl)})`],
      ['Max drawdown', `${money(s.maxDrawdown)} (${money(s.maxDrawdownPct)} %)`],
      ['Sharpe (annualized)', money(s.sharpe)],
      ['Trades', String(s.trades)],
      ['Fees', money(s.fees)],
      ['Orders by status', counts(s.ordersByStatus)],
      ['Rejections by code', counts(s.rejectionsByCode)],
      ['Breaker openings', String(s.breakerOpenings)],
      ['Model calls', `${s.modelCalls} (${s.modelErrors} failed)`],
      ['Tokens', `${s.promptTokens} prompt + ${s.completionTokens} completion${s.tokensEstimated ? ' (estimated)' : ''}`],
    ],
    charts: {
      candles: steps > 0 ? candles(data, steps, buckets) : null,
      fills: fills.map((f) => ({ time: buckets.time[buckets.ofStep[f.step] as number] as number, side: f.side, price: f.price, quantity: f.quantity })),
      equity,
      daily,
      refusals: refusalTimeline,
    },
    refusals: refusals.map(({ code, count, sample }) => ({ code, count, sample })),
    largestTrades: largest.map((f) => ({
      timeMs: f.timestampMs,
      side: f.side,
      symbol: f.symbol,
      price: f.price,
      quantity: f.quantity,
      notional: f.price * f.quantity,
      detail: `${f.liquidity}, fee ${money(f.fee)}, realized ${money(f.realizedPnl)}`,
    })),
    tradesCaption: `the ${LARGEST_TRADES} largest fills by notional, of ${fills.length}`,
    breakerOpenings: breakerOpenings(records, limits.breakerCooldownMs),
    breakerOpeningsCounted: s.breakerOpenings,
    warnings: auditWarnings(refusals, s.rejectionsByCode),
  };
}

/** What a live run's report needs from its summary (`LiveSummary` has all of it). */
export interface LiveReportSummary {
  backend: string;
  mode: string;
  symbol: string;
  provider: string;
  model: string;
  cycles: number;
  observeErrors: number;
  breakerOpenings: number;
  startedAtMs: number;
  endedAtMs: number;
  stoppedBySignal: boolean;
  modelCalls: number;
  modelErrors: number;
  promptTokens: number;
  completionTokens: number;
  toolCalls: number;
  ordersByStatus: Record<string, number>;
  rejectionsByCode: Record<string, number>;
}

/** A live run's report: everything from its summary and the tool records of its audit file. */
export function liveReportData(s: LiveReportSummary, records: readonly ToolAuditRecord[], limits: ReportLimits = {}): ReportData {
  const { daily, refusalTimeline, refusals } = overTime(records, s.startedAtMs, s.endedAtMs, limits);
  const acked = ackedOrders(records);
  const size = (o: (typeof acked)[number]) => (o.price === undefined ? o.quantity : o.price * o.quantity);
  const largest = [...acked].sort((a, b) => size(b) - size(a)).slice(0, LARGEST_TRADES);
  return {
    kind: 'live',
    title: `Live agent: ${s.symbol} on ${s.backend}`,
    subtitle: `${s.mode}, provider ${s.provider} (${s.model}), ${s.cycles} observations, ${iso(s.startedAtMs)} to ${iso(s.endedAtMs)}${s.stoppedBySignal ? ' [stopped by signal]' : ''}`,
    summary: [
      ['Observations', `${s.cycles} (${s.observeErrors} skipped: venue unreadable)`],
      ['Tool calls', String(s.toolCalls)],
      ['Orders by status', counts(s.ordersByStatus)],
      ['Rejections by code', counts(s.rejectionsByCode)],
      ['Breaker openings', String(s.breakerOpenings)],
      ['Model calls', `${s.modelCalls} (${s.modelErrors} failed)`],
      ['Tokens', `${s.promptTokens} prompt + ${s.completionTokens} completion`],
    ],
    charts: { candles: null, fills: [], equity: null, daily, refusals: refusalTimeline },
    refusals: refusals.map(({ code, count, sample }) => ({ code, count, sample })),
    largestTrades: largest.map((o) => ({
      timeMs: o.timeMs,
      side: o.side,
      symbol: o.symbol,
      price: o.price,
      quantity: o.quantity,
      notional: o.price === undefined ? undefined : o.price * o.quantity,
      detail: o.status,
    })),
    tradesCaption: `the ${LARGEST_TRADES} largest orders the venue acknowledged (by limit notional, else quantity), of ${acked.length}`,
    breakerOpenings: breakerOpenings(records),
    breakerOpeningsCounted: s.breakerOpenings,
    warnings: auditWarnings(refusals, s.rejectionsByCode),
  };
}
