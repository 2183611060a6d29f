// Copyright EMPI developers.
//
// store.cc: Store (open, group commit, reads) and ChangeSet. The audit
// chain is in store_audit.cc, bulk ingestion in store_bulk.cc, format
// upgrades in store_upgrade.cc (store_impl.h); encodings live in codec.cc
// and audit.cc.
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
#include <iterator>
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
#include "index/store_impl.h"
#include "rocksdb/cache.h"
#include "rocksdb/convenience.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/merge_operator.h"
#include "rocksdb/slice_transform.h"
#include "rocksdb/table.h"

namespace empi::index {
namespace {
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
void ChangeSet::PutNhs(uint64_t nhs, std::string_view record_key, bool relatives) {
  std::string key = NhsIndexKey(nhs, record_key);
  batch_.Put(Handle(Cf::kNhsIndex), key, relatives ? kNhsIndexRelatives : "").PermitUncheckedError();
  nhs_ops_.emplace_back(std::move(key), relatives ? kNhsHeldAsRelatives : kNhsHeld);
}
void ChangeSet::DeleteNhs(uint64_t nhs, std::string_view record_key) {
  std::string key = NhsIndexKey(nhs, record_key);
  batch_.Delete(Handle(Cf::kNhsIndex), key).PermitUncheckedError();
  nhs_ops_.emplace_back(std::move(key), kNhsReleased);
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
  nhs_ops_.emplace_back(EncodeU64(old_nhs), EncodeU64(new_nhs));
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
  auto is = [&](std::initializer_list<std::string_view> any) {
    return version.has_value() && std::find(any.begin(), any.end(), *version) != any.end();
  };
  // An older format is upgraded only by a writer.
  auto writable = [&]() -> absl::Status {
    if (!options_.read_only) return absl::OkStatus();
    return absl::FailedPreconditionError(absl::StrCat(
        "store ", path_, " has format version ", *version,
        "; open it once for writing (empi link or empi ingest) to upgrade it to version ", kFormatVersion));
  };
  if (is({"1", "2", "3"})) {
    EMPI_RETURN_IF_ERROR(writable());
    if (*version == "1") EMPI_RETURN_IF_ERROR(UpgradeFromVersion1());
    // Version 3 continues the audit chain in audit.log: nothing to convert
    // from version 2.
    EMPI_RETURN_IF_ERROR(UpgradeToVersion4());
    version = "6";
  }
  // Version 4 differs from 5 only in holding no supersession, and 5 from 6
  // in having no change feed (the family is created empty, above); 6 from 7
  // in having no history.
  if (is({"4", "5", "6"})) {
    EMPI_RETURN_IF_ERROR(writable());
    EMPI_RETURN_IF_ERROR(UpgradeToVersion7());
    version = "8";
  }
  // Version 8 differs from 7 only in audit events that may carry request
  // and correlation ids, which this build reads either way; 9 from 8 in
  // having no nhs_history (a read-only open is refused above, the family
  // being missing).
  if (is({"7", "8"})) {
    EMPI_RETURN_IF_ERROR(writable());
    EMPI_RETURN_IF_ERROR(UpgradeToVersion9());
    version = "9";
  }
  // Version 10 differs from 9 only in marking a number held as a
  // relative's, which a version-9 store never does: nothing to convert,
  // the marks are judged by the next relink (kMetaNhsMarksPending). A
  // version-9 build would read a mark as malformed, hence the new version.
  if (is({"9"})) {
    EMPI_RETURN_IF_ERROR(writable());
    rocksdb::WriteBatch batch;
    batch.Put(handle(Cf::kMeta), kMetaNhsMarksPending, "").PermitUncheckedError();
    batch.Put(handle(Cf::kMeta), kMetaFormatVersion, want).PermitUncheckedError();
    rocksdb::WriteOptions wo;
    wo.sync = true;
    EMPI_RETURN_IF_ERROR(Record(FromRocks(db_->Write(wo, &batch), "upgrading to format version 10")));
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
  for (auto [key, out] :
       {std::pair{kMetaHistoryFrom, &history_from_}, std::pair{kMetaNhsHistoryFrom, &nhs_history_from_}}) {
    EMPI_ASSIGN_OR_RETURN(std::optional<std::string> from, Get(Cf::kMeta, key, nullptr));
    if (!from.has_value()) continue;
    if (from->size() != 8) return absl::DataLossError(absl::StrCat("meta ", A(key), " is not a sequence"));
    *out = DecodeU64(*from);
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
  EMPI_ASSIGN_OR_RETURN(NhsHolders held, NhsHoldersNow(nhs, snapshot));
  return std::move(held.records);
}

std::vector<std::string> Store::NhsHolders::Owners() const {
  std::vector<std::string> own;
  std::set_difference(records.begin(), records.end(), relatives.begin(), relatives.end(), std::back_inserter(own));
  return own.empty() ? records : own;
}

absl::StatusOr<Store::NhsHolders> Store::NhsHoldersNow(uint64_t nhs, const rocksdb::Snapshot* snapshot) const {
  NhsHolders out;
  EMPI_RETURN_IF_ERROR(
      impl_->Scan(Cf::kNhsIndex, EncodeU64(nhs), snapshot, [&](std::string_view key, std::string_view value) {
        out.records.emplace_back(key);
        if (value == kNhsIndexRelatives) out.relatives.emplace_back(key);
        return true;
      }));
  return out;
}

absl::StatusOr<bool> Store::HoldsAsRelatives(uint64_t nhs, std::string_view record_key,
                                             const rocksdb::Snapshot* snapshot) const {
  EMPI_ASSIGN_OR_RETURN(std::optional<std::string> mark,
                        impl_->Get(Cf::kNhsIndex, NhsIndexKey(nhs, record_key), snapshot));
  return mark.has_value() && *mark == kNhsIndexRelatives;
}

absl::Status Store::ForEachNhsHolders(const std::function<bool(uint64_t nhs, const NhsHolders& held)>& fn) const {
  NhsHolders held;
  uint64_t current = 0;
  bool more = true, bad = false;
  EMPI_RETURN_IF_ERROR(impl_->Scan(Cf::kNhsIndex, "", nullptr, [&](std::string_view key, std::string_view value) {
    if (key.size() <= 8) {
      bad = true;
      return false;
    }
    const uint64_t nhs = DecodeU64(key.substr(0, 8));
    if (nhs != current && !held.records.empty()) {
      more = fn(current, held);
      held = NhsHolders{};
    }
    current = nhs;
    held.records.emplace_back(key.substr(8));
    if (value == kNhsIndexRelatives) held.relatives.emplace_back(key.substr(8));
    return more;
  }));
  if (bad) return absl::DataLossError("nhs_index: a key is malformed");
  if (more && !held.records.empty()) fn(current, held);
  return absl::OkStatus();
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

absl::Status Store::ForEachReviewOf(std::string_view record_key,
                                    const std::function<bool(std::string_view, const ReviewValue&)>& fn,
                                    const rocksdb::Snapshot* snapshot) const {
  absl::Status bad;
  EMPI_RETURN_IF_ERROR(impl_->Scan(Cf::kReview, DirectedPairKey(record_key, ""), snapshot,
                                   [&](std::string_view partner, std::string_view value) {
                                     ReviewValue v;
                                     if (!DecodeReviewValue(value, &v)) {
                                       bad = absl::DataLossError("review: an entry does not decode");
                                       return false;
                                     }
                                     return fn(partner, v);
                                   }));
  return bad;
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

absl::StatusOr<Store::NhsHolders> Store::NhsHoldersAt(uint64_t nhs, uint64_t change) const {
  NhsHolders out;
  absl::Status bad;
  // Entries of one record (or of the supersession, record key empty) are
  // adjacent and in change order: the last at or before `change` counts.
  std::string current;
  char holds = kNhsReleased[0];  // the record's last value at or before `change`
  auto close = [&]() {
    if (holds != kNhsReleased[0]) out.records.push_back(current);
    if (holds == kNhsHeldAsRelatives[0]) out.relatives.push_back(current);
    holds = kNhsReleased[0];
  };
  EMPI_RETURN_IF_ERROR(
      impl_->Scan(Cf::kNhsHistory, EncodeU64(nhs), nullptr, [&](std::string_view key, std::string_view value) {
        if (key.size() < 8) {
          bad = absl::DataLossError("nhs_history: a key is malformed");
          return false;
        }
        const std::string_view record = key.substr(0, key.size() - 8);
        if (record != current) {
          close();
          current = record;
        }
        if (DecodeU64(key.substr(record.size())) > change) return true;
        if (record.empty()) {
          if (value.size() != 8) bad = absl::DataLossError("nhs_history: a supersession is malformed");
          out.superseded_by = bad.ok() ? DecodeU64(value) : 0;
        } else if (value == kNhsHeld || value == kNhsHeldAsRelatives || value == kNhsReleased) {
          holds = value[0];
        } else {
          bad = absl::DataLossError(absl::StrCat("nhs_history of ", RecordName(record), ": a value is malformed"));
        }
        return bad.ok();
      }));
  EMPI_RETURN_IF_ERROR(bad);
  close();
  return out;
}

absl::StatusOr<uint64_t> Store::SupersededBy(uint64_t nhs, const rocksdb::Snapshot* snapshot) const {
  EMPI_ASSIGN_OR_RETURN(std::optional<std::string> value,
                        impl_->Get(Cf::kManual, absl::StrCat(A(kSupersedePrefix), A(EncodeU64(nhs))), snapshot));
  if (!value.has_value()) return 0;
  if (value->size() != 16) return absl::DataLossError("manual: a supersession entry does not decode");
  return DecodeU64(value->substr(0, 8));
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
uint64_t Store::nhs_history_from() const { return impl_->nhs_history_from_; }

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

absl::Status Store::WriteFailure() const { return impl_->Failure(); }

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
