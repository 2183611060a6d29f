// Copyright EMPI developers.
//
// Store under a failing disk: ENOSPC and EIO injected (FaultInjectionFs)
// into appends, syncs, file creation and renames at the Nth call, from the
// open on, while change sets are committed (synced, with audit events),
// flushed and the store closed. Each fault must come back as an error
// (Unavailable: exit 74 from the CLI), never an abort; the store must take
// no further writes; nothing of a commit may be half visible after a
// reopen; every acknowledged commit must be there; and once the fault is
// gone, committing what is missing gives the clean result.
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "index/store.h"
#include "tests/index/fault_injection_fs.h"
#include "tests/temp_dir.h"

namespace empi::index {
namespace {

using empi::testing::EveryFault;
using empi::testing::FaultCase;
using empi::testing::FaultCaseName;
using empi::testing::FaultInjectionFs;
using empi::testing::TempDir;

constexpr int kCommits = 30;

// Commit i: two meta keys and a history entry (three families) and an
// audit event, synced.
absl::Status CommitOne(Store* store, int i) {
  ChangeSet c = store->NewChangeSet();
  c.PutMeta(absl::StrCat("a", i), "v");
  c.PutMeta(absl::StrCat("b", i), std::string(2000, 'x'));  // some bulk
  c.AppendHistory(static_cast<uint64_t>(i) + 1, 1, "{}");
  AuditEvent e;
  e.requester = "test";
  e.action = "merge";
  e.outcome = "ok";
  return store->Commit(&c, &e, /*sync=*/true);
}

// Whether commit i is visible: all of it, none of it, or (a failure) part.
enum class Visible { kAll, kNone, kPart };
Visible Check(const Store& store, int i) {
  const bool a = store.GetMeta(absl::StrCat("a", i))->has_value();
  const bool b = store.GetMeta(absl::StrCat("b", i))->has_value();
  bool h = false;
  EXPECT_TRUE(store
                  .ForEachHistory(static_cast<uint64_t>(i) + 1,
                                  [&](uint64_t, std::string_view) {
                                    h = true;
                                    return false;
                                  })
                  .ok());
  if (a && b && h) return Visible::kAll;
  if (!a && !b && !h) return Visible::kNone;
  return Visible::kPart;
}

using Case = FaultCase;

class FaultInjectionTest : public ::testing::TestWithParam<Case> {};

TEST_P(FaultInjectionTest, FaultIsAnErrorAndTheRerunIsClean) {
  const auto [op, error, nth] = GetParam();
  TempDir dir;
  FaultInjectionFs fs;
  const std::unique_ptr<rocksdb::Env> env = fs.NewEnv();
  StoreOptions options;
  options.env = env.get();

  fs.Arm(op, error, static_cast<uint64_t>(nth));
  absl::Status failure;
  int acknowledged = 0;
  {
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(dir.path(), options);
    if (!store.ok()) {
      failure = store.status();
    } else {
      for (int i = 0; i < kCommits; ++i) {
        absl::Status s = CommitOne(store->get(), i);
        if (s.ok() && i == kCommits / 2) s = (*store)->Flush();  // SST files, MANIFEST
        if (!s.ok()) {
          failure = s;
          break;
        }
        ++acknowledged;
      }
      if (!failure.ok()) {
        // No write after a failure, and no abort trying.
        EXPECT_FALSE(CommitOne(store->get(), kCommits).ok());
        EXPECT_FALSE((*store)->SyncWal().ok());
      }
    }
  }  // the close flushes and checkpoints: it must not abort either
  if (fs.injected() == 0) {
    EXPECT_TRUE(failure.ok()) << failure;
    EXPECT_EQ(acknowledged, kCommits);
  } else if (!failure.ok()) {
    // What the CLI turns into exit 74, with the file system's words.
    EXPECT_EQ(failure.code(), absl::StatusCode::kUnavailable) << failure;
    EXPECT_NE(failure.message().find("injected"), std::string_view::npos) << failure;
  }

  fs.Disarm();
  auto store = Store::Open(dir.path(), options);
  ASSERT_TRUE(store.ok()) << store.status();
  for (int i = 0; i < kCommits; ++i) {
    const Visible v = Check(**store, i);
    ASSERT_NE(v, Visible::kPart) << "commit " << i << " is half visible";
    if (i < acknowledged) {
      ASSERT_EQ(v, Visible::kAll) << "acknowledged commit " << i << " lost";
    }
  }
  EXPECT_FALSE((*store)->GetMeta(absl::StrCat("a", kCommits))->has_value());
  ASSERT_TRUE((*store)->VerifyAuditChain(nullptr).ok());
  // The re-run: what is missing is committed again.
  for (int i = 0; i < kCommits; ++i) {
    if (Check(**store, i) == Visible::kNone) {
      ASSERT_TRUE(CommitOne(store->get(), i).ok());
    }
  }
  for (int i = 0; i < kCommits; ++i) EXPECT_EQ(Check(**store, i), Visible::kAll);
  uint64_t events = 0;
  ASSERT_TRUE((*store)->VerifyAuditChain(&events).ok());
  EXPECT_GE(events, static_cast<uint64_t>(kCommits));
}

// The bulk-load path (`empi link` above 100,000 records): SST files written
// and ingested in one call. A fault fails the call whole: after a reopen
// either every put is there or none, and the same call then succeeds.
class BulkIngestFaultTest : public ::testing::TestWithParam<Case> {};

TEST_P(BulkIngestFaultTest, FaultIsAnErrorAndTheRerunIsClean) {
  const auto [op, error, nth] = GetParam();
  TempDir dir;
  FaultInjectionFs fs;
  const std::unique_ptr<rocksdb::Env> env = fs.NewEnv();
  StoreOptions options;
  options.env = env.get();
  std::vector<ChangeSet> sets(4);
  for (int s = 0; s < 4; ++s) {
    for (int i = 0; i < 500; ++i) {
      sets[s].PutMeta(absl::StrCat("bulk", s, "-", i), std::string(100, 'x'));
      sets[s].AppendHistory(static_cast<uint64_t>(s * 1000 + i) + 1, 1, "{}");
    }
  }
  auto count = [](const Store& store) {
    int n = 0;
    for (int s = 0; s < 4; ++s) {
      for (int i = 0; i < 500; ++i) n += store.GetMeta(absl::StrCat("bulk", s, "-", i))->has_value();
    }
    return n;
  };
  {
    auto store = Store::Open(dir.path(), options);
    ASSERT_TRUE(store.ok()) << store.status();
    fs.Arm(op, error, static_cast<uint64_t>(nth));
    const absl::Status s = (*store)->BulkIngest(sets);
    if (!s.ok()) {
      EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
      EXPECT_GT(fs.injected(), 0u);
    }
    // SST files are written and synced, then hard-linked in (no rename).
    if (nth == 1 && op != FaultInjectionFs::Op::kRename) {
      EXPECT_FALSE(s.ok());
    }
  }
  fs.Disarm();
  auto store = Store::Open(dir.path(), options);
  ASSERT_TRUE(store.ok()) << store.status();
  const int before = count(**store);
  EXPECT_TRUE(before == 0 || before == 2000) << before << " of 2000 puts visible";
  ASSERT_TRUE((*store)->BulkIngest(sets).ok());
  EXPECT_EQ(count(**store), 2000);
}

INSTANTIATE_TEST_SUITE_P(EveryOp, FaultInjectionTest, EveryFault(1, 2, 3, 5, 8, 13, 21, 34, 55, 89), FaultCaseName);

INSTANTIATE_TEST_SUITE_P(EveryOp, BulkIngestFaultTest, EveryFault(1, 2, 4), FaultCaseName);

}  // namespace
}  // namespace empi::index
