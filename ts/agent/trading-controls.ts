// The program's side of the trading states (issue 16): what the signal, the admin endpoint and the
// dead-man timer do to the guarded tools, each audited and logged the same way.
//
// - A state change is audited by the tools' `onTradingStateChange` hook (`stateAuditor`): whoever
//   makes it (the API, SIGUSR1, `POST /state`, the dead-man, the PnL breaker), it lands in the
//   audit as one `state` record, and the tools log it (warn, from/to/source/reason).
// - The kill switch (`killSwitch`) is `tools.cancelAll`: HALTED first, then every open order of the
//   account cancelled on the venue; what it cancelled and what failed are one `cancel_all` record
//   (the tools log it: error when a cancel failed, an order may still rest on the venue).
import type { Logger } from '../log';
import type { TradingTools } from '../tools';
import type { CancelAllResult, StateChangeBy, TradingState, TradingStateChange } from '../trading-state';
import type { AuditLog } from './audit';

/** What the program needs of the tools to run the trading states. */
export type TradingStateControls = Pick<TradingTools, 'tradingState' | 'setTradingState' | 'cancelAll'>;

/** The tools' `onTradingStateChange`: one `state` audit record per change. */
export function stateAuditor(audit: AuditLog): (change: TradingStateChange) => void {
  return (change) => {
    audit.write({
      kind: 'state',
      time_ms: change.timeMs,
      from: change.from,
      to: change.to,
      source: change.source,
      ...(change.reason === undefined ? {} : { reason: change.reason }),
    });
  };
}

/**
 * Halt and cancel every open order of the account, audited (the tools log it); a failed cancel is in
 * the result, never thrown. When the open orders cannot be listed the record says so and the error
 * is rethrown (the tools are HALTED all the same).
 */
export async function killSwitch(controls: TradingStateControls, by: StateChangeBy, audit: AuditLog): Promise<CancelAllResult> {
  const record = { kind: 'cancel_all' as const, source: by.source, ...(by.reason === undefined ? {} : { reason: by.reason }) };
  let result: CancelAllResult;
  try {
    result = await controls.cancelAll(by);
  } catch (error) {
    audit.write({ ...record, time_ms: Date.now(), cancelled: [], failed: [], error: error instanceof Error ? error.message : String(error) });
    throw error;
  }
  audit.write({ ...record, time_ms: Date.now(), cancelled: result.cancelled, failed: result.failed.map((f) => ({ order_id: f.orderId, error: f.error })) });
  return result;
}

/** `kill -USR1 <pid>`: HALTED now (source `signal`); returns the state it left. */
export function haltBySignal(controls: TradingStateControls, logger: Logger): TradingState {
  const previous = controls.setTradingState('HALTED', { source: 'signal', reason: 'SIGUSR1' });
  logger.log('warn', { msg: `SIGUSR1: trading HALTED (was ${previous}): only cancels pass until an operator sets another state`, from: previous });
  return previous;
}
