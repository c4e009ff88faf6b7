// An agent order as the backtest venue tracks it, and its id: `bt-<n>` for the run's n-th order.
// Invariants: ids are minted from 1 in placing order; only the exact spelling parses back (no sign,
// no leading zeros, no spaces), so no other string names an order.
import type { AckStatus, OrderType, Side } from '../types';

const ORDER_ID_PREFIX = 'bt-';

export interface AgentOrder {
  readonly orderId: string;
  readonly engineId: number;
  readonly clientOrderId: string;
  readonly side: Side;
  readonly orderType: OrderType;
  /** Limit price in ticks (0: market), as the engine has it. */
  priceTicks: number;
  /** `priceTicks` as the price grid's float (0: market), for acks, events and funds. */
  price: number;
  quantityLots: number;
  filledLots: number;
  filledValue: number;
  /** In the engine book now. */
  resting: boolean;
  status: AckStatus;
}

/** The id of the run's `number`-th order (1-based). */
export function agentOrderId(number: number): string {
  return `${ORDER_ID_PREFIX}${number}`;
}

/** n for an id spelled exactly `bt-<n>` (n >= 1, no sign, no leading zeros); 0 for any other string. */
export function agentOrderNumber(orderId: string): number {
  if (!orderId.startsWith(ORDER_ID_PREFIX)) return 0;
  const digits = orderId.slice(ORDER_ID_PREFIX.length);
  const number = Number(digits);
  return Number.isSafeInteger(number) && number >= 1 && String(number) === digits ? number : 0;
}
