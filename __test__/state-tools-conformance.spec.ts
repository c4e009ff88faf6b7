// The same scenarios through `createTradingTools` in memory mode (the Rust chain decides from its
// own state) and in redis mode (the account-wide checks are asked of the Lua script on a real
// redis-server): each tool call must get the same answer, refusal text included. This is the proof
// that the Lua script and the Rust chain agree. One injected clock drives both (the guard's manual
// clock and the store's clock), so UTC midnight and cooldowns pass without waiting.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { MockTradingBackend } from '../ts/backends/mock';
import { RedisStateStore } from '../ts/state/redis-store';
import { DAY_MS } from '../ts/state/store';
import { createTradingTools, type GateOptions, type RiskOptions, type ToolCallResult, type TradingTools } from '../ts/tools';
import { RedisServer } from './support/redis-server';

/** Today's UTC midnight: Redis expires the store's day keys by the store's day, so the clock starts today. */
const TODAY_START = Math.floor(Date.now() / DAY_MS) * DAY_MS;

let redis: RedisServer;
let accounts = 0;

beforeAll(async () => {
  redis = await RedisServer.start();
});

afterAll(async () => {
  await redis.stop();
});

const silent = { log: () => undefined, isEnabled: () => false };

interface Setup {
  mode?: 'Direct' | 'TwoPhase';
  risk: RiskOptions;
  gate?: GateOptions;
  /** Start of the injected clock (Unix ms). */
  startMs?: number;
}

/** One answer as the agent sees it, with what differs by design (a token's value) masked. */
type Answer = { ok: true; status: string | undefined; order_id: unknown } | { ok: false; code: string; message: string };

class Session {
  private constructor(
    readonly tools: TradingTools,
    readonly backend: MockTradingBackend,
    private readonly clock: { now: number },
    private readonly store: RedisStateStore | undefined,
  ) {}

  static async open(kind: 'memory' | 'redis', setup: Setup): Promise<Session> {
    const clock = { now: setup.startMs ?? TODAY_START + DAY_MS / 2 };
    const backend = new MockTradingBackend({ referencePrices: { 'BTC-USDT': 20_000 }, now: () => clock.now });
    const store = kind === 'redis' ? await RedisStateStore.open({ url: redis.url, account: `tools-${++accounts}`, timeoutMs: 5_000, nowMs: () => clock.now }) : undefined;
    const tools = createTradingTools({
      backend,
      mode: setup.mode ?? 'Direct',
      risk: { allowedSymbols: ['BTC-USDT'], ...setup.risk },
      ...(setup.gate ? { gate: setup.gate } : {}),
      clockStartMs: clock.now,
      logger: silent,
      ...(store ? { state: store } : {}),
    });
    return new Session(tools, backend, clock, store);
  }

  /** The last confirm token a proposal returned (tokens differ by mode: they are random). */
  token: string | undefined;

  async place(args: object): Promise<Answer> {
    return this.answer(await this.tools.placeOrder.call(JSON.stringify(args)));
  }

  async confirm(args: object): Promise<Answer> {
    return this.place({ ...args, confirm_token: this.token });
  }

  advance(ms: number): void {
    this.clock.now += ms;
    this.tools.setClockMs(this.clock.now);
  }

  private answer(result: ToolCallResult): Answer {
    if (!result.ok) return { ok: false, code: result.error.code, message: result.error.message };
    const ack = JSON.parse(result.ack) as { order_id?: unknown; confirm_token?: string };
    if (ack.confirm_token !== undefined) this.token = ack.confirm_token;
    return { ok: true, status: result.status, order_id: ack.confirm_token === undefined ? ack.order_id : '<token>' };
  }

  async close(): Promise<void> {
    this.tools.close();
    await this.store?.close();
  }
}

type Scenario = (s: Session) => Promise<Answer[]>;

/** Runs `scenario` in memory mode and in redis mode; both transcripts must be equal; returns it. */
async function bothModes(setup: Setup, scenario: Scenario): Promise<{ transcript: Answer[]; memory: Session; redis: Session }> {
  const memory = await Session.open('memory', setup);
  const shared = await Session.open('redis', setup);
  try {
    const inMemory = await scenario(memory);
    const onRedis = await scenario(shared);
    expect(onRedis).toEqual(inMemory);
    return { transcript: inMemory, memory, redis: shared };
  } finally {
    await memory.close();
    await shared.close();
  }
}

const codes = (transcript: Answer[]): string[] => transcript.map((a) => (a.ok ? `sent:${a.status ?? '?'}` : a.code));
const resting = (quantity: number, price = 19_000) => ({ symbol: 'BTC-USDT', side: 'Buy', quantity, price });

describe('tool-level conformance: memory mode and redis mode give the same answers', () => {
  it('daily limit and settle rules: a venue rejection gives the slot back, a timeout keeps it', async () => {
    const { transcript, memory, redis: shared } = await bothModes({ risk: { maxDailyOrders: 3 } }, async (s) => {
      const out = [await s.place(resting(0.01))];
      s.backend.injectFailure('placeOrder', 'rejected');
      out.push(await s.place(resting(0.01)));
      s.backend.injectFailure('placeOrder', 'timeout');
      out.push(await s.place(resting(0.01)));
      out.push(await s.place(resting(0.01)), await s.place(resting(0.01)));
      return out;
    });
    expect(codes(transcript)).toEqual(['sent:New', 'BACKEND_REJECTED', 'BACKEND_TIMEOUT', 'sent:New', 'MAX_DAILY_ORDERS']);
    expect(transcript[4]).toMatchObject({ message: 'RiskLimits: daily order count 4 exceeds limit 3' });
    expect([memory.backend.acceptedOrders(), shared.backend.acceptedOrders()]).toEqual([2, 2]);
  });

  it('the daily count starts again at UTC midnight (injected clock)', async () => {
    const { transcript } = await bothModes({ risk: { maxDailyOrders: 1 }, startMs: TODAY_START + DAY_MS - 1000 }, async (s) => {
      const out = [await s.place(resting(0.01)), await s.place(resting(0.01))];
      s.advance(1_000);
      out.push(await s.place(resting(0.01)), await s.place(resting(0.01)));
      return out;
    });
    expect(codes(transcript)).toEqual(['sent:New', 'MAX_DAILY_ORDERS', 'sent:New', 'MAX_DAILY_ORDERS']);
  });

  it('position limit: resting buys count, the one that would exceed is refused with its projection', async () => {
    const { transcript } = await bothModes({ risk: { maxPositionAbs: 1 } }, async (s) => [
      await s.place(resting(0.4)),
      await s.place(resting(0.4)),
      await s.place(resting(0.4)),
      await s.place({ symbol: 'BTC-USDT', side: 'Sell', quantity: 0.4, price: 21_000 }),
    ]);
    expect(codes(transcript)).toEqual(['sent:New', 'sent:New', 'MAX_POSITION_ABS', 'sent:New']);
    expect(transcript[2]).toMatchObject({ message: expect.stringContaining('projected position 1.2') as unknown });
  });

  it('rejection breaker: opens at the threshold, one HalfOpen trial after the cooldown (refused: Open again; passed: Closed), reset closes it', async () => {
    const gate: GateOptions = { type: 'RejectionCircuitBreaker', threshold: 2, cooldownMs: 1_000 };
    const { transcript } = await bothModes({ risk: { maxPositionAbs: 1 }, gate }, async (s) => {
      const tooBig = resting(2);
      const out = [await s.place(tooBig), await s.place(tooBig), await s.place(resting(0.1))];
      s.advance(1_000);
      out.push(await s.place(tooBig), await s.place(resting(0.1)));
      s.advance(1_000);
      out.push(await s.place(resting(0.1)), await s.place(tooBig), await s.place(resting(0.1)));
      out.push(await s.place(tooBig), await s.place(tooBig), await s.place(resting(0.1)));
      await s.tools.resetGate();
      out.push(await s.place(resting(0.1)));
      return out;
    });
    expect(codes(transcript)).toEqual([
      'MAX_POSITION_ABS',
      'MAX_POSITION_ABS',
      'CIRCUIT_BREAKER_OPEN',
      'MAX_POSITION_ABS', // the trial, refused: Open again
      'CIRCUIT_BREAKER_OPEN',
      'sent:New', // the trial, passed: Closed
      'MAX_POSITION_ABS',
      'sent:New', // a pass clears the streak
      'MAX_POSITION_ABS',
      'MAX_POSITION_ABS', // streak 2 again: Open
      'CIRCUIT_BREAKER_OPEN',
      'sent:New', // reset by hand
    ]);
  });

  it('order-rate throttle: the second and minute windows at their boundaries, and its refusals move the breaker', async () => {
    const gate: GateOptions = { type: 'RejectionCircuitBreaker', threshold: 2, cooldownMs: 5_000 };
    const { transcript } = await bothModes({ risk: { maxOrdersPerSecond: 2, maxOrdersPerMinute: 3 }, gate }, async (s) => {
      const out = [await s.place(resting(0.01)), await s.place(resting(0.01)), await s.place(resting(0.01))];
      s.advance(999); // just inside the second of the first two sends
      out.push(await s.place(resting(0.01)));
      s.advance(1); // just outside: the second is free, but two refusals in a row opened the breaker
      out.push(await s.place(resting(0.01)));
      s.advance(5_000); // the HalfOpen trial passes (2 sends in the minute, max 3)
      out.push(await s.place(resting(0.01)), await s.place(resting(0.01)));
      return out;
    });
    expect(codes(transcript)).toEqual(['sent:New', 'sent:New', 'RATE_LIMITED', 'RATE_LIMITED', 'CIRCUIT_BREAKER_OPEN', 'sent:New', 'RATE_LIMITED']);
    expect(transcript[2]).toMatchObject({ message: 'RiskLimits: 3 orders in 1 s exceeds max_orders_per_second 2' });
    expect(transcript[6]).toMatchObject({ message: 'RiskLimits: 4 orders in 60 s exceeds max_orders_per_minute 3' });
  });

  it('duplicate window: just inside / just outside, a venue rejection forgets the order, a timeout keeps it, its refusals move the breaker', async () => {
    const gate: GateOptions = { type: 'RejectionCircuitBreaker', threshold: 3, cooldownMs: 5_000 };
    const { transcript } = await bothModes({ risk: { duplicateWindowMs: 5_000 }, gate }, async (s) => {
      const out = [await s.place(resting(0.01)), await s.place(resting(0.01))];
      s.advance(4_999); // just inside the window of the first order
      out.push(await s.place(resting(0.01)));
      out.push(await s.place(resting(0.01, 19_001))); // another price: another order
      s.advance(1); // just outside
      out.push(await s.place(resting(0.01)), await s.place(resting(0.01)));
      s.backend.injectFailure('placeOrder', 'rejected');
      out.push(await s.place(resting(0.02)));
      out.push(await s.place(resting(0.02))); // the rejected one never existed
      s.backend.injectFailure('placeOrder', 'timeout');
      out.push(await s.place(resting(0.03)));
      out.push(await s.place(resting(0.03))); // it may rest: still a previous order
      out.push(await s.place(resting(0.02)), await s.place(resting(0.03))); // the third refusal in a row opens the breaker
      out.push(await s.place(resting(0.04)));
      return out;
    });
    expect(codes(transcript)).toEqual([
      'sent:New',
      'DUPLICATE_ORDER',
      'DUPLICATE_ORDER',
      'sent:New',
      'sent:New',
      'DUPLICATE_ORDER',
      'BACKEND_REJECTED',
      'sent:New',
      'BACKEND_TIMEOUT',
      'DUPLICATE_ORDER',
      'DUPLICATE_ORDER',
      'DUPLICATE_ORDER',
      'CIRCUIT_BREAKER_OPEN',
    ]);
    expect(transcript[2]).toMatchObject({ message: 'RiskLimits: the same order (BTC-USDT Buy Limit 0.01 @ 19000) was sent 4999 ms ago, within duplicate_window_ms 5000' });
  });

  it('open orders: resting + in flight at the limit, a cancel frees a slot, a venue rejection holds none', async () => {
    const { transcript } = await bothModes({ risk: { maxOpenOrders: 2 } }, async (s) => {
      const out = [await s.place(resting(0.01)), await s.place(resting(0.01)), await s.place(resting(0.01))];
      const first = s.backend.openOrders()[0]!.orderId;
      const cancelled = await s.tools.cancelOrder.call(JSON.stringify({ order_id: first }));
      out.push(cancelled.ok ? { ok: true, status: cancelled.status, order_id: 'cancelled' } : { ok: false, code: cancelled.error.code, message: cancelled.error.message });
      s.backend.injectFailure('placeOrder', 'rejected');
      out.push(await s.place(resting(0.01)));
      out.push(await s.place(resting(0.01))); // the rejected one held nothing: the freed slot is taken
      out.push(await s.place(resting(0.01)));
      return out;
    });
    expect(codes(transcript)).toEqual(['sent:New', 'sent:New', 'MAX_OPEN_ORDERS', 'sent:Cancelled', 'BACKEND_REJECTED', 'sent:New', 'MAX_OPEN_ORDERS']);
    expect(transcript[2]).toMatchObject({ message: "RiskLimits: open orders on 'BTC-USDT' would be 3, max_open_orders 2 (2 resting, 0 in flight, 0 of unknown outcome)" });
  });

  it('TwoPhase: a token confirms once; bound to its fields', async () => {
    const { transcript } = await bothModes({ mode: 'TwoPhase', risk: { maxDailyOrders: 10 } }, async (s) => {
      const order = resting(0.01);
      const out = [await s.place(order), await s.confirm(order), await s.confirm(order)];
      out.push(await s.place(order), await s.confirm({ ...order, quantity: 0.02 }), await s.confirm(order));
      return out;
    });
    expect(codes(transcript)).toEqual(['sent:PendingConfirm', 'sent:New', 'CONFIRM_TOKEN_INVALID', 'sent:PendingConfirm', 'CONFIRM_ARGS_MISMATCH', 'CONFIRM_TOKEN_INVALID']);
  });
});
