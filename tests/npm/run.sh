#!/bin/sh
# npm etcd3 client compatibility suite (etcd 3.4 vs quorum). Prints "N passed, M failed" last.
#   tests/npm/run.sh                          # QUORUM_BIN or build/bin/quorum vs /usr/bin/etcd
#   tests/npm/run.sh --quorum-bin PATH -k watch -v
#   tests/npm/run.sh --etcd-only              # validate the cases against etcd alone
# Installs the pinned client (package-lock.json) into tests/npm/node_modules when it is
# missing or stale; npm's cache (~/.npm) makes that work offline after the first time.
cd "$(dirname "$0")" || exit 1
NODE=${NODE:-node}
NPM=${NPM:-npm}

if ! command -v "$NODE" >/dev/null 2>&1 || ! command -v "$NPM" >/dev/null 2>&1; then
  echo "run.sh: node and npm are needed (scripts/install-deps.sh installs Debian's nodejs and npm)"
  echo "0 passed, 1 failed"
  exit 1
fi

locked=$("$NODE" -p "require('./package-lock.json').packages['node_modules/etcd3'].version" 2>/dev/null)
installed=$("$NODE" -p "require('./node_modules/etcd3/package.json').version" 2>/dev/null)
if [ -z "$installed" ] || [ "$installed" != "$locked" ]; then
  echo "run.sh: npm ci (etcd3 $locked)"
  if ! timeout 300 "$NPM" ci --no-audit --no-fund --prefer-offline >npm-ci.log 2>&1; then
    tail -20 npm-ci.log
    echo "run.sh: npm ci failed (log: tests/npm/npm-ci.log)"
    echo "0 passed, 1 failed"
    exit 1
  fi
  rm -f npm-ci.log
fi

# run.js has its own watchdog (170 s); this bound only catches a wedged node.
timeout -k 5 240 "$NODE" run.js "$@"
rc=$?
if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
  echo "run.sh: run.js did not finish within 240 s"
  echo "0 passed, 1 failed"
  exit 1
fi
exit "$rc"
