// Issue 9, items 4 (times of triage and assignment), 7-9: clocks every visit counts in.
// Boarding starts at the first admit decision and a revised ward keeps it; a visit ended with
// no disposition records one (left_without_disposition) and counts in length of stay; eloped
// and other are dispositions; provider contact may be timed before the current bed move;
// metrics for the last 24 hours as well as the department's local day.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { requireEnv } from './lib/env.mjs';
import { signedIn, sql } from './lib/client.mjs';

const env = requireEnv('EDLIVE_API_URL', 'EDLIVE_PG_OWNER', 'EDLIVE_BUILD');
const OWNER = env.EDLIVE_PG_OWNER;
const ctx = { created: [] };
let serial = Date.now() % 1e7;
const minutesAgo = (m) => new Date(Date.now() - m * 60000).toISOString().replace(/\.\d{3}Z$/, 'Z');

async function ok(res, what, status) {
  assert.ok(status ? res.status === status : res.status < 300, `${what}: ${res.status} ${res.text}`);
  return res.json;
}

async function arrive(minutes) {
  const body = {
    patient: { mrn: `CK-${serial++}`, family_name: 'Clockwell', given_name: 'Tess', birth_date: '1977-07-07', sex: 'female' },
    arrival_mode: 'walk_in', chief_complaint: 'clocks test', arrived_at: minutesAgo(minutes),
  };
  const enc = (await ok(await ctx.charge.post(`/departments/${ctx.demo}/arrivals`, body), 'arrival', 201)).encounter;
  ctx.created.push(enc.encounter_id);
  return enc.encounter_id;
}

async function freeBed() {
  const board = (await ctx.charge.get(`/departments/${ctx.demo}/board`)).json;
  const beds = board.beds.filter((b) => !['waiting_room', 'hallway'].includes(b.area));
  const free = beds.find((b) => b.status === 'free');
  if (free) return free;
  const dirty = beds.find((b) => b.status === 'cleaning');
  assert.ok(dirty, 'the demo ED has a free bed or one waiting for cleaning');
  return (await ok(await ctx.nurse.post(`/beds/${dirty.id}/status`, { status: 'free' }), 'clean a bed')).beds[0];
}

before(async () => {
  ctx.demo = Number(sql(OWNER, "SELECT id FROM department WHERE code = 'DEMO'"));
  ctx.charge = await signedIn('adeyemi');
  ctx.nurse = await signedIn('patel');
  ctx.doctor = await signedIn('dr.lopez');
  ctx.doctorId = (await ctx.doctor.get('/session')).json.staff_id;
});

after(async () => {
  for (const id of ctx.created) await ctx.charge.post(`/encounters/${id}/status`, { status: 'departed' }).catch(() => {});
});

test('triage and assignment take the time they happened', async () => {
  const enc = await arrive(90);
  const t = minutesAgo(80);
  const triaged = await ok(await ctx.nurse.post(`/encounters/${enc}/triage`, { esi: 3, at: t }), 'triage at');
  assert.equal(triaged.encounter.triaged_at, t);
  const bad = await ctx.nurse.post(`/encounters/${enc}/triage`, { esi: 2, at: minutesAgo(120) });
  assert.equal(bad.status, 422, bad.text);
  assert.equal(bad.json.error.field, 'at');
  const ta = minutesAgo(70);
  await ok(await ctx.charge.post(`/encounters/${enc}/assignment`, { attending_id: ctx.doctorId, at: ta }), 'assign at');
  assert.equal(sql(OWNER, `SELECT utc_text(attending_since) FROM encounter WHERE id = ${enc}`), ta);
  const future = await ctx.charge.post(`/encounters/${enc}/assignment`, { attending_id: ctx.doctorId, at: minutesAgo(-30) });
  assert.equal(future.status, 422, future.text);
  assert.equal(future.json.error.field, 'at');
});

test('boarding starts at the first admit decision; a revised ward keeps the clock', async () => {
  const enc = await arrive(300);
  const first = minutesAgo(200);
  const a = await ok(await ctx.doctor.post(`/encounters/${enc}/disposition`, { kind: 'admit', destination: 'Ward 4', decided_at: first }), 'admit');
  assert.equal(a.encounter.boarding_since, first);
  const b = await ok(await ctx.doctor.post(`/encounters/${enc}/disposition`, { kind: 'admit', destination: 'CCU', decided_at: minutesAgo(60) }), 'revised ward');
  assert.equal(b.encounter.disposition.destination, 'CCU');
  assert.equal(b.encounter.boarding_since, first, 'the clock keeps the first decision');
  const c = await ok(await ctx.doctor.post(`/encounters/${enc}/disposition`, { kind: 'discharge' }), 'no longer admitted');
  assert.equal(c.encounter.boarding_since, null);
  const d = await ok(await ctx.doctor.post(`/encounters/${enc}/disposition`, { kind: 'admit', destination: 'Ward 4' }), 'admitted again');
  assert.notEqual(d.encounter.boarding_since, first, 'a new decision to admit starts a new clock');
});

test('eloped and other are dispositions; a visit ended without one records left_without_disposition', async () => {
  for (const kind of ['eloped', 'other']) {
    const enc = await arrive(30);
    const r = await ok(await ctx.doctor.post(`/encounters/${enc}/disposition`, { kind }), kind);
    assert.equal(r.encounter.disposition.kind, kind);
  }
  const enc = await arrive(45);
  const before = sql(OWNER, `SELECT department_metrics_range_json(${ctx.demo}, now() - interval '1 day', now() + interval '1 minute', NULL)->>'los_count'`);
  const gone = await ok(await ctx.charge.post(`/encounters/${enc}/status`, { status: 'departed' }), 'departed by status');
  assert.equal(gone.encounter.disposition.kind, 'left_without_disposition');
  assert.equal(gone.encounter.disposition.decided_at, gone.encounter.departed_at);
  const afterCount = sql(OWNER, `SELECT department_metrics_range_json(${ctx.demo}, now() - interval '1 day', now() + interval '1 minute', NULL)->>'los_count'`);
  assert.equal(Number(afterCount), Number(before) + 1, 'the visit counts in length of stay');
  const bad = await ctx.doctor.post(`/encounters/${await arrive(10)}/disposition`, { kind: 'vanished' });
  assert.equal(bad.status, 422);
  assert.equal(bad.json.error.field, 'kind');
});

test('provider contact may be timed before the current bed move', async () => {
  const enc = await arrive(60);
  const bed = await freeBed();
  await ok(await ctx.charge.post(`/encounters/${enc}/bed`, { bed_id: bed.id, at: minutesAgo(20) }), 'bed 20 min ago');
  const seenAt = minutesAgo(40);
  const seen = await ok(await ctx.doctor.post(`/encounters/${enc}/status`, { status: 'seen_by_provider', at: seenAt }), 'seen before the move');
  assert.equal(seen.encounter.provider_seen_at, seenAt);
  const bad = await ctx.doctor.post(`/encounters/${enc}/status`, { status: 'seen_by_provider', at: minutesAgo(90) });
  assert.equal(bad.status, 422, 'still not before the arrival');
});

test('metrics for the last 24 hours count what the local day may not', async () => {
  const read = async (q) => ok(await ctx.charge.get(`/departments/${ctx.demo}/metrics${q}`), `metrics${q}`);
  const before = await read('?period=last24h');
  assert.equal(before.period, 'last24h');
  await arrive(20 * 60); // 20 hours ago: yesterday for much of the day, always in the last 24 h
  const after24 = await read('?period=last24h');
  assert.equal(after24.arrivals, before.arrivals + 1);
  assert.ok(Date.parse(after24.to) - Date.parse(after24.from) === 24 * 3600000);
  const day = await read('');
  assert.equal(day.period, 'day');
  for (const [q, field] of [['?period=week', 'period'], ['?period=last24h&date=2026-01-01', 'period'], ['?date=yesterday', 'date']]) {
    const res = await ctx.charge.get(`/departments/${ctx.demo}/metrics${q}`);
    assert.equal(res.status, 422, `${q}: ${res.text}`);
    assert.equal(res.json.error.field, field);
  }
});

test('a time in the same second as the arrival is not before it (clients send whole seconds)', async () => {
  // The server stores the arrival to the microsecond; the bedside sends "now" in whole seconds.
  const r = await ctx.charge.post(`/departments/${ctx.demo}/arrivals`, {
    patient: { mrn: `CK-${serial++}`, family_name: 'Clockwell', given_name: 'Sam', birth_date: '1977-07-07', sex: 'male' },
    arrival_mode: 'walk_in', chief_complaint: 'clocks test',
  });
  const enc = (await ok(r, 'arrival', 201)).encounter;
  ctx.created.push(enc.encounter_id);
  const second = enc.arrived_at.replace(/\.\d+/, '').replace(/\+00:00$/, 'Z');
  assert.match(second, /:\d\dZ$/);
  const staff = (await ctx.nurse.get('/session')).json.staff_id;
  await ok(await ctx.nurse.post(`/encounters/${enc.encounter_id}/vitals`, { taken_by: staff, taken_at: second, heart_rate: 80 }), 'vitals at the arrival\'s second', 201);
  const before = new Date(Date.parse(second) - 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const early = await ctx.nurse.post(`/encounters/${enc.encounter_id}/vitals`, { taken_by: staff, taken_at: before, heart_rate: 81 });
  assert.equal(early.status, 422, 'a second earlier is still refused');
  assert.equal(early.json.error.field, 'taken_at');
});
