// Drives the four guarded tools through every safety mode on the in-memory mock venue and prints
// each ack or ToolError, the guard state and a metrics snapshot. Run: npm start
import { createTradingTools, MockTradingBackend, silentLogger, ToolError, TradingMetrics, type Tool, type ToolAck } from '../ts/index';

const risk = { allowedSymbols: ['BTC-USDT', 'ETH-USDT'], maxOrderNotional: 50_000, maxPositionAbs: 10, maxDailyOrders: 100 };
const gate = { type: 'RejectionCircuitBreaker', threshold: 5, cooldownMs: 60_000 } as const;

async function call(tool: Tool, args: string): Promise<string> {
  try {
    const ack = await tool.execute(args);
    console.log(`  ${tool.name} ${args}\n    -> ${ack}`);
    return ack;
  } catch (error) {
    if (!(error instanceof ToolError)) throw error;
    console.log(`  ${tool.name} ${args}\n    !! ${JSON.stringify(error.toJSON())}`);
    return '';
  }
}

async function main(): Promise<void> {
  const metrics = new TradingMetrics();
  const changes: string[] = [];
  metrics.setCallback((event) => changes.push(event.type));

  for (const mode of ['DryRun', 'TwoPhase', 'Direct'] as const) {
    console.log(`\n== ${mode} ==`);
    const backend = new MockTradingBackend({ referencePrices: { 'BTC-USDT': 20_000, 'ETH-USDT': 1_500 } });
    const tools = createTradingTools({ backend, mode, risk, gate, metrics, logger: silentLogger });
    const buy = '{"symbol":"BTC-USDT","side":"Buy","quantity":0.5,"price":19000}';
    const first = await call(tools.placeOrder, buy);
    const token = first === '' ? undefined : (JSON.parse(first) as ToolAck).confirm_token;
    if (mode === 'TwoPhase' && token !== undefined) {
      await call(tools.placeOrder, `{"symbol":"BTC-USDT","side":"Buy","quantity":0.5,"price":19000,"confirm_token":"${token}"}`);
      await call(tools.placeOrder, `{"symbol":"BTC-USDT","side":"Buy","quantity":0.7,"price":19000,"confirm_token":"${token}"}`);
    }
    await call(tools.placeOrder, '{"symbol":"BTC-USDT","side":"Buy","quantity":3,"price":20000}');
    await call(tools.placeOrder, '{"symbol":"DOGE-USDT","side":"Buy","quantity":100,"price":0.1}');
    await call(tools.placeOrder, '{"symbol":"ETH-USDT","side":"Sell","quantity":2,"order_type":"Market"}');
    await call(tools.placeOrder, '{"symbol":"BTC-USDT","side":"buy","quantity":"1"}');
    if (mode === 'Direct') {
      const open = backend.openOrders()[0];
      if (open !== undefined) {
        await call(tools.replaceOrder, `{"order_id":"${open.orderId}","price":19500}`);
        await call(tools.cancelOrder, `{"order_id":"${open.orderId}"}`);
      }
      backend.injectFailure('placeOrder', 'timeout');
      await call(tools.placeOrder, '{"symbol":"ETH-USDT","side":"Buy","quantity":1,"order_type":"Market"}');
      for (let i = 0; i < 5; i += 1) await call(tools.placeOrder, '{"symbol":"BTC-USDT","side":"Buy","quantity":9,"price":20000}');
      await call(tools.placeOrder, '{"symbol":"BTC-USDT","side":"Buy","quantity":0.1,"price":20000}');
    }
    await call(tools.queryPortfolio, '{"symbol":"BTC-USDT"}');
    console.log(`  state: ${JSON.stringify(tools.state())}`);
    tools.close();
  }

  metrics.flush();
  const snapshot = metrics.snapshot();
  const nonZero = Object.fromEntries(Object.entries(snapshot.counters).filter(([, v]) => v > 0));
  console.log('\n== metrics snapshot (non-zero counters) ==');
  console.log(JSON.stringify(nonZero, null, 2));
  console.log(`trading_daily_orders_count ${snapshot.gauges.trading_daily_orders_count}`);
  console.log(`metric change events delivered to the callback: ${changes.length}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
