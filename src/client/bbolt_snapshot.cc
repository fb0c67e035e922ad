#include "client/bbolt_snapshot.h"

// bbolt's file format (v1.3; all integers little-endian). Page N starts at
// byte N * page_size and spans overflow + 1 pages:
//   file      := meta_page(0) meta_page(1) page* [sha256 digest, ignored]
//   page      := id:u64 flags:u16 count:u16 overflow:u32 body
//                flags: 0x01 branch, 0x02 leaf, 0x04 meta, 0x10 freelist
//   meta      := magic:u32(0xED0CDAED) version:u32(2) page_size:u32 flags:u32
//                root:bucket freelist:u64 high_water:u64 txid:u64 checksum:u64
//                checksum: FNV-1a 64 of the 56 bytes before it (0 = unchecked)
//   branch    := elements of pos:u32 ksize:u32 child:u64, count of them
//   leaf      := elements of flags:u32 pos:u32 ksize:u32 vsize:u32, count of them;
//                flags 0x01: the value is a nested bucket
//                the key is at (element address + pos), the value follows it
//   bucket    := root:u64 sequence:u64 [leaf page, inline, when root == 0]
// bbolt opens the meta with the higher txid that validates; its root bucket
// holds the top-level buckets. A tree is read in page order, which is key
// order. The reader follows bbolt's Open, Tx.Size, Cursor and (for the pages
// it reaches) Tx.Check: both metas bad, a page out of the high-water mark, a
// page reached twice or of the wrong type is an error, as in etcdctl; beyond
// bbolt, every element must lie inside its page (etcdctl would read the next
// page's bytes, or crash). The freelist is not read: etcd writes none
// (NoFreelistSync).

#include <filesystem>
#include <fstream>
#include <functional>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "util/coding.h"
#include "util/crc32c.h"

namespace quorum::client {
namespace {

constexpr uint32_t kMagic = 0xED0CDAED;
constexpr uint32_t kVersion = 2;
constexpr uint64_t kPageHeaderSize = 16;
constexpr uint64_t kElementSize = 16;  // branch and leaf elements alike
constexpr uint64_t kBucketHeaderSize = 16;
constexpr uint64_t kMetaSize = 64;         // magic .. checksum
constexpr uint64_t kMetaChecksummed = 56;  // the bytes the checksum covers
constexpr uint16_t kBranchPage = 0x01;
constexpr uint16_t kLeafPage = 0x02;
constexpr uint32_t kBucketLeaf = 0x01;
// bbolt reads the first 4 KiB to learn the page size, and uses the OS page
// size (4 KiB here) when the first meta is bad.
constexpr uint64_t kFirstRead = 4096;
constexpr uint64_t kMinPageSize = 512;
constexpr int kMaxDepth = 64;            // branch levels plus nested buckets
// A page with its overflow pages, read whole: far above etcd's largest value
// (--max-request-bytes, 1.5 MiB by default), far below a crafted sparse file.
constexpr uint64_t kMaxPageRun = uint64_t{256} << 20;
constexpr size_t kRevisionKeySize = 17;  // main:be64 '_' sub:be64 ['t']

uint64_t Le(std::string_view b, uint64_t off, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(b[off + i]);
  return v;
}
uint16_t Le16(std::string_view b, uint64_t off) { return static_cast<uint16_t>(Le(b, off, 2)); }
uint32_t Le32(std::string_view b, uint64_t off) { return static_cast<uint32_t>(Le(b, off, 4)); }
uint64_t Le64(std::string_view b, uint64_t off) { return Le(b, off, 8); }

uint64_t Fnv1a64(std::string_view data) {
  uint64_t h = 14695981039346656037ull;
  for (char c : data) {
    h ^= static_cast<uint8_t>(c);
    h *= 1099511628211ull;
  }
  return h;
}

struct Meta {
  uint64_t page_size = 0;
  uint64_t root = 0;        // page of the root bucket
  uint64_t high_water = 0;  // pages in use: ids below it
  uint64_t txid = 0;
};

// bbolt's meta.validate(), with its error texts. `page` starts at the header.
absl::StatusOr<Meta> ParseMeta(std::string_view page) {
  if (page.size() < kPageHeaderSize + kMetaSize) return absl::DataLossError("invalid database");
  const std::string_view m = page.substr(kPageHeaderSize, kMetaSize);
  if (Le32(m, 0) != kMagic) return absl::DataLossError("invalid database");
  if (Le32(m, 4) != kVersion) return absl::DataLossError("version mismatch");
  const uint64_t sum = Le64(m, 56);
  if (sum != 0 && sum != Fnv1a64(m.substr(0, kMetaChecksummed))) {
    return absl::DataLossError("checksum error");
  }
  return Meta{Le32(m, 8), Le64(m, 16), Le64(m, 40), Le64(m, 48)};
}

// Called for every element of a bucket, in key order: the key, the value
// (for a nested bucket: its bucket header and inline page), whether it is
// a nested bucket, and the nesting depth of the bucket holding it.
using Visitor = std::function<absl::Status(std::string_view key, std::string_view value,
                                           bool bucket, int depth)>;

// Walks the trees of one database, reading one page per level; remembers
// every page it reached so that none is reached twice (a cycle or a shared
// page in a damaged file).
class TreeReader {
 public:
  TreeReader(std::ifstream& in, uint64_t page_size, uint64_t high_water)
      : in_(in),
        page_size_(page_size),
        high_water_(high_water),
        reached_(high_water),
        elements_left_(high_water * page_size / kElementSize) {}

  // The bucket whose root page is `root` (a non-inline bucket).
  absl::Status ForEachInTree(uint64_t root, int depth, const Visitor& fn) {
    if (depth > kMaxDepth) return TooDeep();
    auto page = ReadPage(root);
    if (!page.ok()) return page.status();
    return ForEachInPage(*page, root, depth, fn);
  }

  // The bucket stored as `value` in its parent (header + optional inline page).
  absl::Status ForEachInBucket(std::string_view name, std::string_view value, int depth,
                               const Visitor& fn) {
    if (value.size() < kBucketHeaderSize) {
      return absl::DataLossError(
          absl::StrCat("bucket ", Quote(name), ": value of ", value.size(), " bytes"));
    }
    const uint64_t root = Le64(value, 0);
    if (root != 0) return ForEachInTree(root, depth, fn);
    if (depth > kMaxDepth) return TooDeep();
    const std::string_view page = value.substr(kBucketHeaderSize);
    if (page.size() < kPageHeaderSize || (Le16(page, 8) & kLeafPage) == 0) {
      return absl::DataLossError(absl::StrCat("bucket ", Quote(name), ": bad inline page"));
    }
    return ForEachInPage(page, 0, depth, fn);
  }

 private:
  static absl::Status TooDeep() {
    return absl::DataLossError(absl::StrCat("trees nested deeper than ", kMaxDepth, " levels"));
  }
  static std::string Quote(std::string_view s) {
    std::string out = "\"";
    for (char c : s) out += (c >= 0x20 && c < 0x7f) ? std::string(1, c) : "?";
    return out + "\"";
  }

  // `id` is 0 for an inline page. A leaf's elements go to `fn`; a branch's
  // children are walked in order.
  absl::Status ForEachInPage(std::string_view page, uint64_t id, int depth, const Visitor& fn) {
    const uint16_t flags = Le16(page, 8);
    const uint64_t count = Le16(page, 10);
    auto bad = [&](const std::string& why) {
      return absl::DataLossError(absl::StrCat(
          id == 0 ? std::string("inline page") : absl::StrCat("page ", id), ": ", why));
    };
    if (kPageHeaderSize + count * kElementSize > page.size()) {
      return bad(absl::StrCat(count, " elements do not fit in the page"));
    }
    const bool leaf = (flags & kLeafPage) != 0;
    if (!leaf && (flags & kBranchPage) == 0) {
      return bad(absl::StrCat("invalid type 0x", absl::Hex(flags)));
    }
    for (uint64_t i = 0; i < count; ++i) {
      const uint64_t elem = kPageHeaderSize + i * kElementSize;
      if (leaf) {
        const uint64_t start = elem + Le32(page, elem + 4);
        const uint64_t ksize = Le32(page, elem + 8);
        const uint64_t vsize = Le32(page, elem + 12);
        if (start + ksize + vsize > page.size()) {
          return bad(absl::StrCat("element ", i, " lies past the end of the page"));
        }
        const bool bucket = (Le32(page, elem) & kBucketLeaf) != 0;
        // Each element takes 16 bytes of some page, so a sound file has no
        // more than that many; more means inline pages that share elements
        // (a small crafted page nesting itself exponentially often).
        if (elements_left_ == 0) return bad("more elements than the file can hold");
        --elements_left_;
        if (auto st =
                fn(page.substr(start, ksize), page.substr(start + ksize, vsize), bucket, depth);
            !st.ok()) {
          return st;
        }
      } else {
        const uint64_t start = elem + Le32(page, elem);
        if (start + Le32(page, elem + 4) > page.size()) {
          return bad(absl::StrCat("element ", i, " lies past the end of the page"));
        }
        if (id == 0) return bad("a branch inline");
        if (auto st = ForEachInTree(Le64(page, elem + 8), depth + 1, fn); !st.ok()) return st;
      }
    }
    return absl::OkStatus();
  }

  // Page `id` with its overflow pages, each of which must be inside the
  // high-water mark (so inside the file) and not reached before.
  absl::StatusOr<std::string> ReadPage(uint64_t id) {
    auto out_of_bounds = [&](uint64_t last) {
      return absl::DataLossError(
          absl::StrCat("page ", last, ": out of bounds (high water ", high_water_, ")"));
    };
    if (id < 2 || id >= high_water_) return out_of_bounds(id);
    auto header = ReadAt(id * page_size_, kPageHeaderSize);
    if (!header.ok()) return header.status();
    const uint64_t overflow = Le32(*header, 12);
    if (id + overflow >= high_water_) return out_of_bounds(id + overflow);
    // The run is read whole; a sparse file could otherwise ask for gigabytes.
    if ((overflow + 1) * page_size_ > kMaxPageRun) {
      return absl::DataLossError(absl::StrCat("page ", id, ": a run of ", overflow + 1,
                                              " pages is larger than ", kMaxPageRun, " bytes"));
    }
    for (uint64_t p = id; p <= id + overflow; ++p) {
      if (reached_[p]) {
        return absl::DataLossError(absl::StrCat("page ", p, ": multiple references"));
      }
      reached_[p] = true;
    }
    return ReadAt(id * page_size_, (overflow + 1) * page_size_);
  }

  absl::StatusOr<std::string> ReadAt(uint64_t offset, uint64_t n) {
    std::string buf(n, '\0');
    in_.clear();
    in_.seekg(static_cast<std::streamoff>(offset));
    in_.read(buf.data(), static_cast<std::streamsize>(n));
    if (static_cast<uint64_t>(in_.gcount()) != n) {
      return absl::DataLossError(absl::StrCat("short read at byte ", offset));
    }
    return buf;
  }

  std::ifstream& in_;
  const uint64_t page_size_;
  const uint64_t high_water_;  // <= file size / page size: every page id below it is in the file
  std::vector<bool> reached_;  // by page id
  uint64_t elements_left_;     // leaf elements a sound file of this size can hold
};

}  // namespace

bool HasBboltMagic(std::string_view head) {
  return head.size() >= kPageHeaderSize + 4 && Le32(head, kPageHeaderSize) == kMagic;
}

absl::StatusOr<SnapshotFileStatus> ReadBboltSnapshot(const std::string& path) {
  std::error_code ec;
  const uint64_t file_size = std::filesystem::file_size(path, ec);
  if (ec) return absl::NotFoundError(absl::StrCat("stat ", path, ": ", ec.message()));
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("open ", path));
  auto corrupt = [&](absl::string_view why) {
    return absl::DataLossError(absl::StrCat("snapshot file ", path, " is corrupt: ", why));
  };

  // bbolt's Open: the page size from the first meta (else the OS's), then
  // both metas; the valid one with the higher txid wins (meta 0 on a tie).
  if (file_size < kFirstRead) {
    return corrupt(absl::StrCat("invalid database (", file_size, " bytes)"));
  }
  std::string head(kFirstRead, '\0');
  in.read(head.data(), static_cast<std::streamsize>(kFirstRead));
  if (static_cast<uint64_t>(in.gcount()) != kFirstRead) return corrupt("short read");
  const absl::StatusOr<Meta> meta0 = ParseMeta(head);
  const uint64_t page_size = meta0.ok() ? meta0->page_size : kFirstRead;
  if (page_size < kMinPageSize) return corrupt(absl::StrCat("page size ", page_size));
  if (file_size < 2 * page_size) return corrupt("file size too small");
  std::string page1(kPageHeaderSize + kMetaSize, '\0');
  in.seekg(static_cast<std::streamoff>(page_size));
  in.read(page1.data(), static_cast<std::streamsize>(page1.size()));
  if (static_cast<uint64_t>(in.gcount()) != page1.size()) return corrupt("short read");
  const absl::StatusOr<Meta> meta1 = ParseMeta(page1);
  if (!meta0.ok() && !meta1.ok()) return corrupt(meta0.status().message());
  const Meta m = !meta1.ok() || (meta0.ok() && meta0->txid >= meta1->txid) ? *meta0 : *meta1;
  if (m.high_water < 2 || m.high_water > file_size / page_size) {
    return corrupt(absl::StrCat("high-water page ", m.high_water, " of ", page_size,
                                " bytes is past the end of the file (", file_size, " bytes)"));
  }

  // etcd's snapshot.Status in one read txn.
  SnapshotFileStatus st;
  st.total_size = static_cast<int64_t>(m.high_water * page_size);
  TreeReader tree(in, page_size, m.high_water);
  // Nested buckets' pages are walked too (as Tx.Check does), not hashed.
  Visitor nested = [&](std::string_view key, std::string_view value, bool bucket, int depth) {
    return bucket ? tree.ForEachInBucket(key, value, depth + 1, nested) : absl::OkStatus();
  };
  absl::Status s = tree.ForEachInTree(
      m.root, 0, [&](std::string_view name, std::string_view value, bool bucket, int depth) {
        if (!bucket) {  // etcdctl's words
          return absl::DataLossError(absl::StrCat("cannot get hash of bucket ", std::string(name)));
        }
        st.hash = util::Crc32c(st.hash, name);
        const bool key_bucket = name == "key";
        return tree.ForEachInBucket(
            name, value, depth + 1,
            [&](std::string_view k, std::string_view v, bool nested_bucket, int d) -> absl::Status {
              st.hash = util::Crc32c(st.hash, k);
              if (!nested_bucket) st.hash = util::Crc32c(st.hash, v);  // a bucket's value is nil
              ++st.total_keys;
              if (key_bucket) {
                // etcdctl decodes every key and keeps the last one's main revision.
                if (k.size() < kRevisionKeySize) {
                  return absl::DataLossError(absl::StrCat("bucket \"key\": a key of ", k.size(),
                                                          " bytes is not a revision"));
                }
                st.revision = static_cast<int64_t>(util::DecodeFixed64BE(k.data()));
              }
              return nested_bucket ? tree.ForEachInBucket(k, v, d + 1, nested) : absl::OkStatus();
            });
      });
  if (!s.ok()) return corrupt(s.message());
  return st;
}

}  // namespace quorum::client
