// Per-call timeouts without a timer per call: in-flight calls sit in a set that one interval
// sweeps. The interval runs only while something is in flight (and keeps the process alive
// until every call has settled or timed out).
import { performance } from 'node:perf_hooks';

interface Entry {
  deadline: number;
  reject: (error: Error) => void;
}

export class DeadlineRace {
  private readonly pending = new Set<Entry>();
  private timer: NodeJS.Timeout | undefined;
  private readonly tickMs: number;

  constructor(
    private readonly timeoutMs: number,
    private readonly timeoutError: () => Error,
  ) {
    // Fires at most a tenth of the timeout late (and never sweeps more often than every 5 ms).
    this.tickMs = Math.min(Math.max(Math.floor(timeoutMs / 10), 5), 250);
  }

  /** `work`'s outcome, or `timeoutError()` once `timeoutMs` has passed. */
  run<T>(work: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const entry: Entry = { deadline: performance.now() + this.timeoutMs, reject };
      this.pending.add(entry);
      this.timer ??= setInterval(() => this.sweep(), this.tickMs);
      work.then(
        (value) => {
          if (this.pending.delete(entry)) resolve(value);
        },
        (error: unknown) => {
          if (this.pending.delete(entry)) reject(error);
        },
      );
    });
  }

  private sweep(): void {
    const now = performance.now();
    for (const entry of this.pending) {
      if (entry.deadline <= now) {
        this.pending.delete(entry);
        entry.reject(this.timeoutError());
      }
    }
    if (this.pending.size === 0 && this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}
