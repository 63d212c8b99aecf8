// bad_input.test.mjs: malformed and refused requests against the running ed-api.
//
// For each request: the HTTP status, error.code and error.field of the JSON error body
// (proto/README.md "Errors"), and that nothing was written: the row counts of every table (and
// the sum of department_seq.last_seq and of encounter.version) are the same before and after,
// except the audit log and the session tables, which every request writes (WRITTEN_ON_EVERY_REQUEST).
//
// Environment:
//   EDLIVE_API_URL  base URL of ed-api, e.g. http://127.0.0.1:8481 (unset: every test skips)
//   EDLIVE_PG       psql conninfo, e.g. 'host=127.0.0.1 port=55480 dbname=edlive user=edlive'
//                   (unset: the "nothing written" checks are skipped, with a diagnostic)
// Ids (department, encounter, staff, beds) are read from GET /api/v1/departments and the first
// department's board; a few cases need a departed encounter, an occupied bed or staff of
// another department, found with psql, and are skipped when there is none.
//
// Run: node --test services/api/tests/bad_input.test.mjs
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import { bearer, tokenFor } from '../../tests/lib/auth.mjs';

const API = (process.env.EDLIVE_API_URL || '').replace(/\/+$/, '');
const PG = process.env.EDLIVE_PG || '';
const SKIP = API ? false : 'EDLIVE_API_URL is not set (e.g. EDLIVE_API_URL=http://127.0.0.1:8481): bad-input tests need a running ed-api';
// Requests are made as the Demo ED's charge nurse, who may do every clinical write.
const AUTH = API ? bearer(await tokenFor(API, 'adeyemi')) : {};
const NO_SUCH_ID = 2000000001; // larger than any id the demo data or the tests create

function psql(sql) {
  return execFileSync('psql', [PG, '-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-c', sql], { encoding: 'utf8' }).trim();
}

// Tables every request writes to whatever its outcome: the audit trail (every refusal is
// audited) and the sign-in bookkeeping. Every other table (the whole clinical record,
// accounts and break-glass grants included) must be untouched by a refused request.
const WRITTEN_ON_EVERY_REQUEST = ['audit_log', 'audit_chain', 'session', 'signin_throttle'];

let countSql = null;
function rowCounts() {
  if (!countSql) {
    const tables = psql(`SELECT string_agg(table_name, ' ' ORDER BY table_name) FROM information_schema.tables
      WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`).split(' ').filter((t) => !WRITTEN_ON_EVERY_REQUEST.includes(t));
    for (const t of ['department', 'department_seq', 'bed', 'staff', 'staff_department', 'patient', 'encounter', 'vitals', 'note', 'event']) {
      assert.ok(tables.includes(t), `table ${t} is counted`);
    }
    countSql = `SELECT json_build_object(${tables.map((t) => `'${t}', (SELECT count(*) FROM ${t})`).join(', ')},
      'department_seq.last_seq', (SELECT coalesce(sum(last_seq), 0) FROM department_seq),
      'encounter.version', (SELECT coalesce(sum(version), 0) FROM encounter))`;
  }
  return JSON.parse(psql(countSql));
}

async function call(method, path, body, headers = {}) {
  headers = { ...AUTH, ...headers };
  if (body instanceof Chunked) return callChunked(method, path, body.text, headers);
  const init = { method, headers };
  if (body !== undefined) init.body = body;
  const res = await fetch(API + path, init);
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* checked by the caller */ }
  return { status: res.status, type: res.headers.get('content-type') || '', allow: res.headers.get('allow'), text, json };
}

/** A body sent with Transfer-Encoding: chunked (no Content-Length), on a connection of its own. */
class Chunked {
  constructor(text) { this.text = text; this.length = Buffer.byteLength(text); }
}
function callChunked(method, path, text, headers) {
  return new Promise((resolve, reject) => {
    const req = http.request(API + path, { method, headers, agent: false }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { data += d; });
      res.on('end', () => {
        let json = null;
        try { json = JSON.parse(data); } catch { /* checked by the caller */ }
        resolve({ status: res.statusCode, type: res.headers['content-type'] || '', allow: res.headers.allow || null, text: data, json });
      });
    });
    req.setTimeout(5000, () => req.destroy(new Error('no answer within 5 s')));
    req.on('error', reject);
    const b = Buffer.from(text);
    for (let i = 0; i < b.length; i += 4096) req.write(b.subarray(i, i + 4096));
    req.end();
  });
}

const JSON_CT = { 'Content-Type': 'application/json' };
const ctx = {};

before(async () => {
  if (!API) return;
  const deps = await call('GET', '/api/v1/departments');
  assert.equal(deps.status, 200, `GET /api/v1/departments: ${deps.text}`);
  ctx.dept = deps.json.departments[0].id;
  let board = await call('GET', `/api/v1/departments/${ctx.dept}/board`);
  assert.equal(board.status, 200, `GET board: ${board.text}`);
  if (board.json.encounters.length === 0) {
    // An empty board: arrive one patient first (before any count is taken).
    const r = await call('POST', `/api/v1/departments/${ctx.dept}/arrivals`, JSON.stringify({
      patient: { mrn: `BADIN-${Date.now()}`, family_name: 'Fixture', given_name: 'Bad Input', birth_date: '1980-06-15', sex: 'unknown' },
      arrival_mode: 'walk_in', chief_complaint: 'bad_input test fixture' }), JSON_CT);
    assert.equal(r.status, 201, r.text);
    board = await call('GET', `/api/v1/departments/${ctx.dept}/board`);
  }
  ctx.board = board.json;
  const enc = ctx.board.encounters;
  ctx.enc = enc[0].encounter_id;
  ctx.patient = enc[0].patient;
  const staffOf = (role) => (ctx.board.staff.find((s) => s.role === role) || ctx.board.staff[0]).id;
  ctx.nurse = staffOf('nurse');
  ctx.physician = staffOf('physician');
  // An occupied bed held by another encounter than ctx.enc.
  const other = enc.find((e) => e.bed && e.encounter_id !== ctx.enc);
  ctx.occupiedBed = other ? other.bed.id : null;
  if (PG) {
    const one = (sql) => { const v = psql(sql); return v ? Number(v) : null; };
    ctx.departed = one(`SELECT id FROM encounter WHERE department_id = ${ctx.dept} AND status IN ('departed', 'left_without_being_seen') ORDER BY id LIMIT 1`);
    if (ctx.departed == null) {
      // None yet: arrive one patient and depart them (before any count is taken).
      const r = await call('POST', `/api/v1/departments/${ctx.dept}/arrivals`, JSON.stringify({
        patient: { mrn: `BADIN-D-${Date.now()}`, family_name: 'Fixture', given_name: 'Departed', birth_date: '1975-03-08', sex: 'unknown' },
        arrival_mode: 'walk_in', chief_complaint: 'bad_input test fixture (departed)' }), JSON_CT);
      assert.equal(r.status, 201, r.text);
      const d = await call('POST', `/api/v1/encounters/${r.json.encounter.encounter_id}/status`, '{"status": "departed"}', JSON_CT);
      assert.equal(d.status, 200, d.text);
      ctx.departed = r.json.encounter.encounter_id;
    }
    ctx.foreignStaff = one(`SELECT s.id FROM staff s WHERE NOT EXISTS (SELECT 1 FROM staff_department sd WHERE sd.staff_id = s.id AND sd.department_id = ${ctx.dept}) ORDER BY s.id LIMIT 1`);
    ctx.inactiveStaff = one(`SELECT s.id FROM staff s JOIN staff_department sd ON sd.staff_id = s.id AND sd.department_id = ${ctx.dept} WHERE NOT s.active ORDER BY s.id LIMIT 1`);
    ctx.foreignBed = one(`SELECT id FROM bed WHERE department_id <> ${ctx.dept} ORDER BY id LIMIT 1`);
  }
});

const E = () => `/api/v1/encounters/${ctx.enc}`;
const D = () => `/api/v1/departments/${ctx.dept}`;
const newMrn = () => `NEW-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e6)}`.toUpperCase();
const arrival = (patient, extra = {}) => JSON.stringify({ patient, arrival_mode: 'walk_in', chief_complaint: 'twisted ankle', ...extra });
const fullPatient = (over = {}) => ({ mrn: newMrn(), family_name: 'Delacroix', given_name: 'Margot', birth_date: '1984-09-17', sex: 'female', ...over });
const chunked = (text) => new Chunked(text);
const vitals = (over) => JSON.stringify({ taken_by: ctx.nurse, heart_rate: 96, ...over });

// Each case: name, method, path(), body() (string | Uint8Array | undefined), headers, want
// [status, code, field|null], and needs (a ctx key that must be non-null, else the case skips).
const CASES = [
  // -- not JSON (400)
  { name: 'malformed JSON', path: () => `${E()}/triage`, body: () => '{"esi": 3', want: [400, 'malformed_json', null] },
  { name: 'empty body', path: () => `${E()}/triage`, body: () => '', want: [400, 'malformed_json', null] },
  { name: 'trailing garbage after the object', path: () => `${E()}/triage`, body: () => '{"esi": 3} x', want: [400, 'malformed_json', null] },
  { name: 'two JSON objects', path: () => `${E()}/triage`, body: () => '{"esi": 3}{"esi": 4}', want: [400, 'malformed_json', null] },
  { name: 'duplicate member names', path: () => `${E()}/triage`, body: () => '{"esi": 3, "esi": 2}', want: [400, 'malformed_json', null] },
  { name: 'nested deeper than 8 levels', path: () => `${E()}/notes`, body: () => `{"author_id": ${ctx.physician}, "text": ${'{"a":'.repeat(9)}1${'}'.repeat(9)}}`, want: [400, 'malformed_json', null] },
  { name: '8000 nested arrays (within 16 KiB)', path: () => `${E()}/notes`, body: () => '['.repeat(8000) + ']'.repeat(8000), want: [400, 'malformed_json', null] },
  { name: 'invalid UTF-8 in a string', path: () => `${E()}/notes`, body: () => Buffer.concat([Buffer.from(`{"author_id": ${ctx.physician}, "text": "caf`), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]), want: [400, 'malformed_json', null] },
  { name: 'charset parameter is accepted (malformed body still 400, not 415)', path: () => `${E()}/triage`, body: () => '{"esi":', headers: { 'Content-Type': 'application/json; charset=utf-8' }, want: [400, 'malformed_json', null] },
  // -- JSON, but not an object (422 wrong_type, field null)
  { name: 'JSON array body', path: () => `${E()}/triage`, body: () => '[{"esi": 3}]', want: [422, 'wrong_type', null] },
  { name: 'JSON string body', path: () => `${E()}/status`, body: () => '"departed"', want: [422, 'wrong_type', null] },
  { name: 'JSON null body', path: () => `${E()}/status`, body: () => 'null', want: [422, 'wrong_type', null] },
  // -- schema violations (422)
  { name: 'ESI as a string', path: () => `${E()}/triage`, body: () => '{"esi": "3"}', want: [422, 'wrong_type', 'esi'] },
  { name: 'ESI 2.5', path: () => `${E()}/triage`, body: () => '{"esi": 2.5}', want: [422, 'wrong_type', 'esi'] },
  { name: 'ESI 7', path: () => `${E()}/triage`, body: () => '{"esi": 7}', want: [422, 'out_of_range', 'esi'] },
  { name: 'ESI 0', path: () => `${E()}/triage`, body: () => '{"esi": 0}', want: [422, 'out_of_range', 'esi'] },
  { name: 'unknown field', path: () => `${E()}/triage`, body: () => '{"esi": 3, "priority": "high"}', want: [422, 'unknown_field', 'priority'] },
  { name: 'triage without esi', path: () => `${E()}/triage`, body: () => '{"chief_complaint": "headache"}', want: [422, 'missing_field', 'esi'] },
  { name: 'vitals without taken_by', path: () => `${E()}/vitals`, body: () => '{"heart_rate": 96, "spo2": 97}', want: [422, 'missing_field', 'taken_by'] },
  { name: 'heart rate -5', path: () => `${E()}/vitals`, body: () => vitals({ heart_rate: -5 }), want: [422, 'out_of_range', 'heart_rate'] },
  { name: 'SpO2 140', path: () => `${E()}/vitals`, body: () => vitals({ spo2: 140 }), want: [422, 'out_of_range', 'spo2'] },
  { name: 'temperature 50 C', path: () => `${E()}/vitals`, body: () => vitals({ temperature_c: 50 }), want: [422, 'out_of_range', 'temperature_c'] },
  { name: 'consciousness "alert"', path: () => `${E()}/vitals`, body: () => vitals({ consciousness: 'alert' }), want: [422, 'invalid_value', 'consciousness'] },
  { name: 'taken_at not a date-time', path: () => `${E()}/vitals`, body: () => vitals({ taken_at: 'yesterday' }), want: [422, 'invalid_value', 'taken_at'] },
  { name: 'note text empty', path: () => `${E()}/notes`, body: () => JSON.stringify({ author_id: ctx.physician, text: '' }), want: [422, 'invalid_value', 'text'] },
  { name: 'note text 4001 characters', path: () => `${E()}/notes`, body: () => JSON.stringify({ author_id: ctx.physician, text: 'n'.repeat(4001) }), want: [422, 'too_long', 'text'] },
  { name: 'note text 4001 two-byte characters', path: () => `${E()}/notes`, body: () => JSON.stringify({ author_id: ctx.physician, text: 'ü'.repeat(4001) }), want: [422, 'too_long', 'text'] },
  { name: 'note text containing \\u0000 (valid JSON, invalid text)', path: () => `${E()}/notes`, body: () => `{"author_id": ${ctx.physician}, "text": "abc\\u0000def"}`, want: [422, 'invalid_value', 'text'] },
  { name: 'status "discharged"', path: () => `${E()}/status`, body: () => '{"status": "discharged"}', want: [422, 'invalid_value', 'status'] },
  { name: 'assignment with no field', path: () => `${E()}/assignment`, body: () => '{}', want: [422, 'invalid_value', null] },
  { name: 'bed_id "A3"', path: () => `${E()}/bed`, body: () => '{"bed_id": "A3"}', want: [422, 'wrong_type', 'bed_id'] },
  { name: 'birth date 2023-02-30', path: () => `${D()}/arrivals`, body: () => arrival(fullPatient({ birth_date: '2023-02-30' })), want: [422, 'invalid_value', 'patient.birth_date'] },
  { name: 'nested unknown field patient.nickname', path: () => `${D()}/arrivals`, body: () => arrival(fullPatient({ nickname: 'Margo' })), want: [422, 'unknown_field', 'patient.nickname'] },
  { name: 'patient as an array', path: () => `${D()}/arrivals`, body: () => arrival([fullPatient()]), want: [422, 'wrong_type', 'patient'] },
  { name: 'arrival_mode "taxi"', path: () => `${D()}/arrivals`, body: () => arrival(fullPatient(), { arrival_mode: 'taxi' }), want: [422, 'invalid_value', 'arrival_mode'] },
  { name: 'chief complaint 201 characters', path: () => `${D()}/arrivals`, body: () => arrival(fullPatient(), { chief_complaint: 'c'.repeat(201) }), want: [422, 'too_long', 'chief_complaint'] },
  { name: 'arrived_at without offset', path: () => `${D()}/arrivals`, body: () => arrival(fullPatient(), { arrived_at: '2026-11-24T21:00:00' }), want: [422, 'invalid_value', 'arrived_at'] },
  // -- rules beyond the schema (422)
  { name: 'new MRN without names', path: () => `${D()}/arrivals`, body: () => arrival({ mrn: newMrn() }), want: [422, 'missing_field', 'patient.family_name'] },
  { name: 'new MRN without given_name', path: () => `${D()}/arrivals`, body: () => arrival({ mrn: newMrn(), family_name: 'Delacroix', birth_date: '1984-09-17', sex: 'female' }), want: [422, 'missing_field', 'patient.given_name'] },
  { name: 'new MRN without birth_date', path: () => `${D()}/arrivals`, body: () => arrival({ mrn: newMrn(), family_name: 'Delacroix', given_name: 'Margot', sex: 'female' }), want: [422, 'missing_field', 'patient.birth_date'] },
  { name: 'new MRN without sex', path: () => `${D()}/arrivals`, body: () => arrival({ mrn: newMrn(), family_name: 'Delacroix', given_name: 'Margot', birth_date: '1984-09-17' }), want: [422, 'missing_field', 'patient.sex'] },
  { name: 'MRN of 65 characters', path: () => `${D()}/arrivals`, body: () => arrival(fullPatient({ mrn: `${newMrn()}-${'M'.repeat(64)}`.slice(0, 65) })), want: [422, 'too_long', 'patient.mrn'] },
  { name: 'MRN with a space', path: () => `${D()}/arrivals`, body: () => arrival(fullPatient({ mrn: 'AB 1234' })), want: [422, 'invalid_value', 'patient.mrn'] },
  { name: 'vitals with no measurement', path: () => `${E()}/vitals`, body: () => JSON.stringify({ taken_by: ctx.nurse }), want: [422, 'invalid_value', null] },
  { name: 'vitals with only nulls', path: () => `${E()}/vitals`, body: () => JSON.stringify({ taken_by: ctx.nurse, heart_rate: null, spo2: null }), want: [422, 'invalid_value', null] },
  // A systolic alone is a palpated pressure and is accepted (proto/EARLY_WARNING.md); a value
  // outside the plausible range needs "confirm".
  { name: 'implausible temperature without confirmation', path: () => `${E()}/vitals`, body: () => vitals({ temperature_c: 20.0 }), want: [422, 'implausible_value', 'temperature_c'] },
  { name: 'diastolic without systolic', path: () => `${E()}/vitals`, body: () => vitals({ diastolic_bp: 80 }), want: [422, 'missing_field', 'systolic_bp'] },
  { name: 'diastolic above systolic', path: () => `${E()}/vitals`, body: () => vitals({ systolic_bp: 80, diastolic_bp: 120 }), want: [422, 'invalid_value', 'diastolic_bp'] },
  { name: 'diastolic equal to systolic', path: () => `${E()}/vitals`, body: () => vitals({ systolic_bp: 90, diastolic_bp: 90 }), want: [422, 'invalid_value', 'diastolic_bp'] },
  // -- references (422 unknown_reference)
  { name: 'unknown bed id', path: () => `${E()}/bed`, body: () => JSON.stringify({ bed_id: NO_SUCH_ID }), want: [422, 'unknown_reference', 'bed_id'] },
  { name: 'unknown taken_by', path: () => `${E()}/vitals`, body: () => vitals({ taken_by: NO_SUCH_ID }), want: [422, 'unknown_reference', 'taken_by'] },
  { name: 'taken_by = largest bigint', path: () => `${E()}/vitals`, body: () => '{"taken_by": 9223372036854775807, "heart_rate": 80}', want: [422, 'unknown_reference', 'taken_by'] },
  { name: 'unknown attending_id', path: () => `${E()}/assignment`, body: () => JSON.stringify({ attending_id: NO_SUCH_ID }), want: [422, 'unknown_reference', 'attending_id'] },
  { name: 'unknown nurse_id', path: () => `${E()}/assignment`, body: () => JSON.stringify({ attending_id: ctx.physician, nurse_id: NO_SUCH_ID }), want: [422, 'unknown_reference', 'nurse_id'] },
  { name: 'unknown author_id', path: () => `${E()}/notes`, body: () => JSON.stringify({ author_id: NO_SUCH_ID, text: 'Reassessed.' }), want: [422, 'unknown_reference', 'author_id'] },
  { name: 'staff of another department as author', needs: 'foreignStaff', path: () => `${E()}/notes`, body: () => JSON.stringify({ author_id: ctx.foreignStaff, text: 'Reassessed.' }), want: [422, 'unknown_reference', 'author_id'] },
  { name: 'inactive staff as nurse', needs: 'inactiveStaff', path: () => `${E()}/assignment`, body: () => JSON.stringify({ nurse_id: ctx.inactiveStaff }), want: [422, 'unknown_reference', 'nurse_id'] },
  { name: 'bed of another department', needs: 'foreignBed', path: () => `${E()}/bed`, body: () => JSON.stringify({ bed_id: ctx.foreignBed }), want: [422, 'unknown_reference', 'bed_id'] },
  // -- conflicts (409)
  { name: 'bed occupied by another encounter', needs: 'occupiedBed', path: () => `${E()}/bed`, body: () => JSON.stringify({ bed_id: ctx.occupiedBed }), want: [409, 'conflict', null], anyField: true },
  { name: 'existing MRN with another family name', path: () => `${D()}/arrivals`, body: () => arrival({ ...ctx.patient, id: undefined, age_years: undefined, unidentified: undefined, temp_id: undefined, alias: undefined, family_name: `${ctx.patient.family_name}x` }), want: [409, 'conflict', null], anyField: true },
  { name: 'triage of a departed encounter', needs: 'departed', path: () => `/api/v1/encounters/${ctx.departed}/triage`, body: () => '{"esi": 3}', want: [409, 'conflict', null], anyField: true },
  { name: 'departing an already departed encounter', needs: 'departed', path: () => `/api/v1/encounters/${ctx.departed}/status`, body: () => '{"status": "departed"}', want: [409, 'conflict', null], anyField: true },
  // -- size and media type
  { name: 'body of 16 KiB + 1 byte', path: () => `${E()}/notes`, body: () => { const head = `{"author_id": ${ctx.physician}, "text": "`; return head + 'x'.repeat(16385 - head.length - 2) + '"}'; }, want: [413, 'body_too_large', null] },
  { name: 'body of exactly 16 KiB is read (too_long, not 413)', path: () => `${E()}/notes`, body: () => { const head = `{"author_id": ${ctx.physician}, "text": "`; return head + 'x'.repeat(16384 - head.length - 2) + '"}'; }, want: [422, 'too_long', 'text'] },
  { name: 'body of 1 MiB', path: () => `${E()}/notes`, body: () => JSON.stringify({ author_id: ctx.physician, text: 'y'.repeat(1 << 20) }), want: [413, 'body_too_large', null] },
  { name: 'Content-Type text/plain', path: () => `${E()}/triage`, body: () => '{"esi": 3}', headers: { 'Content-Type': 'text/plain' }, want: [415, 'unsupported_media_type', null] },
  { name: 'no Content-Type', path: () => `${E()}/triage`, body: () => new Uint8Array(Buffer.from('{"esi": 3}')), headers: {}, want: [415, 'unsupported_media_type', null] },
  { name: 'form-encoded body', path: () => `${E()}/status`, body: () => 'status=departed', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, want: [415, 'unsupported_media_type', null] },
  { name: 'Content-Type in capitals is still JSON (400, not 415)', path: () => `${E()}/triage`, body: () => '{"esi":', headers: { 'Content-Type': 'Application/JSON' }, want: [400, 'malformed_json', null] },
  { name: 'Content-Type application/jsonx', path: () => `${E()}/triage`, body: () => '{"esi": 3}', headers: { 'Content-Type': 'application/jsonx' }, want: [415, 'unsupported_media_type', null] },
  { name: 'Content-Type application/json-patch+json', path: () => `${E()}/triage`, body: () => '[{"op": "replace", "path": "/esi", "value": 1}]', headers: { 'Content-Type': 'application/json-patch+json' }, want: [415, 'unsupported_media_type', null] },
  { name: 'whitespace-only body', path: () => `${E()}/triage`, body: () => ' \r\n\t ', want: [400, 'malformed_json', null] },
  // ed-api needs a Content-Length (libwebsockets 4.1 reads no chunked request body): 411, never a hang.
  { name: 'chunked body over 16 KiB (no Content-Length)', path: () => `${E()}/notes`, body: () => chunked(`{"author_id": 1, "text": "${'z'.repeat(20000)}"}`), want: [411, 'length_required', null] },
  { name: 'chunked malformed body under 16 KiB', path: () => `${E()}/triage`, body: () => chunked('{"esi": 3,'), want: [411, 'length_required', null] },
  { name: 'existing MRN with another birth date', path: () => `${D()}/arrivals`, body: () => arrival({ mrn: ctx.patient.mrn, family_name: ctx.patient.family_name, given_name: ctx.patient.given_name, birth_date: ctx.patient.birth_date === '1901-01-01' ? '1902-02-02' : '1901-01-01', sex: ctx.patient.sex }), want: [409, 'conflict', null], anyField: true },
  // -- routing
  { name: 'id with trailing letters in the path', path: () => `${E()}abc/triage`, body: () => '{"esi": 3}', want: [404, 'not_found', null] },
  { name: 'unknown encounter id in the path', path: () => `/api/v1/encounters/${NO_SUCH_ID}/triage`, body: () => '{"esi": 3}', want: [404, 'not_found', null] },
  { name: 'unknown encounter (GET chart)', method: 'GET', path: () => `/api/v1/encounters/${NO_SUCH_ID}`, want: [404, 'not_found', null] },
  { name: 'unknown department (arrival)', path: () => `/api/v1/departments/${NO_SUCH_ID}/arrivals`, body: () => arrival(fullPatient()), want: [404, 'not_found', null] },
  { name: 'unknown department (GET board)', method: 'GET', path: () => `/api/v1/departments/${NO_SUCH_ID}/board`, want: [404, 'not_found', null] },
  { name: 'non-numeric id in the path', path: () => '/api/v1/encounters/abc/triage', body: () => '{"esi": 3}', want: [404, 'not_found', null] },
  { name: 'negative id in the path', path: () => '/api/v1/encounters/-1/triage', body: () => '{"esi": 3}', want: [404, 'not_found', null] },
  { name: 'id 0 in the path', method: 'GET', path: () => '/api/v1/encounters/0', want: [404, 'not_found', null] },
  { name: 'id beyond bigint in the path', method: 'GET', path: () => '/api/v1/encounters/99999999999999999999999', want: [404, 'not_found', null] },
  { name: 'unknown route', method: 'GET', path: () => '/api/v1/patients', want: [404, 'not_found', null] },
  { name: 'unknown route with a body', path: () => `${E()}/discharge`, body: () => '{"status": "departed"}', want: [404, 'not_found', null] },
  { name: 'wrong method: GET on triage', method: 'GET', path: () => `${E()}/triage`, want: [405, 'method_not_allowed', null] },
  { name: 'wrong method: PUT on vitals', method: 'PUT', path: () => `${E()}/vitals`, body: () => vitals({}), want: [405, 'method_not_allowed', null] },
  { name: 'wrong method: DELETE on an encounter', method: 'DELETE', path: () => E(), want: [405, 'method_not_allowed', null] },
  { name: 'wrong method: POST on departments', path: () => '/api/v1/departments', body: () => '{}', want: [405, 'method_not_allowed', null] },
];

for (const c of CASES) {
  test(c.name, { skip: SKIP }, async (t) => {
    if (c.needs && ctx[c.needs] == null) {
      t.skip(`no ${c.needs} in the database`);
      return;
    }
    const method = c.method || 'POST';
    const body = c.body ? c.body() : undefined;
    const headers = c.headers || (body !== undefined ? JSON_CT : {});
    const before = PG ? rowCounts() : null;
    let res;
    try {
      res = await call(method, c.path(), body, headers);
    } catch (e) {
      assert.fail(`${method} ${c.path()}: the request failed without a response: ${e.cause ? e.cause.message : e.message}`);
    }
    const [status, code, field] = c.want;
    const where = `${method} ${c.path()} body ${typeof body === 'string' ? JSON.stringify(body.slice(0, 160)) : body === undefined ? '(none)' : body instanceof Chunked ? `(${body.length} bytes, chunked) ${JSON.stringify(body.text.slice(0, 60))}` : `(${body.length} bytes)`}\n  -> ${res.status} ${res.text.slice(0, 300)}`;
    assert.ok(res.json && res.json.error, `no JSON error body: ${where}`);
    assert.deepEqual({ status: res.status, code: res.json.error.code, ...(c.anyField ? {} : { field: res.json.error.field }) },
      { status, code, ...(c.anyField ? {} : { field }) }, where);
    assert.equal(res.json.error.status, res.status, `error.status differs from the HTTP status: ${where}`);
    assert.equal(typeof res.json.error.message, 'string', where);
    assert.match(res.type, /^application\/json\b/, `error Content-Type: ${where}`);
    if (status === 405) assert.ok(res.allow, `a 405 needs an Allow header (RFC 9110 15.5.6): ${where}`);
    // Error messages never carry patient data back (services/common/ed_error.h).
    if (typeof body === 'string') {
      let sent = null;
      try { sent = JSON.parse(body); } catch { /* not JSON */ }
      const p = sent && sent.patient && typeof sent.patient === 'object' ? sent.patient : {};
      for (const v of [p.family_name, p.given_name, p.mrn, sent && sent.text, sent && sent.chief_complaint]) {
        if (typeof v === 'string' && v.length >= 4) assert.ok(!res.json.error.message.includes(v), `the error message repeats patient data "${v.slice(0, 40)}": ${where}`);
      }
    }
    if (PG) assert.deepEqual(rowCounts(), before, `something was written: ${where}`);
    else t.diagnostic('EDLIVE_PG is not set: row counts not checked');
  });
}

test('at least 30 bad-input cases', () => {
  assert.ok(CASES.length >= 30, `${CASES.length}`);
});
