// The public wall (issue 9 item 11): a display account's socket gets a masked board snapshot
// and masked events (initials only: no name, MRN, birth date, complaint, comment), isolation /
// allergy / ESI marks only when the department's wall_shows_flags allows them (set with
// `edlivectl department set`), and its session does not idle out while the socket is open,
// while a clinician's socket still does. Runs against the deployment deploy/local/test started.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { requireEnv } from './lib/env.mjs';
import { signedIn, sql, ctl, tokenHash, openSocket, sleep } from './lib/client.mjs';

const env = requireEnv('EDLIVE_API_URL', 'EDLIVE_HUB_URL', 'EDLIVE_PG_OWNER', 'EDLIVE_PG_SUPER', 'EDLIVE_BUILD');
const OWNER = env.EDLIVE_PG_OWNER;
const ctx = {};
let serial = Date.now() % 1e7;

// A fresh patient whose every identifier the wall must not show.
const patient = () => ({
  mrn: `WALL-${serial++}`, family_name: 'Featherstonehaugh', given_name: 'Oriel', birth_date: '1961-07-23', sex: 'female',
});
const SECRETS = (p) => [p.mrn, p.family_name, p.given_name, p.birth_date, 'wall check: chest pain', 'wall comment text'];

before(async () => {
  ctx.demo = Number(sql(OWNER, "SELECT id FROM department WHERE code = 'DEMO'"));
  ctx.charge = await signedIn('adeyemi');
  ctx.wall = await signedIn('wall');
});

after(() => {
  ctl(['department', 'set', String(ctx.demo), 'wall_shows_flags', 'false']);
});

// Registers a patient, triages, comments and marks isolation (so there is something to hide).
async function arriveAndMark() {
  const p = patient();
  const r = await ctx.charge.post(`/departments/${ctx.demo}/arrivals`, { patient: p, arrival_mode: 'walk_in', chief_complaint: 'wall check: chest pain' });
  assert.equal(r.status, 201, r.text);
  const enc = r.json.encounter.encounter_id;
  for (const [path, body] of [['triage', { esi: 2 }], ['comment', { text: 'wall comment text' }], ['isolation', { isolation: 'contact' }]]) {
    const x = await ctx.charge.post(`/encounters/${enc}/${path}`, body);
    assert.ok(x.status < 300, `${path}: ${x.status} ${x.text}`);
  }
  return { p, enc };
}

function assertClean(raw, p, what) {
  for (const s of SECRETS(p)) assert.ok(!raw.includes(s), `${what} carries "${s}": ${raw.slice(0, 300)}`);
}

test('a wall socket: snapshot and every event masked to initials, no marks by default', async () => {
  const ws = await openSocket(ctx.wall.token);
  try {
    const before = await arriveAndMark(); // on the board before the snapshot
    ws.subscribe('board', ctx.demo);
    const snap = await ws.waitFor((f) => f.type === 'snapshot', 'the wall snapshot');
    const row = snap.board.encounters.find((e) => e.encounter_id === before.enc);
    assert.deepEqual(row.patient, { initials: 'OF' });
    assert.equal(row.esi, undefined, 'no ESI mark on the wall by default');
    assert.equal(row.isolation, undefined, 'no isolation mark on the wall by default');
    assert.equal(snap.board.staff, undefined);
    assertClean(ws.raw.join('\n'), before.p, 'the wall snapshot');

    const from = ws.frames.length;
    const after = await arriveAndMark(); // events while the wall watches
    const ofAfter = () => ws.frames.slice(from).filter((f) => f.type === 'event' && f.encounter_id === after.enc);
    for (const deadline = Date.now() + 8000; ofAfter().length < 4 && Date.now() < deadline;) await sleep(25);
    const events = ofAfter();
    assert.equal(events.length, 4, 'the wall got the arrival, triage, comment and isolation events');
    // Their kinds say nothing the wall does not show: triage, comment and isolation are
    // "encounter.updated" while the marks are off.
    assert.deepEqual(events.map((e) => e.event), ['encounter.arrived', 'encounter.updated', 'encounter.updated', 'encounter.updated']);
    for (const e of events) {
      assert.deepEqual(e.payload.encounter.patient, { initials: 'OF' }, `event ${e.event}`);
      assert.equal(e.payload.encounter.isolation, undefined);
    }
    assertClean(ws.raw.slice(from).join('\n'), after.p, 'the wall events');
    for (const kind of ['encounter.triaged', 'encounter.comment', 'encounter.isolation', '"timeline"']) {
      assert.ok(!ws.raw.slice(from).join('\n').includes(kind), `a wall event says ${kind}`);
    }
  } finally {
    ws.close();
  }
});

test('wall_shows_flags (edlivectl department set) puts the ESI, isolation and allergy marks on the wall', async () => {
  const bad = ctl(['department', 'set', String(ctx.demo), 'wall_shows_flags', 'maybe']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /invalid value for wall_shows_flags/);
  const unknown = ctl(['department', 'set', String(ctx.demo), 'colour', 'blue']);
  assert.notEqual(unknown.status, 0);
  assert.match(unknown.stderr, /unknown department setting colour/);
  const set = ctl(['department', 'set', String(ctx.demo), 'wall_shows_flags', 'true']);
  assert.equal(set.status, 0, set.stderr);
  assert.equal(sql(OWNER, `SELECT count(*) > 0 FROM audit_log WHERE action = 'department.set' AND detail = 'department ${ctx.demo}: wall_shows_flags = true'`), 't');
  await sleep(1500); // the hub reads the setting with the tops, every second
  const { p, enc } = await arriveAndMark();
  const ws = await openSocket(ctx.wall.token);
  try {
    ws.subscribe('board', ctx.demo);
    await ws.waitFor((f) => f.type === 'snapshot', 'the wall snapshot');
    // The snapshot may predate the last marks (the hub gets events a moment after the REST
    // answer): the row as the wall now has it is the latest of the snapshot and its events.
    const current = () => ws.frames.map((f) => (f.type === 'snapshot' ? f.board.encounters.find((e) => e.encounter_id === enc)
      : f.type === 'event' && f.encounter_id === enc ? f.payload.encounter : null)).filter(Boolean).at(-1);
    for (const deadline = Date.now() + 8000; current()?.isolation !== 'contact' && Date.now() < deadline;) await sleep(25);
    const row = current();
    assert.equal(row.esi, 2);
    assert.equal(row.isolation, 'contact');
    assert.equal(row.has_allergies, false);
    assertClean(ws.raw.join('\n'), p, 'the wall snapshot with marks');
  } finally {
    ws.close();
  }
  const rest = await ctx.wall.get(`/departments/${ctx.demo}/board`);
  assert.equal(rest.json.encounters.find((e) => e.encounter_id === enc).esi, 2);
  assertClean(rest.text, p, 'the wall REST board');
});

test('switching wall_shows_flags off takes the marks off an open wall at once, and off a wall that resumes', async () => {
  assert.equal(ctl(['department', 'set', String(ctx.demo), 'wall_shows_flags', 'true']).status, 0);
  await sleep(1500); // the hub reads the setting with the tops, every second
  const since = Number(sql(OWNER, `SELECT last_seq FROM department_seq WHERE department_id = ${ctx.demo}`));
  const { enc } = await arriveAndMark();
  const open = await openSocket(ctx.wall.token);
  let resumed;
  try {
    open.subscribe('board', ctx.demo);
    await open.waitFor((f) => f.type === 'snapshot', 'the wall snapshot');
    // The row as this wall has it: the latest of its snapshots and events.
    const current = (from = 0) => open.frames.slice(from).map((f) => (f.type === 'snapshot' ? f.board.encounters.find((e) => e.encounter_id === enc)
      : f.type === 'event' && f.encounter_id === enc ? f.payload.encounter : null)).filter(Boolean).at(-1);
    for (const deadline = Date.now() + 8000; current()?.isolation !== 'contact' && Date.now() < deadline;) await sleep(25);
    assert.equal(current().esi, 2, 'the marks are on the wall while the setting allows them');

    const from = open.frames.length;
    const off = ctl(['department', 'set', String(ctx.demo), 'wall_shows_flags', 'false']);
    assert.equal(off.status, 0, off.stderr);
    // No new event for this patient: the open wall must be sent the board again, unmarked.
    const snap = await open.waitFor((f) => f.type === 'snapshot', 'a fresh wall snapshot after the setting went off', 8000, from);
    assert.equal(snap.board.wall_shows_flags, false);
    const row = current(from);
    assert.ok(row, 'the patient is on the fresh snapshot');
    for (const key of ['esi', 'isolation', 'has_allergies']) assert.equal(row[key], undefined, `${key} left on the open wall`);

    // A wall that reconnects and resumes from before the marks is replayed the held events
    // under the new setting too.
    resumed = await openSocket(ctx.wall.token);
    resumed.subscribe('board', ctx.demo, since);
    await resumed.waitFor((f) => f.type === 'subscribed' || f.type === 'snapshot', 'the resumed wall');
    await resumed.waitFor((f) => f.type === 'event' && f.event === 'encounter.isolation' && f.encounter_id === enc, 'the replayed isolation event')
      .catch(() => null); // a snapshot instead of the replay is as good
    for (const f of resumed.frames) {
      const rows = f.type === 'snapshot' ? f.board.encounters : f.type === 'event' && f.payload.encounter ? [f.payload.encounter] : [];
      for (const r of rows) for (const key of ['esi', 'isolation', 'has_allergies']) assert.equal(r[key], undefined, `${f.type} ${f.event || ''} carries ${key}`);
    }
    assert.ok(resumed.frames.some((f) => f.type === 'subscribed' && f.mode === 'recovered'), 'the resumed wall was replayed (not only a snapshot)');
  } finally {
    open.close();
    resumed?.close();
  }
});

test('a wall stays signed in while its socket is open; a clinician socket still idles out', async () => {
  // Both sessions get an 8 s idle time-out (the hub checks sessions every 5 s); only
  // activity can keep them.
  const nurse = await signedIn('patel');
  const wall = await signedIn('wall');
  for (const t of [nurse.token, wall.token]) {
    sql(env.EDLIVE_PG_SUPER, `UPDATE session SET idle_seconds = 8 WHERE token_hash = ${tokenHash(t)}`);
  }
  const nurseWs = await openSocket(nurse.token);
  const wallWs = await openSocket(wall.token);
  try {
    nurseWs.subscribe('board', ctx.demo);
    wallWs.subscribe('board', ctx.demo);
    await wallWs.waitFor((f) => f.type === 'snapshot', 'the wall snapshot');
    const code = await Promise.race([nurseWs.closed, sleep(20000).then(() => 'still open')]);
    assert.notEqual(code, 'still open', 'the clinician socket was closed at its idle time-out');
    await sleep(6000); // well past the wall's 8 s as well
    assert.equal(wallWs.closeCode, null, 'the wall socket is still open');
    const from = wallWs.frames.length;
    const { enc } = await arriveAndMark();
    await wallWs.waitFor((f) => f.type === 'event' && f.encounter_id === enc, 'a live event on the wall', 8000, from);
    assert.equal((await wall.get('/session')).status, 200, 'the wall session is alive');
  } finally {
    nurseWs.close();
    wallWs.close();
  }
});
