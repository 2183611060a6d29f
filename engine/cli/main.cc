// Copyright EMPI developers.
//
// The `empi` command: batch linkage, real-time resolution, objections,
// steward actions, audit, generation and evaluation.
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "CLI/CLI.hpp"
#include "absl/synchronization/mutex.h"
#include "engine/cli/allocator.h"
#include "engine/cli/command.h"

int main(int argc, char** argv) {
  empi::cli::TuneAllocator(argc, argv);
#ifdef NDEBUG
  // Debian's Abseil is built without NDEBUG, so every absl::Mutex lock is
  // checked against a process-wide lock-order graph under one global lock,
  // a debugging aid (docs/benchmarks.md, "Where a resolution's time goes").
  // Release builds of the command switch it off, as Abseil's own release
  // builds do; the tests (built without NDEBUG) keep it.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
#endif
  // Everything the command creates holds patient data or is next to it: the
  // store's RocksDB files and audit.log, quarantine, exports. Owner-only,
  // whatever the caller's umask (files 0600, directories 0700); files the
  // CLI writes itself are also opened 0600 (base/private_file.h).
  ::umask(077);
  CLI::App app{"EMPI: enterprise master patient index and matching engine", "empi"};
  app.require_subcommand(1);
  int exit_code = empi::cli::kExitOk;
  empi::cli::RegisterLinkCommands(app, &exit_code);
  empi::cli::RegisterRelinkCommand(app, &exit_code);
  empi::cli::RegisterGenerateCommand(app, &exit_code);
  empi::cli::RegisterEvaluateCommand(app, &exit_code);
  empi::cli::RegisterRealtimeCommands(app, &exit_code);
  empi::cli::RegisterServeCommand(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    if (rc == 0 && !empi::cli::FlushStdout()) return empi::cli::kExitIoErr;
    return rc == 0 ? 0 : empi::cli::kExitUsage;
  }
  // Results written to standard output and lost (a full disk, /dev/full, a
  // failing device) fail the command: a script must not take a truncated
  // answer for a whole one.
  if (!empi::cli::FlushStdout() && exit_code == empi::cli::kExitOk) {
    const int error = errno;
    std::cerr << "empi: writing standard output failed" << (error != 0 ? ": " : "")
              << (error != 0 ? std::strerror(error) : "") << "; the results are incomplete\n";
    exit_code = empi::cli::kExitIoErr;
  }
  return exit_code;
}
