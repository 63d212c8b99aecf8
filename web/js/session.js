// SPDX-License-Identifier: MIT
// session.js: who is signed in, what their role may do, and the user box in the top bar.
// Every page starts with startSession(): GET /api/v1/session, or the sign-in page on 401.
// The session itself is the HttpOnly cookie; what we learn about it lives in variables only.
import { apiGet, signOut, signedOut, onActivity } from './api.js';
import { el, ROLE_LABEL } from './ui.js';

// What this principal may do: the server's permission matrix, as GET /api/v1/session lists it
// ("allowed", proto/README.md). For the UI only: it hides what would be a dead button. The
// server decides every request again.
export function can(session, action) {
  return Boolean(session && Array.isArray(session.allowed) && session.allowed.includes(action));
}

export function roleLabel(role) {
  return ROLE_LABEL[role] || role;
}

// Why this account sees nothing on a clinical page (null when it may use it).
export function noAccessText(session, action) {
  if (can(session, action)) return null;
  if (!can(session, 'board.read')) return `This account (${roleLabel(session.role)}) reads no charts and no boards: it is for the audit log and accounts.`;
  if (action === 'chart.read') return `Your role (${roleLabel(session.role)}) does not read charts. The tracking board shows who is in the department.`;
  if (action === 'vitals.create') return `Your role (${roleLabel(session.role)}) does not record vitals. The tracking board shows who is in the department.`;
  return `Your role (${roleLabel(session.role)}) may not use this page.`;
}

function delay(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Resolves to the session ({username, role, staff_id, mfa, departments, idle_timeout_s,
// idle_remaining_s, allowed}).
// Not signed in: blanks the page and goes to sign-in (the promise never resolves).
// Server not reachable: says so in onWait(text) and retries.
export async function startSession({ onWait = () => {} } = {}) {
  for (let attempt = 0; ; attempt++) {
    const res = await apiGet('/session');
    if (res.ok && res.data && typeof res.data.role === 'string') {
      onWait('');
      showUser(res.data);
      // A clinician's screen signs out when idle; a public wall stays (ed-hub keeps it).
      if (res.data.role !== 'display') watchIdle(res.data);
      return res.data;
    }
    if (res.status === 401) {
      signedOut('ended');
      return new Promise(() => {});
    }
    onWait(`Cannot check your sign-in: ${res.error ? res.error.message : 'no answer'}. Retrying…`);
    await delay(Math.min(15000, 1000 * 2 ** attempt));
  }
}

// ---- idle time-out (issue 9 item 12) ----
// Only REST requests are activity (WebSocket traffic is not). The page keeps the session's
// idle deadline: GET /session says what is left (idle_remaining_s); any other answer moves it
// to now + idle_timeout_s - 10 s (the server records activity at most every 10 s). A minute
// before it, a warning with "Stay signed in" (a GET /session, which is activity); at it, the
// page blanks every patient detail and goes to sign-in.
// The session is shared by every tab of the browser (one cookie): a clinician working in the
// chart keeps the board in the next tab signed in too. Each tab tells the others (a
// BroadcastChannel, nothing stored) of the deadline its own requests set, and each keeps the
// latest it has heard.
export const IDLE_WARN_S = 60;
const TOUCH_GRAIN_MS = 10_000;
let idleDeadline = Infinity;

function watchIdle(session) {
  const idleMs = Math.max(1, Number(session.idle_timeout_s) || 900) * 1000;
  const tabs = typeof BroadcastChannel === 'function' ? new BroadcastChannel('edlive-idle') : null;
  const share = () => {
    if (tabs && Number.isFinite(idleDeadline)) tabs.postMessage({ deadline: idleDeadline });
  };
  const fromSession = (data) => {
    if (data && Number.isFinite(data.idle_remaining_s)) idleDeadline = Date.now() + data.idle_remaining_s * 1000;
  };
  fromSession(session);
  share();
  onActivity((method, path, data) => {
    if (method === 'GET' && path === '/session') fromSession(data);
    else idleDeadline = Math.max(idleDeadline, Date.now() + idleMs - TOUCH_GRAIN_MS);
    share();
  });
  const tick = () => {
    const left = idleDeadline - Date.now();
    if (left <= 0) {
      clearInterval(timer);
      if (tabs) tabs.close();
      signedOut('ended');
      return;
    }
    showIdleWarning(left <= IDLE_WARN_S * 1000 ? Math.ceil(left / 1000) : null);
  };
  const timer = setInterval(tick, 1000);
  // Another tab's request moved the shared session's deadline.
  if (tabs) {
    tabs.onmessage = (e) => {
      const d = e.data && Number(e.data.deadline);
      if (Number.isFinite(d) && d > idleDeadline) {
        idleDeadline = d;
        tick();
      }
    };
  }
  tick();
}

// The warning bar: seconds left, or null to hide it.
function showIdleWarning(secondsLeft) {
  let bar = document.getElementById('idle-warning');
  if (secondsLeft === null) {
    if (bar) bar.hidden = true;
    return;
  }
  if (!bar) {
    const stay = el('button', { type: 'button', id: 'idle-stay', text: 'Stay signed in' });
    stay.addEventListener('click', async () => {
      stay.disabled = true;
      await apiGet('/session'); // activity: the server moves the deadline, and tells us
      stay.disabled = false;
    });
    bar = el('div', { id: 'idle-warning', className: 'idle-warning', attrs: { role: 'alert' } },
      el('span', { id: 'idle-text' }), stay);
    document.body.prepend(bar);
  }
  bar.querySelector('#idle-text').textContent =
    `No activity: for privacy this screen signs out and clears in ${secondsLeft} s. `;
  bar.hidden = false;
}

// The user box: "dr.lopez · Physician [Sign out]".
export function showUser(session) {
  const box = document.getElementById('user');
  if (box) {
    box.replaceChildren(
      el('span', { className: 'user-name', text: session.username }),
      el('span', { className: 'user-role', text: roleLabel(session.role) }),
    );
    box.hidden = false;
  }
  const button = document.getElementById('sign-out');
  if (button && !button.dataset.wired) {
    button.dataset.wired = '1';
    button.addEventListener('click', async () => {
      button.disabled = true;
      button.textContent = 'Signing out…';
      await signOut();
    });
  }
  if (button) button.hidden = false;
}

// The department to show: ?department=N if it is one of the user's, else their first.
export function pickDepartment(session, requested) {
  const departments = Array.isArray(session.departments) ? session.departments : [];
  if (requested) {
    const found = departments.find((d) => d.id === requested);
    return found
      ? { department: found, departments }
      : { error: { message: `Department ${requested} is not one of your departments (or does not exist).` }, departments };
  }
  if (!departments.length) return { error: { message: 'Your account belongs to no department.' }, departments };
  return { department: departments[0], departments };
}

// A page shown from the back/forward cache must ask the server again.
window.addEventListener('pageshow', (ev) => {
  if (ev.persisted) location.reload();
});
