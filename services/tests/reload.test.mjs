// SIGHUP reloads (issue 15): an ed-api (and an ed-hub) serving TLS itself is given a renewed
// certificate at the same paths and a SIGHUP. A new connection must then present the new
// certificate while the process stays the same and a keep-alive connection opened before still
// answers; a key that does not match keeps the certificate in force, with a warning; and
// EDLIVE_LOG_LEVEL changed in the EDLIVE_ENV_FILES file silences (or brings back) info lines.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, copyFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireEnv, SKIP } from './lib/env.mjs';

requireEnv('EDLIVE_PG', 'EDLIVE_REDIS');
if (!process.env.EDLIVE_BUILD) {
  console.log('SKIP: EDLIVE_BUILD not set (the service binaries)');
  process.exit(SKIP);
}

const dir = mkdtempSync(join(tmpdir(), 'edlive-reload-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// A self-signed certificate and its key, named name.pem / name.key; returns its SHA-256.
function makeCert(name) {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '30', '-subj', `/CN=edlive-reload-${name}`,
    '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.pem`)], { stdio: 'ignore' });
  const der = execFileSync('openssl', ['x509', '-in', join(dir, `${name}.pem`), '-noout', '-fingerprint', '-sha256'], { encoding: 'utf8' });
  return der.trim().replace(/^.*=/, '');
}

const freePort = () => new Promise((resolve) => {
  const srv = net.createServer().listen(0, '127.0.0.1', () => {
    const { port } = srv.address();
    srv.close(() => resolve(port));
  });
});

// The certificate a new TLS connection to port is given (SHA-256, as openssl prints it).
function servedFingerprint(port) {
  return new Promise((resolve, reject) => {
    const sock = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const fp = sock.getPeerCertificate().fingerprint256;
      sock.end();
      resolve(fp);
    });
    sock.setTimeout(5000, () => { sock.destroy(); reject(new Error('TLS connect timed out')); });
    sock.once('error', reject);
  });
}

// One HTTP/1.1 GET on an open TLS socket, kept alive (not /healthz: it closes the connection);
// resolves the status code once the whole answer (head and content-length bytes) has come.
function getOn(sock) {
  return new Promise((resolve, reject) => {
    let got = '';
    const timer = setTimeout(() => { sock.off('data', onData); reject(new Error(`no answer on the open connection: ${got}`)); }, 5000);
    const onData = (d) => {
      got += d;
      const m = /^HTTP\/1\.1 (\d{3})[^]*?\r\n\r\n/.exec(got);
      const len = m && /\r\ncontent-length: *(\d+)/i.exec(m[0]);
      if (m && len && got.length >= m[0].length + Number(len[1])) {
        clearTimeout(timer);
        sock.off('data', onData);
        assert.doesNotMatch(m[0], /\r\nconnection: close/i);
        resolve(Number(m[1]));
      }
    };
    sock.on('data', onData);
    sock.once('error', reject);
    sock.write('GET /api/v1/no-such-route HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  });
}

// Starts a service with TLS on a free port; the log is collected in .log.
async function startService(binary, portVar) {
  const port = await freePort();
  const svc = { port, log: '', envFile: join(dir, `${binary.replace('/', '-')}.env`) };
  writeFileSync(svc.envFile, 'EDLIVE_LOG_LEVEL=info\n');
  svc.child = spawn(`${process.env.EDLIVE_BUILD}/services/${binary}`, [], {
    env: {
      ...process.env, [portVar]: String(port), EDLIVE_LISTEN: '127.0.0.1',
      EDLIVE_TLS_CERT: join(dir, 'live.pem'), EDLIVE_TLS_KEY: join(dir, 'live.key'), EDLIVE_ENV_FILES: svc.envFile,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  svc.child.stdout.on('data', (d) => { svc.log += d; });
  svc.child.stderr.on('data', (d) => { svc.log += d; });
  await waitFor(svc, /listening on/);
  return svc;
}

async function waitFor(svc, pattern, from = 0, ms = 15000) {
  const deadline = Date.now() + ms;
  while (!pattern.test(svc.log.slice(from))) {
    if (svc.child.exitCode !== null) throw new Error(`exited ${svc.child.exitCode}: ${svc.log.slice(-500)}`);
    if (Date.now() > deadline) throw new Error(`no ${pattern} in the log: ${svc.log.slice(from).slice(-500)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// Sends SIGHUP and waits for the line that says it was handled; returns the log since.
async function hup(svc, pattern) {
  const from = svc.log.length;
  process.kill(svc.child.pid, 'SIGHUP');
  await waitFor(svc, pattern, from);
  return () => svc.log.slice(from);
}

// SIGTERM (a drain: at most 10 s), then SIGKILL.
async function stop(svc) {
  if (svc.child.exitCode !== null) return;
  const exited = new Promise((r) => svc.child.once('exit', r));
  svc.child.kill('SIGTERM');
  const timer = setTimeout(() => svc.child.kill('SIGKILL'), 20000);
  await exited;
  clearTimeout(timer);
}

const fpA = makeCert('a');
const fpB = makeCert('b');
const fpC = makeCert('c');
const install = (name) => {
  copyFileSync(join(dir, `${name}.pem`), join(dir, 'live.pem'));
  copyFileSync(join(dir, `${name}.key`), join(dir, 'live.key'));
};

test('ed-api: SIGHUP serves the renewed certificate; same process; an open connection still answers', { timeout: 90000 }, async () => {
  install('a');
  const api = await startService('api/ed-api', 'EDLIVE_API_PORT');
  try {
    const pid = api.child.pid;
    assert.equal(await servedFingerprint(api.port), fpA);
    const open = tls.connect({ host: '127.0.0.1', port: api.port, rejectUnauthorized: false });
    await new Promise((r, j) => { open.once('secureConnect', r); open.once('error', j); });
    assert.equal(await getOn(open), 404);

    install('b');
    await hup(api, /TLS certificate reloaded/);
    assert.equal(await servedFingerprint(api.port), fpB, 'a new connection gets the new certificate');
    assert.equal(api.child.exitCode, null);
    assert.equal(api.child.pid, pid);
    assert.equal(await getOn(open), 404, 'the connection opened before still answers');
    assert.equal(open.getPeerCertificate().fingerprint256, fpA, 'and keeps its certificate');
    open.end();

    // A key that is not the certificate's: the certificate in force stays, a warning says why.
    copyFileSync(join(dir, 'c.pem'), join(dir, 'live.pem'));
    copyFileSync(join(dir, 'a.key'), join(dir, 'live.key'));
    const since = await hup(api, /keeping the certificate in force/);
    assert.match(since(), /warn.*EDLIVE_TLS_KEY: the private key does not match EDLIVE_TLS_CERT/);
    assert.equal(await servedFingerprint(api.port), fpB);
    // A file that is no certificate at all: the same.
    writeFileSync(join(dir, 'live.pem'), 'half-written\n');
    await hup(api, /EDLIVE_TLS_CERT: cannot load the certificate chain.*keeping the certificate in force/);
    assert.equal(await servedFingerprint(api.port), fpB);
    assert.equal(api.child.pid, pid);
  } finally {
    await stop(api);
  }
});

test('ed-api: EDLIVE_LOG_LEVEL from EDLIVE_ENV_FILES on SIGHUP; a bad level and a non-reloadable change only warn', { timeout: 90000 }, async () => {
  install('a');
  const api = await startService('api/ed-api', 'EDLIVE_API_PORT');
  try {
    // warn: the info line of the next certificate reload no longer appears, the reload happens.
    writeFileSync(api.envFile, 'EDLIVE_LOG_LEVEL=warn\n');
    await hup(api, /EDLIVE_LOG_LEVEL info -> warn/);
    install('b');
    writeFileSync(api.envFile, 'EDLIVE_LOG_LEVEL=warn\nEDLIVE_API_DB_CONNECTIONS=9\nEDLIVE_PG="host=elsewhere password=secret"\n');
    const since = await hup(api, /EDLIVE_PG changed/);
    assert.match(since(), /warn.*EDLIVE_API_DB_CONNECTIONS changed in EDLIVE_ENV_FILES: not reloaded/);
    assert.doesNotMatch(since(), /secret/, 'a changed value is never logged');
    assert.equal(await servedFingerprint(api.port), fpB, 'the certificate was reloaded');
    assert.doesNotMatch(since(), / info:|"info"/, 'no info line at level warn');

    // A level that does not exist: a warning naming the setting, the level stays.
    writeFileSync(api.envFile, 'EDLIVE_LOG_LEVEL=loud\n');
    await hup(api, /EDLIVE_LOG_LEVEL=loud: must be/);

    // info again: info lines are back.
    writeFileSync(api.envFile, '# comment\nEDLIVE_LOG_LEVEL = info\n');
    await hup(api, /TLS certificate reloaded/);
    assert.equal(api.child.exitCode, null);
  } finally {
    await stop(api);
  }
});

test('ed-hub: SIGHUP serves the renewed certificate and the hub stays up', { timeout: 90000 }, async () => {
  install('a');
  const hub = await startService('hub/ed-hub', 'EDLIVE_HUB_PORT');
  try {
    const pid = hub.child.pid;
    assert.equal(await servedFingerprint(hub.port), fpA);
    install('c');
    await hup(hub, /TLS certificate reloaded/);
    assert.equal(await servedFingerprint(hub.port), fpC);
    assert.equal(hub.child.pid, pid);
    assert.equal(hub.child.exitCode, null);
  } finally {
    await stop(hub);
  }
});

test('ed-relay and ed-mllp: SIGHUP reloads the log level and does not stop them', { timeout: 90000 }, async () => {
  for (const [binary, extra] of [['relay/ed-relay', { EDLIVE_RELAY_OPS_PORT: '0' }],
    ['mllp/ed-mllp', { EDLIVE_MLLP_PORT: String(await freePort()), EDLIVE_MLLP_OPS_PORT: '0' }]]) {
    const envFile = join(dir, `${binary.replace('/', '-')}.env`);
    writeFileSync(envFile, 'EDLIVE_LOG_LEVEL=debug\n');
    const svc = { log: '' };
    svc.child = spawn(`${process.env.EDLIVE_BUILD}/services/${binary}`, [], {
      env: { ...process.env, ...extra, EDLIVE_LISTEN: '127.0.0.1', EDLIVE_ENV_FILES: envFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    svc.child.stdout.on('data', (d) => { svc.log += d; });
    svc.child.stderr.on('data', (d) => { svc.log += d; });
    try {
      await waitFor(svc, /relaying the event log|listening for MLLP/);
      await hup(svc, /EDLIVE_LOG_LEVEL info -> debug/);
      assert.equal(svc.child.exitCode, null, `${binary} still runs`);
    } finally {
      await stop(svc);
    }
  }
});
