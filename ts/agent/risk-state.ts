// The program's risk state (`[state]`, README "Shared risk state"): opened before the tools so that
// a file locked by another live process or an unreachable Redis stops the start with a clear
// error (and a non-zero exit), said in the start log, handed to the tools, closed at the end.
import type { AgentConfig } from '../config';
import type { Logger } from '../log';
import { describeState, openStateStore, type OpenedState, type RoundTrip } from '../state/index';

export interface ProgramState {
  /** What to hand to `createTradingTools`. */
  readonly opened: OpenedState;
  /** Where it lives, in words (secrets left out). */
  readonly where: string;
}

/**
 * Opens `config.state` and logs what was opened: the deprecated `risk.daily_counts_file` (a warn
 * line saying what to write instead) and a dead process's lock taken over (whose). Throws what
 * the store throws (StateLockedError naming the holder, StateUnavailable, an error naming the file).
 */
export async function openProgramState(config: AgentConfig, logger: Logger, observe?: (sample: RoundTrip) => void): Promise<ProgramState> {
  const state = config.state;
  const where = describeState(state);
  if (config.state_from === 'daily_counts_file') {
    const instead = state.type === 'file' ? `[state] type = "file", path = "${state.path}"` : '[state] type = "memory"';
    logger.log('warn', { msg: `config: risk.daily_counts_file is deprecated; it still works and means ${instead}: write that instead` });
  }
  let opened: OpenedState;
  try {
    opened = await openStateStore(state, observe ? { observe } : {});
  } catch (error) {
    // A file error names the file already; a Redis one gets where it was looked for.
    if (state.type !== 'redis') throw error;
    throw new Error(`cannot start: risk state ${where}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  if (opened.kind === 'file' && opened.tookOverFrom !== undefined) {
    const dead = opened.tookOverFrom;
    logger.log('warn', {
      msg: `risk state file ${opened.path}: took over the lock of pid ${dead.pid} on ${dead.hostname} (started ${new Date(dead.startedAtMs).toISOString()}), which is no longer running`,
    });
  }
  logger.log('info', { msg: `risk state: ${where}`, state: state.type });
  return { opened, where };
}


/**
 * How many times the breaker has opened as the state counts it: the account's count (every
 * replica) for a redis state, `undefined` for memory and file (the tools' own count is the one).
 * A store that cannot answer is logged and gives `undefined`.
 */
export async function accountBreakerOpenings(state: ProgramState, logger: Logger): Promise<number | undefined> {
  if (state.opened.kind !== 'redis') return undefined;
  try {
    return (await state.opened.snapshot()).breaker.openings;
  } catch (error) {
    logger.log('warn', { msg: `RiskGate: risk state store unavailable: the account's breaker openings could not be read: ${String(error)}` });
    return undefined;
  }
}
