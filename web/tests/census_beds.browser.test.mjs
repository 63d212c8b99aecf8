// census_beds.browser.test.mjs: the charge nurse moves a waiting patient into a free bed on
// the census screen, and the counts change live on another clinician's census screen.
//
// adeyemi (charge nurse) and kim (nurse) each have census.html open at 1920x1080. A test
// patient arrives in the waiting room: both screens count one more waiting. The charge
// nurse clicks "Bed…" on the patient and "Move … here" on a free bed (If-Match with the
// row's version). On kim's screen, without a reload: waiting −1, free beds −1, occupied +1,
// and the bed tile names the patient. Screenshot: census.png (kim's screen). Then the patient
// leaves: the bed shows "cleaning" on both screens, kim marks it clean, and it is free again.
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
  await patients.departAll();
  if (browser) await browser.close();
});

const counts = (page) =>
  page.evaluate(() => {
    const n = (id) => Number(document.getElementById(id).dataset.count);
    return { total: n('count-total'), waiting: n('count-waiting'), free: n('count-beds-free'), occupied: n('count-beds-occupied'), cleaning: n('count-beds-cleaning'), seq: Number(document.getElementById('census-main').dataset.seq) };
  });

async function waitCounts(page, what, want) {
  await page
    .waitForFunction(
      (want) => Object.entries(want).every(([id, v]) => Number(document.getElementById(id)?.dataset.count) === v),
      want,
      { timeout: LIVE_WITHIN_MS },
    )
    .catch(async () => {
      throw new Error(`${what}: counts ${JSON.stringify(await counts(page))}, wanted ${JSON.stringify(want)}`);
    });
}

test('a bed move on the charge nurse\'s census changes the counts on another census screen', { skip, timeout: 90000 }, async (t) => {
  const charge = watch(await (await wall(browser)).newPage(), 'census adeyemi', problems);
  const other = watch(await (await wall(browser)).newPage(), 'census kim', problems);
  await Promise.all([signIn(charge, 'adeyemi', 'census.html'), signIn(other, 'kim', 'census.html')]);
  await Promise.all([waitLive(charge, 'charge'), waitLive(other, 'kim')]);
  await other.evaluate(() => (window.__noReload = 'kept'));
  await other.waitForSelector('#counts:not([hidden])');
  const before0 = await counts(other);

  const enc = await patients.arrive('Censustest', 'Bed', 'wrist pain (test)');
  await waitCounts(other, 'after the arrival', { 'count-total': before0.total + 1, 'count-waiting': before0.waiting + 1 });
  const before = await counts(other);

  // A free bed (not a hallway space, if there is a room free).
  const bed = await charge.evaluate(() => {
    const tiles = [...document.querySelectorAll('.bed-tile[data-status="free"]')];
    const room = tiles.find((t) => !t.closest('.bed-area-group')?.querySelector('h3')?.textContent.match(/Hallway/i)) || tiles[0];
    return room ? { id: room.dataset.bedId, label: room.querySelector('.bed-label').textContent } : null;
  });
  if (!bed) return t.skip('no free bed in the department to move into');

  await charge.click(`.move-pick[data-encounter-id="${enc.encounter_id}"]`);
  const version = await charge.getAttribute(`#patient-rows tr[data-encounter-id="${enc.encounter_id}"]`, 'data-version');
  const [request] = await Promise.all([
    charge.waitForRequest((r) => r.method() === 'POST' && /\/bed$/.test(new URL(r.url()).pathname)),
    charge.click(`.bed-tile[data-bed-id="${bed.id}"] button.move-here`),
  ]);
  assert.equal(request.headers()['if-match'], version, 'If-Match carries the row version');
  const response = await request.response();
  assert.equal(response.status(), 200, `move refused: ${await response.text()}`);
  assert.deepEqual(JSON.parse(request.postData()), { bed_id: Number(bed.id) });

  // The other screen, live.
  await waitCounts(other, 'after the move', {
    'count-total': before.total,
    'count-waiting': before.waiting - 1,
    'count-beds-free': before.free - 1,
    'count-beds-occupied': before.occupied + 1,
  });
  await other.waitForFunction(
    ({ id, name }) => (document.querySelector(`.bed-tile[data-bed-id="${id}"] .bed-pt-name`)?.textContent || '').startsWith(name),
    { id: bed.id, name: 'Censustest' },
    { timeout: LIVE_WITHIN_MS },
  );
  assert.equal(await other.getAttribute(`.bed-tile[data-bed-id="${bed.id}"]`, 'data-status'), 'occupied');
  assert.equal(await other.evaluate(() => window.__noReload), 'kept', 'the other census was not reloaded');
  assert.equal(await other.getAttribute('#banner', 'data-live'), 'live');
  // The charge nurse's own screen agrees.
  await waitCounts(charge, 'charge nurse screen', { 'count-waiting': before.waiting - 1, 'count-beds-free': before.free - 1 });

  await other.evaluate(() => window.scrollTo(0, 0));
  await shot(other, 'census.png');

  // The patient leaves: the bed needs cleaning, live on both screens; kim (a nurse) marks it
  // clean on her screen and the charge nurse's screen shows it free again.
  const left = await patients.call('POST', `/encounters/${enc.encounter_id}/status`, { status: 'departed' });
  assert.equal(left.status, 200, `departure refused: ${JSON.stringify(left.data)}`);
  const tile = `.bed-tile[data-bed-id="${bed.id}"]`;
  for (const [name, page] of [['kim', other], ['charge nurse', charge]]) {
    await page
      .waitForFunction((sel) => document.querySelector(sel)?.dataset.status === 'cleaning', tile, { timeout: LIVE_WITHIN_MS })
      .catch(async () => {
        throw new Error(`${name}: bed ${bed.label} is ${await page.getAttribute(tile, 'data-status')}, wanted cleaning`);
      });
  }
  await waitCounts(other, 'after the departure', {
    'count-beds-free': before.free - 1,
    'count-beds-occupied': before.occupied,
    'count-beds-cleaning': before.cleaning + 1,
  });
  await other.click(`${tile} button.bed-clean`);
  await charge.waitForFunction((sel) => document.querySelector(sel)?.dataset.status === 'free', tile, { timeout: LIVE_WITHIN_MS });
  await waitCounts(charge, 'after cleaning', { 'count-beds-free': before.free, 'count-beds-occupied': before.occupied, 'count-beds-cleaning': before.cleaning });
  assert.deepEqual(problems, [], 'no script errors or CSP violations');
});
