// Memory per idle connection and the connect+subscribe rate of ed-hub (README.md Limits):
// opens N plain sockets (bare TCP, no library: what the client costs stays out of the figure),
// each upgraded with one session's Bearer token and subscribed to one board, then reads the
// hub's RSS. Indicative only: load-tests/ holds the real generator.
//   node services/hub/tests/idle_memory.mjs <ws://host:port/ws> <token> <department> <N> <hub pid>
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';

// department 0: upgrade only, no subscribe.
const [url, token, department, count, pid] = process.argv.slice(2);
if (!pid) {
  console.error('usage: idle_memory.mjs <ws url> <token> <department> <N> <hub pid>');
  process.exit(2);
}
const target = new URL(url);
const rssKiB = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// One masked text frame (clients must mask).
function frame(text) {
  const payload = Buffer.from(text);
  const mask = randomBytes(4);
  const head = payload.length < 126 ? Buffer.from([0x81, 0x80 | payload.length])
    : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 255]);
  const body = Buffer.alloc(payload.length);
  for (let i = 0; i < payload.length; i++) body[i] = payload[i] ^ mask[i & 3];
  return Buffer.concat([head, mask, body]);
}

const subscribe = frame(JSON.stringify({ type: 'subscribe', topic: 'board', department_id: Number(department), since: 0 }));
const sockets = [];

// Resolves when the upgrade is answered 101 and the first frame after it has arrived.
function open() {
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(target.port), target.hostname);
    let upgraded = false;
    let got = 0;
    s.on('connect', () => s.write(`GET ${target.pathname} HTTP/1.1\r\nHost: ${target.host}\r\n` +
      `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n` +
      `Sec-WebSocket-Version: 13\r\nAuthorization: Bearer ${token}\r\n\r\n`));
    s.on('data', (chunk) => {
      got += chunk.length;
      if (!upgraded) {
        const text = chunk.toString('latin1');
        if (!text.startsWith('HTTP/1.1 101')) { reject(new Error(text.split('\r\n')[0])); s.destroy(); return; }
        upgraded = true;
        if (department === '0') { resolve(); return; }
        s.write(subscribe);
        const end = text.indexOf('\r\n\r\n');
        if (end + 4 >= chunk.length) return; // the reply comes in a later chunk
      }
      resolve();
    });
    s.on('error', reject);
    sockets.push(s);
  });
}

const before = rssKiB();
const started = Date.now();
const n = Number(count);
let opened = 0;
const inFlight = 256;
async function worker() {
  while (opened < n) {
    opened++;
    await open();
  }
}
await Promise.all(Array.from({ length: inFlight }, worker));
const connectMs = Date.now() - started;
await sleep(12000); // replies written, buffers settled (the hub trims its heap every 10 s)
const after = rssKiB();
console.log(JSON.stringify({
  connections: n, connect_and_subscribe_ms: connectMs, per_second: Math.round(n / (connectMs / 1000)),
  rss_before_kib: before, rss_after_kib: after, kib_per_connection: +((after - before) / n).toFixed(2),
}));
for (const s of sockets) s.destroy();
