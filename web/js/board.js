// SPDX-License-Identifier: MIT
// board.js: the physician tracking board of one department, live over /ws.
// Views (all, mine, unassigned, waiting room, an area), the sort column and the display mode
// (desk, wall, masked: mode=public) live in the address, so a wall screen can be bookmarked.
// The masked mode is a clinician's screen with names hidden (it can be switched back); the
// public wall visitors see is a display account's wall.html, masked by the server:
//   board.html?department=1&view=resus&sort=los&dir=desc&mode=wall
// Fields that older servers do not send (comment, orders, isolation, allergies, news2,
// location_since, disposition, reassess_due_at, similar_name) are shown when present;
// without them the cell says nothing rather than guessing, except where the page can
// compute the same thing itself (similar names, NEWS2 alert, reassessment estimate).
// Roles that register arrivals (registration, charge nurse) get "Register arrival" in desk
// mode (arrival.js); the new patient then arrives on the board like any other.
import { showMessage, showRefused, followBoard } from './page.js';
import { mountTopbar, fitHeader, showNav } from './topbar.js';
import { fromSnapshot, applyEvent as applyBoardEvent, eventRow, findRow, emptyBoard } from './board_model.js';
import { apiPost, conflictCurrent } from './api.js';
import { startSession, pickDepartment, can, noAccessText } from './session.js';
import { mountArrival } from './arrival.js';
import { showConflict } from './conflict.js';
import { el, compareRows, patientName, ageSex, formatDuration, since, hhmm, esiChip, vitalCell,
  news2Chip, STATUS_LABEL, AREA_LABEL, positiveInt, param, activeGrants, breakGlassFlag, rowNews2,
  latestVitals, news2Band, paramLabel, scoreAge, scoreName, markTime, reassessState, isolationFlag,
  allergyFlag, orderFlags, orderSummary, newResults, unidentifiedMark, dispositionText,
  locationSince, abnormalVitals, maskedName, similarNameMap, flag } from './ui.js';

mountTopbar({ title: 'Tracking board', subtitle: 'census', roleLinks: ['bedside', 'census'], deptPick: true });

const $ = (id) => document.getElementById(id);
const table = $('board');
const tbody = $('rows');
const headRow = $('head-row');
const empty = $('empty');
const title = $('title');
const census = $('census');
const legend = $('legend');
const assignResult = $('assign-result');

let board = emptyBoard(); // the board model (board_model.js), at board.seq
const rows = new Map(); // encounter_id -> {row, tr}: board's rows and their table rows
let live = null;
let departmentId = null;
let session = null;
let chartLinks = false; // the role reads charts: rows open them
let arrivalMounted = false; // "Register arrival" is on the page (registration, charge nurse)
let similar = new Map(); // encounter_id -> [alike encounter ids]
const assigning = new Set(); // encounter ids with an "assign me" in flight

// ---- state in the address ----
const VIEWS = [
  { key: 'all', label: 'All' },
  { key: 'mine', label: 'Mine' },
  { key: 'unassigned', label: 'Unassigned' },
  { key: 'waiting', label: 'Waiting room' },
  { key: 'resus', label: 'Resus' },
  { key: 'acute', label: 'Acute' },
  { key: 'fast_track', label: 'Fast track' },
  { key: 'hallway', label: 'Hallway' },
];
const state = {
  view: VIEWS.some((v) => v.key === param('view')) ? param('view') : 'all',
  sort: param('sort') || 'bed',
  dir: param('dir') === 'desc' ? 'desc' : 'asc',
  mode: ['wall', 'public'].includes(param('mode')) ? param('mode') : '',
};

function writeAddress() {
  const q = new URLSearchParams();
  if (departmentId) q.set('department', String(departmentId));
  if (state.view !== 'all') q.set('view', state.view);
  if (state.sort !== 'bed' || state.dir !== 'asc') {
    q.set('sort', state.sort);
    q.set('dir', state.dir);
  }
  if (state.mode) q.set('mode', state.mode);
  history.replaceState(null, '', `${location.pathname}?${q}`);
}

const isPublic = () => state.mode === 'public';
const isWall = () => state.mode === 'wall' || state.mode === 'public';
// Which assignment "assign me" sets for the signed-in role (the server allows self only).
const myField = () => (session && session.role === 'physician' ? 'attending' : session && session.role === 'nurse' ? 'nurse' : null);

// ---- columns ----
const str = (s) => String(s || '').toLocaleLowerCase();
const esiKey = (r) => (Number.isInteger(r.esi) ? r.esi : 9);
const alertRank = (r) => {
  const n = rowNews2(r);
  let rank = n ? n.total + (n.anyThree ? 5 : 0) + (n.floored ? 7 : 0) : 0;
  if (reassessState(r).overdue) rank += 3;
  return rank;
};
const COLUMNS = [
  { key: 'bed', label: 'Bed', cls: 'c-bed', cmp: compareRows },
  { key: 'esi', label: 'ESI', cls: 'c-esi', title: 'Emergency Severity Index 1 (most urgent) – 5', val: esiKey },
  { key: 'patient', label: 'Patient', cls: 'c-patient', val: (r) => str(patientName(r.patient)) },
  { key: 'complaint', label: 'Complaint', cls: 'c-complaint', priv: true, val: (r) => str(r.chief_complaint) },
  { key: 'los', label: 'LOS', cls: 'c-time', title: 'length of stay: time since arrival', val: (r) => -Date.parse(r.arrived_at) },
  { key: 'here', label: 'Here', cls: 'c-here', title: 'time at the current location (bed, hallway, waiting room)', val: (r) => -Date.parse(locationSince(r)) },
  { key: 'attending', label: 'Attending', cls: 'c-staff', val: (r) => str(r.attending && r.attending.name) || '~' },
  { key: 'nurse', label: 'Nurse', cls: 'c-staff', val: (r) => str(r.nurse && r.nurse.name) || '~' },
  { key: 'status', label: 'Status / dispo', cls: 'c-status', val: (r) => `${Object.keys(STATUS_LABEL).indexOf(r.status)}${dispositionText(r)}` },
  { key: 'comment', label: 'Comment', cls: 'c-comment', priv: true, val: (r) => str(r.comment) || '~' },
  { key: 'alerts', label: 'Alerts', cls: 'c-alerts', priv: true, title: 'NEWS2 alert, new abnormal vitals, observations overdue', val: (r) => -alertRank(r) },
  { key: 'heart_rate', label: 'HR', cls: 'c-vital', priv: true, title: 'heart rate /min', vital: true },
  { key: 'resp_rate', label: 'RR', cls: 'c-vital', priv: true, title: 'respiratory rate /min', vital: true },
  { key: 'systolic_bp', label: 'BP', cls: 'c-vital c-bp', priv: true, title: 'blood pressure mmHg', vital: true },
  { key: 'spo2', label: 'SpO₂', cls: 'c-vital', priv: true, title: 'oxygen saturation %', vital: true },
  { key: 'temperature_c', label: 'Temp', cls: 'c-vital', priv: true, title: 'temperature °C', vital: true },
  { key: 'consciousness', label: 'ACVPU', cls: 'c-vital', priv: true, title: 'consciousness (ACVPU)', vital: true },
  { key: 'news2', label: 'NEWS2', cls: 'c-news2', priv: true, title: 'NEWS2 total (server-side, RCP)', val: (r) => -(rowNews2(r)?.total ?? -1) },
  { key: 'obs', label: 'Obs', cls: 'c-obs', priv: true, title: 'age of the latest vitals; reassessment due', val: (r) => reassessState(r).dueAt ?? Infinity },
  { key: 'orders', label: 'Orders', cls: 'c-orders', priv: true, title: 'lab / imaging / consult: pending, resulted ✓, ● NEW result not seen', val: (r) => {
    const s = Object.values(orderSummary(r));
    return -(s.reduce((a, x) => a + x.fresh * 100 + x.pending, 0));
  } },
  { key: 'me', label: '', cls: 'c-me', desk: true, noSort: true },
];

function visibleColumns() {
  return COLUMNS.filter((c) => !(c.priv && isPublic()) && !(c.desk && (isWall() || !myField())));
}

function columnValue(col, r) {
  if (col.vital) {
    const v = r.latest_vitals;
    const x = v ? v[col.key] : null;
    return x === null || x === undefined ? Infinity : typeof x === 'number' ? -x : x;
  }
  return col.val ? col.val(r) : 0;
}

function compareBy(col) {
  if (col.cmp) return col.cmp;
  return (a, b) => {
    const x = columnValue(col, a);
    const y = columnValue(col, b);
    if (x < y) return -1;
    if (x > y) return 1;
    return compareRows(a, b);
  };
}

function renderHead() {
  const cols = visibleColumns();
  headRow.replaceChildren(
    ...cols.map((c) => {
      const th = el('th', { className: c.cls, attrs: { scope: 'col', title: c.title || '' } });
      if (c.noSort || isWall()) {
        th.textContent = c.label;
        if (!c.noSort && state.sort === c.key) th.append(el('span', { className: 'sort-mark', text: state.dir === 'asc' ? ' ▲' : ' ▼' }));
        return th;
      }
      const sorted = state.sort === c.key;
      th.setAttribute('aria-sort', sorted ? (state.dir === 'asc' ? 'ascending' : 'descending') : 'none');
      const button = el('button', { type: 'button', className: 'sort', dataset: { sort: c.key }, text: c.label });
      if (sorted) button.append(el('span', { className: 'sort-mark', text: state.dir === 'asc' ? ' ▲' : ' ▼' }));
      button.addEventListener('click', () => {
        if (state.sort === c.key) state.dir = state.dir === 'asc' ? 'desc' : 'asc';
        else {
          state.sort = c.key;
          state.dir = 'asc';
        }
        writeAddress();
        renderHead();
        order();
      });
      th.append(button);
      return th;
    }),
  );
}

// ---- cells ----

function staffCell(person, mine) {
  const td = el('td', { className: 'c-staff' });
  if (person) {
    td.append(el('span', { className: `staff-name${mine ? ' me' : ''}`, text: person.name }));
  } else td.append(el('span', { className: 'unassigned', text: '— none' }));
  return td;
}

function timeCell(cls, iso, label) {
  const td = el('td', { className: cls });
  if (!iso) return td;
  td.dataset.since = iso;
  td.textContent = formatDuration(since(iso));
  td.title = `${label} ${new Date(iso).toLocaleString()}`;
  return td;
}

function obsCell(row) {
  const td = el('td', { className: 'c-obs' });
  const v = row.latest_vitals;
  if (!v) {
    td.append(el('span', { className: 'none', text: 'none' }));
    return td;
  }
  const age = el('span', { className: 'obs-age', text: formatDuration(since(v.taken_at)), dataset: { since: v.taken_at } });
  age.title = `vitals taken ${new Date(v.taken_at).toLocaleString()}`;
  td.append(age);
  const r = reassessState(row);
  if (r.continuous) td.append(el('span', { className: 'due due-continuous', text: 'continuous' }));
  else if (r.dueAt) {
    const text = r.overdue ? `overdue ${formatDuration(Date.now() - r.dueAt)}` : `due ${hhmm(new Date(r.dueAt))}`;
    td.append(el('span', { className: `due${r.overdue ? ' overdue' : ''}`, text, attrs: { title: r.source === 'server' ? 'reassessment due (server)' : 'reassessment due, from the NEWS2 band (RCP chart 4)' } }));
  }
  return td;
}

// Icons with text, strongest first: NEWS2 ≥ 5 or a 3, new abnormal vitals, obs overdue.
function alertsCell(row) {
  const td = el('td', { className: 'c-alerts' });
  const n = rowNews2(row);
  const band = n ? news2Band(row.news2 || row.latest_vitals.news2) : null;
  if (band === 'high' || band === 'medium' || band === 'low-medium') {
    const name = scoreName(n);
    const text = band === 'low-medium' && n.total < 5 ? `⚠ ${name} a 3` : `⚠ ${name} ${n.total}${n.complete ? '' : '*'}`;
    const why = n.system === 'pews'
      ? band === 'high' ? 'PEWS high (≥ 8): urgent medical review, continuous monitoring' : 'PEWS medium (4–7): urgent review, hourly observations'
      : band === 'high' ? 'NEWS2 high (≥ 7): emergency response, continuous monitoring' : band === 'medium' ? 'NEWS2 medium (5–6): urgent response' : 'a single parameter scored 3: urgent ward-based response';
    td.append(flag('news2', text, { title: n.floored ? `${why} (the last complete score; the current one is incomplete)` : why, extra: band === 'high' ? 'high' : '' }));
  }
  const abn = abnormalVitals(row);
  if (abn && abn.fresh) td.append(flag('abn', '▲ New abn vitals', { title: `abnormal in the last hour: ${abn.keys.join(', ')}` }));
  // Obs overdue shows here only when the Obs column is not on screen (public wall).
  return td;
}

function meCell(row) {
  const td = el('td', { className: 'c-me' });
  const field = myField();
  if (!field || !session.staff_id) return td;
  const current = row[field];
  if (current && current.id === session.staff_id) {
    td.append(el('span', { className: 'mine-mark', text: '✓ mine' }));
    return td;
  }
  const role = field === 'attending' ? 'attending' : 'nurse';
  const button = el('button', {
    type: 'button',
    className: `assign-me${current ? ' take-over' : ''}`,
    text: assigning.has(row.encounter_id) ? 'Saving…' : current ? 'Take over' : 'Assign me',
    disabled: assigning.has(row.encounter_id),
    attrs: { title: current ? `Take over as ${role} from ${current.name}` : `Assign yourself as ${role}` },
    dataset: { encounterId: String(row.encounter_id) },
  });
  button.addEventListener('click', (ev) => {
    ev.stopPropagation();
    assignMe(row.encounter_id);
  });
  td.append(button);
  return td;
}

// The order chips, and for results nobody has seen yet a link to the chart's results
// section (values, units, ranges, flags), saying "abnormal" when one of them is.
function ordersCell(row) {
  const td = el('td', { className: 'c-orders' }, orderFlags(row));
  const fresh = newResults(row);
  if (fresh.count && chartLinks && !isPublic()) {
    td.append(
      el('a', {
        className: `result-link${fresh.abnormal ? ' result-abnormal' : ''}`,
        href: `chart.html?encounter=${encodeURIComponent(row.encounter_id)}#results`,
        text: `● ${fresh.count} new result${fresh.count > 1 ? 's' : ''}${fresh.abnormal ? ' ▲ ABNORMAL' : ''}`,
        tabIndex: -1,
        attrs: { title: 'open the results in the chart' },
      }),
    );
  }
  return td;
}

function patientCell(row) {
  const td = el('td', { className: 'c-patient' });
  const text = isPublic() ? maskedName(row.patient) : patientName(row.patient);
  const name =
    chartLinks && !isPublic()
      ? el('a', { className: 'pt-name', href: `chart.html?encounter=${encodeURIComponent(row.encounter_id)}`, text, tabIndex: -1 })
      : el('span', { className: 'pt-name', text });
  td.append(name);
  if (!isPublic()) td.append(el('span', { className: 'agesex', text: ageSex(row.patient) }));
  const flags = el('div', { className: 'pt-flags' });
  const unidentified = unidentifiedMark(row.patient);
  if (unidentified && !isPublic()) flags.append(unidentified);
  const alike = similar.get(row.encounter_id);
  if (alike && !isPublic()) {
    const others = alike.map((id) => rows.get(id)).filter(Boolean).map((h) => `${patientName(h.row.patient)}${h.row.bed ? ` (${h.row.bed.label})` : ''}`);
    flags.append(flag('similar', '⚠ Similar name', { title: others.length ? `Check identity: also on the board ${others.join('; ')}` : 'Another current patient has an alike name: check identity' }));
  }
  const iso = isolationFlag(row);
  if (iso) flags.append(iso);
  const allergy = allergyFlag(row, { masked: isPublic() });
  if (allergy) flags.append(allergy);
  if (flags.childElementCount) td.append(flags);
  const bg = breakGlassFlag(row);
  if (bg && !isPublic()) td.append(bg);
  return td;
}

function cellFor(col, row) {
  switch (col.key) {
    case 'bed': {
      const td = el('td', { className: 'c-bed' });
      if (row.bed) td.append(el('span', { className: 'bed-label', text: row.bed.label }), el('span', { className: 'bed-area', text: AREA_LABEL[row.bed.area] || row.bed.area }));
      else td.append(el('span', { className: 'bed-label nobed', text: 'WR' }), el('span', { className: 'bed-area', text: 'waiting room' }));
      return td;
    }
    case 'esi': {
      const td = el('td', { className: 'c-esi' }, esiChip(row.esi, { big: true }));
      // Not triaged yet: how long, coloured at the untriaged thresholds.
      if (!Number.isInteger(row.esi) && row.arrived_at) markTime(td, 'untriaged', since(row.arrived_at));
      return td;
    }
    case 'patient':
      return patientCell(row);
    case 'complaint':
      return el('td', { className: 'c-complaint', text: row.chief_complaint || '' });
    case 'los': {
      const td = timeCell('c-time', row.arrived_at, 'arrived');
      td.dataset.arrivedAt = row.arrived_at;
      return row.arrived_at ? markTime(td, 'los', since(row.arrived_at)) : td;
    }
    case 'here': {
      const td = timeCell('c-here', locationSince(row), row.location_since ? 'here since' : 'arrived (no location history from the server)');
      const waiting = !row.bed || row.bed.area === 'waiting_room';
      return waiting && locationSince(row) ? markTime(td, 'waiting', since(locationSince(row))) : td;
    }
    case 'attending':
      return staffCell(row.attending, !isWall() && row.attending && session && row.attending.id === session.staff_id);
    case 'nurse':
      return staffCell(row.nurse, !isWall() && row.nurse && session && row.nurse.id === session.staff_id);
    case 'status': {
      const td = el('td', { className: 'c-status' }, el('span', { className: `status status-${row.status}`, text: STATUS_LABEL[row.status] || row.status }));
      const dispo = dispositionText(row);
      if (dispo && !isPublic()) td.append(el('span', { className: `dispo dispo-${row.disposition.kind}`, text: dispo }));
      if (row.boarding_since) td.append(el('span', { className: 'boarding', text: `boarding ${formatDuration(since(row.boarding_since))}`, dataset: { boardingSince: row.boarding_since } }));
      return td;
    }
    case 'comment':
      return el('td', { className: 'c-comment', text: row.comment || '' });
    case 'alerts':
      return alertsCell(row);
    case 'news2': {
      const n = rowNews2(row);
      if (!n) return el('td', { className: 'c-news2' }, el('span', { className: 'news2 news2-none', text: '–' }));
      const td = el('td', { className: 'c-news2' }, news2Chip(row.news2 || row.latest_vitals.news2, { big: true }));
      // Completeness and the age of the oldest input, in words as well as the chip's mark.
      const age = scoreAge(n);
      if (!n.complete && n.missing) td.append(el('span', { className: 'news2-missing', text: `missing ${n.missing.map(paramLabel).join(', ')}` }));
      if (age) td.append(el('span', { className: `news2-age${age.stale ? ' stale' : ''}`, text: age.stale ? `inputs > ${Math.round(n.windowMin / 60)} h old` : `oldest ${formatDuration(age.age)}`, dataset: { since: n.oldestInputAt }, attrs: { title: `oldest input taken ${new Date(n.oldestInputAt).toLocaleString()}` } }));
      return td;
    }
    case 'obs':
      return obsCell(row);
    case 'orders':
      return ordersCell(row);
    case 'me':
      return meCell(row);
    default:
      if (col.vital) return vitalCell(latestVitals(row), col.key);
      return el('td');
  }
}

function buildRow(row) {
  const grants = activeGrants(row);
  const n = rowNews2(row);
  const opens = chartLinks && !isPublic();
  const tr = el('tr', {
    className: `enc esi-row-${Number.isInteger(row.esi) ? row.esi : 'none'} st-${row.status}${opens ? ' opens' : ''}${grants.length ? ' has-bg' : ''}${n && news2Band(row.news2 || row.latest_vitals.news2) === 'high' && !isPublic() ? ' news2-high-row' : ''}`,
    dataset: { encounterId: String(row.encounter_id), version: String(row.version), breakGlass: String(grants.length), news2: n ? String(n.total) : '' },
    tabIndex: opens ? 0 : -1,
    attrs: opens ? { title: 'open the chart' } : {},
  });
  for (const col of visibleColumns()) tr.append(cellFor(col, row));
  return tr;
}

function openChart(tr) {
  if (!chartLinks || isPublic()) return;
  location.href = `chart.html?encounter=${encodeURIComponent(tr.dataset.encounterId)}`;
}

tbody.addEventListener('click', (ev) => {
  if (ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey) return; // let the link open a new tab
  if (ev.target.closest('button') || ev.target.closest('a.result-link')) return;
  const tr = ev.target.closest('tr.enc');
  if (!tr) return;
  ev.preventDefault();
  openChart(tr);
});
tbody.addEventListener('keydown', (ev) => {
  if (ev.key !== 'Enter' || ev.target.closest('button')) return;
  const tr = ev.target.closest('tr.enc');
  if (tr) openChart(tr);
});

// ---- assign me ----

function say(text, kind = 'ok') {
  assignResult.textContent = text;
  assignResult.className = `assign-result ${kind}`;
  assignResult.hidden = !text;
  clearTimeout(say.timer);
  if (text && kind === 'ok') say.timer = setTimeout(() => (assignResult.hidden = true), 6000);
}

async function assignMe(encounterId, basedOn = null) {
  const held = rows.get(encounterId);
  const field = myField();
  if (!held || !field || assigning.has(encounterId)) return;
  const row = basedOn || held.row;
  const body = field === 'attending' ? { attending_id: session.staff_id } : { nurse_id: session.staff_id };
  assigning.add(encounterId);
  rebuild(encounterId);
  const res = await apiPost(`/encounters/${encounterId}/assignment`, body, { ifMatch: row.version });
  assigning.delete(encounterId);
  rebuild(encounterId);
  const who = `${patientName(row.patient)}${row.bed ? ` (${row.bed.label})` : ''}`;
  if (res.ok) {
    say(`You are now the ${field} of ${who}.`);
    return;
  }
  const current = conflictCurrent(res);
  if (current) {
    const now = current[field];
    const again = await showConflict({
      what: `the ${field}`,
      theirs: now ? now.name : 'nobody',
      mine: session.username,
      row: current.encounter_id ? current : row,
      applyLabel: `Assign me anyway`,
    });
    if (again) assignMe(encounterId, current.version ? current : null);
    else say(`Not changed: the ${field} of ${who} stays ${now ? now.name : 'unassigned'}.`, 'info');
    return;
  }
  say(`Not assigned: ${res.error.message}${res.error.code ? ` (${res.error.code})` : ''}.`, 'err');
}

// ---- rows ----

function rebuild(id) {
  const held = rows.get(id);
  if (!held) return;
  const hadFocus = held.tr.contains(document.activeElement);
  const tr = buildRow(held.row);
  held.tr.replaceWith(tr);
  held.tr = tr;
  if (hadFocus) tr.focus({ preventScroll: true });
}

function passesView(row) {
  const me = session && session.staff_id;
  switch (state.view) {
    case 'mine':
      return Boolean(me && ((row.attending && row.attending.id === me) || (row.nurse && row.nurse.id === me)));
    case 'unassigned': {
      const f = myField();
      return f ? !row[f] : !row.attending || !row.nurse;
    }
    case 'waiting':
      return !row.bed || row.bed.area === 'waiting_room';
    case 'all':
      return true;
    default:
      return Boolean(row.bed && row.bed.area === state.view);
  }
}

// Puts the rows in the chosen order, shows the view's rows only, marks area starts.
function order() {
  const all = [...rows.values()];
  const col = COLUMNS.find((c) => c.key === state.sort) || COLUMNS[0];
  const cmp = compareBy(col);
  const sorted = all.filter((h) => passesView(h.row)).sort((a, b) => (state.dir === 'desc' ? -cmp(a.row, b.row) : cmp(a.row, b.row)));
  let lastArea;
  const byBed = col.key === 'bed';
  for (const h of all) if (!sorted.includes(h)) h.tr.remove();
  for (const { row, tr } of sorted) {
    const area = row.bed ? row.bed.area : 'none';
    tr.classList.toggle('area-start', byBed && area !== lastArea && lastArea !== undefined);
    lastArea = area;
    tbody.append(tr); // moves it
  }
  // Columns nobody has anything in (no comments, no orders yet) give their room to the rest.
  const rowsNow = all.map((h) => h.row);
  table.classList.toggle('no-comments', !rowsNow.some((r) => r.comment));
  table.classList.toggle('no-orders', !rowsNow.some((r) => Array.isArray(r.orders) && r.orders.length));
  empty.hidden = sorted.length > 0;
  empty.textContent = rows.size ? `No patients in this view (${VIEWS.find((v) => v.key === state.view)?.label}).` : 'No patients on the board.';
  renderCensus(all.map((h) => h.row), sorted.length);
}

function renderCensus(list, shown) {
  const waiting = list.filter((r) => !r.bed || r.bed.area === 'waiting_room');
  const untriaged = list.filter((r) => !Number.isInteger(r.esi)).length;
  const emergency = list.filter((r) => activeGrants(r).length).length;
  const longest = waiting.reduce((m, r) => Math.max(m, since(r.arrived_at)), 0);
  census.replaceChildren(
    `${list.length} patient${list.length === 1 ? '' : 's'} · ${waiting.length} waiting${waiting.length ? ` (longest ${formatDuration(longest)})` : ''} · ${untriaged} not triaged`,
  );
  if (shown !== list.length) census.append(` · showing ${shown}`);
  if (emergency) census.append(' · ', el('span', { className: 'bg-count', text: `⚠ ${emergency} emergency access` }));
}

function recomputeSimilar() {
  const before = similar;
  similar = similarNameMap([...rows.values()].map((h) => h.row));
  const changed = new Set([...before.keys(), ...similar.keys()].filter((id) => String(before.get(id)) !== String(similar.get(id))));
  return changed;
}

// Drops every row (the server refused the board, or the session ended).
function clearBoard() {
  board = emptyBoard();
  rows.clear();
  tbody.replaceChildren();
  census.replaceChildren();
  table.dataset.seq = '0';
  table.hidden = true;
  legend.hidden = true;
  empty.hidden = true;
  $('arrival-box').hidden = true;
  arrivalMounted = false;
}

function stampSeq() {
  table.dataset.seq = String(live ? live.seq : 0);
}

function rebuildAll() {
  for (const id of rows.keys()) rebuild(id);
  order();
}

function applySnapshot(msg) {
  board = fromSnapshot(msg);
  table.hidden = false;
  legend.hidden = isPublic();
  rows.clear();
  tbody.replaceChildren();
  for (const row of board.encounters) rows.set(row.encounter_id, { row, tr: null });
  similar = similarNameMap([...rows.values()].map((h) => h.row));
  for (const h of rows.values()) h.tr = buildRow(h.row);
  if (board.department) {
    title.textContent = board.department.name;
    document.title = `${board.department.name} – tracking board`;
  }
  order();
  table.dataset.seq = String(board.seq);
}

// An event (board_model.applyEvent; one it cannot apply throws, and live.js fetches a new
// snapshot): the event's row is rebuilt, flashed and re-sorted; rows whose similar names
// changed with it are rebuilt. Bed-only and threshold events change nothing shown here.
function applyEvent(msg) {
  board = applyBoardEvent(board, msg);
  const row = eventRow(msg);
  if (row) {
    const id = row.encounter_id;
    const held = rows.get(id);
    const hadFocus = held && held.tr.contains(document.activeElement);
    if (held) held.tr.remove();
    // Other rows the event changed (their similar_name lists).
    for (const r of board.encounters) {
      const h = rows.get(r.encounter_id);
      if (h && r.encounter_id !== id) h.row = r;
    }
    const now = findRow(board, id);
    if (now) {
      rows.set(id, { row: now, tr: null });
      const changed = recomputeSimilar();
      const tr = buildRow(now);
      rows.get(id).tr = tr;
      for (const other of changed) if (other !== id) rebuild(other);
      if (hadFocus) queueMicrotask(() => tr.focus({ preventScroll: true }));
      tr.classList.add('flash');
      setTimeout(() => tr.classList.remove('flash'), 4000);
    } else {
      rows.delete(id);
      for (const other of recomputeSimilar()) rebuild(other);
    }
    order();
  }
  table.dataset.seq = String(board.seq);
}

// Every 30 s: times tick, and flags that depend on the clock (overdue, new vitals, an
// emergency-access grant that ran out) are recomputed by rebuilding the rows.
function tickTimes() {
  if (!rows.size) return;
  rebuildAll();
}

// ---- views and modes ----

function renderViews() {
  const views = $('views');
  views.replaceChildren(
    // "Mine" is a physician's or nurse's list; other roles are assigned no patients.
    ...VIEWS.filter((v) => v.key !== 'mine' || (myField() && session.staff_id)).map((v) => {
      const b = el('button', { type: 'button', className: 'view', dataset: { view: v.key }, text: v.label, attrs: { 'aria-pressed': String(state.view === v.key) } });
      b.addEventListener('click', () => {
        state.view = v.key;
        writeAddress();
        renderViews();
        order();
      });
      return b;
    }),
  );
  $('view-note').textContent = state.view === 'unassigned' && myField() ? `no ${myField()}` : '';
  for (const b of document.querySelectorAll('.modes .mode')) b.setAttribute('aria-pressed', String(b.dataset.mode === state.mode));
}

function applyMode() {
  const html = document.documentElement;
  html.classList.toggle('wall', isWall());
  html.classList.toggle('public', isPublic());
  legend.hidden = isPublic() || table.hidden;
  $('arrival-box').hidden = !arrivalMounted || isWall();
  renderHead();
  renderViews();
  rebuildAll();
  fitHeader();
}

for (const b of document.querySelectorAll('.modes .mode')) {
  b.addEventListener('click', () => {
    state.mode = b.dataset.mode;
    writeAddress();
    applyMode();
  });
}

function init() {
  setInterval(tickTimes, 30000);
  start();
}

function noBoard(text, opts) {
  clearBoard();
  showMessage(text, opts);
  showRefused('no board here');
  fitHeader();
}

async function start() {
  session = await startSession({ onWait: showMessage });
  // A display account (the public wall) has its own page, with nothing to unmask or sign out.
  if (session.role === 'display') {
    location.replace('wall.html');
    return;
  }
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
  showNav(departmentId, (action) => can(session, action));
  $('viewbar').hidden = false;
  if (can(session, 'arrival.create')) {
    mountArrival($('arrival-host'), { departmentId });
    arrivalMounted = true;
  }
  writeAddress();
  applyMode();
  showMessage('');
  fitHeader();
  live = followBoard(departmentId, { onSnapshot: applySnapshot, onEvent: applyEvent, onStatus: stampSeq, onRefused: clearBoard });
}

function fillDepartments(list) {
  if (!list || list.length < 2) return;
  const select = $('dept-select');
  select.replaceChildren(...list.map((d) => el('option', { value: String(d.id), text: d.name, selected: d.id === departmentId })));
  select.addEventListener('change', () => {
    departmentId = positiveInt(select.value);
    writeAddress();
    location.reload();
  });
  $('dept-pick').hidden = false;
}

init();
