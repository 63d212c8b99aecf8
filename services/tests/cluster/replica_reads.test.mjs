// ed-hub reads board snapshots and missed events from the PostgreSQL streaming replica
// (EDLIVE_PG_REPLICA) when the replica has the seq the hub needs, and from the primary when it
// lags (services/hub/hub_replica.c). Two departments of their own, whose boards the hub has
// never loaded, so each first board subscriber costs one read:
//   1. replay running: the snapshot equals the API's board, and the hub counted a replica read;
//   2. replay paused on the replica, a write committed on the primary (commits told not to
//      wait for the paused standby) and delivered to the hub: the new subscriber's snapshot
//      holds that write (read from the primary), and the hub counted a lagged read;
//   3. a client moving over from another hub resumes with its since on a department this hub
//      has never held (created a moment ago, before the hub's next tops check): "recovered",
//      not a snapshot (proto/GUARANTEES.md §3, "ed-hub dies").
// Cluster only (ctest label "cluster"): skipped (77) without EDLIVE_PG_REPLICA_SUPER, a
// superuser connection to the replica (EDLIVE_PG_SUPER is the primary's).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { requireEnv } from '../lib/env.mjs';
import { signedIn, sql, lit, sleep, openSocket } from '../lib/client.mjs';

const env = requireEnv('EDLIVE_PG_REPLICA_SUPER', 'EDLIVE_PG_SUPER', 'EDLIVE_PG_OWNER', 'EDLIVE_API_URL',
  'EDLIVE_HUB_URL', 'EDLIVE_LOGS');
const REPLICA = env.EDLIVE_PG_REPLICA_SUPER;
const PRIMARY = env.EDLIVE_PG_SUPER;
const ctx = { sockets: [], created: [], departments: [] };
let serial = Date.now() % 1e6;

// The hub at EDLIVE_HUB_URL logs to hub.log (the first hub, in the cluster too); its counts
// start at each start of the process, which deploy/local marks with a "=== <time>: starting" line.
function hubLog() {
  const all = fs.readFileSync(path.join(env.EDLIVE_LOGS, 'hub.log'), 'utf8');
  return all.slice(all.lastIndexOf('\n=== ') + 1);
}
// The hub's count in its latest line naming it ("replica reads 3", "replica lagged 1"), 0 before.
function hubCount(name) {
  const all = [...hubLog().matchAll(new RegExp(`${name} (\\d+)`, 'g'))];
  return all.length ? Number(all[all.length - 1][1]) : 0;
}
async function hubLogLine(re, what, ms = 10000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const m = hubLog().match(re);
    if (m) return m;
    if (Date.now() > deadline) throw new Error(`the hub's log has no line for ${what}`);
    await sleep(100);
  }
}

const replicaSeq = (dept) => Number(sql(REPLICA, `SELECT coalesce((SELECT last_seq FROM department_seq WHERE department_id = ${Number(dept)}), -1)`));

async function replicaReaches(dept, seq, ms = 10000) {
  const deadline = Date.now() + ms;
  while (replicaSeq(dept) < seq) {
    if (Date.now() > deadline) throw new Error(`the replica did not reach seq ${seq} of dept ${dept}`);
    await sleep(100);
  }
}

async function ok(res, what) {
  assert.ok(res.status < 300, `${what}: ${res.status} ${res.text}`);
  return res.json;
}

// A department of its own with two beds; the Demo ED's charge nurse works there too.
function newDepartment() {
  const code = `RR${serial++}`;
  const id = Number(sql(env.EDLIVE_PG_OWNER, `INSERT INTO department (code, name, timezone) VALUES (${lit(code)}, 'Replica reads ED', 'UTC') RETURNING id`));
  for (const label of ['B1', 'B2']) sql(env.EDLIVE_PG_OWNER, `INSERT INTO bed (department_id, label, area) VALUES (${id}, ${lit(label)}, 'acute')`);
  sql(env.EDLIVE_PG_OWNER, `INSERT INTO staff_department (staff_id, department_id) SELECT staff_id, ${id} FROM account WHERE username = 'adeyemi'`);
  ctx.departments.push(id);
  return id;
}

async function arrive(dept) {
  const r = await ok(await ctx.charge.post(`/departments/${dept}/arrivals`, {
    patient: { mrn: `RR-${serial++}`, family_name: 'Replicason', given_name: 'Read', birth_date: '1966-03-02', sex: 'female' },
    arrival_mode: 'walk_in', chief_complaint: 'replica reads test',
  }), 'arrival');
  ctx.created.push(r.encounter.encounter_id);
  return r;
}

async function subscribe(topic, id) {
  const s = await openSocket(ctx.charge.token);
  ctx.sockets.push(s);
  s.subscribe(topic, id, 0);
  return s;
}

const snapshotOf = (s, what) => s.waitFor((f) => f.type === 'snapshot' || f.type === 'error', what, 15000);

before(async () => {
  ctx.first = newDepartment();
  ctx.second = newDepartment();
  ctx.charge = await signedIn('adeyemi'); // after staff_department: the session covers both
});

after(async () => {
  for (const s of ctx.sockets) s.close();
  for (const id of ctx.created) await ctx.charge.post(`/encounters/${id}/status`, { status: 'departed' });
  // A session holds at most 32 departments: the charge nurse leaves this test's behind.
  if (ctx.departments.length) sql(env.EDLIVE_PG_OWNER, `DELETE FROM staff_department WHERE department_id IN (${ctx.departments.join(',')})`);
});

const primarySeq = (dept) => Number(sql(PRIMARY, `SELECT last_seq FROM department_seq WHERE department_id = ${Number(dept)}`));

test('a board the hub has not loaded comes from the replica, equal to the API board', async () => {
  await arrive(ctx.first);
  await arrive(ctx.first); // alike names: the first one's encounter.similar_name follows
  const last = { seq: primarySeq(ctx.first) };
  await replicaReaches(ctx.first, last.seq);
  const readsBefore = hubCount('replica reads');

  const s = await subscribe('board', ctx.first);
  const snap = await snapshotOf(s, 'the first board snapshot');
  assert.equal(snap.type, 'snapshot', JSON.stringify(snap));
  const board = await ok(await ctx.charge.get(`/departments/${ctx.first}/board`), 'API board');
  assert.equal(snap.seq, last.seq, 'the snapshot is at the department\'s latest seq');
  assert.deepEqual(snap.board, board, 'the snapshot equals the API\'s board');
  assert.equal(snap.board.encounters.length, 2);

  const m = await hubLogLine(new RegExp(`dept ${ctx.first}: board read from the replica at seq ${snap.seq} \\(replica reads (\\d+)\\)`),
    `dept ${ctx.first}'s board read from the replica`);
  assert.ok(Number(m[1]) > readsBefore, `the replica-read count grew (${readsBefore} -> ${m[1]})`);
});

test('a replica behind the hub: the board comes from the primary, with the newest write', async () => {
  const first = await arrive(ctx.second);
  await replicaReaches(ctx.second, first.seq);
  // A chart subscriber tells when the hub holds the write below (a chart loads no board).
  const chart = await subscribe('chart', first.encounter.encounter_id);
  assert.equal((await snapshotOf(chart, 'the chart snapshot')).type, 'snapshot');
  const lagBefore = hubCount('replica lagged');

  // With replay paused, a commit that waits for the standby would wait forever: commits stop
  // waiting for it (synchronous_standby_names is ALTER SYSTEM's, a command-line
  // synchronous_commit would win over ALTER SYSTEM) and the old setting comes back after.
  const standbys = sql(PRIMARY, 'SHOW synchronous_standby_names');
  sql(PRIMARY, "ALTER SYSTEM SET synchronous_standby_names = ''");
  sql(PRIMARY, 'SELECT pg_reload_conf()');
  await sleep(500);
  sql(REPLICA, 'SELECT pg_wal_replay_pause()');
  try {
    for (let i = 0; sql(REPLICA, 'SELECT pg_get_wal_replay_pause_state()') !== 'paused'; i++) {
      assert.ok(i < 100, 'the replica paused its replay');
      await sleep(100);
    }
    const write = await ok(await ctx.charge.post(`/encounters/${first.encounter.encounter_id}/comment`, { text: 'written while the replica waits' }), 'comment');
    await chart.waitFor((f) => f.type === 'event' && f.seq === write.seq, 'the comment at the hub', 10000);
    assert.ok(replicaSeq(ctx.second) < write.seq, 'the replica has not applied the write');

    const s = await subscribe('board', ctx.second);
    const snap = await snapshotOf(s, 'the board snapshot while the replica is behind');
    assert.equal(snap.type, 'snapshot', JSON.stringify(snap));
    assert.equal(snap.seq, write.seq, 'the snapshot is at the write\'s seq, not the replica\'s');
    const row = snap.board.encounters.find((e) => e.encounter_id === first.encounter.encounter_id);
    assert.equal(row.comment, 'written while the replica waits', 'the snapshot holds the write');
    const board = await ok(await ctx.charge.get(`/departments/${ctx.second}/board`), 'API board');
    assert.deepEqual(snap.board, board, 'the snapshot equals the API\'s board');

    const m = await hubLogLine(new RegExp(`dept ${ctx.second}: replica lagged \\(at seq (\\d+), (\\d+) needed\\): board read from primary \\(replica lagged (\\d+)\\)`),
      `dept ${ctx.second}'s board read from the primary`);
    assert.ok(Number(m[1]) < write.seq && Number(m[2]) === write.seq, `behind at ${m[1]}, ${m[2]} needed`);
    assert.ok(Number(m[3]) > lagBefore, `the lagged count grew (${lagBefore} -> ${m[3]})`);
  } finally {
    sql(REPLICA, 'SELECT pg_wal_replay_resume()');
    sql(PRIMARY, `ALTER SYSTEM SET synchronous_standby_names = ${lit(standbys)}`);
    sql(PRIMARY, 'SELECT pg_reload_conf()');
  }
  await replicaReaches(ctx.second, primarySeq(ctx.second));
});

test('a resume on a department the hub has never held is answered "recovered"', async () => {
  // Signed in and connected first, so the department is new to the hub when the subscribe
  // comes (the hub adds departments at its 1 s tops check): it waits for that check and must
  // then resume from the since it was given. Several times: the subscribe races the check.
  const s = await openSocket(ctx.charge.token);
  ctx.sockets.push(s);
  for (let i = 0; i < 3; i++) {
    await sleep(1100); // the hub's check has run since the last department was made
    const dept = newDepartment();
    const r = await arrive(dept);
    const from = s.frames.length;
    s.subscribe('board', dept, r.seq);
    const reply = await s.waitFor((f) => f.department_id === dept && f.type !== 'heartbeat', `the answer for dept ${dept}`, 10000, from);
    assert.equal(reply.type, 'subscribed', `dept ${dept}, since ${r.seq}: ${JSON.stringify(reply).slice(0, 200)}`);
    assert.equal(reply.mode, 'recovered');
    assert.equal(reply.since, r.seq);
  }
});
