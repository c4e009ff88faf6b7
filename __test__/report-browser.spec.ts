// report.html in a real headless Chromium (Debian chromium + playwright-core), from the real
// program: each chart's canvas is drawn from the run's numbers (read back from the chart library's
// series API and compared with summary.json), canvases are not blank, the wheel zooms, nothing is
// fetched, no console error; hostile strings from the model stay text. Screenshots are kept in
// test-artifacts/.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { backtestReportData, renderReportPage, type ToolAuditRecord } from '../ts/agent/report';
import { runAgentBacktest, type AgentBacktestSummary } from '../ts/agent/run-backtest';
import { ScriptedProvider } from '../ts/llm/scripted-provider';
import { generateBars } from '../ts/market-data-generator';
import type { LiveSummary } from '../ts/agent/live-command';
import { startFakeBinance, type FakeBinance } from './support/fake-binance';
import { startFakeOpenAI, type FakeOpenAI } from './support/openai-server';

const ROOT = join(__dirname, '..');
const CLI = join(ROOT, 'dist', 'ts', 'cli.js');
const ARTIFACTS = join(ROOT, 'test-artifacts');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const DAY_MS = 86_400_000;
const KEY = 'report-key-0123456789ab';
const SECRET = 'report-secret-abcdef012345';

interface SeriesCounts {
  points: number;
  sum: number;
  min: number | null;
  last: number | null;
}
type Counts = Record<string, { series: Record<string, SeriesCounts>; markers: number }>;

let browser: Browser;
beforeAll(async () => {
  // Never a skip: a machine without the browser fails here, naming the package to install.
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install the Debian package "chromium" (apt-get install chromium), or set CHROMIUM_PATH`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  mkdirSync(ARTIFACTS, { recursive: true });
}, 60_000);
afterAll(async () => {
  await (browser as Browser | undefined)?.close();
});

let model: FakeOpenAI | undefined;
let venue: FakeBinance | undefined;
afterEach(async () => {
  await model?.close();
  await venue?.close();
  model = undefined;
  venue = undefined;
});

/** The program as a process (not spawnSync: the local venue and model answer from this process). */
async function program(args: string[], cwd: string): Promise<{ stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { PATH: process.env.PATH } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  expect(code, stderr).toBe(0);
  return { stdout, stderr };
}

/** A page that records what would make a report untrustworthy: errors, requests, dialogs. */
async function open(file: string) {
  const page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') problems.push(`console ${message.type()}: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${String(error)}`));
  page.on('request', (request) => {
    if (!request.url().startsWith('file://')) problems.push(`request: ${request.url()}`);
  });
  page.on('dialog', (dialog) => {
    problems.push(`dialog: ${dialog.message()}`);
    void dialog.dismiss();
  });
  await page.goto(`file://${file}`);
  await page.waitForSelector('body[data-rendered="true"]', { timeout: 15_000 });
  const counts = await page.evaluate(() => (window as unknown as { axonReport: { counts(): Counts } }).axonReport.counts());
  return { page, problems, counts };
}

/** Pixels of a chart's canvases that are not its white background (the library draws on several layers). */
function inkedPixels(page: Page, chart: string): Promise<number> {
  return page.evaluate((id) => {
    let inked = 0;
    document.querySelectorAll(`#${id} canvas`).forEach((node) => {
      const canvas = node as HTMLCanvasElement;
      if (canvas.width === 0 || canvas.height === 0) return;
      const pixels = canvas.getContext('2d')?.getImageData(0, 0, canvas.width, canvas.height).data;
      if (pixels === undefined) return;
      for (let i = 0; i < pixels.length; i += 4) {
        const alpha = pixels[i + 3] as number;
        const light = Math.min(pixels[i] as number, pixels[i + 1] as number, pixels[i + 2] as number);
        if (alpha > 0 && light < 200) inked += 1;
      }
    });
    return inked;
  }, `${chart}-chart`);
}

/** UTC-aligned buckets of `widthMs` from the one holding `startMs` to the one holding `endMs`. */
function buckets(startMs: number, endMs: number, widthMs: number): number {
  return Math.floor(endMs / widthMs) - Math.floor(startMs / widthMs) + 1;
}

const utcDays = (startMs: number, endMs: number) => buckets(startMs, endMs, DAY_MS);

const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

describe('report.html of a backtest (the program, embedded default config)', () => {
  it('draws candles with one marker per fill, equity against buy-and-hold with drawdown, daily orders against the limit and refusals by code over time, from the run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'axon-report-'));
    const file = join(dir, 'custom-name.html');
    const { stdout } = await program(['backtest', '--report', file], dir);
    expect(stdout).toContain(`wrote ${file}, summary.json, audit.jsonl`);
    const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as AgentBacktestSummary;
    // The run has what each chart must show.
    expect(summary.trades).toBeGreaterThan(100);
    expect(Object.keys(summary.rejectionsByCode).length).toBeGreaterThanOrEqual(2);
    expect(summary.breakerOpenings).toBeGreaterThan(0);
    const days = utcDays(summary.startMs, summary.endMs);
    expect(days).toBeGreaterThan(20);

    const html = readFileSync(file, 'utf8');
    expect(html).toContain('TradingView Lightweight Charts'); // the inlined library's license notice
    expect(html).toContain('Licensed under Apache License 2.0');
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=/); // one self-contained file

    const { page, problems, counts } = await open(file);
    expect(await page.locator('.warning').count()).toBe(0); // the audit records are the whole run
    // Candles: one per bar on the bars' own times, one marker per fill.
    expect(counts.price?.series.candles?.points).toBe(summary.bars);
    expect(counts.price?.markers).toBe(summary.trades);
    // Equity: a point per bar, ending at the final equity; buy-and-hold alongside; drawdown pane down to the max drawdown.
    expect(counts.equity?.series.equity?.points).toBe(summary.bars);
    expect(counts.equity?.series.equity?.last).toBeCloseTo(summary.finalEquity, 6);
    expect(counts.equity?.series.buyAndHold?.points).toBe(summary.bars);
    expect(counts.equity?.series.drawdown?.points).toBe(summary.bars);
    expect(counts.equity?.series.drawdown?.min).toBeCloseTo(-summary.maxDrawdownPct, 9);
    // Orders per UTC day (the scripted agent only places orders: every ack took a daily slot) and the limit of the embedded config.
    expect(counts.orders?.series.orders?.points).toBe(days);
    expect(counts.orders?.series.orders?.sum).toBe(sum(summary.ordersByStatus));
    expect(counts.orders?.series.limit).toMatchObject({ points: days, min: 100, last: 100 });
    // Refusals: a series per code, a point per 4 hours (30 days fit in 180 such buckets), adding up to the run's count.
    expect(await page.locator('h2', { hasText: 'Refusals by code, per 4 hours (UTC)' }).count()).toBe(1);
    expect(Object.keys(counts.refusals?.series ?? {}).sort()).toEqual(Object.keys(summary.rejectionsByCode).map((c) => `refusals:${c}`).sort());
    for (const [code, count] of Object.entries(summary.rejectionsByCode)) {
      expect(counts.refusals?.series[`refusals:${code}`]).toMatchObject({ points: buckets(summary.startMs, summary.endMs, 4 * 3_600_000), sum: count });
    }

    for (const chart of ['price', 'equity', 'orders', 'refusals']) expect(await inkedPixels(page, chart), chart).toBeGreaterThan(2_000);

    // Tables: the summary, each code with a sample message, the 20 largest fills, the breaker's openings.
    expect(await page.locator('#summary').innerText()).toContain(`Trades\t${summary.trades}`);
    const refusalRows = await page.locator('#refusals tbody tr').allInnerTexts();
    expect(refusalRows).toHaveLength(Object.keys(summary.rejectionsByCode).length);
    for (const [code, count] of Object.entries(summary.rejectionsByCode)) {
      expect(refusalRows.find((row) => row.startsWith(`${code}\t${count}\t`))?.split('\t')[2]?.length ?? 0, code).toBeGreaterThan(10);
    }
    expect(await page.locator('#largest-trades tbody tr').count()).toBe(Math.min(20, summary.trades));
    const openings = await page.locator('#breakers tbody tr').allInnerTexts();
    expect(openings.length).toBeGreaterThan(0);
    expect(openings.length).toBeLessThanOrEqual(summary.breakerOpenings);
    expect(openings.every((row) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\trejection breaker\t\d+\t\d+ consecutive risk refusals?: /.test(row))).toBe(true);

    // The wheel zooms the price chart in (and the equity chart follows).
    const range = () =>
      page.evaluate(() => {
        const charts = (window as unknown as { axonReport: { charts: Record<string, { chart: { timeScale(): { getVisibleLogicalRange(): { from: number; to: number } | null } } }> } }).axonReport.charts;
        const span = (name: string) => {
          const r = charts[name]?.chart.timeScale().getVisibleLogicalRange();
          return r === null || r === undefined ? Number.NaN : r.to - r.from;
        };
        return { price: span('price'), equity: span('equity') };
      });
    // The crosshair follows the pointer onto a candle of the run.
    await page.evaluate(() => {
      const w = window as unknown as { axonReport: { charts: Record<string, { chart: { subscribeCrosshairMove(f: (p: { time?: number }) => void): void } }> }; crosshairTime?: number };
      w.axonReport.charts.price?.chart.subscribeCrosshairMove((param) => {
        w.crosshairTime = param.time;
      });
    });
    const box = await page.locator('#price-chart').boundingBox();
    expect(box).not.toBeNull();
    await page.mouse.move((box?.x ?? 0) + (box?.width ?? 0) / 3, (box?.y ?? 0) + (box?.height ?? 0) / 2);
    await page.mouse.move((box?.x ?? 0) + (box?.width ?? 0) / 2, (box?.y ?? 0) + (box?.height ?? 0) / 2);
    await expect.poll(() => page.evaluate(() => (window as unknown as { crosshairTime?: number }).crosshairTime)).toBeGreaterThanOrEqual(summary.startMs / 1000);
    const crosshairTime = (await page.evaluate(() => (window as unknown as { crosshairTime?: number }).crosshairTime)) ?? 0;
    expect(crosshairTime).toBeLessThanOrEqual(summary.endMs / 1000);
    expect(crosshairTime % 300).toBe(0); // a 5-minute bar's own time

    const before = await range();
    for (let i = 0; i < 8; i += 1) await page.mouse.wheel(0, -400);
    await expect.poll(async () => (await range()).price).toBeLessThan(before.price * 0.8);
    await expect.poll(async () => (await range()).equity).toBeLessThan(before.equity * 0.8);

    await page.screenshot({ path: join(ARTIFACTS, 'report-backtest.png'), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  }, 90_000);
});

describe('report.html of a live run (the program against a local Binance-speaking venue, from its audit file)', () => {
  it('draws daily orders and refusals over time from the audit records, lists breaker openings, and keeps the model\'s hostile text as text', async () => {
    // Each observation the model asks for six orders (five fit max_daily_orders, the sixth is
    // refused), one over the notional limit (the second refusal in a row: the breaker's threshold
    // of 2 opens it, for longer than the run), one for a symbol that is markup (refused as invalid
    // arguments, the markup quoted in the message), then one more (refused by the open breaker).
    const hostile = '</script><svg onload=alert(1)>';
    const valid = '{"symbol":"BTC-USDT","side":"Buy","quantity":0.01,"order_type":"Market"}';
    const tooBig = '{"symbol":"BTC-USDT","side":"Buy","quantity":5,"order_type":"Market"}';
    const markup = JSON.stringify({ symbol: hostile, side: 'Sell', quantity: 1, order_type: 'Market' });
    venue = await startFakeBinance({ apiKey: KEY, apiSecret: SECRET, balances: { USDT: 100_000, BTC: 0 } });
    model = await startFakeOpenAI((request) => {
      if (request.messages[request.messages.length - 1]?.role === 'tool') return { content: 'noted' };
      return { toolCalls: [valid, valid, valid, valid, valid, valid, tooBig, markup, valid].map((args) => ({ name: 'place_order', arguments: args })) };
    });
    const dir = mkdtempSync(join(tmpdir(), 'axon-live-report-'));
    const config = (cycles: number) => {
      const path = join(dir, `config-${cycles}.toml`);
      writeFileSync(
        path,
        [
          `[trading]\nbackend = "exchange"\napi_key = "${KEY}"\napi_secret = "${SECRET}"\ntestnet = true\nbase_url = "${venue?.baseUrl}"\n[safety]\nmode = "Direct"`,
          '[risk]\nallowed_symbols = ["BTC-USDT"]\nmax_order_notional = 50000.0\nmax_daily_orders = 5\ndaily_counts_file = "none"',
          '[gate]\ntype = "RejectionCircuitBreaker"\nthreshold = 2\ncooldown_ms = 3600000',
          `[llm]\nprovider = "openai"\nmodel = "local-gpt"\nbase_url = "${model?.baseURL}"\napi_key = "sk-local"\nmax_retries = 0`,
          `[agent]\ninterval_ms = 1\nmax_cycles = ${cycles}\naudit = "${join(dir, 'audit.jsonl')}"\nsummary_json = "${join(dir, 'live-summary.json')}"`,
        ].join('\n'),
      );
      return path;
    };
    // An earlier run appends to the same audit file: its records are not this run's, not in its report
    // (the refusal counts below equal this run's own).
    await program(['--config', config(1)], dir);
    const { stdout } = await program(['--config', config(3)], dir);
    const file = join(dir, 'live-report.html');
    expect(stdout).toContain(`wrote ${join(dir, 'live-summary.json')}, ${join(dir, 'audit.jsonl')}, ${file}`);
    const summary = JSON.parse(readFileSync(join(dir, 'live-summary.json'), 'utf8')) as LiveSummary;
    expect(summary.ordersByStatus).toEqual({ Filled: 5 });
    expect(summary.rejectionsByCode).toEqual({ MAX_DAILY_ORDERS: 1, MAX_ORDER_NOTIONAL: 1, INVALID_ARGUMENTS: 3, CIRCUIT_BREAKER_OPEN: 17 });
    expect(summary.breakerOpenings).toBe(1);
    // The call that tripped the breaker: the last notional refusal in the file (this run's).
    const tripped = readFileSync(join(dir, 'audit.jsonl'), 'utf8')
      .split('\n')
      .filter((line) => line.includes('"code":"MAX_ORDER_NOTIONAL"'))
      .map((line) => JSON.parse(line) as { time_ms: number })
      .pop();
    const days = utcDays(summary.startedAtMs, summary.endedAtMs);

    const { page, problems, counts } = await open(file);
    expect(counts.price).toBeUndefined(); // a live run has no bars of its own in the audit file
    expect(await page.locator('.warning').count()).toBe(0); // this run's records, and all of them
    expect(counts.orders?.series.orders).toMatchObject({ points: days, sum: 5 });
    expect(counts.orders?.series.limit).toMatchObject({ points: days, min: 5 });
    // Refusals per minute: a run of seconds spans one or two.
    expect(await page.locator('h2', { hasText: 'Refusals by code, per minute (UTC)' }).count()).toBe(1);
    expect(Object.keys(counts.refusals?.series ?? {}).sort()).toEqual(Object.keys(summary.rejectionsByCode).map((c) => `refusals:${c}`).sort());
    for (const [code, count] of Object.entries(summary.rejectionsByCode)) {
      expect(counts.refusals?.series[`refusals:${code}`]).toMatchObject({ points: buckets(summary.startedAtMs, summary.endedAtMs, 60_000), sum: count });
    }
    for (const chart of ['orders', 'refusals']) expect(await inkedPixels(page, chart), chart).toBeGreaterThan(500);

    // The hostile symbol is shown as the text it is, and nothing it spells exists in the page.
    const sample = await page.locator('#refusals tbody tr', { hasText: 'INVALID_ARGUMENTS' }).innerText();
    expect(sample).toContain(`got "${hostile}"`);
    expect(await page.locator('svg[onload]').count()).toBe(0);
    expect(await page.locator('script').count()).toBe(3); // data, library, page script
    expect(await page.locator('#largest-trades tbody tr').count()).toBe(5);
    expect(await page.locator('#breakers tbody tr').allInnerTexts()).toEqual([
      `${new Date(tripped?.time_ms ?? 0).toISOString().replace('.000Z', 'Z')}\trejection breaker\t17\t2 consecutive risk refusals: MAX_DAILY_ORDERS, MAX_ORDER_NOTIONAL`,
    ]);

    const html = readFileSync(file, 'utf8');
    expect(html).not.toContain(KEY);
    expect(html).not.toContain(SECRET);

    await page.screenshot({ path: join(ARTIFACTS, 'report-live.png'), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  }, 90_000);
});

describe('report.html with hostile strings everywhere a run puts text', () => {
  it('shows them as text: nothing runs, nothing is added to the page, the charts still draw', async () => {
    const script = '</script><script>window.pwned=1</script><!--';
    const markup = '<img src=x onerror="window.pwned=2">\u2028"\'&';
    const data = generateBars({ seed: 3, bars: 600 });
    const run = await runAgentBacktest({ data, symbol: markup, provider: new ScriptedProvider() });
    const record = (code: string, message: string): ToolAuditRecord => ({
      kind: 'tool',
      time_ms: data.timestamp[10] as number,
      step: 10,
      tool: 'place_order',
      args: JSON.stringify({ symbol: markup }),
      ok: false,
      result: JSON.stringify({ code, message }),
      code,
    });
    const report = backtestReportData(run, data, [record(script, markup), record('CIRCUIT_BREAKER_OPEN', `${script} (rejections=1, cooldown_remaining_ms=5)`)]);
    const dir = mkdtempSync(join(tmpdir(), 'axon-report-hostile-'));
    const file = join(dir, 'report.html');
    writeFileSync(file, renderReportPage(report));

    const { page, problems, counts } = await open(file);
    expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
    expect(await page.locator('img').count()).toBe(0);
    expect(await page.locator('script').count()).toBe(3);
    expect(await page.locator('h1').innerText()).toBe(`Agent backtest: ${markup}`);
    expect(await page.title()).toBe(`axon-llm backtest: Agent backtest: ${markup}`);
    const rows = await page.locator('#refusals tbody tr').allInnerTexts();
    expect(rows).toContain(`${script}\t1\t${markup}`);
    // The code reached the chart library intact, as a series of its own.
    expect(counts.refusals?.series[`refusals:${script}`]).toMatchObject({ sum: 1 });
    expect(await page.locator('#breakers tbody tr').innerText()).toContain(`1 consecutive risk refusal: ${script}`);
    // These records are not the run's own refusals: the warning says so, quoting the code as text.
    expect(await page.locator('.warning').innerText()).toContain(`${script}: 1 in the audit file, 0 counted by the run`);
    expect(problems).toEqual([]);
    await page.close();
  }, 60_000);
});
