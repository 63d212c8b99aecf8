// A reconnect storm is served from the hub's memory (proto/GUARANTEES.md §2): 1000 screens
// subscribing to one board at the same moment cost at most one database read of that board,
// and every one of them gets the same snapshot at the same seq.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { requireEnv } from './lib/env.mjs';
import { signedIn, sql, openSocket } from './lib/client.mjs';

const env = requireEnv('EDLIVE_API_URL', 'EDLIVE_HUB_URL', 'EDLIVE_PG_OWNER', 'EDLIVE_LOGS');
const SOCKETS = 1000;
const sockets = [];
after(() => sockets.forEach((s) => s.close()));

const hubReads = (dept) => fs.readFileSync(path.join(env.EDLIVE_LOGS, 'hub.log'), 'utf8')
  .split('\n').filter((l) => l.includes(`board snapshot of dept ${dept} read from PostgreSQL`)).length;

test(`${SOCKETS} screens subscribing at once cost at most one board read`, async () => {
  const dept = Number(sql(env.EDLIVE_PG_OWNER, "SELECT id FROM department WHERE code = 'DEMO'"));
  const charge = await signedIn('adeyemi');
  while (sockets.length < SOCKETS) {
    const batch = await Promise.all(Array.from({ length: Math.min(50, SOCKETS - sockets.length) }, () => openSocket(charge.token)));
    sockets.push(...batch);
  }
  const before = hubReads(dept);
  for (const s of sockets) s.subscribe('board', dept, 0);
  const replies = await Promise.all(sockets.map((s) => s.waitFor((f) => f.type === 'snapshot', 'a snapshot', 60000)));
  const reads = hubReads(dept) - before;
  console.log(`# ${SOCKETS} snapshots, ${reads} read(s) of the board from PostgreSQL`);
  assert.ok(reads <= 1, `${reads} database reads for ${SOCKETS} subscribes`);
  const seqs = new Set(replies.map((r) => r.seq));
  assert.equal(seqs.size, 1, 'every screen got the board at the same seq');
  const raw = new Set(sockets.map((s) => s.raw[0]));
  assert.equal(raw.size, 1, 'the very same snapshot bytes');
});
