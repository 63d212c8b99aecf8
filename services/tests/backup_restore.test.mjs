// `edlivectl backup` and `edlivectl restore` (issue 15, services/ctl/README.md): the test
// deployment's database is backed up (pg_dump, custom format) and restored into an empty
// PostgreSQL cluster this test starts (initdb under its TMPDIR as the postgres user, on a free
// port). The restored record must be the same record: every table's row count, every
// department's board as the record builds it (board_json), and an intact audit chain
// (`edlivectl audit verify` on the restored database). A restore into a database that is not
// empty is refused and changes nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireEnv } from './lib/env.mjs';
import { sql, ctl } from './lib/client.mjs';

const env = requireEnv('EDLIVE_PG_OWNER', 'EDLIVE_BUILD');
const OWNER = env.EDLIVE_PG_OWNER;
const PGBIN = process.env.ED_PGBIN || '/usr/lib/postgresql/15/bin';
const ctx = {};

// A port nothing listens on now.
const freePort = () => new Promise((resolve, reject) => {
  const srv = createServer();
  srv.once('error', reject);
  srv.listen(0, '127.0.0.1', () => {
    const { port } = srv.address();
    srv.close(() => resolve(port));
  });
});

const asPostgres = (program, args) =>
  execFileSync('runuser', ['-u', 'postgres', '--', `${PGBIN}/${program}`, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

// Every table's row count (the record's schema, public), as {table: count}.
const rowCounts = (conn) => JSON.parse(sql(conn, `SELECT jsonb_object_agg(table_name,
    (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM public.%I', table_name), false, true, '')))[1]::text::bigint)
  FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`));

// Every department's board as the record builds it for the API and the hubs.
const boards = (conn) => JSON.parse(sql(conn, 'SELECT jsonb_agg(board_json(id) ORDER BY id) FROM department'));

before(async () => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'edlive-restore-'));
  chownSync(ctx.dir, Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })), 0);
  ctx.data = join(ctx.dir, 'data');
  ctx.port = await freePort();
  asPostgres('initdb', ['-N', '-D', ctx.data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C.UTF-8']);
  asPostgres('pg_ctl', ['-D', ctx.data, '-l', join(ctx.dir, 'postgres.log'), '-w', '-t', '60', '-o',
    `-p ${ctx.port} -c listen_addresses=127.0.0.1 -k ${ctx.dir} -c fsync=off`, 'start']);
  ctx.started = true;
  const admin = `host=127.0.0.1 port=${ctx.port} dbname=postgres user=postgres`;
  // The roles are the cluster's, not the backup's: an operator creates them first.
  sql(admin, 'CREATE ROLE edlive LOGIN');
  sql(admin, 'CREATE ROLE edlive_app LOGIN');
  sql(admin, 'CREATE DATABASE edlive OWNER edlive');
  ctx.restored = `host=127.0.0.1 port=${ctx.port} dbname=edlive user=edlive`;
});

after(() => {
  if (ctx.started) {
    try {
      asPostgres('pg_ctl', ['-D', ctx.data, '-m', 'immediate', '-w', 'stop']);
    } catch (e) {
      console.log(`pg_ctl stop: ${e.message}`);
    }
  }
  if (ctx.dir) rmSync(ctx.dir, { recursive: true, force: true });
});

test('backup, then restore into an empty cluster: same row counts, same boards, audit chain intact', () => {
  // The deployment keeps running (relay cursors, hub sessions): a backup counts when nothing a
  // count or a board shows changed while it was taken.
  let file;
  for (let attempt = 1; attempt <= 5 && !ctx.source; attempt++) {
    const counts = rowCounts(OWNER);
    const board = boards(OWNER);
    file = join(ctx.dir, `edlive-${attempt}.dump`);
    const r = ctl(['backup', file]);
    assert.equal(r.status, 0, `backup: ${r.stderr}`);
    assert.match(r.stdout, /backup: .* written, \d+ bytes/);
    if (JSON.stringify(rowCounts(OWNER)) === JSON.stringify(counts) && JSON.stringify(boards(OWNER)) === JSON.stringify(board))
      ctx.source = { counts, board };
  }
  assert.ok(ctx.source, 'the database kept changing during five backups');
  assert.ok(statSync(file).size > 1000);
  assert.ok(!existsSync(`${file}.partial`), 'no partial file left');
  assert.equal(ctl(['backup', file]).status, 2, 'a backup never overwrites a file');

  const r = ctl(['restore', file], { conn: ctx.restored });
  assert.equal(r.status, 0, `restore: ${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /restore: .* restored into edlive/);
  assert.match(r.stdout, /audit verify: OK, \d+ rows, chain intact/);

  const counts = rowCounts(ctx.restored);
  assert.ok(Object.keys(counts).length > 20, `tables: ${Object.keys(counts)}`);
  assert.deepEqual(counts, ctx.source.counts, 'every table has the same number of rows');
  assert.ok(ctx.source.counts.encounter > 0 && ctx.source.counts.audit_log > 0, 'there was a record to restore');
  assert.deepEqual(boards(ctx.restored), ctx.source.board, 'every board is the same');

  const verify = ctl(['audit', 'verify'], { conn: ctx.restored });
  assert.equal(verify.status, 0, verify.stdout + verify.stderr);
  assert.equal(verify.stdout.trim(), `audit verify: OK, ${ctx.source.counts.audit_log} rows, chain intact`);
  // The services' role keeps its grants: it reads the board and cannot change the audit log.
  const app = `host=127.0.0.1 port=${ctx.port} dbname=edlive user=edlive_app`;
  assert.equal(sql(app, 'SELECT count(*) FROM department'), String(ctx.source.counts.department));
  assert.throws(() => sql(app, 'DELETE FROM audit_log'), /permission denied/);
  // The restored schema is current.
  assert.equal(ctl(['migrate', 'status'], { conn: ctx.restored }).status, 0);
  ctx.file = file;
});

test('restore refuses a database that is not empty and changes nothing', () => {
  assert.ok(ctx.file, 'the first test restored');
  const before = rowCounts(ctx.restored);
  const r = ctl(['restore', ctx.file], { conn: ctx.restored });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /the database edlive is not empty \(\d+ tables, views or sequences\)/);
  assert.match(r.stderr, /--force/);
  assert.deepEqual(rowCounts(ctx.restored), before);
  const bad = ctl(['restore', join(ctx.dir, 'no-such.dump')], { conn: ctx.restored });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /cannot read the backup .*no-such\.dump/);
  const badFlag = ctl(['restore', ctx.file, '--yes'], { conn: ctx.restored });
  assert.equal(badFlag.status, 2);
  assert.match(badFlag.stderr, /usage: edlivectl restore <file> \[--force\]/);
});

test('restore --force replaces what is there with the backup', () => {
  assert.ok(ctx.file, 'the first test restored');
  sql(ctx.restored, "DELETE FROM relay_cursor");
  const r = ctl(['restore', ctx.file, '--force'], { conn: ctx.restored });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /audit verify: OK/);
  assert.deepEqual(rowCounts(ctx.restored), ctx.source.counts);
});
