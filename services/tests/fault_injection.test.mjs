// Durable delivery under faults (proto/GUARANTEES.md). Writers record vitals in two departments
// (at least 50 writes/s in total, each with an Idempotency-Key, retried until answered) while
// at least 50 WebSocket clients follow the two boards. One at a time, the test kills and
// restarts ed-hub, kills and restarts ed-relay, makes ed-api die between a commit and its
// reply, kills ed-api under load, restarts Redis empty, restarts PostgreSQL, cuts client
// connections without a close, and freezes a client past its backlog bound. Then it proves,
// for every client: its final board equals PostgreSQL's; it never applied a seq twice, out of
// order or across a gap; and every acknowledged write is in the record exactly once.
//
// Settings (the long run in load-tests/fault_injection.sh raises them): FAULT_ROUNDS (1),
// FAULT_CLIENTS (60), FAULT_WRITERS (10, each up to 10 writes/s), FAULT_PAUSE_MS (3000, load between faults).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { requireEnv } from './lib/env.mjs';
import { signedIn, sql, sleep } from './lib/client.mjs';
import { Follower, Writers } from './lib/follower.mjs';

const env = requireEnv('EDLIVE_API_URL', 'EDLIVE_HUB_URL', 'EDLIVE_PG_OWNER', 'EDLIVE_REPO', 'EDLIVE_FAULT_HOOKS');
const OWNER = env.EDLIVE_PG_OWNER;
const ROUNDS = Number(process.env.FAULT_ROUNDS || 1);
const NCLIENTS = Number(process.env.FAULT_CLIENTS || 60);
const NWRITERS = Number(process.env.FAULT_WRITERS || 10);
const PAUSE_MS = Number(process.env.FAULT_PAUSE_MS || 3000);
const WRITE_EVERY_MS = 100; // per writer: 10 writers offer up to 100 writes/s
const run = promisify(execFile);

// deploy/local/svc, without blocking this process (the clients must keep reading meanwhile).
async function svc(action, service) {
  await run(`${env.EDLIVE_REPO}/deploy/local/svc`, [action, service], { env: process.env });
}

const stats = new Writers();
stats.faults = [];
const writer = (api, staffId, dept, encounters) => stats.run(api, staffId, dept, encounters, WRITE_EVERY_MS);
const Client = class extends Follower {
  constructor(name, dept, token) {
    super(name, env.EDLIVE_HUB_URL, dept, token);
  }
};

// ---- the faults, one at a time ----
const ctx = { clients: [], stalls: [] };

const faults = [
  ['ed-hub killed (SIGKILL) and restarted', async () => { await svc('kill', 'hub'); await sleep(1000); await svc('start', 'hub'); }],
  ['ed-relay killed (SIGKILL) and restarted', async () => { await svc('kill', 'relay'); await sleep(2000); await svc('start', 'relay'); }],
  ['ed-api dies between commit and reply', async () => {
    stats.nextHeaders = { 'x-edlive-fault': 'exit-after-commit' };
    const deadline = Date.now() + 10000;
    while (Date.now() < deadline && !(await apiDown())) await sleep(50);
    await svc('start', 'api');
  }],
  ['ed-api killed (SIGKILL) under load', async () => { await svc('kill', 'api'); await sleep(500); await svc('start', 'api'); }],
  ['Redis restarted without its data', async () => { await svc('restart', 'redis'); }],
  ['PostgreSQL restarted', async () => { await svc('restart', 'pg'); }],
  ['10 client connections cut without a close', async () => {
    for (let i = 0; i < 10; i++) ctx.clients[randomInt(ctx.clients.length)].sock.cut();
  }],
  ['a client frozen past its backlog bound', async () => {
    // A tablet that goes to sleep: a fresh connection (small kernel buffers: they only grow
    // while the reader keeps up) stops reading, until it is well past the hub's bound
    // (EDLIVE_HUB_MAX_LAG, 100 in the test deployment) plus what the buffers hold, or 25 s.
    const c = new Client('frozen', ctx.demo, ctx.demoReader.token);
    ctx.stalls.push(c); // one per round: each is stopped at the end
    await c.connect();
    const t0 = Date.now();
    while (c.snapshots === 0 && Date.now() - t0 < 10000) await sleep(20);
    const mark = { snapshots: c.snapshots, reconnects: c.reconnects, seq: c.seq };
    const top = () => Number(sql(OWNER, `SELECT last_seq FROM department_seq WHERE department_id = ${c.dept}`));
    c.sock.freeze();
    while (Date.now() - t0 < 25000 && top() - mark.seq < 800) await sleep(500);
    const behind = top() - mark.seq;
    c.sock.thaw();
    ctx.stallResult = { behind, resynced: () => c.snapshots > mark.snapshots || c.reconnects > mark.reconnects };
  }],
];

async function apiDown() {
  try {
    await fetch(`${env.EDLIVE_API_URL}/api/v1/departments`, { signal: AbortSignal.timeout(300) });
    return false;
  } catch {
    return true;
  }
}

before(async () => {
  ctx.demo = Number(sql(OWNER, "SELECT id FROM department WHERE code = 'DEMO'"));
  ctx.peds = Number(sql(OWNER, "SELECT id FROM department WHERE code = 'PEDS'"));
  ctx.demoReader = await signedIn('adeyemi');
  ctx.pedsReader = await signedIn('asante');
  ctx.patel = await signedIn('patel');
  ctx.duarte = await signedIn('duarte');
  ctx.staff = (u) => Number(sql(OWNER, `SELECT staff_id FROM account WHERE username = '${u}'`));
  const active = (dept) => sql(OWNER, `SELECT id FROM encounter WHERE department_id = ${dept} AND status NOT IN ('departed', 'left_without_being_seen') ORDER BY id`).split('\n').map(Number);
  ctx.demoEncounters = active(ctx.demo);
  ctx.pedsEncounters = active(ctx.peds);
  ctx.vitalsBefore = Number(sql(OWNER, 'SELECT count(*) FROM vitals'));
});

after(() => {
  stats.writing = false;
  for (const c of ctx.clients) c.stop();
  for (const c of ctx.stalls) c.stop();
});

test(`fault injection: ${ROUNDS} round(s) of ${faults.length} faults, ${NCLIENTS} clients, ${NWRITERS} writers, 2 departments`, { timeout: 30 * 60 * 1000 }, async () => {
  for (let i = 0; i < NCLIENTS; i++) {
    const peds = i % 3 === 2; // a third follow the children's ED
    ctx.clients.push(new Client(`c${i}`, peds ? ctx.peds : ctx.demo, peds ? ctx.pedsReader.token : ctx.demoReader.token));
  }
  await Promise.all(ctx.clients.map((c) => c.connect()));
  await sleep(1000);
  assert.ok(ctx.clients.every((c) => c.snapshots === 1), 'every client starts from one snapshot');

  const started = Date.now();
  const writers = [];
  for (let i = 0; i < NWRITERS; i++) {
    const peds = i % 3 === 2;
    writers.push(peds ? writer(ctx.duarte, ctx.staff('duarte'), ctx.peds, ctx.pedsEncounters)
      : writer(ctx.patel, ctx.staff('patel'), ctx.demo, ctx.demoEncounters));
  }
  // The load is measured in the quiet spells between faults (each after the previous fault
  // has been repaired), not across the faults themselves.
  const calm = { acks: 0, ms: 0 };
  const quietSpell = async () => {
    const a0 = stats.acked.length;
    const t0 = Date.now();
    await sleep(PAUSE_MS);
    calm.acks += stats.acked.length - a0;
    calm.ms += Date.now() - t0;
  };
  await sleep(2000); // the clients and writers settle
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, inject] of faults) {
      await quietSpell();
      const t0 = Date.now();
      await inject();
      stats.faults.push(name);
      console.log(`# fault ${stats.faults.length}: ${name} (${Date.now() - t0} ms); acknowledged so far ${stats.acked.length}`);
    }
  }
  ctx.calmRate = calm.acks / (calm.ms / 1000);
  console.log(`# writes/s between faults: ${ctx.calmRate.toFixed(1)}`);
  await sleep(PAUSE_MS);
  stats.writing = false;
  await Promise.all(writers);
  const seconds = (Date.now() - started) / 1000;

  // Quiet: every client must reach its department's top, then match PostgreSQL exactly.
  const top = (dept) => Number(sql(OWNER, `SELECT last_seq FROM department_seq WHERE department_id = ${dept}`));
  const tops = { [ctx.demo]: top(ctx.demo), [ctx.peds]: top(ctx.peds) };
  const everyone = [...ctx.clients, ...ctx.stalls];
  const deadline = Date.now() + 30000;
  while (Date.now() < deadline && !everyone.every((c) => c.seq === tops[c.dept])) await sleep(200);
  const behind = everyone.filter((c) => c.seq !== tops[c.dept]).map((c) => `${c.name} at ${c.seq} of ${tops[c.dept]}`);
  assert.deepEqual(behind, [], 'every client reached its department top');

  const boards = {
    [ctx.demo]: (await ctx.demoReader.get(`/departments/${ctx.demo}/board`)).json,
    [ctx.peds]: (await ctx.pedsReader.get(`/departments/${ctx.peds}/board`)).json,
  };
  const canonical = (rows) => rows.map((r) => JSON.stringify(r)).sort();
  for (const c of everyone) {
    assert.equal(boards[c.dept].seq, c.seq, `${c.name}: the API's board is at the same seq`);
    assert.deepEqual(canonical([...c.rows.values()]), canonical(boards[c.dept].encounters), `${c.name}: board equals PostgreSQL's`);
  }

  // Every acknowledged write is in the record, once, as the event the API named.
  const acked = stats.acked;
  assert.deepEqual(stats.refused, [], 'no write was refused');
  const ids = acked.map((a) => a.vitalsId).join(',');
  assert.equal(Number(sql(OWNER, `SELECT count(DISTINCT id) FROM vitals WHERE id IN (${ids})`)), acked.length, 'every acknowledged vitals set is stored');
  assert.equal(Number(sql(OWNER, 'SELECT count(*) FROM vitals')) - ctx.vitalsBefore, acked.length, 'and nothing else (a retried write is stored once)');
  const pairs = acked.map((a) => `(${a.dept},${a.seq},${a.enc})`).join(',');
  assert.equal(Number(sql(OWNER, `SELECT count(*) FROM event e JOIN (VALUES ${pairs}) AS a(d, s, enc) ON e.department_id = a.d AND e.seq = a.s AND e.encounter_id = a.enc AND e.type = 'vitals.recorded'`)),
    acked.length, 'each acknowledged write is the event its reply named');

  const violations = everyone.flatMap((c) => c.violations.map((v) => `${c.name}: ${v}`));
  const duplicates = violations.filter((v) => v.includes('duplicate')).length;
  const gaps = violations.filter((v) => v.includes('gap')).length;
  const delivered = everyone.reduce((n, c) => n + c.applied, 0);
  const resynced = everyone.reduce((n, c) => n + c.snapshots - 1, 0);
  const recovered = everyone.reduce((n, c) => n + c.recoveries, 0);
  const reconnects = everyone.reduce((n, c) => n + c.reconnects, 0);
  console.log(`# ${seconds.toFixed(1)} s: writes acknowledged ${acked.length} (${(acked.length / seconds).toFixed(1)}/s), ` +
    `unanswered then retried ${stats.unanswered}, events delivered ${delivered}, faults injected ${stats.faults.length}, ` +
    `clients ${everyone.length}, reconnects ${reconnects}, resumed from the ring ${recovered}, resynced by snapshot ${resynced}, ` +
    `lost 0 (every board equals PostgreSQL), duplicated ${duplicates}, gaps ${gaps}, out of order 0`);
  assert.deepEqual(violations, [], 'no client saw a duplicate, a gap or a step back');
  assert.ok(ctx.calmRate >= 50, `at least 50 writes/s while nothing fails (measured ${ctx.calmRate.toFixed(1)}/s)`);
  console.log(`# the frozen client fell ${ctx.stallResult.behind} events behind`);
  assert.ok(ctx.stallResult.behind > 300, `the frozen client fell well past the bound (${ctx.stallResult.behind} events)`);
  assert.ok(ctx.stallResult.resynced(),
    `the frozen client (${ctx.stallResult.behind} events behind) was resynced with a snapshot or closed, not fed the backlog`);
});
