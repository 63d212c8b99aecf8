// board_live.browser.test.mjs: the web pages against the real services, in headless Chromium.
//
// Two tracking boards and one bedside tablet are open. A test patient arrives (through the
// API: registration has no page yet) and must appear on every page live. A nurse records
// vitals through the bedside page (real clicks and typing); both boards must show the new
// values without a reload within a few seconds, agree on data-seq, and say LIVE. The chart
// page of the same encounter must show the next vitals row (and a note) live. Finally the
// patient departs and leaves both boards live. The test patient gets a fresh MRN each run.
//
// Everyone signs in through the login page (real typing): the boards as a physician
// (dr.lopez) and as the charge nurse (adeyemi), the bedside tablet as nurse patel. The test's
// own API calls (the arrival, the departure) are the charge nurse's, with a Bearer token.
//
// Environment (deploy/local/test exports these; see browser_lib.mjs):
//   EDLIVE_BASE_URL   e.g. https://127.0.0.1:8443 (nginx: web/, /api, /ws); unset: skipped
//   EDLIVE_API_URL    e.g. http://127.0.0.1:8481 (ed-api directly)
//   EDLIVE_ARTIFACTS  folder for board.png, bedside.png, chart.png (default: $TMPDIR/edlive-artifacts)
//   EDLIVE_CHROMIUM   the browser (default /usr/bin/chromium; `apt-get install -y chromium`)
//
// Run: set -a; . .state/local/env; set +a; node --test web/tests/
// (run directly with node and without EDLIVE_BASE_URL it exits 77, ctest's "skipped").
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { BASE, ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, skipUnlessConfigured, loadChromium, api as apiAs, apiToken, watch as watchPage, signIn } from './browser_lib.mjs';

const LIVE_WITHIN_MS = 5000; // a saved change must be on every open page within this
const skip = skipUnlessConfigured();

let browser;
let wallPhysician; // 1920x1080 context signed in as dr.lopez: board A and the chart
let wallCharge; // 1920x1080 context signed in as the charge nurse adeyemi: board B
let tablet; // 1024x768 context signed in as nurse patel: the bedside page
const problems = []; // page errors and CSP violations, from every page
let boardA;
let boardB;
let bedside;
let chosen; // {encounterId, nurse, vitals}
let departed = false;
let chargeToken; // the test's own API calls

const api = (method, pathname, body) => apiAs(method, pathname, body, chargeToken);

const logs = new Map(); // page -> recent console lines, for failure messages

function watch(page, name) {
  return watchPage(page, name, problems, logs);
}

// What a page says about itself, for a failure message.
async function describe(page) {
  const state = await page
    .evaluate(() => {
      const banner = document.getElementById('banner');
      const main = document.getElementById('board') || document.getElementById('chart') || document.getElementById('patient-list');
      return `banner=${banner?.dataset.live} "${banner?.textContent}" seq=${main?.dataset.seq} version=${main?.dataset.version ?? '-'}`;
    })
    .catch((e) => `(page not readable: ${e.message})`);
  return `${state}\n    console:\n      ${(logs.get(page) || []).join('\n      ') || '(nothing)'}`;
}

async function waitLive(page, what) {
  await page.waitForSelector('#banner[data-live="live"]', { timeout: 30000 }).catch(async () => {
    throw new Error(`${what}: banner never said LIVE: ${await describe(page)}`);
  });
}

function randomHr(avoid) {
  for (;;) {
    const hr = 101 + Math.floor(Math.random() * 38); // 101-138: abnormal (NEWS2 1-2), but plausible
    if (String(hr) !== avoid) return hr;
  }
}

async function typeInto(page, selector, text) {
  await page.click(selector);
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Backspace');
  await page.keyboard.type(String(text));
}

// Posts through the bedside UI (the form must be filled); resolves to the server's JSON answer.
async function submitAndWait(page, submit) {
  const [response] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && /\/api\/v1\/encounters\/\d+\/vitals$/.test(new URL(r.url()).pathname), {
      timeout: 10000,
    }),
    submit(),
  ]);
  const body = await response.json();
  assert.equal(response.status(), 201, `the server refused the vitals: ${JSON.stringify(body)}`);
  return body;
}

// The department a board page shows (its links carry it).
async function departmentOf(page) {
  const href = await page.getAttribute('#bedside-link', 'href');
  const id = Number(new URL(href, BASE).searchParams.get('department'));
  assert.ok(id > 0, `board page names its department (${href})`);
  return id;
}

async function boardRowState(page, encounterId) {
  return page.evaluate((id) => {
    const tr = document.querySelector(`#board tr[data-encounter-id="${id}"]`);
    if (!tr) return null;
    const hr = tr.querySelector('td.v-heart_rate');
    return {
      hr: hr.querySelector('.val')?.textContent ?? '',
      hrAbnormal: hr.classList.contains('abn'),
      hrMark: hr.querySelector('.mark')?.textContent ?? '',
      news2: tr.querySelector('td.c-news2 .news2-total')?.textContent ?? '',
      seq: Number(document.getElementById('board').dataset.seq),
    };
  }, encounterId);
}

before(async () => {
  if (skip) return;
  const chromium = await loadChromium();
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  chargeToken = await apiToken('adeyemi');
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  wallPhysician = await browser.newContext({ viewport: { width: 1920, height: 1080 }, ignoreHTTPSErrors: true });
  wallCharge = await browser.newContext({ viewport: { width: 1920, height: 1080 }, ignoreHTTPSErrors: true });
  tablet = await browser.newContext({ viewport: { width: 1024, height: 768 }, hasTouch: true, ignoreHTTPSErrors: true });
});

after(async () => {
  if (chosen && !departed) await api('POST', `/encounters/${chosen.encounterId}/status`, { status: 'departed' }).catch(() => {});
  if (browser) await browser.close();
});

test('vitals recorded at the bedside appear live on two boards', { skip, timeout: 90000 }, async () => {
  boardA = watch(await wallPhysician.newPage(), 'board A (physician)');
  boardB = watch(await wallCharge.newPage(), 'board B (charge nurse)');
  bedside = watch(await tablet.newPage(), 'bedside (nurse)');
  await Promise.all([signIn(boardA, 'dr.lopez', 'board.html'), signIn(boardB, 'adeyemi', 'board.html'), signIn(bedside, 'patel', 'bedside.html')]);
  await Promise.all([waitLive(boardA, 'board A'), waitLive(boardB, 'board B'), waitLive(bedside, 'bedside')]);
  assert.match(await boardA.textContent('#user'), /dr\.lopez.*Physician/);
  assert.match(await boardB.textContent('#user'), /adeyemi.*Charge nurse/);
  assert.match(await bedside.textContent('#user'), /patel.*Nurse/);

  // A page that reloads loses this mark.
  for (const p of [boardA, boardB]) await p.evaluate(() => (window.__noReload = 'kept'));

  // A test patient arrives; every page shows the new row live.
  const stamp = Date.now().toString(36).toUpperCase();
  const arrival = await api('POST', `/departments/${await departmentOf(boardA)}/arrivals`, {
    patient: { mrn: `WEBTEST-${stamp}`, family_name: 'Testpatient', given_name: `Browser ${stamp}`, birth_date: '1970-01-01', sex: 'unknown' },
    arrival_mode: 'walk_in',
    chief_complaint: 'browser test patient',
  });
  assert.equal(arrival.status, 201, `arrival refused: ${JSON.stringify(arrival.data)}`);
  const encounterId = arrival.data.encounter.encounter_id;
  chosen = { encounterId };
  for (const [name, page, selector] of [
    ['board A', boardA, `#board tr[data-encounter-id="${encounterId}"]`],
    ['board B', boardB, `#board tr[data-encounter-id="${encounterId}"]`],
    ['bedside', bedside, `#patient-list .patient-pick[data-encounter-id="${encounterId}"]`],
  ]) {
    await page.waitForSelector(selector, { timeout: LIVE_WITHIN_MS }).catch(async () => {
      throw new Error(`${name} did not show the new arrival (encounter ${encounterId}, seq ${arrival.data.seq}) within ${LIVE_WITHIN_MS} ms: ${await describe(page)}`);
    });
  }
  const before = await boardRowState(boardA, encounterId);
  assert.equal(before.hr, '', 'no vitals yet');
  assert.match(await boardA.textContent(`#board tr[data-encounter-id="${encounterId}"] .pt-name`), new RegExp(`^Testpatient, Browser ${stamp}$`));

  // The nurse picks the patient and who she is.
  const pick = bedside.locator(`#patient-list .patient-pick[data-encounter-id="${encounterId}"]`);
  await pick.click();
  assert.equal(await pick.getAttribute('aria-pressed'), 'true');
  const nurse = await bedside.evaluate(() => {
    const o = document.querySelector('#taken_by optgroup[label="Nurses"] option') || document.querySelector('#taken_by option[value]:not([value=""])');
    return o ? o.value : null;
  });
  assert.ok(nurse, 'the staff list offers a nurse');
  await bedside.selectOption('#taken_by', nurse);

  const hr = randomHr(before.hr);
  await typeInto(bedside, '#heart_rate', hr);
  await typeInto(bedside, '#resp_rate', 21);
  await typeInto(bedside, '#systolic_bp', 104);
  await typeInto(bedside, '#diastolic_bp', 66);
  await typeInto(bedside, '#spo2', 95);
  await typeInto(bedside, '#temperature_c', '38.3');
  await bedside.click('label.choice:has(input[name="consciousness"][value="A"])');
  await bedside.click('label.choice:has(input[name="pain"][value="4"])');
  const posted = await submitAndWait(bedside, () => bedside.keyboard.press('Enter')); // Enter saves
  const total = posted.vitals.news2.total;
  assert.equal(posted.vitals.heart_rate, hr);
  assert.equal(posted.vitals.taken_by.id, Number(nurse));
  chosen = { encounterId, nurse, vitals: posted.vitals };

  // The bedside page shows the server's NEWS2 and each sub-score.
  await bedside.waitForSelector('#result[data-outcome="saved"]');
  assert.equal((await bedside.textContent('#result .news2-total-cell')).trim(), String(total));
  for (const [key, score] of Object.entries(posted.vitals.news2.scores)) {
    assert.equal((await bedside.textContent(`#result tr[data-param="${key}"] td.score`)).trim(), String(score), `sub-score ${key}`);
  }

  // Both boards, without a reload, within a few seconds.
  const started = Date.now();
  for (const [name, page] of [['board A', boardA], ['board B', boardB]]) {
    await page
      .waitForFunction(
        ({ id, hr, total }) => {
          const tr = document.querySelector(`#board tr[data-encounter-id="${id}"]`);
          return (
            tr &&
            tr.querySelector('td.v-heart_rate .val')?.textContent === String(hr) &&
            tr.querySelector('td.c-news2 .news2-total')?.textContent === String(total)
          );
        },
        { id: encounterId, hr, total },
        { timeout: LIVE_WITHIN_MS },
      )
      .catch(async () => {
        throw new Error(
          `${name} did not show HR ${hr} / NEWS2 ${total} (seq ${posted.seq}) within ${LIVE_WITHIN_MS} ms: ${JSON.stringify(await boardRowState(page, encounterId))} ${await describe(page)}`,
        );
      });
  }
  console.log(`both boards showed the new vitals ${Date.now() - started} ms after the save was answered`);

  // Both boards applied the same events: the same seq, at least the write's.
  await boardA.waitForFunction(
    (seq) => Number(document.getElementById('board').dataset.seq) >= seq,
    posted.seq,
    { timeout: LIVE_WITHIN_MS },
  );
  let a;
  let b;
  for (let i = 0; i < 50; i++) {
    a = await boardRowState(boardA, encounterId);
    b = await boardRowState(boardB, encounterId);
    if (a.seq === b.seq && a.seq >= posted.seq) break;
    await boardA.waitForTimeout(100);
  }
  assert.ok(a.seq > before.seq, `board A data-seq advanced (${before.seq} -> ${a.seq})`);
  assert.ok(a.seq >= posted.seq, `board A data-seq ${a.seq} reached the write's seq ${posted.seq}`);
  assert.equal(a.seq, b.seq, 'both boards are at the same seq');

  // The abnormal heart rate is marked by more than colour.
  assert.ok(a.hrAbnormal, 'HR above 100 is marked abnormal');
  assert.equal(a.hrMark, '▲');

  for (const [name, page] of [['board A', boardA], ['board B', boardB], ['bedside', bedside]]) {
    assert.equal(await page.getAttribute('#banner', 'data-live'), 'live', `${name} banner`);
    assert.match(await page.textContent('#banner'), /LIVE/, `${name} banner text`);
  }
  for (const p of [boardA, boardB]) assert.equal(await p.evaluate(() => window.__noReload), 'kept', 'the board was not reloaded');

  // The bedside page's own latest-vitals panel follows the board subscription too.
  await bedside.waitForFunction((hr) => document.querySelector('#latest-body td.v-heart_rate .val')?.textContent === String(hr), hr, {
    timeout: LIVE_WITHIN_MS,
  });

  await boardA.evaluate((id) => document.querySelector(`#board tr[data-encounter-id="${id}"]`).scrollIntoView({ block: 'center' }), encounterId);
  await boardA.screenshot({ path: path.join(ARTIFACTS, 'board.png') });
  await bedside.evaluate(() => window.scrollTo(0, 0));
  await bedside.screenshot({ path: path.join(ARTIFACTS, 'bedside.png'), fullPage: true });
  assert.deepEqual(problems, [], 'no script errors or CSP violations');
});

test('the chart of that encounter shows new vitals and notes live', { skip, timeout: 60000 }, async (t) => {
  if (!chosen?.vitals) return t.skip('the first test did not get as far as recording vitals');
  const chart = watch(await wallPhysician.newPage(), 'chart (physician)');
  await chart.goto(`${BASE}/chart.html?encounter=${chosen.encounterId}`);
  await waitLive(chart, 'chart');
  await chart.waitForSelector(`#vitals-body tr[data-vitals-id="${chosen.vitals.id}"]`);
  const versionBefore = Number(await chart.getAttribute('#chart', 'data-version'));
  await chart.evaluate(() => (window.__noReload = 'kept'));

  // Next set at the bedside: the patient and "taken by" are still chosen.
  assert.equal(await bedside.inputValue('#taken_by'), chosen.nurse, 'taken by is remembered between saves');
  const hr = randomHr(String(chosen.vitals.heart_rate));
  await typeInto(bedside, '#heart_rate', hr);
  await typeInto(bedside, '#spo2', 97);
  const posted = await submitAndWait(bedside, () => bedside.click('#save'));
  assert.equal(posted.vitals.encounter_id, chosen.encounterId);

  await chart
    .waitForFunction(
      ({ id, hr }) => {
        const first = document.querySelector('#vitals-body tr');
        return first && first.dataset.vitalsId === String(id) && first.querySelector('td.v-heart_rate .val')?.textContent === String(hr);
      },
      { id: posted.vitals.id, hr },
      { timeout: LIVE_WITHIN_MS },
    )
    .catch(async () => {
      throw new Error(`the chart did not show vitals ${posted.vitals.id} (HR ${hr}, seq ${posted.seq}) on top within ${LIVE_WITHIN_MS} ms: ${await describe(chart)}`);
    });
  assert.ok(Number(await chart.getAttribute('#chart', 'data-version')) > versionBefore, 'the chart version advanced');
  assert.equal(await chart.getAttribute('#banner', 'data-live'), 'live');

  // A note typed on the chart comes back through the live stream, as text (never as HTML).
  const text = `Browser test note ${Date.now()} <b>not bold</b> & "quoted"`;
  const author = await chart.evaluate(() => document.querySelector('#author option[value]:not([value=""])')?.value);
  assert.ok(author, 'the author list is filled');
  await chart.selectOption('#author', author);
  await chart.click('#note-text');
  await chart.keyboard.type(text);
  const [noteResponse] = await Promise.all([
    chart.waitForResponse((r) => r.request().method() === 'POST' && /\/notes$/.test(new URL(r.url()).pathname), { timeout: 10000 }),
    chart.click('#note-save'),
  ]);
  const note = await noteResponse.json();
  assert.equal(noteResponse.status(), 201, `the server refused the note: ${JSON.stringify(note)}`);
  await chart
    .waitForFunction((text) => [...document.querySelectorAll('#notes .note-text')].some((n) => n.textContent === text), text, {
      timeout: LIVE_WITHIN_MS,
    })
    .catch(async () => {
      throw new Error(`the chart did not show note ${note.note.id} (seq ${note.seq}, version ${note.encounter.version}) within ${LIVE_WITHIN_MS} ms: ${await describe(chart)}`);
    });
  assert.equal(await chart.locator('#notes .note-text b').count(), 0, 'note text is not interpreted as HTML');
  assert.equal(await chart.evaluate(() => window.__noReload), 'kept', 'the chart was not reloaded');

  await chart.evaluate(() => window.scrollTo(0, 0));
  await chart.screenshot({ path: path.join(ARTIFACTS, 'chart.png') });
  assert.deepEqual(problems, [], 'no script errors or CSP violations');
});

test('an implausible value asks for confirmation and "go back" saves nothing', { skip, timeout: 30000 }, async (t) => {
  if (!chosen?.vitals) return t.skip('the first test did not get as far as the bedside page');
  let posts = 0;
  const count = (req) => {
    if (req.method() === 'POST') posts++;
  };
  bedside.on('request', count);
  await typeInto(bedside, '#heart_rate', 260);
  await bedside.click('#save');
  await bedside.waitForSelector('#confirm[open]');
  assert.match(await bedside.textContent('#confirm-list'), /Heart rate 260/);
  await bedside.click('#confirm-back');
  await bedside.waitForSelector('#confirm:not([open])', { state: 'attached' });
  assert.equal(posts, 0, 'nothing was sent');
  assert.match((await bedside.getAttribute('#heart_rate', 'class')) || '', /warned/);
  bedside.off('request', count);
  await bedside.click('#clear');
  assert.equal(await bedside.inputValue('#heart_rate'), '');
});

test('a departed patient leaves both boards live, and the bedside page stops taking vitals', { skip, timeout: 30000 }, async (t) => {
  if (!chosen?.encounterId) return t.skip('no test patient was created');
  const res = await api('POST', `/encounters/${chosen.encounterId}/status`, { status: 'departed' });
  assert.equal(res.status, 200, `status refused: ${JSON.stringify(res.data)}`);
  departed = true;
  for (const [name, page] of [['board A', boardA], ['board B', boardB]]) {
    await page
      .waitForSelector(`#board tr[data-encounter-id="${chosen.encounterId}"]`, { state: 'detached', timeout: LIVE_WITHIN_MS })
      .catch(async () => {
        throw new Error(`${name} still shows departed encounter ${chosen.encounterId}: ${await describe(page)}`);
      });
    assert.ok(Number(await page.getAttribute('#board', 'data-seq')) >= res.data.seq);
  }
  await bedside.waitForSelector(`#patient-list .patient-pick[data-encounter-id="${chosen.encounterId}"]`, { state: 'detached', timeout: LIVE_WITHIN_MS });
  assert.ok(await bedside.isDisabled('#save'), 'no vitals for a patient who left');
  assert.deepEqual(problems, [], 'no script errors or CSP violations');
});
