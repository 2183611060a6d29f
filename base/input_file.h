// Copyright EMPI developers.
//
// input_file.h: opening and reading the files a user names on the command
// line or in a configuration (feeds, mappings, forms, models, keys).
//
// A path that does not exist, cannot be read, or is a directory is the
// user's mistake and NotFound (sysexits 66, EX_NOINPUT); a read that fails
// part way is an I/O error, Unavailable (74). Either message names the path
// and what the file was wanted for, never its contents. A pipe or a
// process substitution (`<(zcat feed.csv.gz)`) reads like a file.
//
//   EMPI_ASSIGN_OR_RETURN(std::string text, ReadInputFile(path, "mapping"));
//
// Thread-safety: no shared state.
#ifndef EMPI_BASE_INPUT_FILE_H_
#define EMPI_BASE_INPUT_FILE_H_

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace empi {

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using InputFile = std::unique_ptr<std::FILE, FileCloser>;

// `path` opened for reading in binary mode. `what` names the file's use in
// the error ("feed", "mapping").
absl::StatusOr<InputFile> OpenInputFile(const std::string& path, std::string_view what);

// The whole of `path`.
absl::StatusOr<std::string> ReadInputFile(const std::string& path, std::string_view what);

}  // namespace empi

#endif  // EMPI_BASE_INPUT_FILE_H_
