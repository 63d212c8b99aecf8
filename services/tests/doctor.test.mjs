// `edlivectl doctor` (issue 15, services/ctl/README.md): one line per check (ok, warn or FAIL)
// and a non-zero exit on any FAIL. On the test deployment everything passes; with Redis stopped
// the Redis check fails and says so; a certificate that expires in 10 days is a warning; a bad
// setting of a service fails naming the service. Runs against the deployment deploy/local/test
// started, in the environment the services read.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireEnv, svc } from './lib/env.mjs';
import { ctl } from './lib/client.mjs';

const env = requireEnv('EDLIVE_PG_OWNER', 'EDLIVE_PG', 'EDLIVE_REDIS', 'EDLIVE_BUILD', 'EDLIVE_REPO');
const dir = mkdtempSync(join(tmpdir(), 'edlive-doctor-'));

// edlivectl as operators run it (the owner), checking the services' role too.
const doctor = (args = [], extra = {}) => {
  const saved = { ...process.env };
  Object.assign(process.env, { EDLIVE_PG_APP: env.EDLIVE_PG }, extra);
  try {
    return ctl(['doctor', ...args]);
  } finally {
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
};
const line = (out, level, check) => new RegExp(`^${level}\\s+${check}\\s`, 'm').test(out);

after(() => rmSync(dir, { recursive: true, force: true }));

test('the test deployment passes: settings, both roles, clocks, Redis, migrations', () => {
  const r = doctor();
  assert.equal(r.status, 0, r.stdout + r.stderr);
  for (const check of ['settings edlivectl', 'settings ed-api', 'settings ed-hub', 'settings ed-relay', 'settings ed-mllp',
    'postgres owner', 'postgres app role', 'clock postgres', 'migrations', 'redis', 'clock redis'])
    assert.ok(line(r.stdout, 'ok', check), `"ok ${check}" in:\n${r.stdout}`);
  assert.doesNotMatch(r.stdout, /^FAIL/m);
  assert.match(r.stdout, /^doctor: 0 FAIL, \d+ warn$/m);
});

test('the services\' role given as the owner fails: it could change the audit log', () => {
  const r = doctor([], { EDLIVE_PG_APP: env.EDLIVE_PG_OWNER });
  assert.equal(r.status, 1);
  assert.ok(line(r.stdout, 'FAIL', 'postgres app role'), r.stdout);
  assert.match(r.stdout, /can UPDATE or DELETE the audit log/);
});

test('a bad setting of a service fails naming the service and the setting', () => {
  const r = doctor([], { EDLIVE_HUB_MAX_LAG: 'lots' });
  assert.equal(r.status, 1, r.stdout);
  assert.ok(line(r.stdout, 'FAIL', 'settings ed-hub'), r.stdout);
  assert.match(r.stderr, /EDLIVE_HUB_MAX_LAG/);
  assert.ok(line(r.stdout, 'ok', 'settings ed-api'), r.stdout);
});

test('a certificate expiring in 10 days is a warning; a file that is no certificate fails', () => {
  const cert = join(dir, 'soon.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '10', '-subj', '/CN=edlive-doctor-test',
    '-keyout', join(dir, 'soon.key'), '-out', cert], { stdio: 'ignore' });
  const r = doctor([cert]);
  assert.equal(r.status, 0, r.stdout);
  assert.ok(line(r.stdout, 'warn', 'tls certificate'), r.stdout);
  assert.match(r.stdout, /soon\.pem expires in (9|10) days/);
  const viaSetting = doctor([], { EDLIVE_TLS_CERT: cert });
  assert.match(viaSetting.stdout, /^warn\s+tls certificate\s+.*soon\.pem expires in/m);

  const longCert = join(dir, 'long.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '365', '-subj', '/CN=edlive-doctor-test',
    '-keyout', join(dir, 'long.key'), '-out', longCert], { stdio: 'ignore' });
  assert.match(doctor([longCert]).stdout, /^ok\s+tls certificate\s+.*long\.pem valid for 36[45] more days/m);

  const junk = join(dir, 'junk.pem');
  writeFileSync(junk, 'not a certificate\n');
  const bad = doctor([junk]);
  assert.equal(bad.status, 1);
  assert.ok(line(bad.stdout, 'FAIL', 'tls certificate'), bad.stdout);
});

test('with Redis stopped the Redis check fails, naming Redis; the rest still runs', () => {
  svc('stop', 'redis');
  let r;
  try {
    r = doctor();
  } finally {
    svc('start', 'redis');
  }
  assert.equal(r.status, 1, r.stdout);
  assert.ok(line(r.stdout, 'FAIL', 'redis'), r.stdout);
  assert.match(r.stdout, /^FAIL\s+redis\s+cannot connect to Redis at 127\.0\.0\.1:\d+ \(EDLIVE_REDIS\)/m);
  assert.ok(line(r.stdout, 'ok', 'postgres owner'), 'PostgreSQL is still checked');
  assert.ok(line(r.stdout, 'ok', 'migrations'));
  assert.match(r.stdout, /^doctor: 1 FAIL/m);
});
