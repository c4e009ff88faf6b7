// Cash and positions of a backtest account. Positions are counted in whole lots (exact), cash in
// quote currency. Every fill moves cash by -signed quantity x price - fee, so cash + position value
// at the fill price changes by exactly -fee: equity moves only with prices and fees.
import type { Side } from '../types';
import type { Grid } from './grid';

export interface PositionState {
  readonly symbol: string;
  readonly lotGrid: Grid;
  /** Signed position in lots: long > 0, short < 0. */
  lots: number;
  /** Average entry price of the open position, 0 when flat. */
  averagePrice: number;
  /** PnL realized on this symbol (before fees). */
  realizedPnl: number;
  /** Fees paid on this symbol. */
  fees: number;
}

export interface FillEffect {
  quantity: number;
  fee: number;
  /** PnL this fill realized (before its fee). */
  realized: number;
}

export class BacktestPortfolio {
  cash: number;
  readonly initialCash: number;
  private readonly positions = new Map<string, PositionState>();

  constructor(
    initialCash: number,
    readonly quoteAsset: string,
  ) {
    if (!(Number.isFinite(initialCash) && initialCash >= 0)) throw new RangeError(`cash must be finite and >= 0, got ${initialCash}`);
    this.cash = initialCash;
    this.initialCash = initialCash;
  }

  /** The position record for a symbol (created flat on first use). */
  position(symbol: string, lotGrid: Grid): PositionState {
    let state = this.positions.get(symbol);
    if (state === undefined) {
      state = { symbol, lotGrid, lots: 0, averagePrice: 0, realizedPnl: 0, fees: 0 };
      this.positions.set(symbol, state);
    }
    return state;
  }

  states(): IterableIterator<PositionState> {
    return this.positions.values();
  }

  /** Book one fill: position, average entry, realized PnL, cash and fee. */
  applyFill(state: PositionState, side: Side, price: number, lots: number, feeBps: number): FillEffect {
    const quantity = state.lotGrid.value(lots);
    const signedLots = side === 'Buy' ? lots : -lots;
    const held = state.lots;
    const next = held + signedLots;
    let realized = 0;
    if (held === 0 || Math.sign(held) === Math.sign(signedLots)) {
      state.averagePrice = (state.averagePrice * Math.abs(held) + price * lots) / Math.abs(next);
    } else {
      const closedLots = Math.min(Math.abs(held), lots);
      realized = (price - state.averagePrice) * state.lotGrid.value(closedLots) * Math.sign(held);
      if (next === 0) state.averagePrice = 0;
      else if (Math.sign(next) !== Math.sign(held)) state.averagePrice = price; // flipped: the rest opened at this price
    }
    state.lots = next;
    state.realizedPnl += realized;
    const fee = (price * quantity * feeBps) / 10_000;
    state.fees += fee;
    this.cash -= (side === 'Buy' ? quantity : -quantity) * price + fee;
    return { quantity, fee, realized };
  }

  /** Cash plus every position marked at `mark(symbol)` (its average price when no mark is known). */
  equity(mark: (symbol: string) => number | null): number {
    let equity = this.cash;
    for (const state of this.positions.values()) {
      if (state.lots === 0) continue;
      equity += state.lotGrid.value(state.lots) * (mark(state.symbol) ?? state.averagePrice);
    }
    return equity;
  }

  realizedPnl(): number {
    let total = 0;
    for (const state of this.positions.values()) total += state.realizedPnl;
    return total;
  }

  fees(): number {
    let total = 0;
    for (const state of this.positions.values()) total += state.fees;
    return total;
  }

  unrealizedPnl(mark: (symbol: string) => number | null): number {
    let total = 0;
    for (const state of this.positions.values()) {
      if (state.lots === 0) continue;
      total += (((mark(state.symbol) ?? state.averagePrice) - state.averagePrice) * state.lotGrid.value(state.lots));
    }
    return total;
  }
}
