// Copyright EMPI developers.
//
// Real-time ingestion (Engine::Ingest, durable: the WAL synced through
// WalSyncer) on a disk that fails part way: ENOSPC or EIO injected
// (tests/index/fault_injection_fs.h) into appends, syncs, file creation or
// renames at the Nth call after the engine is open. Each fault must come
// back as an error (Unavailable: exit 74 from `empi ingest`), never an
// abort, and every later ingest must fail too; the engine must close and
// reopen; every acknowledged record must be stored; and ingesting the
// records again once the fault is gone must give what a clean run gives.
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "empi/engine.h"
#include "engine/realtime/engine_internal.h"
#include "gtest/gtest.h"
#include "tests/engine/realtime/test_population.h"
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

std::vector<Record> Feed() {
  std::vector<Record> out;
  const std::vector<testing::Patient> patients = testing::MakePatients(60, 5);
  for (size_t i = 0; i < patients.size(); ++i) {
    out.push_back(testing::RecordOf(patients[i], "RKB", absl::StrCat("K", i), true));
    if (i % 2 == 0) out.push_back(testing::RecordOf(patients[i], "M84001", absl::StrCat("G", i), i % 4 == 0));
  }
  return out;
}

absl::StatusOr<std::unique_ptr<Engine>> Open(const std::string& path, rocksdb::Env* env) {
  EngineOptions o;
  o.today = "2026-01-01";
  return OpenEngineWithEnv(o, path, env);
}

using Case = FaultCase;
class IngestFaultTest : public ::testing::TestWithParam<Case> {};

TEST_P(IngestFaultTest, FaultIsAnErrorAndTheRerunIsClean) {
  const auto [op, error, nth] = GetParam();
  const std::vector<Record> feed = Feed();
  const Requester who;
  TempDir dir;
  std::set<std::set<std::string>> clean;
  {
    auto engine = Open(dir.path() + "/clean", nullptr);
    ASSERT_TRUE(engine.ok()) << engine.status();
    for (const Record& r : feed) ASSERT_TRUE((*engine)->Ingest(r, who).ok());
    clean = PersonsAsKeySets(*StoreOf(engine->get()));
  }
  FaultInjectionFs fs;
  const std::unique_ptr<rocksdb::Env> env = fs.NewEnv();
  const std::string db = dir.path() + "/db";
  size_t acknowledged = 0;
  {
    auto engine = Open(db, env.get());
    ASSERT_TRUE(engine.ok()) << engine.status();
    fs.Arm(op, error, static_cast<uint64_t>(nth));
    absl::Status failure;
    for (const Record& r : feed) {
      absl::StatusOr<IngestResult> res = (*engine)->Ingest(r, who);
      if (!res.ok()) {
        failure = res.status();
        break;
      }
      ++acknowledged;
    }
    if (!failure.ok()) {
      EXPECT_EQ(failure.code(), absl::StatusCode::kUnavailable) << failure;
      EXPECT_NE(failure.message().find("injected"), std::string_view::npos) << failure;
      EXPECT_FALSE((*engine)->Ingest(feed.back(), who).ok());  // no write after a failure
    }
    if (fs.injected() == 0) {
      EXPECT_EQ(acknowledged, feed.size());
    }
  }  // closing after the fault must not abort
  if (nth == 1 && (op == FaultInjectionFs::Op::kAppend || op == FaultInjectionFs::Op::kSync)) {
    EXPECT_GT(fs.injected(), 0u);
    EXPECT_LT(acknowledged, feed.size());
  }
  fs.Disarm();
  auto engine = Open(db, env.get());
  ASSERT_TRUE(engine.ok()) << engine.status();
  for (size_t i = 0; i < acknowledged; ++i) {
    auto stored = StoreOf(engine->get())->GetRecord(feed[i].Key());
    ASSERT_TRUE(stored.ok() && stored->has_value()) << "acknowledged record " << i << " lost";
  }
  ASSERT_TRUE(StoreOf(engine->get())->VerifyAuditChain(nullptr).ok());
  for (size_t i = acknowledged; i < feed.size(); ++i) ASSERT_TRUE((*engine)->Ingest(feed[i], who).ok());
  EXPECT_EQ(PersonsAsKeySets(*StoreOf(engine->get())), clean);
}

INSTANTIATE_TEST_SUITE_P(EveryOp, IngestFaultTest, EveryFault(1, 5, 25, 60), FaultCaseName);

}  // namespace
}  // namespace empi
