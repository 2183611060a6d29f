// Copyright EMPI developers.
#include "matchers/name_normalizer.h"

#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "unicode/normalizer2.h"
#include "unicode/translit.h"
#include "unicode/unistr.h"

namespace empi {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::vector<std::string> Tokens(std::string_view s) { return NormalizeName(s).tokens; }

TEST(NameNormalizerTest, HeaderExample) {
  NormalizedName n = NormalizeName("Mrs Siân O'Brien-Jones");
  EXPECT_THAT(n.tokens, ElementsAre("sian", "obrien", "jones"));
  EXPECT_EQ(n.joined, "sianobrienjones");
}

TEST(NameNormalizerTest, Diacritics) {
  EXPECT_THAT(Tokens("Łukasz"), ElementsAre("lukasz"));
  EXPECT_THAT(Tokens("Zoë"), ElementsAre("zoe"));
  EXPECT_THAT(Tokens("Siân"), ElementsAre("sian"));
  EXPECT_THAT(Tokens("Małgorzata"), ElementsAre("malgorzata"));
  EXPECT_THAT(Tokens("Paweł"), ElementsAre("pawel"));
  EXPECT_THAT(Tokens("Strauß"), ElementsAre("strauss"));
  EXPECT_THAT(Tokens("José"), ElementsAre("jose"));
  EXPECT_THAT(Tokens("Björk"), ElementsAre("bjork"));
  EXPECT_THAT(Tokens("Søren"), ElementsAre("soren"));
  EXPECT_THAT(Tokens("ÆTHELRED"), ElementsAre("aethelred"));
  EXPECT_THAT(Tokens("Dvořák"), ElementsAre("dvorak"));
  // Decomposed input (e + combining acute) is composed by NFKC first.
  EXPECT_THAT(Tokens("Rene\xCC\x81"), ElementsAre("rene"));
  // Full-width Latin letters fold through NFKC.
  EXPECT_THAT(Tokens("\xEF\xBC\xA1\xEF\xBC\xAE\xEF\xBC\xAE"), ElementsAre("ann"));
}

TEST(NameNormalizerTest, NonLatinScripts) {
  EXPECT_THAT(Tokens("Иван"), ElementsAre("ivan"));
  EXPECT_THAT(Tokens("Ольга Петрова"), ElementsAre("olga", "petrova"));
  EXPECT_THAT(Tokens("Γιώργος"), ElementsAre("giorgos"));
  // Arabic script produces some Latin letters; exact romanisation is ICU's.
  EXPECT_FALSE(NormalizeName("محمد").empty());
}

TEST(NameNormalizerTest, ApostrophesJoinOtherPunctuationSplits) {
  EXPECT_THAT(Tokens("O'Brien"), ElementsAre("obrien"));
  EXPECT_THAT(Tokens("O’Brien"), ElementsAre("obrien"));  // typographic
  EXPECT_THAT(Tokens("D`Arcy"), ElementsAre("darcy"));
  EXPECT_THAT(Tokens("Smith-Jones"), ElementsAre("smith", "jones"));
  EXPECT_THAT(Tokens("Smith–Jones"), ElementsAre("smith", "jones"));  // en dash
  EXPECT_THAT(Tokens("  anne   marie "), ElementsAre("anne", "marie"));
  EXPECT_THAT(Tokens("St. John"), ElementsAre("st", "john"));
  EXPECT_THAT(Tokens("Jo3hn"), ElementsAre("jo", "hn"));
  EXPECT_EQ(NormalizeName("Smith-Jones").joined, "smithjones");
}

TEST(NameNormalizerTest, TitlesAndSuffixes) {
  EXPECT_THAT(Tokens("Dr John Smith"), ElementsAre("john", "smith"));
  EXPECT_THAT(Tokens("MR. JOHN SMITH JNR"), ElementsAre("john", "smith"));
  EXPECT_THAT(Tokens("Prof Sir James Watt III"), ElementsAre("james", "watt"));
  EXPECT_THAT(Tokens("Miss Ms Mx Rev Amy"), ElementsAre("amy"));
  EXPECT_THAT(Tokens("Robert Jones Sr"), ElementsAre("robert", "jones"));
  // A name that is itself a title word is kept when nothing else remains.
  EXPECT_THAT(Tokens("Lord"), ElementsAre("lord"));
  EXPECT_THAT(Tokens("Peter Lord"), ElementsAre("peter", "lord"));
  // Titles are leading only; suffixes trailing only.
  EXPECT_THAT(Tokens("Jr Smith"), ElementsAre("jr", "smith"));
}

TEST(NameNormalizerTest, Placeholders) {
  for (const char* s : {"UNKNOWN",      "Unk",       "NK",
                        "Not Known",    "not-known", "XXX",
                        "xx",           "X",         "Baby",
                        "BABY BOY",     "Infant",    "Test",
                        "Test Patient", "Patient",   "Unknown Patient",
                        "NFA",          "No Name",   "Anon",
                        "Anonymous",    "Unnamed",   "zzzz",
                        "Mr",           "",          "   ",
                        "123",          "-"}) {
    EXPECT_TRUE(NormalizeName(s).empty()) << s;
    EXPECT_TRUE(NormalizeName(s).joined.empty()) << s;
  }
  EXPECT_TRUE(IsPlaceholderName("unknown"));
  EXPECT_TRUE(IsPlaceholderName("notknown"));
  EXPECT_FALSE(IsPlaceholderName("ann"));
  EXPECT_FALSE(IsPlaceholderName("xi"));
  EXPECT_FALSE(NormalizeName("Baby Smith").empty());
  EXPECT_FALSE(NormalizeName("Testa").empty());
}

TEST(NameNormalizerTest, FoldToAscii) {
  EXPECT_EQ(FoldToAscii("12 Rue de l'Église, Saint-Étienne"), "12 rue de l'eglise, saint-etienne");
  EXPECT_EQ(FoldToAscii("Flat 3, HIGH St."), "flat 3, high st.");
  EXPECT_EQ(FoldToAscii("Straße"), "strasse");
}

TEST(NameNormalizerTest, ArbitraryBytesGiveOnlyLowerCaseTokens) {
  // Invalid UTF-8, control bytes and mixed scripts must never crash or leak
  // a non a-z byte into a token.
  std::mt19937_64 rng(11);
  std::uniform_int_distribution<int> len(0, 20), byte(1, 255);
  for (int n = 0; n < 3000; ++n) {
    std::string s;
    for (int i = len(rng); i > 0; --i) s.push_back(static_cast<char>(byte(rng)));
    NormalizedName name = NormalizeName(s);
    std::string joined;
    for (const std::string& t : name.tokens) {
      ASSERT_FALSE(t.empty());
      ASSERT_EQ(t.find_first_not_of("abcdefghijklmnopqrstuvwxyz"), std::string::npos);
      joined += t;
    }
    ASSERT_EQ(joined, name.joined);
    for (unsigned char c : FoldToAscii(s)) ASSERT_LT(c, 0x80);
  }
}

// The hand-written Latin fast path must give exactly what ICU's
// transliterator gives, letter by letter, across the Latin blocks.
TEST(NameNormalizerTest, LatinFastPathAgreesWithIcuTransliterator) {
  UErrorCode status = U_ZERO_ERROR;
  std::unique_ptr<icu::Transliterator> full(
      icu::Transliterator::createInstance("NFKC; Any-Latin; Latin-ASCII; Lower", UTRANS_FORWARD, status));
  ASSERT_TRUE(U_SUCCESS(status));
  const icu::Normalizer2* casefold = icu::Normalizer2::getNFKCCasefoldInstance(status);
  ASSERT_TRUE(U_SUCCESS(status));
  int checked = 0;
  for (UChar32 cp = 0xA0; cp < 0x1F00; ++cp) {
    if (cp == 0x250) cp = 0x1E00;  // skip to Latin Extended Additional
    icu::UnicodeString text("x");
    text.append(cp).append("y");
    icu::UnicodeString expected = casefold->normalize(text, status);
    ASSERT_TRUE(U_SUCCESS(status));
    full->transliterate(expected);
    std::string expected_utf8;
    expected.toUTF8String(expected_utf8);
    std::string input;
    text.toUTF8String(input);
    // FoldToAscii turns what ICU leaves non-ASCII into a space.
    std::string expected_ascii;
    bool in_non_ascii = false;
    for (unsigned char c : expected_utf8) {
      if (c < 0x80) {
        expected_ascii.push_back(static_cast<char>(c));
        in_non_ascii = false;
      } else if (!in_non_ascii) {
        expected_ascii.push_back(' ');
        in_non_ascii = true;
      }
    }
    // Spacing accents (U+00A8 ...) become a space plus a combining mark,
    // which the two paths render as one or two spaces: same tokens.
    auto squeeze = [](std::string v) {
      v.erase(std::unique(v.begin(), v.end(), [](char a, char b) { return a == ' ' && b == ' '; }), v.end());
      return v;
    };
    EXPECT_EQ(squeeze(FoldToAscii(input)), squeeze(expected_ascii)) << "U+" << std::hex << cp;
    ++checked;
  }
  EXPECT_GT(checked, 600);
}

TEST(NameNormalizerTest, ThreadsEachGetTheirOwnTransliterator) {
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([t, &failures] {
      for (int i = 0; i < 300; ++i) {
        if (NormalizeName("Łukasz Wróbel").joined != "lukaszwrobel") ++failures[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_THAT(failures, ElementsAre(0, 0, 0, 0));
}

}  // namespace
}  // namespace empi
