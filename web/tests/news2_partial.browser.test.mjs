// news2_partial.browser.test.mjs: issue 9's first case, on the screens. A full set scoring 9
// is recorded, then a nurse enters a heart rate alone at the bedside. The bedside's "NEWS2 now"
// and reassessment, and the physician's board row, must still say high risk and continuous
// monitoring (never "0* low, next obs in 12 h"). Then an implausible value at the bedside: the
// page asks, and offers to save the rest of the set without it.
// Screenshots: bedside-news2-partial.png, board-news2-partial.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { skipUnlessConfigured, signIn } from './browser_lib.mjs';
import { startBrowser, wall, tabletContext, waitLive, typeInto, shot, Patients, watch, LIVE_WITHIN_MS } from './roles_lib.mjs';

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
  await patients.departAll();
  if (browser) await browser.close();
});

test('a heart rate alone after a full set scoring 9 leaves board and bedside at high risk, continuous monitoring', { skip, timeout: 90000 }, async () => {
  const board = watch(await (await wall(browser)).newPage(), 'board dr.lopez', problems);
  const bedside = watch(await (await tabletContext(browser)).newPage(), 'bedside patel', problems);
  await Promise.all([signIn(board, 'dr.lopez', 'board.html'), signIn(bedside, 'patel', 'bedside.html')]);
  await Promise.all([waitLive(board, 'board'), waitLive(bedside, 'bedside')]);

  const enc = await patients.arrive('Partialset', 'Nine', 'sepsis? (test)');
  const staff = (await patients.call('GET', '/session')).data.staff_id;
  const full = await patients.call('POST', `/encounters/${enc.encounter_id}/vitals`, {
    taken_by: staff, resp_rate: 26, spo2: 90, on_oxygen: false, systolic_bp: 95, diastolic_bp: 60, heart_rate: 95, consciousness: 'A', temperature_c: 37.0,
  });
  assert.equal(full.status, 201, JSON.stringify(full.data));
  assert.equal(full.data.encounter.news2.total, 9);

  const pick = `#patient-list .patient-pick[data-encounter-id="${enc.encounter_id}"]`;
  await bedside.waitForSelector(pick, { timeout: LIVE_WITHIN_MS });
  await bedside.click(pick);
  await typeInto(bedside, '#heart_rate', 80);
  // The bedside times a set to the whole second; let that second be after the full set's
  // (stored to the microsecond), or the full set would still be the latest heart rate.
  await bedside.waitForTimeout(1100);
  const [response] = await Promise.all([
    bedside.waitForResponse((r) => r.request().method() === 'POST' && /\/vitals$/.test(new URL(r.url()).pathname)),
    bedside.click('#save'),
  ]);
  const saved = await response.json();
  assert.equal(response.status(), 201, JSON.stringify(saved));
  assert.equal(saved.vitals.news2.total, 0, 'the heart-rate set on its own scores 0');

  // Bedside: the current score is still high (8: the heart rate now scores 0 instead of 1),
  // every input is shown with its age, and the reassessment says continuous monitoring.
  await bedside.waitForFunction(() => document.querySelector('#news2-now .news2-total')?.textContent === '8', null, { timeout: LIVE_WITHIN_MS });
  assert.match((await bedside.getAttribute('#news2-now .news2', 'class')) || '', /news2-high/);
  assert.equal((await bedside.textContent('#news2-now tr[data-param="resp_rate"] td.score')).trim(), '3');
  assert.equal((await bedside.textContent('#news2-now tr[data-param="heart_rate"] td.val')).trim(), '80');
  assert.match(await bedside.textContent('#news2-now tr[data-param="temperature_c"] td.age'), /ago/);
  assert.match(await bedside.textContent('#reassess'), /Continuous monitoring/);
  assert.doesNotMatch(await bedside.textContent('#reassess'), /due|12-hourly/i);

  // Board: the same score, band and "continuous" in the Obs column; the row's vitals cells
  // show the latest reading of each parameter, abnormal ones marked.
  const rowSel = `#board tr[data-encounter-id="${enc.encounter_id}"]`;
  await board.waitForFunction((sel) => document.querySelector(`${sel} td.c-news2 .news2-total`)?.textContent === '8', rowSel, { timeout: LIVE_WITHIN_MS });
  assert.match((await board.getAttribute(`${rowSel} td.c-news2 .news2`, 'class')) || '', /news2-high/);
  assert.match(await board.textContent(`${rowSel} td.c-news2`), /oldest/);
  assert.match(await board.textContent(`${rowSel} td.c-obs`), /continuous/);
  assert.match(await board.textContent(`${rowSel} .flag-news2`), /NEWS2 8/);
  assert.equal((await board.textContent(`${rowSel} td.v-resp_rate .val`)).trim(), '26');
  assert.match((await board.getAttribute(`${rowSel} td.v-resp_rate`, 'class')) || '', /abn/);
  await shot(bedside, 'bedside-news2-partial.png', { fullPage: true });
  await board.evaluate((sel) => document.querySelector(sel).scrollIntoView({ block: 'center' }), rowSel);
  await shot(board, 'board-news2-partial.png');

  // An implausible heart rate with a plausible resp rate: the page asks, and "save the rest
  // without it" stores the resp rate alone.
  await typeInto(bedside, '#heart_rate', 19);
  await typeInto(bedside, '#resp_rate', 18);
  await bedside.click('#save');
  await bedside.waitForSelector('#confirm[open]');
  assert.match(await bedside.textContent('#confirm-list'), /Heart rate 19/);
  const [rest] = await Promise.all([
    bedside.waitForResponse((r) => r.request().method() === 'POST' && /\/vitals$/.test(new URL(r.url()).pathname)),
    bedside.click('#confirm-without'),
  ]);
  const restBody = await rest.json();
  assert.equal(rest.status(), 201, JSON.stringify(restBody));
  assert.equal(restBody.vitals.heart_rate, null);
  assert.equal(restBody.vitals.resp_rate, 18);

  // Confirming it instead sends "confirm" and the server stores the value.
  await bedside.waitForSelector('#result[data-outcome="saved"]');
  await typeInto(bedside, '#heart_rate', 19);
  await bedside.click('#save');
  await bedside.waitForSelector('#confirm[open]');
  const [confirmed] = await Promise.all([
    bedside.waitForResponse((r) => r.request().method() === 'POST' && /\/vitals$/.test(new URL(r.url()).pathname)),
    bedside.click('#confirm-save'),
  ]);
  assert.equal(confirmed.status(), 201, await confirmed.text());
  assert.deepEqual(JSON.parse(confirmed.request().postData()).confirm, { heart_rate: true });
  assert.deepEqual(problems, [], 'no script errors or CSP violations');
});
