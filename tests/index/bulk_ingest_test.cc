// Copyright EMPI developers.
//
// Store::BulkIngest on a real RocksDB in a temporary directory: every put of
// many change sets across the column families lands with its value, later
// puts of a key win, the data survives reopening, ingests on top of
// committed data, and refuses what only Commit() may write.
#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "index/store.h"
#include "tests/temp_dir.h"

namespace empi::index {
namespace {

using empi::testing::TempDir;

StoredRecord MakeRecord(int i, uint64_t person) {
  StoredRecord r;
  r.record.source = i % 2 ? "RKB" : "RLT";
  r.record.record_id = "R" + std::to_string(i);
  r.record.family_name = "Name" + std::to_string(i);
  r.record.postcode = "LS1 " + std::to_string(i % 10) + "AA";
  r.record.date_of_birth = std::to_string(1950 + i % 50) + "-03-07";
  r.record.restricted = i % 5 == 0;
  r.person_id = person;
  return r;
}

std::unique_ptr<Store> OpenOrDie(const std::string& path) {
  auto store = Store::Open(path, {});
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? std::move(*store) : nullptr;
}

// Puts records [first, first + count) with their index entries, `per_set`
// records per change set, person i / 3 + 1 each.
std::vector<ChangeSet> RecordSets(const Store& store, int first, int count, int per_set) {
  std::vector<ChangeSet> sets;
  for (int i = first; i < first + count; ++i) {
    if ((i - first) % per_set == 0) sets.push_back(store.NewChangeSet());
    ChangeSet& cs = sets.back();
    const uint64_t person = static_cast<uint64_t>(i / 3 + 1);
    const StoredRecord r = MakeRecord(i, person);
    const std::string key = r.record.Key();
    cs.PutRecord(r);
    cs.AddMembership(person, key);
    if (i % 3 == 0) cs.PutPerson(person, PersonValue{false, 0, ObjectionMethod::kNone, "", 1000 + i});
    cs.PutBlockKey(1, "B" + std::to_string(i % 50), key);
    cs.PutBlockKey(2, "C" + std::to_string(i % 7), key);
    cs.PutNhs(9000000000ULL + static_cast<uint64_t>(i), key);
  }
  return sets;
}

void ExpectRecords(const Store& store, int first, int count) {
  for (int i = first; i < first + count; ++i) {
    const uint64_t person = static_cast<uint64_t>(i / 3 + 1);
    const StoredRecord want = MakeRecord(i, person);
    const std::string key = want.record.Key();
    auto got = store.GetRecord(key);
    ASSERT_TRUE(got.ok() && got->has_value()) << i;
    EXPECT_EQ((*got)->person_id, person);
    EXPECT_EQ((*got)->record.family_name, want.record.family_name);
    EXPECT_EQ((*got)->record.postcode, want.record.postcode);
    auto nhs = store.RecordsWithNhs(9000000000ULL + static_cast<uint64_t>(i));
    ASSERT_TRUE(nhs.ok());
    EXPECT_EQ(*nhs, std::vector<std::string>{key});
    auto members = store.PersonRecords(person);
    ASSERT_TRUE(members.ok());
    EXPECT_NE(std::find(members->begin(), members->end(), key), members->end()) << i;
    auto view = store.GetPersonView(person);
    ASSERT_TRUE(view.ok() && view->has_value()) << i;
    auto member = std::find_if((*view)->members.begin(), (*view)->members.end(),
                               [&](const PersonViewMember& m) { return m.record_key == key; });
    ASSERT_NE(member, (*view)->members.end()) << i;
    EXPECT_EQ(member->dob_ymd, (1950 + i % 50) * 10000 + 307);
    EXPECT_EQ(member->restricted, i % 5 == 0);
    if (i % 3 == 0) {
      auto p = store.GetPerson(person);
      ASSERT_TRUE(p.ok() && p->has_value()) << i;
      EXPECT_EQ((*p)->created_time_us, 1000 + i);
      ASSERT_TRUE((*view)->person.has_value());
      EXPECT_EQ((*view)->person->created_time_us, 1000 + i);
    }
  }
}

TEST(BulkIngest, EveryPutOfManySetsIsReadable) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  std::vector<ChangeSet> sets = RecordSets(*store, 0, 3000, 97);
  sets.push_back(store->NewChangeSet());
  sets.back().PutModel("{\"bulk\":true}");
  sets.back().PutReview(MakeRecord(1, 1).record.Key(), MakeRecord(2, 1).record.Key(),
                        ReviewValue{2.5, 0.3, "between thresholds"});
  sets.back().PutNeverLink(MakeRecord(4, 2).record.Key(), MakeRecord(5, 2).record.Key());
  sets.back().AppendHistory(7, 1, "{\"e\":1}");
  sets.back().PutPendingObjection("nhs:9434765919", ObjectionValue{});
  sets.back().PutMeta("record_count", "3000");

  BulkIngestStats stats;
  ASSERT_TRUE(store->BulkIngest(sets, &stats).ok());
  // 3000 records x (record, membership, 2 block keys, nhs, view member op)
  // + 1000 persons x (person, view person op) + 7 (the review pair is put
  // under both orders).
  EXPECT_EQ(stats.puts, 3000u * 6 + 1000 * 2 + 7);
  // The 4000 view ops fold into one merge operand per person.
  EXPECT_EQ(stats.keys, stats.puts - 4000 + 1000);
  EXPECT_EQ(stats.files, 12u);  // one per family written (all but audit)

  ExpectRecords(*store, 0, 3000);
  bool truncated = true;
  auto block = store->BlockMembers(2, "C3", 10000, &truncated);
  ASSERT_TRUE(block.ok());
  EXPECT_FALSE(truncated);
  EXPECT_EQ(block->size(), 3000u / 7 + 1);  // i % 7 == 3 for i < 3000
  EXPECT_EQ(store->GetModel()->value_or(""), "{\"bulk\":true}");
  EXPECT_TRUE(*store->IsNeverLink(MakeRecord(5, 2).record.Key(), MakeRecord(4, 2).record.Key()));
  EXPECT_EQ(store->GetMeta("record_count")->value_or(""), "3000");
  int reviews = 0, objections = 0, history = 0;
  ASSERT_TRUE(store
                  ->ForEachReview([&](auto, auto, const ReviewValue& v) {
                    EXPECT_EQ(v.reason, "between thresholds");
                    return ++reviews > 0;
                  })
                  .ok());
  ASSERT_TRUE(store->ForEachPendingObjection([&](auto, auto) { return ++objections > 0; }).ok());
  ASSERT_TRUE(store->ForEachHistory(7, [&](uint64_t, std::string_view) { return ++history > 0; }).ok());
  EXPECT_EQ(reviews, 1);
  EXPECT_EQ(objections, 1);
  EXPECT_EQ(history, 1);
  // The audit trail is untouched and still verifies.
  uint64_t checked = 99;
  EXPECT_TRUE(store->VerifyAuditChain(&checked).ok());
  EXPECT_EQ(checked, 0u);
}

TEST(BulkIngest, LaterPutOfAKeyWins) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  std::vector<ChangeSet> sets;
  for (int s = 0; s < 20; ++s) {
    sets.push_back(store->NewChangeSet());
    // Within a set too: the second put of "k<s>" in the same set wins.
    sets.back().PutMeta("k" + std::to_string(s), "first");
    sets.back().PutMeta("shared", "set " + std::to_string(s));
    sets.back().PutMeta("k" + std::to_string(s), "second");
  }
  BulkIngestStats stats;
  ASSERT_TRUE(store->BulkIngest(sets, &stats).ok());
  EXPECT_EQ(stats.puts, 60u);
  EXPECT_EQ(stats.keys, 21u);
  EXPECT_EQ(store->GetMeta("shared")->value_or(""), "set 19");
  for (int s = 0; s < 20; ++s) EXPECT_EQ(store->GetMeta("k" + std::to_string(s))->value_or(""), "second");
}

TEST(BulkIngest, SurvivesReopenAndLeavesNoTemporaryFiles) {
  TempDir dir;
  {
    auto store = OpenOrDie(dir.path());
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->BulkIngest(RecordSets(*store, 0, 900, 100)).ok());
  }
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    EXPECT_EQ(entry.path().filename().string().find("bulk"), std::string::npos) << entry.path();
  }
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  ExpectRecords(*store, 0, 900);
}

// Rounds of a bulk load overlap in key order, so each lands as a sorted run
// of its own; Compact folds them into one per family and loses nothing.
TEST(BulkIngest, CompactFoldsOverlappingRoundsIntoOneRun) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(store->BulkIngest(RecordSets(*store, round * 1000, 1000, 100)).ok());
  }
  auto compacted = store->Compact();
  ASSERT_TRUE(compacted.ok()) << compacted.status();
  // At least records and block_keys got three overlapping runs ("R1000"
  // sorts between "R100" and "R101"); families keyed by increasing person
  // id or NHS number may have stacked their disjoint rounds on one level.
  EXPECT_GE(*compacted, 2);
  ExpectRecords(*store, 0, 3000);
  auto again = store->Compact();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, 0);
}

// A bulk_load store compacts nothing by itself; the level-0 runs one load
// leaves are compacted when the next load starts, so that two loads never
// stack above RocksDB's write stop.
TEST(BulkIngest, ALoadStartsByCompactingTheRunsAnEarlierLoadLeft) {
  TempDir dir;
  StoreOptions options;
  options.bulk_load = true;
  auto opened = Store::Open(dir.path(), options);
  ASSERT_TRUE(opened.ok()) << opened.status();
  Store& store = **opened;
  // The same records in every round: each overlaps the last, so the first
  // six fill levels 6 to 1 and the next six land in level 0.
  for (int round = 0; round < 12; ++round) ASSERT_TRUE(store.BulkIngest(RecordSets(store, 0, 100, 50)).ok());
  EXPECT_GE(store.MostLevel0Files(), 6);
  auto load = store.StartBulkLoad();
  ASSERT_TRUE(load.ok()) << load.status();
  EXPECT_LE(store.MostLevel0Files(), kBulkLoadLevel0Before);
  ExpectRecords(store, 0, 100);
}

TEST(BulkIngest, AddsToCommittedDataAndLaterCommitsWin) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  // Committed first, through the ordinary path, with an audit event.
  std::vector<ChangeSet> committed = RecordSets(*store, 0, 600, 600);
  ChangeSet header = store->NewChangeSet();
  const uint64_t first_id = store->AllocatePersonIds(1000, &header);
  EXPECT_EQ(first_id, 1u);
  AuditEvent event;
  event.action = "link";
  ASSERT_TRUE(store->Commit(&committed[0], nullptr, false).ok());
  ASSERT_TRUE(store->Commit(&header, &event, true).ok());

  // Bulk: new records interleaved in key order with the committed ones, and
  // a new value for one committed key.
  std::vector<ChangeSet> sets = RecordSets(*store, 600, 1200, 250);
  sets.back().PutMeta("note", "bulk");
  ASSERT_TRUE(store->BulkIngest(sets).ok());
  ExpectRecords(*store, 0, 1800);
  bool truncated = true;
  auto block = store->BlockMembers(1, "B7", 10000, &truncated);
  ASSERT_TRUE(block.ok());
  EXPECT_EQ(block->size(), 1800u / 50);
  EXPECT_EQ(store->GetMeta("note")->value_or(""), "bulk");

  // A Commit after the ingest overrides the ingested value.
  ChangeSet later = store->NewChangeSet();
  later.PutMeta("note", "committed");
  ASSERT_TRUE(store->Commit(&later, &event, true).ok());
  EXPECT_EQ(store->GetMeta("note")->value_or(""), "committed");

  // Counter and audit chain are as the ordinary commits left them.
  ChangeSet more = store->NewChangeSet();
  EXPECT_EQ(store->AllocatePersonIds(1, &more), 1001u);
  uint64_t checked = 0;
  EXPECT_TRUE(store->VerifyAuditChain(&checked).ok());
  EXPECT_EQ(checked, 2u);
  store.reset();
  store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  ExpectRecords(*store, 0, 1800);
  ChangeSet after = store->NewChangeSet();
  EXPECT_EQ(store->AllocatePersonIds(1, &after), 1001u);
}

TEST(BulkIngest, RefusesWhatOnlyCommitMayWriteAndWritesNothing) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  auto refused = [&](const std::function<void(ChangeSet*)>& add, std::string_view why) {
    std::vector<ChangeSet> sets = RecordSets(*store, 0, 30, 10);
    add(&sets[1]);
    absl::Status s = store->BulkIngest(sets);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << why << ": " << s;
    EXPECT_FALSE(store->GetRecord(MakeRecord(0, 1).record.Key())->has_value()) << why;
  };
  refused([](ChangeSet* c) { c->DeleteRecord(MakeRecord(3, 2).record.Key()); }, "delete");
  refused([](ChangeSet* c) { c->RemoveMembership(2, MakeRecord(3, 2).record.Key()); }, "membership delete");
  refused([](ChangeSet* c) { c->PutMeta(kMetaNextPersonId, EncodeU64(5)); }, "counter");
  refused([](ChangeSet* c) { c->PutMeta(kMetaAuditHead, "x"); }, "audit head");
  refused([](ChangeSet* c) { c->batch()->Put(nullptr, "x", "y").PermitUncheckedError(); }, "default family");
  refused([&](ChangeSet* c) { store->AllocatePersonIds(3, c); }, "allocated ids");
  // Nothing at all was written, and an empty ingest is a no-op.
  EXPECT_TRUE(store->BulkIngest({}).ok());
  int records = 0;
  ASSERT_TRUE(store->ForEachRecord([&](const StoredRecord&) { return ++records > 0; }).ok());
  EXPECT_EQ(records, 0);
}

}  // namespace
}  // namespace empi::index

namespace empi::index {
namespace {

// A BulkLoad's rounds become visible together at Finish, later rounds win
// over earlier ones (overlapping files in one IngestExternalFiles call get
// increasing sequence numbers in the order listed), deletes land as
// tombstones over committed data, a person_view delete followed by new
// members folds into one value, and the person-id counter is ingested.
TEST(BulkLoad, RoundsBecomeVisibleTogetherAndLaterRoundsWin) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  std::vector<ChangeSet> committed = RecordSets(*store, 0, 30, 30);
  ASSERT_TRUE(store->Commit(&committed[0], nullptr, true).ok());
  const StoredRecord moved = MakeRecord(3, 2);  // person 2 (records 3..5)
  const std::string gone_block = BlockKey(1, "B4", MakeRecord(4, 2).record.Key());

  auto load = store->StartBulkLoad();
  ASSERT_TRUE(load.ok()) << load.status();
  {
    std::vector<ChangeSet> round(2);
    round[0] = store->NewChangeSet();
    const uint64_t first = store->AllocatePersonIds(5, &round[0]);
    EXPECT_EQ(first, 1u);
    round[0].PutMeta("note", "round 1");
    // Person 2 is emptied and deleted, then gets record 3 back: the view
    // must hold that one member.
    for (int i = 3; i <= 5; ++i) round[0].RemoveMembership(2, MakeRecord(i, 2).record.Key());
    round[0].DeletePerson(2);
    round[0].DeleteBlockKey(1, "B4", MakeRecord(4, 2).record.Key());
    round[1] = store->NewChangeSet();
    round[1].PutPerson(2, PersonValue{});
    round[1].PutRecord(moved);
    round[1].AddMembership(2, moved.record.Key());
    ASSERT_TRUE((*load)->AddRound(round).ok());
  }
  {
    std::vector<ChangeSet> round(1);
    round[0] = store->NewChangeSet();
    round[0].PutMeta("note", "round 2");
    round[0].PutBlockKey(1, "B4", MakeRecord(4, 2).record.Key());  // back again
    ASSERT_TRUE((*load)->AddRound(round).ok());
  }
  {
    std::vector<ChangeSet> round(1);
    round[0] = store->NewChangeSet();
    round[0].DeleteBlockKey(1, "B4", MakeRecord(4, 2).record.Key());  // and gone
    ASSERT_TRUE((*load)->AddRound(round).ok());
  }
  // Nothing is visible before Finish.
  EXPECT_FALSE(store->GetMeta("note")->has_value());
  EXPECT_EQ(store->PersonRecords(2)->size(), 3u);
  ASSERT_TRUE((*load)->Finish().ok());
  EXPECT_EQ(store->GetMeta("note")->value_or(""), "round 2");
  EXPECT_EQ(*store->PersonRecords(2), std::vector<std::string>{moved.record.Key()});
  auto view = store->GetPersonView(2);
  ASSERT_TRUE(view.ok() && view->has_value());
  ASSERT_EQ((*view)->members.size(), 1u);
  EXPECT_EQ((*view)->members[0].record_key, moved.record.Key());
  bool truncated = false;
  auto block = store->BlockMembers(1, "B4", 100, &truncated);
  ASSERT_TRUE(block.ok());
  EXPECT_EQ(std::count(block->begin(), block->end(), MakeRecord(4, 2).record.Key()), 0);
  load->reset();
  store.reset();
  store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  ChangeSet after = store->NewChangeSet();
  EXPECT_EQ(store->AllocatePersonIds(1, &after), 6u) << "the ingested counter";
}

TEST(BulkLoad, AnUnfinishedLoadLeavesNothing) {
  TempDir dir;
  {
    auto store = OpenOrDie(dir.path());
    ASSERT_NE(store, nullptr);
    auto load = store->StartBulkLoad();
    ASSERT_TRUE(load.ok());
    ASSERT_TRUE((*load)->AddRound(RecordSets(*store, 0, 300, 100)).ok());
    EXPECT_TRUE(std::filesystem::exists(dir.path() + "/bulk_ingest.tmp"));
  }
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/bulk_ingest.tmp"));
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  EXPECT_FALSE(store->GetRecord(MakeRecord(1, 1).record.Key())->has_value());
  // The audit family and the store's own meta keys stay Commit's.
  auto load = store->StartBulkLoad();
  ASSERT_TRUE(load.ok());
  std::vector<ChangeSet> bad(1);
  bad[0] = store->NewChangeSet();
  bad[0].PutMeta(kMetaAuditHead, "x");
  EXPECT_EQ((*load)->AddRound(bad).code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace empi::index
