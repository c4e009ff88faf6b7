// `llm-trading-agent mcp --config PATH [--http PORT [--host ADDR] [--token-env VAR]]`: the guarded
// tools of the config's live backend served to MCP clients, over stdio (default) or Streamable
// HTTP. On stdio, stdout belongs to the protocol: logs and messages go to stderr. This module loads
// `@modelcontextprotocol/sdk` only when the command runs, so the CLI works without it.
import { parseArgs } from 'node:util';

import { AuditLog } from '../agent/audit';
import { openProgramState, type ProgramState } from '../agent/risk-state';
import { haltBySignal, stateAuditor } from '../agent/trading-controls';
import { liveBackendFromConfig } from '../backends/from-config';
import { loadConfig, toolsOptionsFromConfig, type AgentConfig } from '../config';
import { jsonLineLogger, levelFromEnv } from '../log';
import { TradingMetrics } from '../metrics';
import { servePrometheus, type PrometheusEndpoint } from '../prometheus-endpoint';
import { registerSecrets, scrubbedMessage } from '../secrets';
import { createTradingTools, type TradingTools } from '../tools';
import type { CreateMcpServerOptions } from './index';
import { isLoopbackHost, MIN_TOKEN_LENGTH } from './loopback';

export const MCP_USAGE = `usage: llm-trading-agent mcp --config PATH [--http PORT [--host ADDR] [--token-env VAR]]
  serve the guarded tools of the config's backend (mock, exchange or oms) to MCP clients
  --config PATH     the TOML config (as for a live run; every tool call is audited to [agent] audit)
  --http PORT       serve Streamable HTTP at http://ADDR:PORT/mcp instead of stdio (0: any free port)
  --host ADDR       address to bind (default 127.0.0.1); any non-loopback address needs --token-env
  --token-env VAR   require "Authorization: Bearer <token>" on every request, the token read from
                    the environment variable VAR (at least 16 characters)`;

const SDK_PACKAGE = '@modelcontextprotocol/sdk';

export interface McpCommandIo {
  /** Where messages and logs go (never stdout on stdio). */
  err: NodeJS.WritableStream;
  out: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
}

interface Plan {
  config: AgentConfig;
  http?: { port: number; host: string; token?: string };
}

class UsageError extends Error {}

/** Read and check the command line; every error names the option or variable. */
function plan(argv: string[], env: NodeJS.ProcessEnv): Plan | 'help' {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string' },
      http: { type: 'string' },
      host: { type: 'string' },
      'token-env': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help === true) return 'help';
  if (positionals.length > 0) throw new UsageError(`mcp: unexpected argument ${positionals.join(' ')}`);
  if (values.config === undefined) throw new UsageError('mcp: --config PATH is required (the backend to trade on)');
  if (values.http === undefined) {
    if (values.host !== undefined || values['token-env'] !== undefined) {
      throw new UsageError(`mcp: ${values.host !== undefined ? '--host' : '--token-env'} applies only with --http PORT`);
    }
    return { config: loadConfig(values.config, env) };
  }
  const port = /^\d{1,5}$/.test(values.http) ? Number(values.http) : Number.NaN;
  if (!(port >= 0 && port <= 65_535)) throw new UsageError(`mcp: --http must be a port number 0-65535, got '${values.http}'`);
  const host = values.host ?? '127.0.0.1';
  let token: string | undefined;
  const tokenEnv = values['token-env'];
  if (tokenEnv !== undefined) {
    token = env[tokenEnv];
    if (token === undefined || token === '') throw new UsageError(`mcp: --token-env ${tokenEnv}: environment variable ${tokenEnv} is not set`);
    if (token.length < MIN_TOKEN_LENGTH) throw new UsageError(`mcp: --token-env ${tokenEnv}: the token must be at least ${MIN_TOKEN_LENGTH} characters, got ${token.length}`);
    registerSecrets(token);
  }
  if (token === undefined && !isLoopbackHost(host)) {
    throw new UsageError(
      `mcp: --host ${host} is not a loopback address: an access token is required; pass --token-env VAR naming an environment variable that holds it`,
    );
  }
  return { config: loadConfig(values.config, env), http: { port, host, ...(token === undefined ? {} : { token }) } };
}

/** The SDK's server module, or an error naming the package to install. */
async function loadMcpModule(): Promise<typeof import('./index.js')> {
  try {
    require.resolve(`${SDK_PACKAGE}/server/mcp.js`);
  } catch {
    throw new Error(`mcp needs the optional package "${SDK_PACKAGE}": npm install ${SDK_PACKAGE}`);
  }
  return import('./index.js');
}

/** Run the command until stdin closes (stdio) or SIGINT/SIGTERM; returns the exit code. */
export async function mcpCommand(argv: string[], io: McpCommandIo = { err: process.stderr, out: process.stdout, env: process.env }): Promise<number> {
  let p: Plan;
  try {
    const planned = plan(argv, io.env);
    if (planned === 'help') {
      io.out.write(`${MCP_USAGE}\n`);
      return 0;
    }
    p = planned;
  } catch (error) {
    // Usage errors carry no secret; config errors come scrubbed from the config loader.
    io.err.write(`${(error as Error).message}\n`);
    if (error instanceof UsageError || (error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS') === true) {
      io.err.write(`${MCP_USAGE}\n`);
      return 2;
    }
    return 1;
  }
  let mcp: Awaited<ReturnType<typeof loadMcpModule>>;
  try {
    mcp = await loadMcpModule();
  } catch (error) {
    io.err.write(`llm-trading-agent: ${scrubbedMessage(error)}\n`);
    return 1;
  }
  const { config } = p;
  if (config.trading.backend === 'backtest') {
    io.err.write('llm-trading-agent: mcp: [trading] backend = "backtest" replays market data and cannot be served; use mock, exchange or oms\n');
    return 1;
  }
  if (p.http === undefined) keepStdoutForProtocol();
  const logger = jsonLineLogger({ level: levelFromEnv(io.env, 'warn'), write: (line) => io.err.write(line) });
  const metrics = new TradingMetrics();
  const options = toolsOptionsFromConfig(config);
  // `[state]` as in a live run: a file locked by another process or an unreachable Redis stops the
  // start; with redis the served tools share the account's limits with every other replica.
  let state: ProgramState;
  try {
    state = await openProgramState(config, logger, (sample) => {
      metrics.observeStateStore(sample);
    });
  } catch (error) {
    io.err.write(`llm-trading-agent: ${scrubbedMessage(error)}\n`);
    return 1;
  }
  let tools: TradingTools;
  let audit: AuditLog | undefined;
  try {
    tools = createTradingTools({
      ...options,
      backend: liveBackendFromConfig(config),
      metrics,
      logger,
      state: state.opened,
      // Every trading-state change (SIGUSR1, a PnL breaker that halts) is a `state` audit record.
      onTradingStateChange: (change) => {
        if (audit !== undefined) stateAuditor(audit)(change);
      },
    });
  } catch (error) {
    await state.opened.close();
    io.err.write(`llm-trading-agent: ${scrubbedMessage(error)}\n`);
    return 1;
  }
  let calls = 0;
  const serverOptions: CreateMcpServerOptions = {
    version: packageVersion(),
    limits: { risk: options.risk, gate: options.gate, confirmTtlMs: options.confirmTtlMs ?? null },
    // The user may take as long to answer as the confirm token lives.
    ...(options.confirmTtlMs === undefined ? {} : { confirmTimeoutMs: options.confirmTtlMs }),
    logger,
    // Every call on disk (fsync'd) as the live agent's are: `step` numbers the server's calls.
    onToolResult: (call) => {
      audit?.write({ kind: 'tool', time_ms: Date.now(), step: calls++, ...call });
    },
  };
  const stop = new AbortController();
  const onSignal = () => { stop.abort(); };
  // Runbook §3.1: an operator closes an open breaker by hand (`kill -USR2 <pid>`); audited first.
  const resetGate = () => {
    audit?.write({ kind: 'reset', time_ms: Date.now(), what: 'gate', by: 'signal', reason: 'SIGUSR2' });
    // A shared breaker's reset needs the store; a failure is already logged as RiskGate by the tools.
    tools.resetGate().catch(() => undefined);
  };
  // `kill -USR1 <pid>` halts, as in a live run (without a listener Node would open its inspector).
  const halt = () => {
    haltBySignal(tools, logger);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.on('SIGUSR2', resetGate);
  process.on('SIGUSR1', halt);
  let endpoint: PrometheusEndpoint | undefined;
  let closeServing: () => Promise<void> = () => Promise.resolve();
  try {
    audit = new AuditLog(config.agent.audit, { durability: 'per-record', ...(config.agent.audit_max_bytes === undefined ? {} : { maxBytes: config.agent.audit_max_bytes }) });
    if (config.metrics.callback !== 'none') endpoint = await servePrometheus(metrics, config.metrics.callback);
    const what = `${tools.mode} tools on ${config.trading.backend}`;
    if (p.http === undefined) {
      const { StdioServerTransport } = await import('@modelcontextprotocol/sdk/server/stdio.js');
      const server = mcp.createMcpServer(tools, serverOptions);
      const transport = new StdioServerTransport();
      closeServing = () => server.close();
      const stdinClosed = new Promise<void>((resolve) => process.stdin.once('end', resolve).once('close', resolve));
      await server.connect(transport);
      io.err.write(`mcp: serving ${what} over stdio\n`);
      await Promise.race([stdinClosed, aborted(stop.signal)]);
    } else {
      const served = await mcp.serveMcpHttp(() => mcp.createMcpServer(tools, serverOptions), { ...p.http, logger });
      closeServing = () => served.close();
      io.err.write(`mcp: serving ${what} over Streamable HTTP at ${served.url}${p.http.token === undefined ? '' : ' (bearer token required)'}\n`);
      await aborted(stop.signal);
    }
    return 0;
  } catch (error) {
    io.err.write(`llm-trading-agent: ${scrubbedMessage(error)}\n`);
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGUSR2', resetGate);
    process.off('SIGUSR1', halt);
    await closeServing().catch(() => undefined);
    audit?.close();
    tools.close();
    await state.opened.close().catch(() => undefined);
    logger.flush?.();
    await endpoint?.close();
  }
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => { resolve(); }, { once: true });
  });
}

/**
 * Stdout carries JSON-RPC only: anything a dependency prints with console.log/info/debug goes to
 * stderr instead of corrupting the protocol stream.
 */
function keepStdoutForProtocol(): void {
  const toStderr = (...args: unknown[]): void => { console.error(...args); };
  console.log = toStderr;
  console.info = toStderr;
  console.debug = toStderr;
}

function packageVersion(): string {
  // From dist/ts/mcp/ or from the sources in ts/mcp/.
  for (const up of ['../../../package.json', '../../package.json']) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const pkg = require(up) as { name?: string; version?: string };
      if (pkg.name === 'axon-llm' && pkg.version !== undefined) return pkg.version;
    } catch {
      // try the next level up
    }
  }
  return '0.0.0';
}
