// Fill accounting: positions in whole lots, average entry, realized PnL, fees, and the invariant
// that a fill changes cash + position value (at the fill price) by exactly its fee.
import { describe, expect, it } from 'vitest';

import { Grid } from '../ts/backtest/grid';
import { BacktestPortfolio } from '../ts/backtest/portfolio';

const lots = Grid.decimal(3, 'quantity');

describe('BacktestPortfolio', () => {
  it('opens, adds, reduces, flips and closes with the usual average-entry rules', () => {
    const p = new BacktestPortfolio(100_000, 'USDT');
    const btc = p.position('BTC-USDT', lots);
    p.applyFill(btc, 'Buy', 100, 1000, 0); // +1 @100
    p.applyFill(btc, 'Buy', 110, 1000, 0); // +1 @110 -> 2 @105
    expect([btc.lots, btc.averagePrice]).toEqual([2000, 105]);
    const reduce = p.applyFill(btc, 'Sell', 120, 500, 0); // -0.5 @120: realize 7.5
    expect(reduce.realized).toBeCloseTo(7.5, 10);
    expect([btc.lots, btc.averagePrice]).toEqual([1500, 105]);
    const flip = p.applyFill(btc, 'Sell', 100, 2500, 0); // close 1.5 @100 (-7.5), open short 1 @100
    expect(flip.realized).toBeCloseTo(-7.5, 10);
    expect([btc.lots, btc.averagePrice]).toEqual([-1000, 100]);
    const cover = p.applyFill(btc, 'Buy', 90, 1000, 0); // short profit 10
    expect(cover.realized).toBeCloseTo(10, 10);
    expect([btc.lots, btc.averagePrice]).toEqual([0, 0]);
    expect(p.realizedPnl()).toBeCloseTo(10, 10);
    expect(p.cash).toBeCloseTo(100_010, 9);
  });

  it('charges fees in bps of the notional, from cash', () => {
    const p = new BacktestPortfolio(10_000, 'USDT');
    const btc = p.position('BTC-USDT', lots);
    const fill = p.applyFill(btc, 'Buy', 20_000, 250, 5); // 0.25 BTC, 5 bps
    expect(fill.quantity).toBe(0.25);
    expect(fill.fee).toBeCloseTo(2.5, 12);
    expect(p.cash).toBeCloseTo(10_000 - 5_000 - 2.5, 9);
    expect(p.fees()).toBeCloseTo(2.5, 12);
  });

  it('every fill conserves cash + position value up to its fee; equity = cash0 + realized + unrealized - fees', () => {
    let seed = 42;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const p = new BacktestPortfolio(1_000_000, 'USDT');
    const btc = p.position('BTC-USDT', lots);
    let price = 20_000;
    for (let i = 0; i < 5_000; i++) {
      price = Math.round((price * (1 + (random() - 0.5) / 100)) * 10) / 10;
      const before = p.cash + lots.value(btc.lots) * price;
      const side = random() < 0.5 ? 'Buy' : 'Sell';
      const fill = p.applyFill(btc, side, price, 1 + Math.floor(random() * 3000), random() < 0.5 ? 2 : 5);
      const after = p.cash + lots.value(btc.lots) * price;
      expect(after - before).toBeCloseTo(-fill.fee, 6);
      const mark = () => price;
      expect(p.equity(mark)).toBeCloseTo(1_000_000 + p.realizedPnl() + p.unrealizedPnl(mark) - p.fees(), 5);
    }
  });
});

describe('Grid', () => {
  it('checks values like the engine and returns canonical floats', () => {
    const tick = Grid.decimal(1, 'price');
    expect(tick.units(16727.3)).toBe(167_273);
    expect(tick.units(16727.35)).toBeNaN();
    expect(tick.units(0)).toBeNaN();
    expect(tick.units(-1)).toBeNaN();
    expect(tick.value(167_273)).toBe(16727.3);
    const half = new Grid(0.5, 'price');
    expect([half.units(10.5), half.units(10.25)]).toEqual([21, Number.NaN]);
  });
});
