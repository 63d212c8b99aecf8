// Fan-out benchmark: N WebSocket clients follow one department's board through the real
// stack while a writer records vitals at R writes/s for T seconds. Reports delivery latency
// (from just before the POST to each client's receipt) and proves nothing was lost or
// repeated. Usage (against a running deploy/local/up):
//   node --experimental-websocket load-tests/ws_fanout.mjs [clients=200] [rate=20] [seconds=10]
// Settings: EDLIVE_API_URL (default http://127.0.0.1:8481), EDLIVE_HUB_URL (ws://127.0.0.1:8482/ws),
// EDLIVE_DEMO_PASSWORD; it signs in as the demo charge nurse (`. .state/local/env` sets these).
const [clients = 200, rate = 20, seconds = 10] = process.argv.slice(2).map(Number);
const apiUrl = `${process.env.EDLIVE_API_URL || 'http://127.0.0.1:8481'}/api/v1`;
const wsUrl = process.env.EDLIVE_HUB_URL || 'ws://127.0.0.1:8482/ws';
const signin = await fetch(`${apiUrl}/session`, {
  method: 'POST', headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ username: 'adeyemi', password: process.env.EDLIVE_DEMO_PASSWORD || 'edlive-demo' }),
});
const { token } = await signin.json();
const auth = { authorization: `Bearer ${token}` };

const { departments } = await (await fetch(`${apiUrl}/departments`, { headers: auth })).json();
const dept = departments[0].id;
const board = await (await fetch(`${apiUrl}/departments/${dept}/board`, { headers: auth })).json();
const nurse = board.staff.find((s) => s.role === 'nurse');
const encounters = board.encounters.map((e) => e.encounter_id);

const sentAt = new Map(); // seq -> ms before the POST
const latencies = [];
let lost = 0, duplicated = 0, outOfOrder = 0, delivered = 0;

function connect() {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl, { headers: auth });
    const state = { ws, seq: 0, got: [] };
    ws.onopen = () => ws.send(JSON.stringify({ type: 'subscribe', topic: 'board', department_id: dept, since: 0 }));
    ws.onerror = reject;
    ws.onmessage = (m) => {
      const msg = JSON.parse(m.data);
      if (msg.type === 'snapshot') { state.seq = msg.seq; resolve(state); return; }
      if (msg.type !== 'event') return;
      const now = performance.now();
      if (msg.seq <= state.seq) duplicated++;
      else if (msg.seq !== state.seq + 1) outOfOrder++;
      state.seq = Math.max(state.seq, msg.seq);
      state.got.push([msg.seq, now]);
      delivered++;
    };
  });
}

const conns = [];
for (let i = 0; i < clients; i += 50) {
  conns.push(...(await Promise.all(Array.from({ length: Math.min(50, clients - i) }, connect))));
}
const startSeq = Math.max(...conns.map((c) => c.seq));
console.log(`${clients} clients subscribed at seq ${startSeq}; writing ${rate}/s for ${seconds} s`);

const seqs = [];
const pendingSends = [];
const interval = 1000 / rate;
const start = performance.now();
for (let i = 0; i < rate * seconds; i++) {
  const due = start + i * interval;
  const wait = due - performance.now();
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  const t0 = performance.now();
  const enc = encounters[i % encounters.length];
  pendingSends.push(fetch(`${apiUrl}/encounters/${enc}/vitals`, {
    method: 'POST', headers: { 'content-type': 'application/json', ...auth },
    body: JSON.stringify({ taken_by: nurse.id, heart_rate: 60 + (i % 60) }),
  }).then((r) => r.json()).then((b) => {
    // An event can arrive before the POST's reply; count it from t0 either way.
    sentAt.set(b.seq, t0);
    seqs.push(b.seq);
  }));
}
await Promise.all(pendingSends);
const lastSeq = Math.max(...seqs);
const deadline = performance.now() + 10000;
while (conns.some((c) => c.seq < lastSeq) && performance.now() < deadline) await new Promise((r) => setTimeout(r, 50));
for (const c of conns) {
  const mine = new Set(c.got.map(([s]) => s));
  for (const s of seqs) if (!mine.has(s)) lost++;
  for (const [s, at] of c.got) if (sentAt.has(s)) latencies.push(at - sentAt.get(s));
  c.ws.close();
}
latencies.sort((a, b) => a - b);
const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]?.toFixed(1);
console.log(JSON.stringify({
  clients, writes: seqs.length, deliveries: delivered, expected: seqs.length * clients,
  lost, duplicated, out_of_order: outOfOrder,
  latency_ms: { p50: pct(50), p95: pct(95), p99: pct(99), max: latencies.at(-1)?.toFixed(1), samples: latencies.length },
}, null, 1));
process.exit(lost || duplicated || outOfOrder ? 1 : 0);
