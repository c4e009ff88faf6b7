// Loads the napi-rs addon through its generated loader (`index.js` at the package root), from both
// the TypeScript sources (ts/) and the compiled output (dist/ts/).
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import type * as Binding from '../index';

import { ToolError } from './errors';

function packageRoot(): string {
  for (const candidate of [join(__dirname, '..'), join(__dirname, '..', '..')]) {
    if (existsSync(join(candidate, 'index.js')) && existsSync(join(candidate, 'package.json'))) return candidate;
  }
  throw new Error(`axon-llm: cannot find the native loader (index.js) above ${__dirname}`);
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const native: typeof Binding = require(join(packageRoot(), 'index.js'));

export type NativeMetrics = Binding.NativeMetrics;
export type GuardState = Binding.GuardState;

/** Slot 0 of a decision (`crates/axon-node`, `write_decision`). */
export const DecisionKind = { Done: 0, Rejected: 1, Send: 2, NeedMarket: 3, NeedOrder: 4 } as const;

/** Slots of the decision array (`DECISION_SLOTS` in `crates/axon-node`). */
export const Slot = {
  Kind: 0,
  Ticket: 1,
  Action: 2,
  Side: 3,
  Quantity: 4,
  OrderType: 5,
  Price: 6,
  StopLoss: 7,
  TakeProfit: 8,
  TimeInForce: 9,
  Code: 10,
  Source: 11,
} as const;
export const DECISION_SLOTS = 12;

const CODES = native.decisionCodes();
/** `OrderAck.status` -> the index `guardRecordAck` takes. */
export const ACK_STATUS_INDEX: ReadonlyMap<string, number> = new Map(native.ackStatuses().map((status, index) => [status, index]));
const SOURCES = native.decisionSources();

/** The ToolError of a REJECTED decision: code and source by index, the message as returned. */
export function rejectionError(out: Float64Array, message: string): ToolError {
  const [source, errorType] = SOURCES[out[Slot.Source] as number] ?? ['Backend', 'ExecutionFailed'];
  return ToolError.fromNative({ errorType, source, code: CODES[out[Slot.Code] as number] ?? 'BACKEND_OTHER', message });
}

/** Tool indices understood by `NativeGuard.decide`. */
export const ToolIndex = { place_order: 0, cancel_order: 1, replace_order: 2, query_portfolio: 3 } as const;

/** Enum encodings of `NativeDecision` (declaration order of the Rust enums). */
export const ACTIONS = ['place', 'cancel', 'replace', 'query'] as const;
export const SIDES = ['Buy', 'Sell'] as const;
export const ORDER_TYPES = ['Limit', 'Market'] as const;
export const TIME_IN_FORCES = ['GTC', 'IOC', 'FOK'] as const;
