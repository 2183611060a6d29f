// Copyright EMPI developers.
#include "matchers/date_of_birth.h"

#include <string_view>
#include <vector>

#include "gtest/gtest.h"

namespace empi {
namespace {

std::optional<DateFormat> Detect(std::vector<std::string_view> samples) { return DetectDateFormat(samples); }

TEST(DateOfBirthTest, FormatNames) {
  for (DateFormat f : {DateFormat::kAuto, DateFormat::kIso, DateFormat::kDmySlash, DateFormat::kCompact}) {
    EXPECT_EQ(DateFormatFromName(DateFormatName(f)), f);
  }
  EXPECT_EQ(DateFormatFromName("dd-mm-yyyy"), std::nullopt);
}

TEST(DateOfBirthTest, ParsesEachFormat) {
  EXPECT_EQ(ParseDate("1984-03-07", DateFormat::kIso), 19840307);
  EXPECT_EQ(ParseDate("07/03/1984", DateFormat::kDmySlash), 19840307);
  EXPECT_EQ(ParseDate("7/3/1984", DateFormat::kDmySlash), 19840307);
  EXPECT_EQ(ParseDate("19840307", DateFormat::kCompact), 19840307);
  EXPECT_EQ(ParseDate(" 1984-03-07 ", DateFormat::kIso), 19840307);
}

TEST(DateOfBirthTest, RejectsWrongFormatAndImpossibleDays) {
  EXPECT_EQ(ParseDate("1984-03-07", DateFormat::kDmySlash), std::nullopt);
  EXPECT_EQ(ParseDate("07/03/1984", DateFormat::kIso), std::nullopt);
  EXPECT_EQ(ParseDate("1984-3-7", DateFormat::kIso), std::nullopt);
  EXPECT_EQ(ParseDate("1984030", DateFormat::kCompact), std::nullopt);
  EXPECT_EQ(ParseDate("198403071", DateFormat::kCompact), std::nullopt);
  EXPECT_EQ(ParseDate("1984-13-01", DateFormat::kIso), std::nullopt);
  EXPECT_EQ(ParseDate("1984-04-31", DateFormat::kIso), std::nullopt);
  EXPECT_EQ(ParseDate("1984-00-10", DateFormat::kIso), std::nullopt);
  EXPECT_EQ(ParseDate("1984-01-00", DateFormat::kIso), std::nullopt);
  EXPECT_EQ(ParseDate("", DateFormat::kIso), std::nullopt);
  EXPECT_EQ(ParseDate("1984-03-07", DateFormat::kAuto), std::nullopt);
  EXPECT_EQ(ParseDate("1984-03-07x", DateFormat::kIso), std::nullopt);
}

TEST(DateOfBirthTest, LeapYears) {
  EXPECT_EQ(ParseDate("2000-02-29", DateFormat::kIso), 20000229);      // /400
  EXPECT_EQ(ParseDate("1984-02-29", DateFormat::kIso), 19840229);      // /4
  EXPECT_EQ(ParseDate("1900-02-29", DateFormat::kIso), std::nullopt);  // /100
  EXPECT_EQ(ParseDate("1983-02-29", DateFormat::kIso), std::nullopt);
  EXPECT_EQ(ParseDate("29/02/2100", DateFormat::kDmySlash), std::nullopt);
}

TEST(DateOfBirthTest, Detect) {
  EXPECT_EQ(Detect({"1984-03-07", "", "2001-12-31"}), DateFormat::kIso);
  EXPECT_EQ(Detect({"07/03/1984", "31/12/2001"}), DateFormat::kDmySlash);
  EXPECT_EQ(Detect({"19840307", "  ", "20011231"}), DateFormat::kCompact);
  EXPECT_EQ(Detect({"1984-03-07", "07/03/1984"}), std::nullopt);  // mixed
  EXPECT_EQ(Detect({"19840307", "1984-03-07"}), std::nullopt);    // mixed
  EXPECT_EQ(Detect({"March 7th", "n/a"}), std::nullopt);          // none
  EXPECT_EQ(Detect({}), std::nullopt);
  EXPECT_EQ(Detect({"", ""}), std::nullopt);
}

TEST(DateOfBirthTest, FormatIso) {
  EXPECT_EQ(FormatIsoDate(19840307), "1984-03-07");
  EXPECT_EQ(FormatIsoDate(10101), "0001-01-01");
}

TEST(DateOfBirthTest, Placeholders) {
  for (int32_t d : {19000101, 18000101, 19010101, 18991231, 99991231, 10101, 18791231, 30000101}) {
    EXPECT_TRUE(IsPlaceholderDate(d)) << d;
  }
  for (int32_t d : {18800101, 19000102, 19840307, 20000229}) {
    EXPECT_FALSE(IsPlaceholderDate(d)) << d;
  }
}

TEST(DateOfBirthTest, ImpossibleDatesAreReadByTheirShape) {
  EXPECT_EQ(ParseImpossibleDate("1971-13-19"), 19711319);
  EXPECT_EQ(ParseImpossibleDate("19402704"), 19402704);
  EXPECT_EQ(ParseImpossibleDate("31/02/1984"), 19840231);
  EXPECT_EQ(ParseImpossibleDate(" 29/02/1983 "), 19830229);
  EXPECT_EQ(ParseImpossibleDate("1984-03-07"), std::nullopt);  // a real day
  EXPECT_EQ(ParseImpossibleDate("29/02/1984"), std::nullopt);  // a leap day
  EXPECT_EQ(ParseImpossibleDate("1971-00-19"), std::nullopt);  // month unknown
  EXPECT_EQ(ParseImpossibleDate("1971-13-00"), std::nullopt);
  EXPECT_EQ(ParseImpossibleDate("1871-13-19"), std::nullopt);  // before 1880
  EXPECT_EQ(ParseImpossibleDate("2999-13-19"), std::nullopt);  // after this year
  EXPECT_EQ(ParseImpossibleDate("1971-13-19x"), std::nullopt);
  EXPECT_EQ(ParseImpossibleDate("13/19"), std::nullopt);
  EXPECT_EQ(ParseImpossibleDate(""), std::nullopt);
  EXPECT_EQ(ParseImpossibleDate("unknown"), std::nullopt);
}

}  // namespace
}  // namespace empi
