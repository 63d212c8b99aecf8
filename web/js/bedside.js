// SPDX-License-Identifier: MIT
// bedside.js: a nurse records a set of vitals for one patient of the department.
// The patient list and the patient's latest vitals come from the live board subscription;
// the save goes to POST /api/v1/encounters/{id}/vitals and the server's NEWS2 is shown.
// Triage (ESI, chief complaint) and the status of the selected patient: triage.js.
// Nothing is kept in localStorage / sessionStorage / cookies: "taken by" lives in a variable.
import { showMessage, showRefused, followBoard } from './page.js';
import { mountTopbar, fitHeader, showNav } from './topbar.js';
import { fromSnapshot, applyEvent as applyBoardEvent, eventRow, findRow, emptyBoard } from './board_model.js';
import { apiGet, apiPost, conflictCurrent, newIdempotencyKey } from './api.js';
import { showConflict } from './conflict.js';
import { startSession, pickDepartment, can, noAccessText } from './session.js';
import { mountTriage, mountStatus } from './triage.js';
import { el, compareRows, isActive, patientName, ageSex, esiChip, vitalCell, news2Chip, news2Band,
  paramLabel, PEWS_PARAMS, scoreName, BAND_LABEL, NEWS2_PARAMS, formatValue, formatTime,
  formatDuration, since, hhmm, AREA_LABEL, STATUS_LABEL, ROLE_LABEL, positiveInt, param, rowNews2,
  latestVitals, normNews2, reassessState, reassessIntervalMin, isolationFlag, allergyFlag,
  ORDER_KIND_LABEL, flag, unidentifiedMark } from './ui.js';

mountTopbar({ title: 'Bedside vitals', subtitle: 'dept-name', links: ['board', 'census'] });

const $ = (id) => document.getElementById(id);
const list = $('patient-list');
const noPatients = $('no-patients');
const patientPanel = $('patient-panel');
const selectedBox = $('selected-patient');
const latestBody = $('latest-body');
const form = $('vitals-form');
const takenBySelect = $('taken_by');
const takenAtInput = $('taken_at');
const saveButton = $('save');
const result = $('result');
const dialog = $('confirm');

const NUMERIC = [
  // warn: outside the server's plausible range (proto/EARLY_WARNING.md); "Save anyway" sends
  // the field in "confirm", which the server requires for such a value.
  { key: 'heart_rate', label: 'Heart rate', integer: true, warn: (v) => v > 250 || v < 25 },
  { key: 'resp_rate', label: 'Resp rate', integer: true, warn: (v) => v > 60 || v < 4 },
  { key: 'systolic_bp', label: 'Systolic BP', integer: true, warn: (v) => v > 250 || v < 50 },
  { key: 'diastolic_bp', label: 'Diastolic BP', integer: true, warn: (v) => v > 150 || v < 20 },
  { key: 'spo2', label: 'SpO₂', integer: true, warn: (v) => v < 50 },
  { key: 'temperature_c', label: 'Temperature', integer: false, warn: (v) => v < 32 || v > 42 },
  // Bedside PEWS items for children (proto/EARLY_WARNING.md); no plausibility question.
  { key: 'cap_refill_s', label: 'Capillary refill', integer: false, warn: () => false },
  { key: 'oxygen_l_min', label: 'Oxygen flow', integer: false, warn: () => false },
];
const UNITS = { heart_rate: '/min', resp_rate: '/min', systolic_bp: 'mmHg', diastolic_bp: 'mmHg', spo2: '%', temperature_c: '°C', cap_refill_s: 's', oxygen_l_min: 'L/min' };
const FIELD_LABEL = {
  taken_by: 'Taken by',
  taken_at: 'Taken at',
  on_oxygen: 'Oxygen',
  consciousness: 'Consciousness',
  pain: 'Pain score',
  resp_effort: 'Resp effort',
  ...Object.fromEntries(NUMERIC.map((f) => [f.key, f.label])),
};

let departmentId = null;
let live = null;
let board = emptyBoard(); // the board model (board_model.js), at board.seq
const rows = new Map(); // encounter_id -> row (board's, or newer from a write's reply)
let staff = [];
let selectedId = positiveInt(param('encounter')); // the chosen encounter (variable only)
let takenBy = null; // staff id (variable only)
let takenAtTouched = false;
let saving = false;
let vitalsAttempt = null; // {key, sig, takenAt}: the set being sent, kept until it is stored
let haveBoard = false; // a board snapshot has arrived
let session = null;

// ---------- triage and status (triage.js; If-Match, conflicts shown, never overwritten) ----------

// A row the server answered for a write from this page: shown at once (the live event that
// follows carries the same version).
function applyWritten(updated) {
  const known = rows.get(updated.encounter_id);
  if (!known || !isActive(updated) || updated.version < known.version) return;
  rows.set(updated.encounter_id, updated);
  renderList();
  if (updated.encounter_id === selectedId) renderSelected();
}

const triage = mountTriage($('triage-host'), { onSaved: applyWritten });
const statusControl = mountStatus($('status-host'), {
  onSaved: applyWritten,
  later: 'Disposition and departure (also “left without being seen”): on the chart.',
});

// ---------- helpers ----------

function pad(n) {
  return String(n).padStart(2, '0');
}

function toLocalInput(d) {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

// RFC 3339 UTC, whole seconds: 2026-11-25T08:10:00Z
function toRfc3339(d) {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function setTakenAtNow() {
  takenAtTouched = false;
  takenAtInput.value = toLocalInput(new Date());
  takenAtInput.classList.remove('invalid', 'warned');
}

function fieldElement(field) {
  if (!field) return null;
  if (field === 'consciousness') return $('consciousness');
  if (field === 'pain') return $('pain');
  return $(field) || null;
}

function focusTarget(field) {
  if (field === 'consciousness' || field === 'pain') return form.querySelector(`input[name="${field}"]:checked`);
  return fieldElement(field);
}

function clearMarks() {
  for (const node of form.querySelectorAll('.invalid, .warned')) {
    node.classList.remove('invalid', 'warned');
    node.removeAttribute('aria-invalid');
  }
}

function markField(field, cls) {
  const node = fieldElement(field);
  if (!node) return;
  node.classList.add(cls);
  if (cls === 'invalid') node.setAttribute('aria-invalid', 'true');
}

// ---------- patient list (live) ----------

const buttons = new Map(); // encounter_id -> button, reused so focus survives live updates

function pickButton(row) {
  let button = buttons.get(row.encounter_id);
  if (!button) {
    button = el('button', {
      type: 'button',
      className: 'patient-pick',
      dataset: { encounterId: String(row.encounter_id) },
      on: { click: () => select(row.encounter_id) },
    });
    buttons.set(row.encounter_id, button);
  }
  button.setAttribute('aria-pressed', row.encounter_id === selectedId ? 'true' : 'false');
  button.replaceChildren(
    el('span', { className: 'bed-label', text: row.bed ? row.bed.label : '—' }),
    el(
      'span',
      {},
      el('span', { className: 'pick-name', text: patientName(row.patient) }),
      el('span', { className: 'pick-sub', text: `${ageSex(row.patient)} · ${row.bed ? AREA_LABEL[row.bed.area] || row.bed.area : 'no bed'}` }),
    ),
    pickStatus(row),
  );
  return button;
}

// NEWS2 and "obs overdue" on the picker: the nurse sees whom to see next.
function pickStatus(row) {
  const box = el('span', { className: 'pick-status' });
  const n = rowNews2(row);
  if (n) box.append(news2Chip(row.news2 || row.latest_vitals.news2));
  const r = reassessState(row);
  if (r.overdue) box.append(el('span', { className: 'pick-overdue', text: '◷ overdue' }));
  return box;
}

function renderList() {
  const sorted = [...rows.values()].sort(compareRows);
  for (const [id, button] of buttons) {
    if (!rows.has(id)) {
      button.remove();
      buttons.delete(id);
    }
  }
  for (const row of sorted) list.append(pickButton(row)); // append moves an existing button
  noPatients.hidden = rows.size > 0;
}

function select(encounterId) {
  selectedId = encounterId;
  for (const b of list.querySelectorAll('.patient-pick')) b.setAttribute('aria-pressed', b.dataset.encounterId === String(encounterId) ? 'true' : 'false');
  result.hidden = true;
  renderSelected();
  const first = $('heart_rate');
  if (first) first.focus({ preventScroll: true });
}

function renderSelected() {
  const row = selectedId ? rows.get(selectedId) : null;
  patientPanel.hidden = !selectedId;
  $('triage-panel').hidden = !row || !can(session, 'encounter.triage');
  triage.show(row || null);
  statusControl.show(row || null);
  $('care-panel').hidden = !row;
  $('notes-panel').hidden = !row;
  updateSaveState();
  if (!selectedId) return;
  if (!row) {
    selectedBox.replaceChildren(
      el('strong', { text: haveBoard ? 'This patient is not on the board any more (departed or not in this department).' : 'Loading…' }),
    );
    latestBody.replaceChildren();
    return;
  }
  selectedBox.replaceChildren(
    ...[
    el('span', { className: 'bed-label', text: row.bed ? row.bed.label : 'no bed' }),
    esiChip(row.esi, { big: true }),
    el('span', { className: 'pt-big', text: patientName(row.patient) }),
    el('span', { className: 'agesex', text: ageSex(row.patient) }),
    row.patient.unidentified ? unidentifiedMark(row.patient) : el('span', { text: `MRN ${row.patient.mrn}` }),
    el('span', { text: row.chief_complaint || '' }),
    el('span', { className: `status status-${row.status}`, text: STATUS_LABEL[row.status] || row.status }),
    isolationFlag(row),
    allergyFlag(row),
    can(session, 'chart.read') ? el('a', { href: `chart.html?encounter=${row.encounter_id}`, text: 'Open chart' }) : null,
    ].filter(Boolean),
  );
  renderCare(row);
  const v = latestVitals(row);
  if (!v) {
    latestBody.replaceChildren(el('tr', {}, el('td', { text: 'none recorded yet', attrs: { colspan: 9 } })));
    return;
  }
  const when = el('td', { text: `${formatTime(v.taken_at)} (${formatDuration(since(v.taken_at))} ago)`, attrs: { title: v.taken_by ? `by ${v.taken_by.name}` : '' } });
  latestBody.replaceChildren(
    el(
      'tr',
      { dataset: { vitalsId: String(v.id) } },
      when,
      vitalCell(v, 'heart_rate'),
      vitalCell(v, 'resp_rate'),
      vitalCell(v, 'systolic_bp'),
      vitalCell(v, 'spo2'),
      vitalCell(v, 'temperature_c'),
      vitalCell(v, 'consciousness'),
      el('td', { className: 'vital', text: v.pain === null || v.pain === undefined ? '·' : String(v.pain) }),
      el('td', {}, news2Chip(v.news2)),
    ),
  );
}

function renderStaff() {
  const groups = [
    { label: 'Nurses', roles: ['nurse', 'charge_nurse'] },
    { label: 'Physicians', roles: ['physician'] },
    { label: 'Other', roles: null },
  ];
  const known = new Set(['nurse', 'charge_nurse', 'physician']);
  const children = [el('option', { value: '', text: '— choose —' })];
  for (const g of groups) {
    const members = staff
      .filter((s) => (g.roles ? g.roles.includes(s.role) : !known.has(s.role)))
      .sort((a, b) => a.name.localeCompare(b.name));
    if (!members.length) continue;
    children.push(
      el(
        'optgroup',
        { label: g.label },
        members.map((s) => el('option', { value: String(s.id), text: s.role === 'charge_nurse' ? `${s.name} (charge)` : s.name, title: ROLE_LABEL[s.role] || s.role })),
      ),
    );
  }
  takenBySelect.replaceChildren(...children);
  // Who is signed in took them, unless the nurse picks someone else.
  if (!takenBy && session && session.staff_id && staff.some((s) => s.id === session.staff_id)) takenBy = session.staff_id;
  if (takenBy && staff.some((s) => s.id === takenBy)) takenBySelect.value = String(takenBy);
  else {
    takenBy = null;
    takenBySelect.value = '';
  }
}

function applySnapshot(msg) {
  board = fromSnapshot(msg);
  rows.clear();
  for (const row of board.encounters) rows.set(row.encounter_id, row);
  staff = Array.isArray(board.staff) ? board.staff : [];
  if (board.department) $('dept-name').textContent = board.department.name;
  haveBoard = true;
  renderStaff();
  renderList();
  renderSelected();
  list.dataset.seq = String(board.seq);
}

// An event (board_model.applyEvent; one it cannot apply throws, and live.js fetches a new
// snapshot). A bed-only change (cleaning) changes nothing here.
function applyEvent(msg) {
  board = applyBoardEvent(board, msg);
  const row = eventRow(msg);
  if (row) {
    const now = findRow(board, row.encounter_id);
    if (now) rows.set(row.encounter_id, now);
    else rows.delete(row.encounter_id);
    renderList();
    if (row.encounter_id === selectedId) renderSelected();
  }
  list.dataset.seq = String(board.seq);
}

function updateSaveState() {
  const ok = selectedId && rows.has(selectedId) && !saving;
  saveButton.disabled = !ok;
  $('form-hint').textContent = !selectedId
    ? 'Choose a patient first.'
    : !rows.has(selectedId)
      ? 'This patient cannot take new vitals here.'
      : 'Enter saves. Leave a field empty if it was not measured.';
}

// ---------- NEWS2 now, reassessment, board comment, orders ----------

// The encounter's vitals history (GET /encounters/{id}), for the age of each NEWS2 input:
// the latest set may not have every parameter.
let history = { encounterId: null, latestId: null, vitals: [] };

async function loadHistory(row) {
  const latestId = row.latest_vitals ? row.latest_vitals.id : null;
  if (history.encounterId === row.encounter_id && history.latestId === latestId) return;
  history = { encounterId: row.encounter_id, latestId, vitals: history.encounterId === row.encounter_id ? history.vitals : [] };
  const res = await apiGet(`/encounters/${row.encounter_id}`);
  if (!res.ok || history.encounterId !== row.encounter_id) return;
  history.vitals = Array.isArray(res.data.vitals) ? res.data.vitals : [];
  const current = rows.get(row.encounter_id);
  if (current && selectedId === row.encounter_id) renderNews2Now(current);
}

// The newest vitals set that measured key: {value, taken_at} or null.
function lastMeasured(key, row) {
  const sets = [...history.vitals];
  if (row.latest_vitals && !sets.some((v) => v.id === row.latest_vitals.id)) sets.push(row.latest_vitals);
  sets.sort((a, b) => Date.parse(b.taken_at) - Date.parse(a.taken_at));
  for (const v of sets) {
    const value = key === 'systolic_bp' ? v.systolic_bp : v[key];
    if (value !== null && value !== undefined) return { v, value };
  }
  return null;
}

function renderNews2Now(row) {
  const box = $('news2-now');
  // A child's items (Bedside PEWS) open by themselves; the nurse may close them.
  if ((row.news2 && row.news2.system === 'pews') || (row.patient && row.patient.age_years < 16)) $('pews-items').open = true;
  const n = rowNews2(row);
  const v = row.latest_vitals;
  const scale = (n && n.scale) || row.spo2_scale || null;
  $('news2-scale').textContent = scale ? `SpO₂ scale ${scale}` : '';
  if (!n || !v) {
    box.replaceChildren(el('p', { className: 'hint', text: 'No vitals yet: no NEWS2.' }));
    return;
  }
  const band = news2Band(row.news2 || v.news2);
  const scoredAt = n.takenAt || v.taken_at;
  const body = n.inputs ? currentInputRows(n) : NEWS2_PARAMS.map((p) => {
    const score = n.scores[p.key];
    const inSet = p.key === 'systolic_bp' ? v.systolic_bp : v[p.key];
    const last = lastMeasured(p.key, row);
    let value = inSet === null || inSet === undefined ? '' : p.key === 'systolic_bp' ? `${v.systolic_bp}/${v.diastolic_bp ?? '–'}` : formatValue(p.key, inSet);
    let age = value ? `${formatDuration(since(v.taken_at))} ago` : '';
    let note = '';
    if (!value && last) {
      // Measured earlier but not in the scored set: shown, and said to be outside the score.
      value = p.key === 'systolic_bp' ? `${last.v.systolic_bp}/${last.v.diastolic_bp ?? '–'}` : formatValue(p.key, last.value);
      age = `${formatDuration(since(last.v.taken_at))} ago`;
      note = 'not in this score';
    }
    const ageMs = value ? since(note ? last.v.taken_at : v.taken_at) : 0;
    return el(
      'tr',
      { dataset: { param: p.key } },
      el('td', { text: p.label }),
      el('td', { className: 'val', text: value || 'not taken' }),
      el('td', { className: `score${Number.isInteger(score) ? ` s-${Math.min(score, 3)}` : ''}`, text: Number.isInteger(score) ? String(score) : '–' }),
      el('td', { className: `age${ageMs > 4 * 3600000 ? ' old' : ''}`, text: note ? `${age} (${note})` : age }),
    );
  });
  box.replaceChildren(
    el(
      'p',
      { className: 'news2-now-title' },
      news2Chip(row.news2 || v.news2, { big: true }),
      n.inputs
        ? ` ${scoreName(n)}${n.system === 'pews' ? ' (Bedside PEWS, under 16)' : ''}: ${band ? BAND_LABEL[band] : ''} risk · from the latest reading of each parameter in the last ${Math.round((n.windowMin || 240) / 60)} h${n.complete ? '' : ` · incomplete: missing ${n.missing.map(paramLabel).join(', ')}`}`
        : ` ${band ? BAND_LABEL[band] : ''} risk · scored from vitals taken ${formatTime(scoredAt)} (${formatDuration(since(scoredAt))} ago)`,
    ),
    n.floored ? el('p', { className: 'news2-floor', text: '⚠ Shown at the last complete score\'s band and interval: the current score is incomplete and never lowers them.' }) : '',
    el(
      'table',
      { className: 'scores news2-now', attrs: { 'aria-label': 'current NEWS2 sub-scores' } },
      el('thead', {}, el('tr', {}, el('th', { text: 'Parameter' }), el('th', { text: 'Value' }), el('th', { text: 'Score' }), el('th', { text: 'Age of input' }))),
      el('tbody', {}, body, el('tr', { className: 'total' }, el('td', { text: `${scoreName(n)} total` }), el('td'), el('td', { className: 'score', text: String(n.total) }), el('td'))),
    ),
  );
  // Scale 2 is a physician's decision (prescribed target 88–92 %): the buttons are theirs.
  $('scale-row').hidden = !('spo2_scale' in row) || !session || session.role !== 'physician';
  for (const b of document.querySelectorAll('#scale-row button')) b.setAttribute('aria-pressed', String(Number(b.dataset.scale) === (row.spo2_scale || 1)));
}

// One row per NEWS2 parameter from the server's current score: the latest reading, its
// sub-score and its age; a parameter without a reading in the window says so.
function currentInputRows(n) {
  return (n.system === 'pews' ? PEWS_PARAMS : NEWS2_PARAMS).map((p) => {
    const input = n.inputs[p.key];
    const ageMs = input ? since(input.taken_at) : 0;
    return el(
      'tr',
      { dataset: { param: p.key, missing: String(!input) } },
      el('td', { text: p.label }),
      el('td', { className: 'val', text: input ? formatValue(p.key, input.value) : 'missing' }),
      el('td', { className: `score${input ? ` s-${Math.min(input.score, 3)}` : ''}`, text: input ? String(input.score) : '–' }),
      el('td', { className: `age${n.windowMin && ageMs > n.windowMin * 60000 ? ' old' : ''}`, text: input ? `${formatDuration(ageMs)} ago` : `none in the last ${Math.round((n.windowMin || 240) / 60)} h` }),
    );
  });
}

const BAND_RESPONSE = {
  0: 'continuous monitoring (NEWS2 ≥ 7): emergency response',
  60: 'at least hourly',
  240: 'at least 4-hourly',
  720: 'at least 12-hourly',
};

function renderReassess(row) {
  const box = $('reassess');
  const r = reassessState(row);
  const n = rowNews2(row);
  // Overdue, or NEWS2 ≥ 7 (continuous monitoring, emergency response): the box is red.
  box.className = `reassess live-data${r.overdue || r.continuous || (n && news2Band(row.news2) === 'high') ? ' overdue' : ''}`;
  if (r.source === 'none') {
    box.replaceChildren(el('strong', { text: 'No vitals yet: take a first set.' }));
  } else if (r.continuous) {
    box.replaceChildren(el('strong', { text: '⚠ Continuous monitoring' }), el('span', { className: 'hint', text: ` ${BAND_RESPONSE[0]}` }));
  } else {
    const when = hhmm(new Date(r.dueAt));
    const rel = formatDuration(Math.abs(r.dueAt - Date.now()));
    const bandMin = row.news2 && Number.isInteger(row.news2.reassess_min) ? row.news2.reassess_min : reassessIntervalMin(n);
    // A per-patient interval only shortens the band's (the server takes the shorter).
    const interval = Number.isInteger(row.reassess_interval_min) && row.reassess_interval_min < bandMin ? `every ${row.reassess_interval_min} min (set for this patient)` : BAND_RESPONSE[bandMin] || '';
    box.replaceChildren(
      el('strong', { text: r.overdue ? `◷ OVERDUE since ${when} (${rel})` : `Next obs due ${when} (in ${rel})` }),
      el('span', { className: 'hint', text: ` ${interval}${r.source === 'estimated' ? ' · from the NEWS2 band' : ''}` }),
    );
  }
  $('interval-form').hidden = !('reassess_interval_min' in row);
  if (!document.activeElement || document.activeElement.id !== 'interval-min')
    $('interval-min').value = Number.isInteger(row.reassess_interval_min) ? String(row.reassess_interval_min) : '';
}

// The comment the user is editing is based on the version their screen showed when they
// started; a colleague's change in between answers 409 and is shown, never overwritten.
let commentEdit = null; // {encounterId, version, original} while the user edits

function renderComment(row) {
  const has = 'comment' in row;
  $('comment-form').hidden = !has;
  $('comment-unavailable').hidden = has;
  if (!has) return;
  const text = $('comment-text');
  if (commentEdit && commentEdit.encounterId === row.encounter_id) {
    if ((row.comment || '') !== commentEdit.original) $('comment-result').textContent = `A colleague changed the comment meanwhile: “${row.comment || ''}”.`;
    return;
  }
  commentEdit = null;
  text.value = row.comment || '';
}

$('comment-text').addEventListener('input', () => {
  const row = rows.get(selectedId);
  if (!row || commentEdit) return;
  commentEdit = { encounterId: row.encounter_id, version: row.version, original: row.comment || '' };
});

async function saveComment(version = null) {
  const row = rows.get(selectedId);
  if (!row) return;
  const text = $('comment-text').value.trim() || null; // null clears the comment
  const base = version ?? (commentEdit ? commentEdit.version : row.version);
  $('comment-save').disabled = true;
  $('comment-result').textContent = 'Saving…';
  const res = await apiPost(`/encounters/${row.encounter_id}/comment`, { text }, { ifMatch: base });
  $('comment-save').disabled = false;
  if (res.ok) {
    commentEdit = null;
    $('comment-result').textContent = `Saved at ${hhmm(new Date())}.`;
    const updated = res.data && res.data.encounter;
    if (updated && updated.encounter_id === row.encounter_id && updated.version >= row.version) rows.set(updated.encounter_id, updated);
    renderSelected();
    return;
  }
  const current = conflictCurrent(res);
  if (current) {
    $('comment-result').textContent = 'Not saved: a colleague changed the comment first.';
    const again = await showConflict({ what: 'the board comment', theirs: current.comment || '', mine: text, row: current.encounter_id ? current : row });
    if (again) {
      saveComment(current.version || null);
      return;
    }
    commentEdit = null;
    if (current.encounter_id === row.encounter_id) rows.set(row.encounter_id, current);
    $('comment-text').value = current.comment || '';
    $('comment-result').textContent = 'Kept the colleague’s comment; yours was not saved.';
    renderSelected();
    return;
  }
  $('comment-result').textContent = `Not saved: ${res.error.message}${res.error.code ? ` (${res.error.code})` : ''}.`;
}

$('comment-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  saveComment();
});
$('comment-text').addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter' && !ev.shiftKey) {
    ev.preventDefault();
    saveComment();
  }
});

function renderOrders(row) {
  const list = $('orders-list');
  const orders = Array.isArray(row.orders) ? row.orders : null;
  list.hidden = !orders;
  $('orders-none').hidden = !orders || orders.length > 0;
  if (!orders) {
    $('orders-none').hidden = false;
    $('orders-none').textContent = 'Orders need a newer server.';
    return;
  }
  $('orders-none').textContent = 'No orders.';
  list.replaceChildren(
    ...orders.map((o) => {
      const kind = ORDER_KIND_LABEL[o.kind] || o.kind;
      const li = el('li', { className: `order order-${o.status}`, dataset: { orderId: String(o.id), status: o.status } });
      li.append(el('span', { className: 'order-kind', text: kind }), el('span', { className: 'order-name', text: o.name }));
      const when = o.status === 'resulted' ? o.resulted_at : o.status === 'collected' ? o.collected_at : o.ordered_at;
      li.append(el('span', { className: 'order-status', text: `${o.status}${when ? ` ${formatTime(when)}` : ''}` }));
      if (o.status === 'resulted' && o.abnormal) li.append(flag('allergy', '▲ abnormal'));
      if (o.status === 'resulted' && !o.result_seen) li.append(el('span', { className: 'new-mark', text: '● NEW' }));
      if (o.status === 'ordered' && o.kind !== 'consult') {
        const b = el('button', { type: 'button', className: 'small collect', text: 'Mark collected', dataset: { orderId: String(o.id) } });
        b.addEventListener('click', () => markCollected(row.encounter_id, o.id));
        li.append(b);
      }
      return li;
    }),
  );
}

async function markCollected(encounterId, orderId, version = null) {
  const row = rows.get(encounterId);
  if (!row) return;
  // Orders are addressed by their own id; If-Match is still the encounter's version.
  const res = await apiPost(`/orders/${orderId}/status`, { status: 'collected' }, { ifMatch: version ?? row.version });
  if (res.ok) return; // the live event redraws the list
  const current = conflictCurrent(res);
  if (current) {
    const now = (current.orders || []).find((o) => o.id === orderId);
    const again = await showConflict({ what: 'the orders', theirs: now ? `${now.name}: ${now.status}` : 'order removed', mine: 'collected', row: current.encounter_id ? current : row, applyLabel: 'Mark collected anyway' });
    if (again && now && now.status === 'ordered') markCollected(encounterId, orderId, current.version);
    return;
  }
  alertText(`Not marked collected: ${res.error.message}`);
}

function alertText(text) {
  result.className = 'panel result err';
  result.dataset.outcome = 'error';
  result.replaceChildren(el('p', { className: 'result-title', text }));
  result.hidden = false;
}

// Writes of one field with If-Match; a conflict shows the current value.
async function writeField(path, body, { what, mine, theirs, status }) {
  const row = rows.get(selectedId);
  if (!row) return;
  status.textContent = 'Saving…';
  let res = await apiPost(`/encounters/${row.encounter_id}${path}`, body, { ifMatch: row.version });
  const current = conflictCurrent(res);
  if (current) {
    const again = await showConflict({ what, theirs: theirs(current), mine, row: current.encounter_id ? current : row });
    if (!again) {
      status.textContent = 'Not changed.';
      return;
    }
    res = await apiPost(`/encounters/${row.encounter_id}${path}`, body, { ifMatch: current.version });
  }
  status.textContent = res.ok ? `Saved at ${hhmm(new Date())}.` : `Not saved: ${res.error.message}`;
}

for (const b of document.querySelectorAll('#scale-row button')) {
  b.addEventListener('click', () => {
    const scale = Number(b.dataset.scale);
    writeField('/news2-scale', { scale }, { what: 'the SpO₂ scale', mine: `scale ${scale}`, theirs: (c) => `scale ${c.spo2_scale || 1}`, status: $('scale-result') });
  });
}
$('interval-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const v = positiveInt($('interval-min').value);
  writeField('/reassessment', { interval_min: v }, {
    what: 'the reassessment interval',
    mine: v ? `every ${v} min` : 'by NEWS2 band',
    theirs: (c) => (Number.isInteger(c.reassess_interval_min) ? `every ${c.reassess_interval_min} min` : 'by NEWS2 band'),
    status: $('interval-result'),
  });
});

function renderCare(row) {
  if (!row) return;
  renderNews2Now(row);
  renderReassess(row);
  renderComment(row);
  renderOrders(row);
  loadHistory(row);
}

// ---------- nursing note (Idempotency-Key: one per note, reused when retried) ----------

let noteAttempt = null; // {key, text, encounterId}
let savingNote = false;

async function saveNote() {
  if (savingNote) return;
  const row = rows.get(selectedId);
  const text = $('bs-note-text').value;
  const out = $('bs-note-result');
  if (!row) return;
  if (!takenBy) {
    out.textContent = 'Not saved: choose "Taken by" (the author) above.';
    takenBySelect.focus();
    return;
  }
  if (!text.trim()) {
    out.textContent = 'Not saved: write the note first.';
    $('bs-note-text').focus();
    return;
  }
  if (!noteAttempt || noteAttempt.text !== text || noteAttempt.encounterId !== row.encounter_id) noteAttempt = { key: newIdempotencyKey(), text, encounterId: row.encounter_id };
  savingNote = true;
  $('bs-note-save').disabled = true;
  out.textContent = 'Saving…';
  const res = await apiPost(`/encounters/${row.encounter_id}/notes`, { author_id: takenBy, text }, { idempotencyKey: noteAttempt.key });
  savingNote = false;
  $('bs-note-save').disabled = false;
  if (res.ok) {
    noteAttempt = null;
    $('bs-note-text').value = '';
    out.textContent = `Note saved at ${hhmm(new Date())}.`;
  } else {
    out.textContent = `Not saved: ${res.error.message}${res.error.code === 'network' ? ' — press Add note again to retry (it will not be stored twice)' : ''}.`;
  }
}
$('bs-note-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  saveNote();
});
$('bs-note-text').addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) {
    ev.preventDefault();
    saveNote();
  }
});

// ---------- the form ----------

function buildPain() {
  const row = $('pain-choices');
  for (let i = 0; i <= 10; i++) {
    row.append(el('label', { className: 'choice' }, el('input', { type: 'radio', name: 'pain', value: String(i) }), el('span', { text: String(i) })));
  }
}

// Reads the form: {body, errors: [{field, text}], warnings: [{field, text}]}
function collect() {
  const body = {};
  const errors = [];
  const warnings = [];
  if (!takenBy) errors.push({ field: 'taken_by', text: 'choose who took the observations' });
  else body.taken_by = takenBy;

  const takenAt = takenAtTouched ? new Date(takenAtInput.value) : new Date();
  if (Number.isNaN(takenAt.getTime())) errors.push({ field: 'taken_at', text: 'enter a date and time' });
  else {
    if (takenAt.getTime() > Date.now() + 5 * 60000) errors.push({ field: 'taken_at', text: 'is in the future' });
    else if (takenAt.getTime() < Date.now() - 24 * 3600000) warnings.push({ field: 'taken_at', text: `Taken at ${takenAt.toLocaleString()} is more than 24 hours ago` });
    body.taken_at = toRfc3339(takenAt);
  }

  let measured = 0;
  for (const f of NUMERIC) {
    const input = $(f.key);
    if (input.validity.badInput) {
      errors.push({ field: f.key, text: 'is not a number' });
      continue;
    }
    const raw = input.value.trim();
    if (raw === '') continue;
    const value = Number(raw);
    if (!Number.isFinite(value)) {
      errors.push({ field: f.key, text: 'is not a number' });
      continue;
    }
    body[f.key] = f.key === 'temperature_c' ? Math.round(value * 10) / 10 : value;
    measured++;
    if (f.warn(value)) warnings.push({ field: f.key, text: `${f.label} ${raw} ${UNITS[f.key]}` });
  }
  const oxygen = $('on_oxygen').checked;
  // Air/oxygen goes with a saturation: sent when SpO2 is given or oxygen is ticked.
  if (oxygen || body.spo2 !== undefined) {
    body.on_oxygen = oxygen;
    measured++;
  }
  const acvpu = form.querySelector('input[name="consciousness"]:checked');
  if (acvpu && acvpu.value) {
    body.consciousness = acvpu.value;
    measured++;
  }
  const effort = form.querySelector('input[name="resp_effort"]:checked');
  if (effort && effort.value) {
    body.resp_effort = effort.value;
    measured++;
  }
  const pain = form.querySelector('input[name="pain"]:checked');
  if (pain && pain.value !== '') {
    body.pain = Number(pain.value);
    measured++;
  }
  if (!measured && !errors.some((e) => NUMERIC.some((f) => f.key === e.field))) errors.push({ field: null, text: 'enter at least one measurement' });
  // A systolic alone is a palpated pressure; a diastolic alone means nothing.
  if (body.diastolic_bp !== undefined && body.systolic_bp === undefined) errors.push({ field: 'systolic_bp', text: 'a diastolic pressure needs its systolic (a systolic alone is fine: palpated)' });
  if (body.systolic_bp !== undefined && body.diastolic_bp !== undefined && body.diastolic_bp >= body.systolic_bp)
    warnings.push({ field: 'diastolic_bp', text: `Diastolic ${body.diastolic_bp} is not below systolic ${body.systolic_bp}` });
  return { body, errors, warnings };
}

// Fields the server asked to confirm and the nurse did; cleared once a set is saved.
const serverConfirmed = new Set();

// The server refused one implausible value: offer to confirm it or to save the rest of the
// set without it, so the other measurements are not lost.
function showImplausible(e) {
  clearMarks();
  markField(e.field, 'invalid');
  const label = FIELD_LABEL[e.field] || e.field;
  const confirmButton = el('button', { type: 'button', className: 'primary', text: `Confirm ${label} and save`, dataset: { action: 'confirm-implausible' } });
  const withoutButton = el('button', { type: 'button', text: `Save the rest without ${label}`, dataset: { action: 'save-without' } });
  confirmButton.addEventListener('click', () => {
    serverConfirmed.add(e.field);
    save();
  });
  withoutButton.addEventListener('click', () => {
    const input = $(e.field);
    if (input) input.value = '';
    save();
  });
  result.className = 'panel result err';
  result.dataset.outcome = 'implausible';
  result.replaceChildren(
    el('p', { className: 'result-title', text: `Not saved — ${label} looks implausible` }),
    el('p', { text: e.message || '' }),
    el('div', { className: 'form-actions' }, confirmButton, withoutButton),
  );
  result.hidden = false;
  confirmButton.focus();
}

function showErrors(errors, { fromServer = false } = {}) {
  clearMarks();
  const items = errors.map((e) => {
    if (e.field) markField(e.field, 'invalid');
    return el('li', { text: e.field ? `${FIELD_LABEL[e.field] || e.field}: ${e.text}` : e.text });
  });
  result.className = 'panel result err';
  result.dataset.outcome = 'error';
  result.replaceChildren(
    el('p', { className: 'result-title', text: fromServer ? 'Not saved — the server refused these vitals' : 'Not saved yet — please correct' }),
    el('ul', {}, items),
  );
  result.hidden = false;
  const first = errors.find((e) => e.field);
  const target = first ? focusTarget(first.field) : null;
  if (target) target.focus();
}

function confirmWarnings(warnings) {
  return new Promise((resolve) => {
    clearMarks();
    for (const w of warnings) if (w.field) markField(w.field, 'warned');
    $('confirm-list').replaceChildren(...warnings.map((w) => el('li', { text: w.text })));
    const done = (answer) => {
      $('confirm-save').removeEventListener('click', yes);
      $('confirm-without').removeEventListener('click', without);
      $('confirm-back').removeEventListener('click', no);
      dialog.removeEventListener('cancel', cancel);
      if (dialog.open) dialog.close();
      resolve(answer);
    };
    const yes = () => done(true);
    const no = () => done(false);
    const without = () => done('without');
    const cancel = (ev) => {
      ev.preventDefault();
      done(false);
    };
    $('confirm-save').addEventListener('click', yes);
    $('confirm-without').addEventListener('click', without);
    $('confirm-back').addEventListener('click', no);
    dialog.addEventListener('cancel', cancel);
    dialog.showModal();
    $('confirm-back').focus();
  });
}

function showSaved(row, vitals) {
  clearMarks();
  const n = normNews2(vitals.news2_detail) || normNews2(vitals.news2) || { total: null, scores: {} };
  const band = news2Band(n);
  const taken = Object.keys(n.scores || {}).length;
  const rowsOut = NEWS2_PARAMS.map((p) => {
    const score = n.scores ? n.scores[p.key] : undefined;
    let value = p.key === 'systolic_bp' && vitals.systolic_bp !== null ? `${vitals.systolic_bp}/${vitals.diastolic_bp}` : formatValue(p.key, vitals[p.key]);
    if (value === '') value = 'not taken';
    return el(
      'tr',
      { dataset: { param: p.key } },
      el('td', { text: p.label }),
      el('td', { text: value }),
      el('td', { className: `score${Number.isInteger(score) ? ` s-${Math.min(score, 3)}` : ''}`, text: Number.isInteger(score) ? String(score) : '–' }),
    );
  });
  const who = row ? `${patientName(row.patient)}${row.bed ? ` (${row.bed.label})` : ''}` : `encounter ${vitals.encounter_id}`;
  result.className = 'panel result ok';
  result.dataset.outcome = 'saved';
  result.dataset.vitalsId = String(vitals.id);
  result.replaceChildren(
    ...[
    el(
      'p',
      { className: 'result-title' },
      `Saved for ${who}, taken ${formatTime(vitals.taken_at)}. NEWS2 `,
      news2Chip(n, { big: true }),
      band ? ` ${BAND_LABEL[band]} risk` : '',
    ),
    n.complete ? null : el('p', { className: 'hint', text: `Incomplete NEWS2: ${taken} of 7 parameters taken; the total counts only those.` }),
    el(
      'table',
      { className: 'scores', attrs: { 'aria-label': 'NEWS2 sub-scores' } },
      el('thead', {}, el('tr', {}, el('th', { text: 'Parameter' }), el('th', { text: 'Value' }), el('th', { text: 'Score' }))),
      el(
        'tbody',
        {},
        rowsOut,
        el('tr', { className: 'total' }, el('td', { text: 'NEWS2 total' }), el('td', { text: '' }), el('td', { className: 'score news2-total-cell', text: String(n.total) })),
      ),
    ),
    ].filter(Boolean),
  );
  result.hidden = false;
  result.scrollIntoView({ block: 'nearest' });
}

function clearMeasurements() {
  for (const f of NUMERIC) $(f.key).value = '';
  $('on_oxygen').checked = false;
  for (const name of ['consciousness', 'pain', 'resp_effort']) {
    const blank = form.querySelector(`input[name="${name}"][value=""]`);
    if (blank) blank.checked = true;
  }
  setTakenAtNow();
  clearMarks();
}

async function save() {
  if (saving) return;
  if (!selectedId || !rows.has(selectedId)) {
    showErrors([{ field: null, text: 'choose a patient on the board first' }]);
    return;
  }
  const { body, errors, warnings } = collect();
  if (errors.length) {
    showErrors(errors);
    return;
  }
  const answer = warnings.length ? await confirmWarnings(warnings) : true;
  if (answer === 'without') {
    // Keep the other measurements: clear the questioned ones and save again.
    for (const w of warnings) if (NUMERIC.some((n) => n.key === w.field)) $(w.field).value = '';
    return save();
  }
  if (!answer) {
    const w = warnings.find((x) => x.field);
    if (w) focusTarget(w.field)?.focus();
    return;
  }
  // What the nurse confirmed in the dialog, or after the server asked (showImplausible).
  const confirmed = new Set([...warnings.map((w) => w.field), ...serverConfirmed].filter((f) => NUMERIC.some((n) => n.key === f) && body[f] !== undefined));
  if (confirmed.size) body.confirm = Object.fromEntries([...confirmed].map((f) => [f, true]));
  const encounterId = selectedId;
  // One Idempotency-Key per set of observations: sending the same set again after a lost
  // answer (same patient, same values, "taken at" not changed by hand) reuses the key and
  // the first taken_at, so the server stores it once.
  const sig = JSON.stringify({ encounterId, ...body, taken_at: takenAtTouched ? body.taken_at : null });
  if (vitalsAttempt && vitalsAttempt.sig === sig) body.taken_at = vitalsAttempt.takenAt;
  else vitalsAttempt = { key: newIdempotencyKey(), sig, takenAt: body.taken_at };
  saving = true;
  updateSaveState();
  saveButton.textContent = 'Saving…';
  try {
    const res = await apiPost(`/encounters/${encounterId}/vitals`, body, { idempotencyKey: vitalsAttempt.key });
    if (res.ok && res.data && res.data.vitals) {
      vitalsAttempt = null;
      serverConfirmed.clear();
      const updated = res.data.encounter;
      if (updated && rows.has(updated.encounter_id) && updated.version >= rows.get(updated.encounter_id).version) rows.set(updated.encounter_id, updated);
      showSaved(updated || rows.get(encounterId), res.data.vitals);
      clearMeasurements();
      renderSelected();
    } else {
      if (res.status > 0 && res.status < 500) vitalsAttempt = null; // refused: a corrected set is a new one
      const e = res.error || {};
      if (e.code === 'implausible_value' && e.field) {
        showImplausible(e);
        return;
      }
      const text = e.code === 'network' ? 'the server could not be reached — press Save again to retry (it will not be stored twice)' : e.message || 'refused';
      showErrors([{ field: e.field || null, text: e.code && e.code !== 'network' ? `${text} (${e.code})` : text }], { fromServer: true });
    }
  } finally {
    saving = false;
    saveButton.textContent = 'Save vitals';
    updateSaveState();
  }
}

form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  save();
});
// Enter saves from any field (radio buttons and checkboxes too), not only from text boxes.
form.addEventListener('keydown', (ev) => {
  if (ev.key !== 'Enter' || ev.isComposing) return;
  const t = ev.target;
  if (t.tagName === 'INPUT') {
    ev.preventDefault();
    if (!saveButton.disabled) save();
  }
});
takenBySelect.addEventListener('change', () => {
  takenBy = positiveInt(takenBySelect.value);
  takenBySelect.classList.remove('invalid');
});
takenAtInput.addEventListener('input', () => {
  takenAtTouched = true;
});
$('taken-now').addEventListener('click', setTakenAtNow);
$('clear').addEventListener('click', () => {
  clearMeasurements();
  result.hidden = true;
});
for (const f of NUMERIC) $(f.key).addEventListener('input', (ev) => ev.target.classList.remove('invalid', 'warned'));

// ---------- start ----------

function init() {
  buildPain();
  setTakenAtNow();
  updateSaveState();
  setInterval(() => {
    if (!takenAtTouched) takenAtInput.value = toLocalInput(new Date());
  }, 15000);
  setInterval(renderSelected, 30000); // the age of the latest vitals
  start();
}

// Nothing of the board is kept: the list, the selection and the form are emptied.
function clearAll() {
  board = emptyBoard();
  rows.clear();
  staff = [];
  haveBoard = false;
  selectedId = null;
  renderList();
  renderSelected();
  list.dataset.seq = '0';
  $('patient-section').hidden = true;
  form.hidden = true;
  result.hidden = true;
  noPatients.hidden = true;
}

function noPage(text, opts) {
  clearAll();
  showMessage(text, opts);
  showRefused('nothing to record here');
  fitHeader();
}

async function start() {
  session = await startSession({ onWait: showMessage });
  fitHeader();
  const refusal = noAccessText(session, 'vitals.create');
  if (refusal) {
    noPage(refusal, { info: true });
    return;
  }
  const requested = positiveInt(param('department'));
  if (param('department') !== null && !requested) {
    noPage('The department in the address is not valid.');
    return;
  }
  const r = pickDepartment(session, requested);
  if (r.error) {
    noPage(r.error.message);
    return;
  }
  departmentId = r.department.id;
  $('dept-name').textContent = r.department.name;
  showMessage('');
  $('patient-section').hidden = false;
  form.hidden = false;
  showNav(departmentId, (action) => can(session, action));
  live = followBoard(departmentId, { onSnapshot: applySnapshot, onEvent: applyEvent, onRefused: clearAll });
}

init();
