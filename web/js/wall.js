// SPDX-License-Identifier: MIT
// wall.js: the public wall (wall.html) of a display account (issue 9 item 11). ed-hub sends a
// display session masked rows only (initials; ESI, isolation and allergy marks only when the
// department's wall_shows_flags allows), so there is nothing here to unmask: no sign-out, no
// mode switch, no chart links. Its session stays signed in while the socket is open.
import { showMessage, followBoard } from './page.js';
import { mountTopbar } from './topbar.js';
import { startSession, pickDepartment } from './session.js';
import { fromSnapshot, applyEvent as applyBoardEvent, emptyBoard, compareArrival } from './board_model.js';
import { el, AREA_LABEL, STATUS_LABEL, esiChip, isolationFlag, flag, since, formatDuration, staffName } from './ui.js';

// No user box, no sign-out, no nav links: the title becomes the department's name.
mountTopbar({ title: 'Department board', subtitle: 'census', user: false });

const $ = (id) => document.getElementById(id);
let board = emptyBoard(); // the masked board (board_model.js), at board.seq

function render() {
  const list = [...board.encounters].sort(compareArrival);
  const showsFlags = Boolean(board.wall_shows_flags);
  const head = ['Bed', 'Patient', ...(showsFlags ? ['ESI', 'Marks'] : []), 'Status', 'Clinicians', 'Here'];
  $('head-row').replaceChildren(...head.map((h) => el('th', { text: h })));
  $('rows').replaceChildren(...list.map((r) => {
    const marks = [isolationFlag(r), r.has_allergies ? flag('allergy', '⚠ Allergy', { title: 'Allergies recorded' }) : null].filter(Boolean);
    return el('tr', { dataset: { encounterId: String(r.encounter_id) } },
      el('td', { className: 'bed', text: r.bed ? `${r.bed.label} (${AREA_LABEL[r.bed.area] || r.bed.area})` : 'Waiting' }),
      el('td', { className: 'patient masked', text: (r.patient && r.patient.initials) || '?' }),
      ...(showsFlags ? [el('td', {}, r.esi ? esiChip(r.esi) : ''), el('td', {}, ...marks)] : []),
      el('td', { text: STATUS_LABEL[r.status] || r.status }),
      el('td', { text: [r.attending, r.nurse].filter(Boolean).map(staffName).join(' · ') }),
      el('td', { text: r.arrived_at ? formatDuration(since(r.arrived_at)) : '' }));
  }));
  $('board').hidden = !list.length;
  $('empty').hidden = list.length > 0;
  $('census').textContent = `${list.length} patient${list.length === 1 ? '' : 's'}`;
}

function applySnapshot(msg) {
  board = fromSnapshot(msg);
  render();
}

function applyEvent(msg) {
  board = applyBoardEvent(board, msg);
  render();
}

async function start() {
  setInterval(render, 30_000);
  const session = await startSession({ onWait: showMessage });
  // startSession shows the user box and wires a sign-out button when the page has them:
  // this page has neither, on purpose.
  // Only a display account's board is masked by the server. A clinician's session here would
  // be sent every name and MRN (and would sign out when idle): refuse it, connect nothing.
  if (session.role !== 'display') {
    showMessage('This page is the public wall of a display account (e.g. "wall"); you are signed in '
      + `as ${session.username}, whose board is not masked. Sign in the display account here, or use board.html.`);
    return;
  }
  const r = pickDepartment(session, null);
  if (r.error) {
    showMessage(r.error.message);
    return;
  }
  $('title').textContent = r.department.name;
  followBoard(r.department.id, {
    onSnapshot: applySnapshot,
    onEvent: applyEvent,
    onStatus: (s) => ($('board').dataset.seq = String(s.seq || 0)),
    onRefused: () => {
      board = emptyBoard();
      render();
    },
  });
}

start();
