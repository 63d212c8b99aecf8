// Cross-instance delivery (issue 14): in the cluster (deploy/local/test --cluster) a write made
// through either ed-api reaches a board on each of the three ed-hubs, and a board opened
// through nginx; the standby relay and the replica are really there.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { requireEnv } from '../lib/env.mjs';
import { Api, signedIn, sql, sleep } from '../lib/client.mjs';
import { LiveBoard } from '../lib/live_client.mjs';

const env = requireEnv('EDLIVE_CLUSTER', 'EDLIVE_API_URL', 'EDLIVE_API2_URL', 'EDLIVE_HUB_URLS', 'EDLIVE_WS_URL',
  'EDLIVE_BASE_URL', 'EDLIVE_PG_OWNER', 'EDLIVE_PG_SUPER');
const OWNER = env.EDLIVE_PG_OWNER;
const ctx = { boards: [] };

before(async () => {
  ctx.dept = Number(sql(OWNER, "SELECT id FROM department WHERE code = 'DEMO'"));
  ctx.nurse = await signedIn('patel');
  ctx.staff = Number(sql(OWNER, "SELECT staff_id FROM account WHERE username = 'patel'"));
  ctx.encounter = Number(sql(OWNER, `SELECT min(id) FROM encounter WHERE department_id = ${ctx.dept} AND status NOT IN ('departed', 'left_without_being_seen')`));
  const urls = [...env.EDLIVE_HUB_URLS.split(','), env.EDLIVE_WS_URL];
  for (const url of urls) {
    const b = new LiveBoard(url, ctx.dept, ctx.nurse.token);
    b.url = url;
    await b.connect();
    ctx.boards.push(b);
  }
});

after(() => {
  for (const b of ctx.boards) b.close();
});

test('the cluster is what it says: a synchronous standby streams, one relay holds the lock, one stands by', () => {
  const standbys = sql(env.EDLIVE_PG_SUPER, "SELECT application_name || ' ' || sync_state FROM pg_stat_replication WHERE state = 'streaming'");
  assert.match(standbys, /^pg2? sync$/m, 'the primary has a synchronous standby');
  const holders = sql(env.EDLIVE_PG_SUPER,
    "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE l.locktype = 'advisory' AND l.granted AND a.application_name LIKE 'relay%'");
  assert.equal(holders.split('\n').filter(Boolean).length, 1, `exactly one relay holds the lock (${holders})`);
});

for (const [label, base] of [['ed-api', 'EDLIVE_API_URL'], ['ed-api (api2)', 'EDLIVE_API2_URL'], ['nginx', 'EDLIVE_BASE_URL']]) {
  test(`vitals written through ${label} reach a board on each hub and through nginx, with the same seq`, async () => {
    const api = new Api(ctx.nurse.token, process.env[base]);
    const hr = 60 + Math.floor(Math.random() * 60);
    const r = await api.post(`/encounters/${ctx.encounter}/vitals`, { taken_by: ctx.staff, heart_rate: hr });
    assert.equal(r.status, 201, r.text);
    const seq = r.json.seq;
    await Promise.all(ctx.boards.map((b) => b.waitFor(() => b.seq >= seq, 5000, `${b.url} to reach seq ${seq}`)));
    for (const b of ctx.boards) {
      assert.ok(b.applied.includes(seq), `${b.url} applied the event ${seq} itself, not a snapshot`);
      assert.equal(b.rows.get(ctx.encounter).latest_vitals.heart_rate, hr, `${b.url} shows the new heart rate`);
    }
  });
}

test('each board ends equal to the API board read through the other ed-api', async () => {
  await sleep(200);
  const board = (await new Api(ctx.nurse.token, env.EDLIVE_API2_URL).get(`/departments/${ctx.dept}/board`)).json;
  const canonical = (rows) => rows.map((r) => JSON.stringify(r)).sort();
  for (const b of ctx.boards) {
    assert.equal(b.seq, board.seq, `${b.url} is at the API's seq`);
    assert.deepEqual(canonical([...b.rows.values()]), canonical(board.encounters), `${b.url} equals the API's board`);
  }
});
