# shellcheck shell=bash disable=SC2034,SC2153
# deploy/local/cluster.sh: the multi-instance shape (deploy/local/up --cluster, test --cluster),
# sourced by lib.sh. Everything runs on this machine, each instance on its own port:
#
#   pg, pg2                  PostgreSQL primary and streaming replica (synchronous, remote_apply:
#                            a commit is acknowledged once the replica has applied it, so a
#                            promotion loses nothing and replica reads see every answered write)
#   redis, redis2            Redis primary and replica
#   sentinel1..3             Redis Sentinels (master name "edlive", quorum 2, down after 1 s)
#   relay, relay2            ed-relay: one active (advisory lock), one standby
#   api, api2                ed-api
#   hub, hub2, hub3          ed-hub
#   mllp                     ed-mllp (one: an HL7 feed holds one connection)
#   nginx                    TLS, the pages, /api/ and /fhir/ over both APIs, /ws over the hubs
#
# Which node is primary can change (a promotion, a Sentinel failover): the services find it
# themselves (libpq target_session_attrs, Sentinel), and these scripts ask the nodes.

ED_CLUSTER_SERVICES=(pg pg2 redis redis2 sentinel1 sentinel2 sentinel3 relay relay2 api api2 hub hub2 hub3 mllp nginx)
ED_REDIS_MASTER_NAME=edlive

# The ports beside the five of ed_init_mode, each overridable: second and third instances
# next to the first, replicas at +1, Sentinels at 26xxx.
ed_cluster_ports() {
    local base=${EDLIVE_HTTP_PORT:-8580}
    EDLIVE_API2_PORT=${EDLIVE_API2_PORT:-$((base + 5))}
    EDLIVE_HUB2_PORT=${EDLIVE_HUB2_PORT:-$((base + 6))}
    EDLIVE_HUB3_PORT=${EDLIVE_HUB3_PORT:-$((base + 7))}
    EDLIVE_PG2_PORT=${EDLIVE_PG2_PORT:-$((EDLIVE_PG_PORT + 1))}
    EDLIVE_REDIS2_PORT=${EDLIVE_REDIS2_PORT:-$((EDLIVE_REDIS_PORT + 1))}
    EDLIVE_SENTINEL1_PORT=${EDLIVE_SENTINEL1_PORT:-$((EDLIVE_REDIS_PORT - 30000))}
    EDLIVE_SENTINEL2_PORT=${EDLIVE_SENTINEL2_PORT:-$((EDLIVE_REDIS_PORT - 29999))}
    EDLIVE_SENTINEL3_PORT=${EDLIVE_SENTINEL3_PORT:-$((EDLIVE_REDIS_PORT - 29998))}
    ED_CLUSTER_PORT_VARS=(EDLIVE_API2_PORT EDLIVE_HUB2_PORT EDLIVE_HUB3_PORT EDLIVE_PG2_PORT
                          EDLIVE_REDIS2_PORT EDLIVE_SENTINEL1_PORT EDLIVE_SENTINEL2_PORT
                          EDLIVE_SENTINEL3_PORT)
}

# The settings every service gets in the cluster (ed_derive_settings calls it).
ed_cluster_settings() {
    ED_ALL_SERVICES=("${ED_CLUSTER_SERVICES[@]}")
    local both="host=127.0.0.1,127.0.0.1 port=$EDLIVE_PG_PORT,$EDLIVE_PG2_PORT"
    # libpq tries both nodes and keeps the one that takes writes: after a promotion, a service
    # reconnects to the new primary by itself.
    EDLIVE_PG="$both dbname=edlive user=edlive_app target_session_attrs=read-write"
    EDLIVE_PG_OWNER="$both dbname=edlive user=edlive target_session_attrs=read-write"
    EDLIVE_PG_SUPER="$both dbname=edlive user=postgres target_session_attrs=read-write"
    # ed-hub's reads of boards and events: the standby when there is one.
    EDLIVE_PG_REPLICA="host=127.0.0.1,127.0.0.1 port=$EDLIVE_PG2_PORT,$EDLIVE_PG_PORT dbname=edlive user=edlive_app target_session_attrs=prefer-standby"
    EDLIVE_PG_REPLICA_SUPER="host=127.0.0.1,127.0.0.1 port=$EDLIVE_PG2_PORT,$EDLIVE_PG_PORT dbname=edlive user=postgres target_session_attrs=standby"
    EDLIVE_REDIS_SENTINELS="127.0.0.1:$EDLIVE_SENTINEL1_PORT,127.0.0.1:$EDLIVE_SENTINEL2_PORT,127.0.0.1:$EDLIVE_SENTINEL3_PORT"
    EDLIVE_REDIS_MASTER=$ED_REDIS_MASTER_NAME
    EDLIVE_CLUSTER=1
    EDLIVE_API2_URL=http://127.0.0.1:$EDLIVE_API2_PORT
    EDLIVE_HUB_URLS="ws://127.0.0.1:$EDLIVE_HUB_PORT/ws,ws://127.0.0.1:$EDLIVE_HUB2_PORT/ws,ws://127.0.0.1:$EDLIVE_HUB3_PORT/ws"
    ED_ENV_VARS+=("${ED_CLUSTER_PORT_VARS[@]}" EDLIVE_PG_REPLICA EDLIVE_PG_REPLICA_SUPER
                  EDLIVE_REDIS_SENTINELS EDLIVE_REDIS_MASTER EDLIVE_CLUSTER EDLIVE_API2_URL
                  EDLIVE_HUB_URLS)
}

# The kind of an instance: api2 -> api, sentinel3 -> sentinel.
ed_kind() {
    case $1 in
        sentinel[0-9]) echo sentinel ;;
        *[0-9]) echo "${1%[0-9]}" ;;
        *) echo "$1" ;;
    esac
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL nodes. pg2's data lives beside pg's; the application_name a standby streams under
# is its node name, and the primary waits for either name (its own never streams to it).
ed_pg_node_data() { [ "$1" = pg2 ] && echo "$EDLIVE_PG_DIR/data2" || echo "$EDLIVE_PG_DIR/data"; }
ed_pg_node_port() { [ "$1" = pg2 ] && echo "$EDLIVE_PG2_PORT" || echo "$EDLIVE_PG_PORT"; }
ed_pg_other() { [ "$1" = pg2 ] && echo pg || echo pg2; }

# t (standby), f (primary) or nothing (down).
ed_pg_node_recovery() {
    "$ED_PGBIN/psql" -XAtq -h 127.0.0.1 -p "$(ed_pg_node_port "$1")" -U postgres -d postgres \
        -c 'SELECT pg_is_in_recovery()' 2>/dev/null || true
}

ed_pg_node_sql() { # node sql...
    local node=$1
    shift
    "$ED_PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$(ed_pg_node_port "$node")" -U postgres -d postgres "$@"
}

ED_PG_SYNC_NAMES="'FIRST 1 (pg, pg2)'"

# A node down is started: the first node of a new cluster is made by initdb; a node whose
# peer is already the primary is made (again) a standby of it, from a fresh base backup (an
# old primary that a promotion left behind never comes back as a second primary).
ed_pg_node_start() {
    local node=$1 other data port log pid
    other=$(ed_pg_other "$node")
    data=$(ed_pg_node_data "$node")
    port=$(ed_pg_node_port "$node")
    log=$EDLIVE_PG_DIR/$node.log
    pid=$(ed_svc_pid "$node")
    if [ -n "$pid" ] && "$ED_PGBIN/pg_isready" -q -h 127.0.0.1 -p "$port"; then
        ok "PostgreSQL $node already running (PID $pid, port $port): reusing it"
        return 0
    fi
    mkdir -p "$EDLIVE_PG_DIR" "$ED_PGSOCK" "$ED_LOGS"
    chown postgres:postgres "$EDLIVE_PG_DIR" "$ED_PGSOCK"
    chmod 700 "$EDLIVE_PG_DIR"
    touch "$log" && chown postgres:postgres "$log"
    ln -sfn "$log" "$ED_LOGS/$node.log"
    if [ "$(ed_pg_node_recovery "$other")" = f ] &&
        { [ ! -s "$data/PG_VERSION" ] || [ ! -e "$data/standby.signal" ]; }; then
        say "PostgreSQL $node: a new standby of $other (base backup)"
        rm -rf "$data"
        if ! pg_as "$ED_PGBIN/pg_basebackup" -h 127.0.0.1 -p "$(ed_pg_node_port "$other")" -U postgres \
            -D "$data" -R -X stream -c fast >"$EDLIVE_PG_DIR/basebackup.log" 2>&1; then
            log_tail "$EDLIVE_PG_DIR/basebackup.log"
            die "pg_basebackup from $other failed (log above)"
        fi
        # The name the primary's synchronous_standby_names waits for.
        echo "primary_conninfo = 'host=127.0.0.1 port=$(ed_pg_node_port "$other") user=postgres application_name=$node'" |
            pg_as tee -a "$data/postgresql.auto.conf" >/dev/null
    elif [ ! -s "$data/PG_VERSION" ]; then
        [ "$node" = pg ] || die "PostgreSQL $node has no data and $other is not a running primary to copy" \
            "start $other first: deploy/local/svc start $other"
        say "Creating a PostgreSQL 15 cluster in $data"
        pg_as "$ED_PGBIN/initdb" -N -D "$data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
            >"$EDLIVE_PG_DIR/initdb.log" 2>&1 || { log_tail "$EDLIVE_PG_DIR/initdb.log"; die "initdb failed (log above)"; }
    fi
    say "Starting PostgreSQL $node on 127.0.0.1:$port"
    local try
    for try in 1 2 3 4; do
        pg_as "$ED_PGBIN/pg_ctl" -D "$data" -l "$log" -w -t 60 -o "$(ed_pg_node_options "$node")" start >/dev/null && break
        # An outgoing connection made before ed_reserve_ports may still hold the port.
        if [ "$try" -lt 4 ] && tail -n 5 "$log" | grep -q "Address already in use"; then
            warn "port $port is held for a moment by another connection: retrying"
            sleep 3
            continue
        fi
        log_tail "$log"
        die "PostgreSQL $node did not start (log above: $log)"
    done
    if [ -e "$data/standby.signal" ] && [ "$(ed_pg_node_recovery "$other")" != f ]; then
        warn "PostgreSQL $node is a standby but $other is not running as a primary: start $other (deploy/local/svc start $other)"
    elif [ -e "$data/standby.signal" ]; then
        ed_pg_wait_streaming "$node"
        ed_pg_node_sql "$other" -c "ALTER SYSTEM SET synchronous_standby_names = $ED_PG_SYNC_NAMES" -c 'SELECT pg_reload_conf()' >/dev/null ||
            warn "could not make $other wait for $node's commits"
        ok "PostgreSQL $node running as a synchronous standby of $other (PID $(ed_svc_pid "$node"))"
    else
        ok "PostgreSQL $node running as the primary (PID $(ed_svc_pid "$node"))"
    fi
}

ed_pg_node_options() {
    local o port
    port=$(ed_pg_node_port "$1")
    o="-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories='$ED_PGSOCK'"
    o+=" -c log_min_error_statement=panic -c log_error_verbosity=terse"
    o+=" -c wal_level=replica -c max_wal_senders=8 -c hot_standby=on -c hot_standby_feedback=on"
    o+=" -c synchronous_commit=remote_apply -c wal_sender_timeout=5s -c wal_receiver_status_interval=1s"
    [ "$ED_MODE" = test-cluster ] && o+=" -c fsync=off"
    echo "$o"
}

ed_pg_wait_streaming() {
    local node=$1 other i
    other=$(ed_pg_other "$node")
    for ((i = 0; i < 300; i++)); do
        [ "$(ed_pg_node_sql "$other" -tAc "SELECT count(*) FROM pg_stat_replication WHERE application_name = '$node' AND state = 'streaming'" 2>/dev/null)" = 1 ] && return 0
        sleep 0.1
    done
    die "PostgreSQL $node does not stream from $other within 30 s" "see $EDLIVE_PG_DIR/$node.log"
}

# deploy/local/svc promote pg2: the standby becomes the primary (what Patroni does on a
# failover). It stops waiting for a standby that is gone; `svc start pg` brings the old node
# back as the new primary's standby, and the waiting resumes.
ed_pg_promote() {
    local node=$1 i
    [ "$(ed_pg_node_recovery "$node")" = t ] || die "PostgreSQL $node is not a running standby"
    pg_as "$ED_PGBIN/pg_ctl" -D "$(ed_pg_node_data "$node")" -w -t 30 promote >/dev/null ||
        die "pg_ctl promote $node failed"
    for ((i = 0; i < 300; i++)); do
        [ "$(ed_pg_node_recovery "$node")" = f ] && break
        sleep 0.1
    done
    ed_pg_node_sql "$node" -c "ALTER SYSTEM SET synchronous_standby_names = ''" -c 'SELECT pg_reload_conf()' >/dev/null
    ok "PostgreSQL $node promoted: the primary (commits no longer wait for a standby until one rejoins)"
}

ed_pg_node_stop() {
    local node=$1 pid
    pid=$(ed_svc_pid "$node")
    [ -n "$pid" ] || return 0
    # The survivor must not wait for a standby that is stopping on purpose.
    if [ "$(ed_pg_node_recovery "$node")" = t ] && [ "$(ed_pg_node_recovery "$(ed_pg_other "$node")")" = f ]; then
        ed_pg_node_sql "$(ed_pg_other "$node")" -c "ALTER SYSTEM SET synchronous_standby_names = ''" -c 'SELECT pg_reload_conf()' >/dev/null || true
    fi
    pg_as "$ED_PGBIN/pg_ctl" -D "$(ed_pg_node_data "$node")" -m fast -w -t 30 stop >/dev/null 2>&1 ||
        { kill -QUIT "$pid" 2>/dev/null; wait_gone "$pid" 10 || kill_tree "$pid"; }
    wait_gone "$pid" 10 || true
}

# The node that takes writes now (pg or pg2), or nothing.
ed_pg_primary() {
    local n
    for n in pg pg2; do
        [ "$(ed_pg_node_recovery "$n")" = f ] && { echo "$n"; return 0; }
    done
}

# ---------------------------------------------------------------------------------------------
# Redis nodes and Sentinels
ed_redis_node_port() { [ "$1" = redis2 ] && echo "$EDLIVE_REDIS2_PORT" || echo "$EDLIVE_REDIS_PORT"; }
ed_sentinel_port() { local v="EDLIVE_SENTINEL${1#sentinel}_PORT"; echo "${!v}"; }

# host:port of the primary the Sentinels name, or nothing.
ed_redis_master_addr() {
    local s out
    for s in sentinel1 sentinel2 sentinel3; do
        out=$(redis-cli -h 127.0.0.1 -p "$(ed_sentinel_port "$s")" SENTINEL get-master-addr-by-name "$ED_REDIS_MASTER_NAME" 2>/dev/null | tr '\n' ':') || continue
        [[ $out =~ ^[0-9.]+:[0-9]+:$ ]] && { echo "${out%:}"; return 0; }
    done
}

# Up to 10 s for a Redis server or Sentinel just started to answer PING.
ed_wait_ping() {
    local label=$1 node=$2 port=$3 i
    for ((i = 0; i < 100; i++)); do
        redis-cli -h 127.0.0.1 -p "$port" PING >/dev/null 2>&1 && { ok "$label $node running (PID $(ed_svc_pid "$node"))"; return 0; }
        sleep 0.1
    done
    die "$label $node did not answer on port $port" "see $ED_LOGS/$node.log"
}

ed_redis_node_start() {
    local node=$1 port pid replicaof=() master role=''
    port=$(ed_redis_node_port "$node")
    pid=$(ed_svc_pid "$node")
    if [ -n "$pid" ] && redis-cli -h 127.0.0.1 -p "$port" PING >/dev/null 2>&1; then
        ok "Redis $node already running (PID $pid, port $port): reusing it"
        return 0
    fi
    # A node (re)joins as a replica of whoever the Sentinels name; at first, redis2 of redis.
    master=$(ed_redis_master_addr)
    if [ -n "$master" ] && [ "$master" != "127.0.0.1:$port" ]; then
        replicaof=(--replicaof 127.0.0.1 "${master#*:}")
        role=" (replica of $master)"
    elif [ -z "$master" ] && [ "$node" = redis2 ]; then
        replicaof=(--replicaof 127.0.0.1 "$EDLIVE_REDIS_PORT")
        role=" (replica of 127.0.0.1:$EDLIVE_REDIS_PORT)"
    fi
    mkdir -p "$ED_STATE/$node" "$ED_RUN" "$ED_LOGS"
    say "Starting Redis $node on 127.0.0.1:$port$role"
    (cd "$ED_STATE/$node" && redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
        --protected-mode yes --daemonize yes --pidfile "$ED_RUN/$node.pid" \
        --logfile "$ED_LOGS/$node.log" --dir "$ED_STATE/$node" "${replicaof[@]}") ||
        die "redis-server $node did not start" "see $ED_LOGS/$node.log"
    ed_wait_ping Redis "$node" "$port"
}

ed_sentinel_start() {
    local node=$1 port pid dir master
    port=$(ed_sentinel_port "$node")
    pid=$(ed_svc_pid "$node")
    if [ -n "$pid" ]; then
        ok "Sentinel $node already running (PID $pid, port $port): reusing it"
        return 0
    fi
    dir=$ED_STATE/$node
    mkdir -p "$dir" "$ED_RUN" "$ED_LOGS"
    # Watch whoever another Sentinel names (after a failover), else the first primary.
    master=$(ed_redis_master_addr)
    master=${master:-127.0.0.1:$EDLIVE_REDIS_PORT}
    # Sentinel rewrites its file (what it learns): a fresh one at each start.
    cat >"$dir/sentinel.conf" <<CONF
bind 127.0.0.1
port $port
daemonize yes
pidfile $ED_RUN/$node.pid
logfile $ED_LOGS/$node.log
dir $dir
sentinel monitor $ED_REDIS_MASTER_NAME ${master%:*} ${master#*:} 2
sentinel down-after-milliseconds $ED_REDIS_MASTER_NAME 1000
sentinel failover-timeout $ED_REDIS_MASTER_NAME 5000
sentinel parallel-syncs $ED_REDIS_MASTER_NAME 1
CONF
    say "Starting Redis Sentinel $node on 127.0.0.1:$port (watching $master)"
    redis-server "$dir/sentinel.conf" --sentinel || die "Sentinel $node did not start" "see $ED_LOGS/$node.log"
    ed_wait_ping Sentinel "$node" "$port"
}

# Wait until the Sentinels agree on a primary and know its replica (a failover needs both).
ed_sentinels_ready() {
    local i n
    for ((i = 0; i < 200; i++)); do
        n=$(redis-cli -h 127.0.0.1 -p "$EDLIVE_SENTINEL1_PORT" SENTINEL master "$ED_REDIS_MASTER_NAME" 2>/dev/null |
            awk 'prev == "num-other-sentinels" { print; exit } { prev = $0 }')
        if [ "${n:-0}" -ge 2 ] && [ "$(redis-cli -h 127.0.0.1 -p "$EDLIVE_SENTINEL1_PORT" SENTINEL replicas "$ED_REDIS_MASTER_NAME" 2>/dev/null | grep -c '^ip$')" -ge 1 ]; then
            ok "Sentinels agree: primary $(ed_redis_master_addr), a replica, 3 Sentinels"
            return 0
        fi
        sleep 0.1
    done
    warn "the Sentinels have not all found each other and the replica within 20 s"
}

# The primary's redis-cli (for FLUSHALL in tests).
ed_redis_primary_cli() {
    local m
    m=$(ed_redis_master_addr)
    m=${m:-127.0.0.1:$EDLIVE_REDIS_PORT}
    redis-cli -h "${m%:*}" -p "${m#*:}" "$@"
}

# ---------------------------------------------------------------------------------------------
# nginx upstreams: every API and hub instance. Open-source nginx has no active health checks:
# an API that refuses a connection is skipped for fail_timeout (passive), and a request or
# upgrade that could not be sent moves on to the next server.
ed_upstream_servers() {
    local kind=$1 list='' inst port var
    if ! ed_is_cluster; then
        var=$(ed_svc_portvar "$kind")
        echo "server 127.0.0.1:${!var};"
        return
    fi
    for inst in "${ED_CLUSTER_SERVICES[@]}"; do
        [ "$(ed_kind "$inst")" = "$kind" ] || continue
        var=$(ed_svc_portvar "$inst")
        port=${!var}
        # A hub is never marked down: nginx counts a WebSocket a success only when it ends,
        # so a hub marked failed once would be offered one connection per fail_timeout while
        # its sockets last ("no live upstreams" for every screen, measured). A refused connect
        # (a hub stopped) moves on to the next at once anyway (proxy_next_upstream error).
        if [ "$kind" = hub ]; then
            list+="server 127.0.0.1:$port max_fails=0; "
        else
            # Short: a restarted API is back within a second or two, and a rolling restart moves
            # to the next API soon after (both marked down at once: "no live upstreams", measured).
            list+="server 127.0.0.1:$port max_fails=1 fail_timeout=2s; "
        fi
    done
    echo "$list"
}

# Everything, in order (up --cluster, test --cluster). Instances already running are reused.
ed_cluster_start_all() {
    local primary first=pg
    # The node that was the primary when the cluster stopped starts first (after a promotion
    # that is pg2); the other then rejoins as its standby.
    [ -e "$(ed_pg_node_data pg)/standby.signal" ] && [ -s "$(ed_pg_node_data pg2)/PG_VERSION" ] &&
        [ ! -e "$(ed_pg_node_data pg2)/standby.signal" ] && first=pg2
    ed_pg_node_start "$first"
    ed_pg_node_start "$(ed_pg_other "$first")"
    primary=$(ed_pg_primary)
    [ -n "$primary" ] || die "neither PostgreSQL node takes writes" "see $ED_LOGS/pg.log and $ED_LOGS/pg2.log"
    ED_PG_PRIMARY_PORT=$(ed_pg_node_port "$primary")
    ed_pg_database "${1:-}"
    ed_redis_node_start redis
    ed_redis_node_start redis2
    ed_sentinel_start sentinel1
    ed_sentinel_start sentinel2
    ed_sentinel_start sentinel3
    ed_sentinels_ready
    if [ "${1:-}" = fresh ]; then
        ed_redis_primary_cli FLUSHALL >/dev/null || die "redis FLUSHALL on the primary failed"
        ok "Redis flushed"
    fi
    ed_ctl migrate
    ed_ctl seed-demo
    local s
    for s in relay relay2 api api2 hub hub2 hub3 mllp; do ed_app_start "$s"; done
    ed_nginx_start
    ed_check_proxy
}

# A test run starts from nothing: no database, no Redis data, no Sentinel memory.
ed_cluster_wipe() {
    rm -rf "$EDLIVE_PG_DIR/data" "$EDLIVE_PG_DIR/data2" "$ED_STATE"/redis "$ED_STATE"/redis2 "$ED_STATE"/sentinel[123]
}
