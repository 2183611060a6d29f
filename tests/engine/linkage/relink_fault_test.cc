// Copyright EMPI developers.
//
// `RelinkStore` on a disk that fails part way: ENOSPC or EIO injected
// (tests/index/fault_injection_fs.h) into appends, syncs, file creation or
// renames at the Nth call after the store is open. The relink must return
// an error (Unavailable: exit 74 from `empi relink`), never abort; the store
// must reopen with its audit chain whole and hold either the persons it had
// before the relink or the relinked ones, never a mixture (a relink's moves
// are one synced write); and once the fault is gone, relinking again must
// give what a relink on a healthy disk gives.
#include <set>
#include <string>

#include "engine/linkage/linker.h"
#include "engine/linkage/relink.h"
#include "gtest/gtest.h"
#include "index/store.h"
#include "tests/engine/linkage/linkage_test_util.h"
#include "tests/index/fault_injection_fs.h"
#include "tests/index/store_invariants.h"
#include "tests/temp_dir.h"

namespace empi {
namespace {

using empi::testing::EveryFault;
using empi::testing::FaultCase;
using empi::testing::FaultCaseName;
using empi::testing::FaultInjectionFs;
using empi::testing::PersonsAsKeySets;
using empi::testing::TempDir;

using Persons = std::set<std::set<std::string>>;

std::vector<Record> Feed() { return testing_linkage::TwoContributorFeed(91, 1500, /*drop_nhs_every=*/5); }

// A relink that moves records: the model estimated again, with a link
// threshold so high that the weaker links of the first run come apart.
RelinkOptions Strict() {
  RelinkOptions o;
  o.retrain = true;
  o.link_threshold = 0.999999;
  o.review_threshold = 0.5;
  return o;
}

// Links Feed() into a new store at `path` (no faults).
Persons LinkAt(const std::string& path) {
  auto store = index::Store::Open(path, {});
  EXPECT_TRUE(store.ok()) << store.status();
  EXPECT_TRUE(LinkRecords(store->get(), Feed(), LinkOptions()).ok());
  return PersonsAsKeySets(**store);
}

class RelinkFaultTest : public ::testing::TestWithParam<FaultCase> {};

TEST_P(RelinkFaultTest, FaultLeavesTheStoreBeforeOrAfterAndTheRerunIsClean) {
  const auto [op, error, nth] = GetParam();
  TempDir dir;
  const Persons before = LinkAt(dir.path() + "/clean");
  Persons relinked;
  {
    auto store = index::Store::Open(dir.path() + "/clean", {});
    ASSERT_TRUE(store.ok()) << store.status();
    auto run = RelinkStore(store->get(), Strict(), {});
    ASSERT_TRUE(run.ok()) << run.status();
    ASSERT_FALSE(run->moves.empty()) << "the relink must move records for this test to mean anything";
    relinked = PersonsAsKeySets(**store);
  }
  ASSERT_NE(before, relinked);

  const std::string db = dir.path() + "/db";
  ASSERT_EQ(LinkAt(db), before);
  FaultInjectionFs fs;
  const std::unique_ptr<rocksdb::Env> env = fs.NewEnv();
  index::StoreOptions options;
  options.env = env.get();
  {
    auto store = index::Store::Open(db, options);
    ASSERT_TRUE(store.ok()) << store.status();
    fs.Arm(op, error, static_cast<uint64_t>(nth));
    auto run = RelinkStore(store->get(), Strict(), {});
    ::testing::Test::RecordProperty("relink_failed", run.ok() ? 0 : 1);
    if (!run.ok()) {
      EXPECT_GT(fs.injected(), 0u) << run.status();
      EXPECT_EQ(run.status().code(), absl::StatusCode::kUnavailable) << run.status();
    }
  }  // closing after the fault must not abort
  fs.Disarm();
  {
    auto store = index::Store::Open(db, options);
    ASSERT_TRUE(store.ok()) << store.status();
    ASSERT_TRUE((*store)->VerifyAuditChain(nullptr).ok());
    empi::testing::CheckMembership(store->get());
    const Persons now = PersonsAsKeySets(**store);
    EXPECT_TRUE(now == before || now == relinked) << "the relink left part of its moves";
    ::testing::Test::RecordProperty("left", now == before ? "before" : "relinked");
    auto rerun = RelinkStore(store->get(), Strict(), {});
    ASSERT_TRUE(rerun.ok()) << rerun.status();
    EXPECT_EQ(PersonsAsKeySets(**store), relinked);
  }
}

INSTANTIATE_TEST_SUITE_P(EveryOp, RelinkFaultTest, EveryFault(1, 8), FaultCaseName);

}  // namespace
}  // namespace empi
