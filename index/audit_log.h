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
// queues behind the writer's change batches. Written, not synced: a process
// crash loses nothing (the kernel holds the page); a machine crash can lose
// the unsynced tail, which Store truncates at the first incomplete entry.
// Change events are also stored, atomically with their change, as pending
// events in RocksDB, so an acknowledged change never loses its event
// (store.cc).
//
// Appending is a copy into a shared mapping of the file, not a system call:
// appends are serialised by the store's chain mutex, and a thread that is
// descheduled while holding it stalls every reader, so the critical section
// holds no system call and, normally, no page fault. Space is allocated
// (fallocate) in chunks ahead of the end, so a full disk is an error from
// Append, never a SIGBUS; the pages ahead are faulted in writable by the
// appender that crosses into a new window, after it has let go of the mutex
// (Prefault). The file therefore ends in zeros while open or after a crash;
// a zero length ends the entries, and a clean close truncates the padding.
//
// Entry: u32 big-endian length of what follows, u64 big-endian pending id (0
// for events that had none), u64 big-endian sequence, EncodeAuditValue
// (version byte, previous hash, hash, EncodeAuditBody).
// Not thread-safe except Prefault: Store serialises appends under its chain
// mutex.
#ifndef EMPI_INDEX_AUDIT_LOG_H_
#define EMPI_INDEX_AUDIT_LOG_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
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
  // An entry for `event` with sequence and hashes left zero, for Chain to
  // fill in: the encoding is done before taking the chain mutex.
  static std::string EncodeUnchained(uint64_t pending_id, const AuditEvent& event);
  // Sets the sequence and the hash chain of an EncodeUnchained entry;
  // returns the entry's hash (a view into `entry`), empty if SHA-256 failed.
  static std::string_view Chain(std::span<char> entry, uint64_t sequence, std::string_view prev_hash);

  // Visits the entries from `offset` on, in order, until fn returns false or
  // the file ends. An entry that is incomplete or does not decode ends the
  // visit too, as does the zero padding after the last entry. *valid_end:
  // the end of the last entry fn accepted (returned true for); *garbage
  // (optional): how many bytes after *valid_end are not zero. A missing file
  // has no entries.
  static absl::Status Read(const std::string& path, uint64_t offset, const std::function<bool(const Entry&)>& fn,
                           uint64_t* valid_end, uint64_t* garbage = nullptr);

  // What follows the last good entry of a log (at `offset`, where Read
  // stopped), as RecoverTail judges it.
  struct Tail {
    enum class Kind {
      kEnd,         // nothing but zeros (space allocated ahead) or the file's end
      kIncomplete,  // one entry whose writing stopped part way, and nothing
                    // after it: its length still zero (Append writes it
                    // last; a process killed while copying the entry), or
                    // its non-zero bytes ending before the end its length
                    // announces (a machine crash before its later pages
                    // were written).
      kDamaged,     // anything else: a complete entry that does not decode,
                    // or bytes after an entry's end. Not a crash's doing.
    };
    Kind kind = Kind::kEnd;
    uint64_t bytes = 0;  // from `offset` to the last non-zero byte
  };
  static absl::StatusOr<Tail> ReadTail(const std::string& path, uint64_t offset);

  // Copies bytes [offset, offset + length) of the log at `path` to a new
  // file `to` (failing if it exists) and syncs it and its directory.
  static absl::Status CopyRange(const std::string& path, uint64_t offset, uint64_t length, const std::string& to);

  // Opens (creating) the file for appending after its first `size` bytes;
  // anything beyond them (an incomplete tail, padding) is cut off.
  static absl::StatusOr<std::unique_ptr<AuditLog>> Open(const std::string& path, uint64_t size);
  // Truncates the padding: a closed log ends with its last entry.
  ~AuditLog();

  // A range of the mapping to fault in writable; empty if none.
  struct PrefaultRange {
    char* begin = nullptr;
    size_t length = 0;
  };
  // Appends `bytes` (whole entries) at the end, each entry's length written
  // after the rest of it. On failure the end does not move. *ahead: pages the caller should Prefault once it has
  // released the mutex that serialises appends.
  absl::Status Append(std::string_view bytes, PrefaultRange* ahead);
  // Thread-safe; best effort (a failure only means the fault happens in
  // Append instead).
  static void Prefault(PrefaultRange range);
  absl::Status Sync();  // fdatasync
  uint64_t size() const { return size_; }

 private:
  AuditLog(std::string path, int fd, char* map, uint64_t map_bytes, uint64_t size)
      : path_(std::move(path)), fd_(fd), map_(map), map_bytes_(map_bytes), size_(size), allocated_(size) {}
  // Allocates file space for at least `end` bytes.
  absl::Status Allocate(uint64_t end);
  std::string path_;
  int fd_;
  char* map_;  // map_bytes_ of address space over the file
  uint64_t map_bytes_;
  uint64_t size_;       // end of the last entry
  uint64_t allocated_;  // file size: entries, then zeros
};

}  // namespace empi::index

#endif  // EMPI_INDEX_AUDIT_LOG_H_
