// Structured JSON-line logging (pino) for decisions. Messages carry the runbook's words: the mode
// (DryRun/TwoPhase/Direct), RiskLimits, RiskGate, "circuit breaker open", BackendError.
import pino from 'pino';

import { scrubSecrets } from './secrets';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent';
type ActiveLevel = Exclude<LogLevel, 'silent'>;

const RANK: Record<LogLevel, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, silent: 100 };

export interface LogRecord {
  msg: string;
  [field: string]: unknown;
}

export interface Logger {
  isEnabled(level: ActiveLevel): boolean;
  log(level: ActiveLevel, record: LogRecord): void;
  /** Write out anything buffered (before exit). */
  flush?(): void;
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

/**
 * A pino logger writing one JSON object per line (`level` as its name, `time` in epoch ms, `msg`)
 * to `write`, or to stderr when none is given. Every line is scrubbed of the process's secrets
 * (`scrubSecrets`) as a whole, whichever field carries them.
 */
export function jsonLineLogger(options: { level?: LogLevel; write?: (line: string) => void } = {}): Logger {
  const level = options.level ?? levelFromEnv();
  const stderr = options.write === undefined ? pino.destination({ fd: 2, sync: true }) : undefined;
  const write =
    options.write ??
    ((line: string) => {
      stderr?.write(line);
    });
  const destination = {
    write: (line: string) => {
      write(scrubSecrets(line));
    },
  };
  const logger = pino(
    {
      level,
      base: undefined,
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.epochTime,
    },
    destination,
  );
  return {
    isEnabled: (l) => logger.isLevelEnabled(l),
    log(l, record) {
      const { msg, ...fields } = record;
      logger[l](fields, msg);
    },
    // SonicBoom in sync mode has written each line already; the flush is for symmetry with async writers.
    flush: () => stderr?.flush(),
  };
}

export const silentLogger: Logger = { isEnabled: () => false, log: () => undefined };
