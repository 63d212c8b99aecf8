// The REST transport: a department of the replay's own, its staff and accounts, and each
// replay step as the REST call the contract (proto/README.md) gives it, signed in as the role
// the permission matrix allows:
//   arrival                     -> the service account (arrival.create)
//   triage, vitals              -> the nurse (encounter.triage, vitals.create)
//   disposition, departure      -> the charge nurse (encounter.disposition)
//   reading metrics, board, charts -> the charge nurse
// A transport answers each step with { status, json } (the HTTP reply); an HL7 transport
// (next session, ed-mllp) answers the ADT steps (arrival A04, triage A08, admit A06,
// departure A03) with its ACK mapped to the same shape, and leaves vitals and the reads to
// this one (see README.md "Transports").
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const lit = (s) => `'${String(s).replace(/'/g, "''")}'`;

function sql(conn, text) {
  return execFileSync('psql', [conn, '-XAtq', '-v', 'ON_ERROR_STOP=1', '-c', text],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

export class RestTransport {
  constructor({ apiUrl = process.env.EDLIVE_API_URL, pgOwner = process.env.EDLIVE_PG_OWNER,
                build = process.env.EDLIVE_BUILD } = {}) {
    for (const [k, v] of Object.entries({ EDLIVE_API_URL: apiUrl, EDLIVE_PG_OWNER: pgOwner, EDLIVE_BUILD: build })) {
      if (!v) throw new Error(`${k} is not set: run ". .state/local/env" (or .state/test/env) first`);
    }
    this.base = `${apiUrl.replace(/\/+$/, '')}/api/v1`;
    this.pgOwner = pgOwner;
    this.ctl = `${build}/services/ctl/edlivectl`;
    this.users = {};
    this.requests = 0;
  }

  // A department of its own (so the metrics are the replay's alone), UTC, NEWS2 for everyone,
  // three staff and their accounts (random passwords, kept in memory only).
  async setup({ code, name }) {
    const o = this.pgOwner;
    this.department = Number(sql(o, `INSERT INTO department (code, name, timezone) VALUES (${lit(code)}, ${lit(name)}, 'UTC') RETURNING id`));
    const staff = {
      service: ['MIMIC replay interface', 'registration'],
      nurse: ['Replay Nurse, RN', 'nurse'],
      charge: ['Replay Charge Nurse, RN', 'charge_nurse'],
    };
    const roles = { service: 'service', nurse: 'nurse', charge: 'charge_nurse' };
    for (const [who, [display, staffRole]] of Object.entries(staff)) {
      const id = Number(sql(o, `WITH s AS (INSERT INTO staff (display_name, role) VALUES (${lit(display)}, ${lit(staffRole)}) RETURNING id) INSERT INTO staff_department (staff_id, department_id) SELECT id, ${this.department} FROM s RETURNING staff_id`));
      const username = `replay.${code.toLowerCase()}.${who}`;
      const password = randomBytes(18).toString('hex');
      const r = spawnSync(this.ctl, ['user', 'add', username, roles[who], String(id)],
        { encoding: 'utf8', input: `${password}\n`, env: { ...process.env, EDLIVE_PG: o } });
      if (r.status !== 0) throw new Error(`edlivectl user add ${username}: ${r.stderr || r.stdout}`);
      this.users[who] = { username, password, staffId: id, token: null };
    }
    const r = spawnSync(this.ctl, ['department', 'set', String(this.department), 'early_warning', 'news2'],
      { encoding: 'utf8', env: { ...process.env, EDLIVE_PG: o } });
    if (r.status !== 0) throw new Error(`edlivectl department set: ${r.stderr || r.stdout}`);
    for (const who of Object.keys(this.users)) await this.signIn(who);
    return { departmentId: this.department, nurseStaffId: this.users.nurse.staffId };
  }

  async signIn(who) {
    const u = this.users[who];
    const res = await fetch(`${this.base}/session`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: u.username, password: u.password }),
    });
    const json = await res.json().catch(() => null);
    if (res.status !== 201) throw new Error(`sign-in of ${u.username}: ${res.status} ${JSON.stringify(json)}`);
    u.token = json.token;
  }

  // One request as `who`; a session that idled out (a slow replay) signs in again once.
  async req(who, method, path, body) {
    for (let attempt = 0; ; attempt++) {
      const headers = { authorization: `Bearer ${this.users[who].token}` };
      const init = { method, headers };
      if (body !== undefined) {
        headers['content-type'] = 'application/json';
        init.body = JSON.stringify(body);
      }
      this.requests++;
      const res = await fetch(this.base + path, init);
      const text = await res.text();
      let json = null;
      try { json = JSON.parse(text); } catch { /* kept as text */ }
      if (res.status === 401 && attempt === 0) { await this.signIn(who); continue; }
      return { status: res.status, json, text };
    }
  }

  arrival(stay) {
    return this.req('service', 'POST', `/departments/${this.department}/arrivals`, {
      patient: stay.patient, arrival_mode: stay.arrival_mode, chief_complaint: stay.chief_complaint,
      arrived_at: iso(stay.arrive),
    });
  }

  triage(stay, enc, step) {
    return this.req('nurse', 'POST', `/encounters/${enc}/triage`, { esi: stay.esi, at: iso(step.at) });
  }

  vitals(stay, enc, step, meas) {
    return this.req('nurse', 'POST', `/encounters/${enc}/vitals`,
      { taken_by: this.users.nurse.staffId, taken_at: iso(step.at), ...meas });
  }

  disposition(stay, enc, step) {
    return this.req('charge', 'POST', `/encounters/${enc}/disposition`, { kind: stay.disposition, decided_at: iso(step.at) });
  }

  departure(stay, enc, step) {
    return this.req('charge', 'POST', `/encounters/${enc}/departure`, { departed_at: iso(step.at) });
  }

  // Reads for the comparison.
  metrics(query) { return this.req('charge', 'GET', `/departments/${this.department}/metrics?${query}`); }
  board() { return this.req('charge', 'GET', `/departments/${this.department}/board`); }
  chart(enc) { return this.req('charge', 'GET', `/encounters/${enc}`); }
}
