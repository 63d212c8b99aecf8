// Access control, sign-in, emergency access and audit, as users and auditors would check them
// (issue "Only the right clinicians see and change a chart"; proto/README.md "Signing in,
// sessions and permissions"). Runs against the deployment deploy/local/test started.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { requireEnv } from './lib/env.mjs';
import { signIn, tokenFor, bearer, totpCode, ADMIN_TOTP_SECRET, DEMO_PASSWORD } from './lib/auth.mjs';

const env = requireEnv('EDLIVE_API_URL', 'EDLIVE_HUB_URL', 'EDLIVE_PG', 'EDLIVE_PG_OWNER', 'EDLIVE_PG_SUPER', 'EDLIVE_BUILD');
const API = env.EDLIVE_API_URL;
const V1 = `${API}/api/v1`;
const CTL = `${env.EDLIVE_BUILD}/services/ctl/edlivectl`;

const sql = (conn, text) => execFileSync('psql', [conn, '-XAtq', '-v', 'ON_ERROR_STOP=1', '-c', text], { encoding: 'utf8' }).trim();
const ctl = (...args) => spawnSync(CTL, args, { encoding: 'utf8', env: { ...process.env, EDLIVE_PG: env.EDLIVE_PG_OWNER } });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// Waits until pred() holds; fails naming what it waited for after ms.
async function until(pred, what, ms = 8000) {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}
// Opens a socket with a session; rejects when the upgrade is refused.
function openSocket(token) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(env.EDLIVE_HUB_URL, { headers: bearer(token) });
    ws.onopen = () => resolve(ws);
    ws.onerror = () => reject(new Error('the hub refused the socket'));
  });
}

async function req(method, path, token, body, headers = {}) {
  const init = { method, headers: { ...(token ? bearer(token) : {}), ...headers } };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(V1 + path, init);
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* caller checks */ }
  return { status: res.status, json, text, headers: res.headers };
}

// A WebSocket to the hub with a session; resolves with the first frame after `send`, or with
// {refused} when the upgrade is refused, or {closed: code}.
function wsFirst(token, message, { origin, url = env.EDLIVE_HUB_URL } = {}) {
  return new Promise((resolve) => {
    const headers = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (origin) headers.origin = origin;
    const ws = new WebSocket(url, { headers });
    let opened = false;
    const timer = setTimeout(() => { ws.close(); resolve({ timeout: true }); }, 5000);
    ws.onopen = () => { opened = true; ws.send(JSON.stringify(message)); };
    ws.onmessage = (m) => { clearTimeout(timer); ws.close(); resolve({ frame: JSON.parse(m.data), raw: String(m.data) }); };
    ws.onerror = () => { if (!opened) { clearTimeout(timer); resolve({ refused: true }); } };
    ws.onclose = (e) => { clearTimeout(timer); resolve(opened ? { closed: e.code } : { refused: true }); };
  });
}

// ---- the demo ED as these tests see it ----
const tokens = {};
async function as(user) {
  if (!tokens[user]) tokens[user] = user === 'admin'
    ? await tokenFor(API, 'admin', { totp: await freshAdminCode() })
    : await tokenFor(API, user);
  return tokens[user];
}
let lastAdminStep = 0;
// Each TOTP code signs in once (other tests sign in as admin too): wait for a step that no
// sign-in has used yet.
async function freshAdminCode() {
  lastAdminStep = Math.max(lastAdminStep, Number(sql(env.EDLIVE_PG_OWNER, "SELECT totp_last_step FROM account WHERE username = 'admin'")));
  for (;;) {
    const step = Math.floor(Date.now() / 30000);
    if (step > lastAdminStep) { lastAdminStep = step; return totpCode(ADMIN_TOTP_SECRET, step); }
    await sleep(1000);
  }
}

const demo = {};
async function ids() {
  if (demo.enc) return demo;
  const board = (await req('GET', '/departments/1/board', await as('adeyemi'))).json;
  demo.enc = board.encounters.find((e) => e.bed).encounter_id;
  demo.patient = board.encounters.find((e) => e.encounter_id === demo.enc).patient;
  demo.staff = Object.fromEntries(board.staff.map((s) => [s.name, s.id]));
  demo.peds = JSON.parse(sql(env.EDLIVE_PG_OWNER, `SELECT json_build_object('enc', e.id, 'family', p.family_name, 'given', p.given_name, 'mrn', p.mrn, 'complaint', e.chief_complaint) FROM encounter e JOIN patient p ON p.id = e.patient_id WHERE e.department_id = 2 ORDER BY e.id LIMIT 1`));
  demo.staffIdOf = (username) => Number(sql(env.EDLIVE_PG_OWNER, `SELECT staff_id FROM account WHERE username = '${username.replace(/'/g, '')}'`));
  return demo;
}

// ---- 1. the matrix: role x route, allowed and refused ----
const ROLES = { physician: 'dr.lopez', nurse: 'patel', charge: 'adeyemi', registration: 'moreau', admin: 'admin' };
// Expected: which roles may (the rest get 403 forbidden). Stated here, independently of access.c.
const MATRIX = [
  ['GET /departments/1/board', ['physician', 'nurse', 'charge', 'registration']],
  ['POST /departments/1/arrivals', ['charge', 'registration']],
  ['GET /encounters/:enc', ['physician', 'nurse', 'charge']],
  ['POST /encounters/:enc/triage', ['physician', 'nurse', 'charge']],
  ['POST /encounters/:enc/bed', ['charge']],
  ['POST /encounters/:enc/assignment', ['physician', 'nurse', 'charge']],
  ['POST /encounters/:enc/vitals', ['physician', 'nurse', 'charge']],
  ['POST /encounters/:enc/notes', ['physician', 'nurse', 'charge']],
  ['POST /encounters/:enc/status', ['physician', 'nurse', 'charge']],
  ['POST /encounters/:enc/break-glass', ['physician', 'nurse', 'charge']],
  ['GET /audit', ['admin']],
  ['POST /accounts', ['admin']],
  ['WS board 1', ['physician', 'nurse', 'charge', 'registration']],
  ['WS chart :enc', ['physician', 'nurse', 'charge']],
];
let mrnCounter = Date.now() % 1000000;

async function bodyFor(route, role, d) {
  const me = d.staffIdOf(ROLES[role]) || undefined;
  switch (route.split(' ')[1].split('/').pop()) {
    case 'arrivals': return { patient: { mrn: `SEC${mrnCounter++}`, family_name: 'Matrix', given_name: 'Test', birth_date: '1980-01-01', sex: 'other' }, arrival_mode: 'walk_in', chief_complaint: 'matrix test' };
    case 'triage': return { esi: 3 };
    case 'bed': return { bed_id: d.bed };
    case 'assignment': return role === 'nurse' ? { nurse_id: me } : role === 'physician' ? { attending_id: me } : { attending_id: d.staff['Dr. Maria Lopez'] };
    case 'vitals': return { taken_by: me || d.staff['Sam Patel, RN'], heart_rate: 80 };
    case 'notes': return { author_id: me || d.staff['Sam Patel, RN'], text: 'matrix test note' };
    case 'status': return { status: 'seen_by_provider' };
    case 'break-glass': return { reason: 'matrix test: no code given', totp: '000000' };
    case 'accounts': return { username: `matrix${mrnCounter++}`, password: 'a long enough password', role: 'nurse' };
    default: return undefined;
  }
}

test('role x route x topic: allowed cases succeed, refused ones get 403 and carry no chart data', async () => {
  const d = await ids();
  d.bed = (await req('GET', `/encounters/${d.enc}`, await as('adeyemi'))).json.encounter.bed.id;
  for (const [route, allowed] of MATRIX) {
    for (const [role, user] of Object.entries(ROLES)) {
      const token = await as(user);
      const may = allowed.includes(role);
      if (route.startsWith('WS')) {
        const [, topic, id] = route.split(' ');
        const msg = topic === 'board' ? { type: 'subscribe', topic, department_id: 1, since: 0 } : { type: 'subscribe', topic, encounter_id: d.enc, since: 0 };
        const r = await wsFirst(token, msg);
        if (may) assert.equal(r.frame && r.frame.type, 'snapshot', `${role} ${route}: ${JSON.stringify(r).slice(0, 200)}`);
        else {
          assert.equal(r.frame && r.frame.code, 'forbidden', `${role} ${route}: ${JSON.stringify(r).slice(0, 200)}`);
          assert.ok(!r.raw.includes(d.patient.family_name), 'a refusal carries no chart data');
        }
        void id;
        continue;
      }
      const [method, pattern] = route.split(' ');
      const r = await req(method, pattern.replace(':enc', d.enc), token, method === 'POST' ? await bodyFor(route, role, d) : undefined);
      if (may) {
        if (route.endsWith('break-glass')) assert.notEqual(r.json.error.code, 'forbidden', `${role} may ask for emergency access (then needs a code): ${r.text}`);
        else assert.ok(r.status >= 200 && r.status < 300, `${role} ${route}: ${r.status} ${r.text.slice(0, 200)}`);
      } else {
        assert.equal(r.status, 403, `${role} ${route}: ${r.status} ${r.text.slice(0, 200)}`);
        assert.equal(r.json.error.code, 'forbidden');
        assert.ok(!r.text.includes(d.patient.family_name) && !r.text.includes(d.patient.mrn), 'a refusal carries no chart data');
      }
    }
  }
});

test('a physician may assign only themself; a nurse may not assign a bed', async () => {
  const d = await ids();
  const lopez = await as('dr.lopez');
  assert.equal((await req('POST', `/encounters/${d.enc}/assignment`, lopez, { attending_id: d.staffIdOf('dr.lopez') })).status, 200);
  assert.equal((await req('POST', `/encounters/${d.enc}/assignment`, lopez, { attending_id: d.staffIdOf('dr.chen') })).status, 403);
  assert.equal((await req('POST', `/encounters/${d.enc}/bed`, await as('patel'), { bed_id: null })).status, 403);
});

test("another department's encounter and board answer 404 with no chart data, on REST and WebSocket", async () => {
  const d = await ids();
  const lopez = await as('dr.lopez');
  for (const [method, path, body] of [['GET', `/encounters/${d.peds.enc}`], ['POST', `/encounters/${d.peds.enc}/vitals`, { taken_by: d.staffIdOf('dr.lopez'), heart_rate: 90 }], ['POST', `/encounters/${d.peds.enc}/notes`, { author_id: d.staffIdOf('dr.lopez'), text: 'x' }], ['GET', '/departments/2/board']]) {
    const r = await req(method, path, lopez, body);
    assert.equal(r.status, 404, `${method} ${path}: ${r.text}`);
    for (const secret of [d.peds.family, d.peds.given, d.peds.mrn, d.peds.complaint]) assert.ok(!r.text.includes(secret), `${path} must not reveal chart data`);
  }
  const board = await wsFirst(lopez, { type: 'subscribe', topic: 'board', department_id: 2, since: 0 });
  assert.equal(board.frame.code, 'not_found');
  const chart = await wsFirst(lopez, { type: 'subscribe', topic: 'chart', encounter_id: d.peds.enc, since: 0 });
  assert.equal(chart.frame.code, 'not_found');
  assert.ok(!chart.raw.includes(d.peds.family));
  const departments = (await req('GET', '/departments', lopez)).json.departments.map((x) => x.id);
  assert.deepEqual(departments, [1], 'a Demo ED physician sees only the Demo ED');
});

test('no session, an expired session and a disabled account all get 401 (and no socket)', async () => {
  const d = await ids();
  for (const path of ['/departments', '/departments/1/board', `/encounters/${d.enc}`, '/audit']) {
    assert.equal((await req('GET', path, null)).status, 401, path);
  }
  assert.equal((await req('POST', `/encounters/${d.enc}/notes`, null, { author_id: 1, text: 'x' })).status, 401);
  assert.ok((await wsFirst(null, { type: 'ping' })).refused, 'no session: the upgrade is refused');

  const expired = await tokenFor(API, 'kim');
  sql(env.EDLIVE_PG_SUPER, "UPDATE session s SET last_active_at = now() - interval '2 hours' FROM account a WHERE a.id = s.account_id AND a.username = 'kim'");
  assert.equal((await req('GET', `/encounters/${d.enc}`, expired)).status, 401, 'idle past the time-out');
  assert.ok((await wsFirst(expired, { type: 'ping' })).refused);

  const novak = await tokenFor(API, 'novak');
  const novakId = sql(env.EDLIVE_PG_OWNER, "SELECT id FROM account WHERE username = 'novak'");
  const admin = await as('admin');
  assert.equal((await req('POST', `/accounts/${novakId}/disabled`, admin, { disabled: true })).status, 200);
  try {
    assert.equal((await req('GET', `/encounters/${d.enc}`, novak)).status, 401, "a disabled user's session stops at once");
    assert.equal((await signIn(API, 'novak')).status, 403);
  } finally {
    assert.equal((await req('POST', `/accounts/${novakId}/disabled`, admin, { disabled: false })).status, 200);
  }
});

// ---- 2. sign-in ----
test('sign-in: the cookie, wrong password, lock-out with back-off, and per-address limits', async () => {
  const r = await signIn(API, 'eriksen');
  assert.equal(r.status, 201);
  assert.equal(r.headers.get('set-cookie'), `__Host-edlive_session=${r.token}; Path=/; HttpOnly; Secure; SameSite=Strict`);
  assert.ok(r.token.length >= 43, 'at least 256 bits');

  const admin = await as('admin');
  const name = `lock${Date.now() % 100000}`;
  assert.equal((await req('POST', '/accounts', admin, { username: name, password: 'the right password', role: 'nurse' })).status, 201);
  const addr = { 'x-real-ip': `10.9.${Date.now() % 200}.1` };
  for (let i = 0; i < 5; i++) assert.equal((await signIn(API, name, { password: 'wrong', headers: addr })).status, 401);
  const locked = await signIn(API, name, { password: 'the right password', headers: addr });
  assert.equal(locked.status, 429, 'after 5 failures even the right password waits');
  assert.ok(Number(locked.headers.get('retry-after')) >= 1);
  const again = await signIn(API, name, { password: 'wrong', headers: addr });
  assert.equal(again.status, 429);
  assert.ok(Number(again.headers.get('retry-after')) >= Number(locked.headers.get('retry-after')) - 1, 'the back-off does not shrink');

  const other = { 'x-real-ip': `10.8.${Date.now() % 200}.2` };
  let status = 0;
  for (let i = 0; i < 25 && status !== 429; i++) status = (await signIn(API, `nobody${i}`, { password: 'x', headers: other })).status;
  assert.equal(status, 429, 'one address is slowed after 20 failures');
  assert.equal((await signIn(API, 'eriksen', { headers: other })).status, 429, 'from that address, for any account');
  assert.equal((await signIn(API, 'eriksen')).status, 201, 'and only from that address');
});

test('TOTP: admins need the code, and a code signs in once', async () => {
  const noCode = await signIn(API, 'admin');
  assert.equal(noCode.status, 401);
  assert.equal(noCode.body.error.code, 'totp_required');
  const code = await freshAdminCode();
  assert.equal((await signIn(API, 'admin', { totp: code })).status, 201);
  const replay = await signIn(API, 'admin', { totp: code });
  assert.equal(replay.status, 401);
  assert.equal(replay.body.error.code, 'totp_invalid');
  delete tokens.admin;
});

test('sign-out and idle time-out end REST at once and close the WebSocket (4401), which then sends nothing', async (t) => {
  const d = await ids();
  for (const end of ['sign-out', 'idle']) {
    const token = await tokenFor(API, 'dr.bello');
    const frames = [];
    const ws = await openSocket(token);
    t.after(() => ws.close());
    const closed = new Promise((resolve) => { ws.onclose = (e) => resolve(e.code); });
    ws.onmessage = (m) => frames.push(JSON.parse(m.data));
    ws.send(JSON.stringify({ type: 'subscribe', topic: 'board', department_id: 1, since: 0 }));
    await until(() => frames.some((f) => f.type === 'snapshot'), 'the board snapshot');
    if (end === 'sign-out') assert.equal((await req('DELETE', '/session', token)).status, 200);
    else sql(env.EDLIVE_PG_SUPER, "UPDATE session s SET last_active_at = now() - interval '2 hours' FROM account a WHERE a.id = s.account_id AND a.username = 'dr.bello'");
    assert.equal((await req('GET', '/departments', token)).status, 401, `${end}: REST refuses the token`);
    const count = frames.length;
    const code = await Promise.race([closed, sleep(8000).then(() => 'still open')]);
    assert.equal(code, 4401, `${end}: the hub closes the socket`);
    // A change made now is not sent to that (closed) socket.
    await req('POST', `/encounters/${d.enc}/notes`, await as('adeyemi'), { author_id: d.staffIdOf('adeyemi'), text: 'after the session ended' });
    await sleep(300);
    assert.ok(frames.slice(count).every((f) => f.type !== 'event'), 'no patient data after the session ended');
  }
});

test('cross-site: a cookie write from another origin gets 403, and the WebSocket refuses foreign origins', async () => {
  const token = await tokenFor(API, 'patel');
  const d = await ids();
  const r = await req('POST', `/encounters/${d.enc}/notes`, null, { author_id: d.staffIdOf('patel'), text: 'csrf' },
    { cookie: `__Host-edlive_session=${token}`, origin: 'https://evil.example' });
  assert.equal(r.status, 403);
  assert.equal(r.json.error.code, 'origin_not_allowed');
  for (const origin of ['https://evil.example', 'null']) {
    assert.ok((await wsFirst(token, { type: 'ping' }, { origin })).refused, `Origin ${origin} is refused at the upgrade`);
  }
  const allowed = process.env.EDLIVE_ALLOWED_ORIGINS.split(',')[0];
  assert.equal((await wsFirst(token, { type: 'ping' }, { origin: allowed })).frame.type, 'pong');
});

// ---- 3. emergency access ----
test('break the glass: needs a reason and a code, is audited high, shows on the board, and ends', async (t) => {
  const d = await ids();
  // Signed in before the enrolment: from then on his sign-ins need the code too.
  const rahman = await tokenFor(API, 'dr.rahman');
  const auditBefore = Number(sql(env.EDLIVE_PG_OWNER, 'SELECT last_seq FROM audit_chain'));
  const uri = ctl('user', 'totp', 'dr.rahman');
  assert.equal(uri.status, 0, uri.stderr);
  const secret = /secret=([A-Z2-7]+)/.exec(uri.stdout)[1];
  const target = d.enc;
  assert.equal((await req('GET', `/encounters/${target}`, rahman)).status, 404, 'not his department');
  const noReason = await req('POST', `/encounters/${target}/break-glass`, rahman, { totp: totpCode(secret) });
  assert.equal(noReason.status, 422);
  assert.equal(noReason.json.error.field, 'reason');
  const wrong = await req('POST', `/encounters/${target}/break-glass`, rahman, { reason: 'transferred patient, unstable', totp: '000000' });
  assert.equal(wrong.status, 401);
  const live = await openSocket(await as('adeyemi'));
  t.after(() => live.close());
  const events = [];
  live.onmessage = (m) => events.push(JSON.parse(m.data));
  live.send(JSON.stringify({ type: 'subscribe', topic: 'board', department_id: 1, since: 0 }));
  await until(() => events.some((f) => f.type === 'snapshot'), "the charge nurse's board");
  const ok = await req('POST', `/encounters/${target}/break-glass`, rahman, { reason: 'transferred patient, unstable', totp: totpCode(secret) });
  assert.equal(ok.status, 201, ok.text);
  assert.equal((await req('GET', `/encounters/${target}`, rahman)).status, 200, 'the chart opens');
  const another = (await req('GET', '/departments/1/board', await as('adeyemi'))).json.encounters.find((e) => e.patient.id !== d.patient.id);
  assert.equal((await req('GET', `/encounters/${another.encounter_id}`, rahman)).status, 404, 'only that patient');
  const audit = sql(env.EDLIVE_PG_OWNER, `SELECT count(*) FROM audit_log WHERE seq > ${auditBefore} AND action = 'break_glass' AND severity = 'high' AND outcome = 'success' AND username = 'dr.rahman' AND encounter_id = ${target}`);
  assert.equal(audit, '1');
  for (let i = 0; i < 50 && !events.some((e) => e.event === 'access.break_glass'); i++) await sleep(100);
  const flag = events.find((e) => e.event === 'access.break_glass');
  assert.ok(flag, 'the charge nurse board receives the flag live');
  assert.equal(flag.payload.encounter.break_glass[0].by, 'dr.rahman');
  live.close();
  sql(env.EDLIVE_PG_SUPER, "UPDATE break_glass SET expires_at = now() - interval '1 second' WHERE account_id = (SELECT id FROM account WHERE username = 'dr.rahman')");
  assert.equal((await req('GET', `/encounters/${target}`, rahman)).status, 404, 'the time box ended');
});

// ---- 4. audit ----
test('a chart read writes its audit row; the service role cannot change the log', async () => {
  const d = await ids();
  const before = Number(sql(env.EDLIVE_PG_OWNER, 'SELECT last_seq FROM audit_chain'));
  assert.equal((await req('GET', `/encounters/${d.enc}`, await as('kim'))).status, 200);
  const row = JSON.parse(sql(env.EDLIVE_PG_OWNER, `SELECT row_to_json(a) FROM (SELECT username, role, action, patient_id, encounter_id, category, outcome, source_addr FROM audit_log WHERE seq > ${before} AND action = 'chart.read') a`));
  assert.deepEqual({ ...row, source_addr: !!row.source_addr }, { username: 'kim', role: 'nurse', action: 'chart.read', patient_id: d.patient.id, encounter_id: d.enc, category: 'chart', outcome: 'success', source_addr: true });
  for (const statement of ['UPDATE audit_log SET outcome = \'success\' WHERE seq = 1', 'DELETE FROM audit_log WHERE seq = 1', 'TRUNCATE audit_log']) {
    assert.throws(() => sql(env.EDLIVE_PG, statement), /permission denied|append-only/, statement);
  }
});

test('edlivectl audit verify names the altered row and the missing row', async () => {
  assert.equal(ctl('audit', 'verify').status, 0);
  const seq = Number(sql(env.EDLIVE_PG_OWNER, "SELECT min(seq) FROM audit_log WHERE action = 'chart.read'"));
  const saved = sql(env.EDLIVE_PG_SUPER, `SELECT row_to_json(a) FROM audit_log a WHERE seq = ${seq}`);
  const superSql = (body) => sql(env.EDLIVE_PG_SUPER, `BEGIN; ALTER TABLE audit_log DISABLE TRIGGER USER; ${body}; ALTER TABLE audit_log ENABLE TRIGGER USER; COMMIT;`);
  try {
    superSql(`UPDATE audit_log SET username = 'someone-else' WHERE seq = ${seq}`);
    let v = ctl('audit', 'verify');
    assert.notEqual(v.status, 0);
    assert.match(v.stdout, new RegExp(`row ${seq}\\b.*altered`));
    superSql(`UPDATE audit_log SET username = (SELECT username FROM json_populate_record(NULL::audit_log, '${saved.replace(/'/g, "''")}'::json)) WHERE seq = ${seq}`);
    assert.equal(ctl('audit', 'verify').status, 0, 'restored');
    superSql(`DELETE FROM audit_log WHERE seq = ${seq}`);
    v = ctl('audit', 'verify');
    assert.notEqual(v.status, 0);
    assert.match(v.stdout, new RegExp(`row ${seq}\\b.*missing`));
  } finally {
    superSql(`INSERT INTO audit_log SELECT * FROM json_populate_record(NULL::audit_log, '${saved.replace(/'/g, "''")}'::json) WHERE NOT EXISTS (SELECT 1 FROM audit_log WHERE seq = ${seq})`);
  }
  assert.equal(ctl('audit', 'verify').status, 0, 'whole again');
});

test('the audit report sorts by every field, filters by user and patient, refuses hostile sorts, and is itself audited', async () => {
  const d = await ids();
  const admin = await as('admin');
  const fields = ['seq', 'at', 'username', 'role', 'action', 'patient_id', 'encounter_id', 'category', 'source_addr', 'outcome', 'severity'];
  const from = new Date(Date.now() - 3600e3).toISOString();
  for (const field of fields) {
    for (const order of ['asc', 'desc']) {
      const r = await req('GET', `/audit?from=${encodeURIComponent(from)}&sort=${field}&order=${order}&limit=1000`, admin);
      assert.equal(r.status, 200, r.text);
      const values = r.json.rows.map((x) => x[field]);
      const cmp = (a, b) => (a === null) - (b === null) || (a < b ? -1 : a > b ? 1 : 0);
      for (let i = 1; i < values.length; i++) {
        const c = cmp(values[i - 1], values[i]);
        if (values[i - 1] === null || values[i] === null) continue; // NULLs sort last (asc) / first (desc) in PostgreSQL
        assert.ok(order === 'asc' ? c <= 0 : c >= 0, `${field} ${order} at ${i}: ${values[i - 1]} then ${values[i]}`);
      }
    }
  }
  const byUser = await req('GET', `/audit?from=${encodeURIComponent(from)}&user=kim`, admin);
  assert.ok(byUser.json.rows.length > 0 && byUser.json.rows.every((x) => x.username === 'kim'));
  const byPatient = await req('GET', `/audit?from=${encodeURIComponent(from)}&patient=${d.patient.id}`, admin);
  assert.ok(byPatient.json.rows.length > 0 && byPatient.json.rows.every((x) => x.patient_id === d.patient.id));
  for (const hostile of ['at;DROP TABLE audit_log', '1,extractvalue(1,1)--', 'seq desc', '(select 1)']) {
    const r = await req('GET', `/audit?sort=${encodeURIComponent(hostile)}`, admin);
    assert.equal(r.status, 400, hostile);
    assert.equal(r.json.error.field, 'sort');
  }
  assert.equal((await req('GET', '/audit', await as('dr.lopez'))).status, 403);
  const seen = sql(env.EDLIVE_PG_OWNER, "SELECT count(*) FROM audit_log WHERE action = 'audit.read' AND username = 'admin'");
  assert.ok(Number(seen) >= fields.length * 2, 'reading the audit log is audited');
  void DEMO_PASSWORD;
});
