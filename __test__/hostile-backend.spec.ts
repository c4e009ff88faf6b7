// A backend that answers garbage (issue 18 items 3 and 4): malformed push events from a timer, and
// acks, getters and order ops that are unusable. The host lives, every call is settled and the
// guard fails closed.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { T0 } from './harness';

const DIST = join(__dirname, '..', 'dist', 'ts', 'index.js');

/**
 * Runs in its own Node process (built package): a mock venue whose push feed also delivers, from
 * timers, `null`, a market event with a numeric symbol, a market event with a non-numeric position
 * for a traded symbol and an order event with a numeric id. Prints what it saw as one JSON line.
 */
const HOSTILE_FEED_PROGRAM = `
const { createTradingTools, MockTradingBackend, jsonLineLogger } = require(${JSON.stringify(DIST)});
const lines = [];
class HostileFeed extends MockTradingBackend {
  subscribe(listener, topics) {
    this.hostile = listener;
    return super.subscribe(listener, topics);
  }
}
const backend = new HostileFeed({ referencePrices: { 'BTC-USDT': 20000 }, now: () => ${T0} });
const tools = createTradingTools({
  backend,
  mode: 'Direct',
  risk: { maxPositionAbs: 10 },
  clockStartMs: ${T0},
  logger: jsonLineLogger({ level: 'trace', write: (line) => lines.push(line) }),
});
const order = (qty) => JSON.stringify({ symbol: 'BTC-USDT', side: 'Buy', quantity: qty, price: 19000 });
const bad = [
  null,
  { type: 'market', symbol: 42, referencePrice: 20000, position: 0, openBuyQuantity: 0, openSellQuantity: 0 },
  { type: 'market', symbol: 'BTC-USDT', referencePrice: 20000, position: 'lots', openBuyQuantity: 0, openSellQuantity: 0 },
  { type: 'order', orderId: 7, symbol: 'BTC-USDT', side: 'Buy', price: 1, remaining: 1 },
];
backend.setReferencePrice('BTC-USDT', 20000); // a valid push: the guard trades on pushed data
tools.placeOrder.execute(order(1)).then((first) => {
  const fetchesBefore = backend.calls.getReferencePrice;
  const next = () => {
    if (bad.length > 0) {
      backend.hostile(bad.shift());
      setTimeout(next, 1);
      return;
    }
    tools.placeOrder.execute(order(1)).then((second) => {
      console.log(JSON.stringify({ first: JSON.parse(first).status, second: JSON.parse(second).status, fetchesBefore, fetchesAfter: backend.calls.getReferencePrice, lines }));
      tools.close();
    });
  };
  setTimeout(next, 1);
});
`;

describe('malformed push events (issue 18.3)', () => {
  it('null, a numeric symbol, a bad field: logged as BackendError, the symbol fails closed, the process lives', () => {
    const dir = mkdtempSync(join(tmpdir(), 'axon-hostile-'));
    const program = join(dir, 'hostile-feed.cjs');
    writeFileSync(program, HOSTILE_FEED_PROGRAM);
    const run = spawnSync(process.execPath, [program], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const seen = JSON.parse(run.stdout) as { first: string; second: string; fetchesBefore: number; fetchesAfter: number; lines: string[] };
    expect([seen.first, seen.second]).toEqual(['New', 'New']);
    const errors = seen.lines.map((line) => JSON.parse(line) as { level: string; msg: string }).filter((l) => l.level === 'error');
    expect(errors.map((e) => e.msg)).toEqual([
      expect.stringMatching(/^BackendError: invalid event from mock: \(event\): /),
      expect.stringMatching(/^BackendError: invalid market event from mock: symbol: /),
      expect.stringMatching(/^BackendError: invalid market event from mock: position: /),
      expect.stringMatching(/^BackendError: invalid order event from mock: orderId: /),
    ]);
    // The bad push for BTC-USDT made the guard forget its pushed data: the next order fetched it.
    expect(seen.fetchesBefore).toBe(0);
    expect(seen.fetchesAfter).toBe(1);
  });
});
