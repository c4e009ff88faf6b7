// Malformed and hostile argument strings: every one is InvalidArguments naming the problem, the
// backend is never called, and nothing but the rejection count moves.
import { describe, expect, it } from 'vitest';

import { rejection, RUNBOOK_RISK, setup } from './harness';

const ok = { symbol: 'BTC-USDT', side: 'Buy', quantity: 0.1, price: 20_000 };
const withField = (patch: Record<string, unknown>): string => JSON.stringify({ ...ok, ...patch });
const rawQuantity = (text: string): string => `{"symbol":"BTC-USDT","side":"Buy","quantity":${text},"price":20000}`;

/** [label, args, text the message must contain] */
const HOSTILE: Array<[string, string, string]> = [
  ['empty string', '', 'invalid JSON'],
  ['whitespace', '   ', 'invalid JSON'],
  ['truncated object', '{"symbol":"BTC-USDT"', 'invalid JSON'],
  ['trailing comma', '{"symbol":"BTC-USDT","side":"Buy","quantity":1,"price":1,}', 'Arguments: '],
  ['single quotes', "{'symbol':'BTC-USDT'}", 'invalid JSON'],
  ['trailing garbage', `${withField({})}xyz`, 'invalid JSON'],
  ['two objects', `${withField({})}${withField({})}`, 'invalid JSON'],
  ['null', 'null', 'must be a JSON object, got null'],
  ['array', '[1,2,3]', 'must be a JSON object, got array'],
  ['number', '42', 'must be a JSON object, got number'],
  ['string', '"place an order"', 'must be a JSON object, got string'],
  ['NaN quantity', rawQuantity('NaN'), 'quantity'],
  ['Infinity quantity', rawQuantity('Infinity'), 'quantity'],
  ['-Infinity quantity', rawQuantity('-Infinity'), 'quantity'],
  ['1e309 quantity', rawQuantity('1e309'), 'field `quantity`'],
  ['-1e309 quantity', rawQuantity('-1e309'), 'field `quantity`'],
  ['negative quantity', rawQuantity('-1'), 'field `quantity` must be a finite number > 0'],
  ['zero quantity', rawQuantity('0'), 'field `quantity` must be a finite number > 0'],
  ['negative zero quantity', rawQuantity('-0'), 'field `quantity` must be a finite number > 0'],
  ['hex quantity', rawQuantity('0x10'), 'quantity'],
  ['quantity as string', withField({ quantity: '1' }), 'field `quantity` must be a number, got string'],
  ['quantity as bool', withField({ quantity: true }), 'field `quantity` must be a number, got boolean'],
  ['quantity as null', withField({ quantity: null }), 'quantity'],
  ['quantity as array', withField({ quantity: [1] }), 'field `quantity` must be a number, got array'],
  ['quantity as object', withField({ quantity: { value: 1 } }), 'field `quantity` must be a number, got object'],
  ['price as string', withField({ price: '20000' }), 'field `price` must be a number, got string'],
  ['negative price', withField({ price: -5 }), 'field `price` must be a finite number > 0'],
  ['zero price', withField({ price: 0 }), 'field `price` must be a finite number > 0'],
  ['limit without price', JSON.stringify({ symbol: 'BTC-USDT', side: 'Buy', quantity: 1 }), 'field `price` is required for Limit orders'],
  ['market with price', withField({ order_type: 'Market' }), 'field `price` must not be set for Market orders'],
  ['missing symbol', JSON.stringify({ side: 'Buy', quantity: 1, price: 1 }), 'missing field `symbol`'],
  ['missing side', JSON.stringify({ symbol: 'BTC-USDT', quantity: 1, price: 1 }), 'missing field `side`'],
  ['unknown field', withField({ leverage: 100 }), 'unknown field `leverage`'],
  ['prototype pollution key', '{"symbol":"BTC-USDT","side":"Buy","quantity":1,"price":1,"__proto__":{"admin":true}}', 'unknown field `__proto__`'],
  ['side lower case', withField({ side: 'buy' }), 'field `side` must be one of "Buy", "Sell"'],
  ['side upper case', withField({ side: 'BUY' }), 'field `side` must be one of "Buy", "Sell"'],
  ['order_type lower case', withField({ order_type: 'limit' }), 'field `order_type` must be one of "Limit", "Market"'],
  ['time_in_force lower case', withField({ time_in_force: 'gtc' }), 'field `time_in_force` must be one of "GTC", "IOC", "FOK"'],
  ['side as number', withField({ side: 1 }), 'field `side` must be one of'],
  ['symbol as number', withField({ symbol: 42 }), 'field `symbol` must be a string, got number'],
  ['empty symbol', withField({ symbol: '' }), 'field `symbol` must be 1-32 characters'],
  ['symbol with spaces', withField({ symbol: 'BTC USDT; DROP TABLE' }), 'field `symbol` must be 1-32 characters'],
  ['lower-case symbol', withField({ symbol: 'btc-usdt' }), 'field `symbol` must be 1-32 characters'],
  ['symbol with NUL', withField({ symbol: 'BTC\u0000USDT' }), 'field `symbol` must be 1-32 characters'],
  ['duplicate key', '{"symbol":"BTC-USDT","side":"Buy","quantity":1,"quantity":1000,"price":1}', 'duplicate field `quantity`'],
  ['nested junk', withField({ stop_loss: { a: [{ b: [[[]]] }] } }), 'field `stop_loss` must be a number, got object'],
  ['deep nesting', `${'['.repeat(200)}${']'.repeat(200)}`, 'Arguments: '],
  ['1 MB payload', withField({ symbol: 'A'.repeat(1 << 20) }), 'exceeds limit of 65536 bytes'],
  ['stop loss above buy price', withField({ stop_loss: 25_000 }), 'field `stop_loss` 25000 must be below price 20000'],
  ['take profit below buy price', withField({ take_profit: 15_000 }), 'field `take_profit` 15000 must be above price 20000'],
  ['client id too long', withField({ client_order_id: 'x'.repeat(65) }), 'field `client_order_id` must be 1-64 printable ASCII'],
  ['confirm token as number', withField({ confirm_token: 123 }), 'field `confirm_token` must be a string, got number'],
  ['positional array form', '["BTC-USDT","Buy",1,"Market"]', 'must be a JSON object, got array'],
  ['enum in map form', withField({ side: { Buy: null } }), 'field `side` must be one of "Buy", "Sell"'],
  ['unicode escape junk', '{"symbol":"\\ud800","side":"Buy","quantity":1,"price":1}', 'Arguments: '],
];

describe('hostile place_order arguments', () => {
  it(`has at least 40 cases (${HOSTILE.length})`, () => {
    expect(HOSTILE.length).toBeGreaterThanOrEqual(40);
  });

  it.each(HOSTILE)('%s -> InvalidArguments, nothing sent, only the rejection count moves', async (_label, args, mustContain) => {
    const { tools, backend, metrics } = setup({ mode: 'Direct', risk: RUNBOOK_RISK, gate: { type: 'RejectionCircuitBreaker', threshold: 1, cooldownMs: 60_000 } });
    const before = metrics.snapshot();
    const error = await rejection(tools.placeOrder, args);
    expect(error.toJSON()).toMatchObject({ error_type: 'InvalidArguments', source: 'Arguments', code: 'INVALID_ARGUMENTS' });
    expect(error.message.startsWith('Arguments: ')).toBe(true);
    expect(error.message).toContain(mustContain);
    expect(error.message.length).toBeLessThan(400);
    expect(Object.values(backend.calls).reduce((a, b) => a + b, 0)).toBe(0);
    const after = metrics.snapshot();
    const moved = Object.entries(after.counters).filter(([key, value]) => value !== before.counters[key]);
    expect(moved).toEqual([['trading_orders_total{tool="place",side="none",status="rejected"}', 1]]);
    expect(after.histograms).toEqual(before.histograms);
    expect(after.gauges).toEqual(before.gauges);
    expect(tools.state()).toMatchObject({ breaker: 'Closed', dailyOrders: 0, inflight: 0, pendingConfirms: 0 });
  });

  it('other tools reject hostile input the same way', async () => {
    const { tools, backend } = setup({ mode: 'Direct' });
    for (const [tool, args, text] of [
      [tools.cancelOrder, '{"order_id":7}', 'field `order_id` must be a string, got number'],
      [tools.cancelOrder, '{}', 'missing field `order_id`'],
      [tools.cancelOrder, '{"order_id":"a","force":true}', 'unknown field `force`'],
      [tools.replaceOrder, '{"order_id":"a"}', 'replace_order needs field `price` and/or field `quantity`'],
      [tools.replaceOrder, '{"order_id":"a","quantity":-2}', 'field `quantity` must be a finite number > 0'],
      [tools.queryPortfolio, '{"symbol":["BTC-USDT"]}', 'field `symbol` must be a string, got array'],
      [tools.queryPortfolio, '{"account":"main"}', 'unknown field `account`'],
    ] as const) {
      const error = await rejection(tool, args);
      expect(error.code).toBe('INVALID_ARGUMENTS');
      expect(error.message).toContain(text);
    }
    expect(Object.values(backend.calls).reduce((a, b) => a + b, 0)).toBe(0);
  });

  it('a non-string argument is refused without reaching the guard', async () => {
    const { tools } = setup({ mode: 'Direct' });
    const error = await rejection(tools.placeOrder, { symbol: 'BTC-USDT' } as unknown as string);
    expect(error.message).toBe('Arguments: arguments must be a JSON string, got object');
  });
});
