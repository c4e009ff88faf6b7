// Trading states and the kill switch (issue 16): the public shapes of `tools.setTradingState`,
// `tools.tradingState()`, `tools.cancelAll()` and the `onTradingStateChange` hook, and the zod
// checks of what a caller passes (the trust boundary: an admin endpoint or a CLI hands them on).
//
// - ACTIVE: normal trading.
// - REDUCING: only orders that reduce the absolute position (and cancels); anything else is
//   refused with REDUCE_ONLY (source RiskGate). Checked by the native chain against the position
//   plus every order already working on the same side (resting, in flight, unknown outcome), so
//   several reducing orders together can never flip the position.
// - HALTED: nothing but cancels; place and replace are refused with TRADING_HALTED (source RiskGate).
// Both refusals apply in every safety mode (a DryRun answers what would happen).
// With a shared risk state (redis) the state is the account's: written to the store on every change
// and adopted from the store's verdicts by every replica (ts/state/README.md, "The trading state").
import { z } from 'zod';

export const TRADING_STATES = ['ACTIVE', 'REDUCING', 'HALTED'] as const;
export type TradingState = (typeof TRADING_STATES)[number];

export const tradingStateSchema = z.enum(TRADING_STATES);

/** Who changes the state and why: `source` names the actor (`api`, `signal`, `admin`, `dead-man`, `pnl-breaker`, `kill`...). */
export const stateChangeBySchema = z.strictObject({
  source: z.string().min(1).max(64),
  reason: z.string().max(500).optional(),
});
export type StateChangeBy = z.input<typeof stateChangeBySchema>;

/** One change of the trading state, as logged and handed to `onTradingStateChange`. */
export interface TradingStateChange {
  from: TradingState;
  to: TradingState;
  source: string;
  reason?: string;
  /** Unix ms (system clock) of the change. */
  timeMs: number;
}

/** What `cancelAll` did: the ids it cancelled, and every cancel that failed (reported, never thrown). */
export interface CancelAllResult {
  cancelled: string[];
  failed: Array<{ orderId: string; error: string }>;
  /**
   * Only with a shared risk state: whether the account's store has the HALTED (every replica stops
   * placing). false: the write failed (logged, counted); this process is HALTED and sends it
   * again before its next store call.
   */
  accountHalted?: boolean;
}
