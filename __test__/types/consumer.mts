// A TypeScript consumer of the published package. __test__/install.spec.ts copies it into a project
// that installed the tarballs, as consumer.mts (resolved through the `import` condition) and as
// consumer.cts (the `require` condition), and compiles both with `tsc --noEmit`.
import {
  createTradingTools,
  MockTradingBackend,
  ToolError,
  TradingMetrics,
  type BackendName,
  type GuardState,
  type MetricEvent,
  type MetricsSnapshot,
  type OrderAck,
  type OrderRequest,
  type Tool,
  type ToolErrorJson,
  type ToolName,
  type TradingBackend,
  type TradingTools,
  type TradingToolsOptions,
} from 'axon-llm';
import { MatchingEngine, type SubmitResult } from 'axon-llm/engine';

// expect-type style assertions: a mismatch is a compile error. Equal is exact (any equals nothing
// else); a type from an unresolved declaration passes it, which the spec's lib check catches.
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectTrue<T extends true>(): T | undefined {
  return undefined;
}

// Tools: names and argument types.
expectTrue<Equal<ToolName, 'place_order' | 'cancel_order' | 'replace_order' | 'query_portfolio' | 'get_book_snapshot' | 'get_pnl' | 'finish_bar'>>();
expectTrue<Equal<Tool['name'], ToolName>>();
expectTrue<Equal<Parameters<Tool['execute']>, [args: string]>>();
expectTrue<Equal<ReturnType<Tool['execute']>, Promise<string>>>();
expectTrue<
  Equal<
    TradingTools['tools'],
    readonly [
      Tool<'place_order'>,
      Tool<'cancel_order'>,
      Tool<'replace_order'>,
      Tool<'query_portfolio'>,
      Tool<'get_book_snapshot'>,
      Tool<'get_pnl'>,
      Tool<'finish_bar'>,
    ]
  >
>();
expectTrue<Equal<Parameters<typeof createTradingTools>, [options: TradingToolsOptions]>>();
expectTrue<Equal<TradingToolsOptions['backend'], TradingBackend>>();
expectTrue<Equal<TradingToolsOptions['mode'], 'DryRun' | 'TwoPhase' | 'Direct' | undefined>>();

// ToolError: the SPEC §2 fields and their JSON form.
expectTrue<ToolError extends Error ? true : false>();
expectTrue<Equal<ToolError['error_type'], 'InvalidArguments' | 'ExecutionFailed'>>();
expectTrue<Equal<ToolError['source'], 'Arguments' | 'SafetyMode' | 'RiskLimits' | 'RiskGate' | 'Backend'>>();
expectTrue<Equal<ToolError['code'], string>>();
expectTrue<Equal<ToolError['message'], string>>();
expectTrue<Equal<ReturnType<ToolError['toJSON']>, ToolErrorJson>>();
expectTrue<Equal<keyof ToolErrorJson, 'error_type' | 'source' | 'code' | 'message'>>();

// Backends.
expectTrue<MockTradingBackend extends TradingBackend ? true : false>();
expectTrue<Equal<TradingBackend['name'], BackendName>>();
expectTrue<Equal<Parameters<TradingBackend['placeOrder']>, [request: OrderRequest]>>();
expectTrue<Equal<ReturnType<TradingBackend['placeOrder']>, Promise<OrderAck>>>();
expectTrue<Equal<OrderAck['side'], 'Buy' | 'Sell'>>();

// Metrics, guard state and the addon (typed through the generated index.d.ts).
expectTrue<Equal<TradingTools['metrics'], TradingMetrics>>();
expectTrue<Equal<ReturnType<TradingMetrics['snapshot']>, MetricsSnapshot>>();
expectTrue<Equal<MetricsSnapshot['counters'], Record<string, number>>>();
expectTrue<Equal<MetricEvent['type'], 'CounterInc' | 'HistogramObserve' | 'GaugeSet'>>();
expectTrue<Equal<ReturnType<TradingMetrics['prometheus']>, string>>();
expectTrue<Equal<keyof GuardState, 'mode' | 'breaker' | 'pnlBreakerOpen' | 'gateOpenings' | 'dailyOrders' | 'dailyCancels' | 'pendingConfirms' | 'inflight'>>();
expectTrue<Equal<ReturnType<TradingTools['state']>, GuardState>>();
expectTrue<Equal<ReturnType<MatchingEngine['submit']>, SubmitResult>>();

// Calls as a user writes them.
const backend = new MockTradingBackend({ referencePrices: { 'BTC-USDT': 20_000 } });
const tools = createTradingTools({ backend, mode: 'Direct', risk: { maxOrderNotional: 50_000 }, metrics: new TradingMetrics() });
export const names: ToolName[] = tools.tools.map((tool) => tool.name);
export async function place(): Promise<ToolErrorJson | string> {
  try {
    return await tools.placeOrder.execute('{"symbol":"BTC-USDT","side":"Buy","quantity":1,"price":19000}');
  } catch (error) {
    if (error instanceof ToolError) return error.toJSON();
    throw error;
  }
}
// @ts-expect-error: not a tool name
export const misspelt: ToolName = 'place_orders';
// @ts-expect-error: the safety mode is a closed set
createTradingTools({ backend, mode: 'Live' });
