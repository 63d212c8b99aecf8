// A Redis Sentinel failover under load, measured by hand (issue 14): ed-relay and ed-hub must
// follow the Sentinels to the new primary, and a board client must still get every event.
//
//   . .state/local/env                    # with EDLIVE_REDIS_SENTINELS and EDLIVE_REDIS_MASTER
//   node load-tests/sentinel_failover.mjs [kill|failover]
//
// kill (default): SIGKILLs the primary the Sentinels name (its process id from INFO server).
// failover: asks a Sentinel for a graceful SENTINEL FAILOVER (needs a replica in sync); the old
// primary lives on as a replica, so a relay still on it is refused with -READONLY.
// ed-relay and ed-hub of the deployment must run with EDLIVE_REDIS_SENTINELS set (see
// services/README.md, "Redis"). Writers record vitals in the demo ED every 100 ms through
// ed-api; board clients follow it on ed-hub directly. Printed: the timeline (primary gone →
// Sentinels name the new one → relay connected to it and XLEN growing there → hub connected to
// it and events reaching screens within 100 ms again), and whether every client applied every
// acknowledged write once and in order. Exit status 1 when a client missed or repeated one.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { signedIn, sql, sleep } from '../services/tests/lib/client.mjs';
import { Follower, Writers } from '../services/tests/lib/follower.mjs';

const run = promisify(execFile);
const mode = process.argv[2] || 'kill';
for (const name of ['EDLIVE_REDIS_SENTINELS', 'EDLIVE_API_URL', 'EDLIVE_HUB_URL', 'EDLIVE_PG_OWNER', 'EDLIVE_LOGS']) {
  if (!process.env[name]) throw new Error(`${name} is not set: . .state/local/env (with the Sentinels added)`);
}
const sentinels = process.env.EDLIVE_REDIS_SENTINELS.split(',').map((s) => s.trim());
const master = process.env.EDLIVE_REDIS_MASTER || 'edlive';
const OWNER = process.env.EDLIVE_PG_OWNER;
const CLIENTS = 3;
const WRITERS = 2;
const WRITE_EVERY_MS = 100;

async function redis(addr, ...args) {
  const [host, port] = [addr.slice(0, addr.lastIndexOf(':')), addr.slice(addr.lastIndexOf(':') + 1)];
  const { stdout } = await run('redis-cli', ['-h', host, '-p', port, ...args], { timeout: 1000 });
  return stdout.trim();
}

// The primary as the first answering Sentinel names it ("host:port"), or null.
async function namedPrimary() {
  for (const s of sentinels) {
    try {
      const out = (await redis(s, 'SENTINEL', 'get-master-addr-by-name', master)).split('\n');
      if (out.length === 2) return `${out[0]}:${out[1]}`;
    } catch { /* the next Sentinel */ }
  }
  return null;
}

async function xlen(addr, key) {
  try { return Number(await redis(addr, 'XLEN', key)); } catch { return null; }
}

async function waitFor(what, cond, ms = 30000) {
  const t0 = Date.now();
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() - t0 > ms) throw new Error(`${what}: not within ${ms} ms`);
    await sleep(20);
  }
}

// The time (ms) of the first line of a service log at or after `since` that contains `text`.
function logTime(file, text, since) {
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^(\d{4}-\d\d-\d\dT[\d:.]+Z) /.exec(line);
    if (m && line.includes(text) && Date.parse(m[1]) >= since) return Date.parse(m[1]);
  }
  return null;
}

const dept = Number(sql(OWNER, "SELECT id FROM department WHERE code = 'DEMO'"));
const key = `edlive:dept:${dept}:events`;
const encounters = sql(OWNER, `SELECT id FROM encounter WHERE department_id = ${dept} AND status NOT IN ('departed', 'left_without_being_seen') ORDER BY id`).split('\n').map(Number);
const writer = await signedIn('patel');
const reader = await signedIn('adeyemi');
const staffId = Number(sql(OWNER, "SELECT staff_id FROM account WHERE username = 'patel'"));

const clients = [];
for (let i = 0; i < CLIENTS; i++) clients.push(new Follower(`c${i}`, process.env.EDLIVE_HUB_URL, dept, reader.token));
await Promise.all(clients.map((c) => c.connect()));
const writers = new Writers();
const loops = [];
for (let i = 0; i < WRITERS; i++) loops.push(writers.run(writer, staffId, dept, encounters, WRITE_EVERY_MS));
await sleep(3000);

const old = await namedPrimary();
const replicaOf = (await redis(old, 'INFO', 'replication')).match(/slave0:ip=([^,]+),port=(\d+)/);
console.log(`primary ${old} (replica ${replicaOf ? `${replicaOf[1]}:${replicaOf[2]}` : 'none'}), XLEN ${key} ${await xlen(old, key)}, ${writers.acked.length} writes so far`);
const t0 = Date.now();
if (mode === 'kill') {
  const pid = Number((await redis(old, 'INFO', 'server')).match(/process_id:(\d+)/)[1]);
  process.kill(pid, 'SIGKILL');
  console.log(`t=0      SIGKILL the primary ${old} (PID ${pid})`);
} else {
  console.log(`t=0      SENTINEL FAILOVER ${master}: ${await redis(sentinels[0], 'SENTINEL', 'FAILOVER', master)}`);
}
const now = await waitFor('Sentinels to name a new primary', async () => { const p = await namedPrimary(); return p && p !== old ? p : null; });
const tElected = Date.now();
const atElection = await xlen(now, key);
console.log(`t=${tElected - t0} ms  the Sentinels name ${now} (XLEN there ${atElection})`);
await waitFor('XLEN to grow on the new primary', async () => ((await xlen(now, key)) ?? -1) > atElection);
console.log(`t=${Date.now() - t0} ms  XLEN on ${now} grows: the relay publishes there (seen by polling every 20 ms)`);

await sleep(5000);
writers.writing = false;
await Promise.all(loops);
const last = Math.max(...writers.acked.map((w) => w.seq));
await waitFor('every client to reach the last acknowledged write', async () => clients.every((c) => c.seq >= last), 10000).catch((e) => console.log(e.message));

// Every ed-relay and ed-hub log of the deployment (the cluster has relay2, hub2, hub3).
const logs = readdirSync(process.env.EDLIVE_LOGS).filter((f) => /^(relay|hub)\d*\.log$/.test(f)).sort();
const connectedAt = {};
for (const f of logs) {
  connectedAt[f] = logTime(`${process.env.EDLIVE_LOGS}/${f}`, `is ${now},`, t0 - 1000);
  if (connectedAt[f]) console.log(`t=${connectedAt[f] - t0} ms  ${f}: connected to the new primary ${now}`);
  else console.log(`${f}: no connect to ${now} logged (a standby relay, or not using the Sentinels)`);
}
const hubTimes = logs.filter((f) => f.startsWith('hub') && connectedAt[f]).map((f) => connectedAt[f]);
const hubAt = hubTimes.length ? Math.max(...hubTimes) : null;

// Latency from a write's acknowledgement to a screen: a few ms through Redis, up to the hub's
// 1 s PostgreSQL check while Redis is not read.
const late = (w) => Math.max(0, Math.min(...clients.map((c) => c.reachedAt(w.seq) ?? Infinity)) - w.at);
const after = writers.acked.filter((w) => w.at >= t0);
const firstFast = after.find((w) => w.at >= (hubAt ?? t0) && late(w) < 100);
console.log(`writes acknowledged: ${writers.acked.length} (${after.length} after t=0), longest ack→screen after t=0: ${Math.max(...after.map(late))} ms`);
if (firstFast) console.log(`t=${firstFast.at - t0} ms  first write after the hub's reconnect on a screen within 100 ms (${late(firstFast)} ms): events come through Redis again`);
console.log(`XLEN ${key}: ${now} ${await xlen(now, key)}`);

let ok = true;
for (const c of clients) {
  const missing = writers.acked.filter((w) => c.reachedAt(w.seq) === null).length;
  console.log(`${c.name}: seq ${c.seq} (last acknowledged ${last}), applied ${c.applied} events, ${c.snapshots} snapshot(s), ${c.reconnects} reconnect(s), violations ${c.violations.length ? c.violations.join('; ') : 'none'}, acknowledged writes not shown ${missing}`);
  ok &&= c.violations.length === 0 && missing === 0 && c.seq >= last;
}
for (const c of clients) c.stop();
console.log(ok ? 'OK: every client applied every acknowledged write, once, in order' : 'FAILED');
process.exit(ok ? 0 : 1);
