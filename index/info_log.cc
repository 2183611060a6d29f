// Copyright EMPI developers.
#include "index/info_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <ctime>

namespace empi::index {
namespace {
constexpr off_t kRollBytes = 16 << 20;
}  // namespace

std::shared_ptr<InfoLog> InfoLog::Open(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && st.st_size > kRollBytes) {
    (void)::rename(path.c_str(), (path + ".old").c_str());
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  return std::shared_ptr<InfoLog>(new InfoLog(fd));
}

InfoLog::~InfoLog() { CloseImpl().PermitUncheckedError(); }

rocksdb::Status InfoLog::CloseImpl() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  return rocksdb::Status::OK();
}

void InfoLog::Logv(const char* format, va_list ap) {
  if (fd_ < 0) return;
  char line[1024];
  struct timeval now;
  ::gettimeofday(&now, nullptr);
  struct tm t;
  ::localtime_r(&now.tv_sec, &t);
  int n = std::snprintf(line, sizeof line, "%04d/%02d/%02d-%02d:%02d:%02d.%06ld ", t.tm_year + 1900, t.tm_mon + 1,
                        t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec, static_cast<long>(now.tv_usec));
  if (n < 0) return;
  va_list copy;
  va_copy(copy, ap);
  const int m = std::vsnprintf(line + n, sizeof line - static_cast<size_t>(n) - 1, format, copy);
  va_end(copy);
  if (m < 0) return;
  n = std::min<int>(n + m, static_cast<int>(sizeof line) - 2);
  if (line[n - 1] != '\n') line[n++] = '\n';
  // Best effort: a full or failing disk drops the line.
  (void)!::write(fd_, line, static_cast<size_t>(n));
}

}  // namespace empi::index
