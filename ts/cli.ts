#!/usr/bin/env node
// llm-trading-agent: the reference program (SPEC §8, runbook §1-§2).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { backtestCommand } from './agent/backtest-command';
import { killCommand } from './agent/kill-command';
import { liveCommand } from './agent/live-command';
import { DEFAULT_CONFIG_TOML, loadConfig, parseConfig, type AgentConfig } from './config';
import { native } from './native/index';
import { formatFindings, selfCheck } from './self-check';
import { auditCommand } from './audit/command';
import { mcpCommand } from './mcp/command';

const USAGE = `usage: llm-trading-agent [backtest] [--config PATH] [--data PATH] [--report PATH] [--self-check | --kill | --version]
  (no command)    run the agent on the config's backend: live on exchange, oms or mock; a backtest on backtest
  backtest        run the agent over market data (default: the embedded generated data)
  mcp             serve the guarded tools to MCP clients (llm-trading-agent mcp --help)
  audit           verify or summarise an audit chain (llm-trading-agent audit --help)
  --config PATH   the TOML config (runbook §1.3); \${VAR} expands from the environment
  --data PATH     market data for backtest (bars CSV, ccxt JSON, Binance klines, trades CSV)
  --report PATH   where report.html goes (default: [backtest] report; a live run's: live-report.html beside its summary)
  --self-check    validate config, addon, risk chain, breaker and backend; exit 1 on any problem
  --kill          kill switch on the config's live backend: POST /kill to the running agent at
                  [admin] listen (if any), then cancel every open order of the account and print
                  them; exit 1 when a cancel failed (no [admin]: halt the agent with kill -USR1 <pid>)
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

export async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'mcp') return mcpCommand(argv.slice(1));
  if (argv[0] === 'audit') return auditCommand(argv.slice(1), { out: process.stdout, err: process.stderr });
  let values: { config?: string; data?: string; report?: string; 'self-check'?: boolean; kill?: boolean; version?: boolean; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      options: {
        config: { type: 'string' },
        data: { type: 'string' },
        report: { type: 'string' },
        'self-check': { type: 'boolean' },
        kill: { type: 'boolean' },
        version: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
      strict: true,
    }));
    if (positionals.length > 1 || (positionals.length === 1 && positionals[0] !== 'backtest')) {
      throw new Error(`unknown command ${positionals.join(' ')}`);
    }
    if (values.kill === true && positionals[0] === 'backtest') throw new Error('--kill is for live backends (exchange, oms, mock), not the backtest command');
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
    const findings = await selfCheck(values.config);
    process.stdout.write(`${formatFindings(findings)}\n`);
    const problems = findings.filter((f) => !f.ok).length;
    process.stdout.write(problems === 0 ? 'self-check passed\n' : `self-check failed: ${problems} problem(s)\n`);
    return problems === 0 ? 0 : 1;
  }
  let config: AgentConfig;
  try {
    config = values.config === undefined ? parseConfig(DEFAULT_CONFIG_TOML, process.env, 'embedded default') : loadConfig(values.config);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 1;
  }
  if (values.kill === true) {
    try {
      return await killCommand({ config, out: process.stdout, err: process.stderr });
    } catch (error) {
      process.stderr.write(`llm-trading-agent --kill: ${(error as Error).message}\n`);
      return 1;
    }
  }
  // SIGINT/SIGTERM: finish the step in flight, write the reports, exit 0.
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const live = positionals[0] !== 'backtest' && config.trading.backend !== 'backtest';
    if (live) return await liveCommand({ config, report: values.report, out: process.stdout, err: process.stderr, signal: stop.signal });
    return await backtestCommand({ config, data: values.data, report: values.report, out: process.stdout, err: process.stderr, signal: stop.signal });
  } catch (error) {
    process.stderr.write(`llm-trading-agent: ${(error as Error).message}\n`);
    return 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
