// One account on a real redis-server traded by several tools instances ("replicas"), each with its
// own mock venue and its own store connection, all reading one injected clock: the harness of the
// specs that prove a control holds for the account (shared-throttle, shared-order-controls).
import { expect } from 'vitest';

import { createTradingTools, jsonLineLogger, MockTradingBackend, TradingMetrics, type TradingToolsOptions } from '../../ts/index';
import { RedisStateStore } from '../../ts/state/redis-store';
import { DAY_MS, T0 } from '../harness';
import type { RedisServer } from './redis-server';

let accounts = 0;

/** The account's clock (every replica's store reads it): today's UTC noon, so the day's keys live. */
class Clock {
  readonly start = Math.floor(Date.now() / DAY_MS) * DAY_MS + DAY_MS / 2;
  now = this.start;
  read = (): number => this.now;
}

/** A fresh account named `<prefix>-<n>`; `replica()` adds a tools instance trading it. */
export function sharedAccount(redis: RedisServer, prefix: string, risk: TradingToolsOptions['risk']) {
  const name = `${prefix}-${++accounts}`;
  const clock = new Clock();
  const opened: RedisStateStore[] = [];
  const lines: string[] = [];
  const replica = async () => {
    const store = await RedisStateStore.open({ url: redis.url, account: name, nowMs: clock.read });
    opened.push(store);
    const backend = new MockTradingBackend({ referencePrices: { 'BTC-USDT': 20_000 }, now: () => T0 });
    const logger = jsonLineLogger({ level: 'warn', write: (line) => lines.push(line) });
    const tools = createTradingTools({ mode: 'Direct', clockStartMs: T0, risk, backend, logger, metrics: new TradingMetrics(), state: store });
    return { tools, backend, store };
  };
  /** Settles are reported after the answer: wait until none is left (no reservation in the store). */
  const settled = async () => {
    const observer = opened[0];
    while (observer !== undefined && (await observer.snapshot()).reservations.length > 0) await new Promise((resolve) => setTimeout(resolve, 5));
  };
  /** Closed once every settle landed, so no report is cut off; no call met an unavailable store. */
  const close = async () => {
    await settled();
    await Promise.all(opened.map((store) => store.close()));
    expect(lines.filter((line) => line.includes('STATE_UNAVAILABLE'))).toEqual([]);
  };
  return { clock, replica, close, settled };
}

export type SharedReplica = Awaited<ReturnType<ReturnType<typeof sharedAccount>['replica']>>;
