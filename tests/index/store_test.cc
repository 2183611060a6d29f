// Copyright EMPI developers.
//
// Store behaviour on a real RocksDB in a temporary directory: atomic
// multi-family commits, persistence, format version checks, person id
// allocation, group commit, block reads and snapshots.
#include "index/store.h"

#include <atomic>
#include <set>
#include <thread>
#include <tuple>

#include "gtest/gtest.h"
#include "tests/index/store_invariants.h"
#include "tests/temp_dir.h"

namespace empi::index {
namespace {

using empi::testing::TempDir;

StoredRecord MakeRecord(std::string source, std::string id, uint64_t person) {
  StoredRecord r;
  r.record.source = std::move(source);
  r.record.record_id = std::move(id);
  r.record.family_name = "Smith";
  r.record.nhs_number = "9434765919";
  r.person_id = person;
  return r;
}

std::unique_ptr<Store> OpenOrDie(const std::string& path, StoreOptions options = {}) {
  auto store = Store::Open(path, options);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? std::move(*store) : nullptr;
}

// Commits `records` in one change set, each a member of its person_id, and
// each of those persons with a plain person value.
void CommitRecords(Store* store, std::initializer_list<const StoredRecord*> records) {
  ChangeSet cs = store->NewChangeSet();
  for (const StoredRecord* r : records) {
    cs.PutRecord(*r);
    cs.AddMembership(r->person_id, r->record.Key());
    cs.PutPerson(r->person_id, PersonValue{});
  }
  ASSERT_TRUE(store->Commit(&cs, nullptr, false).ok());
}

TEST(Store, CommitIsAtomicAcrossColumnFamilies) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  const StoredRecord r = MakeRecord("RKB", "K1", 5);
  const std::string key = r.record.Key();

  ChangeSet changes = store->NewChangeSet();
  changes.PutRecord(r);
  changes.AddMembership(5, key);
  changes.PutPerson(5, PersonValue{false, 0, ObjectionMethod::kNone, "", 99});
  changes.PutBlockKey(1, "SMITH", key);
  changes.PutNhs(9434765919, key);
  changes.PutModel("{\"m\":1}");
  changes.PutNeverLink(key, std::string("RLT\0X", 5));
  changes.PutReview(std::string("RLT\0X", 5), key, ReviewValue{3.5, 0.4, "between thresholds"});
  changes.PutPendingObjection("nhs:9434765919", ObjectionValue{});
  changes.AppendHistory(5, 1, "{\"event\":\"created\"}");

  // Nothing is visible before Commit.
  ASSERT_FALSE(store->GetRecord(key)->has_value());
  ASSERT_TRUE(store->Commit(&changes, nullptr, /*sync=*/true).ok());

  auto got = store->GetRecord(key);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->record, r.record);
  EXPECT_EQ((*got)->person_id, 5u);
  EXPECT_EQ(*store->PersonRecords(5), std::vector<std::string>{key});
  EXPECT_EQ((*store->GetPerson(5))->created_time_us, 99);
  EXPECT_EQ(*store->RecordsWithNhs(9434765919), std::vector<std::string>{key});
  EXPECT_TRUE(store->RecordsWithNhs(9434765918)->empty());
  EXPECT_EQ(**store->GetModel(), "{\"m\":1}");
  EXPECT_TRUE(*store->IsNeverLink(std::string("RLT\0X", 5), key));
  EXPECT_FALSE(*store->IsNeverLink(key, std::string("RLT\0Y", 5)));

  int reviews = 0;
  ASSERT_TRUE(store
                  ->ForEachReview([&](std::string_view a, std::string_view b, const ReviewValue& v) {
                    EXPECT_EQ(a, key);  // "RKB..." < "RLT..."
                    EXPECT_EQ(b, std::string("RLT\0X", 5));
                    EXPECT_EQ(v.reason, "between thresholds");
                    ++reviews;
                    return true;
                  })
                  .ok());
  EXPECT_EQ(reviews, 1);
  std::vector<std::string> pending;
  ASSERT_TRUE(store
                  ->ForEachPendingObjection([&](std::string_view k, const ObjectionValue&) {
                    pending.emplace_back(k);
                    return true;
                  })
                  .ok());
  EXPECT_EQ(pending, std::vector<std::string>{"nhs:9434765919"});
  std::vector<std::string> history;
  ASSERT_TRUE(store
                  ->ForEachHistory(5,
                                   [&](uint64_t seq, std::string_view json) {
                                     EXPECT_EQ(seq, 1u);
                                     history.emplace_back(json);
                                     return true;
                                   })
                  .ok());
  EXPECT_EQ(history, std::vector<std::string>{"{\"event\":\"created\"}"});

  // Deletions are atomic too.
  ChangeSet removal = store->NewChangeSet();
  removal.DeleteRecord(key);
  removal.RemoveMembership(5, key);
  removal.DeleteNhs(9434765919, key);
  removal.DeleteBlockKey(1, "SMITH", key);
  removal.DeletePerson(5);
  removal.DeletePendingObjection("nhs:9434765919");
  ASSERT_TRUE(store->Commit(&removal, nullptr, false).ok());
  EXPECT_FALSE(store->GetRecord(key)->has_value());
  EXPECT_FALSE(store->GetPerson(5)->has_value());
  EXPECT_TRUE(store->PersonRecords(5)->empty());
  bool truncated = true;
  EXPECT_TRUE(store->BlockMembers(1, "SMITH", 10, &truncated)->empty());
  EXPECT_FALSE(truncated);
}

TEST(Store, DefaultConstructedChangeSetCommits) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  ChangeSet changes;  // not bound to the store's handles
  changes.PutRecord(MakeRecord("RYA", "A1", 3));
  changes.AddMembership(3, MakeRecord("RYA", "A1", 3).record.Key());
  ASSERT_TRUE(store->Commit(&changes, nullptr, false).ok());
  EXPECT_TRUE(store->GetRecord(MakeRecord("RYA", "A1", 3).record.Key())->has_value());
  EXPECT_EQ(store->PersonRecords(3)->size(), 1u);
}

TEST(Store, PersistsAcrossReopen) {
  TempDir dir;
  const std::string key = MakeRecord("RJC", "J9", 11).record.Key();
  {
    auto store = OpenOrDie(dir.path());
    ChangeSet changes = store->NewChangeSet();
    changes.PutRecord(MakeRecord("RJC", "J9", 11));
    changes.AddMembership(11, key);
    AuditEvent event;
    event.action = "merge";
    ASSERT_TRUE(store->Commit(&changes, &event, true).ok());
  }
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ((*store->GetRecord(key))->person_id, 11u);
  EXPECT_EQ(*store->PersonRecords(11), std::vector<std::string>{key});
  // The audit chain continues where it stopped.
  ChangeSet more = store->NewChangeSet();
  AuditEvent event;
  event.action = "view";
  uint64_t seq = 0;
  ASSERT_TRUE(store->Commit(&more, &event, true, &seq).ok());
  EXPECT_EQ(seq, 2u);
  uint64_t checked = 0;
  EXPECT_TRUE(store->VerifyAuditChain(&checked).ok());
  EXPECT_EQ(checked, 2u);
}

TEST(Store, RejectsOtherFormatVersion) {
  TempDir dir;
  {
    auto store = OpenOrDie(dir.path());
    EXPECT_EQ(**store->GetMeta(kMetaFormatVersion), std::to_string(kFormatVersion));
    ASSERT_TRUE(store->db()->Put(rocksdb::WriteOptions(), store->cf(Cf::kMeta), "format_version", "999").ok());
  }
  auto reopened = Store::Open(dir.path(), {});
  ASSERT_FALSE(reopened.ok());
  EXPECT_EQ(reopened.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(reopened.status().message().find("format version 999"), std::string::npos) << reopened.status();
}

// Version 7 differs from 8 only in audit events that never carry request
// ids: a read-only open reads it as it is, a writer marks it 8 first.
// A version-7 store (before request ids and nhs_history) is refused
// read-only and upgraded to the current version by a writer.
TEST(Store, Version7IsRefusedReadOnlyAndUpgradedByAWriter) {
  TempDir dir;
  {
    auto store = OpenOrDie(dir.path());
    ASSERT_TRUE(store->db()->DropColumnFamily(store->cf(Cf::kNhsHistory)).ok());
    ASSERT_TRUE(store->db()->Put(rocksdb::WriteOptions(), store->cf(Cf::kMeta), "format_version", "7").ok());
  }
  StoreOptions read_only;
  read_only.read_only = true;
  auto refused = Store::Open(dir.path(), read_only);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition) << refused.status();
  auto store = OpenOrDie(dir.path());
  EXPECT_EQ(**store->GetMeta(kMetaFormatVersion), std::to_string(kFormatVersion));
}

TEST(Store, MissingStoreWithoutCreateIsNotFound) {
  TempDir dir;
  StoreOptions options;
  options.create_if_missing = false;
  auto store = Store::Open(dir.path() + "/absent", options);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kNotFound) << store.status();
}

TEST(Store, ReadOnlyRefusesCommit) {
  TempDir dir;
  { OpenOrDie(dir.path()); }
  StoreOptions options;
  options.read_only = true;
  auto store = OpenOrDie(dir.path(), options);
  ASSERT_NE(store, nullptr);
  ChangeSet changes = store->NewChangeSet();
  changes.PutMeta("k", "v");
  EXPECT_EQ(store->Commit(&changes, nullptr, false).code(), absl::StatusCode::kFailedPrecondition);
}

TEST(Store, PersonIdsAreNeverReusedAcrossReopen) {
  TempDir dir;
  std::set<uint64_t> committed;
  uint64_t uncommitted_first = 0;
  {
    auto store = OpenOrDie(dir.path());
    ChangeSet a = store->NewChangeSet();
    const uint64_t first_a = store->AllocatePersonIds(10, &a);
    ChangeSet b = store->NewChangeSet();
    const uint64_t first_b = store->AllocatePersonIds(5, &b);
    EXPECT_EQ(first_a, 1u);
    EXPECT_EQ(first_b, 11u);
    b.PutPerson(first_b, PersonValue{});
    a.PutPerson(first_a, PersonValue{});
    // b (the higher ids) commits before a: a's batch must not lower the
    // persisted counter.
    ASSERT_TRUE(store->Commit(&b, nullptr, true).ok());
    ASSERT_TRUE(store->Commit(&a, nullptr, true).ok());
    committed = {first_a, first_b};
    ChangeSet lost = store->NewChangeSet();
    uncommitted_first = store->AllocatePersonIds(3, &lost);  // never committed
    EXPECT_EQ(uncommitted_first, 16u);
  }
  auto store = OpenOrDie(dir.path());
  ChangeSet c = store->NewChangeSet();
  const uint64_t next = store->AllocatePersonIds(1, &c);
  EXPECT_GE(next, 16u);  // above every committed id; uncommitted ones may be reused
  EXPECT_EQ(DecodeU64(**store->GetMeta(kMetaNextPersonId)), 16u);
}

TEST(Store, BlockMembersHonoursLimit) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  ChangeSet changes = store->NewChangeSet();
  for (int i = 0; i < 7; ++i) {
    changes.PutBlockKey(2, "SM|1984", MakeRecord("G8", "r" + std::to_string(i), 0).record.Key());
  }
  // Neighbouring blocks (a longer key, another rule) must not leak in.
  changes.PutBlockKey(2, "SM|19840", MakeRecord("G8", "other", 0).record.Key());
  changes.PutBlockKey(3, "SM|1984", MakeRecord("G8", "rule3", 0).record.Key());
  changes.PutBlockKey(2, "SM|198", MakeRecord("G8", "shorter", 0).record.Key());
  ASSERT_TRUE(store->Commit(&changes, nullptr, false).ok());
  ASSERT_TRUE(store->Flush().ok());  // exercise SST prefix blooms as well as the memtable

  bool truncated = false;
  auto all = store->BlockMembers(2, "SM|1984", 100, &truncated);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 7u);
  EXPECT_FALSE(truncated);
  EXPECT_EQ(all->front(), MakeRecord("G8", "r0", 0).record.Key());

  auto capped = store->BlockMembers(2, "SM|1984", 7, &truncated);
  EXPECT_EQ(capped->size(), 7u);
  EXPECT_FALSE(truncated);
  capped = store->BlockMembers(2, "SM|1984", 3, &truncated);
  EXPECT_EQ(capped->size(), 3u);
  EXPECT_TRUE(truncated);
  EXPECT_TRUE(store->BlockMembers(2, "XX", 3, &truncated)->empty());
  EXPECT_FALSE(truncated);
}

// After WarmCache, reading every record and block finds its data block in
// the cache: the cache does not grow. Without it, the same reads fill it.
TEST(Store, WarmCacheLoadsTheBlocksReadsNeed) {
  TempDir dir;
  constexpr int kRecords = 20000;
  {
    auto store = OpenOrDie(dir.path());
    ChangeSet cs = store->NewChangeSet();
    for (int i = 0; i < kRecords; ++i) {
      const StoredRecord r = MakeRecord("G8", "r" + std::to_string(i), 1 + i / 3);
      cs.PutRecord(r);
      cs.AddMembership(r.person_id, r.record.Key());
      cs.PutBlockKey(2, "SM|" + std::to_string(i % 500), r.record.Key());
    }
    ASSERT_TRUE(store->Commit(&cs, nullptr, false).ok());
    ASSERT_TRUE(store->Flush().ok());
  }
  auto read_everything = [](Store* store) {
    for (int i = 0; i < kRecords; ++i) {
      auto got = store->GetRecord(MakeRecord("G8", "r" + std::to_string(i), 0).record.Key());
      ASSERT_TRUE(got.ok() && got->has_value());
    }
    for (int b = 0; b < 500; ++b) {
      bool truncated = false;
      ASSERT_EQ(store->BlockMembers(2, "SM|" + std::to_string(b), 100, &truncated)->size(), size_t{kRecords / 500});
    }
  };
  {
    auto cold = OpenOrDie(dir.path());
    const uint64_t before = cold->block_cache_usage();
    read_everything(cold.get());
    EXPECT_GT(cold->block_cache_usage(), before);
  }
  auto store = OpenOrDie(dir.path());
  const uint64_t pinned = store->block_cache_usage();
  auto warmed = store->WarmCache();
  ASSERT_TRUE(warmed.ok()) << warmed.status();
  EXPECT_GT(*warmed, pinned);
  EXPECT_EQ(store->block_cache_usage(), *warmed);
  read_everything(store.get());
  EXPECT_EQ(store->block_cache_usage(), *warmed);
}

// A cache smaller than the store: warming stops short of it and succeeds.
TEST(Store, WarmCacheStopsWhenTheCacheIsFull) {
  TempDir dir;
  {
    auto store = OpenOrDie(dir.path());
    ChangeSet cs = store->NewChangeSet();
    for (int i = 0; i < 50000; ++i) cs.PutRecord(MakeRecord("G8", "r" + std::to_string(i), 1 + i));
    ASSERT_TRUE(store->Commit(&cs, nullptr, false).ok());
    ASSERT_TRUE(store->Flush().ok());
  }
  StoreOptions small;
  small.block_cache_bytes = 256 << 10;
  auto store = OpenOrDie(dir.path(), small);
  auto warmed = store->WarmCache();
  ASSERT_TRUE(warmed.ok()) << warmed.status();
  EXPECT_LE(*warmed, uint64_t{256 << 10});
  EXPECT_TRUE(store->GetRecord(MakeRecord("G8", "r49999", 0).record.Key())->has_value());
}

TEST(Store, GetRecordsReadsManyKeysInOrderAtASnapshot) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  ChangeSet changes = store->NewChangeSet();
  changes.PutRecord(MakeRecord("RKB", "K1", 1));
  changes.PutRecord(MakeRecord("M84001", "G1", 2));
  ASSERT_TRUE(store->Commit(&changes, nullptr, false).ok());
  const rocksdb::Snapshot* snap = store->GetSnapshot();
  ChangeSet later = store->NewChangeSet();
  later.PutRecord(MakeRecord("RLT", "L1", 3));
  ASSERT_TRUE(store->Commit(&later, nullptr, false).ok());

  const std::vector<std::string> keys = {MakeRecord("M84001", "G1", 0).record.Key(),
                                         MakeRecord("RLT", "L1", 0).record.Key(),
                                         MakeRecord("RKB", "K1", 0).record.Key()};
  auto now = store->GetRecords(keys);
  ASSERT_TRUE(now.ok()) << now.status();
  ASSERT_EQ(now->size(), 3u);
  ASSERT_TRUE((*now)[0] && (*now)[1] && (*now)[2]);
  EXPECT_EQ((*now)[0]->person_id, 2u);
  EXPECT_EQ((*now)[1]->record.record_id, "L1");
  EXPECT_EQ((*now)[2]->person_id, 1u);
  auto then = store->GetRecords(keys, snap);
  ASSERT_TRUE(then.ok());
  EXPECT_TRUE((*then)[0].has_value());
  EXPECT_FALSE((*then)[1].has_value());  // written after the snapshot
  EXPECT_TRUE((*then)[2].has_value());
  store->ReleaseSnapshot(snap);
  EXPECT_TRUE(store->GetRecords({})->empty());
}

// Scans stop at the end of their prefix, including prefixes ending in 0xff
// bytes (person 0xff and person 0x100 are neighbours in key order).
TEST(Store, PrefixScansStopAtTheirPrefix) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  ChangeSet changes = store->NewChangeSet();
  for (uint64_t p : {0xfeULL, 0xffULL, 0x100ULL, ~0ULL}) {
    changes.AddMembership(p, MakeRecord("RKB", "A" + std::to_string(p), p).record.Key());
    changes.AddMembership(p, MakeRecord("RKB", "B" + std::to_string(p), p).record.Key());
  }
  changes.PutBlockKey(1, "SMITH", MakeRecord("RKB", "A", 0).record.Key());
  changes.PutBlockKey(1, "SMITHE", MakeRecord("RKB", "B", 0).record.Key());
  changes.PutBlockKey(2, "SMITH", MakeRecord("RKB", "C", 0).record.Key());
  ASSERT_TRUE(store->Commit(&changes, nullptr, false).ok());
  for (uint64_t p : {0xfeULL, 0xffULL, 0x100ULL, ~0ULL}) {
    auto keys = store->PersonRecords(p);
    ASSERT_TRUE(keys.ok());
    ASSERT_EQ(keys->size(), 2u) << p;
    EXPECT_EQ((*keys)[0], MakeRecord("RKB", "A" + std::to_string(p), p).record.Key());
  }
  EXPECT_TRUE(store->PersonRecords(0x101)->empty());
  bool truncated = true;
  auto members = store->BlockMembers(1, "SMITH", 10, &truncated);
  ASSERT_TRUE(members.ok());
  ASSERT_EQ(members->size(), 1u);
  EXPECT_EQ((*members)[0], MakeRecord("RKB", "A", 0).record.Key());
  EXPECT_FALSE(truncated);
}

TEST(Store, GroupCommitFromManyThreadsKeepsEveryChangeAndAChain) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  constexpr int kThreads = 8, kCommits = 200;
  std::atomic<int> failures{0};
  std::vector<std::vector<uint64_t>> sequences(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kCommits; ++i) {
        ChangeSet changes = store->NewChangeSet();
        const uint64_t person = store->AllocatePersonIds(1, &changes);
        std::string source = "T";
        source += std::to_string(t);
        StoredRecord r = MakeRecord(source, std::to_string(i), person);
        changes.PutRecord(r);
        changes.AddMembership(person, r.record.Key());
        AuditEvent event;
        event.action = "link";
        event.records = {r.record.Key()};
        event.persons = {person};
        uint64_t seq = 0;
        if (!store->Commit(&changes, &event, /*sync=*/true, &seq).ok()) ++failures;
        sequences[t].push_back(seq);
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_EQ(failures.load(), 0);

  // Every thread's sequences increase; together they are exactly 1..1600.
  std::set<uint64_t> all;
  for (const auto& s : sequences) {
    EXPECT_TRUE(std::is_sorted(s.begin(), s.end()));
    all.insert(s.begin(), s.end());
  }
  ASSERT_EQ(all.size(), size_t{kThreads * kCommits});
  EXPECT_EQ(*all.begin(), 1u);
  EXPECT_EQ(*all.rbegin(), uint64_t{kThreads * kCommits});

  uint64_t checked = 0;
  ASSERT_TRUE(store->VerifyAuditChain(&checked).ok());
  EXPECT_EQ(checked, uint64_t{kThreads * kCommits});

  // Every change is present, and each audit event names its own record.
  std::set<uint64_t> persons;
  ASSERT_TRUE(store
                  ->ForEachAuditEvent([&](const StoredAuditEvent& e) {
                    auto r = store->GetRecord(e.event.records.at(0));
                    EXPECT_TRUE(r.ok() && r->has_value());
                    if (r.ok() && r->has_value()) {
                      EXPECT_EQ((*r)->person_id, e.event.persons.at(0));
                    }
                    persons.insert(e.event.persons.at(0));
                    return true;
                  })
                  .ok());
  EXPECT_EQ(persons.size(), size_t{kThreads * kCommits});
  int records = 0;
  ASSERT_TRUE(store->ForEachRecord([&](const StoredRecord&) { return ++records, true; }).ok());
  EXPECT_EQ(records, kThreads * kCommits);
  EXPECT_EQ(DecodeU64(**store->GetMeta(kMetaNextPersonId)), uint64_t{kThreads * kCommits + 1});
}

TEST(Store, SnapshotsGiveConsistentReadsWhileWriting) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  // Invariant kept by every commit: person 1 has exactly the records
  // "S\0<n>" for n < count, and meta "count" says how many.
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int n = 0; n < 300 && !stop; ++n) {
      ChangeSet c = store->NewChangeSet();
      c.AddMembership(1, MakeRecord("S", std::to_string(n), 1).record.Key());
      c.PutRecord(MakeRecord("S", std::to_string(n), 1));
      c.PutMeta("count", std::to_string(n + 1));
      ASSERT_TRUE(store->Commit(&c, nullptr, false).ok());
    }
  });
  int checks = 0;
  for (; checks < 200; ++checks) {
    const rocksdb::Snapshot* snap = store->GetSnapshot();
    auto members = store->PersonRecords(1, snap);
    rocksdb::ReadOptions ro;
    ro.snapshot = snap;
    std::string count = "0";
    rocksdb::Status s = store->db()->Get(ro, store->cf(Cf::kMeta), "count", &count);
    ASSERT_TRUE(s.ok() || s.IsNotFound());
    ASSERT_TRUE(members.ok());
    EXPECT_EQ(members->size(), std::stoul(count));
    int records = 0;
    ASSERT_TRUE(store->ForEachRecord([&](const StoredRecord&) { return ++records, true; }, snap).ok());
    EXPECT_EQ(static_cast<size_t>(records), members->size());
    store->ReleaseSnapshot(snap);
  }
  stop = true;
  writer.join();
}

// The derived person_view follows every kind of membership change made
// through ChangeSet: add, refresh, move, person value, delete.
TEST(Store, PersonViewFollowsMembershipChanges) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  StoredRecord a = MakeRecord("RKB", "A", 1), b = MakeRecord("M84001", "B", 1);
  a.record.date_of_birth = "1950-02-03";
  b.record.restricted = true;
  CommitRecords(store.get(), {&a, &b});
  auto view = store->GetPersonView(1);
  ASSERT_TRUE(view.ok() && view->has_value());
  ASSERT_EQ((*view)->members.size(), 2u);
  EXPECT_EQ((*view)->members[0].record_key, b.record.Key());  // key order: "M84001" < "RKB"
  EXPECT_TRUE((*view)->members[0].restricted);
  EXPECT_EQ((*view)->members[1].dob_ymd, 19500203);
  ASSERT_TRUE((*view)->person.has_value());
  EXPECT_FALSE((*view)->person->objection);

  // Objection, a changed record, and a record moved to person 2.
  {
    ChangeSet cs = store->NewChangeSet();
    PersonValue objecting;
    objecting.objection = true;
    cs.PutPerson(1, objecting);
    a.record.date_of_birth = "1950-03-02";
    cs.PutRecord(a);
    cs.RemoveMembership(1, b.record.Key());
    b.person_id = 2;
    cs.PutRecord(b);
    cs.AddMembership(2, b.record.Key());
    ASSERT_TRUE(store->Commit(&cs, nullptr, false).ok());
  }
  view = store->GetPersonView(1);
  ASSERT_TRUE(view.ok() && view->has_value());
  ASSERT_EQ((*view)->members.size(), 1u);
  EXPECT_EQ((*view)->members[0].dob_ymd, 19500302);
  EXPECT_TRUE((*view)->person->objection);
  auto view2 = store->GetPersonView(2);
  ASSERT_TRUE(view2.ok() && view2->has_value());
  ASSERT_EQ((*view2)->members.size(), 1u);
  EXPECT_FALSE((*view2)->person.has_value());

  // Deleting the person deletes its view, also after a compaction.
  {
    ChangeSet cs = store->NewChangeSet();
    cs.RemoveMembership(1, a.record.Key());
    cs.DeletePerson(1);
    ASSERT_TRUE(store->Commit(&cs, nullptr, false).ok());
  }
  ASSERT_TRUE(
      store->db()->CompactRange(rocksdb::CompactRangeOptions(), store->cf(Cf::kPersonView), nullptr, nullptr).ok());
  EXPECT_FALSE(store->GetPersonView(1)->has_value());
  EXPECT_EQ(store->GetPersonView(2)->value().members.size(), 1u);
}

// A version-1 store (no person_view) is refused read-only with a clear
// message, and upgraded by a read-write open.
TEST(Store, UpgradesFormatVersion1) {
  TempDir dir;
  {
    auto store = OpenOrDie(dir.path());
    ASSERT_NE(store, nullptr);
    ChangeSet cs = store->NewChangeSet();
    for (int i = 0; i < 30; ++i) {
      StoredRecord r = MakeRecord(i % 2 ? "RKB" : "M84001", "R" + std::to_string(i), 1 + i / 3);
      r.record.date_of_birth = "1960-01-" + std::to_string(10 + i % 10);
      r.record.restricted = i % 7 == 0;
      cs.PutRecord(r);
      cs.AddMembership(r.person_id, r.record.Key());
      if (i % 3 == 0) cs.PutPerson(r.person_id, PersonValue{i % 2 == 0, 5, ObjectionMethod::kForm, "", 0});
    }
    ASSERT_TRUE(store->Commit(&cs, nullptr, true).ok());
    // Make it what version 1 wrote: no person_view family.
    ASSERT_TRUE(store->db()->DropColumnFamily(store->cf(Cf::kPersonView)).ok());
    ASSERT_TRUE(store->db()->Put(rocksdb::WriteOptions(), store->cf(Cf::kMeta), "format_version", "1").ok());
  }
  StoreOptions read_only;
  read_only.read_only = true;
  auto refused = Store::Open(dir.path(), read_only);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("older format version"), std::string::npos) << refused.status();

  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(**store->GetMeta(kMetaFormatVersion), std::to_string(kFormatVersion));
  auto person_of = empi::testing::CheckMembership(store.get());
  EXPECT_EQ(person_of.size(), 30u);
  EXPECT_TRUE(store->GetPersonView(1)->value().person->objection);
}

// A review pair is found from either record, listed once by ForEachReview,
// and deleted whichever order it is named in.
TEST(Store, ReviewPairsAreFoundFromEitherRecord) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  const std::string a("RKB\0K1", 6), b("RLT\0X", 5), c("M84001\0G7", 9);
  ChangeSet changes = store->NewChangeSet();
  changes.PutReview(b, a, {3.5, 0.9, "between thresholds"});
  changes.PutReview(a, c, {2.5, 0.8, "nhs conflict"});
  ASSERT_TRUE(store->Commit(&changes, nullptr, false).ok());
  EXPECT_EQ(*store->ReviewPartners(a), (std::vector<std::string>{c, b}));
  EXPECT_EQ(*store->ReviewPartners(b), (std::vector<std::string>{a}));
  EXPECT_EQ(*store->ReviewPartners(c), (std::vector<std::string>{a}));
  std::vector<std::tuple<std::string, std::string, std::string>> listed;
  ASSERT_TRUE(store
                  ->ForEachReview([&](std::string_view x, std::string_view y, const ReviewValue& v) {
                    listed.emplace_back(x, y, v.reason);
                    return true;
                  })
                  .ok());
  EXPECT_EQ(listed, (std::vector<std::tuple<std::string, std::string, std::string>>{{c, a, "nhs conflict"},
                                                                                    {a, b, "between thresholds"}}));
  changes = store->NewChangeSet();
  changes.DeleteReview(c, a);
  ASSERT_TRUE(store->Commit(&changes, nullptr, false).ok());
  EXPECT_EQ(*store->ReviewPartners(a), (std::vector<std::string>{b}));
  EXPECT_TRUE(store->ReviewPartners(c)->empty());
}

// Version 3 kept a review pair once, (a, b) with a < b, and person values
// without objection_in_review.
TEST(Store, UpgradesFormatVersion3) {
  TempDir dir;
  const std::string a("RKB\0K1", 6), b("RLT\0X", 5);
  {
    auto store = OpenOrDie(dir.path());
    ASSERT_NE(store, nullptr);
    ChangeSet cs = store->NewChangeSet();
    cs.PutReview(a, b, {3.5, 0.9, "between thresholds"});
    ASSERT_TRUE(store->Commit(&cs, nullptr, true).ok());
    rocksdb::DB* db = store->db();
    ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), store->cf(Cf::kReview), DirectedPairKey(b, a)).ok());
    std::string v3 = EncodePersonValue(PersonValue{true, 5, ObjectionMethod::kForm, "r", 6});
    v3.pop_back();
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), store->cf(Cf::kPersons), EncodeU64(9), v3).ok());
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), store->cf(Cf::kMeta), "format_version", "3").ok());
    ASSERT_TRUE(store->ReviewPartners(b)->empty());
  }
  StoreOptions read_only;
  read_only.read_only = true;
  EXPECT_EQ(Store::Open(dir.path(), read_only).status().code(), absl::StatusCode::kFailedPrecondition);
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(**store->GetMeta(kMetaFormatVersion), std::to_string(kFormatVersion));
  EXPECT_EQ(*store->ReviewPartners(b), std::vector<std::string>{a});
  EXPECT_EQ(*store->ReviewPartners(a), std::vector<std::string>{b});
  // The flags are left for the engine to compute.
  EXPECT_TRUE(store->GetMeta(kMetaReviewObjectionsDirty)->has_value());
  auto p = store->GetPerson(9);
  ASSERT_TRUE(p.ok() && p->has_value()) << p.status();
  EXPECT_TRUE((*p)->objection);
  EXPECT_FALSE((*p)->objection_in_review);
}

// ForEachNeverLink visits every never-link mark once, in (a, b) order with
// a < b, and nothing else of the manual family.
TEST(Store, ForEachNeverLinkVisitsEveryMarkOnce) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  const std::string a("RKB\0K1", 6), b("RLT\0X", 5), c("M84001\0G7", 9);
  ChangeSet changes = store->NewChangeSet();
  changes.PutNeverLink(b, a);
  changes.PutNeverLink(c, a);
  changes.PutNeverLink(a, b);  // the same mark again
  ASSERT_TRUE(store->Commit(&changes, nullptr, /*sync=*/false).ok());

  std::vector<std::pair<std::string, std::string>> seen;
  ASSERT_TRUE(store
                  ->ForEachNeverLink([&](std::string_view x, std::string_view y) {
                    seen.emplace_back(x, y);
                    return true;
                  })
                  .ok());
  std::vector<std::pair<std::string, std::string>> expected = {{c, a}, {a, b}};  // "M84001" < "RKB" < "RLT"
  EXPECT_EQ(seen, expected);
  for (const auto& [x, y] : seen) EXPECT_TRUE(*store->IsNeverLink(y, x));

  // Returning false stops the scan.
  int visited = 0;
  ASSERT_TRUE(store->ForEachNeverLink([&](std::string_view, std::string_view) { return ++visited < 1; }).ok());
  EXPECT_EQ(visited, 1);
}

// The read cache (index/read_cache.h) never answers with a value older than
// the last acknowledged write.
const StoreOptions cached = [] {
  StoreOptions o;
  o.read_cache_persons = 1000;
  return o;
}();

bool Objects(const std::shared_ptr<const PersonView>& v) { return v && v->person && v->person->objection; }

// Each kind of committed change is visible to the next cached read: a new
// objection, a record moving to another person, a deleted person.
TEST(StoreReadCache, LatestReadsSeeEveryAcknowledgedChange) {
  TempDir dir;
  auto store = OpenOrDie(dir.path(), cached);
  ASSERT_NE(store, nullptr);
  StoredRecord a = MakeRecord("RKB", "A", 1), b = MakeRecord("M84001", "B", 1);
  CommitRecords(store.get(), {&a, &b});
  for (int pass = 0; pass < 2; ++pass) {  // the second pass is served from the cache
    auto got = store->LatestRecordPerson(a.record.Key());
    ASSERT_TRUE(got.ok() && got->has_value());
    EXPECT_EQ((*got)->person_id, 1u);
    EXPECT_EQ((*got)->view->members.size(), 2u);
    EXPECT_FALSE(Objects((*got)->view));
  }
  EXPECT_FALSE(store->LatestRecordPerson(std::string("RKB\0Z", 5))->has_value());

  {  // an objection, through an audited commit as the engine makes it
    ChangeSet cs = store->NewChangeSet();
    PersonValue objecting;
    objecting.objection = true;
    cs.PutPerson(1, objecting);
    AuditEvent ev;
    ev.action = "object";
    ASSERT_TRUE(store->Commit(&cs, &ev, false).ok());
  }
  EXPECT_TRUE(Objects((*store->LatestRecordPerson(a.record.Key()))->view));
  EXPECT_TRUE(Objects(*store->LatestPersonView(1)));

  {  // b moves to person 2
    ChangeSet cs = store->NewChangeSet();
    cs.RemoveMembership(1, b.record.Key());
    b.person_id = 2;
    cs.PutRecord(b);
    cs.AddMembership(2, b.record.Key());
    cs.PutPerson(2, PersonValue{});
    ASSERT_TRUE(store->Commit(&cs, nullptr, false).ok());
  }
  auto moved = store->LatestRecordPerson(b.record.Key());
  ASSERT_TRUE(moved.ok() && moved->has_value());
  EXPECT_EQ((*moved)->person_id, 2u);
  EXPECT_FALSE(Objects((*moved)->view));
  EXPECT_EQ((*store->LatestPersonView(1))->members.size(), 1u);

  {  // person 2 and its record deleted
    ChangeSet cs = store->NewChangeSet();
    cs.RemoveMembership(2, b.record.Key());
    cs.DeleteRecord(b.record.Key());
    cs.DeletePerson(2);
    ASSERT_TRUE(store->Commit(&cs, nullptr, false).ok());
  }
  EXPECT_FALSE(store->LatestRecordPerson(b.record.Key())->has_value());
  EXPECT_EQ(*store->LatestPersonView(2), nullptr);
}

// A write to a person someone is looking at reads the person again, so the
// next look is served from memory, with the written state; a person nobody
// looked at is not loaded by writes.
TEST(StoreReadCache, AWriteRefreshesThePersonsItChangedThatWereCached) {
  TempDir dir;
  auto store = OpenOrDie(dir.path(), cached);
  ASSERT_NE(store, nullptr);
  StoredRecord a = MakeRecord("RKB", "A", 1), b = MakeRecord("RKB", "B", 1), c = MakeRecord("RKB", "C", 2);
  const StoredRecord d = MakeRecord("RKB", "D", 2);
  CommitRecords(store.get(), {&a});
  CommitRecords(store.get(), {&c});
  ASSERT_TRUE(store->LatestRecordPerson(a.record.Key()).ok());  // person 1 is looked at
  const ReadCache::Stats before = store->read_cache_stats();

  CommitRecords(store.get(), {&b});  // person 1 changes
  CommitRecords(store.get(), {&d});  // so does person 2, never looked at
  auto got = store->LatestRecordPerson(a.record.Key());
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->view->members.size(), 2u);
  const ReadCache::Stats after = store->read_cache_stats();
  EXPECT_EQ(after.refreshed - before.refreshed, 1u);  // person 1's view
  EXPECT_EQ(after.misses, before.misses);             // served from memory
  EXPECT_EQ(after.hits - before.hits, 2u);            // record a, then person 1

  ASSERT_EQ((*store->LatestPersonView(2))->members.size(), 2u);
  EXPECT_EQ(store->read_cache_stats().misses, after.misses + 1);  // person 2 read now
}

// Readers hammer the cache (filling it from snapshots that the writer keeps
// overtaking) while the writer toggles the objection. Whenever a commit has
// returned, every read that starts afterwards must see it.
TEST(StoreReadCache, RacingReadersNeverSeeAValueOlderThanTheLastAcknowledgedWrite) {
  TempDir dir;
  auto store = OpenOrDie(dir.path(), cached);
  ASSERT_NE(store, nullptr);
  StoredRecord a = MakeRecord("RKB", "A", 1);
  CommitRecords(store.get(), {&a});
  // acknowledged = the objection value of the last returned commit, as
  // 2 * version + value, so readers can tell which commit they must see.
  std::atomic<uint64_t> acknowledged{0};
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> stale{0}, reads{0};
  auto reader = [&](bool by_record) {
    while (!stop.load()) {
      const uint64_t must = acknowledged.load();
      std::shared_ptr<const PersonView> v;
      if (by_record) {
        auto got = store->LatestRecordPerson(a.record.Key());
        if (!got.ok() || !got->has_value()) {
          ++stale;
          continue;
        }
        v = (*got)->view;
      } else {
        v = *store->LatestPersonView(1);
      }
      const uint64_t version = v && v->person ? v->person->objection_time_us : 0;
      if (version < must / 2) ++stale;
      ++reads;
    }
  };
  std::thread r1(reader, true), r2(reader, false);
  for (uint64_t version = 1; version <= 3000; ++version) {
    ChangeSet cs = store->NewChangeSet();
    PersonValue p;
    p.objection = version % 2 == 1;
    p.objection_time_us = static_cast<int64_t>(version);
    cs.PutPerson(1, p);
    ASSERT_TRUE(store->Commit(&cs, nullptr, false).ok());
    acknowledged.store(2 * version + (p.objection ? 1 : 0));
    auto v = *store->LatestPersonView(1);
    ASSERT_EQ(v->person->objection_time_us, static_cast<int64_t>(version));
    ASSERT_EQ(v->person->objection, p.objection);
  }
  stop = true;
  r1.join();
  r2.join();
  EXPECT_EQ(stale.load(), 0u);
  EXPECT_GT(reads.load(), 0u);
}

}  // namespace
}  // namespace empi::index
