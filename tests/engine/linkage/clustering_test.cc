// Copyright EMPI developers.
#include "engine/linkage/clustering.h"

#include <algorithm>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "engine/linkage/safety.h"
#include "gtest/gtest.h"
#include "tests/engine/linkage/linkage_test_util.h"

namespace empi {
namespace {

using testing_linkage::RecordGenerator;

// A model whose link and review weights are reached by ordinary pairs of
// the generated data: prior -10, agreement on a field worth about +4.
Model TestModel() {
  ModelSettings s;
  s.link_threshold = 0.99;
  s.review_threshold = 0.5;
  Model m = Model::Default(s);
  m.lambda_ = 1e-3;
  m.Refresh();
  return m;
}

constexpr char kNhs[] = "9434765919";
// A second valid number: a relative's own.
constexpr char kOtherNhs[] = "4010232137";

// One record, prepared and annotated by `model`.
PreparedRecord Annotated(const Model& model, const char* given, const char* family, const char* dob, const char* nhs,
                         const char* postcode = "CV1 2AB", const char* source = "") {
  Record r;
  r.source = source;
  r.nhs_number = nhs;
  r.family_name = family;
  r.given_names = given;
  r.date_of_birth = dob;
  r.postcode = postcode;
  PreparedRecord p = PrepareRecord(r, {});
  model.Annotate(&p);
  return p;
}

// Whether `a` links `b` safely at the link threshold.
bool SureOf(const Model& model, const PreparedRecord& a, const PreparedRecord& b) {
  const ScoredPair s = model.Score(a, b);
  return s.safety.safety == PairSafety::kSafe && s.match_weight >= model.link_weight();
}

// Clusters `recs`, none of them stored yet and no pair marked never to
// link, by `links`.
Clustering ClusterNew(const Model& model, const std::vector<PreparedRecord>& recs, std::vector<ScoredLink> links) {
  const std::vector<uint64_t> existing(recs.size(), 0);
  return ClusterRecords({&recs, &existing, nullptr, &model}, std::move(links));
}

struct Fixture {
  std::vector<PreparedRecord> records;
  std::vector<uint64_t> existing;
  absl::flat_hash_set<std::pair<uint32_t, uint32_t>> never;
  std::vector<ScoredLink> links;
};

Fixture RandomInput(RecordGenerator& gen, const Model& model) {
  Fixture f;
  int persons = gen.Uniform(3, 10);
  uint64_t next_existing = 100;
  for (int p = 0; p < persons; ++p) {
    Record truth = gen.Person();
    std::vector<Record> copies = {truth};
    for (int k = gen.Uniform(0, 4); k > 0; --k) copies.push_back(gen.Noisy(truth));
    if (gen.Chance(0.3)) {  // a twin: same details, another NHS number
      Record twin = gen.Noisy(truth);
      twin.nhs_number = gen.NhsNumber();
      copies.push_back(twin);
    }
    // Some of this person's records are already stored, as one person;
    // occasionally split across two stored persons (an earlier missed link).
    uint64_t stored_as = gen.Chance(0.4) ? next_existing++ : 0;
    uint64_t split_as = gen.Chance(0.3) ? next_existing++ : stored_as;
    std::set<uint64_t> nhs_of_person;
    for (const Record& r : copies) {
      PreparedRecord pr = PrepareRecord(r, {});
      uint64_t e = 0;
      // Stored persons never hold two valid NHS numbers (the property
      // clustering keeps); keep the inputs consistent with that.
      if (stored_as != 0 && gen.Chance(0.6) &&
          (pr.nhs == 0 || nhs_of_person.size() == 0 || nhs_of_person.contains(pr.nhs))) {
        e = gen.Chance(0.5) ? stored_as : split_as;
        if (pr.nhs != 0) nhs_of_person.insert(pr.nhs);
      }
      model.Annotate(&pr);
      f.records.push_back(pr);
      f.existing.push_back(e);
    }
  }
  // Stored persons must each have at most one NHS number: drop the flag
  // where the split person disagrees.
  std::map<uint64_t, std::set<uint64_t>> nhs_by_existing;
  for (size_t i = 0; i < f.records.size(); ++i)
    if (f.existing[i] != 0 && f.records[i].nhs_validated) nhs_by_existing[f.existing[i]].insert(f.records[i].nhs);
  for (size_t i = 0; i < f.records.size(); ++i)
    if (f.existing[i] != 0 && nhs_by_existing[f.existing[i]].size() > 1) f.existing[i] = 0;

  const uint32_t n = static_cast<uint32_t>(f.records.size());
  for (uint32_t a = 0; a < n; ++a) {
    for (uint32_t b = a + 1; b < n; ++b) {
      double w = model.Weight(ComparePair(f.records[a], f.records[b]), f.records[a], f.records[b]);
      if (w >= model.review_weight()) {
        f.links.push_back({a, b, w});
        // A steward's never-link mark between records already stored in
        // one person cannot be honoured by clustering (it never splits a
        // stored person), so marks go between other records only.
        bool same_stored = f.existing[a] != 0 && f.existing[a] == f.existing[b];
        if (!same_stored && gen.Chance(0.05)) f.never.insert({a, b});
      }
    }
  }
  return f;
}

std::set<std::string> KnownReasons() {
  std::set<std::string> known = {"nhs conflict",
                                 "existing persons",
                                 "never link",
                                 "weak group",
                                 "between thresholds",
                                 "group too large to verify",
                                 kReasonTwinsInTwoContributors,
                                 kReasonTwinsAtOnePractice,
                                 kReasonTwinsUnnumbered,
                                 kReasonUnnumberedNamesake,
                                 "ambiguous: matches more than one person"};
  for (std::string_view r : kSafetyReasons) known.emplace(r);
  return known;
}

TEST(ClusteringTest, PropertiesHoldOnRandomInputs) {
  const Model model = TestModel();
  RecordGenerator gen(4242);
  uint64_t applied = 0, refused = 0, multi_groups = 0, numbered_apart_links = 0;
  std::map<std::string, int> reasons;
  for (int trial = 0; trial < 400; ++trial) {
    Fixture f = RandomInput(gen, model);
    ClusterInput in{&f.records, &f.existing, &f.never, &model};
    Clustering c = ClusterRecords(in, f.links);
    const size_t n = f.records.size();
    ASSERT_EQ(c.group.size(), n);
    applied += c.links_applied;
    refused += c.links_refused;

    std::map<uint32_t, std::vector<uint32_t>> groups;
    for (uint32_t i = 0; i < n; ++i) groups[c.group[i]].push_back(i);
    for (const auto& [g, members] : groups) {
      multi_groups += members.size() > 1;
      std::set<uint64_t> nhs, existing;
      for (uint32_t x : members) {
        if (f.records[x].nhs_validated) nhs.insert(f.records[x].nhs);
        if (f.existing[x] != 0) existing.insert(f.existing[x]);
      }
      EXPECT_LE(nhs.size(), 1u) << "group holds two valid NHS numbers, trial " << trial;
      EXPECT_LE(existing.size(), 1u) << "two stored persons joined, trial " << trial;
      for (uint32_t x : members) {
        for (uint32_t y : members) {
          if (x >= y) continue;
          EXPECT_FALSE(f.never.contains({x, y})) << "never-link pair joined, trial " << trial;
          // Every pair in a person (other than two records already stored
          // together) is at least as likely a match as not, or differs only
          // where a life changes a record (a marriage, a move), or two
          // records of the person with a date of birth are each sure of both.
          if (f.existing[x] != 0 && f.existing[x] == f.existing[y]) continue;
          const uint32_t pattern = ComparePair(f.records[x], f.records[y]);
          int witnesses = 0;
          for (uint32_t m : members) {
            witnesses += m != x && m != y && f.records[m].dob != 0 && SureOf(model, f.records[m], f.records[x]) &&
                         SureOf(model, f.records[m], f.records[y]);
          }
          EXPECT_TRUE(model.Weight(pattern, f.records[x], f.records[y]) >= model.review_weight() ||
                      DiffersOnlyByLifeEvents(pattern) || witnesses >= 2)
              << "weak pair inside a group, trial " << trial;
          // No pair is held apart by a safety rule, unless the group itself
          // explains a names conflict (a mistyped name let in by its number).
          const SafetyVerdict v = model.Score(f.records[x], f.records[y]).safety;
          std::vector<const PreparedRecord*> group;
          for (uint32_t m : members) group.push_back(&f.records[m]);
          EXPECT_TRUE(v.safety == PairSafety::kSafe ||
                      ConflictExplainedByGroup(model, v, f.records[x], group, f.records[y]) ||
                      ConflictExplainedByGroup(model, v, f.records[y], group, f.records[x]))
              << "pair held apart by a safety rule inside a group, trial " << trial;
        }
      }
    }
    // Records of one stored person stay together.
    for (uint32_t x = 0; x < n; ++x)
      for (uint32_t y = 0; y < n; ++y)
        if (f.existing[x] != 0 && f.existing[x] == f.existing[y]) {
          EXPECT_EQ(c.group[x], c.group[y]);
        }

    // Groups are made only of links at or above the link threshold (and
    // stored persons): a link between the thresholds is never applied.
    std::vector<uint32_t> parent(n);
    std::iota(parent.begin(), parent.end(), 0);
    auto find = [&](uint32_t x) {
      while (parent[x] != x) x = parent[x];
      return x;
    };
    for (const ScoredLink& l : f.links)
      if (l.match_weight >= model.link_weight()) parent[find(l.a)] = find(l.b);
    for (uint32_t x = 0; x < n; ++x)
      for (uint32_t y = x + 1; y < n; ++y)
        if (f.existing[x] != 0 && f.existing[x] == f.existing[y]) parent[find(x)] = find(y);
    for (const auto& [g, members] : groups)
      for (uint32_t x : members) EXPECT_EQ(find(x), find(members[0])) << "trial " << trial;

    // Every pair of persons a link is left across has one review pair, the
    // strongest of their links, with a reason; but for a link between the
    // thresholds, one of whose records has no number, between persons who
    // each carry numbers of their own and none in common, that the
    // numbers' disagreement takes below the review threshold.
    std::map<uint32_t, std::set<uint64_t>> numbers;
    for (uint32_t x = 0; x < n; ++x) {
      if (f.records[x].OwnNumber()) numbers[c.group[x]].insert(f.records[x].nhs);
    }
    auto numbered_apart = [&](const ScoredLink& l) {
      const std::set<uint64_t>&na = numbers[c.group[l.a]], &nb = numbers[c.group[l.b]];
      if (na.empty() || nb.empty()) return false;
      for (uint64_t v : na) {
        if (nb.contains(v)) return false;
      }
      return GammaOf(ComparePair(f.records[l.a], f.records[l.b]), comparison::kNhsNumber) == 0 &&
             l.match_weight + model.LevelWeight(comparison::kNhsNumber, kNhsDifferent) < model.review_weight();
    };
    std::map<std::pair<uint32_t, uint32_t>, const ReviewPair*> review;
    for (const ReviewPair& r : c.review) {
      EXPECT_TRUE(KnownReasons().contains(r.reason)) << r.reason;
      EXPECT_NE(c.group[r.a], c.group[r.b]) << "review pair ended in one person: " << r.reason;
      auto persons = std::minmax(c.group[r.a], c.group[r.b]);
      EXPECT_TRUE(review.emplace(persons, &r).second) << "two review pairs for one pair of persons";
      ++reasons[r.reason];
    }
    for (const ScoredLink& l : f.links) {
      if (c.group[l.a] == c.group[l.b]) continue;
      if (numbered_apart(l)) {
        ++numbered_apart_links;
        continue;
      }
      auto it = review.find(std::minmax(c.group[l.a], c.group[l.b]));
      ASSERT_NE(it, review.end()) << "link between persons missing from review, trial " << trial;
      EXPECT_GE(it->second->match_weight, l.match_weight);
      if (it->second->match_weight < model.link_weight())
        EXPECT_EQ(it->second->reason, "between thresholds");
      else
        EXPECT_NE(it->second->reason, "between thresholds");
    }
    EXPECT_LE(c.links_applied + c.links_refused, f.links.size());
  }
  // The inputs must exercise linking and every refusal reason.
  EXPECT_GT(applied, 200u);
  EXPECT_GT(refused, 20u);
  EXPECT_GT(multi_groups, 200u);
  EXPECT_GT(numbered_apart_links, 0u);
  for (const char* r : {"nhs conflict", "existing persons", "never link", "weak group", "between thresholds"}) {
    EXPECT_GT(reasons[r], 0) << "reason never produced: " << r;
  }
}

// Scoring runs in parallel and hands its links over in any order; the
// persons and the review pairs must not depend on it. Links of one record
// often tie (equal patterns score equally), so a tie broken by arrival
// order would show here.
TEST(ClusteringTest, OutcomeDoesNotDependOnTheOrderLinksArriveIn) {
  const Model model = TestModel();
  RecordGenerator gen(977);
  std::mt19937 shuffle(31);
  // Persons as sets of records, and review pairs, in a canonical form.
  auto canonical = [](const Clustering& c) {
    std::map<uint32_t, std::vector<uint32_t>> groups;
    for (uint32_t i = 0; i < c.group.size(); ++i) groups[c.group[i]].push_back(i);
    std::set<std::vector<uint32_t>> persons;
    for (auto& [g, members] : groups) persons.insert(members);
    std::set<std::tuple<uint32_t, uint32_t, double, std::string>> review;
    for (const ReviewPair& r : c.review)
      review.emplace(std::min(r.a, r.b), std::max(r.a, r.b), r.match_weight, r.reason);
    return std::pair{persons, review};
  };
  int tied = 0;
  for (int trial = 0; trial < 300; ++trial) {
    Fixture f = RandomInput(gen, model);
    ClusterInput in{&f.records, &f.existing, &f.never, &model};
    const auto want = canonical(ClusterRecords(in, f.links));
    std::set<double> weights;
    for (const ScoredLink& l : f.links) tied += !weights.insert(l.match_weight).second;
    for (int k = 0; k < 4; ++k) {
      std::vector<ScoredLink> links = f.links;
      std::shuffle(links.begin(), links.end(), shuffle);
      ASSERT_EQ(canonical(ClusterRecords(in, links)), want) << "trial " << trial << ", order " << k;
    }
  }
  EXPECT_GT(tied, 1000) << "the inputs must hold tied weights";
}

class RecordMatchingTwoPeople : public ::testing::Test {
 protected:
  // A and B differ in everything but the family name; C matches both
  // strongly enough to link on its own.
  void SetUp() override {
    auto prep = [&](const char* given, const char* dob, const char* pc) {
      return Annotated(model_, given, "Nowak", dob, "", pc);
    };
    recs_ = {prep("Anna", "1970-01-01", "CV1 2AB"), prep("Piotr", "1990-05-05", "LS6 2AB"),
             prep("Anna", "1970-01-01", "LS6 2AB")};
    ASSERT_LT(model_.Weight(ComparePair(recs_[0], recs_[1]), recs_[0], recs_[1]), model_.review_weight());
  }
  Clustering Run(double wa, double wb) {
    ClusterInput in{&recs_, &existing_, nullptr, &model_};
    return ClusterRecords(in, {{0, 2, wa}, {1, 2, wb}});
  }
  const Model model_ = TestModel();
  std::vector<PreparedRecord> recs_;
  std::vector<uint64_t> existing_ = std::vector<uint64_t>(3, 0);
};

// The stronger link is decisively stronger (>= decisive_margin_bits): it
// wins, and the other is refused.
TEST_F(RecordMatchingTwoPeople, DecisivelyBetterPersonWins) {
  Clustering c = Run(model_.link_weight() + 15, model_.link_weight() + 1);
  EXPECT_EQ(c.group[0], c.group[2]);
  EXPECT_NE(c.group[1], c.group[2]);
  ASSERT_EQ(c.review.size(), 1u);
  // A and B are 20 years apart with other given names: the safety rule
  // (safety.h) names why, before their weight is looked at.
  EXPECT_EQ(c.review[0].reason, "dates of birth a generation apart");
  EXPECT_EQ(c.links_applied, 1u);
  EXPECT_EQ(c.links_refused, 1u);
}

// Neither link is decisively stronger: C joins neither person and both of
// its links wait for a steward.
TEST_F(RecordMatchingTwoPeople, AmbiguousRecordJoinsNeither) {
  Clustering c = Run(model_.link_weight() + 5, model_.link_weight() + 1);
  EXPECT_NE(c.group[0], c.group[2]);
  EXPECT_NE(c.group[1], c.group[2]);
  EXPECT_NE(c.group[0], c.group[1]);
  ASSERT_EQ(c.review.size(), 2u);
  for (const ReviewPair& r : c.review) EXPECT_EQ(r.reason, "ambiguous: matches more than one person");
  EXPECT_EQ(c.links_applied, 0u);
}

// One person's four records, two of them with an error each: D0 has
// another given name, D2 another date of birth, and D0 and D2 are held apart
// (given names conflict on a shared NHS number, years apart). The original
// O links to all three. D0's link, held only by the number against its
// name, is applied after the others, so D2 joins O and D1 first and D0 is
// the one kept out. O is not ambiguous between its group and D0: its other
// record D1 links safely to D0 as well, so what keeps D0 out is D2, not O.
// O stays with D1 and D2; D0 waits for a steward.
TEST(ClusteringTest, RecordWhosePartnerAlsoLinksTheOtherPersonIsNotAmbiguous) {
  const Model model = TestModel();
  auto prep = [&](const char* given, const char* dob) { return Annotated(model, given, "Campbell", dob, kNhs); };
  std::vector<PreparedRecord> recs = {prep("Xavier", "1946-08-05"), prep("Thomas", "1946-08-05"),
                                      prep("Xavier", "1946-08-05"), prep("Xavier", "1938-05-21")};
  ASSERT_EQ(model.Score(recs[1], recs[3]).safety.safety, PairSafety::kReview);
  ScoredPair d1_d2 = model.Score(recs[2], recs[3]);
  ASSERT_EQ(d1_d2.safety.safety, PairSafety::kSafe);
  ASSERT_GE(d1_d2.match_weight, model.link_weight());
  std::vector<uint64_t> existing(4, 0);
  const double l = model.link_weight();
  ClusterInput in{&recs, &existing, nullptr, &model};
  Clustering c = ClusterRecords(in, {{0, 2, l + 20}, {0, 1, l + 15}, {0, 3, l + 12}, {1, 2, l + 8}, {2, 3, l + 1}});
  EXPECT_EQ(c.group[0], c.group[2]);
  EXPECT_EQ(c.group[0], c.group[3]);
  EXPECT_NE(c.group[0], c.group[1]);
  ASSERT_EQ(c.review.size(), 1u);
  EXPECT_EQ(c.review[0].reason, "given names conflict on a shared NHS number");
}

// The partner must link safely to the other person: a record with no date
// of birth that matches a father (two records) and his son is ambiguous,
// since the father's other record is held apart from the son too.
TEST_F(RecordMatchingTwoPeople, PartnerHeldApartFromTheOtherPersonLeavesTheRecordAmbiguous) {
  recs_.push_back(recs_[0]);  // the father's second record
  existing_.push_back(0);
  ClusterInput in{&recs_, &existing_, nullptr, &model_};
  const double l = model_.link_weight();
  Clustering c = ClusterRecords(in, {{0, 3, l + 30}, {0, 2, l + 5}, {2, 3, l + 5}, {1, 2, l + 1}});
  EXPECT_EQ(c.group[0], c.group[3]);
  EXPECT_NE(c.group[2], c.group[0]);
  EXPECT_NE(c.group[2], c.group[1]);
  for (const ReviewPair& r : c.review) EXPECT_EQ(r.reason, "ambiguous: matches more than one person");
}

// A person's record whose given name was mistyped beyond recognition (KTI
// for Christopher) joins by its NHS number and date of birth. A later
// record of the same person without the number conflicts with KTI by name
// alone; the person's other record explains that, so the join goes ahead,
// whichever of the two joined first. A twin
// (Daniel, no number) conflicts with every record of the group and stays
// apart, however strong the link offered.
TEST(ClusteringTest, MistypedNameLetInByItsNumberDoesNotKeepThePersonsOtherRecordsOut) {
  const Model model = TestModel();
  auto prep = [&](const char* given, const char* nhs) {
    return Annotated(model, given, "Salenbridge", "1985-11-21", nhs);
  };
  std::vector<PreparedRecord> recs = {prep("Christopher", kNhs), prep("KTI", kNhs), prep("Christopher", ""),
                                      prep("Daniel", "")};
  ASSERT_TRUE(model.Score(recs[0], recs[1]).safety.names_overridden);
  const SafetyVerdict kti_new = model.Score(recs[1], recs[2]).safety;
  ASSERT_EQ(kti_new.reason, kGivenConflict);
  const std::vector<const PreparedRecord*> group = {&recs[0], &recs[1]};
  EXPECT_TRUE(ConflictExplainedByGroup(model, kti_new, recs[1], group, recs[2]));
  const SafetyVerdict twin = model.Score(recs[0], recs[3]).safety;
  ASSERT_EQ(twin.reason, kGivenConflict);
  EXPECT_FALSE(ConflictExplainedByGroup(model, twin, recs[0], group, recs[3]));
  EXPECT_FALSE(ConflictExplainedByGroup(model, model.Score(recs[1], recs[3]).safety, recs[1], group, recs[3]));

  const double l = model.link_weight();
  Clustering c = ClusterNew(model, recs, {{0, 1, l + 20}, {0, 2, l + 15}, {2, 3, l + 5}});
  EXPECT_EQ(c.group[0], c.group[1]);
  EXPECT_EQ(c.group[0], c.group[2]);
  EXPECT_NE(c.group[0], c.group[3]);
  // The same when the record without the number joins first: then KTI's
  // group is KTI alone, and the record that explains the conflict is in
  // the other group. Which group it is in is the order links came in.
  c = ClusterNew(model, recs, {{0, 2, l + 20}, {0, 1, l + 15}, {2, 3, l + 5}});
  EXPECT_EQ(c.group[0], c.group[1]);
  EXPECT_EQ(c.group[0], c.group[2]);
  EXPECT_NE(c.group[0], c.group[3]);
}

// Twins Linda and Sharon Taylor: a community trust's record of Sharon
// carries Linda's number, and the council's record of Sharon has none.
// Sharon's two records name her alike from two contributors, so her name
// is no slip that Linda's number lets in (ConflictExplainedByGroup), and
// the link her number makes is applied after her own records have joined
// (whichever is stronger): Sharon's records stay apart from Linda's, for
// a steward. With one contributor's records alone the name
// could be a slip that contributor keyed twice, and KTI's rule stands.
TEST(ClusteringTest, ATwinsNameTwoContributorsGiveIsNoSlipHerSistersNumberLetsIn) {
  const Model model = TestModel();
  auto prep = [&](const char* given, const char* nhs, const char* source) {
    return Annotated(model, given, "Taylor", "1980-05-09", nhs, "CV11 9EG", source);
  };
  const std::vector<PreparedRecord> recs = {prep("Linda", kNhs, "M82004"), prep("Linda", kNhs, "RQ1"),
                                            prep("Sharon", kNhs, "CCT"), prep("Sharon", "", "SC1")};
  ASSERT_TRUE(model.Score(recs[0], recs[2]).safety.names_overridden);
  const double l = model.link_weight();
  for (double sisters_number : {l + 25, l + 5}) {
    const Clustering c =
        ClusterNew(model, recs, {{0, 1, l + 30}, {0, 2, sisters_number}, {1, 2, sisters_number}, {2, 3, l + 15}});
    EXPECT_EQ(c.group[0], c.group[1]);
    EXPECT_NE(c.group[0], c.group[2]) << sisters_number;
    EXPECT_NE(c.group[0], c.group[3]) << sisters_number;
    EXPECT_FALSE(c.review.empty());
    // When her sister's number links her records more strongly than her
    // own records link each other, the record carrying it matches her
    // sister better than her own person: ambiguous, it joins neither.
    if (sisters_number < l + 15) {
      EXPECT_EQ(c.group[2], c.group[3]);
    }
  }
  const std::vector<const PreparedRecord*> group = {&recs[0], &recs[1], &recs[2]};
  const SafetyVerdict v = model.Score(recs[0], recs[3]).safety;
  ASSERT_EQ(v.reason, kGivenConflict);
  EXPECT_FALSE(ConflictExplainedByGroup(model, v, recs[0], group, recs[3]));
  const std::vector<PreparedRecord> one_source = {prep("Linda", kNhs, "RQ1"), prep("Linda", kNhs, "RQ1"),
                                                  prep("Sharon", kNhs, "RQ1"), prep("Sharon", "", "RQ1")};
  const std::vector<const PreparedRecord*> keyed_twice = {&one_source[0], &one_source[1], &one_source[2]};
  EXPECT_TRUE(ConflictExplainedByGroup(model, v, one_source[0], keyed_twice, one_source[3]));
}

// Records 0 and 1 are one person, 2 and 3 another, and record 4 joined
// neither: it waits for a steward as matching both.
void ExpectFifthRecordHeldBetweenTwoPersons(const Clustering& c) {
  EXPECT_EQ(c.group[0], c.group[1]);
  EXPECT_EQ(c.group[2], c.group[3]);
  EXPECT_NE(c.group[0], c.group[2]);
  EXPECT_NE(c.group[4], c.group[0]);
  EXPECT_NE(c.group[4], c.group[2]);
  bool ambiguous = false;
  for (const ReviewPair& r : c.review) ambiguous = ambiguous || r.reason == "ambiguous: matches more than one person";
  EXPECT_TRUE(ambiguous);
}

// Twins Mary and Marie, each with her own NHS number, and a record of
// Marie's without one. It matches Marie better (her name) than Mary (its
// nickname), but Marie's record with a date of birth keyed months out holds
// it from Marie's person (dates differ, no number in common), and it is let
// into Mary's. Mary's records also link Marie's on everything but the
// number; that does not settle which twin the record is: it matches the
// other better, so it is ambiguous and joins neither.
TEST(ClusteringTest, ARecordMatchingTheOtherPersonBetterIsAmbiguousWhateverItsPartnersLink) {
  const Model model = TestModel();
  constexpr char kNhsMarie[] = "9434765870";
  auto prep = [&](const char* given, const char* dob, const char* nhs) {
    return Annotated(model, given, "Walker", dob, nhs);
  };
  std::vector<PreparedRecord> recs = {prep("Mary", "1977-08-25", kNhs), prep("Mary", "1977-08-25", kNhs),
                                      prep("Marie", "1977-08-25", kNhsMarie), prep("Marie", "1977-03-12", kNhsMarie),
                                      prep("Marie", "1977-08-25", "")};
  ASSERT_EQ(model.Score(recs[3], recs[4]).safety.reason, kDobDifferNoNumber);
  ASSERT_EQ(model.Score(recs[0], recs[4]).safety.safety, PairSafety::kSafe);
  const ScoredPair mary_marie = model.Score(recs[0], recs[2]);
  ASSERT_EQ(mary_marie.safety.safety, PairSafety::kSafe);
  ASSERT_GE(mary_marie.match_weight, model.link_weight());

  const double l = model.link_weight();
  Clustering c = ClusterNew(
      model, recs, {{0, 1, l + 30}, {2, 3, l + 30}, {2, 4, l + 8}, {0, 4, l + 4}, {1, 4, l + 4}, {0, 2, l + 2}});
  ExpectFifthRecordHeldBetweenTwoPersons(c);
}

// Twins Logan and Lawrence, each with his own NHS number, and a record of
// Lawrence's names, date and address carrying Logan's number. The number
// outweighs the conflicting given names by far more than the decisive
// margin, so by weight alone the record would be Logan's; but its names
// agree with Lawrence's records, and which field is wrong is not the
// weights' to say: it joins neither. A record whose names agree with no
// one (Kyle) is still decided by the margin.
TEST(ClusteringTest, ATwinsNumberAgainstTheOtherTwinsNamesIsNotDecisive) {
  const Model model = TestModel();
  auto prep = [&](const char* given, const char* nhs) { return Annotated(model, given, "Hall", "1980-11-16", nhs); };
  std::vector<PreparedRecord> recs = {prep("Logan", kNhs), prep("Logan", kNhs), prep("Lawrence", kOtherNhs),
                                      prep("Lawrence", kOtherNhs), prep("Lawrence", kNhs)};
  ASSERT_TRUE(model.Score(recs[4], recs[0]).safety.names_overridden);
  ASSERT_EQ(model.Score(recs[4], recs[2]).safety.safety, PairSafety::kSafe);
  const double l = model.link_weight();
  EXPECT_FALSE(DecisivelyBetter(model, recs[4], recs[0], l + 25, recs[2], l + 12));
  EXPECT_TRUE(DecisivelyBetter(model, recs[2], recs[3], l + 25, recs[0], l + 12));
  EXPECT_FALSE(DecisivelyBetter(model, recs[2], recs[3], l + 20, recs[0], l + 12));

  Clustering c = ClusterNew(
      model, recs, {{0, 1, l + 30}, {2, 3, l + 30}, {0, 4, l + 25}, {1, 4, l + 25}, {2, 4, l + 12}, {3, 4, l + 12}});
  ExpectFifthRecordHeldBetweenTwoPersons(c);

  recs[4] = prep("Kyle", kNhs);
  ASSERT_TRUE(model.Score(recs[4], recs[0]).safety.names_overridden);
  EXPECT_TRUE(DecisivelyBetter(model, recs[4], recs[0], l + 25, recs[2], l + 12));
  c = ClusterNew(model, recs,
                 {{0, 1, l + 30}, {2, 3, l + 30}, {0, 4, l + 25}, {1, 4, l + 25}, {2, 4, l + 12}, {3, 4, l + 12}});
  EXPECT_EQ(c.group[4], c.group[0]);
}

// Twins Joshua and John, each with his own NHS number, and a record of
// John's names carrying Joshua's number (the independent population's
// "Johsnon John"). John and Joshua are alike in spelling (Jaro-Winkler
// 0.80), not in conflict, so the number does not override the names; but
// the record's names fit John's records, born the same day, better than
// Joshua's: which field is wrong is a steward's question. A record whose
// names are a slip of Joshua's fits him better and goes by the margin, as
// does one whose names fit John's records but not their date of birth or
// their home (two men of one name, one of them Joshua's twin).
TEST(ClusteringTest, ATwinsNumberAgainstNamesThatFitTheOtherTwinBetterIsNotDecisive) {
  const Model model = TestModel();
  auto prep = [&](const char* given, const char* dob, const char* nhs) {
    return Annotated(model, given, "Johnson", dob, nhs);
  };
  constexpr char kDob[] = "1973-09-05";
  std::vector<PreparedRecord> recs = {prep("Joshua", kDob, kNhs), prep("Joshua", kDob, kNhs),
                                      prep("John", kDob, kOtherNhs), prep("John", kDob, kOtherNhs),
                                      prep("John", kDob, kNhs)};
  ASSERT_FALSE(model.Score(recs[4], recs[0]).safety.names_overridden);
  ASSERT_EQ(model.Score(recs[4], recs[0]).safety.safety, PairSafety::kSafe);
  ASSERT_EQ(model.Score(recs[4], recs[2]).safety.safety, PairSafety::kSafe);
  const double l = model.link_weight();
  const std::vector<ScoredLink> links = {{0, 1, l + 30}, {2, 3, l + 30}, {0, 4, l + 25},
                                         {1, 4, l + 25}, {2, 4, l + 12}, {3, 4, l + 12}};
  EXPECT_FALSE(DecisivelyBetter(model, recs[4], recs[0], l + 25, recs[2], l + 12));
  ExpectFifthRecordHeldBetweenTwoPersons(ClusterNew(model, recs, links));

  recs[4] = prep("Joshau", kDob, kNhs);
  EXPECT_TRUE(DecisivelyBetter(model, recs[4], recs[0], l + 25, recs[2], l + 12));
  const Clustering c = ClusterNew(model, recs, links);
  EXPECT_EQ(c.group[4], c.group[0]);

  recs[4] = prep("John", "1973-06-05", kNhs);
  EXPECT_TRUE(DecisivelyBetter(model, recs[4], recs[0], l + 25, recs[2], l + 12));

  recs[4] = Annotated(model, "John", "Johnson", kDob, kNhs, "B1 1AA");
  EXPECT_TRUE(DecisivelyBetter(model, recs[4], recs[0], l + 25, recs[2], l + 12));
}

// Twins Aidan and Aiden Hingate, each with his own number, and a record of
// Aiden's carrying Aidan's (the adversarial population, merged with Aidan).
// The twins' records link each other safely on everything but their
// numbers, one letter apart in name; that they stay apart is the numbers',
// so Aidan's record linking Aiden's too does not settle which twin the
// record is (partner exemption, clustering.h): it waits for a steward.
TEST(ClusteringTest, APartnerLinkBetweenTwoNumberedPersonsDoesNotSettleWhoseNumberTheRecordCarries) {
  const Model model = TestModel();
  auto prep = [&](const char* given, const char* nhs) { return Annotated(model, given, "Hingate", "2006-05-29", nhs); };
  std::vector<PreparedRecord> recs = {prep("Aidan", kNhs), prep("Aidan", kNhs), prep("Aiden", kOtherNhs),
                                      prep("Aiden", kOtherNhs), prep("Aiden", kNhs)};
  const ScoredPair twins = model.Score(recs[0], recs[2]);
  ASSERT_EQ(twins.safety.safety, PairSafety::kSafe);
  ASSERT_GE(twins.match_weight, model.link_weight());
  const double l = model.link_weight();
  const std::vector<ScoredLink> links = {{0, 1, l + 30}, {2, 3, l + 30}, {0, 4, l + 25}, {1, 4, l + 25},
                                         {2, 4, l + 12}, {3, 4, l + 12}, {0, 2, l + 5}};
  EXPECT_FALSE(DecisivelyBetter(model, recs[4], recs[0], l + 25, recs[2], l + 12));
  ExpectFifthRecordHeldBetweenTwoPersons(ClusterNew(model, recs, links));
}

// A father and son of one name at one address, each with his own number,
// and a record with no date of birth carrying the father's (the
// adversarial population's James Warbury: a junior's ambulance record with
// his father's number, merged with the father). Nothing on the record tells
// the two apart: it joins neither, though its match to the son, on names
// and address against a number that differs, is below the link threshold.
TEST(ClusteringTest, AnUndatedRecordOnAFathersNumberBesideHisNamesakeSonIsNotDecisive) {
  const Model model = TestModel();
  auto prep = [&](const char* given, const char* dob, const char* nhs, const char* postcode = "CV1 2AB") {
    return Annotated(model, given, "Warbury", dob, nhs, postcode);
  };
  std::vector<PreparedRecord> recs = {prep("James", "1957-01-03", kNhs), prep("James", "1957-01-03", kNhs),
                                      prep("James", "1985-05-20", kOtherNhs), prep("James", "1985-05-20", kOtherNhs),
                                      prep("James", "", kNhs)};
  ASSERT_EQ(model.Score(recs[4], recs[2]).safety.safety, PairSafety::kSafe);
  const double l = model.link_weight(), r = model.review_weight();
  ASSERT_LT(r + 1, l - 1);
  const std::vector<ScoredLink> links = {{0, 1, l + 30}, {2, 3, l + 30}, {0, 4, l + 25},
                                         {1, 4, l + 25}, {2, 4, l - 1},  {3, 4, l - 1}};
  EXPECT_TRUE(NamesakeAtHome(model, recs[4], recs[0], recs[2]));
  EXPECT_FALSE(DecisivelyBetter(model, recs[4], recs[0], l + 25, recs[2], l + 12));
  ExpectFifthRecordHeldBetweenTwoPersons(ClusterNew(model, recs, links));

  // A date of birth, a middle name only the father's records share, or a
  // son who lives elsewhere: the number decides.
  const auto joins_father = [&](const PreparedRecord& x) {
    std::vector<PreparedRecord> v = recs;
    v[4] = x;
    EXPECT_FALSE(NamesakeAtHome(model, v[4], v[0], v[2]));
    const Clustering c = ClusterNew(model, v, links);
    EXPECT_EQ(c.group[4], c.group[0]);
  };
  joins_father(prep("James", "1957-01-03", kNhs));
  recs[0] = recs[1] = prep("James Edward", "1957-01-03", kNhs);
  joins_father(prep("James Edward", "", kNhs));
  recs[0] = recs[1] = prep("James", "1957-01-03", kNhs);
  recs[2] = recs[3] = prep("James", "1985-05-20", kOtherNhs, "B1 1AA");
  joins_father(prep("James", "", kNhs));
}

// A contributor's own identifiers, not checked as NHS numbers: a pair
// whose identifiers differ is left to the weight (safe) whatever its names.
// FEBRL3's "tommy", no family name, on raquel beadle's identifier and date,
// beside "wztkin raquel" at the address: the number against tommy's name
// is decisive over a record whose names conflict with tommy's too.
TEST(ClusteringTest, ANumberAgainstTheNamesIsDecisiveOverARecordWhoseNamesConflictToo) {
  const Model model = TestModel();
  auto prep = [&](const char* given, const char* family, const char* id) {
    Record r;
    r.nhs_number = id;
    r.family_name = family;
    r.given_names = given;
    r.date_of_birth = "1917-03-12";
    r.postcode = "CV1 2AB";
    PreparedRecord p = PrepareRecord(r, {.validate_nhs_number = false});
    model.Annotate(&p);
    return p;
  };
  const PreparedRecord tommy = prep("tommy", "", "5797844"), raquel = prep("raquel", "beadle", "5797844"),
                       wztkin = prep("wztkin", "raquel", "7699627");
  ASSERT_TRUE(model.Score(tommy, raquel).safety.names_overridden);
  ASSERT_EQ(model.Score(tommy, wztkin).safety.safety, PairSafety::kSafe);
  const double l = model.link_weight();
  EXPECT_TRUE(DecisivelyBetter(model, tommy, raquel, l + 9, wztkin, l - 6));
  // A record that agrees with tommy's name is a contest.
  EXPECT_FALSE(DecisivelyBetter(model, tommy, raquel, l + 9, prep("tommy", "raquel", "7699627"), l - 6));
}

// The same record when its match to Lawrence is held below the link
// threshold by the two numbers that differ (the independent population's
// Thomad Lawrence, 4.9 bits from his twin Thomas, merged with Ralph):
// a record whose best link is its number against conflicting names is
// contested at the review threshold (Model::ContestFloor). A record
// matching a second person by number and names alike is not.
TEST(ClusteringTest, ATwinsNumberAgainstTheOtherTwinsNamesIsContestedAtTheReviewThreshold) {
  const Model model = TestModel();
  auto prep = [&](const char* given, const char* nhs) { return Annotated(model, given, "Hall", "1980-11-16", nhs); };
  std::vector<PreparedRecord> recs = {prep("Logan", kNhs), prep("Logan", kNhs), prep("Lawrence", kOtherNhs),
                                      prep("Lawrence", kOtherNhs), prep("Lawrence", kNhs)};
  const double l = model.link_weight(), r = model.review_weight();
  ASSERT_LT(r + 3, l);
  const std::vector<ScoredLink> links = {{0, 1, l + 30}, {2, 3, l + 30}, {0, 4, l + 25},
                                         {1, 4, l + 25}, {2, 4, r + 3},  {3, 4, r + 3}};
  ExpectFifthRecordHeldBetweenTwoPersons(ClusterNew(model, recs, links));
  // Below the review threshold there is no second person to contest it.
  Clustering c = ClusterNew(model, recs, {{0, 1, l + 30}, {2, 3, l + 30}, {0, 4, l + 25}, {1, 4, l + 25}});
  EXPECT_EQ(c.group[4], c.group[0]);
  // Logan's own record, his names and number, is not contested at the
  // review threshold by Lawrence's.
  recs[4] = prep("Logan", kNhs);
  c = ClusterNew(model, recs, links);
  EXPECT_EQ(c.group[4], c.group[0]);
  EXPECT_TRUE(std::none_of(c.review.begin(), c.review.end(),
                           [](const ReviewPair& p) { return p.reason == "ambiguous: matches more than one person"; }));
}

// A record with only household evidence (no date of birth, no number of
// its own) that links one person and matches another at the review
// threshold, within the decisive margin, joins neither. A record with a
// date of birth, or a second person further off or below the review
// threshold, does not make it so.
TEST(ClusteringTest, ARecordWithOnlyHouseholdEvidenceIsContestedAtTheReviewThreshold) {
  const Model model = TestModel();
  const double l = model.link_weight(), r = model.review_weight();
  ASSERT_LT(r + 1, l);
  ASSERT_GE(r + 12, l);
  struct Case {
    const char* dob;
    double own, elsewhere;
    bool ambiguous;
  };
  for (const Case& k : {Case{"", l + 2, r + 1, true}, Case{"1943-05-20", l + 2, r + 1, false},
                        Case{"", l + 2, r - 1, false}, Case{"", r + 12, r + 1, false}}) {
    std::vector<PreparedRecord> recs = {Annotated(model, "Nasreen", "Begum", "1943-05-20", kNhs),
                                        Annotated(model, "Nasreen", "Begum", "1943-05-20", kNhs),
                                        Annotated(model, "Rukhsana Nasreen", "Begum", "1982-08-23", kOtherNhs),
                                        Annotated(model, "Rukhsana Nasreen", "Begum", "1982-08-23", kOtherNhs),
                                        Annotated(model, "Nasreen", "Begum", k.dob, "")};
    ASSERT_EQ(recs[4].HouseholdEvidenceOnly(), k.dob[0] == 0);
    const Clustering c = ClusterNew(model, recs, {{0, 1, l + 30}, {2, 3, l + 30}, {0, 4, k.own}, {2, 4, k.elsewhere}});
    EXPECT_EQ(c.group[0], c.group[1]);
    EXPECT_EQ(c.group[2], c.group[3]);
    EXPECT_NE(c.group[0], c.group[2]);
    EXPECT_EQ(c.group[4] == c.group[0], !k.ambiguous) << k.dob << " " << k.elsewhere;
    EXPECT_NE(c.group[4], c.group[2]);
    const bool held = std::any_of(c.review.begin(), c.review.end(), [](const ReviewPair& p) {
      return p.reason == "ambiguous: matches more than one person";
    });
    EXPECT_EQ(held, k.ambiguous) << k.dob << " " << k.elsewhere;
  }
}

// Harold's records carry his number, one with his name mistyped "Haroold";
// a record of his without it calls him Harry. Harry and Haroold look like
// twins (a slip on a nickname, one date of birth), but Harold explains
// both: Harry joins. So does "James Scott" beside Scott James and "Scptt":
// the same two names in the other order; and Agnes Dorothy's record without
// her number beside "Dorothby", her second name mistyped as her first; and
// "Steohen" beside Matthew Stephen, who also goes by his middle name.
// Lewis's twin Louis, mistyped "Lkuis" on his only record, agrees with none
// of Lewis's records, and stays apart.
TEST(ClusteringTest, ASlipAndANicknameOfOneNameInTheGroupAreOnePerson) {
  const Model model = TestModel();
  struct Case {
    const char *first, *second, *newcomer, *family, *nhs;
    bool joins;
  };
  const Case cases[] = {{"Harold", "Haroold", "Harry", "Fraser", kNhs, true},
                        {"Lewis", "Lewis", "Lkuis", "Hayes", "9434765870", false},
                        {"Scott James", "Scptt", "James Scott", "Gordon", "9434765005", true},
                        {"Agnes Dorothy", "Dorothby", "Agnes Dorothy", "Moore", "9434765919", true},
                        {"Stephen", "Matthew Stephen", "Steohen", "Lowe", "9434765846", true}};
  for (const Case& k : cases) {
    auto prep = [&](const char* given, const char* nhs) {
      return Annotated(model, given, k.family, "2000-09-16", nhs);
    };
    const std::vector<PreparedRecord> recs = {prep(k.first, k.nhs), prep(k.second, k.nhs), prep(k.newcomer, "")};
    // The newcomer and one of the person's records look like twins.
    ASSERT_TRUE(model.Score(recs[0], recs[2]).safety.reason == kTwinsNames ||
                model.Score(recs[1], recs[2]).safety.reason == kTwinsNames)
        << k.newcomer;
    const double l = model.link_weight();
    const Clustering c = ClusterNew(model, recs, {{0, 1, l + 20}, {0, 2, l + 5}});
    EXPECT_EQ(c.group[0], c.group[1]) << k.newcomer;
    EXPECT_EQ(c.group[0] == c.group[2], k.joins) << k.newcomer;
  }
}

// Michael Walter's records carry his number, one with his names in the
// other order, "Walter Michael"; a record without his number calls him
// Mick. Mick and Walter conflict, but the group explains it: Walter Michael
// is Michael Walter's record, its order a contributor's, and Mick is
// Michael; so too when "Walter Michael" carries no number. Twins James
// Roger (one record "Roger James") and Chinedu James: Chinedu's middle
// name is James's first, which is no agreement of first names, and Chinedu
// stays apart. Faith Eleanor's record that calls her by her middle name
// alone, "Eleanor", is no other order of her names: a namesake Faith born
// the same day stays apart. Twin Emma Betty's two records, one "Betty
// Emma", do not tell which is her first name: her twin Elizabeth (Betty)
// stays apart.
TEST(ClusteringTest, NamesInAnotherOrderOnOneRecordDoNotKeepTheGroupsOtherNamesOut) {
  const Model model = TestModel();
  struct Given {
    const char *names, *nhs;
  };
  struct Case {
    const char* family;
    std::vector<Given> group;  // linked to the first; the last conflicts with the newcomer
    Given newcomer;
    size_t agrees_with;  // the group record the newcomer links to
    bool joins;
  };
  const Case cases[] = {
      {"Butt", {{"Michael Walter", kNhs}, {"Michael", kNhs}, {"Walter Michael", kNhs}}, {"Mick", ""}, 0, true},
      {"Butt", {{"Michael Walter", kNhs}, {"Michael", kNhs}, {"Walter Michael", ""}}, {"Mick", ""}, 0, true},
      {"Wright",
       {{"James Roger", "9434765005"}, {"James", "9434765005"}, {"Roger James", "9434765005"}},
       {"Chinedu James", ""},
       0,
       false},
      {"Nwosu",
       {{"Faith Eleanor", "9434765870"}, {"Faith Eleanor", "9434765870"}, {"Eleanor", "9434765870"}},
       {"Faith", ""},
       0,
       false},
      {"Riley", {{"Emma Betty", ""}, {"Betty Emma", ""}, {"Emma Betty", ""}}, {"Elizabeth", kNhs}, 1, false}};
  for (const Case& k : cases) {
    std::vector<PreparedRecord> recs;
    for (const Given& g : k.group) recs.push_back(Annotated(model, g.names, k.family, "1991-12-27", g.nhs));
    recs.push_back(Annotated(model, k.newcomer.names, k.family, "1991-12-27", k.newcomer.nhs));
    const uint32_t last = k.group.size() - 1, newcomer = k.group.size();
    ASSERT_EQ(model.Score(recs[last], recs[newcomer]).safety.reason, kGivenConflict) << k.newcomer.names;
    const double l = model.link_weight();
    std::vector<ScoredLink> links = {{static_cast<uint32_t>(k.agrees_with), newcomer, l + 5}};
    for (uint32_t i = 1; i < newcomer; ++i) links.push_back({0, i, l + 20});
    const Clustering c = ClusterNew(model, recs, links);
    EXPECT_EQ(c.group[0], c.group[last]) << k.newcomer.names;
    EXPECT_EQ(c.group[0] == c.group[newcomer], k.joins) << k.newcomer.names << " beside " << k.group[last].names;
  }
}

// Kenneth's records carry his number, one mistyped "Keneth"; a record of
// his without it reads "Kennneth". The two slips are two edits apart, like
// twins' names, but both are Kenneth mistyped: Kennneth joins. Twins Jack
// and Jake: Jack's records include "Jakc", one slip from Jack, and Jake is a
// name, not a slip: Jake stays apart.
TEST(ClusteringTest, TwoSlipsOfOneNameInTheGroupAreOnePerson) {
  const Model model = TestModel();
  auto prep = [&](const char* given, const char* family, const char* nhs) {
    return Annotated(model, given, family, "1964-01-30", nhs);
  };
  std::vector<PreparedRecord> recs = {prep("Kenneth", "Adeyemi", kNhs),    prep("Keneth", "Adeyemi", kNhs),
                                      prep("Kennneth", "Adeyemi", ""),     prep("Jack", "Doyle", "9434765870"),
                                      prep("Jakc", "Doyle", "9434765870"), prep("Jake", "Doyle", "")};
  ASSERT_EQ(model.Score(recs[1], recs[2]).safety.reason, kTwinsNames);
  ASSERT_EQ(model.Score(recs[3], recs[5]).safety.reason, kTwinsNames);
  ASSERT_EQ(model.Score(recs[4], recs[5]).safety.safety, PairSafety::kSafe);  // one slip apart
  const double l = model.link_weight();
  Clustering c = ClusterNew(model, recs, {{0, 1, l + 20}, {0, 2, l + 15}, {3, 4, l + 20}, {4, 5, l + 5}});
  EXPECT_EQ(c.group[0], c.group[1]);
  EXPECT_EQ(c.group[0], c.group[2]);
  EXPECT_EQ(c.group[3], c.group[4]);
  EXPECT_NE(c.group[3], c.group[5]);
}

// Gemma's records are "Gemma" and "Gmema"; a record without her number
// reads "Gemmq". Gemma, not in the nickname table, is seen far more often
// than either slip, each one slip from her and two from each other: two
// slips of one name, one person. Were Gemma seen only ten times as often,
// the two could be two names, and the record stays apart.
TEST(ClusteringTest, TwoRareSlipsOfACommonNameAreOnePerson) {
  const Model model = TestModel();
  for (const float gemma_share : {1e-2f, 1e-4f}) {
    auto prep = [&](const char* given, const char* nhs, float share) {
      PreparedRecord p = Annotated(model, given, "Bennett", "2002-06-16", nhs);
      p.given_tf = share;
      return p;
    };
    std::vector<PreparedRecord> recs = {prep("Gemma", kNhs, gemma_share), prep("Gmema", kNhs, 1e-5f),
                                        prep("Gemmq", "", 1e-5f)};
    ASSERT_EQ(model.Score(recs[1], recs[2]).safety.reason, kTwinsNames);
    const double l = model.link_weight();
    Clustering c = ClusterNew(model, recs, {{0, 1, l + 20}, {0, 2, l + 5}});
    EXPECT_EQ(c.group[0], c.group[1]);
    EXPECT_EQ(c.group[0] == c.group[2], gemma_share == 1e-2f) << gemma_share;
  }
}

// John's date of birth, 08/04/1989, is keyed 04/08/1989 (day and month
// swapped) on one of his records and 05/04/1989 (one digit) on a record
// without his number: those two differ beyond a keying error, but each is
// one from his own date, and the newcomer joins. His brother of one name
// born months later is one keying error from none of John's dates, and
// stays apart.
TEST(ClusteringTest, DatesOfBirthEachAKeyingErrorFromTheGroupsAreOnePerson) {
  const Model model = TestModel();
  auto prep = [&](const char* dob, const char* nhs) { return Annotated(model, "John", "Evans", dob, nhs); };
  std::vector<PreparedRecord> recs = {prep("1989-04-08", kNhs), prep("1989-08-04", kNhs), prep("1989-04-05", ""),
                                      prep("1990-01-17", "")};
  ASSERT_EQ(model.Score(recs[1], recs[2]).safety.reason, kDobDifferNoNumber);
  ASSERT_EQ(model.Score(recs[0], recs[3]).safety.reason, kDobDifferNoNumber);
  const double l = model.link_weight();
  Clustering c = ClusterNew(model, recs, {{0, 1, l + 20}, {0, 2, l + 15}, {0, 3, l + 1}});
  EXPECT_EQ(c.group[0], c.group[1]);
  EXPECT_EQ(c.group[0], c.group[2]);
  EXPECT_NE(c.group[0], c.group[3]);
}

// James Jones's records carry his number and his date of birth; one, from
// after a move, another postcode. A record without his number or date of
// birth has his names in the wrong fields and the old postcode: against
// the moved record it scores below the review threshold, two differences
// and nothing to outweigh them, but his other records are each sure of
// both, and it joins. One such witness is a record that matches two people
// well, and a witness without a date of birth (an ambulance record with a
// sister's names and address) might be either's: with only those, the weak
// pair holds the join.
TEST(ClusteringTest, AWeakPairTwoDatedRecordsAreEachSureOfDoesNotHoldTheJoin) {
  const Model model = TestModel();
  auto prep = [&](const char* given, const char* family, const char* dob, const char* nhs,
                  const char* postcode = "CV1 2AB") {
    PreparedRecord p = Annotated(model, given, family, dob, nhs, postcode);
    p.sex = Sex::kMale;
    return p;
  };
  const PreparedRecord moved = prep("James", "Jones", "1990-01-08", kNhs, "B1 1AA"),
                       swapped = prep("Jones", "James", "", "");
  const ScoredPair weak = model.Score(moved, swapped);
  ASSERT_EQ(weak.safety.safety, PairSafety::kSafe);
  ASSERT_LT(weak.match_weight, model.review_weight());
  const double l = model.link_weight();
  auto cluster = [&](const std::vector<PreparedRecord>& witnesses) {
    std::vector<PreparedRecord> recs = {moved, swapped};
    std::vector<ScoredLink> links;
    for (const PreparedRecord& w : witnesses) {
      for (const PreparedRecord& other : {moved, swapped}) {
        const ScoredPair s = model.Score(w, other);
        EXPECT_EQ(s.safety.safety, PairSafety::kSafe);
        EXPECT_GE(s.match_weight, l);
      }
      const auto i = static_cast<uint32_t>(recs.size());
      recs.push_back(w);
      links.push_back({0, i, l + 20});
    }
    links.push_back({1, 2, l + 10});
    return ClusterNew(model, recs, links);
  };
  const PreparedRecord dated = prep("James", "Jones", "1990-01-08", kNhs), undated = prep("James", "Jones", "", kNhs);
  const Clustering two = cluster({dated, dated});
  EXPECT_EQ(two.group[0], two.group[1]);
  EXPECT_EQ(two.group[0], two.group[2]);
  for (const auto& witnesses : {std::vector{dated}, std::vector{dated, undated}}) {
    const Clustering c = cluster(witnesses);
    EXPECT_EQ(c.group[0], c.group[2]);
    EXPECT_NE(c.group[0], c.group[1]) << witnesses.size();
    ASSERT_FALSE(c.review.empty());
    EXPECT_EQ(c.review[0].reason, "weak group");
  }
}

// A son's social-care record carries his father's NHS number (a parent's
// number written on a child's record). The father's two records carry it
// too; the son's own record carries his own number. The son's records link
// on their demographics: the number conflict is explained (the number is
// the father's, whose records are of another generation than the son's)
// and they join. Had the father only one record with the number, it would
// be carried as often by the son's group as by his: nobody's to give away,
// and the pair goes to a steward, unless the son's person carries his own
// number on more records than that (the join shows whose number it is).
TEST(ClusteringTest, AParentsNumberOnAChildsRecordDoesNotKeepTheChildApart) {
  const Model model = TestModel();
  constexpr char kSonNhs[] = "4010232137";
  std::vector<PreparedRecord> recs = {Annotated(model, "Gareth", "Morgan", "1958-03-02", kNhs),
                                      Annotated(model, "Gareth", "Morgan", "1958-03-02", kNhs),
                                      Annotated(model, "Owen", "Morgan", "1990-06-14", kSonNhs),
                                      Annotated(model, "Owen", "Morgan", "1990-06-14", kNhs)};
  const SafetyVerdict son_father = model.Score(recs[3], recs[0]).safety;
  ASSERT_EQ(son_father.safety, PairSafety::kDistinct);
  ASSERT_EQ(son_father.reason, kGenerationApart);
  std::vector<uint64_t> existing(recs.size(), 0);
  const double l = model.link_weight();
  {
    ClusterInput in{&recs, &existing, nullptr, &model};
    Clustering c = ClusterRecords(in, {{0, 1, l + 30}, {2, 3, l + 5}});
    EXPECT_EQ(c.group[0], c.group[1]);
    EXPECT_EQ(c.group[2], c.group[3]);
    EXPECT_NE(c.group[0], c.group[2]);
    EXPECT_TRUE(c.review.empty());
  }
  std::vector<PreparedRecord> one_father_record = {recs[0], recs[2], recs[3]};
  existing.resize(one_father_record.size());
  ClusterInput in{&one_father_record, &existing, nullptr, &model};
  Clustering c = ClusterRecords(in, {{1, 2, l + 5}});
  EXPECT_NE(c.group[1], c.group[2]);
  ASSERT_EQ(c.review.size(), 1u);
  EXPECT_EQ(c.review[0].reason, "nhs conflict");

  std::vector<PreparedRecord> two_own_records = {recs[0], recs[2], recs[2], recs[3]};
  existing.resize(two_own_records.size());
  ClusterInput two_in{&two_own_records, &existing, nullptr, &model};
  Clustering two = ClusterRecords(two_in, {{1, 2, l + 30}, {2, 3, l + 5}});
  EXPECT_EQ(two.group[1], two.group[3]);
  EXPECT_NE(two.group[0], two.group[3]);
  EXPECT_TRUE(two.review.empty());
}

// A wife's hospital record carries her husband's NHS number (a spouse's or
// sibling's number: conflicting given names, born two years apart). Her
// records join on their demographics; the husband's stay apart. Twins are
// never given away like this: a twin's number on the other twin's record
// (one date of birth) stays a conflict for a steward.
TEST(ClusteringTest, ARelativesNumberBornYearsApartDoesNotKeepARecordFromItsPerson) {
  const Model model = TestModel();
  constexpr char kWifeNhs[] = "4010232137";
  auto cluster = [&](const char* wife_dob) {
    std::vector<PreparedRecord> recs = {Annotated(model, "Daniel", "Kelly", "1979-04-02", kNhs),
                                        Annotated(model, "Daniel", "Kelly", "1979-04-02", kNhs),
                                        Annotated(model, "Manjit", "Kelly", wife_dob, kWifeNhs),
                                        Annotated(model, "Manjit", "Kelly", wife_dob, kNhs)};
    const double l = model.link_weight();
    return ClusterNew(model, recs, {{0, 1, l + 30}, {2, 3, l + 5}});
  };
  Clustering spouse = cluster("1977-03-21");
  EXPECT_EQ(spouse.group[2], spouse.group[3]);
  EXPECT_NE(spouse.group[0], spouse.group[2]);
  EXPECT_TRUE(spouse.review.empty());

  Clustering twin = cluster("1979-04-02");
  EXPECT_NE(twin.group[2], twin.group[3]);
  EXPECT_NE(twin.group[0], twin.group[3]);
  ASSERT_EQ(twin.review.size(), 1u);
  EXPECT_EQ(twin.review[0].reason, "nhs conflict");
}

// The husband's records carry his number, one of them with his names in
// the wrong fields ("Kelly | Daniel"): that record's verdict beside his
// wife's cannot tell a relative, so it is passed over, and the other tells.
// Had every record of his had the names misplaced, nothing would tell, and
// the number would stay nobody's to give away.
TEST(ClusteringTest, ARelativesRecordWithTheNamesInTheWrongFieldsDoesNotKeepTheNumberTheirs) {
  const Model model = TestModel();
  constexpr char kWifeNhs[] = "4010232137";
  const PreparedRecord husband = Annotated(model, "Daniel", "Kelly", "1979-04-02", kNhs),
                       misplaced = Annotated(model, "Kelly", "Daniel", "1979-04-02", kNhs),
                       wife = Annotated(model, "Manjit", "Kelly", "1977-03-21", kWifeNhs),
                       wife_with_his = Annotated(model, "Manjit", "Kelly", "1977-03-21", kNhs);
  ASSERT_TRUE(NamesInWrongFields(model.Score(wife_with_his, misplaced).pattern));
  const double l = model.link_weight();
  Clustering one_tells = ClusterNew(model, {husband, misplaced, wife, wife_with_his}, {{0, 1, l + 30}, {2, 3, l + 5}});
  EXPECT_EQ(one_tells.group[2], one_tells.group[3]);
  EXPECT_NE(one_tells.group[0], one_tells.group[2]);
  EXPECT_TRUE(one_tells.review.empty());

  Clustering none_tells =
      ClusterNew(model, {misplaced, misplaced, wife, wife_with_his}, {{0, 1, l + 30}, {2, 3, l + 5}});
  EXPECT_NE(none_tells.group[2], none_tells.group[3]);
  ASSERT_EQ(none_tells.review.size(), 1u);
  EXPECT_EQ(none_tells.review[0].reason, "nhs conflict");
}

// Cases from the independent population, each once held as "nhs conflict":
// a junior's record with his father's number (one name, born a generation
// apart) links at the link threshold to the junior's own records, so its
// date agrees with the person it joins and the number is the father's.
TEST(ClusteringTest, AJuniorsRecordWithHisFathersNumberJoinsTheJunior) {
  const Model model = TestModel();
  const PreparedRecord father = Annotated(model, "Elijah", "Smith", "1975-04-21", kNhs),
                       junior = Annotated(model, "Elijah", "Smith", "1999-09-16", kOtherNhs),
                       with_fathers = Annotated(model, "Elijah", "Smith", "1999-09-16", kNhs);
  ASSERT_EQ(model.Score(with_fathers, father).safety.reason, kGenerationApartOnNumber);
  const double l = model.link_weight();
  // Its pair with the father's record, held for review on its own, is no
  // steward's decision once the record is in the junior's person.
  const ScoredLink with_father = {5, 0, model.review_weight() + 1, kGenerationApartOnNumber};
  Clustering c = ClusterNew(model, {father, father, father, junior, junior, with_fathers},
                            {{0, 1, l + 30}, {1, 2, l + 30}, {3, 4, l + 30}, {3, 5, l + 5}, with_father});
  EXPECT_EQ(c.group[5], c.group[3]);
  EXPECT_NE(c.group[5], c.group[0]);
  EXPECT_TRUE(c.review.empty());
  // One record each way, and one of the junior's own: the number is
  // nobody's to give away (NumberOutnumbered).
  Clustering tie = ClusterNew(model, {father, junior, with_fathers},
                              {{1, 2, l + 5}, {2, 0, model.review_weight() + 1, kGenerationApartOnNumber}});
  EXPECT_NE(tie.group[2], tie.group[1]);
  ASSERT_EQ(tie.review.size(), 2u);
  EXPECT_EQ(tie.review[0].reason, "nhs conflict");
  EXPECT_EQ(tie.review[1].reason, kGenerationApartOnNumber);
}

// A person already holding a record with a relative's number beside records
// of her own number ("Pamela Brown" on six records with hers, on one with
// Krzysztof's, who has one record with it) is joined by another record with
// her own number: the union carries hers on more records, so the relative's
// number does not keep the new record out.
TEST(ClusteringTest, ARelativesNumberAlreadyInAPersonDoesNotKeepOutItsOwnNumber) {
  const Model model = TestModel();
  const PreparedRecord hers = Annotated(model, "Pamela", "Brown", "1990-02-12", kOtherNhs),
                       with_his = Annotated(model, "Pamela", "Brown", "1990-02-12", kNhs),
                       his = Annotated(model, "Krzysztof", "Brown", "1960-03-23", kNhs);
  const double l = model.link_weight();
  Clustering c = ClusterNew(model, {hers, hers, with_his, hers, his}, {{0, 1, l + 30}, {1, 2, l + 25}, {3, 0, l + 20}});
  EXPECT_EQ(c.group[2], c.group[0]);
  EXPECT_EQ(c.group[3], c.group[0]);
  EXPECT_NE(c.group[4], c.group[0]);
  EXPECT_TRUE(c.review.empty()) << c.review[0].reason;
}

// A record with a relative's number beside the number's owner, between the
// thresholds, is no steward's decision, even when the record is alone in
// its person.
TEST(ClusteringTest, ARelativesNumberPairIsNotReviewedWhenTheRecordIsAlone) {
  const Model model = TestModel();
  const PreparedRecord husband = Annotated(model, "Daniel", "Kelly", "1979-04-02", kNhs),
                       wife_with_his = Annotated(model, "Manjit", "Kelly", "1975-03-21", kNhs);
  const ScoredPair s = model.Score(wife_with_his, husband);
  ASSERT_EQ(s.safety.reason, kGivenConflictOnNumber);
  ASSERT_TRUE(RelativesNumber(wife_with_his, husband, s.safety));
  const double r = model.review_weight();
  Clustering c = ClusterNew(model, {husband, husband, wife_with_his},
                            {{0, 1, model.link_weight() + 30}, {2, 0, r + 1, kGivenConflictOnNumber}});
  EXPECT_NE(c.group[2], c.group[0]);
  EXPECT_TRUE(c.review.empty()) << c.review[0].reason;
}

// Twins Alfie Joshua (with his number) and Joshua (none) Kingsanby, one
// date of birth, one address: their practice and their hospital each hold
// a record of both. A pair across them links (Joshua is Alfie's middle
// name), but two contributors each holding both is twins, not a patient
// duplicated twice without his number: held for review. So is their
// practice alone holding both. A record of Joshua's in other contributors,
// or in one hospital of Alfie's, joins, as a number in common does.
TEST(ClusteringTest, TwinsEachHeldByTwoContributorsStayApart) {
  const Model model = TestModel();
  auto rec = [&](const char* source, const char* given, const char* nhs) {
    return Annotated(model, given, "Kingsanby", "1996-08-09", nhs, "WR11 5TG", source);
  };
  const double l = model.link_weight();
  auto cluster = [&](const char* b_source1, const char* b_source2, const char* b_nhs) {
    return ClusterNew(model,
                      {rec("M82005", "Alfie Joshua", kNhs), rec("RWP", "Alfie Joshua", kNhs),
                       rec(b_source1, "Joshua", b_nhs), rec(b_source2, "Joshua", b_nhs)},
                      {{0, 1, l + 20}, {2, 3, l + 20}, {0, 2, l + 5}});
  };
  const Clustering twins = cluster("M82005", "RWP", "");
  EXPECT_NE(twins.group[0], twins.group[2]);
  EXPECT_EQ(twins.group[2], twins.group[3]);
  ASSERT_EQ(twins.review.size(), 1u);
  EXPECT_EQ(twins.review[0].reason, kReasonTwinsInTwoContributors);
  // One contributor in common is enough when it is a GP practice, which
  // registers a patient once; a hospital's duplicate records are common.
  const Clustering practice = cluster("M82005", "RKB", "");
  EXPECT_NE(practice.group[0], practice.group[2]);
  EXPECT_EQ(practice.group[2], practice.group[3]);
  ASSERT_EQ(practice.review.size(), 1u);
  EXPECT_EQ(practice.review[0].reason, kReasonTwinsAtOnePractice);
  for (const Clustering& one : {cluster("RWP", "RKB", ""), cluster("RKB", "RYA", ""), cluster("M82005", "RWP", kNhs)}) {
    EXPECT_EQ(one.group[0], one.group[2]);
    EXPECT_EQ(one.group[0], one.group[3]);
  }
}

// Each contributor's other patients: practices and hospitals record the
// number on 99 in 100 records, the ambulance service and the council on
// half.
std::vector<PreparedRecord> ContributorsOtherPatients() {
  std::vector<PreparedRecord> others;
  for (const char* source : {"M82001", "M82002", "RKB", "RWP", "AMB", "SC1"}) {
    const bool reliable = source[0] == 'M' || source[0] == 'R';
    for (int i = 0; i < 100; ++i) {
      Record r;
      r.source = source;
      r.record_id = std::to_string(i);
      r.family_name = "Filler";
      r.nhs_number = (reliable ? i != 0 : i % 2 == 0) ? kOtherNhs : "";
      others.push_back(PrepareRecord(r, {}));
    }
  }
  return others;
}

// Twins Mary and Marie Burgess, one address, one date of birth: Mary's
// records carry her number, Marie's none, though her practice and her
// hospital record a number for nearly every patient. Pair by pair Mary and
// Marie read as one name spelt two ways, and the link across is strong;
// that two reliable contributors both left a numbered patient's number off
// is not (kUnnumberedByChance). Held, whatever order the links come in.
// Records without a number from an ambulance service and a council, which
// often leave it off, under a nickname, are one patient and join; so does
// a group that uses the numbered group's own first name.
TEST(ClusteringTest, TwinsOneUnnumberedWhereTheirContributorsRecordNumbersStayApart) {
  const Model model = TestModel();
  auto rec = [&](const char* source, const char* given, const char* nhs) {
    return Annotated(model, given, "Burgess", "1993-09-05", nhs, "CV6 2AN", source);
  };
  const std::vector<PreparedRecord> others = ContributorsOtherPatients();
  const double l = model.link_weight();
  auto cluster = [&](const char* b_source1, const char* b_given1, const char* b_source2, const char* b_given2,
                     double across) {
    std::vector<PreparedRecord> recs = {rec("M82001", "Mary", kNhs), rec("RKB", "Mary", kNhs),
                                        rec(b_source1, b_given1, ""), rec(b_source2, b_given2, "")};
    recs.insert(recs.end(), others.begin(), others.end());
    return ClusterNew(model, recs, {{0, 1, l + 20}, {2, 3, l + 20}, {0, 2, l + across}});
  };
  // The link across weaker than Marie's own link, and stronger: had it
  // been applied first, Marie's records would have joined Mary one by one,
  // each alone against a numbered group. (The stronger one leaves Marie's
  // record between two persons: ambiguous, for a steward.)
  for (double across : {5.0, 25.0}) {
    for (const char* second : {"Marie", "Maree"}) {  // or two spellings of her name, still none of Mary's
      const Clustering twins = cluster("M82002", "Marie", "RWP", second, across);
      EXPECT_NE(twins.group[0], twins.group[2]) << across << second;
      EXPECT_NE(twins.group[0], twins.group[3]) << across << second;
    }
  }
  const Clustering twins = cluster("M82002", "Marie", "RWP", "Marie", 5);
  EXPECT_EQ(twins.group[2], twins.group[3]);
  ASSERT_EQ(twins.review.size(), 1u);
  EXPECT_EQ(twins.review[0].reason, kReasonTwinsUnnumbered);
  for (const Clustering& one :
       {cluster("AMB", "Polly", "SC1", "Polly", 5), cluster("M82002", "Mary", "RWP", "Marie", 5),
        cluster("M82002", "Marie", "AMB", "Marie", 5)}) {
    EXPECT_EQ(one.group[0], one.group[2]);
    EXPECT_EQ(one.group[0], one.group[3]);
  }
}

// Jane Smith's ambulance record has no number and joins her person, who
// carries hers; a pair between it and Joan Smith's record, who carries
// another, scored a few bits over the review threshold: the pair never saw
// the numbers disagree, the persons do. Counted, it is two registered
// patients and no steward's question. A pair strong enough to stay above
// the review threshold with the disagreement counted, or beside a person
// without a number, is still reviewed.
TEST(ClusteringTest, APairBetweenTwoPersonsWithNumbersOfTheirOwnIsReviewedOnlyIfTheNumbersDisagreeingLeaveItThere) {
  const Model model = TestModel();
  const double l = model.link_weight();
  const double r = model.review_weight();
  const double differ = model.LevelWeight(comparison::kNhsNumber, kNhsDifferent);
  ASSERT_LT(differ, -3);
  ASSERT_GT(l + differ, r) << "a pair just under the link threshold stays for a steward";
  auto cluster = [&](const char* joan_nhs, double across) {
    const std::vector<PreparedRecord> recs = {Annotated(model, "Jane", "Smith", "1961-03-02", kNhs),
                                              Annotated(model, "Jane", "Smith", "1961-03-02", "", "CV1 2AB", "AMB"),
                                              Annotated(model, "Joan", "Smith", "1961-03-02", joan_nhs, "CV3 1AA")};
    return ClusterNew(model, recs, {{0, 1, l + 20}, {1, 2, across}});
  };
  for (double across : {r + 1, r - differ - 0.5}) {
    const Clustering c = cluster(kOtherNhs, across);
    EXPECT_EQ(c.group[0], c.group[1]);
    EXPECT_NE(c.group[1], c.group[2]);
    EXPECT_TRUE(c.review.empty()) << across;
  }
  for (const Clustering& c : {cluster(kOtherNhs, r - differ + 0.5), cluster(kOtherNhs, l - 0.5), cluster("", r + 1)}) {
    EXPECT_NE(c.group[1], c.group[2]);
    ASSERT_EQ(c.review.size(), 1u);
    EXPECT_EQ(c.review[0].reason, "between thresholds");
  }
}

// Rahul Mistry, born one day, registered at a practice and a hospital
// under his number in Coventry; another Rahul Mistry born that day, new to
// the region, seen at a practice and a hospital in Birmingham, neither of
// which has a number for him though both record one for nearly every
// patient (1 in 50 here). Name and date outweigh the addresses by a bit
// over the link threshold, but that both contributors left a numbered
// patient's number off (1 in 2,600) is rarer than a person without one (1
// in 100): held for a steward. A name rare enough to weigh 8 bits more is
// his; so are the same two records at his address, two records from one
// contributor (one registration that was never traced), or two from the
// ambulance service and the council, which often leave the number off.
TEST(ClusteringTest, ANamesakeUnnumberedWhereTheirContributorsRecordNumbersIsHeld) {
  const Model model = TestModel();
  const std::vector<PreparedRecord> others = ContributorsOtherPatients();
  const double l = model.link_weight();
  auto cluster = [&](const char* source1, const char* source2, double across, const char* at = "B6 2RJ") {
    auto rec = [&](const char* source, const char* nhs, const char* postcode) {
      return Annotated(model, "Rahul", "Mistry", "1989-10-21", nhs, postcode, source);
    };
    std::vector<PreparedRecord> recs = {rec("M82001", kNhs, "CV6 2AN"), rec("RKB", kNhs, "CV6 2AN"),
                                        rec(source1, "", at), rec(source2, "", at)};
    recs.insert(recs.end(), others.begin(), others.end());
    return ClusterNew(model, recs, {{0, 1, l + 20}, {2, 3, l + 20}, {0, 2, l + across}});
  };
  const Clustering apart = cluster("M82002", "RWP", 1);
  EXPECT_NE(apart.group[0], apart.group[2]);
  EXPECT_EQ(apart.group[2], apart.group[3]);
  ASSERT_EQ(apart.review.size(), 1u);
  EXPECT_EQ(apart.review[0].reason, kReasonUnnumberedNamesake);
  for (const Clustering& one : {cluster("M82002", "RWP", 8), cluster("M82002", "RWP", 1, "CV6 2AN"),
                                cluster("M82002", "M82002", 1), cluster("AMB", "SC1", 1)}) {
    EXPECT_EQ(one.group[0], one.group[2]);
    EXPECT_EQ(one.group[0], one.group[3]);
  }
}

// A revisit (a real-time ingest's) clusters a few persons' records, too few
// to measure any contributor on: the shares come from the counts of the
// model's training run (Model::number_gaps), and the twins stay apart as
// in a whole link.
TEST(ClusteringTest, TwinsOneUnnumberedInARevisitAreJudgedOnTheTrainingRunsCounts) {
  Model model = TestModel();
  auto rec = [&](const char* source, const char* given, const char* nhs) {
    return Annotated(model, given, "Burgess", "1993-09-05", nhs, "CV6 2AN", source);
  };
  const std::vector<PreparedRecord> recs = {rec("M82001", "Mary", kNhs), rec("RKB", "Mary", kNhs),
                                            rec("M82002", "Marie", ""), rec("RWP", "Marie", "")};
  const double l = model.link_weight();
  const std::vector<ScoredLink> links = {{0, 1, l + 20}, {2, 3, l + 20}, {0, 2, l + 5}};
  const Clustering unmeasured = ClusterNew(model, recs, links);
  EXPECT_EQ(unmeasured.group[0], unmeasured.group[2]) << "four records measure no contributor";
  for (const PreparedRecord& r : ContributorsOtherPatients()) model.number_gaps.Add(r);
  const Clustering revisit = ClusterNew(model, recs, links);
  EXPECT_NE(revisit.group[0], revisit.group[2]);
  EXPECT_EQ(revisit.group[2], revisit.group[3]);
  ASSERT_EQ(revisit.review.size(), 1u);
  EXPECT_EQ(revisit.review[0].reason, kReasonTwinsUnnumbered);
}

}  // namespace
}  // namespace empi
