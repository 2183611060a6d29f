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

// An earlier change left its marker with D's flag stale (its objection in
// review cleared): a batch writer's marker (`partial` false: a link) or a
// partial writer's, the writer killed before its update.
void LeaveStaleFlagOfD(Store* store, bool partial) {
  ChangeSet cs = store->NewChangeSet();
  PersonValue d = *store->GetPerson(4).value();
  d.objection_in_review = false;
  cs.PutPerson(4, d);
  if (partial) {
    ASSERT_TRUE(MarkReviewObjectionsDirty(*store, &cs).ok());
  } else {
    cs.PutMeta(kMetaReviewObjectionsDirty, "");
  }
  ASSERT_TRUE(store->Commit(&cs, nullptr, false).ok());
}

// A later change that touches only A must not take that marker for its own
// and delete it with D still uncovered: it recomputes every flag (for a
// partial writer's marker too, since whose flags it meant is not known).
TEST_F(ReviewObjectionsTest, AnEarlierChangesMarkerIsNotTakenForThePresentOnes) {
  for (bool partial : {false, true}) {
    SCOPED_TRACE(partial ? "a partial writer's marker" : "a batch writer's marker");
    LeaveStaleFlagOfD(store_.get(), partial);
    Withdraw(1);
    EXPECT_FALSE(InReview(2));
    EXPECT_TRUE(InReview(4)) << "the earlier change's stale flag lost its marker";
    EXPECT_FALSE(store_->GetMeta(kMetaReviewObjectionsDirty).value().has_value());
  }
}

}  // namespace
}  // namespace empi
