// Shared setup for the specs: real tools over the real in-memory venue, a manual clock and a
// captured JSON-line log.
import {
  createTradingTools,
  jsonLineLogger,
  MockTradingBackend,
  ToolError,
  TradingMetrics,
  type Tool,
  type TradingBackend,
  type TradingToolsOptions,
} from '../ts/index';

/** 2023-01-02 16:45 UTC, the first bar of the real BTC data set. */
export const T0 = 1_672_677_900_000;
export const DAY_MS = 86_400_000;

export function setup<B extends TradingBackend = MockTradingBackend>(
  options: Partial<TradingToolsOptions> & { backend?: B } = {},
  prices: Record<string, number> = { 'BTC-USDT': 20_000, 'ETH-USDT': 1_500 },
) {
  const backend = options.backend ?? (new MockTradingBackend({ referencePrices: prices, now: () => T0 }) as unknown as B);
  const metrics = options.metrics ?? new TradingMetrics();
  const lines: string[] = [];
  const logger = jsonLineLogger({ level: 'trace', write: (line) => lines.push(line) });
  const tools = createTradingTools({ clockStartMs: T0, logger, ...options, backend, metrics });
  return { backend, metrics, tools, lines };
}

export async function rejection(tool: Tool, args: string): Promise<ToolError> {
  try {
    const result = await tool.execute(args);
    throw new Error(`expected a ToolError, got ${result}`);
  } catch (error) {
    if (error instanceof ToolError) return error;
    throw error;
  }
}

export async function ack(tool: Tool, args: string): Promise<Record<string, unknown>> {
  return JSON.parse(await tool.execute(args)) as Record<string, unknown>;
}

export const limit = (symbol: string, side: 'Buy' | 'Sell', quantity: number, price: number, extra = ''): string =>
  `{"symbol":"${symbol}","side":"${side}","quantity":${quantity},"price":${price}${extra}}`;

export const market = (symbol: string, side: 'Buy' | 'Sell', quantity: number): string =>
  `{"symbol":"${symbol}","side":"${side}","quantity":${quantity},"order_type":"Market"}`;

export const RUNBOOK_RISK = { allowedSymbols: ['BTC-USDT', 'ETH-USDT'], maxOrderNotional: 50_000, maxDailyOrders: 100, maxPositionAbs: 10 };
