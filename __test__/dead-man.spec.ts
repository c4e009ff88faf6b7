// The dead-man timer of a live run (`[agent] heartbeat_timeout_ms`): no `POST /heartbeat` for the
// timeout -> HALTED (source dead-man) and, unless `heartbeat_cancel_all = false`, every open order
// cancelled. In process on a clock moved by hand (a heartbeat in time keeps ACTIVE; nothing sleeps),
// and as the real program on the mock and on the OMS (waits on its output, never on time).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';

import { afterEach, describe, expect, it } from 'vitest';

import { DeadManTimer } from '../ts/agent/dead-man';
import { liveCommand } from '../ts/agent/live-command';
import { parseConfig } from '../ts/config';
import { MockTradingBackend } from '../ts/index';
import { ADMIN_TOKEN, admin, adminUrl, answersTool, auditRecords, auditVerify, observationAfter, liveConfig, placedOrderIds, restingBuyer, startProgram } from './support/live-program';
import { ManualClock } from './support/manual-clock';
import { startOms, type OmsServer } from './support/oms-server';
import { startFakeOpenAI, type ChatRequest, type FakeOpenAI, type ScriptedReply } from './support/openai-server';

let model: FakeOpenAI | undefined;
let oms: OmsServer | undefined;
afterEach(async () => {
  await model?.close();
  await oms?.kill('SIGTERM');
  model = undefined;
  oms = undefined;
});

describe('DeadManTimer', () => {
  it('fires once per silence of the timeout, re-armed by a heartbeat; checks at most a tenth of the timeout late', () => {
    const clock = new ManualClock(0);
    const fired: number[] = [];
    const timer = new DeadManTimer({ timeoutMs: 1_000, clock, onExpire: (silent) => fired.push(silent) });
    expect(timer.tickMs).toBe(100);
    clock.advance(999);
    timer.heartbeat();
    clock.advance(999);
    expect(fired).toEqual([]);
    clock.advance(1);
    // Silent for 1,000 ms at 1,999, seen by the check at 2,000 (one tick late at most).
    clock.advance(1);
    expect(fired).toEqual([1_001]);
    expect(timer.expired).toBe(true);
    clock.advance(5_000);
    expect(fired).toHaveLength(1);
    timer.heartbeat();
    expect(timer.expired).toBe(false);
    clock.advance(1_000);
    expect(fired).toEqual([1_001, 1_000]);
    timer.stop();
    expect(clock.activeTimers).toBe(0);
    expect(() => new DeadManTimer({ timeoutMs: 0, clock, onExpire: () => undefined })).toThrow('timeoutMs must be a whole number of milliseconds >= 1, got 0');
  });
});

/** Text written to a stream, and a wait for a pattern in it. */
function capture() {
  let text = '';
  const waiters: Array<{ pattern: RegExp; resolve: (m: RegExpMatchArray) => void }> = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      for (let i = waiters.length - 1; i >= 0; i -= 1) {
        const w = waiters[i];
        const m = w === undefined ? null : text.match(w.pattern);
        if (w !== undefined && m !== null) {
          waiters.splice(i, 1);
          w.resolve(m);
        }
      }
      done();
    },
  });
  return {
    stream,
    get text() {
      return text;
    },
    match: (pattern: RegExp) =>
      new Promise<RegExpMatchArray>((resolve) => {
        const m = text.match(pattern);
        if (m !== null) resolve(m);
        else waiters.push({ pattern, resolve });
      }),
  };
}

async function inProcessRun(agent: string) {
  model = await startFakeOpenAI(() => ({ content: 'hold' }));
  const dir = mkdtempSync(join(tmpdir(), 'axon-dead-man-'));
  const config = parseConfig(
    `[trading]\nbackend = "mock"\n[safety]\nmode = "Direct"\n[risk]\ndaily_counts_file = "none"\n[llm]\nprovider = "openai"\nbase_url = "${model.baseURL}"\napi_key = "sk-local"\n` +
      `[agent]\naudit = "${join(dir, 'audit.jsonl')}"\nsummary_json = "${join(dir, 'summary.json')}"\ninterval_ms = 20\nmax_cycles = 0\n${agent}\n[admin]\nlisten = "127.0.0.1:0"\n`,
    {},
  );
  const backend = new MockTradingBackend({ referencePrices: { 'BTC-USDT': 20_000 } });
  const clock = new ManualClock(0);
  const err = capture();
  const stop = new AbortController();
  const run = liveCommand({ config, backend, out: capture().stream, err: err.stream, env: { AXON_ADMIN_TOKEN: ADMIN_TOKEN, LOG_LEVEL: 'info' }, signal: stop.signal, deadManClock: clock });
  const url = (await err.match(/admin endpoint listening on (http:\/\/127\.0\.0\.1:\d+)/))[1] as string;
  // Two orders resting on the account, placed on the venue directly.
  for (const price of [19_000, 19_100]) {
    await backend.placeOrder({ symbol: 'BTC-USDT', side: 'Buy', orderType: 'Limit', timeInForce: 'GTC', quantity: 0.1, price, clientOrderId: `resting-${price}` });
  }
  return { backend, clock, err, url, auditPath: join(dir, 'audit.jsonl'), finish: () => (stop.abort(), run) };
}

describe('the live run on a clock moved by hand', () => {
  it('a heartbeat in time keeps ACTIVE; silence for the timeout halts and cancels every open order', async () => {
    const r = await inProcessRun('heartbeat_timeout_ms = 1000');
    r.clock.advance(999);
    expect(await admin(r.url, 'GET', '/state')).toMatchObject({ status: 200, body: { state: 'ACTIVE', dead_man: { timeout_ms: 1000, expired: false } } });
    expect(await admin(r.url, 'POST', '/heartbeat')).toMatchObject({ status: 200, body: { state: 'ACTIVE', dead_man: { silent_for_ms: 0 } } });
    // 1,998 ms since the start, 999 since the heartbeat: still ACTIVE, nothing cancelled.
    r.clock.advance(999);
    expect((await admin(r.url, 'GET', '/state')).body.state).toBe('ACTIVE');
    expect(r.backend.openOrders()).toHaveLength(2);
    // The heartbeat came at 999: silent for 1,001 ms at the check of 2,000.
    r.clock.advance(101);
    await r.err.match(/RiskGate: cancelAll by dead-man: 2 open orders cancelled, 0 failed/);
    expect(r.backend.openOrders()).toEqual([]);
    expect(await admin(r.url, 'GET', '/state')).toMatchObject({ body: { state: 'HALTED', dead_man: { expired: true } } });
    // A heartbeat after the halt re-arms the timer; going back to ACTIVE is the operator's call.
    expect((await admin(r.url, 'POST', '/heartbeat')).body).toMatchObject({ state: 'HALTED', dead_man: { expired: false } });
    expect(await r.finish()).toBe(0);
    expect(r.err.text).toContain('dead-man: no heartbeat for 1001 ms (heartbeat_timeout_ms = 1000): trading HALTED, cancelling every open order');
    const records = auditRecords(r.auditPath).filter((x) => x.kind === 'state' || x.kind === 'cancel_all');
    expect(records).toEqual([
      expect.objectContaining({ kind: 'state', from: 'ACTIVE', to: 'HALTED', source: 'dead-man' }),
      expect.objectContaining({ kind: 'cancel_all', source: 'dead-man', failed: [] }),
    ]);
    expect(auditVerify(r.auditPath).code).toBe(0);
  }, 60_000);

  it('heartbeat_cancel_all = false: HALTED, the open orders left resting', async () => {
    const r = await inProcessRun('heartbeat_timeout_ms = 500\nheartbeat_cancel_all = false');
    r.clock.advance(550);
    await r.err.match(/trading state ACTIVE -> HALTED \(by dead-man/);
    expect((await admin(r.url, 'GET', '/state')).body.state).toBe('HALTED');
    expect(r.backend.openOrders()).toHaveLength(2);
    expect(await r.finish()).toBe(0);
    expect(auditRecords(r.auditPath).filter((x) => x.kind === 'cancel_all')).toEqual([]);
  }, 60_000);
});

/**
 * A model that places resting buys on its first `orders` observations, sending a heartbeat on each
 * of its requests until the last order's outcome is in (the program's progress keeps it alive, not
 * a timer); then silence. `placed` resolves then.
 */
function heartbeatingBuyer(orders: number, url: () => string | undefined) {
  let resolve!: () => void;
  const placed = new Promise<void>((r) => (resolve = r));
  const inner = restingBuyer(orders);
  let answered = 0;
  const script = (request: ChatRequest): ScriptedReply => {
    if (answersTool(request)) answered += 1;
    const target = url();
    if (answered < orders && target !== undefined) void admin(target, 'POST', '/heartbeat').catch(() => undefined);
    if (answered === orders && answersTool(request)) resolve();
    return inner(request);
  };
  return { placed, script };
}

describe('the dead-man timer in the real program', () => {
  it('on the mock: no heartbeat for the timeout -> HALTED and the resting orders cancelled; the audit verifies', async () => {
    const endpoint: { url?: string } = {};
    const buyer = heartbeatingBuyer(2, () => endpoint.url);
    model = await startFakeOpenAI(buyer.script);
    const setup = liveConfig({ backend: 'mock', modelUrl: model.baseURL, agent: 'heartbeat_timeout_ms = 1500', extra: '[admin]\nlisten = "127.0.0.1:0"\n' });
    const program = startProgram(['--config', setup.config], { AXON_ADMIN_TOKEN: ADMIN_TOKEN });
    const url = await adminUrl(program);
    endpoint.url = url;
    await buyer.placed;
    const ids = placedOrderIds(model.requests);
    expect(ids).toHaveLength(2);
    await program.stderrMatch(/RiskGate: cancelAll by dead-man: 2 open orders cancelled, 0 failed/);
    const after = model.requests.length;
    const observation = await observationAfter(model.requests, after);
    expect((await admin(url, 'GET', '/state')).body).toMatchObject({ state: 'HALTED', dead_man: { expired: true } });
    program.child.kill('SIGTERM');
    const { code, err } = await program.finished;
    expect(code, err).toBe(0);
    expect(observation.open_orders).toEqual([]);
    const records = auditRecords(setup.auditPath).filter((x) => x.kind === 'state' || x.kind === 'cancel_all');
    expect(records).toEqual([
      expect.objectContaining({ kind: 'state', from: 'ACTIVE', to: 'HALTED', source: 'dead-man' }),
      expect.objectContaining({ kind: 'cancel_all', source: 'dead-man', cancelled: ids, failed: [] }),
    ]);
    expect(records[0]).toMatchObject({ reason: expect.stringMatching(/^no heartbeat for \d+ ms \(heartbeat_timeout_ms = 1500\)$/) as string });
    const verified = auditVerify(setup.auditPath);
    expect(verified.code, verified.out).toBe(0);
  }, 60_000);

  it('on the OMS: no heartbeat for the timeout -> HALTED and the orders cancelled in axon-oms', async () => {
    oms = await startOms();
    expect((await oms.call('POST', '/marks', { symbol: 'BTC-USDT', price: 20_000 })).status).toBe(200);
    const endpoint: { url?: string } = {};
    const buyer = heartbeatingBuyer(2, () => endpoint.url);
    model = await startFakeOpenAI(buyer.script);
    const setup = liveConfig({ backend: 'oms', omsUrl: oms.url, modelUrl: model.baseURL, agent: 'heartbeat_timeout_ms = 1500', extra: '[admin]\nlisten = "127.0.0.1:0"\n' });
    const program = startProgram(['--config', setup.config], { AXON_ADMIN_TOKEN: ADMIN_TOKEN });
    endpoint.url = await adminUrl(program);
    await buyer.placed;
    await program.stderrMatch(/RiskGate: cancelAll by dead-man: 2 open orders cancelled, 0 failed/);
    program.child.kill('SIGTERM');
    const { code, err } = await program.finished;
    expect(code, err).toBe(0);
    const orders = (await oms.call('GET', '/orders?status=all')).body.orders as Array<{ status: string }>;
    expect(orders.map((o) => o.status.toLowerCase())).toEqual(['cancelled', 'cancelled']);
    expect(auditRecords(setup.auditPath).find((x) => x.kind === 'state')).toMatchObject({ from: 'ACTIVE', to: 'HALTED', source: 'dead-man' });
  }, 60_000);
});
