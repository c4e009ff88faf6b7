// The venue-facing contract (SPEC §6). Backends do I/O; every risk rule lives in the native guard.

export type Side = 'Buy' | 'Sell';
export type OrderType = 'Limit' | 'Market';
export type TimeInForce = 'GTC' | 'IOC' | 'FOK';
/** A backend ack's status; a tool's ack adds `DryRun` and `PendingConfirm` (`ToolAckStatus`). */
export type AckStatus = 'New' | 'PartiallyFilled' | 'Filled' | 'Cancelled' | 'Replaced' | 'Rejected';
export type BackendName = 'mock' | 'exchange' | 'oms' | 'backtest';
export type ErrorKind = 'network' | 'rejected' | 'timeout' | 'insufficient_funds' | 'symbol_not_found' | 'other';
export type SafetyModeName = 'DryRun' | 'TwoPhase' | 'Direct';

/** An order the risk chain approved, as the backend receives it. */
export interface OrderRequest {
  symbol: string;
  side: Side;
  quantity: number;
  orderType: OrderType;
  price?: number;
  stopLoss?: number;
  takeProfit?: number;
  timeInForce: TimeInForce;
  /** Always set: the caller's id or one the guard generated, so a retried send can be recognized. */
  clientOrderId: string;
}

export interface ReplaceRequest {
  orderId: string;
  price?: number;
  quantity?: number;
}

/** What a backend answers an order call with (camelCase). Not the tools' JSON: that is `ToolAck` (ts/tool-types.ts). */
export interface OrderAck {
  orderId: string;
  symbol: string;
  side: Side;
  quantity: number;
  status: AckStatus;
  timestampMs: number;
  filledQuantity?: number;
  averagePrice?: number;
}

export interface Balance {
  asset: string;
  free: number;
  locked: number;
}

export interface Position {
  symbol: string;
  /** Signed: long > 0, short < 0. */
  quantity: number;
  averagePrice: number;
}

export interface Portfolio {
  balances: Balance[];
  positions: Position[];
}

export interface OpenOrder {
  orderId: string;
  clientOrderId?: string;
  symbol: string;
  side: Side;
  price: number;
  quantity: number;
  remaining: number;
}

/** Total quantity resting at one price of a venue's book. */
export interface OrderBookLevel {
  price: number;
  quantity: number;
}

/** A venue's book for one symbol, best first on both sides (`get_book_snapshot`). */
export interface OrderBook {
  symbol: string;
  /** Highest price first. */
  bids: OrderBookLevel[];
  /** Lowest price first. */
  asks: OrderBookLevel[];
  /** When the venue's book was in this state (Unix ms). */
  timestampMs: number;
}

/** A held position as `get_pnl` values it. */
export interface PnlPosition {
  symbol: string;
  /** Signed: long > 0, short < 0. */
  quantity: number;
  /** Average entry price; `null` when the venue does not know it (spot balances carry none). */
  entryPrice: number | null;
  /** The price the position is valued at now; `null` when the venue has none. */
  markPrice: number | null;
}

/** What a backend knows of the account's PnL (`get_pnl`). */
export interface PnlReport {
  positions: PnlPosition[];
  /** PnL realized since 00:00 UTC (before fees) by symbol; `null` when the venue does not report it. */
  realizedPnlToday: Record<string, number> | null;
  timestampMs: number;
}

/** Changes a backend pushes so the guard never needs to ask (see `TradingBackend.subscribe`). */
export type BackendEvent =
  | {
      type: 'market';
      symbol: string;
      referencePrice: number | null;
      position: number;
      openBuyQuantity: number;
      openSellQuantity: number;
    }
  | {
      type: 'order';
      orderId: string;
      symbol: string;
      side: Side;
      price: number;
      remaining: number;
      /** The client id the order was placed with, when the backend knows it. */
      clientOrderId?: string;
    }
  | { type: 'pnl'; dailyPnl: number };

/** The order operations of an in-process backend, without promises: they never wait on I/O. */
export interface SyncOrderOps {
  placeOrder(request: OrderRequest): OrderAck;
  cancelOrder(orderId: string): OrderAck;
  replaceOrder(request: ReplaceRequest): OrderAck;
}

export interface SubscribeTopics {
  /** Deliver `pnl` events too (default false). */
  pnl?: boolean;
}

export interface TradingBackend {
  readonly name: BackendName;
  placeOrder(request: OrderRequest): Promise<OrderAck>;
  cancelOrder(orderId: string): Promise<OrderAck>;
  replaceOrder(request: ReplaceRequest): Promise<OrderAck>;
  getBalance(): Promise<Balance[]>;
  getPositions(): Promise<Position[]>;
  /** Balance and positions, fetched concurrently. */
  getPortfolio(): Promise<Portfolio>;
  /** Last trade or mark price, `null` when the venue knows none. */
  getReferencePrice(symbol: string): Promise<number | null>;
  /** Open orders; only `symbol`'s when given (venues answer that cheaper: Binance weighs all-symbol queries 40x). */
  getOpenOrders(symbol?: string): Promise<OpenOrder[]>;
  /**
   * The venue's book, best first, at most `levels` (1-50) per side (`get_book_snapshot`). Without
   * it the tool answers a `BACKEND_OTHER` refusal saying the backend has no book.
   */
  getOrderBook?(symbol: string, levels: number): Promise<OrderBook>;
  /** Positions with entry and mark prices, and today's realized PnL (`get_pnl`); without it, a `BACKEND_OTHER` refusal. */
  getPnl?(): Promise<PnlReport>;
  /**
   * Optional push feed. A backend that implements it must emit a `market` event for a symbol after
   * every change of its reference price, position or open orders, so the guard's view is never stale.
   * `pnl` events go only to listeners that ask for them (today's PnL is work on every fill).
   */
  subscribe?(listener: (event: BackendEvent) => void, topics?: SubscribeTopics): () => void;
  /**
   * Present when the order calls complete synchronously in-process (the mock without latency, the
   * backtest): the tools then call these, with no promise and no deadline (a synchronous call cannot
   * outlive one). Same rules and errors as the async methods.
   */
  readonly syncOrders?: SyncOrderOps;
}
