// Copyright EMPI developers.
//
// kill -9 of `empi link` at random moments, through the real binary: after
// each kill the store passes `empi check`, and running the same command
// again gives exactly what a clean run gives (`empi export clusters` and
// `empi export review` byte for byte, so the same persons with the same ids,
// membership, objection flags and review queue). First and updating links,
// on the ordinary path and on the bulk path (its threshold lowered).
// EMPI_KILL_CYCLES sets the kills per case (default 8). With the linker of
// b3a1c8d (before this test), kills in the last 40% of a first link left
// stores that re-ran into other clusterings (docs/benchmarks.md).
#include <fcntl.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <thread>

#include "index/store.h"
#include "tests/engine/cli/cli_test_util.h"

namespace empi::testing {
namespace {

namespace fs = std::filesystem;

class LinkKillTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    if (HasFatalFailure()) return;
    gen_ = dir_.path() + "/gen";
    ASSERT_EQ(Run("generate --persons 2000 --seed 17 --quiet --out '" + gen_ + "'").code, 0);
    for (const auto& e : fs::directory_iterator(gen_)) {
      const std::string name = e.path().filename().string();
      if (name[0] >= 'A' && name[0] <= 'Z' && e.path().extension() == ".csv") feeds_.push_back(e.path().string());
    }
    std::sort(feeds_.begin(), feeds_.end());
    ASSERT_GT(feeds_.size(), 5u);
    // Changed feeds: every third row of each feed gets another family name
    // (so records move between persons and some persons are emptied).
    fs::create_directories(dir_.path() + "/gen2");
    for (const std::string& f : feeds_) {
      std::vector<std::string> lines = Lines(ReadText(f));
      std::string out = lines[0] + "\n";
      for (size_t i = 1; i < lines.size(); ++i) {
        std::string line = lines[i];
        size_t c = 0;
        for (int k = 0; k < 3 && c != std::string::npos; ++k) c = line.find(',', c == 0 ? 0 : c + 1);
        if (i % 3 == 0 && c != std::string::npos && line.substr(0, c).find('"') == std::string::npos) {
          line.insert(c + 1, "Zed");
        }
        out += line + "\n";
      }
      changed_.push_back(Write("gen2/" + fs::path(f).filename().string(), out));
    }
  }

  static std::string Quoted(const std::vector<std::string>& files) {
    std::string s;
    for (const auto& f : files) s += " '" + f + "'";
    return s;
  }

  void SetBulk(bool bulk) {
    if (bulk) {
      setenv("EMPI_BULK_INGEST_RECORDS", "1", 1);
      setenv("EMPI_BULK_ROUND_RECORDS", "1500", 1);
    } else {
      unsetenv("EMPI_BULK_INGEST_RECORDS");
      unsetenv("EMPI_BULK_ROUND_RECORDS");
    }
  }

  // `empi link` in a child with its output discarded; killed after `delay`.
  void LinkAndKill(const std::string& db, const std::vector<std::string>& files, std::chrono::microseconds delay) {
    std::vector<std::string> args = {empi_, "link", "--db", db};
    args.insert(args.end(), files.begin(), files.end());
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int null = open("/dev/null", O_WRONLY);
      dup2(null, 1);
      dup2(null, 2);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    std::this_thread::sleep_for(delay);
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
  }

  std::string Snapshot(const std::string& db) {
    RunResult c = Run("export clusters --db '" + db + "'");
    RunResult r = Run("export review --db '" + db + "'");
    EXPECT_EQ(c.code, 0) << c.err;
    EXPECT_EQ(r.code, 0) << r.err;
    return c.out + "\n--review--\n" + r.out;
  }

  // After a kill, `allow_unfinished_creation`: a kill while RocksDB was
  // still creating the column families leaves a store that a read-only open
  // takes for an older store (or one with no format version); it holds
  // nothing, and the next read-write open finishes it.
  void ExpectCheckClean(const std::string& db, bool allow_unfinished_creation = false) {
    RunResult r = Run("check --db '" + db + "'");
    if (allow_unfinished_creation && r.code == 65 &&
        (r.err.find("has an older format version;") != std::string::npos ||
         r.err.find("has no format version") != std::string::npos)) {
      ++unfinished_creations_;
      return;
    }
    EXPECT_EQ(r.code, 0) << r.out << r.err;
  }

  void KillCycles(bool bulk, bool update) {
    SetBulk(bulk);
    const int cycles = std::getenv("EMPI_KILL_CYCLES") ? std::atoi(std::getenv("EMPI_KILL_CYCLES")) : 8;
    const std::string tag = std::string(bulk ? "bulk" : "ordinary") + (update ? "-update" : "-first");
    // The base (for an updating link: the first link, clean) and the clean
    // result with its duration.
    const std::string base = dir_.path() + "/base-" + tag;
    if (update) {
      ASSERT_EQ(Run("link --db '" + base + "'" + Quoted(feeds_)).code, 0);
    }
    const std::vector<std::string>& files = update ? changed_ : feeds_;
    const std::string link = "link --db '%DB%'" + Quoted(files);
    auto link_into = [&](const std::string& db) {
      std::string args = link;
      args.replace(args.find("%DB%"), 4, db);
      return Run(args);
    };
    auto fresh = [&](const std::string& db) {
      fs::remove_all(db);
      if (update) fs::copy(base, db, fs::copy_options::recursive);
    };
    const std::string ref = dir_.path() + "/ref-" + tag;
    fresh(ref);
    auto t0 = std::chrono::steady_clock::now();
    RunResult clean = link_into(ref);
    auto took = std::chrono::steady_clock::now() - t0;
    ASSERT_EQ(clean.code, 0) << clean.err;
    if (update) {
      EXPECT_NE(clean.out.find("updated records"), std::string::npos);
    }
    const std::string want = Snapshot(ref);
    ExpectCheckClean(ref);

    std::mt19937_64 rng(bulk * 2 + update + 1);
    const auto span = std::chrono::duration_cast<std::chrono::microseconds>(took) * 6 / 5;
    const int64_t took_us = std::chrono::duration_cast<std::chrono::microseconds>(took).count();
    for (int i = 0; i < cycles; ++i) {
      // Half the kills anywhere in the run, half in its last 40% (the
      // write stage and what follows it, where a kill used to corrupt).
      const int64_t late = took_us * 3 / 5;
      const auto delay = std::chrono::microseconds(
          i % 2 == 0 ? static_cast<int64_t>(rng() % (span.count() + 1))
                     : late + static_cast<int64_t>(rng() % (static_cast<uint64_t>(took_us - late) * 11 / 10 + 1)));
      SCOPED_TRACE(::testing::Message() << tag << " cycle " << i << ", killed after " << delay.count() << " us");
      const std::string db = dir_.path() + "/kill-" + tag;
      fresh(db);
      LinkAndKill(db, files, delay);
      if (fs::exists(db + "/CURRENT")) ExpectCheckClean(db, /*allow_unfinished_creation=*/!update);
      RunResult again = link_into(db);
      ASSERT_EQ(again.code, 0) << again.err;
      EXPECT_EQ(Snapshot(db), want) << "the re-run after a kill differs from a clean run";
      ExpectCheckClean(db);
    }
    SetBulk(false);
  }

  int unfinished_creations_ = 0;
  std::string gen_;
  std::vector<std::string> feeds_, changed_;
};

TEST_F(LinkKillTest, CheckExitsDataErrorListingViolations) {
  ASSERT_EQ(Run("link --db '" + db_ + "'" + Quoted(feeds_)).code, 0);
  RunResult clean = Run("check --db '" + db_ + "'");
  EXPECT_EQ(clean.code, 0) << clean.out << clean.err;
  EXPECT_EQ(clean.out, "");
  EXPECT_NE(clean.err.find("; 0 violations"), std::string::npos) << clean.err;
  {
    // One record's membership entry goes missing.
    auto store = index::Store::Open(db_, {});
    ASSERT_TRUE(store.ok()) << store.status();
    std::optional<index::StoredRecord> any;
    ASSERT_TRUE((*store)
                    ->ForEachRecord([&](const index::StoredRecord& r) {
                      any = r;
                      return false;
                    })
                    .ok());
    ASSERT_TRUE(any.has_value());
    index::ChangeSet cs = (*store)->NewChangeSet();
    ASSERT_TRUE(
        cs.batch()
            ->Delete((*store)->cf(index::Cf::kPersonRecords), index::PersonRecordKey(any->person_id, any->record.Key()))
            .ok());
    ASSERT_TRUE((*store)->Commit(&cs, nullptr, true).ok());
  }
  RunResult bad = Run("check --db '" + db_ + "' --max-violations 1");
  EXPECT_EQ(bad.code, 65) << bad.out << bad.err;
  EXPECT_EQ(bad.out.rfind("violation: ", 0), 0u) << bad.out;
  EXPECT_NE(bad.out.find("more violations"), std::string::npos) << bad.out;  // also counts disagree
  EXPECT_EQ(Run("check --db '" + dir_.path() + "/none'").code, 66);
}

TEST_F(LinkKillTest, FirstLinkOrdinaryPath) { KillCycles(/*bulk=*/false, /*update=*/false); }
TEST_F(LinkKillTest, FirstLinkBulkPath) { KillCycles(/*bulk=*/true, /*update=*/false); }
TEST_F(LinkKillTest, UpdatingLinkOrdinaryPath) { KillCycles(/*bulk=*/false, /*update=*/true); }
TEST_F(LinkKillTest, UpdatingLinkBulkPath) { KillCycles(/*bulk=*/true, /*update=*/true); }

}  // namespace
}  // namespace empi::testing
