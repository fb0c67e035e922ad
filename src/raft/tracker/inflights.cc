#include "raft/tracker/inflights.h"

#include <algorithm>

#include "raft/check.h"

namespace quorum::raft {

Inflights::Inflights(size_t max_count, uint64_t max_bytes)
    : max_count_(max_count), max_bytes_(max_bytes) {
  RAFT_CHECK(max_count_ > 0);
}

void Inflights::Add(Index index, uint64_t bytes) {
  RAFT_CHECK(!Full()) << "cannot add into a full inflights";
  if (count_ == buffer_.size()) {
    // Grow (lazily, doubling up to max_count_), unrolling the ring to 0.
    const size_t size = buffer_.size();
    const size_t new_size = std::min(max_count_, std::max<size_t>(1, size * 2));
    std::vector<Item> grown(new_size);
    for (size_t k = 0; k < count_; ++k) grown[k] = buffer_[(start_ + k) % size];
    buffer_ = std::move(grown);
    start_ = 0;
  }
  size_t next = start_ + count_;
  if (next >= buffer_.size()) next -= buffer_.size();
  buffer_[next] = Item{index, bytes};
  ++count_;
  bytes_ += bytes;
}

void Inflights::FreeLE(Index to) {
  if (count_ == 0 || to < buffer_[start_].index) return;
  size_t idx = start_;
  size_t i = 0;
  const size_t size = buffer_.size();
  for (; i < count_; ++i) {
    if (to < buffer_[idx].index) break;
    bytes_ -= buffer_[idx].bytes;
    if (++idx >= size) idx = 0;
  }
  count_ -= i;
  start_ = idx;
  if (count_ == 0) start_ = 0;  // keep the ring compact
}

void Inflights::FreeFirstOne() {
  if (count_ > 0) FreeLE(buffer_[start_].index);
}

void Inflights::Reset() {
  start_ = 0;
  count_ = 0;
  bytes_ = 0;
}

bool Inflights::Full() const {
  return count_ == max_count_ || (max_bytes_ != 0 && bytes_ >= max_bytes_);
}

}  // namespace quorum::raft
