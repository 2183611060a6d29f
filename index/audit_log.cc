// Copyright EMPI developers.
#include "index/audit_log.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include "absl/strings/str_cat.h"
#include "index/codec_internal.h"

namespace empi::index {
namespace {

constexpr size_t kHeader = 4;             // length
constexpr size_t kFixed = 16;             // pending id + sequence
constexpr uint32_t kMaxEntry = 64 << 20;  // far above any real event
constexpr size_t kHashSize = 32;
// Where EncodeUnchained leaves room for the chain.
constexpr size_t kSequenceAt = kHeader + 8;
constexpr size_t kPrevHashAt = kHeader + kFixed + 1;  // after the version byte
constexpr size_t kHashAt = kPrevHashAt + kHashSize;
constexpr size_t kBodyAt = kHashAt + kHashSize;
// Address space mapped over the file, which bounds the log's size: 1 TiB
// (about 5 billion events), or less where a limit on address space
// (ulimit -v) refuses that, down to 1 GiB.
constexpr uint64_t kMaxMapBytes = uint64_t{1} << 40;
constexpr uint64_t kMinMapBytes = uint64_t{1} << 30;
constexpr uint64_t kAllocateChunk = 8 << 20;  // file space allocated at a time
constexpr uint64_t kWindow = 64 << 10;        // pages faulted in at a time

absl::Status Errno(const char* what, const std::string& path) {
  return absl::UnavailableError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

void PutLength(uint32_t n, std::string* out) {
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<char>((n >> shift) & 0xff));
}

uint32_t GetLength(const unsigned char* header) {
  return (uint32_t{header[0]} << 24) | (uint32_t{header[1]} << 16) | (uint32_t{header[2]} << 8) | uint32_t{header[3]};
}

// Copies whole entries to `to`, each one's length last, in one 4-byte store
// after the rest of the entry: a process killed at any instruction leaves
// whole entries, then at most one whose length is still zero. (memcpy gives
// no order: glibc's vector copy of a few hundred bytes stores its first 32
// bytes last.)
void CopyEntries(std::string_view entries, char* to) {
  for (size_t at = 0; at + kHeader <= entries.size();) {
    const size_t n = GetLength(reinterpret_cast<const unsigned char*>(entries.data() + at));
    std::memcpy(to + at + kHeader, entries.data() + at + kHeader, n);
    std::atomic_signal_fence(std::memory_order_seq_cst);  // the compiler keeps the order
    std::memcpy(to + at, entries.data() + at, kHeader);
    at += kHeader + n;
  }
}

}  // namespace

std::string AuditLog::EncodeEntry(uint64_t pending_id, const StoredAuditEvent& e) {
  const std::string value = EncodeAuditValue(e);
  std::string out;
  out.reserve(kHeader + kFixed + value.size());
  PutLength(static_cast<uint32_t>(kFixed + value.size()), &out);
  out.append(EncodeU64(pending_id));
  out.append(EncodeU64(e.sequence));
  out.append(value);
  return out;
}

std::string AuditLog::EncodeUnchained(uint64_t pending_id, const AuditEvent& event) {
  const std::string body = EncodeAuditBody(event);
  std::string out;
  out.reserve(kBodyAt + body.size());
  PutLength(static_cast<uint32_t>(kBodyAt - kHeader + body.size()), &out);
  out.append(EncodeU64(pending_id));
  out.append(8, '\0');  // sequence
  out.push_back(static_cast<char>(internal::kValueVersion));
  out.append(2 * kHashSize, '\0');  // previous hash, hash
  out.append(body);
  return out;
}

std::string_view AuditLog::Chain(std::span<char> entry, uint64_t sequence, std::string_view prev_hash) {
  if (prev_hash.size() != kHashSize || entry.size() < kBodyAt) return {};
  const std::string seq = EncodeU64(sequence);
  std::copy(seq.begin(), seq.end(), entry.begin() + kSequenceAt);
  std::copy(prev_hash.begin(), prev_hash.end(), entry.begin() + kPrevHashAt);
  char* hash = entry.data() + kHashAt;
  const std::string_view body(entry.data() + kBodyAt, entry.size() - kBodyAt);
  if (!AuditHashOfBody(prev_hash, sequence, body, hash)) return {};
  return std::string_view(hash, kHashSize);
}

absl::Status AuditLog::Read(const std::string& path, uint64_t offset, const std::function<bool(const Entry&)>& fn,
                            uint64_t* valid_end, uint64_t* garbage) {
  *valid_end = offset;
  if (garbage != nullptr) *garbage = 0;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return absl::OkStatus();
  std::ifstream in(path, std::ios::binary);
  if (!in) return Errno("opening the audit log", path);
  in.seekg(static_cast<std::streamoff>(offset));
  std::string buf;
  while (true) {
    unsigned char header[kHeader];
    if (!in.read(reinterpret_cast<char*>(header), kHeader)) break;
    const uint32_t n = GetLength(header);
    if (n < kFixed || n > kMaxEntry) break;
    buf.resize(n);
    if (!in.read(buf.data(), n)) break;
    Entry e;
    e.pending_id = DecodeU64(std::string_view(buf).substr(0, 8));
    const uint64_t seq = DecodeU64(std::string_view(buf).substr(8, 8));
    if (!DecodeAuditValue(seq, std::string_view(buf).substr(kFixed), &e.event)) break;
    e.end = *valid_end + kHeader + n;
    if (!fn(e)) break;
    *valid_end = e.end;
  }
  if (garbage == nullptr) return absl::OkStatus();
  in.clear();
  in.seekg(static_cast<std::streamoff>(*valid_end));
  char chunk[1 << 16];
  while (in.read(chunk, sizeof chunk) || in.gcount() > 0) {
    *garbage += static_cast<uint64_t>(std::count_if(chunk, chunk + in.gcount(), [](char c) { return c != 0; }));
  }
  return absl::OkStatus();
}

absl::StatusOr<AuditLog::Tail> AuditLog::ReadTail(const std::string& path, uint64_t offset) {
  Tail tail;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return tail;
  std::ifstream in(path, std::ios::binary);
  if (!in) return Errno("opening the audit log", path);
  in.seekg(static_cast<std::streamoff>(offset));
  // The last non-zero byte, relative to offset, plus one; and the header.
  uint64_t pos = 0, last_nonzero = 0;
  unsigned char header[kHeader] = {0, 0, 0, 0};
  char chunk[1 << 16];
  while (in.read(chunk, sizeof chunk) || in.gcount() > 0) {
    const uint64_t n = static_cast<uint64_t>(in.gcount());
    for (uint64_t i = 0; i < n; ++i) {
      if (pos + i < kHeader) header[pos + i] = static_cast<unsigned char>(chunk[i]);
      if (chunk[i] != 0) last_nonzero = pos + i + 1;
    }
    pos += n;
  }
  if (in.bad()) return Errno("reading the audit log", path);
  tail.bytes = last_nonzero;
  if (last_nonzero == 0) return tail;  // kEnd
  const uint64_t length = GetLength(header);
  // Append writes an entry's length last (CopyEntries): a process killed
  // while copying an entry leaves its length zero and some of the rest,
  // never more than one entry. A machine crash can also leave the length
  // with only the first pages of the rest (zeros from some point to the end
  // the length announces, nothing after), or a length cut short.
  const bool unannounced = length == 0 && last_nonzero <= kHeader + kMaxEntry;
  const bool cut_short = length >= kFixed && length <= kMaxEntry && last_nonzero < kHeader + length;
  if (last_nonzero < kHeader || unannounced || cut_short) {
    tail.kind = Tail::Kind::kIncomplete;
  } else {
    tail.kind = Tail::Kind::kDamaged;
  }
  return tail;
}

absl::Status AuditLog::CopyRange(const std::string& path, uint64_t offset, uint64_t length, const std::string& to) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Errno("opening the audit log", path);
  in.seekg(static_cast<std::streamoff>(offset));
  std::string bytes(length, '\0');
  if (!in.read(bytes.data(), static_cast<std::streamsize>(length))) return Errno("reading the audit log", path);
  const int fd = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0440);
  if (fd < 0) return Errno("creating", to);
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      absl::Status s = Errno("writing", to);
      ::close(fd);
      return s;
    }
    done += static_cast<size_t>(w);
  }
  if (::fsync(fd) != 0) {
    absl::Status s = Errno("syncing", to);
    ::close(fd);
    return s;
  }
  ::close(fd);
  const std::string dir = std::filesystem::path(to).parent_path().string();
  const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return Errno("opening directory", dir);
  const int r = ::fsync(dfd);
  ::close(dfd);
  if (r != 0) return Errno("syncing directory", dir);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(const std::string& path, uint64_t size) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return Errno("opening the audit log", path);
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) {
    absl::Status s = Errno("truncating the audit log", path);
    ::close(fd);
    return s;
  }
  void* map = MAP_FAILED;
  uint64_t map_bytes = kMaxMapBytes;
  for (; map_bytes >= kMinMapBytes && map_bytes > size; map_bytes /= 2) {
    map = ::mmap(nullptr, map_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
    if (map != MAP_FAILED || errno != ENOMEM) break;
  }
  if (map == MAP_FAILED) {
    absl::Status s = Errno("mapping the audit log", path);
    ::close(fd);
    return s;
  }
  std::unique_ptr<AuditLog> log(new AuditLog(path, fd, static_cast<char*>(map), map_bytes, size));
  if (absl::Status s = log->Allocate(size + kAllocateChunk); !s.ok()) return s;
  const uint64_t window = size / kWindow * kWindow;
  Prefault({log->map_ + window, static_cast<size_t>(std::min(2 * kWindow, log->allocated_ - window))});
  return log;
}

AuditLog::~AuditLog() {
  ::munmap(map_, map_bytes_);
  if (::ftruncate(fd_, static_cast<off_t>(size_)) != 0) {
    std::fprintf(stderr, "empi: audit log %s: could not truncate its padding: %s\n", path_.c_str(),
                 std::strerror(errno));
  }
  ::close(fd_);
}

absl::Status AuditLog::Allocate(uint64_t end) {
  const uint64_t want = (end + kAllocateChunk - 1) / kAllocateChunk * kAllocateChunk;
  if (want <= allocated_) return absl::OkStatus();
  if (want > map_bytes_) {
    return absl::ResourceExhaustedError(absl::StrCat("audit log ", path_, " has reached its largest size"));
  }
  const off_t from = static_cast<off_t>(allocated_), length = static_cast<off_t>(want - allocated_);
  int r;
  while ((r = ::fallocate(fd_, 0, from, length)) != 0 && errno == EINTR) {
  }
  // A file system without fallocate gets a sparse extension: space is then
  // taken when a page is first written.
  if (r != 0 && errno == EOPNOTSUPP) r = ::ftruncate(fd_, static_cast<off_t>(want));
  if (r != 0) return Errno("allocating space for the audit log", path_);
  allocated_ = want;
  return absl::OkStatus();
}

absl::Status AuditLog::Append(std::string_view bytes, PrefaultRange* ahead) {
  // Keep two windows of allocated space ahead of the end, so that the pages
  // Prefault touches are always inside the file.
  if (size_ + bytes.size() + 2 * kWindow > allocated_) {
    if (absl::Status s = Allocate(size_ + bytes.size() + kAllocateChunk); !s.ok()) return s;
  }
  CopyEntries(bytes, map_ + size_);
  const uint64_t before = size_;
  size_ += bytes.size();
  *ahead = {};
  if (before / kWindow != size_ / kWindow) {
    const uint64_t next = (size_ / kWindow + 1) * kWindow;
    *ahead = {map_ + next, static_cast<size_t>(std::min(kWindow, allocated_ - next))};
  }
  return absl::OkStatus();
}

void AuditLog::Prefault(PrefaultRange range) {
  if (range.length > 0) (void)::madvise(range.begin, range.length, MADV_POPULATE_WRITE);
}

absl::Status AuditLog::Sync() {
  // Covers the pages written through the mapping as well.
  if (::fdatasync(fd_) != 0) return Errno("syncing the audit log", path_);
  return absl::OkStatus();
}

}  // namespace empi::index
