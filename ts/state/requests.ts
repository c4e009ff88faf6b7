// The trust boundary of every store: requests are checked here before any state is touched, so a
// bad field is a StateConfigError naming it and nothing is reserved, consumed or counted.
import { z } from 'zod';

import { describeZodError } from '../zod-issues';
import { StateConfigError } from './errors';
import type { BreakerConfig, CancelRequest, OrderProgress, PlaceRequest, ProposeRequest, SettleOutcome, TradingStateWrite } from './store';

const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const durationMs = z.number().int().positive().max(365 * 86_400_000);
/** Symbols and ids travel into keys and scripts: printable, bounded. */
const name = z.string().regex(/^[\x21-\x7e]{1,128}$/, 'expected 1-128 printable ASCII characters, no spaces');

const breakerSchema = z.strictObject({
  rejection: z.strictObject({ threshold: z.number().int().min(1).max(1_000_000), cooldownMs: z.number().int().nonnegative().max(365 * 86_400_000) }).optional(),
  pnlFloor: z.number().refine(Number.isFinite, 'expected a finite number').optional(),
});

/** The order-rate throttle, as `max_orders_per_second` / `max_orders_per_minute` (u32 in the chain, 0 refuses every order). */
const rateLimit = z.number().int().nonnegative().max(4_294_967_295);
const rateLimits = { maxOrdersPerSecond: rateLimit.optional(), maxOrdersPerMinute: rateLimit.optional() };

const placeLimits = z.strictObject({ maxOpenOrders: rateLimit.optional(), maxDailyOrders: count.optional(), maxPositionAbs: z.number().nonnegative().refine(Number.isFinite, 'expected a finite number').optional(), ...rateLimits });

/** The duplicate window of a new order: the chain's key (SHA-256 hex of its fields) and `duplicate_window_ms`. */
const duplicateSchema = z.strictObject({
  key: z.string().regex(/^[0-9a-f]{64}$/, 'expected the 64 hex digits of a SHA-256'),
  windowMs: z.number().int().nonnegative().max(365 * 86_400_000),
});

/** A new order's quantity is > 0; a replace's growth (no daily slot) may be 0. */
function growthMayBeZero(value: { quantity: number; dailySlot?: boolean | undefined }, context: z.RefinementCtx): void {
  if (value.quantity === 0 && value.dailySlot !== false) context.addIssue({ code: 'custom', path: ['quantity'], message: 'expected > 0 for an order that takes a daily slot' });
}

const placeSchema = z
  .strictObject({
    symbol: name,
    side: z.enum(['buy', 'sell']),
    quantity: z.number().nonnegative().max(Number.MAX_SAFE_INTEGER),
    limits: placeLimits,
    breaker: breakerSchema,
    token: z.strictObject({ redeem: name, fieldsHash: name }).optional(),
    leaseMs: durationMs.optional(),
    reservationId: name.optional(),
    dailySlot: z.boolean().optional(),
    duplicate: duplicateSchema.optional(),
  })
  .superRefine(growthMayBeZero);

const proposeSchema = z
  .strictObject({
    symbol: name,
    side: z.enum(['buy', 'sell']),
    quantity: z.number().nonnegative().max(Number.MAX_SAFE_INTEGER),
    limits: placeLimits,
    breaker: breakerSchema,
    fieldsHash: name,
    ttlMs: durationMs.optional(),
    maxPending: z.number().int().min(1).max(10_000_000).optional(),
    dailySlot: z.boolean().optional(),
    duplicate: duplicateSchema.optional(),
  })
  .superRefine(growthMayBeZero);

const cancelSchema = z.strictObject({ limits: z.strictObject({ maxDailyCancels: count.optional(), ...rateLimits }), leaseMs: durationMs.optional(), reservationId: name.optional() });

const outcomeSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('rejected') }),
  z.strictObject({ kind: z.literal('unknown') }),
  z.strictObject({ kind: z.literal('accepted'), orderId: name, filledQuantity: z.number().nonnegative().max(Number.MAX_SAFE_INTEGER), restingQuantity: z.number().nonnegative().max(Number.MAX_SAFE_INTEGER) }),
]);

const progressSchema = z.strictObject({
  orderId: name,
  filledQuantity: z.number().nonnegative().max(Number.MAX_SAFE_INTEGER),
  closed: z.boolean(),
  remaining: z.number().nonnegative().max(Number.MAX_SAFE_INTEGER).optional(),
});

const reservationSchema = z.strictObject({ id: name, kind: z.enum(['place', 'cancel']), day: count, leaseUntilMs: count });

const tradingStateWriteSchema = z.strictObject({
  state: z.enum(['ACTIVE', 'REDUCING', 'HALTED']),
  source: z.string().min(1).max(64),
  reason: z.string().max(500).optional(),
  timeMs: count,
});

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new StateConfigError(`risk state ${what}: ${describeZodError(result.error, '(request)')}`);
  return result.data;
}

export const checkPlace = (value: PlaceRequest): PlaceRequest => parse(placeSchema, value, 'reservePlace');
export const checkPropose = (value: ProposeRequest): ProposeRequest => parse(proposeSchema, value, 'proposePlace');
export const checkCancel = (value: CancelRequest): CancelRequest => parse(cancelSchema, value, 'reserveCancel');
export const checkOutcome = (value: SettleOutcome): SettleOutcome => parse(outcomeSchema, value, 'settle outcome');
export const checkReservation = (value: unknown): z.infer<typeof reservationSchema> => parse(reservationSchema, value, 'settle reservation');
export const checkProgress = (value: OrderProgress): z.infer<typeof progressSchema> => parse(progressSchema, value, 'orderProgress');
export const checkBreaker = (value: BreakerConfig): BreakerConfig => parse(breakerSchema, value, 'breaker');
export const checkTradingStateWrite = (value: TradingStateWrite): TradingStateWrite => parse(tradingStateWriteSchema, value, 'setTradingState');
export function checkPnl(value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new StateConfigError(`risk state recordDailyPnl: dailyPnl must be a finite number, got ${String(value)}`);
  return value;
}
