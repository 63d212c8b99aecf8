// ed-api and ed-hub answer only on EDLIVE_LISTEN (issue 9 item 13): the test deployment listens
// on 127.0.0.1, so a connection to any other address of this machine must be refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import os from 'node:os';
import { spawn } from 'node:child_process';
import { requireEnv, SKIP } from './lib/env.mjs';

const env = requireEnv('EDLIVE_API_URL', 'EDLIVE_HUB_URL', 'EDLIVE_LISTEN');

// Every IPv4 address of this machine that is not loopback and not EDLIVE_LISTEN itself.
const others = Object.values(os.networkInterfaces())
  .flat()
  .filter((a) => a.family === 'IPv4' && !a.internal && a.address !== env.EDLIVE_LISTEN)
  .map((a) => a.address);
if (env.EDLIVE_LISTEN === '0.0.0.0' || env.EDLIVE_LISTEN === '::') {
  console.log(`SKIP: EDLIVE_LISTEN=${env.EDLIVE_LISTEN} listens everywhere by design`);
  process.exit(SKIP);
}
if (!others.length) {
  console.log('SKIP: this machine has no non-loopback IPv4 address to try');
  process.exit(SKIP);
}

// Resolves 'connected' or the error code (ECONNREFUSED when nothing listens there).
function tryConnect(host, port) {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    sock.setTimeout(3000, () => { sock.destroy(); resolve('timeout'); });
    sock.once('connect', () => { sock.destroy(); resolve('connected'); });
    sock.once('error', (e) => resolve(e.code));
  });
}

const services = {
  'ed-api': Number(new URL(env.EDLIVE_API_URL).port),
  'ed-hub': Number(new URL(env.EDLIVE_HUB_URL).port),
};

for (const [name, port] of Object.entries(services)) {
  test(`${name} answers on EDLIVE_LISTEN (${env.EDLIVE_LISTEN}:${port})`, async () => {
    assert.equal(await tryConnect(env.EDLIVE_LISTEN, port), 'connected');
  });
  for (const addr of others) {
    test(`${name} refuses a connection to ${addr}:${port} (not EDLIVE_LISTEN)`, async () => {
      assert.equal(await tryConnect(addr, port), 'ECONNREFUSED', `${name} must not listen on ${addr}`);
    });
  }
}

// An EDLIVE_LISTEN that is neither an address nor an interface (a host name such as localhost,
// a typo) must stop the service at start-up: lws 4.1.6 would log "DOESN'T EXIST" and run
// listening nowhere, while the service said it was listening.
const freePort = () => new Promise((resolve) => {
  const srv = net.createServer().listen(0, '127.0.0.1', () => {
    const { port } = srv.address();
    srv.close(() => resolve(port));
  });
});

for (const [name, binary, portVar] of [['ed-api', 'api/ed-api', 'EDLIVE_API_PORT'], ['ed-hub', 'hub/ed-hub', 'EDLIVE_HUB_PORT']]) {
  test(`${name} refuses to start on EDLIVE_LISTEN=localhost (not an address or interface)`, { skip: !process.env.EDLIVE_BUILD }, async () => {
    const port = await freePort();
    const child = spawn(`${process.env.EDLIVE_BUILD}/services/${binary}`, [], {
      env: { ...process.env, EDLIVE_LISTEN: 'localhost', [portVar]: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    const code = await Promise.race([
      new Promise((resolve) => child.once('exit', (c) => resolve(c))),
      new Promise((resolve) => setTimeout(() => resolve('still running'), 15000)),
    ]);
    if (code === 'still running') child.kill('SIGTERM');
    assert.equal(code, 2, `${name} with EDLIVE_LISTEN=localhost: ${out.slice(-300)}`);
    assert.match(out, /EDLIVE_LISTEN=localhost is neither an IP address nor a network interface/);
  });
}
