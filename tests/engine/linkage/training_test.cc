// Copyright EMPI developers.
#include "engine/linkage/training.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/engine/linkage/linkage_test_util.h"

namespace empi {
namespace {

using testing_linkage::RecordGenerator;

struct Population {
  std::vector<PreparedRecord> records;
  std::vector<BlockKeys> keys;
  std::vector<CandidatePair> candidates;
  double true_lambda = 0;  // true matching pairs / all pairs
};

// Persons with one to four noisy records each.
Population MakePopulation(int persons, uint64_t seed) {
  RecordGenerator gen(seed);
  Population pop;
  double matches = 0;
  for (int p = 0; p < persons; ++p) {
    Record truth = gen.Person();
    int n = gen.Uniform(1, 4);
    matches += n * (n - 1) / 2.0;
    pop.records.push_back(PrepareRecord(truth, {}));
    for (int k = 1; k < n; ++k) pop.records.push_back(PrepareRecord(gen.Noisy(truth), {}));
  }
  double n = static_cast<double>(pop.records.size());
  pop.true_lambda = matches / (n * (n - 1) / 2);
  BlockingRules rules = BlockingRules::Default();
  for (const auto& r : pop.records) pop.keys.push_back(ComputeBlockKeys(rules, r));
  BlockingReport report;
  pop.candidates =
      GenerateCandidates(pop.records, pop.keys, std::vector<bool>(pop.records.size(), false), rules, 300, &report);
  return pop;
}

TEST(TrainingTest, LearnsSensibleParametersFromKnownDuplicates) {
  Population pop = MakePopulation(2500, 17);
  Model model = Model::Default();
  TrainingReport report;
  ASSERT_TRUE(Train(pop.records, pop.candidates, pop.keys, BlockingRules::Default(), &model, &report).ok());
  EXPECT_GT(report.u_pairs, 0u);
  EXPECT_EQ(report.em_pairs, pop.candidates.size());
  EXPECT_GT(report.em_patterns, 10u);
  EXPECT_GT(report.em_iterations, 0);
  for (int c = 0; c < kNumComparisons; ++c) {
    EXPECT_GT(model.m[c][1], model.u[c][1]) << Comparisons()[c].name;
    // The "else" level, the last trained one, is evidence against a match.
    size_t last = model.m[c].size() - 1;
    while (!IsTrainedLevel(c, last)) --last;
    EXPECT_LT(model.m[c][last], model.u[c][last]) << Comparisons()[c].name;
    double msum = 0, usum = 0;
    for (size_t l = 1; l < model.m[c].size(); ++l) {
      EXPECT_GT(model.m[c][l], 0);
      EXPECT_GT(model.u[c][l], 0);
      if (!IsTrainedLevel(c, l)) continue;  // marginal: a sum of trained levels
      msum += model.m[c][l];
      usum += model.u[c][l];
    }
    EXPECT_NEAR(msum, 1.0, 1e-6) << Comparisons()[c].name;
    // u of the exact level comes from value collisions, the others from a
    // sample, so u need not sum to exactly one; it must stay close.
    EXPECT_NEAR(usum, 1.0, 0.1) << Comparisons()[c].name;
  }
  EXPECT_GT(model.lambda(), pop.true_lambda / 3) << "true " << pop.true_lambda;
  EXPECT_LT(model.lambda(), pop.true_lambda * 3) << "true " << pop.true_lambda;
  // Term frequencies were built.
  size_t with_family = 0;
  for (const PreparedRecord& r : pop.records) with_family += !r.family.empty();
  EXPECT_EQ(model.family_tf.total(), with_family);
}

// Sessions on household-keyed rules would read relatives as matches: those
// rules add candidates but must not change m.
TEST(TrainingTest, HouseholdRulesDoNotTrainM) {
  Population pop = MakePopulation(800, 23);
  auto train = [&](const std::string& names) {
    BlockingRules rules = *BlockingRules::FromNames(names);
    std::vector<BlockKeys> keys;
    for (const auto& r : pop.records) keys.push_back(ComputeBlockKeys(rules, r));
    BlockingReport report;
    std::vector<CandidatePair> candidates =
        GenerateCandidates(pop.records, keys, std::vector<bool>(pop.records.size(), false), rules, 300, &report);
    Model model = Model::Default();
    TrainingReport tr;
    EXPECT_TRUE(Train(pop.records, candidates, keys, rules, &model, &tr).ok());
    return model;
  };
  Model base = train("nhs_number,dob_postcode");
  Model with = train(
      "nhs_number,dob_postcode,given_phonetic_postcode,family_phonetic_postcode,"
      "names_phonetic_house_number");
  for (int c = 0; c < kNumComparisons; ++c) {
    for (size_t l = 1; l < base.m[c].size(); ++l) {
      EXPECT_DOUBLE_EQ(base.m[c][l], with.m[c][l]) << Comparisons()[c].name << " level " << l;
    }
  }
}

TEST(TrainingTest, DeterministicForASeed) {
  Population pop = MakePopulation(800, 5);
  std::string first;
  for (int run = 0; run < 3; ++run) {
    Model model = Model::Default();
    TrainingReport report;
    ASSERT_TRUE(Train(pop.records, pop.candidates, pop.keys, BlockingRules::Default(), &model, &report).ok());
    std::string json = model.ToJson().dump();
    if (run == 0)
      first = json;
    else
      EXPECT_TRUE(json == first) << "model differs on run " << run;
  }
  // Another seed samples other random pairs for u.
  ModelSettings s;
  s.seed = 43;
  Model other = Model::Default(s);
  TrainingReport report;
  ASSERT_TRUE(Train(pop.records, pop.candidates, pop.keys, BlockingRules::Default(), &other, &report).ok());
  EXPECT_NE(other.ToJson().dump(), first);
}

TEST(TrainingTest, TooLittleDataIsAnError) {
  Population pop = MakePopulation(1, 1);
  Model model = Model::Default();
  TrainingReport report;
  absl::Status s = Train({pop.records[0]}, {}, {pop.keys[0]}, BlockingRules::Default(), &model, &report);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace empi
