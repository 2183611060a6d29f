// Copyright EMPI developers.
#include "matchers/jaro_winkler.h"

#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/matchers/jaro_winkler_reference.h"

namespace empi {
namespace {

// Realistic given and family names, plus their typo variants.
const std::vector<std::string>& RealisticNames() {
  static const std::vector<std::string> kNames = {
      "martha",     "marhta",     "dwayne",    "duane",     "dixon",    "dicksonx",  "jones",   "johnson",
      "smith",      "smyth",      "smithe",    "catherine", "kathryn",  "katherine", "william", "williams",
      "willaim",    "mohammed",   "muhammad",  "mohamed",   "jonathan", "jonathon",  "sian",    "sean",
      "shaun",      "obrien",     "obrian",    "macdonald", "mcdonald", "lukasz",    "lucas",   "malgorzata",
      "margaret",   "peggy",      "elizabeth", "elisabeth", "aaaa",     "abab",      "baba",    "a",
      "b",          "ab",         "ba",        "abc",       "cba",      "crate",     "trace",   "jellyfish",
      "smellyfish", "xxxxxxxxxx", "",
  };
  return kNames;
}

std::string RandomString(std::mt19937_64& rng, int max_len, int alphabet) {
  std::uniform_int_distribution<int> len_dist(0, max_len);
  std::uniform_int_distribution<int> char_dist(0, alphabet - 1);
  int len = len_dist(rng);
  std::string s;
  for (int i = 0; i < len; ++i) s.push_back(static_cast<char>('a' + char_dist(rng)));
  return s;
}

// A typo variant: a transposition, deletion, insertion or substitution.
std::string Mutate(std::mt19937_64& rng, std::string s) {
  std::uniform_int_distribution<int> op(0, 3);
  if (s.size() < 2) return s + "e";
  std::uniform_int_distribution<size_t> pos(0, s.size() - 2);
  size_t p = pos(rng);
  switch (op(rng)) {
    case 0: std::swap(s[p], s[p + 1]); break;
    case 1: s.erase(p, 1); break;
    case 2: s.insert(p, 1, 'y'); break;
    default: s[p] = 'q'; break;
  }
  return s;
}

void ExpectAllAgree(const std::string& a, const std::string& b) {
  double ref = reference::JaroWinkler(a, b);
  ASSERT_EQ(JaroWinkler(a, b), ref) << a << " / " << b;
  ASSERT_EQ(reference::Jaro(a, b), Jaro(a, b)) << a << " / " << b;
  // Symmetry: the reference scans its first argument, the fast code its
  // second, so this also proves the scan direction does not matter.
  ASSERT_EQ(JaroWinkler(b, a), ref) << a << " / " << b;
  CachedJaroWinkler cached(a);
  ASSERT_EQ(cached.Similarity(b), ref) << a << " / " << b;
}

TEST(JaroWinklerTest, KnownValues) {
  // Winkler (1990) / Wikipedia examples; t uses integer division.
  EXPECT_NEAR(Jaro("martha", "marhta"), 0.944444444444, 1e-9);
  EXPECT_NEAR(JaroWinkler("martha", "marhta"), 0.961111111111, 1e-9);
  EXPECT_NEAR(Jaro("dixon", "dicksonx"), 0.766666666667, 1e-9);
  EXPECT_NEAR(JaroWinkler("dixon", "dicksonx"), 0.813333333333, 1e-9);
  EXPECT_NEAR(JaroWinkler("dwayne", "duane"), 0.84, 1e-9);
  EXPECT_DOUBLE_EQ(JaroWinkler("smith", "smith"), 1.0);
  EXPECT_DOUBLE_EQ(JaroWinkler("abc", "xyz"), 0.0);
}

TEST(JaroWinklerTest, EmptyStrings) {
  EXPECT_EQ(JaroWinkler("", ""), 1.0);
  EXPECT_EQ(JaroWinkler("", "a"), 0.0);
  EXPECT_EQ(JaroWinkler("a", ""), 0.0);
  EXPECT_EQ(CachedJaroWinkler("").Similarity("a"), 0.0);
  EXPECT_EQ(CachedJaroWinkler("a").Similarity(""), 0.0);
}

TEST(JaroWinklerTest, BoostOnlyAboveThreshold) {
  // Jaro("abcxyz", "abcuvw") = 0.666...: no Winkler boost despite the prefix.
  EXPECT_DOUBLE_EQ(JaroWinkler("abcxyz", "abcuvw"), Jaro("abcxyz", "abcuvw"));
  // The prefix counts at most four characters.
  double j = Jaro("abcdefgh", "abcdefhg");
  EXPECT_DOUBLE_EQ(JaroWinkler("abcdefgh", "abcdefhg"), j + 4 * 0.1 * (1 - j));
}

TEST(JaroWinklerTest, RealisticPairsMatchReference) {
  const auto& names = RealisticNames();
  for (const auto& a : names) {
    for (const auto& b : names) ExpectAllAgree(a, b);
  }
}

TEST(JaroWinklerTest, RandomPairsMatchReference) {
  std::mt19937_64 rng(20240601);
  // Small alphabets force repeated letters, the hard case for matching.
  for (int n = 0; n < 120000; ++n) {
    int alphabet = n % 3 == 0 ? 2 : (n % 3 == 1 ? 4 : 26);
    std::string a = RandomString(rng, 12, alphabet);
    std::string b = n % 2 ? Mutate(rng, a) : RandomString(rng, 12, alphabet);
    ExpectAllAgree(a, b);
  }
}

TEST(JaroWinklerTest, LongStringsMatchReference) {
  std::mt19937_64 rng(7);
  // Around and beyond the 64-character bit-parallel limit.
  for (int n = 0; n < 2000; ++n) {
    std::string a = RandomString(rng, 140, 3);
    std::string b = n % 2 ? Mutate(rng, a) : RandomString(rng, 140, 3);
    ExpectAllAgree(a, b);
  }
}

TEST(JaroWinklerTest, CutoffNeverChangesAScoreAtOrAboveIt) {
  std::mt19937_64 rng(99);
  std::uniform_real_distribution<double> cutoff_dist(0.0, 1.0);
  int zeroed = 0;
  for (int n = 0; n < 50000; ++n) {
    std::string a = RandomString(rng, 10, 5);
    std::string b = n % 2 ? Mutate(rng, a) : RandomString(rng, 10, 5);
    CachedJaroWinkler cached(a);
    double exact = cached.Similarity(b);
    double cutoff = n % 10 == 0 ? exact : cutoff_dist(rng);  // boundary too
    double got = cached.Similarity(b, cutoff);
    if (exact >= cutoff) {
      ASSERT_EQ(got, exact) << a << " / " << b << " cutoff " << cutoff;
    } else {
      ASSERT_EQ(got, 0.0) << a << " / " << b << " cutoff " << cutoff;
      ++zeroed;
    }
  }
  EXPECT_GT(zeroed, 1000);
}

TEST(JaroWinklerTest, CustomPrefixWeight) {
  CachedJaroWinkler cached("martha", 0.2);
  EXPECT_EQ(cached.Similarity("marhta"), reference::JaroWinkler("martha", "marhta", 0.2));
  EXPECT_EQ(JaroWinkler("martha", "marhta", 0.2), reference::JaroWinkler("martha", "marhta", 0.2));
}

}  // namespace
}  // namespace empi
