// Editing (issue 9 items 14-16), through the REST API of the running services:
// - a single-field edit (the board comment) is refused only when that field changed after
//   the version the client saw, not when a colleague recorded vitals or triage meanwhile;
// - results carry a value and the abnormal flag comes from it;
// - an unidentified patient is registered under a server-made alias and later merged with
//   the real identity.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { requireEnv } from './lib/env.mjs';
import { signedIn, sql } from './lib/client.mjs';

const env = requireEnv('EDLIVE_API_URL', 'EDLIVE_PG', 'EDLIVE_PG_OWNER', 'EDLIVE_BUILD');
const OWNER = env.EDLIVE_PG_OWNER;
const ctx = {};
let serial = Date.now() % 1e7;

async function ok(res, what, status) {
  assert.ok(status ? res.status === status : res.status < 300, `${what}: ${res.status} ${res.text}`);
  return res.json;
}

async function arrive(patient = {}, extra = {}) {
  const body = {
    patient: { mrn: `ED-${serial++}`, family_name: 'Editson', given_name: 'Erin', birth_date: '1971-05-06', sex: 'female', ...patient },
    arrival_mode: 'walk_in', chief_complaint: 'editing test', ...extra,
  };
  const enc = (await ok(await ctx.charge.post(`/departments/${ctx.demo}/arrivals`, body), 'arrival', 201)).encounter;
  ctx.created.push(enc.encounter_id);
  return enc;
}

const ifMatch = (v) => ({ 'If-Match': String(v) });

before(async () => {
  ctx.demo = Number(sql(OWNER, "SELECT id FROM department WHERE code = 'DEMO'"));
  ctx.charge = await signedIn('adeyemi');
  ctx.nurse = await signedIn('patel');
  ctx.doctor = await signedIn('dr.lopez');
  ctx.registration = await signedIn('moreau');
  ctx.nurseStaff = Number(sql(OWNER, "SELECT s.id FROM staff s JOIN account a ON a.staff_id = s.id WHERE a.username = 'patel'"));
  ctx.created = [];
});

after(async () => {
  for (const id of ctx.created) {
    const res = await ctx.charge.post(`/encounters/${id}/status`, { status: 'departed' });
    for (const b of (res.json && res.json.beds) || []) {
      if (b.status === 'cleaning') await ctx.nurse.post(`/beds/${b.id}/status`, { status: 'free' });
    }
  }
});

test('item 14: a comment based on an older version is saved when only vitals and triage changed since', async () => {
  const enc = await arrive();
  const seen = enc.version; // the version the nurse's screen showed when she started typing
  // Colleagues record vitals and triage meanwhile: the encounter's version moves on.
  await ok(await ctx.doctor.post(`/encounters/${enc.encounter_id}/vitals`, { taken_by: ctx.nurseStaff, heart_rate: 96, spo2: 95 }), 'vitals');
  const triaged = await ok(await ctx.doctor.post(`/encounters/${enc.encounter_id}/triage`, { esi: 3 }), 'triage');
  assert.ok(triaged.encounter.version > seen);
  const saved = await ctx.nurse.post(`/encounters/${enc.encounter_id}/comment`, { text: 'family at bedside' }, ifMatch(seen));
  assert.equal(saved.status, 200, `an unrelated change is no conflict: ${saved.text}`);
  assert.equal(saved.json.encounter.comment, 'family at bedside');
  assert.equal(saved.json.encounter.esi, 3, 'the colleague\'s triage is kept');
  const board = (await ctx.charge.get(`/departments/${ctx.demo}/board`)).json;
  assert.equal(board.encounters.find((r) => r.encounter_id === enc.encounter_id).comment, 'family at bedside');
});

test('item 14: a comment based on a version before a colleague\'s comment still conflicts (409 with the current row)', async () => {
  const enc = await arrive();
  const seen = enc.version;
  await ok(await ctx.doctor.post(`/encounters/${enc.encounter_id}/comment`, { text: 'CT head booked' }, ifMatch(seen)), 'first comment');
  await ok(await ctx.doctor.post(`/encounters/${enc.encounter_id}/vitals`, { taken_by: ctx.nurseStaff, heart_rate: 90 }), 'vitals');
  const events = Number(sql(OWNER, `SELECT count(*) FROM event WHERE encounter_id = ${enc.encounter_id}`));
  const res = await ctx.nurse.post(`/encounters/${enc.encounter_id}/comment`, { text: 'family at bedside' }, ifMatch(seen));
  assert.equal(res.status, 409, res.text);
  assert.equal(res.json.error.code, 'version_conflict');
  assert.equal(res.json.error.field, 'If-Match');
  assert.equal(res.json.current.comment, 'CT head booked');
  assert.equal(Number(sql(OWNER, `SELECT count(*) FROM event WHERE encounter_id = ${enc.encounter_id}`)), events, 'nothing written');
  // A version the server never had conflicts too; the current version passes.
  assert.equal((await ctx.nurse.post(`/encounters/${enc.encounter_id}/comment`, { text: 'x' }, ifMatch(res.json.current.version + 5))).status, 409);
  await ok(await ctx.nurse.post(`/encounters/${enc.encounter_id}/comment`, { text: 'family at bedside' }, ifMatch(res.json.current.version)), 'comment on the current version');
  // Whole-encounter writes (triage) keep the encounter-version check.
  const stale = await ctx.doctor.post(`/encounters/${enc.encounter_id}/triage`, { esi: 2 }, ifMatch(seen));
  assert.equal(stale.status, 409, stale.text);
});

// A refused request names the field; nothing is written.
async function refused(call, status, field) {
  const before = Number(sql(OWNER, 'SELECT count(*) FROM event'));
  const res = await call();
  assert.equal(res.status, status, res.text);
  assert.equal(res.json.error.field, field, res.text);
  assert.equal(Number(sql(OWNER, 'SELECT count(*) FROM event')), before, `nothing is written: ${res.text}`);
}

test('item 16: a numeric result carries value, unit and range; the server derives the abnormal flag', async () => {
  const enc = await arrive();
  const order = async (name, kind = 'lab') => (await ok(await ctx.doctor.post(`/encounters/${enc.encounter_id}/orders`, { kind, name }), 'order', 201)).order;
  const trop = await order('Troponin I');
  const status = (o, body) => ctx.nurse.post(`/orders/${o.id}/status`, body);
  // The flag of a numeric result is not typed by hand.
  await refused(() => status(trop, { status: 'resulted', abnormal: false, result: { value: 52, unit: 'ng/L', reference_high: 14 } }), 422, 'abnormal');
  await refused(() => status(trop, { status: 'resulted', result: { value: 52, unit: 'ng/L', reference_high: 14, abnormal: false } }), 422, 'result.abnormal');
  await refused(() => status(trop, { status: 'resulted', result: { value: 52, text: 'raised' } }), 422, 'result.value');
  await refused(() => status(trop, { status: 'resulted', result: { unit: 'ng/L' } }), 422, 'result.value');
  await refused(() => status(trop, { status: 'resulted', result: { value: 5, reference_low: 10, reference_high: 2 } }), 422, 'result.reference_high');
  await refused(() => status(trop, { status: 'collected', result: { value: 5 } }), 422, 'result');
  await refused(() => status(trop, { status: 'resulted', result: { value: '52' } }), 422, 'result.value');

  const high = (await ok(await status(trop, { status: 'resulted', result: { value: 52, unit: 'ng/L', reference_low: 0, reference_high: 14 } }), 'troponin')).order;
  assert.equal(high.abnormal, true, 'above the range is abnormal');
  assert.deepEqual(high.result, { value: 52, unit: 'ng/L', reference_range: { low: 0, high: 14 }, text: null, flag: 'high' });

  const k = await order('Potassium');
  const normal = (await ok(await status(k, { status: 'resulted', result: { value: 4.2, unit: 'mmol/L', reference_low: 3.5, reference_high: 5.3 } }), 'potassium')).order;
  assert.equal(normal.abnormal, false);
  assert.equal(normal.result.flag, 'normal');
  assert.equal(normal.result.value, 4.2);
  const na = await order('Sodium');
  const low = (await ok(await status(na, { status: 'resulted', result: { value: 128, unit: 'mmol/L', reference_low: 133, reference_high: 146 } }), 'sodium')).order;
  assert.equal(low.result.flag, 'low');
  assert.equal(low.abnormal, true);

  // A text result (imaging report) may carry its flag as reported.
  const ct = await order('CT head', 'imaging');
  const report = (await ok(await status(ct, { status: 'resulted', result: { text: 'Acute subdural haematoma.', abnormal: true } }), 'ct')).order;
  assert.deepEqual(report.result, { value: null, unit: null, reference_range: null, text: 'Acute subdural haematoma.', flag: 'abnormal' });
  assert.equal(report.abnormal, true);

  // The board row and the chart carry the values.
  const row = (await ctx.charge.get(`/departments/${ctx.demo}/board`)).json.encounters.find((r) => r.encounter_id === enc.encounter_id);
  assert.deepEqual(row.orders.map((o) => [o.name, o.result?.flag, o.abnormal, o.result_seen]), [
    ['Troponin I', 'high', true, false], ['Potassium', 'normal', false, false], ['Sodium', 'low', true, false], ['CT head', 'abnormal', true, false],
  ]);
  const chart = JSON.stringify((await ok(await ctx.doctor.get(`/encounters/${enc.encounter_id}`), 'chart')));
  for (const part of ['"unit":"ng/L"', '"flag":"high"', '"value":52']) assert.ok(chart.includes(part), `the chart has the result (${part})`);
});

test('item 15: an unidentified patient gets a server-made alias, and is merged into an existing patient', async () => {
  const arrival = { sex: 'male', arrival_mode: 'ambulance', chief_complaint: 'major trauma (test)' };
  await refused(() => ctx.registration.post(`/departments/${ctx.demo}/arrivals/unidentified`, { ...arrival, chief_complaint: '' }), 422, 'chief_complaint');
  const res = await ok(await ctx.registration.post(`/departments/${ctx.demo}/arrivals/unidentified`, arrival), 'unidentified arrival', 201);
  const enc = res.encounter;
  ctx.created.push(enc.encounter_id);
  const p = enc.patient;
  assert.equal(p.unidentified, true);
  assert.match(p.temp_id, /^Trauma-\d{4,}$/);
  assert.equal(p.alias, `Unknown Male ${p.temp_id}`);
  assert.deepEqual([p.mrn, p.family_name, p.given_name, p.birth_date, p.sex], [null, null, null, null, 'male']);
  // A second one gets its own alias, and two aliases are never "similar names".
  const other = (await ok(await ctx.charge.post(`/departments/${ctx.demo}/arrivals/unidentified`, { arrival_mode: 'ambulance', chief_complaint: 'trauma (test)' }), 'second', 201)).encounter;
  ctx.created.push(other.encounter_id);
  assert.notEqual(other.patient.temp_id, p.temp_id);
  assert.equal(other.patient.alias, `Unknown ${other.patient.temp_id}`);
  let board = (await ctx.charge.get(`/departments/${ctx.demo}/board`)).json;
  const row = board.encounters.find((r) => r.encounter_id === enc.encounter_id);
  assert.equal(row.patient.unidentified, true, 'the board row says unidentified');
  assert.ok(!row.similar_name.includes(other.encounter_id) && !board.encounters.find((r) => r.encounter_id === other.encounter_id).similar_name.includes(enc.encounter_id));

  // Care goes on under the alias: an allergy on the alias's record.
  await ok(await ctx.nurse.post(`/encounters/${enc.encounter_id}/allergies`, { substance: 'Penicillin', severity: 'severe' }), 'allergy');
  // The real patient is known from an earlier visit (no open encounter now).
  const mrn = `ED-REAL-${serial++}`;
  const earlier = await arrive({ mrn, family_name: 'Okonkwo', given_name: 'Chidi', birth_date: '1985-09-12', sex: 'male' });
  await ok(await ctx.charge.post(`/encounters/${earlier.encounter_id}/status`, { status: 'departed' }), 'earlier visit ends');

  // Who may: registration and the charge nurse; a nurse may not.
  assert.equal((await ctx.nurse.post(`/encounters/${enc.encounter_id}/identify`, { patient: { mrn } })).status, 403);
  await refused(() => ctx.registration.post(`/encounters/${enc.encounter_id}/identify`, { patient: { mrn, family_name: 'Other' } }), 409, 'patient.mrn');
  await refused(() => ctx.registration.post(`/encounters/${enc.encounter_id}/identify`, {}), 422, 'patient');

  const merged = await ok(await ctx.registration.post(`/encounters/${enc.encounter_id}/identify`, { patient: { mrn } }), 'identify');
  assert.equal(merged.encounter.patient.mrn, mrn);
  assert.equal(merged.encounter.patient.family_name, 'Okonkwo');
  assert.equal(merged.encounter.patient.unidentified, false);
  assert.ok(merged.encounter.allergies.some((a) => a.substance === 'Penicillin'), 'the alias\'s record moved with it');
  assert.equal(merged.identified.temp_id, p.temp_id);
  assert.equal(merged.identified.merged_into_existing, true);
  assert.match(merged.timeline.summary, new RegExp(`Identified: Unknown Male ${p.temp_id} merged with the existing patient record`));
  // One transaction, audited, the alias retired and linked.
  const realId = merged.encounter.patient.id;
  assert.equal(sql(OWNER, `SELECT merged_into FROM patient WHERE id = ${p.id}`), String(realId));
  assert.equal(Number(sql(OWNER, `SELECT count(*) FROM audit_log WHERE action = 'patient.identify' AND encounter_id = ${enc.encounter_id} AND patient_id = ${realId}`)), 1);
  // The board row and the chart (timeline, earlier visit) follow.
  board = (await ctx.charge.get(`/departments/${ctx.demo}/board`)).json;
  assert.equal(board.encounters.find((r) => r.encounter_id === enc.encounter_id).patient.mrn, mrn);
  const chart = (await ok(await ctx.doctor.get(`/encounters/${enc.encounter_id}`), 'chart'));
  assert.ok(chart.timeline.some((t) => t.type === 'encounter.identified' && t.summary.includes(p.temp_id)), 'on the chart\'s timeline');
  // Already identified: refused.
  await refused(() => ctx.registration.post(`/encounters/${enc.encounter_id}/identify`, { patient: { mrn } }), 409, 'patient');
});

test('item 15: completing an identity with a new MRN; similar-name links follow the real name', async () => {
  const active = await arrive({ mrn: `ED-SIM-${serial++}`, family_name: 'Abernathy', given_name: 'Silas' });
  const enc = (await ok(await ctx.charge.post(`/departments/${ctx.demo}/arrivals/unidentified`, { arrival_mode: 'police', chief_complaint: 'found collapsed (test)' }), 'unidentified', 201)).encounter;
  ctx.created.push(enc.encounter_id);
  assert.deepEqual(enc.similar_name, []);
  const mrn = `ED-NEW-${serial++}`;
  await refused(() => ctx.charge.post(`/encounters/${enc.encounter_id}/identify`, { patient: { mrn, family_name: 'Abernathey' } }), 422, 'patient.given_name');
  const done = await ok(await ctx.charge.post(`/encounters/${enc.encounter_id}/identify`, { patient: { mrn, family_name: 'Abernathey', given_name: 'Sam', birth_date: '1979-01-02', sex: 'male' } }), 'identify');
  const p = done.encounter.patient;
  assert.deepEqual([p.mrn, p.family_name, p.given_name, p.birth_date, p.unidentified], [mrn, 'Abernathey', 'Sam', '1979-01-02', false]);
  assert.equal(done.identified.merged_into_existing, false);
  assert.ok(done.encounter.similar_name.includes(active.encounter_id), 'the identified patient is linked to the similar name on the board');
});
