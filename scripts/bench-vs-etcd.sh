#!/usr/bin/env bash
# Side-by-side benchmark: a 3-member etcd 3.4 cluster (Debian's etcd-server) and a
# 3-member Quorum cluster on 127.0.0.1, driven by the same quorum-bench workloads
# in alternation (etcd, quorum, quorum, etcd, ... per workload and round), median
# of the rounds. Prints one table: workload | etcd | quorum | ratio, plus server
# CPU-seconds per 1000 operations (utime+stime of the 3 member pids from
# /proc/<pid>/stat, before/after each run), and RSS / data-dir size per member
# after loading BENCH_KEYS keys.
#
#   scripts/bench-vs-etcd.sh                 # full run (~10 min on 2 cores)
#   BENCH_QUICK=1 scripts/bench-vs-etcd.sh   # smoke run: small totals, 1 round
#
# Both clusters: fresh data dirs under a temp dir, --heartbeat-interval 100
# --election-timeout 1000, fsync ON (never --unsafe-no-fsync), default snapshot
# count and quota. Every quorum-bench run is bounded by its totals and by
# --max-seconds (and `timeout` around it); every process started here is stopped
# by pid on exit.
#
# Environment (all optional):
#   BENCH_QUICK=1         small totals, 1 round (smoke check)
#   BENCH_ROUNDS=N        rounds (default 3; quick: 1)
#   BENCH_KEYS=N          keys loaded before measuring RSS/disk (default 100000; e.g. 1000000)
#   BENCH_WORKLOADS="a b" subset of: put1 put1000 txnput rangel ranges list watchlat watchlat1 watch leaseka
#                         ("none": only load the keys and measure RSS / data dir)
#   BENCH_SKIP_BUILD=1    skip scripts/install-deps.sh and scripts/build.sh
#   BENCH_DIR=path        where data dirs, logs and raw JSON go (default: mktemp -d)
#   BENCH_KEEP=1          keep BENCH_DIR afterwards (default: kept only on failure)
#   ETCD_BIN, QUORUM_BIN, BENCH_BIN   binaries (default /usr/bin/etcd, build/bin/quorum,
#                         build/bin/quorum-bench)
#   BENCH_OUT=file        also write the final table (markdown) to this file
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

QUICK=${BENCH_QUICK:-0}
if [ "$QUICK" = 1 ]; then ROUNDS=${BENCH_ROUNDS:-1}; else ROUNDS=${BENCH_ROUNDS:-3}; fi
KEYS=${BENCH_KEYS:-$([ "$QUICK" = 1 ] && echo 5000 || echo 100000)}
ETCD_BIN=${ETCD_BIN:-/usr/bin/etcd}
QUORUM_BIN=${QUORUM_BIN:-$ROOT/build/bin/quorum}
BENCH_BIN=${BENCH_BIN:-$ROOT/build/bin/quorum-bench}
ETCDCTL=${ETCDCTL:-$(command -v etcdctl || echo /usr/bin/etcdctl)}
WORKLOADS=${BENCH_WORKLOADS:-"put1 put1000 txnput rangel ranges list watchlat watchlat1 watch leaseka"}
[ "$WORKLOADS" = none ] && WORKLOADS=""   # footprint only (load BENCH_KEYS keys, RSS, disk)
PYTHON=$(command -v python3)

log() { echo "bench-vs-etcd: $*" >&2; }

if [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
  ./scripts/install-deps.sh
  ./scripts/build.sh
fi
for b in "$ETCD_BIN" "$QUORUM_BIN" "$BENCH_BIN" "$ETCDCTL"; do
  [ -x "$b" ] || { log "missing executable $b"; exit 1; }
done

DIR=${BENCH_DIR:-$(mktemp -d /tmp/bench-vs-etcd.XXXXXX)}
mkdir -p "$DIR/results"
PIDS=()          # every member we started
OK=0

cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for _ in $(seq 1 100); do  # up to 10 s
    local alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  for pid in "${PIDS[@]}"; do
    kill -KILL "$pid" 2>/dev/null || true
  done
  if [ "${BENCH_KEEP:-0}" = 1 ] || [ $OK != 1 ]; then
    log "data, logs and raw results kept in $DIR"
  else
    rm -rf "$DIR"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# 12 distinct free ports on 127.0.0.1.
read -r -a PORTS <<< "$("$PYTHON" - <<'EOF'
import socket
socks, ports = [], []
while len(ports) < 12:
    s = socket.socket(); s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    if p not in ports: ports.append(p); socks.append(s)
print(" ".join(map(str, ports)))
EOF
)"

declare -A ENDPOINTS MEMBER_PIDS DATADIRS
HB=100
ELECTION=1000

# start_cluster KIND BIN PORT_OFFSET
start_cluster() {
  local kind=$1 bin=$2 off=$3 i ic="" eps="" pids="" dirs=""
  for i in 0 1 2; do
    ic+="${ic:+,}${kind}$i=http://127.0.0.1:${PORTS[$((off + 3 + i))]}"
  done
  for i in 0 1 2; do
    local cp=${PORTS[$((off + i))]} pp=${PORTS[$((off + 3 + i))]}
    local name=${kind}$i data="$DIR/$kind/$kind$i.data"
    mkdir -p "$DIR/$kind"
    # No ETCD_* variables from the caller's environment: both read them as flags.
    env $(env | sed -n 's/^\(ETCD[A-Z0-9_]*\)=.*/-u \1/p') \
      setsid "$bin" --name "$name" --data-dir "$data" \
      --listen-client-urls "http://127.0.0.1:$cp" --advertise-client-urls "http://127.0.0.1:$cp" \
      --listen-peer-urls "http://127.0.0.1:$pp" --initial-advertise-peer-urls "http://127.0.0.1:$pp" \
      --initial-cluster "$ic" --initial-cluster-token "bench-$kind" --initial-cluster-state new \
      --heartbeat-interval $HB --election-timeout $ELECTION \
      </dev/null >"$DIR/$kind/$name.log" 2>&1 &
    PIDS+=($!)
    pids+="${pids:+ }$!"
    eps+="${eps:+,}127.0.0.1:$cp"
    dirs+="${dirs:+ }$data"
  done
  ENDPOINTS[$kind]=$eps
  MEMBER_PIDS[$kind]=$pids
  DATADIRS[$kind]=$dirs
  log "$kind: members $pids on $eps"
}

ctl() { local kind=$1; shift; ETCDCTL_API=3 "$ETCDCTL" --endpoints="${ENDPOINTS[$kind]}" --dial-timeout=2s --command-timeout=5s "$@"; }

wait_healthy() {
  local kind=$1 deadline=$((SECONDS + 60)) leaders
  while [ $SECONDS -lt $deadline ]; do
    local p
    for p in ${MEMBER_PIDS[$kind]}; do
      kill -0 "$p" 2>/dev/null || { log "$kind member $p died; log tails:"; tail -n 20 "$DIR/$kind"/*.log >&2; exit 1; }
    done
    leaders=$(ctl "$kind" endpoint status -w fields 2>/dev/null | sed -n 's/^"Leader" : //p') || true
    if [ "$(wc -l <<< "$leaders")" -eq 3 ] && [ "$(sort -u <<< "$leaders" | wc -l)" -eq 1 ] \
       && [ -n "$(head -n1 <<< "$leaders")" ] && [ "$(head -n1 <<< "$leaders")" != 0 ]; then
      log "$kind: healthy, one leader"
      return 0
    fi
    sleep 0.5
  done
  log "$kind: not healthy within 60 s"; exit 1
}

cpu_ticks() {  # summed utime+stime (clock ticks) of the members of $1
  local kind=$1 p sum=0 f
  for p in ${MEMBER_PIDS[$kind]}; do
    # Fields after the ")" of comm: state is field 3, utime 14, stime 15.
    f=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null) || continue
    set -- $f
    sum=$((sum + ${12} + ${13}))
  done
  echo $sum
}

# The host's CPU steal (ticks, all vCPUs): on a shared VM it is what makes
# rounds incomparable, so every run records it.
steal_ticks() { awk 'NR == 1 { print $9 }' /proc/stat; }

# run_bench KIND TAG MAXSECS ARGS...: one quorum-bench run with JSON output and CPU figures.
run_bench() {
  local kind=$1 tag=$2 maxs=$3; shift 3
  local out="$DIR/results/$tag.$kind.json" before after rc=0
  before=$(cpu_ticks "$kind")
  local steal_before
  steal_before=$(steal_ticks)
  timeout -k 5 $((maxs + 20)) "$BENCH_BIN" --endpoints "${ENDPOINTS[$kind]}" --max-seconds "$maxs" \
    --no-progress --json "$@" >"$out" 2>>"$DIR/results/bench.stderr" || rc=$?
  after=$(cpu_ticks "$kind")
  local steal=$(($(steal_ticks) - steal_before))
  echo "{\"cpu_ticks\": $((after - before)), \"clk_tck\": $(getconf CLK_TCK), \"rc\": $rc, \"steal_ticks\": $steal}" >"$out.cpu"
  local summary
  summary=$("$PYTHON" - "$out" <<'EOF' 2>/dev/null || echo "no result"
import json, sys
d = json.load(open(sys.argv[1]))
r = d["reports"][d["primary"]]
print("%s %d ops %.0f/s p50 %.2f ms p99 %.2f ms" % (d["status"], r["count"], r["rps"],
      r["percentiles"]["50"] * 1e3, r["percentiles"]["99"] * 1e3))
EOF
)
  log "  $tag $kind: $summary (rc $rc, host CPU steal $steal ticks)"
}

# ---- workloads: name -> "MAXSECS | quorum-bench args" (key 8 B, value 256 B) ----------
declare -A WL WLDESC
if [ "$QUICK" = 1 ]; then
  N_PUT1=200 N_PUT1000=3000 N_TXN=2000 N_RL=5000 N_RS=5000 N_LIST=30 N_WL=100 N_WPUT=100 N_KA=2000 MAXS=30
else
  N_PUT1=3000 N_PUT1000=30000 N_TXN=10000 N_RL=30000 N_RS=40000 N_LIST=300 N_WL=1000 N_WPUT=500 N_KA=30000 MAXS=45
fi
LIST_KEYS=5000  # the list workload's prefix: 5,000 keys of 1 KiB
RANGE_KEY=bench-range-key
WL[put1]="--conns 1 --clients 1 --total $N_PUT1 --target-leader put --key-size 8 --val-size 256 --sequential-keys --key-space-size $KEYS"
WLDESC[put1]="put, 1 client / 1 conn (leader)"
WL[put1000]="--conns 100 --clients 1000 --total $N_PUT1000 put --key-size 8 --val-size 256 --sequential-keys --key-space-size $KEYS"
WLDESC[put1000]="put, 1000 clients / 100 conns"
WL[txnput]="--conns 10 --clients 100 --total $N_TXN txn-put --txn-ops 1 --key-size 8 --val-size 256 --key-space-size $KEYS"
WLDESC[txnput]="txn-put (1 put/txn), 100 clients / 10 conns"
WL[rangel]="--conns 100 --clients 1000 --total $N_RL range $RANGE_KEY --consistency l"
WLDESC[rangel]="range linearizable, 1000 clients / 100 conns"
WL[ranges]="--conns 100 --clients 1000 --total $N_RS range $RANGE_KEY --consistency s"
WLDESC[ranges]="range serializable, 1000 clients / 100 conns"
# A controller's or `get --prefix`'s list: every key under a prefix in one response.
WL[list]="--conns 10 --clients 10 --total $N_LIST range /registry/pods/ /registry/pods0 --consistency s"
WLDESC[list]="list: range of $LIST_KEYS keys x 1 KiB, serializable, 10 clients"
WL[watchlat]="watch-latency --put-total $N_WL --put-rate 200 --streams 10 --watchers-per-stream 10"
WLDESC[watchlat]="watch-latency: 100 watchers, 200 puts/s, put->event"
# All watchers on one stream, as Go's clientv3 multiplexes the watches of one client.
WL[watchlat1]="watch-latency --put-total $N_WL --put-rate 200 --streams 1 --watchers-per-stream 100"
WLDESC[watchlat1]="watch-latency: 100 watchers on 1 stream, 200 puts/s"
WL[watch]="--conns 10 --clients 10 watch --streams 10 --watch-per-stream 100 --put-total $N_WPUT --put-rate 0"
WLDESC[watch]="watch fan-out: 1000 watchers on 1 key, events/s"
WL[leaseka]="--conns 10 --clients 100 --total $N_KA lease-keepalive"
WLDESC[leaseka]="lease-keepalive, 100 clients / 10 conns"

# ---- start both clusters -----------------------------------------------------------
log "dir $DIR; rounds $ROUNDS; keys $KEYS; quick $QUICK; workloads: $WORKLOADS"
log "etcd: $("$ETCD_BIN" --version | head -n1); quorum: $QUORUM_BIN"
start_cluster etcd "$ETCD_BIN" 0
start_cluster quorum "$QUORUM_BIN" 6
wait_healthy etcd
wait_healthy quorum

# ---- load keys, then RSS and data-dir size -------------------------------------------
# At least 2,000 puts/s must fit in the bound (1M keys: 500 s), else a big load is cut short.
LOAD_MAXS=$((MAXS * 4))
[ $((KEYS / 2000)) -gt "$LOAD_MAXS" ] && LOAD_MAXS=$((KEYS / 2000))
for kind in etcd quorum; do
  log "$kind: loading $KEYS keys (8 B keys, 256 B values)"
  run_bench "$kind" load "$LOAD_MAXS" --conns 100 --clients 1000 --total "$KEYS" \
    put --key-size 8 --val-size 256 --sequential-keys --key-space-size "$KEYS"
  ctl "$kind" put "$RANGE_KEY" "$(head -c 256 /dev/zero | tr '\0' v)" >/dev/null
done
sleep 2
for kind in etcd quorum; do
  rss="" du=""
  for p in ${MEMBER_PIDS[$kind]}; do rss+="${rss:+ }$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status")"; done
  for d in ${DATADIRS[$kind]}; do du+="${du:+ }$(du -sk "$d" | cut -f1)"; done
  echo "{\"rss_kib\": [${rss// /, }], \"disk_kib\": [${du// /, }]}" >"$DIR/results/footprint.$kind.json"
  log "$kind: RSS KiB $rss; data dir KiB $du"
done

# The list workload's keys: LIST_KEYS keys of 1 KiB under /registry/pods/, 100 per txn.
if [[ " $WORKLOADS " == *" list "* ]]; then
  for kind in etcd quorum; do
    log "$kind: writing $LIST_KEYS keys under /registry/pods/ for the list workload"
    /usr/bin/python3 - "${ENDPOINTS[$kind]%%,*}" "$LIST_KEYS" <<'EOF'  # Debian's, with python3-etcd3
import sys
import etcd3
host, port = sys.argv[1].rsplit(":", 1)
n = int(sys.argv[2])
c = etcd3.client(host=host, port=int(port), timeout=30)
value = b"v" * 1024
for first in range(0, n, 100):
    ops = [c.transactions.put("/registry/pods/ns/pod-%06d" % i, value) for i in range(first, min(n, first + 100))]
    c.transaction(compare=[], success=ops, failure=[])
c.close()
EOF
  done
fi

# ---- workloads, alternating --------------------------------------------------------------
for round in $(seq 1 "$ROUNDS"); do
  if [ $((round % 2)) = 1 ]; then order="etcd quorum"; else order="quorum etcd"; fi
  log "round $round ($order)"
  for w in $WORKLOADS; do
    [ -n "${WL[$w]:-}" ] || { log "unknown workload $w"; exit 2; }
    for kind in $order; do
      # shellcheck disable=SC2086
      run_bench "$kind" "$w.r$round" "$MAXS" ${WL[$w]}
    done
  done
done

# ---- table ----------------------------------------------------------------------------------
declare -a DESC_ARGS=()
[ -z "$WORKLOADS" ] && ROUNDS=0
for w in $WORKLOADS; do DESC_ARGS+=("$w=${WLDESC[$w]}"); done
"$PYTHON" - "$DIR/results" "$ROUNDS" "$KEYS" "${DESC_ARGS[@]}" <<'EOF' | tee "${BENCH_OUT:-/dev/null}"
import json, os, statistics, sys

res, rounds, keys = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
workloads = [a.split("=", 1) for a in sys.argv[4:]]

def load(tag, kind):
    p = os.path.join(res, "%s.%s.json" % (tag, kind))
    try:
        d = json.load(open(p))
    except Exception:
        d = None
    try:
        c = json.load(open(p + ".cpu"))
    except Exception:
        c = None
    return d, c

def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None

timeouts = []
vals_by_w = {}
def fmt(v, kind):
    if v is None: return "n/a"
    if isinstance(v, str): return v
    if kind == "ms": return "%.2f ms" % v
    if kind == "cpu": return "%.3f" % v
    if kind == "mib": return "%.0f MiB" % v
    return "{:,.0f}".format(v)

# metrics: (label, extractor(report) -> value, unit, higher_is_better)
METRICS = {
    "put1": [("req/s", "rps", "n", True), ("p50", "50", "ms", False), ("p99", "99", "ms", False)],
    "put1000": [("req/s", "rps", "n", True), ("p99", "99", "ms", False)],
    "txnput": [("req/s", "rps", "n", True), ("p99", "99", "ms", False)],
    "rangel": [("req/s", "rps", "n", True), ("p99", "99", "ms", False)],
    "ranges": [("req/s", "rps", "n", True), ("p99", "99", "ms", False)],
    "list": [("req/s", "rps", "n", True), ("p99", "99", "ms", False)],
    # issue #5's target: event p99 <= the put's own p99 + 1 ms (the "put" report)
    "watchlat": [("event p50", "50", "ms", False), ("event p99", "99", "ms", False),
                 ("put p99", "99", "ms", False, "put")],
    "watchlat1": [("event p50", "50", "ms", False), ("event p99", "99", "ms", False),
                  ("put p99", "99", "ms", False, "put")],
    "watch": [("events/s", "rps", "n", True)],
    "leaseka": [("req/s", "rps", "n", True), ("p99", "99", "ms", False)],
}

print()
print("| workload | metric | etcd 3.4 | quorum | quorum/etcd | etcd CPU-s/1k ops | quorum CPU-s/1k ops | CPU quorum/etcd |")
print("|---|---|---:|---:|---:|---:|---:|---:|")
for w, desc in workloads:
    vals = {}
    cpus = {}
    status = {}
    for kind in ("etcd", "quorum"):
        per_metric = {m[0]: [] for m in METRICS[w]}
        cpu = []
        for r in range(1, rounds + 1):
            d, c = load("%s.r%d" % (w, r), kind)
            if d is None:
                status[kind] = "no result"
                continue
            # "timeout": stopped by --max-seconds; its rate over the finished requests still counts.
            if d["status"] not in ("ok", "timeout") or d["reports"][d["primary"]]["count"] == 0:
                status[kind] = d["status"]
                continue
            if d["status"] == "timeout":
                timeouts.append("%s %s round %d" % (w, kind, r))
            rep = d["reports"][d["primary"]]
            for label, key, unit, _, *report in METRICS[w]:
                src = d["reports"].get(report[0]) if report else rep
                if src is None or src["count"] == 0:
                    continue
                v = src["rps"] if key == "rps" else src["percentiles"][key] * 1e3
                per_metric[label].append(v)
            if c and rep["count"] > 0:
                # watch workloads: per 1000 events; others per 1000 requests
                cpu.append(c["cpu_ticks"] / c["clk_tck"] / rep["count"] * 1000)
        vals[kind] = {k: med(v) for k, v in per_metric.items()}
        vals_by_w[(w, kind)] = vals[kind]
        cpus[kind] = med(cpu)
    first = True
    for label, key, unit, hib, *_ in METRICS[w]:
        e = vals["etcd"][label] if "etcd" not in status else status["etcd"]
        q = vals["quorum"][label] if "quorum" not in status else status["quorum"]
        ratio = "n/a"
        if isinstance(e, (int, float)) and isinstance(q, (int, float)) and e:
            ratio = "%.2f×" % (q / e)
        cols = [desc if first else "", label + ("" if hib else " (lower is better)" if unit == "ms" else ""),
                fmt(e, unit), fmt(q, unit), ratio]
        if first:
            ce = cpus.get("etcd") if "etcd" not in status else None
            cq = cpus.get("quorum") if "quorum" not in status else None
            cr = "%.2f×" % (cq / ce) if ce and cq else "n/a"
            cols += [fmt(ce, "cpu"), fmt(cq, "cpu"), cr]
        else:
            cols += ["", "", ""]
        print("| " + " | ".join(cols) + " |")
        first = False

fp = {}
for kind in ("etcd", "quorum"):
    try:
        fp[kind] = json.load(open(os.path.join(res, "footprint.%s.json" % kind)))
    except Exception:
        fp[kind] = None
for label, key in (("RSS per member", "rss_kib"), ("data dir per member", "disk_kib")):
    e = statistics.mean(fp["etcd"][key]) / 1024 if fp["etcd"] else None
    q = statistics.mean(fp["quorum"][key]) / 1024 if fp["quorum"] else None
    ratio = "%.2f×" % (q / e) if e and q else "n/a"
    detail = lambda k: "/".join("%.0f" % (x / 1024) for x in fp[k][key]) if fp[k] else "n/a"
    print("| %s after loading %s keys (mean; members %s vs %s MiB) | MiB | %s | %s | %s |  |  |  |"
          % (label, "{:,}".format(keys), detail("etcd"), detail("quorum"), fmt(e, "mib"), fmt(q, "mib"), ratio))
print()
for kind in ("etcd", "quorum"):
    d, c = load("load", kind)
    if d and d["status"] == "ok":
        rep = d["reports"][d["primary"]]
        print("%s: loading %s keys took %.1f s (%.0f puts/s, 1000 clients)" % (kind, "{:,}".format(keys), rep["total_secs"], rep["rps"]))
for wl in ("watchlat", "watchlat1"):
    if not any(w == wl for w, _ in workloads):
        continue
    for kind in ("etcd", "quorum"):
        ev, put = (vals_by_w.get((wl, kind), {}).get(k) for k in ("event p99", "put p99"))
        if isinstance(ev, (int, float)) and isinstance(put, (int, float)):
            print("%s %s: event p99 - put p99 = %+.2f ms (target for Quorum: <= +1 ms)"
                  % (kind, wl, ev - put))
if timeouts:
    print("runs cut by --max-seconds (rate over the finished requests): " + ", ".join(timeouts))
steal = {}
for name in sorted(os.listdir(res)):
    if not name.endswith(".json.cpu"):
        continue
    kind = name[:-len(".json.cpu")].rsplit(".", 1)[-1]
    try:
        c = json.load(open(os.path.join(res, name)))
        steal[kind] = steal.get(kind, 0.0) + c.get("steal_ticks", 0) / c["clk_tck"]
    except Exception:
        pass
if steal:
    print("host CPU steal during the measured runs (all vCPUs): "
          + ", ".join("%s runs %.1f s" % (k, v) for k, v in sorted(steal.items()))
          + " (a shared host: rounds with much steal are not comparable)")
print("median of %d round(s); CPU = utime+stime of the 3 member processes per 1000 operations" % rounds)
print("(watch fan-out: per 1000 events delivered; watch-latency: per 1000 events)")
EOF
OK=1
