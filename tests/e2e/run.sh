#!/bin/sh
# Differential e2e suite (etcd 3.4 vs quorum). Prints "N passed, M failed" last.
#   tests/e2e/run.sh                       # QUORUM_BIN or build/bin/quorum vs /usr/bin/etcd
#   tests/e2e/run.sh --etcd-only           # validate the suite against etcd alone
#   tests/e2e/run.sh --quorum-bin PATH -k txn -v
exec /usr/bin/python3 "$(dirname "$0")/run.py" "$@"
