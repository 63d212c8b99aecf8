// SPDX-License-Identifier: MIT
// Operations endpoints (issue 15 item 1; services/README.md "Operations"): every service
// answers /healthz and /readyz, directly and through nginx; /readyz names what fails (Redis
// stopped, a migration missing) with 503 and recovers; each /metrics passes
// `promtool check metrics`, is not served by nginx, and its counters move with the traffic.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import { requireEnv, svc } from './lib/env.mjs';
import { sql, sleep, signedIn, openSocket } from './lib/client.mjs';

const env = requireEnv('EDLIVE_API_URL', 'EDLIVE_HUB_URL', 'EDLIVE_BASE_URL', 'EDLIVE_LISTEN',
  'EDLIVE_RELAY_OPS_PORT', 'EDLIVE_MLLP_OPS_PORT', 'EDLIVE_MLLP_PORT', 'EDLIVE_PG_SUPER', 'EDLIVE_REPO');

const SERVICES = {
  api: { name: 'ed-api', url: env.EDLIVE_API_URL, checks: ['migrations', 'postgresql'] },
  hub: { name: 'ed-hub', url: env.EDLIVE_HUB_URL.replace(/^ws/, 'http').replace(/\/ws$/, ''), checks: ['migrations', 'postgresql', 'redis'] },
  relay: { name: 'ed-relay', url: `http://${env.EDLIVE_LISTEN}:${env.EDLIVE_RELAY_OPS_PORT}`, checks: ['migrations', 'postgresql', 'redis'] },
  mllp: { name: 'ed-mllp', url: `http://${env.EDLIVE_LISTEN}:${env.EDLIVE_MLLP_OPS_PORT}`, checks: ['migrations', 'postgresql'] },
};
const NEWEST_MIGRATION = fs.readdirSync(`${env.EDLIVE_REPO}/sql/migrations`).filter((f) => /^\d{4}_.*\.sql$/.test(f)).sort().pop();

async function get(url) {
  const res = await fetch(url);
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, text, json, type: res.headers.get('content-type') || '' };
}

// Polls /readyz until its status is `status` (the checker refreshes it every second).
async function readyzUntil(url, status, ms = 15000) {
  const deadline = Date.now() + ms;
  let r;
  for (;;) {
    r = await get(`${url}/readyz`).catch((e) => ({ status: 0, text: String(e) }));
    if (r.status === status) return r;
    if (Date.now() > deadline) throw new Error(`${url}/readyz stayed ${r.status} (wanted ${status}): ${r.text}`);
    await sleep(200);
  }
}

// One sample's value from a Prometheus text page: name{labels...} where every given label
// matches (0 when there is no such series).
function sample(text, name, labels = {}) {
  let total = 0;
  for (const line of text.split('\n')) {
    const m = line.match(/^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] || '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) total += Number(m[3]);
  }
  return total;
}

function promtool(text) {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (r.error) throw new Error(`promtool: ${r.error.message} (apt-get install prometheus; deploy/local/test installs it)`);
  return r;
}

after(() => {
  // Never leave the deployment without Redis for the tests after this one.
  try { svc('start', 'redis'); } catch { /* already running */ }
});

for (const [key, s] of Object.entries(SERVICES)) {
  test(`${s.name}: /healthz is 200 and /readyz is 200 with every check passing`, async () => {
    const h = await get(`${s.url}/healthz`);
    assert.equal(h.status, 200);
    assert.equal(h.text.trim(), 'ok');
    const r = await readyzUntil(s.url, 200);
    assert.match(r.type, /application\/json/);
    assert.equal(r.json.service, s.name);
    assert.equal(r.json.ready, true);
    assert.deepEqual(r.json.failed, []);
    assert.deepEqual(Object.keys(r.json.checks).sort(), s.checks, `${key} checks what it uses`);
    for (const c of s.checks) assert.equal(r.json.checks[c].ok, true, c);
    assert.equal(r.json.checks.migrations.applied, NEWEST_MIGRATION);
    assert.equal((await get(`${s.url}/nonesuch`)).status, 404);
  });

  test(`${s.name}: /metrics passes promtool check metrics`, async () => {
    const m = await get(`${s.url}/metrics`);
    assert.equal(m.status, 200);
    assert.match(m.type, /^text\/plain; version=0\.0\.4/);
    const r = promtool(m.text);
    assert.equal(r.status, 0, `promtool on ${s.name}'s /metrics:\n${r.stdout}${r.stderr}`);
    assert.equal(sample(m.text, 'edlive_build_info', { service: s.name, schema: NEWEST_MIGRATION }), 1);
    for (const c of s.checks) assert.equal(sample(m.text, 'edlive_ready', { check: c }), 1, c);
  });

  test(`nginx: /healthz/${key} and /readyz/${key} reach ${s.name}`, async () => {
    const h = await get(`${env.EDLIVE_BASE_URL}/healthz/${key}`);
    assert.equal(h.status, 200);
    assert.equal(h.text.trim(), 'ok');
    const r = await get(`${env.EDLIVE_BASE_URL}/readyz/${key}`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.service, s.name);
  });
}

test('nginx: /healthz and /readyz are ed-api\'s; /metrics is not served', async () => {
  assert.equal((await get(`${env.EDLIVE_BASE_URL}/healthz`)).status, 200);
  const r = await get(`${env.EDLIVE_BASE_URL}/readyz`);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.service, 'ed-api');
  for (const path of ['/metrics', '/metrics/', '/api/metrics', '/healthz/../metrics']) {
    const m = await get(`${env.EDLIVE_BASE_URL}${path}`);
    assert.notEqual(m.status, 200, path);
    assert.doesNotMatch(m.text, /edlive_/, path);
  }
});

test('a vitals POST moves ed-api\'s request counter and ed-hub\'s deliveries and latency', async () => {
  const nurse = await signedIn('adeyemi');
  const { departments } = (await nurse.get('/departments')).json;
  const dept = departments[0].id;
  const board = (await nurse.get(`/departments/${dept}/board`)).json;
  const enc = board.encounters[0].encounter_id;
  const takenBy = board.staff.find((x) => x.role === 'nurse').id;
  const socket = await openSocket(nurse.token);
  try {
    socket.subscribe('board', dept);
    await socket.waitFor((f) => f.type === 'snapshot' || f.type === 'subscribed', 'the board subscription');
    const route = { route: '/api/v1/encounters/:id/vitals', method: 'POST', status: '201' };
    const apiBefore = (await get(`${SERVICES.api.url}/metrics`)).text;
    const hubBefore = (await get(`${SERVICES.hub.url}/metrics`)).text;
    const from = socket.frames.length;
    const r = await nurse.post(`/encounters/${enc}/vitals`, { taken_by: takenBy, heart_rate: 91, spo2: 97 });
    assert.equal(r.status, 201, r.text);
    await socket.waitFor((f) => f.type === 'event', 'the vitals event', 8000, from);
    const apiAfter = (await get(`${SERVICES.api.url}/metrics`)).text;
    const hubAfter = (await get(`${SERVICES.hub.url}/metrics`)).text;
    assert.equal(sample(apiAfter, 'edlive_api_requests_total', route) - sample(apiBefore, 'edlive_api_requests_total', route), 1);
    assert.equal(sample(apiAfter, 'edlive_api_request_duration_seconds_count', { route: route.route, method: 'POST' }) -
      sample(apiBefore, 'edlive_api_request_duration_seconds_count', { route: route.route, method: 'POST' }), 1);
    // The path with its id is never a label.
    assert.doesNotMatch(apiAfter, new RegExp(`/encounters/${enc}/`));
    assert.ok(sample(hubAfter, 'edlive_hub_events_delivered_total') > sample(hubBefore, 'edlive_hub_events_delivered_total'));
    assert.ok(sample(hubAfter, 'edlive_hub_write_to_screen_seconds_count') > sample(hubBefore, 'edlive_hub_write_to_screen_seconds_count'));
    assert.ok(sample(hubAfter, 'edlive_hub_event_arrival_seconds_count') > sample(hubBefore, 'edlive_hub_event_arrival_seconds_count'));
    assert.ok(sample(hubAfter, 'edlive_hub_clients') >= 1);
    assert.ok(sample(hubAfter, 'edlive_hub_subscriptions', { topic: 'board' }) >= 1);
  } finally {
    socket.close();
  }
});

test('a refused sign-in is counted', async () => {
  const before = sample((await get(`${SERVICES.api.url}/metrics`)).text, 'edlive_api_signin_failures_total', { status: '401' });
  const res = await fetch(`${env.EDLIVE_API_URL}/api/v1/session`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'patel', password: 'not the password' }),
  });
  assert.equal(res.status, 401);
  const after = sample((await get(`${SERVICES.api.url}/metrics`)).text, 'edlive_api_signin_failures_total', { status: '401' });
  assert.equal(after - before, 1);
});

test('ed-mllp counts each message by trigger event and ACK code', async () => {
  const before = (await get(`${SERVICES.mllp.url}/metrics`)).text;
  const ack = await new Promise((resolve, reject) => {
    const sock = net.connect(Number(env.EDLIVE_MLLP_PORT), '127.0.0.1');
    let buf = Buffer.alloc(0);
    sock.setTimeout(10000, () => { sock.destroy(); reject(new Error('no ACK within 10 s')); });
    sock.on('connect', () => sock.write(Buffer.concat([Buffer.from([0x0b]), Buffer.from('not an HL7 message'), Buffer.from([0x1c, 0x0d])])));
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.includes(Buffer.from([0x1c, 0x0d]))) { sock.destroy(); resolve(buf.toString('utf8')); }
    });
    sock.on('error', reject);
  });
  assert.match(ack, /MSA\|AR\|/);
  const after = (await get(`${SERVICES.mllp.url}/metrics`)).text;
  assert.equal(sample(after, 'edlive_mllp_messages_total', { event: 'other', ack: 'AR' }) -
    sample(before, 'edlive_mllp_messages_total', { event: 'other', ack: 'AR' }), 1);
});

test('ed-relay reports itself active, its lag and the streams', async () => {
  const m = (await get(`${SERVICES.relay.url}/metrics`)).text;
  assert.equal(sample(m, 'edlive_relay_active'), 1);
  assert.equal(sample(m, 'edlive_relay_lag_sampled'), 1);
  assert.ok(sample(m, 'edlive_relay_events_relayed_total') >= 0);
  assert.match(m, /^edlive_relay_stream_length\{department_id="\d+"\} [1-9]/m, 'a department stream with entries');
});

test('/readyz says 503 naming redis while Redis is stopped, and 200 once it is back', async () => {
  svc('stop', 'redis');
  try {
    for (const key of ['hub', 'relay']) {
      const r = await readyzUntil(SERVICES[key].url, 503);
      assert.equal(r.json.ready, false);
      assert.deepEqual(r.json.failed, ['redis'], `${key}: ${r.text}`);
      assert.equal(r.json.checks.redis.ok, false);
      assert.ok(r.json.checks.redis.error, 'the reason is given');
      const via = await get(`${env.EDLIVE_BASE_URL}/readyz/${key}`);
      assert.equal(via.status, 503, `through nginx: ${via.text}`);
      const m = (await get(`${SERVICES[key].url}/metrics`)).text;
      assert.equal(sample(m, 'edlive_ready', { check: 'redis' }), 0);
    }
    // ed-api and ed-mllp do not use Redis: they stay ready.
    for (const key of ['api', 'mllp']) assert.equal((await get(`${SERVICES[key].url}/readyz`)).status, 200, key);
  } finally {
    svc('start', 'redis');
  }
  for (const key of ['hub', 'relay']) await readyzUntil(SERVICES[key].url, 200, 20000);
});

test('/readyz says 503 naming the migration a schema lacks', async () => {
  const hidden = `${NEWEST_MIGRATION}.hidden-by-ops-test`;
  sql(env.EDLIVE_PG_SUPER, `UPDATE schema_migrations SET name = '${hidden}' WHERE name = '${NEWEST_MIGRATION}'`);
  try {
    const r = await readyzUntil(SERVICES.api.url, 503);
    assert.deepEqual(r.json.failed, ['migrations']);
    assert.deepEqual(r.json.checks.migrations.missing, [NEWEST_MIGRATION]);
    assert.match(r.json.checks.migrations.error, /edlivectl migrate/);
  } finally {
    sql(env.EDLIVE_PG_SUPER, `UPDATE schema_migrations SET name = '${NEWEST_MIGRATION}' WHERE name = '${hidden}'`);
  }
  await readyzUntil(SERVICES.api.url, 200);
});

test('every metric the Grafana dashboard names is on a live /metrics page', async () => {
  const dashboard = JSON.parse(fs.readFileSync(`${env.EDLIVE_REPO}/deploy/grafana/edlive.json`, 'utf8'));
  const names = new Set(dashboard.panels.filter((p) => p.targets).flatMap((p) => p.targets.flatMap((t) => t.expr.match(/\bedlive_[a-z0-9_]+/g) || [])));
  const pages = await Promise.all(Object.values(SERVICES).map(async (s) => (await get(`${s.url}/metrics`)).text));
  const live = new Set(pages.join('\n').split('\n').map((l) => l.match(/^([a-z_:][a-z0-9_:]*)(?:\{| )/)?.[1]).filter(Boolean));
  const missing = [...names].filter((n) => !live.has(n));
  assert.deepEqual(missing, [], `the dashboard names series no service exports: ${missing.join(', ')}`);
});
