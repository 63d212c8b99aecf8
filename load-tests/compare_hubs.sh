#!/usr/bin/env bash
# load-tests/compare_hubs.sh [clients=200] [writes/s=20] [seconds=10]
#
# Runs load-tests/ws_fanout.mjs against ed-hub, then against the reference Node hub
# (load-tests/node_ws_hub/hub.mjs, started and stopped here by its PID), and prints one table:
# delivery (lost/duplicated/out of order), latency, the hub's CPU seconds over the run, its RSS
# before and at peak (sampled every 0.1 s from /proc), the load generator's CPU seconds, how busy
# the whole machine was (all cores, /proc/stat) and how many warn/error lines the hub logged.
# Needs a running deploy/local/up (its state folder: EDLIVE_STATE, default .state/local).
# Settings: NODE_HUB_PORT (8582), COMPARE_RAW (folder for the raw outputs; default a temp folder).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(dirname "$here")
state=${EDLIVE_STATE:-$repo/.state/local}
clients=${1:-200} rate=${2:-20} seconds=${3:-10}
node_port=${NODE_HUB_PORT:-8582}
die() { printf 'compare_hubs: %s\n' "$*" >&2; exit 1; }

[ -r "$state/env" ] || die "no deployment in $state (run deploy/local/up first)"
# shellcheck source=/dev/null
. "$state/env"
raw=${COMPARE_RAW:-$(mktemp -d /tmp/compare_hubs.XXXXXX)}
mkdir -p "$raw"

# ed-hub's PID from the deployment's pid file, checked against /proc like deploy/local/lib.sh does.
hub_pid=$(head -n1 "$state/run/hub.pid" 2>/dev/null | tr -dc 0-9) || true
if [ -z "$hub_pid" ] || ! tr '\0' ' ' <"/proc/$hub_pid/cmdline" 2>/dev/null | grep -q ed-hub; then
    die "ed-hub is not running (no live PID in $state/run/hub.pid): deploy/local/svc start hub"
fi

node_pid=''
# shellcheck disable=SC2317 # called by the trap
cleanup() { [ -z "$node_pid" ] || kill "$node_pid" 2>/dev/null || true; }
trap cleanup EXIT

if [ ! -d "$here/node_ws_hub/node_modules" ]; then
    (cd "$here/node_ws_hub" && npm ci --no-audit --no-fund --loglevel=error) >&2
fi

tck=$(getconf CLK_TCK)
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12 + $13 }'; } # utime + stime
cpu_all() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $5 + $6 }' /proc/stat; } # busy idle (jiffies)
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

# Samples the hub's RSS (max) and the load generator's CPU (last seen) every 0.1 s until $3 exists.
sampler() {
    local hub=$1 gen=$2 stop=$3 peak=0 r g genlast=0
    while [ ! -e "$stop" ]; do
        r=$(rss_kb "$hub") && [ -n "$r" ] && [ "$r" -gt "$peak" ] && peak=$r
        g=$(cpu_ticks "$gen") && [ -n "$g" ] && genlast=$g
        sleep 0.1
    done
    echo "$peak $genlast"
}

rows=()
failed=0
# run LABEL PID URL LOGFILE
run() {
    local label=$1 pid=$2 url=$3 log=$4 out=$raw/$1.out stop=$raw/$1.stop cpu0 cpu1 rss0 t0 t1 gen rc
    local loglines0 logwarn m0 m1
    rm -f "$stop"
    loglines0=$(wc -l <"$log")
    cpu0=$(cpu_ticks "$pid") rss0=$(rss_kb "$pid") t0=$(date +%s.%N) m0=$(cpu_all)
    EDLIVE_HUB_URL=$url node --experimental-websocket "$here/ws_fanout.mjs" "$clients" "$rate" "$seconds" \
        >"$out" 2>&1 &
    gen=$!
    sampler "$pid" "$gen" "$stop" >"$raw/$label.samples" &
    local sp=$!
    rc=0
    wait "$gen" || rc=$?
    cpu1=$(cpu_ticks "$pid") t1=$(date +%s.%N) m1=$(cpu_all)
    touch "$stop"
    wait "$sp"
    read -r peak genticks <"$raw/$label.samples"
    logwarn=$(tail -n +"$((loglines0 + 1))" "$log" | grep -Eci ' (warn|warning|error|fatal)[: ]' || true)
    if [ "$rc" != 0 ] && [ "$rc" != 1 ] || ! grep -q '"latency_ms"' "$out"; then
        failed=1
        printf '%s: ws_fanout failed (exit %s); its output:\n' "$label" "$rc" >&2
        sed 's/^/  | /' "$out" >&2
        rows+=("| $label | $clients | $rate | failed (exit $rc) | | | | | | | |")
        return
    fi
    [ "$rc" = 0 ] || failed=1
    # shellcheck disable=SC2016 # JavaScript, not shell
    rows+=("$(sed -n '/^{/,$p' "$out" | node -e '
        const [label, rate, cpu, wall, rss0, peak, gen, logwarn, busy] = process.argv.slice(1);
        const r = JSON.parse(require("fs").readFileSync(0, "utf8"));
        const l = r.latency_ms, mb = (kb) => (kb / 1024).toFixed(0);
        console.log(`| ${label} | ${r.clients} | ${rate} (${r.writes} writes) | ${r.deliveries}/${r.expected} | ` +
            `${r.lost}/${r.duplicated}/${r.out_of_order} | ${l.p50} / ${l.p95} / ${l.p99} / ${l.max} | ` +
            `${cpu} s (${(100 * cpu / wall).toFixed(0)}% of ${(+wall).toFixed(1)} s) | ${mb(rss0)} → ${mb(peak)} MB | ` +
            `${gen} s | ${busy}% | ${logwarn} |`);
    ' "$label" "$rate" "$(awk -v a="$cpu0" -v b="$cpu1" -v t="$tck" 'BEGIN { printf "%.2f", (b - a) / t }')" \
        "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" "$rss0" "$peak" \
        "$(awk -v g="$genticks" -v t="$tck" 'BEGIN { printf "%.1f", g / t }')" "$logwarn" \
        "$(echo "$m0 $m1" | awk '{ printf "%.0f", 100 * ($3 - $1) / ($3 - $1 + $4 - $2) }')")")
}

echo "ed-hub (PID $hub_pid, $EDLIVE_HUB_URL): $clients clients, $rate writes/s, $seconds s" >&2
run ed-hub "$hub_pid" "$EDLIVE_HUB_URL" "$EDLIVE_LOGS/hub.log"
sleep 1

NODE_HUB_PORT=$node_port node "$here/node_ws_hub/hub.mjs" >"$raw/node-hub.log" 2>&1 &
node_pid=$!
for _ in $(seq 50); do
    grep -q 'node ws hub on' "$raw/node-hub.log" && break
    kill -0 "$node_pid" 2>/dev/null || { cat "$raw/node-hub.log" >&2; die "the Node hub did not start"; }
    sleep 0.1
done
echo "node ws hub (PID $node_pid, ws://127.0.0.1:$node_port/ws): $clients clients, $rate writes/s, $seconds s" >&2
run node-ws "$node_pid" "ws://127.0.0.1:$node_port/ws" "$raw/node-hub.log"
kill "$node_pid" 2>/dev/null || true
wait "$node_pid" 2>/dev/null || true
node_pid=''

echo
echo "| hub | clients | writes/s | deliveries | lost/dup/ooo | latency ms p50 / p95 / p99 / max | hub CPU | hub RSS before → peak | load gen CPU | machine busy | hub log warnings |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo
echo "raw outputs: $raw" >&2
exit "$failed"
