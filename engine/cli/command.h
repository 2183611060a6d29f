// Copyright EMPI developers.
//
// command.h: how each front-end command plugs into the `empi` executable.
//
// Each Register* function adds its subcommands to `app`; a subcommand's
// callback runs the command and stores the process exit code in *exit_code.
// Exit codes follow sysexits(3).
#ifndef EMPI_CLI_COMMAND_H_
#define EMPI_CLI_COMMAND_H_

#include "CLI/CLI.hpp"
#include "absl/status/status.h"

namespace empi::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitUsage = 64;     // EX_USAGE: bad flags
inline constexpr int kExitDataErr = 65;   // EX_DATAERR: bad input data
inline constexpr int kExitNoInput = 66;   // EX_NOINPUT: input file missing
inline constexpr int kExitSoftware = 70;  // EX_SOFTWARE: internal error
inline constexpr int kExitIoErr = 74;     // EX_IOERR: read/write failure

// Prints "empi <command>: <message>" to stderr and returns the sysexits
// code for the status: InvalidArgument/DataLoss/FailedPrecondition -> 65,
// NotFound -> 66, Unavailable/Internal from storage -> 74, others -> 70.
int ReportError(std::string_view command, const absl::Status& status);

void RegisterLinkCommands(CLI::App& app, int* exit_code);      // link, export, explain, stats
void RegisterGenerateCommand(CLI::App& app, int* exit_code);   // generate
void RegisterEvaluateCommand(CLI::App& app, int* exit_code);   // evaluate
void RegisterRealtimeCommands(CLI::App& app, int* exit_code);  // ingest, resolve, search, object, ...

}  // namespace empi::cli

#endif  // EMPI_CLI_COMMAND_H_
