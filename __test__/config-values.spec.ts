// Config values that validate must work (issue 18 item 6): every timer duration within 1 ms..24 h
// (Node turns a longer one into 1 ms), every count within the guard's u32, a metrics port that can
// be served, an agent symbol the risk chain allows; and every error names the TOML key as written.
import { describe, expect, it } from 'vitest';

import { omsRequestTimeoutMs } from '../ts/backends/from-config';
import { ConfigError, parseConfig, toolsOptionsFromConfig } from '../ts/config';
import { createTradingTools, MockTradingBackend, silentLogger } from '../ts/index';

function configError(text: string): string {
  try {
    parseConfig(text, {});
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error(`expected a ConfigError for:\n${text}`);
}

const MOCK = '[trading]\nbackend = "mock"\n';
const BREAKER = (extra: string) => `${MOCK}[gate]\ntype = "RejectionCircuitBreaker"\nthreshold = 5\ncooldown_ms = 1000\n${extra}`;

/** Config text with `value` at `section.key` (a gate key goes into a breaker gate). */
function withValue(section: string, key: string, value: string): string {
  if (section === 'gate') return `${MOCK}[gate]\ntype = "RejectionCircuitBreaker"\nthreshold = 5\ncooldown_ms = 1000\n`.replace(new RegExp(`${key} = \\d+`), `${key} = ${value}`);
  if (section === 'trading') return `${MOCK}${key} = ${value}\n`;
  return `${MOCK}[${section}]\n${key} = ${value}\n`;
}

const DURATIONS: Array<[string, string]> = [
  ['trading', 'timeout_ms'],
  ['safety', 'confirm_ttl_ms'],
  ['gate', 'cooldown_ms'],
  ['llm', 'timeout_ms'],
  ['agent', 'interval_ms'],
];

describe('config values that validate are usable', () => {
  it('every timer duration above 24 h is refused naming the key (Node would fire it after 1 ms)', () => {
    for (const [section, key] of DURATIONS) {
      for (const value of ['3000000000', '9000000000', '86400001']) {
        expect(configError(withValue(section, key, value))).toBe(`config error: ${section}.${key}: must be at most 86400000 ms (24 h), got ${value}`);
      }
      expect(() => parseConfig(withValue(section, key, '86400000'), {})).not.toThrow();
    }
    // Below 1 ms: a timer of 0 would spin; a breaker's cooldown of 0 is meaningful (no pause).
    for (const [section, key] of DURATIONS.filter(([s]) => s !== 'gate')) {
      expect(configError(withValue(section, key, '0'))).toBe(`config error: ${section}.${key}: must be at least 1 ms, got 0`);
    }
    expect(parseConfig(withValue('gate', 'cooldown_ms', '0'), {}).gate).toMatchObject({ cooldown_ms: 0 });
  });

  it('an OMS timeout of 9e9 ms is refused at load; every accepted one gives per-request timeouts a Node timer keeps', () => {
    expect(configError('[trading]\nbackend = "oms"\ntimeout_ms = 9000000000\n')).toContain('trading.timeout_ms: must be at most 86400000 ms');
    const longest = parseConfig('[trading]\nbackend = "oms"\ntimeout_ms = 86400000\n', {});
    expect(omsRequestTimeoutMs(longest.trading.timeout_ms, 2, 100)).toBeLessThanOrEqual(2 ** 31 - 1);
  });

  it('a count beyond the guard u32 names the TOML key, not the option it becomes', () => {
    const huge = String(2 ** 32);
    for (const [section, key] of [
      ['risk', 'max_daily_orders'],
      ['risk', 'max_daily_cancels'],
      ['gate', 'threshold'],
    ] as const) {
      const message = section === 'gate' ? configError(BREAKER('').replace('threshold = 5', `threshold = ${huge}`)) : configError(withValue(section, key, huge));
      expect(message).toBe(`config error: ${section}.${key}: must be at most 4294967295, got ${huge}`);
    }
    // The largest accepted count builds the tools (the option layer below agrees).
    const config = parseConfig(`${BREAKER('').replace('threshold = 5', 'threshold = 4294967295')}[risk]\nmax_daily_orders = 4294967295\nmax_daily_cancels = 4294967295\n`, {});
    const tools = createTradingTools({ ...toolsOptionsFromConfig(config), backend: new MockTradingBackend(), logger: silentLogger });
    expect(tools.state()).toMatchObject({ dailyOrders: 0 });
    tools.close();
  });

  it('every numeric key at a hostile value: either an error naming that TOML key, or tools that build', () => {
    const keys: Array<[string, string]> = [
      ...DURATIONS,
      ['risk', 'max_order_notional'],
      ['risk', 'max_position_abs'],
      ['risk', 'max_daily_orders'],
      ['risk', 'max_daily_cancels'],
      ['gate', 'threshold'],
      ['llm', 'max_retries'],
      ['llm', 'temperature'],
      ['llm', 'max_tokens'],
      ['agent', 'history_bars'],
      ['agent', 'max_steps_per_bar'],
      ['agent', 'decide_every'],
      ['agent', 'max_cycles'],
      ['backtest', 'bars'],
      ['backtest', 'seed'],
      ['backtest', 'cash'],
      ['backtest', 'maker_bps'],
    ];
    const camel = /\b[a-z]+[A-Z]\w*/; // an option name of the layer below (maxDailyOrders)
    let refused = 0;
    for (const [section, key] of keys) {
      for (const value of ['-1', '0', '0.5', String(2 ** 32), String(2 ** 53), '1e300', 'inf', 'nan']) {
        let config;
        try {
          config = parseConfig(withValue(section, key, value), {});
        } catch (error) {
          const message = (error as Error).message;
          expect(message, `${section}.${key} = ${value}`).toContain(`${section}.${key}:`);
          expect(message.replace(/^config error: [a-z_.]+:/, ''), `${section}.${key} = ${value}`).not.toMatch(camel);
          refused += 1;
          continue;
        }
        const tools = createTradingTools({ ...toolsOptionsFromConfig(config), backend: new MockTradingBackend(), logger: silentLogger });
        tools.close();
      }
    }
    expect(refused).toBeGreaterThan(100);
  });

  it('a metrics port that cannot be served names the key and the value (not just "Invalid URL")', () => {
    expect(configError(`${MOCK}[metrics]\ncallback = "prometheus:http://127.0.0.1:99999/metrics"\n`)).toBe(
      'config error: metrics.callback: prometheus:http://127.0.0.1:99999/metrics: the port must be a number from 0 to 65535, got "99999"',
    );
    expect(configError(`${MOCK}[metrics]\ncallback = "prometheus:http://127.0.0.1:/metrics"\n`)).toContain('metrics.callback: prometheus:http://127.0.0.1:/metrics: the port must be');
    expect(configError(`${MOCK}[metrics]\ncallback = "prometheus:http://exa mple:9100/metrics"\n`)).toContain('metrics.callback:');
    expect(parseConfig(`${MOCK}[metrics]\ncallback = "prometheus:http://[::1]:9100/metrics"\n`, {}).metrics.callback).toBe('prometheus:http://[::1]:9100/metrics');
  });

  it('an agent symbol outside risk.allowed_symbols fails the start naming both keys', () => {
    expect(configError(`${MOCK}[risk]\nallowed_symbols = ["ETH-USDT"]\n[agent]\nsymbol = "BTC-USDT"\n`)).toBe(
      'config error: agent.symbol: "BTC-USDT" is not in risk.allowed_symbols ("ETH-USDT"): every order of the agent would be refused',
    );
    // The default agent symbol (BTC-USDT) is checked as well.
    expect(configError(`${MOCK}[risk]\nallowed_symbols = ["ETH-USDT"]\n`)).toContain('agent.symbol: "BTC-USDT" is not in risk.allowed_symbols');
    expect(parseConfig(`${MOCK}[risk]\nallowed_symbols = ["ETH-USDT"]\n[agent]\nsymbol = "ETH-USDT"\n`, {}).agent.symbol).toBe('ETH-USDT');
  });
});
