// `llm-trading-agent --kill --config PATH`: the kill switch from the command line, for live backends
// (exchange, oms, mock). It builds the configured backend, runs the tools' `cancelAll` (this process's
// tools go HALTED, then every open order of the account is listed and cancelled), prints what it
// cancelled and what failed, and exits 0 only when every cancel went through.
//
// It acts on the ACCOUNT, not on a running agent: an agent still running keeps its own state and may
// place again. Halt the agent first (`kill -USR1 <pid>`, or `POST /kill` on its admin endpoint, which
// halts and cancels in one step), then run `--kill` to sweep what remains. A backtest has no venue
// outside its own run: `--kill` refuses `backend = "backtest"`. The mock is an in-memory venue: a new
// process's mock has nothing resting.
//
// The kill is audited (`cancel_all` and `state` records in `[agent] audit`) when the audit file can be
// opened; a file held by the running agent (AUDIT_IN_USE) or a damaged one never blocks the kill:
// stderr says the records were not written and stdout has the list.
import { liveBackendFromConfig } from '../backends/from-config';
import { toolsOptionsFromConfig, type AgentConfig } from '../config';
import { jsonLineLogger, levelFromEnv } from '../log';
import { scrubbedMessage } from '../secrets';
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

export async function killCommand(o: KillCommandOptions): Promise<number> {
  const { config } = o;
  if (config.trading.backend === 'backtest') {
    o.err.write('llm-trading-agent --kill: trading.backend = "backtest" has no open orders outside its own run; --kill is for live backends (exchange, oms, mock)\n');
    return 2;
  }
  const logger = jsonLineLogger({ level: levelFromEnv(o.env ?? process.env, 'warn'), write: (line) => o.err.write(line) });
  const backend = o.backend ?? liveBackendFromConfig(config);
  let audit: AuditLog;
  try {
    audit = new AuditLog(config.agent.audit, { durability: 'per-record' });
  } catch (error) {
    o.err.write(`llm-trading-agent --kill: not audited: ${scrubbedMessage(error)}\n`);
    audit = new AuditLog();
  }
  // No daily counts file and no metrics endpoint: the kill must not wait for, or be refused by, what the running agent holds.
  const tools = createTradingTools({ ...toolsOptionsFromConfig(config), backend, logger, onTradingStateChange: stateAuditor(audit) });
  try {
    const result = await killSwitch(tools, { source: 'cli', reason: '--kill' }, audit);
    const lines = [`kill: ${backend.name}: ${result.cancelled.length} open order(s) cancelled${result.cancelled.length === 0 ? '' : `: ${result.cancelled.join(', ')}`}`];
    if (result.failed.length > 0) {
      lines.push(`kill: ${result.failed.length} cancel(s) FAILED (these orders may still rest on the venue):`);
      for (const f of result.failed) lines.push(`  ${f.orderId}: ${f.error}`);
    }
    o.out.write(`${lines.join('\n')}\n`);
    return result.failed.length === 0 ? 0 : 1;
  } catch (error) {
    o.err.write(`llm-trading-agent --kill: the open orders could not be listed on ${backend.name}: ${scrubbedMessage(error)}\n`);
    return 1;
  } finally {
    tools.close();
    audit.close();
    logger.flush?.();
  }
}
