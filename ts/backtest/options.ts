// Options of the backtest venue and the checks and defaults the backend applies to them once, at
// construction.
import type { LiquidityOptions } from './liquidity';
import type { MarketSeries } from './series';

/** When a resting agent limit counts as traded: at its price (`touch`, default) or only beyond it (`through`). */
export type FillRule = 'touch' | 'through';

export interface BacktestFees {
  /** Fee on fills where the agent's order rested (bps of notional, default 2). */
  makerBps?: number;
  /** Fee on fills where the agent's order took liquidity (bps of notional, default 5). */
  takerBps?: number;
}

export interface BacktestBackendOptions {
  /** The symbol the data is for, e.g. "BTC-USDT". */
  symbol: string;
  /** Bars (`loadBars`) or trade prints (`loadTrades`). */
  data: MarketSeries;
  /** Starting quote-currency cash (default 1,000,000). */
  cash?: number;
  /** Default: the part of `symbol` after '-' or '/'. */
  quoteAsset?: string;
  /** Price grid; default 10^-(most decimals among the data's prices). Agent prices must be on it. */
  tickSize?: number;
  /** Quantity grid; default 10^-(most decimals among the data's volumes/amounts). Agent quantities must be on it. */
  lotSize?: number;
  fees?: BacktestFees;
  liquidity?: LiquidityOptions;
  fillRule?: FillRule;
  /** Let sells take the position below zero (default true). With false, a sell needs the position to cover it. */
  allowShort?: boolean;
  /** Engine capacity in resting orders (agent + seeded), default 65,536. */
  capacity?: number;
}

/** The quote asset a symbol names: the part after '-' or '/', else USD. */
export function quoteOf(symbol: string): string {
  const parts = symbol.split(/[-/]/);
  return parts.length > 1 ? (parts[parts.length - 1] as string) : 'USD';
}

/** The base asset a symbol names: the part before '-' or '/'. */
export function baseOf(symbol: string): string {
  return symbol.split(/[-/]/)[0] ?? symbol;
}

/** `value` when finite and >= 0; a RangeError naming `name` otherwise. */
export function nonNegative(value: number, name: string): number {
  if (!(Number.isFinite(value) && value >= 0)) throw new RangeError(`${name} must be finite and >= 0, got ${value}`);
  return value;
}
