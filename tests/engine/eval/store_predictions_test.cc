// Copyright EMPI developers.
//
// ReadStore against a real RocksDB store in a temporary directory.
#include <string>

#include "engine/eval/evaluate.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "index/store.h"
#include "tests/temp_dir.h"

namespace empi::eval {
namespace {

class StorePredictionsTest : public ::testing::Test {
 protected:
  void Write(const std::vector<std::pair<std::string, uint64_t>>& records) {
    auto store = index::Store::Open(dir_, {});
    ASSERT_TRUE(store.ok()) << store.status();
    index::ChangeSet changes = (*store)->NewChangeSet();
    for (const auto& [id, person] : records) {
      index::StoredRecord r;
      r.record.source = "RKB";
      r.record.record_id = id;
      r.record.family_name = "Example";
      r.person_id = person;
      changes.PutRecord(r);
      changes.AddMembership(person, r.record.Key());
    }
    ASSERT_TRUE((*store)->Commit(&changes, nullptr, /*sync=*/false).ok());
  }

  testing::TempDir tmp_;
  const std::string& dir_ = tmp_.path();
};

TEST_F(StorePredictionsTest, ReadsEveryRecordWithItsPerson) {
  Write({{"K1", 7}, {"K2", 7}, {"K3", 9}, {"K4", 9}});
  auto truth =
      TruthFromAssignments({{"RKB", "K1", "P1"}, {"RKB", "K2", "P1"}, {"RKB", "K3", "P1"}, {"RKB", "K4", "P2"}});
  ASSERT_TRUE(truth.ok());
  Evaluator evaluator(*truth, nullptr);
  ASSERT_TRUE(ReadStore(dir_, &evaluator).ok());
  Evaluation e = evaluator.Finish();
  EXPECT_EQ(e.records, 4);
  EXPECT_EQ(e.predicted_persons, 2);
  EXPECT_EQ(e.missing_records, 0);
  EXPECT_EQ(e.true_positive_pairs, 1u);  // K1-K2
  EXPECT_EQ(e.predicted_pairs, 2u);
  EXPECT_EQ(e.true_pairs, 3u);
  EXPECT_EQ(e.false_merges, 1);  // person 9 holds P1's K3 and P2's K4
  EXPECT_EQ(e.split_persons, 1);
}

TEST_F(StorePredictionsTest, MissingDirectoryIsNotFound) {
  auto truth = TruthFromAssignments({{"RKB", "K1", "P1"}});
  ASSERT_TRUE(truth.ok());
  Evaluator evaluator(*truth, nullptr);
  EXPECT_EQ(ReadStore(dir_ + "/absent", &evaluator).code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace empi::eval
