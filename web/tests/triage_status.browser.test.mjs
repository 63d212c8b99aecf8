// triage_status.browser.test.mjs: triage, status changes and registering an arrival from the
// pages, each seen live on another clinician's board; a stale triage shows the conflict.
//
// 1. Nurse patel (tablet, bedside.html) triages a waiting test patient as ESI 2 with the big
//    level buttons (number and name on each) and the chief complaint; the save sends If-Match
//    with the row's version. dr.lopez's board (1920x1080) shows ESI 2 and the new complaint
//    without a reload. Patel sets the status to "In room": the board shows it. The chart
//    offers the same controls (triage.js, shared).
// 2. Charge nurse adeyemi registers a walk-in on census.html: a new MRN without a birth date
//    is refused by the server and the page marks "Birth date" (error.field); with the birth
//    date and sex it is registered and appears in the waiting room of dr.lopez's board live.
// 3. Patel starts triaging (ESI 3); meanwhile another client triages the same encounter as
//    ESI 4 through the API. Her save answers 409: the dialog shows the colleague's
//    "ESI 4 – Less urgent · …" next to hers, the server keeps ESI 4, and after "Keep the
//    current value" her screen shows ESI 4.
// Screenshots: bedside-triage.png, board-triage.png, chart-triage.png, census-arrival.png,
// board-arrival.png, triage-conflict.png. Registration (moreau) has the same form on the board.
// Environment: see browser_lib.mjs. Without EDLIVE_BASE_URL: exit 77 (skipped).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { skipUnlessConfigured, signIn } from './browser_lib.mjs';
import { startBrowser, wall, tabletContext, waitLive, typeInto, shot, Patients, watch, LIVE_WITHIN_MS } from './roles_lib.mjs';

const skip = skipUnlessConfigured();
let browser;
const problems = [];
const patients = new Patients();
let doctor; // dr.lopez's board, shared by the tests

before(async () => {
  if (skip) return;
  await patients.init();
  browser = await startBrowser();
  doctor = watch(await (await wall(browser)).newPage(), 'board dr.lopez', problems);
  await signIn(doctor, 'dr.lopez', 'board.html');
  await waitLive(doctor, 'dr.lopez board');
  await doctor.evaluate(() => (window.__noReload = 'kept'));
});

after(async () => {
  await patients.departAll();
  if (browser) await browser.close();
});

async function currentRow(encounterId) {
  const res = await patients.call('GET', `/departments/${patients.departmentId}/board`);
  return res.data.encounters.find((r) => r.encounter_id === encounterId);
}

const isWrite = (kind) => (r) => r.method() === 'POST' && new RegExp(`/${kind}$`).test(new URL(r.url()).pathname);

async function waitText(page, selector, pattern, what) {
  await page
    .waitForFunction(({ selector, source }) => new RegExp(source).test(document.querySelector(selector)?.textContent || ''), { selector, source: pattern.source }, { timeout: LIVE_WITHIN_MS })
    .catch(async () => {
      throw new Error(`${what}: "${await page.textContent(selector).catch(() => '(absent)')}" does not match ${pattern}`);
    });
}

async function openBedside(encounterId) {
  const nurse = watch(await (await tabletContext(browser)).newPage(), 'bedside patel', problems);
  await signIn(nurse, 'patel', `bedside.html?encounter=${encounterId}`);
  await waitLive(nurse, 'patel bedside');
  await nurse.waitForSelector('#triage-form:not([hidden])', { timeout: LIVE_WITHIN_MS });
  return nurse;
}

test('a nurse triages at the bedside and sets the status; the physician\'s board shows both live', { skip, timeout: 90000 }, async () => {
  const enc = await patients.arrive('Triagetest', 'Esi', 'abdominal pain (test)');
  const rowSel = `#board tr[data-encounter-id="${enc.encounter_id}"]`;
  await doctor.waitForSelector(rowSel, { timeout: LIVE_WITHIN_MS });
  assert.equal((await doctor.textContent(`${rowSel} td.c-esi`)).trim(), '–', 'not triaged yet');
  assert.match(await doctor.textContent(`${rowSel} td.c-status`), /Waiting/);

  const nurse = await openBedside(enc.encounter_id);
  // Five big buttons, each with the number and the name.
  const levels = await nurse.$$eval('#triage-esi label.esi-choice', (ls) => ls.map((l) => l.textContent.replace(/\s+/g, ' ').trim()));
  assert.deepEqual(
    levels.map((t) => t.replace(/current$/, '').trim()),
    ['1Resuscitation', '2Emergent', '3Urgent', '4Less urgent', '5Non-urgent'],
  );
  assert.match(await nurse.textContent('#status-now'), /Waiting/);

  // Tap ESI 2, restate the complaint, save.
  await nurse.click('#triage-esi label[data-esi="2"]');
  await typeInto(nurse, '#triage-complaint', 'epigastric pain, diaphoretic (test)');
  const version = (await currentRow(enc.encounter_id)).version;
  const [request] = await Promise.all([nurse.waitForRequest(isWrite('triage')), nurse.click('#triage-save')]);
  assert.equal(request.headers()['if-match'], String(version), 'If-Match carries the row version');
  assert.deepEqual(JSON.parse(request.postData()), { esi: 2, chief_complaint: 'epigastric pain, diaphoretic (test)' });
  const response = await request.response();
  assert.equal(response.status(), 200, `triage refused: ${await response.text()}`);
  await waitText(nurse, '#triage-result', /Saved at .*ESI 2 – Emergent/, 'the nurse sees it saved');

  // The physician's board, live.
  await waitText(doctor, `${rowSel} td.c-esi`, /^2$/, 'board ESI');
  await waitText(doctor, `${rowSel} td.c-complaint`, /epigastric pain, diaphoretic/, 'board complaint');
  assert.equal(await doctor.evaluate(() => window.__noReload), 'kept', 'the board was not reloaded');
  await waitText(nurse, '#selected-patient .esi', /^2$/, 'the bedside header shows ESI 2');
  await waitText(nurse, '#triage-esi label[data-esi="2"] .esi-choice-now', /current/, 'ESI 2 marked current');

  // Status: waiting -> in room (keyboard: the select, then Enter on the button).
  const options = await nurse.$$eval('#status-select option', (os) => os.map((o) => o.value).filter(Boolean));
  assert.deepEqual(options, ['in_room', 'seen_by_provider'], 'the next steps by hand; departure is on the chart');
  await nurse.selectOption('#status-select', 'in_room');
  await nurse.focus('#status-save');
  const [statusRequest] = await Promise.all([nurse.waitForRequest(isWrite('status')), nurse.keyboard.press('Enter')]);
  assert.deepEqual(JSON.parse(statusRequest.postData()), { status: 'in_room' });
  assert.equal(statusRequest.headers()['if-match'], String(version + 1), 'status based on the version after the triage');
  assert.equal((await statusRequest.response()).status(), 200);
  await waitText(doctor, `${rowSel} td.c-status`, /In room/, 'board status');
  await waitText(nurse, '#status-now', /In room/, 'bedside status');
  await nurse.evaluate(() => window.scrollTo(0, document.getElementById('patient-panel').offsetTop - document.getElementById('topbar').offsetHeight - 8));
  await shot(nurse, 'bedside-triage.png');
  await doctor.evaluate(() => window.scrollTo(0, 0));
  await shot(doctor, 'board-triage.png');

  // The chart offers the same controls.
  await nurse.goto(`${nurse.url().replace(/bedside\.html.*$/, '')}chart.html?encounter=${enc.encounter_id}`);
  await waitLive(nurse, 'patel chart');
  await nurse.waitForSelector('#actions-panel #triage-form:not([hidden])', { timeout: LIVE_WITHIN_MS });
  await waitText(nurse, '#triage-esi label[data-esi="2"] .esi-choice-now', /current/, 'chart: ESI 2 marked current');
  await waitText(nurse, '#status-now', /In room/, 'chart status');
  assert.equal(await nurse.inputValue('#triage-complaint'), 'epigastric pain, diaphoretic (test)');
  await nurse.locator('#actions-panel').scrollIntoViewIfNeeded();
  await shot(nurse, 'chart-triage.png');
  assert.deepEqual(problems, [], 'no script errors or CSP violations');
});

test('the charge nurse registers an arrival on the census; it appears on the physician\'s board', { skip, timeout: 90000 }, async () => {
  const charge = watch(await (await wall(browser)).newPage(), 'census adeyemi', problems);
  await signIn(charge, 'adeyemi', 'census.html');
  await waitLive(charge, 'adeyemi census');
  await charge.waitForSelector('#arrival-panel:not([hidden]) #arrival-form', { timeout: LIVE_WITHIN_MS });
  const stamp = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4).toString(36)}`.toUpperCase();
  const family = 'Arrivaltest';
  const given = `Walk ${stamp}`;

  await typeInto(charge, '#arr-mrn', `WEBTEST-ARR-${stamp}`);
  await typeInto(charge, '#arr-family', family);
  await typeInto(charge, '#arr-given', given);
  await typeInto(charge, '#arr-complaint', 'cut finger, bleeding controlled (test)');
  // A new MRN without a birth date: the server names the field, the page marks it.
  const [refused] = await Promise.all([charge.waitForResponse((r) => isWrite('arrivals')(r.request())), charge.click('#arr-save')]);
  assert.equal(refused.status(), 422);
  assert.equal((await refused.json()).error.field, 'patient.birth_date');
  await waitText(charge, '#arr-result', /Not registered — Birth date: /, 'the field error is shown');
  assert.equal(await charge.getAttribute('#arr-birth', 'aria-invalid'), 'true');

  await charge.fill('#arr-birth', '1979-08-14');
  await charge.selectOption('#arr-sex', 'male');
  assert.equal(await charge.inputValue('#arr-mode'), 'walk_in');
  const [request] = await Promise.all([charge.waitForRequest(isWrite('arrivals')), charge.click('#arr-save')]);
  const response = await request.response();
  assert.equal(response.status(), 201, `arrival refused: ${await response.text()}`);
  assert.ok(request.headers()['idempotency-key'], 'sent with an Idempotency-Key');
  const sent = JSON.parse(request.postData());
  assert.deepEqual(sent.patient, { mrn: `WEBTEST-ARR-${stamp}`, family_name: family, given_name: given, birth_date: '1979-08-14', sex: 'male' });
  assert.equal(sent.arrival_mode, 'walk_in');
  const enc = (await response.json()).encounter;
  patients.created.push(enc.encounter_id);
  await waitText(charge, '#arr-result', /Registered at .*waiting room/, 'the charge nurse sees it registered');
  assert.equal(await charge.inputValue('#arr-mrn'), '', 'the form is emptied for the next patient');

  // dr.lopez's board, live: a new waiting, untriaged row with the name.
  const rowSel = `#board tr[data-encounter-id="${enc.encounter_id}"]`;
  await doctor.waitForSelector(rowSel, { timeout: LIVE_WITHIN_MS });
  assert.match(await doctor.textContent(`${rowSel} td.c-patient`), new RegExp(`${family}, ${given}`));
  assert.match(await doctor.textContent(`${rowSel} td.c-status`), /Waiting/);
  assert.equal((await doctor.textContent(`${rowSel} td.c-esi`)).trim(), '–');
  assert.equal(await doctor.evaluate(() => window.__noReload), 'kept', 'the board was not reloaded');
  // The census itself counts it.
  await charge.waitForSelector(`#patient-rows tr[data-encounter-id="${enc.encounter_id}"]`, { timeout: LIVE_WITHIN_MS });
  await charge.evaluate(() => window.scrollTo(0, 0));
  await shot(charge, 'census-arrival.png');
  await doctor.locator(rowSel).scrollIntoViewIfNeeded();
  await shot(doctor, 'board-arrival.png');
  assert.ok(await doctor.isHidden('#arrival-box'), 'a physician registers no arrivals');

  // Registration (no census) registers on the board: the same form, folded away in desk mode.
  const clerk = watch(await (await wall(browser)).newPage(), 'board moreau', problems);
  await signIn(clerk, 'moreau', 'board.html');
  await waitLive(clerk, 'moreau board');
  await clerk.click('#arrival-summary');
  await clerk.waitForSelector('#arrival-box[open] #arrival-form', { state: 'visible' });
  await clerk.goto(`${clerk.url().split('?')[0]}?mode=wall`);
  await waitLive(clerk, 'moreau wall');
  assert.ok(await clerk.isHidden('#arrival-box'), 'not on a wall screen');
  assert.deepEqual(problems, [], 'no script errors or CSP violations');
});

test('a stale triage shows the colleague\'s current triage and overwrites nothing', { skip, timeout: 90000 }, async () => {
  const enc = await patients.arrive('Staletest', 'Triage', 'headache (test)');
  const nurse = await openBedside(enc.encounter_id);
  // Patel starts triaging: ESI 3 and her wording.
  await nurse.click('#triage-esi label[data-esi="3"]');
  await typeInto(nurse, '#triage-complaint', 'headache, worst ever (patel)');
  const started = await currentRow(enc.encounter_id);

  // Meanwhile another client triages through the API.
  const theirs = await patients.call('POST', `/encounters/${enc.encounter_id}/triage`, { esi: 4, chief_complaint: 'tension headache (colleague)' });
  assert.equal(theirs.status, 200, JSON.stringify(theirs.data));
  const afterTheirs = await currentRow(enc.encounter_id);
  assert.equal(afterTheirs.esi, 4);
  await waitText(nurse, '#triage-result', /changed the triage meanwhile: ESI 4 – Less urgent · tension headache \(colleague\)/, 'the nurse hears about it live');
  assert.equal(await nurse.inputValue('#triage-complaint'), 'headache, worst ever (patel)', 'what she typed is kept');
  assert.ok(await nurse.isChecked('#triage-esi input[value="3"]'), 'her level is kept');

  const [request] = await Promise.all([nurse.waitForRequest(isWrite('triage')), nurse.click('#triage-save')]);
  assert.equal(request.headers()['if-match'], String(started.version), 'sent with the version her screen showed when she started');
  assert.equal((await request.response()).status(), 409);
  await nurse.waitForSelector('#conflict[open]');
  assert.equal(await nurse.textContent('#conflict-current'), 'ESI 4 – Less urgent · tension headache (colleague)');
  assert.equal(await nurse.textContent('#conflict-mine'), 'ESI 3 – Urgent · headache, worst ever (patel)');
  await shot(nurse, 'triage-conflict.png');
  assert.deepEqual(await currentRow(enc.encounter_id), afterTheirs, 'nothing was overwritten');

  await nurse.click('#conflict-keep');
  await nurse.waitForSelector('#conflict:not([open])', { state: 'attached' });
  await waitText(nurse, '#triage-result', /Kept the colleague’s triage/, 'the nurse is told hers was not saved');
  await waitText(nurse, '#selected-patient .esi', /^4$/, 'the bedside header shows ESI 4');
  await waitText(nurse, '#triage-esi label[data-esi="4"] .esi-choice-now', /current/, 'ESI 4 marked current');
  assert.ok(await nurse.isChecked('#triage-esi input[value="4"]'), 'the form shows the current level');
  assert.equal(await nurse.inputValue('#triage-complaint'), 'tension headache (colleague)');
  const final = await currentRow(enc.encounter_id);
  assert.equal(final.esi, 4, 'the server keeps the colleague\'s triage');
  assert.equal(final.version, afterTheirs.version, 'no write happened after the conflict');
  await waitText(doctor, `#board tr[data-encounter-id="${enc.encounter_id}"] td.c-esi`, /^4$/, 'the board shows ESI 4');
  assert.deepEqual(problems, [], 'no script errors or CSP violations');
});
