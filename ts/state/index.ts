// Choosing a risk-state store from configuration: `[state]` in TOML (snake_case keys) or `state`
// in `createTradingTools` options. The schema is the trust boundary for those keys: a bad value is
// a StateConfigError naming `state.<key>`, and nothing is opened.
import { z } from 'zod';

import { describeZodError } from '../zod-issues';
import { StateConfigError } from './errors';
import { FileStateStore } from './file-store';
import { MemoryStateStore } from './memory-store';
import { DEFAULT_TIMEOUT_MS, RedisStateStore, type RoundTrip } from './redis-store';
import type { RiskStateStore } from './store';

export { StateConfigError, StateLockedError, StateUnavailable } from './errors';
export type * from './store';
export type { RoundTrip } from './redis-store';

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

/** Validates `[state]` (absent: memory, today's behaviour); throws StateConfigError naming the key. */
export function parseStateConfig(value: unknown): z.output<typeof stateConfigSchema> {
  const result = stateConfigSchema.safeParse(value ?? { type: 'memory' });
  if (!result.success) throw new StateConfigError(`[state]: ${describeZodError(result.error, 'state')}`);
  return result.data;
}

/**
 * Opens the configured store: the file store takes its lock (StateLockedError naming the holder),
 * the Redis store connects and loads its script (StateUnavailable when Redis does not answer).
 */
export async function openStateStore(value: unknown, options: { nowMs?: () => number; observe?: (sample: RoundTrip) => void } = {}): Promise<RiskStateStore> {
  const config = parseStateConfig(value);
  const clock = options.nowMs ? { nowMs: options.nowMs } : {};
  switch (config.type) {
    case 'memory':
      return new MemoryStateStore(clock);
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
