# shellcheck shell=bash disable=SC2034
# deploy/local/lib.sh: what up, down, test and svc share. Sourced, never run.
#
# One "state folder" holds everything one local deployment owns:
#   <state>/env            shell-sourceable exports of every setting (ports, URLs, build dir)
#   <state>/pg/data        PostgreSQL 15 cluster (owned by the postgres user), pg/sock its socket
#   <state>/redis/         Redis working directory (nothing is persisted)
#   <state>/nginx/         generated nginx config and nginx's temp folders
#   <state>/run/*.pid      PIDs of redis, ed-relay, ed-api, ed-hub, ed-mllp, nginx (PostgreSQL: pg/data/postmaster.pid)
#   <state>/logs/*.log     one log per process
# Everything is started and stopped by the PID recorded there, never by name.

ED_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
umask 022 # the postgres user and nginx must be able to read what we create
ED_PGBIN=/usr/lib/postgresql/15/bin
ED_ALL_SERVICES=(pg redis relay api hub mllp nginx) # start order; stop order is the reverse

# Packages (Debian 12). nodejs is not installed here: the machines come with Node 20.
ED_PKGS_BASE=(build-essential cmake pkg-config clang libclang-rt-14-dev libwebsockets-dev libwebsockets-evlib-uv libuv1-dev
              libhiredis-dev libjansson-dev libpq-dev libssl-dev libcmocka-dev libargon2-dev openssl postgresql-15
              redis-server nginx curl ca-certificates)
ED_PKGS_TEST=(chromium yamllint shellcheck systemd prometheus) # systemd: systemd-analyze (deploy_systemd); prometheus: promtool (/metrics)
# Of those, the ones wanted for a tool only, not their daemon (prometheus: promtool; Debian 12
# ships no promtool package): ed_install_without_daemon.
ED_PKGS_NO_DAEMON=(prometheus)

# ---------------------------------------------------------------------------------------------
# Messages
if [ -t 1 ]; then
    _B=$'\e[1m' _R=$'\e[1;31m' _Y=$'\e[1;33m' _G=$'\e[1;32m' _0=$'\e[0m'
else
    _B='' _R='' _Y='' _G='' _0=''
fi
ED_SCRIPT=${ED_SCRIPT:-$(basename "$0")}

say()  { printf '%s==> %s%s\n' "$_B" "$*" "$_0"; }
info() { printf '    %s\n' "$*"; }
ok()   { printf '%s    ok:%s %s\n' "$_G" "$_0" "$*"; }
warn() { printf '%swarning:%s %s\n' "$_Y" "$_0" "$*" >&2; }

# die "what stopped us" ["how to fix it" ...]
die() {
    printf '\n%s%s: error:%s %s\n' "$_R" "$ED_SCRIPT" "$_0" "$1" >&2
    shift
    local line
    for line in "$@"; do printf '  -> %s\n' "$line" >&2; done
    exit 1
}

# The script's header comment, as its --help.
ed_usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

# Last lines of a log file, indented, for error messages.
log_tail() {
    local file=$1 n=${2:-25}
    [ -e "$file" ] || { info "(no log at $file)"; return 0; }
    printf '    --- last %s lines of %s ---\n' "$n" "$file" >&2
    tail -n "$n" "$file" | sed 's/^/    | /' >&2
}

# ---------------------------------------------------------------------------------------------
# Processes (by PID, through /proc; zombies count as dead)
pid_alive() {
    local pid=$1 st
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    st=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1) || return 1
    [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

pid_cmdline() { tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | cut -c1-120; }

pid_ppid() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f2; }

# PID from a pid file if that process is alive and its command line contains $2.
pidfile_pid() {
    local file=$1 match=$2 pid
    [ -r "$file" ] || return 0
    pid=$(head -n1 "$file" | tr -dc 0-9)
    if pid_alive "$pid" && pid_cmdline "$pid" | grep -qF -- "$match"; then
        echo "$pid"
    fi
}

pid_children() {
    awk -v p="$1" '{ sub(/.*\) /, ""); split(FILENAME, f, "/"); if ($2 == p) print f[3] }' \
        /proc/[0-9]*/stat 2>/dev/null || true
}

# Wait until a PID is gone; returns 1 if still alive after $2 seconds.
wait_gone() {
    local pid=$1 secs=$2 i
    for ((i = 0; i < secs * 10; i++)); do
        pid_alive "$pid" || return 0
        sleep 0.1
    done
    ! pid_alive "$pid"
}

# TERM, wait, then KILL (with a warning). $1 pid, $2 label, $3 grace seconds.
stop_pid() {
    local pid=$1 label=$2 grace=${3:-15} kids
    pid_alive "$pid" || return 0
    mapfile -t kids < <(pid_children "$pid")
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_gone "$pid" "$grace"; then
        warn "$label (PID $pid) did not stop within ${grace}s of SIGTERM; sending SIGKILL"
        kill -KILL "$pid" "${kids[@]}" 2>/dev/null || true
        wait_gone "$pid" 5 || warn "$label (PID $pid) is still there after SIGKILL"
    fi
}

# SIGKILL a process and its direct children (nginx workers, postgres backends).
kill_tree() {
    local pid=$1 kids
    pid_alive "$pid" || return 0
    mapfile -t kids < <(pid_children "$pid")
    kill -KILL "$pid" "${kids[@]}" 2>/dev/null || true
    wait_gone "$pid" 5 || true
}

# ---------------------------------------------------------------------------------------------
# TCP ports, from /proc/net/tcp{,6} (no iproute2 needed)
port_listen_inodes() {
    local hex
    hex=$(printf ':%04X' "$1")
    awk -v p="$hex" 'FNR > 1 && $4 == "0A" && substr($2, length($2) - 4) == p { print $10 }' \
        /proc/net/tcp /proc/net/tcp6 2>/dev/null | sort -u || true
}

port_in_use() { [ -n "$(port_listen_inodes "$1")" ]; }

# PIDs holding a listening socket on the port.
port_pids() {
    local inodes inode args=() fd
    inodes=$(port_listen_inodes "$1") || true
    [ -n "$inodes" ] || return 0
    for inode in $inodes; do
        [ ${#args[@]} -gt 0 ] && args+=(-o)
        args+=(-lname "socket:\\[$inode\\]")
    done
    { find /proc/[0-9]*/fd -maxdepth 1 \( "${args[@]}" \) 2>/dev/null || true; } |
        while read -r fd; do
            fd=${fd#/proc/}
            echo "${fd%%/*}"
        done | sort -un
}

port_holders_text() {
    local pids pid out=''
    pids=$(port_pids "$1")
    [ -n "$pids" ] || { echo "an unknown process (not visible from here)"; return; }
    for pid in $pids; do
        out+="${out:+; }PID $pid ($(pid_cmdline "$pid"))"
    done
    echo "$out"
}

# Is the port listened on by $2 (a PID) or one of its children?
port_owned_by() {
    local port=$1 owner=$2 pid
    [ -n "$owner" ] || return 1
    for pid in $(port_pids "$port"); do
        [ "$pid" = "$owner" ] && return 0
        [ "$(pid_ppid "$pid")" = "$owner" ] && return 0
    done
    return 1
}

# ---------------------------------------------------------------------------------------------
# Modes and settings
#
# ed_init_mode local|test: sets every setting from the defaults and EDLIVE_*_PORT overrides.
ed_init_mode() {
    ED_MODE=$1
    local d_http d_api d_hub d_pg d_redis d_mllp
    case $ED_MODE in
        # EDLIVE_STATE picks another folder for a second local deployment (load-tests/run: .state/bench).
        local) ED_STATE=${EDLIVE_STATE:-$ED_REPO/.state/local}; ED_BUILD=$ED_REPO/build
               case $ED_STATE in /*) ;; *) ED_STATE=$PWD/$ED_STATE ;; esac
               d_http=8480 d_https=8443 d_api=8481 d_hub=8482 d_pg=55480 d_redis=56480 d_mllp=8484 ;;
        test)  ED_STATE=$ED_REPO/.state/test; ED_BUILD=$ED_REPO/build-asan
               d_http=8490 d_https=8493 d_api=8491 d_hub=8492 d_pg=55490 d_redis=56490 d_mllp=8494 ;;
        # Several instances of each (deploy/local/up --cluster; test --cluster): see ed_cluster_ports.
        cluster) ED_STATE=$ED_REPO/.state/cluster; ED_BUILD=$ED_REPO/build
               d_http=8580 d_https=8583 d_api=8581 d_hub=8582 d_pg=55580 d_redis=56580 d_mllp=8584 ;;
        test-cluster) ED_STATE=$ED_REPO/.state/test-cluster; ED_BUILD=$ED_REPO/build-asan
               d_http=8590 d_https=8593 d_api=8591 d_hub=8592 d_pg=55590 d_redis=56590 d_mllp=8594 ;;
        *) die "unknown mode '$ED_MODE'" ;;
    esac
    if [ -n "${EDLIVE_MODE:-}" ] && [ "$EDLIVE_MODE" != "$ED_MODE" ]; then
        die "this shell has the settings of the '$EDLIVE_MODE' state folder exported (EDLIVE_MODE=$EDLIVE_MODE, probably from sourcing its env file)" \
            "run from a fresh shell, or: unset \$(compgen -e | grep '^EDLIVE_')"
    fi
    EDLIVE_HTTP_PORT=${EDLIVE_HTTP_PORT:-$d_http}
    EDLIVE_HTTPS_PORT=${EDLIVE_HTTPS_PORT:-$d_https}
    EDLIVE_API_PORT=${EDLIVE_API_PORT:-$d_api}
    EDLIVE_HUB_PORT=${EDLIVE_HUB_PORT:-$d_hub}
    EDLIVE_PG_PORT=${EDLIVE_PG_PORT:-$d_pg}
    EDLIVE_REDIS_PORT=${EDLIVE_REDIS_PORT:-$d_redis}
    EDLIVE_MLLP_PORT=${EDLIVE_MLLP_PORT:-$d_mllp}
    # ed-relay's and ed-mllp's /healthz, /readyz, /metrics (ed-api and ed-hub answer on their own
    # ports): the HTTP port + 8 and + 9 (+ 5 to + 7 are the cluster's second instances).
    EDLIVE_RELAY_OPS_PORT=${EDLIVE_RELAY_OPS_PORT:-$((EDLIVE_HTTP_PORT + 8))}
    EDLIVE_MLLP_OPS_PORT=${EDLIVE_MLLP_OPS_PORT:-$((EDLIVE_HTTP_PORT + 9))}
    local v seen=' ' vars=(EDLIVE_HTTP_PORT EDLIVE_HTTPS_PORT EDLIVE_API_PORT EDLIVE_HUB_PORT EDLIVE_PG_PORT EDLIVE_REDIS_PORT EDLIVE_MLLP_PORT EDLIVE_RELAY_OPS_PORT EDLIVE_MLLP_OPS_PORT)
    if ed_is_cluster; then
        ed_cluster_ports
        vars+=("${ED_CLUSTER_PORT_VARS[@]}")
    fi
    for v in "${vars[@]}"; do
        if ! [[ ${!v} =~ ^[0-9]+$ ]] || [ "${!v}" -lt 1 ] || [ "${!v}" -gt 65535 ]; then
            die "$v='${!v}' is not a TCP port" "set it to a number from 1024 to 65535, or unset it"
        fi
        case $seen in *" ${!v} "*) die "$v=${!v}: that port is already used for another service" \
                                         "give each of EDLIVE_{HTTP,API,HUB,PG,REDIS,MLLP}_PORT its own port" ;; esac
        seen+="${!v} "
    done
    ed_derive_settings
}

# The settings that follow from ED_MODE, ED_STATE, ED_BUILD and the five ports.
ed_derive_settings() {
    EDLIVE_MODE=$ED_MODE
    EDLIVE_REPO=$ED_REPO
    EDLIVE_STATE=$ED_STATE
    EDLIVE_BUILD=$ED_BUILD
    EDLIVE_LOGS=$ED_STATE/logs
    EDLIVE_PG_DIR=$(ed_pg_dir)
    EDLIVE_LISTEN=127.0.0.1
    # The services connect as edlive_app (no UPDATE/DELETE on the audit log); edlivectl as the
    # owner edlive; EDLIVE_PG_SUPER is the superuser, for tests that tamper on purpose.
    EDLIVE_PG="host=127.0.0.1 port=$EDLIVE_PG_PORT dbname=edlive user=edlive_app"
    EDLIVE_PG_OWNER="host=127.0.0.1 port=$EDLIVE_PG_PORT dbname=edlive user=edlive"
    EDLIVE_PG_SUPER="host=127.0.0.1 port=$EDLIVE_PG_PORT dbname=edlive user=postgres"
    EDLIVE_PG_ADMIN="host=127.0.0.1 port=$EDLIVE_PG_PORT dbname=postgres user=postgres"
    EDLIVE_REDIS=127.0.0.1:$EDLIVE_REDIS_PORT
    EDLIVE_MLLP_DEPARTMENT=DEMO # ed-mllp: an A04 without PV1-3.1 registers in the demo department
    EDLIVE_PROTO_DIR=$ED_REPO/proto
    EDLIVE_SQL_DIR=$ED_REPO/sql
    # One origin over TLS (nginx, certificate made by up/test); plain HTTP only redirects.
    EDLIVE_BASE_URL=https://127.0.0.1:$EDLIVE_HTTPS_PORT
    EDLIVE_PLAIN_URL=http://127.0.0.1:$EDLIVE_HTTP_PORT
    EDLIVE_ALLOWED_ORIGINS="https://127.0.0.1:$EDLIVE_HTTPS_PORT,https://localhost:$EDLIVE_HTTPS_PORT"
    EDLIVE_TLS_DIR=$ED_STATE/tls
    NODE_EXTRA_CA_CERTS=$EDLIVE_TLS_DIR/cert.pem # the tests' Node trusts the local certificate
    EDLIVE_API_URL=http://127.0.0.1:$EDLIVE_API_PORT
    EDLIVE_WS_URL=wss://127.0.0.1:$EDLIVE_HTTPS_PORT/ws
    EDLIVE_HUB_URL=ws://127.0.0.1:$EDLIVE_HUB_PORT/ws
    EDLIVE_DEMO_PASSWORD=${EDLIVE_DEMO_PASSWORD:-edlive-demo}
    EDLIVE_DEMO_ADMIN_TOTP=${EDLIVE_DEMO_ADMIN_TOTP:-JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP}
    EDLIVE_ARTIFACTS=$ED_REPO/test-artifacts
    # The cluster tests' run keeps its own (a full test run makes both).
    [ "$ED_MODE" = test-cluster ] && EDLIVE_ARTIFACTS=$ED_REPO/test-artifacts/cluster
    EDLIVE_SVC=$ED_REPO/deploy/local/svc
    EDLIVE_CHROMIUM=${EDLIVE_CHROMIUM:-/usr/bin/chromium}
    if [ -d "$ED_REPO/../shared" ]; then
        EDLIVE_SHARED=$(cd "$ED_REPO/../shared" && pwd)
    else
        EDLIVE_SHARED=''
    fi
    ED_ENV_VARS=(EDLIVE_MODE EDLIVE_REPO EDLIVE_STATE EDLIVE_BUILD EDLIVE_LOGS EDLIVE_PG_DIR
                 EDLIVE_LISTEN EDLIVE_HTTP_PORT EDLIVE_HTTPS_PORT EDLIVE_API_PORT EDLIVE_HUB_PORT
                 EDLIVE_PG_PORT EDLIVE_REDIS_PORT EDLIVE_PG EDLIVE_PG_OWNER EDLIVE_PG_SUPER
                 EDLIVE_PG_ADMIN EDLIVE_REDIS EDLIVE_PROTO_DIR EDLIVE_SQL_DIR EDLIVE_BASE_URL
                 EDLIVE_PLAIN_URL EDLIVE_ALLOWED_ORIGINS EDLIVE_TLS_DIR EDLIVE_DEMO_PASSWORD
                 EDLIVE_DEMO_ADMIN_TOTP EDLIVE_API_URL EDLIVE_WS_URL EDLIVE_HUB_URL
                 EDLIVE_MLLP_PORT EDLIVE_MLLP_DEPARTMENT NODE_EXTRA_CA_CERTS
                 EDLIVE_RELAY_OPS_PORT EDLIVE_MLLP_OPS_PORT
                 EDLIVE_ARTIFACTS EDLIVE_SVC EDLIVE_CHROMIUM EDLIVE_SHARED)
    ED_ALL_SERVICES=(pg redis relay api hub mllp nginx)
    if ed_is_cluster; then ed_cluster_settings; fi
    if ed_is_test; then
        ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
        UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
        # The fault-injection test may ask ed-api to die between commit and reply.
        EDLIVE_FAULT_HOOKS=1
        # A small backlog bound, so the frozen-client test crosses it within seconds.
        EDLIVE_HUB_MAX_LAG=${EDLIVE_HUB_MAX_LAG:-100}
        # A short stall limit, so the frozen client through nginx is closed (4408) within a test.
        EDLIVE_HUB_STALL_S=${EDLIVE_HUB_STALL_S:-10}
        ED_ENV_VARS+=(ASAN_OPTIONS UBSAN_OPTIONS EDLIVE_FAULT_HOOKS EDLIVE_HUB_MAX_LAG EDLIVE_HUB_STALL_S)
    fi
    export "${ED_ENV_VARS[@]}"
    ED_LOGS=$EDLIVE_LOGS
    ED_RUN=$ED_STATE/run
    ED_PGDATA=$EDLIVE_PG_DIR/data
    ED_PGSOCK=$EDLIVE_PG_DIR/sock
}

ed_is_test() { [ "$ED_MODE" = test ] || [ "$ED_MODE" = test-cluster ]; }
ed_is_cluster() { [ "$ED_MODE" = cluster ] || [ "$ED_MODE" = test-cluster ]; }

_sq() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

ed_write_env() {
    local f=$ED_STATE/env v
    mkdir -p "$ED_STATE" "$ED_LOGS" "$ED_RUN"
    {
        echo "# edlive '$ED_MODE' settings, written by deploy/local/$ED_SCRIPT on $(date -u +%Y-%m-%dT%H:%M:%SZ)."
        echo "# Use: . $(_sq "$f")   (deploy/local/svc and the tests read this file)"
        for v in "${ED_ENV_VARS[@]}"; do
            echo "export $v=$(_sq "${!v}")"
        done
    } >"$f.tmp"
    mv "$f.tmp" "$f"
}

# One up / test / down at a time per state folder (svc does not lock: tests call it while
# deploy/local/test holds the lock). A lock left by a script that died is taken over.
ed_lock_state() {
    local lock=$ED_STATE/.lock i holder=''
    mkdir -p "$ED_STATE"
    for ((i = 0; ; i++)); do
        if mkdir "$lock" 2>/dev/null; then
            echo "$$ $ED_SCRIPT" >"$lock/owner"
            ED_LOCK=$lock
            return 0
        fi
        holder=$(cat "$lock/owner" 2>/dev/null || true)
        if [ -n "$holder" ] && ! pid_alive "${holder%% *}"; then
            rm -rf "$lock"
            continue
        fi
        [ "$i" = 0 ] && say "Waiting: deploy/local/${holder#* } (PID ${holder%% *}) is working on $ED_STATE"
        [ "$i" -ge 6000 ] && die "$ED_STATE is still locked after 10 minutes by PID ${holder%% *}" \
            "wait for it, or stop it; if that PID is not a deploy/local script: rm -rf '$lock'"
        sleep 0.1
    done
}

ed_unlock_state() {
    if [ -n "${ED_LOCK:-}" ]; then rm -rf "$ED_LOCK"; fi
    ED_LOCK=''
}

# For svc and down: the state folder from EDLIVE_STATE (default .state/local) and its env file.
ed_load_state() {
    local state=${1:-${EDLIVE_STATE:-$ED_REPO/.state/local}}
    case $state in /*) ;; *) state=$PWD/$state ;; esac
    [ -d "$state" ] || die "no state folder at $state" \
        "start it first: deploy/local/up (or deploy/local/test for .state/test)"
    state=$(cd "$state" && pwd)
    if [ -r "$state/env" ]; then
        # The file wins over whatever this shell has exported.
        unset EDLIVE_MODE ASAN_OPTIONS UBSAN_OPTIONS
        # shellcheck disable=SC1091
        . "$state/env"
        ED_MODE=$EDLIVE_MODE
        ED_STATE=$state
        ED_BUILD=$EDLIVE_BUILD
        ed_derive_settings
        ED_HAVE_ENV=1
    else
        ED_MODE=unknown ED_STATE=$state ED_HAVE_ENV=0
        ED_LOGS=$state/logs ED_RUN=$state/run
        EDLIVE_PG_DIR=$(ed_pg_dir) ED_PGDATA=$EDLIVE_PG_DIR/data
    fi
}

ed_require_env() {
    [ "$ED_HAVE_ENV" = 1 ] || die "no settings file at $ED_STATE/env" \
        "run deploy/local/up (or deploy/local/test) once to create it"
}

# ---------------------------------------------------------------------------------------------
# Packages
ed_pkg_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# ed_install_packages [test]: apt-get install whatever is missing; one apt-get update at most.
ed_install_packages() {
    local want=("${ED_PKGS_BASE[@]}") missing=() p
    [ "${1:-}" = test ] && want+=("${ED_PKGS_TEST[@]}")
    for p in "${want[@]}"; do ed_pkg_installed "$p" || missing+=("$p"); done
    if [ ${#missing[@]} -gt 0 ]; then
        say "Installing missing packages: ${missing[*]}"
        [ "$(id -u)" = 0 ] || die "installing packages needs root (missing: ${missing[*]})" \
            "run as root, or install them: sudo apt-get install ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        local log=/tmp/edlive-apt.$$.log
        if ! apt-get update -qq >"$log" 2>&1; then
            cat "$log" >&2
            die "apt-get update failed (output above)" \
                "check the network and /etc/apt/sources.list*, then rerun"
        fi
        local plain=() quiet=()
        for p in "${missing[@]}"; do
            if [[ " ${ED_PKGS_NO_DAEMON[*]} " == *" $p "* ]]; then quiet+=("$p"); else plain+=("$p"); fi
        done
        if ! { [ ${#plain[@]} = 0 ] || apt-get install -y -q "${plain[@]}" 2>&1 | tee "$log"; } ||
            ! { [ ${#quiet[@]} = 0 ] || ed_install_without_daemon "${quiet[@]}" 2>&1 | tee -a "$log"; }; then
            local bad=()
            for p in "${missing[@]}"; do
                apt-get install -s -y "$p" >/dev/null 2>&1 || bad+=("$p")
            done
            die "apt-get install failed${bad[*]:+ for: ${bad[*]}} (apt output above, also in $log)" \
                "try it by hand: apt-get install ${bad[*]:-${missing[*]}}" \
                "'Unable to locate package' means the apt sources lack Debian 12 main; 'Could not get lock' means another apt is running"
        fi
        rm -f "$log"
        for p in "${missing[@]}"; do
            ed_pkg_installed "$p" || die "package $p is still not installed after apt-get install" \
                "apt-get install $p  (and read its error)"
        done
        ok "installed ${missing[*]}"
    fi
    command -v node >/dev/null 2>&1 || die "node (Node.js 20) is not on PATH" \
        "these machines come with Node 20 preinstalled; install Node.js 20 (e.g. from nodesource) and rerun"
    local major
    major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
    [ "$major" -ge 20 ] || die "Node.js $(node -v 2>/dev/null) is too old: 20 or newer is needed" \
        "install Node.js 20 (e.g. from nodesource), then rerun"
}

# ed_install_without_daemon PKG...: apt-get install packages wanted for a tool only (prometheus
# for promtool) so that no server is left running or enabled on a machine booted with systemd:
# no recommends (prometheus-node-exporter, a second daemon), a policy-rc.d that stops the
# postinst starting the service (unless the machine has its own policy-rc.d already: containers
# do), then the unit disabled (and stopped, if systemd runs). Only for what this script installs:
# a Prometheus the machine had before is left alone.
ed_install_without_daemon() {
    local policy=/usr/sbin/policy-rc.d ours=0 rc=0 p
    if [ ! -e $policy ]; then
        printf '#!/bin/sh\n# edlive deploy/local: no daemon starts during this install\nexit 101\n' >$policy
        chmod 755 $policy
        ours=1
    fi
    apt-get install -y -q --no-install-recommends "$@" || rc=$?
    [ $ours = 0 ] || rm -f $policy
    [ $rc = 0 ] || return $rc
    for p in "$@"; do
        [ -f "/lib/systemd/system/$p.service" ] || continue
        if [ -d /run/systemd/system ]; then
            systemctl disable --now --quiet "$p.service" || return 1
        else # not booted with systemd (a container): systemctl edits the unit links offline
            systemctl disable --quiet "$p.service" || return 1
        fi
    done
}

# npm ci (or npm install without a lock file) in each folder with a package.json (web/: the
# pages' tests and Playwright; services/fhir/tests/: the FHIR R4 validator; services/mllp/tests/:
# @medplum/hl7, the HL7 v2 client of the ed-mllp tests), skipped when its lock file is unchanged.
ED_NPM_DIRS=(web services/fhir/tests services/mllp/tests)
ed_npm_install() {
    local rel
    for rel in "${ED_NPM_DIRS[@]}"; do
        ed_npm_install_in "$rel"
    done
}

ed_npm_install_in() {
    local rel=$1 dir=$ED_REPO/$1 stamp sum
    [ -f "$dir/package.json" ] || { warn "$rel/package.json does not exist yet: skipping npm install"; return 0; }
    command -v npm >/dev/null 2>&1 || die "npm is not on PATH" "install Node.js 20 with npm, then rerun"
    stamp=$dir/node_modules/.edlive-installed
    sum=$(cat "$dir/package.json" "$dir/package-lock.json" 2>/dev/null | sha256sum | cut -d' ' -f1)
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$sum" ]; then
        ok "$rel/node_modules is up to date"
        return 0
    fi
    local cmd=(npm install --no-audit --no-fund)
    [ -f "$dir/package-lock.json" ] && cmd=(npm ci --no-audit --no-fund)
    say "$rel/: ${cmd[*]}"
    if ! (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 "${cmd[@]}"); then
        die "'${cmd[*]}' failed in $rel/ (output above)" \
            "check that registry.npmjs.org is reachable and $rel/package-lock.json matches $rel/package.json (npm install in $rel/ rewrites it)"
    fi
    echo "$sum" >"$stamp"
}

# ---------------------------------------------------------------------------------------------
# Build
# ed_build <dir> [extra cmake args...]
ed_build() {
    local dir=$1
    shift
    [ -f "$ED_REPO/CMakeLists.txt" ] || die "there is no CMakeLists.txt at $ED_REPO" \
        "the C services are not in this checkout yet"
    say "Building $(basename "$dir") ($*)"
    if ! cmake -S "$ED_REPO" -B "$dir" --log-level=WARNING -DED_WERROR=ON "$@"; then
        die "cmake configure failed for $dir (output above)" \
            "a missing library usually means a missing -dev package; if the build folder is stale: rm -rf $dir"
    fi
    if ! cmake --build "$dir" -j "${EDLIVE_JOBS:-$(nproc)}"; then
        die "the build in $dir failed (compiler output above)" \
            "fix the error (warnings are errors: ED_WERROR=ON), then rerun"
    fi
    ok "built $dir"
}

ed_bin() { # ed_bin api|hub|relay|mllp|ctl (an instance name: its kind's program)
    case $(ed_kind "$1") in
        relay) echo "$ED_BUILD/services/relay/ed-relay" ;;
        api) echo "$ED_BUILD/services/api/ed-api" ;;
        hub) echo "$ED_BUILD/services/hub/ed-hub" ;;
        mllp) echo "$ED_BUILD/services/mllp/ed-mllp" ;;
        ctl) echo "$ED_BUILD/services/ctl/edlivectl" ;;
    esac
}

# ---------------------------------------------------------------------------------------------
# Per-service facts: pid, port, env var of the port
ed_svc_pid() {
    case $1 in
        pg)    pidfile_pid "$ED_PGDATA/postmaster.pid" "-D $ED_PGDATA" ;;
        redis) pidfile_pid "$ED_RUN/redis.pid" "redis-server" ;;
        api | api2) pidfile_pid "$ED_RUN/$1.pid" "ed-api" ;;
        hub | hub[23]) pidfile_pid "$ED_RUN/$1.pid" "ed-hub" ;;
        relay | relay2) pidfile_pid "$ED_RUN/$1.pid" "ed-relay" ;;
        mllp)  pidfile_pid "$ED_RUN/mllp.pid" "ed-mllp" ;;
        pg2)   pidfile_pid "$EDLIVE_PG_DIR/data2/postmaster.pid" "-D $EDLIVE_PG_DIR/data2" ;;
        redis2) pidfile_pid "$ED_RUN/redis2.pid" "redis-server" ;;
        sentinel[123]) pidfile_pid "$ED_RUN/$1.pid" "redis-server" ;;
        nginx) pidfile_pid "$ED_RUN/nginx.pid" "nginx: master process nginx -p $ED_STATE/nginx/" ;;
        *) die "unknown service '$1'" "use one of: ${ED_ALL_SERVICES[*]}" ;;
    esac
}

ed_svc_portvar() {
    case $1 in
        pg) echo EDLIVE_PG_PORT ;; redis) echo EDLIVE_REDIS_PORT ;; api) echo EDLIVE_API_PORT ;;
        hub) echo EDLIVE_HUB_PORT ;; nginx) echo EDLIVE_HTTP_PORT ;; mllp) echo EDLIVE_MLLP_PORT ;;
        relay | relay2) ;; # no port: it only connects out
        api2) echo EDLIVE_API2_PORT ;; hub2) echo EDLIVE_HUB2_PORT ;; hub3) echo EDLIVE_HUB3_PORT ;;
        pg2) echo EDLIVE_PG2_PORT ;; redis2) echo EDLIVE_REDIS2_PORT ;;
        sentinel[123]) echo "EDLIVE_SENTINEL${1#sentinel}_PORT" ;;
    esac
}

ed_svc_label() {
    case $1 in
        pg) echo PostgreSQL ;; redis) echo Redis ;; api) echo ed-api ;; hub) echo ed-hub ;;
        relay) echo ed-relay ;; mllp) echo ed-mllp ;; nginx) echo nginx ;;
        pg2) echo "PostgreSQL (pg2)" ;; redis2) echo "Redis (redis2)" ;;
        sentinel*) echo "Redis Sentinel ($1)" ;; *) echo "ed-$(ed_kind "$1") ($1)" ;;
    esac
}

# Fail unless the service's port is free or held by our own process from this state folder.
ed_check_port() {
    local svc=$1 var port pid
    var=$(ed_svc_portvar "$svc")
    [ -n "$var" ] || return 0
    port=${!var}
    port_in_use "$port" || return 0
    pid=$(ed_svc_pid "$svc")
    if [ -n "$pid" ]; then
        port_owned_by "$port" "$pid" && return 0
        # Our process is alive but the holder is not visible from here: trust the pid file
        # only if nobody else can be seen on the port.
        [ -z "$(port_pids "$port")" ] && return 0
    fi
    die "port $port (for $(ed_svc_label "$svc")) is already in use by $(port_holders_text "$port")" \
        "stop that process (e.g. kill <PID>; if it is another edlive state folder: EDLIVE_STATE=<folder> deploy/local/down)" \
        "or use another port: $var=<free port> deploy/local/$ED_SCRIPT"
}

# Our ports (55xxx, 56xxx) lie in Linux's range for outgoing connections' local ports: a busy
# machine (a load test's thousands of sockets) can hold one just when a server wants to bind
# it ("Address already in use"). Reserved, the kernel never hands them out. Best effort: a
# container may not let us write the setting.
ed_reserve_ports() {
    local f=/proc/sys/net/ipv4/ip_local_reserved_ports s var list
    [ -w "$f" ] || return 0
    list=$(cat "$f" 2>/dev/null) || return 0
    for s in "${ED_ALL_SERVICES[@]}"; do
        var=$(ed_svc_portvar "$s")
        [ -n "$var" ] && [ -n "${!var:-}" ] && list+=",${!var}"
    done
    echo "${list#,}" >"$f" 2>/dev/null || true
}

ed_check_ports() {
    local s
    ed_reserve_ports
    for s in "${ED_ALL_SERVICES[@]}"; do ed_check_port "$s"; done
    ok "ports free or ours: http $EDLIVE_HTTP_PORT, api $EDLIVE_API_PORT, hub $EDLIVE_HUB_PORT, mllp $EDLIVE_MLLP_PORT, pg $EDLIVE_PG_PORT, redis $EDLIVE_REDIS_PORT"
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL 15 (runs as the postgres user; the data folder must be reachable by it)

# <state>/pg, unless the postgres user cannot reach it (e.g. the repo under /root) or the socket
# path would be too long for a unix socket: then a folder under /var/tmp named after the state.
ed_pg_dir() {
    local def=$ED_STATE/pg parent
    parent=$ED_STATE
    while [ ! -d "$parent" ]; do parent=$(dirname "$parent"); done
    if [ $((${#def} + 20)) -lt 100 ] && id postgres >/dev/null 2>&1 &&
        runuser -u postgres -- test -x "$parent" 2>/dev/null; then
        echo "$def"
    else
        echo "/var/tmp/edlive-pg/$(printf '%s' "$ED_STATE" | sha256sum | cut -c1-12)"
    fi
}

# Run as the postgres user, from / (it may not be allowed into the current folder).
pg_as() { (cd / && runuser -u postgres -- "$@"); }

ed_psql_admin() {
    "$ED_PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "${ED_PG_PRIMARY_PORT:-$EDLIVE_PG_PORT}" -U postgres -d postgres "$@"
}

ed_pg_options() {
    local o="-c listen_addresses=127.0.0.1 -c port=$EDLIVE_PG_PORT -c unix_socket_directories='$ED_PGSOCK'"
    # The server log must not carry patient data: no failing statements, rows or details.
    o+=" -c log_min_error_statement=panic -c log_error_verbosity=terse"
    # Tests start from an empty database every run: durability buys nothing there.
    if [ "$ED_MODE" = test ]; then
        o+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    elif [ "$ED_MODE" = test-cluster ]; then
        o+=" -c fsync=off" # commits still wait for the replica (remote_apply): that is under test
    fi
    echo "$o"
}

ed_pg_start() {
    local pid port log
    log=$EDLIVE_PG_DIR/postgres.log
    mkdir -p "$ED_LOGS"
    ln -sfn "$log" "$ED_LOGS/postgres.log"
    pid=$(ed_svc_pid pg)
    if [ -n "$pid" ]; then
        port=$(sed -n 4p "$ED_PGDATA/postmaster.pid" 2>/dev/null) || true
        if [ "$port" = "$EDLIVE_PG_PORT" ] && "$ED_PGBIN/pg_isready" -q -h 127.0.0.1 -p "$EDLIVE_PG_PORT"; then
            ok "PostgreSQL already running (PID $pid, port $port): reusing it"
            return 0
        fi
        say "PostgreSQL (PID $pid) runs on port ${port:-?} or is not ready: restarting it on $EDLIVE_PG_PORT"
        ed_pg_stop
    fi
    id postgres >/dev/null 2>&1 || die "there is no 'postgres' user" "apt-get install --reinstall postgresql-15"
    mkdir -p "$EDLIVE_PG_DIR" "$ED_PGSOCK" "$ED_LOGS"
    chown postgres:postgres "$EDLIVE_PG_DIR" "$ED_PGSOCK"
    chmod 700 "$EDLIVE_PG_DIR"
    touch "$log" && chown postgres:postgres "$log"
    if [ "$EDLIVE_PG_DIR" != "$ED_STATE/pg" ]; then
        info "PostgreSQL data is in $EDLIVE_PG_DIR (the postgres user cannot use $ED_STATE/pg)"
    fi
    if [ ! -s "$ED_PGDATA/PG_VERSION" ]; then
        if [ -d "$ED_PGDATA" ] && [ -n "$(ls -A "$ED_PGDATA" 2>/dev/null)" ]; then
            die "$ED_PGDATA exists but is not a PostgreSQL cluster" \
                "remove it (deletes that data): rm -rf '$ED_PGDATA', then rerun"
        fi
        say "Creating a PostgreSQL 15 cluster in $ED_PGDATA"
        if ! pg_as "$ED_PGBIN/initdb" -N -D "$ED_PGDATA" -U postgres -A trust \
            -E UTF8 --locale=C.UTF-8 >"$EDLIVE_PG_DIR/initdb.log" 2>&1; then
            log_tail "$EDLIVE_PG_DIR/initdb.log"
            die "initdb failed (log above)" "fix the cause, remove $ED_PGDATA and rerun"
        fi
    elif [ "$(cat "$ED_PGDATA/PG_VERSION")" != 15 ]; then
        die "$ED_PGDATA holds a PostgreSQL $(cat "$ED_PGDATA/PG_VERSION") cluster, not 15" \
            "remove it (deletes that data): rm -rf '$ED_PGDATA'"
    fi
    say "Starting PostgreSQL on 127.0.0.1:$EDLIVE_PG_PORT"
    if ! pg_as "$ED_PGBIN/pg_ctl" -D "$ED_PGDATA" -l "$log" -w -t 60 \
        -o "$(ed_pg_options)" start >/dev/null; then
        log_tail "$log"
        die "PostgreSQL did not start (log above: $log)" \
            "a 'could not bind' line means port $EDLIVE_PG_PORT is taken: EDLIVE_PG_PORT=<free port> deploy/local/$ED_SCRIPT"
    fi
    ok "PostgreSQL running (PID $(ed_svc_pid pg))"
}

ed_pg_stop() {
    local pid
    pid=$(ed_svc_pid pg)
    [ -n "$pid" ] || return 0
    if ! pg_as "$ED_PGBIN/pg_ctl" -D "$ED_PGDATA" -m fast -w -t 30 stop >/dev/null 2>&1; then
        warn "pg_ctl stop -m fast failed; stopping PostgreSQL (PID $pid) by signal"
        kill -QUIT "$pid" 2>/dev/null || true
        wait_gone "$pid" 10 || kill_tree "$pid"
    fi
    wait_gone "$pid" 10 || true
}

# Role edlive and database edlive (owned by it), created when missing. With "fresh", the
# database is dropped first (tests).
ed_pg_database() {
    local fresh=${1:-}
    ed_psql_admin -c "DO \$\$BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'edlive') THEN CREATE ROLE edlive LOGIN; END IF;
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'edlive_app') THEN CREATE ROLE edlive_app LOGIN; END IF;
        END\$\$;" || die "could not create the roles edlive and edlive_app (error above)"
    if [ "$fresh" = fresh ]; then
        ed_psql_admin -c 'SET client_min_messages = warning' -c 'DROP DATABASE IF EXISTS edlive WITH (FORCE)' ||
            die "could not drop the database edlive (error above)"
    fi
    if [ "$(ed_psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = 'edlive'")" != 1 ]; then
        ed_psql_admin -c 'CREATE DATABASE edlive OWNER edlive' ||
            die "could not create the database edlive (error above)"
        ok "database edlive created${fresh:+ (fresh)}"
    else
        ok "database edlive exists"
    fi
}

# edlivectl <command>: migrate, seed-demo
ed_ctl() {
    local bin
    bin=$(ed_bin ctl)
    [ -x "$bin" ] || die "$bin is missing" "build first: cmake --build $(basename "$ED_BUILD")"
    say "edlivectl $*"
    if ! EDLIVE_PG=$EDLIVE_PG_OWNER "$bin" "$@" 2>&1 | tee -a "$ED_LOGS/ctl.log"; then
        die "edlivectl $* failed (output above, also in $ED_LOGS/ctl.log)" \
            "check PostgreSQL is up: psql '$EDLIVE_PG' -c 'select 1'"
    fi
}

# ed-mllp's audit principal (EDLIVE_MLLP_STAFF, checked by ed-mllp at start): the demo's HL7
# interface, a staff member without an account in every demo department (an HL7 write is
# scoped to one; vitals without OBX-16 are taken_by it), made once after seed-demo. Its id is
# kept in <state>/mllp-staff for a restart while PostgreSQL is away; not in the env file (it
# exists only once the database is seeded).
ED_MLLP_STAFF_NAME='HL7 interface (registration system)'
ed_mllp_staff() {
    local id
    id=$("$ED_PGBIN/psql" "$EDLIVE_PG_OWNER" -XAtq -v ON_ERROR_STOP=1 -v name="$ED_MLLP_STAFF_NAME" 2>/dev/null <<'SQL'
WITH found AS (SELECT min(id) AS id FROM staff WHERE display_name = :'name' AND active),
made AS (INSERT INTO staff (display_name, role)
         SELECT :'name', 'registration' FROM found WHERE found.id IS NULL RETURNING id),
it AS (SELECT id FROM found WHERE id IS NOT NULL UNION ALL SELECT id FROM made),
linked AS (INSERT INTO staff_department (staff_id, department_id)
           SELECT it.id, d.id FROM it, department d WHERE d.code IN ('DEMO', 'PEDS')
           ON CONFLICT DO NOTHING)
SELECT id FROM it;
SQL
    ) || id=''
    if [[ $id =~ ^[0-9]+$ ]]; then
        echo "$id" >"$ED_STATE/mllp-staff"
    elif [ -s "$ED_STATE/mllp-staff" ]; then
        id=$(cat "$ED_STATE/mllp-staff")
    else
        info "ed-mllp: no interface staff member yet (PostgreSQL not reachable): EDLIVE_MLLP_STAFF unset"
        unset EDLIVE_MLLP_STAFF
        return 0
    fi
    export EDLIVE_MLLP_STAFF=$id
}

# ---------------------------------------------------------------------------------------------
# Redis (no persistence)
redis_cli() { redis-cli -h 127.0.0.1 -p "$EDLIVE_REDIS_PORT" "$@"; }

ed_redis_healthy() { # our pid answers on our port
    local pid=$1 answer
    answer=$(redis_cli INFO server 2>/dev/null | tr -d '\r' | sed -n 's/^process_id://p') || true
    [ -n "$answer" ] && [ "$answer" = "$pid" ]
}

ed_redis_start() {
    local pid i
    pid=$(ed_svc_pid redis)
    if [ -n "$pid" ]; then
        if ed_redis_healthy "$pid"; then
            ok "Redis already running (PID $pid, port $EDLIVE_REDIS_PORT): reusing it"
            return 0
        fi
        say "Redis (PID $pid) is not answering on port $EDLIVE_REDIS_PORT: restarting it"
        stop_pid "$pid" Redis 10
    fi
    command -v redis-server >/dev/null || die "redis-server is not installed" "apt-get install redis-server"
    mkdir -p "$ED_STATE/redis" "$ED_RUN" "$ED_LOGS"
    say "Starting Redis on 127.0.0.1:$EDLIVE_REDIS_PORT"
    if ! (cd "$ED_STATE/redis" && redis-server --bind 127.0.0.1 --port "$EDLIVE_REDIS_PORT" \
        --save '' --appendonly no --protected-mode yes --daemonize yes \
        --pidfile "$ED_RUN/redis.pid" --logfile "$ED_LOGS/redis.log" --dir "$ED_STATE/redis"); then
        die "redis-server did not start" "see $ED_LOGS/redis.log"
    fi
    for ((i = 0; i < 100; i++)); do
        pid=$(ed_svc_pid redis)
        [ -n "$pid" ] && ed_redis_healthy "$pid" && { ok "Redis running (PID $pid)"; return 0; }
        sleep 0.1
    done
    log_tail "$ED_LOGS/redis.log"
    die "Redis did not answer on 127.0.0.1:$EDLIVE_REDIS_PORT within 10 s (log above)" \
        "if the log says 'Address already in use': EDLIVE_REDIS_PORT=<free port> deploy/local/$ED_SCRIPT"
}

ed_redis_stop() {
    local pid
    pid=$(ed_svc_pid redis)
    [ -n "$pid" ] && stop_pid "$pid" Redis 10
    return 0
}

# ---------------------------------------------------------------------------------------------
# ed-api and ed-hub
ed_app_start() {
    local svc=$1 kind bin pid log var port i timeout rc code listen=()
    kind=$(ed_kind "$svc")
    bin=$(ed_bin "$svc")
    [ -x "$bin" ] || die "$bin is missing" "build first: deploy/local/$ED_SCRIPT builds it, or cmake --build $(basename "$ED_BUILD")"
    pid=$(ed_svc_pid "$svc")
    if [ -n "$pid" ]; then
        info "stopping the running ed-$svc (PID $pid) to start the new build"
        stop_pid "$pid" "ed-$svc" 15
    fi
    var=$(ed_svc_portvar "$svc")
    port=${var:+${!var}}
    ed_check_port "$svc"
    if [ "$svc" = mllp ]; then ed_mllp_staff; fi
    # A second or third instance listens on its own port.
    case $kind in api) listen=(EDLIVE_API_PORT="$port") ;; hub) listen=(EDLIVE_HUB_PORT="$port") ;; esac
    # Only the first ed-relay has an operations port (a second would collide).
    if [ "$svc" = relay2 ]; then listen+=(EDLIVE_RELAY_OPS_PORT=0); fi
    # Each instance's PostgreSQL sessions carry its name (pg_stat_activity: which relay holds the lock).
    listen+=(PGAPPNAME="$svc")
    mkdir -p "$ED_RUN" "$ED_LOGS"
    log=$ED_LOGS/$svc.log
    printf '=== %s: starting %s (port %s)\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$bin" "$port" >>"$log"
    (cd "$ED_STATE" && exec env "${listen[@]}" nohup "$bin" >>"$log" 2>&1 </dev/null) &
    pid=$!
    echo "$pid" >"$ED_RUN/$svc.pid"
    timeout=${EDLIVE_START_TIMEOUT:-60}
    for ((i = 0; i < timeout * 10; i++)); do
        if ! pid_alive "$pid"; then
            wait "$pid" 2>/dev/null && rc=0 || rc=$?
            log_tail "$log" 40
            die "ed-$svc exited during start-up (exit status $rc; log above: $log)" \
                "fix the cause shown in the log, then rerun"
        fi
        if [ "$kind" = relay ]; then
            # Up once it has connected to PostgreSQL and Redis and taken the relay lock.
            grep -q "relaying the event log" "$log" 2>/dev/null && [ "$i" -ge 3 ] && break
        elif [ "$kind" = api ]; then
            # Up when it answers; without a session that answer is 401.
            code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$port/api/v1/departments" 2>/dev/null || true)
            [ "$code" = 401 ] && break
        else
            port_owned_by "$port" "$pid" && break
        fi
        sleep 0.1
    done
    if [ "$i" -lt $((timeout * 10)) ]; then
        disown "$pid" 2>/dev/null || true # no "Killed" job notice when a test kills it later
        ok "ed-$svc running (PID $pid${port:+, port $port})"
        return 0
    fi
    log_tail "$log" 40
    die "ed-$svc (PID $pid) did not answer on port $port within ${timeout}s (log above: $log)" \
        "for ed-api the check is: curl -fsS http://127.0.0.1:$port/api/v1/departments"
}

ed_app_stop() {
    local pid
    pid=$(ed_svc_pid "$1")
    [ -n "$pid" ] && stop_pid "$pid" "ed-$1" 15
    return 0
}

# ---------------------------------------------------------------------------------------------
# nginx (runs as root with its own prefix in the state folder)
ED_NGINX_TEMPLATE=$ED_REPO/deploy/nginx/edlive.conf.template

ed_nginx_args() { echo "-p $ED_STATE/nginx/ -c $ED_STATE/nginx/edlive.conf -e $ED_LOGS/nginx-error.log"; }

# A self-signed certificate for 127.0.0.1 and localhost, made once per state folder.
ed_tls_cert() {
    local dir=$EDLIVE_TLS_DIR
    [ -s "$dir/cert.pem" ] && [ -s "$dir/key.pem" ] && return 0
    mkdir -p "$dir"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 825 \
        -subj "/CN=edlive local" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
        -keyout "$dir/key.pem" -out "$dir/cert.pem" >/dev/null 2>&1 ||
        die "openssl could not make a local certificate in $dir" "apt-get install openssl"
    chmod 600 "$dir/key.pem"
    ok "local TLS certificate made: $dir/cert.pem (self-signed; the browser will ask once)"
}

ed_nginx_render() {
    local dir=$ED_STATE/nginx t
    ed_tls_cert
    [ -r "$ED_NGINX_TEMPLATE" ] || die "missing $ED_NGINX_TEMPLATE"
    mkdir -p "$dir" "$ED_RUN" "$ED_LOGS"
    for t in client_body proxy fastcgi uwsgi scgi; do mkdir -p "$dir/tmp/$t"; done
    sed -e "s|@HTTP_PORT@|$EDLIVE_HTTP_PORT|g" -e "s|@API_PORT@|$EDLIVE_API_PORT|g" \
        -e "s|@HUB_PORT@|$EDLIVE_HUB_PORT|g" -e "s|@WEB_ROOT@|$ED_REPO/web|g" \
        -e "s|@NGINX_DIR@|$dir|g" -e "s|@LOGS@|$ED_LOGS|g" -e "s|@RUN@|$ED_RUN|g" \
        -e "s|@MODE@|$ED_MODE|g" -e "s|@HTTPS_PORT@|$EDLIVE_HTTPS_PORT|g" \
        -e "s|@TLS_DIR@|$EDLIVE_TLS_DIR|g" -e "s|@API_SERVERS@|$(ed_upstream_servers api)|g" \
        -e "s|@HUB_SERVERS@|$(ed_upstream_servers hub)|g" \
        -e "s|@RELAY_OPS_PORT@|$EDLIVE_RELAY_OPS_PORT|g" -e "s|@MLLP_OPS_PORT@|$EDLIVE_MLLP_OPS_PORT|g" \
        "$ED_NGINX_TEMPLATE" >"$dir/edlive.conf.tmp"
    mv "$dir/edlive.conf.tmp" "$dir/edlive.conf"
    local out
    # shellcheck disable=SC2046
    if ! out=$(nginx $(ed_nginx_args) -t 2>&1); then
        echo "$out" >&2
        die "nginx rejects the generated config $dir/edlive.conf (above)" \
            "fix deploy/nginx/edlive.conf.template"
    fi
}

ed_nginx_start() {
    local pid i code
    command -v nginx >/dev/null || die "nginx is not installed" "apt-get install nginx"
    ed_nginx_render
    pid=$(ed_svc_pid nginx)
    if [ -n "$pid" ]; then
        say "Reloading nginx (PID $pid) with the new config"
        # shellcheck disable=SC2046
        nginx $(ed_nginx_args) -s reload || die "nginx -s reload failed" "see $ED_LOGS/nginx-error.log"
    else
        ed_check_port nginx
        say "Starting nginx on 127.0.0.1:$EDLIVE_HTTP_PORT"
        # shellcheck disable=SC2046
        if ! nginx $(ed_nginx_args); then
            log_tail "$ED_LOGS/nginx-error.log"
            die "nginx did not start (log above)" \
                "if it says 'Address already in use': EDLIVE_HTTP_PORT=<free port> deploy/local/$ED_SCRIPT"
        fi
    fi
    for ((i = 0; i < 100; i++)); do
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$EDLIVE_HTTP_PORT/" 2>/dev/null || true)
        pid=$(ed_svc_pid nginx)
        if [ -n "$pid" ] && [ "${code:-000}" != 000 ]; then
            ok "nginx running (PID $pid, port $EDLIVE_HTTP_PORT)"
            return 0
        fi
        sleep 0.1
    done
    log_tail "$ED_LOGS/nginx-error.log"
    die "nginx does not answer on 127.0.0.1:$EDLIVE_HTTP_PORT" \
        "see $ED_LOGS/nginx-error.log and $ED_STATE/nginx/edlive.conf"
}

# Through nginx: /api/ and /fhir/ reach ed-api and /ws upgrades to a WebSocket on ed-hub.
ed_check_proxy() {
    local base=$EDLIVE_BASE_URL code
    code=$(curl -sk -o /dev/null -w '%{http_code}' --max-time 5 "$base/api/v1/departments" || true)
    [ "$code" = 401 ] || die "GET $base/api/v1/departments through nginx gave HTTP ${code:-nothing}, not 401 (no session)" \
        "see $ED_LOGS/nginx-error.log and $ED_LOGS/api.log"
    code=$(curl -sk -o /dev/null -w '%{http_code}' --max-time 5 "$base/fhir/R4/metadata" || true)
    [ "$code" = 200 ] || die "GET $base/fhir/R4/metadata through nginx gave HTTP ${code:-nothing}, not 200" \
        "see $ED_LOGS/nginx-error.log and $ED_LOGS/api.log"
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$EDLIVE_PLAIN_URL/board.html" || true)
    [ "$code" = 301 ] || die "plain HTTP $EDLIVE_PLAIN_URL gave HTTP ${code:-nothing}, not a 301 to HTTPS" \
        "see $ED_STATE/nginx/edlive.conf"
    ok "nginx serves TLS, passes /api/ to ed-api (401 without a session) and /fhir/ (metadata) and redirects plain HTTP"
}

ed_nginx_stop() {
    local pid
    pid=$(ed_svc_pid nginx)
    [ -n "$pid" ] && stop_pid "$pid" nginx 10
    return 0
}

# ---------------------------------------------------------------------------------------------
# Generic start/stop/kill by service name (svc, down)
ed_start() {
    if ed_is_cluster; then
        case $(ed_kind "$1") in
            pg) ed_pg_node_start "$1"; return ;;
            redis) ed_redis_node_start "$1"; return ;;
            sentinel) ed_sentinel_start "$1"; return ;;
        esac
    fi
    case $(ed_kind "$1") in
        pg) ed_pg_start ;;
        redis) ed_redis_start ;;
        api | hub | relay | mllp) ed_app_start "$1" ;;
        nginx) ed_nginx_start ;;
    esac
}

ed_stop() {
    if ed_is_cluster && [ "$(ed_kind "$1")" = pg ]; then
        ed_pg_node_stop "$1"
        return
    fi
    case $(ed_kind "$1") in
        pg) ed_pg_stop ;;
        redis | sentinel) local pid; pid=$(ed_svc_pid "$1"); [ -z "$pid" ] || stop_pid "$pid" "$(ed_svc_label "$1")" 10 ;;
        api | hub | relay | mllp) ed_app_stop "$1" ;;
        nginx) ed_nginx_stop ;;
    esac
}

ed_kill() {
    local pid
    pid=$(ed_svc_pid "$1")
    if [ -z "$pid" ]; then
        info "$(ed_svc_label "$1") is not running"
        return 0
    fi
    kill_tree "$pid"
    ok "$(ed_svc_label "$1") (PID $pid) killed with SIGKILL"
}

ed_stop_all() {
    local i s pid
    for ((i = ${#ED_ALL_SERVICES[@]} - 1; i >= 0; i--)); do
        s=${ED_ALL_SERVICES[i]}
        pid=$(ed_svc_pid "$s")
        if [ -n "$pid" ]; then
            ed_stop "$s"
            info "stopped $(ed_svc_label "$s") (PID $pid)"
        fi
    done
}

ed_any_running() {
    local s
    for s in "${ED_ALL_SERVICES[@]}"; do
        [ -n "$(ed_svc_pid "$s")" ] && return 0
    done
    return 1
}

ed_status() {
    local s pid var
    for s in "${ED_ALL_SERVICES[@]}"; do
        pid=$(ed_svc_pid "$s")
        var=$(ed_svc_portvar "$s")
        if [ -n "$pid" ]; then
            printf '  %-26s running  PID %-8s port %s\n' "$(ed_svc_label "$s")" "$pid" "${var:+${!var}}"
        else
            printf '  %-26s stopped\n' "$(ed_svc_label "$s")"
        fi
    done
}

# Fails (returns 1) when a service log (in the state folder, or already copied to
# test-artifacts/logs) holds a patient's name or MRN, from the list in $1 (one per line);
# prints where, never what.
ed_scan_phi_logs() {
    local list=$1 f found=0 hits
    [ -s "$list" ] || return 0
    for f in "$ED_LOGS"/*.log "$EDLIVE_ARTIFACTS"/logs/*.log; do
        [ -f "$f" ] || continue
        # ctest's own output (test names, "Test time") is the runner's, not a service's log.
        case ${f##*/} in ctest-*.log) continue ;; esac
        hits=$(grep -nwF -f "$list" "$f" | cut -d: -f1 | head -n 20 | tr '\n' ' ')
        if [ -n "$hits" ]; then
            found=1
            printf '%spatient data in %s, line(s) %s%s\n' "$_R" "$f" "$hits" "$_0" >&2
        fi
    done
    return $found
}

# Print sanitizer reports found in the service logs; returns 1 if there are any.
ed_scan_sanitizer_logs() {
    local pattern='ERROR: AddressSanitizer|runtime error:|LeakSanitizer|ERROR: UndefinedBehaviorSanitizer|WARNING: ThreadSanitizer'
    local files=() f found=0
    for f in "$ED_LOGS"/*.log "$ED_LOGS"/asan.* "$ED_LOGS"/ubsan.*; do
        [ -f "$f" ] && files+=("$f")
    done
    [ ${#files[@]} -gt 0 ] || return 0
    for f in "${files[@]}"; do
        if grep -qE "$pattern" "$f"; then
            found=1
            printf '\n%s=== sanitizer report in %s ===%s\n' "$_R" "$f" "$_0" >&2
            grep -nE -A 40 "$pattern" "$f" | head -n 200 >&2
        fi
    done
    return $found
}

# shellcheck source=deploy/local/cluster.sh
. "$ED_REPO/deploy/local/cluster.sh"
