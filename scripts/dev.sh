#!/usr/bin/env bash
# `npm run dev`: everything needed to run Ripcord locally, from a fresh machine.
#
#   npm ci (when node_modules is missing or stale) -> stack-up (PostgreSQL, Redis, Temporal)
#   -> npm run migrate -> npm run seed -> worker + API in the background of this shell.
#
# Honours DATABASE_URL, MIGRATION_DATABASE_URL, REDIS_URL, TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE and PORT (default 8080).
# RIPCORD_ADMIN_TOKEN defaults to a dev token, printed below. Ctrl-C, or SIGINT/SIGTERM to the npm
# process alone (package.json execs this script, so npm's forwarded signal reaches it), stops the
# API, the worker and the services this run started (services it found running are left alone).
# One run per checkout: a second one refuses to start and touches nothing of the first.
set -euo pipefail

# shellcheck source=scripts/stack-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/stack-lib.sh"
cd "$RIPCORD_ROOT"

say() { printf '[dev] %s\n' "$*"; }

T0=$(now_ms)
# One `npm run dev` per checkout: .stack/dev.pid names the running one (checked and written under
# a short lock, so two started at once cannot both pass; the lock's fd is closed before anything
# is started, so no daemon inherits it).
DEV_PIDFILE="$STACK_DIR/dev.pid"
mkdir -p "$STACK_DIR"
exec 8>"$STACK_DIR/dev.lock"
flock -w 10 8 || die "could not lock $STACK_DIR/dev.lock"
OTHER_DEV=$(read_pid "$DEV_PIDFILE")
if [[ -n $OTHER_DEV && $OTHER_DEV != "$$" ]] && pid_is "$OTHER_DEV" bash && tr '\0' ' ' <"/proc/$OTHER_DEV/cmdline" | grep -q 'scripts/dev\.sh'; then
  exec 8>&-
  die "'npm run dev' is already running in this checkout (pid $OTHER_DEV); stop it first (Ctrl-C in its terminal, or kill $OTHER_DEV)"
fi
printf '%s\n' "$$" >"$DEV_PIDFILE"
exec 8>&-

ensure_node_modules

# What the caller set wins over .stack/env (stack-up writes the canonical local URLs there).
OVERRIDABLE=(DATABASE_URL MIGRATION_DATABASE_URL REDIS_URL TEMPORAL_ADDRESS TEMPORAL_NAMESPACE)
declare -A CALLER_ENV=()
for name in "${OVERRIDABLE[@]}"; do
  if [[ -n ${!name:-} ]]; then CALLER_ENV[$name]=${!name}; fi
done

STARTED_FILE=$(mktemp "${TMPDIR:-/tmp}/ripcord-dev-started.XXXXXX")
API_PID="" WORKER_PID="" CLEANED=0

# stop_group <name> <pid>: the API and worker run in their own process groups (setsid below), so
# the whole npm -> tsx -> node chain gets the signal; SIGKILL only after a bounded grace period.
# shellcheck disable=SC2329  # called from cleanup (a trap)
stop_group() {
  local name=$1 pid=$2
  [[ -n $pid ]] && kill -0 -- "-$pid" 2>/dev/null || return 0
  kill -TERM -- "-$pid" 2>/dev/null || true
  local deadline=$((SECONDS + 15))
  while kill -0 -- "-$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      say "$name did not stop within 15s; killing it"
      kill -KILL -- "-$pid" 2>/dev/null || true
      break
    fi
    sleep 0.1
  done
}

# shellcheck disable=SC2329  # invoked by the EXIT trap
cleanup() {
  local rc=$?
  ((CLEANED == 0)) || return 0
  CLEANED=1
  # A second Ctrl-C must not cut the clean-up short.
  trap '' INT TERM HUP
  if [[ -n $API_PID || -n $WORKER_PID ]]; then say "stopping the API and the worker"; fi
  stop_group api "$API_PID"
  stop_group worker "$WORKER_PID"
  local started=()
  if [[ -s $STARTED_FILE ]]; then mapfile -t started <"$STARTED_FILE"; fi
  rm -f "$STARTED_FILE"
  [[ $(read_pid "$DEV_PIDFILE") != "$$" ]] || rm -f "$DEV_PIDFILE"
  if ((${#started[@]})); then
    say "stopping the services this run started: ${started[*]}"
    bash "$RIPCORD_ROOT/scripts/stack-down.sh" "${started[@]}" || rc=1
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# Written progressively by stack-up, so a failure halfway still stops what it had started.
RIPCORD_STARTED_FILE=$STARTED_FILE bash "$RIPCORD_ROOT/scripts/stack-up.sh"

# shellcheck source=/dev/null
source "$ENV_FILE"
for name in "${!CALLER_ENV[@]}"; do export "$name=${CALLER_ENV[$name]}"; done
export PORT="${PORT:-8080}"
if [[ -z ${RIPCORD_ADMIN_TOKEN:-} ]]; then
  export RIPCORD_ADMIN_TOKEN=ripcord-dev-admin-token # the config wants >= 16 characters
  TOKEN_NOTE="(dev default; set RIPCORD_ADMIN_TOKEN to choose another)"
else
  TOKEN_NOTE="(from RIPCORD_ADMIN_TOKEN)"
fi

if [[ -z ${AUDIT_CHECKPOINT_KEY:-} ]]; then
  # Signs audit checkpoints; production keeps its own secret out of the database (docs/security.md).
  export AUDIT_CHECKPOINT_KEY=ripcord-dev-audit-checkpoint-key-not-secret
fi

# Ctrl-C should stop the worker at once: activities still running get 3 s (production's default is
# 30 s) before they are asked to cancel; their workflows retry them when the worker is back.
export WORKER_SHUTDOWN_GRACE_SECONDS="${WORKER_SHUTDOWN_GRACE_SECONDS:-3}"

# Checked before starting: otherwise /healthz could be answered by another process on the port.
if port_open "$LOCAL_IP" "$PORT"; then
  die "port $PORT is already in use (another 'npm run dev'?); stop it or set PORT"
fi

say "building the admin UI"
npm run --silent ui:build </dev/null >/dev/null
say "migrating"
npm run --silent migrate </dev/null
say "seeding demo data"
npm run --silent seed </dev/null

# setsid: own process group per child (so cleanup can signal the whole group) and no terminal
# Ctrl-C straight into them: this shell decides the shutdown order.
setsid npm run --silent start:worker </dev/null &
WORKER_PID=$!
setsid npm run --silent start:api </dev/null &
API_PID=$!

API_URL="http://$LOCAL_IP:$PORT"
http_ok() {
  if command -v curl >/dev/null; then
    curl -fsS -o /dev/null --max-time 2 "$1"
  else
    node -e 'fetch(process.argv[1],{signal:AbortSignal.timeout(2000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))' "$1"
  fi
}
deadline=$((SECONDS + 120)) # tsx compiles on first start; bounded all the same
until http_ok "$API_URL/healthz" 2>/dev/null; do
  kill -0 "$API_PID" 2>/dev/null || die "the API exited during start-up (see its output above)"
  kill -0 "$WORKER_PID" 2>/dev/null || die "the worker exited during start-up (see its output above)"
  ((SECONDS < deadline)) || die "the API did not answer $API_URL/healthz within 120s"
  sleep 0.25
done

cat <<EOF

  Ripcord is running (ready in $(elapsed "$T0"))
    API            $API_URL   (health $API_URL/healthz, readiness $API_URL/readyz, metrics $API_URL/metrics)
    OFREP          $API_URL/ofrep/v1/evaluate/flags/{key}
    Management     $API_URL/api/v1/flags
    Temporal UI    $TEMPORAL_UI_URL   (a flag's workflows: FlagKey="<key>" in the search bar)
    Admin token    $RIPCORD_ADMIN_TOKEN   $TOKEN_NOTE
    PostgreSQL     $DATABASE_URL   (migrations: $MIGRATION_DATABASE_URL)
    Redis          $REDIS_URL
    Temporal       $TEMPORAL_ADDRESS (namespace $TEMPORAL_NAMESPACE)

  e.g. curl -s -X POST -H "Authorization: Bearer $RIPCORD_ADMIN_TOKEN" -H 'content-type: application/json' \\
         -d '{"context":{"targetingKey":"user-1"}}' $API_URL/ofrep/v1/evaluate/flags/<key>

  Ctrl-C to stop.

EOF

# Runs until Ctrl-C (trap -> cleanup) or until the API or the worker exits on its own.
rc=0
wait -n "$API_PID" "$WORKER_PID" || rc=$?
if kill -0 "$API_PID" 2>/dev/null; then
  say "the worker exited (status $rc); stopping"
else
  say "the API exited (status $rc); stopping"
fi
exit $((rc == 0 ? 1 : rc))
