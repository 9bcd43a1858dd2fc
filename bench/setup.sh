#!/usr/bin/env bash
# Installs what the serving benchmarks need and the project does not: wrk (Debian), the peers to
# compare with — flagd (go install into .tools/bench/bin) and unleash-server (npm into
# .tools/bench/unleash). Both folders are git-ignored. A peer that can't be installed is skipped by
# the benchmark with the reason.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
mkdir -p .tools/bench/bin .tools/bench/unleash

if ! command -v wrk >/dev/null; then
  echo "[bench] installing wrk"
  (apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null 2>&1 && apt-get install -y wrk >/dev/null 2>&1; }) || echo "[bench] could not install wrk" >&2
fi

if [[ ! -x .tools/bench/bin/flagd ]]; then
  echo "[bench] installing flagd (go install)"
  if ! GOBIN="$PWD/.tools/bench/bin" go install github.com/open-feature/flagd/flagd@latest >.tools/bench/flagd-install.log 2>&1; then
    echo "[bench] flagd could not be installed: $(tail -n 2 .tools/bench/flagd-install.log | tr '\n' ' ')" >&2
  fi
fi

if [[ ! -d .tools/bench/unleash/node_modules/unleash-server ]]; then
  echo "[bench] installing unleash-server (npm)"
  [[ -f .tools/bench/unleash/package.json ]] || echo '{"name":"ripcord-bench-peers","private":true}' >.tools/bench/unleash/package.json
  (cd .tools/bench/unleash && npm install --no-audit --no-fund unleash-server >../unleash-install.log 2>&1) || echo "[bench] unleash-server could not be installed" >&2
fi
exit 0
