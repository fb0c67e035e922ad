// Sha256: incremental SHA-256 (OpenSSL EVP underneath), for the digest etcd
// appends to snapshot streams. Not thread-safe; one object per stream.
#ifndef QUORUM_UTIL_SHA256_H_
#define QUORUM_UTIL_SHA256_H_

#include <memory>
#include <string>
#include <string_view>

namespace quorum::util {

class Sha256 {
 public:
  static constexpr size_t kSize = 32;
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(std::string_view data);
  // The 32-byte digest of everything given so far; the object is spent.
  std::string Finish();

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

}  // namespace quorum::util

#endif  // QUORUM_UTIL_SHA256_H_
