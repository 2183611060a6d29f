// Copyright EMPI developers.
//
// The change feed through the library (Engine::Changes): what each change
// to who is who puts in it, and a consumer that caches resolutions and
// follows the feed while a steward and contributors change the index under
// it ends with exactly what resolving afresh gives.
#include <algorithm>
#include <atomic>
#include <random>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "empi/engine.h"
#include "gtest/gtest.h"
#include "tests/engine/realtime/test_population.h"
#include "tests/temp_dir.h"

namespace empi {
namespace {

using testing::MakePatients;
using testing::OpenTestEngine;
using testing::Patient;
using testing::RecordOf;
using testing::TempDir;

std::vector<ChangeEvent> AllChanges(Engine* engine, uint64_t since, const Requester& who) {
  auto changes = engine->Changes(since, 1000, std::chrono::milliseconds(0), who);
  EXPECT_TRUE(changes.ok()) << changes.status();
  return changes.ok() ? *changes : std::vector<ChangeEvent>{};
}

TEST(ChangeFeedEngineTest, EachChangeToWhoIsWhoIsInTheFeedWithItsPersonsAndRecords) {
  TempDir dir;
  auto engine = OpenTestEngine(dir.path());
  ASSERT_NE(engine, nullptr);
  const Requester who{"feed.test", "test", "steward", "testing"};
  const std::vector<Patient> patients = MakePatients(2, 7);
  auto ingest = [&](const Record& r) {
    auto res = engine->Ingest(r, who);
    EXPECT_TRUE(res.ok()) << res.status();
    return res.ok() ? res->person_id : 0;
  };
  const uint64_t a = ingest(RecordOf(patients[0], "M84001", "G1", true));
  const uint64_t a2 = ingest(RecordOf(patients[0], "RKB", "H1", true));
  ASSERT_EQ(a, a2);
  Record restricted = RecordOf(patients[0], "RKB", "H1", true);
  restricted.restricted = true;
  ingest(restricted);
  const uint64_t b = ingest(RecordOf(patients[1], "M84001", "G2", true));
  ObjectionRequest objection;
  objection.nhs_number = patients[1].nhs;
  ASSERT_TRUE(engine->RegisterObjection(objection, who).ok());
  auto split = engine->Split(a, {{"RKB", "H1"}}, who, "test");
  ASSERT_TRUE(split.ok()) << split.status();
  auto merge = engine->Merge(a, *split, who, "test");
  ASSERT_TRUE(merge.ok()) << merge.status();
  auto unmerged = engine->Unmerge(a, *merge, who);
  ASSERT_TRUE(unmerged.ok()) << unmerged.status();
  ASSERT_TRUE(engine->WithdrawObjection(objection, who).ok());

  const std::vector<ChangeEvent> feed = AllChanges(engine.get(), 0, who);
  std::vector<std::string> kinds;
  for (const ChangeEvent& e : feed) kinds.push_back(e.kind);
  EXPECT_EQ(kinds, (std::vector<std::string>{"new-person", "record-linked", "record-updated", "restricted-changed",
                                             "new-person", "objection-registered", "split", "merge", "unmerge",
                                             "objection-withdrawn"}));
  ASSERT_EQ(feed.size(), 10u);
  for (size_t i = 0; i < feed.size(); ++i) EXPECT_EQ(feed[i].sequence, i + 1);
  EXPECT_EQ(feed[1].persons, std::vector<uint64_t>{a});
  EXPECT_EQ(feed[1].records, (std::vector<RecordRef>{{"RKB", "H1"}}));
  EXPECT_EQ(feed[5].persons, std::vector<uint64_t>{b});
  EXPECT_EQ(feed[6].persons, (std::vector<uint64_t>{a, *split}));
  EXPECT_EQ(feed[7].persons, (std::vector<uint64_t>{a, *split}));
  EXPECT_EQ(feed[8].persons, (std::vector<uint64_t>{a, *split}));
  EXPECT_EQ(engine->LastChange(), 10u);
  // Paging and since.
  auto page = engine->Changes(8, 1, std::chrono::milliseconds(0), who);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].sequence, 9u);
  EXPECT_EQ(engine->Changes(0, 0, std::chrono::milliseconds(0), who).status().code(),
            absl::StatusCode::kInvalidArgument);
  // The feed outlives the engine.
  engine.reset();
  engine = OpenTestEngine(dir.path());
  ASSERT_NE(engine, nullptr);
  EXPECT_EQ(engine->LastChange(), 10u);
  EXPECT_EQ(AllChanges(engine.get(), 0, who).size(), 10u);
}

// What a consumer caches of a record's resolution.
struct Cached {
  uint64_t person = 0;
  bool objection = false, objection_in_review = false, restricted = false;
  std::vector<std::string> records;
  friend bool operator==(const Cached&, const Cached&) = default;
};

Cached Resolve(Engine* engine, const RecordRef& r, const Requester& who) {
  auto res = engine->Resolve(r.source, r.record_id, who);
  EXPECT_TRUE(res.ok()) << res.status();
  if (!res.ok()) return {};
  Cached c{res->person_id, res->objection, res->objection_in_review, res->restricted, {}};
  for (const LinkedRecord& l : res->records) c.records.push_back(l.source + ":" + l.record_id);
  std::sort(c.records.begin(), c.records.end());
  return c;
}

// A steward and contributors change the index at random while a consumer
// follows the feed, re-resolving every cached record of a person a change
// names; once the writer stops and the consumer has read to the end, its
// cache equals a fresh resolution of every record.
TEST(ChangeFeedEngineTest, ConsumerFollowingTheFeedEndsWithTheIndexState) {
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    SCOPED_TRACE(seed);
    TempDir dir;
    auto engine = OpenTestEngine(dir.path());
    ASSERT_NE(engine, nullptr);
    const Requester steward{"feed.steward", "test", "steward", "testing"};
    const Requester consumer{"feed.consumer", "test", "clinician", "direct care"};
    const std::vector<Patient> patients = MakePatients(12, seed);
    std::atomic<bool> done{false};
    std::vector<RecordRef> written;  // by the writer, read after it ends

    std::thread writer([&] {
      std::mt19937_64 rng(seed);
      auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
      std::vector<int> patient_of;
      static const char* kSources[] = {"M84001", "RKB", "RLT", "RYA"};
      for (int op = 0; op < 400; ++op) {
        const size_t kind = written.size() < 4 ? 0 : pick(100);
        if (kind < 40) {
          const int pt = static_cast<int>(pick(patients.size()));
          Record r = RecordOf(patients[pt], kSources[pick(4)], "R" + std::to_string(op), pick(10) < 7);
          ASSERT_TRUE(engine->Ingest(r, steward).ok());
          written.push_back({r.source, r.record_id});
          patient_of.push_back(pt);
        } else if (kind < 50) {  // a contributor updates a record (restricted flips)
          const size_t i = pick(written.size());
          Record r = RecordOf(patients[patient_of[i]], written[i].source, written[i].record_id, pick(2) == 0);
          r.restricted = pick(2) == 0;
          ASSERT_TRUE(engine->Ingest(r, steward).ok());
        } else if (kind < 65) {  // merge the persons of two records
          const Cached x = Resolve(engine.get(), written[pick(written.size())], steward);
          const Cached y = Resolve(engine.get(), written[pick(written.size())], steward);
          if (x.person == y.person) continue;
          auto merged = engine->Merge(x.person, y.person, steward, "test");
          if (!merged.ok()) {
            ASSERT_EQ(merged.status().code(), absl::StatusCode::kFailedPrecondition);
          }
        } else if (kind < 80) {  // split a record off
          const RecordRef& r = written[pick(written.size())];
          const Cached x = Resolve(engine.get(), r, steward);
          if (x.records.size() < 2) continue;
          ASSERT_TRUE(engine->Split(x.person, {r}, steward, "test").ok());
        } else if (kind < 95) {  // objection or withdrawal
          ObjectionRequest req;
          req.nhs_number = patients[pick(patients.size())].nhs;
          ASSERT_TRUE(
              (pick(2) == 0 ? engine->RegisterObjection(req, steward) : engine->WithdrawObjection(req, steward)).ok());
        } else {  // never-link two records of different persons
          const RecordRef& a = written[pick(written.size())];
          const RecordRef& b = written[pick(written.size())];
          absl::Status s = engine->NeverLink(a, b, steward, "test");
          if (!s.ok()) {
            ASSERT_TRUE(absl::IsFailedPrecondition(s) || absl::IsInvalidArgument(s)) << s;
          }
        }
      }
      done = true;
    });

    // The consumer: starts empty, learns records from the feed.
    absl::flat_hash_map<std::string, std::pair<RecordRef, Cached>> cache;
    uint64_t since = 0, events = 0;
    while (true) {
      const bool writer_done = done.load();
      auto changes = engine->Changes(since, 64, std::chrono::milliseconds(20), consumer);
      ASSERT_TRUE(changes.ok()) << changes.status();
      for (const ChangeEvent& e : *changes) {
        ASSERT_EQ(e.sequence, since + 1) << "gap or reordering in the feed";
        since = e.sequence;
        ++events;
        absl::flat_hash_set<uint64_t> persons(e.persons.begin(), e.persons.end());
        for (const RecordRef& r : e.records) cache[r.source + ":" + r.record_id].first = r;
        for (auto& [key, entry] : cache) {
          const bool named = std::find(e.records.begin(), e.records.end(), entry.first) != e.records.end();
          if (named || persons.contains(entry.second.person)) {
            entry.second = Resolve(engine.get(), entry.first, consumer);
          }
        }
      }
      if (writer_done && changes->empty()) break;
    }
    writer.join();
    EXPECT_GT(events, 100u);
    EXPECT_EQ(since, engine->LastChange());
    ASSERT_EQ(cache.size(), written.size()) << "a record never appeared in the feed";
    for (const RecordRef& r : written) {
      const auto it = cache.find(r.source + ":" + r.record_id);
      ASSERT_NE(it, cache.end());
      EXPECT_EQ(it->second.second, Resolve(engine.get(), r, consumer))
          << "stale cache for " << r.source << ":" << r.record_id;
    }
  }
}

}  // namespace
}  // namespace empi
