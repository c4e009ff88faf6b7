// `[trading] backend = "mock"` from a config is a venue that trades: `[mock] reference_prices` and
// `cash` reach the in-memory venue, so a live run or the MCP server on a mock config can place orders.
import { describe, expect, it } from 'vitest';

import { liveBackendFromConfig } from '../ts/backends/from-config';
import { parseConfig, toolsOptionsFromConfig } from '../ts/config';
import { createTradingTools, silentLogger } from '../ts/index';

const CONFIG = `
[trading]
backend = "mock"
[safety]
mode = "Direct"
[risk]
allowed_symbols = ["BTC-USDT", "ETH-USDT"]
[mock]
reference_prices = { "BTC-USDT" = 20000 }
cash = 50000
`;

describe('[mock] in a config', () => {
  it('prices and cash reach the venue: an order on a priced symbol is placed, one on an unpriced symbol is refused by the venue', async () => {
    const config = parseConfig(CONFIG);
    const backend = liveBackendFromConfig(config);
    const tools = createTradingTools({ ...toolsOptionsFromConfig(config), backend, logger: silentLogger });
    try {
      const placed = JSON.parse(await tools.placeOrder.execute('{"symbol":"BTC-USDT","side":"Buy","quantity":0.5,"price":19000}')) as { status: string };
      expect(placed.status).toBe('New');
      await expect(tools.placeOrder.execute('{"symbol":"ETH-USDT","side":"Buy","quantity":1,"price":1500}')).rejects.toMatchObject({ code: 'BACKEND_SYMBOL_NOT_FOUND' });
      // 50,000 of cash, 9,500 of it locked by the resting buy.
      expect(await backend.getBalance()).toEqual([{ asset: 'USDT', free: 40_500, locked: 9_500 }]);
    } finally {
      tools.close();
    }
  });

  it('a bad price is refused at load, naming the key', () => {
    expect(() => parseConfig(CONFIG.replace('20000', '-1'))).toThrow(/mock\.reference_prices/);
    expect(() => parseConfig(CONFIG.replace('cash = 50000', 'cash = 0'))).toThrow(/mock\.cash/);
  });
});
