// Copyright EMPI developers.
//
// private_file.h: files holding patient data are readable by their owner
// only.
//
// Every file EMPI writes with patient data in it (quarantine, exports,
// buffered input) is created through CreatePrivateFile before anything is
// written, so its mode is 0600 whatever the umask, and a file that existed
// with a wider mode is narrowed before it is truncated and rewritten.
//
//   EMPI_RETURN_IF_ERROR(empi::CreatePrivateFile(path));
//   std::ofstream out(path, std::ios::binary | std::ios::trunc);
//
// Thread-safety: no shared state.
#ifndef EMPI_BASE_PRIVATE_FILE_H_
#define EMPI_BASE_PRIVATE_FILE_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace empi {

// Creates `path` (open(2) with O_CREAT and mode 0600), or, if it exists,
// sets its mode to 0600 (fchmod on the open descriptor), and truncates it
// to zero length. Unavailable, naming the path, if it cannot.
[[nodiscard]] absl::Status CreatePrivateFile(const std::string& path);

// CreatePrivateFile, then writes `bytes` to it. Unavailable on failure.
[[nodiscard]] absl::Status WritePrivateFile(const std::string& path, std::string_view bytes);

}  // namespace empi

#endif  // EMPI_BASE_PRIVATE_FILE_H_
