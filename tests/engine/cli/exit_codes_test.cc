// Copyright EMPI developers.
//
// The sysexits codes of the real `empi` binary for each kind of fault a
// script must tell apart (engine/cli/command.h): 66 a missing input file,
// 74 an I/O failure (full disk, read-only file system, output lost), 75 a
// store locked by another process (try again later). Never 70 (a bug) and
// never a signal. The file-system tests mount a small tmpfs and so run as
// root only; they are skipped otherwise.
#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/engine/cli/cli_test_util.h"

namespace empi {
namespace {

using empi::testing::CliTest;
using empi::testing::RunResult;
using ::testing::HasSubstr;

class ExitCodesTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    feeds_ = dir_.path() + "/feeds";
    RunResult g = Run("generate --persons 300 --seed 7 --out '" + feeds_ + "' --quiet --threads 1");
    ASSERT_EQ(g.code, 0) << g.err;
  }
  void TearDown() override {
    if (!mounted_.empty()) ::umount2(mounted_.c_str(), MNT_DETACH);
  }
  // The generated contributor feeds (their names start with a capital).
  std::string Feeds() const { return "'" + feeds_ + "'/[A-Z]*.csv"; }
  std::string Link(const std::string& db) { return "link --db '" + db + "' " + Feeds(); }

  // Mounts a tmpfs of `mib` MiB at dir/name (root only); "" if not root.
  std::string MountTmpfs(const std::string& name, int mib) {
    if (::geteuid() != 0) return "";
    const std::string at = dir_.path() + "/" + name;
    std::filesystem::create_directories(at);
    const std::string options = "size=" + std::to_string(mib) + "m";
    if (::mount("tmpfs", at.c_str(), "tmpfs", 0, options.c_str()) != 0) {
      ADD_FAILURE() << "mount tmpfs: " << std::strerror(errno);
      return "";
    }
    mounted_ = at;
    return at;
  }

  // Runs `empi ARGS` with stdout sent to `to`, returning the exit code.
  int RunTo(const std::string& args, const std::string& to) {
    const std::string cmd = "'" + empi_ + "' " + args + " >" + to + " 2>'" + dir_.path() + "/stderr'";
    const int status = std::system(cmd.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  std::string feeds_, mounted_;
};

TEST_F(ExitCodesTest, MissingFeedFileIs66) {
  RunResult r = Run("link --db '" + db_ + "' '" + dir_.path() + "/no_such_feed.csv'");
  EXPECT_EQ(r.code, 66) << r.err;
  EXPECT_THAT(r.err, HasSubstr("no_such_feed.csv"));
  r = Run("ingest --db '" + db_ + "' '" + dir_.path() + "/no_such_feed.csv'");
  EXPECT_EQ(r.code, 66) << r.err;
}

// A directory named where a file is wanted (a slip of tab completion) is
// a missing input, named in the message: never an abort (before, a feed
// that was a directory asked for an allocation of its nonsense size).
TEST_F(ExitCodesTest, ADirectoryWhereAFileIsWantedIs66) {
  const std::string d = "'" + feeds_ + "'";
  for (const std::string& args :
       {"link --db '" + db_ + "' " + d, "link --db '" + db_ + "' --mapping " + d + " " + Feeds(),
        "ingest --db '" + db_ + "' " + d, "ingest --db '" + db_ + "' --register " + d + " " + d,
        "supersede --db '" + db_ + "' " + d, "object --db '" + db_ + "' --file " + d,
        "model import --db '" + db_ + "' " + d, "evaluate --truth " + d + " --clusters " + d}) {
    RunResult r = Run(args);
    EXPECT_EQ(r.code, 66) << args << "\n" << r.err;
    EXPECT_THAT(r.err, HasSubstr("Is a directory")) << args;
  }
}

TEST_F(ExitCodesTest, MissingStoreIs66) {
  RunResult r = Run("stats --db '" + dir_.path() + "/no_such_store'");
  EXPECT_EQ(r.code, 66) << r.err;
  r = Run("audit verify --db '" + dir_.path() + "/no_such_store'");
  EXPECT_EQ(r.code, 66) << r.err;
}

// A store another process has open for writing (a long link) holds
// RocksDB's LOCK file: writers get 75 naming the lock, so that a retry
// script waits and tries again; readers go on.
TEST_F(ExitCodesTest, StoreLockedByAnotherProcessIs75) {
  ASSERT_EQ(Run(Link(db_)).code, 0);
  // What a running `empi link` holds: a POSIX write lock on DIR/LOCK.
  const int fd = ::open((db_ + "/LOCK").c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  struct flock lock {};
  lock.l_type = F_WRLCK;
  lock.l_whence = SEEK_SET;
  ASSERT_EQ(::fcntl(fd, F_SETLK, &lock), 0) << std::strerror(errno);
  RunResult r = Run(Link(db_));
  EXPECT_EQ(r.code, 75) << r.err;
  EXPECT_THAT(r.err, HasSubstr("LOCK"));
  EXPECT_THAT(r.err, HasSubstr("another process"));
  r = Run("ingest --db '" + db_ + "' '" + feeds_ + "/RJC.csv'");
  EXPECT_EQ(r.code, 75) << r.err;
  r = Run("resolve --db '" + db_ + "' --nhs-number 9434765919");
  EXPECT_EQ(r.code, 75) << r.err;
  // stats reads patient data, and a read that cannot write its audit event
  // is refused; audit verify reads only the trail, read-only.
  EXPECT_EQ(Run("stats --db '" + db_ + "'").code, 75);
  EXPECT_EQ(Run("audit verify --db '" + db_ + "'").code, 0);
  ::close(fd);  // the lock goes with it
  EXPECT_EQ(Run(Link(db_)).code, 0);
}

TEST_F(ExitCodesTest, LostStandardOutputIs74) {
  ASSERT_EQ(Run(Link(db_)).code, 0);
  // The first record of one feed: source and record id lead each row.
  std::ifstream feed(feeds_ + "/RJC.csv");
  std::string header, row;
  ASSERT_TRUE(std::getline(feed, header) && std::getline(feed, row));
  const std::string source = row.substr(0, row.find(','));
  const std::string rest = row.substr(row.find(',') + 1);
  const std::string resolve =
      "resolve --db '" + db_ + "' --source '" + source + "' --record-id '" + rest.substr(0, rest.find(',')) + "'";
  ASSERT_EQ(RunTo(resolve, "/dev/null"), 0);
  EXPECT_EQ(RunTo(resolve, "/dev/full"), 74);
  EXPECT_EQ(RunTo("export clusters --db '" + db_ + "'", "/dev/full"), 74);
  EXPECT_EQ(RunTo("stats --db '" + db_ + "'", "/dev/full"), 74);
  EXPECT_EQ(RunTo("export clusters --db '" + db_ + "' -o /dev/full", "/dev/null"), 74);
  EXPECT_EQ(RunTo("audit verify --db '" + db_ + "'", "/dev/full"), 74);
  // The same commands with somewhere to write succeed.
  EXPECT_EQ(RunTo("export clusters --db '" + db_ + "'", "/dev/null"), 0);
  EXPECT_EQ(RunTo("stats --db '" + db_ + "'", "/dev/null"), 0);
}

// A store on a read-only file system: writers get 74, and so do reads of
// patient data, which must write their audit event; `audit verify` works.
TEST_F(ExitCodesTest, ReadOnlyFileSystemIs74) {
  const std::string fs = MountTmpfs("ro", 64);
  if (fs.empty()) GTEST_SKIP() << "needs root to mount a tmpfs";
  const std::string db = fs + "/db";
  ASSERT_EQ(Run(Link(db)).code, 0);
  ASSERT_EQ(::mount(nullptr, fs.c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr), 0) << std::strerror(errno);
  RunResult r = Run(Link(db));
  EXPECT_EQ(r.code, 74) << r.err;
  EXPECT_THAT(r.err, HasSubstr("Read-only file system"));
  r = Run("ingest --db '" + db + "' '" + feeds_ + "/RJC.csv'");
  EXPECT_EQ(r.code, 74) << r.err;
  r = Run("link --db '" + fs + "/new_db' " + Feeds());
  EXPECT_EQ(r.code, 74) << r.err;
  // A read of patient data that cannot write its audit event is refused.
  EXPECT_EQ(Run("stats --db '" + db + "'").code, 74);
  r = Run("audit verify --db '" + db + "'");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("audit chain verified"));
}

// A full disk: a clear error and 74 from link, ingest and audit verify,
// never SIGABRT; once there is room again the same link into a fresh store
// gives what a clean run gives.
TEST_F(ExitCodesTest, FullDiskIs74AndTheRerunIsClean) {
  const std::string fs = MountTmpfs("full", 24);
  if (fs.empty()) GTEST_SKIP() << "needs root to mount a tmpfs";
  const std::string clean_db = dir_.path() + "/clean";
  ASSERT_EQ(Run(Link(clean_db)).code, 0);
  const std::string clean = Run("export clusters --db '" + clean_db + "'").out;
  ASSERT_FALSE(clean.empty());

  // Leave less room than the link needs: it fails writing its first batch.
  const std::string db = fs + "/db";
  const std::string filler = fs + "/filler";
  ASSERT_EQ(std::system(("dd if=/dev/zero of='" + filler +
                         "' bs=1M count=24 status=none 2>/dev/null; "
                         "truncate -s -1500K '" +
                         filler + "'")
                            .c_str()) >= 0,
            true);
  RunResult r = Run(Link(db));
  EXPECT_EQ(r.code, 74) << r.err;
  EXPECT_THAT(r.err, HasSubstr("No space left on device"));
  r = Run("ingest --db '" + db + "' '" + feeds_ + "/RJC.csv'");
  EXPECT_TRUE(r.code == 74 || r.code == 0) << r.code << " " << r.err;
  r = Run("audit verify --db '" + db + "'");
  EXPECT_TRUE(r.code == 0 || r.code == 74 || r.code == 66) << r.code << " " << r.err;

  std::filesystem::remove(filler);
  // The failed link is run again over what it left: as if it had never
  // failed.
  r = Run(Link(db));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(Run("export clusters --db '" + db + "'").out, clean);
}

}  // namespace
}  // namespace empi
