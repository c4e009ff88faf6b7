// Types of what crosses the tool boundary: the arguments a model sends, the JSON a tool answers with,
// and the JSON Schema that describes the arguments. The JSON itself is written by the native guard
// (crates/axon-risk/src/guard.rs `order_ack_json`); these types describe it, they do not produce it.
import type { ToolErrorJson } from './errors';
import type { OrderType, Side, TimeInForce } from './types';

export type JsonSchemaTypeName = 'string' | 'number' | 'integer' | 'boolean' | 'object' | 'array' | 'null';

/**
 * One argument's schema, restricted to what every provider's strict mode takes (OpenAI strict
 * function calling, the Agents SDK's strict tools, Anthropic strict tools, MCP): a type (with
 * `"null"` for an optional argument), an optional `enum` and a description. Range, length and
 * pattern rules live in the descriptions and in the native parser, which enforces them.
 */
export type JsonSchemaProperty = {
  type: JsonSchemaTypeName | JsonSchemaTypeName[];
  description?: string;
  enum?: Array<string | number | null>;
};

/**
 * A tool's argument schema in OpenAI strict form: every property listed in `required` (optional
 * ones are typed `[T, "null"]`), no unknown property allowed, no root combinator. Plain mutable
 * object types on purpose: the Agents SDK, Anthropic and MCP types take it as is, without a cast.
 */
export type JsonSchema = {
  type: 'object';
  properties: Record<string, JsonSchemaProperty>;
  required: string[];
  additionalProperties: false;
};

/** `place_order` arguments. Optional fields may be absent or `null` (both mean "not given"). */
export interface PlaceOrderArgs {
  symbol: string;
  side: Side;
  /** > 0 */
  quantity: number;
  /** Default `Limit`. */
  order_type?: OrderType | null;
  /** Required for Limit, forbidden for Market; > 0. */
  price?: number | null;
  stop_loss?: number | null;
  take_profit?: number | null;
  /** Default `GTC`. */
  time_in_force?: TimeInForce | null;
  /** TwoPhase: the token of the PendingConfirm answer, with the same order fields. */
  confirm_token?: string | null;
  /** Your idempotency id (1-64 printable ASCII characters). */
  client_order_id?: string | null;
}

/** `cancel_order` arguments. */
export interface CancelOrderArgs {
  order_id: string;
}

/** `replace_order` arguments: `price` and/or `quantity` (the parser refuses neither). */
export interface ReplaceOrderArgs {
  order_id: string;
  price?: number | null;
  quantity?: number | null;
  confirm_token?: string | null;
}

/** `query_portfolio` arguments. */
export interface QueryPortfolioArgs {
  symbol?: string | null;
}

/** `get_book_snapshot` arguments. */
export interface GetBookSnapshotArgs {
  symbol: string;
  /** Levels per side, a whole number 1-50; default 10. */
  levels?: number | null;
}

/** `get_pnl` arguments. */
export interface GetPnlArgs {
  symbol?: string | null;
}

/** `finish_bar` arguments. */
export interface FinishBarArgs {
  /** Why the turn ends (at most 500 characters); kept in the audit trail. */
  note?: string | null;
}

/**
 * Ack statuses a tool answers with. `Rejected` never appears: a venue's rejection comes back as a
 * `ToolErrorJson` with code `BACKEND_REJECTED`.
 */
export const TOOL_ACK_STATUSES = ['DryRun', 'PendingConfirm', 'New', 'PartiallyFilled', 'Filled', 'Cancelled', 'Replaced'] as const;
export type ToolAckStatus = (typeof TOOL_ACK_STATUSES)[number];

/** The JSON an order tool (place, cancel, replace) answers with, field for field. */
export interface ToolAck {
  order_id: string;
  /** `null` only for a cancel of an order the guard never saw. */
  symbol: string | null;
  side: Side | null;
  quantity: number | null;
  status: ToolAckStatus;
  timestamp_ms: number;
  /** Only with status `PendingConfirm`. */
  confirm_token?: string;
}

/** What an order tool's call comes back as: an ack, or the refusal's `ToolErrorJson`. */
export type ToolResult = ToolAck | ToolErrorJson;

/** The JSON `query_portfolio` answers with. */
export interface PortfolioResult {
  balances: Array<{ asset: string; free: number; locked: number }>;
  positions: Array<{ symbol: string; quantity: number; average_price: number }>;
  open_orders: Array<{ order_id: string; symbol: string; side: Side; price: number; quantity: number; remaining: number }>;
}

/** The JSON `get_book_snapshot` answers with: the venue's book, best first on both sides. */
export interface BookSnapshotResult {
  symbol: string;
  bids: Array<{ price: number; quantity: number }>;
  asks: Array<{ price: number; quantity: number }>;
  /** When the venue's book was in this state (Unix ms; the replay clock in a backtest). */
  as_of_ms: number;
}

/** One position of `get_pnl`; `null` where the venue does not know the entry or mark price. */
export interface PnlPositionResult {
  symbol: string;
  quantity: number;
  entry_price: number | null;
  mark_price: number | null;
  unrealized_pnl: number | null;
  /** Percent of the entry value, signed as the position's gain. */
  unrealized_pnl_pct: number | null;
}

/** The JSON `get_pnl` answers with. */
export interface PnlResult {
  positions: PnlPositionResult[];
  /** `null` when any listed position cannot be valued (never a partial sum). */
  total_unrealized_pnl: number | null;
  /** PnL realized since 00:00 UTC, before fees; `null` when the venue does not report it. */
  realized_pnl_today: number | null;
  as_of_ms: number;
}

/** The JSON `finish_bar` answers with: the turn is over; where the guard stands. */
export interface FinishBarResult {
  finished: true;
  note: string | null;
  mode: string;
  orders_today: number;
  cancels_today: number;
  pending_confirms: number;
  /** The rejection breaker's state, `null` without one. */
  breaker: string | null;
}

/** True for a refusal's JSON (it has `error_type`; an ack or a read result never does). */
export function isToolErrorJson(value: unknown): value is ToolErrorJson {
  return typeof value === 'object' && value !== null && 'error_type' in value && 'code' in value;
}
