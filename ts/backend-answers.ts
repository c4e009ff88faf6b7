// Everything a backend hands the tools is untrusted (a venue adapter, a user's own backend): push
// events, acks and getter results are parsed here before the guard sees them. A value that does not
// parse is a `BackendError` naming the field, never a TypeError deep inside the tools.
import { z } from 'zod';

import { BackendError } from './errors';
import type { BackendEvent, OpenOrder, OrderAck, OrderBook, OrderBookLevel, PnlReport, Portfolio, Position } from './types';
import { describeZodError } from './zod-issues';

const side = z.enum(['Buy', 'Sell']);

// Acks and events are on every order's path: a plainly valid value is accepted by the checks below
// (each accepts only what its zod schema accepts: finite numbers, non-empty ids, known enums) and
// used as it is; anything else goes through zod, which rejects it or copies what it accepts.
const isFinite = Number.isFinite as (value: unknown) => value is number;
const isId = (value: unknown): value is string => typeof value === 'string' && value.length > 0;
const isSide = (value: unknown): boolean => value === 'Buy' || value === 'Sell';
const isOptionalFinite = (value: unknown): boolean => value === undefined || isFinite(value);

function plainlyValidEvent(value: unknown): value is BackendEvent {
  if (typeof value !== 'object' || value === null) return false;
  const e = value as Record<string, unknown>;
  switch (e.type) {
    case 'market':
      return isId(e.symbol) && (e.referencePrice === null || isFinite(e.referencePrice)) && isFinite(e.position) && isFinite(e.openBuyQuantity) && isFinite(e.openSellQuantity);
    case 'order':
      return isId(e.orderId) && isId(e.symbol) && isSide(e.side) && isFinite(e.price) && isFinite(e.remaining) && (e.clientOrderId === undefined || typeof e.clientOrderId === 'string');
    case 'pnl':
      return isFinite(e.dailyPnl);
    default:
      return false;
  }
}

function plainlyValidAck(value: unknown): value is OrderAck {
  if (typeof value !== 'object' || value === null) return false;
  const a = value as Record<string, unknown>;
  return (
    isId(a.orderId) &&
    isId(a.symbol) &&
    isSide(a.side) &&
    isFinite(a.quantity) &&
    typeof a.status === 'string' &&
    (ACK_STATUSES as readonly string[]).includes(a.status) &&
    isFinite(a.timestampMs) &&
    isOptionalFinite(a.filledQuantity) &&
    isOptionalFinite(a.averagePrice)
  );
}
const symbol = z.string().min(1);

const backendEventSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('market'),
    symbol,
    referencePrice: z.number().nullable(),
    position: z.number(),
    openBuyQuantity: z.number(),
    openSellQuantity: z.number(),
  }),
  z.object({
    type: z.literal('order'),
    orderId: z.string().min(1),
    symbol,
    side,
    price: z.number(),
    remaining: z.number(),
    clientOrderId: z.string().optional(),
  }),
  z.object({ type: z.literal('pnl'), dailyPnl: z.number() }),
]);

/** Every status an ack may carry, `Rejected` included (a definite refusal by the venue). */
export const ACK_STATUSES = ['New', 'PartiallyFilled', 'Filled', 'Cancelled', 'Replaced', 'Rejected'] as const;

const orderAckSchema = z.object({
  orderId: z.string().min(1),
  symbol,
  side,
  quantity: z.number(),
  status: z.enum(ACK_STATUSES),
  timestampMs: z.number(),
  filledQuantity: z.number().optional(),
  averagePrice: z.number().optional(),
});

const openOrderSchema = z.object({
  orderId: z.string().min(1),
  clientOrderId: z.string().optional(),
  symbol,
  side,
  price: z.number(),
  quantity: z.number(),
  remaining: z.number(),
});
const openOrdersSchema = z.array(openOrderSchema);

const positionSchema = z.object({ symbol, quantity: z.number(), averagePrice: z.number() });
const positionsSchema = z.array(positionSchema);
const portfolioSchema = z.object({
  balances: z.array(z.object({ asset: z.string(), free: z.number(), locked: z.number() })),
  positions: positionsSchema,
});
const referencePriceSchema = z.number().nullable();

/** A push event, or the reason it is unusable (`key: problem`; `(event)` names the whole value). */
export function parseBackendEvent(value: unknown): { ok: true; event: BackendEvent } | { ok: false; what: string; reason: string; symbol: string | undefined } {
  if (plainlyValidEvent(value)) return { ok: true, event: value };
  const parsed = backendEventSchema.safeParse(value);
  if (parsed.success) return { ok: true, event: parsed.data };
  // An event for a real symbol whose other fields are bad still names the symbol to distrust.
  const claimed = typeof value === 'object' && value !== null ? (value as { type?: unknown; symbol?: unknown }) : {};
  const what = claimed.type === 'market' || claimed.type === 'order' || claimed.type === 'pnl' ? `${claimed.type} event` : 'event';
  return { ok: false, what, reason: describeZodError(parsed.error, '(event)'), symbol: typeof claimed.symbol === 'string' ? claimed.symbol : undefined };
}

function parseAnswer<T>(schema: z.ZodType<T>, value: unknown, what: string, backend: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new BackendError('other', `${backend} answered ${what} unusably: ${describeZodError(parsed.error, `(${what})`)}`);
}

/** The ack of an order call; throws a `BackendError` ('other': the outcome is unknown) otherwise. */
export function parseOrderAck(value: unknown, backend: string): OrderAck {
  if (plainlyValidAck(value)) return value;
  const parsed = orderAckSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const claimed = value as { orderId?: unknown; status?: unknown } | null;
  if (typeof claimed?.orderId === 'string' && parsed.error.issues.every((issue) => issue.path[0] === 'status')) {
    throw new BackendError('other', `${backend} acknowledged order ${claimed.orderId} with an unknown status ${JSON.stringify(claimed.status)}`);
  }
  throw new BackendError('other', `${backend} answered the order call unusably: ${describeZodError(parsed.error, '(the order call)')}`);
}

export function parseOpenOrders(value: unknown, backend: string): OpenOrder[] {
  return parseAnswer(openOrdersSchema, value, 'getOpenOrders', backend);
}

export function parsePositions(value: unknown, backend: string): Position[] {
  return parseAnswer(positionsSchema, value, 'getPositions', backend);
}

export function parsePortfolio(value: unknown, backend: string): Portfolio {
  return parseAnswer(portfolioSchema, value, 'getPortfolio', backend);
}

export function parseReferencePrice(value: unknown, backend: string): number | null {
  return parseAnswer(referencePriceSchema, value, 'getReferencePrice', backend);
}

const bookLevelSchema = z.object({ price: z.number().positive(), quantity: z.number().nonnegative() });
const orderBookSchema = z.object({
  symbol,
  bids: z.array(bookLevelSchema),
  asks: z.array(bookLevelSchema),
  timestampMs: z.number().int().nonnegative(),
});
const pnlReportSchema = z.object({
  positions: z.array(
    z.object({
      symbol,
      quantity: z.number(),
      entryPrice: z.number().nonnegative().nullable(),
      markPrice: z.number().positive().nullable(),
    }),
  ),
  realizedPnlToday: z.record(z.string(), z.number()).nullable(),
  timestampMs: z.number().int().nonnegative(),
});

/** Index of the first level whose price is not strictly beyond the one before it; -1 when none. */
function firstOutOfOrder(levels: readonly OrderBookLevel[], falling: boolean): number {
  for (let i = 1; i < levels.length; i++) {
    const previous = (levels[i - 1] as OrderBookLevel).price;
    const price = (levels[i] as OrderBookLevel).price;
    if (falling ? price >= previous : price <= previous) return i;
  }
  return -1;
}

/**
 * A book as `getOrderBook` answered it: finite positive prices, non-negative quantities, each side
 * best first (bids falling, asks rising); anything else is a `BackendError` naming what is wrong.
 */
export function parseOrderBook(value: unknown, backend: string, expectedSymbol: string): OrderBook {
  const book = parseAnswer(orderBookSchema, value, 'getOrderBook', backend);
  if (book.symbol !== expectedSymbol) throw new BackendError('other', `${backend} answered getOrderBook for ${book.symbol}, not ${expectedSymbol}`);
  const badBid = firstOutOfOrder(book.bids, true);
  if (badBid > 0) throw new BackendError('other', `${backend} answered getOrderBook unusably: bids[${badBid}] is not below bids[${badBid - 1}] (bids must be best first)`);
  const badAsk = firstOutOfOrder(book.asks, false);
  if (badAsk > 0) throw new BackendError('other', `${backend} answered getOrderBook unusably: asks[${badAsk}] is not above asks[${badAsk - 1}] (asks must be best first)`);
  return book;
}

export function parsePnlReport(value: unknown, backend: string): PnlReport {
  return parseAnswer(pnlReportSchema, value, 'getPnl', backend);
}
