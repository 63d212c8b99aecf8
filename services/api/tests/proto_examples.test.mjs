// proto_examples.test.mjs: the wire contract's schemas and examples (proto/).
//
// Offline (always run):
//   - every schema in proto/http and proto/ws uses only the keyword subset of proto/README.md;
//   - every proto/examples/valid/<schema>.<case>.json satisfies its schema, and every file in
//     proto/examples/invalid/ is listed in index.tsv and is refused with exactly the listed
//     code and field, by a JavaScript implementation of the same subset (same rules and the
//     same order of checks as services/common/schema.c).
// Live (only when the services run):
//   - EDLIVE_API_URL (e.g. http://127.0.0.1:8481): each valid HTTP example is POSTed to its route
//     and must succeed; each invalid one must be refused with its code and field.
//   - EDLIVE_WS_URL (e.g. ws://127.0.0.1:8480/ws; needs `node --experimental-websocket` on
//     Node 20): each ws invalid example must get {"type":"error",code,field}; the valid ones a
//     snapshot / pong / nothing.
//   - EDLIVE_PG (psql conninfo, optional): no row is written by any refused example.
//
// Ids in the examples are placeholders (nobody can know the seeded ids in advance): before
// sending, department_id, encounter_id, bed_id, taken_by, author_id, attending_id and nurse_id
// are replaced with ids of the running department (first department of GET /departments, a
// free bed, active staff of the right role, an encounter this test creates). An id that is the
// expected_field of an invalid example, or is not a positive integer, is left as written.
// The test creates its own encounters (fresh MRNs) and sets them to departed when done.
//
// Run: node --experimental-websocket --test services/api/tests/
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { bearer, tokenFor } from '../../tests/lib/auth.mjs';

// Live requests are made as the Demo ED's charge nurse, who may do every clinical write.
let authHeaders = null;
async function auth() {
  if (!authHeaders) authHeaders = bearer(await tokenFor(API, 'adeyemi'));
  return authHeaders;
}

const HERE = path.dirname(fileURLToPath(import.meta.url));
const PROTO = path.resolve(HERE, '../../../proto');
const API = (process.env.EDLIVE_API_URL || '').replace(/\/+$/, '');
const WS_URL = process.env.EDLIVE_WS_URL || '';
const PG = process.env.EDLIVE_PG || '';
const MAX_DEPTH = 8;

// ---------------------------------------------------------------------------------------------
// Strict JSON parsing: like jansson with JSON_REJECT_DUPLICATES (and without JSON_ALLOW_NUL
// being relevant: we report a NUL as the schema layer does), plus the depth limit of ed-api.

class MalformedJson extends Error {}

function parseStrict(text) {
  const doc = JSON.parse(text); // throws SyntaxError on anything that is not JSON
  // Duplicate member names: JSON.parse keeps the last; re-scan the text with a tiny tokenizer.
  let i = 0;
  const ws = () => { while (i < text.length && ' \t\r\n'.includes(text[i])) i++; };
  const str = () => {
    const start = i++;
    while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i));
  };
  const value = () => {
    ws();
    if (text[i] === '{') {
      i++; ws();
      const seen = new Set();
      if (text[i] === '}') { i++; return; }
      for (;;) {
        ws();
        const k = str();
        if (seen.has(k)) throw new MalformedJson(`duplicate member "${k}"`);
        seen.add(k);
        ws(); i++; // ':'
        value(); ws();
        if (text[i++] === '}') return;
      }
    } else if (text[i] === '[') {
      i++; ws();
      if (text[i] === ']') { i++; return; }
      for (;;) { value(); ws(); if (text[i++] === ']') return; }
    } else if (text[i] === '"') {
      str();
    } else {
      while (i < text.length && !',]} \t\r\n'.includes(text[i])) i++;
    }
  };
  value();
  if (depthOf(doc) > MAX_DEPTH) throw new MalformedJson(`nested deeper than ${MAX_DEPTH} levels`);
  return doc;
}

function depthOf(v) {
  if (v === null || typeof v !== 'object') return 0;
  let d = 0;
  for (const c of Array.isArray(v) ? v : Object.values(v)) d = Math.max(d, depthOf(c));
  return d + 1;
}

// ---------------------------------------------------------------------------------------------
// The schema subset (proto/README.md "Schema subset"), first violation wins.

export const ALLOWED_KEYWORDS = new Set([
  '$schema', '$id', 'title', 'description', 'type', 'properties', 'required',
  'additionalProperties', 'minimum', 'maximum', 'minLength', 'maxLength', 'enum', 'format',
  'minProperties', '$ref', '$defs',
]);
const TYPES = new Set(['object', 'string', 'integer', 'number', 'boolean', 'null']);

function checkKeywords(root, schema, where, problems) {
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) {
    problems.push(`${where}: a schema must be an object`);
    return;
  }
  for (const [k, v] of Object.entries(schema)) {
    if (!ALLOWED_KEYWORDS.has(k)) problems.push(`${where}: keyword "${k}" is outside the subset`);
    if (k === 'properties' || k === '$defs') {
      for (const [name, child] of Object.entries(v)) checkKeywords(root, child, `${where}/${k}/${name}`, problems);
    }
    if (k === 'additionalProperties' && v !== false) problems.push(`${where}: additionalProperties must be false`);
    if (k === '$ref') {
      const m = /^#\/\$defs\/([^/]+)$/.exec(v);
      if (!m || !root.$defs || !root.$defs[m[1]]) problems.push(`${where}: $ref ${v} does not name a #/$defs entry`);
    }
    if (k === 'type') {
      const list = Array.isArray(v) ? v : [v];
      for (const t of list) if (!TYPES.has(t)) problems.push(`${where}: type "${t}" is outside the subset`);
    }
    if (k === 'format' && v !== 'date' && v !== 'date-time') problems.push(`${where}: format "${v}" is outside the subset`);
    if (k === 'required' && (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))) problems.push(`${where}: required must be an array of names`);
    if (k === 'enum' && !Array.isArray(v)) problems.push(`${where}: enum must be an array`);
    if (['minimum', 'maximum'].includes(k) && typeof v !== 'number') problems.push(`${where}: ${k} must be a number`);
    if (['minLength', 'maxLength', 'minProperties'].includes(k) && !Number.isInteger(v)) problems.push(`${where}: ${k} must be an integer`);
  }
  if (schema.required && schema.properties) {
    for (const r of schema.required) if (!(r in schema.properties)) problems.push(`${where}: required "${r}" is not in properties`);
  }
}

const daysIn = (y, m) => (m === 2 ? ((y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28) : [31, 0, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]);
function datePrefix(s) {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(s);
  if (!m) return false;
  const [y, mo, d] = [+m[1], +m[2], +m[3]];
  return y >= 1850 && y <= 2999 && mo >= 1 && mo <= 12 && d >= 1 && d <= daysIn(y, mo);
}
export const isDate = (s) => s.length === 10 && datePrefix(s);
export function isDateTime(s) {
  const m = /^\d{4}-\d{2}-\d{2}[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-](\d{2}):(\d{2}))$/.exec(s);
  if (!m || !datePrefix(s)) return false;
  if (+m[1] > 23 || +m[2] > 59 || +m[3] > 59) return false;
  if (m[6] !== undefined && (+m[6] > 23 || +m[7] > 59)) return false;
  return true;
}

const kind = (v) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);
function typeMatches(t, v) {
  switch (t) {
    case 'object': return kind(v) === 'object';
    case 'string': return typeof v === 'string';
    case 'integer': return typeof v === 'number' && Number.isInteger(v);
    case 'number': return typeof v === 'number';
    case 'boolean': return typeof v === 'boolean';
    case 'null': return v === null;
    default: return false;
  }
}
const join = (base, key) => (base ? `${base}.${key}` : key);
const fail = (code, field) => ({ code, field: field || null });

function validateAt(root, schema, v, p) {
  if (schema.$ref) schema = root.$defs[schema.$ref.slice('#/$defs/'.length)];
  if (schema.type !== undefined) {
    const list = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (!list.some((t) => typeMatches(t, v))) return fail('wrong_type', p);
  }
  if (schema.enum && !schema.enum.some((e) => e === v)) return fail('invalid_value', p);
  if (typeof v === 'string') {
    if (v.includes('\u0000')) return fail('invalid_value', p);
    const len = [...v].length; // code points
    if (schema.maxLength !== undefined && len > schema.maxLength) return fail('too_long', p);
    if (schema.minLength !== undefined && len < schema.minLength) return fail('invalid_value', p);
    if (schema.format === 'date' && !isDate(v)) return fail('invalid_value', p);
    if (schema.format === 'date-time' && !isDateTime(v)) return fail('invalid_value', p);
    return null;
  }
  if (typeof v === 'number') {
    if ((schema.minimum !== undefined && v < schema.minimum) || (schema.maximum !== undefined && v > schema.maximum)) return fail('out_of_range', p);
    return null;
  }
  if (kind(v) === 'object') {
    const props = schema.properties || {};
    for (const r of schema.required || []) if (!(r in v)) return fail('missing_field', join(p, r));
    if (schema.additionalProperties === false) {
      for (const k of Object.keys(v)) if (!(k in props)) return fail('unknown_field', join(p, k));
    }
    if (schema.minProperties !== undefined && Object.keys(v).length < schema.minProperties) return fail('invalid_value', p);
    for (const [k, sub] of Object.entries(props)) {
      if (!(k in v)) continue;
      const e = validateAt(root, sub, v[k], join(p, k));
      if (e) return e;
    }
  }
  return null;
}

/** Validates raw text against a schema: null when accepted, else {code, field}. */
export function validateText(schema, text) {
  let doc;
  try {
    doc = parseStrict(text);
  } catch {
    return fail('malformed_json', null);
  }
  return validateAt(schema, schema, doc, '');
}

// ---------------------------------------------------------------------------------------------
// Loading proto/.

function loadSchemas() {
  const out = new Map(); // "http/vitals" -> schema
  for (const dir of ['http', 'ws']) {
    for (const f of fs.readdirSync(path.join(PROTO, dir)).sort()) {
      if (!f.endsWith('.json')) continue;
      out.set(`${dir}/${f.slice(0, -5)}`, JSON.parse(fs.readFileSync(path.join(PROTO, dir, f), 'utf8')));
    }
  }
  return out;
}
const SCHEMAS = loadSchemas();

/** "client.subscribe.board.json" -> "ws/client.subscribe" (longest schema name that prefixes it). */
function schemaOfExample(file) {
  let best = null;
  for (const name of SCHEMAS.keys()) {
    const base = name.slice(name.indexOf('/') + 1);
    if (file.startsWith(base + '.') && (!best || base.length > best.base.length)) best = { name, base };
  }
  return best && best.name;
}

const VALID_DIR = path.join(PROTO, 'examples/valid');
const INVALID_DIR = path.join(PROTO, 'examples/invalid');
const VALID = fs.readdirSync(VALID_DIR).filter((f) => f.endsWith('.json')).sort()
  .map((file) => ({ file, schema: schemaOfExample(file), text: fs.readFileSync(path.join(VALID_DIR, file), 'utf8') }));
const INDEX = fs.readFileSync(path.join(INVALID_DIR, 'index.tsv'), 'utf8').split('\n').slice(1).filter((l) => l.trim())
  .map((line) => {
    const [file, schema, code, field] = line.split('\t');
    return { file, schema: schema.replace(/\.json$/, ''), code, field: field === '-' ? null : field,
      text: fs.readFileSync(path.join(INVALID_DIR, file), 'utf8') };
  });

// ---------------------------------------------------------------------------------------------
// Offline checks.

test('every schema parses and uses only the keyword subset', () => {
  const required = ['http/arrival', 'http/triage', 'http/bed', 'http/assignment', 'http/vitals', 'http/note',
    'http/status', 'ws/client.subscribe', 'ws/client.unsubscribe', 'ws/client.ping', 'ws/hub.snapshot',
    'ws/hub.subscribed', 'ws/hub.event', 'ws/hub.heartbeat', 'ws/hub.pong', 'ws/hub.error'];
  for (const r of required) assert.ok(SCHEMAS.has(r), `proto/${r}.json is missing`);
  const problems = [];
  for (const [name, s] of SCHEMAS) checkKeywords(s, s, name, problems);
  assert.deepEqual(problems, []);
  // Every request body and client message is closed at the top level.
  for (const [name, s] of SCHEMAS) {
    assert.equal(s.type, 'object', `${name}: top-level type`);
    assert.equal(s.additionalProperties, false, `${name}: top-level additionalProperties`);
  }
});

test('every valid example satisfies its schema', () => {
  assert.ok(VALID.length > 0);
  for (const ex of VALID) {
    assert.ok(ex.schema, `${ex.file}: no schema matches its name`);
    assert.equal(validateText(SCHEMAS.get(ex.schema), ex.text), null, `${ex.file} (${ex.schema})`);
  }
  const http = ['arrival', 'triage', 'bed', 'assignment', 'vitals', 'note', 'status', 'client.subscribe', 'client.unsubscribe', 'client.ping'];
  for (const h of http) assert.ok(VALID.some((e) => e.file.startsWith(h + '.')), `no valid example for ${h}`);
});

test('every invalid example is listed and refused with its code and field', () => {
  const files = fs.readdirSync(INVALID_DIR).filter((f) => f.endsWith('.json')).sort();
  const listed = new Set(INDEX.map((r) => r.file));
  for (const f of files) assert.ok(listed.has(f), `${f} is not in index.tsv`);
  assert.ok(INDEX.length >= 30, `only ${INDEX.length} invalid examples`);
  const codes = new Set(['missing_field', 'unknown_field', 'wrong_type', 'out_of_range', 'invalid_value', 'too_long', 'malformed_json']);
  for (const r of INDEX) {
    assert.ok(SCHEMAS.has(r.schema), `${r.file}: unknown schema ${r.schema}`);
    assert.ok(codes.has(r.code), `${r.file}: unknown code ${r.code}`);
    assert.deepEqual(validateText(SCHEMAS.get(r.schema), r.text), { code: r.code, field: r.field }, r.file);
  }
});

test('the local validator agrees with the subset on edge cases', () => {
  const v = SCHEMAS.get('http/vitals');
  assert.equal(validateText(v, '{"taken_by": 5, "heart_rate": 88.0}'), null, 'integral real is an integer');
  assert.equal(validateText(v, '{"taken_by": 5, "heart_rate": 88.5}'), null, 'measurements may be decimals');
  assert.deepEqual(validateText(v, '{"taken_by": 5, "pain": 4.5}'), { code: 'wrong_type', field: 'pain' });
  assert.deepEqual(validateText(v, '{"taken_by": 5, "consciousness": "X"}'), { code: 'invalid_value', field: 'consciousness' });
  assert.equal(validateText(v, '{"taken_by": 5, "consciousness": null}'), null);
  assert.equal(isDate('2024-02-29'), true);
  assert.equal(isDate('2023-02-29'), false);
  assert.equal(isDateTime('2026-11-25T08:14:00.123+05:30'), true);
  assert.equal(isDateTime('2026-11-25T08:14:00'), false);
});

// ---------------------------------------------------------------------------------------------
// Live: ed-api.

async function call(method, p, body, headers = {}) {
  const init = { method, headers: { ...(await auth()), ...headers } };
  if (body !== undefined) {
    init.body = body;
    if (!('content-type' in Object.fromEntries(Object.entries(init.headers).map(([k, x]) => [k.toLowerCase(), x])))) init.headers['Content-Type'] = 'application/json';
  }
  const res = await fetch(API + p, init);
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* reported by the caller */ }
  return { status: res.status, text, json };
}

function rowCounts() {
  const sql = `SELECT json_build_object(
    'department', (SELECT count(*) FROM department), 'department_seq', (SELECT coalesce(sum(last_seq), 0) FROM department_seq),
    'bed', (SELECT count(*) FROM bed), 'staff', (SELECT count(*) FROM staff), 'patient', (SELECT count(*) FROM patient),
    'encounter', (SELECT count(*) FROM encounter), 'vitals', (SELECT count(*) FROM vitals), 'note', (SELECT count(*) FROM note),
    'event', (SELECT count(*) FROM event), 'encounter_version', (SELECT coalesce(sum(version), 0) FROM encounter),
    'clinical_order', (SELECT count(*) FROM clinical_order), 'encounter_location', (SELECT count(*) FROM encounter_location),
    'patient_allergy', (SELECT count(*) FROM patient_allergy), 'patient_medication', (SELECT count(*) FROM patient_medication),
    'patient_problem', (SELECT count(*) FROM patient_problem))`;
  return JSON.parse(execFileSync('psql', [PG, '-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-c', sql], { encoding: 'utf8' }).trim());
}

const ctx = { dept: null, board: null, encounter: null, created: [] };

async function loadBoard() {
  const r = await call('GET', `/api/v1/departments/${ctx.dept}/board`);
  assert.equal(r.status, 200, r.text);
  ctx.board = r.json;
  return r.json;
}

function staffOf(role) {
  const s = ctx.board.staff.find((x) => x.role === role) || ctx.board.staff[0];
  assert.ok(s, 'the department has no staff');
  return s.id;
}

async function freeBed(exceptEncounter) {
  const board = await loadBoard();
  const taken = new Set(board.encounters.filter((e) => e.bed && e.encounter_id !== exceptEncounter).map((e) => e.bed.id));
  // A bed waiting to be cleaned (status "cleaning") is not free either.
  const bed = board.beds.find((b) => !taken.has(b.id) && (b.status ?? 'free') !== 'cleaning');
  assert.ok(bed, 'no free bed in the department');
  return bed.id;
}

let mrnCounter = 0;
async function newEncounter() {
  const mrn = `T${Date.now().toString(36)}-${process.pid}-${++mrnCounter}`.toUpperCase();
  const r = await call('POST', `/api/v1/departments/${ctx.dept}/arrivals`, JSON.stringify({
    patient: { mrn, family_name: 'Testperson', given_name: 'Proto', birth_date: '1970-01-01', sex: 'unknown' },
    // Arrived before the times the examples use: a vitals set must lie within the visit.
    arrived_at: '2026-11-01T00:00:00Z', arrival_mode: 'walk_in', chief_complaint: 'proto_examples test encounter' }));
  assert.equal(r.status, 201, `creating a test encounter: ${r.text}`);
  const id = r.json.encounter.encounter_id;
  ctx.created.push(id);
  return id;
}

/** Replaces placeholder ids (see the header). Returns the text to send. */
async function substitute(text, { skipField = null, encounterId } = {}) {
  let doc;
  try { doc = parseStrict(text); } catch { return text; }
  if (kind(doc) !== 'object') return text;
  let changed = false;
  const put = async (k, make) => {
    if (k === skipField || !(k in doc) || !Number.isInteger(doc[k]) || doc[k] < 1) return;
    doc[k] = await make();
    changed = true;
  };
  await put('department_id', () => ctx.dept);
  await put('encounter_id', () => encounterId ?? ctx.encounter);
  await put('taken_by', () => staffOf('nurse'));
  await put('author_id', () => staffOf('physician'));
  await put('attending_id', () => staffOf('physician'));
  await put('nurse_id', () => staffOf('nurse'));
  await put('bed_id', () => freeBed(encounterId ?? ctx.encounter));
  return changed ? JSON.stringify(doc) : text;
}

const ROUTES = {
  'http/arrival': () => `/api/v1/departments/${ctx.dept}/arrivals`,
  'http/triage': (e) => `/api/v1/encounters/${e}/triage`,
  'http/bed': (e) => `/api/v1/encounters/${e}/bed`,
  'http/assignment': (e) => `/api/v1/encounters/${e}/assignment`,
  'http/vitals': (e) => `/api/v1/encounters/${e}/vitals`,
  'http/note': (e) => `/api/v1/encounters/${e}/notes`,
  'http/status': (e) => `/api/v1/encounters/${e}/status`,
  // Issue 5 (proto/README.md "Clinical record"): the encounter routes the charge nurse may use.
  'http/order': (e) => `/api/v1/encounters/${e}/orders`,
  'http/comment': (e) => `/api/v1/encounters/${e}/comment`,
  'http/isolation': (e) => `/api/v1/encounters/${e}/isolation`,
  'http/reassessment': (e) => `/api/v1/encounters/${e}/reassessment`,
  'http/disposition': (e) => `/api/v1/encounters/${e}/disposition`,
  'http/departure': (e) => `/api/v1/encounters/${e}/departure`,
  'http/allergy': (e) => `/api/v1/encounters/${e}/allergies`,
  'http/medication': (e) => `/api/v1/encounters/${e}/medications`,
  'http/problem': (e) => `/api/v1/encounters/${e}/problems`,
  // Issue 9 item 16: an order's result. A refused example uses the order made in before();
  // each accepted one results an order of its own (a result is final).
  'http/order_status': async (e, { fresh = false } = {}) => `/api/v1/orders/${fresh ? await newOrder(e) : ctx.order}/status`,
  // Issue 9 item 15: an unidentified arrival, and its identity (on an unidentified encounter of
  // its own when accepted).
  'http/arrival_unidentified': () => `/api/v1/departments/${ctx.dept}/arrivals/unidentified`,
  'http/identify': async (e, { fresh = false } = {}) => `/api/v1/encounters/${fresh ? await newUnidentified() : e}/identify`,
};

async function newUnidentified() {
  const r = await call('POST', `/api/v1/departments/${ctx.dept}/arrivals/unidentified`, JSON.stringify({ arrival_mode: 'ambulance', chief_complaint: 'proto example' }));
  assert.equal(r.status, 201, r.text);
  ctx.created.push(r.json.encounter.encounter_id);
  return r.json.encounter.encounter_id;
}

async function newOrder(encounterId) {
  const r = await call('POST', `/api/v1/encounters/${encounterId}/orders`, JSON.stringify({ kind: 'lab', name: 'Proto example' }));
  assert.equal(r.status, 201, r.text);
  return r.json.order.id;
}
const SUCCESS = { 'http/arrival': 201, 'http/arrival_unidentified': 201, 'http/vitals': 201, 'http/note': 201, 'http/order': 201, 'http/allergy': 201, 'http/medication': 201, 'http/problem': 201 };
const ORDER = ['http/arrival', 'http/triage', 'http/bed', 'http/assignment', 'http/vitals', 'http/note', 'http/status'];
const TERMINAL = new Set(['departed', 'left_without_being_seen', 'entered_in_error']);

const skipApi = API ? false : 'EDLIVE_API_URL is not set (e.g. http://127.0.0.1:8481): live HTTP checks skipped';

before(async () => {
  if (!API) return;
  const r = await call('GET', '/api/v1/departments');
  assert.equal(r.status, 200, r.text);
  assert.ok(r.json.departments.length > 0, 'no department is seeded');
  ctx.dept = r.json.departments[0].id;
  await loadBoard();
  ctx.encounter = await newEncounter();
  ctx.order = await newOrder(ctx.encounter);
});

after(async () => {
  for (const id of ctx.created) {
    await call('POST', `/api/v1/encounters/${id}/status`, JSON.stringify({ status: 'departed' })).catch(() => {});
  }
});

test('HTTP: every invalid example is refused with its code and field, writing nothing', { skip: skipApi }, async () => {
  const failures = [];
  const before = PG ? rowCounts() : null;
  for (const r of INDEX.filter((x) => x.schema.startsWith('http/'))) {
    const body = await substitute(r.text, { skipField: r.field });
    const res = await call('POST', await ROUTES[r.schema](ctx.encounter), body);
    const want = r.code === 'malformed_json' ? 400 : 422;
    const e = res.json && res.json.error;
    if (res.status !== want || !e || e.code !== r.code || e.field !== r.field || e.status !== res.status) {
      failures.push(`${r.file}: want ${want} ${r.code} ${r.field}, got ${res.status} ${res.text.slice(0, 300)}`);
    }
  }
  if (PG) assert.deepEqual(rowCounts(), before, 'a refused example changed the database');
  assert.deepEqual(failures, []);
});

test('HTTP: every valid example is accepted', { skip: skipApi }, async () => {
  const failures = [];
  const examples = VALID.filter((x) => x.schema.startsWith('http/'))
    .sort((a, b) => ORDER.indexOf(a.schema) - ORDER.indexOf(b.schema));
  // New patients before the example that arrives an existing one by MRN only.
  const isNewPatient = (x) => x.schema === 'http/arrival' && 'family_name' in JSON.parse(x.text).patient;
  examples.sort((a, b) => (a.schema === b.schema && a.schema === 'http/arrival' ? isNewPatient(b) - isNewPatient(a) : 0));
  // Status changes that end an encounter go last, each on an encounter of its own.
  const terminal = (x) => x.schema === 'http/status' && TERMINAL.has(JSON.parse(x.text).status);
  examples.sort((a, b) => terminal(a) - terminal(b));
  // And the others in the order of the flow (the status enum's order).
  const flow = SCHEMAS.get('http/status').properties.status.enum;
  const rank = (x) => (x.schema === 'http/status' ? flow.indexOf(JSON.parse(x.text).status) : -1);
  examples.sort((a, b) => (a.schema === 'http/status' && b.schema === 'http/status' ? rank(a) - rank(b) : 0));
  for (const ex of examples) {
    const enc = terminal(ex) ? await newEncounter() : ctx.encounter;
    const body = await substitute(ex.text, { encounterId: enc });
    const sent = JSON.parse(body);
    const res = await call('POST', await ROUTES[ex.schema](enc, { fresh: true }), body);
    const want = SUCCESS[ex.schema] || 200;
    if (res.status !== want || !res.json || !res.json.encounter || !Number.isInteger(res.json.seq)) {
      failures.push(`${ex.file}: want ${want}, got ${res.status} ${res.text.slice(0, 300)}`);
      continue;
    }
    const row = res.json.encounter;
    const check = (cond, what) => { if (!cond) failures.push(`${ex.file}: ${what}; reply ${res.text.slice(0, 400)}`); };
    switch (ex.schema) {
      case 'http/arrival': {
        // Depart it at once: the next example may arrive the same patient again.
        const dep = await call('POST', `/api/v1/encounters/${row.encounter_id}/status`, JSON.stringify({ status: 'departed' }));
        check(dep.status === 200, `departing the new encounter: ${dep.status} ${dep.text.slice(0, 200)}`);
        check(row.patient.mrn === sent.patient.mrn, 'patient.mrn differs');
        for (const k of ['family_name', 'given_name', 'birth_date', 'sex']) {
          if (k in sent.patient) check(row.patient[k] === sent.patient[k], `patient.${k} differs`);
        }
        check(row.chief_complaint === sent.chief_complaint, 'chief_complaint differs');
        check(row.arrival_mode === sent.arrival_mode, 'arrival_mode differs');
        check(row.status === 'waiting' && row.esi === null && row.bed === null && row.version === 1, 'a new encounter is waiting, untriaged, bedless, version 1');
        if (sent.arrived_at) check(row.arrived_at === new Date(sent.arrived_at).toISOString().replace(/\.\d{3}Z$/, 'Z'), `arrived_at ${row.arrived_at} is not ${sent.arrived_at} in UTC`);
        break;
      }
      case 'http/triage':
        check(row.esi === sent.esi, 'esi differs');
        if (sent.chief_complaint) check(row.chief_complaint === sent.chief_complaint, 'chief_complaint differs');
        break;
      case 'http/bed':
        check(sent.bed_id === null ? row.bed === null : row.bed && row.bed.id === sent.bed_id, 'bed differs');
        break;
      case 'http/assignment':
        for (const [k, f] of [['attending_id', 'attending'], ['nurse_id', 'nurse']]) {
          if (k in sent) check(sent[k] === null ? row[f] === null : row[f] && row[f].id === sent[k], `${f} differs`);
        }
        break;
      case 'http/vitals': {
        const v = res.json.vitals;
        check(v && v.encounter_id === enc && v.taken_by && v.taken_by.id === sent.taken_by, 'vitals.taken_by / encounter_id');
        for (const k of ['heart_rate', 'resp_rate', 'systolic_bp', 'diastolic_bp', 'spo2', 'temperature_c', 'on_oxygen', 'consciousness', 'pain']) {
          // Decimals are stored as the chart records them: whole numbers, rounded half up.
          const want = typeof sent[k] === 'number' && k !== 'temperature_c' ? Math.floor(sent[k] + 0.5) : sent[k] ?? null;
          check(v && (v[k] ?? null) === want, `vitals.${k} is ${v && v[k]}, sent ${sent[k]}`);
        }
        check(v && v.news2 && Number.isInteger(v.news2.total), 'vitals.news2.total');
        break;
      }
      case 'http/note':
        check(res.json.note && res.json.note.text === sent.text && res.json.note.author.id === sent.author_id, 'note differs');
        break;
      case 'http/status':
        check(row.status === sent.status, 'status differs');
        break;
      case 'http/order':
        check(res.json.order && res.json.order.kind === sent.kind && res.json.order.name === sent.name && res.json.order.status === 'ordered', 'order differs');
        break;
      case 'http/arrival_unidentified':
        ctx.created.push(row.encounter_id);
        check(row.patient.unidentified === true && /^Trauma-\d{4,}$/.test(row.patient.temp_id) && row.patient.mrn === null, 'not an unidentified patient');
        break;
      case 'http/identify':
        check(row.patient.unidentified === false && row.patient.mrn === sent.patient.mrn, 'patient not identified');
        break;
      case 'http/order_status':
        check(res.json.order && res.json.order.status === sent.status, 'order status differs');
        if (sent.result && 'value' in sent.result) check(res.json.order.result && res.json.order.result.value === sent.result.value, 'result value differs');
        break;
      case 'http/comment':
        check(row.comment === sent.text, 'comment differs');
        break;
      case 'http/isolation':
        check(row.isolation === sent.isolation, 'isolation differs');
        break;
      case 'http/reassessment':
        check(row.reassess_interval_min === sent.interval_min, 'reassess_interval_min differs');
        break;
      case 'http/disposition':
        check(row.disposition && row.disposition.kind === sent.kind && row.status === 'disposition_decided', 'disposition differs');
        break;
      case 'http/allergy':
        check(row.allergies && row.allergies.some((a) => a.substance === sent.substance), 'allergy not on the row');
        break;
      case 'http/medication':
        check(res.json.medication && res.json.medication.name === sent.name, 'medication differs');
        break;
      case 'http/problem':
        check(res.json.problem && res.json.problem.code === sent.code, 'problem differs');
        break;
      default:
    }
  }
  assert.deepEqual(failures, []);
});

// ---------------------------------------------------------------------------------------------
// Live: ed-hub over WebSocket.

const skipWs = !WS_URL ? 'EDLIVE_WS_URL is not set (e.g. ws://127.0.0.1:8480/ws): live WebSocket checks skipped'
  : typeof WebSocket === 'undefined' ? 'no global WebSocket: run node with --experimental-websocket' : !API ? 'EDLIVE_API_URL is needed to pick ids' : false;

/** A WebSocket with a queue of parsed frames; next(pred) waits for the first matching one. */
async function openWs() {
  const ws = new WebSocket(WS_URL, { headers: await auth() });
  const queue = [];
  const waiters = [];
  const all = [];
  ws.addEventListener('message', (ev) => {
    let m;
    try { m = JSON.parse(ev.data); } catch { m = { unparsable: String(ev.data) }; }
    all.push(m);
    queue.push(m);
    for (const w of [...waiters]) w();
  });
  await new Promise((resolve, reject) => {
    ws.addEventListener('open', resolve, { once: true });
    ws.addEventListener('error', () => reject(new Error(`cannot open ${WS_URL}`)), { once: true });
  });
  const next = (pred, ms = 3000) => new Promise((resolve) => {
    const look = () => {
      const i = queue.findIndex(pred);
      if (i >= 0) {
        const [m] = queue.splice(i, 1);
        clear();
        resolve(m);
        return true;
      }
      return false;
    };
    const timer = setTimeout(() => { clear(); resolve(null); }, ms);
    const w = () => look();
    const clear = () => { clearTimeout(timer); const j = waiters.indexOf(w); if (j >= 0) waiters.splice(j, 1); };
    waiters.push(w);
    look();
  });
  // Frames that answer a request (not pushed by the hub on its own).
  const reply = (ms) => next((m) => m.type !== 'heartbeat' && m.type !== 'event', ms);
  return { ws, next, reply, all, drain: () => queue.splice(0) };
}

function hubSchemaProblems(all) {
  const problems = [];
  for (const m of all) {
    const s = m && SCHEMAS.get(`ws/hub.${m.type}`);
    if (!s) { problems.push(`unknown hub frame ${JSON.stringify(m).slice(0, 200)}`); continue; }
    const e = validateText(s, JSON.stringify(m));
    if (e) problems.push(`hub.${m.type} frame breaks its schema (${e.code} ${e.field}): ${JSON.stringify(m).slice(0, 300)}`);
  }
  return problems;
}

test('WS: every invalid ws example gets an error frame with its code and field', { skip: skipWs }, async () => {
  const c = await openWs();
  const failures = [];
  try {
    const cases = INDEX.filter((x) => x.schema.startsWith('ws/')).map((r) => ({ ...r }));
    // Rules the hub checks beyond the schema (client.subscribe.json's description).
    cases.push({ file: '(inline) board without department_id', code: 'missing_field', field: 'department_id', text: '{"type":"subscribe","topic":"board","since":0}' });
    cases.push({ file: '(inline) chart without encounter_id', code: 'missing_field', field: 'encounter_id', text: '{"type":"subscribe","topic":"chart","since":0}' });
    cases.push({ file: '(inline) unknown message type', code: 'invalid_value', field: 'type', text: '{"type":"subscrbe","topic":"board","department_id":1,"since":0}' });
    cases.push({ file: '(inline) unknown encounter', code: 'not_found', field: undefined, text: '{"type":"subscribe","topic":"chart","encounter_id":987654321,"since":0}', raw: true });
    for (const r of cases) {
      const text = r.raw ? r.text : await substitute(r.text, { skipField: r.field });
      c.ws.send(text);
      const m = await c.reply();
      if (!m || m.type !== 'error' || m.code !== r.code || (r.field !== undefined && m.field !== r.field)) {
        failures.push(`${r.file}: sent ${text.slice(0, 200)} want error ${r.code} ${r.field}, got ${m ? JSON.stringify(m).slice(0, 300) : 'nothing in 3 s'}`);
      }
    }
    c.ws.send('{"type":"ping"}');
    const pong = await c.reply();
    if (!pong || pong.type !== 'pong') failures.push(`the connection no longer answers ping after the errors: ${JSON.stringify(pong)}`);
    failures.push(...hubSchemaProblems(c.all));
  } finally {
    c.ws.close();
  }
  assert.deepEqual(failures, []);
});

test('WS: valid client examples get a snapshot, pong, or nothing', { skip: skipWs }, async () => {
  const c = await openWs();
  const failures = [];
  try {
    const order = ['client.ping', 'client.subscribe', 'client.unsubscribe'];
    const examples = VALID.filter((x) => x.schema.startsWith('ws/'))
      .sort((a, b) => order.indexOf(a.schema.slice(3)) - order.indexOf(b.schema.slice(3)));
    for (const ex of examples) {
      const text = await substitute(ex.text);
      const sent = JSON.parse(text);
      c.ws.send(text);
      if (sent.type === 'ping') {
        const m = await c.reply();
        if (!m || m.type !== 'pong') failures.push(`${ex.file}: want pong, got ${JSON.stringify(m)}`);
      } else if (sent.type === 'subscribe') {
        const m = await c.reply(5000);
        if (!m || (m.type !== 'snapshot' && m.type !== 'subscribed') || m.topic !== sent.topic) {
          failures.push(`${ex.file}: want a ${sent.topic} snapshot, got ${m ? JSON.stringify(m).slice(0, 300) : 'nothing in 5 s'}`);
          continue;
        }
        if (m.type === 'snapshot' && sent.topic === 'board') {
          if (m.department_id !== sent.department_id || !m.board || m.board.department.id !== sent.department_id || m.board.seq !== m.seq) {
            failures.push(`${ex.file}: board snapshot does not match: ${JSON.stringify(m).slice(0, 300)}`);
          }
        }
        if (m.type === 'snapshot' && sent.topic === 'chart') {
          if (m.encounter_id !== sent.encounter_id || m.department_id !== ctx.dept || !m.chart || m.chart.encounter.encounter_id !== sent.encounter_id || m.chart.seq !== m.seq) {
            failures.push(`${ex.file}: chart snapshot does not match: ${JSON.stringify(m).slice(0, 300)}`);
          }
        }
      } else {
        c.ws.send('{"type":"ping"}');
        const m = await c.reply();
        if (!m || m.type !== 'pong') failures.push(`${ex.file}: want no answer (then pong to a ping), got ${JSON.stringify(m).slice(0, 300)}`);
      }
    }
    failures.push(...hubSchemaProblems(c.all));
  } finally {
    c.ws.close();
  }
  assert.deepEqual(failures, []);
});

// Events reach screens that were not open when they happened, and other teams' clients
// validate frames against proto/ws/hub.event.json: check the newest stored event of every type.
test('WS: the newest stored event of every type encodes to a frame hub.event accepts', { skip: PG ? false : 'EDLIVE_PG is not set: stored events not checked' }, () => {
  const sql = `SELECT coalesce(json_agg(event_frame(department_id, seq)::json), '[]') FROM
    (SELECT DISTINCT ON (type) department_id, seq FROM event ORDER BY type, seq DESC) x`;
  const frames = JSON.parse(execFileSync('psql', [PG, '-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-c', sql], { encoding: 'utf8' }).trim());
  assert.ok(frames.length >= 8, `only ${frames.length} event types stored (the demo seed makes more)`);
  assert.deepEqual(hubSchemaProblems(frames), []);
});
