// Copyright EMPI developers.
//
// The relinks the real-time engine makes (engine_ingest.cc): the model a
// store written only by Ingest scores with (the informed priors until the
// store holds enough records, then a model estimated on them, every stored
// record relinked, person ids kept and objections where they were), and
// Engine::Revisit, which lets records that arrived later undo a link made
// before them.
#include <algorithm>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "empi/engine.h"
#include "engine/feed/feed_reader.h"
#include "engine/linkage/relink.h"
#include "engine/realtime/engine_internal.h"
#include "gtest/gtest.h"
#include "matchers/nhs_number.h"
#include "tests/engine/realtime/test_population.h"
#include "tests/index/fault_injection_fs.h"
#include "tests/index/store_invariants.h"
#include "tests/temp_dir.h"

namespace empi {
namespace testing {
absl::Status WriteGeneratedFeeds(const std::string& dir, uint64_t persons, uint64_t seed);  // generated_feeds.cc
}  // namespace testing
namespace {

// The generator's feeds for `persons` persons, read as `empi ingest` reads
// them, in file-name order.
std::vector<Record> GeneratedFeeds(const std::string& dir, uint64_t persons) {
  EXPECT_TRUE(testing::WriteGeneratedFeeds(dir, persons, 7).ok());
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.ends_with(".csv") && std::isupper(static_cast<unsigned char>(name[0]))) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  std::vector<Record> records;
  for (const std::string& f : files) {
    absl::StatusOr<FeedResult> feed = ReadFeed(f, FeedOptions{});
    EXPECT_TRUE(feed.ok()) << feed.status();
    if (feed.ok()) records.insert(records.end(), feed->records.begin(), feed->records.end());
  }
  return records;
}

std::unique_ptr<Engine> Open(const std::string& db, uint64_t estimate_at) {
  EngineOptions o;
  o.sync = false;
  o.today = "2026-01-01";
  o.estimate_model_at_records = estimate_at;
  absl::StatusOr<std::unique_ptr<Engine>> e = Engine::Open(o, db);
  EXPECT_TRUE(e.ok()) << e.status();
  return e.ok() ? std::move(*e) : nullptr;
}

class ModelEstimateTest : public ::testing::Test {
 protected:
  testing::TempDir dir_;
  std::string db_ = dir_.path() + "/db";
  Requester who_{"integration", "RKB", "integration", "operations"};
};

TEST_F(ModelEstimateTest, TheIngestThatBringsEnoughRecordsEstimatesTheModelAndRelinksKeepingObjections) {
  const std::vector<Record> records = GeneratedFeeds(dir_.path() + "/gen", 1500);
  ASSERT_GT(records.size(), 2000u);
  auto engine = Open(db_, 1000);
  ASSERT_NE(engine, nullptr);
  const ModelInfo before = engine->CurrentModel();
  EXPECT_FALSE(before.trusted());
  EXPECT_EQ(before.origin, "default");
  absl::StatusOr<EngineOverview> empty = engine->Overview(who_);
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(empty->records, 0u);
  EXPECT_EQ(empty->next_model_estimate_at, 1000u);
  EXPECT_EQ(empty->model.version, before.version);

  // The first record with a valid NHS number objects before the estimate.
  const auto objector = std::find_if(records.begin(), records.end(),
                                     [](const Record& r) { return ParseNhsNumber(r.nhs_number).has_value(); });
  ASSERT_NE(objector, records.end());
  std::vector<size_t> estimated_at;  // store sizes at each estimate
  for (size_t i = 0; i < records.size(); ++i) {
    absl::StatusOr<IngestResult> r = engine->Ingest(records[i], who_);
    ASSERT_TRUE(r.ok()) << i << ": " << r.status();
    if (&records[i] == &*objector) {
      ObjectionRequest form;
      form.nhs_number = objector->nhs_number;
      absl::StatusOr<ObjectionResult> o = engine->RegisterObjection(form, who_);
      ASSERT_TRUE(o.ok()) << o.status();
      ASSERT_EQ(o->outcome, ObjectionOutcome::kApplied);
    }
    if (!r->model_estimated) continue;
    estimated_at.push_back(i + 1);
    // The store is as a relink with the new model leaves it: relinking it
    // again would move nothing.
    RelinkOptions dry;
    dry.dry_run = true;
    absl::StatusOr<RelinkSummary> again = RelinkStore(StoreOf(engine.get()), dry, nullptr);
    ASSERT_TRUE(again.ok()) << again.status();
    EXPECT_TRUE(again->moves.empty()) << again->moves.size() << " records would move";
    EXPECT_EQ(again->model_reestimated_reason, "");
    // The record just ingested is where the relink put it.
    absl::StatusOr<Resolution> res = engine->Resolve(records[i].source, records[i].record_id, who_);
    ASSERT_TRUE(res.ok()) << res.status();
    EXPECT_EQ(res->person_id, r->person_id);
    EXPECT_EQ(res->model_version, engine->CurrentModel().version);
  }
  // First at 1,000 records or more; again whenever the store reached twice
  // the records of the last estimate.
  ASSERT_FALSE(estimated_at.empty());
  EXPECT_GE(estimated_at[0], 1000u);
  for (size_t k = 1; k < estimated_at.size(); ++k) EXPECT_GE(estimated_at[k], 2 * estimated_at[k - 1]);
  EXPECT_LT(records.size(), 2 * estimated_at.back()) << "the last model was estimated on half the store or less";
  const ModelInfo after = engine->CurrentModel();
  EXPECT_TRUE(after.trusted()) << after.untrusted_reason;
  EXPECT_EQ(after.origin, "trained");
  EXPECT_TRUE(after.em_converged);
  EXPECT_GE(after.records, 1000u);
  EXPECT_NE(after.version, before.version);
  // What an administrator sees, and that the look is audited.
  absl::StatusOr<EngineOverview> overview = engine->Overview(who_);
  ASSERT_TRUE(overview.ok()) << overview.status();
  EXPECT_EQ(overview->records, records.size());
  EXPECT_EQ(overview->model.version, after.version);
  EXPECT_EQ(overview->model.records, after.records);
  EXPECT_EQ(overview->last_change, engine->LastChange());
  EXPECT_GE(overview->next_model_estimate_at, 2 * after.records);
  EXPECT_GT(overview->next_model_estimate_at, records.size());
  int overviews = 0;
  ASSERT_TRUE(StoreOf(engine.get())
                  ->ForEachAuditEvent([&](const index::StoredAuditEvent& e) {
                    if (e.event.action != "overview") return true;
                    ++overviews;
                    EXPECT_EQ(e.event.requester, who_.requester);
                    EXPECT_TRUE(e.event.persons.empty());
                    return true;
                  })
                  .ok());
  EXPECT_EQ(overviews, 2);

  absl::StatusOr<Resolution> objecting = engine->Resolve(objector->source, objector->record_id, who_);
  ASSERT_TRUE(objecting.ok()) << objecting.status();
  EXPECT_TRUE(objecting->objection) << "the objection was lost by the engine's relink";
  testing::CheckMembership(StoreOf(engine.get()));

  // The estimated model is the stored one: a reopened engine scores with it.
  engine.reset();
  engine = Open(db_, 1000);
  ASSERT_NE(engine, nullptr);
  EXPECT_EQ(engine->CurrentModel().version, after.version);
}

// The tries come at store sizes, not counts within a process: ingesting
// stopped (a kill, a closed engine) and started again estimates at the same
// record as one uninterrupted run.
TEST_F(ModelEstimateTest, IngestStoppedAndStartedAgainEstimatesAtTheSameRecord) {
  const std::vector<Record> records = GeneratedFeeds(dir_.path() + "/gen", 1500);
  auto first_estimate = [&](const std::string& db, size_t stop_at) -> size_t {
    auto engine = Open(db, 1000);
    for (size_t i = 0; i < records.size(); ++i) {
      if (i == stop_at) engine = Open((engine.reset(), db), 1000);
      absl::StatusOr<IngestResult> r = engine->Ingest(records[i], who_);
      EXPECT_TRUE(r.ok()) << r.status();
      if (r.ok() && r->model_estimated) return i;
    }
    return records.size();
  };
  const size_t once = first_estimate(dir_.path() + "/once", records.size());
  ASSERT_LT(once, records.size());
  ASSERT_GT(once, 1000u) << "the population's first try must fail for this test to tell";
  for (size_t stop : {size_t{999}, size_t{1001}, once - 1}) {
    EXPECT_EQ(first_estimate(dir_.path() + "/stop" + std::to_string(stop), stop), once) << "stopped at " << stop;
  }
}

TEST_F(ModelEstimateTest, TwentyRecordsLeaveTheModelUntrustedAndSayWhy) {
  std::vector<Record> records = GeneratedFeeds(dir_.path() + "/gen", 100);
  records.resize(20);
  auto engine = Open(db_, 10);  // due, but twenty records give too little evidence
  ASSERT_NE(engine, nullptr);
  for (const Record& rec : records) {
    absl::StatusOr<IngestResult> r = engine->Ingest(rec, who_);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_FALSE(r->model_estimated);
  }
  const ModelInfo m = engine->CurrentModel();
  EXPECT_FALSE(m.trusted());
  EXPECT_EQ(m.untrusted_reason, "not trained (the informed default priors)");
  absl::StatusOr<Resolution> res = engine->Resolve(records[0].source, records[0].record_id, who_);
  ASSERT_TRUE(res.ok()) << res.status();
  EXPECT_EQ(res->model_version, m.version);
}

TEST_F(ModelEstimateTest, ZeroRecordsMeansTheEngineNeverEstimates) {
  const std::vector<Record> records = GeneratedFeeds(dir_.path() + "/gen", 1500);
  auto engine = Open(db_, 0);
  ASSERT_NE(engine, nullptr);
  for (const Record& rec : records) {
    absl::StatusOr<IngestResult> r = engine->Ingest(rec, who_);
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_FALSE(r->model_estimated);
  }
  EXPECT_FALSE(engine->CurrentModel().trusted());
}

// A store the generator's feeds made through Ingest, with a trusted model.
class RevisitTest : public ModelEstimateTest {
 protected:
  void SetUp() override {
    engine_ = Open(db_, 1000);
    ASSERT_NE(engine_, nullptr);
    for (const Record& r : GeneratedFeeds(dir_.path() + "/gen", 1500)) ASSERT_TRUE(engine_->Ingest(r, who_).ok());
    ASSERT_TRUE(engine_->CurrentModel().trusted());
  }
  // A record of a father or son (of one name and address) the generator
  // did not make.
  static Record Family(std::string source, std::string id, std::string nhs, std::string dob) {
    Record r;
    r.source = std::move(source);
    r.record_id = std::move(id);
    r.nhs_number = std::move(nhs);
    r.family_name = "Quennell-Abara";
    r.given_names = "Aurelio";
    r.date_of_birth = std::move(dob);
    r.sex = "M";
    r.postcode = "CV8 2QX";
    r.address = "7 Windmill Lane, Kenilworth";
    return r;
  }
  // A father's GP record, a record with neither NHS number nor date of
  // birth, and the son's GP and trust records, ingested in that order (ids
  // `prefix`1 to 4, NHS numbers from `nhs_seed`). The unnumbered record
  // joins the father: he is the only one of the name when it arrives.
  struct FatherAndSon {
    Record first, unnumbered, second_gp, second_trust;
    uint64_t first_person = 0, second_person = 0;
  };
  FatherAndSon IngestFatherAndSon(const std::string& prefix, uint64_t nhs_seed) {
    const std::string father_nhs = testing::ValidNhs(nhs_seed), son_nhs = testing::ValidNhs(nhs_seed + 1);
    FatherAndSon f{Family("M84001", prefix + "1", father_nhs, "1951-03-14"), Family("RKB", prefix + "2", "", ""),
                   Family("M84002", prefix + "3", son_nhs, "1981-07-02"),
                   Family("RYW", prefix + "4", son_nhs, "1981-07-02")};
    for (const Record& r : {f.first, f.unnumbered, f.second_gp, f.second_trust}) {
      EXPECT_TRUE(engine_->Ingest(r, who_).ok());
    }
    f.first_person = PersonOf(f.first);
    f.second_person = PersonOf(f.second_gp);
    EXPECT_EQ(PersonOf(f.unnumbered), f.first_person) << "ingest placed it while the father was the only one";
    EXPECT_NE(f.second_person, f.first_person);
    EXPECT_EQ(PersonOf(f.second_trust), f.second_person);
    return f;
  }
  uint64_t PersonOf(const Record& r) {
    absl::StatusOr<Resolution> res = engine_->Resolve(r.source, r.record_id, who_);
    EXPECT_TRUE(res.ok()) << res.status();
    return res.ok() ? res->person_id : 0;
  }
  std::unique_ptr<Engine> engine_;
};

// A father and son of one name and address. A record with neither NHS
// number nor date of birth arrives while only the father is known and joins
// him; once the son is known it could be either, which a batch link of all
// their records sees (clustering.h, "ambiguous"). Revisit, from the son's
// records, takes it out and sends it to a steward.
TEST_F(RevisitTest, ARecordThatCouldBeFatherOrSonLeavesTheFatherOnceTheSonIsKnown) {
  const auto [first, unnumbered, second_gp, second_trust, first_person, second_person] =
      IngestFatherAndSon("N", 777001);
  ASSERT_FALSE(HasFailure());

  absl::StatusOr<RevisitResult> v = engine_->Revisit({{"RYW", "N4"}}, who_);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_GE(v->persons, 2u) << "the first namesake is a neighbour of the second";
  EXPECT_EQ(v->records_moved, 1u);
  EXPECT_NE(PersonOf(unnumbered), first_person);
  EXPECT_NE(PersonOf(unnumbered), second_person);
  EXPECT_EQ(PersonOf(first), first_person) << "person ids kept";
  EXPECT_EQ(PersonOf(second_gp), second_person);
  absl::StatusOr<ReviewQueuePage> queue = engine_->ReviewQueue(1000, "", who_);
  ASSERT_TRUE(queue.ok()) << queue.status();

  const auto waits = std::count_if(queue->pairs.begin(), queue->pairs.end(), [](const ReviewQueueEntry& p) {
    return p.a.record_id == "N2" || p.b.record_id == "N2";
  });
  EXPECT_GE(waits, 2) << "the unnumbered record waits for a steward against both";

  // Nothing more to undo: a second revisit moves nothing.
  v = engine_->Revisit({{"RYW", "N4"}, {"RKB", "N2"}}, who_);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->records_moved, 0u);
  testing::CheckMembership(StoreOf(engine_.get()));
}

// An objecting person's record that a revisit moves keeps the objection,
// and a steward's merge is kept whole.
TEST_F(RevisitTest, ObjectionsFollowTheRecordsAndAStewardsMergeStands) {
  const std::string first_nhs = testing::ValidNhs(777011), second_nhs = testing::ValidNhs(777012);
  const Record first = Family("M84001", "O1", first_nhs, "1951-03-14"), unnumbered = Family("RKB", "O2", "", "");
  ASSERT_TRUE(engine_->Ingest(first, who_).ok());
  ASSERT_TRUE(engine_->Ingest(unnumbered, who_).ok());
  ObjectionRequest form;
  form.nhs_number = first_nhs;
  ASSERT_TRUE(engine_->RegisterObjection(form, who_).ok());
  for (const Record& r :
       {Family("M84002", "O3", second_nhs, "1981-07-02"), Family("RYW", "O4", second_nhs, "1981-07-02")}) {
    ASSERT_TRUE(engine_->Ingest(r, who_).ok());
  }
  ASSERT_TRUE(engine_->Revisit({{"RYW", "O4"}}, who_).ok());
  absl::StatusOr<Resolution> moved = engine_->Resolve("RKB", "O2", who_);
  ASSERT_TRUE(moved.ok()) << moved.status();
  ASSERT_NE(moved->person_id, PersonOf(first));
  EXPECT_TRUE(moved->objection) << "the objection stayed behind when the record moved";

  // A steward decides the unnumbered record is the first namesake's.
  ASSERT_TRUE(engine_->Merge(PersonOf(first), moved->person_id, who_, "checked with the practice").ok());
  ASSERT_TRUE(engine_->Revisit({{"RYW", "O4"}, {"RKB", "O2"}}, who_).ok());
  EXPECT_EQ(PersonOf(unnumbered), PersonOf(first)) << "a revisit undid a steward's merge";
}

TEST_F(ModelEstimateTest, RevisitRefusesWhileTheModelIsNotTrusted) {
  auto engine = Open(db_, 1000);
  ASSERT_NE(engine, nullptr);
  Record r;
  r.source = "RKB";
  r.record_id = "1";
  r.family_name = "Nowak";
  ASSERT_TRUE(engine->Ingest(r, who_).ok());
  absl::StatusOr<RevisitResult> v = engine->Revisit({{"RKB", "1"}}, who_);
  EXPECT_EQ(v.status().code(), absl::StatusCode::kFailedPrecondition) << v.status();
}

// RevisitIngested takes what ingest placed since the last revisit, from a
// mark in the store: after a reopen (a process killed before it revisited)
// as well; an unchanged record marks nothing; a second call finds nothing.
TEST_F(RevisitTest, RevisitIngestedTakesWhatIngestPlacedSinceEvenAfterAReopen) {
  absl::StatusOr<RevisitResult> v = engine_->RevisitIngested(who_, 0);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_GT(v->placed, 0u) << "the records ingested after the last estimate";
  v = engine_->RevisitIngested(who_, 0);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->placed, 0u);
  EXPECT_EQ(v->persons, 0u);

  const auto [first, unnumbered, second_gp, second_trust, first_person, second_person] =
      IngestFatherAndSon("R", 777021);
  ASSERT_FALSE(HasFailure());

  engine_.reset();
  engine_ = Open(db_, 1000);
  ASSERT_NE(engine_, nullptr);
  ASSERT_TRUE(engine_->Ingest(first, who_).ok());  // unchanged: nothing more to revisit
  v = engine_->RevisitIngested(who_, 0);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->placed, 4u);
  EXPECT_GE(v->persons, 2u);
  EXPECT_EQ(v->records_moved, 1u);
  EXPECT_NE(PersonOf(unnumbered), first_person);
  EXPECT_NE(PersonOf(unnumbered), second_person);
  EXPECT_EQ(PersonOf(first), first_person);
  engine_.reset();
  engine_ = Open(db_, 1000);
  ASSERT_NE(engine_, nullptr);
  v = engine_->RevisitIngested(who_, 0);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->placed, 0u) << "the mark went with the revisit";
  testing::CheckMembership(StoreOf(engine_.get()));
}

// In steps (max_placed), across a reopen between them: every record placed
// is revisited, the store ends as one revisit leaves it, and the mark goes
// with the last step.
TEST_F(RevisitTest, RevisitIngestedInStepsTakesEverythingEvenAcrossAReopen) {
  ASSERT_TRUE(engine_->RevisitIngested(who_, 0).ok());
  const auto [first, unnumbered, second_gp, second_trust, first_person, second_person] =
      IngestFatherAndSon("S", 777031);
  ASSERT_FALSE(HasFailure());
  absl::StatusOr<RevisitResult> v = engine_->RevisitIngested(who_, 1);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_GE(v->placed, 1u);
  EXPECT_LE(v->placed, 2u) << "a step takes the records of changes up to max_placed";
  EXPECT_TRUE(v->more);
  uint64_t placed = v->placed;
  int steps = 1;
  engine_.reset();
  engine_ = Open(db_, 1000);
  ASSERT_NE(engine_, nullptr);
  while (v->more) {
    v = engine_->RevisitIngested(who_, 1);
    ASSERT_TRUE(v.ok()) << v.status();
    placed += v->placed;
    ASSERT_LT(++steps, 20) << "the steps do not end";
  }
  EXPECT_GE(placed, 4u);
  EXPECT_NE(PersonOf(unnumbered), first_person);
  EXPECT_NE(PersonOf(unnumbered), second_person);
  EXPECT_EQ(PersonOf(first), first_person);
  v = engine_->RevisitIngested(who_, 1);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->placed, 0u);
  EXPECT_FALSE(v->more);
  testing::CheckMembership(StoreOf(engine_.get()));
}

// While the model is untrusted what ingest placed waits for the estimate,
// which relinks every record and so leaves nothing to revisit.
TEST_F(ModelEstimateTest, RevisitIngestedWaitsForTheEstimateWhichTakesEverything) {
  const std::vector<Record> records = GeneratedFeeds(dir_.path() + "/gen", 1500);
  auto engine = Open(db_, 1000);
  ASSERT_NE(engine, nullptr);
  size_t i = 0;
  for (; i < 10; ++i) ASSERT_TRUE(engine->Ingest(records[i], who_).ok());
  EXPECT_EQ(engine->RevisitIngested(who_, 0).status().code(), absl::StatusCode::kFailedPrecondition);
  for (bool estimated = false; !estimated && i < records.size(); ++i) {
    absl::StatusOr<IngestResult> r = engine->Ingest(records[i], who_);
    ASSERT_TRUE(r.ok()) << r.status();
    estimated = r->model_estimated;
  }
  ASSERT_TRUE(engine->CurrentModel().trusted());
  absl::StatusOr<RevisitResult> v = engine->RevisitIngested(who_, 0);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->placed, 0u);
  ASSERT_LT(i, records.size());
  ASSERT_TRUE(engine->Ingest(records[i], who_).ok());
  v = engine->RevisitIngested(who_, 0);
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(v->placed, 1u);
}

// A revisit on a disk that fails part way (ENOSPC or EIO at the Nth
// append, sync, file creation or rename once it starts) is an error, not an
// abort; the records it was to revisit stay marked, and the next engine's
// revisit gives what a clean one gives.
using testing::FaultCase;
using testing::FaultInjectionFs;
class RevisitFaultTest : public ::testing::TestWithParam<FaultCase> {};

TEST_P(RevisitFaultTest, AFailedRevisitLeavesItsRecordsToTheNext) {
  const auto [op, error, nth] = GetParam();
  testing::TempDir dir;
  const std::vector<Record> records = GeneratedFeeds(dir.path() + "/gen", 500);
  const Requester who{"integration", "RKB", "integration", "operations"};
  EngineOptions o;
  o.sync = false;  // the revisit's own commit is synced
  o.today = "2026-01-01";
  auto ingest_all = [&](Engine* e) {
    for (const Record& r : records) ASSERT_TRUE(e->Ingest(r, who).ok());
    ASSERT_TRUE(e->CurrentModel().trusted());
  };
  std::set<std::set<std::string>> clean;
  {
    auto engine = Engine::Open(o, dir.path() + "/clean");
    ASSERT_TRUE(engine.ok()) << engine.status();
    ingest_all(engine->get());
    ASSERT_TRUE((*engine)->RevisitIngested(who, 0).ok());
    clean = testing::PersonsAsKeySets(*StoreOf(engine->get()));
  }
  FaultInjectionFs fs;
  const std::unique_ptr<rocksdb::Env> env = fs.NewEnv();
  const std::string db = dir.path() + "/db";
  bool failed = false;
  {
    auto engine = OpenEngineWithEnv(o, db, env.get());
    ASSERT_TRUE(engine.ok()) << engine.status();
    ingest_all(engine->get());
    fs.Arm(op, error, static_cast<uint64_t>(nth));
    absl::StatusOr<RevisitResult> v = (*engine)->RevisitIngested(who, 0);
    failed = !v.ok();
    if (failed) {
      EXPECT_EQ(v.status().code(), absl::StatusCode::kUnavailable) << v.status();
    }
    // The administrator sees whether the store still takes changes.
    absl::StatusOr<EngineOverview> overview = (*engine)->Overview(who);
    ASSERT_TRUE(overview.ok()) << overview.status();
    EXPECT_EQ(overview->write_failure.empty(), !failed) << overview->write_failure;
  }  // closing after the fault must not abort
  if (nth == 1 && (op == FaultInjectionFs::Op::kAppend || op == FaultInjectionFs::Op::kSync)) {
    EXPECT_TRUE(failed);
  }
  fs.Disarm();
  auto engine = OpenEngineWithEnv(o, db, env.get());
  ASSERT_TRUE(engine.ok()) << engine.status();
  absl::StatusOr<RevisitResult> v = (*engine)->RevisitIngested(who, 0);
  ASSERT_TRUE(v.ok()) << v.status();
  if (failed) {
    EXPECT_GT(v->placed, 0u) << "the failed revisit's records were left to this one";
  }
  EXPECT_EQ(testing::PersonsAsKeySets(*StoreOf(engine->get())), clean);
  testing::CheckMembership(StoreOf(engine->get()));
}

INSTANTIATE_TEST_SUITE_P(EveryOp, RevisitFaultTest, testing::EveryFault(1, 8), testing::FaultCaseName);

}  // namespace
}  // namespace empi
