// `--self-check`: every finding printed plainly; any problem makes the check fail.
import { existsSync } from 'node:fs';

import { DEFAULT_CONFIG_TOML, loadConfig, parseConfig, redactConfig, type AgentConfig } from './config';
import { DecisionKind, NativeGuardHandle } from './native/guard';
import { marketData } from './agent/backtest-command';
import { ExchangeTradingBackend } from './backends/exchange';
import { exchangeOptionsFromConfig, exchangeVenue, omsBackendFromConfig } from './backends/from-config';
import { OmsUnreachableError } from './backends/oms';
import { MatchingEngine } from './matching';
import { MIN_TOKEN_LENGTH } from './mcp/loopback';
import { native } from './native/index';
import { TradingMetrics } from './metrics';
import { scrubbedMessage, scrubSecrets } from './secrets';
import { describeState, openStateStore } from './state/index';

export interface Finding {
  ok: boolean;
  what: string;
  detail: string;
}

type Check = () => string | Promise<string>;

async function run(what: string, check: Check): Promise<Finding> {
  try {
    return { ok: true, what, detail: await check() };
  } catch (error) {
    return { ok: false, what, detail: scrubbedMessage(error) };
  }
}

/** Reach the venue with the configured keys: markets load and a signed balance request succeeds. */
async function checkExchange(config: AgentConfig): Promise<string> {
  const options = exchangeOptionsFromConfig(config);
  const backend = new ExchangeTradingBackend({ ...options, timeoutMs: Math.min(config.trading.timeout_ms, 10_000) });
  const venue = exchangeVenue(config);
  try {
    const balances = await backend.getBalance();
    return `exchange: ${venue} reachable, keys accepted (${balances.length} balances)`;
  } catch (error) {
    throw new Error(`exchange: cannot use ${venue}: ${scrubbedMessage(error)}`, { cause: error });
  }
}

/** `GET /healthz` on the configured axon-oms; an unreachable service gets the runbook §3.2 hint. */
async function checkOms(config: AgentConfig): Promise<string> {
  const backend = omsBackendFromConfig(config);
  try {
    await backend.health();
    return `oms: axon-oms reachable at ${backend.baseUrl}`;
  } catch (error) {
    if (error instanceof OmsUnreachableError) {
      throw new Error(`oms: axon-oms not reachable at ${error.url} (${error.reason}): check the axon-oms service status / port`, { cause: error });
    }
    throw new Error(`oms: axon-oms at ${backend.baseUrl} is not healthy: ${scrubbedMessage(error)}`, { cause: error });
  }
}

function expectCode(guard: NativeGuardHandle, text: string, code: string | null): void {
  const got = guard.kind() === DecisionKind.Done ? null : guard.refusal(text).code;
  if (got !== code) throw new Error(`expected ${code ?? 'an ack'}, got ${got ?? 'an ack'}`);
}

/**
 * `[state]`: open the store as a start would (the file's lock taken, Redis connected and its
 * script loaded), time one round trip, close it. A lock held by a live process or a Redis that does
 * not answer is a failure naming it.
 */
async function checkState(config: AgentConfig): Promise<string> {
  if (config.trading.backend === 'backtest') return 'backtest: the in-process state of the run ([state] is for live runs)';
  const where = describeState(config.state);
  if (config.state.type === 'memory') return `${where}: nothing to reach`;
  let opened;
  try {
    opened = await openStateStore(config.state);
  } catch (error) {
    throw new Error(`${where}: ${scrubbedMessage(error)}`, { cause: error });
  }
  try {
    const started = performance.now();
    await opened.ping();
    const ms = performance.now() - started;
    return `${where}: ${opened.kind === 'file' ? 'lock taken, folder writable' : 'reachable'}, round trip ${ms.toFixed(2)} ms`;
  } catch (error) {
    throw new Error(`${where}: ${scrubbedMessage(error)}`, { cause: error });
  } finally {
    await opened.close();
  }
}

/** Every `[risk]` limit and control the config turns on, one `key=value` each (`[risk]` order). */
export function activeLimits(config: AgentConfig): string {
  const active = Object.entries(config.risk)
    .filter(([key]) => key !== 'daily_counts_file')
    .map(([key, value]) => `${key}=${Array.isArray(value) ? `[${value.join(',')}]` : String(value)}`);
  return active.length === 0 ? 'none configured (every order passes the limits)' : active.join(', ');
}

/** The market-access controls of `[risk]` (issue 16): their keys and the codes they refuse with. */
const CONTROLS: readonly { name: string; keys: readonly (keyof AgentConfig['risk'])[]; codes: string }[] = [
  { name: 'price collar', keys: ['price_collar_bps', 'max_reference_age_ms'], codes: 'PRICE_COLLAR, STALE_REFERENCE_PRICE' },
  { name: 'max order quantity', keys: ['max_order_quantity'], codes: 'MAX_ORDER_QUANTITY' },
  { name: 'min order notional', keys: ['min_order_notional'], codes: 'MIN_ORDER_NOTIONAL' },
  { name: 'order-rate throttle', keys: ['max_orders_per_second', 'max_orders_per_minute'], codes: 'RATE_LIMITED' },
  { name: 'duplicate order', keys: ['duplicate_window_ms'], codes: 'DUPLICATE_ORDER' },
  { name: 'max open orders', keys: ['max_open_orders'], codes: 'MAX_OPEN_ORDERS' },
  { name: 'self-trade prevention', keys: ['self_trade_prevention'], codes: 'SELF_TRADE' },
  { name: 'max daily loss', keys: ['max_daily_loss'], codes: 'PNL_BREAKER_OPEN' },
];

/** One line per market-access control: `on: key=value... -> CODES`, or `off` naming its keys. */
export function controlLines(config: AgentConfig): { what: string; detail: string }[] {
  const risk: Record<string, unknown> = config.risk;
  return CONTROLS.map((control) => {
    const set = control.keys.filter((key) => risk[key] !== undefined);
    const detail =
      set.length === 0
        ? `off (${control.keys.join(', ')} not set)`
        : `on: ${set.map((key) => `${key}=${String(risk[key])}`).join(', ')} -> refused with ${control.codes}`;
    return { what: `control ${control.name}`, detail };
  });
}

/** The parsed config, or an error saying which section could not be read. */
function needConfig(config: AgentConfig | undefined, section: string): AgentConfig {
  if (config === undefined) throw new Error(`no config to read ${section} from`);
  return config;
}

const ORDER = (qty: number) => `{"symbol":"BTC-USDT","side":"Buy","quantity":${qty},"price":20000}`;

export async function selfCheck(configPath: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<Finding[]> {
  const findings: Finding[] = [];
  let config: AgentConfig | undefined;
  findings.push(
    await run('config', () => {
      config = configPath === undefined ? parseConfig(DEFAULT_CONFIG_TOML, env, 'embedded default') : loadConfig(configPath, env);
      const shown = redactConfig(config);
      return `${configPath ?? 'embedded default (no --config)'}: backend=${shown.trading.backend}, mode=${shown.safety.mode}, gate=${shown.gate.type}`;
    }),
  );
  findings.push(
    await run('risk limits', () => {
      if (config === undefined) throw new Error('no config to read [risk] from');
      return activeLimits(config);
    }),
  );
  if (config !== undefined) for (const line of controlLines(config)) findings.push({ ok: true, ...line });
  findings.push(await run('risk state', () => checkState(needConfig(config, '[state]'))));
  findings.push(
    await run('trading state', () => {
      const trading = needConfig(config, '[trading] state').trading;
      return `${trading.state} at start ([trading] state)${trading.halt_on_pnl_breaker ? '; HALTED when the PnL breaker opens' : ''}`;
    }),
  );
  findings.push(
    await run('dead-man timer', () => {
      const agent = needConfig(config, '[agent]').agent;
      if (agent.heartbeat_timeout_ms === undefined) return 'off (no [agent] heartbeat_timeout_ms)';
      const cancel = agent.heartbeat_cancel_all ?? true;
      return `HALTED after ${agent.heartbeat_timeout_ms} ms without POST /heartbeat${cancel ? ', then every open order cancelled' : ' (open orders left resting: heartbeat_cancel_all = false)'}`;
    }),
  );
  findings.push(
    await run('admin endpoint', () => {
      const admin = needConfig(config, '[admin]').admin;
      if (admin === undefined) return 'off (no [admin] listen; SIGUSR1 still halts)';
      const token = env[admin.token_env];
      if (token === undefined || token === '') throw new Error(`${admin.listen}: environment variable ${admin.token_env} (admin.token_env) is not set: the program would refuse to start the endpoint`);
      if (token.length < MIN_TOKEN_LENGTH) throw new Error(`${admin.listen}: the token in ${admin.token_env} has ${token.length} characters, at least ${MIN_TOKEN_LENGTH} are needed`);
      return `http://${admin.listen}, bearer token from ${admin.token_env} (${token.length} characters)`;
    }),
  );
  findings.push(await run('native addon', () => native.buildInfo()));
  findings.push(
    await run('risk check', () => {
      const guard = new NativeGuardHandle({ mode: 'DryRun', backend: 'mock', allowedSymbols: ['BTC-USDT'], maxOrderNotional: 50_000 }, new TradingMetrics().native);
      try {
        expectCode(guard, guard.decide(0, ORDER(1), false), null);
        expectCode(guard, guard.decide(0, ORDER(3), false), 'MAX_ORDER_NOTIONAL');
        expectCode(guard, guard.decide(0, '{"symbol":"BTC-USDT","side":"buy"}', false), 'INVALID_ARGUMENTS');
        return 'a valid order passes, an over-limit order and malformed arguments are refused';
      } finally {
        guard.destroy();
      }
    }),
  );
  findings.push(
    await run('circuit breaker', () => {
      const start = Date.UTC(2024, 0, 1);
      const guard = new NativeGuardHandle(
        { mode: 'DryRun', backend: 'mock', maxOrderNotional: 50_000, gates: [{ type: 'RejectionCircuitBreaker', threshold: 2, cooldownMs: 1_000 }], manualClockMs: start },
        new TradingMetrics().native,
      );
      try {
        guard.decide(0, ORDER(3), false);
        guard.decide(0, ORDER(3), false);
        if (guard.state().breaker !== 'Open') throw new Error(`breaker is ${guard.state().breaker} after 2 rejections, expected Open`);
        expectCode(guard, guard.decide(0, ORDER(1), false), 'CIRCUIT_BREAKER_OPEN');
        guard.setClockMs(start + 1_000);
        expectCode(guard, guard.decide(0, ORDER(1), false), null);
        if (guard.state().breaker !== 'Closed') throw new Error(`breaker is ${guard.state().breaker} after a passing trial, expected Closed`);
        return 'Closed -> Open -> HalfOpen -> Closed';
      } finally {
        guard.destroy();
      }
    }),
  );
  findings.push(
    await run('matching engine', () => {
      const engine = new MatchingEngine({ capacity: 16 });
      try {
        const btc = engine.addSymbol({ tickSize: 0.1, lotSize: 0.001 });
        engine.submit({ symbol: btc, side: 'Sell', price: 20_000.5, quantity: 1 });
        engine.submit({ symbol: btc, side: 'Sell', price: 20_000, quantity: 1 });
        const taker = engine.submit({ symbol: btc, side: 'Buy', orderType: 'Market', quantity: 1.5 });
        const prices = taker.fills.map((f) => `${f.quantity}@${f.price}`).join(', ');
        if (taker.status !== 'Filled' || prices !== '1@20000, 0.5@20000.5') throw new Error(`price-time matching gave ${taker.status}: ${prices}`);
        return `a market buy of 1.5 filled ${prices} (best price first)`;
      } finally {
        engine.destroy();
      }
    }),
  );
  findings.push(
    await run('panic containment', () => {
      try {
        native.triggerNativePanic('self-check');
      } catch (error) {
        if (String(error).includes('axon native panic')) return 'a Rust panic surfaces as a JS error';
        throw error;
      }
      throw new Error('a deliberate panic did not surface');
    }),
  );
  findings.push(
    await run('backend', () => {
      const backend = config?.trading.backend ?? 'mock';
      if (backend === 'mock') return 'mock: in-memory venue, nothing to reach';
      if (backend === 'exchange' && config !== undefined) return checkExchange(config);
      if (backend === 'oms' && config !== undefined) return checkOms(config);
      if (backend === 'backtest') {
        const data = config?.backtest.data ?? 'generated';
        if (data === 'generated') return `backtest: generated data (seed ${config?.backtest.seed}, ${config?.backtest.bars} bars)`;
        if (!existsSync(data)) throw new Error(`backtest: data file ${data} not found`);
        // Runbook §3.2: check the market data's integrity and the period it covers.
        let series;
        try {
          series = marketData(config as AgentConfig);
        } catch (error) {
          throw new Error(`backtest: ${scrubbedMessage(error)}`, { cause: error });
        }
        const first = new Date(series.timestamp[0] as number).toISOString();
        const last = new Date(series.timestamp[series.length - 1] as number).toISOString();
        return `backtest: data file ${data}: ${series.length} ${series.kind === 'bars' ? 'bars' : 'trades'}, ${first} .. ${last}, every row valid`;
      }
      throw new Error(`${backend}: this build cannot reach a ${backend} backend yet`);
    }),
  );
  return findings;
}

export function formatFindings(findings: Finding[]): string {
  return scrubSecrets(findings.map((f) => `${f.ok ? 'ok  ' : 'FAIL'} ${f.what}: ${f.detail}`).join('\n'));
}
