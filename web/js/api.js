// SPDX-License-Identifier: MIT
// api.js: the REST calls (/api/v1, same origin). Every call resolves to
// {ok, status, data, error}; error is the contract's {status, code, field, message}, or a
// made-up one when the server could not be reached or did not answer JSON.

const BASE = '/api/v1';

async function call(method, path, body) {
  const init = { method, headers: { Accept: 'application/json' }, cache: 'no-store', credentials: 'same-origin' };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(`${BASE}${path}`, init);
  } catch {
    return {
      ok: false,
      status: 0,
      data: null,
      error: { status: 0, code: 'network', field: null, message: 'the server could not be reached' },
    };
  }
  if (res.status === 401 && !path.startsWith('/session')) {
    // Not signed in, or the session ended: clear the screen and go to sign-in.
    signedOut();
  }
  let data = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (res.ok && data !== null) return { ok: true, status: res.status, data, error: null };
  const error =
    data && data.error && typeof data.error === 'object'
      ? data.error
      : { status: res.status, code: 'http_error', field: null, message: `the server answered ${res.status} ${res.statusText || ''}`.trim() };
  return { ok: false, status: res.status, data, error };
}

export const apiGet = (path) => call('GET', path);
export const apiPost = (path, body) => call('POST', path, body);
export const apiDelete = (path) => call('DELETE', path);

// The session is over: remove every patient detail from the page at once, then go to the
// sign-in page, which brings the user back here afterwards.
export function signedOut() {
  if (document.documentElement.dataset.signedOut) return;
  document.documentElement.dataset.signedOut = '1';
  for (const el of document.querySelectorAll('main, .selected, #board, #census, #title')) el.replaceChildren();
  const next = location.pathname.replace(/^\//, '') + location.search;
  location.replace(`login.html?next=${encodeURIComponent(next)}`);
}

export async function signOut() {
  await apiDelete('/session');
  signedOut();
}

// The department to show: ?department=N, else the first one the server lists.
export async function resolveDepartment(requested) {
  const res = await apiGet('/departments');
  if (!res.ok) return { error: res.error, departments: [] };
  const departments = Array.isArray(res.data.departments) ? res.data.departments : [];
  if (requested) {
    const found = departments.find((d) => d.id === requested);
    return found ? { department: found, departments } : { error: { message: `department ${requested} does not exist` }, departments };
  }
  if (!departments.length) return { error: { message: 'no departments are set up' }, departments };
  return { department: departments[0], departments };
}
