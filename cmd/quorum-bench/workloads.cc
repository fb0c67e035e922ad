#include "cmd/quorum-bench/workloads.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <map>
#include <thread>

namespace qbench {

namespace pb = etcdserverpb;

namespace {

using UnaryCq = grpc::CompletionQueue;
using Ctx = grpc::ClientContext;

int64_t RandIn(int64_t n) {
  if (n <= 1) return 0;
  return std::uniform_int_distribution<int64_t>(0, n - 1)(Rng());
}

void AtomicMax(std::atomic<int64_t>& a, int64_t v) {
  int64_t cur = a.load(std::memory_order_relaxed);
  while (v > cur && !a.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
  }
}

// Values carrying their write time: 8 bytes of steady-clock nanoseconds, then padding.
std::string StampedValue(const std::string& pad) {
  std::string v = pad;
  if (v.size() < 8) v.resize(8, '\0');
  int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                   Clock::now().time_since_epoch()).count();
  std::memcpy(v.data(), &ns, 8);
  return v;
}

bool StampOf(const std::string& v, Clock::time_point* t) {
  if (v.size() < 8) return false;
  int64_t ns;
  std::memcpy(&ns, v.data(), 8);
  *t = Clock::time_point(std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(ns)));
  return true;
}

void UnaryPut(Bench& b, int c, const pb::PutRequest& req,
              std::function<void(const grpc::Status&, pb::PutResponse&)> done) {
  auto* stub = b.kv(c);
  b.Unary<pb::PutResponse>(
      b.worker(c), [&](Ctx* ctx, UnaryCq* cq) { return stub->PrepareAsyncPut(ctx, req, cq); },
      std::move(done));
}

void UnaryRange(Bench& b, int c, const pb::RangeRequest& req,
                std::function<void(const grpc::Status&, pb::RangeResponse&)> done) {
  auto* stub = b.kv(c);
  b.Unary<pb::RangeResponse>(
      b.worker(c), [&](Ctx* ctx, UnaryCq* cq) { return stub->PrepareAsyncRange(ctx, req, cq); },
      std::move(done));
}

void UnaryTxn(Bench& b, int c, const pb::TxnRequest& req,
              std::function<void(const grpc::Status&, pb::TxnResponse&)> done) {
  auto* stub = b.kv(c);
  b.Unary<pb::TxnResponse>(
      b.worker(c), [&](Ctx* ctx, UnaryCq* cq) { return stub->PrepareAsyncTxn(ctx, req, cq); },
      std::move(done));
}

// Periodic compaction for `put --compact-interval`: every interval, compact to
// (latest revision seen - delta). Runs on worker 0 until `stop`.
struct Compactor {
  Bench* b;
  double interval;
  int64_t delta;
  std::atomic<int64_t>* max_rev;
  std::atomic<bool> stop{false};
  std::atomic<bool> idle{true};
  Clock::time_point next;

  void Tick() {
    if (stop.load() || b->stopping()) {
      idle.store(true);
      return;
    }
    auto now = Clock::now();
    if (now >= next) {
      next = now + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(interval));
      int64_t rev = max_rev->load() - delta;
      if (rev > 0) {
        pb::CompactionRequest req;
        req.set_revision(rev);
        auto* stub = b->kv(0);
        b->Unary<pb::CompactionResponse>(
            b->worker(0), [&](Ctx* ctx, UnaryCq* cq) { return stub->PrepareAsyncCompact(ctx, req, cq); },
            [](const grpc::Status&, pb::CompactionResponse&) {});
      }
    }
    // Short ticks so that stopping never waits for a whole interval.
    b->RunAt(b->worker(0), std::min(next, now + std::chrono::milliseconds(100)), [this] { Tick(); });
  }
};

}  // namespace

void RunPut(Bench& b, const PutOptions& o, Outcome* out) {
  Report* r = out->Add("put", "", b.num_workers());
  const std::string value = RandomBytes(o.val_size);
  auto* max_rev_p = new std::atomic<int64_t>{0};  // these two live as long as the process
  auto& max_rev = *max_rev_p;
  RateLimiter lim(b.opts().rate);
  auto* compactor = new Compactor{&b, o.compact_interval, o.compact_delta, max_rev_p};
  if (o.compact_interval > 0) {
    compactor->idle.store(false);
    compactor->next = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                         std::chrono::duration<double>(o.compact_interval));
    b.Post(b.worker(0), [compactor] { compactor->Tick(); });
  }
  ClosedLoop(
      b, *r, b.opts().clients, b.opts().total, &lim,
      [&](int c, int64_t ticket, Finish fin) {
        pb::PutRequest req;
        int64_t k = o.sequential ? ticket % std::max<int64_t>(1, o.key_space) : RandIn(o.key_space);
        req.set_key(VarintKey(k, o.key_size));
        req.set_value(value);
        UnaryPut(b, c, req, [fin = std::move(fin), &max_rev](const grpc::Status& s, pb::PutResponse& resp) {
          if (s.ok()) AtomicMax(max_rev, resp.header().revision());
          fin(s);
        });
      },
      "put");
  compactor->stop.store(true);
}

void RunRange(Bench& b, const RangeOptions& o, Outcome* out) {
  Report* r = out->Add("range", "", b.num_workers());
  RateLimiter lim(b.opts().rate);
  pb::RangeRequest proto;
  proto.set_key(o.key);
  if (!o.end.empty()) proto.set_range_end(o.end);
  proto.set_limit(o.limit);
  proto.set_serializable(o.consistency == "s");
  proto.set_count_only(o.count_only);
  ClosedLoop(
      b, *r, b.opts().clients, b.opts().total, &lim,
      [&](int c, int64_t, Finish fin) {
        UnaryRange(b, c, proto, [fin = std::move(fin)](const grpc::Status& s, pb::RangeResponse&) { fin(s); });
      },
      "range");
}

void RunTxnPut(Bench& b, const TxnPutOptions& o, Outcome* out) {
  Report* r = out->Add("txn-put", "", b.num_workers());
  const std::string value = RandomBytes(o.val_size);
  RateLimiter lim(b.opts().rate);
  const int64_t space = std::max<int64_t>(1, o.key_space);
  ClosedLoop(
      b, *r, b.opts().clients, b.opts().total, &lim,
      [&](int c, int64_t ticket, Finish fin) {
        pb::TxnRequest req;
        for (int j = 0; j < o.ops; ++j) {
          auto* put = req.add_success()->mutable_request_put();
          put->set_key(VarintKey((ticket * o.ops + j) % space, o.key_size));
          put->set_value(value);
        }
        UnaryTxn(b, c, req, [fin = std::move(fin)](const grpc::Status& s, pb::TxnResponse&) { fin(s); });
      },
      "txn-put");
}

void RunTxnMixed(Bench& b, const TxnMixedOptions& o, Outcome* out) {
  Report* all = out->Add("txn-mixed", "Mixed summary (reads and writes):", b.num_workers());
  Report* rd = out->Add("read", "Read summary:", b.num_workers());
  Report* wr = out->Add("write", "Write summary:", b.num_workers());
  const std::string value = RandomBytes(o.val_size);
  const double read_frac = o.rw_ratio / (o.rw_ratio + 1);
  RateLimiter lim(b.opts().rate);
  auto now = Clock::now();
  rd->SetStart(now);
  wr->SetStart(now);
  ClosedLoop(
      b, *all, b.opts().clients, b.opts().total, &lim,
      [&](int c, int64_t, Finish fin) {
        pb::TxnRequest req;
        const std::string key = VarintKey(RandIn(o.key_space), o.key_size);
        bool read = std::uniform_real_distribution<double>(0, 1)(Rng()) < read_frac;
        if (read) {
          auto* rr = req.add_success()->mutable_request_range();
          rr->set_key(key);
          if (!o.end_key.empty()) rr->set_range_end(o.end_key);
          rr->set_limit(o.limit);
          rr->set_serializable(o.consistency == "s");
        } else {
          auto* put = req.add_success()->mutable_request_put();
          put->set_key(key);
          put->set_value(value);
        }
        Report* which = read ? rd : wr;
        int shard = b.worker(c)->index;
        auto start = Clock::now();
        UnaryTxn(b, c, req, [fin = std::move(fin), which, shard, start](const grpc::Status& s, pb::TxnResponse&) {
          auto end = Clock::now();
          if (s.ok()) {
            which->Add(shard, std::chrono::duration<double>(end - start).count(), end);
          } else {
            which->AddError(shard, StatusString(s), end);
          }
          fin(s);
        });
      },
      "txn-mixed");
}

// ---- stm ----------------------------------------------------------------------

namespace {

// One software-transactional-memory transaction: read every key, write each
// value + 1, commit with the isolation level's compares; retried on conflict.
struct StmTxn {
  Bench* b;
  const StmOptions* o;
  int client;
  std::vector<std::string> keys;
  std::vector<int64_t> mod_revs, values;
  int64_t rev = 0;  // revision of the first read (serializable levels read at it)
  int retries = 0;
  Finish fin;

  void ReadKey(size_t i) {
    if (i == keys.size()) {
      Commit();
      return;
    }
    pb::RangeRequest req;
    req.set_key(keys[i]);
    if ((o->isolation == "s" || o->isolation == "ss") && i > 0) {
      req.set_revision(rev);
      req.set_serializable(true);
    }
    UnaryRange(*b, client, req, [this, i](const grpc::Status& s, pb::RangeResponse& resp) {
      if (!s.ok()) return Done(s);
      if (i == 0) rev = resp.header().revision();
      if (resp.kvs_size() > 0) {
        mod_revs[i] = resp.kvs(0).mod_revision();
        const std::string& v = resp.kvs(0).value();
        int64_t n = 0;
        std::from_chars(v.data(), v.data() + v.size(), n);
        values[i] = n;
      } else {
        mod_revs[i] = 0;
        values[i] = 0;
      }
      ReadKey(i + 1);
    });
  }

  void Commit() {
    pb::TxnRequest req;
    if (o->isolation != "c") {
      for (size_t i = 0; i < keys.size(); ++i) {
        auto* cmp = req.add_compare();
        cmp->set_key(keys[i]);
        cmp->set_target(pb::Compare::MOD);
        cmp->set_result(pb::Compare::EQUAL);
        cmp->set_mod_revision(mod_revs[i]);
      }
      if (o->isolation == "ss") {  // the write set is unchanged since the snapshot
        for (const auto& k : keys) {
          auto* cmp = req.add_compare();
          cmp->set_key(k);
          cmp->set_target(pb::Compare::MOD);
          cmp->set_result(pb::Compare::LESS);
          cmp->set_mod_revision(rev + 1);
        }
      }
    }
    for (size_t i = 0; i < keys.size(); ++i) {
      auto* put = req.add_success()->mutable_request_put();
      put->set_key(keys[i]);
      put->set_value(std::to_string(values[i] + 1));
    }
    UnaryTxn(*b, client, req, [this](const grpc::Status& s, pb::TxnResponse& resp) {
      if (!s.ok()) return Done(s);
      if (resp.succeeded()) return Done(grpc::Status::OK);
      if (++retries > 1000 || b->stopping()) {
        return Done(grpc::Status(grpc::StatusCode::ABORTED, "stm: too many conflicts"));
      }
      ReadKey(0);
    });
  }

  void Done(const grpc::Status& s) {
    Finish f = std::move(fin);
    delete this;
    f(s);
  }
};

}  // namespace

void RunStm(Bench& b, const StmOptions& o, Outcome* out) {
  Report* r = out->Add("stm", "", b.num_workers());
  RateLimiter lim(b.opts().rate);
  const int64_t nkeys = std::max<int64_t>(1, o.keys);
  const int per = std::clamp<int64_t>(o.keys_per_txn, 1, nkeys);
  ClosedLoop(
      b, *r, b.opts().clients, b.opts().total, &lim,
      [&](int c, int64_t, Finish fin) {
        auto* t = new StmTxn{&b, &o, c, {}, {}, {}, 0, 0, std::move(fin)};
        std::vector<int64_t> picked;
        while (static_cast<int>(picked.size()) < per) {
          int64_t k = RandIn(nkeys);
          if (std::find(picked.begin(), picked.end(), k) == picked.end()) picked.push_back(k);
        }
        std::sort(picked.begin(), picked.end());
        char buf[32];
        for (int64_t k : picked) {
          std::snprintf(buf, sizeof buf, "stm/%08lld", static_cast<long long>(k));
          t->keys.emplace_back(buf);
        }
        t->mod_revs.assign(t->keys.size(), 0);
        t->values.assign(t->keys.size(), 0);
        t->ReadKey(0);
      },
      "stm");
}

// ---- lease-keepalive -------------------------------------------------------------

void RunLeaseKeepAlive(Bench& b, Outcome* out) {
  Report* r = out->Add("lease-keepalive", "", b.num_workers());
  using KaStream = BidiStream<pb::LeaseKeepAliveRequest, pb::LeaseKeepAliveResponse>;
  struct KaClient {
    int64_t id = 0;
    KaStream* stream = nullptr;
    Finish pending;
    bool started = false;
    bool dead = false;
    grpc::Status final_status;
  };
  // Referenced by stream callbacks until Bench::Shutdown: lives as long as the process.
  struct State {
    std::vector<KaClient> cl;
    std::atomic<int> ready{0}, failed{0};
  };
  const int n = b.opts().clients;
  auto* st = new State;
  st->cl.resize(n);

  // Setup: one lease (TTL 100 s) and one keep-alive stream per client.
  for (int c = 0; c < n; ++c) {
    b.Post(b.worker(c), [&b, st, r, c] {
      pb::LeaseGrantRequest req;
      req.set_ttl(100);
      auto* stub = b.lease(c);
      b.Unary<pb::LeaseGrantResponse>(
          b.worker(c), [&](Ctx* ctx, UnaryCq* cq) { return stub->PrepareAsyncLeaseGrant(ctx, req, cq); },
          [&b, st, r, c](const grpc::Status& s, pb::LeaseGrantResponse& resp) {
            if (!s.ok()) {
              b.Note(s);
              r->AddError(b.worker(c)->index, StatusString(s), Clock::now());
              st->failed.fetch_add(1);
              return;
            }
            KaClient* k = &st->cl[c];
            k->id = resp.id();
            k->stream = b.Own(std::make_unique<KaStream>(&b, b.worker(c)));
            k->stream->on_start = [st, k] {
              k->started = true;
              st->ready.fetch_add(1);
            };
            k->stream->on_read = [k](pb::LeaseKeepAliveResponse&) {
              if (k->pending) {
                Finish f = std::move(k->pending);
                k->pending = nullptr;
                f(grpc::Status::OK);
              }
            };
            k->stream->on_done = [st, k](const grpc::Status& status) {
              if (!k->started) st->failed.fetch_add(1);
              if (!k->dead) {
                k->dead = true;
                k->final_status =
                    status.ok() ? grpc::Status(grpc::StatusCode::UNAVAILABLE, "keep-alive stream closed") : status;
              }
              if (k->pending) {
                Finish f = std::move(k->pending);
                k->pending = nullptr;
                f(k->final_status);
              }
            };
            auto* ls = b.lease(c);
            k->stream->Start([ls](Ctx* ctx, UnaryCq* cq) { return ls->PrepareAsyncLeaseKeepAlive(ctx, cq); });
          });
    });
  }
  b.Wait([st, n] { return st->ready.load() + st->failed.load() >= n; },
         [st] { return int64_t{st->ready.load()}; }, n, "lease-keepalive setup");
  if (st->failed.load() > 0 || b.stopping()) {
    r->SetStart(Clock::now());
    return;
  }

  RateLimiter lim(b.opts().rate);
  ClosedLoop(
      b, *r, n, b.opts().total, &lim,
      [&b, st](int c, int64_t, Finish fin) {
        KaClient& k = st->cl[c];
        if (k.dead) {  // finish asynchronously, never inside issue
          grpc::Status status = k.final_status;
          b.Post(b.worker(c), [fin = std::move(fin), status] { fin(status); });
          return;
        }
        k.pending = std::move(fin);
        pb::LeaseKeepAliveRequest req;
        req.set_id(k.id);
        k.stream->Send(std::move(req));
      },
      "lease-keepalive");
}

// ---- watch ---------------------------------------------------------------------------

namespace {

using WatchStream = BidiStream<pb::WatchRequest, pb::WatchResponse>;

struct WatchCounters {
  std::atomic<int64_t> created{0}, events{0}, errors{0};
};

// Responses that carried events, over all streams: events per response shows
// how well the server batches a watcher's events.
std::atomic<int64_t> g_event_responses{0};

// Watchers on one stream: created one after another (each create waits for its
// "created" response, as etcd's client does), then counting events.
struct WatchStreamState {
  Bench* b;
  WatchStream* stream;
  std::vector<std::string> keys;  // one per watcher to create
  size_t next = 0;
  Clock::time_point sent;
  bool prev_kv = false;
  Report* create_report;
  Report* event_report;
  std::atomic<int64_t>* created;
  std::atomic<int64_t>* events;
  std::atomic<int64_t>* errors;

  void SendNext() {
    if (next >= keys.size()) return;
    pb::WatchRequest req;
    auto* cr = req.mutable_create_request();
    cr->set_key(keys[next]);
    cr->set_prev_kv(prev_kv);
    ++next;
    sent = Clock::now();
    stream->Send(std::move(req));
  }

  void OnResponse(pb::WatchResponse& resp) {
    auto now = Clock::now();
    int shard = stream->worker()->index;
    if (resp.created()) {
      create_report->Add(shard, std::chrono::duration<double>(now - sent).count(), now);
      created->fetch_add(1);
      SendNext();
    }
    if (resp.canceled()) {
      errors->fetch_add(1);
      create_report->AddError(shard, "watch canceled: " + resp.cancel_reason(), now);
    }
    int n = resp.events_size();
    for (int i = 0; i < n; ++i) {
      Clock::time_point t;
      if (StampOf(resp.events(i).kv().value(), &t)) {
        event_report->Add(shard, std::chrono::duration<double>(now - t).count(), now);
      } else {
        event_report->Add(shard, 0, now);
      }
    }
    if (n > 0) {
      events->fetch_add(n, std::memory_order_relaxed);
      g_event_responses.fetch_add(1, std::memory_order_relaxed);
    }
  }
};

// Opens `streams` watch streams, stream s creating watchers on keys_for(s).
std::vector<WatchStreamState*> OpenWatchStreams(Bench& b, int streams,
                                                const std::function<std::vector<std::string>(int)>& keys_for,
                                                bool prev_kv, Report* create_report, Report* event_report,
                                                std::atomic<int64_t>* created, std::atomic<int64_t>* events,
                                                std::atomic<int64_t>* errors) {
  std::vector<WatchStreamState*> states;
  for (int s = 0; s < streams; ++s) {
    auto* st = new WatchStreamState{&b, nullptr, keys_for(s), 0, {}, prev_kv, create_report,
                                    event_report, created, events, errors};
    states.push_back(st);
    Worker* w = b.worker(s);
    st->stream = b.Own(std::make_unique<WatchStream>(&b, w));
    st->stream->on_start = [st] { st->SendNext(); };
    st->stream->on_read = [st](pb::WatchResponse& resp) { st->OnResponse(resp); };
    st->stream->on_done = [st, errors](const grpc::Status& status) {
      if (!status.ok() && !st->b->stopping()) {
        errors->fetch_add(1);
        st->create_report->AddError(st->stream->worker()->index, StatusString(status), Clock::now());
      }
    };
    auto* stub = b.watch(s);
    b.Post(w, [st, stub] {
      st->stream->Start([stub](Ctx* ctx, UnaryCq* cq) { return stub->PrepareAsyncWatch(ctx, cq); });
    });
  }
  return states;
}

// The put side of the watch benchmarks: `total` puts of keys[i % keys.size()],
// values stamped with their start time, at most `rate` per second.
void StampedPuts(Bench& b, Report* r, int clients, int64_t total, double rate,
                 const std::vector<std::string>& keys, const std::string& pad, const std::string& label) {
  RateLimiter lim(rate);
  ClosedLoop(
      b, *r, clients, total, &lim,
      [&](int c, int64_t ticket, Finish fin) {
        pb::PutRequest req;
        req.set_key(keys[ticket % keys.size()]);
        req.set_value(StampedValue(pad));
        UnaryPut(b, c, req, [fin = std::move(fin)](const grpc::Status& s, pb::PutResponse&) { fin(s); });
      },
      label);
}

}  // namespace

void RunWatch(Bench& b, const WatchOptions& o, Outcome* out) {
  Report* creates = out->Add("watch-create", "Watch creation summary:", b.num_workers());
  Report* puts = out->Add("put", "Put summary:", b.num_workers());
  Report* events = out->Add("watch", "Watch events received summary:", b.num_workers());
  out->primary = 2;
  const int64_t space = std::max<int64_t>(1, o.key_space);

  std::vector<std::string> watched(std::max(1, o.watched_key_total));
  for (size_t i = 0; i < watched.size(); ++i) {
    watched[i] = VarintKey(o.sequential ? static_cast<int64_t>(i) % space : RandIn(space), o.key_size);
  }
  std::map<std::string, int64_t> num_watchers;
  std::vector<std::vector<std::string>> per_stream(o.streams);
  for (int s = 0; s < o.streams; ++s) {
    for (int i = 0; i < o.watch_per_stream; ++i) {
      const std::string& k = watched[(static_cast<size_t>(s) * o.watch_per_stream + i) % watched.size()];
      per_stream[s].push_back(k);
      ++num_watchers[k];
    }
  }
  const int64_t want_watchers = static_cast<int64_t>(o.streams) * o.watch_per_stream;
  auto* cnt = new WatchCounters;  // referenced by stream callbacks until Bench::Shutdown
  auto& created = cnt->created;
  auto& nevents = cnt->events;
  auto& errors = cnt->errors;

  creates->SetStart(Clock::now());
  auto states = OpenWatchStreams(b, o.streams, [&](int s) { return per_stream[s]; }, o.prev_kv, creates,
                                 events, &created, &nevents, &errors);
  b.Wait([&] { return created.load() >= want_watchers || errors.load() > 0; },
         [&] { return created.load(); }, want_watchers, "watch create");
  if (created.load() < want_watchers) {
    if (!b.stopping()) b.Stop("watch creation failed");
    events->SetStart(Clock::now());
    puts->SetStart(Clock::now());
    return;
  }

  int64_t want_events = 0;
  for (int64_t i = 0; i < o.put_total; ++i) want_events += num_watchers[watched[i % watched.size()]];
  events->SetStart(Clock::now());
  StampedPuts(b, puts, b.opts().clients, o.put_total, o.put_rate, watched, std::string(o.val_size, 'd'),
              "watch put");
  b.Wait([&] { return nevents.load() >= want_events; }, [&] { return nevents.load(); }, want_events,
         "watch events");
  if (const int64_t r = g_event_responses.load(); r > 0) {
    std::fprintf(stderr, "watch: %lld events in %lld responses (%.1f events/response)\n",
                 static_cast<long long>(nevents.load()), static_cast<long long>(r),
                 static_cast<double>(nevents.load()) / static_cast<double>(r));
  }
  (void)states;  // freed with the process: their streams live until Bench::Shutdown
}

void RunWatchLatency(Bench& b, const WatchLatencyOptions& o, Outcome* out) {
  Report* creates = out->Add("watch-create", "Watch creation summary:", b.num_workers());
  Report* puts = out->Add("put", "Put summary:", b.num_workers());
  Report* events = out->Add("watch-latency", "Watch events summary:", b.num_workers());
  out->primary = 2;
  const std::string key = RandomBytes(o.key_size);
  const int64_t want_watchers = static_cast<int64_t>(o.streams) * o.watchers_per_stream;
  auto* cnt = new WatchCounters;  // referenced by stream callbacks until Bench::Shutdown
  auto& created = cnt->created;
  auto& nevents = cnt->events;
  auto& errors = cnt->errors;

  creates->SetStart(Clock::now());
  auto states = OpenWatchStreams(
      b, o.streams, [&](int) { return std::vector<std::string>(o.watchers_per_stream, key); }, false, creates,
      events, &created, &nevents, &errors);
  b.Wait([&] { return created.load() >= want_watchers || errors.load() > 0; },
         [&] { return created.load(); }, want_watchers, "watch create");
  if (created.load() < want_watchers) {
    if (!b.stopping()) b.Stop("watch creation failed");
    events->SetStart(Clock::now());
    puts->SetStart(Clock::now());
    return;
  }
  const int64_t want_events = o.put_total * want_watchers;
  events->SetStart(Clock::now());
  // One putter, one put at a time (the latency of interest is put -> event).
  StampedPuts(b, puts, 1, o.put_total, o.put_rate, {key}, RandomBytes(o.val_size), "watch-latency put");
  b.Wait([&] { return nevents.load() >= want_events; }, [&] { return nevents.load(); }, want_events,
         "watch events");
  (void)states;
}

}  // namespace qbench
