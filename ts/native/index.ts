// Loads the napi-rs addon through its generated loader (`index.js` at the package root), from both
// the TypeScript sources (ts/native/) and the compiled output (dist/ts/native/). This folder is the
// only TypeScript that touches the addon's raw calls and shared memory; its numbers come from the
// generated ./layout.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

// From dist/ts/native/index.d.ts this is dist/index.d.ts: `npm run build:ts` copies the generated
// index.d.ts there, so the published declarations resolve it.
import type * as Binding from '../../index';

import type { ToolErrorJson } from '../errors';
import { CODES, SOURCES } from './layout';

function packageRoot(): string {
  for (const candidate of [join(__dirname, '..', '..'), join(__dirname, '..', '..', '..')]) {
    if (existsSync(join(candidate, 'index.js')) && existsSync(join(candidate, 'package.json'))) return candidate;
  }
  throw new Error(`axon-llm: cannot find the native loader (index.js) above ${__dirname}`);
}

/** The napi-rs name of this machine's build (`linux-x64-gnu`, `darwin-arm64`, `win32-x64-msvc`). */
function platformArchAbi(): string {
  const base = `${process.platform}-${process.arch}`;
  if (process.platform === 'win32') return `${base}-msvc`;
  if (process.platform !== 'linux') return base;
  // glibcVersionRuntime is reported only by a Node linked against glibc.
  const header = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header;
  return `${base}-${header?.glibcVersionRuntime === undefined ? 'musl' : 'gnu'}`;
}

const BUILD_FROM_SOURCE =
  'To build from source: install a Rust toolchain (rustup, stable) and Node >= 20.19, ' +
  'clone the axon-llm repository and run `npm install` there (it builds the addon through `prepare`), ' +
  'or `npm run build:native` in the clone after a change to the Rust code; then depend on that folder ' +
  '(`npm install /path/to/axon-llm`).';

/** First lines of the loader's per-candidate errors other than "not found" (its cause chain). */
function loadFailures(error: unknown): string[] {
  const failures: string[] = [];
  for (let e = error instanceof Error ? error.cause : undefined; e instanceof Error; e = e.cause) {
    if (!e.message.startsWith('Cannot find module')) failures.push(e.message.split('\n')[0] ?? e.message);
  }
  return failures;
}

function loadNative(root: string): typeof Binding {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(join(root, 'index.js')) as typeof Binding;
  } catch (error) {
    // The generated loader says "Cannot find native binding" whether a binary is missing or fails
    // to load: say which, for which platform, and what to do; its errors stay as the cause.
    const platform = platformArchAbi();
    const failures = loadFailures(error);
    const message =
      failures.length > 0
        ? `axon-llm: the native addon for this platform (${platform}) was found but did not load: ${failures.join('; ')}. ` +
          `Reinstall axon-llm (with axon-llm-${platform}), or build from source. `
        : `axon-llm: no native addon for this platform (${platform}). ` +
          `Looked for the package axon-llm-${platform} (installed with axon-llm as an optional dependency) ` +
          `and for axon-llm.${platform}.node in ${root}. ` +
          'If a prebuilt package exists for your platform, reinstall without --omit=optional / --no-optional. ';
    throw new Error(message + BUILD_FROM_SOURCE, { cause: error });
  }
}

export const native: typeof Binding = loadNative(packageRoot());

export type NativeMetrics = Binding.NativeMetrics;
export type GuardState = Binding.GuardState;

/** A REJECTED decision's refusal: code and source by their numbers, the message as returned. */
export function rejectionOf(codeIndex: number, sourceIndex: number, message: string): ToolErrorJson {
  const [source, errorType] = SOURCES[sourceIndex] ?? ['Backend', 'ExecutionFailed'];
  return { error_type: errorType, source, code: CODES[codeIndex] ?? 'BACKEND_OTHER', message };
}
