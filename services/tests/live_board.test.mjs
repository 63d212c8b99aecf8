// The whole path with real parts: vitals posted to ed-api are committed to PostgreSQL,
// published through Redis and delivered by ed-hub to every subscribed board, with the same
// seq; the board read through the API agrees; and a client that reconnects with its last
// seq after the hub was killed ends with exactly the database's board.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requireEnv, svc, psqlValue } from './lib/env.mjs';
import { LiveBoard, getJson, postJson, comparable, useToken } from './lib/live_client.mjs';
import { tokenFor } from './lib/auth.mjs';

const env = requireEnv('EDLIVE_API_URL', 'EDLIVE_WS_URL', 'EDLIVE_PG', 'EDLIVE_REPO', 'EDLIVE_STATE');
const api = `${env.EDLIVE_API_URL}/api/v1`;
// The Demo ED's charge nurse: every clinical write and both topics.
useToken(await tokenFor(env.EDLIVE_API_URL, 'adeyemi'));

async function demoDepartment() {
  const { departments } = await getJson(`${api}/departments`);
  assert.ok(departments.length >= 1, 'the demo ED is seeded');
  const board = await getJson(`${api}/departments/${departments[0].id}/board`);
  return { id: departments[0].id, board };
}

function nurseOf(board) {
  return board.staff.find((s) => s.role === 'nurse');
}

async function waitForHub(ms = 15000) {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      const probe = new LiveBoard(env.EDLIVE_WS_URL, 1);
      await probe.connect();
      probe.close();
      return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

test('vitals reach two boards with the same seq, and the API board agrees', async () => {
  const dept = await demoDepartment();
  const a = new LiveBoard(env.EDLIVE_WS_URL, dept.id);
  const b = new LiveBoard(env.EDLIVE_WS_URL, dept.id);
  await Promise.all([a.connect(), b.connect()]);
  try {
    const target = dept.board.encounters[0];
    const nurse = nurseOf(dept.board);
    const posted = await postJson(`${api}/encounters/${target.encounter_id}/vitals`, {
      taken_by: nurse.id, heart_rate: 131, resp_rate: 26, systolic_bp: 88, diastolic_bp: 52,
      spo2: 90, temperature_c: 39.2, on_oxygen: true, consciousness: 'V', pain: 5,
    });
    assert.equal(posted.status, 201, JSON.stringify(posted.body));
    const seq = posted.body.seq;
    assert.equal(posted.body.vitals.news2.total, 3 + 3 + 3 + 3 + 2 + 3 + 2);

    await a.waitFor(() => a.seq >= seq, 5000, `board A to reach seq ${seq}`);
    await b.waitFor(() => b.seq >= seq, 5000, `board B to reach seq ${seq}`);
    for (const client of [a, b]) {
      const row = client.rows.get(target.encounter_id);
      assert.equal(row.latest_vitals.heart_rate, 131);
      assert.equal(row.news2.total, 19, "the row's NEWS2 (of latest_vitals)");
      assert.ok(client.applied.includes(seq), 'the event itself was delivered, not only a snapshot');
    }
    assert.deepEqual(comparable(a.sortedRows()), comparable(b.sortedRows()));

    const apiBoard = await getJson(`${api}/departments/${dept.id}/board`);
    assert.equal(apiBoard.seq, a.seq, 'the API board is at the seq the clients reached');
    assert.deepEqual(comparable(a.sortedRows()), comparable(apiBoard.encounters));
    assert.equal(psqlValue(`SELECT last_seq FROM department_seq WHERE department_id = ${Number(dept.id)}`), String(seq));
  } finally {
    a.close();
    b.close();
  }
});

test('a client that reconnects with its last seq after the hub was killed ends with the database state', async () => {
  const dept = await demoDepartment();
  const client = new LiveBoard(env.EDLIVE_WS_URL, dept.id);
  await client.connect();
  const nurse = nurseOf(dept.board);
  const [first, second] = dept.board.encounters;

  svc('kill', 'hub');
  // Writes while no hub runs: they must all arrive later, once each, in order.
  const missed = [];
  for (const [enc, hr] of [[first, 61], [second, 62], [first, 63]]) {
    const r = await postJson(`${api}/encounters/${enc.encounter_id}/vitals`, { taken_by: nurse.id, heart_rate: hr });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    missed.push(r.body.seq);
  }
  const note = await postJson(`${api}/encounters/${second.encounter_id}/notes`, { author_id: nurse.id, text: 'Reassessed while the hub was down.' });
  assert.equal(note.status, 201);
  missed.push(note.body.seq);
  svc('start', 'hub');
  await waitForHub();

  const before = client.seq;
  await client.connect();
  await client.waitFor(() => client.seq >= note.body.seq, 10000, 'the missed events');
  assert.equal(client.recoveries + client.snapshots >= 2, true);
  if (client.recoveries > 0) {
    // Recovered: every missed event applied exactly once, in order.
    const after = client.applied.filter((s) => s > before);
    assert.deepEqual(after.slice(0, missed.length), missed);
  }
  const apiBoard = await getJson(`${api}/departments/${dept.id}/board`);
  assert.equal(client.seq, apiBoard.seq);
  assert.deepEqual(comparable(client.sortedRows()), comparable(apiBoard.encounters));
  assert.equal(client.rows.get(first.encounter_id).latest_vitals.heart_rate, 63);
  assert.equal(client.rows.get(second.encounter_id).latest_vitals.heart_rate, 62);
  client.close();
});

test('an event that Redis never carried still reaches the board (Redis stopped)', async () => {
  const dept = await demoDepartment();
  const client = new LiveBoard(env.EDLIVE_WS_URL, dept.id);
  await client.connect();
  const nurse = nurseOf(dept.board);
  const target = dept.board.encounters[2];
  svc('stop', 'redis');
  try {
    const r = await postJson(`${api}/encounters/${target.encounter_id}/vitals`, { taken_by: nurse.id, spo2: 97 });
    assert.equal(r.status, 201, 'a write does not depend on Redis');
    await client.waitFor(() => client.seq >= r.body.seq, 5000, 'the event read from PostgreSQL');
    assert.equal(client.rows.get(target.encounter_id).latest_vitals.spo2, 97);
  } finally {
    svc('start', 'redis');
  }
  // And after Redis is back (empty), live delivery continues in order.
  const r2 = await postJson(`${api}/encounters/${target.encounter_id}/vitals`, { taken_by: nurse.id, spo2: 96 });
  await client.waitFor(() => client.seq >= r2.body.seq, 5000, 'the event after Redis returned');
  assert.equal(client.rows.get(target.encounter_id).latest_vitals.spo2, 96);
  client.close();
});

test('after PostgreSQL restarts, requests, a sign-in and a new screen all succeed on their first try', async () => {
  svc('restart', 'pg');
  // A moment later, as a user's next click: every service noticed the closed connections while
  // idle and reconnected, so nothing is answered 503 (ed-api has several connections: the
  // requests go in parallel to reach each).
  await new Promise((r) => setTimeout(r, 1500));
  const token = await tokenFor(env.EDLIVE_API_URL, 'adeyemi');
  const reads = await Promise.all(Array.from({ length: 8 }, () =>
    fetch(`${api}/departments`, { headers: { authorization: `Bearer ${token}` } })));
  assert.deepEqual(reads.map((r) => r.status), Array(8).fill(200), 'every read after the restart answered');
  // A new session the hub has never seen needs the hub's own session read, on a connection
  // PostgreSQL's restart closed.
  const fresh = await tokenFor(env.EDLIVE_API_URL, 'patel');
  const dept = await demoDepartment();
  const client = new LiveBoard(env.EDLIVE_WS_URL, dept.id, fresh);
  await client.connect(); // once: a refusal fails the test
  assert.equal(client.snapshots, 1);
  client.close();
});
