// Copyright EMPI developers.
//
// Property test: random sequences of ingest, change, merge, split,
// never-link, objection, withdrawal, resolve, view and search against a real
// store, checked against a naive model of which true patients objected.
// 20 seeds x 5,000 operations = 100,000 operations.
#include <random>

#include "empi/engine.h"
#include "engine/realtime/engine_internal.h"
#include "gtest/gtest.h"
#include "tests/engine/realtime/test_population.h"
#include "tests/temp_dir.h"

namespace empi {
namespace {

using testing::CheckMembership;
using testing::MakePatients;
using testing::Patient;
using testing::RecordOf;
using testing::TempDir;

constexpr int kSeeds = 20;
constexpr int kOpsPerSeed = 5000;

struct Model {
  absl::flat_hash_map<std::string, int> patient_of;  // record key -> patient
  absl::flat_hash_map<std::string, Record> records;  // record key -> latest
  std::vector<std::string> keys;
  absl::flat_hash_set<int> objected;  // patients objecting
  absl::flat_hash_set<int> by_form;   // ... by a form before their first record
  absl::flat_hash_set<int> seen;      // patients with a record
  std::vector<std::pair<std::string, std::string>> never;
};

void CheckInvariants(Engine* engine, const Model& m, const std::vector<Patient>& patients) {
  auto person_of = CheckMembership(StoreOf(engine));
  EXPECT_EQ(person_of.size(), m.records.size());
  for (const auto& [a, b] : m.never) EXPECT_NE(person_of[a], person_of[b]) << "never-link pair joined";
  // No objection lost: every person holding a record that carries the NHS
  // number of an objecting patient objects.
  for (const auto& [key, rec] : m.records) {
    int pt = m.patient_of.at(key);
    if (!m.objected.contains(pt) || rec.nhs_number.empty()) continue;
    auto pv = StoreOf(engine)->GetPerson(person_of[key]);
    ASSERT_TRUE(pv.ok() && pv->has_value());
    EXPECT_TRUE((*pv)->objection) << "objection of patient " << pt << " lost on person " << person_of[key];
  }
  // A form registered before any of the patient's records covers every one
  // of them, with or without the NHS number: as the person's own objection,
  // or held over a review pair with it (a record matching several split-off
  // parts of the patient waits in review apart from them).
  for (const auto& [key, rec] : m.records) {
    int pt = m.patient_of.at(key);
    if (!m.by_form.contains(pt)) continue;
    auto pv = StoreOf(engine)->GetPerson(person_of[key]);
    ASSERT_TRUE(pv.ok() && pv->has_value());
    EXPECT_TRUE((*pv)->objection || (*pv)->objection_in_review)
        << "pending form of patient " << pt << " not applied to person " << person_of[key];
  }
  uint64_t n = 0;
  EXPECT_TRUE(StoreOf(engine)->VerifyAuditChain(&n).ok());
}

// Adds to `forms_registered` the forms registered before their patient's
// first record.
void RunSeed(uint64_t seed, uint64_t* forms_registered) {
  TempDir dir;
  EngineOptions options;
  options.sync = false;
  auto opened = Engine::Open(options, dir.path());
  ASSERT_TRUE(opened.ok()) << opened.status();
  Engine* engine = opened->get();
  std::mt19937_64 rng(seed);
  auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  std::vector<Patient> patients = MakePatients(30, seed);
  // Namesakes: the name, date of birth and postcode of patients 0-3 with
  // another NHS number, so that review pairs (and objections held over
  // them) arise.
  for (int i = 0; i < 4; ++i) {
    Patient twin = patients[i];
    twin.nhs = testing::ValidNhs(seed * 1000 + 500 + i);
    patients.push_back(twin);
  }
  Model m;
  Requester who{"prop", "test", "steward", "testing"};
  uint64_t ok_ops = 0, forms = 0;
  static const char* kSources[] = {"M84001", "RKB", "RLT", "RYA", "M86007"};
  for (int op = 0; op < kOpsPerSeed; ++op) {
    int kind = static_cast<int>(pick(100));
    if (m.keys.size() < 5) kind = 0;
    if (kind < 35) {  // new record
      int pt = static_cast<int>(pick(patients.size()));
      Record r = RecordOf(patients[pt], kSources[pick(5)], "R" + std::to_string(op), pick(10) < 7);
      auto res = engine->Ingest(r, who);
      ASSERT_TRUE(res.ok()) << res.status();
      m.patient_of[r.Key()] = pt;
      m.records[r.Key()] = r;
      m.keys.push_back(r.Key());
      m.seen.insert(pt);
      ok_ops += 1 + res->model_estimated;  // and the relink of the engine's model estimate
    } else if (kind < 42) {                // contributor changes a record
      Record r = m.records[m.keys[pick(m.keys.size())]];
      r.sex = r.sex == "U" ? patients[m.patient_of[r.Key()]].sex : "U";
      auto res = engine->Ingest(r, who);
      ASSERT_TRUE(res.ok()) << res.status();
      m.records[r.Key()] = r;
      ok_ops += 1 + res->model_estimated;
    } else if (kind < 52) {  // steward merges two persons of one patient
      const std::string& k = m.keys[pick(m.keys.size())];
      int pt = m.patient_of[k];
      auto pa = StoreOf(engine)->GetRecord(k);
      for (const std::string& k2 : m.keys) {
        if (m.patient_of[k2] != pt) continue;
        auto pb = StoreOf(engine)->GetRecord(k2);
        if ((*pb)->person_id == (*pa)->person_id) continue;
        auto merged = engine->Merge((*pa)->person_id, (*pb)->person_id, who, "same patient");
        if (merged.ok()) {
          ++ok_ops;
        } else {
          ASSERT_EQ(merged.status().code(), absl::StatusCode::kFailedPrecondition) << merged.status();
        }
        break;
      }
    } else if (kind < 60) {  // steward splits a record off
      const std::string& k = m.keys[pick(m.keys.size())];
      auto pr = StoreOf(engine)->GetRecord(k);
      auto members = StoreOf(engine)->PersonRecords((*pr)->person_id);
      if (members->size() < 2) continue;
      std::string_view s, id;
      SplitRecordKey(k, &s, &id);
      auto split = engine->Split((*pr)->person_id, {{std::string(s), std::string(id)}}, who, "wrong patient");
      ASSERT_TRUE(split.ok()) << split.status();
      ++ok_ops;
    } else if (kind < 65) {  // never-link two records of different patients
      const std::string& a = m.keys[pick(m.keys.size())];
      const std::string& b = m.keys[pick(m.keys.size())];
      if (m.patient_of[a] == m.patient_of[b]) continue;
      std::string_view s1, i1, s2, i2;
      SplitRecordKey(a, &s1, &i1);
      SplitRecordKey(b, &s2, &i2);
      absl::Status st = engine->NeverLink({std::string(s1), std::string(i1)}, {std::string(s2), std::string(i2)}, who,
                                          "different patients");
      if (st.ok()) {
        m.never.emplace_back(a, b);
        ++ok_ops;
      } else {
        ASSERT_EQ(st.code(), absl::StatusCode::kFailedPrecondition) << st;
      }
    } else if (kind < 75) {  // objection by NHS number, or by a form before any record
      int pt = static_cast<int>(pick(patients.size()));
      // Patients 0-3 have namesakes, whose forms could not tell them apart.
      if (pick(3) == 0 && pt >= 4 && pt < 30 && !m.seen.contains(pt)) {
        const Patient& p = patients[pt];
        auto res = engine->RegisterObjection({"", p.family, p.given, p.dob, p.postcode}, who);
        ASSERT_TRUE(res.ok()) << res.status();
        ASSERT_EQ(res->outcome, ObjectionOutcome::kPending) << res->reason;
        m.objected.insert(pt);
        m.by_form.insert(pt);
        ++forms;
        ++ok_ops;
        continue;
      }
      ObjectionRequest req;
      req.nhs_number = patients[pt].nhs;
      auto res = engine->RegisterObjection(req, who);
      ASSERT_TRUE(res.ok()) << res.status();
      ASSERT_NE(res->outcome, ObjectionOutcome::kRefused);
      m.objected.insert(pt);
      ++ok_ops;
    } else if (kind < 80) {  // withdrawal
      int pt = static_cast<int>(pick(patients.size()));
      ObjectionRequest req;
      req.nhs_number = patients[pt].nhs;
      auto res = engine->WithdrawObjection(req, who);
      ASSERT_TRUE(res.ok()) << res.status();
      if (res->outcome != ObjectionOutcome::kRefused) {
        m.objected.erase(pt);
        m.by_form.erase(pt);
      }
      ++ok_ops;
    } else if (kind < 88) {  // resolve
      std::string_view s, id;
      SplitRecordKey(m.keys[pick(m.keys.size())], &s, &id);
      auto res = engine->Resolve(std::string(s), std::string(id), who);
      ASSERT_TRUE(res.ok()) << res.status();
      ++ok_ops;
    } else if (kind < 93) {  // view decision
      std::string_view s, id;
      SplitRecordKey(m.keys[pick(m.keys.size())], &s, &id);
      auto res = engine->MayAssembleViewForRecord(std::string(s), std::string(id), who);
      ASSERT_TRUE(res.ok()) << res.status();
      if (res->allowed) {
        auto pv = StoreOf(engine)->GetPerson(res->person_id);
        EXPECT_FALSE((*pv)->objection || (*pv)->objection_in_review) << "view allowed for an objecting person";
      }
      ++ok_ops;
    } else if (kind < 95) {  // revisit a few records' persons
      std::vector<RecordRef> refs;
      for (int n = 0; n < 3; ++n) {
        std::string_view s, id;
        SplitRecordKey(m.keys[pick(m.keys.size())], &s, &id);
        refs.push_back({std::string(s), std::string(id)});
      }
      auto res = engine->Revisit(refs, who);
      if (res.ok()) {
        ++ok_ops;
      } else {
        ASSERT_FALSE(engine->CurrentModel().trusted()) << res.status();
        ASSERT_EQ(res.status().code(), absl::StatusCode::kFailedPrecondition) << res.status();
      }
    } else {  // search
      const Patient& p = patients[pick(patients.size())];
      auto res = engine->Search({"", p.family, p.given, p.dob, p.postcode, ""}, who);
      ASSERT_TRUE(res.ok()) << res.status();
      ++ok_ops;
    }
    if (op % 1000 == 999) {
      CheckInvariants(engine, m, patients);
      if (::testing::Test::HasFailure()) return;
    }
  }
  CheckInvariants(engine, m, patients);
  uint64_t events = 0;
  ASSERT_TRUE(StoreOf(engine)->VerifyAuditChain(&events).ok());
  EXPECT_EQ(events, ok_ops) << "one audit event per operation";
  *forms_registered += forms;
}

TEST(RealtimePropertyTest, RandomOperationSequencesKeepInvariants) {
  uint64_t forms = 0;
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    SCOPED_TRACE(seed);
    RunSeed(seed, &forms);
    if (HasFailure()) return;
  }
  EXPECT_GE(forms, static_cast<uint64_t>(kSeeds)) << "too few forms registered before their patient's records";
}

}  // namespace
}  // namespace empi
