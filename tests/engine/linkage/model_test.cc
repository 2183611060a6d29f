// Copyright EMPI developers.
#include "engine/linkage/model.h"

#include <cmath>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "engine/linkage/training.h"
#include "gtest/gtest.h"

namespace empi {
namespace {

Model TrainedLooking() {
  ModelSettings s;
  s.link_threshold = 0.999;
  s.review_threshold = 0.7;
  s.seed = 7;
  Model m = Model::Default(s);
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> p(0.001, 0.9);
  for (int c = 0; c < kNumComparisons; ++c) {
    for (size_t l = 1; l < m.m[c].size(); ++l) {
      m.m[c][l] = p(rng);
      m.u[c][l] = p(rng) / 7;
    }
  }
  m.lambda_ = 3.25e-5;
  m.family_tf.Add("smith", 40);
  m.family_tf.Add("nowak", 2);
  m.family_tf.Add("zoltan", 1);
  m.given_tf.Add("john", 9);
  m.dob_tf.Add(DobFrequencyKey(19920101), 30);
  m.dob_tf.AddUntracked(500);
  for (int i = 0; i < 40; ++i) {
    PreparedRecord r;
    r.source = i % 2 == 0 ? 17 : 4'000'000'000u;
    r.nhs = i % 8 == 0 ? 0 : 9434765919;
    m.number_gaps.Add(r);
  }
  m.Refresh();
  return m;
}

uint32_t RandomPattern(std::mt19937_64& rng) {
  uint32_t p = 0;
  for (int c = 0; c < kNumComparisons; ++c) {
    int n = static_cast<int>(Comparisons()[c].levels.size());
    p = WithGamma(p, c, std::uniform_int_distribution<int>(0, n - 1)(rng));
  }
  return p;
}

TEST(ModelTest, JsonRoundTripKeepsEveryWeight) {
  Model m = TrainedLooking();
  std::string text = m.ToJson().dump();
  auto back = Model::FromJson(nlohmann::json::parse(text));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->lambda(), m.lambda());
  EXPECT_EQ(back->settings().link_threshold, 0.999);
  EXPECT_EQ(back->settings().review_threshold, 0.7);
  EXPECT_EQ(back->settings().seed, 7u);
  for (int c = 0; c < kNumComparisons; ++c) {
    for (size_t l = 1; l < m.m[c].size(); ++l) {
      EXPECT_EQ(back->m[c][l], m.m[c][l]);
      EXPECT_EQ(back->u[c][l], m.u[c][l]);
    }
  }
  for (const char* v : {"smith", "nowak", "zoltan", "unseen"}) {
    EXPECT_EQ(back->family_tf.Frequency(v), m.family_tf.Frequency(v)) << v;
  }
  EXPECT_EQ(back->dob_tf.FrequencyBesidesPair("19920101"), m.dob_tf.FrequencyBesidesPair("19920101"));
  for (uint32_t source : {17u, 4'000'000'000u}) {
    EXPECT_EQ(back->number_gaps.Of(source).records, 20u) << source;
    EXPECT_EQ(back->number_gaps.Of(source).unnumbered, source == 17 ? 5u : 0u) << source;
  }
  PreparedRecord a;
  a.family = "smith";
  a.given1 = "john";
  a.dob = 19920101;
  m.Annotate(&a);
  ASSERT_GT(a.dob_tf, 0);
  std::mt19937_64 rng(11);
  for (int i = 0; i < 2000; ++i) {
    uint32_t p = RandomPattern(rng);
    EXPECT_EQ(back->Weight(p, a, a), m.Weight(p, a, a));
  }
  EXPECT_EQ(back->ToJson().dump(), text);
  // Splink vocabulary.
  nlohmann::json j = m.ToJson();
  EXPECT_EQ(j["comparisons"].size(), static_cast<size_t>(kNumComparisons));
  EXPECT_TRUE(j["comparisons"][0]["comparison_levels"][0]["is_null_level"].get<bool>());
  EXPECT_TRUE(j["comparisons"][0]["comparison_levels"][1].contains("m_probability"));
}

TEST(ModelTest, AnEstimatedDateManyRecordsShareWeighsLessAndNeverMore) {
  // 10,000 records with a date of birth: 40 carry 1 January 1992, the
  // estimate of an age; two carry 1 July 1985, one person's birthday.
  Model m = Model::Default();
  std::vector<PreparedRecord> records(10000);
  for (size_t i = 0; i < records.size(); ++i) {
    records[i].dob = i < 40 ? 19920101 : i < 42 ? 19850701 : 19500000 + static_cast<int32_t>(i % 12 + 1) * 100 + 15;
  }
  BuildTermFrequencies(records, &m);
  EXPECT_NEAR(m.dob_tf.FrequencyBesidesPair(DobFrequencyKey(19920101)), 38 / 10000.0, 1e-7);
  EXPECT_NEAR(m.dob_tf.FrequencyBesidesPair(DobFrequencyKey(19850701)), 1 / 10000.0, 1e-7);

  auto dated = [&](int32_t dob) {
    PreparedRecord r;
    r.dob = dob;
    m.Annotate(&r);
    return r;
  };
  const PreparedRecord guess = dated(19920101), birthday = dated(19850701), other = dated(19700315);
  const double date_agrees = m.Score(other, other).match_weight;
  // The common estimate: u replaced by its frequency, 38 of 10,000.
  EXPECT_NEAR(m.Score(guess, guess).match_weight,
              date_agrees - std::log2(0.0038 / m.u[comparison::kDateOfBirth][kDobExact]), 1e-3);
  EXPECT_TRUE(m.Explain(guess, guess).comparisons[comparison::kDateOfBirth].tf_adjusted);
  // One person's 1 July on two records is as strong as any date agreeing,
  // not stronger for being rare.
  EXPECT_EQ(m.Score(birthday, birthday).match_weight, date_agrees);
  EXPECT_FALSE(m.Explain(birthday, birthday).comparisons[comparison::kDateOfBirth].tf_adjusted);
}

TEST(ModelTest, MarginalLevelWeighsTheLevelsItCannotTellApart) {
  Model m = TrainedLooking();
  const double mm = m.m[comparison::kPostcode][1] + m.m[comparison::kPostcode][2] + m.m[comparison::kPostcode][3];
  const double uu = m.u[comparison::kPostcode][1] + m.u[comparison::kPostcode][2] + m.u[comparison::kPostcode][3];
  EXPECT_DOUBLE_EQ(m.m[comparison::kPostcode][kPostcodeUnitAddressUnknown], mm);
  EXPECT_DOUBLE_EQ(m.u[comparison::kPostcode][kPostcodeUnitAddressUnknown], uu);
  PreparedRecord a;
  const uint32_t unknown = WithGamma(0, comparison::kPostcode, kPostcodeUnitAddressUnknown);
  EXPECT_NEAR(m.Weight(unknown, a, a) - m.Weight(0, a, a), std::log2(mm / uu), 1e-9);

  // A model written before the level existed reads, with the level derived.
  nlohmann::json j = m.ToJson();
  for (auto& comp : j["comparisons"]) {
    if (comp["output_column_name"] == "postcode") comp["comparison_levels"].erase(kPostcodeUnitAddressUnknown);
  }
  auto old = Model::FromJson(j);
  ASSERT_TRUE(old.ok()) << old.status();
  EXPECT_DOUBLE_EQ(old->Weight(unknown, a, a), m.Weight(unknown, a, a));
}

TEST(ModelTest, BadJsonIsAnErrorNotAnException) {
  nlohmann::json good = TrainedLooking().ToJson();
  auto expect_error = [&](nlohmann::json j, const std::string& needle) {
    absl::StatusOr<Model> m = Model::FromJson(j);
    ASSERT_FALSE(m.ok()) << needle;
    EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(m.status().message().find(needle), std::string::npos) << m.status();
  };
  nlohmann::json j = good;
  j["format"] = "splink";
  expect_error(j, "format");
  j = good;
  j.erase("link_threshold");
  expect_error(j, "link_threshold");
  j = good;
  j["review_threshold"] = 0.9999;
  expect_error(j, "review_threshold");
  j = good;
  j["probability_two_random_records_match"] = 1.5;
  expect_error(j, "probability_two_random_records_match");
  j = good;
  j["comparisons"][2]["output_column_name"] = "shoe_size";
  expect_error(j, "shoe_size");
  j = good;
  j["comparisons"][3]["comparison_levels"].erase(2);
  expect_error(j, "levels");
  j = good;
  j["comparisons"][1]["comparison_levels"][1]["m_probability"] = "high";
  expect_error(j, "model JSON");
  expect_error(nlohmann::json::array(), "model JSON");
  expect_error(nlohmann::json("text"), "model JSON");
  // Each contributor's counts of records without a number.
  j = good;
  j["contributors_without_nhs_number"] = nlohmann::json::array();
  expect_error(j, "contributors_without_nhs_number");
  j = good;
  j["contributors_without_nhs_number"]["RKB"] = {{"records", 5}, {"without_nhs_number", 1}};
  expect_error(j, "\"RKB\" is not a contributor hash");
  j = good;
  j["contributors_without_nhs_number"]["17"] = {{"records", 5}, {"without_nhs_number", 6}};
  expect_error(j, "more records without a number than records");
  j = good;
  j["contributors_without_nhs_number"]["17"] = {{"records", -5}};
  expect_error(j, "records");
  j = good;
  j["contributors_without_nhs_number"]["17"] = 12;
  expect_error(j, "model JSON");
}

// Seen while writing fuzz_model (issue 16), and confirmed by it under UBSan:
// an imported model whose provenance has negative estimated_matches reached
// static_cast<uint64_t> of a negative double in UntrustedReason (undefined
// behaviour; an unsanitized build printed 18446744073709551615).
TEST(ModelTest, NegativeEstimatedMatchesIsUntrustedWithoutOverflow) {
  nlohmann::json j = TrainedLooking().ToJson();
  j["provenance"] = {{"origin", "trained"}, {"candidate_pairs", 5000}, {"estimated_matches", -1.5}};
  absl::StatusOr<Model> m = Model::FromJson(j);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(UntrustedReason(m->provenance), "trained on 0 estimated matches (fewer than 200)");
  const nlohmann::json out = m->ToJson();
  EXPECT_EQ(out["provenance"]["trusted"], false);
  EXPECT_EQ(out["provenance"]["untrusted_reason"], "trained on 0 estimated matches (fewer than 200)");
}

// Seen while writing fuzz_model (issue 16), and confirmed by it under UBSan:
// nlohmann's get<integer>() casts a float without a range check, so an
// integer field given 1e10 or -2.5 was undefined behaviour, and a negative
// integer count wrapped to a huge one. Every integer field is now checked.
TEST(ModelTest, IntegerFieldsOutOfRangeAreErrors) {
  const nlohmann::json good = TrainedLooking().ToJson();
  ASSERT_TRUE(good["term_frequencies"]["family_name"]["counts"].is_object());
  const std::vector<std::pair<nlohmann::json::json_pointer, nlohmann::json>> cases = {
      {"/seed"_json_pointer, -2.5},
      {"/seed"_json_pointer, 1e30},
      {"/provenance/em_iterations"_json_pointer, 1e10},
      {"/provenance/em_iterations"_json_pointer, 3000000000LL},
      {"/provenance/records"_json_pointer, -1},
      {"/provenance/candidate_pairs"_json_pointer, 2.5},
      {"/term_frequencies/family_name/total"_json_pointer, -7},
      {"/term_frequencies/given_names/counts/SOMEONE"_json_pointer, -3.5},
  };
  for (const auto& [where, value] : cases) {
    nlohmann::json j = good;
    j[where] = value;
    absl::StatusOr<Model> m = Model::FromJson(j);
    EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument) << where << " = " << value;
    EXPECT_NE(m.status().message().find("model JSON"), std::string::npos) << m.status();
  }
}

TEST(ModelTest, CommonSurnameWeighsLessThanRareOne) {
  Model m = Model::Default();
  for (int i = 0; i < 200; ++i) m.family_tf.Add("smith", 1);
  m.family_tf.Add("zoltan", 1);
  for (int i = 0; i < 799; ++i) m.family_tf.Add("other" + std::to_string(i), 1);
  EXPECT_NEAR(m.family_tf.Frequency("smith"), 0.2, 1e-6);
  EXPECT_NEAR(m.family_tf.Frequency("zoltan"), 0.001, 1e-6);
  EXPECT_NEAR(m.family_tf.Frequency("never seen"), 0.001, 1e-6);  // counts as seen once

  PreparedRecord smith, zoltan;
  smith.family = smith.family_first = smith.family_last = "smith";
  zoltan.family = zoltan.family_first = zoltan.family_last = "zoltan";
  m.Annotate(&smith);
  m.Annotate(&zoltan);
  double ws = m.Score(smith, smith).match_weight, wz = m.Score(zoltan, zoltan).match_weight;
  EXPECT_LT(ws, wz);
  EXPECT_NEAR(wz - ws, std::log2(0.2 / 0.001), 1e-3);
  // The explanation shows the adjusted u and adds up to the total.
  Explanation e = m.Explain(zoltan, zoltan);
  double sum = e.prior_weight;
  for (const ComparisonWeight& c : e.comparisons) sum += c.match_weight;
  EXPECT_NEAR(sum, e.total.match_weight, 1e-9);
  EXPECT_TRUE(e.comparisons[comparison::kFamilyName].tf_adjusted);
  EXPECT_NEAR(e.comparisons[comparison::kFamilyName].u, 0.001, 1e-6);
  // Switched off, both weigh the same.
  m.mutable_settings().term_frequency_adjustments = false;
  EXPECT_EQ(m.Score(smith, smith).match_weight, m.Score(zoltan, zoltan).match_weight);
}

// A swap sets both name comparisons to "swapped"; it is the same two names
// in other fields, and weighs what they weigh agreeing in place, not the
// learned level twice (which made a swapped James Williams outweigh a date
// of birth and join two namesakes born on one day).
TEST(ModelTest, ASwapWeighsWhatTheNamesWeighInPlace) {
  Model m = TrainedLooking();
  // As EM leaves it: u of "swapped" at its floor, about 12 bits each.
  for (int c : {comparison::kFamilyName, comparison::kGivenNames}) {
    m.m[c][kFamilySwapped] = 0.014;
    m.u[c][kFamilySwapped] = 3.5e-6;
  }
  m.family_tf = TermFrequencies();
  m.given_tf = TermFrequencies();
  for (auto [name, family, given] :
       {std::tuple{"williams", 300, 2}, {"james", 30, 400}, {"zoltan", 1, 0}, {"kasia", 0, 1}, {"other", 9000, 9000}}) {
    if (family > 0) m.family_tf.Add(name, family);
    if (given > 0) m.given_tf.Add(name, given);
  }
  m.Refresh();
  auto named = [&](const char* family, const char* given) {
    PreparedRecord r;
    r.family = r.family_first = r.family_last = family;
    r.given1 = given;
    m.Annotate(&r);
    return r;
  };
  const PreparedRecord in_place = named("williams", "james"), swapped = named("james", "williams");
  const ScoredPair s = m.Score(in_place, swapped);
  ASSERT_EQ(GammaOf(s.pattern, comparison::kFamilyName), kFamilySwapped);
  ASSERT_EQ(GammaOf(s.pattern, comparison::kGivenNames), kGivenSwapped);
  const double agreeing = m.Score(in_place, in_place).match_weight;
  EXPECT_NEAR(s.match_weight, agreeing, 1e-9);
  EXPECT_EQ(m.Score(swapped, in_place).match_weight, s.match_weight);
  // Two records entered swapped alike agree on names commoner the other
  // way round: no rarer than the names in their usual fields.
  EXPECT_NEAR(m.Score(swapped, swapped).match_weight, agreeing, 1e-9);
  // Rare names swapped are still strong evidence; with a keying slip (which
  // makes any name look rare) no more than the average agreement.
  const PreparedRecord rare = named("zoltan", "kasia");
  const double rare_swap = m.Score(rare, named("kasia", "zoltan")).match_weight;
  EXPECT_GT(rare_swap, agreeing + 5);
  const ScoredPair slip = m.Score(rare, named("kasia", "zoltn"));
  ASSERT_EQ(GammaOf(slip.pattern, comparison::kFamilyName), kFamilySwapped);
  m.mutable_settings().term_frequency_adjustments = false;
  const double average = m.Score(in_place, in_place).match_weight;
  EXPECT_NEAR(slip.match_weight, average, 1e-9);
  EXPECT_LT(slip.match_weight, rare_swap);
  // Where the level itself weighs less (the informed priors say a swap is
  // weaker evidence than agreement), the swap keeps the level's weight.
  for (int c : {comparison::kFamilyName, comparison::kGivenNames}) m.u[c][kFamilySwapped] = m.m[c][kFamilySwapped];
  m.Refresh();
  EXPECT_NEAR(m.Score(in_place, swapped).match_weight, m.Weight(0, in_place, swapped), 1e-9);
}

// Over many random names and frequencies, with and without a keying slip
// on one side: a swap weighs the same whichever record comes first, never
// more than the two names agreeing in place on one of the records, and
// never more than the learned level.
TEST(ModelTest, ASwapNeverOutweighsTheNamesInPlace) {
  std::mt19937_64 rng(11);
  auto word = [&] {
    std::string w;
    for (int n = std::uniform_int_distribution<int>(4, 9)(rng); n > 0; --n) {
      w += static_cast<char>('a' + std::uniform_int_distribution<int>(0, 25)(rng));
    }
    return w;
  };
  int swaps = 0;
  for (int trial = 0; trial < 300; ++trial) {
    Model m = TrainedLooking();
    for (int c : {comparison::kFamilyName, comparison::kGivenNames}) {
      m.u[c][kFamilySwapped] = std::uniform_real_distribution<double>(1e-6, 1e-2)(rng);
    }
    m.family_tf = TermFrequencies();
    m.given_tf = TermFrequencies();
    std::vector<std::string> names;
    for (int i = 0; i < 12; ++i) {
      names.push_back(word());
      m.family_tf.Add(names.back(), std::uniform_int_distribution<int>(0, 500)(rng));
      m.given_tf.Add(names.back(), std::uniform_int_distribution<int>(0, 500)(rng));
    }
    m.Refresh();
    auto named = [&](const std::string& family, const std::string& given) {
      PreparedRecord r;
      r.family = r.family_first = r.family_last = family;
      r.given1 = given;
      m.Annotate(&r);
      return r;
    };
    for (int k = 0; k < 20; ++k) {
      const std::string& x = names[rng() % names.size()];
      const std::string& y = names[rng() % names.size()];
      std::string slipped = y;
      if (rng() % 2 == 0) slipped.erase(rng() % slipped.size(), 1);
      const PreparedRecord a = named(x, y), b = named(slipped, x);
      const ScoredPair s = m.Score(a, b);
      if (GammaOf(s.pattern, comparison::kFamilyName) != kFamilySwapped ||
          GammaOf(s.pattern, comparison::kGivenNames) != kGivenSwapped) {
        continue;
      }
      ++swaps;
      EXPECT_EQ(m.Score(b, a).match_weight, s.match_weight) << x << " " << y << " " << slipped;
      EXPECT_LE(s.match_weight, std::max(m.Score(a, a).match_weight, m.Score(b, b).match_weight) + 1e-9)
          << x << " " << y << " " << slipped;
      double learned = m.Weight(0, a, b);
      for (int c : {comparison::kFamilyName, comparison::kGivenNames}) {
        learned += std::log2(m.m[c][kFamilySwapped] / m.u[c][kFamilySwapped]);
      }
      EXPECT_LE(s.match_weight, learned + 1e-9);
    }
  }
  EXPECT_GT(swaps, 1000);
}

TEST(ModelTest, ExplainingARestrictedPatientWithholdsOnlyWhereTheyLive) {
  const Model m = Model::Informed();
  Record r;
  r.source = "RKB";
  r.record_id = "1";
  r.nhs_number = "9434765919";
  r.family_name = "Khan";
  r.given_names = "Amir";
  r.date_of_birth = "1970-03-01";
  r.postcode = "CV1 2AB";
  r.sex = "M";
  PreparedRecord a = PrepareRecord(r, FieldConventions{});
  m.Annotate(&a);
  const Explanation open = m.Explain(a, a);
  const Explanation held = m.Explain(a, a, /*withhold_location=*/true);
  ASSERT_EQ(held.comparisons.size(), open.comparisons.size());
  for (size_t c = 0; c < held.comparisons.size(); ++c) {
    const ComparisonWeight& h = held.comparisons[c];
    if (RevealsLocation(static_cast<int>(c))) {
      EXPECT_TRUE(h.withheld);
      EXPECT_EQ(h.gamma, -1);
      EXPECT_EQ(h.match_weight, 0);
      EXPECT_GT(open.comparisons[c].gamma, 0);  // the postcodes agree
    } else {
      EXPECT_FALSE(h.withheld) << c;
      EXPECT_EQ(h.gamma, open.comparisons[c].gamma) << c;
      EXPECT_EQ(h.match_weight, open.comparisons[c].match_weight) << c;
    }
  }
  EXPECT_EQ(held.total.match_weight, open.total.match_weight);  // the decision is not changed
}

TEST(ModelTest, ProbabilityAndWeightAreInverse) {
  EXPECT_DOUBLE_EQ(Model::Probability(0), 0.5);
  for (double w = -25; w <= 25; w += 0.37) {
    EXPECT_NEAR(Model::WeightOf(Model::Probability(w)), w, 1e-6 * (1 + std::abs(w))) << w;
  }
  for (double p : {1e-6, 0.01, 0.5, 0.9, 0.9999}) EXPECT_NEAR(Model::Probability(Model::WeightOf(p)), p, 1e-12);
  // Extremes stay finite and ordered.
  EXPECT_EQ(Model::Probability(5000), 1.0);
  EXPECT_EQ(Model::Probability(-5000), 0.0);
  EXPECT_TRUE(std::isfinite(Model::WeightOf(1.0)));
  EXPECT_TRUE(std::isfinite(Model::WeightOf(0.0)));
  Model m = Model::Default();
  EXPECT_GT(m.link_weight(), m.review_weight());
}

TEST(ModelTest, NullLevelsAddNothing) {
  Model m = TrainedLooking();
  PreparedRecord empty;
  EXPECT_DOUBLE_EQ(m.Weight(0, empty, empty), std::log2(m.lambda() / (1 - m.lambda())));
}

// The informed priors (Model::Informed): probabilities, and what they decide
// before any training: the same patient agreeing on every field links; a
// mistyped given name with everything else agreeing links; two strangers
// sharing only sex and a postcode area do not come near review; a shared
// NHS number alone with nothing else known is not enough to link.
TEST(ModelTest, InformedPriorsLinkTheSamePatientAndNotStrangers) {
  const Model m = Model::Informed();
  EXPECT_EQ(m.provenance.origin, "default");
  EXPECT_FALSE(UntrustedReason(m.provenance).empty());
  for (int c = 0; c < kNumComparisons; ++c) {
    double msum = 0, usum = 0;
    for (size_t l = 1; l < m.m[c].size(); ++l) {
      if (!IsTrainedLevel(c, l)) continue;
      EXPECT_GT(m.m[c][l], 0) << c << " " << l;
      EXPECT_GT(m.u[c][l], 0) << c << " " << l;
      msum += m.m[c][l];
      usum += m.u[c][l];
    }
    EXPECT_NEAR(msum, 1, 1e-9) << c;
    EXPECT_NEAR(usum, 1, 1e-9) << c;
  }
  auto pattern = [](std::initializer_list<std::pair<int, int>> gammas) {
    uint32_t p = 0;
    for (auto [c, g] : gammas) p = WithGamma(p, c, g);
    return p;
  };
  const PreparedRecord plain;
  const uint32_t same = pattern({{comparison::kNhsNumber, kNhsExact},
                                 {comparison::kFamilyName, kNameExact},
                                 {comparison::kGivenNames, kNameExact},
                                 {comparison::kDateOfBirth, kDobExact},
                                 {comparison::kPostcode, 1},
                                 {comparison::kSex, 1}});
  EXPECT_GE(m.Weight(same, plain, plain), m.link_weight());
  const uint32_t typo_no_nhs = pattern({{comparison::kFamilyName, kNameExact},
                                        {comparison::kGivenNames, 5},
                                        {comparison::kDateOfBirth, kDobExact},
                                        {comparison::kPostcode, 3},
                                        {comparison::kSex, 1}});
  EXPECT_GE(m.Weight(typo_no_nhs, plain, plain), m.link_weight());
  const uint32_t strangers = pattern({{comparison::kNhsNumber, kNhsDifferent},
                                      {comparison::kFamilyName, 8},
                                      {comparison::kGivenNames, 9},
                                      {comparison::kDateOfBirth, kDobElse},
                                      {comparison::kPostcode, 8},
                                      {comparison::kSex, 1}});
  EXPECT_LT(m.Weight(strangers, plain, plain), m.review_weight() - 20);
  EXPECT_LT(m.Weight(pattern({{comparison::kNhsNumber, kNhsExact}}), plain, plain), m.link_weight());
}

}  // namespace
}  // namespace empi
