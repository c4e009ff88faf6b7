// The built program (`dist/ts/cli.js`) as a process for the trading-state specs: a live config on
// the mock or the OMS, a scripted model, and waits on what the program writes (never on time).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { AuditRecord } from '../../ts/agent/audit';
import type { ChatRequest, ScriptedReply } from './openai-server';

export const CLI = join(__dirname, '..', '..', 'dist', 'ts', 'cli.js');
export const ADMIN_TOKEN = 'admin-token-9f8e7d6c5b4a3210';

export interface LiveSetup {
  dir: string;
  config: string;
  auditPath: string;
}

/** A live config in a fresh directory: Direct mode, the model at `modelUrl`, until stopped (or `maxCycles`), `agent` and `extra` TOML appended. */
export function liveConfig(options: { backend: 'mock' | 'oms'; modelUrl: string; omsUrl?: string; maxCycles?: number; agent?: string; extra?: string }): LiveSetup {
  const dir = mkdtempSync(join(tmpdir(), 'axon-states-'));
  const auditPath = join(dir, 'audit.jsonl');
  const text = [
    '[trading]',
    `backend = "${options.backend}"`,
    ...(options.omsUrl === undefined ? [] : [`base_url = "${options.omsUrl}"`]),
    '[safety]',
    'mode = "Direct"',
    '[risk]',
    'daily_counts_file = "none"',
    '[mock]',
    'reference_prices = { "BTC-USDT" = 20000 }',
    '[llm]',
    'provider = "openai"',
    `base_url = "${options.modelUrl}"`,
    'api_key = "sk-local"',
    'max_retries = 0',
    '[agent]',
    `audit = "${auditPath}"`,
    `summary_json = "${join(dir, 'summary.json')}"`,
    'interval_ms = 20',
    `max_cycles = ${options.maxCycles ?? 0}`,
    options.agent ?? '',
    options.extra ?? '',
  ].join('\n');
  const config = join(dir, 'config.toml');
  writeFileSync(config, text);
  return { dir, config, auditPath };
}

export interface Running {
  child: ChildProcess;
  /** Resolves once stderr matches `pattern` (at once if it already does); the match. */
  stderrMatch(pattern: RegExp): Promise<RegExpMatchArray>;
  finished: Promise<{ code: number | null; out: string; err: string }>;
  readonly err: string;
}

export function startProgram(args: string[], env: NodeJS.ProcessEnv = {}): Running {
  const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH, LOG_LEVEL: 'info', ...env } });
  let out = '';
  let err = '';
  const waiters: Array<{ pattern: RegExp; resolve: (m: RegExpMatchArray) => void }> = [];
  const check = () => {
    for (let i = waiters.length - 1; i >= 0; i -= 1) {
      const waiter = waiters[i];
      const match = waiter === undefined ? null : err.match(waiter.pattern);
      if (waiter !== undefined && match !== null) {
        waiters.splice(i, 1);
        waiter.resolve(match);
      }
    }
  };
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString();
    check();
  });
  const finished = new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
    child.on('exit', (code) => {
      // Whatever was awaited can no longer come: fail those waits with the output.
      for (const waiter of waiters.splice(0)) waiter.resolve(Object.assign([] as string[], { index: -1 }) as unknown as RegExpMatchArray);
      resolve({ code, out, err });
    });
  });
  return {
    child,
    finished,
    get err() {
      return err;
    },
    stderrMatch: (pattern) =>
      new Promise<RegExpMatchArray>((resolve, reject) => {
        const match = err.match(pattern);
        if (match !== null) {
          resolve(match);
          return;
        }
        waiters.push({
          pattern,
          resolve: (m) => {
            if (m.index === -1) reject(new Error(`the program exited before stderr matched ${String(pattern)}:\n${err}`));
            else resolve(m);
          },
        });
      }),
  };
}

/** The admin endpoint's URL, from the program's log line (`listen = "127.0.0.1:0"` picks a free port). */
export async function adminUrl(program: Running): Promise<string> {
  const match = await program.stderrMatch(/admin endpoint listening on (http:\/\/127\.0\.0\.1:\d+)/);
  return match[1] as string;
}

export async function admin(url: string, method: 'GET' | 'POST', path: string, body?: unknown, token = ADMIN_TOKEN): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { ...(token === '' ? {} : { authorization: `Bearer ${token}` }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

export function auditRecords(path: string): AuditRecord[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as AuditRecord);
}

/** `llm-trading-agent audit verify PATH`: exit code and output. */
export function auditVerify(path: string): { code: number | null; out: string } {
  const run = spawnSync(process.execPath, [CLI, 'audit', 'verify', path], { encoding: 'utf8' });
  return { code: run.status, out: `${run.stdout}${run.stderr}` };
}

/** The last message of a chat request is a tool result (the model is answering an order's outcome). */
export const answersTool = (request: ChatRequest): boolean => request.messages[request.messages.length - 1]?.role === 'tool';

/** A model that places a resting limit buy (19,000 + n) on each of its first `orders` observations, then holds. */
export function restingBuyer(orders: number): (request: ChatRequest) => ScriptedReply {
  let observations = 0;
  return (request) => {
    if (answersTool(request)) return { content: 'noted' };
    observations += 1;
    if (observations > orders) return { content: 'hold' };
    return { toolCalls: [{ name: 'place_order', arguments: `{"symbol":"BTC-USDT","side":"Buy","quantity":0.01,"price":${19_000 + observations}}` }] };
  };
}

/**
 * The observation (parsed) the program sent the model on its second observation request after
 * `requests[from]`: the first may have read the venue before `from` was taken; the second started
 * after the first one reached the model. Waits for it by yielding to the event loop (the model's
 * server runs in this process), never on a timer.
 */
export async function observationAfter(requests: readonly ChatRequest[], from: number): Promise<{ open_orders: unknown[] }> {
  const observations = () => requests.slice(from).filter((r) => !answersTool(r));
  while (observations().length < 2) await new Promise((resolve) => setImmediate(resolve));
  return JSON.parse(observations()[1]?.messages[1]?.content ?? '{}') as { open_orders: unknown[] };
}

/** The order ids of the tool results the model has seen so far (acks of placed orders). */
export function placedOrderIds(requests: readonly ChatRequest[]): string[] {
  const ids = new Set<string>();
  for (const request of requests) {
    for (const message of request.messages) {
      if (message.role !== 'tool' || message.content === null) continue;
      const id = /"order_id":"([^"]+)"/.exec(message.content)?.[1];
      if (id !== undefined && !message.content.includes('"code"')) ids.add(id);
    }
  }
  return [...ids];
}
