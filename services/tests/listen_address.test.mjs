// ed-api and ed-hub listen only on EDLIVE_LISTEN (127.0.0.1 in the deployments): a connection to
// another address of this machine is refused, while the loopback one is accepted (issue 9,
// item 13). Skips, saying why, on a machine with no address but loopback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import os from 'node:os';
import { requireEnv } from './lib/env.mjs';

const env = requireEnv('EDLIVE_API_PORT', 'EDLIVE_HUB_PORT', 'EDLIVE_LISTEN');

// "connected" or the error code (ECONNREFUSED, ...), within 3 s.
function tryConnect(host, port) {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port, timeout: 3000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve('timeout');
    });
    socket.once('error', (e) => resolve(e.code || String(e)));
  });
}

const others = Object.values(os.networkInterfaces()).flat()
  .filter((a) => a && !a.internal && a.address !== env.EDLIVE_LISTEN)
  .map((a) => a.address);
const skip = others.length ? false : 'this machine has no address but loopback: nothing to connect to';

for (const [name, port] of [['ed-api', env.EDLIVE_API_PORT], ['ed-hub', env.EDLIVE_HUB_PORT]]) {
  test(`${name} answers on ${env.EDLIVE_LISTEN} and refuses every other address of the machine`, { skip }, async () => {
    assert.equal(await tryConnect(env.EDLIVE_LISTEN, Number(port)), 'connected', `${name} on ${env.EDLIVE_LISTEN}:${port}`);
    for (const address of others) {
      const outcome = await tryConnect(address, Number(port));
      assert.notEqual(outcome, 'connected', `${name} answered on ${address}:${port}`);
    }
  });
}
