// The MIMIC-IV-ED demo replayed through edlive's REST API at full speed into a department of
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
