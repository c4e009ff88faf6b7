// An agent backtest end to end: market data -> backtest backend (native engine) -> guarded tools ->
// agent loop (any provider) -> summary. The program's `backtest` command and `npm start` run this.
import { BacktestTradingBackend, type BacktestFees, type BacktestResult } from '../backtest/backend';
import { BacktestReplay } from '../backtest/replay';
import type { MarketSeries } from '../backtest/series';
import { silentLogger, type Logger } from '../log';
import { TradingMetrics } from '../metrics';
import { createTradingTools, type GateOptions, type RiskOptions, type TradingState } from '../tools';
import type { SafetyModeName } from '../types';
import type { LlmProvider } from '../llm/types';
import { AuditLog } from './audit';
import { stateAuditor } from './trading-controls';
import { AgentLoop, type AgentStats } from './loop';

export interface AgentBacktestOptions {
  data: MarketSeries;
  symbol: string;
  provider: LlmProvider;
  mode?: SafetyModeName;
  risk?: RiskOptions;
  gate?: GateOptions | GateOptions[];
  /** The trading state at the first bar (`[trading] state`), default ACTIVE; a state other than ACTIVE is audited. */
  tradingState?: TradingState;
  cash?: number;
  fees?: BacktestFees;
  historyBars?: number;
  maxStepsPerBar?: number;
  decideEvery?: number;
  modelTimeoutMs?: number;
  auditPath?: string;
  logger?: Logger;
  metrics?: TradingMetrics;
  /** Called every `progressEvery` steps; `orders` counts the venue's acks (the summary's orders by status). */
  onProgress?: (progress: { step: number; total: number; equity: number; orders: number }) => void;
  progressEvery?: number;
  /** Stop after the step in flight when aborted (SIGINT/SIGTERM). */
  signal?: AbortSignal;
}

export interface AgentBacktestSummary {
  provider: string;
  model: string;
  symbol: string;
  data: string;
  bars: number;
  startMs: number;
  endMs: number;
  initialCash: number;
  finalEquity: number;
  returnPct: number;
  pnl: number;
  realizedPnl: number;
  unrealizedPnl: number;
  maxDrawdown: number;
  maxDrawdownPct: number;
  sharpe: number;
  trades: number;
  fees: number;
  ordersByStatus: Record<string, number>;
  rejectionsByCode: Record<string, number>;
  breakerOpenings: number;
  modelCalls: number;
  modelErrors: number;
  promptTokens: number;
  completionTokens: number;
  tokensEstimated: boolean;
  stoppedEarly: boolean;
}

export interface AgentBacktestRun {
  summary: AgentBacktestSummary;
  result: BacktestResult;
  stats: AgentStats;
  rejections: AgentLoop['rejections'];
  /** Close (or trade price) per step, for the report. */
  prices: Float64Array;
  timestamps: Float64Array;
  metrics: TradingMetrics;
}

const YIELD_EVERY = 256;

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Annualized Sharpe ratio of per-step equity returns (risk-free rate 0). */
export function sharpeRatio(equity: Float64Array, steps: number, stepMs: number): number {
  let n = 0;
  let sum = 0;
  let sumSq = 0;
  for (let i = 1; i < steps; i += 1) {
    const prev = equity[i - 1] as number;
    const r = (equity[i] as number) / prev - 1;
    if (!Number.isFinite(r)) continue;
    n += 1;
    sum += r;
    sumSq += r * r;
  }
  if (n < 2) return 0;
  const mean = sum / n;
  const sd = Math.sqrt(Math.max(0, sumSq / n - mean * mean));
  if (sd === 0) return 0;
  return (mean / sd) * Math.sqrt((365 * 86_400_000) / stepMs);
}

function medianStepMs(data: MarketSeries): number {
  const n = Math.min(data.length, 1_001);
  const gaps: number[] = [];
  for (let i = 1; i < n; i += 1) gaps.push((data.timestamp[i] as number) - (data.timestamp[i - 1] as number));
  gaps.sort((a, b) => a - b);
  return Math.max(1, gaps[Math.floor(gaps.length / 2)] ?? 60_000);
}

export async function runAgentBacktest(o: AgentBacktestOptions): Promise<AgentBacktestRun> {
  const backend = new BacktestTradingBackend({ symbol: o.symbol, data: o.data, cash: o.cash, fees: o.fees });
  const metrics = o.metrics ?? new TradingMetrics();
  const audit = new AuditLog(o.auditPath, { durability: 'batched' });
  let tools: ReturnType<typeof createTradingTools>;
  try {
    tools = createTradingTools({
      backend,
      mode: o.mode ?? 'Direct',
      tradingState: o.tradingState ?? 'ACTIVE',
      onTradingStateChange: stateAuditor(audit),
      risk: o.risk ?? {},
      gate: o.gate ?? { type: 'AlwaysOpen' },
      metrics,
      logger: o.logger ?? silentLogger,
      clockStartMs: o.data.timestamp[0],
    });
  } catch (error) {
    audit.close();
    throw error;
  }
  const loop = new AgentLoop({
    provider: o.provider,
    tools,
    historyBars: o.historyBars,
    maxStepsPerBar: o.maxStepsPerBar,
    decideEvery: o.decideEvery,
    modelTimeoutMs: o.modelTimeoutMs,
    audit,
  });
  const every = o.progressEvery ?? 500;
  let stoppedEarly = false;
  const replay = new BacktestReplay(backend, {
    clock: tools,
    onStep: (step) => {
      if (o.signal?.aborted === true) {
        // The bar in flight when the stop arrived is not shown to the model: nothing is decided after a stop.
        stoppedEarly = true;
        step.replay.stop();
        return undefined;
      }
      if (o.onProgress !== undefined && (step.index + 1) % every === 0) {
        // Acks counted by the loop (as the summary's orders line): the backend's result() copies its history.
        let orders = 0;
        for (const count of Object.values(loop.stats.ordersByStatus)) orders += count;
        o.onProgress({ step: step.index + 1, total: backend.length, equity: backend.currentEquity(), orders });
      }
      // A scripted run is one long chain of microtasks: let the event loop breathe now and then, so
      // signals (SIGINT/SIGTERM) and timers are seen while it runs.
      if ((step.index + 1) % YIELD_EVERY === 0) {
        return yieldToEventLoop().then(() => {
          if (o.signal?.aborted !== true) return loop.onStep(step);
          stoppedEarly = true;
          step.replay.stop();
          return undefined;
        });
      }
      return loop.onStep(step);
    },
  });
  let result: BacktestResult;
  try {
    result = await replay.run();
  } finally {
    audit.close();
  }
  const state = tools.state();
  tools.close();
  backend.destroy();
  let peak = Number.NEGATIVE_INFINITY;
  let maxDrawdownPct = 0;
  for (let i = 0; i < result.steps; i += 1) {
    const e = result.equity[i] as number;
    peak = Math.max(peak, e);
    maxDrawdownPct = Math.max(maxDrawdownPct, peak > 0 ? (peak - e) / peak : 0);
  }
  const stats = loop.stats;
  const summary: AgentBacktestSummary = {
    provider: stats.provider,
    model: stats.model,
    symbol: o.symbol,
    data: o.data.source,
    bars: result.steps,
    startMs: result.startMs,
    endMs: result.endMs,
    initialCash: result.initialCash,
    finalEquity: result.finalEquity,
    returnPct: (result.netPnl / result.initialCash) * 100,
    pnl: result.netPnl,
    realizedPnl: result.realizedPnl,
    unrealizedPnl: result.unrealizedPnl,
    maxDrawdown: result.maxDrawdown,
    maxDrawdownPct: maxDrawdownPct * 100,
    sharpe: sharpeRatio(result.equity, result.steps, medianStepMs(o.data)),
    trades: result.fills.length,
    fees: result.fees,
    ordersByStatus: stats.ordersByStatus,
    rejectionsByCode: stats.rejectionsByCode,
    breakerOpenings: state.gateOpenings,
    modelCalls: stats.modelCalls,
    modelErrors: stats.modelErrors,
    promptTokens: stats.promptTokens,
    completionTokens: stats.completionTokens,
    tokensEstimated: stats.tokensEstimated,
    stoppedEarly,
  };
  const prices = o.data.kind === 'bars' ? o.data.close : o.data.price;
  return { summary, result, stats, rejections: loop.rejections, prices, timestamps: o.data.timestamp, metrics };
}
