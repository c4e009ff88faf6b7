// JSON Schemas the LLM sees, in OpenAI strict form so every provider's strict mode takes them
// unchanged: each property in `required`, optional ones typed `[T, "null"]` (the native parser reads
// `null` as absent), `additionalProperties: false`, no root `anyOf`, no `$schema`/`default`/length or
// range keywords. The rules those keywords would state (ranges, lengths, patterns, "price and/or
// quantity") are enforced by the native parser, whose message names the field; the descriptions
// state them for the model. __test__/schemas.spec.ts checks every schema against the parser.
import type { JsonSchema, JsonSchemaProperty, JsonSchemaTypeName } from './tool-types';

export type { JsonSchema, JsonSchemaProperty } from './tool-types';

type Scalar = Exclude<JsonSchemaTypeName, 'object' | 'array' | 'null'>;

const field = (type: Scalar, description: string): JsonSchemaProperty => ({ type, description });
const oneOf = (values: string[], description: string): JsonSchemaProperty => ({ type: 'string', enum: values, description });

/** An argument the parser lets the model leave out: `null` (or absence) means "not given". */
function optional(property: JsonSchemaProperty): JsonSchemaProperty {
  const type = Array.isArray(property.type) ? property.type : [property.type];
  return {
    ...property,
    type: [...type, 'null'],
    ...(property.enum === undefined ? {} : { enum: [...property.enum, null] }),
  };
}

/** A JsonSchema that keeps its property names in its type (so the argument types can be checked against them). */
export type StrictObjectSchema<K extends string> = Omit<JsonSchema, 'properties'> & { properties: Record<K, JsonSchemaProperty> };

/** A strict object schema: every property required (optional ones nullable), nothing else allowed. */
function strictObject<K extends string>(properties: Record<K, JsonSchemaProperty>): StrictObjectSchema<K> {
  return { type: 'object', properties, required: Object.keys(properties), additionalProperties: false };
}

const SYMBOL = 'Instrument, 1-32 characters of A-Z, 0-9 and - / _ . : (e.g. "BTC-USDT").';
const ID = '1-64 printable ASCII characters.';
const confirmToken = (): JsonSchemaProperty =>
  optional(field('string', 'TwoPhase mode: the confirm_token of the PendingConfirm answer, sent with the same order fields to place the order; null otherwise.'));

export const placeOrderSchema = strictObject({
  symbol: field('string', SYMBOL),
  side: oneOf(['Buy', 'Sell'], 'Order side.'),
  quantity: field('number', 'Base-asset quantity, > 0.'),
  order_type: optional(oneOf(['Limit', 'Market'], 'Limit (null means Limit) or Market.')),
  price: optional(field('number', 'Limit price, > 0: required for Limit, must be null for Market.')),
  stop_loss: optional(field('number', 'Protective stop price, > 0: below price for Buy, above for Sell.')),
  take_profit: optional(field('number', 'Profit target price, > 0: above price for Buy, below for Sell.')),
  time_in_force: optional(oneOf(['GTC', 'IOC', 'FOK'], 'GTC (null means GTC), IOC or FOK.')),
  confirm_token: confirmToken(),
  client_order_id: optional(field('string', `Your idempotency id for this order, ${ID}`)),
});

export const cancelOrderSchema = strictObject({
  order_id: field('string', `The order to cancel, ${ID}`),
});

export const replaceOrderSchema = strictObject({
  order_id: field('string', `The open order to change, ${ID}`),
  price: optional(field('number', 'New limit price, > 0. Give price, quantity or both.')),
  quantity: optional(field('number', 'New total quantity, > 0. Give price, quantity or both.')),
  confirm_token: confirmToken(),
});

export const queryPortfolioSchema = strictObject({
  symbol: optional(field('string', `Only this instrument; null for all. ${SYMBOL}`)),
});

export const getBookSnapshotSchema = strictObject({
  symbol: field('string', SYMBOL),
  levels: optional(field('integer', 'Price levels per side, a whole number from 1 to 50; null means 10.')),
});

export const getPnlSchema = strictObject({
  symbol: optional(field('string', `Only this instrument; null for all. ${SYMBOL}`)),
});

export const finishBarSchema = strictObject({
  note: optional(field('string', 'Why you end the turn, at most 500 characters; null for none.')),
});
