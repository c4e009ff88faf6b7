// axon-llm for Node: guarded trading tools for LLM agents.
export { createTradingTools } from './tools';
export type { Tool, ToolArgs, ToolCallResult, ToolName, TradingTools, TradingToolsOptions, RiskOptions, GateOptions } from './tools';
export { TRADING_STATES } from './trading-state';
export type { CancelAllResult, StateChangeBy, TradingState, TradingStateChange } from './trading-state';
export { toOpenAITools, dispatchToolCall } from './tool-formats';
export type { OpenAIFunctionTool, ToolCallOutcome } from './tool-formats';
export { ToolError, BackendError } from './errors';
export type { ToolErrorJson, ToolErrorSource, ToolErrorType } from './errors';
export { TradingMetrics } from './metrics';
export type { MetricEvent, MetricEventType, MetricsCallback, MetricsSnapshot, HistogramSnapshot } from './metrics';
export { MockTradingBackend } from './backends/mock';
export type { MockBackendOptions, MockFill, MockOperation } from './backends/mock';
export { ExchangeTradingBackend } from './backends/exchange';
export type { ExchangeBackendOptions, ExchangeId } from './backends/exchange';
export { OmsTradingBackend, OmsUnreachableError } from './backends/oms';
export type { OmsBackendOptions } from './backends/oms';
export { jsonLineLogger, levelFromEnv, silentLogger } from './log';
export type { Logger, LogLevel, LogRecord } from './log';
export {
  placeOrderSchema,
  cancelOrderSchema,
  replaceOrderSchema,
  queryPortfolioSchema,
  getBookSnapshotSchema,
  getPnlSchema,
  finishBarSchema,
} from './schemas';
export type { JsonSchema } from './schemas';
export { isToolErrorJson, TOOL_ACK_STATUSES } from './tool-types';
export type {
  JsonSchemaProperty,
  JsonSchemaTypeName,
  PlaceOrderArgs,
  CancelOrderArgs,
  ReplaceOrderArgs,
  QueryPortfolioArgs,
  GetBookSnapshotArgs,
  GetPnlArgs,
  FinishBarArgs,
  BookSnapshotResult,
  PnlResult,
  PnlPositionResult,
  FinishBarResult,
  ToolAck,
  ToolAckStatus,
  ToolResult,
  PortfolioResult,
} from './tool-types';
export type * from './types';
export type { GuardState } from './native/index';
// The L1 matching engine's fast API is a subpath of its own: `axon-llm/engine`.
// Backtesting: replay OHLCV bars or trade prints through the matching engine (backend 'backtest').
export {
  BacktestTradingBackend,
  BacktestReplay,
  loadBars,
  loadTrades,
  parseBars,
  parseBarsCsv,
  parseBinanceKlines,
  parseCcxtJson,
  parseTradesCsv,
  barSeriesFromColumns,
  MarketDataError,
  TradeSide,
} from './backtest';
export type {
  BacktestBackendOptions,
  BacktestFees,
  BacktestFill,
  BacktestResult,
  BookSnapshot,
  BookSnapshotLevel,
  FillRule,
  ReplayClock,
  ReplayOptions,
  StepContext,
  StepHook,
  BarFormat,
  LoadOptions,
  DataIssue,
  BarSeries,
  MarketSeries,
  TradeSeries,
  TradeSideCode,
  Ladder,
  LiquidityOptions,
  ResolvedLiquidity,
} from './backtest';
