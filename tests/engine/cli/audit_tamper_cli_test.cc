// Copyright EMPI developers.
//
// The audit log after a killed `empi ingest`, through the real binary: the
// unsynced tail the kill leaves is anchored by the store, so an event
// altered, deleted or swapped in it fails `empi audit verify` (exit 65,
// read-only) and every read-write command, instead of passing as a crash's
// torn tail; `empi audit quarantine-tail` moves the damaged part aside, and
// the store is usable again.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "index/store.h"
#include "tests/engine/cli/cli_test_util.h"

namespace empi {
namespace {

using empi::testing::CliTest;
using empi::testing::Lines;
using empi::testing::ReadText;
using empi::testing::RunResult;
using ::testing::HasSubstr;

class AuditTamperCliTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    feeds_ = dir_.path() + "/feeds";
    ASSERT_EQ(Run("generate --persons 6000 --seed 3 --out '" + feeds_ + "' --quiet --threads 1").code, 0);
    // A store to ingest into, then an ingest killed part way.
    ASSERT_EQ(Run("ingest --db '" + db_ + "' '" + feeds_ + "/RJC.csv'").code, 0);
    ASSERT_NO_FATAL_FAILURE(KillIngestPartWay("RKB.csv"));
    ASSERT_NO_FATAL_FAILURE(ReadTail());
  }

  // Ingests `feed` and kills the ingest (SIGKILL) a few hundred records in.
  void KillIngestPartWay(const std::string& feed) {
    const std::string out = dir_.path() + "/ingest.out";
    std::filesystem::remove(out);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      const std::string cmd =
          "exec '" + empi_ + "' ingest --db '" + db_ + "' '" + feeds_ + "/" + feed + "' >'" + out + "' 2>/dev/null";
      execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    // Results reach the file in 4 KiB blocks: wait for a few hundred.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (Lines(ReadText(out)).size() < 200 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the ingest finished before it was killed";
  }

  // The log's entries after the point last synced (meta audit_synced), into
  // tail_; *anchored (if given) is the last sequence the store anchored.
  void ReadTail(uint64_t* anchored = nullptr) {
    uint64_t synced = 0;
    {
      index::StoreOptions ro;
      ro.read_only = true;
      ro.create_if_missing = false;
      auto store = index::Store::Open(db_, ro);
      ASSERT_TRUE(store.ok()) << store.status();
      auto point = (*store)->GetMeta("audit_synced");
      ASSERT_TRUE(point.ok() && point->has_value());
      synced = index::DecodeU64(std::string_view(**point).substr(40, 8));
      auto anchor = (*store)->GetMeta("audit_anchor");
      ASSERT_TRUE(anchor.ok());
      if (anchored != nullptr) {
        *anchored = anchor->has_value() ? index::DecodeU64(std::string_view(**anchor).substr(0, 8)) : 0;
      }
    }
    std::ifstream in(db_ + "/audit.log", std::ios::binary);
    bytes_.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    tail_.clear();
    for (size_t at = 0; at + 4 <= bytes_.size();) {
      const size_t n = (size_t{static_cast<unsigned char>(bytes_[at])} << 24) |
                       (size_t{static_cast<unsigned char>(bytes_[at + 1])} << 16) |
                       (size_t{static_cast<unsigned char>(bytes_[at + 2])} << 8) |
                       size_t{static_cast<unsigned char>(bytes_[at + 3])};
      if (n == 0) break;
      if (at >= synced) tail_.emplace_back(at, 4 + n);
      at += 4 + n;
    }
    ASSERT_GE(tail_.size(), 100u) << "the killed ingest left too short an unsynced tail";
  }

  uint64_t Sequence(size_t i) const {
    return index::DecodeU64(std::string_view(bytes_).substr(tail_[i].first + 12, 8));
  }

  std::string Entry(size_t i) const { return bytes_.substr(tail_[i].first, tail_[i].second); }
  void RewriteTail(size_t from, const std::vector<std::string>& entries) {
    std::string out = bytes_.substr(0, tail_[from].first);
    for (const std::string& e : entries) out += e;
    out.resize(bytes_.size(), '\0');
    std::ofstream(db_ + "/audit.log", std::ios::binary | std::ios::trunc) << out;
  }
  std::vector<std::string> From(size_t i) const {
    std::vector<std::string> out;
    for (; i < tail_.size(); ++i) out.push_back(Entry(i));
    return out;
  }
  void ExpectDetected() {
    RunResult r = Run("audit verify --db '" + db_ + "'");
    EXPECT_EQ(r.code, 65) << r.out << r.err;
    EXPECT_THAT(r.err, HasSubstr("audit chain broken at sequence"));
    // Read-write commands refuse the store, naming the way out.
    r = Run("ingest --db '" + db_ + "' '" + feeds_ + "/RLT.csv'");
    EXPECT_EQ(r.code, 65) << r.err;
    EXPECT_THAT(r.err, HasSubstr("quarantine-tail"));
  }

  std::string feeds_, bytes_;
  std::vector<std::pair<size_t, size_t>> tail_;
};

TEST_F(AuditTamperCliTest, UntouchedTailVerifies) {
  RunResult r = Run("audit verify --db '" + db_ + "'");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("audit chain verified"));
}

TEST_F(AuditTamperCliTest, AlteredEventIsDetected) {
  std::vector<std::string> rest = From(50);
  rest[0][rest[0].size() - 3] ^= 1;
  RewriteTail(50, rest);
  ExpectDetected();
}

TEST_F(AuditTamperCliTest, DeletedEventIsDetected) {
  RewriteTail(50, From(51));
  ExpectDetected();
}

TEST_F(AuditTamperCliTest, SwappedEventsAreDetected) {
  std::vector<std::string> rest = From(50);
  std::swap(rest[0], rest[1]);
  RewriteTail(50, rest);
  ExpectDetected();
}

TEST_F(AuditTamperCliTest, DeletedLastAnchoredEventsAreDetected) {
  RewriteTail(tail_.size() - 10, {});  // the last ten, at an entry boundary
  ExpectDetected();
}

// A genuine torn tail: the last entry half written. Verified (exit 0) with
// the incomplete event reported; the next read-write command cuts it.
TEST_F(AuditTamperCliTest, TornLastEntryIsReportedAndCut) {
  // A crash tears only an entry the store has not anchored. A kill that
  // lands between a commit (whose anchor covers the log's last entry) and
  // the append of that commit's own event leaves the last entry anchored,
  // and cutting it would be tampering (the tests above): kill another
  // ingest until the last entry is not.
  uint64_t anchored = 0;
  ASSERT_NO_FATAL_FAILURE(ReadTail(&anchored));
  for (const char* feed : {"RLT.csv", "RYA.csv", "RWP.csv", "RRK.csv", "RYG.csv"}) {
    if (anchored < Sequence(tail_.size() - 1)) break;
    ASSERT_NO_FATAL_FAILURE(KillIngestPartWay(feed));
    ASSERT_NO_FATAL_FAILURE(ReadTail(&anchored));
  }
  ASSERT_LT(anchored, Sequence(tail_.size() - 1)) << "five killed ingests all left the last entry anchored";
  const std::string last = Entry(tail_.size() - 1);
  RewriteTail(tail_.size() - 1, {last.substr(0, last.size() / 2)});
  RunResult r = Run("audit verify --db '" + db_ + "'");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("incomplete last event"));
  r = Run("ingest --db '" + db_ + "' '" + feeds_ + "/RLT.csv'");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.err, HasSubstr("cut 1 incomplete event"));
  EXPECT_EQ(Run("audit verify --db '" + db_ + "'").code, 0);
}

TEST_F(AuditTamperCliTest, QuarantineTailLetsTheStoreGoOn) {
  std::vector<std::string> rest = From(50);
  std::swap(rest[0], rest[1]);
  RewriteTail(50, rest);
  RunResult r = Run("audit quarantine-tail --db '" + db_ + "' --requester auditor --purpose investigation");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("audit.log.damaged-"));
  bool found = false;
  for (const auto& f : std::filesystem::directory_iterator(db_)) {
    found |= f.path().filename().string().starts_with("audit.log.damaged-");
  }
  EXPECT_TRUE(found);
  r = Run("audit verify --db '" + db_ + "'");
  EXPECT_EQ(r.code, 0) << r.err;
  r = Run("ingest --db '" + db_ + "' '" + feeds_ + "/RLT.csv'");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Run("audit verify --db '" + db_ + "'").code, 0);
  // Nothing left to quarantine.
  r = Run("audit quarantine-tail --db '" + db_ + "'");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("nothing quarantined"));
}

}  // namespace
}  // namespace empi
