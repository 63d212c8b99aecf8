// SPDX-License-Identifier: MIT
// triage.js: triage (ESI + chief complaint) and the status of one encounter, shared by the
// bedside (bedside.js) and the chart (chart.js).
//
//   const triage = mountTriage(host, { onSaved(row) });   triage.show(row) / triage.show(null)
//   const status = mountStatus(host, { onSaved(row), later });   status.show(row)
//
// The page calls show(row) with the live row on every change; the controls keep what the
// user is choosing. Like the board comment (bedside.js), an edit is based on the version the
// screen showed when the user STARTED it: POST .../triage and .../status send that version in
// If-Match, and a colleague's change in between answers 409 version_conflict, shown in the
// conflict dialog (conflict.js) next to the user's value. Nothing is overwritten unless the
// user deliberately applies theirs. A live change that leaves the edited field as it was
// (vitals, a note, a comment) moves the base to the new version: there is nothing to
// reconcile. onSaved(row) gets the encounter row the server answered (saved, or the
// colleague's current row when the user kept it), for the page to show at once.
import { apiPost, conflictCurrent } from './api.js';
import { showConflict } from './conflict.js';
import { el, ESI_NAME, STATUS_LABEL, hhmm } from './ui.js';

// "ESI 2 – Emergent · chest pain" (what the conflict dialog and messages show).
export function triageText(row) {
  if (!row) return '';
  const esi = Number.isInteger(row.esi) ? `ESI ${row.esi} – ${ESI_NAME[row.esi]}` : 'not triaged';
  return row.chief_complaint ? `${esi} · ${row.chief_complaint}` : esi;
}

// The statuses a clinician sets by hand here, in flow order. disposition_decided comes from
// the chart's disposition, departed / left_without_being_seen from its departure (it needs a
// disposition, "lwbs" for a patient who left without being seen).
export const STATUS_STEPS = ['waiting', 'in_room', 'seen_by_provider'];

function errorText(e) {
  if (!e) return 'refused';
  return `${e.message || 'refused'}${e.code && e.code !== 'network' ? ` (${e.code})` : ''}`;
}

// ---------- triage ----------

export function mountTriage(host, { onSaved = () => {} } = {}) {
  let row = null;
  let edit = null; // {encounterId, version, esi, complaint}: what the screen showed when the user started
  let saving = false;

  const choices = [1, 2, 3, 4, 5].map((n) =>
    el(
      'label',
      { className: `choice esi-choice esi-choice-${n}`, dataset: { esi: String(n) } },
      el('input', { type: 'radio', name: 'triage-esi', value: String(n), attrs: { 'aria-describedby': `triage-esi-now-${n}` } }),
      el(
        'span',
        {},
        el('b', { className: 'esi-choice-num', text: String(n) }),
        el('small', { className: 'esi-choice-name', text: ESI_NAME[n] }),
        el('small', { className: 'esi-choice-now', id: `triage-esi-now-${n}` }),
      ),
    ),
  );
  const fieldset = el('fieldset', { id: 'triage-esi', className: 'field esi-field' }, el('legend', { text: 'ESI (1 most urgent – 5 least)' }), el('div', { className: 'choice-row esi-choices' }, choices));
  const complaint = el('input', { type: 'text', id: 'triage-complaint', name: 'chief_complaint', maxLength: 200, attrs: { autocomplete: 'off', spellcheck: 'true' } });
  const save = el('button', { type: 'submit', id: 'triage-save', className: 'primary', text: 'Save triage' });
  const result = el('span', { id: 'triage-result', className: 'hint', attrs: { role: 'status' } });
  const form = el(
    'form',
    { id: 'triage-form', className: 'triage-form', noValidate: true, attrs: { autocomplete: 'off', 'aria-label': 'triage' } },
    fieldset,
    el('div', { className: 'field triage-complaint' }, el('label', { htmlFor: 'triage-complaint', text: 'Chief complaint' }), complaint),
    el('div', { className: 'form-actions' }, save, el('span', { className: 'hint', text: 'Choose the level, then Save (Enter).' }), result),
  );
  host.replaceChildren(form);

  const radios = () => [...form.querySelectorAll('input[name="triage-esi"]')];
  const chosen = () => {
    const r = form.querySelector('input[name="triage-esi"]:checked');
    return r ? Number(r.value) : null;
  };
  const say = (text) => {
    result.textContent = text;
  };

  function startEdit() {
    if (!row || (edit && edit.encounterId === row.encounter_id)) return;
    edit = { encounterId: row.encounter_id, version: row.version, esi: Number.isInteger(row.esi) ? row.esi : null, complaint: row.chief_complaint || '' };
  }
  form.addEventListener('change', (ev) => {
    if (ev.target.name === 'triage-esi') {
      startEdit();
      fieldset.classList.remove('invalid');
    }
  });
  complaint.addEventListener('input', () => {
    startEdit();
    complaint.classList.remove('invalid');
  });

  function fill(r) {
    for (const input of radios()) input.checked = Number(input.value) === r.esi;
    if (complaint.value !== (r.chief_complaint || '')) complaint.value = r.chief_complaint || '';
  }

  function show(next) {
    const changedPatient = !next || !row || next.encounter_id !== row.encounter_id;
    row = next || null;
    form.hidden = !row;
    if (!row) {
      edit = null;
      say('');
      return;
    }
    if (changedPatient) say('');
    for (const label of choices) {
      const current = Number(label.dataset.esi) === row.esi;
      label.classList.toggle('current', current);
      label.querySelector('.esi-choice-now').textContent = current ? 'current' : '';
    }
    if (edit && edit.encounterId === row.encounter_id) {
      // The user is choosing: keep their choice. Only a change of the triage itself matters.
      const esi = Number.isInteger(row.esi) ? row.esi : null;
      if (esi === edit.esi && (row.chief_complaint || '') === edit.complaint) edit.version = row.version;
      else say(`A colleague changed the triage meanwhile: ${triageText(row)}.`);
      return;
    }
    edit = null;
    fill(row);
  }

  async function submit(version = null) {
    if (saving || !row) return;
    const target = row;
    const esi = chosen();
    if (!esi) {
      fieldset.classList.add('invalid');
      say('Not saved: choose the ESI level (1–5).');
      (radios()[0] || save).focus();
      return;
    }
    const text = complaint.value.trim();
    const body = { esi };
    // The complaint cannot be emptied (schema minLength 1): an empty field keeps the current one.
    if (text) body.chief_complaint = text;
    const base = version ?? (edit && edit.encounterId === target.encounter_id ? edit.version : target.version);
    if (version === null && esi === target.esi && (!text || text === (target.chief_complaint || ''))) {
      edit = null;
      fill(target);
      say(`Unchanged: ${triageText(target)}.`);
      return;
    }
    const mine = triageText({ esi, chief_complaint: text || target.chief_complaint });
    saving = true;
    save.disabled = true;
    say('Saving…');
    const res = await apiPost(`/encounters/${target.encounter_id}/triage`, body, { ifMatch: base });
    saving = false;
    save.disabled = false;
    if (res.ok) {
      edit = null;
      const updated = res.data && res.data.encounter;
      say(`Saved at ${hhmm(new Date())}: ${triageText(updated || { esi, chief_complaint: text || target.chief_complaint })}.`);
      if (updated && updated.encounter_id === target.encounter_id) onSaved(updated);
      return;
    }
    const current = conflictCurrent(res);
    if (current) {
      say('Not saved: a colleague changed this patient first.');
      const again = await showConflict({ what: 'the triage', theirs: triageText(current.encounter_id ? current : target), mine, row: current.encounter_id ? current : target, applyLabel: 'Apply my triage anyway' });
      if (again && current.version) {
        submit(current.version);
        return;
      }
      edit = null;
      if (current.encounter_id === target.encounter_id) onSaved(current);
      if (row && row.encounter_id === target.encounter_id) fill(current.encounter_id ? current : row);
      say(`Kept the colleague’s triage (${triageText(current.encounter_id ? current : target)}); yours was not saved.`);
      return;
    }
    const e = res.error || {};
    if (e.field === 'esi') fieldset.classList.add('invalid');
    if (e.field === 'chief_complaint') {
      complaint.classList.add('invalid');
      complaint.focus();
    }
    say(`Not saved: ${e.field === 'chief_complaint' ? 'chief complaint: ' : e.field ? `${e.field}: ` : ''}${errorText(e)}.`);
  }

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    submit();
  });
  // Enter saves from the level buttons too, not only from the complaint.
  form.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.isComposing && ev.target.tagName === 'INPUT') {
      ev.preventDefault();
      submit();
    }
  });

  return { show, element: form };
}

// ---------- status ----------

// later: a node (or text) after the control, e.g. where disposition and departure are.
export function mountStatus(host, { onSaved = () => {}, later = null } = {}) {
  let row = null;
  let edit = null; // {encounterId, version, status}
  let saving = false;

  const select = el('select', { id: 'status-select', attrs: { 'aria-describedby': 'status-now' } });
  const save = el('button', { type: 'submit', id: 'status-save', className: 'small', text: 'Set status' });
  const now = el('span', { id: 'status-now', className: 'status-now' });
  const result = el('span', { id: 'status-result', className: 'hint', attrs: { role: 'status' } });
  const laterNode = later ? el('span', { className: 'hint status-later' }, later) : null;
  const form = el(
    'form',
    { id: 'status-form', className: 'inline-form status-form', noValidate: true, attrs: { autocomplete: 'off' } },
    el('label', { htmlFor: 'status-select', className: 'label', text: 'Status' }),
    now,
    select,
    save,
    result,
    laterNode,
  );
  host.replaceChildren(form);
  const say = (text) => {
    result.textContent = text;
  };

  function options(r) {
    const at = STATUS_STEPS.indexOf(r.status);
    const list = [];
    list.push(el('option', { value: '', text: '— change to —' }));
    for (const [i, s] of STATUS_STEPS.entries()) {
      if (s === r.status) continue;
      list.push(el('option', { value: s, text: at >= 0 && i < at ? `${STATUS_LABEL[s]} (correction)` : STATUS_LABEL[s] }));
    }
    return list;
  }

  function show(next) {
    const changedPatient = !next || !row || next.encounter_id !== row.encounter_id;
    row = next || null;
    form.hidden = !row;
    if (!row) {
      edit = null;
      say('');
      return;
    }
    if (changedPatient) say('');
    now.textContent = `now: ${STATUS_LABEL[row.status] || row.status}`;
    now.className = `status-now status status-${row.status}`;
    // After the disposition the next step is the departure, on the chart: nothing to set here.
    const settable = STATUS_STEPS.includes(row.status);
    select.hidden = !settable;
    save.hidden = !settable;
    if (edit && edit.encounterId === row.encounter_id) {
      if (row.status === edit.status) edit.version = row.version;
      else say(`A colleague changed the status meanwhile: ${STATUS_LABEL[row.status] || row.status}.`);
      return;
    }
    edit = null;
    if (document.activeElement === select && !changedPatient) return; // a choice in progress
    select.replaceChildren(...options(row));
    select.value = '';
  }

  select.addEventListener('change', () => {
    if (row && !(edit && edit.encounterId === row.encounter_id)) edit = { encounterId: row.encounter_id, version: row.version, status: row.status };
    select.classList.remove('invalid');
  });

  async function submit(version = null) {
    if (saving || !row) return;
    const target = row;
    const next = select.value;
    if (!next) {
      select.classList.add('invalid');
      say('Choose the new status first.');
      select.focus();
      return;
    }
    const base = version ?? (edit && edit.encounterId === target.encounter_id ? edit.version : target.version);
    saving = true;
    save.disabled = true;
    say('Saving…');
    const res = await apiPost(`/encounters/${target.encounter_id}/status`, { status: next }, { ifMatch: base });
    saving = false;
    save.disabled = false;
    if (res.ok) {
      edit = null;
      const updated = res.data && res.data.encounter;
      say(`Saved at ${hhmm(new Date())}: ${STATUS_LABEL[next]}.`);
      if (updated && updated.encounter_id === target.encounter_id) onSaved(updated);
      if (row && row.encounter_id === target.encounter_id && !updated) show(row);
      return;
    }
    const current = conflictCurrent(res);
    if (current) {
      const cur = current.encounter_id ? current : target;
      say('Not saved: a colleague changed this patient first.');
      const again = await showConflict({ what: 'the status', theirs: STATUS_LABEL[cur.status] || cur.status, mine: STATUS_LABEL[next], row: cur, applyLabel: `Set ${STATUS_LABEL[next]} anyway` });
      if (again && current.version) {
        submit(current.version);
        return;
      }
      edit = null;
      if (current.encounter_id === target.encounter_id) onSaved(current);
      else if (row) show(row);
      say(`Kept the colleague’s status (${STATUS_LABEL[cur.status] || cur.status}); yours was not saved.`);
      return;
    }
    say(`Not saved: ${errorText(res.error)}.`);
  }

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    submit();
  });

  return { show, element: form };
}
