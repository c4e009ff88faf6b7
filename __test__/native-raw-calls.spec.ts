// guardDecide and guardRecordAck are raw Node-API callbacks (crates/axon-node/src/raw.rs): strings
// are copied into a reused buffer and ASCII answers made as one-byte strings. These specs pin what
// that plumbing must never change: long and non-ASCII strings arrive whole, bad arguments throw
// naming the argument, and answers come back byte for byte.
import { describe, expect, it } from 'vitest';

import { NativeGuardHandle } from '../ts/native/guard';
import { native } from '../ts/native/index';
import { DecisionKind, Slot } from '../ts/native/layout';

const PLACE = 0;

function guard(mode: 'DryRun' | 'Direct', maxArgsBytes?: number): NativeGuardHandle {
  return new NativeGuardHandle({ mode, backend: 'mock', maxArgsBytes }, new native.NativeMetrics());
}

function handleOf(g: NativeGuardHandle): number {
  return (g as unknown as { handle: number }).handle;
}

/** The same arguments with `pad` spaces after the opening brace (still valid JSON). */
function padded(args: string, pad: number): string {
  return `{${' '.repeat(pad)}${args.slice(1)}`;
}

describe('raw guard calls', () => {
  it('arguments longer than the reused buffer (and past the size it keeps) decide like the compact text', () => {
    const g = guard('DryRun', 512 * 1024);
    const args = '{"symbol":"BTC-USDT","side":"Buy","quantity":1.5,"price":100,"time_in_force":"IOC"}';
    const compact = JSON.parse(g.decide(PLACE, args, false)) as Record<string, unknown>;
    for (const pad of [4_000, 20_000, 300_000, 0]) {
      const ack = JSON.parse(g.decide(PLACE, padded(args, pad), false)) as Record<string, unknown>;
      expect(g.decision[Slot.Kind]).toBe(DecisionKind.Done);
      expect({ ...ack, order_id: undefined, timestamp_ms: undefined }).toEqual({ ...compact, order_id: undefined, timestamp_ms: undefined });
    }
    g.destroy();
  });

  it('a multi-byte character across the buffer boundary arrives whole, at every offset', () => {
    const g = guard('DryRun');
    const args = '{"symbol":"BTC-😀€","side":"Buy","quantity":1,"price":100}';
    const expected = g.decide(PLACE, args, false);
    expect(g.decision[Slot.Kind]).toBe(DecisionKind.Rejected);
    expect(expected).toContain('got "BTC-😀€"');
    for (let pad = 4_070; pad < 4_100; pad++) expect(g.decide(PLACE, padded(args, pad), false)).toBe(expected);
    g.destroy();
  });

  it('a lone surrogate reaches the guard as U+FFFD, as Node-API converts it', () => {
    const g = guard('DryRun');
    const message = g.decide(PLACE, '{"symbol":"BTC-\uD800","side":"Buy","quantity":1,"price":100}', false);
    expect(message).toContain('got "BTC-\uFFFD"');
    g.destroy();
  });

  it('bad arguments throw naming the argument and touch nothing', () => {
    const g = guard('DryRun');
    const h = handleOf(g);
    const decide = native.guardDecide as (...a: unknown[]) => string;
    expect(() => decide(h, PLACE, 42, false)).toThrow(/args must be a string/);
    expect(() => decide(h, PLACE, undefined, false)).toThrow(/args must be a string/);
    expect(() => decide(h, 'zero', '{}', false)).toThrow(/tool must be a number/);
    expect(() => decide(h, PLACE, '{}', 'no')).toThrow(/refreshed must be a boolean/);
    expect(() => decide('h', PLACE, '{}', false)).toThrow(/handle must be a number/);
    expect(() => decide(h, 9, '{}', false)).toThrow(/tool/);
    expect(g.state().dailyOrders).toBe(0);
    const record = native.guardRecordAck as (...a: unknown[]) => string;
    expect(() => record(h, 0, 7, 0, undefined, 2, 1, 0, 0)).toThrow(/orderId must be a string/);
    expect(() => record(h, 0, 'x', 0, 5, 0, 1, 0, 0)).toThrow(/symbol must be a string/);
    expect(() => record(h, 0, 'x', 0, null, 2, 'one', 0, 0)).toThrow(/quantity must be a number/);
    expect(() => record(h, 0, 'x', 0, undefined, 2, 1, 0)).toThrow(/elapsedSeconds must be a number/);
    g.destroy();
  });

  it('numbers in an ack are written exactly as JSON.stringify writes them', () => {
    const g = guard('DryRun');
    const view = new DataView(new ArrayBuffer(8));
    let state = 0x2545f491;
    const nextBits = () => {
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      return state >>> 0;
    };
    const quantities = [1e-7, 9.999e-7, 1e-6, 0.000015, 0.1 + 0.2, 123456.789, 2 ** 53 + 2, 1e20, 1e21, 1.25e21, 5e-324, Number.MAX_VALUE];
    while (quantities.length < 3_000) {
      view.setUint32(0, nextBits());
      view.setUint32(4, nextBits());
      const value = Math.abs(view.getFloat64(0));
      if (Number.isFinite(value) && value > 0) quantities.push(value);
    }
    let checked = 0;
    for (const quantity of quantities) {
      const ack = g.decide(PLACE, `{"symbol":"BTC-USDT","side":"Buy","quantity":${JSON.stringify(quantity)},"order_type":"Market"}`, false);
      expect(g.decision[Slot.Kind], ack).toBe(DecisionKind.Done);
      expect(ack).toContain(`"quantity":${JSON.stringify(quantity)},`);
      checked += 1;
    }
    expect(checked).toBe(3_000);
    g.destroy();
  });

  it('a place decision names its symbol by market slot and returns the client order id', () => {
    const g = guard('Direct');
    const symbols = ['ETH-USDT', 'BTC-USDT', 'SOL_USDC:PERP.2'];
    for (const [k, symbol] of symbols.entries()) {
      g.updateMarket(symbol, 100, 0, 0, 0, false);
      const clientId = g.decide(PLACE, JSON.stringify({ symbol, side: 'Buy', quantity: 1, price: 99 }), false);
      expect(g.decision[Slot.Kind]).toBe(DecisionKind.Send);
      expect(clientId).toMatch(/^axon-[0-9a-f]{8}-\d+$/);
      expect(g.marketSymbol(g.decision[Slot.Market] as number)).toBe(symbol);
      expect(g.decision[Slot.Market]).toBe(k);
    }
    // The caller's own client id comes back as given.
    const own = g.decide(PLACE, '{"symbol":"BTC-USDT","side":"Sell","quantity":1,"price":101,"client_order_id":"mine-1"}', false);
    expect([own, g.decision[Slot.Kind], g.marketSymbol(g.decision[Slot.Market] as number)]).toEqual(['mine-1', DecisionKind.Send, 'BTC-USDT']);
    g.destroy();
  });

  it('an ack with a non-ASCII order id and symbol comes back byte for byte', () => {
    const g = guard('Direct');
    g.updateMarket('BTC-USDT', 100, 0, 0, 0, false);
    g.decide(PLACE, '{"symbol":"BTC-USDT","side":"Sell","quantity":2,"price":101}', false);
    expect(g.decision[Slot.Kind]).toBe(DecisionKind.Send);
    const ticket = g.decision[Slot.Ticket] as number;
    const orderId = `ордер-€-😀-${'x'.repeat(5_000)}`;
    const json = g.recordAck(ticket, { orderId, symbol: 'BTC-USDT', side: 'Sell', quantity: 2, status: 'New', timestampMs: 1_700_000_000_000 }, 0.001, false);
    const ack = JSON.parse(json) as Record<string, unknown>;
    expect(ack).toMatchObject({ order_id: orderId, symbol: 'BTC-USDT', side: 'Sell', quantity: 2, status: 'New' });
    // A cancel of an order the guard never saw takes the ack's own symbol: it arrives whole too.
    g.decide(1, '{"order_id":"venue-7"}', true);
    expect(g.decision[Slot.Kind]).toBe(DecisionKind.Send);
    const cancelTicket = g.decision[Slot.Ticket] as number;
    const cancel = JSON.parse(
      g.recordAck(cancelTicket, { orderId: 'venue-7', symbol: 'ÉTH-€', side: 'Buy', quantity: 1, status: 'Cancelled', timestampMs: 0 }, 0, true),
    ) as Record<string, unknown>;
    expect(cancel).toMatchObject({ order_id: 'venue-7', symbol: 'ÉTH-€', side: 'Buy', status: 'Cancelled' });
    g.destroy();
  });
});
