#!/usr/bin/env bash
# Quickstart: install dependencies, build, and run a 3-member local Quorum cluster on
# 127.0.0.1 (three processes, like etcd's Procfile).
#
#   scripts/quickstart.sh            # install-deps + build + start, wait until healthy
#   scripts/quickstart.sh start      # same
#   scripts/quickstart.sh status     # pids and `etcdctl endpoint status -w table`
#   scripts/quickstart.sh stop       # stop the members started here (by pid)
#   scripts/quickstart.sh clean      # stop, then delete the data folder
#
# Environment (all optional):
#   QUORUM_BIN            member binary (default build/bin/quorum; /usr/bin/etcd works too)
#   QUICKSTART_DIR        data dirs, logs and the pid file (default ./quickstart-data,
#                         relative to the repository root)
#   CLIENT_PORTS          three client ports (default "2379 22379 32379")
#   PEER_PORTS            three peer ports   (default "2380 22380 32380")
#   CLUSTER_TOKEN         --initial-cluster-token (default quorum-quickstart)
#   QUICKSTART_TIMEOUT    seconds to wait for a healthy cluster (default 60)
#   QUICKSTART_SKIP_BUILD =1 skips install-deps.sh and build.sh (they are also skipped
#                         when QUORUM_BIN names a binary outside this repository's build)
#   ETCDCTL               etcdctl used for health checks (default: etcdctl on PATH)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

CMD=${1:-start}
DEFAULT_BIN="$ROOT/build/bin/quorum"
QUORUM_BIN=${QUORUM_BIN:-$DEFAULT_BIN}
QS_DIR=${QUICKSTART_DIR:-quickstart-data}
case "$QS_DIR" in /*) ;; *) QS_DIR="$ROOT/$QS_DIR" ;; esac
PIDFILE="$QS_DIR/pids"
read -r -a CPORTS <<< "$(echo "${CLIENT_PORTS:-2379 22379 32379}" | tr ',' ' ')"
read -r -a PPORTS <<< "$(echo "${PEER_PORTS:-2380 22380 32380}" | tr ',' ' ')"
TOKEN=${CLUSTER_TOKEN:-quorum-quickstart}
TIMEOUT=${QUICKSTART_TIMEOUT:-60}
ETCDCTL=${ETCDCTL:-$(command -v etcdctl || echo /usr/bin/etcdctl)}
NAMES=(infra1 infra2 infra3)

[ ${#CPORTS[@]} -eq 3 ] && [ ${#PPORTS[@]} -eq 3 ] \
  || { echo "quickstart: CLIENT_PORTS and PEER_PORTS must name 3 ports each" >&2; exit 2; }

ENDPOINTS=""
INITIAL_CLUSTER=""
for i in 0 1 2; do
  ENDPOINTS+="${ENDPOINTS:+,}http://127.0.0.1:${CPORTS[$i]}"
  INITIAL_CLUSTER+="${INITIAL_CLUSTER:+,}${NAMES[$i]}=http://127.0.0.1:${PPORTS[$i]}"
done

ctl() { ETCDCTL_API=3 "$ETCDCTL" --endpoints="$ENDPOINTS" --dial-timeout=2s --command-timeout=4s "$@"; }

# Is PID alive and one of ours (its command line names our data folder)? Guards
# against a recycled pid: we never signal a process we did not start.
ours() {
  local pid=$1
  [ -r "/proc/$pid/cmdline" ] || return 1
  { tr '\0' ' ' < "/proc/$pid/cmdline"; } 2>/dev/null | grep -qF -- "--data-dir $QS_DIR/"
}

running_pids() {
  [ -f "$PIDFILE" ] || return 0
  local name pid
  while read -r name pid; do
    [ -n "${pid:-}" ] && ours "$pid" && echo "$name $pid"
  done < "$PIDFILE"
  return 0
}

# All three members answer `endpoint status` and name the same, non-zero leader:
# three healthy processes that are not one cluster do not pass.
one_leader() {
  local leaders
  leaders=$(ctl endpoint status -w fields 2>/dev/null | sed -n 's/^"Leader" : //p') || return 1
  [ "$(wc -l <<< "$leaders")" -eq 3 ] && [ "$(sort -u <<< "$leaders" | wc -l)" -eq 1 ] \
    && [ "$(head -n1 <<< "$leaders")" != 0 ]
}

port_busy() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

do_stop() {
  if [ ! -f "$PIDFILE" ]; then
    echo "quickstart: nothing to stop (no $PIDFILE)"
    return 0
  fi
  local live name pid
  live=$(running_pids)
  if [ -n "$live" ]; then
    while read -r name pid; do
      echo "quickstart: stopping $name (pid $pid)"
      kill -TERM "$pid" 2>/dev/null || true
    done <<< "$live"
    for _ in $(seq 1 100); do          # up to 10 s for a clean shutdown
      [ -z "$(running_pids)" ] && break
      sleep 0.1
    done
    live=$(running_pids)
    if [ -n "$live" ]; then
      while read -r name pid; do
        echo "quickstart: $name (pid $pid) ignored SIGTERM for 10 s; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
      done <<< "$live"
    fi
  fi
  rm -f "$PIDFILE"
  echo "quickstart: stopped (data kept in $QS_DIR; 'scripts/quickstart.sh clean' deletes it)"
}

print_usage_help() {
  local e1="http://127.0.0.1:${CPORTS[0]}"
  cat <<EOF

Quorum quickstart cluster is up ($(basename "$QUORUM_BIN"), 3 members on 127.0.0.1):
EOF
  for i in 0 1 2; do
    printf '  %-7s client http://127.0.0.1:%-5s  peer http://127.0.0.1:%-5s  log %s\n' \
      "${NAMES[$i]}" "${CPORTS[$i]}" "${PPORTS[$i]}" "$QS_DIR/${NAMES[$i]}.log"
  done
  cat <<EOF
  data dirs: $QS_DIR/<name>.data    pids: $PIDFILE

Try it with etcdctl (v3 API):
  export ETCDCTL_API=3 ENDPOINTS=$ENDPOINTS
  etcdctl --endpoints=\$ENDPOINTS put greeting "hello, quorum"
  etcdctl --endpoints=\$ENDPOINTS get greeting
  etcdctl --endpoints=$e1 get greeting --consistency=s   # serializable (local) read
  etcdctl --endpoints=\$ENDPOINTS member list -w table
  etcdctl --endpoints=\$ENDPOINTS endpoint status -w table
  etcdctl --endpoints=\$ENDPOINTS endpoint health
EOF
  if [ -x "$ROOT/build/bin/quorumctl" ]; then
    cat <<EOF

or with quorumctl (same sub-commands and flags):
  build/bin/quorumctl --endpoints=\$ENDPOINTS put greeting "hello, quorum"
  build/bin/quorumctl --endpoints=\$ENDPOINTS get greeting
  build/bin/quorumctl --endpoints=\$ENDPOINTS member list -w table
  build/bin/quorumctl --endpoints=\$ENDPOINTS endpoint status -w table
EOF
  fi
  cat <<EOF

Stop it with: scripts/quickstart.sh stop      (scripts/quickstart.sh clean also deletes the data)
EOF
}

do_start() {
  if [ "${QUICKSTART_SKIP_BUILD:-0}" != 1 ] && [ "$QUORUM_BIN" = "$DEFAULT_BIN" ]; then
    ./scripts/install-deps.sh
    ./scripts/build.sh
  elif [ "${QUICKSTART_SKIP_BUILD:-0}" != 1 ]; then
    ./scripts/install-deps.sh
    echo "quickstart: QUORUM_BIN=$QUORUM_BIN, not building"
  fi
  [ -x "$QUORUM_BIN" ] || { echo "quickstart: $QUORUM_BIN is not an executable" >&2; exit 1; }
  [ -x "$ETCDCTL" ] || { echo "quickstart: etcdctl not found (scripts/install-deps.sh installs etcd-client)" >&2; exit 1; }

  mkdir -p "$QS_DIR"
  local live
  live=$(running_pids)
  if [ -n "$live" ]; then
    if [ "$(echo "$live" | wc -l)" -eq 3 ]; then
      echo "quickstart: already running:"; echo "$live" | sed 's/^/  /'
      print_usage_help
      return 0
    fi
    echo "quickstart: some members are running without the others; stopping them first"
    do_stop
  fi

  local p
  for p in "${CPORTS[@]}" "${PPORTS[@]}"; do
    if port_busy "$p"; then
      echo "quickstart: port $p on 127.0.0.1 is already in use (set CLIENT_PORTS / PEER_PORTS)" >&2
      exit 1
    fi
  done

  : > "$PIDFILE"
  local i name pid
  for i in 0 1 2; do
    name=${NAMES[$i]}
    # A member restarted on an existing data dir ignores the --initial-* flags.
    setsid "$QUORUM_BIN" --name "$name" --data-dir "$QS_DIR/$name.data" \
      --listen-client-urls "http://127.0.0.1:${CPORTS[$i]}" \
      --advertise-client-urls "http://127.0.0.1:${CPORTS[$i]}" \
      --listen-peer-urls "http://127.0.0.1:${PPORTS[$i]}" \
      --initial-advertise-peer-urls "http://127.0.0.1:${PPORTS[$i]}" \
      --initial-cluster "$INITIAL_CLUSTER" \
      --initial-cluster-token "$TOKEN" \
      --initial-cluster-state new \
      </dev/null >>"$QS_DIR/$name.log" 2>&1 &
    pid=$!
    echo "$name $pid" >> "$PIDFILE"
    echo "quickstart: started $name (pid $pid), log $QS_DIR/$name.log"
  done

  echo "quickstart: waiting up to ${TIMEOUT}s for all 3 members to be healthy ..."
  local deadline=$((SECONDS + TIMEOUT)) healthy=0 out=""
  while [ $SECONDS -lt $deadline ]; do
    if [ "$(running_pids | wc -l)" -ne 3 ]; then
      break
    fi
    if out=$(ctl endpoint health 2>&1) && [ "$(grep -c 'is healthy' <<< "$out")" -eq 3 ]; then
      if one_leader; then
        healthy=1
        break
      fi
      out+=$'\n'"(all 3 healthy, but they do not agree on one leader: not one cluster yet)"
    fi
    sleep 0.5
  done
  if [ $healthy != 1 ]; then
    echo "quickstart: the cluster did not become healthy within ${TIMEOUT}s" >&2
    [ -n "$out" ] && echo "$out" | sed 's/^/  /' >&2
    for i in 0 1 2; do
      echo "---- last lines of $QS_DIR/${NAMES[$i]}.log" >&2
      tail -n 15 "$QS_DIR/${NAMES[$i]}.log" >&2 || true
    done
    do_stop >&2
    exit 1
  fi
  echo "$out" | sed 's/^/  /'
  ctl member list -w table || true
  print_usage_help
}

do_status() {
  local live
  live=$(running_pids)
  if [ -z "$live" ]; then echo "quickstart: not running"; return 1; fi
  echo "$live" | sed 's/^/  pid: /'
  ctl endpoint status -w table || true
  ctl endpoint health || true
}

case "$CMD" in
  start) do_start ;;
  stop) do_stop ;;
  status) do_status ;;
  clean) do_stop; rm -rf "$QS_DIR"; echo "quickstart: removed $QS_DIR" ;;
  -h|--help|help) sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' ;;
  *) echo "usage: $0 [start|stop|status|clean]" >&2; exit 2 ;;
esac
