// Structured JSON-line logging for decisions. Messages carry the runbook's words: the mode
// (DryRun/TwoPhase/Direct), RiskLimits, RiskGate, "circuit breaker open", BackendError.

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent';

const RANK: Record<LogLevel, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, silent: 100 };

export interface LogRecord {
  msg: string;
  [field: string]: unknown;
}

export interface Logger {
  isEnabled(level: Exclude<LogLevel, 'silent'>): boolean;
  log(level: Exclude<LogLevel, 'silent'>, record: LogRecord): void;
}

/** `LOG_LEVEL`, else the level word of `RUST_LOG` (`info`, or `axon=debug,...`), else `fallback`. */
export function levelFromEnv(env: NodeJS.ProcessEnv = process.env, fallback: LogLevel = 'warn'): LogLevel {
  const candidates = [env.LOG_LEVEL, ...(env.RUST_LOG ?? '').split(',').map((part) => part.split('=').pop())];
  for (const raw of candidates) {
    const word = raw?.trim().toLowerCase();
    if (word === undefined || word === '') continue;
    if (word === 'off') return 'silent';
    if (word in RANK) return word as LogLevel;
  }
  return fallback;
}

/** One JSON object per line (pino-compatible field names: level, time, msg). */
export function jsonLineLogger(options: { level?: LogLevel; write?: (line: string) => void } = {}): Logger {
  const threshold = RANK[options.level ?? levelFromEnv()];
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  return {
    isEnabled: (level) => RANK[level] >= threshold,
    log(level, record) {
      if (RANK[level] < threshold) return;
      write(`${JSON.stringify({ level, time: Date.now(), ...record })}\n`);
    },
  };
}

export const silentLogger: Logger = { isEnabled: () => false, log: () => undefined };
