// Copyright EMPI developers.
#include "engine/cli/command.h"

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
    case absl::StatusCode::kAborted:
      return kExitIoErr;
    default:
      return kExitSoftware;
  }
}

}  // namespace empi::cli
