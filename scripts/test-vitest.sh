#!/usr/bin/env bash
# Runs vitest for scripts/test.sh (which brings the stacks up and sets the environment first).
#
# With arguments: one vitest, with them. Without (a whole run): two at once. The chaos suite and then
# the outage tests (the `serial` project: they stop and restart the services they run on) run on the
# outage stack (.stack/outage, RIPCORD_STACK=outage), one file at a time, beside the unit,
# integration and browser files on the main stack; their output follows the main run's. Fails when
# either fails.
set -euo pipefail

# shellcheck source=scripts/stack-lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/stack-lib.sh"
cd "$RIPCORD_ROOT"

if (($# > 0)); then
  exec npx vitest run "$@"
fi

OUTAGE_LOG=$(mktemp "${TMPDIR:-/tmp}/ripcord-test-outage.XXXXXX")
(
  # The outage stack's URLs in place of the main stack's, as test.sh sets them from .stack/env.
  # shellcheck source=/dev/null
  source "$STACK_DIR/outage/env"
  export DATABASE_URL="$RIPCORD_TEST_DATABASE_URL"
  export MIGRATION_DATABASE_URL="$RIPCORD_TEST_MIGRATION_DATABASE_URL"
  export REDIS_URL="$RIPCORD_TEST_REDIS_URL"
  # What the outage tests stop and start (test/integration/harness.ts stackService) is this stack's.
  export RIPCORD_STACK=outage
  if [[ -n ${RIPCORD_TEST_JSON:-} ]]; then export RIPCORD_TEST_JSON="${RIPCORD_TEST_JSON%.json}.outage.json"; fi
  exec npx vitest run --project chaos --project serial
) >"$OUTAGE_LOG" 2>&1 &
outage=$!

rc=0
npx vitest run --project unit --project integration || rc=$?
outage_rc=0
wait "$outage" || outage_rc=$?
printf '\n[test] chaos and the outage tests, on the outage stack beside the run above:\n'
cat "$OUTAGE_LOG"
rm -f "$OUTAGE_LOG"
((outage_rc == 0)) || printf '[test] chaos or the outage tests failed (exit %d)\n' "$outage_rc" >&2
((rc != 0)) || rc=$outage_rc
exit "$rc"
