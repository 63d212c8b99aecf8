// Where the running edlive is, from the environment deploy/local/test exports.
// A test run without it (a plain `ctest` on a developer's machine) is skipped with exit 77.
import { execFileSync } from 'node:child_process';

export const SKIP = 77;

export function requireEnv(...names) {
  const missing = names.filter((n) => !process.env[n]);
  if (missing.length) {
    console.log(`SKIP: ${missing.join(', ')} not set; run deploy/local/test to start edlive and run this test`);
    process.exit(SKIP);
  }
  return Object.fromEntries(names.map((n) => [n, process.env[n]]));
}

// Runs deploy/local/svc (stop|start|kill|restart) on one service of the test deployment.
export function svc(action, service) {
  execFileSync(`${process.env.EDLIVE_REPO}/deploy/local/svc`, [action, service], {
    stdio: 'inherit',
    env: process.env,
  });
}

// One value from PostgreSQL through psql (parameters are passed as psql variables).
export function psqlValue(sql) {
  return execFileSync('psql', [process.env.EDLIVE_PG, '-XAtq', '-c', sql], { encoding: 'utf8' }).trim();
}
