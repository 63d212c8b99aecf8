// SPDX-License-Identifier: MIT
// arrival.js: "Register arrival", a compact form for the roles that register arrivals
// (charge nurse on the census, registration on the board): POST
// /api/v1/departments/{id}/arrivals (proto/http/arrival.json). The new patient appears in
// the waiting room of every board through the hub; this form only says it was registered.
//
//   mountArrival(host, { departmentId })
//
// The MRN is always needed; for an MRN the record does not know yet the server also needs the
// family and given names, the birth date and the sex, and says which is missing (422
// missing_field, `error.field` "patient.birth_date"): every refusal is shown at its field.
// One Idempotency-Key per filled-in form, reused when the same form is sent again after a
// failure, so a retry registers the patient once.
import { apiPost, newIdempotencyKey } from './api.js';
import { el, ARRIVAL_LABEL, hhmm } from './ui.js';

const SEX_LABEL = { female: 'Female', male: 'Male', other: 'Other', unknown: 'Unknown' };

// error.field -> [input id, label]
const FIELDS = {
  'patient.mrn': ['arr-mrn', 'MRN'],
  'patient.family_name': ['arr-family', 'Family name'],
  'patient.given_name': ['arr-given', 'Given name'],
  'patient.birth_date': ['arr-birth', 'Birth date'],
  'patient.sex': ['arr-sex', 'Sex'],
  arrival_mode: ['arr-mode', 'Arrival mode'],
  chief_complaint: ['arr-complaint', 'Chief complaint'],
  patient: ['arr-mrn', 'Patient'],
};

export function mountArrival(host, { departmentId }) {
  const input = (id, label, props = {}) => {
    const node = el('input', { id, type: 'text', ...props, attrs: { autocomplete: 'off', spellcheck: 'false', ...(props.attrs || {}) } });
    return [node, el('div', { className: 'field' }, el('label', { htmlFor: id, text: label }), node)];
  };
  const [mrn, mrnField] = input('arr-mrn', 'MRN', { maxLength: 64, attrs: { autocomplete: 'off', spellcheck: 'false', pattern: '[A-Za-z0-9-]+' } });
  const [family, familyField] = input('arr-family', 'Family name', { maxLength: 100 });
  const [given, givenField] = input('arr-given', 'Given name', { maxLength: 100 });
  const [birth, birthField] = input('arr-birth', 'Birth date', { type: 'date' });
  const sex = el('select', { id: 'arr-sex' }, el('option', { value: '', text: '—' }), Object.entries(SEX_LABEL).map(([v, t]) => el('option', { value: v, text: t })));
  const mode = el('select', { id: 'arr-mode' }, Object.entries(ARRIVAL_LABEL).map(([v, t]) => el('option', { value: v, text: t })));
  mode.value = 'walk_in';
  const [complaint, complaintField] = input('arr-complaint', 'Chief complaint', { maxLength: 200 });
  const save = el('button', { type: 'submit', id: 'arr-save', className: 'small', text: 'Register arrival' });
  // A patient nobody can name yet (issue 9 item 15): the server makes an alias and a temporary
  // id; mode, complaint and (if seen) sex are sent, the identity fields are not.
  const unidentified = el('button', { type: 'button', id: 'arr-unidentified', className: 'small', text: 'Register unidentified (trauma alias)' });
  const result = el('p', { id: 'arr-result', className: 'hint arrival-result', attrs: { role: 'status', 'aria-live': 'polite' } });
  const form = el(
    'form',
    { id: 'arrival-form', className: 'arrival-form', noValidate: true, attrs: { autocomplete: 'off', 'aria-label': 'register an arrival' } },
    el(
      'div',
      { className: 'arrival-grid' },
      mrnField,
      familyField,
      givenField,
      birthField,
      el('div', { className: 'field' }, el('label', { htmlFor: 'arr-sex', text: 'Sex' }), sex),
      el('div', { className: 'field' }, el('label', { htmlFor: 'arr-mode', text: 'Arrival mode' }), mode),
      el('div', { className: 'field arrival-complaint' }, el('label', { htmlFor: 'arr-complaint', text: 'Chief complaint' }), complaint),
    ),
    el('div', { className: 'form-actions' }, save, unidentified, el('span', { className: 'hint', text: 'A known MRN needs only the MRN, the mode and the complaint.' })),
    result,
  );
  host.replaceChildren(form);

  const nodes = [mrn, family, given, birth, sex, mode, complaint];
  let attempt = null; // {key, sig}: the form being sent, until it is stored or refused
  let saving = false;

  const clearMarks = () => {
    for (const n of nodes) {
      n.classList.remove('invalid');
      n.removeAttribute('aria-invalid');
    }
  };
  const mark = (field) => {
    const f = FIELDS[field];
    const node = f && document.getElementById(f[0]);
    if (!node) return null;
    node.classList.add('invalid');
    node.setAttribute('aria-invalid', 'true');
    return node;
  };
  const refuse = (problems, fromServer) => {
    clearMarks();
    let first = null;
    for (const p of problems) {
      const node = mark(p.field);
      first = first || node;
    }
    result.className = 'hint arrival-result err';
    result.dataset.outcome = 'error';
    result.textContent = `${fromServer ? 'Not registered — ' : 'Not registered yet — '}${problems.map((p) => (p.field ? `${(FIELDS[p.field] || [null, p.field])[1]}: ${p.text}` : p.text)).join('; ')}.`;
    if (first) first.focus();
  };

  function collect(asUnidentified) {
    const problems = [];
    if (asUnidentified) {
      const body = { arrival_mode: mode.value, chief_complaint: complaint.value.trim(), ...(sex.value ? { sex: sex.value } : {}) };
      if (!body.chief_complaint) problems.push({ field: 'chief_complaint', text: 'enter the presenting complaint' });
      return { body, problems };
    }
    const patient = { mrn: mrn.value.trim() };
    if (!patient.mrn) problems.push({ field: 'patient.mrn', text: 'enter the medical record number' });
    else if (!/^[A-Za-z0-9-]+$/.test(patient.mrn)) problems.push({ field: 'patient.mrn', text: 'letters, digits and “-” only' });
    if (family.value.trim()) patient.family_name = family.value.trim();
    if (given.value.trim()) patient.given_name = given.value.trim();
    if (birth.validity.badInput) problems.push({ field: 'patient.birth_date', text: 'is not a date' });
    else if (birth.value) patient.birth_date = birth.value;
    if (sex.value) patient.sex = sex.value;
    const body = { patient, arrival_mode: mode.value, chief_complaint: complaint.value.trim() };
    if (!body.chief_complaint) problems.push({ field: 'chief_complaint', text: 'enter the presenting complaint' });
    return { body, problems };
  }

  async function submit(asUnidentified = false) {
    if (saving) return;
    const { body, problems } = collect(asUnidentified);
    if (problems.length) {
      refuse(problems, false);
      return;
    }
    const sig = JSON.stringify({ asUnidentified, body });
    if (!attempt || attempt.sig !== sig) attempt = { key: newIdempotencyKey(), sig };
    saving = true;
    save.disabled = true;
    result.className = 'hint arrival-result';
    result.dataset.outcome = 'saving';
    result.textContent = 'Registering…';
    const res = await apiPost(`/departments/${departmentId}/arrivals${asUnidentified ? '/unidentified' : ''}`, body, { idempotencyKey: attempt.key });
    saving = false;
    save.disabled = false;
    if (res.ok) {
      attempt = null;
      clearMarks();
      const enc = res.data && res.data.encounter;
      for (const n of [mrn, family, given, birth, complaint]) n.value = '';
      sex.value = '';
      mode.value = 'walk_in';
      result.className = 'hint arrival-result ok';
      result.dataset.outcome = 'saved';
      const alias = enc && enc.patient && enc.patient.unidentified ? ` as ${enc.patient.alias} (UNIDENTIFIED, temporary id ${enc.patient.temp_id})` : '';
      result.textContent = `Registered${alias} at ${hhmm(new Date())}${enc && enc.encounter_id ? ` (encounter #${enc.encounter_id})` : ''}: in the waiting room, not triaged yet.`;
      mrn.focus();
      return;
    }
    const e = res.error || {};
    if (res.status > 0 && res.status < 500) attempt = null; // refused: a corrected form is a new one
    const text = e.code === 'network' ? 'the server could not be reached — press Register again to retry (it will not be registered twice)' : `${e.message || 'refused'}${e.code ? ` (${e.code})` : ''}`;
    refuse([{ field: e.field && FIELDS[e.field] ? e.field : null, text: e.field && !FIELDS[e.field] ? `${e.field}: ${text}` : text }], true);
  }

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    submit();
  });
  unidentified.addEventListener('click', () => submit(true));
  for (const n of nodes) n.addEventListener('input', () => n.classList.remove('invalid'));
  return { element: form };
}
