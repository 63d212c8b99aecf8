#!/usr/bin/env bash
# integration_edload_smoke: edload against the deployment deploy/local/test started: 50 board
# clients over 2 departments (the Demo ED and one LOADnn edload creates), 5 writes/s of every
# kind for 5 s. Fails unless the JSON parses, deliveries = expected > 0, and nothing was lost,
# duplicated or reordered. Then 2 closed-loop writers for 3 s (every write on a connection that
# was opened with that write waiting): fails if edload woke far more often than it read (the
# writer spin on EPOLLOUT that took up to half a core in load-tests scenario 2). Skipped (77)
# without the deployment's settings.
set -euo pipefail
edload=$1
for v in EDLIVE_API_URL EDLIVE_HUB_URL EDLIVE_PG_OWNER; do
    if [ -z "${!v:-}" ]; then
        echo "SKIP: $v not set; run deploy/local/test to start edlive and run this test"
        exit 77
    fi
done
out=$(mktemp -d)
cleanup() {
    # The demo charge nurse leaves the load's departments again: other tests check her scope.
    psql "$EDLIVE_PG_OWNER" -XAtq -c "DELETE FROM staff_department WHERE department_id IN
        (SELECT id FROM department WHERE code LIKE 'LOAD%')" >/dev/null || true
    rm -rf "$out"
}
trap cleanup EXIT
"$edload" --hub "$EDLIVE_HUB_URL" --api "$EDLIVE_API_URL" --clients 50 --departments 2 \
    --rate 5 --seconds 5 --mix vitals,status,bed --drain-seconds 20 --label smoke \
    --json "$out/result.json" | tee "$out/table.txt"
python3 - "$out/result.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
d, w = r["deliveries"], r["writes"]
problems = []
if r["connect"]["subscribed"] != 50:
    problems.append(f"{r['connect']['subscribed']} of 50 clients subscribed")
if w["ok"] != 25 or w["refused"] or w["failed"]:
    problems.append(f"writes: {w['ok']} ok of 25, {w['refused']} refused, {w['failed']} failed")
for k in ("lost", "duplicated", "out_of_order"):
    if d[k]:
        problems.append(f"{k} = {d[k]}")
if not (d["expected"] > 0 and d["delivered"] == d["expected"]):
    problems.append(f"delivered {d['delivered']} of {d['expected']} expected")
if d["expected_from_writes"] != d["expected"]:
    problems.append(f"expected {d['expected']} but the writes' answers make {d['expected_from_writes']}")
if r["latency"]["write_to_screen"]["count"] != d["delivered"]:
    problems.append("not every delivery was matched to its write")
if problems:
    print("FAIL: " + "; ".join(problems))
    sys.exit(1)
print(f"ok: {d['delivered']} deliveries, write-to-screen p99 {r['latency']['write_to_screen']['p99_ms']:.1f} ms")
PY

# edload's own cost: a wake is an epoll_wait that returned events, and each event is a read, a
# write's answer or a connection coming up. Spinning, it wakes hundreds of thousands of times a
# second for nothing.
"$edload" --hub "$EDLIVE_HUB_URL" --api "$EDLIVE_API_URL" --clients 10 --departments 1 \
    --writers-closed 2 --seconds 3 --mix vitals,status,bed --drain-seconds 20 --label smoke-closed \
    --json "$out/closed.json" >"$out/closed.txt"
python3 - "$out/closed.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
e, w, d = r["edload"], r["writes"], r["deliveries"]
problems = []
if w["ok"] < 10 or w["failed"]:
    problems.append(f"closed loop: {w['ok']} writes ok, {w['failed']} failed")
for k in ("lost", "duplicated", "out_of_order"):
    if d[k]:
        problems.append(f"closed loop: {k} = {d[k]}")
bound = 2 * (e["reads"] + w["sent"]) + 200
if e["wakes"] > bound:
    problems.append(f"edload woke {e['wakes']} times for {e['reads']} reads and {w['sent']} writes (a spin)")
if problems:
    print("FAIL: " + "; ".join(problems))
    sys.exit(1)
print(f"ok: closed loop {w['ok']} writes, edload woke {e['wakes']} times for {e['reads']} reads")
PY
