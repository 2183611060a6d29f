// Copyright EMPI developers.
#include "matchers/bigram_dice.h"

#include <map>
#include <random>
#include <string>

#include "gtest/gtest.h"

namespace empi {
namespace {

// Naive twin: bigrams counted in a map, written from the header's words.
double ReferenceDice(std::string_view a, std::string_view b) {
  auto bigrams = [](std::string_view s) {
    std::string t;
    for (char c : s) {
      if (c != ' ' && t.size() < kMaxBigramText) t.push_back(c);
    }
    std::map<std::string, int> m;
    for (size_t i = 0; i + 1 < t.size(); ++i) ++m[t.substr(i, 2)];
    return m;
  };
  auto x = bigrams(a), y = bigrams(b);
  int nx = 0, ny = 0, common = 0;
  for (const auto& [k, v] : x) nx += v;
  for (const auto& [k, v] : y) ny += v;
  for (const auto& [k, v] : x) {
    auto it = y.find(k);
    if (it != y.end()) common += std::min(v, it->second);
  }
  return nx == 0 || ny == 0 ? 0.0 : 2.0 * common / (nx + ny);
}

TEST(BigramDiceTest, Examples) {
  EXPECT_DOUBLE_EQ(BigramDice("wells road", "wells road"), 1.0);
  EXPECT_DOUBLE_EQ(BigramDice("wells road", "wellsroad"), 1.0);  // spaces ignored
  EXPECT_DOUBLE_EQ(BigramDice("", "abc"), 0.0);
  EXPECT_DOUBLE_EQ(BigramDice("a", "a"), 0.0);  // no bigram: no evidence
  // Lines in the other order keep all but the bigrams across the joins.
  EXPECT_GE(
      BigramDice("105 hawker place chippendale village currambine", "105 chippendale village hawker place currambine"),
      0.9);
  EXPECT_LT(BigramDice("12 high street coventry", "3 mill road rugby"), 0.3);
  // Multisets, not sets: "aaaa" has three "aa" bigrams, "aa" one.
  EXPECT_DOUBLE_EQ(BigramDice("aaaa", "aa"), 0.5);
}

TEST(BigramDiceTest, MatchesReferenceOnRandomStrings) {
  std::mt19937 rng(7);
  auto random_text = [&](int max_len) {
    std::string s;
    int len = std::uniform_int_distribution<int>(0, max_len)(rng);
    for (int i = 0; i < len; ++i) s.push_back("ab cde"[std::uniform_int_distribution<int>(0, 5)(rng)]);
    return s;
  };
  for (int t = 0; t < 20000; ++t) {
    std::string a = random_text(t % 10 == 0 ? 200 : 20), b = random_text(20);
    ASSERT_DOUBLE_EQ(BigramDice(a, b), ReferenceDice(a, b)) << '"' << a << "\" \"" << b << '"';
    ASSERT_DOUBLE_EQ(BigramDice(a, b), BigramDice(b, a));
  }
}

}  // namespace
}  // namespace empi
