// unidentified.browser.test.mjs (issue 9 item 15): an unidentified patient on the board, and
// the merge with the real identity updating the row live.
//
// The charge nurse has the board open. Registration registers a trauma arrival nobody can
// name: the row appears with the server's alias ("Unknown Female Trauma-NNNN") and the mark
// "UNIDENTIFIED · temp id Trauma-NNNN". Once the identity is known and given, the same row
// changes live (no reload) to the real name, without the mark, when the charge nurse gives
// the identity on the chart ("Identify this patient").
// Screenshot: unidentified.png (the board with the unidentified row).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { skipUnlessConfigured, signIn } from './browser_lib.mjs';
import { startBrowser, wall, waitLive, shot, Patients, watch, LIVE_WITHIN_MS } from './roles_lib.mjs';

const skip = skipUnlessConfigured();
let browser;
const problems = [];
const patients = new Patients();

before(async () => {
  if (skip) return;
  await patients.init();
  browser = await startBrowser();
});

after(async () => {
  if (skip) return;
  await patients.departAll();
  if (browser) await browser.close();
});

test('an unidentified patient is marked on the board, and the merge updates the row live', { skip, timeout: 90000 }, async () => {
  const page = watch(await (await wall(browser)).newPage(), 'board adeyemi', problems);
  await signIn(page, 'adeyemi', `board.html?department=${patients.departmentId}`);
  await waitLive(page, 'adeyemi');

  const res = await patients.call('POST', `/departments/${patients.departmentId}/arrivals/unidentified`, { sex: 'female', arrival_mode: 'ambulance', chief_complaint: 'trauma (browser test)' });
  assert.equal(res.status, 201, JSON.stringify(res.data));
  const enc = res.data.encounter;
  patients.created.push(enc.encounter_id);
  const tempId = enc.patient.temp_id;
  const row = `tr.enc[data-encounter-id="${enc.encounter_id}"]`;
  await page.waitForSelector(`${row} .flag-unidentified`, { timeout: LIVE_WITHIN_MS });
  assert.equal(await page.textContent(`${row} .pt-name`), `Unknown Female ${tempId}`);
  assert.equal(await page.textContent(`${row} .flag-unidentified`), `UNIDENTIFIED · temp id ${tempId}`);
  await shot(page, 'unidentified.png');

  // The charge nurse, on the chart (another screen), gives the identity once it is known.
  const chart = watch(await (await wall(browser)).newPage(), 'chart adeyemi', problems);
  await signIn(chart, 'adeyemi', `chart.html?encounter=${enc.encounter_id}`);
  await chart.waitForSelector('#who .flag-unidentified', { timeout: LIVE_WITHIN_MS });
  assert.equal(await chart.textContent('#who .flag-unidentified'), `UNIDENTIFIED · temp id ${tempId}`);
  await chart.waitForSelector('#identify-panel:not([hidden])', { timeout: LIVE_WITHIN_MS });
  const stamp = Date.now().toString(36).toUpperCase();
  await chart.fill('#id-mrn', `WEBID-${stamp}`);
  await chart.fill('#id-family', 'Wexford');
  await chart.fill('#id-given', `Imogen ${stamp}`);
  await chart.fill('#id-birth', '1992-07-08');
  await chart.selectOption('#id-sex', 'female');
  await chart.click('#id-save');
  await chart.waitForFunction(() => /^Identified at/.test(document.getElementById('identify-result').textContent), null, { timeout: LIVE_WITHIN_MS });
  await chart.waitForSelector('#identify-panel[hidden]', { state: 'attached', timeout: LIVE_WITHIN_MS });
  await page.waitForFunction((sel) => /Wexford/.test(document.querySelector(sel)?.textContent || ''), `${row} .pt-name`, { timeout: LIVE_WITHIN_MS });
  assert.equal(await page.textContent(`${row} .pt-name`), `Wexford, Imogen ${stamp}`);
  assert.equal(await page.$(`${row} .flag-unidentified`), null, 'the mark is gone once identified');
  assert.equal(await page.evaluate(() => location.pathname), '/board.html', 'no reload, no navigation');
  assert.deepEqual(problems, [], 'no script errors or CSP violations');
});
