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
    timeoutMs: t.timeout_ms,
    ...(t.base_url === undefined ? {} : { urls: t.base_url }),
  };
}

/** How the venue is named in messages: `binance testnet at http://…`. */
export function exchangeVenue(config: AgentConfig): string {
  const t = config.trading;
  return `${t.exchange}${t.testnet ? ' testnet' : ''}${t.base_url === undefined ? '' : ` at ${t.base_url}`}`;
}

/** The axon-oms backend: `[trading] base_url` (default http://127.0.0.1:8080), `timeout_ms` per request. */
export function omsBackendFromConfig(config: AgentConfig): OmsTradingBackend {
  return new OmsTradingBackend({ baseUrl: config.trading.base_url ?? DEFAULT_OMS_URL, timeoutMs: config.trading.timeout_ms });
}

/** A live backend for the config; `backtest` is not one (it replays data, see `backtest`). */
export function liveBackendFromConfig(config: AgentConfig): TradingBackend {
  switch (config.trading.backend) {
    case 'exchange':
      return new ExchangeTradingBackend(exchangeOptionsFromConfig(config));
    case 'mock':
      return new MockTradingBackend({ cash: config.backtest.cash });
    case 'oms':
      return omsBackendFromConfig(config);
    case 'backtest':
      throw new Error('backtest: not a live backend; run `llm-trading-agent backtest`');
  }
}
