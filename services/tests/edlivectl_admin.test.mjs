// edlivectl's operator commands (issue 15, services/ctl/README.md): `migrate status`,
// departments and beds (create, rename, retire: audited, a department.layout event that makes
// open boards read a fresh snapshot, a retired row kept and refusing new patients) and
// accounts (create, reset password, enrol TOTP, disable, list). Runs against the deployment
// deploy/local/test started, in a department of its own so no other test's board changes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { requireEnv } from './lib/env.mjs';
import { sql, ctl, lit, Api, openSocket } from './lib/client.mjs';
import { signIn } from './lib/auth.mjs';
import { applyEvent, fromSnapshot, StaleBoardError } from '../../web/js/board_model.js';

const env = requireEnv('EDLIVE_PG_OWNER', 'EDLIVE_BUILD', 'EDLIVE_API_URL', 'EDLIVE_HUB_URL', 'EDLIVE_MLLP_PORT');
const OWNER = env.EDLIVE_PG_OWNER;
const tag = String(Date.now() % 1e8);
const CODE = `OPS${tag}`;
const NURSE = `ops.charge${tag}`; // a charge nurse: registers arrivals and moves beds
const PASSWORD = 'ops-test-password-1';
const ctx = {};

const audits = (action, detail) =>
  Number(sql(OWNER, `SELECT count(*) FROM audit_log WHERE action = ${lit(action)} AND detail = ${lit(detail)}`));
// A FHIR read or search as a FHIR client makes it (application/fhir+json).
const fhir = async (path) => {
  const res = await fetch(`${env.EDLIVE_API_URL.replace(/\/+$/, '')}/fhir/R4/${path}`,
    { headers: { accept: 'application/fhir+json', authorization: `Bearer ${ctx.token}` } });
  return { status: res.status, json: await res.json() };
};
const searched = async (query) => {
  const r = await fhir(`Location?${query}&_count=50`);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return new Map((r.json.entry ?? []).map((e) => [Number(e.resource.id), e.resource]));
};
// One HL7 v2 message to ed-mllp; the ACK's text.
const mllp = (message) => new Promise((resolve, reject) => {
  const sock = net.connect(Number(env.EDLIVE_MLLP_PORT), '127.0.0.1');
  let buf = '';
  const timer = setTimeout(() => { sock.destroy(); reject(new Error('no ACK in 10 s')); }, 10000);
  sock.on('connect', () => sock.write(Buffer.concat([Buffer.from([0x0b]), Buffer.from(message), Buffer.from([0x1c, 0x0d])])));
  sock.on('data', (d) => {
    buf += d.toString('utf8');
    if (buf.includes('\x1c\r')) { clearTimeout(timer); sock.destroy(); resolve(buf.slice(1, buf.indexOf('\x1c'))); }
  });
  sock.on('error', (e) => { clearTimeout(timer); reject(e); });
});
const ok = (r, what) => {
  assert.equal(r.status, 0, `${what}: exit ${r.status}, ${r.stderr}`);
  return r.stdout;
};

before(async () => {
  const made = ok(ctl(['department', 'create', CODE, 'Ops test ED']), 'department create');
  ctx.dept = Number(/department (\d+) \(/.exec(made)[1]);
  // A nurse of the new department, made by edlivectl like an operator would.
  ctx.staff = Number(sql(OWNER, `WITH s AS (INSERT INTO staff (display_name, role) VALUES ('Ops Charge ${tag}', 'charge_nurse') RETURNING id)
    , d AS (INSERT INTO staff_department (staff_id, department_id) SELECT id, ${ctx.dept} FROM s) SELECT id FROM s`));
  ok(ctl(['user', 'add', NURSE, 'charge_nurse', String(ctx.staff)], { input: `${PASSWORD}\n` }), 'user add');
});

after(() => {
  ctx.socket?.close();
});

test('migrate status: every migration applied, exit 0; a database missing one says which, exit 3', () => {
  const r = ctl(['migrate', 'status']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /applied\s+0001_core\.sql/);
  assert.match(r.stdout, /applied\s+0019_retire\.sql/);
  assert.match(r.stdout, /migrate status: current/);
  assert.doesNotMatch(r.stdout, /PENDING/);
  // As the deployment would look with this release's newest migration not yet applied.
  sql(OWNER, "UPDATE schema_migrations SET name = '0019_retire.sql.moved' WHERE name = '0019_retire.sql'");
  try {
    const pending = ctl(['migrate', 'status']);
    assert.equal(pending.status, 3, pending.stdout);
    assert.match(pending.stdout, /PENDING\s+0019_retire\.sql/);
    assert.match(pending.stdout, /1 of \d+ migrations pending/);
  } finally {
    sql(OWNER, "UPDATE schema_migrations SET name = '0019_retire.sql' WHERE name = '0019_retire.sql.moved'");
  }
});

test('department create: audited, listed; a bad code or a taken one is refused naming it', () => {
  assert.equal(audits('department.create', `department ${ctx.dept} created`), 1);
  assert.match(ok(ctl(['department', 'list']), 'list'), new RegExp(`^${ctx.dept}\\s+${CODE}\\s+0\\s+-\\s+Ops test ED$`, 'm'));
  const bad = ctl(['department', 'create', 'lower-case', 'X']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /department code: 1-16 of A-Z, 0-9 and _, not lower-case/);
  const taken = ctl(['department', 'create', CODE, 'Again']);
  assert.equal(taken.status, 1);
  assert.match(taken.stderr, /a department with this code exists/);
  const badId = ctl(['department', 'rename', 'seven', 'X']);
  assert.equal(badId.status, 2);
  assert.match(badId.stderr, /department id must be a positive integer, not seven/);
});

test('beds: created, renamed on an open board (fresh snapshot after the layout event), retired off the board but kept', async () => {
  const made = ok(ctl(['bed', 'create', String(ctx.dept), 'R1', 'resus']), 'bed create');
  const bed = Number(/bed (\d+) created/.exec(made)[1]);
  ok(ctl(['bed', 'create', String(ctx.dept), 'A1', 'acute']), 'second bed');
  assert.equal(audits('bed.create', `bed ${bed} created`), 1);
  assert.equal(ctl(['bed', 'create', String(ctx.dept), 'R1', 'acute']).status, 1, 'a second current R1');
  const badArea = ctl(['bed', 'create', String(ctx.dept), 'X9', 'corridor']);
  assert.equal(badArea.status, 2);
  assert.match(badArea.stderr, /bed area: resus, acute, fast_track, hallway or waiting_room, not corridor/);

  const signed = await signIn(env.EDLIVE_API_URL, NURSE, { password: PASSWORD });
  assert.equal(signed.status, 201, 'the account edlivectl made signs in');
  ctx.api = new Api(signed.token);
  ctx.token = signed.token;

  // A board open before the rename.
  ctx.socket = await openSocket(ctx.token);
  ctx.socket.subscribe('board', ctx.dept, 0);
  const snap = await ctx.socket.waitFor((f) => f.type === 'snapshot', 'the board snapshot');
  assert.deepEqual(snap.board.beds.map((b) => b.label), ['R1', 'A1']);
  const from = ctx.socket.frames.length;

  ok(ctl(['bed', 'rename', String(bed), 'Resus 1']), 'bed rename');
  assert.equal(audits('bed.rename', `bed ${bed} renamed`), 1);
  const ev = await ctx.socket.waitFor((f) => f.type === 'event' && f.event === 'department.layout', 'the layout event', 8000, from);
  assert.equal(ev.encounter_id, null);
  assert.equal(ev.payload.timeline.summary, 'Bed R1 renamed Resus 1');
  // The pages' board model cannot apply it: the page resynchronises (board_model.js).
  assert.throws(() => applyEvent(fromSnapshot(snap.board), ev), StaleBoardError);
  // The snapshot it then gets (from the hub's memory, which re-read the board) has the new label.
  const again = await openSocket(ctx.token);
  again.subscribe('board', ctx.dept, 0);
  const fresh = await again.waitFor((f) => f.type === 'snapshot', 'a fresh snapshot');
  again.close();
  assert.ok(fresh.seq >= ev.seq);
  assert.deepEqual(fresh.board.beds.map((b) => b.label), ['Resus 1', 'A1']);
  const apiBoard = await ctx.api.get(`/departments/${ctx.dept}/board`);
  assert.deepEqual(apiBoard.json.beds.map((b) => b.label), ['Resus 1', 'A1']);

  // A patient in the bed: it cannot be retired.
  const arrival = await ctx.api.post(`/departments/${ctx.dept}/arrivals`, {
    patient: { mrn: `OPS-${tag}`, family_name: 'Opstest', given_name: 'Ann', birth_date: '1970-01-01', sex: 'female' },
    arrival_mode: 'walk_in', chief_complaint: 'edlivectl test',
  });
  assert.equal(arrival.status, 201, arrival.text);
  const enc = arrival.json.encounter.encounter_id;
  assert.equal((await ctx.api.post(`/encounters/${enc}/bed`, { bed_id: bed })).status, 200);
  // Renamed with the patient in it: a fresh snapshot's row names the bed by its new label.
  const from2 = ctx.socket.frames.length;
  ok(ctl(['bed', 'rename', String(bed), 'Resus One']), 'rename an occupied bed');
  await ctx.socket.waitFor((f) => f.type === 'event' && f.event === 'department.layout', 'the second layout event', 8000, from2);
  const third = await openSocket(ctx.token);
  third.subscribe('board', ctx.dept, 0);
  const rowSnap = await third.waitFor((f) => f.type === 'snapshot', 'a snapshot after the second rename');
  third.close();
  assert.equal(rowSnap.board.encounters.find((r) => r.encounter_id === enc).bed.label, 'Resus One');
  const busy = ctl(['bed', 'retire', String(bed)]);
  assert.equal(busy.status, 1);
  assert.match(busy.stderr, new RegExp(`a patient is in bed ${bed}: move the patient first`));

  // Moved out, the bed is retired: off the board, still in the history, refusing patients.
  const other = Number(sql(OWNER, `SELECT id FROM bed WHERE department_id = ${ctx.dept} AND label = 'A1'`));
  assert.equal((await ctx.api.post(`/encounters/${enc}/bed`, { bed_id: other })).status, 200);
  ok(ctl(['bed', 'retire', String(bed)]), 'bed retire');
  assert.equal(audits('bed.retire', `bed ${bed} retired`), 1);
  const board = await ctx.api.get(`/departments/${ctx.dept}/board`);
  assert.deepEqual(board.json.beds.map((b) => b.label), ['A1']);
  assert.equal(Number(sql(OWNER, `SELECT count(*) FROM encounter_location WHERE encounter_id = ${enc} AND bed_id = ${bed}`)), 1,
    'the location history still names the retired bed');
  const back = await ctx.api.post(`/encounters/${enc}/bed`, { bed_id: bed });
  assert.equal(back.status, 409, back.text);
  assert.match(back.text, /retired/);
  assert.throws(() => sql(OWNER, `UPDATE encounter SET bed_id = ${bed} WHERE id = ${enc}`), /retired/,
    'the trigger refuses a path that skips the record');
  assert.match(ok(ctl(['bed', 'list', String(ctx.dept)]), 'bed list'), new RegExp(`^${bed}\\s+resus\\s+\\d{4}-`, 'm'));
  // Its label is free again for a new bed.
  ok(ctl(['bed', 'create', String(ctx.dept), 'Resus One', 'resus']), 'a new bed with the old label');
  assert.equal(ctl(['bed', 'rename', String(bed), 'Z']).status, 1, 'a retired bed is not renamed');
  assert.equal(back.json.error.field, 'bed_id', 'the refusal names the field');

  // FHIR: the retired bed stays readable (the location history refers to it) as an inactive,
  // Closed Location; a search lists it unless asked for status=active.
  const loc = await fhir(`Location/${bed}`);
  assert.equal(loc.status, 200);
  assert.equal(loc.json.status, 'inactive');
  assert.equal(loc.json.operationalStatus.code, 'C');
  const all = await searched('');
  assert.equal(all.get(bed)?.status, 'inactive', 'a plain search lists the retired bed as inactive');
  assert.equal(all.get(other)?.status, 'active');
  const current = await searched('status=active');
  assert.ok(!current.has(bed) && current.has(other), 'status=active leaves the retired bed out');
  assert.deepEqual([...(await searched('status=inactive')).keys()], [bed]);
  assert.equal((await searched('status=suspended')).size, 0);
  assert.equal((await fhir('Location?status=closed')).status, 400);

  // HL7: an ADT naming a retired bed is refused (AE) with the reason in ERR, and nothing applied.
  const h9 = Number(/bed (\d+) created/.exec(ok(ctl(['bed', 'create', String(ctx.dept), 'H9', 'hallway']), 'bed H9'))[1]);
  ok(ctl(['bed', 'retire', String(h9)]), 'retire H9');
  const now = new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14) + '+0000';
  const msgId = `OPSH9${tag}`;
  const ack = await mllp([
    `MSH|^~\\&|OPSTEST|HOSP|EDLIVE|ED|${now}||ADT^A04^ADT_A01|${msgId}|P|2.5.1`,
    `EVN|A04|${now}`, `PID|1||OPSH9-${tag}^^^HOSP^MR||Opstest^Hal||19800101|M`,
    `PV1|1|E|${CODE}^^H9`, 'PV2|||^edlivectl test', ''].join('\r'));
  assert.match(ack, new RegExp(`MSA\\|AE\\|${msgId}`), ack);
  assert.match(ack, /\rERR\|[^\r]*this bed is retired/, ack);
  assert.equal(Number(sql(OWNER, `SELECT count(*) FROM patient WHERE mrn = ${lit(`OPSH9-${tag}`)}`)), 0, 'nothing applied');

  // The department: renamed, then retired once its patient has left; arrivals refused.
  ok(ctl(['department', 'rename', String(ctx.dept), 'Ops test ED (old wing)']), 'department rename');
  assert.equal((await ctx.api.get(`/departments/${ctx.dept}/board`)).json.department.name, 'Ops test ED (old wing)');
  const occupied = ctl(['department', 'retire', String(ctx.dept)]);
  assert.equal(occupied.status, 1);
  assert.match(occupied.stderr, /has 1 patients on its board/);
  const decided = await ctx.api.post(`/encounters/${enc}/disposition`, { kind: 'discharge' });
  assert.ok(decided.status < 300, decided.text);
  const gone = await ctx.api.post(`/encounters/${enc}/departure`, {});
  assert.ok(gone.status < 300, gone.text);
  ok(ctl(['department', 'retire', String(ctx.dept)]), 'department retire');
  assert.equal(audits('department.retire', `department ${ctx.dept} retired`), 1);
  const refused = await ctx.api.post(`/departments/${ctx.dept}/arrivals`, {
    patient: { mrn: `OPS2-${tag}`, family_name: 'Opstest', given_name: 'Bob', birth_date: '1970-01-01', sex: 'male' },
    arrival_mode: 'walk_in', chief_complaint: 'edlivectl test',
  });
  assert.equal(refused.status, 409, refused.text);
  assert.match(refused.text, /retired/);
  assert.equal(Number(sql(OWNER, `SELECT count(*) FROM encounter WHERE department_id = ${ctx.dept}`)), 1, 'its history stays');
  const listed = await ctx.api.get('/departments');
  assert.equal(listed.status, 200);
  assert.ok(!listed.json.departments.some((d) => d.id === ctx.dept), 'a retired department is not listed');
  // HL7: an arrival (A04) in the retired department is refused with the reason.
  const at = new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14) + '+0000';
  const closedId = `OPSRD${tag}`;
  const closed = await mllp([
    `MSH|^~\\&|OPSTEST|HOSP|EDLIVE|ED|${at}||ADT^A04^ADT_A01|${closedId}|P|2.5.1`,
    `EVN|A04|${at}`, `PID|1||OPSRD-${tag}^^^HOSP^MR||Opstest^Rae||19800101|F`,
    `PV1|1|E|${CODE}`, 'PV2|||^edlivectl test', ''].join('\r'));
  assert.match(closed, new RegExp(`MSA\\|AE\\|${closedId}`), closed);
  assert.match(closed, /\rERR\|[^\r]*this department is retired/, closed);
  // FHIR: the retired department and all its beds are inactive Locations.
  assert.equal((await fhir(`Location/dept-${ctx.dept}`)).json.status, 'inactive');
  assert.equal((await searched('status=active')).size, 0, 'no bed of a retired department is active');
  assert.ok([...(await searched('')).values()].every((l) => l.status === 'inactive'));
});

test('accounts: password reset from stdin ends sessions, TOTP enrolment prints the URI once, list shows no secret', async () => {
  const token = ctx.token || (await signIn(env.EDLIVE_API_URL, NURSE, { password: PASSWORD })).token;
  const r = ctl(['user', 'password', NURSE], { input: 'a-new-password-2\n' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(audits('account.password', `account ${sql(OWNER, `SELECT id FROM account WHERE username = ${lit(NURSE)}`)} (${NURSE}): password reset, sessions ended`), 1);
  assert.equal((await new Api(token).get('/session')).status, 401, 'the old session ended');
  assert.equal((await signIn(env.EDLIVE_API_URL, NURSE, { password: PASSWORD })).status, 401);
  assert.equal((await signIn(env.EDLIVE_API_URL, NURSE, { password: 'a-new-password-2' })).status, 201);
  const empty = ctl(['user', 'password', NURSE], { input: '' });
  assert.equal(empty.status, 2);
  assert.match(empty.stderr, /give the new password on standard input/);
  assert.equal(ctl(['user', 'password', 'no.such.user'], { input: 'x-password-3\n' }).status, 1);

  const totp = ctl(['user', 'totp', NURSE]);
  assert.equal(totp.status, 0, totp.stderr);
  const secret = /^otpauth:\/\/totp\/edlive:[^?]+\?secret=([A-Z2-7]{32})&issuer=edlive$/m.exec(totp.stdout);
  assert.ok(secret, totp.stdout);

  const list = ok(ctl(['user', 'list']), 'user list');
  assert.match(list, new RegExp(`\\s${NURSE.replace('.', '\\.')}\\s+charge_nurse\\s+${ctx.staff}\\s+yes\\s+active\\s`));
  assert.ok(!list.includes(secret[1]), 'the list never shows a TOTP secret');
  assert.doesNotMatch(list, /argon2/);

  ok(ctl(['user', 'disable', NURSE]), 'disable');
  assert.match(ok(ctl(['user', 'list']), 'list'), new RegExp(`\\s${NURSE.replace('.', '\\.')}\\s.*\\sdisabled\\s`));
  const dup = ctl(['user', 'add', NURSE, 'charge_nurse'], { input: 'whatever-pass-4\n' });
  assert.equal(dup.status, 0, 'adding an existing account again is no error (session_allowed.test.mjs)');
  assert.match(dup.stdout, /exists: nothing changed/);
  assert.doesNotMatch(dup.stdout, /created/);
});
