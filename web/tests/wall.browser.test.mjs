// wall.browser.test.mjs: the public wall of a display account (issue 9 item 11), in headless
// Chromium against the running services. `wall` signs in through the login page and lands on
// wall.html; the page shows masked rows (initials), offers no way to unmask, no sign-out and no
// chart link, and stays live past its session's idle time-out (shortened to 8 s from the
// database), still showing new arrivals. Screenshot: wall.png.
//
// Environment: as board_live.browser.test.mjs (see browser_lib.mjs), plus EDLIVE_PG_SUPER.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  BASE, ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, PASSWORD, skipUnlessConfigured, loadChromium, api, apiToken, watch, signIn,
} from './browser_lib.mjs';

const skip = skipUnlessConfigured() || !process.env.EDLIVE_PG_SUPER;
let chromium;
let browser;
const problems = [];
let serial = Date.now() % 1e7;

const psql = (sql) => execFileSync('psql', [process.env.EDLIVE_PG_SUPER, '-v', 'ON_ERROR_STOP=1', '-Atc', sql], { encoding: 'utf8' }).trim();

before(async () => {
  if (skip) return;
  chromium = await loadChromium();
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});

after(async () => {
  if (browser) await browser.close();
});

async function arrival(token, department, family, given) {
  const res = await api('POST', `/departments/${department}/arrivals`, {
    patient: { mrn: `WB-${serial++}`, family_name: family, given_name: given, birth_date: '1958-02-11', sex: 'male' },
    arrival_mode: 'ambulance', chief_complaint: 'wall browser check: fall',
  }, token);
  assert.equal(res.status, 201, JSON.stringify(res.data));
  return res.data.encounter;
}

test('the public wall: masked rows, nothing to unmask or sign out, live past the idle time-out', { skip }, async () => {
  const charge = await apiToken('adeyemi');
  const department = Number(psql("SELECT id FROM department WHERE code = 'DEMO'"));
  const first = await arrival(charge, department, 'Quennell', 'Barnaby');

  const context = await browser.newContext({ viewport: { width: 1920, height: 1080 }, ignoreHTTPSErrors: true });
  const page = watch(await context.newPage(), 'wall', problems);
  await page.goto(`${BASE}/board.html`);
  await page.waitForURL(/\/login\.html\?/, { timeout: 10000 });
  await page.fill('#username', 'wall');
  await page.fill('#password', PASSWORD);
  await Promise.all([page.waitForURL(/\/wall\.html/, { timeout: 10000 }), page.press('#password', 'Enter')]);
  await page.waitForSelector('#banner[data-live="live"]', { timeout: 30000 });
  await page.waitForSelector(`tr[data-encounter-id="${first.encounter_id}"]`, { timeout: 10000 });
  assert.equal(await page.textContent(`tr[data-encounter-id="${first.encounter_id}"] td.patient`), 'BQ');

  // Nothing to unmask, sign out or open.
  const html = await page.content();
  for (const s of ['Quennell', 'Barnaby', first.patient.mrn, '1958-02-11', 'wall browser check']) {
    assert.ok(!html.includes(s), `the wall page shows ${s}`);
  }
  assert.equal(await page.locator('#sign-out, [data-mode], button').count(), 0, 'no buttons (sign-out, mode switch) on the wall');
  assert.equal(await page.locator('a[href*="chart"], a[href*="bedside"]').count(), 0, 'no chart or bedside links');
  await page.screenshot({ path: path.join(ARTIFACTS, 'wall.png') });

  // The wall's session would idle out in 8 s without its socket; it must stay.
  psql("UPDATE session SET idle_seconds = 8 WHERE revoked_at IS NULL AND account_id = (SELECT id FROM account WHERE username = 'wall')");
  await page.waitForTimeout(20000);
  assert.match(new URL(page.url()).pathname, /\/wall\.html$/, 'still on the wall (not sent to sign-in)');
  assert.equal(await page.getAttribute('#banner', 'data-live'), 'live');
  const second = await arrival(charge, department, 'Ashdown', 'Perpetua');
  await page.waitForSelector(`tr[data-encounter-id="${second.encounter_id}"]`, { timeout: 10000 });
  assert.equal(await page.textContent(`tr[data-encounter-id="${second.encounter_id}"] td.patient`), 'PA');
  assert.ok(!(await page.content()).includes('Ashdown'));
  assert.deepEqual(problems, []);
  await context.close();
});

test('wall.html opened by a clinician connects nothing: only a display account is masked by the server', { skip }, async () => {
  const charge = await apiToken('adeyemi');
  const department = Number(psql("SELECT id FROM department WHERE code = 'DEMO'"));
  const patient = await arrival(charge, department, 'Vandersloot', 'Ignatius');

  const context = await browser.newContext({ viewport: { width: 1600, height: 900 }, ignoreHTTPSErrors: true });
  const page = watch(await context.newPage(), 'dr.lopez on wall.html', problems);
  const sockets = [];
  page.on('websocket', (ws) => sockets.push(ws));
  await signIn(page, 'dr.lopez', 'board.html');
  sockets.length = 0; // the board's own socket
  await page.goto(`${BASE}/wall.html`);
  await page.waitForSelector('#message:not([hidden])', { timeout: 10000 });
  assert.match(await page.textContent('#message'), /public wall of a display account/);
  await page.waitForTimeout(1500);
  assert.equal(sockets.filter((ws) => new URL(ws.url()).pathname === '/ws').length, 0, 'no WebSocket opened');
  assert.equal(await page.locator('#rows tr').count(), 0);
  const html = await page.content();
  for (const s of ['Vandersloot', 'Ignatius', patient.patient.mrn]) assert.ok(!html.includes(s), `wall.html shows ${s} to a clinician`);
  assert.deepEqual(problems, []);
  await context.close();
});
