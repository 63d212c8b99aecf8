// adt_board.browser.test.mjs (issue 11): a registration system's ADT traffic through ed-mllp,
// seen live on a clinician's tracking board in headless Chromium.
//
// Dr. Lopez has the Demo ED's board open (signed in through the login page). A registration
// system, @medplum/hl7's MLLP client (services/mllp/tests/adt_client.mjs), sends HL7 v2 ADT
// messages to ed-mllp, each of which must be answered AA and show on the open board within a
// few seconds, without a reload (proto/hl7/ADT_MAPPING.md):
//   A04 register          -> the row appears (name, complaint, waiting room, no ESI)
//   A08 with OBX 75636-1  -> ESI 2
//   A02 transfer          -> the bed
//   A06 admit             -> disposition Admit and the boarding clock
//   A03 discharge         -> the row leaves
//   A13 cancel discharge  -> the row is back, admitted, in its bed
//   A11 cancel admit      -> the admit decision is withdrawn (no disposition, no boarding)
//   A03 with PV1-36 01    -> the row leaves again
//   A04 without PID-3     -> an unidentified arrival "Unknown Male Trauma-NNNN", marked
//   A40 merge (MRG-1 the Trauma-NNNN id) -> the same row, now the patient's name, unmarked
// Screenshots: adt_board_admit.png, adt_board_merge.png.
//
// Environment (deploy/local/test exports these; see browser_lib.mjs): EDLIVE_BASE_URL,
// EDLIVE_API_URL, EDLIVE_MLLP_PORT (ed-mllp); without them: skipped (exit 77).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { skipUnlessConfigured, signIn, api, apiToken } from './browser_lib.mjs';
import { startBrowser, wall, waitLive, shot, watch, LIVE_WITHIN_MS } from './roles_lib.mjs';

let skip = skipUnlessConfigured();
if (!skip && !process.env.EDLIVE_MLLP_PORT) {
  if (!process.env.NODE_TEST_CONTEXT) {
    console.log('SKIP: EDLIVE_MLLP_PORT is not set (ed-mllp of deploy/local/test): skipped');
    process.exit(77);
  }
  skip = 'EDLIVE_MLLP_PORT is not set';
}
let adt = null;
if (!skip) {
  try {
    adt = await import('../../services/mllp/tests/adt_client.mjs');
  } catch (e) {
    throw new Error(`@medplum/hl7 is not installed: run npm ci in services/mllp/tests (deploy/local/test does): ${e.message}`);
  }
}

let browser;
let sender; // the registration system's MLLP connection
let token; // the charge nurse's API session: reading the board by MRN, cleaning up
const problems = [];
const leftovers = new Set(); // encounter ids to send home at the end
const stamp = Date.now().toString(36).toUpperCase();
let serial = 0;

before(async () => {
  if (skip) return;
  token = await apiToken('adeyemi');
  browser = await startBrowser();
  sender = adt.client();
});

after(async () => {
  if (skip) return;
  if (sender) await sender.close().catch(() => {});
  for (const id of leftovers) {
    const res = await api('POST', `/encounters/${id}/status`, { status: 'departed' }, token).catch(() => null);
    for (const b of (res && res.data && res.data.beds) || []) {
      if (b.status === 'cleaning') await api('POST', `/beds/${b.id}/status`, { status: 'free' }, token).catch(() => {});
    }
  }
  if (browser) await browser.close();
});

// One ADT message of the registration system (HL7 v2.5.1, |^~\&, times with an offset).
function message(trigger, structure, { at, pid, pv1 = {}, extra = [] }) {
  const now = adt.dtm(Date.now());
  const id = `WEB-${stamp}-${++serial}`;
  const fields = ['PV1', '1', 'E', 'DEMO'];
  for (const [k, v] of Object.entries(pv1 || {})) fields[Number(k)] = v;
  const text = [
    `MSH|^~\\&|REGSYS|CITYHOSP|EDLIVE|DEMO|${now}||ADT^${trigger}^${structure}|${id}|P|2.5.1`,
    `EVN|${trigger}|${now}||||${adt.dtm(at)}`,
    pid,
    ...(pv1 === null ? [] : [Array.from(fields, (x) => x ?? '').join('|')]), // an A40 has no PV1
    ...extra,
  ].join('\r');
  return text;
}

async function sendAA(what, text) {
  const a = await adt.send(sender, text);
  assert.equal(a.code, 'AA', `${what}: ${adt.describeAck(a)}`);
  return a;
}

// The board row of an MRN (or an unidentified patient's temp id) as the API has it.
async function boardRow(departmentId, match) {
  const r = await api('GET', `/departments/${departmentId}/board`, undefined, token);
  assert.equal(r.status, 200, JSON.stringify(r.data));
  return { row: r.data.encounters.find(match), board: r.data };
}

const rowSel = (id) => `#board tr.enc[data-encounter-id="${id}"]`;

async function waitRow(page, id, what, check) {
  const deadline = Date.now() + LIVE_WITHIN_MS;
  let last = null;
  while (Date.now() < deadline) {
    last = await page.evaluate((sel) => {
      const tr = document.querySelector(sel);
      if (!tr) return { present: false };
      const text = (s) => tr.querySelector(s)?.textContent?.trim() ?? null;
      return {
        present: true, name: text('.pt-name'), esi: text('.c-esi .esi'), bed: text('.c-bed .bed-label'),
        status: tr.querySelector('.c-status .status')?.className ?? null, dispo: text('.c-status .dispo'),
        boarding: text('.c-status .boarding'), complaint: text('.c-complaint'), unidentified: text('.flag-unidentified'),
      };
    }, rowSel(id));
    if (check(last)) return last;
    await page.waitForTimeout(100);
  }
  throw new Error(`${what}: the board did not show it within ${LIVE_WITHIN_MS} ms; the row: ${JSON.stringify(last)}`);
}

test('a registration system\'s ADT messages through ed-mllp show live on a clinician\'s board', { skip, timeout: 120000 }, async () => {
  const page = watch(await (await wall(browser)).newPage(), 'board dr.lopez', problems);
  await signIn(page, 'dr.lopez', 'board.html');
  await waitLive(page, 'dr.lopez');
  await page.evaluate(() => (window.__noReload = 'kept')); // a reload loses this mark
  const href = await page.getAttribute('#bedside-link', 'href');
  const departmentId = Number(new URL(href, 'https://x/').searchParams.get('department'));
  assert.ok(departmentId > 0, `the board names its department (${href})`);

  // A free acute bed of the Demo ED for the A02.
  const { board } = await boardRow(departmentId, () => false);
  const taken = new Set(board.encounters.filter((e) => e.bed).map((e) => e.bed.id));
  const bed = board.beds.find((b) => b.area === 'acute' && !taken.has(b.id) && (!b.status || b.status === 'free'));
  assert.ok(bed, 'the Demo ED has a free acute bed');

  const t0 = Date.now() - 40 * 60000; // the visit started 40 minutes ago
  const at = (min) => t0 + min * 60000;
  const mrn = `HL7WEB-${stamp}`;
  const given = `Ada ${stamp}`;
  const pid = `PID|1||${mrn}^^^CITYHOSP^MR||Regsys^${given}^^^^^L||19610302|F`;

  // A04: the row appears, in the waiting room, not triaged.
  await sendAA('A04', message('A04', 'ADT_A01', { at: at(0), pid, pv1: { 44: adt.dtm(at(0)) }, extra: ['PV2|||^chest pain (HL7 browser test)'] }));
  const { row } = await boardRow(departmentId, (e) => e.patient.mrn === mrn);
  assert.ok(row, 'the A04 registered the patient');
  const id = row.encounter_id;
  leftovers.add(id);
  let seen = await waitRow(page, id, 'A04: the new row', (r) => r.present);
  assert.equal(seen.name, `Regsys, ${given}`);
  assert.equal(seen.complaint, 'chest pain (HL7 browser test)');
  assert.equal(seen.bed, 'WR');
  assert.equal(seen.esi, '–', 'not triaged yet');

  // A08 with the ESI (LOINC 75636-1): ESI 2 on the row.
  await sendAA('A08 (ESI 2)', message('A08', 'ADT_A01', { at: at(5), pid, extra: ['PV2|||^chest pain (HL7 browser test)', `OBX|1|NM|75636-1^Emergency severity index^LN||2||||||F|||${adt.dtm(at(5))}`] }));
  seen = await waitRow(page, id, 'A08: ESI 2', (r) => r.esi === '2');

  // A02: the bed move.
  await sendAA('A02', message('A02', 'ADT_A02', { at: at(10), pid, pv1: { 3: `DEMO^^${bed.label}` } }));
  seen = await waitRow(page, id, `A02: bed ${bed.label}`, (r) => r.bed === bed.label);

  // A06 (outpatient to inpatient): disposition admit, the boarding clock starts.
  // (PV1-3 empty: the department is ed-mllp's default, DEMO; the destination PV1-10.)
  await sendAA('A06', message('A06', 'ADT_A06', { at: at(20), pid, pv1: { 2: 'I', 3: '', 10: 'MED' } }));
  seen = await waitRow(page, id, 'A06: admit and boarding', (r) => /^Admit/.test(r.dispo || '') && /^boarding/.test(r.boarding || ''));
  assert.equal(seen.dispo, 'Admit → MED', 'the destination from PV1-10 (hospital service)');
  await shot(page, 'adt_board_admit.png');

  // A03: the patient left the ED (to the ward): the row leaves.
  await sendAA('A03', message('A03', 'ADT_A03', { at: at(30), pid, pv1: { 3: `DEMO^^${bed.label}`, 45: adt.dtm(at(30)) } }));
  await waitRow(page, id, 'A03: the row leaves', (r) => !r.present);

  // A13: the discharge was a mistake: the row is back, still admitted (decided before the A03),
  // in its bed: no one else holds it, and the cleaning its own departure asked for is cancelled
  // (proto/README.md "Withdrawals").
  await sendAA('A13', message('A13', 'ADT_A01', { at: at(32), pid }));
  seen = await waitRow(page, id, 'A13: the row is back', (r) => r.present && /^Admit/.test(r.dispo || ''));
  assert.equal(seen.bed, bed.label, 'back in its bed');
  assert.equal(seen.esi, '2', 'the same encounter, ESI kept');

  // A11 (cancel admit): the admit decision is withdrawn, seen by provider again.
  await sendAA('A11', message('A11', 'ADT_A09', { at: at(34), pid }));
  seen = await waitRow(page, id, 'A11: admit withdrawn', (r) => r.present && !r.dispo && !r.boarding);
  assert.match(seen.status, /status-seen_by_provider/);

  // A03 with PV1-36 01 (home): disposition and departure in one message; the row leaves.
  await sendAA('A03 (home)', message('A03', 'ADT_A03', { at: at(36), pid, pv1: { 36: '01', 45: adt.dtm(at(36)) } }));
  await waitRow(page, id, 'A03: the row leaves again', (r) => !r.present);
  leftovers.delete(id);

  // An unidentified arrival (A04 without PID-3, sex from PID-8), then the A40 that merges it
  // into the patient once known.
  await sendAA('A04 (unidentified)', message('A04', 'ADT_A01', { at: at(38), pid: ['PID', '1', '', '', '', '', '', '', 'M'].join('|') /* PID-8 only */, pv1: { 44: adt.dtm(at(38)) }, extra: ['PV2|||^trauma call (HL7 browser test)'] }));
  const un = (await boardRow(departmentId, (e) => e.patient.unidentified && e.chief_complaint === 'trauma call (HL7 browser test)' && Date.parse(e.arrived_at) === Math.floor(at(38) / 1000) * 1000)).row;
  assert.ok(un, 'the unidentified arrival is on the board');
  leftovers.add(un.encounter_id);
  const tempId = un.patient.temp_id;
  assert.match(tempId, /^Trauma-\d{4,}$/);
  seen = await waitRow(page, un.encounter_id, 'A04: the unidentified row', (r) => r.present);
  assert.equal(seen.name, `Unknown Male ${tempId}`);
  assert.equal(seen.unidentified, `UNIDENTIFIED · temp id ${tempId}`);
  const known = `HL7WEB-${stamp}-M`;
  await sendAA('A40', message('A40', 'ADT_A39', {
    at: at(39), pid: `PID|1||${known}^^^CITYHOSP^MR||Merger^Tom ${stamp}^^^^^L||19700101|M`,
    pv1: null, extra: [`MRG|${tempId}^^^EDLIVE^TMP`],
  }));
  seen = await waitRow(page, un.encounter_id, 'A40: the row is the known patient', (r) => r.present && r.name === `Merger, Tom ${stamp}` && !r.unidentified);
  await page.locator(rowSel(un.encounter_id)).scrollIntoViewIfNeeded();
  await shot(page, 'adt_board_merge.png');

  // The page was never reloaded, is still live, and no script error or CSP violation happened.
  assert.equal(await page.evaluate(() => window.__noReload), 'kept', 'no reload');
  assert.equal(await page.getAttribute('#banner', 'data-live'), 'live');
  assert.deepEqual(problems, []);
});
