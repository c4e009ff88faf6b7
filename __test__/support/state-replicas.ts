// Real replica processes for the multi-process state specs: compiles state-worker.ts (and the
// store it imports) once with tsc into a temp folder, forks children that hold a store each, and
// keeps what every child reported (grants, releases) even after a kill -9.
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { WorkerCommand, WorkerEvent, WorkerStore } from './state-worker';

const ROOT = join(__dirname, '..', '..');

/** Compiles the worker; returns the path of its JS (under a temp folder: `removeWorker` deletes it). */
export function compileWorker(): string {
  const out = mkdtempSync(join(tmpdir(), 'axon-state-worker-'));
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  execFileSync(
    process.execPath,
    [tsc, '--outDir', out, '--rootDir', ROOT, '--module', 'node20', '--moduleResolution', 'node16', '--target', 'ES2022', '--strict', '--skipLibCheck', '--types', 'node', join(ROOT, '__test__', 'support', 'state-worker.ts')],
    { cwd: ROOT, stdio: 'inherit' },
  );
  return join(out, '__test__', 'support', 'state-worker.js');
}

export function removeWorker(workerJs: string): void {
  rmSync(join(workerJs, '..', '..', '..'), { recursive: true, force: true });
}

type Result = Extract<WorkerEvent, { type: 'result' }>;
/** A command without its id (distributed over the union, so each keeps its own fields). */
export type Command = WorkerCommand extends infer C ? (C extends WorkerCommand ? Omit<C, 'id'> : never) : never;

export class Replica {
  readonly granted = new Set<string>();
  readonly releasing = new Set<string>();
  private readonly child: ChildProcess;
  private nextId = 0;
  private readonly waiting = new Map<number, (result: Result) => void>();
  private readonly exited: Promise<void>;

  private constructor(workerJs: string, store: WorkerStore) {
    this.child = fork(workerJs, [], {
      env: { ...process.env, STATE_WORKER: JSON.stringify(store), NODE_PATH: join(ROOT, 'node_modules') },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.exited = new Promise((resolve) => {
      this.child.once('exit', () => {
        resolve();
      });
    });
    this.child.on('message', (event: WorkerEvent) => {
      if (event.type === 'granted') this.granted.add(event.reservationId);
      else if (event.type === 'releasing') this.releasing.add(event.reservationId);
      else if (event.type === 'result') {
        this.waiting.get(event.id)?.(event);
        this.waiting.delete(event.id);
      }
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Starts a replica; rejects with the child's own message when its store does not open. */
  static start(workerJs: string, store: WorkerStore): Promise<Replica> {
    const replica = new Replica(workerJs, store);
    return new Promise((resolve, reject) => {
      replica.child.on('message', (event: WorkerEvent) => {
        if (event.type === 'ready') resolve(replica);
        if (event.type === 'open-failed') reject(new Error(event.message));
      });
      replica.child.once('exit', (code) => {
        reject(new Error(`replica exited with ${String(code)} before it was ready`));
      });
    });
  }

  call(command: Command): Promise<Result> {
    const id = ++this.nextId;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, resolve);
      this.child.send({ ...command, id }, (error) => {
        if (error) reject(error);
      });
    });
  }

  /** Starts an endless order loop (until killed); grants are reported as they come. */
  startLoop(command: Omit<Extract<WorkerCommand, { op: 'loop' }>, 'id'>): void {
    this.child.send({ ...command, id: ++this.nextId });
  }

  async kill9(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** Closes the store (disconnect) and waits for the exit. */
  async stop(): Promise<void> {
    if (this.child.connected) this.child.disconnect();
    await this.exited;
  }
}
