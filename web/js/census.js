// SPDX-License-Identifier: MIT
// census.js: the charge nurse's census and flow screen, live over the board subscription.
// Counts, boarders, beds and loads are computed from the live board; today's metrics come
// from GET /departments/{id}/metrics (re-fetched after events, debounced); alert thresholds
// from GET/PUT /departments/{id}/alert-thresholds. Bed moves and staff assignments send
// If-Match with the row's version: a colleague's newer change is shown, never overwritten.
// Definitions: ed-domain.md §3.3 (door-to-provider, LOS of discharged patients, boarding,
// LWBS, arrival to treatment room). Roles that register arrivals (the charge nurse here) get
// the "Register arrival" form (arrival.js).
import { showMessage, showRefused, followBoard } from './page.js';
import { mountTopbar, fitHeader, showNav } from './topbar.js';
import { fromSnapshot, applyEvent as applyBoardEvent, eventRow, findRow, emptyBoard } from './board_model.js';
import { apiGet, apiPost, apiPut, conflictCurrent } from './api.js';
import { startSession, pickDepartment, can, noAccessText } from './session.js';
import { showConflict } from './conflict.js';
import { mountArrival } from './arrival.js';
import { el, compareRows, isActive, patientName, ageSex, esiChip, formatDuration, since, hhmm,
  AREA_LABEL, AREA_ORDER, STATUS_LABEL, ESI_NAME, positiveInt, param, isBoarder, rowNews2,
  news2Band, BAND_LABEL, scoreName, markTime, news2Chip, news2Urgent, isolationFlag
} from './ui.js';

mountTopbar({ title: 'Census & flow', subtitle: 'dept-name', links: ['board'], roleLinks: ['bedside'] });

const $ = (id) => document.getElementById(id);
const main = $('census-main');

let session = null;
let departmentId = null;
let live = null;
let board = emptyBoard(); // the board model (board_model.js), at board.seq
const rows = new Map(); // encounter_id -> row (board's, or newer from a write's reply)
let beds = new Map(); // bed id -> bed
let staff = [];
let moving = null; // encounter id being moved (chosen in the patient list)
let metrics = null; // last metrics answer, or null
let metricsState = 'loading'; // 'ok' | 'missing' | 'error' | 'loading'
let thresholds = { waiting_longest_min: 60, boarder_min: 240, esi12_unassigned: true };
let thresholdsFromServer = false;
let lwbsToday = null; // the board's lwbs_today (newer servers), kept live from status events

const isCharge = () => session && session.role === 'charge_nurse';
const mayBedStatus = () => session && (session.role === 'charge_nurse' || session.role === 'nurse');

// ---- derived state ----

function activeRows() {
  return [...rows.values()].filter(isActive).sort(compareRows);
}

function inWaitingRoom(r) {
  return !r.bed || r.bed.area === 'waiting_room';
}

// Bed status: the server's when it sends one ("free" | "occupied" | "cleaning"), else
// occupied when an active encounter holds the bed.
function bedState(bed, occupant) {
  if (bed.status === 'cleaning') return 'cleaning';
  if (occupant) return 'occupied';
  return 'free'; // the live rows say who is in a bed, even when a bed's own status lags
}

function occupants() {
  const map = new Map();
  for (const r of activeRows()) if (r.bed) map.set(r.bed.id, r);
  return map;
}

// ---- rendering ----

function setCount(id, n, text = String(n)) {
  const node = $(id);
  node.textContent = text;
  node.dataset.count = String(n);
}

function renderCounts() {
  const list = activeRows();
  const waiting = list.filter(inWaitingRoom);
  const longest = waiting.reduce((m, r) => Math.max(m, since(r.arrived_at)), 0);
  setCount('count-total', list.length);
  $('sub-total').textContent = `${list.filter((r) => !Number.isInteger(r.esi)).length} not triaged`;
  setCount('count-waiting', waiting.length);
  $('sub-waiting').textContent = waiting.length ? `longest wait ${formatDuration(longest)}` : 'nobody waiting';
  $('sub-waiting').classList.toggle('over', waiting.length > 0 && longest > thresholds.waiting_longest_min * 60000);

  // Acuity mix: a bar per ESI level, width by count, with the number written on it.
  const bar = $('acuity-bar');
  const levels = [1, 2, 3, 4, 5, null];
  const counts = levels.map((l) => list.filter((r) => (l === null ? !Number.isInteger(r.esi) : r.esi === l)).length);
  bar.replaceChildren(
    ...levels.map((l, i) => {
      if (!counts[i]) return null;
      const seg = el('span', {
        className: `acuity-seg ${l ? `esi-${l}` : 'esi-none'}`,
        text: `${l ? `ESI ${l}` : '–'}: ${counts[i]}`,
        attrs: { title: `${l ? `ESI ${l} ${ESI_NAME[l]}` : 'not triaged'}: ${counts[i]}` },
        dataset: { esi: String(l ?? 'none'), count: String(counts[i]) },
      });
      seg.style.flexGrow = String(counts[i]);
      return seg;
    }).filter(Boolean),
  );
  if (!list.length) bar.append(el('span', { className: 'hint', text: 'no patients' }));
  const byStatus = Object.keys(STATUS_LABEL)
    .map((s) => [s, list.filter((r) => r.status === s).length])
    .filter(([, n]) => n);
  $('sub-status').textContent = byStatus.map(([s, n]) => `${STATUS_LABEL[s]} ${n}`).join(' · ');

  const occ = occupants();
  const states = [...beds.values()].filter((b) => b.area !== 'waiting_room').map((b) => bedState(b, occ.get(b.id)));
  setCount('count-beds-occupied', states.filter((s) => s === 'occupied').length);
  setCount('count-beds-free', states.filter((s) => s === 'free').length);
  setCount('count-beds-cleaning', states.filter((s) => s === 'cleaning').length);

  const boarders = list.filter(isBoarder).sort((a, b) => Date.parse(a.boarding_since) - Date.parse(b.boarding_since));
  const boarderSupport = list.some((r) => 'boarding_since' in r);
  setCount('count-boarders', boarders.length, boarderSupport ? String(boarders.length) : '–');
  $('boarders').replaceChildren(
    ...(boarderSupport
      ? boarders.map((r) =>
          el(
            'li',
            { className: since(r.boarding_since) > thresholds.boarder_min * 60000 ? 'over' : '' },
            el('b', { text: r.bed ? r.bed.label : 'WR' }),
            ` ${patientName(r.patient)} `,
            el('span', { className: 'clock-small', text: `◷ ${formatDuration(since(r.boarding_since))}` }),
          ),
        )
      : [el('li', { className: 'hint', text: 'needs a newer server' })]),
  );

  const lwbs = Number.isInteger(lwbsToday) ? lwbsToday : metrics && Number.isInteger(metrics.lwbs) ? metrics.lwbs : null;
  $('count-lwbs').textContent = lwbs === null ? '–' : String(lwbs);
  $('count-lwbs').dataset.count = String(lwbs ?? '');
  $('sub-lwbs').textContent =
    lwbs !== null && metrics && metrics.arrivals ? `${((100 * lwbs) / metrics.arrivals).toFixed(1)} % of ${metrics.arrivals} arrivals` : lwbs === null && metricsState === 'missing' ? 'needs a newer server' : '';

  renderLoad(list);
}

function loadOf(list, field) {
  const map = new Map();
  for (const r of list) {
    const p = r[field];
    if (!p) continue;
    const e = map.get(p.id) || { person: p, n: 0, high: 0 };
    e.n++;
    if (Number.isInteger(r.esi) && r.esi <= 2) e.high++;
    map.set(p.id, e);
  }
  return [...map.values()].sort((a, b) => b.n - a.n || a.person.name.localeCompare(b.person.name));
}

function renderLoad(list) {
  const col = (title, entries, unassigned, field) =>
    el(
      'div',
      { className: 'load-col', dataset: { field } },
      el('div', { className: 'load-title', text: title }),
      el(
        'ul',
        {},
        entries.map((e) =>
          el(
            'li',
            { className: field === 'nurse' && thresholds.nurse_patients_max && e.n > thresholds.nurse_patients_max ? 'over' : '', dataset: { staffId: String(e.person.id), count: String(e.n) } },
            el('span', { className: 'load-name', text: e.person.name }),
            el('span', { className: 'load-n', text: String(e.n) }),
            e.high ? el('span', { className: 'load-high', text: `${e.high}× ESI 1–2` }) : null,
          ),
        ),
        el('li', { className: 'load-none' }, el('span', { className: 'load-name', text: 'unassigned' }), el('span', { className: 'load-n', text: String(unassigned) })),
      ),
    );
  $('load').replaceChildren(
    col('Nurses', loadOf(list, 'nurse'), list.filter((r) => !r.nurse).length, 'nurse'),
    col('Physicians', loadOf(list, 'attending'), list.filter((r) => !r.attending).length, 'attending'),
  );
}

// Threshold alerts: text, one line each (never colour only).
function computeAlerts() {
  const list = activeRows();
  const out = [];
  const waiting = list.filter(inWaitingRoom);
  const limitW = thresholds.waiting_longest_min;
  if (Number.isInteger(limitW)) {
    const over = waiting.filter((r) => since(r.arrived_at) > limitW * 60000).sort((a, b) => Date.parse(a.arrived_at) - Date.parse(b.arrived_at));
    if (over.length)
      out.push({
        kind: 'waiting',
        text: `Waiting room: longest wait ${formatDuration(since(over[0].arrived_at))} (over ${limitW} min) — ${over.length} patient${over.length > 1 ? 's' : ''} over the limit, longest ${patientName(over[0].patient)}`,
      });
  }
  const limitB = thresholds.boarder_min;
  if (Number.isInteger(limitB))
    for (const r of list.filter(isBoarder))
      if (since(r.boarding_since) > limitB * 60000)
        out.push({ kind: 'boarder', text: `Boarder ${r.bed ? r.bed.label : 'WR'} ${patientName(r.patient)}: boarding ${formatDuration(since(r.boarding_since))} (over ${formatDuration(limitB * 60000)})` });
  if (thresholds.esi12_unassigned)
    for (const r of list.filter((x) => Number.isInteger(x.esi) && x.esi <= 2 && !x.attending))
      out.push({ kind: 'esi12', text: `ESI ${r.esi} without an attending: ${r.bed ? r.bed.label : 'waiting room'} ${patientName(r.patient)} (here ${formatDuration(since(r.arrived_at))})` });
  const limitN = thresholds.nurse_patients_max;
  if (Number.isInteger(limitN))
    for (const e of loadOf(list, 'nurse')) if (e.n > limitN) out.push({ kind: 'nurse', text: `${e.person.name} has ${e.n} patients (over ${limitN})` });
  // Early-warning score at or above the urgent band (NEWS2 a 3 in one parameter or 5+; PEWS
  // 4+), including the last complete score while the current one is incomplete.
  for (const r of list.filter((x) => x.news2 && news2Urgent(x.news2))) {
    const n = rowNews2(r);
    const band = news2Band(r.news2);
    out.push({
      kind: 'ews',
      encounter: r.encounter_id,
      text: `${scoreName(n)} ${n.total}${n.complete ? '' : '*'} (${BAND_LABEL[band]}${r.monitoring === 'continuous' ? ', continuous monitoring' : ''}): ${r.bed ? r.bed.label : 'waiting room'} ${patientName(r.patient)}`,
    });
  }
  // Arrivals waiting for triage past the threshold (ESI not yet set).
  for (const r of list.filter((x) => !Number.isInteger(x.esi) && since(x.arrived_at) > UNTRIAGED_ALERT_MIN * 60000))
    out.push({ kind: 'untriaged', encounter: r.encounter_id, text: `Not triaged after ${formatDuration(since(r.arrived_at))} (over ${UNTRIAGED_ALERT_MIN} min): ${r.bed ? r.bed.label : 'waiting room'} ${patientName(r.patient)}` });
  return out;
}

function renderAlerts() {
  const alerts = computeAlerts();
  $('alerts').hidden = !alerts.length;
  $('alert-count').textContent = alerts.length ? `(${alerts.length})` : '';
  // An alert about one patient opens the chart.
  $('alert-list').replaceChildren(
    ...alerts.map((a) =>
      a.encounter
        ? el('li', { className: `alert alert-${a.kind}`, dataset: { kind: a.kind, encounterId: String(a.encounter) } }, el('a', { href: `chart.html?encounter=${a.encounter}`, text: a.text }))
        : el('li', { className: `alert alert-${a.kind}`, dataset: { kind: a.kind }, text: a.text }),
    ),
  );
}

// ---- beds ----

function bedTile(bed, occupant) {
  const st = bedState(bed, occupant);
  const tile = el('div', { className: `bed-tile bed-${st}`, dataset: { bedId: String(bed.id), status: st } });
  tile.append(el('div', { className: 'bed-head' }, el('span', { className: 'bed-label', text: bed.label }), el('span', { className: `bed-st st-${st}`, text: st === 'occupied' ? 'occupied' : st === 'cleaning' ? 'cleaning' : 'free' })));
  if (occupant) {
    tile.append(el('div', { className: 'bed-pt' }, esiChip(occupant.esi), el('span', { className: 'bed-pt-name', text: patientName(occupant.patient) }), el('span', { className: 'agesex', text: ageSex(occupant.patient) })));
    const iso = isolationFlag(occupant);
    if (iso) tile.append(iso);
  }
  const actions = el('div', { className: 'bed-actions' });
  if (st === 'free' && moving && isCharge()) {
    const who = rows.get(moving);
    const b = el('button', { type: 'button', className: 'small move-here', text: `Move ${who ? patientName(who.patient).split(',')[0] : ''} here`, dataset: { bedId: String(bed.id) } });
    b.addEventListener('click', () => moveTo(moving, bed));
    actions.append(b);
  }
  if (mayBedStatus() && 'status' in bed) {
    if (st === 'cleaning') {
      const b = el('button', { type: 'button', className: 'small bed-clean', text: 'Mark clean' });
      b.addEventListener('click', () => setBedStatus(bed, 'free'));
      actions.append(b);
    } else if (st === 'free') {
      const b = el('button', { type: 'button', className: 'small bed-dirty', text: 'Needs cleaning' });
      b.addEventListener('click', () => setBedStatus(bed, 'cleaning'));
      actions.append(b);
    }
  }
  if (actions.childElementCount) tile.append(actions);
  return tile;
}

function renderBeds() {
  const occ = occupants();
  const areas = AREA_ORDER.filter((a) => a !== 'waiting_room');
  const groups = [];
  for (const area of areas) {
    const list = [...beds.values()].filter((b) => b.area === area).sort((a, b) => a.label.localeCompare(b.label, undefined, { numeric: true }));
    if (!list.length) continue;
    groups.push(el('div', { className: 'bed-area-group' }, el('h3', { text: AREA_LABEL[area] || area }), el('div', { className: 'bed-tiles' }, list.map((b) => bedTile(b, occ.get(b.id))))));
  }
  $('beds').replaceChildren(...groups);
  const anyStatus = [...beds.values()].some((b) => 'status' in b);
  $('beds-hint').textContent = anyStatus ? '' : '(cleaning status needs a newer server)';
  const bar = $('move-bar');
  const who = moving && rows.get(moving);
  bar.hidden = !who;
  if (who) {
    const cancel = el('button', { type: 'button', className: 'small', text: 'Cancel' });
    cancel.addEventListener('click', () => {
      moving = null;
      renderAll();
    });
    const toWr = el('button', { type: 'button', className: 'small move-wr', text: 'To the waiting room' });
    toWr.addEventListener('click', () => moveTo(moving, null));
    // Newer servers place a patient in the first free hallway space ({bed_id: null, area: hallway}).
    const hallway = [...beds.values()].some((b) => 'status' in b) ? el('button', { type: 'button', className: 'small move-hallway', text: 'To the hallway (first free space)' }) : null;
    if (hallway) hallway.addEventListener('click', () => moveTo(moving, 'hallway'));
    bar.replaceChildren(
      el('strong', { text: `Moving ${patientName(who.patient)} (${who.bed ? who.bed.label : 'waiting room'}): choose a free bed or a hallway space.` }),
      hallway,
      who.bed ? toWr : null,
      cancel,
    );
  }
}

// bed: a bed object, 'hallway' (the first free hallway space), or null (the waiting room).
async function moveTo(encounterId, bed, basedOn = null) {
  const row = rows.get(encounterId);
  if (!row) return;
  const body = bed === 'hallway' ? { bed_id: null, area: 'hallway' } : { bed_id: bed ? bed.id : null };
  const res = await apiPost(`/encounters/${encounterId}/bed`, body, { ifMatch: (basedOn || row).version });
  const where = bed === 'hallway' ? 'the hallway' : bed ? bed.label : 'the waiting room';
  if (res.ok) {
    moving = null;
    $('assign-result').textContent = `${patientName(row.patient)} moved to ${where}.`;
    renderAll();
    return;
  }
  const current = conflictCurrent(res);
  if (current) {
    const again = await showConflict({
      what: 'the bed',
      theirs: current.bed ? current.bed.label : 'waiting room / no bed',
      mine: where,
      row: current.encounter_id ? current : row,
      applyLabel: `Move to ${where} anyway`,
    });
    if (again) moveTo(encounterId, bed, current.version ? current : null);
    return;
  }
  $('assign-result').textContent = `Not moved: ${res.error.message}${res.error.code ? ` (${res.error.code})` : ''}.`;
}

async function setBedStatus(bed, status) {
  const res = await apiPost(`/beds/${bed.id}/status`, { status });
  if (!res.ok) $('assign-result').textContent = `Bed ${bed.label} not changed: ${res.error.message}.`;
  else {
    const changed = res.data && Array.isArray(res.data.beds) ? res.data.beds : res.data && res.data.bed ? [res.data.bed] : [];
    for (const b of changed) if (b && Number.isInteger(b.id)) beds.set(b.id, { ...(beds.get(b.id) || {}), ...b });
    $('assign-result').textContent = `Bed ${bed.label}: ${status === 'cleaning' ? 'needs cleaning' : 'clean'}.`;
    renderAll();
  }
}

// ---- patients and assignment ----

// Each option says how many patients that clinician has now (the nurse load, at the point
// of choosing).
function staffSelect(row, field, load) {
  const role = field === 'attending' ? ['physician'] : ['nurse', 'charge_nurse'];
  const current = row[field];
  const select = el('select', { className: `assign-${field}`, dataset: { encounterId: String(row.encounter_id), field }, attrs: { 'aria-label': `${field} for ${patientName(row.patient)}` } });
  select.append(el('option', { value: '', text: '— none —' }));
  for (const s of staff.filter((x) => role.includes(x.role)).sort((a, b) => a.name.localeCompare(b.name)))
    select.append(el('option', { value: String(s.id), text: `${s.name} (${load.get(s.id) || 0})`, selected: current && current.id === s.id }));
  if (current && !staff.some((s) => s.id === current.id)) select.append(el('option', { value: String(current.id), text: current.name, selected: true }));
  select.disabled = !isCharge();
  select.addEventListener('change', () => assign(row.encounter_id, field, positiveInt(select.value)));
  return select;
}

async function assign(encounterId, field, staffId, basedOn = null) {
  const row = rows.get(encounterId);
  if (!row) return;
  const body = field === 'attending' ? { attending_id: staffId } : { nurse_id: staffId };
  const res = await apiPost(`/encounters/${encounterId}/assignment`, body, { ifMatch: (basedOn || row).version });
  const name = staffId ? (staff.find((s) => s.id === staffId) || {}).name || `#${staffId}` : 'nobody';
  if (res.ok) {
    $('assign-result').textContent = `${patientName(row.patient)}: ${field} ${name}.`;
    return;
  }
  const current = conflictCurrent(res);
  if (current) {
    const again = await showConflict({ what: `the ${field}`, theirs: current[field] ? current[field].name : 'nobody', mine: name, row: current.encounter_id ? current : row, applyLabel: `Assign ${name} anyway` });
    if (again) assign(encounterId, field, staffId, current.version ? current : null);
    else renderPatients();
    return;
  }
  $('assign-result').textContent = `Not assigned: ${res.error.message}.`;
  renderPatients();
}

function renderPatients() {
  const focusedSelect = document.activeElement && document.activeElement.tagName === 'SELECT' && document.activeElement.closest('#patient-rows') ? document.activeElement : null;
  if (focusedSelect) return; // redrawn on blur, so a choice in progress is not lost
  const list = activeRows();
  const load = new Map();
  for (const field of ['attending', 'nurse']) for (const e of loadOf(list, field)) load.set(e.person.id, e.n);
  $('patient-rows').replaceChildren(
    ...list.map((r) => {
      const move = el('button', {
        type: 'button',
        className: 'small move-pick',
        text: moving === r.encounter_id ? 'Choosing bed…' : r.bed ? 'Move' : 'Bed…',
        dataset: { encounterId: String(r.encounter_id) },
        attrs: { 'aria-pressed': String(moving === r.encounter_id), title: 'choose a bed on the bed map' },
        hidden: !isCharge(),
      });
      move.addEventListener('click', () => {
        moving = moving === r.encounter_id ? null : r.encounter_id;
        renderAll();
      });
      const n = rowNews2(r);
      return el(
        'tr',
        { dataset: { encounterId: String(r.encounter_id), version: String(r.version) }, className: moving === r.encounter_id ? 'moving' : '' },
        el('td', { className: 'c-bed' }, el('span', { className: 'bed-label', text: r.bed ? r.bed.label : 'WR' })),
        Number.isInteger(r.esi) ? el('td', {}, esiChip(r.esi)) : markTime(el('td', {}, esiChip(r.esi)), 'untriaged', since(r.arrived_at)),
        el('td', {}, el('span', { className: 'pt-name', text: patientName(r.patient) }), el('span', { className: 'agesex', text: ageSex(r.patient) }), n && news2Urgent(r.news2 || r.latest_vitals.news2) ? news2Chip(r.news2 || r.latest_vitals.news2) : null),
        markTime(el('td', { className: 'c-time', text: formatDuration(since(r.arrived_at)) }), 'los', since(r.arrived_at)),
        el('td', {}, staffSelect(r, 'attending', load)),
        el('td', {}, staffSelect(r, 'nurse', load)),
        el('td', {}, move),
      );
    }),
  );
}
$('patient-rows').addEventListener('focusout', () => setTimeout(renderPatients, 0));

// ---- metrics ----

const METRIC_ROWS = [
  { key: 'door_to_provider_median_min', label: 'Door to provider (median)', unit: 'min', def: 'arrival → first contact with a physician or APP (EDBA)' },
  { key: 'los_discharged_median_min', label: 'LOS, discharged (median)', unit: 'min', def: 'arrival → ED departure for discharged patients (OP-18)' },
  { key: 'boarding_median_min', label: 'Boarding time (median)', unit: 'min', def: 'decision to admit → ED departure for admitted patients (ED-2)' },
  { key: 'arrival_to_room_median_min', label: 'Arrival to treatment room (median)', unit: 'min', def: 'arrival → first ED treatment-room location (ECAT)' },
  { key: 'los_median_min', label: 'LOS, every visit (median)', unit: 'min', def: 'arrival → ED departure for every patient who left, whatever the disposition' },
  { key: 'arrivals', label: 'Arrivals', unit: '', def: 'encounters that arrived in the period' },
];

// Arrivals without an ESI this long are an alert (the crowding consensus flags arrival to
// triage over 5 min as a measure; 15 min is the point a charge nurse acts: web/README.md).
const UNTRIAGED_ALERT_MIN = 15;

// "day": the department's local day (the server knows its time zone); "last24h": the 24 hours
// before now, which just after midnight is the meaningful view.
let metricsPeriod = 'day';

for (const b of document.querySelectorAll('#metrics-period button'))
  b.addEventListener('click', () => {
    metricsPeriod = b.dataset.period;
    loadMetrics();
  });

async function loadMetrics() {
  const res = await apiGet(`/departments/${departmentId}/metrics${metricsPeriod === 'last24h' ? '?period=last24h' : ''}`);
  if (res.ok && res.data) {
    metrics = res.data;
    metricsState = 'ok';
  } else {
    metricsState = res.status === 404 || res.status === 405 ? 'missing' : 'error';
    if (metricsState === 'error') $('metrics-note').textContent = `Metrics not loaded: ${res.error.message}`;
  }
  renderMetrics();
  renderCounts();
}

// Events change the metrics; one fetch per quiet second-and-a-half, at most every 5 s.
let metricsTimer = null;
let lastMetricsAt = 0;
function metricsSoon() {
  if (metricsState === 'missing') return;
  clearTimeout(metricsTimer);
  const wait = Math.max(1500, 5000 - (Date.now() - lastMetricsAt));
  metricsTimer = setTimeout(() => {
    lastMetricsAt = Date.now();
    loadMetrics();
  }, wait);
}

function renderMetrics() {
  const defs = (metrics && metrics.definitions) || {};
  $('metrics-date').textContent = metrics ? (metrics.period === 'last24h' ? `(${hhmm(new Date(metrics.from))} – ${hhmm(new Date(metrics.to))})` : `(${metrics.date}${metrics.timezone ? `, ${metrics.timezone}` : ''})`) : '';
  $('h-metrics-label').textContent = metricsPeriod === 'last24h' ? 'Last 24 h' : 'Today';
  for (const b of document.querySelectorAll('#metrics-period button')) b.setAttribute('aria-pressed', String(b.dataset.period === metricsPeriod));
  $('metrics').replaceChildren(
    ...METRIC_ROWS.map((m) => {
      const v = metrics ? metrics[m.key] : undefined;
      const text = v === null || v === undefined ? '–' : m.unit === 'min' ? formatDuration(v * 60000) : String(v);
      const def = defs[m.key] || m.def;
      return el(
        'div',
        { className: 'metric', dataset: { metric: m.key }, attrs: { title: def } },
        el('dt', {}, m.label, el('span', { className: 'info', text: ' ℹ', attrs: { 'aria-label': `definition: ${def}` } })),
        el('dd', { text }),
        el('span', { className: 'metric-def', text: def }),
      );
    }),
  );
  $('metrics-note').hidden = metricsState === 'ok' || metricsState === 'loading';
  if (metricsState === 'missing') $('metrics-note').textContent = 'This server has no metrics route yet (GET /departments/{id}/metrics): the figures appear once it does.';
  $('arrivals-plot').replaceChildren(arrivalsPlot(metrics));
}

// Arrivals per hour today (bars) against the same weekday's average (line), SVG by the page.
function arrivalsPlot(m) {
  const NS = 'http://www.w3.org/2000/svg';
  const s = (tag, attrs = {}, text) => {
    const n = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
    if (text !== undefined) n.textContent = text;
    return n;
  };
  const W = 560;
  const H = 190;
  const L = 30;
  const B = 22;
  const T = 22;
  const today = m && Array.isArray(m.arrivals_by_hour) ? m.arrivals_by_hour : null;
  const avg = m && Array.isArray(m.weekday_average_by_hour) ? m.weekday_average_by_hour : null;
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, width: '100%', role: 'img', 'aria-label': 'arrivals per hour today against the same weekday average', class: 'arrivals-svg' });
  const max = Math.max(4, ...(today || []), ...(avg || []).map((x) => Math.ceil(x)));
  const bw = (W - L - 6) / 24;
  const y = (v) => T + (H - T - B) * (1 - v / max);
  for (let v = 0; v <= max; v += Math.max(1, Math.ceil(max / 4))) {
    svg.append(s('line', { x1: L, x2: W - 6, y1: y(v), y2: y(v), stroke: '#d5d8dc', 'stroke-width': 1 }));
    svg.append(s('text', { x: L - 4, y: y(v) + 4, 'font-size': 11, 'text-anchor': 'end', fill: '#3a3a3a' }, String(v)));
  }
  const nowHour = new Date().getHours();
  if (today)
    today.forEach((v, h) => {
      const r = s('rect', { x: L + h * bw + 2, y: y(v), width: bw - 4, height: Math.max(0, y(0) - y(v)), fill: h === nowHour ? '#0b4f9c' : '#6f9fd8', class: 'bar' });
      r.append(s('title', {}, `${String(h).padStart(2, '0')}:00 ${v} arrivals${avg ? `, average ${Number(avg[h]).toFixed(1)}` : ''}`));
      svg.append(r);
    });
  if (avg) {
    svg.append(s('polyline', { points: avg.map((v, h) => `${(L + h * bw + bw / 2).toFixed(1)},${y(v).toFixed(1)}`).join(' '), fill: 'none', stroke: '#111', 'stroke-width': 2.5, 'stroke-dasharray': '6 4' }));
  }
  for (let h = 0; h < 24; h += 3) svg.append(s('text', { x: L + h * bw + bw / 2, y: H - 6, 'font-size': 11, 'text-anchor': 'middle', fill: '#3a3a3a' }, `${String(h).padStart(2, '0')}`));
  svg.append(s('rect', { x: L + 4, y: 4, width: 12, height: 10, fill: '#6f9fd8' }));
  svg.append(s('text', { x: L + 20, y: 13, 'font-size': 12, fill: '#111' }, 'arrivals today (per hour)'));
  svg.append(s('line', { x1: L + 200, x2: L + 226, y1: 9, y2: 9, stroke: '#111', 'stroke-width': 2.5, 'stroke-dasharray': '6 4' }));
  svg.append(s('text', { x: L + 232, y: 13, 'font-size': 12, fill: '#111' }, 'same weekday, average'));
  if (!today) svg.append(s('text', { x: W / 2, y: H / 2, 'font-size': 14, 'text-anchor': 'middle', fill: '#5c5c5c' }, 'no arrivals data from the server'));
  return svg;
}

// ---- thresholds ----

async function loadThresholds() {
  const res = await apiGet(`/departments/${departmentId}/alert-thresholds`);
  if (res.ok && res.data && typeof res.data === 'object') {
    thresholds = { ...res.data };
    thresholdsFromServer = true;
  }
  fillThresholds();
  renderAlerts();
}

function fillThresholds() {
  $('th-waiting').value = thresholds.waiting_longest_min ?? '';
  $('th-boarder').value = thresholds.boarder_min ?? '';
  $('th-esi12').checked = Boolean(thresholds.esi12_unassigned);
  const hasNurse = 'nurse_patients_max' in thresholds;
  $('th-nurse').value = hasNurse ? thresholds.nurse_patients_max ?? '' : '';
  for (const node of [$('th-nurse'), $('th-nurse').closest('span'), document.querySelector('label[for="th-nurse"]')]) node.hidden = !hasNurse;
  const editable = isCharge();
  for (const node of $('thresholds').querySelectorAll('input, button')) node.disabled = !editable;
  const setBy = thresholds.updated_by ? `Set by ${thresholds.updated_by}${thresholds.updated_at ? ` at ${hhmm(new Date(thresholds.updated_at))}` : ''}. ` : '';
  $('th-result').textContent = !editable
    ? `${setBy}The charge nurse sets these.`
    : thresholdsFromServer
      ? setBy
      : 'Not saved on this server (no threshold route yet): changes apply to this screen only.';
}

$('thresholds').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const next = { ...thresholds };
  const num = (id) => positiveInt($(id).value);
  next.waiting_longest_min = num('th-waiting');
  next.boarder_min = num('th-boarder');
  next.esi12_unassigned = $('th-esi12').checked;
  if ('nurse_patients_max' in thresholds) next.nurse_patients_max = num('th-nurse');
  for (const [k, id] of [['waiting_longest_min', 'th-waiting'], ['boarder_min', 'th-boarder']])
    if (!next[k]) {
      $('th-result').textContent = 'Enter whole minutes (1 or more).';
      $(id).focus();
      return;
    }
  if (!thresholdsFromServer) {
    thresholds = next;
    $('th-result').textContent = `Applied on this screen at ${hhmm(new Date())} (not saved on the server).`;
    renderAll();
    return;
  }
  // The schema takes exactly the three thresholds (the answer adds who changed them and when).
  const res = await apiPut(`/departments/${departmentId}/alert-thresholds`, {
    waiting_longest_min: next.waiting_longest_min,
    boarder_min: next.boarder_min,
    esi12_unassigned: next.esi12_unassigned,
  });
  if (res.ok) {
    const answer = res.data && (res.data.alert_thresholds || res.data);
    thresholds = answer && typeof answer === 'object' && Number.isInteger(answer.waiting_longest_min) ? { ...next, ...answer } : next;
    $('th-result').textContent = `Saved at ${hhmm(new Date())}.`;
    renderAll();
  } else $('th-result').textContent = `Not saved: ${res.error.field ? `${res.error.field}: ` : ''}${res.error.message}.`;
});

// ---- live ----

function renderAll() {
  renderCounts();
  renderAlerts();
  renderBeds();
  renderPatients();
}

function takeThresholds(t) {
  if (!t || typeof t !== 'object') return;
  thresholds = { ...thresholds, ...t };
  thresholdsFromServer = true;
  if (!$('thresholds').contains(document.activeElement)) fillThresholds();
}

function applySnapshot(msg) {
  board = fromSnapshot(msg);
  rows.clear();
  for (const r of board.encounters) rows.set(r.encounter_id, r);
  beds = new Map(board.beds.map((b) => [b.id, b]));
  staff = Array.isArray(board.staff) ? board.staff : [];
  if (board.department) $('dept-name').textContent = board.department.name;
  takeThresholds(board.alert_thresholds);
  lwbsToday = Number.isInteger(board.lwbs_today) ? board.lwbs_today : null;
  for (const id of ['counts', 'census-grid']) $(id).hidden = false;
  $('arrival-panel').hidden = !can(session, 'arrival.create');
  renderAll();
  main.dataset.seq = String(board.seq);
}

// An event (board_model.applyEvent; one it cannot apply throws, and live.js fetches a new
// snapshot): what it changed is taken from the board.
function applyEvent(msg) {
  board = applyBoardEvent(board, msg);
  const payload = msg.payload;
  const row = eventRow(msg);
  if (Array.isArray(payload.beds)) for (const b of payload.beds) beds.set(b.id, board.beds.find((x) => x.id === b.id));
  if (payload.alert_thresholds) takeThresholds(board.alert_thresholds);
  if (row) {
    const now = findRow(board, row.encounter_id);
    if (now) rows.set(row.encounter_id, now);
    else {
      rows.delete(row.encounter_id);
      if (moving === row.encounter_id) moving = null;
    }
  }
  // Left without being seen today: the LWBS count follows live.
  lwbsToday = Number.isInteger(board.lwbs_today) ? board.lwbs_today : null;
  renderAll();
  main.dataset.seq = String(board.seq);
  metricsSoon();
}

function clearAll() {
  board = emptyBoard();
  rows.clear();
  beds = new Map();
  staff = [];
  for (const id of ['counts', 'census-grid', 'alerts', 'arrival-panel']) $(id).hidden = true;
  main.dataset.seq = '0';
}

function init() {
  setInterval(() => {
    if (rows.size) {
      renderCounts();
      renderAlerts();
    }
  }, 30000);
  start();
}

async function start() {
  session = await startSession({ onWait: showMessage });
  fitHeader();
  const refusal = noAccessText(session, 'chart.read');
  if (refusal) {
    clearAll();
    showMessage(refusal.replace('does not read charts', 'does not use the census'), { info: true });
    showRefused('no census here');
    return;
  }
  const requested = positiveInt(param('department'));
  const r = pickDepartment(session, requested);
  if (r.error) {
    clearAll();
    showMessage(r.error.message);
    showRefused('no census here');
    return;
  }
  departmentId = r.department.id;
  $('dept-name').textContent = r.department.name;
  showNav(departmentId, (action) => can(session, action));
  if (!isCharge()) showMessage('Read-only here: bed moves, assignments of others and thresholds are the charge nurse’s.', { info: true });
  if (can(session, 'arrival.create')) mountArrival($('arrival-host'), { departmentId });
  renderMetrics();
  loadMetrics();
  loadThresholds();
  live = followBoard(departmentId, { onSnapshot: applySnapshot, onEvent: applyEvent, onRefused: clearAll });
}

init();
