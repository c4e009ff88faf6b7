// DeadlineRace: one interval sweeps every call in flight; calls leave the list in any order.
import { describe, expect, it } from 'vitest';

import { DeadlineRace } from '../ts/deadline';

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: unknown) => void } {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('DeadlineRace', () => {
  it('settles calls in any order, times out only the one still in flight, and empties its list', async () => {
    let timeouts = 0;
    const race = new DeadlineRace(30, () => new Error(`timeout ${++timeouts}`));
    const [a, b, c, d] = [deferred<string>(), deferred<string>(), deferred<string>(), deferred<string>()];
    const runs = [race.run(a.promise), race.run(b.promise), race.run(c.promise), race.run(d.promise)];
    const outcomes = runs.map((p) => p.then((v) => `ok ${v}`, (e: Error) => `err ${e.message}`));
    expect(race.pending).toBe(4);
    b.resolve('b'); // from the middle of the list
    d.resolve('d'); // the newest (head)
    a.reject(new Error('a failed')); // the oldest (tail)
    await Promise.all([outcomes[0], outcomes[1], outcomes[3]]);
    expect(race.pending).toBe(1);
    expect(await outcomes[2]).toBe('err timeout 1');
    c.resolve('too late'); // after its timeout: nothing happens
    await new Promise((r) => setTimeout(r, 5));
    expect(await Promise.all(outcomes)).toEqual(['err a failed', 'ok b', 'err timeout 1', 'ok d']);
    expect(timeouts).toBe(1);
    expect(race.pending).toBe(0);
  });

  it('never fires before the timeout', async () => {
    const race = new DeadlineRace(40, () => new Error('timeout'));
    const started = performance.now();
    await expect(race.run(new Promise<never>(() => undefined))).rejects.toThrow('timeout');
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(39);
    expect(race.pending).toBe(0);
  });
});
