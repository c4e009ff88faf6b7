// `axon-llm/mcp`: the guarded trading tools as a Model Context Protocol server. Every call goes
// through the same tools (and so the same risk chain) as any other caller; a refusal reaches the
// client as the ToolError JSON with `isError: true`. Invariants:
// - the tools served are whatever `tools.tools` holds, each with its own raw JSON Schema;
// - in TwoPhase mode with a client that can elicit, the confirm token never reaches the model: the
//   user accepts (exactly one confirming call) or not (nothing is sent), and a failed elicitation
//   places nothing;
// - only ts/mcp/ loads `@modelcontextprotocol/sdk` (an optional peer dependency), and the command
//   (ts/mcp/command.ts) only once it runs.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import {
  CallToolRequestSchema,
  ErrorCode,
  ListToolsRequestSchema,
  McpError,
  type CallToolResult,
  type ServerNotification,
  type ServerRequest,
  type Tool as McpToolDefinition,
} from '@modelcontextprotocol/sdk/types.js';

import { ToolError, type ToolErrorJson } from '../errors';
import { silentLogger, type Logger } from '../log';
import type { TradingTools } from '../tools';
import { toolAnnotations, toolOutputSchema, type ObjectJsonSchema } from './tool-metadata';

export { toolAnnotations, toolOutputSchema, type ObjectJsonSchema } from './tool-metadata';
export { serveMcpHttp, type McpHttpOptions, type McpHttpServer } from './http';
export { isLoopbackHost } from './loopback';

/** A tool as the server serves it: any `Tool` of `createTradingTools`, whatever its name. */
export interface McpServedTool {
  readonly name: string;
  readonly description: string;
  /** JSON Schema of the arguments, an object at the root; listed to clients as is. */
  readonly parameters: Readonly<Record<string, unknown>>;
  /** Resolves to the result's JSON; rejects with `ToolError` for a refusal. */
  execute(args: string): Promise<string>;
}

/** What the server needs of the guarded tools (a `TradingTools` has it all), any number of tools. */
export interface McpTradingTools {
  readonly tools: readonly McpServedTool[];
  readonly mode: TradingTools['mode'];
  state(): ReturnType<TradingTools['state']>;
}

export interface CreateMcpServerOptions {
  /** Server name in the MCP handshake (default `axon-llm`). */
  name?: string;
  version?: string;
  /**
   * The configured limits and gate, shown in the `axon://risk-state` resource next to the live
   * counters (`tools.state()`). Shown as given.
   */
  limits?: Readonly<Record<string, unknown>>;
  /**
   * TwoPhase confirmations through MCP elicitation when the client supports it (default true).
   * `false` always answers with the PendingConfirm ack and its confirm_token.
   */
  elicitConfirmations?: boolean;
  /** How long the user has to answer a confirmation (default 5 minutes; the token's TTL still applies). */
  confirmTimeoutMs?: number;
  logger?: Logger;
  /**
   * Called with every tool call the server makes and its outcome, the confirming call of a TwoPhase
   * order and a confirmation the user refused included (for an audit trail). A throw is logged;
   * the client still gets the result (the call has happened).
   */
  onToolResult?: (record: McpToolRecord) => void;
}

/** One tool call the server made: arguments and result as JSON text, as the client saw them. */
export interface McpToolRecord {
  tool: string;
  args: string;
  ok: boolean;
  result: string;
  /** The ToolError code of a refusal. */
  code?: string;
}

export const PORTFOLIO_RESOURCE_URI = 'axon://portfolio';
export const RISK_STATE_RESOURCE_URI = 'axon://risk-state';

const DEFAULT_CONFIRM_TIMEOUT_MS = 5 * 60_000;

type CallExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** The outcome of one tool call: its JSON text, or the refusal. */
type Outcome = { ok: true; json: string } | { ok: false; error: ToolErrorJson };

/**
 * An MCP server over the guarded tools. Connect it to one transport (`StdioServerTransport`, or
 * one `StreamableHTTPServerTransport` per session: see `serveMcpHttp`); the tools may be shared by
 * several servers.
 */
export function createMcpServer(tools: McpTradingTools, options: CreateMcpServerOptions = {}): McpServer {
  const logger = options.logger ?? silentLogger;
  const elicit = options.elicitConfirmations ?? true;
  const confirmTimeoutMs = options.confirmTimeoutMs ?? DEFAULT_CONFIRM_TIMEOUT_MS;
  const byName = new Map<string, McpServedTool>(tools.tools.map((tool) => [tool.name, tool]));

  const record = (tool: McpServedTool, args: string, outcome: Outcome): void => {
    if (options.onToolResult === undefined) return;
    try {
      options.onToolResult(
        outcome.ok
          ? { tool: tool.name, args, ok: true, result: outcome.json }
          : { tool: tool.name, args, ok: false, result: JSON.stringify(outcome.error), code: outcome.error.code },
      );
    } catch (error) {
      logger.log('error', { msg: `mcp: the record of a ${tool.name} call was not kept: ${String(error)}`, tool: tool.name, mode: tools.mode });
    }
  };
  /** Run one call and record it. */
  const call = async (tool: McpServedTool, args: Record<string, unknown>): Promise<Outcome> => {
    const text = JSON.stringify(args);
    const outcome = await run(tool, text);
    record(tool, text, outcome);
    return outcome;
  };
  /** A refusal of the server's own (a confirmation not given), recorded like a tool's. */
  const refuse = (tool: McpServedTool, args: Record<string, unknown>, error: ToolErrorJson): CallToolResult => {
    record(tool, JSON.stringify(args), { ok: false, error });
    return refusal(error);
  };
  const definitions = tools.tools.map(toolDefinition);

  const mcp = new McpServer({ name: options.name ?? 'axon-llm', version: options.version ?? '0.0.0' });
  // Tools go through the protocol-level server: McpServer.registerTool wants zod schemas and would
  // validate arguments itself; here the guard validates them and the model gets its precise message.
  mcp.server.registerCapabilities({ tools: {} });
  mcp.server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: definitions }));
  mcp.server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const tool = byName.get(request.params.name);
    if (tool === undefined) {
      throw new McpError(ErrorCode.InvalidParams, `unknown tool '${request.params.name.slice(0, 64)}', expected one of: ${[...byName.keys()].join(', ')}`);
    }
    const args = request.params.arguments ?? {};
    const outcome = await call(tool, args);
    if (!outcome.ok) return refusal(outcome.error);
    const result = parseObject(outcome.json);
    const token = result?.status === 'PendingConfirm' && typeof result.confirm_token === 'string' ? result.confirm_token : undefined;
    if (token !== undefined && elicit && mcp.server.getClientCapabilities()?.elicitation?.form !== undefined) {
      return confirmWithUser(tool, args, token, extra);
    }
    return success(outcome.json, result);
  });

  /** Ask the user; on accept send the one confirming call, else nothing. */
  async function confirmWithUser(tool: McpServedTool, args: Record<string, unknown>, token: string, extra: CallExtra): Promise<CallToolResult> {
    const summary = describeCall(tool.name, args);
    let action: 'accept' | 'decline' | 'cancel';
    try {
      ({ action } = await mcp.server.elicitInput(
        {
          mode: 'form',
          message: `${tools.mode}: confirm ${summary}? Accept sends it to the venue; decline drops it.`,
          requestedSchema: { type: 'object', properties: {} },
        },
        { relatedRequestId: extra.requestId, signal: extra.signal, timeout: confirmTimeoutMs },
      ));
    } catch (error) {
      logger.log('warn', { msg: `SafetyMode: confirmation of ${summary} not obtained, nothing sent: ${String(error)}`, tool: tool.name, mode: tools.mode });
      return refuse(tool, args, {
        error_type: 'ExecutionFailed',
        source: 'SafetyMode',
        code: 'CONFIRMATION_FAILED',
        message: `SafetyMode: the confirmation request failed (${error instanceof Error ? error.message : String(error)}); nothing was sent`,
      });
    }
    if (action !== 'accept') {
      const verb = action === 'decline' ? 'declined' : 'dismissed';
      logger.log('info', { msg: `SafetyMode: the user ${verb} ${summary}; nothing sent`, tool: tool.name, mode: tools.mode });
      return refuse(tool, args, {
        error_type: 'ExecutionFailed',
        source: 'SafetyMode',
        code: action === 'decline' ? 'USER_DECLINED' : 'USER_CANCELLED',
        message: `SafetyMode: the user ${verb} ${summary}; nothing was sent`,
      });
    }
    logger.log('info', { msg: `SafetyMode: the user accepted ${summary}`, tool: tool.name, mode: tools.mode });
    const confirmed = await call(tool, { ...args, confirm_token: token });
    return confirmed.ok ? success(confirmed.json, parseObject(confirmed.json)) : refusal(confirmed.error);
  }

  mcp.registerResource(
    'portfolio',
    PORTFOLIO_RESOURCE_URI,
    { title: 'Portfolio', description: 'Balances, positions and open orders (query_portfolio).', mimeType: 'application/json' },
    async (uri) => {
      const query = byName.get('query_portfolio');
      if (query === undefined) throw new McpError(ErrorCode.InvalidRequest, 'these tools have no query_portfolio');
      const outcome = await run(query, '{}');
      if (!outcome.ok) throw new McpError(ErrorCode.InternalError, outcome.error.message);
      return { contents: [{ uri: uri.href, mimeType: 'application/json', text: outcome.json }] };
    },
  );
  mcp.registerResource(
    'risk-state',
    RISK_STATE_RESOURCE_URI,
    { title: 'Risk state', description: 'Safety mode, configured limits and gate, daily counters, breaker openings, pending confirmations.', mimeType: 'application/json' },
    (uri) => {
      const text = JSON.stringify({ mode: tools.mode, limits: options.limits ?? {}, state: tools.state() });
      return { contents: [{ uri: uri.href, mimeType: 'application/json', text }] };
    },
  );
  return mcp;
}

function toolDefinition(tool: McpServedTool): McpToolDefinition {
  const outputSchema = toolOutputSchema(tool.name);
  return {
    name: tool.name,
    description: tool.description,
    inputSchema: objectSchema(tool.name, tool.parameters),
    ...(outputSchema === undefined ? {} : { outputSchema }),
    annotations: toolAnnotations(tool.name),
  };
}

/** The tool's own JSON Schema, passed through; MCP requires an object at the root. */
function objectSchema(name: string, schema: Readonly<Record<string, unknown>>): ObjectJsonSchema {
  if (schema.type !== 'object') throw new TypeError(`axon-llm/mcp: tool ${name}: parameters must be a JSON Schema of type "object"`);
  return { ...schema, type: 'object' };
}

/** Run one call; a refusal (ToolError) is an outcome, anything else is a fault and propagates. */
async function run(tool: McpServedTool, args: string): Promise<Outcome> {
  try {
    return { ok: true, json: await tool.execute(args) };
  } catch (error) {
    if (error instanceof ToolError) return { ok: false, error: error.toJSON() };
    throw error;
  }
}

function parseObject(json: string): Record<string, unknown> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return undefined;
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function success(json: string, structured: Record<string, unknown> | undefined): CallToolResult {
  return structured === undefined ? { content: [{ type: 'text', text: json }] } : { content: [{ type: 'text', text: json }], structuredContent: structured };
}

function refusal(error: ToolErrorJson): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(error) }], structuredContent: { ...error }, isError: true };
}

/**
 * `place_order symbol="BTC-USDT" side="Buy" quantity=0.1 price=49000`: the call as the user confirms
 * it. Values are JSON (strings quoted), so a model-chosen string cannot pose as another field.
 */
function describeCall(name: string, args: Record<string, unknown>): string {
  const fields = Object.entries(args)
    .filter(([key, value]) => value !== null && value !== undefined && key !== 'confirm_token')
    .map(([key, value]) => `${key}=${JSON.stringify(value)}`);
  return [name, ...fields].join(' ');
}
