// Copyright EMPI developers.
#include "engine/eval/evaluate.h"

#include <random>
#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/temp_dir.h"

namespace empi::eval {
namespace {

using ::testing::DoubleEq;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Records "S/<id>" in the clusters given as a string per record: "aabc"
// puts records 0,1 in cluster a, 2 in b, 3 in c.
std::vector<Assignment> Clustering(std::string_view labels) {
  std::vector<Assignment> out;
  for (size_t i = 0; i < labels.size(); ++i) {
    out.push_back({"S", std::to_string(i), std::string(1, labels[i])});
  }
  return out;
}

Evaluation Eval(std::string_view truth_labels, std::string_view predicted_labels) {
  auto truth = TruthFromAssignments(Clustering(truth_labels));
  EXPECT_TRUE(truth.ok()) << truth.status();
  auto e = Evaluate(*truth, Clustering(predicted_labels), nullptr);
  EXPECT_TRUE(e.ok()) << e.status();
  return *e;
}

TEST(EvaluateTest, PerfectClustering) {
  Evaluation e = Eval("aabccc", "xxyzzz");
  EXPECT_EQ(e.records, 6);
  EXPECT_EQ(e.true_persons, 3);
  EXPECT_EQ(e.predicted_persons, 3);
  EXPECT_EQ(e.true_positive_pairs, 4u);
  EXPECT_EQ(e.predicted_pairs, 4u);
  EXPECT_EQ(e.true_pairs, 4u);
  EXPECT_EQ(e.precision, 1);
  EXPECT_EQ(e.recall, 1);
  EXPECT_EQ(e.f1, 1);
  EXPECT_EQ(e.bcubed_precision, 1);
  EXPECT_EQ(e.bcubed_recall, 1);
  EXPECT_EQ(e.false_merges, 0);
  EXPECT_EQ(e.split_persons, 0);
  EXPECT_EQ(e.missing_records, 0);
}

TEST(EvaluateTest, EverythingInOneCluster) {
  Evaluation e = Eval("aabccc", "xxxxxx");
  EXPECT_EQ(e.predicted_pairs, 15u);
  EXPECT_EQ(e.true_pairs, 4u);
  EXPECT_EQ(e.true_positive_pairs, 4u);
  EXPECT_THAT(e.precision, DoubleEq(4.0 / 15));
  EXPECT_EQ(e.recall, 1);
  EXPECT_THAT(e.f1, DoubleEq(2 * (4.0 / 15) / (4.0 / 15 + 1)));
  EXPECT_EQ(e.false_merges, 1);
  EXPECT_EQ(e.false_merge_records, 6);
  EXPECT_THAT(e.false_merges_per_10k_persons, DoubleEq(10000.0 / 3));
  EXPECT_EQ(e.split_persons, 0);
  EXPECT_THAT(e.bcubed_precision, DoubleEq((4 + 1 + 9) / 6.0 / 6));
  EXPECT_EQ(e.bcubed_recall, 1);
}

TEST(EvaluateTest, AllSingletons) {
  Evaluation e = Eval("aabccc", "uvwxyz");
  EXPECT_EQ(e.predicted_pairs, 0u);
  EXPECT_EQ(e.precision, 1);  // no predicted pair is wrong
  EXPECT_EQ(e.recall, 0);
  EXPECT_EQ(e.f1, 0);
  EXPECT_EQ(e.false_merges, 0);
  EXPECT_EQ(e.split_persons, 2);  // a and c
  EXPECT_EQ(e.bcubed_precision, 1);
  EXPECT_THAT(e.bcubed_recall, DoubleEq(3.0 / 6));  // sum of 1/|true| = persons
}

TEST(EvaluateTest, KnownContingencyTable) {
  // True A = {0,1,2,3}, B = {4,5}, C = {6}; predicted X = {0,1,4}, Y = {2,3,5,6}.
  // n(A,X)=2 n(B,X)=1 n(A,Y)=2 n(B,Y)=1 n(C,Y)=1.
  Evaluation e = Eval("AAAABBC", "XXYYXYY");
  EXPECT_EQ(e.true_positive_pairs, 2u);
  EXPECT_EQ(e.predicted_pairs, 3u + 6u);
  EXPECT_EQ(e.true_pairs, 6u + 1u);
  EXPECT_THAT(e.precision, DoubleEq(2.0 / 9));
  EXPECT_THAT(e.recall, DoubleEq(2.0 / 7));
  EXPECT_EQ(e.false_merges, 2);
  EXPECT_EQ(e.false_merge_records, 7);
  EXPECT_EQ(e.split_persons, 2);
  EXPECT_THAT(e.bcubed_precision, DoubleEq((5.0 / 3 + 6.0 / 4) / 7));
  EXPECT_THAT(e.bcubed_recall, DoubleEq((1 + 1 + 0.5 + 0.5 + 1) / 7));
}

TEST(EvaluateTest, BCubedBaggaBaldwinExample) {
  // Bagga & Baldwin (1998), figure 1: truth {1-5} {6,7} {8-12}; the response
  // merges the last two. B-cubed precision 16/21 (76%), recall 100%.
  Evaluation e = Eval("aaaaabbccccc", "xxxxxyyyyyyy");
  EXPECT_THAT(e.bcubed_precision, DoubleEq(16.0 / 21));
  EXPECT_EQ(e.bcubed_recall, 1);
  EXPECT_EQ(e.false_merges, 1);
  EXPECT_EQ(e.false_merge_records, 7);
}

TEST(EvaluateTest, MissingRecordsAreErrorsScoredAsSingletons) {
  auto truth = TruthFromAssignments(Clustering("aaab"));
  ASSERT_TRUE(truth.ok());
  std::vector<Assignment> predicted = Clustering("xxx");  // record 3 absent
  predicted[2].record_id = "3";                           // and 2 absent
  auto e = Evaluate(*truth, predicted, nullptr);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->records, 4);
  EXPECT_EQ(e->missing_records, 1);
  EXPECT_THAT(e->missing_examples, ElementsAre("S/2"));
  // Records 0,1 and 3 together: a-a right, a-b twice wrong; a-a pairs with 2 lost.
  EXPECT_EQ(e->true_positive_pairs, 1u);
  EXPECT_EQ(e->predicted_pairs, 3u);
  EXPECT_EQ(e->true_pairs, 3u);
  EXPECT_EQ(e->split_persons, 1);
  EXPECT_EQ(e->false_merges, 1);
  EXPECT_EQ(e->predicted_persons, 1);
}

TEST(EvaluateTest, MissingExamplesAreCapped) {
  auto truth = TruthFromAssignments(Clustering("abcdefgh"));
  ASSERT_TRUE(truth.ok());
  Evaluator evaluator(*truth, nullptr, /*max_listed=*/3);
  Evaluation e = evaluator.Finish();
  EXPECT_EQ(e.missing_records, 8);
  EXPECT_EQ(e.missing_examples.size(), 3u);
}

TEST(EvaluateTest, ExtraRecordsAgainstRecordTruthAreCountedAndLeftOut) {
  auto truth = TruthFromAssignments(Clustering("aa"));
  ASSERT_TRUE(truth.ok());
  std::vector<Assignment> predicted = Clustering("xx");
  predicted.push_back({"T", "9", "x"});
  auto e = Evaluate(*truth, predicted, nullptr);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->extra_records, 1);
  EXPECT_TRUE(e->extra_records_are_errors);
  EXPECT_THAT(e->extra_examples, ElementsAre("T/9"));
  EXPECT_EQ(e->records, 2);
  EXPECT_EQ(e->precision, 1);
  EXPECT_EQ(e->false_merges, 0);
}

TEST(EvaluateTest, RecordPredictedTwiceIsAnError) {
  auto truth = TruthFromAssignments(Clustering("ab"));
  ASSERT_TRUE(truth.ok());
  std::vector<Assignment> predicted = Clustering("xy");
  predicted.push_back(predicted[0]);
  auto e = Evaluate(*truth, predicted, nullptr);
  ASSERT_FALSE(e.ok());
  EXPECT_THAT(e.status().message(), HasSubstr("S/0 appears twice"));
}

TEST(EvaluateTest, HardCaseBreakdown) {
  std::string truth_path = testing::WriteTestFile("hard_truth.csv",
                                                  "source,record_id,person\n"
                                                  "S,1,P1\nS,2,P1\nS,3,P2\nS,4,P2\nS,5,P3\nS,6,P3\n");
  std::string cases_path =
      testing::WriteTestFile("hard_cases.csv", "person,hard_case\nP1,twin\nP2,twin\nP3,junk\nP1,junk\n");
  auto truth = LoadTruth(truth_path);
  ASSERT_TRUE(truth.ok()) << truth.status();
  auto cases = LoadHardCases(cases_path, *truth);
  ASSERT_TRUE(cases.ok()) << cases.status();
  // The twins are merged into one person; P3 is split.
  std::vector<Assignment> predicted = {{"S", "1", "x"}, {"S", "2", "x"}, {"S", "3", "x"},
                                       {"S", "4", "x"}, {"S", "5", "y"}, {"S", "6", "z"}};
  auto e = Evaluate(*truth, predicted, &*cases);
  ASSERT_TRUE(e.ok()) << e.status();
  ASSERT_EQ(e->hard_cases.size(), 2u);
  const auto& [twin_name, twin] = e->hard_cases[0];
  EXPECT_EQ(twin_name, "twin");
  EXPECT_EQ(twin.persons, 2);
  EXPECT_EQ(twin.records, 4);
  EXPECT_EQ(twin.true_pairs, 2u);
  EXPECT_EQ(twin.recall, 1);
  EXPECT_EQ(twin.touching_clusters, 1);
  EXPECT_THAT(twin.precision, DoubleEq(2.0 / 6));
  EXPECT_EQ(twin.false_merges, 1);
  EXPECT_EQ(twin.false_merge_records, 4);
  EXPECT_EQ(twin.split_persons, 0);
  const auto& [junk_name, junk] = e->hard_cases[1];
  EXPECT_EQ(junk_name, "junk");
  EXPECT_EQ(junk.persons, 2);
  EXPECT_EQ(junk.true_pairs, 2u);
  EXPECT_EQ(junk.true_positive_pairs, 1u);
  EXPECT_THAT(junk.recall, DoubleEq(0.5));
  EXPECT_EQ(junk.touching_clusters, 3);
  EXPECT_EQ(junk.touching_predicted_pairs, 6u);
  EXPECT_EQ(junk.false_merges, 1);
  EXPECT_EQ(junk.split_persons, 1);
  EXPECT_EQ(e->split_persons, 1);
  EXPECT_EQ(ToJson(*e)["hard_cases"]["twin"]["false_merges"], 1);
}

TEST(EvaluateTest, HardCaseForUnknownPersonNamesLine) {
  auto truth = LoadTruth(testing::WriteTestFile("t1.csv", "source,record_id,person\nS,1,P1\n"));
  ASSERT_TRUE(truth.ok());
  auto cases = LoadHardCases(testing::WriteTestFile("c1.csv", "person,hard_case\nP1,twin\nP9,twin\n"), *truth);
  ASSERT_FALSE(cases.ok());
  EXPECT_EQ(cases.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(cases.status().message(), HasSubstr("c1.csv:3"));
}

TEST(LoadTruthTest, RecordTruthWithExtraColumnsAndQuotes) {
  auto truth = LoadTruth(testing::WriteTestFile("t2.csv",
                                                "source,record_id,person,hard_case\n"
                                                "RKB,\"K,1\",P1,twin\nRYA,A1,P1,\nRKB,K2,P2,\n"));
  ASSERT_TRUE(truth.ok()) << truth.status();
  EXPECT_EQ(truth->kind, Truth::Kind::kRecords);
  EXPECT_EQ(truth->records.size(), 3u);
  EXPECT_EQ(truth->persons.size(), 2u);
  EXPECT_NE(truth->records.Find(std::string("RKB\0K,1", 7)), Interner::kNotFound);
}

TEST(LoadTruthTest, BadRowsNameFileAndLine) {
  auto short_row = LoadTruth(testing::WriteTestFile("t3.csv", "source,record_id,person\nS,1,P\nS,2\n"));
  EXPECT_EQ(short_row.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(short_row.status().message(), HasSubstr("t3.csv:3"));
  auto twice = LoadTruth(testing::WriteTestFile("t4.csv", "source,record_id,person\nS,1,P\nS,1,Q\n"));
  EXPECT_THAT(twice.status().message(), HasSubstr("t4.csv:3: record S/1 listed twice"));
  auto header = LoadTruth(testing::WriteTestFile("t5.csv", "a,b,c\n"));
  EXPECT_THAT(header.status().message(), HasSubstr("t5.csv:1: unrecognised truth header"));
  EXPECT_EQ(LoadTruth("/nonexistent/truth.csv").status().code(), absl::StatusCode::kNotFound);
}

TEST(LoadTruthTest, FebrlPairTruthJoinsPairsIntoPersons) {
  auto truth = LoadTruth(testing::WriteTestFile("links.csv",
                                                "rec_id_1,rec_id_2\n"
                                                "rec-1-dup-0,rec-1-org\nrec-1-dup-1,rec-1-dup-0\n"
                                                "rec-2-org,rec-2-dup-0\n"));
  ASSERT_TRUE(truth.ok()) << truth.status();
  EXPECT_EQ(truth->kind, Truth::Kind::kPairs);
  EXPECT_FALSE(truth->keyed_by_source);
  EXPECT_EQ(truth->records.size(), 5u);
  EXPECT_EQ(truth->persons.size(), 2u);
  // rec-3-org is in no pair: a true singleton, not an error.
  std::vector<Assignment> predicted = {{"febrl", "rec-1-org", "1"},   {"febrl", "rec-1-dup-0", "1"},
                                       {"febrl", "rec-1-dup-1", "1"}, {"febrl", "rec-2-org", "2"},
                                       {"febrl", "rec-2-dup-0", "3"}, {"febrl", "rec-3-org", "4"}};
  auto e = Evaluate(*truth, predicted, nullptr);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->records, 6);
  EXPECT_EQ(e->true_persons, 3);
  EXPECT_EQ(e->predicted_persons, 4);
  EXPECT_EQ(e->true_pairs, 4u);
  EXPECT_EQ(e->true_positive_pairs, 3u);
  EXPECT_EQ(e->precision, 1);
  EXPECT_THAT(e->recall, DoubleEq(0.75));
  EXPECT_EQ(e->extra_records, 1);
  EXPECT_FALSE(e->extra_records_are_errors);
  EXPECT_EQ(e->missing_records, 0);
}

TEST(LoadTruthTest, FebrlPairTruthRejectsOneIdUnderTwoSources) {
  auto truth = LoadTruth(testing::WriteTestFile("links4.csv", "rec_id_a,rec_id_b\nrec-0-org,rec-0-dup-0\n"));
  ASSERT_TRUE(truth.ok()) << truth.status();
  std::vector<Assignment> predicted = {{"A", "rec-0-org", "1"}, {"B", "rec-0-org", "2"}};
  auto e = Evaluate(*truth, predicted, nullptr);
  ASSERT_FALSE(e.ok());
  EXPECT_THAT(e.status().message(), HasSubstr("appears under sources A and B"));
}

TEST(LoadTruthTest, FebrlPairTruthWithSources) {
  TruthOptions options{"A", "B"};
  auto truth = LoadTruth(testing::WriteTestFile("links5.csv", "rec_id_a,rec_id_b\nr1,r1\nr2,r3\n"), options);
  ASSERT_TRUE(truth.ok()) << truth.status();
  EXPECT_TRUE(truth->keyed_by_source);
  std::vector<Assignment> predicted = {{"A", "r1", "1"}, {"B", "r1", "1"}, {"A", "r2", "2"}, {"B", "r3", "3"}};
  auto e = Evaluate(*truth, predicted, nullptr);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->true_pairs, 2u);
  EXPECT_EQ(e->true_positive_pairs, 1u);
  EXPECT_EQ(e->split_persons, 1);
}

TEST(ReadClustersFileTest, ReadsFirstThreeColumnsAndNamesBadLines) {
  auto truth = TruthFromAssignments(Clustering("aab"));
  ASSERT_TRUE(truth.ok());
  {
    Evaluator evaluator(*truth, nullptr);
    ASSERT_TRUE(ReadClustersFile(testing::WriteTestFile("c.csv",
                                                        "source,record_id,person_id,objection\n"
                                                        "S,0,7,false\nS,1,7,true\nS,2,8,false\n"),
                                 &evaluator)
                    .ok());
    Evaluation e = evaluator.Finish();
    EXPECT_EQ(e.f1, 1);
  }
  {
    Evaluator evaluator(*truth, nullptr);
    absl::Status s =
        ReadClustersFile(testing::WriteTestFile("c2.csv", "source,record_id,person_id\nS,0,7\nS,0,8\n"), &evaluator);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(s.message(), HasSubstr("c2.csv:3: record S/0 appears twice"));
  }
  {
    Evaluator evaluator(*truth, nullptr);
    absl::Status s = ReadClustersFile(testing::WriteTestFile("c3.csv", "id,person\n"), &evaluator);
    EXPECT_THAT(s.message(), HasSubstr("c3.csv:1: expected a header"));
  }
}

TEST(ToJsonTest, HasTheDocumentedKeys) {
  nlohmann::json j = ToJson(Eval("aab", "xxy"));
  for (const char* key :
       {"records", "true_persons", "predicted_persons", "precision", "recall", "f1", "true_positive_pairs",
        "predicted_pairs", "true_pairs", "false_merges", "false_merge_records", "false_merges_per_10k_persons",
        "split_persons", "missing_records", "extra_records", "bcubed_precision", "bcubed_recall", "hard_cases"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["f1"], 1.0);
  EXPECT_THAT(FormatEvaluation(Eval("aab", "xxy")), HasSubstr("pairwise precision"));
}

// The contingency-count figures agree with listing every pair.
TEST(EvaluatePropertyTest, MatchesNaivePairListing) {
  std::mt19937 rng(20240611);
  for (int trial = 0; trial < 1500; ++trial) {
    const int n = std::uniform_int_distribution<int>(0, 25)(rng);
    const int true_k = std::uniform_int_distribution<int>(1, 8)(rng);
    const int pred_k = std::uniform_int_distribution<int>(1, 8)(rng);
    std::string truth_labels, pred_labels;
    for (int i = 0; i < n; ++i) {
      truth_labels += static_cast<char>('a' + std::uniform_int_distribution<int>(0, true_k - 1)(rng));
      pred_labels += static_cast<char>('A' + std::uniform_int_distribution<int>(0, pred_k - 1)(rng));
    }
    Evaluation e = Eval(truth_labels, pred_labels);
    uint64_t tp = 0, pp = 0, tpairs = 0;
    double bp = 0, br = 0;
    for (int i = 0; i < n; ++i) {
      for (int j = i + 1; j < n; ++j) {
        bool same_true = truth_labels[i] == truth_labels[j];
        bool same_pred = pred_labels[i] == pred_labels[j];
        tp += same_true && same_pred;
        pp += same_pred;
        tpairs += same_true;
      }
      // B-cubed by definition: per record, the share of its predicted
      // cluster that is truly its person, and of its person that is in it.
      int both = 0, in_pred = 0, in_true = 0;
      for (int j = 0; j < n; ++j) {
        in_pred += pred_labels[j] == pred_labels[i];
        in_true += truth_labels[j] == truth_labels[i];
        both += pred_labels[j] == pred_labels[i] && truth_labels[j] == truth_labels[i];
      }
      bp += static_cast<double>(both) / in_pred;
      br += static_cast<double>(both) / in_true;
    }
    // Naive false merges and splits: clusters with two labels of the other kind.
    int false_merges = 0, splits = 0;
    for (char p = 'A'; p < 'A' + pred_k; ++p) {
      std::set<char> t;
      for (int i = 0; i < n; ++i)
        if (pred_labels[i] == p) t.insert(truth_labels[i]);
      false_merges += t.size() > 1;
    }
    for (char c = 'a'; c < 'a' + true_k; ++c) {
      std::set<char> p;
      for (int i = 0; i < n; ++i)
        if (truth_labels[i] == c) p.insert(pred_labels[i]);
      splits += p.size() > 1;
    }
    SCOPED_TRACE(truth_labels + " / " + pred_labels);
    ASSERT_EQ(e.true_positive_pairs, tp);
    ASSERT_EQ(e.predicted_pairs, pp);
    ASSERT_EQ(e.true_pairs, tpairs);
    ASSERT_EQ(e.precision, pp == 0 ? 1.0 : static_cast<double>(tp) / pp);
    ASSERT_EQ(e.recall, tpairs == 0 ? 1.0 : static_cast<double>(tp) / tpairs);
    ASSERT_EQ(e.false_merges, false_merges);
    ASSERT_EQ(e.split_persons, splits);
    if (n > 0) {
      ASSERT_NEAR(e.bcubed_precision, bp / n, 1e-12);
      ASSERT_NEAR(e.bcubed_recall, br / n, 1e-12);
    }
  }
}

}  // namespace
}  // namespace empi::eval
