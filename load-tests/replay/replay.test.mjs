// The MIMIC-IV-ED demo replayed through edlive's REST API (and then over HL7 v2 to ed-mllp) at full speed into a department of
// its own, then edlive's metrics, board and charts compared with figures computed from the CSV
// files (load-tests/replay/README.md). Skips (77) without a deployment (EDLIVE_* from
// deploy/local/test) or without the data (../shared/data/mimic-iv-ed-demo).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadMimic, defaultDataDir } from './source.mjs';

const names = ['EDLIVE_API_URL', 'EDLIVE_PG_OWNER', 'EDLIVE_BUILD'];
const missing = names.filter((n) => !process.env[n]);
if (missing.length) {
  console.log(`SKIP: ${missing.join(', ')} not set; run deploy/local/test to start edlive and run this test`);
  process.exit(77);
}
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dataDir = defaultDataDir(repo);
if (!loadMimic(dataDir)) {
  console.log(`SKIP: the MIMIC-IV-ED demo is not in ${dataDir} (mimic-iv-ed-demo/ed/edstays.csv.gz); it lives in ../shared/data beside the checkout`);
  process.exit(77);
}
const { main } = await import('./replay.mjs');

test('the whole MIMIC-IV-ED demo replays at --speed max and edlive agrees with the CSV files', async () => {
  const lines = [];
  const r = await main(['--speed', 'max', '--data', dataDir, '--quiet'], { write: (l) => { lines.push(l); console.log(l); } });
  assert.equal(r.stays, 222, 'every stay of the demo');
  assert.deepEqual(r.failures, [], 'no unexpected refusal, every expected one came');
  assert.deepEqual(r.rows.filter((x) => !x.ok), [], 'every figure agrees');
  assert.deepEqual(r.perStay, [], 'every chart agrees');
  assert.ok(r.refusals.length > 0 && r.refusals.every((x) => x.expected), 'the impossible rows were refused, as expected');
  assert.ok(r.ok);
});

test('stopped at 21:30 of the replay day, the board holds exactly who is still in the department', async () => {
  const r = await main(['--speed', 'max', '--data', dataDir, '--quiet', '--until', '+21.5'], { write: (l) => console.log(l) });
  const count = r.rows.find((x) => x.figure === 'board: patients in the department');
  assert.ok(count.csv > 50, `a busy evening: ${count.csv} patients in the department`);
  assert.deepEqual(r.failures, []);
  assert.deepEqual(r.rows.filter((x) => !x.ok), [], 'board, metrics so far and charts agree');
  assert.deepEqual(r.perStay, []);
});

// The same day sent as a registration system sends it: the ADT steps as HL7 v2 over MLLP to
// ed-mllp (A04, A08 with the ESI, A08 with the vitals, A06, A03), the reads over REST. The
// comparison is the same: 0 differences. Refusals are the ones the plan predicts, in the terms
// of proto/hl7/ADT_MAPPING.md (AE 204 for a set after the departure, AE 102 at the OBX of a
// refused value); a set with nothing measurable is not sent (an A08 without a vitals OBX
// carries nothing).
test('the whole demo over HL7 v2 (ed-mllp) agrees with the CSV files as well', { skip: !process.env.EDLIVE_MLLP_PORT && 'EDLIVE_MLLP_PORT not set: no ed-mllp to send to' }, async () => {
  const r = await main(['--speed', 'max', '--data', dataDir, '--quiet', '--transport', 'hl7'], { write: (l) => console.log(l) });
  assert.equal(r.transport, 'hl7');
  assert.equal(r.stays, 222);
  assert.deepEqual(r.failures, [], 'every ADT message AA, every refusal the predicted AE, every predicted one came');
  assert.deepEqual(r.rows.filter((x) => !x.ok), [], 'every figure agrees');
  assert.deepEqual(r.perStay, [], 'every chart agrees');
  assert.ok(r.refusals.length > 0 && r.refusals.every((x) => x.expected), 'the impossible rows were refused (AE), as expected');
  assert.ok(r.ok);
});
