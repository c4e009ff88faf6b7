// The program's TOML config (SPEC §8, runbook §1.3): `${VAR}` expansion from the environment,
// strict keys, every error naming the key as the user wrote it in the TOML (never an option name
// of the layers below). A value that validates is usable as is: every duration a timer takes is
// within 1 ms..24 h (Node turns a longer one into 1 ms), every count fits the guard's u32, the
// metrics URL parses, and the agent's symbol is one the risk chain allows. Secrets are registered
// with the process scrubber as the config is parsed and kept out of anything printable.
import { readFileSync } from 'node:fs';

import { parse as parseToml, TomlError } from 'smol-toml';
import { z } from 'zod';

import { isLoopbackHost } from './mcp/loopback';
import { isSecretKey, registerSecrets, scrubSecrets, secretsIn } from './secrets';
import { stateConfigSchema } from './state/index';
import type { GateOptions, RiskOptions, TradingToolsOptions } from './tools';
import { TRADING_STATES } from './trading-state';
import { describeZodError } from './zod-issues';

const positiveInt = z.number().int().positive();

const DAY_MS = 86_400_000;
/** The largest count the guard holds (u32). */
const MAX_COUNT = 0xffff_ffff;

/**
 * A duration a timer waits for: whole milliseconds within `min`..24 h. Node's timers treat anything
 * above 2^31-1 ms as 1 ms, so an hour typed with three zeros too many would fire at once.
 */
const duration = (min = 1) =>
  z
    .number()
    .int('must be a whole number of milliseconds')
    .min(min, { error: (issue) => `must be at least ${min} ms, got ${String(issue.input)}` })
    .max(DAY_MS, { error: (issue) => `must be at most ${DAY_MS} ms (24 h), got ${String(issue.input)}` });

/** A count the guard keeps in a u32. */
const count = () =>
  z
    .number()
    .int()
    .nonnegative()
    .max(MAX_COUNT, { error: (issue) => `must be at most ${MAX_COUNT}, got ${String(issue.input)}` });

const tradingSchema = z.strictObject({
  backend: z.enum(['mock', 'exchange', 'oms', 'backtest']),
  api_key: z.string().optional(),
  api_secret: z.string().optional(),
  testnet: z.boolean().default(false),
  /** Venue for `backend = "exchange"`; the runbook's example names none. */
  exchange: z.enum(['binance', 'okx']).default('binance'),
  /** REST root to use instead of the venue's (a gateway, or a local venue in tests); the axon-oms URL for `oms`. */
  base_url: z.url().optional(),
  timeout_ms: duration().default(10_000),
  /**
   * The trading state at start: `ACTIVE` (normal), `REDUCING` (only orders that shrink the position,
   * and cancels), `HALTED` (cancels only). The program, an operator or the dead-man timer may change it later.
   */
  state: z.enum(TRADING_STATES).default('ACTIVE'),
  /** HALTED (source `pnl-breaker`) when the PnL breaker opens; needs one (`[gate] type = "PnlCircuitBreaker"` or `[risk] max_daily_loss`). */
  halt_on_pnl_breaker: z.boolean().default(false),
});

const safetySchema = z.strictObject({
  mode: z.enum(['DryRun', 'TwoPhase', 'Direct']).default('DryRun'),
  confirm_ttl_ms: duration().optional(),
});

const riskSchema = z.strictObject({
  allowed_symbols: z.array(z.string().min(1).max(32)).optional(),
  max_order_notional: z.number().nonnegative().optional(),
  max_position_abs: z.number().nonnegative().optional(),
  max_daily_orders: count().optional(),
  max_daily_cancels: count().optional(),
  // Market-access controls (issue 16; README "What the chain guarantees").
  max_order_quantity: z.number().nonnegative().optional(),
  min_order_notional: z.number().nonnegative().optional(),
  price_collar_bps: z.number().nonnegative().optional(),
  max_reference_age_ms: duration(0).optional(),
  max_open_orders: count().optional(),
  duplicate_window_ms: duration(0).optional(),
  max_orders_per_second: count().optional(),
  max_orders_per_minute: count().optional(),
  self_trade_prevention: z.literal('reject').optional(),
  max_daily_loss: z.number().nonnegative().optional(),
  /**
   * Deprecated, still accepted: `[state] type = "file"` with this `path` (`none`: `type = "memory"`).
   * Absent with no `[state]`: live runs keep today's counts in `daily-counts.json`, as before.
   */
  daily_counts_file: z.string().min(1).optional(),
});

const gateSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('AlwaysOpen') }),
  z.strictObject({ type: z.literal('RejectionCircuitBreaker'), threshold: count().min(1), cooldown_ms: duration(0) }),
  z.strictObject({ type: z.literal('PnlCircuitBreaker'), daily_pnl_floor: z.number() }),
]);

const metricsSchema = z.strictObject({
  /** `prometheus:http://host:port/path` serves Prometheus text there; `none` keeps metrics in-process. */
  callback: z
    .string()
    .regex(/^(none|prometheus:http:\/\/[^/\s]+\/\S*)$/, 'must be "none" or "prometheus:http://host:port/path"')
    .superRefine((value, context) => {
      const problem = prometheusTargetProblem(value);
      if (problem !== undefined) context.addIssue({ code: 'custom', message: problem });
    })
    .default('none'),
});

const llmSchema = z.strictObject({
  /** `scripted`: offline deterministic stand-in; `openai`: any OpenAI-compatible endpoint. */
  provider: z.enum(['scripted', 'openai']).default('scripted'),
  model: z.string().min(1).default('gpt-4o-mini'),
  base_url: z.url().optional(),
  api_key: z.string().optional(),
  timeout_ms: duration().default(30_000),
  max_retries: z.number().int().nonnegative().max(100).default(2),
  temperature: z.number().min(0).max(2).optional(),
  max_tokens: positiveInt.optional(),
});

const agentSchema = z.strictObject({
  symbol: z.string().min(1).max(32).default('BTC-USDT'),
  history_bars: positiveInt.max(100_000).default(30),
  max_steps_per_bar: positiveInt.max(1_000).default(3),
  decide_every: positiveInt.max(MAX_COUNT).default(1),
  /** Live runs (`--config` on an exchange, oms or mock backend): one observation every this often. */
  interval_ms: duration().default(60_000),
  /** Live runs stop after this many observations; 0 runs until SIGINT/SIGTERM. */
  max_cycles: count().default(0),
  /** Live runs: the append-only audit file and the summary written at exit. */
  audit: z.string().min(1).default('audit.jsonl'),
  /**
   * Live runs and `mcp`: rotate the audit to `audit.1.jsonl`, `audit.2.jsonl`... before a file would
   * exceed this many bytes; the chain continues across files. Unset: one file, never rotated.
   */
  audit_max_bytes: positiveInt.min(4_096).optional(),
  summary_json: z.string().min(1).default('live-summary.json'),
  /**
   * Live runs: the dead-man timer. No `POST /heartbeat` on the admin endpoint for this long ->
   * HALTED (source `dead-man`). Unset: no timer.
   */
  heartbeat_timeout_ms: duration().optional(),
  /** When the dead-man timer fires, also cancel every open order of the account (default true). */
  heartbeat_cancel_all: z.boolean().optional(),
});

/** `host:port`, the port a number from 0 (any free port) to 65535. */
const LISTEN = /^(\[[^\]]+\]|[^:\s]+):(\d{1,5})$/;

/** Live runs: the operator's HTTP endpoint (state, kill switch, heartbeat), on loopback only, behind a bearer token. */
const adminSchema = z.strictObject({
  /** `127.0.0.1:9300` (`:0`: any free port, logged at start); a loopback address only. */
  listen: z.string().superRefine((value, context) => {
    const problem = adminListenProblem(value);
    if (problem !== undefined) context.addIssue({ code: 'custom', message: problem });
  }),
  /** The environment variable that holds the bearer token (16+ characters); the token itself never goes in the file. */
  token_env: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must name an environment variable (letters, digits, _)')
    .default('AXON_ADMIN_TOKEN'),
});

/** `[trading] backend = "mock"`: the in-memory venue's prices and cash (a rehearsal venue for live runs and MCP). */
const mockSchema = z.strictObject({
  /** A price per symbol (`{ "BTC-USDT" = 20000 }`); orders on a symbol without one are refused by the venue. */
  reference_prices: z.record(z.string().min(1).max(32), z.number().positive()).default({}),
  cash: z.number().positive().default(100_000),
});

const backtestSchema = z.strictObject({
  /** `generated` (the seeded generator) or a path to bars (CSV, ccxt JSON, Binance klines) or trades CSV. */
  data: z.string().min(1).default('generated'),
  bars: positiveInt.max(100_000_000).default(8_640),
  seed: z.number().int().min(0).max(MAX_COUNT).default(42),
  cash: z.number().positive().default(100_000),
  maker_bps: z.number().nonnegative().default(2),
  taker_bps: z.number().nonnegative().default(5),
  report: z.string().min(1).default('report.html'),
  summary_json: z.string().min(1).default('summary.json'),
  audit: z.string().min(1).default('audit.jsonl'),
});

/** Why `listen` cannot be the admin endpoint's address, naming the value; undefined when it can. */
function adminListenProblem(value: string): string | undefined {
  const match = LISTEN.exec(value);
  if (match === null) return `must be "host:port" (e.g. "127.0.0.1:9300"), got "${value}"`;
  const [, host = '', port = ''] = match;
  if (Number(port) > 65_535) return `the port must be a number from 0 to 65535, got "${port}"`;
  if (!isLoopbackHost(host)) return `"${host}" is not a loopback address: the admin endpoint listens on 127.0.0.1, ::1 or localhost only`;
  return undefined;
}

/** The admin endpoint's host and port from a validated `[admin] listen`. */
export function adminAddress(listen: string): { host: string; port: number } {
  const match = LISTEN.exec(listen);
  if (match === null) throw new ConfigError(`config error: admin.listen: must be "host:port", got "${listen}"`);
  const [, host = '', port = ''] = match;
  return { host: host.startsWith('[') ? host.slice(1, -1) : host, port: Number(port) };
}

/** Why a `prometheus:http://host:port/path` target cannot be served, naming the value; undefined when it can. */
function prometheusTargetProblem(value: string): string | undefined {
  if (value === 'none') return undefined;
  const target = value.replace(/^prometheus:/, '');
  const authority = /^http:\/\/([^/]*)/.exec(target)?.[1] ?? '';
  const port = /:(\d*)$/.exec(authority.replace(/^\[[^\]]*\]/, ''))?.[1];
  if (port !== undefined && (port === '' || Number(port) > 65_535)) return `${value}: the port must be a number from 0 to 65535, got "${port}"`;
  try {
    new URL(target);
  } catch {
    return `${value} is not a valid URL (host "${authority}")`;
  }
  return undefined;
}

/** Where live runs keep their day counts when neither `[state]` nor `daily_counts_file` says. */
const DEFAULT_COUNTS_FILE = 'daily-counts.json';

export const configSchema = z
  .strictObject({
    trading: tradingSchema,
    safety: safetySchema.default({ mode: 'DryRun' }),
    risk: riskSchema.prefault({}),
    gate: gateSchema.default({ type: 'AlwaysOpen' }),
    metrics: metricsSchema.default({ callback: 'none' }),
    admin: adminSchema.optional(),
    llm: llmSchema.default({ provider: 'scripted', model: 'gpt-4o-mini', timeout_ms: 30_000, max_retries: 2 }),
    agent: agentSchema.prefault({}),
    mock: mockSchema.prefault({}),
    backtest: backtestSchema.default({
      data: 'generated',
      bars: 8_640,
      seed: 42,
      cash: 100_000,
      maker_bps: 2,
      taker_bps: 5,
      report: 'report.html',
      summary_json: 'summary.json',
      audit: 'audit.jsonl',
    }),
    /** The risk state: `memory`, `file` (`path`) or `redis` (`url`, `account`, `key_prefix`, `timeout_ms`); see the README, "Shared risk state". */
    state: stateConfigSchema.optional(),
  })
  .superRefine((config, context) => {
    if (config.state !== undefined && config.risk.daily_counts_file !== undefined) {
      context.addIssue({
        code: 'custom',
        path: ['risk', 'daily_counts_file'],
        message: 'set either [state] or risk.daily_counts_file (deprecated: it means [state] type = "file"), not both',
      });
    }
    const allowed = config.risk.allowed_symbols;
    if (allowed !== undefined && !allowed.includes(config.agent.symbol)) {
      context.addIssue({
        code: 'custom',
        path: ['agent', 'symbol'],
        message: `"${config.agent.symbol}" is not in risk.allowed_symbols (${allowed.map((a) => `"${a}"`).join(', ')}): every order of the agent would be refused`,
      });
    }
    if (config.trading.halt_on_pnl_breaker && config.gate.type !== 'PnlCircuitBreaker' && config.risk.max_daily_loss === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['trading', 'halt_on_pnl_breaker'],
        message: 'needs a PnL breaker: [gate] type = "PnlCircuitBreaker" or [risk] max_daily_loss',
      });
    }
    const agent = config.agent;
    if (agent.heartbeat_timeout_ms !== undefined && config.admin === undefined) {
      context.addIssue({
        code: 'custom',
        path: ['agent', 'heartbeat_timeout_ms'],
        message: 'the dead-man timer needs [admin] listen: heartbeats arrive as POST /heartbeat on the admin endpoint',
      });
    }
    if (agent.heartbeat_cancel_all !== undefined && agent.heartbeat_timeout_ms === undefined) {
      context.addIssue({ code: 'custom', path: ['agent', 'heartbeat_cancel_all'], message: 'has no effect without agent.heartbeat_timeout_ms (no dead-man timer)' });
    }
    if (config.trading.backend === 'backtest') {
      if (agent.heartbeat_timeout_ms !== undefined) {
        context.addIssue({ code: 'custom', path: ['agent', 'heartbeat_timeout_ms'], message: 'a dead-man timer is for live backends (exchange, oms, mock), not trading.backend = "backtest"' });
      }
      if (config.admin !== undefined) {
        context.addIssue({ code: 'custom', path: ['admin', 'listen'], message: 'the admin endpoint is for live backends (exchange, oms, mock), not trading.backend = "backtest"' });
      }
    }
  })
  .transform((config) => {
    // `[state]` resolved once here: `daily_counts_file` (deprecated) maps to it, and
    // `risk.daily_counts_file` reads back as the file the state lives in (`none` when not a file).
    const legacy = config.risk.daily_counts_file;
    const state = config.state ?? (legacy === 'none' ? { type: 'memory' as const } : { type: 'file' as const, path: legacy ?? DEFAULT_COUNTS_FILE });
    return {
      ...config,
      state,
      /** How `state` was chosen: `[state]`, the deprecated `risk.daily_counts_file`, or neither (the default file). */
      state_from: config.state !== undefined ? ('state' as const) : legacy !== undefined ? ('daily_counts_file' as const) : ('default' as const),
      risk: { ...config.risk, daily_counts_file: state.type === 'file' ? state.path : 'none' },
    };
  });

export type AgentConfig = z.output<typeof configSchema>;

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Replace `${NAME}` in every string value; a missing variable is an error naming key and variable. */
export function expandEnv(value: unknown, env: NodeJS.ProcessEnv, path: string[] = []): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
      const found = env[name];
      if (found === undefined) throw new ConfigError(`config error: ${path.join('.')}: environment variable ${name} is not set`);
      return found;
    });
  }
  if (Array.isArray(value)) return value.map((item, i) => expandEnv(item, env, [...path, String(i)]));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, expandEnv(item, env, [...path, key])]));
  }
  return value;
}

/** The dotted key (`trading.timeout_ms`) assigned on 1-based `line` of TOML `text`, when the line assigns one. */
function tomlKeyAtLine(text: string, line: number): string | undefined {
  const lines = text.split(/\r?\n/);
  const assigned = /^\s*([A-Za-z0-9_.-]+)\s*=/.exec(lines[line - 1] ?? '')?.[1];
  if (assigned === undefined) return undefined;
  let table = '';
  for (const l of lines.slice(0, line - 1)) {
    const header = /^\s*\[+\s*([A-Za-z0-9_.-]+)\s*\]+/.exec(l)?.[1];
    if (header !== undefined) table = header;
  }
  return table === '' ? assigned : `${table}.${assigned}`;
}

/** Parse and validate config text. Throws `ConfigError` naming the key. */
export function parseConfig(text: string, env: NodeJS.ProcessEnv = process.env, source = 'config'): AgentConfig {
  let raw: unknown;
  try {
    raw = parseToml(text);
  } catch (error) {
    if (!(error instanceof TomlError)) throw new ConfigError(`config error: ${source} is not valid TOML: ${String(error)}`);
    const key = tomlKeyAtLine(text, error.line);
    const where = `line ${error.line}, column ${error.column}: ${error.message.split('\n')[0]}`;
    throw new ConfigError(scrubSecrets(`config error: ${key === undefined ? '' : `${key}: `}${source} is not valid TOML: ${where}`));
  }
  const expanded = expandEnv(raw, env);
  // Known before anything can print them, an error about the config included.
  registerSecrets(...secretsIn(expanded));
  const parsed = configSchema.safeParse(expanded);
  if (!parsed.success) throw new ConfigError(scrubSecrets(`config error: ${describeZodError(parsed.error, '(config)')}`));
  return parsed.data;
}

export function loadConfig(path: string, env: NodeJS.ProcessEnv = process.env): AgentConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`config error: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  return parseConfig(text, env, path);
}

/** `value` with every secret key's value and every URL password replaced by `***`. */
function redactTree(value: unknown, key = ''): unknown {
  if (typeof value === 'string') {
    if (isSecretKey(key)) return '***';
    return value.replace(/^((?:prometheus:)?[a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)[^\s/@]+@/i, '$1***@');
  }
  if (Array.isArray(value)) return value.map((item) => redactTree(item, key));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactTree(v, k)]));
  return value;
}

/** The config with secrets replaced, for printing. */
export function redactConfig(config: AgentConfig): AgentConfig {
  return redactTree(config) as AgentConfig;
}

/** The embedded default: an agent backtest on generated data with the runbook's limits. */
export const DEFAULT_CONFIG_TOML = `
[trading]
backend = "backtest"
[safety]
mode = "Direct"
[risk]
max_order_notional = 50000.0
max_daily_orders = 100
max_position_abs = 10.0
allowed_symbols = ["BTC-USDT", "ETH-USDT"]
[gate]
type = "RejectionCircuitBreaker"
threshold = 5
cooldown_ms = 60000
[llm]
provider = "scripted"
[backtest]
data = "generated"
`;

/** The tools' options for this config (backend supplied by the caller). */
export function toolsOptionsFromConfig(config: AgentConfig): Omit<TradingToolsOptions, 'backend'> {
  const r = config.risk;
  // Only the limits the config sets (an absent one is no limit, not `undefined`).
  const risk: RiskOptions = {
    ...(r.allowed_symbols === undefined ? {} : { allowedSymbols: r.allowed_symbols }),
    ...(r.max_order_notional === undefined ? {} : { maxOrderNotional: r.max_order_notional }),
    ...(r.max_position_abs === undefined ? {} : { maxPositionAbs: r.max_position_abs }),
    ...(r.max_daily_orders === undefined ? {} : { maxDailyOrders: r.max_daily_orders }),
    ...(r.max_daily_cancels === undefined ? {} : { maxDailyCancels: r.max_daily_cancels }),
    ...(r.max_order_quantity === undefined ? {} : { maxOrderQuantity: r.max_order_quantity }),
    ...(r.min_order_notional === undefined ? {} : { minOrderNotional: r.min_order_notional }),
    ...(r.price_collar_bps === undefined ? {} : { priceCollarBps: r.price_collar_bps }),
    ...(r.max_reference_age_ms === undefined ? {} : { maxReferenceAgeMs: r.max_reference_age_ms }),
    ...(r.max_open_orders === undefined ? {} : { maxOpenOrders: r.max_open_orders }),
    ...(r.duplicate_window_ms === undefined ? {} : { duplicateWindowMs: r.duplicate_window_ms }),
    ...(r.max_orders_per_second === undefined ? {} : { maxOrdersPerSecond: r.max_orders_per_second }),
    ...(r.max_orders_per_minute === undefined ? {} : { maxOrdersPerMinute: r.max_orders_per_minute }),
    ...(r.self_trade_prevention === undefined ? {} : { selfTradePrevention: r.self_trade_prevention }),
    ...(r.max_daily_loss === undefined ? {} : { maxDailyLoss: r.max_daily_loss }),
  };
  const gate: GateOptions =
    config.gate.type === 'RejectionCircuitBreaker'
      ? { type: 'RejectionCircuitBreaker', threshold: config.gate.threshold, cooldownMs: config.gate.cooldown_ms }
      : config.gate.type === 'PnlCircuitBreaker'
        ? { type: 'PnlCircuitBreaker', dailyPnlFloor: config.gate.daily_pnl_floor }
        : { type: 'AlwaysOpen' };
  return {
    mode: config.safety.mode,
    risk,
    gate,
    confirmTtlMs: config.safety.confirm_ttl_ms,
    backendTimeoutMs: config.trading.timeout_ms,
    tradingState: config.trading.state,
    haltOnPnlBreaker: config.trading.halt_on_pnl_breaker,
  };
}
