// Copyright EMPI developers.
#include "index/read_cache.h"

#include <utility>

#include "absl/hash/hash.h"

namespace empi::index {
namespace {
// Debian's Abseil has its own string_view type.
absl::string_view A(std::string_view s) { return absl::string_view(s.data(), s.size()); }
}  // namespace

ReadCache::ReadCache(size_t max_persons) : max_views_per_shard_((max_persons + kShards - 1) / kShards) {}

size_t ReadCache::ShardOf(std::string_view record_key) { return absl::HashOf(A(record_key)) % kShards; }
size_t ReadCache::ShardOf(uint64_t person_id) { return absl::HashOf(person_id) % kShards; }

std::optional<uint64_t> ReadCache::PersonOf(std::string_view record_key) const {
  const Shard& s = shards_[ShardOf(record_key)];
  absl::ReaderMutexLock l(&s.mu);
  auto it = s.person_of.find(A(record_key));
  (it == s.person_of.end() ? s.misses : s.hits).fetch_add(1, std::memory_order_relaxed);
  if (it == s.person_of.end()) return std::nullopt;
  return it->second;
}

std::shared_ptr<const PersonView> ReadCache::View(uint64_t person_id) const {
  const Shard& s = shards_[ShardOf(person_id)];
  absl::ReaderMutexLock l(&s.mu);
  auto it = s.views.find(person_id);
  (it == s.views.end() ? s.misses : s.hits).fetch_add(1, std::memory_order_relaxed);
  return it == s.views.end() ? nullptr : it->second;
}

void ReadCache::FillPersonOf(uint64_t epoch, std::string_view record_key, uint64_t person_id) {
  if (!enabled()) return;
  Shard& s = shards_[ShardOf(record_key)];
  absl::MutexLock l(&s.mu);
  if (epoch_.load(std::memory_order_seq_cst) != epoch) return;
  if (s.person_of.size() >= 4 * max_views_per_shard_) s.person_of.clear();
  s.person_of.insert_or_assign(std::string(record_key), person_id);
}

void ReadCache::FillView(uint64_t epoch, uint64_t person_id, std::shared_ptr<const PersonView> view) {
  if (!enabled()) return;
  Shard& s = shards_[ShardOf(person_id)];
  absl::MutexLock l(&s.mu);
  if (epoch_.load(std::memory_order_seq_cst) != epoch) return;
  if (s.views.size() >= max_views_per_shard_) s.views.clear();
  s.views.insert_or_assign(person_id, std::move(view));
}

ReadCache::Keys ReadCache::Invalidate(const std::vector<std::string>& record_keys,
                                      const std::vector<uint64_t>& person_ids) {
  Keys cached;
  if (!enabled() || (record_keys.empty() && person_ids.empty())) return cached;
  // The bump comes first: a fill that has not yet taken its shard's lock now
  // sees a new epoch and is dropped; one that has is erased below.
  epoch_.fetch_add(1, std::memory_order_seq_cst);
  for (const std::string& k : record_keys) {
    Shard& s = shards_[ShardOf(k)];
    absl::MutexLock l(&s.mu);
    if (s.person_of.erase(k) > 0) cached.record_keys.push_back(k);
  }
  for (uint64_t p : person_ids) {
    Shard& s = shards_[ShardOf(p)];
    absl::MutexLock l(&s.mu);
    if (s.views.erase(p) > 0) cached.person_ids.push_back(p);
  }
  return cached;
}

void ReadCache::Refresh(const Keys& keys, const std::function<std::optional<uint64_t>(const std::string&)>& person_of,
                        const std::function<std::shared_ptr<const PersonView>(uint64_t)>& view_of) {
  if (!enabled()) return;
  const uint64_t e = epoch();  // as a reader: the epoch, then the reads
  for (const std::string& key : keys.record_keys) {
    if (std::optional<uint64_t> person = person_of(key)) {
      FillPersonOf(e, key, *person);
      refreshed_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  for (uint64_t person : keys.person_ids) {
    if (std::shared_ptr<const PersonView> view = view_of(person)) {
      FillView(e, person, std::move(view));
      refreshed_.fetch_add(1, std::memory_order_relaxed);
    }
  }
}

ReadCache::Stats ReadCache::stats() const {
  Stats out;
  for (const Shard& s : shards_) {
    out.hits += s.hits.load(std::memory_order_relaxed);
    out.misses += s.misses.load(std::memory_order_relaxed);
  }
  out.refreshed = refreshed_.load(std::memory_order_relaxed);
  return out;
}

void ReadCache::Clear() {
  if (!enabled()) return;
  epoch_.fetch_add(1, std::memory_order_seq_cst);
  for (Shard& s : shards_) {
    absl::MutexLock l(&s.mu);
    s.person_of.clear();
    s.views.clear();
  }
}

}  // namespace empi::index
