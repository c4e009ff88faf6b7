// The seven LLM-facing trading tools (four order tools, three reads: see ./read-tools): their public shape (`Tool`, `TradingTools`, the typed
// `call` and its `ToolCallResult`) and `createTradingTools`. A call's work is in ./guarded-tools.
import type { ToolErrorJson } from './errors';
import { GuardedTools } from './guarded-tools';
import type { GuardState } from './native/index';
import type { ToolName } from './native/guard';
import {
  cancelOrderSchema,
  finishBarSchema,
  getBookSnapshotSchema,
  getPnlSchema,
  placeOrderSchema,
  queryPortfolioSchema,
  replaceOrderSchema,
  type JsonSchema,
} from './schemas';
import { optionsSchema, type TradingToolsOptions } from './tool-options';
import type { CancelOrderArgs, FinishBarArgs, GetBookSnapshotArgs, GetPnlArgs, PlaceOrderArgs, QueryPortfolioArgs, ReplaceOrderArgs } from './tool-types';
import type { TradingMetrics } from './metrics';
import type { CancelAllResult, StateChangeBy, TradingState } from './trading-state';
import type { SafetyModeName } from './types';
import { describeZodError } from './zod-issues';

export type { ToolName } from './native/guard';
export type { GateOptions, OpenedRiskState, RiskOptions, StateOption, TradingToolsOptions } from './tool-options';
export type { CancelAllResult, StateChangeBy, TradingState, TradingStateChange } from './trading-state';

/**
 * The outcome of a tool call as data: the agent-facing JSON (an OrderAck, or the portfolio for
 * `query_portfolio`) with the ack's status, or the refusal. `Tool.call` returns it; `Tool.execute`
 * turns a refusal into a rejected `ToolError` for models.
 */
export type ToolCallResult = { ok: true; ack: string; status?: string } | { ok: false; error: ToolErrorJson };

/** The arguments of each tool (SPEC §2; snake_case as the JSON Schemas name them). */
export interface ToolArgs {
  place_order: PlaceOrderArgs;
  cancel_order: CancelOrderArgs;
  replace_order: ReplaceOrderArgs;
  query_portfolio: QueryPortfolioArgs;
  get_book_snapshot: GetBookSnapshotArgs;
  get_pnl: GetPnlArgs;
  finish_bar: FinishBarArgs;
}

export interface Tool<N extends ToolName = ToolName> {
  readonly name: N;
  readonly description: string;
  /** JSON Schema (draft 2020-12) of the arguments. */
  readonly parameters: JsonSchema;
  /** Arguments as the LLM produced them (a JSON string). Resolves to a JSON string; rejects with `ToolError`. */
  execute(args: string): Promise<string>;
  /**
   * For code rather than models: typed arguments (or their JSON text), the outcome as data. A
   * refusal or a backend's failure resolves `{ ok: false, error }`; nothing rejects for them.
   */
  call(args: ToolArgs[N] | string): Promise<ToolCallResult>;
}

export interface TradingTools {
  readonly tools: readonly [
    Tool<'place_order'>,
    Tool<'cancel_order'>,
    Tool<'replace_order'>,
    Tool<'query_portfolio'>,
    Tool<'get_book_snapshot'>,
    Tool<'get_pnl'>,
    Tool<'finish_bar'>,
  ];
  readonly placeOrder: Tool<'place_order'>;
  readonly cancelOrder: Tool<'cancel_order'>;
  readonly replaceOrder: Tool<'replace_order'>;
  readonly queryPortfolio: Tool<'query_portfolio'>;
  readonly getBookSnapshot: Tool<'get_book_snapshot'>;
  readonly getPnl: Tool<'get_pnl'>;
  readonly finishBar: Tool<'finish_bar'>;
  readonly metrics: TradingMetrics;
  readonly mode: SafetyModeName;
  /**
   * Breaker states, daily counters, pending confirmations. With a shared risk state (redis) this
   * is this process's own view (its orders, its local breaker, unused outside DryRun); the
   * account's counts and breaker are in the store (`RedisStateStore.snapshot()`).
   */
  state(): GuardState;
  /**
   * Close every gate by hand (runbook §3.1: `gate.reset()`). With a shared risk state the shared
   * breaker closes for every replica: the promise resolves once the store has it (and rejects
   * with StateUnavailable when the store cannot answer); in memory mode it is already done.
   */
  resetGate(): Promise<void>;
  /**
   * ACTIVE (normal), REDUCING (only orders that reduce the position, and cancels) or HALTED
   * (cancels only). With a shared risk state (redis) the state is the account's: this process
   * adopts a change another replica wrote with the store's next answer (source `account`, logged
   * and handed to `onTradingStateChange` like any change), and before a place or replace while
   * it is not ACTIVE.
   */
  tradingState(): TradingState;
  /**
   * Change the trading state for every later call (in every safety mode); returns the previous
   * one. A change is logged (warn: from, to, source, reason), sets the `trading_state` gauge
   * (0 ACTIVE, 1 REDUCING, 2 HALTED) and is handed to `onTradingStateChange`. Throws a TypeError
   * naming the field on a bad state or `by`. With a shared risk state it is also written for the
   * account (every replica adopts it); this process's state changes at once either way, and
   * `flushTradingState()` says when the account has it.
   */
  setTradingState(state: TradingState, by: StateChangeBy): TradingState;
  /**
   * Shared risk state: resolves once the account's store has this process's last trading state
   * change; rejects with StateUnavailable when the store cannot take it (logged, counted in
   * trading_state_store_errors_total{op="trading_set"}; this process keeps the state it was given
   * and sends it again before its next store call). Resolves at once without a shared store.
   */
  flushTradingState(): Promise<void>;
  /**
   * The kill switch: HALTED at once, then every open order of the account (as the backend lists
   * it) cancelled on the backend, bypassing gates, daily cancel limits and the order-rate throttle
   * so that it works when those are exhausted. An operator's action, not the agent's: it cancels
   * at the venue in every safety mode, DryRun included. Resolves what was cancelled and what failed (a
   * failed cancel is reported, not thrown); rejects only when the open orders cannot be listed
   * (still HALTED). A call while one runs joins it. With a shared risk state the HALTED is the
   * account's (every replica stops placing), as `setTradingState` writes it; the result's
   * `accountHalted` says whether the store has it.
   */
  cancelAll(by: StateChangeBy): Promise<CancelAllResult>;
  /** Move the manual clock (only with `clockStartMs`). */
  setClockMs(ms: number): void;
  /** Stop listening to the backend's push feed and free the native guard; the tools are unusable afterwards. */
  close(): void;
}

const DESCRIPTIONS: Record<ToolName, string> = {
  place_order:
    'Place an order. Every call passes a risk chain (safety mode, limits, circuit breakers); a refusal comes back as a ToolError JSON with a code. In TwoPhase mode the first call returns PendingConfirm and a confirm_token; call again with the same fields plus confirm_token to place it.',
  cancel_order: 'Cancel an open order by order_id.',
  replace_order: 'Change the price and/or quantity of an open order. Passes the same risk chain as place_order.',
  query_portfolio: 'Balances, positions and open orders, optionally for one symbol.',
  get_book_snapshot: "The venue's order book for a symbol: up to `levels` (1-50, default 10) price levels per side, best first, with the time it was taken.",
  get_pnl:
    'Open positions with entry price, mark price, unrealized PnL (absolute and percent of entry), their total, and PnL realized today (UTC); optionally for one symbol. null where the venue does not know a value.',
  finish_bar:
    'End your turn for this bar (or live cycle): no further tool calls are run until the next observation. Optional note (why), kept in the audit trail. Returns a short summary of the guard state.',
};

const SCHEMAS: Record<ToolName, JsonSchema> = {
  place_order: placeOrderSchema,
  cancel_order: cancelOrderSchema,
  replace_order: replaceOrderSchema,
  query_portfolio: queryPortfolioSchema,
  get_book_snapshot: getBookSnapshotSchema,
  get_pnl: getPnlSchema,
  finish_bar: finishBarSchema,
};

/** Build the seven guarded tools over a backend. Throws `TypeError` naming the key on bad options. */
export function createTradingTools(options: TradingToolsOptions): TradingTools {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) throw new TypeError(`axon-llm: invalid trading tools options: ${describeZodError(parsed.error, '(options)')}`);
  const guarded = new GuardedTools(parsed.data);
  const make = <N extends ToolName>(name: N): Tool<N> => ({
    name,
    description: DESCRIPTIONS[name],
    parameters: SCHEMAS[name],
    execute: (args: string) => guarded.execute(name, args),
    call: (args: ToolArgs[N] | string) => guarded.call(name, args),
  });
  const placeOrder = make('place_order');
  const cancelOrder = make('cancel_order');
  const replaceOrder = make('replace_order');
  const queryPortfolio = make('query_portfolio');
  const getBookSnapshot = make('get_book_snapshot');
  const getPnl = make('get_pnl');
  const finishBar = make('finish_bar');
  return {
    tools: [placeOrder, cancelOrder, replaceOrder, queryPortfolio, getBookSnapshot, getPnl, finishBar],
    placeOrder,
    cancelOrder,
    replaceOrder,
    queryPortfolio,
    getBookSnapshot,
    getPnl,
    finishBar,
    metrics: guarded.metrics,
    mode: guarded.mode,
    state: () => guarded.state(),
    resetGate: () => guarded.resetGate(),
    tradingState: () => guarded.tradingState(),
    setTradingState: (state: TradingState, by: StateChangeBy) => guarded.setTradingState(state, by),
    flushTradingState: () => guarded.flushTradingState(),
    cancelAll: (by: StateChangeBy) => guarded.cancelAll(by),
    setClockMs: (ms: number) => {
      guarded.setClockMs(ms);
    },
    close: () => {
      guarded.close();
    },
  };
}
