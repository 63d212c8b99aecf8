// live_protocol.test.mjs: web/js/live.js against a scripted hub (no browser, no services).
// Checks the apply rules of proto/README.md: board events only when seq == last + 1,
// duplicates dropped, a gap or an unfilled heartbeat top resubscribes with the last seq,
// chart continuity by version, silence -> reconnect, and the live / reconnecting / stale status.
//
// Run: node --test web/tests/live_protocol.test.mjs
import { test, mock, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';

let sockets;
let clock;

class FakeWebSocket {
  constructor(url) {
    this.url = url;
    this.sent = [];
    this.closed = false;
    sockets.push(this);
  }
  send(text) {
    this.sent.push(JSON.parse(text));
  }
  close() {
    this.closed = true;
  }
  // helpers for the test
  open() {
    this.onopen?.();
  }
  hub(frame) {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  subscribes() {
    return this.sent.filter((m) => m.type === 'subscribe');
  }
}

const { connectLive } = await import('../js/live.js');

function advance(ms) {
  // in 250 ms steps, so interval timers and our clock move together
  for (let left = ms; left > 0; left -= 250) {
    const step = Math.min(250, left);
    clock += step;
    mock.timers.tick(step);
  }
}

function boardEvent(seq, encounterId = 7, version = seq) {
  return {
    type: 'event',
    department_id: 1,
    seq,
    encounter_id: encounterId,
    version,
    event: 'vitals.recorded',
    at: '2026-11-25T08:10:03Z',
    payload: { encounter: { encounter_id: encounterId, version, department_id: 1, status: 'in_room' } },
  };
}

function board(seq) {
  return { department: { id: 1, code: 'D', name: 'D' }, seq, beds: [], staff: [], encounters: [] };
}

function start(topic = 'board', id = 1) {
  const seen = { snapshots: [], events: [], statuses: [], errors: [] };
  const live = connectLive({
    topic,
    id,
    url: 'ws://test/ws',
    now: () => clock,
    onSnapshot: (m) => seen.snapshots.push(m),
    onEvent: (m) => seen.events.push(m),
    onStatus: (s) => seen.statuses.push(s.state),
    onError: (e) => seen.errors.push(e),
  });
  return { live, seen, state: () => live.status.state };
}

beforeEach(() => {
  sockets = [];
  clock = Date.parse('2026-11-25T08:00:00Z');
  globalThis.WebSocket = FakeWebSocket;
  mock.timers.enable({ apis: ['setInterval', 'setTimeout'] });
});

afterEach(() => {
  mock.timers.reset();
  delete globalThis.WebSocket;
});

test('board: snapshot, in-order events, duplicates, and a gap resubscribes with the last seq', () => {
  const { live, seen, state } = start();
  assert.equal(state(), 'reconnecting');
  const ws = sockets[0];
  ws.open();
  assert.deepEqual(ws.subscribes(), [{ type: 'subscribe', topic: 'board', department_id: 1, since: 0 }]);
  ws.hub({ type: 'snapshot', topic: 'board', department_id: 1, seq: 10, board: board(10) });
  assert.equal(seen.snapshots.length, 1);
  assert.equal(state(), 'live');
  assert.equal(live.seq, 10);

  ws.hub(boardEvent(11));
  ws.hub(boardEvent(11)); // duplicate
  ws.hub(boardEvent(9)); // old duplicate
  assert.deepEqual(seen.events.map((e) => e.seq), [11]);
  assert.equal(live.seq, 11);

  ws.hub(boardEvent(13)); // 12 is missing
  assert.equal(state(), 'reconnecting', 'a gap is not live');
  assert.deepEqual(ws.subscribes().at(-1), { type: 'subscribe', topic: 'board', department_id: 1, since: 11 });
  ws.hub(boardEvent(14)); // still from the old cursor: dropped until the answer
  ws.hub({ type: 'subscribed', topic: 'board', department_id: 1, mode: 'recovered', since: 11 });
  assert.equal(state(), 'live');
  ws.hub(boardEvent(12));
  ws.hub(boardEvent(13));
  ws.hub(boardEvent(14));
  assert.deepEqual(seen.events.map((e) => e.seq), [11, 12, 13, 14]);
  assert.equal(live.seq, 14);
  live.close();
});

test('board: an answer to an older subscribe is not taken as proof', () => {
  const { live, state } = start();
  const ws = sockets[0];
  ws.open();
  ws.hub({ type: 'snapshot', topic: 'board', department_id: 1, seq: 5, board: board(5) });
  ws.hub(boardEvent(7)); // gap: subscribe since 5
  ws.hub({ type: 'subscribed', topic: 'board', department_id: 1, mode: 'recovered', since: 3 });
  assert.equal(state(), 'reconnecting');
  ws.hub({ type: 'subscribed', topic: 'board', department_id: 1, mode: 'recovered', since: 5 });
  assert.equal(state(), 'live');
  live.close();
});

test('board: a heartbeat top that the next heartbeat still finds unfilled resubscribes', () => {
  const { live, seen, state } = start();
  const ws = sockets[0];
  ws.open();
  ws.hub({ type: 'snapshot', topic: 'board', department_id: 1, seq: 20, board: board(20) });
  ws.hub({ type: 'heartbeat', topic: 'board', department_id: 1, top: 20 });
  assert.equal(ws.subscribes().length, 1);
  ws.hub({ type: 'heartbeat', topic: 'board', department_id: 1, top: 21 }); // event 21 may still be on its way
  assert.equal(ws.subscribes().length, 1);
  assert.equal(state(), 'live');
  ws.hub({ type: 'heartbeat', topic: 'board', department_id: 1, top: 21 }); // it never came
  assert.equal(ws.subscribes().length, 2);
  assert.equal(ws.subscribes().at(-1).since, 20);
  assert.equal(state(), 'reconnecting');
  ws.hub({ type: 'subscribed', topic: 'board', department_id: 1, mode: 'recovered', since: 20 });
  ws.hub(boardEvent(21));
  assert.deepEqual(seen.events.map((e) => e.seq), [21]);
  ws.hub({ type: 'heartbeat', topic: 'board', department_id: 1, top: 22 });
  ws.hub(boardEvent(22)); // filled in time
  ws.hub({ type: 'heartbeat', topic: 'board', department_id: 1, top: 22 });
  assert.equal(ws.subscribes().length, 2, 'no resubscribe when the top was filled');
  assert.equal(state(), 'live');
  live.close();
});

test('silence: no frame for 3 heartbeats (15 s) is NOT LIVE at once (since the last frame), reconnects, recovers with since', () => {
  const { live, state } = start();
  const ws = sockets[0];
  ws.open();
  ws.hub({ type: 'snapshot', topic: 'board', department_id: 1, seq: 30, board: board(30) });
  assert.equal(state(), 'live');
  for (let i = 0; i < 12; i++) { // a minute of heartbeats: live, and nothing sent
    advance(5_000);
    ws.hub({ type: 'heartbeat', topic: 'board', department_id: 1, top: 30 });
    assert.equal(state(), 'live');
  }
  assert.ok(!ws.sent.some((m) => m.type === 'ping'), 'the page sends no pings');
  assert.equal(ws.sent.length, 1, 'only its subscribe');
  const lastFrame = clock;
  advance(14_000); // 14 s without a frame: still within 3 heartbeats
  assert.equal(state(), 'live');
  assert.ok(!ws.closed);
  advance(2_000); // 16 s without a frame
  assert.ok(ws.closed, 'the silent socket is closed');
  assert.equal(state(), 'stale', 'a silent connection turns NOT LIVE at once, not 5 s later');
  assert.ok(live.status.since instanceof Date);
  assert.ok(live.status.since.getTime() <= lastFrame, 'not live since the last proof, at or before the last frame heard');
  advance(6_000);
  const again = sockets.at(-1);
  assert.notEqual(again, ws, 'a new socket was opened');
  again.open();
  assert.deepEqual(again.subscribes()[0], { type: 'subscribe', topic: 'board', department_id: 1, since: 30 });
  again.hub({ type: 'subscribed', topic: 'board', department_id: 1, mode: 'recovered', since: 30 });
  assert.equal(state(), 'live');
  live.close();
});

test('a closed socket is reconnected with backoff and never shown live meanwhile', () => {
  const { live, state } = start();
  let ws = sockets[0];
  ws.open();
  ws.hub({ type: 'snapshot', topic: 'board', department_id: 1, seq: 3, board: board(3) });
  ws.onclose();
  assert.equal(state(), 'reconnecting');
  const delays = [];
  for (let i = 0; i < 6; i++) {
    const before = sockets.length;
    let waited = 0;
    while (sockets.length === before && waited < 30_000) {
      advance(250);
      waited += 250;
    }
    delays.push(waited);
    ws = sockets.at(-1);
    ws.onclose(); // fails again at once
  }
  assert.ok(delays[0] <= 750, `first retry soon (${delays[0]} ms)`);
  assert.ok(delays[3] > delays[0], `backoff grows (${delays})`);
  assert.ok(delays.every((d) => d <= 15_000 * 1.3 + 250), `at most 15 s plus jitter (${delays})`);
  assert.equal(state(), 'stale');
  live.close();
});

test('chart: continuity by version; a version gap resubscribes with the last seq', () => {
  const { live, seen, state } = start('chart', 7);
  const ws = sockets[0];
  ws.open();
  assert.deepEqual(ws.subscribes()[0], { type: 'subscribe', topic: 'chart', encounter_id: 7, since: 0 });
  ws.hub({
    type: 'snapshot',
    topic: 'chart',
    encounter_id: 7,
    department_id: 1,
    seq: 50,
    chart: { seq: 50, encounter: { encounter_id: 7, version: 4 }, vitals: [], notes: [] },
  });
  assert.equal(state(), 'live');
  ws.hub(boardEvent(55, 7, 5));
  ws.hub(boardEvent(55, 7, 5)); // duplicate
  assert.deepEqual(seen.events.map((e) => e.version), [5]);
  assert.equal(live.version, 5);
  assert.equal(live.seq, 55);
  ws.hub(boardEvent(60, 7, 7)); // version 6 missing
  assert.equal(state(), 'reconnecting');
  assert.deepEqual(ws.subscribes().at(-1), { type: 'subscribe', topic: 'chart', encounter_id: 7, since: 55 });
  ws.hub({ type: 'subscribed', topic: 'chart', encounter_id: 7, mode: 'recovered', since: 55 });
  ws.hub(boardEvent(58, 7, 6));
  ws.hub(boardEvent(60, 7, 7));
  assert.deepEqual(seen.events.map((e) => e.version), [5, 6, 7]);
  assert.equal(state(), 'live');

  // An older hub's chart top was the department's, running ahead of a chart: a quiet verify,
  // still live.
  const n = ws.subscribes().length;
  ws.hub({ type: 'heartbeat', tops: { 'chart:7': 70 } });
  ws.hub({ type: 'heartbeat', tops: { 'chart:7': 71 } });
  assert.equal(ws.subscribes().length, n + 1);
  assert.equal(ws.subscribes().at(-1).since, 60);
  assert.equal(state(), 'live');
  ws.hub({ type: 'subscribed', topic: 'chart', encounter_id: 7, mode: 'recovered', since: 60 });
  assert.equal(live.seq, 70, 'the verified top is covered');
  assert.equal(state(), 'live');
  live.close();
});

test('hub error for an unknown encounter is reported and not shown live', () => {
  const { live, seen, state } = start('chart', 999);
  const ws = sockets[0];
  ws.open();
  ws.hub({ type: 'error', code: 'not_found', field: 'encounter_id', message: 'no such encounter' });
  assert.equal(seen.errors.length, 1);
  assert.equal(seen.errors[0].code, 'not_found');
  assert.ok(ws.closed);
  assert.notEqual(state(), 'live');
  live.close();
});

test('an update the page cannot apply starts over from a snapshot, after a backoff', () => {
  let fail = true;
  const live = connectLive({
    topic: 'board',
    id: 1,
    url: 'ws://test/ws',
    now: () => clock,
    onSnapshot: () => {},
    onEvent: () => {
      if (fail) throw new Error('render bug');
    },
  });
  const ws = sockets[0];
  ws.open();
  ws.hub({ type: 'snapshot', topic: 'board', department_id: 1, seq: 8, board: board(8) });
  const quiet = console.error;
  console.error = () => {};
  try {
    ws.hub(boardEvent(9));
  } finally {
    console.error = quiet;
  }
  assert.ok(ws.closed, 'the socket is dropped');
  assert.notEqual(live.status.state, 'live');
  assert.equal(sockets.length, 1, 'not at once');
  advance(1_000);
  const again = sockets.at(-1);
  assert.notEqual(again, ws);
  fail = false;
  again.open();
  assert.equal(again.subscribes()[0].since, 0, 'asks for a snapshot');
  live.close();
});

test('close code 4401: signed out at once, never reconnects', () => {
  let signedOut = 0;
  const live = connectLive({
    topic: 'board',
    id: 1,
    url: 'ws://test/ws',
    now: () => clock,
    onSnapshot: () => {},
    onEvent: () => {},
    onSignedOut: () => signedOut++,
  });
  const ws = sockets[0];
  ws.open();
  ws.hub({ type: 'snapshot', topic: 'board', department_id: 1, seq: 4, board: board(4) });
  assert.equal(live.status.state, 'live');
  ws.onclose({ code: 4401 });
  assert.equal(signedOut, 1);
  assert.equal(live.status.state, 'signed_out');
  assert.equal(live.ended, 'signed_out');
  advance(60_000);
  assert.equal(sockets.length, 1, 'no reconnect after the session ended');
  assert.equal(signedOut, 1);
  live.close();
});

test('a refused upgrade asks about the session: 401 signs out, otherwise it keeps retrying', async () => {
  for (const answer of ['signed_out', 'ok']) {
    sockets = [];
    let checks = 0;
    let signedOut = 0;
    const live = connectLive({
      topic: 'board',
      id: 1,
      url: 'ws://test/ws',
      now: () => clock,
      onSnapshot: () => {},
      onEvent: () => {},
      onSignedOut: () => signedOut++,
      checkSession: async () => {
        checks++;
        return answer;
      },
    });
    sockets[0].onerror(); // the upgrade failed: never opened
    await Promise.resolve();
    await Promise.resolve();
    assert.equal(checks, 1);
    if (answer === 'signed_out') {
      assert.equal(signedOut, 1);
      assert.equal(live.status.state, 'signed_out');
      advance(60_000);
      assert.equal(sockets.length, 1, 'no reconnect');
    } else {
      assert.equal(signedOut, 0);
      advance(2_000);
      assert.equal(sockets.length, 2, 'still signed in: reconnects');
      sockets[1].onclose({ code: 1006 });
      await Promise.resolve();
      assert.equal(checks, 1, 'the session is not asked again within SESSION_CHECK_MS');
      // a socket that was open and then lost asks nothing
      advance(5_000);
      const ws = sockets.at(-1);
      ws.open();
      ws.onclose({ code: 1006 });
      advance(40_000);
      await Promise.resolve();
    }
    live.close();
  }
});

test('forbidden and access_ended stop the subscription and clear what it held', () => {
  for (const code of ['forbidden', 'access_ended']) {
    sockets = [];
    const { live, seen } = start('chart', 7);
    const ws = sockets[0];
    ws.open();
    ws.hub({
      type: 'snapshot',
      topic: 'chart',
      encounter_id: 7,
      department_id: 1,
      seq: 9,
      chart: { seq: 9, encounter: { encounter_id: 7, version: 2 }, vitals: [], notes: [] },
    });
    if (code === 'access_ended') assert.equal(live.status.state, 'live');
    // forbidden answers a subscribe; access_ended arrives on its own while subscribed
    if (code === 'forbidden') ws.hub(boardEvent(12, 7, 4)); // gap: resubscribe, awaiting
    ws.hub({ type: 'error', code, field: 'encounter_id', message: 'no' });
    assert.deepEqual(seen.errors.map((e) => e.code), [code]);
    assert.equal(live.status.state, 'refused');
    assert.ok(ws.closed);
    advance(60_000);
    assert.equal(sockets.length, 1, 'no reconnect');
    live.close();
  }
});
