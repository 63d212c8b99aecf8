// SPDX-License-Identifier: MIT
// ed-mllp against the test deployment (PostgreSQL, the demo ED): an A04 applied once however
// often it is sent (the resend gets the stored ACK, byte for byte; two copies at once on two
// connections of one ed-mllp, or on two ed-mllp processes, apply once), an AE stored and
// answered again the same, the worker held by a lock while the loop answers other connections
// at once, PostgreSQL stopped (AE 207, not stored, the listener goes on) and back, a bad
// EDLIVE_MLLP_STAFF stopping ed-mllp at start, and the purge of answers older than 7 days.
// Only A04 is applied by this build; the other events are being built (issue 11).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { spawn } from 'node:child_process';
import { requireEnv, svc } from './lib/env.mjs';
import { sql, lit, sleep, signedIn, firstReply } from './lib/client.mjs';

const env = requireEnv('EDLIVE_MLLP_PORT', 'EDLIVE_PG_OWNER', 'EDLIVE_BUILD', 'EDLIVE_REPO', 'EDLIVE_LOGS');
const PORT = Number(env.EDLIVE_MLLP_PORT);
const OWNER = env.EDLIVE_PG_OWNER;
const VT = 0x0b, FS = 0x1c, CR = 0x0d;
const run = `${Date.now().toString(36)}`;

const frame = (s) => Buffer.concat([Buffer.from([VT]), Buffer.from(s, 'utf8'), Buffer.from([FS, CR])]);
const hl7Now = () => new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14) + '+0000';

// An A04 of a new patient (synthetic), in the default department (PV1-3.1 empty: DEMO) or `poc`.
function a04(id, mrn, poc = '') {
  const now = hl7Now();
  return [
    `MSH|^~\\&|MLLPTEST|HOSP|EDLIVE|ED|${now}||ADT^A04^ADT_A01|${id}|P|2.5.1`,
    `EVN|A04|${now}`,
    `PID|1||${mrn}^^^HOSP^MR||Mllptest^Anna||19800101|F`,
    `PV1|1|E|${poc}`,
    'PV2|||^chest pain',
    '',
  ].join('\r');
}

// Sends the chunks on one connection and collects `count` replies, each the exact bytes
// between the framing bytes.
function exchange(chunks, count, timeoutMs = 10000, port = PORT) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    const replies = [];
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`timeout; got ${replies.length} of ${count} replies`));
    }, timeoutMs);
    sock.on('connect', () => { for (const c of chunks) sock.write(c); });
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      let end;
      while ((end = buf.indexOf(Buffer.from([FS, CR]))) >= 0) {
        replies.push(buf.subarray(buf.indexOf(VT) + 1, end));
        buf = buf.subarray(end + 2);
      }
      if (replies.length >= count) {
        clearTimeout(timer);
        sock.destroy();
        resolve(replies);
      }
    });
    sock.on('close', () => {
      clearTimeout(timer);
      if (replies.length < count) reject(new Error(`closed after ${replies.length} of ${count} replies`));
    });
    sock.on('error', () => {});
  });
}

const one = async (msg, timeoutMs) => (await exchange([frame(msg)], 1, timeoutMs))[0];
const msa = (ack) => ack.toString('utf8').split('\r').find((l) => l.startsWith('MSA|'));
const err3 = (ack) => ack.toString('utf8').split('\r').find((l) => l.startsWith('ERR|'))?.split('|')[3];
const encounters = (mrn) =>
  Number(sql(OWNER, `SELECT count(*) FROM encounter e JOIN patient p ON p.id = e.patient_id WHERE p.mrn = ${lit(mrn)}`));
const events = (mrn) =>
  Number(sql(OWNER, `SELECT count(*) FROM event v JOIN encounter e ON e.id = v.encounter_id
                     JOIN patient p ON p.id = e.patient_id WHERE p.mrn = ${lit(mrn)}`));
const answered = (id) =>
  sql(OWNER, `SELECT ack_code FROM hl7_answered WHERE sending_app = 'MLLPTEST' AND sending_facility = 'HOSP' AND control_id = ${lit(id)}`);

// After PostgreSQL restarted, the other services' first statement on their old connection
// fails (then they reconnect): use them once here, so the tests after this one find them
// reconnected.
async function servicesBack() {
  for (let i = 0; i < 30; i++) {
    try {
      const api = await signedIn('patel');
      const me = await api.get('/session');
      if (me.status === 200) {
        await firstReply(api.token, 'board', me.json.departments[0].id);
        return;
      }
    } catch { /* not yet */ }
    await sleep(500);
  }
  throw new Error('ed-api / ed-hub did not come back after PostgreSQL restarted');
}

test('a resend of the same MSH-10 gets the same ACK bytes and applies nothing again', async () => {
  const id = `R1-${run}`, mrn = `MLR1-${run}`;
  const msg = a04(id, mrn);
  const first = await one(msg);
  assert.equal(msa(first), `MSA|AA|${id}`, first.toString());
  assert.equal(encounters(mrn), 1);
  const nEvents = events(mrn);
  assert.ok(nEvents >= 1);
  assert.equal(answered(id), 'AA');
  await sleep(1100); // a new ACK would have another MSH-7 and MSH-10
  const again = await one(msg);
  assert.ok(again.equals(first), 'the stored ACK, byte for byte');
  // Twice more, pipelined on one connection.
  const both = await exchange([frame(msg), frame(msg)], 2);
  assert.ok(both[0].equals(first) && both[1].equals(first));
  assert.equal(encounters(mrn), 1);
  assert.equal(events(mrn), nEvents);
});

test('the same message on two connections at once is applied once', async () => {
  const id = `R2-${run}`, mrn = `MLR2-${run}`;
  const msg = frame(a04(id, mrn));
  const [a, b] = await Promise.all([exchange([msg], 1), exchange([msg], 1)]);
  assert.equal(msa(a[0]), `MSA|AA|${id}`);
  assert.ok(a[0].equals(b[0]), 'both get the one ACK');
  assert.equal(encounters(mrn), 1);
});

// A second ed-mllp on the same database (its own worker and connection): the copies really
// run at once. A SHARE lock on hl7_answered lets both read "not answered" and apply, and holds
// both INSERTs of the answered row until both are inside their transactions: the second waits
// for the first, conflicts, rolls back everything it applied and answers with the first's ACK.
test('the same message on two ed-mllp processes at once is applied once', async () => {
  const id = `R6-${run}`, mrn = `MLR6-${run}`;
  const port2 = await new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
  const log = fs.openSync(`${env.EDLIVE_LOGS}/mllp-second.log`, 'a'); // checked for sanitizer reports
  const second = spawn(`${env.EDLIVE_BUILD}/services/mllp/ed-mllp`, [], {
    env: { ...process.env, EDLIVE_MLLP_PORT: String(port2), EDLIVE_MLLP_OPS_PORT: '0' }, // the deployment's ed-mllp has the ops port
    stdio: ['ignore', log, log],
  });
  try {
    for (let i = 0; i < 100 && !fs.readFileSync(`${env.EDLIVE_LOGS}/mllp-second.log`, 'utf8').includes(`:${port2}`); i++) await sleep(100);
    const holder = spawn('psql', [OWNER, '-XAtq', '-c',
      'BEGIN; LOCK TABLE hl7_answered IN SHARE MODE; SELECT pg_sleep(1.2); COMMIT;']);
    const held = new Promise((resolve) => holder.on('exit', resolve));
    await sleep(500);
    const msg = frame(a04(id, mrn));
    const [a, b] = await Promise.all([exchange([msg], 1), exchange([msg], 1, 10000, port2)]);
    await held;
    assert.equal(msa(a[0]), `MSA|AA|${id}`, a[0].toString());
    assert.ok(a[0].equals(b[0]), `both get the one ACK: ${a[0]} / ${b[0]}`);
    assert.equal(encounters(mrn), 1);
    assert.equal(answered(id), 'AA');
  } finally {
    second.kill('SIGTERM');
    await new Promise((resolve) => second.on('exit', resolve));
    fs.closeSync(log);
  }
});

test('an AE is stored and a resend gets it again; nothing applied', async () => {
  const id = `R3-${run}`, mrn = `MLR3-${run}`;
  const msg = a04(id, mrn, 'NOWHERE');
  const first = await one(msg);
  assert.equal(msa(first), `MSA|AE|${id}`);
  assert.match(err3(first), /^103\^/);
  assert.equal(answered(id), 'AE');
  await sleep(1100);
  assert.ok((await one(msg)).equals(first));
  assert.equal(encounters(mrn), 0);
});

test('a worker held by a lock: other connections are answered at once; AE 207 is not stored', async () => {
  const id = `R4-${run}`, mrn = `MLR4-${run}`;
  // A transaction that holds the answered table for 5 s, as a stuck session would.
  const holder = spawn('psql', [OWNER, '-XAtq', '-c',
    'BEGIN; LOCK TABLE hl7_answered IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(5); COMMIT;']);
  const held = new Promise((resolve) => holder.on('exit', resolve));
  try {
    await sleep(700); // the lock is taken
    const t0 = Date.now();
    const blocked = one(a04(id, mrn), 15000);
    await sleep(200);
    const oru = `MSH|^~\\&|LAB|HOSP|EDLIVE|ED|${hl7Now()}||ORU^R01|O-${run}|P|2.5.1\rPID|1||X\r`;
    for (const m of ['not HL7 at all', oru]) {
      const t1 = Date.now();
      const ack = await one(m);
      assert.match(msa(ack), /^MSA\|AR/);
      assert.ok(Date.now() - t1 < 500, `AR after ${Date.now() - t1} ms while the worker waits`);
    }
    const ack = await blocked;
    const waited = Date.now() - t0;
    assert.equal(msa(ack), `MSA|AE|${id}`);
    assert.match(err3(ack), /^207\^/);
    assert.ok(waited >= 1500, `answered after ${waited} ms: the lock_timeout is 2 s`);
  } finally {
    await held;
  }
  assert.equal(answered(id), '', 'a 207 is not stored');
  const retry = await one(a04(id, mrn));
  assert.equal(msa(retry), `MSA|AA|${id}`);
  assert.equal(encounters(mrn), 1);
});

test('PostgreSQL stopped: AE 207 and the listener goes on; back: applied', async () => {
  const id = `R5-${run}`, mrn = `MLR5-${run}`;
  svc('stop', 'pg');
  try {
    const ack = await one(a04(id, mrn));
    assert.equal(msa(ack), `MSA|AE|${id}`);
    assert.match(err3(ack), /^207\^/);
    assert.match(msa(await one('garbage')), /^MSA\|AR/);
    const again = await one(a04(id, mrn));
    assert.equal(msa(again), `MSA|AE|${id}`, 'still AE 207, answered as promptly');
  } finally {
    svc('start', 'pg');
    await servicesBack();
  }
  const ack = await one(a04(id, mrn));
  assert.equal(msa(ack), `MSA|AA|${id}`, ack.toString());
  assert.equal(encounters(mrn), 1);
});

test('PostgreSQL restarted between two messages: the next one is applied at once', async () => {
  // ed-mllp's connection is broken by the restart but does not know it until it is used: the
  // record reconnects and begins again rather than answering AE 207.
  const id = `R8-${run}`, mrn = `MLR8-${run}`;
  assert.equal(msa(await one(a04(`R8a-${run}`, `MLR8a-${run}`))), `MSA|AA|R8a-${run}`);
  svc('stop', 'pg');
  svc('start', 'pg');
  try {
    const ack = await one(a04(id, mrn));
    assert.equal(msa(ack), `MSA|AA|${id}`, ack.toString());
    assert.equal(encounters(mrn), 1);
  } finally {
    await servicesBack();
  }
});

test('EDLIVE_MLLP_STAFF: the demo interface is set; an id no active staff member has stops ed-mllp', async () => {
  const name = 'HL7 interface (registration system)';
  assert.equal(sql(OWNER, `SELECT count(*) FROM staff WHERE display_name = ${lit(name)} AND active`), '1');
  const bin = `${env.EDLIVE_BUILD}/services/mllp/ed-mllp`;
  const child = spawn(bin, [], {
    env: { ...process.env, EDLIVE_MLLP_PORT: '1', EDLIVE_MLLP_OPS_PORT: '0', EDLIVE_MLLP_STAFF: '999999999' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  const code = await new Promise((resolve) => child.on('exit', resolve));
  assert.equal(code, 2, out);
  assert.match(out, /EDLIVE_MLLP_STAFF=999999999: no active staff member/);
});

test('answered messages older than 7 days are deleted when ed-mllp starts (and hourly)', async () => {
  sql(OWNER, `INSERT INTO hl7_answered (sending_app, sending_facility, control_id, ack_code, ack, answered_at)
              VALUES ('MLLPTEST', 'HOSP', ${lit(`OLD-${run}`)}, 'AA', '\\x41'::bytea, now() - interval '8 days'),
                     ('MLLPTEST', 'HOSP', ${lit(`KEPT-${run}`)}, 'AA', '\\x41'::bytea, now() - interval '6 days')`);
  svc('restart', 'mllp');
  for (let i = 0; i < 50 && answered(`OLD-${run}`) !== ''; i++) await sleep(100);
  assert.equal(answered(`OLD-${run}`), '', 'the 8-day-old row is gone');
  assert.equal(answered(`KEPT-${run}`), 'AA', 'the 6-day-old row is kept');
  const id = `R7-${run}`;
  assert.equal(msa(await one(a04(id, `MLR7-${run}`))), `MSA|AA|${id}`, 'the restarted ed-mllp applies');
});
