// Copyright EMPI developers.
#include "matchers/name_equivalence.h"

#include <algorithm>
#include <random>
#include <string>
#include <vector>

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

// Levenshtein distance with adjacent transpositions (optimal string
// alignment), the whole table: the reference for "one keying slip".
int NaiveSlips(const std::string& a, const std::string& b) {
  std::vector<std::vector<int>> d(a.size() + 1, std::vector<int>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = static_cast<int>(i);
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = static_cast<int>(j);
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

TEST(NameEquivalenceTest, MisspeltEquivalentAllowsOneSlipOnAnUnknownName) {
  absl::StatusOr<NameEquivalence> eq = NameEquivalence::Parse(
      "harold,harry,hal\n"
      "mary,molly,polly\n"
      "mark,marc\n");
  ASSERT_TRUE(eq.ok()) << eq.status();
  EXPECT_TRUE(eq->MisspeltEquivalent("haroold", "harry"));    // a letter added
  EXPECT_TRUE(eq->MisspeltEquivalent("harry", "harols"));     // replaced
  EXPECT_TRUE(eq->MisspeltEquivalent("hraold", "harry"));     // two swapped
  EXPECT_TRUE(eq->MisspeltEquivalent("harod", "harry"));      // dropped
  EXPECT_TRUE(eq->MisspeltEquivalent("harrold", "hal"));      // the slip is on the long name
  EXPECT_FALSE(eq->MisspeltEquivalent("hak", "harry"));       // "hak" is too short to be a slip
  EXPECT_FALSE(eq->MisspeltEquivalent("haarolld", "harry"));  // two slips
  EXPECT_FALSE(eq->MisspeltEquivalent("mark", "molly"));      // a name, not "mary" mistyped
  EXPECT_FALSE(eq->MisspeltEquivalent("marx", "harry"));      // a slip of nothing in harry's group
  // Misspelt: one slip apart, at least one of them unknown to the table.
  EXPECT_TRUE(eq->Misspelt("dabid", "david"));
  EXPECT_TRUE(eq->Misspelt("david", "dabid"));
  EXPECT_FALSE(eq->Misspelt("mary", "mark"));   // both names
  EXPECT_FALSE(eq->Misspelt("dabd", "david"));  // two slips
  EXPECT_TRUE(eq->Misspelt("davd", "david"));
  EXPECT_FALSE(eq->Misspelt("tom", "tim"));  // too short
}

TEST(NameEquivalenceTest, SlipsAgreeWithANaiveEditDistanceOnRandomNames) {
  absl::StatusOr<NameEquivalence> eq = NameEquivalence::Parse("alpha,beta\n");
  ASSERT_TRUE(eq.ok()) << eq.status();
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> letter('a', 'd'), length(4, 7), edit(0, 4);
  int slips = 0;
  for (int n = 0; n < 20000; ++n) {
    std::string a;
    for (int i = length(rng); i > 0; --i) a.push_back(static_cast<char>(letter(rng)));
    std::string b = a;
    // Zero to three random edits, so pairs one slip apart are common.
    for (int e = edit(rng) % 4; e > 0 && !b.empty(); --e) {
      size_t at = std::uniform_int_distribution<size_t>(0, b.size() - 1)(rng);
      switch (edit(rng)) {
        case 0: b[at] = static_cast<char>(letter(rng)); break;
        case 1: b.insert(b.begin() + static_cast<std::ptrdiff_t>(at), static_cast<char>(letter(rng))); break;
        case 2: b.erase(at, 1); break;
        default:
          if (at + 1 < b.size()) std::swap(b[at], b[at + 1]);
      }
    }
    const bool expected = a.size() >= 4 && b.size() >= 4 && NaiveSlips(a, b) <= 1;
    ASSERT_EQ(eq->Misspelt(a, b), expected) << a << " / " << b;
    ASSERT_EQ(eq->Misspelt(b, a), expected) << a << " / " << b;
    slips += expected && a != b;
  }
  EXPECT_GT(slips, 2000);
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
