// The answers of the read tools that reach past the guard: `get_book_snapshot` and `get_pnl` ask
// the backend (its answer validated in ./backend-answers), `finish_bar` summarizes where the guard
// stands. The guard has already parsed their arguments and settles their tickets; nothing here
// changes anything at a venue.
import { parseOrderBook, parsePnlReport } from './backend-answers';
import { BackendError } from './errors';
import type { GuardState } from './native/index';
import type { BookSnapshotResult, FinishBarResult, PnlPositionResult, PnlResult } from './tool-types';
import type { SafetyModeName, TradingBackend } from './types';

/** The SEND actions that only read (everything but place, cancel, replace). */
export const READ_ACTIONS = ['query', 'book_snapshot', 'pnl', 'finish_bar'] as const;
export type ReadAction = (typeof READ_ACTIONS)[number];

export function isReadAction(action: string): action is ReadAction {
  return (READ_ACTIONS as readonly string[]).includes(action);
}

/** Money for a model to read: 12 significant digits, no float noise (`0.30000000000000004`). */
function tidy(value: number): number {
  return Number(value.toPrecision(12));
}

function unsupported(backend: TradingBackend, tool: string, method: string): BackendError {
  return new BackendError('other', `${tool} is not supported by the ${backend.name} backend (it has no ${method})`);
}

export async function bookSnapshotJson(backend: TradingBackend, symbol: string, levels: number): Promise<string> {
  if (backend.getOrderBook === undefined) throw unsupported(backend, 'get_book_snapshot', 'order book');
  const book = parseOrderBook(await backend.getOrderBook(symbol, levels), backend.name, symbol);
  const side = (list: typeof book.bids): BookSnapshotResult['bids'] => list.slice(0, levels).map((l) => ({ price: l.price, quantity: l.quantity }));
  const result: BookSnapshotResult = { symbol, bids: side(book.bids), asks: side(book.asks), as_of_ms: book.timestampMs };
  return JSON.stringify(result);
}

export async function pnlJson(backend: TradingBackend, symbol: string | undefined): Promise<string> {
  if (backend.getPnl === undefined) throw unsupported(backend, 'get_pnl', 'PnL report');
  const report = parsePnlReport(await backend.getPnl(), backend.name);
  const positions: PnlPositionResult[] = report.positions
    .filter((p) => p.quantity !== 0 && (symbol === undefined || p.symbol === symbol))
    .map((p) => {
      const { entryPrice: entry, markPrice: mark, quantity } = p;
      const valued = entry !== null && entry > 0 && mark !== null;
      return {
        symbol: p.symbol,
        quantity,
        entry_price: entry,
        mark_price: mark,
        unrealized_pnl: valued ? tidy((mark - entry) * quantity) : null,
        unrealized_pnl_pct: valued ? tidy(((mark - entry) / entry) * 100 * Math.sign(quantity)) : null,
      };
    });
  let total: number | null = 0;
  for (const p of positions) total = total === null || p.unrealized_pnl === null ? null : total + p.unrealized_pnl;
  let realized: number | null = null;
  if (report.realizedPnlToday !== null) {
    realized = 0;
    for (const [name, pnl] of Object.entries(report.realizedPnlToday)) if (symbol === undefined || name === symbol) realized += pnl;
  }
  const result: PnlResult = {
    positions,
    total_unrealized_pnl: total === null ? null : tidy(total),
    realized_pnl_today: realized === null ? null : tidy(realized),
    as_of_ms: report.timestampMs,
  };
  return JSON.stringify(result);
}

export function finishBarJson(note: string | undefined, mode: SafetyModeName, state: GuardState): string {
  const result: FinishBarResult = {
    finished: true,
    note: note ?? null,
    mode,
    orders_today: state.dailyOrders,
    cancels_today: state.dailyCancels,
    pending_confirms: state.pendingConfirms,
    breaker: state.breaker ?? null,
  };
  return JSON.stringify(result);
}
