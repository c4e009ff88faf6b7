// Choosing the risk state from configuration: `[state]` in TOML (snake_case keys) or `state` in
// `createTradingTools` options. The schema is the trust boundary for those keys: a bad value is a
// StateConfigError naming `state.<key>`, and nothing is opened.
//
// What each type is (no limit logic lives here; the Rust chain decides):
// - `memory`: the Rust chain's own in-process state (today's behaviour, the default): nothing to open.
// - `file`: that same in-process state, its day counts made durable in one locked file (FileStateStore).
// - `redis`: the account-wide parts of the chain's decision asked of Redis, one script call each (RedisStateStore).
import { z } from 'zod';

import { describeZodError } from '../zod-issues';
import { StateConfigError } from './errors';
import { FileStateStore } from './file-store';
import { DEFAULT_TIMEOUT_MS, RedisStateStore, type RoundTrip } from './redis-store';

export { StateConfigError, StateLockedError, StateUnavailable } from './errors';
export { FileStateStore, type LockHolder } from './file-store';
export { RedisStateStore, type RoundTrip } from './redis-store';
export type * from './store';

export const stateConfigSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('memory') }),
  z.strictObject({ type: z.literal('file'), path: z.string().min(1) }),
  z.strictObject({
    type: z.literal('redis'),
    url: z.string().regex(/^rediss?:\/\//, 'expected a redis:// or rediss:// URL'),
    account: z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, 'expected 1-64 characters of A-Z a-z 0-9 . _ : -'),
    key_prefix: z.string().regex(/^[A-Za-z0-9._:-]{0,64}$/, 'expected up to 64 characters of A-Z a-z 0-9 . _ : -').optional(),
    timeout_ms: z.number().int().min(1).max(60_000).default(DEFAULT_TIMEOUT_MS),
  }),
]);

export type StateConfig = z.input<typeof stateConfigSchema>;
export type ParsedStateConfig = z.output<typeof stateConfigSchema>;

/** Validates `[state]` (absent: memory, today's behaviour); throws StateConfigError naming the key. */
export function parseStateConfig(value: unknown): ParsedStateConfig {
  const result = stateConfigSchema.safeParse(value ?? { type: 'memory' });
  if (!result.success) throw new StateConfigError(`[state]: ${describeZodError(result.error, 'state')}`);
  return result.data;
}

/** `type = "memory"`: the chain's own state in this process; nothing to open, reach or close. */
export const MEMORY_STATE = {
  kind: 'memory',
  ping: (): Promise<void> => Promise.resolve(),
  close: (): Promise<void> => Promise.resolve(),
} as const;

/** An opened risk state, ready to hand to `createTradingTools({ state })`; the opener closes it. */
export type OpenedState = typeof MEMORY_STATE | FileStateStore | RedisStateStore;

/** A URL with its password (if any) replaced, for logs. */
function shownUrl(url: string): string {
  return url.replace(/^(rediss?:\/\/[^\s:/@]*:)[^\s/@]+@/i, '$1***@');
}

/** Where the configured state lives, in words (start log, self-check); secrets left out. */
export function describeState(config: ParsedStateConfig): string {
  switch (config.type) {
    case 'memory':
      return 'memory (this process only; day counts, breakers and tokens reset on restart)';
    case 'file':
      return `file ${config.path} (lock ${config.path}.lock; one process)`;
    case 'redis':
      return `redis ${shownUrl(config.url)} account ${config.account}${config.key_prefix ? ` key prefix ${config.key_prefix}` : ''} (timeout ${config.timeout_ms} ms)`;
  }
}

/**
 * Opens the configured state: the file store takes its lock (StateLockedError naming the holder),
 * the Redis store connects and loads its script (StateUnavailable when Redis does not answer).
 */
export async function openStateStore(value: unknown, options: { nowMs?: () => number; observe?: (sample: RoundTrip) => void } = {}): Promise<OpenedState> {
  const config = parseStateConfig(value);
  const clock = options.nowMs ? { nowMs: options.nowMs } : {};
  switch (config.type) {
    case 'memory':
      return MEMORY_STATE;
    case 'file':
      return FileStateStore.open({ path: config.path, ...clock });
    case 'redis':
      return RedisStateStore.open({
        url: config.url,
        account: config.account,
        timeoutMs: config.timeout_ms,
        ...(config.key_prefix === undefined ? {} : { keyPrefix: config.key_prefix }),
        ...(options.observe ? { observe: options.observe } : {}),
        ...clock,
      });
  }
}
