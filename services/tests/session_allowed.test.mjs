// GET /api/v1/session lists the actions the principal may perform ("allowed"), computed by the
// record from its permission matrix: it must equal the matrix proto/README.md documents, row
// for row, for every role of the demo ED (the pages show their controls from it). And the
// operator's account changes through edlivectl leave their audit rows (issue 10).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireEnv } from './lib/env.mjs';
import { signedIn, sql, lit, ctl } from './lib/client.mjs';

const env = requireEnv('EDLIVE_API_URL', 'EDLIVE_PG_OWNER', 'EDLIVE_BUILD');
const OWNER = env.EDLIVE_PG_OWNER;
const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROLES = ['physician', 'nurse', 'charge_nurse', 'registration', 'admin', 'service', 'display'];

// The "Permission matrix" table of proto/README.md: action -> roles that may ("yes", "self
// only", "masked"), in the table's order.
function documentedMatrix() {
  const text = fs.readFileSync(path.join(HERE, '../../proto/README.md'), 'utf8');
  const section = text.split('### Permission matrix')[1].split('\n\n')[1];
  const rows = section.split('\n').filter((l) => l.startsWith('| `'));
  return rows.map((line) => {
    const cells = line.split('|').slice(1, -1).map((c) => c.trim());
    const action = cells[0].replace(/`/g, '');
    const roles = ROLES.filter((r, i) => cells[2 + i] !== '–');
    return { action, roles };
  });
}

test('GET /session "allowed" is the documented permission matrix, for each role', async () => {
  const matrix = documentedMatrix();
  assert.ok(matrix.length >= 20, 'the matrix table was found');
  const users = { physician: 'dr.lopez', nurse: 'patel', charge_nurse: 'adeyemi', registration: 'moreau', display: 'wall', admin: 'admin' };
  for (const [role, username] of Object.entries(users)) {
    const me = await (await signedIn(username)).get('/session');
    assert.equal(me.status, 200, `${username}: ${me.text}`);
    assert.equal(me.json.role, role);
    const expected = matrix.filter((row) => row.roles.includes(role)).map((row) => row.action);
    assert.deepEqual(me.json.allowed, expected, `${role} (${username})`);
  }
});

test('edlivectl user add, disable and enable are audited in the same transaction', () => {
  const name = `audited.${Date.now() % 1000000}`;
  const count = (action) => Number(sql(OWNER, `SELECT count(*) FROM audit_log WHERE action = ${lit(action)} AND detail LIKE ${lit(`%${name}%`)}`));
  const ids = () => sql(OWNER, `SELECT id FROM account WHERE username = ${lit(name)}`);
  let r = ctl(['user', 'add', name, 'nurse'], { input: 'a long enough password\n' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(count('account.create'), 1);
  r = ctl(['user', 'add', name, 'nurse'], { input: 'a long enough password\n' });
  assert.equal(r.status, 0, 'adding an existing account again is no error');
  assert.equal(count('account.create'), 1, 'and writes no second row');
  const id = ids();
  const byId = (action) => Number(sql(OWNER, `SELECT count(*) FROM audit_log WHERE action = ${lit(action)} AND detail = ${lit(`account ${id}`)} AND username = 'system' AND source_addr = 'edlivectl'`));
  assert.equal(ctl(['user', 'disable', name]).status, 0);
  assert.equal(sql(OWNER, `SELECT disabled FROM account WHERE id = ${id}`), 't');
  assert.equal(byId('account.disable'), 1);
  assert.equal(ctl(['user', 'enable', name]).status, 0);
  assert.equal(byId('account.enable'), 1);
  const none = ctl(['user', 'disable', `${name}.nobody`]);
  assert.equal(none.status, 1);
  assert.match(none.stdout, /no such account/);
});
