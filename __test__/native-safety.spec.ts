// A Rust panic surfaces as a JS error and never takes Node down; misuse of the native API throws
// clear errors naming the key.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { createTradingTools, MockTradingBackend, silentLogger, TradingMetrics } from '../ts/index';
import { NativeGuardHandle } from '../ts/native/guard';
import { DECISION_SLOTS } from '../ts/native/layout';
import { native } from '../ts/native/index';

describe('native safety', () => {
  it('a panic inside the addon becomes a catchable Error and the process keeps running', () => {
    expect(() => native.triggerNativePanic('deliberate')).toThrow(/axon native panic in triggerNativePanic: deliberate/);
    // Still alive and still deciding.
    const guard = new NativeGuardHandle({ mode: 'DryRun', backend: 'mock' }, new native.NativeMetrics());
    expect(JSON.parse(guard.decide(0, '{"symbol":"BTC-USDT","side":"Buy","quantity":1,"price":1}', false) as string).status).toBe('DryRun');
  });

  it('a child Node process survives a native panic and exits 0', () => {
    const script = `const n = require(${JSON.stringify(join(__dirname, '..', 'index.js'))});
      try { n.triggerNativePanic('in child'); } catch (e) { console.log('caught:' + e.message); }
      console.log('alive');`;
    const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(out).toContain('caught:axon native panic in triggerNativePanic: in child');
    expect(out).toContain('alive');
  });

  it('settling an unknown ticket is misuse and throws', () => {
    const guard = new NativeGuardHandle({ mode: 'Direct', backend: 'mock' }, new native.NativeMetrics());
    const ack = { orderId: 'x', symbol: 'BTC-USDT', side: 'Buy', quantity: 1, status: 'New', timestampMs: 0 } as const;
    expect(() => guard.recordAck(12345, ack, 0, false)).toThrow(/ticket 12345 is unknown or already recorded/);
    expect(() => guard.recordAck(0, { ...ack, status: 'Bogus' as 'New' }, 0, false)).toThrow(/backend ack status must be one of New, /);
    expect(() => native.guardRecordAck(0, 0, 'x', 9, undefined, 2, 1, 0, 0)).toThrow(/status must index ACK_STATUSES \(0\.\.5\), got 9/);
    expect(() => native.guardRecordAck(0, 0, 'x', 0, undefined, 7, 1, 0, 0)).toThrow(/side must index SIDES or be 2 \(none\), got 7/);
    // The decision buffer is shared memory, handed to JavaScript once.
    expect(guard.decision).toHaveLength(DECISION_SLOTS);
    expect(() => native.guardMarketSymbol((guard as unknown as { handle: number }).handle, 99)).toThrow(/market slot 99 does not exist/);
    expect(() => native.guardDecisionBuffer((guard as unknown as { handle: number }).handle)).toThrow(/already taken/);
    guard.destroy();
    expect(() => guard.state()).toThrow(/is not a live guard/);
    expect(() => native.guardDecide(-1, 0, '{}', false)).toThrow(/is not a live guard/);
  });

  it('bad options are errors naming the key', () => {
    const backend = new MockTradingBackend();
    const make = (extra: Record<string, unknown>) => () =>
      createTradingTools({ backend, logger: silentLogger, metrics: new TradingMetrics(), ...(extra as object) });
    expect(make({ mode: 'Yolo' })).toThrow(/mode: /);
    expect(make({ risk: { maxOrderNotional: -1 } })).toThrow(/risk\.maxOrderNotional/);
    expect(make({ risk: { maxDailyOrders: 1.5 } })).toThrow(/risk\.maxDailyOrders/);
    expect(make({ risk: { max_order_notional: 5 } })).toThrow(/max_order_notional/);
    expect(make({ gate: { type: 'RejectionCircuitBreaker', threshold: 0, cooldownMs: 1 } })).toThrow(/gate\.threshold/);
    expect(make({ gate: { type: 'Sometimes' } })).toThrow(/gate\.type/);
    expect(() => new NativeGuardHandle({ mode: 'Direct', backend: 'mock', maxOrderNotional: Number.NaN }, new native.NativeMetrics())).toThrow(
      /risk\.max_order_notional/,
    );
  });

  it('the system clock cannot be moved by hand', () => {
    const tools = createTradingTools({ backend: new MockTradingBackend(), logger: silentLogger });
    expect(() => tools.setClockMs(0)).toThrow(/system clock/);
  });

  it('a manual clock moves through its shared cell: bad times throw naming ms, a closed guard refuses', () => {
    const guard = new NativeGuardHandle({ mode: 'Direct', backend: 'mock', manualClockMs: 0 }, new native.NativeMetrics());
    guard.setClockMs(3 * 86_400_000 + 5);
    expect(guard.dailyDay()).toBe(3);
    for (const bad of [1.5, Number.NaN, Number.POSITIVE_INFINITY, 1e16]) {
      expect(() => guard.setClockMs(bad)).toThrow(/ms must be a whole number of milliseconds/);
    }
    expect(guard.dailyDay()).toBe(3);
    guard.setClockMs(-86_400_000);
    expect(guard.dailyDay()).toBe(-1);
    // The cell goes to JavaScript once.
    expect(() => native.guardClockBuffer((guard as unknown as { handle: number }).handle)).toThrow(/already taken/);
    guard.destroy();
    expect(() => guard.setClockMs(0)).toThrow(/is not a live guard/);
  });
});
