// Loads the napi-rs addon through its generated loader (`index.js` at the package root), from both
// the TypeScript sources (ts/) and the compiled output (dist/ts/).
import { existsSync } from 'node:fs';
import { join } from 'node:path';

// From dist/ts/native.d.ts this is dist/index.d.ts: `npm run build:ts` copies the generated
// index.d.ts there, so the published declarations resolve it.
import type * as Binding from '../index';

import { ToolError } from './errors';

function packageRoot(): string {
  for (const candidate of [join(__dirname, '..'), join(__dirname, '..', '..')]) {
    if (existsSync(join(candidate, 'index.js')) && existsSync(join(candidate, 'package.json'))) return candidate;
  }
  throw new Error(`axon-llm: cannot find the native loader (index.js) above ${__dirname}`);
}

/** The napi-rs name of this machine's build (`linux-x64-gnu`, `darwin-arm64`, `win32-x64-msvc`). */
function platformArchAbi(): string {
  const base = `${process.platform}-${process.arch}`;
  if (process.platform === 'win32') return `${base}-msvc`;
  if (process.platform !== 'linux') return base;
  // glibcVersionRuntime is reported only by a Node linked against glibc.
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  return `${base}-${header?.glibcVersionRuntime === undefined ? 'musl' : 'gnu'}`;
}

const BUILD_FROM_SOURCE =
  'To build from source: install a Rust toolchain (rustup, stable) and Node >= 20.19, ' +
  'clone the axon-llm repository and run `npm install` there (it builds the addon through `prepare`), ' +
  'or `npm run build:native` in the clone after a change to the Rust code; then depend on that folder ' +
  '(`npm install /path/to/axon-llm`).';

/** First lines of the loader's per-candidate errors other than "not found" (its cause chain). */
function loadFailures(error: unknown): string[] {
  const failures: string[] = [];
  for (let e = error instanceof Error ? error.cause : undefined; e instanceof Error; e = e.cause) {
    if (!e.message.startsWith('Cannot find module')) failures.push(e.message.split('\n')[0] ?? e.message);
  }
  return failures;
}

function loadNative(root: string): typeof Binding {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(join(root, 'index.js')) as typeof Binding;
  } catch (error) {
    // The generated loader says "Cannot find native binding" whether a binary is missing or fails
    // to load: say which, for which platform, and what to do; its errors stay as the cause.
    const platform = platformArchAbi();
    const failures = loadFailures(error);
    const message =
      failures.length > 0
        ? `axon-llm: the native addon for this platform (${platform}) was found but did not load: ${failures.join('; ')}. ` +
          `Reinstall axon-llm (with axon-llm-${platform}), or build from source. `
        : `axon-llm: no native addon for this platform (${platform}). ` +
          `Looked for the package axon-llm-${platform} (installed with axon-llm as an optional dependency) ` +
          `and for axon-llm.${platform}.node in ${root}. ` +
          'If a prebuilt package exists for your platform, reinstall without --omit=optional / --no-optional. ';
    throw new Error(message + BUILD_FROM_SOURCE, { cause: error });
  }
}

export const native: typeof Binding = loadNative(packageRoot());

export type NativeMetrics = Binding.NativeMetrics;
export type GuardState = Binding.GuardState;

/** Slot 0 of a decision (`crates/axon-node`, `write_decision`). */
export const DecisionKind = { Done: 0, Rejected: 1, Send: 2, NeedMarket: 3, NeedOrder: 4 } as const;

/** Slots of the guard's decision buffer (`DECISION_SLOTS` in `crates/axon-node`). */
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
  /** A place decision's symbol, as the guard's market slot (`NativeGuardHandle.marketSymbol`). */
  Market: 12,
} as const;
/** Cells per market slot in the guard's feed (`FEED_STRIDE` of `crates/axon-risk/src/feed.rs`). */
export const FEED_STRIDE = native.FEED_STRIDE;

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
