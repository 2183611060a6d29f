// Copyright EMPI developers.
#include "engine/eval/csv_reader.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/temp_dir.h"

namespace empi::eval {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::vector<std::string>> ReadAll(const std::string& path, std::vector<int64_t>* lines) {
  auto csv = CsvReader::Open(path);
  EXPECT_TRUE(csv.ok()) << csv.status();
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string_view> fields;
  while (true) {
    auto more = (*csv)->Next(&fields);
    EXPECT_TRUE(more.ok()) << more.status();
    if (!more.ok() || !*more) break;
    rows.emplace_back(fields.begin(), fields.end());
    if (lines) lines->push_back((*csv)->line());
  }
  return rows;
}

TEST(CsvReaderTest, QuotedFieldsCrLfBomAndBlankLines) {
  std::string path = testing::WriteTestFile("quoted.csv",
                                            "\xEF\xBB\xBFsource,record_id,person_id\r\n"
                                            "RKB, K1 ,\"P, 1\"\r\n"
                                            "\n"
                                            "\"R\"\"Q\",\"multi\nline\",x,\r\n"
                                            "last,row,no newline");
  std::vector<int64_t> lines;
  auto rows = ReadAll(path, &lines);
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_THAT(rows[0], ElementsAre("source", "record_id", "person_id"));
  EXPECT_THAT(rows[1], ElementsAre("RKB", "K1", "P, 1"));
  EXPECT_THAT(rows[2], ElementsAre("R\"Q", "multi\nline", "x", ""));
  EXPECT_THAT(rows[3], ElementsAre("last", "row", "no newline"));
  EXPECT_THAT(lines, ElementsAre(1, 2, 4, 6));
}

TEST(CsvReaderTest, LongLinesCrossBufferBoundaries) {
  std::string big(3 << 20, 'z');
  std::string path = testing::WriteTestFile("long.csv", "a,b\n" + big + ",\"" + big + "\"\nc,d\n");
  auto rows = ReadAll(path, nullptr);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[1][0], big);
  EXPECT_EQ(rows[1][1], big);
  EXPECT_THAT(rows[2], ElementsAre("c", "d"));
}

TEST(CsvReaderTest, UnterminatedQuoteNamesFileAndLine) {
  std::string path = testing::WriteTestFile("bad.csv", "a,b\nc,\"open\nstill open\n");
  auto csv = CsvReader::Open(path);
  ASSERT_TRUE(csv.ok());
  std::vector<std::string_view> fields;
  ASSERT_TRUE(*(*csv)->Next(&fields));
  auto more = (*csv)->Next(&fields);
  ASSERT_FALSE(more.ok());
  EXPECT_THAT(more.status().message(), HasSubstr("bad.csv:2"));
  EXPECT_THAT(more.status().message(), HasSubstr("not closed"));
}

TEST(CsvReaderTest, TextAfterClosingQuoteIsAnError) {
  std::string path = testing::WriteTestFile("after.csv", "\"a\"b,c\n");
  auto csv = CsvReader::Open(path);
  ASSERT_TRUE(csv.ok());
  std::vector<std::string_view> fields;
  auto more = (*csv)->Next(&fields);
  ASSERT_FALSE(more.ok());
  EXPECT_THAT(more.status().message(), HasSubstr("after.csv:1"));
}

TEST(CsvReaderTest, MissingFileIsNotFound) {
  auto csv = CsvReader::Open("/nonexistent/empi/none.csv");
  EXPECT_EQ(csv.status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace empi::eval
