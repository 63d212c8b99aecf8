// SPDX-License-Identifier: MIT
// login.js: sign in, then back to the page that sent us here (same origin only).
// The session lives in an HttpOnly cookie; nothing is written to browser storage.
import { apiPost } from './api.js';
import { pageIcon } from './topbar.js';

pageIcon();

const form = document.getElementById('login');
const errorEl = document.getElementById('login-error');
const totpRow = document.getElementById('totp-row');

function nextPage() {
  const next = new URLSearchParams(location.search).get('next') || 'board.html';
  // Only a page of ours: no scheme, no host, no protocol-relative path.
  return /^[a-z][a-z0-9_-]*\.html(\?[^#]*)?$/i.test(next) ? next : 'board.html';
}

function showError(message) {
  errorEl.textContent = message;
  errorEl.hidden = false;
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  errorEl.hidden = true;
  const body = {
    username: form.username.value.trim().toLowerCase(),
    password: form.password.value,
  };
  if (!totpRow.hidden && form.totp.value) body.totp = form.totp.value.trim();
  const button = document.getElementById('submit');
  button.disabled = true;
  const res = await apiPost('/session', body);
  button.disabled = false;
  if (res.ok) {
    form.password.value = '';
    // A display account (the public wall) only ever shows the wall page.
    location.replace(res.data && res.data.role === 'display' ? 'wall.html' : nextPage());
    return;
  }
  const code = res.error && res.error.code;
  if (code === 'totp_required' || code === 'totp_invalid') {
    totpRow.hidden = false;
    form.totp.value = '';
    form.totp.focus();
  }
  showError(res.error ? res.error.message : 'sign-in failed');
});

// Why we are here (set by signedOut() in api.js).
const why = new URLSearchParams(location.search).get('why');
const info = document.getElementById('login-info');
if (why === 'signout' || why === 'ended') {
  info.textContent =
    why === 'signout'
      ? 'You have signed out. The screen was cleared.'
      : 'Your session has ended (no activity for a while, or signed out elsewhere). The screen was cleared: sign in again.';
  info.hidden = false;
}

document.getElementById('username').focus();
