// The venue a config names (`[trading] backend`), for live runs and `--self-check`.
import type { AgentConfig } from '../config';
import type { TradingBackend } from '../types';
import { ExchangeTradingBackend, type ExchangeBackendOptions } from './exchange';
import { MockTradingBackend } from './mock';
import { DEFAULT_OMS_URL, OmsTradingBackend } from './oms';

/** Exchange backend options from `[trading]`; the keys are required. */
export function exchangeOptionsFromConfig(config: AgentConfig): ExchangeBackendOptions {
  const t = config.trading;
  if (t.api_key === undefined || t.api_secret === undefined || t.api_key === '' || t.api_secret === '') {
    throw new Error('exchange: trading.api_key and trading.api_secret are required');
  }
  return {
    exchange: t.exchange,
    apiKey: t.api_key,
    apiSecret: t.api_secret,
    testnet: t.testnet,
    // A place that times out may need a lookup by client id and one retry: all three fit in the
    // tools' deadline (`timeout_ms`), so nothing reaches the venue after the call was reported.
    timeoutMs: Math.max(1, Math.floor(t.timeout_ms / 3)),
    ...(t.base_url === undefined ? {} : { urls: t.base_url }),
  };
}

/** How the venue is named in messages: `binance testnet at http://…`. */
export function exchangeVenue(config: AgentConfig): string {
  const t = config.trading;
  return `${t.exchange}${t.testnet ? ' testnet' : ''}${t.base_url === undefined ? '' : ` at ${t.base_url}`}`;
}

const OMS_RETRIES = 2;
const OMS_BACKOFF_MS = 100;

/**
 * The per-request timeout that lets every attempt and backoff of one OMS call finish within
 * `deadlineMs` (the tools' `backendTimeoutMs`): a retry can then never land after the tool call
 * was already reported as timed out.
 */
export function omsRequestTimeoutMs(deadlineMs: number, retries: number, backoffMs: number): number {
  const backoffTotal = backoffMs * (2 ** retries - 1);
  return Math.max(1, Math.floor((deadlineMs - backoffTotal) / (retries + 1)));
}

/** The axon-oms backend: `[trading] base_url` (default http://127.0.0.1:8080); all attempts within `timeout_ms`. */
export function omsBackendFromConfig(config: AgentConfig): OmsTradingBackend {
  return new OmsTradingBackend({
    baseUrl: config.trading.base_url ?? DEFAULT_OMS_URL,
    timeoutMs: omsRequestTimeoutMs(config.trading.timeout_ms, OMS_RETRIES, OMS_BACKOFF_MS),
    retries: OMS_RETRIES,
    retryBackoffMs: OMS_BACKOFF_MS,
  });
}

/** A live backend for the config; `backtest` is not one (it replays data, see `backtest`). */
export function liveBackendFromConfig(config: AgentConfig): TradingBackend {
  switch (config.trading.backend) {
    case 'exchange':
      return new ExchangeTradingBackend(exchangeOptionsFromConfig(config));
    case 'mock':
      return new MockTradingBackend({ cash: config.mock.cash, referencePrices: config.mock.reference_prices });
    case 'oms':
      return omsBackendFromConfig(config);
    case 'backtest':
      throw new Error('backtest: not a live backend; run `llm-trading-agent backtest`');
  }
}
