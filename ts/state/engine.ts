// The reference implementation of the store contract on a plain JSON state, used by the memory
// store (in process) and the file store (the same state, persisted after every change). The Lua
// script of the Redis store (redis-script.ts) follows this file step by step; the conformance suite
// runs the same scenarios on both so they cannot drift apart.
//
// Invariants: every function is one atomic step on `state` (the caller holds it exclusively);
// a refusal changes nothing but what the contract says it changes (a consumed token, the breaker's
// streak); numbers compare with the Rust guard's float tolerance (`exceeds`).
import type {
  BreakerConfig,
  CancelRequest,
  ExposureSnapshot,
  PlaceLimits,
  PlaceVerdict,
  ProposeVerdict,
  Refusal,
  Reservation,
  SettleOutcome,
  SettleResult,
  Side,
  StateSnapshot,
} from './store';
import { DEFAULT_LEASE_MS, DEFAULT_MAX_PENDING_TOKENS, DEFAULT_TOKEN_TTL_MS, utcDay } from './store';

export interface ReservationRecord {
  kind: 'place' | 'cancel';
  day: number;
  symbol?: string;
  side?: Side;
  quantity?: number;
  leaseUntilMs: number;
}

export interface EngineState {
  day: number;
  orders: number;
  cancels: number;
  breaker: { state: 'Closed' | 'Open' | 'HalfOpen'; streak: number; openUntilMs: number; openings: number };
  pnl: { day: number; value: number } | null;
  exposure: Record<string, ExposureSnapshot>;
  reservations: Record<string, ReservationRecord>;
  resting: Record<string, { symbol: string; side: Side; remaining: number }>;
  tokens: Record<string, { fieldsHash: string; expiresAtMs: number; ttlMs: number }>;
}

export function emptyState(day = 0): EngineState {
  return {
    day,
    orders: 0,
    cancels: 0,
    breaker: { state: 'Closed', streak: 0, openUntilMs: 0, openings: 0 },
    pnl: null,
    exposure: {},
    reservations: {},
    resting: {},
    tokens: {},
  };
}

/** `value` above `limit` by more than float noise; NaN counts as exceeding (as limits.rs). */
export function exceeds(value: number, limit: number): boolean {
  return !(value <= limit + Math.abs(limit) * 1e-9 + 1e-12);
}

/** Released sums never go negative through float drift. */
function clampSum(value: number): number {
  return value < 1e-12 ? 0 : value;
}

function refuse(reason: Refusal['reason'], numbers: Record<string, number> = {}): Refusal {
  return { ok: false, reason, numbers };
}

function rollDay(state: EngineState, now: number): void {
  const today = utcDay(now);
  if (today !== state.day) {
    state.day = today;
    state.orders = 0;
    state.cancels = 0;
  }
}

function exposureOf(state: EngineState, symbol: string): ExposureSnapshot {
  let entry = state.exposure[symbol];
  if (!entry) {
    entry = { position: 0, restingBuy: 0, restingSell: 0, inflightBuy: 0, inflightSell: 0 };
    state.exposure[symbol] = entry;
  }
  return entry;
}

function releaseInflight(state: EngineState, record: ReservationRecord): void {
  if (record.kind !== 'place' || record.symbol === undefined || record.quantity === undefined) return;
  const entry = exposureOf(state, record.symbol);
  if (record.side === 'buy') entry.inflightBuy = clampSum(entry.inflightBuy - record.quantity);
  else entry.inflightSell = clampSum(entry.inflightSell - record.quantity);
}

/** Ends every lease that has run out: its in-flight exposure is released, its daily slot stays. */
export function purgeLeases(state: EngineState, now: number): void {
  for (const [id, record] of Object.entries(state.reservations)) {
    if (now >= record.leaseUntilMs) {
      releaseInflight(state, record);
      Reflect.deleteProperty(state.reservations, id);
    }
  }
}

function breakerState(state: EngineState, now: number): EngineState['breaker']['state'] {
  const b = state.breaker;
  if (b.state === 'Open' && now >= b.openUntilMs) b.state = 'HalfOpen';
  return b.state;
}

function openBreaker(state: EngineState, now: number, cooldownMs: number): void {
  state.breaker.state = 'Open';
  state.breaker.openUntilMs = now + cooldownMs;
  state.breaker.openings += 1;
}

export function onRiskRejection(state: EngineState, now: number, breaker: BreakerConfig): void {
  const config = breaker.rejection;
  if (!config) return;
  const current = breakerState(state, now);
  if (current === 'Closed') {
    state.breaker.streak += 1;
    if (state.breaker.streak >= config.threshold) openBreaker(state, now, config.cooldownMs);
  } else if (current === 'HalfOpen') {
    state.breaker.streak += 1;
    openBreaker(state, now, config.cooldownMs);
  }
}

function dailyPnl(state: EngineState, now: number): number | undefined {
  return state.pnl && state.pnl.day === utcDay(now) ? state.pnl.value : undefined;
}

/** PnL breaker, then an Open rejection breaker (HalfOpen lets this call through as its trial). */
function precheck(state: EngineState, now: number, breaker: BreakerConfig): Refusal | undefined {
  if (breaker.pnlFloor !== undefined) {
    const pnl = dailyPnl(state, now);
    if (pnl !== undefined && pnl < breaker.pnlFloor) return refuse('PNL_BREAKER_OPEN', { dailyPnl: pnl, floor: breaker.pnlFloor });
  }
  if (breaker.rejection && breakerState(state, now) === 'Open') {
    return refuse('CIRCUIT_BREAKER_OPEN', { rejections: state.breaker.streak, cooldownRemainingMs: Math.max(0, state.breaker.openUntilMs - now) });
  }
  return undefined;
}

/** Position limit, then daily order limit; a refusal moves the breaker. */
function checkLimits(state: EngineState, now: number, symbol: string, side: Side, quantity: number, limits: PlaceLimits, breaker: BreakerConfig): Refusal | undefined {
  if (limits.maxPositionAbs !== undefined) {
    const e = exposureOf(state, symbol);
    const exposure = side === 'buy' ? e.position + e.restingBuy + e.inflightBuy : e.position - e.restingSell - e.inflightSell;
    const projected = exposure + (side === 'buy' ? quantity : -quantity);
    if (exceeds(Math.abs(projected), limits.maxPositionAbs)) {
      onRiskRejection(state, now, breaker);
      return refuse('MAX_POSITION_ABS', { projected, limit: limits.maxPositionAbs });
    }
  }
  if (limits.maxDailyOrders !== undefined && state.orders >= limits.maxDailyOrders) {
    onRiskRejection(state, now, breaker);
    return refuse('MAX_DAILY_ORDERS', { wouldBe: state.orders + 1, limit: limits.maxDailyOrders });
  }
  return undefined;
}

/** The call passed the chain: a HalfOpen breaker's one trial closes it; the streak clears. */
function onPass(state: EngineState, now: number, breaker: BreakerConfig): void {
  if (!breaker.rejection) return;
  const current = breakerState(state, now);
  if (current === 'Closed' || current === 'HalfOpen') {
    state.breaker.state = 'Closed';
    state.breaker.streak = 0;
  }
}

function redeemToken(state: EngineState, now: number, token: string, fieldsHash: string): Refusal | undefined {
  const entry = state.tokens[token];
  if (!entry) return refuse('CONFIRM_TOKEN_INVALID');
  Reflect.deleteProperty(state.tokens, token);
  if (now >= entry.expiresAtMs) return refuse('CONFIRM_TOKEN_EXPIRED', { expiredMsAgo: now - entry.expiresAtMs, ttlMs: entry.ttlMs });
  if (entry.fieldsHash !== fieldsHash) return refuse('CONFIRM_ARGS_MISMATCH');
  return undefined;
}

export interface EnginePlace {
  symbol: string;
  side: Side;
  quantity: number;
  limits: PlaceLimits;
  breaker: BreakerConfig;
  token?: { redeem: string; fieldsHash: string } | undefined;
  leaseMs?: number | undefined;
  reservationId: string;
}

export function reservePlace(state: EngineState, now: number, r: EnginePlace): PlaceVerdict {
  rollDay(state, now);
  purgeLeases(state, now);
  const existing = state.reservations[r.reservationId];
  if (existing) return { ok: true, reservation: { id: r.reservationId, kind: existing.kind, day: existing.day, leaseUntilMs: existing.leaseUntilMs } };
  if (r.token) {
    const refused = redeemToken(state, now, r.token.redeem, r.token.fieldsHash);
    if (refused) return refused;
  }
  const blocked = precheck(state, now, r.breaker) ?? checkLimits(state, now, r.symbol, r.side, r.quantity, r.limits, r.breaker);
  if (blocked) return blocked;
  onPass(state, now, r.breaker);
  state.orders += 1;
  const e = exposureOf(state, r.symbol);
  if (r.side === 'buy') e.inflightBuy += r.quantity;
  else e.inflightSell += r.quantity;
  const leaseUntilMs = now + (r.leaseMs ?? DEFAULT_LEASE_MS);
  state.reservations[r.reservationId] = { kind: 'place', day: state.day, symbol: r.symbol, side: r.side, quantity: r.quantity, leaseUntilMs };
  return { ok: true, reservation: { id: r.reservationId, kind: 'place', day: state.day, leaseUntilMs } };
}

export interface EnginePropose {
  symbol: string;
  side: Side;
  quantity: number;
  limits: PlaceLimits;
  breaker: BreakerConfig;
  fieldsHash: string;
  ttlMs?: number | undefined;
  maxPending?: number | undefined;
  token: string;
}

export function proposePlace(state: EngineState, now: number, r: EnginePropose): ProposeVerdict {
  rollDay(state, now);
  purgeLeases(state, now);
  const blocked = precheck(state, now, r.breaker) ?? checkLimits(state, now, r.symbol, r.side, r.quantity, r.limits, r.breaker);
  if (blocked) return blocked;
  onPass(state, now, r.breaker);
  const maxPending = r.maxPending ?? DEFAULT_MAX_PENDING_TOKENS;
  if (Object.keys(state.tokens).length >= maxPending) {
    for (const [token, entry] of Object.entries(state.tokens)) if (now >= entry.expiresAtMs) Reflect.deleteProperty(state.tokens, token);
    const pending = Object.keys(state.tokens).length;
    if (pending >= maxPending) return refuse('PENDING_CONFIRM_LIMIT', { pending });
  }
  const ttlMs = r.ttlMs ?? DEFAULT_TOKEN_TTL_MS;
  const expiresAtMs = now + ttlMs;
  state.tokens[r.token] = { fieldsHash: r.fieldsHash, expiresAtMs, ttlMs };
  return { ok: true, token: r.token, expiresAtMs };
}

export function reserveCancel(state: EngineState, now: number, r: CancelRequest & { reservationId: string }): PlaceVerdict {
  rollDay(state, now);
  purgeLeases(state, now);
  const existing = state.reservations[r.reservationId];
  if (existing) return { ok: true, reservation: { id: r.reservationId, kind: existing.kind, day: existing.day, leaseUntilMs: existing.leaseUntilMs } };
  const max = r.limits.maxDailyCancels;
  if (max !== undefined && state.cancels >= max) return refuse('MAX_DAILY_CANCELS', { wouldBe: state.cancels + 1, limit: max });
  state.cancels += 1;
  const leaseUntilMs = now + (r.leaseMs ?? DEFAULT_LEASE_MS);
  state.reservations[r.reservationId] = { kind: 'cancel', day: state.day, leaseUntilMs };
  return { ok: true, reservation: { id: r.reservationId, kind: 'cancel', day: state.day, leaseUntilMs } };
}

export function settle(state: EngineState, now: number, reservation: Reservation, outcome: SettleOutcome): SettleResult {
  rollDay(state, now);
  purgeLeases(state, now);
  const record = state.reservations[reservation.id];
  if (!record) return 'expired';
  if (outcome.kind === 'unknown') return 'settled';
  Reflect.deleteProperty(state.reservations, reservation.id);
  releaseInflight(state, record);
  if (outcome.kind === 'rejected') {
    if (record.day === state.day) {
      if (record.kind === 'place') state.orders = Math.max(0, state.orders - 1);
      else state.cancels = Math.max(0, state.cancels - 1);
    }
    return 'settled';
  }
  if (record.kind === 'place' && record.symbol !== undefined && record.side !== undefined) {
    const e = exposureOf(state, record.symbol);
    const sign = record.side === 'buy' ? 1 : -1;
    e.position += sign * outcome.filledQuantity;
    if (outcome.restingQuantity > 0) {
      if (record.side === 'buy') e.restingBuy += outcome.restingQuantity;
      else e.restingSell += outcome.restingQuantity;
      state.resting[outcome.orderId] = { symbol: record.symbol, side: record.side, remaining: outcome.restingQuantity };
    }
  }
  return 'settled';
}

export function orderProgress(state: EngineState, update: { orderId: string; filledQuantity: number; closed: boolean }): void {
  const order = state.resting[update.orderId];
  if (!order) return;
  const e = exposureOf(state, order.symbol);
  const filled = Math.min(update.filledQuantity, order.remaining);
  const sign = order.side === 'buy' ? 1 : -1;
  e.position += sign * filled;
  const released = update.closed ? order.remaining : filled;
  if (order.side === 'buy') e.restingBuy = clampSum(e.restingBuy - released);
  else e.restingSell = clampSum(e.restingSell - released);
  order.remaining = clampSum(order.remaining - released);
  if (update.closed || order.remaining === 0) Reflect.deleteProperty(state.resting, update.orderId);
}

export function recordDailyPnl(state: EngineState, now: number, value: number): void {
  state.pnl = { day: utcDay(now), value };
}

export function resetBreaker(state: EngineState): void {
  state.breaker.state = 'Closed';
  state.breaker.streak = 0;
}

export function resetDailyCounts(state: EngineState, now: number, day: number): void {
  rollDay(state, now);
  if (day === state.day) {
    state.orders = 0;
    state.cancels = 0;
  }
}

export function snapshot(state: EngineState, now: number): StateSnapshot {
  rollDay(state, now);
  purgeLeases(state, now);
  breakerState(state, now);
  return {
    day: state.day,
    dailyOrders: state.orders,
    dailyCancels: state.cancels,
    breaker: { ...state.breaker },
    dailyPnl: dailyPnl(state, now),
    exposure: structuredClone(state.exposure),
    reservations: Object.entries(state.reservations).map(([id, r]) => ({ id, kind: r.kind, leaseUntilMs: r.leaseUntilMs })),
    pendingTokens: Object.values(state.tokens).filter((t) => now < t.expiresAtMs).length,
  };
}
