// SPDX-License-Identifier: MIT
// board_model.js: the one model of a department's board on the pages (board, census, bedside,
// wall). Pure functions, no DOM: a board is the hub's snapshot `board` object (proto/ws
// hub.snapshot.json: seq, department, beds, staff, alert_thresholds, lwbs_today, encounters in
// id order), and applyEvent brings it forward with one event frame exactly as the server's
// next snapshot would show it. ed-hub does the same in C (services/hub/hub_board.c,
// hub_board_apply); both are driven by the table proto/fixtures/board_events.json
// (web/tests/board_model.test.mjs, services/hub/tests/test_hub_board.c).
//
//   board = fromSnapshot(msg)           // msg: the hub's snapshot frame
//   board = applyEvent(board, msg)      // msg: an in-order event frame; a new object
//   activeRows(board).sort(compareRows)
//
// An event that says too little to apply exactly (an event of an unknown kind, a bed the board
// does not hold) throws StaleBoardError: the page's onEvent throws, and live.js starts over
// from a fresh snapshot.

export class StaleBoardError extends Error {
  constructor(message) {
    super(message);
    this.name = 'StaleBoardError';
  }
}

// The statuses that end an encounter: off every board, no more changes (entered_in_error: a
// registration withdrawn, HL7 A11). An ended encounter may come back (encounter.reopened).
export const ENDED_STATUSES = ['departed', 'left_without_being_seen', 'entered_in_error'];

export function isEnded(status) {
  return ENDED_STATUSES.includes(status);
}

// A row on the board: not ended.
export function isActive(row) {
  return Boolean(row) && !isEnded(row.status);
}

// Bed areas in the order the screens list them (SQL area_rank).
export const AREA_ORDER = ['resus', 'acute', 'fast_track', 'hallway', 'waiting_room'];

// Sort key: bed area order, then bed label (natural: A2 before A10); no bed last.
export function compareRows(a, b) {
  const ai = a.bed ? AREA_ORDER.indexOf(a.bed.area) : AREA_ORDER.length;
  const bi = b.bed ? AREA_ORDER.indexOf(b.bed.area) : AREA_ORDER.length;
  if (ai !== bi) return (ai < 0 ? 99 : ai) - (bi < 0 ? 99 : bi);
  const al = a.bed ? a.bed.label : '';
  const bl = b.bed ? b.bed.label : '';
  const c = al.localeCompare(bl, undefined, { numeric: true, sensitivity: 'base' });
  if (c) return c;
  const at = Date.parse(a.arrived_at) || 0;
  const bt = Date.parse(b.arrived_at) || 0;
  return at - bt || a.encounter_id - b.encounter_id;
}

// Sort key of the public wall: arrival, then id.
export function compareArrival(a, b) {
  return String(a.arrived_at).localeCompare(String(b.arrived_at)) || a.encounter_id - b.encounter_id;
}

// The board of a snapshot frame: the hub's board with the frame's seq; only active rows.
export function fromSnapshot(msg) {
  const board = msg.board || {};
  return {
    ...board,
    seq: Number.isInteger(msg.seq) ? msg.seq : board.seq,
    encounters: (board.encounters || []).filter(isActive),
    beds: Array.isArray(board.beds) ? board.beds : [],
  };
}

// An empty board (before the first snapshot, or after the server refused it).
export function emptyBoard() {
  return { seq: 0, encounters: [], beds: [] };
}

export function activeRows(board) {
  return board.encounters.filter(isActive);
}

export function findRow(board, encounterId) {
  return board.encounters.find((r) => r.encounter_id === encounterId) || null;
}

// The encounter row an event frame carries, or null.
export function eventRow(msg) {
  const row = msg && msg.payload && msg.payload.encounter;
  return row && typeof row === 'object' && !Array.isArray(row) ? row : null;
}

// The event's row replaces the board's (kept in id order) or takes it off the board. Only this
// row: a change it makes to another row's similar_name comes as that row's own
// encounter.similar_name event, in the same transaction, right after (proto/README.md).
function applyRow(board, departmentId, row) {
  const id = row.encounter_id;
  if (!Number.isInteger(id) || id < 1 || typeof row.status !== 'string') throw new StaleBoardError('event row without id or status');
  const held = board.encounters.some((r) => r.encounter_id === id);
  const encounters = board.encounters.filter((r) => r.encounter_id !== id);
  const onBoard = isActive(row) && row.department_id === departmentId;
  if (onBoard) {
    const at = encounters.findIndex((r) => r.encounter_id > id);
    encounters.splice(at < 0 ? encounters.length : at, 0, row);
  }
  const next = { ...board, encounters };
  // lwbs_today counts today's patients who left without being seen.
  if (!onBoard && held && row.status === 'left_without_being_seen' && Number.isInteger(board.lwbs_today))
    next.lwbs_today = board.lwbs_today + 1;
  return next;
}

// Beds in the event replace the board's by id; a bed the board does not hold has a place in the
// list only PostgreSQL can say (area, sort order).
function applyBeds(board, beds) {
  const list = [...board.beds];
  for (const bed of beds) {
    const at = bed && Number.isInteger(bed.id) ? list.findIndex((b) => b.id === bed.id) : -1;
    if (at < 0) throw new StaleBoardError(`bed ${bed && bed.id} is not on the board`);
    list[at] = bed;
  }
  return { ...board, beds: list };
}

// The board after the event frame msg (a new object; board is not changed). An event at or
// below the board's seq is already in it: the board is returned as it is.
export function applyEvent(board, msg) {
  if (!msg || !Number.isInteger(msg.seq)) throw new StaleBoardError('event without seq');
  if (Number.isInteger(board.seq) && msg.seq <= board.seq) return board;
  const payload = msg.payload && typeof msg.payload === 'object' ? msg.payload : null;
  const row = eventRow(msg);
  const beds = payload && payload.beds;
  const thresholds = payload && payload.alert_thresholds;
  const lwbsToday = payload && payload.lwbs_today;
  if (!payload || (!row && beds === undefined && thresholds === undefined))
    throw new StaleBoardError(msg.encounter_id === null ? `department event ${msg.event} changes nothing known` : 'event without encounter');
  let next = board;
  if (payload.encounter !== undefined) {
    if (!row) throw new StaleBoardError('event encounter is not a row');
    next = applyRow(next, msg.department_id, row);
  }
  if (beds !== undefined) {
    if (!Array.isArray(beds)) throw new StaleBoardError('event beds is not a list');
    next = applyBeds(next, beds);
  }
  if (thresholds !== undefined) {
    if (!thresholds || typeof thresholds !== 'object' || Array.isArray(thresholds)) throw new StaleBoardError('event thresholds is not an object');
    next = { ...next, alert_thresholds: thresholds };
  }
  // An event that changes the count says what it is now (encounter.reopened).
  if (lwbsToday !== undefined) {
    if (!Number.isInteger(lwbsToday)) throw new StaleBoardError('event lwbs_today is not a count');
    next = { ...next, lwbs_today: lwbsToday };
  }
  return next === board ? { ...board, seq: msg.seq } : { ...next, seq: msg.seq };
}
