// Copyright EMPI developers.
//
// WalSyncer on a real RocksDB: every caller's write is durable when Sync
// returns (read back after a reopen), concurrent callers share syncs, and a
// failed sync (injected in the WAL file's Sync through a wrapping
// FileSystem) fails the caller and every caller after it. (That an
// acknowledged write survives kill -9 is the real-time crash test's to show.)
#include "index/wal_syncer.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "rocksdb/env.h"
#include "rocksdb/file_system.h"
#include "tests/temp_dir.h"

namespace empi::index {
namespace {

using empi::testing::TempDir;

std::unique_ptr<rocksdb::DB> OpenDb(const std::string& path, rocksdb::Env* env = nullptr) {
  rocksdb::Options options;
  options.create_if_missing = true;
  if (env != nullptr) options.env = env;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, path, &db);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return std::unique_ptr<rocksdb::DB>(db);
}

std::string Key(int thread, int write) { return absl::StrCat("k", thread, "-", write); }

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
          const std::string key = Key(t, i);
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
      EXPECT_TRUE(db->Get(rocksdb::ReadOptions(), Key(t, i), &v).ok());
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

// A file system whose write-ahead log files fail Sync and Fsync while
// `fail` is set, as a disk that has gone bad does.
class FailingWalSync : public rocksdb::FileSystemWrapper {
 public:
  explicit FailingWalSync(std::atomic<bool>* fail) : FileSystemWrapper(rocksdb::FileSystem::Default()), fail_(fail) {}
  const char* Name() const override { return "FailingWalSync"; }

  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override {
    rocksdb::IOStatus s = target()->NewWritableFile(name, options, result, dbg);
    if (s.ok() && name.ends_with(".log")) *result = std::make_unique<File>(std::move(*result), fail_);
    return s;
  }

 private:
  class File : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    File(std::unique_ptr<rocksdb::FSWritableFile> target, std::atomic<bool>* fail)
        : FSWritableFileOwnerWrapper(std::move(target)), fail_(fail) {}
    rocksdb::IOStatus Sync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* d) override {
      return fail_->load() ? Failure() : target()->Sync(o, d);
    }
    rocksdb::IOStatus Fsync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* d) override {
      return fail_->load() ? Failure() : target()->Fsync(o, d);
    }

    // Retryable, so that RocksDB can be told to resume writing afterwards.
    static rocksdb::IOStatus Failure() {
      rocksdb::IOStatus s = rocksdb::IOStatus::IOError("injected sync failure");
      s.SetRetryable(true);
      return s;
    }
    std::atomic<bool>* fail_;
  };
  std::atomic<bool>* fail_;
};

TEST(WalSyncer, AFailedSyncFailsItsCallerAndEveryLaterOne) {
  TempDir dir;
  std::atomic<bool> fail{false};
  const std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(std::make_shared<FailingWalSync>(&fail));
  auto db = OpenDb(dir.path(), env.get());
  ASSERT_NE(db, nullptr);
  {
    WalSyncer syncer(db.get());
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "before", "v").ok());
    ASSERT_TRUE(syncer.Sync().ok());

    fail = true;
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "lost", "v").ok());
    const absl::Status failed = syncer.Sync();
    EXPECT_EQ(failed.code(), absl::StatusCode::kUnavailable) << failed;
    EXPECT_NE(failed.message().find("injected sync failure"), std::string_view::npos) << failed;

    // The disk recovers and RocksDB resumes writing by itself (the error
    // was retryable), but what was written before the failure may not be on
    // the disk: no later caller is told its write is durable.
    fail = false;
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!db->Put(rocksdb::WriteOptions(), "after", "v").ok() && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_TRUE(db->SyncWAL().ok());  // RocksDB itself syncs again
    EXPECT_FALSE(syncer.Sync().ok());
    std::vector<std::thread> callers;
    std::atomic<int> acknowledged{0};
    for (int t = 0; t < 4; ++t) {
      callers.emplace_back([&] {
        if (syncer.Sync().ok()) ++acknowledged;
      });
    }
    for (auto& t : callers) t.join();
    EXPECT_EQ(acknowledged.load(), 0);
  }
  (void)db->Close();
}

}  // namespace
}  // namespace empi::index
