#!/usr/bin/env bash
# load-tests/fault_injection.sh [rounds] [runs]: the long fault-injection run.
#
# Runs services/tests/fault_injection.test.mjs `runs` times in a row (default 5), each with
# `rounds` rounds of every fault (default 3), against the test deployment, which is the one
# with the fault hooks on. Start it first and leave it running:
#   deploy/local/test --keep -R fault_injection
#   load-tests/fault_injection.sh 3 5
# Each run prints its figures (writes acknowledged, events delivered, faults, resyncs, lost,
# duplicated); the script stops at the first failing run. FAULT_CLIENTS and FAULT_WRITERS
# raise the load (defaults 60 clients, 6 writers at about 11 writes/s each).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
state=${EDLIVE_STATE:-$repo/.state/test}
rounds=${1:-3}
runs=${2:-5}
[ -r "$state/env" ] || { echo "no deployment in $state: run deploy/local/test --keep -R fault_injection first" >&2; exit 1; }
set -a
# shellcheck disable=SC1091
. "$state/env"
set +a
for ((i = 1; i <= runs; i++)); do
    echo "=== run $i of $runs ($rounds rounds of faults)"
    out=$(mktemp)
    rc=0
    FAULT_ROUNDS=$rounds node --experimental-websocket --test --test-reporter=spec \
        "$repo/services/tests/fault_injection.test.mjs" >"$out" 2>&1 || rc=$?
    grep -E '^\s*# |✔|✖|Error' "$out" || true
    rm -f "$out"
    [ "$rc" = 0 ] || { echo "run $i FAILED" >&2; exit 1; }
done
echo "all $runs runs passed"
