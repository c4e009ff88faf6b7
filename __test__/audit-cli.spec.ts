// `llm-trading-agent audit verify|show` as a process, on the audit file a real backtest run of the
// program wrote: it verifies, and each kind of tampering is caught at the right line.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import { AuditLog } from '../ts/agent/audit';

const CLI = join(__dirname, '..', 'dist', 'ts', 'cli.js');
const run = (args: string[]) => {
  const result = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH } });
  return { code: result.status, out: result.stdout, err: result.stderr };
};

const backtestConfig = (dir: string, audit: string) => {
  const path = join(dir, 'config.toml');
  writeFileSync(
    path,
    `[trading]\nbackend = "backtest"\n[safety]\nmode = "Direct"\n[risk]\nmax_order_notional = 50000.0\nallowed_symbols = ["BTC-USDT"]\n[backtest]\nbars = 1500\n` +
      `report = "${join(dir, 'report.html')}"\nsummary_json = "${join(dir, 'summary.json')}"\naudit = "${audit}"\n`,
  );
  return path;
};

let runDir: string;
let original: string;
/** The run's audit lines (without line ends). */
let lines: string[];

/** A copy of the run's audit file with `edit` applied to its lines; `end` is what follows the last line. */
function tampered(name: string, edit: (lines: string[]) => string[], end = '\n'): string {
  const path = join(mkdtempSync(join(tmpdir(), `axon-audit-${name}-`)), 'audit.jsonl');
  writeFileSync(path, `${edit([...lines]).join('\n')}${end}`);
  return path;
}

/** The line number of the `n`-th tool record (1-based lines): tampering lands among real decisions. */
function toolLine(n: number): number {
  let seen = 0;
  for (let i = 0; i < lines.length; i += 1) if ((lines[i] as string).includes('"kind":"tool"') && ++seen === n) return i + 1;
  throw new Error(`fewer than ${n} tool records`);
}

beforeAll(() => {
  runDir = mkdtempSync(join(tmpdir(), 'axon-audit-run-'));
  original = join(runDir, 'audit.jsonl');
  const result = run(['backtest', '--config', backtestConfig(runDir, original)]);
  expect(result.code, result.err).toBe(0);
  lines = readFileSync(original, 'utf8').split('\n');
  expect(lines.pop()).toBe('');
  expect(lines.length).toBeGreaterThan(100);
});

describe('llm-trading-agent audit verify on a real backtest run', () => {
  it('passes, printing the record count and the head', () => {
    const { code, out } = run(['audit', 'verify', original]);
    expect(code, out).toBe(0);
    const last = JSON.parse(lines.at(-1) as string) as { seq: number };
    expect(last.seq).toBe(lines.length);
    expect(out).toMatch(new RegExp(`^audit verify: OK: ${lines.length} records in 1 file\\(s\\) .*seq 1\\.\\.${lines.length}, head ${lines.length}:[0-9a-f]{64}\\n$`));
  });

  it('a flipped byte anywhere in a record (its prev, its fields, its closing brace) is named at that line', () => {
    const at = toolLine(3);
    const line = lines[at - 1] as string;
    for (const offset of [20, line.indexOf('"kind"') + 3, line.indexOf('"result"') + 14, line.length - 1]) {
      const path = tampered(`flip${offset}`, (l) => {
        const text = l[at - 1] as string;
        l[at - 1] = `${text.slice(0, offset)}${String.fromCharCode(text.charCodeAt(offset) ^ 1)}${text.slice(offset + 1)}`;
        return l;
      });
      const { code, out } = run(['audit', 'verify', path]);
      expect(code, `offset ${offset}: ${out}`).toBe(1);
      expect(out).toMatch(new RegExp(`^audit verify: FAILED: modified at ${path.replace(/[.]/g, '\\.')}:${at}\\b`));
    }
  });

  it('a deleted line is named where it was: the records after the gap start there', () => {
    const at = toolLine(4);
    const path = tampered('delete', (l) => [...l.slice(0, at - 1), ...l.slice(at)]);
    const { code, out } = run(['audit', 'verify', path]);
    expect(code).toBe(1);
    expect(out).toContain(`audit verify: FAILED: removed at ${path}:${at} (seq ${at + 1})`);
    expect(out).toContain(`seq ${at} is missing`);
  });

  it('two swapped lines are named at the first of them', () => {
    const at = toolLine(5);
    const path = tampered('swap', (l) => {
      [l[at - 1], l[at]] = [l[at] as string, l[at - 1] as string];
      return l;
    });
    const { code, out } = run(['audit', 'verify', path]);
    expect(code).toBe(1);
    expect(out).toContain(`audit verify: FAILED: reordered at ${path}:${at} (seq ${at + 1})`);
  });

  it('a truncated tail (a record cut mid-line) is named at its line', () => {
    const path = tampered('truncate', (l) => {
      l[l.length - 1] = (l.at(-1) as string).slice(0, 40);
      return l;
    }, '');
    const { code, out } = run(['audit', 'verify', path]);
    expect(code).toBe(1);
    expect(out).toContain(`audit verify: FAILED: torn at ${path}:${lines.length}`);
  });

  it('an inserted line is named at its line: a copy of a record, a made-up record, or one forged to link to the record before', () => {
    const at = toolLine(6);
    const copied = tampered('copy', (l) => [...l.slice(0, at - 1), l[at - 10] as string, ...l.slice(at - 1)]);
    const madeUp = tampered('madeup', (l) => [...l.slice(0, at - 1), '{"kind":"tool","time_ms":1,"step":1,"tool":"cancel_order","args":"{}","ok":true,"result":"{}"}', ...l.slice(at - 1)]);
    // The forger knows the format: the right seq and the hash of the line before. The genuine record after it gives it away.
    const forged = tampered('forged', (l) => {
      const prev = createHash('sha256').update(l[at - 2] as string).digest('hex');
      return [...l.slice(0, at - 1), `{"seq":${at},"prev":"${prev}","kind":"tool","time_ms":1,"step":1,"tool":"place_order","args":"{}","ok":true,"result":"{\\"status\\":\\"Filled\\"}"}`, ...l.slice(at - 1)];
    });
    for (const [path, kind] of [[copied, 'inserted'], [madeUp, 'modified'], [forged, 'inserted']] as const) {
      const { code, out } = run(['audit', 'verify', path]);
      expect(code, out).toBe(1);
      expect(out).toContain(`audit verify: FAILED: ${kind} at ${path}:${at}`);
    }
  });

  it('whole records cut from the end are caught against the head the writer reported (--head), and a head the chain holds passes', () => {
    const head = /head (\d+:[0-9a-f]{64})/.exec(run(['audit', 'verify', original]).out)?.[1] as string;
    const cut = tampered('cut', (l) => l.slice(0, -3));
    expect(run(['audit', 'verify', cut]).code).toBe(0);
    const { code, out } = run(['audit', 'verify', '--head', head, cut]);
    expect(code).toBe(1);
    expect(out).toContain(`audit verify: FAILED: head-not-found at ${cut}:${lines.length - 2}`);
    expect(run(['audit', 'verify', '--head', head, original]).code).toBe(0);
  });
});

describe('llm-trading-agent audit on a chain the program continues and rotates', () => {
  it('a second run on the same audit file continues the chain; a torn file makes the next run refuse to start', () => {
    const dir = mkdtempSync(join(tmpdir(), 'axon-audit-rerun-'));
    const path = join(dir, 'audit.jsonl');
    copyFileSync(original, path);
    const config = backtestConfig(dir, path);
    expect(run(['backtest', '--config', config]).code).toBe(0);
    const verified = run(['audit', 'verify', path]);
    expect(verified.code, verified.out).toBe(0);
    expect(verified.out).toContain(`seq 1..${lines.length * 2},`);

    writeFileSync(path, readFileSync(path, 'utf8').slice(0, -10));
    const refused = run(['backtest', '--config', config]);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain(`audit error (AUDIT_TAIL_TORN): ${path}: the last record is torn`);
  });

  it('verify across rotated files passes; with a middle file gone it fails naming that file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'axon-audit-rotate-'));
    const base = join(dir, 'audit.jsonl');
    const log = new AuditLog(base, { maxBytes: 64 * 1024 });
    for (const line of lines) {
      const { seq, prev, ...record } = JSON.parse(line) as { seq: number; prev: string } & Parameters<AuditLog['write']>[0];
      expect([seq > 0, /^[0-9a-f]{64}$/.test(prev)]).toEqual([true, true]);
      log.write(record); // the run's records, chained afresh into rotated files
    }
    log.close();
    const files = [base];
    for (let n = 1; existsSync(join(dir, `audit.${n}.jsonl`)); n += 1) files.push(join(dir, `audit.${n}.jsonl`));
    expect(files.length).toBeGreaterThanOrEqual(3);
    for (const args of [[base], files]) {
      const { code, out } = run(['audit', 'verify', ...args]);
      expect(code, out).toBe(0);
      expect(out).toContain(`in ${files.length} file(s) (${files.join(', ')}), seq 1..${lines.length + files.length - 1},`);
    }
    const middle = Math.floor(files.length / 2);
    renameSync(files[middle] as string, join(dir, 'elsewhere.jsonl'));
    for (const args of [[base], files.filter((_, i) => i !== middle)]) {
      const { code, out } = run(['audit', 'verify', ...args]);
      expect(code).toBe(1);
      expect(out).toContain(`audit verify: FAILED: missing-file at ${files[middle + 1]}:1`);
      expect(out).toContain(`${files[middle]} is missing`);
    }
  });
});

describe('llm-trading-agent audit show', () => {
  it('summarises the run as its summary.json counts it: orders by status, refusals by code, model calls, period', () => {
    const summary = JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8')) as { modelCalls: number; ordersByStatus: Record<string, number>; rejectionsByCode: Record<string, number> };
    const { code, out } = run(['audit', 'show', original]);
    expect(code, out).toBe(0);
    expect(out).toContain(`  chain:          verified, seq 1..${lines.length}, head ${lines.length}:`);
    expect(out).toContain(`  model calls:    ${summary.modelCalls} (0 failed)`);
    for (const [status, n] of Object.entries(summary.ordersByStatus)) expect(out).toMatch(new RegExp(`  orders: .*\\b${status} ${n}\\b`));
    for (const [codeName, n] of Object.entries(summary.rejectionsByCode)) expect(out).toMatch(new RegExp(`  refusals: .*\\b${codeName} ${n}\\b`));
    expect(Object.keys(summary.rejectionsByCode).length).toBeGreaterThan(0);
    expect(out).toMatch(/ {2}period: {9}\d{4}-\d\d-\d\dT[\d:.]+Z \.\. \d{4}-\d\d-\d\dT[\d:.]+Z/);
    expect(out).toContain('  state changes:  none');
  });

  it('says the chain is broken (and exits 1) on a tampered file, still summarising it', () => {
    const path = tampered('show', (l) => [...l.slice(0, 5), ...l.slice(6)]);
    const { code, out } = run(['audit', 'show', path]);
    expect(code).toBe(1);
    expect(out).toContain(`  chain:          BROKEN (removed) ${path}:6 (seq 7)`);
    expect(out).toContain(`  records:        ${lines.length - 1}`);
  });

  it('usage errors exit 2 naming the problem', () => {
    expect(run(['audit'])).toMatchObject({ code: 2, err: expect.stringContaining('audit: verify or show is required') as string });
    expect(run(['audit', 'verify'])).toMatchObject({ code: 2, err: expect.stringContaining('verify: at least one PATH is required') as string });
    expect(run(['audit', 'check', 'x'])).toMatchObject({ code: 2, err: expect.stringContaining("unknown action 'check'") as string });
    expect(run(['audit', 'verify', '--head', 'abc', original])).toMatchObject({ code: 2, err: expect.stringContaining("--head must be HASH or SEQ:HASH (64 lowercase hex digits), got 'abc'") as string });
    expect(run(['audit', 'verify', join(runDir, 'nowhere.jsonl')])).toMatchObject({ code: 1, err: expect.stringContaining(`audit error: ${join(runDir, 'nowhere.jsonl')}: cannot be read`) as string });
  });
});
