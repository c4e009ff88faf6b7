// report.html: one self-contained page (no CDN, no request). The chart library (TradingView
// Lightweight Charts, Apache-2.0, its license notice kept) is inlined from node_modules at report
// time; the run's numbers are embedded as JSON; the tables are rendered here. Every string from
// the run (symbol names, messages from the model or a venue) is hostile: escaped for HTML, and
// embedded JSON cannot close its <script> element.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import type { ReportData, TradeRow } from './data';

let libraryCache: string | undefined;

/** The standalone build (defines `window.LightweightCharts`), read once per process. */
export function chartLibrarySource(): string {
  if (libraryCache === undefined) {
    // The package exports only its ESM entry and package.json: find the standalone file next to the latter.
    const root = dirname(require.resolve('lightweight-charts/package.json'));
    const source = readFileSync(join(root, 'dist', 'lightweight-charts.standalone.production.js'), 'utf8');
    if (/<\/script|<!--/i.test(source)) throw new Error('lightweight-charts standalone build contains "</script" or "<!--": cannot be inlined');
    libraryCache = source;
  }
  return libraryCache;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON safe inside a <script> element: no `<` (so no `</script>` or `<!--`), no JS line separators. */
export function embedJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d2330;background:#fafbfc;max-width:1200px}
h1{font-size:20px;margin:0 0 4px}h2{font-size:15px;margin:28px 0 6px}
.meta,.note{color:#5b6475}.note{font-size:12px;margin:4px 0}
table{border-collapse:collapse;margin:8px 0}td,th{padding:3px 14px 3px 0;text-align:left;vertical-align:top;font-variant-numeric:tabular-nums}
th{color:#5b6475;font-weight:500}td.num{text-align:right}td.msg{max-width:640px;overflow-wrap:anywhere}
.chart{position:relative;background:#fff;border:1px solid #dde1e8;border-radius:4px;height:360px}
#equity-chart{height:440px}#orders-chart,#refusals-chart{height:240px}
.warning{background:#fff1e5;border:1px solid #bc4c00;border-radius:4px;padding:8px 12px;margin:12px 0;color:#6a2c00}
.legend span{margin-right:14px}.buy{color:#1a7f37}.sell{color:#cf222e}.hold{color:#8c959f}.eq{color:#0969da}.dd{color:#cf222e}
`;

/** The page's own script: builds the charts from #report-data and exposes them for inspection. */
const SCRIPT = `
(function () {
  'use strict';
  var LC = window.LightweightCharts;
  var data = JSON.parse(document.getElementById('report-data').textContent).charts;
  var PALETTE = ['#cf222e', '#bc4c00', '#8250df', '#0969da', '#1a7f37', '#57606a', '#bf3989', '#4d2d00'];
  var charts = {};
  function options() {
    return {
      autoSize: true,
      layout: { background: { color: '#ffffff' }, textColor: '#1d2330', fontSize: 11, panes: { separatorColor: '#dde1e8' } },
      grid: { vertLines: { color: '#f0f2f5' }, horzLines: { color: '#f0f2f5' } },
      crosshair: { mode: LC.CrosshairMode.Normal },
      // A small minimum bar spacing lets the whole run fit at first; the wheel zooms in from there.
      timeScale: { timeVisible: true, secondsVisible: false, borderColor: '#dde1e8', minBarSpacing: 0.05 },
      rightPriceScale: { borderColor: '#dde1e8' }
    };
  }
  function make(name, build) {
    var el = document.getElementById(name + '-chart');
    if (!el) return;
    var chart = LC.createChart(el, options());
    var entry = { chart: chart, series: {}, markers: null };
    build(chart, entry);
    chart.timeScale().fitContent();
    charts[name] = entry;
  }
  function points(time, values) {
    var out = new Array(time.length);
    for (var i = 0; i < time.length; i++) out[i] = { time: time[i], value: values[i] };
    return out;
  }

  if (data.candles) make('price', function (chart, entry) {
    var c = data.candles;
    var bars = new Array(c.time.length);
    for (var i = 0; i < c.time.length; i++) bars[i] = { time: c.time[i], open: c.open[i], high: c.high[i], low: c.low[i], close: c.close[i] };
    var candles = chart.addSeries(LC.CandlestickSeries, { upColor: '#1a7f37', downColor: '#cf222e', borderVisible: false, wickUpColor: '#1a7f37', wickDownColor: '#cf222e' });
    candles.setData(bars);
    entry.series.candles = candles;
    entry.markers = LC.createSeriesMarkers(candles, data.fills.map(function (f) {
      var buy = f.side === 'Buy';
      return { time: f.time, position: buy ? 'belowBar' : 'aboveBar', shape: buy ? 'arrowUp' : 'arrowDown', color: buy ? '#1a7f37' : '#cf222e', size: 0.6 };
    }));
  });

  if (data.equity) make('equity', function (chart, entry) {
    var e = data.equity;
    entry.series.buyAndHold = chart.addSeries(LC.LineSeries, { color: '#8c959f', lineWidth: 1, title: 'buy and hold' });
    entry.series.buyAndHold.setData(points(e.time, e.buyAndHold));
    entry.series.equity = chart.addSeries(LC.LineSeries, { color: '#0969da', lineWidth: 2, title: 'equity' });
    entry.series.equity.setData(points(e.time, e.equity));
    entry.series.drawdown = chart.addSeries(LC.AreaSeries, {
      lineColor: '#cf222e', topColor: 'rgba(207,34,46,0.05)', bottomColor: 'rgba(207,34,46,0.35)', invertFilledArea: true, lineWidth: 1,
      title: 'drawdown %', priceFormat: { type: 'custom', formatter: function (v) { return v.toFixed(2) + ' %'; }, minMove: 0.01 }
    }, 1);
    entry.series.drawdown.setData(points(e.time, e.drawdownPct));
    chart.panes()[1].setStretchFactor(0.35);
  });

  make('orders', function (chart, entry) {
    var d = data.daily;
    entry.series.orders = chart.addSeries(LC.HistogramSeries, { color: '#0969da', title: 'orders', priceFormat: { type: 'volume' } });
    entry.series.orders.setData(points(d.time, d.orders));
    if (d.maxDailyOrders !== null) {
      entry.series.limit = chart.addSeries(LC.LineSeries, { color: '#cf222e', lineWidth: 2, lineStyle: LC.LineStyle.Dashed, title: 'max_daily_orders', lastValueVisible: true, pointMarkersVisible: false });
      entry.series.limit.setData(d.time.map(function (t) { return { time: t, value: d.maxDailyOrders }; }));
    }
  });

  if (data.refusals.series.length > 0) make('refusals', function (chart, entry) {
    data.refusals.series.forEach(function (r, i) {
      var s = chart.addSeries(LC.LineSeries, { color: PALETTE[i % PALETTE.length], lineWidth: 2, title: r.code, priceFormat: { type: 'volume' }, pointMarkersVisible: data.refusals.time.length <= 60 });
      s.setData(points(data.refusals.time, r.counts));
      entry.series['refusals:' + r.code] = s;
    });
  });

  // The price and equity charts share their bars: scrolling or zooming one moves the other.
  if (charts.price && charts.equity) {
    var syncing = false;
    [[charts.price, charts.equity], [charts.equity, charts.price]].forEach(function (pair) {
      pair[0].chart.timeScale().subscribeVisibleLogicalRangeChange(function (range) {
        if (syncing || range === null) return;
        syncing = true;
        pair[1].chart.timeScale().setVisibleLogicalRange(range);
        syncing = false;
      });
    });
  }

  /** What each chart holds, read back from the library: points (and sum, min) per series, markers. */
  function counts() {
    var out = {};
    Object.keys(charts).forEach(function (name) {
      var entry = charts[name];
      var series = {};
      Object.keys(entry.series).forEach(function (key) {
        var rows = entry.series[key].data();
        var sum = 0, min = Infinity;
        rows.forEach(function (row) { var v = row.value !== undefined ? row.value : row.close; sum += v; if (v < min) min = v; });
        var lastRow = rows[rows.length - 1];
        series[key] = { points: rows.length, sum: sum, min: rows.length ? min : null, last: lastRow ? (lastRow.value !== undefined ? lastRow.value : lastRow.close) : null };
      });
      out[name] = { series: series, markers: entry.markers ? entry.markers.markers().length : 0 };
    });
    return out;
  }
  window.axonReport = { charts: charts, counts: counts };
  document.body.setAttribute('data-rendered', 'true');
})();
`;

const BUCKET_NAMES: Record<number, string> = { 60: 'minute', 300: '5 minutes', 900: '15 minutes', 3_600: 'hour', 14_400: '4 hours', 86_400: 'day' };

const num = (v: number | undefined, digits = 2) =>
  v === undefined || !Number.isFinite(v) ? 'n/a' : v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: Math.min(2, digits) });
const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

function table(id: string, head: string[], rows: string[][], numeric: ReadonlySet<number> = new Set()): string {
  const th = head.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const body = rows.map((r) => `<tr>${r.map((cell, i) => `<td${numeric.has(i) ? ' class="num"' : i === r.length - 1 ? ' class="msg"' : ''}>${escapeHtml(cell)}</td>`).join('')}</tr>`).join('');
  return `<table id="${id}"><thead><tr>${th}</tr></thead><tbody>${body}</tbody></table>`;
}

function tradeRows(rows: readonly TradeRow[]): string[][] {
  return rows.map((t) => [iso(t.timeMs), t.side, t.symbol, num(t.price, 8), num(t.quantity, 8), num(t.notional), t.detail]);
}

function breakerSection(data: ReportData): string {
  const seen = data.breakerOpenings.length;
  const counted = data.breakerOpeningsCounted;
  const note =
    seen === counted
      ? ''
      : `<p class="note">The guard counted ${counted} opening(s); ${seen} refused at least one call and are listed. An opening that refused no call leaves no record in the audit file.</p>`;
  if (seen === 0) return `<p class="note" id="breakers">No opening refused a call.</p>${note}`;
  const rows = data.breakerOpenings.map((b) => [iso(b.timeMs), b.breaker === 'rejection' ? 'rejection breaker' : 'PnL breaker', String(b.refused), b.cause]);
  return `${table('breakers', ['Opened (UTC)', 'Breaker', 'Calls refused', 'Cause'], rows, new Set([2]))}${note}`;
}

export function renderReportPage(data: ReportData): string {
  const c = data.charts;
  const summary = data.summary.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('');
  const sections: string[] = [];
  if (c.candles !== null) {
    const unit = c.candles.bucketSeconds === 0 ? 'one candle per bar' : `bars merged into ${c.candles.bucketSeconds} s candles`;
    sections.push(
      `<h2>Price and fills</h2><div class="legend"><span class="buy">&#9650; buy</span><span class="sell">&#9660; sell</span><span class="meta">${escapeHtml(unit)}; wheel or pinch to zoom, drag to scroll</span></div><div class="chart" id="price-chart"></div>`,
    );
  }
  if (c.equity !== null) {
    sections.push(
      `<h2>Equity</h2><div class="legend"><span class="eq">equity</span><span class="hold">buy and hold of the same starting cash (at the first close, no fees)</span><span class="dd">drawdown from the running peak, %</span></div><div class="chart" id="equity-chart"></div>`,
    );
  }
  const limit = c.daily.maxDailyOrders === null ? 'no max_daily_orders configured' : `dashed: max_daily_orders = ${c.daily.maxDailyOrders}`;
  sections.push(
    `<h2>Orders per UTC day</h2><div class="legend"><span class="eq">orders sent (what max_daily_orders counts)</span><span class="dd">${escapeHtml(limit)}</span></div><div class="chart" id="orders-chart"></div>`,
  );
  const per = BUCKET_NAMES[c.refusals.bucketSeconds] ?? `${c.refusals.bucketSeconds} s`;
  sections.push(
    c.refusals.series.length === 0
      ? '<h2>Refusals over time</h2><p class="note">No refusals.</p>'
      : `<h2>Refusals by code, per ${escapeHtml(per)} (UTC)</h2><div class="chart" id="refusals-chart"></div>`,
  );
  const refusals =
    data.refusals.length === 0
      ? '<p class="note" id="refusals">None.</p>'
      : table('refusals', ['Code', 'Count', 'Sample message'], data.refusals.map((r) => [r.code, String(r.count), r.sample]), new Set([1]));
  const trades =
    data.largestTrades.length === 0
      ? '<p class="note" id="largest-trades">None.</p>'
      : table('largest-trades', ['Time (UTC)', 'Side', 'Symbol', 'Price', 'Quantity', 'Notional', 'Detail'], tradeRows(data.largestTrades), new Set([3, 4, 5]));
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>axon-llm ${data.kind}: ${escapeHtml(data.title)}</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<style>${STYLE}</style></head>
<body>
<h1>${escapeHtml(data.title)}</h1>
<div class="meta">${escapeHtml(data.subtitle)}</div>
${data.warnings.map((w) => `<p class="warning">${escapeHtml(w)}</p>`).join('\n')}
<h2>Summary</h2><table id="summary">${summary}</table>
${sections.join('\n')}
<h2>Refusals by code</h2>${refusals}
<h2>Largest trades</h2><p class="note">${escapeHtml(data.tradesCaption)}</p>${trades}
<h2>Breaker openings</h2>${breakerSection(data)}
<p class="note">Charts: TradingView Lightweight Charts&trade; (Apache License 2.0), inlined below with its license notice.</p>
<script type="application/json" id="report-data">${embedJson({ charts: c })}</script>
<script>${chartLibrarySource()}</script>
<script>${SCRIPT}</script>
</body></html>
`;
}
