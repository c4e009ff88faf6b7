// One replica of the trading agent as a real process, for the multi-process proofs at the TOOL
// level: `createTradingTools` with its own mock venue and the configured risk state (the Redis store
// opened here with a clock the parent can move, or a file), driven over IPC. Every order the venue
// receives is first appended (synchronously, to the kernel) to this replica's ledger file, so what
// the venues received is known exactly even after a kill -9.
//
// Runs the built tools (dist/ of the repository, `npm run build:ts`; AXON_DIST names its ts folder):
// they are required from there at runtime, the imports here are types only, so this file compiles
// on its own into a temp folder.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';

import type { MockTradingBackend as MockBackendClass } from '../../ts/backends/mock';
import type { FileStateStore as FileStoreClass } from '../../ts/state/file-store';
import type { RedisStateStore as RedisStoreClass } from '../../ts/state/redis-store';
import type { createTradingTools as CreateTools, GateOptions, RiskOptions, ToolCallResult, TradingTools } from '../../ts/tools';
import type { OrderRequest } from '../../ts/types';

const DIST = process.env.AXON_DIST ?? join(__dirname, '..', '..', 'dist', 'ts');

export interface ReplicaConfig {
  state: { type: 'redis'; url: string; account: string; timeoutMs: number } | { type: 'file'; path: string };
  mode: 'Direct' | 'TwoPhase';
  risk: RiskOptions;
  gate?: GateOptions;
  /** Each order's outcome waits this long for the venue; the lease is twice it. */
  backendTimeoutMs: number;
  /** Where this replica's venue writes one line per order it receives. */
  ledger: string;
}

export type ReplicaCommand =
  | { op: 'burst'; id: number; count: number; args: object }
  | { op: 'loop'; id: number; args: object }
  | { op: 'call'; id: number; args: object }
  | { op: 'advance'; id: number; ms: number }
  | { op: 'reset-gate'; id: number };

export type ReplicaEvent =
  | { type: 'ready'; pid: number }
  | { type: 'open-failed'; message: string }
  | { type: 'result'; id: number; results: ToolCallResult[] };

/** A module of the built tools (dist/ts/<path>), typed by the caller. */
function built(path: string): unknown {
  // The built JS is loaded at runtime on purpose: this file is transpiled alone (see the header).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(join(DIST, path));
}

let offsetMs = 0;
const nowMs = (): number => Date.now() + offsetMs;

function send(event: ReplicaEvent): void {
  process.send?.(event);
}

/** The mock venue, its order calls first written to the ledger (what a venue received survives the process). */
function venue(config: ReplicaConfig): MockBackendClass {
  const { MockTradingBackend } = built('backends/mock') as { MockTradingBackend: typeof MockBackendClass };
  const backend = new MockTradingBackend({ cash: 1e12, referencePrices: { 'BTC-USDT': 20_000 } });
  const record = (request: OrderRequest) => {
    appendFileSync(config.ledger, `${request.clientOrderId}\n`);
  };
  const sync = backend.syncOrders;
  if (sync !== undefined) {
    const place = sync.placeOrder.bind(sync);
    sync.placeOrder = (request) => {
      record(request);
      return place(request);
    };
  }
  const placeAsync = backend.placeOrder.bind(backend);
  backend.placeOrder = (request) => {
    record(request);
    return placeAsync(request);
  };
  return backend;
}

async function openState(config: ReplicaConfig): Promise<RedisStoreClass | FileStoreClass> {
  if (config.state.type === 'file') {
    const { FileStateStore } = built('state/file-store') as { FileStateStore: typeof FileStoreClass };
    return FileStateStore.open({ path: config.state.path });
  }
  const { RedisStateStore } = built('state/redis-store') as { RedisStateStore: typeof RedisStoreClass };
  return RedisStateStore.open({ url: config.state.url, account: config.state.account, timeoutMs: config.state.timeoutMs, nowMs });
}

const silent = { log: () => undefined, isEnabled: () => false };

async function main(): Promise<void> {
  const config = JSON.parse(process.env.REPLICA_CONFIG ?? '{}') as ReplicaConfig;
  let tools: TradingTools;
  let state: RedisStoreClass | FileStoreClass;
  try {
    state = await openState(config);
    const { createTradingTools } = built('tools') as { createTradingTools: typeof CreateTools };
    tools = createTradingTools({
      backend: venue(config),
      mode: config.mode,
      risk: config.risk,
      ...(config.gate ? { gate: config.gate } : {}),
      backendTimeoutMs: config.backendTimeoutMs,
      logger: silent,
      state,
    });
  } catch (error) {
    send({ type: 'open-failed', message: (error as Error).message });
    process.exit(3);
  }
  const place = (args: object) => tools.placeOrder.call(JSON.stringify(args));
  process.on('message', (message: ReplicaCommand) => {
    void (async () => {
      switch (message.op) {
        case 'burst':
          send({ type: 'result', id: message.id, results: await Promise.all(Array.from({ length: message.count }, () => place(message.args))) });
          break;
        case 'loop':
          // Until killed: batches of 20 concurrent orders, a millisecond apart (the other processes of the test get CPU too).
          for (;;) {
            await Promise.all(Array.from({ length: 20 }, () => place(message.args)));
            await new Promise((resolve) => setTimeout(resolve, 1));
          }
        case 'call':
          send({ type: 'result', id: message.id, results: [await place(message.args)] });
          break;
        case 'advance':
          offsetMs += message.ms;
          send({ type: 'result', id: message.id, results: [] });
          break;
        case 'reset-gate':
          await tools.resetGate();
          send({ type: 'result', id: message.id, results: [] });
          break;
      }
    })();
  });
  process.on('disconnect', () => {
    tools.close();
    void state.close().then(() => process.exit(0));
  });
  send({ type: 'ready', pid: process.pid });
}

void main();
