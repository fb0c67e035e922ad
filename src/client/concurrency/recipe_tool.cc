// quorum-recipe: a small driver of the C++ recipes for the process-level
// tests (tests/cluster/scenario_recipes.py). Not a user tool.
//
//   quorum-recipe counter --endpoints=A,B,C --name=L --rounds=N [--ttl=S]
//     N times: Mutex(L).Lock, increment key "ctr" by compare-and-swap and
//     record hist/<%08d new count> = fencing revision (the lock's header
//     revision, what etcdctl lock exports as ETCD_LOCK_REV), Unlock.
//     Prints "inc <count> <fence>" per increment; exit 1 on any failure,
//     including a CAS that finds the counter moved while holding the lock
//     (another holder overlapped: "overlap ..."). A session reported lost
//     is replaced by a new one (at most kMaxLostSessions times) and the
//     round done again.
//   quorum-recipe incr --endpoints=... [--fence=F]
//     One such increment with the fence from ETCD_LOCK_REV (run as the
//     command of `etcdctl lock NAME -- quorum-recipe incr ...`).
//   quorum-recipe elect --endpoints=... --name=E --value=V [--ttl=S]
//     Campaigns, prints "leader <key> <rev>", then holds the leadership
//     (keeping its session alive) until killed.
// Every wait is bounded (kLockWait, kCampaignWait, kOpWait).
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "client/client.h"
#include "client/concurrency/election.h"
#include "client/concurrency/mutex.h"
#include "client/concurrency/session.h"
#include "client/kv.h"
#include "client/lease.h"
#include "client/txn.h"

namespace cc = quorum::client::concurrency;
namespace qc = quorum::client;

namespace {

constexpr absl::Duration kLockWait = absl::Seconds(120);
constexpr absl::Duration kCampaignWait = absl::Seconds(300);
constexpr absl::Duration kOpWait = absl::Seconds(30);
constexpr int kMaxLostSessions = 5;

std::map<std::string, std::string> ParseFlags(int argc, char** argv) {
  std::map<std::string, std::string> f;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) != 0) continue;
    size_t eq = a.find('=');
    if (eq == std::string::npos) {
      f[a.substr(2)] = "true";
    } else {
      f[a.substr(2, eq - 2)] = a.substr(eq + 1);
    }
  }
  return f;
}

int Fail(const std::string& what) {
  std::printf("error %s\n", what.c_str());
  std::fflush(stdout);
  return 1;
}

// One compare-and-swap increment of "ctr" recording hist/<new> = fence.
// OK when applied (by this call or an ambiguous earlier attempt of it);
// Aborted "overlap: ..." when the counter moved while we held the lock.
absl::Status Increment(qc::KvClient& kv, int64_t fence, int64_t* count) {
  const absl::Time deadline = absl::Now() + kOpWait;
  bool ambiguous = false;  // an earlier attempt failed without an answer
  for (;;) {
    if (absl::Now() > deadline) return absl::DeadlineExceededError("increment timed out");
    absl::StatusOr<etcdserverpb::RangeResponse> g = kv.Get("ctr");
    if (!g.ok() || g->kvs_size() == 0) {
      absl::SleepFor(absl::Milliseconds(200));
      continue;
    }
    int64_t v = 0;
    if (!absl::SimpleAtoi(g->kvs(0).value(), &v)) return absl::InternalError("bad counter");
    if (ambiguous && v > 0) {
      // The unanswered attempt may have applied: then the counter already
      // holds our increment (hist/<v> carries our fence) and must not get a
      // second one.
      absl::StatusOr<etcdserverpb::RangeResponse> h = kv.Get(absl::StrFormat("hist/%08d", v));
      if (!h.ok()) {
        absl::SleepFor(absl::Milliseconds(200));
        continue;
      }
      if (h->kvs_size() == 1 && h->kvs(0).value() == std::to_string(fence)) {
        *count = v;
        return absl::OkStatus();
      }
    }
    const std::string next = std::to_string(v + 1);
    const std::string hist = absl::StrFormat("hist/%08d", v + 1);
    qc::Txn t;
    t.If({qc::Cmp::Value("ctr").Equal(g->kvs(0).value())})
        .Then({qc::Op::Put("ctr", next), qc::Op::Put(hist, std::to_string(fence))});
    absl::StatusOr<etcdserverpb::TxnResponse> r = kv.Commit(t);
    if (r.ok() && r->succeeded()) {
      *count = v + 1;
      return absl::OkStatus();
    }
    if (r.ok()) {
      // The value moved. Ours if hist/<v+1> carries our fence (an earlier
      // ambiguous attempt applied); otherwise someone wrote while we held.
      absl::StatusOr<etcdserverpb::RangeResponse> h = kv.Get(hist);
      if (h.ok() && h->kvs_size() == 1 && h->kvs(0).value() == std::to_string(fence)) {
        *count = v + 1;
        return absl::OkStatus();
      }
      return absl::AbortedError(absl::StrFormat("overlap: counter moved from %d while holding (fence %d)",
                                                v, fence));
    }
    ambiguous = true;
    absl::SleepFor(absl::Milliseconds(200));  // ambiguous: re-read decides
  }
}

absl::StatusOr<std::unique_ptr<cc::Session>> NewSession(qc::Client& client, int64_t ttl) {
  absl::StatusOr<std::unique_ptr<cc::Session>> s;
  for (int i = 0; i < 50; ++i) {
    s = cc::Session::Create(client, {.ttl_s = ttl});
    if (s.ok()) break;
    absl::SleepFor(absl::Milliseconds(200));
  }
  return s;
}

int Counter(qc::Client& client, const std::map<std::string, std::string>& f) {
  int64_t rounds = 10, ttl = 5;
  if (f.count("rounds")) (void)absl::SimpleAtoi(f.at("rounds"), &rounds);
  if (f.count("ttl")) (void)absl::SimpleAtoi(f.at("ttl"), &ttl);
  const std::string name = f.count("name") ? f.at("name") : "lock";
  std::unique_ptr<cc::Session> s;
  std::optional<cc::Mutex> m;
  // A session reported lost (no renewal answered before its TTL ran out,
  // e.g. across a leader kill with a short TTL) is replaced, as an
  // application would; a bounded number of times.
  int lost_sessions = 0;
  qc::KvClient kv(client);
  for (int64_t r = 0; r < rounds; ++r) {
    if (s == nullptr || s->Done()) {
      if (s != nullptr && ++lost_sessions > kMaxLostSessions) {
        return Fail("session lost too often: " + s->Lost().ToString());
      }
      absl::StatusOr<std::unique_ptr<cc::Session>> fresh = NewSession(client, ttl);
      if (!fresh.ok()) return Fail("session: " + fresh.status().ToString());
      m.reset();
      s = *std::move(fresh);
      m.emplace(*s, name);
    }
    absl::Status ls = m->Lock(cc::Wait::For(kLockWait));
    if (!ls.ok() && s->Done()) {
      --r;  // the round again, under a new session
      continue;
    }
    if (!ls.ok()) {
      // What the session and its lease looked like: tells a lease that
      // expired (keep-alive lost) from a key deleted by someone else.
      auto left = qc::LeaseClient(client).TimeToLive(s->Lease(), /*keys=*/true);
      return Fail(absl::StrFormat("lock: %s (session %s; lease %x ttl %s)", ls.ToString(),
                                  s->Lost().ToString(), static_cast<uint64_t>(s->Lease()),
                                  left.ok() ? absl::StrCat(left->ttl(), " keys ", left->keys_size())
                                            : left.status().ToString()));
    }
    if (s->Done()) {
      // Lost while acquiring: the lock may be someone else's by now.
      (void)m->Unlock(cc::Wait::For(kOpWait));
      --r;
      continue;
    }
    const int64_t fence = m->Header().revision();
    int64_t count = 0;
    absl::Status is = Increment(kv, fence, &count);
    absl::Status us = m->Unlock(cc::Wait::For(kOpWait));
    if (!is.ok()) return Fail(is.ToString());
    if (!us.ok()) return Fail("unlock: " + us.ToString());
    std::printf("inc %lld %lld\n", static_cast<long long>(count), static_cast<long long>(fence));
    std::fflush(stdout);
  }
  (void)s->Close();
  return 0;
}

// The critical section of an `etcdctl lock ... -- quorum-recipe incr` holder:
// the fence comes from ETCD_LOCK_REV (or --fence).
int Incr(qc::Client& client, const std::map<std::string, std::string>& f) {
  std::string fs = f.count("fence") ? f.at("fence") : "";
  if (fs.empty() && std::getenv("ETCD_LOCK_REV") != nullptr) fs = std::getenv("ETCD_LOCK_REV");
  int64_t fence = 0;
  if (!absl::SimpleAtoi(fs, &fence) || fence <= 0) return Fail("no fence (ETCD_LOCK_REV)");
  qc::KvClient kv(client);
  int64_t count = 0;
  absl::Status is = Increment(kv, fence, &count);
  if (!is.ok()) return Fail(is.ToString());
  std::printf("inc %lld %lld\n", static_cast<long long>(count), static_cast<long long>(fence));
  std::fflush(stdout);
  return 0;
}

int Elect(qc::Client& client, const std::map<std::string, std::string>& f) {
  int64_t ttl = 3;
  if (f.count("ttl")) (void)absl::SimpleAtoi(f.at("ttl"), &ttl);
  absl::StatusOr<std::unique_ptr<cc::Session>> s = cc::Session::Create(client, {.ttl_s = ttl});
  if (!s.ok()) return Fail("session: " + s.status().ToString());
  cc::Election e(**s, f.count("name") ? f.at("name") : "election");
  absl::Status cs = e.Campaign(f.count("value") ? f.at("value") : "", cc::Wait::For(kCampaignWait));
  if (!cs.ok()) return Fail("campaign: " + cs.ToString());
  std::printf("leader %s %lld\n", e.Key().c_str(), static_cast<long long>(e.Rev()));
  std::fflush(stdout);
  // Hold until killed, or until the session is lost.
  while (!(*s)->WaitDone(absl::Seconds(1))) {
  }
  return Fail("session lost: " + (*s)->Lost().ToString());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: quorum-recipe counter|elect --endpoints=... [flags]\n");
    return 2;
  }
  std::map<std::string, std::string> f = ParseFlags(argc, argv);
  qc::ClientOptions o;
  if (f.count("endpoints")) o.endpoints = absl::StrSplit(f.at("endpoints"), ',');
  o.dial_timeout = absl::Seconds(1);
  o.command_timeout = absl::Seconds(5);
  absl::StatusOr<std::unique_ptr<qc::Client>> c = qc::Client::Create(o);
  if (!c.ok()) return Fail(c.status().ToString());
  const std::string cmd = argv[1];
  if (cmd == "counter") return Counter(**c, f);
  if (cmd == "elect") return Elect(**c, f);
  if (cmd == "incr") return Incr(**c, f);
  return Fail("unknown command " + cmd);
}
