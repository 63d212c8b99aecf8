// Heartbeats and errors as proto/README.md states them (issue 13): every 5 s one heartbeat per
// topic, named as subscribe names it; a board's top is the department's seq, a chart's top its
// own encounter's last event (or where its subscription started), so a quiet chart in a busy
// department never looks behind; a client that sends nothing at all stays connected; an error
// about a topic names it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requireEnv } from '../../tests/lib/env.mjs';
import { signedIn, sql, sleep } from '../../tests/lib/client.mjs';
import { RawSocket } from '../../tests/lib/raw_ws.mjs';

const env = requireEnv('EDLIVE_API_URL', 'EDLIVE_PG_OWNER', 'EDLIVE_HUB_URL');

test('heartbeats: every 5 s per topic, a chart keeps its own top; errors name their topic', { timeout: 60000 }, async () => {
  const dept = Number(sql(env.EDLIVE_PG_OWNER, "SELECT id FROM department WHERE code = 'DEMO'"));
  const [quiet, busy] = sql(env.EDLIVE_PG_OWNER,
    `SELECT id FROM encounter WHERE department_id = ${dept} AND status NOT IN ('departed', 'left_without_being_seen', 'entered_in_error') ORDER BY id LIMIT 2`)
    .split('\n').map(Number);
  const staff = Number(sql(env.EDLIVE_PG_OWNER, "SELECT staff_id FROM account WHERE username = 'patel'"));
  const lopez = await signedIn('dr.lopez');
  const patel = await signedIn('patel');
  const frames = [];
  const ws = new RawSocket(env.EDLIVE_HUB_URL, lopez.token, (text) => frames.push({ at: Date.now(), msg: JSON.parse(text) }));
  await ws.open();
  let closed = false;
  ws.closed.then(() => { closed = true; });
  ws.send({ type: 'subscribe', topic: 'board', department_id: dept, since: 0 });
  ws.send({ type: 'subscribe', topic: 'chart', encounter_id: quiet, since: 0 });
  ws.send({ type: 'subscribe', topic: 'chart', encounter_id: 999999999, since: 0 });
  for (let i = 0; i < 50 && frames.filter((f) => f.msg.type === 'snapshot').length < 2; i++) await sleep(100);
  const chartSnapshot = frames.find((f) => f.msg.type === 'snapshot' && f.msg.topic === 'chart').msg;

  // Another patient's vitals: the department's top rises, the quiet chart's does not.
  for (let i = 0; i < 3; i++) {
    const r = await patel.post(`/encounters/${busy}/vitals`, { taken_by: staff, heart_rate: 80 + i });
    assert.equal(r.status, 201, r.text);
  }
  const topOf = () => Number(sql(env.EDLIVE_PG_OWNER, `SELECT max(seq) FROM event WHERE department_id = ${dept}`));
  const deptTop = topOf();
  // 17 s with nothing sent by us: more than 3 heartbeat periods.
  await sleep(17000);
  const deptTopNow = topOf(); // another test may write meanwhile
  assert.equal(closed, false, 'a client that sends nothing stays connected');

  const beats = (topic) => frames.filter((f) => f.msg.type === 'heartbeat' && f.msg.topic === topic);
  const board = beats('board');
  const chart = beats('chart');
  assert.ok(board.length >= 3 && board.length <= 5, `3 to 5 board heartbeats in ~18 s (${board.length})`);
  assert.ok(chart.length >= 3 && chart.length <= 5, `3 to 5 chart heartbeats in ~18 s (${chart.length})`);
  for (let i = 1; i < board.length; i++) {
    const gap = board[i].at - board[i - 1].at;
    assert.ok(gap > 4000 && gap < 6500, `heartbeats about 5 s apart (${gap} ms)`);
  }
  assert.deepEqual(Object.keys(board.at(-1).msg).sort(), ['department_id', 'top', 'topic', 'tops', 'type']);
  assert.equal(board.at(-1).msg.department_id, dept);
  const boardTop = board.at(-1).msg.top;
  assert.ok(boardTop >= deptTop && boardTop <= deptTopNow, `a board top is the department seq (${boardTop}, ${deptTop})`);
  assert.deepEqual(board.at(-1).msg.tops, { [`board:${dept}`]: boardTop }, 'the deprecated tops repeats it');
  for (const f of chart) {
    assert.equal(f.msg.encounter_id, quiet);
    assert.equal(f.msg.top, chartSnapshot.seq, 'a quiet chart keeps the top its subscription started at');
  }
  assert.ok(deptTop > chartSnapshot.seq, 'the department moved on meanwhile');

  const error = frames.find((f) => f.msg.type === 'error');
  assert.ok(error, 'the unknown encounter was refused');
  assert.deepEqual({ topic: error.msg.topic, encounter_id: error.msg.encounter_id, code: error.msg.code },
    { topic: 'chart', encounter_id: 999999999, code: 'not_found' });
  ws.cut();
});
