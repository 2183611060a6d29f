// Copyright EMPI developers.
#include "engine/cli/command.h"

#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "base/private_file.h"
#include "empi/status_macros.h"
#include "engine/linkage/store_events.h"
#include "fmt/format.h"

namespace empi::cli {

std::string CliIdentity::Requester() const {
  if (!as.empty()) return as;
  if (const char* env = std::getenv("EMPI_USER"); env != nullptr && *env != '\0') return env;
  if (const passwd* pw = ::getpwuid(::geteuid()); pw != nullptr && pw->pw_name != nullptr) return pw->pw_name;
  if (const char* user = std::getenv("USER"); user != nullptr && *user != '\0') return user;
  return "unknown";
}

absl::Status AuditRead(index::Store* store, const CliIdentity& who, std::string action, std::string outcome,
                       std::vector<uint64_t> persons, std::vector<std::string> records) {
  index::AuditEvent event = AuditEventFor(who.AsRequester(), std::move(action));
  event.outcome = std::move(outcome);
  event.persons = std::move(persons);
  event.records = std::move(records);
  index::ChangeSet none = store->NewChangeSet();
  return store->Commit(&none, &event, /*sync=*/true);
}

absl::Status CheckDbPath(const std::string& db) {
  std::error_code ec;
  if (std::filesystem::exists(db, ec) && !std::filesystem::is_directory(db, ec)) {
    return absl::InvalidArgumentError("--db " + db + " is a file, not a database directory");
  }
  return absl::OkStatus();
}

void AddIdentityFlags(CLI::App* c, CliIdentity* who) {
  c->add_option("--as,--requester", who->as, "Who runs this (audited); default $EMPI_USER, else the OS user name");
  c->add_option("--organisation", who->organisation, "Requester's organisation (audited)")->capture_default_str();
  c->add_option("--role", who->role, "Requester's role (audited)")->capture_default_str();
  c->add_option("--purpose", who->purpose, "Purpose of use (audited)")->capture_default_str();
}

int ReportError(std::string_view command, const absl::Status& status) {
  std::cerr << "empi " << command << ": " << status.message() << "\n";
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kDataLoss:
    case absl::StatusCode::kFailedPrecondition: return kExitDataErr;
    case absl::StatusCode::kNotFound: return kExitNoInput;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kResourceExhausted: return kExitIoErr;
    case absl::StatusCode::kAborted: return kExitTempFail;
    default: return kExitSoftware;
  }
}

bool FlushStdout() {
  std::cout.flush();
  errno = 0;
  const bool flushed = std::fflush(stdout) == 0;
  const int saved = errno;
  const bool ok = flushed && std::cout.good() && !std::ferror(stdout);
  // A stream error from an earlier write leaves errno unset here (0).
  errno = ok ? 0 : saved;
  return ok;
}

absl::Status Output::Open(const std::string& path) {
  if (path.empty() || path == "-") return absl::OkStatus();
  EMPI_RETURN_IF_ERROR(CreatePrivateFile(path));  // patient data: 0600
  file_ = std::make_unique<std::ofstream>(path, std::ios::binary | std::ios::trunc);
  if (!*file_) return absl::UnavailableError(fmt::format("cannot write {}", path));
  return absl::OkStatus();
}

absl::Status Output::Close(const std::string& path) {
  if (!file_) {
    if (!FlushStdout()) {
      const int error = errno;
      return absl::UnavailableError(
          fmt::format("writing stdout failed{}{}", error != 0 ? ": " : "", error != 0 ? std::strerror(error) : ""));
    }
    return absl::OkStatus();
  }
  file_->close();
  if (!*file_) return absl::UnavailableError(fmt::format("write failed: {}", path));
  return absl::OkStatus();
}

}  // namespace empi::cli
