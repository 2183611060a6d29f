// Copyright EMPI developers.
#include "base/input_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "absl/status/status.h"

namespace empi {
namespace {

std::string CannotOpen(const std::string& path, std::string_view what, int err) {
  return path + ": cannot open " + std::string(what) + ": " + std::strerror(err);
}

}  // namespace

absl::StatusOr<InputFile> OpenInputFile(const std::string& path, std::string_view what) {
  InputFile f(std::fopen(path.c_str(), "rb"));
  if (f == nullptr) {
    const int err = errno;
    const std::string message = CannotOpen(path, what, err);
    // Missing or unreadable: the input is not there for us (EX_NOINPUT).
    if (err == ENOENT || err == ENOTDIR || err == EACCES || err == EISDIR || err == ENAMETOOLONG || err == ELOOP) {
      return absl::NotFoundError(message);
    }
    return absl::UnavailableError(message);
  }
  // fopen opens a directory for reading on Linux; reading it fails later
  // with EISDIR, and its size is nonsense.
  struct stat st;
  if (fstat(fileno(f.get()), &st) == 0 && S_ISDIR(st.st_mode)) {
    return absl::NotFoundError(CannotOpen(path, what, EISDIR));
  }
  return f;
}

absl::StatusOr<std::string> ReadInputFile(const std::string& path, std::string_view what) {
  absl::StatusOr<InputFile> f = OpenInputFile(path, what);
  if (!f.ok()) return f.status();
  std::string data;
  struct stat st;
  if (fstat(fileno(f->get()), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
    data.reserve(static_cast<size_t>(st.st_size));
  }
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f->get())) > 0) data.append(buf, n);
  if (std::ferror(f->get()) != 0) {
    return absl::UnavailableError(path + ": reading the " + std::string(what) + " failed: " + std::strerror(errno));
  }
  return data;
}

}  // namespace empi
