// `llm-trading-agent backtest`: an agent backtest from a config (or the embedded default), with a
// progress bar on a terminal, a summary on stdout, summary JSON, report.html and an audit file.

import { SingleBar } from 'cli-progress';

import { loadBars } from '../backtest/load-bars';
import { loadTrades } from '../backtest/load-trades';
import type { MarketSeries } from '../backtest/series';
import type { AgentConfig } from '../config';
import { jsonLineLogger, levelFromEnv } from '../log';
import { generateBars } from '../market-data-generator';
import { TradingMetrics } from '../metrics';
import { servePrometheus, type PrometheusEndpoint } from '../prometheus-endpoint';
import { toolsOptionsFromConfig } from '../config';
import { OpenAIProvider } from '../llm/openai-provider';
import { ScriptedProvider } from '../llm/scripted-provider';
import type { LlmProvider } from '../llm/types';
import { auditFileOffset, writeBacktestReport } from './report';
import { runAgentBacktest, type AgentBacktestSummary } from './run-backtest';
import { writeSummaryJson } from './summary-file';

export interface BacktestCommandOptions {
  config: AgentConfig;
  /** Overrides `[backtest] data`. */
  data?: string;
  /** Overrides `[backtest] report`. */
  report?: string;
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream & { isTTY?: boolean };
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}

export function marketData(config: AgentConfig, override?: string): MarketSeries {
  const source = override ?? config.backtest.data;
  if (source === 'generated') return generateBars({ seed: config.backtest.seed, bars: config.backtest.bars, startPrice: 20_000 });
  const head = source.toLowerCase();
  return head.includes('trade') ? loadTrades(source) : loadBars(source);
}

export function providerFor(config: AgentConfig): LlmProvider {
  if (config.llm.provider === 'scripted') return new ScriptedProvider();
  if (config.llm.api_key === undefined) throw new Error('config error: llm.api_key is required for provider "openai" (use "${OPENAI_API_KEY}")');
  return new OpenAIProvider({
    model: config.llm.model,
    apiKey: config.llm.api_key,
    baseURL: config.llm.base_url,
    timeoutMs: config.llm.timeout_ms,
    maxRetries: config.llm.max_retries,
    temperature: config.llm.temperature,
    maxTokens: config.llm.max_tokens,
  });
}

const fixed = (v: number, d = 2) => v.toFixed(d);

export function formatSummary(s: AgentBacktestSummary): string {
  const counts = (c: Record<string, number>) => Object.entries(c).map(([k, v]) => `${k}=${v}`).join(' ') || 'none';
  return [
    `agent backtest: ${s.symbol} on ${s.data}, ${s.bars} bars, provider ${s.provider} (${s.model})${s.stoppedEarly ? ' [stopped early]' : ''}`,
    `  return          ${fixed(s.returnPct)} %   (PnL ${fixed(s.pnl)}: realized ${fixed(s.realizedPnl)}, unrealized ${fixed(s.unrealizedPnl)})`,
    `  max drawdown    ${fixed(s.maxDrawdown)} (${fixed(s.maxDrawdownPct)} %)`,
    `  sharpe          ${fixed(s.sharpe)}`,
    `  trades          ${s.trades}   fees ${fixed(s.fees)}`,
    `  orders          ${counts(s.ordersByStatus)}`,
    `  rejections      ${counts(s.rejectionsByCode)}`,
    `  breaker opened  ${s.breakerOpenings} time(s)`,
    `  model           ${s.modelCalls} calls, ${s.modelErrors} failed, ${s.promptTokens} + ${s.completionTokens} tokens${s.tokensEstimated ? ' (estimated)' : ''}`,
  ].join('\n');
}

/** A progress bar only for a person watching: on a terminal, outside CI. */
export function wantsProgressBar(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean {
  const ci = env.CI;
  return stream.isTTY === true && (ci === undefined || ci === '' || ci === '0' || ci === 'false') && env.TERM !== 'dumb';
}

const LOG_PROGRESS_EVERY = 500;

type Progress = Parameters<NonNullable<Parameters<typeof runAgentBacktest>[0]['onProgress']>>[0];

/** One cli-progress bar: bars done, equity, orders, rate and ETA. */
function progressBar(stream: NodeJS.WritableStream, total: number): { update: (p: Progress) => void; stop: () => void } {
  const bar = new SingleBar({
    stream,
    format: '  backtest [{bar}] {value}/{total} bars | equity {equity} | orders {orders} | {rate} bars/s | ETA {eta_formatted}',
    barsize: 24,
    hideCursor: true,
    clearOnComplete: false,
    etaBuffer: 50,
    fps: 10,
  });
  const started = performance.now();
  bar.start(total, 0, { equity: '-', orders: 0, rate: '-' });
  return {
    update: (p) => {
      const seconds = (performance.now() - started) / 1000;
      bar.update(p.step, { equity: p.equity.toFixed(2), orders: p.orders, rate: seconds > 0 ? Math.round(p.step / seconds).toLocaleString('en-US') : '-' });
    },
    stop: () => {
      bar.stop();
    },
  };
}

export async function backtestCommand(o: BacktestCommandOptions): Promise<number> {
  const config = o.config;
  const env = o.env ?? process.env;
  const data = marketData(config, o.data);
  const provider = providerFor(config);
  const metrics = new TradingMetrics();
  let endpoint: PrometheusEndpoint | undefined;
  if (config.metrics.callback !== 'none') endpoint = await servePrometheus(metrics, config.metrics.callback);
  const options = toolsOptionsFromConfig(config);
  const reportPath = o.report ?? config.backtest.report;
  // The audit file is appended to by every run that names it: this run's records start here.
  const auditOffset = auditFileOffset(config.backtest.audit);
  const logger = jsonLineLogger({ level: levelFromEnv(env, 'error'), write: (line) => o.err.write(line) });
  const bar = wantsProgressBar(o.err, env) ? progressBar(o.err, data.length) : undefined;
  // Without a bar (a pipe, CI) progress goes to the log, at info (off by default), every LOG_PROGRESS_EVERY bars.
  const onProgress =
    bar?.update ??
    ((p: Progress) => {
      if (p.step % LOG_PROGRESS_EVERY === 0) logger.log('info', { msg: `backtest progress: ${p.step}/${p.total} bars` });
    });
  const onStop = () => {
    logger.log('info', { msg: 'stop requested: finishing the bar in flight' });
  };
  o.signal?.addEventListener('abort', onStop, { once: true });
  try {
    const run = await runAgentBacktest({
      data,
      symbol: config.agent.symbol,
      provider,
      mode: options.mode,
      risk: options.risk,
      gate: options.gate,
      tradingState: options.tradingState,
      cash: config.backtest.cash,
      fees: { makerBps: config.backtest.maker_bps, takerBps: config.backtest.taker_bps },
      historyBars: config.agent.history_bars,
      maxStepsPerBar: config.agent.max_steps_per_bar,
      decideEvery: config.agent.decide_every,
      modelTimeoutMs: config.llm.timeout_ms,
      auditPath: config.backtest.audit,
      metrics,
      logger,
      signal: o.signal,
      onProgress,
      // A model over the network takes a second a bar: show each; the scripted one does thousands a second.
      progressEvery: config.llm.provider === 'scripted' ? 100 : 1,
    });
    if (bar !== undefined) {
      let orders = 0;
      for (const count of Object.values(run.summary.ordersByStatus)) orders += count;
      bar.update({ step: run.summary.bars, total: data.length, equity: run.summary.finalEquity, orders });
      bar.stop();
    }
    writeSummaryJson(config.backtest.summary_json, run.summary);
    const gate = config.gate.type === 'RejectionCircuitBreaker' ? config.gate.cooldown_ms : undefined;
    writeBacktestReport(reportPath, run, data, { path: config.backtest.audit, offset: auditOffset }, {
      maxDailyOrders: config.risk.max_daily_orders,
      breakerCooldownMs: gate,
    });
    o.out.write(`${formatSummary(run.summary)}\n`);
    o.out.write(`  wrote ${reportPath}, ${config.backtest.summary_json}, ${config.backtest.audit}\n`);
    return 0;
  } finally {
    o.signal?.removeEventListener('abort', onStop);
    bar?.stop();
    await endpoint?.close();
  }
}
