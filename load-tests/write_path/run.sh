#!/usr/bin/env bash
# load-tests/write_path/run.sh [SECONDS]: the write path (issue 13, target 5). Against a running
# deployment (deploy/local/up; EDLIVE_STATE chooses the state folder, default .state/local):
#   1. pgbench -c 16 -j 2 -T SECONDS -M prepared runs vitals.sql, the statements one vitals POST
#      makes (captured from PostgreSQL's log; README.md here), each client on an encounter of
#      its own, as the API's own role (edlive_app), on the same PostgreSQL;
#   2. edload --writers-closed 16: 16 closed-loop writers, each on its own encounter and
#      keep-alive connection, POST vitals through ed-api for SECONDS.
# Prints one JSON line:
#   {"api_writes_per_s":…, "pgbench_tps":…, "ratio":…, "api_p50_ms":…, "api_p99_ms":…}
# EDLOAD (default build/load-tests/edload/edload) and WRITE_PATH_RAW (a folder for the raw
# outputs; a temp folder by default) may be set.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
seconds=${1:-20}
writers=16
state=${EDLIVE_STATE:-$repo/.state/local}
[ -r "$state/env" ] || { echo "write_path: no deployment at $state (deploy/local/up first)" >&2; exit 2; }
# shellcheck disable=SC1091
. "$state/env"
pgbin=/usr/lib/postgresql/15/bin
edload=${EDLOAD:-$repo/build/load-tests/edload/edload}
[ -x "$edload" ] || { echo "write_path: $edload is not built (cmake --build build)" >&2; exit 2; }
raw=${WRITE_PATH_RAW:-$(mktemp -d)}
mkdir -p "$raw"

api() { # METHOD PATH [BODY]: the answer's body; fails on a non-2xx status
    curl -fsS -X "$1" "$EDLIVE_API_URL$2" -H "authorization: Bearer ${token:-}" \
        -H 'content-type: application/json' ${3:+--data "$3"}
}

# ---- the pgbench side: its own session and encounters, as edload makes its own ----
token=$(api POST /api/v1/session \
    "{\"username\":\"adeyemi\",\"password\":\"$EDLIVE_DEMO_PASSWORD\"}" | jq -r .token)
me=$(api GET /api/v1/session)
staff=$(jq -r .staff_id <<<"$me")
dept=$(jq -r '.departments[0].id' <<<"$me")
token_hash='\x'$(printf '%s' "$token" | sha256sum | cut -d' ' -f1)
account=$("$pgbin/psql" "$EDLIVE_PG_OWNER" -XAtq -c "SELECT id FROM account WHERE username = 'adeyemi'")
cases=""
for ((i = 0; i < writers; i++)); do
    enc=$(api POST "/api/v1/departments/$dept/arrivals" \
        "{\"patient\":{\"mrn\":\"WP-$$-$i\",\"family_name\":\"Edload\",\"given_name\":\"Loadgen\",\"birth_date\":\"1970-01-01\",\"sex\":\"female\"},\"arrival_mode\":\"walk_in\",\"chief_complaint\":\"write path benchmark\"}" |
        jq -r .encounter.encounter_id)
    cases+=" WHEN :client_id = $i THEN $enc"
done
{
    echo "\\set enc CASE$cases ELSE 0 END"
    cat "$here/vitals.sql"
} >"$raw/vitals_bench.sql"
"$pgbin/pgbench" "$EDLIVE_PG" -n -M prepared -c "$writers" -j 2 -T "$seconds" \
    -D token_hash="$token_hash" -D staff="$staff" -D account="$account" -D dept="$dept" \
    -D depts="{$dept}" \
    -f "$raw/vitals_bench.sql" >"$raw/pgbench.txt" 2>"$raw/pgbench.err" || {
    cat "$raw/pgbench.err" >&2
    exit 1
}
pgbench_tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$raw/pgbench.txt" | head -1)

# ---- the API side ----
"$edload" --hub "$EDLIVE_HUB_URL" --api "$EDLIVE_API_URL" --pg "$EDLIVE_PG_OWNER" \
    --clients 0 --departments 1 --writers-closed "$writers" --mix vitals --seconds "$seconds" \
    --json "$raw/edload.json" >"$raw/edload.txt" 2>&1 || {
    tail -20 "$raw/edload.txt" >&2
    exit 1
}
jq -c --argjson pgbench "$pgbench_tps" '
    (.writes.achieved_per_s // .writes_per_s // .achieved_writes_per_s) as $api
    | {api_writes_per_s: $api, pgbench_tps: $pgbench,
       ratio: (if $pgbench > 0 then (($api / $pgbench) * 1000 | round) / 1000 else null end),
       api_p50_ms: (.writes.latency.p50_ms // null), api_p99_ms: (.writes.latency.p99_ms // null)}' \
    "$raw/edload.json"
echo "write_path: raw outputs in $raw" >&2
