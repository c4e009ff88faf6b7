// The rules every row must pass before a replay may start. Each failed rule adds one issue
// naming the values, e.g. `high 100 < low 101`.
import type { IssueList } from './data-error';

/** Timestamps above this are taken as microseconds (Binance spot klines from 2025 on) and divided by 1000. */
export const MICROSECOND_TIMESTAMP_FLOOR = 1e14;

/** Value of a numeric field, or NaN after reporting what is wrong with it. */
export function checkedNumber(issues: IssueList, line: number, field: string, value: number, raw: string): number {
  if (Number.isNaN(value)) {
    issues.add(line, raw.trim() === '' ? `${field} is missing` : `${field} is not a number: '${raw}'`);
    return Number.NaN;
  }
  if (!Number.isFinite(value)) {
    issues.add(line, `${field} is not finite: '${raw}'`);
    return Number.NaN;
  }
  return value;
}

export function checkTimestamp(issues: IssueList, line: number, ts: number): boolean {
  if (Number.isNaN(ts)) return false;
  if (!Number.isInteger(ts) || ts < 0) {
    issues.add(line, `timestamp ${ts} is not a whole, non-negative number of ms`);
    return false;
  }
  return true;
}

/**
 * Bar rules: prices > 0, volume >= 0, low <= high, open and close within [low, high], timestamps
 * strictly increasing (`previousTs` is the last good timestamp, NaN for the first row).
 */
export function checkBar(
  issues: IssueList,
  line: number,
  ts: number,
  open: number,
  high: number,
  low: number,
  close: number,
  volume: number,
  previousTs: number,
  previousLine: number,
): boolean {
  const before = issues.size;
  if (checkTimestamp(issues, line, ts) && ts <= previousTs) {
    issues.add(line, `timestamp ${ts} is not after the previous row's ${previousTs} (line ${previousLine}): rows must be sorted, without duplicates`);
  }
  for (const [field, value] of [['open', open], ['high', high], ['low', low], ['close', close]] as const) {
    if (value <= 0) issues.add(line, `${field} ${value} must be > 0`);
  }
  if (volume < 0) issues.add(line, `negative volume ${volume}`);
  if (high < low) {
    issues.add(line, `high ${high} < low ${low}`);
  } else {
    if (open < low || open > high) issues.add(line, `open ${open} outside [low ${low}, high ${high}]`);
    if (close < low || close > high) issues.add(line, `close ${close} outside [low ${low}, high ${high}]`);
  }
  return issues.size === before;
}

/** Trade rules: price > 0, amount > 0, timestamps non-decreasing. */
export function checkTrade(issues: IssueList, line: number, ts: number, price: number, amount: number, previousTs: number, previousLine: number): boolean {
  const before = issues.size;
  if (checkTimestamp(issues, line, ts) && ts < previousTs) {
    issues.add(line, `timestamp ${ts} is before the previous row's ${previousTs} (line ${previousLine}): rows must be sorted`);
  }
  if (price <= 0) issues.add(line, `price ${price} must be > 0`);
  if (amount < 0) issues.add(line, `negative amount ${amount}`);
  else if (amount === 0) issues.add(line, `amount must be > 0`);
  return issues.size === before;
}
