// A test client of ed-hub that applies the protocol exactly as proto/README.md states it:
// snapshot or recovered, then events in seq order, each once. It records every seq it
// applied, so a test can prove no event was lost, repeated or reordered.
let defaultToken = null;
// The session every helper here uses unless given another.
export function useToken(token) {
  defaultToken = token;
}

export class LiveBoard {
  constructor(wsUrl, departmentId, token = defaultToken) {
    this.wsUrl = wsUrl;
    this.token = token;
    this.departmentId = departmentId;
    this.seq = 0;
    this.rows = new Map(); // encounter_id -> board row
    this.beds = new Map(); // bed id -> bed (status free | occupied | cleaning)
    this.applied = [];     // every event seq applied, in order
    this.snapshots = 0;
    this.recoveries = 0;
    this.errors = [];
    this.waiters = [];
  }

  connect() {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.wsUrl, { headers: this.token ? { authorization: `Bearer ${this.token}` } : {} });
      this.ws = ws;
      ws.onopen = () => {
        ws.send(JSON.stringify({ type: 'subscribe', topic: 'board', department_id: this.departmentId, since: this.seq }));
      };
      ws.onerror = (e) => reject(new Error(`websocket error: ${e.message || e.type}`));
      ws.onmessage = (m) => {
        this.onMessage(JSON.parse(m.data));
        if (this.ready) resolve();
      };
      ws.onclose = () => { this.ready = false; };
    });
  }

  close() {
    this.ws?.close();
  }

  onMessage(msg) {
    switch (msg.type) {
      case 'snapshot':
        this.rows = new Map(msg.board.encounters.map((r) => [r.encounter_id, r]));
        this.beds = new Map((msg.board.beds || []).map((b) => [b.id, b]));
        this.seq = msg.seq;
        this.snapshots++;
        this.ready = true;
        break;
      case 'subscribed':
        if (msg.since !== this.seq) throw new Error(`recovered from ${msg.since}, expected ${this.seq}`);
        this.recoveries++;
        this.ready = true;
        break;
      case 'event':
        if (msg.seq <= this.seq) throw new Error(`event ${msg.seq} repeated (at ${this.seq})`);
        if (msg.seq !== this.seq + 1) throw new Error(`gap: event ${msg.seq} after ${this.seq}`);
        this.apply(msg);
        break;
      case 'error':
        this.errors.push(msg);
        break;
      default:
        break;
    }
    this.waiters = this.waiters.filter((w) => !w());
  }

  apply(ev) {
    const row = ev.payload.encounter; // absent for a department event (a bed cleaned)
    if (row && ['departed', 'left_without_being_seen', 'entered_in_error'].includes(row.status)) this.rows.delete(row.encounter_id);
    else if (row) this.rows.set(row.encounter_id, row);
    for (const bed of ev.payload.beds || []) this.beds.set(bed.id, bed); // beds whose state changed
    this.seq = ev.seq;
    this.applied.push(ev.seq);
  }

  // Resolves when predicate() holds, or rejects after ms.
  waitFor(predicate, ms = 5000, what = 'condition') {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what} (seq ${this.seq})`)), ms);
      this.waiters.push(() => {
        if (!predicate()) return false;
        clearTimeout(timer);
        resolve();
        return true;
      });
    });
  }

  // The board as sorted rows, for comparing with the API's.
  sortedRows() {
    return [...this.rows.values()].sort((a, b) => a.encounter_id - b.encounter_id);
  }
}

export async function getJson(url, token = defaultToken) {
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
  return res.json();
}

export async function postJson(url, body, headers = {}, token = defaultToken) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

// Rows compared as the board shows them; age_years depends on the day, not the record.
export function comparable(rows) {
  return rows.map((r) => JSON.stringify(r)).sort();
}
