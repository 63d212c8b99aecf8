// SPDX-License-Identifier: MIT
// live_machine.js: the state machine behind live.js's connectLive, as pure data and one pure
// function (no DOM, no WebSocket, no timers, no clock): step(state, input) -> {state, effects}.
// live.js is the driver: it turns socket callbacks and timers into inputs, and performs the
// effects (open the socket, send, schedule a timer, call the page). The rules are those of
// proto/README.md and proto/GUARANTEES.md: a snapshot replaces everything; an event is applied
// only when it provably follows what is held (board: seq == last + 1; chart: version ==
// last + 1); anything else (a gap, an unfilled heartbeat top, silence, a closed socket) makes
// the status leave "live" at once, and it only comes back when continuity is proven again.
//
// Phases (state.phase), the socket's life; what the page is shown (state.shown: live,
// reconnecting, stale, refused, signed_out) follows from the phase and the clock (evaluate):
//
//   connecting ──open──> subscribing ──snapshot──> following <──answer── catching_up
//       ^                    │                        │  gap, unfilled top ──────^
//       │                    └─ error, close, silence, no answer ─> reconnect_wait
//       └──────────────────────── reconnect_due ──────────────────────────┘
//   any ── session ended (4401, or checkSession says so) ──> signed_out (final)
//   any ── forbidden / not_found / access_ended ──> refused (final);  close() ──> closed
//
// Liveness (proto/GUARANTEES.md §2): the hub sends a heartbeat for each topic every
// HEARTBEAT_MS; the page sends nothing (no pings) and treats SILENCE_MS (3 heartbeats) without
// any frame as a dead connection.
//
// Inputs ({type, t, ...}; t is the time in ms): start, open, socket_failed, close {code},
// error, frame {msg} (parsed JSON, or unreadable: true), applied, apply_failed {error}, tick,
// reconnect_due, session_answer {answer}, resync, close_requested.
// Effects ({type, ...}): open_socket, close_socket, send {msg}, tick_timer
// {on}, schedule_reconnect {delay}, cancel_reconnect, snapshot {msg}, event {msg} (the page
// applies it; the driver answers with applied or apply_failed; the page may call close() or
// resync() from inside its callback, which are then stepped first),
// hub_error {msg}, signed_out, check_session, status {status}, log {level, text}.

export const HEARTBEAT_MS = 5_000; // the hub's heartbeat period, per topic
export const SILENCE_MS = 3 * HEARTBEAT_MS; // nothing heard for longer: not live, reconnect
export const PROOF_MS = 25_000; // "live" needs continuity proven at most this long ago
export const STALE_AFTER_MS = 5_000; // not live for longer than this: shown as stale (red)
export const SUBSCRIBE_TIMEOUT_MS = 10_000; // no answer to subscribe: reconnect
export const SESSION_CHECK_MS = 30_000; // a failed upgrade asks checkSession() at most this often
export const CLOSE_SESSION_ENDED = 4401; // the hub's close code for a session that ended
export const BACKOFF_MIN_MS = 500;
export const BACKOFF_MAX_MS = 15_000;
export const TICK_MS = 1_000;
// Hub errors that end a subscription for good: retrying cannot help.
const FINAL_ERRORS = new Set(['forbidden', 'not_found', 'access_ended']);

export const PHASES = Object.freeze({
  CONNECTING: 'connecting', // a socket is opening
  SUBSCRIBING: 'subscribing', // open; subscribe sent with nothing held (since 0): a snapshot comes
  CATCHING_UP: 'catching_up', // open; subscribe sent with since = the last seq held (a gap, a resume)
  FOLLOWING: 'following', // open and confirmed: events are applied as they come
  RECONNECT_WAIT: 'reconnect_wait', // no socket; a reconnect is scheduled
  REFUSED: 'refused', // the hub refused the topic: final
  SIGNED_OUT: 'signed_out', // the session is over: final
  CLOSED: 'closed', // the page closed the subscription
});
const P = PHASES;
const SOCKET = new Set([P.CONNECTING, P.SUBSCRIBING, P.CATCHING_UP, P.FOLLOWING]);
const OPEN = new Set([P.SUBSCRIBING, P.CATCHING_UP, P.FOLLOWING]);
const AWAITING = new Set([P.SUBSCRIBING, P.CATCHING_UP]);
const STOPPED = new Set([P.REFUSED, P.SIGNED_OUT, P.CLOSED]);

// The state before start: {topic: 'board'|'chart', id, checkSession: whether the page can
// ask whether the session is still valid}, at time t.
export function initialState({ topic, id, checkSession = false }, t) {
  if (topic !== 'board' && topic !== 'chart') throw new Error(`unknown topic ${topic}`);
  if (!Number.isInteger(id) || id < 1) throw new Error(`bad ${topic} id ${id}`);
  return {
    topic,
    id,
    idField: topic === 'board' ? 'department_id' : 'encounter_id',
    topKey: `${topic}:${id}`,
    canCheckSession: Boolean(checkSession),
    phase: P.RECONNECT_WAIT,
    reconnectPending: false,
    attempt: 0,
    haveState: false, // a snapshot has been applied at least once
    lastSeq: 0, // last department seq applied (board) / covered (chart)
    lastVersion: 0, // chart: the encounter version held
    pendingTop: null, // a heartbeat top above lastSeq, to be filled by the next heartbeat
    awaitingSince: 0, // the since of the subscribe in flight
    awaitingAt: 0,
    verify: null, // chart only: {target, since} of a quiet resubscribe checking nothing was skipped
    delivering: null, // a frame handed to the page: {kind, msg}, until applied / apply_failed
    lastHeard: 0,
    lastProof: 0,
    notLiveSince: t,
    shown: null, // what the page was last told: live | reconnecting | stale | refused | signed_out
    detail: 'connecting to the server',
    lastSessionCheck: -Infinity,
    checkingSession: false,
  };
}

export const isOpen = (s) => OPEN.has(s.phase);
export const isEnded = (s) => (s.phase === P.REFUSED || s.phase === P.SIGNED_OUT ? s.phase : null);

// What onStatus gets: since is, while not live, the last moment continuity was proven (what is
// on screen is known to be right up to then), or when we started if it never was.
export function statusOf(s) {
  const since =
    s.notLiveSince === null ? null : new Date(s.lastProof && s.lastProof < s.notLiveSince ? s.lastProof : s.notLiveSince);
  return { state: s.shown, since, seq: s.lastSeq, version: s.lastVersion, detail: s.detail };
}

// The delay before reconnect attempt number attempt (0, 1, ...): exponential with +-30 %
// jitter (rand in [0, 1)).
export function reconnectDelay(attempt, rand) {
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** attempt);
  return Math.round(base * (0.7 + rand * 0.6));
}

// One step. state is not changed; the returned state is a new object.
export function step(state, input) {
  const m = new Step(state, input);
  m.run();
  return { state: m.s, effects: m.effects };
}

class Step {
  constructor(state, input) {
    this.s = { ...state };
    this.in = input;
    this.t = input.t;
    this.effects = [];
  }

  emit(effect) {
    this.effects.push(effect);
  }

  log(level, text) {
    this.emit({ type: 'log', level, text: `edlive ${this.s.topKey}: ${text}` });
  }

  run() {
    const s = this.s;
    const i = this.in;
    if (s.phase === P.CLOSED) return;
    switch (i.type) {
      case 'start':
        this.evaluate();
        this.connect();
        this.emit({ type: 'tick_timer', on: true });
        return;
      case 'reconnect_due':
        s.reconnectPending = false;
        this.connect();
        return;
      case 'socket_failed':
        this.emit({ type: 'log', level: 'error', text: 'WebSocket failed', error: i.error });
        s.phase = P.RECONNECT_WAIT;
        this.scheduleReconnect();
        return;
      case 'open':
        if (s.phase !== P.CONNECTING) return;
        s.lastHeard = this.t;
        s.phase = P.FOLLOWING; // subscribe() makes it subscribing / catching_up
        this.subscribe('waiting for the server');
        return;
      case 'close': {
        if (!SOCKET.has(s.phase)) return;
        if (i.code === CLOSE_SESSION_ENDED) {
          this.sessionEnded();
          return;
        }
        const opened = isOpen(s);
        this.drop('connection lost');
        if (!opened) this.verifySession();
        return;
      }
      case 'error': {
        if (!SOCKET.has(s.phase)) return;
        const opened = isOpen(s);
        this.drop('cannot reach the server');
        if (!opened) this.verifySession();
        return;
      }
      case 'frame':
        if (!SOCKET.has(s.phase)) return;
        s.lastHeard = this.t;
        if (i.unreadable) {
          this.log('error', 'unreadable frame');
          return;
        }
        if (this.handle(i.msg) !== 'delivering') this.evaluate();
        return;
      case 'applied':
        this.applied();
        this.evaluate();
        return;
      case 'apply_failed':
        this.applyFailed(s.delivering ? s.delivering.msg : null, i.error);
        return;
      case 'tick':
        this.tick();
        return;
      case 'session_answer':
        s.checkingSession = false;
        if (i.answer === 'signed_out') this.sessionEnded();
        return;
      case 'resync':
        s.haveState = false;
        s.lastSeq = 0;
        if (isOpen(s)) this.gap('resync requested');
        return;
      case 'close_requested':
        s.phase = P.CLOSED;
        s.reconnectPending = false;
        this.emit({ type: 'cancel_reconnect' });
        this.emit({ type: 'tick_timer', on: false });
        this.emit({ type: 'close_socket' });
        return;
      default:
        throw new Error(`unknown input ${i.type}`);
    }
  }

  evaluate() {
    const s = this.s;
    const t = this.t;
    const live = s.phase === P.FOLLOWING && s.haveState && t - s.lastProof <= PROOF_MS && t - s.lastHeard <= SILENCE_MS;
    const ended = isEnded(s);
    let next;
    if (ended) {
      if (s.notLiveSince === null) s.notLiveSince = t;
      next = ended;
    } else if (live) {
      s.notLiveSince = null;
      next = 'live';
    } else {
      // Silence is noticed only SILENCE_MS after the last frame: not live since that frame, so
      // a silently dead connection turns red at once instead of STALE_AFTER_MS later.
      if (s.notLiveSince === null) s.notLiveSince = t - s.lastHeard > SILENCE_MS ? s.lastHeard : t;
      next = t - s.notLiveSince > STALE_AFTER_MS ? 'stale' : 'reconnecting';
    }
    if (next !== s.shown) {
      s.shown = next;
      this.emit({ type: 'status', status: statusOf(s) });
    }
  }

  prove() {
    this.s.lastProof = this.t;
  }

  send(msg) {
    if (isOpen(this.s)) this.emit({ type: 'send', msg });
  }

  connect() {
    const s = this.s;
    if (STOPPED.has(s.phase)) return;
    s.detail = 'connecting to the server';
    s.phase = P.CONNECTING;
    s.lastHeard = this.t;
    this.emit({ type: 'open_socket' });
  }

  subscribe(reason) {
    const s = this.s;
    s.awaitingAt = this.t;
    s.awaitingSince = s.haveState ? s.lastSeq : 0;
    s.phase = s.awaitingSince ? P.CATCHING_UP : P.SUBSCRIBING;
    s.pendingTop = null;
    s.detail = reason;
    this.send({ type: 'subscribe', topic: s.topic, [s.idField]: s.id, since: s.awaitingSince });
    this.evaluate();
  }

  // A break in continuity: not live until the hub answers a fresh subscribe.
  gap(reason) {
    this.log('warn', `${reason}; resubscribing since ${this.s.lastSeq}`);
    this.s.verify = null;
    this.subscribe('catching up with missed updates');
  }

  // Forgets the socket entirely (a dead socket may take minutes to report its close).
  forgetSocket() {
    if (SOCKET.has(this.s.phase)) this.emit({ type: 'close_socket' });
    this.s.phase = P.RECONNECT_WAIT;
  }

  drop(reason) {
    const s = this.s;
    this.forgetSocket();
    s.verify = null;
    s.pendingTop = null;
    s.detail = reason;
    this.evaluate();
    this.scheduleReconnect();
  }

  scheduleReconnect() {
    const s = this.s;
    if (STOPPED.has(s.phase) || s.reconnectPending) return;
    const delay = reconnectDelay(s.attempt, this.in.rand ?? 0.5);
    s.attempt++;
    s.reconnectPending = true;
    this.emit({ type: 'schedule_reconnect', delay });
  }

  // No more reconnects: the hub refused the topic, or the session is over.
  stop(kind, reason) {
    const s = this.s;
    if (isEnded(s)) return;
    s.detail = reason;
    if (s.reconnectPending) this.emit({ type: 'cancel_reconnect' });
    s.reconnectPending = false;
    this.emit({ type: 'tick_timer', on: false });
    this.forgetSocket();
    s.phase = kind;
    s.haveState = false;
    this.evaluate();
  }

  sessionEnded() {
    if (isEnded(this.s)) return;
    this.log('warn', 'the session has ended');
    this.stop(P.SIGNED_OUT, 'signed out');
    this.emit({ type: 'signed_out' });
  }

  // An attempt failed before the socket opened: the hub refuses upgrades without a valid
  // session, and a browser cannot tell that from a network failure. Ask the API.
  verifySession() {
    const s = this.s;
    if (!s.canCheckSession || s.checkingSession || STOPPED.has(s.phase)) return;
    if (this.t - s.lastSessionCheck < SESSION_CHECK_MS) return;
    s.lastSessionCheck = this.t;
    s.checkingSession = true;
    this.emit({ type: 'check_session' });
  }

  // A frame the page could not apply (or one that is malformed) leaves our state unproven:
  // start over from a snapshot, after the usual backoff (a page that cannot render must not
  // hammer the hub).
  applyFailed(msg, error) {
    const s = this.s;
    this.emit({ type: 'log', level: 'error', text: `edlive ${s.topKey}: applying ${msg && msg.type} failed`, error });
    s.delivering = null;
    s.haveState = false;
    s.lastSeq = 0;
    s.lastVersion = 0;
    this.drop('could not apply an update');
  }

  deliver(kind, msg) {
    this.s.delivering = { kind, msg };
    this.emit({ type: kind, msg });
    return 'delivering';
  }

  // What follows a frame the page applied.
  applied() {
    const s = this.s;
    const d = s.delivering;
    if (!d) return;
    s.delivering = null;
    const msg = d.msg;
    if (d.kind === 'snapshot') {
      this.confirmSubscription();
      return;
    }
    if (s.topic === 'board') {
      s.lastSeq = msg.seq;
    } else {
      s.lastVersion = msg.version;
      s.lastSeq = Math.max(s.lastSeq, msg.seq);
    }
    this.prove();
    if (s.pendingTop !== null && s.lastSeq >= s.pendingTop) s.pendingTop = null;
  }

  isOurs(msg) {
    return msg.topic === this.s.topic && msg[this.s.idField] === this.s.id;
  }

  handle(msg) {
    const s = this.s;
    if (msg === null || typeof msg !== 'object') {
      this.applyFailed(msg, new Error('not a frame'));
      return 'failed';
    }
    switch (msg.type) {
      case 'snapshot':
        return this.onSnapshot(msg);
      case 'subscribed': {
        if (!this.isOurs(msg)) return null;
        // Answers come in the order we asked; the hub's cursor follows the latest one. An
        // answer to an older request (a since we no longer wait for) changes nothing: any
        // event it replays is a duplicate and is dropped as such.
        if (AWAITING.has(s.phase)) {
          if (msg.since === s.awaitingSince && s.haveState) this.confirmSubscription();
          return null;
        }
        if (s.verify && msg.since === s.verify.since) {
          // Chart: the answer to a quiet verify. The hub now replays every event of this
          // encounter after that seq (each checked by version), so the heartbeat top seen
          // before it is covered.
          s.lastSeq = Math.max(s.lastSeq, s.verify.target);
          s.verify = null;
          this.prove();
        }
        return null;
      }
      case 'event':
        return this.onHubEvent(msg);
      case 'heartbeat':
        this.onHeartbeat(msg);
        return null;
      case 'error':
        this.onHubError(msg);
        return 'failed';
      default:
        return null; // pong, and anything newer
    }
  }

  onSnapshot(msg) {
    const s = this.s;
    if (!this.isOurs(msg)) return null;
    let problem = null;
    let version = null;
    if (!Number.isInteger(msg.seq)) problem = 'snapshot without seq';
    else if (s.topic === 'chart') {
      version = msg.chart && msg.chart.encounter && msg.chart.encounter.version;
      if (!Number.isInteger(version)) problem = 'chart snapshot without version';
    } else if (!msg.board) problem = 'board snapshot without board';
    if (problem) {
      this.applyFailed(msg, new Error(problem));
      return 'failed';
    }
    if (version !== null) s.lastVersion = version;
    s.lastSeq = msg.seq;
    s.haveState = true;
    return this.deliver('snapshot', msg);
  }

  onHubEvent(msg) {
    const s = this.s;
    if (s.phase !== P.FOLLOWING) return null; // from before our (re)subscribe: its answer decides
    // One socket may follow a board and a chart: each copy of an event names its topic.
    if (msg.topic !== undefined && msg.topic !== s.topic) return null;
    if (s.topic === 'board') {
      if (msg.department_id !== s.id) return null;
      if (msg.seq <= s.lastSeq) return null; // duplicate
      if (msg.seq !== s.lastSeq + 1) {
        this.gap(`gap: seq ${msg.seq} after ${s.lastSeq}`);
        return null;
      }
      return this.deliver('event', msg);
    }
    if (msg.encounter_id !== s.id) return null;
    if (msg.version <= s.lastVersion) {
      s.lastSeq = Math.max(s.lastSeq, msg.seq);
      return null; // duplicate
    }
    if (msg.version !== s.lastVersion + 1) {
      this.gap(`gap: version ${msg.version} after ${s.lastVersion}`);
      return null;
    }
    return this.deliver('event', msg);
  }

  // A heartbeat names its topic as subscribe does, with that topic's top: the board's
  // department seq, or a chart's last event of its encounter (or where it started). An older
  // hub sent {tops: {"board:1": top}}, read as well.
  heartbeatTop(msg) {
    const s = this.s;
    if (msg.topic !== undefined) return this.isOurs(msg) ? msg.top : undefined;
    return msg.tops ? msg.tops[s.topKey] : undefined;
  }

  onHeartbeat(msg) {
    const s = this.s;
    if (s.phase !== P.FOLLOWING) return;
    const top = this.heartbeatTop(msg);
    if (!Number.isInteger(top)) return;
    // A chart's top from an older hub was the department's, which a chart's own events rarely
    // reach: checked quietly (below). A named top is the chart's own, checked like a board's.
    const departmentTopForChart = s.topic === 'chart' && msg.topic === undefined;
    if (top <= s.lastSeq) {
      s.pendingTop = null;
      this.prove();
      return;
    }
    if (s.pendingTop !== null && s.lastSeq < s.pendingTop) {
      // The previous heartbeat's top was never filled.
      if (!departmentTopForChart) {
        this.gap(`heartbeat top ${s.pendingTop} not filled (have ${s.lastSeq})`);
      } else {
        // A chart only receives its own encounter's events, so the department top usually
        // runs ahead of it. Ask the hub to replay from our seq (quietly: still live) and
        // take the old top as covered once it answers.
        s.verify = { target: s.pendingTop, since: s.lastSeq };
        this.send({ type: 'subscribe', topic: s.topic, [s.idField]: s.id, since: s.lastSeq });
        s.pendingTop = top; // events keep flowing meanwhile; the version check guards them
        this.prove();
      }
      return;
    }
    if (s.pendingTop !== null) this.prove(); // the previous top was filled
    s.pendingTop = top;
    if (departmentTopForChart) this.prove();
  }

  onHubError(msg) {
    const s = this.s;
    this.log('warn', `hub error ${msg.code} ${msg.field}: ${msg.message}`);
    // An error naming another topic (of another subscription on the socket) is not ours.
    if (msg.topic !== undefined && !this.isOurs(msg)) {
      this.evaluate();
      return;
    }
    // access_ended comes on its own (an emergency-access grant ran out); the others answer
    // our subscribe.
    const final = FINAL_ERRORS.has(msg.code);
    if (!AWAITING.has(s.phase) && msg.code !== 'access_ended') {
      this.evaluate();
      return;
    }
    const reason =
      msg.code === 'not_found'
        ? 'not found'
        : msg.code === 'forbidden'
          ? 'not allowed for your role'
          : msg.code === 'access_ended'
            ? 'emergency access has ended'
            : `the server refused (${msg.code})`;
    if (final) {
      // Nothing held may stay on screen: the page is told first, then we stop.
      s.haveState = false;
      s.lastSeq = 0;
      s.lastVersion = 0;
    }
    this.emit({ type: 'hub_error', msg });
    if (final) this.stop(P.REFUSED, reason);
    else this.drop(reason);
    this.evaluate();
  }

  confirmSubscription() {
    const s = this.s;
    s.phase = P.FOLLOWING;
    s.verify = null;
    s.pendingTop = null;
    s.attempt = 0;
    s.detail = 'live';
    this.prove();
  }

  tick() {
    const s = this.s;
    const t = this.t;
    if (SOCKET.has(s.phase) && t - s.lastHeard > SILENCE_MS) {
      this.log('warn', `nothing heard for ${Math.round((t - s.lastHeard) / 1000)} s; reconnecting`);
      this.drop('no answer from the server');
    } else if (AWAITING.has(s.phase) && t - s.awaitingAt > SUBSCRIBE_TIMEOUT_MS) {
      this.drop('the server did not answer');
    }
    this.evaluate();
  }
}
