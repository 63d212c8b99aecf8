// Reads the MIMIC-IV-ED demo (../shared/data/mimic-iv-ed-demo/ed/*.csv[.gz]) and, when it is
// there, the MIMIC-IV hosp demo beside it (patients: age; admissions: the admit time). Plain
// RFC 4180 CSV, gzip or not. Node built-ins only.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

// The data folder: --data, else $EDLIVE_SHARED/data, else ../shared/data beside the checkout.
export function defaultDataDir(repo) {
  const shared = process.env.EDLIVE_SHARED || path.resolve(repo, '../shared');
  return path.join(shared, 'data');
}

// One table as an array of objects keyed by the header, or null when the file is absent.
export function readTable(dir, name) {
  for (const file of [`${name}.csv.gz`, `${name}.csv`]) {
    const p = path.join(dir, file);
    if (!fs.existsSync(p)) continue;
    let buf = fs.readFileSync(p);
    if (file.endsWith('.gz')) buf = zlib.gunzipSync(buf);
    return parseCsv(buf.toString('utf8'));
  }
  return null;
}

export function parseCsv(text) {
  const rows = [];
  let row = [], field = '', quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') { field += '"'; i++; } else quoted = false;
      } else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field); field = '';
      if (row.length > 1 || row[0] !== '') rows.push(row);
      row = [];
    } else field += c;
  }
  if (field !== '' || row.length) { row.push(field); rows.push(row); }
  const [header, ...body] = rows;
  return body.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i] ?? ''])));
}

// MIMIC's TIMESTAMP(0) "2125-03-19 12:36:00" as milliseconds, read as UTC wall time.
export const mimicTime = (s) => Date.parse(`${s.replace(' ', 'T')}Z`);

// Everything the replay needs from the source files, per stay, in intime order.
export function loadMimic(dataDir) {
  const ed = path.join(dataDir, 'mimic-iv-ed-demo', 'ed');
  const hosp = path.join(dataDir, 'mimic-iv-demo-hosp', 'hosp');
  const edstays = readTable(ed, 'edstays');
  if (!edstays) return null;
  const triage = readTable(ed, 'triage') || [];
  const vitalsign = readTable(ed, 'vitalsign') || [];
  const patients = readTable(hosp, 'patients') || [];
  const admissions = readTable(hosp, 'admissions') || [];
  const triageBy = new Map(triage.map((t) => [t.stay_id, t]));
  const vitalsBy = new Map();
  for (const v of vitalsign) {
    if (!vitalsBy.has(v.stay_id)) vitalsBy.set(v.stay_id, []);
    vitalsBy.get(v.stay_id).push(v);
  }
  const patientBy = new Map(patients.map((p) => [p.subject_id, p]));
  const admissionBy = new Map(admissions.map((a) => [a.hadm_id, a]));
  const stays = edstays.map((s) => ({
    ...s,
    triage: triageBy.get(s.stay_id) || null,
    vitals: (vitalsBy.get(s.stay_id) || []).sort((a, b) => mimicTime(a.charttime) - mimicTime(b.charttime)),
    patient: patientBy.get(s.subject_id) || null,
    admission: s.hadm_id ? admissionBy.get(s.hadm_id) || null : null,
  }));
  stays.sort((a, b) => mimicTime(a.intime) - mimicTime(b.intime) || Number(a.stay_id) - Number(b.stay_id));
  return {
    stays,
    files: { edstays: edstays.length, triage: triage.length, vitalsign: vitalsign.length,
             patients: patients.length, admissions: admissions.length },
  };
}
