// DeadlineRace: one interval sweeps every call in flight; calls leave the list in any order. Time is
// a manual clock: the test decides when the sweeps run and what time they read.
import { describe, expect, it } from 'vitest';

import { DeadlineRace } from '../ts/deadline';
import { ManualClock } from './support/manual-clock';

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: unknown) => void } {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Let every settled promise run its handlers (they are microtasks queued behind this one). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** `run`'s outcome as text once it has one; `undefined` while still in flight. */
function watch(outcome: Promise<unknown>): () => string | undefined {
  let seen: string | undefined;
  outcome.then(
    (value) => (seen = `ok ${String(value)}`),
    (error: unknown) => (seen = `err ${error instanceof Error ? error.message : String(error)}`),
  );
  return () => seen;
}

describe('DeadlineRace', () => {
  it('settles calls in any order, times out only the one still in flight, and empties its list', async () => {
    const clock = new ManualClock(1_000);
    let timeouts = 0;
    const race = new DeadlineRace(30, () => new Error(`timeout ${++timeouts}`), clock);
    const [a, b, c, d] = [deferred<string>(), deferred<string>(), deferred<string>(), deferred<string>()];
    const outcomes = [a, b, c, d].map((call) => watch(race.run(call.promise)));
    expect(race.pending).toBe(4);
    b.resolve('b'); // from the middle of the list
    d.resolve('d'); // the newest (head)
    a.reject(new Error('a failed')); // the oldest (tail)
    await settle();
    expect(outcomes.map((o) => o())).toEqual(['err a failed', 'ok b', undefined, 'ok d']);
    expect(race.pending).toBe(1);
    clock.advance(30);
    await settle();
    expect(outcomes[2]?.()).toBe('err timeout 1');
    c.resolve('too late'); // after its timeout: nothing happens
    await settle();
    expect(outcomes.map((o) => o())).toEqual(['err a failed', 'ok b', 'err timeout 1', 'ok d']);
    expect(timeouts).toBe(1);
    expect(race.pending).toBe(0);
  });

  it('never fires before the timeout, and at most one sweep period (a tenth of the timeout) after it', async () => {
    const clock = new ManualClock();
    const race = new DeadlineRace(40, () => new Error('timeout'), clock);
    expect(race.tickMs).toBe(5);
    const early = watch(race.run(new Promise<never>(() => undefined))); // due at 40; sweeps at 5, 10, ... 40, 45
    clock.advance(3);
    const late = watch(race.run(new Promise<never>(() => undefined))); // due at 43, between two sweeps
    clock.advance(36); // 39
    await settle();
    expect([early(), late()]).toEqual([undefined, undefined]);
    clock.advance(1); // 40: the sweep finds the first one due, the second not yet
    await settle();
    expect([early(), late()]).toEqual(['err timeout', undefined]);
    clock.advance(4.5); // 44.5: past its deadline, no sweep since 40
    await settle();
    expect(late()).toBeUndefined();
    expect(race.pending).toBe(1);
    clock.advance(0.5); // 45: the first sweep at or after 43, 2 ms <= 4 ms (a tenth of 40) late
    await settle();
    expect(late()).toBe('err timeout');
    expect(race.pending).toBe(0);
  });

  it('sweeps only while a call is in flight', async () => {
    const clock = new ManualClock();
    const race = new DeadlineRace(1_000, () => new Error('timeout'), clock);
    expect(race.tickMs).toBe(100);
    expect(clock.activeTimers).toBe(0);
    const quick = deferred<number>();
    const first = watch(race.run(quick.promise));
    const second = watch(race.run(new Promise<never>(() => undefined)));
    expect(clock.activeTimers).toBe(1); // one interval for every call
    quick.resolve(7);
    await settle();
    expect(first()).toBe('ok 7');
    expect(clock.activeTimers).toBe(1); // the other is still in flight
    clock.advance(1_000);
    await settle();
    expect(second()).toBe('err timeout');
    expect(clock.activeTimers).toBe(0); // nothing in flight: nothing keeps the process alive
    const third = watch(race.run(new Promise<never>(() => undefined)));
    expect(clock.activeTimers).toBe(1);
    clock.advance(1_100);
    await settle();
    expect(third()).toBe('err timeout');
    expect(clock.activeTimers).toBe(0);
    // A call that settles on its own: the next sweep finds the list empty and stops.
    const fourth = deferred<string>();
    const settledByItself = watch(race.run(fourth.promise));
    fourth.resolve('done');
    await settle();
    expect(settledByItself()).toBe('ok done');
    expect(clock.activeTimers).toBe(1);
    clock.advance(100);
    expect(clock.activeTimers).toBe(0);
  });

  it('is given a positive timeout and sweeps no faster than every 5 ms nor slower than every 250 ms', () => {
    const tick = (timeoutMs: number) => new DeadlineRace(timeoutMs, () => new Error('timeout'), new ManualClock()).tickMs;
    expect([tick(1), tick(49), tick(50), tick(2_000), tick(2_500), tick(60_000)]).toEqual([5, 5, 5, 200, 250, 250]);
  });
});
