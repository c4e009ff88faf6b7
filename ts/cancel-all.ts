// The kill switch's second half (`tools.cancelAll`, after it has HALTED the tools): every open order
// of the account, as the backend lists it, cancelled on the backend directly.
//
// - Not a tool call: no gate, no daily cancel limit, no order-rate throttle applies (a kill switch
//   must work when those are exhausted), and no `trading_orders_total` series moves. Each backend
//   call still has the tools' deadline. An operator's action: it cancels at the venue in every
//   safety mode, DryRun included.
// - One listing (`getOpenOrders()` of every symbol), then one `cancelOrder` per order, at most
//   `CANCEL_CONCURRENCY` at a time. A cancel that fails (an order that filled meanwhile, a venue
//   error, a timeout) is reported in `failed` with its scrubbed message and never thrown; a listing
//   that fails rejects (nothing is known to cancel), the tools staying HALTED.
import { parseOpenOrders, parseOrderAck } from './backend-answers';
import type { CancelAllResult } from './trading-state';
import type { OpenOrder, TradingBackend } from './types';

/** Cancels in flight at once: fast for a few hundred orders, gentle with a venue's rate limits. */
export const CANCEL_CONCURRENCY = 8;

export interface CancelAllContext {
  backend: TradingBackend;
  /** A backend call raced against the tools' deadline. */
  withDeadline<T>(work: Promise<T>): Promise<T>;
  /** Told about each order the venue confirmed cancelled (the guard forgets it); must not throw. */
  onCancelled(order: OpenOrder): void;
  /** A failure as text safe for logs and callers (secrets removed). */
  describe(error: unknown): string;
}

export async function cancelEveryOpenOrder(context: CancelAllContext): Promise<CancelAllResult> {
  const { backend } = context;
  const orders = parseOpenOrders(await context.withDeadline(backend.getOpenOrders()), backend.name);
  // Results by listing position, so the report keeps the venue's order whatever finishes first.
  const outcomes: Array<{ ok: true } | { ok: false; error: string }> = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < orders.length; i = next++) {
      const order = orders[i] as OpenOrder;
      let status: string;
      try {
        status = parseOrderAck(await context.withDeadline(backend.cancelOrder(order.orderId)), backend.name).status;
      } catch (error) {
        outcomes[i] = { ok: false, error: context.describe(error) };
        continue;
      }
      if (status !== 'Cancelled') {
        outcomes[i] = { ok: false, error: `${backend.name} answered the cancel of order ${order.orderId} with status ${status}` };
        continue;
      }
      outcomes[i] = { ok: true };
      context.onCancelled(order);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CANCEL_CONCURRENCY, orders.length) }, worker));
  const result: CancelAllResult = { cancelled: [], failed: [] };
  orders.forEach((order, i) => {
    const outcome = outcomes[i];
    if (outcome?.ok === true) result.cancelled.push(order.orderId);
    else result.failed.push({ orderId: order.orderId, error: outcome?.error ?? 'not attempted' });
  });
  return result;
}
