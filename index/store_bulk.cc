// Copyright EMPI developers.
//
// store_bulk.cc: bulk ingestion: change sets sorted into SST files and
// ingested in one call (Store::BulkIngest, BulkLoad).
#include <algorithm>
#include <filesystem>

#include "index/store_impl.h"
#include "rocksdb/sst_file_writer.h"
#include "tbb/blocked_range.h"
#include "tbb/parallel_for.h"
#include "tbb/parallel_sort.h"
#include "tbb/partitioner.h"

namespace empi::index {

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

}  // namespace empi::index
