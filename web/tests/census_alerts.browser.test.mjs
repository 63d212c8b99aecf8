// census_alerts.browser.test.mjs: escalation a charge nurse sees without hunting (issue 9, item
// 10). A patient whose NEWS2 is high and an arrival waiting untriaged past 15 min appear as
// census alerts that open the chart; length-of-stay and untriaged clocks on the board and the
// census turn amber / red at the documented thresholds (ui.js TIME_THRESHOLDS), with a symbol
// as well as the colour. Screenshot: census-alerts.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { skipUnlessConfigured, signIn } from './browser_lib.mjs';
import { startBrowser, wall, waitLive, shot, Patients, watch, LIVE_WITHIN_MS } from './roles_lib.mjs';

const skip = skipUnlessConfigured();
let browser;
const problems = [];
const patients = new Patients();
const minutesAgo = (m) => new Date(Date.now() - m * 60000).toISOString().replace(/\.\d{3}Z$/, 'Z');

before(async () => {
  if (skip) return;
  await patients.init();
  browser = await startBrowser();
});

after(async () => {
  await patients.departAll();
  if (browser) await browser.close();
});

async function arriveAgo(family, minutes) {
  const stamp = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4).toString(36)}`.toUpperCase();
  const res = await patients.call('POST', `/departments/${patients.departmentId}/arrivals`, {
    patient: { mrn: `WEBTEST-${stamp}`, family_name: family, given_name: `Test ${stamp}`, birth_date: '1960-01-01', sex: 'male' },
    arrival_mode: 'walk_in', chief_complaint: 'census alert test', arrived_at: minutesAgo(minutes),
  });
  assert.equal(res.status, 201, JSON.stringify(res.data));
  patients.created.push(res.data.encounter.encounter_id);
  return res.data.encounter.encounter_id;
}

test('high NEWS2 and untriaged waits are census alerts that open the chart; long clocks change colour', { skip, timeout: 90000 }, async () => {
  const untriaged = await arriveAgo('Waitlong', 20);
  const sick = await arriveAgo('Newshigh', 300);
  const staff = (await patients.call('GET', '/session')).data.staff_id;
  await patients.call('POST', `/encounters/${sick}/triage`, { esi: 3 });
  const v = await patients.call('POST', `/encounters/${sick}/vitals`, {
    taken_by: staff, resp_rate: 26, spo2: 90, on_oxygen: false, systolic_bp: 95, diastolic_bp: 60, heart_rate: 95, consciousness: 'A', temperature_c: 37.0,
  });
  assert.equal(v.status, 201, JSON.stringify(v.data));

  const census = watch(await (await wall(browser)).newPage(), 'census adeyemi', problems);
  await signIn(census, 'adeyemi', 'census.html');
  await waitLive(census, 'census');
  const ews = `#alert-list li[data-kind="ews"][data-encounter-id="${sick}"]`;
  const wait = `#alert-list li[data-kind="untriaged"][data-encounter-id="${untriaged}"]`;
  await census.waitForSelector(ews, { timeout: LIVE_WITHIN_MS });
  assert.match(await census.textContent(ews), /NEWS2 9 \(high, continuous monitoring\)/);
  assert.equal(await census.getAttribute(`${ews} a`, 'href'), `chart.html?encounter=${sick}`);
  await census.waitForSelector(wait, { timeout: LIVE_WITHIN_MS });
  assert.match(await census.textContent(wait), /Not triaged after 2\d ?m/);
  // Census patient list: 5 h here is past the 4 h length-of-stay mark (amber, with ◷).
  const row = `#patient-rows tr[data-encounter-id="${sick}"] td.c-time`;
  assert.equal(await census.getAttribute(row, 'data-time-level'), 'warn');
  assert.match(await census.textContent(row), /◷/);
  await shot(census, 'census-alerts.png', { fullPage: true });
  await census.click(`${ews} a`);
  await census.waitForURL(new RegExp(`chart\\.html\\?encounter=${sick}`));

  // Board: the same clocks; untriaged 20 min is past the 15 min mark (red, with ⚠).
  const board = watch(await (await wall(browser)).newPage(), 'board dr.lopez', problems);
  await signIn(board, 'dr.lopez', 'board.html');
  await waitLive(board, 'board');
  const los = `#board tr[data-encounter-id="${sick}"] td.c-time`;
  await board.waitForSelector(los, { timeout: LIVE_WITHIN_MS });
  assert.equal(await board.getAttribute(los, 'data-time-level'), 'warn');
  const esi = `#board tr[data-encounter-id="${untriaged}"] td.c-esi`;
  assert.equal(await board.getAttribute(esi, 'data-time-level'), 'alert');
  assert.match(await board.textContent(esi), /⚠/);
  assert.deepEqual(problems, [], 'no script errors or CSP violations');
});
