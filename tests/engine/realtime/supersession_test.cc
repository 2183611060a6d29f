// Copyright EMPI developers.
//
// NHS number supersession through the library (issue 14, item 4): the old
// number means the new one in matching, resolution and objections, and the
// change is in each person's history.
#include <string>

#include "empi/engine.h"
#include "gtest/gtest.h"
#include "tests/engine/realtime/test_population.h"

namespace empi {
namespace {

using testing::MakePatients;
using testing::RecordOf;
using testing::ValidNhs;

class SupersessionTest : public testing::EngineFixture {
 protected:
  void SetUp() override {
    Reopen();
    patients_ = MakePatients(6, 3);
    retired_ = ValidNhs(900001);  // a number the national resolution retired
  }
  // Patient `i`'s record from `source` under `nhs`.
  Record WithNumber(int i, const std::string& source, const std::string& id, const std::string& nhs) {
    Record r = RecordOf(patients_[i], source, id, true);
    r.nhs_number = nhs;
    return r;
  }
  SupersessionResult Supersede(const std::string& old_nhs, const std::string& new_nhs) {
    auto r = engine_->Supersede({old_nhs, new_nhs}, who_);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : SupersessionResult{};
  }
  std::string retired_;
};

TEST_F(SupersessionTest, RecordsUnderTheOldNumberJoinThePersonOfTheNew) {
  auto a = engine_->Ingest(WithNumber(0, "M84001", "G1", patients_[0].nhs), who_);
  ASSERT_TRUE(a.ok()) << a.status();
  // Before: a record of the same patient under the retired number is kept
  // apart (two valid numbers that differ are two people).
  auto before = engine_->Ingest(WithNumber(0, "RKB", "K0", retired_), who_);
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_NE(before->person_id, a->person_id);

  SupersessionResult s = Supersede(retired_, patients_[0].nhs);
  EXPECT_TRUE(s.added);
  EXPECT_EQ(s.persons.size(), 2u);
  EXPECT_EQ(s.review_pairs, 1u);  // two stored persons: a steward joins them

  // The steward joins them; a later record under the retired number then
  // links to the person, where before it would have been kept apart.
  ASSERT_TRUE(engine_->Merge(a->person_id, before->person_id, who_, "superseded number").ok());
  auto after = engine_->Ingest(WithNumber(0, "RYW", "W1", retired_), who_);
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(after->outcome, IngestOutcome::kLinked);
  EXPECT_EQ(after->person_id, a->person_id);

  auto history = engine_->History(a->person_id, who_);
  ASSERT_TRUE(history.ok());
  bool recorded = false;
  for (const HistoryEntry& h : *history) recorded |= h.json.find("nhs-superseded") != std::string::npos;
  EXPECT_TRUE(recorded);
}

// A father registered twice: his records under the retired number, and his
// son's care record under the number that replaces it. Once the retired
// number is superseded, the father's records hold the new one too, and the
// number resolves to him: on the son's record it is a relative's.
TEST_F(SupersessionTest, AFathersRecordsMovedToTheNewNumberMakeItARelativesOnTheSonsRecord) {
  const std::string fathers_new = patients_[3].nhs;
  auto [father, son] = testing::MakeFatherAndSon(patients_[2], fathers_new);
  auto care = engine_->Ingest(RecordOf(son, "CWC-SC", "S3", true), who_);
  ASSERT_TRUE(care.ok());
  father.nhs = retired_;
  auto f1 = engine_->Ingest(RecordOf(father, "M84001", "F1", true), who_);
  ASSERT_TRUE(f1.ok());
  ASSERT_TRUE(engine_->Ingest(RecordOf(father, "RKB", "F2", true), who_).ok());
  auto before = engine_->ResolveByNhsNumber(fathers_new, who_);
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_EQ(before->person_id, care->person_id);
  Supersede(retired_, fathers_new);
  for (const std::string& number : {fathers_new, retired_}) {
    auto after = engine_->ResolveByNhsNumber(number, who_);
    ASSERT_TRUE(after.ok()) << after.status();
    EXPECT_EQ(after->person_id, f1->person_id);
  }
}

TEST_F(SupersessionTest, ResolvingByTheOldNumberFindsThePersonOfTheNew) {
  auto a = engine_->Ingest(WithNumber(1, "M84001", "G1", patients_[1].nhs), who_);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(engine_->ResolveByNhsNumber(retired_, who_).status().code(), absl::StatusCode::kNotFound);
  Supersede(retired_, patients_[1].nhs);
  auto r = engine_->ResolveByNhsNumber(retired_, who_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->person_id, a->person_id);
  // Known after a restart: the supersession is in the store.
  Reopen();
  r = engine_->ResolveByNhsNumber(retired_, who_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->person_id, a->person_id);
}

TEST_F(SupersessionTest, AChainIsFollowedToItsEnd) {
  const std::string middle = ValidNhs(900002);
  auto a = engine_->Ingest(WithNumber(2, "M84001", "G1", patients_[2].nhs), who_);
  ASSERT_TRUE(a.ok());
  Supersede(retired_, middle);
  Supersede(middle, patients_[2].nhs);
  auto r = engine_->ResolveByNhsNumber(retired_, who_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->person_id, a->person_id);
}

TEST_F(SupersessionTest, APendingObjectionUnderTheOldNumberHoldsForTheNew) {
  auto pending = engine_->RegisterObjection({retired_}, who_);
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->outcome, ObjectionOutcome::kPending);
  SupersessionResult s = Supersede(retired_, patients_[3].nhs);
  EXPECT_TRUE(s.pending_moved);
  auto a = engine_->Ingest(WithNumber(3, "M84001", "G1", patients_[3].nhs), who_);
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->objection_applied);
  auto r = engine_->Resolve("M84001", "G1", who_);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->objection);
  auto view = engine_->MayAssembleView(a->person_id, who_);
  ASSERT_TRUE(view.ok());
  EXPECT_FALSE(view->allowed);
}

TEST_F(SupersessionTest, AnObjectionOfEitherPersonHoldsForBoth) {
  auto a = engine_->Ingest(WithNumber(4, "M84001", "G1", patients_[4].nhs), who_);
  auto b = engine_->Ingest(WithNumber(4, "RKB", "K4", retired_), who_);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_NE(a->person_id, b->person_id);
  ASSERT_TRUE(engine_->RegisterObjection({retired_}, who_).ok());
  SupersessionResult s = Supersede(retired_, patients_[4].nhs);
  EXPECT_TRUE(s.objection_extended);
  EXPECT_TRUE(engine_->Resolve("M84001", "G1", who_)->objection);
  EXPECT_TRUE(engine_->Resolve("RKB", "K4", who_)->objection);
  // Withdrawn under the old number: withdrawn for every person now holding
  // the current one.
  ASSERT_TRUE(engine_->WithdrawObjection({retired_}, who_).ok());
  EXPECT_FALSE(engine_->Resolve("M84001", "G1", who_)->objection);
  EXPECT_FALSE(engine_->Resolve("RKB", "K4", who_)->objection);
}

TEST_F(SupersessionTest, AnObjectionUnderTheOldNumberAfterwardsReachesThePerson) {
  auto a = engine_->Ingest(WithNumber(5, "M84001", "G1", patients_[5].nhs), who_);
  ASSERT_TRUE(a.ok());
  Supersede(retired_, patients_[5].nhs);
  auto o = engine_->RegisterObjection({retired_}, who_);
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->outcome, ObjectionOutcome::kApplied);
  EXPECT_TRUE(engine_->Resolve("M84001", "G1", who_)->objection);
}

TEST_F(SupersessionTest, RefusesWhatNoNationalResolutionCouldSay) {
  const std::string other = ValidNhs(900003);
  auto code = [&](const std::string& o, const std::string& n) { return engine_->Supersede({o, n}, who_).status(); };
  EXPECT_EQ(code("123", other).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(code("123", other).message().find("old_nhs_number"), std::string::npos);
  EXPECT_NE(code(other, "9434765918").message().find("new_nhs_number"), std::string::npos);  // check digit
  EXPECT_EQ(code(other, other).code(), absl::StatusCode::kInvalidArgument);
  Supersede(retired_, other);
  // A second successor for one number, and a cycle.
  EXPECT_EQ(code(retired_, patients_[0].nhs).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(other, retired_).code(), absl::StatusCode::kInvalidArgument);
  // The same feed again changes nothing.
  auto again = engine_->Supersede({retired_, other}, who_);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->added);
}

}  // namespace
}  // namespace empi
