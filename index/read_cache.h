// Copyright EMPI developers.
//
// read_cache.h: the latest committed person of each record and view of each
// person, in memory, for the real-time reads that must answer in
// microseconds (resolve, view decision). RocksDB point reads cost 4-8 us each
// on the shared 2-core machine; a hit here costs a hash lookup.
//
// Correctness rests on one rule: every committed write that touches the
// records or person_view family invalidates the keys it touched before the
// writer is told its commit succeeded (Store does this for every write path),
// and a fill read from RocksDB is dropped if any invalidation happened after
// the reader noted epoch() and before the fill. The sequence, for a reader:
//
//   const uint64_t e = cache.epoch();          // before taking the snapshot
//   ... read view at a snapshot ...
//   cache.FillView(e, person_id, view);        // dropped if epoch() != e
//
// and for a writer: write to RocksDB, then Invalidate(), which bumps the
// epoch before erasing. A reader whose snapshot predates the write either
// fills before the erase (and is erased) or sees the bumped epoch (and does
// not fill). So a cached value is never older than the last acknowledged
// write; an objection, once registered, is never answered from a stale view.
//
// Invalidate returns the keys it found cached: the writer reads them again
// and fills them (as a reader would, from the epoch after its Invalidate),
// so that a person who is being looked at stays cached while their records
// change, instead of costing the next reader two RocksDB reads.
//
// Bounded: each of the 64 shards holds at most its share of `max_persons`
// views and four times as many record entries; a full shard is emptied
// (refilled on demand). Thread-safe.
#ifndef EMPI_INDEX_READ_CACHE_H_
#define EMPI_INDEX_READ_CACHE_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace empi::index {

struct PersonView;

class ReadCache {
 public:
  // max_persons == 0 disables the cache: lookups miss, fills are dropped.
  explicit ReadCache(size_t max_persons);

  bool enabled() const { return max_views_per_shard_ > 0; }
  uint64_t epoch() const { return epoch_.load(std::memory_order_seq_cst); }

  std::optional<uint64_t> PersonOf(std::string_view record_key) const;
  std::shared_ptr<const PersonView> View(uint64_t person_id) const;

  void FillPersonOf(uint64_t epoch, std::string_view record_key, uint64_t person_id);
  void FillView(uint64_t epoch, uint64_t person_id, std::shared_ptr<const PersonView> view);

  // After a committed write: forget these keys (and everything, with Clear).
  // Returns those of them that were cached.
  struct Keys {
    std::vector<std::string> record_keys;
    std::vector<uint64_t> person_ids;
  };
  Keys Invalidate(const std::vector<std::string>& record_keys, const std::vector<uint64_t>& person_ids);
  void Clear();
  // After Invalidate: fills `keys` again from the latest committed state,
  // read by `person_of` and `view_of` (nullopt / null: leave uncached).
  void Refresh(const Keys& keys, const std::function<std::optional<uint64_t>(const std::string&)>& person_of,
               const std::function<std::shared_ptr<const PersonView>(uint64_t)>& view_of);

  // Lookups (PersonOf and View) that hit and missed, and keys refreshed.
  struct Stats {
    uint64_t hits = 0, misses = 0, refreshed = 0;
  };
  Stats stats() const;

 private:
  static constexpr size_t kShards = 64;
  struct Shard {
    mutable absl::Mutex mu;
    mutable std::atomic<uint64_t> hits{0}, misses{0};
    absl::flat_hash_map<std::string, uint64_t> person_of ABSL_GUARDED_BY(mu);
    absl::flat_hash_map<uint64_t, std::shared_ptr<const PersonView>> views ABSL_GUARDED_BY(mu);
  };
  static size_t ShardOf(std::string_view record_key);
  static size_t ShardOf(uint64_t person_id);

  const size_t max_views_per_shard_;
  std::atomic<uint64_t> epoch_{0};
  std::atomic<uint64_t> refreshed_{0};
  std::array<Shard, kShards> shards_;
};

}  // namespace empi::index

#endif  // EMPI_INDEX_READ_CACHE_H_
