// `llm-trading-agent backtest`: an agent backtest from a config (or the embedded default), with a
// progress line on a terminal, a summary on stdout, summary JSON, report.html and an audit file.
import { writeFileSync } from 'node:fs';

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
import { renderReport } from './report';
import { runAgentBacktest, type AgentBacktestSummary } from './run-backtest';

export interface BacktestCommandOptions {
  config: AgentConfig;
  /** Overrides `[backtest] data`. */
  data?: string;
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

export async function backtestCommand(o: BacktestCommandOptions): Promise<number> {
  const config = o.config;
  const env = o.env ?? process.env;
  const data = marketData(config, o.data);
  const provider = providerFor(config);
  const metrics = new TradingMetrics();
  let endpoint: PrometheusEndpoint | undefined;
  if (config.metrics.callback !== 'none') endpoint = await servePrometheus(metrics, config.metrics.callback);
  const interactive = o.err.isTTY === true && env.CI === undefined;
  const options = toolsOptionsFromConfig(config);
  try {
    const run = await runAgentBacktest({
      data,
      symbol: config.agent.symbol,
      provider,
      mode: options.mode,
      risk: options.risk,
      gate: options.gate,
      cash: config.backtest.cash,
      fees: { makerBps: config.backtest.maker_bps, takerBps: config.backtest.taker_bps },
      historyBars: config.agent.history_bars,
      maxStepsPerBar: config.agent.max_steps_per_bar,
      decideEvery: config.agent.decide_every,
      modelTimeoutMs: config.llm.timeout_ms,
      auditPath: config.backtest.audit,
      metrics,
      logger: jsonLineLogger({ level: levelFromEnv(env, 'error'), write: (line) => o.err.write(line) }),
      signal: o.signal,
      onProgress: interactive
        ? (p) => o.err.write(`\r  bars ${p.step}/${p.total}  equity ${p.equity.toFixed(2)}  orders ${p.orders}   `)
        : undefined,
    });
    if (interactive) o.err.write('\n');
    writeFileSync(config.backtest.summary_json, `${JSON.stringify(run.summary, null, 2)}\n`);
    writeFileSync(config.backtest.report, renderReport(run));
    o.out.write(`${formatSummary(run.summary)}\n`);
    o.out.write(`  wrote ${config.backtest.report}, ${config.backtest.summary_json}, ${config.backtest.audit}\n`);
    return 0;
  } finally {
    await endpoint?.close();
  }
}
