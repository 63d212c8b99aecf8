// Today's metrics (proto/README.md "Metrics", ed-domain.md 3.3) from a scripted day of
// encounters, sent through the REST API with explicit past times into a department of its
// own (so nothing else counts), checked against values computed by hand below.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { requireEnv } from './lib/env.mjs';
import { signedIn, sql, lit } from './lib/client.mjs';

const env = requireEnv('EDLIVE_API_URL', 'EDLIVE_PG', 'EDLIVE_PG_OWNER', 'EDLIVE_BUILD');
const OWNER = env.EDLIVE_PG_OWNER;
const ctx = {};
let serial = Date.now() % 1e7;

// The day under test: 14 days ago (UTC; the department's zone is UTC). Times are "HH:MM" on
// that day, or with a day offset.
const DAY_MS = 86400000;
const day = new Date(Math.floor(Date.now() / DAY_MS) * DAY_MS - 14 * DAY_MS);
const ymd = (d) => d.toISOString().slice(0, 10);
const at = (hhmm, dayOffset = 0) => {
  const [h, m] = hhmm.split(':').map(Number);
  return new Date(day.getTime() + dayOffset * DAY_MS + (h * 60 + m) * 60000).toISOString();
};

async function ok(res, what) {
  assert.ok(res.status >= 200 && res.status < 300, `${what}: ${res.status} ${res.text}`);
  return res.json;
}

// One visit: arrival, optional bed (label) at roomAt, provider contact at seenAt, disposition
// and departure, then the bed left is cleaned. Each visit ends before the next starts, so beds
// are always free.
async function visit({ arrive, bed, roomAt, seenAt, dispo, decidedAt, departAt, dayOffsets = {} }) {
  const api = ctx.api;
  const arrived = await ok(await api.post(`/departments/${ctx.dept}/arrivals`, {
    patient: { mrn: `MX-${serial++}`, family_name: 'Metricson', given_name: 'Day', birth_date: '1970-01-01', sex: 'female' },
    arrival_mode: 'walk_in', chief_complaint: 'metrics test', arrived_at: at(arrive, dayOffsets.arrive || 0),
  }), 'arrival');
  const enc = arrived.encounter.encounter_id;
  let bedId = null;
  if (bed) {
    const body = bed === 'hallway' ? { bed_id: null, area: 'hallway' } : { bed_id: ctx.beds[bed] };
    bedId = (await ok(await api.post(`/encounters/${enc}/bed`, { ...body, at: at(roomAt, dayOffsets.room || 0) }), 'bed')).encounter.bed.id;
  }
  if (seenAt) await ok(await api.post(`/encounters/${enc}/status`, { status: 'seen_by_provider', at: at(seenAt, dayOffsets.seen || 0) }), 'seen');
  if (dispo) {
    await ok(await api.post(`/encounters/${enc}/disposition`, { kind: dispo, decided_at: at(decidedAt, dayOffsets.decided || 0) }), 'disposition');
    const left = await ok(await api.post(`/encounters/${enc}/departure`, { departed_at: at(departAt, dayOffsets.depart || 0) }), 'departure');
    if (bedId) {
      assert.equal(left.beds.find((b) => b.id === bedId).status, 'cleaning', 'the bed left needs cleaning');
      await ok(await api.post(`/beds/${bedId}/status`, { status: 'free' }), 'bed cleaned');
    }
  }
  return enc;
}

before(async () => {
  // A department of its own; the Demo ED's charge nurse works there too for this test.
  const code = `MX${serial % 1e6}`;
  ctx.dept = Number(sql(OWNER, `INSERT INTO department (code, name, timezone) VALUES (${lit(code)}, 'Metrics test ED', 'UTC') RETURNING id`));
  ctx.beds = {};
  for (const [label, area] of [['R1', 'resus'], ['A1', 'acute'], ['A2', 'acute'], ['H1', 'hallway']]) {
    ctx.beds[label] = Number(sql(OWNER, `INSERT INTO bed (department_id, label, area) VALUES (${ctx.dept}, ${lit(label)}, ${lit(area)}) RETURNING id`));
  }
  sql(OWNER, `INSERT INTO staff_department (staff_id, department_id) SELECT staff_id, ${ctx.dept} FROM account WHERE username IN ('adeyemi', 'dr.lopez')`);
  ctx.api = await signedIn('adeyemi');

  // G: arrived the evening before, discharged after midnight: counts for LOS (departed on
  // the day: 22:30 -> 00:30 = 120 min) but not as an arrival, room or provider time.
  await visit({ arrive: '22:30', bed: 'A1', roomAt: '22:40', seenAt: '22:50', dispo: 'discharge', decidedAt: '00:00', departAt: '00:30',
    dayOffsets: { arrive: -1, room: -1, seen: -1 } });
  // A: room 10, provider 20, discharged, LOS 120.
  await visit({ arrive: '08:00', bed: 'R1', roomAt: '08:10', seenAt: '08:20', dispo: 'discharge', decidedAt: '09:30', departAt: '10:00' });
  // B: room 30, provider 45, discharged, LOS 180.
  await visit({ arrive: '09:00', bed: 'A1', roomAt: '09:30', seenAt: '09:45', dispo: 'discharge', decidedAt: '10:30', departAt: '12:00' });
  // C: room 5, provider 10, admitted at 10:00, left 13:00: boarding 180.
  await visit({ arrive: '09:30', bed: 'A2', roomAt: '09:35', seenAt: '09:40', dispo: 'admit', decidedAt: '10:00', departAt: '13:00' });
  // D: hallway after 60, provider 65, admitted 12:00, left 12:45: boarding 45.
  await visit({ arrive: '10:15', bed: 'hallway', roomAt: '11:15', seenAt: '11:20', dispo: 'admit', decidedAt: '12:00', departAt: '12:45' });
  // E: left without being seen from the waiting room.
  await visit({ arrive: '11:00', dispo: 'lwbs', decidedAt: '12:00', departAt: '12:10' });
  // F: late arrival, room 20, provider 25, discharged after midnight (LOS counts tomorrow).
  await visit({ arrive: '23:30', bed: 'R1', roomAt: '23:50', seenAt: '23:55', dispo: 'discharge', decidedAt: '01:00', departAt: '01:30',
    dayOffsets: { decided: 1, depart: 1 } });
  // The same weekday of the weeks before: 2 arrivals at 09:xx a week before, 1 at 09:xx two
  // weeks before, 1 at 15:xx three weeks before; none four weeks before; one five weeks
  // before, which is outside the four-week average.
  for (const [days, hhmm] of [[-7, '09:05'], [-7, '09:50'], [-14, '09:20'], [-21, '15:40'], [-35, '09:10']]) {
    await ok(await ctx.api.post(`/departments/${ctx.dept}/arrivals`, {
      patient: { mrn: `MX-${serial++}`, family_name: 'Metricson', given_name: 'Week', birth_date: '1970-01-01', sex: 'male' },
      arrival_mode: 'walk_in', chief_complaint: 'metrics test', arrived_at: at(hhmm, days),
    }), 'prior arrival');
  }
});

// The demo users leave the test department again: other suites check their departments.
after(() => {
  if (ctx.dept) sql(OWNER, `DELETE FROM staff_department WHERE department_id = ${ctx.dept}`);
});

test('metrics of the scripted day match the hand-computed values', async () => {
  const m = await ok(await ctx.api.get(`/departments/${ctx.dept}/metrics?date=${ymd(day)}`), 'metrics');
  assert.equal(m.date, ymd(day));
  assert.equal(m.timezone, 'UTC');
  // Door to provider, arrivals of the day with a provider contact: 20, 45, 10, 65, 25 -> 25.
  assert.equal(m.door_to_provider_median_min, 25);
  assert.equal(m.door_to_provider_count, 5);
  // LOS of discharged patients who left that day: G 120, A 120, B 180 -> 120.
  assert.equal(m.los_discharged_median_min, 120);
  assert.equal(m.los_discharged_count, 3);
  // Boarding (decision to admit -> departure) of admitted patients who left: 180, 45 -> 112.5.
  assert.equal(m.boarding_median_min, 112.5);
  assert.equal(m.boarding_count, 2);
  // Arrival to first treatment space (resus, acute, fast track, hallway): 10, 30, 5, 60, 20 -> 20.
  assert.equal(m.arrival_to_room_median_min, 20);
  assert.equal(m.arrival_to_room_count, 5);
  assert.equal(m.lwbs, 1);
  assert.equal(m.arrivals, 6);
  const byHour = Array(24).fill(0);
  byHour[8] = 1; byHour[9] = 2; byHour[10] = 1; byHour[11] = 1; byHour[23] = 1;
  assert.deepEqual(m.arrivals_by_hour, byHour);
  const avg = Array(24).fill(0);
  avg[9] = 0.75; avg[15] = 0.25;
  assert.deepEqual(m.weekday_average_by_hour, avg);
  assert.equal(m.weekday_average_weeks, 4);
  for (const k of ['door_to_provider_median_min', 'los_discharged_median_min', 'boarding_median_min', 'arrival_to_room_median_min', 'lwbs', 'arrivals_by_hour', 'weekday_average_by_hour']) {
    assert.equal(typeof m.definitions[k], 'string', `definition of ${k}`);
  }
});

test('a day without visits has no medians and zero counts; bad dates and other departments are refused', async () => {
  const empty = await ok(await ctx.api.get(`/departments/${ctx.dept}/metrics?date=2001-01-01`), 'empty day');
  assert.equal(empty.door_to_provider_median_min, null);
  assert.equal(empty.arrivals, 0);
  assert.equal(empty.lwbs, 0);
  const bad = await ctx.api.get(`/departments/${ctx.dept}/metrics?date=2026-02-30`);
  assert.equal(bad.status, 422);
  assert.equal(bad.json.error.field, 'date');
  const peds = Number(sql(OWNER, "SELECT id FROM department WHERE code = 'PEDS'"));
  assert.equal((await ctx.api.get(`/departments/${peds}/metrics`)).status, 404);
  const today = await ok(await ctx.api.get(`/departments/${ctx.dept}/metrics`), 'today');
  assert.equal(today.date, new Date().toISOString().slice(0, 10));
});
