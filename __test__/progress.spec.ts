// The backtest's progress bar, as a person sees it: the real program under a pseudo-terminal
// (`script` from util-linux, Debian package bsdutils) draws one cli-progress bar with bars done, equity, orders, rate and ETA;
// in a pipe, or with CI set, nothing of it is printed (not one escape code).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

const CLI = join(__dirname, '..', 'dist', 'ts', 'cli.js');
const SCRIPT = '/usr/bin/script';
const ESC = '\u001b';
const BAR = /backtest \[[=-]{24}\] (\d+)\/8640 bars \| equity ([\d.]+|-) \| orders (\d+) \| ([\d,]+|-) bars\/s \| ETA \S+/g;

beforeAll(() => {
  // Never a skip: without util-linux's `script` there is no terminal to test on.
  if (!existsSync(SCRIPT)) throw new Error(`${SCRIPT} is missing: install the Debian package "bsdutils" (apt-get install bsdutils)`);
});

/** The environment of the test process without CI (the harness may set it), plus `extra`. */
function env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const rest = { ...process.env };
  delete rest.CI;
  return { ...rest, TERM: 'xterm', ...extra };
}

function run(command: string, args: string[], environment: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string; err: string }> {
  const cwd = mkdtempSync(join(tmpdir(), 'axon-progress-'));
  const child = spawn(command, args, { cwd, env: environment, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString();
  });
  return new Promise((resolve) => {
    child.on('close', (code) => {
      resolve({ code, out, err });
    });
  });
}

/** `node cli.js backtest` on a pseudo-terminal: stdin, stdout and stderr are the terminal; `script` copies it to its stdout. */
const onTerminal = (environment: NodeJS.ProcessEnv) => run(SCRIPT, ['-qfec', `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} backtest`, '/dev/null'], environment);

describe('backtest progress', () => {
  it('on a terminal: one cli-progress bar, up to every bar done, with equity, orders, rate and ETA', async () => {
    const { code, out } = await onTerminal(env());
    expect(code, out).toBe(0);
    const frames = [...out.matchAll(BAR)];
    expect(frames.length).toBeGreaterThanOrEqual(2); // the start and at least the end
    expect(frames[0]?.[1]).toBe('0');
    const last = frames[frames.length - 1];
    expect(last?.[1]).toBe('8640');
    // The last frame's equity and orders are the run's, as the summary prints them.
    const orders = /orders {10}Filled=(\d+)/.exec(out)?.[1];
    expect(last?.[3]).toBe(orders);
    expect(Number(last?.[2])).toBeGreaterThan(0);
    expect(last?.[4]).toMatch(/^[\d,]+$/);
    // One bar, redrawn in place (cli-progress saves the cursor once and returns to column 1), then the summary.
    expect(out.split(`${ESC}7`).length - 1).toBe(1);
    expect(out.indexOf('agent backtest: BTC-USDT')).toBeGreaterThan(out.lastIndexOf('8640/8640 bars'));
  }, 60_000);

  it('with CI set, on the same terminal: no bar', async () => {
    const { code, out } = await onTerminal(env({ CI: '1' }));
    expect(code, out).toBe(0);
    expect(out).toContain('agent backtest: BTC-USDT');
    expect(out).not.toMatch('bars/s');
    expect(out).not.toContain(ESC);
  }, 60_000);

  it('in a pipe: nothing of it on stdout or stderr', async () => {
    const { code, out, err } = await run(process.execPath, [CLI, 'backtest'], env());
    expect(code, err).toBe(0);
    expect(out).toContain('agent backtest: BTC-USDT');
    expect(`${out}${err}`).not.toContain('bars/s');
    expect(`${out}${err}`).not.toContain(ESC);
    expect(err).toBe('');
  }, 60_000);
});
