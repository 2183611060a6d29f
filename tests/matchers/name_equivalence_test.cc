// Copyright EMPI developers.
#include "matchers/name_equivalence.h"

#include <string>

#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "matchers/name_normalizer.h"

namespace empi::embedded {
extern const std::string_view kGivenNameEquivalents;
}  // namespace empi::embedded

namespace empi {
namespace {

TEST(NameEquivalenceTest, ParseGroupsAndOverlaps) {
  absl::StatusOr<NameEquivalence> eq = NameEquivalence::Parse(
      "# comment\n"
      "alexander,alex,sandy\n"
      "\n"
      "  alexandra , alex,sasha\r\n");
  ASSERT_TRUE(eq.ok()) << eq.status();
  EXPECT_TRUE(eq->Equivalent("alex", "alexander"));
  EXPECT_TRUE(eq->Equivalent("alexandra", "alex"));
  EXPECT_TRUE(eq->Equivalent("sasha", "alexandra"));
  EXPECT_FALSE(eq->Equivalent("alexander", "alexandra"));  // not transitive
  EXPECT_FALSE(eq->Equivalent("sandy", "sasha"));
  EXPECT_TRUE(eq->Equivalent("zed", "zed"));
  EXPECT_EQ(eq->GroupsOf("alex"), (std::vector<uint32_t>{1, 2}));
  EXPECT_TRUE(eq->GroupsOf("zed").empty());
  EXPECT_EQ(eq->CanonicalGroup("alexandra"), 2u);
  EXPECT_EQ(eq->CanonicalGroup("alex"), 1u);
  EXPECT_EQ(eq->CanonicalGroup("zed"), 0u);
}

TEST(NameEquivalenceTest, ParseErrorsNameTheLine) {
  absl::StatusOr<NameEquivalence> eq = NameEquivalence::Parse("bill,william\nZoë,zoe\n");
  ASSERT_FALSE(eq.ok());
  EXPECT_NE(eq.status().message().find("line 2"), std::string::npos) << eq.status();
  eq = NameEquivalence::Parse("bill,william\n# c\nlonely\n");
  ASSERT_FALSE(eq.ok());
  EXPECT_NE(eq.status().message().find("line 3"), std::string::npos) << eq.status();
}

TEST(NameEquivalenceTest, DefaultTableCoversTheBrief) {
  const NameEquivalence& eq = NameEquivalence::Default();
  const std::pair<const char*, const char*> kPairs[] = {
      {"bill", "william"},      {"liam", "william"},
      {"bob", "robert"},        {"bert", "robert"},
      {"peggy", "margaret"},    {"greta", "margaret"},
      {"betty", "elizabeth"},   {"elspeth", "elizabeth"},
      {"kathryn", "catherine"}, {"kitty", "katherine"},
      {"jim", "james"},         {"jack", "john"},
      {"dick", "richard"},      {"ted", "edward"},
      {"ned", "edward"},        {"dafydd", "david"},
      {"dai", "dafydd"},        {"sian", "jane"},
      {"ieuan", "evan"},        {"gwilym", "william"},
      {"rees", "rhys"},         {"reece", "rhys"},
      {"sean", "john"},         {"shaun", "shawn"},
      {"siobhan", "joan"},      {"padraig", "patrick"},
      {"paddy", "patrick"},     {"seamus", "james"},
      {"aoife", "eva"},         {"mohammed", "muhammad"},
      {"mohd", "mohamed"},      {"muhammed", "mohammad"},
      {"ahmed", "ahmad"},       {"hussain", "hussein"},
      {"husain", "hussain"},    {"mahmood", "mahmud"},
      {"gurpreet", "gurprit"},  {"harjit", "harjeet"},
      {"rajinder", "rajindar"}, {"aleksander", "alexander"},
      {"olek", "aleksander"},   {"wojciech", "albert"},
      {"katarzyna", "kasia"},   {"katarzyna", "catherine"},
      {"malgorzata", "gosia"},  {"malgorzata", "margaret"},
      {"piotr", "peter"},       {"pawel", "paul"},
      {"jan", "john"},          {"krzysztof", "christopher"},
      {"krzys", "krzysztof"},   {"tomasz", "thomas"},
      {"lukasz", "luke"},       {"agnieszka", "agnes"},
      {"joanna", "asia"},       {"andrzej", "andrew"},
      {"michal", "michael"},    {"yusuf", "yousef"},
      {"yusuf", "joseph"},      {"ibrahim", "abraham"},
  };
  for (const auto& [a, b] : kPairs) {
    EXPECT_TRUE(eq.Equivalent(a, b)) << a << " / " << b;
    EXPECT_TRUE(eq.Equivalent(b, a)) << a << " / " << b;
    EXPECT_NE(eq.CanonicalGroup(a), 0u) << a;
  }
}

TEST(NameEquivalenceTest, DefaultTableKeepsDistinctNamesApart) {
  // Pairs that a careless table would merge: different people in one family.
  const NameEquivalence& eq = NameEquivalence::Default();
  const std::pair<const char*, const char*> kPairs[] = {
      {"john", "james"},      {"john", "ian"},       {"emma", "emily"},      {"laura", "lauren"},
      {"jane", "joan"},       {"mary", "miriam"},    {"ann", "hannah"},      {"andrew", "andrea"},
      {"nicholas", "nicola"}, {"robert", "robin"},   {"william", "robert"},  {"mohammed", "ahmed"},
      {"zara", "sarah"},      {"gary", "gareth"},    {"michael", "mikolaj"}, {"evan", "john"},
      {"sian", "janet"},      {"callum", "malcolm"}, {"jean", "john"},       {"owen", "john"},
      {"henry", "harrison"},
  };
  for (const auto& [a, b] : kPairs) {
    EXPECT_FALSE(eq.Equivalent(a, b)) << a << " / " << b;
  }
}

TEST(NameEquivalenceTest, ShippedFileIsNormalisedAndSubstantial) {
  int groups = 0;
  for (absl::string_view line : absl::StrSplit(
           absl::string_view(embedded::kGivenNameEquivalents.data(), embedded::kGivenNameEquivalents.size()), '\n')) {
    if (line.empty() || line.front() == '#') continue;
    ++groups;
    for (absl::string_view name : absl::StrSplit(line, ',')) {
      std::string n(name);
      // Every entry must be a fixed point of NormalizeName, or it could
      // never be looked up.
      EXPECT_EQ(NormalizeName(n).joined, n) << "line: " << std::string(line);
    }
  }
  EXPECT_GE(groups, 400);
}

}  // namespace
}  // namespace empi
