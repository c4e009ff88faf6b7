// The mock venue's client-id memory against a plain reference model (a Map plus arrival order),
// through growth, eviction, probe-run deletes and real 32-bit hash collisions.
import { describe, expect, it } from 'vitest';

import { ClientIdWindow, hashId } from '../ts/backends/client-id-window';
import { rng } from '../bench/inputs';

/** What the window must behave like: the last `capacity` distinct ids added, each with its slot. */
class ReferenceWindow {
  private readonly slots = new Map<string, number>();
  private readonly order: string[] = [];
  constructor(private readonly capacity: number) {}
  find(id: string): number {
    return this.slots.get(id) ?? -1;
  }
  add(id: string, slot: number): void {
    if (this.order.length === this.capacity) this.slots.delete(this.order.shift() as string);
    this.order.push(id);
    this.slots.set(id, slot);
  }
  get ids(): readonly string[] {
    return this.order;
  }
}

function drive(capacity: number, operations: number, idSpace: number, seed: number): void {
  const random = rng(seed);
  const window = new ClientIdWindow(capacity);
  const reference = new ReferenceWindow(capacity);
  let added = 0;
  for (let k = 0; k < operations; k++) {
    const id = `c-${Math.floor(random() * idSpace)}`;
    const found = window.find(id);
    expect(found, `find ${id} after ${k} operations`).toBe(reference.find(id));
    if (found < 0) {
      const slot = window.add(id);
      expect(slot, 'slots are handed out around the ring in arrival order').toBe(added % capacity);
      added += 1;
      reference.add(id, slot);
    }
  }
  expect(window.size).toBe(reference.ids.length);
  for (const id of reference.ids) expect(window.find(id)).toBe(reference.find(id));
  for (let n = 0; n < idSpace; n++) expect(window.find(`c-${n}`)).toBe(reference.find(`c-${n}`));
}

describe('ClientIdWindow', () => {
  it('matches the reference model at tiny capacities (every slot reused many times)', () => {
    for (const capacity of [1, 2, 3, 7]) drive(capacity, 5_000, 20, capacity);
  });

  it('matches the reference model through table growth and heavy eviction', () => {
    drive(3_000, 40_000, 6_000, 11);
    drive(700, 20_000, 100_000, 12); // nearly every id new: pure ring eviction
  });

  it('keeps ids with equal 32-bit hashes apart', () => {
    const seen = new Map<number, string>();
    let pair: [string, string] | undefined;
    for (let n = 0; pair === undefined; n++) {
      const id = `collide-${n}`;
      const other = seen.get(hashId(id));
      if (other !== undefined) pair = [other, id];
      else seen.set(hashId(id), id);
    }
    const [a, b] = pair;
    expect(hashId(a)).toBe(hashId(b));
    const window = new ClientIdWindow(4);
    const slotA = window.add(a);
    expect(window.find(b)).toBe(-1);
    const slotB = window.add(b);
    expect(slotB).not.toBe(slotA);
    expect(window.find(a)).toBe(slotA);
    expect(window.find(b)).toBe(slotB);
    for (const id of ['x', 'y', 'z']) window.add(id); // a is forgotten, b stays
    expect(window.find(a)).toBe(-1);
    expect(window.find(b)).toBe(slotB);
  });

  it('refuses a capacity that is not a positive integer', () => {
    for (const capacity of [0, -1, 1.5, Number.NaN]) expect(() => new ClientIdWindow(capacity)).toThrow(/capacity must be a positive integer/);
  });
});
