// Copyright EMPI developers.
//
// Answers as of a past change (Engine::ResolveAsOf, ResolveByNhsNumberAsOf,
// MayAssembleViewAsOf): for random sequences of ingests, updates (a
// relative's NHS number among them), merges, splits, unmerges, objections
// and NHS number supersessions, resolving a record or an NHS number as of
// any past change gives exactly what resolving gave at that moment, before and after the store is reopened; the audit
// event of each answer names the change it was given at, so an auditor can
// ask again.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <random>
#include <set>
#include <thread>

#include "absl/time/time.h"
#include "empi/engine.h"
#include "gtest/gtest.h"
#include "index/store.h"
#include "index/store_check.h"
#include "tests/engine/realtime/test_population.h"
#include "tests/temp_dir.h"

namespace empi {
namespace {

using testing::MakePatients;
using testing::OpenTestEngine;
using testing::Patient;
using testing::RecordOf;
using testing::TempDir;

// Everything a resolution says, comparable.
struct Answer {
  bool found = false;
  uint64_t person = 0;
  std::vector<std::string> records;  // source:record_id:contributor, in the order returned
  bool objection = false, objection_in_review = false, in_scope = false, restricted = false;
  int64_t objection_time_us = 0;
  ObjectionMethod method = ObjectionMethod::kNone;
  std::string scope_reason;
  friend bool operator==(const Answer&, const Answer&) = default;
};

Answer AnswerOf(const absl::StatusOr<Resolution>& r) {
  if (absl::IsNotFound(r.status())) return {};
  // By NHS number: held by several persons awaiting review.
  if (absl::IsFailedPrecondition(r.status())) return {.scope_reason = std::string(r.status().message())};
  EXPECT_TRUE(r.ok()) << r.status();
  if (!r.ok()) return {};
  Answer a{true,           r->person_id,           {},
           r->objection,   r->objection_in_review, r->in_scope,
           r->restricted,  r->objection_time_us,   r->objection_method,
           r->scope_reason};
  for (const LinkedRecord& l : r->records) a.records.push_back(l.source + ":" + l.record_id + ":" + l.contributor);
  return a;
}

std::string ViewOf(const absl::StatusOr<ViewDecision>& d) {
  EXPECT_TRUE(d.ok()) << d.status();
  return d.ok() ? absl::StrCat(d->person_id, " ", d->allowed, " ", d->reason) : "error";
}

// Random changes to who is who, as a steward and contributors make them.
class Changer {
 public:
  Changer(Engine* engine, uint64_t seed) : engine_(engine), rng_(seed), patients_(MakePatients(10, seed)) {}

  void Step(int op) {
    static const char* kSources[] = {"M84001", "RKB", "RLT", "RYA"};
    const size_t kind = written_.size() < 3 ? 0 : Pick(100);
    if (kind < 35) {
      const size_t pt = Pick(patients_.size());
      Record r = RecordOf(patients_[pt], kSources[Pick(4)], "R" + std::to_string(op), Pick(10) < 7);
      ASSERT_TRUE(engine_->Ingest(r, who_).ok());
      written_.push_back({r.source, r.record_id});
      patient_of_.push_back(pt);
    } else if (kind < 45) {  // a contributor updates a record: restricted flag, date of birth
      const size_t i = Pick(written_.size());
      Patient p = patients_[patient_of_[i]];
      if (Pick(3) == 0) p.dob = "2010-06-15";  // under 18 on the test's day
      Record r = RecordOf(p, written_[i].source, written_[i].record_id, Pick(2) == 0);
      r.restricted = Pick(2) == 0;
      if (Pick(4) == 0) r.nhs_number = patients_[Pick(patients_.size())].nhs;  // a relative's number
      ASSERT_TRUE(engine_->Ingest(r, who_).ok());
    } else if (kind < 60) {
      const uint64_t x = PersonOf(written_[Pick(written_.size())]);
      const uint64_t y = PersonOf(written_[Pick(written_.size())]);
      if (x == y) return;
      auto merged = engine_->Merge(x, y, who_, "test");
      if (merged.ok()) {
        merges_.push_back({x, *merged});
      } else {
        ASSERT_EQ(merged.status().code(), absl::StatusCode::kFailedPrecondition) << merged.status();
      }
    } else if (kind < 72) {
      const RecordRef& r = written_[Pick(written_.size())];
      auto res = engine_->Resolve(r.source, r.record_id, who_);
      ASSERT_TRUE(res.ok()) << res.status();
      if (res->records.size() < 2) return;
      ASSERT_TRUE(engine_->Split(res->person_id, {r}, who_, "test").ok());
    } else if (kind < 84 && kind >= 78) {  // a supersession: between patients' numbers, or from a new one
      const std::string old_nhs = Pick(2) == 0 ? patients_[Pick(patients_.size())].nhs : NewNumber(op);
      const std::string new_nhs = Pick(2) == 0 ? patients_[Pick(patients_.size())].nhs : NewNumber(op + 500);
      auto done = engine_->Supersede(Supersession{old_nhs, new_nhs}, who_);
      if (!done.ok()) {
        ASSERT_EQ(done.status().code(), absl::StatusCode::kInvalidArgument) << done.status();  // a cycle
      }
    } else if (kind < 78 && !merges_.empty()) {
      const auto [person, event] = merges_[Pick(merges_.size())];
      auto restored = engine_->Unmerge(person, event, who_);
      if (!restored.ok()) {
        EXPECT_NE(restored.status().code(), absl::StatusCode::kInternal) << restored.status();
      }
    } else {
      ObjectionRequest req;
      req.nhs_number = patients_[Pick(patients_.size())].nhs;
      ASSERT_TRUE((Pick(2) == 0 ? engine_->RegisterObjection(req, who_) : engine_->WithdrawObjection(req, who_)).ok());
    }
  }

  const std::vector<RecordRef>& written() const { return written_; }
  // Every NHS number the changes used: the patients' and the new ones.
  std::vector<std::string> numbers() const {
    std::vector<std::string> out = new_numbers_;
    for (const Patient& p : patients_) out.push_back(p.nhs);
    return out;
  }

 private:
  size_t Pick(size_t n) { return static_cast<size_t>(rng_() % n); }
  std::string NewNumber(int op) {
    new_numbers_.push_back(testing::ValidNhs(900000 + static_cast<uint64_t>(op)));
    return new_numbers_.back();
  }
  uint64_t PersonOf(const RecordRef& r) {
    auto res = engine_->Resolve(r.source, r.record_id, who_);
    EXPECT_TRUE(res.ok()) << res.status();
    return res.ok() ? res->person_id : 0;
  }

  Engine* engine_;
  std::mt19937_64 rng_;
  std::vector<Patient> patients_;
  std::vector<RecordRef> written_;
  std::vector<size_t> patient_of_;
  std::vector<std::pair<uint64_t, uint64_t>> merges_;  // (person, merge event)
  std::vector<std::string> new_numbers_;
  const Requester who_{"as-of.steward", "test", "steward", "testing"};
};

struct Asked {
  uint64_t at = 0;
  RecordRef record;
  Answer answer;
  std::string view;  // MayAssembleViewForRecord
};

void ExpectSameAsOf(Engine* engine, const std::vector<Asked>& asked, const Requester& who) {
  for (const Asked& q : asked) {
    SCOPED_TRACE(absl::StrCat(q.record.source, ":", q.record.record_id, " at change ", q.at));
    auto again = engine->ResolveAsOf(q.record.source, q.record.record_id, AsOf{q.at, 0}, who);
    EXPECT_EQ(AnswerOf(again), q.answer);
    if (again.ok()) {
      EXPECT_EQ(again->at_change, q.at);
    }
    EXPECT_EQ(ViewOf(engine->MayAssembleViewForRecordAsOf(q.record.source, q.record.record_id, AsOf{q.at, 0}, who)),
              q.view);
    if (q.answer.found) {
      EXPECT_EQ(AnswerOf(engine->ResolvePersonAsOf(q.answer.person, AsOf{q.at, 0}, who)), q.answer);
      EXPECT_EQ(ViewOf(engine->MayAssembleViewAsOf(q.answer.person, AsOf{q.at, 0}, who)),
                ViewOf(engine->MayAssembleViewForRecordAsOf(q.record.source, q.record.record_id, AsOf{q.at, 0}, who)));
    }
  }
}

// A resolution by NHS number, and the change it was given at.
struct AskedNhs {
  uint64_t at = 0;
  std::string nhs;
  Answer answer;
};

void ExpectSameAsOf(Engine* engine, const std::vector<AskedNhs>& asked, const Requester& who) {
  for (const AskedNhs& q : asked) {
    SCOPED_TRACE(absl::StrCat("an NHS number at change ", q.at));
    auto again = engine->ResolveByNhsNumberAsOf(q.nhs, AsOf{q.at, 0}, who);
    EXPECT_EQ(AnswerOf(again), q.answer);
    if (again.ok()) {
      EXPECT_EQ(again->at_change, q.at);
    }
  }
}

void ExpectStoreChecks(const std::string& dir) {
  index::StoreOptions o;
  o.read_only = true;
  auto store = index::Store::Open(dir, o);
  ASSERT_TRUE(store.ok()) << store.status();
  auto report = index::CheckStore(**store, {});
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->ok()) << (report->violations.empty() ? "" : report->violations[0]);
  EXPECT_GT(report->view_history, 0u);
  EXPECT_GT(report->record_history, 0u);
  EXPECT_GT(report->nhs_history, 0u);
}

// The property: after each of 150 random changes, every record is resolved
// and its view decided; at the end, and again after a reopen, each answer
// given as of its at_change is the same.
TEST(AsOfTest, ResolvingAsOfAnyPastChangeGivesWhatResolvingGaveThen) {
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    SCOPED_TRACE(seed);
    TempDir dir;
    auto engine = OpenTestEngine(dir.path());
    ASSERT_NE(engine, nullptr);
    const Requester clinician{"as-of.clinician", "test", "clinician", "direct care"};
    Changer changer(engine.get(), seed);
    std::vector<Asked> asked;
    std::vector<AskedNhs> asked_nhs;
    for (int op = 0; op < 150; ++op) {
      ASSERT_NO_FATAL_FAILURE(changer.Step(op));
      for (const std::string& nhs : changer.numbers()) {
        auto res = engine->ResolveByNhsNumber(nhs, clinician);
        if (res.ok()) {
          EXPECT_EQ(res->at_change, engine->LastChange());
        }
        asked_nhs.push_back({engine->LastChange(), nhs, AnswerOf(res)});
      }
      // One record in three each step keeps the test quick; over 150 steps
      // every record is asked at many changes.
      for (size_t i = op % 3; i < changer.written().size(); i += 3) {
        const RecordRef& r = changer.written()[i];
        auto res = engine->Resolve(r.source, r.record_id, clinician);
        ASSERT_TRUE(res.ok()) << res.status();
        EXPECT_EQ(res->at_change, engine->LastChange());
        EXPECT_FALSE(res->model_version.empty());
        auto view = engine->MayAssembleViewForRecord(r.source, r.record_id, clinician);
        ASSERT_TRUE(view.ok());
        ASSERT_EQ(view->at_change, res->at_change);
        asked.push_back({res->at_change, r, AnswerOf(res), ViewOf(view)});
      }
    }
    ASSERT_GT(engine->LastChange(), 100u);
    ASSERT_GT(changer.numbers().size(), 10u);  // some supersessions from new numbers
    ExpectSameAsOf(engine.get(), asked, clinician);
    ExpectSameAsOf(engine.get(), asked_nhs, clinician);
    engine.reset();
    ExpectStoreChecks(dir.path());
    engine = OpenTestEngine(dir.path());
    ASSERT_NE(engine, nullptr);
    ExpectSameAsOf(engine.get(), asked, clinician);
    ExpectSameAsOf(engine.get(), asked_nhs, clinician);
  }
}

// While a writer changes the index, readers' answers are labelled with the
// change they saw: resolving as of that label gives the same answer. The
// writer toggles the patient's objection and adds records, so that nearly
// every change alters the answer the readers get.
TEST(AsOfTest, AnswersReadDuringConcurrentChangesNameTheChangeTheySaw) {
  TempDir dir;
  auto engine = OpenTestEngine(dir.path());
  ASSERT_NE(engine, nullptr);
  const Requester clinician{"as-of.clinician", "test", "clinician", "direct care"};
  const Patient p = MakePatients(1, 77)[0];
  ASSERT_TRUE(engine->Ingest(RecordOf(p, "M84001", "G1", true), clinician).ok());
  ASSERT_TRUE(engine->Ingest(RecordOf(p, "RKB", "H1", true), clinician).ok());
  std::atomic<bool> done{false};
  std::atomic<uint64_t> reads{0};
  std::thread writer([&] {
    ObjectionRequest req;
    req.nhs_number = p.nhs;
    for (int op = 0; op < 600; ++op) {
      absl::Status s = op % 10 == 9
                           ? engine->Ingest(RecordOf(p, "RLT", "L" + std::to_string(op), true), clinician).status()
                       : op % 2 == 0 ? engine->RegisterObjection(req, clinician).status()
                                     : engine->WithdrawObjection(req, clinician).status();
      EXPECT_TRUE(s.ok()) << s;
      // Let the readers in between writes, however busy the machine: at
      // least two reads (or a second) after each write.
      const uint64_t target = reads.load() + 2;
      const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(1);
      while (reads.load() < target && std::chrono::steady_clock::now() < until) std::this_thread::yield();
    }
    done = true;
  });
  std::vector<Asked> asked;
  while (!done.load()) {
    auto res = engine->Resolve("RKB", "H1", clinician);
    auto view = engine->MayAssembleViewForRecord("RKB", "H1", clinician);
    EXPECT_TRUE(res.ok() && view.ok());
    if (!res.ok() || !view.ok()) break;
    // The view was decided at its own change: keep it only when no change
    // came between the two reads.
    asked.push_back(
        {res->at_change, {"RKB", "H1"}, AnswerOf(res), view->at_change == res->at_change ? ViewOf(view) : ""});
    ++reads;
  }
  writer.join();
  EXPECT_GT(asked.size(), 100u);
  size_t wrong = 0;
  for (const Asked& q : asked) {
    const Answer again = AnswerOf(engine->ResolveAsOf("RKB", "H1", AsOf{q.at, 0}, clinician));
    const std::string view =
        q.view.empty() ? "" : ViewOf(engine->MayAssembleViewForRecordAsOf("RKB", "H1", AsOf{q.at, 0}, clinician));
    wrong += again != q.answer || view != q.view;
  }
  std::set<uint64_t> changes;
  std::set<bool> objections;
  for (const Asked& q : asked) {
    changes.insert(q.at);
    objections.insert(q.answer.objection);
  }
  EXPECT_EQ(wrong, 0u) << "of " << asked.size() << " answers";
  EXPECT_GT(changes.size(), 50u);  // the readers saw the writer's changes
  EXPECT_EQ(objections.size(), 2u);
}

TEST(AsOfTest, AuditEventNamesTheChangeAndModelAndReplays) {
  TempDir dir;
  auto engine = OpenTestEngine(dir.path());
  ASSERT_NE(engine, nullptr);
  const Requester who{"as-of.auditor", "test", "auditor", "subject access"};
  const std::vector<Patient> patients = MakePatients(2, 3);
  ASSERT_TRUE(engine->Ingest(RecordOf(patients[0], "M84001", "G1", true), who).ok());
  ASSERT_TRUE(engine->Ingest(RecordOf(patients[0], "RKB", "H1", true), who).ok());
  auto first = engine->Resolve("RKB", "H1", who);
  ASSERT_TRUE(first.ok());
  auto allowed = engine->MayAssembleView(first->person_id, who);
  ASSERT_TRUE(allowed.ok());
  EXPECT_TRUE(allowed->allowed);
  // Since then: an objection and a split.
  ObjectionRequest req;
  req.nhs_number = patients[0].nhs;
  ASSERT_TRUE(engine->RegisterObjection(req, who).ok());
  ASSERT_TRUE(engine->Split(first->person_id, {{"RKB", "H1"}}, who, "test").ok());
  auto now = engine->Resolve("RKB", "H1", who);
  ASSERT_TRUE(now.ok());
  EXPECT_NE(now->person_id, first->person_id);
  EXPECT_TRUE(now->objection);

  auto trail = engine->ReadAuditTrail(first->person_id, who);
  ASSERT_TRUE(trail.ok());
  const AuditEvent* view_event = nullptr;
  for (const AuditEvent& e : *trail) {
    if (e.action == "view" && e.outcome == "allowed") view_event = &e;
  }
  ASSERT_NE(view_event, nullptr);
  EXPECT_EQ(view_event->at_change, first->at_change);
  EXPECT_EQ(view_event->model_version, first->model_version);
  EXPECT_FALSE(view_event->as_of);
  // The auditor replays the event: the same decision, though today's is a denial.
  auto replayed = engine->MayAssembleViewAsOf(first->person_id, AsOf{view_event->at_change, view_event->time_us}, who);
  ASSERT_TRUE(replayed.ok());
  EXPECT_TRUE(replayed->allowed);
  EXPECT_FALSE(engine->MayAssembleView(first->person_id, who)->allowed);
  auto then = engine->ResolveAsOf("RKB", "H1", AsOf{view_event->at_change, 0}, who);
  ASSERT_TRUE(then.ok());
  EXPECT_EQ(then->person_id, first->person_id);
  EXPECT_EQ(then->records.size(), 2u);
  EXPECT_FALSE(then->objection);
  // By time alone: the last change at or before the event's time.
  auto by_time = engine->ResolveAsOf("RKB", "H1", AsOf{0, view_event->time_us}, who);
  ASSERT_TRUE(by_time.ok());
  EXPECT_EQ(by_time->at_change, view_event->at_change);
  // The replay is audited too, marked as_of. (view_event points into the
  // trail read above: keep its change before reading the trail again.)
  const uint64_t view_at = view_event->at_change;
  trail = engine->ReadAuditTrail(first->person_id, who);
  ASSERT_TRUE(trail.ok());
  EXPECT_TRUE(std::any_of(trail->begin(), trail->end(), [&](const AuditEvent& e) {
    return e.action == "view" && e.as_of && e.at_change == view_at;
  }));
  // Before the first change nobody was there; after the last is refused.
  EXPECT_TRUE(absl::IsNotFound(engine->ResolveAsOf("RKB", "H1", AsOf{}, who).status()));
  EXPECT_TRUE(
      absl::IsInvalidArgument(engine->ResolveAsOf("RKB", "H1", AsOf{engine->LastChange() + 1, 0}, who).status()));
}

// Age is reckoned on the as-of time's day.
TEST(AsOfTest, ScopeIsReckonedOnTheAsOfDay) {
  TempDir dir;
  auto engine = OpenTestEngine(dir.path(), /*today=*/"");
  ASSERT_NE(engine, nullptr);
  const Requester who{"as-of.clinician", "test", "clinician", "direct care"};
  Patient p = MakePatients(1, 9)[0];
  p.dob = "2008-06-15";
  ASSERT_TRUE(engine->Ingest(RecordOf(p, "M84001", "G1", true), who).ok());
  auto at = [&](const std::string& day) {
    absl::Time t;
    std::string err;
    EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, day + "T12:00:00Z", &t, &err));
    auto d =
        engine->MayAssembleViewForRecordAsOf("M84001", "G1", AsOf{engine->LastChange(), absl::ToUnixMicros(t)}, who);
    EXPECT_TRUE(d.ok()) << d.status();
    return d.ok() ? d->reason : "";
  };
  EXPECT_EQ(at("2026-06-14"), "out of scope: aged under 18");
  EXPECT_EQ(at("2026-06-15"), "allowed");
}

}  // namespace
}  // namespace empi
