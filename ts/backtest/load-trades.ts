// Trade-print loader: CSV with a header `timestamp,id,side,price,amount` (any order, extra columns
// ignored). Bad rows are reported with their line numbers and nothing is returned from a bad file.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

import { IssueList } from './data-error';
import { checkedNumber, checkTrade, MICROSECOND_TIMESTAMP_FLOOR } from './row-checks';
import { ColumnBuilder, TradeSide, type TradeSeries } from './series';
import { decimalsOfText, forEachLine, parseNumber } from './text-fields';

const FIELDS = ['timestamp', 'id', 'side', 'price', 'amount'] as const;
const ALIASES: Record<string, (typeof FIELDS)[number]> = {
  timestamp: 'timestamp',
  time: 'timestamp',
  ts: 'timestamp',
  id: 'id',
  trade_id: 'id',
  side: 'side',
  price: 'price',
  amount: 'amount',
  qty: 'amount',
  quantity: 'amount',
  size: 'amount',
};

/** Parse trade prints. `side` is buy/sell (any case; empty = unknown). */
export function parseTradesCsv(text: string, source = 'trades.csv'): TradeSeries {
  const issues = new IssueList(source);
  const builder = new ColumnBuilder(4, 4096); // timestamp, id, price, amount
  let sides = new Uint8Array(4096);
  let columns: number[] | null = null;
  let header = FIELDS.join(',');
  let previousTs = Number.NaN;
  let previousLine = 0;
  let priceDecimals = 0;
  let quantityDecimals = 0;
  forEachLine(text, (line, lineNumber) => {
    if (line.trim() === '') return;
    const fields = line.split(',');
    if (columns === null) {
      const index = new Map<string, number>();
      fields.forEach((name, i) => {
        const field = ALIASES[name.trim().toLowerCase()];
        if (field !== undefined && !index.has(field)) index.set(field, i);
      });
      const missing = FIELDS.filter((f) => f !== 'id' && !index.has(f));
      if (missing.length > 0) {
        issues.add(lineNumber, `header lacks column ${missing.map((m) => `'${m}'`).join(', ')} (expected ${FIELDS.join(',')})`);
        columns = [];
        return;
      }
      columns = FIELDS.map((f) => index.get(f) ?? -1);
      header = line.trim();
      return;
    }
    if (columns.length === 0) return;
    const need = Math.max(...columns) + 1;
    if (fields.length < need) {
      issues.add(lineNumber, `missing columns: expected ${need} fields (${header}), got ${fields.length}`);
      return;
    }
    const [tsAt, idAt, sideAt, priceAt, amountAt] = columns as [number, number, number, number, number];
    const tsText = fields[tsAt] as string;
    let ts = checkedNumber(issues, lineNumber, 'timestamp', parseNumber(tsText), tsText);
    if (ts > MICROSECOND_TIMESTAMP_FLOOR) ts = Math.floor(ts / 1000);
    const priceText = fields[priceAt] as string;
    const price = checkedNumber(issues, lineNumber, 'price', parseNumber(priceText), priceText);
    const amountText = fields[amountAt] as string;
    const amount = checkedNumber(issues, lineNumber, 'amount', parseNumber(amountText), amountText);
    const sideText = (fields[sideAt] as string).trim().toLowerCase();
    const side = sideText === 'buy' ? TradeSide.Buy : sideText === 'sell' ? TradeSide.Sell : sideText === '' ? TradeSide.Unknown : -1;
    if (side < 0) issues.add(lineNumber, `side must be buy or sell, got '${fields[sideAt] as string}'`);
    const ok = checkTrade(issues, lineNumber, ts, price, amount, previousTs, previousLine);
    if (Number.isInteger(ts) && ts >= 0) {
      previousTs = ts;
      previousLine = lineNumber;
    }
    if (!ok || issues.size > 0) return;
    const i = builder.push();
    if (i >= sides.length) {
      const grown = new Uint8Array(sides.length * 2);
      grown.set(sides);
      sides = grown;
    }
    builder.column(0)[i] = ts;
    builder.column(1)[i] = idAt >= 0 ? parseNumber(fields[idAt] as string) : Number.NaN;
    builder.column(2)[i] = price;
    builder.column(3)[i] = amount;
    sides[i] = side;
    const dp = decimalsOfText(priceText);
    if (dp > priceDecimals) priceDecimals = dp;
    const dq = decimalsOfText(amountText);
    if (dq > quantityDecimals) quantityDecimals = dq;
  });
  if (builder.length === 0 && issues.size === 0) issues.add(1, 'no data rows');
  issues.throwIfAny();
  const [timestamp, id, price, amount] = builder.finish() as [Float64Array, Float64Array, Float64Array, Float64Array];
  return {
    kind: 'trades',
    source,
    length: timestamp.length,
    timestamp,
    id,
    side: sides.slice(0, timestamp.length),
    price,
    amount,
    priceDecimals,
    quantityDecimals,
  };
}

/** Read and check a trade-print file. Throws `MarketDataError` listing every bad row before anything replays. */
export function loadTrades(path: string, options: { source?: string } = {}): TradeSeries {
  return parseTradesCsv(readFileSync(path, 'utf8'), options.source ?? basename(path));
}
