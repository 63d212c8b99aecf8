#!/usr/bin/env bash
# A bad setting stops each program before it connects to anything: exit status 2 and a message
# that names the setting and says what it must be. Usage: settings_bad_value.sh BUILD_DIR
set -u
build=$1
failures=0

expect() { # expect <program> <VAR=value | --argument> <message regex>
    local out rc env=() args=()
    if [[ $2 == --* ]]; then args=("$2"); else env=("$2"); fi
    # The message as a person reads it (the text format: JSON would escape its quotes).
    out=$(env -i PATH="$PATH" EDLIVE_LOG_FORMAT=text "${env[@]}" "$build/services/$1" "${args[@]}" 2>&1 </dev/null)
    rc=$?
    if [ "$rc" != 2 ] || ! grep -qE -- "$3" <<<"$out"; then
        echo "FAIL $1 with $2: exit $rc, output: $out"
        failures=$((failures + 1))
    else
        echo "ok   $1 with $2: $(grep -E -- "$3" <<<"$out" | head -n1)"
    fi
}

expect api/ed-api EDLIVE_API_PORT=99999 'EDLIVE_API_PORT=99999: must be a TCP port 1-65535'
expect api/ed-api EDLIVE_FAULT_HOOKS=yes 'EDLIVE_FAULT_HOOKS=yes: must be 0 or 1'
expect api/ed-api EDLIVE_SESSION_IDLE_S=0 'EDLIVE_SESSION_IDLE_S=0: must be an integer 1-86400'
expect hub/ed-hub EDLIVE_LISTEN=localhost 'EDLIVE_LISTEN=localhost is neither an IP address'
expect hub/ed-hub EDLIVE_HUB_MAX_LAG=4096 'EDLIVE_HUB_MAX_LAG=4096: must be an integer 1-4095'
expect hub/ed-hub EDLIVE_REDIS=6379 'EDLIVE_REDIS=6379: must be host:port'
expect hub/ed-hub EDLIVE_REDIS_SENTINELS=127.0.0.1:26379,127.0.0.1 'EDLIVE_REDIS_SENTINELS=127.0.0.1:26379,127.0.0.1: must be comma-separated host:port .*\\?"127.0.0.1\\?" is not host:port'
expect relay/ed-relay EDLIVE_REDIS_SENTINELS=127.0.0.1:0 'EDLIVE_REDIS_SENTINELS=127.0.0.1:0: must be comma-separated host:port'
expect relay/ed-relay EDLIVE_RELAY_POLL_MS=5 'EDLIVE_RELAY_POLL_MS=5: must be an integer 10-60000'
expect relay/ed-relay EDLIVE_REDIS=redis: 'EDLIVE_REDIS=redis:: must be host:port'
expect relay/ed-relay EDLIVE_RELAY_OPS_PORT=70000 'EDLIVE_RELAY_OPS_PORT=70000: must be an integer 0-65535'
expect relay/ed-relay EDLIVE_LISTEN=localhost 'EDLIVE_LISTEN=localhost is neither an IP address'
expect mllp/ed-mllp EDLIVE_MLLP_OPS_PORT=-1 'EDLIVE_MLLP_OPS_PORT=-1: must be an integer 0-65535'
expect mllp/ed-mllp EDLIVE_MLLP_FRAME_S=0 'EDLIVE_MLLP_FRAME_S=0: must be an integer 1-3600'
expect mllp/ed-mllp EDLIVE_MLLP_STAFF=abc 'EDLIVE_MLLP_STAFF=abc: must be an integer'
expect api/ed-api EDLIVE_LOG_LEVEL=loud 'EDLIVE_LOG_LEVEL=loud: must be debug, info, warn or error'
expect relay/ed-relay EDLIVE_LOG_FORMAT=xml 'EDLIVE_LOG_FORMAT=xml: must be json or text'
expect mllp/ed-mllp EDLIVE_LOG_FILE=/nonexistent/dir/x.log 'EDLIVE_LOG_FILE=/nonexistent/dir/x.log: cannot be opened'
expect api/ed-api EDLIVE_TRUSTED_PROXIES=10.0.0.0/33 'EDLIVE_TRUSTED_PROXIES=10.0.0.0/33: must be comma-separated addresses or networks .*"10.0.0.0/33" is not an address'
expect hub/ed-hub EDLIVE_TRUSTED_PROXIES=127.0.0.1,nginx 'EDLIVE_TRUSTED_PROXIES=127.0.0.1,nginx: must be comma-separated addresses or networks .*"nginx" is not an address'
# An argument a program does not take is refused the same way, not ignored.
expect hub/ed-hub --port=1 'unknown argument --port=1'
exit $((failures > 0))
