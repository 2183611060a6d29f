// Copyright EMPI developers.
#include "matchers/nhs_number.h"

#include "gtest/gtest.h"

namespace empi {
namespace {

TEST(NhsNumberTest, ValidNumber) {
  EXPECT_EQ(ParseNhsNumber("9434765919"), 9434765919u);
  EXPECT_EQ(ParseNhsNumber("943 476 5919"), 9434765919u);
  EXPECT_EQ(ParseNhsNumber("943-476-5919"), 9434765919u);
  EXPECT_EQ(NhsCheckDigit("943476591"), 9);
}

TEST(NhsNumberTest, WrongCheckDigit) {
  for (int d = 0; d <= 9; ++d) {
    if (d == 9) continue;
    std::string s = "943476591" + std::to_string(d);
    EXPECT_EQ(ParseNhsNumber(s), std::nullopt) << s;
  }
}

TEST(NhsNumberTest, CheckDigitTenAndEleven) {
  // 000000006: weighted sum 6 * 2 = 12, remainder 1, 11 - 1 = 10: no valid
  // number starts with these nine digits.
  EXPECT_EQ(NhsCheckDigit("000000006"), -1);
  for (int d = 0; d <= 9; ++d) {
    EXPECT_EQ(ParseNhsNumber("000000006" + std::to_string(d)), std::nullopt);
  }
  // 000001020: 1 * 5 + 2 * 3 = 11, remainder 0, 11 - 0 = 11, written as 0.
  EXPECT_EQ(NhsCheckDigit("000001020"), 0);
  EXPECT_EQ(ParseNhsNumber("0000010200"), 10200u);
  EXPECT_EQ(ParseNhsNumber("0000010201"), std::nullopt);
}

TEST(NhsNumberTest, Placeholders) {
  for (char c = '0'; c <= '9'; ++c) {
    EXPECT_EQ(ParseNhsNumber(std::string(10, c)), std::nullopt) << c;
  }
}

TEST(NhsNumberTest, RejectsMalformed) {
  for (const char* raw : {"", "943476591", "94347659190", "943476591X", "943.476.5919", "+9434765919"}) {
    EXPECT_EQ(ParseNhsNumber(raw), std::nullopt) << raw;
  }
}

TEST(NhsNumberTest, Format) {
  EXPECT_EQ(FormatNhsNumber(9434765919u), "9434765919");
  EXPECT_EQ(FormatNhsNumber(10200u), "0000010200");
}

}  // namespace
}  // namespace empi
