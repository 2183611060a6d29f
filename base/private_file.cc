// Copyright EMPI developers.
#include "base/private_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace empi {
namespace {

absl::Status Failed(const std::string& path, std::string_view what) {
  return absl::UnavailableError(std::string(path) + ": " + std::string(what) + ": " + std::strerror(errno));
}

// Opens `path` for writing, owner-only, truncated; -1 on failure.
int OpenPrivate(const std::string& path) {
  // No O_TRUNC here: an existing file is narrowed before it is emptied.
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return -1;
  if (::fchmod(fd, 0600) != 0 || ::ftruncate(fd, 0) != 0) {
    const int saved = errno;
    ::close(fd);
    errno = saved;
    return -1;
  }
  return fd;
}

}  // namespace

absl::Status CreatePrivateFile(const std::string& path) {
  const int fd = OpenPrivate(path);
  if (fd < 0) return Failed(path, "cannot create");
  if (::close(fd) != 0) return Failed(path, "cannot create");
  return absl::OkStatus();
}

absl::Status WritePrivateFile(const std::string& path, std::string_view bytes) {
  const int fd = OpenPrivate(path);
  if (fd < 0) return Failed(path, "cannot create");
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int saved = errno;
      ::close(fd);
      errno = saved;
      return Failed(path, "write failed");
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  if (::close(fd) != 0) return Failed(path, "write failed");
  return absl::OkStatus();
}

}  // namespace empi
