// SPDX-License-Identifier: MIT
// ed-mllp over TCP (no database): starts the binary on a free port and checks the ACKs of
// garbage, junk between frames, two messages in one write, a huge message, a slow sender and
// a refused source address. Usage: node --test mllp_server.test.mjs (ED_MLLP_BIN: the binary).
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
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`ed-mllp did not start: ${log}`)), 5000);
    const on = (d) => {
      log += d;
      if (log.includes('listening for MLLP')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', on);
    child.stderr.on('data', on);
    child.once('exit', (code) => reject(new Error(`ed-mllp exited ${code}: ${log}`)));
  });
  return { port, child, stop: () => child.kill('SIGTERM') };
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

const msa = (ack) => ack.split('\r').find((l) => l.startsWith('MSA|'));
const err3 = (ack) => ack.split('\r').find((l) => l.startsWith('ERR|'))?.split('|')[3];

test('ed-mllp', { skip: !BIN && 'ED_MLLP_BIN not set' }, async (t) => {
  const srv = await start({ EDLIVE_MLLP_IDLE_S: '1' });
  try {
    await t.test('garbage in a frame gets AR', async () => {
      const { replies } = await exchange(srv.port, [frame('hello, not HL7')], 1);
      assert.match(msa(replies[0]), /^MSA\|AR/);
    });
    await t.test('junk between frames is skipped; two messages in one write answered in order', async () => {
      const data = Buffer.concat([Buffer.from('junk\r\n'), frame(adt('M1')), Buffer.from('xx'), frame(adt('M2'))]);
      const { replies } = await exchange(srv.port, [data], 2);
      assert.equal(replies.length, 2);
      assert.equal(msa(replies[0]), 'MSA|AE|M1');
      assert.equal(msa(replies[1]), 'MSA|AE|M2');
      assert.match(err3(replies[0]), /^200\^/);
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
  } finally {
    srv.stop();
  }
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
