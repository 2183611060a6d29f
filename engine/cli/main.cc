// Copyright EMPI developers.
//
// The `empi` command: batch linkage, real-time resolution, objections,
// steward actions, audit, generation and evaluation.
#include <cerrno>
#include <cstring>
#include <iostream>

#include "CLI/CLI.hpp"
#include "engine/cli/command.h"

int main(int argc, char** argv) {
  CLI::App app{"EMPI: enterprise master patient index and matching engine", "empi"};
  app.require_subcommand(1);
  int exit_code = empi::cli::kExitOk;
  empi::cli::RegisterLinkCommands(app, &exit_code);
  empi::cli::RegisterGenerateCommand(app, &exit_code);
  empi::cli::RegisterEvaluateCommand(app, &exit_code);
  empi::cli::RegisterRealtimeCommands(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    if (rc == 0 && !empi::cli::FlushStdout()) return empi::cli::kExitIoErr;
    return rc == 0 ? 0 : empi::cli::kExitUsage;
  }
  // Results written to standard output and lost (a full disk, /dev/full, a
  // closed pipe) fail the command: a script must not take a truncated
  // answer for a whole one.
  if (!empi::cli::FlushStdout()) {
    std::cerr << "empi: writing standard output failed: " << std::strerror(errno) << "\n";
    if (exit_code == empi::cli::kExitOk) exit_code = empi::cli::kExitIoErr;
  }
  return exit_code;
}
