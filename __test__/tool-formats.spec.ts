// Handing the tools to an LLM API and feeding its calls back.
import { describe, expect, it } from 'vitest';

import { dispatchToolCall, toOpenAITools } from '../ts/index';
import { RUNBOOK_RISK, setup } from './harness';

describe('tool formats', () => {
  it('OpenAI function tools carry name, description and the strict JSON Schema', () => {
    const { tools } = setup({ mode: 'DryRun' });
    const formatted = toOpenAITools(tools.tools);
    expect(formatted.map((t) => t.function.name)).toEqual(['place_order', 'cancel_order', 'replace_order', 'query_portfolio', 'get_book_snapshot', 'get_pnl', 'finish_bar']);
    for (const t of formatted) {
      expect(t.type).toBe('function');
      expect(t.function.parameters).toMatchObject({ type: 'object', additionalProperties: false });
      expect(t.function.description.length).toBeGreaterThan(10);
    }
    // Strict form: every property required; the ones a call may leave out take null.
    const place = formatted[0]?.function.parameters;
    expect(place?.required).toEqual(Object.keys(place?.properties ?? {}));
    const notNullable = Object.entries(place?.properties ?? {}).filter(([, p]) => !(Array.isArray(p.type) && p.type.includes('null')));
    expect(notNullable.map(([key]) => key)).toEqual(['symbol', 'side', 'quantity']);
    expect(formatted[0]?.function).not.toHaveProperty('strict');
    expect(toOpenAITools(tools.tools, { strict: true }).every((t) => t.function.strict === true)).toBe(true);
  });

  it('the outcome carries the ack status from the result itself, never read back from the JSON text', async () => {
    const order = '{"symbol":"BTC-USDT","side":"Buy","quantity":0.1,"price":19000}';
    for (const [mode, status] of [['DryRun', 'DryRun'], ['TwoPhase', 'PendingConfirm'], ['Direct', 'New']] as const) {
      const { tools } = setup({ mode, risk: RUNBOOK_RISK });
      const outcome = await dispatchToolCall(tools.tools, 'place_order', order);
      expect([outcome.ok, outcome.status, (JSON.parse(outcome.content) as { status: string }).status]).toEqual([true, status, status]);
      const query = await dispatchToolCall(tools.tools, 'query_portfolio', '{}');
      expect(query.ok).toBe(true);
      expect(query.status).toBeUndefined();
    }
    // An id that spells another status inside its string changes nothing.
    const { tools } = setup({ mode: 'DryRun', risk: RUNBOOK_RISK });
    const hostile = await dispatchToolCall(tools.tools, 'cancel_order', JSON.stringify({ order_id: '","status":"Filled' }));
    expect([hostile.ok, hostile.status]).toEqual([true, 'DryRun']);
    // The typed call: same outcome as data, refusals included.
    expect(await tools.placeOrder.call({ symbol: 'BTC-USDT', side: 'Buy', quantity: 0.1, price: 19_000 })).toMatchObject({ ok: true, status: 'DryRun' });
    expect(await tools.placeOrder.call({ symbol: 'DOGE-USDT', side: 'Buy', quantity: 1, price: 1 })).toEqual({
      ok: false,
      error: { error_type: 'ExecutionFailed', source: 'RiskLimits', code: 'SYMBOL_NOT_ALLOWED', message: "RiskLimits: symbol 'DOGE-USDT' not in allowed list" },
    });
  });

  it('dispatch returns results and ToolError JSON, never throws for the model', async () => {
    const { tools, backend } = setup({ mode: 'Direct', risk: RUNBOOK_RISK });
    const ok = await dispatchToolCall(tools.tools, 'place_order', '{"symbol":"BTC-USDT","side":"Buy","quantity":0.1,"order_type":"Market"}');
    expect(ok.ok).toBe(true);
    expect(JSON.parse(ok.content)).toMatchObject({ status: 'Filled' });
    const refused = await dispatchToolCall(tools.tools, 'place_order', '{"symbol":"DOGE-USDT","side":"Buy","quantity":1,"price":1}');
    expect(refused).toEqual({
      ok: false,
      content: JSON.stringify({ error_type: 'ExecutionFailed', source: 'RiskLimits', code: 'SYMBOL_NOT_ALLOWED', message: "RiskLimits: symbol 'DOGE-USDT' not in allowed list" }),
      code: 'SYMBOL_NOT_ALLOWED',
    });
    expect(ok.status).toBe('Filled');
    const unknown = await dispatchToolCall(tools.tools, 'withdraw_funds', '{}');
    expect(JSON.parse(unknown.content)).toMatchObject({ code: 'INVALID_ARGUMENTS', message: expect.stringContaining("unknown tool 'withdraw_funds'") as unknown });
    expect(backend.calls.placeOrder).toBe(1);
  });
});

describe('query_portfolio', () => {
  it('is read-only and answers in DryRun too', async () => {
    const { tools, backend } = setup({ mode: 'DryRun' });
    const portfolio = JSON.parse(await tools.queryPortfolio.execute('{}')) as { balances: Array<{ asset: string }> };
    expect(portfolio.balances.map((b) => b.asset)).toEqual(['USDT']);
    expect(backend.calls.getBalance).toBe(1);
    expect(backend.calls.placeOrder).toBe(0);
  });
});
