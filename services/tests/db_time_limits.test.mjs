// Every PostgreSQL session of the services has a lock_timeout (services/README.md,
// "PostgreSQL time limits"): a write that finds its encounter row locked by a stuck
// transaction is refused with 503 "try again" after about 2 s, instead of holding one of ed-api's worker
// threads (services/api/README.md) until that transaction ends; once the lock is gone the same
// write succeeds. Nothing of the refused write is stored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { requireEnv } from './lib/env.mjs';
import { signedIn, sql, lit, sleep } from './lib/client.mjs';

const env = requireEnv('EDLIVE_API_URL', 'EDLIVE_PG_OWNER');
const OWNER = env.EDLIVE_PG_OWNER;

test('a write blocked by a row lock is refused after lock_timeout, then succeeds', async () => {
  const nurse = await signedIn('patel');
  const me = (await nurse.get('/session')).json;
  const dept = me.departments[0].id;
  const board = (await nurse.get(`/departments/${dept}/board`)).json;
  const enc = board.encounters.find((e) => !['departed', 'left_without_being_seen'].includes(e.status)).encounter_id;
  const text = `lock check ${Date.now()}`;
  // A transaction that holds the encounter row for 9 s, as a stuck session would. ed-api runs a
  // write that lost a lock conflict again (3 attempts of about 2 s each, services/api/README.md).
  const holder = spawn('psql', [OWNER, '-XAtq', '-c',
    `BEGIN; SELECT id FROM encounter WHERE id = ${enc} FOR UPDATE; SELECT pg_sleep(9); COMMIT;`]);
  const held = new Promise((resolve) => holder.on('exit', resolve));
  await sleep(700); // the lock is taken
  const started = Date.now();
  const blocked = await nurse.post(`/encounters/${enc}/notes`, { author_id: me.staff_id, text });
  const waited = Date.now() - started;
  assert.equal(blocked.status, 503, blocked.text);
  assert.equal(blocked.json.error.code, 'unavailable');
  assert.ok(waited >= 5500 && waited < 8500, `refused after ${waited} ms, expected about 6000 (3 attempts)`);
  assert.equal(sql(OWNER, `SELECT count(*) FROM note WHERE encounter_id = ${enc} AND body = ${lit(text)}`), '0');
  await held;
  const after = await nurse.post(`/encounters/${enc}/notes`, { author_id: me.staff_id, text });
  assert.equal(after.status, 201, after.text);
});
