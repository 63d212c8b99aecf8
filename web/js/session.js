// SPDX-License-Identifier: MIT
// session.js: who is signed in, what their role may do, and the user box in the top bar.
// Every page starts with startSession(): GET /api/v1/session, or the sign-in page on 401.
// The session itself is the HttpOnly cookie; what we learn about it lives in variables only.
import { apiGet, signOut, signedOut } from './api.js';
import { el, ROLE_LABEL } from './ui.js';

// The contract's permission matrix (proto/README.md), for the UI only: it hides what would be
// a dead button. The server decides.
const CLINICAL = ['physician', 'nurse', 'charge_nurse'];
const MATRIX = {
  'board.read': [...CLINICAL, 'registration', 'display'], // display: masked, on wall.html
  'chart.read': CLINICAL,
  'arrival.create': ['charge_nurse', 'registration'],
  'vitals.create': CLINICAL,
  'note.create': CLINICAL,
  'encounter.triage': CLINICAL,
  'encounter.status': CLINICAL,
  break_glass: CLINICAL,
  'audit.read': ['admin'],
};

export function can(session, action) {
  return Boolean(session && MATRIX[action] && MATRIX[action].includes(session.role));
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

// Resolves to the session ({username, role, staff_id, mfa, departments, idle_timeout_s}).
// Not signed in: blanks the page and goes to sign-in (the promise never resolves).
// Server not reachable: says so in onWait(text) and retries.
export async function startSession({ onWait = () => {} } = {}) {
  for (let attempt = 0; ; attempt++) {
    const res = await apiGet('/session');
    if (res.ok && res.data && typeof res.data.role === 'string') {
      onWait('');
      showUser(res.data);
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
