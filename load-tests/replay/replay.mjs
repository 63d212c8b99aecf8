#!/usr/bin/env node
// Replays the MIMIC-IV-ED demo through edlive (README.md beside this file), then compares the
// metrics, board and charts edlive reports with figures computed from the CSV files.
//   . .state/local/env && node load-tests/replay/replay.mjs [--speed 1..1000|max] [options]
// Exit 0 when everything agrees and every refusal was expected, 1 otherwise, 2 on bad usage.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadMimic, defaultDataDir } from './source.mjs';
import { makePlan, DAY_MS, FIELDS } from './plan.mjs';
import { RestTransport } from './rest.mjs';
import { Hl7Transport } from './hl7.mjs';
import { acceptedSets, expectedMetrics, expectedStay, gone } from './expected.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '../..');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const iso = (ms) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

const USAGE = `usage: replay.mjs [--speed N|max] [--data DIR] [--day YYYY-MM-DD] [--stays N]
                  [--until +HOURS|TIME] [--concurrency N] [--transport rest|hl7] [--json FILE] [--quiet]
  --speed N      1 to 1000: source time passes N times faster than real time (default max)
  --speed max    as fast as edlive answers
  --data DIR     the folder holding mimic-iv-ed-demo/ (default $EDLIVE_SHARED/data, ../shared/data)
  --day D        the replay day every stay arrives on (default: the latest day whose replay
                 ends at least 10 minutes before now)
  --stays N      only the first N stays (by arrival time)
  --until T      stop at T (replayed time, RFC 3339, or +HOURS after the replay day's 00:00
                 UTC): the board then holds everyone still in the department
  --concurrency  requests in flight at once (default 4)
  --transport    rest (default): every step through the REST API; hl7: the ADT steps (arrival,
                 triage, vitals, disposition, departure) as HL7 v2 over MLLP to ed-mllp
                 (EDLIVE_MLLP_PORT), the reads through REST
  --json FILE    write the plan's shift, the refusals and the comparison as JSON
  --quiet        only the summary tables`;

export function parseArgs(argv) {
  const o = { speed: 'max', data: null, day: null, stays: null, until: null, concurrency: 4, transport: 'rest', json: null, quiet: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => { if (i + 1 >= argv.length) throw new Error(`${a} needs a value`); return argv[++i]; };
    if (a === '--speed') {
      const v = val();
      if (v === 'max') o.speed = 'max';
      else {
        o.speed = Number(v);
        if (!(o.speed >= 1 && o.speed <= 1000)) throw new Error('--speed: 1 to 1000, or max');
      }
    } else if (a === '--data') o.data = val();
    else if (a === '--day') o.day = val();
    else if (a === '--stays') o.stays = Number(val());
    else if (a === '--until') o.until = val();
    else if (a === '--concurrency') o.concurrency = Math.max(1, Number(val()));
    else if (a === '--transport') { o.transport = val(); if (!['rest', 'hl7'].includes(o.transport)) throw new Error('--transport: rest or hl7'); }
    else if (a === '--json') o.json = val();
    else if (a === '--quiet') o.quiet = true;
    else if (a === '--help' || a === '-h') { o.help = true; }
    else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

// At most n promises-returning jobs at once.
function limiter(n) {
  let active = 0;
  const queue = [];
  const next = () => {
    if (active >= n || !queue.length) return;
    active++;
    const { job, resolve, reject } = queue.shift();
    job().then(resolve, reject).finally(() => { active--; next(); });
  };
  return (job) => new Promise((resolve, reject) => { queue.push({ job, resolve, reject }); next(); });
}

const errorOf = (r) => (r.json && r.json.error) || { status: r.status, code: null, field: null, message: r.text.slice(0, 200) };

// Replays one stay, step by step, at its scheduled wall time. Records refusals in `log`.
async function replayStay(stay, tr, clock, limit, log) {
  let enc = null;
  const fail = (what, r) => log.failures.push({ stay_id: stay.stay_id, what, status: r.status, error: errorOf(r) });
  for (const step of stay.steps) {
    await clock.until(step.sendAt);
    if (step.kind === 'skip') { log.skipped.push({ stay_id: stay.stay_id, source: step.source, why: step.why }); continue; }
    if (step.kind === 'arrival') {
      const r = await limit(() => tr.arrival(stay));
      if (r.status !== 201) { fail('arrival', r); return; }
      enc = r.json.encounter.encounter_id;
      stay.encounterId = enc;
      continue;
    }
    if (step.kind === 'triage') {
      const r = await limit(() => tr.triage(stay, enc, step));
      if (r.status !== 200) fail('triage', r);
      continue;
    }
    if (step.kind === 'vitals') { await replayVitals(stay, enc, step, tr, limit, log); continue; }
    const r = await limit(() => tr[step.kind](stay, enc, step));
    if (r.status !== 200) { fail(step.kind, r); if (step.kind === 'disposition') return; }
  }
}

// One vitals row, as the bedside does: sent whole; a value refused is left out and the rest
// sent again. Every refusal must be one the plan expects; the set edlive keeps must be the
// plan's `kept`.
async function replayVitals(stay, enc, step, tr, limit, log) {
  let meas = { ...step.meas };
  const tried = [];
  for (;;) {
    const r = await limit(() => tr.vitals(stay, enc, step, meas));
    if (r.notSent) {
      // The transport cannot carry this set (HL7: nothing measurable); the REST refusal the plan
      // predicts for it does not apply.
      log.notSent.push({ stay_id: stay.stay_id, source: step.source, why: r.notSent });
      return;
    }
    if (r.status === 201) {
      const sent = Object.keys(meas).sort().join(',');
      const want = Object.keys(step.kept).sort().join(',');
      if (step.rowRefusal || sent !== want) {
        log.failures.push({ stay_id: stay.stay_id, what: `vitals ${step.source}: accepted ${sent}, expected ${step.rowRefusal ? `a refusal (${step.rowRefusal.why})` : want}` });
      } else if (step.triage) {
        stay.triageVitalsId = r.json.vitals.id; // null over HL7: found in the chart by time and values
        stay.triageVitals = { at: step.at, kept: step.kept };
      }
      return;
    }
    const e = errorOf(r);
    const entry = { stay_id: stay.stay_id, encounter_id: enc, source: step.source, taken_at: iso(step.at),
                    status: r.status, code: e.code, field: e.field, message: e.message,
                    value: e.field && e.field in meas ? meas[e.field] : undefined,
                    source_value: e.field && step.raw[e.field] !== undefined ? step.raw[e.field] : undefined };
    // The transport says whether this refusal is the one predicted (HL7: in table 0357 terms).
    const matches = (exp) => (tr.refusalMatches ? tr.refusalMatches(exp, r.status, e)
      : exp.status === r.status && exp.code === e.code && (exp.field === undefined || exp.field === e.field));
    const fieldExp = e.field && step.bad[e.field] && step.bad[e.field].find((b) => matches({ status: 422, code: b.code, field: e.field }));
    const rowExp = step.rowRefusal && matches(step.rowRefusal) ? step.rowRefusal : null;
    if (!fieldExp && !rowExp) {
      entry.expected = false;
      log.refusals.push(entry);
      log.failures.push({ stay_id: stay.stay_id, what: `vitals ${step.source}: unexpected refusal ${r.status} ${e.code} ${e.field}: ${e.message}` });
      return;
    }
    entry.expected = true;
    entry.why = (fieldExp || rowExp).why;
    log.refusals.push(entry);
    tried.push(e.field);
    if (rowExp) return;
    // Leave the refused value out (a systolic takes its diastolic along) and send the rest.
    delete meas[e.field];
    if (e.field === 'systolic_bp' && 'diastolic_bp' in meas) {
      log.refusals.push({ ...entry, code: 'left_out', field: 'diastolic_bp', value: meas.diastolic_bp, status: null,
                          message: 'left out with its systolic (a diastolic needs a systolic)', why: 'left out with its systolic' });
      delete meas.diastolic_bp;
    }
    if (Object.keys(meas).length === 0) {
      if (Object.keys(step.kept).length) log.failures.push({ stay_id: stay.stay_id, what: `vitals ${step.source}: nothing left, expected ${Object.keys(step.kept)}` });
      return;
    }
  }
}

// Source time -> wall time: at --speed N, the step at source time t is sent at
// start + (t - first) / N; at max, at once.
function makeClock(speed, first) {
  const start = Date.now();
  let maxLag = 0;
  return {
    async until(t) {
      if (speed === 'max') return;
      const due = start + (t - first) / speed;
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait);
      else maxLag = Math.max(maxLag, -wait);
    },
    get maxLagMs() { return maxLag; },
  };
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

// Reads edlive's figures and compares them with the expected ones: rows of a table.
async function compare(plan, stays, tr) {
  const rows = [];
  // HL7 charts a set identical to an earlier one of the stay once (expected.mjs acceptedSets).
  const once = tr.identicalSetsOnce === true;
  let identical = 0;
  const add = (figure, period, edlive, csv) => rows.push({ figure, period, edlive, csv, ok: same(edlive, csv) });
  // Metrics of every day from the replay day to the last departure's, and the last 24 hours.
  const lastDay = Math.floor(Math.max(...stays.map((s) => (gone(s) ? s.depart : s.arrive))) / DAY_MS) * DAY_MS;
  const periods = [];
  for (let d = plan.dayMs - DAY_MS; d <= lastDay; d += DAY_MS) periods.push(`date=${iso(d).slice(0, 10)}`);
  periods.push('period=last24h');
  const fields = ['arrivals', 'arrivals_by_hour', 'los_median_min', 'los_count', 'los_discharged_median_min',
    'los_discharged_count', 'boarding_median_min', 'boarding_count', 'lwbs', 'door_to_provider_median_min',
    'door_to_provider_count', 'arrival_to_room_median_min', 'arrival_to_room_count', 'weekday_average_by_hour'];
  for (const q of periods) {
    const r = await tr.metrics(q);
    const label = q.replace(/^(date|period)=/, '');
    if (r.status !== 200) { add('metrics', label, `${r.status} ${r.text.slice(0, 80)}`, 'a reply'); continue; }
    const m = r.json;
    const exp = expectedMetrics(stays, Date.parse(m.from), Date.parse(m.to));
    for (const f of fields) {
      const edl = m[f] === undefined ? 'absent' : (typeof m[f] === 'string' ? Number(m[f]) : m[f]);
      add(f, label, edl, exp[f]);
    }
  }
  // The board now: who is still in the department.
  const board = await tr.board();
  const rowsNow = board.status === 200 ? board.json.encounters : [];
  const onBoard = board.status === 200 ? rowsNow.map((e) => e.encounter_id).sort((a, b) => a - b) : `${board.status}`;
  const inside = stays.filter((s) => !gone(s));
  add('board: patients in the department', 'end', board.status === 200 ? rowsNow.length : null, inside.length);
  add('board: encounters in the department', 'end', onBoard, inside.map((s) => s.encounterId).sort((a, b) => a - b));
  const rowMix = (list) => { const m = {}; for (const x of list) { const k = `ESI ${x.esi} ${x.status}`; m[k] = (m[k] || 0) + 1; } return Object.fromEntries(Object.entries(m).sort()); };
  add('board: ESI and status of its rows', 'end', rowMix(rowsNow), rowMix(inside.map(expectedStay)));
  // Charts: acuity mix, dispositions, status, vitals sets, NEWS2 at triage.
  const mix = (list, key) => { const m = {}; for (const x of list) { const k = String(x[key]); m[k] = (m[k] || 0) + 1; } return Object.fromEntries(Object.entries(m).sort()); };
  const got = [], want = [];
  const perStay = [];
  for (const s of stays) {
    const e = expectedStay(s, { identicalOnce: once });
    want.push(e);
    const r = s.encounterId ? await tr.chart(s.encounterId) : { status: 0 };
    if (r.status !== 200) { got.push({}); perStay.push({ stay_id: s.stay_id, problem: `chart ${r.status}` }); continue; }
    const c = r.json;
    let tri = s.triageVitalsId ? c.vitals.find((v) => v.id === s.triageVitalsId) : null;
    const g = {
      esi: c.encounter.esi, disposition: c.encounter.disposition && c.encounter.disposition.kind,
      status: c.encounter.status, vitals_sets: c.vitals.length,
      triage_news2: tri && tri.news2 ? tri.news2.total : null,
    };
    // Every accepted set, value by value (taken_at and the measurements MIMIC has).
    const names = Object.keys(FIELDS);
    const norm = (taken, v) => JSON.stringify([taken, ...names.map((k) => (v[k] === undefined || v[k] === null ? null : Number(v[k])))]);
    const have = c.vitals.map((v) => norm(Date.parse(v.taken_at), v)).sort();
    if (!tri && s.triageVitals) { // no id (HL7): the set with the triage set's time and values
      const key = norm(s.triageVitals.at, s.triageVitals.kept);
      tri = c.vitals.find((v) => norm(Date.parse(v.taken_at), v) === key) || null;
      g.triage_news2 = tri && tri.news2 ? tri.news2.total : null;
    }
    const sets = acceptedSets(s, { identicalOnce: once });
    identical += acceptedSets(s).length - sets.length;
    const need = sets.map((st) => norm(st.at, st.kept)).sort();
    g.vitals_values = same(have, need);
    e.vitals_values = true;
    got.push(g);
    for (const k of Object.keys(e)) if (!same(g[k], e[k])) perStay.push({ stay_id: s.stay_id, encounter_id: s.encounterId, field: k, edlive: g[k], csv: e[k] });
    if (Date.parse(c.encounter.arrived_at) !== s.arrive) perStay.push({ stay_id: s.stay_id, field: 'arrived_at', edlive: c.encounter.arrived_at, csv: iso(s.arrive) });
    if ((gone(s) ? Date.parse(c.encounter.departed_at) !== s.depart : c.encounter.departed_at !== null)) perStay.push({ stay_id: s.stay_id, field: 'departed_at', edlive: c.encounter.departed_at, csv: iso(s.depart) });
  }
  add('acuity mix (ESI: encounters)', 'all', mix(got, 'esi'), mix(want, 'esi'));
  add('dispositions', 'all', mix(got, 'disposition'), mix(want, 'disposition'));
  add('final status', 'all', mix(got, 'status'), mix(want, 'status'));
  const sum = (l, k) => l.reduce((a, x) => a + (x[k] || 0), 0);
  add('vitals sets recorded', 'all', sum(got, 'vitals_sets'), sum(want, 'vitals_sets'));
  add('stays whose vitals agree value by value', 'all', got.filter((g) => g.vitals_values).length, want.length);
  add('NEWS2 at triage (total: sets)', 'all', mix(got.filter((g) => g.triage_news2 !== null && g.triage_news2 !== undefined), 'triage_news2'),
      mix(want.filter((w) => w.triage_news2 !== null), 'triage_news2'));
  const tot = (l) => { const v = l.map((x) => x.triage_news2).filter((x) => x !== null && x !== undefined); return v.length ? Math.round((v.reduce((a, b) => a + b, 0) / v.length) * 100) / 100 : null; };
  add('NEWS2 at triage (mean total)', 'all', tot(got), tot(want));
  add('per-stay differences (ESI, disposition, status, vitals, NEWS2, times)', 'all', perStay.length, 0);
  return { rows, perStay, identical };
}

const fmt = (v) => (v === null ? 'null' : typeof v === 'object' ? JSON.stringify(v) : String(v));

export function printTable(rows, write = console.log) {
  const short = (v) => { const s = fmt(v); return s.length > 70 ? `${s.slice(0, 67)}...` : s; };
  const w = [8, 44, 12];
  write(`${'result'.padEnd(w[0])}${'figure'.padEnd(w[1])}${'period'.padEnd(w[2])}edlive  |  csv`);
  for (const r of rows) {
    const line = `${(r.ok ? 'ok' : 'DIFFER').padEnd(w[0])}${r.figure.padEnd(w[1])}${r.period.padEnd(w[2])}`;
    if (r.ok) write(`${line}${short(r.edlive)}`);
    else write(`${line}${fmt(r.edlive)}  |  ${fmt(r.csv)}`);
  }
}

export async function main(argv, { write = console.log } = {}) {
  const o = parseArgs(argv);
  if (o.help) { write(USAGE); return { ok: true }; }
  const dataDir = o.data || defaultDataDir(REPO);
  const mimic = loadMimic(dataDir);
  if (!mimic) return { ok: false, skipped: true, reason: `no MIMIC-IV-ED demo under ${dataDir} (mimic-iv-ed-demo/ed/edstays.csv[.gz])` };
  const t0 = Date.now();
  const now = new Date();
  const code = `RPL${iso(now.getTime()).replace(/[-:T]/g, '').slice(2, 14)}`;
  const plan = makePlan(mimic, { day: o.day, now: now.getTime(), tag: code });
  let stays = o.stays ? plan.stays.slice(0, o.stays) : plan.stays;
  if (o.until) {
    const u = /^\+\d+(\.\d+)?h?$/.test(o.until) ? plan.dayMs + parseFloat(o.until.slice(1)) * 3600000 : Date.parse(o.until);
    if (Number.isNaN(u)) throw new Error(`--until ${o.until}: an RFC 3339 time or +HOURS`);
    stays = stays.filter((s) => s.arrive <= u);
    for (const s of stays) s.steps = s.steps.filter((st) => st.sendAt <= u);
    plan.until = u;
  }
  const tr = o.transport === 'hl7' ? new Hl7Transport({ connections: o.concurrency }) : new RestTransport();
  const { departmentId } = await tr.setup({ code, name: `MIMIC-IV-ED demo replay ${plan.day}` });
  write(`replay: transport ${o.transport}${o.transport === 'hl7' ? ` (ADT over MLLP to ed-mllp on port ${process.env.EDLIVE_MLLP_PORT}, reads over REST)` : ''}`);
  write(`replay: ${stays.length} stays of ${dataDir}/mimic-iv-ed-demo (${mimic.files.vitalsign} vitalsign rows) -> department ${departmentId} (${code}), replay day ${plan.day} (UTC), speed ${o.speed}`);
  const shifts = stays.map((s) => s.shift_days);
  write(`time shift: each stay by whole days onto ${plan.day}: ${Math.min(...shifts)} to ${Math.max(...shifts)} days; last replayed time ${plan.until ? `${iso(plan.until)} (--until)` : iso(plan.dayMs + plan.latestOffsetMs)}`);

  const log = { refusals: [], failures: [], skipped: [], notSent: [] };
  const limit = limiter(o.concurrency);
  const first = Math.min(...stays.map((s) => s.steps[0].sendAt));
  const clock = makeClock(o.speed, first);
  await Promise.all(stays.map((s) => replayStay(s, tr, clock, limit, log)));
  const replayMs = Date.now() - t0;
  // Every expected refusal must have happened.
  const seen = new Set(log.refusals.map((r) => `${r.stay_id}|${r.source}`));
  for (const n of log.notSent) seen.add(`${n.stay_id}|${n.source}`);
  for (const s of stays) for (const st of s.steps) {
    if (st.kind === 'vitals' && (st.rowRefusal || Object.keys(st.bad).length) && !seen.has(`${s.stay_id}|${st.source}`))
      log.failures.push({ stay_id: s.stay_id, what: `vitals ${st.source}: expected a refusal, none came` });
  }
  let rows, perStay, identical;
  try {
    ({ rows, perStay, identical } = await compare(plan, stays, tr));
  } finally {
    if (tr.close) tr.close();
  }
  const totalMs = Date.now() - t0;

  if (!o.quiet) {
    write('\nrefused rows (each refusal edlive answered, with its reason):');
    for (const r of log.refusals) {
      write(`  ${r.expected ? 'expected  ' : 'UNEXPECTED'} stay ${r.stay_id} ${r.source.padEnd(29)} ${r.status ?? '   '} ${String(r.code).padEnd(17)} ${String(r.field).padEnd(13)} ${r.value === undefined ? '' : `value ${r.value}${r.field === 'temperature_c' ? ` (source ${r.source_value} °F)` : ''}: `}${r.message}`);
    }
  }
  const reasons = {};
  for (const r of log.refusals) {
    const k = `${r.status ?? '-'} ${r.code} ${r.field}: ${r.why || r.message}`;
    (reasons[k] ||= { n: 0, values: new Set() }).n++;
    if (r.value !== undefined) reasons[k].values.add(r.field === 'temperature_c' ? `${r.source_value} °F = ${r.value} °C` : r.value);
  }
  write('\nrefusals by reason:');
  for (const [k, { n, values }] of Object.entries(reasons).sort((a, b) => b[1].n - a[1].n)) write(`  ${String(n).padStart(4)}  ${k}${values.size ? ` (values ${[...values].sort((a, b) => parseFloat(a) - parseFloat(b)).join(', ')})` : ''}`);
  write(`skipped source rows (nothing charted): ${log.skipped.length}`);
  if (log.notSent.length) write(`sets the transport does not carry (not sent): ${log.notSent.length} (${[...new Set(log.notSent.map((n) => n.why))].join('; ')})`);
  if (identical) write(`sets identical to an earlier set of the stay (same time, same values; MIMIC's copy of the triage set): ${identical}, charted once over HL7 (proto/hl7/ADT_MAPPING.md §1)`);
  write('\ncomparison (edlive | figures computed from the CSV files):');
  printTable(rows, write);
  for (const d of perStay.slice(0, 20)) write(`  stay ${d.stay_id}: ${d.field || ''} edlive ${fmt(d.edlive)} csv ${fmt(d.csv)} ${d.problem || ''}`);
  for (const f of log.failures.slice(0, 50)) write(`FAILURE stay ${f.stay_id}: ${f.what}${f.error ? ` ${f.status} ${JSON.stringify(f.error)}` : ''}`);
  const ok = rows.every((r) => r.ok) && log.failures.length === 0;
  write(`\n${ok ? 'AGREE' : 'DISAGREE'}: ${rows.filter((r) => !r.ok).length} figures differ, ${log.failures.length} failures; ` +
        `${tr.requests} requests, replay ${(replayMs / 1000).toFixed(1)} s, with the comparison ${(totalMs / 1000).toFixed(1)} s` +
        (o.speed === 'max' ? '' : `, largest lag behind schedule ${(clock.maxLagMs / 1000).toFixed(1)} s`));
  const result = { ok, transport: o.transport, department_id: departmentId, code, day: plan.day, stays: stays.length, rows, perStay,
                   refusals: log.refusals, failures: log.failures, skipped_rows: log.skipped, not_sent: log.notSent,
                   requests: tr.requests, replay_ms: replayMs, total_ms: totalMs,
                   shift_days: stays.map((s) => ({ stay_id: s.stay_id, subject_id: s.subject_id, mrn: s.patient.mrn, shift_days: s.shift_days })) };
  if (o.json) fs.writeFileSync(o.json, JSON.stringify(result, null, 1));
  return result;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  main(process.argv.slice(2)).then((r) => {
    if (r.skipped) { console.log(`SKIP: ${r.reason}`); process.exit(77); }
    process.exit(r.ok ? 0 : 1);
  }, (e) => { console.error(`replay: ${e.message}`); process.exit(/^(unknown argument|--)/.test(e.message) ? 2 : 1); });
}
