// The plan section of `memext-sim report --html`: a plan.json drawn as a
// recommendation. The command line to paste (with a copy button), the
// predicted figures against the targets (met, and binding when cheaper
// candidates missed that target), the drive's endurance, a chart of every
// candidate's cost against its hit ratio with the target line and the
// choice marked, the runners-up, and how the search went (curve fits,
// ext_* settings tried, replays run). Appended to html_page_script(): it uses
// that script's helpers (el, sv, fmt, bytesText, chart).
//
// Test hooks: <section class="plan">; <pre class="command"
// data-key="recommendation.command_line">; <table class="plan-targets"> rows
// <tr data-plan-metric=NAME> with <td class="value" data-value=JSON> and,
// for targets, <td class="status" data-status="met|missed"
// data-binding="true|false">; <figure data-chart="plan-N-candidates"> with
// <circle class="candidate" data-cost data-hit data-meets> per candidate,
// <circle class="chosen" data-cost data-hit> and <line class="target"
// data-y>; <table class="runners-up"> rows <tr data-command=TEXT>.
#include "report/html.h"

namespace memext {

const char* html_plan_script() {
  return R"JS(
function planMetricRow(name, label, value, text, target) {
  const tr = el('tr', {'data-plan-metric': name}, el('th', {}, label),
    el('td', {class: 'value', 'data-value': JSON.stringify(value ?? null)}, text));
  if (target) {
    tr.append(el('td', {class: 'target'}, target.text));
    const status = target.met ? 'met' : 'missed';
    const words = target.met ? (target.binding ? 'met — binding' : 'met') : 'missed';
    tr.append(el('td', {class: 'status ' + status + (target.binding ? ' binding' : ''),
      'data-status': status, 'data-binding': String(!!target.binding),
      title: target.binding ? 'every cheaper configuration tried misses this target' : ''}, words));
  } else {
    tr.append(el('td', {class: 'target'}), el('td', {class: 'status'}));
  }
  return tr;
}

function flashText(bytes) { return bytes ? bytesText(bytes) : 'none (RAM only)'; }
function ratioText(v) { return typeof v === 'number' ? v.toFixed(4) : fmt(v); }
function yearsText(y) {
  if (y === null || y === undefined) return 'no flash writes';
  const text = (y >= 100 ? y.toFixed(0) : y.toPrecision(3)) + ' years';
  return y < 1 ? text + ` (${Math.round(y * 365)} days)` : text;
}

// Cost against hit ratio, one dot per candidate replayed, the confirmed
// choice ringed, the target as a dashed line.
function planCandidateChart(p, index) {
  const cands = p.candidates || [];
  const rec = p.recommendation;
  const target = p.targets ? p.targets.hit_ratio : null;
  const W = 700, H = 320, L = 70, R = 190, T = 14, B = 44, pw = W - L - R, ph = H - T - B;
  const fig = el('figure', {class: 'chart', 'data-chart': 'plan-' + index + '-candidates'});
  fig.append(el('figcaption', {}, 'candidates: cost against hit ratio'));
  const svg = sv('svg', {width: W, height: H, viewBox: `0 0 ${W} ${H}`});
  fig.append(svg);
  const costs = cands.map(c => c.cost).concat(rec ? [rec.cost] : []);
  const hits = cands.map(c => c.hit_ratio).concat(rec ? [rec.hit_ratio] : [], target !== null ? [target] : []);
  let xhi = Math.max(...costs, 0) * 1.05, ylo = Math.max(0, Math.min(...hits) - 0.05), yhi = Math.min(1, Math.max(...hits) + 0.05);
  if (!(xhi > 0)) xhi = 1;
  if (!(yhi > ylo)) { ylo = 0; yhi = 1; }
  const X = x => L + x / xhi * pw, Y = y => T + ph - (y - ylo) / (yhi - ylo) * ph;
  for (const t of niceTicks(ylo, yhi, 5)) {
    svg.append(sv('line', {class: 'grid', x1: L, x2: L + pw, y1: Y(t), y2: Y(t)}));
    svg.append(sv('text', {x: L - 5, y: Y(t) + 4, 'text-anchor': 'end'}, String(+t.toPrecision(4))));
  }
  for (const t of niceTicks(0, xhi, 6)) {
    svg.append(sv('line', {class: 'grid', x1: X(t), x2: X(t), y1: T, y2: T + ph}));
    svg.append(sv('text', {class: 'xtick', x: X(t), y: T + ph + 15, 'text-anchor': 'middle'}, '$' + (+t.toPrecision(4))));
  }
  svg.append(sv('line', {class: 'axis', x1: L, x2: L + pw, y1: T + ph, y2: T + ph}));
  svg.append(sv('line', {class: 'axis', x1: L, x2: L, y1: T, y2: T + ph}));
  svg.append(sv('text', {x: L + pw / 2, y: H - 6, 'text-anchor': 'middle'}, 'cost ($: RAM held + flash)'));
  svg.append(sv('text', {x: 12, y: T + ph / 2, 'text-anchor': 'middle', transform: `rotate(-90 12 ${T + ph / 2})`}, 'hit ratio'));
  if (target !== null && target >= ylo && target <= yhi) {
    svg.append(sv('line', {class: 'target', 'data-y': JSON.stringify(target), x1: L, x2: L + pw, y1: Y(target), y2: Y(target)}));
    svg.append(sv('text', {x: L + pw - 4, y: Y(target) - 4, 'text-anchor': 'end', fill: '#c00'}, 'target ' + fmt(target)));
  }
  for (const c of cands) {
    const dot = sv('circle', {class: 'candidate', 'data-cost': JSON.stringify(c.cost), 'data-hit': JSON.stringify(c.hit_ratio),
      'data-meets': String(!!c.meets_targets), cx: X(c.cost).toFixed(2), cy: Y(c.hit_ratio).toFixed(2), r: 4,
      fill: c.meets_targets ? '#2ca02c' : '#bbb', 'fill-opacity': 0.8});
    dot.append(sv('title', {}, `${c.command_line}\nhit ${fmt(c.hit_ratio)}, DWPD ${fmt(c.dwpd)}, $${fmt(c.cost)}${c.meets_targets ? '' : ' (misses a target)'}`));
    svg.append(dot);
  }
  if (rec) {
    const ring = sv('circle', {class: 'chosen', 'data-cost': JSON.stringify(rec.cost), 'data-hit': JSON.stringify(rec.hit_ratio),
      cx: X(rec.cost).toFixed(2), cy: Y(rec.hit_ratio).toFixed(2), r: 9, fill: 'none', stroke: '#1f77b4', 'stroke-width': 2.5});
    ring.append(sv('title', {}, 'recommended (full replay): ' + rec.command_line));
    svg.append(ring);
    svg.append(sv('text', {x: X(rec.cost) + 12, y: Y(rec.hit_ratio) - 8, fill: '#1f77b4'}, 'recommended'));
  }
  const legend = [['#2ca02c', 'meets the targets'], ['#bbb', 'misses a target']];
  legend.forEach(([color, text], k) => {
    svg.append(sv('circle', {cx: L + pw + 18, cy: T + 9 + k * 18, r: 4, fill: color}));
    svg.append(sv('text', {class: 'legend', x: L + pw + 28, y: T + 13 + k * 18}, text));
  });
  svg.append(sv('circle', {cx: L + pw + 18, cy: T + 45, r: 7, fill: 'none', stroke: '#1f77b4', 'stroke-width': 2}));
  svg.append(sv('text', {class: 'legend', x: L + pw + 28, y: T + 49}, 'recommended'));
  return fig;
}

function planCandidateTable(cls, list, recCost) {
  const t = el('table', {class: cls});
  t.append(el('tr', {}, ...['memcached command line', 'hit ratio', 'byte hit ratio', 'DWPD', 'endurance', 'cost', 'vs recommended'].map(h => el('th', {}, h))));
  for (const c of list) {
    const extra = typeof recCost === 'number' ? '+$' + (c.cost - recCost).toFixed(2) : '';
    t.append(el('tr', {'data-command': c.command_line},
      el('td', {class: 'cmd'}, el('code', {}, c.command_line)),
      el('td', {'data-value': JSON.stringify(c.hit_ratio)}, fmt(c.hit_ratio)),
      el('td', {'data-value': JSON.stringify(c.byte_hit_ratio)}, fmt(c.byte_hit_ratio)),
      el('td', {'data-value': JSON.stringify(c.dwpd)}, c.flash_bytes ? fmt(c.dwpd) : '–'),
      el('td', {'data-value': JSON.stringify(c.endurance_years ?? null)}, c.flash_bytes ? yearsText(c.endurance_years) : '–'),
      el('td', {'data-value': JSON.stringify(c.cost)}, '$' + c.cost.toFixed(2)),
      el('td', {}, extra)));
  }
  return t;
}

function copyButton(pre) {
  const b = el('button', {class: 'copy', type: 'button'}, 'copy');
  b.addEventListener('click', () => {
    const done = () => { b.textContent = 'copied'; setTimeout(() => { b.textContent = 'copy'; }, 1500); };
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(pre.textContent).then(done, () => selectText(pre));
    } else {
      selectText(pre);
    }
  });
  return b;
}
function selectText(node) {
  const range = document.createRange();
  range.selectNodeContents(node);
  const s = window.getSelection();
  s.removeAllRanges();
  s.addRange(range);
}

function renderPlan(item, index) {
  const p = item.doc;
  const rec = p.recommendation;
  const targets = p.targets || {};
  const maxDwpd = targets.max_dwpd ?? null;
  const sec = el('section', {class: 'plan', 'data-doc': item.name});
  sec.append(el('h2', {}, 'plan: ' + item.name));
  const drive = p.drive || {};
  const question = `trace ${p.trace}; target hit ratio ≥ ${fmt(targets.hit_ratio)}` +
    (maxDwpd !== null ? `, at most ${fmt(maxDwpd)} drive writes per day` : '') +
    (drive.capacity_bytes ? `; drive ${drive.preset || 'default'} of ${bytesText(drive.capacity_bytes)}` + (drive.tbw ? `, ${drive.tbw} TBW` : '') : '') +
    (p.cost ? `; $${p.cost.ram_per_gb}/GB RAM, $${p.cost.flash_per_gb}/GB flash` : '') +
    (p.sample < 1 ? `; grid replays sampled at ${p.sample}` : '');
  sec.append(el('p', {class: 'note'}, question));
  const cands = p.candidates || [];
  if (rec) {
    const box = el('div', {class: 'recommendation'});
    box.append(el('h3', {}, 'Recommended configuration'));
    const pre = el('pre', {class: 'command', 'data-key': 'recommendation.command_line'}, rec.command_line);
    box.append(el('div', {class: 'command-row'}, pre, copyButton(pre)));
    box.append(el('p', {class: 'headline'}, `Hit ratio ${ratioText(rec.hit_ratio)} for $${rec.cost.toFixed(2)}: ` +
      `-m ${rec.ram_mb} (${bytesText(rec.ram_used_bytes)} of slab pages held), ` +
      (rec.flash_bytes ? `${bytesText(rec.flash_bytes)} of flash written at ${fmt(rec.dwpd)} DWPD, the drive lasting ${yearsText(rec.endurance_years)}.` : 'no flash tier.')));
    // A target binds when some cheaper candidate missed it: it is what
    // stopped the plan from going cheaper.
    const cheaper = cands.filter(c => c.cost < rec.cost);
    const hitBinds = cheaper.some(c => c.hit_ratio < targets.hit_ratio);
    const dwpdBinds = maxDwpd !== null && cheaper.some(c => c.dwpd > maxDwpd);
    const t = el('table', {class: 'plan-targets'});
    t.append(el('tr', {}, el('th', {}, 'predicted (full replay)'), el('th', {}, 'value'), el('th', {}, 'target'), el('th', {}, '')));
    t.append(planMetricRow('hit_ratio', 'hit ratio', rec.hit_ratio, ratioText(rec.hit_ratio),
      {text: '≥ ' + ratioText(targets.hit_ratio), met: rec.hit_ratio >= targets.hit_ratio, binding: hitBinds}));
    t.append(planMetricRow('dwpd', 'drive writes per day', rec.dwpd, rec.flash_bytes ? fmt(rec.dwpd) : '0 (no flash)',
      maxDwpd !== null ? {text: '≤ ' + fmt(maxDwpd), met: rec.dwpd <= maxDwpd, binding: dwpdBinds} : null));
    t.append(planMetricRow('endurance_years', 'drive endurance at this write rate', rec.endurance_years ?? null, yearsText(rec.endurance_years)));
    t.append(planMetricRow('byte_hit_ratio', 'byte hit ratio', rec.byte_hit_ratio, ratioText(rec.byte_hit_ratio)));
    t.append(planMetricRow('ceiling_hit_ratio', 'ceiling (first requests miss)', rec.ceiling_hit_ratio, ratioText(rec.ceiling_hit_ratio)));
    t.append(planMetricRow('ram_mb', 'RAM limit (-m, MB)', rec.ram_mb, String(rec.ram_mb)));
    t.append(planMetricRow('ram_used_bytes', 'RAM held by slab pages', rec.ram_used_bytes, bytesText(rec.ram_used_bytes)));
    t.append(planMetricRow('flash_bytes', 'flash (ext_path size)', rec.flash_bytes, flashText(rec.flash_bytes)));
    if (rec.flash_bytes) t.append(planMetricRow('flash_bytes_per_day', 'flash writes per day', rec.flash_bytes_per_day, bytesText(rec.flash_bytes_per_day)));
    for (const [k, v] of Object.entries(rec.settings || {})) t.append(planMetricRow('settings.' + k, k, v, String(v)));
    t.append(planMetricRow('cost', 'cost', rec.cost, '$' + rec.cost.toFixed(2)));
    box.append(t);
    const pred = rec.predicted;
    if (pred && p.sample < 1) {
      box.append(el('p', {class: 'note'}, `The sampled grid replay (R = ${p.sample}) predicted hit ratio ${fmt(pred.hit_ratio)}; the full replay above gave ${fmt(rec.hit_ratio)}.`));
    }
    sec.append(box);
  } else {
    const limit = p.binding_limit || {};
    const box = el('div', {class: 'recommendation none', 'data-limit': limit.limit || ''});
    box.append(el('h3', {}, 'No configuration meets the targets'));
    box.append(el('p', {}, el('b', {}, 'binding limit: ' + (limit.limit || '?')), ' — ' + (limit.detail || '')));
    sec.append(box);
  }
  if (cands.length) sec.append(planCandidateChart(p, index));
  const runners = p.runners_up || [];
  if (runners.length) {
    sec.append(el('h3', {}, 'Runners-up (also meet the targets, at their sampled figures)'));
    sec.append(planCandidateTable('runners-up', runners, rec ? rec.cost : null));
  }
  const rejected = p.rejected_by_full_replay || [];
  if (rejected.length) {
    sec.append(el('h3', {}, 'Cheaper, but missed a target in the full replay'));
    sec.append(planCandidateTable('rejected', rejected, rec ? rec.cost : null));
  }
  const details = el('details', {class: 'search'});
  details.append(el('summary', {}, 'how the search went'));
  const r = p.replays;
  if (r) details.append(el('p', {'data-replays': JSON.stringify(r)}, `${r.sampled + r.full} replays (${r.sampled} sampled, ${r.full} full) of at most ${r.bound_sampled + r.bound_full}.`));
  if ((p.fits || []).length) {
    details.append(el('h4', {}, 'RAM curve fits (the RAM where the curve crosses the target is replayed next)'));
    const ft = el('table', {class: 'fits'});
    ft.append(el('tr', {}, ...['flash', 'ext_* settings', 'points', 'rms error', 'leave-one-out rms', 'interpolated -m', 'predicted', 'replayed'].map(h => el('th', {}, h))));
    for (const f of p.fits) {
      ft.append(el('tr', {}, el('td', {}, flashText(f.flash_bytes)), el('td', {}, f.settings || '–'), el('td', {}, String(f.points)),
        el('td', {}, fmt(f.rms_error)), el('td', {}, f.leave_one_out ? fmt(f.leave_one_out.rms_error) : '–'),
        el('td', {}, String(f.interpolated_ram_mb)), el('td', {}, fmt(f.predicted_hit_ratio)), el('td', {}, fmt(f.replayed_hit_ratio))));
    }
    details.append(ft);
  }
  for (const s of p.settings_search || []) {
    details.append(el('h4', {}, `ext_* settings at -m ${s.ram_mb}, flash ${flashText(s.flash_bytes)} (from ${s.start})`));
    const st = el('table', {class: 'settings-tried'});
    st.append(el('tr', {}, ...['settings', 'hit ratio', 'DWPD', 'meets'].map(h => el('th', {}, h))));
    for (const t of s.tried) st.append(el('tr', {}, el('td', {}, t.settings), el('td', {}, fmt(t.hit_ratio)), el('td', {}, fmt(t.dwpd)), el('td', {}, t.meets_targets ? 'yes' : 'no')));
    details.append(st);
  }
  const curves = ((p.curves || {}).curves || []).filter(c => c.axis === 'm');
  if (curves.length) {
    const series = curves.map(c => ({name: Object.entries(c.fixed || {}).map(([k, v]) => `${k}=${v}`).join(' ') || 'all',
      xs: c.points.map(q => q.bytes), ys: c.points.map(q => q.hit_ratio)}));
    details.append(chart({id: 'plan-' + index + '-ram', title: 'hit ratio against RAM (-m), candidates replayed', xlabel: 'RAM (-m)', xunit: 'bytes',
      ylabel: 'hit ratio', ratio: true, series, ceiling: p.curves.ceiling_hit_ratio}));
  }
  sec.append(details);
  return sec;
}
)JS";
}

}  // namespace memext
