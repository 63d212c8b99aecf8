// Signing in and out, as users and attackers meet it (proto/README.md "Signing in, sessions
// and permissions"): wrong passwords, lock-out with back-off per account and per address, the
// admin's second factor and its replay, the idle time-out and sign-out on REST and on an open
// WebSocket, the session cookie, and requests or sockets from another site.
//
// Failed sign-ins are sent with a made-up X-Real-IP (ed-api believes it only from 127.0.0.1),
// one address per test, so that they never slow down the other tests' sign-ins from 127.0.0.1;
// the lock-out is tried on an account made here with `edlivectl user add`.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { requireEnv } from './lib/env.mjs';
import { signIn, ADMIN_TOTP_SECRET } from './lib/auth.mjs';
import { Api, signedIn, sql, lit, ctl, expireSession, freshTotp, openSocket, upgradeRefused, upgradeAnswer, sleep } from './lib/client.mjs';

const env = requireEnv('EDLIVE_API_URL', 'EDLIVE_HUB_URL', 'EDLIVE_PG', 'EDLIVE_PG_OWNER', 'EDLIVE_PG_SUPER', 'EDLIVE_BUILD', 'EDLIVE_ALLOWED_ORIGINS');
const API = env.EDLIVE_API_URL;
const OWNER = env.EDLIVE_PG_OWNER;
const ADMIN_SECRET = process.env.EDLIVE_DEMO_ADMIN_TOTP || ADMIN_TOTP_SECRET;
const PASSWORD = 'correct horse battery staple';

const run = Date.now() % 100000;
let nextAddress = 1;
// A source address no other test (or run) uses: 10.<run>.<n>.7 as X-Real-IP.
const freshAddress = () => ({ 'x-real-ip': `10.${run % 250}.${nextAddress++}.${(run >> 8) % 250}` });

// An account of our own (a nurse without staff record), made as an operator would.
function makeAccount(name) {
  const r = ctl(['user', 'add', name, 'nurse'], { input: `${PASSWORD}\n` });
  assert.equal(r.status, 0, `edlivectl user add ${name}: ${r.stdout} ${r.stderr}`);
  return name;
}

const ctx = {};
before(async () => {
  ctx.demo = Number(sql(OWNER, "SELECT id FROM department WHERE code = 'DEMO'"));
  ctx.charge = await signedIn('adeyemi');
  const board = (await ctx.charge.get(`/departments/${ctx.demo}/board`)).json;
  ctx.enc = board.encounters[0].encounter_id;
  ctx.nurseId = (await ctx.charge.get('/session')).json.staff_id;
});

// A vitals set entered by the charge nurse; returns its department seq.
async function writeVitals(heartRate) {
  const r = await ctx.charge.post(`/encounters/${ctx.enc}/vitals`, { taken_by: ctx.nurseId, heart_rate: heartRate });
  assert.equal(r.status, 201, r.text);
  return r.json.seq;
}

test('a wrong password or an unknown user gets the same 401 wrong_credentials', async () => {
  const name = makeAccount(`signin.wrong${run}`);
  const addr = freshAddress();
  const wrong = await signIn(API, name, { password: 'not the password', headers: addr });
  const unknown = await signIn(API, `nobody.${run}`, { password: 'not the password', headers: addr });
  assert.equal(wrong.status, 401);
  assert.equal(wrong.body.error.code, 'wrong_credentials');
  assert.deepEqual(unknown.body, wrong.body, 'an unknown username is not told apart');
  assert.equal(wrong.token, undefined);
  assert.equal(wrong.headers.get('set-cookie'), null, 'no cookie for a failed sign-in');
  assert.equal((await signIn(API, name, { password: PASSWORD })).status, 201, 'the right password works');
});

test('after 5 failures the account waits (429 + Retry-After) even with the right password; the wait doubles', async () => {
  const name = makeAccount(`signin.lock${run}`);
  const addr = freshAddress();
  for (let i = 1; i <= 5; i++) {
    const r = await signIn(API, name, { password: `wrong ${i}`, headers: addr });
    assert.equal(r.status, 401, `failure ${i}`);
  }
  const locked = await signIn(API, name, { password: PASSWORD, headers: addr });
  assert.equal(locked.status, 429, `the right password after 5 failures: ${JSON.stringify(locked.body)}`);
  assert.equal(locked.body.error.code, 'too_many_attempts');
  assert.equal(locked.token, undefined, 'no session while locked');
  const first = Number(locked.headers.get('retry-after'));
  assert.ok(first >= 1 && first <= 30, `Retry-After ${first} s: the first lock lasts 30 s`);
  const elsewhere = await signIn(API, name, { password: PASSWORD, headers: freshAddress() });
  assert.equal(elsewhere.status, 429, 'the lock is on the account, from any address');

  // The lock runs out (made so here, not waited for) and the next failure locks for twice as long.
  sql(OWNER, `UPDATE account SET locked_until = now() WHERE username = ${lit(name)}`);
  assert.equal((await signIn(API, name, { password: 'wrong 6', headers: addr })).status, 401);
  const longer = await signIn(API, name, { password: PASSWORD, headers: addr });
  assert.equal(longer.status, 429);
  const second = Number(longer.headers.get('retry-after'));
  assert.ok(second > 30 && second <= 60, `Retry-After ${second} s: the second lock lasts 60 s`);

  // An operator clears the lock: the right password works and resets the count.
  sql(OWNER, `UPDATE account SET failed_count = 0, locked_until = NULL WHERE username = ${lit(name)}`);
  assert.equal((await signIn(API, name, { password: PASSWORD, headers: addr })).status, 201);
});

test('after 20 failures from one address, sign-ins from it wait, for every account; other addresses do not', async () => {
  const addr = freshAddress();
  for (let i = 1; i <= 20; i++) {
    const r = await signIn(API, `nobody${i}.${run}`, { password: 'guess', headers: addr });
    assert.equal(r.status, 401, `failure ${i} from one address`);
  }
  const blocked = await signIn(API, 'eriksen', { headers: addr });
  assert.equal(blocked.status, 429, 'a demo user with the right password, from that address');
  assert.equal(blocked.body.error.code, 'too_many_attempts');
  assert.ok(Number(blocked.headers.get('retry-after')) >= 1);
  assert.equal((await signIn(API, 'eriksen', { headers: freshAddress() })).status, 201, 'from another address');
  assert.equal(sql(OWNER, "SELECT failed_count FROM account WHERE username = 'eriksen'"), '0', 'no account was charged');
});

test("the admin's second factor: required, checked, and each code signs in once", async () => {
  const addr = freshAddress();
  const none = await signIn(API, 'admin', { headers: addr });
  assert.equal(none.status, 401);
  assert.deepEqual([none.body.error.code, none.body.error.field], ['totp_required', 'totp']);
  const code = await freshTotp(ADMIN_SECRET, 'admin');
  const wrongCode = String((Number(code) + 1) % 1000000).padStart(6, '0');
  const wrong = await signIn(API, 'admin', { totp: wrongCode, headers: addr });
  assert.equal(wrong.status, 401);
  assert.equal(wrong.body.error.code, 'totp_invalid');
  const ok = await signIn(API, 'admin', { totp: code, headers: addr });
  assert.equal(ok.status, 201, JSON.stringify(ok.body));
  assert.equal(ok.body.role, 'admin');
  assert.equal((await new Api(ok.token).get('/session')).json.mfa, true, 'the session records the second factor');
  const replay = await signIn(API, 'admin', { totp: code, headers: addr });
  assert.equal(replay.status, 401, 'the same code a second time');
  assert.equal(replay.body.error.code, 'totp_invalid');
});

test('the session cookie is exactly __Host-edlive_session=<token>; Path=/; HttpOnly; Secure; SameSite=Strict', async () => {
  const r = await signIn(API, 'eriksen');
  assert.equal(r.status, 201);
  assert.match(r.token, /^[A-Za-z0-9_-]{43}$/, '256 random bits, base64url');
  assert.equal(r.headers.get('set-cookie'), `__Host-edlive_session=${r.token}; Path=/; HttpOnly; Secure; SameSite=Strict`);
  assert.deepEqual(Object.keys(r.body).sort(), ['idle_timeout_s', 'max_lifetime_s', 'role', 'token', 'username']);
  assert.equal(r.body.idle_timeout_s, 900);
  assert.equal(r.body.max_lifetime_s, 43200);
});

test('idle time-out on REST: a session unused past the limit gets 401', async () => {
  const kim = await signedIn('kim');
  assert.equal((await kim.get(`/encounters/${ctx.enc}`)).status, 200);
  expireSession(kim.token);
  const r = await kim.get(`/encounters/${ctx.enc}`);
  assert.equal(r.status, 401, r.text);
  assert.equal(r.json.error.code, 'unauthenticated');
  assert.equal((await kim.get('/session')).status, 401);
});

// Opens a board socket for a fresh session of `user` and a watcher socket of the charge nurse;
// ends the session with `end`, writes vitals meanwhile, and checks the socket is closed with
// 4401 within 7 s without having been sent that write (which the watcher does receive).
async function sessionEndsOnSocket(user, end) {
  const who = await signedIn(user);
  const socket = await openSocket(who.token);
  const watcher = await openSocket(ctx.charge.token);
  try {
    socket.subscribe('board', ctx.demo);
    watcher.subscribe('board', ctx.demo);
    await socket.waitFor((f) => f.type === 'snapshot', `${user}'s board`);
    await watcher.waitFor((f) => f.type === 'snapshot', "the charge nurse's board");
    const framesBefore = socket.frames.length;
    const endedAt = Date.now();
    await end(who);
    const seq = await writeVitals(100 + (endedAt % 50));
    await watcher.waitFor((f) => f.type === 'event' && f.seq === seq, 'the write on a live board');
    const code = await Promise.race([socket.closed, sleep(7000).then(() => 'still open after 7 s')]);
    assert.equal(code, 4401, 'the socket of the ended session is closed with 4401');
    assert.ok(Date.now() - endedAt <= 7500);
    const after = socket.frames.slice(framesBefore);
    assert.deepEqual(after.filter((f) => f.type === 'event' || f.type === 'snapshot').map((f) => f.seq), [],
      'no patient data reaches the socket after its session ended');
    const count = socket.frames.length;
    await writeVitals(77);
    await sleep(500);
    assert.equal(socket.frames.length, count, 'and nothing at all after the close');
    assert.equal((await who.get('/session')).status, 401, 'REST refuses the session too');
  } finally {
    socket.close();
    watcher.close();
  }
}

test('idle time-out on a WebSocket: closed with 4401, and a change made meanwhile is not sent to it', async () => {
  await sessionEndsOnSocket('dr.bello', (who) => expireSession(who.token));
});

test('a socket whose session ended is given no snapshot for a new subscribe, only the close', async () => {
  const who = await signedIn('dr.chen');
  const socket = await openSocket(who.token);
  try {
    expireSession(who.token);
    socket.subscribe('board', ctx.demo);
    const code = await Promise.race([socket.closed, sleep(7000).then(() => 'still open after 7 s')]);
    assert.equal(code, 4401);
    assert.deepEqual(socket.frames, [], 'no board was sent on the ended session');
  } finally {
    socket.close();
  }
});

test('sign-out revokes the session: REST 401, its open socket closed with 4401, the cookie cleared', async () => {
  await sessionEndsOnSocket('eriksen', async (who) => {
    const r = await who.req('DELETE', '/session');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { signed_out: true });
    assert.match(r.headers.get('set-cookie'), /^__Host-edlive_session=; Path=\/; HttpOnly; Secure; SameSite=Strict; Max-Age=0$/);
  });
});

test('a cookie-carried write from another site gets 403 origin_not_allowed; from our own page it works', async () => {
  const { token } = await signIn(API, 'patel');
  const staffId = (await new Api(token).get('/session')).json.staff_id;
  const cookieOnly = new Api(null);
  const cookie = { cookie: `__Host-edlive_session=${token}` };
  const notes = () => sql(OWNER, `SELECT count(*) FROM note WHERE encounter_id = ${ctx.enc}`);
  const before = notes();
  const evil = await cookieOnly.post(`/encounters/${ctx.enc}/notes`, { author_id: staffId, text: 'Forged from another site.' },
    { ...cookie, origin: 'https://evil.example' });
  assert.equal(evil.status, 403, evil.text);
  assert.equal(evil.json.error.code, 'origin_not_allowed');
  assert.equal(notes(), before, 'nothing was written');
  const evilSignIn = await signIn(API, 'patel', { headers: { origin: 'https://evil.example' } });
  assert.equal(evilSignIn.status, 403, 'no sign-in from another site either');
  assert.equal(evilSignIn.body.error.code, 'origin_not_allowed');

  const ours = env.EDLIVE_ALLOWED_ORIGINS.split(',')[0];
  const good = await cookieOnly.post(`/encounters/${ctx.enc}/notes`, { author_id: staffId, text: 'Written from our own page.' },
    { ...cookie, origin: ours });
  assert.equal(good.status, 201, good.text);
});

test('a WebSocket upgrade from another site (or Origin null) is refused; from our own page it opens', async () => {
  const { token } = await signIn(API, 'patel');
  assert.ok(await upgradeRefused(token, { origin: 'https://evil.example' }), 'Origin https://evil.example');
  assert.ok(await upgradeRefused(token, { origin: 'null' }), 'Origin null');
  const answer = await upgradeAnswer(token, { origin: 'https://evil.example' });
  assert.equal(answer.status, 403, `another site's upgrade: ${JSON.stringify(answer.body)}`);
  assert.equal(answer.body.error.code, 'origin_not_allowed');
  const ours = await openSocket(token, { origin: env.EDLIVE_ALLOWED_ORIGINS.split(',')[0] });
  ours.send({ type: 'ping' });
  assert.equal((await ours.waitFor(() => true, 'pong')).type, 'pong');
  ours.close();
});
