# shellcheck shell=bash
# Temporal: the dev server from the Temporal CLI (or the one TEMPORAL_ADDRESS names) and its search attributes.
# Sourced by scripts/stack-up.sh (after stack-lib.sh), never executed: defines up_temporal.

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
