// `llm-trading-agent --kill --config PATH`: the kill switch from the command line, for live backends
// (exchange, oms, mock). It builds the configured backend, runs the tools' `cancelAll` (this process's
// tools go HALTED, then every open order of the account is listed and cancelled), prints what it
// cancelled and what failed, and exits 0 only when every cancel went through.
//
// A running agent keeps its own state and would place again: when the config has `[admin] listen` on
// a fixed port and its token variable is set, `--kill` first sends `POST /kill` to that endpoint (the
// agent halts and cancels), then sweeps the account itself. An agent that answers but refuses is a
// failure (exit 1); none answering is said and the sweep goes on. Without an endpoint, halt the agent
// with `kill -USR1 <pid>` first. A backtest has no venue
// outside its own run: `--kill` refuses `backend = "backtest"`. The mock is an in-memory venue: a new
// process's mock has nothing resting.
//
// The kill is audited (`cancel_all` and `state` records in `[agent] audit`) when the audit file can be
// opened; a file held by the running agent (AUDIT_IN_USE) or a damaged one never blocks the kill:
// stderr says the records were not written and stdout has the list.
import { z } from 'zod';

import { liveBackendFromConfig } from '../backends/from-config';
import { adminAddress, toolsOptionsFromConfig, type AgentConfig } from '../config';
import { jsonLineLogger, levelFromEnv } from '../log';
import { registerSecrets, scrubbedMessage, scrubSecrets } from '../secrets';
import { createTradingTools } from '../tools';
import type { TradingBackend } from '../types';
import { AuditLog } from './audit';
import { killSwitch, stateAuditor } from './trading-controls';

export interface KillCommandOptions {
  config: AgentConfig;
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
  env?: NodeJS.ProcessEnv;
  /** The venue; by default the one `[trading]` names. */
  backend?: TradingBackend;
}

/** What a running agent's `POST /kill` answers (./admin-endpoint.ts): the kill's outcome, or why the orders could not be listed. */
const agentKillAnswerSchema = z.union([
  z.object({ state: z.string(), cancelled: z.array(z.string()), failed: z.array(z.object({ orderId: z.string(), error: z.string() })) }),
  z.object({ state: z.string(), error: z.string() }),
]);

/**
 * `POST /kill` to the running agent's admin endpoint, when the config names one that can be reached.
 * Returns false when an agent answered and is not HALTED.
 */
async function haltRunningAgent(config: AgentConfig, env: NodeJS.ProcessEnv, out: NodeJS.WritableStream): Promise<boolean> {
  if (config.admin === undefined) return true;
  const { host, port } = adminAddress(config.admin.listen);
  if (port === 0) {
    out.write(`kill: [admin] listen = "${config.admin.listen}" has no fixed port: a running agent was not asked to halt (kill -USR1 <pid>)\n`);
    return true;
  }
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/kill`;
  const token = env[config.admin.token_env];
  if (token === undefined || token === '') {
    out.write(`kill: ${config.admin.token_env} (admin.token_env) is not set: a running agent at ${url} was not asked to halt (kill -USR1 <pid>)\n`);
    return true;
  }
  registerSecrets(token);
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: '--kill' }),
      signal: AbortSignal.timeout(Math.max(10_000, 3 * config.trading.timeout_ms)),
    });
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : scrubbedMessage(error);
    out.write(`kill: no agent answering at ${url} (${cause})\n`);
    return true;
  }
  const text = await response.text();
  let parsed: z.ZodSafeParseResult<z.output<typeof agentKillAnswerSchema>> | undefined;
  try {
    parsed = agentKillAnswerSchema.safeParse(JSON.parse(text));
  } catch {
    parsed = undefined;
  }
  if (parsed?.success !== true) {
    out.write(`kill: the agent at ${url} did NOT halt: HTTP ${response.status} ${scrubSecrets(text.slice(0, 300))}\n`);
    return false;
  }
  const answer = parsed.data;
  const outcome =
    'error' in answer
      ? `its open orders could not be listed: ${answer.error}`
      : `${answer.cancelled.length} open order(s) cancelled${answer.failed.length === 0 ? '' : `, ${answer.failed.length} cancel(s) failed (retried below)`}`;
  out.write(`kill: running agent at ${url}: ${answer.state}, ${outcome}\n`);
  // Its failed cancels are retried by the sweep below; what matters here is that it stopped placing.
  return answer.state === 'HALTED';
}

export async function killCommand(o: KillCommandOptions): Promise<number> {
  const { config } = o;
  if (config.trading.backend === 'backtest') {
    o.err.write('llm-trading-agent --kill: trading.backend = "backtest" has no open orders outside its own run; --kill is for live backends (exchange, oms, mock)\n');
    return 2;
  }
  const agentHalted = await haltRunningAgent(config, o.env ?? process.env, o.out);
  const logger = jsonLineLogger({ level: levelFromEnv(o.env ?? process.env, 'warn'), write: (line) => o.err.write(line) });
  const backend = o.backend ?? liveBackendFromConfig(config);
  let audit: AuditLog;
  try {
    audit = new AuditLog(config.agent.audit, { durability: 'per-record' });
  } catch (error) {
    o.err.write(`llm-trading-agent --kill: not audited: ${scrubbedMessage(error)}\n`);
    audit = new AuditLog();
  }
  // No daily counts file and no metrics endpoint: the kill must not wait for, or be refused by, what
  // the running agent holds. These tools live for this kill only: they start ACTIVE so that the audit
  // says this kill halted them (by cli), whatever [trading] state the agent starts in.
  let tools: ReturnType<typeof createTradingTools>;
  try {
    tools = createTradingTools({ ...toolsOptionsFromConfig(config), ...accountState(config), tradingState: 'ACTIVE', backend, logger, onTradingStateChange: stateAuditor(audit) });
  } catch (error) {
    audit.close();
    throw error;
  }
  try {
    const result = await killSwitch(tools, { source: 'cli', reason: '--kill' }, audit);
    const lines = [`kill: ${backend.name}: ${result.cancelled.length} open order(s) cancelled${result.cancelled.length === 0 ? '' : `: ${result.cancelled.join(', ')}`}`];
    if (result.accountHalted !== undefined) {
      lines.push(
        result.accountHalted
          ? `kill: account ${accountName(config)}: HALTED in the shared risk state (every replica refuses new orders)`
          : `kill: account ${accountName(config)}: the HALTED could NOT be written to the shared risk state: other replicas may still trade (kill -USR1 each, or retry)`,
      );
    }
    if (result.failed.length > 0) {
      lines.push(`kill: ${result.failed.length} cancel(s) FAILED (these orders may still rest on the venue):`);
      for (const f of result.failed) lines.push(`  ${f.orderId}: ${f.error}`);
    }
    o.out.write(`${lines.join('\n')}\n`);
    return result.failed.length === 0 && agentHalted && result.accountHalted !== false ? 0 : 1;
  } catch (error) {
    o.err.write(`llm-trading-agent --kill: the open orders could not be listed on ${backend.name}: ${scrubbedMessage(error)}\n`);
    return 1;
  } finally {
    tools.close();
    audit.close();
    logger.flush?.();
  }
}

/**
 * With `[state] type = "redis"` the kill halts the account, not just these tools: the store is
 * shared, so opening it cannot wait on the running agent (a file state's lock would: not opened).
 */
function accountState(config: AgentConfig): { state?: { type: 'redis'; url: string; account: string; keyPrefix?: string; timeoutMs: number } } {
  const state = config.state;
  if (state.type !== 'redis') return {};
  return { state: { type: 'redis', url: state.url, account: state.account, timeoutMs: state.timeout_ms, ...(state.key_prefix === undefined ? {} : { keyPrefix: state.key_prefix }) } };
}

function accountName(config: AgentConfig): string {
  return config.state.type === 'redis' ? config.state.account : '';
}
