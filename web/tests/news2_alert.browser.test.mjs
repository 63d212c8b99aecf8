// news2_alert.browser.test.mjs: a nurse records vitals at the bedside that raise NEWS2 to 7,
// and the physician's tracking board shows the alert on the row, live.
//
// Nurse patel on a 1024x768 tablet (bedside.html), dr.lopez on a 1920x1080 board. A test
// patient arrives; the nurse types RR 22, SpO2 95 on air, BP 105/70, HR 115, alert, 38.5 °C:
// RCP NEWS2 2+1+0+1+2+0+1 = 7 (ed-domain.md §3.2). The server's NEWS2 (7, high) with every
// sub-score and the age of each input shows at the bedside; the board row shows
// "⚠ NEWS2 7" as text on the row, the NEWS2 chip 7 and the abnormal marks. The save carries
// an Idempotency-Key. Screenshots: bedside-news2.png, board-news2.png.
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

const EXPECTED = { resp_rate: 2, spo2: 1, on_oxygen: 0, systolic_bp: 1, heart_rate: 2, consciousness: 0, temperature_c: 1 };

test('vitals that raise NEWS2 to 7 at the bedside put the alert on the board row', { skip, timeout: 90000 }, async () => {
  const board = watch(await (await wall(browser)).newPage(), 'board dr.lopez', problems);
  const bedside = watch(await (await tabletContext(browser)).newPage(), 'bedside patel', problems);
  await Promise.all([signIn(board, 'dr.lopez', 'board.html'), signIn(bedside, 'patel', 'bedside.html')]);
  await Promise.all([waitLive(board, 'board'), waitLive(bedside, 'bedside')]);

  const enc = await patients.arrive('Newstest', 'Seven', 'shortness of breath (test)');
  const rowSel = `#board tr[data-encounter-id="${enc.encounter_id}"]`;
  await board.waitForSelector(rowSel, { timeout: LIVE_WITHIN_MS });
  assert.equal(await board.locator(`${rowSel} .flag-news2`).count(), 0, 'no NEWS2 alert before vitals');

  const pick = `#patient-list .patient-pick[data-encounter-id="${enc.encounter_id}"]`;
  await bedside.waitForSelector(pick, { timeout: LIVE_WITHIN_MS });
  await bedside.click(pick);
  assert.ok(await bedside.inputValue('#taken_by'), '"taken by" defaults to the signed-in nurse');
  await typeInto(bedside, '#resp_rate', 22);
  await typeInto(bedside, '#spo2', 95);
  await typeInto(bedside, '#systolic_bp', 105);
  await typeInto(bedside, '#diastolic_bp', 70);
  await typeInto(bedside, '#heart_rate', 115);
  await typeInto(bedside, '#temperature_c', '38.5');
  await bedside.click('label.choice:has(input[name="consciousness"][value="A"])');
  const [request] = await Promise.all([
    bedside.waitForRequest((r) => r.method() === 'POST' && /\/vitals$/.test(new URL(r.url()).pathname)),
    bedside.click('#save'),
  ]);
  assert.match(request.headers()['idempotency-key'] || '', /^[0-9a-f-]{32,36}$/, 'the save carries an Idempotency-Key');
  const response = await request.response();
  const body = await response.json();
  assert.equal(response.status(), 201, `vitals refused: ${JSON.stringify(body)}`);
  assert.equal(body.vitals.news2.total, 7, `the server scored NEWS2 ${body.vitals.news2.total}`);

  // Bedside: the server's NEWS2 and every sub-score.
  await bedside.waitForSelector('#result[data-outcome="saved"]');
  assert.equal((await bedside.textContent('#result .news2-total-cell')).trim(), '7');
  for (const [key, score] of Object.entries(EXPECTED))
    assert.equal((await bedside.textContent(`#result tr[data-param="${key}"] td.score`)).trim(), String(score), `result sub-score ${key}`);
  // ...and the "NEWS2 now" panel with the age of each input.
  await bedside.waitForFunction(() => document.querySelector('#news2-now .news2-total')?.textContent === '7', null, { timeout: LIVE_WITHIN_MS });
  for (const [key, score] of Object.entries(EXPECTED)) {
    assert.equal((await bedside.textContent(`#news2-now tr[data-param="${key}"] td.score`)).trim(), String(score), `NEWS2-now sub-score ${key}`);
    assert.match(await bedside.textContent(`#news2-now tr[data-param="${key}"] td.age`), /ago/, `age of ${key}`);
  }
  assert.match(await bedside.textContent('#reassess'), /Continuous monitoring|due|OVERDUE/i, 'the reassessment is shown');

  // Board: the alert on the row, as text, live.
  await board
    .waitForFunction((sel) => /NEWS2 7/.test(document.querySelector(`${sel} .flag-news2`)?.textContent || ''), rowSel, { timeout: LIVE_WITHIN_MS })
    .catch(async () => {
      throw new Error(`the board row did not show "NEWS2 7": ${await board.textContent(rowSel)}`);
    });
  assert.equal((await board.textContent(`${rowSel} td.c-news2 .news2-total`)).trim(), '7');
  assert.match((await board.getAttribute(`${rowSel} td.c-news2 .news2`, 'class')) || '', /news2-high/);
  assert.match((await board.getAttribute(`${rowSel} td.v-heart_rate`, 'class')) || '', /abn/, 'HR 115 marked abnormal');
  assert.equal(await board.textContent(`${rowSel} td.v-heart_rate .mark`), '▲');
  assert.equal(Number(await board.getAttribute('#board', 'data-seq')) >= body.seq, true);

  await bedside.evaluate(() => window.scrollTo(0, 0));
  await shot(bedside, 'bedside-news2.png', { fullPage: true });
  await board.evaluate((sel) => document.querySelector(sel).scrollIntoView({ block: 'center' }), rowSel);
  await shot(board, 'board-news2.png');
  assert.deepEqual(problems, [], 'no script errors or CSP violations');
});

test('the chart draws the new vitals in its trend and timeline', { skip, timeout: 60000 }, async (t) => {
  const id = patients.created[0];
  if (!id) return t.skip('the first test created no patient');
  const chart = watch(await (await wall(browser)).newPage(), 'chart dr.lopez', problems);
  await signIn(chart, 'dr.lopez', `chart.html?encounter=${id}`);
  await waitLive(chart, 'chart');
  // One point per measured vital in the page-drawn SVG, on NEWS2 band shading.
  await chart.waitForSelector('#trend svg.trend');
  for (const key of ['heart_rate', 'resp_rate', 'systolic_bp', 'spo2', 'temperature_c', 'news2'])
    assert.equal(await chart.locator(`#trend g.strip-${key} circle`).count(), 1, `a point for ${key}`);
  assert.ok((await chart.locator('#trend g.strip-heart_rate rect.band-3').count()) > 0, 'HR strip shaded by NEWS2 bands');
  assert.equal((await chart.textContent('#trend g.strip-news2 .trend-last')).trim(), '7');
  // The timeline has the arrival and the vitals.
  assert.ok((await chart.locator('#timeline li').count()) >= 2);
  assert.match(await chart.textContent('#timeline'), /NEWS2 7/);
  await chart.evaluate(() => window.scrollTo(0, 0));
  await shot(chart, 'chart-news2.png');
  assert.deepEqual(problems, [], 'no script errors or CSP violations');
});
