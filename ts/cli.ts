#!/usr/bin/env node
// llm-trading-agent: the reference program (SPEC §8, runbook §1-§2).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { native } from './native';
import { formatFindings, selfCheck } from './self-check';

const USAGE = `usage: llm-trading-agent [--config PATH] [--self-check | --version]
  --config PATH   the TOML config (runbook §1.3); \${VAR} expands from the environment
  --self-check    validate config, addon, risk chain, breaker and backend; exit 1 on any problem
  --version       print the package version and the native addon's build`;

function packageVersion(): string {
  for (const up of ['..', join('..', '..')]) {
    try {
      const pkg = JSON.parse(readFileSync(join(__dirname, up, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'axon-llm' && pkg.version !== undefined) return pkg.version;
    } catch {
      // try the next level up
    }
  }
  return 'unknown';
}

export function main(argv: string[]): number {
  let values: { config?: string; 'self-check'?: boolean; version?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { config: { type: 'string' }, 'self-check': { type: 'boolean' }, version: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (values.version === true) {
    process.stdout.write(`llm-trading-agent ${packageVersion()} (native: ${native.buildInfo()})\n`);
    return 0;
  }
  if (values['self-check'] === true) {
    const findings = selfCheck(values.config);
    process.stdout.write(`${formatFindings(findings)}\n`);
    const problems = findings.filter((f) => !f.ok).length;
    process.stdout.write(problems === 0 ? 'self-check passed\n' : `self-check failed: ${problems} problem(s)\n`);
    return problems === 0 ? 0 : 1;
  }
  process.stderr.write('llm-trading-agent: running the agent loop is not available in this version yet; use --self-check or --version\n');
  return 2;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
