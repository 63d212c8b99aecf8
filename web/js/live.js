// SPDX-License-Identifier: MIT
// live.js: one WebSocket subscription to the edlive hub (/ws), applied exactly per
// proto/README.md. The page gets a snapshot (replace everything), then only events that are
// proven to follow on from what it has (board: seq == last + 1; chart: version == last + 1).
// Anything else (a gap, an unfilled heartbeat top, silence, a closed socket) makes the status
// leave "live" at once; it only comes back when continuity is proven again.
//
//   const live = connectLive({topic: 'board', id: 1, onSnapshot, onEvent, onStatus});
//   live.close();
//
// onSnapshot(msg)  msg is the hub's snapshot frame (msg.board or msg.chart): replace all state.
// onEvent(msg)     an in-order event frame: apply msg.payload.
// onStatus(s)      s = {state: 'live'|'reconnecting'|'stale', since: Date|null, seq, version, detail}
//                  'stale' means not live for more than STALE_AFTER_MS; since is the last moment
//                  continuity was proven (null while live).
// onError(err)     optional: a hub error frame answering our subscribe ({code, field, message}),
//                  or an access_ended frame. forbidden / not_found / access_ended are final:
//                  the subscription stops (state 'refused'), nothing more is delivered; the page
//                  shows a message and holds no data. A new connectLive() starts over.
// onSignedOut()    optional: the session is over (the hub closed with 4401, or refused the
//                  upgrade and checkSession() said 'signed_out'). The connection stops for good
//                  (state 'signed_out'); the page must blank itself and go to sign-in.
// checkSession()   optional, async: 'ok' | 'signed_out' | 'unknown'. Asked when a connection
//                  attempt fails before it opened (a refused upgrade looks like a network error
//                  to a browser), at most once per SESSION_CHECK_MS.

export const PING_MS = 4_000; // we ping the hub this often; it answers pong at once
export const DEAD_MS = 8_000; // silence (no frame, no pong) longer than this: not live, reconnect
export const PROOF_MS = 25_000; // "live" needs continuity proven at most this long ago
export const STALE_AFTER_MS = 5_000; // not live for longer than this: shown as stale (red)
export const SUBSCRIBE_TIMEOUT_MS = 10_000; // no answer to subscribe: reconnect
export const SESSION_CHECK_MS = 30_000; // a failed upgrade asks checkSession() at most this often
export const CLOSE_SESSION_ENDED = 4401; // the hub's close code for a session that ended
// Hub errors that end a subscription for good: retrying cannot help.
const FINAL_ERRORS = new Set(['forbidden', 'not_found', 'access_ended']);
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 15_000;
const TICK_MS = 1_000;

function defaultUrl() {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${location.host}/ws`;
}

export function connectLive({
  topic,
  id,
  onSnapshot,
  onEvent,
  onStatus = () => {},
  onError = () => {},
  onSignedOut = null,
  checkSession = null,
  url = defaultUrl(),
  now = () => Date.now(),
}) {
  if (topic !== 'board' && topic !== 'chart') throw new Error(`unknown topic ${topic}`);
  if (!Number.isInteger(id) || id < 1) throw new Error(`bad ${topic} id ${id}`);
  const idField = topic === 'board' ? 'department_id' : 'encounter_id';
  const topKey = `${topic}:${id}`;

  let ws = null;
  let open = false; // socket open
  let subscribed = false; // the hub confirmed our subscription (snapshot or recovered)
  let awaiting = false; // a subscribe is in flight; events until its answer are dropped
  let awaitingSince = 0;
  let awaitingAt = 0;
  let verifying = false; // chart only: a quiet resubscribe to check nothing was skipped
  let verifyTarget = 0;
  let verifySince = 0;
  let haveState = false; // a snapshot has been applied at least once
  let lastSeq = 0; // last department seq applied (board) / covered (chart)
  let lastVersion = 0; // chart: the encounter version we hold
  let pendingTop = null; // a heartbeat top above lastSeq, to be filled by the next heartbeat
  let lastHeard = 0;
  let lastProof = 0;
  let attempt = 0;
  let closed = false;
  let reconnectTimer = null;
  let pingTimer = null;
  let tickTimer = null;
  let state = null;
  let ended = null; // 'refused' | 'signed_out': stopped for good
  let lastSessionCheck = -Infinity;
  let checkingSession = false;
  let notLiveSince = now();
  let detail = 'connecting to the server';

  // since: while not live, the last moment continuity was proven (what is on screen is known
  // to be right up to then), or when we started if it never was.
  function status() {
    const since = notLiveSince === null ? null : new Date(lastProof && lastProof < notLiveSince ? lastProof : notLiveSince);
    return { state, since, seq: lastSeq, version: lastVersion, detail };
  }

  function evaluate() {
    const t = now();
    const live =
      open && subscribed && !awaiting && haveState && t - lastProof <= PROOF_MS && t - lastHeard <= DEAD_MS;
    let next;
    if (ended) {
      if (notLiveSince === null) notLiveSince = t;
      next = ended;
    } else if (live) {
      notLiveSince = null;
      next = 'live';
    } else {
      // Silence is noticed only DEAD_MS after the last frame: not live since that frame, so
      // a silently dead connection turns red at once instead of STALE_AFTER_MS later.
      if (notLiveSince === null) notLiveSince = t - lastHeard > DEAD_MS ? lastHeard : t;
      next = t - notLiveSince > STALE_AFTER_MS ? 'stale' : 'reconnecting';
    }
    if (next !== state) {
      state = next;
      try {
        onStatus(status());
      } catch (e) {
        console.error('onStatus failed', e);
      }
    }
  }

  function prove() {
    lastProof = now();
  }

  function send(obj) {
    if (ws && open) ws.send(JSON.stringify(obj));
  }

  function subscribe(reason) {
    awaiting = true;
    awaitingAt = now();
    awaitingSince = haveState ? lastSeq : 0;
    pendingTop = null;
    detail = reason;
    send({ type: 'subscribe', topic, [idField]: id, since: awaitingSince });
    evaluate();
  }

  // A break in continuity: not live until the hub answers a fresh subscribe.
  function gap(reason) {
    console.warn(`edlive ${topKey}: ${reason}; resubscribing since ${lastSeq}`);
    verifying = false;
    subscribe('catching up with missed updates');
  }

  // Forgets the socket entirely (a dead socket may take minutes to report its close).
  function forgetSocket() {
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try {
        ws.close();
      } catch {
        /* already closed */
      }
    }
    ws = null;
    open = false;
    subscribed = false;
    awaiting = false;
  }

  function drop(reason) {
    forgetSocket();
    verifying = false;
    pendingTop = null;
    detail = reason;
    clearInterval(pingTimer);
    pingTimer = null;
    evaluate();
    scheduleReconnect();
  }

  // No more reconnects: the hub refused the topic, or the session is over.
  function stop(kind, reason) {
    if (ended) return;
    ended = kind;
    closed = true;
    detail = reason;
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    clearInterval(pingTimer);
    clearInterval(tickTimer);
    forgetSocket();
    haveState = false;
    evaluate();
  }

  function sessionEnded() {
    if (ended) return;
    console.warn(`edlive ${topKey}: the session has ended`);
    stop('signed_out', 'signed out');
    if (onSignedOut) {
      try {
        onSignedOut();
      } catch (e) {
        console.error('onSignedOut failed', e);
      }
    }
  }

  // An attempt failed before the socket opened: the hub refuses upgrades without a valid
  // session, and a browser cannot tell that from a network failure. Ask the API.
  async function verifySession() {
    if (!checkSession || checkingSession || closed) return;
    const t = now();
    if (t - lastSessionCheck < SESSION_CHECK_MS) return;
    lastSessionCheck = t;
    checkingSession = true;
    let answer = 'unknown';
    try {
      answer = await checkSession();
    } catch {
      answer = 'unknown';
    } finally {
      checkingSession = false;
    }
    if (answer === 'signed_out') sessionEnded();
  }

  function scheduleReconnect() {
    if (closed || reconnectTimer) return;
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** attempt);
    const delay = Math.round(base * (0.7 + Math.random() * 0.6));
    attempt++;
    reconnectTimer = setTimeout(() => {
      reconnectTimer = null;
      connect();
    }, delay);
  }

  function connect() {
    if (closed) return;
    detail = 'connecting to the server';
    let sock;
    try {
      sock = new WebSocket(url);
    } catch (e) {
      console.error('WebSocket failed', e);
      scheduleReconnect();
      return;
    }
    ws = sock;
    lastHeard = now();
    sock.onopen = () => {
      open = true;
      lastHeard = now();
      subscribe('waiting for the server');
      clearInterval(pingTimer);
      pingTimer = setInterval(() => send({ type: 'ping' }), PING_MS);
    };
    sock.onmessage = (ev) => {
      lastHeard = now();
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        console.error(`edlive ${topKey}: unreadable frame`);
        return;
      }
      try {
        handle(msg);
      } catch (e) {
        // A frame we could not apply leaves our state unproven: start over from a snapshot,
        // after the usual backoff (a page that cannot render must not hammer the hub).
        console.error(`edlive ${topKey}: applying ${msg && msg.type} failed`, e);
        haveState = false;
        lastSeq = 0;
        lastVersion = 0;
        drop('could not apply an update');
        return;
      }
      evaluate();
    };
    sock.onclose = (ev) => {
      if (ev && ev.code === CLOSE_SESSION_ENDED) {
        sessionEnded();
        return;
      }
      const opened = open;
      drop('connection lost');
      if (!opened) verifySession();
    };
    sock.onerror = () => {
      const opened = open;
      drop('cannot reach the server');
      if (!opened) verifySession();
    };
  }

  function isOurs(msg) {
    return msg.topic === topic && msg[idField] === id;
  }

  function handle(msg) {
    switch (msg.type) {
      case 'snapshot': {
        if (!isOurs(msg)) return;
        if (!Number.isInteger(msg.seq)) throw new Error('snapshot without seq');
        if (topic === 'chart') {
          const v = msg.chart && msg.chart.encounter && msg.chart.encounter.version;
          if (!Number.isInteger(v)) throw new Error('chart snapshot without version');
          lastVersion = v;
        } else if (!msg.board) {
          throw new Error('board snapshot without board');
        }
        lastSeq = msg.seq;
        haveState = true;
        onSnapshot(msg);
        confirmSubscription();
        return;
      }
      case 'subscribed': {
        if (!isOurs(msg)) return;
        // Answers come in the order we asked; the hub's cursor follows the latest one. An
        // answer to an older request (a since we no longer wait for) changes nothing: any
        // event it replays is a duplicate and is dropped as such.
        if (awaiting) {
          if (msg.since === awaitingSince && haveState) confirmSubscription();
          return;
        }
        if (verifying && msg.since === verifySince) {
          // Chart: the answer to a quiet verify. The hub now replays every event of this
          // encounter after that seq (each checked by version), so the heartbeat top seen
          // before it is covered.
          verifying = false;
          lastSeq = Math.max(lastSeq, verifyTarget);
          prove();
        }
        return;
      }
      case 'event':
        onHubEvent(msg);
        return;
      case 'heartbeat':
        onHeartbeat(msg);
        return;
      case 'pong':
        return;
      case 'error': {
        console.warn(`edlive ${topKey}: hub error ${msg.code} ${msg.field}: ${msg.message}`);
        // access_ended comes on its own (an emergency-access grant ran out); the others answer
        // our subscribe.
        const final = FINAL_ERRORS.has(msg.code);
        if (!awaiting && msg.code !== 'access_ended') return;
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
          haveState = false;
          lastSeq = 0;
          lastVersion = 0;
        }
        try {
          onError(msg);
        } catch (e) {
          console.error(e);
        }
        if (final) stop('refused', reason);
        else drop(reason);
        return;
      }
      default:
        return;
    }
  }

  function confirmSubscription() {
    awaiting = false;
    verifying = false;
    subscribed = true;
    pendingTop = null;
    attempt = 0;
    detail = 'live';
    prove();
  }

  function onHubEvent(msg) {
    if (awaiting || !subscribed) return; // from before our (re)subscribe: its answer decides
    if (topic === 'board') {
      if (msg.department_id !== id) return;
      if (msg.seq <= lastSeq) return; // duplicate
      if (msg.seq !== lastSeq + 1) {
        gap(`gap: seq ${msg.seq} after ${lastSeq}`);
        return;
      }
      onEvent(msg);
      lastSeq = msg.seq;
      prove();
    } else {
      if (msg.encounter_id !== id) return;
      if (msg.version <= lastVersion) {
        lastSeq = Math.max(lastSeq, msg.seq);
        return; // duplicate
      }
      if (msg.version !== lastVersion + 1) {
        gap(`gap: version ${msg.version} after ${lastVersion}`);
        return;
      }
      onEvent(msg);
      lastVersion = msg.version;
      lastSeq = Math.max(lastSeq, msg.seq);
      prove();
    }
    if (pendingTop !== null && lastSeq >= pendingTop) pendingTop = null;
  }

  function onHeartbeat(msg) {
    if (awaiting || !subscribed || !msg.tops) return;
    const top = msg.tops[topKey];
    if (!Number.isInteger(top)) return;
    if (top <= lastSeq) {
      pendingTop = null;
      prove();
      return;
    }
    if (pendingTop !== null && lastSeq < pendingTop) {
      // The previous heartbeat's top was never filled.
      if (topic === 'board') {
        gap(`heartbeat top ${pendingTop} not filled (have ${lastSeq})`);
      } else {
        // A chart only receives its own encounter's events, so the department top usually
        // runs ahead of it. Ask the hub to replay from our seq (quietly: still live) and
        // take the old top as covered once it answers.
        verifying = true;
        verifyTarget = pendingTop;
        verifySince = lastSeq;
        send({ type: 'subscribe', topic, [idField]: id, since: lastSeq });
        pendingTop = top; // events keep flowing meanwhile; the version check guards them
        prove();
      }
      return;
    }
    if (pendingTop !== null) prove(); // the previous top was filled
    pendingTop = top;
    if (topic === 'chart') prove();
  }

  function tick() {
    const t = now();
    if (ws && t - lastHeard > DEAD_MS) {
      console.warn(`edlive ${topKey}: nothing heard for ${Math.round((t - lastHeard) / 1000)} s; reconnecting`);
      drop('no answer from the server');
    } else if (ws && awaiting && t - awaitingAt > SUBSCRIBE_TIMEOUT_MS) {
      drop('the server did not answer');
    }
    evaluate();
  }

  evaluate();
  connect();
  tickTimer = setInterval(tick, TICK_MS);

  return {
    get seq() {
      return lastSeq;
    },
    get version() {
      return lastVersion;
    },
    get status() {
      return status();
    },
    // 'refused' | 'signed_out' once stopped for good, else null.
    get ended() {
      return ended;
    },
    // Drop everything held and ask for a fresh snapshot.
    resync() {
      haveState = false;
      lastSeq = 0;
      if (open) gap('resync requested');
    },
    close() {
      closed = true;
      clearTimeout(reconnectTimer);
      clearInterval(pingTimer);
      clearInterval(tickTimer);
      forgetSocket();
    },
  };
}

// Renders a status into the banner element (the same look on every page).
// el gets data-live="live|reconnecting|stale" and a class of the same name.
export function renderBanner(el, s, { liveText = 'LIVE' } = {}) {
  el.dataset.live = s.state;
  el.classList.remove('live', 'reconnecting', 'stale', 'refused', 'signed_out');
  el.classList.add(s.state);
  el.setAttribute('role', 'status');
  el.setAttribute('aria-live', s.state === 'live' || s.state === 'reconnecting' ? 'polite' : 'assertive');
  const main = document.createElement('span');
  main.className = 'banner-main';
  const sub = document.createElement('span');
  sub.className = 'banner-sub';
  if (s.state === 'live') {
    main.textContent = `● ${liveText}`;
    sub.textContent = 'updates arrive as they happen';
  } else if (s.state === 'reconnecting') {
    main.textContent = 'Reconnecting…';
    sub.textContent = s.detail && s.detail !== 'live' ? s.detail : '';
  } else if (s.state === 'refused') {
    main.textContent = 'NO ACCESS';
    sub.textContent = s.detail ? `${s.detail} — nothing is shown` : 'nothing is shown';
  } else if (s.state === 'signed_out') {
    main.textContent = 'SIGNED OUT';
    sub.textContent = 'your session has ended';
  } else {
    const since = s.since ? hhmm(s.since) : '';
    main.textContent = `NOT LIVE since ${since}`;
    sub.textContent = `what you see may be out of date${s.detail ? ` (${s.detail})` : ''} — retrying`;
  }
  el.replaceChildren(main, sub);
  document.body.classList.toggle('is-stale', s.state === 'stale' || s.state === 'refused' || s.state === 'signed_out');
  document.body.classList.toggle('is-reconnecting', s.state === 'reconnecting');
}

function hhmm(d) {
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}
