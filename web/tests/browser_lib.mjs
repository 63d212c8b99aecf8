// browser_lib.mjs: what the browser tests share (not a test itself: *.test.mjs are the tests).
//
// Environment (deploy/local/test exports these; or `. .state/local/env`):
//   EDLIVE_BASE_URL   https://127.0.0.1:8443 (nginx: web/, /api, /ws; self-signed certificate)
//   EDLIVE_API_URL    http://127.0.0.1:8481 (ed-api directly: the tests' own API calls)
//   EDLIVE_ARTIFACTS  folder for screenshots (default: $TMPDIR/edlive-artifacts)
//   EDLIVE_CHROMIUM   the browser (default /usr/bin/chromium)
//   EDLIVE_DEMO_PASSWORD  the demo accounts' password (default edlive-demo)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const BASE = (process.env.EDLIVE_BASE_URL || '').replace(/\/+$/, '');
export const API_URL = (process.env.EDLIVE_API_URL || process.env.EDLIVE_BASE_URL || '').replace(/\/+$/, '');
export const ARTIFACTS = process.env.EDLIVE_ARTIFACTS || path.join(os.tmpdir(), 'edlive-artifacts');
export const CHROMIUM = process.env.EDLIVE_CHROMIUM || '/usr/bin/chromium';
export const PASSWORD = process.env.EDLIVE_DEMO_PASSWORD || 'edlive-demo';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
];

export const SKIP_MESSAGE =
  'EDLIVE_BASE_URL is not set (e.g. https://127.0.0.1:8443): browser tests skipped; start edlive with deploy/local/up or run deploy/local/test';

// Run directly with node and without EDLIVE_BASE_URL: exit 77, ctest's "skipped".
export function skipUnlessConfigured() {
  if (!BASE && !process.env.NODE_TEST_CONTEXT) {
    console.log(`SKIP: ${SKIP_MESSAGE}`);
    process.exit(77);
  }
  return BASE ? false : SKIP_MESSAGE;
}

export async function loadChromium() {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: apt-get install -y chromium, or set EDLIVE_CHROMIUM`);
  try {
    const { chromium } = await import('playwright-core');
    return chromium;
  } catch (e) {
    throw new Error(`playwright-core is not installed: run npm ci in web/ (${e.message})`);
  }
}

// ---- the API, as a program (Bearer token) ----

export async function api(method, pathname, body, token) {
  const headers = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(`${API_URL}/api/v1${pathname}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await res.json().catch(() => null);
  return { status: res.status, data };
}

export async function apiToken(username, extra = {}) {
  const res = await api('POST', '/session', { username, password: PASSWORD, ...extra });
  if (res.status !== 201) throw new Error(`sign-in of ${username} through the API refused: ${res.status} ${JSON.stringify(res.data)}`);
  return res.data.token;
}

// ---- TOTP (RFC 6238: SHA-1, 6 digits, 30 s), for break-glass and admin sign-in ----

function base32Decode(text) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  const out = [];
  for (const ch of text.replace(/=+$/, '').toUpperCase()) {
    const i = alphabet.indexOf(ch);
    if (i < 0) throw new Error(`not base32: ${ch}`);
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

export async function totp(secret, step = Math.floor(Date.now() / 30000)) {
  const { createHmac } = await import('node:crypto');
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', base32Decode(secret)).update(counter).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const code = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(code).padStart(6, '0');
}

// ---- pages ----

// Collects script errors and CSP violations of a page into `problems`; keeps recent console
// lines for failure messages.
export function watch(page, name, problems, logs) {
  const lines = [];
  if (logs) logs.set(page, lines);
  page.on('pageerror', (e) => problems.push(`${name}: uncaught ${e.message}`));
  page.on('console', (m) => {
    const text = m.text();
    if (/Content Security Policy|Refused to/i.test(text)) problems.push(`${name}: ${text}`);
    lines.push(`${new Date().toISOString()} ${m.type()}: ${text}`);
    if (lines.length > 30) lines.shift();
  });
  return page;
}

// Signs in through the login page with real typing: goes to `target` (e.g. 'board.html'),
// which sends us to login.html?next=..., and waits until we are back on `target`.
export async function signIn(page, username, target = 'board.html', { totpCode = null } = {}) {
  await page.goto(`${BASE}/${target}`);
  await page.waitForURL(/\/login\.html\?/, { timeout: 10000 });
  await page.waitForSelector('#username');
  await page.click('#username');
  await page.keyboard.type(username);
  await page.click('#password');
  await page.keyboard.type(PASSWORD);
  const targetPath = new URL(`${BASE}/${target}`).pathname;
  if (totpCode) {
    await page.keyboard.press('Enter');
    await page.waitForSelector('#totp-row:not([hidden])', { timeout: 10000 });
    await page.click('#totp');
    await page.keyboard.type(await totpCode());
  }
  await Promise.all([page.waitForURL((u) => u.pathname === targetPath, { timeout: 10000 }), page.keyboard.press('Enter')]);
  await page.waitForSelector('#user:not([hidden])', { timeout: 10000 });
  return page;
}
