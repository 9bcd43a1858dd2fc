# shellcheck shell=bash
# Redis: a local server without persistence (or the one REDIS_URL names).
# Sourced by scripts/stack-up.sh (after stack-lib.sh), never executed: defines up_redis.

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
