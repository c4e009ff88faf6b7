// ccxt and openai are optional peer dependencies (issue 14 item 6): an app that installed neither
// loads the package (require and import), trades on the mock, runs the scripted backtest, compiles
// against the declarations with skipLibCheck: false; the exchange backend and the openai provider
// say which package to install. The app is a temp folder whose node_modules holds a copy of the
// built package and every dependency of this checkout except those two (real processes, no stubs).
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..');
const MISSING = ['ccxt', 'openai'];
let app = '';

function run(args: string[], input?: string): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, args, { cwd: app, encoding: 'utf8', input, env: { PATH: process.env.PATH, NODE_PATH: '' }, timeout: 120_000 });
}

beforeAll(() => {
  if (!existsSync(join(ROOT, 'dist', 'ts', 'index.js'))) throw new Error('dist/ is missing: run `npm run build:ts` first');
  app = mkdtempSync(join(tmpdir(), 'axon-optional-'));
  const pkg = join(app, 'node_modules', 'axon-llm');
  mkdirSync(join(pkg, 'dist'), { recursive: true });
  for (const entry of readdirSync(ROOT)) {
    if (['package.json', 'index.js', 'index.d.ts', 'esm'].includes(entry) || entry.endsWith('.node')) cpSync(join(ROOT, entry), join(pkg, entry), { recursive: true });
  }
  cpSync(join(ROOT, 'dist', 'index.d.ts'), join(pkg, 'dist', 'index.d.ts'));
  cpSync(join(ROOT, 'dist', 'ts'), join(pkg, 'dist', 'ts'), { recursive: true, filter: (source) => !source.endsWith('.map') });
  // Every installed package but the optional two, as a package manager would have left them.
  for (const entry of readdirSync(join(ROOT, 'node_modules'))) {
    if (MISSING.includes(entry) || entry.startsWith('.')) continue;
    symlinkSync(realpathSync(join(ROOT, 'node_modules', entry)), join(app, 'node_modules', entry));
  }
});

afterAll(() => {
  if (app !== '') rmSync(app, { recursive: true, force: true });
});

describe('without the optional packages ccxt and openai', () => {
  it('they are really absent for the app', () => {
    for (const name of MISSING) {
      const probe = run(['-e', `require.resolve(${JSON.stringify(name)})`]);
      expect(probe.status, `${name} resolves from the app`).not.toBe(0);
      expect(probe.stderr).toContain(`Cannot find module '${name}'`);
    }
  });

  it("require('axon-llm') trades on the mock backend; the exchange backend names the package to install", () => {
    const script = `
      const { createTradingTools, MockTradingBackend, ExchangeTradingBackend, silentLogger } = require('axon-llm');
      const tools = createTradingTools({ backend: new MockTradingBackend({ referencePrices: { 'BTC-USDT': 20000 } }), mode: 'Direct', logger: silentLogger });
      tools.placeOrder.execute('{"symbol":"BTC-USDT","side":"Buy","quantity":0.1,"price":19000}').then((ack) => {
        let exchangeError = '';
        try { new ExchangeTradingBackend({ apiKey: 'key-0123456789', apiSecret: 'secret-0123456789' }); } catch (error) { exchangeError = error.message; }
        tools.close();
        process.stdout.write(JSON.stringify({ ack: JSON.parse(ack), exchangeError }));
      });`;
    const result = run(['-e', script]);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const out = JSON.parse(result.stdout) as { ack: { status: string; symbol: string }; exchangeError: string };
    expect(out.ack).toMatchObject({ status: 'New', symbol: 'BTC-USDT' });
    expect(out.exchangeError).toBe('axon-llm: the exchange backend needs the optional package "ccxt": npm install ccxt');
  });

  it("import from 'axon-llm' (ESM) loads and runs the mock", () => {
    const result = run(['--input-type=module', '-e', "import { MockTradingBackend } from 'axon-llm'; const b = new MockTradingBackend(); console.log(b.name);"]);
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('mock');
  });

  it('the program runs a scripted backtest; an openai provider names the package to install', () => {
    const config = (provider: string) => {
      const path = join(app, `${provider}.toml`);
      writeFileSync(
        path,
        `[trading]\nbackend = "backtest"\n[llm]\nprovider = "${provider}"\napi_key = "sk-optional-0123456789"\n[backtest]\nbars = 300\n` +
          `report = "${join(app, 'report.html')}"\nsummary_json = "${join(app, 'summary.json')}"\naudit = "${join(app, 'audit.jsonl')}"\n`,
      );
      return path;
    };
    const cli = join(app, 'node_modules', 'axon-llm', 'dist', 'ts', 'cli.js');
    const scripted = run([cli, 'backtest', '--config', config('scripted')]);
    expect(scripted.stderr).toBe('');
    expect(scripted.status).toBe(0);
    expect((JSON.parse(readFileSync(join(app, 'summary.json'), 'utf8')) as { bars: number }).bars).toBe(300);
    const openai = run([cli, 'backtest', '--config', config('openai')]);
    expect(openai.status).toBe(1);
    expect(openai.stderr.trim()).toBe('llm-trading-agent: axon-llm: the openai provider needs the optional package "openai": npm install openai');
  });

  it('a strict consumer compiles against the declarations with skipLibCheck: false', () => {
    writeFileSync(
      join(app, 'consumer.ts'),
      [
        "import { createTradingTools, ExchangeTradingBackend, MockTradingBackend, type ExchangeBackendOptions, type TradingTools } from 'axon-llm';",
        "const tools: TradingTools = createTradingTools({ backend: new MockTradingBackend(), mode: 'DryRun' });",
        "const options: ExchangeBackendOptions = { apiKey: 'k', apiSecret: 's' };",
        'const make = (): ExchangeTradingBackend => new ExchangeTradingBackend(options);',
        'console.log(tools.mode, typeof make);',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { strict: true, module: 'node16', moduleResolution: 'node16', target: 'ES2022', skipLibCheck: false, noEmit: true, types: ['node'] },
        files: ['consumer.ts'],
      }),
    );
    const tsc = run([join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(app, 'tsconfig.json')]);
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.status).toBe(0);
    // No declaration the package ships names either package.
    const declarations = readdirSync(join(app, 'node_modules', 'axon-llm', 'dist', 'ts'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.d.ts') && !f.startsWith('adapters'));
    expect(declarations.length).toBeGreaterThan(10);
    for (const file of declarations) {
      const text = readFileSync(join(app, 'node_modules', 'axon-llm', 'dist', 'ts', file), 'utf8');
      expect(text, file).not.toMatch(/(from|import\(|require\()\s*['"](ccxt|openai)['"]/);
    }
  });
});
