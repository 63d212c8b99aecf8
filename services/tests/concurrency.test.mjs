// Concurrency control and retries (proto/GUARANTEES.md):
// * two clinicians change the same encounter from the same version: one wins, the other gets
//   409 version_conflict with the encounter as it is now, and nothing is overwritten;
// * a bedside tablet that sends the same vitals three times with one Idempotency-Key stores
//   them once and gets the same answer each time;
// * ed-api dying between its commit and its reply loses nothing: the write is on the board
//   (ed-relay delivers it) and the retry with the same key gets the first answer.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { requireEnv, svc } from './lib/env.mjs';
import { signedIn, sql, openSocket, sleep } from './lib/client.mjs';

const env = requireEnv('EDLIVE_API_URL', 'EDLIVE_HUB_URL', 'EDLIVE_PG_OWNER', 'EDLIVE_REPO');
const OWNER = env.EDLIVE_PG_OWNER;
const ctx = {};

before(async () => {
  ctx.demo = Number(sql(OWNER, "SELECT id FROM department WHERE code = 'DEMO'"));
  ctx.charge = await signedIn('adeyemi');
  ctx.lopez = await signedIn('dr.lopez');
  ctx.chen = await signedIn('dr.chen');
  ctx.patel = await signedIn('patel');
  ctx.patelStaff = Number(sql(OWNER, "SELECT staff_id FROM account WHERE username = 'patel'"));
});

after(() => ctx.socket?.close());

async function newEncounter(complaint) {
  const r = await ctx.charge.post(`/departments/${ctx.demo}/arrivals`, {
    patient: { mrn: `CC-${randomUUID().slice(0, 8)}`, family_name: 'Ashdown', given_name: 'Perrin', birth_date: '1971-02-14', sex: 'male' },
    arrival_mode: 'walk_in', chief_complaint: complaint,
  });
  assert.equal(r.status, 201, r.text);
  return r.json.encounter;
}

const count = (table, enc) => Number(sql(OWNER, `SELECT count(*) FROM ${table} WHERE encounter_id = ${enc}`));

test('two clinicians change one encounter from the same version: one wins, the other gets 409 and the current state', async () => {
  const row = await newEncounter('concurrency: both triage at once');
  const v = row.version;
  const events = count('event', row.encounter_id);
  // Both read version v; both send their change based on it, at the same moment.
  const [a, b] = await Promise.all([
    ctx.lopez.post(`/encounters/${row.encounter_id}/triage`, { esi: 2 }, { 'if-match': `"${v}"` }),
    ctx.chen.post(`/encounters/${row.encounter_id}/triage`, { esi: 4 }, { 'if-match': `"${v}"` }),
  ]);
  const statuses = [a.status, b.status].sort();
  assert.deepEqual(statuses, [200, 409], `one wins, one conflicts: ${a.text} / ${b.text}`);
  const [won, lost] = a.status === 200 ? [a, b] : [b, a];
  const winnerEsi = won === a ? 2 : 4;
  assert.equal(lost.json.error.code, 'version_conflict');
  assert.equal(lost.json.error.field, 'If-Match');
  // The loser is shown the colleague's change, at its new version.
  assert.equal(lost.json.current.esi, winnerEsi);
  assert.equal(lost.json.current.version, v + 1);
  // Nothing was overwritten: the record holds the winner's value and one new event.
  assert.equal(Number(sql(OWNER, `SELECT esi FROM encounter WHERE id = ${row.encounter_id}`)), winnerEsi);
  assert.equal(count('event', row.encounter_id), events + 1);
  // Re-applied deliberately on the current version, the loser's change goes through.
  const again = await (won === a ? ctx.chen : ctx.lopez).post(`/encounters/${row.encounter_id}/triage`,
    { esi: winnerEsi === 2 ? 4 : 2 }, { 'if-match': String(lost.json.current.version) });
  assert.equal(again.status, 200, again.text);
});

test('If-Match: a malformed one is 400 naming it; without one the write applies (older clients)', async () => {
  const row = await newEncounter('concurrency: header checks');
  for (const bad of ['abc', '"7', '0', '-3', '99999999999999999999999']) {
    const r = await ctx.lopez.post(`/encounters/${row.encounter_id}/triage`, { esi: 3 }, { 'if-match': bad });
    assert.equal(r.status, 400, `If-Match ${bad}: ${r.text}`);
    assert.equal(r.json.error.field, 'If-Match');
  }
  assert.equal(Number(sql(OWNER, `SELECT version FROM encounter WHERE id = ${row.encounter_id}`)), row.version, 'nothing written');
  const plain = await ctx.lopez.post(`/encounters/${row.encounter_id}/triage`, { esi: 3 });
  assert.equal(plain.status, 200, plain.text);
  const weak = await ctx.lopez.post(`/encounters/${row.encounter_id}/triage`, { esi: 2 }, { 'if-match': `W/"${plain.json.encounter.version}"` });
  assert.equal(weak.status, 200, weak.text);
});

test('the same vitals sent three times with one Idempotency-Key are stored once, with the same answer', async () => {
  const row = await newEncounter('concurrency: tablet retries');
  const key = randomUUID();
  const body = { taken_by: ctx.patelStaff, heart_rate: 118, resp_rate: 24, spo2: 93, systolic_bp: 98, diastolic_bp: 60 };
  const first = await ctx.patel.post(`/encounters/${row.encounter_id}/vitals`, body, { 'idempotency-key': key });
  assert.equal(first.status, 201, first.text);
  // A retry after a timeout, and one racing it.
  const retries = await Promise.all([
    ctx.patel.post(`/encounters/${row.encounter_id}/vitals`, body, { 'idempotency-key': key }),
    ctx.patel.post(`/encounters/${row.encounter_id}/vitals`, body, { 'idempotency-key': key }),
  ]);
  for (const r of retries) {
    assert.equal(r.status, 201, r.text);
    assert.deepEqual(r.json, first.json, 'the first answer, byte for byte in content');
  }
  assert.equal(count('vitals', row.encounter_id), 1);
  assert.equal(Number(sql(OWNER, `SELECT count(*) FROM event WHERE encounter_id = ${row.encounter_id} AND type = 'vitals.recorded'`)), 1);
  // The key with another body is a client bug, not a retry: refused, nothing written.
  const other = await ctx.patel.post(`/encounters/${row.encounter_id}/vitals`, { ...body, heart_rate: 119 }, { 'idempotency-key': key });
  assert.equal(other.status, 422, other.text);
  assert.equal(other.json.error.code, 'idempotency_key_reused');
  assert.equal(other.json.error.field, 'Idempotency-Key');
  assert.equal(count('vitals', row.encounter_id), 1);
  // Notes too; and a key is per account, so a colleague's same key is their own.
  const noteKey = randomUUID();
  const note = { author_id: ctx.patelStaff, text: 'Retried note, stored once.' };
  const n1 = await ctx.patel.post(`/encounters/${row.encounter_id}/notes`, note, { 'idempotency-key': noteKey });
  const n2 = await ctx.patel.post(`/encounters/${row.encounter_id}/notes`, note, { 'idempotency-key': noteKey });
  assert.equal(n1.status, 201, n1.text);
  assert.deepEqual(n2.json, n1.json);
  assert.equal(count('note', row.encounter_id), 1);
  for (const bad of ['x'.repeat(101), 'has space', 'tab\there']) {
    const r = await ctx.patel.post(`/encounters/${row.encounter_id}/notes`, note, { 'idempotency-key': bad });
    assert.equal(r.status, 400, `key ${JSON.stringify(bad)}: ${r.text}`);
    assert.equal(r.json.error.field, 'Idempotency-Key');
  }
  assert.equal(count('note', row.encounter_id), 1);
});

test('ed-api dies between commit and reply: the write is delivered live, and the retry gets the first answer', async () => {
  const row = await newEncounter('concurrency: api dies after commit');
  ctx.socket = await openSocket(ctx.charge.token);
  ctx.socket.subscribe('board', ctx.demo);
  await ctx.socket.waitFor((f) => f.type === 'snapshot', 'the board snapshot');
  const key = randomUUID();
  const body = { taken_by: ctx.patelStaff, heart_rate: 131, resp_rate: 27, spo2: 89 };
  let outcome;
  try {
    const r = await ctx.patel.post(`/encounters/${row.encounter_id}/vitals`, body,
      { 'idempotency-key': key, 'x-edlive-fault': 'exit-after-commit' });
    outcome = `answered ${r.status}`;
  } catch (e) {
    outcome = 'no answer';
  }
  assert.equal(outcome, 'no answer', 'the API died before replying');
  // Committed: ed-relay delivers it to the board without ed-api.
  const ev = await ctx.socket.waitFor((f) => f.type === 'event' && f.encounter_id === row.encounter_id && f.event === 'vitals.recorded',
    'the committed vitals event on the board', 8000);
  assert.equal(ev.payload.encounter.latest_vitals.heart_rate, 131);
  svc('start', 'api');
  const retry = await ctx.patel.post(`/encounters/${row.encounter_id}/vitals`, body, { 'idempotency-key': key });
  assert.equal(retry.status, 201, retry.text);
  assert.equal(retry.json.seq, ev.seq, 'the retry is answered with the first write');
  assert.equal(count('vitals', row.encounter_id), 1);
  await sleep(300);
  assert.equal(ctx.socket.frames.filter((f) => f.type === 'event' && f.encounter_id === row.encounter_id && f.event === 'vitals.recorded').length, 1,
    'delivered once');
});
