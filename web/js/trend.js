// SPDX-License-Identifier: MIT
// trend.js: the chart's vitals trend, drawn as SVG by the page (no library): one strip per
// vital on a shared time axis, each shaded by its NEWS2 sub-score bands (RCP 2017 chart 1,
// ed-domain.md §3.2), and a last strip for the NEWS2 total shaded by the chart 4 risk bands.
// Values only ever enter the SVG as attributes and textContent.

const NS = 'http://www.w3.org/2000/svg';
function s(tag, attrs = {}, text) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

// Band edges sit halfway between charted values (integers; temperature at 1 dp).
const BAND_FILL = { 0: '#ffffff', 1: '#fff7cc', 2: '#ffe2c2', 3: '#f9cccc' };
export const TREND_STRIPS = [
  { key: 'heart_rate', label: 'HR', unit: '/min', min: 30, max: 170, bands: [[-Infinity, 40.5, 3], [40.5, 50.5, 1], [50.5, 90.5, 0], [90.5, 110.5, 1], [110.5, 130.5, 2], [130.5, Infinity, 3]], colour: '#b71c1c' },
  { key: 'resp_rate', label: 'RR', unit: '/min', min: 4, max: 40, bands: [[-Infinity, 8.5, 3], [8.5, 11.5, 1], [11.5, 20.5, 0], [20.5, 24.5, 2], [24.5, Infinity, 3]], colour: '#1b5e20' },
  { key: 'systolic_bp', label: 'SBP', unit: 'mmHg', min: 60, max: 240, bands: [[-Infinity, 90.5, 3], [90.5, 100.5, 2], [100.5, 110.5, 1], [110.5, 219.5, 0], [219.5, Infinity, 3]], colour: '#0b4f9c' },
  { key: 'spo2', label: 'SpO₂', unit: '%', min: 80, max: 100, bands: [[-Infinity, 91.5, 3], [91.5, 93.5, 2], [93.5, 95.5, 1], [95.5, Infinity, 0]], colour: '#6a1b9a' },
  { key: 'temperature_c', label: 'Temp', unit: '°C', min: 34, max: 41, bands: [[-Infinity, 35.05, 3], [35.05, 36.05, 1], [36.05, 38.05, 0], [38.05, 39.05, 1], [39.05, Infinity, 2]], colour: '#e65100' },
  { key: 'news2', label: 'NEWS2', unit: '', min: 0, max: 15, bands: [[-Infinity, 4.5, 'low'], [4.5, 6.5, 'medium'], [6.5, Infinity, 'high']], colour: '#000' },
];
const RISK_FILL = { low: '#eef7ee', medium: '#ffe6c7', high: '#f9cccc' };

// SpO2 scale 2 bands (for a patient with a prescribed 88–92 % target): shaded on air only.
const SPO2_SCALE2 = [[-Infinity, 83.5, 3], [83.5, 85.5, 2], [85.5, 87.5, 1], [87.5, 92.5, 0], [92.5, 94.5, 1], [94.5, 96.5, 2], [96.5, Infinity, 3]];

function valueOf(v, key) {
  if (key === 'news2') {
    const n = v.news2_detail || v.news2;
    return n && Number.isInteger(n.total) ? n.total : null;
  }
  const x = v[key];
  return typeof x === 'number' ? x : null;
}

function hhmm(t) {
  const d = new Date(t);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

// vitals: any order; from/to: ms. Returns an <svg>.
// to: the end of the window (now, or the departure of a patient who left); endLabel marks it.
export function drawTrend(vitals, { from, to = Date.now(), width = 1100, scale = 1, endLabel = 'now' } = {}) {
  const sets = vitals.filter((v) => Number.isFinite(Date.parse(v.taken_at))).sort((a, b) => Date.parse(a.taken_at) - Date.parse(b.taken_at));
  // The window ends now and shows at least the last hour (a new patient's first set is not
  // squeezed against the left edge), back to the arrival or the first set.
  const end = Math.max(to, sets.length ? Date.parse(sets[sets.length - 1].taken_at) : to);
  const start = Math.min(from ?? Infinity, sets.length ? Date.parse(sets[0].taken_at) : Infinity, end - 3600000);
  const left = 92;
  const right = 64;
  const stripH = 64;
  const gap = 8;
  const top = 8;
  const axisH = 22;
  const height = top + TREND_STRIPS.length * (stripH + gap) + axisH;
  const plotW = width - left - right;
  const x = (t) => left + ((t - start) / (end - start)) * plotW;
  const svg = s('svg', { viewBox: `0 0 ${width} ${height}`, width: '100%', role: 'img', class: 'trend', 'aria-label': 'vitals trend with NEWS2 bands' });
  svg.append(s('title', {}, 'Vitals trend: one strip per vital, shaded by NEWS2 sub-score bands'));

  TREND_STRIPS.forEach((strip, i) => {
    const y0 = top + i * (stripH + gap);
    const y = (val) => y0 + stripH - ((Math.min(Math.max(val, strip.min), strip.max) - strip.min) / (strip.max - strip.min)) * stripH;
    const g = s('g', { class: `strip strip-${strip.key}`, 'data-key': strip.key });
    const bands = strip.key === 'spo2' && scale === 2 ? SPO2_SCALE2 : strip.bands;
    for (const [lo, hi, score] of bands) {
      const a = Math.max(lo, strip.min);
      const b = Math.min(hi, strip.max);
      if (b <= a) continue;
      const fill = typeof score === 'string' ? RISK_FILL[score] : BAND_FILL[score];
      g.append(s('rect', { x: left, y: y(b), width: plotW, height: Math.max(0, y(a) - y(b)), fill, class: `band band-${score}` }));
    }
    g.append(s('rect', { x: left, y: y0, width: plotW, height: stripH, fill: 'none', stroke: '#6b7078', 'stroke-width': 1 }));
    g.append(s('text', { x: 6, y: y0 + 22, class: 'trend-label', 'font-size': 16, 'font-weight': 800, fill: '#111' }, strip.label));
    if (strip.unit) g.append(s('text', { x: 6, y: y0 + 40, 'font-size': 12, fill: '#3a3a3a' }, strip.unit));
    g.append(s('text', { x: left - 4, y: y0 + 11, 'font-size': 10, 'text-anchor': 'end', fill: '#5c5c5c' }, String(strip.max)));
    g.append(s('text', { x: left - 4, y: y0 + stripH, 'font-size': 10, 'text-anchor': 'end', fill: '#5c5c5c' }, String(strip.min)));
    const points = sets.map((v) => [Date.parse(v.taken_at), valueOf(v, strip.key), v]).filter(([, val]) => val !== null);
    if (points.length > 1) {
      g.append(s('polyline', { points: points.map(([t, val]) => `${x(t).toFixed(1)},${y(val).toFixed(1)}`).join(' '), fill: 'none', stroke: strip.colour, 'stroke-width': 2.5, 'stroke-linejoin': 'round' }));
    }
    for (const [t, val] of points) {
      const c = s('circle', { cx: x(t).toFixed(1), cy: y(val).toFixed(1), r: 4.5, fill: strip.colour, stroke: '#fff', 'stroke-width': 1.5 });
      c.append(s('title', {}, `${strip.label} ${val}${strip.unit ? ` ${strip.unit}` : ''} at ${hhmm(t)}`));
      g.append(c);
    }
    if (points.length) {
      const val = points[points.length - 1][1];
      g.append(s('text', { x: width - right + 6, y: Math.min(Math.max(y(val) + 5, y0 + 14), y0 + stripH), 'font-size': 15, 'font-weight': 800, fill: '#111', class: 'trend-last' }, strip.key === 'temperature_c' ? val.toFixed(1) : String(val)));
    } else {
      g.append(s('text', { x: left + 8, y: y0 + stripH / 2 + 5, 'font-size': 13, fill: '#5c5c5c' }, 'not measured'));
    }
    svg.append(g);
  });

  // time axis: a tick per hour (or 15 min for short stays)
  const axisY = top + TREND_STRIPS.length * (stripH + gap);
  // At most about ten ticks, on whole local quarter hours, hours or days.
  const span = end - start;
  const MIN = 60000;
  const steps = [15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080].map((m) => m * MIN);
  const step = steps.find((st) => span / st <= 10) || steps[steps.length - 1];
  const offset = new Date(start).getTimezoneOffset() * MIN;
  const day = (t) => new Date(t).toLocaleDateString('en-GB', { day: 'numeric', month: 'short' });
  for (let t = Math.ceil((start - offset) / step) * step + offset; t <= end; t += step) {
    svg.append(s('line', { x1: x(t), x2: x(t), y1: top, y2: axisY - gap, stroke: '#9aa0a6', 'stroke-width': 0.6, 'stroke-dasharray': '3 4' }));
    svg.append(s('text', { x: x(t), y: axisY + 12, 'font-size': 12, 'text-anchor': 'middle', fill: '#3a3a3a' }, step >= 1440 * MIN ? day(t) : hhmm(t)));
  }
  svg.append(s('line', { x1: x(end), x2: x(end), y1: top, y2: axisY - gap, stroke: '#111', 'stroke-width': 1.5 }));
  svg.append(s('text', { x: x(end), y: axisY + 12, 'font-size': 12, 'font-weight': 800, 'text-anchor': 'end', fill: '#111' }, endLabel));
  return svg;
}
