// One grid: the backtest's Grid accepts exactly the prices and quantities the matching engine
// accepts (it asks the engine's own check), and reads units back as the engine reports them.
import { describe, expect, it } from 'vitest';

import { Grid } from '../ts/backtest/grid';
import { MatchingEngine } from '../ts/engine';

describe('Grid and the engine agree', () => {
  it('on every value near the grid, for decimal and non-decimal steps', () => {
    for (const [tick, base] of [
      [0.1, 16_727.3],
      [0.01, 100.25],
      [0.5, 10.5],
      [0.25, 1.75],
      [1e-8, 0.00012345],
    ] as const) {
      const grid = new Grid(tick, 'price');
      const engine = new MatchingEngine({ capacity: 64 });
      const symbol = engine.addSymbol({ tickSize: tick, lotSize: 1 });
      for (const value of [base, base + tick * 1e-10, base + tick * 1e-8, base + tick / 2, base - tick * 1e-12, 0, -tick, Number.NaN, Number.POSITIVE_INFINITY]) {
        let engineTicks = Number.NaN;
        try {
          const order = engine.submit({ symbol, side: 'Buy', price: value, quantity: 1, postOnly: true });
          engineTicks = Math.round(order.fills.length === 0 ? value / tick : Number.NaN);
          engine.cancel(order.orderId);
        } catch {
          // off the grid for the engine
        }
        expect(grid.units(value), `${value} on ${tick}`).toBe(engineTicks);
      }
      const resting = engine.submit({ symbol, side: 'Buy', price: base, quantity: 1 });
      expect(engine.order(resting.orderId)?.price).toBe(grid.value(grid.units(base)));
      engine.destroy();
    }
  });
});
