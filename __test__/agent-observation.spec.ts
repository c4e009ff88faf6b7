// The observation's `last_results` is written by hand (once per bar); it must be exactly what
// JSON.stringify would give, whatever the model named its tool and whatever the result holds.
import { describe, expect, it } from 'vitest';

import { lastResultsJson } from '../ts/agent/loop';

describe('observation last_results', () => {
  it('equals JSON.stringify for hostile tool names and contents', () => {
    const cases = [
      [],
      [{ tool: 'place_order', ok: true, content: '{"order_id":"bt-1","status":"Filled"}' }],
      [
        { tool: 'no"such\\tool\n', ok: false, content: '{"error_type":"InvalidArguments","message":"Arguments: unknown tool \'x\'"}' },
        { tool: 'query_portfolio', ok: true, content: 'ünïcödé € 😀 \u2028 \u0000 \uD800' },
      ],
    ];
    for (const results of cases) {
      const json = lastResultsJson(results);
      expect(json).toBe(JSON.stringify(results));
      expect(JSON.parse(json)).toEqual(results);
    }
  });
});
