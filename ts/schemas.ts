// JSON Schemas (draft 2020-12) the LLM sees. The native guard enforces the same rules on every call;
// these describe them to the model, they do not replace them.

export type JsonSchema = Readonly<Record<string, unknown>>;

const DRAFT = 'https://json-schema.org/draft/2020-12/schema';
const symbol = { type: 'string', pattern: '^[A-Z0-9/_.:-]{1,32}$', description: 'Instrument, e.g. "BTC-USDT".' } as const;
const positive = (description: string) => ({ type: 'number', exclusiveMinimum: 0, description }) as const;
const confirmToken = {
  type: 'string',
  description: 'TwoPhase mode: the confirm_token from the PendingConfirm answer, with the same order fields.',
} as const;

export const placeOrderSchema: JsonSchema = {
  $schema: DRAFT,
  type: 'object',
  additionalProperties: false,
  required: ['symbol', 'side', 'quantity'],
  properties: {
    symbol,
    side: { type: 'string', enum: ['Buy', 'Sell'] },
    quantity: positive('Base-asset quantity, > 0.'),
    order_type: { type: 'string', enum: ['Limit', 'Market'], default: 'Limit' },
    price: positive('Limit price; required for Limit, forbidden for Market.'),
    stop_loss: positive('Protective stop price (below price for Buy, above for Sell).'),
    take_profit: positive('Profit target price (above price for Buy, below for Sell).'),
    time_in_force: { type: 'string', enum: ['GTC', 'IOC', 'FOK'], default: 'GTC' },
    confirm_token: confirmToken,
    client_order_id: { type: 'string', minLength: 1, maxLength: 64, description: 'Your idempotency id for this order.' },
  },
};

export const cancelOrderSchema: JsonSchema = {
  $schema: DRAFT,
  type: 'object',
  additionalProperties: false,
  required: ['order_id'],
  properties: { order_id: { type: 'string', minLength: 1, maxLength: 64 } },
};

export const replaceOrderSchema: JsonSchema = {
  $schema: DRAFT,
  type: 'object',
  additionalProperties: false,
  required: ['order_id'],
  anyOf: [{ required: ['price'] }, { required: ['quantity'] }],
  properties: {
    order_id: { type: 'string', minLength: 1, maxLength: 64 },
    price: positive('New limit price.'),
    quantity: positive('New total quantity.'),
    confirm_token: confirmToken,
  },
};

export const queryPortfolioSchema: JsonSchema = {
  $schema: DRAFT,
  type: 'object',
  additionalProperties: false,
  properties: { symbol: { ...symbol, description: 'Only this instrument (optional).' } },
};
