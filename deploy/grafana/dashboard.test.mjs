// SPDX-License-Identifier: MIT
// deploy/grafana/edlive.json parses as a Grafana dashboard and names only metrics the services
// export: every edlive_* name in a query must be a family some service declares with
// ops_family() (services/**/*.c), a histogram's _bucket/_sum/_count included.
// (services/tests/ops_health.test.mjs checks the same names against live /metrics pages.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const dashboard = JSON.parse(fs.readFileSync(path.join(here, 'edlive.json'), 'utf8'));

function cFiles(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'tests' ? [] : cFiles(p);
    return e.name.endsWith('.c') ? [p] : [];
  });
}

// Every family the services declare: name -> type.
const exported = new Map();
for (const file of cFiles(path.join(repo, 'services'))) {
  const text = fs.readFileSync(file, 'utf8');
  for (const m of text.matchAll(/ops_family\(\s*\w+,\s*"([a-z_:][a-z0-9_:]*)",\s*"(counter|gauge|histogram)"/g)) exported.set(m[1], m[2]);
}

function exportedName(name) {
  if (exported.has(name)) return true;
  const m = name.match(/^(.*)_(bucket|sum|count)$/);
  return Boolean(m && exported.get(m[1]) === 'histogram');
}

const panels = dashboard.panels.filter((p) => p.type !== 'row');
const dashboardMetrics = [...new Set(panels.flatMap((p) => p.targets.flatMap((t) => t.expr.match(/\bedlive_[a-z0-9_]+/g) || [])))];

test('the services declare the families this test reads', () => {
  for (const name of ['edlive_ready', 'edlive_api_requests_total', 'edlive_hub_clients', 'edlive_relay_lag_events', 'edlive_mllp_messages_total'])
    assert.ok(exported.has(name), name);
});

test('the dashboard has its parts: title, uid, a Prometheus data source, panels on a 24-column grid', () => {
  assert.equal(dashboard.uid, 'edlive');
  assert.ok(dashboard.title);
  assert.ok(dashboard.templating.list.some((v) => v.type === 'datasource' && v.query === 'prometheus'));
  const ids = dashboard.panels.map((p) => p.id);
  assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
  for (const p of dashboard.panels) {
    const g = p.gridPos;
    assert.ok(g && g.x >= 0 && g.w > 0 && g.x + g.w <= 24 && g.h > 0, `${p.title}: gridPos`);
  }
  for (const p of panels) {
    assert.ok(p.targets.length > 0, `${p.title}: queries`);
    assert.equal(p.datasource.uid, '${datasource}', `${p.title}: data source`);
    for (const t of p.targets) {
      assert.ok(t.refId && t.expr, `${p.title}: refId and expr`);
      let depth = 0;
      for (const ch of t.expr) { depth += ch === '(' ? 1 : ch === ')' ? -1 : 0; assert.ok(depth >= 0, t.expr); }
      assert.equal(depth, 0, `${p.title}: balanced parentheses in ${t.expr}`);
    }
  }
});

test('the panels an on-call engineer needs are there', () => {
  const all = panels.map((p) => p.targets.map((t) => t.expr).join(' ')).join('\n');
  for (const need of ['edlive_ready', 'edlive_hub_write_to_screen_seconds_bucket', 'edlive_hub_clients',
    'edlive_relay_lag_events', 'edlive_api_requests_total{status=~"5.."}', 'edlive_mllp_messages_total'])
    assert.ok(all.includes(need), need);
});

test('every metric the dashboard names is one the services export', () => {
  const unknown = dashboardMetrics.filter((n) => !exportedName(n));
  assert.deepEqual(unknown, [], `not exported by any service: ${unknown.join(', ')}`);
});
