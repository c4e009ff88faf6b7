// `type = "redis"`: the risk state of one account shared by any number of processes and hosts.
// Every call is one EVALSHA of RISK_STATE_LUA (EVAL when Redis answers NOSCRIPT, after a restart
// or a failover), so each decision is atomic on the server.
//
// Failure model (fail closed): unreachable, slower than `timeoutMs`, or an answer that is not a
// verdict -> StateUnavailable, never a grant. The client keeps no broken state: the offline queue
// is off (a call while disconnected fails at once instead of waiting), a command in flight when the
// connection drops is NOT replayed (maxRetriesPerRequest 0: a replay of orderProgress or
// recordRiskRejection whose first run succeeded would count twice), and ioredis reconnects in the
// background, so calls succeed again as soon as Redis answers. A call that timed out may still have run on the server: its
// reservation then counts until its lease ends (the chain has refused the order, so that is safe).
import { createHash, randomUUID } from 'node:crypto';

import { Redis, ReplyError } from 'ioredis';
import { z } from 'zod';

import { describeZodError } from '../zod-issues';
import { StateConfigError, StateUnavailable } from './errors';
import { RISK_STATE_LUA } from './redis-script';
import { checkBreaker, checkCancel, checkOutcome, checkPlace, checkPnl, checkProgress, checkPropose, checkReservation, checkTradingStateWrite } from './requests';
import type {
  AccountTradingState,
  BreakerConfig,
  CancelRequest,
  ExposureSnapshot,
  OrderProgress,
  PlaceVerdict,
  ProposeRequest,
  ProposeVerdict,
  PlaceRequest,
  RefusalCode,
  Reservation,
  RiskStateStore,
  SettleOutcome,
  SettleResult,
  StateSnapshot,
  TradingStateWrite,
} from './store';
import { DAY_MS, DEFAULT_LEASE_MS, DEFAULT_MAX_PENDING_TOKENS, DEFAULT_TOKEN_TTL_MS, REFUSAL_CODES, utcDay } from './store';

export const DEFAULT_TIMEOUT_MS = 250;

const optionsSchema = z.strictObject({
  url: z.string().regex(/^rediss?:\/\//, 'expected a redis:// or rediss:// URL'),
  account: z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, 'expected 1-64 characters of A-Z a-z 0-9 . _ : - (it becomes the {account} hash tag)'),
  keyPrefix: z.string().regex(/^[A-Za-z0-9._:-]{0,64}$/, 'expected up to 64 characters of A-Z a-z 0-9 . _ : -').optional(),
  timeoutMs: z.number().int().min(1).max(60_000).optional(),
  nowMs: z.custom<() => number>((value) => typeof value === 'function', 'expected a function').optional(),
  /** Called after every script call, for the round-trip histogram and error counter. */
  observe: z.custom<(sample: RoundTrip) => void>((value) => typeof value === 'function', 'expected a function').optional(),
});

/** One script call as metrics see it: the operation, its round trip, and how it ended. */
export interface RoundTrip {
  op: string;
  seconds: number;
  outcome: 'ok' | StateUnavailable['why'];
}

export type RedisStoreOptions = z.infer<typeof optionsSchema>;

const SCRIPT_SHA = createHash('sha1').update(RISK_STATE_LUA).digest('hex');

const stringList = z.array(z.string());
const grantReply = z.tuple([z.literal('ok'), z.string(), z.string(), z.string(), z.enum(['place', 'cancel'])]);
const tokenReply = z.tuple([z.literal('token'), z.string(), z.string()]);
const refusalReply = z.tuple([z.literal('no'), z.enum(REFUSAL_CODES as [RefusalCode, ...RefusalCode[]])]).rest(z.string());
const doneReply = z.tuple([z.enum(['done', 'settled', 'expired'])]);
const snapshotReply = z.tuple([z.string(), z.string(), z.string(), z.tuple([z.string(), z.string(), z.string(), z.string()]), z.string(), stringList, stringList, z.string()]);
const recordSchema = z.object({ kind: z.enum(['place', 'cancel']), lease: z.string() });
const accountState = z.enum(['ACTIVE', 'REDUCING', 'HALTED']);
const tradingReply = z.tuple([z.literal('trading'), accountState, accountState, z.string().min(1), z.string(), z.string(), z.string()]);
const noTradingReply = z.tuple([z.literal('trading')]);

/** A decimal the script wrote; anything else is a garbage answer. */
function decimal(text: string, what: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) throw new StateUnavailable('garbage', `risk state store answered ${JSON.stringify(text)} for ${what}, not a number`);
  return value;
}

function optional(value: number | undefined): string {
  return value === undefined ? '' : String(value);
}

export class RedisStateStore implements RiskStateStore {
  readonly kind = 'redis';
  private readonly client: Redis;
  private readonly keys: (day: number) => string[];
  private readonly nowMs: () => number;
  /** Per command: a slower answer is StateUnavailable('timeout'). */
  readonly timeoutMs: number;
  private readonly observe: ((sample: RoundTrip) => void) | undefined;
  /** The last connection error ioredis reported, quoted in StateUnavailable messages. */
  private lastError: string | undefined;

  private constructor(options: RedisStoreOptions) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.nowMs = options.nowMs ?? Date.now;
    this.observe = options.observe;
    const base = `${options.keyPrefix ?? ''}{${options.account}}:`;
    this.keys = (day) =>
      ['breaker', 'exposure', 'reservations', 'leases', 'tokens', 'token-expiries', `orders:${day}`, `cancels:${day}`, 'pnl', 'resting', 'trading', 'rate', 'dupes'].map((name) => base + name);
    this.client = new Redis(options.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: this.timeoutMs,
      connectTimeout: Math.max(this.timeoutMs, 1_000),
      retryStrategy: (attempt) => Math.min(attempt * 50, 500),
    });
    this.client.on('error', (error: Error) => {
      this.lastError = error.message;
    });
    this.client.on('ready', () => {
      this.lastError = undefined;
    });
  }

  /**
   * Connects and loads the script. Throws StateConfigError for bad options (naming the key) and
   * StateUnavailable when Redis does not answer; the client keeps reconnecting either way after
   * `open` has returned a store.
   */
  static async open(options: RedisStoreOptions): Promise<RedisStateStore> {
    const parsed = optionsSchema.safeParse(options);
    if (!parsed.success) throw new StateConfigError(`state (redis): ${describeZodError(parsed.error, '(options)')}`);
    const store = new RedisStateStore(parsed.data);
    try {
      await store.client.connect();
      await store.client.script('LOAD', RISK_STATE_LUA);
    } catch (error) {
      store.client.disconnect();
      throw store.unavailable(error);
    }
    return store;
  }

  private unavailable(error: unknown): StateUnavailable {
    if (error instanceof StateUnavailable) return error;
    const message = error instanceof Error ? error.message : String(error);
    // A reply error (ERR, WRONGTYPE, a script error) is Redis answering something that is no verdict;
    // anything else (refused, reset, closed, the retry limit of a dropped connection) is not reaching it.
    const why = /timed out/i.test(message) ? 'timeout' : error instanceof ReplyError ? 'garbage' : 'unreachable';
    const detail = why === 'timeout' ? `no answer within timeout_ms ${this.timeoutMs}` : message;
    const last = this.lastError && this.lastError !== message ? ` (last connection error: ${this.lastError})` : '';
    return new StateUnavailable(why, `risk state store (redis) unavailable: ${detail}${last}`, { cause: error });
  }

  /** One atomic script call, observed for metrics. */
  private async run(op: string, now: number, args: string[]): Promise<unknown> {
    const keys = this.keys(utcDay(now));
    const argv = [op, String(now), ...args];
    const started = process.hrtime.bigint();
    const report = (outcome: RoundTrip['outcome']): void => {
      this.observe?.({ op, seconds: Number(process.hrtime.bigint() - started) / 1e9, outcome });
    };
    try {
      let reply: unknown;
      try {
        reply = await this.client.evalsha(SCRIPT_SHA, keys.length, ...keys, ...argv);
      } catch (error) {
        if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
        reply = await this.client.eval(RISK_STATE_LUA, keys.length, ...keys, ...argv);
      }
      report('ok');
      return reply;
    } catch (error) {
      const unavailable = this.unavailable(error);
      report(unavailable.why);
      throw unavailable;
    }
  }

  private parse<T>(schema: z.ZodType<T>, reply: unknown, op: string): T {
    const result = schema.safeParse(reply);
    if (!result.success) throw new StateUnavailable('garbage', `risk state store (redis) answered ${(JSON.stringify(reply) as string | undefined)?.slice(0, 200) ?? 'nothing'} to ${op}, not a verdict`);
    return result.data;
  }

  /** A verdict reply and the account's trading state the script appended to it (a trailing nested array), if any. */
  private splitTrading(reply: unknown, op: string): { reply: unknown; tradingState?: AccountTradingState } {
    if (!Array.isArray(reply) || !Array.isArray(reply[reply.length - 1])) return { reply };
    const tradingState = this.tradingRecord(reply[reply.length - 1], op);
    return tradingState === undefined ? { reply: reply.slice(0, -1) } : { reply: reply.slice(0, -1), tradingState };
  }

  private tradingRecord(reply: unknown, op: string): AccountTradingState | undefined {
    if (noTradingReply.safeParse(reply).success) return undefined;
    const [, state, from, source, reason, time, seq] = this.parse(tradingReply, reply, op);
    return { state, from, source, ...(reason === '' ? {} : { reason }), timeMs: decimal(time, 'trading state time'), seq: decimal(seq, 'trading state seq') };
  }

  private verdict(answer: unknown, op: string): PlaceVerdict {
    const { reply, tradingState } = this.splitTrading(answer, op);
    const grant = grantReply.safeParse(reply);
    if (grant.success) {
      const [, id, day, lease, kind] = grant.data;
      const reservation = { id, kind, day: decimal(day, 'day'), leaseUntilMs: decimal(lease, 'lease') };
      return tradingState === undefined ? { ok: true, reservation } : { ok: true, reservation, tradingState };
    }
    return this.refusal(reply, op, tradingState);
  }

  private refusal(reply: unknown, op: string, tradingState?: AccountTradingState): { ok: false; reason: RefusalCode; numbers: Record<string, number>; tradingState?: AccountTradingState } {
    const [, reason, ...pairs] = this.parse(refusalReply, reply, op);
    if (pairs.length % 2 !== 0) throw new StateUnavailable('garbage', `risk state store (redis) answered an odd number list to ${op}`);
    const numbers: Record<string, number> = {};
    for (let i = 0; i < pairs.length; i += 2) numbers[pairs[i] ?? ''] = decimal(pairs[i + 1] ?? '', `${reason}.${pairs[i] ?? ''}`);
    return tradingState === undefined ? { ok: false, reason, numbers } : { ok: false, reason, numbers, tradingState };
  }

  private static breakerArgs(breaker: BreakerConfig): string[] {
    return [optional(breaker.rejection?.threshold), optional(breaker.rejection?.cooldownMs), optional(breaker.pnlFloor)];
  }

  async reservePlace(request: PlaceRequest): Promise<PlaceVerdict> {
    const r = checkPlace(request);
    const now = this.nowMs();
    const reply = await this.run('place', now, [
      r.reservationId ?? randomUUID(),
      r.symbol,
      r.side,
      String(r.quantity),
      optional(r.limits.maxDailyOrders),
      optional(r.limits.maxPositionAbs),
      ...RedisStateStore.breakerArgs(r.breaker),
      r.token?.redeem ?? '',
      r.token?.fieldsHash ?? '',
      String(r.leaseMs ?? DEFAULT_LEASE_MS),
      String((utcDay(now) + 2) * DAY_MS),
      r.dailySlot === false ? '0' : '1',
      optional(r.limits.maxOrdersPerSecond),
      optional(r.limits.maxOrdersPerMinute),
      r.duplicate?.key ?? '',
      optional(r.duplicate?.windowMs),
      optional(r.limits.maxOpenOrders),
    ]);
    return this.verdict(reply, 'reservePlace');
  }

  async proposePlace(request: ProposeRequest): Promise<ProposeVerdict> {
    const r = checkPropose(request);
    const reply = await this.run('propose', this.nowMs(), [
      randomUUID(),
      r.symbol,
      r.side,
      String(r.quantity),
      optional(r.limits.maxDailyOrders),
      optional(r.limits.maxPositionAbs),
      ...RedisStateStore.breakerArgs(r.breaker),
      r.fieldsHash,
      String(r.ttlMs ?? DEFAULT_TOKEN_TTL_MS),
      String(r.maxPending ?? DEFAULT_MAX_PENDING_TOKENS),
      r.dailySlot === false ? '0' : '1',
      optional(r.limits.maxOrdersPerSecond),
      optional(r.limits.maxOrdersPerMinute),
      r.duplicate?.key ?? '',
      optional(r.duplicate?.windowMs),
      optional(r.limits.maxOpenOrders),
    ]);
    const { reply: verdict, tradingState } = this.splitTrading(reply, 'proposePlace');
    const issued = tokenReply.safeParse(verdict);
    if (issued.success) {
      const token = { ok: true as const, token: issued.data[1], expiresAtMs: decimal(issued.data[2], 'token expiry') };
      return tradingState === undefined ? token : { ...token, tradingState };
    }
    return this.refusal(verdict, 'proposePlace', tradingState);
  }

  async reserveCancel(request: CancelRequest): Promise<PlaceVerdict> {
    const r = checkCancel(request);
    const now = this.nowMs();
    const reply = await this.run('cancel', now, [
      r.reservationId ?? randomUUID(),
      optional(r.limits.maxDailyCancels),
      String(r.leaseMs ?? DEFAULT_LEASE_MS),
      String((utcDay(now) + 2) * DAY_MS),
      optional(r.limits.maxOrdersPerSecond),
      optional(r.limits.maxOrdersPerMinute),
    ]);
    return this.verdict(reply, 'reserveCancel');
  }

  async settle(reservation: Reservation, outcome: SettleOutcome): Promise<SettleResult> {
    const held = checkReservation(reservation);
    const o = checkOutcome(outcome);
    const accepted = o.kind === 'accepted' ? o : undefined;
    const reply = await this.run('settle', this.nowMs(), [
      held.id,
      o.kind,
      accepted?.orderId ?? '',
      String(accepted?.filledQuantity ?? 0),
      String(accepted?.restingQuantity ?? 0),
    ]);
    const [result] = this.parse(doneReply, reply, 'settle');
    if (result === 'done') throw new StateUnavailable('garbage', 'risk state store (redis) answered done to settle');
    return result;
  }

  async orderProgress(update: OrderProgress): Promise<void> {
    const u = checkProgress(update);
    this.parse(doneReply, await this.run('progress', this.nowMs(), [u.orderId, String(u.filledQuantity), u.closed ? '1' : '0', optional(u.remaining)]), 'orderProgress');
  }

  async recordRiskRejection(breaker: BreakerConfig): Promise<void> {
    const b = checkBreaker(breaker);
    this.parse(doneReply, await this.run('reject', this.nowMs(), [optional(b.rejection?.threshold), optional(b.rejection?.cooldownMs)]), 'recordRiskRejection');
  }

  async recordDailyPnl(dailyPnl: number): Promise<void> {
    const value = checkPnl(dailyPnl);
    this.parse(doneReply, await this.run('pnl', this.nowMs(), [String(value)]), 'recordDailyPnl');
  }

  async resetBreaker(): Promise<void> {
    this.parse(doneReply, await this.run('reset_breaker', this.nowMs(), []), 'resetBreaker');
  }

  async resetDailyCounts(day?: number): Promise<void> {
    const now = this.nowMs();
    // The day's keys are named by the day: the script is run as if at that day's noon.
    const at = day === undefined ? now : day * DAY_MS + DAY_MS / 2;
    this.parse(doneReply, await this.run('reset_daily', at, []), 'resetDailyCounts');
  }

  async snapshot(): Promise<StateSnapshot> {
    const now = this.nowMs();
    const [day, orders, cancels, breaker, pnl, exposureFlat, reservationsFlat, pendingTokens] = this.parse(snapshotReply, await this.run('snapshot', now, []), 'snapshot');
    const exposure: Record<string, ExposureSnapshot> = {};
    const names: Record<string, keyof ExposureSnapshot> = { pos: 'position', rb: 'restingBuy', rs: 'restingSell', ib: 'inflightBuy', is: 'inflightSell' };
    for (let i = 0; i + 1 < exposureFlat.length; i += 2) {
      const field = exposureFlat[i] ?? '';
      const cut = field.lastIndexOf(':');
      const name = names[field.slice(cut + 1)];
      if (cut <= 0 || !name) throw new StateUnavailable('garbage', `risk state store (redis): unexpected exposure field ${field}`);
      const symbol = field.slice(0, cut);
      exposure[symbol] ??= { position: 0, restingBuy: 0, restingSell: 0, inflightBuy: 0, inflightSell: 0 };
      exposure[symbol][name] = decimal(exposureFlat[i + 1] ?? '', field);
    }
    const reservations: StateSnapshot['reservations'] = [];
    for (let i = 0; i + 1 < reservationsFlat.length; i += 2) {
      let record: z.infer<typeof recordSchema>;
      try {
        record = recordSchema.parse(JSON.parse(reservationsFlat[i + 1] ?? ''));
      } catch (error) {
        throw new StateUnavailable('garbage', `risk state store (redis): reservation ${reservationsFlat[i] ?? ''} is not a record`, { cause: error });
      }
      reservations.push({ id: reservationsFlat[i] ?? '', kind: record.kind, leaseUntilMs: decimal(record.lease, 'lease') });
    }
    const [state, streak, until, openings] = breaker;
    if (state !== 'Closed' && state !== 'Open' && state !== 'HalfOpen') throw new StateUnavailable('garbage', `risk state store (redis): breaker state ${state}`);
    return {
      day: decimal(day, 'day'),
      dailyOrders: decimal(orders, 'orders'),
      dailyCancels: decimal(cancels, 'cancels'),
      breaker: { state, streak: decimal(streak, 'streak'), openUntilMs: decimal(until, 'until'), openings: decimal(openings, 'openings') },
      dailyPnl: pnl === '' ? undefined : decimal(pnl, 'pnl'),
      exposure,
      reservations,
      pendingTokens: decimal(pendingTokens, 'pending tokens'),
    };
  }

  async setTradingState(change: TradingStateWrite): Promise<AccountTradingState> {
    const c = checkTradingStateWrite(change);
    const record = this.tradingRecord(await this.run('trading_set', this.nowMs(), [c.state, c.source, c.reason ?? '', String(c.timeMs)]), 'setTradingState');
    if (record === undefined) throw new StateUnavailable('garbage', 'risk state store (redis) answered no trading state to setTradingState');
    return record;
  }

  async tradingState(): Promise<AccountTradingState | undefined> {
    return this.tradingRecord(await this.run('trading_get', this.nowMs(), []), 'tradingState');
  }

  async ping(): Promise<void> {
    try {
      await this.client.ping();
    } catch (error) {
      throw this.unavailable(error);
    }
  }

  async close(): Promise<void> {
    try {
      await this.client.quit();
    } catch {
      this.client.disconnect(); // already disconnected: nothing left to flush
    }
  }
}
