#!/usr/bin/env bash
# Stops the background services that the stack scripts started.
#
#   bash scripts/stack-down.sh [--wipe] [postgres|redis|temporal ...]   (no service: all three)
#
# Only processes named by a pid file under .stack/ (PostgreSQL: the project cluster's
# postmaster.pid) are stopped; a service someone else runs on the same port is left alone.
# Without service names it stops the outage stack too (.stack/outage, which a whole `npm test`
# starts; RIPCORD_STACK=outage stops only that one).
# Data stays in .stack/ (Temporal's history in .stack/temporal/temporal.db survives a restart);
# --wipe also deletes the named services' data.
set -euo pipefail

# shellcheck source=scripts/stack-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/stack-lib.sh"

WIPE=0
names=()
for arg in "$@"; do
  case $arg in
    --wipe) WIPE=1 ;;
    -h | --help)
      sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *) names+=("$arg") ;;
  esac
done
parse_services "${names[@]+"${names[@]}"}"

T0=$(now_ms)
stack_lock
pg_layout

# Reports a service without a pid file of ours: either not running or someone else's.
not_ours() {
  if port_open "$LOCAL_IP" "$2"; then
    log "$(printf '%-9s' "$1") not started by these scripts; left running"
  else
    log "$(printf '%-9s' "$1") not running"
  fi
}

# wait_gone <pid> <seconds>: true once the process has exited.
wait_gone() {
  local deadline=$((SECONDS + $2))
  while [[ -d /proc/$1 ]]; do
    # A zombie has exited; its parent (not us) reaps it.
    [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) != Z ]] || return 0
    ((SECONDS < deadline)) || return 1
    sleep 0.05
  done
}

# stop_pid <name> <pid> <log>: SIGTERM, bounded wait, SIGKILL as a last resort.
stop_pid() {
  kill -TERM "$2" 2>/dev/null || true
  wait_gone "$2" 30 && return 0
  warn "$1 (pid $2) ignored SIGTERM for 30s; killing it (see $3)"
  kill -KILL "$2" 2>/dev/null || true
  wait_gone "$2" 10 || die "$1 (pid $2) is still alive after SIGKILL"
}

down_temporal() {
  local pid
  pid=$(temporal_ours_pid)
  if [[ -z $pid ]]; then
    rm -f "$TEMPORAL_PIDFILE"
    not_ours temporal "$TEMPORAL_PORT"
    return 0
  fi
  # SIGTERM is a clean shutdown: the SQLite db file keeps every workflow's history.
  printf '=== %s stack-down.sh: stopping pid %s\n' "$(date -Is)" "$pid" >>"$TEMPORAL_LOG"
  stop_pid temporal "$pid" "$TEMPORAL_LOG"
  rm -f "$TEMPORAL_PIDFILE"
  log "temporal  stopped (pid $pid)"
}

down_redis() {
  local pid
  pid=$(redis_ours_pid)
  if [[ -z $pid ]]; then
    not_ours redis "$REDIS_PORT"
    return 0
  fi
  # nosave: Redis is a projection rebuilt from Postgres, so a snapshot would only cost time.
  timeout 10 redis-cli -h "$LOCAL_IP" -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  wait_gone "$pid" 15 || stop_pid redis "$pid" "$REDIS_LOG"
  rm -f "$REDIS_PIDFILE"
  log "redis     stopped (pid $pid)"
}

down_postgres() {
  local pid bin
  pid=$(pg_ours_pid)
  if [[ -z $pid ]]; then
    not_ours postgres "$PG_PORT"
    return 0
  fi
  # The server binaries matching the cluster's version stop it.
  bin=/usr/lib/postgresql/$(<"$PGDATA_DIR/PG_VERSION")/bin
  [[ -x $bin/pg_ctl ]] || bin=$(pg_bindir)
  # fast: roll back open sessions (tests/dev clients) instead of waiting for them to disconnect.
  as_pg "$bin/pg_ctl" stop -D "$PGDATA_DIR" -m fast -w -t "$WAIT_SECONDS" -s ||
    die "PostgreSQL did not stop within ${WAIT_SECONDS}s; read $PG_LOG"
  log "postgres  stopped (pid $pid)"
}

wipe() {
  case $1 in
    postgres)
      rm -rf "$PG_HOME" "$PG_SOCKDIR" "$STACK_DIR/postgres"
      # The /var/tmp fallback directory, when pg_layout had to use one.
      [[ $PG_HOME == "$STACK_DIR/postgres" ]] || rmdir "$(dirname "$PG_HOME")" 2>/dev/null || true
      ;;
    redis) rm -rf "$REDIS_DIR" ;;
    temporal) rm -rf "$TEMPORAL_DIR" ;;
  esac
  log "$1 data wiped"
}

# Reverse dependency order: Temporal first, the source of truth last.
for ((i = ${#SERVICES[@]} - 1; i >= 0; i--)); do
  "down_${SERVICES[i]}"
  ((WIPE == 0)) || wipe "${SERVICES[i]}"
done
if ((WIPE)) && ((${#SERVICES[@]} == ${#ALL_SERVICES[@]})); then
  rm -f "$ENV_FILE" "$STACK_DIR/started-by-up"
fi
log "done in $(elapsed "$T0")"
if [[ ${RIPCORD_STACK:-main} == main && ${#names[@]} -eq 0 && -d $STACK_DIR/outage ]]; then
  exec 9>&-
  RIPCORD_STACK=outage bash "${BASH_SOURCE[0]}" "$@"
fi
