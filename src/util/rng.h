// quorum::util::Rng — a small, seeded, deterministic pseudo-random source.
//
// Used wherever Quorum needs randomness that must be reproducible from a seed
// (raft election timeouts, simulations, tests). Algorithm: xoshiro256** seeded
// through splitmix64, so any 64-bit seed (including 0) yields a good state.
// Not thread-safe: each owner holds its own instance. Not for cryptography.
#ifndef QUORUM_UTIL_RNG_H_
#define QUORUM_UTIL_RNG_H_

#include <cstdint>

namespace quorum::util {

class Rng {
 public:
  explicit Rng(uint64_t seed = 0) { Seed(seed); }

  void Seed(uint64_t seed) {
    uint64_t x = seed;
    for (uint64_t& word : s_) word = SplitMix64(x);
  }

  // Uniform 64-bit value.
  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, n); returns 0 when n == 0. Lemire's multiply-shift
  // reduction (bias < 2^-64 * n, irrelevant for our uses).
  uint64_t Uniform(uint64_t n) {
    if (n == 0) return 0;
    return static_cast<uint64_t>((static_cast<unsigned __int128>(Next()) * n) >> 64);
  }

  // Uniform in [lo, hi] (inclusive); requires lo <= hi.
  uint64_t Range(uint64_t lo, uint64_t hi) { return lo + Uniform(hi - lo + 1); }

  // True with probability p (p in [0, 1]).
  bool Chance(double p) {
    return static_cast<double>(Next() >> 11) * (1.0 / 9007199254740992.0) < p;
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static uint64_t SplitMix64(uint64_t& x) {
    uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  uint64_t s_[4];
};

}  // namespace quorum::util

#endif  // QUORUM_UTIL_RNG_H_
