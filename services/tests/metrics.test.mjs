// The charge nurse's metrics (proto/README.md "Metrics", ed-domain.md 3.3) computed from a
// scripted day and compared with values worked out by hand below. The day is placed on a date
// long past (a Wednesday), so nothing else in the demo ED falls on it or on the four
// Wednesdays before it. Every scripted patient leaves, so none stays on today's board.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { requireEnv } from './lib/env.mjs';
import { signedIn, sql } from './lib/client.mjs';

const env = requireEnv('EDLIVE_API_URL', 'EDLIVE_PG_OWNER');
const OWNER = env.EDLIVE_PG_OWNER;
const DAY = '2025-03-05'; // a Wednesday; the department's zone is UTC
const at = (date, hhmm) => `${date}T${hhmm}:00Z`;
const ctx = {};

before(async () => {
  ctx.dept = Number(sql(OWNER, "SELECT id FROM department WHERE code = 'DEMO'"));
  assert.equal(sql(OWNER, `SELECT timezone FROM department WHERE id = ${ctx.dept}`), 'UTC');
  ctx.charge = await signedIn('adeyemi');
  ctx.lopez = await signedIn('dr.lopez');
  // A treatment bed that is free and clean now; every scripted patient uses it in turn.
  ctx.bed = Number(sql(OWNER, `SELECT b.id FROM bed b WHERE b.department_id = ${ctx.dept} AND b.area = 'acute'
    AND b.cleaning_since IS NULL AND NOT EXISTS (SELECT 1 FROM encounter e WHERE e.bed_id = b.id
    AND e.status NOT IN ('departed', 'left_without_being_seen')) ORDER BY b.id LIMIT 1`));
  assert.ok(ctx.bed > 0, 'a free acute bed');
  // The date must be empty before the script (a rerun against the same database would double it).
  const taken = Number(sql(OWNER, `SELECT count(*) FROM encounter WHERE department_id = ${ctx.dept}
    AND arrived_at >= '2025-01-29' AND arrived_at < '2025-03-06'`));
  if (taken) ctx.rerun = true;
});

const ok = (r, what) => assert.ok(r.status === 200 || r.status === 201, `${what}: ${r.status} ${r.text}`);

// One patient's visit, in order: arrival, into the bed, seen, disposition, departure.
async function visit(date, p) {
  const arrived = await ctx.charge.post(`/departments/${ctx.dept}/arrivals`, {
    patient: { mrn: `MX-${randomUUID().slice(0, 8)}`, family_name: 'Metricson', given_name: p.name, birth_date: '1980-01-01', sex: 'female' },
    arrival_mode: 'walk_in', chief_complaint: 'scripted metrics day', arrived_at: at(date, p.arrive),
  });
  ok(arrived, `${p.name} arrival`);
  const id = arrived.json.encounter.encounter_id;
  if (p.room) ok(await ctx.charge.post(`/encounters/${id}/bed`, { bed_id: ctx.bed, at: at(date, p.room) }), `${p.name} bed`);
  if (p.seen) ok(await ctx.lopez.post(`/encounters/${id}/status`, { status: 'seen_by_provider', at: at(date, p.seen) }), `${p.name} seen`);
  ok(await ctx.lopez.post(`/encounters/${id}/disposition`, { kind: p.kind, decided_at: at(date, p.decided) }), `${p.name} disposition`);
  ok(await ctx.charge.post(`/encounters/${id}/departure`, { departed_at: at(date, p.left) }), `${p.name} departure`);
  if (p.room) ok(await ctx.charge.post(`/beds/${ctx.bed}/status`, { status: 'free' }), `${p.name}: bed cleaned`);
  return id;
}

test('metrics of a scripted day match the hand-computed values', async (t) => {
  if (ctx.rerun) return t.skip('the scripted day is already in this database (a rerun); run against a fresh deployment');
  // The day. Minutes worked out by hand:
  //            arrive room  seen  decided left   door-to-provider  arrival-to-room  LOS (discharge)  boarding (admit)
  // Ada        08:00  08:10 08:30 09:30   10:00  30                10               120
  // Bea        08:20  08:50 09:20 10:00   14:00  60                30                                240
  // Cleo       09:05  09:15 09:25 10:00   11:05  20                10               120
  // Dot        10:40  -     -     11:55   12:00  (left without being seen)
  // Eve        13:10  13:20 13:50 15:00   15:40  40                10               150
  // Fay        13:30  14:30 14:35 16:00   17:00  65                60                                60
  const day = [
    { name: 'Ada', arrive: '08:00', room: '08:10', seen: '08:30', kind: 'discharge', decided: '09:30', left: '10:00' },
    { name: 'Bea', arrive: '08:20', room: '08:50', seen: '09:20', kind: 'admit', decided: '10:00', left: '14:00' },
    { name: 'Cleo', arrive: '09:05', room: '09:15', seen: '09:25', kind: 'discharge', decided: '10:00', left: '11:05' },
    { name: 'Dot', arrive: '10:40', kind: 'lwbs', decided: '11:55', left: '12:00' },
    { name: 'Eve', arrive: '13:10', room: '13:20', seen: '13:50', kind: 'discharge', decided: '15:00', left: '15:40' },
    { name: 'Fay', arrive: '13:30', room: '14:30', seen: '14:35', kind: 'admit', decided: '16:00', left: '17:00' },
  ];
  for (const p of day) await visit(DAY, p);
  // The same weekday in earlier weeks: two arrivals at 08:xx a week before, one at 08:30 and
  // one at 13:00 two weeks before (all left without being seen).
  const earlier = [['2025-02-26', '08:15'], ['2025-02-26', '08:45'], ['2025-02-19', '08:30'], ['2025-02-19', '13:00']];
  for (const [date, hhmm] of earlier) {
    const [h, m] = hhmm.split(':').map(Number);
    const later = `${String(h).padStart(2, '0')}:${String(m + 5).padStart(2, '0')}`;
    await visit(date, { name: 'Prior', arrive: hhmm, kind: 'lwbs', decided: later, left: later });
  }

  const r = await ctx.charge.get(`/departments/${ctx.dept}/metrics?date=${DAY}`);
  assert.equal(r.status, 200, r.text);
  const m = r.json;
  assert.equal(m.date, DAY);
  assert.equal(m.arrivals, 6);
  assert.equal(Number(m.door_to_provider_median_min), 40, 'median of 20, 30, 40, 60, 65');
  assert.equal(Number(m.arrival_to_room_median_min), 10, 'median of 10, 10, 10, 30, 60');
  assert.equal(Number(m.los_discharged_median_min), 120, 'median of 120, 120, 150');
  assert.equal(Number(m.boarding_median_min), 150, 'median of 60 and 240');
  assert.equal(m.lwbs, 1);
  const byHour = Array(24).fill(0);
  byHour[8] = 2; byHour[9] = 1; byHour[10] = 1; byHour[13] = 2;
  assert.deepEqual(m.arrivals_by_hour, byHour);
  const avg = Array(24).fill(0);
  avg[8] = 0.75; avg[13] = 0.25; // (2 + 1) / 4 weeks, 1 / 4 weeks
  assert.deepEqual(m.weekday_average_by_hour.map(Number), avg);
  for (const name of ['door_to_provider_median_min', 'los_discharged_median_min', 'boarding_median_min', 'arrival_to_room_median_min', 'lwbs']) {
    assert.equal(typeof m.definitions?.[name], 'string', `a definition of ${name} for the hover text`);
  }
});

test('metrics: bad date is 400 naming it; another department is 404', async () => {
  const bad = await ctx.charge.get(`/departments/${ctx.dept}/metrics?date=2025-13-40`);
  assert.ok(bad.status === 400 || bad.status === 422, bad.text);
  assert.equal(bad.json.error.field, 'date');
  const peds = Number(sql(OWNER, "SELECT id FROM department WHERE code = 'PEDS'"));
  const other = await ctx.charge.get(`/departments/${peds}/metrics`);
  assert.ok(other.status === 404 || other.status === 403, other.text);
});
