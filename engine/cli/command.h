// Copyright EMPI developers.
//
// command.h: how each front-end command plugs into the `empi` executable.
//
// Each Register* function adds its subcommands to `app`; a subcommand's
// callback runs the command and stores the process exit code in *exit_code.
// Exit codes follow sysexits(3).
#ifndef EMPI_CLI_COMMAND_H_
#define EMPI_CLI_COMMAND_H_

#include <cstdint>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "empi/results.h"
#include "index/store.h"

namespace empi::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitUsage = 64;     // EX_USAGE: bad flags
inline constexpr int kExitDataErr = 65;   // EX_DATAERR: bad input data
inline constexpr int kExitNoInput = 66;   // EX_NOINPUT: input file missing
inline constexpr int kExitSoftware = 70;  // EX_SOFTWARE: internal error
inline constexpr int kExitIoErr = 74;     // EX_IOERR: read/write failure
inline constexpr int kExitTempFail = 75;  // EX_TEMPFAIL: try again later

// Prints "empi <command>: <message>" to stderr and returns the sysexits
// code for the status:
//   InvalidArgument, DataLoss, FailedPrecondition -> 65 (bad data)
//   NotFound                                      -> 66 (input missing)
//   Unavailable, ResourceExhausted                -> 74 (I/O: a failed read or
//       write, disk full, read-only file system, failed output)
//   Aborted                                       -> 75 (temporary: the store
//       is locked by another process; run the command again later)
//   anything else                                 -> 70 (a bug)
// index::Store and the readers and writers of files use these codes so.
int ReportError(std::string_view command, const absl::Status& status);

// Who runs a command and why, for its audit events: the --as (alias
// --requester) value, else the EMPI_USER environment variable, else the
// operating system's user name (else "unknown"); the purpose is --purpose,
// default "operations".
struct CliIdentity {
  std::string as, organisation = "local", role = "operator", purpose = "operations";
  // The requester name, resolved as above.
  std::string Requester() const;
  // The whole identity, as the library's audit events record it.
  empi::Requester AsRequester() const { return {Requester(), organisation, role, purpose}; }
};

// Appends one audit event for a read of patient data that `store` (open for
// writing) does not audit itself: `action` names the read ("export pairs"),
// `outcome` its filters and counts. Synced before it returns.
[[nodiscard]] absl::Status AuditRead(index::Store* store, const CliIdentity& who, std::string action,
                                     std::string outcome, std::vector<uint64_t> persons = {},
                                     std::vector<std::string> records = {});

// InvalidArgument when `db` names something that exists and is not a
// directory (a regular file given as --db by mistake).
[[nodiscard]] absl::Status CheckDbPath(const std::string& db);

// Adds --as/--requester, --organisation, --role and --purpose to `c`.
void AddIdentityFlags(CLI::App* c, CliIdentity* who);
// Flushes standard output; false if anything written to it was lost: a full
// disk, /dev/full, a failing device. errno is then the flush's error, or 0 when
// an earlier write failed.
bool FlushStdout();

// Output to a file (-o) or stdout. A file is created owner-only (0600): it
// may hold patient data.
class Output {
 public:
  absl::Status Open(const std::string& path);
  std::ostream& out() { return file_ ? *file_ : std::cout; }
  // Flushes and closes; Unavailable (exit 74) when anything written was lost.
  absl::Status Close(const std::string& path);

 private:
  std::unique_ptr<std::ofstream> file_;
};

void RegisterLinkCommands(CLI::App& app, int* exit_code);      // link, export, explain, stats
void RegisterRelinkCommand(CLI::App& app, int* exit_code);     // relink
void RegisterGenerateCommand(CLI::App& app, int* exit_code);   // generate
void RegisterEvaluateCommand(CLI::App& app, int* exit_code);   // evaluate
void RegisterRealtimeCommands(CLI::App& app, int* exit_code);  // ingest, resolve, search, object, ...
void RegisterServeCommand(CLI::App& app, int* exit_code);      // serve

}  // namespace empi::cli

#endif  // EMPI_CLI_COMMAND_H_
