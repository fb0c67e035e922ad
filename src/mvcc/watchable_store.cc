#include "mvcc/watchable_store.h"

#include <algorithm>

#include "absl/time/time.h"
#include "mvcc/revision.h"

namespace quorum::mvcc {

WatchableStore::WatchableStore(KvStore* store) : store_(store) {
  notified_rev_ = store_->Rev();
  store_->SetCommitObserver(this);
  thread_ = std::thread([this] { ReplayLoop(); });
}

WatchableStore::~WatchableStore() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
  store_->SetCommitObserver(nullptr);
}

bool WatchableStore::Matches(const Watcher& w, const std::string& key) const {
  if (w.end.empty()) return key == w.key;
  if (key < w.key) return false;
  if (w.end.size() == 1 && w.end[0] == '\0') return true;
  return key < w.end;
}

bool WatchableStore::Wanted(const Watcher& w, const Change& c) const {
  if (c.deleted ? w.no_delete : w.no_put) return false;
  return Matches(w, c.kv.key());
}

void WatchableStore::AddSyncedLocked(Watcher* w) {
  w->synced = true;
  unsynced_.erase(w);
  if (w->end.empty()) {
    synced_keys_[w->key].insert(w);
  } else {
    synced_ranges_.insert(w);
  }
}

void WatchableStore::RemoveSyncedLocked(Watcher* w) {
  if (w->end.empty()) {
    auto it = synced_keys_.find(w->key);
    if (it != synced_keys_.end()) {
      it->second.erase(w);
      if (it->second.empty()) synced_keys_.erase(it);
    }
  } else {
    synced_ranges_.erase(w);
  }
  w->synced = false;
}

void WatchableStore::Watch(WatchId id, const WatchOptions& opts, WatchSink* sink) {
  absl::MutexLock lock(&mu_);
  auto w = std::make_unique<Watcher>();
  w->id = id;
  w->key = opts.key;
  w->end = opts.end;
  w->no_put = opts.no_put;
  w->no_delete = opts.no_delete;
  w->sink = sink;
  // Read under mu_: a commit published after this read is notified after
  // we release mu_, so nothing falls between the two.
  const int64_t cur = store_->Rev();
  w->next_rev = opts.start_rev > 0 ? opts.start_rev : cur + 1;
  Watcher* raw = w.get();
  watchers_[raw->id] = std::move(w);
  if (raw->next_rev > cur) {
    AddSyncedLocked(raw);
  } else {
    raw->synced = false;
    unsynced_.insert(raw);
  }
}

void WatchableStore::Cancel(WatchId id) {
  absl::MutexLock lock(&mu_);
  auto it = watchers_.find(id);
  if (it == watchers_.end()) return;
  Watcher* w = it->second.get();
  if (w->synced) {
    RemoveSyncedLocked(w);
  } else {
    unsynced_.erase(w);
  }
  watchers_.erase(it);
}

bool WatchableStore::IsSynced(WatchId id) const {
  absl::MutexLock lock(&mu_);
  auto it = watchers_.find(id);
  return it != watchers_.end() && it->second->synced;
}

size_t WatchableStore::WatcherCount() const {
  absl::MutexLock lock(&mu_);
  return watchers_.size();
}

void WatchableStore::ProgressEach(WatchSink* sink, absl::Span<const WatchId> ids) {
  absl::MutexLock lock(&mu_);
  for (WatchId id : ids) {
    auto it = watchers_.find(id);
    if (it == watchers_.end() || !it->second->synced || it->second->sink != sink) continue;
    sink->Progress(id, notified_rev_);
  }
}

bool WatchableStore::ProgressAll(WatchSink* sink, absl::Span<const WatchId> ids) {
  absl::MutexLock lock(&mu_);
  for (WatchId id : ids) {
    auto it = watchers_.find(id);
    if (it != watchers_.end() && !it->second->synced) return false;  // gone ones do not count
  }
  sink->Progress(kProgressAll, notified_rev_);
  return true;
}

void WatchableStore::OnStateReplacing() {
  absl::MutexLock lock(&mu_);
  replacing_ = true;
  ++state_epoch_;
}

void WatchableStore::OnStateReplaced() {
  absl::MutexLock lock(&mu_);
  replacing_ = false;
  ++state_epoch_;
  std::vector<Watcher*> synced;
  for (auto& [id, w] : watchers_) {
    if (w->synced) synced.push_back(w.get());
  }
  for (Watcher* w : synced) {
    w->next_rev = std::max(w->next_rev, notified_rev_ + 1);
    RemoveSyncedLocked(w);
    unsynced_.insert(w);
  }
  notified_rev_ = std::max(notified_rev_, store_->Rev());
}

template <typename OnResult>
void WatchableStore::DeliverLocked(const std::shared_ptr<const EventGroup>& group, bool live,
                                   std::vector<Watcher*>* ws, OnResult on_result) {
  // One sink call per sink: sort by sink, then hand over each run.
  std::sort(ws->begin(), ws->end(),
            [](const Watcher* a, const Watcher* b) { return a->sink < b->sink; });
  for (size_t b = 0; b < ws->size();) {
    WatchSink* sink = (*ws)[b]->sink;
    size_t e = b;
    deliveries_.clear();
    for (; e < ws->size() && (*ws)[e]->sink == sink; ++e) {
      Watcher* w = (*ws)[e];
      Delivery& d = deliveries_.emplace_back();
      d.id = w->id;
      d.events.group = group;
      d.live = live;
      d.events.events = std::move(w->pending);
      w->pending.clear();
    }
    sink->Deliver(absl::MakeSpan(deliveries_));
    for (size_t i = b; i < e; ++i) on_result((*ws)[i], deliveries_[i - b].accepted);
    b = e;
  }
  deliveries_.clear();
  ws->clear();
}

void WatchableStore::OnCommit(std::vector<Change> changes, int64_t rev) {
  absl::MutexLock lock(&mu_);
  if (changes.empty()) return;
  // Every revision bump comes with changes and so with a notification; a
  // jump means the state was replaced under us (KvStore::Reload after a
  // snapshot install) and revisions (notified_rev_, first) were never
  // notified. As etcd's Restore does, send every synced watcher through
  // replay, which reads them (or reports compaction) from the new state.
  const int64_t first = changes.front().kv.mod_revision();
  if (first > notified_rev_ + 1) {
    std::vector<Watcher*> synced;
    for (auto& [id, w] : watchers_) {
      if (w->synced) synced.push_back(w.get());
    }
    for (Watcher* w : synced) {
      w->next_rev = std::max(w->next_rev, notified_rev_ + 1);
      RemoveSyncedLocked(w);
      unsynced_.insert(w);
    }
  }
  notified_rev_ = std::max(notified_rev_, rev);
  if (synced_keys_.empty() && synced_ranges_.empty()) return;
  touched_.clear();
  for (uint32_t i = 0; i < changes.size(); ++i) {
    const Change& c = changes[i];
    auto collect = [&](Watcher* w) {
      if (c.kv.mod_revision() >= w->next_rev && Wanted(*w, c)) {
        if (w->pending.empty()) touched_.push_back(w);
        w->pending.push_back(i);
      }
    };
    auto it = synced_keys_.find(c.kv.key());
    if (it != synced_keys_.end()) {
      for (Watcher* w : it->second) collect(w);
    }
    for (Watcher* w : synced_ranges_) collect(w);
  }
  if (touched_.empty()) return;
  auto group = std::make_shared<const EventGroup>(std::move(changes), rev, store_);
  DeliverLocked(group, /*live=*/true, &touched_, [&](Watcher* w, bool accepted) {
    if (accepted) {
      w->next_rev = rev + 1;
      return;
    }
    // Full: replay this and later revisions from storage when it drains.
    // A synced watcher has been given every event it wanted before this
    // group, but next_rev only moves on delivery, so on a quiet key it
    // may lag far behind; without this bump a compaction of other keys'
    // history would wrongly report it compacted (and replay would rescan).
    w->next_rev = std::max(w->next_rev, first);
    RemoveSyncedLocked(w);
    unsynced_.insert(w);
  });
}

void WatchableStore::ReplayLoop() {
  for (;;) {
    const Pass pass = ReplayOnce();
    absl::MutexLock lock(&mu_);
    if (stopping_) return;
    // Blocked: the sinks drain at the clients' pace; look again soon, but
    // do not spin on the lock OnCommit needs.
    if (pass != Pass::kMore) {
      mu_.AwaitWithTimeout(absl::Condition(&stopping_),
                           absl::Milliseconds(pass == Pass::kBlocked ? 2 : 20));
    }
    if (stopping_) return;
  }
}

WatchableStore::Pass WatchableStore::ReplayOnce() {
  std::vector<WatchId> ids;
  int64_t min_rev = 0, cur = 0;
  uint64_t epoch = 0;
  {
    absl::MutexLock lock(&mu_);
    if (unsynced_.empty()) return Pass::kIdle;
    if (replacing_) return Pass::kBlocked;  // the backend holds neither state
    epoch = state_epoch_;
    cur = store_->Rev();
    const int64_t compact = store_->CompactRev();
    std::vector<Watcher*> compacted;
    for (Watcher* w : unsynced_) {
      if (w->next_rev < compact) {
        compacted.push_back(w);
        continue;
      }
      if (!w->sink->Ready()) continue;
      ids.push_back(w->id);
      min_rev = ids.size() == 1 ? w->next_rev : std::min(min_rev, w->next_rev);
      if (static_cast<int>(ids.size()) >= kMaxWatchersPerPass) break;
    }
    for (Watcher* w : compacted) {
      w->sink->Compacted(w->id, compact);
      unsynced_.erase(w);
      watchers_.erase(w->id);
    }
    if (ids.empty()) return unsynced_.empty() ? Pass::kIdle : Pass::kBlocked;
  }
  const int64_t max_rev = std::min(cur, min_rev + kMaxRevsPerPass - 1);
  std::vector<Change> history;
  if (min_rev <= max_rev) {
    bool bad_record = false;
    const absl::Status st = store_->backend()->Scan(
        Cf::kKv, EncodeRevKey(Revision{min_rev, 0}), EncodeRevKey(Revision{max_rev + 1, 0}),
        [&](std::string_view k, std::string_view v) {
          auto d = DecodeRevKey(k);
          Change c;
          if (!d || !c.kv.ParseFromArray(v.data(), static_cast<int>(v.size()))) {
            bad_record = true;
            return false;
          }
          c.deleted = d->tombstone;
          if (c.deleted) c.kv.set_mod_revision(d->rev.main);
          history.push_back(std::move(c));
          return true;
        });
    // Skipping what could not be read would be a gap: the watchers stay
    // where they are and the pass is retried.
    if (!st.ok() || bad_record) return Pass::kBlocked;
  }
  absl::MutexLock lock(&mu_);
  // The state was replaced while it was read: what was read may mix both.
  if (replacing_ || state_epoch_ != epoch) return Pass::kMore;
  const int64_t compact = store_->CompactRev();
  auto group = std::make_shared<const EventGroup>(std::move(history), cur, store_);
  // Caught up with everything published: commits after this point are
  // notified to synced watchers (OnCommit takes mu_ after publishing).
  size_t moved = 0;  // watchers given events or advanced
  auto sync_if_caught_up = [&](Watcher* w) {
    if (w->next_rev <= store_->Rev()) return;
    AddSyncedLocked(w);
    w->sink->Synced(w->id);
  };
  auto advance = [&](Watcher* w) {
    ++moved;
    w->next_rev = max_rev + 1;
    sync_if_caught_up(w);
  };
  touched_.clear();
  for (WatchId id : ids) {
    auto it = watchers_.find(id);
    if (it == watchers_.end() || it->second->synced) continue;
    Watcher* w = it->second.get();
    if (w->next_rev < compact) continue;  // reported as compacted next pass
    if (w->next_rev > max_rev) {
      if (w->next_rev > store_->Rev()) ++moved;
      sync_if_caught_up(w);
      continue;
    }
    for (uint32_t i = 0; i < group->size(); ++i) {
      const Change& c = group->change(i);
      if (c.kv.mod_revision() >= w->next_rev && Wanted(*w, c)) w->pending.push_back(i);
    }
    if (w->pending.empty()) {
      advance(w);
    } else {
      touched_.push_back(w);
    }
  }
  // A refused delivery leaves the watcher unsynced at the same next_rev.
  DeliverLocked(group, /*live=*/false, &touched_, [&](Watcher* w, bool accepted) {
    if (accepted) advance(w);
  });
  if (unsynced_.empty()) return Pass::kIdle;
  return moved > 0 ? Pass::kMore : Pass::kBlocked;  // all refused: wait for the sinks
}

}  // namespace quorum::mvcc
