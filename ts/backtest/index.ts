// Backtesting: replay OHLCV bars or trade prints through the native L1 matching engine.
export { BacktestTradingBackend } from './backend';
export type { BacktestBackendOptions, BacktestFees, BacktestFill, BacktestResult, BookSnapshot, BookSnapshotLevel, FillRule } from './backend';
export { BacktestReplay } from './replay';
export type { ReplayClock, ReplayOptions, StepContext, StepHook } from './replay';
export { loadBars, parseBars, parseBarsCsv, parseBinanceKlines, parseCcxtJson } from './load-bars';
export type { BarFormat, LoadOptions } from './load-bars';
export { loadTrades, parseTradesCsv } from './load-trades';
export { MarketDataError } from './data-error';
export type { DataIssue } from './data-error';
export { barSeriesFromColumns, TradeSide } from './series';
export type { BarSeries, MarketSeries, TradeSeries, TradeSideCode } from './series';
export { ladderFor, resolveLiquidity } from './liquidity';
export type { Ladder, LiquidityOptions, ResolvedLiquidity } from './liquidity';
export { Grid } from './grid';
