#!/usr/bin/env bash
# Installs dependencies, builds, and runs the whole test suite with ctest:
# unit tests (raft, mvcc, server), the raft simulation, and the differential
# e2e suite (real etcdctl / python3-etcd3 against quorum and Debian's etcd).
# The last lines are ctest's summary ("N% tests passed, M tests failed out of T").
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh
cd "${BUILD_DIR:-build}"
# Each test binary case is its own ctest entry; e2e groups run serially.
ctest --output-on-failure --timeout 900 -j"$(nproc)" "$@"
