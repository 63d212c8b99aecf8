#!/usr/bin/env bash
# deploy/tests/systemd_real.sh: edlive installed and run under a real systemd, as an operator
# following deploy/README.md "systemd" would: a Debian 12 container booted by systemd-nspawn
# (systemd as its PID 1, its own PostgreSQL 15 and Redis from Debian's packages, a private
# network with only loopback), deploy/systemd/install run in it, then
#   - the roles, database and /etc/edlive/pgpass of README step 1, EDLIVE_MLLP_STAFF set;
#   - systemctl enable --now edlive.target and every service (README step 3);
#   - every unit active, the migration's oneshot succeeded, /readyz of ed-api, ed-hub and the
#     ops ports of ed-relay and ed-mllp answer 200 through the running services;
#   - edlivectl as the user edlive with the env files loaded (README step 5: user add admin);
#   - systemctl reload (when a unit has ExecReload=) and restart ed-hub: a new process, ready
#     again, and no service restarted by systemd after a failure (a hardening setting that
#     breaks a service shows up here: a SystemCallFilter refusal is a crash, status=31/SYS);
#   - systemd-analyze security: each service's exposure 2.0 or better, as the offline test.
#
# Usage: deploy/tests/systemd_real.sh [--build DIR] [--keep]
#   --build DIR  the build folder with the binaries (default <repo>/build; an optimized build,
#                not build-asan: the container has no sanitizer runtime)
#   --keep       leave the container running at the end and print how to enter it
# Environment: EDLIVE_SYSTEMD_ROOT  the Debian 12 root kept between runs (made once by
#              debootstrap, which needs Debian's package mirror; default
#              /var/tmp/edlive-systemd-root); TMPDIR  where each run's overlay goes.
#
# Needs root, systemd-nspawn (apt-get install systemd-container), overlayfs, and debootstrap
# the first time. Exits 77 (skipped) with the reason when one is missing; 0 when everything
# passed, 1 at the first failure (with the unit's journal). About 2 minutes with the root
# made; the first run adds the debootstrap (several minutes, network). Not in ctest for that
# reason (deploy/README.md "The tests of these files").
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
BUILD=$REPO/build
KEEP=0
ROOT=${EDLIVE_SYSTEMD_ROOT:-/var/tmp/edlive-systemd-root}
# What the container needs beyond debootstrap's minbase: systemd, PostgreSQL and Redis as an
# installation has them, the services' libraries, curl for /readyz.
PACKAGES=systemd,systemd-sysv,dbus,postgresql-15,redis-server,libwebsockets17,libwebsockets-evlib-uv,libuv1,libhiredis0.14,libjansson4,libpq5,libargon2-1,libssl3,ca-certificates,curl,procps
BINARIES=(services/api/ed-api services/hub/ed-hub services/relay/ed-relay services/mllp/ed-mllp
          services/ctl/edlivectl)
SERVICES=(ed-relay.service ed-api.service ed-hub.service ed-mllp.service)

say() { printf '==> %s\n' "$*"; }
skip() { printf 'systemd_real: SKIP: %s\n' "$*" >&2; exit 77; }
fail() { printf 'systemd_real: FAIL: %s\n' "$*" >&2; exit 1; }

while [ $# -gt 0 ]; do
    case $1 in
        --build) [ $# -ge 2 ] || fail "--build needs a folder"; BUILD=$2; shift ;;
        --keep) KEEP=1 ;;
        -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) fail "unknown argument '$1' (see --help)" ;;
    esac
    shift
done

[ "$(id -u)" = 0 ] || skip "needs root (debootstrap, overlayfs, systemd-nspawn)"
command -v systemd-nspawn >/dev/null || skip "no systemd-nspawn: apt-get install systemd-container"
for b in "${BINARIES[@]}"; do
    [ -x "$BUILD/$b" ] || skip "$BUILD/$b is missing: build first (cmake --build build)"
done
grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null || skip "no overlayfs in this kernel"

# ---- the Debian 12 root, made once -----------------------------------------------------------
if [ ! -x "$ROOT/lib/systemd/systemd" ] || [ ! -x "$ROOT/usr/lib/postgresql/15/bin/postgres" ]; then
    command -v debootstrap >/dev/null || skip "no Debian root at $ROOT and no debootstrap to make one: apt-get install debootstrap"
    say "Making the Debian 12 root $ROOT (debootstrap, once; needs Debian's mirror)"
    rm -rf "$ROOT.new"
    mkdir -p "$(dirname "$ROOT")"
    if ! debootstrap --variant=minbase --include="$PACKAGES" bookworm "$ROOT.new" >"$ROOT.log" 2>&1; then
        tail -5 "$ROOT.log" >&2
        rm -rf "$ROOT.new"
        skip "debootstrap failed (output above, all in $ROOT.log): no network to Debian's mirror?"
    fi
    rm -rf "$ROOT"
    mv "$ROOT.new" "$ROOT"
fi

# ---- this run's copy: an overlay on the root, thrown away at the end ------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/edlive-systemd.XXXXXX")
MERGED=$WORK/merged
NSPAWN_PID='' LEADER=''
mkdir -p "$WORK/upper" "$WORK/work" "$MERGED"
mount -t overlay overlay -o "lowerdir=$ROOT,upperdir=$WORK/upper,workdir=$WORK/work" "$MERGED" ||
    skip "cannot mount an overlay on $ROOT here"

cleanup() {
    local rc=$?
    if [ "$KEEP" = 1 ] && [ -n "$LEADER" ]; then
        printf '\nThe container runs on (--keep): enter it with  nsenter -t %s -a bash\n' "$LEADER"
        printf 'stop it with  kill %s; then umount %s; rm -rf %s\n' "$NSPAWN_PID" "$MERGED" "$WORK"
        exit $rc
    fi
    if [ -n "$NSPAWN_PID" ] && kill -0 "$NSPAWN_PID" 2>/dev/null; then
        # nspawn turns SIGTERM into an orderly shutdown of the container's systemd.
        kill -TERM "$NSPAWN_PID" 2>/dev/null || true
        for _ in $(seq 1 60); do kill -0 "$NSPAWN_PID" 2>/dev/null || break; sleep 0.5; done
        kill -KILL "$NSPAWN_PID" 2>/dev/null || true
        wait "$NSPAWN_PID" 2>/dev/null || true
    fi
    umount "$MERGED" 2>/dev/null || umount -l "$MERGED" 2>/dev/null || true
    rm -rf "$WORK"
    exit $rc
}
trap cleanup EXIT

say "The release into the container: the repository's files and the build's binaries"
mkdir -p "$MERGED/opt/edlive/src" "$MERGED/opt/edlive/build"
tar -C "$REPO" --exclude=./.git --exclude='./build*' --exclude=./.state --exclude=./test-artifacts \
    --exclude=node_modules -cf - . | tar -C "$MERGED/opt/edlive/src" -xf -
for b in "${BINARIES[@]}"; do
    install -D -m 0755 "$BUILD/$b" "$MERGED/opt/edlive/build/$b"
done

# ---- boot ------------------------------------------------------------------------------------
say "Booting the container (systemd-nspawn -b)"
# --register=no --keep-unit: no machined or systemd needed on this side (a container host).
systemd-nspawn --quiet --boot --directory="$MERGED" --machine="edlive-test-$$" --register=no \
    --keep-unit --private-network --console=pipe >"$WORK/console.log" 2>&1 </dev/null &
NSPAWN_PID=$!
# The container's PID 1 is nspawn's child once that child has become systemd (it forks helpers
# first).
for _ in $(seq 1 100); do
    child=$(awk '{print $1}' "/proc/$NSPAWN_PID/task/$NSPAWN_PID/children" 2>/dev/null || true)
    if [ -n "$child" ] && [ "$(cat "/proc/$child/comm" 2>/dev/null)" = systemd ]; then
        LEADER=$child
        break
    fi
    kill -0 "$NSPAWN_PID" 2>/dev/null || break
    sleep 0.2
done
if [ -z "$LEADER" ]; then
    cat "$WORK/console.log" >&2
    skip "systemd-nspawn could not boot the container here (its output above)"
fi
# inside CMD...: runs a command in the container (its namespaces: mount, pid, network, ...), clean environment.
inside() { nsenter --target "$LEADER" --all -- /usr/bin/env -i PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin LANG=C.UTF-8 "$@"; }
# Until its systemd listens, systemctl cannot connect: ask again for up to 90 s.
for _ in $(seq 1 90); do
    state=$(inside timeout 90 systemctl is-system-running --wait 2>&1 || true)
    case $state in running | degraded) break ;; esac
    sleep 1
done
case $state in
    running) ;;
    degraded) inside systemctl --failed --no-pager >&2; fail "the container booted degraded (failed units above)" ;;
    *) fail "the container's systemd did not finish booting: '$state'" ;;
esac
[ "$(inside readlink /proc/1/exe)" = /usr/lib/systemd/systemd ] || [ "$(inside readlink /proc/1/exe)" = /lib/systemd/systemd ] ||
    fail "PID 1 of the container is not systemd"
printf '    systemd %s is PID 1, PostgreSQL %s, Redis %s\n' "$(inside systemctl --version | awk 'NR == 1 {print $2}')" \
    "$(inside systemctl is-active postgresql@15-main.service)" "$(inside systemctl is-active redis-server.service)"

# ---- README "systemd": install, then steps 1-3 ----------------------------------------------
say "deploy/systemd/install"
inside /opt/edlive/src/deploy/systemd/install --build /opt/edlive/build | sed 's/^/    /'

say "Step 1: PostgreSQL roles and database, /etc/edlive/pgpass"
owner_pw=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
app_pw=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
inside runuser -u postgres -- psql -XAtq -v ON_ERROR_STOP=1 \
    -c "CREATE ROLE edlive LOGIN PASSWORD '$owner_pw'" \
    -c "CREATE ROLE edlive_app LOGIN PASSWORD '$app_pw'" \
    -c "CREATE DATABASE edlive OWNER edlive"
# Written through the file install made (mode 600, owner edlive), as an editor would.
printf '127.0.0.1:5432:edlive:edlive_app:%s\n127.0.0.1:5432:edlive:edlive:%s\n' "$app_pw" "$owner_pw" |
    inside sh -c 'cat > /etc/edlive/pgpass'
[ "$(inside stat -c '%a %U' /etc/edlive/pgpass)" = "600 edlive" ] || fail "/etc/edlive/pgpass is not 600 edlive"

say "The migration (edlive-migrate.service), then ed-mllp's interface staff member"
inside systemctl start edlive-migrate.service ||
    { inside journalctl -u edlive-migrate.service --no-pager -n 30 >&2; fail "edlive-migrate.service failed (journal above)"; }
staff=$(inside runuser -u postgres -- psql -d edlive -XAtq -v ON_ERROR_STOP=1 \
    -c "INSERT INTO staff (display_name, role) VALUES ('HL7 interface', 'registration') RETURNING id")
printf 'EDLIVE_MLLP_STAFF=%s\n' "$staff" | inside sh -c 'cat >> /etc/edlive/ed-mllp.env'

say "Step 3: systemctl enable --now edlive.target and the services"
inside systemctl enable --now edlive.target edlive-migrate.service "${SERVICES[@]}" 2>&1 | sed 's/^/    /'

# Every service active and its /readyz 200 within 30 s; the journal of the first that is not.
declare -A READY=([ed-api.service]=8481 [ed-hub.service]=8482 [ed-relay.service]=8488
                  [ed-mllp.service]=8489 [ed-api@8483.service]=8483 [ed-hub@8487.service]=8487)
check_ready() {
    local unit ok
    for unit in "$@"; do
        ok=0
        for _ in $(seq 1 60); do
            if [ "$(inside systemctl is-active "$unit")" = active ] &&
                inside curl -fs -o /dev/null "http://127.0.0.1:${READY[$unit]}/readyz"; then
                ok=1
                break
            fi
            sleep 0.5
        done
        if [ $ok = 0 ]; then
            inside systemctl status --no-pager "$unit" >&2 || true
            inside journalctl -u "$unit" --no-pager -n 40 >&2 || true
            fail "$unit is not active and ready (/readyz on ${READY[$unit]}); status and journal above"
        fi
        printf '    %-18s active, /readyz 200 (port %s)\n' "$unit" "${READY[$unit]}"
    done
}
check_ready "${SERVICES[@]}"
[ "$(inside systemctl show -p Result --value edlive-migrate.service)" = success ] || fail "edlive-migrate.service did not succeed"
[ "$(inside systemctl is-active edlive.target)" = active ] || fail "edlive.target is not active"
inside systemctl status --no-pager --lines=3 edlive.target "${SERVICES[@]}" | sed 's/^/    /' || true

# EDLIVE_LISTEN=127.0.0.1 (edlive.env): every port listens there only (/proc/net/tcp, state 0A
# LISTEN; 0100007F is 127.0.0.1), not on every address.
say "Listening on EDLIVE_LISTEN (127.0.0.1) only"
for port in 8481 8482 8484 8488 8489; do
    hex=$(printf '%04X' "$port")
    addrs=$(inside cat /proc/net/tcp /proc/net/tcp6 | awk -v p=":$hex" '$2 ~ p"$" && $4 == "0A" {print $2}' | sort -u | tr '\n' ' ')
    [ "$addrs" = "0100007F:$hex " ] || fail "port $port listens on '$addrs', not on 127.0.0.1 only (0100007F:$hex)"
done
printf '    8481 8482 8484 8488 8489: 127.0.0.1 only\n'

say "A second ed-api and ed-hub (templates ed-api@8483, ed-hub@8487) for restarts nobody notices"
inside systemctl enable --now ed-api@8483.service ed-hub@8487.service 2>&1 | sed 's/^/    /'
check_ready ed-api@8483.service ed-hub@8487.service

say "Step 5: edlivectl as the user edlive with the settings loaded (the first administrator)"
added=$(printf 'a-first-admin-password-1\n' | inside runuser -u edlive -- sh -c \
    'set -a; . /etc/edlive/edlive.env; . /etc/edlive/edlivectl.env; edlivectl user add first.admin admin')
grep -v '^otpauth:' <<<"$added" | sed 's/^/    /'
# An administrator signs in with a TOTP code: the secret edlivectl printed, the code made here.
secret=$(sed -n 's/^otpauth:.*[?&]secret=\([A-Z2-7]*\).*/\1/p' <<<"$added")
[ -n "$secret" ] || fail "edlivectl user add printed no TOTP secret for the administrator"
totp=$(python3 -c 'import base64, hashlib, hmac, struct, sys, time
mac = hmac.new(base64.b32decode(sys.argv[1]), struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest()
o = mac[-1] & 15
print("%06d" % ((struct.unpack(">I", mac[o:o + 4])[0] & 0x7FFFFFFF) % 1000000))' "$secret")
inside runuser -u edlive -- sh -c 'set -a; . /etc/edlive/edlive.env; . /etc/edlive/edlivectl.env; edlivectl migrate status' |
    tail -n 2 | sed 's/^/    /'
code=$(inside curl -s -o /dev/null -w '%{http_code}' -H 'content-type: application/json' \
    -d "{\"username\":\"first.admin\",\"password\":\"a-first-admin-password-1\",\"totp\":\"$totp\"}" \
    http://127.0.0.1:8481/api/v1/session)
[ "$code" = 201 ] || fail "the administrator edlivectl made does not sign in through ed-api (HTTP $code)"
printf '    first.admin signs in through ed-api with its password and TOTP code (201)\n'

say "Reload and restart ed-hub"
pid_before=$(inside systemctl show -p MainPID --value ed-hub.service)
if [ -n "$(inside systemctl show -p ExecReload --value ed-hub.service)" ]; then
    inside systemctl reload ed-hub.service
    [ "$(inside systemctl show -p MainPID --value ed-hub.service)" = "$pid_before" ] || fail "systemctl reload ed-hub replaced the process"
    printf '    reload: same process (%s), still active\n' "$pid_before"
else
    printf '    reload: the unit has no ExecReload= (skipped)\n'
fi
inside systemctl restart ed-hub.service
pid_after=$(inside systemctl show -p MainPID --value ed-hub.service)
[ "$pid_after" != "$pid_before" ] || fail "systemctl restart ed-hub kept process $pid_before"
check_ready "${SERVICES[@]}"
for unit in "${SERVICES[@]}"; do
    n=$(inside systemctl show -p NRestarts --value "$unit")
    [ "$n" = 0 ] || { inside journalctl -u "$unit" --no-pager -n 40 >&2; fail "$unit was restarted $n times by systemd after a failure (journal above)"; }
done
printf '    restart: ed-hub %s -> %s; no service restarted after a failure\n' "$pid_before" "$pid_after"

say "systemd-analyze security"
for unit in edlive-migrate.service "${SERVICES[@]}" ed-api@8483.service ed-hub@8487.service; do
    line=$(inside systemd-analyze security --no-pager "$unit" | grep 'Overall exposure level')
    printf '    %s\n' "$line"
    score=$(sed -E 's/.*: ([0-9.]+) .*/\1/' <<<"$line")
    awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' || fail "$unit: exposure $score, worse than 2.0"
done

say "systemctl stop edlive.target: every service drains and exits by itself"
inside systemctl stop edlive.target
for unit in "${SERVICES[@]}" ed-api@8483.service ed-hub@8487.service; do
    [ "$(inside systemctl is-active "$unit")" = inactive ] || fail "$unit still runs after stopping edlive.target"
    [ "$(inside systemctl show -p Result --value "$unit")" = success ] ||
        { inside journalctl -u "$unit" --no-pager -n 20 >&2; fail "$unit did not stop cleanly (journal above)"; }
done
printf '    all stopped, each with result success (no SIGKILL after TimeoutStopSec)\n'

say "PASS: edlive ran under systemd (container PID 1) with the installed units"
