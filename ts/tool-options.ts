// The options of `createTradingTools`, validated at the boundary (zod): a bad key is a TypeError
// naming it.
import { z } from 'zod';

import type { DailyCounts } from './daily-counts-file';
import type { DeadlineClock } from './deadline';
import type { Logger } from './log';
import { TradingMetrics } from './metrics';
import type { RiskStateStore } from './state/store';
import { tradingStateSchema, type TradingStateChange } from './trading-state';
import type { TradingBackend } from './types';

/** A `type = "file"` state opened by the program (ts/state/file-store.ts FileStateStore): the day counts, locked. */
export interface DayCountsState {
  readonly kind: 'file';
  load(): DailyCounts | undefined;
  save(counts: DailyCounts): void;
}

/** An opened risk state (`openStateStore`): memory (nothing to do), the day-count file, or a shared store. */
export type OpenedRiskState = { readonly kind: 'memory' } | DayCountsState | RiskStateStore;

/** A shared store: it decides the account-wide checks (see ts/shared-state.ts). */
export function isSharedStore(state: OpenedRiskState): state is RiskStateStore {
  return typeof (state as Partial<RiskStateStore>).reservePlace === 'function';
}

function isOpenedState(value: unknown): value is OpenedRiskState {
  if (typeof value !== 'object' || value === null) return false;
  const state = value as { kind?: unknown; load?: unknown; save?: unknown; reservePlace?: unknown };
  if (typeof state.reservePlace === 'function') return true;
  if (state.kind === 'file') return typeof state.load === 'function' && typeof state.save === 'function';
  return state.kind === 'memory';
}

const accountName = z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, 'expected 1-64 characters of A-Z a-z 0-9 . _ : -');

/**
 * `state`: where the account-wide risk state lives. `memory` (default): this process's chain.
 * `file`: the same, its day counts in a locked durable file. `redis`: shared by every process
 * trading `account` (opened on first use; an unreachable Redis refuses calls with
 * STATE_UNAVAILABLE until it answers). Or a state the program opened with `openStateStore`
 * (an unreachable Redis then stops the start).
 */
const stateOptionSchema = z.union([
  z.discriminatedUnion('type', [
    z.strictObject({ type: z.literal('memory') }),
    z.strictObject({ type: z.literal('file'), path: z.string().min(1) }),
    z.strictObject({
      type: z.literal('redis'),
      url: z.string().regex(/^rediss?:\/\//, 'expected a redis:// or rediss:// URL'),
      account: accountName,
      keyPrefix: z.string().regex(/^[A-Za-z0-9._:-]{0,64}$/, 'expected up to 64 characters of A-Z a-z 0-9 . _ : -').optional(),
      timeoutMs: z.number().int().min(1).max(60_000).optional(),
    }),
  ]),
  z.custom<OpenedRiskState>(isOpenedState, 'state must be { type: "memory" | "file" | "redis", ... } or a state opened by openStateStore'),
]);

const riskOptionsSchema = z.strictObject({
  allowedSymbols: z.array(z.string().min(1).max(32)).optional(),
  maxOrderNotional: z.number().nonnegative().optional(),
  maxPositionAbs: z.number().nonnegative().optional(),
  maxDailyOrders: z.number().int().nonnegative().max(0xffff_ffff).optional(),
  maxDailyCancels: z.number().int().nonnegative().max(0xffff_ffff).optional(),
  // Market-access controls (issue 16): each optional, each refuses with source RiskLimits.
  maxOrderQuantity: z.number().nonnegative().optional(),
  minOrderNotional: z.number().nonnegative().optional(),
  priceCollarBps: z.number().nonnegative().optional(),
  maxReferenceAgeMs: z.number().int().nonnegative().optional(),
  maxOpenOrders: z.number().int().nonnegative().max(0xffff_ffff).optional(),
  duplicateWindowMs: z.number().int().nonnegative().optional(),
  maxOrdersPerSecond: z.number().int().nonnegative().max(0xffff_ffff).optional(),
  maxOrdersPerMinute: z.number().int().nonnegative().max(0xffff_ffff).optional(),
  selfTradePrevention: z.literal('reject').optional(),
  maxDailyLoss: z.number().nonnegative().optional(),
});

const gateOptionsSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('AlwaysOpen') }),
  z.strictObject({
    type: z.literal('RejectionCircuitBreaker'),
    threshold: z.number().int().min(1).max(0xffff_ffff),
    cooldownMs: z.number().int().nonnegative(),
  }),
  z.strictObject({ type: z.literal('PnlCircuitBreaker'), dailyPnlFloor: z.number() }),
]);

export const optionsSchema = z.strictObject({
  backend: z.custom<TradingBackend>(
    (value) => typeof value === 'object' && value !== null && typeof (value as TradingBackend).placeOrder === 'function',
    'backend must implement TradingBackend',
  ),
  mode: z.enum(['DryRun', 'TwoPhase', 'Direct']).default('DryRun'),
  risk: riskOptionsSchema.default({}),
  gate: z.union([gateOptionsSchema, z.array(gateOptionsSchema)]).default({ type: 'AlwaysOpen' }),
  metrics: z.instanceof(TradingMetrics).optional(),
  logger: z.custom<Logger>((value) => typeof value === 'object' && value !== null && typeof (value as Logger).log === 'function').optional(),
  confirmTtlMs: z.number().int().positive().optional(),
  /** A backend call that takes longer fails as `timeout` (the order may still exist: its quota is kept). */
  backendTimeoutMs: z.number().int().positive().default(10_000),
  /**
   * The clock `backendTimeoutMs` is measured on: the system's monotonic clock and `setInterval`
   * by default; a test passes a clock it moves by hand so a timeout needs no real wait.
   */
  deadlineClock: z
    .custom<DeadlineClock>(
      (value) =>
        typeof value === 'object' &&
        value !== null &&
        typeof (value as DeadlineClock).now === 'function' &&
        typeof (value as DeadlineClock).every === 'function',
      'deadlineClock must have now() and every(intervalMs, tick)',
    )
    .optional(),
  maxArgsBytes: z.number().int().positive().optional(),
  marketDataMaxAgeMs: z.number().int().nonnegative().optional(),
  /** Run the guard on a manual clock starting here (Unix ms): for tests and backtests. */
  clockStartMs: z.number().int().optional(),
  /**
   * Keep today's order and cancel counts in this file across restarts: read at creation, written
   * (fsync'd) before every order, replace or cancel is sent. The older name of
   * `state: { type: 'file', path }`, the same locked file (a second process on it fails to start).
   */
  dailyCountsFile: z.string().min(1).optional(),
  state: stateOptionSchema.default({ type: 'memory' }),
  /**
   * Applied to every message that comes from a backend (its errors, its unusable answers) before
   * it reaches the model, the logs or the audit: removes secrets a venue or proxy echoed. By default
   * the process's scrubber (`scrubSecrets`: every secret a config, an exchange backend or a provider
   * registered, plus credential-shaped values such as `Bearer …`).
   */
  redact: z.custom<(text: string) => string>((value) => typeof value === 'function', 'redact must be a function').optional(),
  /** The trading state the tools start in (`[trading] state`): ACTIVE (default), REDUCING or HALTED. */
  tradingState: tradingStateSchema.default('ACTIVE'),
  /**
   * Called synchronously after every change of the trading state (and once at creation when it
   * starts other than ACTIVE, source `config`): the program writes the audit's `state` record here.
   * A throw is logged, never propagated: it cannot undo or block a halt.
   */
  onTradingStateChange: z
    .custom<(change: TradingStateChange) => void>((value) => typeof value === 'function', 'onTradingStateChange must be a function')
    .optional(),
  /** HALTED automatically when the PnL breaker opens (needs a PnlCircuitBreaker gate or `risk.maxDailyLoss`). */
  haltOnPnlBreaker: z.boolean().default(false),
});

export type RiskOptions = z.input<typeof riskOptionsSchema>;
export type GateOptions = z.input<typeof gateOptionsSchema>;
export type TradingToolsOptions = z.input<typeof optionsSchema>;
export type ParsedToolsOptions = z.output<typeof optionsSchema>;
export type StateOption = z.input<typeof stateOptionSchema>;

