// Per-call timeouts without a timer per call: in-flight calls sit in a list that one interval
// sweeps. The interval runs only while something is in flight (and keeps the process alive
// until every call has settled or timed out). Time comes from a `DeadlineClock`, the system's by
// default, so a test can move it by hand.
import { performance } from 'node:perf_hooks';

/** The time a `DeadlineRace` reads: a monotonic clock and a repeating timer. */
export interface DeadlineClock {
  /** Milliseconds on a monotonic clock. */
  now(): number;
  /** Call `tick` every `intervalMs` until the returned function is called. */
  every(intervalMs: number, tick: () => void): () => void;
}

/** `performance.now()` and `setInterval`. */
export const systemDeadlineClock: DeadlineClock = {
  now: () => performance.now(),
  every: (intervalMs, tick) => {
    const timer = setInterval(tick, intervalMs);
    return () => {
      clearInterval(timer);
    };
  },
};

/** One call in flight: a node of an intrusive doubly linked list (no hashing to add or remove). */
interface Entry {
  deadline: number;
  reject: (error: Error) => void;
  prev: Entry | undefined;
  next: Entry | undefined;
  /** False once settled or timed out: whichever comes second does nothing. */
  live: boolean;
}

export class DeadlineRace {
  private head: Entry | undefined;
  private stopSweeping: (() => void) | undefined;
  /** Sweep period: a call times out at most this late. */
  readonly tickMs: number;

  constructor(
    private readonly timeoutMs: number,
    private readonly timeoutError: () => Error,
    private readonly clock: DeadlineClock = systemDeadlineClock,
  ) {
    // Fires at most a tenth of the timeout late (and never sweeps more often than every 5 ms).
    this.tickMs = Math.min(Math.max(Math.floor(timeoutMs / 10), 5), 250);
  }

  /** `work`'s outcome, or `timeoutError()` once `timeoutMs` has passed. */
  run<T>(work: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry: Entry = { deadline: this.clock.now() + this.timeoutMs, reject, prev: undefined, next: this.head, live: true };
      if (this.head !== undefined) this.head.prev = entry;
      this.head = entry;
      this.stopSweeping ??= this.clock.every(this.tickMs, () => {
        this.sweep();
      });
      work.then(
        (value) => {
          if (this.remove(entry)) resolve(value);
        },
        (error: unknown) => {
          // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the work's own rejection reaches the caller unchanged
          if (this.remove(entry)) reject(error);
        },
      );
    });
  }

  /** In flight right now. */
  get pending(): number {
    let count = 0;
    for (let e = this.head; e !== undefined; e = e.next) count += 1;
    return count;
  }

  /** Unlink `entry`; false when it was already settled or timed out. */
  private remove(entry: Entry): boolean {
    if (!entry.live) return false;
    entry.live = false;
    if (entry.prev === undefined) this.head = entry.next;
    else entry.prev.next = entry.next;
    if (entry.next !== undefined) entry.next.prev = entry.prev;
    entry.prev = undefined;
    entry.next = undefined;
    return true;
  }

  private sweep(): void {
    const now = this.clock.now();
    let entry = this.head;
    while (entry !== undefined) {
      const next = entry.next;
      if (entry.deadline <= now && this.remove(entry)) entry.reject(this.timeoutError());
      entry = next;
    }
    if (this.head === undefined && this.stopSweeping !== undefined) {
      this.stopSweeping();
      this.stopSweeping = undefined;
    }
  }
}
