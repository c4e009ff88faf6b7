// The replay driver: steps a BacktestTradingBackend through its data one bar (or print) at a
// time, moving the guard's manual clock to the step's timestamp and calling the agent hook.
import type { BacktestResult, BacktestTradingBackend } from './backend';

/** What the hook sees at each step. `bar` is set for bar data, `trade` for trade prints. */
export interface StepContext {
  readonly index: number;
  readonly timestampMs: number;
  /** Close of the bar or price of the print: the backend's reference price now. */
  readonly price: number;
  readonly bar: { readonly open: number; readonly high: number; readonly low: number; readonly close: number; readonly volume: number } | null;
  readonly trade: { readonly price: number; readonly amount: number; readonly side: 'buy' | 'sell' | 'unknown' } | null;
  readonly backend: BacktestTradingBackend;
  readonly replay: BacktestReplay;
}

/** Called after each step's data is applied; the agent may place, cancel and replace orders here. */
export type StepHook = (step: StepContext) => void | Promise<void>;

/** Anything with a manual clock, e.g. the `TradingTools` created with `clockStartMs`. */
export interface ReplayClock {
  setClockMs(ms: number): void;
}

export interface ReplayOptions {
  onStep?: StepHook;
  /** Moved to each step's timestamp before the step is applied (so daily counters and PnL days follow the data). */
  clock?: ReplayClock;
}

const SIDE_NAMES = ['buy', 'sell', 'unknown'] as const;

export class BacktestReplay {
  private readonly onStep: StepHook | undefined;
  private readonly clock: ReplayClock | undefined;
  private stopped = false;

  constructor(
    readonly backend: BacktestTradingBackend,
    options: ReplayOptions = {},
  ) {
    this.onStep = options.onStep;
    this.clock = options.clock;
  }

  /** Current step index (-1 before the first). */
  get index(): number {
    return this.backend.step;
  }

  /** Timestamp of the current bar (open time) or print; NaN before the first step. */
  get timestampMs(): number {
    return this.backend.timestampMs;
  }

  get length(): number {
    return this.backend.length;
  }

  /** All data replayed (or `stop()` called). */
  get done(): boolean {
    return this.stopped || this.backend.done;
  }

  /** End `run()` after the current step. */
  stop(): void {
    this.stopped = true;
  }

  /** Apply one step and run the hook on it. False when there was nothing left to replay. */
  async step(): Promise<boolean> {
    if (!this.advance()) return false;
    if (this.onStep !== undefined) {
      const pending = this.onStep(this.context());
      if (pending !== undefined) await pending;
    }
    return true;
  }

  /** Replay to the end (or `maxSteps` more steps, or until `stop()`) and summarize. */
  async run(options: { maxSteps?: number } = {}): Promise<BacktestResult> {
    this.stopped = false;
    let budget = options.maxSteps ?? Number.POSITIVE_INFINITY;
    const backend = this.backend;
    const hook = this.onStep;
    if (hook === undefined && this.clock === undefined) {
      while (budget-- > 0 && backend.advance()); // hot path: no per-step work beyond the backend's
      return backend.result();
    }
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- stop() from the awaited hook sets it; TS keeps the narrowing from `= false` above
    while (budget-- > 0 && !this.stopped && this.advance()) {
      if (hook !== undefined) {
        const pending = hook(this.context());
        if (pending !== undefined) await pending;
      }
    }
    return backend.result();
  }

  private advance(): boolean {
    if (this.clock !== undefined) {
      const next = this.backend.nextTimestampMs();
      if (Number.isNaN(next)) return false;
      this.clock.setClockMs(next);
    }
    return this.backend.advance();
  }

  private context(): StepContext {
    const backend = this.backend;
    const i = backend.step;
    const data = backend.data;
    if (data.kind === 'bars') {
      return {
        index: i,
        timestampMs: backend.timestampMs,
        price: backend.price,
        bar: {
          open: data.open[i] as number,
          high: data.high[i] as number,
          low: data.low[i] as number,
          close: data.close[i] as number,
          volume: data.volume[i] as number,
        },
        trade: null,
        backend,
        replay: this,
      };
    }
    return {
      index: i,
      timestampMs: backend.timestampMs,
      price: backend.price,
      bar: null,
      trade: { price: data.price[i] as number, amount: data.amount[i] as number, side: SIDE_NAMES[data.side[i] as number] ?? 'unknown' },
      backend,
      replay: this,
    };
  }
}
