// The program's trading-state keys (issue 16): `[trading] state`, the dead-man timer in `[agent]`,
// the admin endpoint in `[admin]`. Each bad value is an error naming its key; the admin token never
// comes from the file.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';

import { describe, expect, it } from 'vitest';

import type { AuditRecord } from '../ts/agent/audit';
import { backtestCommand } from '../ts/agent/backtest-command';
import { adminAddress, ConfigError, parseConfig, toolsOptionsFromConfig } from '../ts/config';
import { createTradingTools, MockTradingBackend, silentLogger } from '../ts/index';
import { formatFindings, selfCheck } from '../ts/self-check';
import { auditRecords } from './support/live-program';

const MOCK = '[trading]\nbackend = "mock"\n';

function configError(text: string): string {
  try {
    parseConfig(text, {});
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('trading state, dead-man and admin config', () => {
  it('defaults: ACTIVE, no dead-man timer, no admin endpoint', () => {
    const config = parseConfig(MOCK, {});
    expect(config.trading.state).toBe('ACTIVE');
    expect(config.agent.heartbeat_timeout_ms).toBeUndefined();
    expect(config.agent.heartbeat_cancel_all).toBeUndefined();
    expect(config.admin).toBeUndefined();
  });

  it('reads every key as written', () => {
    const config = parseConfig(
      `[trading]\nbackend = "oms"\nstate = "REDUCING"\n[agent]\nheartbeat_timeout_ms = 5000\nheartbeat_cancel_all = false\n[admin]\nlisten = "127.0.0.1:9300"\ntoken_env = "OPS_TOKEN"\n`,
      {},
    );
    expect(config.trading.state).toBe('REDUCING');
    expect(config.agent).toMatchObject({ heartbeat_timeout_ms: 5000, heartbeat_cancel_all: false });
    expect(config.admin).toEqual({ listen: '127.0.0.1:9300', token_env: 'OPS_TOKEN' });
    expect(adminAddress('127.0.0.1:9300')).toEqual({ host: '127.0.0.1', port: 9300 });
    expect(adminAddress('[::1]:0')).toEqual({ host: '::1', port: 0 });
    expect(parseConfig(`${MOCK}[admin]\nlisten = "localhost:0"\n`, {}).admin).toEqual({ listen: 'localhost:0', token_env: 'AXON_ADMIN_TOKEN' });
  });

  it('an unknown state is an error naming trading.state and the states', () => {
    const message = configError(`[trading]\nbackend = "mock"\nstate = "PAUSED"\n`);
    expect(message).toContain('trading.state');
    expect(message).toMatch(/ACTIVE.*REDUCING.*HALTED/);
  });

  it('refuses a non-loopback admin address, a bad port, a bad shape and an unknown key, naming the key', () => {
    for (const [listen, words] of [
      ['0.0.0.0:9300', '"0.0.0.0" is not a loopback address'],
      ['10.1.2.3:9300', '"10.1.2.3" is not a loopback address'],
      ['example.com:9300', '"example.com" is not a loopback address'],
      ['127.0.0.1:70000', 'the port must be a number from 0 to 65535, got "70000"'],
      ['127.0.0.1', 'must be "host:port"'],
    ] as const) {
      const message = configError(`${MOCK}[admin]\nlisten = "${listen}"\n`);
      expect(message).toContain('admin.listen');
      expect(message).toContain(words);
    }
    expect(configError(`${MOCK}[admin]\n`)).toContain('admin.listen');
    expect(configError(`${MOCK}[admin]\nlisten = "127.0.0.1:1"\ntoken_env = "not a name"\n`)).toContain('admin.token_env');
    // The token itself has no key: it lives in the environment only.
    expect(configError(`${MOCK}[admin]\nlisten = "127.0.0.1:1"\ntoken = "abcdefghijklmnopq"\n`)).toMatch(/admin.*token/);
  });

  it('the dead-man timer needs the admin endpoint and a live backend; its cancel flag needs the timer', () => {
    expect(configError(`${MOCK}[agent]\nheartbeat_timeout_ms = 1000\n`)).toContain('agent.heartbeat_timeout_ms: the dead-man timer needs [admin] listen');
    expect(configError(`${MOCK}[agent]\nheartbeat_cancel_all = true\n`)).toContain('agent.heartbeat_cancel_all: has no effect without agent.heartbeat_timeout_ms');
    expect(configError(`${MOCK}[agent]\nheartbeat_timeout_ms = 0\n[admin]\nlisten = "127.0.0.1:0"\n`)).toContain('agent.heartbeat_timeout_ms');
    const backtest = configError(`[trading]\nbackend = "backtest"\n[agent]\nheartbeat_timeout_ms = 1000\n[admin]\nlisten = "127.0.0.1:0"\n`);
    expect(backtest).toContain('agent.heartbeat_timeout_ms: a dead-man timer is for live backends');
    expect(backtest).toContain('admin.listen: the admin endpoint is for live backends');
  });
});

describe('[trading] halt_on_pnl_breaker', () => {
  it('needs a PnL breaker, naming the key; with one, the breaker opening halts the tools built from the config', async () => {
    expect(configError(`${MOCK}halt_on_pnl_breaker = true\n`)).toContain('trading.halt_on_pnl_breaker: needs a PnL breaker');
    expect(parseConfig(MOCK, {}).trading.halt_on_pnl_breaker).toBe(false);
    const config = parseConfig(`${MOCK}halt_on_pnl_breaker = true\n[safety]\nmode = "Direct"\n[risk]\nmax_daily_loss = 500\n`, {});
    const backend = new MockTradingBackend({ referencePrices: { 'BTC-USDT': 20_000 } });
    const tools = createTradingTools({ ...toolsOptionsFromConfig(config), backend, logger: silentLogger });
    try {
      expect((await tools.placeOrder.call({ symbol: 'BTC-USDT', side: 'Buy', quantity: 1, order_type: 'Market' })).ok).toBe(true);
      backend.setReferencePrice('BTC-USDT', 19_400);
      expect(tools.tradingState()).toBe('HALTED');
    } finally {
      tools.close();
    }
  });
});

describe('--self-check lines for the trading state, the dead-man timer and the admin endpoint', () => {
  const file = (text: string) => {
    const path = join(mkdtempSync(join(tmpdir(), 'axon-states-check-')), 'config.toml');
    writeFileSync(path, text);
    return path;
  };
  const LIVE = `[trading]\nbackend = "mock"\nstate = "REDUCING"\nhalt_on_pnl_breaker = true\n[risk]\nmax_daily_loss = 1000\n[agent]\nheartbeat_timeout_ms = 30000\n[admin]\nlisten = "127.0.0.1:9300"\ntoken_env = "OPS_TOKEN"\n`;

  it('prints each, with the token variable set', async () => {
    const out = formatFindings(await selfCheck(file(LIVE), { OPS_TOKEN: 'ops-token-0123456789abcdef' }));
    expect(out).toContain('ok   trading state: REDUCING at start ([trading] state); HALTED when the PnL breaker opens');
    expect(out).toContain('ok   dead-man timer: HALTED after 30000 ms without POST /heartbeat, then every open order cancelled');
    expect(out).toContain('ok   admin endpoint: http://127.0.0.1:9300, bearer token from OPS_TOKEN (26 characters)');
    expect(out).not.toContain('ops-token-0123456789abcdef');
  });

  it('fails the admin endpoint when its token variable is unset or short; says off when nothing is configured', async () => {
    const unset = await selfCheck(file(LIVE), {});
    expect(formatFindings(unset)).toContain('FAIL admin endpoint: 127.0.0.1:9300: environment variable OPS_TOKEN (admin.token_env) is not set');
    expect(formatFindings(await selfCheck(file(LIVE), { OPS_TOKEN: 'short' }))).toContain('FAIL admin endpoint: 127.0.0.1:9300: the token in OPS_TOKEN has 5 characters, at least 16 are needed');
    const plain = formatFindings(await selfCheck(file('[trading]\nbackend = "mock"\n'), {}));
    expect(plain).toContain('ok   trading state: ACTIVE at start');
    expect(plain).toContain('ok   dead-man timer: off (no [agent] heartbeat_timeout_ms)');
    expect(plain).toContain('ok   admin endpoint: off (no [admin] listen; SIGUSR1 still halts)');
  });
});

describe('[trading] state in a backtest', () => {
  it('HALTED from the first bar: every order the model sends is refused with TRADING_HALTED, and the start state is audited', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'axon-states-backtest-'));
    const config = parseConfig(
      `[trading]\nbackend = "backtest"\nstate = "HALTED"\n[safety]\nmode = "Direct"\n[backtest]\nbars = 400\nreport = "${join(dir, 'report.html')}"\nsummary_json = "${join(dir, 'summary.json')}"\naudit = "${join(dir, 'audit.jsonl')}"\n`,
      {},
    );
    const sink = () => new Writable({ write: (_chunk, _encoding, done) => done() });
    expect(await backtestCommand({ config, out: sink(), err: sink(), env: {} })).toBe(0);
    const records = auditRecords(join(dir, 'audit.jsonl'));
    expect(records[0]).toMatchObject({ kind: 'state', from: 'ACTIVE', to: 'HALTED', source: 'config' });
    const places = records.filter((r): r is Extract<AuditRecord, { kind: 'tool' }> => r.kind === 'tool' && r.tool === 'place_order');
    expect(places.length).toBeGreaterThan(0);
    expect([...new Set(places.map((r) => `${String(r.ok)}:${r.code ?? ''}`))]).toEqual(['false:TRADING_HALTED']);
  });
});
