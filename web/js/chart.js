// SPDX-License-Identifier: MIT
// chart.js: one encounter's chart, live over /ws (topic chart; continuity by version).
import { showMessage, showRefused, followLive } from './page.js';
import { mountTopbar, fitHeader } from './topbar.js';
import { apiGet, apiPost, conflictCurrent, newIdempotencyKey } from './api.js';
import { showConflict } from './conflict.js';
import { startSession, can, noAccessText } from './session.js';
import { el, patientName, ageSex, esiChip, vitalCell, news2Chip, formatTime, formatDate, isEnded,
  formatDuration, since, hhmm, AREA_LABEL, STATUS_LABEL, ARRIVAL_LABEL, ESI_NAME, positiveInt,
  param, breakGlassFlag, isolationFlag, allergyFlag, dispositionText, orderFlags, RESULT_FLAG_LABEL,
  unidentifiedMark, resultValueText, resultRangeText, rowNews2, reassessState, DISPOSITION_LABEL,
  ORDER_KIND_LABEL, formatValue } from './ui.js';
import { drawTrend } from './trend.js';
import { mountTriage, mountStatus } from './triage.js';

mountTopbar({ title: 'Chart', subtitle: 'title-name', links: ['board'], roleLinks: ['bedside', 'census'], linkText: { bedside: 'Record vitals' } });

const $ = (id) => document.getElementById(id);
const main = $('chart');
const vitalsBody = $('vitals-body');
const notesList = $('notes');
const authorSelect = $('author');
const noteText = $('note-text');
const noteResult = $('note-result');
const noteSave = $('note-save');

const encounterId = positiveInt(param('encounter'));
let encounter = null;
let vitals = []; // newest first
let notes = []; // newest first
let record = null; // chart.record (allergies, medications, problems, prior_visits) or null
let diagnoses = null; // this visit's coded diagnoses, or null (older server)
let locations = null; // location history, or null
let timeline = []; // [{at, type, summary, by}] any order
let timelineFromServer = false;
let live = null;
let staffLoadedFor = null;
let authorId = null; // a variable only

// "Sam Patel, RN", or "Sam Patel, RN (entered by Grace Kim, RN)" when a colleague entered it.
function byline(person, enteredBy) {
  const name = person ? person.name : '';
  return enteredBy && enteredBy !== name ? `${name} (entered by ${enteredBy})` : name;
}
let savingNote = false;
let noteAttempt = null; // {key, text, authorId}: the note being sent, until it is stored
let session = null;
let breakingGlass = false;

function showChartPanels(show) {
  for (const panel of document.querySelectorAll('.chart-data')) panel.hidden = !show;
}

// Nothing of the chart stays on the page (refused, access ended, signed out).
function clearChart() {
  encounter = null;
  vitals = [];
  notes = [];
  vitalsBody.replaceChildren();
  notesList.replaceChildren();
  $('header-esi').replaceChildren();
  $('who').replaceChildren();
  $('facts').replaceChildren();
  $('title-name').textContent = '';
  authorSelect.replaceChildren(el('option', { value: '', text: '— choose —' }));
  staffLoadedFor = null;
  main.dataset.seq = '0';
  main.dataset.version = '0';
  showChartPanels(false);
}

function byNewest(a, b) {
  return Date.parse(b.taken_at || b.written_at) - Date.parse(a.taken_at || a.written_at) || b.id - a.id;
}

function reassessText(row) {
  const r = reassessState(row);
  if (r.source === 'none') return 'no vitals yet';
  if (r.continuous) return 'continuous monitoring';
  return r.overdue ? `OVERDUE since ${hhmm(new Date(r.dueAt))}` : `due ${hhmm(new Date(r.dueAt))}`;
}

function fact(label, value, extra = {}) {
  return el('div', {}, el('dt', { text: label }), el('dd', { ...extra, text: value === null || value === undefined || value === '' ? '—' : value }));
}

function renderHeader() {
  const row = encounter;
  if (!row) return;
  const p = row.patient || {};
  $('header-esi').replaceChildren(esiChip(row.esi, { big: true }));
  $('who').replaceChildren(
    el('span', { className: 'pt-big', text: patientName(p) }),
    el('span', { className: 'agesex', text: ageSex(p) }),
    p.unidentified ? unidentifiedMark(p) : el('span', { text: `MRN ${p.mrn || ''}` }),
    p.unidentified ? null : el('span', { text: `born ${formatDate(p.birth_date)}` }),
    el('span', { className: `status status-${row.status}`, text: STATUS_LABEL[row.status] || row.status }),
  );
  for (const f of [isolationFlag(row), allergyFlag(row)]) if (f) $('who').append(f);
  const flag = breakGlassFlag(row, { tag: 'div' });
  if (flag) $('who').append(flag);
  const arrived = `${formatTime(row.arrived_at)} (${formatDuration(since(row.arrived_at))} ago)`;
  $('facts').replaceChildren(
    ...[
    fact('Bed', row.bed ? `${row.bed.label} · ${AREA_LABEL[row.bed.area] || row.bed.area}` : 'no bed'),
    fact('ESI', Number.isInteger(row.esi) ? `${row.esi} – ${ESI_NAME[row.esi]}` : 'not triaged'),
    fact('Chief complaint', row.chief_complaint),
    fact('Arrived', arrived, { className: 'arrived' }),
    fact('Arrival mode', ARRIVAL_LABEL[row.arrival_mode] || row.arrival_mode),
    fact('Attending', row.attending ? row.attending.name : 'unassigned'),
    fact('Nurse', row.nurse ? row.nurse.name : 'unassigned'),
    fact('Here since', row.location_since ? `${formatTime(row.location_since)} (${formatDuration(since(row.location_since))})` : null),
    fact('NEWS2', rowNews2(row) ? `${rowNews2(row).total}${(rowNews2(row).scale || row.spo2_scale) === 2 ? ' (SpO₂ scale 2)' : ''}` : 'no vitals'),
    fact('Next obs', reassessText(row), { className: reassessState(row).overdue ? 'overdue' : '' }),
    fact('Disposition', dispositionText(row) || (row.disposition === undefined ? null : 'not decided')),
    row.boarding_since ? fact('Boarding', `${formatDuration(since(row.boarding_since))} since ${formatTime(row.boarding_since)}`, { className: 'overdue' }) : null,
    'comment' in row ? fact('Board comment', row.comment) : null,
    fact('Encounter', `#${row.encounter_id}`),
    ].filter(Boolean),
  );
  // Unidentified (issue 9 item 15): registration and the charge nurse may give the identity.
  $('identify-panel').hidden = !p.unidentified || !can(session, 'arrival.create');
  renderRecord();
  renderResults();
  renderActions();
  renderRecordForms();
  $('title-name').textContent = `${patientName(p)} · ${ageSex(p)}`;
  // The window title stays generic: browsers keep titles in their history files.
  document.title = 'Chart – edlive';
  // Links to the patient's department only for its own staff (not through emergency access).
  const own = session && (session.departments || []).some((d) => d.id === row.department_id);
  if (own) $('board-link').href = `board.html?department=${row.department_id}`;
  $('bedside-link').href = `bedside.html?department=${row.department_id}&encounter=${row.encounter_id}`;
  $('bedside-link').hidden = !own || !can(session, 'vitals.create');
  $('census-link').href = `census.html?department=${row.department_id}`;
  $('census-link').hidden = !own;
}

// ---- results: value, unit, reference range and the server's flag (board links here) ----

let scrolledToResults = false;

function renderResults() {
  const row = encounter;
  const resulted = (Array.isArray(row.orders) ? row.orders : [])
    .filter((o) => o.status === 'resulted')
    .sort((a, b) => Date.parse(b.resulted_at) - Date.parse(a.resulted_at) || b.id - a.id);
  const flagOf = (o) => (o.result ? o.result.flag : o.abnormal === true ? 'abnormal' : o.abnormal === false ? 'normal' : null);
  $('chart-results').replaceChildren(
    ...(resulted.length
      ? resulted.map((o) => {
          const flag = flagOf(o);
          return el(
            'li',
            { className: `result${flag && flag !== 'normal' ? ' result-abnormal' : ''}`, dataset: { orderId: String(o.id), flag: flag || '' } },
            el('span', { className: 'result-name', text: `${ORDER_KIND_LABEL[o.kind] || o.kind}: ${o.name}` }),
            el('span', { className: 'result-value', text: o.result ? resultValueText(o.result) : '(no value given)' }),
            el('span', { className: 'result-range', text: resultRangeText(o.result) }),
            flag ? el('span', { className: `result-flag flag-${flag}`, text: RESULT_FLAG_LABEL[flag] || flag }) : '',
            el('span', { className: 'result-time', text: formatTime(o.resulted_at) }),
            o.result_seen ? '' : el('span', { className: 'new-mark', text: '● NEW' }),
          );
        })
      : [el('li', { className: 'hint', text: 'No results yet' })]),
  );
  // The board's new-result mark links to chart.html?encounter=N#results: show it once loaded.
  if (!scrolledToResults && location.hash === '#results') {
    scrolledToResults = true;
    requestAnimationFrame(() => $('results').scrollIntoView({ block: 'start' }));
  }
}

// ---- the whole patient: record panel ----

function recList(items, empty) {
  if (!items.length) return el('p', { className: 'hint', text: empty });
  return el('ul', { className: 'rec-list' }, items);
}

function setRec(id, content) {
  $(id).querySelector('.rec-body').replaceChildren(content);
}

const NOT_SENT = 'not available from this server yet';

function renderRecord() {
  const row = encounter;
  if (!row) return;
  // Allergies: the row's (live) list, else the record's. null = not recorded, [] = none known.
  const allergies = 'allergies' in row ? row.allergies : record && 'allergies' in record ? record.allergies : undefined;
  if (allergies === undefined) setRec('rec-allergies', el('p', { className: 'hint', text: NOT_SENT }));
  else if (allergies === null) setRec('rec-allergies', el('p', { className: 'rec-warn', text: '⚠ Not recorded — ask the patient' }));
  else
    setRec(
      'rec-allergies',
      recList(
        allergies.map((a) =>
          el('li', { className: `allergy sev-${a.severity || 'unknown'}` }, el('strong', { text: a.substance }), a.reaction ? ` — ${a.reaction}` : '', a.severity ? el('span', { className: 'sev', text: ` ${a.severity}` }) : ''),
        ),
        'No known allergies (NKA)',
      ),
    );
  if (!record) {
    for (const id of ['rec-meds', 'rec-problems', 'rec-visits']) setRec(id, el('p', { className: 'hint', text: NOT_SENT }));
  } else {
    const meds = Array.isArray(record.medications) ? record.medications : [];
    setRec(
      'rec-meds',
      recList(
        meds.map((m) => el('li', {}, el('strong', { text: m.name }), ` ${[m.dose, m.route, m.frequency].filter(Boolean).join(' ')}`)),
        'None recorded',
      ),
    );
    const reconciled = meds.map((m) => m.reconciled_at).filter(Boolean).sort().pop();
    if (reconciled) $('rec-meds').querySelector('.rec-body').append(el('p', { className: 'hint', text: `reconciled ${formatTime(reconciled)}` }));
    const problems = Array.isArray(record.problems) ? record.problems : [];
    setRec(
      'rec-problems',
      recList(
        problems.map((p) => el('li', {}, el('strong', { text: p.display }), el('span', { className: 'code', text: ` ${codeText(p)}` }), p.onset ? ` since ${formatDate(p.onset)}` : '')),
        'None recorded',
      ),
    );
    const visits = Array.isArray(record.prior_visits) ? [...record.prior_visits].sort((a, b) => Date.parse(b.arrived_at) - Date.parse(a.arrived_at)) : [];
    setRec(
      'rec-visits',
      recList(
        visits.map((v) =>
          el(
            'li',
            { className: 'visit' },
            el('strong', { text: formatTime(v.arrived_at) }),
            ` ${v.chief_complaint || ''}`,
            v.disposition ? el('span', { className: 'dispo', text: ` → ${DISPOSITION_LABEL[v.disposition] || v.disposition.kind || v.disposition}` }) : '',
            ...(Array.isArray(v.diagnoses) ? v.diagnoses.map((d) => el('span', { className: 'dx', text: `${d.display} (${codeText(d)})` })) : []),
          ),
        ),
        'No earlier ED visits',
      ),
    );
  }
  const now = [];
  if (Array.isArray(diagnoses)) {
    now.push(el('div', { className: 'rec-sub', text: 'Diagnoses' }));
    now.push(recList(diagnoses.map((d) => el('li', {}, el('strong', { text: d.display }), el('span', { className: 'code', text: ` ${codeText(d)}` }))), 'none coded yet'));
  }
  const orders = orderFlags(row);
  if (Array.isArray(row.orders)) {
    now.push(el('div', { className: 'rec-sub', text: 'Orders' }));
    now.push(
      row.orders.length
        ? el('ul', { className: 'rec-list' }, row.orders.map((o) => el('li', {}, el('strong', { text: `${ORDER_KIND_LABEL[o.kind] || o.kind}: ${o.name}` }), ` ${o.status}${o.abnormal ? ' ▲ abnormal' : ''}${o.status === 'resulted' && !o.result_seen ? ' ● NEW' : ''}`)))
        : el('p', { className: 'hint', text: 'none' }),
    );
  } else if (orders.length) now.push(el('div', {}, orders));
  if (Array.isArray(locations) && locations.length) {
    now.push(el('div', { className: 'rec-sub', text: 'Locations' }));
    now.push(
      el(
        'ul',
        { className: 'rec-list' },
        locations.map((l) => el('li', {}, `${l.bed ? l.bed.label : AREA_LABEL[l.area] || l.area || '?'} ${formatTime(l.started_at)}–${l.ended_at ? formatTime(l.ended_at) : 'now'}`)),
      ),
    );
  }
  setRec('rec-visit-now', now.length ? el('div', {}, now) : el('p', { className: 'hint', text: NOT_SENT }));
}

function codeText(c) {
  const system = { icd10: 'ICD-10', icd9: 'ICD-9', snomed: 'SNOMED' }[c.system] || c.system || '';
  return `${system} ${c.code || ''}`.trim();
}

// ---- vitals trend ----

function renderTrend() {
  const box = $('trend');
  if (!encounter) return;
  const n = rowNews2(encounter);
  const left = encounter.departed_at ? Date.parse(encounter.departed_at) : NaN;
  box.replaceChildren(
    drawTrend(vitals, {
      from: Date.parse(encounter.arrived_at),
      to: Number.isFinite(left) ? left : Date.now(),
      endLabel: Number.isFinite(left) ? 'left' : 'now',
      scale: encounter.spo2_scale === 2 || (n && n.scale === 2) ? 2 : 1,
    }),
  );
}

// ---- timeline ----
// The server's timeline when it sends one (chart.timeline, then each event's
// payload.timeline); otherwise what the page can tell from the chart and the live events.

function vitalsSummary(v) {
  const parts = [];
  if (v.heart_rate != null) parts.push(`HR ${v.heart_rate}`);
  if (v.resp_rate != null) parts.push(`RR ${v.resp_rate}`);
  if (v.systolic_bp != null) parts.push(`BP ${v.systolic_bp}/${v.diastolic_bp ?? '–'}`);
  if (v.spo2 != null) parts.push(`SpO₂ ${v.spo2}${v.on_oxygen ? ' on O₂' : ''}`);
  if (v.temperature_c != null) parts.push(`T ${formatValue('temperature_c', v.temperature_c)}`);
  if (v.consciousness) parts.push(v.consciousness);
  const n = v.news2_detail || v.news2;
  if (n && Number.isInteger(n.total)) parts.push(`NEWS2 ${n.total}`);
  return `Vitals: ${parts.join(', ')}`;
}

function synthesizedTimeline() {
  const out = [];
  if (encounter) out.push({ at: encounter.arrived_at, type: 'encounter.arrived', summary: `Arrived (${ARRIVAL_LABEL[encounter.arrival_mode] || encounter.arrival_mode}): ${encounter.chief_complaint || ''}`, by: null });
  for (const v of vitals) out.push({ at: v.taken_at, type: 'vitals.recorded', summary: vitalsSummary(v), by: v.taken_by, key: `v${v.id}` });
  for (const n of notes) out.push({ at: n.written_at, type: 'note.added', summary: `Note: ${n.text.length > 90 ? `${n.text.slice(0, 90)}…` : n.text}`, by: n.author, key: `n${n.id}` });
  return out;
}

// One line for a live event on a server that sends no payload.timeline.
function eventSummary(type, before, after, payload) {
  switch (type) {
    case 'encounter.triaged':
      return `Triaged ESI ${after.esi}`;
    case 'encounter.bed_assigned':
      return after.bed ? `Moved to ${after.bed.label} (${AREA_LABEL[after.bed.area] || after.bed.area})` : 'Moved to the waiting room';
    case 'encounter.staff_assigned': {
      const parts = [];
      if ((before?.attending?.id ?? null) !== (after.attending?.id ?? null)) parts.push(`attending ${after.attending ? after.attending.name : 'none'}`);
      if ((before?.nurse?.id ?? null) !== (after.nurse?.id ?? null)) parts.push(`nurse ${after.nurse ? after.nurse.name : 'none'}`);
      return `Assigned: ${parts.join(', ') || 'unchanged'}`;
    }
    case 'encounter.status_changed':
      return `Status: ${STATUS_LABEL[after.status] || after.status}`;
    case 'encounter.disposition_cancelled':
      return `Disposition withdrawn: ${payload.withdrawn?.kind || 'admit'}${payload.withdrawn?.destination ? ` to ${payload.withdrawn.destination}` : ''}`;
    case 'encounter.entered_in_error':
      return 'Registration entered in error: the visit is withdrawn';
    case 'encounter.reopened':
      return `Departure withdrawn: reopened, ${after.bed && after.bed.area !== 'waiting_room' ? `back in ${after.bed.label}` : 'in the waiting room'}`;
    case 'vitals.recorded':
      return payload.vitals ? vitalsSummary(payload.vitals) : 'Vitals recorded';
    case 'note.added':
      return payload.note ? `Note: ${payload.note.text.slice(0, 90)}` : 'Note added';
    default:
      return String(type || 'change').replace(/[._]/g, ' ');
  }
}

function renderTimeline(flashAt = null) {
  const list = [...timeline].sort((a, b) => Date.parse(b.at) - Date.parse(a.at));
  $('timeline').replaceChildren(
    ...list.map((e) =>
      el(
        'li',
        { className: `tl tl-${String(e.type || '').replace(/[^a-z0-9]+/gi, '-')}${e === flashAt ? ' flash' : ''}`, dataset: { type: e.type || '' } },
        el('span', { className: 'tl-time', text: formatTime(e.at), attrs: { title: new Date(e.at).toLocaleString() } }),
        el('span', { className: 'tl-summary', text: e.summary || '' }),
        e.by ? el('span', { className: 'tl-by', text: typeof e.by === 'string' ? e.by : e.by.name }) : null,
      ),
    ),
  );
  $('timeline-note').hidden = timelineFromServer;
  $('timeline-note').textContent = timelineFromServer ? '' : 'This server sends no timeline yet: arrival, vitals and notes, plus the changes seen since this page opened.';
}

// ---- orders, disposition, isolation, diagnoses (shown when the server has them) ----
// Every write sends If-Match with the version on screen; a conflict shows the current value.

function actionsSay(text) {
  $('actions-result').textContent = text;
}

// path: under /encounters/{id}, or absolute when it starts with /orders/ (orders have their own id).
async function encounterWrite(path, body, { what, mine, theirs }) {
  if (!encounter) return false;
  const url = path.startsWith('/orders/') ? path : `/encounters/${encounterId}${path}`;
  let res = await apiPost(url, body, { ifMatch: encounter.version });
  const current = conflictCurrent(res);
  if (current) {
    const again = await showConflict({ what, mine, theirs: theirs(current), row: current.encounter_id ? current : encounter });
    if (!again) {
      actionsSay(`Not changed: ${what} stays as a colleague set it.`);
      return false;
    }
    res = await apiPost(url, body, { ifMatch: current.version });
  }
  if (!res.ok) {
    actionsSay(`Not saved: ${res.error.field ? `${res.error.field}: ` : ''}${res.error.message}${res.error.code ? ` (${res.error.code})` : ''}.`);
    return false;
  }
  actionsSay(`Saved at ${hhmm(new Date())}.`);
  return true;
}

// Triage and status (triage.js, shared with the bedside): If-Match with the version shown
// when the user started; a colleague's change is shown, never overwritten.
function applyWritten(updated) {
  if (!encounter || updated.encounter_id !== encounter.encounter_id || updated.version < encounter.version) return;
  encounter = updated;
  renderHeader();
}
const triage = mountTriage($('triage-host'), { onSaved: applyWritten });
const statusControl = mountStatus($('status-host'), { onSaved: applyWritten, later: 'Disposition and departure (also “left without being seen”): below.' });

const orderLine = (o) => (o ? `${ORDER_KIND_LABEL[o.kind] || o.kind} ${o.name}: ${o.status}${o.result ? ` ${resultValueText(o.result)}` : ''}${o.abnormal ? ' (abnormal)' : ''}` : 'no such order');

function renderActions() {
  const row = encounter;
  if (!row) return;
  const own = session && (session.departments || []).some((d) => d.id === row.department_id) && can(session, 'note.create');
  const hasOrders = Array.isArray(row.orders);
  const hasDispo = 'disposition' in row;
  const hasIso = 'isolation' in row;
  const hasDx = Array.isArray(diagnoses);
  const ended = isEnded(row.status);
  $('actions-panel').hidden = !own || ended;
  triage.show(own && !ended && can(session, 'encounter.triage') ? row : null);
  statusControl.show(own && !ended && can(session, 'encounter.status') ? row : null);
  $('order-form').hidden = !hasOrders;
  $('dispo-form').hidden = !hasDispo;
  $('depart-now').hidden = !('departed_at' in row) || !row.disposition;
  $('iso-form').hidden = !hasIso;
  $('dx-form').hidden = !hasDx;
  $('actions-unavailable').hidden = hasOrders || hasDispo || hasIso;
  if (hasIso && document.activeElement !== $('iso-kind')) $('iso-kind').value = row.isolation || '';
  const list = $('chart-orders');
  list.replaceChildren(
    ...(hasOrders ? row.orders : []).map((o) => {
      const li = el('li', { className: `order order-${o.status}`, dataset: { orderId: String(o.id), status: o.status } });
      li.append(el('span', { className: 'order-kind', text: ORDER_KIND_LABEL[o.kind] || o.kind }), el('span', { className: 'order-name', text: o.name }));
      const when = o.status === 'resulted' ? o.resulted_at : o.status === 'collected' ? o.collected_at : o.ordered_at;
      li.append(el('span', { className: 'order-status', text: `${o.status}${when ? ` ${formatTime(when)}` : ''}${o.abnormal ? ' ▲ abnormal' : ''}` }));
      const button = (text, fn, cls = '') => {
        const b = el('button', { type: 'button', className: `small ${cls}`, text });
        b.addEventListener('click', fn);
        li.append(b);
      };
      const status = (next, abnormal) => () =>
        encounterWrite(`/orders/${o.id}/status`, abnormal === undefined ? { status: next } : { status: next, abnormal }, {
          what: 'the order',
          mine: `${o.name}: ${next}${abnormal ? ' (abnormal)' : ''}`,
          theirs: (c) => orderLine((c.orders || []).find((x) => x.id === o.id)),
        });
      if (o.status === 'ordered' && o.kind !== 'consult') button('Collected', status('collected'));
      if (o.status !== 'resulted') {
        button('Enter result…', () => openResultForm(o));
        if (resultForm.dataset.orderId === String(o.id)) li.append(resultForm);
      }
      if (o.status === 'resulted' && !o.result_seen) {
        li.append(el('span', { className: 'new-mark', text: '● NEW' }));
        button('Mark seen', async () => {
          const res = await apiPost(`/orders/${o.id}/seen`, {}, { ifMatch: encounter.version });
          if (!res.ok && !conflictCurrent(res)) actionsSay(`Not marked: ${res.error.message}.`);
        });
      }
      return li;
    }),
  );
}

// One result form, moved into the order being resulted: live re-renders keep what was typed.
// A number (unit, reference range: the server derives the flag) or a text (flag as reported).
const resultForm = el('form', { className: 'result-form', id: 'result-form', dataset: { orderId: '' } });
{
  const input = (name, label, attrs = {}) => el('label', {}, `${label} `, el('input', { name, attrs: { autocomplete: 'off', ...attrs } }));
  resultForm.append(
    input('value', 'Value', { type: 'number', step: 'any', inputmode: 'decimal', size: 7 }),
    input('unit', 'Unit', { maxlength: 20, size: 6 }),
    input('low', 'Ref low', { type: 'number', step: 'any', size: 6 }),
    input('high', 'Ref high', { type: 'number', step: 'any', size: 6 }),
    el('span', { className: 'hint', text: 'or' }),
    input('text', 'Text', { maxlength: 2000, size: 24 }),
    el('label', {}, el('input', { name: 'text_abnormal', type: 'checkbox' }), ' text result abnormal'),
    el('button', { type: 'submit', className: 'small primary', text: 'Save result' }),
    el('button', { type: 'button', className: 'small', text: 'Cancel', on: { click: () => closeResultForm() } }),
  );
}

function openResultForm(o) {
  resultForm.reset();
  resultForm.dataset.orderId = String(o.id);
  renderActions();
  resultForm.elements.value.focus();
}

function closeResultForm() {
  resultForm.dataset.orderId = '';
  resultForm.remove();
}

resultForm.addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = resultForm.elements;
  const o = (encounter.orders || []).find((x) => String(x.id) === resultForm.dataset.orderId);
  if (!o) return closeResultForm();
  const num = (v) => (v.trim() === '' ? undefined : Number(v));
  let result;
  if (f.text.value.trim()) result = { text: f.text.value.trim(), ...(f.text_abnormal.checked ? { abnormal: true } : {}) };
  else if (f.value.value.trim() !== '') {
    result = { value: num(f.value.value), unit: f.unit.value.trim() || undefined, reference_low: num(f.low.value), reference_high: num(f.high.value) };
  } else {
    actionsSay('Enter a value (with unit and reference range) or a text.');
    return;
  }
  const saved = await encounterWrite(`/orders/${o.id}/status`, { status: 'resulted', result }, {
    what: 'the order',
    mine: `${o.name}: ${resultValueText(result)}`,
    theirs: (c) => orderLine((c.orders || []).find((x) => x.id === o.id)),
  });
  if (saved) closeResultForm();
});

// The identity of an unidentified patient: POST /encounters/{id}/identify (a merge when the
// MRN exists). The row and the chart change through the live event like any other write.
$('identify-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  if (!encounter) return;
  const patient = { mrn: $('id-mrn').value.trim() };
  for (const [key, id] of [['family_name', 'id-family'], ['given_name', 'id-given'], ['birth_date', 'id-birth'], ['sex', 'id-sex']]) {
    if ($(id).value.trim()) patient[key] = $(id).value.trim();
  }
  if (!patient.mrn) {
    $('identify-result').textContent = 'Enter the MRN.';
    return;
  }
  $('id-save').disabled = true;
  const res = await apiPost(`/encounters/${encounterId}/identify`, { patient }, { ifMatch: encounter.version });
  $('id-save').disabled = false;
  if (res.ok) {
    const merged = res.data && res.data.identified && res.data.identified.merged_into_existing;
    $('identify-result').textContent = `Identified at ${hhmm(new Date())}${merged ? ': merged with the existing patient record' : ''}.`;
    return;
  }
  const e = res.error || {};
  $('identify-result').textContent = `Not identified: ${e.field ? `${e.field}: ` : ''}${e.message || 'refused'}${e.code ? ` (${e.code})` : ''}.`;
});

$('order-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const name = $('order-name').value.trim();
  if (!name) {
    actionsSay('Write what is requested.');
    $('order-name').focus();
    return;
  }
  const kind = $('order-kind').value;
  if (await encounterWrite('/orders', { kind, name }, { what: 'the orders', mine: `${kind} ${name}`, theirs: (c) => (c.orders || []).map(orderLine).join('; ') || 'none' }))
    $('order-name').value = '';
});
$('dispo-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const kind = $('dispo-kind').value;
  if (!kind) {
    actionsSay('Choose the disposition.');
    $('dispo-kind').focus();
    return;
  }
  const destination = $('dispo-dest').value.trim();
  const body = destination ? { kind, destination } : { kind };
  await encounterWrite('/disposition', body, { what: 'the disposition', mine: `${DISPOSITION_LABEL[kind]}${destination ? ` → ${destination}` : ''}`, theirs: (c) => dispositionText(c) || 'not decided' });
});
$('depart-now').addEventListener('click', () => encounterWrite('/departure', {}, { what: 'the departure', mine: 'departed now', theirs: (c) => (c.departed_at ? `departed ${formatTime(c.departed_at)}` : 'still here') }));
$('iso-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const v = $('iso-kind').value || null;
  encounterWrite('/isolation', { isolation: v }, { what: 'the isolation', mine: v || 'none', theirs: (c) => c.isolation || 'none' });
});
$('dx-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const code = $('dx-code').value.trim().toUpperCase();
  const display = $('dx-display').value.trim();
  if (!code || !display) {
    actionsSay('Enter the ICD-10 code and its text.');
    return;
  }
  if (await encounterWrite('/diagnoses', { system: 'icd10', code, display }, { what: 'the diagnoses', mine: `${code} ${display}`, theirs: () => (diagnoses || []).map((d) => d.code).join(', ') || 'none' })) {
    $('dx-code').value = '';
    $('dx-display').value = '';
  }
});


// ---- the whole patient: adding to the record (server routes of issue 5) ----

// Record writes (allergies, medications, problems, diagnoses) and moves change what the chart
// snapshot holds beyond the row: read the chart again (one request after a burst).
let recordTimer = null;
function refreshRecordSoon() {
  clearTimeout(recordTimer);
  recordTimer = setTimeout(async () => {
    const res = await apiGet(`/encounters/${encounterId}`);
    if (!res.ok || !res.data) return;
    if (res.data.record && typeof res.data.record === 'object') record = res.data.record;
    if (Array.isArray(res.data.diagnoses)) diagnoses = res.data.diagnoses;
    if (Array.isArray(res.data.locations)) locations = res.data.locations;
    renderRecord();
    renderActions();
  }, 400);
}

async function recordWrite(path, body, done) {
  const res = await apiPost(`/encounters/${encounterId}${path}`, body, { ifMatch: encounter ? encounter.version : null });
  const current = conflictCurrent(res);
  if (current) {
    $('record-result').textContent = 'A colleague changed this encounter meanwhile: the chart shows the current record; add it again if it is still missing.';
    refreshRecordSoon();
    return;
  }
  if (!res.ok) {
    $('record-result').textContent = `Not saved: ${res.error.field ? `${res.error.field}: ` : ''}${res.error.message}.`;
    return;
  }
  $('record-result').textContent = `Saved at ${hhmm(new Date())}.`;
  done();
  refreshRecordSoon();
}

function renderRecordForms() {
  const own = encounter && session && (session.departments || []).some((d) => d.id === encounter.department_id) && can(session, 'note.create');
  const ended = encounter && isEnded(encounter.status);
  $('record-forms').hidden = !(own && record) || ended;
  const allergies = encounter && 'allergies' in encounter ? encounter.allergies : record ? record.allergies : undefined;
  $('nka').hidden = allergies !== null;
}

const val = (id) => $(id).value.trim();
$('allergy-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  if (!val('allergy-substance')) return void ($('record-result').textContent = 'Write the substance.');
  const body = { substance: val('allergy-substance'), severity: $('allergy-severity').value };
  if (val('allergy-reaction')) body.reaction = val('allergy-reaction');
  recordWrite('/allergies', body, () => {
    $('allergy-substance').value = '';
    $('allergy-reaction').value = '';
  });
});
$('nka').addEventListener('click', () => recordWrite('/allergies', { no_known_allergies: true }, () => {}));
$('med-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  if (!val('med-name')) return void ($('record-result').textContent = 'Write the medication.');
  const body = { name: val('med-name') };
  for (const [k, id] of [['dose', 'med-dose'], ['route', 'med-route'], ['frequency', 'med-freq']]) if (val(id)) body[k] = val(id);
  recordWrite('/medications', body, () => {
    for (const id of ['med-name', 'med-dose', 'med-route', 'med-freq']) $(id).value = '';
  });
});
$('problem-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  if (!val('problem-code') || !val('problem-display')) return void ($('record-result').textContent = 'Enter the ICD-10 code and its text.');
  recordWrite('/problems', { system: 'icd10', code: val('problem-code').toUpperCase(), display: val('problem-display') }, () => {
    $('problem-code').value = '';
    $('problem-display').value = '';
  });
});

function vitalsRow(v) {
  return el(
    'tr',
    { dataset: { vitalsId: String(v.id) } },
    el('td', { className: 'taken', text: formatTime(v.taken_at), attrs: { title: new Date(v.taken_at).toLocaleString() } }),
    el('td', { className: 'by', text: byline(v.taken_by, v.entered_by) }),
    vitalCell(v, 'heart_rate'),
    vitalCell(v, 'resp_rate'),
    vitalCell(v, 'systolic_bp'),
    vitalCell(v, 'spo2'),
    vitalCell(v, 'temperature_c'),
    vitalCell(v, 'consciousness'),
    el('td', { className: 'vital v-pain', text: v.pain === null || v.pain === undefined ? '·' : String(v.pain) }),
    el('td', { className: 'c-news2' }, news2Chip(v.news2, { big: true })),
  );
}

function renderVitals(flashId = null) {
  vitalsBody.replaceChildren(
    ...vitals.map((v) => {
      const tr = vitalsRow(v);
      if (v.id === flashId) tr.classList.add('flash');
      return tr;
    }),
  );
  $('no-vitals').hidden = vitals.length > 0;
}

function noteItem(n) {
  return el(
    'li',
    { dataset: { noteId: String(n.id) } },
    el('div', { className: 'note-meta', text: `${formatTime(n.written_at)} · ${byline(n.author, n.entered_by)}` }),
    el('div', { className: 'note-text', text: n.text }),
  );
}

function renderNotes(flashId = null) {
  notesList.replaceChildren(
    ...notes.map((n) => {
      const li = noteItem(n);
      if (n.id === flashId) li.classList.add('flash');
      return li;
    }),
  );
  $('no-notes').hidden = notes.length > 0;
}

function stamp() {
  main.dataset.seq = String(live ? live.seq : 0);
  main.dataset.version = String(encounter ? encounter.version : 0);
}

async function loadStaff(departmentId) {
  if (staffLoadedFor === departmentId) return;
  staffLoadedFor = departmentId;
  const own = (session.departments || []).some((d) => d.id === departmentId);
  let staff;
  if (own) {
    const res = await apiGet(`/departments/${departmentId}/board`);
    if (!res.ok) {
      staffLoadedFor = null;
      noteResult.textContent = `Could not load the staff list: ${res.error.message}`;
      return;
    }
    staff = (res.data.staff || []).filter((s) => s.role !== 'registration');
  } else {
    // Emergency access: a note's author must be of the patient's department, so there is
    // nothing to write here (the server would refuse it).
    staff = [];
  }
  $('note-form').hidden = !own;
  $('note-readonly').hidden = own;
  if (!authorId && session.staff_id && staff.some((s) => s.id === session.staff_id)) authorId = session.staff_id;
  const order = { physician: 0, nurse: 1, charge_nurse: 1 };
  staff.sort((a, b) => (order[a.role] ?? 2) - (order[b.role] ?? 2) || a.name.localeCompare(b.name));
  authorSelect.replaceChildren(el('option', { value: '', text: '— choose —' }), ...staff.map((s) => el('option', { value: String(s.id), text: s.name })));
  if (authorId && staff.some((s) => s.id === authorId)) authorSelect.value = String(authorId);
}

function applySnapshot(msg) {
  const chart = msg.chart;
  $('break-glass').hidden = true;
  showChartPanels(true);
  encounter = chart.encounter;
  vitals = [...(chart.vitals || [])].sort(byNewest);
  notes = [...(chart.notes || [])].sort(byNewest);
  record = chart.record && typeof chart.record === 'object' ? chart.record : null;
  diagnoses = Array.isArray(chart.diagnoses) ? chart.diagnoses : null;
  locations = Array.isArray(chart.locations) ? chart.locations : null;
  timelineFromServer = Array.isArray(chart.timeline);
  showMessage('');
  renderHeader();
  timeline = timelineFromServer ? [...chart.timeline] : synthesizedTimeline();
  renderVitals();
  renderNotes();
  renderTrend();
  renderTimeline();
  main.dataset.seq = String(msg.seq);
  main.dataset.version = String(encounter.version);
  loadStaff(msg.department_id || encounter.department_id);
}

function applyEvent(msg) {
  const payload = msg.payload || {};
  if (!payload.encounter) throw new Error('event without encounter');
  const before = encounter;
  encounter = payload.encounter;
  const line = payload.timeline && payload.timeline.at
    ? payload.timeline
    : { at: msg.at || new Date().toISOString(), type: msg.event, summary: eventSummary(msg.event, before, encounter, payload), by: null };
  timeline.push(line);
  if (payload.diagnoses && Array.isArray(payload.diagnoses)) diagnoses = payload.diagnoses;
  if (payload.record && typeof payload.record === 'object') record = { ...(record || {}), ...payload.record };
  if (payload.locations && Array.isArray(payload.locations)) locations = payload.locations;
  renderHeader();
  renderTimeline(line);
  if (payload.vitals) queueMicrotask(renderTrend);
  if (/^record\./.test(msg.event || '') || msg.event === 'encounter.bed_assigned' || msg.event === 'encounter.disposition') refreshRecordSoon();
  if (payload.vitals && !vitals.some((v) => v.id === payload.vitals.id)) {
    vitals = [payload.vitals, ...vitals].sort(byNewest);
    renderVitals(payload.vitals.id);
  }
  if (payload.note && !notes.some((n) => n.id === payload.note.id)) {
    notes = [payload.note, ...notes].sort(byNewest);
    renderNotes(payload.note.id);
  }
  main.dataset.seq = String(msg.seq);
  main.dataset.version = String(msg.version);
}

async function saveNote() {
  if (savingNote) return;
  noteText.classList.remove('invalid');
  authorSelect.classList.remove('invalid');
  const text = noteText.value;
  const problems = [];
  if (!authorId) problems.push(['author_id', 'choose the author']);
  if (!text.trim()) problems.push(['text', 'write the note first']);
  if (problems.length) {
    for (const [f] of problems) (f === 'text' ? noteText : authorSelect).classList.add('invalid');
    noteResult.textContent = `Not saved: ${problems.map((p) => p[1]).join('; ')}.`;
    (problems[0][0] === 'text' ? noteText : authorSelect).focus();
    return;
  }
  savingNote = true;
  noteSave.disabled = true;
  noteResult.textContent = 'Saving…';
  // One Idempotency-Key per note: pressing "Add note" again after a failure stores it once.
  if (!noteAttempt || noteAttempt.text !== text || noteAttempt.authorId !== authorId) noteAttempt = { key: newIdempotencyKey(), text, authorId };
  const res = await apiPost(`/encounters/${encounterId}/notes`, { author_id: authorId, text }, { idempotencyKey: noteAttempt.key });
  if (res.ok) noteAttempt = null;
  savingNote = false;
  noteSave.disabled = false;
  if (res.ok) {
    noteText.value = '';
    noteResult.textContent = `Note saved at ${hhmm(new Date())}.`;
  } else {
    const e = res.error;
    const target = e.field === 'author_id' ? authorSelect : e.field === 'text' ? noteText : null;
    if (target) {
      target.classList.add('invalid');
      target.focus();
    }
    noteResult.textContent = `Not saved: ${e.field ? `${e.field === 'author_id' ? 'author' : e.field}: ` : ''}${e.message}${e.code && e.code !== 'network' ? ` (${e.code})` : ''}.`;
  }
}

$('note-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  saveNote();
});
noteText.addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) {
    ev.preventDefault();
    saveNote();
  }
});
authorSelect.addEventListener('change', () => {
  authorId = positiveInt(authorSelect.value);
  authorSelect.classList.remove('invalid');
});

function startLive() {
  if (live) live.close();
  live = followLive({
    topic: 'chart',
    id: encounterId,
    onSnapshot: applySnapshot,
    onEvent: applyEvent,
    onStatus: stamp,
    onError: (err) => {
      clearChart();
      if (err.code === 'not_found') {
        showMessage(`There is no chart for encounter ${encounterId} that you may see.`);
        offerBreakGlass();
      } else if (err.code === 'access_ended') {
        showMessage('Emergency access to this chart has ended: the chart is closed.');
        offerBreakGlass();
      } else if (err.code === 'forbidden') {
        showMessage('Your role may not read charts.');
      } else {
        showMessage(`The server refused the chart: ${err.message || err.code}.`);
      }
    },
  });
}

// ---- emergency access (break the glass) ----

function offerBreakGlass() {
  if (!can(session, 'break_glass')) return;
  $('break-glass').hidden = false;
  $('bg-result').hidden = true;
  $('bg-reason').focus({ preventScroll: true });
}

function bgSay(text) {
  $('bg-result').textContent = text;
  $('bg-result').hidden = !text;
}

const BG_ERRORS = {
  totp_invalid: 'The code is wrong or was already used. Wait for the next code and try again.',
  totp_required: 'Emergency access needs an authenticator enrolled on your account: ask an administrator.',
  not_found: 'There is no such encounter.',
  forbidden: 'Your role may not use emergency access.',
};

async function breakGlass() {
  if (breakingGlass) return;
  const reasonEl = $('bg-reason');
  const codeEl = $('bg-code');
  reasonEl.classList.remove('invalid');
  codeEl.classList.remove('invalid');
  const reason = reasonEl.value.trim();
  const code = codeEl.value.trim();
  const problems = [];
  if ([...reason].length < 10) problems.push([reasonEl, 'give a reason of at least 10 characters']);
  if (!/^[0-9]{6}$/.test(code)) problems.push([codeEl, 'enter the 6-digit code from your authenticator']);
  if (problems.length) {
    for (const [node] of problems) node.classList.add('invalid');
    bgSay(`Not opened: ${problems.map((p) => p[1]).join('; ')}.`);
    problems[0][0].focus();
    return;
  }
  breakingGlass = true;
  $('bg-submit').disabled = true;
  bgSay('Checking…');
  const res = await apiPost(`/encounters/${encounterId}/break-glass`, { reason, totp: code });
  breakingGlass = false;
  $('bg-submit').disabled = false;
  codeEl.value = '';
  if (res.ok) {
    reasonEl.value = '';
    bgSay('');
    $('break-glass').hidden = true;
    showMessage(`Emergency access granted for ${res.data.minutes || 60} minutes. It is recorded and shown on the patient's board.`, { info: true });
    $('who').replaceChildren(el('span', { className: 'pt-big', text: 'Loading…' }));
    startLive();
    return;
  }
  const e = res.error || {};
  if (e.field === 'reason') reasonEl.classList.add('invalid');
  if (e.field === 'totp') codeEl.classList.add('invalid');
  bgSay(`Not opened: ${BG_ERRORS[e.code] || e.message || 'refused'}`);
  (e.field === 'reason' ? reasonEl : codeEl).focus();
}

$('bg-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  breakGlass();
});

function init() {
  setInterval(() => {
    renderHeader(); // length of stay, reassessment due, and an emergency-access flag that ran out
    renderTrend(); // the "now" line
  }, 30000);
  start();
}

async function start() {
  session = await startSession({ onWait: showMessage });
  fitHeader();
  const refusal = noAccessText(session, 'chart.read');
  if (refusal) {
    clearChart();
    showMessage(refusal, { info: true });
    showRefused('no chart here');
    $('board-link').hidden = !can(session, 'board.read');
    fitHeader();
    return;
  }
  if (!encounterId) {
    showMessage('No encounter given: open a chart from the tracking board.', { info: true });
    $('header-panel').hidden = false;
    $('who').replaceChildren(el('span', { className: 'pt-big', text: 'No chart' }));
    return;
  }
  $('header-panel').hidden = false;
  startLive();
}

init();
