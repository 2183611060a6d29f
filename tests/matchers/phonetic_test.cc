// Copyright EMPI developers.
#include "matchers/phonetic.h"

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
