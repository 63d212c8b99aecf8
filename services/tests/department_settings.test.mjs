// `edlivectl department set <department-id> <key> <value>` (issue 9; services/ctl/README.md):
// each key is validated as its setting requires, each change is one transaction with an
// audit row, a bad value or department changes nothing, and a key whose column the database
// does not have yet is refused with a message saying so. Runs against the deployment
// deploy/local/test started (the owner's connection, as operators run edlivectl).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { requireEnv } from './lib/env.mjs';
import { sql, ctl, lit } from './lib/client.mjs';

const env = requireEnv('EDLIVE_PG_OWNER', 'EDLIVE_BUILD');
const OWNER = env.EDLIVE_PG_OWNER;
const COLUMNS = ['ews_window_min', 'early_warning', 'timezone', 'wall_shows_flags'];
let dept;
let saved;

const column = (name) => sql(OWNER, `SELECT ${name}::text FROM department WHERE id = ${dept}`);
const audits = (detail) => Number(sql(OWNER, `SELECT count(*) FROM audit_log WHERE action = 'department.set' AND detail = ${lit(detail)}`));
const auditCount = () => Number(sql(OWNER, "SELECT count(*) FROM audit_log WHERE action = 'department.set'"));

before(() => {
  // The second demo department (PEDS): the board tests use DEMO.
  dept = Number(sql(OWNER, "SELECT id FROM department WHERE code = 'PEDS'"));
  saved = Object.fromEntries(COLUMNS.map((c) => [c, column(c)]));
});

after(() => {
  for (const [key, value] of Object.entries(saved)) ctl(['department', 'set', String(dept), key, value]);
});

test('each key takes a valid value: the column changes and an audit row says so', () => {
  for (const [key, value, stored] of [
    ['ews_window_min', '15', '15'], ['ews_window_min', '1440', '1440'], ['ews_window_min', '180', '180'],
    ['early_warning', 'pews', 'pews'], ['early_warning', 'news2', 'news2'], ['early_warning', 'auto', 'auto'],
    ['timezone', 'America/New_York', 'America/New_York'],
    ['wall_shows_flags', 'true', 'true'], ['wall_shows_flags', 'false', 'false'],
  ]) {
    const before = audits(`department ${dept}: ${key} = ${value}`);
    const r = ctl(['department', 'set', String(dept), key, value]);
    assert.equal(r.status, 0, `${key} ${value}: ${r.stderr}`);
    assert.equal(r.stdout.trim(), `department ${dept}: ${key} = ${value}`);
    assert.equal(column(key), stored, `department.${key} after setting ${value}`);
    assert.equal(audits(`department ${dept}: ${key} = ${value}`), before + 1, `one audit row for ${key} = ${value}`);
  }
});

test('time_zone (the issue\'s spelling) sets the timezone column, validated by PostgreSQL', () => {
  const before = audits(`department ${dept}: timezone = Asia/Kolkata`);
  const r = ctl(['department', 'set', String(dept), 'time_zone', 'Asia/Kolkata']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(column('timezone'), 'Asia/Kolkata');
  assert.equal(audits(`department ${dept}: timezone = Asia/Kolkata`), before + 1);
  const bad = ctl(['department', 'set', String(dept), 'time_zone', 'Mars/Olympus_Mons']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /invalid value for time_zone: Mars\/Olympus_Mons/);
  assert.equal(column('timezone'), 'Asia/Kolkata');
});

test('a bad value changes nothing and writes no audit row', () => {
  ctl(['department', 'set', String(dept), 'ews_window_min', '240']);
  ctl(['department', 'set', String(dept), 'early_warning', 'auto']);
  ctl(['department', 'set', String(dept), 'wall_shows_flags', 'false']);
  ctl(['department', 'set', String(dept), 'timezone', 'Europe/London']);
  const count = auditCount();
  for (const [key, value, expect] of [
    ['ews_window_min', '14', /minutes, 15 to 1440/], ['ews_window_min', '1441', /15 to 1440/],
    ['ews_window_min', '60min', /15 to 1440/], ['ews_window_min', '', /15 to 1440/],
    ['early_warning', 'NEWS2', /auto, news2 or pews/], ['early_warning', 'mews', /auto, news2 or pews/],
    ['timezone', 'Europe/Londres', /IANA time zone/], ['timezone', "UTC'; DROP TABLE department; --", /IANA/],
    ['wall_shows_flags', 'yes', /true or false/], ['wall_shows_flags', '1', /true or false/],
  ]) {
    const r = ctl(['department', 'set', String(dept), key, value]);
    assert.equal(r.status, 2, `${key} ${JSON.stringify(value)} must be refused`);
    assert.match(r.stderr, new RegExp(`invalid value for ${key}`));
    assert.match(r.stderr, expect);
  }
  assert.deepEqual(COLUMNS.map(column), ['240', 'auto', 'Europe/London', 'false']);
  assert.equal(auditCount(), count, 'no audit row for a refused change');
});

test('an unknown department, key or a malformed id is refused', () => {
  const count = auditCount();
  const none = ctl(['department', 'set', '999999', 'wall_shows_flags', 'true']);
  assert.equal(none.status, 1);
  assert.match(none.stderr, /no department 999999/);
  const id = ctl(['department', 'set', 'DEMO', 'wall_shows_flags', 'true']);
  assert.equal(id.status, 2);
  assert.match(id.stderr, /department id must be a positive integer/);
  const key = ctl(['department', 'set', String(dept), 'name', 'Renamed']);
  assert.notEqual(key.status, 0);
  assert.match(key.stderr, /unknown department setting name/);
  assert.match(key.stderr, /ews_window_min[\s\S]*early_warning[\s\S]*timezone[\s\S]*wall_shows_flags/, 'the usage lists the keys');
  assert.equal(auditCount(), count);
});

test('a key whose column this database does not have yet gets a clear message', () => {
  // An older database: its department table (found first on the search path) has only a time
  // zone. edlivectl must say the setting is not available rather than fail on SQL.
  sql(OWNER, 'DROP SCHEMA IF EXISTS ctl_older CASCADE; CREATE SCHEMA ctl_older; ' +
    `CREATE TABLE ctl_older.department (id bigint PRIMARY KEY, timezone text); INSERT INTO ctl_older.department VALUES (${dept}, 'UTC')`);
  try {
    const older = (key, value) => spawnSync(`${env.EDLIVE_BUILD}/services/ctl/edlivectl`, ['department', 'set', String(dept), key, value], {
      encoding: 'utf8', env: { ...process.env, EDLIVE_PG: OWNER, PGOPTIONS: '-c search_path=ctl_older,public' },
    });
    for (const key of ['wall_shows_flags', 'ews_window_min', 'early_warning']) {
      const r = older(key, key === 'wall_shows_flags' ? 'true' : key === 'ews_window_min' ? '60' : 'pews');
      assert.equal(r.status, 1, `${key}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`department setting ${key} is not available in this database yet \\(no column department.${key}`));
    }
    const tz = older('time_zone', 'Europe/Paris');
    assert.equal(tz.status, 0, tz.stderr);
    assert.equal(sql(OWNER, `SELECT timezone FROM ctl_older.department WHERE id = ${dept}`), 'Europe/Paris');
  } finally {
    sql(OWNER, 'DROP SCHEMA IF EXISTS ctl_older CASCADE');
  }
});
