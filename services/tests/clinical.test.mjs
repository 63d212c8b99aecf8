// The record underneath the screens (proto/README.md "Clinical record"), through the REST API
// against the real database: orders and results, disposition and the boarding clock, departure,
// the append-only location history, bed cleaning, the whole patient across visits (allergies,
// medications, problems, coded diagnoses of a prior visit), the board comment, NEWS2 scale 2,
// the charge nurse's thresholds, and clear refusals that write nothing.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { requireEnv } from './lib/env.mjs';
import { signedIn, sql } from './lib/client.mjs';

const env = requireEnv('EDLIVE_API_URL', 'EDLIVE_PG_OWNER', 'EDLIVE_PG');
const OWNER = env.EDLIVE_PG_OWNER;
const ctx = {};

before(async () => {
  ctx.dept = Number(sql(OWNER, "SELECT id FROM department WHERE code = 'DEMO'"));
  ctx.charge = await signedIn('adeyemi');
  ctx.lopez = await signedIn('dr.lopez');
  ctx.patel = await signedIn('patel');
  ctx.patelStaff = Number(sql(OWNER, "SELECT staff_id FROM account WHERE username = 'patel'"));
});

const created = (r, what) => assert.ok(r.status === 200 || r.status === 201, `${what}: ${r.status} ${r.text}`);
const freeBed = (area = 'acute') => Number(sql(OWNER, `SELECT b.id FROM bed b WHERE b.department_id = ${ctx.dept}
  AND b.area = '${area}' AND b.cleaning_since IS NULL AND NOT EXISTS (SELECT 1 FROM encounter e WHERE e.bed_id = b.id
  AND e.status NOT IN ('departed', 'left_without_being_seen')) ORDER BY b.id LIMIT 1`) || 0);

async function arrive(mrn = `CL-${randomUUID().slice(0, 8)}`, complaint = 'clinical record test') {
  const r = await ctx.charge.post(`/departments/${ctx.dept}/arrivals`, {
    patient: { mrn, family_name: 'Quillfeather', given_name: 'Rosalind', birth_date: '1949-06-02', sex: 'female' },
    arrival_mode: 'ambulance', chief_complaint: complaint,
  });
  created(r, 'arrival');
  return { id: r.json.encounter.encounter_id, mrn, row: r.json.encounter };
}

test('orders: requested, collected, resulted abnormal with a new-result mark until seen; a result is final', async () => {
  const { id } = await arrive();
  const lab = await ctx.lopez.post(`/encounters/${id}/orders`, { kind: 'lab', name: 'Troponin I' });
  created(lab, 'order');
  const orderId = lab.json.order.id;
  assert.equal(lab.json.order.status, 'ordered');
  assert.deepEqual(lab.json.encounter.orders.map((o) => [o.name, o.status]), [['Troponin I', 'ordered']]);
  created(await ctx.patel.post(`/orders/${orderId}/status`, { status: 'collected' }), 'collected');
  const res = await ctx.patel.post(`/orders/${orderId}/status`, { status: 'resulted', abnormal: true });
  created(res, 'resulted');
  const o = res.json.encounter.orders[0];
  assert.equal(o.status, 'resulted');
  assert.equal(o.abnormal, true);
  assert.equal(o.result_seen, false, 'a new result is marked new on the board');
  assert.ok(o.ordered_at && o.collected_at && o.resulted_at);
  const seen = await ctx.lopez.post(`/orders/${orderId}/seen`);
  created(seen, 'seen');
  assert.equal(seen.json.encounter.orders[0].result_seen, true);
  const again = await ctx.patel.post(`/orders/${orderId}/status`, { status: 'collected' });
  assert.equal(again.status, 409, again.text);
  assert.equal(again.json.error.field, 'status');
  const abnormalTooEarly = await ctx.lopez.post(`/encounters/${id}/orders`, { kind: 'imaging', name: 'CT head' });
  const early = await ctx.patel.post(`/orders/${abnormalTooEarly.json.order.id}/status`, { status: 'collected', abnormal: true });
  assert.equal(early.status, 422, early.text);
  assert.equal(early.json.error.field, 'abnormal');
  assert.equal(Number(sql(OWNER, `SELECT count(*) FROM clinical_order WHERE encounter_id = ${id}`)), 2);
});

test('admit starts the boarding clock; departure ends the encounter, frees the bed, and closes the location history; a bed being cleaned takes nobody', async () => {
  const { id } = await arrive();
  const bed = freeBed();
  assert.ok(bed, 'a free acute bed');
  created(await ctx.charge.post(`/encounters/${id}/bed`, { bed_id: bed }), 'into bed');
  const noDispo = await ctx.charge.post(`/encounters/${id}/departure`, {});
  assert.equal(noDispo.status, 409, 'departure needs a disposition');
  assert.equal(noDispo.json.error.field, 'disposition');
  const admit = await ctx.lopez.post(`/encounters/${id}/disposition`, { kind: 'admit', destination: 'Cardiology ward' });
  created(admit, 'admit');
  assert.equal(admit.json.encounter.disposition.kind, 'admit');
  assert.ok(admit.json.encounter.disposition.decided_at);
  assert.equal(admit.json.encounter.boarding_since, admit.json.encounter.disposition.decided_at, 'the boarding clock starts at the decision to admit');
  assert.equal(admit.json.encounter.status, 'disposition_decided');
  const left = await ctx.charge.post(`/encounters/${id}/departure`, {});
  created(left, 'departure');
  assert.equal(left.json.encounter.status, 'departed');
  assert.equal(left.json.encounter.boarding_since, null, 'no longer boarding once gone');
  assert.ok(left.json.encounter.departed_at);
  let board = (await ctx.charge.get(`/departments/${ctx.dept}/board`)).json;
  assert.equal(board.beds.find((b) => b.id === bed).status, 'free', 'the bed is free again');
  assert.ok(!board.encounters.some((r) => r.encounter_id === id), 'off the board');
  // The charge nurse sends it to be cleaned: nobody can be put in it until it is clean.
  created(await ctx.charge.post(`/beds/${bed}/status`, { status: 'cleaning' }), 'to cleaning');
  board = (await ctx.charge.get(`/departments/${ctx.dept}/board`)).json;
  assert.equal(board.beds.find((b) => b.id === bed).status, 'cleaning');
  const next = await arrive();
  const blocked = await ctx.charge.post(`/encounters/${next.id}/bed`, { bed_id: bed });
  assert.equal(blocked.status, 409, blocked.text);
  assert.equal(blocked.json.error.field, 'bed_id');
  created(await ctx.patel.post(`/beds/${bed}/status`, { status: 'free' }), 'cleaned');
  created(await ctx.charge.post(`/encounters/${next.id}/bed`, { bed_id: bed }), 'into the clean bed');
  const occupied = await ctx.charge.post(`/beds/${bed}/status`, { status: 'cleaning' });
  assert.equal(occupied.status, 409, 'a bed with a patient in it is not sent to cleaning');
  // The history: waiting room, then the bed, then departed; each period ends where the next begins.
  const chart = (await ctx.lopez.get(`/encounters/${id}`));
  assert.equal(chart.status, 200, chart.text);
  const locs = chart.json.locations;
  assert.deepEqual(locs.map((l) => l.area), ['waiting_room', 'acute', 'departed'].slice(0, locs.length));
  for (let i = 0; i + 1 < locs.length; i++) assert.equal(locs[i].ended_at, locs[i + 1].started_at, 'contiguous periods');
});

test('the location history is append-only for the services', () => {
  const row = sql(OWNER, 'SELECT encounter_id FROM encounter_location ORDER BY started_at LIMIT 1');
  for (const stmt of [`UPDATE encounter_location SET started_at = now() WHERE encounter_id = ${row}`,
    `DELETE FROM encounter_location WHERE encounter_id = ${row}`]) {
    assert.throws(() => sql(env.EDLIVE_PG, stmt), /permission denied|append-only|not allowed/i, stmt);
  }
});

test('the whole patient: allergies, medications, problems and a prior visit\'s coded diagnoses are there when the patient returns', async () => {
  const first = await arrive(undefined, 'first visit: chest pain');
  created(await ctx.patel.post(`/encounters/${first.id}/allergies`, { substance: 'Penicillin', reaction: 'hives', severity: 'moderate' }), 'allergy');
  created(await ctx.patel.post(`/encounters/${first.id}/medications`, { name: 'Metoprolol', dose: '25 mg', route: 'oral', frequency: 'twice daily' }), 'medication');
  created(await ctx.lopez.post(`/encounters/${first.id}/problems`, { system: 'icd10', code: 'I10', display: 'Essential hypertension' }), 'problem');
  created(await ctx.lopez.post(`/encounters/${first.id}/diagnoses`, { system: 'icd10', code: 'I20.9', display: 'Angina pectoris, unspecified' }), 'diagnosis');
  const icd9 = await ctx.lopez.post(`/encounters/${first.id}/diagnoses`, { system: 'icd9', code: '413.9', display: 'Other angina' });
  assert.equal(icd9.status, 422, 'new diagnoses are ICD-10');
  assert.equal(icd9.json.error.field, 'system');
  const badShape = await ctx.lopez.post(`/encounters/${first.id}/diagnoses`, { system: 'icd10', code: 'chest', display: 'x' });
  assert.equal(badShape.status, 422);
  assert.equal(badShape.json.error.field, 'code');
  created(await ctx.lopez.post(`/encounters/${first.id}/disposition`, { kind: 'discharge' }), 'discharge');
  created(await ctx.charge.post(`/encounters/${first.id}/departure`, {}), 'departure');
  // Back a week later (here: now), the same MRN.
  const again = await arrive(first.mrn, 'second visit: palpitations');
  assert.deepEqual(again.row.allergies.map((a) => a.substance), ['Penicillin'], 'allergies on the board row at arrival');
  const chart = await ctx.lopez.get(`/encounters/${again.id}`);
  const rec = chart.json.record;
  assert.deepEqual(rec.medications.map((m) => m.name), ['Metoprolol']);
  assert.deepEqual(rec.problems.map((p) => p.code), ['I10']);
  const prior = rec.prior_visits.find((v) => v.encounter_id === first.id);
  assert.ok(prior, 'the first visit is listed');
  assert.equal(prior.disposition, 'discharge');
  assert.deepEqual(prior.diagnoses.map((d) => [d.system, d.code]), [['icd10', 'I20.9']]);
});

test('ICD-9 codes of older records are kept as coded and shown beside ICD-10', async () => {
  const rows = sql(OWNER, "SELECT count(*) FROM encounter_diagnosis WHERE system = 'icd9'");
  assert.ok(Number(rows) > 0, 'the demo ED has older visits coded in ICD-9');
  const enc = Number(sql(OWNER, `SELECT e.id FROM encounter e WHERE e.department_id = ${ctx.dept} AND e.departed_at IS NULL
    AND EXISTS (SELECT 1 FROM encounter o JOIN encounter_diagnosis d ON d.encounter_id = o.id
                WHERE o.patient_id = e.patient_id AND d.system = 'icd9') LIMIT 1`));
  const chart = await ctx.lopez.get(`/encounters/${enc}`);
  const codes = chart.json.record.prior_visits.flatMap((v) => v.diagnoses.map((d) => d.system));
  assert.ok(codes.includes('icd9'), 'an ICD-9 diagnosis of a prior visit is in the chart');
});

test('board comment, isolation, NEWS2 scale 2 (physicians only) and the server-side NEWS2 on the row', async () => {
  const { id } = await arrive();
  const c = await ctx.patel.post(`/encounters/${id}/comment`, { text: 'Family in waiting room' });
  created(c, 'comment');
  assert.equal(c.json.encounter.comment, 'Family in waiting room');
  created(await ctx.patel.post(`/encounters/${id}/isolation`, { isolation: 'droplet' }), 'isolation');
  const nurseScale = await ctx.patel.post(`/encounters/${id}/news2-scale`, { scale: 2 });
  assert.equal(nurseScale.status, 403, 'a clinician prescribes scale 2: physicians');
  // Scale 1: SpO2 88 on air scores 3. Scale 2: 88 on air scores 0 (target 88-92).
  const vitals = { taken_by: ctx.patelStaff, resp_rate: 18, spo2: 88, on_oxygen: false, systolic_bp: 125, diastolic_bp: 80, heart_rate: 80, temperature_c: 37.0, consciousness: 'A' };
  const v1 = await ctx.patel.post(`/encounters/${id}/vitals`, vitals);
  created(v1, 'vitals');
  assert.equal(v1.json.encounter.news2.scale, 1);
  assert.equal(v1.json.encounter.news2.subscores.spo2, 3);
  assert.equal(v1.json.encounter.news2.any_three, true);
  created(await ctx.lopez.post(`/encounters/${id}/news2-scale`, { scale: 2 }), 'scale 2');
  const v2 = await ctx.patel.post(`/encounters/${id}/vitals`, vitals);
  assert.equal(v2.json.encounter.news2.scale, 2);
  assert.equal(v2.json.encounter.news2.subscores.spo2, 0);
  assert.ok(v2.json.encounter.reassess_due_at, 'a reassessment time from the NEWS2 band');
});

test('alert thresholds: everyone reads, only the charge nurse sets, bad values are refused naming the field', async () => {
  const path = `/departments/${ctx.dept}/alert-thresholds`;
  const read = await ctx.lopez.get(path);
  assert.equal(read.status, 200, read.text);
  const put = (api, body) => api.req('PUT', path, body);
  const denied = await put(ctx.lopez, { waiting_longest_min: 30, boarder_min: 120, esi12_unassigned: true });
  assert.equal(denied.status, 403);
  const ok = await put(ctx.charge, { waiting_longest_min: 45, boarder_min: 240, esi12_unassigned: true });
  assert.ok(ok.status === 200 || ok.status === 201, ok.text);
  assert.equal((await ctx.lopez.get(path)).json.waiting_longest_min, 45);
  const bad = await put(ctx.charge, { waiting_longest_min: -5, boarder_min: 240, esi12_unassigned: true });
  assert.equal(bad.status, 422);
  assert.equal(bad.json.error.field, 'waiting_longest_min');
  assert.equal((await ctx.lopez.get(path)).json.waiting_longest_min, 45, 'nothing written');
  await put(ctx.charge, read.json); // as the demo had it
});

test('bad input on each new route: a clear 4xx naming the field, and nothing written', async () => {
  const { id } = await arrive();
  const before = () => sql(OWNER, `SELECT (SELECT count(*) FROM clinical_order WHERE encounter_id = ${id}) || '/' ||
    (SELECT version FROM encounter WHERE id = ${id}) || '/' || (SELECT count(*) FROM encounter_diagnosis WHERE encounter_id = ${id})`);
  const state = before();
  const cases = [
    [ctx.lopez, `/encounters/${id}/orders`, { kind: 'xray', name: 'Chest' }, 'kind'],
    [ctx.lopez, `/encounters/${id}/orders`, { kind: 'lab' }, 'name'],
    [ctx.lopez, `/encounters/${id}/orders`, { kind: 'lab', name: 'x'.repeat(500) }, 'name'],
    [ctx.lopez, `/encounters/${id}/disposition`, { kind: 'home' }, 'kind'],
    [ctx.lopez, `/encounters/${id}/disposition`, { kind: 'admit', decided_at: '2099-01-01T00:00:00Z' }, 'decided_at'],
    [ctx.patel, `/encounters/${id}/comment`, { text: 'x'.repeat(201) }, 'text'],
    [ctx.patel, `/encounters/${id}/isolation`, { isolation: 'quarantine' }, 'isolation'],
    [ctx.patel, `/encounters/${id}/reassessment`, { interval_min: 100000 }, 'interval_min'],
    [ctx.lopez, `/encounters/${id}/diagnoses`, { system: 'icd10', code: 'I10' }, 'display'],
    [ctx.patel, `/encounters/${id}/allergies`, { reaction: 'rash' }, 'substance'],
    [ctx.charge, `/encounters/${id}/bed`, { bed_id: 99999999 }, 'bed_id'],
    [ctx.patel, '/beds/99999999/status', { status: 'cleaning' }, null],
  ];
  for (const [api, path, body, field] of cases) {
    const r = await api.post(path, body);
    assert.ok(r.status >= 400 && r.status < 500, `${path} ${JSON.stringify(body).slice(0, 60)}: ${r.status} ${r.text}`);
    assert.ok(r.json?.error?.code, `a JSON error for ${path}`);
    if (field) assert.equal(r.json.error.field, field, `${path} ${JSON.stringify(body).slice(0, 60)}`);
  }
  assert.equal(before(), state, 'nothing written');
});
