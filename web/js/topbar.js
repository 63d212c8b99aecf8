// SPDX-License-Identifier: MIT
// topbar.js: the top bar every live page (board, census, bedside, chart, wall) shares, drawn
// from a short description so the pages' HTML holds only their own content:
//   <header class="topbar" id="topbar">
//     <div id="banner" …>Connecting…</div>          the live status (page.js keeps it up to date)
//     <div class="titlebar"><h1 id="title">…</h1> <span id="…" class="census"> <span class="spacer">
//       [#dept-pick] [nav links] [#user] [#sign-out] <span id="clock"></div>
//     …what the page's own <header id="topbar"> holds (the board's view bar)
//   </header>
// The page's module calls mountTopbar() before it looks up any element of the bar.
import { el, hhmm } from './ui.js';

// The pages a nav link can go to: its id, file, text, and what the role must be allowed to do
// there (session.js's permission names).
const NAV = {
  board: { id: 'board-link', file: 'board.html', text: 'Tracking board', action: 'board.read' },
  bedside: { id: 'bedside-link', file: 'bedside.html', text: 'Bedside vitals', action: 'vitals.create' },
  census: { id: 'census-link', file: 'census.html', text: 'Census', action: 'chart.read' },
};

const CLOCK_MS = 5000;

// The tab's icon (the login page has no top bar, but the same icon).
export function pageIcon() {
  document.head.append(el('link', { rel: 'icon', href: 'favicon.svg', type: 'image/svg+xml' }));
}

// The sticky table head sits under the top bar, whose height varies with the banner.
export function fitHeader() {
  document.documentElement.style.setProperty('--topbar-h', `${document.getElementById('topbar').offsetHeight}px`);
}

// Draws the bar at the top of the page and starts its clock. The description:
//   title      the <h1> (#title); a page may change it later (the department's name)
//   subtitle   id of the line beside the title (counts, department, patient), empty at first
//   links      NAV names shown from the start, in this order
//   roleLinks  NAV names after them, hidden until the page knows the role may use them (showNav)
//   linkText   { name: text } where a page words a link its own way
//   deptPick   the department choice (#dept-pick with #dept-select, hidden until filled)
//   user       the user box and sign-out (session.js fills them); false on the public wall
export function mountTopbar({ title, subtitle, links = [], roleLinks = [], linkText = {}, deptPick = false, user = true }) {
  const navLink = (name, hidden) => {
    const { id, file, text } = NAV[name];
    return el('a', { id, className: 'navlink', href: file, text: linkText[name] || text, hidden });
  };
  const clock = el('span', { id: 'clock', className: 'clock', attrs: { 'aria-label': 'current time' } });
  const titlebar = el('div', { className: 'titlebar' },
    el('h1', { id: 'title', text: title }),
    el('span', { id: subtitle, className: 'census' }),
    el('span', { className: 'spacer' }),
    deptPick && el('label', { id: 'dept-pick', className: 'dept-pick', hidden: true }, 'Department ', el('select', { id: 'dept-select' })),
    links.map((name) => navLink(name, false)),
    roleLinks.map((name) => navLink(name, true)),
    user && el('span', { id: 'user', className: 'user', hidden: true }),
    user && el('button', { type: 'button', id: 'sign-out', className: 'signout', text: 'Sign out', hidden: true }),
    clock);
  const banner = el('div', {
    id: 'banner',
    className: 'banner reconnecting',
    dataset: { live: 'reconnecting' },
    attrs: { role: 'status', 'aria-live': 'polite' },
  }, el('span', { className: 'banner-main', text: 'Connecting…' }), el('span', { className: 'banner-sub' }));

  let bar = document.getElementById('topbar');
  if (!bar) {
    bar = el('header', { id: 'topbar', className: 'topbar' });
    document.body.prepend(bar);
  }
  bar.prepend(banner, titlebar);
  pageIcon();

  const tick = () => (clock.textContent = hhmm(new Date()));
  tick();
  setInterval(tick, CLOCK_MS);
  fitHeader();
  window.addEventListener('resize', fitHeader);
}

// The nav links once the page knows its department and the role: each goes to that
// department's page, shown where may(action) says the role may use it.
export function showNav(departmentId, may) {
  for (const { id, file, action } of Object.values(NAV)) {
    const link = document.getElementById(id);
    if (!link) continue;
    link.href = `${file}?department=${departmentId}`;
    link.hidden = !may(action);
  }
}
