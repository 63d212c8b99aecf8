// idle_warning.browser.test.mjs: a clinician's screen left open (issue 9 item 12). WebSocket
// traffic is not activity; the page knows its session's idle deadline (GET /session:
// idle_timeout_s, idle_remaining_s), warns a minute before it with "Stay signed in" (which
// touches the session), and at the deadline blanks the patient data and goes to sign-in.
// The session's idle time-out is shortened from the database (EDLIVE_PG_SUPER) for the test.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  BASE, CHROMIUM, CHROMIUM_ARGS, skipUnlessConfigured, loadChromium, watch, signIn,
} from './browser_lib.mjs';

const skip = skipUnlessConfigured() || !process.env.EDLIVE_PG_SUPER;
let browser;
const problems = [];
const psql = (sql) => execFileSync('psql', [process.env.EDLIVE_PG_SUPER, '-v', 'ON_ERROR_STOP=1', '-Atc', sql], { encoding: 'utf8' }).trim();
const setIdle = (user, seconds) => psql(`UPDATE session SET idle_seconds = ${seconds} WHERE revoked_at IS NULL AND account_id = (SELECT id FROM account WHERE username = '${user}')`);

before(async () => {
  if (skip) return;
  const chromium = await loadChromium();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});

after(async () => {
  if (browser) await browser.close();
});

async function board(user) {
  const context = await browser.newContext({ viewport: { width: 1600, height: 900 }, ignoreHTTPSErrors: true });
  const page = watch(await context.newPage(), user, problems);
  await signIn(page, user, 'board.html');
  await page.waitForSelector('#banner[data-live="live"]', { timeout: 30000 });
  await page.waitForSelector('#rows tr', { timeout: 10000 });
  return { context, page };
}

test('a minute before the idle time-out the board warns; "Stay signed in" keeps the session', { skip }, async () => {
  const { context, page } = await board('kim');
  assert.equal(await page.locator('#idle-warning:not([hidden])').count(), 0, 'no warning right after sign-in');
  // 80 s: the page learns it at the reload; 70 s left at most, so the warning comes ~10 s later.
  setIdle('kim', 80);
  await page.reload();
  await page.waitForSelector('#banner[data-live="live"]', { timeout: 30000 });
  await page.waitForSelector('#idle-warning:not([hidden])', { timeout: 30000 });
  assert.match(await page.textContent('#idle-text'), /signs out and clears in \d+ s/);
  await page.waitForTimeout(1500); // the server records activity at most every 10 s
  await page.click('#idle-stay');
  await page.waitForSelector('#idle-warning', { state: 'hidden', timeout: 5000 });
  assert.match(new URL(page.url()).pathname, /board\.html$/);
  await context.close();
});

test('at the idle time-out the board blanks and goes to sign-in, though its socket is live', { skip }, async () => {
  const { context, page } = await board('novak');
  setIdle('novak', 22); // 12 s left at the reload at most (10 s activity grain)
  await page.reload();
  await page.waitForSelector('#rows tr', { timeout: 10000 });
  await page.waitForSelector('#idle-warning:not([hidden])', { timeout: 10000 });
  await page.waitForURL(/\/login\.html\?.*why=ended/, { timeout: 30000 });
  assert.equal(await page.locator('#rows tr').count(), 0, 'no patient rows left');
  assert.deepEqual(problems, []);
  await context.close();
});

test('work in one tab keeps the idle board in the next tab signed in (one session, one deadline)', { skip }, async () => {
  const { context, page: idle } = await board('eriksen');
  setIdle('eriksen', 80);
  // A second tab of the same browser: the same session cookie.
  const busy = watch(await context.newPage(), 'eriksen (second tab)', problems);
  await busy.goto(`${BASE}/board.html`);
  await busy.waitForSelector('#banner[data-live="live"]', { timeout: 30000 });
  await idle.reload();
  await idle.waitForSelector('#rows tr', { timeout: 10000 });
  // Left to itself the first tab warns ~20 s from now (80 s, a minute's warning); the user
  // is working in the other tab all that time (REST requests, which are activity).
  let warned = false;
  for (const until = Date.now() + 35000; Date.now() < until;) {
    const status = await busy.evaluate(() => import('/js/api.js').then((m) => m.apiGet('/departments')).then((r) => r.status));
    assert.equal(status, 200);
    warned ||= (await idle.locator('#idle-warning:not([hidden])').count()) > 0;
    await busy.waitForTimeout(2000);
  }
  assert.equal(warned, false, 'the idle tab warned of a time-out while the session was in use in the other tab');
  assert.match(new URL(idle.url()).pathname, /board\.html$/, 'the idle tab is still on the board');
  assert.ok((await idle.locator('#rows tr').count()) > 0, 'the idle tab still shows the board');
  assert.deepEqual(problems, []);
  await context.close();
});
