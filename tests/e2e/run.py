#!/usr/bin/python3
"""Run the differential e2e suite: every case against Debian's etcd 3.4 and quorum.

Usage:
  run.py [--quorum-bin PATH] [--etcd-only | --quorum-only] [-k SUBSTR] [-v] [--list]

Ends with exactly one line "N passed, M failed"; exit status 0 only when M == 0 (and N > 0).
"""

import argparse
import glob
import importlib
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, HERE)

import harness  # noqa: E402
from framework import Runner  # noqa: E402


def load_groups(module_filter=None):
    groups = []
    for path in sorted(glob.glob(os.path.join(HERE, "test_*.py"))):
        mod_name = os.path.splitext(os.path.basename(path))[0]
        if module_filter and module_filter not in mod_name:
            continue
        mod = importlib.import_module(mod_name)
        for g in getattr(mod, "GROUPS", []):
            groups.append((mod_name, g))
    return groups


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quorum-bin", default=harness.DEFAULT_QUORUM_BIN,
                    help="quorum daemon (default: $QUORUM_BIN or build/bin/quorum)")
    ap.add_argument("--etcd-bin", default=harness.ETCD_BIN)
    ap.add_argument("--etcdctl-bin", default=harness.ETCDCTL_BIN)
    ap.add_argument("--etcd-only", action="store_true",
                    help="validate the suite against etcd alone (golden expectations only)")
    ap.add_argument("--quorum-only", action="store_true",
                    help="run quorum alone (golden expectations only, no differential compare)")
    ap.add_argument("-k", dest="filter", help="only steps whose 'group/step' contains this")
    ap.add_argument("-m", dest="module", help="only test modules whose name contains this")
    ap.add_argument("--pending", action="store_true",
                    help="also run steps marked pending (they need RPCs of later issues)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print passing cases too")
    ap.add_argument("--list", action="store_true", help="list groups/steps and exit")
    args = ap.parse_args()
    if args.etcd_only and args.quorum_only:
        ap.error("--etcd-only and --quorum-only are exclusive")

    harness.ETCD_BIN = args.etcd_bin
    harness.ETCDCTL_BIN = args.etcdctl_bin

    groups = load_groups(args.module)
    if args.list:
        for mod, g in groups:
            for s in g.steps:
                print("%s: %s/%s%s%s" % (mod, g.name, s.name, "  [quorum-only]" if s.quorum_only else "",
                                         "  [pending: %s]" % s.pending if s.pending else ""))
        return 0

    if not os.path.isfile(args.etcdctl_bin):
        print("etcdctl not found at %s (run scripts/install-deps.sh)" % args.etcdctl_bin)
        print("0 passed, 1 failed")
        return 1

    runner = Runner(os.path.abspath(args.quorum_bin), etcd_only=args.etcd_only,
                    quorum_only=args.quorum_only, verbose=args.verbose, name_filter=args.filter,
                    pending=args.pending)
    t0 = time.monotonic()
    for mod, g in groups:
        runner.run_group(g)
    elapsed = time.monotonic() - t0
    if runner.failures:
        print("\nfailed cases (%d):" % len(runner.failures))
        for f in runner.failures:
            print("  " + f)
    print("e2e elapsed %.1fs (quorum: %s%s%s)" % (
        elapsed, args.quorum_bin, ", skipped: --etcd-only" if args.etcd_only else "",
        ", %d pending steps not run (--pending)" % runner.skipped_pending if runner.skipped_pending else ""))
    print("%d passed, %d failed" % (runner.passed, runner.failed))
    return 0 if runner.failed == 0 and runner.passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
