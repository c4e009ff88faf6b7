// What an MCP client is told about each tool beyond its input schema: annotations (hints a client
// uses to decide whether to ask the user before a call) and the JSON Schema of its results.
// Keyed by tool name so tools added later are served without changes here; a name this table does
// not know is announced as destructive (fail safe: a client then asks before calling it).
import type { ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';

import { TOOL_ACK_STATUSES } from '../tool-types';

type Hints = Pick<ToolAnnotations, 'readOnlyHint' | 'destructiveHint' | 'idempotentHint' | 'openWorldHint'>;

const READ_ONLY: Hints = { readOnlyHint: true, openWorldHint: true };
const CHANGES_ORDERS: Hints = { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true };

const HINTS_BY_NAME: Readonly<Record<string, Hints>> = {
  query_portfolio: READ_ONLY,
  get_book_snapshot: READ_ONLY,
  get_pnl: READ_ONLY,
  // Ends the model's turn: nothing at the venue changes.
  finish_bar: { readOnlyHint: true, openWorldHint: false },
  place_order: CHANGES_ORDERS,
  cancel_order: CHANGES_ORDERS,
  replace_order: CHANGES_ORDERS,
};

/** Annotations for a tool: from the table, destructive when the name is not in it. */
export function toolAnnotations(name: string): ToolAnnotations {
  const hints = Object.hasOwn(HINTS_BY_NAME, name) ? HINTS_BY_NAME[name] : undefined;
  return { title: titleOf(name), ...(hints ?? CHANGES_ORDERS) };
}

/** `place_order` -> `Place order`. */
function titleOf(name: string): string {
  const words = name.split('_').join(' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** An `outputSchema` as the MCP SDK types it: an object schema at the root. */
export interface ObjectJsonSchema {
  type: 'object';
  [keyword: string]: unknown;
}

/** The ToolError JSON a refusal carries (ts/errors.ts `ToolErrorJson`). */
export const toolErrorJsonSchema = {
  type: 'object',
  required: ['error_type', 'source', 'code', 'message'],
  properties: {
    error_type: { enum: ['InvalidArguments', 'ExecutionFailed'] },
    source: { enum: ['Arguments', 'SafetyMode', 'RiskLimits', 'RiskGate', 'Backend'] },
    code: { type: 'string' },
    message: { type: 'string' },
  },
} as const;

/** An order tool's ack (`ToolAck`) as the guard writes it (crates/axon-risk `order_ack_json`). */
const orderAckSchema = {
  type: 'object',
  required: ['order_id', 'symbol', 'side', 'quantity', 'status', 'timestamp_ms'],
  properties: {
    order_id: { type: 'string' },
    symbol: { type: ['string', 'null'] },
    side: { enum: ['Buy', 'Sell', null] },
    quantity: { type: ['number', 'null'] },
    status: { enum: [...TOOL_ACK_STATUSES] },
    timestamp_ms: { type: 'integer' },
    confirm_token: { type: 'string', description: 'PendingConfirm only: call again with the same fields and this token.' },
  },
} as const;

/** `query_portfolio`'s answer (`PortfolioResult`, written by ts/tools.ts `portfolioJson`). */
const portfolioSchema = {
  type: 'object',
  required: ['balances', 'positions', 'open_orders'],
  properties: {
    balances: {
      type: 'array',
      items: { type: 'object', required: ['asset', 'free', 'locked'], properties: { asset: { type: 'string' }, free: { type: 'number' }, locked: { type: 'number' } } },
    },
    positions: {
      type: 'array',
      items: {
        type: 'object',
        required: ['symbol', 'quantity', 'average_price'],
        properties: { symbol: { type: 'string' }, quantity: { type: 'number' }, average_price: { type: 'number' } },
      },
    },
    open_orders: {
      type: 'array',
      items: {
        type: 'object',
        required: ['order_id', 'symbol', 'side', 'price', 'quantity', 'remaining'],
        properties: {
          order_id: { type: 'string' },
          symbol: { type: 'string' },
          side: { enum: ['Buy', 'Sell'] },
          price: { type: 'number' },
          quantity: { type: 'number' },
          remaining: { type: 'number' },
        },
      },
    },
  },
} as const;

const bookLevelsSchema = {
  type: 'array',
  items: { type: 'object', required: ['price', 'quantity'], properties: { price: { type: 'number' }, quantity: { type: 'number' } } },
} as const;

/** `get_book_snapshot`'s answer (`BookSnapshotResult`, written by ts/read-tools.ts). */
const bookSnapshotSchema = {
  type: 'object',
  required: ['symbol', 'bids', 'asks', 'as_of_ms'],
  properties: { symbol: { type: 'string' }, bids: bookLevelsSchema, asks: bookLevelsSchema, as_of_ms: { type: 'integer' } },
} as const;

/** `get_pnl`'s answer (`PnlResult`, written by ts/read-tools.ts). */
const pnlSchema = {
  type: 'object',
  required: ['positions', 'total_unrealized_pnl', 'realized_pnl_today', 'as_of_ms'],
  properties: {
    positions: {
      type: 'array',
      items: {
        type: 'object',
        required: ['symbol', 'quantity', 'entry_price', 'mark_price', 'unrealized_pnl', 'unrealized_pnl_pct'],
        properties: {
          symbol: { type: 'string' },
          quantity: { type: 'number' },
          entry_price: { type: ['number', 'null'] },
          mark_price: { type: ['number', 'null'] },
          unrealized_pnl: { type: ['number', 'null'] },
          unrealized_pnl_pct: { type: ['number', 'null'] },
        },
      },
    },
    total_unrealized_pnl: { type: ['number', 'null'] },
    realized_pnl_today: { type: ['number', 'null'] },
    as_of_ms: { type: 'integer' },
  },
} as const;

/** `finish_bar`'s answer (`FinishBarResult`, written by ts/read-tools.ts). */
const finishBarSchema = {
  type: 'object',
  required: ['finished', 'note', 'mode', 'orders_today', 'cancels_today', 'pending_confirms', 'breaker'],
  properties: {
    finished: { const: true },
    note: { type: ['string', 'null'] },
    mode: { enum: ['DryRun', 'TwoPhase', 'Direct'] },
    orders_today: { type: 'integer' },
    cancels_today: { type: 'integer' },
    pending_confirms: { type: 'integer' },
    breaker: { enum: ['Closed', 'Open', 'HalfOpen', null] },
  },
} as const;

const RESULT_SCHEMAS_BY_NAME: Readonly<Record<string, object>> = {
  place_order: orderAckSchema,
  cancel_order: orderAckSchema,
  replace_order: orderAckSchema,
  query_portfolio: portfolioSchema,
  get_book_snapshot: bookSnapshotSchema,
  get_pnl: pnlSchema,
  finish_bar: finishBarSchema,
};

/**
 * The `outputSchema` of a tool: its result or the ToolError JSON (a refusal carries that as
 * `structuredContent` too, and the SDK's client checks every `structuredContent` it gets).
 * Undefined for a tool whose results this table does not describe.
 */
export function toolOutputSchema(name: string): ObjectJsonSchema | undefined {
  const result = Object.hasOwn(RESULT_SCHEMAS_BY_NAME, name) ? RESULT_SCHEMAS_BY_NAME[name] : undefined;
  return result === undefined ? undefined : { type: 'object', anyOf: [result, toolErrorJsonSchema] };
}
