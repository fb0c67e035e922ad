#!/bin/sh
# Cluster suite (etcd 3.4 and quorum). Prints "N passed, M failed" last.
#   tests/cluster/run.sh                    # QUORUM_BIN or build/bin/quorum, and /usr/bin/etcd
#   tests/cluster/run.sh --etcd-only        # validate the suite against etcd alone
#   tests/cluster/run.sh --quorum-only -k leader -v
exec /usr/bin/python3 "$(dirname "$0")/run.py" "$@"
