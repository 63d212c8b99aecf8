// Bed turnover (proto/README.md "Beds"): a bed or hallway space a patient leaves needs cleaning
// before the next patient. Moving out of it, a departure and a status that ends the encounter
// all set it to "cleaning" from the time it was vacated, in the same transaction; the event of
// that change carries the bed in its new state (so census screens follow live, through ed-hub),
// the board agrees, a move into it is refused (409 naming bed_id, nothing written) until a
// nurse marks it clean, and then it takes the next patient. Waiting-room spaces are not cleaned.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { requireEnv } from './lib/env.mjs';
import { signedIn, sql } from './lib/client.mjs';
import { LiveBoard } from './lib/live_client.mjs';

const env = requireEnv('EDLIVE_API_URL', 'EDLIVE_WS_URL', 'EDLIVE_PG_OWNER');
const OWNER = env.EDLIVE_PG_OWNER;
const ctx = { created: [] };
let serial = Date.now() % 1e7;
const minutesAgo = (m) => new Date(Date.now() - m * 60000).toISOString().replace(/\.\d{3}Z$/, 'Z');
const count = (table) => Number(sql(OWNER, `SELECT count(*) FROM ${table}`));

async function ok(res, what, status) {
  assert.ok(status ? res.status === status : res.status < 300, `${what}: ${res.status} ${res.text}`);
  return res.json;
}

async function arrive(minutes = 60) {
  const body = {
    patient: { mrn: `BT-${serial++}`, family_name: 'Turnover', given_name: 'Bea', birth_date: '1971-04-05', sex: 'female' },
    arrival_mode: 'walk_in', chief_complaint: 'bed turnover test', arrived_at: minutesAgo(minutes),
  };
  const enc = (await ok(await ctx.charge.post(`/departments/${ctx.demo}/arrivals`, body), 'arrival', 201)).encounter.encounter_id;
  ctx.created.push(enc);
  return enc;
}

const boardBed = async (id) => (await ctx.charge.get(`/departments/${ctx.demo}/board`)).json.beds.find((b) => b.id === id);

// A clean, empty treatment space (not hallway, not waiting room): a free one, or else one
// waiting to be cleaned, which a nurse cleans first (the demo ED is nearly full).
async function usableBed() {
  const beds = (await ctx.charge.get(`/departments/${ctx.demo}/board`)).json.beds
    .filter((b) => !['waiting_room', 'hallway'].includes(b.area));
  const free = beds.find((b) => b.status === 'free');
  if (free) return free;
  const dirty = beds.find((b) => b.status === 'cleaning');
  assert.ok(dirty, 'the demo ED has no bed free or being cleaned');
  return (await ok(await ctx.nurse.post(`/beds/${dirty.id}/status`, { status: 'free' }), 'clean a bed first')).beds[0];
}

// The bed of one event's payload.beds, by id.
const bedIn = (payload, id) => (payload.beds || []).find((b) => b.id === id);

// The event as ed-hub forwards it: event_frame() of the committed event.
const frame = (seq) => JSON.parse(sql(OWNER, `SELECT event_frame(${ctx.demo}, ${seq})`));

before(async () => {
  ctx.demo = Number(sql(OWNER, "SELECT id FROM department WHERE code = 'DEMO'"));
  ctx.charge = await signedIn('adeyemi');
  ctx.nurse = await signedIn('patel');
  ctx.doctor = await signedIn('dr.lopez');
  ctx.live = new LiveBoard(env.EDLIVE_WS_URL, ctx.demo, ctx.charge.token);
  await ctx.live.connect();
});

after(async () => {
  ctx.live?.close();
  // Leave the Demo ED as found: the test patients leave, their beds are cleaned.
  for (const id of ctx.created) {
    const res = await ctx.charge.post(`/encounters/${id}/status`, { status: 'departed' });
    for (const b of (res.json && res.json.beds) || []) {
      if (b.status === 'cleaning') await ctx.nurse.post(`/beds/${b.id}/status`, { status: 'free' });
    }
  }
});

test('a move out leaves the bed needing cleaning: in the reply, the event, the live board and the board; refused until cleaned, then reused', async () => {
  const x = await usableBed();
  const a = await arrive();
  const b = await arrive();
  const t1 = minutesAgo(30);
  const t2 = minutesAgo(10);
  const inX = await ok(await ctx.charge.post(`/encounters/${a}/bed`, { bed_id: x.id, at: t1 }), 'into X');
  assert.equal(bedIn(inX, x.id).status, 'occupied');

  // To the hallway: the bed left needs cleaning from the time of the move.
  const out = await ok(await ctx.charge.post(`/encounters/${a}/bed`, { bed_id: null, area: 'hallway', at: t2 }), 'X to the hallway');
  const space = out.encounter.bed;
  assert.equal(space.area, 'hallway');
  assert.deepEqual(bedIn(out, x.id), { id: x.id, label: x.label, area: x.area, status: 'cleaning', cleaning_since: t2 },
    'the bed left needs cleaning from the time of the move');
  assert.equal(bedIn(out, space.id).status, 'occupied');
  const ev = frame(out.seq);
  assert.equal(ev.event, 'encounter.bed_assigned');
  assert.deepEqual(bedIn(ev.payload, x.id), bedIn(out, x.id), 'the event carries the vacated bed');
  await ctx.live.waitFor(() => ctx.live.seq >= out.seq, 8000, `the live board to reach seq ${out.seq}`);
  assert.ok(ctx.live.applied.includes(out.seq), 'the event itself reached the live board');
  assert.equal(ctx.live.beds.get(x.id).status, 'cleaning', 'live: the bed is being cleaned');
  assert.deepEqual(await boardBed(x.id), bedIn(out, x.id), 'the board agrees');

  // Nobody is put in a bed that needs cleaning: 409 naming bed_id, nothing written.
  const before = ['event', 'encounter_location'].map(count);
  const refused = await ctx.charge.post(`/encounters/${b}/bed`, { bed_id: x.id });
  assert.equal(refused.status, 409, refused.text);
  assert.equal(refused.json.error.code, 'conflict');
  assert.equal(refused.json.error.field, 'bed_id');
  assert.match(refused.json.error.message, /clean/);
  assert.deepEqual(['event', 'encounter_location'].map(count), before, 'nothing is written');

  // Environmental services mark it clean; then it takes the next patient.
  const clean = await ok(await ctx.nurse.post(`/beds/${x.id}/status`, { status: 'free' }), 'clean X');
  assert.deepEqual(clean.beds, [{ id: x.id, label: x.label, area: x.area, status: 'free', cleaning_since: null }]);
  await ctx.live.waitFor(() => ctx.live.beds.get(x.id).status === 'free', 8000, 'live: the bed clean');
  const reused = await ok(await ctx.charge.post(`/encounters/${b}/bed`, { bed_id: x.id }), 'B into X');
  assert.equal(reused.encounter.bed.id, x.id);
  assert.equal(bedIn(reused, x.id).status, 'occupied');
  assert.equal((await boardBed(x.id)).status, 'occupied');

  // Back to the waiting room: the hallway space needs cleaning too.
  const back = await ok(await ctx.charge.post(`/encounters/${a}/bed`, { bed_id: null }), 'hallway to the waiting room');
  assert.equal(back.encounter.bed, null);
  assert.equal(bedIn(back, space.id).status, 'cleaning');
  assert.equal((await boardBed(space.id)).status, 'cleaning');
  await ok(await ctx.nurse.post(`/beds/${space.id}/status`, { status: 'free' }), 'clean the hallway space');
});

test('a departure leaves the bed needing cleaning from the departure time', async () => {
  const x = await usableBed();
  const a = await arrive(120);
  await ok(await ctx.charge.post(`/encounters/${a}/bed`, { bed_id: x.id, at: minutesAgo(100) }), 'into X');
  await ok(await ctx.doctor.post(`/encounters/${a}/disposition`, { kind: 'discharge', decided_at: minutesAgo(30) }), 'discharge');
  const departedAt = minutesAgo(5);
  const left = await ok(await ctx.nurse.post(`/encounters/${a}/departure`, { departed_at: departedAt }), 'departure');
  assert.equal(left.encounter.status, 'departed');
  assert.deepEqual(bedIn(left, x.id), { id: x.id, label: x.label, area: x.area, status: 'cleaning', cleaning_since: departedAt });
  const ev = frame(left.seq);
  assert.equal(ev.event, 'encounter.departed');
  assert.deepEqual(bedIn(ev.payload, x.id), bedIn(left, x.id), 'the event carries the vacated bed');
  await ctx.live.waitFor(() => ctx.live.seq >= left.seq, 8000, `the live board to reach seq ${left.seq}`);
  assert.equal(ctx.live.beds.get(x.id).status, 'cleaning');
  assert.ok(!ctx.live.rows.has(a), 'the patient left the live board');
  assert.deepEqual(await boardBed(x.id), bedIn(left, x.id), 'the board agrees');
  const b = await arrive();
  const refused = await ctx.charge.post(`/encounters/${b}/bed`, { bed_id: x.id });
  assert.equal(refused.status, 409, refused.text);
  assert.equal(refused.json.error.field, 'bed_id');
  await ok(await ctx.nurse.post(`/beds/${x.id}/status`, { status: 'free' }), 'clean X');
  await ok(await ctx.charge.post(`/encounters/${b}/bed`, { bed_id: x.id }), 'B into X after cleaning');
});

test('leaving without being seen from a hallway space (status route) needs it cleaned; a waiting-room space does not', async () => {
  const a = await arrive();
  const hall = await ok(await ctx.charge.post(`/encounters/${a}/bed`, { bed_id: null, area: 'hallway' }), 'hallway');
  const space = hall.encounter.bed;
  assert.equal(space.area, 'hallway');
  const gone = await ok(await ctx.charge.post(`/encounters/${a}/status`, { status: 'left_without_being_seen' }), 'lwbs');
  assert.equal(gone.encounter.status, 'left_without_being_seen');
  const bed = bedIn(gone, space.id);
  assert.equal(bed.status, 'cleaning');
  assert.equal(bed.cleaning_since, gone.encounter.departed_at);
  assert.equal(frame(gone.seq).event, 'encounter.status_changed');
  assert.deepEqual(bedIn(frame(gone.seq).payload, space.id), bed);
  assert.equal((await boardBed(space.id)).status, 'cleaning');
  await ok(await ctx.nurse.post(`/beds/${space.id}/status`, { status: 'free' }), 'clean the hallway space');

  const wr = (await ctx.charge.get(`/departments/${ctx.demo}/board`)).json.beds
    .find((b) => b.area === 'waiting_room' && b.status === 'free');
  if (!wr) return;
  const w = await arrive();
  await ok(await ctx.charge.post(`/encounters/${w}/bed`, { bed_id: wr.id }), 'into the waiting-room space');
  const back = await ok(await ctx.charge.post(`/encounters/${w}/bed`, { bed_id: null }), 'out of it');
  assert.equal(bedIn(back, wr.id).status, 'free', 'a waiting-room space is not cleaned');
});
