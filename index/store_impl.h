// Copyright EMPI developers.
//
// store_impl.h: Store::Impl, and the constants and helpers the store's
// source files share. Private to them:
//   store.cc          open, group commit, reads, ChangeSet
//   store_audit.cc    the audit chain: log appends, checkpoints, recovery
//                     at open, verification
//   store_bulk.cc     bulk ingestion (SST files) and BulkLoad
//   store_upgrade.cc  format upgrades
#ifndef EMPI_INDEX_STORE_IMPL_H_
#define EMPI_INDEX_STORE_IMPL_H_

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <deque>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "empi/status_macros.h"
#include "index/audit_log.h"
#include "index/read_cache.h"
#include "index/store.h"
#include "rocksdb/cache.h"
#include "rocksdb/db.h"

namespace empi::index {

inline constexpr std::string_view kModelKey = "current";
inline constexpr std::string_view kNeverPrefix("never\0", 6);
inline constexpr std::string_view kPendingPrefix("pending\0", 8);
inline constexpr std::string_view kSupersedePrefix("supersede\0", 10);
// nhs_history values of a record: filed under the number from that change
// on (as its own, or as a relative's number: format version 10), or no
// longer.
inline constexpr std::string_view kNhsHeld("\1", 1);
inline constexpr std::string_view kNhsHeldAsRelatives("\2", 1);
inline constexpr std::string_view kNhsReleased("\0", 1);
// nhs_index values: the number is the record's own (empty, as before
// version 10), or a relative's.
inline constexpr std::string_view kNhsIndexRelatives("\1", 1);
// meta: change events not yet known to be in a synced audit log (pending id
// 8 bytes BE -> EncodeAuditValue with zero hashes), and how far the log is
// synced: sequence (8) + hash (32) + file offset (8).
inline constexpr std::string_view kMetaAuditPendingPrefix("audit_pending\0", 14);
inline constexpr std::string_view kMetaAuditSynced = "audit_synced";
// The chain head as of a change commit: sequence (8) + hash (32) + file
// offset (8), written in the commit's batch. Events up to it are in the log
// (the kernel holds what the mapping copied, whatever becomes of the
// process), so none of them may be missing or differ; only events after the
// latest anchor (or synced point) can be a crash's incomplete tail.
inline constexpr std::string_view kMetaAuditAnchor = "audit_anchor";
inline constexpr std::string_view kAuditLogFile = "audit.log";
// A checkpoint (sync the log, forget the pending events it holds) after this
// many change events.
inline constexpr uint64_t kPendingPerCheckpoint = 1024;
inline constexpr size_t kHashSize = 32;
// A group stops growing past this many bytes of changes, so one committer's
// latency is not held hostage by a queue of bulk batches.
inline constexpr size_t kMaxGroupBytes = 8 << 20;
// A read-write close flushes the memtables when they hold at least this
// much: replaying a write-ahead log this size takes about 10 ms.
inline constexpr uint64_t kMinCloseFlushBytes = 1 << 20;

// Debian's Abseil has its own string_view, which StrCat needs.
inline absl::string_view A(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// RocksDB's status as the codes engine/cli/command.h maps to exit codes:
// I/O errors (disk full, read-only file system, EIO) are Unavailable (74);
// the LOCK file held by another process, and RocksDB's own transient
// conditions, are Aborted (75: try again later).
inline absl::Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return absl::OkStatus();
  std::string msg = absl::StrCat(A(what), ": ", s.ToString());
  if (s.IsNotFound()) return absl::NotFoundError(msg);
  if (s.IsCorruption()) return absl::DataLossError(msg);
  if (s.IsInvalidArgument()) return absl::InvalidArgumentError(msg);
  if (s.IsNotSupported()) return absl::UnimplementedError(msg);
  if (s.IsBusy() || s.IsTimedOut() || s.IsTryAgain()) return absl::AbortedError(msg);
  if (s.IsIOError()) {
    // PosixFileSystem::LockFile: "While lock file: DIR/LOCK: Resource
    // temporarily unavailable" (flock held by another process), or "lock
    // hold by current process" (opened twice in one process).
    const std::string text = s.ToString();
    if (text.find("While lock file") != std::string::npos ||
        text.find("lock hold by current process") != std::string::npos) {
      return absl::AbortedError(absl::StrCat(A(what), ": the store is in use by another process (", text,
                                             "); run the command again when that one has finished"));
    }
    return absl::UnavailableError(msg);
  }
  return absl::InternalError(msg);
}

// This boot's id (/proc/sys/kernel/random/boot_id), empty if unknown (then
// no restart can be shown, and an anchor must be reached).
inline const std::string& BootId() {
  static const std::string id = [] {
    std::ifstream in("/proc/sys/kernel/random/boot_id");
    std::string s;
    std::getline(in, s);
    return s;
  }();
  return id;
}
inline std::string EncodeAnchor(uint64_t sequence, std::string_view hash, uint64_t offset) {
  return absl::StrCat(A(EncodeU64(sequence)), A(hash), A(EncodeU64(offset)), A(BootId()));
}
// Names a record in an error without its contents: source/record_id.
inline std::string RecordName(std::string_view record_key) {
  std::string_view source, id;
  if (!SplitRecordKey(record_key, &source, &id)) return "(malformed record key)";
  return absl::StrCat(A(source), "/", A(id));
}

// The smallest string greater than every string starting with `prefix`
// (empty when there is none: empty prefix or all bytes 0xff).
inline std::string PrefixSuccessor(std::string_view prefix) {
  std::string s(prefix);
  while (!s.empty() && static_cast<unsigned char>(s.back()) == 0xff) s.pop_back();
  if (!s.empty()) s.back() = static_cast<char>(static_cast<unsigned char>(s.back()) + 1);
  return s;
}

// Where BulkIngest writes its SST files before moving them into the
// database: inside the database directory, so that the move is a hard link.
inline std::string BulkDir(const std::string& db_path) { return db_path + "/bulk_ingest.tmp"; }

// How long a queued Commit polls for its turn before sleeping.
inline constexpr std::chrono::microseconds kWriterPollTime(100);

inline int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// ---------------------------------------------------------------------------
// Store::Impl

class Store::Impl {
 public:
  struct Writer {
    Writer(ChangeSet* c, const AuditEvent* e, bool s) : changes(c), event(e), sync(s) {}
    ChangeSet* changes;
    const AuditEvent* event;
    bool sync;
    bool done = false;
    absl::Status status;
    uint64_t sequence = 0;
    absl::CondVar cv;
    // Set with `done` or when the writer reaches the front: lets a waiting
    // writer poll without mu_ before it sleeps on cv.
    std::atomic<bool> ready{false};
  };

  ~Impl() {
    if (db_ == nullptr) return;
    StopCheckpointer();
    if (!options_.read_only && Failure().ok()) {
      if (absl::Status s = Checkpoint(/*closing=*/true); !s.ok()) {
        std::fprintf(stderr, "empi: closing the store: %s\n", std::string(s.message()).c_str());
      }
      // Leaves nothing for the next open to replay (an open replays the
      // whole write-ahead log into memtables, read-only opens included):
      // a link's 66,645 records took 3.3 s of replay on every later open.
      // Below kMinCloseFlushBytes the replay costs less than the flush and
      // the level-0 file it would add (a one-shot resolve or object).
      if (absl::Status s = MemtableBytes() >= kMinCloseFlushBytes ? FlushAll() : absl::OkStatus(); !s.ok()) {
        std::fprintf(stderr, "empi: closing the store: %s (nothing is lost: the write-ahead log holds it)\n",
                     std::string(s.message()).c_str());
      }
    }
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    if (default_handle_ != nullptr) db_->DestroyColumnFamilyHandle(default_handle_).PermitUncheckedError();
    db_->Close().PermitUncheckedError();
    delete db_;
  }

  absl::Status Open(const std::string& path, const StoreOptions& options);
  std::vector<rocksdb::ColumnFamilyDescriptor> ColumnFamilies(const StoreOptions& options) const;
  absl::Status OpenDb(const std::string& path, const StoreOptions& options, rocksdb::DBOptions* db_options,
                      std::vector<rocksdb::ColumnFamilyDescriptor> descriptors);
  absl::Status CheckFormatVersion();
  absl::Status LoadCounters();
  absl::Status Commit(ChangeSet* changes, const AuditEvent* event, bool sync, uint64_t* sequence);

  // The first failed write, sync or flush of this store (OK if none), and
  // Record(s), which keeps the first failure and returns s. After a
  // failure nothing else is written, synced or flushed (see
  // Store::SyncWal).
  absl::Status Failure() const {
    absl::MutexLock l(&failure_mu_);
    return failure_;
  }
  absl::Status Record(absl::Status s) {
    if (s.ok()) return s;
    absl::MutexLock l(&failure_mu_);
    if (failure_.ok()) {
      failure_ = absl::Status(s.code(), absl::StrCat(s.message(), " (after this failure the store takes no more ",
                                                     "writes until it is reopened)"));
    }
    return s;
  }
  absl::Status SyncWal() {
    EMPI_RETURN_IF_ERROR(Failure());
    return Record(FromRocks(db_->SyncWAL(), "syncing the write-ahead log"));
  }
  // Bytes in the memtables of all families (active and immutable).
  uint64_t MemtableBytes() const {
    uint64_t total = 0;
    for (auto* h : handles_) {
      uint64_t bytes = 0;
      if (db_->GetIntProperty(h, rocksdb::DB::Properties::kCurSizeAllMemTables, &bytes)) total += bytes;
    }
    return total;
  }
  // One atomic flush of every column family's memtable.
  absl::Status FlushAll() {
    EMPI_RETURN_IF_ERROR(Failure());
    rocksdb::FlushOptions fo;
    return Record(FromRocks(db_->Flush(fo, handles_), "flushing memtables"));
  }
  uint64_t AllocatePersonIds(uint64_t n) {
    absl::MutexLock l(&mu_);
    const uint64_t first = next_person_id_;
    next_person_id_ += n;
    return first;
  }

  absl::StatusOr<std::optional<std::string>> Get(Cf cf, std::string_view key, const rocksdb::Snapshot* snapshot) const {
    std::optional<std::string> out;
    EMPI_RETURN_IF_ERROR(Visit(cf, key, snapshot, [&](std::string_view value) {
                           out.emplace(value);
                           return absl::OkStatus();
                         }).status());
    return out;
  }

  // Passes the value of `key` to fn where RocksDB holds it (pinned, not
  // copied); false when the key is absent.
  template <typename Fn>
  absl::StatusOr<bool> Visit(Cf cf, std::string_view key, const rocksdb::Snapshot* snapshot, Fn&& fn) const {
    rocksdb::ReadOptions ro;
    ro.snapshot = snapshot;
    rocksdb::PinnableSlice value;
    rocksdb::Status s = db_->Get(ro, handle(cf), key, &value);
    if (s.IsNotFound()) return false;
    if (!s.ok()) return FromRocks(s, absl::StrCat("reading ", A(CfName(cf))));
    EMPI_RETURN_IF_ERROR(fn(value.ToStringView()));
    return true;
  }

  // The person id of a stored record, decoding nothing else.
  absl::StatusOr<std::optional<uint64_t>> PersonOfRecord(std::string_view record_key,
                                                         const rocksdb::Snapshot* snapshot) const {
    uint64_t person = 0;
    EMPI_ASSIGN_OR_RETURN(
        bool found, Visit(Cf::kRecords, record_key, snapshot, [&](std::string_view value) {
          if (DecodeRecordPersonId(value, &person)) return absl::OkStatus();
          return absl::DataLossError(absl::StrCat("records: value of ", RecordName(record_key), " does not decode"));
        }));
    if (!found) return std::nullopt;
    return person;
  }

  absl::StatusOr<std::optional<PersonView>> ReadPersonView(uint64_t person_id,
                                                           const rocksdb::Snapshot* snapshot) const {
    PersonView v;
    EMPI_ASSIGN_OR_RETURN(
        bool found, Visit(Cf::kPersonView, EncodeU64(person_id), snapshot, [&](std::string_view value) {
          if (DecodePersonView(value, &v)) return absl::OkStatus();
          return absl::DataLossError(absl::StrCat("person_view: value of person ", person_id, " does not decode"));
        }));
    if (!found) return std::nullopt;
    return v;
  }

  // Visits keys of `cf` starting with `prefix` (all keys if empty), with the
  // prefix removed, in key order, until fn returns false.
  // Visits the keys of `cf` starting with `prefix` in order, from the first
  // at or after `from` (which starts with `prefix`) when `from` is given.
  absl::Status Scan(Cf cf, std::string_view prefix, const rocksdb::Snapshot* snapshot,
                    const std::function<bool(std::string_view key, std::string_view value)>& fn,
                    std::string_view from = {}) const {
    rocksdb::ReadOptions ro;
    ro.snapshot = snapshot;
    // A prefix seek on a family with a prefix extractor uses its prefix
    // blooms; anything else must see the whole family in order.
    ro.total_order_seek = true;
    if (!prefix.empty() && (cf == Cf::kPersonRecords || cf == Cf::kNhsIndex || cf == Cf::kBlockKeys)) {
      ro.total_order_seek = false;
      ro.prefix_same_as_start = true;
    }
    // The iterator stops at the end of the prefix instead of stepping onto
    // (and loading the block of) the next key to find out it is past it.
    const std::string upper = PrefixSuccessor(prefix);
    rocksdb::Slice upper_slice(upper);
    if (!upper.empty()) ro.iterate_upper_bound = &upper_slice;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, handle(cf)));
    const std::string_view start = from.empty() ? prefix : from;
    for (it->Seek(rocksdb::Slice(start.data(), start.size())); it->Valid(); it->Next()) {
      std::string_view key = it->key().ToStringView();
      if (key.substr(0, prefix.size()) != prefix) break;
      if (!fn(key.substr(prefix.size()), it->value().ToStringView())) return absl::OkStatus();
    }
    return FromRocks(it->status(), absl::StrCat("scanning ", A(CfName(cf))));
  }

  // Reads `keys` of `cf` with one MultiGet at `snapshot` and calls
  // fn(i, value) for each key i that exists, in order.
  absl::Status MultiGet(Cf cf, const std::vector<std::string>& keys, const rocksdb::Snapshot* snapshot,
                        const std::function<absl::Status(size_t i, std::string_view value)>& fn) const {
    rocksdb::ReadOptions ro;
    ro.snapshot = snapshot;
    std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
    std::vector<rocksdb::PinnableSlice> values(keys.size());
    std::vector<rocksdb::Status> statuses(keys.size());
    db_->MultiGet(ro, handle(cf), keys.size(), slices.data(), values.data(), statuses.data());
    for (size_t i = 0; i < keys.size(); ++i) {
      if (statuses[i].IsNotFound()) continue;
      if (!statuses[i].ok()) return FromRocks(statuses[i], absl::StrCat("reading ", A(CfName(cf))));
      EMPI_RETURN_IF_ERROR(fn(i, values[i].ToStringView()));
    }
    return absl::OkStatus();
  }

  absl::Status VerifyAuditChain(uint64_t* events_checked, uint64_t* incomplete_tail_bytes) const;
  std::string AuditLogPath() const { return absl::StrCat(path_, "/", A(kAuditLogFile)); }
  // Every audit event, the audit family's then the log's, in order, until fn
  // returns false. The log's are read up to its first incomplete entry.
  absl::Status ForEachAuditEvent(const std::function<bool(const StoredAuditEvent&)>& fn) const;
  // Chains `events` (each with its pending id, 0 for none) onto the trail
  // in order and appends them to the log; sets their sequence numbers.
  // Events must have their time set.
  struct Chained {
    const AuditEvent* event;
    uint64_t pending_id;
    uint64_t sequence = 0;
  };
  absl::Status AppendEvents(std::vector<Chained>* events, bool sync);
  // Syncs the log, then forgets the pending events it holds and records how
  // far it is synced.
  // `closing`: the last one before the store closes.
  absl::Status Checkpoint(bool closing = false);
  // Checkpoints that fall due while events are appended run on a thread of
  // their own: syncing the megabytes of read events written since the last
  // one takes tens of milliseconds, which must not land on the change whose
  // event made it due. Until then that change's event stays pending in
  // RocksDB too, so nothing waits on it.
  void StartCheckpointer();
  void StopCheckpointer();
  void WantCheckpoint();
  // Fills person_view from persons and records, then writes format version
  // 2. Idempotent: a crash part way leaves version 1, and the next open
  // starts again from an emptied person_view.
  absl::Status UpgradeFromVersion1();
  absl::Status UpgradeToVersion4();
  absl::Status UpgradeToVersion7();
  absl::Status UpgradeToVersion9();
  // An upgrade's writes in batches (store_upgrade.cc).
  class UpgradeBatches;
  // The last change before an upgrade, where the histories it seeds begin.
  absl::StatusOr<uint64_t> LastChangeBeforeUpgrade();
  absl::Status CompactPersonView();
  absl::StatusOr<int> Compact();
  absl::StatusOr<uint64_t> WarmCache();
  uint64_t BlockCacheUsage() const { return cache_->GetUsage(); }
  // A full compaction of `cf` into its bottom level.
  absl::Status CompactFamily(Cf cf);
  // Compacts each family for which `needs` is true; returns how many.
  absl::StatusOr<int> CompactFamiliesWhere(const std::function<bool(Cf)>& needs);
  // Sorted runs of `cf` on disk: files of level 0 plus non-empty levels.
  int SortedRuns(Cf cf) const;
  int Level0Files(Cf cf) const;
  absl::Status BulkIngest(const std::vector<ChangeSet>& sets, BulkIngestStats* stats);
  using BulkFiles = std::array<std::vector<std::string>, kNumCfs>;
  // Sorts `sets` into SST files in `dir` named after `round`, appending
  // their paths to *files per family; full takes deletes and the counter.
  absl::Status BulkWriteRound(const std::vector<ChangeSet>& sets, bool full, const std::string& dir,
                              const std::string& round, BulkFiles* files, BulkIngestStats* stats);
  absl::Status BulkIngestFiles(const BulkFiles& files);

  rocksdb::ColumnFamilyHandle* handle(Cf cf) const { return handles_[static_cast<size_t>(cf)]; }

  rocksdb::DB* db_ = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // indexed by Cf
  std::unique_ptr<ReadCache> read_cache_;
  StoreOptions options_;
  std::string path_;

 private:
  // Writes the group's change sets as one batch, with the pending audit
  // `events`, the person-id counter (if not 0) and the group's changes
  // numbered from `first_change`.
  absl::Status WriteGroup(const std::vector<Writer*>& group, const std::vector<Chained>& events,
                          uint64_t next_person_id, uint64_t first_change);
  // db_->Write, then the read cache forgets what the batch wrote: every
  // commit path writes through here, so no acknowledged write leaves a
  // stale cached value behind. `batch` uses real column family ids.
  absl::Status Write(const rocksdb::WriteOptions& wo, rocksdb::WriteBatch* batch);
  // Reads the keys a write took out of the read cache and fills them again.
  void RefreshCache(const ReadCache::Keys& keys);
  // Open: the chain head of the audit family and of the log; truncates an
  // incomplete log tail and chains pending events a crash left unchained.
  absl::Status OpenAuditTrail();

  rocksdb::ColumnFamilyHandle* default_handle_ = nullptr;
  std::shared_ptr<rocksdb::Cache> cache_;
  // For replaying change sets: real handles by real id, and by logical id.
  std::vector<rocksdb::ColumnFamilyHandle*> by_real_id_, by_logical_id_;
  bool logical_ids_match_ = true;  // real id == Cf + 1 for every family
  // Cf index (or -1) by column family id, for real and logical handles.
  std::vector<int> cf_of_real_id_, cf_of_logical_id_;

  absl::Mutex mu_;
  std::deque<Writer*> writers_ ABSL_GUARDED_BY(mu_);
  uint64_t next_person_id_ ABSL_GUARDED_BY(mu_) = 1;
  // Touched only by the current leader (the writer at writers_.front()),
  // which is what serialises access; held under mu_ for simplicity.
  uint64_t persisted_next_person_id_ ABSL_GUARDED_BY(mu_) = 1;
  // Pending ids are handed out by the queue's leader, one at a time.
  uint64_t next_pending_id_ ABSL_GUARDED_BY(mu_) = 1;
  // The next change's sequence: handed out by the queue's leader for its
  // group, or by a bulk load for its rounds. From a load's first numbered
  // round until it ends, bulk_changes_ is true and commits carrying changes
  // are refused.
  uint64_t next_change_ ABSL_GUARDED_BY(mu_) = 1;
  bool bulk_changes_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t bulk_first_change_ ABSL_GUARDED_BY(mu_) = 0;

 public:
  // The last change visible to readers, and a condition for long polls.
  mutable absl::Mutex change_mu_;
  uint64_t last_change_ ABSL_GUARDED_BY(change_mu_) = 0;
  // The history of `c` (ChangeSet::has_history) as of change `change`,
  // into `out`.
  rocksdb::Status AddHistory(const ChangeSet& c, uint64_t change, rocksdb::WriteBatch* out) {
    for (const auto& [person, op] : c.view_ops_) {
      rocksdb::Status s = out->Merge(handle(Cf::kViewHistory), HistoryKey(person, change), op);
      if (!s.ok()) return s;
    }
    for (const auto& [key, person] : c.record_persons_) {
      rocksdb::Status s = out->Put(handle(Cf::kRecordHistory), RecordHistoryKey(key, change), EncodeU64(person));
      if (!s.ok()) return s;
    }
    for (const auto& [key, value] : c.nhs_ops_) {
      rocksdb::Status s = out->Put(handle(Cf::kNhsHistory), absl::StrCat(A(key), A(EncodeU64(change))), value);
      if (!s.ok()) return s;
    }
    return rocksdb::Status::OK();
  }
  uint64_t NextChange() {
    absl::MutexLock l(&mu_);
    return next_change_;
  }
  // Into `out`: the changes of `sets`, numbered in order from `first`, and
  // each set's history as of its last change. Returns the next number.
  uint64_t NumberChanges(const std::vector<ChangeSet>& sets, uint64_t first, ChangeSet* out) {
    uint64_t sequence = first;
    for (const ChangeSet& c : sets) {
      for (const std::string& change : c.changes_) {
        out->batch_.Put(handle(Cf::kChanges), EncodeU64(sequence++), change).PermitUncheckedError();
      }
      AddHistory(c, sequence - 1, &out->batch_).PermitUncheckedError();
    }
    return sequence;
  }
  // A seqlock over what readers see: odd while a write that changes views or
  // records' persons is being applied and its changes published
  // (Store::ReadAtChange).
  void BeginStateChange() { state_epoch_.fetch_add(1, std::memory_order_acq_rel); }
  void EndStateChange() { state_epoch_.fetch_add(1, std::memory_order_acq_rel); }
  std::atomic<uint64_t> state_epoch_{0};
  uint64_t history_from_ = 0;      // meta history_from, read at open
  uint64_t nhs_history_from_ = 0;  // meta nhs_history_from, read at open

  void PublishChanges(uint64_t last) {
    absl::MutexLock l(&change_mu_);
    if (last > last_change_) last_change_ = last;
  }
  // A bulk load's round takes the n sequences from the one returned on;
  // from its first round until EndBulkChanges, commits carrying changes are
  // refused (their numbers would become visible before the load's).
  uint64_t ReserveBulkChanges(uint64_t n) {
    absl::MutexLock l(&mu_);
    if (!bulk_changes_) {
      bulk_changes_ = true;
      bulk_first_change_ = next_change_;
    }
    const uint64_t first = next_change_;
    next_change_ += n;
    return first;
  }
  // Ends a bulk load's hold on the feed: published if it was ingested,
  // given back otherwise.
  void EndBulkChanges(bool ingested) {
    uint64_t last = 0;
    {
      absl::MutexLock l(&mu_);
      if (!bulk_changes_) return;
      bulk_changes_ = false;
      if (!ingested) next_change_ = bulk_first_change_;
      last = next_change_ - 1;
    }
    if (ingested) PublishChanges(last);
  }

 private:
  // The chain: appends are ordered by chain_mu_ alone, so a read's event
  // never waits for a change batch to be written.
  absl::Mutex chain_mu_ ABSL_ACQUIRED_AFTER(mu_);
  std::unique_ptr<AuditLog> audit_log_ ABSL_GUARDED_BY(chain_mu_);
  uint64_t last_sequence_ ABSL_GUARDED_BY(chain_mu_) = 0;
  std::string last_hash_ ABSL_GUARDED_BY(chain_mu_) = std::string(kHashSize, '\0');
  uint64_t chained_pending_ ABSL_GUARDED_BY(chain_mu_) = 0;  // highest pending id chained
  uint64_t pending_since_checkpoint_ ABSL_GUARDED_BY(chain_mu_) = 0;
  uint64_t anchored_sequence_ ABSL_GUARDED_BY(chain_mu_) = 0;  // last anchor written
  absl::Mutex checkpoint_mu_ ABSL_ACQUIRED_BEFORE(chain_mu_);
  absl::Mutex checkpointer_mu_;
  absl::CondVar checkpointer_cv_;
  bool checkpoint_wanted_ ABSL_GUARDED_BY(checkpointer_mu_) = false;
  bool checkpointer_stopping_ ABSL_GUARDED_BY(checkpointer_mu_) = false;
  std::thread checkpointer_;
  uint64_t checkpointed_pending_ ABSL_GUARDED_BY(checkpoint_mu_) = 0;  // pending ids <= this are forgotten
  mutable absl::Mutex failure_mu_;
  absl::Status failure_ ABSL_GUARDED_BY(failure_mu_);

 public:
  // Set by OpenAuditTrail when it quarantined a damaged log.
  std::optional<AuditQuarantine> quarantine_;
};

}  // namespace empi::index

#endif  // EMPI_INDEX_STORE_IMPL_H_
