// SPDX-License-Identifier: MIT
// live.js: one WebSocket subscription to the edlive hub (/ws), applied exactly per
// proto/README.md. The rules are the state machine in live_machine.js (a pure step function);
// connectLive is its driver: socket callbacks and timers in, effects (socket, timers, the
// page's callbacks) out. The page gets a snapshot (replace everything), then only events that are
// proven to follow on from what it has (board: seq == last + 1; chart: version == last + 1).
// Anything else (a gap, an unfilled heartbeat top, silence, a closed socket) makes the status
// leave "live" at once; it only comes back when continuity is proven again. The page sends no
// pings: the hub's heartbeats (every 5 s) are what it listens for.
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

import { initialState, step, statusOf, isEnded, TICK_MS } from './live_machine.js';

export {
  HEARTBEAT_MS,
  SILENCE_MS,
  PROOF_MS,
  STALE_AFTER_MS,
  SUBSCRIBE_TIMEOUT_MS,
  SESSION_CHECK_MS,
  CLOSE_SESSION_ENDED,
} from './live_machine.js';

function defaultUrl() {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${location.host}/ws`;
}

// The driver of live_machine.js: socket callbacks and timers become inputs of step(); its
// effects are performed here, in order.
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
  let state = initialState({ topic, id, checkSession: Boolean(checkSession) }, now());
  let ws = null;
  let reconnectTimer = null;
  let tickTimer = null;

  function input(type, extra = {}) {
    const r = step(state, { type, t: now(), rand: Math.random(), ...extra });
    state = r.state;
    perform(r.effects);
  }

  // Calls a page callback; a failure is logged and changes nothing here.
  function call(name, fn, ...args) {
    try {
      fn(...args);
    } catch (e) {
      console.error(`${name} failed`, e);
    }
  }

  function perform(effects) {
    for (let i = 0; i < effects.length; i++) {
      const e = effects[i];
      if (e.type === 'snapshot' || e.type === 'event') {
        // The page applies the frame; what follows depends on whether it could.
        let failed = null;
        try {
          (e.type === 'snapshot' ? onSnapshot : onEvent)(e.msg);
        } catch (err) {
          failed = err;
        }
        input(failed ? 'apply_failed' : 'applied', failed ? { error: failed } : {});
        continue;
      }
      effect(e);
    }
  }

  function effect(e) {
    switch (e.type) {
      case 'open_socket':
        openSocket();
        return;
      case 'close_socket':
        forgetSocket();
        return;
      case 'send':
        if (ws) ws.send(JSON.stringify(e.msg));
        return;
      case 'tick_timer':
        clearInterval(tickTimer);
        tickTimer = e.on ? setInterval(() => input('tick'), TICK_MS) : null;
        return;
      case 'schedule_reconnect':
        clearTimeout(reconnectTimer);
        reconnectTimer = setTimeout(() => {
          reconnectTimer = null;
          input('reconnect_due');
        }, e.delay);
        return;
      case 'cancel_reconnect':
        clearTimeout(reconnectTimer);
        reconnectTimer = null;
        return;
      case 'hub_error':
        call('onError', onError, e.msg);
        return;
      case 'signed_out':
        if (onSignedOut) call('onSignedOut', onSignedOut);
        return;
      case 'check_session':
        askSession();
        return;
      case 'status':
        call('onStatus', onStatus, e.status);
        return;
      case 'log':
        if (e.error) console[e.level](e.text, e.error);
        else console[e.level](e.text);
        return;
      default:
        throw new Error(`unknown effect ${e.type}`);
    }
  }

  async function askSession() {
    let answer = 'unknown';
    try {
      answer = await checkSession();
    } catch {
      answer = 'unknown';
    }
    input('session_answer', { answer });
  }

  function openSocket() {
    let sock;
    try {
      sock = new WebSocket(url);
    } catch (e) {
      input('socket_failed', { error: e });
      return;
    }
    ws = sock;
    sock.onopen = () => input('open');
    sock.onmessage = (ev) => {
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        input('frame', { unreadable: true });
        return;
      }
      input('frame', { msg });
    };
    sock.onclose = (ev) => input('close', { code: ev && ev.code });
    sock.onerror = () => input('error');
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
  }

  input('start');

  return {
    get seq() {
      return state.lastSeq;
    },
    get version() {
      return state.lastVersion;
    },
    get status() {
      return statusOf(state);
    },
    // 'refused' | 'signed_out' once stopped for good, else null.
    get ended() {
      return isEnded(state);
    },
    // The machine's phase (live_machine.js PHASES), for tests and debugging.
    get phase() {
      return state.phase;
    },
    // Drop everything held and ask for a fresh snapshot.
    resync() {
      input('resync');
    },
    close() {
      input('close_requested');
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
