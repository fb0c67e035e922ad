#include "server/api/watch_stream.h"

#include <grpcpp/support/proto_buffer_reader.h>

#include <utility>

#include "server/api/watch_response_encoder.h"

namespace quorum::server {

using etcdserverpb::WatchCreateRequest;
using etcdserverpb::WatchResponse;

WatchStream::WatchStream(WatchService* service, const ServiceDeps* deps,
                         mvcc::WatchableStore* watchable)
    : service_(service), deps_(deps), watchable_(watchable) {
  StartRead(&in_);
}

etcdserverpb::ResponseHeader WatchStream::Header(int64_t rev) const {
  etcdserverpb::ResponseHeader h;
  h.set_revision(rev);
  deps_->Stamp(&h);
  return h;
}

void WatchStream::OnReadDone(bool ok) {
  grpc::Status parsed;
  if (ok) {
    parsed = grpc::SerializationTraits<etcdserverpb::WatchRequest>::Deserialize(&in_, &req_);
  }
  if (!ok) {
    // The client closed its sending side (or the call broke: OnCancel
    // follows). As etcd does, its watchers keep sending until the call ends:
    // a client may send its creates and half-close at once.
    return;
  }
  if (!parsed.ok()) {
    CancelAllWatchers();
    absl::MutexLock lock(&mu_);
    finish_status_ = parsed;
    CloseLocked();
    return;
  }
  switch (req_.request_union_case()) {
    case etcdserverpb::WatchRequest::kCreateRequest:
      HandleCreate(req_.create_request());
      break;
    case etcdserverpb::WatchRequest::kCancelRequest:
      HandleCancel(req_.cancel_request());
      break;
    case etcdserverpb::WatchRequest::kProgressRequest:
      HandleProgress();
      break;
    default:
      break;
  }
  ReadNext();
}

void WatchStream::ReadNext() {
  {
    absl::MutexLock lock(&mu_);
    if (finished_) return;
    if (queued_control_ >= kMaxQueuedForReads) {
      reads_paused_ = true;  // the writer resumes reading once they drain
      return;
    }
  }
  StartRead(&in_);
}

void WatchStream::HandleCreate(const WatchCreateRequest& r) {
  // As etcd: an empty key means "\0", the smallest key (so a plain watch
  // on "" watches the key "\0", and "" with range_end "\0" every key).
  const std::string key = r.key().empty() ? std::string(1, '\0') : r.key();
  const std::string& end = r.range_end();
  const bool from_key = end.size() == 1 && end[0] == '\0';
  const int64_t rev = deps_->store->Rev();
  WatchResponse created;
  created.set_created(true);
  *created.mutable_header() = Header(rev);
  // etcd's checks: a non-empty range must not be empty; ids are unique per
  // stream (0 asks for the next free one).
  if (!end.empty() && !from_key && key >= end) {
    created.set_watch_id(-1);
    created.set_canceled(true);
    created.set_cancel_reason("mvcc: watcher range is empty");
    EnqueueControl(std::move(created));
    return;
  }
  const mvcc::WatchId store_id = watchable_->NewWatchId();
  {
    absl::MutexLock lock(&mu_);
    if (closing_) return;
    int64_t stream_id = r.watch_id();
    if (stream_id != 0) {
      if (by_stream_id_.contains(stream_id)) {
        created.set_watch_id(-1);
        created.set_canceled(true);
        created.set_cancel_reason("mvcc: duplicate watch ID provided on the WatchStream");
        EnqueueControlLocked(std::move(created));
        return;
      }
    } else {
      while (by_stream_id_.contains(next_stream_id_)) ++next_stream_id_;
      stream_id = next_stream_id_++;
    }
    WatcherInfo info;
    info.stream_id = stream_id;
    info.prev_kv = r.prev_kv();
    info.fragment = r.fragment();
    info.progress_notify = r.progress_notify();
    info.registering = true;
    by_store_id_[store_id] = info;
    by_stream_id_[stream_id] = store_id;
    created.set_watch_id(stream_id);
    // Queued before the watcher exists, so "created" precedes its events.
    EnqueueControlLocked(std::move(created));
  }
  mvcc::WatchOptions o;
  o.key = key;
  o.end = end;
  // start_revision 0 means "after the created response's revision": pin it,
  // or a commit between reading `rev` and Watch() would fall in a gap the
  // client cannot see (etcd reads the header revision after the watcher exists).
  o.start_rev = r.start_revision() > 0 ? r.start_revision() : rev + 1;
  for (int f : r.filters()) {
    if (f == WatchCreateRequest::NOPUT) o.no_put = true;
    if (f == WatchCreateRequest::NODELETE) o.no_delete = true;
  }
  watchable_->Watch(store_id, o, this);
  // The stream may have been cancelled (OnCancel -> CancelAllWatchers) between
  // registering the id and Watch(): then nobody would cancel this watcher
  // and the store would keep a pointer to a deleted stream.
  bool orphaned = false;
  {
    absl::MutexLock lock(&mu_);
    auto it = by_store_id_.find(store_id);
    orphaned = it == by_store_id_.end();  // if compacted, Cancel is a no-op
    if (!orphaned) {
      it->second.registering = false;
      // A deferred progress skipped while this watcher was unknown to the store.
      if (progress_deferred_) {
        progress_retry_ = true;
        ScheduleWriteLocked();
      }
    }
  }
  if (orphaned) watchable_->Cancel(store_id);
}

void WatchStream::HandleCancel(const etcdserverpb::WatchCancelRequest& r) {
  mvcc::WatchId store_id = 0;
  {
    absl::MutexLock lock(&mu_);
    auto it = by_stream_id_.find(r.watch_id());
    if (it == by_stream_id_.end()) return;  // unknown ids get no answer, as in etcd
    store_id = it->second;
    by_stream_id_.erase(it);
    by_store_id_.erase(store_id);
  }
  if (store_id != kCompactedWatch) watchable_->Cancel(store_id);
  WatchResponse resp;
  *resp.mutable_header() = Header(deps_->store->Rev());
  resp.set_watch_id(r.watch_id());
  resp.set_canceled(true);
  absl::MutexLock lock(&mu_);
  EnqueueControlLocked(std::move(resp));
  // The watcher a deferred progress waited for may be this one.
  if (progress_deferred_) progress_retry_ = true;
}

// etcd 3.5 answers a ProgressRequest only once every watcher of the stream
// is synced, at the revision all of them have been given; until then the
// request waits (a second one meanwhile is dropped, as there). A client
// taking the progress revision as "seen everything up to here" (clientv3,
// Kubernetes' watch cache) would otherwise skip events still being
// replayed. A stream without watchers is answered at once.
void WatchStream::HandleProgress() {
  {
    absl::MutexLock lock(&mu_);
    if (progress_deferred_) return;
    progress_deferred_ = true;
  }
  TryProgressAll();
}

bool WatchStream::TryProgressAll() {
  std::vector<mvcc::WatchId> ids;
  {
    absl::MutexLock lock(&mu_);
    if (closing_ || !progress_deferred_) return true;
    // The store counts watchers it does not know as gone: one still being
    // created would be, and could then replay events below the progress.
    for (const auto& [sid, info] : by_store_id_) {
      if (info.registering) return false;
    }
    ids = StoreIdsLocked();
  }
  return watchable_->ProgressAll(this, ids);  // Progress() clears progress_deferred_
}

void WatchStream::RetryDeferredProgress() {
  {
    absl::MutexLock lock(&mu_);
    if (!progress_retry_) return;
    progress_retry_ = false;
  }
  TryProgressAll();
}

std::vector<mvcc::WatchId> WatchStream::StoreIdsLocked() const {
  std::vector<mvcc::WatchId> ids;
  ids.reserve(by_store_id_.size());
  for (const auto& [sid, info] : by_store_id_) ids.push_back(sid);
  return ids;
}

void WatchStream::Progress(mvcc::WatchId id, int64_t rev) {
  absl::MutexLock lock(&mu_);
  if (closing_) return;
  WatchResponse resp;
  *resp.mutable_header() = Header(rev);
  if (id == mvcc::kProgressAll) {
    if (!progress_deferred_) return;
    progress_deferred_ = false;
    resp.set_watch_id(-1);
  } else {
    // Idle streams only: SendProgress checked that once for all its watchers
    // (the responses of this round queue here one after the other).
    auto it = by_store_id_.find(id);
    if (it == by_store_id_.end()) return;
    resp.set_watch_id(it->second.stream_id);
  }
  EnqueueControlLocked(std::move(resp));
  MergeBarrierLocked();
}

void WatchStream::Synced(mvcc::WatchId) {
  absl::MutexLock lock(&mu_);
  if (!progress_deferred_ || closing_) return;
  progress_retry_ = true;
  ScheduleWriteLocked();
}

void WatchStream::MergeBarrierLocked() {
  if (!queue_.empty()) merge_floor_seq_ = front_seq_ + queue_.size() - 1;
}

WatchStream::Entry* WatchStream::NewEntryLocked(WatcherInfo* info, int64_t rev) {
  Entry* e = &queue_.emplace_back();
  e->stream_id = info->stream_id;
  e->prev_kv = info->prev_kv;
  e->fragment = info->fragment;
  e->rev = rev;
  info->tail_seq = front_seq_ + queue_.size() - 1;
  return e;
}

void WatchStream::Deliver(absl::Span<mvcc::Delivery> deliveries) {
  absl::MutexLock lock(&mu_);
  bool added = false;
  size_t events = 0;
  // Every delivery of one call shares one group, which the queued events
  // keep alive whole: charge what the events themselves do not cover
  // (other keys' changes of a large commit) to the first entry, so that
  // the byte bound also bounds the groups a slow stream pins.
  size_t own_bytes = 0;
  Entry* first_entry = nullptr;
  const size_t group_bytes = deliveries.empty() || deliveries[0].events.group == nullptr
                                 ? 0
                                 : deliveries[0].events.group->ApproxTotalBytes();
  for (mvcc::Delivery& d : deliveries) {
    auto it = closing_ ? by_store_id_.end() : by_store_id_.find(d.id);
    if (it == by_store_id_.end()) {
      d.accepted = true;  // dropped: cancelled meanwhile, or the stream is going away
      continue;
    }
    if (queue_.size() >= kMaxQueued || queued_bytes_ >= kMaxQueuedBytes) continue;  // refused
    WatcherInfo& info = it->second;
    const mvcc::EventGroup& g = *d.events.group;
    size_t bytes = 0;
    for (uint32_t i : d.events.events) bytes += g.ApproxBytes(i, info.prev_kv);
    const size_t n = d.events.events.size();
    events += n;
    Entry* tail = info.tail_seq >= front_seq_ && info.tail_seq > merge_floor_seq_
                      ? &queue_[info.tail_seq - front_seq_]
                      : nullptr;
    const auto rev_of = [&g](uint32_t i) { return g.change(i).kv.mod_revision(); };
    Entry* e;
    if (tail != nullptr && service_busy_ && tail->bytes + bytes <= kMaxMergeBytes &&
        (!info.prev_kv || tail->event_count + n <= kMaxMergeEventsWithPrevKv)) {
      e = tail;
      e->rev = g.rev();
      e->bytes += bytes;
      e->event_count += n;
      e->events.push_back(std::move(d.events));
    } else if (d.live && !service_busy_ && rev_of(d.events.events.front()) !=
                                               rev_of(d.events.events.back())) {
      // One commit group, several revisions (puts of several clients in
      // one raft batch): etcd sends a synced watcher one response per
      // revision, with that revision in the header.
      e = nullptr;
      const auto& ids = d.events.events;
      for (size_t k = 0; k < ids.size();) {
        const int64_t rev = rev_of(ids[k]);
        Entry* piece = NewEntryLocked(&info, rev);
        mvcc::EventRef ref{d.events.group, {}};
        for (; k < ids.size() && rev_of(ids[k]) == rev; ++k) {
          ref.events.push_back(ids[k]);
          piece->bytes += g.ApproxBytes(ids[k], info.prev_kv);
        }
        piece->event_count = ref.events.size();
        piece->events.push_back(std::move(ref));
        if (e == nullptr) e = piece;
      }
    } else {
      e = NewEntryLocked(&info, g.rev());
      e->bytes = bytes;
      e->event_count = n;
      e->events.push_back(std::move(d.events));
    }
    if (first_entry == nullptr) first_entry = e;
    info.events_since_progress = true;
    own_bytes += bytes;
    queued_bytes_ += bytes;
    d.accepted = true;
    added = true;
  }
  if (!added) return;
  if (group_bytes > own_bytes) {
    first_entry->bytes += group_bytes - own_bytes;
    queued_bytes_ += group_bytes - own_bytes;
  }
  service_busy_ = service_->CountEvents(events);
  ScheduleWriteLocked();
}

void WatchStream::Compacted(mvcc::WatchId id, int64_t compact_rev) {
  absl::MutexLock lock(&mu_);
  auto it = by_store_id_.find(id);
  if (it == by_store_id_.end() || closing_) return;
  WatchResponse resp;
  // etcd's compacted response carries no store revision (header revision 0).
  deps_->Stamp(resp.mutable_header(), /*with_revision=*/false);
  resp.set_watch_id(it->second.stream_id);
  resp.set_canceled(true);
  resp.set_compact_revision(compact_rev);
  // The id stays taken until the client cancels it, as in etcd: a cancel
  // is answered, and a create reusing it is a duplicate.
  by_stream_id_[it->second.stream_id] = kCompactedWatch;
  by_store_id_.erase(it);
  EnqueueControlLocked(std::move(resp));
  if (progress_deferred_) progress_retry_ = true;  // it may have been the one behind
}

bool WatchStream::Ready() {
  absl::MutexLock lock(&mu_);
  return closing_ || (queue_.size() < kMaxQueued / 2 && queued_bytes_ < kMaxQueuedBytes / 2);
}

void WatchStream::SendProgress() {
  std::vector<mvcc::WatchId> ids;
  {
    absl::MutexLock lock(&mu_);
    if (closing_) return;
    // Per watcher, as etcd's: one that got events since the last tick is
    // skipped, however busy the stream is for other watchers. The store
    // names a revision all of its events up to which are queued already.
    for (auto& [sid, info] : by_store_id_) {
      if (info.progress_notify && !info.events_since_progress) ids.push_back(sid);
      info.events_since_progress = false;
    }
  }
  // The store answers for the synced ones, at the revision they were given.
  if (!ids.empty()) watchable_->ProgressEach(this, ids);
}

void WatchStream::EnqueueControl(WatchResponse resp) {
  absl::MutexLock lock(&mu_);
  EnqueueControlLocked(std::move(resp));
}

void WatchStream::EnqueueControlLocked(WatchResponse resp) {
  if (closing_) return;
  queue_.emplace_back().control = std::move(resp);
  ++queued_control_;
  ScheduleWriteLocked();
}

void WatchStream::ScheduleWriteLocked() {
  if (writing_ || finished_) return;
  writing_ = true;
  service_->pool_.Schedule([this] { WriteNext(); });
}

void WatchStream::WriteNext() {
  RetryDeferredProgress();  // no lock held: it asks the store
  std::vector<Entry> entries;
  bool resume_reads = false;
  {
    absl::ReleasableMutexLock lock(&mu_);
    if (!closing_ && !built_.empty()) {
      const grpc::WriteOptions opts = TakeNextLocked();
      lock.Release();
      StartWrite(&out_, opts);  // outside mu_: Deliver (apply thread) never waits on gRPC
      return;
    }
    if (!closing_ && queue_.empty() && progress_retry_) {
      // A watcher synced meanwhile: ask the store again (writing_ stays set).
      service_->pool_.Schedule([this] { WriteNext(); });
      return;
    }
    if (closing_ || queue_.empty()) {
      writing_ = false;
      MaybeFinishLocked();
      return;
    }
    const auto now = std::chrono::steady_clock::now();
    if (!coalesced_ && service_busy_ && turn_responses_ >= kBusyTurnResponses &&
        now < turn_start_ + kCoalesceWindow) {
      // Busy stream: let more revisions join the queued entries first.
      // writing_ stays true, so nothing else starts a turn meanwhile.
      coalesced_ = true;
      const auto wait = std::chrono::duration_cast<std::chrono::microseconds>(
          turn_start_ + kCoalesceWindow - now);
      coalesce_alarm_.Set(gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                       gpr_time_from_micros(wait.count(), GPR_TIMESPAN)),
                          [this](bool) { WriteNext(); });
      return;
    }
    coalesced_ = false;
    turn_start_ = now;
    const size_t n = std::min(queue_.size(), kMaxEntriesPerTurn);
    entries.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      queued_bytes_ -= queue_.front().bytes;
      if (queue_.front().control) --queued_control_;
      entries.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    front_seq_ += n;  // taken entries accept no more events
    if (reads_paused_ && !closing_ && queued_control_ < kMaxQueuedForReads / 2) {
      reads_paused_ = false;
      resume_reads = true;
    }
  }
  if (resume_reads) StartRead(&in_);  // writing_ is set: the call cannot finish meanwhile
  std::vector<grpc::ByteBuffer> out;
  out.reserve(entries.size());
  Encode(&entries, &out);
  grpc::WriteOptions opts;
  {
    absl::MutexLock lock(&mu_);
    if (closing_) {
      writing_ = false;
      MaybeFinishLocked();
      return;
    }
    turn_responses_ = out.size();
    for (auto& b : out) built_.push_back(std::move(b));
    opts = TakeNextLocked();
  }
  StartWrite(&out_, opts);
}

// out_ belongs to the writer: writing_ is true from here until OnWriteDone,
// so the call cannot finish (nor the reactor go away) under StartWrite.
grpc::WriteOptions WatchStream::TakeNextLocked() {
  out_ = std::move(built_.front());
  built_.pop_front();
  // Cork while more responses follow at once; the last one flushes them all.
  // Never the first write: it carries the response headers, and gRPC 1.51
  // leaves a stream whose headers were corked unflushed until some other
  // frame (the client's next ping, seconds later) wakes the transport.
  grpc::WriteOptions opts;
  if (!built_.empty() && started_) opts.set_buffer_hint();
  started_ = true;
  return opts;
}

void WatchStream::Encode(std::vector<Entry>* entries, std::vector<grpc::ByteBuffer>* out) const {
  // etcd's watch server allows --max-request-bytes plus its gRPC overhead
  // allowance (grpcOverheadBytes, 512 KiB) per response before fragmenting.
  const size_t limit =
      static_cast<size_t>(deps_->config->max_request_bytes + ServiceDeps::kGrpcOverheadBytes);
  etcdserverpb::ResponseHeader stamp;
  deps_->Stamp(&stamp, /*with_revision=*/false);
  WatchHeader h;
  h.cluster_id = stamp.cluster_id();
  h.member_id = stamp.member_id();
  h.raft_term = stamp.raft_term();
  for (Entry& e : *entries) {
    if (e.control) {
      out->push_back(EncodeResponse(*e.control));
      continue;
    }
    h.revision = e.rev;
    EncodeEventResponses(h, e.stream_id, e.events, e.prev_kv, e.fragment, limit, out);
  }
}

void WatchStream::OnWriteDone(bool ok) {
  if (!ok) {
    CancelAllWatchers();
    absl::MutexLock lock(&mu_);
    writing_ = false;
    CloseLocked();
    return;
  }
  WriteNext();
}

void WatchStream::OnCancel() {
  CancelAllWatchers();
  absl::MutexLock lock(&mu_);
  CloseLocked();
}

void WatchStream::CloseLocked() {
  closing_ = true;
  front_seq_ += queue_.size();
  queue_.clear();
  queued_bytes_ = 0;
  queued_control_ = 0;
  built_.clear();
  MaybeFinishLocked();
}

void WatchStream::CancelAllWatchers() {
  std::vector<mvcc::WatchId> ids;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [sid, info] : by_store_id_) ids.push_back(sid);
    by_store_id_.clear();
    by_stream_id_.clear();
  }
  for (auto id : ids) watchable_->Cancel(id);
}

void WatchStream::MaybeFinishLocked() {
  if (closing_ && !writing_ && !finished_) {
    finished_ = true;
    Finish(finish_status_);
  }
}

void WatchStream::OnDone() {
  CancelAllWatchers();
  service_->Unregister(this);
  delete this;
}

}  // namespace quorum::server
