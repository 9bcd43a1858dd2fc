# shellcheck shell=bash
# PostgreSQL: a project-local cluster (or the one DATABASE_URL names), its role and databases.
# Sourced by scripts/stack-up.sh (after stack-lib.sh), never executed: defines up_postgres and ensure_external_test_db.

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
# (src/connections/app-role.ts). $1 = psql connection arguments for a superuser.
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
# Written by scripts/stack/postgres.sh on every start: edit that script, not this file.
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
