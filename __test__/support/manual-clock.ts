// A clock the test moves by hand: `advance` runs every repeating timer that falls due on the way,
// in time order, with `now()` reading the moment it fires. Nothing runs on its own.
import type { DeadlineClock } from '../../ts/deadline';

interface Repeating {
  intervalMs: number;
  dueAt: number;
  tick: () => void;
}

export class ManualClock implements DeadlineClock {
  private nowMs: number;
  private readonly timers: Repeating[] = [];

  constructor(startMs = 0) {
    this.nowMs = startMs;
  }

  now(): number {
    return this.nowMs;
  }

  every(intervalMs: number, tick: () => void): () => void {
    if (!(intervalMs > 0)) throw new RangeError(`ManualClock.every: intervalMs must be > 0, got ${intervalMs}`);
    const timer: Repeating = { intervalMs, dueAt: this.nowMs + intervalMs, tick };
    this.timers.push(timer);
    return () => {
      const at = this.timers.indexOf(timer);
      if (at >= 0) this.timers.splice(at, 1);
    };
  }

  /** Repeating timers not stopped yet. */
  get activeTimers(): number {
    return this.timers.length;
  }

  /** Move time forward by `ms`, firing each timer as it falls due (a timer started by a tick counts too). */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`ManualClock.advance: ms must be >= 0 (time only moves forward), got ${ms}`);
    const target = this.nowMs + ms;
    for (;;) {
      let next: Repeating | undefined;
      for (const timer of this.timers) if (timer.dueAt <= target && (next === undefined || timer.dueAt < next.dueAt)) next = timer;
      if (next === undefined) break;
      this.nowMs = next.dueAt;
      next.dueAt += next.intervalMs;
      next.tick();
    }
    this.nowMs = target;
  }
}
