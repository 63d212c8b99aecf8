// Who may do what, where (proto/README.md "Signing in, sessions and permissions"): every REST
// route of services/api/routes.c and both WebSocket topics, for each demo role, against the
// matrix stated below, independently of services/common/access.c. Allowed calls succeed (2xx,
// or a snapshot); refused ones get 403 forbidden and carry no chart data. Then: no, expired
// and disabled sessions get 401; another department's ids are "not found", exactly like ids
// that do not exist; and a physician or nurse may assign only themself.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { requireEnv } from './lib/env.mjs';
import { signIn, ADMIN_TOTP_SECRET } from './lib/auth.mjs';
import {
  Api, signedIn, sql, lit, ctl, expireSession, freshTotp, openSocket, upgradeRefused, upgradeAnswer, firstReply, sleep,
} from './lib/client.mjs';

const env = requireEnv('EDLIVE_API_URL', 'EDLIVE_HUB_URL', 'EDLIVE_PG', 'EDLIVE_PG_OWNER', 'EDLIVE_PG_SUPER', 'EDLIVE_BUILD');
const OWNER = env.EDLIVE_PG_OWNER;
const NO_SUCH_ID = 2000000001;

// One demo user per role (Demo ED, except the admin, who belongs to no department; `wall` is the
// Demo ED's public wall, issue 9 item 11).
const USERS = { physician: 'dr.lopez', nurse: 'patel', charge_nurse: 'adeyemi', registration: 'moreau', admin: 'admin', display: 'wall' };
const ROLES = Object.keys(USERS);
const CLINICAL = ['physician', 'nurse', 'charge_nurse'];
const EVERYONE = ROLES;

// The expected matrix: which roles may; every other role gets 403 forbidden.
// (`may` of the POST /session row: anyone with an account signs in; no session is needed.)
const MATRIX = [
  // route                                      roles that may
  ['POST /session',                             EVERYONE],
  ['GET /session',                              EVERYONE],
  ['GET /departments',                          EVERYONE],
  ['GET /departments/{demo}/board',             ['physician', 'nurse', 'charge_nurse', 'registration', 'display']],
  ['POST /departments/{demo}/arrivals',         ['charge_nurse', 'registration']],
  // Issue 9 item 15: an unidentified patient, and later their identity.
  ['POST /departments/{demo}/arrivals/unidentified', ['charge_nurse', 'registration']],
  ['POST /encounters/{unidentified}/identify',  ['charge_nurse', 'registration']],
  ['GET /encounters/{enc}',                     CLINICAL],
  ['POST /encounters/{enc}/triage',             CLINICAL],
  ['POST /encounters/{enc}/bed',                ['charge_nurse']],
  ['POST /encounters/{enc}/assignment',         CLINICAL], // physician and nurse: themself only
  ['POST /encounters/{enc}/vitals',             CLINICAL],
  ['POST /encounters/{enc}/notes',              CLINICAL],
  ['POST /encounters/{enc}/status',             CLINICAL],
  ['POST /encounters/{elsewhere}/break-glass',  CLINICAL],
  // Issue 5: the clinical record (proto/README.md "Clinical record").
  ['POST /encounters/{enc}/orders',             CLINICAL],
  ['POST /orders/{order}/status',               CLINICAL],
  ['POST /orders/{order}/seen',                 CLINICAL],
  ['POST /encounters/{enc}/comment',            CLINICAL],
  ['POST /encounters/{enc}/isolation',          CLINICAL],
  ['POST /encounters/{enc}/reassessment',       CLINICAL],
  ['POST /encounters/{enc}/news2-scale',        ['physician']],
  ['POST /encounters/{enc}/allergies',          CLINICAL],
  ['POST /encounters/{enc}/medications',        CLINICAL],
  ['POST /encounters/{enc}/problems',           CLINICAL],
  ['POST /encounters/{enc}/diagnoses',          ['physician']],
  ['POST /encounters/{enc}/disposition',        CLINICAL],
  ['POST /encounters/{leaving}/departure',      CLINICAL],
  ['POST /beds/{bed}/status',                   ['nurse', 'charge_nurse']],
  ['GET /departments/{demo}/metrics',           ['physician', 'nurse', 'charge_nurse', 'registration']],
  ['GET /departments/{demo}/alert-thresholds',  ['physician', 'nurse', 'charge_nurse', 'registration']],
  ['PUT /departments/{demo}/alert-thresholds',  ['charge_nurse']],
  ['GET /audit',                                ['admin']],
  ['POST /accounts',                            ['admin']],
  ['POST /accounts/{account}/disabled',         ['admin']],
  // Issue 12: FHIR R4 under /fhir/R4, the same matrix (chart.read for patient data, board.read
  // for beds and staff); the metadata needs no session.
  ['GET /fhir/R4/metadata',                     EVERYONE],
  ['GET /fhir/R4/Encounter/{enc}',              CLINICAL],
  ['GET /fhir/R4/Encounter?status=',            CLINICAL],
  ['GET /fhir/R4/Patient/{patient}',            CLINICAL],
  ['GET /fhir/R4/Patient?identifier=',          CLINICAL],
  ['GET /fhir/R4/Observation?encounter={enc}',  CLINICAL],
  ['GET /fhir/R4/Location/{bed}',               ['physician', 'nurse', 'charge_nurse', 'registration', 'display']],
  ['GET /fhir/R4/Practitioner/{staff}',         ['physician', 'nurse', 'charge_nurse', 'registration', 'display']],
  ['POST /fhir/R4/Observation',                 CLINICAL],
  ['POST /fhir/R4/Encounter',                   ['charge_nurse', 'registration']],
  ['POST /fhir/R4/Subscription',                CLINICAL],
  ['DELETE /session',                           EVERYONE],
  ['WS board {demo}',                           ['physician', 'nurse', 'charge_nurse', 'registration', 'display']],
  ['WS chart {enc}',                            CLINICAL],
];

const ctx = { api: {}, staff: {}, secrets: {}, second: {}, madeHere: [] };
let serial = Date.now() % 1e7;
const newPatient = () => ({
  mrn: `ACM-${serial++}`, family_name: 'Quillfeather', given_name: 'Ysolde', birth_date: '1972-04-09', sex: 'female',
});
const arrivalBody = (patient) => ({ patient, arrival_mode: 'walk_in', chief_complaint: 'matrix check of sore wrist' });

before(async () => {
  ctx.demo = Number(sql(OWNER, "SELECT id FROM department WHERE code = 'DEMO'"));
  ctx.peds = Number(sql(OWNER, "SELECT id FROM department WHERE code = 'PEDS'"));
  for (const role of ROLES) {
    ctx.api[role] = await signedIn(USERS[role]);
    ctx.staff[role] = (await ctx.api[role].get('/session')).json.staff_id;
  }
  ctx.chen = Number(sql(OWNER, "SELECT staff_id FROM account WHERE username = 'dr.chen'"));
  ctx.kim = Number(sql(OWNER, "SELECT staff_id FROM account WHERE username = 'kim'"));
  // The encounter every clinical route is tried on: a fresh Demo ED arrival.
  const arrived = await ctx.api.charge_nurse.post(`/departments/${ctx.demo}/arrivals`, arrivalBody(newPatient()));
  assert.equal(arrived.status, 201, arrived.text);
  ctx.enc = arrived.json.encounter.encounter_id;
  ctx.patient = arrived.json.encounter.patient;
  ctx.secretsOfTarget = [ctx.patient.family_name, ctx.patient.given_name, ctx.patient.mrn, 'matrix check of sore wrist'];
  const board = (await ctx.api.charge_nurse.get(`/departments/${ctx.demo}/board`)).json;
  const taken = new Set(board.encounters.filter((e) => e.bed).map((e) => e.bed.id));
  ctx.freeBed = board.beds.find((b) => !taken.has(b.id) && b.area !== 'waiting_room' && b.status !== 'cleaning').id;
  // Emergency access is tried on a children's ED patient; it needs an enrolled TOTP.
  const asante = await signedIn('asante');
  const elsewhere = await asante.post(`/departments/${ctx.peds}/arrivals`, {
    ...arrivalBody({ ...newPatient(), family_name: 'Brightwater', given_name: 'Odalys' }), chief_complaint: 'matrix check, earache',
  });
  assert.equal(elsewhere.status, 201, elsewhere.text);
  ctx.elsewhere = elsewhere.json.encounter.encounter_id;
  ctx.elsewherePatient = elsewhere.json.encounter.patient.id;
  for (const role of CLINICAL) {
    const r = ctl(['user', 'totp', USERS[role]]);
    assert.equal(r.status, 0, r.stderr);
    ctx.secrets[role] = /secret=([A-Z2-7]+)/.exec(r.stdout)[1];
  }
  // A staff account for the account routes to work on.
  const made = await ctx.api.admin.post('/accounts', { username: `acm.target${serial++}`, password: 'a long enough password', role: 'nurse' });
  assert.equal(made.status, 201, made.text);
  ctx.account = made.json.account_id;
});

after(async () => {
  // The encounters the matrix made for itself leave the board.
  for (const id of ctx.madeHere) {
    await ctx.api.charge_nurse.post(`/encounters/${id}/disposition`, { kind: 'discharge' });
    await ctx.api.charge_nurse.post(`/encounters/${id}/departure`, {});
  }
  // Leave the demo accounts as they were: no second factor, no emergency access.
  sql(OWNER, `UPDATE account SET totp_secret = NULL, totp_last_step = 0 WHERE username IN (${CLINICAL.map((r) => lit(USERS[r])).join(',')})`);
  sql(env.EDLIVE_PG_SUPER, `UPDATE break_glass SET expires_at = now() - interval '1 second' WHERE patient_id = ${Number(ctx.elsewherePatient) || 0} AND expires_at > now()`);
});

// The call a role makes for one matrix row: a request with a body the role could sensibly send.
async function attempt(route, role, token) {
  const api = token === undefined ? ctx.api[role] : new Api(token);
  const me = ctx.staff[role];
  const enc = `/encounters/${ctx.enc}`;
  switch (route) {
    case 'POST /session': {
      const secret = role === 'admin' ? process.env.EDLIVE_DEMO_ADMIN_TOTP || ADMIN_TOTP_SECRET : ctx.secrets[role];
      const totp = secret ? await freshTotp(secret, USERS[role]) : undefined;
      const r = await signIn(env.EDLIVE_API_URL, USERS[role], { totp });
      ctx.second[role] = r.token;
      return { status: r.status, json: r.body, text: JSON.stringify(r.body) };
    }
    case 'GET /session': return api.get('/session');
    case 'GET /departments': return api.get('/departments');
    case 'GET /departments/{demo}/board': return api.get(`/departments/${ctx.demo}/board`);
    case 'POST /departments/{demo}/arrivals': return api.post(`/departments/${ctx.demo}/arrivals`, arrivalBody(newPatient()));
    case 'GET /encounters/{enc}': return api.get(enc);
    case 'POST /encounters/{enc}/triage': return api.post(`${enc}/triage`, { esi: 3 });
    case 'POST /encounters/{enc}/bed': return api.post(`${enc}/bed`, { bed_id: ctx.freeBed });
    case 'POST /encounters/{enc}/assignment':
      return api.post(`${enc}/assignment`, role === 'physician' ? { attending_id: me }
        : role === 'nurse' ? { nurse_id: me } : { attending_id: ctx.chen, nurse_id: ctx.kim });
    case 'POST /encounters/{enc}/vitals': return api.post(`${enc}/vitals`, { taken_by: me || ctx.staff.nurse, heart_rate: 88, spo2: 97 });
    case 'POST /encounters/{enc}/notes': return api.post(`${enc}/notes`, { author_id: me || ctx.staff.nurse, text: 'Matrix check: seen.' });
    case 'POST /encounters/{enc}/status': return api.post(`${enc}/status`, { status: 'in_room' });
    case 'POST /encounters/{elsewhere}/break-glass': {
      const totp = ctx.secrets[role] ? await freshTotp(ctx.secrets[role], USERS[role]) : '123456';
      return api.post(`/encounters/${ctx.elsewhere}/break-glass`, { reason: 'matrix check: patient transferred to us', totp });
    }
    case 'POST /encounters/{enc}/orders': return api.post(`${enc}/orders`, { kind: 'lab', name: 'Matrix check CBC' });
    case 'POST /orders/{order}/status': {
      // A fresh order each time (placed by the charge nurse), so every allowed role can collect.
      const placed = await ctx.api.charge_nurse.post(`${enc}/orders`, { kind: 'lab', name: 'Matrix check U&E' });
      ctx.order = placed.json.order.id;
      return api.post(`/orders/${ctx.order}/status`, { status: 'collected' });
    }
    case 'POST /encounters/{enc}/comment': return api.post(`${enc}/comment`, { text: 'Matrix check' });
    case 'POST /encounters/{enc}/isolation': return api.post(`${enc}/isolation`, { isolation: null });
    case 'POST /encounters/{enc}/reassessment': return api.post(`${enc}/reassessment`, { interval_min: 60 });
    case 'POST /encounters/{enc}/news2-scale': return api.post(`${enc}/news2-scale`, { scale: 1 });
    case 'POST /encounters/{enc}/allergies': return api.post(`${enc}/allergies`, { substance: 'Matrix check latex', severity: 'unknown' });
    case 'POST /encounters/{enc}/medications': return api.post(`${enc}/medications`, { name: 'Matrix check paracetamol' });
    case 'POST /encounters/{enc}/problems': return api.post(`${enc}/problems`, { system: 'icd10', code: 'I10', display: 'Essential (primary) hypertension' });
    case 'POST /encounters/{enc}/diagnoses': return api.post(`${enc}/diagnoses`, { system: 'icd10', code: 'S62.90XA', display: 'Fracture of wrist, initial encounter' });
    case 'POST /encounters/{enc}/disposition': return api.post(`${enc}/disposition`, { kind: 'discharge' });
    case 'POST /departments/{demo}/arrivals/unidentified': {
      const r = await api.post(`/departments/${ctx.demo}/arrivals/unidentified`, { sex: 'unknown', arrival_mode: 'ambulance', chief_complaint: 'matrix check: trauma' });
      if (r.status === 201) ctx.madeHere.push(r.json.encounter.encounter_id);
      return r;
    }
    case 'POST /encounters/{unidentified}/identify': {
      // A fresh unidentified arrival (by the charge nurse) for each try.
      const made = await ctx.api.charge_nurse.post(`/departments/${ctx.demo}/arrivals/unidentified`, { sex: 'unknown', arrival_mode: 'ambulance', chief_complaint: 'matrix check: trauma' });
      assert.equal(made.status, 201, made.text);
      ctx.madeHere.push(made.json.encounter.encounter_id);
      return api.post(`/encounters/${made.json.encounter.encounter_id}/identify`, { patient: newPatient() });
    }
    case 'POST /orders/{order}/seen': {
      // A fresh resulted order each time, so every allowed role can mark it seen.
      const placed = await ctx.api.charge_nurse.post(`${enc}/orders`, { kind: 'lab', name: 'Matrix check troponin' });
      ctx.order = placed.json.order.id;
      for (const body of [{ status: 'collected' }, { status: 'resulted', result: { value: 5, unit: 'ng/L', reference_low: 0, reference_high: 14 } }]) {
        const step = await ctx.api.charge_nurse.post(`/orders/${ctx.order}/status`, body);
        assert.ok(step.status < 300, `order ${body.status}: ${step.text}`);
      }
      return api.post(`/orders/${ctx.order}/seen`);
    }
    case 'POST /encounters/{leaving}/departure': {
      // A fresh arrival with a disposition each time: a departure ends its encounter.
      const made = await ctx.api.charge_nurse.post(`/departments/${ctx.demo}/arrivals`, arrivalBody(newPatient()));
      assert.equal(made.status, 201, made.text);
      const leaving = made.json.encounter.encounter_id;
      ctx.madeHere.push(leaving);
      assert.equal((await ctx.api.charge_nurse.post(`/encounters/${leaving}/disposition`, { kind: 'discharge' })).status, 200);
      return api.post(`/encounters/${leaving}/departure`, {});
    }
    case 'POST /beds/{bed}/status': return api.post(`/beds/${ctx.freeBed}/status`, { status: 'free' });
    case 'GET /departments/{demo}/metrics': return api.get(`/departments/${ctx.demo}/metrics`);
    case 'GET /departments/{demo}/alert-thresholds': return api.get(`/departments/${ctx.demo}/alert-thresholds`);
    case 'PUT /departments/{demo}/alert-thresholds':
      return api.req('PUT', `/departments/${ctx.demo}/alert-thresholds`, { waiting_longest_min: 60, boarder_min: 240, esi12_unassigned: true });
    case 'GET /audit': return api.get('/audit?limit=5');
    case 'POST /accounts': return api.post('/accounts', { username: `acm.made${serial++}`, password: 'a long enough password', role: 'registration' });
    case 'POST /accounts/{account}/disabled': return api.post(`/accounts/${ctx.account}/disabled`, { disabled: false });
    case 'GET /fhir/R4/metadata': return fhirAttempt(api.token, 'metadata');
    case 'GET /fhir/R4/Encounter/{enc}': return fhirAttempt(api.token, `Encounter/${ctx.enc}`);
    case 'GET /fhir/R4/Encounter?status=': return fhirAttempt(api.token, 'Encounter?status=arrived,triaged,in-progress&_count=5');
    case 'GET /fhir/R4/Patient/{patient}': return fhirAttempt(api.token, `Patient/${ctx.patient.id}`);
    case 'GET /fhir/R4/Patient?identifier=': return fhirAttempt(api.token, `Patient?identifier=${encodeURIComponent(ctx.patient.mrn)}`);
    case 'GET /fhir/R4/Observation?encounter={enc}': return fhirAttempt(api.token, `Observation?encounter=Encounter/${ctx.enc}`);
    case 'GET /fhir/R4/Location/{bed}': return fhirAttempt(api.token, `Location/${ctx.freeBed}`);
    case 'GET /fhir/R4/Practitioner/{staff}': return fhirAttempt(api.token, `Practitioner/${ctx.kim}`);
    case 'POST /fhir/R4/Observation': return fhirAttempt(api.token, 'Observation', {
      resourceType: 'Observation', status: 'final', code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
      encounter: { reference: `Encounter/${ctx.enc}` }, performer: [{ reference: `Practitioner/${me || ctx.staff.nurse}` }],
      valueQuantity: { value: 84, unit: '/min', system: 'http://unitsofmeasure.org', code: '/min' },
    });
    case 'POST /fhir/R4/Encounter': {
      const p = newPatient();
      const r = await fhirAttempt(api.token, 'Encounter', {
        resourceType: 'Encounter', status: 'arrived', class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'EMER' },
        contained: [{ resourceType: 'Patient', id: 'p', identifier: [{ type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }] }, value: p.mrn }],
          name: [{ family: p.family_name, given: [p.given_name] }], gender: p.sex, birthDate: p.birth_date }],
        subject: { reference: '#p' }, reasonCode: [{ text: 'matrix check of sore wrist' }],
      });
      if (r.status === 201) ctx.madeHere.push(Number(r.json.id));
      return r;
    }
    case 'POST /fhir/R4/Subscription': {
      const bp = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/';
      const r = await fhirAttempt(api.token, 'Subscription', {
        resourceType: 'Subscription', status: 'requested', reason: 'matrix check',
        criteria: 'https://edlive.invalid/fhir/SubscriptionTopic/vital-signs-recorded',
        _criteria: { extension: [{ url: `${bp}backport-filter-criteria`, valueString: `Observation?encounter=Encounter/${ctx.enc}` }] },
        channel: { type: 'websocket', payload: 'application/fhir+json', _payload: { extension: [{ url: `${bp}backport-payload-content`, valueCode: 'id-only' }] } },
      });
      // Ended again at once: the matrix needs only the answer.
      if (r.status === 201) await fetch(`${env.EDLIVE_API_URL.replace(/\/+$/, '')}/fhir/R4/Subscription/${r.json.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${api.token}` } });
      return r;
    }
    case 'DELETE /session': return new Api(ctx.second[role]).req('DELETE', '/session');
    case 'WS board {demo}': return wsAttempt(api.token, 'board', ctx.demo);
    case 'WS chart {enc}': return wsAttempt(api.token, 'chart', ctx.enc);
    default: throw new Error(`no call for ${route}`);
  }
}

// A FHIR request as a REST-like answer: an OperationOutcome's edlive error code becomes
// json.error.code, so a refusal is checked like a REST one.
async function fhirAttempt(token, path, body) {
  const headers = token ? { authorization: `Bearer ${token}` } : {};
  if (body) headers['content-type'] = 'application/fhir+json';
  const res = await fetch(`${env.EDLIVE_API_URL.replace(/\/+$/, '')}/fhir/R4/${path}`, {
    method: body ? 'POST' : 'GET', headers, body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  const json = JSON.parse(text);
  const code = json.resourceType === 'OperationOutcome' ? json.issue?.[0]?.details?.text : undefined;
  return { status: res.status, json: code ? { error: { code } } : json, text };
}

// A subscribe as a REST-like answer: a snapshot counts as 200, an error as its code.
async function wsAttempt(token, topic, id) {
  const { frame, raw } = await firstReply(token, topic, id);
  const status = frame.type === 'snapshot' ? 200 : frame.code === 'forbidden' ? 403 : frame.code === 'not_found' ? 404 : 0;
  return { status, json: frame.type === 'error' ? { error: frame } : frame, text: raw };
}

test('the permission matrix: every route and topic, for every role', async () => {
  const failures = [];
  for (const [route, may] of MATRIX) {
    for (const role of ROLES) {
      const r = await attempt(route, role);
      const what = `${role} (${USERS[role]}) ${route}: ${r.status} ${r.text.slice(0, 160)}`;
      if (may.includes(role)) {
        if (!(r.status >= 200 && r.status < 300)) failures.push(`should succeed: ${what}`);
      } else {
        if (r.status !== 403 || r.json?.error?.code !== 'forbidden') failures.push(`should be 403 forbidden: ${what}`);
        for (const s of [...ctx.secretsOfTarget, 'Brightwater', 'Odalys']) {
          if (r.text.includes(s)) failures.push(`a refusal carries chart data: ${what}`);
        }
      }
    }
  }
  assert.deepEqual(failures, [], `\n${failures.join('\n')}`);
});

test('GET /session names the role and staff member of each session', async () => {
  for (const role of ROLES) {
    const r = await ctx.api[role].get('/session');
    assert.equal(r.status, 200);
    assert.equal(r.json.username, USERS[role]);
    assert.equal(r.json.role, role);
    assert.deepEqual(r.json.departments.map((d) => d.id), role === 'admin' ? [] : [ctx.demo], `${role}'s departments`);
  }
});

test('a physician may assign only themself, a nurse only themself and no bed; a charge nurse anyone', async () => {
  const enc = `/encounters/${ctx.enc}/assignment`;
  const { physician, nurse, charge_nurse: charge } = ctx.api;
  const cases = [
    // who        body                                                      status
    [physician, { attending_id: ctx.staff.physician },                        200],
    [physician, { attending_id: ctx.chen },                                  403],
    [physician, { nurse_id: ctx.staff.nurse },                               403],
    [physician, { attending_id: ctx.staff.physician, nurse_id: ctx.kim },    403],
    [nurse,     { nurse_id: ctx.staff.nurse },                               200],
    [nurse,     { nurse_id: ctx.kim },                                       403],
    [nurse,     { attending_id: ctx.staff.physician },                       403],
    [charge,    { attending_id: ctx.chen, nurse_id: ctx.kim },               200],
  ];
  for (const [api, body, status] of cases) {
    const r = await api.post(enc, body);
    assert.equal(r.status, status, `${api.username} assigns ${JSON.stringify(body)}: ${r.text}`);
    if (status === 403) assert.equal(r.json.error.code, 'forbidden');
  }
  const bed = await nurse.post(`/encounters/${ctx.enc}/bed`, { bed_id: null });
  assert.equal(bed.status, 403, 'a nurse may not move a patient to or from a bed');
  assert.equal(bed.json.error.code, 'forbidden');
  const chart = (await charge.get(`/encounters/${ctx.enc}`)).json.encounter;
  assert.equal(chart.attending.id, ctx.chen, 'the refused assignments changed nothing');
  assert.equal(chart.nurse.id, ctx.kim);
});

test('no session: every route but sign-in answers 401, and the WebSocket upgrade is refused', async () => {
  const anonymous = new Api(null);
  const forged = new Api('A'.repeat(43)); // well-formed, but no such session
  const routes = MATRIX.map(([route]) => route).filter((r) => !r.startsWith('WS') && r !== 'POST /session' && !r.includes('/fhir/'));
  // FHIR: the same 401 (as an OperationOutcome); only the metadata needs no session.
  const fhirRoutes = MATRIX.map(([route]) => route).filter((r) => r.includes('/fhir/') && !r.endsWith('/metadata'));
  for (const token of [null, 'A'.repeat(43)]) {
    for (const route of fhirRoutes) {
      const r = await attempt(route, 'physician', token);
      assert.equal(r.status, 401, `${route} without a valid session: ${r.text}`);
      assert.equal(r.json.error.code, 'unauthenticated');
      for (const s of ctx.secretsOfTarget) assert.ok(!r.text.includes(s));
    }
  }
  for (const api of [anonymous, forged]) {
    for (const route of routes) {
      const [method, pattern] = route.split(' ');
      const path = pattern.replace('{demo}', ctx.demo).replace('{enc}', ctx.enc).replace('{elsewhere}', ctx.elsewhere).replace('{account}', ctx.account)
        .replace('{order}', ctx.order || 1).replace('{bed}', ctx.freeBed).replace('{unidentified}', ctx.enc).replace('{leaving}', ctx.enc);
      const r = await api.req(method, path, method === 'POST' || method === 'PUT' ? { esi: 3 } : undefined);
      assert.equal(r.status, 401, `${route} without a valid session: ${r.text}`);
      assert.equal(r.json.error.code, 'unauthenticated');
      for (const s of ctx.secretsOfTarget) assert.ok(!r.text.includes(s));
    }
  }
  assert.ok(await upgradeRefused(null), 'no session: no socket');
  assert.ok(await upgradeRefused('A'.repeat(43)), 'an unknown token: no socket');
  // The refusal is an HTTP status a client can read, not a bare close.
  for (const [token, what] of [[null, 'no token'], ['A'.repeat(43), 'an unknown token']]) {
    const answer = await upgradeAnswer(token);
    assert.equal(answer.status, 401, `${what}: ${JSON.stringify(answer.body)}`);
    assert.equal(answer.body.error.code, 'unauthenticated', what);
  }
});

test('a new session opens a socket right after sign-in, and a signed-out one gets 401', async () => {
  const eriksen = await signedIn('eriksen');
  const socket = await openSocket(eriksen.token);
  socket.subscribe('board', ctx.demo);
  await socket.waitFor((f) => f.type === 'snapshot' || f.type === 'subscribed', 'the board right after sign-in');
  const out = await eriksen.req('DELETE', '/session');
  assert.ok(out.status < 300, `sign-out: ${out.text}`);
  assert.equal(await Promise.race([socket.closed, sleep(8000).then(() => 'still open')]), 4401,
    'the signed-out session loses its socket with 4401');
  const answer = await upgradeAnswer(eriksen.token);
  assert.equal(answer.status, 401, `a signed-out session's upgrade: ${JSON.stringify(answer.body)}`);
  assert.equal(answer.body.error.code, 'unauthenticated');
});

test('an idle-expired session gets 401 and no socket', async () => {
  const kim = await signedIn('kim');
  assert.equal((await kim.get(`/encounters/${ctx.enc}`)).status, 200);
  expireSession(kim.token);
  for (const [method, path, body] of [['GET', '/session'], ['GET', `/encounters/${ctx.enc}`], ['POST', `/encounters/${ctx.enc}/notes`, { author_id: ctx.kim, text: 'too late' }]]) {
    const r = await kim.req(method, path, body);
    assert.equal(r.status, 401, `${method} ${path} after the idle time-out: ${r.text}`);
    assert.equal(r.json.error.code, 'unauthenticated');
  }
  assert.ok(await upgradeRefused(kim.token), 'an expired session opens no socket');
  assert.equal((await upgradeAnswer(kim.token)).status, 401, 'an expired session: HTTP 401 at the upgrade');
});

test("a disabled user's session stops at once (REST 401, socket closed) and does not come back", async () => {
  const novak = await signedIn('novak');
  const socket = await openSocket(novak.token);
  socket.subscribe('board', ctx.demo);
  await socket.waitFor((f) => f.type === 'snapshot', "novak's board");
  let r = ctl(['user', 'disable', 'novak']);
  try {
    assert.equal(r.status, 0, r.stderr);
    const chart = await novak.get(`/encounters/${ctx.enc}`);
    assert.equal(chart.status, 401, `a disabled account's session: ${chart.text}`);
    assert.equal(chart.json.error.code, 'unauthenticated');
    const again = await signIn(env.EDLIVE_API_URL, 'novak');
    assert.equal(again.status, 403);
    assert.equal(again.body.error.code, 'account_disabled');
    const code = await Promise.race([socket.closed, sleep(7000).then(() => 'still open after 7 s')]);
    assert.equal(code, 4401, 'the open socket is closed with 4401');
  } finally {
    r = ctl(['user', 'enable', 'novak']);
    socket.close();
  }
  assert.equal(r.status, 0, r.stderr);
  assert.equal((await signIn(env.EDLIVE_API_URL, 'novak')).status, 201, 'enabled again, novak signs in');
  assert.equal((await novak.get('/session')).status, 401, 'the session that ended with the disabling stays ended');
});

test("another department's encounter or board is 404, exactly like an id that does not exist", async () => {
  const peds = sql(OWNER, `SELECT json_build_object('enc', e.id, 'family', p.family_name, 'given', p.given_name, 'mrn', p.mrn,
      'complaint', e.chief_complaint) FROM encounter e JOIN patient p ON p.id = e.patient_id
      WHERE e.department_id = ${ctx.peds} AND e.status NOT IN ('departed', 'left_without_being_seen') ORDER BY e.id LIMIT 1`);
  const other = JSON.parse(peds);
  const demoRow = sql(OWNER, `SELECT json_build_object('enc', e.id, 'family', p.family_name, 'given', p.given_name, 'mrn', p.mrn,
      'complaint', e.chief_complaint) FROM encounter e JOIN patient p ON p.id = e.patient_id
      WHERE e.department_id = ${ctx.demo} AND e.status NOT IN ('departed', 'left_without_being_seen') ORDER BY e.id LIMIT 1`);
  const demo = JSON.parse(demoRow);
  const duarte = await signedIn('duarte'); // children's ED nurse
  const asante = await signedIn('asante'); // children's ED charge nurse
  const { physician: lopez, charge_nurse: adeyemi } = ctx.api;
  const patientsBefore = sql(OWNER, 'SELECT count(*) FROM patient');
  const cases = [
    // who      method  path of an id                                  the real id  body                                               whose data
    [lopez,   'GET',  (id) => `/encounters/${id}`,                 other.enc,   undefined,                                         other],
    [lopez,   'POST', (id) => `/encounters/${id}/vitals`,          other.enc,   { taken_by: ctx.staff.physician, heart_rate: 90 }, other],
    [lopez,   'POST', (id) => `/encounters/${id}/notes`,           other.enc,   { author_id: ctx.staff.physician, text: 'wrong chart' }, other],
    [lopez,   'POST', (id) => `/encounters/${id}/triage`,          other.enc,   { esi: 2 },                                        other],
    [lopez,   'POST', (id) => `/encounters/${id}/status`,          other.enc,   { status: 'in_room' },                             other],
    [adeyemi, 'POST', (id) => `/encounters/${id}/bed`,             other.enc,   { bed_id: null },                                  other],
    [adeyemi, 'POST', (id) => `/encounters/${id}/assignment`,      other.enc,   { nurse_id: ctx.staff.nurse },                     other],
    [duarte,  'GET',  (id) => `/encounters/${id}`,                 demo.enc,    undefined,                                         demo],
    [duarte,  'GET',  (id) => `/departments/${id}/board`,          ctx.demo,    undefined,                                         demo],
    [asante,  'POST', (id) => `/departments/${id}/arrivals`,       ctx.demo,    arrivalBody(newPatient()),                         demo],
  ];
  for (const [api, method, path, realId, body, secrets] of cases) {
    const r = await api.req(method, path(realId), body);
    const none = await api.req(method, path(NO_SUCH_ID), body);
    const what = `${api.username} ${method} ${path(realId)}: ${r.status} ${r.text}`;
    assert.equal(r.status, 404, what);
    assert.deepEqual(r.json, none.json, `the answer is the same as for an id that does not exist: ${what}`);
    for (const s of [secrets.family, secrets.given, secrets.mrn, secrets.complaint]) {
      assert.ok(!r.text.includes(s), `the 404 body carries no chart data: ${what}`);
    }
  }
  assert.equal(sql(OWNER, 'SELECT count(*) FROM patient'), patientsBefore, 'the refused arrival wrote nothing');
  assert.deepEqual((await lopez.get('/departments')).json.departments.map((d) => d.id), [ctx.demo]);
  assert.deepEqual((await duarte.get('/departments')).json.departments.map((d) => d.id), [ctx.peds]);

  // The same over the WebSocket: error not_found, nothing of the chart.
  for (const [api, topic, id, secrets] of [[duarte, 'board', ctx.demo, demo], [duarte, 'chart', demo.enc, demo],
    [lopez, 'chart', other.enc, other], [lopez, 'board', ctx.peds, other]]) {
    const { frame, raw } = await firstReply(api.token, topic, id);
    assert.equal(frame.type, 'error', `${api.username} subscribes to ${topic} ${id}: ${raw}`);
    assert.equal(frame.code, 'not_found', raw);
    for (const s of [secrets.family, secrets.given, secrets.mrn, secrets.complaint]) assert.ok(!raw.includes(s), raw);
  }
});

test('the public wall (display role) reads the board masked: initials, no name, MRN or birth date', async () => {
  const rest = await ctx.api.display.get(`/departments/${ctx.demo}/board`);
  assert.equal(rest.status, 200, rest.text);
  const ws = await wsAttempt(ctx.api.display.token, 'board', ctx.demo);
  assert.equal(ws.status, 200, ws.text);
  for (const [what, board] of [['REST', rest.json], ['WebSocket', ws.json.board]]) {
    const row = board.encounters.find((e) => e.encounter_id === ctx.enc);
    assert.ok(row, `${what}: the wall lists the new arrival`);
    assert.deepEqual(row.patient, { initials: 'YQ' }, `${what}: the patient is initials only`);
    for (const s of [...ctx.secretsOfTarget, '1972-04-09']) {
      assert.ok(!JSON.stringify(board).includes(s), `${what}: the wall's board carries ${s}`);
    }
  }
});
