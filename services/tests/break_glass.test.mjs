// Emergency access ("break the glass", proto/README.md "Permission matrix" and
// http/break_glass.json): a children's ED physician opens one Demo ED patient's chart with a
// stated reason and a TOTP code. It needs both, opens that patient only, is audited at high
// severity, shows on the patient's board row (live, for the charge nurse) and ends on time.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { requireEnv } from './lib/env.mjs';
import { signIn, totpCode } from './lib/auth.mjs';
import { signedIn, sql, sqlJson, ctl, freshTotp, openSocket, firstReply, sleep } from './lib/client.mjs';

const env = requireEnv('EDLIVE_API_URL', 'EDLIVE_HUB_URL', 'EDLIVE_PG', 'EDLIVE_PG_OWNER', 'EDLIVE_PG_SUPER', 'EDLIVE_BUILD');
const OWNER = env.EDLIVE_PG_OWNER;
const REASON = 'Transferred from the Demo ED, deteriorating; need the history.';

const ctx = {};
before(async () => {
  ctx.demo = Number(sql(OWNER, "SELECT id FROM department WHERE code = 'DEMO'"));
  ctx.charge = await signedIn('adeyemi');
  ctx.lopez = await signedIn('dr.lopez');
  const arrived = await ctx.charge.post(`/departments/${ctx.demo}/arrivals`, {
    patient: { mrn: `BG-${Date.now() % 1e8}`, family_name: 'Wrenfield', given_name: 'Tamsin', birth_date: '1958-11-30', sex: 'female' },
    arrival_mode: 'ambulance', chief_complaint: 'collapsed at home, break-glass check',
  });
  assert.equal(arrived.status, 201, arrived.text);
  ctx.enc = arrived.json.encounter.encounter_id;
  ctx.patient = arrived.json.encounter.patient.id;
  ctx.other = (await ctx.charge.get(`/departments/${ctx.demo}/board`)).json.encounters.find((e) => e.patient.id !== ctx.patient).encounter_id;

  // An operator enrols dr.rahman's authenticator; from then on his sign-in needs the code too.
  const r = ctl(['user', 'totp', 'dr.rahman']);
  assert.equal(r.status, 0, r.stderr);
  const uri = /^otpauth:\/\/totp\/edlive:dr\.rahman\?secret=([A-Z2-7]{32})&issuer=edlive$/m.exec(r.stdout);
  assert.ok(uri, `an otpauth URI: ${r.stdout}`);
  ctx.secret = uri[1];
  const noCode = await signIn(env.EDLIVE_API_URL, 'dr.rahman');
  assert.equal(noCode.status, 401);
  assert.equal(noCode.body.error.code, 'totp_required');
  ctx.rahman = await signedIn('dr.rahman', { totpSecret: ctx.secret });
});

after(() => {
  // dr.rahman as the demo has him: no authenticator, no emergency access.
  sql(OWNER, "UPDATE account SET totp_secret = NULL, totp_last_step = 0 WHERE username = 'dr.rahman'");
  sql(env.EDLIVE_PG_SUPER, "UPDATE break_glass SET expires_at = now() - interval '1 second' WHERE expires_at > now() AND account_id = (SELECT id FROM account WHERE username = 'dr.rahman')");
  ctx.chart?.close();
});

const grants = () => sql(OWNER, `SELECT count(*) FROM break_glass WHERE patient_id = ${ctx.patient}`);
const breakGlass = (body) => ctx.rahman.post(`/encounters/${ctx.enc}/break-glass`, body);

// A 6-digit code the server accepts at no step now (now - 1 .. now + 1).
function wrongCode() {
  const now = Math.floor(Date.now() / 30000);
  const valid = [now - 1, now, now + 1, now + 2].map((s) => totpCode(ctx.secret, s));
  for (let c = 0; ; c++) {
    const code = String(c).padStart(6, '0');
    if (!valid.includes(code)) return code;
  }
}

test("without emergency access a children's ED physician cannot find the Demo ED patient", async () => {
  const r = await ctx.rahman.get(`/encounters/${ctx.enc}`);
  assert.equal(r.status, 404);
  assert.ok(!r.text.includes('Wrenfield'));
  const ws = await firstReply(ctx.rahman.token, 'chart', ctx.enc);
  assert.equal(ws.frame.code, 'not_found');
});

test('emergency access needs a reason of 10+ characters and a valid code', async () => {
  const code = await freshTotp(ctx.secret, 'dr.rahman');
  const cases = [
    // body                                        status  code             field
    [{ totp: code },                               422, 'missing_field',  'reason'],
    [{ reason: 'urgent!', totp: code },            422, 'invalid_value',  'reason'],
    [{ reason: REASON },                           422, 'missing_field',  'totp'],
    [{ reason: REASON, totp: '12345' },            422, 'invalid_value',  'totp'],
    [{ reason: REASON, totp: wrongCode() },        401, 'totp_invalid',   'totp'],
  ];
  for (const [body, status, errCode, field] of cases) {
    const r = await breakGlass(body);
    assert.deepEqual([r.status, r.json.error.code, r.json.error.field], [status, errCode, field], `${JSON.stringify(body)}: ${r.text}`);
    assert.equal(grants(), '0', 'no access was granted');
  }
  assert.equal((await ctx.rahman.get(`/encounters/${ctx.enc}`)).status, 404, 'the chart is still not found');
  const refused = sql(OWNER, `SELECT count(*) FROM audit_log WHERE username = 'dr.rahman' AND action = 'break_glass' AND outcome = 'denied' AND severity = 'high' AND encounter_id = ${ctx.enc}`);
  assert.ok(Number(refused) >= 1, 'the refused attempt with a wrong code is audited at high severity');
});

test('with both: 201, that one chart opens, the grant is audited high and flagged on the board, live', async () => {
  const live = await openSocket(ctx.charge.token);
  try {
    live.subscribe('board', ctx.demo);
    await live.waitFor((f) => f.type === 'snapshot', "the charge nurse's board");
    const auditBefore = Number(sql(OWNER, 'SELECT last_seq FROM audit_chain'));

    const r = await breakGlass({ reason: REASON, totp: await freshTotp(ctx.secret, 'dr.rahman') });
    assert.equal(r.status, 201, r.text);
    assert.deepEqual(r.json, { encounter_id: ctx.enc, patient_id: ctx.patient, minutes: 60 });

    const chart = await ctx.rahman.get(`/encounters/${ctx.enc}`);
    assert.equal(chart.status, 200, chart.text);
    assert.equal(chart.json.encounter.patient.family_name, 'Wrenfield');
    assert.equal((await ctx.rahman.get(`/encounters/${ctx.other}`)).status, 404, 'only that patient');
    assert.equal((await ctx.rahman.get(`/departments/${ctx.demo}/board`)).status, 404, 'not the Demo ED board');
    const ws = await firstReply(ctx.rahman.token, 'chart', ctx.enc);
    assert.equal(ws.frame.type, 'snapshot', `the live chart too: ${ws.raw.slice(0, 200)}`);

    const row = sqlJson(OWNER, `SELECT row_to_json(a) FROM (SELECT username, role, patient_id, encounter_id, category, severity, outcome, detail
        FROM audit_log WHERE seq > ${auditBefore} AND action = 'break_glass') a`);
    assert.deepEqual(row, { username: 'dr.rahman', role: 'physician', patient_id: ctx.patient, encounter_id: ctx.enc,
      category: 'chart', severity: 'high', outcome: 'success', detail: REASON });
    const reads = sql(OWNER, `SELECT string_agg(severity, ',') FROM audit_log WHERE seq > ${auditBefore} AND action = 'chart.read' AND username = 'dr.rahman' AND outcome = 'success'`);
    assert.equal(reads, 'high,high', 'both chart reads through emergency access (REST and the live chart) are audited at high severity');

    const flag = await live.waitFor((f) => f.type === 'event' && f.event === 'access.break_glass', 'the access.break_glass event');
    assert.equal(flag.encounter_id, ctx.enc);
    assert.deepEqual(flag.payload.encounter.break_glass.map((g) => [g.by, g.reason]), [['dr.rahman', REASON]]);

    const boardRow = (await ctx.lopez.get(`/departments/${ctx.demo}/board`)).json.encounters.find((e) => e.encounter_id === ctx.enc);
    assert.equal(boardRow.break_glass.length, 1);
    assert.equal(boardRow.break_glass[0].by, 'dr.rahman', 'a Demo ED clinician sees who broke the glass');
    const minutesLeft = (Date.parse(boardRow.break_glass[0].until) - Date.now()) / 60000;
    assert.ok(minutesLeft > 58 && minutesLeft <= 60, `the grant lasts 60 minutes (${minutesLeft.toFixed(1)} left)`);
  } finally {
    live.close();
  }
});

test('when the grant ends the chart is not found again, the live chart stops, and the flag goes', async () => {
  ctx.chart = await openSocket(ctx.rahman.token);
  ctx.chart.subscribe('chart', ctx.enc);
  await ctx.chart.waitFor((f) => f.type === 'snapshot', 'the chart snapshot during the grant');
  sql(env.EDLIVE_PG_SUPER, `UPDATE break_glass SET expires_at = now() - interval '1 second' WHERE patient_id = ${ctx.patient}
      AND account_id = (SELECT id FROM account WHERE username = 'dr.rahman')`);
  const r = await ctx.rahman.get(`/encounters/${ctx.enc}`);
  assert.equal(r.status, 404, r.text);
  assert.ok(!r.text.includes('Wrenfield'));
  const ended = await ctx.chart.waitFor((f) => f.type === 'error', 'the end of the live chart', 7000);
  assert.equal(ended.code, 'access_ended');
  const count = ctx.chart.frames.length;
  await ctx.charge.post(`/encounters/${ctx.enc}/notes`, { author_id: (await ctx.charge.get('/session')).json.staff_id, text: 'Seen after the grant ended.' });
  await sleep(500);
  assert.deepEqual(ctx.chart.frames.slice(count), [], 'nothing more of that chart is sent');
  const boardRow = (await ctx.lopez.get(`/departments/${ctx.demo}/board`)).json.encounters.find((e) => e.encounter_id === ctx.enc);
  assert.deepEqual(boardRow.break_glass, [], 'the board no longer flags the ended grant');
});
