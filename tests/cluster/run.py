#!/usr/bin/python3
"""Cluster test suite (issue #4): 3-member clusters of real processes, kill -9 of the
leader and of a follower under load, restart, member add/remove, full restart, TLS,
and a linearizability checker over the recorded histories. Every scenario runs against
Debian's etcd 3.4 (proving the expectation) and against quorum.

Usage:
  run.py [--quorum-bin PATH] [--etcd-only | --quorum-only] [-k SUBSTR] [-v] [--list]

Ends with exactly one line "N passed, M failed"; exit status 0 only when M == 0 (and N > 0).
Results are named "<etcd|quorum>::<scenario>/<check>"; the checker's own unit tests
are "checker::...".
"""

import argparse
import os
import shutil
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # keep the source tree clean
sys.path.insert(0, HERE)

import cluster as clustermod  # noqa: E402  (also puts tests/e2e on sys.path)
import harness  # noqa: E402
import scenarios  # noqa: E402
import test_checker  # noqa: E402


class Ctx:
    def __init__(self, runner, target, binary, scenario):
        self.runner = runner
        self.target = target
        self.binary = binary
        self.scenario = scenario
        self.clusters = []
        self.cleanup_dirs = []
        self.checks = 0

    def name(self, check):
        return "%s::%s/%s" % (self.target, self.scenario, check)

    def cluster(self, size=3, tls=None, timeout=30.0, extra_args=()):
        c = clustermod.Cluster(self.target, self.binary, size=size, tls=tls, label=self.scenario,
                               extra_args=extra_args)
        self.clusters.append(c)
        t = time.monotonic()
        try:
            c.start(timeout=timeout)
        except Exception as e:  # noqa: BLE001
            self.require("start %d-member cluster%s" % (size, " (TLS)" if tls else ""), False, str(e))
        self.check("start %d-member cluster%s" % (size, " (TLS)" if tls else ""), True, "",
                   info="%.1fs" % (time.monotonic() - t))
        return c

    def check(self, check, ok, detail="", info=""):
        self.checks += 1
        self.runner.record(self.name(check), bool(ok), detail, info)
        return bool(ok)

    def require(self, check, ok, detail=""):
        if not self.check(check, ok, detail):
            raise scenarios.Abort(check)
        return True

    def teardown(self):
        for c in self.clusters:
            c.stop()
        for d in self.cleanup_dirs:
            if not clustermod.KEEP_DIRS:
                shutil.rmtree(d, ignore_errors=True)


class Runner:
    def __init__(self, verbose=False):
        self.verbose = verbose
        self.passed = 0
        self.failed = 0
        self.failures = []
        self.failed_in_scenario = False
        self.by_target = {}  # target -> [passed, failed]

    def record(self, name, ok, detail="", info=""):
        t = self.by_target.setdefault(name.split("::", 1)[0], [0, 0])
        t[0 if ok else 1] += 1
        if ok:
            self.passed += 1
            if self.verbose:
                print("PASS %s%s" % (name, ("  [" + info + "]") if info else ""), flush=True)
        else:
            self.failed += 1
            self.failed_in_scenario = True
            self.failures.append(name)
            print("FAIL %s" % name, flush=True)
            if detail:
                if len(detail) > 8000:
                    detail = detail[:8000] + "\n... (%d more chars)" % (len(detail) - 8000)
                print("  " + detail.replace("\n", "\n  "), flush=True)

    def note(self, text):
        if self.verbose:
            print("  note: " + text, flush=True)

    def run_scenario(self, target, binary, name, fn):
        ctx = Ctx(self, target, binary, name)
        self.failed_in_scenario = False
        t0 = time.monotonic()
        try:
            fn(ctx)
        except scenarios.Abort as e:
            self.record(ctx.name("<aborted>"), False, "scenario aborted: required step failed: %s" % e)
        except Exception:  # noqa: BLE001
            self.record(ctx.name("<harness exception>"), False, traceback.format_exc())
        finally:
            if self.failed_in_scenario:
                for c in ctx.clusters:
                    print("  logs of %s::%s:\n    %s" % (target, name, c.logs_tail(12).replace("\n", "\n    ")),
                          flush=True)
            ctx.teardown()
        el = time.monotonic() - t0
        print("-- %s::%s: %.1fs" % (target, name, el), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quorum-bin", default=harness.DEFAULT_QUORUM_BIN,
                    help="quorum daemon (default: $QUORUM_BIN or build/bin/quorum)")
    ap.add_argument("--etcd-bin", default=harness.ETCD_BIN)
    ap.add_argument("--etcdctl-bin", default=harness.ETCDCTL_BIN)
    ap.add_argument("--etcd-only", action="store_true", help="validate the suite against etcd alone")
    ap.add_argument("--quorum-only", action="store_true", help="run against quorum alone")
    ap.add_argument("-k", dest="filter", help="only scenarios whose name contains this "
                    "('checker' selects the checker's unit tests)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print passing checks too")
    ap.add_argument("--list", action="store_true", help="list scenarios and exit")
    args = ap.parse_args()
    if args.etcd_only and args.quorum_only:
        ap.error("--etcd-only and --quorum-only are exclusive")
    harness.ETCD_BIN = args.etcd_bin
    harness.ETCDCTL_BIN = args.etcdctl_bin

    selected = [(n, f) for n, f in scenarios.SCENARIOS if not args.filter or args.filter in n]
    run_checker = not args.filter or args.filter in "checker"
    if args.list:
        if run_checker:
            print("checker: unit tests of tests/cluster/linearizability.py")
        for n, f in selected:
            print("%s: %s" % (n, " ".join((f.__doc__ or "").split())))
        return 0

    runner = Runner(verbose=args.verbose)
    if not os.path.isfile(args.etcdctl_bin):
        print("etcdctl not found at %s (run scripts/install-deps.sh)" % args.etcdctl_bin)
        print("0 passed, 1 failed")
        return 1
    try:
        import etcd3  # noqa: F401
    except ImportError as e:
        print("python3-etcd3 missing (%s): run scripts/install-deps.sh and use /usr/bin/python3" % e)
        print("0 passed, 1 failed")
        return 1

    targets = []
    if not args.quorum_only:
        targets.append(("etcd", os.path.abspath(args.etcd_bin)))
    if not args.etcd_only:
        targets.append(("quorum", os.path.abspath(args.quorum_bin)))

    t0 = time.monotonic()
    if run_checker:
        t = time.monotonic()
        test_checker.run(lambda name, ok, detail: runner.record("checker::" + name, ok, detail))
        print("-- checker unit tests: %.1fs" % (time.monotonic() - t), flush=True)
    for target, binary in targets:
        for name, fn in selected:
            runner.run_scenario(target, binary, name, fn)
    elapsed = time.monotonic() - t0
    if runner.failures:
        print("\nfailed checks (%d):" % len(runner.failures))
        for f in runner.failures:
            print("  " + f)
    print("per target: " + "; ".join("%s %d passed, %d failed" % (t, p, f)
                                     for t, (p, f) in runner.by_target.items()))
    print("cluster suite elapsed %.1fs (targets: %s)" % (elapsed, ", ".join("%s=%s" % t for t in targets)))
    print("%d passed, %d failed" % (runner.passed, runner.failed))
    return 0 if runner.failed == 0 and runner.passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
