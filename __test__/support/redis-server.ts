// A real redis-server (Debian's /usr/bin/redis-server, or REDIS_SERVER) for the tests: started on a
// random loopback port in its own temp dir, optionally with AOF (`appendfsync always|everysec`);
// it can be killed with SIGKILL and restarted on the same dir and port (what a crash and a
// restart of the service look like to the clients).
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface RedisServerOptions {
  /** AOF persistence; `off` (default) keeps everything in memory only. */
  aof?: 'off' | 'always' | 'everysec';
}

const BINARY = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => {
        resolve(port);
      });
    });
  });
}

export class RedisServer {
  private child: ChildProcess | undefined;
  private output = '';

  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly options: RedisServerOptions,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    const dir = mkdtempSync(join(tmpdir(), 'axon-redis-'));
    let lastError: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
      const server = new RedisServer(await freePort(), dir, options);
      try {
        await server.launch();
        return server;
      } catch (error) {
        lastError = error; // the port was taken between probing and binding: try another
      }
    }
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`redis-server did not start: ${String(lastError)}`);
  }

  private launch(): Promise<void> {
    const aof = this.options.aof ?? 'off';
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', '', '--daemonize', 'no', '--protected-mode', 'yes', '--enable-debug-command', 'local'];
    args.push('--appendonly', aof === 'off' ? 'no' : 'yes');
    if (aof !== 'off') args.push('--appendfsync', aof);
    this.output = '';
    const child = spawn(BINARY, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    return new Promise((resolve, reject) => {
      const onData = (chunk: Buffer): void => {
        this.output += chunk.toString();
        if (this.output.includes('Ready to accept connections')) {
          child.stdout.off('data', onData);
          child.off('exit', onExit);
          // Keep draining so a full pipe never blocks the server.
          child.stdout.resume();
          resolve();
        }
      };
      const onExit = (code: number | null): void => {
        reject(new Error(`redis-server exited with ${String(code)} before it was ready:\n${this.output}`));
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', (chunk: Buffer) => {
        this.output += chunk.toString();
      });
      child.once('error', reject);
      child.once('exit', onExit);
    });
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** SIGKILL, as a crash: nothing is flushed beyond what the AOF policy already wrote. */
  async kill9(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => {
      child.once('exit', () => {
        resolve();
      });
    });
    child.kill('SIGKILL');
    await exited;
  }

  /** Start again on the same port and dir (after kill9 or stop), loading the AOF if there is one. */
  async restart(): Promise<void> {
    await this.kill9();
    await this.launch();
  }

  async stop(): Promise<void> {
    await this.kill9();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
