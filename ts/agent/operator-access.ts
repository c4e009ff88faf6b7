// An operator's live access to a running agent, from `[admin]` and `[agent] heartbeat_*`: the admin
// endpoint over the tools' trading state and kill switch, and the dead-man timer it feeds.
//
// Invariants: nothing starts without a token of 16+ characters from `[admin] token_env`
// (`adminToken` throws naming the key); every kill goes through `killSwitch` (audited) and is kept
// until it settles, so `close()` stops the timer and the endpoint first, then waits for kills in
// flight: the caller may close the tools and the audit right after.
import { adminAddress, type AgentConfig } from '../config';
import type { DeadlineClock } from '../deadline';
import type { Logger } from '../log';
import { MIN_TOKEN_LENGTH } from '../mcp/loopback';
import { registerSecrets } from '../secrets';
import type { CancelAllResult, StateChangeBy } from '../trading-state';
import { serveAdmin, type AdminEndpoint } from './admin-endpoint';
import type { AuditLog } from './audit';
import { DeadManTimer } from './dead-man';
import { killSwitch, type TradingStateControls } from './trading-controls';

/** The admin endpoint's token from `[admin] token_env`; an error naming the key when it is missing or short. */
export function adminToken(config: AgentConfig, env: NodeJS.ProcessEnv): string | undefined {
  if (config.admin === undefined) return undefined;
  const name = config.admin.token_env;
  const token = env[name];
  if (token === undefined || token === '') {
    throw new Error(`admin.token_env: environment variable ${name} is not set: the admin endpoint does not start without a token`);
  }
  if (token.length < MIN_TOKEN_LENGTH) throw new Error(`admin.token_env: the token in ${name} has ${token.length} characters, at least ${MIN_TOKEN_LENGTH} are needed`);
  // Kept out of every log line, audit record and report from now on.
  registerSecrets(token);
  return token;
}

export interface OperatorAccessOptions {
  config: AgentConfig;
  /** From `adminToken` (undefined: no `[admin]`, nothing starts). */
  token: string | undefined;
  tools: TradingStateControls;
  audit: AuditLog;
  logger: Logger;
  /** The dead-man timer's clock (default the system's). */
  clock?: DeadlineClock;
}

export interface OperatorAccess {
  /** Stop the dead-man timer and the endpoint, then wait for kills in flight. */
  close(): Promise<void>;
}

/** Start the admin endpoint and the dead-man timer the config asks for. Rejects (nothing left running) when the port is taken. */
export async function startOperatorAccess(o: OperatorAccessOptions): Promise<OperatorAccess> {
  const { config, tools, audit, logger } = o;
  const kills = new Set<Promise<CancelAllResult>>();
  const kill = (by: StateChangeBy): Promise<CancelAllResult> => {
    const running = killSwitch(tools, by, audit);
    kills.add(running);
    const forget = () => {
      kills.delete(running);
    };
    running.then(forget, forget);
    return running;
  };
  if (config.admin === undefined || o.token === undefined) return { close: () => Promise.resolve() };

  const timeoutMs = config.agent.heartbeat_timeout_ms;
  const cancelOnExpire = config.agent.heartbeat_cancel_all ?? true;
  const deadMan =
    timeoutMs === undefined
      ? undefined
      : new DeadManTimer({
          timeoutMs,
          ...(o.clock === undefined ? {} : { clock: o.clock }),
          onExpire: (silentForMs) => {
            const by = { source: 'dead-man', reason: `no heartbeat for ${silentForMs} ms (heartbeat_timeout_ms = ${timeoutMs})` };
            logger.log('error', { msg: `dead-man: ${by.reason}: trading HALTED${cancelOnExpire ? ', cancelling every open order' : ''}`, silentForMs, timeoutMs });
            if (!cancelOnExpire) {
              tools.setTradingState('HALTED', by);
              return;
            }
            // The tools log and the audit records the failure; the state is HALTED either way.
            kill(by).catch(() => undefined);
          },
        });
  let admin: AdminEndpoint;
  try {
    admin = await serveAdmin({
      ...adminAddress(config.admin.listen),
      token: o.token,
      logger,
      actions: {
        state: () => tools.tradingState(),
        setState: (state, by) => tools.setTradingState(state, by),
        kill,
        ...(deadMan === undefined
          ? {}
          : {
              deadMan: {
                heartbeat: () => {
                  deadMan.heartbeat();
                },
                view: () => ({ timeout_ms: deadMan.timeoutMs, silent_for_ms: Math.round(deadMan.silentForMs), expired: deadMan.expired }),
              },
            }),
      },
    });
  } catch (error) {
    deadMan?.stop();
    throw error;
  }
  return {
    close: async () => {
      deadMan?.stop();
      await admin.close();
      await Promise.allSettled([...kills]);
    },
  };
}
