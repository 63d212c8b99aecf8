// not_live.browser.test.mjs: a screen that cannot prove it is live says so (proto/GUARANTEES.md).
//
// A physician's board is open in headless Chromium. Then:
//  1. ed-hub is killed (SIGKILL; the socket closes): within 10 s the banner says
//     "NOT LIVE since HH:MM" on its alarm colour. A change made meanwhile is not shown as live.
//     ed-hub restarts: the banner says LIVE again and the change is on the board.
//  2. ed-hub is frozen (SIGSTOP; the socket stays open but nothing comes, like a dead network
//     path): the page's silence limit (3 heartbeats, 15 s; the page sends no pings) must notice,
//     within 20 s. SIGCONT: LIVE again.
// Screenshots: not-live.png, live-again.png in the artifacts folder.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, skipUnlessConfigured, loadChromium, api, apiToken, watch, signIn } from './browser_lib.mjs';

const NOT_LIVE_WITHIN_MS = 10000;
// A silent socket: 3 heartbeats (live_machine.js SILENCE_MS) and the page's 1 s tick.
const SILENT_NOT_LIVE_WITHIN_MS = 15000 + 5000;
skipUnlessConfigured();
if (!process.env.EDLIVE_STATE || !process.env.EDLIVE_REPO) {
  console.log('SKIP: EDLIVE_STATE/EDLIVE_REPO not set (this test stops the hub of a deploy/local/test deployment)');
  process.exit(77);
}

const problems = [];
let browser;
let page;
let token;
const svc = (action, service) => execFileSync(`${process.env.EDLIVE_REPO}/deploy/local/svc`, [action, service], { stdio: 'inherit', env: process.env });
const hubPid = () => Number(fs.readFileSync(path.join(process.env.EDLIVE_STATE, 'run', 'hub.pid'), 'utf8'));

async function bannerState() {
  return page.evaluate(() => {
    const b = document.getElementById('banner');
    return { state: b.dataset.live, text: b.textContent, colour: getComputedStyle(b).backgroundColor };
  });
}

// Milliseconds until the banner is in `state`, or a failure naming what it said.
async function until(state, ms, what) {
  const t0 = Date.now();
  await page.waitForSelector(`#banner[data-live="${state}"]`, { timeout: ms }).catch(async () => {
    throw new Error(`${what}: banner not "${state}" within ${ms} ms: ${JSON.stringify(await bannerState())}`);
  });
  return Date.now() - t0;
}

before(async () => {
  const chromium = await loadChromium();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const context = await browser.newContext({ viewport: { width: 1600, height: 900 }, ignoreHTTPSErrors: true });
  page = watch(await context.newPage(), 'board', problems);
  await signIn(page, 'dr.lopez', 'board.html');
  await until('live', 30000, 'first load');
  token = await apiToken('adeyemi');
  fs.mkdirSync(ARTIFACTS, { recursive: true });
});

after(async () => {
  try { process.kill(hubPid(), 'SIGCONT'); } catch { /* not stopped */ }
  await browser?.close();
});

test('the hub killed: NOT LIVE within 10 s, LIVE again with the missed change after it restarts', async () => {
  const live = await bannerState();
  const board = await api('GET', '/departments/1/board', undefined, token);
  const row = board.data.encounters.find((r) => r.esi !== null && r.esi !== 1);
  svc('kill', 'hub');
  const took = await until('stale', NOT_LIVE_WITHIN_MS, 'after SIGKILL of ed-hub');
  const down = await bannerState();
  assert.match(down.text, /NOT LIVE since \d\d:\d\d/);
  assert.notEqual(down.colour, live.colour, 'the not-live banner has its own colour');
  console.log(`# NOT LIVE shown ${took} ms after the hub was killed`);
  // A colleague's change while the screen is not live: it must arrive once the hub is back.
  const newEsi = row.esi === 2 ? 3 : 2;
  const r = await api('POST', `/encounters/${row.encounter_id}/triage`, { esi: newEsi }, token);
  assert.equal(r.status, 200, JSON.stringify(r.data));
  await page.screenshot({ path: path.join(ARTIFACTS, 'not-live.png') });
  svc('start', 'hub');
  await until('live', 20000, 'after ed-hub restarted');
  await page.waitForFunction(([id, esi]) => {
    const tr = document.querySelector(`[data-encounter-id="${id}"]`);
    return tr && tr.textContent.includes(String(esi));
  }, [row.encounter_id, newEsi], { timeout: 5000 });
  const seq = Number(await page.getAttribute('[data-seq]', 'data-seq'));
  assert.ok(seq >= r.data.seq, `the board is at seq ${seq}, at or after the change (${r.data.seq})`);
  await page.screenshot({ path: path.join(ARTIFACTS, 'live-again.png') });
});

test('the hub frozen (socket open, silent): NOT LIVE within 20 s from the page\'s silence limit', async () => {
  await until('live', 10000, 'before the freeze');
  const pid = hubPid();
  process.kill(pid, 'SIGSTOP');
  let took;
  try {
    took = await until('stale', SILENT_NOT_LIVE_WITHIN_MS, 'after SIGSTOP of ed-hub');
  } finally {
    process.kill(pid, 'SIGCONT');
  }
  console.log(`# NOT LIVE shown ${took} ms after the hub froze`);
  assert.match((await bannerState()).text, /NOT LIVE since \d\d:\d\d/);
  await until('live', 20000, 'after SIGCONT');
  assert.deepEqual(problems, [], 'no script errors or CSP violations');
});
