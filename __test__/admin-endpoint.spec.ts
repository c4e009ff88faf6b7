// The live program's admin endpoint over real guarded tools on the in-memory venue, through real
// HTTP on loopback: the bearer token gates everything, bodies are checked naming the field, a state
// change reaches the tools and the audit, and POST /kill halts and cancels every resting order.
import { mkdtempSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { serveAdmin, type AdminEndpoint } from '../ts/agent/admin-endpoint';
import { AuditLog, type AuditRecord } from '../ts/agent/audit';
import { killSwitch, stateAuditor } from '../ts/agent/trading-controls';
import { createTradingTools, MockTradingBackend, silentLogger, type TradingTools } from '../ts/index';

const TOKEN = 'admin-token-0123456789abcdef';

let endpoint: AdminEndpoint | undefined;
let tools: TradingTools | undefined;
let audit: AuditLog | undefined;
afterEach(async () => {
  await endpoint?.close();
  tools?.close();
  audit?.close();
  endpoint = undefined;
  tools = undefined;
  audit = undefined;
});

async function setup(options: { heartbeats?: number[] } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'axon-admin-'));
  const auditPath = join(dir, 'audit.jsonl');
  audit = new AuditLog(auditPath, { durability: 'per-record' });
  const backend = new MockTradingBackend({ referencePrices: { 'BTC-USDT': 20_000 } });
  const log = audit;
  tools = createTradingTools({ backend, mode: 'Direct', logger: silentLogger, onTradingStateChange: stateAuditor(log) });
  const t = tools;
  const beats = options.heartbeats;
  endpoint = await serveAdmin({
    host: '127.0.0.1',
    port: 0,
    token: TOKEN,
    actions: {
      state: () => t.tradingState(),
      setState: (state, by) => t.setTradingState(state, by),
      kill: (by) => killSwitch(t, by, log),
      ...(beats === undefined ? {} : { deadMan: { heartbeat: () => beats.push(1), view: () => ({ timeout_ms: 1000, silent_for_ms: 0, expired: false }) } }),
    },
  });
  const records = () =>
    readFileSync(auditPath, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as AuditRecord);
  return { backend, tools: t, url: endpoint.url, records };
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers: Record<string, string | string[] | undefined>;
}

/** One request; `headers` replace the defaults (the bearer token, JSON). */
function call(url: string, method: string, path: string, body?: string, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method, headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) } }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown>, headers: res.headers });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('admin endpoint', () => {
  it('refuses every request without the token (401) and changes nothing', async () => {
    const { url, tools: t } = await setup();
    const attempts: Array<Record<string, string>> = [{}, { authorization: 'Bearer wrong-token-0123456789' }, { authorization: TOKEN }, { authorization: `Basic ${TOKEN}` }, { authorization: `Bearer ${TOKEN}x` }];
    for (const headers of attempts) {
      const state = await call(url, 'GET', '/state', undefined, headers);
      expect(state.status).toBe(401);
      expect(state.headers['www-authenticate']).toContain('Bearer');
      expect((await call(url, 'POST', '/state', '{"state":"HALTED","reason":"x"}', headers)).status).toBe(401);
      expect((await call(url, 'POST', '/kill', undefined, headers)).status).toBe(401);
    }
    expect(t.tradingState()).toBe('ACTIVE');
  });

  it('refuses to start on a non-loopback address or with a short token', async () => {
    const actions = { state: () => 'ACTIVE' as const, setState: () => 'ACTIVE' as const, kill: () => Promise.resolve({ cancelled: [], failed: [] }) };
    await expect(serveAdmin({ host: '0.0.0.0', port: 0, token: TOKEN, actions })).rejects.toThrow('host 0.0.0.0 is not a loopback address');
    await expect(serveAdmin({ host: '127.0.0.1', port: 0, token: 'short', actions })).rejects.toThrow('the token must be at least 16 characters, got 5');
  });

  it('GET /state, POST /state: the change reaches the tools and the audit; a bad body names the field', async () => {
    const { url, tools: t, records } = await setup();
    expect(await call(url, 'GET', '/state')).toMatchObject({ status: 200, body: { state: 'ACTIVE' } });
    const changed = await call(url, 'POST', '/state', '{"state":"REDUCING","reason":"risk review"}');
    expect(changed).toMatchObject({ status: 200, body: { previous: 'ACTIVE', state: 'REDUCING' } });
    expect(t.tradingState()).toBe('REDUCING');
    for (const [body, words] of [
      ['{"state":"PAUSED","reason":"x"}', 'state: '],
      ['{"state":"HALTED"}', 'reason: '],
      ['{"state":"HALTED","reason":""}', 'reason: must say why'],
      ['{"state":"HALTED","reason":"x","by":"me"}', 'by: unknown key'],
      ['not json', 'the body is not JSON'],
    ] as const) {
      const refused = await call(url, 'POST', '/state', body);
      expect(refused.status, body).toBe(400);
      expect(refused.body.error).toContain(words);
    }
    expect(t.tradingState()).toBe('REDUCING');
    expect(records().filter((r) => r.kind === 'state')).toEqual([expect.objectContaining({ from: 'ACTIVE', to: 'REDUCING', source: 'admin', reason: 'risk review' })]);
  });

  it('POST /kill halts, cancels every resting order and answers which; later places are refused, cancels of nothing to do are fine', async () => {
    const { url, backend, tools: t, records } = await setup();
    const ids: string[] = [];
    for (const price of [19_000, 19_100, 19_200]) {
      const placed = await t.placeOrder.call({ symbol: 'BTC-USDT', side: 'Buy', quantity: 0.1, price });
      expect(placed.ok).toBe(true);
      if (placed.ok) ids.push((JSON.parse(placed.ack) as { order_id: string }).order_id);
    }
    expect(backend.openOrders()).toHaveLength(3);
    const killed = await call(url, 'POST', '/kill', '{"reason":"runaway model"}');
    expect(killed.status).toBe(200);
    expect(killed.body).toEqual({ state: 'HALTED', cancelled: ids, failed: [] });
    expect(backend.openOrders()).toEqual([]);
    const refused = await t.placeOrder.call({ symbol: 'BTC-USDT', side: 'Buy', quantity: 0.1, price: 19_000 });
    expect(refused).toMatchObject({ ok: false, error: { code: 'TRADING_HALTED' } });
    // A second kill finds nothing left; the body is optional.
    expect(await call(url, 'POST', '/kill')).toMatchObject({ status: 200, body: { state: 'HALTED', cancelled: [], failed: [] } });
    const kinds = records().map((r) => r.kind);
    expect(kinds).toEqual(['state', 'cancel_all', 'cancel_all']);
    expect(records()[1]).toMatchObject({ kind: 'cancel_all', source: 'admin', reason: 'runaway model', cancelled: ids, failed: [] });
  });

  it('POST /kill answers 502 with the cancels that failed', async () => {
    const { url, backend, tools: t } = await setup();
    const placed = await t.placeOrder.call({ symbol: 'BTC-USDT', side: 'Buy', quantity: 0.1, price: 19_000 });
    expect(placed.ok).toBe(true);
    backend.injectFailure('cancelOrder', 'network');
    const killed = await call(url, 'POST', '/kill');
    expect(killed.status).toBe(502);
    expect(killed.body).toMatchObject({ state: 'HALTED', cancelled: [], failed: [{ orderId: expect.any(String) as string, error: expect.any(String) as string }] });
    expect(backend.openOrders()).toHaveLength(1);
  });

  it('POST /kill answers 502 when the venue cannot list the open orders, and trading is HALTED all the same', async () => {
    const { url, backend, tools: t, records } = await setup();
    backend.injectFailure('getOpenOrders', 'network');
    const killed = await call(url, 'POST', '/kill');
    expect(killed.status).toBe(502);
    expect(killed.body).toEqual({ state: 'HALTED', error: expect.stringContaining('could not be listed') as string });
    expect(t.tradingState()).toBe('HALTED');
    expect(records().find((r) => r.kind === 'cancel_all')).toMatchObject({ cancelled: [], failed: [], error: expect.stringContaining('could not be listed') as string });
  });

  it('POST /heartbeat reaches the dead-man timer, or is 404 without one; unknown paths 404, wrong methods 405, foreign Host 403', async () => {
    const beats: number[] = [];
    const { url } = await setup({ heartbeats: beats });
    expect(await call(url, 'POST', '/heartbeat')).toMatchObject({ status: 200, body: { state: 'ACTIVE', dead_man: { timeout_ms: 1000 } } });
    expect(beats).toHaveLength(1);
    expect((await call(url, 'GET', '/state')).body.dead_man).toMatchObject({ expired: false });
    expect((await call(url, 'GET', '/heartbeat')).status).toBe(405);
    expect((await call(url, 'GET', '/kill')).status).toBe(405);
    expect((await call(url, 'GET', '/nope')).status).toBe(404);
    expect((await call(url, 'GET', '/state', undefined, { authorization: `Bearer ${TOKEN}`, host: 'evil.example:80' })).status).toBe(403);
    await endpoint?.close();
    const { url: plain } = await setup();
    const none = await call(plain, 'POST', '/heartbeat');
    expect(none.status).toBe(404);
    expect(none.body.error).toContain('heartbeat_timeout_ms');
  });
});
