// ReadBboltSnapshot on a small bbolt database built byte by byte here (the
// expected figures are what Debian's etcdctl 3.4.23 `snapshot status` printed
// for the same bytes), and on damaged copies of it.
#include "client/bbolt_snapshot.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace quorum::client {
namespace {

constexpr size_t kPage = 4096;

void PutLe(std::string* s, size_t off, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) (*s)[off + i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

std::string RevisionKey(uint64_t main, uint64_t sub, bool tombstone) {
  std::string k;
  for (int i = 7; i >= 0; --i) k += static_cast<char>((main >> (8 * i)) & 0xFF);
  k += '_';
  for (int i = 7; i >= 0; --i) k += static_cast<char>((sub >> (8 * i)) & 0xFF);
  if (tombstone) k += 't';
  return k;
}

struct Elem {
  bool bucket;
  std::string key, value;
};

// A leaf page: header, elements, then each key and value.
std::string LeafPage(uint64_t id, uint32_t overflow, const std::vector<Elem>& elems) {
  std::string p(16 + 16 * elems.size(), '\0');
  PutLe(&p, 0, id, 8);
  PutLe(&p, 8, 0x02, 2);
  PutLe(&p, 10, elems.size(), 2);
  PutLe(&p, 12, overflow, 4);
  for (size_t i = 0; i < elems.size(); ++i) {
    const size_t e = 16 + 16 * i;
    PutLe(&p, e, elems[i].bucket ? 1 : 0, 4);
    PutLe(&p, e + 4, p.size() - e, 4);
    PutLe(&p, e + 8, elems[i].key.size(), 4);
    PutLe(&p, e + 12, elems[i].value.size(), 4);
    p += elems[i].key + elems[i].value;
  }
  return p;
}

std::string BranchPage(uint64_t id, const std::vector<std::pair<std::string, uint64_t>>& kids) {
  std::string p(16 + 16 * kids.size(), '\0');
  PutLe(&p, 0, id, 8);
  PutLe(&p, 8, 0x01, 2);
  PutLe(&p, 10, kids.size(), 2);
  for (size_t i = 0; i < kids.size(); ++i) {
    const size_t e = 16 + 16 * i;
    PutLe(&p, e, p.size() - e, 4);
    PutLe(&p, e + 4, kids[i].first.size(), 4);
    PutLe(&p, e + 8, kids[i].second, 8);
    p += kids[i].first;
  }
  return p;
}

// A bucket's value: {root, sequence}, then the inline leaf when root == 0.
std::string BucketValue(uint64_t root, const std::vector<Elem>& inline_elems = {}) {
  std::string v(16, '\0');
  PutLe(&v, 0, root, 8);
  return root == 0 ? v + LeafPage(0, 0, inline_elems) : v;
}

// A bbolt database of 4 KiB pages (8 of them), 32 KiB + a 32-byte "digest":
//   0, 1  metas (txid 1 and 2), root bucket at page 2, high water 8, no freelist
//   2     root leaf: alpha (inline: a=1, b="", nested inline bucket n{x=y}),
//         empty (inline, no keys), key (page 3), zeta (page 4)
//   3     leaf: revision keys 1_0 and 5_0 (tombstone)
//   4     branch: -> 5, -> 7
//   5-6   leaf with one overflow page: big=6000 bytes, c=3
//   7     leaf: d=4
class BboltFile {
 public:
  BboltFile() : db_(8 * kPage, '\0') {
    Meta(0, /*txid=*/1);
    Meta(1, /*txid=*/2);
    Page(2, LeafPage(2, 0,
                     {{true, "alpha",
                       BucketValue(0, {{false, "a", "1"},
                                       {false, "b", ""},
                                       {true, "n", BucketValue(0, {{false, "x", "y"}})}})},
                      {true, "empty", BucketValue(0)},
                      {true, "key", BucketValue(3)},
                      {true, "zeta", BucketValue(4)}}));
    Page(3, LeafPage(3, 0,
                     {{false, RevisionKey(1, 0, false), "v1"},
                      {false, RevisionKey(5, 0, true), "tomb"}}));
    Page(4, BranchPage(4, {{"big", 5}, {"c", 7}}));
    std::string big(6000, '\0');
    for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + i % 26);
    Page(5, LeafPage(5, 1, {{false, "big", big}, {false, "c", "3"}}));
    Page(7, LeafPage(7, 0, {{false, "d", "4"}}));
  }

  // Meta page `id`: root bucket at page 2, 8 pages in use, a valid checksum.
  void Meta(uint64_t id, uint64_t txid, uint64_t root = 2) {
    std::string m(80, '\0');
    PutLe(&m, 0, id, 8);
    PutLe(&m, 8, 0x04, 2);
    PutLe(&m, 16, 0xED0CDAED, 4);
    PutLe(&m, 20, 2, 4);
    PutLe(&m, 24, kPage, 4);
    PutLe(&m, 32, root, 8);
    PutLe(&m, 48, ~uint64_t{0}, 8);  // freelist: none (etcd's NoFreelistSync)
    PutLe(&m, 56, 8, 8);             // high water
    PutLe(&m, 64, txid, 8);
    uint64_t h = 14695981039346656037ull;  // FNV-1a 64 of magic .. txid
    for (size_t i = 16; i < 72; ++i) h = (h ^ static_cast<uint8_t>(m[i])) * 1099511628211ull;
    PutLe(&m, 72, h, 8);
    Page(id, m);
  }
  void Page(uint64_t id, const std::string& bytes) { db_.replace(id * kPage, bytes.size(), bytes); }
  std::string& bytes() { return db_; }
  std::string WithDigest() const { return db_ + std::string(32, '\x5a'); }

 private:
  std::string db_;
};

class BboltSnapshotTest : public ::testing::Test {
 protected:
  ~BboltSnapshotTest() override { std::filesystem::remove(path_); }
  absl::StatusOr<SnapshotFileStatus> Read(const std::string& bytes) {
    std::ofstream(path_, std::ios::binary | std::ios::trunc) << bytes;
    return ReadBboltSnapshot(path_);
  }
  // The error of reading `bytes`, which must fail as corrupt.
  std::string Error(const std::string& bytes) {
    auto st = Read(bytes);
    EXPECT_FALSE(st.ok());
    if (st.ok()) return "";
    EXPECT_EQ(st.status().code(), absl::StatusCode::kDataLoss) << st.status();
    return std::string(st.status().message());
  }

  const std::string path_ =
      (std::filesystem::temp_directory_path() / ("bbolt_snapshot_test." + std::to_string(getpid())))
          .string();
  BboltFile f_;
};

// etcdctl 3.4.23 on these bytes (with and without the digest):
// `snapshot status -w json` -> {"hash":4116236907,"revision":5,"totalKey":8,"totalSize":32768}
TEST_F(BboltSnapshotTest, StatusAsEtcdctlPrintsIt) {
  EXPECT_TRUE(HasBboltMagic(f_.bytes()));
  for (const std::string& bytes : {f_.bytes(), f_.WithDigest()}) {
    auto st = Read(bytes);
    ASSERT_TRUE(st.ok()) << st.status();
    EXPECT_EQ(st->hash, 4116236907u);
    EXPECT_EQ(st->revision, 5);
    EXPECT_EQ(st->total_keys, 8);
    EXPECT_EQ(st->total_size, 32768);
  }
}

// bbolt falls back to the other meta when one is damaged, whichever it is.
TEST_F(BboltSnapshotTest, OneDamagedMetaIsSkipped) {
  for (uint64_t id : {0, 1}) {
    BboltFile f;
    f.bytes()[id * kPage + 40] ^= 1;  // the sequence: the checksum no longer matches
    auto st = Read(f.bytes());
    ASSERT_TRUE(st.ok()) << st.status();
    EXPECT_EQ(st->hash, 4116236907u);
  }
  // The newer valid meta wins: meta 1 (txid 2) names a root of plain keys.
  BboltFile f;
  f.Meta(1, 2, /*root=*/7);
  EXPECT_NE(Error(f.bytes()).find("cannot get hash of bucket d"), std::string::npos);
  f.Meta(1, 0, /*root=*/7);  // now older than meta 0
  EXPECT_TRUE(Read(f.bytes()).ok());
}

TEST_F(BboltSnapshotTest, DamagedFilesAreErrors) {
  struct Case {
    const char* name;
    std::function<void(std::string*)> damage;
    const char* error;
  };
  const std::vector<Case> cases = {
      {"empty", [](std::string* b) { b->clear(); }, "invalid database"},
      {"shorter than a page", [](std::string* b) { b->resize(100); }, "invalid database"},
      {"one page", [](std::string* b) { b->resize(kPage); }, "file size too small"},
      {"truncated", [](std::string* b) { b->resize(5 * kPage); }, "past the end of the file"},
      {"bad magic", [](std::string* b) { (*b)[16] = (*b)[kPage + 16] = 0; }, "invalid database"},
      {"bad version", [](std::string* b) { (*b)[20] = (*b)[kPage + 20] = 3; }, "version mismatch"},
      {"bad checksums",
       [](std::string* b) {
         (*b)[64] ^= 1;
         (*b)[kPage + 64] ^= 1;
       },
       "checksum error"},
      {"page id past the end",
       [](std::string* b) {  // zeta's root: page 100
         const size_t at = b->find("zeta", 2 * kPage) + 4;
         (*b)[at] = 100;
       },
       "page 100: out of bounds"},
      {"overflow past the end", [](std::string* b) { PutLe(b, 5 * kPage + 12, 0xFFFFFFFF, 4); },
       "out of bounds"},
      {"element past the page", [](std::string* b) { PutLe(b, 3 * kPage + 16 + 4, 5000, 4); },
       "page 3: element 0 lies past the end of the page"},
      {"huge value size", [](std::string* b) { PutLe(b, 3 * kPage + 16 + 12, 0xFFFFFFFF, 4); },
       "page 3: element 0 lies past the end of the page"},
      {"count past the page", [](std::string* b) { PutLe(b, 7 * kPage + 10, 0xFFFF, 2); },
       "page 7: 65535 elements do not fit"},
      {"branch cycle", [](std::string* b) { PutLe(b, 4 * kPage + 16 + 16 + 8, 4, 8); },
       "page 4: multiple references"},
      {"branch to a meta page", [](std::string* b) { PutLe(b, 4 * kPage + 16 + 8, 1, 8); },
       "page 1: out of bounds"},
      {"free page type", [](std::string* b) { PutLe(b, 7 * kPage + 8, 0x10, 2); },
       "page 7: invalid type 0x10"},
      {"inline page cut short",
       [](std::string* b) {  // alpha's inline page: 2 elements claimed
         PutLe(b, b->find("alpha", 2 * kPage) + 5 + 16 + 10, 200, 2);
       },
       "inline page: 200 elements do not fit"},
      {"not a bucket at the top", [](std::string* b) { PutLe(b, 2 * kPage + 16, 0, 4); },
       "cannot get hash of bucket alpha"},
      {"short revision key", [](std::string* b) { PutLe(b, 3 * kPage + 16 + 16 + 8, 3, 4); },
       "bucket \"key\": a key of 3 bytes is not a revision"},
  };
  for (const Case& c : cases) {
    std::string bytes = BboltFile().bytes();
    c.damage(&bytes);
    const std::string err = Error(bytes);
    EXPECT_NE(err.find(c.error), std::string::npos) << c.name << ": " << err;
    EXPECT_EQ(err.find('\n'), std::string::npos) << c.name << ": " << err;
  }
}

// Nested buckets deeper than the cap are refused, not followed to the end of
// the stack: 70 inline buckets, each inside the previous one.
TEST_F(BboltSnapshotTest, DeepNestingIsAnError) {
  std::string value = BucketValue(0, {{false, "k", "v"}});
  for (int i = 0; i < 70; ++i) value = BucketValue(0, {{true, "n", value}});
  BboltFile f;
  std::string leaf = LeafPage(7, 0, {{true, "d", value}});
  ASSERT_LE(leaf.size(), kPage);
  f.Page(7, leaf);
  EXPECT_NE(Error(f.bytes()).find("deeper than 64 levels"), std::string::npos);
}

// An inline page whose 5 elements all point at one nested inline bucket,
// which does the same, 30 levels deep (it fits in one page): walked naively
// that is 5^30 visits. More elements than the file can hold end it at once.
TEST_F(BboltSnapshotTest, InlinePagesSharingElementsAreRefusedQuickly) {
  std::string value = BucketValue(0);  // the innermost: an empty inline bucket
  for (int level = 0; level < 30; ++level) {
    std::string page(16 + 5 * 16, '\0');
    PutLe(&page, 8, 0x02, 2);
    PutLe(&page, 10, 5, 2);
    for (int i = 0; i < 5; ++i) {
      const size_t e = 16 + 16 * i;
      PutLe(&page, e, 1, 4);                   // a bucket
      PutLe(&page, e + 4, page.size() - e, 4);  // every element -> the same key/value
      PutLe(&page, e + 8, 1, 4);
      PutLe(&page, e + 12, value.size(), 4);
    }
    value = std::string(16, '\0') + page + "k" + value;
  }
  BboltFile f;
  std::string leaf = LeafPage(7, 0, {{true, "d", value}});
  ASSERT_LE(leaf.size(), kPage);
  f.Page(7, leaf);
  const absl::Time start = absl::Now();
  EXPECT_NE(Error(f.bytes()).find("more elements than the file can hold"), std::string::npos);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

// A page claiming an overflow run of more than 256 MiB (cheap in a sparse
// file) is refused before anything is allocated for it.
TEST_F(BboltSnapshotTest, HugeOverflowRunIsRefusedWithoutAllocating) {
  constexpr uint64_t kPages = (uint64_t{300} << 20) / kPage;  // a 300 MiB database
  BboltFile f;
  for (uint64_t id : {0, 1}) {
    f.Meta(id, id + 1);
    PutLe(&f.bytes(), id * kPage + 56, kPages, 8);  // high water
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 16; i < 72; ++i) {
      h = (h ^ static_cast<uint8_t>(f.bytes()[id * kPage + i])) * 1099511628211ull;
    }
    PutLe(&f.bytes(), id * kPage + 72, h, 8);
  }
  PutLe(&f.bytes(), 7 * kPage + 12, kPages - 8, 4);  // page 7 runs to the end
  {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out << f.bytes();
  }
  std::filesystem::resize_file(path_, kPages * kPage);  // sparse
  auto st = ReadBboltSnapshot(path_);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.status().message().find("larger than 268435456 bytes"), std::string::npos)
      << st.status();
}

}  // namespace
}  // namespace quorum::client
