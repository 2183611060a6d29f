// Copyright EMPI developers.
//
// WalSyncer on a real RocksDB: every caller's write is durable when Sync
// returns (read back after a reopen),
// and concurrent callers share syncs. (That an acknowledged write survives
// kill -9 is the real-time crash test's to show.)
#include "index/wal_syncer.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "tests/temp_dir.h"

namespace empi::index {
namespace {

using empi::testing::TempDir;

std::unique_ptr<rocksdb::DB> OpenDb(const std::string& path) {
  rocksdb::Options options;
  options.create_if_missing = true;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, path, &db);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return std::unique_ptr<rocksdb::DB>(db);
}

TEST(WalSyncer, ConcurrentCallersAreAllSyncedAndShareSyncs) {
  TempDir dir;
  constexpr int kThreads = 8, kWrites = 50;
  {
    auto db = OpenDb(dir.path());
    ASSERT_NE(db, nullptr);
    WalSyncer syncer(db.get());
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kWrites; ++i) {
          const std::string key = "k" + std::to_string(t) + "-" + std::to_string(i);
          if (!db->Put(rocksdb::WriteOptions(), key, "v").ok() || !syncer.Sync().ok()) ++failures;
        }
      });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_GE(syncer.syncs(), 1u);
    EXPECT_LE(syncer.syncs(), uint64_t{kThreads * kWrites});
    std::printf("%llu syncs for %d calls\n", static_cast<unsigned long long>(syncer.syncs()), kThreads * kWrites);
    // Reopened, the store replays them from the WAL.
    ASSERT_TRUE(db->Close().ok());
  }
  auto db = OpenDb(dir.path());
  ASSERT_NE(db, nullptr);
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kWrites; ++i) {
      std::string v;
      EXPECT_TRUE(db->Get(rocksdb::ReadOptions(), "k" + std::to_string(t) + "-" + std::to_string(i), &v).ok());
    }
  }
}

TEST(WalSyncer, StopsCleanlyWithNothingToDo) {
  TempDir dir;
  auto db = OpenDb(dir.path());
  ASSERT_NE(db, nullptr);
  { WalSyncer idle(db.get()); }
  WalSyncer syncer(db.get());
  EXPECT_TRUE(syncer.Sync().ok());  // nothing written: still answers
  EXPECT_EQ(syncer.syncs(), 1u);
}

}  // namespace
}  // namespace empi::index
