// The real axon-oms binary on loopback for tests, plus the network misfits a client must survive:
// a port nobody listens on, a service that accepts but never answers, and a proxy that loses answers.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const ROOT = join(__dirname, '..', '..');
const BINARY = join(ROOT, 'target', 'debug', 'axon-oms');
const SOURCES = join(ROOT, 'crates', 'axon-oms', 'src');

function newestSource(dir: string): number {
  return Math.max(
    ...readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newestSource(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs)),
  );
}

/** `target/debug/axon-oms`, built first when missing or older than its sources. */
export function omsBinary(): string {
  if (!existsSync(BINARY) || statSync(BINARY).mtimeMs < newestSource(SOURCES)) {
    execFileSync('cargo', ['build', '-p', 'axon-oms', '--bin', 'axon-oms'], { cwd: ROOT, stdio: 'inherit' });
  }
  return BINARY;
}

export interface OmsServer {
  url: string;
  port: number;
  journal: string;
  /** One JSON request, as a venue connector (or an operator) would send it. */
  call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }>;
  /** Send `signal` (default SIGKILL) and wait for the exit; resolves to the exit code (null when killed). */
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export function tempJournal(): string {
  return join(mkdtempSync(join(tmpdir(), 'axon-oms-ts-')), 'journal.bin');
}

/** Start axon-oms on `port` (default 0: any free port) with `journal` (default: a fresh temp file). */
export async function startOms(options: { journal?: string; port?: number } = {}): Promise<OmsServer> {
  const journal = options.journal ?? tempJournal();
  const child = spawn(omsBinary(), ['--host', '127.0.0.1', '--port', String(options.port ?? 0), '--journal', journal], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const lines = createInterface({ input: child.stdout! });
  const port = await new Promise<number>((resolve, reject) => {
    lines.once('line', (line) => {
      const match = /^listening on 127\.0\.0\.1:(\d+)$/.exec(line.trim());
      if (match) resolve(Number(match[1]));
      else reject(new Error(`axon-oms printed ${JSON.stringify(line)}`));
    });
    void exited.then((code) => reject(new Error(`axon-oms exited with ${code}: ${stderr}`)));
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    port,
    journal,
    async call(method, path, body) {
      const response = await fetch(`${url}${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
      return { status: response.status, body: (await response.json()) as Record<string, unknown> };
    },
    kill(signal = 'SIGKILL') {
      child.kill(signal);
      return exited;
    },
  };
}

/** A loopback port that was free a moment ago and has no listener now. */
export async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface SilentServer {
  url: string;
  /** The first bytes received on each connection (the request head). */
  requests: string[];
  close(): Promise<void>;
}

/** Accepts connections and reads requests, never answers. */
export async function startSilentServer(): Promise<SilentServer> {
  const sockets = new Set<Socket>();
  const requests: string[] = [];
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.once('data', (chunk: Buffer) => requests.push(chunk.toString()));
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

export interface LossyProxy {
  url: string;
  /** Lose the answer of the next `count` requests: forwarded and handled upstream, then the connection is cut. */
  loseAnswers(count: number): void;
  /** Requests forwarded so far. */
  forwarded: number;
  close(): Promise<void>;
}

/** A TCP proxy in front of `upstreamPort` that can drop answers after the upstream handled the request. */
export async function startLossyProxy(upstreamPort: number): Promise<LossyProxy> {
  let toLose = 0;
  const sockets = new Set<Socket>();
  const state = { forwarded: 0 };
  const server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    const lose = toLose > 0;
    if (lose) toLose -= 1;
    state.forwarded += 1;
    const upstream = connect(upstreamPort, '127.0.0.1');
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    // The proxy sees connections, not requests, and axon-oms keeps connections alive: the first
    // chunk (it holds the request line) gains `Connection: close`, so that the OMS closes after one
    // answer and a connection is exactly one request (what `forwarded` and `loseAnswers` count).
    let first = true;
    client.on('data', (chunk: Buffer) => {
      upstream.write(first ? chunk.toString('latin1').replace('\r\n', '\r\nConnection: close\r\n') : chunk, 'latin1');
      first = false;
    });
    client.on('end', () => upstream.end());
    upstream.on('data', (chunk: Buffer) => {
      if (lose) client.destroy();
      else client.write(chunk);
    });
    upstream.on('end', () => client.end());
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    loseAnswers(count) {
      toLose = count;
    },
    get forwarded() {
      return state.forwarded;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
