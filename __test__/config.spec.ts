// SPEC §8 config: the runbook's example loads unchanged, ${VAR} expands, and every bad key or value
// is an error naming it. Secrets stay out of printable output.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { ConfigError, parseConfig, redactConfig, toolsOptionsFromConfig } from '../ts/config';
import { sharedFile } from '../bench/shared-data';

const RUNBOOK = sharedFile('seed/operations-runbook.txt');

/** The TOML block of runbook §1.3, exactly as printed there. */
function runbookExample(): string {
  const text = readFileSync(RUNBOOK, 'utf8');
  const start = text.indexOf('[trading]');
  const end = text.indexOf('2. Upgrade');
  expect(start).toBeGreaterThan(0);
  expect(end).toBeGreaterThan(start);
  return text.slice(start, end);
}

const ENV = { AXON_API_KEY: 'key-123', AXON_API_SECRET: 'secret-456' };

function configError(text: string, env: NodeJS.ProcessEnv = ENV): string {
  try {
    parseConfig(text, env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('config', () => {
  it('loads the runbook example unchanged, with its env vars set', () => {
    const config = parseConfig(runbookExample(), ENV);
    expect(config.trading).toMatchObject({ backend: 'exchange', api_key: 'key-123', api_secret: 'secret-456', testnet: true, exchange: 'binance' });
    expect(config.safety.mode).toBe('TwoPhase');
    expect(config.risk).toEqual({ max_order_notional: 50_000, max_daily_orders: 100, max_position_abs: 10, allowed_symbols: ['BTC-USDT', 'ETH-USDT'], daily_counts_file: 'daily-counts.json' });
    expect(config.gate).toEqual({ type: 'RejectionCircuitBreaker', threshold: 5, cooldown_ms: 60_000 });
    expect(config.metrics.callback).toBe('prometheus:http://localhost:9100/metrics');
    expect(toolsOptionsFromConfig(config)).toMatchObject({
      mode: 'TwoPhase',
      risk: { allowedSymbols: ['BTC-USDT', 'ETH-USDT'], maxOrderNotional: 50_000, maxPositionAbs: 10, maxDailyOrders: 100 },
      gate: { type: 'RejectionCircuitBreaker', threshold: 5, cooldownMs: 60_000 },
    });
  });

  it('the examples/ copy is the runbook block', () => {
    const copy = readFileSync(join(__dirname, '..', 'examples', 'runbook-config.toml'), 'utf8');
    const strip = (t: string) => t.split('\n').filter((l) => l.trim() !== '' && !l.trim().startsWith('#') && !l.startsWith('# ')).join('\n');
    expect(strip(copy)).toBe(strip(runbookExample()));
  });

  it('a missing env var is an error naming the variable and the key', () => {
    expect(configError(runbookExample(), { AXON_API_KEY: 'k' })).toBe('config error: trading.api_secret: environment variable AXON_API_SECRET is not set');
  });

  it('unknown keys and bad values name the key', () => {
    const base = '[trading]\nbackend = "mock"\n';
    expect(configError(`${base}[risk]\nmax_notional = 5\n`)).toBe('config error: risk.max_notional: unknown key');
    expect(configError(`${base}[riks]\n`)).toBe('config error: riks: unknown key');
    expect(configError(`${base}[risk]\nmax_daily_orders = -1\n`)).toContain('risk.max_daily_orders:');
    expect(configError(`${base}[risk]\nmax_order_notional = "lots"\n`)).toContain('risk.max_order_notional:');
    expect(configError(`${base}[safety]\nmode = "Yolo"\n`)).toContain('safety.mode:');
    expect(configError(`${base}[gate]\ntype = "RejectionCircuitBreaker"\nthreshold = 0\ncooldown_ms = 1\n`)).toContain('gate.threshold:');
    expect(configError(`${base}[gate]\ntype = "Sometimes"\n`)).toContain('gate.type:');
    expect(configError(`${base}[metrics]\ncallback = "statsd://x"\n`)).toContain('metrics.callback: must be "none" or "prometheus:http://host:port/path"');
    expect(configError('[trading]\nbackend = "ftx"\n')).toContain('trading.backend:');
    expect(configError('[safety]\nmode = "Direct"\n')).toContain('trading:');
    expect(configError('[trading\nbackend = 1')).toMatch(/^config error: config is not valid TOML: line 1/);
  });

  it('redaction hides secrets', () => {
    const printable = JSON.stringify(redactConfig(parseConfig(runbookExample(), ENV)));
    expect(printable).not.toContain('key-123');
    expect(printable).not.toContain('secret-456');
    expect(printable).toContain('"api_key":"***"');
  });
});
