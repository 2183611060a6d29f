// Copyright EMPI developers.
//
// engine/cli/allocator.h through the real binary: `empi link` reading a
// feed from a named pipe is held half-way, and its memory map is read from
// /proc while it waits.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "tests/engine/cli/cli_test_util.h"

namespace empi::testing {
namespace {

class AllocatorCliTest : public CliTest {
 protected:
  struct Held {
    std::string comm;
    bool huge_pages = false;  // some mapping advised MADV_HUGEPAGE ("hg")
    int code = -1;
  };

  // Starts `empi link` on a pipe with `env` as its whole environment,
  // writes 48 MiB into the pipe (more than glibc's mmap threshold, so the
  // feed's buffer gets mappings of its own), reads the process's name and
  // memory map, then closes the pipe and waits for it.
  Held LinkFromPipe(std::vector<std::string> env) {
    const std::string fifo = dir_.path() + "/feed.csv";
    EXPECT_EQ(mkfifo(fifo.c_str(), 0600), 0);
    std::vector<std::string> args = {empi_, "link", "--db", db_, "--source", "RKB", fifo};
    const pid_t pid = fork();
    if (pid == 0) {
      const int null = open("/dev/null", O_WRONLY);
      dup2(null, 1);
      dup2(null, 2);
      std::vector<char*> argv, envp;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      for (auto& e : env) envp.push_back(e.data());
      envp.push_back(nullptr);
      execve(argv[0], argv.data(), envp.data());
      _exit(127);
    }
    Held held;
    if (pid < 0) return held;
    const int out = open(fifo.c_str(), O_WRONLY);  // waits for the reader
    EXPECT_GE(out, 0);
    const std::string chunk(1 << 20, 'x');
    for (int i = 0; i < 48 && out >= 0; ++i) EXPECT_EQ(write(out, chunk.data(), chunk.size()), ssize_t(chunk.size()));
    // The reader has taken 47 MiB at least; its buffer is mapped now.
    held.comm = ReadText("/proc/" + std::to_string(pid) + "/comm");
    for (const std::string& line : Lines(ReadText("/proc/" + std::to_string(pid) + "/smaps"))) {
      if (line.rfind("VmFlags:", 0) == 0 && (line + " ").find(" hg ") != std::string::npos) held.huge_pages = true;
    }
    if (out >= 0) close(out);
    int status = 0;
    waitpid(pid, &status, 0);
    held.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return held;
  }
};

// glibc advises huge pages only when the kernel leaves them to madvise;
// AddressSanitizer brings its own allocator.
bool GlibcAdvisesHugePages() {
#if defined(__SANITIZE_ADDRESS__)
  return false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
  return false;
#endif
#endif
  return ReadText("/sys/kernel/mm/transparent_hugepage/enabled").find("[madvise]") != std::string::npos;
}

TEST_F(AllocatorCliTest, ALinkRunsOnHugePagesUnderItsOwnName) {
  if (!GlibcAdvisesHugePages()) GTEST_SKIP() << "transparent huge pages are not madvise-only here, or ASan";
  const Held held = LinkFromPipe({"PATH=/usr/bin:/bin", "GLIBC_TUNABLES=glibc.malloc.arena_max=4"});
  EXPECT_EQ(held.comm, "empi\n");
  EXPECT_TRUE(held.huge_pages);
  EXPECT_EQ(held.code, 65);  // one 48 MiB line of x: no header it knows
}

TEST_F(AllocatorCliTest, HugePagesCanBeTurnedOff) {
  EXPECT_FALSE(LinkFromPipe({"PATH=/usr/bin:/bin", "EMPI_HUGEPAGES=0"}).huge_pages);
}

TEST_F(AllocatorCliTest, AGlibcTunableOfTheCallersOwnIsKept) {
  EXPECT_FALSE(LinkFromPipe({"PATH=/usr/bin:/bin", "GLIBC_TUNABLES=glibc.malloc.hugetlb=0"}).huge_pages);
}

}  // namespace
}  // namespace empi::testing
