// SPDX-License-Identifier: MIT
// board.js: the physician tracking board of one department, live over /ws.
import { connectLive, renderBanner } from './live.js';
import { signedOut, sessionState, onSignedOut } from './api.js';
import { startSession, pickDepartment, can, noAccessText } from './session.js';
import {
  el,
  compareRows,
  isActive,
  patientName,
  ageSex,
  formatDuration,
  since,
  hhmm,
  esiChip,
  vitalCell,
  news2Chip,
  STATUS_LABEL,
  AREA_LABEL,
  positiveInt,
  param,
  activeGrants,
  breakGlassFlag,
} from './ui.js';

const table = document.getElementById('board');
const tbody = document.getElementById('rows');
const banner = document.getElementById('banner');
const message = document.getElementById('message');
const empty = document.getElementById('empty');
const title = document.getElementById('title');
const census = document.getElementById('census');
const clock = document.getElementById('clock');
const topbar = document.getElementById('topbar');
const legend = document.getElementById('legend');

const rows = new Map(); // encounter_id -> {row, tr}
let live = null;
let departmentId = null;
let session = null;
let chartLinks = false; // the role reads charts: rows open them

function showMessage(text, { info = false } = {}) {
  message.textContent = text;
  message.hidden = !text;
  message.classList.toggle('info', info);
}

function vitalsAgeCell(row) {
  const v = row.latest_vitals;
  const td = el('td', { className: 'c-obs' });
  if (!v) {
    td.textContent = 'none';
    td.classList.add('none');
    return td;
  }
  td.dataset.takenAt = v.taken_at;
  updateAge(td, v.taken_at, true);
  return td;
}

function updateAge(td, iso, isObs) {
  const ms = since(iso);
  td.textContent = formatDuration(ms);
  if (isObs) {
    td.classList.toggle('old', ms > 60 * 60000);
    td.title = `vitals taken ${new Date(iso).toLocaleString()}`;
  }
}

function staffCell(person) {
  const td = el('td', { className: 'c-staff' });
  if (person) td.textContent = person.name;
  else td.append(el('span', { className: 'unassigned', text: '—' }));
  return td;
}

function buildRow(row) {
  const grants = activeGrants(row);
  const tr = el('tr', {
    className: `enc esi-row-${Number.isInteger(row.esi) ? row.esi : 'none'} st-${row.status}${chartLinks ? ' opens' : ''}${grants.length ? ' has-bg' : ''}`,
    dataset: { encounterId: String(row.encounter_id), version: String(row.version), breakGlass: String(grants.length) },
    tabIndex: chartLinks ? 0 : -1,
    attrs: chartLinks ? { title: 'open the chart' } : {},
  });

  const bed = el('td', { className: 'c-bed' });
  if (row.bed) {
    bed.append(el('span', { className: 'bed-label', text: row.bed.label }), el('span', { className: 'bed-area', text: AREA_LABEL[row.bed.area] || row.bed.area }));
  } else {
    bed.append(el('span', { className: 'bed-label nobed', text: '—' }), el('span', { className: 'bed-area', text: 'no bed' }));
  }

  const patient = el('td', { className: 'c-patient' });
  const name = chartLinks
    ? el('a', {
        className: 'pt-name',
        href: `chart.html?encounter=${encodeURIComponent(row.encounter_id)}`,
        text: patientName(row.patient),
        tabIndex: -1,
      })
    : el('span', { className: 'pt-name', text: patientName(row.patient) });
  patient.append(name, el('span', { className: 'agesex', text: ageSex(row.patient) }));
  const flag = breakGlassFlag(row);
  if (flag) patient.append(flag);

  const time = el('td', { className: 'c-time', dataset: { arrivedAt: row.arrived_at } });
  updateAge(time, row.arrived_at, false);
  time.title = `arrived ${new Date(row.arrived_at).toLocaleString()}`;

  const v = row.latest_vitals;
  tr.append(
    bed,
    el('td', { className: 'c-esi' }, esiChip(row.esi, { big: true })),
    patient,
    el('td', { className: 'c-complaint', text: row.chief_complaint || '' }),
    time,
    el('td', { className: 'c-status' }, el('span', { className: `status status-${row.status}`, text: STATUS_LABEL[row.status] || row.status })),
    staffCell(row.attending),
    staffCell(row.nurse),
    vitalCell(v, 'heart_rate'),
    vitalCell(v, 'resp_rate'),
    vitalCell(v, 'systolic_bp'),
    vitalCell(v, 'spo2'),
    vitalCell(v, 'temperature_c'),
    vitalCell(v, 'consciousness'),
    el('td', { className: 'c-news2' }, v ? news2Chip(v.news2, { big: true }) : el('span', { className: 'news2 news2-none', text: '–' })),
    vitalsAgeCell(row),
  );
  return tr;
}

function openChart(tr) {
  if (!chartLinks) return;
  location.href = `chart.html?encounter=${encodeURIComponent(tr.dataset.encounterId)}`;
}

tbody.addEventListener('click', (ev) => {
  if (ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey) return; // let the link open a new tab
  const tr = ev.target.closest('tr.enc');
  if (!tr) return;
  ev.preventDefault();
  openChart(tr);
});
tbody.addEventListener('keydown', (ev) => {
  if (ev.key !== 'Enter') return;
  const tr = ev.target.closest('tr.enc');
  if (tr) openChart(tr);
});

// Puts the rows in board order and marks the first row of each area.
function order() {
  const sorted = [...rows.values()].sort((a, b) => compareRows(a.row, b.row));
  let lastArea;
  for (const { row, tr } of sorted) {
    const area = row.bed ? row.bed.area : 'none';
    tr.classList.toggle('area-start', area !== lastArea);
    lastArea = area;
    tbody.append(tr); // moves it
  }
  empty.hidden = rows.size > 0;
  const waiting = sorted.filter(({ row }) => row.status === 'waiting').length;
  const untriaged = sorted.filter(({ row }) => !Number.isInteger(row.esi)).length;
  const emergency = sorted.filter(({ row }) => activeGrants(row).length).length;
  census.replaceChildren(`${rows.size} patient${rows.size === 1 ? '' : 's'} · ${waiting} waiting · ${untriaged} not triaged`);
  if (emergency) census.append(' · ', el('span', { className: 'bg-count', text: `⚠ ${emergency} emergency access` }));
}

// Drops every row (the server refused the board, or the session ended).
function clearBoard() {
  rows.clear();
  tbody.replaceChildren();
  census.replaceChildren();
  table.dataset.seq = '0';
  table.hidden = true;
  legend.hidden = true;
  empty.hidden = true;
}

function stampSeq() {
  table.dataset.seq = String(live ? live.seq : 0);
}

function applySnapshot(msg) {
  const board = msg.board;
  table.hidden = false;
  legend.hidden = false;
  rows.clear();
  tbody.replaceChildren();
  for (const row of board.encounters || []) {
    if (!isActive(row)) continue;
    rows.set(row.encounter_id, { row, tr: buildRow(row) });
  }
  if (board.department) {
    title.textContent = board.department.name;
    document.title = `${board.department.name} – tracking board`;
  }
  order();
  table.dataset.seq = String(msg.seq);
}

function applyEvent(msg) {
  const row = msg.payload && msg.payload.encounter;
  if (!row || !Number.isInteger(row.encounter_id)) throw new Error('event without encounter');
  const held = rows.get(row.encounter_id);
  const hadFocus = held && held.tr.contains(document.activeElement);
  if (held) held.tr.remove();
  if (isActive(row) && row.department_id === departmentId) {
    const tr = buildRow(row);
    if (hadFocus) queueMicrotask(() => tr.focus({ preventScroll: true }));
    tr.classList.add('flash');
    setTimeout(() => tr.classList.remove('flash'), 4000);
    rows.set(row.encounter_id, { row, tr });
  } else {
    rows.delete(row.encounter_id);
  }
  order();
  table.dataset.seq = String(msg.seq);
}

function tickTimes() {
  const now = Date.now();
  // An emergency-access grant ends without an event: its flag goes when its time is up.
  let changed = false;
  for (const [id, held] of rows) {
    if (Number(held.tr.dataset.breakGlass || 0) !== activeGrants(held.row, now).length) {
      const tr = buildRow(held.row);
      held.tr.replaceWith(tr);
      rows.set(id, { row: held.row, tr });
      changed = true;
    }
  }
  if (changed) order();
  for (const td of tbody.querySelectorAll('td.c-time[data-arrived-at]')) td.textContent = formatDuration(now - Date.parse(td.dataset.arrivedAt));
  for (const td of tbody.querySelectorAll('td.c-obs[data-taken-at]')) updateAge(td, td.dataset.takenAt, true);
}

function tickClock() {
  clock.textContent = hhmm(new Date());
}

function fitHeader() {
  document.documentElement.style.setProperty('--topbar-h', `${topbar.offsetHeight}px`);
}

function init() {
  fitHeader();
  window.addEventListener('resize', fitHeader);
  tickClock();
  setInterval(tickClock, 5000);
  setInterval(tickTimes, 30000);
  start();
}

function noBoard(text, opts) {
  clearBoard();
  showMessage(text, opts);
  renderBanner(banner, { state: 'refused', since: null, seq: 0, version: 0, detail: 'no board here' });
  fitHeader();
}

async function start() {
  session = await startSession({ onWait: showMessage });
  fitHeader();
  const refusal = noAccessText(session, 'board.read');
  if (refusal) {
    noBoard(refusal, { info: true });
    return;
  }
  chartLinks = can(session, 'chart.read');
  const requested = positiveInt(param('department'));
  if (param('department') !== null && !requested) {
    noBoard('The department in the address is not valid.');
    return;
  }
  const r = pickDepartment(session, requested);
  if (r.error) {
    fillDepartments(r.departments);
    noBoard(r.error.message);
    return;
  }
  departmentId = r.department.id;
  fillDepartments(r.departments);
  title.textContent = r.department.name;
  const bedsideLink = document.getElementById('bedside-link');
  bedsideLink.href = `bedside.html?department=${departmentId}`;
  bedsideLink.hidden = !can(session, 'vitals.create');
  showMessage('');
  fitHeader();
  live = connectLive({
    topic: 'board',
    id: departmentId,
    onSnapshot: applySnapshot,
    onEvent: applyEvent,
    onStatus: (s) => {
      renderBanner(banner, s);
      fitHeader();
      stampSeq();
    },
    onError: (err) => {
      clearBoard();
      if (err.code === 'not_found') showMessage(`Department ${departmentId} is not one of your departments (or does not exist).`);
      else if (err.code === 'forbidden') showMessage('Your role may not read this board.');
      else showMessage(`The server refused the board: ${err.message || err.code}.`);
    },
    onSignedOut: () => signedOut('ended'),
    checkSession: sessionState,
  });
  onSignedOut(() => live.close());
  window.edlive = { live };
}

function fillDepartments(list) {
  if (!list || list.length < 2) return;
  const select = document.getElementById('dept-select');
  select.replaceChildren(...list.map((d) => el('option', { value: String(d.id), text: d.name, selected: d.id === departmentId })));
  select.addEventListener('change', () => {
    location.search = `?department=${encodeURIComponent(select.value)}`;
  });
  document.getElementById('dept-pick').hidden = false;
}

init();
