// The observation's `last_results` and bars are written by hand (the bars natively, once per run);
// they must be exactly what JSON.stringify would give, whatever the model named its tool, whatever
// the result holds, whatever the numbers are.
import { describe, expect, it } from 'vitest';

import { AgentLoop, lastResultsJson } from '../ts/agent/loop';
import { BacktestTradingBackend } from '../ts/backtest/backend';
import { loadBars } from '../ts/backtest/load-bars';
import { loadTrades } from '../ts/backtest/load-trades';
import type { MarketSeries } from '../ts/backtest/series';
import { ScriptedProvider } from '../ts/llm/scripted-provider';
import { generateBars } from '../ts/market-data-generator';
import { native } from '../ts/native/index';
import { createTradingTools, silentLogger } from '../ts/index';
import { sharedDataFile } from '../bench/shared-data';

describe('observation last_results', () => {
  it('equals JSON.stringify for hostile tool names and contents', () => {
    const cases = [
      [],
      [{ tool: 'place_order', ok: true, content: '{"order_id":"bt-1","status":"Filled"}' }],
      [
        { tool: 'no"such\\tool\n', ok: false, content: '{"error_type":"InvalidArguments","message":"Arguments: unknown tool \'x\'"}' },
        { tool: 'query_portfolio', ok: true, content: 'ünïcödé € 😀 \u2028 \u0000 \uD800' },
      ],
    ];
    for (const results of cases) {
      const json = lastResultsJson(results);
      expect(json).toBe(JSON.stringify(results));
      expect(JSON.parse(json)).toEqual(results);
    }
  });
});

describe('observation bars', () => {
  const rowsOf = (data: MarketSeries, start: number, end: number): number[][] =>
    Array.from({ length: end - start }, (_, k) => {
      const i = start + k;
      return data.kind === 'bars'
        ? [data.timestamp[i], data.open[i], data.high[i], data.low[i], data.close[i], data.volume[i]].map(Number)
        : [data.timestamp[i], data.price[i], data.price[i], data.price[i], data.price[i], data.amount[i]].map(Number);
    });

  it('every window is exactly JSON.stringify of its rows, for real bars, real trades and generated bars', async () => {
    const series: MarketSeries[] = [loadBars(sharedDataFile('btc-usdt-5m.csv')), loadTrades(sharedDataFile('eth-usdt-trades.csv')), generateBars({ seed: 3, bars: 2_000 })];
    for (const data of series) {
      const backend = new BacktestTradingBackend({ symbol: data.kind === 'trades' ? 'ETH-USDT' : 'BTC-USDT', data });
      const tools = createTradingTools({ backend, mode: 'DryRun', logger: silentLogger });
      const loop = new AgentLoop({ provider: new ScriptedProvider(), tools, historyBars: 30 });
      const checkAt = new Set([0, 1, 29, 30, 31, Math.floor(data.length / 2), data.length - 1]);
      for (let step = 0; backend.advance(); step++) {
        if (!checkAt.has(step)) continue;
        const text = loop.observationJson(backend);
        const rows = rowsOf(data, Math.max(0, step + 1 - 30), step + 1);
        expect(text, `${data.source} step ${step}`).toContain(`"bars":${JSON.stringify(rows)},`);
        expect((JSON.parse(text) as { bars: number[][] }).bars).toEqual(rows);
      }
      tools.close();
      backend.destroy();
    }
  });

  it('rowsJson prints what JSON.stringify prints, and names what is wrong with its arguments', () => {
    const a = new Float64Array([0, -0, 1e21, 1e-7, 0.000001, 123.456, Number.NaN, Number.POSITIVE_INFINITY]);
    const b = new Float64Array([1, 2, 3, 4, 5, 6, 7, 8]).subarray(0, 8);
    const starts = new Float64Array(9);
    const rows = Array.from(a, (x, i) => `${JSON.stringify([x, b[i]])},`);
    expect(native.rowsJson([a, b], starts)).toBe(rows.join(''));
    let at = 0;
    const expectedStarts = rows.map((row) => (at += row.length) - row.length);
    expect(Array.from(starts)).toEqual([...expectedStarts, at]);
    expect(() => native.rowsJson([a], new Float64Array(0))).toThrow(/starts must have room for rows \+ 1 numbers/);
    expect(() => native.rowsJson([], new Float64Array(3))).toThrow(/columns must not be empty/);
    expect(() => native.rowsJson([a, new Float64Array(2)], starts)).toThrow(/columns\[1\] has 2 rows, starts asks for 8/);
  });
});
