// `llm-trading-agent --config PATH` on a live backend (exchange, oms, mock): every `interval_ms` one
// observation of the venue, the model's tool calls through the guarded tools, an audit record for
// each; SIGINT/SIGTERM let the observation in flight finish (its tool calls included), then the
// summary is written and the program exits 0.
//
// Trading states (issue 16): the run starts in `[trading] state`; `kill -USR1 <pid>` halts it
// (source `signal`); `[admin] listen` serves the admin endpoint (state, kill switch, heartbeat) and
// `[agent] heartbeat_timeout_ms` arms the dead-man timer (./operator-access.ts).
// Every change is a `state` audit record and a log line; a kill is a `cancel_all` record.
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import { liveBackendFromConfig } from '../backends/from-config';
import { toolsOptionsFromConfig, type AgentConfig } from '../config';
import { BackendError } from '../errors';
import { jsonLineLogger, levelFromEnv } from '../log';
import { TradingMetrics } from '../metrics';
import { servePrometheus, type PrometheusEndpoint } from '../prometheus-endpoint';
import { createTradingTools } from '../tools';
import type { TradingState } from '../trading-state';
import type { TradingBackend } from '../types';
import type { DeadlineClock } from '../deadline';
import { AuditLog } from './audit';
import { adminToken, startOperatorAccess, type OperatorAccess } from './operator-access';
import { haltBySignal, stateAuditor } from './trading-controls';
import { providerFor } from './backtest-command';
import { LiveObserver } from './live-observer';
import { observationView } from './observation';
import { accountBreakerOpenings, openProgramState, type ProgramState } from './risk-state';
import { auditFileOffset, writeLiveReport } from './report';
import { AgentLoop, type AgentStats } from './loop';
import { writeSummaryJson } from './summary-file';

export interface LiveCommandOptions {
  config: AgentConfig;
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream & { isTTY?: boolean };
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /** The venue; by default the one `[trading]` names. */
  backend?: TradingBackend;
  /** Where the run's report goes (built from this run's audit records); default `live-report.html` beside the summary. */
  report?: string;
  /** The dead-man timer's clock (default the system's): a test moves it by hand. */
  deadManClock?: DeadlineClock;
}

export interface LiveSummary extends AgentStats {
  backend: string;
  mode: string;
  symbol: string;
  cycles: number;
  /** Observations skipped because the venue could not be read. */
  observeErrors: number;
  breakerOpenings: number;
  startedAtMs: number;
  endedAtMs: number;
  stoppedBySignal: boolean;
  /** The trading state when the run ended (`ACTIVE`, `REDUCING`, `HALTED`). */
  tradingState: TradingState;
  /**
   * The audit chain's last record (`seq:hash`) when the run ended: kept outside the audit file, it
   * anchors `audit verify --head`, which then also catches whole records cut from the end.
   */
  auditHead: string | null;
}

export async function liveCommand(o: LiveCommandOptions): Promise<number> {
  const { config } = o;
  const env = o.env ?? process.env;
  // Installed first: a SIGUSR1 that Node sees without a listener opens its inspector instead.
  let halt: (() => void) | undefined;
  let haltRequested = false;
  const onSigusr1 = () => {
    if (halt === undefined) haltRequested = true;
    else halt();
  };
  process.on('SIGUSR1', onSigusr1);
  try {
    return await runLive(o, config, env, (apply) => {
      halt = apply;
      if (haltRequested) apply();
    });
  } finally {
    process.off('SIGUSR1', onSigusr1);
  }
}

async function runLive(o: LiveCommandOptions, config: AgentConfig, env: NodeJS.ProcessEnv, onHaltReady: (halt: () => void) => void): Promise<number> {
  const token = adminToken(config, env);
  const logger = jsonLineLogger({ level: levelFromEnv(env, 'warn'), write: (line) => o.err.write(line) });
  const backend = o.backend ?? liveBackendFromConfig(config);
  const provider = providerFor(config);
  const metrics = new TradingMetrics();
  const options = toolsOptionsFromConfig(config);
  // Each resource is released if a later one cannot be had (a locked or damaged state file, an
  // unreachable Redis, an unwritable audit path, a taken metrics or admin port): nothing left open
  // keeps a failed start alive. Every store round trip feeds trading_state_store_round_trip_seconds
  // and trading_state_store_errors_total.
  const state: ProgramState = await openProgramState(config, logger, (sample) => {
    metrics.observeStateStore(sample);
  });
  // The audit file is shared by every run that names it: this run's records (its report) start here.
  let auditOffset: number;
  let audit: AuditLog;
  try {
    auditOffset = auditFileOffset(config.agent.audit);
    audit = new AuditLog(config.agent.audit, { durability: 'per-record', ...(config.agent.audit_max_bytes === undefined ? {} : { maxBytes: config.agent.audit_max_bytes }) });
  } catch (error) {
    await state.opened.close();
    throw error;
  }
  let tools: ReturnType<typeof createTradingTools>;
  try {
    tools = createTradingTools({ ...options, backend, metrics, logger, state: state.opened, onTradingStateChange: stateAuditor(audit) });
  } catch (error) {
    audit.close();
    await state.opened.close();
    throw error;
  }
  const release = async () => {
    tools.close();
    await state.opened.close();
  };
  // With a redis state the breaker is the account's: this run's openings are its count's growth.
  const openingsAtStart = await accountBreakerOpenings(state, logger);
  let endpoint: PrometheusEndpoint | undefined;
  let operator: OperatorAccess;
  try {
    if (config.metrics.callback !== 'none') endpoint = await servePrometheus(metrics, config.metrics.callback);
    operator = await startOperatorAccess({ config, token, tools, audit, logger, ...(o.deadManClock === undefined ? {} : { clock: o.deadManClock }) });
  } catch (error) {
    await endpoint?.close();
    audit.close();
    await release();
    throw error;
  }
  onHaltReady(() => {
    haltBySignal(tools, logger);
  });
  const loop = new AgentLoop({
    provider,
    tools,
    historyBars: config.agent.history_bars,
    maxStepsPerBar: config.agent.max_steps_per_bar,
    modelTimeoutMs: config.llm.timeout_ms,
    audit,
    onModelError: (error) => logger.log('warn', { msg: `model call failed: ${String(error)}`, provider: provider.name }),
  });
  const observer = new LiveObserver(backend, config.agent.symbol, config.agent.history_bars);
  const interactive = o.err.isTTY === true && env.CI === undefined;
  const startedAtMs = Date.now();
  let cycles = 0;
  let observeErrors = 0;
  let breakerOpenings: number;
  let finalState: TradingState;
  let auditHead: string | null;
  // Runbook §3.1: an operator closes an open breaker by hand (`kill -USR2 <pid>`).
  const resetGate = () => {
    audit.write({ kind: 'reset', time_ms: Date.now(), what: 'gate', by: 'signal', reason: 'SIGUSR2' });
    // With a shared state the reset reaches every replica through the store: a failure is said, not thrown on a signal.
    Promise.resolve(tools.resetGate()).catch((error: unknown) => {
      logger.log('error', { msg: `RiskGate: circuit breaker reset failed: ${String(error)}` });
    });
  };
  process.on('SIGUSR2', resetGate);
  // Said when the signal arrives, not when the run ends: an operator (or a test) sees it was heard.
  const onStop = () => {
    logger.log('info', { msg: 'stop requested: finishing the observation in flight' });
  };
  o.signal?.addEventListener('abort', onStop, { once: true });
  logger.log('info', { msg: `live agent started: ${config.safety.mode} on ${backend.name}, risk state ${state.where}`, mode: config.safety.mode, backend: backend.name, symbol: config.agent.symbol });
  try {
    while (o.signal?.aborted !== true && (config.agent.max_cycles === 0 || cycles < config.agent.max_cycles)) {
      const cycleStart = Date.now();
      let observation: Awaited<ReturnType<LiveObserver['observe']>> | undefined;
      try {
        observation = await observer.observe(cycleStart, loop.lastToolResults);
      } catch (error) {
        // The venue could not be read: no decision on a partial view.
        observeErrors += 1;
        const kind = error instanceof BackendError ? error.kind : 'other';
        const message = error instanceof Error ? error.message : String(error);
        logger.log('warn', { msg: `BackendError (${kind}): observation skipped: ${message}`, backend: backend.name, kind });
      }
      // The loop handles model failures and refusals itself; anything else it throws is a fault, not a venue error.
      if (observation !== undefined) await loop.act(JSON.stringify(observation), cycles, cycleStart, observationView(observation));
      cycles += 1;
      if (interactive) o.err.write(`\r  cycles ${cycles}  tool calls ${loop.stats.toolCalls}  rejections ${Object.values(loop.stats.rejectionsByCode).reduce((a, b) => a + b, 0)}   `);
      const wait = config.agent.interval_ms - (Date.now() - cycleStart);
      if (wait > 0 && (config.agent.max_cycles === 0 || cycles < config.agent.max_cycles)) {
        await sleep(wait, undefined, { signal: o.signal }).catch(() => undefined);
      }
    }
  } finally {
    if (interactive) o.err.write('\n');
    process.off('SIGUSR2', resetGate);
    o.signal?.removeEventListener('abort', onStop);
    await operator.close();
    // A SIGUSR1 from now on finds no tools to halt.
    onHaltReady(() => {
      logger.log('warn', { msg: 'SIGUSR1: the run is ending, nothing left to halt' });
    });
    const openingsAtEnd = await accountBreakerOpenings(state, logger);
    breakerOpenings = openingsAtStart !== undefined && openingsAtEnd !== undefined ? openingsAtEnd - openingsAtStart : tools.state().gateOpenings;
    finalState = tools.tradingState();
    audit.close();
    const head = audit.head;
    auditHead = head === undefined || head.seq === 0 ? null : `${head.seq}:${head.hash}`;
    await release();
    logger.flush?.();
    await endpoint?.close();
  }
  const summary: LiveSummary = {
    ...loop.stats,
    backend: backend.name,
    mode: config.safety.mode,
    symbol: config.agent.symbol,
    cycles,
    observeErrors,
    breakerOpenings,
    startedAtMs,
    endedAtMs: Date.now(),
    stoppedBySignal: o.signal?.aborted === true,
    tradingState: finalState,
    auditHead,
  };
  writeSummaryJson(config.agent.summary_json, summary);
  const reportPath = o.report ?? join(dirname(config.agent.summary_json), 'live-report.html');
  let reportWritten = true;
  try {
    writeLiveReport(reportPath, summary, { path: config.agent.audit, offset: auditOffset }, { maxDailyOrders: config.risk.max_daily_orders });
  } catch (error) {
    // The run is over and its summary and audit are on disk: say why the report is missing, print the summary anyway.
    reportWritten = false;
    o.err.write(`llm-trading-agent: ${reportPath} not written: ${error instanceof Error ? error.message : String(error)}\n`);
  }
  const counts = (c: Record<string, number>) => Object.entries(c).map(([k, v]) => `${k}=${v}`).join(' ') || 'none';
  o.out.write(
    [
      `live agent: ${summary.symbol} on ${summary.backend} (${summary.mode}), ${cycles} observations, provider ${summary.provider} (${summary.model})${summary.stoppedBySignal ? ' [stopped by signal]' : ''}`,
      `  orders          ${counts(summary.ordersByStatus)}`,
      `  rejections      ${counts(summary.rejectionsByCode)}`,
      `  breaker opened  ${breakerOpenings} time(s)`,
      `  trading state   ${finalState} at the end`,
      `  venue errors    ${observeErrors} observation(s) skipped`,
      `  model           ${summary.modelCalls} calls, ${summary.modelErrors} failed, ${summary.promptTokens} + ${summary.completionTokens} tokens`,
      `  wrote ${config.agent.summary_json}, ${config.agent.audit}${reportWritten ? `, ${reportPath}` : ''}`,
      `  audit head      ${auditHead ?? 'none'} (keep it: audit verify --head ${auditHead ?? 'HASH'} ${config.agent.audit})`,
    ].join('\n') + '\n',
  );
  return 0;
}
