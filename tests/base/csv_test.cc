// Copyright EMPI developers.
#include "base/csv.h"

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

}  // namespace
}  // namespace empi
