// Handing the tools to an LLM API and feeding its calls back.
import { describe, expect, it } from 'vitest';

import { dispatchToolCall, toOpenAITools } from '../ts/index';
import { ackStatus } from '../ts/tool-formats';
import { RUNBOOK_RISK, setup } from './harness';

describe('tool formats', () => {
  it('OpenAI function tools carry name, description and the strict JSON Schema', () => {
    const { tools } = setup({ mode: 'DryRun' });
    const formatted = toOpenAITools(tools.tools);
    expect(formatted.map((t) => t.function.name)).toEqual(['place_order', 'cancel_order', 'replace_order', 'query_portfolio']);
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

  it('reads the status of an OrderAck and of nothing else', () => {
    const ack = (status: string, id = 'bt-1') => JSON.stringify({ order_id: id, symbol: 'BTC-USDT', side: 'Buy', quantity: 1, status, timestamp_ms: 0 });
    for (const status of ['Filled', 'New', 'PendingConfirm', 'DryRun', 'Cancelled']) expect(ackStatus(ack(status))).toBe(status);
    // An id that spells a status inside its string does not fool it (inside a JSON string every quote is escaped).
    expect(ackStatus(ack('Replaced', '","status":"Filled'))).toBe('Replaced');
    for (const notAnAck of ['', '{}', '[]', ack('Fill3d'), ack(''), ack('Ünïcode'), '{"error_type":"x","status":"Filled"}', ' {"order_id":"x","status":"New"}', '{"order_id":"x","status":"New']) {
      expect(ackStatus(notAnAck), notAnAck).toBeUndefined();
    }
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
    expect(JSON.parse(unknown.content)).toMatchObject({ code: 'INVALID_ARGUMENTS', message: expect.stringContaining("unknown tool 'withdraw_funds'") });
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
