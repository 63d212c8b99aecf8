// From the MIMIC stays to what the replay sends: the time shift, the mappings (acuity, arrival,
// disposition, units), the synthetic identity, and for every vitals row what edlive must do
// with it (accept which fields, refuse which and why), from the rules proto/README.md and
// proto/http/vitals.json state. Written from the contract, not from edlive's code.
import { mimicTime } from './source.mjs';

export const DAY_MS = 86400000;
const MIN_MS = 60000;

export const ARRIVAL_MODE = { AMBULANCE: 'ambulance', 'WALK IN': 'walk_in', HELICOPTER: 'helicopter',
                              UNKNOWN: 'other', OTHER: 'other' };
export const DISPOSITION = {
  ADMITTED: 'admit', HOME: 'discharge', TRANSFER: 'transfer', 'LEFT WITHOUT BEING SEEN': 'lwbs',
  'LEFT AGAINST MEDICAL ADVICE': 'ama', ELOPED: 'eloped', EXPIRED: 'deceased', OTHER: 'other',
};
const SEX = { F: 'female', M: 'male' };

const FAMILY = ['Abbott', 'Baker', 'Castillo', 'Dunn', 'Ellison', 'Farrow', 'Gallo', 'Hughes', 'Ibarra',
  'Jensen', 'Keller', 'Lund', 'Mercer', 'Nakamura', 'Osei', 'Pryor', 'Quinn', 'Reyes', 'Sato', 'Toller',
  'Upton', 'Vance', 'Wade', 'Xu', 'Yates', 'Zeller', 'Alvarez', 'Brandt', 'Cobb', 'Dahl', 'Egan'];
const GIVEN = {
  female: ['Ada', 'Beth', 'Cora', 'Dana', 'Edie', 'Faye', 'Gwen', 'Hana', 'Iris', 'June', 'Kira', 'Lena', 'Mira'],
  male: ['Abe', 'Ben', 'Carl', 'Dev', 'Eli', 'Finn', 'Gus', 'Hal', 'Ivan', 'Joel', 'Kai', 'Leo', 'Max'],
};

// The vitals columns, what edlive calls them, and the contract's limits: the schema's range
// (outside: 422 out_of_range) and the plausible range (outside: 422 implausible_value unless
// confirmed; the replay never confirms, it leaves the value out as the bedside does).
export const FIELDS = {
  heart_rate:    { col: 'heartrate',   schema: [0, 300], plausible: [25, 250] },
  resp_rate:     { col: 'resprate',    schema: [0, 80],  plausible: [4, 60] },
  systolic_bp:   { col: 'sbp',         schema: [0, 300], plausible: [50, 250] },
  diastolic_bp:  { col: 'dbp',         schema: [0, 250], plausible: [20, 150] },
  spo2:          { col: 'o2sat',       schema: [0, 100], plausible: [50, 100] },
  temperature_c: { col: 'temperature', schema: [15, 45], plausible: [32, 42] },
  pain:          { col: 'pain',        schema: [0, 10],  plausible: null, integer: true },
};

// °F -> °C to one decimal (edlive stores one decimal); exact half-up on the tenths.
export function fahrenheitToCelsius(f) {
  const tenths = Math.round(((f - 32) * 50) / 9 * 1e6) / 1e6; // (F-32)*5/9*10, float noise removed
  return Math.round(tenths) / 10;
}

// One source row (triage or vitalsign) as a vitals body, or null when every cell is empty
// (nothing was charted: not sent). Pain: a number is sent as it is (13 and 8.5 are refused);
// free text ("UA", "unable", "asleep", ...) is not a score: null.
export function vitalsBody(row) {
  const cells = Object.values(FIELDS).map((f) => (row[f.col] || '').trim());
  if (cells.every((c) => c === '')) return null;
  const body = {};
  for (const [name, f] of Object.entries(FIELDS)) {
    const raw = (row[f.col] || '').trim();
    if (raw === '' || !/^-?\d+(\.\d+)?$/.test(raw)) continue;
    const v = Number(raw);
    body[name] = name === 'temperature_c' ? fahrenheitToCelsius(v) : v;
  }
  return body;
}

// What edlive must answer for one set of measurements (proto/http/vitals.json's description):
// per field the codes a refusal of it may carry, and what is left when the bad fields are left
// out. A systolic left out takes its diastolic with it (a diastolic needs a systolic).
export function expectVitals(meas) {
  const bad = {};
  const add = (field, code, why) => { (bad[field] ||= []).push({ code, why }); };
  for (const [name, f] of Object.entries(FIELDS)) {
    if (!(name in meas)) continue;
    const v = meas[name];
    if (f.integer && !Number.isInteger(v)) add(name, 'wrong_type', 'not a whole number (pain is an integer 0-10)');
    else if (v < f.schema[0] || v > f.schema[1]) {
      add(name, 'out_of_range', name === 'temperature_c' && v < f.schema[0]
        ? `a °C value in the °F column: converted again it is below ${f.schema[0]} °C`
        : `outside the contract's ${f.schema[0]}-${f.schema[1]}`);
    } else if (f.plausible && (v < f.plausible[0] || v > f.plausible[1]))
      add(name, 'implausible_value', `outside the plausible ${f.plausible[0]}-${f.plausible[1]}; not confirmed`);
  }
  if ('diastolic_bp' in meas && 'systolic_bp' in meas && meas.diastolic_bp >= meas.systolic_bp)
    add('diastolic_bp', 'invalid_value', 'diastolic not below the systolic');
  if (bad.systolic_bp && 'diastolic_bp' in meas && !bad.diastolic_bp)
    add('diastolic_bp', 'left_out', 'left out with its systolic');
  const kept = Object.fromEntries(Object.entries(meas).filter(([k]) => !bad[k]));
  return { bad, kept };
}

// NEWS2 sub-scores (RCP 2017 chart 1, SpO2 scale 1; ed-domain.md 3.2) of the measurements
// present. MIMIC has no consciousness (ACVPU) and no air/oxygen, so neither is scored and no
// set is complete: the total is the sum of the five parameters present.
export function news2(meas) {
  const r = (x) => Math.floor(x + 0.5);
  const s = {};
  if ('resp_rate' in meas) { const v = r(meas.resp_rate); s.resp_rate = v <= 8 ? 3 : v <= 11 ? 1 : v <= 20 ? 0 : v <= 24 ? 2 : 3; }
  if ('spo2' in meas) { const v = r(meas.spo2); s.spo2 = v <= 91 ? 3 : v <= 93 ? 2 : v <= 95 ? 1 : 0; }
  if ('systolic_bp' in meas) { const v = r(meas.systolic_bp); s.systolic_bp = v <= 90 ? 3 : v <= 100 ? 2 : v <= 110 ? 1 : v <= 219 ? 0 : 3; }
  if ('heart_rate' in meas) { const v = r(meas.heart_rate); s.heart_rate = v <= 40 ? 3 : v <= 50 ? 1 : v <= 90 ? 0 : v <= 110 ? 1 : v <= 130 ? 2 : 3; }
  if ('temperature_c' in meas) {
    const t = Math.round(meas.temperature_c * 10); // tenths
    s.temperature_c = t <= 350 ? 3 : t <= 360 ? 1 : t <= 380 ? 0 : t <= 390 ? 1 : 2;
  }
  const total = Object.values(s).reduce((a, b) => a + b, 0);
  return { total, scores: s, scored: Object.keys(s).length };
}

// Hash of a string to a small integer (the synthetic names).
const pick = (list, n) => list[n % list.length];

// The whole replay as data: per stay its steps (each with its shifted time), and the shift.
// options: { day: 'YYYY-MM-DD' | null, now: ms, tag: department code (MRN prefix) }.
export function makePlan(mimic, { day = null, now = Date.now(), tag = 'RPL' } = {}) {
  const stays = mimic.stays;
  // Each stay is moved by a whole number of days so that it arrives on the replay day D at its
  // own clock time (MIMIC shifts every patient's dates by its own offset, so the source has no
  // common calendar: "do not compare calendar dates across patients").
  const midnight = (ms) => Math.floor(ms / DAY_MS) * DAY_MS;
  let latest = 0; // the latest source time of any stay, from the midnight of its arrival
  for (const s of stays) {
    const base = midnight(mimicTime(s.intime));
    const times = [mimicTime(s.outtime), ...s.vitals.map((v) => mimicTime(v.charttime))];
    if (s.admission) times.push(mimicTime(s.admission.admittime));
    for (const t of times) latest = Math.max(latest, t - base);
  }
  // D: the latest day on which every replayed time is at least 10 minutes before now.
  const D = day ? Date.parse(`${day}T00:00:00Z`) : midnight(now - 10 * MIN_MS - latest);
  if (Number.isNaN(D)) throw new Error(`--day ${day}: not a date`);
  if (D + latest > now - 5 * MIN_MS) {
    throw new Error(`--day ${day}: the last replayed time would be ${new Date(D + latest).toISOString()}, not before now; the latest day is ${new Date(midnight(now - 10 * MIN_MS - latest)).toISOString().slice(0, 10)}`);
  }
  const visitNo = new Map();
  const bySubject = new Map();
  for (const s of [...stays].sort((a, b) => mimicTime(a.intime) - mimicTime(b.intime))) {
    const n = (bySubject.get(s.subject_id) || 0) + 1;
    bySubject.set(s.subject_id, n);
    visitNo.set(s.stay_id, n);
  }

  const out = [];
  for (const s of stays) {
    const shift = D - midnight(mimicTime(s.intime));
    const T = (src) => mimicTime(src) + shift;
    const arrive = T(s.intime);
    const depart = T(s.outtime);
    const sex = SEX[s.gender] || 'unknown';
    const subj = Number(s.subject_id);
    // Age at this visit: anchor_age at anchor_year (hosp patients.csv), both in MIMIC's
    // shifted years; the birth date makes the board's age equal it on the replay day.
    let age = null;
    if (s.patient) age = Number(s.patient.anchor_age) + (new Date(mimicTime(s.intime)).getUTCFullYear() - Number(s.patient.anchor_year));
    const birth = new Date(arrive);
    if (age !== null) {
      birth.setUTCFullYear(birth.getUTCFullYear() - age);
      birth.setUTCDate(birth.getUTCDate() - 1 - (subj % 300));
    } else birth.setUTCFullYear(1900, 0, 1);
    const complaint = ((s.triage && s.triage.chiefcomplaint) || '').trim().slice(0, 200) || 'not recorded';
    const stay = {
      stay_id: s.stay_id, subject_id: s.subject_id, shift_days: Math.round(shift / DAY_MS),
      source: { intime: s.intime, outtime: s.outtime, disposition: s.disposition, acuity: s.triage ? s.triage.acuity : '' },
      arrive, depart,
      patient: {
        mrn: `${tag}-${s.subject_id}-${visitNo.get(s.stay_id)}`,
        family_name: pick(FAMILY, subj),
        given_name: pick(GIVEN[sex] || GIVEN.female, Math.floor(subj / FAMILY.length)),
        birth_date: birth.toISOString().slice(0, 10), sex,
      },
      age,
      arrival_mode: ARRIVAL_MODE[s.arrival_transport] || 'other',
      chief_complaint: complaint,
      esi: s.triage && /^[1-5]$/.test(s.triage.acuity.trim()) ? Number(s.triage.acuity) : null,
      steps: [],
    };
    const steps = stay.steps;
    steps.push({ kind: 'arrival', at: arrive });
    if (stay.esi !== null) steps.push({ kind: 'triage', at: arrive });
    const vitalsStep = (row, at, source) => {
      const meas = vitalsBody(row);
      if (!meas) return { kind: 'skip', at, source, why: 'every cell empty' };
      const exp = expectVitals(meas);
      // Row-level answers: before the arrival (422 out_of_range taken_at), after the departure
      // (409 conflict: the encounter has ended), nothing measurable (422 invalid_value).
      let rowRefusal = null;
      if (at < arrive) rowRefusal = { status: 422, code: 'out_of_range', field: 'taken_at', why: 'taken before the arrival' };
      else if (at > depart) rowRefusal = { status: 409, code: 'conflict', why: 'taken after the departure (outtime)' };
      else if (Object.keys(exp.kept).length === 0 && Object.keys(exp.bad).length === 0)
        rowRefusal = { status: 422, code: 'invalid_value', field: null, why: 'no measurement (only free-text pain)' };
      const raw = Object.fromEntries(Object.entries(FIELDS).map(([k, f]) => [k, (row[f.col] || '').trim()]));
      return { kind: 'vitals', at, source, meas, raw, bad: exp.bad, kept: exp.kept, rowRefusal,
               triage: source === 'triage' };
    };
    // Triage vitals: MIMIC's triage table has no time; it is the arrival (intime).
    if (s.triage) {
      const st = vitalsStep(s.triage, arrive, 'triage');
      if (st.kind === 'vitals') steps.push(st); else stay.triageSkipped = true;
    }
    for (const v of s.vitals) {
      const st = vitalsStep(v, T(v.charttime), `vitalsign ${v.charttime}`);
      steps.push(st);
    }
    const kind = DISPOSITION[s.disposition] || 'other';
    // The decision time: for an admission the hospital admit time (admissions.admittime, the
    // admit order) when the hosp demo has it, not before the arrival nor after the departure;
    // otherwise (and for every other disposition, which MIMIC does not time) the departure.
    let decided = depart;
    let decidedFrom = 'outtime';
    if (kind === 'admit' && s.admission) {
      decided = Math.min(Math.max(T(s.admission.admittime), arrive), depart);
      decidedFrom = T(s.admission.admittime) < arrive ? 'admittime before intime: intime' : 'admittime';
    }
    stay.disposition = kind;
    stay.decided = decided;
    stay.decidedFrom = decidedFrom;
    steps.push({ kind: 'disposition', at: decided });
    steps.push({ kind: 'departure', at: depart });
    // Same time: arrival, triage, vitals, disposition, departure, in that order.
    const rank = { arrival: 0, triage: 1, vitals: 2, skip: 2, disposition: 3, departure: 4 };
    // A row timed before the arrival is sent just after it (to be refused for its time).
    const key = (st) => Math.max(st.at, arrive);
    steps.sort((a, b) => key(a) - key(b) || rank[a.kind] - rank[b.kind]);
    for (const st of steps) st.sendAt = key(st);
    out.push(stay);
  }
  return { day: new Date(D).toISOString().slice(0, 10), dayMs: D, latestOffsetMs: latest, stays: out };
}
