#!/usr/bin/env bash
# Installs every Debian package Quorum's build and tests need. Idempotent: when
# everything is already present it returns without touching apt.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev librocksdb-dev libzstd-dev libssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libcli11-dev libspdlog-dev nlohmann-json3-dev libyaml-cpp-dev libcpp-httplib-dev
  openssl iproute2 procps
  # Real peers for differential tests.
  etcd-server etcd-client python3-etcd3
)
# The npm etcd3 client suite (tests/npm) needs Node.js and npm. A node that is
# already installed (NodeSource's nodejs bundles its own npm) is used as it is.
if [ ! -x /usr/bin/node ]; then
  PACKAGES+=(nodejs npm)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
# Debian's etcd-server package starts a system etcd on 2379; tests start their
# own etcd on other ports, so the system one is stopped to keep ports free.
if command -v systemctl >/dev/null 2>&1; then
  $SUDO systemctl disable --now etcd >/dev/null 2>&1 || true
fi
pkill -x etcd >/dev/null 2>&1 || true
echo "install-deps: done"
