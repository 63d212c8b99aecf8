// What the access, sign-in, break-glass and audit tests share: signed-in users making REST
// requests and opening WebSockets as a program does ("Authorization: Bearer <token>"), the
// database through psql, and edlivectl. Node 20 built-ins only.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { signIn, totpCode, ADMIN_TOTP_SECRET } from './auth.mjs';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Runs SQL through psql on a connection string (EDLIVE_PG, EDLIVE_PG_OWNER, EDLIVE_PG_SUPER)
// and returns its unaligned output; throws (with psql's error) when the statement fails.
// A statement too long for an argument (the long fault run's checks name every acknowledged
// write: E2BIG) goes through stdin instead.
export function sql(conn, text) {
  if (text.length > 64 * 1024) {
    return execFileSync('psql', [conn, '-XAtq', '-v', 'ON_ERROR_STOP=1', '-f', '-'], {
      encoding: 'utf8', input: text, stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024,
    }).trim();
  }
  return execFileSync('psql', [conn, '-XAtq', '-v', 'ON_ERROR_STOP=1', '-c', text], {
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}

// A row as an object: sqlJson(conn, "SELECT row_to_json(x) FROM ... x").
export function sqlJson(conn, text) {
  const out = sql(conn, text);
  return out ? JSON.parse(out) : null;
}

// A text value quoted for SQL.
export const lit = (s) => `'${String(s).replace(/'/g, "''")}'`;

// edlivectl as operators run it: with the owner's connection (EDLIVE_PG_OWNER) unless told.
// Returns { status, stdout, stderr }.
export function ctl(args, { input, conn = process.env.EDLIVE_PG_OWNER } = {}) {
  return spawnSync(`${process.env.EDLIVE_BUILD}/services/ctl/edlivectl`, args, {
    encoding: 'utf8', input, env: { ...process.env, EDLIVE_PG: conn },
  });
}

// The server keeps only SHA-256(token): this is the session row's token_hash, as bytea text.
export const tokenHash = (token) => `'\\x${createHash('sha256').update(token).digest('hex')}'::bytea`;

// Makes one session look idle for two hours (as the superuser), as if its user walked away.
export function expireSession(token) {
  sql(process.env.EDLIVE_PG_SUPER,
    `UPDATE session SET last_active_at = now() - interval '2 hours' WHERE token_hash = ${tokenHash(token)}`);
}

// Each TOTP code signs in once: the code of the earliest 30 s step the server still accepts
// (now - 1 .. now) that is after the account's last used step; waits for the next step when
// both are used. Never a future step, so a test that signs in after this one is not delayed.
export async function freshTotp(secret, username) {
  for (;;) {
    const last = Number(sql(process.env.EDLIVE_PG_OWNER, `SELECT totp_last_step FROM account WHERE username = ${lit(username)}`));
    const nowMs = Date.now();
    const now = Math.floor(nowMs / 30000);
    const nearBoundary = nowMs % 30000 > 27000; // now - 1 would lapse before the server checks
    for (const step of nearBoundary ? [now] : [now - 1, now]) {
      if (step > last) return totpCode(secret, step);
    }
    await sleep(1000);
  }
}

// A REST client of ed-api (EDLIVE_API_URL) with one session, or none (token null).
// req() never throws on an HTTP status: it returns { status, json, text, headers }.
export class Api {
  constructor(token = null, base = process.env.EDLIVE_API_URL) {
    this.token = token;
    this.base = `${base.replace(/\/+$/, '')}/api/v1`;
  }

  async req(method, path, body, headers = {}) {
    const init = { method, headers: { ...(this.token ? { authorization: `Bearer ${this.token}` } : {}), ...headers } };
    if (body !== undefined) {
      init.headers['content-type'] = 'application/json';
      init.body = typeof body === 'string' ? body : JSON.stringify(body);
    }
    const res = await fetch(this.base + path, init);
    const text = await res.text();
    let json = null;
    try { json = JSON.parse(text); } catch { /* the caller looks at text */ }
    return { status: res.status, json, text, headers: res.headers };
  }

  get(path, headers) { return this.req('GET', path, undefined, headers); }
  post(path, body, headers) { return this.req('POST', path, body, headers); }
}

// Signs a demo user in (admin with a fresh code of the demo admin's secret) and returns an
// Api for that session; throws naming the user when the sign-in fails.
export async function signedIn(username, { totpSecret, headers } = {}) {
  const secret = totpSecret || (username === 'admin' ? process.env.EDLIVE_DEMO_ADMIN_TOTP || ADMIN_TOTP_SECRET : null);
  const totp = secret ? await freshTotp(secret, username) : undefined;
  const r = await signIn(process.env.EDLIVE_API_URL, username, { totp, headers });
  if (r.status !== 201) throw new Error(`sign-in of ${username} failed: ${r.status} ${JSON.stringify(r.body)}`);
  const api = new Api(r.token);
  api.username = username;
  return api;
}

// A WebSocket to ed-hub (EDLIVE_HUB_URL) that records every frame. `opened` resolves true
// when the upgrade succeeds and false when it is refused; `closed` resolves with the close code.
export class Socket {
  constructor(token, { origin, url = process.env.EDLIVE_HUB_URL } = {}) {
    const headers = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (origin) headers.origin = origin;
    this.frames = [];
    this.raw = [];
    this.closeCode = null;
    this.ws = new WebSocket(url, { headers });
    let opened = false;
    this.opened = new Promise((resolve) => {
      this.ws.onopen = () => { opened = true; resolve(true); };
      this.ws.onerror = () => { if (!opened) resolve(false); };
    });
    this.closed = new Promise((resolve) => {
      this.ws.onclose = (e) => { this.closeCode = e.code; resolve(e.code); };
    });
    this.ws.onmessage = (m) => {
      this.raw.push(String(m.data));
      this.frames.push(JSON.parse(m.data));
    };
  }

  send(msg) { this.ws.send(JSON.stringify(msg)); }

  subscribe(topic, id, since = 0) {
    this.send(topic === 'board'
      ? { type: 'subscribe', topic, department_id: id, since }
      : { type: 'subscribe', topic, encounter_id: id, since });
  }

  // The first frame (from index `from`) that satisfies pred; throws after ms naming `what`.
  async waitFor(pred, what, ms = 8000, from = 0) {
    const deadline = Date.now() + ms;
    for (;;) {
      const f = this.frames.slice(from).find(pred);
      if (f) return f;
      if (this.closeCode !== null) throw new Error(`socket closed (${this.closeCode}) while waiting for ${what}`);
      if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}; got ${JSON.stringify(this.frames.slice(from)).slice(0, 300)}`);
      await sleep(25);
    }
  }

  close() { try { this.ws.close(); } catch { /* already closed */ } }
}

// Opens a socket with a session and waits for the upgrade; throws when it is refused.
export async function openSocket(token, options) {
  const s = new Socket(token, options);
  if (!(await Promise.race([s.opened, sleep(5000).then(() => false)]))) {
    s.close();
    throw new Error('the hub refused the WebSocket upgrade');
  }
  return s;
}

// True when the upgrade is refused (no open event within 5 s).
export async function upgradeRefused(token, options) {
  const s = new Socket(token, options);
  const opened = await Promise.race([s.opened, s.closed.then(() => false), sleep(5000).then(() => 'timeout')]);
  s.close();
  return opened === false;
}

// The HTTP answer to a WebSocket upgrade, as a client sees it: { status, body } (101 and no
// body when it opens; a refusal's status with its JSON error body).
export function upgradeAnswer(token, { origin, url = process.env.EDLIVE_HUB_URL } = {}) {
  return new Promise((resolve, reject) => {
    const u = new URL(url.replace(/^ws/, 'http'));
    const headers = {
      connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13',
      'sec-websocket-key': randomBytes(16).toString('base64'),
    };
    if (token) headers.authorization = `Bearer ${token}`;
    if (origin) headers.origin = origin;
    const req = (u.protocol === 'https:' ? https : http).request(u, { headers, rejectUnauthorized: false });
    req.setTimeout(5000, () => req.destroy(new Error('no answer to the upgrade within 5 s')));
    req.on('upgrade', (res, socket) => { socket.destroy(); resolve({ status: res.statusCode, body: null }); });
    req.on('response', (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => {
        let body = null;
        try { body = JSON.parse(text); } catch { body = { unparsed: text }; }
        resolve({ status: res.statusCode, body });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

// The first reply to one subscribe on a fresh socket: { frame, raw }.
export async function firstReply(token, topic, id) {
  const s = await openSocket(token);
  try {
    s.subscribe(topic, id);
    const frame = await s.waitFor(() => true, `a reply to subscribe ${topic} ${id}`);
    return { frame, raw: s.raw[0] };
  } finally {
    s.close();
  }
}
