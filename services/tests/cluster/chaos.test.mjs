// Chaos across instances (issue 14). In the cluster (deploy/local/test --cluster), writers
// record vitals through nginx (both ed-api behind it) in two departments while board clients
// follow them through nginx (spread over the three ed-hubs). One at a time: SIGKILL one hub,
// SIGKILL one API, SIGKILL the active relay, fail the Redis primary over with Sentinel
// (SIGKILL it), and promote the PostgreSQL standby (SIGKILL the primary); each killed instance
// is brought back as the deployment's scripts do. Then the checks of lib/cluster_load.mjs
// (lost, duplicated, reordered = 0; every acknowledged write stored once) and the figures: per
// fault, the longest time a screen was not live (an acknowledged write not yet on a screen),
// and how long the relay and Redis failovers took.
//
// Settings: CHAOS_CLIENTS (45), CHAOS_WRITERS (6, each up to 10 writes/s), CHAOS_PAUSE_MS (3000).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { requireEnv } from '../lib/env.mjs';
import { sql, sleep } from '../lib/client.mjs';
import { ClusterLoad, svc, primaries } from '../lib/cluster_load.mjs';

const env = requireEnv('EDLIVE_CLUSTER', 'EDLIVE_BASE_URL', 'EDLIVE_WS_URL', 'EDLIVE_PG_OWNER', 'EDLIVE_PG_SUPER',
  'EDLIVE_REPO', 'EDLIVE_REDIS_SENTINELS', 'EDLIVE_REDIS_MASTER');
const PAUSE_MS = Number(process.env.CHAOS_PAUSE_MS || 3000);
const load = new ClusterLoad({ clients: Number(process.env.CHAOS_CLIENTS || 45), writers: Number(process.env.CHAOS_WRITERS || 6) });
const figures = {};

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
    figures.relayTakeoverMs = Date.now() - t0;
    await svc('start', active);
  }],
  ['the Redis primary killed (SIGKILL): Sentinel promotes the replica; the old one rejoins as replica', async () => {
    const before = (await primaries()).redis;
    const t0 = Date.now();
    await svc('kill', redisNodeOf(before));
    await waitUntil('Sentinel to name a new Redis primary', async () => { const now = (await primaries()).redis; return now && now !== before; }, 20000);
    figures.redisFailoverMs = Date.now() - t0;
    await svc('start', redisNodeOf(before));
  }],
  ['the PostgreSQL primary killed (SIGKILL), the standby promoted; the old one rejoins as standby', async () => {
    const before = (await primaries()).postgres;
    const other = before === 'pg' ? 'pg2' : 'pg';
    const t0 = Date.now();
    await svc('kill', before);
    await svc('promote', other);
    figures.pgPromoteMs = Date.now() - t0;
    await svc('start', before);
    assert.equal((await primaries()).postgres, other, 'the promoted node stays the primary');
  }],
];

after(() => load.stop());

test(`chaos across instances: ${faults.length} faults, ${load.nclients} clients and ${load.nwriters} writers through nginx`, { timeout: 15 * 60 * 1000 }, async () => {
  await load.start();
  for (const [name, fn] of faults) await load.inject(`fault: ${name}`, fn, PAUSE_MS);
  await load.finish(PAUSE_MS);
  console.log(`# relay takeover ${figures.relayTakeoverMs} ms (kill to the standby holding the lock); ` +
    `Redis failover ${figures.redisFailoverMs} ms (kill to Sentinel naming the new primary); ` +
    `PostgreSQL promotion ${figures.pgPromoteMs} ms (kill + pg_ctl promote)`);
  // The bounds we state (deploy/CLUSTER.md): the standby relay tries the lock every second;
  // Sentinel declares a primary down after 1 s; every screen live again within 15 s.
  assert.ok(figures.relayTakeoverMs <= 3000, `the standby relay took over within 3 s (${figures.relayTakeoverMs} ms)`);
  assert.ok(figures.redisFailoverMs <= 10000, `Sentinel failed Redis over within 10 s (${figures.redisFailoverMs} ms)`);
  for (const p of load.phases) {
    assert.ok(p.figures.max <= 15000, `"${p.name}": every screen was live again within 15 s (longest ${p.figures.max} ms)`);
  }
});
