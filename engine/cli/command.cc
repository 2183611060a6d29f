// Copyright EMPI developers.
#include "engine/cli/command.h"

#include <cerrno>
#include <cstdio>
#include <iostream>

namespace empi::cli {

int ReportError(std::string_view command, const absl::Status& status) {
  std::cerr << "empi " << command << ": " << status.message() << "\n";
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kDataLoss:
    case absl::StatusCode::kFailedPrecondition:
      return kExitDataErr;
    case absl::StatusCode::kNotFound:
      return kExitNoInput;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kResourceExhausted:
      return kExitIoErr;
    case absl::StatusCode::kAborted:
      return kExitTempFail;
    default:
      return kExitSoftware;
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

}  // namespace empi::cli
