#!/usr/bin/env python3
"""edload's WebSocket client against a scripted hub (no deployment): the handshake and its
accept check, a snapshot fragmented over three frames whose first has a 64-bit length, a PING
that must be answered with the same payload, events with the envelope before and after the
payload, one whose type is escaped (the full-parse fallback), millisecond `at` times and a
heartbeat. Fails unless edload's JSON shows every event delivered once, in order, with a
commit-to-screen sample each, and every connection answered the PING."""
import base64, hashlib, json, os, socket, struct, subprocess, sys, tempfile, threading, time

EDLOAD = sys.argv[1]
CLIENTS, EVENTS, FIRST_SEQ = 3, 20, 10
pongs_ok, problems = [], []


def read_exact(conn, n):
    data = b''
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def read_client_frame(conn):
    b0, b1 = read_exact(conn, 2)
    if not b1 & 0x80:
        problems.append('a client frame was not masked')
    n = b1 & 0x7f
    if n == 126:
        n = struct.unpack('>H', read_exact(conn, 2))[0]
    elif n == 127:
        n = struct.unpack('>Q', read_exact(conn, 8))[0]
    mask = read_exact(conn, 4)
    data = bytes(c ^ mask[i % 4] for i, c in enumerate(read_exact(conn, n)))
    return b0 & 0x0f, data


def frame(opcode, payload, fin=True, force64=False):
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    if force64 or n > 0xffff:
        head += bytes([127]) + struct.pack('>Q', n)
    elif n >= 126:
        head += bytes([126]) + struct.pack('>H', n)
    else:
        head += bytes([n])
    return head + payload


def at_now():
    t = time.time()
    return time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(t)) + '.%03dZ' % int(t % 1 * 1000)


def serve(conn):
    try:
        req = b''
        while b'\r\n\r\n' not in req:
            req += conn.recv(4096)
        key = [l.split(b':', 1)[1].strip() for l in req.split(b'\r\n') if l.lower().startswith(b'sec-websocket-key:')][0]
        accept = base64.b64encode(hashlib.sha1(key + b'258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest())
        conn.sendall(b'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
                     b'Sec-WebSocket-Accept: ' + accept + b'\r\n\r\n')
        op, data = read_client_frame(conn)
        sub = json.loads(data)
        dept = sub['department_id']
        if sub != {'type': 'subscribe', 'topic': 'board', 'department_id': dept, 'since': 0}:
            problems.append(f'unexpected subscribe {sub}')
        snap = json.dumps({'type': 'snapshot', 'topic': 'board', 'department_id': dept, 'seq': FIRST_SEQ,
                           'board': {'pad': 'x' * 70000, 'seq': 999}}).encode()
        conn.sendall(frame(1, snap[:66000], fin=False, force64=True) + frame(0, snap[66000:67000], fin=False)
                     + frame(9, b'hi') + frame(0, snap[67000:]))
        op, data = read_client_frame(conn)
        if (op, data) == (10, b'hi'):
            pongs_ok.append(1)
        else:
            problems.append(f'PING answered with opcode {op} {data!r}')
        out = b''
        for i in range(EVENTS):
            seq = FIRST_SEQ + 1 + i
            env = {'type': 'event', 'department_id': dept, 'seq': seq, 'encounter_id': 7, 'version': seq, 'at': at_now()}
            payload = {'event': 'vitals.recorded', 'payload': {'encounter': {'seq': 1, 'type': 'x', 'note': 'a "}" b'}}}
            text = json.dumps({**payload, **env} if i % 2 else {**env, **payload})
            if i == 5:
                text = text.replace('"type": "event"', '"type": "ev\\u0065nt"')
            out += frame(1, text.encode())
        out += frame(1, json.dumps({'type': 'heartbeat', 'tops': {f'board:{dept}': FIRST_SEQ + EVENTS}}).encode())
        conn.sendall(out)
        while True:  # until edload closes
            op, data = read_client_frame(conn)
            if op == 8:
                break
    except (EOFError, ConnectionError):
        pass
    finally:
        conn.close()


listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(('127.0.0.1', 0))
listener.listen(16)
port = listener.getsockname()[1]


def accept_loop():
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


threading.Thread(target=accept_loop, daemon=True).start()
with tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, 'r.json')
    run = subprocess.run([EDLOAD, '--no-api', '--hub', f'ws://127.0.0.1:{port}/ws', '--clients', str(CLIENTS),
                          '--departments', '2', '--seconds', '1', '--drain-seconds', '5', '--json', out],
                         timeout=60)
    if run.returncode != 0:
        sys.exit(f'FAIL: edload exited {run.returncode}')
    r = json.load(open(out))
d = r['deliveries']
want = CLIENTS * EVENTS
checks = [
    (r['connect']['subscribed'] == CLIENTS, f"{r['connect']['subscribed']} subscribed"),
    (d['expected'] == want and d['delivered'] == want, f"delivered {d['delivered']} of {d['expected']}, want {want}"),
    (d['lost'] == d['duplicated'] == d['out_of_order'] == 0, f'lost/dup/ooo {d}'),
    (d['all_caught_up'], 'not caught up'),
    (r['latency']['commit_to_screen']['count'] == want, f"commit-to-screen samples {r['latency']['commit_to_screen']['count']}"),
    (r['frames']['full_parses'] >= CLIENTS, f"full parses {r['frames']['full_parses']}"),
    (r['frames']['snapshots'] == CLIENTS, f"snapshots {r['frames']['snapshots']}"),
    (r['errors'] == {}, f"errors {r['errors']}"),
    (len(pongs_ok) == CLIENTS, f'{len(pongs_ok)} PONGs of {CLIENTS}'),
    (not problems, '; '.join(problems)),
]
failed = [why for ok, why in checks if not ok]
if failed:
    sys.exit('FAIL: ' + '; '.join(failed))
print(f'ok: {want} events through fragmented, 64-bit-length and escaped frames; {CLIENTS} PONGs')
