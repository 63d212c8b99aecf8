// The HL7 v2 transport (--transport hl7): the replay's ADT steps as a registration system sends
// them to ed-mllp over MLLP (proto/hl7/ADT_MAPPING.md), the reads over REST. Same interface as
// rest.mjs's RestTransport: setup(), arrival(), triage(), vitals(), disposition(), departure()
// answering { status, json } (the ACK mapped to the REST answer, below), metrics(), board(),
// chart(), and close(). Node 20 built-ins only: the MLLP framing and the ACK reading are ours.
//
//   arrival      A04: PID from stay.patient, PV1-2 E, PV1-3.1 the replay's department code,
//                PV1-44 and EVN-6 the arrival, PV2-3 the complaint, PV2-38 the arrival mode
//                (table 0430; police and transfer, which 0430 lacks, as PV1-14 table 0023)
//   triage       A08: OBX 75636-1 (ESI) with OBX-14 the triage time, PV2-3 the complaint
//   vitals       A08: one OBX per measurement (LOINC of §4.6, NM, OBX-14 taken_at, OBX-16 the
//                replay nurse's staff.hl7_id, set with `edlivectl staff hl7-id`; empty when
//                that fails: ed-mllp's interface staff member records it)
//   disposition  admit: A06 (EVN-6 decided_at, PV1-2 I); any other kind travels with the
//                departure (answered { status: 200, json: { deferred } } without a message)
//   departure    A03: PV1-36 the table 0112 code of the disposition (not for an admit, which
//                the A06 recorded), PV1-45 and EVN-6 the departure
//
// Every time is an HL7 DTM with an explicit +0000. The encounter id of an arrival, which an ACK
// does not carry, is read from the department's board by MRN (one board read serves every
// arrival waiting for it).
//
// ACK to reply: AA -> 201 (arrival, vitals) or 200; AE/AR -> the status the REST route answers
// for the same refusal, with error { code, field, message, hl7 } where hl7 is the table 0357 code
// and field is the REST name of the position in ERR-2 (the vital of the OBX named, taken_at for
// OBX-14, ...): 204 (no open encounter) -> 409 conflict, 205/206 -> 409 conflict, 101 -> 422
// missing_field, 102/103 -> 422 invalid_value, 207 -> 503, an AR -> 400. refusalMatches() says
// whether a refusal the plan predicts for REST is the one ADT_MAPPING.md gives over HL7.
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import { RestTransport } from './rest.mjs';

const VT = 0x0b, FS = 0x1c, CR = 0x0d;

// HL7 DTM with an explicit offset.
export const dtm = (ms) => `${new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14)}+0000`;

// Text escaped for |^~\& (ADT_MAPPING: values read back unescaped); newlines as \.br\.
export function esc(s) {
  return String(s).replace(/\\/g, '\\E\\').replace(/\|/g, '\\F\\').replace(/\^/g, '\\S\\')
    .replace(/~/g, '\\R\\').replace(/&/g, '\\T\\').replace(/\r\n|\r|\n/g, '\\.br\\');
}

// §4.6: the LOINC code and unit of each vitals field the replay sends.
export const VITAL_OBX = {
  heart_rate: ['8867-4', 'Heart rate', '/min'],
  resp_rate: ['9279-1', 'Respiratory rate', '/min'],
  systolic_bp: ['8480-6', 'Systolic blood pressure', 'mm[Hg]'],
  diastolic_bp: ['8462-4', 'Diastolic blood pressure', 'mm[Hg]'],
  spo2: ['59408-5', 'Oxygen saturation by pulse oximetry', '%'],
  temperature_c: ['8310-5', 'Body temperature', 'Cel'],
  pain: ['72514-3', 'Pain severity 0-10', '{score}'],
};
// §4.3: disposition kind -> PV1-36 (table 0112, and the two local codes).
export const DISCHARGE_CODE = { discharge: '01', transfer: '02', ama: '07', admit: '09', deceased: '20', lwbs: 'LWBS', eloped: 'ELOPED', other: 'OTH' };
// §4.4: arrival mode -> PV2-38 (table 0430) or, for what 0430 has not, PV1-14 (table 0023).
const MODE_0430 = { ambulance: 'A', helicopter: 'H', walk_in: 'F', other: 'O' };
const SOURCE_0023 = { transfer: '4', police: '8' };
const SEX_0001 = { female: 'F', male: 'M', other: 'O', unknown: 'U' };

// One MLLP connection: one message in flight at a time (the sender waits for each ACK).
class MllpConnection {
  constructor(host, port) {
    this.host = host;
    this.port = port;
    this.sock = null;
    this.buf = Buffer.alloc(0);
    this.waiting = null;
    this.busy = false;
  }

  connect() {
    if (this.sock) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const sock = net.connect({ host: this.host, port: this.port });
      sock.once('connect', () => { this.sock = sock; resolve(); });
      sock.once('error', (e) => { if (!this.sock) reject(new Error(`ed-mllp at ${this.host}:${this.port}: ${e.message}`)); });
      sock.on('data', (d) => this.onData(d));
      sock.on('close', () => {
        this.sock = null;
        this.buf = Buffer.alloc(0);
        if (this.waiting) { this.waiting.reject(new Error('ed-mllp closed the connection before the ACK')); this.waiting = null; }
      });
    });
  }

  onData(d) {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      const start = this.buf.indexOf(VT);
      if (start < 0) { this.buf = Buffer.alloc(0); return; }
      const end = this.buf.indexOf(FS, start);
      if (end < 0 || end + 1 >= this.buf.length) return;
      const text = this.buf.subarray(start + 1, end).toString('utf8');
      this.buf = this.buf.subarray(end + (this.buf[end + 1] === CR ? 2 : 1));
      const w = this.waiting;
      this.waiting = null;
      if (w) { clearTimeout(w.timer); w.resolve(text); }
    }
  }

  async send(text, timeoutMs = 30000) {
    await this.connect();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.waiting = null; reject(new Error(`no ACK within ${timeoutMs} ms`)); this.sock?.destroy(); }, timeoutMs);
      this.waiting = { resolve, reject, timer };
      const body = Buffer.from(text, 'utf8');
      this.sock.write(Buffer.concat([Buffer.from([VT]), body, Buffer.from([FS, CR])]));
    });
  }

  close() { if (this.sock) this.sock.end(); }
}

// The ACK's MSA and ERR segments.
export function readAck(text) {
  const segs = text.split(/\r\n|\r|\n/).filter(Boolean).map((l) => l.split('|'));
  const msa = segs.find((s) => s[0] === 'MSA') || [];
  const msh = segs.find((s) => s[0] === 'MSH') || [];
  const errors = segs.filter((s) => s[0] === 'ERR').map((s) => {
    let loc = (s[2] || '').split('^');
    let code = Number((s[3] || '').split('^')[0]);
    if (!loc[0] && s[1]) { // v2.3 / v2.4: ERR-1 segment^sequence^field^code&text&HL70357
      const eld = s[1].split('^');
      loc = eld.slice(0, 3);
      code = Number((eld[3] || '').split('&')[0]);
    }
    return { segment: loc[0] || '', seq: Number(loc[1]) || 0, field: Number(loc[2]) || 0, code, severity: s[4] || '', message: s[8] || '' };
  });
  return { code: msa[1] || '', controlId: msa[2] || '', type: msh[8] || '', errors };
}

export class Hl7Transport {
  constructor({ mllpPort = process.env.EDLIVE_MLLP_PORT, host = '127.0.0.1', connections = 4, ...rest } = {}) {
    if (!mllpPort) throw new Error('EDLIVE_MLLP_PORT is not set: run ". .state/local/env" (or .state/test/env) first');
    this.rest = new RestTransport(rest);
    this.pool = Array.from({ length: Math.max(1, connections) }, () => new MllpConnection(host, Number(mllpPort)));
    this.messages = 0;
    this.serial = 0;
    this.boardReads = 0;
    this.pendingIds = null; // the board read in flight for arrivals: Promise<Map mrn -> id>
    this.kindOf = new Map(); // stay_id -> disposition kind sent with the departure
    // ed-mllp charts a vitals set identical (time and values) to one on the chart once: a
    // registration system repeating a visit's OBX (ADT_MAPPING.md §1 step 5).
    this.identicalSetsOnce = true;
  }

  get requests() { return this.rest.requests + this.messages; }
  get name() { return 'hl7'; }

  async setup(args) {
    const r = await this.rest.setup(args);
    this.code = args.code;
    // OBX-16: the nurse's staff.hl7_id (ADT_MAPPING §3.4, `edlivectl staff hl7-id`); a build
    // without it leaves OBX-16 empty (ed-mllp's interface staff member takes the sets).
    this.nurseHl7 = '';
    const set = spawnSync(this.rest.ctl, ['staff', 'hl7-id', String(r.nurseStaffId), `${args.code}-RN`],
      { encoding: 'utf8', env: { ...process.env, EDLIVE_PG: this.rest.pgOwner } });
    if (set.status === 0) this.nurseHl7 = `${args.code}-RN`;
    return r;
  }

  close() { for (const c of this.pool) c.close(); }

  // The least busy connection; each carries one message at a time.
  async exchange(text) {
    let c = this.pool.find((x) => !x.busy);
    while (!c) {
      await new Promise((r) => setTimeout(r, 1));
      c = this.pool.find((x) => !x.busy);
    }
    c.busy = true;
    this.messages++;
    try {
      return await c.send(text);
    } finally {
      c.busy = false;
    }
  }

  // MSH, EVN, PID, PV1 (fields given by position), then the rest.
  message(trigger, structure, stay, at, pv1 = {}, extra = []) {
    const now = dtm(Date.now());
    const id = `${this.code}-${++this.serial}`;
    const p = stay.patient;
    const fields = ['PV1', '1', 'E', esc(this.code)];
    for (const [k, v] of Object.entries(pv1)) fields[Number(k)] = v;
    const segs = [
      `MSH|^~\\&|MIMICREPLAY|REPLAY|EDLIVE|${this.code}|${now}||ADT^${trigger}^${structure}|${id}|P|2.5.1`,
      `EVN|${trigger}|${now}||||${dtm(at)}`,
      `PID|1||${esc(p.mrn)}^^^REPLAY^MR||${esc(p.family_name)}^${esc(p.given_name)}^^^^^L||${p.birth_date.replace(/-/g, '')}|${SEX_0001[p.sex] || 'U'}`,
      Array.from(fields, (x) => x ?? '').join('|'),
      ...extra,
    ];
    return { id, text: segs.join('\r') };
  }

  // Sends, reads the ACK, answers as the REST route would. obx: the REST field of each OBX.
  async send(msg, okStatus, obx = []) {
    const ackText = await this.exchange(msg.text);
    const ack = readAck(ackText);
    if (ack.controlId !== msg.id) return { status: 502, json: null, text: `ACK for ${ack.controlId || '(none)'}, not ${msg.id}`, ack };
    if (ack.code === 'AA') return { status: okStatus, json: { ack: 'AA', warnings: ack.errors }, text: '', ack };
    const e = ack.errors.find((x) => x.severity !== 'W') || ack.errors[0] || { code: 0, segment: '', field: 0, seq: 0, message: '' };
    let status, code;
    if (ack.code === 'AR') { status = 400; code = 'hl7_rejected'; }
    else if ([204, 205, 206].includes(e.code)) { status = 409; code = 'conflict'; }
    else if (e.code === 101) { status = 422; code = 'missing_field'; }
    else if (e.code === 102 || e.code === 103) { status = 422; code = 'invalid_value'; }
    else { status = 503; code = 'hl7_internal'; }
    // A refusal of the whole encounter (409) names no field, as the REST route's does.
    let field = e.segment && status !== 409 ? `${e.segment}-${e.field}` : null;
    if (status === 409) { /* field stays null; hl7_at has the position */ }
    else if (e.segment === 'OBX') field = e.field === 14 ? 'taken_at' : (obx[(e.seq || 1) - 1] ?? field);
    else if (e.segment === 'PV1' && e.field === 44) field = 'arrived_at';
    else if (e.segment === 'PV1' && e.field === 45) field = 'departed_at';
    const error = { code, field, message: e.message, hl7: e.code, hl7_ack: ack.code, hl7_at: e.segment ? `${e.segment}-${e.field}` : null };
    return { status, json: { error }, text: `${ack.code} ${e.code} ${error.hl7_at || ''} ${e.message}`, ack };
  }

  // Whether a refusal the plan predicts (REST terms) is the one the HL7 contract gives: an
  // ended encounter (409) is no open encounter, AE 204; a value refused by the record's rules
  // (422 out_of_range, implausible_value, wrong_type, invalid_value) is AE 102 at its OBX
  // (OBX-14 for taken_at); the field must be the same.
  refusalMatches(expected, status, error) {
    if (!error || error.hl7_ack !== 'AE') return false;
    if (expected.status === 409) return error.hl7 === 204;
    if (expected.status === 422 && ['out_of_range', 'implausible_value', 'wrong_type', 'invalid_value'].includes(expected.code)) {
      return error.hl7 === 102 && (expected.field === undefined || expected.field === error.field);
    }
    return false;
  }

  // The encounter id of an MRN from the board (one read for every arrival waiting).
  async encounterOf(mrn) {
    for (let attempt = 0; attempt < 3; attempt++) {
      if (!this.pendingIds) {
        this.pendingIds = (async () => {
          await new Promise((r) => setTimeout(r, 5)); // let arrivals answered meanwhile join
          this.pendingIds = null;
          this.boardReads++;
          const b = await this.rest.board();
          const ids = new Map();
          if (b.status === 200) for (const e of b.json.encounters) if (e.patient && e.patient.mrn) ids.set(e.patient.mrn, e.encounter_id);
          return ids;
        })();
      }
      const ids = await this.pendingIds;
      if (ids.has(mrn)) return ids.get(mrn);
    }
    return null;
  }

  async arrival(stay) {
    const pv1 = { 44: dtm(stay.arrive) };
    if (SOURCE_0023[stay.arrival_mode]) pv1[14] = SOURCE_0023[stay.arrival_mode];
    const pv2 = ['PV2', '', '', `^${esc(stay.chief_complaint)}`];
    if (MODE_0430[stay.arrival_mode]) pv2[38] = MODE_0430[stay.arrival_mode];
    const msg = this.message('A04', 'ADT_A01', stay, stay.arrive, pv1, [Array.from(pv2, (x) => x ?? '').join('|')]);
    const r = await this.send(msg, 201);
    if (r.status !== 201) return r;
    const id = await this.encounterOf(stay.patient.mrn);
    if (!id) return { status: 502, json: null, text: 'AA, but the board has no row with this MRN' };
    return { ...r, json: { ...r.json, encounter: { encounter_id: id } } };
  }

  triage(stay, enc, step) {
    const obx = `OBX|1|NM|75636-1^Emergency severity index^LN||${stay.esi}||||||F|||${dtm(step.at)}`;
    const msg = this.message('A08', 'ADT_A01', stay, step.at, {}, [`PV2|||^${esc(stay.chief_complaint)}`, obx]);
    return this.send(msg, 200, ['esi']);
  }

  async vitals(stay, enc, step, meas) {
    const names = Object.keys(meas).filter((k) => VITAL_OBX[k]);
    // Nothing measurable (only free-text pain): an A08 without an OBX carries no vitals set,
    // so nothing is sent (the REST route refuses such a set: 422 invalid_value).
    if (!names.length) return { status: 0, json: null, text: '', notSent: 'no measurement: an A08 without a vitals OBX carries nothing' };
    const obx = names.map((k, i) => {
      const [loinc, text, unit] = VITAL_OBX[k];
      return `OBX|${i + 1}|NM|${loinc}^${text}^LN||${meas[k]}|${unit}|||||F|||${dtm(step.at)}||${this.nurseHl7}`;
    });
    const msg = this.message('A08', 'ADT_A01', stay, step.at, {}, obx);
    const r = await this.send(msg, 201, names);
    if (r.status === 201) r.json.vitals = { id: null };
    return r;
  }

  async disposition(stay, enc, step) {
    if (stay.disposition !== 'admit') {
      this.kindOf.set(stay.stay_id, stay.disposition);
      return { status: 200, json: { deferred: `sent with the departure (A03 PV1-36 ${DISCHARGE_CODE[stay.disposition]})` }, text: '' };
    }
    const msg = this.message('A06', 'ADT_A06', stay, step.at, { 2: 'I', 10: 'MED' });
    return this.send(msg, 200);
  }

  departure(stay, enc, step) {
    const pv1 = { 45: dtm(step.at) };
    const kind = this.kindOf.get(stay.stay_id);
    if (kind) pv1[36] = DISCHARGE_CODE[kind];
    return this.send(this.message('A03', 'ADT_A03', stay, step.at, pv1), 200);
  }

  metrics(query) { return this.rest.metrics(query); }
  board() { return this.rest.board(); }
  chart(enc) { return this.rest.chart(enc); }
}
