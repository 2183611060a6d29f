// Copyright EMPI developers.
#include "engine/linkage/blocking.h"

#include <map>
#include <set>
#include <utility>
#include <vector>

#include "engine/linkage/comparisons.h"
#include "gtest/gtest.h"
#include "tests/engine/linkage/linkage_test_util.h"

namespace empi {
namespace {

using testing_linkage::RecordGenerator;
using PairSet = std::set<std::pair<uint32_t, uint32_t>>;

std::vector<PreparedRecord> Population(RecordGenerator& gen, int persons) {
  std::vector<PreparedRecord> out;
  for (int p = 0; p < persons; ++p) {
    Record truth = gen.Person();
    out.push_back(PrepareRecord(truth, {}));
    int copies = gen.Uniform(0, 3);
    for (int k = 0; k < copies; ++k) out.push_back(PrepareRecord(gen.Noisy(truth), {}));
  }
  return out;
}

// All pairs i < j, not both stored, sharing a non-zero key of some rule
// whose block holds at most max_block records.
PairSet NaiveCandidates(const std::vector<BlockKeys>& keys, const std::vector<bool>& stored, size_t n_rules,
                        size_t max_block) {
  std::vector<std::map<uint64_t, size_t>> block_size(n_rules);
  for (const BlockKeys& k : keys)
    for (size_t r = 0; r < n_rules; ++r)
      if (k[r] != 0) ++block_size[r][k[r]];
  PairSet out;
  for (uint32_t i = 0; i < keys.size(); ++i) {
    for (uint32_t j = i + 1; j < keys.size(); ++j) {
      if (stored[i] && stored[j]) continue;
      for (size_t r = 0; r < n_rules; ++r) {
        if (keys[i][r] != 0 && keys[i][r] == keys[j][r] && block_size[r][keys[i][r]] <= max_block) {
          out.insert({i, j});
          break;
        }
      }
    }
  }
  return out;
}

TEST(BlockingTest, RuleNames) {
  BlockingRules d = BlockingRules::Default();
  EXPECT_EQ(d.rules().size(), BlockingRules::All().size());
  EXPECT_LE(d.rules().size(), static_cast<size_t>(kMaxBlockingRules));
  auto two = BlockingRules::FromNames("dob_postcode,nhs_number");
  ASSERT_TRUE(two.ok()) << two.status();
  EXPECT_EQ(two->Names(), "dob_postcode,nhs_number");
  auto bad = BlockingRules::FromNames("nhs_number,no_such_rule");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("no_such_rule"), std::string::npos);
  EXPECT_FALSE(BlockingRules::FromNames("").ok());
  std::set<int> ids;
  for (const BlockingRule& r : BlockingRules::All()) EXPECT_TRUE(ids.insert(r.id).second) << r.name;
}

TEST(BlockingTest, SwappedNamesShareNameKeys) {
  Record a;
  a.family_name = "Smith";
  a.given_names = "John";
  a.date_of_birth = "1984-03-07";
  a.postcode = "CV1 2AB";
  Record b = a;
  std::swap(b.family_name, b.given_names);
  BlockingRules rules = *BlockingRules::FromNames("names_phonetic_birth_year,names_phonetic_postcode_sector");
  BlockKeys ka = ComputeBlockKeys(rules, PrepareRecord(a, {}));
  BlockKeys kb = ComputeBlockKeys(rules, PrepareRecord(b, {}));
  EXPECT_NE(ka[0], 0u);
  EXPECT_EQ(ka[0], kb[0]);
  EXPECT_EQ(ka[1], kb[1]);
  // A missing field means no key, never a shared "empty" block.
  Record empty;
  EXPECT_EQ(ComputeBlockKeys(BlockingRules::Default(), PrepareRecord(empty, {})), BlockKeys{});
}

// A duplicate with two fields wrong at once still meets its original: a
// replaced family name and a mistyped date share the given name and
// postcode; a mistyped postcode and a missing date share the names and the
// house number.
TEST(BlockingTest, AddressRulesSurviveTwoErrors) {
  Record a;
  a.family_name = "Bradshaw";
  a.given_names = "Madeline";
  a.date_of_birth = "1919-09-15";
  a.postcode = "CV1 2AB";
  a.address = "22 Saywell Place, Coventry";
  Record married = a;
  married.family_name = "Jeffries";
  married.date_of_birth = "1981-02-22";
  Record moved_digit = a;
  moved_digit.postcode = "CV1 2BA";
  moved_digit.date_of_birth = "";
  BlockingRules rules =
      *BlockingRules::FromNames("given_phonetic_postcode,family_phonetic_postcode,names_phonetic_house_number");
  BlockKeys k = ComputeBlockKeys(rules, PrepareRecord(a, {}));
  BlockKeys km = ComputeBlockKeys(rules, PrepareRecord(married, {}));
  BlockKeys kd = ComputeBlockKeys(rules, PrepareRecord(moved_digit, {}));
  EXPECT_NE(k[0], 0u);
  EXPECT_EQ(k[0], km[0]);  // given name and postcode
  EXPECT_NE(k[1], km[1]);  // the family name changed
  EXPECT_NE(k[2], km[2]);
  EXPECT_NE(k[0], kd[0]);  // the postcode changed
  EXPECT_NE(k[2], 0u);
  EXPECT_EQ(k[2], kd[2]);  // names and house number
  // No house number, no key: "Flat" or a house name is not a number.
  Record no_number = a;
  no_number.address = "Rose Cottage, Mill Lane";
  EXPECT_EQ(ComputeBlockKeys(rules, PrepareRecord(no_number, {}))[2], 0u);
}

// Both names misspelt past their sound and the postcode mistyped or
// missing: no rule keyed on a phonetic name or a postcode meets the
// original, the date with the initials or the address with the given
// name's initial does.
TEST(BlockingTest, InitialRulesReachBothNamesMisspelt) {
  Record a;
  a.family_name = "Ford";
  a.given_names = "Shirley";
  a.date_of_birth = "2002-02-13";
  a.postcode = "CV4 6NS";
  a.address = "83 New Road, Coventry";
  Record slips = a;
  slips.family_name = "Fotd";
  slips.given_names = "Shirlet";
  slips.postcode = "CV4 6NA";
  Record swapped = slips;
  std::swap(swapped.family_name, swapped.given_names);
  swapped.postcode = "";
  Record moved = slips;
  moved.address = "4 Mill Lane, Rugby";
  BlockingRules phonetic = *BlockingRules::FromNames(
      "dob_family_phonetic,dob_postcode,names_phonetic_birth_year,dob_given_phonetic,family_phonetic_postcode");
  BlockKeys k = ComputeBlockKeys(phonetic, PrepareRecord(a, {}));
  BlockKeys ks = ComputeBlockKeys(phonetic, PrepareRecord(slips, {}));
  for (size_t r = 0; r < phonetic.rules().size(); ++r) EXPECT_NE(k[r], ks[r]) << phonetic.rules()[r].name;

  BlockingRules rules = *BlockingRules::FromNames("dob_name_initials,address_given_initial");
  BlockKeys ki = ComputeBlockKeys(rules, PrepareRecord(a, {}));
  EXPECT_NE(ki[0], 0u);
  EXPECT_EQ(ki, ComputeBlockKeys(rules, PrepareRecord(slips, {})));
  BlockKeys kw = ComputeBlockKeys(rules, PrepareRecord(swapped, {}));
  EXPECT_EQ(ki[0], kw[0]);  // the initials in either order
  EXPECT_NE(ki[1], kw[1]);  // the given-name field now holds "Fotd"
  BlockKeys km = ComputeBlockKeys(rules, PrepareRecord(moved, {}));
  EXPECT_EQ(ki[0], km[0]);
  EXPECT_NE(ki[1], km[1]);
  // Another person born that day with other initials, or a relative at
  // the address with another given name, is not in the block.
  Record other = a;
  other.family_name = "Hart";
  other.given_names = "Gemma";
  BlockKeys ko = ComputeBlockKeys(rules, PrepareRecord(other, {}));
  EXPECT_NE(ki[0], ko[0]);
  EXPECT_NE(ki[1], ko[1]);
  // No date, no address: no key.
  Record bare = a;
  bare.date_of_birth = "";
  bare.address = "";
  EXPECT_EQ(ComputeBlockKeys(rules, PrepareRecord(bare, {})), BlockKeys{});
}

// GenerateCandidates against the naive definition on random data sets,
// with random stored flags, rule subsets and block caps.
TEST(BlockingTest, MatchesNaiveCandidatesOnRandomData) {
  RecordGenerator gen(99);
  const std::vector<std::string> rule_sets = {"", "nhs_number", "dob_postcode,names_phonetic_birth_year",
                                              "names_phonetic_postcode_sector,dob_given_phonetic,dob_family_phonetic"};
  uint64_t total_pairs = 0, total_oversized = 0, total_stored_skips = 0;
  for (int trial = 0; trial < 60; ++trial) {
    std::vector<PreparedRecord> recs = Population(gen, gen.Uniform(20, 80));
    const std::string& names = rule_sets[trial % rule_sets.size()];
    BlockingRules rules = names.empty() ? BlockingRules::Default() : *BlockingRules::FromNames(names);
    std::vector<BlockKeys> keys;
    for (const PreparedRecord& r : recs) keys.push_back(ComputeBlockKeys(rules, r));
    std::vector<bool> stored(recs.size());
    for (size_t i = 0; i < recs.size(); ++i) stored[i] = gen.Chance(trial % 2 ? 0.5 : 0.0);
    size_t max_block = static_cast<size_t>(gen.Uniform(2, 6));

    BlockingReport report;
    std::vector<CandidatePair> got = GenerateCandidates(recs, keys, stored, rules, max_block, &report);
    PairSet got_set;
    for (const CandidatePair& c : got) {
      ASSERT_LT(c.a, c.b);
      EXPECT_TRUE(got_set.insert({c.a, c.b}).second) << "pair generated twice: " << c.a << "," << c.b;
      EXPECT_FALSE(stored[c.a] && stored[c.b]);
      EXPECT_EQ(c.pattern, ComparePair(recs[c.a], recs[c.b]));
    }
    PairSet want = NaiveCandidates(keys, stored, rules.rules().size(), max_block);
    EXPECT_EQ(got_set, want) << "trial " << trial << " rules " << rules.Names() << " cap " << max_block;
    PairSet unstored = NaiveCandidates(keys, std::vector<bool>(recs.size(), false), rules.rules().size(), max_block);
    total_stored_skips += unstored.size() - want.size();

    // The report: pairs per rule sum to the total; oversized blocks as
    // counted directly.
    ASSERT_EQ(report.rules.size(), rules.rules().size());
    uint64_t sum = 0;
    for (size_t r = 0; r < rules.rules().size(); ++r) {
      EXPECT_EQ(report.rules[r].name, rules.rules()[r].name);
      sum += report.rules[r].pairs;
      std::map<uint64_t, uint64_t> sizes;
      for (const BlockKeys& k : keys)
        if (k[r] != 0) ++sizes[k[r]];
      uint64_t oversized = 0, oversized_records = 0, largest = 0;
      for (const auto& [key, size] : sizes) {
        if (size >= 2) largest = std::max(largest, size);
        if (size > max_block) {
          ++oversized;
          oversized_records += size;
        }
      }
      EXPECT_EQ(report.rules[r].oversized_blocks, oversized) << rules.rules()[r].name;
      EXPECT_EQ(report.rules[r].oversized_records, oversized_records) << rules.rules()[r].name;
      EXPECT_EQ(report.rules[r].largest_block, largest) << rules.rules()[r].name;
      total_oversized += oversized;
    }
    EXPECT_EQ(sum, got.size());
    EXPECT_EQ(report.total_pairs, got.size());
    total_pairs += got.size();
  }
  // The data must exercise what is being tested.
  EXPECT_GT(total_pairs, 500u);
  EXPECT_GT(total_oversized, 10u);
  EXPECT_GT(total_stored_skips, 10u);
}

TEST(BlockingTest, OversizedBlockSkippedButOtherRulesStillPair) {
  // Five records with one date of birth and family name; two of them also
  // share a postcode. Capped at 3, the dob_family block is skipped and only
  // the dob_postcode pair is generated.
  std::vector<PreparedRecord> recs;
  for (int i = 0; i < 5; ++i) {
    Record r;
    r.family_name = "Smith";
    r.date_of_birth = "1984-03-07";
    r.postcode = i < 2 ? "CV1 2AB" : "";
    recs.push_back(PrepareRecord(r, {}));
  }
  BlockingRules rules = *BlockingRules::FromNames("dob_family_phonetic,dob_postcode");
  std::vector<BlockKeys> keys;
  for (const auto& r : recs) keys.push_back(ComputeBlockKeys(rules, r));
  BlockingReport report;
  auto got = GenerateCandidates(recs, keys, std::vector<bool>(5, false), rules, 3, &report);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].a, 0u);
  EXPECT_EQ(got[0].b, 1u);
  EXPECT_EQ(report.rules[0].oversized_blocks, 1u);
  EXPECT_EQ(report.rules[0].oversized_records, 5u);
  EXPECT_EQ(report.rules[0].pairs, 0u);
  EXPECT_EQ(report.rules[1].pairs, 1u);
  // Uncapped, the first rule produces all ten pairs and the second none.
  BlockingReport full;
  got = GenerateCandidates(recs, keys, std::vector<bool>(5, false), rules, 300, &full);
  EXPECT_EQ(got.size(), 10u);
  EXPECT_EQ(full.rules[0].pairs, 10u);
  EXPECT_EQ(full.rules[1].pairs, 0u);
}

// Rules stored in a database's meta read back as the same rules, and what
// this version cannot honour (an unknown rule, an id that is not the
// rule's) is refused rather than blocked differently.
TEST(BlockingTest, RulesRoundTripThroughJson) {
  BlockingRules some = BlockingRules::FromNames("dob_postcode,nhs_number").value();
  for (const BlockingRules& rules : {BlockingRules::Default(), some}) {
    auto back = BlockingRules::FromJson(rules.ToJson());
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->Names(), rules.Names());
    for (size_t i = 0; i < rules.rules().size(); ++i) EXPECT_EQ(back->rules()[i].id, rules.rules()[i].id);
  }
  EXPECT_EQ(some.ToJson().dump(), R"([{"id":2,"name":"dob_postcode"},{"id":0,"name":"nhs_number"}])");
  for (const char* bad : {R"([])", R"({})", R"([{"id":0}])", R"([{"id":0,"name":"shoe_size"}])",
                          R"([{"id":3,"name":"nhs_number"}])", R"([{"id":-1,"name":"nhs_number"}])"}) {
    EXPECT_EQ(BlockingRules::FromJson(nlohmann::json::parse(bad)).status().code(), absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

}  // namespace
}  // namespace empi
