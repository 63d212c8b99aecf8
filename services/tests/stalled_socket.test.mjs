// A socket that takes nothing while data waits is closed with a reason (proto/GUARANTEES.md §2,
// EDLIVE_HUB_STALL_S), and the reader gets that reason when it reads again.
// 1. Directly: a second ed-hub from the same build, on the same PostgreSQL and Redis, with a 2 s
//    stall limit; a client subscribes and stops reading while vitals are written; the hub must
//    close it (logged) instead of holding its backlog, while a client that keeps reading stays
//    connected; the frozen client, reading again, gets its backlog and then the close frame 4408.
// 2. Through nginx (TLS, the test deployment's hub, EDLIVE_HUB_STALL_S 10 there): nginx must not
//    cut first, and the close frame 4408 must come through to the client when it reads again.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { requireEnv } from './lib/env.mjs';
import { signedIn, sql, sleep } from './lib/client.mjs';
import { RawSocket } from './lib/raw_ws.mjs';

const env = requireEnv('EDLIVE_API_URL', 'EDLIVE_PG', 'EDLIVE_PG_OWNER', 'EDLIVE_REDIS', 'EDLIVE_BUILD', 'EDLIVE_LOGS', 'EDLIVE_WS_URL');
let hub;
let hubLog = '';
after(async () => {
  if (hub) {
    hub.kill('SIGTERM');
    await new Promise((resolve) => { hub.on('exit', resolve); setTimeout(resolve, 5000); });
  }
  // Kept with the other service logs, so the sanitizer and patient-data scans read it too.
  fs.writeFileSync(path.join(env.EDLIVE_LOGS, 'hub-stall-test.log'), hubLog);
});

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

test('a frozen socket is closed by the hub (4408) after EDLIVE_HUB_STALL_S; a reading one is not', { timeout: 90000 }, async () => {
  const port = await freePort();
  const bin = path.join(env.EDLIVE_BUILD, 'services/hub/ed-hub');
  hub = spawn(bin, [], {
    env: { ...process.env, EDLIVE_HUB_PORT: String(port), EDLIVE_HUB_STALL_S: '2', EDLIVE_HUB_MAX_LAG: '4000', EDLIVE_ALLOWED_ORIGINS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  hub.stdout.on('data', (d) => { hubLog += d; });
  hub.stderr.on('data', (d) => { hubLog += d; });
  for (let i = 0; i < 100 && !hubLog.includes('listening on'); i++) await sleep(100);
  assert.match(hubLog, /listening on/, `the second hub started: ${hubLog.slice(0, 400)}`);

  const dept = Number(sql(env.EDLIVE_PG_OWNER, "SELECT id FROM department WHERE code = 'DEMO'"));
  const enc = Number(sql(env.EDLIVE_PG_OWNER, `SELECT min(id) FROM encounter WHERE department_id = ${dept} AND status NOT IN ('departed', 'left_without_being_seen')`));
  const staff = Number(sql(env.EDLIVE_PG_OWNER, "SELECT staff_id FROM account WHERE username = 'patel'"));
  const charge = await signedIn('adeyemi');
  const patel = await signedIn('patel');
  const url = `ws://127.0.0.1:${port}/ws`;
  let readerFrames = 0;
  const frozen = new RawSocket(url, charge.token, () => {});
  const reader = new RawSocket(url, charge.token, () => { readerFrames++; });
  await frozen.open();
  await reader.open();
  for (const s of [frozen, reader]) s.send({ type: 'subscribe', topic: 'board', department_id: dept, since: 0 });
  await sleep(500);
  frozen.freeze();
  let frozenClosed = false;
  let readerClosed = false;
  frozen.closed.then(() => { frozenClosed = true; });
  reader.closed.then(() => { readerClosed = true; });
  // Writes until the frozen socket's buffers are full and the stall limit has passed (the hub
  // checks with its 10 s heartbeat), or 45 s.
  const t0 = Date.now();
  while (!/closing a connection on which data waited/.test(hubLog) && Date.now() - t0 < 45000) {
    await patel.post(`/encounters/${enc}/vitals`, { taken_by: staff, heart_rate: 70 + (Date.now() % 50) });
  }
  assert.match(hubLog, /closing a connection on which data waited for 2 s \(4408\)/, 'the hub gave up on the frozen socket');
  // The tablet wakes: it reads what its buffers hold, then the close frame, and would reconnect
  // with since.
  await sleep(1000);
  frozen.thaw();
  for (let i = 0; i < 50 && !frozenClosed; i++) await sleep(100);
  assert.ok(frozenClosed, 'the frozen client finds its connection closed when it reads again');
  assert.equal(frozen.closeCode, 4408, 'with the close frame 4408 ("too slow")');
  assert.equal(readerClosed, false, 'the reading client is still connected');
  assert.ok(readerFrames > 10, `the reading client kept receiving (${readerFrames} frames)`);
  reader.cut();
});

test('through nginx: a frozen socket is closed with 4408, which it reads when it reads again', { timeout: 150000 }, async () => {
  const mainHubLog = () => fs.readFileSync(path.join(env.EDLIVE_LOGS, 'hub.log'), 'utf8');
  const closings = () => (mainHubLog().match(/closing a connection on which data waited/g) || []).length;
  const before = closings();
  const dept = Number(sql(env.EDLIVE_PG_OWNER, "SELECT id FROM department WHERE code = 'DEMO'"));
  const enc = Number(sql(env.EDLIVE_PG_OWNER, `SELECT min(id) FROM encounter WHERE department_id = ${dept} AND status NOT IN ('departed', 'left_without_being_seen')`));
  const staff = Number(sql(env.EDLIVE_PG_OWNER, "SELECT staff_id FROM account WHERE username = 'patel'"));
  const charge = await signedIn('adeyemi');
  const patel = await signedIn('patel');
  let frames = 0;
  const frozen = new RawSocket(env.EDLIVE_WS_URL, charge.token, () => { frames++; });
  await frozen.open();
  frozen.send({ type: 'subscribe', topic: 'board', department_id: dept, since: 0 });
  await sleep(500);
  frozen.freeze();
  let frozenClosed = false;
  frozen.closed.then(() => { frozenClosed = true; });
  // Four writers until the path's buffers (client, nginx, hub) are full and the hub's stall
  // limit has passed, or 110 s.
  const t0 = Date.now();
  const writer = async () => {
    while (closings() === before && !frozenClosed && Date.now() - t0 < 110000) {
      await patel.post(`/encounters/${enc}/vitals`, { taken_by: staff, heart_rate: 70 + (Date.now() % 50) });
    }
  };
  await Promise.all([writer(), writer(), writer(), writer()]);
  console.log(`# the hub closed the frozen socket after ${Date.now() - t0} ms of writing`);
  assert.equal(frozenClosed, false, 'nginx did not cut the frozen client first');
  assert.ok(closings() > before, 'the hub gave up on the frozen socket (logged)');
  await sleep(2000);
  frozen.thaw();
  for (let i = 0; i < 100 && !frozenClosed; i++) await sleep(100);
  assert.ok(frozenClosed, 'the frozen client finds its connection closed when it reads again');
  assert.equal(frozen.closeCode, 4408, `the close frame 4408 came through nginx (after ${frames} frames)`);
});
