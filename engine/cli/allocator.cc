// Copyright EMPI developers.
#include "engine/cli/allocator.h"

#include <unistd.h>

#include <cstdlib>
#include <string>
#include <string_view>

#if defined(__GLIBC__)
#include <malloc.h>
#include <sys/auxv.h>
#endif

namespace empi::cli {
namespace {

// Commands that read, link or write a whole store or population. The others
// answer one question in milliseconds, and a second exec would add about
// 20 ms to each.
bool Heavy(int argc, char** argv) {
  if (argc < 2) return false;
  const std::string_view command = argv[1];
  for (std::string_view heavy : {"link", "relink", "generate", "evaluate", "export", "check", "check-objections",
                                 "compact", "ingest", "serve"}) {
    if (command == heavy) return true;
  }
  return false;
}

bool Serve(int argc, char** argv) { return argc >= 2 && std::string_view(argv[1]) == "serve"; }

// The glibc tunables the command wants that `given` (GLIBC_TUNABLES) does
// not name, joined by ':'; empty when there are none.
std::string MissingTunables(int argc, char** argv, std::string_view given) {
  std::string out;
  auto want = [&](std::string_view name, std::string_view value) {
    if (given.find(name) != std::string_view::npos) return;
    if (!out.empty()) out += ':';
    out.append(name).append("=").append(value);
  };
  const char* huge = std::getenv("EMPI_HUGEPAGES");
  if (Heavy(argc, argv) && (huge == nullptr || std::string_view(huge) != "0")) want("glibc.malloc.hugetlb", "1");
  // The server's threads free more small blocks per request than the
  // per-thread cache's default 7 per size keeps; the rest went through
  // the arena's bins, which the next request's 4 KiB read buffer then
  // sorted (docs/benchmarks.md, "Where a resolution's time goes").
  if (Serve(argc, argv)) want("glibc.malloc.tcache_count", "1024");
  return out;
}

}  // namespace

void TuneAllocator(int argc, char** argv) {
#if defined(__GLIBC__)
  const char* tunables = std::getenv("GLIBC_TUNABLES");
  const std::string missing = MissingTunables(argc, argv, tunables != nullptr ? tunables : "");
  if (!missing.empty() && getauxval(AT_SECURE) == 0) {
    const std::string before = tunables != nullptr ? tunables : "";
    const std::string value = before.empty() ? missing : before + ":" + missing;
    // The binary's own path, not /proc/self/exe: the kernel names the
    // process after the file executed (ps, top, pkill empi).
    char self[4096];
    const ssize_t n = ::readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n > 0 && ::setenv("GLIBC_TUNABLES", value.c_str(), /*overwrite=*/1) == 0) {
      self[n] = '\0';
      ::execv(self, argv);  // returns only on failure
      // Run as it is; leave the environment as it was for any child.
      if (tunables != nullptr) {
        ::setenv("GLIBC_TUNABLES", before.c_str(), 1);
      } else {
        ::unsetenv("GLIBC_TUNABLES");
      }
    }
  }
  // Measured on a 1M-record link (docs/benchmarks.md, "The allocator"):
  // returning freed batches to the kernel and faulting them in again cost
  // about a fifth of the run.
  ::mallopt(M_TRIM_THRESHOLD, 1 << 30);
  ::mallopt(M_TOP_PAD, 64 << 20);
  ::mallopt(M_MMAP_THRESHOLD, 32 << 20);
  // cpp-httplib, the server's first transport, allocated a 4 KiB read
  // buffer for every request; with fastbins on, each such allocation made
  // glibc consolidate them all, a tenth of the server's CPU per resolution
  // (docs/benchmarks.md, "Where a resolution's time goes"). Kept for the
  // Beast transport without being measured again. Small blocks still come
  // from the per-thread cache.
  if (Serve(argc, argv)) ::mallopt(M_MXFAST, 0);
#else
  (void)argc;
  (void)argv;
#endif
}

}  // namespace empi::cli
