#include "util/release_memory.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace quorum::util {

int64_t ResidentBytes() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  long long size = 0, resident = 0;
  const int n = std::fscanf(f, "%lld %lld", &size, &resident);
  std::fclose(f);
  if (n != 2) return 0;
  return static_cast<int64_t>(resident) * sysconf(_SC_PAGESIZE);
}

void UseFixedMmapThreshold() {
#if defined(__GLIBC__)
  if (std::getenv("MALLOC_MMAP_THRESHOLD_") != nullptr) return;
  // Setting it at all turns off glibc's dynamic adjustment; 128 KiB is the
  // default starting value.
  mallopt(M_MMAP_THRESHOLD, 128 << 10);
#endif
}

int64_t ReleaseFreeMemory() {
#if defined(__GLIBC__)
  const int64_t before = ResidentBytes();
  malloc_trim(0);
  const int64_t after = ResidentBytes();
  return (before == 0 || after == 0) ? 0 : after - before;
#else
  return 0;
#endif
}

}  // namespace quorum::util
