// report.html in a real headless Chromium (Debian chromium + playwright-core): the three charts
// render from the embedded data, nothing is fetched from the network, and a screenshot is kept.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { renderReport } from '../ts/agent/report';
import { runAgentBacktest } from '../ts/agent/run-backtest';
import { ScriptedProvider } from '../ts/llm/scripted-provider';
import { generateBars } from '../ts/market-data-generator';
import { RUNBOOK_RISK } from './harness';

const ARTIFACTS = join(__dirname, '..', 'test-artifacts');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

let browser: Browser;
beforeAll(async () => {
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 60_000);
afterAll(async () => {
  await browser?.close();
});

describe('report.html', () => {
  it('renders equity, price with trade markers and the rejection timeline from its data, offline', async () => {
    const run = await runAgentBacktest({
      data: generateBars({ seed: 7, bars: 2_500 }),
      symbol: 'BTC-USDT',
      provider: new ScriptedProvider({ burstEvery: 600 }),
      risk: RUNBOOK_RISK,
      gate: { type: 'RejectionCircuitBreaker', threshold: 5, cooldownMs: 60_000 },
      cash: 100_000,
    });
    mkdirSync(ARTIFACTS, { recursive: true });
    const file = join(ARTIFACTS, 'report.html');
    writeFileSync(file, renderReport(run));

    const page = await browser.newPage({ viewport: { width: 1024, height: 1400 } });
    const requests: string[] = [];
    page.on('request', (request) => requests.push(request.url()));
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(String(error)));
    await page.goto(`file://${file}`);
    await page.waitForSelector('body[data-rendered="true"]', { timeout: 10_000 });

    const embedded = await page.evaluate(() => JSON.parse(document.getElementById('report-data')?.textContent ?? '{}') as { equity: unknown[]; price: unknown[]; trades: unknown[]; rejections: unknown[] });
    expect(embedded.trades.length).toBe(run.result.fills.length);
    expect(embedded.rejections.length).toBe(run.rejections.length);
    expect(run.result.fills.length).toBeGreaterThan(10);
    expect(run.rejections.length).toBeGreaterThan(5);

    expect(Number(await page.getAttribute('#equity-chart path.equity-line', 'data-points'))).toBe(embedded.equity.length);
    expect(Number(await page.getAttribute('#price-chart path.price-line', 'data-points'))).toBe(embedded.price.length);
    expect(await page.locator('#price-chart .trade-marker').count()).toBe(run.result.fills.length);
    expect(await page.locator('#price-chart .trade-marker.buy').count()).toBe(run.result.fills.filter((f) => f.side === 'Buy').length);
    expect(await page.locator('#rejection-chart .rejection-marker').count()).toBe(run.rejections.length);
    const lineBox = await page.locator('#equity-chart path.equity-line').boundingBox();
    expect(lineBox?.width ?? 0).toBeGreaterThan(800); // spans the chart, not a dot
    expect(await page.locator('#summary').innerText()).toContain(`Trades\t${run.summary.trades}`);

    expect(errors).toEqual([]);
    expect(requests.filter((url) => !url.startsWith('file://'))).toEqual([]);
    await page.screenshot({ path: join(ARTIFACTS, 'report.png'), fullPage: true });
    await page.close();
  }, 60_000);
});
