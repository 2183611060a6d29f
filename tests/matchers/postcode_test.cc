// Copyright EMPI developers.
#include "matchers/postcode.h"

#include "gtest/gtest.h"

namespace empi {
namespace {

TEST(PostcodeTest, Decomposes) {
  std::optional<Postcode> p = ParsePostcode("CV1 2AB");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->area, "CV");
  EXPECT_EQ(p->district, "CV1");
  EXPECT_EQ(p->sector, "CV1 2");
  EXPECT_EQ(p->unit, "CV1 2AB");
}

TEST(PostcodeTest, AcceptsAnyCaseAndSpacing) {
  for (const char* raw : {"cv12ab", "CV12AB", "cv1 2ab", "  CV1   2AB ", "Cv1\t2aB"}) {
    std::optional<Postcode> p = ParsePostcode(raw);
    ASSERT_TRUE(p.has_value()) << raw;
    EXPECT_EQ(p->unit, "CV1 2AB") << raw;
  }
}

TEST(PostcodeTest, AllOutwardFormats) {
  struct Case {
    const char* raw;
    const char* area;
    const char* district;
  };
  for (const Case& c : {Case{"M1 1AE", "M", "M1"}, Case{"B33 8TH", "B", "B33"}, Case{"CR2 6XH", "CR", "CR2"},
                        Case{"DN55 1PT", "DN", "DN55"}, Case{"W1A 0AX", "W", "W1A"}, Case{"EC1A 1BB", "EC", "EC1A"},
                        Case{"GIR 0AA", "GIR", "GIR"}}) {
    std::optional<Postcode> p = ParsePostcode(c.raw);
    ASSERT_TRUE(p.has_value()) << c.raw;
    EXPECT_EQ(p->area, c.area) << c.raw;
    EXPECT_EQ(p->district, c.district) << c.raw;
  }
}

TEST(PostcodeTest, RejectsInvalid) {
  for (const char* raw : {"", "   ", "CV1", "CV1 2A", "1V1 2AB", "CV1 AAB", "CV1 2A1",
                          "QA1 1AA",   // Q never first
                          "AJ1 1AA",   // J never second
                          "A1L 1AA",   // L not allowed third (A9A)
                          "AB1C 1AA",  // C not allowed fourth (AA9A)
                          "CV1 2CB",   // C never in the inward code
                          "CV1 2AO",   // O never in the inward code
                          "CV123 2AB", "CV1 2ABC", "CV1-2AB", "GIR 1AA"}) {
    bool placeholder = true;
    EXPECT_FALSE(ParsePostcode(raw, &placeholder).has_value()) << raw;
    EXPECT_FALSE(placeholder) << raw;
  }
}

TEST(PostcodeTest, Zz99IsPlaceholder) {
  for (const char* raw : {"ZZ99 3VZ", "ZZ993WZ", "zz99 3cz", "ZZ99 3GZ"}) {
    bool placeholder = false;
    EXPECT_FALSE(ParsePostcode(raw, &placeholder).has_value()) << raw;
    EXPECT_TRUE(placeholder) << raw;
  }
  EXPECT_FALSE(ParsePostcode("ZZ99 3VZ").has_value());  // null out-param is fine
}

}  // namespace
}  // namespace empi
