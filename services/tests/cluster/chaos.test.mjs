// Chaos across instances (issue 14). In the cluster (deploy/local/test --cluster), writers
// record vitals through nginx (both ed-api behind it) in two departments while board clients
// follow them through nginx (spread over the three ed-hubs). One at a time: SIGKILL one hub,
// SIGKILL one API, SIGKILL the active relay, fail the Redis primary over with Sentinel
// (SIGKILL it), and promote the PostgreSQL standby (SIGKILL the primary); each killed instance
// is brought back as the deployment's scripts do. Then, for every client: its board equals
// PostgreSQL's; it never applied a seq twice, out of order or across a gap; every acknowledged
// write is in the record once. Figures: writes acknowledged, deliveries, lost/duplicated/
// reordered, and per fault the longest time a screen was not live (an acknowledged write not
// yet on a screen), and how long the relay and Redis failovers took.
//
// Settings: CHAOS_CLIENTS (45), CHAOS_WRITERS (6, each up to 10 writes/s), CHAOS_PAUSE_MS (3000).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { requireEnv } from '../lib/env.mjs';
import { Api, signedIn, sql, sleep } from '../lib/client.mjs';
import { Follower, Writers } from '../lib/follower.mjs';

const env = requireEnv('EDLIVE_CLUSTER', 'EDLIVE_BASE_URL', 'EDLIVE_WS_URL', 'EDLIVE_PG_OWNER', 'EDLIVE_PG_SUPER',
  'EDLIVE_REPO', 'EDLIVE_REDIS_SENTINELS', 'EDLIVE_REDIS_MASTER');
const OWNER = env.EDLIVE_PG_OWNER;
const NCLIENTS = Number(process.env.CHAOS_CLIENTS || 45);
const NWRITERS = Number(process.env.CHAOS_WRITERS || 6);
const PAUSE_MS = Number(process.env.CHAOS_PAUSE_MS || 3000);
const WRITE_EVERY_MS = 100;
const run = promisify(execFile);

async function svc(...args) {
  const { stdout } = await run(`${env.EDLIVE_REPO}/deploy/local/svc`, args, { env: process.env });
  return stdout;
}

// Who takes writes now: { postgres: 'pg'|'pg2', redis: 'host:port' }.
async function primaries() {
  const out = await svc('primaries');
  return Object.fromEntries(out.trim().split('\n').map((l) => l.split(' ')));
}

const redisNodeOf = (addr) => (Number(addr.split(':')[1]) === Number(process.env.EDLIVE_REDIS_PORT) ? 'redis' : 'redis2');
const relayHolder = () => sql(env.EDLIVE_PG_SUPER,
  "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE l.locktype = 'advisory' AND l.granted AND a.application_name LIKE 'relay%'");

async function waitUntil(what, cond, ms) {
  const t0 = Date.now();
  for (;;) {
    if (await cond()) return Date.now() - t0;
    if (Date.now() - t0 > ms) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(50);
  }
}

const HUB_PORTS = ['EDLIVE_HUB_PORT', 'EDLIVE_HUB2_PORT', 'EDLIVE_HUB3_PORT'].map((v) => Number(process.env[v]));

// Established TCP connections to a local port (the kernel's table: no tool needed).
function establishedTo(port) {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  let n = 0;
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try { text = readFileSync(f, 'utf8'); } catch { continue; }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[1]?.endsWith(hex) && cols[3] === '01') n++;
    }
  }
  return n;
}

const writers = new Writers();
const ctx = { clients: [], figures: {}, phases: [] };

const faults = [
  ['ed-hub (hub2) killed (SIGKILL), its screens reconnect through nginx; then restarted', async () => {
    await svc('kill', 'hub2');
    await sleep(2000);
    await svc('start', 'hub2');
  }],
  ['ed-api (api) killed (SIGKILL) under load; then restarted', async () => {
    await svc('kill', 'api');
    await sleep(2000);
    await svc('start', 'api');
  }],
  ['the active ed-relay killed (SIGKILL): the standby takes over; the killed one restarted as standby', async () => {
    const active = relayHolder();
    assert.match(active, /^relay2?$/, 'one relay holds the lock');
    const t0 = Date.now();
    await svc('kill', active);
    await waitUntil('the standby relay to take the lock', () => { const h = relayHolder(); return h && h !== active; }, 10000);
    ctx.figures.relayTakeoverMs = Date.now() - t0;
    await svc('start', active);
  }],
  ['the Redis primary killed (SIGKILL): Sentinel promotes the replica; the old one rejoins as replica', async () => {
    const before = (await primaries()).redis;
    const t0 = Date.now();
    await svc('kill', redisNodeOf(before));
    await waitUntil('Sentinel to name a new Redis primary', async () => { const now = (await primaries()).redis; return now && now !== before; }, 20000);
    ctx.figures.redisFailoverMs = Date.now() - t0;
    await svc('start', redisNodeOf(before));
  }],
  ['the PostgreSQL primary killed (SIGKILL), the standby promoted; the old one rejoins as standby', async () => {
    const before = (await primaries()).postgres;
    const other = before === 'pg' ? 'pg2' : 'pg';
    const t0 = Date.now();
    await svc('kill', before);
    await svc('promote', other);
    ctx.figures.pgPromoteMs = Date.now() - t0;
    await svc('start', before);
    assert.equal((await primaries()).postgres, other, 'the promoted node stays the primary');
  }],
];

before(async () => {
  ctx.demo = Number(sql(OWNER, "SELECT id FROM department WHERE code = 'DEMO'"));
  ctx.peds = Number(sql(OWNER, "SELECT id FROM department WHERE code = 'PEDS'"));
  ctx.demoReader = await signedIn('adeyemi');
  ctx.pedsReader = await signedIn('asante');
  ctx.patel = new Api((await signedIn('patel')).token, env.EDLIVE_BASE_URL);
  ctx.duarte = new Api((await signedIn('duarte')).token, env.EDLIVE_BASE_URL);
  ctx.staff = (u) => Number(sql(OWNER, `SELECT staff_id FROM account WHERE username = '${u}'`));
  const active = (dept) => sql(OWNER, `SELECT id FROM encounter WHERE department_id = ${dept} AND status NOT IN ('departed', 'left_without_being_seen') ORDER BY id`).split('\n').map(Number);
  ctx.demoEncounters = active(ctx.demo);
  ctx.pedsEncounters = active(ctx.peds);
  ctx.vitalsBefore = Number(sql(OWNER, 'SELECT count(*) FROM vitals'));
});

after(() => {
  writers.writing = false;
  for (const c of ctx.clients) c.stop();
});

// For the writes acknowledged in [from, to): the longest and the 99th percentile of the time
// from the acknowledgement to each client's screen showing it.
function notLive(from, to) {
  const delays = [];
  for (const w of writers.acked) {
    if (w.at < from || w.at >= to) continue;
    for (const c of ctx.clients) {
      if (c.dept !== w.dept) continue;
      const shown = c.reachedAt(w.seq);
      delays.push(shown === null ? Infinity : Math.max(0, shown - w.at));
    }
  }
  delays.sort((a, b) => a - b);
  return { writes: delays.length, max: delays.at(-1) ?? 0, p99: delays[Math.floor(delays.length * 0.99)] ?? 0 };
}

test(`chaos across instances: ${faults.length} faults, ${NCLIENTS} clients through nginx, ${NWRITERS} writers through nginx`, { timeout: 15 * 60 * 1000 }, async () => {
  for (let i = 0; i < NCLIENTS; i++) {
    const peds = i % 3 === 2;
    ctx.clients.push(new Follower(`c${i}`, env.EDLIVE_WS_URL, peds ? ctx.peds : ctx.demo, peds ? ctx.pedsReader.token : ctx.demoReader.token));
  }
  await Promise.all(ctx.clients.map((c) => c.connect()));
  await sleep(1000);
  assert.ok(ctx.clients.every((c) => c.snapshots === 1), 'every client starts from one snapshot');
  // nginx spread them over the hubs (least_conn): each hub holds some.
  const perHub = HUB_PORTS.map(establishedTo);
  console.log(`# sockets per hub (ports ${HUB_PORTS.join(', ')}): ${perHub.join(', ')}`);
  assert.ok(perHub.every((n) => n > 0), `every hub holds screens (${perHub.join(', ')})`);

  const started = Date.now();
  const loops = [];
  for (let i = 0; i < NWRITERS; i++) {
    const peds = i % 3 === 2;
    loops.push(peds ? writers.run(ctx.duarte, ctx.staff('duarte'), ctx.peds, ctx.pedsEncounters, WRITE_EVERY_MS)
      : writers.run(ctx.patel, ctx.staff('patel'), ctx.demo, ctx.demoEncounters, WRITE_EVERY_MS));
  }
  await sleep(2000);
  for (const [name, inject] of faults) {
    await sleep(PAUSE_MS);
    const t0 = Date.now();
    await inject();
    console.log(`# fault: ${name} (${Date.now() - t0} ms); acknowledged so far ${writers.acked.length}`);
    ctx.phases.push({ name, from: t0, to: Date.now() + PAUSE_MS });
  }
  await sleep(PAUSE_MS);
  writers.writing = false;
  await Promise.all(loops);
  const seconds = (Date.now() - started) / 1000;

  const top = (dept) => Number(sql(OWNER, `SELECT last_seq FROM department_seq WHERE department_id = ${dept}`));
  const tops = { [ctx.demo]: top(ctx.demo), [ctx.peds]: top(ctx.peds) };
  const deadline = Date.now() + 30000;
  while (Date.now() < deadline && !ctx.clients.every((c) => c.seq === tops[c.dept])) await sleep(200);
  const behind = ctx.clients.filter((c) => c.seq !== tops[c.dept]).map((c) => `${c.name} at ${c.seq} of ${tops[c.dept]}`);
  assert.deepEqual(behind, [], 'every client reached its department top');

  const boards = {
    [ctx.demo]: (await ctx.demoReader.get(`/departments/${ctx.demo}/board`)).json,
    [ctx.peds]: (await ctx.pedsReader.get(`/departments/${ctx.peds}/board`)).json,
  };
  const canonical = (rows) => rows.map((r) => JSON.stringify(r)).sort();
  for (const c of ctx.clients) {
    assert.equal(boards[c.dept].seq, c.seq, `${c.name}: the API's board is at the same seq`);
    assert.deepEqual(canonical([...c.rows.values()]), canonical(boards[c.dept].encounters), `${c.name}: board equals PostgreSQL's`);
  }

  const acked = writers.acked;
  assert.deepEqual(writers.refused, [], 'no write was refused');
  assert.ok(acked.length > 0, 'writes were acknowledged');
  const ids = acked.map((a) => a.vitalsId).join(',');
  assert.equal(Number(sql(OWNER, `SELECT count(DISTINCT id) FROM vitals WHERE id IN (${ids})`)), acked.length, 'every acknowledged vitals set is stored (none lost in the promotion)');
  assert.equal(Number(sql(OWNER, 'SELECT count(*) FROM vitals')) - ctx.vitalsBefore, acked.length, 'and nothing else (a retried write is stored once)');
  const pairs = acked.map((a) => `(${a.dept},${a.seq},${a.enc})`).join(',');
  assert.equal(Number(sql(OWNER, `SELECT count(*) FROM event e JOIN (VALUES ${pairs}) AS a(d, s, enc) ON e.department_id = a.d AND e.seq = a.s AND e.encounter_id = a.enc AND e.type = 'vitals.recorded'`)),
    acked.length, 'each acknowledged write is the event its reply named');

  const violations = ctx.clients.flatMap((c) => c.violations.map((v) => `${c.name}: ${v}`));
  const duplicates = violations.filter((v) => v.includes('duplicate')).length;
  const gaps = violations.filter((v) => v.includes('gap')).length;
  const delivered = ctx.clients.reduce((n, c) => n + c.applied, 0);
  const resynced = ctx.clients.reduce((n, c) => n + c.snapshots - 1, 0);
  const recovered = ctx.clients.reduce((n, c) => n + c.recoveries, 0);
  const reconnects = ctx.clients.reduce((n, c) => n + c.reconnects, 0);
  console.log(`# ${seconds.toFixed(1)} s: writes acknowledged ${acked.length} (${(acked.length / seconds).toFixed(1)}/s), ` +
    `unanswered then retried ${writers.unanswered}, events delivered ${delivered}, clients ${ctx.clients.length}, ` +
    `reconnects ${reconnects}, resumed (recovered) ${recovered}, resynced by snapshot ${resynced}, ` +
    `lost 0 (every board equals PostgreSQL), duplicated ${duplicates}, gaps ${gaps}, out of order 0`);
  for (const p of ctx.phases) {
    const n = notLive(p.from, p.to);
    p.figures = n;
    console.log(`# not live during "${p.name}": longest ${n.max} ms, p99 ${n.p99} ms over ${n.writes} write deliveries`);
  }
  console.log(`# relay takeover ${ctx.figures.relayTakeoverMs} ms (kill to the standby holding the lock); ` +
    `Redis failover ${ctx.figures.redisFailoverMs} ms (kill to Sentinel naming the new primary); ` +
    `PostgreSQL promotion ${ctx.figures.pgPromoteMs} ms (kill + pg_ctl promote)`);
  assert.deepEqual(violations, [], 'no client saw a duplicate, a gap or a step back');
  // The bounds we state (deploy/SCALE.md "Failover figures"): the standby relay retries the lock
  // every second; Sentinel declares a primary down after 1 s.
  assert.ok(ctx.figures.relayTakeoverMs <= 3000, `the standby relay took over within 3 s (${ctx.figures.relayTakeoverMs} ms)`);
  assert.ok(ctx.figures.redisFailoverMs <= 10000, `Sentinel failed Redis over within 10 s (${ctx.figures.redisFailoverMs} ms)`);
  for (const p of ctx.phases) {
    assert.ok(p.figures.max <= 15000, `"${p.name}": every screen was live again within 15 s (longest ${p.figures.max} ms)`);
  }
});
