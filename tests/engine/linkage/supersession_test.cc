// Copyright EMPI developers.
#include "engine/linkage/supersession.h"

#include <random>

#include "gtest/gtest.h"
#include "matchers/nhs_number.h"

namespace empi {
namespace {

uint64_t Nhs(uint64_t seed) {
  for (uint64_t n = 600000000 + seed * 13;; ++n) {
    int c = NhsCheckDigit(std::to_string(n));
    if (c >= 0) return n * 10 + static_cast<uint64_t>(c);
  }
}

TEST(NhsSupersessionsTest, FollowsChainsAndRefusesCyclesAndSecondSuccessors) {
  NhsSupersessions s;
  EXPECT_EQ(s.Current(Nhs(1)), Nhs(1));
  ASSERT_TRUE(*s.Add(Nhs(1), Nhs(2)));
  ASSERT_TRUE(*s.Add(Nhs(2), Nhs(3)));
  EXPECT_EQ(s.Current(Nhs(1)), Nhs(3));
  EXPECT_EQ(s.Current(Nhs(3)), Nhs(3));
  EXPECT_FALSE(*s.Add(Nhs(1), Nhs(2)));      // known
  EXPECT_FALSE(*s.Add(Nhs(1), Nhs(3)));      // known through the chain
  EXPECT_FALSE(s.Add(Nhs(3), Nhs(1)).ok());  // cycle
  EXPECT_FALSE(s.Add(Nhs(1), Nhs(4)).ok());  // a second successor
  EXPECT_FALSE(s.Add(Nhs(5), Nhs(5)).ok());
  PreparedRecord p;
  p.nhs = Nhs(1);
  p.nhs_validated = true;
  s.Apply(&p);
  EXPECT_EQ(p.nhs, Nhs(3));
  PreparedRecord raw;  // an identifier never checked as an NHS number
  raw.nhs = Nhs(1);
  s.Apply(&raw);
  EXPECT_EQ(raw.nhs, Nhs(1));
}

// Property: whatever supersessions are added in whatever order, every
// number's current number is never itself superseded, Current is
// idempotent, and an accepted supersession's two numbers share it.
TEST(NhsSupersessionsTest, RandomFeedsKeepEveryChainFinite) {
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 300; ++trial) {
    NhsSupersessions s;
    std::vector<std::pair<uint64_t, uint64_t>> accepted;
    for (int i = 0; i < 40; ++i) {
      uint64_t a = Nhs(rng() % 30), b = Nhs(rng() % 30);
      absl::StatusOr<bool> added = s.Add(a, b);
      if (added.ok()) accepted.emplace_back(a, b);
    }
    for (uint64_t k = 0; k < 30; ++k) {
      const uint64_t c = s.Current(Nhs(k));
      EXPECT_EQ(s.Current(c), c);
    }
    for (auto [a, b] : accepted) EXPECT_EQ(s.Current(a), s.Current(b));
  }
}

TEST(SupersessionFeedTest, ReadsRowsAndRefusesBadOnesOneByOne) {
  const std::string a = FormatNhsNumber(Nhs(1)), b = FormatNhsNumber(Nhs(2));
  // CR-only line ends, a blank line, a spaced number, an extra column.
  const std::string text = "old_nhs_number,new_nhs_number,effective\r" + a + "," + b + ",2026-01-01\r  \r" +
                           a.substr(0, 3) + " " + a.substr(3, 3) + " " + a.substr(6) + "," + b + "\r123," + b + "\r" +
                           a + ",\r" + a + "\r" + a + "," + a + "\r" + std::string("\0", 1) + a + "," + b + "\r";
  auto rows = ParseSupersessionFeed(text, "s.csv");
  ASSERT_TRUE(rows.ok()) << rows.status();
  ASSERT_EQ(rows->size(), 7u);
  EXPECT_EQ((*rows)[0].line, 2u);
  EXPECT_EQ((*rows)[0].refused, "");
  EXPECT_EQ((*rows)[0].old_nhs, Nhs(1));
  EXPECT_EQ((*rows)[0].new_nhs, Nhs(2));
  EXPECT_EQ((*rows)[1].line, 4u);  // the blank line 3 is skipped
  EXPECT_EQ((*rows)[1].refused, "");
  EXPECT_EQ((*rows)[2].refused, "old_nhs_number: not a valid NHS number");
  EXPECT_EQ((*rows)[3].refused, "new_nhs_number: not a valid NHS number");
  EXPECT_EQ((*rows)[4].refused, "expected 2 fields, found 1");
  EXPECT_EQ((*rows)[5].refused, "new_nhs_number: the same number as old_nhs_number");
  EXPECT_EQ((*rows)[6].refused, "NUL byte");
}

TEST(SupersessionFeedTest, AWrongHeaderIsRefusedNamingTheFileAndLine) {
  for (const char* text : {"", "old,new\n", "new_nhs_number,old_nhs_number\n", "\n\nold_nhs_number,new_nhs_number\n"}) {
    auto rows = ParseSupersessionFeed(text, "feed.csv");
    ASSERT_FALSE(rows.ok()) << text;
    EXPECT_EQ(rows.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(rows.status().message(), "feed.csv: line 1: header must be old_nhs_number,new_nhs_number");
  }
}

}  // namespace
}  // namespace empi
