// OmsTradingBackend: the axon-oms service over HTTP (SPEC §6; API in crates/axon-oms/README.md).
//
// - Every request has its own timeout (`AbortSignal.timeout`). Network errors, timeouts and 5xx
//   answers (503 BUSY included) are retried with exponential backoff, at most `retries` more times.
// - Retries never duplicate an order: a place carries `Idempotency-Key` = the request's client
//   order id, a replace a key made once per call, so a retry of a request the OMS already applied
//   returns the same order. A retried cancel that finds the order already cancelled (the first
//   attempt went through, its answer was lost) re-reads the order and reports it cancelled.
// - 4xx answers are refusals: not retried, kind `rejected` (`symbol_not_found` when the OMS refuses
//   the symbol; a route the OMS does not know is `other`: the URL is probably not an axon-oms).
//   The OMS keeps no funds, so `insufficient_funds` never occurs here.
// - `replaceOrder` is the OMS's atomic replace: the old order is cancelled and a new one (new id,
//   status `Replaced` in the ack) is created in one journal record.
// - The OMS records what a venue connector reports; it knows no market data. The reference price
//   is the OMS mark of the symbol, else its last fill price, else null (Market orders are then
//   refused by the guard: fail closed).
// - Balances: the OMS tracks net cash flow in the quote currency (starts at 0, may be negative),
//   reported as one balance of `quoteAsset`. `stopLoss`, `takeProfit` and `timeInForce` are not
//   sent: the OMS has no such fields.
// - Response bodies are validated; a body that does not match is kind `other`.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

import { z } from 'zod';

import { BackendError } from '../../errors';
import { describeZodError } from '../../zod-issues';
import type { AckStatus, Balance, ErrorKind, OpenOrder, OrderAck, OrderRequest, PnlReport, Portfolio, Position, ReplaceRequest, TradingBackend } from '../../types';

export const DEFAULT_OMS_URL = 'http://127.0.0.1:8080';

const optionsSchema = z.strictObject({
  /** Root of the axon-oms HTTP API. */
  baseUrl: z.url().default(DEFAULT_OMS_URL),
  /** Timeout of each HTTP request (each attempt), ms. */
  timeoutMs: z.number().int().positive().default(5_000),
  /** Extra attempts after a network error, timeout or 5xx. */
  retries: z.number().int().nonnegative().max(10).default(2),
  /** Wait before the first retry, doubled for each further one, ms. */
  retryBackoffMs: z.number().int().nonnegative().default(100),
  /** Asset the OMS cash is reported as. */
  quoteAsset: z.string().min(1).default('USDT'),
});

export type OmsBackendOptions = z.input<typeof optionsSchema>;

const omsOrderSchema = z.object({
  id: z.string().min(1),
  symbol: z.string().min(1),
  side: z.enum(['Buy', 'Sell']),
  quantity: z.number().positive(),
  order_type: z.enum(['Limit', 'Market']),
  price: z.number().positive().nullable(),
  client_order_id: z.string(),
  status: z.enum(['new', 'submitted', 'acknowledged', 'partially_filled', 'filled', 'cancelled', 'rejected']),
  filled_quantity: z.number().nonnegative(),
  avg_fill_price: z.number().nonnegative(),
  updated_at_ms: z.number().int().nonnegative(),
});
type OmsOrder = z.output<typeof omsOrderSchema>;

const ordersSchema = z.object({ orders: z.array(omsOrderSchema) });
const portfolioSchema = z.object({
  cash: z.number(),
  positions: z.array(z.object({ symbol: z.string().min(1), quantity: z.number(), avg_entry_price: z.number().nonnegative() })),
});
const markSchema = z.object({ symbol: z.string(), price: z.number().positive().nullable() });
const healthSchema = z.object({ status: z.literal('ok') });
const errorBodySchema = z.object({ error: z.object({ code: z.string(), field: z.string().optional(), message: z.string() }) });

const ACK_STATUS: Record<OmsOrder['status'], AckStatus> = {
  new: 'New',
  submitted: 'New',
  acknowledged: 'New',
  partially_filled: 'PartiallyFilled',
  filled: 'Filled',
  cancelled: 'Cancelled',
  rejected: 'Rejected',
};

/** The OMS could not be reached or did not answer (kind `network` or `timeout`). */
export class OmsUnreachableError extends BackendError {
  /** e.g. `connection refused`, `no answer within 5000 ms`, `503 BUSY`. */
  readonly reason: string;
  readonly url: string;

  constructor(kind: 'network' | 'timeout', url: string, reason: string, route: string, attempts: number) {
    super(kind, `axon-oms not reachable at ${url} (${reason}) on ${route}${attempts > 1 ? ` after ${attempts} attempts` : ''}`);
    this.name = 'OmsUnreachableError';
    this.reason = reason;
    this.url = url;
  }
}

/** The OMS answered with a 4xx: it refused the request, nothing changed. */
class OmsRefusal extends BackendError {
  constructor(
    kind: ErrorKind,
    message: string,
    readonly code: string,
    /** An earlier attempt of the same request failed without an answer (it may have been applied). */
    readonly afterRetry: boolean,
  ) {
    super(kind, message);
  }
}

interface Call {
  method: 'GET' | 'POST';
  path: string;
  body?: Record<string, unknown>;
  idempotencyKey?: string;
}

const CONNECTION_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  UND_ERR_SOCKET: 'connection closed by the service',
  EHOSTUNREACH: 'host unreachable',
  ENOTFOUND: 'host not found',
};

/** undici puts the socket error in `cause` (an AggregateError when several addresses were tried). */
function connectionReason(error: unknown): string {
  const cause = error instanceof Error ? (error.cause as { code?: unknown; errors?: Array<{ code?: unknown }>; message?: unknown } | undefined) : undefined;
  const code = cause?.code ?? cause?.errors?.[0]?.code;
  if (typeof code === 'string') return CONNECTION_ERRORS[code] ?? code;
  return typeof cause?.message === 'string' && cause.message !== '' ? cause.message : String(error);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export class OmsTradingBackend implements TradingBackend {
  readonly name = 'oms' as const;
  /** The OMS root URL, without a trailing slash. */
  readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly retryBackoffMs: number;
  private readonly quoteAsset: string;

  constructor(options: OmsBackendOptions = {}) {
    const parsed = optionsSchema.safeParse(options);
    if (!parsed.success) {
      throw new TypeError(`axon-llm: invalid oms backend options: ${describeZodError(parsed.error, '(options)')}`);
    }
    const o = parsed.data;
    this.baseUrl = o.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = o.timeoutMs;
    this.retries = o.retries;
    this.retryBackoffMs = o.retryBackoffMs;
    this.quoteAsset = o.quoteAsset;
  }

  /** `GET /healthz`; throws `OmsUnreachableError` when the service cannot be reached. */
  async health(): Promise<void> {
    await this.request({ method: 'GET', path: '/healthz' }, healthSchema);
  }

  async placeOrder(request: OrderRequest): Promise<OrderAck> {
    const value = await this.request(
      {
        method: 'POST',
        path: '/orders',
        idempotencyKey: request.clientOrderId,
        body: {
          symbol: request.symbol,
          side: request.side,
          quantity: request.quantity,
          order_type: request.orderType,
          ...(request.orderType === 'Limit' ? { price: request.price } : {}),
          client_order_id: request.clientOrderId,
        },
      },
      omsOrderSchema,
    );
    return this.ack(value);
  }

  async cancelOrder(orderId: string): Promise<OrderAck> {
    const path = `/orders/${encodeURIComponent(orderId)}`;
    try {
      const value = await this.request({ method: 'POST', path: `${path}/cancel`, body: {} }, omsOrderSchema);
      return this.ack(value);
    } catch (error) {
      if (!(error instanceof OmsRefusal && error.code === 'ILLEGAL_TRANSITION' && error.afterRetry)) throw error;
      // An earlier attempt may have cancelled it and lost the answer: the order's state decides.
      const value = await this.request({ method: 'GET', path }, omsOrderSchema);
      if (value.status !== 'cancelled') throw error;
      return this.ack(value);
    }
  }

  async replaceOrder(request: ReplaceRequest): Promise<OrderAck> {
    const value = await this.request(
      {
        method: 'POST',
        path: `/orders/${encodeURIComponent(request.orderId)}/replace`,
        idempotencyKey: `replace-${randomUUID()}`,
        body: {
          ...(request.price === undefined ? {} : { price: request.price }),
          ...(request.quantity === undefined ? {} : { quantity: request.quantity }),
        },
      },
      omsOrderSchema,
    );
    const ack = this.ack(value);
    return { ...ack, status: ack.status === 'New' ? 'Replaced' : ack.status };
  }

  async getBalance(): Promise<Balance[]> {
    return (await this.getPortfolio()).balances;
  }

  async getPositions(): Promise<Position[]> {
    return (await this.getPortfolio()).positions;
  }

  /** One `GET /portfolio` serves both halves. */
  async getPortfolio(): Promise<Portfolio> {
    const value = await this.request({ method: 'GET', path: '/portfolio' }, portfolioSchema);
    return {
      balances: [{ asset: this.quoteAsset, free: value.cash, locked: 0 }],
      positions: value.positions
        .filter((p) => p.quantity !== 0)
        .map((p) => ({ symbol: p.symbol, quantity: p.quantity, averagePrice: p.avg_entry_price })),
    };
  }

  async getReferencePrice(symbol: string): Promise<number | null> {
    const value = await this.request({ method: 'GET', path: `/marks/${encodeURIComponent(symbol)}` }, markSchema);
    return value.price;
  }

  /**
   * `get_pnl`: the OMS's positions (with their average entry) marked at its marks (`GET /marks`).
   * The OMS reports realized PnL since it started, not since 00:00 UTC, so today's is `null`.
   * (It keeps no order book: `get_book_snapshot` is refused as not supported.)
   */
  async getPnl(): Promise<PnlReport> {
    const positions = await this.getPositions();
    const marks = await Promise.all(positions.map((p) => this.getReferencePrice(p.symbol)));
    return {
      positions: positions.map((p, i) => ({ symbol: p.symbol, quantity: p.quantity, entryPrice: p.averagePrice, markPrice: marks[i] ?? null })),
      realizedPnlToday: null,
      timestampMs: Date.now(),
    };
  }

  /** The OMS lists open orders of every symbol; `symbol` filters them here. */
  async getOpenOrders(symbol?: string): Promise<OpenOrder[]> {
    const value = await this.request({ method: 'GET', path: '/orders?status=open' }, ordersSchema);
    return value.orders.filter((o) => symbol === undefined || o.symbol === symbol).map((o) => ({
      orderId: o.id,
      clientOrderId: o.client_order_id,
      symbol: o.symbol,
      side: o.side,
      price: o.price ?? 0,
      quantity: o.quantity,
      remaining: Math.max(0, o.quantity - o.filled_quantity),
    }));
  }

  // --- internals -------------------------------------------------------------------------------

  private ack(o: OmsOrder): OrderAck {
    return {
      orderId: o.id,
      symbol: o.symbol,
      side: o.side,
      quantity: o.quantity,
      status: ACK_STATUS[o.status],
      timestampMs: o.updated_at_ms,
      filledQuantity: o.filled_quantity,
      ...(o.avg_fill_price > 0 ? { averagePrice: o.avg_fill_price } : {}),
    };
  }

  /** One call with retries on network errors, timeouts and 5xx; 4xx and bad bodies are final. */
  private async request<T>(call: Call, schema: z.ZodType<T>): Promise<T> {
    const route = `${call.method} ${call.path.split('?')[0] ?? call.path}`;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (call.body !== undefined) headers['content-type'] = 'application/json';
    if (call.idempotencyKey !== undefined) headers['idempotency-key'] = call.idempotencyKey;
    const body = call.body === undefined ? undefined : JSON.stringify(call.body);
    for (let attempt = 1; ; attempt += 1) {
      let failure: BackendError;
      try {
        const response = await fetch(`${this.baseUrl}${call.path}`, {
          method: call.method,
          headers,
          body,
          signal: AbortSignal.timeout(this.timeoutMs),
        });
        const text = await response.text();
        if (response.status < 500) return this.answer(response.status, text, schema, route, attempt > 1);
        failure = this.serverError(response.status, text, route, attempt);
      } catch (error) {
        if (error instanceof BackendError) throw error;
        failure = this.transportError(error, route, attempt);
      }
      if (attempt > this.retries) throw failure;
      await sleep(this.retryBackoffMs * 2 ** (attempt - 1));
    }
  }

  private answer<T>(status: number, text: string, schema: z.ZodType<T>, route: string, afterRetry: boolean): T {
    const json = parseJson(text);
    if (json === undefined) {
      throw new BackendError('other', `axon-oms at ${this.baseUrl}: ${route}: ${status} with a body that is not JSON: ${text.slice(0, 200)}`);
    }
    if (status >= 200 && status < 300) {
      const parsed = schema.safeParse(json);
      if (parsed.success) return parsed.data;
      throw new BackendError('other', `axon-oms at ${this.baseUrl}: ${route}: unexpected answer (${describeZodError(parsed.error, '(body)')})`);
    }
    const error = errorBodySchema.safeParse(json);
    const code = error.success ? error.data.error.code : `HTTP_${status}`;
    const detail = error.success ? error.data.error.message : text.slice(0, 200);
    let kind: ErrorKind = 'rejected';
    if (code === 'NOT_FOUND' || code === 'METHOD_NOT_ALLOWED' || !error.success) kind = 'other';
    else if (code === 'INVALID_FIELD' && error.data.error.field === 'symbol') kind = 'symbol_not_found';
    throw new OmsRefusal(kind, `axon-oms at ${this.baseUrl} refused ${route}: ${code}: ${detail}`, code, afterRetry);
  }

  private serverError(status: number, text: string, route: string, attempts: number): BackendError {
    const error = errorBodySchema.safeParse(parseJson(text));
    const code = error.success ? error.data.error.code : '';
    // 500 is the OMS failing to journal: the service is up but broken, not unreachable.
    if (status === 500) {
      const detail = error.success ? `${code}: ${error.data.error.message}` : text.slice(0, 200);
      return new BackendError('other', `axon-oms at ${this.baseUrl}: ${route}: 500 ${detail}${attempts > 1 ? ` (after ${attempts} attempts)` : ''}`);
    }
    return new OmsUnreachableError('network', this.baseUrl, `${status}${code === '' ? '' : ` ${code}`}`, route, attempts);
  }

  private transportError(error: unknown, route: string, attempts: number): BackendError {
    const name = error instanceof Error ? error.name : '';
    if (name === 'TimeoutError' || name === 'AbortError') {
      return new OmsUnreachableError('timeout', this.baseUrl, `no answer within ${this.timeoutMs} ms`, route, attempts);
    }
    return new OmsUnreachableError('network', this.baseUrl, connectionReason(error), route, attempts);
  }
}
