// One source of truth for each tool's fields: every schema is checked against what the native
// parser accepts (the property set, which are optional, their types and enums), and must pass the
// OpenAI SDKs' own strict conversion unchanged and ajv in strict mode.
import { transformJSONSchema } from '@anthropic-ai/sdk/lib/transform-json-schema';
import { tool as agentsTool } from '@openai/agents';
import Ajv2020 from 'ajv/dist/2020';
import { toStrictJsonSchema } from 'openai/lib/transform';
import { describe, expect, expectTypeOf, it } from 'vitest';

import { ACK_STATUSES } from '../../ts/native/layout';
import {
  cancelOrderSchema,
  finishBarSchema,
  getBookSnapshotSchema,
  getPnlSchema,
  placeOrderSchema,
  queryPortfolioSchema,
  replaceOrderSchema,
  TOOL_ACK_STATUSES,
  ToolError,
  type CancelOrderArgs,
  type FinishBarArgs,
  type GetBookSnapshotArgs,
  type GetPnlArgs,
  type JsonSchema,
  type PlaceOrderArgs,
  type QueryPortfolioArgs,
  type ReplaceOrderArgs,
  type Tool,
  type ToolAck,
} from '../../ts/index';
import { setup } from '../harness';

/** A valid value for every property of every tool (a tool without one here fails the first test). */
const EVERY_FIELD: Record<string, Record<string, unknown>> = {
  place_order: {
    symbol: 'BTC-USDT',
    side: 'Buy',
    quantity: 0.01,
    order_type: 'Limit',
    price: 20_000,
    stop_loss: 19_000,
    take_profit: 21_000,
    time_in_force: 'IOC',
    confirm_token: 'token-1',
    client_order_id: 'my-order-1',
  },
  cancel_order: { order_id: 'bt-1' },
  replace_order: { order_id: 'bt-1', price: 19_500, quantity: 0.02, confirm_token: 'token-1' },
  query_portfolio: { symbol: 'BTC-USDT' },
  get_book_snapshot: { symbol: 'BTC-USDT', levels: 5 },
  get_pnl: { symbol: 'BTC-USDT' },
  finish_bar: { note: 'nothing to do' },
};

/** The smallest call the parser accepts. */
const MINIMAL: Record<string, Record<string, unknown>> = {
  place_order: { symbol: 'BTC-USDT', side: 'Buy', quantity: 0.01, price: 20_000 },
  cancel_order: { order_id: 'bt-1' },
  replace_order: { order_id: 'bt-1', price: 19_500 },
  query_portfolio: {},
  get_book_snapshot: { symbol: 'BTC-USDT' },
  get_pnl: {},
  finish_bar: {},
};

type Outcome = { ok: true; json: Record<string, unknown> } | { ok: false; source: string; code: string; message: string };

async function outcome(tool: Tool, args: Record<string, unknown>): Promise<Outcome> {
  try {
    return { ok: true, json: JSON.parse(await tool.execute(JSON.stringify(args))) as Record<string, unknown> };
  } catch (error) {
    if (!(error instanceof ToolError)) throw error;
    return { ok: false, source: error.source, code: error.code, message: error.message };
  }
}

/** The parser's verdict on the arguments, without what a later stage (limits, mode, venue) adds. */
function parsed(result: Outcome): boolean {
  return result.ok || result.source !== 'Arguments';
}

const nullable = (schema: JsonSchema, key: string): boolean => {
  const type = schema.properties[key]?.type;
  return Array.isArray(type) && type.includes('null');
};
const quotedList = (text: string): string[] => [...text.matchAll(/"([^"]+)"/g)].map((m) => m[1] as string);

function withTools<T>(body: (tools: readonly Tool[]) => Promise<T>): Promise<T> {
  const { tools } = setup({ mode: 'DryRun' });
  return body(tools.tools).finally(() => {
    tools.close();
  });
}

describe('tool schemas', () => {
  it('are in strict form: every property required, optional ones nullable, nothing strict mode refuses', () => {
    const { tools } = setup({ mode: 'DryRun' });
    for (const tool of tools.tools) {
      const schema = tool.parameters;
      expect(Object.keys(schema).sort(), tool.name).toEqual(['additionalProperties', 'properties', 'required', 'type']);
      expect(schema.type).toBe('object');
      expect(schema.additionalProperties).toBe(false);
      expect([...schema.required].sort(), tool.name).toEqual(Object.keys(schema.properties).sort());
      for (const [key, property] of Object.entries(schema.properties)) {
        for (const keyword of Object.keys(property)) expect(['type', 'enum', 'description'], `${tool.name}.${key}`).toContain(keyword);
        if (property.enum !== undefined && nullable(schema, key)) expect(property.enum, `${tool.name}.${key}`).toContain(null);
      }
      expect(Object.keys(EVERY_FIELD[tool.name] ?? {}).sort(), `fixture for ${tool.name}`).toEqual(Object.keys(schema.properties).sort());
    }
    tools.close();
  });

  it('name exactly the fields the native parser knows (from its own "expected one of" list)', async () => {
    await withTools(async (tools) => {
      for (const tool of tools) {
        const result = await outcome(tool, { ...MINIMAL[tool.name], not_a_field: 1 });
        expect(result.ok, tool.name).toBe(false);
        if (result.ok) continue;
        expect(result.message, tool.name).toContain('unknown field `not_a_field`, expected one of: ');
        const known = result.message.split('expected one of: ')[1]?.split(', ') ?? [];
        expect(known.sort(), tool.name).toEqual(Object.keys(tool.parameters.properties).sort());
      }
    });
  });

  it('mark as optional (nullable) exactly what the parser lets a call leave out, and null means absent', async () => {
    await withTools(async (tools) => {
      for (const tool of tools) {
        const schema = tool.parameters;
        for (const key of Object.keys(schema.properties)) {
          const without = Object.fromEntries(Object.entries(MINIMAL[tool.name] ?? {}).filter(([name]) => name !== key));
          const absent = await outcome(tool, without);
          if (!nullable(schema, key)) {
            expect(absent, `${tool.name}.${key} left out`).toMatchObject({ ok: false, message: `Arguments: missing field \`${key}\`` });
            continue;
          }
          // Sent as null, exactly as a strict-mode model sends an optional field it does not use.
          const asNull = await outcome(tool, { ...without, [key]: null });
          expect(asNull.ok, `${tool.name}.${key}: null`).toBe(absent.ok);
          if (!asNull.ok && !absent.ok) expect(asNull.message).toBe(absent.message);
        }
      }
    });
  });

  it('give every property a type and enum the parser agrees with, and each valid value parses', async () => {
    await withTools(async (tools) => {
      for (const tool of tools) {
        const full = EVERY_FIELD[tool.name] ?? {};
        for (const [key, property] of Object.entries(tool.parameters.properties)) {
          const base = MINIMAL[tool.name] ?? {};
          const accepted = await outcome(tool, { ...base, [key]: full[key] });
          expect(parsed(accepted), `${tool.name}.${key} = ${JSON.stringify(full[key])}: ${JSON.stringify(accepted)}`).toBe(true);
          const types = Array.isArray(property.type) ? property.type : [property.type];
          const numeric = types.includes('number') || types.includes('integer');
          const wrong = numeric ? 'a string' : 12;
          const refused = await outcome(tool, { ...base, [key]: wrong });
          expect(refused.ok, `${tool.name}.${key} = ${JSON.stringify(wrong)}`).toBe(false);
          if (refused.ok) continue;
          if (property.enum !== undefined) {
            expect(refused.message).toContain(`field \`${key}\` must be one of `);
            expect(quotedList(refused.message.split(', got ')[0] ?? '')).toEqual(property.enum.filter((v) => v !== null));
            for (const value of property.enum.filter((v) => v !== null)) {
              const each = await outcome(tool, { ...base, ...(value === 'Market' ? { price: null } : {}), [key]: value });
              expect(parsed(each), `${tool.name}.${key} = ${String(value)}`).toBe(true);
            }
          } else {
            expect(refused.message).toBe(`Arguments: field \`${key}\` must be a ${numeric ? 'number' : 'string'}, got ${numeric ? 'string' : 'number'}`);
          }
        }
      }
    });
  });

  it('leave the dropped constraints to the parser, which names the field', async () => {
    await withTools(async (tools) => {
      const [place, cancel, replace, query] = tools as [Tool, Tool, Tool, Tool];
      const buy = MINIMAL.place_order;
      expect(await outcome(place, { ...buy, quantity: 0 })).toMatchObject({ message: 'Arguments: field `quantity` must be a finite number > 0, got 0' });
      expect(await outcome(place, { ...buy, price: -5 })).toMatchObject({ message: 'Arguments: field `price` must be a finite number > 0, got -5' });
      expect(await outcome(place, { ...buy, symbol: 'btc-usdt' })).toMatchObject({
        message: 'Arguments: field `symbol` must be 1-32 characters of A-Z, 0-9, \'-\', \'/\', \'_\', \'.\', \':\' (e.g. "BTC-USDT"), got "btc-usdt"',
      });
      expect(await outcome(place, { ...buy, client_order_id: '' })).toMatchObject({ message: 'Arguments: field `client_order_id` must be 1-64 printable ASCII characters' });
      expect(await outcome(cancel, { order_id: 'x'.repeat(65) })).toMatchObject({ message: 'Arguments: field `order_id` must be 1-64 printable ASCII characters' });
      const long = await outcome(query, { symbol: 'B'.repeat(33) });
      expect(long.ok).toBe(false);
      if (!long.ok) expect(long.message).toContain('field `symbol` must be 1-32 characters');
      // The root anyOf that was dropped: a strict-mode model sends both as null.
      const neither = { order_id: 'bt-1', price: null, quantity: null, confirm_token: null };
      expect(await outcome(replace, neither)).toMatchObject({ ok: false, code: 'INVALID_ARGUMENTS', message: 'Arguments: replace_order needs field `price` and/or field `quantity`' });
      // `levels` is an integer in the schema; its range (1-50) and wholeness are the parser's.
      const book = tools.find((t) => t.name === 'get_book_snapshot') as Tool;
      const levelsRule = 'Arguments: field `levels` must be a whole number from 1 to 50, got ';
      for (const levels of [0, 51, 2.5, -3]) expect(await outcome(book, { symbol: 'BTC-USDT', levels })).toMatchObject({ ok: false, code: 'INVALID_ARGUMENTS', message: `${levelsRule}${levels}` });
      const finish = tools.find((t) => t.name === 'finish_bar') as Tool;
      expect(await outcome(finish, { note: 'n'.repeat(501) })).toMatchObject({ ok: false, message: 'Arguments: field `note` must be at most 500 characters, got 501' });
    });
  });

  it('pass the OpenAI SDK strict conversion and the Agents SDK strict tool creation unchanged', () => {
    const { tools } = setup({ mode: 'DryRun' });
    for (const tool of tools.tools) {
      expect(toStrictJsonSchema(structuredClone(tool.parameters)), tool.name).toEqual(tool.parameters);
      const created = agentsTool({ name: tool.name, description: tool.description, parameters: structuredClone(tool.parameters), strict: true, execute: () => '' });
      expect(created.strict, tool.name).toBe(true);
      expect(created.parameters, tool.name).toEqual(tool.parameters);
    }
    tools.close();
  });

  it("pass Anthropic's strict-tool transform with nothing dropped or moved into a description", () => {
    const { tools } = setup({ mode: 'DryRun' });
    for (const tool of tools.tools) {
      // The transform writes an enum without its (redundant) type; everything else must come out as it went in.
      const expected = {
        ...tool.parameters,
        properties: Object.fromEntries(Object.entries(tool.parameters.properties).map(([key, { type, ...rest }]) => [key, rest.enum === undefined ? { type, ...rest } : rest])),
      };
      expect(transformJSONSchema(structuredClone(tool.parameters)), tool.name).toEqual(expected);
    }
    tools.close();
  });

  it('compile in ajv strict mode (draft 2020-12) and accept exactly what the fixtures send', () => {
    const { tools } = setup({ mode: 'DryRun' });
    for (const tool of tools.tools) {
      const validate = new Ajv2020({ strict: true }).compile(tool.parameters);
      const full = EVERY_FIELD[tool.name] ?? {};
      expect(validate(full), `${tool.name}: ${JSON.stringify(validate.errors)}`).toBe(true);
      expect(validate({ ...full, not_a_field: 1 })).toBe(false);
      const asNulls = Object.fromEntries(Object.keys(full).map((key) => [key, nullable(tool.parameters, key) ? null : full[key]]));
      expect(validate(asNulls), tool.name).toBe(true);
    }
    tools.close();
  });

  it('export argument types with the schemas\' field names, and ack statuses the guard writes', async () => {
    expectTypeOf<keyof PlaceOrderArgs>().toEqualTypeOf<keyof typeof placeOrderSchema.properties>();
    expectTypeOf<keyof CancelOrderArgs>().toEqualTypeOf<keyof typeof cancelOrderSchema.properties>();
    expectTypeOf<keyof ReplaceOrderArgs>().toEqualTypeOf<keyof typeof replaceOrderSchema.properties>();
    expectTypeOf<keyof QueryPortfolioArgs>().toEqualTypeOf<keyof typeof queryPortfolioSchema.properties>();
    expectTypeOf<keyof GetBookSnapshotArgs>().toEqualTypeOf<keyof typeof getBookSnapshotSchema.properties>();
    expectTypeOf<keyof GetPnlArgs>().toEqualTypeOf<keyof typeof getPnlSchema.properties>();
    expectTypeOf<keyof FinishBarArgs>().toEqualTypeOf<keyof typeof finishBarSchema.properties>();
    expect([...TOOL_ACK_STATUSES].sort()).toEqual([...ACK_STATUSES, 'DryRun', 'PendingConfirm'].sort());

    const ackKeys: Array<keyof ToolAck> = ['order_id', 'symbol', 'side', 'quantity', 'status', 'timestamp_ms'];
    const { tools } = setup({ mode: 'TwoPhase' });
    const pending = JSON.parse(await tools.placeOrder.execute(JSON.stringify(MINIMAL.place_order))) as ToolAck;
    expect(Object.keys(pending)).toEqual([...ackKeys, 'confirm_token']);
    expect(pending.status).toBe('PendingConfirm');
    tools.close();
  });
});
