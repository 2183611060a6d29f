// Copyright EMPI developers.
//
// Reads the unedited FEBRL benchmark files through datasets/mappings/febrl.json.
#include <cstdlib>
#include <filesystem>
#include <string>

#include "engine/feed/feed_reader.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace empi {
namespace {

struct FebrlCase {
  const char* file;
  uint64_t records;
  uint64_t invalid_dates;  // non-empty dates that name no calendar day
};

class FebrlFeedTest : public ::testing::TestWithParam<FebrlCase> {
 protected:
  void SetUp() override {
    const char* root = std::getenv("EMPI_SOURCE_DIR");
    if (root == nullptr) GTEST_SKIP() << "EMPI_SOURCE_DIR not set";
    dir_ = std::string(root) + "/../shared/datasets/febrl/";
    if (!std::filesystem::exists(dir_ + GetParam().file)) {
      GTEST_SKIP() << "FEBRL datasets not present";
    }
    absl::StatusOr<Mapping> m = LoadMapping(std::string(root) + "/datasets/mappings/febrl.json");
    ASSERT_TRUE(m.ok()) << m.status();
    mapping_ = *std::move(m);
  }
  std::string dir_;
  Mapping mapping_;
};

TEST_P(FebrlFeedTest, LoadsUnedited) {
  FeedOptions options;
  options.mapping = &mapping_;
  absl::StatusOr<FeedResult> feed = ReadFeed(dir_ + GetParam().file, options);
  ASSERT_TRUE(feed.ok()) << feed.status();
  EXPECT_EQ(feed->records.size(), GetParam().records);
  EXPECT_EQ(feed->stats.rows, GetParam().records);
  EXPECT_TRUE(feed->quarantined.empty());
  EXPECT_TRUE(feed->warnings.empty());
  EXPECT_EQ(feed->stats.invalid_date, GetParam().invalid_dates);
  EXPECT_EQ(feed->stats.invalid_nhs, 0u);
  EXPECT_EQ(feed->stats.invalid_postcode, 0u);
  EXPECT_EQ(feed->date_format, DateFormat::kCompact);
  EXPECT_FALSE(feed->conventions.validate_nhs_number);
  EXPECT_EQ(feed->conventions.postcode_format, PostcodeFormat::kRaw);
  for (const Record& r : feed->records) {
    ASSERT_EQ(r.source, "febrl");
    ASSERT_EQ(r.record_id.rfind("rec-", 0), 0u) << r.record_id;
    ASSERT_EQ(r.record_id.find(' '), std::string::npos);
    ASSERT_EQ(r.address.find('\r'), std::string::npos);
  }
}

INSTANTIATE_TEST_SUITE_P(Files, FebrlFeedTest,
                         ::testing::Values(FebrlCase{"dataset1.csv", 1000, 3}, FebrlCase{"dataset2.csv", 5000, 10},
                                           FebrlCase{"dataset3.csv", 5000, 35}, FebrlCase{"dataset4a.csv", 5000, 0},
                                           FebrlCase{"dataset4b.csv", 5000, 64}));

TEST(FebrlFeedFieldsTest, FirstRecordOfDataset4a) {
  const char* root = std::getenv("EMPI_SOURCE_DIR");
  if (root == nullptr) GTEST_SKIP() << "EMPI_SOURCE_DIR not set";
  const std::string file = std::string(root) + "/../shared/datasets/febrl/dataset4a.csv";
  if (!std::filesystem::exists(file)) GTEST_SKIP() << "FEBRL datasets not present";
  absl::StatusOr<Mapping> mapping = LoadMapping(std::string(root) + "/datasets/mappings/febrl.json");
  ASSERT_TRUE(mapping.ok()) << mapping.status();
  FeedOptions options;
  options.mapping = &*mapping;
  options.source = "febrl4a";  // --source overrides the mapping's source
  absl::StatusOr<FeedResult> feed = ReadFeed(file, options);
  ASSERT_TRUE(feed.ok()) << feed.status();
  ASSERT_FALSE(feed->records.empty());
  // rec-1070-org, michaela, neumann, 8, stanley street, miami, winston hills,
  // 4223, nsw, 19151111, 5304218
  Record want;
  want.source = "febrl4a";
  want.record_id = "rec-1070-org";
  want.given_names = "michaela";
  want.family_name = "neumann";
  want.address = "8, stanley street, miami, winston hills, nsw";
  want.postcode = "4223";
  want.date_of_birth = "1915-11-11";
  want.nhs_number = "5304218";
  EXPECT_EQ(feed->records[0], want);
  EXPECT_EQ(feed->lines[0], 2u);
}

}  // namespace
}  // namespace empi
