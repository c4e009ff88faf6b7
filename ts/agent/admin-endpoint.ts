// The live program's admin endpoint (`[admin] listen`): an operator's (or a watchdog's) HTTP access
// to the trading state, the kill switch and the dead-man heartbeat.
//
//   GET  /state        -> 200 { state, dead_man? }
//   POST /state        { "state": "ACTIVE" | "REDUCING" | "HALTED", "reason": "..." } -> 200 { previous, state }
//   POST /kill         { "reason"?: "..." } (body optional) -> 200 { state, cancelled, failed } (502 when a cancel
//                      failed, or { state, error } when the open orders could not be listed)
//   POST /heartbeat    -> 200 { state, dead_man } (404 when no dead-man timer is configured)
//
// Invariants: it listens on a loopback address only and never without a token (16+ characters);
// every request needs `Authorization: Bearer <token>` (compared in constant time over SHA-256
// digests), else 401 before anything is read or changed; a Host header naming another machine is
// 403 (DNS rebinding); a body is JSON checked by zod (400 naming the field), at most 64 KiB.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { z } from 'zod';

import type { Logger } from '../log';
import { isLoopbackHost, MIN_TOKEN_LENGTH } from '../mcp/loopback';
import { tradingStateSchema, type CancelAllResult, type StateChangeBy, type TradingState } from '../trading-state';
import { describeZodError } from '../zod-issues';

/** What the dead-man timer says on `GET /state` and `POST /heartbeat`. */
export interface DeadManView {
  timeout_ms: number;
  silent_for_ms: number;
  expired: boolean;
}

/** What the endpoint does, supplied by the program. */
export interface AdminActions {
  state(): TradingState;
  /** Returns the previous state. */
  setState(state: TradingState, by: StateChangeBy): TradingState;
  kill(by: StateChangeBy): Promise<CancelAllResult>;
  /** Absent without a dead-man timer. */
  deadMan?: { heartbeat(): void; view(): DeadManView };
}

export interface AdminEndpointOptions {
  host: string;
  /** 0: any free port (read it from `url`). */
  port: number;
  token: string;
  actions: AdminActions;
  logger?: Logger;
}

export interface AdminEndpoint {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 64 * 1024;
/** Every change made here carries this source in the log and the audit. */
const SOURCE = 'admin';

const setStateBodySchema = z.strictObject({
  state: tradingStateSchema,
  reason: z.string().min(1, 'must say why (it goes into the audit)').max(500),
});
const killBodySchema = z.strictObject({ reason: z.string().min(1).max(500).optional() });

class HttpAnswer extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
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

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.removeAllListeners('data');
        req.resume();
        reject(new HttpAnswer(413, `payload too large: more than ${MAX_BODY_BYTES} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', reject);
  });
}

/** The body checked by `schema`; an empty body is `{}` when `optional`. */
async function jsonBody<T>(req: IncomingMessage, schema: z.ZodType<T>, optional: boolean): Promise<T> {
  const text = await readBody(req);
  let raw: unknown;
  if (text.trim() === '' && optional) raw = {};
  else {
    try {
      raw = JSON.parse(text);
    } catch {
      throw new HttpAnswer(400, 'bad request: the body is not JSON');
    }
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new HttpAnswer(400, `bad request: ${describeZodError(parsed.error, '(body)')}`);
  return parsed.data;
}

/** Serve the admin endpoint. Rejects (naming the option) on a non-loopback host or a short token, or when the port is taken. */
export async function serveAdmin(options: AdminEndpointOptions): Promise<AdminEndpoint> {
  const { host, actions, logger } = options;
  if (!isLoopbackHost(host)) throw new TypeError(`admin endpoint: host ${host} is not a loopback address`);
  if (options.token.length < MIN_TOKEN_LENGTH) {
    throw new TypeError(`admin endpoint: the token must be at least ${MIN_TOKEN_LENGTH} characters, got ${options.token.length}`);
  }
  const expected = digest(options.token);

  const authorized = (req: IncomingMessage): boolean => {
    const match = /^Bearer (.+)$/i.exec(req.headers.authorization ?? '');
    // Digests of equal length: the compare takes the same time whatever was sent.
    return match !== null && timingSafeEqual(digest(match[1] ?? ''), expected);
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<{ status: number; body: unknown }> => {
    if (!authorized(req)) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="axon-llm admin"');
      throw new HttpAnswer(401, 'unauthorized: a valid bearer token is required');
    }
    const hostHeader = req.headers.host;
    if (hostHeader === undefined || !isLoopbackHost(hostnameOf(hostHeader))) throw new HttpAnswer(403, 'forbidden: the Host header must name this machine');
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const method = req.method ?? '';
    const allow = (methods: string) => {
      res.setHeader('Allow', methods);
      return new HttpAnswer(405, `method not allowed: ${method} ${path} (allowed: ${methods})`);
    };
    switch (path) {
      case '/state': {
        if (method === 'GET') return { status: 200, body: { state: actions.state(), ...(actions.deadMan === undefined ? {} : { dead_man: actions.deadMan.view() }) } };
        if (method !== 'POST') throw allow('GET, POST');
        const body = await jsonBody(req, setStateBodySchema, false);
        const previous = actions.setState(body.state, { source: SOURCE, reason: body.reason });
        return { status: 200, body: { previous, state: actions.state() } };
      }
      case '/kill': {
        if (method !== 'POST') throw allow('POST');
        const body = await jsonBody(req, killBodySchema, true);
        let result: CancelAllResult;
        try {
          result = await actions.kill({ source: SOURCE, reason: body.reason ?? 'POST /kill' });
        } catch (error) {
          // The venue could not list the open orders: nothing is known cancelled, the state is HALTED all the same.
          return { status: 502, body: { state: actions.state(), error: error instanceof Error ? error.message : String(error) } };
        }
        return { status: result.failed.length === 0 ? 200 : 502, body: { state: actions.state(), cancelled: result.cancelled, failed: result.failed } };
      }
      case '/heartbeat': {
        if (method !== 'POST') throw allow('POST');
        if (actions.deadMan === undefined) throw new HttpAnswer(404, 'no dead-man timer: set [agent] heartbeat_timeout_ms to use heartbeats');
        actions.deadMan.heartbeat();
        return { status: 200, body: { state: actions.state(), dead_man: actions.deadMan.view() } };
      }
      default:
        throw new HttpAnswer(404, `not found: ${path} (the endpoints are /state, /kill, /heartbeat)`);
    }
  };

  const server = createServer((req, res) => {
    route(req, res).then(
      ({ status, body }) => {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(body));
      },
      (error: unknown) => {
        const status = error instanceof HttpAnswer ? error.status : 500;
        const message = error instanceof HttpAnswer ? error.message : `internal error: ${error instanceof Error ? error.message : String(error)}`;
        if (status >= 500) logger?.log('error', { msg: `admin endpoint: ${req.method ?? ''} ${req.url ?? ''} failed: ${message}` });
        if (res.headersSent) {
          res.end();
          return;
        }
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ error: message }));
        // A body refused before it was read must not keep the connection waiting.
        if (!req.complete) req.resume();
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${urlHost}:${address.port}`;
  logger?.log('info', { msg: `admin endpoint listening on ${url} (GET/POST /state, POST /kill, POST /heartbeat)`, url });
  return {
    url,
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}
