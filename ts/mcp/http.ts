// The MCP server over Streamable HTTP: one MCP session (server + transport) per client, all over the
// same guarded tools. Invariants:
// - a non-loopback address is served only with a bearer token; with a token, every request without
//   it or with another one is answered 401 before anything else is read (constant-time compare);
// - on a loopback address a request whose Host or Origin names another host is refused (403), so a
//   web page cannot reach the server through DNS rebinding;
// - at most `maxSessions` sessions are kept; a new one closes the least recently used.
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';

import { silentLogger, type Logger } from '../log';
import { isLoopbackHost, MIN_TOKEN_LENGTH } from './loopback';

export interface McpHttpOptions {
  /** TCP port; 0 picks a free one (see `McpHttpServer.url`). */
  port: number;
  /** Address to bind, default `127.0.0.1`. Anything but loopback needs `token`. */
  host?: string;
  /** Bearer token every request must carry (`Authorization: Bearer <token>`), at least 16 characters. */
  token?: string;
  /** URL path of the endpoint, default `/mcp`. */
  path?: string;
  maxSessions?: number;
  /** Largest request body read, default 1 MiB. */
  maxBodyBytes?: number;
  logger?: Logger;
}

export interface McpHttpServer {
  /** The endpoint, e.g. `http://127.0.0.1:39211/mcp`. */
  readonly url: string;
  /** Close every session and stop listening. */
  close(): Promise<void>;
}

interface Session {
  transport: StreamableHTTPServerTransport;
  server: McpServer;
  lastUsed: number;
}

class HttpAnswer extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Serve `createServer()` (one per session) at `http://host:port/mcp`. Rejects, naming the option,
 * when a non-loopback host has no token or the token is too short.
 */
export async function serveMcpHttp(createSession: () => McpServer, options: McpHttpOptions): Promise<McpHttpServer> {
  const host = options.host ?? '127.0.0.1';
  const path = options.path ?? '/mcp';
  const maxSessions = options.maxSessions ?? 16;
  const maxBodyBytes = options.maxBodyBytes ?? 1 << 20;
  const logger = options.logger ?? silentLogger;
  const loopback = isLoopbackHost(host);
  if (options.token !== undefined && options.token.length < MIN_TOKEN_LENGTH) {
    throw new TypeError(`axon-llm/mcp: token must be at least ${MIN_TOKEN_LENGTH} characters, got ${options.token.length}`);
  }
  if (!loopback && options.token === undefined) {
    throw new TypeError(`axon-llm/mcp: host ${host} is not a loopback address: serving it requires the token option`);
  }
  const expected = options.token === undefined ? undefined : digest(options.token);
  const sessions = new Map<string, Session>();

  const authorized = (req: IncomingMessage): boolean => {
    if (expected === undefined) return true;
    const header = req.headers.authorization ?? '';
    const match = /^Bearer (.+)$/i.exec(header);
    // Digests of equal length: the compare takes the same time whatever was sent.
    return match !== null && timingSafeEqual(digest(match[1] as string), expected);
  };

  /** Host and Origin must name this machine when serving loopback (DNS rebinding). */
  const sameMachine = (req: IncomingMessage): boolean => {
    if (!loopback) return true;
    const hostHeader = req.headers.host;
    if (hostHeader === undefined || !isLoopbackHost(hostnameOf(hostHeader))) return false;
    const origin = req.headers.origin;
    if (origin === undefined) return true;
    try {
      return isLoopbackHost(new URL(origin).hostname);
    } catch {
      return false;
    }
  };

  const openSession = async (req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> => {
    if (sessions.size >= maxSessions) evictLeastRecentlyUsed();
    const server = createSession();
    const transport: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        sessions.set(id, { transport, server, lastUsed: Date.now() });
        logger.log('info', { msg: `mcp: session ${id} opened (${sessions.size} open)` });
      },
    });
    transport.onclose = () => {
      if (transport.sessionId !== undefined) sessions.delete(transport.sessionId);
    };
    await server.connect(transport);
    await transport.handleRequest(req, res, body);
  };

  const evictLeastRecentlyUsed = (): void => {
    let oldest: [string, Session] | undefined;
    for (const entry of sessions) if (oldest === undefined || entry[1].lastUsed < oldest[1].lastUsed) oldest = entry;
    if (oldest === undefined) return;
    sessions.delete(oldest[0]);
    logger.log('info', { msg: `mcp: session ${oldest[0]} closed to make room (max ${maxSessions})` });
    void oldest[1].server.close();
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!authorized(req)) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="axon-llm"');
      throw new HttpAnswer(401, 'Unauthorized: a valid bearer token is required');
    }
    if (!sameMachine(req)) throw new HttpAnswer(403, 'Forbidden: Host and Origin must name this machine');
    if (new URL(req.url ?? '/', 'http://localhost').pathname !== path) throw new HttpAnswer(404, `Not found: the MCP endpoint is ${path}`);
    const sessionId = req.headers['mcp-session-id'];
    const session = typeof sessionId === 'string' ? sessions.get(sessionId) : undefined;
    if (typeof sessionId === 'string' && session === undefined) throw new HttpAnswer(404, 'Session not found: initialize again');
    if (session !== undefined) session.lastUsed = Date.now();
    if (req.method === 'POST') {
      const body = parseJson(await readBody(req, maxBodyBytes));
      if (session !== undefined) return session.transport.handleRequest(req, res, body);
      if (!isInitializeRequest(body)) throw new HttpAnswer(400, 'Bad request: no mcp-session-id; send initialize first');
      return openSession(req, res, body);
    }
    if (req.method === 'GET' || req.method === 'DELETE') {
      if (session === undefined) throw new HttpAnswer(400, 'Bad request: mcp-session-id header required');
      return session.transport.handleRequest(req, res);
    }
    res.setHeader('Allow', 'GET, POST, DELETE');
    throw new HttpAnswer(405, `Method not allowed: ${req.method ?? ''}`);
  };

  const http = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      const status = error instanceof HttpAnswer ? error.status : 500;
      const message = error instanceof HttpAnswer ? error.message : 'Internal error';
      if (!(error instanceof HttpAnswer)) logger.log('error', { msg: `mcp: HTTP request failed: ${String(error)}` });
      if (res.headersSent) {
        res.end();
        return;
      }
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null }));
      // An unread body (refused before reading) must not keep the connection waiting.
      if (!req.complete) req.resume();
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port, host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const address = http.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${urlHost}:${address.port}${path}`,
    close: async () => {
      const open = [...sessions.values()];
      sessions.clear();
      await Promise.all(open.map((session) => session.server.close()));
      await new Promise<void>((resolve) => {
        http.close(() => { resolve(); });
        http.closeAllConnections();
      });
    },
  };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** `127.0.0.1:8080` -> `127.0.0.1`, `[::1]:8080` -> `[::1]`. */
function hostnameOf(hostHeader: string): string {
  if (hostHeader.startsWith('[')) return hostHeader.slice(0, hostHeader.indexOf(']') + 1);
  const colon = hostHeader.lastIndexOf(':');
  return colon < 0 ? hostHeader : hostHeader.slice(0, colon);
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        // Answer 413 and drop the rest unread (the socket stays usable for the answer).
        req.removeAllListeners('data');
        req.resume();
        reject(new HttpAnswer(413, `Payload too large: more than ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => { resolve(Buffer.concat(chunks).toString('utf8')); });
    req.on('error', reject);
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpAnswer(400, 'Parse error: the body is not JSON');
  }
}
