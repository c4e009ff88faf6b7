// Real replica processes for the tool-level multi-process proofs: transpiles replica-worker.ts
// (type imports only: the type check is the test tsconfig's) into a temp folder, forks children that each run createTradingTools on their own mock
// venue, and reads what each venue received from its ledger file (exact, even after a kill -9).
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import ts from 'typescript';

import type { ToolCallResult } from '../../ts/tools';
import type { ReplicaCommand, ReplicaConfig, ReplicaEvent } from './replica-worker';

const ROOT = join(__dirname, '..', '..');

/** Transpiles the worker; returns the path of its JS (in a temp folder: `removeReplicaWorker` deletes it). */
export function compileReplicaWorker(): string {
  if (!existsSync(join(ROOT, 'dist', 'ts', 'tools.js'))) throw new Error('dist/ts/tools.js is missing: run `npm run build:ts` first');
  const source = readFileSync(join(ROOT, '__test__', 'support', 'replica-worker.ts'), 'utf8');
  const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true } });
  const out = mkdtempSync(join(tmpdir(), 'axon-replica-worker-'));
  mkdirSync(out, { recursive: true });
  const workerJs = join(out, 'replica-worker.js');
  writeFileSync(workerJs, outputText);
  return workerJs;
}

export function removeReplicaWorker(workerJs: string): void {
  rmSync(join(workerJs, '..'), { recursive: true, force: true });
}

type Result = Extract<ReplicaEvent, { type: 'result' }>;
/** A command without its id (distributed over the union, so each keeps its own fields). */
export type Command = ReplicaCommand extends infer C ? (C extends ReplicaCommand ? Omit<C, 'id'> : never) : never;

/** Orders the venue of a ledger received (one line each). */
export function venueOrders(ledger: string): number {
  if (!existsSync(ledger)) return 0;
  return readFileSync(ledger, 'utf8').split('\n').filter((line) => line !== '').length;
}

export class Replica {
  private readonly child: ChildProcess;
  private nextId = 0;
  private readonly waiting = new Map<number, (result: Result) => void>();
  private readonly exited: Promise<void>;

  private constructor(
    workerJs: string,
    readonly config: ReplicaConfig,
  ) {
    this.child = fork(workerJs, [], {
      env: { ...process.env, REPLICA_CONFIG: JSON.stringify(config), AXON_DIST: join(ROOT, 'dist', 'ts'), NODE_PATH: join(ROOT, 'node_modules') },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', () => {
        resolve();
      });
    });
    this.child.on('message', (event: ReplicaEvent) => {
      if (event.type !== 'result') return;
      this.waiting.get(event.id)?.(event);
      this.waiting.delete(event.id);
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Orders this replica's venue received. */
  get venueOrders(): number {
    return venueOrders(this.config.ledger);
  }

  /** Starts a replica; rejects with the child's own message when its tools or store do not open. */
  static start(workerJs: string, config: ReplicaConfig): Promise<Replica> {
    const replica = new Replica(workerJs, config);
    return new Promise((resolve, reject) => {
      replica.child.on('message', (event: ReplicaEvent) => {
        if (event.type === 'ready') resolve(replica);
        if (event.type === 'open-failed') reject(new Error(event.message));
      });
      replica.child.once('exit', (code) => {
        reject(new Error(`replica exited with ${String(code)} before it was ready`));
      });
    });
  }

  async call(command: Command): Promise<ToolCallResult[]> {
    const id = ++this.nextId;
    const result = await new Promise<Result>((resolve, reject) => {
      this.waiting.set(id, resolve);
      this.child.send({ ...command, id }, (error) => {
        if (error) reject(error);
      });
    });
    return result.results;
  }

  /** Starts an endless order loop (until killed). */
  startLoop(args: object): void {
    this.child.send({ op: 'loop', args, id: ++this.nextId });
  }

  async kill9(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** Closes the tools and the store (disconnect) and waits for the exit. */
  async stop(): Promise<void> {
    if (this.child.connected) this.child.disconnect();
    await this.exited;
  }
}

/** Count of each outcome: `sent` for an ack, else the refusal's code. */
export function tally(results: ToolCallResult[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of results) {
    const key = r.ok ? 'sent' : r.error.code;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}
