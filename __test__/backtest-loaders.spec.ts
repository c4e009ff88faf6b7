// Market-data loaders on the real files: every format parses into typed columns, and every kind
// of bad row is reported with its file and line before anything can replay.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { barSeriesFromColumns, loadBars, loadTrades, MarketDataError, parseBarsCsv, type BarSeries } from '../ts/index';
import { sharedDataFile } from '../bench/shared-data';

const DATA = dirname(sharedDataFile('btc-usdt-5m.csv'));
const BTC = join(DATA, 'btc-usdt-5m.csv');
const btcText = readFileSync(BTC, 'utf8');
const btcLines = btcText.trimEnd().split('\n');
const dir = mkdtempSync(join(tmpdir(), 'axon-backtest-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** Real rows 1..n as [ts, o, h, l, c, v] strings. */
function realRows(n: number): string[][] {
  return btcLines.slice(1, n + 1).map((line) => line.split(','));
}

function dataError(load: () => unknown): MarketDataError {
  try {
    load();
  } catch (error) {
    if (error instanceof MarketDataError) return error;
    throw error;
  }
  throw new Error('expected a MarketDataError');
}

function expectSameBars(a: BarSeries, b: BarSeries): void {
  expect(a.length).toBe(b.length);
  for (const key of ['timestamp', 'open', 'high', 'low', 'close', 'volume'] as const) expect(Array.from(a[key])).toEqual(Array.from(b[key]));
  expect([a.priceDecimals, a.quantityDecimals]).toEqual([b.priceDecimals, b.quantityDecimals]);
}

describe('loaders parse the real data', () => {
  it('btc-usdt-5m.csv: 10,999 bars in Float64Array columns', () => {
    const bars = loadBars(BTC);
    expect(bars.kind).toBe('bars');
    expect(bars.source).toBe('btc-usdt-5m.csv');
    expect(bars.length).toBe(10_999);
    for (const key of ['timestamp', 'open', 'high', 'low', 'close', 'volume'] as const) {
      expect(bars[key]).toBeInstanceOf(Float64Array);
      expect(bars[key].length).toBe(10_999);
    }
    expect([bars.timestamp[0], bars.open[0], bars.high[0], bars.low[0], bars.close[0], bars.volume[0]]).toEqual([
      1_672_677_900_000, 16727.3, 16728.8, 16726.0, 16726.1, 691.508,
    ]);
    const last = (btcLines[btcLines.length - 1] as string).split(',').map(Number);
    expect(bars.timestamp[10_998]).toBe(last[0]);
    expect(bars.close[10_998]).toBe(last[4]);
    expect([bars.priceDecimals, bars.quantityDecimals]).toEqual([1, 3]);
  });

  it('xrp-usdt-1h.csv parses with its own decimals', () => {
    const bars = loadBars(join(DATA, 'xrp-usdt-1h.csv'));
    expect(bars.length).toBe(100);
    expect(bars.priceDecimals).toBe(5);
    expect(bars.quantityDecimals).toBe(6);
  });

  it('ccxt JSON [[ts,o,h,l,c,v],...] gives the same columns as the CSV rows it came from', () => {
    const rows = realRows(300);
    const json = `[\n${rows.map((r) => `  [${r.join(', ')}]`).join(',\n')}\n]\n`;
    const fromJson = loadBars(write('btc.json', json));
    expect(fromJson.source).toBe('btc.json');
    expectSameBars(fromJson, parseBarsCsv(btcLines.slice(0, 301).join('\n'), 'x.csv'));
    // Compact, one-line JSON too (format detected from content).
    expectSameBars(loadBars(write('btc-compact.txt', JSON.stringify(rows.map((r) => r.map(Number))))), fromJson);
  });

  it('Binance kline CSV (12 columns, no header; microsecond times converted)', () => {
    const rows = realRows(300);
    const kline = (r: string[], scale: number) => {
      const ts = Number(r[0]);
      const [o, h, l, c, v] = r.slice(1) as [string, string, string, string, string];
      return [ts * scale, o, h, l, c, v, (ts + 299_999) * scale, (Number(v) * Number(c)).toFixed(4), 1234, (Number(v) / 2).toFixed(3), '0', '0'].join(',');
    };
    const expected = parseBarsCsv(btcLines.slice(0, 301).join('\n'), 'x.csv');
    const ms = loadBars(write('BTCUSDT-5m-2023-01.csv', rows.map((r) => kline(r, 1)).join('\n')));
    expectSameBars(ms, expected);
    const us = loadBars(write('BTCUSDT-5m-2025-01.csv', rows.map((r) => kline(r, 1000)).join('\r\n')), { format: 'binance-klines' });
    expectSameBars(us, expected);
  });

  it('trade prints: eth-usdt-trades.csv and xrp-eth-trades.csv', () => {
    const eth = loadTrades(join(DATA, 'eth-usdt-trades.csv'));
    expect(eth.kind).toBe('trades');
    expect(eth.length).toBe(1000);
    expect([eth.timestamp[0], eth.id[0], eth.side[0], eth.price[0], eth.amount[0]]).toEqual([1_675_329_600_138, 1_206_419_187, 0, 1666.8, 26.062]);
    expect(eth.side[1]).toBe(1);
    expect(eth.price).toBeInstanceOf(Float64Array);
    expect([eth.priceDecimals, eth.quantityDecimals]).toEqual([2, 3]);
    const xrp = loadTrades(join(DATA, 'xrp-eth-trades.csv'));
    expect(xrp.length).toBe(12_477);
    expect(xrp.priceDecimals).toBe(8);
  });
});

describe('bad rows are reported with their line, and nothing loads', () => {
  /** The real CSV with line `line` (1-based, header = 1) replaced. */
  function withLine(line: number, replace: (fields: string[]) => string[]): string {
    const lines = [...btcLines];
    lines[line - 1] = replace((lines[line - 1] as string).split(',')).join(',');
    return `${lines.join('\n')}\n`;
  }

  const cases: [string, number, (f: string[]) => string[], RegExp][] = [
    ['unsorted timestamps', 123, (f) => [String(Number(f[0]) - 600_000), ...f.slice(1)], /^bad\.csv:123: timestamp \d+ is not after the previous row's \d+ \(line 122\)/],
    ['duplicate timestamp', 50, () => (btcLines[48] as string).split(','), /^bad\.csv:50: timestamp \d+ is not after/],
    ['high < low', 123, (f) => [f[0], '100', '100', '101', '100', f[5]] as string[], /^bad\.csv:123: high 100 < low 101$/m],
    ['open above high', 200, (f) => [f[0], '99999', ...f.slice(2)] as string[], /^bad\.csv:200: open 99999 outside \[low [\d.]+, high [\d.]+\]$/m],
    ['close below low', 201, (f) => [f[0], f[1], f[2], f[3], '1', f[5]] as string[], /^bad\.csv:201: close 1 outside \[low [\d.]+, high [\d.]+\]$/m],
    ['NaN', 300, (f) => [f[0], f[1], 'NaN', ...f.slice(3)] as string[], /^bad\.csv:300: high is not a number: 'NaN'$/m],
    ['not a number', 301, (f) => [f[0], f[1], f[2], 'abc', ...f.slice(4)] as string[], /^bad\.csv:301: low is not a number: 'abc'$/m],
    ['empty field', 302, (f) => [f[0], f[1], f[2], f[3], '', f[5]] as string[], /^bad\.csv:302: close is missing$/m],
    ['missing columns', 400, (f) => f.slice(0, 4), /^bad\.csv:400: missing columns: expected 6 fields \(timestamp,open,high,low,close,volume\), got 4$/m],
    ['negative volume', 10_999, (f) => [...f.slice(0, 5), '-5'], /^bad\.csv:10999: negative volume -5$/m],
  ];
  for (const [kind, line, replace, message] of cases) {
    it(`CSV: ${kind}`, () => {
      const error = dataError(() => loadBars(write('bad.csv', withLine(line, replace))));
      expect(error.message).toMatch(message);
      expect(error.issues[0]?.line).toBe(line);
      expect(error.issues[0]?.source).toBe('bad.csv');
    });
  }

  it('every problem in a file is listed, not just the first', () => {
    let text = withLine(10, (f) => [f[0], f[1], '1', '2', f[4], f[5]] as string[]);
    const lines = text.split('\n');
    lines[20] = lines[20]?.replace(/,[^,]*$/, ',-1') ?? '';
    text = lines.join('\n');
    const error = dataError(() => parseBarsCsv(text, 'btc.csv'));
    expect(error.issues.map((i) => i.line)).toEqual([10, 21]);
    expect(error.message).toContain('btc.csv:10: high 1 < low 2');
    expect(error.message).toContain('btc.csv:21: negative volume -1');
  });

  it('a header without a required column is reported on line 1', () => {
    const error = dataError(() => parseBarsCsv('timestamp,open,high,low,close\n1,1,1,1,1\n', 'h.csv'));
    expect(error.message).toBe("h.csv:1: header lacks column 'volume' (expected timestamp,open,high,low,close,volume)");
  });

  it('ccxt JSON: bad rows reported with their line in the file', () => {
    const rows = realRows(20).map((r) => `  [${r.join(', ')}]`);
    rows[6] = rows[6]?.replace(/\[(\d+), ([\d.]+), ([\d.]+), ([\d.]+),/, '[$1, $2, 1, 2,') ?? '';
    rows[9] = '  [1672680600000, 1, 2]';
    rows[12] = rows[12]?.replace(/, [\d.]+\]$/, ', null]') ?? '';
    const error = dataError(() => loadBars(write('bad.json', `[\n${rows.join(',\n')}\n]`)));
    expect(error.message.split('\n')).toEqual([
      expect.stringMatching(/^bad\.json:8: high 1 < low 2$/),
      'bad.json:11: missing columns: expected 6 values [timestamp, open, high, low, close, volume], got 3',
      'bad.json:14: volume is not a number: \'null\'',
    ]);
    expect(dataError(() => loadBars(write('broken.json', '[\n[1,2,3,4,5,6],\n[1,2,\n')))).toBeInstanceOf(MarketDataError);
  });

  it('Binance klines: short rows and bad values with their line', () => {
    const rows = realRows(5).map((r) => [...r, '0', '0', '0', '0', '0', '0'].join(','));
    rows[2] = rows[2]?.split(',').slice(0, 7).join(',') ?? '';
    rows[3] = rows[3]?.replace(/^(\d+),([\d.]+),([\d.]+),/, '$1,$2,1,') ?? '';
    const error = dataError(() => loadBars(write('k.csv', rows.join('\n')), { format: 'binance-klines' }));
    expect(error.message).toMatch(/^k\.csv:3: missing columns: expected 12 fields \(Binance kline\), got 7\nk\.csv:4: high 1 < low [\d.]+$/);
  });

  it('trade prints: unsorted, bad side, non-positive price and amount', () => {
    const lines = readFileSync(join(DATA, 'eth-usdt-trades.csv'), 'utf8').trimEnd().split('\n');
    const f = (i: number) => (lines[i - 1] as string).split(',');
    const set = (i: number, fields: string[]) => {
      lines[i - 1] = fields.join(',');
    };
    set(5, [String(Number(f(4)[0]) - 1), ...f(5).slice(1)]);
    set(7, [f(7)[0], f(7)[1], 'hold', f(7)[3], f(7)[4]] as string[]);
    set(9, [f(9)[0], f(9)[1], f(9)[2], '0', f(9)[4]] as string[]);
    set(11, [f(11)[0], f(11)[1], f(11)[2], f(11)[3], '-1'] as string[]);
    set(13, f(13).slice(0, 3));
    const error = dataError(() => loadTrades(write('t.csv', lines.join('\n'))));
    expect(error.issues.map((i) => `${i.line}: ${i.message}`)).toEqual([
      expect.stringMatching(/^5: timestamp \d+ is before the previous row's \d+ \(line 4\): rows must be sorted$/),
      "7: side must be buy or sell, got 'hold'",
      '9: price 0 must be > 0',
      '11: negative amount -1',
      '13: missing columns: expected 5 fields (timestamp,id,side,price,amount), got 3',
    ]);
  });

  it('generated columns are checked the same way', () => {
    expect(() =>
      barSeriesFromColumns({ timestamp: [1, 2], open: [1, 1], high: [2, 1], low: [1, 3], close: [1, 1], volume: [0, 0], priceDecimals: 0, quantityDecimals: 0 }),
    ).toThrow('bars:2: high 1 < low 3');
  });
});
