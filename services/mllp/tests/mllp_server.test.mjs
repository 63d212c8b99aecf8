// SPDX-License-Identifier: MIT
// ed-mllp over TCP (no database): starts the binary on a free port and checks the ACKs of
// garbage, junk between frames, messages pipelined in one write (answered in order, whether
// on the loop or by the worker), a huge message, a sender silent inside a frame, one that
// trickles a frame past the whole-frame deadline, one that never reads its ACKs, a database
// that does not answer (the loop answers others meanwhile) and a refused source address.
// Usage: node --test mllp_server.test.mjs (ED_MLLP_BIN: the binary).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { spawn } from 'node:child_process';

const BIN = process.env.ED_MLLP_BIN;
const VT = '\x0b', FS = '\x1c', CR = '\r';
const frame = (s) => Buffer.from(VT + s + FS + CR, 'utf8');
const adt = (id, trigger = 'A08') =>
  `MSH|^~\\&|REG|HOSP|EDLIVE|ED|20250101120000||ADT^${trigger}|${id}|P|2.5.1\rPID|1||X1^^^H^MR||TEST^ONE\rPV1|1|E\r`;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function start(env) {
  const port = await freePort();
  const child = spawn(BIN, [], {
    env: {
      ...process.env,
      // No database here: an A04 must get AE 207, never hang the listener.
      EDLIVE_PG: 'postgresql://edlive@127.0.0.1:1/none?connect_timeout=2',
      EDLIVE_MLLP_DEPARTMENT: 'ED1',
      EDLIVE_LISTEN: '127.0.0.1',
      EDLIVE_MLLP_PORT: String(port),
      EDLIVE_MLLP_OPS_PORT: '0', // no operations port: a deployment's ed-mllp may hold it
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const srv = { port, child, log: '', stop: () => child.kill('SIGTERM') };
  // A clean stop is exit 0 (under ASan: nothing leaked).
  srv.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`ed-mllp did not start: ${srv.log}`)), 10000);
    const on = (d) => {
      srv.log += d;
      if (srv.log.includes('listening for MLLP')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', on);
    child.stderr.on('data', on);
    child.once('exit', (code) => reject(new Error(`ed-mllp exited ${code}: ${srv.log}`)));
  });
  return srv;
}

// Sends the chunks, collects whole replies until `count` frames came or the socket closed.
function exchange(port, chunks, count, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let buf = '';
    const replies = [];
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`timeout; got ${replies.length} replies`));
    }, timeoutMs);
    const done = (closed) => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ replies, closed });
    };
    sock.on('connect', () => {
      for (const c of chunks) sock.write(c);
    });
    sock.on('data', (d) => {
      buf += d.toString('utf8');
      let end;
      while ((end = buf.indexOf(FS + CR)) >= 0) {
        const start = buf.indexOf(VT);
        replies.push(buf.slice(start + 1, end));
        buf = buf.slice(end + 2);
      }
      if (replies.length >= count) done(false);
    });
    sock.on('close', () => done(true));
    sock.on('error', () => {});
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A TCP server that accepts and never answers: a PostgreSQL that hangs (libpq waits for its
// connect_timeout on every attempt).
async function silentServer() {
  const socks = new Set();
  const server = net.createServer((s) => {
    socks.add(s);
    s.on('error', () => {});
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: server.address().port,
    close: () => {
      for (const s of socks) s.destroy();
      server.close();
    },
  };
}

const msa = (ack) => ack.split('\r').find((l) => l.startsWith('MSA|'));
const err3 = (ack) => ack.split('\r').find((l) => l.startsWith('ERR|'))?.split('|')[3];

test('ed-mllp', { skip: !BIN && 'ED_MLLP_BIN not set' }, async (t) => {
  const srv = await start({ EDLIVE_MLLP_IDLE_S: '1', EDLIVE_MLLP_FRAME_S: '3' });
  try {
    await t.test('garbage in a frame gets AR', async () => {
      const { replies } = await exchange(srv.port, [frame('hello, not HL7')], 1);
      assert.match(msa(replies[0]), /^MSA\|AR/);
    });
    await t.test('junk between frames is skipped; two messages in one write answered in order', async () => {
      const data = Buffer.concat([Buffer.from('junk\r\n'), frame(adt('M1')), Buffer.from('xx'), frame(adt('M2'))]);
      const { replies } = await exchange(srv.port, [data], 2);
      assert.equal(replies.length, 2);
      // No database here: every ADT message is AE 207 (not stored: a resend is tried again).
      assert.equal(msa(replies[0]), 'MSA|AE|M1');
      assert.equal(msa(replies[1]), 'MSA|AE|M2');
      assert.match(err3(replies[0]), /^207\^/);
    });
    await t.test('a message split over many writes', async () => {
      const bytes = frame(adt('M3'));
      const chunks = [];
      for (let i = 0; i < bytes.length; i += 7) chunks.push(bytes.subarray(i, i + 7));
      const { replies } = await exchange(srv.port, chunks, 1);
      assert.equal(msa(replies[0]), 'MSA|AE|M3');
    });
    await t.test('an A04 without the database gets AE 207, and the next message is answered', async () => {
      const { replies } = await exchange(srv.port, [frame(adt('M6', 'A04')), frame(adt('M7'))], 2);
      assert.equal(msa(replies[0]), 'MSA|AE|M6');
      assert.match(err3(replies[0]), /^207\^/);
      assert.equal(msa(replies[1]), 'MSA|AE|M7');
    });
    await t.test('answers made on the loop wait for the worker\'s earlier ones: the order of the messages', async () => {
      const oru = 'MSH|^~\\&|LAB|HOSP|EDLIVE|ED|20250101120000||ORU^R01|O1|P|2.5.1\rPID|1||X1\r';
      const ack = 'MSH|^~\\&|REG|HOSP|EDLIVE|ED|20250101120000||ACK^A04|K1|P|2.5.1\rMSA|AA|X\r';
      const msgs = [];
      for (let i = 0; i < 150; i++) msgs.push(frame(adt(`P${i}`)), frame('garbage'), frame(ack));
      msgs.push(frame(oru));
      const { replies } = await exchange(srv.port, [Buffer.concat(msgs)], 301, 15000);
      assert.equal(replies.length, 301, 'an ACK sent to us is not answered');
      for (let i = 0; i < 150; i++) {
        assert.equal(msa(replies[2 * i]), `MSA|AE|P${i}`);
        assert.match(msa(replies[2 * i + 1]), /^MSA\|AR/);
      }
      assert.equal(msa(replies[300]), 'MSA|AR|O1');
      assert.match(err3(replies[300]), /^200\^/);
    });
    await t.test('a huge message is refused by the cap', async () => {
      const big = adt('M4') + 'NTE|1||' + 'a'.repeat(1100 * 1024) + '\r';
      const { replies } = await exchange(srv.port, [frame(big)], 1, 10000);
      assert.match(msa(replies[0]), /^MSA\|AR\|M4/);
      assert.match(err3(replies[0]), /^207\^/);
    });
    await t.test('a sender silent inside a frame is cut off', async () => {
      const t0 = Date.now();
      const { replies, closed } = await exchange(srv.port, [Buffer.from(VT + 'MSH|^~\\&|')], 1, 6000);
      assert.ok(closed);
      assert.equal(replies.length, 0);
      assert.ok(Date.now() - t0 < 5000);
    });
    await t.test('a frame trickled a byte at a time is closed at the frame deadline; others are answered meanwhile', async () => {
      const slow = net.connect(srv.port, '127.0.0.1');
      slow.on('error', () => {});
      let closedAt = 0;
      slow.on('close', () => { closedAt = Date.now(); });
      await new Promise((r) => slow.on('connect', r));
      const t0 = Date.now();
      const bytes = frame(adt('S1'));
      let i = 0;
      const timer = setInterval(() => { if (!slow.destroyed && i < bytes.length) slow.write(bytes.subarray(i, ++i)); }, 200);
      try {
        await sleep(1000);
        const t1 = Date.now();
        const { replies } = await exchange(srv.port, [frame('not HL7 either')], 1);
        assert.match(msa(replies[0]), /^MSA\|AR/);
        assert.ok(Date.now() - t1 < 500, 'another connection is answered at once');
        while (!closedAt && Date.now() - t0 < 8000) await sleep(100);
      } finally {
        clearInterval(timer);
        slow.destroy();
      }
      assert.ok(closedAt, 'the trickling sender was closed');
      const after = (closedAt - t0) / 1000;
      assert.ok(after >= 2.5 && after < 5.5, `closed after ${after} s, the deadline is 3 s (idle 1 s never reached)`);
      assert.match(srv.log, /closed \(a frame not finished in time\)/);
    });
    await t.test('a sender that never reads its ACKs is closed', async () => {
      const sock = net.connect(srv.port, '127.0.0.1');
      let closed = false;
      sock.on('error', () => {});
      sock.on('close', () => { closed = true; });
      await new Promise((r) => sock.on('connect', r));
      sock.pause(); // reads nothing: the ACKs pile up in the kernel, then in ed-mllp
      const burst = Buffer.concat(Array.from({ length: 4096 }, () => frame('x')));
      const t0 = Date.now();
      while (!closed && Date.now() - t0 < 15000) {
        if (sock.writableLength < 4 * 1024 * 1024) sock.write(burst);
        await sleep(20);
        if (srv.log.includes('closed (not reading its ACKs)')) break;
      }
      sock.destroy();
      assert.match(srv.log, /closed \(not reading its ACKs\)/);
      const { replies } = await exchange(srv.port, [frame(adt('M8'))], 1);
      assert.equal(msa(replies[0]), 'MSA|AE|M8', 'the listener goes on');
    });
  } finally {
    srv.stop();
  }
  assert.deepEqual(await srv.exited, { code: 0, signal: null }, srv.log.slice(-2000));
  await t.test('a database that hangs holds the worker, not the loop', async () => {
    const pg = await silentServer();
    const hung = await start({
      EDLIVE_PG: `host=127.0.0.1 port=${pg.port} dbname=none user=none connect_timeout=2`,
    });
    try {
      // A connection that leaves with its messages still with the worker: the one being
      // applied is dropped when done, the others are not applied (no ACK was sent).
      const gone = net.connect(hung.port, '127.0.0.1');
      gone.on('error', () => {});
      await new Promise((r) => gone.on('connect', r));
      gone.write(Buffer.concat([frame(adt('G1', 'A04')), frame(adt('G2', 'A04')), frame(adt('G3', 'A04'))]));
      await sleep(200);
      gone.destroy();
      const t0 = Date.now();
      const a04 = exchange(hung.port, [frame(adt('H1', 'A04'))], 1, 15000);
      await sleep(300);
      for (const text of ['garbage 1', 'garbage 2']) {
        const t1 = Date.now();
        const { replies } = await exchange(hung.port, [frame(text)], 1);
        assert.match(msa(replies[0]), /^MSA\|AR/);
        assert.ok(Date.now() - t1 < 500, `AR after ${Date.now() - t1} ms while the worker waits`);
      }
      const { replies } = await a04;
      assert.equal(msa(replies[0]), 'MSA|AE|H1');
      assert.match(err3(replies[0]), /^207\^/);
      assert.ok(Date.now() - t0 >= 1500, 'the A04 waited for the database');
    } finally {
      hung.stop();
      pg.close();
    }
    // A clean stop (under ASan: no leak of what the closed connection left with the worker).
    assert.deepEqual(await hung.exited, { code: 0, signal: null }, hung.log.slice(-2000));
  });
  await t.test('a training or debug message (MSH-11 T, D) is AR 202 unless EDLIVE_MLLP_TRAINING allows T', async () => {
    const training = (id, p) => adt(id, 'A04').replace(`|${id}|P|`, `|${id}|${p}|`);
    const plain = await start({});
    try {
      const { replies } = await exchange(plain.port, [frame(training('T1', 'T')), frame(training('D1', 'D'))], 2);
      assert.equal(msa(replies[0]), 'MSA|AR|T1');
      assert.match(err3(replies[0]), /^202\^/);
      assert.equal(msa(replies[1]), 'MSA|AR|D1');
    } finally {
      plain.stop();
    }
    const allowed = await start({ EDLIVE_MLLP_TRAINING: '1' });
    try {
      const r = await exchange(allowed.port, [frame(training('T2', 'T')), frame(training('D2', 'D'))], 2);
      // Allowed: T goes on to the record (no database here: AE 207); D never does.
      assert.equal(msa(r.replies[0]), 'MSA|AE|T2');
      assert.match(err3(r.replies[0]), /^207\^/);
      assert.equal(msa(r.replies[1]), 'MSA|AR|D2');
    } finally {
      allowed.stop();
    }
  });
  await t.test('a source address not allowed is closed at accept', async () => {
    const other = await start({ EDLIVE_MLLP_ALLOW: '::1' });
    try {
      const { replies, closed } = await exchange(other.port, [frame(adt('M5'))], 1);
      assert.ok(closed);
      assert.equal(replies.length, 0);
    } finally {
      other.stop();
    }
  });
});
