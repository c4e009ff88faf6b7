// The risk-state store contract (issue 15): the shared half of the risk chain's decision.
//
// The Rust core keeps deciding everything that needs no shared state (arguments, mode, allowed
// symbols, notional) in its one native call; DryRun and refusals on those static limits make no
// round trip. What needs state shared by every replica of one account is asked of a store in ONE
// request per decision and answered by ONE verdict, computed atomically (one Lua script call on
// Redis; one synchronous step in the memory and file stores). The verdict carries a code and
// numbers only: the message TEXT stays with the Rust chain, which already words every refusal.
//
// Order of the checks inside `reservePlace` (today's guard order, crates/axon-risk/src/guard.rs):
//   leases purged -> confirm token redeemed (consumed whatever the verdict) -> PnL breaker ->
//   rejection breaker (Open blocks) -> position limit -> daily order limit -> open orders -> duplicate window ->
//   order-rate throttle (the account's windows) -> breaker passes
//   (a HalfOpen breaker closes: its one trial is this call) -> daily slot and in-flight exposure
//   reserved under a lease.
// A MAX_POSITION_ABS, MAX_DAILY_ORDERS, MAX_OPEN_ORDERS, DUPLICATE_ORDER or RATE_LIMITED refusal of a place or propose moves the rejection breaker's streak in the same
// step; token and breaker refusals do not (only RiskLimits refusals count, as today).
//
// Invariants every implementation keeps (the conformance suite runs the same scenarios on all):
// - Daily orders and cancels count per UTC day of the store's clock; a slot is taken before the
//   order is sent, given back only by `settle(..., { kind: 'rejected' })` on the day it was taken,
//   kept on an unknown outcome (the order may exist) and kept when the lease ends.
// - Exposure per symbol and side = position + resting + in flight; |projected| <= maxPositionAbs.
// - A reservation's in-flight exposure counts until it is settled or its lease ends (default
//   2 x the backend timeout, 20 s); a replica that died mid-call therefore blocks that exposure for
//   at most one lease (fail closed), and its daily slot stays counted for the day.
// - A confirm token is redeemed at most once across all replicas, bound to its fields hash.
// - Every failure to reach or understand the store is a `StateUnavailable` (never a grant).

/** Milliseconds in a UTC day; days are counted since the Unix epoch, like the Rust guard. */
export const DAY_MS = 86_400_000;
/** Default lease of a reservation: twice the default backend timeout (10 s) of `createTradingTools`. */
export const DEFAULT_LEASE_MS = 20_000;
/** Default TwoPhase token lifetime and bound, as in crates/axon-risk/src/tokens.rs. */
export const DEFAULT_TOKEN_TTL_MS = 300_000;
export const DEFAULT_MAX_PENDING_TOKENS = 10_000;

export type Side = 'buy' | 'sell';

export function utcDay(nowMs: number): number {
  return Math.floor(nowMs / DAY_MS);
}

/** The shared gates of one account; absent parts are not configured. */
export interface BreakerConfig {
  /** RejectionCircuitBreaker: Closed -> Open after `threshold` consecutive risk rejections. */
  rejection?: { threshold: number; cooldownMs: number };
  /** PnlCircuitBreaker: open while today's (UTC) PnL is below the floor. */
  pnlFloor?: number;
}

/**
 * The order-rate throttle (issue 16, `max_orders_per_second` / `max_orders_per_minute`): one
 * sliding window per account over the sends of every replica (places, replaces, cancels). A grant
 * counts one send (a retried reservation id is not counted again); a proposal is checked and takes
 * nothing. Refused with RATE_LIMITED (wouldBe, windowMs 1000 | 60000, limit), the minute first.
 */
export interface RateLimits {
  maxOrdersPerSecond?: number;
  maxOrdersPerMinute?: number;
}

/**
 * The duplicate window (issue 16, `duplicate_window_ms`) of a new order, held for the account: the
 * same order (`key`, the chain's SHA-256 of symbol, side, type, price and quantity) granted less
 * than `windowMs` ago is refused DUPLICATE_ORDER (ageMs, windowMs). A grant records it (a retried
 * reservation id returns its grant before the window is looked at); a definite rejection forgets
 * it; an unknown outcome keeps it. A proposal is checked and records nothing.
 */
export interface DuplicateWindow {
  key: string;
  windowMs: number;
}

export interface PlaceLimits extends RateLimits {
  /**
   * `max_open_orders` of the order's symbol, for the account: resting orders (as the tools saw them
   * placed and closed) + live new-order reservations (in flight or of unknown outcome until the
   * lease ends). A new order only (a replace's growth, `dailySlot: false`, is not checked).
   * MAX_OPEN_ORDERS (wouldBe, limit, resting, inflight, uncertain = 0).
   */
  maxOpenOrders?: number;
  maxDailyOrders?: number;
  maxPositionAbs?: number;
}

export interface PlaceRequest {
  symbol: string;
  side: Side;
  /** Order quantity, > 0; the exposure moves by +quantity (buy) or -quantity (sell). */
  quantity: number;
  limits: PlaceLimits;
  breaker: BreakerConfig;
  /** TwoPhase confirm: the token, redeemed once, and the hash of the order fields it must be bound to. */
  token?: { redeem: string; fieldsHash: string };
  /** Lease of this reservation (default DEFAULT_LEASE_MS). */
  leaseMs?: number;
  /**
   * Caller-chosen id (a UUID by default). A second request with the id of a live reservation
   * returns it again instead of reserving twice, so a retried request never counts twice.
   */
  reservationId?: string;
  /**
   * Whether the order takes a daily order slot (default true). A replace's growth does not: it
   * reserves exposure only, skips the daily limit, and may be 0 (then only the gates and the
   * position as it stands are checked).
   */
  dailySlot?: boolean;
  /** A new order under the duplicate window (a replace is not a new order: none). */
  duplicate?: DuplicateWindow;
}

export interface ProposeRequest {
  symbol: string;
  side: Side;
  quantity: number;
  limits: PlaceLimits;
  breaker: BreakerConfig;
  /** Hash of the exact order fields; the confirm must present the same. */
  fieldsHash: string;
  ttlMs?: number;
  maxPending?: number;
  /** As in PlaceRequest: a replace's proposal is checked without the daily order limit. */
  dailySlot?: boolean;
  /** As in PlaceRequest: checked, nothing recorded. */
  duplicate?: DuplicateWindow;
}

/**
 * A resting order filled (`filledQuantity` more) and/or closed. A venue push that names only what
 * still rests gives `remaining` instead: what left the order since is counted as filled.
 */
export interface OrderProgress {
  orderId: string;
  filledQuantity: number;
  closed: boolean;
  remaining?: number;
}

export interface CancelRequest {
  limits: { maxDailyCancels?: number } & RateLimits;
  leaseMs?: number;
  reservationId?: string;
}

export type RefusalCode =
  | 'MAX_DAILY_ORDERS'
  | 'MAX_DAILY_CANCELS'
  | 'MAX_POSITION_ABS'
  | 'CIRCUIT_BREAKER_OPEN'
  | 'PNL_BREAKER_OPEN'
  | 'CONFIRM_TOKEN_INVALID'
  | 'CONFIRM_TOKEN_EXPIRED'
  | 'CONFIRM_ARGS_MISMATCH'
  | 'PENDING_CONFIRM_LIMIT'
  | 'RATE_LIMITED'
  | 'DUPLICATE_ORDER'
  | 'MAX_OPEN_ORDERS'
  /** The account is HALTED (refused before any check: nothing redeemed, reserved or counted). */
  | 'TRADING_HALTED';

export const REFUSAL_CODES: readonly RefusalCode[] = [
  'MAX_DAILY_ORDERS',
  'MAX_DAILY_CANCELS',
  'MAX_POSITION_ABS',
  'CIRCUIT_BREAKER_OPEN',
  'PNL_BREAKER_OPEN',
  'CONFIRM_TOKEN_INVALID',
  'CONFIRM_TOKEN_EXPIRED',
  'CONFIRM_ARGS_MISMATCH',
  'PENDING_CONFIRM_LIMIT',
  'RATE_LIMITED',
  'DUPLICATE_ORDER',
  'MAX_OPEN_ORDERS',
  'TRADING_HALTED',
];

/**
 * The numbers the Rust chain words its refusal with:
 * MAX_DAILY_ORDERS / MAX_DAILY_CANCELS: wouldBe, limit; MAX_POSITION_ABS: projected, limit;
 * CIRCUIT_BREAKER_OPEN: rejections, cooldownRemainingMs; PNL_BREAKER_OPEN: dailyPnl, floor;
 * CONFIRM_TOKEN_EXPIRED: expiredMsAgo, ttlMs; PENDING_CONFIRM_LIMIT: pending;
 * RATE_LIMITED: wouldBe, windowMs (1000 or 60000), limit; DUPLICATE_ORDER: ageMs, windowMs (the
 * order's own fields word the rest); MAX_OPEN_ORDERS: wouldBe, limit, resting, inflight, uncertain.
 */
export interface Refusal {
  ok: false;
  reason: RefusalCode;
  numbers: Record<string, number>;
  /** The account's trading state, once any replica has set one (see AccountTradingState). */
  tradingState?: AccountTradingState;
}

/** The account's trading states (issue 16), as ts/trading-state.ts names them. */
export type AccountState = 'ACTIVE' | 'REDUCING' | 'HALTED';

/**
 * The account's trading state as the store keeps it: the last change any replica wrote, with who
 * made it and why. Every verdict of reservePlace / proposePlace / reserveCancel carries it once the
 * account has one (absent: no replica ever set it; each replica keeps its configured state).
 */
export interface AccountTradingState {
  state: AccountState;
  from: AccountState;
  source: string;
  reason?: string;
  /** Unix ms of the change (the writing replica's system clock). */
  timeMs: number;
  /** Write counter of the account's state: a larger one is a later change. */
  seq: number;
}

/** What `settle` needs to find the reservation again (returned by a grant). */
export interface Reservation {
  id: string;
  kind: 'place' | 'cancel';
  /** UTC day the daily slot was taken on. */
  day: number;
  /** Lease end (store clock, Unix ms). */
  leaseUntilMs: number;
}

export type PlaceVerdict = { ok: true; reservation: Reservation; tradingState?: AccountTradingState } | Refusal;
export type ProposeVerdict = { ok: true; token: string; expiresAtMs: number; tradingState?: AccountTradingState } | Refusal;

/** A change of the account's trading state, as `setTradingState` writes it. */
export interface TradingStateWrite {
  state: AccountState;
  source: string;
  reason?: string;
  timeMs: number;
}

export type SettleOutcome =
  /** A definite backend rejection: the slot and the exposure are given back. */
  | { kind: 'rejected' }
  /** Timeout or network error: the order may exist; slot kept, exposure kept until the lease ends. */
  | { kind: 'unknown' }
  /**
   * The venue took the order: the in-flight exposure moves to the position (filled part) and to
   * resting under `orderId` (`restingQuantity`, the rest is gone: IOC remainder, rejection of the rest).
   */
  | { kind: 'accepted'; orderId: string; filledQuantity: number; restingQuantity: number };

/** `settled`: applied. `expired`: the lease had ended (exposure already released; the slot stays counted). */
export type SettleResult = 'settled' | 'expired';

export interface ExposureSnapshot {
  position: number;
  restingBuy: number;
  restingSell: number;
  inflightBuy: number;
  inflightSell: number;
}

export interface StateSnapshot {
  day: number;
  dailyOrders: number;
  dailyCancels: number;
  breaker: { state: 'Closed' | 'Open' | 'HalfOpen'; streak: number; openUntilMs: number; openings: number };
  dailyPnl: number | undefined;
  exposure: Record<string, ExposureSnapshot>;
  /** Live reservations (not settled, lease not ended). */
  reservations: { id: string; kind: 'place' | 'cancel'; leaseUntilMs: number }[];
  pendingTokens: number;
}

export interface RiskStateStore {
  readonly kind: 'memory' | 'file' | 'redis';
  reservePlace(request: PlaceRequest): Promise<PlaceVerdict>;
  /** TwoPhase first phase: the same checks as `reservePlace` (breaker moves alike), then a token instead of a reservation. */
  proposePlace(request: ProposeRequest): Promise<ProposeVerdict>;
  reserveCancel(request: CancelRequest): Promise<PlaceVerdict>;
  settle(reservation: Reservation, outcome: SettleOutcome): Promise<SettleResult>;
  /** A resting order filled (`filledQuantity` more) and/or closed (its remaining resting exposure is dropped). */
  orderProgress(update: OrderProgress): Promise<void>;
  /** A RiskLimits refusal decided without the store (notional, symbol): moves the shared streak. */
  recordRiskRejection(breaker: BreakerConfig): Promise<void>;
  /** Today's realized + unrealized PnL as reported by the backend (PnL breaker). */
  recordDailyPnl(dailyPnl: number): Promise<void>;
  /** `tools.resetGate()` for every replica at once: the rejection breaker back to Closed, streak 0. */
  resetBreaker(): Promise<void>;
  /** The runbook's reset of a day's counters (today by default): orders and cancels back to 0. */
  resetDailyCounts(day?: number): Promise<void>;
  snapshot(): Promise<StateSnapshot>;
  /**
   * Write the account's trading state (one atomic step: the previous state becomes `from`, `seq`
   * grows by one); every replica's next verdict carries it. Returns the record as stored.
   */
  setTradingState(change: TradingStateWrite): Promise<AccountTradingState>;
  /** The account's trading state, or undefined when no replica ever set one. */
  tradingState(): Promise<AccountTradingState | undefined>;
  /** Round trip to the store (self-check); throws StateUnavailable when it cannot answer. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
