// SPDX-License-Identifier: MIT
// page.js: what every live page (board, census, bedside, chart, wall) does the same way: the
// message line, and following one topic over /ws with the status banner (topbar.js draws the
// bar), sign-out and window.edlive (the browser tests read it).
import { connectLive, renderBanner } from './live.js';
import { signedOut, sessionState, onSignedOut } from './api.js';
import { fitHeader } from './topbar.js';

// The page's #message line: empty hides it; info shows it as information, not an error.
export function showMessage(text, { info = false } = {}) {
  const box = document.getElementById('message');
  box.textContent = text;
  box.hidden = !text;
  box.classList.toggle('info', info);
}

// connectLive for a page: the banner (#banner) follows the status, a session that ends sends
// the page to sign-in, and signing out here closes the socket. onStatus, if given, runs after
// the banner is drawn. Returns the live subscription (also window.edlive.live).
export function followLive({ topic, id, onSnapshot, onEvent, onError, onStatus = null }) {
  const banner = document.getElementById('banner');
  const live = connectLive({
    topic,
    id,
    onSnapshot,
    onEvent,
    onStatus: (s) => {
      renderBanner(banner, s);
      fitHeader();
      if (onStatus) onStatus(s);
    },
    onError,
    onSignedOut: () => signedOut('ended'),
    checkSession: sessionState,
  });
  onSignedOut(() => live.close());
  window.edlive = { live };
  return live;
}

// What a board page says when the hub refuses the board of departmentId.
function boardRefusal(err, departmentId) {
  if (err.code === 'not_found') return `Department ${departmentId} is not one of your departments (or does not exist).`;
  if (err.code === 'forbidden') return 'Your role may not read this board.';
  return `The server refused the board: ${err.message || err.code}.`;
}

// followLive for the board of departmentId (board, census, bedside, wall): when the hub refuses
// it, onRefused clears what the page showed and the message line says why.
export function followBoard(departmentId, { onSnapshot, onEvent, onStatus = null, onRefused }) {
  return followLive({
    topic: 'board',
    id: departmentId,
    onSnapshot,
    onEvent,
    onStatus,
    onError: (err) => {
      onRefused();
      showMessage(boardRefusal(err, departmentId));
    },
  });
}

// The banner of a page that follows nothing (no access, no department): detail says why.
export function showRefused(detail) {
  renderBanner(document.getElementById('banner'), { state: 'refused', since: null, seq: 0, version: 0, detail });
}
