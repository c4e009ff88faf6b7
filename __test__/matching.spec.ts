// The L1 matching engine through the Node binding: price-time priority, time in force, post-only,
// cancel/replace priority, book queries, the typed-array batch path (same results and byte-identical
// fills as one call per op), bad input leaving the book untouched, stale ids, exact ids.
import { describe, expect, it } from 'vitest';

import {
  BATCH_OP,
  createBatchInput,
  createBatchOutput,
  FILL_STRIDE,
  MatchingEngine,
  RESULT_STRIDE,
} from '../ts/engine';
import { rng } from '../bench/inputs';

function engine(capacity = 10_000): { e: MatchingEngine; s: number; t: number } {
  const e = new MatchingEngine({ capacity });
  const s = e.addSymbol({ tickSize: 0.01, lotSize: 0.001 });
  const t = e.addSymbol({ tickSize: 0.5, lotSize: 1 });
  return { e, s, t };
}

/** Everything observable about the books of both symbols. */
function snapshot(e: MatchingEngine, ids: number[]): string {
  return JSON.stringify({
    d0: e.depth(0, 1000),
    d1: e.depth(1, 1000),
    open: e.openOrderCount(),
    orders: ids.map((id) => e.order(id)),
  });
}


describe('matching engine (native)', () => {
  it('matches best price first, then FIFO within a level, at the maker price', () => {
    const { e, s } = engine();
    const a = e.submit({ symbol: s, side: 'Sell', price: 100, quantity: 1 }).orderId;
    const b = e.submit({ symbol: s, side: 'Sell', price: 100, quantity: 2 }).orderId;
    const c = e.submit({ symbol: s, side: 'Sell', price: 100.01, quantity: 1 }).orderId;
    const d = e.submit({ symbol: s, side: 'Sell', price: 99.99, quantity: 1.5 }).orderId;
    const r = e.submit({ symbol: s, side: 'Buy', price: 100.5, quantity: 4 });
    expect(r.status).toBe('Filled');
    expect(r.fills.map((f) => [f.makerOrderId, f.price, f.quantity])).toEqual([
      [d, 99.99, 1.5],
      [a, 100, 1],
      [b, 100, 1.5],
    ]);
    expect(r.fills.map((f) => f.seq)).toEqual([1, 2, 3]);
    expect(r.fills.every((f) => f.takerOrderId === r.orderId && f.takerSide === 'Buy' && f.symbol === s)).toBe(true);
    expect(e.bestAsk(s)).toEqual({ price: 100, quantity: 0.5, orders: 1 });
    expect(e.order(b)?.remainingQuantity).toBe(0.5);
    expect(e.order(a)).toBeNull();
    expect(e.order(c)?.price).toBe(100.01);
    // A crossing limit larger than the book rests its remainder at its own price.
    const p = e.submit({ symbol: s, side: 'Buy', price: 100.01, quantity: 2 });
    expect(p.status).toBe('PartiallyFilled');
    expect(p.filledQuantity).toBe(1.5);
    expect(p.remainingQuantity).toBe(0.5);
    expect(e.bestBid(s)).toEqual({ price: 100.01, quantity: 0.5, orders: 1 });
    expect(e.bestAsk(s)).toBeNull();
    e.destroy();
  });

  it('IOC, FOK and post-only', () => {
    const { e, s } = engine();
    e.submit({ symbol: s, side: 'Sell', price: 10, quantity: 1 });
    e.submit({ symbol: s, side: 'Sell', price: 10.5, quantity: 1 });
    const before = snapshot(e, []);
    const fok = e.submit({ symbol: s, side: 'Buy', price: 10.5, quantity: 3, timeInForce: 'FOK' });
    expect(fok).toMatchObject({ status: 'Rejected', reason: 'FokNotFillable', filledQuantity: 0, remainingQuantity: 3, fills: [] });
    expect(snapshot(e, [])).toBe(before);
    const post = e.submit({ symbol: s, side: 'Buy', price: 10, quantity: 1, postOnly: true });
    expect(post).toMatchObject({ status: 'Rejected', reason: 'PostOnlyWouldCross', fills: [] });
    expect(snapshot(e, [])).toBe(before);
    const ioc = e.submit({ symbol: s, side: 'Buy', price: 10, quantity: 3, timeInForce: 'IOC' });
    expect(ioc).toMatchObject({ status: 'Cancelled', filledQuantity: 1, remainingQuantity: 2 });
    expect(ioc.reason).toBeUndefined();
    expect(e.bestBid(s)).toBeNull();
    const fok2 = e.submit({ symbol: s, side: 'Buy', price: 10.5, quantity: 1, timeInForce: 'FOK' });
    expect(fok2.status).toBe('Filled');
    expect(e.bestAsk(s)).toBeNull();
    const restingPost = e.submit({ symbol: s, side: 'Buy', price: 9, quantity: 1, postOnly: true });
    expect(restingPost.status).toBe('New');
    expect(e.order(restingPost.orderId)?.side).toBe('Buy');
    const mkt = e.submit({ symbol: s, side: 'Sell', orderType: 'Market', quantity: 5 });
    expect(mkt).toMatchObject({ status: 'Cancelled', filledQuantity: 1, remainingQuantity: 4 });
    expect(e.openOrderCount()).toBe(0);
  });

  it('cancel and replace keep or lose time priority as documented', () => {
    const { e, t } = engine();
    const a = e.submit({ symbol: t, side: 'Buy', price: 50, quantity: 5 }).orderId;
    const b = e.submit({ symbol: t, side: 'Buy', price: 50, quantity: 5 }).orderId;
    // Same price, smaller quantity: keeps priority.
    expect(e.replace(a, 50, 3)).toMatchObject({ orderId: a, status: 'New', remainingQuantity: 3 });
    let r = e.submit({ symbol: t, side: 'Sell', orderType: 'Market', quantity: 1 });
    expect(r.fills[0]!.makerOrderId).toBe(a);
    // Quantity increase: same id, back of the queue.
    e.replace(a, 50, 10);
    expect(e.order(a)).toMatchObject({ remainingQuantity: 10, originalQuantity: 11 });
    r = e.submit({ symbol: t, side: 'Sell', orderType: 'Market', quantity: 6 });
    expect(r.fills.map((f) => [f.makerOrderId, f.quantity])).toEqual([
      [b, 5],
      [a, 1],
    ]);
    // Cancel returns the state just before; the id is then stale.
    const c = e.cancel(a);
    expect(c).toEqual({ orderId: a, symbol: t, side: 'Buy', price: 50, remainingQuantity: 9, originalQuantity: 11 });
    expect(() => e.cancel(a)).toThrow(/orderId/);
    expect(() => e.replace(a, 50, 1)).toThrow(/orderId/);
    expect(e.order(a)).toBeNull();
    // A replace whose new price crosses trades as the taker with its own id.
    const ask = e.submit({ symbol: t, side: 'Sell', price: 52, quantity: 2 }).orderId;
    const bid = e.submit({ symbol: t, side: 'Buy', price: 51, quantity: 3 }).orderId;
    const rr = e.replace(bid, 52, 3);
    expect(rr).toMatchObject({ orderId: bid, status: 'PartiallyFilled', filledQuantity: 2, remainingQuantity: 1 });
    expect(rr.fills).toEqual([{ seq: 4, makerOrderId: ask, takerOrderId: bid, symbol: t, price: 52, quantity: 2, takerSide: 'Buy' }]);
    expect(e.bestBid(t)).toEqual({ price: 52, quantity: 1, orders: 1 });
  });

  it('best levels and depth aggregate per price, best first, limited', () => {
    const { e, s, t } = engine();
    for (const [price, qty] of [
      [99.5, 1],
      [99.7, 2],
      [99.7, 0.5],
      [99.6, 3],
    ] as const) {
      e.submit({ symbol: s, side: 'Buy', price, quantity: qty });
    }
    e.submit({ symbol: s, side: 'Sell', price: 100.1, quantity: 4 });
    e.submit({ symbol: s, side: 'Sell', price: 100.05, quantity: 1 });
    expect(e.bestBid(s)).toEqual({ price: 99.7, quantity: 2.5, orders: 2 });
    expect(e.bestAsk(s)).toEqual({ price: 100.05, quantity: 1, orders: 1 });
    expect(e.depth(s, 2)).toEqual({
      bids: [
        { price: 99.7, quantity: 2.5, orders: 2 },
        { price: 99.6, quantity: 3, orders: 1 },
      ],
      asks: [
        { price: 100.05, quantity: 1, orders: 1 },
        { price: 100.1, quantity: 4, orders: 1 },
      ],
    });
    expect(e.depth(s, 10).bids).toHaveLength(3);
    const rows = new Float64Array(2 * 3);
    expect(e.depthInto(s, 'Buy', rows)).toBe(2); // as many as fit
    expect([...rows]).toEqual([99.7, 2.5, 2, 99.6, 3, 1]);
    expect(e.depthInto(s, 'Sell', new Float64Array(30))).toBe(2);
    expect(e.depth(t, 10)).toEqual({ bids: [], asks: [] });
    expect(e.bestBid(t)).toBeNull();
    expect(e.openOrderCount()).toBe(6);
    expect(() => e.bestBid(9)).toThrow(/symbol/);
  });

  it('bad input throws naming the field and changes nothing (ids and fill sequence included)', () => {
    const a = engine();
    const b = engine();
    const ids: number[] = [];
    for (const x of [a, b]) {
      ids.length = 0;
      ids.push(x.e.submit({ symbol: x.s, side: 'Sell', price: 100, quantity: 1 }).orderId);
      ids.push(x.e.submit({ symbol: x.s, side: 'Buy', price: 99, quantity: 2 }).orderId);
      ids.push(x.e.submit({ symbol: x.t, side: 'Buy', price: 10.5, quantity: 3 }).orderId);
    }
    const { e, s, t } = a;
    const before = snapshot(e, ids);
    const bad: [() => unknown, RegExp][] = [
      [() => e.submit({ symbol: s, side: 'Buy', price: Number.NaN, quantity: 1 }), /price/],
      [() => e.submit({ symbol: s, side: 'Buy', price: -1, quantity: 1 }), /price/],
      [() => e.submit({ symbol: s, side: 'Buy', price: 0, quantity: 1 }), /price/],
      [() => e.submit({ symbol: s, side: 'Buy', price: 100.005, quantity: 1 }), /price/],
      [() => e.submit({ symbol: s, side: 'Buy', price: Infinity, quantity: 1 }), /price/],
      [() => e.submit({ symbol: s, side: 'Buy', price: 100, quantity: 0 }), /quantity/],
      [() => e.submit({ symbol: s, side: 'Buy', price: 100, quantity: -2 }), /quantity/],
      [() => e.submit({ symbol: s, side: 'Buy', price: 100, quantity: 0.0005 }), /quantity/],
      [() => e.submit({ symbol: s, side: 'Buy', price: 100, quantity: Number.NaN }), /quantity/],
      [() => e.submit({ symbol: t, side: 'Buy', price: 10.25, quantity: 1 }), /price/],
      [() => e.submit({ symbol: 7, side: 'Buy', price: 100, quantity: 1 }), /symbol/],
      [() => e.submit({ symbol: 0.5, side: 'Buy', price: 100, quantity: 1 }), /symbol/],
      [() => e.submit({ symbol: s, side: 'Long' as 'Buy', price: 100, quantity: 1 }), /side/],
      [() => e.submit({ symbol: s, side: 'Buy', price: 100, quantity: 1, timeInForce: 'GTD' as 'GTC' }), /timeInForce/],
      [() => e.submit({ symbol: s, side: 'Buy', orderType: 'Market', quantity: 1, postOnly: true }), /postOnly/],
      [() => e.submit({ symbol: s, side: 'Buy', price: 100, quantity: 1, timeInForce: 'IOC', postOnly: true }), /postOnly/],
      [() => e.submitFast(s, 2 as 0, 0, 100, 1, 0, false), /side/],
      [() => e.submitFast(s, 0, 3 as 0, 100, 1, 0, false), /orderType/],
      [() => e.submitFast(s, 0, 0, 100, 1, 3 as 0, false), /timeInForce/],
      [() => e.cancel(ids[0]! + 2 ** 32), /orderId/], // next generation of a live slot
      [() => e.cancel(-1), /orderId/],
      [() => e.cancel(1.5), /orderId/],
      [() => e.cancel(2 ** 60), /orderId/],
      [() => e.replace(ids[0]!, 100.001, 1), /price/],
      [() => e.replace(ids[0]!, 100, 0), /quantity/],
      [() => e.replace(ids[2]!, 10.3, 1), /price/],
      [() => e.replace(ids[0]! + (1 << 20), 100, 1), /orderId/],
    ];
    for (const [call, field] of bad) {
      expect(call).toThrow(field);
      expect(snapshot(e, ids)).toBe(before);
    }
    // Same ids and fill sequence as an engine that never saw the bad input.
    for (const x of [a, b]) x.e.submit({ symbol: x.s, side: 'Buy', price: 98, quantity: 1 });
    const ra = a.e.submit({ symbol: a.s, side: 'Buy', orderType: 'Market', quantity: 1 });
    const rb = b.e.submit({ symbol: b.s, side: 'Buy', orderType: 'Market', quantity: 1 });
    expect(ra).toEqual(rb);
    expect(ra.fills[0]!.seq).toBe(1);
  });

  it('a seeded ladder equals its post-only orders entered one by one, never trades, and leaves only what filled', () => {
    const seeded = engine();
    const manual = engine();
    for (const x of [seeded, manual]) x.e.submit({ symbol: x.s, side: 'Buy', price: 100.02, quantity: 1 }); // an agent bid
    // Ask k at 100.01 + 0.02k, bid k at 99.99 - 0.02k, 0.005 each; the ask at 100.01 would cross
    // the resting bid at 100.02 and is skipped (post-only): 2 asks and 3 bids rest.
    expect(seeded.e.seedLadder(seeded.s, 9999, 10001, 2, 5, 3)).toBe(5);
    const ids: number[] = [];
    for (let k = 0; k < 3; k++) {
      for (const [side, price] of [['Sell', 100.01 + 0.02 * k], ['Buy', 99.99 - 0.02 * k]] as const) {
        const r = manual.e.submit({ symbol: manual.s, side, price: Number(price.toFixed(2)), quantity: 0.005, postOnly: true });
        if (r.status === 'New') ids.push(r.orderId);
      }
    }
    expect(snapshot(seeded.e, ids)).toBe(snapshot(manual.e, ids));
    // A market buy takes the best ask and part of the next; removal leaves the agent bid alone.
    const taken = seeded.e.submit({ symbol: seeded.s, side: 'Buy', orderType: 'Market', quantity: 0.007 });
    expect(taken.fills.map((f) => [f.price, f.quantity])).toEqual([[100.03, 0.005], [100.05, 0.002]]);
    expect(seeded.e.removeLadder()).toBe(4);
    expect(seeded.e.removeLadder()).toBe(0);
    expect(seeded.e.depth(seeded.s, 10)).toEqual({ bids: [{ price: 100.02, quantity: 1, orders: 1 }], asks: [] });
  });

  it('a bad ladder throws naming the field and places nothing', () => {
    const { e, s } = engine(8);
    const bad: [() => unknown, RegExp][] = [
      [() => e.seedLadder(s, 9999, 10001, 0, 5, 2), /stepTicks/],
      [() => e.seedLadder(s, 9999, 10001, 1.5, 5, 2), /stepTicks/],
      [() => e.seedLadder(s, 9999, 10001, 1, 0, 2), /sizeLots/],
      [() => e.seedLadder(s, 9999, 10001, 1, Number.NaN, 2), /sizeLots/],
      [() => e.seedLadder(s, 9999, 0, 1, 5, 2), /bestAskTicks/],
      [() => e.seedLadder(s, Number.POSITIVE_INFINITY, 10001, 1, 5, 2), /bestBidTicks/],
      [() => e.seedLadder(9, 9999, 10001, 1, 5, 2), /symbol/],
      [() => e.seedLadder(s, 9999, 10001, 1, 5, 5), /capacity/],
    ];
    for (const [call, field] of bad) {
      expect(call).toThrow(field);
      expect(e.openOrderCount()).toBe(0);
    }
    expect(e.removeLadder()).toBe(0);
  });

  it('a cancelled id stays stale after its slot is reused', () => {
    const { e, s } = engine(1);
    const first = e.submitFast(s, 0, 0, 10, 1, 0, false);
    expect(e.cancelFast(first)).toBe(1);
    const second = e.submitFast(s, 0, 0, 10, 2, 0, false);
    expect(second).not.toBe(first);
    expect(second % 2 ** 32).toBe(first % 2 ** 32); // same slot, next generation
    expect(() => e.cancelFast(first)).toThrow(/orderId/);
    expect(e.order(first)).toBeNull();
    expect(e.order(second)?.remainingQuantity).toBe(2);
    // Capacity is enforced with an error, nothing changed.
    expect(() => e.submitFast(s, 0, 0, 9, 1, 0, false)).toThrow(/capacity/);
    expect(e.openOrderCount()).toBe(1);
  });

  it('ids stay exact JS numbers across 2^20 generations of one slot', () => {
    const { e, s } = engine(1);
    let prev = 0;
    let wraps = 0;
    let maxId = 0;
    const rounds = 2 ** 20 + 3;
    for (let i = 0; i < rounds; i++) {
      const id = e.submitFast(s, 0, 0, 10, 1, 0, false);
      if (id !== e.last.orderId || !Number.isSafeInteger(id)) throw new Error(`id ${id} not exact at round ${i}`);
      if (id < prev) wraps++;
      maxId = Math.max(maxId, id);
      e.cancelFast(id);
      prev = id;
    }
    expect(wraps).toBe(1);
    expect(maxId).toBeLessThan(2 ** 52);
    expect(maxId).toBe((2 ** 20 - 1) * 2 ** 32); // generation 2^20 - 1, slot 0
    // The current id works and the previous one is stale.
    const id = e.submitFast(s, 0, 0, 10, 1, 0, false);
    expect(e.order(id)?.orderId).toBe(id);
    expect(() => e.cancelFast(prev)).toThrow(/orderId/);
  });

  it('more fills than the shared buffer holds are read back through the native copy', () => {
    const { e, s } = engine();
    const makers: number[] = [];
    for (let i = 0; i < 100; i++) makers.push(e.submitFast(s, 1, 0, 100 + (i % 5) / 100, 1, 0, false));
    e.submitFast(s, 0, 1, 0, 100, 0, false);
    expect(e.last.statusCode).toBe(2); // Filled
    expect(e.fillCount).toBe(100);
    const fills = e.readFills();
    expect(fills).toHaveLength(100);
    expect(fills.map((f) => f.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    const expected = [...makers.keys()].sort((x, y) => (x % 5) - (y % 5) || x - y).map((i) => makers[i]);
    expect(fills.map((f) => f.makerOrderId)).toEqual(expected);
    const raw = new Float64Array(100 * FILL_STRIDE);
    expect(e.readFillsInto(raw)).toBe(100);
    expect(raw[99 * FILL_STRIDE + 1]).toBe(fills[99]!.makerOrderId);
  });

  it('executeBatch gives the same results and byte-identical fills as one call per op', () => {
    const N = 30_000;
    const per = engine(50_000);
    const input = createBatchInput(N);
    const rnd = rng(42);
    const live: number[] = [];
    const expectedRows = new Float64Array(N * RESULT_STRIDE);
    let fillsPer = new Float64Array(1024 * FILL_STRIDE);
    let fillRows = 0;
    const fillBuf = new Float64Array(4096 * FILL_STRIDE);
    for (let i = 0; i < N; i++) {
      const r = rnd();
      const sym = rnd() < 0.8 ? per.s : per.t;
      const side = rnd() < 0.5 ? 0 : 1;
      const tick = sym === per.s ? 0.01 : 0.5;
      const lot = sym === per.s ? 0.001 : 1;
      const center = sym === per.s ? 100 : 50;
      let op: number;
      let price = 0;
      let qty = (1 + Math.floor(rnd() * 2000)) * lot;
      let tif = 0;
      let flags = 0;
      let target = 0;
      if (r < 0.55) {
        op = BATCH_OP.Limit;
        const off = Math.floor(rnd() * 40) - 4;
        price = (Math.round(center / tick) + (side === 0 ? -off : off)) * tick;
        const u = rnd();
        tif = u < 0.1 ? 1 : u < 0.15 ? 2 : 0;
        flags = tif === 0 && rnd() < 0.1 ? 1 : 0;
      } else if (r < 0.65) {
        op = BATCH_OP.Market;
        qty *= 3;
      } else if (r < 0.85) {
        op = BATCH_OP.Cancel;
        // Mostly live ids, sometimes a stale one.
        target = live.length > 0 && rnd() < 0.95 ? live[Math.floor(rnd() * live.length)]! : 4294967296 + Math.floor(rnd() * 100);
      } else if (r < 0.97) {
        op = BATCH_OP.Replace;
        target = live.length > 0 ? live[Math.floor(rnd() * live.length)]! : 1;
        price = (Math.round(center / tick) + Math.floor(rnd() * 20) - 10) * tick;
      } else {
        // Invalid on purpose: off-grid price, NaN quantity, unknown symbol, bad side.
        op = BATCH_OP.Limit;
        price = center + tick / 2;
        const k = Math.floor(rnd() * 4);
        if (k === 1) qty = Number.NaN;
        if (k === 2) price = center;
        if (k === 3) price = center;
        input.symbol[i] = k === 2 ? 9 : sym;
        input.side[i] = k === 3 ? 5 : side;
      }
      input.op[i] = op;
      if (op !== BATCH_OP.Limit || r < 0.97) {
        input.symbol[i] = sym;
        input.side[i] = side;
      }
      input.price[i] = price;
      input.quantity[i] = qty;
      input.timeInForce[i] = tif;
      input.flags[i] = flags;
      input.orderId[i] = target;

      // Execute the same op with one call.
      const row = expectedRows.subarray(i * RESULT_STRIDE, (i + 1) * RESULT_STRIDE);
      try {
        if (op === BATCH_OP.Cancel) {
          const o = per.e.cancel(target);
          const inv = o.symbol === per.s ? 1000 : 1; // 1 / lot size: the engine reports lots / inv
          const filledBefore = Math.round((o.originalQuantity - o.remainingQuantity) * inv) / inv;
          row.set([target, 3, 0, filledBefore, o.remainingQuantity, fillRows, 0]);
          live.splice(live.indexOf(target), 1);
          continue;
        }
        const id =
          op === BATCH_OP.Replace
            ? per.e.replaceFast(target, price, qty)
            : per.e.submitFast(input.symbol[i]!, input.side[i]! as 0 | 1, op as 0 | 1, price, qty, tif as 0 | 1 | 2, flags === 1);
        const lr = per.e.last;
        row.set([id, lr.statusCode, lr.reasonCode, lr.filledQuantity, lr.remainingQuantity, fillRows, lr.fillCount]);
        const n = lr.fillCount;
        if ((fillRows + n) * FILL_STRIDE > fillsPer.length) {
          const grown = new Float64Array(Math.max(fillsPer.length * 2, (fillRows + n) * FILL_STRIDE));
          grown.set(fillsPer);
          fillsPer = grown;
        }
        expect(per.e.readFillsInto(fillBuf)).toBe(n);
        fillsPer.set(fillBuf.subarray(0, n * FILL_STRIDE), fillRows * FILL_STRIDE);
        for (let k = 0; k < n; k++) {
          const maker = fillBuf[k * FILL_STRIDE + 1]!;
          if (per.e.order(maker) === null && live.includes(maker)) live.splice(live.indexOf(maker), 1);
        }
        fillRows += n;
        const status = lr.statusCode;
        if (status <= 1 && op !== BATCH_OP.Replace) live.push(id);
        if (op === BATCH_OP.Replace && status === 2) live.splice(live.indexOf(target), 1);
      } catch (err) {
        expect(err).toBeInstanceOf(Error);
        row.set([op === BATCH_OP.Limit || op === BATCH_OP.Market ? 0 : target, 5, -1, 0, 0, fillRows, 0]);
      }
    }
    expect(fillRows).toBeGreaterThan(1000);

    // The same stream in batches, with outputs small enough to stop on both limits.
    const batch = engine(50_000);
    // Alternate outputs short of result rows and short of fill rows.
    const outs = [createBatchOutput(700, 100_000), createBatchOutput(4000, 300)];
    const rows = new Float64Array(N * RESULT_STRIDE);
    const fillsBatch = new Float64Array(fillRows * FILL_STRIDE);
    let start = 0;
    let fillsDone = 0;
    const stops = new Set<string>();
    let calls = 0;
    while (start < N) {
      const out = outs[calls % 2]!;
      const s = batch.e.executeBatch({ ...input, start }, out);
      calls++;
      if (s.stopped) stops.add(s.stopped);
      expect(s.processed).toBeGreaterThan(0);
      for (let j = 0; j < s.processed; j++) {
        const src = out.results.subarray(j * RESULT_STRIDE, (j + 1) * RESULT_STRIDE);
        const dst = rows.subarray((start + j) * RESULT_STRIDE, (start + j + 1) * RESULT_STRIDE);
        dst.set(src);
        dst[5] = src[5]! + fillsDone; // fillStart is relative to this call's fills
        if (dst[1] === 5) dst[2] = -1; // the error code is compared below as "an error"
      }
      fillsBatch.set(out.fills.subarray(0, s.fills * FILL_STRIDE), fillsDone * FILL_STRIDE);
      fillsDone += s.fills;
      start += s.processed;
    }
    expect(stops).toEqual(new Set(['FillsFull', 'ResultsFull']));
    expect(calls).toBeLessThan(200);
    expect(fillsDone).toBe(fillRows);
    expect(Buffer.from(fillsBatch.buffer).equals(Buffer.from(fillsPer.buffer, 0, fillRows * FILL_STRIDE * 8))).toBe(true);
    for (let i = 0; i < N; i++) {
      const got = Array.from(rows.subarray(i * RESULT_STRIDE, (i + 1) * RESULT_STRIDE));
      const want = Array.from(expectedRows.subarray(i * RESULT_STRIDE, (i + 1) * RESULT_STRIDE));
      if (got.join() !== want.join()) expect({ i, got }).toEqual({ i, got: want });
    }
    expect(snapshot(batch.e, live)).toBe(snapshot(per.e, live));
    expect(new Set(Array.from({ length: N }, (_, i) => rows[i * RESULT_STRIDE + 1]))).toEqual(new Set([0, 1, 2, 3, 4, 5]));
  });

  it('batch cancel/replace can name the order added by an earlier op of the same call as -(k + 1)', () => {
    const { e, s } = engine();
    const input = createBatchInput(7);
    const rows: [number, number, number, number, number][] = [
      // op, side, price, quantity, orderId
      [BATCH_OP.Limit, 1, 101, 1, 0], // 0: ask
      [BATCH_OP.Limit, 0, 99, 2, 0], // 1: bid
      [BATCH_OP.Replace, 0, 100, 3, -2], // 2: replace op 1's order
      [BATCH_OP.Cancel, 0, 0, 0, -1], // 3: cancel op 0's order
      [BATCH_OP.Cancel, 0, 0, 0, -1], // 4: again: stale now -> error
      [BATCH_OP.Cancel, 0, 0, 0, -7], // 5: forward reference (op 6) -> error
      [BATCH_OP.Cancel, 0, 0, 0, -0.5], // 6: not a whole reference -> error
    ];
    rows.forEach(([op, side, price, qty, id], i) => {
      input.op[i] = op;
      input.symbol[i] = s;
      input.side[i] = side;
      input.price[i] = price;
      input.quantity[i] = qty;
      input.orderId[i] = id;
    });
    const out = createBatchOutput(7, 8);
    expect(e.executeBatch(input, out)).toEqual({ processed: 7, fills: 0 });
    const row = (i: number) => Array.from(out.results.subarray(i * RESULT_STRIDE, (i + 1) * RESULT_STRIDE));
    const ask = row(0)[0]!;
    const bid = row(1)[0]!;
    expect(row(2)).toEqual([bid, 0, 0, 0, 3, 0, 0]);
    expect(row(3)).toEqual([ask, 3, 0, 0, 1, 0, 0]);
    expect(row(4).slice(0, 3)).toEqual([ask, 5, 2]); // UnknownOrder
    expect(row(5).slice(1, 3)).toEqual([5, 7]); // InvalidField
    expect(row(6).slice(1, 3)).toEqual([5, 7]);
    expect(e.order(bid)).toMatchObject({ price: 100, remainingQuantity: 3 });
    expect(e.openOrderCount()).toBe(1);
    // A reference before `start` is refused (its row belongs to another call).
    expect(e.executeBatch({ ...input, start: 3, end: 4 }, out)).toEqual({ processed: 1, fills: 0 });
    expect(out.results[1]).toBe(5);
  });

  it('batch refuses mismatched or overlapping arrays before running anything', () => {
    const { e, s } = engine();
    const input = createBatchInput(4);
    input.symbol.fill(s);
    input.price.fill(100);
    input.quantity.fill(1);
    const out = createBatchOutput(4, 4);
    expect(() => e.executeBatch({ ...input, side: new Uint8Array(3) }, out)).toThrow(/side/);
    expect(() => e.executeBatch({ ...input, price: new Float32Array(4) as unknown as Float64Array }, out)).toThrow(/price/);
    const shared = new Float64Array(64);
    expect(() => e.executeBatch(input, { results: shared.subarray(0, 40), fills: shared.subarray(30) })).toThrow(/overlap/);
    expect(() => e.executeBatch(input, { results: new Float64Array(input.price.buffer), fills: out.fills })).toThrow(/overlap/);
    expect(() => e.executeBatch({ ...input, start: 5 }, out)).toThrow(/start/);
    expect(e.openOrderCount()).toBe(0);
    expect(e.executeBatch(input, out)).toEqual({ processed: 4, fills: 0 });
    expect(e.openOrderCount()).toBe(4);
    expect(e.executeBatch({ ...input, start: 1, end: 3 }, createBatchOutput(1, 0))).toEqual({ processed: 1, fills: 0, stopped: 'ResultsFull' });
  });

  it('submitUnits / replaceUnits (ticks, lots) do what the float calls do and report the same fills in units', () => {
    // Symbol s: tick 0.01 (100 ticks a unit), lot 0.001 (1000 lots a unit); t: tick 0.5, lot 1.
    const grids = [
      { ticksPerUnit: 100, lotsPerUnit: 1000 },
      { ticksPerUnit: 2, lotsPerUnit: 1 },
    ] as const;
    const byFloat = engine();
    const byUnits = engine();
    const next = rng(17);
    const live: { sym: 0 | 1; id: number }[] = [];
    for (let i = 0; i < 3000; i++) {
      const sym = next() < 0.5 ? 0 : 1;
      const g = grids[sym];
      const ticks = sym === 0 ? 9990 + Math.floor(next() * 21) : 190 + Math.floor(next() * 21);
      const lots = 1 + Math.floor(next() * 3000);
      let idF: number;
      let idU: number;
      const pick = live.length > 0 && next() < 0.25 ? live[Math.floor(next() * live.length)]! : undefined;
      const target = pick !== undefined && byFloat.e.order(pick.id) !== null ? pick : undefined;
      if (target !== undefined) {
        const tg = grids[target.sym];
        idF = byFloat.e.replaceFast(target.id, ticks / tg.ticksPerUnit, lots / tg.lotsPerUnit);
        idU = byUnits.e.replaceUnits(target.id, ticks, lots);
      } else {
        const side = next() < 0.5 ? 0 : 1;
        const market = next() < 0.1 ? 1 : 0;
        const tif = market === 1 ? 1 : next() < 0.8 ? 0 : next() < 0.5 ? 1 : 2;
        idF = byFloat.e.submitFast(sym, side, market, market === 1 ? 0 : ticks / g.ticksPerUnit, lots / g.lotsPerUnit, tif, false);
        idU = byUnits.e.submitUnits(sym, side, market, market === 1 ? 0 : ticks, lots, tif, false);
        live.push({ sym, id: idF });
      }
      expect(idU).toBe(idF);
      const [f, u] = [byFloat.e.last, byUnits.e.last];
      expect([u.statusCode, u.reasonCode, u.filledQuantity, u.remainingQuantity, u.fillCount]).toEqual([
        f.statusCode,
        f.reasonCode,
        f.filledQuantity,
        f.remainingQuantity,
        f.fillCount,
      ]);
      const fills = byUnits.e.readFills();
      expect(fills).toEqual(byFloat.e.readFills());
      const units = byUnits.e.readFillUnits();
      expect(units).toHaveLength(fills.length);
      let filledLots = 0;
      units.forEach((fu, k) => {
        const fill = fills[k]!;
        const fg = grids[fill.symbol as 0 | 1];
        expect([fu.seq, fu.makerOrderId]).toEqual([fill.seq, fill.makerOrderId]);
        expect(Number.isInteger(fu.priceTicks) && Number.isInteger(fu.lots)).toBe(true);
        expect(fu.priceTicks / fg.ticksPerUnit).toBe(fill.price);
        expect(fu.lots / fg.lotsPerUnit).toBe(fill.quantity);
        filledLots += fu.lots;
      });
      expect(u.filledLots).toBe(filledLots);
      const rg = grids[target?.sym ?? sym];
      expect(u.remainingLots / rg.lotsPerUnit).toBe(u.remainingQuantity);
      if (target === undefined && u.statusCode !== 4) expect(u.filledLots + u.remainingLots).toBe(lots);
    }
    expect(snapshot(byUnits.e, live.map((o) => o.id))).toBe(snapshot(byFloat.e, live.map((o) => o.id)));
    for (const [sym, side] of [[0, 'Buy'], [0, 'Sell'], [1, 'Buy'], [1, 'Sell']] as const) {
      const level = side === 'Buy' ? byUnits.e.bestBid(sym) : byUnits.e.bestAsk(sym);
      const units = byUnits.e.bestUnits(sym, side);
      expect(units === null).toBe(level === null);
      if (level !== null && units !== null) {
        expect([units.priceTicks / grids[sym].ticksPerUnit, units.lots / grids[sym].lotsPerUnit, units.orders]).toEqual([
          level.price,
          level.quantity,
          level.orders,
        ]);
      }
    }
  });

  it('bad ticks or lots throw the error the same value off the grid gets, naming the field, and change nothing', () => {
    const { e, s } = engine();
    const ids = [e.submitUnits(s, 0, 0, 9_900, 1_000, 0, false), e.submitUnits(s, 1, 0, 10_100, 2_000, 0, false)];
    expect(e.order(ids[0]!)).toMatchObject({ price: 99, remainingQuantity: 1 });
    const before = snapshot(e, ids);
    const message = (call: () => unknown): string => {
      try {
        call();
      } catch (error) {
        return (error as Error).message;
      }
      throw new Error('expected the call to throw');
    };
    // [units call, float call with the same bad value in real units]
    const pairs: [() => unknown, () => unknown, RegExp][] = [
      [() => e.submitUnits(s, 0, 0, 10_000, 0, 0, false), () => e.submitFast(s, 0, 0, 100, 0, 0, false), /quantity/],
      [() => e.submitUnits(s, 0, 0, 10_000, -3, 0, false), () => e.submitFast(s, 0, 0, 100, -0.003, 0, false), /quantity/],
      [() => e.submitUnits(s, 0, 0, 10_000, 1.5, 0, false), () => e.submitFast(s, 0, 0, 100, 0.0015, 0, false), /quantity/],
      [() => e.submitUnits(s, 0, 0, 10_000, Number.NaN, 0, false), () => e.submitFast(s, 0, 0, 100, Number.NaN, 0, false), /quantity/],
      [() => e.submitUnits(s, 0, 0, 10_000, 2 ** 53 + 2, 0, false), () => e.submitFast(s, 0, 0, 100, 1e14, 0, false), /quantity/],
      [() => e.submitUnits(s, 0, 0, 0, 1, 0, false), () => e.submitFast(s, 0, 0, 0, 0.001, 0, false), /price/],
      [() => e.submitUnits(s, 0, 0, 9_999.5, 1, 0, false), () => e.submitFast(s, 0, 0, 99.995, 0.001, 0, false), /price/],
      [() => e.submitUnits(s, 0, 0, Number.POSITIVE_INFINITY, 1, 0, false), () => e.submitFast(s, 0, 0, Number.POSITIVE_INFINITY, 0.001, 0, false), /price/],
      [() => e.submitUnits(s, 2 as 0, 0, 10_000, 1, 0, false), () => e.submitFast(s, 2 as 0, 0, 100, 0.001, 0, false), /side/],
      [() => e.submitUnits(s, 0, 3 as 0, 10_000, 1, 0, false), () => e.submitFast(s, 0, 3 as 0, 100, 0.001, 0, false), /orderType/],
      [() => e.submitUnits(s, 0, 0, 10_000, 1, 3 as 0, false), () => e.submitFast(s, 0, 0, 100, 0.001, 3 as 0, false), /timeInForce/],
      [() => e.submitUnits(9, 0, 0, 10_000, 1, 0, false), () => e.submitFast(9, 0, 0, 100, 0.001, 0, false), /symbol/],
      [() => e.submitUnits(s, 0, 1, 0, 1, 0, true), () => e.submitFast(s, 0, 1, 0, 0.001, 0, true), /postOnly/],
      [() => e.replaceUnits(ids[0]!, 0, 1), () => e.replaceFast(ids[0]!, 0, 0.001), /price/],
      [() => e.replaceUnits(ids[0]!, 9_900.25, 1), () => e.replaceFast(ids[0]!, 99.0025, 0.001), /price/],
      [() => e.replaceUnits(ids[0]!, 9_900, 0.5), () => e.replaceFast(ids[0]!, 99, 0.0005), /quantity/],
      [() => e.replaceUnits(ids[0]! + (1 << 20), 9_900, 1), () => e.replaceFast(ids[0]! + (1 << 20), 99, 0.001), /orderId/],
    ];
    for (const [units, float, field] of pairs) {
      const expected = message(float);
      expect(expected).toMatch(field);
      expect(message(units)).toBe(expected);
      expect(snapshot(e, ids)).toBe(before);
    }
    // A market order's price is not read: any number goes, as on the float path.
    e.submitUnits(s, 0, 1, Number.NaN, 500, 1, false);
    expect(e.last.filledLots).toBe(500);
    expect(e.readFillUnits()).toEqual([{ seq: 1, makerOrderId: ids[1], priceTicks: 10_100, lots: 500 }]);
  });

  it('a destroyed engine refuses every call', () => {
    const { e, s } = engine();
    e.destroy();
    expect(() => e.submitFast(s, 0, 0, 1, 1, 0, false)).toThrow(/not a live matching engine/);
    expect(() => e.openOrderCount()).toThrow(/not a live matching engine/);
    e.destroy(); // idempotent
  });
});
