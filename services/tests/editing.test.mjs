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
