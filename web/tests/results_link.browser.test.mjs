// results_link.browser.test.mjs (issue 9 item 16): a result carries its value, and the
// board's new-result mark leads to it.
//
// Dr. Lopez has the board open. A troponin comes back 52 ng/L (reference 0-14): the row's
// orders cell gains, live, a link "● 1 new result ▲ ABNORMAL" to chart.html?encounter=N#results.
// Following it opens the chart's Results section, which shows the value with its unit, the
// reference range and the flag the server derived (HIGH), and a normal potassium as normal.
// Screenshot: results.png (the chart's results).
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

async function result(encounterId, name, result) {
  const placed = await patients.call('POST', `/encounters/${encounterId}/orders`, { kind: 'lab', name });
  assert.equal(placed.status, 201, JSON.stringify(placed.data));
  const res = await patients.call('POST', `/orders/${placed.data.order.id}/status`, { status: 'resulted', result });
  assert.equal(res.status, 200, JSON.stringify(res.data));
  return res.data.order;
}

test('the board links a new abnormal result to the chart, which shows value, unit, range and flag', { skip, timeout: 90000 }, async () => {
  const enc = await patients.arrive('Resultlink', 'Rita', 'chest pain (test)');
  const page = watch(await (await wall(browser)).newPage(), 'board dr.lopez', problems);
  await signIn(page, 'dr.lopez', `board.html?department=${patients.departmentId}`);
  await waitLive(page, 'lopez');
  const row = `tr.enc[data-encounter-id="${enc.encounter_id}"]`;
  await page.waitForSelector(row, { timeout: LIVE_WITHIN_MS });
  assert.equal(await page.$(`${row} a.result-link`), null, 'no result yet, no mark');

  await result(enc.encounter_id, 'Potassium', { value: 4.2, unit: 'mmol/L', reference_low: 3.5, reference_high: 5.3 });
  const link = `${row} a.result-link`;
  await page.waitForSelector(link, { timeout: LIVE_WITHIN_MS });
  assert.equal((await page.textContent(link)).trim(), '● 1 new result', 'a normal result is not called abnormal');
  const trop = await result(enc.encounter_id, 'Troponin I', { value: 52, unit: 'ng/L', reference_low: 0, reference_high: 14 });
  assert.equal(trop.abnormal, true);
  await page.waitForFunction((sel) => /ABNORMAL/.test(document.querySelector(sel)?.textContent || ''), link, { timeout: LIVE_WITHIN_MS });
  assert.equal((await page.textContent(link)).trim(), '● 2 new results ▲ ABNORMAL');
  const href = new URL(await page.getAttribute(link, 'href'), page.url());
  assert.equal(`${href.pathname}${href.search}${href.hash}`, `/chart.html?encounter=${enc.encounter_id}#results`);

  await Promise.all([page.waitForURL(/chart\.html\?encounter=\d+#results$/), page.click(link)]);
  await page.waitForSelector('#results:not([hidden]) li.result', { timeout: LIVE_WITHIN_MS });
  const high = '#chart-results li[data-flag="high"]';
  await page.waitForSelector(high, { timeout: LIVE_WITHIN_MS });
  assert.match(await page.textContent(`${high} .result-name`), /Troponin I/);
  assert.equal(await page.textContent(`${high} .result-value`), '52 ng/L');
  assert.equal(await page.textContent(`${high} .result-range`), 'ref 0–14');
  assert.match(await page.textContent(`${high} .result-flag`), /HIGH/);
  const normal = '#chart-results li[data-flag="normal"]';
  assert.equal(await page.textContent(`${normal} .result-value`), '4.2 mmol/L');
  assert.equal(await page.textContent(`${normal} .result-range`), 'ref 3.5–5.3');
  // The section is in view (the link's anchor).
  const top = await page.evaluate(() => document.getElementById('results').getBoundingClientRect().top);
  assert.ok(top < (await page.evaluate(() => innerHeight)), `the results section is on screen (top ${top})`);
  await shot(page, 'results.png');
  assert.deepEqual(problems, [], 'no script errors or CSP violations');
});
