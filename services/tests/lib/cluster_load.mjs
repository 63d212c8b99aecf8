// The load the cluster tests run faults under (cluster/chaos.test.mjs, cluster/rolling_restart
// .test.mjs): vitals writers through nginx (so through every ed-api) in two departments and
// board clients through nginx (spread over every ed-hub), then the checks every fault test
// makes: each client reached its department's top and equals PostgreSQL's board, none applied a
// seq twice, out of order or across a gap, and every acknowledged write is stored exactly once.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { Api, signedIn, sql, sleep } from './client.mjs';
import { Follower, Writers } from './follower.mjs';

const run = promisify(execFile);
const OWNER = () => process.env.EDLIVE_PG_OWNER;

// deploy/local/svc on the cluster, without blocking this process.
export async function svc(...args) {
  const { stdout } = await run(`${process.env.EDLIVE_REPO}/deploy/local/svc`, args, { env: process.env });
  return stdout;
}

// Who takes writes now: { postgres: 'pg'|'pg2', redis: 'host:port' }.
export async function primaries() {
  const out = await svc('primaries');
  return Object.fromEntries(out.trim().split('\n').map((l) => l.split(' ')));
}

export const HUB_PORTS = () => ['EDLIVE_HUB_PORT', 'EDLIVE_HUB2_PORT', 'EDLIVE_HUB3_PORT'].map((v) => Number(process.env[v]));

// Established TCP connections to a local port (the kernel's table: no tool needed).
export function establishedTo(port) {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  let n = 0;
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try { text = readFileSync(f, 'utf8'); } catch { continue; }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[1]?.endsWith(hex) && cols[3] === '01') n++;
    }
  }
  return n;
}

export class ClusterLoad {
  constructor({ clients = 45, writers = 6, everyMs = 100 } = {}) {
    Object.assign(this, { nclients: clients, nwriters: writers, everyMs });
    this.writers = new Writers();
    this.clients = [];
    this.phases = [];
  }

  async start() {
    const own = OWNER();
    this.demo = Number(sql(own, "SELECT id FROM department WHERE code = 'DEMO'"));
    this.peds = Number(sql(own, "SELECT id FROM department WHERE code = 'PEDS'"));
    this.demoReader = await signedIn('adeyemi');
    this.pedsReader = await signedIn('asante');
    const base = process.env.EDLIVE_BASE_URL;
    const patel = new Api((await signedIn('patel')).token, base);
    const duarte = new Api((await signedIn('duarte')).token, base);
    const staff = (u) => Number(sql(own, `SELECT staff_id FROM account WHERE username = '${u}'`));
    const active = (dept) => sql(own, `SELECT id FROM encounter WHERE department_id = ${dept} AND status NOT IN ('departed', 'left_without_being_seen') ORDER BY id`).split('\n').map(Number);
    this.vitalsBefore = Number(sql(own, 'SELECT count(*) FROM vitals'));
    for (let i = 0; i < this.nclients; i++) {
      const peds = i % 3 === 2;
      this.clients.push(new Follower(`c${i}`, process.env.EDLIVE_WS_URL, peds ? this.peds : this.demo,
        peds ? this.pedsReader.token : this.demoReader.token));
    }
    await Promise.all(this.clients.map((c) => c.connect()));
    const ready = Date.now() + 15000;
    while (Date.now() < ready && !this.clients.every((c) => c.snapshots >= 1)) await sleep(100);
    assert.ok(this.clients.every((c) => c.snapshots === 1 && c.reconnects === 0), 'every client starts from one snapshot');
    this.perHub = HUB_PORTS().map(establishedTo);
    console.log(`# sockets per hub (ports ${HUB_PORTS().join(', ')}): ${this.perHub.join(', ')}`);
    assert.ok(this.perHub.every((n) => n > 0), `nginx spread the screens over every hub (${this.perHub.join(', ')})`);
    this.started = Date.now();
    this.loops = [];
    const demoEnc = active(this.demo);
    const pedsEnc = active(this.peds);
    for (let i = 0; i < this.nwriters; i++) {
      const peds = i % 3 === 2;
      this.loops.push(peds ? this.writers.run(duarte, staff('duarte'), this.peds, pedsEnc, this.everyMs)
        : this.writers.run(patel, staff('patel'), this.demo, demoEnc, this.everyMs));
    }
    await sleep(2000);
  }

  // One fault, timed, then a quiet spell (the "not live" window runs until its end).
  async inject(name, fn, pauseMs) {
    await sleep(pauseMs);
    const t0 = Date.now();
    await fn();
    console.log(`# ${name} (${Date.now() - t0} ms); acknowledged so far ${this.writers.acked.length}`);
    this.phases.push({ name, from: t0, to: Date.now() + pauseMs });
  }

  // For the writes acknowledged in [from, to): the longest and the 99th percentile of the time
  // from the acknowledgement to each client's screen showing it.
  notLive(from, to) {
    const delays = [];
    for (const w of this.writers.acked) {
      if (w.at < from || w.at >= to) continue;
      for (const c of this.clients) {
        if (c.dept !== w.dept) continue;
        const shown = c.reachedAt(w.seq);
        delays.push(shown === null ? Infinity : Math.max(0, shown - w.at));
      }
    }
    delays.sort((a, b) => a - b);
    return { writes: delays.length, max: delays.at(-1) ?? 0, p99: delays[Math.floor(delays.length * 0.99)] ?? 0 };
  }

  stop() {
    this.writers.writing = false;
    for (const c of this.clients) c.stop();
  }

  // Stops the writers, waits for every client to catch up, checks everything, prints the figures.
  async finish(pauseMs) {
    await sleep(pauseMs);
    this.writers.writing = false;
    await Promise.all(this.loops);
    const seconds = (Date.now() - this.started) / 1000;
    const own = OWNER();
    const top = (dept) => Number(sql(own, `SELECT last_seq FROM department_seq WHERE department_id = ${dept}`));
    const tops = { [this.demo]: top(this.demo), [this.peds]: top(this.peds) };
    const deadline = Date.now() + 30000;
    while (Date.now() < deadline && !this.clients.every((c) => c.seq === tops[c.dept])) await sleep(200);
    const behind = this.clients.filter((c) => c.seq !== tops[c.dept]).map((c) => `${c.name} at ${c.seq} of ${tops[c.dept]}`);
    assert.deepEqual(behind, [], 'every client reached its department top');

    const boards = {
      [this.demo]: (await this.demoReader.get(`/departments/${this.demo}/board`)).json,
      [this.peds]: (await this.pedsReader.get(`/departments/${this.peds}/board`)).json,
    };
    const canonical = (rows) => rows.map((r) => JSON.stringify(r)).sort();
    for (const c of this.clients) {
      assert.equal(boards[c.dept].seq, c.seq, `${c.name}: the API's board is at the same seq`);
      assert.deepEqual(canonical([...c.rows.values()]), canonical(boards[c.dept].encounters), `${c.name}: board equals PostgreSQL's`);
    }

    const { acked, refused } = this.writers;
    assert.deepEqual(refused, [], 'no write was refused');
    assert.ok(acked.length > 0, 'writes were acknowledged');
    const ids = acked.map((a) => a.vitalsId).join(',');
    assert.equal(Number(sql(own, `SELECT count(DISTINCT id) FROM vitals WHERE id IN (${ids})`)), acked.length, 'every acknowledged vitals set is stored');
    assert.equal(Number(sql(own, 'SELECT count(*) FROM vitals')) - this.vitalsBefore, acked.length, 'and nothing else (a retried write is stored once)');
    const pairs = acked.map((a) => `(${a.dept},${a.seq},${a.enc})`).join(',');
    assert.equal(Number(sql(own, `SELECT count(*) FROM event e JOIN (VALUES ${pairs}) AS a(d, s, enc) ON e.department_id = a.d AND e.seq = a.s AND e.encounter_id = a.enc AND e.type = 'vitals.recorded'`)),
      acked.length, 'each acknowledged write is the event its reply named');

    const violations = this.clients.flatMap((c) => c.violations.map((v) => `${c.name}: ${v}`));
    const count = (word) => violations.filter((v) => v.includes(word)).length;
    const sum = (f) => this.clients.reduce((n, c) => n + f(c), 0);
    this.summary = {
      seconds, acked: acked.length, unanswered: this.writers.unanswered, firstTryFailed: this.writers.firstTryFailed, visibleFailures: this.writers.visibleFailures,
      delivered: sum((c) => c.applied), reconnects: sum((c) => c.reconnects), recovered: sum((c) => c.recoveries),
      resynced: sum((c) => c.snapshots - 1), duplicated: count('duplicate'), gaps: count('gap'),
    };
    const s = this.summary;
    console.log(`# ${s.seconds.toFixed(1)} s: writes acknowledged ${s.acked} (${(s.acked / s.seconds).toFixed(1)}/s), ` +
      `writes whose first attempt failed ${s.firstTryFailed} (attempts unanswered ${s.unanswered}), ` +
      `still failing after the page's retries ${s.visibleFailures}, events delivered ${s.delivered}, ` +
      `clients ${this.clients.length}, reconnects ${s.reconnects}, resumed (recovered) ${s.recovered}, resynced by snapshot ${s.resynced}, ` +
      `lost 0 (every board equals PostgreSQL), duplicated ${s.duplicated}, gaps ${s.gaps}, out of order 0`);
    for (const p of this.phases) {
      p.figures = this.notLive(p.from, p.to);
      console.log(`# not live during "${p.name}": longest ${p.figures.max} ms, p99 ${p.figures.p99} ms over ${p.figures.writes} write deliveries`);
    }
    assert.deepEqual(violations, [], 'no client saw a duplicate, a gap or a step back');
  }
}
