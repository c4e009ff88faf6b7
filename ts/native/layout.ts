// Generated from crates/axon-node/src/raw/layout.rs (`typescript()`): do not edit.
// Regenerate: AXON_WRITE_LAYOUT=1 cargo test -p axon-node generated_typescript_layout

/** Slots of the guard's decision buffer. */
export const Slot = {
  /** a `DecisionKind` */
  Kind: 0,
  /** SEND: the ticket `recordAck` / `recordFailure` settle */
  Ticket: 1,
  /** SEND: an index of `ACTIONS` */
  Action: 2,
  /** SEND place: an index of `SIDES` */
  Side: 3,
  /** SEND place, replace (NaN: unchanged) */
  Quantity: 4,
  /** SEND place: an index of `ORDER_TYPES` */
  OrderType: 5,
  /** SEND place, replace (NaN: none / unchanged) */
  Price: 6,
  /** SEND place (NaN: none) */
  StopLoss: 7,
  /** SEND place (NaN: none) */
  TakeProfit: 8,
  /** SEND place: an index of `TIME_IN_FORCES` */
  TimeInForce: 9,
  /** REJECTED: an index of `CODES` */
  Code: 10,
  /** REJECTED: an index of `SOURCES` */
  Source: 11,
  /** SEND place: the symbol's market slot (`guardMarketSymbol`) */
  Market: 12,
  /** DONE: an index of `DONE_STATUSES` */
  Status: 13,
  /** SEND book_snapshot: levels per side (1-50) */
  Levels: 14,
} as const;

export const DECISION_SLOTS = 15;

/** Slot `Kind` of a decision. */
export const DecisionKind = {
  Done: 0,
  Rejected: 1,
  Send: 2,
  NeedMarket: 3,
  NeedOrder: 4,
} as const;

/** Slot `Action` of a SEND decision. */
export const ACTIONS = ['place', 'cancel', 'replace', 'query', 'book_snapshot', 'pnl', 'finish_bar'] as const;
/** Slot `Side`; `guardRecordAck` takes `SIDES.length` for none. */
export const SIDES = ['Buy', 'Sell'] as const;
/** Slot `OrderType`. */
export const ORDER_TYPES = ['Limit', 'Market'] as const;
/** Slot `TimeInForce`. */
export const TIME_IN_FORCES = ['GTC', 'IOC', 'FOK'] as const;
/** Slot `Code` of a REJECTED decision: SPEC §2 machine codes. */
export const CODES = ['INVALID_ARGUMENTS', 'SYMBOL_NOT_ALLOWED', 'MAX_ORDER_NOTIONAL', 'MAX_POSITION_ABS', 'MAX_DAILY_ORDERS', 'MAX_DAILY_CANCELS', 'NO_REFERENCE_PRICE', 'CIRCUIT_BREAKER_OPEN', 'PNL_BREAKER_OPEN', 'CONFIRM_TOKEN_INVALID', 'CONFIRM_TOKEN_EXPIRED', 'CONFIRM_ARGS_MISMATCH', 'PENDING_CONFIRM_LIMIT', 'BACKEND_NETWORK', 'BACKEND_REJECTED', 'BACKEND_TIMEOUT', 'BACKEND_INSUFFICIENT_FUNDS', 'BACKEND_SYMBOL_NOT_FOUND', 'BACKEND_OTHER', 'PRICE_COLLAR', 'STALE_REFERENCE_PRICE', 'MAX_ORDER_QUANTITY', 'MIN_ORDER_NOTIONAL', 'RATE_LIMITED', 'DUPLICATE_ORDER', 'MAX_OPEN_ORDERS', 'SELF_TRADE', 'STATE_UNAVAILABLE', 'REDUCE_ONLY', 'TRADING_HALTED'] as const;
/** Slot `Source` of a REJECTED decision: `[source, error_type]`. */
export const SOURCES = [['Arguments', 'InvalidArguments'], ['SafetyMode', 'ExecutionFailed'], ['RiskLimits', 'ExecutionFailed'], ['RiskGate', 'ExecutionFailed'], ['Backend', 'ExecutionFailed']] as const;
/** The `status` argument of `guardRecordAck`. */
export const ACK_STATUSES = ['New', 'PartiallyFilled', 'Filled', 'Cancelled', 'Replaced'] as const;
/** Slot `Status` of a DONE decision. */
export const DONE_STATUSES = ['DryRun', 'PendingConfirm'] as const;
/** The `tool` argument of `guardDecide`. */
export const TOOLS = ['place_order', 'cancel_order', 'replace_order', 'query_portfolio', 'get_book_snapshot', 'get_pnl', 'finish_bar'] as const;
/** Cells per market slot of the feed: price (NaN: none), position, open buy, open sell, version. */
export const FEED_STRIDE = 5;
