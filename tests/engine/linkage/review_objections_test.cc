// Copyright EMPI developers.
#include "engine/linkage/review_objections.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "tests/temp_dir.h"

namespace empi {
namespace {

using index::ChangeSet;
using index::kMetaReviewObjectionsDirty;
using index::PersonValue;
using index::Store;

// Four persons of one record each: A (objects) in review with B, C
// (objects) in review with D. Every flag is current: B's and D's set.
class ReviewObjectionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = Store::Open(dir_.path() + "/db", {});
    ASSERT_TRUE(opened.ok()) << opened.status();
    store_ = *std::move(opened);
    ChangeSet cs = store_->NewChangeSet();
    for (uint64_t pid = 1; pid <= 4; ++pid) {
      index::StoredRecord r;
      r.record.source = "RKB";
      r.record.record_id = std::to_string(pid);
      r.person_id = pid;
      cs.PutRecord(r);
      cs.AddMembership(pid, r.record.Key());
      PersonValue p;
      p.objection = pid == 1 || pid == 3;
      p.objection_in_review = pid == 2 || pid == 4;
      cs.PutPerson(pid, p);
    }
    cs.PutReview(Key(1), Key(2), {.match_weight = 5, .match_probability = 0.9, .reason = "between thresholds"});
    cs.PutReview(Key(3), Key(4), {.match_weight = 5, .match_probability = 0.9, .reason = "between thresholds"});
    ASSERT_TRUE(store_->Commit(&cs, nullptr, false).ok());
  }

  static std::string Key(uint64_t pid) {
    Record r;
    r.source = "RKB";
    r.record_id = std::to_string(pid);
    return r.Key();
  }

  bool InReview(uint64_t pid) {
    auto p = store_->GetPerson(pid);
    EXPECT_TRUE(p.ok() && p->has_value());
    return p.ok() && p->has_value() && (*p)->objection_in_review;
  }

  // A change that withdraws `pid`'s objection, marked and committed; then
  // the update for `pid` alone.
  void Withdraw(uint64_t pid) {
    ChangeSet cs = store_->NewChangeSet();
    PersonValue p = *store_->GetPerson(pid).value();
    p.objection = false;
    cs.PutPerson(pid, p);
    ASSERT_TRUE(MarkReviewObjectionsDirty(*store_, &cs).ok());
    ASSERT_TRUE(store_->Commit(&cs, nullptr, false).ok());
    ASSERT_TRUE(UpdateReviewObjections(store_.get(), {pid}).ok());
  }

  testing::TempDir dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(ReviewObjectionsTest, AnUpdateBringsTheChangedPersonsPartnersUpToDate) {
  Withdraw(1);
  EXPECT_FALSE(InReview(2));
  EXPECT_TRUE(InReview(4));
  EXPECT_FALSE(store_->GetMeta(kMetaReviewObjectionsDirty).value().has_value());
}

// An earlier change (a link, a crash before its update) left its marker and
// stale flags: D's objection in review was never set. A later change that
// touches only A must not take that marker for its own and delete it with
// D still uncovered; it recomputes every flag.
TEST_F(ReviewObjectionsTest, AnEarlierChangesMarkerIsNotTakenForThePresentOnes) {
  ChangeSet stale = store_->NewChangeSet();
  PersonValue d = *store_->GetPerson(4).value();
  d.objection_in_review = false;
  stale.PutPerson(4, d);
  stale.PutMeta(kMetaReviewObjectionsDirty, "");
  ASSERT_TRUE(store_->Commit(&stale, nullptr, false).ok());

  Withdraw(1);
  EXPECT_FALSE(InReview(2));
  EXPECT_TRUE(InReview(4)) << "the earlier change's stale flag lost its marker";
  EXPECT_FALSE(store_->GetMeta(kMetaReviewObjectionsDirty).value().has_value());
}

// The same when the earlier marker is a partial writer's own, left by a
// crash between its commit and its update: whose flags it meant is not
// known, so every flag is recomputed.
TEST_F(ReviewObjectionsTest, APartialMarkerLeftByACrashMeansEveryFlag) {
  ChangeSet crashed = store_->NewChangeSet();
  PersonValue d = *store_->GetPerson(4).value();
  d.objection_in_review = false;
  crashed.PutPerson(4, d);
  ASSERT_TRUE(MarkReviewObjectionsDirty(*store_, &crashed).ok());
  ASSERT_TRUE(store_->Commit(&crashed, nullptr, false).ok());
  // No update: the writer died here.

  Withdraw(1);
  EXPECT_TRUE(InReview(4));
  EXPECT_FALSE(InReview(2));
}

}  // namespace
}  // namespace empi
