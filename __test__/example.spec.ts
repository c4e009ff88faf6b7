// The README's main job: the example drives every safety mode and prints acks, errors and metrics.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

const compiled = join(__dirname, '..', 'dist', 'examples', 'guarded-tools.js');

describe('examples/guarded-tools', () => {
  it('runs through DryRun, TwoPhase and Direct and prints a metrics snapshot', () => {
    const out = execFileSync(process.execPath, [compiled], { encoding: 'utf8' });
    for (const heading of ['== DryRun ==', '== TwoPhase ==', '== Direct ==', '== metrics snapshot']) expect(out).toContain(heading);
    expect(out).toContain('"status":"DryRun"');
    expect(out).toContain('"status":"PendingConfirm"');
    expect(out).toContain('"code":"CIRCUIT_BREAKER_OPEN"');
    expect(out).toContain('"code":"BACKEND_TIMEOUT"');
    expect(out).toMatch(/trading_daily_orders_count \d+/);
  });
});
