// The audit trail (proto/README.md "Audit"), as an auditor would check it: a chart read
// leaves exactly one row saying who, as what, which patient, from where; the services'
// database role cannot change the log; `edlivectl audit verify` names an altered or a missing
// row; and the admin's report (GET /api/v1/audit) filters, sorts by every allowed field,
// refuses anything else, and is itself audited.
//
// The tamper checks come last: an edited row is put back exactly as it was, and a row is
// deleted only in a throwaway copy of the database, so the real chain stays intact.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { requireEnv } from './lib/env.mjs';
import { signedIn, sql, sqlJson, lit, ctl, Api } from './lib/client.mjs';

const env = requireEnv('EDLIVE_API_URL', 'EDLIVE_PG', 'EDLIVE_PG_OWNER', 'EDLIVE_PG_SUPER', 'EDLIVE_BUILD');
const { EDLIVE_PG: APP, EDLIVE_PG_OWNER: OWNER, EDLIVE_PG_SUPER: SUPER } = env;
const SORTABLE = ['seq', 'at', 'username', 'role', 'action', 'patient_id', 'encounter_id', 'category', 'source_addr', 'outcome', 'severity'];
const NUMERIC = new Set(['seq', 'patient_id', 'encounter_id']);
const ADDRESS = `10.${Date.now() % 250}.${process.pid % 250}.42`; // kim's made-up workstation

const ctx = {};
before(async () => {
  ctx.from = sql(OWNER, "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')");
  ctx.demo = Number(sql(OWNER, "SELECT id FROM department WHERE code = 'DEMO'"));
  ctx.kim = await signedIn('kim');
  ctx.lopez = await signedIn('dr.lopez');
  ctx.charge = await signedIn('adeyemi');
  ctx.admin = await signedIn('admin');
  const board = (await ctx.charge.get(`/departments/${ctx.demo}/board`)).json;
  ctx.enc = board.encounters[1].encounter_id;
  ctx.patient = board.encounters[1].patient.id;
});

after(() => {
  if (ctx.copy) sql(SUPER, `DROP DATABASE IF EXISTS ${ctx.copy} WITH (FORCE)`);
});

test('one chart read writes exactly one chart.read row: who, as what, which patient, from where, outcome', async () => {
  const before = Number(sql(OWNER, 'SELECT last_seq FROM audit_chain'));
  const r = await ctx.kim.get(`/encounters/${ctx.enc}`, { 'x-real-ip': ADDRESS });
  assert.equal(r.status, 200);
  const rows = sqlJson(OWNER, `SELECT json_agg(a ORDER BY seq) FROM (SELECT seq, account_id, username, role, action, patient_id,
      encounter_id, category, source_addr, outcome, severity FROM audit_log WHERE seq > ${before} AND username = 'kim') a`);
  assert.equal(rows.length, 1, `kim's rows since: ${JSON.stringify(rows)}`);
  ctx.readSeq = rows[0].seq;
  delete rows[0].seq;
  assert.deepEqual(rows[0], {
    account_id: Number(sql(OWNER, "SELECT id FROM account WHERE username = 'kim'")), username: 'kim', role: 'nurse',
    action: 'chart.read', patient_id: ctx.patient, encounter_id: ctx.enc, category: 'chart', source_addr: ADDRESS,
    outcome: 'success', severity: 'normal',
  });
});

test('a refusal is audited too, without chart data', async () => {
  const before = Number(sql(OWNER, 'SELECT last_seq FROM audit_chain'));
  assert.equal((await ctx.kim.post(`/encounters/${ctx.enc}/bed`, { bed_id: null })).status, 403);
  const row = sqlJson(OWNER, `SELECT row_to_json(a) FROM (SELECT username, action, encounter_id, outcome, detail FROM audit_log
      WHERE seq > ${before} AND username = 'kim') a`);
  assert.deepEqual(row, { username: 'kim', action: 'encounter.bed', encounter_id: ctx.enc, outcome: 'denied', detail: 'forbidden' });
});

test('the services cannot UPDATE, DELETE or TRUNCATE the audit log (and the owner is stopped by the trigger)', () => {
  const seq = ctx.readSeq;
  for (const [who, conn, pattern] of [['edlive_app', APP, /permission denied/], ['the owner', OWNER, /append-only/]]) {
    for (const statement of [`UPDATE audit_log SET username = 'mallory' WHERE seq = ${seq}`, `DELETE FROM audit_log WHERE seq = ${seq}`, 'TRUNCATE audit_log']) {
      assert.throws(() => sql(conn, statement), (e) => pattern.test(String(e.stderr)), `${who}: ${statement}`);
    }
  }
  assert.equal(sql(OWNER, `SELECT username FROM audit_log WHERE seq = ${seq}`), 'kim', 'the row is unchanged');
});

// ---- the report ----

// PostgreSQL's order for ORDER BY <field> <order>, seq: NULLs last ascending and first
// descending, text by code point (the database's collation is C.UTF-8), ties by seq.
function pgOrder(field, order) {
  const dir = order === 'asc' ? 1 : -1;
  return (a, b) => {
    const x = a[field], y = b[field];
    if (x !== y) {
      if (x === null) return dir;
      if (y === null) return -dir;
      const c = NUMERIC.has(field) ? x - y : x < y ? -1 : 1;
      if (c !== 0) return dir * c;
    }
    return a.seq - b.seq;
  };
}

const report = (query, api = ctx.admin) => api.get(`/audit?${new URLSearchParams(query)}`);
const seqsIn = (where) => sql(OWNER, `SELECT coalesce(string_agg(seq::text, ',' ORDER BY seq), '') FROM audit_log WHERE ${where}`);
const sortedSeqs = (rows) => rows.map((r) => r.seq).sort((a, b) => a - b).join(',');

test('the report sorts by every allowed field, both ways, within a time window', async () => {
  // Some variety in the window: reads, a write, a refusal, a failed sign-in.
  await ctx.lopez.get(`/encounters/${ctx.enc}`);
  await ctx.charge.get(`/departments/${ctx.demo}/board`);
  await ctx.lopez.get('/audit');
  await new Api(null).post('/session', { username: 'kim', password: 'not it' }, { 'x-real-ip': ADDRESS });
  const to = sql(OWNER, "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')");
  const window = `at >= ${lit(ctx.from)}::timestamptz AND at <= ${lit(to)}::timestamptz`;
  const expected = seqsIn(window);
  assert.ok(expected.split(',').length >= 10, 'the window holds rows to sort');
  for (const field of SORTABLE) {
    for (const order of ['asc', 'desc']) {
      const r = await report({ from: ctx.from, to, sort: field, order, limit: 1000 });
      const what = `sort=${field} order=${order}`;
      assert.equal(r.status, 200, `${what}: ${r.text}`);
      assert.deepEqual([r.json.sort, r.json.order, r.json.count], [field, order, r.json.rows.length], what);
      assert.equal(sortedSeqs(r.json.rows), expected, `${what}: exactly the rows of the window`);
      const want = [...r.json.rows].sort(pgOrder(field, order)).map((x) => x.seq);
      assert.deepEqual(r.json.rows.map((x) => x.seq), want, `${what}: in order`);
    }
  }
  const top3 = await report({ from: ctx.from, to, sort: 'username', order: 'desc', limit: 3 });
  const all = await report({ from: ctx.from, to, sort: 'username', order: 'desc', limit: 1000 });
  assert.deepEqual(top3.json.rows, all.json.rows.slice(0, 3), 'limit keeps the first rows of the order');
  ctx.to = to;
});

test('the report filters by user and by patient', async () => {
  const window = `at >= ${lit(ctx.from)}::timestamptz AND at <= ${lit(ctx.to)}::timestamptz`;
  const byUser = await report({ from: ctx.from, to: ctx.to, user: 'kim', limit: 1000 });
  assert.equal(byUser.status, 200);
  assert.ok(byUser.json.rows.length >= 2 && byUser.json.rows.every((x) => x.username === 'kim'), byUser.text.slice(0, 300));
  assert.equal(sortedSeqs(byUser.json.rows), seqsIn(`${window} AND username = 'kim'`));
  const byPatient = await report({ from: ctx.from, to: ctx.to, patient: ctx.patient, limit: 1000 });
  assert.equal(byPatient.status, 200);
  assert.ok(byPatient.json.rows.length >= 2 && byPatient.json.rows.every((x) => x.patient_id === ctx.patient));
  assert.equal(sortedSeqs(byPatient.json.rows), seqsIn(`${window} AND patient_id = ${ctx.patient}`));
  const both = await report({ from: ctx.from, to: ctx.to, user: 'kim', patient: ctx.patient });
  assert.ok(both.json.rows.length >= 1 && both.json.rows.every((x) => x.username === 'kim' && x.patient_id === ctx.patient));
  const injected = await report({ user: "kim' OR '1'='1" });
  assert.deepEqual([injected.status, injected.json.count], [200, 0], 'a user value is a value, never SQL');
});

test('the report refuses hostile or malformed parameters with 400 naming the field', async () => {
  const cases = [
    // parameter, value                             field
    ['sort',    'at;DROP TABLE audit_log',          'sort'],
    ['sort',    '1,extractvalue(1,1)--',            'sort'],
    ['sort',    'seq desc',                         'sort'],
    ['sort',    '(SELECT 1)',                       'sort'],
    ['sort',    'detail',                           'sort'],
    ['sort',    'SEQ',                              'sort'],
    ['order',   'asc; DELETE FROM audit_log',       'order'],
    ['patient', '1 OR 1=1',                         'patient'],
    ['from',    "2026-01-01' OR '1'='1",            'from'],
    ['limit',   '0',                                'limit'],
    ['limit',   '1001',                             'limit'],
  ];
  const rowsBefore = Number(sql(OWNER, 'SELECT count(*) FROM audit_log'));
  for (const [param, value, field] of cases) {
    const r = await report({ [param]: value });
    assert.equal(r.status, 400, `${param}=${value}: ${r.text}`);
    assert.equal(r.json.error.field, field, `${param}=${value}`);
  }
  assert.ok(Number(sql(OWNER, 'SELECT count(*) FROM audit_log')) >= rowsBefore, 'the log is all still there');
});

test('only an admin reads the report; every read of it is audited', async () => {
  for (const api of [ctx.lopez, ctx.charge, ctx.kim]) {
    const r = await report({}, api);
    assert.equal(r.status, 403, `${api.username}: ${r.text}`);
    assert.equal(r.json.error.code, 'forbidden');
  }
  const before = Number(sql(OWNER, 'SELECT last_seq FROM audit_chain'));
  assert.equal((await report({ patient: ctx.patient, limit: 5 })).status, 200);
  const rows = sqlJson(OWNER, `SELECT json_agg(a) FROM (SELECT username, role, action, patient_id, category, outcome FROM audit_log
      WHERE seq > ${before} AND username = 'admin') a`);
  assert.deepEqual(rows, [{ username: 'admin', role: 'admin', action: 'audit.read', patient_id: ctx.patient, category: 'audit', outcome: 'success' }]);
});

// ---- tampering: last ----

const verify = (conn) => ctl(['audit', 'verify'], conn ? { conn } : {});

test('edlivectl audit verify names a row a superuser edited; put back exactly, the chain verifies again', () => {
  let v = verify();
  assert.equal(v.status, 0, v.stdout + v.stderr);
  assert.match(v.stdout, /OK, \d+ rows, chain intact/);
  const seq = ctx.readSeq;
  const original = sql(OWNER, `SELECT username FROM audit_log WHERE seq = ${seq}`);
  const superEdit = (value) => sql(SUPER, `BEGIN; ALTER TABLE audit_log DISABLE TRIGGER audit_no_update;
      UPDATE audit_log SET username = ${lit(value)} WHERE seq = ${seq}; ALTER TABLE audit_log ENABLE TRIGGER audit_no_update; COMMIT;`);
  superEdit('mallory');
  try {
    v = verify();
    assert.notEqual(v.status, 0, 'verify fails');
    assert.match(v.stdout, new RegExp(`FAILED at row ${seq}\\b.*altered`), v.stdout);
  } finally {
    superEdit(original);
  }
  v = verify();
  assert.equal(v.status, 0, `restored exactly: ${v.stdout}`);
});

test('edlivectl audit verify names a deleted row (in a throwaway copy of the database)', () => {
  ctx.copy = `edlive_tamper_${process.pid}`;
  const copyConn = SUPER.replace(/dbname=\S+/, `dbname=${ctx.copy}`);
  const dump = path.join(process.env.TMPDIR || os.tmpdir(), `${ctx.copy}.sql`);
  execFileSync('pg_dump', ['-d', SUPER, '-f', dump], { stdio: ['ignore', 'ignore', 'pipe'] });
  sql(SUPER, `CREATE DATABASE ${ctx.copy}`);
  execFileSync('psql', [copyConn, '-Xq', '-v', 'ON_ERROR_STOP=1', '-f', dump], { stdio: ['ignore', 'ignore', 'pipe'] });
  fs.rmSync(dump);
  assert.equal(verify(copyConn).status, 0, 'the copy verifies as it is');

  const asSuper = (statement) => sql(copyConn, `BEGIN; ALTER TABLE audit_log DISABLE TRIGGER USER;
      ${statement}; ALTER TABLE audit_log ENABLE TRIGGER USER; COMMIT;`);
  const seq = ctx.readSeq;
  const row = sql(copyConn, `SELECT row_to_json(a) FROM audit_log a WHERE seq = ${seq}`);
  asSuper(`DELETE FROM audit_log WHERE seq = ${seq}`);
  let v = verify(copyConn);
  assert.notEqual(v.status, 0, 'verify fails');
  assert.match(v.stdout, new RegExp(`FAILED at row ${seq}\\b.*missing`), v.stdout);
  asSuper(`INSERT INTO audit_log SELECT * FROM json_populate_record(NULL::audit_log, ${lit(row)}::json)`);
  assert.equal(verify(copyConn).status, 0, 'with the row put back the copy verifies: the report was about that row');

  // The newest row removed (no later row to show the gap): the chain head names it.
  const last = Number(sql(copyConn, 'SELECT max(seq) FROM audit_log'));
  asSuper(`DELETE FROM audit_log WHERE seq = ${last}`);
  v = verify(copyConn);
  assert.notEqual(v.status, 0);
  assert.match(v.stdout, new RegExp(`FAILED at row ${last}\\b`), v.stdout);
  assert.equal(verify().status, 0, 'the real audit log was never touched');
});
