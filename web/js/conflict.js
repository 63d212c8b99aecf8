// SPDX-License-Identifier: MIT
// conflict.js: what the user sees when a write answers 409 version_conflict (a colleague
// changed the encounter after the user's screen last saw it). Nothing is overwritten: the
// dialog shows the colleague's current value next to the user's, and only a deliberate
// "Apply mine" sends the change again, based on the version now shown.
import { el, patientName } from './ui.js';

let dialog = null;

function ensureDialog() {
  if (dialog) return dialog;
  dialog = el('dialog', { id: 'conflict', className: 'conflict-dialog', attrs: { 'aria-labelledby': 'conflict-title' } });
  document.body.append(dialog);
  return dialog;
}

// what: 'the board comment'; mine / theirs: text shown; row: the current board row (or {}).
// Resolves to true when the user chose to apply their change on top of the current one.
export function showConflict({ what, mine, theirs, row = {}, applyLabel = 'Apply my change anyway' }) {
  const d = ensureDialog();
  const who = row && row.patient ? `${patientName(row.patient)}${row.bed ? ` (${row.bed.label})` : ''}` : 'this patient';
  return new Promise((resolve) => {
    const keep = el('button', { type: 'button', id: 'conflict-keep', className: 'primary', text: 'Keep the current value' });
    const apply = el('button', { type: 'button', id: 'conflict-apply', text: applyLabel });
    d.replaceChildren(
      el('h2', { id: 'conflict-title', text: '⚠ Someone else changed this first' }),
      el('p', { text: `A colleague changed ${what} of ${who} after your screen showed it. Your change was NOT saved and nothing was overwritten.` }),
      el(
        'dl',
        { className: 'conflict-values' },
        el('dt', { text: 'Now (saved by a colleague)' }),
        el('dd', { id: 'conflict-current', className: 'conflict-current', text: theirs === '' || theirs == null ? '(empty)' : String(theirs) }),
        el('dt', { text: 'Yours (not saved)' }),
        el('dd', { id: 'conflict-mine', className: 'conflict-mine', text: mine === '' || mine == null ? '(empty)' : String(mine) }),
      ),
      el('p', { className: 'hint', text: 'Read the current value. If yours should still replace it, apply it deliberately.' }),
      el('div', { className: 'form-actions' }, keep, apply),
    );
    d.dataset.state = 'open';
    const done = (answer) => {
      d.dataset.state = answer ? 'reapplied' : 'kept';
      if (d.open) d.close();
      resolve(answer);
    };
    keep.addEventListener('click', () => done(false));
    apply.addEventListener('click', () => done(true));
    d.addEventListener('cancel', (ev) => {
      ev.preventDefault();
      done(false);
    }, { once: true });
    d.showModal();
    keep.focus();
  });
}
