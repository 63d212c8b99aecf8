// ed-mllp with a client nobody on the team wrote (issue 11): @medplum/hl7 4.5.2 sends ADT
// messages to the running ed-mllp of the test deployment and we check what a registration
// system checks in each ACK (proto/hl7/ADT_MAPPING.md): MSA-1 (AA / AE / AR), MSA-2 = the
// MSH-10 sent, MSH-9 = ACK^<trigger>^ACK, MSH-11 and MSH-12 as sent, and the ERR (ERR-3 table
// 0357 code, ERR-2 position, ERR-4 severity, ERR-8 text) where the contract names them.
//
//   1. the 14 public samples of ../shared/data/hl7v2-adt (synthetic, MIT; PROVENANCE.txt),
//      each with the ACK the contract gives it for a patient edlive does not know;
//   2. our own samples (tests/samples/index.tsv states the AA / AE / AR of each) as the day they
//      describe, in a department of their own (through an ed-mllp of their own on the same
//      database, whose default department that is), then the board as a user would look at it;
//   3. several messages on one connection, several connections at once;
//   4. a message sent twice gets the same ACK and is applied once (§1.4).
//
// Every run is new: the department (H7<run>), the MRNs (MRN1001-<run>), the control ids
// (REG000101-<run>) and the sample day's times (moved, intervals kept, so that it ends just
// before now) are made for the run, so it can run again against the same deployment; the
// public files all carry MSH-10 MSG00001, which the duplicate check would otherwise answer with
// the first one's ACK.
//
// Environment (deploy/local/test exports these): EDLIVE_MLLP_PORT, EDLIVE_API_URL,
// EDLIVE_PG_OWNER, EDLIVE_BUILD; without them: exit 77 (skipped). Without ../shared (or
// $EDLIVE_SHARED) the public samples are skipped with a message.
//   deploy/local/test -R mllp_medplum
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import os from 'node:os';
import { spawn } from 'node:child_process';

const need = ['EDLIVE_MLLP_PORT', 'EDLIVE_API_URL', 'EDLIVE_PG_OWNER', 'EDLIVE_BUILD'];
const missing = need.filter((n) => !process.env[n]);
if (missing.length) {
  console.log(`SKIP: ${missing.join(', ')} not set; run deploy/local/test to start edlive (with ed-mllp) and run this test`);
  process.exit(77);
}
let adt;
try {
  adt = await import('./adt_client.mjs');
} catch (e) {
  console.log(`FAIL: @medplum/hl7 is not installed: run "npm ci" in services/mllp/tests (deploy/local/test does) (${e.message})`);
  process.exit(1);
}
const { client, send, parseLocation, describeAck } = adt;
const { sql, lit, signedIn } = await import('../../tests/lib/client.mjs');

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '../../..');
const SHARED = process.env.EDLIVE_SHARED || path.resolve(REPO, '../shared');
const PUBLIC_DIR = path.join(SHARED, 'data/hl7v2-adt/microsoft-FHIR-Converter');
const SAMPLES = path.join(HERE, 'samples');
const OWNER = process.env.EDLIVE_PG_OWNER;

const run = Date.now().toString(36).toUpperCase();
const ctx = { clients: [] };

// ---- the message text: MSH-10, the department, MRNs, times ----

const BOM = '\uFEFF';
function splitMessage(text) {
  const bom = text.startsWith(BOM) ? BOM : '';
  const body = text.slice(bom.length);
  const lines = body.split(/\r\n|\r|\n/);
  const fs_ = body.startsWith('MSH') ? body[3] : '|';
  const cs = body.startsWith('MSH') ? body[4] : '^';
  return { bom, lines, fs: fs_, cs, eol: body.includes('\r\n') ? '\r\n' : body.includes('\r') ? '\r' : '\n' };
}
function joinMessage(m) {
  return m.bom + m.lines.join(m.eol);
}
// MSH-10 of a message (null without an MSH first or without MSH-10).
function controlId(text) {
  const m = splitMessage(text);
  if (!m.lines[0].startsWith('MSH')) return null;
  return m.lines[0].split(m.fs)[9] || null;
}
function trigger(text) {
  const m = splitMessage(text);
  if (!m.lines[0].startsWith('MSH')) return null;
  return (m.lines[0].split(m.fs)[8] || '').split(m.cs)[1] || null;
}
// The message with MSH-10 + suffix (when it has one), PV1-3.1 / PV1-6.1 "ED" as `dept`,
// MRNnnnn as MRNnnnn-<run>, 20261204HHMMSS moved by shiftMs, MRG-1.1 as `alias`.
function adapt(text, { suffix = `-${run}`, dept = null, shiftMs = 0, alias = null } = {}) {
  const m = splitMessage(text);
  m.lines = m.lines.map((line, i) => {
    let f = line.split(m.fs);
    if (i === 0 && f[0] === 'MSH' && f[9]) f[9] += suffix;
    if (f[0] === 'PV1' && dept) {
      for (const k of [3, 6]) {
        if (!f[k]) continue;
        const c = f[k].split(m.cs);
        if (c[0] === 'ED') c[0] = dept;
        f[k] = c.join(m.cs);
      }
    }
    if (f[0] === 'MRG' && alias && f[1]) {
      const c = f[1].split(m.cs);
      c[0] = alias;
      f[1] = c.join(m.cs);
    }
    return f.join(m.fs);
  });
  let out = joinMessage(m).replace(/MRN(\d{4})/g, `MRN$1-${run}`);
  if (shiftMs) out = out.replace(/\b20261204(\d{6})\b/g, (s) => dtmLocal(parseLocal(s) + shiftMs));
  return out;
}
const parseLocal = (s) => Date.UTC(+s.slice(0, 4), +s.slice(4, 6) - 1, +s.slice(6, 8), +s.slice(8, 10), +s.slice(10, 12), +s.slice(12, 14));
const dtmLocal = (ms) => new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14);
const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

// ---- checking one ACK ----

// expected: 'AA', or {code: 'AE'|'AR', err: 0357 code, at: 'PID-3' | null}
function checkAck(name, sent, a, expected) {
  const want = typeof expected === 'string' ? { code: expected } : expected;
  const what = `${name}: ${describeAck(a)}`;
  assert.equal(a.code, want.code, `${what}: MSA-1`);
  const id = controlId(sent);
  // A message whose MSH could be read is answered with its MSH-10 in MSA-2 (§1.6).
  if (id && want.code !== 'AR') assert.equal(a.controlId, id, `${what}: MSA-2 is the MSH-10 sent`);
  if (id && want.code === 'AR' && a.controlId) assert.equal(a.controlId, id, `${what}: MSA-2 is the MSH-10 sent`);
  const head = splitMessage(sent).lines[0].split(splitMessage(sent).fs);
  if (id && want.code !== 'AR') {
    assert.equal(a.version, head[11].split(splitMessage(sent).cs)[0], `${what}: MSH-12 is the version sent`);
    assert.equal(a.processingId, head[10].split(splitMessage(sent).cs)[0], `${what}: MSH-11 is the processing id sent`);
  }
  const trig = trigger(sent);
  if (trig && want.code !== 'AR') assert.equal(a.type, `ACK^${trig}^ACK`, `${what}: MSH-9`);
  const errors = a.errors.filter((e) => e.severity !== 'W');
  if (want.code === 'AA') {
    assert.deepEqual(errors.filter((e) => e.severity === 'E'), [], `${what}: AA carries no ERR of severity E`);
    if (want.warned) assert.ok(a.errors.some((e) => e.severity === 'W'), `${what}: a warning (ERR-4 W)`);
    for (const w of want.warnings || []) {
      const loc = parseLocation(w);
      assert.ok(a.errors.some((e) => e.severity === 'W' && e.segment === loc.segment && e.field === loc.field),
        `${what}: a warning (ERR-4 W) at ${w}`);
    }
    return;
  }
  assert.ok(errors.length >= 1, `${what}: ${want.code} carries an ERR`);
  const e = errors[0];
  if (want.err) assert.equal(e.code, want.err, `${what}: ERR-3 is ${want.err}`);
  const loc = parseLocation(want.at);
  if (loc) {
    assert.equal(e.segment, loc.segment, `${what}: ERR-2 segment`);
    assert.equal(e.field, loc.field, `${what}: ERR-2 field`);
    if (loc.comp) assert.equal(e.comp, loc.comp, `${what}: ERR-2 component`);
  }
  if (e.severity) assert.equal(e.severity, 'E', `${what}: ERR-4`);
  // From v2.5 the ERR says in words what was wrong (ERR-8, user message) for the sender's
  // operator; 2.3 and 2.4 have only ERR-1.
  if (want.code === 'AE' && e.severity) assert.ok(e.message, `${what}: ERR-8 (user message) says why`);
}

// The samples name their ED "ED" and send the A06 to an inpatient location (PV1-3.1 4WEST),
// which ed-mllp reads in its default department (ADT_MAPPING §3.6): their day is played through
// an ed-mllp of its own on the same database whose default department is the test's (its other
// settings are the deployment's). Its log goes beside the others (checked for sanitizer reports
// and patient data).
async function startSampleMllp() {
  const port = await new Promise((resolve) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => { const { port: p } = srv.address(); srv.close(() => resolve(p)); });
  });
  const logPath = path.join(process.env.EDLIVE_LOGS || os.tmpdir(), 'mllp-samples.log');
  const log = fs.openSync(logPath, 'a');
  let staff = process.env.EDLIVE_MLLP_STAFF;
  const staffFile = process.env.EDLIVE_STATE && path.join(process.env.EDLIVE_STATE, 'mllp-staff');
  if (!staff && staffFile && fs.existsSync(staffFile)) staff = fs.readFileSync(staffFile, 'utf8').trim();
  const child = spawn(`${process.env.EDLIVE_BUILD}/services/mllp/ed-mllp`, [], {
    env: { ...process.env, EDLIVE_MLLP_PORT: String(port), EDLIVE_MLLP_OPS_PORT: '0', EDLIVE_MLLP_DEPARTMENT: ctx.code,
           ...(staff ? { EDLIVE_MLLP_STAFF: staff } : {}) },
    stdio: ['ignore', log, log],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  for (let i = 0; i < 100; i++) {
    if (fs.readFileSync(logPath, 'utf8').includes(`:${port}`)) break;
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  fs.closeSync(log);
  assert.equal(child.exitCode, null, `the samples' ed-mllp started (log ${logPath})`);
  ctx.sampleMllp = { port, stop: async () => { child.kill('SIGTERM'); await exited; } };
  return port;
}

function openClient(options) {
  const c = client(options);
  ctx.clients.push(c);
  return c;
}

before(async () => {
  // A department of its own (UTC), beds the samples name (B1, B2; WR the waiting room), and the
  // Demo ED's charge nurse working there for the REST side of the test.
  ctx.code = `H7${run}`.slice(0, 16);
  ctx.dept = Number(sql(OWNER, `INSERT INTO department (code, name, timezone) VALUES (${lit(ctx.code)}, 'HL7 sample day', 'UTC') RETURNING id`));
  ctx.beds = {};
  for (const [label, area] of [['B1', 'acute'], ['B2', 'acute'], ['B3', 'acute'], ['WR', 'waiting_room']]) {
    ctx.beds[label] = Number(sql(OWNER, `INSERT INTO bed (department_id, label, area) VALUES (${ctx.dept}, ${lit(label)}, ${lit(area)}) RETURNING id`));
  }
  sql(OWNER, `INSERT INTO staff_department (staff_id, department_id) SELECT staff_id, ${ctx.dept} FROM account WHERE username = 'adeyemi'`);
  ctx.api = await signedIn('adeyemi');
});

after(async () => {
  for (const c of ctx.clients) await c.close().catch(() => {});
  if (ctx.sampleMllp) await ctx.sampleMllp.stop();
  // A public sample the contract refuses but a build applied anyway (ADT04-251, MSH-11 T, lands
  // in the default department DEMO) is undone, so the other tests see the Demo ED as seeded.
  if (ctx.api && ctx.publicApplied) {
    const deps = await ctx.api.get('/departments');
    for (const d of (deps.json && deps.json.departments) || []) {
      const r = await ctx.api.get(`/departments/${d.id}/board`);
      for (const e of (r.json && r.json.encounters) || []) {
        if (e.patient && e.patient.mrn === ctx.publicApplied) await ctx.api.post(`/encounters/${e.encounter_id}/status`, { status: 'departed' });
      }
    }
  }
  if (ctx.dept) sql(OWNER, `DELETE FROM staff_department WHERE department_id = ${ctx.dept}`);
});

async function board() {
  const r = await ctx.api.get(`/departments/${ctx.dept}/board`);
  assert.equal(r.status, 200, `board: ${r.text}`);
  return r.json.encounters;
}
const rowOf = (rows, mrn) => rows.find((e) => e.patient && e.patient.mrn === mrn);

// ---- 1. the public samples ----

// For a patient edlive does not know (MRN 1234567, 12345, MRN12345), per ADT_MAPPING.md:
const PUBLIC = {
  // A01 with PV1-2 P and no open encounter: a direct admission, nothing applied, AA with a
  // warning (§2).
  'ADT-A01-01.hl7': { code: 'AA', warned: true },
  'ADT-A01-02.hl7': { code: 'AA', warned: true },
  // No open encounter for the MRN: 204 at PID-3 (§5).
  'ADT-A02-01.hl7': { code: 'AE', err: 204, at: 'PID-3' },
  'ADT-A03-01.hl7': { code: 'AE', err: 204, at: 'PID-3' },
  'ADT-A03-02.hl7': { code: 'AE', err: 204, at: 'PID-3' },
  // A04 of patient class P (not E): nothing, AA with a warning at PV1-2 (§2, §3.5).
  'ADT-A04-01.hl7': { code: 'AA', warnings: ['PV1-2'] },
  'ADT-A04-02.hl7': { code: 'AA', warnings: ['PV1-2'] },
  'ADT-A08-01.hl7': { code: 'AE', err: 204, at: 'PID-3' },
  'ADT-A08-02.hl7': { code: 'AE', err: 204, at: 'PID-3' },
  'ADT-A11-01.hl7': { code: 'AE', err: 204, at: 'PID-3' },
  'ADT-A11-02.hl7': { code: 'AE', err: 204, at: 'PID-3' },
  // No recent encounter to reopen.
  'ADT-A13-01.hl7': { code: 'AE', err: 204, at: 'PID-3' },
  // MRG-1 56789 (MR, not a Trauma-NNNN temporary id) is no patient edlive has: alias not found.
  'ADT-A40-01.hl7': { code: 'AE', err: 204, at: 'MRG-1' },
  // REDOX A04 v2.3 with a BOM, MSH-11 T (training), not accepted by default: AR 202 at MSH-11.
  'ADT04-251.hl7': { code: 'AR', err: 202, at: 'MSH-11' },
};

test('the 14 public ADT samples get the ACK the contract gives them', { skip: !fs.existsSync(PUBLIC_DIR) && `no public samples at ${PUBLIC_DIR} (../shared/data/hl7v2-adt beside the checkout, or $EDLIVE_SHARED): skipped` }, async (t) => {
  const files = fs.readdirSync(PUBLIC_DIR).filter((f) => f.endsWith('.hl7')).sort();
  assert.deepEqual(files, Object.keys(PUBLIC).sort(), 'the 14 files PROVENANCE.txt lists');
  const c = openClient(); // all of them on one connection, in turn
  for (const f of files) {
    await t.test(f, async () => {
      const text = adapt(fs.readFileSync(path.join(PUBLIC_DIR, f), 'utf8'), { suffix: `-${f.replace(/\W/g, '')}-${run}` });
      const a = await send(c, text, { byId: PUBLIC[f].code !== 'AR' });
      if (f === 'ADT04-251.hl7' && a.code === 'AA') ctx.publicApplied = 'MRN12345';
      checkAck(f, text, a, PUBLIC[f]);
    });
  }
});

// ---- 2. our own samples, as the day they describe ----

function readIndex() {
  const rows = [];
  for (const line of fs.readFileSync(path.join(SAMPLES, 'index.tsv'), 'utf8').split('\n')) {
    if (!line.trim() || line.startsWith('#')) continue;
    const [file, , ack] = line.split('\t');
    const [code, err, at] = ack.split(':');
    rows.push({ file, expected: code === 'AA' ? 'AA' : { code, err: Number(err), at: at === '-' ? null : at } });
  }
  return rows;
}

// The day of the samples (2026-12-04, local times without an offset, the department in UTC),
// in the order of their MSH-7, with what the samples take as given (MRN1002 registered before
// its A08, the unidentified arrival the A40 merges) done through REST.
const DAY = [
  { given: 'arrival', at: '20261204082000' },
  'a04_v23_cr.hl7', // 08:12 MRN1001 arrives (08:05), waiting room, ESI 2
  'a08_v251_escapes_crlf.hl7', // 08:30 MRN1002: bed B2, attending unknown (W), complaint without ESI (W), 2 allergies
  'a02_v24_lf_trailing.hl7', // 09:00 MRN1001 to bed B1
  'a03_v25_nulls.hl7', // 12:00 MRN1001 discharged home (01) at 11:55
  { given: 'unidentified', at: '20261204123000' },
  'a40_v251_merge.hl7', // 13:00 the unidentified arrival is MRN2001
  'a04_v28_bom_encoding.hl7', // 14:00 MRN1003 arrives (another encoding, a BOM; MSH-11 T)
  'a11_v26_cancel.hl7', // 15:00 MRN1003 was registered in error
  'a13_v27_cancel_discharge.hl7', // 16:00 MRN1001's discharge cancelled: back in B1
  'a06_v251_admit.hl7', // 17:00 MRN1002 admitted (4WEST 401 A)
];

test('our own samples (tests/samples/index.tsv): each gets the ACK the index states', async (t) => {
  const index = readIndex();
  const byFile = new Map(index.map((r) => [r.file, r]));
  // The day ends (17:00) ten minutes before now.
  const shiftMs = Math.floor((Date.now() - 10 * 60000 - parseLocal('20261204170000')) / 60000) * 60000;
  ctx.sampleShift = shiftMs;
  const c = openClient({ port: await startSampleMllp() });
  const done = new Set();
  for (const step of DAY) {
    if (step.given === 'arrival') {
      const r = await ctx.api.post(`/departments/${ctx.dept}/arrivals`, {
        patient: { mrn: `MRN1002-${run}`, family_name: "O'BRIEN&SMITH", given_name: 'MARY ANN', birth_date: '1975-12-24', sex: 'female' },
        arrival_mode: 'walk_in', chief_complaint: 'fall', arrived_at: iso(parseLocal(step.at) + shiftMs),
      });
      assert.equal(r.status, 201, `given: MRN1002 arrives (REST): ${r.text}`);
      continue;
    }
    if (step.given === 'unidentified') {
      const r = await ctx.api.post(`/departments/${ctx.dept}/arrivals/unidentified`, {
        sex: 'male', arrival_mode: 'ambulance', chief_complaint: 'trauma call', arrived_at: iso(parseLocal(step.at) + shiftMs),
      });
      assert.equal(r.status, 201, `given: an unidentified arrival (REST): ${r.text}`);
      ctx.alias = r.json.encounter.patient.temp_id;
      continue;
    }
    if (step.given === 'clean') {
      const r = await ctx.api.post(`/beds/${ctx.beds[step.bed]}/status`, { status: 'free' });
      assert.equal(r.status, 200, `given: bed ${step.bed} cleaned (REST): ${r.text}`);
      continue;
    }
    const row = byFile.get(step);
    assert.ok(row, `${step} is in index.tsv`);
    done.add(step);
    await t.test(step, async () => {
      const text = adapt(fs.readFileSync(path.join(SAMPLES, step), 'utf8'), { dept: ctx.code, shiftMs, alias: ctx.alias });
      checkAck(step, text, await send(c, text, { byId: row.expected.code !== 'AR' }), row.expected);
    });
  }
  // The rest: refused or not applied, whatever the state.
  for (const row of index) {
    if (done.has(row.file)) continue;
    await t.test(row.file, async () => {
      const latin1 = row.file.includes('latin1');
      const raw = fs.readFileSync(path.join(SAMPLES, row.file), latin1 ? 'latin1' : 'utf8');
      const text = adapt(raw, { dept: ctx.code, shiftMs });
      // A sender in ISO 8859-1 puts each character in one byte.
      const cl = latin1 ? openClient({ encoding: 'latin1', port: ctx.sampleMllp.port }) : c;
      checkAck(row.file, text, await send(cl, text, { byId: row.expected.code !== 'AR' }), row.expected);
    });
  }
});

test('after the sample day the board shows what the messages said', async () => {
  const rows = await board();
  const jane = rowOf(rows, `MRN1001-${run}`);
  assert.ok(jane, 'MRN1001 is back on the board after A13 (cancel discharge)');
  assert.equal(jane.esi, 2, 'MRN1001: ESI 2 from the A04 OBX');
  assert.equal(jane.bed && jane.bed.label, 'B1', 'MRN1001: back in B1 (no one took it; the cleaning her departure asked for is cancelled)');
  assert.equal(jane.departed_at, null);
  assert.equal(jane.disposition, null, 'MRN1001: the discharge the A03 recorded went with the A13');
  assert.equal(jane.status, 'in_room', 'MRN1001: in a bed, no provider contact: in room');
  const mary = rowOf(rows, `MRN1002-${run}`);
  assert.ok(mary, 'MRN1002 is on the board');
  assert.equal(mary.bed && mary.bed.label, 'B2', 'MRN1002: in B2 from the A08');
  assert.equal(mary.disposition && mary.disposition.kind, 'admit', 'MRN1002: admitted by the A06');
  assert.ok(mary.boarding_since, 'MRN1002: boarding');
  assert.equal(mary.disposition.destination, '4WEST 401 A', 'MRN1002: the inpatient location of the A06 (PV1-3)');
  assert.deepEqual((mary.allergies || []).map((x) => [x.substance, x.severity]).sort(), [['PEANUTS', 'moderate'], ['PENICILLIN', 'severe']]);
  assert.equal(rowOf(rows, `MRN1003-${run}`), undefined, 'MRN1003 (registered in error, A11) is off the board');
  const john = rowOf(rows, `MRN2001-${run}`);
  assert.ok(john, 'the unidentified arrival is MRN2001 after the A40');
  assert.equal(john.patient.unidentified, false);
  assert.equal(john.patient.family_name, 'SMITH');
  assert.equal(rows.filter((e) => e.patient.temp_id === ctx.alias).length, 0, 'no row is left under the alias');
});

// ---- 3. one connection, many connections ----

// An A04 of a new patient into the test department.
let serial = 0;
function a04(mrn, { id = `MSG-${run}-${serial + 1}`, arrivedMs = Date.now() - 60000, esi = null } = {}) {
  const t = adt.dtm(arrivedMs);
  const pv1 = ['PV1', '1', 'E', ctx.code];
  pv1[44] = t; // admit date/time: the arrival
  const lines = [
    `MSH|^~\\&|MEDPLUM|HL7TEST|EDLIVE|${ctx.code}|${t}||ADT^A04^ADT_A01|${id}|P|2.5.1`,
    `EVN|A04|${t}`,
    `PID|1||${mrn}^^^HL7TEST^MR||Hl7test^Medplum ${run}-${++serial}||19800101|U`,
    Array.from(pv1, (x) => x ?? '').join('|'),
    'PV2|||^medplum test',
  ];
  if (esi) lines.push(`OBX|1|NM|75636-1^Emergency severity index^LN||${esi}||||||F|||${t}`);
  return lines.join('\r');
}

test('ten messages on one connection: each answered in turn, with its own MSA-2', async () => {
  const c = openClient();
  const mrns = Array.from({ length: 10 }, (_, i) => `ONE-${run}-${i}`);
  for (const mrn of mrns) {
    const text = a04(mrn);
    checkAck(mrn, text, await send(c, text), 'AA');
  }
  const rows = await board();
  for (const mrn of mrns) assert.ok(rowOf(rows, mrn), `${mrn} is on the board`);
});

test('eight connections at once, five messages each: every one AA and applied once', async () => {
  const clients = Array.from({ length: 8 }, () => openClient());
  const sent = await Promise.all(clients.map(async (c, k) => {
    const out = [];
    for (let i = 0; i < 5; i++) {
      const mrn = `PAR-${run}-${k}-${i}`;
      const text = a04(mrn);
      checkAck(mrn, text, await send(c, text), 'AA');
      out.push(mrn);
    }
    return out;
  }));
  const mrns = sent.flat();
  const rows = await board();
  for (const mrn of mrns) assert.equal(rows.filter((e) => e.patient.mrn === mrn).length, 1, `${mrn}: one row`);
});

// ---- 4. a resend ----

test('a message sent again (same MSH-3, MSH-4, MSH-10) gets the same ACK and is applied once (§1.4)', async () => {
  const c = openClient();
  const mrn = `DUP-${run}`;
  const text = a04(mrn, { id: `DUP-${run}` });
  const first = await send(c, text);
  checkAck('first', text, first, 'AA');
  const c2 = openClient(); // the sender reconnected after a time-out
  const again = await send(c2, text);
  assert.equal(again.text, first.text, 'the same ACK, byte for byte (its own MSH-7 and MSH-10 included)');
  const rows = await board();
  assert.equal(rows.filter((e) => e.patient.mrn === mrn).length, 1, 'one encounter');
});
