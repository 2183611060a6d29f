// Copyright EMPI developers.
//
// audit_log.h: the audit trail's append-only file, `audit.log` in the store
// directory (format version 3). Each entry is one hash-chained audit event,
// chained exactly as the events of the `audit` column family, which holds the
// events written before version 3; the file continues that chain.
//
// Why a file of its own: every read (resolve, view decision, search) appends
// an event before it answers. A RocksDB write costs 5 us back to back and
// 37 us p50 on a thread waking from idle on the shared 2-core machine, and
// queues behind the writer's change batches; a pwrite of one entry costs
// 0.3 us and 2 us (docs/benchmarks.md). Written, not synced: a process crash
// loses nothing (the kernel holds the page); a machine crash can lose the
// unsynced tail, which Store truncates at the first incomplete entry. Change
// events are also stored, atomically with their change, as pending events in
// RocksDB, so an acknowledged change never loses its event (store.cc).
//
// Entry: u32 big-endian length of what follows, u64 big-endian pending id (0
// for events that had none), u64 big-endian sequence, EncodeAuditValue.
// Not thread-safe: Store serialises appends under its chain mutex.
#ifndef EMPI_INDEX_AUDIT_LOG_H_
#define EMPI_INDEX_AUDIT_LOG_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "index/store.h"

namespace empi::index {

class AuditLog {
 public:
  struct Entry {
    uint64_t pending_id = 0;
    StoredAuditEvent event;
    uint64_t end = 0;  // file offset just past the entry
  };

  static std::string EncodeEntry(uint64_t pending_id, const StoredAuditEvent& e);

  // Visits the entries from `offset` on, in order, until fn returns false or
  // the file ends. An entry that is incomplete or does not decode ends the
  // visit too. *valid_end: the end of the last entry fn accepted (returned
  // true for). A missing file has no entries.
  static absl::Status Read(const std::string& path, uint64_t offset, const std::function<bool(const Entry&)>& fn,
                           uint64_t* valid_end);

  // Opens (creating) the file for appending after its first `size` bytes;
  // anything beyond them (an incomplete tail) is cut off.
  static absl::StatusOr<std::unique_ptr<AuditLog>> Open(const std::string& path, uint64_t size);
  ~AuditLog();

  // Appends `bytes` (whole entries) at the end. On failure the end does not
  // move, so a retry overwrites whatever part was written.
  absl::Status Append(std::string_view bytes);
  absl::Status Sync();  // fdatasync
  uint64_t size() const { return size_; }

 private:
  AuditLog(std::string path, int fd, uint64_t size) : path_(std::move(path)), fd_(fd), size_(size) {}
  std::string path_;
  int fd_;
  uint64_t size_;
};

}  // namespace empi::index

#endif  // EMPI_INDEX_AUDIT_LOG_H_
