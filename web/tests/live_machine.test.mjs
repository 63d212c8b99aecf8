// live_machine.test.mjs: web/js/live_machine.js, the state machine behind connectLive, step by
// step: no browser, no socket, no timers (every input carries its time). Each transition of
// the phase diagram in live_machine.js, the timers, gaps, heartbeats and the status shown.
//
// Run: node --test web/tests/live_machine.test.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  initialState,
  step,
  statusOf,
  reconnectDelay,
  PHASES as P,
  SILENCE_MS,
  HEARTBEAT_MS,
  PROOF_MS,
  STALE_AFTER_MS,
  SUBSCRIBE_TIMEOUT_MS,
  SESSION_CHECK_MS,
  BACKOFF_MAX_MS,
} from '../js/live_machine.js';

const T0 = 1_000_000;

// A machine under test: feed(input) steps it and keeps the effects of that step.
function machine(topic = 'board', { checkSession = true } = {}) {
  const m = {
    state: initialState({ topic, id: topic === 'board' ? 1 : 7, checkSession }, T0),
    effects: [],
    t: T0,
    feed(type, extra = {}) {
      const r = step(m.state, { type, t: m.t, rand: 0.5, ...extra });
      m.state = r.state;
      m.effects = r.effects;
      return r.effects;
    },
    at(ms) {
      m.t = T0 + ms;
      return m;
    },
    types() {
      return m.effects.map((e) => e.type);
    },
    sent() {
      return m.effects.filter((e) => e.type === 'send').map((e) => e.msg);
    },
    statuses() {
      return m.effects.filter((e) => e.type === 'status').map((e) => e.status.state);
    },
    // frame, then applied when the machine handed it to the page
    hub(msg) {
      const first = m.feed('frame', { msg });
      if (first.some((e) => e.type === 'snapshot' || e.type === 'event')) {
        const after = m.feed('applied');
        m.effects = [...first, ...after];
      }
      return m.effects;
    },
  };
  return m;
}

const boardSnapshot = (seq) => ({ type: 'snapshot', topic: 'board', department_id: 1, seq, board: { encounters: [] } });
const boardEvent = (seq) => ({ type: 'event', department_id: 1, seq, encounter_id: 12, version: seq, event: 'vitals.recorded', payload: {} });
const chartEvent = (seq, version) => ({ type: 'event', department_id: 1, seq, encounter_id: 7, version, event: 'note.added', payload: {} });
// The heartbeat as the hub sends it: one per topic, named as subscribe names it.
const heartbeat = (top, topic = 'board', id = 1) =>
  ({ type: 'heartbeat', topic, [topic === 'board' ? 'department_id' : 'encounter_id']: id, top });
// An older hub's: every topic's top in one object (a chart's was the department's).
const legacyHeartbeat = (top, key = 'board:1') => ({ type: 'heartbeat', tops: { [key]: top } });

// A board machine following at seq 5 (live), at time 1 s.
function liveBoard() {
  const m = machine();
  m.feed('start');
  m.at(100).feed('open');
  m.at(1000).hub(boardSnapshot(5));
  return m;
}

test('start: status reconnecting, a socket opens, the tick timer runs', () => {
  const m = machine();
  assert.equal(m.state.phase, P.RECONNECT_WAIT);
  m.feed('start');
  assert.deepEqual(m.types(), ['status', 'open_socket', 'tick_timer']);
  assert.equal(m.effects[0].status.state, 'reconnecting');
  assert.equal(m.state.phase, P.CONNECTING);
});

test('open: subscribe since 0 with nothing held, and nothing else sent (no pings)', () => {
  const m = machine();
  m.feed('start');
  m.at(50).feed('open');
  assert.equal(m.state.phase, P.SUBSCRIBING);
  assert.deepEqual(m.sent(), [{ type: 'subscribe', topic: 'board', department_id: 1, since: 0 }]);
  assert.deepEqual(m.types().filter((t) => t !== 'status'), ['send']);
});

test('snapshot: handed to the page, then following and live; the seq is held', () => {
  const m = machine();
  m.feed('start');
  m.at(50).feed('open');
  const first = m.at(60).feed('frame', { msg: boardSnapshot(5) });
  assert.deepEqual(first.map((e) => e.type), ['snapshot']);
  assert.ok(m.state.delivering);
  m.feed('applied');
  assert.equal(m.state.phase, P.FOLLOWING);
  assert.deepEqual(m.statuses(), ['live']);
  assert.equal(statusOf(m.state).since, null);
  assert.equal(m.state.lastSeq, 5);
  assert.equal(m.state.attempt, 0);
});

test('a snapshot of another topic or id is ignored', () => {
  const m = machine();
  m.feed('start');
  m.at(50).feed('open');
  m.hub({ ...boardSnapshot(5), department_id: 2 });
  assert.equal(m.state.phase, P.SUBSCRIBING);
  assert.ok(!m.types().includes('snapshot'));
});

test('events: in order applied, duplicates dropped, a gap resubscribes since the last seq', () => {
  const m = liveBoard();
  assert.deepEqual(m.hub(boardEvent(6)).map((e) => e.type), ['event']);
  assert.equal(m.state.lastSeq, 6);
  assert.deepEqual(m.hub(boardEvent(6)), []); // duplicate
  assert.deepEqual(m.hub({ ...boardEvent(7), department_id: 2 }), []); // another board
  m.hub(boardEvent(9));
  assert.equal(m.state.phase, P.CATCHING_UP);
  assert.deepEqual(m.sent(), [{ type: 'subscribe', topic: 'board', department_id: 1, since: 6 }]);
  assert.deepEqual(m.statuses(), ['reconnecting']);
  assert.ok(m.effects.some((e) => e.type === 'log' && /gap: seq 9 after 6/.test(e.text)));
  // events while catching up are dropped: the answer decides
  assert.deepEqual(m.hub(boardEvent(7)), []);
  // an answer to an older since changes nothing; the right one confirms
  m.hub({ type: 'subscribed', topic: 'board', department_id: 1, since: 0 });
  assert.equal(m.state.phase, P.CATCHING_UP);
  m.hub({ type: 'subscribed', topic: 'board', department_id: 1, since: 6 });
  assert.equal(m.state.phase, P.FOLLOWING);
  assert.deepEqual(m.statuses(), ['live']);
  m.hub(boardEvent(7));
  assert.equal(m.state.lastSeq, 7);
});

test('catching up may be answered with a snapshot instead (the hub could not replay)', () => {
  const m = liveBoard();
  m.hub(boardEvent(8)); // gap
  m.hub(boardSnapshot(20));
  assert.equal(m.state.phase, P.FOLLOWING);
  assert.equal(m.state.lastSeq, 20);
});

test('heartbeat: a top at or below ours proves; a top not filled by the next heartbeat is a gap', () => {
  const m = liveBoard();
  m.at(20_000).hub(heartbeat(5));
  assert.equal(m.state.lastProof, T0 + 20_000);
  m.hub(heartbeat(6)); // pending: an event should bring it
  assert.equal(m.state.pendingTop, 6);
  m.hub(boardEvent(6));
  assert.equal(m.state.pendingTop, null);
  m.hub(heartbeat(7));
  m.hub(heartbeat(8)); // 7 never came
  assert.equal(m.state.phase, P.CATCHING_UP);
  assert.equal(m.sent()[0].since, 6);
});

test('heartbeat: another topic\'s heartbeat is not ours; an older hub\'s tops object is read', () => {
  const m = liveBoard();
  m.at(20_000).hub(heartbeat(99, 'board', 2));
  m.hub(heartbeat(99, 'chart', 1));
  assert.equal(m.state.pendingTop, null);
  assert.equal(m.state.lastProof, T0 + 1000);
  m.hub(legacyHeartbeat(5));
  assert.equal(m.state.lastProof, T0 + 20_000);
  m.hub(legacyHeartbeat(6));
  assert.equal(m.state.pendingTop, 6);
});

test('chart: its own heartbeat top is checked like a board\'s (a quiet chart stays live)', () => {
  const m = machine('chart');
  m.feed('start');
  m.feed('open');
  m.hub({ type: 'snapshot', topic: 'chart', encounter_id: 7, seq: 10, chart: { encounter: { version: 3 } } });
  // A quiet chart in a busy department: its top stays at the snapshot's seq, heartbeat after
  // heartbeat, and nothing is sent.
  for (let t = 5_000; t <= 60_000; t += HEARTBEAT_MS) {
    m.at(t).hub(heartbeat(10, 'chart', 7));
    m.feed('tick');
    assert.equal(m.state.shown, 'live');
  }
  assert.deepEqual(m.sent(), []);
  m.at(61_000).hub(heartbeat(14, 'chart', 7)); // an event of this chart at seq 14 should come
  m.hub(chartEvent(14, 4));
  assert.equal(m.state.pendingTop, null);
  m.hub(heartbeat(16, 'chart', 7));
  m.hub(heartbeat(16, 'chart', 7)); // 16 never came: a gap, resubscribe since 14
  assert.equal(m.state.phase, P.CATCHING_UP);
  assert.deepEqual(m.sent(), [{ type: 'subscribe', topic: 'chart', encounter_id: 7, since: 14 }]);
});

test('chart, older hub: versions checked, an unfilled department top verifies quietly (still live)', () => {
  const m = machine('chart');
  m.feed('start');
  m.feed('open');
  m.hub({ type: 'snapshot', topic: 'chart', encounter_id: 7, seq: 10, chart: { encounter: { version: 3 } } });
  assert.equal(m.state.lastVersion, 3);
  m.hub(chartEvent(12, 4));
  assert.equal(m.state.lastVersion, 4);
  assert.equal(m.state.lastSeq, 12);
  m.hub(chartEvent(13, 4)); // duplicate version: covers the seq
  assert.equal(m.state.lastSeq, 13);
  m.hub(legacyHeartbeat(15, 'chart:7'));
  m.hub(legacyHeartbeat(16, 'chart:7'));
  assert.deepEqual(m.sent(), [{ type: 'subscribe', topic: 'chart', encounter_id: 7, since: 13 }]);
  assert.equal(m.state.phase, P.FOLLOWING);
  assert.deepEqual(m.state.verify, { target: 15, since: 13 });
  m.hub({ type: 'subscribed', topic: 'chart', encounter_id: 7, since: 13 });
  assert.equal(m.state.verify, null);
  assert.equal(m.state.lastSeq, 15);
  m.hub(chartEvent(17, 6)); // version gap
  assert.equal(m.state.phase, P.CATCHING_UP);
});

test('chart snapshot without a version fails the apply: reconnect from nothing', () => {
  const m = machine('chart');
  m.feed('start');
  m.feed('open');
  m.hub({ type: 'snapshot', topic: 'chart', encounter_id: 7, seq: 10, chart: {} });
  assert.equal(m.state.phase, P.RECONNECT_WAIT);
  assert.equal(m.state.haveState, false);
  assert.ok(m.types().includes('schedule_reconnect'));
});

test('the page failing to apply an event: state dropped, socket closed, reconnect later', () => {
  const m = liveBoard();
  m.feed('frame', { msg: boardEvent(6) });
  m.feed('apply_failed', { error: new Error('boom') });
  assert.deepEqual(m.types(), ['log', 'close_socket', 'status', 'schedule_reconnect']);
  assert.equal(m.state.lastSeq, 0);
  assert.equal(m.state.haveState, false);
  assert.equal(m.state.detail, 'could not apply an update');
});

test('silence: nothing heard for 3 heartbeats (SILENCE_MS) drops the socket; not live since the last frame', () => {
  assert.equal(SILENCE_MS, 3 * HEARTBEAT_MS);
  assert.equal(HEARTBEAT_MS, 5_000);
  const m = liveBoard();
  m.at(1000 + SILENCE_MS).feed('tick');
  assert.equal(m.state.phase, P.FOLLOWING);
  m.at(1000 + SILENCE_MS + 1000).feed('tick');
  assert.equal(m.state.phase, P.RECONNECT_WAIT);
  assert.deepEqual(m.types().filter((t) => t !== 'log'), ['close_socket', 'status', 'schedule_reconnect']);
  const s = statusOf(m.state);
  assert.equal(s.state, 'stale'); // silently dead for SILENCE_MS already: red at once
  assert.equal(s.since.getTime(), T0 + 1000);
  assert.equal(s.detail, 'no answer from the server');
});

test('reconnect: the timer opens a new socket; a resume subscribes with since and stays not live until answered', () => {
  const m = liveBoard();
  m.hub(boardEvent(6));
  m.at(2000).feed('close', { code: 1006 });
  assert.equal(m.state.phase, P.RECONNECT_WAIT);
  assert.deepEqual(m.effects.find((e) => e.type === 'schedule_reconnect'), { type: 'schedule_reconnect', delay: reconnectDelay(0, 0.5) });
  assert.ok(!m.types().includes('check_session')); // it had opened
  m.at(2500).feed('reconnect_due');
  assert.equal(m.state.phase, P.CONNECTING);
  m.feed('open');
  assert.equal(m.state.phase, P.CATCHING_UP);
  assert.equal(m.sent()[0].since, 6);
  m.hub({ type: 'subscribed', topic: 'board', department_id: 1, since: 6 });
  assert.deepEqual(m.statuses(), ['live']);
  assert.equal(m.state.attempt, 0);
});

test('backoff grows per failed attempt, capped, with jitter', () => {
  assert.equal(reconnectDelay(0, 0.5), 500);
  assert.equal(reconnectDelay(3, 0.5), 4000);
  assert.equal(reconnectDelay(20, 0.5), BACKOFF_MAX_MS);
  assert.equal(reconnectDelay(0, 0), 350);
  const m = machine();
  m.feed('start');
  m.feed('error');
  m.feed('reconnect_due');
  m.feed('error');
  assert.equal(m.effects.find((e) => e.type === 'schedule_reconnect').delay, 1000);
  m.feed('reconnect_due');
  m.feed('socket_failed', { error: new Error('no') });
  assert.equal(m.effects.find((e) => e.type === 'schedule_reconnect').delay, 2000);
});

test('no answer to subscribe within SUBSCRIBE_TIMEOUT_MS: drop and retry', () => {
  const m = machine();
  m.feed('start');
  m.feed('open');
  m.at(SUBSCRIBE_TIMEOUT_MS).feed('frame', { msg: { type: 'pong' } });
  m.at(SUBSCRIBE_TIMEOUT_MS).feed('tick');
  assert.equal(m.state.phase, P.SUBSCRIBING);
  m.at(SUBSCRIBE_TIMEOUT_MS + 1).feed('tick');
  assert.equal(m.state.phase, P.RECONNECT_WAIT);
  assert.equal(m.state.detail, 'the server did not answer');
});

test('status: reconnecting, then stale after STALE_AFTER_MS; since is the last proof', () => {
  const m = liveBoard();
  m.at(3000).feed('close', { code: 1006 });
  assert.deepEqual(m.statuses(), ['reconnecting']);
  m.at(3000 + STALE_AFTER_MS).feed('tick');
  assert.deepEqual(m.statuses(), []);
  m.at(1000 + SILENCE_MS + 2000 + STALE_AFTER_MS + 1).feed('tick');
  assert.deepEqual(m.statuses(), ['stale']);
  assert.equal(statusOf(m.state).since.getTime(), T0 + 1000); // proven by the snapshot at 1 s
});

test('proof expires: live needs continuity proven within PROOF_MS (heartbeats keep it)', () => {
  const m = liveBoard();
  for (let t = 2000; t <= 1000 + PROOF_MS; t += 4000) {
    m.at(t).hub({ type: 'pong' });
    m.feed('tick');
  }
  assert.equal(m.state.shown, 'live');
  m.at(1000 + PROOF_MS + 1).hub({ type: 'pong' });
  assert.deepEqual(m.statuses(), ['reconnecting']);
  m.at(1000 + PROOF_MS + 2).hub(heartbeat(5));
  assert.deepEqual(m.statuses(), ['live']);
});

test('heartbeats alone keep a quiet board live: nothing is sent, for minutes', () => {
  const m = liveBoard();
  const sent = [];
  for (let t = 1000 + HEARTBEAT_MS; t <= 300_000; t += HEARTBEAT_MS) {
    sent.push(...m.at(t).hub(heartbeat(5)).filter((e) => e.type === 'send'));
    m.feed('tick');
    assert.equal(m.state.shown, 'live', `live at ${t} ms`);
  }
  assert.deepEqual(sent, []);
  assert.throws(() => m.feed('ping'), /unknown input ping/);
});

test('session ended: close 4401 stops for good and signs out', () => {
  const m = liveBoard();
  m.feed('close', { code: 4401 });
  assert.equal(m.state.phase, P.SIGNED_OUT);
  assert.deepEqual(m.types().filter((t) => t !== 'log'), ['tick_timer', 'close_socket', 'status', 'signed_out']);
  assert.equal(statusOf(m.state).state, 'signed_out');
  assert.deepEqual(m.feed('reconnect_due'), []);
  assert.deepEqual(m.feed('tick').filter((e) => e.type !== 'status'), []);
});

test('a refused upgrade asks checkSession (at most once per SESSION_CHECK_MS); signed_out ends', () => {
  const m = machine();
  m.feed('start');
  m.feed('error');
  assert.ok(m.types().includes('check_session'));
  m.feed('reconnect_due');
  m.feed('close', { code: 1006 });
  assert.ok(!m.types().includes('check_session')); // one in flight
  m.feed('session_answer', { answer: 'unknown' });
  m.feed('reconnect_due');
  m.at(SESSION_CHECK_MS - 1).feed('error');
  assert.ok(!m.types().includes('check_session')); // too soon
  m.feed('reconnect_due');
  m.at(SESSION_CHECK_MS).feed('error');
  assert.ok(m.types().includes('check_session'));
  m.feed('session_answer', { answer: 'signed_out' });
  assert.equal(m.state.phase, P.SIGNED_OUT);
  assert.ok(m.types().includes('signed_out'));
});

test('without checkSession no check is asked', () => {
  const m = machine('board', { checkSession: false });
  m.feed('start');
  m.feed('error');
  assert.ok(!m.types().includes('check_session'));
});

test('hub errors: forbidden / not_found end the subscription (refused); others retry; late ones are ignored', () => {
  const m = machine();
  m.feed('start');
  m.feed('open');
  m.hub({ type: 'error', code: 'forbidden', field: null, message: 'no' });
  assert.equal(m.state.phase, P.REFUSED);
  assert.ok(m.types().includes('hub_error'));
  assert.equal(statusOf(m.state).state, 'refused');
  assert.equal(statusOf(m.state).detail, 'not allowed for your role');

  const r = machine();
  r.feed('start');
  r.feed('open');
  r.hub({ type: 'error', code: 'unavailable', field: null, message: 'later' });
  assert.equal(r.state.phase, P.RECONNECT_WAIT);
  assert.equal(r.state.detail, 'the server refused (unavailable)');

  const l = liveBoard();
  assert.deepEqual(l.hub({ type: 'error', code: 'bad_request', field: 'x', message: 'y' }).filter((e) => e.type !== 'log'), []);
  assert.equal(l.state.phase, P.FOLLOWING);
});

test('access_ended while following: the page is told, then refused with nothing held', () => {
  const m = liveBoard();
  m.hub({ type: 'error', code: 'access_ended', field: null, message: 'grant expired' });
  assert.equal(m.state.phase, P.REFUSED);
  assert.equal(m.state.lastSeq, 0);
  const types = m.types();
  assert.ok(types.indexOf('hub_error') < types.indexOf('status'));
});

test('resync: forget everything and subscribe since 0', () => {
  const m = liveBoard();
  m.feed('resync');
  assert.equal(m.state.phase, P.SUBSCRIBING);
  assert.equal(m.sent()[0].since, 0);
  m.hub({ type: 'subscribed', topic: 'board', department_id: 1, since: 0 }); // needs a snapshot
  assert.equal(m.state.phase, P.SUBSCRIBING);
  m.hub(boardSnapshot(9));
  assert.equal(m.state.phase, P.FOLLOWING);
});

test('unreadable frames count as heard but change nothing; a non-object frame fails the apply', () => {
  const m = liveBoard();
  m.at(5000).feed('frame', { unreadable: true });
  assert.equal(m.state.lastHeard, T0 + 5000);
  assert.equal(m.state.phase, P.FOLLOWING);
  m.feed('frame', { msg: null });
  assert.equal(m.state.phase, P.RECONNECT_WAIT);
});

test('close_requested: timers and socket stop, nothing further happens', () => {
  const m = liveBoard();
  m.feed('close_requested');
  assert.deepEqual(m.types(), ['cancel_reconnect', 'tick_timer', 'close_socket']);
  assert.equal(m.state.phase, P.CLOSED);
  for (const type of ['tick', 'reconnect_due', 'open', 'resync']) assert.deepEqual(m.feed(type), []);
  assert.deepEqual(m.feed('session_answer', { answer: 'signed_out' }), []);
});

test('a bad topic or id is refused at once', () => {
  assert.throws(() => initialState({ topic: 'beds', id: 1 }, 0), /unknown topic/);
  assert.throws(() => initialState({ topic: 'board', id: 0 }, 0), /bad board id/);
});

test('events name their topic: a board follows only the board copy of an event', () => {
  const m = liveBoard();
  // The hub writes the same frame to a chart subscription as "topic":"chart".
  assert.deepEqual(m.hub({ ...boardEvent(6), topic: 'chart' }), []);
  assert.equal(m.state.lastSeq, 5);
  assert.deepEqual(m.hub({ ...boardEvent(6), topic: 'board' }).map((e) => e.type), ['event']);
  assert.equal(m.state.lastSeq, 6);
});
