// IndexKey: a key of the in-memory index in 16 bytes, where std::string
// takes 32. The index holds one entry per key, so these 16 bytes are paid a
// million times in a store of a million keys.
//
// Keys of up to 15 bytes are held inline: bytes [0, 15) hold the key and
// byte 15 its length (0-15). Longer keys live in a heap block of their
// exact length: bytes [0, 8) hold its address, [8, 12) the length, and
// byte 15 is kHeapTag. The bytes are
// read and written with memcpy, so no union member is ever read inactive.
#ifndef QUORUM_MVCC_INDEX_KEY_H_
#define QUORUM_MVCC_INDEX_KEY_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace quorum::mvcc {

class IndexKey {
 public:
  explicit IndexKey(std::string_view key) { Assign(key); }
  IndexKey(const IndexKey& other) { Assign(other.view()); }
  IndexKey(IndexKey&& other) noexcept {
    std::memcpy(bytes_, other.bytes_, sizeof(bytes_));
    other.bytes_[kTagByte] = 0;  // other is now the empty inline key
  }
  IndexKey& operator=(const IndexKey& other) {
    if (this != &other) {
      IndexKey copy(other);
      *this = std::move(copy);
    }
    return *this;
  }
  IndexKey& operator=(IndexKey&& other) noexcept {
    if (this != &other) {
      Release();
      std::memcpy(bytes_, other.bytes_, sizeof(bytes_));
      other.bytes_[kTagByte] = 0;
    }
    return *this;
  }
  ~IndexKey() { Release(); }

  std::string_view view() const {
    const auto tag = static_cast<uint8_t>(bytes_[kTagByte]);
    if (tag != kHeapTag) return std::string_view(bytes_, tag);
    const char* data;
    uint32_t size;
    std::memcpy(&data, bytes_, sizeof(data));
    std::memcpy(&size, bytes_ + sizeof(data), sizeof(size));
    return std::string_view(data, size);
  }
  std::string str() const { return std::string(view()); }

 private:
  static constexpr size_t kTagByte = 15;
  static constexpr size_t kMaxInline = kTagByte;  // the bytes before the tag
  static constexpr uint8_t kHeapTag = 0xFF;

  void Assign(std::string_view key) {
    if (key.size() <= kMaxInline) {
      if (!key.empty()) std::memcpy(bytes_, key.data(), key.size());
      bytes_[kTagByte] = static_cast<char>(key.size());
      return;
    }
    // Keys come in gRPC messages, which are under 2 GiB: the length fits.
    char* data = new char[key.size()];
    std::memcpy(data, key.data(), key.size());
    const auto size = static_cast<uint32_t>(key.size());
    std::memcpy(bytes_, &data, sizeof(data));
    std::memcpy(bytes_ + sizeof(data), &size, sizeof(size));
    bytes_[kTagByte] = static_cast<char>(kHeapTag);
  }
  void Release() {
    if (static_cast<uint8_t>(bytes_[kTagByte]) != kHeapTag) return;
    char* data;
    std::memcpy(&data, bytes_, sizeof(data));
    delete[] data;
  }

  char bytes_[16];
};

// Orders IndexKeys as their bytes, and compares them with plain strings so
// the index is searched without building an IndexKey.
struct IndexKeyLess {
  using is_transparent = void;
  static std::string_view View(const IndexKey& k) { return k.view(); }
  static std::string_view View(std::string_view s) { return s; }
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    return View(a) < View(b);
  }
};

}  // namespace quorum::mvcc

#endif  // QUORUM_MVCC_INDEX_KEY_H_
