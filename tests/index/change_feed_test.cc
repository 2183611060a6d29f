// Copyright EMPI developers.
//
// The change feed (index/store.h, Change): numbered from 1 without gaps in
// the order commits become visible, under concurrent group commits, across
// reopening, through bulk loads, and from a store older than the feed.
#include <atomic>
#include <map>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "index/store.h"
#include "index/store_check.h"
#include "tests/temp_dir.h"

namespace empi::index {
namespace {

using empi::testing::TempDir;

std::unique_ptr<Store> OpenOrDie(const std::string& path, StoreOptions options = {}) {
  auto store = Store::Open(path, options);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? std::move(*store) : nullptr;
}

std::vector<StoredChange> ReadFeed(const Store& store, uint64_t since = 0) {
  std::vector<StoredChange> out;
  absl::Status s = store.ForEachChange(since, [&](const StoredChange& c) {
    out.push_back(c);
    return true;
  });
  EXPECT_TRUE(s.ok()) << s;
  return out;
}

// A change naming writer `w`'s n-th change, so that order can be checked.
Change Numbered(uint64_t w, uint64_t n) {
  return Change{0, "record-linked", {w, n}, {std::string("RKB\0", 4) + std::to_string(n)}};
}

// Checks that the feed is 1..n without gaps and that each writer's changes
// appear in the order it committed them.
void ExpectContiguousAndOrdered(const std::vector<StoredChange>& feed, uint64_t n) {
  ASSERT_EQ(feed.size(), n);
  std::map<uint64_t, uint64_t> last_of_writer;
  for (size_t i = 0; i < feed.size(); ++i) {
    EXPECT_EQ(feed[i].sequence, i + 1);
    ASSERT_EQ(feed[i].change.persons.size(), 2u);
    const uint64_t w = feed[i].change.persons[0], k = feed[i].change.persons[1];
    auto [it, first] = last_of_writer.emplace(w, k);
    if (!first) {
      EXPECT_EQ(k, it->second + 1) << "writer " << w << " out of order at " << feed[i].sequence;
      it->second = k;
    }
  }
}

TEST(ChangeFeed, ConcurrentCommitsAreNumberedInOrderWithoutGapsAndSurviveReopening) {
  TempDir dir;
  constexpr int kWriters = 4, kCommits = 150;
  uint64_t total = 0;
  {
    auto store = OpenOrDie(dir.path());
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->last_change(), 0u);
    std::atomic<uint64_t> written{0};
    std::vector<std::thread> writers;
    for (int w = 0; w < kWriters; ++w) {
      writers.emplace_back([&, w] {
        uint64_t n = 0;
        for (int c = 0; c < kCommits; ++c) {
          ChangeSet cs = store->NewChangeSet();
          cs.PutMeta("writer" + std::to_string(w), std::to_string(c));
          for (int k = 0; k <= (c + w) % 3; ++k) cs.AddChange(Numbered(w, ++n));
          AuditEvent ev;
          ev.action = "test";
          // Mixed: synced and not, with and without an audit event.
          ASSERT_TRUE(store->Commit(&cs, c % 2 ? &ev : nullptr, c % 3 == 0).ok());
        }
        written += n;
      });
    }
    for (auto& t : writers) t.join();
    total = written.load();
    EXPECT_EQ(store->last_change(), total);
    ExpectContiguousAndOrdered(ReadFeed(*store), total);
    // since: strictly after.
    auto tail = ReadFeed(*store, total - 3);
    ASSERT_EQ(tail.size(), 3u);
    EXPECT_EQ(tail[0].sequence, total - 2);
    EXPECT_TRUE(ReadFeed(*store, total).empty());
  }
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->last_change(), total);
  ChangeSet cs = store->NewChangeSet();
  cs.AddChange(Numbered(9, 1));
  ASSERT_TRUE(store->Commit(&cs, nullptr, false).ok());
  auto feed = ReadFeed(*store, total);
  ASSERT_EQ(feed.size(), 1u);
  EXPECT_EQ(feed[0].sequence, total + 1);
  EXPECT_EQ(feed[0].change.kind, "record-linked");
  EXPECT_EQ(feed[0].change.records[0], std::string("RKB\0"
                                                   "1",
                                                   5));
  EXPECT_GT(feed[0].change.time_us, 0);
}

TEST(ChangeFeed, WaitForChangeWakesOnACommitAndTimesOut) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->WaitForChange(0, absl::Milliseconds(20)), 0u);
  std::thread committer([&] {
    absl::SleepFor(absl::Milliseconds(50));
    ChangeSet cs = store->NewChangeSet();
    cs.AddChange(Numbered(1, 1));
    ASSERT_TRUE(store->Commit(&cs, nullptr, false).ok());
  });
  EXPECT_EQ(store->WaitForChange(0, absl::Seconds(30)), 1u);
  committer.join();
}

TEST(ChangeFeed, BulkLoadNumbersItsRoundsAndHoldsTheFeedUntilItEnds) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  {
    ChangeSet cs = store->NewChangeSet();
    cs.AddChange(Numbered(0, 1));
    ASSERT_TRUE(store->Commit(&cs, nullptr, true).ok());
  }
  {
    // Abandoned: its numbers are given back.
    auto load = store->StartBulkLoad();
    ASSERT_TRUE(load.ok());
    std::vector<ChangeSet> round(1);
    round[0] = store->NewChangeSet();
    round[0].AddChange(Numbered(5, 1));
    ASSERT_TRUE((*load)->AddRound(round).ok());
  }
  EXPECT_EQ(store->last_change(), 1u);
  auto load = store->StartBulkLoad();
  ASSERT_TRUE(load.ok());
  uint64_t n = 0;
  for (int r = 0; r < 3; ++r) {
    std::vector<ChangeSet> sets(2);
    for (ChangeSet& cs : sets) {
      cs = store->NewChangeSet();
      cs.PutMeta("round", std::to_string(r));
      cs.AddChange(Numbered(1, ++n));
      cs.AddChange(Numbered(1, ++n));
    }
    ASSERT_TRUE((*load)->AddRound(sets).ok());
  }
  // While the load holds the feed: a commit with changes is refused, one
  // without goes through, and nothing of the load is visible.
  ChangeSet blocked = store->NewChangeSet();
  blocked.AddChange(Numbered(2, 1));
  EXPECT_EQ(store->Commit(&blocked, nullptr, false).code(), absl::StatusCode::kFailedPrecondition);
  ChangeSet plain = store->NewChangeSet();
  plain.PutMeta("plain", "1");
  EXPECT_TRUE(store->Commit(&plain, nullptr, false).ok());
  EXPECT_EQ(ReadFeed(*store).size(), 1u);
  EXPECT_EQ(store->last_change(), 1u);
  ASSERT_TRUE((*load)->Finish().ok());
  load->reset();
  EXPECT_EQ(store->last_change(), 1 + n);
  ASSERT_TRUE(store->Commit(&blocked, nullptr, false).ok());
  auto feed = ReadFeed(*store);
  ASSERT_EQ(feed.size(), n + 2);
  for (size_t i = 0; i < feed.size(); ++i) EXPECT_EQ(feed[i].sequence, i + 1);
  for (uint64_t k = 1; k <= n; ++k) EXPECT_EQ(feed[k].change.persons, (std::vector<uint64_t>{1, k}));
  // Bulk ingest (no numbering of its own) refuses changes.
  std::vector<ChangeSet> sets(1);
  sets[0] = store->NewChangeSet();
  sets[0].AddChange(Numbered(3, 1));
  EXPECT_EQ(store->BulkIngest(sets).code(), absl::StatusCode::kInvalidArgument);
}

// A store written before the feed (format version 5, no changes family):
// refused read-only with a clear message, upgraded by a read-write open,
// and its feed starts at 1.
TEST(ChangeFeed, UpgradesAStoreWithoutTheFeed) {
  TempDir dir;
  {
    auto store = OpenOrDie(dir.path());
    ASSERT_NE(store, nullptr);
    ChangeSet cs = store->NewChangeSet();
    cs.PutMeta("record_count", "0");
    ASSERT_TRUE(store->Commit(&cs, nullptr, true).ok());
    ASSERT_TRUE(store->db()->DropColumnFamily(store->cf(Cf::kChanges)).ok());
    ASSERT_TRUE(store->db()->Put(rocksdb::WriteOptions(), store->cf(Cf::kMeta), "format_version", "5").ok());
  }
  StoreOptions read_only;
  read_only.read_only = true;
  auto refused = Store::Open(dir.path(), read_only);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("open it once for writing"), std::string::npos) << refused.status();
  {
    auto store = OpenOrDie(dir.path());
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(**store->GetMeta(kMetaFormatVersion), std::to_string(kFormatVersion));
    ChangeSet cs = store->NewChangeSet();
    cs.AddChange(Numbered(1, 1));
    ASSERT_TRUE(store->Commit(&cs, nullptr, true).ok());
    EXPECT_EQ(ReadFeed(*store).size(), 1u);
  }
  auto store = OpenOrDie(dir.path(), read_only);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->last_change(), 1u);
}

// `empi check` (CheckStore) counts the feed and names a gap or a counter
// that disagrees with it.
TEST(ChangeFeed, StoreCheckNamesAGapInTheFeed) {
  TempDir dir;
  auto store = OpenOrDie(dir.path());
  ASSERT_NE(store, nullptr);
  for (uint64_t k = 1; k <= 3; ++k) {
    ChangeSet cs = store->NewChangeSet();
    cs.AddChange(Numbered(1, k));
    ASSERT_TRUE(store->Commit(&cs, nullptr, false).ok());
  }
  StoreCheckOptions options;
  auto clean = CheckStore(*store, options);
  ASSERT_TRUE(clean.ok()) << clean.status();
  EXPECT_TRUE(clean->ok()) << clean->violations[0];
  EXPECT_EQ(clean->changes, 3u);
  ASSERT_TRUE(store->db()->Delete(rocksdb::WriteOptions(), store->cf(Cf::kChanges), EncodeU64(2)).ok());
  auto gap = CheckStore(*store, options);
  ASSERT_TRUE(gap.ok()) << gap.status();
  ASSERT_FALSE(gap->ok());
  EXPECT_EQ(gap->violations[0], "changes: sequence 2 is missing (next entry: 3)");
  ASSERT_TRUE(store->db()
                  ->Put(rocksdb::WriteOptions(), store->cf(Cf::kChanges), EncodeU64(2), EncodeChange(Numbered(1, 2)))
                  .ok());
  ASSERT_TRUE(store->db()->Put(rocksdb::WriteOptions(), store->cf(Cf::kMeta), kMetaNextChange, EncodeU64(9)).ok());
  auto counter = CheckStore(*store, options);
  ASSERT_TRUE(counter.ok()) << counter.status();
  ASSERT_EQ(counter->violations_total, 1u);
  EXPECT_EQ(counter->violations[0], "meta next_change is 9, the feed ends at 3");
}

}  // namespace
}  // namespace empi::index
