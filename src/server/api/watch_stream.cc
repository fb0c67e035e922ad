#include "server/api/watch_stream.h"

#include <google/protobuf/io/coded_stream.h>

namespace quorum::server {

using etcdserverpb::WatchCreateRequest;
using etcdserverpb::WatchResponse;

WatchStream::WatchStream(WatchService* service, const ServiceDeps* deps,
                         mvcc::WatchableStore* watchable)
    : service_(service), deps_(deps), watchable_(watchable) {
  StartRead(&req_);
}

etcdserverpb::ResponseHeader WatchStream::Header(int64_t rev) const {
  etcdserverpb::ResponseHeader h;
  h.set_revision(rev);
  deps_->Stamp(&h);
  return h;
}

void WatchStream::OnReadDone(bool ok) {
  if (!ok) {
    // The client closed its side (or the call broke): stop everything.
    CancelAllWatchers();
    absl::MutexLock lock(&mu_);
    closing_ = true;
    queue_.clear();
    built_.clear();
    MaybeFinishLocked();
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
  StartRead(&req_);
}

void WatchStream::HandleCreate(const WatchCreateRequest& r) {
  const std::string& end = r.range_end();
  const bool from_key = end.size() == 1 && end[0] == '\0';
  const int64_t rev = deps_->store->Rev();
  Item created;
  created.resp.set_created(true);
  *created.resp.mutable_header() = Header(rev);
  // etcd's checks: a non-empty range must not be empty; ids are unique per
  // stream (0 asks for the next free one).
  if (!end.empty() && !from_key && r.key() >= end) {
    created.resp.set_watch_id(-1);
    created.resp.set_canceled(true);
    created.resp.set_cancel_reason("mvcc: watcher range is empty");
    Enqueue(std::move(created));
    return;
  }
  const mvcc::WatchId store_id = watchable_->NewWatchId();
  {
    absl::MutexLock lock(&mu_);
    if (closing_) return;
    int64_t stream_id = r.watch_id();
    if (stream_id != 0) {
      if (by_stream_id_.contains(stream_id)) {
        created.resp.set_watch_id(-1);
        created.resp.set_canceled(true);
        created.resp.set_cancel_reason("mvcc: duplicate watch ID provided on the WatchStream");
        EnqueueLocked(std::move(created));
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
    by_store_id_[store_id] = info;
    by_stream_id_[stream_id] = store_id;
    created.resp.set_watch_id(stream_id);
    // Queued before the watcher exists, so "created" precedes its events.
    EnqueueLocked(std::move(created));
  }
  mvcc::WatchOptions o;
  o.key = r.key();
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
    orphaned = !by_store_id_.contains(store_id);  // if compacted, Cancel is a no-op
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
  watchable_->Cancel(store_id);
  Item item;
  *item.resp.mutable_header() = Header(deps_->store->Rev());
  item.resp.set_watch_id(r.watch_id());
  item.resp.set_canceled(true);
  Enqueue(std::move(item));
}

void WatchStream::HandleProgress() {
  Item item;
  *item.resp.mutable_header() = Header(deps_->store->Rev());
  item.resp.set_watch_id(-1);
  Enqueue(std::move(item));
}

bool WatchStream::Deliver(mvcc::WatchId id, std::vector<mvcc::Change> events, int64_t rev) {
  absl::MutexLock lock(&mu_);
  if (closing_) return true;  // dropped: the stream is going away
  auto it = by_store_id_.find(id);
  if (it == by_store_id_.end()) return true;  // cancelled meanwhile
  if (queue_.size() >= kMaxQueued) return false;
  Item item;
  *item.resp.mutable_header() = Header(rev);
  item.resp.set_watch_id(it->second.stream_id);
  item.events = std::move(events);
  item.prev_kv = it->second.prev_kv;
  item.fragment = it->second.fragment;
  EnqueueLocked(std::move(item));
  return true;
}

void WatchStream::Compacted(mvcc::WatchId id, int64_t compact_rev) {
  absl::MutexLock lock(&mu_);
  auto it = by_store_id_.find(id);
  if (it == by_store_id_.end() || closing_) return;
  Item item;
  // etcd's compacted response carries no store revision (header revision 0).
  deps_->Stamp(item.resp.mutable_header(), /*with_revision=*/false);
  item.resp.set_watch_id(it->second.stream_id);
  item.resp.set_canceled(true);
  item.resp.set_compact_revision(compact_rev);
  by_stream_id_.erase(it->second.stream_id);
  by_store_id_.erase(it);
  EnqueueLocked(std::move(item));
}

bool WatchStream::Ready() {
  absl::MutexLock lock(&mu_);
  return closing_ || queue_.size() < kMaxQueued / 2;
}

void WatchStream::SendProgress() {
  std::vector<std::pair<mvcc::WatchId, int64_t>> candidates;
  {
    absl::MutexLock lock(&mu_);
    if (closing_ || !queue_.empty()) return;  // only idle streams get progress
    for (const auto& [sid, info] : by_store_id_) {
      if (info.progress_notify) candidates.emplace_back(sid, info.stream_id);
    }
  }
  for (const auto& [sid, stream_id] : candidates) {
    if (!watchable_->IsSynced(sid)) continue;
    Item item;
    *item.resp.mutable_header() = Header(deps_->store->Rev());
    item.resp.set_watch_id(stream_id);
    Enqueue(std::move(item));
  }
}

void WatchStream::Enqueue(Item item) {
  absl::MutexLock lock(&mu_);
  EnqueueLocked(std::move(item));
}

void WatchStream::EnqueueLocked(Item item) {
  if (closing_) return;
  queue_.push_back(std::move(item));
  ScheduleWriteLocked();
}

void WatchStream::ScheduleWriteLocked() {
  if (writing_ || finished_) return;
  writing_ = true;
  service_->pool_.Schedule([this] { WriteNext(); });
}

void WatchStream::WriteNext() {
  Item item;
  {
    absl::MutexLock lock(&mu_);
    if (!closing_ && !built_.empty()) {
      out_ = std::move(built_.front());
      built_.pop_front();
      StartWrite(&out_);
      return;
    }
    if (closing_ || queue_.empty()) {
      writing_ = false;
      MaybeFinishLocked();
      return;
    }
    item = std::move(queue_.front());
    queue_.pop_front();
  }
  auto resps = Build(std::move(item));
  absl::MutexLock lock(&mu_);
  if (closing_) {
    writing_ = false;
    MaybeFinishLocked();
    return;
  }
  for (auto& r : resps) built_.push_back(std::move(r));
  out_ = std::move(built_.front());
  built_.pop_front();
  StartWrite(&out_);
}

std::vector<WatchResponse> WatchStream::Build(Item item) {
  for (auto& c : item.events) {
    mvccpb::Event* ev = item.resp.add_events();
    ev->set_type(c.deleted ? mvccpb::Event::DELETE : mvccpb::Event::PUT);
    if (item.prev_kv) {
      mvcc::RangeOptions ro;
      ro.rev = c.kv.mod_revision() - 1;
      auto prev = deps_->store->Range(c.kv.key(), "", ro);
      if (prev.ok() && !prev->kvs.empty()) *ev->mutable_prev_kv() = std::move(prev->kvs[0]);
    }
    *ev->mutable_kv() = std::move(c.kv);
  }
  std::vector<WatchResponse> out;
  // etcd's watch server allows --max-request-bytes plus its gRPC overhead
  // allowance (grpcOverheadBytes, 512 KiB) per response before fragmenting.
  const size_t limit =
      static_cast<size_t>(deps_->config->max_request_bytes + ServiceDeps::kGrpcOverheadBytes);
  if (!item.fragment || item.resp.events_size() < 2 || item.resp.ByteSizeLong() < limit) {
    out.push_back(std::move(item.resp));
    return out;
  }
  // Fragments as etcd's sendFragments cuts them: add events while the
  // response (measured with fragment=true) stays under the limit; a fragment
  // always carries at least one event; all but the last are marked fragment.
  WatchResponse base = item.resp;
  base.clear_events();
  base.set_fragment(true);
  const size_t base_size = base.ByteSizeLong();
  WatchResponse cur = base;
  size_t cur_size = base_size;
  for (auto& ev : *item.resp.mutable_events()) {
    const size_t ev_size = ev.ByteSizeLong();
    const size_t field_size =
        1 + google::protobuf::io::CodedOutputStream::VarintSize64(ev_size) + ev_size;
    if (cur.events_size() > 0 && cur_size + field_size >= limit) {
      out.push_back(std::move(cur));
      cur = base;
      cur_size = base_size;
    }
    *cur.add_events() = std::move(ev);
    cur_size += field_size;
  }
  cur.set_fragment(false);
  out.push_back(std::move(cur));
  return out;
}

void WatchStream::OnWriteDone(bool ok) {
  if (!ok) {
    CancelAllWatchers();
    absl::MutexLock lock(&mu_);
    closing_ = true;
    queue_.clear();
    built_.clear();
    writing_ = false;
    MaybeFinishLocked();
    return;
  }
  WriteNext();
}

void WatchStream::OnCancel() {
  CancelAllWatchers();
  absl::MutexLock lock(&mu_);
  closing_ = true;
  queue_.clear();
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
    Finish(grpc::Status::OK);
  }
}

void WatchStream::OnDone() {
  CancelAllWatchers();
  service_->Unregister(this);
  delete this;
}

}  // namespace quorum::server
