// The page template of `memext-sim report --html`: the style and the script
// that draws the embedded documents (element #memext-data) as tables and
// inline SVG charts. No network: nothing here loads anything.
//
// Test hooks: a chart is <figure class="chart" data-chart=ID> holding
// <polyline class="series" data-series=NAME data-xs=JSON data-ys=JSON>
// (and <circle data-x data-y> per point of short series) and, for sweeps,
// <line class="ceiling" data-y=V>; a figure table row is
// <tr data-metric=NAME> with <td data-value=JSON> per document. The plan's
// section and its hooks are in html_plan.cc.
#include "report/html.h"

namespace memext {

const char* html_page_head() {
  return R"HTML(<style>
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222;max-width:1500px}
h2{border-bottom:2px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.6em 0;font-size:13px}
td,th{border:1px solid #ccc;padding:2px 7px;text-align:right}
th{background:#f3f3f3;text-align:left}
figure.chart{display:inline-block;margin:.4em 1em .8em 0;vertical-align:top}
figcaption{font-weight:600;font-size:14px}
svg text{font-size:11px;fill:#333}
svg .grid{stroke:#e4e4e4}
svg .axis{stroke:#777}
svg .ceiling{stroke:#c00;stroke-dasharray:6 4}
pre.command{background:#f6f6f6;padding:.6em;white-space:pre-wrap;font-size:14px}
ul.warnings li{color:#a40;margin:.2em 0}
.cols{display:flex;gap:2em;flex-wrap:wrap}
.cols > section{flex:1;min-width:480px}
.note{color:#666;font-size:13px}
.recommendation{border:2px solid #1f77b4;border-radius:6px;padding:.4em 1em .8em;max-width:1000px;background:#f7fbff}
.recommendation.none{border-color:#c00;background:#fff7f7}
.headline{font-size:15px;margin:.5em 0}
.command-row{display:flex;gap:.6em;align-items:flex-start}
.command-row pre.command{flex:1;margin:0;background:#fff;border:1px solid #ccd}
button.copy{font-size:13px;padding:.4em .9em;cursor:pointer}
td.status.met{color:#176b17;font-weight:600}
td.status.missed{color:#c00;font-weight:600}
td.status.binding{background:#fff3d6}
td.cmd{text-align:left}
svg .target{stroke:#c00;stroke-dasharray:6 4}
details.search{margin-top:1em}
</style>
)HTML";
}

const char* html_page_script() {
  return R"JS('use strict';
const DATA = JSON.parse(document.getElementById('memext-data').textContent);
const SVGNS = 'http://www.w3.org/2000/svg';
const COLORS = ['#1f77b4','#ff7f0e','#2ca02c','#d62728','#9467bd','#8c564b','#e377c2','#7f7f7f','#bcbd22','#17becf'];

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  for (const k of kids) e.append(k);
  return e;
}
function sv(tag, attrs, text) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
function get(obj, path) {
  let o = obj;
  for (const p of path.split('.')) {
    if (o === null || o === undefined || typeof o !== 'object') return undefined;
    o = o[p];
  }
  return o;
}
function fmt(v) {
  if (v === null || v === undefined) return '–';
  if (typeof v !== 'number') return String(v);
  if (Number.isInteger(v)) {
    if (Math.abs(v) >= 1e6) return v.toLocaleString('en-US');
    return String(v);
  }
  if (Math.abs(v) < 1e-3 && v !== 0) return v.toExponential(3);
  return v.toFixed(Math.abs(v) < 10 ? 4 : 1);
}
function bytesText(v) {
  if (typeof v !== 'number') return fmt(v);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let u = 0, x = v;
  while (Math.abs(x) >= 1024 && u < units.length - 1) { x /= 1024; u++; }
  return (u === 0 ? String(x) : x.toFixed(1)) + ' ' + units[u];
}
function niceTicks(lo, hi, n) {
  if (hi <= lo) hi = lo + 1;
  const raw = (hi - lo) / n, mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map(m => m * mag).find(s => s >= raw);
  const ticks = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(+t.toPrecision(12));
  return ticks;
}
// Byte axes tick at round KiB/MiB/GiB multiples.
function axisTicks(lo, hi, n, unit) {
  if (unit !== 'bytes') return niceTicks(lo, hi, n);
  let scale = 1;
  while (Math.max(Math.abs(lo), Math.abs(hi)) / scale >= 1024 && scale < Math.pow(1024, 4)) scale *= 1024;
  return niceTicks(lo / scale, hi / scale, n).map(t => t * scale);
}
function tickText(v, unit) {
  if (unit === 'bytes') return bytesText(v);
  if (Math.abs(v) >= 1e4) return v.toExponential(1);
  return String(+v.toPrecision(4));
}

// spec: {id, title, xlabel, ylabel, yunit, ratio, categories (x labels, for
// categorical x), series: [{name, xs, ys}], ceiling}
function chart(spec) {
  const W = 700, H = 300, L = 70, R = 170, T = 14, B = 42;
  const pw = W - L - R, ph = H - T - B;
  const fig = el('figure', {class: 'chart', 'data-chart': spec.id, 'data-title': spec.title});
  fig.append(el('figcaption', {}, spec.title));
  const svg = sv('svg', {width: W, height: H, viewBox: `0 0 ${W} ${H}`});
  fig.append(svg);
  const cat = Array.isArray(spec.categories);
  const pts = spec.series.flatMap(s => s.xs.map((x, i) => [x, s.ys[i]])).filter(p => p[1] !== null && p[1] !== undefined);
  let xlo, xhi;
  if (cat) { xlo = 0; xhi = Math.max(spec.categories.length - 1, 1); }
  else { xlo = Math.min(...pts.map(p => p[0])); xhi = Math.max(...pts.map(p => p[0])); if (!(xhi > xlo)) xhi = xlo + 1; }
  let ylo = 0, yhi = spec.ratio ? 1 : Math.max(0, ...pts.map(p => p[1]));
  if (spec.ceiling !== undefined && spec.ceiling !== null) yhi = Math.max(yhi, spec.ceiling);
  const ymin = Math.min(0, ...pts.map(p => p[1]));
  ylo = ymin;
  if (!(yhi > ylo)) yhi = ylo + 1;
  const X = x => L + (cat ? (spec.categories.length === 1 ? pw / 2 : x / xhi * pw) : (x - xlo) / (xhi - xlo) * pw);
  const Y = y => T + ph - (y - ylo) / (yhi - ylo) * ph;
  for (const t of axisTicks(ylo, yhi, 5, spec.yunit)) {
    svg.append(sv('line', {class: 'grid', x1: L, x2: L + pw, y1: Y(t), y2: Y(t)}));
    svg.append(sv('text', {x: L - 5, y: Y(t) + 4, 'text-anchor': 'end'}, tickText(t, spec.yunit)));
  }
  const xt = cat ? spec.categories.map((c, i) => [i, c]) : niceTicks(xlo, xhi, 6).map(t => [t, tickText(t, spec.xunit)]);
  for (const [t, label] of xt) {
    svg.append(sv('line', {class: 'grid', x1: X(t), x2: X(t), y1: T, y2: T + ph}));
    svg.append(sv('text', {class: 'xtick', x: X(t), y: T + ph + 15, 'text-anchor': 'middle'}, label));
  }
  svg.append(sv('line', {class: 'axis', x1: L, x2: L + pw, y1: T + ph, y2: T + ph}));
  svg.append(sv('line', {class: 'axis', x1: L, x2: L, y1: T, y2: T + ph}));
  svg.append(sv('text', {x: L + pw / 2, y: H - 6, 'text-anchor': 'middle'}, spec.xlabel));
  svg.append(sv('text', {x: 12, y: T + ph / 2, 'text-anchor': 'middle', transform: `rotate(-90 12 ${T + ph / 2})`}, spec.ylabel));
  if (spec.ceiling !== undefined && spec.ceiling !== null) {
    svg.append(sv('line', {class: 'ceiling', 'data-y': JSON.stringify(spec.ceiling), x1: L, x2: L + pw, y1: Y(spec.ceiling), y2: Y(spec.ceiling)}));
    svg.append(sv('text', {x: L + pw - 4, y: Y(spec.ceiling) - 4, 'text-anchor': 'end', fill: '#c00'}, 'ceiling ' + fmt(spec.ceiling)));
  }
  spec.series.forEach((s, k) => {
    const color = COLORS[k % COLORS.length];
    const points = s.xs.map((x, i) => [x, s.ys[i]]).filter(p => p[1] !== null && p[1] !== undefined);
    svg.append(sv('polyline', {class: 'series', 'data-series': s.name, 'data-xs': JSON.stringify(s.xs), 'data-ys': JSON.stringify(s.ys),
      fill: 'none', stroke: color, 'stroke-width': 1.6, points: points.map(p => X(p[0]).toFixed(2) + ',' + Y(p[1]).toFixed(2)).join(' ')}));
    if (points.length <= 100) {
      for (const [x, y] of points) {
        const c = sv('circle', {'data-series': s.name, 'data-x': cat ? spec.categories[x] : JSON.stringify(x), 'data-y': JSON.stringify(y), cx: X(x).toFixed(2), cy: Y(y).toFixed(2), r: 3, fill: color});
        c.append(sv('title', {}, `${s.name}: ${cat ? spec.categories[x] : fmt(x)} → ${fmt(y)}`));
        svg.append(c);
      }
    }
    svg.append(sv('rect', {x: L + pw + 12, y: T + 4 + k * 16, width: 10, height: 10, fill: color}));
    svg.append(sv('text', {class: 'legend', x: L + pw + 26, y: T + 13 + k * 16}, s.name));
  });
  return fig;
}

// ---- a replay report ----
const REPORT_FIGURES = [
  ['totals.requests', 'requests'], ['totals.gets', 'gets'],
  ['totals.hit_ratio', 'hit ratio'], ['totals.byte_hit_ratio', 'byte hit ratio'],
  ['totals.ram_hit_ratio', 'RAM hit ratio'], ['totals.flash_hit_ratio', 'flash hit ratio'],
  ['totals.misses', 'misses'], ['totals.ceiling_hit_ratio', 'ceiling hit ratio (first requests miss)'],
  ['steady_state.hit_ratio', 'steady-state hit ratio (after --warmup)'],
  ['steady_state.byte_hit_ratio', 'steady-state byte hit ratio'],
  ['validation.production_hit_ratio', 'production hit ratio (the trace\'s own)'],
  ['engine.stats.limit_maxbytes', 'RAM limit (-m)', 'bytes'],
  ['totals.ram_used_bytes', 'RAM used: slab pages held', 'bytes'],
  ['totals.flash_header_bytes', 'RAM held by item headers of flash objects', 'bytes'],
  ['totals.flash_header_items', 'flash objects (one header each)'],
  ['engine.stats.bytes', 'memcached bytes (flash objects at full size)', 'bytes'],
  ['engine.stats.evictions', 'RAM evictions'],
  ['device.size_bytes', 'flash capacity (ext_path sizes)', 'bytes'],
  ['device.bytes_written', 'flash bytes written', 'bytes'],
  ['device.drive_writes_per_day', 'DWPD'],
  ['steady_state.dwpd', 'steady-state DWPD'],
  ['evictions.flash_pages', 'flash page evictions'],
];

function figureTable(docs, names, withDelta) {
  const table = el('table', {class: 'figures'});
  const head = el('tr', {}, el('th', {}, 'figure'));
  for (const n of names) head.append(el('th', {}, n));
  if (withDelta) head.append(el('th', {}, 'B − A'));
  table.append(head);
  for (const [path, label, unit] of REPORT_FIGURES) {
    const values = docs.map(d => get(d, path));
    if (values.every(v => v === undefined || v === null)) continue;
    const tr = el('tr', {'data-metric': path}, el('th', {}, label));
    for (const v of values) {
      tr.append(el('td', {'data-value': JSON.stringify(v === undefined ? null : v), title: fmt(v)}, unit === 'bytes' ? bytesText(v) : fmt(v)));
    }
    if (withDelta) {
      const [a, b] = values;
      const delta = typeof a === 'number' && typeof b === 'number' ? b - a : null;
      tr.append(el('td', {'data-delta': JSON.stringify(delta)}, unit === 'bytes' ? bytesText(delta) : fmt(delta)));
    }
    table.append(tr);
  }
  return table;
}

const SERIES_CHARTS = [
  {id: 'hit', title: 'hit ratios per interval', ylabel: 'ratio', ratio: true,
   fields: ['hit_ratio', 'ram_hit_ratio', 'flash_hit_ratio', 'byte_hit_ratio']},
  {id: 'ram', title: 'RAM held', ylabel: 'bytes', yunit: 'bytes',
   fields: ['ram_used_bytes', 'flash_header_bytes', 'bytes']},
  {id: 'frag', title: 'flash fragmentation', ylabel: 'ratio', ratio: true, fields: ['fragmentation_ratio']},
  {id: 'flash_write', title: 'flash writes per interval', ylabel: 'bytes/s', yunit: 'bytes', fields: ['flash_write_bytes_per_s']},
  {id: 'dwpd', title: 'DWPD per interval', ylabel: 'drive writes per day', fields: ['dwpd']},
];

function timeSeriesCharts(report, prefix) {
  const out = [];
  const samples = get(report, 'time_series.samples') || [];
  if (samples.length === 0) return out;
  const xs = samples.map(s => s.t_s);
  for (const c of SERIES_CHARTS) {
    const series = c.fields.filter(f => samples.some(s => typeof s[f] === 'number'))
      .map(f => ({name: f, xs, ys: samples.map(s => typeof s[f] === 'number' ? s[f] : null)}));
    if (series.length) out.push(chart({id: prefix + c.id, title: c.title, xlabel: 'trace time (s)', ylabel: c.ylabel, yunit: c.yunit, ratio: c.ratio, series}));
  }
  const buckets = [...new Set(samples.flatMap(s => Object.keys(s.extstore_pages_by_bucket || {})))];
  if (buckets.length) {
    const series = buckets.map(b => ({name: b, xs, ys: samples.map(s => (s.extstore_pages_by_bucket || {})[b] ?? null)}));
    out.push(chart({id: prefix + 'buckets', title: 'flash pages per bucket', xlabel: 'trace time (s)', ylabel: 'pages', series}));
  }
  return out;
}

function renderReport(item, index) {
  const r = item.doc;
  const sec = el('section', {class: 'report', 'data-doc': item.name});
  sec.append(el('h2', {}, 'report: ' + item.name));
  const trace = get(r, 'inputs.trace') || {};
  sec.append(el('p', {class: 'note'}, `trace ${trace.path} (${trace.format}), flags: ${(get(r, 'inputs.memcached_flags') || []).join(' ') || '(defaults)'}`));
  const warnings = r.warnings || [];
  if (warnings.length) {
    const ul = el('ul', {class: 'warnings'});
    for (const w of warnings) ul.append(el('li', {'data-code': w.code}, `${w.code}: ${w.message}`));
    sec.append(ul);
  }
  sec.append(figureTable([r], [item.name], false));
  for (const f of timeSeriesCharts(r, 'r' + index + '-')) sec.append(f);
  return sec;
}

// ---- a sweep ----
const AXIS_TITLES = {m: 'RAM size (-m, MB)', ext_path_size: 'flash size (ext_path_size)'};
function sizeValue(text) {
  const m = /^([0-9.]+)([kmgt]?)/i.exec(String(text));
  if (!m) return NaN;
  return parseFloat(m[1]) * Math.pow(1024, ' kmgt'.indexOf((m[2] || ' ').toLowerCase()));
}

function renderSweep(item, index) {
  const s = item.doc;
  const rows = s.rows || [];
  const sec = el('section', {class: 'sweep', 'data-doc': item.name});
  sec.append(el('h2', {}, 'sweep: ' + item.name));
  sec.append(el('p', {class: 'note'}, `trace ${s.trace}, ${rows.length} cells`));
  const ceilings = rows.map(r => r.ceiling_hit_ratio).filter(v => typeof v === 'number');
  const ceiling = ceilings.length ? Math.max(...ceilings) : null;
  const axes = (s.axes || []).filter(a => (a.values || []).length >= 2);
  axes.sort((a, b) => (b.name in AXIS_TITLES) - (a.name in AXIS_TITLES));
  for (const axis of axes) {
    const values = axis.values.map(String);
    if (values.every(v => !isNaN(sizeValue(v)))) values.sort((a, b) => sizeValue(a) - sizeValue(b));
    const others = (s.axes || []).filter(a => a.name !== axis.name).map(a => a.name);
    const groups = new Map();
    for (const r of rows) {
      const key = others.map(o => `${o}=${r.flags[o]}`).join(' ') || 'all cells';
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(r);
    }
    for (const metric of ['hit_ratio', 'byte_hit_ratio']) {
      const series = [...groups.entries()].map(([name, rs]) => ({name, xs: values.map((v, i) => i),
        ys: values.map(v => { const r = rs.find(r => String(r.flags[axis.name]) === v); return r && typeof r[metric] === 'number' ? r[metric] : null; })}));
      const title = `${metric.replace(/_/g, ' ')} against ${AXIS_TITLES[axis.name] || axis.name}`;
      const fig = chart({id: `s${index}-${axis.name}-${metric}`, title, xlabel: AXIS_TITLES[axis.name] || axis.name, ylabel: metric.replace(/_/g, ' '),
        ratio: true, categories: values, series, ceiling: metric === 'hit_ratio' ? ceiling : null});
      fig.setAttribute('data-axis', axis.name);
      fig.setAttribute('data-metric', metric);
      sec.append(fig);
    }
  }
  const cols = [];
  for (const r of rows) for (const [k, v] of Object.entries(r)) if (k !== 'flags' && k !== 'id' && (v === null || typeof v !== 'object') && !cols.includes(k)) cols.push(k);
  const flagNames = (s.axes || []).map(a => a.name);
  const table = el('table', {class: 'cells'});
  const head = el('tr', {}, el('th', {}, 'id'));
  for (const f of flagNames) head.append(el('th', {}, f));
  for (const c of cols) head.append(el('th', {}, c));
  table.append(head);
  // Sampled cells rank by their estimate of the full trace's ratio.
  const rank = r => r.hit_ratio_estimate ?? r.hit_ratio ?? -1;
  const best = rows.reduce((b, r) => (b === null || rank(r) > rank(b) ? r : b), null);
  for (const r of rows) {
    const tr = el('tr', {'data-id': r.id});
    if (r === best) tr.setAttribute('style', 'background:#eef8ee');
    tr.append(el('th', {}, r.id));
    for (const f of flagNames) tr.append(el('td', {'data-flag': f}, String(r.flags[f])));
    for (const c of cols) tr.append(el('td', {'data-field': c, 'data-value': JSON.stringify(r[c] ?? null)}, c.endsWith('bytes') || c.endsWith('_bytes_written') ? bytesText(r[c]) : fmt(r[c])));
    table.append(tr);
  }
  sec.append(el('h3', {}, 'cells (best hit ratio shaded; a sampled cell\'s estimate of the full trace\'s)'));
  sec.append(table);
  return sec;
}

// ---- several reports side by side ----
function renderComparison(items) {
  const sec = el('section', {class: 'diff'});
  sec.append(el('h2', {}, items.length === 2 ? 'side by side: A = ' + items[0].name + ', B = ' + items[1].name : 'side by side'));
  sec.append(figureTable(items.map(i => i.doc), items.map(i => i.name), items.length === 2));
  const series = items.filter(i => (get(i.doc, 'time_series.samples') || []).length).map(i => {
    const ss = i.doc.time_series.samples;
    return {name: i.name, xs: ss.map(s => s.t_s), ys: ss.map(s => s.hit_ratio)};
  });
  if (series.length) sec.append(chart({id: 'diff-hit', title: 'hit ratio per interval, every report', xlabel: 'trace time (s)', ylabel: 'hit ratio', ratio: true, series}));
  const cols = el('div', {class: 'cols'});
  items.forEach((i, k) => {
    const col = el('section', {class: 'side', 'data-doc': i.name}, el('h3', {}, i.name));
    const warnings = i.doc.warnings || [];
    if (warnings.length) col.append(el('ul', {class: 'warnings'}, ...warnings.map(w => el('li', {'data-code': w.code}, `${w.code}: ${w.message}`))));
    for (const f of timeSeriesCharts(i.doc, 'd' + k + '-')) col.append(f);
    cols.append(col);
  });
  sec.append(cols);
  return sec;
}

const page = document.getElementById('page');
const reports = DATA.filter(d => d.kind === 'report');
DATA.filter(d => d.kind === 'plan').forEach((d, i) => page.append(renderPlan(d, i)));
DATA.filter(d => d.kind === 'sweep').forEach((d, i) => page.append(renderSweep(d, i)));
if (reports.length >= 2) page.append(renderComparison(reports));
else reports.forEach((d, i) => page.append(renderReport(d, i)));
page.setAttribute('data-rendered', String(DATA.length));
)JS";
}

}  // namespace memext
