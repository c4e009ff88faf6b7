// Loads the napi-rs addon through its generated loader (`index.js` at the package root), from both
// the TypeScript sources (ts/) and the compiled output (dist/ts/).
import { existsSync } from 'node:fs';
import { join } from 'node:path';

import type * as Binding from '../index';

function packageRoot(): string {
  for (const candidate of [join(__dirname, '..'), join(__dirname, '..', '..')]) {
    if (existsSync(join(candidate, 'index.js')) && existsSync(join(candidate, 'package.json'))) return candidate;
  }
  throw new Error(`axon-llm: cannot find the native loader (index.js) above ${__dirname}`);
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const native: typeof Binding = require(join(packageRoot(), 'index.js'));

export type NativeDecision = Binding.NativeDecision;
export type NativeMetrics = Binding.NativeMetrics;
export type GuardState = Binding.GuardState;

/** Mirrors the decision kinds of `crates/axon-node` (Done travels as a bare ack string). */
export const DecisionKind = { Rejected: 1, Send: 2, NeedMarket: 3, NeedOrder: 4 } as const;

/** Tool indices understood by `NativeGuard.decide`. */
export const ToolIndex = { place_order: 0, cancel_order: 1, replace_order: 2, query_portfolio: 3 } as const;

/** Enum encodings of `NativeDecision` (declaration order of the Rust enums). */
export const ACTIONS = ['place', 'cancel', 'replace', 'query'] as const;
export const SIDES = ['Buy', 'Sell'] as const;
export const ORDER_TYPES = ['Limit', 'Market'] as const;
export const TIME_IN_FORCES = ['GTC', 'IOC', 'FOK'] as const;
