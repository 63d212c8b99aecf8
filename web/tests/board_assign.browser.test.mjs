// board_assign.browser.test.mjs: a physician assigns themself from the tracking board with
// one click, and the assignment shows live on a second physician's board.
//
// dr.bello and dr.chen each have a 1920x1080 board. A test patient arrives (unassigned);
// dr.bello clicks "Assign me" on the row (the page sends If-Match with the row's version);
// dr.chen's board shows Dr. Bello as attending within seconds, without a reload, and the
// row leaves dr.chen's "Unassigned" view; on dr.bello's board the row says "✓ mine" and is
// in the "Mine" view. Screenshot: board-assign.png (dr.chen's board).
// Environment: see browser_lib.mjs. Without EDLIVE_BASE_URL: exit 77 (skipped).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { skipUnlessConfigured, signIn } from './browser_lib.mjs';
import { startBrowser, wall, waitLive, shot, Patients, watch, LIVE_WITHIN_MS } from './roles_lib.mjs';

const skip = skipUnlessConfigured();
let browser;
const problems = [];
const patients = new Patients();
let chenPage; // dr.chen's board, reused by the second test

before(async () => {
  if (skip) return;
  await patients.init();
  browser = await startBrowser();
});

after(async () => {
  await patients.departAll();
  if (browser) await browser.close();
});

test('"assign me" on one physician\'s board shows live on another physician\'s board', { skip, timeout: 90000 }, async () => {
  const bello = watch(await (await wall(browser)).newPage(), 'board dr.bello', problems);
  const chen = watch(await (await wall(browser)).newPage(), 'board dr.chen', problems);
  chenPage = chen;
  await Promise.all([signIn(bello, 'dr.bello', 'board.html'), signIn(chen, 'dr.chen', 'board.html')]);
  await Promise.all([waitLive(bello, 'bello'), waitLive(chen, 'chen')]);
  await chen.evaluate(() => (window.__noReload = 'kept'));

  const enc = await patients.arrive('Assigntest', 'Board');
  const rowSel = `#board tr[data-encounter-id="${enc.encounter_id}"]`;
  await Promise.all([bello.waitForSelector(rowSel, { timeout: LIVE_WITHIN_MS }), chen.waitForSelector(rowSel, { timeout: LIVE_WITHIN_MS })]);
  assert.match(await chen.textContent(`${rowSel} td.c-staff`), /none/, 'no attending yet');

  // dr.chen looks at the unassigned view: the new patient is there.
  await chen.click('.views button[data-view="unassigned"]');
  assert.match(chen.url(), /view=unassigned/, 'the view is in the address (a wall screen can bookmark it)');
  await chen.waitForSelector(rowSel);

  // One click on dr.bello's board.
  const version = await bello.getAttribute(rowSel, 'data-version');
  const [request] = await Promise.all([
    bello.waitForRequest((r) => r.method() === 'POST' && /\/encounters\/\d+\/assignment$/.test(new URL(r.url()).pathname)),
    bello.click(`${rowSel} button.assign-me`),
  ]);
  assert.equal(request.headers()['if-match'], version, 'If-Match carries the row version the user saw');
  const response = await request.response();
  assert.equal(response.status(), 200, `assignment refused: ${await response.text()}`);
  const sent = JSON.parse(request.postData());
  assert.ok(Number.isInteger(sent.attending_id) && !('nurse_id' in sent), 'a physician assigns themself as attending');

  // dr.chen: the row leaves the unassigned view; in "All" it names Dr. Bello.
  await chen.waitForSelector(rowSel, { state: 'detached', timeout: LIVE_WITHIN_MS }).catch(() => {
    throw new Error('the row stayed in dr.chen\'s unassigned view');
  });
  await chen.click('.views button[data-view="all"]');
  await chen.waitForFunction((sel) => /Bello/.test(document.querySelector(`${sel} td.c-staff`)?.textContent || ''), rowSel, { timeout: LIVE_WITHIN_MS });
  assert.equal(await chen.evaluate(() => window.__noReload), 'kept', 'dr.chen\'s board was not reloaded');
  assert.equal(await chen.getAttribute('#banner', 'data-live'), 'live');

  // dr.bello: "✓ mine", and the Mine view holds it.
  await bello.waitForSelector(`${rowSel} .mine-mark`, { timeout: LIVE_WITHIN_MS });
  await bello.click('.views button[data-view="mine"]');
  await bello.waitForSelector(rowSel);
  assert.match(await bello.textContent('#assign-result'), /You are now the attending/);

  await chen.evaluate((sel) => document.querySelector(sel).scrollIntoView({ block: 'center' }), rowSel);
  await chen.evaluate((sel) => document.querySelector(sel).classList.add('flash'), rowSel);
  await shot(chen, 'board-assign.png');
  assert.deepEqual(problems, [], 'no script errors or CSP violations');
});

test('two current patients with alike names are flagged on the board', { skip, timeout: 60000 }, async (t) => {
  if (!chenPage) return t.skip('the first test did not open a board');
  // Quillane / Quilane: alike for the server's sound-alike key and for the page's own check
  // (one letter apart), so this holds with and without the server's similar_name.
  const a = await patients.arrive('Quillane', 'Similar');
  const b = await patients.arrive('Quilane', 'Similar');
  for (const enc of [a, b])
    await chenPage.waitForSelector(`#board tr[data-encounter-id="${enc.encounter_id}"] .flag-similar`, { timeout: LIVE_WITHIN_MS });
  assert.match(await chenPage.getAttribute(`#board tr[data-encounter-id="${a.encounter_id}"] .flag-similar`, 'title'), /Quilane/);
  // One leaves: the other's flag goes, live.
  await patients.call('POST', `/encounters/${b.encounter_id}/status`, { status: 'departed' });
  await chenPage.waitForSelector(`#board tr[data-encounter-id="${a.encounter_id}"] .flag-similar`, { state: 'detached', timeout: LIVE_WITHIN_MS });
  assert.deepEqual(problems, [], 'no script errors or CSP violations');
});

test('the public wall mode masks names and hides clinical columns, and is bookmarkable', { skip, timeout: 60000 }, async (t) => {
  if (!chenPage) return t.skip('the first test did not open a board');
  const enc = await patients.arrive('Publicwall', 'Masked');
  const rowSel = `#board tr[data-encounter-id="${enc.encounter_id}"]`;
  await chenPage.waitForSelector(rowSel, { timeout: LIVE_WITHIN_MS });
  await chenPage.click('#mode-public');
  assert.match(chenPage.url(), /mode=public/, 'the mode is in the address');
  // Initials + the last two digits of the MRN, nothing else of the name.
  const digits = enc.patient.mrn.replace(/\D/g, '');
  assert.equal(await chenPage.textContent(`${rowSel} .pt-name`), `M.P.${digits ? ` ·${digits.slice(-2)}` : ''}`);
  const text = await chenPage.textContent('#board');
  assert.ok(!text.includes('Publicwall') && !text.includes(enc.chief_complaint), 'no name or complaint on the public wall');
  assert.equal(await chenPage.locator('#board th.c-complaint, #board td.v-heart_rate, #board td.c-news2').count(), 0, 'no clinical columns');
  assert.equal(await chenPage.locator(`${rowSel} a`).count(), 0, 'no chart link');
  // A bookmarked address opens in the same mode.
  await chenPage.reload();
  await waitLive(chenPage, 'chen after reload');
  await chenPage.waitForSelector(rowSel);
  assert.ok(await chenPage.evaluate(() => document.documentElement.classList.contains('public')));
  await shot(chenPage, 'board-public.png');
  await chenPage.click('#mode-normal');
  assert.doesNotMatch(chenPage.url(), /mode=/);
  assert.deepEqual(problems, [], 'no script errors or CSP violations');
});
