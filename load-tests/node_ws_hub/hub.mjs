// A reference board fan-out hub in plain Node (ws + ioredis), for load-tests/compare_hubs.sh.
// It does what a straightforward Node hub would: one blocking XREAD per department stream,
// every frame forwarded unchanged to that department's board subscribers. It is a baseline to
// compare ed-hub against, not a product: no chart topic, replay (`subscribed`), heartbeats,
// unsubscribe, Origin check, session expiry (4401) or backpressure (ws buffers without limit).
// Liveness is the ws README's 30 s ping sweep (transport PINGs; a client silent for a sweep goes).
// It follows every department a client subscribes to, each with its own XREAD connection.
//   NODE_HUB_PORT (8582), EDLIVE_API_URL (http://127.0.0.1:8481), EDLIVE_REDIS (127.0.0.1:6379),
//   NODE_HUB_PING_MS (30000)
import { WebSocketServer } from 'ws';
import Redis from 'ioredis';

const port = Number(process.env.NODE_HUB_PORT || 8582);
const apiUrl = `${process.env.EDLIVE_API_URL || 'http://127.0.0.1:8481'}/api/v1`;
const [redisHost, redisPort] = (process.env.EDLIVE_REDIS || '127.0.0.1:6379').split(':');
const redis = new Redis({ host: redisHost, port: Number(redisPort) });
const streamKey = (dept) => `edlive:dept:${dept}:events`; // REDIS_STREAM_KEY_FMT
const BACKLOG = 1024; // recent frames per department, to cover a snapshot older than the stream position

// department id -> { subs: Set<ws>, lastSeq, backlog: [[seq, Buffer]], board: {seq, body}, tokens, pending }
const depts = new Map();

async function fetchBoard(dept, token) {
  const r = await fetch(`${apiUrl}/departments/${dept}/board`, { headers: { authorization: `Bearer ${token}` } });
  if (!r.ok) throw Object.assign(new Error(`board: HTTP ${r.status}`), { status: r.status });
  return r.json();
}

// The board at a seq no older than what this department has forwarded, fetched once per seq
// (and once per token, so that each session is checked by ed-api at least once).
async function boardFor(d, dept, token) {
  if (d.board && d.board.seq >= d.lastSeq && d.tokens.has(token)) return d.board;
  const key = `${token}\n${d.lastSeq}`;
  if (!d.pending.has(key)) {
    d.pending.set(key, fetchBoard(dept, token).then((board) => {
      d.tokens.add(token);
      if (!d.board || board.seq >= d.board.seq) d.board = board;
      return board;
    }).finally(() => d.pending.delete(key)));
  }
  return d.pending.get(key);
}

async function follow(dept, d) {
  const reader = redis.duplicate(); // XREAD BLOCK holds its connection
  for (;;) {
    const res = await reader.xread('BLOCK', 0, 'STREAMS', streamKey(dept), `${d.lastSeq}-0`);
    for (const [, entries] of res || []) {
      for (const [, fields] of entries) {
        const f = {};
        for (let i = 0; i < fields.length; i += 2) f[fields[i]] = fields[i + 1];
        const seq = Number(f.seq);
        if (seq <= d.lastSeq) continue;
        d.lastSeq = seq;
        const data = Buffer.from(f.frame); // encode once, send the same bytes to everyone
        d.backlog.push([seq, data]);
        if (d.backlog.length > BACKLOG) d.backlog.shift();
        for (const ws of d.subs) {
          if (seq > ws.seq) { ws.send(data, { binary: false }); ws.seq = seq; }
        }
      }
    }
  }
}

async function subscribe(ws, dept) {
  let d = depts.get(dept);
  if (!d) {
    d = { subs: new Set(), lastSeq: 0, backlog: [], board: null, tokens: new Set(), pending: new Map() };
    depts.set(dept, d);
    d.ready = fetchBoard(dept, ws.token).then((board) => {
      d.board = board; d.lastSeq = board.seq; d.tokens.add(ws.token);
      follow(dept, d).catch((e) => { console.error(`dept ${dept}: ${e.message}`); process.exit(1); });
    });
    d.ready.catch(() => depts.delete(dept));
  }
  await d.ready;
  let board = await boardFor(d, dept, ws.token);
  // Events after board.seq that were already fanned out while the board was in flight.
  while (board.seq < d.lastSeq && !(d.backlog.length && d.backlog[0][0] <= board.seq + 1)) {
    board = await boardFor(d, dept, ws.token);
  }
  ws.seq = board.seq;
  ws.send(JSON.stringify({ type: 'snapshot', topic: 'board', department_id: dept, seq: board.seq, board }));
  for (const [seq, data] of d.backlog) if (seq > ws.seq) { ws.send(data, { binary: false }); ws.seq = seq; }
  d.subs.add(ws);
  ws.once('close', () => d.subs.delete(ws));
}

const wss = new WebSocketServer({ host: '127.0.0.1', port, path: '/ws', maxPayload: 4096 });
wss.on('connection', (ws, req) => {
  const m = /^Bearer (\S+)$/.exec(req.headers.authorization || '');
  if (!m) return ws.close(4401, 'no session');
  ws.token = m[1];
  ws.seq = 0;
  ws.isAlive = true;
  ws.on('pong', () => { ws.isAlive = true; });
  ws.on('error', () => {});
  ws.on('message', (raw) => {
    let msg;
    try { msg = JSON.parse(raw); } catch { return ws.send(JSON.stringify({ type: 'error', code: 'malformed_json', field: null, message: 'not JSON' })); }
    if (msg.type === 'ping') return ws.send('{"type":"pong"}');
    if (msg.type === 'subscribe' && msg.topic === 'board' && Number.isInteger(msg.department_id)) {
      return subscribe(ws, msg.department_id).catch((e) => (e.status === 401 ? ws.close(4401, 'session ended') : ws.send(JSON.stringify({
        type: 'error', code: e.status === 404 ? 'not_found' : e.status === 403 ? 'forbidden' : 'internal',
        field: null, message: e.message,
      }))));
    }
    ws.send(JSON.stringify({ type: 'error', code: 'invalid_value', field: 'type', message: 'this hub only does ping and board subscribe' }));
  });
});
// The ws README's heartbeat, as such a hub ships: every 30 s, a client that has not answered the
// last transport PING is terminated, every other one is sent a new PING.
const PING_SWEEP_MS = Number(process.env.NODE_HUB_PING_MS || 30000);
const sweep = setInterval(() => {
  for (const ws of wss.clients) {
    if (ws.isAlive === false) { ws.terminate(); continue; }
    ws.isAlive = false;
    ws.ping();
  }
}, PING_SWEEP_MS);
wss.on('close', () => clearInterval(sweep));
wss.on('listening', () => console.log(`node ws hub on ws://127.0.0.1:${port}/ws (api ${apiUrl}, redis ${redisHost}:${redisPort})`));
process.on('SIGTERM', () => process.exit(0));
