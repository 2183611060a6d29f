// Copyright EMPI developers.
#include "base/csv.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace empi {
namespace {

std::string Field(std::string_view v) {
  std::string out;
  AppendCsvField(v, &out);
  return out;
}

TEST(CsvTest, PlainFieldsAreNotQuoted) {
  EXPECT_EQ(Field(""), "");
  EXPECT_EQ(Field("Nowak"), "Nowak");
  EXPECT_EQ(Field("Siân O'Brien"), "Siân O'Brien");
}

TEST(CsvTest, CommasQuotesAndLineBreaksAreQuoted) {
  EXPECT_EQ(Field("12, High Street"), "\"12, High Street\"");
  EXPECT_EQ(Field("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(Field("a\nb"), "\"a\nb\"");
  EXPECT_EQ(Field("a\rb"), "\"a\rb\"");
}

TEST(CsvTest, AppendsToWhatIsThere) {
  std::string line = "x,";
  AppendCsvField("y,z", &line);
  EXPECT_EQ(line, "x,\"y,z\"");
}

// SplitCsvLines keeps its own rules for hand-written files (csv.h); these
// are the ones CsvScanner does not share.
TEST(CsvTest, SplitCsvLinesAnswersEachLineOnItsOwn) {
  constexpr char kText[] = "h1,h2\ra,\"open\r\n\"x\"y, b \n\n \nnul\0,z";
  const std::vector<CsvLine> rows = SplitCsvLines(std::string_view(kText, sizeof(kText) - 1));
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[1].line, 2u);
  EXPECT_EQ(rows[1].fields, (std::vector<std::string>{"a", "open"}));
  EXPECT_EQ(rows[2].fields, (std::vector<std::string>{"xy", " b "}));
  EXPECT_EQ(rows[3].line, 6u);
  EXPECT_TRUE(rows[3].has_nul);
  EXPECT_FALSE(rows[2].has_nul);
}

}  // namespace
}  // namespace empi
