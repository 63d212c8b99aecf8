// Migrations and functions (sql/README.md): a database that was at the first schema with data
// in it, then migrated with `edlivectl migrate`, ends up with the same schema (tables,
// columns, constraints, indexes, functions, triggers, grants: pg_dump --schema-only) and the same
// function results as a database made fresh by `edlivectl migrate` with the same data; a
// second migrate changes neither; and each function, view and trigger is defined once in sql/.
// The upgrade keeps everything (deploy/UPGRADE.md): every row and column the first schema had is
// still there with the same values, and ed-api, started on the migrated database, serves that
// data (departments, board, charts with their vitals and notes) and takes a new write whose seq
// follows the old event log.
// Two scratch databases are made and dropped; the deployment's own database is not touched.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { requireEnv } from './lib/env.mjs';
import { Api, sql, sleep } from './lib/client.mjs';
import { signIn } from './lib/auth.mjs';

const env = requireEnv('EDLIVE_PG_OWNER', 'EDLIVE_PG_SUPER', 'EDLIVE_PG', 'EDLIVE_BUILD', 'EDLIVE_SQL_DIR',
  'EDLIVE_PROTO_DIR', 'EDLIVE_LOGS');
const SQL_DIR = env.EDLIVE_SQL_DIR;
const DB_A = `edlive_mig_a_${process.pid}`; // first schema, data, then migrated
const DB_B = `edlive_mig_b_${process.pid}`; // migrated fresh, then the same data
const conn = (base, db) => base.replace(/dbname=\S+/, `dbname=${db}`);
const owner = (db) => conn(env.EDLIVE_PG_OWNER, db);
const app = (db) => conn(env.EDLIVE_PG, db);
const superuser = (db) => conn(env.EDLIVE_PG_SUPER, db);
const ctx = {};

function migrate(db, sqlDir = SQL_DIR) {
  const r = spawnSync(`${env.EDLIVE_BUILD}/services/ctl/edlivectl`, ['migrate'], {
    encoding: 'utf8', env: { ...process.env, EDLIVE_PG: owner(db), EDLIVE_SQL_DIR: sqlDir },
  });
  assert.equal(r.status, 0, `edlivectl migrate on ${db}: ${r.stdout}${r.stderr}`);
  return r.stderr;
}

// The schema as pg_dump writes it, without the lines that name the run (versions, the
// random \restrict key of newer pg_dump releases).
function schema(db) {
  const dump = execFileSync('pg_dump', ['--schema-only', '-d', superuser(db)], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return dump.split('\n').filter((l) => !/^\\(un)?restrict\b|^-- Dumped (from|by)/.test(l)).join('\n');
}

// The same objects, one line each, for a readable difference: every function with an md5
// of its whole definition, every trigger, constraint, column and index.
const CATALOG = `SELECT string_agg(x, E'\\n' ORDER BY x) FROM (
  SELECT 'function ' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ') '
         || md5(pg_get_functiondef(p.oid)) || ' ' || coalesce(p.proacl::text, '') AS x
  FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace
  UNION ALL SELECT 'trigger ' || t.tgrelid::regclass || ' ' || pg_get_triggerdef(t.oid)
  FROM pg_trigger t WHERE NOT t.tgisinternal
  UNION ALL SELECT 'constraint ' || c.conrelid::regclass || ' ' || c.conname || ' ' || pg_get_constraintdef(c.oid)
  FROM pg_constraint c WHERE c.connamespace = 'public'::regnamespace
  UNION ALL SELECT 'column ' || c.table_name || '.' || c.column_name || ' ' || c.ordinal_position || ' '
         || c.data_type || ' ' || c.is_nullable || ' ' || coalesce(c.column_default, '') || ' '
         || coalesce(c.generation_expression, '')
  FROM information_schema.columns c WHERE c.table_schema = 'public'
  UNION ALL SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'public') s`;

// Representative rows, written the same way into both databases with plain SQL (the first
// schema has no functions or triggers yet: migrate creates them at the end). Fixed times, so
// both get the same values. vitals.news2 comes in the shape of the era's write path: without
// "band" at the first schema (0005 backfills it), with it on a current schema.
function seedSql(firstSchema) {
  const news2 = firstSchema
    ? `'{"total": 6, "any_single_3": true, "complete": true, "scores": {"heart_rate": 2, "resp_rate": 3, "spo2": 1}}'`
    : `'{"total": 6, "any_single_3": true, "complete": true, "scores": {"heart_rate": 2, "resp_rate": 3, "spo2": 1}, "band": "medium", "reassess_min": 60, "scale": 1}'`;
  return `
    INSERT INTO department (code, name) VALUES ('MIGT', 'Migration test ED');
    INSERT INTO department_seq (department_id) SELECT id FROM department WHERE code = 'MIGT' ON CONFLICT DO NOTHING;
    INSERT INTO bed (department_id, label, area, sort_order)
      SELECT d.id, b.label, b.area, b.n FROM department d,
        (VALUES ('R1', 'resus', 0), ('A1', 'acute', 1), ('H1', 'hallway', 2), ('WR', 'waiting_room', 3)) b(label, area, n)
      WHERE d.code = 'MIGT';
    INSERT INTO staff (display_name, role) VALUES ('Dr. Mig Test', 'physician'), ('Nur Test, RN', 'nurse');
    INSERT INTO staff_department (staff_id, department_id) SELECT s.id, d.id FROM staff s, department d WHERE d.code = 'MIGT';
    INSERT INTO patient (mrn, family_name, given_name, birth_date, sex) VALUES
      ('MIG-1', 'Haddad', 'Yusuf', '1979-06-14', 'male'), ('MIG-2', 'Hadad', 'Yousef', '1983-02-17', 'male'),
      ('MIG-3', 'Okafor', 'Ada', '1961-03-02', 'female');
    INSERT INTO encounter (department_id, patient_id, arrived_at, arrival_mode, chief_complaint, esi, triaged_at,
                           status, status_at, bed_id, attending_id, nurse_id, departed_at)
      SELECT d.id, p.id, x.arrived::timestamptz, x.mode, x.complaint, x.esi, x.arrived::timestamptz + interval '5 min',
             x.status, x.arrived::timestamptz, (SELECT b.id FROM bed b WHERE b.department_id = d.id AND b.label = x.bed),
             CASE WHEN x.staffed THEN (SELECT id FROM staff WHERE role = 'physician') END,
             CASE WHEN x.staffed THEN (SELECT id FROM staff WHERE role = 'nurse') END, x.departed::timestamptz
      FROM department d, (VALUES
        ('MIG-1', '2026-01-05 10:00Z', 'walk_in', 'Abdominal pain RLQ', 3, 'seen_by_provider', 'A1', true, NULL),
        ('MIG-2', '2026-01-05 10:20Z', 'ambulance', 'Chest tightness', 2, 'waiting', NULL, false, NULL),
        ('MIG-3', '2026-01-05 08:00Z', 'walk_in', 'Fall', 4, 'departed', 'R1', true, '2026-01-05 09:30Z')
      ) x(mrn, arrived, mode, complaint, esi, status, bed, staffed, departed)
      JOIN patient p ON p.mrn = x.mrn
      WHERE d.code = 'MIGT' ORDER BY x.mrn;
    INSERT INTO vitals (encounter_id, taken_at, taken_by, heart_rate, resp_rate, systolic_bp, diastolic_bp, spo2,
                        temperature_c, on_oxygen, consciousness, pain, news2, recorded_at)
      SELECT e.id, '2026-01-05 10:10Z', (SELECT id FROM staff WHERE role = 'nurse'), 112, 22, 134, 82, 94, 38.2,
             false, 'A', 7, ${news2}, '2026-01-05 10:11Z'
      FROM encounter e JOIN patient p ON p.id = e.patient_id WHERE p.mrn = 'MIG-1';
    INSERT INTO note (encounter_id, author_id, body, written_at)
      SELECT e.id, (SELECT id FROM staff WHERE role = 'physician'), 'Migration test note', '2026-01-05 10:15Z'
      FROM encounter e JOIN patient p ON p.id = e.patient_id WHERE p.mrn = 'MIG-1';
    INSERT INTO event (department_id, seq, encounter_id, encounter_version, type, payload, at)
      SELECT e.department_id, row_number() OVER (ORDER BY e.arrived_at), e.id, 1, 'encounter.arrived',
             jsonb_build_object('encounter', jsonb_build_object('encounter_id', e.id, 'arrived_at', e.arrived_at,
               'arrival_mode', e.arrival_mode, 'chief_complaint', e.chief_complaint, 'status', 'waiting')),
             e.arrived_at
      FROM encounter e;
    UPDATE department_seq SET last_seq = (SELECT max(seq) FROM event) WHERE department_id = (SELECT id FROM department WHERE code = 'MIGT');`;
}

// Every row of every table the first schema has, as {table: [row, ...]} of its first-schema
// columns only (columns added later are not compared), in a stable order.
function firstSchemaColumns(db) {
  return JSON.parse(sql(owner(db), `SELECT jsonb_object_agg(table_name, cols) FROM (
    SELECT table_name, jsonb_agg(column_name::text ORDER BY ordinal_position) AS cols
    FROM information_schema.columns
    WHERE table_schema = 'public' AND table_name <> 'schema_migrations' GROUP BY table_name) c`));
}
function rowsOf(db, columns) {
  const out = {};
  for (const [table, cols] of Object.entries(columns)) {
    const obj = `jsonb_build_object(${cols.map((c) => `'${c}', t."${c}"`).join(', ')})`;
    out[table] = JSON.parse(sql(owner(db), `SELECT coalesce(jsonb_agg(${obj} ORDER BY ${obj}::text), '[]') FROM "${table}" t`));
  }
  return out;
}
// Values a migration extends on purpose: the old value must still be inside the new one.
const EXTENDED = { 'vitals.news2': '0005 adds band, reassess_min and scale to a first-schema NEWS2' };

// A TCP port nothing listens on now.
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
  });
}

// What the functions make of those rows: every board row, the board, vitals and notes as the
// chart shows them, and the day's metrics.
const OUTPUTS = `SELECT jsonb_build_object(
    'rows', (SELECT jsonb_agg(encounter_row_json(e.id) ORDER BY e.id) FROM encounter e),
    'board', (SELECT board_json(id) FROM department WHERE code = 'MIGT'),
    'vitals', (SELECT jsonb_agg(vitals_json(v) ORDER BY v.id) FROM vitals v),
    'notes', (SELECT jsonb_agg(note_json(n) ORDER BY n.id) FROM note n),
    'metrics', (SELECT department_metrics_json(id, '2026-01-05') FROM department WHERE code = 'MIGT'))`;

const outputs = (db) => JSON.parse(sql(owner(db), OUTPUTS));
const catalog = (db) => sql(owner(db), CATALOG);

before(() => {
  for (const db of [DB_A, DB_B]) {
    sql(env.EDLIVE_PG_SUPER, `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    sql(env.EDLIVE_PG_SUPER, `CREATE DATABASE ${db} OWNER edlive`);
  }
  // A: only the first migration (an sql/ folder holding 0001 and no functions), its data, then
  // everything.
  ctx.firstDir = fs.mkdtempSync(path.join(process.env.TMPDIR || os.tmpdir(), 'edlive-first-schema-'));
  fs.mkdirSync(path.join(ctx.firstDir, 'migrations'));
  fs.mkdirSync(path.join(ctx.firstDir, 'functions'));
  fs.copyFileSync(path.join(SQL_DIR, 'migrations', '0001_core.sql'), path.join(ctx.firstDir, 'migrations', '0001_core.sql'));
  migrate(DB_A, ctx.firstDir);
  ctx.firstApplied = sql(owner(DB_A), 'SELECT string_agg(name, \',\' ORDER BY name) FROM schema_migrations');
  sql(owner(DB_A), seedSql(true));
  ctx.firstColumns = firstSchemaColumns(DB_A);
  ctx.firstRows = rowsOf(DB_A, ctx.firstColumns);
  migrate(DB_A);
  // B: fresh, then the same rows.
  migrate(DB_B);
  sql(owner(DB_B), seedSql(false));
});

// ed-api on the migrated database A, as after an upgrade, with a physician account of the
// first-schema staff member (accounts came with 0002). Its log goes beside the services' logs,
// where deploy/local/test looks for sanitizer reports.
async function startApiOnMigrated() {
  const staffId = sql(owner(DB_A), "SELECT id FROM staff WHERE display_name = 'Dr. Mig Test'");
  const password = `mig-${process.pid}-password`;
  const add = spawnSync(`${env.EDLIVE_BUILD}/services/ctl/edlivectl`, ['user', 'add', 'migdoc', 'physician', staffId], {
    encoding: 'utf8', input: `${password}\n`, env: { ...process.env, EDLIVE_PG: owner(DB_A) },
  });
  assert.equal(add.status, 0, add.stdout + add.stderr);
  const port = await freePort();
  const log = fs.openSync(path.join(env.EDLIVE_LOGS, 'api-migrated.log'), 'a');
  ctx.api = spawn(`${env.EDLIVE_BUILD}/services/api/ed-api`, [], {
    env: { ...process.env, EDLIVE_PG: app(DB_A), EDLIVE_API_PORT: String(port), EDLIVE_LISTEN: '127.0.0.1',
           EDLIVE_FAULT_HOOKS: '0', PGAPPNAME: 'api-migrated' },
    stdio: ['ignore', log, log],
  });
  fs.closeSync(log);
  ctx.apiExited = new Promise((resolve) => ctx.api.once('exit', (code, signal) => resolve({ code, signal })));
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const r = await fetch(`${base}/api/v1/departments`).catch(() => null);
    if (r && r.status === 401) break;
    assert.ok(i < 300 && ctx.api.exitCode === null, 'ed-api on the migrated database did not answer (logs/api-migrated.log)');
    await sleep(100);
  }
  const s = await signIn(base, 'migdoc', { password });
  assert.equal(s.status, 201, JSON.stringify(s.body));
  ctx.staffId = Number(staffId);
  return new Api(s.token, base);
}

after(async () => {
  if (ctx.api && ctx.api.exitCode === null) {
    ctx.api.kill('SIGTERM');
    await ctx.apiExited;
  }
  for (const db of [DB_A, DB_B]) sql(env.EDLIVE_PG_SUPER, `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  if (ctx.firstDir) fs.rmSync(ctx.firstDir, { recursive: true, force: true });
});

test('the first-schema database had only 0001 before its data went in', () => {
  assert.equal(ctx.firstApplied, '0001_core.sql');
});

test('migrated from the first schema with data = fresh: same schema (pg_dump) and catalog', () => {
  assert.equal(catalog(DB_A), catalog(DB_B));
  assert.equal(schema(DB_A), schema(DB_B));
  const migrations = fs.readdirSync(path.join(SQL_DIR, 'migrations')).filter((f) => /^\d{4}_.*\.sql$/.test(f)).sort();
  for (const db of [DB_A, DB_B]) {
    assert.equal(sql(owner(db), "SELECT string_agg(name, ',' ORDER BY name) FROM schema_migrations"), migrations.join(','));
  }
});

test('the functions give the same results on both (board rows, board, vitals, notes, metrics)', () => {
  const a = outputs(DB_A);
  const b = outputs(DB_B);
  assert.equal(a.rows.length, 3);
  assert.equal(a.board.encounters.length, 2, 'the departed visit is off the board');
  assert.equal(a.rows[0].news2.band, 'medium', '0005 backfilled the band of a first-schema vitals set');
  assert.deepEqual(a.rows[0].similar_name, [a.rows[1].encounter_id], 'similar_key computed for existing patients');
  assert.equal(a.metrics.arrivals, 3);
  assert.deepEqual(a, b);
});

test('a second migrate changes nothing', () => {
  const before = { A: [schema(DB_A), catalog(DB_A), outputs(DB_A)], B: [schema(DB_B), catalog(DB_B), outputs(DB_B)] };
  for (const db of [DB_A, DB_B]) assert.match(migrate(db), /migrations: 0 applied now/);
  assert.deepEqual([schema(DB_A), catalog(DB_A), outputs(DB_A)], before.A);
  assert.deepEqual([schema(DB_B), catalog(DB_B), outputs(DB_B)], before.B);
});

test('each function, view and trigger is defined once in sql/, and migrations define none but name_key', () => {
  const seen = new Map();
  const create = /^CREATE\s+(?:OR\s+REPLACE\s+)?(FUNCTION|VIEW|TRIGGER|MATERIALIZED\s+VIEW)\s+(?:public\.)?(\w+)/gim;
  for (const sub of ['migrations', 'functions']) {
    for (const f of fs.readdirSync(path.join(SQL_DIR, sub)).filter((n) => n.endsWith('.sql'))) {
      const text = fs.readFileSync(path.join(SQL_DIR, sub, f), 'utf8');
      for (const m of text.matchAll(create)) {
        const key = `${m[1].toUpperCase()} ${m[2]}`;
        assert.ok(!seen.has(key), `${key} is defined in ${seen.get(key)} and again in ${sub}/${f}`);
        seen.set(key, `${sub}/${f}`);
        if (sub === 'migrations') assert.equal(key, 'FUNCTION name_key', `${sub}/${f} defines ${key}: it belongs in sql/functions`);
      }
    }
  }
  const defined = [...seen.keys()].filter((k) => k.startsWith('FUNCTION ')).map((k) => k.slice(9)).sort();
  const inDb = sql(owner(DB_B), "SELECT string_agg(proname, ',' ORDER BY proname) FROM pg_proc WHERE pronamespace = 'public'::regnamespace").split(',');
  assert.deepEqual(defined, inDb, 'every function in the database is defined in sql/, and nothing else is');
});

test('upgrade without loss: every first-schema row and value is still there after migrate', () => {
  const after = rowsOf(DB_A, ctx.firstColumns);
  const tables = Object.keys(ctx.firstColumns).sort();
  assert.deepEqual(tables, ['bed', 'department', 'department_seq', 'encounter', 'event', 'note', 'patient', 'staff',
    'staff_department', 'vitals']);
  for (const table of tables) {
    assert.ok(ctx.firstRows[table].length > 0, `${table}: the first schema's data has rows`);
    assert.equal(after[table].length, ctx.firstRows[table].length, `${table}: as many rows`);
    ctx.firstRows[table].forEach((old, i) => {
      for (const [column, value] of Object.entries(old)) {
        const now = after[table][i][column];
        if (EXTENDED[`${table}.${column}`]) {
          for (const [k, v] of Object.entries(value)) assert.deepEqual(now[k], v, `${table}.${column}.${k} kept`);
        } else {
          assert.deepEqual(now, value, `${table}.${column} of row ${i} unchanged`);
        }
      }
    });
  }
});

test('after the upgrade ed-api serves the old data and a new write follows the old event log', async (t) => {
  const api = await startApiOnMigrated();
  const deps = await api.get('/departments');
  assert.equal(deps.status, 200);
  const dep = deps.json.departments.find((d) => d.code === 'MIGT');
  assert.ok(dep, 'the first-schema department is listed');

  const board = await api.get(`/departments/${dep.id}/board`);
  assert.equal(board.status, 200, board.text);
  assert.equal(board.json.seq, 3, "the board's seq is the old event log's last");
  assert.deepEqual(board.json.beds.map((b) => b.label).sort(), ['A1', 'H1', 'R1', 'WR']);
  const byMrn = Object.fromEntries(board.json.encounters.map((r) => [r.patient.mrn, r]));
  assert.deepEqual(Object.keys(byMrn).sort(), ['MIG-1', 'MIG-2'], 'the two active visits, not the departed one');
  assert.equal(byMrn['MIG-1'].patient.family_name, 'Haddad');
  assert.equal(byMrn['MIG-1'].bed.label, 'A1');
  assert.equal(byMrn['MIG-1'].attending.name, 'Dr. Mig Test');
  assert.equal(byMrn['MIG-1'].latest_vitals.heart_rate, 112);
  assert.equal(byMrn['MIG-2'].esi, 2);

  const chart = await api.get(`/encounters/${byMrn['MIG-1'].encounter_id}`);
  assert.equal(chart.status, 200, chart.text);
  assert.equal(chart.json.vitals.length, 1);
  assert.equal(chart.json.vitals[0].spo2, 94);
  assert.equal(chart.json.vitals[0].taken_by.name, 'Nur Test, RN');
  assert.deepEqual(chart.json.notes.map((n) => n.text), ['Migration test note']);

  const departedId = sql(owner(DB_A), "SELECT e.id FROM encounter e JOIN patient p ON p.id = e.patient_id WHERE p.mrn = 'MIG-3'");
  const departed = await api.get(`/encounters/${departedId}`);
  assert.equal(departed.status, 200, departed.text);
  assert.equal(departed.json.encounter.status, 'departed');

  // The old events are still readable as the frames ed-hub sends when it fills a gap from
  // PostgreSQL (event_frame(), sql/functions).
  const frames = JSON.parse(sql(owner(DB_A), 'SELECT json_agg(event_frame(department_id, seq)::json ORDER BY seq) FROM event'));
  assert.deepEqual(frames.map((f) => [f.seq, f.event]), [[1, 'encounter.arrived'], [2, 'encounter.arrived'], [3, 'encounter.arrived']]);

  const note = await api.post(`/encounters/${byMrn['MIG-2'].encounter_id}/notes`, { author_id: ctx.staffId, text: 'Written after the upgrade' });
  assert.equal(note.status, 201, note.text);
  assert.equal(note.json.seq, 4, 'the first write after the upgrade takes the next seq of the old log');
  t.diagnostic(`ed-api on the migrated database: ${board.json.encounters.length} active visits, new write at seq ${note.json.seq}`);
});
