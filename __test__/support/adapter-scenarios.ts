// What every framework adapter spec drives through its framework: the model's arguments in strict
// form (every field present, unused ones null), and the guard's own answers to compare with.
import { createTradingTools, MockTradingBackend, silentLogger, ToolError, type ToolErrorJson, type TradingTools } from '../../ts/index';
import { T0 } from '../harness';

/** place_order arguments as a strict-mode model writes them. */
export function placeArgs(fields: { symbol: string; side: string; quantity: number | string; price: number | null; confirm_token?: string | null }): string {
  return JSON.stringify({
    symbol: fields.symbol,
    side: fields.side,
    quantity: fields.quantity,
    order_type: fields.price === null ? 'Market' : 'Limit',
    price: fields.price,
    stop_loss: null,
    take_profit: null,
    time_in_force: null,
    confirm_token: fields.confirm_token ?? null,
    client_order_id: null,
  });
}

/** Refused by the risk limits: DOGE is not an allowed symbol. */
export const REFUSED_ORDER = placeArgs({ symbol: 'DOGE-USDT', side: 'Buy', quantity: 100, price: 0.1 });
/** Malformed: wrong enum case and a number written as a string. */
export const MALFORMED_ORDER = placeArgs({ symbol: 'BTC-USDT', side: 'buy', quantity: '1', price: 19_000 });
/** Within every limit. */
export const GOOD_ORDER = placeArgs({ symbol: 'BTC-USDT', side: 'Buy', quantity: 0.1, price: 20_000 });

export interface Venue {
  backend: MockTradingBackend;
  tools: TradingTools;
}

/** Guarded tools over the in-memory venue (BTC at 20,000), only BTC-USDT and ETH-USDT allowed. */
export function venue(mode: 'DryRun' | 'TwoPhase' | 'Direct'): Venue {
  const backend = new MockTradingBackend({ referencePrices: { 'BTC-USDT': 20_000, 'ETH-USDT': 1_500 }, now: () => T0 });
  const tools = createTradingTools({
    backend,
    mode,
    clockStartMs: T0,
    logger: silentLogger,
    risk: { allowedSymbols: ['BTC-USDT', 'ETH-USDT'], maxOrderNotional: 50_000, maxPositionAbs: 10 },
  });
  return { backend, tools };
}

/** The ToolError JSON the guard itself gives for these place_order arguments (checked on a separate DryRun guard). */
export async function guardRefusal(args: string): Promise<ToolErrorJson> {
  const { tools } = venue('DryRun');
  try {
    const result = await tools.placeOrder.execute(args);
    throw new Error(`expected a refusal, got ${result}`);
  } catch (error) {
    if (error instanceof ToolError) return error.toJSON();
    throw error;
  } finally {
    tools.close();
  }
}
