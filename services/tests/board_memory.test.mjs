// The hub keeps each department's board in memory at a known seq (proto/GUARANTEES.md §2):
// read once from PostgreSQL, then brought forward with the events themselves. After every
// kind of change a screen can make (arrivals with alike names, triage, assignment, a move,
// vitals, a note, orders, comment, isolation, bed cleaning, thresholds, disposition and a
// departure) a new subscriber's snapshot is served without reading the board again, and it
// equals the board PostgreSQL gives at that seq, row for row. A patient who leaves without
// being seen changes the day's LWBS count, which no event states: that snapshot is read afresh.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { requireEnv } from './lib/env.mjs';
import { signedIn, sql, openSocket } from './lib/client.mjs';

const env = requireEnv('EDLIVE_API_URL', 'EDLIVE_HUB_URL', 'EDLIVE_PG_OWNER', 'EDLIVE_LOGS');
const OWNER = env.EDLIVE_PG_OWNER;
const ctx = { sockets: [], created: [], beds: null };
let serial = Date.now() % 1e7;

const hubLog = () => fs.readFileSync(path.join(env.EDLIVE_LOGS, 'hub.log'), 'utf8');
const boardReads = (dept) => hubLog().split('\n').filter((l) => l.includes(`board snapshot of dept ${dept} read from PostgreSQL`)).length;
const pgBoard = (dept) => JSON.parse(sql(OWNER, `SELECT board_json(${Number(dept)})::text`));

async function ok(res, what) {
  assert.ok(res.status < 300, `${what}: ${res.status} ${res.text}`);
  return res.json;
}

// A fresh subscriber's snapshot of the board.
async function snapshot(dept) {
  const s = await openSocket(ctx.charge.token);
  ctx.sockets.push(s);
  s.subscribe('board', dept, 0);
  return s.waitFor((f) => f.type === 'snapshot', 'a board snapshot', 10000);
}

// Waits until the first socket has the event of seq, so the hub's ring holds it.
async function delivered(seq) {
  await ctx.watcher.waitFor((f) => f.type === 'event' && f.seq >= seq, `the event of seq ${seq}`, 10000);
}

// The encounter.similar_name event of encounter id that follows the write of seq (the next seq:
// same transaction, under the department's seq lock), as the board subscriber got it.
async function sameTransactionEvent(seq, id) {
  const f = await ctx.watcher.waitFor((x) => x.type === 'event' && x.seq === seq + 1, `the event after seq ${seq}`, 10000);
  assert.equal(f.event, 'encounter.similar_name');
  assert.equal(f.encounter_id, id);
  assert.equal(f.topic, 'board');
  assert.equal(f.version, f.payload.encounter.version);
  return f;
}

async function arrive(family, given) {
  const body = {
    patient: { mrn: `BM-${serial++}`, family_name: family, given_name: given, birth_date: '1959-07-14', sex: 'male' },
    arrival_mode: 'walk_in', chief_complaint: 'board memory test',
  };
  const r = await ok(await ctx.charge.post(`/departments/${ctx.dept}/arrivals`, body), 'arrival');
  ctx.created.push(r.encounter.encounter_id);
  return r;
}

before(async () => {
  ctx.dept = Number(sql(OWNER, "SELECT id FROM department WHERE code = 'DEMO'"));
  ctx.charge = await signedIn('adeyemi');
  ctx.nurse = await signedIn('patel');
  ctx.doctor = await signedIn('dr.lopez');
  ctx.watcher = await openSocket(ctx.charge.token);
  ctx.sockets.push(ctx.watcher);
  ctx.watcher.subscribe('board', ctx.dept, 0);
  await ctx.watcher.waitFor((f) => f.type === 'snapshot', 'the first snapshot');
});

after(async () => {
  for (const s of ctx.sockets) s.close();
  for (const id of ctx.created) await ctx.charge.post(`/encounters/${id}/status`, { status: 'departed' });
  for (const bed of ctx.beds || []) await ctx.charge.post(`/beds/${bed.id}/status`, { status: 'free' });
  if (ctx.spare) await ctx.charge.post(`/beds/${ctx.spare.id}/status`, { status: ctx.spare.status });
  await ctx.charge.req('PUT', `/departments/${ctx.dept}/alert-thresholds`, { waiting_longest_min: 60, boarder_min: 240, esi12_unassigned: true });
});

test('after every kind of change, a new snapshot comes from memory and equals PostgreSQL\'s board', async () => {
  const first = await arrive('Hadad', 'Samir');
  const second = await arrive('Haddad', 'Sami'); // alike names: both rows list each other
  assert.deepEqual(second.encounter.similar_name, [first.encounter.encounter_id]);
  const a = first.encounter.encounter_id;
  const b = second.encounter.encounter_id;
  // The first row's list changed too: its own event follows the arrival's, in the same
  // transaction (the department's next seq), so a screen that only applies events stays right.
  const listed = await sameTransactionEvent(second.seq, a);
  assert.deepEqual(listed.payload.encounter.similar_name, [b]);
  const board = (await ctx.charge.get(`/departments/${ctx.dept}/board`)).json;
  // A bed to move into (cleaned first when every bed waits for cleaning), and another
  // unoccupied one whose cleaning state is toggled.
  const beds = board.beds.filter((x) => x.area !== 'waiting_room');
  let bed = beds.find((x) => x.status === 'free' && x.area !== 'hallway');
  if (!bed) {
    bed = beds.find((x) => x.status === 'cleaning' && x.area !== 'hallway');
    assert.ok(bed, 'the demo ED has a bed that is free or can be cleaned');
    await ok(await ctx.charge.post(`/beds/${bed.id}/status`, { status: 'free' }), 'clean a bed');
  }
  const spare = beds.find((x) => x.id !== bed.id && x.status !== 'occupied');
  assert.ok(spare, 'a second unoccupied bed or hallway space');
  const spareAfter = spare.status === 'free' ? 'cleaning' : 'free';
  ctx.beds = [bed];
  ctx.spare = { id: spare.id, status: spare.status };
  const nurseId = board.staff.find((s) => s.role === 'nurse').id;
  let r = await ok(await ctx.nurse.post(`/encounters/${a}/triage`, { esi: 2, chief_complaint: 'chest pain' }), 'triage');
  const physicianId = board.staff.find((s) => s.role === 'physician').id;
  r = await ok(await ctx.charge.post(`/encounters/${a}/assignment`, { attending_id: physicianId, nurse_id: nurseId }, { 'if-match': `"${r.encounter.version}"` }), 'assignment');
  r = await ok(await ctx.charge.post(`/encounters/${a}/bed`, { bed_id: bed.id }), 'move');
  r = await ok(await ctx.nurse.post(`/encounters/${a}/vitals`, { taken_by: nurseId, heart_rate: 124, resp_rate: 24, systolic_bp: 96, diastolic_bp: 58, spo2: 93, temperature_c: 38.4, on_oxygen: false, consciousness: 'A' }), 'vitals');
  r = await ok(await ctx.nurse.post(`/encounters/${a}/notes`, { author_id: nurseId, text: 'Pain 7/10, settling.' }), 'note');
  const order = (await ok(await ctx.doctor.post(`/encounters/${a}/orders`, { kind: 'lab', name: 'Troponin I' }), 'order')).order;
  r = await ok(await ctx.nurse.post(`/orders/${order.id}/status`, { status: 'collected' }), 'collected');
  r = await ok(await ctx.nurse.post(`/encounters/${a}/comment`, { text: 'family in room' }), 'comment');
  r = await ok(await ctx.nurse.post(`/encounters/${a}/isolation`, { isolation: 'droplet' }), 'isolation');
  r = await ok(await ctx.charge.post(`/beds/${spare.id}/status`, { status: spareAfter }), 'bed cleaning state');
  r = await ok(await ctx.charge.req('PUT', `/departments/${ctx.dept}/alert-thresholds`, { waiting_longest_min: 45, boarder_min: 180, esi12_unassigned: true }), 'thresholds');
  r = await ok(await ctx.doctor.post(`/encounters/${b}/disposition`, { kind: 'discharge' }), 'disposition');
  r = await ok(await ctx.nurse.post(`/encounters/${b}/departure`, {}), 'departure'); // b leaves a's alike-name list
  const unlisted = await sameTransactionEvent(r.seq, a);
  assert.deepEqual(unlisted.payload.encounter.similar_name, []);
  r = unlisted; // the department's latest seq

  const reads = boardReads(ctx.dept);
  const snap = await snapshot(ctx.dept);
  assert.equal(boardReads(ctx.dept), reads, 'the snapshot was served without reading the board from PostgreSQL');
  assert.equal(snap.seq, r.seq, 'the snapshot is at the latest seq');
  const truth = pgBoard(ctx.dept);
  assert.equal(truth.seq, snap.seq, 'nothing was written meanwhile');
  assert.deepEqual(snap.board, truth, 'the board from memory equals PostgreSQL\'s');
  const row = snap.board.encounters.find((x) => x.encounter_id === a);
  assert.equal(row.esi, 2);
  assert.deepEqual(row.similar_name, [], 'the alike-named patient has left');
  assert.equal(snap.board.beds.find((x) => x.id === spare.id).status, spareAfter);
});

test('a patient leaving without being seen makes the next snapshot a fresh read, still equal', async () => {
  const { encounter } = await arrive('Lindqvist', 'Per');
  await ok(await ctx.nurse.post(`/encounters/${encounter.encounter_id}/disposition`, { kind: 'lwbs' }), 'lwbs');
  const r = await ok(await ctx.nurse.post(`/encounters/${encounter.encounter_id}/departure`, {}), 'lwbs departure');
  await delivered(r.seq);
  const reads = boardReads(ctx.dept);
  const snap = await snapshot(ctx.dept);
  assert.equal(boardReads(ctx.dept), reads + 1, 'the LWBS count is read from PostgreSQL');
  assert.deepEqual(snap.board, pgBoard(ctx.dept));
  const again = await snapshot(ctx.dept);
  assert.equal(boardReads(ctx.dept), reads + 1, 'and the next subscriber is served from memory');
  assert.equal(again.seq, snap.seq);
});

test('one frame serves both topics: a chart subscriber gets the board frame as "topic":"chart", byte for byte otherwise', async () => {
  const { encounter } = await arrive('Okonkwo', 'Chidi');
  const id = encounter.encounter_id;
  const s = await openSocket(ctx.charge.token);
  ctx.sockets.push(s);
  s.subscribe('board', ctx.dept, 0);
  await s.waitFor((f) => f.type === 'snapshot' && f.topic === 'board', 'the board snapshot');
  s.subscribe('chart', id, 0);
  await s.waitFor((f) => f.type === 'snapshot' && f.topic === 'chart', 'the chart snapshot');
  const r = await ok(await ctx.nurse.post(`/encounters/${id}/comment`, { text: 'topic check' }), 'comment');
  const copy = async (topic) => {
    const f = await s.waitFor((x) => x.type === 'event' && x.seq === r.seq && x.topic === topic, `the ${topic} copy of seq ${r.seq}`, 10000);
    return s.raw[s.frames.indexOf(f)];
  };
  const board = await copy('board');
  const chart = await copy('chart');
  // The envelope comes first, in the documented order, "at" in milliseconds.
  assert.match(board, /^\{"type":"event","topic":"board","department_id":\d+,"seq":\d+,"encounter_id":\d+,"version":\d+,"event":"encounter\.comment","at":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z","payload":\{/);
  assert.equal(chart, board.replace('"topic":"board"', '"topic":"chart"'));
  // The ring's frame was put back: a board subscriber that comes later still reads "board".
  const late = await openSocket(ctx.charge.token);
  ctx.sockets.push(late);
  late.subscribe('board', ctx.dept, r.seq - 1);
  const again = await late.waitFor((x) => x.type === 'event' && x.seq === r.seq, `seq ${r.seq} replayed`, 10000);
  assert.equal(late.raw[late.frames.indexOf(again)], board);
});
