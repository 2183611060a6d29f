// Copyright EMPI developers.
#include "matchers/phonetic.h"

#include <random>

#include "gtest/gtest.h"

namespace empi {
namespace {

void ExpectDm(std::string_view name, std::string_view primary, std::string_view alternate) {
  DoubleMetaphoneKeys k = DoubleMetaphone(name);
  EXPECT_EQ(k.primary, primary) << name;
  EXPECT_EQ(k.alternate, alternate) << name;
}

TEST(DoubleMetaphoneTest, KnownCodes) {
  ExpectDm("smith", "SM0", "XMT");
  ExpectDm("schmidt", "XMT", "SMT");
  // Philips keeps the P (no "MPS" rule), so not "TMSN" as sometimes quoted.
  ExpectDm("thompson", "TMPS", "TMPS");
  ExpectDm("jones", "JNS", "ANS");
  ExpectDm("gough", "KF", "KF");
  ExpectDm("knight", "NT", "NT");
  ExpectDm("catherine", "K0RN", "KTRN");
  ExpectDm("kathryn", "K0RN", "KTRN");
  ExpectDm("michael", "MKL", "MXL");
  ExpectDm("william", "ALM", "FLM");
  ExpectDm("xavier", "SF", "SFR");
  ExpectDm("jose", "HS", "HS");
  ExpectDm("caesar", "SSR", "SSR");
  ExpectDm("edge", "AJ", "AJ");
  ExpectDm("hugh", "H", "H");
  ExpectDm("laugh", "LF", "LF");
  ExpectDm("wright", "RT", "RT");
  ExpectDm("psychology", "SXLJ", "SKLK");
  ExpectDm("filipowicz", "FLPT", "FLPF");
  ExpectDm("zhao", "J", "J");
  ExpectDm("mcclelland", "MKLL", "MKLL");
  ExpectDm("bacchus", "PKS", "PKS");
  ExpectDm("accident", "AKST", "AKST");
  ExpectDm("gallegos", "KLKS", "KKS");
}

TEST(DoubleMetaphoneTest, LengthLimitAndEmpty) {
  EXPECT_EQ(DoubleMetaphone("").primary, "");
  EXPECT_EQ(DoubleMetaphone("montgomery").primary.size(), 4u);
  EXPECT_EQ(DoubleMetaphone("montgomery", 8).primary, "MNTKMR");
}

TEST(PhoneticTest, ArbitraryInputIsSafeAndBounded) {
  // Every rule peeks before and after the current letter; random strings
  // (with spaces, which some rules look for) exercise the edges, under ASan
  // in CI.
  std::mt19937_64 rng(5);
  std::uniform_int_distribution<int> len(0, 14), ch(0, 27);
  for (int n = 0; n < 20000; ++n) {
    std::string s;
    for (int i = len(rng); i > 0; --i) {
      int c = ch(rng);
      s.push_back(c < 26 ? static_cast<char>('a' + c) : (c == 26 ? ' ' : '-'));
    }
    DoubleMetaphoneKeys k = DoubleMetaphone(s);
    ASSERT_LE(k.primary.size(), 4u) << s;
    ASSERT_LE(k.alternate.size(), 4u) << s;
    std::string sx = Soundex(s);
    ASSERT_TRUE(sx.empty() || sx.size() == 4u) << s;
    std::string ny = Nysiis(s);
    ASSERT_EQ(ny.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ"), std::string::npos) << s;
  }
}

TEST(NysiisTest, KnownCodes) {
  EXPECT_EQ(Nysiis("knight"), "NAGT");
  EXPECT_EQ(Nysiis("macintosh"), "MCANT");
  EXPECT_EQ(Nysiis("brown"), "BRAN");
  EXPECT_EQ(Nysiis("browne"), "BRAN");
  EXPECT_EQ(Nysiis("johnson"), "JANSAN");
  EXPECT_EQ(Nysiis("williams"), "WALAN");
  EXPECT_EQ(Nysiis("phillips"), "FALAP");
  EXPECT_EQ(Nysiis("schmidt"), "SNAD");
  EXPECT_EQ(Nysiis("mitchell"), "MATCAL");
  EXPECT_EQ(Nysiis(""), "");
}

TEST(SoundexTest, KnownCodes) {
  EXPECT_EQ(Soundex("robert"), "R163");
  EXPECT_EQ(Soundex("rupert"), "R163");
  EXPECT_EQ(Soundex("ashcraft"), "A261");
  EXPECT_EQ(Soundex("ashcroft"), "A261");
  EXPECT_EQ(Soundex("tymczak"), "T522");
  EXPECT_EQ(Soundex("pfister"), "P236");
  EXPECT_EQ(Soundex("honeyman"), "H555");
  EXPECT_EQ(Soundex("lee"), "L000");
  EXPECT_EQ(Soundex(""), "");
}

}  // namespace
}  // namespace empi
