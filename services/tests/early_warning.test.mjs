// Issue 9, items 1-5: what the screens say about a patient's NEWS2 is safe to act on. Through
// the REST API and the hub of the running services: a partial set after a full set scoring 7+
// keeps the urgent band and continuous monitoring on the board row, the bedside's encounter
// and the WebSocket event alike; the window; the floor of the last complete score; a
// per-patient interval only shortens; vitals real EDs record; times within the visit; SpO2
// scale 2 without its oxygen flag. proto/EARLY_WARNING.md is the rule book.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { requireEnv } from './lib/env.mjs';
import { signedIn, sql } from './lib/client.mjs';
import { LiveBoard, useToken } from './lib/live_client.mjs';
import { tokenFor } from './lib/auth.mjs';

const env = requireEnv('EDLIVE_API_URL', 'EDLIVE_WS_URL', 'EDLIVE_PG_OWNER', 'EDLIVE_BUILD');
const OWNER = env.EDLIVE_PG_OWNER;
const ctx = { created: [] };
let serial = Date.now() % 1e7;
const minutesAgo = (m) => new Date(Date.now() - m * 60000).toISOString().replace(/\.\d{3}Z$/, 'Z');
const minutesAhead = (m) => minutesAgo(-m);
const count = (table) => Number(sql(OWNER, `SELECT count(*) FROM ${table}`));

async function ok(res, what, status) {
  assert.ok(status ? res.status === status : res.status < 300, `${what}: ${res.status} ${res.text}`);
  return res.json;
}

async function arrive(minutes = 600) {
  const body = {
    patient: { mrn: `EW-${serial++}`, family_name: 'Warnsworth', given_name: 'Eli', birth_date: '1956-04-05', sex: 'male' },
    arrival_mode: 'ambulance', chief_complaint: 'early warning test', arrived_at: minutesAgo(minutes),
  };
  const enc = (await ok(await ctx.charge.post(`/departments/${ctx.demo}/arrivals`, body), 'arrival', 201)).encounter;
  ctx.created.push(enc.encounter_id);
  return enc.encounter_id;
}

const vitals = (enc, body) => ctx.nurse.post(`/encounters/${enc}/vitals`, { taken_by: ctx.nurseId, ...body });

// RR 26 (3), SpO2 90 (3), air (0), SBP 95 (2), HR 95 (1), A (0), 37.0 (0): 9, high.
const FULL_9 = { resp_rate: 26, spo2: 90, on_oxygen: false, systolic_bp: 95, diastolic_bp: 60, heart_rate: 95, consciousness: 'A', temperature_c: 37.0 };
// All normal: 0, low.
const FULL_0 = { resp_rate: 16, spo2: 98, on_oxygen: false, systolic_bp: 125, diastolic_bp: 80, heart_rate: 72, consciousness: 'A', temperature_c: 36.8 };

async function refused(call, status, code, field) {
  const before = [count('vitals'), count('event')];
  const res = await call();
  assert.equal(res.status, status, res.text);
  assert.equal(res.json.error.code, code, res.text);
  assert.equal(res.json.error.field, field, res.text);
  assert.deepEqual([count('vitals'), count('event')], before, `nothing is written: ${res.text}`);
  return res.json.error;
}

before(async () => {
  ctx.demo = Number(sql(OWNER, "SELECT id FROM department WHERE code = 'DEMO'"));
  ctx.charge = await signedIn('adeyemi');
  ctx.nurse = await signedIn('patel');
  ctx.doctor = await signedIn('dr.lopez');
  ctx.nurseId = (await ctx.nurse.get('/session')).json.staff_id;
  useToken(await tokenFor(env.EDLIVE_API_URL, 'patel'));
});

after(async () => {
  for (const id of ctx.created) await ctx.charge.post(`/encounters/${id}/status`, { status: 'left_without_being_seen' }).catch(() => {});
});

function assertUrgent(row, where) {
  assert.equal(row.news2.band, 'high', `${where}: band`);
  assert.equal(row.monitoring, 'continuous', `${where}: monitoring`);
  assert.equal(row.reassess_due_at, null, `${where}: no due time under continuous monitoring`);
}

test('a heart-rate-only set after a full set scoring 9 keeps high and continuous on the board, the bedside and the live event', async () => {
  const enc = await arrive();
  const board = new LiveBoard(env.EDLIVE_WS_URL, ctx.demo);
  await board.connect();
  try {
    const full = await ok(await vitals(enc, { ...FULL_9, taken_at: minutesAgo(20) }), 'full set', 201);
    assert.equal(full.encounter.news2.total, 9);
    assertUrgent(full.encounter, 'reply to the full set');

    const hr = await ok(await vitals(enc, { heart_rate: 80 }), 'heart rate only', 201);
    // The set on its own scores 0; the patient's score uses the latest of each parameter.
    assert.equal(hr.vitals.news2.total, 0);
    assert.equal(hr.encounter.news2.total, 8, 'HR 80 scores 0 instead of 1; the other six still count');
    assert.equal(hr.encounter.news2.complete, true);
    assert.equal(hr.encounter.news2.inputs.heart_rate.value, 80);
    assert.equal(hr.encounter.news2.inputs.resp_rate.value, 26);
    assert.equal(hr.encounter.news2.inputs.resp_rate.score, 3);
    assert.equal(hr.encounter.news2.oldest_input_at, full.vitals.taken_at);
    assertUrgent(hr.encounter, 'reply to the heart-rate set');

    // The bedside and the chart read the encounter; the board reads the department's board.
    const chart = await ok(await ctx.nurse.get(`/encounters/${enc}`), 'encounter');
    assertUrgent(chart.encounter || chart, 'GET encounter (bedside)');
    const rest = await ok(await ctx.charge.get(`/departments/${ctx.demo}/board`), 'board');
    assertUrgent(rest.encounters.find((r) => r.encounter_id === enc), 'GET board');
    await board.waitFor(() => board.rows.get(enc)?.latest_vitals?.id === hr.vitals.id, 5000, 'the heart-rate event');
    assertUrgent(board.rows.get(enc), 'WebSocket board row');
    const late = new LiveBoard(env.EDLIVE_WS_URL, ctx.demo);
    await late.connect();
    assertUrgent(late.rows.get(enc), 'hub snapshot');
    late.close();
  } finally {
    board.close();
  }
});

test('readings older than the window drop out; the last complete score is the floor of an incomplete one', async () => {
  const enc = await arrive();
  const window = Number(sql(OWNER, `SELECT ews_window_min FROM department WHERE id = ${ctx.demo}`));
  assert.equal(window, 240, 'the default window is 4 h');
  const full = await ok(await vitals(enc, { ...FULL_9, taken_at: minutesAgo(10) }), 'full set', 201);
  assert.equal(full.encounter.news2.complete, true);
  // Four and a half hours pass: the full set's readings leave the window.
  sql(OWNER, `UPDATE vitals SET taken_at = taken_at - make_interval(mins => ${window + 20}) WHERE encounter_id = ${enc}`);
  const hr = await ok(await vitals(enc, { heart_rate: 72 }), 'heart rate now', 201);
  const n = hr.encounter.news2;
  assert.equal(n.complete, false);
  assert.equal(n.total, 0, 'only the heart rate is in the window');
  assert.deepEqual(n.missing.sort(), ['consciousness', 'on_oxygen', 'resp_rate', 'spo2', 'systolic_bp', 'temperature_c']);
  assert.ok(!('resp_rate' in n.inputs));
  assert.equal(n.floored, true);
  assertUrgent(hr.encounter, 'incomplete score after a complete 9');

  // A complete set replaces the floor, in either direction.
  const fresh = await ok(await vitals(enc, FULL_0), 'complete normal set', 201);
  assert.equal(fresh.encounter.news2.total, 0);
  assert.equal(fresh.encounter.news2.band, 'low');
  assert.equal(fresh.encounter.monitoring, 'interval');
  assert.equal(Date.parse(fresh.encounter.reassess_due_at) - Date.parse(fresh.vitals.taken_at), 720 * 60000);
});

test('a partial set does not restart the clock of a complete score', async () => {
  const enc = await arrive();
  // RR 22 (2), SpO2 94 (1), SBP 105 (1), HR 100 (1): 5, medium, hourly.
  const medium = await ok(await vitals(enc, { ...FULL_0, resp_rate: 22, spo2: 94, systolic_bp: 105, diastolic_bp: 70, heart_rate: 100, taken_at: minutesAgo(50) }), 'medium', 201);
  assert.equal(medium.encounter.news2.band, 'medium');
  const due = Date.parse(medium.encounter.reassess_due_at);
  assert.equal(due - Date.parse(medium.vitals.taken_at), 60 * 60000);
  const temp = await ok(await vitals(enc, { pain: 2, temperature_c: 36.9 }), 'temperature only', 201);
  assert.equal(temp.encounter.news2.complete, true);
  assert.equal(temp.encounter.news2.band, 'medium');
  assert.equal(Date.parse(temp.encounter.reassess_due_at), due, 'still due when the full set said, not an hour from the temperature');
});

test('a per-patient interval shortens the band interval but never lengthens it', async () => {
  const enc = await arrive();
  const set = await ok(await vitals(enc, { ...FULL_0, heart_rate: 95 }), 'score 1', 201); // 1: 4-hourly
  const taken = Date.parse(set.vitals.taken_at);
  assert.equal(Date.parse(set.encounter.reassess_due_at) - taken, 240 * 60000);
  const shorter = await ok(await ctx.nurse.post(`/encounters/${enc}/reassessment`, { interval_min: 30 }), 'shorter');
  assert.equal(Date.parse(shorter.encounter.reassess_due_at) - taken, 30 * 60000);
  const longer = await ok(await ctx.nurse.post(`/encounters/${enc}/reassessment`, { interval_min: 600 }), 'longer');
  assert.equal(Date.parse(longer.encounter.reassess_due_at) - taken, 240 * 60000, 'the band interval stands');
  await ok(await vitals(enc, FULL_9), 'score 9', 201);
  const row = (await ok(await ctx.nurse.get(`/encounters/${enc}`), 'encounter'));
  assertUrgent(row.encounter || row, 'a per-patient interval under continuous monitoring');
});

test('vitals EDs record: palpated systolic, profound hypothermia with confirmation, decimals rounded as charted', async () => {
  const enc = await arrive();
  const palpated = await ok(await vitals(enc, { systolic_bp: 78 }), 'palpated systolic', 201);
  assert.equal(palpated.vitals.systolic_bp, 78);
  assert.equal(palpated.vitals.diastolic_bp, null);
  assert.equal(palpated.encounter.news2.inputs.systolic_bp.score, 3);
  await refused(() => vitals(enc, { diastolic_bp: 60 }), 422, 'missing_field', 'systolic_bp');

  // 15 C: accepted only when confirmed; the refusal names the field.
  const e = await refused(() => vitals(enc, { temperature_c: 15.0, heart_rate: 40 }), 422, 'implausible_value', 'temperature_c');
  assert.match(e.message, /confirm/);
  const cold = await ok(await vitals(enc, { temperature_c: 15.0, heart_rate: 40, confirm: { temperature_c: true } }), 'confirmed hypothermia', 201);
  assert.equal(cold.vitals.temperature_c, 15);
  assert.equal(cold.vitals.news2.scores.temperature_c, 3);
  // The rest of the set saved without the implausible value (what the bedside offers).
  await refused(() => vitals(enc, { heart_rate: 20, resp_rate: 18 }), 422, 'implausible_value', 'heart_rate');
  await ok(await vitals(enc, { resp_rate: 18 }), 'the rest without it', 201);
  await refused(() => vitals(enc, { temperature_c: 14.9, confirm: { temperature_c: true } }), 422, 'out_of_range', 'temperature_c');

  // RR 20.5 is charted 21 (2); 20.4 is 20 (0).
  const up = await ok(await vitals(enc, { resp_rate: 20.5 }), 'RR 20.5', 201);
  assert.equal(up.vitals.resp_rate, 21);
  assert.equal(up.vitals.news2.scores.resp_rate, 2);
  const down = await ok(await vitals(enc, { resp_rate: 20.4 }), 'RR 20.4', 201);
  assert.equal(down.vitals.resp_rate, 20);
  assert.equal(down.vitals.news2.scores.resp_rate, 0);
});

test('taken_at lies within the visit; one ahead of the clock never becomes the latest', async () => {
  const enc = await arrive(60);
  await refused(() => vitals(enc, { heart_rate: 80, taken_at: minutesAgo(90) }), 422, 'out_of_range', 'taken_at');
  await refused(() => vitals(enc, { heart_rate: 80, taken_at: minutesAhead(30) }), 422, 'out_of_range', 'taken_at');
  // A device clock 3 minutes fast: stored as now, so a set taken a moment later is the latest.
  const skewed = await ok(await vitals(enc, { heart_rate: 130, taken_at: minutesAhead(3) }), 'within the allowance', 201);
  assert.ok(Date.parse(skewed.vitals.taken_at) <= Date.now() + 2000, `stored ${skewed.vitals.taken_at}`);
  const next = await ok(await vitals(enc, { heart_rate: 75 }), 'taken since', 201);
  assert.equal(next.encounter.latest_vitals.id, next.vitals.id);
  assert.equal(next.encounter.news2.inputs.heart_rate.value, 75);
});

test('SpO2 scale 2 needs the oxygen flag: never scored as room air', async () => {
  const enc = await arrive();
  await ok(await ctx.doctor.post(`/encounters/${enc}/news2-scale`, { scale: 2 }), 'scale 2');
  await refused(() => vitals(enc, { spo2: 97 }), 422, 'missing_field', 'on_oxygen');
  const o2 = await ok(await vitals(enc, { spo2: 97, on_oxygen: true }), 'with the flag', 201);
  assert.equal(o2.encounter.news2.subscores.spo2, 3, '97% on oxygen on scale 2 scores 3');
  // On scale 1 the flag may be left out, as before.
  const other = await arrive();
  await ok(await vitals(other, { spo2: 97 }), 'scale 1 without the flag', 201);
});

test('changing the SpO2 scale rescores the readings already taken on every screen', async () => {
  const enc = await arrive();
  await ok(await ctx.doctor.post(`/encounters/${enc}/news2-scale`, { scale: 2 }), 'scale 2');
  // SpO2 88% on air scores 0 on scale 2 (target 88-92%) and 3 on scale 1 (91% or less).
  const set = await ok(await vitals(enc, { ...FULL_0, spo2: 88, taken_at: minutesAgo(10) }), 'full set on scale 2', 201);
  assert.equal(set.encounter.news2.total, 0);
  assert.equal(set.encounter.news2.band, 'low');
  const board = new LiveBoard(env.EDLIVE_WS_URL, ctx.demo);
  await board.connect();
  try {
    const back = await ok(await ctx.doctor.post(`/encounters/${enc}/news2-scale`, { scale: 1 }), 'back to scale 1');
    const row = back.encounter || back;
    assert.equal(row.spo2_scale, 1);
    assert.equal(row.news2.scale, 1, 'the shown score is the scale 1 score');
    assert.equal(row.news2.inputs.spo2.score, 3, 'SpO2 88% scores 3 on scale 1');
    assert.equal(row.news2.total, 3);
    assert.equal(row.news2.band, 'low_medium', 'a single 3: urgent ward-based response');
    assert.equal(row.news2.reassess_min, 60);
    const due = Date.parse(row.reassess_due_at);
    assert.ok(due <= Date.parse(set.vitals.taken_at) + 60 * 60000 + 1000, `hourly from the set: ${row.reassess_due_at}`);
    const rest = await ok(await ctx.charge.get(`/departments/${ctx.demo}/board`), 'board');
    assert.equal(rest.encounters.find((r) => r.encounter_id === enc).news2.band, 'low_medium', 'GET board');
    await board.waitFor(() => board.rows.get(enc)?.spo2_scale === 1, 5000, 'the scale event');
    assert.equal(board.rows.get(enc).news2.band, 'low_medium', 'WebSocket board row');
  } finally {
    board.close();
  }
});

// A birth date that makes the patient `years` old and `months` more today, two days past that
// birthday (so a server whose date is a day behind UTC agrees on the completed age).
function bornAgo(years, months = 0) {
  const now = new Date();
  const d = new Date(Date.UTC(now.getUTCFullYear() - years, now.getUTCMonth() - months, Math.min(now.getUTCDate(), 28)));
  d.setUTCDate(d.getUTCDate() - 2);
  return d.toISOString().slice(0, 10);
}

async function arriveAged(years, months) {
  const body = {
    patient: { mrn: `EWC-${serial++}`, family_name: 'Childers', given_name: 'Pip', birth_date: bornAgo(years, months), sex: 'female' },
    arrival_mode: 'walk_in', chief_complaint: 'paediatric early warning test', arrived_at: minutesAgo(60),
  };
  const enc = (await ok(await ctx.charge.post(`/departments/${ctx.demo}/arrivals`, body), 'arrival', 201)).encounter;
  ctx.created.push(enc.encounter_id);
  return enc.encounter_id;
}

test('children under 16 get Bedside PEWS with age-banded ranges, not NEWS2', async () => {
  const enc = await arriveAged(4, 2);
  // 4-12 y: HR 135 (2), SBP 100 (0), refill 3.5 s (4), RR 35 (1), mild effort (1), SpO2 93 (1), air (0): 9.
  const set = await ok(await vitals(enc, {
    heart_rate: 135, systolic_bp: 100, cap_refill_s: 3.5, resp_rate: 35, resp_effort: 'mild', spo2: 93, on_oxygen: false, temperature_c: 38.0, consciousness: 'A',
  }), 'child vitals', 201);
  const n = set.encounter.news2;
  assert.equal(n.system, 'pews');
  assert.equal(n.age_band, '4_to_12y');
  assert.deepEqual(n.subscores, { heart_rate: 2, systolic_bp: 0, cap_refill_s: 4, resp_rate: 1, resp_effort: 1, spo2: 1, on_oxygen: 0 });
  assert.equal(n.total, 9);
  assert.equal(n.complete, true);
  assertUrgent(set.encounter, 'PEWS 9');
  assert.ok(!('temperature' in n.subscores) && !('consciousness' in n.subscores), 'no adult-range marks for a child');
  assert.equal(set.vitals.cap_refill_s, 3.5);
  assert.equal(set.vitals.resp_effort, 'mild');

  // On oxygen without a flow: scored as the least oxygen can (2), and incomplete.
  const o2 = await ok(await vitals(enc, { on_oxygen: true, spo2: 96 }), 'oxygen, no flow', 201);
  assert.equal(o2.encounter.news2.subscores.on_oxygen, 2);
  assert.equal(o2.encounter.news2.complete, false);
  assert.ok(o2.encounter.news2.missing.includes('oxygen_l_min'));
  const flow = await ok(await vitals(enc, { on_oxygen: true, oxygen_l_min: 6, spo2: 96 }), 'oxygen 6 L/min', 201);
  assert.equal(flow.encounter.news2.subscores.on_oxygen, 4);
  assert.equal(flow.encounter.news2.complete, true);
});

test('PEWS age bands at their edges: the same heart rate scores by completed age; 16 is NEWS2', async () => {
  const score = async (years, months, hr) => {
    const enc = await arriveAged(years, months);
    const set = await ok(await vitals(enc, { heart_rate: hr }), `HR ${hr} at ${years} y ${months} m`, 201);
    return set.encounter.news2;
  };
  // 4-12 y: 71-109 scores 0; over 12 y: 100 scores 1.
  let n = await score(12, 11, 105);
  assert.deepEqual([n.system, n.age_band, n.subscores.heart_rate], ['pews', '4_to_12y', 0]);
  n = await score(13, 0, 105);
  assert.deepEqual([n.system, n.age_band, n.subscores.heart_rate], ['pews', 'over_12y', 1]);
  // 1-4 y: 91-119 scores 0; 4-12 y: 110 and over scores 1.
  n = await score(3, 11, 115);
  assert.deepEqual([n.age_band, n.subscores.heart_rate], ['1_to_4y', 0]);
  n = await score(4, 0, 115);
  assert.deepEqual([n.age_band, n.subscores.heart_rate], ['4_to_12y', 1]);
  // Under 3 months: 111-149 scores 0; 3-12 months: 100 or below scores 1.
  n = await score(0, 2, 105);
  assert.deepEqual([n.age_band, n.subscores.heart_rate], ['under_3m', 1]);
  n = await score(0, 3, 105);
  assert.deepEqual([n.age_band, n.subscores.heart_rate], ['3_to_12m', 0]);
  // 15 years 11 months is a child; 16 is scored with NEWS2.
  n = await score(15, 11, 105);
  assert.equal(n.system, 'pews');
  n = await score(16, 0, 105);
  assert.equal(n.system, 'news2');
  assert.equal(n.subscores.heart_rate, 1);
});
