#!/usr/bin/env bash
# Configures and builds Quorum with Ninja (and ccache when present) into
# build/ (override with BUILD_DIR); binaries land in build/bin/.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo}
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.ccache}
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-5G}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="$BUILD_TYPE" ${QUORUM_SANITIZE:+-DQUORUM_SANITIZE=$QUORUM_SANITIZE} >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"
