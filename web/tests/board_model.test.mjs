// board_model.test.mjs: web/js/board_model.js against the shared table of (board, event) ->
// expected board in proto/fixtures/board_events.json, the same table services/hub/tests/
// test_hub_board.c runs through ed-hub's hub_board_apply. No browser, no services.
//
// Run: node --test web/tests/board_model.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { applyEvent, fromSnapshot, activeRows, compareRows, isActive, isEnded, StaleBoardError } from '../js/board_model.js';

const table = JSON.parse(readFileSync(new URL('../../proto/fixtures/board_events.json', import.meta.url), 'utf8'));

for (const c of table.cases) {
  test(c.name, () => {
    const before = structuredClone(c.board);
    if (c.expected === 'stale') {
      assert.throws(() => applyEvent(c.board, c.event), StaleBoardError);
    } else {
      const after = applyEvent(c.board, c.event);
      assert.deepEqual(after, c.expected);
      // Applying the same event again changes nothing (its seq is in the board now).
      assert.deepEqual(applyEvent(after, c.event), c.expected);
    }
    assert.deepEqual(c.board, before, 'applyEvent must not change the board it was given');
  });
}

test('the table covers every kind of case the brief of issue 10 lists', () => {
  const kinds = table.cases.map((c) => c.event.event);
  for (const k of ['encounter.arrived', 'vitals.recorded', 'encounter.departed', 'encounter.status_changed', 'encounter.bed_assigned', 'bed.status', 'department.alert_thresholds'])
    assert.ok(kinds.includes(k), k);
  assert.ok(table.cases.some((c) => c.expected === 'stale'));
  assert.ok(table.cases.some((c) => c.hub === 'stale'));
});

test('the table covers the withdrawals of HL7 A11 and A13 (issue 11)', () => {
  const kinds = table.cases.map((c) => c.event.event);
  for (const k of ['encounter.disposition_cancelled', 'encounter.entered_in_error', 'encounter.reopened'])
    assert.ok(kinds.includes(k), k);
  assert.ok(table.cases.some((c) => c.event.event === 'encounter.reopened' && Number.isInteger(c.event.payload.lwbs_today) && c.expected.lwbs_today === c.event.payload.lwbs_today));
});

test('cross-row effects come as events: every other row a case\'s event changes follows in an encounter.similar_name case', () => {
  // applyEvent changes only the event's own row; the next case applies the other row's event.
  const follow = table.cases.filter((c) => c.event.event === 'encounter.similar_name');
  assert.ok(follow.length > 0);
  for (const c of follow) {
    const row = c.event.payload.encounter;
    const held = c.board.encounters.find((r) => r.encounter_id === row.encounter_id);
    assert.ok(held, `${c.name}: the row is on the board`);
    assert.equal(row.version, held.version + 1, `${c.name}: its version is bumped`);
    assert.notDeepEqual(row.similar_name, held.similar_name, `${c.name}: its list changes`);
    assert.equal(c.event.topic, 'board');
  }
});

test('every event frame of the table has its envelope first, in the order event_frame() writes it', () => {
  const order = ['type', 'topic', 'department_id', 'seq', 'encounter_id', 'version', 'event', 'at', 'payload'];
  for (const c of table.cases) {
    assert.deepEqual(Object.keys(c.event), order, c.name);
    assert.match(c.event.at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, `${c.name}: at in milliseconds`);
  }
});

test('entered_in_error ends a row like departed and left_without_being_seen', () => {
  for (const s of ['departed', 'left_without_being_seen', 'entered_in_error']) {
    assert.ok(isEnded(s), s);
    assert.ok(!isActive({ status: s }), s);
  }
  for (const s of ['waiting', 'in_room', 'seen_by_provider', 'disposition_decided']) assert.ok(isActive({ status: s }), s);
});

test('fromSnapshot keeps the frame seq and only active rows', () => {
  const board = table.cases[0].board;
  const gone = { ...board.encounters[0], status: 'departed' };
  const b = fromSnapshot({ type: 'snapshot', seq: 40, board: { ...board, seq: 40, encounters: [gone, ...board.encounters.slice(1)] } });
  assert.equal(b.seq, 40);
  assert.deepEqual(b.encounters.map((r) => r.encounter_id), [17, 19]);
});

test('compareRows: area order, then bed label (natural), no bed last', () => {
  const board = table.cases[0].board;
  assert.deepEqual(activeRows(board).sort(compareRows).map((r) => r.encounter_id), [19, 12, 17]);
  const a = (label, id) => ({ encounter_id: id, bed: { label, area: 'acute' }, arrived_at: '2026-11-25T08:00:00Z' });
  assert.deepEqual([a('A10', 1), a('A2', 2)].sort(compareRows).map((r) => r.encounter_id), [2, 1]);
});
