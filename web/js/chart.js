// SPDX-License-Identifier: MIT
// chart.js: one encounter's chart, live over /ws (topic chart; continuity by version).
import { connectLive, renderBanner } from './live.js';
import { apiGet, apiPost } from './api.js';
import {
  el,
  patientName,
  ageSex,
  esiChip,
  vitalCell,
  news2Chip,
  formatTime,
  formatDate,
  formatDuration,
  since,
  hhmm,
  AREA_LABEL,
  STATUS_LABEL,
  ARRIVAL_LABEL,
  ESI_NAME,
  positiveInt,
  param,
} from './ui.js';

const $ = (id) => document.getElementById(id);
const main = $('chart');
const banner = $('banner');
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
let live = null;
let staffLoadedFor = null;
let authorId = null; // a variable only
let savingNote = false;

function showMessage(text) {
  $('message').textContent = text;
  $('message').hidden = !text;
}

function byNewest(a, b) {
  return Date.parse(b.taken_at || b.written_at) - Date.parse(a.taken_at || a.written_at) || b.id - a.id;
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
    el('span', { text: `MRN ${p.mrn || ''}` }),
    el('span', { text: `born ${formatDate(p.birth_date)}` }),
    el('span', { className: `status status-${row.status}`, text: STATUS_LABEL[row.status] || row.status }),
  );
  const arrived = `${formatTime(row.arrived_at)} (${formatDuration(since(row.arrived_at))} ago)`;
  $('facts').replaceChildren(
    fact('Bed', row.bed ? `${row.bed.label} · ${AREA_LABEL[row.bed.area] || row.bed.area}` : 'no bed'),
    fact('ESI', Number.isInteger(row.esi) ? `${row.esi} – ${ESI_NAME[row.esi]}` : 'not triaged'),
    fact('Chief complaint', row.chief_complaint),
    fact('Arrived', arrived, { className: 'arrived' }),
    fact('Arrival mode', ARRIVAL_LABEL[row.arrival_mode] || row.arrival_mode),
    fact('Attending', row.attending ? row.attending.name : 'unassigned'),
    fact('Nurse', row.nurse ? row.nurse.name : 'unassigned'),
    fact('Encounter', `#${row.encounter_id}`),
  );
  $('title-name').textContent = `${patientName(p)} · ${ageSex(p)}`;
  document.title = `${p.family_name || 'Chart'} – chart – edlive`;
  $('board-link').href = `board.html?department=${row.department_id}`;
  $('bedside-link').href = `bedside.html?department=${row.department_id}&encounter=${row.encounter_id}`;
}

function vitalsRow(v) {
  return el(
    'tr',
    { dataset: { vitalsId: String(v.id) } },
    el('td', { className: 'taken', text: formatTime(v.taken_at), attrs: { title: new Date(v.taken_at).toLocaleString() } }),
    el('td', { className: 'by', text: v.taken_by ? v.taken_by.name : '' }),
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
    el('div', { className: 'note-meta', text: `${formatTime(n.written_at)} · ${n.author ? n.author.name : ''}` }),
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
  const res = await apiGet(`/departments/${departmentId}/board`);
  if (!res.ok) {
    staffLoadedFor = null;
    noteResult.textContent = `Could not load the staff list: ${res.error.message}`;
    return;
  }
  const staff = (res.data.staff || []).filter((s) => s.role !== 'registration');
  const order = { physician: 0, nurse: 1, charge_nurse: 1 };
  staff.sort((a, b) => (order[a.role] ?? 2) - (order[b.role] ?? 2) || a.name.localeCompare(b.name));
  authorSelect.replaceChildren(el('option', { value: '', text: '— choose —' }), ...staff.map((s) => el('option', { value: String(s.id), text: s.name })));
  if (authorId && staff.some((s) => s.id === authorId)) authorSelect.value = String(authorId);
}

function applySnapshot(msg) {
  const chart = msg.chart;
  encounter = chart.encounter;
  vitals = [...(chart.vitals || [])].sort(byNewest);
  notes = [...(chart.notes || [])].sort(byNewest);
  showMessage('');
  renderHeader();
  renderVitals();
  renderNotes();
  main.dataset.seq = String(msg.seq);
  main.dataset.version = String(encounter.version);
  loadStaff(msg.department_id || encounter.department_id);
}

function applyEvent(msg) {
  const payload = msg.payload || {};
  if (!payload.encounter) throw new Error('event without encounter');
  encounter = payload.encounter;
  renderHeader();
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
  const res = await apiPost(`/encounters/${encounterId}/notes`, { author_id: authorId, text });
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

function fitHeader() {
  document.documentElement.style.setProperty('--topbar-h', `${$('topbar').offsetHeight}px`);
}

function init() {
  fitHeader();
  window.addEventListener('resize', fitHeader);
  const tickClock = () => {
    $('clock').textContent = hhmm(new Date());
  };
  tickClock();
  setInterval(tickClock, 5000);
  setInterval(renderHeader, 30000); // length of stay
  if (!encounterId) {
    showMessage('No encounter given: open a chart from the tracking board.');
    $('who').replaceChildren(el('span', { className: 'pt-big', text: 'No chart' }));
    return;
  }
  live = connectLive({
    topic: 'chart',
    id: encounterId,
    onSnapshot: applySnapshot,
    onEvent: applyEvent,
    onStatus: (s) => {
      renderBanner(banner, s);
      fitHeader();
      stamp();
    },
    onError: (err) => {
      if (err.code === 'not_found') {
        showMessage(`Encounter ${encounterId} does not exist.`);
        if (!encounter) $('who').replaceChildren(el('span', { className: 'pt-big', text: 'No such encounter' }));
      }
    },
  });
  window.edlive = { live };
}

init();
