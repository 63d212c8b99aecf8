// The clinical record under the screens (proto/README.md "Clinical record"), through the REST
// API of the running services: orders, disposition and boarding, the append-only location
// history, the patient's record across visits, bed cleaning, the NEWS2 scale, the alert
// thresholds and their permission, and bad input on each new route (a clear 4xx naming the
// field, nothing written).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { requireEnv } from './lib/env.mjs';
import { signedIn, sql } from './lib/client.mjs';

const env = requireEnv('EDLIVE_API_URL', 'EDLIVE_PG', 'EDLIVE_PG_OWNER', 'EDLIVE_BUILD');
const OWNER = env.EDLIVE_PG_OWNER;
const APP = env.EDLIVE_PG;
const ctx = {};
let serial = Date.now() % 1e7;
const minutesAgo = (m) => new Date(Date.now() - m * 60000).toISOString().replace(/\.\d{3}Z$/, 'Z');

async function ok(res, what, status) {
  assert.ok(status ? res.status === status : res.status < 300, `${what}: ${res.status} ${res.text}`);
  return res.json;
}

async function arrive(patient = {}, extra = {}) {
  const body = {
    patient: { mrn: `CL-${serial++}`, family_name: 'Recordsen', given_name: 'Clara', birth_date: '1968-02-03', sex: 'female', ...patient },
    arrival_mode: 'walk_in', chief_complaint: 'clinical record test', ...extra,
  };
  return (await ok(await ctx.charge.post(`/departments/${ctx.demo}/arrivals`, body), 'arrival', 201)).encounter;
}

const count = (table) => Number(sql(OWNER, `SELECT count(*) FROM ${table}`));

// A refused request: status, error code and field; and the tables given did not change.
async function refused(call, status, field, tables = ['event']) {
  const before = tables.map(count);
  const res = await call();
  assert.equal(res.status, status, res.text);
  assert.equal(res.json.error.field, field ?? null, res.text);
  assert.deepEqual(tables.map(count), before, `nothing is written: ${res.text}`);
}

// A free treatment bed. Beds a patient left wait for cleaning (proto/README.md "Beds"); when
// every bed waits, the nurse cleans one first, as on the ward.
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
  ctx.registration = await signedIn('moreau');
  ctx.created = [];
});

after(async () => {
  // The test patients leave; the beds they leave need cleaning, and are cleaned.
  for (const id of ctx.created) {
    const res = await ctx.charge.post(`/encounters/${id}/status`, { status: 'departed' });
    for (const b of (res.json && res.json.beds) || []) {
      if (b.status === 'cleaning') await ctx.nurse.post(`/beds/${b.id}/status`, { status: 'free' });
    }
  }
  await ctx.charge.req('PUT', `/departments/${ctx.demo}/alert-thresholds`, { waiting_longest_min: 60, boarder_min: 240, esi12_unassigned: true });
});

test('orders: ordered -> collected -> resulted (abnormal, new) -> seen, on the board row', async () => {
  const enc = (await arrive()).encounter_id;
  ctx.created.push(enc);
  await refused(() => ctx.nurse.post(`/encounters/${enc}/orders`, { kind: 'xray', name: 'Chest' }), 422, 'kind', ['clinical_order']);
  await refused(() => ctx.nurse.post(`/encounters/${enc}/orders`, { kind: 'lab' }), 422, 'name', ['clinical_order']);
  const placed = await ok(await ctx.doctor.post(`/encounters/${enc}/orders`, { kind: 'lab', name: 'Troponin I' }), 'order', 201);
  const order = placed.order;
  assert.equal(order.status, 'ordered');
  assert.equal(placed.timeline.summary, 'Lab ordered: Troponin I');
  assert.equal(placed.timeline.by.name, 'Dr. Maria Lopez');
  assert.deepEqual(placed.encounter.orders.map((o) => [o.id, o.status]), [[order.id, 'ordered']]);
  await refused(() => ctx.nurse.post(`/orders/${order.id}/status`, { status: 'collected', abnormal: true }), 422, 'abnormal', ['clinical_order', 'event']);
  await refused(() => ctx.nurse.post(`/orders/${order.id}/seen`), 409, 'status');
  const collected = await ok(await ctx.nurse.post(`/orders/${order.id}/status`, { status: 'collected' }), 'collected');
  assert.equal(collected.order.status, 'collected');
  assert.ok(collected.order.collected_at);
  const resulted = await ok(await ctx.nurse.post(`/orders/${order.id}/status`, { status: 'resulted', abnormal: true }), 'resulted');
  const row = resulted.encounter.orders[0];
  assert.equal(row.status, 'resulted');
  assert.equal(row.abnormal, true);
  assert.equal(row.result_seen, false, 'a new result is not seen yet');
  await refused(() => ctx.nurse.post(`/orders/${order.id}/status`, { status: 'collected' }), 409, 'status');
  const seen = await ok(await ctx.doctor.post(`/orders/${order.id}/seen`), 'seen');
  assert.equal(seen.encounter.orders[0].result_seen, true);
  assert.equal((await ctx.registration.post(`/orders/${order.id}/seen`)).status, 403);
  assert.equal((await ctx.nurse.post('/orders/2000000001/status', { status: 'collected' })).status, 404);
});

test('disposition and departure: admit starts the boarding clock; departure needs a disposition', async () => {
  const enc = (await arrive({}, { arrived_at: minutesAgo(300) })).encounter_id;
  await refused(() => ctx.doctor.post(`/encounters/${enc}/departure`, {}), 409, 'disposition', ['event', 'encounter_location']);
  await refused(() => ctx.doctor.post(`/encounters/${enc}/disposition`, { kind: 'home' }), 422, 'kind');
  await refused(() => ctx.doctor.post(`/encounters/${enc}/disposition`, { kind: 'admit', decided_at: minutesAgo(-60) }), 422, 'decided_at');
  await refused(() => ctx.doctor.post(`/encounters/${enc}/disposition`, { kind: 'admit', decided_at: minutesAgo(400) }), 422, 'decided_at');
  const decided = minutesAgo(250);
  const d = await ok(await ctx.doctor.post(`/encounters/${enc}/disposition`, { kind: 'admit', destination: 'Ward 5', decided_at: decided }), 'disposition');
  assert.equal(d.encounter.disposition.kind, 'admit');
  assert.equal(d.encounter.disposition.destination, 'Ward 5');
  assert.equal(d.encounter.disposition.decided_at, decided);
  assert.equal(d.encounter.disposition.decided_by.name, 'Dr. Maria Lopez');
  assert.equal(d.encounter.boarding_since, decided, 'the boarding clock starts at the decision');
  assert.equal(d.encounter.status, 'disposition_decided');
  await refused(() => ctx.nurse.post(`/encounters/${enc}/departure`, { departed_at: minutesAgo(260) }), 422, 'departed_at', ['event', 'encounter_location']);
  await refused(() => ctx.nurse.post(`/encounters/${enc}/departure`, { departed_at: 'yesterday' }), 422, 'departed_at');
  const left = await ok(await ctx.nurse.post(`/encounters/${enc}/departure`, {}), 'departure');
  assert.equal(left.encounter.status, 'departed');
  assert.ok(left.encounter.departed_at);
  assert.equal(left.encounter.boarding_since, null, 'a departed patient is no longer boarding');
  const board = (await ctx.charge.get(`/departments/${ctx.demo}/board`)).json;
  assert.ok(!board.encounters.some((e) => e.encounter_id === enc), 'the departed encounter leaves the board');
  // The seeded demo has boarders, one over 4 h.
  assert.ok(board.encounters.some((e) => e.boarding_since && Date.now() - Date.parse(e.boarding_since) > 240 * 60000));
  // LWBS: the disposition says so, the departure ends it as left_without_being_seen.
  const gone = (await arrive()).encounter_id;
  await ok(await ctx.nurse.post(`/encounters/${gone}/disposition`, { kind: 'lwbs' }), 'lwbs');
  assert.equal((await ok(await ctx.nurse.post(`/encounters/${gone}/departure`, {}), 'lwbs departure')).encounter.status, 'left_without_being_seen');
});

test('location history: every move with real start and end times, append-only for the services', async () => {
  const arrivedAt = minutesAgo(90);
  const enc = (await arrive({}, { arrived_at: arrivedAt })).encounter_id;
  ctx.created.push(enc);
  const bed = await freeBed();
  await refused(() => ctx.charge.post(`/encounters/${enc}/bed`, { bed_id: bed.id, at: minutesAgo(100) }), 422, 'at', ['encounter_location', 'event']);
  await refused(() => ctx.charge.post(`/encounters/${enc}/bed`, { bed_id: bed.id, area: 'hallway' }), 422, 'area', ['encounter_location']);
  const t1 = minutesAgo(60);
  const moved = await ok(await ctx.charge.post(`/encounters/${enc}/bed`, { bed_id: bed.id, at: t1 }), 'bed');
  assert.equal(moved.encounter.location_since, t1);
  assert.equal(moved.encounter.status, 'in_room');
  assert.ok(moved.beds.some((b) => b.id === bed.id && b.status === 'occupied'), 'the event carries the bed now occupied');
  const t2 = minutesAgo(30);
  const hall = await ok(await ctx.charge.post(`/encounters/${enc}/bed`, { bed_id: null, area: 'hallway', at: t2 }), 'hallway');
  assert.equal(hall.encounter.bed.area, 'hallway');
  assert.ok(hall.beds.some((b) => b.id === bed.id && b.status === 'cleaning' && b.cleaning_since === t2), 'the bed left needs cleaning');
  await ok(await ctx.charge.post(`/encounters/${enc}/bed`, { bed_id: null }), 'waiting room');
  const locations = (await ctx.charge.get(`/encounters/${enc}`)).json.locations;
  assert.deepEqual(locations.map((l) => l.area), ['waiting_room', bed.area, 'hallway', 'waiting_room']);
  assert.equal(locations[0].started_at, arrivedAt, 'the waiting room from arrival');
  assert.equal(locations[0].ended_at, t1);
  assert.equal(locations[1].started_at, t1);
  assert.equal(locations[1].ended_at, t2);
  assert.equal(locations[1].bed.id, bed.id);
  assert.equal(locations[3].ended_at, null);
  // The services' database role cannot rewrite history.
  assert.throws(() => sql(APP, `UPDATE encounter_location SET started_at = now() WHERE encounter_id = ${enc}`), /permission denied|append-only/);
  assert.throws(() => sql(APP, `DELETE FROM encounter_location WHERE encounter_id = ${enc}`), /permission denied|append-only/);
  assert.throws(() => sql(OWNER, `DELETE FROM encounter_location WHERE encounter_id = ${enc}`), /append-only/);
  assert.equal(Number(sql(OWNER, `SELECT count(*) FROM encounter_location WHERE encounter_id = ${enc}`)), 4);
});

test('the whole patient: a returning patient brings prior visits, diagnoses, allergies, medications and problems', async () => {
  const patient = { mrn: `CL-${serial++}`, family_name: 'Returnwell', given_name: 'Petra', birth_date: '1950-06-07', sex: 'female' };
  const first = (await arrive(patient, { arrived_at: minutesAgo(200) })).encounter_id;
  await refused(() => ctx.doctor.post(`/encounters/${first}/diagnoses`, { system: 'icd9', code: '486', display: 'Pneumonia' }), 422, 'system', ['encounter_diagnosis']);
  await refused(() => ctx.doctor.post(`/encounters/${first}/diagnoses`, { system: 'icd10', code: 'J18-9', display: 'Pneumonia' }), 422, 'code', ['encounter_diagnosis']);
  await refused(() => ctx.doctor.post(`/encounters/${first}/diagnoses`, { system: 'icd10', code: 'J18.9' }), 422, 'display', ['encounter_diagnosis']);
  assert.equal((await ctx.nurse.post(`/encounters/${first}/diagnoses`, { system: 'icd10', code: 'J18.9', display: 'Pneumonia, unspecified organism' })).status, 403);
  const dx = await ok(await ctx.doctor.post(`/encounters/${first}/diagnoses`, { system: 'icd10', code: 'J18.9', display: 'Pneumonia, unspecified organism' }), 'diagnosis', 201);
  assert.equal(dx.diagnosis.code, 'J18.9');
  await refused(() => ctx.nurse.post(`/encounters/${first}/allergies`, { substance: 'Latex' }), 422, 'severity', ['patient_allergy']);
  await refused(() => ctx.nurse.post(`/encounters/${first}/allergies`, { substance: 'Latex', severity: 'deadly' }), 422, 'severity', ['patient_allergy']);
  assert.equal((await ctx.nurse.get(`/encounters/${first}`)).json.encounter.allergies, null, 'not recorded yet');
  const allergy = await ok(await ctx.nurse.post(`/encounters/${first}/allergies`, { substance: 'Latex', reaction: 'Urticaria', severity: 'moderate' }), 'allergy', 201);
  assert.deepEqual(allergy.encounter.allergies.map((a) => [a.substance, a.severity]), [['Latex', 'moderate']]);
  await refused(() => ctx.nurse.post(`/encounters/${first}/allergies`, { no_known_allergies: true }), 409, 'no_known_allergies', ['patient_allergy', 'event']);
  await refused(() => ctx.nurse.post(`/encounters/${first}/medications`, { dose: '5 mg' }), 422, 'name', ['patient_medication']);
  await ok(await ctx.nurse.post(`/encounters/${first}/medications`, { name: 'Ramipril', dose: '5 mg', route: 'PO', frequency: 'once daily' }), 'medication', 201);
  await refused(() => ctx.nurse.post(`/encounters/${first}/problems`, { system: 'snomed', code: 'abc123', display: 'Hypertension' }), 422, 'code', ['patient_problem']);
  await ok(await ctx.nurse.post(`/encounters/${first}/problems`, { system: 'icd10', code: 'I10', display: 'Essential (primary) hypertension', onset: '2010-01-01' }), 'problem', 201);
  await ok(await ctx.doctor.post(`/encounters/${first}/disposition`, { kind: 'discharge', decided_at: minutesAgo(150) }), 'discharge');
  const departedAt = minutesAgo(140);
  await ok(await ctx.doctor.post(`/encounters/${first}/departure`, { departed_at: departedAt }), 'departure');

  const again = (await arrive(patient)).encounter_id;
  ctx.created.push(again);
  const c = (await ctx.doctor.get(`/encounters/${again}`)).json;
  assert.equal(c.record.prior_visits.length, 1);
  const prior = c.record.prior_visits[0];
  assert.equal(prior.encounter_id, first);
  assert.equal(prior.disposition, 'discharge');
  assert.equal(prior.departed_at, departedAt);
  assert.deepEqual(prior.diagnoses.map((d) => [d.system, d.code]), [['icd10', 'J18.9']]);
  assert.deepEqual(c.record.allergies.map((a) => a.substance), ['Latex']);
  assert.deepEqual(c.encounter.allergies.map((a) => a.substance), ['Latex'], 'on the board row too');
  assert.deepEqual(c.record.medications.map((m) => [m.name, m.dose]), [['Ramipril', '5 mg']]);
  assert.deepEqual(c.record.problems.map((p) => [p.system, p.code, p.onset]), [['icd10', 'I10', '2010-01-01']]);
  assert.deepEqual(c.diagnoses, [], 'this visit has no diagnosis yet');
  assert.ok(c.timeline.some((t) => t.type === 'encounter.arrived'));
  // The seeded demo keeps ICD-9 codes of older visits as they were.
  const lindqvist = (await ctx.charge.get(`/departments/${ctx.demo}/board`)).json.encounters.find((e) => e.patient.family_name === 'Lindqvist');
  const old = (await ctx.doctor.get(`/encounters/${lindqvist.encounter_id}`)).json.record.prior_visits;
  assert.ok(old.some((v) => v.diagnoses.some((d) => d.system === 'icd9' && d.code === '491.21')));
  assert.ok(old.some((v) => v.diagnoses.some((d) => d.system === 'icd10' && d.code === 'J44.1')));
});

test('bed cleaning: nurses mark and clean; a bed being cleaned takes no patient', async () => {
  const bed = await freeBed();
  const enc = (await arrive()).encounter_id;
  ctx.created.push(enc);
  await refused(() => ctx.nurse.post(`/beds/${bed.id}/status`, { status: 'dirty' }), 422, 'status');
  assert.equal((await ctx.registration.post(`/beds/${bed.id}/status`, { status: 'cleaning' })).status, 403);
  assert.equal((await ctx.doctor.post(`/beds/${bed.id}/status`, { status: 'cleaning' })).status, 403);
  const marked = await ok(await ctx.nurse.post(`/beds/${bed.id}/status`, { status: 'cleaning' }), 'cleaning');
  assert.equal(marked.beds[0].status, 'cleaning');
  assert.equal(marked.timeline.type, 'bed.status');
  const frame = JSON.parse(sql(OWNER, `SELECT event_frame(${ctx.demo}, ${marked.seq})`));
  assert.equal(frame.encounter_id, null, 'a department event');
  assert.equal(frame.event, 'bed.status');
  const board = (await ctx.charge.get(`/departments/${ctx.demo}/board`)).json;
  assert.equal(board.beds.find((b) => b.id === bed.id).status, 'cleaning');
  await refused(() => ctx.charge.post(`/encounters/${enc}/bed`, { bed_id: bed.id }), 409, 'bed_id', ['encounter_location']);
  const clean = await ok(await ctx.nurse.post(`/beds/${bed.id}/status`, { status: 'free' }), 'free');
  assert.equal(clean.beds[0].status, 'free');
  await ok(await ctx.charge.post(`/encounters/${enc}/bed`, { bed_id: bed.id }), 'bed after cleaning');
  await refused(() => ctx.nurse.post(`/beds/${bed.id}/status`, { status: 'cleaning' }), 409, 'status');
  const peds = Number(sql(OWNER, "SELECT id FROM bed WHERE label = 'P2'"));
  assert.equal((await ctx.nurse.post(`/beds/${peds}/status`, { status: 'cleaning' })).status, 404);
});

test('board fields and NEWS2 scale 2: comment, isolation, reassessment; scale set by a physician scores the next vitals', async () => {
  const enc = (await arrive()).encounter_id;
  ctx.created.push(enc);
  await refused(() => ctx.nurse.post(`/encounters/${enc}/comment`, { text: 'x'.repeat(201) }), 422, 'text');
  assert.equal((await ok(await ctx.nurse.post(`/encounters/${enc}/comment`, { text: 'Family in waiting room' }), 'comment')).encounter.comment, 'Family in waiting room');
  await refused(() => ctx.nurse.post(`/encounters/${enc}/isolation`, { isolation: 'strict' }), 422, 'isolation');
  assert.equal((await ok(await ctx.nurse.post(`/encounters/${enc}/isolation`, { isolation: 'airborne' }), 'isolation')).encounter.isolation, 'airborne');
  await refused(() => ctx.nurse.post(`/encounters/${enc}/reassessment`, { interval_min: 2 }), 422, 'interval_min');
  await refused(() => ctx.doctor.post(`/encounters/${enc}/news2-scale`, { scale: 3 }), 422, 'scale');
  assert.equal((await ctx.nurse.post(`/encounters/${enc}/news2-scale`, { scale: 2 })).status, 403);
  assert.equal((await ok(await ctx.doctor.post(`/encounters/${enc}/news2-scale`, { scale: 2 }), 'scale')).encounter.spo2_scale, 2);
  const nurseId = (await ctx.nurse.get('/session')).json.staff_id;
  // On scale 2, 90% on oxygen is in the target range (0), oxygen itself scores 2.
  const v = await ok(await ctx.nurse.post(`/encounters/${enc}/vitals`, {
    taken_by: nurseId, resp_rate: 18, spo2: 90, on_oxygen: true, systolic_bp: 130, diastolic_bp: 80, heart_rate: 80, consciousness: 'A', temperature_c: 37.0,
  }), 'vitals', 201);
  const n = v.encounter.news2;
  assert.equal(n.scale, 2);
  assert.equal(n.subscores.spo2, 0);
  assert.equal(n.subscores.air_or_oxygen, 2);
  assert.equal(n.total, 2);
  assert.equal(n.band, 'low');
  // The result is sent once per object: the vitals set as stored, the row in its own shape.
  const stored = v.vitals.news2;
  assert.deepEqual([stored.total, stored.band, stored.scale, stored.reassess_min, stored.complete], [n.total, n.band, n.scale, n.reassess_min, n.complete]);
  assert.equal(stored.scores.spo2, n.subscores.spo2);
  assert.equal(stored.scores.on_oxygen, n.subscores.air_or_oxygen);
  assert.equal(n.taken_at, v.vitals.taken_at);
  assert.ok(!('news2_detail' in v.vitals), 'a vitals set carries news2 only');
  assert.equal(v.encounter.latest_vitals.id, v.vitals.id);
  assert.ok(!('news2' in v.encounter.latest_vitals) && !('news2_detail' in v.encounter.latest_vitals), "latest_vitals leaves NEWS2 to the row's news2");
  // Low band (1-4): due in 4 h; a per-patient interval replaces it.
  assert.equal(Date.parse(v.encounter.reassess_due_at) - Date.parse(n.taken_at), 240 * 60000);
  const r = await ok(await ctx.nurse.post(`/encounters/${enc}/reassessment`, { interval_min: 30 }), 'reassessment');
  assert.equal(Date.parse(r.encounter.reassess_due_at) - Date.parse(n.taken_at), 30 * 60000);
  // NEWS2 7 or more: high, continuous monitoring (no due time: "continuous" on every screen).
  await ok(await ctx.nurse.post(`/encounters/${enc}/reassessment`, { interval_min: null }), 'no override');
  const high = await ok(await ctx.nurse.post(`/encounters/${enc}/vitals`, {
    taken_by: nurseId, resp_rate: 26, spo2: 97, on_oxygen: true, systolic_bp: 95, diastolic_bp: 60, heart_rate: 120, consciousness: 'A', temperature_c: 38.5,
  }), 'vitals', 201);
  // RR 26 -> 3, SpO2 97 on O2 (scale 2) -> 3, O2 -> 2, SBP 95 -> 2, HR 120 -> 2, A -> 0, 38.5 -> 1: 13.
  assert.equal(high.encounter.news2.total, 13);
  assert.equal(high.encounter.news2.band, 'high');
  assert.equal(high.encounter.news2.any_three, true);
  assert.equal(high.encounter.monitoring, 'continuous');
  assert.equal(high.encounter.reassess_due_at, null);
});

test('alert thresholds: everyone on the board reads them, only the charge nurse sets them', async () => {
  const path = `/departments/${ctx.demo}/alert-thresholds`;
  const read = await ok(await ctx.nurse.get(path), 'read');
  assert.equal(read.waiting_longest_min, 60);
  assert.equal(read.boarder_min, 240);
  assert.equal(read.esi12_unassigned, true);
  const wanted = { waiting_longest_min: 45, boarder_min: 180, esi12_unassigned: false };
  for (const api of [ctx.nurse, ctx.doctor, ctx.registration]) {
    await refused(() => api.req('PUT', path, wanted), 403, undefined, ['department_alert_threshold']);
  }
  await refused(() => ctx.charge.req('PUT', path, { ...wanted, boarder_min: 0 }), 422, 'boarder_min', ['department_alert_threshold']);
  await refused(() => ctx.charge.req('PUT', path, { waiting_longest_min: 45, boarder_min: 180 }), 422, 'esi12_unassigned', ['department_alert_threshold']);
  const put = await ok(await ctx.charge.req('PUT', path, wanted), 'put');
  assert.equal(put.alert_thresholds.boarder_min, 180);
  const again = await ok(await ctx.doctor.get(path), 'read again');
  assert.equal(again.waiting_longest_min, 45);
  assert.equal(again.esi12_unassigned, false);
  assert.equal(again.updated_by, 'Ruth Adeyemi, RN');
  assert.equal((await ctx.charge.get(`/departments/${ctx.demo}/board`)).json.alert_thresholds.boarder_min, 180);
  const peds = Number(sql(OWNER, "SELECT id FROM department WHERE code = 'PEDS'"));
  assert.equal((await ctx.charge.req('PUT', `/departments/${peds}/alert-thresholds`, wanted)).status, 404);
});
