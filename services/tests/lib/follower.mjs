// What the fault tests share (fault_injection.test.mjs, cluster/chaos.test.mjs): board clients
// that follow the protocol and record every violation, and vitals writers that retry with an
// Idempotency-Key until answered and record every acknowledged write.
import { randomUUID, randomInt } from 'node:crypto';
import { RawSocket } from './raw_ws.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const PAGE_RETRY_DELAYS_MS = [300, 1000]; // as web/js/api.js

// A board client on `url` (a hub, or nginx's wss://.../ws): reconnects 100-600 ms after any
// close and resubscribes from its last applied seq. `reached` is its timeline: [ms, seq] each
// time its seq moved, so a test can tell when a given write reached its screen.
export class Follower {
  constructor(name, url, dept, token) {
    Object.assign(this, { name, url, dept, token });
    this.seq = 0;
    this.rows = new Map();
    this.applied = 0;
    this.snapshots = 0;
    this.recoveries = 0;
    this.reconnects = 0;
    this.violations = [];
    this.reached = [];
    this.stopped = false;
  }

  async connect() {
    const sock = new RawSocket(this.url, this.token, (text) => this.onFrame(JSON.parse(text)));
    this.sock = sock;
    sock.closed.then(() => {
      if (this.sock !== sock || this.stopped) return;
      this.reconnects++;
      setTimeout(() => this.connect(), 100 + randomInt(500));
    });
    try {
      await sock.open();
      sock.send({ type: 'subscribe', topic: 'board', department_id: this.dept, since: this.seq });
    } catch {
      sock.cut(); // refused or unreachable (the hub is down): the close handler retries
    }
  }

  advance(seq) {
    this.seq = seq;
    this.reached.push([Date.now(), seq]);
  }

  onFrame(msg) {
    switch (msg.type) {
      case 'snapshot':
        if (msg.seq < this.seq) this.violations.push(`snapshot at ${msg.seq} after applying ${this.seq}`);
        this.rows = new Map(msg.board.encounters.map((r) => [r.encounter_id, r]));
        this.snapshots++;
        this.advance(msg.seq);
        break;
      case 'subscribed':
        if (msg.since !== this.seq) this.violations.push(`recovered from ${msg.since}, had ${this.seq}`);
        this.recoveries++;
        break;
      case 'event':
        if (msg.department_id !== this.dept) {
          this.violations.push(`event of department ${msg.department_id}`);
        } else if (msg.seq <= this.seq) {
          this.violations.push(`duplicate: seq ${msg.seq} at ${this.seq}`);
        } else if (msg.seq !== this.seq + 1) {
          this.violations.push(`gap: seq ${msg.seq} after ${this.seq}`);
          this.sock.cut(); // the protocol's repair: resubscribe from the last applied seq
        } else {
          const row = msg.payload.encounter; // absent for a department event (a bed cleaned)
          if (row && ['departed', 'left_without_being_seen', 'entered_in_error'].includes(row.status)) this.rows.delete(row.encounter_id);
          else if (row) this.rows.set(row.encounter_id, row);
          this.applied++;
          this.advance(msg.seq);
        }
        break;
      case 'error':
        this.violations.push(`hub error ${msg.code}`);
        break;
      default:
        break;
    }
  }

  // When this client first showed `seq` or later (ms), or null.
  reachedAt(seq) {
    let lo = 0;
    let hi = this.reached.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.reached[mid][1] >= seq) hi = mid;
      else lo = mid + 1;
    }
    return lo < this.reached.length ? this.reached[lo][0] : null;
  }

  stop() {
    this.stopped = true;
    this.sock?.cut();
  }
}

function randomVitals(staffId) {
  return {
    taken_by: staffId, heart_rate: 50 + randomInt(90), resp_rate: 10 + randomInt(20), spo2: 88 + randomInt(13),
    systolic_bp: 95 + randomInt(80), diastolic_bp: 50 + randomInt(40), temperature_c: 36 + randomInt(30) / 10,
    on_oxygen: randomInt(4) === 0, consciousness: 'A',
  };
}

// Vitals writers: each write has an Idempotency-Key and is retried every 150 ms until an
// answer; `acked` holds every acknowledged one ({ dept, enc, seq, vitalsId, key, at }).
export class Writers {
  constructor() {
    this.acked = [];
    this.unanswered = 0;
    this.retries = 0;
    this.firstTryFailed = 0; // writes whose first attempt got no answer or a 5xx
    // Writes the pages would show as "Not saved": still failing after the page's own retries
    // (web/js/api.js RETRY_DELAYS_MS: a first attempt and two more, 0.3 s and 1 s apart).
    this.visibleFailures = 0;
    this.refused = [];
    this.writing = true;
    this.nextHeaders = null; // extra headers for the next write only (a fault hook)
  }

  async writeOnce(api, staffId, dept, encounters) {
    const enc = encounters[randomInt(encounters.length)];
    const body = randomVitals(staffId);
    const key = randomUUID();
    const headers = { 'idempotency-key': key, ...(this.nextHeaders || {}) };
    const once = this.nextHeaders ? Object.keys(this.nextHeaders) : [];
    this.nextHeaders = null;
    for (let attempt = 0; ; attempt++) {
      let r = null;
      try {
        r = await api.post(`/encounters/${enc}/vitals`, body, headers);
      } catch {
        this.unanswered++; // no answer (ed-api down or died): the outcome is unknown; retry
      }
      for (const h of once) delete headers[h];
      if (r && r.status === 201) {
        this.acked.push({ dept, enc, seq: r.json.seq, vitalsId: r.json.vitals.id, key, at: Date.now() });
        return;
      }
      if (r && r.status < 500 && r.status !== 429) {
        this.refused.push(`${r.status} ${r.text.slice(0, 200)}`);
        return;
      }
      if (attempt === 0) this.firstTryFailed++;
      if (attempt === PAGE_RETRY_DELAYS_MS.length) this.visibleFailures++;
      if (attempt > 0) this.retries++;
      await sleep(PAGE_RETRY_DELAYS_MS[attempt] ?? 150);
    }
  }

  async run(api, staffId, dept, encounters, everyMs) {
    while (this.writing) {
      const started = Date.now();
      await this.writeOnce(api, staffId, dept, encounters);
      await sleep(Math.max(0, everyMs - (Date.now() - started)));
    }
  }
}
