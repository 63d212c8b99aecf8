// The figures edlive must report, computed from the plan (the CSV rows, shifted and mapped)
// alone, with the definitions of proto/README.md "Metrics": not edlive's SQL.
import { news2 } from './plan.mjs';

const HOUR_MS = 3600000;

// Median in minutes, one decimal, half away from zero (SQL percentile_cont(0.5), then
// round(numeric, 1)); exact on whole seconds: the two middle values' sum in seconds over 12 is
// the median in tenths of a minute.
export function medianMinutes(ms) {
  if (!ms.length) return null;
  const sec = ms.map((x) => Math.round(x / 1000)).sort((a, b) => a - b);
  const mid = sec.length >> 1;
  const twice = sec.length % 2 ? 2 * sec[mid] : sec[mid - 1] + sec[mid];
  return Math.floor((twice + 6) / 12) / 10;
}

// The metrics of [from, to) (utc ms) for the replayed stays (department time zone UTC).
export function expectedMetrics(stays, from, to) {
  const inP = (t) => t >= from && t < to;
  const arrived = stays.filter((s) => inP(s.arrive));
  const departed = stays.filter((s) => gone(s) && inP(s.depart));
  const byHour = (list, start) => {
    const h = Array(24).fill(0);
    for (const s of list) h[new Date(s.arrive).getUTCHours()]++;
    return h;
  };
  const prior = Array(24).fill(0);
  for (let w = 1; w <= 4; w++) {
    const f = from - 7 * w * 24 * HOUR_MS, t = to - 7 * w * 24 * HOUR_MS;
    for (const s of stays) if (s.arrive >= f && s.arrive < t) prior[new Date(s.arrive).getUTCHours()]++;
  }
  const disch = departed.filter((s) => s.disposition === 'discharge');
  const admit = departed.filter((s) => s.disposition === 'admit');
  return {
    arrivals: arrived.length,
    arrivals_by_hour: byHour(arrived),
    los_median_min: medianMinutes(departed.map((s) => s.depart - s.arrive)),
    los_count: departed.length,
    los_discharged_median_min: medianMinutes(disch.map((s) => s.depart - s.arrive)),
    los_discharged_count: disch.length,
    boarding_median_min: medianMinutes(admit.map((s) => s.depart - s.decided)),
    boarding_count: admit.length,
    lwbs: departed.filter((s) => s.disposition === 'lwbs').length,
    // MIMIC-IV-ED has no provider-contact time and no bed or room: edlive has none either.
    door_to_provider_median_min: null,
    door_to_provider_count: 0,
    arrival_to_room_median_min: null,
    arrival_to_room_count: 0,
    weekday_average_by_hour: prior.map((n) => Math.round((n / 4) * 100) / 100),
  };
}

// Whether the stay's departure / disposition was replayed (all of them, unless --until).
export const gone = (s) => s.steps.some((st) => st.kind === 'departure');
export const decided = (s) => s.steps.some((st) => st.kind === 'disposition');

// The vitals sets of a stay edlive must chart. identicalOnce: a set with the same time and
// values as an earlier one of the stay is one reading (HL7: a registration system repeating the
// OBX of a visit, ADT_MAPPING.md §1 step 5). MIMIC copies each triage set into vitalsign at
// the arrival time, so over HL7 that copy is charted once; over REST both are.
export function acceptedSets(stay, { identicalOnce = false } = {}) {
  const sets = stay.steps.filter((s) => s.kind === 'vitals' && !s.rowRefusal && Object.keys(s.kept).length > 0);
  if (!identicalOnce) return sets;
  const seen = new Set();
  return sets.filter((s) => {
    const key = JSON.stringify([s.at, Object.entries(s.kept).map(([k, v]) => [k, Number(v)]).sort()]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

// Per stay: what its chart must say once the replay is over (or at --until). Triage leaves
// the status `waiting` (there are no rooms or provider contacts in MIMIC).
export function expectedStay(stay, { identicalOnce = false } = {}) {
  const accepted = acceptedSets(stay, { identicalOnce });
  const tri = accepted.find((s) => s.triage);
  return {
    esi: stay.esi,
    disposition: decided(stay) ? stay.disposition : null,
    status: !decided(stay) ? 'waiting' : !gone(stay) ? 'disposition_decided'
      : stay.disposition === 'lwbs' ? 'left_without_being_seen' : 'departed',
    vitals_sets: accepted.length,
    triage_news2: tri ? news2(tri.kept).total : null,
  };
}
