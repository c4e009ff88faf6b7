// The dead-man timer of a live run (`[agent] heartbeat_timeout_ms`): the operator's watchdog sends
// `POST /heartbeat` to the admin endpoint; when none has come for the timeout, `onExpire` runs once
// (the program halts, and cancels the open orders if configured). A later heartbeat re-arms the
// timer: it fires again after another full timeout of silence. It never un-halts anything: going
// back to ACTIVE is an operator's decision (`POST /state`).
//
// Time comes from a `DeadlineClock` (the system's by default) so that a test moves it by hand: the
// timer checks on one repeating tick, at most a tenth of the timeout (and at most 1 s) late.
import { systemDeadlineClock, type DeadlineClock } from '../deadline';

export interface DeadManOptions {
  timeoutMs: number;
  /** Runs once per silence of `timeoutMs` or more, with how long it has been silent (whole ms). */
  onExpire: (silentForMs: number) => void;
  clock?: DeadlineClock;
}

export class DeadManTimer {
  readonly timeoutMs: number;
  /** Check period: the timer fires at most this late. */
  readonly tickMs: number;
  private readonly clock: DeadlineClock;
  private readonly onExpire: (silentForMs: number) => void;
  private lastBeatMs: number;
  private fired = false;
  private stopTicking: (() => void) | undefined;

  /** Starts counting now: the watchdog has `timeoutMs` from the start to send its first heartbeat. */
  constructor(options: DeadManOptions) {
    if (!Number.isInteger(options.timeoutMs) || options.timeoutMs < 1) {
      throw new RangeError(`dead-man: timeoutMs must be a whole number of milliseconds >= 1, got ${String(options.timeoutMs)}`);
    }
    this.timeoutMs = options.timeoutMs;
    this.onExpire = options.onExpire;
    this.clock = options.clock ?? systemDeadlineClock;
    this.tickMs = Math.min(Math.max(Math.floor(this.timeoutMs / 10), 1), 1_000);
    this.lastBeatMs = this.clock.now();
    this.stopTicking = this.clock.every(this.tickMs, () => {
      this.check();
    });
  }

  /** A heartbeat: the silence starts again from now (and a timer that fired is armed again). */
  heartbeat(): void {
    this.lastBeatMs = this.clock.now();
    this.fired = false;
  }

  /** Milliseconds since the last heartbeat (or the start). */
  get silentForMs(): number {
    return this.clock.now() - this.lastBeatMs;
  }

  /** Whether the timer fired and no heartbeat came since. */
  get expired(): boolean {
    return this.fired;
  }

  /** No more checks (the run is over). */
  stop(): void {
    this.stopTicking?.();
    this.stopTicking = undefined;
  }

  private check(): void {
    if (this.fired) return;
    const silent = this.silentForMs;
    if (silent < this.timeoutMs) return;
    this.fired = true;
    // The system clock is performance.now(): whole milliseconds are what a log or an audit record says.
    this.onExpire(Math.round(silent));
  }
}
