#include "mvcc/index_key.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"

namespace quorum::mvcc {
namespace {

// Lengths around the inline limit (15 bytes), with NULs and high bytes.
std::vector<std::string> EdgeKeys() {
  std::vector<std::string> keys = {"", std::string(1, '\0'), std::string(1, '\xff')};
  for (size_t n : {1, 7, 8, 14, 15, 16, 17, 100, 70000}) {
    std::string k(n, 'k');
    k[0] = '\x80';
    if (n > 1) k[n - 1] = '\0';
    keys.push_back(k);
  }
  return keys;
}

TEST(IndexKeyTest, HoldsEveryLengthAndByte) {
  static_assert(sizeof(IndexKey) == 16);
  for (const std::string& k : EdgeKeys()) {
    IndexKey key(k);
    EXPECT_EQ(key.view(), k) << k.size();
    EXPECT_EQ(key.str(), k);
  }
}

TEST(IndexKeyTest, CopiesAndMovesKeepTheBytes) {
  for (const std::string& k : EdgeKeys()) {
    IndexKey a(k);
    IndexKey b(a);
    EXPECT_EQ(b.view(), k);
    IndexKey c(std::move(a));
    EXPECT_EQ(c.view(), k);
    EXPECT_EQ(a.view(), "");  // NOLINT(bugprone-use-after-move): moved-from is empty
    IndexKey d("short");
    d = c;
    EXPECT_EQ(d.view(), k);
    IndexKey e(std::string(40, 'x'));
    e = std::move(d);
    EXPECT_EQ(e.view(), k);
    e = *&e;  // self-assignment keeps the key
    EXPECT_EQ(e.view(), k);
  }
}

TEST(IndexKeyTest, OrdersAsStringsDo) {
  std::mt19937 rng(7);
  std::vector<std::string> keys = EdgeKeys();
  for (int i = 0; i < 500; ++i) {
    std::string k(rng() % 24, '\0');
    for (char& c : k) c = static_cast<char>(rng() % 4 == 0 ? 0xF0 + rng() % 16 : 'a' + rng() % 3);
    keys.push_back(k);
  }
  IndexKeyLess less;
  for (size_t i = 0; i < keys.size(); ++i) {
    const std::string& a = keys[i];
    const std::string& b = keys[(i * 7 + 3) % keys.size()];
    EXPECT_EQ(less(IndexKey(a), IndexKey(b)), a < b);
    EXPECT_EQ(less(IndexKey(a), std::string_view(b)), a < b);
    EXPECT_EQ(less(std::string_view(a), IndexKey(b)), a < b);
  }
  // As the index uses it: a btree keyed by IndexKey, searched by string_view.
  absl::btree_map<IndexKey, int, IndexKeyLess> tree;
  for (size_t i = 0; i < keys.size(); ++i) tree.insert_or_assign(IndexKey(keys[i]), int(i));
  std::vector<std::string> sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  std::vector<std::string> walked;
  for (const auto& [k, v] : tree) walked.push_back(k.str());
  EXPECT_EQ(walked, sorted);
  for (const std::string& k : keys) EXPECT_NE(tree.find(std::string_view(k)), tree.end());
  EXPECT_EQ(tree.find(std::string_view("not-a-key")), tree.end());
}

}  // namespace
}  // namespace quorum::mvcc
