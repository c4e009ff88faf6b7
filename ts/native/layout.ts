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
  NeedState: 5,
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

// Matching engine.

/** Slots of the matching engine's result buffer (`engineResultBuffer`). */
export const EngineSlot = {
  /** last submit/replace: the order id */
  OrderId: 0,
  /** last submit/replace: an index of `ENGINE_STATUSES` */
  Status: 1,
  /** last submit/replace: an index of `ENGINE_REJECT_REASONS` (0: none) */
  Reason: 2,
  /** last submit/replace: quantity filled */
  FilledQuantity: 3,
  /** last submit/replace: quantity resting, cancelled or untouched */
  RemainingQuantity: 4,
  /** last submit/replace: its number of fills */
  FillCount: 5,
  /** last submit/replace: `FilledQuantity` in lots */
  FilledLots: 6,
  /** last submit/replace: `RemainingQuantity` in lots */
  RemainingLots: 7,
  /** last batch: fill rows written */
  BatchFills: 8,
  /** last batch: an index of `BATCH_STOPS` */
  BatchStop: 9,
} as const;
/** Start of the order info (`engineCancel`, `engineOrder`) or level info (`engineBest`). */
export const ENGINE_INFO_AT = 10;
/** Order info, from `ENGINE_INFO_AT`. */
export const EngineOrderInfo = {
  OrderId: 0,
  Symbol: 1,
  Side: 2,
  Price: 3,
  RemainingQuantity: 4,
  OriginalQuantity: 5,
  PostOnly: 6,
} as const;
/** Level info, from `ENGINE_INFO_AT`. */
export const EngineLevelInfo = {
  Price: 0,
  Quantity: 1,
  Orders: 2,
  PriceTicks: 3,
  QuantityLots: 4,
} as const;
/** Numbers per depth row (`engineDepth`): the first of `EngineLevelInfo` (price, quantity, orders). */
export const LEVEL_STRIDE = 3;
/** Start of the first fills (`FILL_STRIDE` numbers each) of the last submit/replace. */
export const ENGINE_FILLS_AT = 24;
/** Fill rows the result buffer holds; more are read with `engineReadFills`. */
export const INLINE_FILL_ROWS = 64;
/** Numbers in the result buffer. */
export const ENGINE_RESULT_LEN = 600;
/** A batch result row (`FillStart` counts from the call's first fill row). */
export const BatchResultColumn = {
  OrderId: 0,
  Status: 1,
  Reason: 2,
  FilledQuantity: 3,
  RemainingQuantity: 4,
  FillStart: 5,
  FillCount: 6,
} as const;
/** Numbers per batch result row. */
export const RESULT_STRIDE = 7;
/** A fill row (batch fills, inline fills, `engineReadFills`). */
export const FillColumn = {
  Seq: 0,
  MakerOrderId: 1,
  TakerOrderId: 2,
  Symbol: 3,
  Price: 4,
  Quantity: 5,
  TakerSide: 6,
  PriceTicks: 7,
  QuantityLots: 8,
} as const;
/** Numbers per fill row. */
export const FILL_STRIDE = 9;
/** `EngineSlot.Status` and `BatchResultColumn.Status` (`Error`: batch only). */
export const ENGINE_STATUSES = ['New', 'PartiallyFilled', 'Filled', 'Cancelled', 'Rejected', 'Error'] as const;
/** `Reason` of a `Rejected` status (index 0: none). */
export const ENGINE_REJECT_REASONS = [null, 'FokNotFillable', 'PostOnlyWouldCross'] as const;
/** `Reason` of a batch row with status `Error`: the engine error's kind (index 0: none). */
export const ENGINE_ERRORS = [null, 'UnknownSymbol', 'UnknownOrder', 'NonFinite', 'NonPositive', 'OffGrid', 'OutOfRange', 'InvalidField', 'CapacityExceeded', 'QuantityOverflow', 'BatchLengthMismatch'] as const;
/** Batch `op` codes. */
export const BatchOp = {
  Limit: 0,
  Market: 1,
  Cancel: 2,
  Replace: 3,
} as const;
/** Batch `flags` bit: post-only. */
export const BATCH_FLAG_POST_ONLY = 1;
/** `EngineSlot.BatchStop`: why the last batch returned. */
export const BATCH_STOPS = ['Completed', 'ResultsFull', 'FillsFull'] as const;
/** Engine side codes (orders, fills, batch `side`). */
export const ENGINE_SIDES = ['Buy', 'Sell'] as const;
/** Order type codes of `engineSubmit`. */
export const ENGINE_ORDER_TYPES = ['Limit', 'Market'] as const;
/** Time-in-force codes of `engineSubmit` and batch `timeInForce`. */
export const ENGINE_TIME_IN_FORCES = ['GTC', 'IOC', 'FOK'] as const;
