// Issue 18.5: only an order that reaches the venue (or a confirmed one) counts as a pass for the
// rejection breaker; a TwoPhase proposal sends nothing, so it neither clears the streak nor takes
// the HalfOpen trial. DryRun orders do count (they stand in for sent orders: see README).
import { describe, expect, it } from 'vitest';

import { ack, limit, rejection, RUNBOOK_RISK, setup, T0 } from './harness';

const gate = { type: 'RejectionCircuitBreaker', threshold: 3, cooldownMs: 60_000 } as const;
const tooBig = limit('BTC-USDT', 'Buy', 5, 20_000);
const fine = limit('BTC-USDT', 'Buy', 0.1, 20_000);

describe('rejection breaker and proposals', () => {
  it('TwoPhase: bad orders alternating with unconfirmed proposals trip the breaker; HalfOpen waits for a confirmed order', async () => {
    const { tools, backend } = setup({ mode: 'TwoPhase', risk: RUNBOOK_RISK, gate });
    for (let i = 0; i < 2; i += 1) {
      await rejection(tools.placeOrder, tooBig);
      expect((await ack(tools.placeOrder, fine)).status).toBe('PendingConfirm');
    }
    await rejection(tools.placeOrder, tooBig);
    expect(tools.state().breaker).toBe('Open');
    expect((await rejection(tools.placeOrder, fine)).code).toBe('CIRCUIT_BREAKER_OPEN');

    tools.setClockMs(T0 + 60_000);
    const proposal = await ack(tools.placeOrder, fine);
    await ack(tools.placeOrder, fine);
    expect(tools.state().breaker).toBe('HalfOpen');
    expect(backend.calls.placeOrder).toBe(0);
    await ack(tools.placeOrder, limit('BTC-USDT', 'Buy', 0.1, 20_000, `,"confirm_token":"${String(proposal.confirm_token)}"`));
    expect(backend.calls.placeOrder).toBe(1);
    expect(tools.state().breaker).toBe('Closed');
  });

  it('DryRun: its orders clear the streak and pass the HalfOpen trial, as sent orders do in Direct', async () => {
    for (const mode of ['DryRun', 'Direct'] as const) {
      const { tools } = setup({ mode, risk: RUNBOOK_RISK, gate });
      for (let i = 0; i < 3; i += 1) {
        await rejection(tools.placeOrder, tooBig);
        await ack(tools.placeOrder, fine);
      }
      expect(tools.state().breaker).toBe('Closed');
      for (let i = 0; i < 3; i += 1) await rejection(tools.placeOrder, tooBig);
      expect(tools.state().breaker).toBe('Open');
      tools.setClockMs(T0 + 60_000);
      await ack(tools.placeOrder, fine);
      expect(tools.state().breaker).toBe('Closed');
    }
  });
});
