// report.html: one self-contained file (no CDN, no external request). The data is embedded as JSON
// and the page draws its three SVG charts from it: equity curve, price with trade markers, and the
// rejection timeline.
import type { AgentBacktestRun } from './run-backtest';

const MAX_POINTS = 2_000;

interface ReportData {
  summary: AgentBacktestRun['summary'];
  /** [step, timestamp_ms, value] downsampled to at most MAX_POINTS. */
  equity: Array<[number, number, number]>;
  price: Array<[number, number, number]>;
  trades: Array<{ step: number; t: number; side: 'Buy' | 'Sell'; price: number; quantity: number }>;
  rejections: Array<{ step: number; t: number; code: string }>;
}

function downsample(values: Float64Array, timestamps: Float64Array, steps: number): Array<[number, number, number]> {
  const stride = Math.max(1, Math.ceil(steps / MAX_POINTS));
  const out: Array<[number, number, number]> = [];
  for (let i = 0; i < steps; i += stride) out.push([i, timestamps[i] as number, values[i] as number]);
  if (steps > 0 && (out[out.length - 1]?.[0] ?? -1) !== steps - 1) out.push([steps - 1, timestamps[steps - 1] as number, values[steps - 1] as number]);
  return out;
}

export function reportData(run: AgentBacktestRun): ReportData {
  const steps = run.result.steps;
  return {
    summary: run.summary,
    equity: downsample(run.result.equity, run.timestamps, steps),
    price: downsample(run.prices, run.timestamps, steps),
    trades: run.result.fills.map((f) => ({ step: f.step, t: f.timestampMs, side: f.side, price: f.price, quantity: f.quantity })),
    rejections: run.rejections.map((r) => ({ step: r.step, t: r.timeMs, code: r.code })),
  };
}

/** JSON safe to embed in a <script> element. */
function embed(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1d2330;background:#fafbfc}
h1{font-size:20px;margin:0 0 4px}h2{font-size:15px;margin:24px 0 6px}
.meta{color:#5b6475;margin-bottom:16px}
table{border-collapse:collapse;margin:8px 0}td,th{padding:3px 12px 3px 0;text-align:left;font-variant-numeric:tabular-nums}
th{color:#5b6475;font-weight:500}
svg{background:#fff;border:1px solid #dde1e8;border-radius:4px;display:block}
.legend span{margin-right:14px}.buy{color:#1a7f37}.sell{color:#cf222e}
`;

const SCRIPT = `
(function () {
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var NS = 'http://www.w3.org/2000/svg';
  var W = 960, H = 260, PAD = 48;
  function el(name, attrs, parent) {
    var node = document.createElementNS(NS, name);
    for (var k in attrs) node.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(node);
    return node;
  }
  function scale(points, lastStep) {
    var lo = Infinity, hi = -Infinity;
    points.forEach(function (p) { if (p[2] < lo) lo = p[2]; if (p[2] > hi) hi = p[2]; });
    if (lo === hi) { lo -= 1; hi += 1; }
    return {
      x: function (step) { return PAD + (W - 2 * PAD) * (lastStep > 0 ? step / lastStep : 0); },
      y: function (v) { return H - PAD + (-(H - 2 * PAD) * (v - lo)) / (hi - lo); },
      lo: lo, hi: hi
    };
  }
  function frame(svg, s, label) {
    el('line', { x1: PAD, y1: H - PAD, x2: W - PAD, y2: H - PAD, stroke: '#8b93a3' }, svg);
    el('line', { x1: PAD, y1: PAD, x2: PAD, y2: H - PAD, stroke: '#8b93a3' }, svg);
    el('text', { x: 4, y: PAD, 'font-size': 11, fill: '#5b6475' }, svg).textContent = s.hi.toFixed(2);
    el('text', { x: 4, y: H - PAD, 'font-size': 11, fill: '#5b6475' }, svg).textContent = s.lo.toFixed(2);
    el('text', { x: W / 2 - 40, y: H - 12, 'font-size': 11, fill: '#5b6475' }, svg).textContent = label;
  }
  function line(svg, points, s, color, cls) {
    var d = points.map(function (p, i) { return (i ? 'L' : 'M') + s.x(p[0]).toFixed(1) + ' ' + s.y(p[2]).toFixed(1); }).join('');
    el('path', { d: d, fill: 'none', stroke: color, 'stroke-width': 1.5, 'class': cls, 'data-points': points.length }, svg);
  }
  var lastStep = Math.max(0, data.summary.bars - 1);
  var equitySvg = document.getElementById('equity-chart');
  var es = scale(data.equity, lastStep);
  frame(equitySvg, es, 'bars 0..' + lastStep);
  line(equitySvg, data.equity, es, '#0969da', 'equity-line');

  var priceSvg = document.getElementById('price-chart');
  var ps = scale(data.price, lastStep);
  frame(priceSvg, ps, 'bars 0..' + lastStep);
  line(priceSvg, data.price, ps, '#57606a', 'price-line');
  data.trades.forEach(function (t) {
    var x = ps.x(t.step), y = ps.y(t.price), up = t.side === 'Buy';
    el('path', {
      d: up ? 'M' + x + ' ' + (y - 6) + 'l-5 9h10z' : 'M' + x + ' ' + (y + 6) + 'l-5 -9h10z',
      fill: up ? '#1a7f37' : '#cf222e', 'class': 'trade-marker ' + (up ? 'buy' : 'sell')
    }, priceSvg);
  });

  var rejSvg = document.getElementById('rejection-chart');
  var codes = [];
  data.rejections.forEach(function (r) { if (codes.indexOf(r.code) < 0) codes.push(r.code); });
  var RH = 40 + 24 * Math.max(1, codes.length);
  rejSvg.setAttribute('height', RH);
  rejSvg.setAttribute('viewBox', '0 0 ' + W + ' ' + RH);
  var palette = ['#cf222e', '#bc4c00', '#8250df', '#0969da', '#1a7f37', '#57606a'];
  codes.forEach(function (code, i) {
    el('text', { x: 4, y: 30 + 24 * i, 'font-size': 11, fill: palette[i % palette.length] }, rejSvg).textContent = code;
  });
  data.rejections.forEach(function (r) {
    var i = codes.indexOf(r.code);
    var x = 200 + (W - 220) * (lastStep > 0 ? r.step / lastStep : 0);
    el('circle', { cx: x.toFixed(1), cy: 26 + 24 * i, r: 4, fill: palette[i % palette.length], 'class': 'rejection-marker', 'data-code': r.code }, rejSvg);
  });
  document.body.setAttribute('data-rendered', 'true');
})();
`;

function fmt(value: number, digits = 2): string {
  return Number.isFinite(value) ? value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'n/a';
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function renderReport(run: AgentBacktestRun): string {
  const s = run.summary;
  const rows: Array<[string, string]> = [
    ['Return', `${fmt(s.returnPct)} %`],
    ['PnL', fmt(s.pnl)],
    ['Max drawdown', `${fmt(s.maxDrawdown)} (${fmt(s.maxDrawdownPct)} %)`],
    ['Sharpe (annualized)', fmt(s.sharpe)],
    ['Trades', String(s.trades)],
    ['Fees', fmt(s.fees)],
    ['Orders by status', Object.entries(s.ordersByStatus).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'],
    ['Rejections by code', Object.entries(s.rejectionsByCode).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'],
    ['Breaker openings', String(s.breakerOpenings)],
    ['Model calls', `${s.modelCalls} (${s.modelErrors} failed)`],
    ['Tokens', `${s.promptTokens} prompt + ${s.completionTokens} completion${s.tokensEstimated ? ' (estimated)' : ''}`],
  ];
  const table = rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('');
  const span = `${new Date(s.startMs).toISOString()} to ${new Date(s.endMs).toISOString()}`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>axon-llm backtest: ${escapeHtml(s.symbol)}</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<style>${STYLE}</style></head>
<body>
<h1>Agent backtest: ${escapeHtml(s.symbol)}</h1>
<div class="meta">provider <b>${escapeHtml(s.provider)}</b> (${escapeHtml(s.model)}), data ${escapeHtml(s.data)}, ${s.bars} bars, ${escapeHtml(span)}</div>
<table id="summary">${table}</table>
<h2>Equity</h2><svg id="equity-chart" width="960" height="260" viewBox="0 0 960 260" role="img" aria-label="equity curve"></svg>
<h2>Price and trades</h2><div class="legend"><span class="buy">&#9650; buy</span><span class="sell">&#9660; sell</span></div>
<svg id="price-chart" width="960" height="260" viewBox="0 0 960 260" role="img" aria-label="price with trades"></svg>
<h2>Rejections</h2><svg id="rejection-chart" width="960" height="64" role="img" aria-label="rejection timeline"></svg>
<script type="application/json" id="report-data">${embed(reportData(run))}</script>
<script>${SCRIPT}</script>
</body></html>
`;
}
