// SPDX-License-Identifier: MIT
// api.js: the REST calls (/api/v1, same origin). Every call resolves to
// {ok, status, data, error}; error is the contract's {status, code, field, message}, or a
// made-up one when the server could not be reached or did not answer JSON.

const BASE = '/api/v1';
// The waits before the second and third attempt of a repeatable request (see call()).
export const RETRY_DELAYS_MS = [300, 1000];

async function call(method, path, body, { ifMatch = null, idempotencyKey = null } = {}) {
  const init = { method, headers: { Accept: 'application/json' }, cache: 'no-store', credentials: 'same-origin' };
  // If-Match: the encounter version the user saw; a colleague's newer change answers 409
  // version_conflict (with "current") instead of being overwritten.
  if (ifMatch !== null && ifMatch !== undefined) init.headers['If-Match'] = String(ifMatch);
  // Idempotency-Key: a retry of the same form after a lost answer stores nothing twice.
  if (idempotencyKey) init.headers['Idempotency-Key'] = idempotencyKey;
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  // A request that may be sent again unchanged (a GET, or a write with an Idempotency-Key: the
  // server answers a repeat with the first answer and stores nothing twice) is retried when an
  // instance is being restarted or failed over: no answer, or 502/503/504 from the proxy or a
  // database that is switching. Only after these does the page say "Not saved".
  const repeatable = method === 'GET' || Boolean(idempotencyKey);
  let res;
  for (let attempt = 0; ; attempt++) {
    res = null;
    try {
      res = await fetch(`${BASE}${path}`, init);
    } catch {
      res = null;
    }
    const transient = !res || res.status === 502 || res.status === 503 || res.status === 504;
    if (!transient || !repeatable || attempt >= RETRY_DELAYS_MS.length) break;
    await new Promise((resolve) => setTimeout(resolve, RETRY_DELAYS_MS[attempt]));
  }
  if (!res) {
    return {
      ok: false,
      status: 0,
      data: null,
      error: { status: 0, code: 'network', field: null, message: 'the server could not be reached' },
    };
  }
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  // Any answer but 401 means the server saw this session: a REST request is activity.
  if (res.status !== 401) for (const fn of activityHooks) fn(method, path, data);
  // Not signed in, or the session ended: clear the screen and go to sign-in. (A 401 that is
  // about a code, e.g. totp_invalid at break-glass, is an answer for the form, not a sign-out.)
  const code401 = res.status === 401 && data && data.error ? data.error.code : null;
  if (res.status === 401 && !path.startsWith('/session') && (!code401 || code401 === 'unauthenticated')) signedOut();
  if (res.ok && data !== null) return { ok: true, status: res.status, data, error: null };
  const error =
    data && data.error && typeof data.error === 'object'
      ? data.error
      : { status: res.status, code: 'http_error', field: null, message: `the server answered ${res.status} ${res.statusText || ''}`.trim() };
  return { ok: false, status: res.status, data, error };
}

export const apiGet = (path) => call('GET', path);
// opts: {ifMatch: version, idempotencyKey: text}
export const apiPost = (path, body, opts) => call('POST', path, body, opts);
export const apiPut = (path, body, opts) => call('PUT', path, body, opts);

// A 409 version_conflict: the encounter as it is now (the server's "current" board row), or null.
export function conflictCurrent(res) {
  if (!res || res.ok || res.status !== 409 || !res.error || res.error.code !== 'version_conflict') return null;
  return res.data && res.data.current && typeof res.data.current === 'object' ? res.data.current : {};
}

// One key per submitted form, reused when the same form is sent again after a failure.
export function newIdempotencyKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
}
export const apiDelete = (path) => call('DELETE', path);

// Called after every REST answer that was not 401 (the server counted it as activity), with
// (method, path, data): session.js keeps the idle deadline from it.
const activityHooks = [];
export function onActivity(fn) {
  activityHooks.push(fn);
}

// Called when the session is over, before the page is blanked (pages close their live
// connections here so that nothing more arrives).
const signedOutHooks = [];
export function onSignedOut(fn) {
  signedOutHooks.push(fn);
}

// The session is over: remove every patient detail from the page at once, then go to the
// sign-in page, which brings the user back here afterwards. why: 'ended' (idle time-out,
// revoked, disabled) or 'signout' (the user signed out).
export function signedOut(why = 'ended') {
  if (document.documentElement.dataset.signedOut) return;
  document.documentElement.dataset.signedOut = '1';
  for (const fn of signedOutHooks) {
    try {
      fn();
    } catch (e) {
      console.error(e);
    }
  }
  for (const el of document.querySelectorAll('main, .selected, #board, #census, #title, #title-name, #dept-name, #user')) el.replaceChildren();
  document.title = 'Signed out – edlive';
  const next = location.pathname.replace(/^\//, '') + location.search;
  location.replace(`login.html?next=${encodeURIComponent(next)}${why === 'signout' ? '&why=signout' : '&why=ended'}`);
}

export async function signOut() {
  await apiDelete('/session');
  signedOut('signout');
}

// Is the session still valid? 'ok' | 'signed_out' | 'unknown' (server not reachable).
// Note: a REST request counts as activity, so this is only asked when something failed.
export async function sessionState() {
  const res = await apiGet('/session');
  if (res.ok) return 'ok';
  return res.status === 401 ? 'signed_out' : 'unknown';
}
