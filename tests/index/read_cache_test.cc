// Copyright EMPI developers.
//
// The read cache never answers with a value older than the last acknowledged
// write: tests of ReadCache's fill/invalidate rule, and of Store's Latest*
// reads through every kind of change, also while readers race the writer.
#include "index/read_cache.h"

#include <atomic>
#include <thread>

#include "gtest/gtest.h"
#include "index/store.h"
#include "tests/index/temp_store.h"

namespace empi::index {
namespace {

using testing::TempDir;

TEST(ReadCache, FillAfterAnInvalidationIsDropped) {
  ReadCache cache(1000);
  auto view = std::make_shared<const PersonView>();
  const uint64_t before = cache.epoch();
  cache.Invalidate({"RKB\0A"}, {});
  cache.FillView(before, 7, view);
  cache.FillPersonOf(before, "RKB\0A", 7);
  EXPECT_EQ(cache.View(7), nullptr);
  EXPECT_FALSE(cache.PersonOf("RKB\0A").has_value());

  cache.FillView(cache.epoch(), 7, view);
  cache.FillPersonOf(cache.epoch(), "RKB\0A", 7);
  EXPECT_EQ(cache.View(7), view);
  EXPECT_EQ(cache.PersonOf("RKB\0A"), 7u);
  cache.Invalidate({}, {7});
  EXPECT_EQ(cache.View(7), nullptr);
  EXPECT_EQ(cache.PersonOf("RKB\0A"), 7u);  // only the named keys go
}

TEST(ReadCache, DisabledCacheHoldsNothing) {
  ReadCache cache(0);
  cache.FillView(cache.epoch(), 7, std::make_shared<const PersonView>());
  EXPECT_EQ(cache.View(7), nullptr);
}

TEST(ReadCache, AFullShardIsEmptiedNotOverfilled) {
  ReadCache cache(64);  // one view per shard
  for (uint64_t p = 1; p <= 10000; ++p) cache.FillView(cache.epoch(), p, std::make_shared<const PersonView>());
  size_t held = 0;
  for (uint64_t p = 1; p <= 10000; ++p) held += cache.View(p) != nullptr;
  EXPECT_LE(held, 64u);
  EXPECT_GT(held, 0u);
}

StoredRecord MakeRecord(std::string source, std::string id, uint64_t person) {
  StoredRecord r;
  r.record.source = std::move(source);
  r.record.record_id = std::move(id);
  r.person_id = person;
  return r;
}

std::unique_ptr<Store> OpenCached(const std::string& path) {
  StoreOptions options;
  options.read_cache_persons = 1000;
  auto store = Store::Open(path, options);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? std::move(*store) : nullptr;
}

bool Objects(const std::shared_ptr<const PersonView>& v) { return v && v->person && v->person->objection; }

// Each kind of committed change is visible to the next cached read: a new
// objection, a record moving to another person, a deleted person.
TEST(StoreReadCache, LatestReadsSeeEveryAcknowledgedChange) {
  TempDir dir;
  auto store = OpenCached(dir.path());
  ASSERT_NE(store, nullptr);
  StoredRecord a = MakeRecord("RKB", "A", 1), b = MakeRecord("M84001", "B", 1);
  {
    ChangeSet cs = store->NewChangeSet();
    for (const StoredRecord* r : {&a, &b}) {
      cs.PutRecord(*r);
      cs.AddMembership(1, r->record.Key());
    }
    cs.PutPerson(1, PersonValue{});
    ASSERT_TRUE(store->Commit(&cs, nullptr, false).ok());
  }
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

// Readers hammer the cache (filling it from snapshots that the writer keeps
// overtaking) while the writer toggles the objection. Whenever a commit has
// returned, every read that starts afterwards must see it.
TEST(StoreReadCache, RacingReadersNeverSeeAValueOlderThanTheLastAcknowledgedWrite) {
  TempDir dir;
  auto store = OpenCached(dir.path());
  ASSERT_NE(store, nullptr);
  StoredRecord a = MakeRecord("RKB", "A", 1);
  {
    ChangeSet cs = store->NewChangeSet();
    cs.PutRecord(a);
    cs.AddMembership(1, a.record.Key());
    cs.PutPerson(1, PersonValue{});
    ASSERT_TRUE(store->Commit(&cs, nullptr, false).ok());
  }
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
