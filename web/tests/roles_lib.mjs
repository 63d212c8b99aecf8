// roles_lib.mjs: what the role browser tests share (not a test itself).
// A test patient per test (fresh MRN), created and sent home through the API as the charge
// nurse; pages signed in through the login page (browser_lib.signIn).
import fs from 'node:fs';
import path from 'node:path';
import { BASE, ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, loadChromium, api, apiToken, watch } from './browser_lib.mjs';

export const LIVE_WITHIN_MS = 5000;

export async function startBrowser() {
  const chromium = await loadChromium();
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

export function wall(browser) {
  return browser.newContext({ viewport: { width: 1920, height: 1080 }, ignoreHTTPSErrors: true });
}

export function tabletContext(browser) {
  return browser.newContext({ viewport: { width: 1024, height: 768 }, hasTouch: true, ignoreHTTPSErrors: true });
}

export function shot(page, name, opts = {}) {
  return page.screenshot({ path: path.join(ARTIFACTS, name), ...opts });
}

export async function waitLive(page, what) {
  await page.waitForSelector('#banner[data-live="live"]', { timeout: 30000 }).catch(() => {
    throw new Error(`${what}: the banner never said LIVE`);
  });
}

export async function typeInto(page, selector, text) {
  await page.click(selector);
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Backspace');
  await page.keyboard.type(String(text));
}

// The charge nurse's API: test patients arrive and leave through it.
export class Patients {
  constructor() {
    this.token = null;
    this.created = [];
  }
  async init() {
    this.token = await apiToken('adeyemi');
    const res = await api('GET', '/departments', undefined, this.token);
    if (res.status !== 200 || !res.data.departments.length) throw new Error(`no department for adeyemi: ${JSON.stringify(res.data)}`);
    this.departmentId = res.data.departments[0].id;
    return this;
  }
  call(method, pathname, body) {
    return api(method, pathname, body, this.token);
  }
  // family: a name unlike the demo patients'; birth: an adult.
  async arrive(family, given, complaint = 'browser test patient') {
    const stamp = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4).toString(36)}`.toUpperCase();
    const res = await this.call('POST', `/departments/${this.departmentId}/arrivals`, {
      patient: { mrn: `WEBTEST-${stamp}`, family_name: family, given_name: `${given} ${stamp}`, birth_date: '1968-05-04', sex: 'female' },
      arrival_mode: 'walk_in',
      chief_complaint: complaint,
    });
    if (res.status !== 201) throw new Error(`arrival refused: ${res.status} ${JSON.stringify(res.data)}`);
    this.created.push(res.data.encounter.encounter_id);
    return res.data.encounter;
  }
  // The test patients leave; a bed one leaves needs cleaning, and is cleaned (as a nurse would).
  async departAll() {
    for (const id of this.created) {
      const res = await this.call('POST', `/encounters/${id}/status`, { status: 'departed' }).catch(() => null);
      for (const b of (res && res.data && res.data.beds) || []) {
        if (b.status === 'cleaning') await this.call('POST', `/beds/${b.id}/status`, { status: 'free' }).catch(() => {});
      }
    }
    this.created = [];
  }
}

export { BASE, watch };
