// One scrubber for every secret the process holds (issue 18 item 2): what it removes, where the
// config's secrets come from, and each outlet that uses it (log lines, audit lines, venue errors
// cut to 500 characters, model-endpoint errors). A secret leaks if ANY 8-character piece shows.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { AuditLog } from '../ts/agent/audit';
import { writeSummaryJson } from '../ts/agent/summary-file';
import { ExchangeTradingBackend } from '../ts/backends/exchange';
import { parseConfig, redactConfig } from '../ts/config';
import { BackendError } from '../ts/errors';
import { OpenAIProvider } from '../ts/llm/openai-provider';
import { jsonLineLogger } from '../ts/log';
import { SecretScrubber, scrubSecrets, secretsIn } from '../ts/secrets';
import { startFakeBinance, type FakeBinance } from './support/fake-binance';
import { startFakeOpenAI, type FakeOpenAI } from './support/openai-server';
import { leaks, pieces } from './support/secret-pieces';

let venue: FakeBinance | undefined;
let model: FakeOpenAI | undefined;
afterEach(async () => {
  await venue?.close();
  await model?.close();
  venue = undefined;
  model = undefined;
});

describe('SecretScrubber', () => {
  const secret = 'sk-live-9f8E7d6C5b4A3f2E1d0C';
  const scrubber = new SecretScrubber([secret]);

  it('removes a known secret as is, URL-encoded and JSON-escaped, and keeps JSON valid', () => {
    const odd = 'p@ss/w"rd\\with spaces-0123';
    const s = new SecretScrubber([secret, odd]);
    expect(s.scrub(`key=${secret}; again ${secret}`)).toBe('key=[redacted]; again [redacted]');
    expect(s.scrub(`q=${encodeURIComponent(odd)}&x=1`)).toBe('q=[redacted]&x=1');
    const line = JSON.stringify({ msg: `failed: ${odd}`, nested: JSON.stringify({ echo: odd }) });
    const scrubbed = s.scrub(line);
    expect(leaks({ odd }, { scrubbed })).toEqual([]);
    expect(JSON.parse(scrubbed)).toEqual({ msg: 'failed: [redacted]', nested: '{"echo":"[redacted]"}' });
  });

  it('removes credentials nobody registered: Bearer tokens, Authorization and API-key header values, URL passwords', () => {
    const token = 'eyJhbGciOiJIUzI1NiJ9.payload.sig-unregistered';
    expect(scrubber.scrub(`401: bad token Bearer ${token} (expired)`)).toBe('401: bad token Bearer [redacted] (expired)');
    expect(scrubber.scrub(`Authorization: Basic dXNlcjpodW50ZXIy\nHost: x`)).toBe('Authorization: [redacted]\nHost: x');
    const echoed = JSON.stringify({ error: { headers: { authorization: `Bearer ${token}`, 'x-api-key': 'anthropic-unregistered-1234', accept: 'json' } } });
    const scrubbedEcho = scrubber.scrub(echoed);
    expect(leaks({ token, key: 'anthropic-unregistered-1234' }, { scrubbedEcho })).toEqual([]);
    expect(JSON.parse(scrubbedEcho)).toEqual({ error: { headers: { authorization: '[redacted]', 'x-api-key': '[redacted]', accept: 'json' } } });
    // JSON inside a JSON string (a log line of an error that quotes a body)
    const twice = JSON.stringify({ msg: echoed });
    expect(leaks({ token }, { twice: scrubber.scrub(twice) })).toEqual([]);
    expect(JSON.parse(scrubber.scrub(twice)) as unknown).toEqual({ msg: expect.stringContaining('authorization":"[redacted]') as unknown });
    expect(scrubber.scrub('cannot reach redis://trader:hunter2-redis@10.0.0.5:6379/0')).toBe('cannot reach redis://trader:[redacted]@10.0.0.5:6379/0');
    expect(scrubber.scrub('GET https://api.binance.com/api/v3/account?timestamp=1&signature=9f86d081884c7d65&x=1 failed')).toBe(
      'GET https://api.binance.com/api/v3/account?timestamp=1&signature=[redacted]&x=1 failed',
    );
    expect(scrubber.scrub('redis://10.0.0.5:6379/0?password=hunter3-redis')).toBe('redis://10.0.0.5:6379/0?password=[redacted]');
  });

  it('leaves text without secrets unchanged, and matches a short secret only as a whole word', () => {
    const text = 'RiskLimits: order notional 100000 exceeds limit 50000 for BTC-USDT';
    expect(scrubber.scrub(text)).toBe(text);
    const prose = '--host 0.0.0.0 is not a loopback address: a bearer token is required (Bearer authentication)';
    expect(scrubber.scrub(prose)).toBe(prose);
    expect(scrubber.scrub('Bearer abcdefghijklmnopqrstuvwxyz')).toBe('Bearer [redacted]');
    const short = new SecretScrubber(['pw42x']);
    expect(short.scrub('password pw42x pw42xy')).toBe('password [redacted] pw42xy');
    expect(new SecretScrubber(['abc']).scrub('abc abcdef')).toBe('abc abcdef');
  });
});

describe('secrets of the config', () => {
  it('every secret key and URL password, at any depth: new keys are covered by their name alone', () => {
    expect(
      secretsIn({
        trading: { api_key: 'k1-aaaaaaaa', api_secret: 's1-bbbbbbbb', base_url: 'http://u:gateway-pw-1@gw.local' },
        llm: { api_key: 'k2-cccccccc', max_tokens: 100 },
        oms: { token: 'oms-token-dddd' },
        admin: { token: 'admin-token-eeee' },
        redis: { url: 'redis://default:redis-pw-ffff@127.0.0.1:6379' },
        mcp: { password: 'mcp-pw-gggg' },
      }).sort(),
    ).toEqual(['admin-token-eeee', 'gateway-pw-1', 'k1-aaaaaaaa', 'k2-cccccccc', 'mcp-pw-gggg', 'oms-token-dddd', 'redis-pw-ffff', 's1-bbbbbbbb'].sort());
  });

  it('parsing a config registers its secrets with the process scrubber, and the printable config hides them', () => {
    const env = { VENUE_KEY: 'cfg-venue-key-A1B2C3D4E5', VENUE_SECRET: 'cfg-venue-secret-F6G7H8', LLM_KEY: 'sk-cfg-llm-I9J0K1L2' };
    const config = parseConfig(
      `[trading]\nbackend = "exchange"\napi_key = "\${VENUE_KEY}"\napi_secret = "\${VENUE_SECRET}"\nbase_url = "http://ops:gw-pass-M3N4O5@127.0.0.1:9/"\n` +
        `[llm]\nprovider = "openai"\napi_key = "\${LLM_KEY}"\n`,
      env,
    );
    const text = `${env.VENUE_KEY} ${env.VENUE_SECRET} ${env.LLM_KEY} gw-pass-M3N4O5`;
    expect(scrubSecrets(text)).toBe('[redacted] [redacted] [redacted] [redacted]');
    const printable = JSON.stringify(redactConfig(config));
    expect(leaks({ ...env, gateway: 'gw-pass-M3N4O5' }, { printable })).toEqual([]);
    expect(printable).toContain('"base_url":"http://ops:***@127.0.0.1:9/"');
    // A password written percent-encoded is known in both spellings.
    parseConfig('[trading]\nbackend = "mock"\n[llm]\nbase_url = "http://ops:pw%21Encoded-Q8R9@127.0.0.1:9/v1"\n', {});
    expect(scrubSecrets('pw%21Encoded-Q8R9 and pw!Encoded-Q8R9')).toBe('[redacted] and [redacted]');
  });

  it('an error about the config does not echo a secret it holds', () => {
    let message = '';
    try {
      parseConfig('[trading]\nbackend = "mock"\n[metrics]\ncallback = "prometheus:http://ops:metrics-pw-P6Q7@127.0.0.1:99999/metrics"\n', {});
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('metrics.callback');
    expect(leaks({ password: 'metrics-pw-P6Q7' }, { message })).toEqual([]);
  });
});

describe('outlets', () => {
  const planted = 'outlet-secret-Z9Y8X7W6V5U4T3';

  it('log lines: every field of every line is scrubbed, and each line stays JSON', () => {
    // The process scrubber learns it from a config, as the program does.
    parseConfig(`[trading]\nbackend = "mock"\n[llm]\napi_key = "${planted}"\n`, {});
    const lines: string[] = [];
    const logger = jsonLineLogger({ level: 'trace', write: (line) => lines.push(line) });
    logger.log('warn', { msg: `model call failed: 401 ${planted}`, detail: { echoed: planted }, header: `Authorization: Bearer ${planted}` });
    expect(lines).toHaveLength(1);
    expect(leaks({ planted }, { log: lines.join('') })).toEqual([]);
    expect(JSON.parse(lines[0] as string)).toMatchObject({ msg: 'model call failed: 401 [redacted]', detail: { echoed: '[redacted]' } });
  });

  it('audit lines are scrubbed before they are buffered', () => {
    parseConfig(`[trading]\nbackend = "mock"\n[llm]\napi_key = "${planted}"\n`, {});
    const path = join(mkdtempSync(join(tmpdir(), 'axon-secrets-')), 'audit.jsonl');
    const audit = new AuditLog(path, 1);
    audit.write({ kind: 'model', time_ms: 1, step: 0, provider: 'openai', prompt_tokens: 0, completion_tokens: 0, tool_calls: 0, error: `Error: 401 {"auth":"Bearer ${planted}"}` });
    audit.write({ kind: 'tool', time_ms: 2, step: 0, tool: 'place_order', args: `{"symbol":"${planted}"}`, ok: false, result: planted });
    audit.close();
    const text = readFileSync(path, 'utf8');
    expect(leaks({ planted }, { audit: text })).toEqual([]);
    expect(text.trim().split('\n').map((l) => JSON.parse(l) as { kind: string })).toHaveLength(2);
  });

  it('a venue error is scrubbed before it is cut to 500 characters: a key straddling the cut leaks no piece', async () => {
    const apiKey = 'vk-Straddle0123456789abcdefABCDEFghijklmnopQRSTUVwxyz0123456789';
    const apiSecret = 'vs-StraddleSecret9876543210zyxwvuZYXWVUtsrqpoNMLKJIhgfedcba';
    venue = await startFakeBinance({ apiKey, apiSecret });
    const backend = new ExchangeTradingBackend({ apiKey, apiSecret, urls: venue.baseUrl, timeoutMs: 5_000 });
    const echo = (pad: number) =>
      venue?.inject('GET /api/v3/account', {
        kind: 'respond',
        status: 401,
        body: ({ apiKeyHeader }) => ({ code: -2015, msg: `${'x'.repeat(pad)}MARK key ${String(apiKeyHeader)} secret ${apiSecret} end` }),
      });
    const message = async (): Promise<string> => {
      try {
        await backend.getBalance();
      } catch (error) {
        expect(error).toBeInstanceOf(BackendError);
        return (error as Error).message;
      }
      throw new Error('expected a BackendError');
    };
    // Where the echoed text starts in the message, then every cut position across both secrets.
    echo(0);
    const prefix = (await message()).indexOf('MARK');
    expect(prefix).toBeGreaterThan(0);
    let straddled = 0;
    for (let at = 500 - apiKey.length - 4; at <= 500; at += 4) {
      echo(at - prefix - 'MARK key '.length);
      const text = await message();
      expect(text.length).toBeLessThanOrEqual(500);
      expect(leaks({ apiKey, apiSecret }, { [`cut at ${at}`]: text })).toEqual([]);
      straddled += 1;
    }
    expect(straddled).toBeGreaterThan(15);
    // The cut really falls inside the key for these paddings (else the test proves nothing).
    expect(pieces(apiKey).length).toBeGreaterThan(40);
  });

  it('an OpenAI-compatible endpoint that echoes the Authorization header: the provider error carries no piece of the key', async () => {
    const apiKey = 'sk-proj-EchoedKey0123456789ABCDEFabcdef';
    model = await startFakeOpenAI(() => ({ status: 401, errorMessage: (headers) => `Incorrect API key provided: ${String(headers.authorization)}.` }));
    const provider = new OpenAIProvider({ model: 'm', apiKey, baseURL: model.baseURL, maxRetries: 0 });
    let message = '';
    try {
      await provider.complete([{ role: 'user', content: 'hi' }], []);
    } catch (error) {
      message = String(error);
    }
    expect(model.authorization[0]).toBe(`Bearer ${apiKey}`);
    expect(message).toContain('401');
    expect(message).toContain('Incorrect API key provided: Bearer [redacted]');
    expect(leaks({ apiKey }, { message })).toEqual([]);
  });
});

describe('summary file', () => {
  it('a summary holding a secret in any field or key is written without it, as valid JSON', () => {
    const planted = 'summary-secret-R2D2C3PO0000';
    parseConfig(`[trading]\nbackend = "mock"\n[llm]\napi_key = "${planted}"\n`, {});
    const path = join(mkdtempSync(join(tmpdir(), 'axon-summary-')), 'summary.json');
    writeSummaryJson(path, { provider: 'openai', lastError: `401 Bearer ${planted}`, rejectionsByCode: { [planted]: 1 }, nested: [{ note: planted }] });
    const text = readFileSync(path, 'utf8');
    expect(leaks({ planted }, { summary: text })).toEqual([]);
    expect(JSON.parse(text)).toEqual({ provider: 'openai', lastError: '401 Bearer [redacted]', rejectionsByCode: { '[redacted]': 1 }, nested: [{ note: '[redacted]' }] });
  });
});
