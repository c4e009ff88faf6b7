// The offline stand-in model: deterministic tool calls from the observation, including the
// mistakes the guardrails must stop.
import { describe, expect, it } from 'vitest';

import { observationView, type Observation } from '../ts/agent/observation';
import { generateBars } from '../ts/market-data-generator';
import { ScriptedProvider } from '../ts/llm/scripted-provider';

function observation(closes: number[], position = 0): Observation {
  return {
    time_ms: 0,
    symbol: 'BTC-USDT',
    bars: closes.map((c, i) => [i * 300_000, c, c, c, c, 1]),
    position,
    cash: 100_000,
    equity: 100_000,
    open_orders: [],
    last_results: [],
  };
}

async function calls(provider: ScriptedProvider, obs: Observation) {
  const reply = await provider.complete([{ role: 'user', content: JSON.stringify(obs) }], []);
  return (reply.message.tool_calls ?? []).map((c) => ({ name: c.function.name, args: JSON.parse(c.function.arguments) as Record<string, unknown> }));
}

const rising = Array.from({ length: 30 }, (_, i) => 100 + i);
const falling = Array.from({ length: 30 }, (_, i) => 200 - i);

describe('ScriptedProvider', () => {
  it('decides the same from the loop\'s ObservationView as from the observation JSON', async () => {
    const bars = generateBars({ seed: 7, bars: 3_000 });
    const fromJson = new ScriptedProvider({ probeEvery: 53, burstEvery: 400 });
    const fromView = new ScriptedProvider({ probeEvery: 53, burstEvery: 400 });
    let position = 0;
    let trades = 0;
    for (let end = 1; end <= bars.length; end++) {
      const closes = Array.from(bars.close.subarray(Math.max(0, end - 30), end));
      const obs = observation(closes, position);
      const messages = [{ role: 'user' as const, content: JSON.stringify(obs) }];
      const a = await fromJson.complete(messages, []);
      // The view carries the numbers; a wrong view would change the decision, the text is not read.
      const b = await fromView.complete([{ role: 'user', content: '{}' }], [], undefined, observationView(obs));
      expect(b.message.tool_calls?.map((c) => c.function.arguments)).toEqual(a.message.tool_calls?.map((c) => c.function.arguments));
      const order = a.message.tool_calls?.[0];
      if (order !== undefined && !order.function.arguments.includes('DOGE')) {
        const args = JSON.parse(order.function.arguments) as { side: string; quantity: number };
        if (args.quantity < 1) {
          position += args.side === 'Buy' ? args.quantity : -args.quantity;
          trades += 1;
        }
      }
    }
    expect(trades).toBeGreaterThan(10);
  });

  it('buys an uptrend when flat, sells a downtrend when long, holds otherwise', async () => {
    const p = new ScriptedProvider({ probeEvery: 1_000_000 });
    expect(await calls(p, observation(rising))).toEqual([{ name: 'place_order', args: { symbol: 'BTC-USDT', side: 'Buy', quantity: 0.05, order_type: 'Market' } }]);
    expect(await calls(p, observation(rising, 0.05))).toEqual([]);
    expect(await calls(p, observation(falling, 0.05))).toEqual([{ name: 'place_order', args: { symbol: 'BTC-USDT', side: 'Sell', quantity: 0.05, order_type: 'Market' } }]);
    expect(await calls(p, observation(rising.slice(0, 10)))).toEqual([]);
  });

  it('on schedule proposes what the risk chain must stop, and answers tool results with text', async () => {
    const p = new ScriptedProvider({ probeEvery: 3, burstEvery: 10, burstLength: 2 });
    const seen = [];
    for (let i = 0; i < 12; i += 1) seen.push(await calls(p, observation(rising, 0.05)));
    expect(seen[2]?.[0]?.args).toMatchObject({ quantity: 25, price: 129 }); // 3rd: oversized limit
    expect(seen[5]?.[0]?.args).toMatchObject({ symbol: 'DOGE-USDT' }); // 6th: foreign symbol
    expect(seen[9]?.[0]?.args).toMatchObject({ quantity: 50, order_type: 'Market' }); // burst
    expect(seen[10]?.[0]?.args).toMatchObject({ quantity: 50, order_type: 'Market' });
    const reply = await p.complete([{ role: 'tool', tool_call_id: 'x', content: '{"code":"MAX_ORDER_NOTIONAL"}' }], []);
    expect(reply.message).toEqual({ role: 'assistant', content: 'noted' });
    expect(reply.usage.estimated).toBe(true);
  });

  it('in a burst, retries a refused order at once', async () => {
    const p = new ScriptedProvider({ probeEvery: 1_000, burstEvery: 2, burstLength: 1 });
    await calls(p, observation(rising, 0.05));
    expect((await calls(p, observation(rising, 0.05)))[0]?.args).toMatchObject({ quantity: 50 });
    const refusal = JSON.stringify({ error_type: 'ExecutionFailed', source: 'RiskLimits', code: 'MAX_ORDER_NOTIONAL', message: 'RiskLimits: x' });
    const retry = await p.complete([{ role: 'tool', tool_call_id: 'x', content: refusal }], []);
    expect(JSON.parse(retry.message.tool_calls?.[0]?.function.arguments as string)).toMatchObject({ quantity: 50, order_type: 'Market' });
    await calls(p, observation(rising, 0.05));
    const after = await p.complete([{ role: 'tool', tool_call_id: 'y', content: refusal }], []);
    expect(after.message.content).toBe('noted');
  });

  it('is deterministic', async () => {
    const run = async () => {
      const p = new ScriptedProvider();
      const out = [];
      for (let i = 0; i < 200; i += 1) out.push(await calls(p, observation(i % 40 < 20 ? rising : falling, i % 3 === 0 ? 0.05 : 0)));
      return JSON.stringify(out);
    };
    expect(await run()).toBe(await run());
  });
});
