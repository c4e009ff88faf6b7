// What every framework adapter shares: the tool list, running a call so that a refusal is the
// call's RESULT (the ToolError JSON, never a throw), and TwoPhase through a framework's own human
// approval. No framework is imported here: each adapter module loads only its own.
//
// Invariants:
// - the adapters serve whatever tools they are given, by the tools' own names and schemas, so a new
//   tool appears in every adapter without a change here;
// - a `ToolError` (a refusal or a backend failure the guard settled) is returned as its JSON; any
//   other throw is a bug or an outage and propagates;
// - the approved TwoPhase path sends at most one confirming call, with exactly the fields the
//   approver saw plus the token the guard issued for them.
import { ToolError } from '../errors';
import { dispatchToolCall } from '../tool-formats';
import type { Tool } from '../tools';
import type { JsonSchema } from '../tool-types';
import type { SafetyModeName } from '../types';

/** The tools an adapter serves: a `TradingTools` (its mode picks the approval default) or a plain list. */
export type ToolSource = readonly Tool[] | { readonly tools: readonly Tool[]; readonly mode?: SafetyModeName };

export interface ApprovalOptions {
  /**
   * Ask a human through the framework before a tool that takes a `confirm_token` runs (AI SDK and
   * Agents SDK `needsApproval`). On approval the adapter proposes and confirms in one go, so the
   * model never handles the token. Default: true when the source is a `TradingTools` in TwoPhase mode.
   */
  needsApproval?: boolean;
}

export function toolList(source: ToolSource): readonly Tool[] {
  return isToolArray(source) ? source : source.tools;
}

function isToolArray(source: ToolSource): source is readonly Tool[] {
  return Array.isArray(source);
}

export function approvalWanted(source: ToolSource, options: ApprovalOptions): boolean {
  return options.needsApproval ?? (!isToolArray(source) && source.mode === 'TwoPhase');
}

/** A tool whose schema has `confirm_token` is one TwoPhase holds back until confirmed. */
export function takesConfirmToken(tool: Tool): boolean {
  return Object.hasOwn(tool.parameters.properties, 'confirm_token');
}

/** A copy of the tool's schema for a framework to keep (some normalize what they are given in place). */
export function schemaCopy(tool: Tool): JsonSchema {
  return structuredClone(tool.parameters);
}

/** The arguments as the guard reads them: a model's raw string as is, a parsed object re-serialized. */
export function argumentsText(input: unknown): string {
  if (typeof input === 'string') return input;
  return input === undefined ? 'null' : JSON.stringify(input);
}

function refusalJson(error: ToolError): string {
  return JSON.stringify(error.toJSON());
}

/** Run one call. Resolves to the tool's JSON or the ToolError JSON; rejects only for what is not a ToolError. */
export async function runTool(tool: Tool, input: unknown): Promise<string> {
  try {
    return await tool.execute(argumentsText(input));
  } catch (error) {
    if (error instanceof ToolError) return refusalJson(error);
    throw error;
  }
}

const PENDING_PREFIX = '{"order_id":';

/** The confirm_token of a PendingConfirm ack, else undefined. */
function pendingToken(result: string): string | undefined {
  if (!result.startsWith(PENDING_PREFIX)) return undefined;
  const ack = JSON.parse(result) as { status?: unknown; confirm_token?: unknown };
  return ack.status === 'PendingConfirm' && typeof ack.confirm_token === 'string' ? ack.confirm_token : undefined;
}

/**
 * A call a human approved through the framework: propose it, and when the guard holds it back
 * (PendingConfirm) confirm it at once with the issued token and the same fields. The guard runs
 * the whole risk chain again at confirm time; a refusal at either step is the result.
 */
export async function runApproved(tool: Tool, input: unknown): Promise<string> {
  const proposed = await runTool(tool, input);
  const token = pendingToken(proposed);
  if (token === undefined) return proposed;
  const fields = typeof input === 'string' ? (JSON.parse(input) as Record<string, unknown>) : (input as Record<string, unknown>);
  return runTool(tool, { ...fields, confirm_token: token });
}

/**
 * Answer one call of a hand-written loop by tool name: the tool's JSON, or the ToolError JSON (an
 * unknown tool name included). Never throws for the model's mistakes.
 */
export async function callTool(source: ToolSource, name: string, args: unknown): Promise<string> {
  return (await dispatchToolCall(toolList(source), name, argumentsText(args))).content;
}
