// conflict.browser.test.mjs: two clinicians edit the same encounter; the second sees the
// conflict and the colleague's current value, and nothing is overwritten.
//
// Nurse patel (tablet) and dr.lopez (desk) have the same test patient open on bedside.html.
// Patel starts typing a board comment; meanwhile dr.lopez saves one. Patel's save is sent
// with If-Match = the version her screen showed when she started, so the server answers
// 409 version_conflict; the page shows both values ("now" = dr.lopez's, "yours" = hers), and
// after "Keep the current value" the server still holds dr.lopez's comment.
// Screenshot: conflict.png (patel's tablet with the conflict dialog).
//
// Needs the issue 4/5 server: If-Match on encounter writes and the board comment. On an
// older server this test says so and exits 77 (skipped).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { API_URL, skipUnlessConfigured, signIn } from './browser_lib.mjs';
import { startBrowser, wall, tabletContext, waitLive, typeInto, shot, Patients, watch, LIVE_WITHIN_MS } from './roles_lib.mjs';

const skip = skipUnlessConfigured();
let browser;
const problems = [];
const patients = new Patients();
let enc;

async function post(pathname, body, headers = {}) {
  const res = await fetch(`${API_URL}/api/v1${pathname}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${patients.token}`, ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, data: await res.json().catch(() => null) };
}

async function currentRow() {
  const res = await patients.call('GET', `/departments/${patients.departmentId}/board`);
  return res.data.encounters.find((r) => r.encounter_id === enc.encounter_id);
}

// Does the server have what this test needs? Otherwise: exit 77 with the reason.
if (!skip) {
  await patients.init();
  enc = await patients.arrive('Conflicttest', 'Comment', 'ankle sprain (test)');
  let missing = null;
  if (!('comment' in enc)) missing = 'the board row has no "comment" field (issue 5 backend not merged yet)';
  else {
    const probe = await post(`/encounters/${enc.encounter_id}/comment`, { text: 'probe' }, { 'If-Match': String(enc.version + 7) });
    if (probe.status === 404 || probe.status === 405) missing = `POST /encounters/{id}/comment answered ${probe.status}`;
    else if (probe.status !== 409 || probe.data?.error?.code !== 'version_conflict') missing = `a stale If-Match was answered ${probe.status}, not 409 version_conflict (If-Match not enforced on this server)`;
    else if (!probe.data.current || probe.data.current.encounter_id !== enc.encounter_id) missing = 'the 409 carries no "current" board row';
  }
  if (missing) {
    await patients.departAll();
    console.log(`SKIP: ${missing}; the conflict test runs once the server has it.`);
    process.exit(77);
  }
}

before(async () => {
  if (skip) return;
  browser = await startBrowser();
});

after(async () => {
  await patients.departAll();
  if (browser) await browser.close();
});

test('the second clinician sees the conflict and the current value; nothing is overwritten', { skip, timeout: 90000 }, async () => {
  const nurse = watch(await (await tabletContext(browser)).newPage(), 'bedside patel', problems);
  const doctor = watch(await (await wall(browser)).newPage(), 'bedside dr.lopez', problems);
  await Promise.all([
    signIn(nurse, 'patel', `bedside.html?encounter=${enc.encounter_id}`),
    signIn(doctor, 'dr.lopez', `bedside.html?encounter=${enc.encounter_id}`),
  ]);
  await Promise.all([waitLive(nurse, 'patel'), waitLive(doctor, 'lopez')]);
  for (const p of [nurse, doctor]) await p.waitForSelector('#comment-form:not([hidden])', { timeout: LIVE_WITHIN_MS });

  const theirs = `Lopez: CT head booked ${Date.now() % 100000}`;
  const mine = 'Patel: family at bedside';
  // Patel starts editing first ...
  await typeInto(nurse, '#comment-text', mine);
  // ... dr.lopez saves his comment meanwhile.
  await typeInto(doctor, '#comment-text', theirs);
  const [lopezResponse] = await Promise.all([
    doctor.waitForResponse((r) => r.request().method() === 'POST' && /\/comment$/.test(new URL(r.url()).pathname)),
    doctor.click('#comment-save'),
  ]);
  assert.equal(lopezResponse.status(), 200, `dr.lopez's comment refused: ${await lopezResponse.text()}`);
  const afterLopez = await currentRow();
  assert.equal(afterLopez.comment, theirs);
  // Patel's screen hears about it live, without losing what she typed.
  await nurse.waitForFunction(() => /changed the comment meanwhile/.test(document.getElementById('comment-result').textContent), null, { timeout: LIVE_WITHIN_MS });
  assert.equal(await nurse.inputValue('#comment-text'), mine, 'what the nurse typed is kept');

  // Patel saves: 409, the dialog shows both values.
  const [request] = await Promise.all([
    nurse.waitForRequest((r) => r.method() === 'POST' && /\/comment$/.test(new URL(r.url()).pathname)),
    nurse.click('#comment-save'),
  ]);
  assert.ok(Number(request.headers()['if-match']) < afterLopez.version, 'sent with the version her screen showed when she started');
  assert.equal((await request.response()).status(), 409);
  await nurse.waitForSelector('#conflict[open]');
  assert.equal(await nurse.textContent('#conflict-current'), theirs, 'the colleague\'s current value is shown');
  assert.equal(await nurse.textContent('#conflict-mine'), mine, 'her own value is shown, not saved');
  await shot(nurse, 'conflict.png');

  // Nothing was overwritten.
  assert.equal((await currentRow()).comment, theirs);
  await nurse.click('#conflict-keep');
  await nurse.waitForSelector('#conflict:not([open])', { state: 'attached' });
  assert.equal(await nurse.inputValue('#comment-text'), theirs, 'the page now shows the current comment');
  const final = await currentRow();
  assert.equal(final.comment, theirs, 'the server still holds dr.lopez\'s comment');
  assert.equal(final.version, afterLopez.version, 'no write happened after the conflict');
  assert.deepEqual(problems, [], 'no script errors or CSP violations');
});

// Issue 9 item 14: a colleague's change of another part of the encounter (triage here) is no
// conflict for the comment. Patel starts typing, the charge nurse triages the patient, Patel
// saves with the version she started from: saved, no dialog.
test('a colleague\'s triage while the nurse types the comment is no conflict: the comment is saved', { skip, timeout: 90000 }, async () => {
  const other = await patients.arrive('Conflicttest', 'Unrelated', 'wrist pain (test)');
  const nurse = watch(await (await tabletContext(browser)).newPage(), 'bedside patel (unrelated change)', problems);
  await signIn(nurse, 'patel', `bedside.html?encounter=${other.encounter_id}`);
  await waitLive(nurse, 'patel');
  await nurse.waitForSelector('#comment-form:not([hidden])', { timeout: LIVE_WITHIN_MS });
  const mine = 'Patel: splint applied';
  await typeInto(nurse, '#comment-text', mine);
  const seenVersion = other.version;
  const triaged = await patients.call('POST', `/encounters/${other.encounter_id}/triage`, { esi: 4 });
  assert.equal(triaged.status, 200, JSON.stringify(triaged.data));
  assert.ok(triaged.data.encounter.version > seenVersion);
  const [request] = await Promise.all([
    nurse.waitForRequest((r) => r.method() === 'POST' && /\/comment$/.test(new URL(r.url()).pathname)),
    nurse.click('#comment-save'),
  ]);
  assert.ok(Number(request.headers()['if-match']) < triaged.data.encounter.version, 'sent with the version from before the triage');
  assert.equal((await request.response()).status(), 200, 'the unrelated triage is no conflict');
  await nurse.waitForFunction(() => /^Saved at/.test(document.getElementById('comment-result').textContent), null, { timeout: LIVE_WITHIN_MS });
  assert.equal(await nurse.$('#conflict[open]'), null, 'no conflict dialog');
  const res = await patients.call('GET', `/departments/${patients.departmentId}/board`);
  const row = res.data.encounters.find((r) => r.encounter_id === other.encounter_id);
  assert.equal(row.comment, mine);
  assert.equal(row.esi, 4, 'the colleague\'s triage is kept');
  assert.deepEqual(problems, [], 'no script errors or CSP violations');
});
