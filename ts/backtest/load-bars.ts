// OHLCV loaders: CSV with a header (`timestamp,open,high,low,close,volume`), ccxt JSON
// (`[[ts,o,h,l,c,v],...]`) and Binance kline CSV (12 columns, no header). Every bad row is reported
// with its line number and nothing is returned from a bad file.
import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';

import { IssueList, MarketDataError } from './data-error';
import { checkBar, checkedNumber, MICROSECOND_TIMESTAMP_FLOOR } from './row-checks';
import { ColumnBuilder, type BarSeries } from './series';
import { decimalsOfNumber, decimalsOfText, forEachLine, parseNumber } from './text-fields';

export type BarFormat = 'csv' | 'ccxt-json' | 'binance-klines';

export interface LoadOptions {
  /** Detected from the extension and first line when absent. */
  format?: BarFormat;
  /** Name used in messages; default the file's base name. */
  source?: string;
}

const FIELDS = ['timestamp', 'open', 'high', 'low', 'close', 'volume'] as const;
const ALIASES: Record<string, (typeof FIELDS)[number]> = {
  timestamp: 'timestamp',
  time: 'timestamp',
  ts: 'timestamp',
  open_time: 'timestamp',
  opentime: 'timestamp',
  date: 'timestamp',
  open: 'open',
  o: 'open',
  high: 'high',
  h: 'high',
  low: 'low',
  l: 'low',
  close: 'close',
  c: 'close',
  volume: 'volume',
  vol: 'volume',
  v: 'volume',
};

/** Accumulates checked bars into typed columns. */
class BarSink {
  private readonly builder = new ColumnBuilder(6, 4096);
  private previousTs = Number.NaN;
  private previousLine = 0;
  private priceDecimals = 0;
  private quantityDecimals = 0;
  readonly issues: IssueList;

  constructor(readonly source: string) {
    this.issues = new IssueList(source);
  }

  /** One row; `raw` gives each field's source text for messages and decimals. */
  add(line: number, values: readonly number[], raw: readonly string[], decimalsFromText: boolean): void {
    const issues = this.issues;
    let ts = checkedNumber(issues, line, 'timestamp', values[0] as number, raw[0] as string);
    if (ts > MICROSECOND_TIMESTAMP_FLOOR) ts = Math.floor(ts / 1000);
    const open = checkedNumber(issues, line, 'open', values[1] as number, raw[1] as string);
    const high = checkedNumber(issues, line, 'high', values[2] as number, raw[2] as string);
    const low = checkedNumber(issues, line, 'low', values[3] as number, raw[3] as string);
    const close = checkedNumber(issues, line, 'close', values[4] as number, raw[4] as string);
    const volume = checkedNumber(issues, line, 'volume', values[5] as number, raw[5] as string);
    const ok = checkBar(issues, line, ts, open, high, low, close, volume, this.previousTs, this.previousLine);
    if (Number.isInteger(ts) && ts >= 0) {
      this.previousTs = ts;
      this.previousLine = line;
    }
    if (!ok || issues.size > 0) return; // a bad file returns nothing: stop filling columns
    const i = this.builder.push();
    this.builder.column(0)[i] = ts;
    this.builder.column(1)[i] = open;
    this.builder.column(2)[i] = high;
    this.builder.column(3)[i] = low;
    this.builder.column(4)[i] = close;
    this.builder.column(5)[i] = volume;
    for (let f = 1; f <= 4; f++) {
      const d = decimalsFromText ? decimalsOfText(raw[f] as string) : decimalsOfNumber(values[f] as number);
      if (d > this.priceDecimals) this.priceDecimals = d;
    }
    const dv = decimalsFromText ? decimalsOfText(raw[5] as string) : decimalsOfNumber(values[5] as number);
    if (dv > this.quantityDecimals) this.quantityDecimals = dv;
  }

  finish(): BarSeries {
    if (this.builder.length === 0 && this.issues.size === 0) this.issues.add(1, 'no data rows');
    this.issues.throwIfAny();
    const [timestamp, open, high, low, close, volume] = this.builder.finish() as [Float64Array, Float64Array, Float64Array, Float64Array, Float64Array, Float64Array];
    return {
      kind: 'bars',
      source: this.source,
      length: timestamp.length,
      timestamp,
      open,
      high,
      low,
      close,
      volume,
      priceDecimals: this.priceDecimals,
      quantityDecimals: this.quantityDecimals,
    };
  }
}

function isNumericField(text: string | undefined): boolean {
  return text !== undefined && !Number.isNaN(parseNumber(text));
}

/**
 * CSV bars. The first line is a header naming the columns (`timestamp,open,high,low,close,volume`,
 * any order, extra columns ignored); a file whose first line is numeric is read positionally in that order.
 */
export function parseBarsCsv(text: string, source = 'bars.csv'): BarSeries {
  const sink = new BarSink(source);
  let columns: number[] | null = null;
  let header = FIELDS.join(',');
  const values = [0, 0, 0, 0, 0, 0];
  const raw = ['', '', '', '', '', ''];
  forEachLine(text, (line, lineNumber) => {
    if (line.trim() === '') return;
    const fields = line.split(',');
    if (columns === null) {
      if (isNumericField(fields[0])) {
        columns = [0, 1, 2, 3, 4, 5];
      } else {
        const index = new Map<string, number>();
        fields.forEach((name, i) => {
          const field = ALIASES[name.trim().toLowerCase()];
          if (field !== undefined && !index.has(field)) index.set(field, i);
        });
        const missing = FIELDS.filter((f) => !index.has(f));
        if (missing.length > 0) {
          sink.issues.add(lineNumber, `header lacks column ${missing.map((m) => `'${m}'`).join(', ')} (expected ${FIELDS.join(',')})`);
          columns = [];
          return;
        }
        columns = FIELDS.map((f) => index.get(f) as number);
        header = line.trim();
        return;
      }
    }
    if (columns.length === 0) return; // bad header already reported
    const need = Math.max(...columns) + 1;
    if (fields.length < need) {
      sink.issues.add(lineNumber, `missing columns: expected ${need} fields (${header}), got ${fields.length}`);
      return;
    }
    for (let f = 0; f < 6; f++) {
      const t = fields[columns[f] as number] as string;
      raw[f] = t;
      values[f] = parseNumber(t);
    }
    sink.add(lineNumber, values, raw, true);
  });
  return sink.finish();
}

const BINANCE_FIELDS = 12;

/**
 * Binance kline CSV (data.vision): open time, open, high, low, close, volume, close time, quote
 * volume, trades, taker buy base, taker buy quote, ignore. No header (a non-numeric first line is
 * skipped as one). Microsecond open times (2025+ spot files) are converted to ms.
 */
export function parseBinanceKlines(text: string, source = 'klines.csv'): BarSeries {
  const sink = new BarSink(source);
  const values = [0, 0, 0, 0, 0, 0];
  const raw = ['', '', '', '', '', ''];
  let first = true;
  forEachLine(text, (line, lineNumber) => {
    if (line.trim() === '') return;
    const fields = line.split(',');
    if (first) {
      first = false;
      if (!isNumericField(fields[0])) return; // header line
    }
    if (fields.length < BINANCE_FIELDS) {
      sink.issues.add(lineNumber, `missing columns: expected ${BINANCE_FIELDS} fields (Binance kline), got ${fields.length}`);
      return;
    }
    for (let f = 0; f < 6; f++) {
      const t = fields[f] as string;
      raw[f] = t;
      values[f] = parseNumber(t);
    }
    sink.add(lineNumber, values, raw, true);
  });
  return sink.finish();
}

/** Line (1-based) where each element of the top-level JSON array starts. */
function elementLines(text: string): number[] {
  const lines: number[] = [];
  let line = 1;
  let depth = 0;
  let inString = false;
  let pendingElement = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) line += 1;
    if (inString) {
      if (c === 92 /* \ */) i += 1;
      else if (c === 34 /* " */) inString = false;
      continue;
    }
    if (c === 34) inString = true;
    if (depth === 1 && pendingElement && c !== 32 && c !== 9 && c !== 10 && c !== 13 && c !== 44) {
      lines.push(line);
      pendingElement = false;
    }
    if (c === 91 /* [ */ || c === 123 /* { */) {
      depth += 1;
      if (depth === 1) pendingElement = true;
    } else if (c === 93 /* ] */ || c === 125 /* } */) {
      depth -= 1;
    } else if (c === 44 /* , */ && depth === 1) {
      pendingElement = true;
    }
  }
  return lines;
}

function lineAtOffset(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line += 1;
  return line;
}

/** ccxt `fetchOHLCV` output saved as JSON: `[[timestamp, open, high, low, close, volume], ...]`. */
export function parseCcxtJson(text: string, source = 'bars.json'): BarSeries {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const position = /position (\d+)/.exec(message);
    const line = position ? lineAtOffset(text, Number(position[1])) : 1;
    throw new MarketDataError([{ source, line, message: `invalid JSON: ${message}` }]);
  }
  if (!Array.isArray(parsed)) {
    throw new MarketDataError([{ source, line: 1, message: 'expected a JSON array of [timestamp, open, high, low, close, volume] rows' }]);
  }
  const sink = new BarSink(source);
  const lines = elementLines(text);
  const lineOf = (i: number): number => lines[i] ?? 1;
  const values = [0, 0, 0, 0, 0, 0];
  const raw = ['', '', '', '', '', ''];
  for (let i = 0; i < parsed.length; i++) {
    const row: unknown = parsed[i];
    if (!Array.isArray(row)) {
      sink.issues.add(lineOf(i), `row ${i} is not an array: ${JSON.stringify(row)}`);
      continue;
    }
    if (row.length < 6) {
      sink.issues.add(lineOf(i), `missing columns: expected 6 values [timestamp, open, high, low, close, volume], got ${row.length}`);
      continue;
    }
    for (let f = 0; f < 6; f++) {
      const v: unknown = row[f];
      values[f] = typeof v === 'number' ? v : Number.NaN;
      raw[f] = typeof v === 'number' ? String(v) : JSON.stringify(v);
    }
    sink.add(lineOf(i), values, raw, false);
  }
  return sink.finish();
}

function detectFormat(path: string, text: string): BarFormat {
  const ext = extname(path).toLowerCase();
  if (ext === '.json') return 'ccxt-json';
  const trimmed = text.trimStart();
  if (trimmed.startsWith('[')) return 'ccxt-json';
  const firstLine = trimmed.slice(0, Math.max(0, trimmed.indexOf('\n')) || trimmed.length);
  const fields = firstLine.split(',');
  if (fields.length >= BINANCE_FIELDS && isNumericField(fields[0])) return 'binance-klines';
  return 'csv';
}

/** Parse bars from text in the given format. */
export function parseBars(text: string, format: BarFormat, source: string): BarSeries {
  switch (format) {
    case 'csv':
      return parseBarsCsv(text, source);
    case 'ccxt-json':
      return parseCcxtJson(text, source);
    case 'binance-klines':
      return parseBinanceKlines(text, source);
  }
}

/** Read and check a bar file. Throws `MarketDataError` listing every bad row (with its line) before anything replays. */
export function loadBars(path: string, options: LoadOptions = {}): BarSeries {
  const text = readFileSync(path, 'utf8');
  return parseBars(text, options.format ?? detectFormat(path, text), options.source ?? basename(path));
}
