// What the agent sees each step: recent bars, portfolio, open orders and the last tool results.
// Sent to the model as the JSON content of a user message.
import type { ObservationView } from '../llm/types';

export interface Observation {
  time_ms: number;
  symbol: string;
  /** Oldest first: [timestamp_ms, open, high, low, close, volume]. */
  bars: Array<[number, number, number, number, number, number]>;
  position: number;
  cash: number;
  equity: number;
  open_orders: Array<{ order_id: string; side: 'Buy' | 'Sell'; price: number; remaining: number }>;
  /** Outcomes of the previous step's tool calls, ToolError JSON included. */
  last_results: Array<{ tool: string; ok: boolean; content: string }>;
}

export function isObservation(value: unknown): value is Observation {
  if (typeof value !== 'object' || value === null) return false;
  const o = value as Partial<Observation>;
  return typeof o.time_ms === 'number' && typeof o.symbol === 'string' && Array.isArray(o.bars) && typeof o.position === 'number';
}

/** The numbers an in-process provider decides on. */
export function observationView(obs: Observation): ObservationView {
  return { symbol: obs.symbol, position: obs.position, openOrders: obs.open_orders.length, closes: obs.bars.map((bar) => bar[4]) };
}
