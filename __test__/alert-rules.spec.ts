// The shipped Prometheus alert rules are valid and fire on the runbook's symptoms (promtool unit
// tests), and every metric they use is one the product exports.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { TradingMetrics } from '../ts/index';

const DIR = join(__dirname, '..', 'deploy', 'prometheus');

describe('alert rules', () => {
  it('promtool checks the rules and passes their unit tests', () => {
    const check = execFileSync('promtool', ['check', 'rules', 'alerts.yml'], { cwd: DIR, encoding: 'utf8' });
    expect(check).toContain('SUCCESS: 5 rules found');
    const test = execFileSync('promtool', ['test', 'rules', 'alerts.test.yml'], { cwd: DIR, encoding: 'utf8' });
    expect(test).toContain('SUCCESS');
  });

  it('names the five runbook alerts and only metrics the product exports', () => {
    const rules = readFileSync(join(DIR, 'alerts.yml'), 'utf8');
    const alerts = [...rules.matchAll(/- alert: (\w+)/g)].map((m) => m[1]);
    expect(alerts).toEqual(['HighRiskRejection', 'CircuitBreakerOpen', 'BackendErrorSpike', 'LatencyP99TooHigh', 'DailyOrderBurst']);
    const exported = new TradingMetrics().prometheus();
    for (const metric of new Set([...rules.matchAll(/\b(trading_[a-z_]+)/g)].map((m) => m[1] as string))) {
      const family = metric.replace(/_bucket$/, '');
      expect(exported, metric).toContain(`# TYPE ${family} `);
    }
  });
});
