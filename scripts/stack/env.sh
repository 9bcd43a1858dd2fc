# shellcheck shell=bash
# .stack/env: the URLs the API, worker and tests use, local or external.
# Sourced by scripts/stack-up.sh (after stack-lib.sh), never executed: defines write_env.


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

# This checkout's key for webhook secrets at rest (WEBHOOK_SECRET_KEY), made once and kept in .stack/,
# so the dev and test databases' secrets stay readable across restarts. An exported key wins.
webhook_secret_key() {
  if [[ -n ${WEBHOOK_SECRET_KEY:-} ]]; then
    printf '%s' "$WEBHOOK_SECRET_KEY"
    return
  fi
  local file="$STACK_DIR/webhook-secret-key"
  if [[ ! -s $file ]]; then
    (umask 077 && head -c 32 /dev/urandom | base64 >"$file.tmp.$$" && mv -f "$file.tmp.$$" "$file")
  fi
  cat "$file"
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
      RIPCORD_TEST_REDIS_URL "$test_redis_url" \
      WEBHOOK_SECRET_KEY "$(webhook_secret_key)"
  } >"$tmp"
  mv -f "$tmp" "$ENV_FILE"
}

