// Copyright EMPI developers.
#include "index/audit_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include "absl/strings/str_cat.h"

namespace empi::index {
namespace {

constexpr size_t kHeader = 4;                 // length
constexpr size_t kFixed = 16;                 // pending id + sequence
constexpr uint32_t kMaxEntry = 64 << 20;      // far above any real event

absl::Status Errno(const char* what, const std::string& path) {
  return absl::UnavailableError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

}  // namespace

std::string AuditLog::EncodeEntry(uint64_t pending_id, const StoredAuditEvent& e) {
  const std::string value = EncodeAuditValue(e);
  const uint32_t n = static_cast<uint32_t>(kFixed + value.size());
  std::string out;
  out.reserve(kHeader + n);
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((n >> shift) & 0xff));
  out.append(EncodeU64(pending_id));
  out.append(EncodeU64(e.sequence));
  out.append(value);
  return out;
}

absl::Status AuditLog::Read(const std::string& path, uint64_t offset, const std::function<bool(const Entry&)>& fn,
                            uint64_t* valid_end) {
  *valid_end = offset;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return absl::OkStatus();
  std::ifstream in(path, std::ios::binary);
  if (!in) return Errno("opening the audit log", path);
  in.seekg(static_cast<std::streamoff>(offset));
  std::string buf;
  while (true) {
    unsigned char header[kHeader];
    if (!in.read(reinterpret_cast<char*>(header), kHeader)) return absl::OkStatus();
    const uint32_t n = (uint32_t{header[0]} << 24) | (uint32_t{header[1]} << 16) | (uint32_t{header[2]} << 8) |
                       uint32_t{header[3]};
    if (n < kFixed || n > kMaxEntry) return absl::OkStatus();
    buf.resize(n);
    if (!in.read(buf.data(), n)) return absl::OkStatus();
    Entry e;
    e.pending_id = DecodeU64(std::string_view(buf).substr(0, 8));
    const uint64_t seq = DecodeU64(std::string_view(buf).substr(8, 8));
    if (!DecodeAuditValue(seq, std::string_view(buf).substr(kFixed), &e.event)) return absl::OkStatus();
    e.end = *valid_end + kHeader + n;
    if (!fn(e)) return absl::OkStatus();
    *valid_end = e.end;
  }
}

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(const std::string& path, uint64_t size) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return Errno("opening the audit log", path);
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) {
    absl::Status s = Errno("truncating the audit log", path);
    ::close(fd);
    return s;
  }
  return std::unique_ptr<AuditLog>(new AuditLog(path, fd, size));
}

AuditLog::~AuditLog() { ::close(fd_); }

absl::Status AuditLog::Append(std::string_view bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::pwrite(fd_, bytes.data() + done, bytes.size() - done, static_cast<off_t>(size_ + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("writing the audit log", path_);
    }
    done += static_cast<size_t>(n);
  }
  size_ += bytes.size();
  return absl::OkStatus();
}

absl::Status AuditLog::Sync() {
  if (::fdatasync(fd_) != 0) return Errno("syncing the audit log", path_);
  return absl::OkStatus();
}

}  // namespace empi::index
