// Reporting for the backtest venue: the fill record, the run summary, and the pure sums over them
// (drawdown of the equity curve, PnL realized since a time) that the backend's views compute.
import type { Side } from '../types';

/** One execution of an agent order. */
export interface BacktestFill {
  /** Engine fill sequence number (global, increasing). */
  seq: number;
  /** Replay step (bar or print index) during which it happened. */
  step: number;
  timestampMs: number;
  orderId: string;
  clientOrderId: string;
  symbol: string;
  side: Side;
  price: number;
  quantity: number;
  liquidity: 'maker' | 'taker';
  fee: number;
  /** PnL this fill realized (before its fee). */
  realizedPnl: number;
  /** Account state right after the fill. */
  cashAfter: number;
  positionAfter: number;
}

/** Summary of a replay so far. */
export interface BacktestResult {
  symbol: string;
  /** Steps replayed (bars or prints). */
  steps: number;
  startMs: number;
  endMs: number;
  initialCash: number;
  cash: number;
  /** Signed position at the end. */
  position: number;
  averagePrice: number;
  /** Last close / trade price. */
  lastPrice: number | null;
  realizedPnl: number;
  unrealizedPnl: number;
  fees: number;
  finalEquity: number;
  /** finalEquity - initialCash (= realized + unrealized - fees). */
  netPnl: number;
  /** Largest peak-to-trough fall of the equity curve, in quote currency. */
  maxDrawdown: number;
  /** Equity after each replayed step (cash + position at that step's price, after the agent's orders). */
  equity: Float64Array;
  fills: readonly BacktestFill[];
  /** Orders the backend accepted. */
  orders: number;
}

/** Largest peak-to-trough fall over `equity[0..steps)`, in quote currency. */
export function maxDrawdown(equity: Float64Array, steps: number): number {
  let peak = Number.NEGATIVE_INFINITY;
  let drawdown = 0;
  for (let i = 0; i < steps; i++) {
    const e = equity[i] as number;
    if (e > peak) peak = e;
    else if (peak - e > drawdown) drawdown = peak - e;
  }
  return drawdown;
}

/** PnL realized (before fees) by the fills at or after `sinceMs`; `fills` are in time order. */
export function realizedSince(fills: readonly BacktestFill[], sinceMs: number): number {
  let realized = 0;
  for (let i = fills.length - 1; i >= 0; i--) {
    const fill = fills[i] as BacktestFill;
    if (fill.timestampMs < sinceMs) break;
    realized += fill.realizedPnl;
  }
  return realized;
}
