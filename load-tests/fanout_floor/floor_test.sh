#!/usr/bin/env bash
# unit_fanout_floor: fanout_floor against edload --no-api, no deployment: 40 clients over 2
# departments, 50 events/s for 2 s. Fails unless every client subscribed and got every event of
# its department once, in order, each with a millisecond `at` (a commit-to-screen sample), and
# the frames are the ~2.9 KB of ed-hub's vitals events.
set -euo pipefail
floor=$1 edload=$2
work=$(mktemp -d)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$floor" --port "$port" --rate 50 --departments 2 >"$work/floor.log" 2>&1 &
fp=$!
cleanup() { kill "$fp" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
done
"$edload" --hub "ws://127.0.0.1:$port/ws" --no-api --clients 40 --departments 2 --seconds 2 \
    --drain-seconds 5 --json "$work/r.json"
kill "$fp"
wait "$fp" || { echo "FAIL: fanout_floor exited with status $?"; cat "$work/floor.log"; exit 1; }
cat "$work/floor.log"
python3 - "$work/r.json" "$work/floor.log" <<'PY'
import json, re, sys
r = json.load(open(sys.argv[1]))
d = r["deliveries"]
problems = []
if r["connect"]["subscribed"] != 40:
    problems.append(f"{r['connect']['subscribed']} of 40 subscribed")
for k in ("lost", "duplicated", "out_of_order"):
    if d[k]:
        problems.append(f"{k} {d[k]}")
if not (d["delivered"] >= 40 * 40 and d["delivered"] == d["expected"]):
    problems.append(f"delivered {d['delivered']} of {d['expected']} (at least 1600)")
if r["latency"]["commit_to_screen"]["count"] != d["delivered"]:
    problems.append("not every event had a millisecond at")
if r["frames"]["foreign_events"] or r["frames"]["full_parses"]:
    problems.append(f"frames {r['frames']}")
m = re.search(r"(\d+) frames, (\d+) bytes", open(sys.argv[2]).read())
if not m or not 2700 <= int(m.group(2)) / max(int(m.group(1)), 1) <= 3100:
    problems.append(f"frame size: {m.group(0) if m else 'no counts'}")
if problems:
    print("FAIL: " + "; ".join(problems))
    sys.exit(1)
print(f"ok: {d['delivered']} deliveries, commit-to-screen p99 {r['latency']['commit_to_screen']['p99_ms']:.1f} ms")
PY
