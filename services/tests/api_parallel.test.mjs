// ed-api serves requests in parallel (services/api/README.md, Flow): a request waiting on the
// database does not hold up anyone else's. Here one nurse's note waits on an encounter row
// that a stuck transaction holds (lock_timeout refuses each attempt after about 2 s; ed-api
// runs a write that lost a lock conflict again, 3 attempts in all, then answers 503);
// meanwhile a colleague's board read, sign-in check and a write in another department answer
// at once. (A write in the same department would queue behind the stuck one: an encounter
// write takes its department's seq row first, services/record/README.md "Lock order".)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { requireEnv } from './lib/env.mjs';
import { signedIn, sleep } from './lib/client.mjs';

const env = requireEnv('EDLIVE_API_URL', 'EDLIVE_PG_OWNER');
const OWNER = env.EDLIVE_PG_OWNER;

test('a write stuck on a locked row does not hold up other requests', async () => {
  const nurse = await signedIn('patel');
  const colleague = await signedIn('adeyemi');
  const peds = await signedIn('duarte'); // a nurse of the other demo department
  const me = (await nurse.get('/session')).json;
  const dept = me.departments[0].id;
  const board = (await nurse.get(`/departments/${dept}/board`)).json;
  const open = board.encounters.filter((e) => !['departed', 'left_without_being_seen'].includes(e.status));
  assert.ok(open.length >= 2, 'the demo board has two open encounters');
  const [stuck] = open;
  const pedsMe = (await peds.get('/session')).json;
  const pedsBoard = (await peds.get(`/departments/${pedsMe.departments[0].id}/board`)).json;
  const other = pedsBoard.encounters.find((e) => !['departed', 'left_without_being_seen'].includes(e.status));
  assert.ok(other && pedsMe.departments[0].id !== dept, 'the other demo department has an open encounter');
  // A transaction that holds one encounter's row for 8 s, as a stuck session would.
  const holder = spawn('psql', [OWNER, '-XAtq', '-c',
    `BEGIN; SELECT id FROM encounter WHERE id = ${stuck.encounter_id} FOR UPDATE; SELECT pg_sleep(8); COMMIT;`]);
  const held = new Promise((resolve) => holder.on('exit', resolve));
  await sleep(700); // the lock is taken
  const started = Date.now();
  const blocked = nurse.post(`/encounters/${stuck.encounter_id}/notes`,
    { author_id: me.staff_id, text: `parallel check ${started}` }).then((r) => ({ r, ms: Date.now() - started }));
  await sleep(200); // the blocked write is in the database, waiting for the lock
  const timed = async (p) => { const t = Date.now(); const r = await p; return { r, ms: Date.now() - t }; };
  const read = await timed(colleague.get(`/departments/${dept}/board`));
  const session = await timed(colleague.get('/session'));
  const write = await timed(peds.post(`/encounters/${other.encounter_id}/notes`,
    { author_id: pedsMe.staff_id, text: `parallel other ${started}` }));
  const slow = await blocked;
  assert.equal(read.r.status, 200, read.r.text);
  assert.equal(session.r.status, 200, session.r.text);
  assert.equal(write.r.status, 201, write.r.text);
  // The waiting write is still waiting (refused only after 3 attempts of about 2 s) while the
  // others answer.
  assert.equal(slow.r.status, 503, slow.r.text);
  assert.ok(slow.ms >= 5000, `the blocked write waited ${slow.ms} ms`);
  for (const [what, t] of [['board read', read], ['session', session], ['other write', write]])
    assert.ok(t.ms < 1000, `${what} took ${t.ms} ms beside a blocked write (served one at a time?)`);
  await held;
});
