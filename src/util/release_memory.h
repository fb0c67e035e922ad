// Hands memory that the allocator holds but no longer uses back to the OS.
//
// Why: glibc's malloc keeps freed chunks inside its arenas; a member frees
// tens of MiB at once when it compacts its in-memory raft log after a
// snapshot (100,000 entries by default), and those pages stayed resident
// (after loading 100k keys a member held ~105 MiB of heap with ~41 MiB in
// use). Trimming returns the free pages of every arena (madvise), so RSS
// follows what is actually in use.
#ifndef QUORUM_UTIL_RELEASE_MEMORY_H_
#define QUORUM_UTIL_RELEASE_MEMORY_H_

#include <cstdint>

namespace quorum::util {

// Returns free heap pages to the OS; a no-op where the C library has no
// malloc_trim. Walks every arena under its lock, so call it after a large
// release, not on a hot path. Returns the RSS change in bytes (negative:
// released), 0 when unknown.
int64_t ReleaseFreeMemory();

// Keeps blocks of 128 KiB and more out of the malloc arenas (each is its own
// mmap, unmapped on free). glibc's default raises that threshold up to
// 32 MiB as soon as one such block is freed, after which RocksDB's 1 MiB
// memtable blocks and large message buffers are carved from the arenas,
// interleave with long-lived small objects there and, once freed, leave
// holes malloc_trim cannot return (a member kept ~10 MiB more resident after
// loading 100k keys). A no-op when the environment already sets
// MALLOC_MMAP_THRESHOLD_ (the operator's choice wins) or off glibc. Call once
// at start, before threads.
void UseFixedMmapThreshold();

// The process's resident set size in bytes (/proc/self/statm), 0 when unknown.
int64_t ResidentBytes();

}  // namespace quorum::util

#endif  // QUORUM_UTIL_RELEASE_MEMORY_H_
