// Market data held as typed-array columns (one Float64Array per field), never an object per row.
import { IssueList } from './data-error';
import { checkBar } from './row-checks';

/** OHLCV bars in time order. `timestamp` is the bar's open time in Unix ms, as in the source. */
export interface BarSeries {
  readonly kind: 'bars';
  /** File name (or label) the rows came from, used in messages. */
  readonly source: string;
  readonly length: number;
  readonly timestamp: Float64Array;
  readonly open: Float64Array;
  readonly high: Float64Array;
  readonly low: Float64Array;
  readonly close: Float64Array;
  readonly volume: Float64Array;
  /** Most decimals seen in a price field (after dropping trailing zeros): the default tick is 10^-priceDecimals. */
  readonly priceDecimals: number;
  /** Most decimals seen in the volume field: the default lot is 10^-quantityDecimals. */
  readonly quantityDecimals: number;
}

/** Aggressor side of a trade print. */
export const TradeSide = { Buy: 0, Sell: 1, Unknown: 2 } as const;
export type TradeSideCode = (typeof TradeSide)[keyof typeof TradeSide];

/** Public trade prints in time order (equal timestamps allowed). */
export interface TradeSeries {
  readonly kind: 'trades';
  readonly source: string;
  readonly length: number;
  readonly timestamp: Float64Array;
  /** Numeric trade id, NaN when the source's id is not a number. */
  readonly id: Float64Array;
  /** `TradeSide` codes. */
  readonly side: Uint8Array;
  readonly price: Float64Array;
  readonly amount: Float64Array;
  readonly priceDecimals: number;
  readonly quantityDecimals: number;
}

export type MarketSeries = BarSeries | TradeSeries;

/** Grows typed columns while parsing; `finish()` trims them to the row count. */
export class ColumnBuilder {
  private capacity: number;
  private columns: Float64Array[];
  length = 0;

  constructor(columnCount: number, initialCapacity = 1024) {
    this.capacity = Math.max(16, initialCapacity);
    this.columns = Array.from({ length: columnCount }, () => new Float64Array(this.capacity));
  }

  /** Reserve one row and return its index. */
  push(): number {
    if (this.length === this.capacity) {
      this.capacity *= 2;
      this.columns = this.columns.map((column) => {
        const grown = new Float64Array(this.capacity);
        grown.set(column);
        return grown;
      });
    }
    return this.length++;
  }

  column(index: number): Float64Array {
    return this.columns[index] as Float64Array;
  }

  /** The columns trimmed to `length` (copies, so the builder's spare capacity is freed). */
  finish(): Float64Array[] {
    return this.columns.map((column) => column.slice(0, this.length));
  }
}

/**
 * Build a `BarSeries` from plain columns (e.g. generated data). Checks rows like the loaders do and
 * throws `MarketDataError` (line = 1-based row) on a bad row.
 */
export function barSeriesFromColumns(columns: {
  source?: string;
  timestamp: ArrayLike<number>;
  open: ArrayLike<number>;
  high: ArrayLike<number>;
  low: ArrayLike<number>;
  close: ArrayLike<number>;
  volume: ArrayLike<number>;
  priceDecimals: number;
  quantityDecimals: number;
}): BarSeries {
  const n = columns.timestamp.length;
  for (const key of ['open', 'high', 'low', 'close', 'volume'] as const) {
    if (columns[key].length !== n) throw new RangeError(`column ${key} has ${columns[key].length} rows, timestamp has ${n}`);
  }
  const source = columns.source ?? 'bars';
  const issues = new IssueList(source);
  if (n === 0) issues.add(1, 'no data rows');
  for (let i = 0; i < n; i++) {
    checkBar(
      issues,
      i + 1,
      columns.timestamp[i] as number,
      columns.open[i] as number,
      columns.high[i] as number,
      columns.low[i] as number,
      columns.close[i] as number,
      columns.volume[i] as number,
      i > 0 ? (columns.timestamp[i - 1] as number) : Number.NaN,
      i,
    );
    for (const key of ['open', 'high', 'low', 'close', 'volume'] as const) {
      if (!Number.isFinite(columns[key][i])) issues.add(i + 1, `${key} is not a finite number: ${columns[key][i] as number}`);
    }
  }
  issues.throwIfAny();
  return {
    kind: 'bars',
    source,
    length: n,
    timestamp: Float64Array.from(columns.timestamp),
    open: Float64Array.from(columns.open),
    high: Float64Array.from(columns.high),
    low: Float64Array.from(columns.low),
    close: Float64Array.from(columns.close),
    volume: Float64Array.from(columns.volume),
    priceDecimals: columns.priceDecimals,
    quantityDecimals: columns.quantityDecimals,
  };
}
