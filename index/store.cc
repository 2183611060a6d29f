// Copyright EMPI developers.
//
// store.cc: Store (open, group commit, reads, audit verification) and
// ChangeSet. Encodings live in codec.cc and audit.cc.
//
// Group commit follows leveldb's DBImpl::Write: committers queue; the one at
// the front (the leader) takes every queued ChangeSet, chains their audit
// events in queue order, merges everything into one WriteBatch and writes it
// with one WAL sync, then wakes the others with the shared result. One
// WriteBatch per group keeps each group atomic, so the audit trail on disk is
// always a prefix of the chain the leaders built.
#include "index/store.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "empi/status_macros.h"
#include "index/audit_log.h"
#include "index/info_log.h"
#include "index/read_cache.h"
#include "rocksdb/cache.h"
#include "rocksdb/convenience.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/merge_operator.h"
#include "rocksdb/slice_transform.h"
#include "rocksdb/sst_file_writer.h"
#include "rocksdb/table.h"
#include "tbb/blocked_range.h"
#include "tbb/parallel_for.h"
#include "tbb/parallel_sort.h"
#include "tbb/partitioner.h"

namespace empi::index {
namespace {

constexpr std::string_view kModelKey = "current";
constexpr std::string_view kNeverPrefix("never\0", 6);
constexpr std::string_view kPendingPrefix("pending\0", 8);
constexpr std::string_view kSupersedePrefix("supersede\0", 10);
// meta: change events not yet known to be in a synced audit log (pending id
// 8 bytes BE -> EncodeAuditValue with zero hashes), and how far the log is
// synced: sequence (8) + hash (32) + file offset (8).
constexpr std::string_view kMetaAuditPendingPrefix("audit_pending\0", 14);
constexpr std::string_view kMetaAuditSynced = "audit_synced";
// The chain head as of a change commit: sequence (8) + hash (32) + file
// offset (8), written in the commit's batch. Events up to it are in the log
// (the kernel holds what the mapping copied, whatever becomes of the
// process), so none of them may be missing or differ; only events after the
// latest anchor (or synced point) can be a crash's incomplete tail.
constexpr std::string_view kMetaAuditAnchor = "audit_anchor";
constexpr std::string_view kAuditLogFile = "audit.log";
// A checkpoint (sync the log, forget the pending events it holds) after this
// many change events.
constexpr uint64_t kPendingPerCheckpoint = 1024;
constexpr size_t kHashSize = 32;
// A group stops growing past this many bytes of changes, so one committer's
// latency is not held hostage by a queue of bulk batches.
constexpr size_t kMaxGroupBytes = 8 << 20;
// A read-write close flushes the memtables when they hold at least this
// much: replaying a write-ahead log this size takes about 10 ms.
constexpr uint64_t kMinCloseFlushBytes = 1 << 20;

// Debian's Abseil has its own string_view, which StrCat needs.
absl::string_view A(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// RocksDB's status as the codes engine/cli/command.h maps to exit codes:
// I/O errors (disk full, read-only file system, EIO) are Unavailable (74);
// the LOCK file held by another process, and RocksDB's own transient
// conditions, are Aborted (75: try again later).
absl::Status FromRocks(const rocksdb::Status& s, std::string_view what) {
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
const std::string& BootId() {
  static const std::string id = [] {
    std::ifstream in("/proc/sys/kernel/random/boot_id");
    std::string s;
    std::getline(in, s);
    return s;
  }();
  return id;
}
std::string EncodeAnchor(uint64_t sequence, std::string_view hash, uint64_t offset) {
  return absl::StrCat(A(EncodeU64(sequence)), A(hash), A(EncodeU64(offset)), A(BootId()));
}
// Names a record in an error without its contents: source/record_id.
std::string RecordName(std::string_view record_key) {
  std::string_view source, id;
  if (!SplitRecordKey(record_key, &source, &id)) return "(malformed record key)";
  return absl::StrCat(A(source), "/", A(id));
}

// The smallest string greater than every string starting with `prefix`
// (empty when there is none: empty prefix or all bytes 0xff).
std::string PrefixSuccessor(std::string_view prefix) {
  std::string s(prefix);
  while (!s.empty() && static_cast<unsigned char>(s.back()) == 0xff) s.pop_back();
  if (!s.empty()) s.back() = static_cast<char>(static_cast<unsigned char>(s.back()) + 1);
  return s;
}

// Where BulkIngest writes its SST files before moving them into the
// database: inside the database directory, so that the move is a hard link.
std::string BulkDir(const std::string& db_path) { return db_path + "/bulk_ingest.tmp"; }

// How long a queued Commit polls for its turn before sleeping.
constexpr std::chrono::microseconds kWriterPollTime(100);

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Column family handles with fixed ids (Cf value + 1, the ids RocksDB gives
// the families when Open creates them in Cf order). They let a
// default-constructed ChangeSet address families before it meets a Store;
// Commit maps the ids onto the real handles.
class LogicalHandle : public rocksdb::ColumnFamilyHandle {
 public:
  explicit LogicalHandle(int i) : name_(CfName(static_cast<Cf>(i))), id_(static_cast<uint32_t>(i) + 1) {}
  const std::string& GetName() const override { return name_; }
  uint32_t GetID() const override { return id_; }
  rocksdb::Status GetDescriptor(rocksdb::ColumnFamilyDescriptor*) override {
    return rocksdb::Status::NotSupported("logical column family handle");
  }
  const rocksdb::Comparator* GetComparator() const override { return rocksdb::BytewiseComparator(); }

 private:
  std::string name_;
  uint32_t id_;
};

rocksdb::ColumnFamilyHandle* LogicalHandleFor(Cf cf) {
  static const std::vector<LogicalHandle>* handles = [] {
    auto* v = new std::vector<LogicalHandle>();
    for (int i = 0; i < kNumCfs; ++i) v->emplace_back(i);
    return v;
  }();
  return const_cast<LogicalHandle*>(&(*handles)[static_cast<size_t>(cf)]);
}

// Block keys are grouped by rule byte + blocking key + NUL: the prefix a
// BlockMembers() seek covers. Blocking keys must not contain NUL.
class BlockKeyPrefix : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "empi.BlockKeyPrefix.1"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    const void* nul = memchr(key.data() + 1, '\0', key.size() - 1);
    return rocksdb::Slice(key.data(), static_cast<const char*>(nul) - key.data() + 1);
  }
  bool InDomain(const rocksdb::Slice& key) const override {
    return key.size() >= 2 && memchr(key.data() + 1, '\0', key.size() - 1) != nullptr;
  }
};

// Copies a batch's operations into `out`, mapping column family ids through
// `by_id` (index = id in the source batch).
class Replayer : public rocksdb::WriteBatch::Handler {
 public:
  Replayer(rocksdb::WriteBatch* out, const std::vector<rocksdb::ColumnFamilyHandle*>* by_id)
      : out_(out), by_id_(by_id) {}
  rocksdb::Status PutCF(uint32_t id, const rocksdb::Slice& k, const rocksdb::Slice& v) override {
    auto* h = Lookup(id);
    return h ? out_->Put(h, k, v) : Unknown(id);
  }
  rocksdb::Status DeleteCF(uint32_t id, const rocksdb::Slice& k) override {
    auto* h = Lookup(id);
    return h ? out_->Delete(h, k) : Unknown(id);
  }
  rocksdb::Status SingleDeleteCF(uint32_t id, const rocksdb::Slice& k) override {
    auto* h = Lookup(id);
    return h ? out_->SingleDelete(h, k) : Unknown(id);
  }
  rocksdb::Status DeleteRangeCF(uint32_t id, const rocksdb::Slice& b, const rocksdb::Slice& e) override {
    auto* h = Lookup(id);
    return h ? out_->DeleteRange(h, b, e) : Unknown(id);
  }
  rocksdb::Status MergeCF(uint32_t id, const rocksdb::Slice& k, const rocksdb::Slice& v) override {
    auto* h = Lookup(id);
    return h ? out_->Merge(h, k, v) : Unknown(id);
  }
  void LogData(const rocksdb::Slice& blob) override { out_->PutLogData(blob); }

 private:
  rocksdb::ColumnFamilyHandle* Lookup(uint32_t id) const { return id < by_id_->size() ? (*by_id_)[id] : nullptr; }
  static rocksdb::Status Unknown(uint32_t id) {
    return rocksdb::Status::InvalidArgument(absl::StrCat("change set names unknown column family id ", id));
  }
  rocksdb::WriteBatch* out_;
  const std::vector<rocksdb::ColumnFamilyHandle*>* by_id_;
};

// Collects the keys a committed batch wrote in the families the read cache
// holds: record keys of `records`, person ids of `person_view`. A range
// delete in either (never issued today) forgets everything.
class CacheInvalidation : public rocksdb::WriteBatch::Handler {
 public:
  explicit CacheInvalidation(const std::vector<int>* cf_of_id) : cf_of_id_(cf_of_id) {}
  rocksdb::Status PutCF(uint32_t id, const rocksdb::Slice& k, const rocksdb::Slice&) override { return Key(id, k); }
  rocksdb::Status DeleteCF(uint32_t id, const rocksdb::Slice& k) override { return Key(id, k); }
  rocksdb::Status SingleDeleteCF(uint32_t id, const rocksdb::Slice& k) override { return Key(id, k); }
  rocksdb::Status MergeCF(uint32_t id, const rocksdb::Slice& k, const rocksdb::Slice&) override { return Key(id, k); }
  rocksdb::Status DeleteRangeCF(uint32_t id, const rocksdb::Slice&, const rocksdb::Slice&) override {
    const Cf cf = CfOf(id);
    if (cf == Cf::kRecords || cf == Cf::kPersonView) everything = true;
    return rocksdb::Status::OK();
  }
  void LogData(const rocksdb::Slice&) override {}

  std::vector<std::string> record_keys;
  std::vector<uint64_t> person_ids;
  bool everything = false;

 private:
  Cf CfOf(uint32_t id) const {
    return id < cf_of_id_->size() && (*cf_of_id_)[id] >= 0 ? static_cast<Cf>((*cf_of_id_)[id]) : Cf::kMeta;
  }
  rocksdb::Status Key(uint32_t id, const rocksdb::Slice& k) {
    const Cf cf = CfOf(id);
    if (cf == Cf::kRecords) {
      record_keys.emplace_back(k.ToStringView());
    } else if (cf == Cf::kPersonView) {
      if (k.size() == 8) {
        person_ids.push_back(DecodeU64(k.ToStringView()));
      } else {
        everything = true;
      }
    }
    return rocksdb::Status::OK();
  }
  const std::vector<int>* cf_of_id_;
};

// person_view's merge operator: operands are op sequences
// (ApplyPersonViewOps), so partial merges concatenate them.
class PersonViewMerge : public rocksdb::MergeOperator {
 public:
  const char* Name() const override { return "empi.PersonViewMerge.1"; }
  bool FullMergeV2(const MergeOperationInput& in, MergeOperationOutput* out) const override {
    PersonView view;
    if (in.existing_value != nullptr && !DecodePersonView(in.existing_value->ToStringView(), &view)) return false;
    for (const rocksdb::Slice& op : in.operand_list) {
      if (!ApplyPersonViewOps(op.ToStringView(), &view)) return false;
    }
    out->new_value = EncodePersonView(view);
    return true;
  }
  bool PartialMergeMulti(const rocksdb::Slice&, const std::deque<rocksdb::Slice>& operands, std::string* out,
                         rocksdb::Logger*) const override {
    out->clear();
    for (const rocksdb::Slice& op : operands) out->append(op.data(), op.size());
    return true;
  }
};

// view_history: a key's operands are person_view ops, kept as they are,
// concatenated in order (folded only when read, by PersonViewAt).
class ConcatMerge : public rocksdb::AssociativeMergeOperator {
 public:
  const char* Name() const override { return "empi.ConcatMerge.1"; }
  bool Merge(const rocksdb::Slice&, const rocksdb::Slice* existing, const rocksdb::Slice& value, std::string* out,
             rocksdb::Logger*) const override {
    out->clear();
    if (existing != nullptr) out->assign(existing->data(), existing->size());
    out->append(value.data(), value.size());
    return true;
  }
};

}  // namespace

// ---------------------------------------------------------------------------
// ChangeSet

rocksdb::ColumnFamilyHandle* ChangeSet::Handle(Cf cf) {
  return cfs_.empty() ? LogicalHandleFor(cf) : cfs_[static_cast<size_t>(cf)];
}

// WriteBatch::Put/Delete fail only on oversized (>4 GiB) keys or batches,
// which no EMPI change approaches; their status is deliberately dropped.
void ChangeSet::PutRecord(const StoredRecord& r) {
  std::string key = r.record.Key();
  batch_.Put(Handle(Cf::kRecords), key, EncodeRecordValue(r)).PermitUncheckedError();
  if (r.person_id != 0) {
    std::string op = PersonViewMemberOp(r);
    batch_.Merge(Handle(Cf::kPersonView), EncodeU64(r.person_id), op).PermitUncheckedError();
    view_ops_.emplace_back(r.person_id, std::move(op));
  }
  record_persons_.emplace_back(std::move(key), r.person_id);
}
void ChangeSet::DeleteRecord(std::string_view record_key) {
  batch_.Delete(Handle(Cf::kRecords), record_key).PermitUncheckedError();
  record_persons_.emplace_back(std::string(record_key), 0);
}
void ChangeSet::AddMembership(uint64_t person_id, std::string_view record_key) {
  batch_.Put(Handle(Cf::kPersonRecords), PersonRecordKey(person_id, record_key), "").PermitUncheckedError();
}
void ChangeSet::RemoveMembership(uint64_t person_id, std::string_view record_key) {
  batch_.Delete(Handle(Cf::kPersonRecords), PersonRecordKey(person_id, record_key)).PermitUncheckedError();
  std::string op = PersonViewRemoveOp(record_key);
  batch_.Merge(Handle(Cf::kPersonView), EncodeU64(person_id), op).PermitUncheckedError();
  view_ops_.emplace_back(person_id, std::move(op));
}
void ChangeSet::PutPerson(uint64_t person_id, const PersonValue& p) {
  const std::string key = EncodeU64(person_id);
  batch_.Put(Handle(Cf::kPersons), key, EncodePersonValue(p)).PermitUncheckedError();
  std::string op = PersonViewPersonOp(p);
  batch_.Merge(Handle(Cf::kPersonView), key, op).PermitUncheckedError();
  view_ops_.emplace_back(person_id, std::move(op));
}
void ChangeSet::DeletePerson(uint64_t person_id) {
  const std::string key = EncodeU64(person_id);
  batch_.Delete(Handle(Cf::kPersons), key).PermitUncheckedError();
  batch_.Delete(Handle(Cf::kPersonView), key).PermitUncheckedError();
  view_ops_.emplace_back(person_id, PersonViewSetOp({}));
}
void ChangeSet::PutBlockKey(uint8_t rule, std::string_view blocking_key, std::string_view record_key) {
  batch_.Put(Handle(Cf::kBlockKeys), BlockKey(rule, blocking_key, record_key), "").PermitUncheckedError();
}
void ChangeSet::DeleteBlockKey(uint8_t rule, std::string_view blocking_key, std::string_view record_key) {
  batch_.Delete(Handle(Cf::kBlockKeys), BlockKey(rule, blocking_key, record_key)).PermitUncheckedError();
}
void ChangeSet::PutNhs(uint64_t nhs, std::string_view record_key) {
  batch_.Put(Handle(Cf::kNhsIndex), NhsIndexKey(nhs, record_key), "").PermitUncheckedError();
}
void ChangeSet::DeleteNhs(uint64_t nhs, std::string_view record_key) {
  batch_.Delete(Handle(Cf::kNhsIndex), NhsIndexKey(nhs, record_key)).PermitUncheckedError();
}
// A review pair is kept under both orders, so that ReviewPartners finds it
// from either record.
void ChangeSet::PutReview(std::string_view a, std::string_view b, const ReviewValue& v) {
  const std::string value = EncodeReviewValue(v);
  batch_.Put(Handle(Cf::kReview), DirectedPairKey(a, b), value).PermitUncheckedError();
  batch_.Put(Handle(Cf::kReview), DirectedPairKey(b, a), value).PermitUncheckedError();
}
void ChangeSet::DeleteReview(std::string_view a, std::string_view b) {
  batch_.Delete(Handle(Cf::kReview), DirectedPairKey(a, b)).PermitUncheckedError();
  batch_.Delete(Handle(Cf::kReview), DirectedPairKey(b, a)).PermitUncheckedError();
}
void ChangeSet::PutNeverLink(std::string_view a, std::string_view b) {
  batch_.Put(Handle(Cf::kManual), absl::StrCat(A(kNeverPrefix), PairKey(a, b)), "").PermitUncheckedError();
}
void ChangeSet::PutSupersession(uint64_t old_nhs, uint64_t new_nhs, int64_t time_us) {
  batch_
      .Put(Handle(Cf::kManual), absl::StrCat(A(kSupersedePrefix), EncodeU64(old_nhs)),
           absl::StrCat(EncodeU64(new_nhs), EncodeU64(static_cast<uint64_t>(time_us))))
      .PermitUncheckedError();
}
void ChangeSet::PutPendingObjection(std::string_view key, const ObjectionValue& v) {
  batch_.Put(Handle(Cf::kObjections), absl::StrCat(A(kPendingPrefix), A(key)), EncodeObjectionValue(v))
      .PermitUncheckedError();
}
void ChangeSet::DeletePendingObjection(std::string_view key) {
  batch_.Delete(Handle(Cf::kObjections), absl::StrCat(A(kPendingPrefix), A(key))).PermitUncheckedError();
}
void ChangeSet::AppendHistory(uint64_t person_id, uint64_t sequence, std::string_view json) {
  batch_.Put(Handle(Cf::kHistory), HistoryKey(person_id, sequence), json).PermitUncheckedError();
}
void ChangeSet::PutModel(std::string_view json) {
  batch_.Put(Handle(Cf::kModel), kModelKey, json).PermitUncheckedError();
}
void ChangeSet::PutMeta(std::string_view key, std::string_view value) {
  batch_.Put(Handle(Cf::kMeta), key, value).PermitUncheckedError();
}
void ChangeSet::DeleteMeta(std::string_view key) { batch_.Delete(Handle(Cf::kMeta), key).PermitUncheckedError(); }
void ChangeSet::AddChange(Change change) {
  if (change.time_us == 0) change.time_us = NowMicros();
  changes_.push_back(EncodeChange(change));
}

bool AdoptObjection(PersonValue* p, int64_t time_us, ObjectionMethod method, std::string_view reference) {
  if (p->objection) return false;
  p->objection = true;
  p->objection_time_us = time_us;
  p->objection_method = method;
  p->objection_reference = std::string(reference);
  return true;
}

void AddRecordChanges(const StoredRecord* old, const StoredRecord& now, bool new_person, ChangeSet* cs) {
  const std::string key = now.record.Key();
  if (old == nullptr) {
    cs->AddChange({.kind = new_person ? "new-person" : "record-linked", .persons = {now.person_id}, .records = {key}});
    return;
  }
  if (old->person_id != now.person_id) {
    cs->AddChange({.kind = "record-moved", .persons = {old->person_id, now.person_id}, .records = {key}});
  } else {
    cs->AddChange({.kind = "record-updated", .persons = {now.person_id}, .records = {key}});
  }
  if (old->record.restricted != now.record.restricted) {
    cs->AddChange({.kind = "restricted-changed", .persons = {now.person_id}, .records = {key}});
  }
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
  uint64_t history_from_ = 0;  // meta history_from, read at open

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

absl::Status Store::Impl::Open(const std::string& path, const StoreOptions& options) {
  options_ = options;
  path_ = path;
  cache_ = rocksdb::NewLRUCache(options.block_cache_bytes);
  read_cache_ = std::make_unique<ReadCache>(options.read_cache_persons);

  rocksdb::DBOptions db_options;
  db_options.create_if_missing = options.create_if_missing;
  db_options.create_missing_column_families = options.create_if_missing;
  // Multi-family batches must reach SST files together, or a crash after a
  // partial flush could surface a record without its index entries.
  db_options.atomic_flush = true;
  db_options.max_background_jobs = 3;
  db_options.bytes_per_sync = 1 << 20;
  if (options.env != nullptr) db_options.env = options.env;
  // After a write error RocksDB stops taking writes until it is reopened
  // (no automatic resume): resuming could reuse a log file whose writer has
  // failed, which Debian's librocksdb (built with assertions) answers with
  // SIGABRT, and Store refuses further writes after a failure anyway.
  db_options.max_bgerror_resume_count = 0;
  // RocksDB's diagnostic LOG through a logger that cannot abort on a full
  // disk (index/info_log.h). A read-only open writes no LOG.
  if (!options.read_only) {
    std::error_code ignored;
    if (options.create_if_missing) std::filesystem::create_directories(path, ignored);
    db_options.info_log = InfoLog::Open(path + "/LOG");
  }

  EMPI_RETURN_IF_ERROR(OpenDb(path, options, &db_options, ColumnFamilies(options)));
  // SST files of a bulk ingestion that a crash interrupted were never part
  // of the database.
  if (!options.read_only) {
    std::error_code ignored;
    std::filesystem::remove_all(BulkDir(path), ignored);
  }

  EMPI_RETURN_IF_ERROR(CheckFormatVersion());
  EMPI_RETURN_IF_ERROR(LoadCounters());
  return OpenAuditTrail();
}

// The column families and their options: compression, filters, merge
// operators, prefix extractors, and the write-buffer sizes of a bulk load.
std::vector<rocksdb::ColumnFamilyDescriptor> Store::Impl::ColumnFamilies(const StoreOptions& options) const {
  const auto supported = rocksdb::GetSupportedCompressions();
  auto has = [&](rocksdb::CompressionType t) {
    return std::find(supported.begin(), supported.end(), t) != supported.end();
  };
  const rocksdb::CompressionType upper =
      has(rocksdb::kLZ4Compression) ? rocksdb::kLZ4Compression : rocksdb::kNoCompression;
  const rocksdb::CompressionType bottom = has(rocksdb::kZSTD) ? rocksdb::kZSTD : upper;

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions());
  for (int i = 0; i < kNumCfs; ++i) {
    const Cf cf = static_cast<Cf>(i);
    rocksdb::ColumnFamilyOptions cf_options;
    rocksdb::BlockBasedTableOptions table;
    table.block_cache = cache_;
    table.cache_index_and_filter_blocks = true;
    table.pin_l0_filter_and_index_blocks_in_cache = true;
    // Index and filter blocks of every file stay pinned in the cache: a
    // point read or seek then looks up only its data block in the LRU cache.
    table.metadata_cache_options.unpartitioned_pinning = rocksdb::PinningTier::kAll;
    const bool hot = cf == Cf::kRecords || cf == Cf::kBlockKeys || cf == Cf::kPersonRecords || cf == Cf::kNhsIndex ||
                     cf == Cf::kPersonView;
    if (hot) table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
    if (cf == Cf::kPersonView || cf == Cf::kRecords) {
      // Point lookups on every real-time read: a hash index in each data
      // block finds the key without a binary search.
      table.data_block_index_type = rocksdb::BlockBasedTableOptions::kDataBlockBinaryAndHash;
    }
    if (cf == Cf::kPersonView) cf_options.merge_operator = std::make_shared<PersonViewMerge>();
    if (cf == Cf::kViewHistory) cf_options.merge_operator = std::make_shared<ConcatMerge>();
    if (cf == Cf::kPersonRecords || cf == Cf::kNhsIndex) {
      cf_options.prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(8));
    } else if (cf == Cf::kBlockKeys) {
      cf_options.prefix_extractor = std::make_shared<BlockKeyPrefix>();
    }
    if (cf_options.prefix_extractor) {
      // These families are only ever scanned by prefix: filter on prefixes.
      table.whole_key_filtering = false;
      cf_options.memtable_prefix_bloom_size_ratio = 0.05;
    }
    cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    cf_options.num_levels = 7;
    cf_options.compression_per_level.assign(7, upper);
    cf_options.compression_per_level[0] = rocksdb::kNoCompression;
    cf_options.compression_per_level[1] = rocksdb::kNoCompression;
    cf_options.bottommost_compression = bottom;
    const bool big = cf == Cf::kRecords || cf == Cf::kBlockKeys || cf == Cf::kPersonRecords || cf == Cf::kNhsIndex;
    if (options.bulk_load && big) {
      // Measured with bench/store_bench (1M records, 2 busy cores): 256 MiB
      // memtables cost more CPU than they saved, and turning auto compaction
      // off with one compaction at Flush() was slower still. What helps is
      // more memtables in flight and fewer level-0 stalls.
      cf_options.write_buffer_size = 64 << 20;
      cf_options.max_write_buffer_number = 4;
      cf_options.target_file_size_base = 128 << 20;
      cf_options.max_bytes_for_level_base = 1 << 30;
      cf_options.level0_file_num_compaction_trigger = 8;
      cf_options.level0_slowdown_writes_trigger = 40;
      cf_options.level0_stop_writes_trigger = 60;
    } else if (big) {
      cf_options.write_buffer_size = 64 << 20;
    } else {
      cf_options.write_buffer_size = 16 << 20;
    }
    if (options.bulk_load) {
      // A bulk load ingests one sorted run per round into level 0. Compacting
      // them while the load runs competed with it for both cores, and the
      // close of the store cancelled what had not finished (at 3M persons a
      // 34-second compaction of block_keys, thrown away). They are left to
      // the next read-write open or to `empi compact`. With compaction off,
      // RocksDB does not stall writes on the level-0 file count.
      cf_options.disable_auto_compactions = true;
    }
    descriptors.emplace_back(std::string(A(CfName(cf))), cf_options);
  }
  return descriptors;
}

// Opens (or creates) the RocksDB database at `path` with `descriptors`,
// creating the families an older format lacks when open for writing, and
// maps the family handles.
absl::Status Store::Impl::OpenDb(const std::string& path, const StoreOptions& options, rocksdb::DBOptions* db_options,
                                 std::vector<rocksdb::ColumnFamilyDescriptor> descriptors) {
  if ((!options.create_if_missing || options.read_only) &&
      !std::filesystem::exists(std::filesystem::path(path) / "CURRENT")) {
    return absl::NotFoundError(absl::StrCat("store ", path, " does not exist"));
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  rocksdb::Status s;
  if (!options.create_if_missing || options.read_only) {
    // A version-1 store lacks person_view, one before version 6 lacks
    // changes: created (and person_view filled) only by a read-write open,
    // below.
    std::vector<std::string> names;
    const bool missing = rocksdb::DB::ListColumnFamilies(*db_options, path, &names).ok() &&
                         std::any_of(descriptors.begin(), descriptors.end(), [&](const auto& d) {
                           return std::find(names.begin(), names.end(), d.name) == names.end();
                         });
    if (missing) {
      if (options.read_only) {
        return absl::FailedPreconditionError(absl::StrCat(
            "store ", path, " has an older format version; open it once for writing (empi link or empi ingest) ",
            "to upgrade it to version ", kFormatVersion));
      }
      db_options->create_missing_column_families = true;
    }
  }
  if (options.read_only) {
    s = rocksdb::DB::OpenForReadOnly(*db_options, path, descriptors, &handles, &db);
  } else {
    s = rocksdb::DB::Open(*db_options, path, descriptors, &handles, &db);
  }
  if (!s.ok()) {
    if (s.IsInvalidArgument() && s.ToString().find("does not exist") != std::string::npos) {
      return absl::NotFoundError(absl::StrCat("store ", path, " does not exist"));
    }
    return FromRocks(s, absl::StrCat("opening store ", path));
  }
  db_ = db;
  default_handle_ = handles[0];
  handles_.assign(handles.begin() + 1, handles.end());
  by_logical_id_.assign(kNumCfs + 1, nullptr);
  for (int i = 0; i < kNumCfs; ++i) {
    const uint32_t id = handles_[i]->GetID();
    if (by_real_id_.size() <= id) by_real_id_.resize(id + 1, nullptr);
    by_real_id_[id] = handles_[i];
    by_logical_id_[i + 1] = handles_[i];
    if (cf_of_real_id_.size() <= id) cf_of_real_id_.resize(id + 1, -1);
    cf_of_real_id_[id] = i;
    cf_of_logical_id_.resize(kNumCfs + 1, -1);
    cf_of_logical_id_[i + 1] = i;
    if (id != static_cast<uint32_t>(i) + 1) logical_ids_match_ = false;
  }
  return absl::OkStatus();
}

// Format version: written on creation, checked on every later open; older
// formats are upgraded by a read-write open and refused by a read-only one.
absl::Status Store::Impl::CheckFormatVersion() {
  EMPI_ASSIGN_OR_RETURN(std::optional<std::string> version, Get(Cf::kMeta, kMetaFormatVersion, nullptr));
  const std::string want = std::to_string(kFormatVersion);
  if (version.has_value() && (*version == "1" || *version == "2" || *version == "3")) {
    if (options_.read_only) {
      return absl::FailedPreconditionError(absl::StrCat(
          "store ", path_, " has format version ", *version,
          "; open it once for writing (empi link or empi ingest) to upgrade it to version ", kFormatVersion));
    }
    if (*version == "1") EMPI_RETURN_IF_ERROR(UpgradeFromVersion1());
    // Version 3 continues the audit chain in audit.log: nothing to convert
    // from version 2.
    EMPI_RETURN_IF_ERROR(UpgradeToVersion4());
    version = "6";
  }
  // Version 4 differs from 5 only in holding no supersession, and 5 from 6
  // in having no change feed (the family is created empty, above); 6 from 7
  // in having no history.
  if (version.has_value() && (*version == "4" || *version == "5" || *version == "6")) {
    if (options_.read_only) {
      return absl::FailedPreconditionError(absl::StrCat(
          "store ", path_, " has an older format version; open it once for writing (empi link or empi ingest) ",
          "to upgrade it to version ", kFormatVersion));
    }
    EMPI_RETURN_IF_ERROR(UpgradeToVersion7());
    version = want;
  }
  if (version.has_value() && *version != want) {
    return absl::FailedPreconditionError(absl::StrCat("store ", path_, " has format version ", *version,
                                                      "; this build reads format version ", want,
                                                      " only (see docs/format/store.md)"));
  }
  if (!version.has_value()) {
    if (options_.read_only) {
      return absl::FailedPreconditionError(absl::StrCat("store ", path_, " has no format version"));
    }
    rocksdb::WriteOptions wo;
    wo.sync = true;
    EMPI_RETURN_IF_ERROR(
        Record(FromRocks(db_->Put(wo, handle(Cf::kMeta), kMetaFormatVersion, want), "writing format version")));
  }
  return absl::OkStatus();
}

// The counters kept in meta: where histories begin, the next person id and
// the next change number.
absl::Status Store::Impl::LoadCounters() {
  EMPI_ASSIGN_OR_RETURN(std::optional<std::string> history_from, Get(Cf::kMeta, kMetaHistoryFrom, nullptr));
  if (history_from.has_value()) {
    if (history_from->size() != 8) return absl::DataLossError("meta history_from is not a sequence");
    history_from_ = DecodeU64(*history_from);
  }
  EMPI_ASSIGN_OR_RETURN(std::optional<std::string> next, Get(Cf::kMeta, kMetaNextPersonId, nullptr));
  if (next.has_value()) {
    if (next->size() != 8) return absl::DataLossError("meta next_person_id is not 8 bytes");
    absl::MutexLock l(&mu_);
    next_person_id_ = persisted_next_person_id_ = DecodeU64(*next);
  }
  EMPI_ASSIGN_OR_RETURN(std::optional<std::string> next_change, Get(Cf::kMeta, kMetaNextChange, nullptr));
  if (next_change.has_value()) {
    if (next_change->size() != 8 || DecodeU64(*next_change) == 0) {
      return absl::DataLossError("meta next_change is not a sequence");
    }
    {
      absl::MutexLock l(&mu_);
      next_change_ = DecodeU64(*next_change);
    }
    PublishChanges(DecodeU64(*next_change) - 1);
  }
  return absl::OkStatus();
}

absl::Status Store::Impl::CompactPersonView() { return CompactFamily(Cf::kPersonView); }

absl::Status Store::Impl::CompactFamily(Cf cf) {
  rocksdb::CompactRangeOptions o;
  o.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  o.max_subcompactions = std::max(1u, std::thread::hardware_concurrency());
  return FromRocks(db_->CompactRange(o, handle(cf), nullptr, nullptr), absl::StrCat("compacting ", A(CfName(cf))));
}

absl::StatusOr<int> Store::Impl::CompactFamiliesWhere(const std::function<bool(Cf)>& needs) {
  int compacted = 0;
  for (size_t i = 0; i < kNumCfs; ++i) {
    const Cf cf = static_cast<Cf>(i);
    if (!needs(cf)) continue;
    EMPI_RETURN_IF_ERROR(CompactFamily(cf));
    ++compacted;
  }
  return compacted;
}

absl::StatusOr<int> Store::Impl::Compact() {
  return CompactFamiliesWhere([&](Cf cf) { return SortedRuns(cf) > 1; });
}

absl::StatusOr<uint64_t> Store::Impl::WarmCache() {
  // Stop a little short of full: past it, each block read evicts another.
  const uint64_t room = cache_->GetCapacity() / 10 * 9;
  for (Cf cf : {Cf::kPersonView, Cf::kRecords, Cf::kPersons, Cf::kNhsIndex, Cf::kBlockKeys, Cf::kPersonRecords,
                Cf::kReview, Cf::kManual, Cf::kObjections, Cf::kMeta, Cf::kModel}) {
    rocksdb::ReadOptions ro;
    ro.total_order_seek = true;
    ro.readahead_size = 2 << 20;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, handle(cf)));
    size_t n = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      if (++n % 4096 == 0 && cache_->GetUsage() >= room) return cache_->GetUsage();
    }
    EMPI_RETURN_IF_ERROR(FromRocks(it->status(), absl::StrCat("warming the cache with ", A(CfName(cf)))));
  }
  return cache_->GetUsage();
}

int Store::Impl::Level0Files(Cf cf) const {
  rocksdb::ColumnFamilyMetaData meta;
  db_->GetColumnFamilyMetaData(handle(cf), &meta);
  return meta.levels.empty() ? 0 : static_cast<int>(meta.levels[0].files.size());
}

int Store::MostLevel0Files() const {
  int most = 0;
  for (size_t i = 0; i < kNumCfs; ++i) most = std::max(most, impl_->Level0Files(static_cast<Cf>(i)));
  return most;
}

int Store::Impl::SortedRuns(Cf cf) const {
  rocksdb::ColumnFamilyMetaData meta;
  db_->GetColumnFamilyMetaData(handle(cf), &meta);
  int runs = 0;
  for (const rocksdb::LevelMetaData& level : meta.levels) {
    // Level 0 files may overlap each other; every other level is one run.
    runs += level.level == 0 ? static_cast<int>(level.files.size()) : !level.files.empty();
  }
  return runs;
}

absl::Status Store::Impl::UpgradeFromVersion1() {
  rocksdb::ColumnFamilyHandle* view = handle(Cf::kPersonView);
  rocksdb::WriteBatch batch;
  auto flush = [&]() -> absl::Status {
    EMPI_RETURN_IF_ERROR(
        Record(FromRocks(db_->Write(rocksdb::WriteOptions(), &batch), "upgrading to format version 2")));
    batch.Clear();
    return absl::OkStatus();
  };
  // No key sorts after 9 bytes of 0xff: person ids are 8 bytes.
  EMPI_RETURN_IF_ERROR(FromRocks(batch.DeleteRange(view, "", std::string(9, '\xff')), "upgrading"));
  absl::Status bad;
  auto visit = [&](Cf cf, auto&& op) -> absl::Status {
    EMPI_RETURN_IF_ERROR(Scan(cf, "", nullptr, [&](std::string_view key, std::string_view value) {
      bad = op(key, value);
      if (bad.ok() && batch.Count() >= 10000) bad = flush();
      return bad.ok();
    }));
    return bad;
  };
  EMPI_RETURN_IF_ERROR(visit(Cf::kPersons, [&](std::string_view key, std::string_view value) -> absl::Status {
    PersonValue p;
    if (key.size() != 8 || !DecodePersonValue(value, &p))
      return absl::DataLossError("persons: a value does not decode");
    return FromRocks(batch.Merge(view, key, PersonViewPersonOp(p)), "upgrading");
  }));
  EMPI_RETURN_IF_ERROR(visit(Cf::kRecords, [&](std::string_view key, std::string_view value) -> absl::Status {
    StoredRecord r;
    if (!DecodeRecordValue(key, value, &r)) {
      return absl::DataLossError(absl::StrCat("records: value of ", RecordName(key), " does not decode"));
    }
    return FromRocks(batch.Merge(view, EncodeU64(r.person_id), PersonViewMemberOp(r)), "upgrading");
  }));
  batch.Put(handle(Cf::kMeta), kMetaFormatVersion, "2").PermitUncheckedError();
  EMPI_RETURN_IF_ERROR(flush());
  EMPI_RETURN_IF_ERROR(SyncWal());
  return CompactPersonView();
}

// Writes each review pair under its second order too, and leaves the
// objection_in_review flags for the engine to compute on its next open.
absl::Status Store::Impl::UpgradeToVersion4() {
  rocksdb::WriteBatch batch;
  absl::Status bad;
  EMPI_RETURN_IF_ERROR(Scan(Cf::kReview, "", nullptr, [&](std::string_view key, std::string_view value) {
    std::string a, b;
    if (!SplitPairKey(key, &a, &b)) {
      bad = absl::DataLossError("review: an entry does not decode");
      return false;
    }
    bad = FromRocks(batch.Put(handle(Cf::kReview), DirectedPairKey(b, a), value), "upgrading to format version 4");
    if (bad.ok() && batch.Count() >= 10000) {
      bad = Record(FromRocks(db_->Write(rocksdb::WriteOptions(), &batch), "upgrading to format version 4"));
      batch.Clear();
    }
    return bad.ok();
  }));
  EMPI_RETURN_IF_ERROR(bad);
  batch.Put(handle(Cf::kMeta), kMetaReviewObjectionsDirty, "").PermitUncheckedError();
  batch.Put(handle(Cf::kMeta), kMetaFormatVersion, "6").PermitUncheckedError();
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return Record(FromRocks(db_->Write(wo, &batch), "upgrading to format version 4"));
}

// Starts the view and record histories at the last change so far: every
// person's view and every record's person as of it. Written again whole if
// a crash interrupts it (a view entry replaces the whole view, so writing it
// twice is the same as once).
absl::Status Store::Impl::UpgradeToVersion7() {
  constexpr char kWhat[] = "upgrading to format version 7";
  EMPI_ASSIGN_OR_RETURN(std::optional<std::string> next, Get(Cf::kMeta, kMetaNextChange, nullptr));
  const uint64_t from = next.has_value() && next->size() == 8 ? DecodeU64(*next) - 1 : 0;
  rocksdb::WriteBatch batch;
  absl::Status bad;
  auto put = [&](rocksdb::Status s) {
    bad = FromRocks(s, kWhat);
    if (bad.ok() && batch.Count() >= 10000) {
      bad = Record(FromRocks(db_->Write(rocksdb::WriteOptions(), &batch), kWhat));
      batch.Clear();
    }
    return bad.ok();
  };
  EMPI_RETURN_IF_ERROR(Scan(Cf::kPersonView, "", nullptr, [&](std::string_view key, std::string_view value) {
    PersonView view;
    if (key.size() != 8 || !DecodePersonView(value, &view)) {
      bad = absl::DataLossError("person_view: a value does not decode");
      return false;
    }
    return put(batch.Merge(handle(Cf::kViewHistory), HistoryKey(DecodeU64(key), from), PersonViewSetOp(view)));
  }));
  EMPI_RETURN_IF_ERROR(bad);
  EMPI_RETURN_IF_ERROR(Scan(Cf::kRecords, "", nullptr, [&](std::string_view key, std::string_view value) {
    uint64_t person = 0;
    if (!DecodeRecordPersonId(value, &person)) {
      bad = absl::DataLossError(absl::StrCat("records: value of ", RecordName(key), " does not decode"));
      return false;
    }
    return put(batch.Put(handle(Cf::kRecordHistory), RecordHistoryKey(key, from), EncodeU64(person)));
  }));
  EMPI_RETURN_IF_ERROR(bad);
  batch.Put(handle(Cf::kMeta), kMetaHistoryFrom, EncodeU64(from)).PermitUncheckedError();
  batch.Put(handle(Cf::kMeta), kMetaFormatVersion, std::to_string(kFormatVersion)).PermitUncheckedError();
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return Record(FromRocks(db_->Write(wo, &batch), kWhat));
}

absl::Status Store::Impl::Commit(ChangeSet* changes, const AuditEvent* event, bool sync, uint64_t* sequence) {
  if (options_.read_only) return absl::FailedPreconditionError("store is open read-only");
  if (changes->empty() && event == nullptr && !changes->allocated_person_ids_) return absl::OkStatus();
  // An event with no change (a read's): straight onto the chain, never
  // behind a change batch.
  if (event != nullptr && changes->empty() && !changes->allocated_person_ids_) {
    AuditEvent stamped;
    if (event->time_us == 0) {
      stamped = *event;
      stamped.time_us = NowMicros();
      event = &stamped;
    }
    std::vector<Chained> one{{event, 0}};
    EMPI_RETURN_IF_ERROR(AppendEvents(&one, sync));
    if (sequence != nullptr) *sequence = one[0].sequence;
    return absl::OkStatus();
  }
  // A plain unsynced change (no audit event, no person ids to persist) has
  // nothing to order against other commits: it bypasses the queue, so bulk
  // loads from several threads use RocksDB's concurrent memtable inserts.
  if (event == nullptr && !sync && !changes->allocated_person_ids_ && changes->changes_.empty() &&
      !changes->has_history() && (!changes->cfs_.empty() || logical_ids_match_)) {
    bool counter_persisted;
    {
      absl::MutexLock l(&mu_);
      counter_persisted = next_person_id_ <= persisted_next_person_id_;
    }
    if (counter_persisted) {
      if (sequence != nullptr) *sequence = 0;
      return Write(rocksdb::WriteOptions(), changes->batch());
    }
  }
  Writer w(changes, event, sync);
  absl::MutexLock l(&mu_);
  writers_.push_back(&w);
  if (writers_.front() != &w) {
    // The leader's write takes microseconds; sleeping on cv costs a wake-up
    // that, on busy cores, can take a scheduler time slice. Poll (yielding
    // the core) for a short while first, as RocksDB's own write queue does.
    mu_.Unlock();
    const auto until = std::chrono::steady_clock::now() + kWriterPollTime;
    while (!w.ready.load(std::memory_order_acquire) && std::chrono::steady_clock::now() < until) {
      std::this_thread::yield();
    }
    mu_.Lock();
  }
  while (!w.done && writers_.front() != &w) w.cv.Wait(&mu_);
  if (w.done) {
    if (sequence != nullptr) *sequence = w.sequence;
    return w.status;
  }

  // This thread leads: take the queue's front, up to kMaxGroupBytes.
  std::vector<Writer*> group;
  size_t bytes = 0;
  for (Writer* x : writers_) {
    const size_t size = x->changes->ApproximateSize();
    if (!group.empty() && bytes + size > kMaxGroupBytes) break;
    group.push_back(x);
    bytes += size;
  }
  // The group's events, stamped once: the same event is stored pending in
  // the group's batch and then chained.
  std::vector<AuditEvent> stamped;
  stamped.reserve(group.size());  // Chained points into it
  std::vector<Chained> events;
  for (Writer* x : group) {
    if (x->event == nullptr) continue;
    AuditEvent& e = stamped.emplace_back(*x->event);
    if (e.time_us == 0) e.time_us = NowMicros();
    events.push_back(Chained{&e, next_pending_id_++});
  }
  const uint64_t next_person_id = next_person_id_;
  const bool write_counter =
      next_person_id > persisted_next_person_id_ ||
      std::any_of(group.begin(), group.end(), [](Writer* x) { return x->changes->allocated_person_ids_; });
  // The group's changes take the next sequences, in queue order.
  const uint64_t first_change = next_change_;
  for (Writer* x : group) next_change_ += x->changes->changes_.size();
  const uint64_t end_change = next_change_;
  absl::Status status;
  if (end_change > first_change && bulk_changes_) {
    next_change_ = first_change;
    status = absl::FailedPreconditionError("a bulk load is writing the change feed; commit after it finishes");
  } else {
    mu_.Unlock();
    const bool changes_state = end_change > first_change || std::any_of(group.begin(), group.end(), [](Writer* x) {
                                 return x->changes->has_history();
                               });
    if (changes_state) BeginStateChange();
    status = WriteGroup(group, events, write_counter ? next_person_id : 0, first_change);
    if (status.ok() && end_change > first_change) PublishChanges(end_change - 1);
    if (changes_state) EndStateChange();
    if (status.ok() && !events.empty()) {
      // Chained while this leader still holds the queue, so change events
      // reach the chain in pending-id order. If the log cannot be written
      // the change stands, and so does its event, pending in the store: it
      // is chained when the store is next opened.
      absl::Status chained = AppendEvents(&events, /*sync=*/false);
      if (!chained.ok()) {
        std::fprintf(stderr, "empi: audit log: %s; the change is committed and its event is kept pending\n",
                     std::string(chained.message()).c_str());
      }
    }
    mu_.Lock();
    if (!status.ok()) next_change_ = first_change;
  }
  if (status.ok() && write_counter) persisted_next_person_id_ = next_person_id;
  size_t next_event = 0;
  for (Writer* x : group) {
    writers_.pop_front();
    x->sequence = status.ok() && x->event != nullptr ? events[next_event++].sequence : 0;
    if (x == &w) continue;
    x->status = status;
    x->done = true;
    x->ready.store(true, std::memory_order_release);
    x->cv.Signal();
  }
  if (!writers_.empty()) {
    writers_.front()->ready.store(true, std::memory_order_release);
    writers_.front()->cv.Signal();
  }
  if (sequence != nullptr) *sequence = w.sequence;
  return status;
}

absl::Status Store::Impl::WriteGroup(const std::vector<Writer*>& group, const std::vector<Chained>& events,
                                     uint64_t next_person_id, uint64_t first_change) {
  bool sync = false;
  for (Writer* x : group) sync |= x->sync;
  auto direct = [&](ChangeSet* c) { return !c->cfs_.empty() || logical_ids_match_; };
  rocksdb::WriteOptions wo;
  wo.sync = sync;

  // The chain head, anchored in this batch if it moved since the last
  // anchor (see kMetaAuditAnchor).
  std::string anchor;
  {
    absl::MutexLock l(&chain_mu_);
    if (audit_log_ != nullptr && last_sequence_ > anchored_sequence_) {
      anchor = EncodeAnchor(last_sequence_, last_hash_, audit_log_->size());
      anchored_sequence_ = last_sequence_;
    }
  }

  // One change set with nothing to add: write it as it is.
  if (group.size() == 1 && events.empty() && next_person_id == 0 && anchor.empty() && direct(group[0]->changes) &&
      group[0]->changes->changes_.empty() && !group[0]->changes->has_history()) {
    return Write(wo, group[0]->changes->batch());
  }

  // Otherwise build the group's batch; callers' change sets stay untouched
  // so that a failed commit can be retried as it was.
  rocksdb::WriteBatch merged;
  for (Writer* x : group) {
    ChangeSet* c = x->changes;
    if (group.size() == 1 && direct(c)) {
      merged = rocksdb::WriteBatch(c->batch()->Data());
    } else {
      Replayer replay(&merged, c->cfs_.empty() ? &by_logical_id_ : &by_real_id_);
      EMPI_RETURN_IF_ERROR(FromRocks(c->batch()->Iterate(&replay), "commit"));
    }
  }
  for (const Chained& c : events) {
    StoredAuditEvent pending;
    pending.event = *c.event;
    pending.prev_hash = pending.hash = std::string(kHashSize, '\0');
    EMPI_RETURN_IF_ERROR(
        FromRocks(merged.Put(handle(Cf::kMeta), absl::StrCat(A(kMetaAuditPendingPrefix), A(EncodeU64(c.pending_id))),
                             EncodeAuditValue(pending)),
                  "commit"));
  }
  if (!anchor.empty()) {
    EMPI_RETURN_IF_ERROR(FromRocks(merged.Put(handle(Cf::kMeta), kMetaAuditAnchor, anchor), "commit"));
  }
  uint64_t change = first_change;
  for (Writer* x : group) {
    for (const std::string& c : x->changes->changes_) {
      EMPI_RETURN_IF_ERROR(FromRocks(merged.Put(handle(Cf::kChanges), EncodeU64(change++), c), "commit"));
    }
    // A set with no change of its own is history as of the last change
    // before it.
    EMPI_RETURN_IF_ERROR(FromRocks(AddHistory(*x->changes, change - 1, &merged), "commit"));
  }
  if (change > first_change) {
    EMPI_RETURN_IF_ERROR(FromRocks(merged.Put(handle(Cf::kMeta), kMetaNextChange, EncodeU64(change)), "commit"));
  }
  // The high-water mark goes last, overriding any lower value a member's
  // AllocatePersonIds() put earlier in the batch.
  if (next_person_id != 0) {
    EMPI_RETURN_IF_ERROR(
        FromRocks(merged.Put(handle(Cf::kMeta), kMetaNextPersonId, EncodeU64(next_person_id)), "commit"));
  }
  return Write(wo, &merged);
}

absl::Status Store::Impl::Write(const rocksdb::WriteOptions& wo, rocksdb::WriteBatch* batch) {
  EMPI_RETURN_IF_ERROR(Failure());
  EMPI_RETURN_IF_ERROR(Record(FromRocks(db_->Write(wo, batch), "commit")));
  if (!read_cache_->enabled()) return absl::OkStatus();
  CacheInvalidation touched(&cf_of_real_id_);
  rocksdb::Status s = batch->Iterate(&touched);
  if (!s.ok() || touched.everything) {
    read_cache_->Clear();
    return absl::OkStatus();
  }
  RefreshCache(read_cache_->Invalidate(touched.record_keys, touched.person_ids));
  return absl::OkStatus();
}

void Store::Impl::RefreshCache(const ReadCache::Keys& keys) {
  if (keys.record_keys.empty() && keys.person_ids.empty()) return;
  // A failed read leaves the key uncached, for the next reader to fill.
  read_cache_->Refresh(
      keys,
      [&](const std::string& key) -> std::optional<uint64_t> {
        absl::StatusOr<std::optional<uint64_t>> person = PersonOfRecord(key, nullptr);
        return person.ok() ? *person : std::nullopt;
      },
      [&](uint64_t person) -> std::shared_ptr<const PersonView> {
        absl::StatusOr<std::optional<PersonView>> view = ReadPersonView(person, nullptr);
        if (!view.ok() || !view->has_value()) return nullptr;
        return std::make_shared<const PersonView>(std::move(**view));
      });
}

namespace {
// Checks that `e` follows (prev, expected sequence) on the chain.
absl::Status CheckLink(const StoredAuditEvent& e, uint64_t expected, const std::string& prev) {
  if (e.sequence != expected) {
    return absl::DataLossError(absl::StrCat("audit chain broken at sequence ", expected, ": found sequence ",
                                            e.sequence, " instead (events removed or inserted)"));
  }
  if (e.prev_hash != prev) {
    return absl::DataLossError(absl::StrCat("audit chain broken at sequence ", e.sequence,
                                            ": previous hash does not match (events removed or reordered)"));
  }
  if (AuditHash(prev, e.sequence, e.event) != e.hash) {
    return absl::DataLossError(absl::StrCat("audit chain broken at sequence ", e.sequence, ": event altered"));
  }
  return absl::OkStatus();
}

// meta audit_synced: the log is synced up to `offset`, which ends the event
// `sequence` with `hash`; `closed` when the store was closed there, so any
// later entry was written behind its back.
struct SyncedPoint {
  uint64_t sequence = 0;
  std::string hash;
  uint64_t offset = 0;
  bool closed = false;
  // Anchors only: the Linux boot the anchor was written in. Events up to an
  // anchor are whole in the page cache whatever happens to the process, so
  // in the same boot none may be missing; after a restart, those not yet
  // synced may have been lost with the machine.
  bool anchor = false;
  std::string boot;
};

std::string EncodeSyncedPoint(const SyncedPoint& p) {
  return absl::StrCat(A(EncodeU64(p.sequence)), A(p.hash), A(EncodeU64(p.offset)), p.closed ? "c" : "o");
}
// Decodes meta audit_synced into *p; an absent value leaves *p as it is.
absl::Status DecodeSyncedPoint(const std::optional<std::string>& value, SyncedPoint* p) {
  if (!value.has_value()) return absl::OkStatus();
  const std::string_view v = *value;
  if (v.size() != 8 + kHashSize + 8 + 1) return absl::DataLossError("audit_synced malformed");
  p->sequence = DecodeU64(v.substr(0, 8));
  p->hash = std::string(v.substr(8, kHashSize));
  p->offset = DecodeU64(v.substr(8 + kHashSize, 8));
  p->closed = v.back() == 'c';
  return absl::OkStatus();
}

// meta audit_anchor: sequence, hash, offset, boot id (EncodeAnchor).
absl::Status DecodeAnchor(const std::optional<std::string>& value, SyncedPoint* p) {
  if (!value.has_value()) return absl::OkStatus();
  const std::string_view v = *value;
  if (v.size() < 8 + kHashSize + 8) return absl::DataLossError("audit_anchor malformed");
  p->sequence = DecodeU64(v.substr(0, 8));
  p->hash = std::string(v.substr(8, kHashSize));
  p->offset = DecodeU64(v.substr(8 + kHashSize, 8));
  p->anchor = true;
  p->boot = std::string(v.substr(8 + kHashSize + 8));
  return absl::OkStatus();
}

// What ScanLog found: the last event that chains on (and where it ends),
// and what follows it.
struct LogScan {
  uint64_t sequence = 0;
  std::string hash;
  uint64_t valid_end = 0;
  uint64_t events = 0;
  absl::flat_hash_set<uint64_t> pending_in_log;
  uint64_t highest_pending = 0;
  AuditLog::Tail tail;
  // Events anchored in an earlier boot that the log no longer holds: never
  // synced, lost with the machine.
  uint64_t lost_in_restart = 0;
};

// Reads the log at `path` from `start` (an offset ending the event
// start.sequence, whose hash is start.hash; offset 0 with the audit
// family's head) to its end. Every entry must chain on, and pass through
// each of `points` (anchors and synced points recorded in the store) that
// lies ahead of start: the event of that sequence with that hash, ending at
// that offset. After the last event only an incomplete entry may follow
// (AuditLog::Tail::kIncomplete), and only past every point: an anchored
// event was whole in the log before its anchor was written. Anything else is
// DataLoss. *out holds the good prefix even then.
absl::Status ScanLog(const std::string& path, const SyncedPoint& start, const std::vector<SyncedPoint>& points,
                     LogScan* out) {
  out->sequence = start.sequence;
  out->hash = start.hash;
  out->valid_end = start.offset;
  uint64_t must_reach = start.sequence, anchored = start.sequence;
  for (const SyncedPoint& p : points) {
    anchored = std::max(anchored, p.sequence);
    // Synced points must be reached; so must anchors, unless the machine has
    // restarted since the anchor was written.
    const bool restarted = p.anchor && !p.boot.empty() && !BootId().empty() && p.boot != BootId();
    if (!restarted) must_reach = std::max(must_reach, p.sequence);
  }
  absl::Status bad;
  uint64_t read_end = 0;
  EMPI_RETURN_IF_ERROR(AuditLog::Read(
      path, start.offset,
      [&](const AuditLog::Entry& e) {
        if (absl::Status s = CheckLink(e.event, out->sequence + 1, out->hash); !s.ok()) {
          bad = absl::DataLossError(absl::StrCat(s.message(), "; the entry at offset ", out->valid_end,
                                                 " is complete, so this is no crash's doing"));
          return false;
        }
        for (const SyncedPoint& p : points) {
          if (p.sequence == e.event.sequence && p.sequence > start.sequence &&
              (p.hash != e.event.hash || p.offset != e.end)) {
            bad = absl::DataLossError(absl::StrCat("audit chain broken at sequence ", p.sequence,
                                                   ": the log's event is not the one the store anchored (replaced)"));
            return false;
          }
        }
        out->sequence = e.event.sequence;
        out->hash = e.event.hash;
        out->valid_end = e.end;
        ++out->events;
        if (e.pending_id != 0) {
          out->pending_in_log.insert(e.pending_id);
          out->highest_pending = std::max(out->highest_pending, e.pending_id);
        }
        return true;
      },
      &read_end));
  EMPI_ASSIGN_OR_RETURN(out->tail, AuditLog::ReadTail(path, out->valid_end));
  if (!bad.ok()) {
    out->tail.kind = AuditLog::Tail::kDamaged;
    return bad;
  }
  if (out->tail.kind == AuditLog::Tail::kDamaged) {
    return absl::DataLossError(absl::StrCat(
        "audit chain broken at sequence ", out->sequence + 1, ": the ", out->tail.bytes, " bytes from offset ",
        out->valid_end, " are neither events that chain on nor one incomplete last event (altered, or events ",
        "removed or inserted)"));
  }
  if (out->sequence < anchored) out->lost_in_restart = anchored - out->sequence;
  if (out->sequence < must_reach) {
    return absl::DataLossError(absl::StrCat(
        "audit chain broken at sequence ", out->sequence + 1, ": the store recorded events up to sequence ", must_reach,
        " as written to the log, but it ends after sequence ", out->sequence,
        " (events removed: the machine has not restarted since they were written, so no crash lost them)"));
  }
  return absl::OkStatus();
}

// How an operator gets out of a damaged log (docs/realtime.md).
constexpr std::string_view kDamagedLogHelp =
    "; nothing was changed. `empi audit verify` reports the damage; `empi audit quarantine-tail` moves the damaged "
    "part of the log aside into a file in the store directory, kept as evidence, and lets the store be used again "
    "(docs/realtime.md, \"A damaged audit log\")";

// 0 for a missing file.
uint64_t FileSize(const std::string& path) {
  std::error_code ec;
  const uintmax_t size = std::filesystem::file_size(path, ec);
  return ec ? 0 : size;
}
}  // namespace

absl::Status Store::Impl::AppendEvents(std::vector<Chained>* events, bool sync) {
  // Everything but the chain itself is done before taking chain_mu_.
  std::string bytes;
  std::vector<size_t> starts;
  uint64_t pending = 0, highest_in_batch = 0;
  for (const Chained& c : *events) {
    starts.push_back(bytes.size());
    bytes.append(AuditLog::EncodeUnchained(c.pending_id, *c.event));
    if (c.pending_id != 0) {
      ++pending;
      highest_in_batch = std::max(highest_in_batch, c.pending_id);
    }
  }
  AuditLog* log;
  bool checkpoint_due;
  AuditLog::PrefaultRange ahead;
  {
    absl::MutexLock l(&chain_mu_);
    if (audit_log_ == nullptr) return absl::FailedPreconditionError("store is open read-only");
    uint64_t seq = last_sequence_;
    std::string_view hash = last_hash_;
    for (size_t i = 0; i < starts.size(); ++i) {
      const size_t end = i + 1 < starts.size() ? starts[i + 1] : bytes.size();
      hash = AuditLog::Chain(std::span<char>(bytes.data() + starts[i], end - starts[i]), ++seq, hash);
      if (hash.empty()) return absl::InternalError("SHA-256 failed");
      (*events)[i].sequence = seq;
    }
    EMPI_RETURN_IF_ERROR(audit_log_->Append(bytes, &ahead));
    last_sequence_ = seq;
    last_hash_.assign(hash.data(), hash.size());
    chained_pending_ = std::max(chained_pending_, highest_in_batch);
    pending_since_checkpoint_ += pending;
    checkpoint_due = pending_since_checkpoint_ >= kPendingPerCheckpoint;
    log = audit_log_.get();
  }
  AuditLog::Prefault(ahead);
  if (sync) EMPI_RETURN_IF_ERROR(log->Sync());
  if (checkpoint_due) WantCheckpoint();
  return absl::OkStatus();
}

void Store::Impl::StartCheckpointer() {
  checkpointer_ = std::thread([this] {
    while (true) {
      {
        absl::MutexLock l(&checkpointer_mu_);
        while (!checkpoint_wanted_ && !checkpointer_stopping_) checkpointer_cv_.Wait(&checkpointer_mu_);
        if (checkpointer_stopping_) return;
        checkpoint_wanted_ = false;
      }
      // A failure leaves the events pending in RocksDB and the synced point
      // where it was; the next checkpoint, or the next open, tries again.
      if (absl::Status s = Checkpoint(); !s.ok()) {
        std::fprintf(stderr, "empi: audit log checkpoint failed: %s\n", std::string(s.message()).c_str());
      }
    }
  });
}

void Store::Impl::StopCheckpointer() {
  if (!checkpointer_.joinable()) return;
  {
    absl::MutexLock l(&checkpointer_mu_);
    checkpointer_stopping_ = true;
  }
  checkpointer_cv_.Signal();
  checkpointer_.join();
}

void Store::Impl::WantCheckpoint() {
  {
    absl::MutexLock l(&checkpointer_mu_);
    checkpoint_wanted_ = true;
  }
  checkpointer_cv_.Signal();
}

absl::Status Store::Impl::Checkpoint(bool closing) {
  absl::MutexLock cl(&checkpoint_mu_);
  SyncedPoint point;
  point.closed = closing;
  uint64_t upto;
  AuditLog* log;
  {
    absl::MutexLock l(&chain_mu_);
    if (audit_log_ == nullptr) return absl::OkStatus();
    point.sequence = last_sequence_;
    point.hash = last_hash_;
    point.offset = audit_log_->size();
    upto = chained_pending_;
    pending_since_checkpoint_ = 0;
    log = audit_log_.get();
  }
  EMPI_RETURN_IF_ERROR(log->Sync());
  // Every pending event up to `upto` is in the log, now synced.
  rocksdb::WriteBatch b;
  if (upto > checkpointed_pending_) {
    const std::string from = absl::StrCat(A(kMetaAuditPendingPrefix), A(EncodeU64(checkpointed_pending_ + 1)));
    const std::string to = absl::StrCat(A(kMetaAuditPendingPrefix), A(EncodeU64(upto + 1)));
    EMPI_RETURN_IF_ERROR(FromRocks(b.DeleteRange(handle(Cf::kMeta), from, to), "audit checkpoint"));
  }
  EMPI_RETURN_IF_ERROR(
      FromRocks(b.Put(handle(Cf::kMeta), kMetaAuditSynced, EncodeSyncedPoint(point)), "audit checkpoint"));
  // The anchor too: it may only move back to a point that is true (a
  // quarantine cuts the chain back), never claim more than the log holds.
  EMPI_RETURN_IF_ERROR(
      FromRocks(b.Put(handle(Cf::kMeta), kMetaAuditAnchor, EncodeAnchor(point.sequence, point.hash, point.offset)),
                "audit checkpoint"));
  EMPI_RETURN_IF_ERROR(Failure());
  EMPI_RETURN_IF_ERROR(Record(FromRocks(db_->Write(rocksdb::WriteOptions(), &b), "audit checkpoint")));
  checkpointed_pending_ = upto;
  return absl::OkStatus();
}

absl::Status Store::Impl::VerifyAuditChain(uint64_t* events_checked, uint64_t* incomplete_tail_bytes) const {
  const rocksdb::Snapshot* snapshot = db_->GetSnapshot();
  struct Release {
    rocksdb::DB* db;
    const rocksdb::Snapshot* s;
    ~Release() { db->ReleaseSnapshot(s); }
  } release{db_, snapshot};

  // The audit family: events written before format version 3.
  uint64_t expected = 1;
  std::string prev(kHashSize, '\0');
  absl::Status bad;
  absl::Status scan = Scan(Cf::kAudit, "", snapshot, [&](std::string_view key, std::string_view value) {
    if (key.size() != 8) {
      bad = absl::DataLossError(absl::StrCat("audit chain broken at sequence ", expected, ": malformed key"));
      return false;
    }
    StoredAuditEvent e;
    const uint64_t seq = DecodeU64(key);
    if (seq == expected && !DecodeAuditValue(seq, value, &e)) {
      bad = absl::DataLossError(absl::StrCat("audit chain broken at sequence ", seq, ": event does not decode"));
      return false;
    }
    e.sequence = seq;
    bad = CheckLink(e, expected, prev);
    if (!bad.ok()) return false;
    prev = e.hash;
    ++expected;
    return true;
  });
  EMPI_RETURN_IF_ERROR(scan);
  EMPI_RETURN_IF_ERROR(bad);
  const uint64_t in_family = expected - 1;
  EMPI_ASSIGN_OR_RETURN(std::optional<std::string> head, Get(Cf::kMeta, kMetaAuditHead, snapshot));
  if (!head.has_value()) {
    if (in_family != 0)
      return absl::DataLossError(absl::StrCat("audit chain head missing; ", in_family, " events present"));
  } else {
    if (head->size() != 8 + kHashSize) return absl::DataLossError("audit chain head malformed");
    const uint64_t head_seq = DecodeU64(*head);
    if (head_seq != in_family) {
      // Events past the head were inserted; a head past the events means the
      // last ones were removed. Either way the first bad one follows the shorter.
      return absl::DataLossError(absl::StrCat("audit chain broken at sequence ", std::min(in_family, head_seq) + 1,
                                              ": head records ", head_seq, " events but ", in_family, " are present"));
    }
    if (head->substr(8) != prev) {
      return absl::DataLossError(
          absl::StrCat("audit chain broken at sequence ", in_family, ": head hash does not match the last event"));
    }
  }

  // The log continues the chain, through every point the store recorded
  // (synced, anchored); past the last, one incomplete entry is a crash's.
  SyncedPoint synced, anchor;
  EMPI_ASSIGN_OR_RETURN(std::optional<std::string> point, Get(Cf::kMeta, kMetaAuditSynced, snapshot));
  EMPI_RETURN_IF_ERROR(DecodeSyncedPoint(point, &synced));
  EMPI_ASSIGN_OR_RETURN(std::optional<std::string> anchored, Get(Cf::kMeta, kMetaAuditAnchor, snapshot));
  EMPI_RETURN_IF_ERROR(DecodeAnchor(anchored, &anchor));
  LogScan log;
  EMPI_RETURN_IF_ERROR(
      ScanLog(AuditLogPath(), SyncedPoint{expected - 1, prev, 0, false, false, {}}, {synced, anchor}, &log));
  expected = log.sequence + 1;
  if (synced.closed && log.sequence > synced.sequence) {
    return absl::DataLossError(absl::StrCat("audit chain broken at sequence ", synced.sequence + 1,
                                            ": the log goes on after the store was last closed (inserted)"));
  }
  if (incomplete_tail_bytes != nullptr) {
    *incomplete_tail_bytes = log.tail.kind == AuditLog::Tail::kIncomplete ? log.tail.bytes : 0;
  }
  if (events_checked != nullptr) *events_checked = expected - 1;
  return absl::OkStatus();
}

absl::Status Store::Impl::ForEachAuditEvent(const std::function<bool(const StoredAuditEvent&)>& fn) const {
  absl::Status bad;
  bool more = true;
  EMPI_RETURN_IF_ERROR(Scan(Cf::kAudit, "", nullptr, [&](std::string_view key, std::string_view value) {
    StoredAuditEvent e;
    if (key.size() != 8 || !DecodeAuditValue(DecodeU64(key), value, &e)) {
      bad =
          absl::DataLossError(absl::StrCat("audit: event ", key.size() == 8 ? DecodeU64(key) : 0, " does not decode"));
      return more = false;
    }
    return more = fn(e);
  }));
  EMPI_RETURN_IF_ERROR(bad);
  if (!more) return absl::OkStatus();
  uint64_t valid_end = 0;
  return AuditLog::Read(
      AuditLogPath(), 0, [&](const AuditLog::Entry& e) { return fn(e.event); }, &valid_end);
}

absl::Status Store::Impl::OpenAuditTrail() {
  // The head of the audit family (events before format version 3).
  uint64_t seq = 0;
  std::string hash(kHashSize, '\0');
  {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), handle(Cf::kAudit)));
    it->SeekToLast();
    if (it->Valid()) {
      StoredAuditEvent last;
      const std::string_view key = it->key().ToStringView();
      if (key.size() != 8 || !DecodeAuditValue(DecodeU64(key), it->value().ToStringView(), &last)) {
        if (!options_.read_only) {
          return absl::DataLossError("the last audit event does not decode; open read-only and verify the chain");
        }
      } else {
        seq = last.sequence;
        hash = last.hash;
      }
    }
    EMPI_RETURN_IF_ERROR(FromRocks(it->status(), "reading the audit trail"));
  }
  if (options_.read_only) return absl::OkStatus();  // appends nothing: no head needed

  // The log from the point last synced: every entry must chain on, through
  // the latest anchor (ScanLog); one incomplete entry after it is the torn
  // tail of a crash and is cut off. Anything else is damage, which a
  // read-write open refuses, unless asked to quarantine it.
  SyncedPoint synced{seq, hash, 0, false, false, {}}, anchor;
  EMPI_ASSIGN_OR_RETURN(std::optional<std::string> point, Get(Cf::kMeta, kMetaAuditSynced, nullptr));
  EMPI_RETURN_IF_ERROR(DecodeSyncedPoint(point, &synced));
  EMPI_ASSIGN_OR_RETURN(std::optional<std::string> anchored, Get(Cf::kMeta, kMetaAuditAnchor, nullptr));
  EMPI_RETURN_IF_ERROR(DecodeAnchor(anchored, &anchor));
  const std::string log_path = AuditLogPath();
  const uint64_t file_size = FileSize(log_path);
  LogScan scan;
  absl::Status damage;
  if (file_size < synced.offset) {
    damage = absl::DataLossError(
        absl::StrCat("audit log ", log_path, " is shorter than when it was last synced ", "(events removed)"));
  } else {
    damage = ScanLog(log_path, synced, {anchor}, &scan);
  }
  if (damage.ok() && synced.closed && scan.sequence > synced.sequence) {
    damage = absl::DataLossError(absl::StrCat("audit chain broken at sequence ", synced.sequence + 1,
                                              ": the log goes on after the store was last closed (inserted)"));
  }
  if (!damage.ok() && !options_.quarantine_audit_tail) {
    return absl::DataLossError(absl::StrCat("audit log ", log_path, ": ", damage.message(), A(kDamagedLogHelp)));
  }
  if (!damage.ok()) {
    // Keep the longest prefix that chains from the audit family's head,
    // whatever the store recorded; move the rest aside.
    scan = LogScan();
    (void)ScanLog(log_path, SyncedPoint{seq, hash, 0, false, false, {}}, {}, &scan);
    const uint64_t moved = file_size > scan.valid_end ? scan.tail.bytes : 0;
    AuditQuarantine q;
    q.kept_events_up_to = scan.sequence;
    q.moved_bytes = moved;
    q.reason = std::string(damage.message());
    if (moved > 0) {
      const absl::Time now = absl::Now();
      q.file = absl::StrCat(path_, "/", A(kAuditLogFile), ".damaged-",
                            absl::FormatTime("%Y%m%dT%H%M%SZ", now, absl::UTCTimeZone()));
      EMPI_RETURN_IF_ERROR(AuditLog::CopyRange(log_path, scan.valid_end, moved, q.file));
    }
    quarantine_ = std::move(q);
    // Pending change events after the kept prefix are chained again below.
    synced = SyncedPoint{scan.sequence, scan.hash, scan.valid_end, false, false, {}};
    scan.tail = AuditLog::Tail();
  }
  seq = scan.sequence;
  hash = scan.hash;
  absl::flat_hash_set<uint64_t> in_log = std::move(scan.pending_in_log);
  uint64_t highest_pending = scan.highest_pending;
  const uint64_t valid_end = scan.valid_end;
  if (scan.lost_in_restart > 0) {
    std::fprintf(stderr,
                 "empi: audit log: %llu events after sequence %llu, written before the machine restarted, were never "
                 "synced and are lost; change events among them are chained again from the store\n",
                 static_cast<unsigned long long>(scan.lost_in_restart), static_cast<unsigned long long>(scan.sequence));
  }
  if (scan.tail.kind == AuditLog::Tail::kIncomplete) {
    std::fprintf(stderr,
                 "empi: audit log: cut 1 incomplete event (%llu bytes after sequence %llu): a process stopped while "
                 "writing it; every event the store anchored is intact\n",
                 static_cast<unsigned long long>(scan.tail.bytes), static_cast<unsigned long long>(seq));
  }
  EMPI_ASSIGN_OR_RETURN(std::unique_ptr<AuditLog> log, AuditLog::Open(log_path, valid_end));

  // Change events committed but not chained before a crash, in order.
  std::vector<AuditEvent> unchained_events;
  std::vector<uint64_t> unchained_ids;
  absl::Status bad;
  EMPI_RETURN_IF_ERROR(
      Scan(Cf::kMeta, kMetaAuditPendingPrefix, nullptr, [&](std::string_view key, std::string_view value) {
        StoredAuditEvent e;
        if (key.size() != 8 || !DecodeAuditValue(0, value, &e)) {
          bad = absl::DataLossError("a pending audit event does not decode");
          return false;
        }
        const uint64_t id = DecodeU64(key);
        highest_pending = std::max(highest_pending, id);
        if (!in_log.contains(id)) {
          unchained_events.push_back(std::move(e.event));
          unchained_ids.push_back(id);
        }
        return true;
      }));
  EMPI_RETURN_IF_ERROR(bad);
  {
    absl::MutexLock l(&chain_mu_);
    audit_log_ = std::move(log);
    last_sequence_ = seq;
    last_hash_ = std::move(hash);
    chained_pending_ = highest_pending;
  }
  {
    absl::MutexLock l(&mu_);
    next_pending_id_ = highest_pending + 1;
  }
  if (!unchained_events.empty()) {
    std::vector<Chained> unchained;
    for (size_t i = 0; i < unchained_events.size(); ++i) unchained.push_back({&unchained_events[i], unchained_ids[i]});
    EMPI_RETURN_IF_ERROR(AppendEvents(&unchained, /*sync=*/false));
  }
  // Synced point at the end of the log: later opens scan only what follows,
  // where every pending id is new.
  EMPI_RETURN_IF_ERROR(Checkpoint());
  StartCheckpointer();
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Bulk ingestion
//
// Two passes over the change sets' batches (count, then fill) give each
// column family one exactly sized array of 24-byte entries pointing into the
// batches; each array is sorted (ties in application order), superseded
// duplicates are dropped, and the array is cut into disjoint key ranges, one
// SST file each, written in parallel. Because the files of a family do not
// overlap, RocksDB places each at the lowest level it fits, which in a fresh
// store is the bottom level: the loaded data is never compacted again.

namespace {

// One put: its key as it lies in its change set's batch. In WriteBatch's
// record layout the value follows the key as varint32 length + bytes;
// BulkCollector checks that for every put, so the value need not be stored.
struct BulkEntry {
  uint64_t prefix;  // the key's first 8 bytes, big-endian, zero-padded
  const char* key;
  uint32_t key_size;  // top bit (kBulkDelete): a delete, which has no value
  uint32_t set;       // index of the change set; with `key`, the order of application
};
constexpr uint32_t kBulkDelete = 0x80000000u;
bool IsBulkDelete(const BulkEntry& e) { return (e.key_size & kBulkDelete) != 0; }
uint32_t BulkKeySize(const BulkEntry& e) { return e.key_size & ~kBulkDelete; }

// Sorting compares the inline prefix first: most comparisons then never
// touch the keys, which lie scattered over the batches (measured: 3x faster
// than comparing the keys alone).
uint64_t KeyPrefix(const char* key, size_t size) {
  uint64_t p = 0;
  for (size_t i = 0; i < 8; ++i) p = (p << 8) | (i < size ? static_cast<unsigned char>(key[i]) : 0);
  return p;
}

const char* DecodeVarint32(const char* p, uint32_t* v) {
  uint32_t result = 0;
  for (int shift = 0; shift <= 28; shift += 7) {
    const uint32_t byte = static_cast<unsigned char>(*p++);
    result |= (byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      return p;
    }
  }
  return nullptr;
}

rocksdb::Slice BulkKey(const BulkEntry& e) { return rocksdb::Slice(e.key, BulkKeySize(e)); }

rocksdb::Slice BulkValue(const BulkEntry& e) {
  uint32_t size = 0;
  if (IsBulkDelete(e)) return rocksdb::Slice();
  const char* p = DecodeVarint32(e.key + BulkKeySize(e), &size);
  return rocksdb::Slice(p, size);
}

// Key order; equal keys in the order they were put.
bool BulkLess(const BulkEntry& a, const BulkEntry& b) {
  if (a.prefix != b.prefix) return a.prefix < b.prefix;
  const int c = BulkKey(a).compare(BulkKey(b));
  if (c != 0) return c < 0;
  if (a.set != b.set) return a.set < b.set;
  return a.key < b.key;  // one batch is one contiguous buffer
}

// Counts (out == nullptr) or records the puts of one change set per family,
// refusing everything BulkIngest does not take. With `full` (a BulkLoad),
// deletes are taken too, and the person-id counter.
// Families written with merge operands, which a bulk load concatenates.
bool IsMergeFamily(int cf) {
  return cf == static_cast<int>(Cf::kPersonView) || cf == static_cast<int>(Cf::kViewHistory);
}

class BulkCollector : public rocksdb::WriteBatch::Handler {
 public:
  BulkCollector(const std::vector<int>* cf_of_id, uint32_t set, bool full, std::array<size_t, kNumCfs>* counts,
                std::array<BulkEntry*, kNumCfs>* out)
      : cf_of_id_(cf_of_id), set_(set), full_(full), counts_(counts), out_(out) {}

  rocksdb::Status PutCF(uint32_t id, const rocksdb::Slice& k, const rocksdb::Slice& v) override {
    return Collect(id, k, v, Op::kPut);
  }
  // person_view takes merges only, every other family puts only.
  rocksdb::Status MergeCF(uint32_t id, const rocksdb::Slice& k, const rocksdb::Slice& v) override {
    return Collect(id, k, v, Op::kMerge);
  }
  rocksdb::Status DeleteCF(uint32_t id, const rocksdb::Slice& k) override {
    if (!full_) return PutsOnly();
    return Collect(id, k, rocksdb::Slice(), Op::kDelete);
  }
  rocksdb::Status SingleDeleteCF(uint32_t, const rocksdb::Slice&) override { return PutsOnly(); }
  rocksdb::Status DeleteRangeCF(uint32_t, const rocksdb::Slice&, const rocksdb::Slice&) override { return PutsOnly(); }
  void LogData(const rocksdb::Slice&) override {}

 private:
  enum class Op { kPut, kMerge, kDelete };
  rocksdb::Status Collect(uint32_t id, const rocksdb::Slice& k, const rocksdb::Slice& v, Op op) {
    const int cf = id < cf_of_id_->size() ? (*cf_of_id_)[id] : -1;
    if (cf < 0) return rocksdb::Status::InvalidArgument(absl::StrCat("unknown column family id ", id));
    if (op != Op::kDelete && (op == Op::kMerge) != IsMergeFamily(cf)) return PutsOnly();
    if (cf == static_cast<int>(Cf::kAudit)) {
      return rocksdb::Status::InvalidArgument("the audit trail is written by Commit() only");
    }
    const std::string_view key = k.ToStringView();
    if (cf == static_cast<int>(Cf::kMeta) &&
        (((key == kMetaNextPersonId || key == kMetaNextChange) && !(full_ && op == Op::kPut)) ||
         key == kMetaAuditHead || key == kMetaFormatVersion)) {
      return rocksdb::Status::InvalidArgument(absl::StrCat("meta ", A(key), " is written by Commit() only"));
    }
    if (k.size() >= kBulkDelete) return rocksdb::Status::InvalidArgument("key longer than 2 GiB");
    if (out_ == nullptr) {
      ++(*counts_)[static_cast<size_t>(cf)];
      return rocksdb::Status::OK();
    }
    BulkEntry e{KeyPrefix(k.data(), k.size()), k.data(),
                static_cast<uint32_t>(k.size()) | (op == Op::kDelete ? kBulkDelete : 0u), set_};
    if (op != Op::kDelete) {
      const rocksdb::Slice value = BulkValue(e);
      if (value.data() != v.data() || value.size() != v.size()) {
        return rocksdb::Status::NotSupported("unexpected WriteBatch record layout");
      }
    }
    *(*out_)[static_cast<size_t>(cf)]++ = e;
    return rocksdb::Status::OK();
  }
  rocksdb::Status PutsOnly() const {
    return rocksdb::Status::InvalidArgument(
        full_ ? "bulk load takes puts, deletes and person_view merges only"
              : "bulk ingest takes puts (merges for person_view) only; apply the rest with Commit()");
  }
  const std::vector<int>* cf_of_id_;
  uint32_t set_;
  bool full_;
  std::array<size_t, kNumCfs>* counts_;
  std::array<BulkEntry*, kNumCfs>* out_;
};

// Target size of one bulk SST file (keys + values, before compression):
// large enough to keep the file count low, small enough that the biggest
// families split into pieces both cores can write at once.
constexpr uint64_t kBulkFileBytes = 128 << 20;

}  // namespace

absl::Status Store::Impl::BulkIngest(const std::vector<ChangeSet>& sets, BulkIngestStats* stats) {
  if (options_.read_only) return absl::FailedPreconditionError("store is open read-only");
  for (size_t i = 0; i < sets.size(); ++i) {
    if (sets[i].allocated_person_ids_) {
      return absl::InvalidArgumentError(
          absl::StrCat("bulk ingest: change set ", i, " allocated person ids; commit the counter with Commit() first"));
    }
    if (!sets[i].changes_.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("bulk ingest: change set ", i, " holds changes for the feed; use a BulkLoad or Commit()"));
    }
  }
  if (stats != nullptr) *stats = BulkIngestStats{};
  const std::string dir = BulkDir(db_->GetName());
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("bulk ingest: creating ", dir, ": ", ec.message()));
  struct RemoveDir {
    const std::string& dir;
    ~RemoveDir() {
      std::error_code ignored;
      std::filesystem::remove_all(dir, ignored);
    }
  } remove_dir{dir};
  BulkFiles files;
  BulkIngestStats totals;
  EMPI_RETURN_IF_ERROR(BulkWriteRound(sets, /*full=*/false, dir, "r0", &files, &totals));
  // Their history, as of the last change before them.
  std::vector<ChangeSet> history(1);
  history[0].cfs_ = handles_;
  NumberChanges(sets, NextChange(), &history[0]);
  BulkIngestStats history_stats;  // not the sets' own puts
  EMPI_RETURN_IF_ERROR(BulkWriteRound(history, /*full=*/false, dir, "r0h", &files, &history_stats));
  BeginStateChange();
  absl::Status ingested = BulkIngestFiles(files);
  EndStateChange();
  EMPI_RETURN_IF_ERROR(ingested);
  if (stats != nullptr) *stats = totals;
  return absl::OkStatus();
}

absl::Status Store::Impl::BulkWriteRound(const std::vector<ChangeSet>& sets, bool full, const std::string& dir,
                                         const std::string& round, BulkFiles* files_out, BulkIngestStats* stats) {
  if (options_.read_only) return absl::FailedPreconditionError("store is open read-only");
  if (sets.size() > UINT32_MAX) return absl::InvalidArgumentError("bulk ingest: too many change sets");
  const size_t n = sets.size();
  auto ids_of = [&](size_t i) { return sets[i].cfs_.empty() ? &cf_of_logical_id_ : &cf_of_real_id_; };
  std::vector<rocksdb::Status> errors(n);
  auto first_error = [&]() -> absl::Status {
    for (size_t i = 0; i < n; ++i) {
      if (!errors[i].ok()) return FromRocks(errors[i], absl::StrCat("bulk ingest: change set ", i));
    }
    return absl::OkStatus();
  };

  // Pass 1 counts and validates; pass 2 fills exactly sized arrays.
  std::vector<std::array<size_t, kNumCfs>> offsets(n);
  tbb::parallel_for(size_t{0}, n, [&](size_t i) {
    offsets[i].fill(0);
    BulkCollector count(ids_of(i), static_cast<uint32_t>(i), full, &offsets[i], nullptr);
    errors[i] = sets[i].batch_.Iterate(&count);
  });
  EMPI_RETURN_IF_ERROR(first_error());
  std::array<std::vector<BulkEntry>, kNumCfs> entries;
  for (size_t cf = 0; cf < kNumCfs; ++cf) {
    size_t total = 0;
    for (size_t i = 0; i < n; ++i) total += std::exchange(offsets[i][cf], total);
    entries[cf].resize(total);
  }
  tbb::parallel_for(size_t{0}, n, [&](size_t i) {
    std::array<BulkEntry*, kNumCfs> out;
    for (size_t cf = 0; cf < kNumCfs; ++cf) out[cf] = entries[cf].data() + offsets[i][cf];
    BulkCollector fill(ids_of(i), static_cast<uint32_t>(i), full, nullptr, &out);
    errors[i] = sets[i].batch_.Iterate(&fill);
  });
  EMPI_RETURN_IF_ERROR(first_error());
  offsets = {};

  // Families in parallel, so that small ones are written while big ones
  // sort: sort, keep the last put of each key, cut into disjoint files and
  // write them (in parallel too), then free the family's entries.
  struct CfResult {
    BulkIngestStats stats;
    std::vector<std::string> files;
    absl::Status status;
  };
  std::array<CfResult, kNumCfs> results;
  tbb::parallel_for(
      tbb::blocked_range<size_t>(0, kNumCfs, 1),
      [&](const tbb::blocked_range<size_t>& range) {
        for (size_t cf = range.begin(); cf != range.end(); ++cf) {
          std::vector<BulkEntry>& v = entries[cf];
          CfResult& out = results[cf];
          if (v.empty()) continue;
          out.stats.puts = v.size();
          tbb::parallel_sort(v.begin(), v.end(), BulkLess);
          // Puts and deletes: the last of each key wins. Merges
          // (person_view): the operands of each key since its last delete,
          // concatenated in order, are one operand; after a delete they are
          // folded onto an empty view and written as a put (what RocksDB
          // would read), because a file holds one entry per key.
          const bool merges = IsMergeFamily(static_cast<int>(cf));
          std::vector<std::string> merged;  // merged operand (or folded value) of kept entry i
          std::vector<uint8_t> kind;        // of kept entry i: 0 put or merge, 1 delete, 2 folded put
          size_t kept = 0;
          bool deleted = false;  // a delete of the current key seen
          for (size_t r = 0; r < v.size(); ++r) {
            const bool last = r + 1 == v.size() || BulkKey(v[r]) != BulkKey(v[r + 1]);
            if (merges) {
              if (merged.size() == kept) merged.emplace_back();
              if (IsBulkDelete(v[r])) {
                merged[kept].clear();
                deleted = true;
              } else {
                merged[kept].append(BulkValue(v[r]).data(), BulkValue(v[r]).size());
              }
            }
            if (!last) continue;
            uint8_t k = IsBulkDelete(v[r]) ? 1 : 0;
            if (merges && deleted && k == 0) {
              PersonView view;
              if (!ApplyPersonViewOps(merged[kept], &view)) {
                out.status = absl::InvalidArgumentError("bulk ingest: malformed person_view operand");
                break;
              }
              merged[kept] = EncodePersonView(view);
              k = 2;
            }
            kind.push_back(k);
            deleted = false;
            v[kept] = v[r];
            out.stats.bytes += BulkKeySize(v[r]) + (merges ? merged[kept].size() : BulkValue(v[r]).size());
            ++kept;
          }
          if (!out.status.ok()) continue;
          v.resize(kept);
          out.stats.keys = kept;
          const size_t files = static_cast<size_t>(std::clamp<uint64_t>(out.stats.bytes / kBulkFileBytes, 1, kept));
          out.stats.files = files;
          std::vector<rocksdb::Status> written(files);
          rocksdb::ColumnFamilyHandle* h = handle(static_cast<Cf>(cf));
          const rocksdb::Options cf_options = db_->GetOptions(h);
          for (size_t f = 0; f < files; ++f) {
            out.files.push_back(absl::StrCat(dir, "/", round, "-", A(CfName(static_cast<Cf>(cf))), "-", f, ".sst"));
          }
          tbb::parallel_for(size_t{0}, files, [&](size_t f) {
            rocksdb::SstFileWriter writer(rocksdb::EnvOptions(), cf_options, h, /*invalidate_page_cache=*/false);
            rocksdb::Status s = writer.Open(out.files[f]);
            for (size_t k = kept * f / files; s.ok() && k < kept * (f + 1) / files; ++k) {
              if (kind[k] == 1) {
                s = writer.Delete(BulkKey(v[k]));
              } else if (kind[k] == 2) {
                s = writer.Put(BulkKey(v[k]), merged[k]);
              } else {
                s = merges ? writer.Merge(BulkKey(v[k]), merged[k]) : writer.Put(BulkKey(v[k]), BulkValue(v[k]));
              }
            }
            if (s.ok()) s = writer.Finish();
            written[f] = s;
          });
          for (size_t f = 0; f < files && out.status.ok(); ++f) {
            out.status = FromRocks(written[f], absl::StrCat("bulk ingest: writing ", out.files[f]));
          }
          v = {};
        }
      },
      tbb::simple_partitioner());

  for (size_t cf = 0; cf < kNumCfs; ++cf) {
    const CfResult& r = results[cf];
    EMPI_RETURN_IF_ERROR(r.status);
    if (r.files.empty()) continue;
    stats->puts += r.stats.puts;
    stats->keys += r.stats.keys;
    stats->files += r.stats.files;
    stats->bytes += r.stats.bytes;
    for (const std::string& f : r.files) (*files_out)[cf].push_back(f);
  }
  return absl::OkStatus();
}

// One IngestExternalFiles call for every family: atomic across families
// (RocksDB writes one MANIFEST record for all of them). When a family's
// files overlap (a BulkLoad's rounds), RocksDB 7.8 puts them all in level 0
// and gives them increasing sequence numbers in the order listed
// (ExternalSstFileIngestionJob::Run assigns last_seqno + 1 to each file of
// files_to_ingest_, which keeps the caller's order), so a later round's
// entry of a key wins over an earlier one's.
absl::Status Store::Impl::BulkIngestFiles(const BulkFiles& files) {
  std::vector<rocksdb::IngestExternalFileArg> args;
  for (size_t cf = 0; cf < kNumCfs; ++cf) {
    if (files[cf].empty()) continue;
    rocksdb::IngestExternalFileArg& arg = args.emplace_back();
    arg.column_family = handle(static_cast<Cf>(cf));
    arg.external_files = files[cf];
    arg.options.move_files = true;
    // Stores are read by RocksDB 7.8 or later only: no need to rewrite the
    // sequence number into each file.
    arg.options.write_global_seqno = false;
  }
  if (args.empty()) return absl::OkStatus();
  EMPI_RETURN_IF_ERROR(Failure());
  EMPI_RETURN_IF_ERROR(Record(FromRocks(db_->IngestExternalFiles(args), "bulk ingest")));
  read_cache_->Clear();
  return absl::OkStatus();
}

// ---------------------------------------------------------------------------
// Store

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& path, const StoreOptions& options) {
  auto impl = std::make_unique<Impl>();
  EMPI_RETURN_IF_ERROR(impl->Open(path, options));
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

ChangeSet Store::NewChangeSet() const {
  ChangeSet c;
  c.cfs_ = impl_->handles_;
  return c;
}

absl::Status Store::Commit(ChangeSet* changes, const AuditEvent* event, bool sync, uint64_t* sequence) {
  return impl_->Commit(changes, event, sync, sequence);
}

absl::Status Store::BulkIngest(const std::vector<ChangeSet>& sets, BulkIngestStats* stats) {
  return impl_->BulkIngest(sets, stats);
}

BulkLoad::BulkLoad(void* impl, std::string dir) : impl_(impl), dir_(std::move(dir)) {}
BulkLoad::~BulkLoad() {
  static_cast<Store::Impl*>(impl_)->EndBulkChanges(/*ingested=*/false);  // no-op after a Finish
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

absl::Status BulkLoad::AddRound(const std::vector<ChangeSet>& sets) {
  if (finished_) return absl::FailedPreconditionError("bulk load: already finished");
  auto* impl = static_cast<Store::Impl*>(impl_);
  auto files = std::make_unique<Store::Impl::BulkFiles>();
  const std::string round = absl::StrCat("r", rounds_);
  EMPI_RETURN_IF_ERROR(impl->BulkWriteRound(sets, /*full=*/true, dir_, round, files.get(), &stats_));
  // The round's changes for the feed, numbered in set order, and its
  // history, in files of their own with the counter.
  size_t n = 0;
  bool history = false;
  for (const ChangeSet& c : sets) {
    n += c.changes_.size();
    history |= c.has_history();
  }
  if (n > 0 || history) {
    std::vector<ChangeSet> numbered(1);
    numbered[0].cfs_ = impl->handles_;
    const uint64_t first = n > 0 ? impl->ReserveBulkChanges(n) : impl->NextChange();
    const uint64_t next = impl->NumberChanges(sets, first, &numbered[0]);
    if (n > 0) numbered[0].PutMeta(kMetaNextChange, EncodeU64(next));
    EMPI_RETURN_IF_ERROR(
        impl->BulkWriteRound(numbered, /*full=*/true, dir_, absl::StrCat(round, "c"), files.get(), &stats_));
  }
  if (files_ == nullptr) files_ = std::make_shared<Store::Impl::BulkFiles>();
  auto& all = *std::static_pointer_cast<Store::Impl::BulkFiles>(files_);
  for (size_t cf = 0; cf < kNumCfs; ++cf) {
    for (std::string& f : (*files)[cf]) all[cf].push_back(std::move(f));
  }
  ++rounds_;
  return absl::OkStatus();
}

absl::Status BulkLoad::Finish() {
  if (finished_) return absl::FailedPreconditionError("bulk load: already finished");
  finished_ = true;
  auto* impl = static_cast<Store::Impl*>(impl_);
  impl->BeginStateChange();
  absl::Status s = files_ == nullptr ? absl::OkStatus()
                                     : impl->BulkIngestFiles(*std::static_pointer_cast<Store::Impl::BulkFiles>(files_));
  impl->EndBulkChanges(/*ingested=*/s.ok());
  impl->EndStateChange();
  return s;
}

absl::StatusOr<std::unique_ptr<BulkLoad>> Store::StartBulkLoad() {
  if (impl_->options_.read_only) return absl::FailedPreconditionError("store is open read-only");
  // A load adds up to 34 level-0 runs per family (one per round) and, in a
  // bulk_load store, compacts nothing. Runs an earlier load left are
  // compacted first, so that no family ends above RocksDB's write stop of
  // 36 level-0 files, which would hold the next ordinary write until a
  // compaction of the whole level finished.
  EMPI_RETURN_IF_ERROR(
      impl_->CompactFamiliesWhere([&](Cf cf) { return impl_->Level0Files(cf) > kBulkLoadLevel0Before; }).status());
  const std::string dir = BulkDir(impl_->db_->GetName());
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("bulk load: creating ", dir, ": ", ec.message()));
  return std::unique_ptr<BulkLoad>(new BulkLoad(impl_.get(), dir));
}

absl::Status Store::CompactPersonView() { return impl_->CompactPersonView(); }
absl::StatusOr<int> Store::Compact() { return impl_->Compact(); }
absl::StatusOr<uint64_t> Store::WarmCache() { return impl_->WarmCache(); }
uint64_t Store::block_cache_usage() const { return impl_->BlockCacheUsage(); }

uint64_t Store::AllocatePersonIds(uint64_t n, ChangeSet* changes) {
  const uint64_t first = impl_->AllocatePersonIds(n);
  changes->allocated_person_ids_ = true;
  changes->PutMeta(kMetaNextPersonId, EncodeU64(first + n));
  return first;
}

absl::StatusOr<uint64_t> Store::NextHistorySequence(ChangeSet* changes) const {
  EMPI_ASSIGN_OR_RETURN(std::optional<std::string> v, GetMeta("history_next"));
  uint64_t next = v ? std::strtoull(v->c_str(), nullptr, 10) : 1;
  if (next == 0) next = 1;
  changes->PutMeta("history_next", std::to_string(next + 1));
  return next;
}

absl::StatusOr<std::optional<StoredRecord>> Store::GetRecord(std::string_view record_key,
                                                             const rocksdb::Snapshot* snapshot) const {
  EMPI_ASSIGN_OR_RETURN(std::optional<std::string> value, impl_->Get(Cf::kRecords, record_key, snapshot));
  if (!value.has_value()) return std::nullopt;
  StoredRecord r;
  if (!DecodeRecordValue(record_key, *value, &r)) {
    return absl::DataLossError(absl::StrCat("records: value of ", RecordName(record_key), " does not decode"));
  }
  return r;
}

absl::StatusOr<std::vector<std::optional<StoredRecord>>> Store::GetRecords(const std::vector<std::string>& record_keys,
                                                                           const rocksdb::Snapshot* snapshot) const {
  std::vector<std::optional<StoredRecord>> out(record_keys.size());
  EMPI_RETURN_IF_ERROR(impl_->MultiGet(Cf::kRecords, record_keys, snapshot, [&](size_t i, std::string_view value) {
    StoredRecord& r = out[i].emplace();
    if (!DecodeRecordValue(record_keys[i], value, &r)) {
      return absl::DataLossError(absl::StrCat("records: value of ", RecordName(record_keys[i]), " does not decode"));
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::optional<PersonValue>> Store::GetPerson(uint64_t person_id,
                                                            const rocksdb::Snapshot* snapshot) const {
  EMPI_ASSIGN_OR_RETURN(std::optional<std::string> value, impl_->Get(Cf::kPersons, EncodeU64(person_id), snapshot));
  if (!value.has_value()) return std::nullopt;
  PersonValue p;
  if (!DecodePersonValue(*value, &p)) {
    return absl::DataLossError(absl::StrCat("persons: value of person ", person_id, " does not decode"));
  }
  return p;
}

absl::StatusOr<std::optional<PersonView>> Store::GetPersonView(uint64_t person_id,
                                                               const rocksdb::Snapshot* snapshot) const {
  return impl_->ReadPersonView(person_id, snapshot);
}

namespace {
// Whether `view` lists `record_key` (members are in key order).
bool ViewHolds(const PersonView& view, std::string_view record_key) {
  auto it = std::lower_bound(view.members.begin(), view.members.end(), record_key,
                             [](const PersonViewMember& m, std::string_view k) { return m.record_key < k; });
  return it != view.members.end() && it->record_key == record_key;
}
}  // namespace

absl::StatusOr<std::optional<Store::RecordPerson>> Store::LatestRecordPerson(std::string_view record_key) const {
  ReadCache& cache = *impl_->read_cache_;
  if (std::optional<uint64_t> pid = cache.PersonOf(record_key)) {
    // Both cached values are at least as new as the last acknowledged write;
    // they belong to one state when the view lists the record.
    std::shared_ptr<const PersonView> view = cache.View(*pid);
    if (view != nullptr && ViewHolds(*view, record_key)) return RecordPerson{*pid, std::move(view)};
  }
  const uint64_t epoch = cache.epoch();
  const rocksdb::Snapshot* snapshot = GetSnapshot();
  absl::StatusOr<std::optional<uint64_t>> person = impl_->PersonOfRecord(record_key, snapshot);
  absl::StatusOr<std::optional<PersonView>> view;
  if (person.ok() && person->has_value()) view = impl_->ReadPersonView(**person, snapshot);
  ReleaseSnapshot(snapshot);
  EMPI_RETURN_IF_ERROR(person.status());
  if (!person->has_value()) return std::nullopt;
  EMPI_RETURN_IF_ERROR(view.status());
  RecordPerson out;
  out.person_id = **person;
  if (view->has_value()) {
    out.view = std::make_shared<const PersonView>(std::move(**view));
    cache.FillView(epoch, out.person_id, out.view);
    cache.FillPersonOf(epoch, record_key, out.person_id);
  }
  return out;
}

absl::StatusOr<std::shared_ptr<const PersonView>> Store::LatestPersonView(uint64_t person_id) const {
  ReadCache& cache = *impl_->read_cache_;
  if (std::shared_ptr<const PersonView> view = cache.View(person_id)) return view;
  const uint64_t epoch = cache.epoch();
  EMPI_ASSIGN_OR_RETURN(std::optional<PersonView> view, GetPersonView(person_id, nullptr));
  if (!view.has_value()) return nullptr;
  auto out = std::make_shared<const PersonView>(std::move(*view));
  cache.FillView(epoch, person_id, out);
  return out;
}

ReadCache::Stats Store::read_cache_stats() const { return impl_->read_cache_->stats(); }

absl::StatusOr<std::vector<std::string>> Store::PersonRecords(uint64_t person_id,
                                                              const rocksdb::Snapshot* snapshot) const {
  std::vector<std::string> keys;
  EMPI_RETURN_IF_ERROR(
      impl_->Scan(Cf::kPersonRecords, EncodeU64(person_id), snapshot, [&](std::string_view key, std::string_view) {
        keys.emplace_back(key);
        return true;
      }));
  return keys;
}

absl::StatusOr<std::vector<std::string>> Store::BlockMembers(uint8_t rule, std::string_view blocking_key, size_t limit,
                                                             bool* truncated, const rocksdb::Snapshot* snapshot) const {
  std::vector<std::string> keys;
  bool more = false;
  EMPI_RETURN_IF_ERROR(impl_->Scan(Cf::kBlockKeys, BlockKey(rule, blocking_key, ""), snapshot,
                                   [&](std::string_view key, std::string_view) {
                                     if (keys.size() >= limit) {
                                       more = true;
                                       return false;
                                     }
                                     keys.emplace_back(key);
                                     return true;
                                   }));
  if (truncated != nullptr) *truncated = more;
  return keys;
}

absl::StatusOr<std::vector<std::string>> Store::RecordsWithNhs(uint64_t nhs, const rocksdb::Snapshot* snapshot) const {
  std::vector<std::string> keys;
  EMPI_RETURN_IF_ERROR(
      impl_->Scan(Cf::kNhsIndex, EncodeU64(nhs), snapshot, [&](std::string_view key, std::string_view) {
        keys.emplace_back(key);
        return true;
      }));
  return keys;
}

absl::StatusOr<std::optional<std::string>> Store::GetModel() const {
  return impl_->Get(Cf::kModel, kModelKey, nullptr);
}

absl::StatusOr<std::optional<std::string>> Store::GetMeta(std::string_view key) const {
  return impl_->Get(Cf::kMeta, key, nullptr);
}

absl::StatusOr<bool> Store::IsNeverLink(std::string_view a, std::string_view b) const {
  EMPI_ASSIGN_OR_RETURN(std::optional<std::string> value,
                        impl_->Get(Cf::kManual, absl::StrCat(A(kNeverPrefix), PairKey(a, b)), nullptr));
  return value.has_value();
}

absl::StatusOr<std::vector<std::string>> Store::ReviewPartners(std::string_view record_key,
                                                               const rocksdb::Snapshot* snapshot) const {
  std::vector<std::string> partners;
  EMPI_RETURN_IF_ERROR(impl_->Scan(Cf::kReview, DirectedPairKey(record_key, ""), snapshot,
                                   [&](std::string_view partner, std::string_view) {
                                     partners.emplace_back(partner);
                                     return true;
                                   }));
  return partners;
}

absl::Status Store::ForEachAuditEvent(const std::function<bool(const StoredAuditEvent&)>& fn) const {
  return impl_->ForEachAuditEvent(fn);
}

absl::Status Store::VerifyAuditChain(uint64_t* events_checked, uint64_t* incomplete_tail_bytes) const {
  return impl_->VerifyAuditChain(events_checked, incomplete_tail_bytes);
}

absl::Status Store::ForEachRecord(const std::function<bool(const StoredRecord&)>& fn,
                                  const rocksdb::Snapshot* snapshot) const {
  const rocksdb::Snapshot* own = snapshot == nullptr ? GetSnapshot() : nullptr;
  absl::Status bad;
  absl::Status scan =
      impl_->Scan(Cf::kRecords, "", snapshot ? snapshot : own, [&](std::string_view key, std::string_view value) {
        StoredRecord r;
        if (!DecodeRecordValue(key, value, &r)) {
          bad = absl::DataLossError(absl::StrCat("records: value of ", RecordName(key), " does not decode"));
          return false;
        }
        return fn(r);
      });
  if (own != nullptr) ReleaseSnapshot(own);
  EMPI_RETURN_IF_ERROR(scan);
  return bad;
}

absl::Status Store::ForEachPerson(const std::function<bool(uint64_t, const PersonValue&)>& fn,
                                  const rocksdb::Snapshot* snapshot) const {
  absl::Status bad;
  EMPI_RETURN_IF_ERROR(impl_->Scan(Cf::kPersons, "", snapshot, [&](std::string_view key, std::string_view value) {
    PersonValue p;
    if (key.size() != 8 || !DecodePersonValue(value, &p)) {
      bad = absl::DataLossError(
          absl::StrCat("persons: entry for person ", key.size() == 8 ? DecodeU64(key) : 0, " does not decode"));
      return false;
    }
    return fn(DecodeU64(key), p);
  }));
  return bad;
}

absl::Status Store::ForEachHistory(uint64_t person_id, const std::function<bool(uint64_t, std::string_view)>& fn,
                                   const rocksdb::Snapshot* snapshot) const {
  absl::Status bad;
  EMPI_RETURN_IF_ERROR(
      impl_->Scan(Cf::kHistory, EncodeU64(person_id), snapshot, [&](std::string_view key, std::string_view value) {
        if (key.size() != 8) {
          bad = absl::DataLossError(absl::StrCat("history: malformed key for person ", person_id));
          return false;
        }
        return fn(DecodeU64(key), value);
      }));
  return bad;
}

absl::Status Store::ForEachHistoryEvent(const std::function<bool(uint64_t, uint64_t, std::string_view)>& fn) const {
  absl::Status bad;
  EMPI_RETURN_IF_ERROR(impl_->Scan(Cf::kHistory, "", nullptr, [&](std::string_view key, std::string_view value) {
    if (key.size() != 16) {
      bad = absl::DataLossError("history: malformed key");
      return false;
    }
    return fn(DecodeU64(key.substr(0, 8)), DecodeU64(key.substr(8)), value);
  }));
  return bad;
}

absl::Status Store::ForEachChange(uint64_t since, const std::function<bool(const StoredChange&)>& fn) const {
  rocksdb::ReadOptions ro;
  ro.total_order_seek = true;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db_->NewIterator(ro, impl_->handle(Cf::kChanges)));
  for (it->Seek(EncodeU64(since + 1)); it->Valid(); it->Next()) {
    StoredChange c;
    if (it->key().size() != 8 || !DecodeChange(it->value().ToStringView(), &c.change)) {
      return absl::DataLossError("changes: an entry does not decode");
    }
    c.sequence = DecodeU64(it->key().ToStringView());
    if (!fn(c)) return absl::OkStatus();
  }
  return FromRocks(it->status(), "scanning changes");
}

absl::StatusOr<uint64_t> Store::ReadAtChange(const std::function<absl::Status()>& read) const {
  for (;;) {
    const uint64_t before = impl_->state_epoch_.load(std::memory_order_acquire);
    if (before % 2 == 1) {
      std::this_thread::yield();
      continue;
    }
    const uint64_t change = last_change();
    EMPI_RETURN_IF_ERROR(read());
    if (impl_->state_epoch_.load(std::memory_order_acquire) == before) return change;
  }
}

absl::StatusOr<std::optional<PersonView>> Store::PersonViewAt(uint64_t person_id, uint64_t change) const {
  PersonView view;
  bool any = false;
  absl::Status bad;
  const std::string prefix = EncodeU64(person_id);
  EMPI_RETURN_IF_ERROR(impl_->Scan(Cf::kViewHistory, prefix, nullptr, [&](std::string_view key, std::string_view ops) {
    if (key.size() != 8) {
      bad = absl::DataLossError(absl::StrCat("view_history of person ", person_id, ": a key is malformed"));
      return false;
    }
    if (DecodeU64(key) > change) return false;
    if (!ApplyPersonViewOps(ops, &view)) {
      bad = absl::DataLossError(absl::StrCat("view_history of person ", person_id, ": ops do not decode"));
      return false;
    }
    any = true;
    return true;
  }));
  EMPI_RETURN_IF_ERROR(bad);
  if (!any || (!view.person && view.members.empty())) return std::nullopt;
  return view;
}

absl::StatusOr<uint64_t> Store::RecordPersonAt(std::string_view record_key, uint64_t change) const {
  rocksdb::ReadOptions ro;
  ro.total_order_seek = true;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db_->NewIterator(ro, impl_->handle(Cf::kRecordHistory)));
  // The record's last entry at or before `change`. Record ids hold no NUL
  // (feeds refuse it), so another record's key never sorts between.
  it->SeekForPrev(RecordHistoryKey(record_key, change));
  EMPI_RETURN_IF_ERROR(FromRocks(it->status(), "reading record_history"));
  if (!it->Valid()) return 0;
  const std::string_view key = it->key().ToStringView();
  if (key.size() != record_key.size() + 8 || key.substr(0, record_key.size()) != record_key) return 0;
  if (it->value().size() != 8) {
    return absl::DataLossError(absl::StrCat("record_history of ", RecordName(record_key), ": a value is malformed"));
  }
  return DecodeU64(it->value().ToStringView());
}

absl::StatusOr<uint64_t> Store::ChangeAtTime(int64_t time_us) const {
  // Binary search: changes are stamped in the order they are made.
  uint64_t lo = 0, hi = last_change();  // answer in [lo, hi]
  while (lo < hi) {
    const uint64_t mid = lo + (hi - lo + 1) / 2;
    EMPI_ASSIGN_OR_RETURN(std::optional<std::string> value, impl_->Get(Cf::kChanges, EncodeU64(mid), nullptr));
    Change c;
    if (!value.has_value() || !DecodeChange(*value, &c)) {
      return absl::DataLossError(absl::StrCat("changes: entry ", mid, " is missing or does not decode"));
    }
    if (c.time_us <= time_us) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return lo;
}

uint64_t Store::history_from() const { return impl_->history_from_; }

uint64_t Store::last_change() const {
  absl::MutexLock l(&impl_->change_mu_);
  return impl_->last_change_;
}

uint64_t Store::WaitForChange(uint64_t after, absl::Duration timeout) const {
  struct Past {
    const uint64_t* last;
    uint64_t after;
    static bool Check(Past* p) { return *p->last > p->after; }
  } past{&impl_->last_change_, after};
  absl::MutexLock l(&impl_->change_mu_);
  impl_->change_mu_.AwaitWithTimeout(absl::Condition(&Past::Check, &past), timeout);
  return impl_->last_change_;
}

absl::Status Store::ForEachReview(const std::function<bool(std::string_view, std::string_view, const ReviewValue&)>& fn,
                                  const rocksdb::Snapshot* snapshot, std::string_view after) const {
  absl::Status bad;
  EMPI_RETURN_IF_ERROR(impl_->Scan(
      Cf::kReview, "", snapshot,
      [&](std::string_view key, std::string_view value) {
        if (!after.empty() && key == after) return true;
        std::string a, b;
        ReviewValue v;
        if (!SplitPairKey(key, &a, &b) || !DecodeReviewValue(value, &v)) {
          bad = absl::DataLossError("review: an entry does not decode");
          return false;
        }
        return b < a || fn(a, b, v);  // (b, a): the same pair again
      },
      after));
  return bad;
}

absl::Status Store::ForEachNeverLink(const std::function<bool(std::string_view, std::string_view)>& fn,
                                     const rocksdb::Snapshot* snapshot) const {
  absl::Status bad;
  EMPI_RETURN_IF_ERROR(impl_->Scan(Cf::kManual, kNeverPrefix, snapshot, [&](std::string_view key, std::string_view) {
    std::string a, b;
    if (!SplitPairKey(key, &a, &b)) {
      bad = absl::DataLossError("manual: a never-link entry does not decode");
      return false;
    }
    return fn(a, b);
  }));
  return bad;
}

absl::Status Store::ForEachSupersession(const std::function<bool(uint64_t, uint64_t, int64_t)>& fn,
                                        const rocksdb::Snapshot* snapshot) const {
  absl::Status bad;
  EMPI_RETURN_IF_ERROR(
      impl_->Scan(Cf::kManual, kSupersedePrefix, snapshot, [&](std::string_view key, std::string_view value) {
        if (key.size() != 8 || value.size() != 16) {
          bad = absl::DataLossError("manual: a supersession entry does not decode");
          return false;
        }
        return fn(DecodeU64(key), DecodeU64(value.substr(0, 8)), static_cast<int64_t>(DecodeU64(value.substr(8))));
      }));
  return bad;
}

absl::Status Store::ForEachPendingObjection(const std::function<bool(std::string_view, const ObjectionValue&)>& fn,
                                            const rocksdb::Snapshot* snapshot) const {
  absl::Status bad;
  EMPI_RETURN_IF_ERROR(
      impl_->Scan(Cf::kObjections, kPendingPrefix, snapshot, [&](std::string_view key, std::string_view value) {
        ObjectionValue v;
        if (!DecodeObjectionValue(value, &v)) {
          bad = absl::DataLossError("objections: a pending objection does not decode");
          return false;
        }
        return fn(key, v);
      }));
  return bad;
}

const rocksdb::Snapshot* Store::GetSnapshot() const { return impl_->db_->GetSnapshot(); }
void Store::ReleaseSnapshot(const rocksdb::Snapshot* s) const { impl_->db_->ReleaseSnapshot(s); }
rocksdb::DB* Store::db() const { return impl_->db_; }
rocksdb::ColumnFamilyHandle* Store::cf(Cf cf) const { return impl_->handle(cf); }

std::optional<AuditQuarantine> Store::audit_quarantine() const { return impl_->quarantine_; }

absl::Status Store::SyncWal() {
  if (impl_->options_.read_only) return absl::OkStatus();
  return impl_->SyncWal();
}

absl::Status Store::Flush() {
  if (impl_->options_.read_only) return absl::OkStatus();
  rocksdb::FlushOptions fo;
  EMPI_RETURN_IF_ERROR(impl_->Failure());
  EMPI_RETURN_IF_ERROR(impl_->Record(FromRocks(impl_->db_->Flush(fo, impl_->handles_), "flush")));
  EMPI_RETURN_IF_ERROR(impl_->SyncWal());
  return impl_->Checkpoint();
}

}  // namespace empi::index
