// SPDX-License-Identifier: MIT
// ui.js: shared formatting and DOM building. Patient data only ever goes into the page via
// textContent / attributes set on elements made with document.createElement, never as HTML.
// The board's rules (active rows, row order) live in board_model.js; re-exported for the pages.
export { AREA_ORDER, isActive, isEnded, compareRows } from './board_model.js';

// el('td', {className: 'x', text: 'y', dataset: {a: 1}, attrs: {title: 't'}}, child, ...)
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null) continue;
    if (key === 'text') node.textContent = String(value);
    else if (key === 'className') node.className = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key === 'attrs') for (const [a, v] of Object.entries(value)) node.setAttribute(a, String(v));
    else if (key === 'on') for (const [ev, fn] of Object.entries(value)) node.addEventListener(ev, fn);
    else node[key] = value;
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export const AREA_LABEL = {
  resus: 'Resus',
  acute: 'Acute',
  fast_track: 'Fast track',
  hallway: 'Hallway',
  waiting_room: 'Waiting room',
};
export const STATUS_LABEL = {
  waiting: 'Waiting',
  in_room: 'In room',
  seen_by_provider: 'Seen by provider',
  disposition_decided: 'Dispo decided',
  departed: 'Departed',
  left_without_being_seen: 'Left without being seen',
  entered_in_error: 'Entered in error',
};
export const ESI_NAME = { 1: 'Resuscitation', 2: 'Emergent', 3: 'Urgent', 4: 'Less urgent', 5: 'Non-urgent' };
// HL7 v2 administrative sex letters
export const SEX_SHORT = { female: 'F', male: 'M', other: 'O', unknown: 'U' };
export const ACVPU_LABEL = { A: 'Alert', C: 'New confusion', V: 'Voice', P: 'Pain', U: 'Unresponsive' };
export const ARRIVAL_LABEL = {
  walk_in: 'Walk-in',
  ambulance: 'Ambulance',
  helicopter: 'Helicopter',
  police: 'Police',
  transfer: 'Transfer',
  other: 'Other',
};
export const ROLE_LABEL = {
  physician: 'Physician',
  nurse: 'Nurse',
  charge_nurse: 'Charge nurse',
  registration: 'Registration',
  admin: 'Administrator',
  service: 'Service',
  display: 'Public wall',
};

export function patientName(p) {
  if (!p) return '';
  // An unidentified patient (issue 9 item 15) goes by the server's alias until identified.
  if (p.unidentified) return p.alias || `Unidentified ${p.temp_id || ''}`.trim();
  const family = p.family_name || '';
  const given = p.given_name || '';
  return given ? `${family}, ${given}` : family;
}

// The mark every screen shows next to an unidentified patient's alias: the identity is not
// known, the id shown is temporary (not an MRN).
export function unidentifiedMark(p, { tag = 'span' } = {}) {
  if (!p || !p.unidentified) return null;
  return el(tag, { className: 'flag flag-unidentified', text: `UNIDENTIFIED · temp id ${p.temp_id}`, attrs: { title: 'identity not yet known: the id is temporary, not an MRN' } });
}

// "64 F"; under 2 years in months ("5mo F"), under 1 month in days.
export function ageSex(p, today = new Date()) {
  if (!p) return '';
  let age = Number.isInteger(p.age_years) ? `${p.age_years}` : '';
  if (p.birth_date && (!Number.isInteger(p.age_years) || p.age_years < 2)) {
    const [y, m, d] = p.birth_date.split('-').map(Number);
    if (y && m && d) {
      let months = (today.getFullYear() - y) * 12 + (today.getMonth() + 1 - m);
      if (today.getDate() < d) months--;
      if (months < 1) {
        const days = Math.max(0, Math.floor((today - new Date(y, m - 1, d)) / 86400000));
        age = `${days}d`;
      } else if (months < 24) {
        age = `${months}mo`;
      }
    }
  }
  const sex = SEX_SHORT[p.sex] || 'U';
  return `${age} ${sex}`.trim();
}

// 1h 42m / 12m / 2d 3h / <1m
export function formatDuration(ms) {
  if (!Number.isFinite(ms)) return '';
  if (ms < 0) ms = 0;
  const mins = Math.floor(ms / 60000);
  if (mins < 1) return '<1m';
  if (mins < 60) return `${mins}m`;
  const hours = Math.floor(mins / 60);
  if (hours < 48) return `${hours}h ${String(mins % 60).padStart(2, '0')}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

export function since(iso, now = Date.now()) {
  const t = Date.parse(iso);
  return Number.isFinite(t) ? now - t : NaN;
}

export function hhmm(d) {
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

// "14:02" today, "24 Nov 14:02" otherwise (browser's local time).
export function formatTime(iso, now = new Date()) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const sameDay = d.toDateString() === now.toDateString();
  if (sameDay) return hhmm(d);
  const month = d.toLocaleString('en-GB', { month: 'short' });
  return `${d.getDate()} ${month} ${hhmm(d)}`;
}

export function formatDate(ymd) {
  if (!ymd) return '';
  const [y, m, d] = ymd.split('-').map(Number);
  if (!y) return ymd;
  const month = new Date(y, m - 1, 1).toLocaleString('en-GB', { month: 'short' });
  return `${d} ${month} ${y}`;
}

export function esiChip(esi, { big = false } = {}) {
  const valid = Number.isInteger(esi) && esi >= 1 && esi <= 5;
  return el('span', {
    className: `esi ${valid ? `esi-${esi}` : 'esi-none'}${big ? ' esi-big' : ''}`,
    text: valid ? String(esi) : '–',
    attrs: { title: valid ? `ESI ${esi} – ${ESI_NAME[esi]}` : 'Not triaged yet', 'aria-label': valid ? `ESI ${esi}` : 'not triaged' },
  });
}

// ---- vitals ----

// The NEWS2 "score 0" band of each parameter; outside it the value is high or low.
const NORMAL = {
  heart_rate: [51, 90],
  resp_rate: [12, 20],
  systolic_bp: [111, 219],
  spo2: [96, 100],
  temperature_c: [36.1, 38.0],
};

export const VITAL_FIELDS = [
  { key: 'heart_rate', label: 'HR', long: 'Heart rate', unit: '/min' },
  { key: 'resp_rate', label: 'RR', long: 'Resp rate', unit: '/min' },
  { key: 'systolic_bp', label: 'BP', long: 'Blood pressure', unit: 'mmHg' },
  { key: 'spo2', label: 'SpO₂', long: 'SpO₂', unit: '%' },
  { key: 'temperature_c', label: 'Temp', long: 'Temperature', unit: '°C' },
  { key: 'consciousness', label: 'ACVPU', long: 'Consciousness', unit: '' },
];

export const NEWS2_PARAMS = [
  { key: 'resp_rate', label: 'Resp rate' },
  { key: 'spo2', label: 'SpO₂' },
  { key: 'on_oxygen', label: 'Air / oxygen' },
  { key: 'systolic_bp', label: 'Systolic BP' },
  { key: 'heart_rate', label: 'Heart rate' },
  { key: 'consciousness', label: 'Consciousness' },
  { key: 'temperature_c', label: 'Temperature' },
];

export function subScore(vitals, key) {
  const n = vitals ? normNews2(vitals.news2_detail) || normNews2(vitals.news2) : null;
  const s = n ? n.scores[key] : undefined;
  return Number.isInteger(s) ? s : null;
}

function direction(key, value) {
  const range = NORMAL[key];
  if (!range || typeof value !== 'number') return '';
  if (value > range[1]) return 'high';
  if (value < range[0]) return 'low';
  return '';
}

export function formatValue(key, v) {
  if (v === null || v === undefined) return '';
  if (key === 'temperature_c') return Number(v).toFixed(1);
  if (key === 'cap_refill_s') return `${Number(v)} s`;
  if (key === 'on_oxygen') return v ? 'O₂' : 'air';
  return String(v);
}

// A <td> (or other tag) for one measurement, marked abnormal when its NEWS2 sub-score is > 0:
// colour plus ▲ (high) / ▼ (low) / ! (consciousness, oxygen), bold; severe (3) inverted.
export function vitalCell(vitals, key, { tag = 'td' } = {}) {
  const cell = el(tag, { className: `vital v-${key}` });
  if (!vitals) return cell;
  let text;
  let value = vitals[key];
  if (key === 'systolic_bp') {
    const sys = vitals.systolic_bp;
    const dia = vitals.diastolic_bp;
    text = sys === null || sys === undefined ? '' : `${sys}/${dia === null || dia === undefined ? '–' : dia}`;
  } else {
    text = formatValue(key, value);
  }
  if (text === '') {
    cell.classList.add('missing');
    cell.append(el('span', { className: 'nt', text: '·', attrs: { title: 'not taken' } }));
    return cell;
  }
  const score = subScore(vitals, key);
  const span = el('span', { className: 'val', text });
  if (score !== null && score > 0) {
    const dir = direction(key, value);
    const sym = dir === 'high' ? '▲' : dir === 'low' ? '▼' : '!';
    cell.classList.add('abn', score >= 3 ? 'abn-3' : `abn-${score}`);
    cell.dataset.score = String(score);
    cell.setAttribute('title', `NEWS2 sub-score ${score}${dir ? ` (${dir})` : ''}`);
    cell.append(el('span', { className: 'mark', text: sym, attrs: { 'aria-label': dir || 'abnormal' } }), span);
  } else {
    if (score === 0) cell.dataset.score = '0';
    cell.append(span);
  }
  if (key === 'spo2' && vitals.on_oxygen) {
    const o2score = subScore(vitals, 'on_oxygen');
    cell.append(el('span', { className: `o2${o2score > 0 ? ' abn-o2' : ''}`, text: 'O₂', attrs: { title: 'on supplemental oxygen' } }));
  }
  return cell;
}

// low | low-medium | medium | high (RCP NEWS2 chart 4 clinical risk). The server's band wins:
// an incomplete score is shown at the last complete score's band when that was worse
// (proto/EARLY_WARNING.md), which the partial total alone would not say.
export function news2Band(news2) {
  const n = normNews2(news2);
  if (!n) return null;
  if (n.band) return n.band;
  const t = n.total;
  if (t >= 7) return 'high';
  if (t >= 5) return 'medium';
  if (n.anyThree) return 'low-medium';
  return 'low';
}

// True when the shown score asks for an urgent response: a 3 in one parameter, 5 or more, or
// the last complete score's band when an incomplete one is shown.
export function news2Urgent(news2) {
  const band = news2Band(news2);
  return band === 'low-medium' || band === 'medium' || band === 'high';
}

// The name a screen gives the score: NEWS2, or PEWS for a child (proto/EARLY_WARNING.md).
export function scoreName(n) {
  return n && n.system === 'pews' ? 'PEWS' : 'NEWS2';
}

export const PEWS_PARAMS = [
  { key: 'heart_rate', label: 'Heart rate' },
  { key: 'systolic_bp', label: 'Systolic BP' },
  { key: 'cap_refill_s', label: 'Capillary refill' },
  { key: 'resp_rate', label: 'Resp rate' },
  { key: 'resp_effort', label: 'Resp effort' },
  { key: 'spo2', label: 'SpO₂' },
  { key: 'on_oxygen', label: 'Oxygen therapy' },
];

const PARAM_LABEL = { cap_refill_s: 'capillary refill', resp_effort: 'resp effort', oxygen_l_min: 'oxygen flow', resp_rate: 'resp rate', spo2: 'SpO₂', on_oxygen: 'air/O₂', systolic_bp: 'systolic BP', heart_rate: 'heart rate', consciousness: 'ACVPU', temperature_c: 'temperature', spo2_oxygen_flag: 'O₂ flag of the SpO₂ (scale 2)' };
export function paramLabel(key) {
  return PARAM_LABEL[key] || key;
}

// The age of the oldest reading the score uses, and whether it is older than the window in
// which readings count (the score then rests on readings that no longer count).
export function scoreAge(n, now = Date.now()) {
  if (!n || !n.oldestInputAt) return null;
  const age = now - Date.parse(n.oldestInputAt);
  return { age, stale: Number.isInteger(n.windowMin) && age > n.windowMin * 60000 };
}

export const BAND_LABEL = { low: 'low', 'low-medium': 'low–medium (a 3)', medium: 'medium', high: 'high' };

// Accepts a vitals set's news2 ({total, complete, scores}) or the contract's row news2
// ({total, band, any_three, subscores}).
export function news2Chip(raw, { big = false } = {}) {
  const news2 = normNews2(raw);
  const band = news2Band(raw);
  if (!band) return el('span', { className: 'news2 news2-none', text: '–', attrs: { title: 'no NEWS2' } });
  const taken = Object.keys(news2.scores || {}).length;
  const missing = news2.missing ? news2.missing.map(paramLabel).join(', ') : `${7 - taken} of 7 parameters`;
  const title = [`${scoreName(news2)} ${news2.total}: ${BAND_LABEL[band]} risk${news2.scale === 2 ? ' (SpO₂ scale 2)' : ''}${news2.system === 'pews' ? ' (Bedside PEWS, under 16)' : ''}`];
  if (!news2.complete) title.push(`incomplete: missing ${missing}`);
  if (news2.floored) title.push('shown at the last complete score\'s band and interval: an incomplete score never lowers them');
  const chip = el('span', {
    className: `news2 news2-${band}${big ? ' news2-big' : ''}${news2.complete ? '' : ' incomplete'}`,
    attrs: { title: title.join(' — ') },
    dataset: { band, complete: String(news2.complete), system: news2.system },
  });
  if (news2.system === 'pews') chip.append(el('span', { className: 'news2-system', text: 'P' }));
  chip.append(el('span', { className: 'news2-total', text: String(news2.total) }));
  if (!news2.complete) chip.append(el('span', { className: 'news2-inc', text: '*' }));
  return chip;
}

// ---- time thresholds (web/README.md "Time colours") ----

// Minutes at which a clock turns amber (warn) and red (alert), with the source of each:
// ED length of stay: 4 h (crowding consensus: 90th percentile LOS over 4 h) and 8 h (ECAT: LOS
// over 480 min); waiting room: 30 min and 60 min (the default longest-wait alert threshold);
// untriaged: 5 min (consensus: arrival to triage over 5 min) and 15 min (the census alert).
export const TIME_THRESHOLDS = {
  los: { warn: 240, alert: 480, what: 'length of stay' },
  waiting: { warn: 30, alert: 60, what: 'waiting' },
  untriaged: { warn: 5, alert: 15, what: 'waiting for triage' },
};

// '' | 'warn' | 'alert' for a clock of the given kind that has run ms.
export function timeLevel(kind, ms) {
  const t = TIME_THRESHOLDS[kind];
  if (!t || !(ms >= 0)) return '';
  if (ms >= t.alert * 60000) return 'alert';
  if (ms >= t.warn * 60000) return 'warn';
  return '';
}

// Marks a time cell at its level: a class for the colour and a symbol and title for those who
// cannot tell the colours apart (never colour only).
export function markTime(td, kind, ms) {
  const level = timeLevel(kind, ms);
  if (!level) return td;
  const t = TIME_THRESHOLDS[kind];
  td.classList.add(`time-${level}`);
  td.dataset.timeLevel = level;
  td.prepend(el('span', { className: 'time-mark', text: level === 'alert' ? '⚠ ' : '◷ ', attrs: { 'aria-label': level === 'alert' ? 'over the limit' : 'getting long' } }));
  td.title = `${td.title ? `${td.title} — ` : ''}${t.what} over ${formatDuration((level === 'alert' ? t.alert : t.warn) * 60000)}`;
  return td;
}

// ---- misc ----

export function positiveInt(value) {
  if (value === null || value === undefined || !/^[1-9][0-9]{0,15}$/.test(String(value))) return null;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : null;
}

export function param(name) {
  return new URLSearchParams(location.search).get(name);
}

export function staffName(s) {
  return s ? s.name : '';
}

// Emergency-access grants on a board row that are still running at `now`.
export function activeGrants(row, now = Date.now()) {
  const list = row && Array.isArray(row.break_glass) ? row.break_glass : [];
  return list.filter((g) => g && Date.parse(g.until) > now);
}

// "⚠ Emergency access: dr.rahman until 14:02" (text, never colour only); null when none.
export function breakGlassFlag(row, { now = Date.now(), tag = 'span' } = {}) {
  const grants = activeGrants(row, now);
  if (!grants.length) return null;
  const who = grants.map((g) => `${g.by} until ${hhmm(new Date(g.until))}`).join('; ');
  return el(tag, {
    className: 'bg-flag',
    text: `⚠ Emergency access: ${who}`,
    attrs: {
      role: 'note',
      title: grants.map((g) => `${g.by}: ${g.reason || ''}`).join('\n'),
    },
    dataset: { breakGlass: String(grants.length) },
  });
}

// ---- issue 5: fields of the board row that older servers do not send ----
// Each helper takes a board row and works whether or not the field is present.

// NEWS2 in one shape, from the row's server-side "news2" (contract keys: subscores, band,
// any_three, scale) or, on older servers, from latest_vitals.news2 (scores, complete).
// Sub-score keys are the vitals field names used everywhere in the UI.
const SUBSCORE_KEY = { air_or_oxygen: 'on_oxygen', temperature: 'temperature_c' };
export function normNews2(n) {
  if (!n || !Number.isInteger(n.total)) return null;
  const src = n.subscores || n.scores || {};
  const scores = {};
  for (const [k, v] of Object.entries(src)) if (Number.isInteger(v)) scores[SUBSCORE_KEY[k] || k] = v;
  const anyThree = typeof n.any_three === 'boolean' ? n.any_three : Object.values(scores).some((s) => s === 3);
  return {
    total: n.total,
    scores,
    complete: typeof n.complete === 'boolean' ? n.complete : Object.keys(scores).length === 7,
    anyThree,
    scale: n.scale === 2 ? 2 : n.scale === 1 ? 1 : null, // null: not said (vitals of older servers)
    takenAt: n.taken_at || null,
    band: n.band ? String(n.band).replace('_', '-') : null,
    // The patient's current score (row "news2" of newer servers): each input with its time.
    inputs: n.inputs || null,
    missing: Array.isArray(n.missing) ? n.missing : null,
    oldestInputAt: n.oldest_input_at || null,
    windowMin: Number.isInteger(n.window_min) ? n.window_min : null,
    floored: n.floored === true,
    continuous: n.monitoring === 'continuous',
    system: n.system === 'pews' ? 'pews' : 'news2', // Bedside PEWS for patients under 16
  };
}

export function rowNews2(row) {
  if (!row) return null;
  return normNews2(row.news2) || normNews2(row.latest_vitals && row.latest_vitals.news2);
}

// The row's latest vitals set with its NEWS2 (for vitalCell's abnormal marks): newer servers
// send the score once, as the row's "news2", not again inside latest_vitals.
export function latestVitals(row) {
  const v = row && row.latest_vitals;
  const inputs = row && row.news2 && row.news2.inputs;
  if (inputs) {
    // The latest reading of each parameter, which is what the score is made of; a diastolic
    // pressure only with the systolic of its own set.
    const out = { ...(v || {}), news2: row.news2, taken_at: row.news2.taken_at || (v && v.taken_at) };
    // A PEWS score has no temperature or ACVPU input: those cells keep the latest set's value.
    const pews = row.news2.system === 'pews';
    for (const key of ['resp_rate', 'spo2', 'on_oxygen', 'systolic_bp', 'heart_rate', 'consciousness', 'temperature_c']) {
      if (inputs[key]) out[key] = inputs[key].value;
      else if (!pews) out[key] = null;
    }
    if (!v || !inputs.systolic_bp || v.systolic_bp !== inputs.systolic_bp.value) out.diastolic_bp = null;
    return out;
  }
  if (!v || v.news2 || v.news2_detail || !row.news2) return v || null;
  return { ...v, news2: row.news2 };
}

// RCP NEWS2 chart 4 (ed-domain.md §3.2): minimum observation frequency by response band, in
// minutes; 0 = continuous monitoring. Used only when the server sends no reassess_due_at.
export function reassessIntervalMin(n) {
  if (!n) return null;
  if (n.total >= 7) return 0;
  if (n.total >= 5 || n.anyThree) return 60;
  if (n.total >= 1) return 240;
  return 720;
}

// {dueAt: ms|null, overdue, continuous, source: 'server'|'estimated'|'none'}
export function reassessState(row, now = Date.now()) {
  // The server says continuous monitoring (7 or more, or the last complete score's): every
  // screen shows "continuous", never a due time.
  if (row && row.monitoring === 'continuous') return { dueAt: null, overdue: false, continuous: true, source: 'server' };
  if (row && row.reassess_due_at) {
    const due = Date.parse(row.reassess_due_at);
    return { dueAt: due, overdue: now > due, continuous: false, source: 'server' };
  }
  const v = row && row.latest_vitals;
  const n = rowNews2(row);
  if (!v || !n) return { dueAt: null, overdue: false, continuous: false, source: 'none' };
  const interval = Number.isInteger(row.reassess_interval_min) ? row.reassess_interval_min : reassessIntervalMin(n);
  if (interval === 0) return { dueAt: null, overdue: false, continuous: true, source: 'estimated' };
  const due = Date.parse(v.taken_at) + interval * 60000;
  return { dueAt: due, overdue: now > due, continuous: false, source: 'estimated' };
}

export const ISOLATION_LABEL = {
  contact: 'Contact',
  droplet: 'Droplet',
  airborne: 'Airborne',
  contact_droplet: 'Contact + droplet',
  contact_airborne: 'Contact + airborne',
  enteric: 'Enteric',
  protective: 'Protective',
};

// A chip with symbol AND text (never colour alone): class names select the colour.
export function flag(kind, text, { title = '', extra = '' } = {}) {
  return el('span', { className: `flag flag-${kind}${extra ? ` ${extra}` : ''}`, text, attrs: title ? { title } : {}, dataset: { flag: kind } });
}

export function isolationFlag(row) {
  if (!row || !row.isolation) return null;
  const label = ISOLATION_LABEL[row.isolation] || String(row.isolation).replace(/_/g, ' ');
  return flag('isolation', `☣ ${label}`, { title: `Isolation precautions: ${label}` });
}

// null: not recorded; []: no known allergies; else the list.
export function allergyFlag(row, { masked = false } = {}) {
  if (!row || !('allergies' in row)) return null;
  const list = row.allergies;
  if (list === null) return flag('allergy-unknown', 'Allergies ?', { title: 'Allergies not recorded yet' });
  if (!Array.isArray(list) || !list.length) return flag('nka', 'NKA', { title: 'No known allergies' });
  const severe = list.some((a) => a && a.severity === 'severe');
  const names = list.map((a) => (a && a.substance) || '?');
  const title = list.map((a) => `${a.substance}${a.reaction ? ` (${a.reaction})` : ''}${a.severity ? `, ${a.severity}` : ''}`).join('\n');
  const text = masked ? `⚠ Allergy (${list.length})` : `⚠ Allergy: ${names.join(', ')}`;
  return flag('allergy', text, { title: masked ? 'Allergies recorded' : title, extra: severe ? 'severe' : '' });
}

export const ORDER_KIND_LABEL = { lab: 'Lab', imaging: 'Imaging', consult: 'Consult' };
export const ORDER_STATUS_LABEL = { ordered: 'ordered', collected: 'collected', resulted: 'resulted' };

// Per kind: pending (ordered or collected), resulted, new (resulted and not seen), abnormal new.
export function orderSummary(row) {
  const out = {};
  const list = row && Array.isArray(row.orders) ? row.orders : [];
  for (const o of list) {
    const k = o.kind || 'other';
    const s = (out[k] ||= { pending: 0, resulted: 0, fresh: 0, abnormal: 0 });
    if (o.status === 'resulted') {
      s.resulted++;
      if (!o.result_seen) {
        s.fresh++;
        if (o.abnormal) s.abnormal++;
      }
    } else s.pending++;
  }
  return out;
}

// "Lab 2 pending · 1 resulted ● NEW" chips, one per kind.
export function orderFlags(row) {
  const sum = orderSummary(row);
  const chips = [];
  for (const kind of ['lab', 'imaging', 'consult', ...Object.keys(sum).filter((k) => !ORDER_KIND_LABEL[k])]) {
    const s = sum[kind];
    if (!s) continue;
    const parts = [];
    if (s.pending) parts.push(`${s.pending} pend`);
    if (s.resulted) parts.push(`${s.resulted}✓`);
    const label = ORDER_KIND_LABEL[kind] || kind;
    const chip = flag(`order${s.fresh ? ' order-new' : ''}`, `${label} ${parts.join(' ')}`, {
      title: `${label}: ${s.pending} pending, ${s.resulted} resulted${s.fresh ? `, ${s.fresh} new result${s.fresh > 1 ? 's' : ''} not seen${s.abnormal ? ` (${s.abnormal} abnormal)` : ''}` : ''}`,
    });
    chip.dataset.kind = kind;
    if (s.fresh) chip.append(el('span', { className: 'new-mark', text: s.abnormal ? '●NEW ▲' : '●NEW' }));
    chips.push(chip);
  }
  return chips;
}

// A result as the server sent it (order.result, proto/README.md "Orders"): value with unit,
// the reference range, and the flag the server derived ('low'|'high'|'normal'|'abnormal'|null).
export const RESULT_FLAG_LABEL = { high: '▲ HIGH', low: '▼ LOW', abnormal: '▲ ABNORMAL', normal: 'normal' };

export function resultValueText(result) {
  if (!result) return '';
  if (result.text != null) return result.text;
  return `${formatNumber(result.value)}${result.unit ? ` ${result.unit}` : ''}`;
}

export function resultRangeText(result) {
  const r = result && result.reference_range;
  if (!r) return '';
  if (r.low != null && r.high != null) return `ref ${formatNumber(r.low)}–${formatNumber(r.high)}`;
  return r.low != null ? `ref ≥ ${formatNumber(r.low)}` : `ref ≤ ${formatNumber(r.high)}`;
}

function formatNumber(n) {
  return n == null ? '' : String(n);
}

// Resulted orders whose result nobody has marked seen yet; abnormal: one of them is.
export function newResults(row) {
  const fresh = (Array.isArray(row.orders) ? row.orders : []).filter((o) => o.status === 'resulted' && !o.result_seen);
  return { count: fresh.length, abnormal: fresh.some((o) => o.abnormal) };
}

export const DISPOSITION_LABEL = {
  discharge: 'Discharge',
  admit: 'Admit',
  transfer: 'Transfer',
  lwbs: 'Left without being seen',
  ama: 'Left against advice',
  deceased: 'Deceased',
};

export function dispositionText(row) {
  const d = row && row.disposition;
  if (!d || !d.kind) return '';
  const label = DISPOSITION_LABEL[d.kind] || d.kind;
  return d.destination ? `${label} → ${d.destination}` : label;
}

// The moment the patient came to where they are now (bed, hallway, waiting room).
export function locationSince(row) {
  return (row && (row.location_since || row.arrived_at)) || null;
}

// Abnormal (any sub-score > 0) and taken in the last hour: "new abnormal vitals".
export const NEW_VITALS_MS = 60 * 60000;
export function abnormalVitals(row, now = Date.now()) {
  const v = row && row.latest_vitals;
  const n = rowNews2(row);
  if (!v || !n) return null;
  const abnormal = Object.entries(n.scores).filter(([, s]) => s > 0).map(([k]) => k);
  if (!abnormal.length) return null;
  return { keys: abnormal, fresh: now - Date.parse(v.taken_at) <= NEW_VITALS_MS };
}

// Initials + last two MRN digits, for a board a visitor can see: "A.O. ·12".
export function maskedName(p) {
  if (!p) return '';
  if (p.unidentified) return `Unidentified ·${String(p.temp_id || '').replace(/\D/g, '').slice(-2)}`;
  const initial = (s) => (s ? [...String(s).trim()][0] || '' : '').toUpperCase();
  const mrn = String(p.mrn || '').replace(/\D/g, '');
  return `${initial(p.given_name)}.${initial(p.family_name)}.${mrn ? ` ·${mrn.slice(-2)}` : ''}`;
}

function fold(s) {
  return String(s || '')
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z]/g, '');
}

function editDistance(a, b) {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

// Two current patients whose names could be mistaken for each other: the same family name,
// a family name one letter apart (Jonson/Johnson), or names swapped (given <-> family).
export function namesAlike(p, q) {
  const pf = fold(p && p.family_name);
  const qf = fold(q && q.family_name);
  const pg = fold(p && p.given_name);
  const qg = fold(q && q.given_name);
  if (!pf || !qf) return false;
  if (pf === qf) return true;
  if (pf.length >= 4 && qf.length >= 4 && editDistance(pf, qf) <= 1) return true;
  return Boolean(pg && qg && pf === qg && pg === qf);
}

// encounter_id -> [ids of the other alike rows]. The server's similar_name wins when sent; as a
// row's list is only as fresh as the row's last event, it is made symmetric (B lists A: A is
// flagged too) and limited to patients still on the board.
export function similarNameMap(rowList) {
  const sets = new Map();
  const add = (a, b) => {
    if (!sets.has(a)) sets.set(a, new Set());
    if (b !== null) sets.get(a).add(b);
  };
  const serverSays = rowList.some((r) => r && 'similar_name' in r);
  if (serverSays) {
    const present = new Set(rowList.map((r) => r.encounter_id));
    for (const r of rowList) {
      const s = r.similar_name;
      if (s === true) add(r.encounter_id, null);
      if (!Array.isArray(s)) continue;
      for (const id of s)
        if (id !== r.encounter_id && present.has(id)) {
          add(r.encounter_id, id);
          add(id, r.encounter_id);
        }
    }
  } else {
    for (let i = 0; i < rowList.length; i++)
      for (let j = i + 1; j < rowList.length; j++)
        if (namesAlike(rowList[i].patient, rowList[j].patient)) {
          add(rowList[i].encounter_id, rowList[j].encounter_id);
          add(rowList[j].encounter_id, rowList[i].encounter_id);
        }
  }
  return new Map([...sets].map(([id, set]) => [id, [...set].sort((a, b) => a - b)]));
}

export function isBoarder(row) {
  return Boolean(row && row.boarding_since && !row.departed_at);
}
